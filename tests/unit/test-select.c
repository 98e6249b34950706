/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ranking, one labelled case per rule, on hosts whose module trees are
 * indexed by the real depmod and read through the real libkmod.
 */
#include <string.h>

#include "vv-test-hosts.h"

/* A row names only what it expects; an absent field is NULL, 0 or FALSE
 * (nothing selected, no tie, assignable, no rejected or losing candidate). */
typedef struct {
	const char *label;
	const char *host;
	const char *address;
	const char *module;        /* expected winner, NULL: nothing selected */
	const char *driver;        /* its driver, NULL: unknown until loaded */
	vv_alias_source source;
	guint specificity;
	gboolean tie;
	vv_unassignable unassignable;
	const char *rejected;      /* a candidate expected to be rejected */
	const char *loser;         /* a candidate expected to rank after the winner */
} vv_select_case;

static const vv_select_case vv_select_cases[] = {
	{ .label = "interface pattern i00*", .host = "rules", .address = "0000:00:01.0",
	  .module = "iface_variant", .source = VV_ALIAS_SOURCE_MODULES_ALIAS, .specificity = 10, .loser = "class_exact" },
	{ .label = "class glob bc03sc*i*", .host = "rules", .address = "0000:00:02.0",
	  .module = "class_glob_variant", .source = VV_ALIAS_SOURCE_MODULES_ALIAS, .specificity = 4, .loser = "vfio_pci" },
	{ .label = "built-in variant beside modular vfio_pci", .host = "rules", .address = "0000:00:03.0",
	  .module = "builtin_variant", .driver = "builtin_variant", .source = VV_ALIAS_SOURCE_BUILTIN, .specificity = 4, .loser = "vfio_pci" },
	{ .label = "modular variant beside built-in vfio_pci", .host = "builtin-generic", .address = "0000:00:03.0",
	  .module = "loadable_variant", .source = VV_ALIAS_SOURCE_MODULES_ALIAS, .specificity = 4, .loser = "vfio_pci" },
	{ .label = "built-in generic serves alone", .host = "builtin-generic", .address = "0000:00:05.0",
	  .module = "vfio_pci", .driver = "vfio-pci", .source = VV_ALIAS_SOURCE_BUILTIN },
	{ .label = "modprobe.d alias", .host = "rules", .address = "0000:00:04.0",
	  .module = "config_variant", .source = VV_ALIAS_SOURCE_CONFIG, .specificity = 4, .loser = "vfio_pci" },
	{ .label = "blacklisted variant leaves the generic driver", .host = "rules", .address = "0000:00:05.0",
	  .module = "vfio_pci", .driver = "vfio-pci", .source = VV_ALIAS_SOURCE_MODULES_ALIAS, .rejected = "blocked_variant" },
	{ .label = "tie broken by module name", .host = "rules", .address = "0000:00:06.0",
	  .module = "tie_alpha", .source = VV_ALIAS_SOURCE_MODULES_ALIAS, .specificity = 4, .tie = TRUE, .loser = "tie_beta" },
	{ .label = "tie broken by field order", .host = "rules", .address = "0000:00:07.0",
	  .module = "dev_exact", .source = VV_ALIAS_SOURCE_MODULES_ALIAS, .specificity = 4, .tie = TRUE, .loser = "class_exact" },
	{ .label = "given subsystem beats glob", .host = "rules", .address = "0000:00:08.0",
	  .module = "subsys_variant", .source = VV_ALIAS_SOURCE_MODULES_ALIAS, .specificity = 8, .loser = "plain_variant" },
	{ .label = "generic last even with a more specific alias", .host = "rules", .address = "0000:00:16.0",
	  .module = "vendor_variant", .source = VV_ALIAS_SOURCE_MODULES_ALIAS, .specificity = 4, .loser = "vfio_pci" },
	{ .label = "driver name differs from module", .host = "rules", .address = "0000:00:09.0",
	  .module = "named_vfio_pci", .driver = "named-vfio-pci", .source = VV_ALIAS_SOURCE_MODULES_ALIAS, .specificity = 4 },
	{ .label = "built-in driver found by folded name", .host = "rules", .address = "0000:00:0a.0",
	  .module = "builtin_named", .driver = "builtin-named", .source = VV_ALIAS_SOURCE_BUILTIN, .specificity = 4 },
	{ .label = "bridge is not assignable", .host = "rules", .address = "0000:00:1c.0",
	  .unassignable = VV_UNASSIGNABLE_BRIDGE },
	{ .label = "PF with VFs is not assignable", .host = "rules", .address = "0000:00:10.0",
	  .unassignable = VV_UNASSIGNABLE_PF_WITH_VFS },
	{ .label = "VF of that PF is", .host = "rules", .address = "0000:00:10.1",
	  .module = "vfio_pci", .driver = "vfio-pci", .source = VV_ALIAS_SOURCE_MODULES_ALIAS },
	{ .label = "no IOMMU group", .host = "rules", .address = "0000:00:12.0",
	  .unassignable = VV_UNASSIGNABLE_NO_IOMMU_GROUP },
	{ .label = "nothing matches without vfio_pci", .host = "no-vfio", .address = "0000:00:03.0" },
	{ .label = "demo ConnectX VF", .host = "demo", .address = "0000:01:00.2",
	  .module = "mlx5_vfio_pci", .source = VV_ALIAS_SOURCE_MODULES_ALIAS, .specificity = 4, .loser = "vfio_pci" },
	{ .label = "demo Intel GPU (xe-vfio-pci)", .host = "demo", .address = "0000:03:00.0",
	  .module = "xe_vfio_pci", .driver = "xe-vfio-pci", .source = VV_ALIAS_SOURCE_MODULES_ALIAS, .specificity = 4, .loser = "vfio_pci" },
	{ .label = "demo GH200", .host = "demo", .address = "0000:05:00.0",
	  .module = "nvgrace_gpu_vfio_pci", .source = VV_ALIAS_SOURCE_MODULES_ALIAS, .specificity = 4, .loser = "vfio_pci" },
	{ .label = "demo virtio-net", .host = "demo", .address = "0000:00:03.0",
	  .module = "virtio_vfio_pci", .driver = "virtio_vfio_pci", .source = VV_ALIAS_SOURCE_MODULES_ALIAS, .specificity = 4, .loser = "vfio_pci" },
	{ .label = "demo QAT VF, variant blacklisted", .host = "demo", .address = "0000:6b:00.1",
	  .module = "vfio_pci", .driver = "vfio-pci", .source = VV_ALIAS_SOURCE_MODULES_ALIAS, .rejected = "qat_vfio_pci" },
	{ .label = "demo I350, generic only", .host = "demo", .address = "0000:02:00.0",
	  .module = "vfio_pci", .driver = "vfio-pci", .source = VV_ALIAS_SOURCE_MODULES_ALIAS },
};

static const vv_candidate *
vv_test_find_candidate(const vv_selection *selection, const char *module, guint *index)
{
	const GPtrArray *candidates = vv_selection_get_candidates(selection);

	for (guint i = 0; i < candidates->len; i++) {
		const vv_candidate *candidate = g_ptr_array_index(candidates, i);

		if (g_str_equal(vv_candidate_get_module(candidate), module)) {
			*index = i;
			return candidate;
		}
	}
	return NULL;
}

static void
test_select_case(gconstpointer data)
{
	const vv_select_case *c = data;
	g_autoptr(vv_ctx) ctx = vv_test_open_host(c->host);
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_device) device = vv_device_new(ctx, c->address, &error);
	g_autoptr(vv_selection) selection = NULL;
	const vv_candidate *selected;
	guint index;

	g_assert_no_error(error);
	selection = vv_selection_new(ctx, device, &error);
	g_assert_no_error(error);
	selected = vv_selection_get_selected(selection);

	g_assert_cmpint(vv_selection_get_unassignable(selection), ==, c->unassignable);
	g_assert_cmpint(vv_selection_is_tie(selection), ==, c->tie);
	g_assert_nonnull(vv_selection_get_summary(selection));
	if (!c->module) {
		g_assert_null(selected);
		return;
	}
	g_assert_nonnull(selected);
	g_assert_cmpstr(vv_candidate_get_module(selected), ==, c->module);
	g_assert_cmpstr(vv_candidate_get_driver(selected), ==, c->driver);
	g_assert_cmpint(vv_candidate_get_source(selected), ==, c->source);
	g_assert_cmpuint(vv_candidate_get_specificity(selected), ==, c->specificity);
	g_assert_true(selected == g_ptr_array_index(vv_selection_get_candidates(selection), 0));
	g_assert_true(g_str_has_prefix(vv_candidate_get_verdict(selected), "Selected"));
	/* The generic driver is always last among those that can serve. */
	for (guint i = 0; i + 1 < vv_selection_get_candidates(selection)->len; i++) {
		const GPtrArray *candidates = vv_selection_get_candidates(selection);
		const vv_candidate *candidate = g_ptr_array_index(candidates, i);

		if (vv_candidate_is_generic(candidate))
			g_assert_cmpint(vv_candidate_get_rejected(g_ptr_array_index(candidates, i + 1)), !=, VV_REJECTED_NONE);
	}
	if (c->rejected) {
		const vv_candidate *rejected = vv_test_find_candidate(selection, c->rejected, &index);

		g_assert_nonnull(rejected);
		g_assert_cmpint(vv_candidate_get_rejected(rejected), ==, VV_REJECTED_BLACKLISTED);
		g_assert_true(g_str_has_prefix(vv_candidate_get_verdict(rejected), "Rejected"));
	}
	if (c->loser) {
		const vv_candidate *loser = vv_test_find_candidate(selection, c->loser, &index);

		g_assert_nonnull(loser);
		g_assert_cmpuint(index, >, 0);
		g_assert_true(g_str_has_prefix(vv_candidate_get_verdict(loser), "Not selected"));
	}
}

/* Not assignable: candidates are still listed, and none is selected. */
static void
test_select_unassignable_keeps_candidates(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_host("rules");
	g_autoptr(vv_device) device = vv_device_new(ctx, "0000:00:12.0", NULL);
	g_autoptr(vv_selection) selection = vv_selection_new(ctx, device, NULL);

	g_assert_cmpuint(vv_selection_get_candidates(selection)->len, >, 0);
	g_assert_true(g_str_has_prefix(vv_candidate_get_verdict(g_ptr_array_index(vv_selection_get_candidates(selection), 0)), "Not used"));
	g_assert_nonnull(strstr(vv_selection_get_summary(selection), "IOMMU"));
}

static void
test_select_group_blockers(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_host("rules");
	g_autoptr(vv_device) blocked = vv_device_new(ctx, "0000:02:00.0", NULL);
	g_autoptr(vv_device) with_bridge = vv_device_new(ctx, "0000:01:00.0", NULL);
	g_autoptr(vv_selection) selection = vv_selection_new(ctx, blocked, NULL);
	g_autoptr(vv_selection) viable = vv_selection_new(ctx, with_bridge, NULL);

	g_assert_false(vv_selection_is_group_viable(selection));
	g_assert_cmpuint(vv_selection_get_group_blockers(selection)->len, ==, 1);
	g_assert_cmpstr(vv_group_blocker_get_address(g_ptr_array_index(vv_selection_get_group_blockers(selection), 0)), ==, "0000:02:00.1");
	g_assert_cmpstr(vv_group_blocker_get_driver(g_ptr_array_index(vv_selection_get_group_blockers(selection), 0)), ==, "e1000e");
	/* A member on pcieport manages DMA itself: the group stays viable. */
	g_assert_cmpuint(vv_device_get_group_members(with_bridge)->len, >, 1);
	g_assert_true(vv_selection_is_group_viable(viable));
	g_assert_cmpuint(vv_selection_get_group_blockers(viable)->len, ==, 0);
}

/* The XML carries the decision with stable keywords. */
static void
test_select_xml(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_host("rules");
	g_autoptr(vv_device) device = vv_device_new(ctx, "0000:00:05.0", NULL);
	g_autoptr(vv_selection) selection = vv_selection_new(ctx, device, NULL);
	g_autofree char *xml = vv_selection_to_xml(selection, FALSE);

	g_assert_true(g_str_has_prefix(xml, "<vfio xmlns=\"" VV_XML_NAMESPACE "\""));
	g_assert_nonnull(strstr(xml, "<selected module=\"vfio_pci\" driver=\"vfio-pci\""));
	g_assert_nonnull(strstr(xml, "rejected=\"blacklisted\""));
	g_assert_nonnull(strstr(xml, "<assignable value=\"yes\"/>"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (guint i = 0; i < G_N_ELEMENTS(vv_select_cases); i++) {
		g_autofree char *path = g_strdup_printf("/select/%s", vv_select_cases[i].label);

		g_test_add_data_func(path, &vv_select_cases[i], test_select_case);
	}
	g_test_add_func("/select/unassignable-keeps-candidates", test_select_unassignable_keeps_candidates);
	g_test_add_func("/select/group-blockers", test_select_group_blockers);
	g_test_add_func("/select/xml", test_select_xml);
	return g_test_run();
}
