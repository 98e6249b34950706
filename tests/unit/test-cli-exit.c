/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CLI's exit status and hint per error domain and code
 * (src/cli/vv-cli-exit.c, one table for VV_ERROR and, built with libvirt,
 * VV_VIRT_ERROR): every code has exactly one row, the status is what
 * README promises, and the codes whose remedy is one of the CLI's options
 * or commands have a hint that names it (the library's messages no longer
 * do). The codes a CLI case can reach are run too, in
 * tests/records/test-records.sh. */
#include <string.h>

#include "cli/vv-cli.h"
#if VV_CLI_WITH_LIBVIRT
#include "virt/vv-virt.h"
#endif

/* The last code of vv_error_code: a code appended after it fails the
 * "every code" test below until it has a row here. */
#define VV_TEST_LAST_CODE VV_ERROR_DECLARED

static const struct {
	vv_error_code code;
	int status;
	/* What the hint must contain; NULL: the code has no hint. */
	const char *hint_names;
	/* The hint names the device it was given. */
	gboolean names_device;
} exit_cases[] = {
	/* Input the user must fix. */
	{ .code = VV_ERROR_INVALID_ARGUMENT, .status = 2 },
	{ .code = VV_ERROR_NOT_FOUND, .status = 2 },
	{ .code = VV_ERROR_MODULES, .status = 2, .hint_names = "--modules-dir" },
	{ .code = VV_ERROR_SYSROOT, .status = 2, .hint_names = "--sysroot" },
	/* A change that failed or was refused. */
	{ .code = VV_ERROR_IO, .status = 1 },
	{ .code = VV_ERROR_NOT_ASSIGNABLE, .status = 1 },
	{ .code = VV_ERROR_IN_USE, .status = 1, .hint_names = "--force", .names_device = TRUE },
	{ .code = VV_ERROR_BUSY, .status = 1, .hint_names = "--timeout" },
	{ .code = VV_ERROR_BIND, .status = 1 },
	{ .code = VV_ERROR_MODULE_LOAD, .status = 1 },
	{ .code = VV_ERROR_LIVE_HOST, .status = 1, .hint_names = "--sysroot" },
	{ .code = VV_ERROR_NEEDS_RECOVERY, .status = 1, .hint_names = "vfio-variant recover ", .names_device = TRUE },
	{ .code = VV_ERROR_DETACHED, .status = 1, .hint_names = "vfio-variant reattach ", .names_device = TRUE },
	{ .code = VV_ERROR_ASSIGNED, .status = 1, .hint_names = "--force", .names_device = TRUE },
	{ .code = VV_ERROR_BLACKLISTED, .status = 1, .hint_names = "--driver" },
	{ .code = VV_ERROR_NO_PCI_DRIVER, .status = 1, .hint_names = "--driver" },
	{ .code = VV_ERROR_RECORD, .status = 1, .hint_names = "vfio-variant reattach ", .names_device = TRUE },
	{ .code = VV_ERROR_NOT_DETACHED, .status = 1 },
	{ .code = VV_ERROR_GONE, .status = 1, .hint_names = "reattach --force ", .names_device = TRUE },
	{ .code = VV_ERROR_DECLARED, .status = 1, .hint_names = "vfio-variant undeclare ", .names_device = TRUE },
};

static void
test_cli_exit_per_code(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(exit_cases); i++) {
		g_autoptr(GError) error = g_error_new_literal(VV_ERROR, exit_cases[i].code, "test");
		g_autofree char *hint = vv_cli_hint(error, "0000:03:00.1");
		g_autofree char *unnamed = vv_cli_hint(error, NULL);

		g_test_message("code %d", exit_cases[i].code);
		g_assert_cmpuint(vv_cli_exit_rows(error), ==, 1);
		g_assert_cmpint(vv_cli_exit_status(error), ==, exit_cases[i].status);
		if (!exit_cases[i].hint_names) {
			g_assert_null(hint);
			continue;
		}
		g_assert_nonnull(hint);
		g_assert_nonnull(strstr(hint, exit_cases[i].hint_names));
		/* Never a printf directive left over, named device or not. */
		g_assert_null(strchr(hint, '%'));
		g_assert_null(strchr(unnamed, '%'));
		g_assert_true((strstr(hint, "0000:03:00.1") != NULL) == exit_cases[i].names_device);
	}
}

/* Every code of the enum has exactly one case above, so every code has
 * been checked against the CLI's table. */
static void
test_cli_exit_every_code(void)
{
	for (int code = 0; code <= VV_TEST_LAST_CODE; code++) {
		guint rows = 0;

		for (guint i = 0; i < G_N_ELEMENTS(exit_cases); i++)
			rows += (int)exit_cases[i].code == code;
		g_test_message("code %d", code);
		g_assert_cmpuint(rows, ==, 1);
	}
	g_assert_cmpuint(G_N_ELEMENTS(exit_cases), ==, VV_TEST_LAST_CODE + 1);
}

/* A code beyond the table (a newer library than the CLI) and an error of
 * another domain: a failure, without a hint. */
static void
test_cli_exit_unknown(void)
{
	g_autoptr(GError) other = g_error_new_literal(G_FILE_ERROR, G_FILE_ERROR_IO, "test");
	g_autoptr(GError) newer = g_error_new_literal(VV_ERROR, VV_TEST_LAST_CODE + 1, "test");
	g_autoptr(GError) negative = g_error_new_literal(VV_ERROR, -1, "test");

	g_assert_cmpuint(vv_cli_exit_rows(other), ==, 0);
	g_assert_cmpuint(vv_cli_exit_rows(newer), ==, 0);
	g_assert_cmpint(vv_cli_exit_status(other), ==, 1);
	g_assert_null(vv_cli_hint(other, "0000:03:00.1"));
	g_assert_cmpint(vv_cli_exit_status(newer), ==, 1);
	g_assert_null(vv_cli_hint(newer, "0000:03:00.1"));
	g_assert_cmpint(vv_cli_exit_status(negative), ==, 1);
	g_assert_null(vv_cli_hint(negative, NULL));
}

/* Status 3 (the choice unknown, the rest shown) only for the host's own
 * module directory without an index; a --modules-dir is the user's input. */
static void
test_cli_exit_choice_unknown(void)
{
	static const struct {
		GQuark domain;
		int code;
		const char *modules_dir;
		gboolean unknown;
	} cases[] = {
		{ .code = VV_ERROR_MODULES, .unknown = TRUE },
		{ .code = VV_ERROR_MODULES, .modules_dir = "/somewhere" },
		{ .code = VV_ERROR_NOT_FOUND },
		{ .code = VV_ERROR_IO },
		{ .code = VV_ERROR_SYSROOT },
		{ .domain = 1, .code = VV_ERROR_MODULES }, /* another domain */
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		vv_cli_globals globals = { .modules_dir = cases[i].modules_dir };
		g_autoptr(GError) error = g_error_new_literal(cases[i].domain ? G_FILE_ERROR : VV_ERROR, cases[i].code, "x");

		g_test_message("case %u", i);
		g_assert_cmpint(vv_cli_choice_unknown(&globals, error), ==, cases[i].unknown);
	}
	g_assert_cmpint(VV_CLI_EXIT_UNKNOWN, ==, 3);
}
#if VV_CLI_WITH_LIBVIRT
/* The libvirt side's codes: 2 for the URI or the device name, 1 for a
 * change refused or failed; the one hint (NOT_LOCAL) names no device. */
static const struct {
	vv_virt_error_code code;
	int status;
	const char *hint_names;
} virt_exit_cases[] = {
	{ .code = VV_VIRT_ERROR_CONNECT, .status = 2 },
	{ .code = VV_VIRT_ERROR_NOT_LOCAL, .status = 2, .hint_names = "qemu:///system" },
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
test_cli_exit_virt_per_code(void)
{
	gboolean seen[VV_VIRT_ERROR_N_CODES] = { 0 };

	for (guint i = 0; i < G_N_ELEMENTS(virt_exit_cases); i++) {
		g_autoptr(GError) error = g_error_new_literal(VV_VIRT_ERROR, virt_exit_cases[i].code, "test");
		g_autofree char *hint = vv_cli_hint(error, "0000:03:00.1");

		g_test_message("virt code %d", virt_exit_cases[i].code);
		g_assert_cmpuint(vv_cli_exit_rows(error), ==, 1);
		g_assert_cmpint(vv_cli_exit_status(error), ==, virt_exit_cases[i].status);
		if (virt_exit_cases[i].hint_names) {
			g_assert_nonnull(hint);
			g_assert_nonnull(strstr(hint, virt_exit_cases[i].hint_names));
			g_assert_null(strchr(hint, '%'));
		} else {
			g_assert_null(hint);
		}
		g_assert_cmpint(virt_exit_cases[i].code, <, VV_VIRT_ERROR_N_CODES);
		g_assert_false(seen[virt_exit_cases[i].code]);
		seen[virt_exit_cases[i].code] = TRUE;
	}
	/* Every code of the enum has a case above. */
	for (guint code = 0; code < VV_VIRT_ERROR_N_CODES; code++)
		g_assert_true(seen[code]);
	/* One past the last: no row, a failure without a hint. */
	{
		g_autoptr(GError) newer = g_error_new_literal(VV_VIRT_ERROR, VV_VIRT_ERROR_N_CODES, "test");

		g_assert_cmpuint(vv_cli_exit_rows(newer), ==, 0);
		g_assert_cmpint(vv_cli_exit_status(newer), ==, 1);
		g_assert_null(vv_cli_hint(newer, NULL));
	}
}
#endif

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cli-exit/per-code", test_cli_exit_per_code);
	g_test_add_func("/cli-exit/every-code", test_cli_exit_every_code);
	g_test_add_func("/cli-exit/unknown", test_cli_exit_unknown);
	g_test_add_func("/cli-exit/choice-unknown", test_cli_exit_choice_unknown);
#if VV_CLI_WITH_LIBVIRT
	g_test_add_func("/cli-exit/virt-per-code", test_cli_exit_virt_per_code);
#endif
	return g_test_run();
}
