/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt side's errors (VV_VIRT_ERROR) for a person: the exit status
 * and, where there is one, what to do. One explicit table, as
 * vv-cli-exit.c keeps for the library's codes; a code without a row fails
 * the build (no default) and test-cli-virt-exit.
 */
#include "vv-cli-virt.h"

int
vv_cli_virt_exit_status(const GError *error)
{
	if (!error || error->domain != VV_VIRT_ERROR)
		return vv_cli_exit_status(error);
	switch ((vv_virt_error_code)error->code) {
	/* Nothing asked of libvirt could be answered for this input: the URI
	 * (no daemon there, or not this machine) or the device name. */
	case VV_VIRT_ERROR_CONNECT: return VV_CLI_EXIT_USAGE;
	case VV_VIRT_ERROR_NOT_LOCAL: return VV_CLI_EXIT_USAGE;
	case VV_VIRT_ERROR_NO_NODEDEV: return VV_CLI_EXIT_USAGE;
	case VV_VIRT_ERROR_VERSION: return VV_CLI_EXIT_USAGE;
	/* A change refused or failed. */
	case VV_VIRT_ERROR_DOMAINS: return VV_CLI_EXIT_FAILED;
	case VV_VIRT_ERROR_IN_USE: return VV_CLI_EXIT_FAILED;
	case VV_VIRT_ERROR_DETACH_REFUSED: return VV_CLI_EXIT_FAILED;
	case VV_VIRT_ERROR_REATTACH_REFUSED: return VV_CLI_EXIT_FAILED;
	case VV_VIRT_ERROR_UNVERIFIED: return VV_CLI_EXIT_FAILED;
	case VV_VIRT_ERROR_MOVE_FAILED: return VV_CLI_EXIT_FAILED;
	case VV_VIRT_ERROR_NOT_RESTORED: return VV_CLI_EXIT_FAILED;
	case VV_VIRT_ERROR_RECORD: return VV_CLI_EXIT_FAILED;
	}
	return VV_CLI_EXIT_FAILED;
}

const char *
vv_cli_virt_hint(const GError *error)
{
	if (!error || error->domain != VV_VIRT_ERROR)
		return NULL;
	switch ((vv_virt_error_code)error->code) {
	case VV_VIRT_ERROR_NOT_LOCAL:
		return _("Run vfio-variant on that host, with a local connection such as qemu:///system.");
	case VV_VIRT_ERROR_CONNECT:
	case VV_VIRT_ERROR_NO_NODEDEV:
	case VV_VIRT_ERROR_VERSION:
	case VV_VIRT_ERROR_DOMAINS:
	case VV_VIRT_ERROR_IN_USE:
	case VV_VIRT_ERROR_DETACH_REFUSED:
	case VV_VIRT_ERROR_REATTACH_REFUSED:
	case VV_VIRT_ERROR_UNVERIFIED:
	case VV_VIRT_ERROR_MOVE_FAILED:
	case VV_VIRT_ERROR_NOT_RESTORED:
	case VV_VIRT_ERROR_RECORD:
		/* libvirt's own reason, or the sentence the command builds from
		 * the outcome, says it. */
		return NULL;
	}
	return NULL;
}
