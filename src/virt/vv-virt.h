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
 * when READ_ONLY. Errors are libvirt's, reported as virsh reports them. */
virConnectPtr vv_virt_connect(const char *uri, gboolean read_only, GError **error);

/* The node device NAME: a node-device name, or any device name
 * vv_address_parse() accepts. */
virNodeDevicePtr vv_virt_lookup_nodedev(virConnectPtr conn, const char *name, GError **error);

/* libvirt's last error, as one line ("no node device with ..."). */
const char *vv_virt_last_error(void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virConnect, virConnectClose)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virNodeDevice, virNodeDeviceFree)
