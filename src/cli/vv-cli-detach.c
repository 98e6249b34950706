/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-variant detach: give a device to its VFIO driver. */
#include "vv-cli.h"

int
vv_cli_detach(const vv_cli_globals *globals, int argc, char **argv)
{
	g_autofree char *driver = NULL;
	gboolean generic = FALSE, dry_run = FALSE, force = FALSE;
	int timeout = 10;
	guint timeout_ms;
	GOptionEntry entries[] = {
		{ "driver", 0, 0, G_OPTION_ARG_STRING, &driver,
		  N_("Bind this driver (module or driver name) instead of the selected one; no fallback"), N_("NAME") },
		{ "generic", 0, 0, G_OPTION_ARG_NONE, &generic, N_("Bind the generic vfio-pci"), NULL },
		{ "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run, N_("Print every sysfs write and module load, make none"), NULL },
		{ "force", 0, 0, G_OPTION_ARG_NONE, &force, N_("Detach even when the host uses the device"), NULL },
		{ "timeout", 0, 0, G_OPTION_ARG_INT, &timeout, N_("Wait at most SECONDS for the IOMMU group's lock (default 10)"), N_("SECONDS") },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new(_("DEVICE"));
	g_autoptr(vv_bind_options) options = vv_bind_options_new();
	g_autoptr(GError) error = NULL;

	g_option_context_set_summary(context, _("Detach DEVICE from its driver and bind the VFIO driver chosen for it."));
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	if (!vv_cli_parse(context, &argc, &argv, 1))
		return VV_CLI_EXIT_USAGE;
	if (driver && !vv_name_check(driver, VV_NAME_DRIVER, "--driver", &error))
		return vv_cli_error(g_steal_pointer(&error));
	if (driver && generic)
		return vv_cli_usage(_("--driver and --generic exclude each other."));
	if (!vv_cli_timeout_ms("--timeout", timeout, &timeout_ms))
		return VV_CLI_EXIT_USAGE;

	vv_bind_options_set_driver(options, driver);
	vv_bind_options_set_flags(options, (generic ? VV_BIND_GENERIC : 0) | (dry_run ? VV_BIND_DRY_RUN : 0) |
					   (force ? VV_BIND_FORCE : 0));
	vv_bind_options_set_lock_timeout(options, timeout_ms);
	return vv_cli_run_bind(globals, argv[1], options, dry_run, vv_detach);
}
