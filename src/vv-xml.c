/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The <vfio> element: the selection as XML, in the project's namespace, as
 * schemas/vfio.rng describes it. The same element is later placed inside
 * libvirt's node-device <driver>. Attributes carry stable keywords, never
 * translated text.
 */
#include <libxml/tree.h>

#include "vv-private.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlBuffer, xmlBufferFree)

static void
vv_xml_set_uint(xmlNode *node, const char *name, guint value)
{
	char text[16];

	g_snprintf(text, sizeof(text), "%u", value);
	xmlNewProp(node, BAD_CAST name, BAD_CAST text);
}

static xmlNode *
vv_xml_add_candidate(xmlNode *parent, const char *element, const vv_candidate *candidate)
{
	xmlNode *node = xmlNewChild(parent, NULL, BAD_CAST element, NULL);

	xmlNewProp(node, BAD_CAST "module", BAD_CAST vv_candidate_get_module(candidate));
	if (vv_candidate_get_driver(candidate))
		xmlNewProp(node, BAD_CAST "driver", BAD_CAST vv_candidate_get_driver(candidate));
	if (vv_candidate_get_alias(candidate))
		xmlNewProp(node, BAD_CAST "alias", BAD_CAST vv_candidate_get_alias(candidate));
	vv_xml_set_uint(node, "specificity", vv_candidate_get_specificity(candidate));
	return node;
}

VV_EXPORT char *
vv_selection_to_xml(const vv_selection *selection, gboolean standalone)
{
	g_autoptr(xmlDoc) doc = xmlNewDoc(BAD_CAST "1.0");
	g_autoptr(xmlBuffer) buffer = xmlBufferCreate();
	const vv_candidate *selected = vv_selection_get_selected(selection);
	vv_device *device = vv_selection_get_device(selection);
	vv_unassignable unassignable = vv_selection_get_unassignable(selection);
	xmlNode *root = xmlNewNode(NULL, BAD_CAST "vfio");
	xmlNode *node;

	xmlDocSetRootElement(doc, root);
	xmlSetNs(root, xmlNewNs(root, BAD_CAST VV_XML_NAMESPACE, NULL));
	xmlNewProp(root, BAD_CAST "address", BAD_CAST vv_device_get_address(device));

	if (selected) {
		node = vv_xml_add_candidate(root, "selected", selected);
		if (vv_selection_is_tie(selection))
			xmlNewProp(node, BAD_CAST "tie", BAD_CAST "yes");
	}
	for (guint i = 0; i < vv_selection_get_n_candidates(selection); i++) {
		const vv_candidate *candidate = vv_selection_get_candidate(selection, i);

		node = vv_xml_add_candidate(root, "candidate", candidate);
		xmlNewProp(node, BAD_CAST "source",
			   BAD_CAST vv_alias_source_to_string(vv_candidate_get_source(candidate)));
		if (vv_candidate_get_rejected(candidate))
			xmlNewProp(node, BAD_CAST "rejected",
				   BAD_CAST vv_rejected_to_string(vv_candidate_get_rejected(candidate)));
	}

	node = xmlNewChild(root, NULL, BAD_CAST "group", NULL);
	if (vv_device_get_iommu_group(device) >= 0)
		vv_xml_set_uint(node, "number", vv_device_get_iommu_group(device));
	xmlNewProp(node, BAD_CAST "viable", BAD_CAST (vv_selection_is_group_viable(selection) ? "yes" : "no"));
	for (guint i = 0; vv_selection_get_group_blockers(selection)[i]; i++) {
		xmlNode *blocker = xmlNewChild(node, NULL, BAD_CAST "blocker", NULL);

		xmlNewProp(blocker, BAD_CAST "address", BAD_CAST vv_selection_get_group_blockers(selection)[i]);
		xmlNewProp(blocker, BAD_CAST "driver", BAD_CAST vv_selection_get_group_blocker_driver(selection, i));
	}

	node = xmlNewChild(root, NULL, BAD_CAST "assignable", NULL);
	xmlNewProp(node, BAD_CAST "value", BAD_CAST (unassignable ? "no" : "yes"));
	if (unassignable)
		xmlNewProp(node, BAD_CAST "reason", BAD_CAST vv_unassignable_to_string(unassignable));

	if (standalone) {
		xmlChar *text = NULL;
		int size = 0;
		char *result;

		xmlDocDumpFormatMemoryEnc(doc, &text, &size, "UTF-8", 1);
		result = g_strndup((const char *)text, size);
		xmlFree(text);
		return result;
	}
	xmlNodeDump(buffer, doc, root, 0, 1);
	return g_strdup((const char *)xmlBufferContent(buffer));
}
