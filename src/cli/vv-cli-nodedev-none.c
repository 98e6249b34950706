/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The nodedev-* commands of a build without libvirt (meson setup
 * -Dlibvirt=disabled, or auto where libvirt's development files are
 * missing): each says so, in one sentence, and exits as for a command this
 * build cannot run.
 */
#include "vv-cli.h"

static int
vv_cli_nodedev_unsupported(const char *command)
{
	/* Exit status 2, as for a command this program does not know: the
	 * user must use another build, nothing was read or changed. */
	g_printerr(_("vfio-variant: error: %1$s needs libvirt, and this build of vfio-variant has no libvirt support; rebuild it with libvirt's development files (meson setup -Dlibvirt=enabled).\n"),
		   command);
	return VV_CLI_EXIT_USAGE;
}

int
vv_cli_nodedev_list(const vv_cli_globals *globals, int argc, char **argv)
{
	return vv_cli_nodedev_unsupported("nodedev-list");
}

int
vv_cli_nodedev_dumpxml(const vv_cli_globals *globals, int argc, char **argv)
{
	return vv_cli_nodedev_unsupported("nodedev-dumpxml");
}

int
vv_cli_nodedev_detach(const vv_cli_globals *globals, int argc, char **argv)
{
	return vv_cli_nodedev_unsupported("nodedev-detach");
}

int
vv_cli_nodedev_reattach(const vv_cli_globals *globals, int argc, char **argv)
{
	return vv_cli_nodedev_unsupported("nodedev-reattach");
}
