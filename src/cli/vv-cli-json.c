/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The --json documents (schemas/vfio-variant.schema.json describes them).
 * Field names are an interface: added to, never renamed. A fact that is
 * unknown is null, never left out, so a consumer can tell "unknown" from a
 * field it does not know. Enumerated values are the words the XML uses
 * (vv_*_to_string); sentences (verdict, description) are for people, may
 * be translated, and are not to be parsed.
 */
#include "vv-cli-json.h"

enum { VV_CLI_JSON_FORMAT = 1 };

static void
vv_json_string(JsonBuilder *builder, const char *name, const char *value)
{
	json_builder_set_member_name(builder, name);
	if (value)
		json_builder_add_string_value(builder, value);
	else
		json_builder_add_null_value(builder);
}

static void
vv_json_hex(JsonBuilder *builder, const char *name, guint value, int width)
{
	g_autofree char *text = g_strdup_printf("%0*x", width, value);

	vv_json_string(builder, name, text);
}

static void
vv_json_int(JsonBuilder *builder, const char *name, gint64 value)
{
	json_builder_set_member_name(builder, name);
	json_builder_add_int_value(builder, value);
}

static void
vv_json_bool(JsonBuilder *builder, const char *name, gboolean value)
{
	json_builder_set_member_name(builder, name);
	json_builder_add_boolean_value(builder, value);
}

static void
vv_json_null(JsonBuilder *builder, const char *name)
{
	json_builder_set_member_name(builder, name);
	json_builder_add_null_value(builder);
}

/* A list of strings from the public API (a GPtrArray). */
static void
vv_json_strings(JsonBuilder *builder, const char *name, const GPtrArray *values)
{
	json_builder_set_member_name(builder, name);
	json_builder_begin_array(builder);
	for (guint i = 0; i < values->len; i++)
		json_builder_add_string_value(builder, g_ptr_array_index(values, i));
	json_builder_end_array(builder);
}

JsonBuilder *
vv_cli_json_begin(const char *command, const char *array)
{
	JsonBuilder *builder = json_builder_new();

	json_builder_begin_object(builder);
	vv_json_int(builder, "format", VV_CLI_JSON_FORMAT);
	vv_json_string(builder, "command", command);
	json_builder_set_member_name(builder, array);
	json_builder_begin_array(builder);
	return builder;
}

void
vv_cli_json_end(JsonBuilder *builder, GPtrArray *errors)
{
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *text = NULL;

	json_builder_end_array(builder);
	json_builder_set_member_name(builder, "errors");
	json_builder_begin_array(builder);
	for (guint i = 0; errors && i + 1 < errors->len; i += 2) {
		json_builder_begin_object(builder);
		vv_json_string(builder, "address", g_ptr_array_index(errors, i));
		vv_json_string(builder, "message", g_ptr_array_index(errors, i + 1));
		json_builder_end_object(builder);
	}
	json_builder_end_array(builder);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	json_generator_set_pretty(generator, TRUE);
	text = json_generator_to_data(generator, NULL);
	g_print("%s\n", text);
	g_object_unref(builder);
}

static void
vv_json_record(JsonBuilder *builder, const vv_record *record)
{
	gboolean complete = vv_record_is_complete(record);

	json_builder_set_member_name(builder, "record");
	json_builder_begin_object(builder);
	vv_json_string(builder, "driver", vv_record_get_driver(record));
	vv_json_string(builder, "module", vv_record_get_module(record));
	vv_json_bool(builder, "fallback", vv_record_is_fallback(record));
	vv_json_string(builder, "requester", vv_requester_to_string(vv_record_get_requester(record)));
	vv_json_string(builder, "since", vv_record_get_time(record));
	vv_json_bool(builder, "complete", complete);
	vv_json_string(builder, "operation", complete ? NULL : vv_record_get_operation(record));
	vv_json_string(builder, "step", complete ? NULL : vv_record_get_step(record));
	vv_json_string(builder, "native_driver", vv_record_get_original_driver(record));
	vv_json_string(builder, "native_module", vv_record_get_original_module(record));
	vv_json_string(builder, "native_override", vv_record_get_original_override(record));
	vv_json_string(builder, "domain", vv_record_get_domain(record));
	vv_json_bool(builder, "managed", vv_record_is_managed(record));
	json_builder_end_object(builder);
}

static void
vv_json_candidate(JsonBuilder *builder, const vv_candidate *candidate)
{
	vv_json_string(builder, "module", vv_candidate_get_module(candidate));
	vv_json_string(builder, "driver", vv_candidate_get_driver(candidate));
	vv_json_string(builder, "pattern", vv_candidate_get_alias(candidate));
	vv_json_int(builder, "specificity", vv_candidate_get_specificity(candidate));
}

static void
vv_json_selection(JsonBuilder *builder, const vv_selection *selection)
{
	const vv_candidate *selected = vv_selection_get_selected(selection);
	const vv_policy *policy = vv_selection_get_policy(selection);
	const vv_libvirt_pick *pick = vv_selection_get_libvirt_pick(selection);
	vv_unassignable unassignable = vv_selection_get_unassignable(selection);
	const GPtrArray *blockers = vv_selection_get_group_blockers(selection);
	const GPtrArray *candidates = vv_selection_get_candidates(selection);

	json_builder_set_member_name(builder, "choice");
	json_builder_begin_object(builder);
	vv_json_bool(builder, "known", TRUE);
	vv_json_null(builder, "reason");
	json_builder_end_object(builder);

	vv_json_bool(builder, "group_viable", vv_selection_is_group_viable(selection));
	json_builder_set_member_name(builder, "group_blockers");
	json_builder_begin_array(builder);
	for (guint i = 0; i < blockers->len; i++) {
		const vv_group_blocker *blocker = g_ptr_array_index(blockers, i);

		json_builder_begin_object(builder);
		vv_json_string(builder, "address", vv_group_blocker_get_address(blocker));
		vv_json_string(builder, "driver", vv_group_blocker_get_driver(blocker));
		json_builder_end_object(builder);
	}
	json_builder_end_array(builder);

	json_builder_set_member_name(builder, "assignable");
	json_builder_begin_object(builder);
	vv_json_bool(builder, "value", !unassignable);
	vv_json_string(builder, "reason", unassignable ? vv_unassignable_to_string(unassignable) : NULL);
	vv_json_string(builder, "description", unassignable ? vv_unassignable_describe(unassignable) : NULL);
	json_builder_end_object(builder);

	vv_json_string(builder, "lookup_key", vv_selection_get_key(selection));
	json_builder_set_member_name(builder, "selected");
	if (selected) {
		json_builder_begin_object(builder);
		vv_json_candidate(builder, selected);
		vv_json_bool(builder, "tie", vv_selection_is_tie(selection));
		json_builder_end_object(builder);
	} else {
		json_builder_add_null_value(builder);
	}
	json_builder_set_member_name(builder, "candidates");
	json_builder_begin_array(builder);
	for (guint i = 0; i < candidates->len; i++) {
		const vv_candidate *candidate = g_ptr_array_index(candidates, i);
		vv_rejected rejected = vv_candidate_get_rejected(candidate);

		json_builder_begin_object(builder);
		vv_json_candidate(builder, candidate);
		vv_json_string(builder, "source", vv_alias_source_to_string(vv_candidate_get_source(candidate)));
		vv_json_string(builder, "rejected", rejected ? vv_rejected_to_string(rejected) : NULL);
		vv_json_string(builder, "verdict", vv_candidate_get_verdict(candidate));
		json_builder_end_object(builder);
	}
	json_builder_end_array(builder);
	vv_json_string(builder, "summary", vv_selection_get_summary(selection));

	json_builder_set_member_name(builder, "policy");
	if (vv_policy_get_file(policy)) {
		json_builder_begin_object(builder);
		vv_json_string(builder, "file", vv_policy_get_file(policy));
		vv_json_string(builder, "action", vv_policy_action_to_string(vv_policy_get_action(policy)));
		vv_json_string(builder, "driver", vv_policy_get_driver(policy));
		vv_json_string(builder, "scope", vv_policy_scope_to_string(vv_policy_get_scope(policy)));
		if (vv_policy_get_line(policy))
			vv_json_int(builder, "line", vv_policy_get_line(policy));
		else
			vv_json_null(builder, "line");
		vv_json_string(builder, "hook_mode", vv_hook_mode_to_string(vv_policy_get_hook_mode(policy)));
		vv_json_string(builder, "host_use", vv_host_use_to_string(vv_policy_get_host_use(policy)));
		vv_json_string(builder, "description", vv_policy_describe(policy));
		json_builder_end_object(builder);
	} else {
		json_builder_add_null_value(builder);
	}

	json_builder_set_member_name(builder, "libvirt_pick");
	json_builder_begin_object(builder);
	vv_json_string(builder, "module", vv_libvirt_pick_get_module(pick));
	if (vv_libvirt_pick_get_line(pick))
		vv_json_int(builder, "line", vv_libvirt_pick_get_line(pick));
	else
		vv_json_null(builder, "line");
	vv_json_string(builder, "pattern", vv_libvirt_pick_get_line(pick) ? vv_libvirt_pick_get_pattern(pick) : NULL);
	vv_json_bool(builder, "same", vv_libvirt_pick_is_same(pick));
	vv_json_bool(builder, "fails", vv_libvirt_pick_fails(pick));
	vv_json_string(builder, "reason", vv_libvirt_pick_reason_to_string(vv_libvirt_pick_get_reason(pick)));
	vv_json_string(builder, "suggestion", vv_libvirt_pick_get_suggestion(pick));
	vv_json_string(builder, "description", vv_libvirt_pick_is_same(pick) ? NULL : vv_libvirt_pick_describe(pick));
	json_builder_end_object(builder);
}

/* Without a module index: everything that needs it is unknown (null). */
static void
vv_json_unknown(JsonBuilder *builder, const GError *unknown)
{
	json_builder_set_member_name(builder, "choice");
	json_builder_begin_object(builder);
	vv_json_bool(builder, "known", FALSE);
	vv_json_string(builder, "reason", unknown->message);
	json_builder_end_object(builder);
	vv_json_null(builder, "group_viable");
	vv_json_null(builder, "group_blockers");
	vv_json_null(builder, "assignable");
	vv_json_null(builder, "lookup_key");
	vv_json_null(builder, "selected");
	vv_json_null(builder, "candidates");
	vv_json_null(builder, "summary");
	vv_json_null(builder, "policy");
	vv_json_null(builder, "libvirt_pick");
}

void
vv_cli_json_device(JsonBuilder *builder, vv_ctx *ctx, vv_device *device, const vv_selection *selection,
		   const GError *unknown)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_record) record = vv_record_load(ctx, vv_device_get_address(device), &error);

	json_builder_begin_object(builder);
	vv_json_string(builder, "address", vv_device_get_address(device));
	vv_json_string(builder, "nodedev", vv_device_get_nodedev_name(device));
	vv_json_hex(builder, "vendor_id", vv_device_get_vendor_id(device), 4);
	vv_json_hex(builder, "device_id", vv_device_get_device_id(device), 4);
	vv_json_hex(builder, "subsystem_vendor_id", vv_device_get_subsystem_vendor_id(device), 4);
	vv_json_hex(builder, "subsystem_device_id", vv_device_get_subsystem_device_id(device), 4);
	vv_json_hex(builder, "class", vv_device_get_class(device), 6);
	vv_json_string(builder, "vendor_name", vv_device_get_vendor_name(device));
	vv_json_string(builder, "product_name", vv_device_get_product_name(device));
	vv_json_string(builder, "modalias", vv_device_get_modalias(device));
	vv_json_string(builder, "driver", vv_device_get_driver(device));
	vv_json_string(builder, "driver_module", vv_device_get_driver_module(device));
	vv_json_string(builder, "driver_override", vv_device_get_driver_override(device));
	vv_json_string(builder, "physfn", vv_device_get_physfn(device));
	vv_json_int(builder, "sriov_totalvfs", vv_device_get_sriov_totalvfs(device));
	vv_json_int(builder, "sriov_numvfs", vv_device_get_sriov_numvfs(device));
	if (vv_device_get_iommu_group(device) >= 0)
		vv_json_int(builder, "iommu_group", vv_device_get_iommu_group(device));
	else
		vv_json_null(builder, "iommu_group");
	vv_json_strings(builder, "group_members", vv_device_get_group_members(device));
	if (selection)
		vv_json_selection(builder, selection);
	else
		vv_json_unknown(builder, unknown);
	if (record) {
		vv_json_record(builder, record);
		vv_json_null(builder, "record_error");
	} else {
		vv_json_null(builder, "record");
		vv_json_string(builder, "record_error",
			       g_error_matches(error, VV_ERROR, VV_ERROR_NOT_FOUND) ? NULL : error->message);
	}
	json_builder_end_object(builder);
}

void
vv_cli_json_status(JsonBuilder *builder, const char *address, vv_device *device, const vv_record *record)
{
	json_builder_begin_object(builder);
	vv_json_string(builder, "address", address);
	vv_json_bool(builder, "present", device != NULL);
	vv_json_string(builder, "driver", device ? vv_device_get_driver(device) : NULL);
	vv_json_bool(builder, "detached", record != NULL);
	if (record)
		vv_json_record(builder, record);
	else
		vv_json_null(builder, "record");
	json_builder_end_object(builder);
}
