/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-variant status: what is detached, to what, since when, and from what. */
#include "vv-cli.h"

static const char *
vv_status_or_none(const char *text)
{
	return text ? text : _("none");
}

/* The record next to what sysfs says now: the record can be stale (a
 * hand-made unbind), and the user needs to see both. A device that is
 * gone (unplugged, its PF's VFs disabled) is shown as gone: its record is
 * still what there is to know, and still to be cleared. */
static gboolean
vv_status_print(vv_ctx *ctx, const vv_record *record, GError **error)
{
	const char *address = vv_record_get_address(record);
	g_autoptr(GError) local = NULL;
	g_autoptr(vv_device) device = vv_device_new(ctx, address, &local);

	if (!device && !g_error_matches(local, VV_ERROR, VV_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	if (vv_record_is_complete(record))
		g_print(_("%s: detached\n"), address);
	else
		g_print(_("%1$s: %2$s cut short after the step '%3$s'; run 'vfio-variant recover %1$s'\n"),
			address, vv_record_get_operation(record), vv_record_get_step(record));
	if (device)
		g_print(_("  Driver now:       %s\n"), vv_status_or_none(vv_device_get_driver(device)));
	else
		g_print(_("  Driver now:       none: the device is gone from sysfs\n"));
	g_print(_("  VFIO driver:      %1$s (module %2$s)%3$s\n"), vv_status_or_none(vv_record_get_driver(record)),
		vv_status_or_none(vv_record_get_module(record)),
		vv_record_is_fallback(record) ? _(", a fallback: the selected variant refused the device") : "");
	if (vv_record_get_original_module(record))
		g_print(_("  Native driver:    %1$s (module %2$s)\n"), vv_status_or_none(vv_record_get_original_driver(record)),
			vv_record_get_original_module(record));
	else
		g_print(_("  Native driver:    %s\n"), vv_status_or_none(vv_record_get_original_driver(record)));
	g_print(_("  Native override:  %s\n"), vv_status_or_none(vv_record_get_original_override(record)));
	g_print(_("  Since:            %1$s, by %2$s\n"), vv_status_or_none(vv_record_get_time(record)),
		vv_requester_to_string(vv_record_get_requester(record)));
	if (vv_record_get_domain(record))
		g_print(vv_record_is_managed(record) ? _("  Domain:           %s (a managed hostdev; the qemu hook gives it back)\n") :
						       _("  Domain:           %s (an unmanaged hostdev)\n"),
			vv_record_get_domain(record));
	return TRUE;
}

/* Every record, each read on its own: one that cannot be read (damaged,
 * incomplete, a symlink) is named on stderr and the others are still
 * shown. 0 when every record was read, 1 when one was not. */
static int
vv_status_all(vv_ctx *ctx)
{
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) addresses = vv_ctx_list_record_addresses(ctx, &error);
	guint unreadable = 0;

	if (!addresses)
		return vv_cli_error(g_steal_pointer(&error));
	if (!addresses[0])
		g_print(_("No device is detached by vfio-variant (state directory %s).\n"), vv_ctx_get_state_dir(ctx));
	for (guint i = 0; addresses[i]; i++) {
		g_autoptr(vv_record) record = vv_record_load(ctx, addresses[i], &error);

		if (!record || !vv_status_print(ctx, record, &error)) {
			g_printerr(_("vfio-variant: error: %1$s: %2$s\n"), addresses[i], error->message);
			g_clear_error(&error);
			unreadable++;
		}
	}
	return unreadable ? VV_CLI_EXIT_FAILED : VV_CLI_EXIT_OK;
}

int
vv_cli_status(const vv_cli_globals *globals, int argc, char **argv)
{
	g_autoptr(GOptionContext) context = g_option_context_new(_("[DEVICE]"));
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_ctx) ctx = NULL;

	g_option_context_set_summary(context, _("Show the devices vfio-variant detached (or DEVICE): their VFIO driver, since when, and the native driver they go back to."));
	if (!vv_cli_parse(context, &argc, &argv, argc > 1 ? 1 : 0))
		return VV_CLI_EXIT_USAGE;
	ctx = vv_cli_open(globals, &error);
	if (!ctx)
		return vv_cli_error(g_steal_pointer(&error));

	if (argc > 1) {
		g_autoptr(vv_record) record = vv_record_load(ctx, argv[1], &error);
		g_autoptr(vv_device) device = NULL;

		if (record)
			return vv_status_print(ctx, record, &error) ? VV_CLI_EXIT_OK : vv_cli_error(g_steal_pointer(&error));
		if (!g_error_matches(error, VV_ERROR, VV_ERROR_NOT_FOUND))
			return vv_cli_error(g_steal_pointer(&error));
		g_clear_error(&error);
		if (!(device = vv_device_new(ctx, argv[1], &error)))
			return vv_cli_error(g_steal_pointer(&error));
		g_print(_("%1$s: not detached by vfio-variant\n  Driver now:       %2$s\n"),
			vv_device_get_address(device), vv_status_or_none(vv_device_get_driver(device)));
		return VV_CLI_EXIT_OK;
	}
	return vv_status_all(ctx);
}
