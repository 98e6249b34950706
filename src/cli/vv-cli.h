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
/* list, explain, nodedev-list, nodedev-dumpxml on a host without a module
 * index: everything else shown, the choice marked unknown. */
enum { VV_CLI_EXIT_UNKNOWN = 3 };

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
/* Does ERROR (from vv_selection_new()) leave the choice unknown while the
 * rest of a read-only command can still be shown (the host's module
 * directory has no index; not one given with --modules-dir)? */
gboolean vv_cli_choice_unknown(const vv_cli_globals *globals, const GError *error);
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
/* A result's actions (planned, for a dry run) and messages, on stdout. */
void vv_cli_print_result(const vv_bind_result *result, gboolean dry_run);
int vv_cli_run_bind(const vv_cli_globals *globals, const char *name, const vv_bind_options *options,
		    gboolean dry_run, vv_cli_bind_operation operation);

/* What an option's value or a command's operand is: what completion offers
 * for it (vv-cli-complete.c). */
typedef enum {
	VV_CLI_VALUE_NONE,	/* a flag; a command without operands */
	VV_CLI_VALUE_TEXT,	/* free text (a URI, seconds, a domain): nothing to offer */
	VV_CLI_VALUE_FILE,
	VV_CLI_VALUE_DIR,
	VV_CLI_VALUE_DRIVER,	/* a VFIO module or driver name */
	VV_CLI_VALUE_DEVICE,	/* a PCI device */
	VV_CLI_VALUE_COMMAND,	/* a command's name (help's operand) */
} vv_cli_value;

/* One option: its long name without "--", its short letter (0: none), the
 * word its value is shown as (NULL: a flag) and what that value is. */
typedef struct {
	const char *name;
	char short_name;
	const char *arg;
	vv_cli_value value;
} vv_cli_option;

/* One row of THE command table (vv-cli-commands.c), which drives dispatch,
 * help, the suggestion for a mistyped word, completion and the man page's
 * synopsis. OPTIONS ends with a row whose name is NULL and lists what the
 * command's own GOptionEntry accepts (a test compares them with its
 * --help); OPERANDS is the synopsis after the options. */
typedef enum {
	VV_CLI_COMMAND_HIDDEN = 1 << 0,	/* not listed: an interface for the completion and the build */
	VV_CLI_COMMAND_RAW = 1 << 1,	/* gets its words untouched by the global options' parse */
	VV_CLI_COMMAND_CONNECT = 1 << 2,	/* talks to libvirt: takes -c/--connect URI */
} vv_cli_command_flags;

typedef struct {
	const char *name;
	int (*run)(const vv_cli_globals *globals, int argc, char **argv);
	const char *operands;
	vv_cli_value operand;
	const char *summary;
	const vv_cli_option *options;
	vv_cli_command_flags flags;
} vv_cli_command;

/* The table, ending with a row whose name is NULL; the global options
 * (accepted before the command and after it), ending likewise. */
extern const vv_cli_command vv_cli_commands[];
extern const vv_cli_option vv_cli_global_options[];
const vv_cli_command *vv_cli_command_find(const char *name);
const vv_cli_option *vv_cli_option_find(const vv_cli_option *options, const char *name, char short_name);
/* The command being run (NULL before one is chosen): usage messages name it. */
void vv_cli_set_current(const vv_cli_command *command);
const vv_cli_command *vv_cli_get_current(void);
/* The candidate nearest WORD (NULL-terminated CANDIDATES) within a small
 * edit distance, or NULL. Borrowed from CANDIDATES. */
const char *vv_cli_suggest(const char *word, const char *const *candidates);
/* The known option of COMMAND (NULL: the global ones) nearest the first
 * unknown "--NAME" of ARGV, or NULL. Borrowed. */
const char *vv_cli_suggest_option(const vv_cli_command *command, int argc, char **argv);

int vv_cli_help(const vv_cli_globals *globals, int argc, char **argv);
int vv_cli_complete(const vv_cli_globals *globals, int argc, char **argv);
int vv_cli_synopsis(const vv_cli_globals *globals, int argc, char **argv);
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
int vv_cli_declare(const vv_cli_globals *globals, int argc, char **argv);
int vv_cli_undeclare(const vv_cli_globals *globals, int argc, char **argv);
int vv_cli_declarations(const vv_cli_globals *globals, int argc, char **argv);
int vv_cli_apply(const vv_cli_globals *globals, int argc, char **argv);
