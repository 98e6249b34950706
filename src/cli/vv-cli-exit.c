/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The exit status of a failed command, from its error's code: one explicit
 * table, not the order of the enum (a code added in the middle, or an IO
 * failure sorting before the "refused" codes, would otherwise change what
 * scripts see). README promises: 1 when a change of the host failed or was
 * refused, 2 when the input must be fixed by the user.
 */
#include "vv-cli.h"

int
vv_cli_exit_status(const GError *error)
{
	/* An error of another domain is a failure we cannot attribute to the
	 * input: a failure. */
	if (!error || error->domain != VV_ERROR)
		return VV_CLI_EXIT_FAILED;
	/* No default: the compiler names a new code that has no row here. */
	switch ((vv_error_code)error->code) {
	/* Input the user must fix: a malformed device name, option, policy
	 * file or domain XML; a device or directory named that does not exist;
	 * a module directory (named or the sysroot's) libkmod cannot read. */
	case VV_ERROR_INVALID_ARGUMENT: return VV_CLI_EXIT_USAGE;
	case VV_ERROR_NOT_FOUND: return VV_CLI_EXIT_USAGE;
	case VV_ERROR_MODULES: return VV_CLI_EXIT_USAGE;
	/* A change of the host that failed or was refused. */
	case VV_ERROR_IO: return VV_CLI_EXIT_FAILED;
	case VV_ERROR_NOT_ASSIGNABLE: return VV_CLI_EXIT_FAILED;
	case VV_ERROR_IN_USE: return VV_CLI_EXIT_FAILED;
	case VV_ERROR_BUSY: return VV_CLI_EXIT_FAILED;
	case VV_ERROR_BIND: return VV_CLI_EXIT_FAILED;
	case VV_ERROR_MODULE_LOAD: return VV_CLI_EXIT_FAILED;
	case VV_ERROR_LIVE_HOST: return VV_CLI_EXIT_FAILED;
	case VV_ERROR_DETACHED: return VV_CLI_EXIT_FAILED;
	case VV_ERROR_NOT_DETACHED: return VV_CLI_EXIT_FAILED;
	case VV_ERROR_CUT_SHORT: return VV_CLI_EXIT_FAILED;
	case VV_ERROR_ASSIGNED: return VV_CLI_EXIT_FAILED;
	case VV_ERROR_GONE: return VV_CLI_EXIT_FAILED;
	case VV_ERROR_BLACKLISTED: return VV_CLI_EXIT_FAILED;
	}
	return VV_CLI_EXIT_FAILED;
}

/*
 * What the user of this CLI can do about ERROR, by its code: the library
 * states the fact, the CLI names its own options and commands. NULL when
 * the message says all there is.
 */
const char *
vv_cli_error_hint(const GError *error)
{
	if (!error || error->domain != VV_ERROR)
		return NULL;
	switch ((vv_error_code)error->code) {
	case VV_ERROR_IN_USE: return _("Stop that use first, or give --force.");
	case VV_ERROR_ASSIGNED:
		return _("Stop the domain first; if it is not running any more (its stop was cut short, or the hook's 'release end' failed), reattach with --force.");
	case VV_ERROR_GONE: return _("Give --force to remove its record.");
	case VV_ERROR_DETACHED: return _("Run 'vfio-variant reattach' on the device first to bind another driver.");
	case VV_ERROR_NOT_DETACHED: return _("Detach it first.");
	case VV_ERROR_CUT_SHORT: return _("Fix the cause and run 'vfio-variant recover' on the device.");
	case VV_ERROR_BLACKLISTED:
		return _("Remove the blacklist line, or choose another driver with --driver or --generic.");
	case VV_ERROR_MODULES: return _("Give the module directory with --modules-dir.");
	default: return NULL;
	}
}
