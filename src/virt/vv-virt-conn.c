/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt connections and node devices, through libvirt's public API only.
 * libvirt's errors keep libvirt's words: a GError here holds our sentence,
 * a newline, then libvirt's message, and the CLI prints each line after
 * "error: " as virsh does.
 */
#include <string.h>

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

/* Transports that never leave this machine: none (the driver runs in this
 * process, or libvirt's default, the daemon's UNIX socket) and "unix". */
static const char *const vv_virt_local_transports[] = { "", "unix", NULL };

gboolean
vv_virt_uri_is_local(const char *uri)
{
	g_autoptr(GUri) parsed = NULL;
	const char *scheme;
	const char *plus;
	const char *host;

	/* Relaxed and encoded: libvirt's own URI syntax (virURIFormat) is what
	 * comes back, and a query such as ?socket=/path stays as it is. What
	 * cannot be parsed cannot be shown to be local. */
	parsed = g_uri_parse(uri, G_URI_FLAGS_PARSE_RELAXED | G_URI_FLAGS_ENCODED | G_URI_FLAGS_NON_DNS, NULL);
	if (!parsed || !(scheme = g_uri_get_scheme(parsed)))
		return FALSE;
	/* Any server part is remote, "localhost" and this machine's own name
	 * included: libvirt sends such a URI through its remote driver over
	 * TCP, TLS or SSH, whose other end may be a container, a network
	 * namespace or a port forwarded to another machine; nothing tells us
	 * it is this kernel's sysfs. The local spelling (no host) always
	 * exists. */
	host = g_uri_get_host(parsed);
	if (host && *host)
		return FALSE;
	if (g_uri_get_port(parsed) != -1 || g_uri_get_userinfo(parsed))
		return FALSE;
	/* "driver+transport": ssh, libssh, libssh2, tcp and tls without a host
	 * go to a default host, and ext runs a command that may go anywhere. */
	plus = strchr(scheme, '+');
	return g_strv_contains(vv_virt_local_transports, plus ? plus + 1 : "");
}

virConnectPtr
vv_virt_connect(const char *uri, gboolean read_only, GError **error)
{
	virConnectPtr conn;
	g_autofree char *connected = NULL;

	virSetErrorFunc(NULL, vv_virt_quiet);
	conn = read_only ? virConnectOpenReadOnly(uri) : virConnectOpen(uri);
	if (!conn) {
		g_set_error(error, VV_VIRT_ERROR, VV_VIRT_ERROR_CONNECT,
			    _("failed to connect to the hypervisor\n%s"), vv_virt_last_error());
		return NULL;
	}
	/* Decided on the URI libvirt connected to, not on the one given: with
	 * none, LIBVIRT_DEFAULT_URI or libvirt's configured default
	 * (uri_default in libvirt.conf) chose it. */
	connected = virConnectGetURI(conn);
	if (!connected) {
		g_set_error(error, VV_VIRT_ERROR, VV_VIRT_ERROR_CONNECT,
			    _("failed to get the URI of the libvirt connection\n%s"), vv_virt_last_error());
		virConnectClose(conn);
		return NULL;
	}
	if (!vv_virt_uri_is_local(connected)) {
		g_autofree char *shown = g_strescape(connected, NULL);

		g_set_error(error, VV_VIRT_ERROR, VV_VIRT_ERROR_NOT_LOCAL,
			    _("the libvirt connection '%1$s' is not local: vfio-variant reads, moves and records the devices of the machine it runs on, so a device of another host must not be handled from here"),
			    shown);
		virConnectClose(conn);
		return NULL;
	}
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
		g_set_error(error, VV_VIRT_ERROR, VV_VIRT_ERROR_NO_NODEDEV,
			    _("failed to get node device '%1$s'\n%2$s"), nodedev_name, vv_virt_last_error());
	return device;
}

gboolean
vv_virt_target_open(vv_virt_target *target, const char *uri, const char *address, GError **error)
{
	target->address = g_strdup(address);
	if (!(target->conn = vv_virt_connect(uri, FALSE, error)) ||
	    !(target->nodedev = vv_virt_lookup_nodedev(target->conn, address, error)) ||
	    !vv_virt_get_version(target->conn, &target->version, error))
		return FALSE;
	target->name = virNodeDeviceGetName(target->nodedev);
	target->strategy = vv_virt_strategy_for_version(target->version);
	return TRUE;
}

void
vv_virt_target_clear(vv_virt_target *target)
{
	g_clear_pointer(&target->nodedev, virNodeDeviceFree);
	g_clear_pointer(&target->conn, virConnectClose);
	g_clear_pointer(&target->address, g_free);
	target->name = NULL;
}
