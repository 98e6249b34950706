/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Alias patterns: specificity, field order, and fnmatch matching. */
#include <string.h>

#include "vv-private.h"

typedef struct {
	const char *label;
	const char *pattern;
	gboolean valid;
	guint specificity;
	guint exact_fields;
} vv_rank_case;

static const vv_rank_case vv_rank_cases[] = {
	{ "generic", "vfio_pci:v*d*sv*sd*bc*sc*i*", TRUE, 0, 0 },
	{ "vendor and device", "vfio_pci:v000015B3d0000101Esv*sd*bc*sc*i*", TRUE, 4, 2 },
	{ "with subsystem", "vfio_pci:v0000ABCDd00000008sv0000ABCDsd00000001bc*sc*i*", TRUE, 8, 4 },
	{ "modpost trailing star after interface", "vfio_pci:v0000ABCDd00000001sv*sd*bc02sc00i00*", TRUE, 10, 5 },
	{ "class glob", "vfio_pci:v0000ABCDd*sv*sd*bc03sc*i*", TRUE, 4, 2 },
	{ "partial device glob", "vfio_pci:v000015B3d0000101*sv*sd*bc*sc*i*", TRUE, 3, 1 },
	{ "bracket glob", "vfio_pci:v000015B3d0000101[EF]sv*sd*bc*sc*i*", TRUE, 3, 1 },
	{ "hand-written short", "vfio_pci:v0000ABCDd00000004*", TRUE, 4, 2 },
	{ "hand-written vendor only", "vfio_pci:v000015B3*", TRUE, 2, 1 },
	{ "everything", "vfio_pci:*", TRUE, 0, 0 },
	{ "fully given", "vfio_pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00", TRUE, 14, 7 },
	{ "unknown tag", "vfio_pci:v*x*", FALSE, 0, 0 },
	{ "fields out of order", "vfio_pci:d*v*", FALSE, 0, 0 },
	{ "no prefix colon", "vfio_pci", FALSE, 0, 0 },
};

static void
test_rank_case(gconstpointer data)
{
	const vv_rank_case *c = data;
	vv_alias_rank rank;

	g_assert_cmpint(vv_alias_rank_pattern(c->pattern, &rank), ==, c->valid);
	g_assert_cmpuint(rank.specificity, ==, c->specificity);
	g_assert_cmpuint(rank.exact_fields, ==, c->exact_fields);
}

typedef struct {
	const char *label;
	const char *pattern;
	const char *key;
	gboolean matches;
} vv_match_case;

#define VV_KEY_E1000E "vfio_pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00"

static const vv_match_case vv_match_cases[] = {
	{ "generic", "vfio_pci:v*d*sv*sd*bc*sc*i*", VV_KEY_E1000E, TRUE },
	{ "interface with trailing star", "vfio_pci:v00008086d000010D3sv*sd*bc02sc00i00*", VV_KEY_E1000E, TRUE },
	{ "class glob", "vfio_pci:v00008086d*sv*sd*bc02sc*i*", VV_KEY_E1000E, TRUE },
	{ "other class", "vfio_pci:v00008086d*sv*sd*bc03sc*i*", VV_KEY_E1000E, FALSE },
	{ "other device", "vfio_pci:v00008086d000010D4sv*sd*bc*sc*i*", VV_KEY_E1000E, FALSE },
	/* fnmatch is case-sensitive, as in libkmod: ids are upper case. */
	{ "lower-case pattern", "vfio_pci:v00008086d000010d3sv*sd*bc*sc*i*", VV_KEY_E1000E, FALSE },
	{ "plain pci alias never", "pci:v00008086d000010D3sv*sd*bc*sc*i*", VV_KEY_E1000E, FALSE },
};

static void
test_match_case(gconstpointer data)
{
	const vv_match_case *c = data;

	g_assert_cmpint(vv_alias_matches(c->pattern, c->key), ==, c->matches);
}

/* Equal totals: the field given earlier (vendor, device) wins. */
static void
test_rank_field_order(void)
{
	vv_alias_rank device_exact, class_exact;

	vv_alias_rank_pattern("vfio_pci:v0000ABCDd00000007sv*sd*bc*sc*i*", &device_exact);
	vv_alias_rank_pattern("vfio_pci:v*d*sv*sd*bc02sc00i*", &class_exact);
	g_assert_cmpuint(device_exact.specificity, ==, class_exact.specificity);
	g_assert_cmpint(vv_alias_rank_compare(&device_exact, &class_exact), <, 0);
	g_assert_cmpint(vv_alias_rank_compare(&class_exact, &device_exact), >, 0);
	g_assert_cmpint(vv_alias_rank_compare(&device_exact, &device_exact), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (guint i = 0; i < G_N_ELEMENTS(vv_rank_cases); i++) {
		g_autofree char *path = g_strdup_printf("/alias/rank/%s", vv_rank_cases[i].label);

		g_test_add_data_func(path, &vv_rank_cases[i], test_rank_case);
	}
	for (guint i = 0; i < G_N_ELEMENTS(vv_match_cases); i++) {
		g_autofree char *path = g_strdup_printf("/alias/match/%s", vv_match_cases[i].label);

		g_test_add_data_func(path, &vv_match_cases[i], test_match_case);
	}
	g_test_add_func("/alias/rank/field-order", test_rank_field_order);
	return g_test_run();
}
