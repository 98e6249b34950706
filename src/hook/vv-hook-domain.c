/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The domain XML libvirt gives the hook on stdin, read defensively: it
 * comes from a file an unprivileged user may have written (virsh define),
 * and the hook runs as root. libvirt writes UTF-8 without a DTD, so:
 *  - at most VV_HOOK_MAX_INPUT bytes, no NUL byte;
 *  - UTF-8 only: the bytes must be UTF-8, a byte order mark other than
 *    UTF-8's is refused, and so is an XML declaration naming another
 *    encoding. libxml2 is told the encoding is UTF-8 and to ignore the
 *    declaration (XML_PARSE_IGNORE_ENC), so nothing is ever decoded from
 *    another charset: a byte search for "<!DOCTYPE" could not see one
 *    written in UTF-7 ("+ADwAIQ-DOCTYPE") or EBCDIC, which libxml2 would
 *    decode and obey;
 *  - no DTD at all (libvirt never writes one, and an entity is the way to
 *    the billion laughs or to a local file): the parser itself stops at
 *    the DOCTYPE, from its SAX internalSubset callback, before it reads a
 *    single declaration of the subset; any DTD left on the document is
 *    refused too;
 *  - no network (XML_PARSE_NONET), no entity substitution (no
 *    XML_PARSE_NOENT), no DTD loading or validation (no XML_PARSE_DTDLOAD,
 *    XML_PARSE_DTDVALID), libxml2's default size limits (no XML_PARSE_HUGE).
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
#include "vv-xml-cleanup.h"

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

/* One field of <address>: hexadecimal, "0x03" (as libvirt writes it) or
 * plain hex digits "03", at most MAX. Nothing else: no sign, no space, no
 * decimal or octal reading (strtoull took "-18446744073709551615" as 1). */
static gboolean
vv_hook_address_field(xmlNode *address, const char *name, guint64 max, gboolean required, guint64 *value)
{
	g_autofree char *text = (char *)xmlGetNoNsProp(address, BAD_CAST name);
	const char *digits;

	*value = 0;
	if (!text)
		return !required;
	digits = text[0] == '0' && (text[1] == 'x' || text[1] == 'X') ? text + 2 : text;
	if (!*digits)
		return FALSE;
	for (const char *c = digits; *c; c++) {
		if (!g_ascii_isxdigit(*c))
			return FALSE;
		*value = *value * 16 + (guint64)g_ascii_xdigit_value(*c);
		if (*value > max)
			return FALSE; /* before it could overflow */
	}
	return TRUE;
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

/* The byte order marks of the encodings libxml2 can detect or decode,
 * longest first; UTF-8's (EF BB BF) is the one allowed. */
static const char *
vv_hook_foreign_bom(const guint8 *text, gsize length)
{
	static const struct {
		const char *name;
		guint8 bytes[4];
		gsize length;
	} boms[] = {
		{ "UTF-32BE", { 0x00, 0x00, 0xfe, 0xff }, 4 },
		{ "UTF-32LE", { 0xff, 0xfe, 0x00, 0x00 }, 4 },
		{ "UTF-EBCDIC", { 0xdd, 0x73, 0x66, 0x73 }, 4 },
		{ "GB-18030", { 0x84, 0x31, 0x95, 0x33 }, 4 },
		{ "UTF-7", { 0x2b, 0x2f, 0x76 }, 3 },
		{ "UTF-1", { 0xf7, 0x64, 0x4c }, 3 },
		{ "SCSU", { 0x0e, 0xfe, 0xff }, 3 },
		{ "BOCU-1", { 0xfb, 0xee, 0x28 }, 3 },
		{ "UTF-16BE", { 0xfe, 0xff }, 2 },
		{ "UTF-16LE", { 0xff, 0xfe }, 2 },
	};

	for (guint i = 0; i < G_N_ELEMENTS(boms); i++)
		if (length >= boms[i].length && memcmp(text, boms[i].bytes, boms[i].length) == 0)
			return boms[i].name;
	return NULL;
}

/* The encoding an XML declaration at the start of TEXT names (NULL: it
 * names none, or there is no declaration). The declaration is
 *   <?xml version="1.0" encoding="NAME" standalone="yes"?>
 * and may only stand first (after a byte order mark): read just there. */
static char *
vv_hook_declared_encoding(const char *text, gsize length)
{
	const char *end, *p;

	if (length < 5 || memcmp(text, "<?xml", 5) != 0)
		return NULL;
	end = g_strstr_len(text, MIN(length, (gsize)1024), "?>");
	if (!end)
		end = text + MIN(length, (gsize)1024);
	for (p = text + 5; p < end; p++) {
		const char *q = p;
		char quote;
		const char *value;

		if (!g_ascii_isspace(p[-1]) || end - p < 8 || memcmp(p, "encoding", 8) != 0)
			continue;
		for (q = p + 8; q < end && g_ascii_isspace(*q); q++)
			;
		if (q >= end || *q != '=')
			continue;
		for (q++; q < end && g_ascii_isspace(*q); q++)
			;
		if (q >= end || (*q != '"' && *q != '\''))
			return g_strdup("");
		quote = *q++;
		value = q;
		while (q < end && *q != quote)
			q++;
		return g_strndup(value, q - value);
	}
	return NULL;
}

/* UTF-8, and nothing that says otherwise. */
static gboolean
vv_hook_check_encoding(const char *text, gsize length, GError **error)
{
	const char *bom = vv_hook_foreign_bom((const guint8 *)text, length);
	g_autofree char *declared = NULL;

	if (bom) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("The domain XML on standard input starts with the byte order mark of %s; libvirt writes UTF-8, and vfio-variant reads nothing else."),
			    bom);
		return FALSE;
	}
	if (memchr(text, '\0', length)) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("The domain XML on standard input holds a NUL byte; libvirt never writes one, and vfio-variant refuses it."));
		return FALSE;
	}
	if (!g_utf8_validate_len(text, length, NULL)) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("The domain XML on standard input is not UTF-8; libvirt writes UTF-8, and vfio-variant reads nothing else."));
		return FALSE;
	}
	if (length >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;
		length -= 3;
	}
	declared = vv_hook_declared_encoding(text, length);
	if (declared && g_ascii_strcasecmp(declared, "UTF-8") != 0 && g_ascii_strcasecmp(declared, "UTF8") != 0) {
		g_autofree char *shown = vv_text_escape(declared);

		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("The domain XML on standard input declares encoding=\"%s\"; libvirt writes UTF-8, and vfio-variant reads nothing else."),
			    shown);
		return FALSE;
	}
	return TRUE;
}

/* SAX: a DOCTYPE ends the parse at once. libxml2 calls internalSubset
 * when it has read "<!DOCTYPE name ExternalID" and before it reads the
 * "[...]" subset, so no declaration in it is ever parsed, and with
 * xmlStopParser() it never reads on. */
static void
vv_hook_sax_refuse_dtd(void *data, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
	xmlParserCtxt *ctxt = data;

	*(gboolean *)ctxt->_private = TRUE;
	xmlStopParser(ctxt);
}

/* SAX: an entity declaration, were one ever reached. */
static void
vv_hook_sax_refuse_entity(void *data, const xmlChar *name, int type, const xmlChar *public_id,
			  const xmlChar *system_id, xmlChar *content)
{
	xmlParserCtxt *ctxt = data;

	*(gboolean *)ctxt->_private = TRUE;
	xmlStopParser(ctxt);
}

/* TEXT parsed as UTF-8 without a DTD; FALSE with an error naming why. */
static xmlDoc *
vv_hook_parse_xml(const char *text, gsize length, GError **error)
{
	g_autoptr(xmlParserCtxt) ctxt = xmlNewParserCtxt();
	g_autoptr(xmlDoc) doc = NULL;
	gboolean dtd = FALSE;
	const xmlError *last;
	g_autofree char *reason = NULL;

	if (!ctxt) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot make an XML parser (out of memory?)."));
		return NULL;
	}
	ctxt->_private = &dtd;
	ctxt->sax->internalSubset = vv_hook_sax_refuse_dtd;
	ctxt->sax->externalSubset = vv_hook_sax_refuse_dtd;
	ctxt->sax->entityDecl = vv_hook_sax_refuse_entity;
	doc = xmlCtxtReadMemory(ctxt, text, (int)length, "domain.xml", "UTF-8",
				XML_PARSE_NONET | XML_PARSE_IGNORE_ENC | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (dtd || (doc && (doc->intSubset || doc->extSubset))) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("The domain XML holds a DOCTYPE (a DTD, where entities are declared); libvirt never writes one, and vfio-variant refuses it."));
		return NULL;
	}
	if (doc && ctxt->wellFormed)
		return g_steal_pointer(&doc);
	last = xmlCtxtGetLastError(ctxt);
	reason = vv_text_escape(last && last->message ? last->message : "");
	g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
		    _("The domain XML on standard input is not well-formed: %1$s (line %2$d)."),
		    g_strchomp(reason), last ? last->line : 0);
	return NULL;
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
	if (!vv_hook_check_encoding(text, length, error) || !(doc = vv_hook_parse_xml(text, length, error)))
		return NULL;
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
