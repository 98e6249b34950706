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

/* vv-virt-error.c: what src/virt reports. The message states the fact
 * (libvirt's own words on lines of their own, as virsh shows them); the
 * caller adds what to do. */
#define VV_VIRT_ERROR (vv_virt_error_quark())
GQuark vv_virt_error_quark(void);

typedef enum {
	VV_VIRT_ERROR_CONNECT,           /* no connection to libvirt at the URI */
	VV_VIRT_ERROR_NOT_LOCAL,         /* the connection is not to this machine */
	VV_VIRT_ERROR_NO_NODEDEV,        /* libvirt has no such node device, or its XML */
	VV_VIRT_ERROR_VERSION,           /* the daemon's version cannot be read */
	VV_VIRT_ERROR_DOMAINS,           /* the running domains cannot be listed */
	VV_VIRT_ERROR_IN_USE,            /* a running domain has the device */
	VV_VIRT_ERROR_DETACH_REFUSED,    /* virNodeDeviceDetachFlags() failed */
	VV_VIRT_ERROR_REATTACH_REFUSED,  /* virNodeDeviceReAttach() failed */
	VV_VIRT_ERROR_UNVERIFIED,        /* libvirt detached it, but not onto a VFIO driver */
	VV_VIRT_ERROR_MOVE_FAILED,       /* the binding engine could not move it between VFIO drivers */
	VV_VIRT_ERROR_NOT_RESTORED,      /* libvirt gave it back, but not to its native driver, and that failed */
	VV_VIRT_ERROR_RECORD,            /* the device is detached, but its record cannot be read back */
} vv_virt_error_code;
/* One more than the last code, for tables that must cover them all. */
#define VV_VIRT_ERROR_N_CODES (VV_VIRT_ERROR_RECORD + 1)

/* vv-virt-xml.c: libvirt's node-device XML, extended with our <vfio>. */

/* Put the <vfio> element VFIO_XML (vv_selection_to_xml(..., FALSE)) inside
 * the <driver> of the node-device document NODEDEV_XML; for a device libvirt
 * shows without a driver, <vfio> is a child of <device> where <driver> would
 * be. Nothing of libvirt's part is changed or added. Returns the merged document, or NULL with
 * ERROR set when either input is not well-formed. */
char *vv_virt_xml_merge(const char *nodedev_xml, const char *vfio_xml, GError **error);

/* The reverse: the document without any element of our namespace, which
 * is libvirt's document as it was. */
char *vv_virt_xml_strip(const char *merged_xml, GError **error);

/* vv-virt-conn.c: connections and node devices. */

/* Open URI (NULL: LIBVIRT_DEFAULT_URI, then libvirt's default), read-only
 * when READ_ONLY. Errors are libvirt's, reported as virsh reports them.
 * Every caller reads or changes this host's devices, so a connection whose
 * URI (virConnectGetURI(), after connecting) is not local is closed again
 * and refused with VV_VIRT_ERROR_NOT_LOCAL; no connection at all is
 * VV_VIRT_ERROR_CONNECT. */
virConnectPtr vv_virt_connect(const char *uri, gboolean read_only, GError **error);

/* TRUE when the libvirt URI names a driver on this machine: no server part
 * (no host, port or user, "localhost" included) and no transport or the
 * "unix" transport. qemu:///system, qemu+unix:///system?socket=PATH and
 * test:///default are local; qemu+ssh://host/system, qemu://localhost/system
 * and qemu+ext:///system?command=CMD are not, nor is what does not parse. */
gboolean vv_virt_uri_is_local(const char *uri);

/* The node device NAME: a node-device name, or any device name
 * vv_address_parse() accepts (VV_VIRT_ERROR_NO_NODEDEV, or the library's
 * error for a malformed name). */
virNodeDevicePtr vv_virt_lookup_nodedev(virConnectPtr conn, const char *name, GError **error);

/* libvirt's last error, as one line ("no node device with ..."). */
const char *vv_virt_last_error(void);

/* vv-virt-detach.c, vv-virt-reattach.c: detach and reattach through
 * libvirt, the whole version-dependent protocol. */

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
/* The version of the libvirt the daemon behind CONN runs
 * (VV_VIRT_ERROR_VERSION). */
gboolean vv_virt_get_version(virConnectPtr conn, unsigned long *version, GError **error);

/* TRUE when the domain XML gives the guest the PCI device ADDRESS (a
 * <hostdev type='pci'> or an <interface type='hostdev'>). */
gboolean vv_virt_domain_xml_uses(const char *domain_xml, const char *address);
/* The name of the running domain that uses ADDRESS; NULL when none (or
 * on error, with ERROR set: VV_VIRT_ERROR_DOMAINS). */
char *vv_virt_find_domain_using(virConnectPtr conn, const char *address, GError **error);

/* A device both commands act on: its address, libvirt's node device on a
 * read-write connection, and the daemon's version with what it does. */
typedef struct {
	char *address;            /* 0000:03:00.1 */
	virConnectPtr conn;
	virNodeDevicePtr nodedev;
	const char *name;         /* libvirt's node-device name, pci_0000_03_00_1 */
	unsigned long version;    /* the daemon's (virConnectGetLibVersion()) */
	vv_virt_strategy strategy;
} vv_virt_target;

/* Connect to URI read-write (vv_virt_connect()), look the node device of
 * ADDRESS (a canonical PCI address) up and read the daemon's version.
 * Errors: VV_VIRT_ERROR_CONNECT, _NOT_LOCAL, _NO_NODEDEV, _VERSION. */
gboolean vv_virt_target_open(vv_virt_target *target, const char *uri, const char *address, GError **error);
void vv_virt_target_clear(vv_virt_target *target);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(vv_virt_target, vv_virt_target_clear)

/* What the caller asks of a detach or reattach. */
typedef struct {
	/* detach: bind this driver (module or driver name, checked by the
	 * caller) instead of the selected one, with no fallback. */
	const char *driver;
	/* detach: even when the host visibly uses the device. */
	gboolean force;
	/* the IOMMU group lock's timeout */
	guint timeout_ms;
} vv_virt_options;

/* Where a device is, read after the step that moved it. */
typedef struct {
	gboolean readable; /* FALSE: the device could not be read */
	char *driver;      /* NULL: no driver */
} vv_virt_driver;

/* What libvirt believes of the device when the call returns. */
typedef enum {
	/* Not asked, or it refused: it believes what it did before. */
	VV_VIRT_LIBVIRT_UNCHANGED,
	/* Detached: in libvirt's (in-memory) list, so a managed='no' hostdev
	 * of it starts, and virsh nodedev-reattach gives it back. */
	VV_VIRT_LIBVIRT_DETACHED,
	/* Given back by virNodeDeviceReAttach() (also when a failed detach
	 * was undone through libvirt). */
	VV_VIRT_LIBVIRT_REATTACHED,
} vv_virt_libvirt_state;

/* The device's record when the call returns. */
typedef enum {
	VV_VIRT_RECORD_NONE,       /* none: not written, rolled back or removed */
	VV_VIRT_RECORD_KEPT,       /* outcome->record holds it, as read back */
	VV_VIRT_RECORD_UNREADABLE, /* it exists but cannot be read: outcome->record_error */
} vv_virt_record_state;

/* How a detach that failed after its record was written was undone. */
typedef enum {
	VV_VIRT_ROLLBACK_NONE,   /* nothing to undo (success, or nothing changed) */
	VV_VIRT_ROLLBACK_DONE,   /* the device is back on its native driver, the record gone */
	VV_VIRT_ROLLBACK_FAILED, /* vv_recover() failed (rollback_error); the record is kept */
} vv_virt_rollback;

/*
 * The outcome of vv_virt_detach() or vv_virt_reattach(), filled whether it
 * succeeded or not: what was bound, by whom, and where everything is now.
 * Facts only; the caller words them.
 */
typedef struct {
	unsigned long version;      /* the daemon's libvirt, which decided the path */
	vv_virt_strategy strategy;

	/* ---- detach ---- */
	/* vv_detach_prepare(): the record of the native driver written and
	 * the chosen driver's module loaded (NULL: refused, nothing changed). */
	vv_bind_result *prepared;
	/* The driver name virNodeDeviceDetachFlags() took the device with:
	 * "vfio" below 9.7 (libvirt binds vfio-pci), else the chosen driver,
	 * or "vfio-pci" after a fallback. NULL when libvirt never took it. */
	char *libvirt_driver;
	/* The chosen driver gave way to vfio-pci: libvirt >= 9.7 could not
	 * bind it (fallback_reason: libvirt's words), or below 9.7 the move
	 * from vfio-pci to it was refused (the library's fallback). */
	gboolean fallback;
	char *fallback_reason;
	/* vv_detach_adopt(): libvirt's bind verified and recorded. */
	vv_bind_result *adopted;
	/* Below 9.7: the move from libvirt's vfio-pci to the chosen driver. */
	vv_bind_result *moved;
	/* A detach that failed after prepare: how it was undone, and why
	 * libvirt did not give the device back when it had taken it. */
	vv_virt_rollback rollback;
	char *rollback_error;
	char *release_error;

	/* ---- reattach ---- */
	/* The running domain that has the device as a hostdev. */
	char *domain;
	/* A record existed when the reattach began, naming native_driver
	 * (NULL: the device had none). */
	gboolean had_record;
	char *native_driver;
	/* Below 9.7: the VFIO driver the device was moved from to vfio-pci,
	 * the one driver that libvirt gives back, and that move. */
	char *moved_from;
	vv_bind_result *to_generic;
	/* libvirt refused: the move back to moved_from (or why it failed). */
	vv_bind_result *moved_back;
	char *move_back_error;
	/* The driver libvirt's reattach left the device on. */
	vv_virt_driver after_libvirt;
	/* vv_reattach() after libvirt: verified, and repaired where libvirt's
	 * reprobe did not reach the native driver (repaired TRUE). */
	vv_bind_result *restored;
	gboolean repaired;

	/* ---- both ---- */
	/* The bind result that ended the call's changes: adopted, moved or
	 * restored (borrowed from those fields; NULL when none). */
	const vv_bind_result *final;
	vv_virt_driver now;           /* where the device is when the call returns */
	vv_virt_libvirt_state libvirt;
	vv_virt_record_state record_state;
	vv_record *record;
	char *record_error;
} vv_virt_outcome;

void vv_virt_outcome_free(vv_virt_outcome *outcome);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_virt_outcome, vv_virt_outcome_free)

/*
 * Detach TARGET through libvirt's virNodeDeviceDetachFlags(), so that
 * libvirt's bookkeeping knows it, and bind the chosen VFIO driver:
 * libvirt >= 9.7 binds it by name (a selected variant it cannot bind
 * gives way to vfio-pci); below, libvirt binds vfio-pci and the binding
 * engine moves the device on. The record of the native driver is written
 * before libvirt's call; a failure before the device is on a VFIO driver
 * is undone (libvirt gives the device back if it took it, then
 * vv_recover()). *OUTCOME is always set, and says where things are.
 * Errors: the library's (VV_ERROR, from vv_detach_prepare(): nothing
 * changed), VV_VIRT_ERROR_DETACH_REFUSED, _UNVERIFIED, _MOVE_FAILED (below
 * 9.7: the device stays on vfio-pci, detached by libvirt), _RECORD.
 */
gboolean vv_virt_detach(vv_ctx *ctx, const vv_virt_target *target, const vv_virt_options *options,
			vv_virt_outcome **outcome, GError **error);

/*
 * Give TARGET back through libvirt's virNodeDeviceReAttach(), refused
 * while a running domain has it; below 9.7 the device is moved to vfio-pci
 * first (and back when libvirt refuses). Then the recorded native driver
 * is verified and, where libvirt's reprobe did not reach it, restored
 * (vv_reattach()); the record goes. *OUTCOME is always set.
 * Errors: the library's (VV_ERROR: the record or the device cannot be
 * read), VV_VIRT_ERROR_DOMAINS, _IN_USE, _MOVE_FAILED, _REATTACH_REFUSED,
 * _NOT_RESTORED.
 */
gboolean vv_virt_reattach(vv_ctx *ctx, const vv_virt_target *target, const vv_virt_options *options,
			  vv_virt_outcome **outcome, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virConnect, virConnectClose)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virNodeDevice, virNodeDeviceFree)
