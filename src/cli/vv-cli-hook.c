/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-variant hook qemu DOMAIN OPERATION SUBOP [EXTRA]: the qemu hook
 * (src/hook/), with this tool's global options as its roots. libvirt runs
 * the small vfio-variant-hook instead, which does not load libvirt's
 * libraries; this form is for trying a stage by hand.
 */
#include <unistd.h>

#include "vv-cli.h"
#include "hook/vv-hook.h"

int
vv_cli_hook(const vv_cli_globals *globals, int argc, char **argv)
{
	if (argc >= 2 && (g_str_equal(argv[1], "--help") || g_str_equal(argv[1], "-h"))) {
		g_print(_("Usage: vfio-variant [GLOBAL] hook qemu DOMAIN OPERATION SUBOP [EXTRA] < domain.xml\n"
			  "Run one stage of the libvirt qemu hook (prepare begin, start begin, stopped end,\n"
			  "release end) on the domain XML read from standard input.\n"));
		return VV_CLI_EXIT_OK;
	}
	if (argc < 5 || argc > 6 || !g_str_equal(argv[1], "qemu"))
		return vv_cli_usage(_("'hook' takes: qemu DOMAIN OPERATION SUBOP [EXTRA], with the domain XML on standard input."));
	return vv_hook_qemu(globals, NULL, argv[2], argv[3], argv[4], argc > 5 ? argv[5] : "-", STDIN_FILENO);
}
