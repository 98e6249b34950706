/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The domain XML libvirt gives the hook on stdin, read defensively: it
 * comes from a file an unprivileged user may have written (virsh define),
 * and the hook runs as root. At most VV_HOOK_MAX_INPUT bytes; no DOCTYPE
 * or entity declaration at all (libvirt never writes one, and an entity is
 * the way to the billion laughs or to a local file); libxml2 without
 * network access (XML_PARSE_NONET), without entity substitution (no
 * XML_PARSE_NOENT) and without DTD loading (no XML_PARSE_DTDLOAD).
 *
 * Read: /domain/name, /domain/uuid, the PCI hostdevs
 *   <hostdev mode='subsystem' type='pci' managed='yes|no'>
 *     <driver name='vfio' model='NAME'/>          (libvirt >= 10)
 *     <source><address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/></source>
 *   <interface type='hostdev' managed='yes|no'>   (SR-IOV VFs as NICs)
 *     <driver name='vfio' model='NAME'/>
 *     <source><address type='pci' .../></source>
 * and our metadata, the way to name a driver on libvirt 9.0, which drops
 * <driver model> when it reads a domain:
 *   <metadata>
 *     <vfio-variant:hostdevs xmlns:vfio-variant='urn:x-vfio-variant:domain:1'>
 *       <vfio-variant:hostdev address='0000:03:00.1' driver='vfio-pci'/>
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "vv-hook.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)

static void
vv_hook_hostdev_free(vv_hook_hostdev *hostdev)
{
	g_free(hostdev->address);
	g_free(hostdev->model);
	g_free(hostdev);
}

void
vv_hook_domain_free(vv_hook_domain *domain)
{
	if (!domain)
		return;
	g_free(domain->name);
	g_free(domain->uuid);
	g_ptr_array_unref(domain->hostdevs);
	g_free(domain);
}

GBytes *
vv_hook_read_input(int fd, GError **error)
{
	g_autoptr(GByteArray) data = g_byte_array_new();
	guint8 buffer[65536];

	for (;;) {
		ssize_t n = read(fd, buffer, sizeof(buffer));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			g_set_error(error, VV_ERROR, VV_ERROR_IO,
				    _("Cannot read the domain XML from standard input: %s."), g_strerror(saved));
			return NULL;
		}
		if (n == 0)
			break;
		if (data->len + (gsize)n > VV_HOOK_MAX_INPUT) {
			g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
				    _("The domain XML on standard input is larger than %u MiB; vfio-variant refuses it."),
				    VV_HOOK_MAX_INPUT / (1024 * 1024));
			return NULL;
		}
		g_byte_array_append(data, buffer, n);
	}
	return g_byte_array_free_to_bytes(g_steal_pointer(&data));
}

static const char *
vv_hook_attr(xmlNode *node, const char *name, char **owned)
{
	g_free(*owned);
	*owned = (char *)xmlGetNoNsProp(node, BAD_CAST name);
	return *owned;
}

static gboolean
vv_hook_is(xmlNode *node, const char *name)
{
	return node->type == XML_ELEMENT_NODE && g_str_equal((const char *)node->name, name) &&
	       (!node->ns || !node->ns->href);
}

static xmlNode *
vv_hook_child(xmlNode *node, const char *name)
{
	for (xmlNode *child = node->children; child; child = child->next)
		if (vv_hook_is(child, name))
			return child;
	return NULL;
}

static char *
vv_hook_text(xmlNode *node)
{
	xmlChar *content = node ? xmlNodeGetContent(node) : NULL;
	char *text = content ? g_strstrip(g_strdup((const char *)content)) : NULL;

	xmlFree(content);
	return text;
}

/* One field of <address>: "0x03" or "3", at most MAX. */
static gboolean
vv_hook_address_field(xmlNode *address, const char *name, guint64 max, gboolean required, guint64 *value)
{
	g_autofree char *text = (char *)xmlGetNoNsProp(address, BAD_CAST name);
	char *end = NULL;

	*value = 0;
	if (!text)
		return !required;
	/* libvirt writes hexadecimal with 0x; base 16 skips the prefix. */
	errno = 0;
	*value = g_ascii_strtoull(text, &end, g_str_has_prefix(text, "0x") || g_str_has_prefix(text, "0X") ? 16 : 10);
	return errno == 0 && end && end != text && *end == '\0' && *value <= max;
}

static char *
vv_hook_pci_address(xmlNode *source, const char *what, GError **error)
{
	xmlNode *address = source ? vv_hook_child(source, "address") : NULL;
	guint64 domain, bus, slot, function;

	if (!address || !vv_hook_address_field(address, "domain", 0xffff, FALSE, &domain) ||
	    !vv_hook_address_field(address, "bus", 0xff, TRUE, &bus) ||
	    !vv_hook_address_field(address, "slot", 0x1f, TRUE, &slot) ||
	    !vv_hook_address_field(address, "function", 0x7, TRUE, &function)) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("A PCI %s in the domain XML has no valid <source><address domain= bus= slot= function=/>."),
			    what);
		return NULL;
	}
	return g_strdup_printf("%04x:%02x:%02x.%x", (guint)domain, (guint)bus, (guint)slot, (guint)function);
}

static gboolean
vv_hook_add_hostdev(vv_hook_domain *domain, xmlNode *node, const char *what, GError **error)
{
	g_autofree char *managed = NULL;
	g_autofree char *model = NULL;
	xmlNode *driver = vv_hook_child(node, "driver");
	vv_hook_hostdev *hostdev;
	char *address = vv_hook_pci_address(vv_hook_child(node, "source"), what, error);

	if (!address)
		return FALSE;
	hostdev = g_new0(vv_hook_hostdev, 1);
	hostdev->address = address;
	hostdev->managed = g_strcmp0(vv_hook_attr(node, "managed", &managed), "yes") == 0;
	if (driver && vv_hook_attr(driver, "model", &model)) {
		hostdev->model = g_steal_pointer(&model);
		hostdev->model_source = "<driver model>";
	}
	g_ptr_array_add(domain->hostdevs, hostdev);
	return TRUE;
}

static vv_hook_hostdev *
vv_hook_find_hostdev(vv_hook_domain *domain, const char *address)
{
	for (guint i = 0; i < domain->hostdevs->len; i++) {
		vv_hook_hostdev *hostdev = g_ptr_array_index(domain->hostdevs, i);

		if (g_str_equal(hostdev->address, address))
			return hostdev;
	}
	return NULL;
}

/* <vfio-variant:hostdev address= driver=/> in <metadata>: a driver for a
 * hostdev that has no <driver model> (which wins where libvirt keeps it). */
static gboolean
vv_hook_read_metadata(vv_hook_domain *domain, xmlNode *metadata, GError **error)
{
	for (xmlNode *top = metadata->children; top; top = top->next) {
		if (top->type != XML_ELEMENT_NODE || !top->ns ||
		    g_strcmp0((const char *)top->ns->href, VV_HOOK_METADATA_NAMESPACE) != 0)
			continue;
		for (xmlNode *node = top->children; node; node = node->next) {
			g_autofree char *address_text = NULL;
			g_autofree char *driver = NULL;
			g_autofree char *address = NULL;
			vv_hook_hostdev *hostdev;

			if (node->type != XML_ELEMENT_NODE || !g_str_equal((const char *)node->name, "hostdev"))
				continue;
			vv_hook_attr(node, "address", &address_text);
			vv_hook_attr(node, "driver", &driver);
			if (!address_text || !driver || !(address = vv_address_parse(address_text, NULL))) {
				g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
					    _("The domain's vfio-variant metadata holds a <hostdev> without a valid address and driver; write <hostdev address='0000:03:00.1' driver='NAME'/>."));
				return FALSE;
			}
			hostdev = vv_hook_find_hostdev(domain, address);
			if (hostdev && !hostdev->model) {
				hostdev->model = g_steal_pointer(&driver);
				hostdev->model_source = "<metadata>";
			}
		}
	}
	return TRUE;
}

vv_hook_domain *
vv_hook_domain_parse(GBytes *xml, GError **error)
{
	gsize length;
	const char *text = g_bytes_get_data(xml, &length);
	g_autoptr(vv_hook_domain) domain = g_new0(vv_hook_domain, 1);
	g_autoptr(xmlDoc) doc = NULL;
	g_autofree char *type = NULL;
	g_autofree char *uuid = NULL;
	xmlNode *root, *devices, *metadata;

	domain->hostdevs = g_ptr_array_new_with_free_func((GDestroyNotify)vv_hook_hostdev_free);
	if (!text || length == 0) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("No domain XML on standard input; libvirt passes it there."));
		return NULL;
	}
	if (memchr(text, '\0', length) || g_strstr_len(text, length, "<!DOCTYPE") ||
	    g_strstr_len(text, length, "<!ENTITY")) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("The domain XML holds a DOCTYPE, an entity declaration or a NUL byte; libvirt never writes those, and vfio-variant refuses it."));
		return NULL;
	}
	doc = xmlReadMemory(text, (int)length, "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *last = xmlGetLastError();
		g_autofree char *reason = g_strdup(last && last->message ? last->message : "");

		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("The domain XML on standard input is not well-formed: %1$s (line %2$d)."),
			    g_strchomp(reason), last ? last->line : 0);
		return NULL;
	}
	root = xmlDocGetRootElement(doc);
	if (!root || !vv_hook_is(root, "domain")) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("The XML on standard input is not a libvirt domain (its root is not <domain>)."));
		return NULL;
	}
	domain->name = vv_hook_text(vv_hook_child(root, "name"));
	if (!domain->name || !*domain->name) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("The domain XML has no <name>; libvirt always writes one."));
		return NULL;
	}
	uuid = vv_hook_text(vv_hook_child(root, "uuid"));
	domain->uuid = g_ascii_strdown(uuid ? uuid : "", -1);
	if (!g_uuid_string_is_valid(domain->uuid)) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("The domain XML has no valid <uuid>; libvirt always writes one."));
		return NULL;
	}

	devices = vv_hook_child(root, "devices");
	for (xmlNode *node = devices ? devices->children : NULL; node; node = node->next) {
		g_autofree char *mode = NULL;

		if (vv_hook_is(node, "hostdev") && g_strcmp0(vv_hook_attr(node, "mode", &mode), "subsystem") == 0 &&
		    g_strcmp0(vv_hook_attr(node, "type", &type), "pci") == 0) {
			if (!vv_hook_add_hostdev(domain, node, "hostdev", error))
				return NULL;
		} else if (vv_hook_is(node, "interface") && g_strcmp0(vv_hook_attr(node, "type", &type), "hostdev") == 0) {
			xmlNode *source = vv_hook_child(node, "source");
			xmlNode *address = source ? vv_hook_child(source, "address") : NULL;
			g_autofree char *address_type = NULL;

			if (address && g_strcmp0(vv_hook_attr(address, "type", &address_type), "pci") != 0)
				continue; /* a USB address: not ours */
			if (!vv_hook_add_hostdev(domain, node, "interface", error))
				return NULL;
		}
	}
	metadata = vv_hook_child(root, "metadata");
	if (metadata && domain->hostdevs->len > 0 && !vv_hook_read_metadata(domain, metadata, error))
		return NULL;
	return g_steal_pointer(&domain);
}
