/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-variant apply: bring a device, or every device, where its
 * declaration (mode=vfio) says. The udev rule runs it for one device at
 * its add (--requester udev), the boot unit for all (--requester boot);
 * every line it prints goes to the journal from there. --index is what
 * the path unit runs after a hand edit of the policy: the index and the
 * PFs' VF autoprobe follow the policy at once, and no device moves (a
 * file saved half way through an edit must not take a NIC away; the
 * devices follow at the next boot, add or 'apply --all').
 */
#include "vv-cli.h"

/* "udev", "boot" or "cli" as the requester kept in the records. */
static gboolean
vv_cli_apply_requester(const char *text, vv_requester *requester)
{
	static const struct {
		const char *name;
		vv_requester requester;
	} names[] = {
		{ "cli", VV_REQUESTER_CLI },
		{ "udev", VV_REQUESTER_UDEV },
		{ "boot", VV_REQUESTER_BOOT },
	};

	for (guint i = 0; i < G_N_ELEMENTS(names); i++)
		if (g_str_equal(text, names[i].name)) {
			*requester = names[i].requester;
			return TRUE;
		}
	vv_cli_usage(_("--requester takes udev, boot or cli; '%s' is none of them."), text);
	return FALSE;
}

/* One device: its lines prefixed with its address, so that the journal's
 * lines of a boot say which device each is about. */
static gboolean
vv_cli_apply_one(vv_ctx *ctx, const char *address, const vv_bind_options *options, gboolean dry_run,
		 gboolean quiet_noop, gboolean sriov_only, int *status)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_bind_result) result = sriov_only ? vv_apply_sriov(ctx, address, options, &error) :
							 vv_apply(ctx, address, options, &error);

	if (!result) {
		int code = vv_cli_exit_status(error);

		vv_cli_error_device(g_steal_pointer(&error), address);
		if (code > *status)
			*status = code;
		return FALSE;
	}
	if (quiet_noop && vv_bind_result_is_noop(result))
		return TRUE;
	vv_cli_print_result(result, dry_run);
	return TRUE;
}

int
vv_cli_apply(const vv_cli_globals *globals, int argc, char **argv)
{
	g_autofree char *requester_name = NULL;
	gboolean all = FALSE, index = FALSE, dry_run = FALSE;
	int timeout = 10;
	guint timeout_ms;
	vv_requester requester = VV_REQUESTER_CLI;
	GOptionEntry entries[] = {
		{ "all", 0, 0, G_OPTION_ARG_NONE, &all, N_("Every PCI device, and write the index the udev rule tests"), NULL },
		{ "index", 0, 0, G_OPTION_ARG_NONE, &index,
		  N_("Only write the index the udev rule tests and every PF's VF autoprobe; move no device"), NULL },
		{ "requester", 0, 0, G_OPTION_ARG_STRING, &requester_name,
		  N_("Who asks, kept in the record: udev, boot or cli (default cli)"), N_("WHO") },
		{ "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run, N_("Print every sysfs write and module load, make none"), NULL },
		{ "timeout", 0, 0, G_OPTION_ARG_INT, &timeout, N_("Wait at most SECONDS for each IOMMU group's lock (default 10)"), N_("SECONDS") },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new(_("DEVICE | --all | --index"));
	g_autoptr(vv_bind_options) options = vv_bind_options_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_ctx) ctx = NULL;
	g_autoptr(GPtrArray) devices = NULL;
	g_autofree char *address = NULL;
	int status = VV_CLI_EXIT_OK;

	g_option_context_set_summary(context, _("Bring DEVICE (or, with --all, every device) where the declarations say: a device declared in VFIO mode to its VFIO driver, a PF whose VFs are declared to sriov_drivers_autoprobe=0."));
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	if (!g_option_context_parse(context, &argc, &argv, &error))
		return vv_cli_usage("%s", error->message);
	if (all && index)
		return vv_cli_usage(_("'apply' takes --all or --index, not both."));
	if (index && argc != 1)
		return vv_cli_usage(_("'apply --index' takes no device."));
	if (argc != (all || index ? 1 : 2))
		return vv_cli_usage(all ? _("'apply --all' takes no device.") : _("'apply' takes exactly one device, or --all."));
	if (requester_name && !vv_cli_apply_requester(requester_name, &requester))
		return VV_CLI_EXIT_USAGE;
	if (!vv_cli_timeout_ms("--timeout", timeout, &timeout_ms))
		return VV_CLI_EXIT_USAGE;
	vv_bind_options_set_flags(options, dry_run ? VV_BIND_DRY_RUN : 0);
	vv_bind_options_set_requester(options, requester);
	vv_bind_options_set_lock_timeout(options, timeout_ms);

	if (!all && !index) {
		if (!(address = vv_address_parse(argv[1], &error)))
			return vv_cli_error(g_steal_pointer(&error));
		if (!(ctx = vv_cli_open(globals, &error)))
			return vv_cli_error(g_steal_pointer(&error));
		vv_cli_apply_one(ctx, address, options, dry_run, FALSE, FALSE, &status);
		return status;
	}
	if (!(ctx = vv_cli_open(globals, &error)))
		return vv_cli_error(g_steal_pointer(&error));
	/* The index first: a hand edit of the policy reaches the udev rule
	 * at the next boot at the latest. One that cannot be written (a
	 * read-only /etc) keeps no device from its driver: said, and the
	 * devices are still done. A policy that cannot be read stops here. */
	if (!dry_run && !vv_declarations_write_index(ctx, &error)) {
		if (!g_error_matches(error, VV_ERROR, VV_ERROR_IO))
			return vv_cli_error(g_steal_pointer(&error));
		status = vv_cli_error(g_steal_pointer(&error));
	}
	if (!(devices = vv_ctx_list_devices(ctx, &error)))
		return vv_cli_error(g_steal_pointer(&error));
	/* PFs first: their VFs' autoprobe is off before anything else. One
	 * device that fails does not stop the others. */
	for (int pass = 0; pass < 2; pass++)
		for (guint i = 0; i < devices->len; i++) {
			vv_device *device = g_ptr_array_index(devices, i);
			gboolean pf = vv_device_get_sriov_totalvfs(device) > 0;

			if (pf == (pass == 0) && (!index || pf))
				vv_cli_apply_one(ctx, vv_device_get_address(device), options, dry_run, TRUE, index, &status);
		}
	return status;
}
