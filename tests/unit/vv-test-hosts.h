/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Opening the fixture hosts that the build makes from tests/hosts/NAME.toml. */
#pragma once

#include <vfio-variant/vfio-variant.h>

/* A context on build/tests/NAME (VV_TEST_HOSTS names the directory). */
static inline vv_ctx *
vv_test_open_host(const char *name)
{
	const char *hosts = g_getenv("VV_TEST_HOSTS");
	g_autofree char *root = g_build_filename(hosts ? hosts : ".", name, NULL);
	g_autoptr(vv_ctx_options) options = vv_ctx_options_new();
	g_autoptr(GError) error = NULL;
	vv_ctx *ctx;

	vv_ctx_options_set_sysroot(options, root);
	ctx = vv_ctx_new(options, &error);
	g_assert_no_error(error);
	return ctx;
}
