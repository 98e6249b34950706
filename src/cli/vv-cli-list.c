/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-variant list: every PCI device, one line each. */
#include "vv-cli.h"

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

int
vv_cli_list(const vv_cli_globals *globals, int argc, char **argv)
{
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_ctx) ctx = NULL;
	g_autoptr(GPtrArray) devices = NULL;
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	int width[VV_LIST_COLUMNS] = { 0 };

	g_option_context_set_summary(context, _("Show every PCI device, its driver and the VFIO driver it would get."));
	if (!vv_cli_parse(context, &argc, &argv, 0))
		return VV_CLI_EXIT_USAGE;

	ctx = vv_cli_open(globals, &error);
	if (!ctx || !(devices = vv_ctx_list_devices(ctx, &error)))
		return vv_cli_error(g_steal_pointer(&error));

	g_ptr_array_add(rows, g_strdupv((char *[]){ _("ADDRESS"), _("IDS"), _("DRIVER"), _("VFIO DRIVER"), _("NAME"), NULL }));
	for (guint i = 0; i < devices->len; i++) {
		vv_device *device = g_ptr_array_index(devices, i);
		g_autoptr(vv_selection) selection = vv_selection_new(ctx, device, &error);
		char **row;

		if (!selection)
			return vv_cli_error(g_steal_pointer(&error));
		row = g_new0(char *, VV_LIST_COLUMNS + 1);
		row[VV_LIST_ADDRESS] = g_strdup(vv_device_get_address(device));
		row[VV_LIST_IDS] = g_strdup_printf("%04x:%04x", vv_device_get_vendor_id(device),
						   vv_device_get_device_id(device));
		row[VV_LIST_DRIVER] = g_strdup(vv_device_get_driver(device) ? vv_device_get_driver(device) : "-");
		row[VV_LIST_VFIO] = vv_list_vfio_column(selection);
		row[VV_LIST_NAME] = vv_list_name_column(device);
		g_ptr_array_add(rows, row);
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
	return VV_CLI_EXIT_OK;
}
