/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The exit status and hint of each error code of the libvirt side
 * (src/cli/vv-cli-virt-exit.c): every VV_VIRT_ERROR code has its row, and
 * the row is what README promises (2: the URI or the device name; 1: a
 * change refused or failed). The library's codes go through its own table. */
#include "cli/vv-cli-virt.h"

static const struct {
	vv_virt_error_code code;
	int status;
	gboolean hint;
} virt_exit_cases[] = {
	{ .code = VV_VIRT_ERROR_CONNECT, .status = 2 },
	{ .code = VV_VIRT_ERROR_NOT_LOCAL, .status = 2, .hint = TRUE },
	{ .code = VV_VIRT_ERROR_NO_NODEDEV, .status = 2 },
	{ .code = VV_VIRT_ERROR_VERSION, .status = 2 },
	{ .code = VV_VIRT_ERROR_DOMAINS, .status = 1 },
	{ .code = VV_VIRT_ERROR_IN_USE, .status = 1 },
	{ .code = VV_VIRT_ERROR_DETACH_REFUSED, .status = 1 },
	{ .code = VV_VIRT_ERROR_REATTACH_REFUSED, .status = 1 },
	{ .code = VV_VIRT_ERROR_UNVERIFIED, .status = 1 },
	{ .code = VV_VIRT_ERROR_MOVE_FAILED, .status = 1 },
	{ .code = VV_VIRT_ERROR_NOT_RESTORED, .status = 1 },
	{ .code = VV_VIRT_ERROR_RECORD, .status = 1 },
};

static void
test_cli_virt_exit_per_code(void)
{
	gboolean seen[VV_VIRT_ERROR_N_CODES] = { 0 };

	for (guint i = 0; i < G_N_ELEMENTS(virt_exit_cases); i++) {
		g_autoptr(GError) error = g_error_new_literal(VV_VIRT_ERROR, virt_exit_cases[i].code, "test");

		g_test_message("code %d", virt_exit_cases[i].code);
		g_assert_cmpint(vv_cli_virt_exit_status(error), ==, virt_exit_cases[i].status);
		g_assert_cmpint(vv_cli_virt_hint(error) != NULL, ==, virt_exit_cases[i].hint);
		g_assert_cmpint(virt_exit_cases[i].code, <, VV_VIRT_ERROR_N_CODES);
		g_assert_false(seen[virt_exit_cases[i].code]);
		seen[virt_exit_cases[i].code] = TRUE;
	}
	/* Every code of the enum has a row above. */
	for (guint code = 0; code < VV_VIRT_ERROR_N_CODES; code++)
		g_assert_true(seen[code]);
}

/* The library's codes keep their own table's status, and have no hint
 * here; an error of any other domain is a failure. */
static void
test_cli_virt_exit_other_domains(void)
{
	g_autoptr(GError) usage = g_error_new_literal(VV_ERROR, VV_ERROR_INVALID_ARGUMENT, "test");
	g_autoptr(GError) failed = g_error_new_literal(VV_ERROR, VV_ERROR_BIND, "test");
	g_autoptr(GError) other = g_error_new_literal(G_FILE_ERROR, G_FILE_ERROR_IO, "test");

	g_assert_cmpint(vv_cli_virt_exit_status(usage), ==, 2);
	g_assert_cmpint(vv_cli_virt_exit_status(failed), ==, 1);
	g_assert_cmpint(vv_cli_virt_exit_status(other), ==, 1);
	g_assert_null(vv_cli_virt_hint(usage));
	g_assert_null(vv_cli_virt_hint(other));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cli-virt-exit/per-code", test_cli_virt_exit_per_code);
	g_test_add_func("/cli-virt-exit/other-domains", test_cli_virt_exit_other_domains);
	return g_test_run();
}
