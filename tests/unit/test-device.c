/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The context's roots and the device model, read from sysroots laid out
 * like real sysfs (relative symlinks included). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vv-test-hosts.h"

static void
test_device_pf(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_host("demo");
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_device) pf = vv_device_new(ctx, "01:00.0", &error);
	const GPtrArray *vfs;

	g_assert_no_error(error);
	g_assert_cmpstr(vv_device_get_address(pf), ==, "0000:01:00.0");
	g_assert_cmpstr(vv_device_get_nodedev_name(pf), ==, "pci_0000_01_00_0");
	g_assert_cmphex(vv_device_get_vendor_id(pf), ==, 0x15b3);
	g_assert_cmphex(vv_device_get_device_id(pf), ==, 0x101d);
	g_assert_cmphex(vv_device_get_subsystem_vendor_id(pf), ==, 0x15b3);
	g_assert_cmphex(vv_device_get_subsystem_device_id(pf), ==, 0x0016);
	g_assert_cmphex(vv_device_get_class(pf), ==, 0x020000);
	g_assert_cmpstr(vv_device_get_modalias(pf), ==, "pci:v000015B3d0000101Dsv000015B3sd00000016bc02sc00i00");
	g_assert_cmpstr(vv_device_get_driver(pf), ==, "mlx5_core");
	g_assert_cmpstr(vv_device_get_driver_module(pf), ==, "mlx5_core");
	g_assert_null(vv_device_get_driver_override(pf));
	g_assert_false(vv_device_is_vfio_bound(pf));
	g_assert_false(vv_device_is_bridge(pf));
	g_assert_cmpint(vv_device_get_iommu_group(pf), ==, 11);
	g_assert_cmpuint(vv_device_get_sriov_numvfs(pf), ==, 2);
	g_assert_cmpuint(vv_device_get_sriov_totalvfs(pf), ==, 8);
	g_assert_null(vv_device_get_physfn(pf));
	vfs = vv_device_get_virtfns(pf);
	g_assert_cmpuint(vfs->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(vfs, 0), ==, "0000:01:00.2");
	g_assert_cmpstr(g_ptr_array_index(vfs, 1), ==, "0000:01:00.3");
}

static void
test_device_vf(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_host("demo");
	g_autoptr(vv_device) vf = vv_device_new(ctx, "pci_0000_01_00_3", NULL);

	g_assert_cmpstr(vv_device_get_physfn(vf), ==, "0000:01:00.0");
	g_assert_null(vv_device_get_driver(vf));
	g_assert_null(vv_device_get_driver_module(vf));
	g_assert_cmpint(vv_device_get_iommu_group(vf), ==, 13);
	g_assert_cmpuint(vv_device_get_group_members(vf)->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(vv_device_get_group_members(vf), 0), ==, "0000:01:00.3");
	g_assert_cmpuint(vv_device_get_sriov_totalvfs(vf), ==, 0);
	g_assert_cmpuint(vv_device_get_virtfns(vf)->len, ==, 0);
}

static void
test_device_bridge_and_vfio(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_host("rules");
	g_autoptr(vv_device) bridge = vv_device_new(ctx, "0000:00:1c.0", NULL);
	g_autoptr(vv_device) on_vfio = vv_device_new(ctx, "0000:00:15.0", NULL);

	g_assert_true(vv_device_is_bridge(bridge));
	g_assert_cmpstr(vv_device_get_driver(bridge), ==, "pcieport");
	g_assert_true(vv_device_is_vfio_bound(on_vfio));
	g_assert_cmpstr(vv_device_get_driver(on_vfio), ==, "vfio-pci");
}

static void
test_device_names(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_host("demo");
	g_autoptr(vv_device) nic = vv_device_new(ctx, "0000:02:00.0", NULL);

	/* From the sysroot's own pci.ids, not this machine's. */
	g_assert_cmpstr(vv_device_get_vendor_name(nic), ==, "Intel Corporation");
	g_assert_cmpstr(vv_device_get_product_name(nic), ==, "I350 Gigabit Network Connection");
}

static void
test_device_not_found(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_host("demo");
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_device) missing = vv_device_new(ctx, "0000:7f:00.0", &error);

	g_assert_null(missing);
	g_assert_error(error, VV_ERROR, VV_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, "0000:7f:00.0"));
	/* The fact, with the path that is missing; which command lists the
	 * devices is the CLI's to say, not the library's. */
	g_assert_nonnull(strstr(error->message, "/sys/bus/pci/devices/0000:7f:00.0"));
	g_assert_null(strstr(error->message, "vfio-variant list"));
}

static void
test_device_list_sorted(void)
{
	g_autoptr(vv_ctx) ctx = vv_test_open_host("demo");
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) devices = vv_ctx_list_devices(ctx, &error);

	g_assert_no_error(error);
	g_assert_cmpuint(devices->len, ==, 16);
	for (guint i = 1; i < devices->len; i++)
		g_assert_cmpstr(vv_device_get_address(g_ptr_array_index(devices, i - 1)), <,
				vv_device_get_address(g_ptr_array_index(devices, i)));
}

static char *
vv_test_host_path(const char *name)
{
	return g_build_filename(g_getenv("VV_TEST_HOSTS"), name, NULL);
}

/* A sysroot without proc/sys/kernel/osrelease takes its only kernel; sys
 * may itself be a symlink (a support snapshot unpacked elsewhere). */
static void
test_ctx_release_from_only_kernel(void)
{
	g_autofree char *tmp = g_dir_make_tmp("vv-test-XXXXXX", NULL);
	g_autofree char *rules = vv_test_host_path("rules");
	g_autofree char *sys_target = g_build_filename(rules, "sys", NULL);
	g_autofree char *modules_target = g_build_filename(rules, "lib/modules/6.1.0-rules", NULL);
	g_autofree char *sys_link = g_build_filename(tmp, "sys", NULL);
	g_autofree char *modules_parent = g_build_filename(tmp, "lib/modules", NULL);
	g_autofree char *modules_link = g_build_filename(modules_parent, "6.1.0-rules", NULL);
	g_autoptr(vv_ctx_options) options = vv_ctx_options_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_ctx) ctx = NULL;
	g_autoptr(GPtrArray) devices = NULL;

	g_assert_cmpint(symlink(sys_target, sys_link), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(modules_parent, 0755), ==, 0);
	g_assert_cmpint(symlink(modules_target, modules_link), ==, 0);
	vv_ctx_options_set_sysroot(options, tmp);
	ctx = vv_ctx_new(options, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(vv_ctx_get_kernel_release(ctx), ==, "6.1.0-rules");
	devices = vv_ctx_list_devices(ctx, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(devices->len, >, 10);

	g_assert_cmpint(unlink(modules_link), ==, 0);
	g_assert_cmpint(unlink(sys_link), ==, 0);
	g_assert_cmpint(g_rmdir(modules_parent), ==, 0);
	g_autofree char *lib = g_build_filename(tmp, "lib", NULL);
	g_assert_cmpint(g_rmdir(lib), ==, 0);
	g_assert_cmpint(g_rmdir(tmp), ==, 0);
}

static void
test_ctx_errors(void)
{
	g_autofree char *rules = vv_test_host_path("rules");
	g_autofree char *no_index = vv_test_host_path("rules/sys");
	g_autoptr(vv_ctx_options) options = vv_ctx_options_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_ctx) ctx = NULL;
	g_autoptr(GPtrArray) devices = NULL;
	g_autoptr(vv_selection) selection = NULL;

	vv_ctx_options_set_sysroot(options, "/nonexistent-vfio-variant-root");
	ctx = vv_ctx_new(options, &error);
	g_assert_null(ctx);
	g_assert_error(error, VV_ERROR, VV_ERROR_SYSROOT);
	g_assert_nonnull(strstr(error->message, "/nonexistent-vfio-variant-root"));
	g_clear_error(&error);

	/* --modules-dir pointing at a directory without depmod's indexes: the
	 * context opens (giving devices back needs no index), and selection,
	 * which does, says what is missing. */
	vv_ctx_options_set_sysroot(options, rules);
	vv_ctx_options_set_modules_dir(options, no_index);
	ctx = vv_ctx_new(options, &error);
	g_assert_no_error(error);
	g_assert_nonnull(ctx);
	devices = vv_ctx_list_devices(ctx, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(devices->len, >, 0);
	selection = vv_selection_new(ctx, g_ptr_array_index(devices, 0), &error);
	g_assert_null(selection);
	g_assert_error(error, VV_ERROR, VV_ERROR_MODULES);
	g_assert_nonnull(strstr(error->message, "modules.alias.bin"));
	g_assert_nonnull(strstr(error->message, "depmod"));
}

/* sriov_totalvfs and sriov_numvfs are the kernel's u16, and numvfs is at
 * most totalvfs: anything else is refused, never looped over (4294967295
 * VFs took minutes). A one-device sysroot, written per case. */
static void
test_device_sriov_range(void)
{
	static const struct {
		const char *total, *num;
		gboolean valid;
		guint expected_num;
	} cases[] = {
		{ "8", "2", TRUE, 2 },
		{ "65535", "65535", TRUE, 65535 },
		{ "0", NULL, TRUE, 0 },
		{ NULL, NULL, TRUE, 0 },
		{ "65535", "4294967295", FALSE, 0 },
		{ "4294967295", "4294967295", FALSE, 0 },
		{ "65536", "1", FALSE, 0 },
		{ "4", "5", FALSE, 0 },
		{ "4", "-1", FALSE, 0 },
		{ "4", "0x2", FALSE, 0 },
		{ "4", "", FALSE, 0 },
	};
	g_autofree char *tmp = g_dir_make_tmp("vv-test-sriov-XXXXXX", NULL);
	g_autofree char *rules = vv_test_host_path("rules");
	g_autofree char *modules_target = g_build_filename(rules, "lib/modules/6.1.0-rules", NULL);
	g_autofree char *modules_parent = g_build_filename(tmp, "lib/modules", NULL);
	g_autofree char *modules_link = g_build_filename(modules_parent, "6.1.0-rules", NULL);
	g_autofree char *dev = g_build_filename(tmp, "sys/bus/pci/devices/0000:00:01.0", NULL);
	g_autofree char *modalias = g_build_filename(dev, "modalias", NULL);
	g_autofree char *total = g_build_filename(dev, "sriov_totalvfs", NULL);
	g_autofree char *num = g_build_filename(dev, "sriov_numvfs", NULL);
	g_autoptr(vv_ctx_options) options = vv_ctx_options_new();
	g_autoptr(vv_ctx) ctx = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *command = NULL;

	g_assert_cmpint(g_mkdir_with_parents(dev, 0755), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(modules_parent, 0755), ==, 0);
	g_assert_cmpint(symlink(modules_target, modules_link), ==, 0);
	g_assert_true(g_file_set_contents(modalias, "pci:v000015B3d0000101Dsv000015B3sd00000016bc02sc00i00\n", -1, NULL));
	vv_ctx_options_set_sysroot(options, tmp);
	ctx = vv_ctx_new(options, &error);
	g_assert_no_error(error);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(vv_device) device = NULL;
		g_autofree char *total_text = g_strconcat(cases[i].total ? cases[i].total : "", "\n", NULL);
		g_autofree char *num_text = g_strconcat(cases[i].num ? cases[i].num : "", "\n", NULL);

		g_test_message("sriov_totalvfs %s, sriov_numvfs %s", cases[i].total, cases[i].num);
		g_unlink(total);
		g_unlink(num);
		if (cases[i].total)
			g_assert_true(g_file_set_contents(total, total_text, -1, NULL));
		if (cases[i].num)
			g_assert_true(g_file_set_contents(num, num_text, -1, NULL));
		device = vv_device_new(ctx, "0000:00:01.0", &error);
		if (cases[i].valid) {
			g_assert_no_error(error);
			g_assert_cmpuint(vv_device_get_sriov_numvfs(device), ==, cases[i].expected_num);
		} else {
			g_assert_null(device);
			g_assert_error(error, VV_ERROR, VV_ERROR_IO);
			g_assert_nonnull(strstr(error->message, "sriov_"));
			g_clear_error(&error);
		}
	}
	command = g_strdup_printf("rm -rf '%s'", tmp);
	g_assert_cmpint(system(command), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/device/pf", test_device_pf);
	g_test_add_func("/device/vf", test_device_vf);
	g_test_add_func("/device/bridge-and-vfio", test_device_bridge_and_vfio);
	g_test_add_func("/device/names", test_device_names);
	g_test_add_func("/device/not-found", test_device_not_found);
	g_test_add_func("/device/list-sorted", test_device_list_sorted);
	g_test_add_func("/ctx/release-from-only-kernel", test_ctx_release_from_only_kernel);
	g_test_add_func("/ctx/errors", test_ctx_errors);
	g_test_add_func("/device/sriov-range", test_device_sriov_range);
	return g_test_run();
}
