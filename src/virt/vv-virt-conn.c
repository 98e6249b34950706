/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt connections and node devices, through libvirt's public API only.
 * libvirt's errors keep libvirt's words: a GError here holds our sentence,
 * a newline, then libvirt's message, and the CLI prints each line after
 * "error: " as virsh does.
 */
#include <glib/gi18n.h>

#include "vv-virt.h"

/* libvirt prints every error to stderr unless told otherwise; we report
 * them ourselves, once, with what was being done. */
static void
vv_virt_quiet(void *data, virErrorPtr error)
{
}

const char *
vv_virt_last_error(void)
{
	const char *message = virGetLastErrorMessage();

	return message ? message : _("unknown libvirt error");
}

virConnectPtr
vv_virt_connect(const char *uri, gboolean read_only, GError **error)
{
	virConnectPtr conn;

	virSetErrorFunc(NULL, vv_virt_quiet);
	conn = read_only ? virConnectOpenReadOnly(uri) : virConnectOpen(uri);
	if (!conn)
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_FOUND,
			    _("failed to connect to the hypervisor\n%s"), vv_virt_last_error());
	return conn;
}

virNodeDevicePtr
vv_virt_lookup_nodedev(virConnectPtr conn, const char *name, GError **error)
{
	g_autofree char *address = vv_address_parse(name, error);
	g_autofree char *nodedev_name = NULL;
	virNodeDevicePtr device;

	if (!address)
		return NULL;
	nodedev_name = vv_address_to_nodedev_name(address);
	device = virNodeDeviceLookupByName(conn, nodedev_name);
	if (!device)
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_FOUND,
			    _("failed to get node device '%1$s'\n%2$s"), nodedev_name, vv_virt_last_error());
	return device;
}
