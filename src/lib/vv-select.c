/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ranking: which VFIO driver serves a device, and why.
 *
 * Order of candidates (one per module, with its most specific matching
 * pattern):
 *   1. those that can serve before those rejected (blacklisted);
 *   2. variants before the generic vfio_pci, whatever their patterns;
 *   3. higher specificity first (see vv-alias.c);
 *   4. ties: field by field from vendor to interface, then module name in
 *      byte order. A tie on specificity between the two best is reported.
 * Nothing is selected for a device no VFIO driver can take.
 *
 * Then the administrator's policy (vv-policy.c): deny selects nothing;
 * generic selects vfio_pci; a named driver is selected even when none of
 * its aliases matches (it is then added as a candidate of source
 * "policy"). The policy's choice is moved to the front of the list, so
 * the selected candidate is always the first.
 */
#include <string.h>

#include "vv-private.h"

struct vv_group_blocker {
	char *address;
	char *driver;
};

static void
vv_group_blocker_free(vv_group_blocker *blocker)
{
	g_free(blocker->address);
	g_free(blocker->driver);
	g_free(blocker);
}

struct vv_candidate {
	char *module;
	char *driver;
	char *alias;
	vv_alias_source source;
	vv_alias_rank rank;
	gboolean generic;
	vv_rejected rejected;
	const vv_selection *selection;
	char *verdict; /* made on first request: most callers never show it */
};

struct vv_selection {
	gint ref;
	vv_device *device;
	char *key;
	vv_unassignable unassignable;
	gboolean group_viable;
	GPtrArray *group_blockers;
	GPtrArray *candidates;
	const vv_candidate *selected;
	gboolean tie;
	vv_policy *policy;
	char *policy_where; /* "[group] in FILE line N", NULL: no rule */
	char *summary; /* made on first request */
	vv_libvirt_pick *libvirt_pick; /* made on first request */
};

static void
vv_candidate_free(vv_candidate *candidate)
{
	g_free(candidate->module);
	g_free(candidate->driver);
	g_free(candidate->alias);
	g_free(candidate->verdict);
	g_free(candidate);
}

/* One candidate per module, keeping its most specific matching pattern. */
static GPtrArray *
vv_selection_collect(vv_ctx *ctx, GPtrArray *aliases)
{
	GPtrArray *candidates = vv_list_new((GDestroyNotify)vv_candidate_free);
	g_autoptr(GHashTable) by_module = g_hash_table_new(g_str_hash, g_str_equal);

	for (guint i = 0; i < aliases->len; i++) {
		vv_alias *alias = g_ptr_array_index(aliases, i);
		vv_candidate *candidate = g_hash_table_lookup(by_module, alias->module);
		vv_alias_rank rank;

		if (alias->pattern)
			vv_alias_rank_pattern(alias->pattern, &rank);
		else
			memset(&rank, 0, sizeof(rank));

		if (!candidate) {
			candidate = g_new0(vv_candidate, 1);
			candidate->module = g_strdup(alias->module);
			candidate->generic = g_str_equal(alias->module, VV_VFIO_PCI_MODULE);
			candidate->driver = vv_module_driver_name(ctx, alias->module);
			if (vv_moddb_is_blacklisted(ctx->moddb, alias->module))
				candidate->rejected = VV_REJECTED_BLACKLISTED;
			g_hash_table_insert(by_module, candidate->module, candidate);
			g_ptr_array_add(candidates, candidate);
		} else if (!alias->pattern || (candidate->alias && vv_alias_rank_compare(&rank, &candidate->rank) >= 0)) {
			continue;
		}
		g_free(candidate->alias);
		candidate->alias = g_strdup(alias->pattern);
		candidate->rank = rank;
		candidate->source = alias->source;
	}
	return candidates;
}

static int
vv_candidate_compare(gconstpointer pa, gconstpointer pb)
{
	const vv_candidate *a = *(const vv_candidate *const *)pa;
	const vv_candidate *b = *(const vv_candidate *const *)pb;
	int order;

	if ((a->rejected != VV_REJECTED_NONE) != (b->rejected != VV_REJECTED_NONE))
		return a->rejected != VV_REJECTED_NONE ? 1 : -1;
	if (a->generic != b->generic)
		return a->generic ? 1 : -1;
	order = vv_alias_rank_compare(&a->rank, &b->rank);
	return order ? order : strcmp(a->module, b->module);
}

static vv_unassignable
vv_selection_assess_device(vv_device *device)
{
	if (vv_device_is_bridge(device))
		return VV_UNASSIGNABLE_BRIDGE;
	if (vv_device_get_sriov_numvfs(device) > 0)
		return VV_UNASSIGNABLE_PF_WITH_VFS;
	if (vv_device_get_iommu_group(device) < 0)
		return VV_UNASSIGNABLE_NO_IOMMU_GROUP;
	return VV_UNASSIGNABLE_NONE;
}

/* VFIO can use a group only when every other member is unbound or on a
 * driver that manages DMA itself: a VFIO driver (vfio-dev/ exists),
 * pcieport or pci-stub. */
static void
vv_selection_assess_group(vv_selection *selection, vv_ctx *ctx)
{
	const GPtrArray *members = vv_device_get_group_members(selection->device);

	selection->group_blockers = vv_list_new((GDestroyNotify)vv_group_blocker_free);

	for (guint i = 0; i < members->len; i++) {
		const char *member = g_ptr_array_index(members, i);
		g_autofree char *driver_link = NULL;
		g_autofree char *vfio_dev = NULL;
		g_autofree char *driver = NULL;

		if (g_str_equal(member, vv_device_get_address(selection->device)))
			continue;
		driver_link = vv_sysfs_device_file(ctx, member, "driver");
		vfio_dev = vv_sysfs_device_file(ctx, member, "vfio-dev");
		driver = vv_sysfs_link_name(ctx, driver_link);
		if (!driver || g_str_equal(driver, "pcieport") || g_str_equal(driver, "pci-stub") ||
		    vv_sysfs_is_dir(ctx, vfio_dev))
			continue;
		vv_group_blocker *blocker = g_new0(vv_group_blocker, 1);

		blocker->address = g_strdup(member);
		blocker->driver = g_steal_pointer(&driver);
		g_ptr_array_add(selection->group_blockers, blocker);
	}
	selection->group_viable = vv_device_get_iommu_group(selection->device) >= 0 &&
				  selection->group_blockers->len == 0;
}

/* The verdict when a policy rule (not auto) decided. */
static char *
vv_selection_policy_verdict(const vv_selection *selection, const vv_candidate *candidate)
{
	const char *where = selection->policy_where;
	const char *wanted = vv_policy_get_driver(selection->policy);

	switch (vv_policy_get_action(selection->policy)) {
	case VV_POLICY_DENY:
		return g_strdup_printf(_("Not selected: the policy denies this device (%s)."), where);
	case VV_POLICY_GENERIC:
		if (candidate == selection->selected)
			return g_strdup_printf(_("Selected: the policy asks for the generic driver (%s)."), where);
		return g_strdup_printf(_("Not selected: the policy asks for the generic driver (%s)."), where);
	case VV_POLICY_DRIVER:
		if (candidate == selection->selected && candidate->source == VV_ALIAS_SOURCE_POLICY)
			return g_strdup_printf(_("Selected: the policy names it (%s), although none of its vfio_pci aliases matches this device."),
					       where);
		if (candidate == selection->selected)
			return g_strdup_printf(_("Selected: the policy names it (%s)."), where);
		return g_strdup_printf(_("Not selected: the policy asks for %1$s (%2$s)."), wanted, where);
	case VV_POLICY_AUTO:
		break;
	}
	return g_strdup(_("Not selected."));
}

static char *
vv_selection_verdict(const vv_selection *selection, const vv_candidate *candidate)
{
	const vv_candidate *winner = selection->selected;
	gboolean any_rejected = FALSE;

	if (candidate->rejected == VV_REJECTED_BLACKLISTED)
		return g_strdup_printf(_("Rejected: modprobe.d blacklists %s, and vfio-variant honours the blacklist although a load by name would not."),
				       candidate->module);
	if (selection->unassignable != VV_UNASSIGNABLE_NONE)
		return g_strdup(_("Not used: no VFIO driver can take this device."));
	if (vv_policy_get_action(selection->policy) != VV_POLICY_AUTO)
		return vv_selection_policy_verdict(selection, candidate);

	if (candidate == winner) {
		const vv_candidate *runner_up = NULL;

		for (guint i = 0; i < selection->candidates->len; i++) {
			const vv_candidate *other = g_ptr_array_index(selection->candidates, i);

			any_rejected |= other->rejected != VV_REJECTED_NONE;
			if (other != winner && !other->generic && !other->rejected && !runner_up)
				runner_up = other;
		}
		if (winner->generic)
			return g_strdup(any_rejected ?
					_("Selected: the generic driver, because every matching variant driver is rejected.") :
					_("Selected: the generic driver, because no variant driver matches this device."));
		if (selection->tie && vv_alias_rank_compare(&winner->rank, &runner_up->rank) != 0)
			return g_strdup_printf(_("Selected: as specific as %1$s (specificity %2$u), and it gives more of the leading fields (vendor, device, subsystem, class)."),
					       runner_up->module, winner->rank.specificity);
		if (selection->tie)
			return g_strdup_printf(_("Selected: it ties with %1$s (specificity %2$u) and its module name sorts first."),
					       runner_up->module, winner->rank.specificity);
		return g_strdup_printf(_("Selected: the most specific match, with %1$u of 7 fields fully given (specificity %2$u)."),
				       winner->rank.exact_fields, winner->rank.specificity);
	}

	if (!winner)
		return g_strdup(_("Not selected."));
	if (candidate->generic)
		return g_strdup(_("Not selected: the generic driver serves only when no variant driver can."));
	if (candidate->rank.specificity < winner->rank.specificity)
		return g_strdup_printf(_("Not selected: less specific than %1$s (specificity %2$u against %3$u)."),
				       winner->module, candidate->rank.specificity, winner->rank.specificity);
	if (vv_alias_rank_compare(&winner->rank, &candidate->rank) != 0)
		return g_strdup_printf(_("Not selected: as specific as %s, which gives more of the leading fields."),
				       winner->module);
	return g_strdup_printf(_("Not selected: as specific as %s, whose module name sorts first."), winner->module);
}

/* The candidate whose module or driver name is NAME ('-' and '_' alike). */
static vv_candidate *
vv_selection_find_named(const vv_selection *selection, const char *name)
{
	for (guint i = 0; i < selection->candidates->len; i++) {
		vv_candidate *candidate = g_ptr_array_index(selection->candidates, i);

		if (vv_names_equal_folded(candidate->module, name) ||
		    (candidate->driver && vv_names_equal_folded(candidate->driver, name)))
			return candidate;
	}
	return NULL;
}

/* A driver the policy names that no alias offers: a candidate of source
 * "policy", when the host has it. */
static vv_candidate *
vv_selection_add_named(vv_selection *selection, vv_ctx *ctx, const char *name)
{
	g_autofree char *module = NULL;
	g_autofree char *driver = NULL;
	vv_candidate *candidate;

	vv_module_resolve(ctx, name, &module, &driver);
	if (!driver && !vv_module_exists(ctx, module))
		return NULL;
	candidate = g_new0(vv_candidate, 1);
	candidate->module = module ? g_steal_pointer(&module) : g_strdup(name);
	candidate->driver = g_steal_pointer(&driver);
	candidate->source = VV_ALIAS_SOURCE_POLICY;
	candidate->generic = g_str_equal(candidate->module, VV_VFIO_PCI_MODULE);
	if (vv_moddb_is_blacklisted(ctx->moddb, candidate->module))
		candidate->rejected = VV_REJECTED_BLACKLISTED;
	g_ptr_array_add(selection->candidates, candidate);
	return candidate;
}

/* Apply a rule other than auto: the chosen candidate goes first. */
static void
vv_selection_apply_policy(vv_selection *selection, vv_ctx *ctx)
{
	vv_candidate *chosen = NULL;
	guint index;

	selection->selected = NULL;
	selection->tie = FALSE;
	switch (vv_policy_get_action(selection->policy)) {
	case VV_POLICY_DENY:
	case VV_POLICY_AUTO:
		return;
	case VV_POLICY_GENERIC:
		chosen = vv_selection_find_named(selection, VV_VFIO_PCI_MODULE);
		break;
	case VV_POLICY_DRIVER:
		chosen = vv_selection_find_named(selection, vv_policy_get_driver(selection->policy));
		if (!chosen)
			chosen = vv_selection_add_named(selection, ctx, vv_policy_get_driver(selection->policy));
		break;
	}
	if (!chosen)
		return;
	if (g_ptr_array_find(selection->candidates, chosen, &index))
		g_ptr_array_steal_index(selection->candidates, index);
	g_ptr_array_insert(selection->candidates, 0, chosen);
	if (!chosen->rejected)
		selection->selected = chosen;
}

static char *
vv_selection_summarize(const vv_selection *selection)
{
	const vv_candidate *winner = selection->selected;

	if (selection->unassignable != VV_UNASSIGNABLE_NONE)
		return g_strdup_printf(_("No VFIO driver can take this device: %s."),
				       vv_unassignable_describe(selection->unassignable));
	switch (vv_policy_get_action(selection->policy)) {
	case VV_POLICY_DENY:
		return g_strdup_printf(_("The policy denies this device (%s): nothing is selected. Change or remove that rule to assign it."),
				       selection->policy_where);
	case VV_POLICY_GENERIC:
		if (winner)
			return g_strdup_printf(_("%1$s is selected (driver %2$s): the policy asks for the generic driver (%3$s)."),
					       winner->module, winner->driver ? winner->driver : VV_VFIO_PCI_DRIVER, selection->policy_where);
		return g_strdup_printf(_("The policy asks for the generic driver (%s), but vfio_pci cannot serve this device (no alias of it matches, or modprobe.d blacklists it)."),
				       selection->policy_where);
	case VV_POLICY_DRIVER:
		if (winner && winner->driver)
			return g_strdup_printf(_("%1$s is selected (driver %2$s): the policy names it (%3$s)."),
					       winner->module, winner->driver, selection->policy_where);
		if (winner)
			return g_strdup_printf(_("%1$s is selected: the policy names it (%2$s); its driver name is known once the module is loaded."),
					       winner->module, selection->policy_where);
		if (vv_selection_find_named(selection, vv_policy_get_driver(selection->policy)))
			return g_strdup_printf(_("The policy asks for %1$s (%2$s), but modprobe.d blacklists it: nothing is selected. Remove the blacklist line or change the rule."),
					       vv_policy_get_driver(selection->policy), selection->policy_where);
		return g_strdup_printf(_("The policy asks for %1$s (%2$s), but this host has no such module or driver: nothing is selected. Install it or change the rule."),
				       vv_policy_get_driver(selection->policy), selection->policy_where);
	case VV_POLICY_AUTO:
		break;
	}
	if (selection->candidates->len == 0)
		return g_strdup(_("No VFIO driver matches this device: no module has a vfio_pci alias for it. Install a kernel with the vfio-pci module."));
	if (!winner)
		return g_strdup(_("Every VFIO driver that matches this device is rejected; see the candidates."));
	if (winner->driver)
		return g_strdup_printf(_("%1$s is selected (driver %2$s)."), winner->module, winner->driver);
	return g_strdup_printf(_("%s is selected; its driver name is known once the module is loaded."),
			       winner->module);
}

VV_EXPORT vv_selection *
vv_selection_new(vv_ctx *ctx, vv_device *device, GError **error)
{
	g_autoptr(vv_selection) selection = g_new0(vv_selection, 1);
	g_autoptr(GPtrArray) aliases = NULL;
	const char *modalias = vv_device_get_modalias(device);

	selection->ref = 1;
	selection->device = vv_device_ref(device);
	selection->key = g_strconcat("vfio_", modalias, NULL);
	selection->policy = vv_policy_new(ctx, device, error);
	if (!selection->policy)
		return NULL;
	selection->policy_where = vv_policy_where(selection->policy);

	aliases = vv_lookup_aliases(ctx, selection->key, error);
	if (!aliases)
		return NULL;
	selection->candidates = vv_selection_collect(ctx, aliases);
	g_ptr_array_sort(selection->candidates, vv_candidate_compare);

	selection->unassignable = vv_selection_assess_device(device);
	vv_selection_assess_group(selection, ctx);

	if (selection->unassignable == VV_UNASSIGNABLE_NONE && selection->candidates->len > 0) {
		const vv_candidate *best = g_ptr_array_index(selection->candidates, 0);

		if (!best->rejected)
			selection->selected = best;
		if (selection->selected && !best->generic && selection->candidates->len > 1) {
			const vv_candidate *next = g_ptr_array_index(selection->candidates, 1);

			selection->tie = !next->generic && !next->rejected &&
					 next->rank.specificity == best->rank.specificity;
		}
	}
	if (selection->unassignable == VV_UNASSIGNABLE_NONE &&
	    vv_policy_get_action(selection->policy) != VV_POLICY_AUTO)
		vv_selection_apply_policy(selection, ctx);

	for (guint i = 0; i < selection->candidates->len; i++)
		((vv_candidate *)g_ptr_array_index(selection->candidates, i))->selection = selection;
	return g_steal_pointer(&selection);
}

VV_EXPORT vv_selection *
vv_selection_ref(vv_selection *selection)
{
	g_atomic_int_inc(&selection->ref);
	return selection;
}

VV_EXPORT void
vv_selection_unref(vv_selection *selection)
{
	if (!selection || !g_atomic_int_dec_and_test(&selection->ref))
		return;
	vv_device_unref(selection->device);
	g_free(selection->key);
	if (selection->group_blockers)
		g_ptr_array_unref(selection->group_blockers);
	if (selection->candidates)
		g_ptr_array_unref(selection->candidates);
	g_free(selection->summary);
	vv_libvirt_pick_free(selection->libvirt_pick);
	vv_policy_unref(selection->policy);
	g_free(selection->policy_where);
	g_free(selection);
}

VV_EXPORT vv_device *vv_selection_get_device(const vv_selection *selection) { return selection->device; }
VV_EXPORT const char *vv_selection_get_key(const vv_selection *selection) { return selection->key; }
VV_EXPORT vv_unassignable vv_selection_get_unassignable(const vv_selection *selection) { return selection->unassignable; }
VV_EXPORT gboolean vv_selection_is_group_viable(const vv_selection *selection) { return selection->group_viable; }
VV_EXPORT const GPtrArray *vv_selection_get_group_blockers(const vv_selection *selection) { return selection->group_blockers; }
VV_EXPORT const vv_candidate *vv_selection_get_selected(const vv_selection *selection) { return selection->selected; }
VV_EXPORT gboolean vv_selection_is_tie(const vv_selection *selection) { return selection->tie; }
VV_EXPORT vv_policy *vv_selection_get_policy(const vv_selection *selection) { return selection->policy; }
VV_EXPORT const GPtrArray *vv_selection_get_candidates(const vv_selection *selection) { return selection->candidates; }
VV_EXPORT const char *
vv_selection_get_summary(const vv_selection *selection)
{
	if (!selection->summary)
		((vv_selection *)selection)->summary = vv_selection_summarize(selection);
	return selection->summary;
}

VV_EXPORT const vv_libvirt_pick *
vv_selection_get_libvirt_pick(const vv_selection *selection)
{
	if (!selection->libvirt_pick)
		((vv_selection *)selection)->libvirt_pick =
			vv_libvirt_pick_new(vv_device_get_ctx(selection->device), selection);
	return selection->libvirt_pick;
}

VV_EXPORT const char *vv_group_blocker_get_address(const vv_group_blocker *blocker) { return blocker->address; }
VV_EXPORT const char *vv_group_blocker_get_driver(const vv_group_blocker *blocker) { return blocker->driver; }

VV_EXPORT const char *vv_candidate_get_module(const vv_candidate *candidate) { return candidate->module; }
VV_EXPORT const char *vv_candidate_get_driver(const vv_candidate *candidate) { return candidate->driver; }
VV_EXPORT const char *vv_candidate_get_alias(const vv_candidate *candidate) { return candidate->alias; }
VV_EXPORT vv_alias_source vv_candidate_get_source(const vv_candidate *candidate) { return candidate->source; }
VV_EXPORT guint vv_candidate_get_specificity(const vv_candidate *candidate) { return candidate->rank.specificity; }
VV_EXPORT guint vv_candidate_get_exact_fields(const vv_candidate *candidate) { return candidate->rank.exact_fields; }
VV_EXPORT gboolean vv_candidate_is_generic(const vv_candidate *candidate) { return candidate->generic; }
VV_EXPORT vv_rejected vv_candidate_get_rejected(const vv_candidate *candidate) { return candidate->rejected; }
VV_EXPORT const char *
vv_candidate_get_verdict(const vv_candidate *candidate)
{
	if (!candidate->verdict)
		((vv_candidate *)candidate)->verdict = vv_selection_verdict(candidate->selection, candidate);
	return candidate->verdict;
}

VV_EXPORT const char *
vv_alias_source_to_string(vv_alias_source source)
{
	switch (source) {
	case VV_ALIAS_SOURCE_MODULES_ALIAS: return "modules.alias";
	case VV_ALIAS_SOURCE_BUILTIN: return "modules.builtin.alias";
	case VV_ALIAS_SOURCE_CONFIG: return "modprobe.d";
	case VV_ALIAS_SOURCE_POLICY: return "policy";
	}
	return "unknown";
}

VV_EXPORT const char *
vv_unassignable_to_string(vv_unassignable reason)
{
	switch (reason) {
	case VV_UNASSIGNABLE_NONE: return "none";
	case VV_UNASSIGNABLE_BRIDGE: return "bridge";
	case VV_UNASSIGNABLE_PF_WITH_VFS: return "pf-with-vfs";
	case VV_UNASSIGNABLE_NO_IOMMU_GROUP: return "no-iommu-group";
	}
	return "unknown";
}

VV_EXPORT const char *
vv_unassignable_describe(vv_unassignable reason)
{
	switch (reason) {
	case VV_UNASSIGNABLE_NONE: return _("it can be assigned");
	case VV_UNASSIGNABLE_BRIDGE: return _("it is a PCI bridge");
	case VV_UNASSIGNABLE_PF_WITH_VFS: return _("it is an SR-IOV physical function with VFs enabled (set sriov_numvfs to 0 first, or assign a VF)");
	case VV_UNASSIGNABLE_NO_IOMMU_GROUP: return _("it has no IOMMU group (enable the IOMMU, e.g. intel_iommu=on or amd_iommu=on)");
	}
	return "";
}

VV_EXPORT const char *
vv_rejected_to_string(vv_rejected reason)
{
	switch (reason) {
	case VV_REJECTED_NONE: return "none";
	case VV_REJECTED_BLACKLISTED: return "blacklisted";
	}
	return "unknown";
}
