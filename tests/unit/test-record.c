/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state directory and the per-device record: where it lives, what it
 * keeps, and what a reader makes of a damaged one. */
#include <string.h>

#include <glib/gstdio.h>

#include "vv-private.h"
#include "vv-test-hosts.h"

/* The demo host is only read; records go to STATE_DIR (NULL: default). */
static vv_ctx *
vv_test_open_with_state(const char *state_dir)
{
	const char *hosts = g_getenv("VV_TEST_HOSTS");
	g_autofree char *root = g_build_filename(hosts ? hosts : ".", "demo", NULL);
	g_autoptr(vv_ctx_options) options = vv_ctx_options_new();
	g_autoptr(GError) error = NULL;
	vv_ctx *ctx;

	vv_ctx_options_set_sysroot(options, root);
	if (state_dir)
		vv_ctx_options_set_state_dir(options, state_dir);
	ctx = vv_ctx_new(options, &error);
	g_assert_no_error(error);
	return ctx;
}

static void
test_record_state_dir_default(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_with_state(NULL);
	g_autofree char *expected = g_build_filename(vv_ctx_get_sysroot(ctx), "run/vfio-variant", NULL);

	/* Under the sysroot, never the live host's /run, for a sysroot. */
	g_assert_cmpstr(vv_ctx_get_state_dir(ctx), ==, expected);
}

static void
test_record_round_trip(void)
{
	g_autofree char *dir = g_dir_make_tmp("vv-test-record-XXXXXX", NULL);
	g_autoptr(vv_ctx) ctx = vv_test_open_with_state(dir);
	g_autoptr(vv_record) record = vv_record_new("0000:03:00.0");
	g_autoptr(vv_record) back = NULL;
	g_autoptr(GPtrArray) all = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *devices = g_build_filename(dir, "devices", NULL);
	g_autofree char *stray = g_build_filename(devices, "0000:03:00.0.conf.XYZ123", NULL);

	g_assert_cmpstr(vv_ctx_get_state_dir(ctx), ==, dir);
	record->original_driver = g_strdup("xe");
	record->original_module = g_strdup("xe");
	/* original_override stays NULL: absent, not "" */
	record->driver = g_strdup("xe-vfio-pci");
	record->module = g_strdup("xe_vfio_pci");
	record->fallback = TRUE;
	record->time = g_strdup("2026-11-21T12:00:00Z");
	record->requester = VV_REQUESTER_HOOK;
	record->operation = g_strdup("detach");
	record->step = g_strdup("unbound");
	g_assert_true(vv_record_save(ctx, record, &error));
	g_assert_no_error(error);
	/* A temporary file of an interrupted save is not a record. */
	g_assert_true(g_file_set_contents(stray, "junk", -1, NULL));

	back = vv_record_load(ctx, "pci_0000_03_00_0", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(vv_record_get_address(back), ==, "0000:03:00.0");
	g_assert_cmpstr(vv_record_get_original_driver(back), ==, "xe");
	g_assert_cmpstr(vv_record_get_original_module(back), ==, "xe");
	g_assert_null(vv_record_get_original_override(back));
	g_assert_cmpstr(vv_record_get_driver(back), ==, "xe-vfio-pci");
	g_assert_cmpstr(vv_record_get_module(back), ==, "xe_vfio_pci");
	g_assert_true(vv_record_is_fallback(back));
	g_assert_cmpstr(vv_record_get_time(back), ==, "2026-11-21T12:00:00Z");
	g_assert_cmpint(vv_record_get_requester(back), ==, VV_REQUESTER_HOOK);
	g_assert_cmpstr(vv_record_get_operation(back), ==, "detach");
	g_assert_cmpstr(vv_record_get_step(back), ==, "unbound");
	g_assert_false(vv_record_is_complete(back));

	all = vv_ctx_list_records(ctx, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(all->len, ==, 1);

	g_assert_true(vv_record_remove(ctx, "0000:03:00.0", &error));
	g_assert_null(vv_record_load(ctx, "0000:03:00.0", &error));
	g_assert_error(error, VV_ERROR, VV_ERROR_NOT_FOUND);
	g_unlink(stray);
	g_rmdir(devices);
	g_rmdir(dir);
}

/* A record without its journal cannot be settled: say so, and how. */
static void
test_record_without_journal(void)
{
	g_autofree char *dir = g_dir_make_tmp("vv-test-record-XXXXXX", NULL);
	g_autoptr(vv_ctx) ctx = vv_test_open_with_state(dir);
	g_autofree char *devices = g_build_filename(dir, "devices", NULL);
	g_autofree char *path = g_build_filename(devices, "0000:03:00.0.conf", NULL);
	g_autoptr(vv_record) record = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(g_mkdir_with_parents(devices, 0755), ==, 0);
	g_assert_true(g_file_set_contents(path, "[device]\noriginal-driver=xe\n", -1, NULL));
	record = vv_record_load(ctx, "0000:03:00.0", &error);
	g_assert_null(record);
	g_assert_error(error, VV_ERROR, VV_ERROR_IO);
	g_assert_nonnull(strstr(error->message, "vfio-variant reattach 0000:03:00.0"));
	g_unlink(path);
	g_rmdir(devices);
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/record/state-dir-default", test_record_state_dir_default);
	g_test_add_func("/record/round-trip", test_record_round_trip);
	g_test_add_func("/record/without-journal", test_record_without_journal);
	return g_test_run();
}
