/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The test-suite guard: with VV_TESTSUITE set, no write may reach the live
 * host. Every path written here does not exist, so a broken guard fails
 * with ENOENT instead of changing anything (sysfs cannot create files).
 */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vv-private.h"

#define VV_MISSING "bus/pci/vv-test-guard-does-not-exist"

/* A context with only the roots the write path reads. */
static vv_ctx
vv_test_ctx(const char *sysroot, char **sys_dir)
{
	vv_ctx ctx = { 0 };

	*sys_dir = g_build_filename(sysroot, "sys", NULL);
	ctx.sysroot = (char *)sysroot;
	ctx.sys_dir = *sys_dir;
	return ctx;
}

static void
test_guard_live_root(void)
{
	g_autofree char *sys_dir = NULL;
	vv_ctx ctx = vv_test_ctx("/", &sys_dir);
	g_autofree char *path = g_build_filename(sys_dir, VV_MISSING, NULL);
	g_autoptr(GError) error = NULL;

	g_assert_false(vv_sysfs_write(&ctx, path, "0000:00:00.0", &error));
	g_assert_error(error, VV_ERROR, VV_ERROR_LIVE_HOST);
	g_assert_nonnull(strstr(error->message, "VV_TESTSUITE"));
	g_clear_error(&error);
	g_assert_false(vv_module_load(&ctx, "vfio_pci", "0000:00:00.0", &error));
	g_assert_error(error, VV_ERROR, VV_ERROR_LIVE_HOST);
}

/* A sysroot that is a link to "/", and one whose sys is a link to /sys. */
static void
test_guard_links(void)
{
	g_autofree char *dir = g_dir_make_tmp("vv-test-guard-XXXXXX", NULL);
	g_autofree char *to_root = g_build_filename(dir, "root", NULL);
	g_autofree char *host = g_build_filename(dir, "host", NULL);
	g_autofree char *host_sys = g_build_filename(host, "sys", NULL);
	g_autofree char *sys_a = NULL, *sys_b = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(symlink("/", to_root), ==, 0);
	g_assert_cmpint(g_mkdir(host, 0755), ==, 0);
	g_assert_cmpint(symlink("/sys", host_sys), ==, 0);

	{
		vv_ctx ctx = vv_test_ctx(to_root, &sys_a);
		g_autofree char *path = g_build_filename(sys_a, VV_MISSING, NULL);

		g_assert_false(vv_sysfs_write(&ctx, path, "x", &error));
		g_assert_error(error, VV_ERROR, VV_ERROR_LIVE_HOST);
		g_clear_error(&error);
	}
	{
		vv_ctx ctx = vv_test_ctx(host, &sys_b);
		g_autofree char *path = g_build_filename(sys_b, VV_MISSING, NULL);

		g_assert_false(vv_sysfs_write(&ctx, path, "x", &error));
		g_assert_error(error, VV_ERROR, VV_ERROR_LIVE_HOST);
	}
	g_unlink(host_sys);
	g_rmdir(host);
	g_unlink(to_root);
	g_rmdir(dir);
}

/* A sysroot of plain files is written, once, whole. */
static void
test_guard_sysroot_written(void)
{
	g_autofree char *dir = g_dir_make_tmp("vv-test-guard-XXXXXX", NULL);
	g_autofree char *sys_dir = NULL;
	vv_ctx ctx = vv_test_ctx(dir, &sys_dir);
	g_autofree char *file = g_build_filename(sys_dir, "drivers_probe", NULL);
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(g_mkdir(sys_dir, 0755), ==, 0);
	g_assert_true(g_file_set_contents(file, "", 0, NULL));
	g_assert_true(vv_sysfs_write(&ctx, file, "0000:00:01.0", &error));
	g_assert_no_error(error);
	g_assert_true(g_file_get_contents(file, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "0000:00:01.0");
	/* Missing attribute: an error naming it, nothing created. */
	g_assert_false(vv_sysfs_write(&ctx, "/nonexistent-vv-dir/file", "x", &error));
	g_assert_error(error, VV_ERROR, VV_ERROR_IO);
	g_unlink(file);
	g_rmdir(sys_dir);
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_setenv("VV_TESTSUITE", "1", TRUE);
	g_test_add_func("/guard/live-root", test_guard_live_root);
	g_test_add_func("/guard/links-to-live-host", test_guard_links);
	g_test_add_func("/guard/sysroot-written", test_guard_sysroot_written);
	return g_test_run();
}
