/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-variant recover: settle an operation that was cut short. */
#include "vv-cli.h"

int
vv_cli_recover(const vv_cli_globals *globals, int argc, char **argv)
{
	gboolean dry_run = FALSE;
	GOptionEntry entries[] = {
		{ "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run, N_("Print every sysfs write and module load, make none"), NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new(_("DEVICE"));
	g_autoptr(vv_bind_options) options = vv_bind_options_new();

	g_option_context_set_summary(context, _("Finish or roll back a detach or reattach of DEVICE that was cut short: roll back a detach, finish a reattach."));
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	if (!vv_cli_parse(context, &argc, &argv, 1))
		return VV_CLI_EXIT_USAGE;

	vv_bind_options_set_flags(options, dry_run ? VV_BIND_DRY_RUN : 0);
	return vv_cli_run_bind(globals, argv[1], options, dry_run, vv_recover);
}
