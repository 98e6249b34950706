/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where a front end reads the host: the CLI's global options and the
 * hook's are the same four roots, given to the library through its public
 * context options (src/shared: what the tools share, kmod's shared/).
 */
#pragma once

#include <vfio-variant/vfio-variant.h>

/* Each NULL: the library's default (the live host). The strings are
 * borrowed: they must outlive the struct. */
typedef struct {
	const char *sysroot;
	const char *modules_dir;
	const char *state_dir;
	const char *config_file;
} vv_roots;

/* A context on ROOTS (vv_ctx_new()'s errors). Transfer full. */
vv_ctx *vv_roots_open(const vv_roots *roots, GError **error);
