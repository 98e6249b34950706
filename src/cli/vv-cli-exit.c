/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a failed command tells the user beyond the library's message, from
 * its error's code: the exit status, and the hint that names this tool's
 * options and commands (the library states facts and never names them).
 * One explicit table, not the order of the enum: a code added in the
 * middle, or an IO failure sorting before the "refused" codes, would
 * otherwise change what scripts see. README promises: 1 when a change of
 * the host failed or was refused, 2 when the input must be fixed by the
 * user.
 */
#include "vv-cli.h"

typedef struct {
	int status;
	/* A whole sentence; %1$s is the device the command was given. */
	const char *hint;
} vv_cli_code;

/* Indexed by code; a code without a row has status 0, which
 * test-cli-exit refuses, as it refuses a table shorter than the enum. */
static const vv_cli_code vv_cli_codes[] = {
	/* Input the user must fix: a malformed device name, option, policy
	 * file or domain XML; a device or directory named that does not
	 * exist; a module directory (named or the sysroot's) that is unknown
	 * or libkmod cannot read; a sysroot not laid out like a host. */
	[VV_ERROR_INVALID_ARGUMENT] = { VV_CLI_EXIT_USAGE, NULL },
	[VV_ERROR_NOT_FOUND] = { VV_CLI_EXIT_USAGE, NULL },
	[VV_ERROR_MODULES] = { VV_CLI_EXIT_USAGE,
		N_("Give the kernel's module directory with --modules-dir.") },
	[VV_ERROR_SYSROOT] = { VV_CLI_EXIT_USAGE,
		N_("Give --sysroot a directory laid out like a host's root (DIR/sys, DIR/lib/modules).") },
	/* A change of the host that failed or was refused. */
	[VV_ERROR_IO] = { VV_CLI_EXIT_FAILED, NULL },
	[VV_ERROR_NOT_ASSIGNABLE] = { VV_CLI_EXIT_FAILED, NULL },
	[VV_ERROR_IN_USE] = { VV_CLI_EXIT_FAILED,
		N_("Stop using %1$s first, or detach it anyway with --force.") },
	[VV_ERROR_BUSY] = { VV_CLI_EXIT_FAILED,
		N_("Try again when the other command is done, or wait longer with --timeout.") },
	[VV_ERROR_BIND] = { VV_CLI_EXIT_FAILED, NULL },
	[VV_ERROR_MODULE_LOAD] = { VV_CLI_EXIT_FAILED, NULL },
	[VV_ERROR_LIVE_HOST] = { VV_CLI_EXIT_FAILED,
		N_("The test suite acts on a copy of a host only: give it with --sysroot.") },
	[VV_ERROR_NEEDS_RECOVERY] = { VV_CLI_EXIT_FAILED,
		N_("Fix the cause, then run 'vfio-variant recover %1$s'.") },
	[VV_ERROR_DETACHED] = { VV_CLI_EXIT_FAILED,
		N_("Run 'vfio-variant reattach %1$s' first.") },
	[VV_ERROR_ASSIGNED] = { VV_CLI_EXIT_FAILED,
		N_("Stop the domain first; if it is not running any more (its stop was cut short, or the hook's 'release end' failed), reattach %1$s with --force.") },
	[VV_ERROR_BLACKLISTED] = { VV_CLI_EXIT_FAILED,
		N_("Remove the blacklist line, or choose another driver with --driver or --generic.") },
	[VV_ERROR_NO_PCI_DRIVER] = { VV_CLI_EXIT_FAILED,
		N_("Check that it is a PCI driver, or choose another with --driver.") },
	[VV_ERROR_RECORD] = { VV_CLI_EXIT_FAILED,
		N_("Move the record aside and run 'vfio-variant reattach %1$s'.") },
	/* Only the hook moves devices between VFIO drivers (vv_rebind()). */
	[VV_ERROR_NOT_DETACHED] = { VV_CLI_EXIT_FAILED, NULL },
	[VV_ERROR_GONE] = { VV_CLI_EXIT_FAILED,
		N_("If it is not coming back, remove its record with 'vfio-variant reattach --force %1$s'.") },
	[VV_ERROR_DECLARED] = { VV_CLI_EXIT_FAILED,
		N_("Remove the declaration with 'vfio-variant undeclare %1$s' (for a declaration by id, undeclare the id); that gives the device back to its host driver.") },
};

static const vv_cli_code *
vv_cli_code_of(const GError *error)
{
	/* An error of another domain is a failure we cannot attribute to the
	 * input: a failure, without a hint. */
	if (!error || error->domain != VV_ERROR || error->code < 0 ||
	    (guint)error->code >= G_N_ELEMENTS(vv_cli_codes) || !vv_cli_codes[error->code].status)
		return NULL;
	return &vv_cli_codes[error->code];
}

int
vv_cli_exit_status(const GError *error)
{
	const vv_cli_code *row = vv_cli_code_of(error);

	return row ? row->status : VV_CLI_EXIT_FAILED;
}

/* The host's own module directory has no usable index (a container, a
 * kernel whose modules are gone): only the choice needs it, so list,
 * explain and nodedev-* show the rest and exit VV_CLI_EXIT_UNKNOWN (3).
 * A directory given with --modules-dir is the user's input to fix: 2. */
gboolean
vv_cli_choice_unknown(const vv_cli_globals *globals, const GError *error)
{
	return !globals->modules_dir && g_error_matches(error, VV_ERROR, VV_ERROR_MODULES);
}

char *
vv_cli_hint(const GError *error, const char *device)
{
	const vv_cli_code *row = vv_cli_code_of(error);
	GString *hint;

	if (!row || !row->hint)
		return NULL;
	/* Not a printf format: a hint that names no device is as valid as
	 * one that does. */
	hint = g_string_new(_(row->hint));
	/* TRANSLATORS: stands for the device in a hint when the command named none. */
	g_string_replace(hint, "%1$s", device ? device : _("DEVICE"), 0);
	return g_string_free(hint, FALSE);
}
