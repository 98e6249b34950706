/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The <vfio> element: the selection as XML, in the project's namespace, as
 * schemas/vfio.rng describes it. The same element is placed inside
 * libvirt's node-device <driver> (nodedev-dumpxml), there with <detached>
 * from the device's record. Attributes carry stable keywords, never
 * translated text.
 */
#include <libxml/tree.h>

#include "vv-private.h"
#include "vv-xml-cleanup.h"

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

static void
vv_xml_set_optional(xmlNode *node, const char *name, const char *value)
{
	if (value)
		xmlNewProp(node, BAD_CAST name, BAD_CAST value);
}

/* <detached>: what only the record knows. The VFIO driver is the record's
 * (it can differ from the selection: a fallback, --driver, libvirt's own
 * choice); <native> is what a reattach gives the device back to. */
static void
vv_xml_add_detached(xmlNode *parent, const vv_record *record)
{
	xmlNode *node = xmlNewChild(parent, NULL, BAD_CAST "detached", NULL);
	xmlNode *native;
	gboolean complete = vv_record_is_complete(record);

	vv_xml_set_optional(node, "driver", vv_record_get_driver(record));
	vv_xml_set_optional(node, "module", vv_record_get_module(record));
	xmlNewProp(node, BAD_CAST "fallback", BAD_CAST (vv_record_is_fallback(record) ? "yes" : "no"));
	xmlNewProp(node, BAD_CAST "requester", BAD_CAST vv_requester_to_string(vv_record_get_requester(record)));
	vv_xml_set_optional(node, "since", vv_record_get_time(record));
	xmlNewProp(node, BAD_CAST "complete", BAD_CAST (complete ? "yes" : "no"));
	if (!complete) {
		xmlNewProp(node, BAD_CAST "operation", BAD_CAST vv_record_get_operation(record));
		xmlNewProp(node, BAD_CAST "step", BAD_CAST vv_record_get_step(record));
	}
	native = xmlNewChild(node, NULL, BAD_CAST "native", NULL);
	vv_xml_set_optional(native, "driver", vv_record_get_original_driver(record));
	vv_xml_set_optional(native, "module", vv_record_get_original_module(record));
	vv_xml_set_optional(native, "override", vv_record_get_original_override(record));
}

/* <libvirt-pick>: what libvirt >= 10 binds by itself (vv-libvirt-pick.c);
 * driver-model is the value for <hostdev><driver model='...'/> that gets
 * the selection instead. */
static void
vv_xml_add_libvirt_pick(xmlNode *parent, const vv_libvirt_pick *pick)
{
	xmlNode *node = xmlNewChild(parent, NULL, BAD_CAST "libvirt-pick", NULL);

	vv_xml_set_optional(node, "module", vv_libvirt_pick_get_module(pick));
	if (vv_libvirt_pick_get_line(pick)) {
		vv_xml_set_uint(node, "line", vv_libvirt_pick_get_line(pick));
		xmlNewProp(node, BAD_CAST "pattern", BAD_CAST vv_libvirt_pick_get_pattern(pick));
	}
	xmlNewProp(node, BAD_CAST "same", BAD_CAST (vv_libvirt_pick_is_same(pick) ? "yes" : "no"));
	xmlNewProp(node, BAD_CAST "fails", BAD_CAST (vv_libvirt_pick_fails(pick) ? "yes" : "no"));
	xmlNewProp(node, BAD_CAST "reason",
		   BAD_CAST vv_libvirt_pick_reason_to_string(vv_libvirt_pick_get_reason(pick)));
	vv_xml_set_optional(node, "driver-model", vv_libvirt_pick_get_model(pick));
}

VV_EXPORT char *
vv_selection_to_xml(const vv_selection *selection, gboolean standalone)
{
	return vv_selection_to_xml_with_record(selection, NULL, standalone);
}

VV_EXPORT char *
vv_selection_to_xml_with_record(const vv_selection *selection, const vv_record *record, gboolean standalone)
{
	g_autoptr(xmlDoc) doc = xmlNewDoc(BAD_CAST "1.0");
	g_autoptr(xmlBuffer) buffer = xmlBufferCreate();
	const vv_candidate *selected = vv_selection_get_selected(selection);
	vv_device *device = vv_selection_get_device(selection);
	vv_unassignable unassignable = vv_selection_get_unassignable(selection);
	const vv_policy *policy = vv_selection_get_policy(selection);
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
	for (guint i = 0; i < vv_selection_get_candidates(selection)->len; i++) {
		const vv_candidate *candidate = g_ptr_array_index(vv_selection_get_candidates(selection), i);

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
	for (guint i = 0; i < vv_selection_get_group_blockers(selection)->len; i++) {
		const vv_group_blocker *blocker = g_ptr_array_index(vv_selection_get_group_blockers(selection), i);
		xmlNode *element = xmlNewChild(node, NULL, BAD_CAST "blocker", NULL);

		xmlNewProp(element, BAD_CAST "address", BAD_CAST vv_group_blocker_get_address(blocker));
		xmlNewProp(element, BAD_CAST "driver", BAD_CAST vv_group_blocker_get_driver(blocker));
	}

	node = xmlNewChild(root, NULL, BAD_CAST "assignable", NULL);
	xmlNewProp(node, BAD_CAST "value", BAD_CAST (unassignable ? "no" : "yes"));
	if (unassignable)
		xmlNewProp(node, BAD_CAST "reason", BAD_CAST vv_unassignable_to_string(unassignable));

	if (record)
		vv_xml_add_detached(root, record);

	/* The rule that applied, when there is a policy file at all. */
	if (vv_policy_get_file(policy)) {
		node = xmlNewChild(root, NULL, BAD_CAST "policy", NULL);
		xmlNewProp(node, BAD_CAST "action", BAD_CAST vv_policy_action_to_string(vv_policy_get_action(policy)));
		if (vv_policy_get_driver(policy))
			xmlNewProp(node, BAD_CAST "driver", BAD_CAST vv_policy_get_driver(policy));
		xmlNewProp(node, BAD_CAST "scope", BAD_CAST vv_policy_scope_to_string(vv_policy_get_scope(policy)));
		if (vv_policy_get_line(policy))
			vv_xml_set_uint(node, "line", vv_policy_get_line(policy));
		xmlNewProp(node, BAD_CAST "hook-mode", BAD_CAST vv_hook_mode_to_string(vv_policy_get_hook_mode(policy)));
		xmlNewProp(node, BAD_CAST "host-use", BAD_CAST vv_host_use_to_string(vv_policy_get_host_use(policy)));
	}

	vv_xml_add_libvirt_pick(root, vv_selection_get_libvirt_pick(selection));

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
