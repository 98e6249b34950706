/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-variant reattach: give a device back to its native driver. */
#include "vv-cli.h"

int
vv_cli_reattach(const vv_cli_globals *globals, int argc, char **argv)
{
	gboolean dry_run = FALSE;
	gboolean force = FALSE;
	int timeout = 10;
	guint timeout_ms;
	GOptionEntry entries[] = {
		{ "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run, N_("Print every sysfs write and module load, make none"), NULL },
		{ "force", 0, 0, G_OPTION_ARG_NONE, &force,
		  N_("Reattach even when the record names a libvirt domain (one that is not running any more)"), NULL },
		{ "timeout", 0, 0, G_OPTION_ARG_INT, &timeout, N_("Wait at most SECONDS for the IOMMU group's lock (default 10)"), N_("SECONDS") },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new(_("DEVICE"));
	g_autoptr(vv_bind_options) options = vv_bind_options_new();

	g_option_context_set_summary(context, _("Give DEVICE back to the driver it had before vfio-variant detached it."));
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	if (!vv_cli_parse(context, &argc, &argv, 1))
		return VV_CLI_EXIT_USAGE;
	if (!vv_cli_timeout_ms("--timeout", timeout, &timeout_ms))
		return VV_CLI_EXIT_USAGE;

	vv_bind_options_set_flags(options, (dry_run ? VV_BIND_DRY_RUN : 0) | (force ? VV_BIND_FORCE : 0));
	vv_bind_options_set_lock_timeout(options, timeout_ms);
	return vv_cli_run_bind(globals, argv[1], options, dry_run, vv_reattach);
}
