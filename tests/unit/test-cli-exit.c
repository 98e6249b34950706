/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CLI's exit status per error code (src/cli/vv-cli-exit.c): every
 * code has its row, and the row is what README promises. The codes a CLI
 * case can reach are run too, in tests/records/test-records.sh. */
#include <string.h>

#include "cli/vv-cli.h"

static const struct {
	vv_error_code code;
	int status;
} exit_cases[] = {
	/* Input the user must fix. */
	{ VV_ERROR_INVALID_ARGUMENT, 2 },
	{ VV_ERROR_NOT_FOUND, 2 },
	{ VV_ERROR_MODULES, 2 },
	/* A change that failed or was refused. */
	{ VV_ERROR_IO, 1 },
	{ VV_ERROR_NOT_ASSIGNABLE, 1 },
	{ VV_ERROR_IN_USE, 1 },
	{ VV_ERROR_BUSY, 1 },
	{ VV_ERROR_BIND, 1 },
	{ VV_ERROR_MODULE_LOAD, 1 },
	{ VV_ERROR_LIVE_HOST, 1 },
	{ VV_ERROR_DETACHED, 1 },
	{ VV_ERROR_NOT_DETACHED, 1 },
	{ VV_ERROR_CUT_SHORT, 1 },
	{ VV_ERROR_ASSIGNED, 1 },
	{ VV_ERROR_GONE, 1 },
	{ VV_ERROR_BLACKLISTED, 1 },
};

/* The CLI's advice per code: the library's message names no option or
 * command, so the CLI's hint must name the one that helps. */
static const struct {
	vv_error_code code;
	const char *names;
} hint_cases[] = {
	{ .code = VV_ERROR_IN_USE, .names = "--force" },
	{ .code = VV_ERROR_ASSIGNED, .names = "reattach with --force" },
	{ .code = VV_ERROR_GONE, .names = "--force" },
	{ .code = VV_ERROR_DETACHED, .names = "vfio-variant reattach" },
	{ .code = VV_ERROR_NOT_DETACHED, .names = "Detach" },
	{ .code = VV_ERROR_CUT_SHORT, .names = "vfio-variant recover" },
	{ .code = VV_ERROR_BLACKLISTED, .names = "--driver or --generic" },
	{ .code = VV_ERROR_MODULES, .names = "--modules-dir" },
	{ .code = VV_ERROR_BIND, .names = NULL },
	{ .code = VV_ERROR_IO, .names = NULL },
};

static void
test_cli_exit_per_code(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(exit_cases); i++) {
		g_autoptr(GError) error = g_error_new_literal(VV_ERROR, exit_cases[i].code, "test");

		g_test_message("code %d", exit_cases[i].code);
		g_assert_cmpint(vv_cli_exit_status(error), ==, exit_cases[i].status);
	}
	/* Every code of the enum is in the table above (the last one ends it). */
	g_assert_cmpint(G_N_ELEMENTS(exit_cases), ==, VV_ERROR_BLACKLISTED + 1);
}

static void
test_cli_exit_hint(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(hint_cases); i++) {
		g_autoptr(GError) error = g_error_new_literal(VV_ERROR, hint_cases[i].code, "test");
		const char *hint = vv_cli_error_hint(error);

		g_test_message("code %d: %s", hint_cases[i].code, hint ? hint : "(none)");
		if (hint_cases[i].names)
			g_assert_true(hint && strstr(hint, hint_cases[i].names));
		else
			g_assert_null(hint);
	}
}

static void
test_cli_exit_other_domain(void)
{
	g_autoptr(GError) error = g_error_new_literal(G_FILE_ERROR, G_FILE_ERROR_IO, "test");

	g_assert_cmpint(vv_cli_exit_status(error), ==, 1);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cli-exit/per-code", test_cli_exit_per_code);
	g_test_add_func("/cli-exit/other-domain", test_cli_exit_other_domain);
	g_test_add_func("/cli-exit/hint", test_cli_exit_hint);
	return g_test_run();
}
