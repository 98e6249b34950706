/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-variant status: what is detached, to what, since when, and from what. */
#include "vv-cli-json.h"

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
vv_status_print(vv_ctx *ctx, const vv_record *record, JsonBuilder *builder, GError **error)
{
	const char *address = vv_record_get_address(record);
	g_autoptr(GError) local = NULL;
	g_autoptr(vv_device) device = vv_device_new(ctx, address, &local);

	if (!device && !g_error_matches(local, VV_ERROR, VV_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	if (builder) {
		vv_cli_json_status(builder, address, device, record);
		return TRUE;
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
vv_status_all(vv_ctx *ctx, gboolean json)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) addresses = vv_ctx_list_record_addresses(ctx, &error);
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	JsonBuilder *builder = NULL;
	guint unreadable = 0;

	if (!addresses)
		return vv_cli_error(g_steal_pointer(&error));
	if (json)
		builder = vv_cli_json_begin("status", "devices");
	else if (addresses->len == 0)
		g_print(_("No device is detached by vfio-variant (state directory %s).\n"), vv_ctx_get_state_dir(ctx));
	for (guint i = 0; i < addresses->len; i++) {
		const char *address = g_ptr_array_index(addresses, i);
		g_autoptr(vv_record) record = vv_record_load(ctx, address, &error);

		if (!record || !vv_status_print(ctx, record, builder, &error)) {
			g_printerr(_("vfio-variant: error: %1$s: %2$s\n"), address, error->message);
			g_ptr_array_add(errors, g_strdup(address));
			g_ptr_array_add(errors, g_strdup(error->message));
			g_clear_error(&error);
			unreadable++;
		}
	}
	if (builder)
		vv_cli_json_end(builder, errors);
	return unreadable ? VV_CLI_EXIT_FAILED : VV_CLI_EXIT_OK;
}

int
vv_cli_status(const vv_cli_globals *globals, int argc, char **argv)
{
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print a JSON document instead of text"), NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new(_("[DEVICE]"));
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_ctx) ctx = NULL;
	JsonBuilder *builder = NULL;
	int positional = 0;

	g_option_context_set_summary(context, _("Show the devices vfio-variant detached (or DEVICE): their VFIO driver, since when, and the native driver they go back to."));
	/* DEVICE is optional: one is expected when one is given. */
	for (int i = 1; i < argc; i++)
		positional += argv[i][0] != '-';
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	if (!vv_cli_parse(context, &argc, &argv, MIN(positional, 1)))
		return VV_CLI_EXIT_USAGE;
	ctx = vv_cli_open(globals, &error);
	if (!ctx)
		return vv_cli_error(g_steal_pointer(&error));

	if (argc > 1) {
		g_autoptr(vv_record) record = vv_record_load(ctx, argv[1], &error);
		g_autoptr(vv_device) device = NULL;

		if (json)
			builder = vv_cli_json_begin("status", "devices");
		if (record) {
			if (!vv_status_print(ctx, record, builder, &error)) {
				g_clear_object(&builder);
				return vv_cli_error(g_steal_pointer(&error));
			}
			if (builder)
				vv_cli_json_end(builder, NULL);
			return VV_CLI_EXIT_OK;
		}
		if (!g_error_matches(error, VV_ERROR, VV_ERROR_NOT_FOUND) ||
		    (g_clear_error(&error), !(device = vv_device_new(ctx, argv[1], &error)))) {
			g_clear_object(&builder);
			return vv_cli_error(g_steal_pointer(&error));
		}
		if (builder) {
			vv_cli_json_status(builder, vv_device_get_address(device), device, NULL);
			vv_cli_json_end(builder, NULL);
			return VV_CLI_EXIT_OK;
		}
		g_print(_("%1$s: not detached by vfio-variant\n  Driver now:       %2$s\n"),
			vv_device_get_address(device), vv_status_or_none(vv_device_get_driver(device)));
		return VV_CLI_EXIT_OK;
	}
	return vv_status_all(ctx, json);
}
