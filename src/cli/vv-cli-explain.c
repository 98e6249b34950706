/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-variant explain: every candidate of one device, and why one wins. */
#include "vv-cli-json.h"

static void
vv_explain_device(vv_device *device)
{
	const char *vendor = vv_device_get_vendor_name(device);
	const char *product = vv_device_get_product_name(device);
	const char *driver = vv_device_get_driver(device);
	const char *module = vv_device_get_driver_module(device);

	g_print(_("Device %1$s (%2$s), %3$04x:%4$04x subsystem %5$04x:%6$04x class %7$06x\n"),
		vv_device_get_address(device), vv_device_get_nodedev_name(device),
		vv_device_get_vendor_id(device), vv_device_get_device_id(device),
		vv_device_get_subsystem_vendor_id(device), vv_device_get_subsystem_device_id(device),
		vv_device_get_class(device));
	if (vendor && product)
		g_print(_("  Name:           %1$s %2$s\n"), vendor, product);
	else if (vendor)
		g_print(_("  Name:           %s\n"), vendor);
	if (!driver)
		g_print(_("  Driver:         none\n"));
	else if (module && !g_str_equal(module, driver))
		g_print(_("  Driver:         %1$s (module %2$s)\n"), driver, module);
	else
		g_print(_("  Driver:         %s\n"), driver);
	if (vv_device_get_driver_override(device))
		g_print(_("  Override:       %s\n"), vv_device_get_driver_override(device));
	if (vv_device_get_physfn(device))
		g_print(_("  SR-IOV:         virtual function of %s\n"), vv_device_get_physfn(device));
	else if (vv_device_get_sriov_totalvfs(device))
		g_print(_("  SR-IOV:         physical function, %1$u of %2$u VFs enabled\n"),
			vv_device_get_sriov_numvfs(device), vv_device_get_sriov_totalvfs(device));
	g_print(_("  Modalias:       %s\n"), vv_device_get_modalias(device));
}

static void
vv_explain_group(const vv_selection *selection)
{
	vv_device *device = vv_selection_get_device(selection);
	const GPtrArray *blockers = vv_selection_get_group_blockers(selection);
	g_autofree char *members = g_strjoinv(" ", (char **)vv_device_get_group_members(device)->pdata);

	if (vv_device_get_iommu_group(device) < 0) {
		g_print(_("  IOMMU group:    none\n"));
		return;
	}
	g_print(_("  IOMMU group:    %1$d (%2$s), members: %3$s\n"), vv_device_get_iommu_group(device),
		vv_selection_is_group_viable(selection) ? _("viable") : _("not viable"), members);
	for (guint i = 0; i < blockers->len; i++) {
		const vv_group_blocker *blocker = g_ptr_array_index(blockers, i);

		g_print(_("                  %1$s is bound to %2$s, which does not leave DMA to VFIO.\n"),
			vv_group_blocker_get_address(blocker), vv_group_blocker_get_driver(blocker));
	}
}

/* The group as sysfs shows it, when its viability cannot be judged. */
static void
vv_explain_group_members(vv_device *device)
{
	g_autofree char *members = g_strjoinv(" ", (char **)vv_device_get_group_members(device)->pdata);

	if (vv_device_get_iommu_group(device) < 0)
		g_print(_("  IOMMU group:    none\n"));
	else
		g_print(_("  IOMMU group:    %1$d, members: %2$s\n"), vv_device_get_iommu_group(device), members);
}

/* Only where a policy file exists: without one, the output is as before. */
static void
vv_explain_policy(const vv_selection *selection)
{
	const vv_policy *policy = vv_selection_get_policy(selection);

	if (!vv_policy_get_file(policy))
		return;
	g_print(_("  Policy:         %s\n"), vv_policy_describe(policy));
	g_print(_("  Hook mode:      %s\n"), vv_hook_mode_to_string(vv_policy_get_hook_mode(policy)));
	g_print(_("  Host use:       %s\n"), vv_host_use_to_string(vv_policy_get_host_use(policy)));
}

static void
vv_explain_candidates(const vv_selection *selection)
{
	const GPtrArray *candidates = vv_selection_get_candidates(selection);
	guint n = candidates->len;

	g_print(_("  Lookup key:     %s\n"), vv_selection_get_key(selection));
	if (n == 0) {
		g_print(_("Candidates: none\n"));
		return;
	}
	g_print(_("Candidates, best first:\n"));
	for (guint i = 0; i < n; i++) {
		const vv_candidate *candidate = g_ptr_array_index(candidates, i);
		const char *driver = vv_candidate_get_driver(candidate);
		const char *alias = vv_candidate_get_alias(candidate);

		g_print(_("  %1$u. %2$s, driver %3$s\n"), i + 1, vv_candidate_get_module(candidate),
			driver ? driver : _("unknown until the module is loaded"));
		g_print(_("     alias %1$s (%2$s), specificity %3$u\n"),
			alias ? alias : _("unknown"),
			vv_alias_source_to_string(vv_candidate_get_source(candidate)),
			vv_candidate_get_specificity(candidate));
		g_print("     %s\n", vv_candidate_get_verdict(candidate));
	}
}

/* What libvirt >= 10 binds by itself for a managed hostdev or a plain
 * `virsh nodedev-detach`, and, where that is not vfio-variant's choice,
 * why and what to write in the domain instead. */
static void
vv_explain_libvirt_pick(const vv_selection *selection)
{
	const vv_libvirt_pick *pick = vv_selection_get_libvirt_pick(selection);
	const vv_candidate *selected = vv_selection_get_selected(selection);
	const char *module = vv_libvirt_pick_get_module(pick);

	if (!module)
		g_print(_("libvirt >= 10 would pick: nothing, it fails\n"));
	else if (vv_libvirt_pick_get_line(pick))
		g_print(_("libvirt >= 10 would pick: %1$s (modules.alias line %2$u: %3$s)\n"), module,
			vv_libvirt_pick_get_line(pick), vv_libvirt_pick_get_pattern(pick));
	else
		g_print(_("libvirt >= 10 would pick: %s (no line of modules.alias matches)\n"), module);
	if (vv_libvirt_pick_is_same(pick)) {
		g_print(_("  That is vfio-variant's choice too.\n"));
		return;
	}
	g_print("  %s\n", vv_libvirt_pick_describe(pick));
	if (vv_libvirt_pick_get_suggestion(pick))
		g_print(_("  To get %1$s without the hook, write in the domain's <hostdev>: %2$s\n"),
			vv_candidate_get_module(selected), vv_libvirt_pick_get_suggestion(pick));
}

int
vv_cli_explain(const vv_cli_globals *globals, int argc, char **argv)
{
	gboolean xml = FALSE, json = FALSE;
	GOptionEntry entries[] = {
		{ "xml", 0, 0, G_OPTION_ARG_NONE, &xml, N_("Print the <vfio> XML element instead of text"), NULL },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print a JSON document instead of text"), NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new(_("DEVICE"));
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_ctx) ctx = NULL;
	g_autoptr(vv_device) device = NULL;
	g_autoptr(vv_selection) selection = NULL;
	g_autofree char *address = NULL;

	g_option_context_set_summary(context, _("Show every candidate VFIO driver of DEVICE (0000:03:00.1, 03:00.1 or pci_0000_03_00_1) and why one wins."));
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	if (!vv_cli_parse(context, &argc, &argv, 1))
		return VV_CLI_EXIT_USAGE;

	/* A malformed name is the user's to fix before any host is read. */
	address = vv_address_parse(argv[1], &error);
	if (!address)
		return vv_cli_error(g_steal_pointer(&error));
	if (xml && json)
		return vv_cli_usage(_("Give either --xml or --json, not both."));
	ctx = vv_cli_open(globals, &error);
	if (!ctx || !(device = vv_device_new(ctx, address, &error)))
		return vv_cli_error(g_steal_pointer(&error));
	selection = vv_selection_new(ctx, device, &error);
	if (!selection && !vv_cli_choice_unknown(globals, error))
		return vv_cli_error(g_steal_pointer(&error));

	if (json) {
		JsonBuilder *builder = vv_cli_json_begin("explain", "devices");

		vv_cli_json_device(builder, ctx, device, selection, error);
		vv_cli_json_end(builder, NULL);
	} else if (!selection) {
		/* Without a module index: the device, and why the choice is unknown. */
		if (xml) {
			vv_cli_error(g_steal_pointer(&error));
			return VV_CLI_EXIT_UNKNOWN;
		}
		vv_explain_device(device);
		vv_explain_group_members(device);
		g_print(_("Result: unknown: %s\n"), error->message);
		return VV_CLI_EXIT_UNKNOWN;
	} else if (xml) {
		g_autofree char *text = vv_selection_to_xml(selection, TRUE);

		g_print("%s", text);
	} else {
		vv_explain_device(device);
		vv_explain_group(selection);
		if (vv_selection_get_unassignable(selection))
			g_print(_("  Assignable:     no, %s\n"),
				vv_unassignable_describe(vv_selection_get_unassignable(selection)));
		else
			g_print(_("  Assignable:     yes\n"));
		vv_explain_policy(selection);
		vv_explain_candidates(selection);
		g_print(_("Result: %s\n"), vv_selection_get_summary(selection));
		vv_explain_libvirt_pick(selection);
	}
	if (!selection)
		return VV_CLI_EXIT_UNKNOWN;
	return vv_selection_get_selected(selection) ? VV_CLI_EXIT_OK : VV_CLI_EXIT_NONE;
}
