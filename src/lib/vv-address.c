/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PCI device names as people and libvirt write them. Only these three forms
 * are accepted, character by character, so a name can never become a path
 * trick ("../", "/") when it is joined under sysfs:
 *   0000:03:00.1   (domain, up to 8 hex digits for VMD-style domains)
 *   03:00.1        (domain 0)
 *   pci_0000_03_00_1 (libvirt's node-device name)
 */
#include <string.h>

#include "vv-private.h"

#define VV_ADDRESS_MAX_INPUT 64

static gboolean
vv_address_hex_field(const char *text, gsize len, guint max, guint *value)
{
	guint parsed = 0;

	if (len == 0)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isxdigit(text[i]))
			return FALSE;
		parsed = parsed * 16 + g_ascii_xdigit_value(text[i]);
	}
	*value = parsed;
	return parsed <= max;
}

/* DOMAIN SEP BUS SEP SLOT LASTSEP FUNCTION, with the domain optional. */
static gboolean
vv_address_split(const char *name, char sep, char last_sep, gboolean with_domain,
		 guint *domain, guint *bus, guint *slot, guint *function)
{
	const char *p = name;
	const char *end;

	*domain = 0;
	if (with_domain) {
		end = strchr(p, sep);
		if (!end || end - p < 4 || end - p > 8 ||
		    !vv_address_hex_field(p, end - p, G_MAXUINT32, domain))
			return FALSE;
		p = end + 1;
	}
	if (strlen(p) != 7 || p[2] != sep || p[5] != last_sep)
		return FALSE;
	return vv_address_hex_field(p, 2, 0xff, bus) &&
	       vv_address_hex_field(p + 3, 2, 0x1f, slot) &&
	       vv_address_hex_field(p + 6, 1, 0x7, function);
}

VV_EXPORT char *
vv_address_parse(const char *name, GError **error)
{
	guint domain, bus, slot, function;
	gboolean ok;

	if (!name || !*name || strlen(name) > VV_ADDRESS_MAX_INPUT) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("'%s' is not a PCI device name; write it as 0000:03:00.1, 03:00.1 or pci_0000_03_00_1."),
			    name && strlen(name) > VV_ADDRESS_MAX_INPUT ? _("(an overlong name)") : "");
		return NULL;
	}

	if (g_str_has_prefix(name, "pci_"))
		ok = vv_address_split(name + 4, '_', '_', TRUE, &domain, &bus, &slot, &function);
	else if (strlen(name) == 7)
		ok = vv_address_split(name, ':', '.', FALSE, &domain, &bus, &slot, &function);
	else
		ok = vv_address_split(name, ':', '.', TRUE, &domain, &bus, &slot, &function);

	if (!ok) {
		/* Echoed escaped: a name from a command line or a file must not
		 * print a terminal's escape sequence or a line of its own. */
		g_autofree char *shown = vv_text_escape(name);

		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("'%s' is not a PCI device name; write it as 0000:03:00.1, 03:00.1 or pci_0000_03_00_1."),
			    shown);
		return NULL;
	}
	return g_strdup_printf("%04x:%02x:%02x.%x", domain, bus, slot, function);
}

VV_EXPORT char *
vv_address_to_nodedev_name(const char *address)
{
	char *name = g_strconcat("pci_", address, NULL);

	g_strdelimit(name + 4, ":.", '_');
	return name;
}
