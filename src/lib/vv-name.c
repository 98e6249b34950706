/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Names that come from outside (the command line, the policy, a domain's
 * XML, a record) and text echoed back to a person, checked and escaped in
 * one place.
 *
 * A module or driver name becomes a directory under sys/bus/pci/drivers or
 * sys/module and is written to driver_override: ".", "..", "" or a "/" in
 * it names another directory, or writes an override no driver matches (the
 * device then ends driverless). So a name is letters, digits, '_', '-' and
 * '.', never "." or "..", and of a length the kernel can have:
 *   - a module name fits struct module's name[MODULE_NAME_LEN], 64 bytes
 *     minus sizeof(unsigned long) on 64-bit, NUL included: 55 bytes;
 *   - a driver name is a sysfs directory entry (NAME_MAX, 255 bytes), and
 *     the kernel takes a driver_override below a page; every PCI driver
 *     name in the tree is far shorter, so 255 costs nothing and refuses
 *     only what no kernel could have registered.
 * A name that may be either (--driver, driver=, <driver model>) gets the
 * driver limit: the module lookup then finds no module of an overlong one.
 */
#include <string.h>

#include "vv-private.h"

#define VV_NAME_MODULE_MAX 55
#define VV_NAME_DRIVER_MAX 255

static gboolean
vv_name_is_valid(const char *name, gsize max)
{
	gsize length;

	if (!name)
		return FALSE;
	length = strlen(name);
	if (length == 0 || length > max || g_str_equal(name, ".") || g_str_equal(name, ".."))
		return FALSE;
	for (const char *c = name; *c; c++)
		if (!g_ascii_isalnum(*c) && *c != '_' && *c != '-' && *c != '.')
			return FALSE;
	return TRUE;
}

gboolean
vv_name_is_module(const char *name)
{
	return vv_name_is_valid(name, VV_NAME_MODULE_MAX);
}

int
vv_name_compare(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

gboolean
vv_name_is_driver(const char *name)
{
	return vv_name_is_valid(name, VV_NAME_DRIVER_MAX);
}

VV_EXPORT gboolean
vv_name_check(const char *name, vv_name_kind kind, const char *what, GError **error)
{
	gsize max = kind == VV_NAME_MODULE ? VV_NAME_MODULE_MAX : VV_NAME_DRIVER_MAX;
	g_autofree char *shown = NULL;

	if (vv_name_is_valid(name, max))
		return TRUE;
	shown = name && strlen(name) > max + 16 ? g_strdup_printf(_("(a name of %zu bytes)"), strlen(name)) :
		vv_text_escape(name ? name : "");
	if (kind == VV_NAME_MODULE)
		/* TRANSLATORS: "WHERE: 'NAME' is not a module name: ..." */
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("%1$s: '%2$s' is not a module name: a module name is 1 to %3$u letters, digits, '_', '-' or '.', and not '.' or '..'."),
			    what, shown, VV_NAME_MODULE_MAX);
	else
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("%1$s: '%2$s' is not a driver or module name: a name is 1 to %3$u letters, digits, '_', '-' or '.', and not '.' or '..'."),
			    what, shown, VV_NAME_DRIVER_MAX);
	return FALSE;
}

/*
 * TEXT as it may be echoed on a terminal or into a log: control characters
 * (C0, DEL and the C1 range, whose 0x9b is a terminal's CSI) and bytes that
 * are not UTF-8 become C escapes (\n, \t, \x1b, \u009b), so that no
 * input can start a line of its own or move the cursor. Printable text,
 * UTF-8 and backslashes included, is kept: escaping is idempotent, so a
 * message the library escaped can be escaped again where it is printed.
 */
VV_EXPORT char *
vv_text_escape(const char *text)
{
	GString *out;
	const char *p;

	if (!text)
		return NULL;
	out = g_string_sized_new(strlen(text));
	for (p = text; *p;) {
		gunichar c = g_utf8_get_char_validated(p, -1);
		guchar byte = (guchar)*p;

		if (c == (gunichar)-1 || c == (gunichar)-2) {
			g_string_append_printf(out, "\\x%02x", byte);
			p++;
			continue;
		}
		switch (c) {
		case '\n': g_string_append(out, "\\n"); break;
		case '\r': g_string_append(out, "\\r"); break;
		case '\t': g_string_append(out, "\\t"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				g_string_append_printf(out, "\\x%02x", (guint)c);
			else if ((c >= 0x80 && c < 0xa0) || (c >= 0x2028 && c <= 0x202e) ||
				 (c >= 0x2066 && c <= 0x2069))
				/* C1; line and paragraph separators and the
				 * bidirectional overrides, which reorder a line. */
				g_string_append_printf(out, "\\u%04x", (guint)c);
			else
				g_string_append_len(out, p, g_utf8_next_char(p) - p);
		}
		p = g_utf8_next_char(p);
	}
	return g_string_free(out, FALSE);
}

/* The names a record holds (NULL or empty: none). A record is a file under
 * the state directory that anyone with root may edit; what it names is
 * loaded and written to driver_override by a later reattach. */
gboolean
vv_name_check_record(const char *path, const char *original_driver, const char *original_module,
		     const char *driver, const char *module, GError **error)
{
	const struct {
		const char *key;
		const char *value;
		vv_name_kind kind;
	} fields[] = {
		{ "original-driver", original_driver, VV_NAME_DRIVER },
		{ "original-module", original_module, VV_NAME_MODULE },
		{ "driver", driver, VV_NAME_DRIVER },
		{ "module", module, VV_NAME_MODULE },
	};

	for (guint i = 0; i < G_N_ELEMENTS(fields); i++) {
		const char *value = fields[i].value;
		g_autofree char *shown = NULL;

		if (!value || !*value ||
		    (fields[i].kind == VV_NAME_MODULE ? vv_name_is_module(value) : vv_name_is_driver(value)))
			continue;
		shown = vv_text_escape(value);
		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("The record %1$s holds %2$s=%3$s, which is not a driver or module name (letters, digits, '_', '-', '.', not '.' or '..'); vfio-variant did not write it."),
			    path, fields[i].key, shown);
		return FALSE;
	}
	return TRUE;
}

/* Module names compare with '-' and '_' folded, as the kernel and kmod do. */
char *
vv_module_normalize(const char *name)
{
	char *normalized = g_strdup(name);

	g_strdelimit(normalized, "-", '_');
	return normalized;
}

gboolean
vv_names_equal_folded(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char ca = *a == '-' ? '_' : *a;
		char cb = *b == '-' ? '_' : *b;

		if (ca != cb)
			return FALSE;
	}
	return *a == *b;
}
