/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The roots a front end was given, as a library context. */
#include "vv-roots.h"

vv_ctx *
vv_roots_open(const vv_roots *roots, GError **error)
{
	g_autoptr(vv_ctx_options) options = vv_ctx_options_new();

	if (roots->sysroot)
		vv_ctx_options_set_sysroot(options, roots->sysroot);
	if (roots->modules_dir)
		vv_ctx_options_set_modules_dir(options, roots->modules_dir);
	if (roots->state_dir)
		vv_ctx_options_set_state_dir(options, roots->state_dir);
	if (roots->config_file)
		vv_ctx_options_set_config_file(options, roots->config_file);
	return vv_ctx_new(options, error);
}
