/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hook's words per error code (src/hook/vv-hook-hint.c): every code is
 * decided here, the codes with a remedy have a hint that names it, and no
 * hint names an option (libvirt runs the hook with none). */
#include <string.h>

#include "hook/vv-hook.h"

/* The last code of vv_error_code, as in test-cli-exit.c. */
#define VV_TEST_LAST_CODE VV_ERROR_DECLARED

static const struct {
	vv_error_code code;
	/* What the hint must contain; NULL: the code has no hint. */
	const char *hint_names;
} hint_cases[] = {
	{ .code = VV_ERROR_INVALID_ARGUMENT },
	{ .code = VV_ERROR_NOT_FOUND },
	{ .code = VV_ERROR_IO },
	{ .code = VV_ERROR_MODULES, .hint_names = "depmod" },
	{ .code = VV_ERROR_NOT_ASSIGNABLE },
	{ .code = VV_ERROR_IN_USE, .hint_names = "another device" },
	{ .code = VV_ERROR_BUSY, .hint_names = "start the domain again" },
	{ .code = VV_ERROR_BIND },
	{ .code = VV_ERROR_MODULE_LOAD },
	{ .code = VV_ERROR_LIVE_HOST },
	{ .code = VV_ERROR_NEEDS_RECOVERY, .hint_names = "vfio-variant recover" },
	{ .code = VV_ERROR_DETACHED, .hint_names = "vfio-variant reattach" },
	{ .code = VV_ERROR_ASSIGNED, .hint_names = "stop that domain" },
	{ .code = VV_ERROR_BLACKLISTED, .hint_names = "<driver model>" },
	{ .code = VV_ERROR_NO_PCI_DRIVER, .hint_names = "policy file" },
	{ .code = VV_ERROR_SYSROOT },
	{ .code = VV_ERROR_RECORD, .hint_names = "record aside" },
	{ .code = VV_ERROR_NOT_DETACHED },
	{ .code = VV_ERROR_GONE },
	{ .code = VV_ERROR_DECLARED, .hint_names = "vfio-variant undeclare" },
};

static void
test_hook_hint_per_code(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(hint_cases); i++) {
		g_autoptr(GError) error = g_error_new_literal(VV_ERROR, hint_cases[i].code, "test");
		const char *hint = vv_hook_hint(error);

		g_test_message("code %d", hint_cases[i].code);
		if (!hint_cases[i].hint_names) {
			g_assert_null(hint);
			continue;
		}
		g_assert_nonnull(hint);
		g_assert_nonnull(strstr(hint, hint_cases[i].hint_names));
		g_assert_null(strstr(hint, "--"));
	}
}

static void
test_hook_hint_every_code(void)
{
	for (int code = 0; code <= VV_TEST_LAST_CODE; code++) {
		guint rows = 0;

		for (guint i = 0; i < G_N_ELEMENTS(hint_cases); i++)
			rows += (int)hint_cases[i].code == code;
		g_test_message("code %d", code);
		g_assert_cmpuint(rows, ==, 1);
	}
}

static void
test_hook_hint_unknown(void)
{
	g_autoptr(GError) other = g_error_new_literal(G_FILE_ERROR, G_FILE_ERROR_IO, "test");
	g_autoptr(GError) newer = g_error_new_literal(VV_ERROR, VV_TEST_LAST_CODE + 1, "test");

	g_assert_null(vv_hook_hint(other));
	g_assert_null(vv_hook_hint(newer));
	g_assert_null(vv_hook_hint(NULL));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/hook-hint/per-code", test_hook_hint_per_code);
	g_test_add_func("/hook-hint/every-code", test_hook_hint_every_code);
	g_test_add_func("/hook-hint/unknown", test_hook_hint_unknown);
	return g_test_run();
}
