/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt side of vfio-variant: node-device XML and libvirt connections.
 * Used by the CLI (and the hook); uses only the library's public header.
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <vfio-variant/vfio-variant.h>

/* vv-virt-xml.c: libvirt's node-device XML, extended with our <vfio>. */

/* Put the <vfio> element VFIO_XML (vv_selection_to_xml(..., FALSE)) inside
 * the <driver> of the node-device document NODEDEV_XML; a device libvirt
 * shows without a driver gets a <driver> holding only <vfio>. Nothing of
 * libvirt's part is changed. Returns the merged document, or NULL with
 * ERROR set when either input is not well-formed. */
char *vv_virt_xml_merge(const char *nodedev_xml, const char *vfio_xml, GError **error);

/* The reverse: the document without our elements (and without a <driver>
 * we added), as libvirt's own schema expects it. */
char *vv_virt_xml_strip(const char *merged_xml, GError **error);

/* vv-virt-conn.c: connections and node devices. */

/* Open URI (NULL: LIBVIRT_DEFAULT_URI, then libvirt's default), read-only
 * when READ_ONLY. Errors are libvirt's, reported as virsh reports them.
 * Every caller reads or changes this host's devices, so a connection whose
 * URI (virConnectGetURI(), after connecting) is not local is closed again
 * and refused with VV_ERROR_INVALID_ARGUMENT. */
virConnectPtr vv_virt_connect(const char *uri, gboolean read_only, GError **error);

/* TRUE when the libvirt URI names a driver on this machine: no server part
 * (no host, port or user, "localhost" included) and no transport or the
 * "unix" transport. qemu:///system, qemu+unix:///system?socket=PATH and
 * test:///default are local; qemu+ssh://host/system, qemu://localhost/system
 * and qemu+ext:///system?command=CMD are not, nor is what does not parse. */
gboolean vv_virt_uri_is_local(const char *uri);

/* The node device NAME: a node-device name, or any device name
 * vv_address_parse() accepts. */
virNodeDevicePtr vv_virt_lookup_nodedev(virConnectPtr conn, const char *name, GError **error);

/* libvirt's last error, as one line ("no node device with ..."). */
const char *vv_virt_last_error(void);

/* vv-virt-detach.c: detach and reattach through libvirt. */

/* The first libvirt whose virNodeDeviceDetachFlags() binds a driver given
 * by name (and whose reattach and managed='no' check accept any VFIO
 * driver), as virConnectGetLibVersion() counts: 9.7.0. */
#define VV_VIRT_VERSION_DRIVER_NAMES 9007000UL

/* What a libvirt version's node-device API does with a VFIO driver. */
typedef struct {
	/* virNodeDeviceDetachFlags() binds the driver it is given by name;
	 * otherwise it takes only "vfio" and binds vfio-pci, and vfio-variant
	 * moves the device to the chosen driver afterwards. */
	gboolean detach_by_driver_name;
	/* virNodeDeviceReAttach() unbinds only a stub driver it knows: the
	 * device is moved to vfio-pci first. */
	gboolean reattach_from_generic;
} vv_virt_strategy;

/* The strategy for VERSION (major * 1000000 + minor * 1000 + release). */
vv_virt_strategy vv_virt_strategy_for_version(unsigned long version);
/* "9.0.0" */
char *vv_virt_version_string(unsigned long version);
/* The version of the libvirt the daemon behind CONN runs. */
gboolean vv_virt_get_version(virConnectPtr conn, unsigned long *version, GError **error);

/* TRUE when the domain XML gives the guest the PCI device ADDRESS (a
 * <hostdev type='pci'> or an <interface type='hostdev'>). */
gboolean vv_virt_domain_xml_uses(const char *domain_xml, const char *address);
/* The name of the running domain that uses ADDRESS; NULL when none (or
 * on error, with ERROR set). */
char *vv_virt_find_domain_using(virConnectPtr conn, const char *address, GError **error);

/* virNodeDeviceDetachFlags(NODEDEV, DRIVER) and virNodeDeviceReAttach();
 * errors as virsh words them ("Failed to detach device NAME", then
 * libvirt's message on a line of its own). */
gboolean vv_virt_nodedev_detach(virNodeDevicePtr nodedev, const char *driver, GError **error);
gboolean vv_virt_nodedev_reattach(virNodeDevicePtr nodedev, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virConnect, virConnectClose)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virNodeDevice, virNodeDeviceFree)
