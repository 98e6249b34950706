/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the binding engine's case programs (vv-adopt-case.c, test-engine.c)
 * share: each runs one case under the simulated kernel on ROOT, a fresh
 * copy of the bind host (tests/bind/run-cases.sh), counts what did not
 * hold and exits 1 if anything did not.
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>

#include <vfio-variant/vfio-variant.h>

static const char *root;
static int failures;
static unsigned int case_step; /* the step of a case that is checked, 0: none */

#define EXPECT(cond, ...) \
	do { \
		if (!(cond)) { \
			failures++; \
			if (case_step) \
				printf("step %u: ", case_step); \
			else \
				printf("line %d: ", __LINE__); \
			printf(__VA_ARGS__); \
			printf("\n"); \
		} \
	} while (0)

/* ROOT/sys/bus/pci/devices/ADDRESS/FILE */
static G_GNUC_UNUSED char *
sys_path(const char *address, const char *file)
{
	return g_build_filename(root, "sys/bus/pci/devices", address, file, NULL);
}

/* The driver ADDRESS is on, "" when none. */
static G_GNUC_UNUSED char *
driver_of(const char *address)
{
	g_autofree char *link = sys_path(address, "driver");
	g_autofree char *target = g_file_read_link(link, NULL);

	return target ? g_path_get_basename(target) : g_strdup("");
}

/* A context on ROOT, as each command opens one. */
static G_GNUC_UNUSED vv_ctx *
open_ctx(void)
{
	g_autoptr(vv_ctx_options) options = vv_ctx_options_new();
	g_autoptr(GError) error = NULL;
	vv_ctx *ctx;

	vv_ctx_options_set_sysroot(options, root);
	if (!(ctx = vv_ctx_new(options, &error))) {
		printf("cannot open %s: %s\n", root, error->message);
		exit(1);
	}
	return ctx;
}
