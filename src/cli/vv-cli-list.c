/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-variant list: every PCI device, one line each. */
#include "vv-cli-json.h"

enum { VV_LIST_ADDRESS, VV_LIST_IDS, VV_LIST_DRIVER, VV_LIST_VFIO, VV_LIST_NAME, VV_LIST_COLUMNS };

static char *
vv_list_vfio_column(const vv_selection *selection)
{
	const vv_candidate *selected = vv_selection_get_selected(selection);
	const char *module, *driver;

	if (!selected)
		return g_strdup(vv_cli_short_reason(selection));
	module = vv_candidate_get_module(selected);
	driver = vv_candidate_get_driver(selected);
	/* Show the driver name where it is not simply the module's. */
	if (driver && !g_str_equal(driver, module))
		return g_strdup_printf("%s (%s)", module, driver);
	return g_strdup(module);
}

static char *
vv_list_name_column(vv_device *device)
{
	const char *vendor = vv_device_get_vendor_name(device);
	const char *product = vv_device_get_product_name(device);

	if (vendor && product)
		return g_strdup_printf("%s %s", vendor, product);
	return g_strdup(vendor ? vendor : "");
}

/* A selection, or NULL with *UNKNOWN set when the host has no module
 * index (the choice alone is unknown); FALSE for any other error. */
static gboolean
vv_list_select(const vv_cli_globals *globals, vv_ctx *ctx, vv_device *device, vv_selection **selection, GError **unknown, GError **error)
{
	g_autoptr(GError) local = NULL;

	*selection = vv_selection_new(ctx, device, &local);
	if (*selection)
		return TRUE;
	if (!vv_cli_choice_unknown(globals, local)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	g_clear_error(unknown);
	g_propagate_error(unknown, g_steal_pointer(&local));
	return TRUE;
}

int
vv_cli_list(const vv_cli_globals *globals, int argc, char **argv)
{
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print a JSON document instead of the table"), NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	g_autoptr(GError) unknown = NULL;
	JsonBuilder *builder = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_ctx) ctx = NULL;
	g_autoptr(GPtrArray) devices = NULL;
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	int width[VV_LIST_COLUMNS] = { 0 };

	g_option_context_set_summary(context, _("Show every PCI device, its driver and the VFIO driver it would get."));
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	if (!vv_cli_parse(context, &argc, &argv, 0))
		return VV_CLI_EXIT_USAGE;

	ctx = vv_cli_open(globals, &error);
	if (!ctx || !(devices = vv_ctx_list_devices(ctx, &error)))
		return vv_cli_error(g_steal_pointer(&error));

	if (json)
		builder = vv_cli_json_begin("list", "devices");
	g_ptr_array_add(rows, g_strdupv((char *[]){ _("ADDRESS"), _("IDS"), _("DRIVER"), _("VFIO DRIVER"), _("NAME"), NULL }));
	for (guint i = 0; i < devices->len; i++) {
		vv_device *device = g_ptr_array_index(devices, i);
		g_autoptr(vv_selection) selection = NULL;
		char **row;

		if (!vv_list_select(globals, ctx, device, &selection, &unknown, &error)) {
			g_clear_object(&builder);
			return vv_cli_error(g_steal_pointer(&error));
		}
		if (builder) {
			vv_cli_json_device(builder, ctx, device, selection, unknown);
			continue;
		}
		row = g_new0(char *, VV_LIST_COLUMNS + 1);
		row[VV_LIST_ADDRESS] = g_strdup(vv_device_get_address(device));
		row[VV_LIST_IDS] = g_strdup_printf("%04x:%04x", vv_device_get_vendor_id(device),
						   vv_device_get_device_id(device));
		row[VV_LIST_DRIVER] = g_strdup(vv_device_get_driver(device) ? vv_device_get_driver(device) : "-");
		row[VV_LIST_VFIO] = selection ? vv_list_vfio_column(selection) : g_strdup(_("unknown: no module index"));
		row[VV_LIST_NAME] = vv_list_name_column(device);
		g_ptr_array_add(rows, row);
	}

	if (builder) {
		vv_cli_json_end(builder, NULL);
		return unknown ? VV_CLI_EXIT_UNKNOWN : VV_CLI_EXIT_OK;
	}
	for (guint i = 0; i < rows->len; i++)
		for (guint c = 0; c < VV_LIST_NAME; c++)
			width[c] = MAX(width[c], (int)g_utf8_strlen(((char **)g_ptr_array_index(rows, i))[c], -1));
	for (guint i = 0; i < rows->len; i++) {
		char **row = g_ptr_array_index(rows, i);
		g_autoptr(GString) line = g_string_new(NULL);

		for (guint c = 0; c < VV_LIST_NAME; c++)
			g_string_append_printf(line, "%-*s  ", width[c] + (int)(strlen(row[c]) - g_utf8_strlen(row[c], -1)), row[c]);
		g_string_append(line, row[VV_LIST_NAME]);
		g_print("%s\n", g_strchomp(line->str));
	}
	if (unknown) {
		g_printerr(_("vfio-variant: warning: the VFIO driver of each device is unknown: %s\n"), unknown->message);
		return VV_CLI_EXIT_UNKNOWN;
	}
	return VV_CLI_EXIT_OK;
}
