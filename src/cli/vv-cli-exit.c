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
	}
	return VV_CLI_EXIT_FAILED;
}
