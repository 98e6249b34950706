/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nodedev-dumpxml and nodedev-list: libvirt's node devices, through
 * libvirt's public API, with the VFIO driver vfio-variant would choose.
 */
#include <stdlib.h>

#include "vv-cli-virt.h"
#include "vv-cli-json.h"

/* libvirt's errors as virsh shows them: "error: " before each line, then
 * what to do where the code has a hint; the status from the code's row. */
int
vv_cli_virt_error(GError *error)
{
	g_auto(GStrv) lines = g_strsplit(error->message, "\n", -1);
	g_autofree char *hint = vv_cli_hint(error, NULL);
	int status = vv_cli_exit_status(error);

	for (guint i = 0; lines[i]; i++)
		g_printerr(_("error: %s\n"), lines[i]);
	if (hint)
		g_printerr(_("error: %s\n"), hint);
	g_error_free(error);
	return status;
}

/* The <vfio> element for ADDRESS, as a fragment, with <detached> when
 * vfio-variant has a record of the device. Without a module index: NULL
 * with *UNKNOWN set. */
static char *
vv_cli_vfio_fragment(const vv_cli_globals *globals, vv_ctx *ctx, const char *address, GError **unknown, GError **error)
{
	g_autoptr(vv_device) device = vv_device_new(ctx, address, error);
	g_autoptr(vv_selection) selection = NULL;
	g_autoptr(vv_record) record = NULL;
	g_autoptr(GError) local = NULL;

	if (!device)
		return NULL;
	if (!(selection = vv_selection_new(ctx, device, &local))) {
		GError **to = vv_cli_choice_unknown(globals, local) ? unknown : error;

		g_propagate_error(to, g_steal_pointer(&local));
		return NULL;
	}
	record = vv_record_load(ctx, address, &local);
	if (!record && !g_error_matches(local, VV_ERROR, VV_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	return vv_selection_to_xml_with_record(selection, record, FALSE);
}

int
vv_cli_nodedev_dumpxml(const vv_cli_globals *globals, int argc, char **argv)
{
	g_autofree char *uri = NULL;
	GOptionEntry entries[] = {
		{ "connect", 'c', 0, G_OPTION_ARG_STRING, &uri, N_("libvirt connection URI (default: LIBVIRT_DEFAULT_URI, then libvirt's default)"), N_("URI") },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new(_("DEVICE"));
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) unknown = NULL;
	g_autofree char *address = NULL;
	g_autofree char *libvirt_xml = NULL;
	g_autofree char *fragment = NULL;
	g_autofree char *merged = NULL;
	g_autoptr(virConnect) conn = NULL;
	g_autoptr(virNodeDevice) nodedev = NULL;
	g_autoptr(vv_ctx) ctx = NULL;

	g_option_context_set_summary(context, _("Show libvirt's node-device XML of DEVICE (a node-device name or a PCI address), with the VFIO driver vfio-variant chooses in a <vfio> element."));
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	if (!vv_cli_parse(context, &argc, &argv, 1))
		return VV_CLI_EXIT_USAGE;
	address = vv_address_parse(argv[1], &error);
	if (!address)
		return vv_cli_error(g_steal_pointer(&error));

	conn = vv_virt_connect(uri, TRUE, &error);
	if (!conn || !(nodedev = vv_virt_lookup_nodedev(conn, address, &error)))
		return vv_cli_virt_error(g_steal_pointer(&error));
	libvirt_xml = virNodeDeviceGetXMLDesc(nodedev, 0);
	if (!libvirt_xml) {
		/* Copied first: virNodeDeviceGetName() resets libvirt's last error. */
		g_autofree char *why = g_strdup(vv_virt_last_error());

		g_printerr(_("error: failed to get the XML of node device '%s'\n"), virNodeDeviceGetName(nodedev));
		g_printerr(_("error: %s\n"), why);
		return VV_CLI_EXIT_USAGE;
	}

	ctx = vv_cli_open(globals, &error);
	if (ctx && !(fragment = vv_cli_vfio_fragment(globals, ctx, address, &unknown, &error)) && unknown) {
		/* libvirt's document as it is, and why ours is missing. */
		g_print("%s", libvirt_xml);
		g_printerr(_("vfio-variant: warning: the VFIO driver of %1$s is unknown: %2$s\n"), address,
			   unknown->message);
		return VV_CLI_EXIT_UNKNOWN;
	}
	if (!ctx || !fragment || !(merged = vv_virt_xml_merge(libvirt_xml, fragment, &error)))
		return vv_cli_error(g_steal_pointer(&error));
	g_print("%s", merged);
	return VV_CLI_EXIT_OK;
}

static int
vv_cli_compare_nodedevs(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(virNodeDeviceGetName(*(virNodeDevicePtr *)a), virNodeDeviceGetName(*(virNodeDevicePtr *)b));
}

int
vv_cli_nodedev_list(const vv_cli_globals *globals, int argc, char **argv)
{
	g_autofree char *uri = NULL;
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{ "connect", 'c', 0, G_OPTION_ARG_STRING, &uri, N_("libvirt connection URI (default: LIBVIRT_DEFAULT_URI, then libvirt's default)"), N_("URI") },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print a JSON document instead of the table"), NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) unknown = NULL;
	g_autoptr(virConnect) conn = NULL;
	g_autoptr(vv_ctx) ctx = NULL;
	JsonBuilder *builder = NULL;
	virNodeDevicePtr *nodedevs = NULL;
	int n, status = VV_CLI_EXIT_OK;

	g_option_context_set_summary(context, _("Show libvirt's PCI node devices with their driver and the VFIO driver vfio-variant chooses."));
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	if (!vv_cli_parse(context, &argc, &argv, 0))
		return VV_CLI_EXIT_USAGE;

	conn = vv_virt_connect(uri, TRUE, &error);
	if (!conn)
		return vv_cli_virt_error(g_steal_pointer(&error));
	n = virConnectListAllNodeDevices(conn, &nodedevs, VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV);
	if (n < 0) {
		g_printerr(_("error: failed to list node devices\n"));
		g_printerr(_("error: %s\n"), vv_virt_last_error());
		return VV_CLI_EXIT_USAGE;
	}
	ctx = vv_cli_open(globals, &error);
	if (!ctx)
		status = vv_cli_error(g_steal_pointer(&error));

	qsort(nodedevs, n, sizeof(*nodedevs), vv_cli_compare_nodedevs);
	if (json && status == VV_CLI_EXIT_OK)
		builder = vv_cli_json_begin("nodedev-list", "devices");
	for (int i = 0; i < n && status == VV_CLI_EXIT_OK; i++) {
		const char *name = virNodeDeviceGetName(nodedevs[i]);
		g_autofree char *address = vv_address_parse(name, &error);
		g_autoptr(vv_device) device = address ? vv_device_new(ctx, address, &error) : NULL;
		g_autoptr(vv_selection) selection = device ? vv_selection_new(ctx, device, &error) : NULL;
		const vv_candidate *selected;

		if (!selection && device && vv_cli_choice_unknown(globals, error)) {
			/* No module index: the rest is shown, the choice unknown. */
			g_clear_error(&unknown);
			unknown = g_steal_pointer(&error);
		} else if (!selection) {
			status = vv_cli_error(g_steal_pointer(&error));
			break;
		}
		if (builder) {
			vv_cli_json_device(builder, ctx, device, selection, unknown);
			continue;
		}
		selected = selection ? vv_selection_get_selected(selection) : NULL;
		g_print("%-20s  %-14s  %s\n", name,
			vv_device_get_driver(device) ? vv_device_get_driver(device) : "-",
			selected ? vv_candidate_get_module(selected) :
			selection ? vv_cli_short_reason(selection) : _("unknown: no module index"));
	}
	if (builder && status == VV_CLI_EXIT_OK)
		vv_cli_json_end(builder, NULL);
	else
		g_clear_object(&builder);
	if (unknown && status == VV_CLI_EXIT_OK) {
		if (!json)
			g_printerr(_("vfio-variant: warning: the VFIO driver of each device is unknown: %s\n"), unknown->message);
		status = VV_CLI_EXIT_UNKNOWN;
	}
	for (int i = 0; i < n; i++)
		virNodeDeviceFree(nodedevs[i]);
	free(nodedevs);
	return status;
}
