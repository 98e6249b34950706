/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Node-device XML extended with the <vfio> element. libvirt's document is
 * parsed with network access and entity expansion off, our element is
 * added inside libvirt's <driver> or, for a device libvirt shows without
 * one, in <device> where <driver> would be; nothing else is touched:
 * removing every element of our namespace gives libvirt's document back.
 */
#include <glib/gi18n.h>
#include <string.h>

#include "vv-virt.h"
#include "vv-xml-cleanup.h"

#define VV_VIRT_XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOBLANKS)

static xmlDoc *
vv_virt_xml_parse(const char *text, const char *what, GError **error)
{
	g_autoptr(xmlDoc) doc = xmlReadMemory(text, strlen(text), what, NULL, VV_VIRT_XML_OPTIONS);

	if (!doc || !xmlDocGetRootElement(doc)) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("The %s is not well-formed XML."), what);
		return NULL;
	}
	return g_steal_pointer(&doc);
}

static xmlNode *
vv_virt_xml_child(xmlNode *parent, const char *name)
{
	for (xmlNode *child = parent->children; child; child = child->next)
		if (child->type == XML_ELEMENT_NODE && !child->ns &&
		    xmlStrEqual(child->name, BAD_CAST name))
			return child;
	return NULL;
}

static gboolean
vv_virt_xml_is_ours(const xmlNode *node)
{
	return node->type == XML_ELEMENT_NODE && node->ns &&
	       xmlStrEqual(node->ns->href, BAD_CAST VV_XML_NAMESPACE);
}

static char *
vv_virt_xml_format(xmlDoc *doc)
{
	g_autoptr(xmlChar) text = NULL;
	int size = 0;

	/* libvirt prints no XML declaration; neither do we. */
	xmlDocDumpFormatMemoryEnc(doc, &text, &size, "UTF-8", 1);
	return g_strdup(g_str_has_prefix((char *)text, "<?xml") ? strchr((char *)text, '\n') + 1 : (char *)text);
}

char *
vv_virt_xml_merge(const char *nodedev_xml, const char *vfio_xml, GError **error)
{
	g_autoptr(xmlDoc) doc = vv_virt_xml_parse(nodedev_xml, _("node-device XML"), error);
	g_autoptr(xmlDoc) vfio = NULL;
	xmlNode *root, *driver, *element;

	if (!doc)
		return NULL;
	vfio = vv_virt_xml_parse(vfio_xml, _("<vfio> element"), error);
	if (!vfio)
		return NULL;
	root = xmlDocGetRootElement(doc);
	if (!xmlStrEqual(root->name, BAD_CAST "device")) {
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("The node-device XML has <%s> at its root where <device> was expected."),
			    (const char *)root->name);
		return NULL;
	}

	/* libvirt shows <driver> only for a bound device, right after <parent>
	 * (or <path>, <name>). Without one, <vfio> takes that place itself: a
	 * <driver> of ours would stay behind, empty, once our namespace is
	 * removed, and libvirt's nodedev.rng rejects an empty <driver>. */
	driver = vv_virt_xml_child(root, "driver");
	element = xmlDocCopyNode(xmlDocGetRootElement(vfio), doc, 1);
	if (driver) {
		xmlAddChild(driver, element);
	} else {
		xmlNode *after = vv_virt_xml_child(root, "parent");

		after = after ? after : vv_virt_xml_child(root, "path");
		after = after ? after : vv_virt_xml_child(root, "name");
		if (after)
			xmlAddNextSibling(after, element);
		else
			xmlAddChild(root, element);
	}
	xmlReconciliateNs(doc, element);
	return vv_virt_xml_format(doc);
}

/* Every element of our namespace, wherever it is, goes with its subtree. */
static void
vv_virt_xml_strip_node(xmlNode *node)
{
	xmlNode *child = node->children;

	while (child) {
		xmlNode *next = child->next;

		if (vv_virt_xml_is_ours(child)) {
			xmlUnlinkNode(child);
			xmlFreeNode(child);
		} else if (child->type == XML_ELEMENT_NODE) {
			vv_virt_xml_strip_node(child);
		}
		child = next;
	}
}

char *
vv_virt_xml_strip(const char *merged_xml, GError **error)
{
	g_autoptr(xmlDoc) doc = vv_virt_xml_parse(merged_xml, _("node-device XML"), error);

	if (!doc)
		return NULL;
	vv_virt_xml_strip_node(xmlDocGetRootElement(doc));
	return vv_virt_xml_format(doc);
}
