/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the CLI's commands share. The CLI uses only the public API. */
#pragma once

#include <glib/gi18n.h>
#include <vfio-variant/vfio-variant.h>

#include "vv-roots.h"

/* Exit status: a driver was selected / nothing can be selected / bad usage
 * or input. */
enum {
	VV_CLI_EXIT_OK = 0,
	VV_CLI_EXIT_NONE = 1,
	VV_CLI_EXIT_USAGE = 2,
};
/* detach, reattach, recover: 0 done, 1 refused or failed, 2 bad usage or input. */
enum { VV_CLI_EXIT_FAILED = 1 };

/* The global options --sysroot, --modules-dir, --state-dir, --config: the
 * roots the hook is given too (src/shared/vv-roots.h). */
typedef vv_roots vv_cli_globals;

/* Print ERROR, then its code's hint (about DEVICE, when the command has
 * one), and free it; returns the exit status. */
int vv_cli_error(GError *error);
int vv_cli_error_device(GError *error, const char *device);
/* vv-cli-exit.c, one table by error domain (VV_ERROR, and VV_VIRT_ERROR
 * when built with libvirt) and code: the exit status for ERROR (1 failed or
 * refused, 2 the user's input), and the hint that says which option or
 * command helps, about DEVICE (NULL: none named), or NULL. Transfer full.
 * vv_cli_exit_rows(): how many rows ERROR's domain and code have (the
 * tests' check that each has exactly one). */
int vv_cli_exit_status(const GError *error);
char *vv_cli_hint(const GError *error, const char *device);
guint vv_cli_exit_rows(const GError *error);
/* OPTION's SECONDS as milliseconds, range-checked (out of range: the usage
 * message is printed, FALSE). */
gboolean vv_cli_timeout_ms(const char *option, gint64 seconds, guint *ms);
int vv_cli_usage(const char *format, ...) G_GNUC_PRINTF(1, 2);
gboolean vv_cli_parse(GOptionContext *context, int *argc, char ***argv, int expected_args);
vv_ctx *vv_cli_open(const vv_cli_globals *globals, GError **error);
const char *vv_cli_short_reason(const vv_selection *selection);
typedef vv_bind_result *(*vv_cli_bind_operation)(vv_ctx *ctx, const char *device,
						  const vv_bind_options *options, GError **error);
int vv_cli_run_bind(const vv_cli_globals *globals, const char *name, const vv_bind_options *options,
		    gboolean dry_run, vv_cli_bind_operation operation);

int vv_cli_list(const vv_cli_globals *globals, int argc, char **argv);
int vv_cli_explain(const vv_cli_globals *globals, int argc, char **argv);
int vv_cli_virt_error(GError *error);
int vv_cli_nodedev_list(const vv_cli_globals *globals, int argc, char **argv);
int vv_cli_nodedev_dumpxml(const vv_cli_globals *globals, int argc, char **argv);
int vv_cli_nodedev_detach(const vv_cli_globals *globals, int argc, char **argv);
int vv_cli_nodedev_reattach(const vv_cli_globals *globals, int argc, char **argv);
int vv_cli_detach(const vv_cli_globals *globals, int argc, char **argv);
int vv_cli_reattach(const vv_cli_globals *globals, int argc, char **argv);
int vv_cli_recover(const vv_cli_globals *globals, int argc, char **argv);
int vv_cli_status(const vv_cli_globals *globals, int argc, char **argv);
int vv_cli_hook(const vv_cli_globals *globals, int argc, char **argv);
