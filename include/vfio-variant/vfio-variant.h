/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-variant: choose, bind and reattach the right VFIO driver for a PCI device.
 *
 * This is the whole public API. The CLI, the libvirt commands and the hook use
 * nothing else.
 *
 * Error model: functions that can fail take a trailing GError ** and return
 * NULL or FALSE on failure, with the error set in the VV_ERROR domain. Error
 * messages are translated, whole sentences that name the input and say what
 * failed.
 *
 * Messages state facts: which input, what failed. They name no option or
 * command of the tools built on the library; the error code (below) is
 * what a caller maps to its own advice and exit status.
 *
 * Ownership: the objects a context makes and hands around (vv_ctx,
 * vv_device, vv_selection, vv_policy, vv_record) are reference counted
 * (*_ref, *_unref); the option sets, bind results and declarations have
 * one owner and a *_free. Candidates, group blockers and libvirt's pick
 * live inside their selection and have neither. Every type with a
 * destructor has a g_autoptr() cleanup function. Unless a function's
 * comment says "transfer full": what *_get_*, *_describe and *_to_string
 * return (strings, lists, borrowed objects, const ones included) belongs
 * to the object it was read from, or is static, and lives as long as that
 * object; take a reference (*_ref) to keep a counted object longer.
 * "Transfer full": the caller owns the result and frees it as the comment
 * says (*_new and *_ref return a reference the caller drops with *_unref
 * or *_free).
 *
 * Lists: every list is a GPtrArray whose pdata is NULL-terminated
 * (pdata[len] is NULL, and pdata is never NULL, even for an empty list),
 * so a list of strings also reads as a const char *const *. A getter
 * returns const GPtrArray * (transfer none: the object's list; do not
 * change it). A function that builds a list returns GPtrArray * (transfer
 * full): the array has its elements' free function, so
 * g_ptr_array_unref() (or g_autoptr(GPtrArray)) frees the list and what
 * it holds; g_ptr_array_steal_index() takes one element out to keep it.
 * Each list function's comment names the element type and the order.
 *
 * Threads: reference counts are atomic, so an object may be handed to
 * and released on another thread; but a context and everything made from
 * it (devices, selections, policies, records, lists, bind results) fill
 * caches on first use (module indexes, the policy file, pci.ids names,
 * libvirt's pick) without locks, so use one context and its objects from
 * one thread at a time. Separate contexts may be used in parallel. The
 * functions that take no context or object (vv_address_*, vv_name_check,
 * vv_text_escape, vv_state_file_*, the *_to_string and *_describe of an
 * enum value) keep no state and may be called from any thread. The
 * binding functions also serialize with other threads and processes on
 * the IOMMU group's lock.
 *
 * ABI: everything declared here is in the symbol version VFIO_VARIANT_1.0
 * of libvfio-variant.so.1 (src/lib/libvfio-variant.sym), the first
 * release; that node freezes when 1.0.0 is tagged, and what a later
 * release adds gets that release's node.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ---- errors ---------------------------------------------------------- */

#define VV_ERROR (vv_error_quark())
GQuark vv_error_quark(void);

typedef enum {
	VV_ERROR_INVALID_ARGUMENT, /* a device name, option or path is malformed */
	VV_ERROR_NOT_FOUND,        /* no such device, directory or module */
	VV_ERROR_IO,               /* reading the host (sysfs, module indexes) failed */
	VV_ERROR_MODULES,          /* the module directory is unknown, or libkmod cannot read it */
	VV_ERROR_NOT_ASSIGNABLE,   /* no VFIO driver can take the device, or its group is not viable */
	VV_ERROR_IN_USE,           /* the host uses the device (an interface up, a file system mounted) */
	VV_ERROR_BUSY,             /* another command holds the device's IOMMU group */
	VV_ERROR_BIND,             /* a bind or reattach did not reach the expected driver */
	VV_ERROR_MODULE_LOAD,      /* a module could not be loaded */
	VV_ERROR_LIVE_HOST,        /* the test suite tried to change the live host (VV_TESTSUITE) */
	VV_ERROR_NEEDS_RECOVERY,   /* an operation was cut short and could not be undone; its record is kept for vv_recover() */
	VV_ERROR_DETACHED,         /* the device is already detached, to the VFIO driver its record names */
	VV_ERROR_ASSIGNED,         /* the device's record gives it to a libvirt domain (the qemu hook's) */
	VV_ERROR_BLACKLISTED,      /* modprobe.d blacklists the module that would have to be loaded */
	VV_ERROR_NO_PCI_DRIVER,    /* the module is loaded but registers no PCI driver */
	VV_ERROR_SYSROOT,          /* the host root is not laid out like one (no sys/bus/pci) */
	VV_ERROR_RECORD,           /* a device's record cannot be read or is incomplete */
	VV_ERROR_NOT_DETACHED,     /* a rebind found the device on no VFIO driver */
	VV_ERROR_GONE,             /* a reattach found the device gone from sysfs; its record is kept */
	VV_ERROR_DECLARED,         /* a reattach of a device the policy declares in VFIO mode (mode=vfio) */
} vv_error_code;

/* The XML namespace of the <vfio> element (explain --xml, node-device XML). */
#define VV_XML_NAMESPACE "urn:x-vfio-variant:nodedev:1"

/* The generic VFIO driver, which takes any assignable device: its PCI
 * driver name (sysfs, driver_override, libvirt's <driver model>) and its
 * module's name (modules.alias, modprobe). */
#define VV_VFIO_PCI_DRIVER "vfio-pci"
#define VV_VFIO_PCI_MODULE "vfio_pci"

/* ---- context: owns every root the library reads ------------------------ */

typedef struct vv_ctx_options vv_ctx_options;
typedef struct vv_ctx vv_ctx;

vv_ctx_options *vv_ctx_options_new(void);
void vv_ctx_options_free(vv_ctx_options *options);

/* Read the host laid out under DIR: DIR/sys, DIR/proc/sys/kernel/osrelease,
 * DIR/lib/modules/RELEASE, DIR/{etc,run,usr/local/lib,lib}/modprobe.d and
 * DIR/usr/share/misc/pci.ids. Default: "/" (the live host). */
void vv_ctx_options_set_sysroot(vv_ctx_options *options, const char *dir);

/* Use DIR as the module directory instead of DIR/lib/modules/RELEASE. */
void vv_ctx_options_set_modules_dir(vv_ctx_options *options, const char *dir);

/* Keep records and locks in DIR. Default: SYSROOT/run/vfio-variant
 * (/run/vfio-variant on the live host). */
void vv_ctx_options_set_state_dir(vv_ctx_options *options, const char *dir);

/* Create a context. OPTIONS may be NULL (the live host); the context
 * copies what it needs. Fails when the sysroot has no sys/bus/pci or the
 * module directory has no binary indexes. Transfer full. */
vv_ctx *vv_ctx_new(const vv_ctx_options *options, GError **error);
vv_ctx *vv_ctx_ref(vv_ctx *ctx);
void vv_ctx_unref(vv_ctx *ctx);

const char *vv_ctx_get_sysroot(const vv_ctx *ctx);
const char *vv_ctx_get_modules_dir(const vv_ctx *ctx);
const char *vv_ctx_get_kernel_release(const vv_ctx *ctx);
const char *vv_ctx_get_state_dir(const vv_ctx *ctx);

/* ---- device names ------------------------------------------------------ */

/* Turn "0000:03:00.1", "03:00.1" (domain 0) or "pci_0000_03_00_1" into the
 * canonical address "0000:03:00.1". Anything else is rejected. Transfer
 * full: g_free(). */
char *vv_address_parse(const char *name, GError **error);

/* "0000:03:00.1" -> "pci_0000_03_00_1" (libvirt's node-device name).
 * Transfer full: g_free(). */
char *vv_address_to_nodedev_name(const char *address);

/* ---- the device model (read from sysfs) ------------------------------- */

typedef struct vv_device vv_device;

/* Read the PCI device NAME (any form vv_address_parse() accepts).
 * Transfer full. */
vv_device *vv_device_new(vv_ctx *ctx, const char *name, GError **error);

/* Every PCI device of the host: a NULL-terminated GPtrArray of vv_device,
 * in address order, empty for an empty bus. Transfer full:
 * g_ptr_array_unref() also unrefs the devices. */
GPtrArray *vv_ctx_list_devices(vv_ctx *ctx, GError **error);

vv_device *vv_device_ref(vv_device *device);
void vv_device_unref(vv_device *device);

const char *vv_device_get_address(const vv_device *device);
const char *vv_device_get_nodedev_name(const vv_device *device);
guint16 vv_device_get_vendor_id(const vv_device *device);
guint16 vv_device_get_device_id(const vv_device *device);
guint16 vv_device_get_subsystem_vendor_id(const vv_device *device);
guint16 vv_device_get_subsystem_device_id(const vv_device *device);
guint32 vv_device_get_class(const vv_device *device); /* 0xBBSSII */
const char *vv_device_get_modalias(const vv_device *device);

/* Human names from pci.ids, or NULL when the database does not know them. */
const char *vv_device_get_vendor_name(vv_device *device);
const char *vv_device_get_product_name(vv_device *device);

/* The bound driver and its module; NULL when unbound (or, for the module,
 * when the driver is built in and has no module link). */
const char *vv_device_get_driver(const vv_device *device);
const char *vv_device_get_driver_module(const vv_device *device);
/* The driver_override value, NULL when none is set. */
const char *vv_device_get_driver_override(const vv_device *device);
/* TRUE when the bound driver is a VFIO driver (sysfs vfio-dev/ exists). */
gboolean vv_device_is_vfio_bound(const vv_device *device);

/* The IOMMU group number, -1 when the device has none. */
int vv_device_get_iommu_group(const vv_device *device);
/* Every device in the IOMMU group, this one included: a NULL-terminated
 * GPtrArray of address strings ("0000:03:00.1"), in address order; empty
 * when the device has no group. Transfer none (the device's). */
const GPtrArray *vv_device_get_group_members(const vv_device *device);

gboolean vv_device_is_bridge(const vv_device *device);
/* For a VF, the address of its PF; NULL otherwise. */
const char *vv_device_get_physfn(const vv_device *device);
/* For a PF, its enabled VFs: a NULL-terminated GPtrArray of address
 * strings, in VF index order (virtfn0 first); empty for any other device.
 * Transfer none (the device's). */
const GPtrArray *vv_device_get_virtfns(const vv_device *device);
guint vv_device_get_sriov_numvfs(const vv_device *device);
guint vv_device_get_sriov_totalvfs(const vv_device *device);

/* ---- selection: which VFIO driver, and why ----------------------------- */

typedef struct vv_selection vv_selection;
typedef struct vv_candidate vv_candidate;

/* Where a matching `vfio_pci:` alias came from. */
typedef enum {
	VV_ALIAS_SOURCE_MODULES_ALIAS, /* modules.alias.bin (loadable modules) */
	VV_ALIAS_SOURCE_BUILTIN,       /* modules.builtin.alias.bin (built-in drivers) */
	VV_ALIAS_SOURCE_CONFIG,        /* an `alias` line in modprobe.d */
	VV_ALIAS_SOURCE_POLICY,        /* no alias matches; the policy names the driver */
} vv_alias_source;

/* Why a device cannot be given to a VFIO driver at all. */
typedef enum {
	VV_UNASSIGNABLE_NONE = 0,
	VV_UNASSIGNABLE_BRIDGE,         /* header type is not "normal" */
	VV_UNASSIGNABLE_PF_WITH_VFS,    /* an SR-IOV PF with VFs enabled */
	VV_UNASSIGNABLE_NO_IOMMU_GROUP, /* no IOMMU group (IOMMU off or absent) */
} vv_unassignable;

/* Why a matching candidate cannot serve. */
typedef enum {
	VV_REJECTED_NONE = 0,
	VV_REJECTED_BLACKLISTED, /* `blacklist MODULE` in modprobe.d */
} vv_rejected;

/* Look up and rank every VFIO driver for DEVICE. Succeeds (with no selected
 * candidate) when the device is not assignable or nothing matches.
 * Transfer full. */
vv_selection *vv_selection_new(vv_ctx *ctx, vv_device *device, GError **error);
vv_selection *vv_selection_ref(vv_selection *selection);
void vv_selection_unref(vv_selection *selection);

/* The device it was made for. Transfer none. */
vv_device *vv_selection_get_device(const vv_selection *selection);
/* The lookup key: "vfio_" + modalias. */
const char *vv_selection_get_key(const vv_selection *selection);

vv_unassignable vv_selection_get_unassignable(const vv_selection *selection);
/* TRUE when every other member of the group is unbound or on a driver that
 * manages DMA itself (a VFIO driver, pcieport, pci-stub). */
gboolean vv_selection_is_group_viable(const vv_selection *selection);
/* A member of the group that makes it not viable: its address and the
 * driver it is bound to. Owned by its selection. */
typedef struct vv_group_blocker vv_group_blocker;
/* The members that make the group not viable: a NULL-terminated GPtrArray
 * of vv_group_blocker, in address order, empty when none. Transfer none
 * (the selection's). */
const GPtrArray *vv_selection_get_group_blockers(const vv_selection *selection);
const char *vv_group_blocker_get_address(const vv_group_blocker *blocker);
const char *vv_group_blocker_get_driver(const vv_group_blocker *blocker);

/* The chosen candidate, NULL when nothing was selected. */
const vv_candidate *vv_selection_get_selected(const vv_selection *selection);
/* TRUE when the winner's specificity equals the runner-up's (a tie broken
 * by the stated order: per-field specificity from vendor to interface,
 * then module name). */
gboolean vv_selection_is_tie(const vv_selection *selection);

/* The candidates: a NULL-terminated GPtrArray of vv_candidate, best
 * first: variants by specificity, the generic vfio_pci last, rejected ones
 * after those that can serve; the selected one, when there is one, first.
 * Empty when nothing matches. Transfer none (the selection's). */
const GPtrArray *vv_selection_get_candidates(const vv_selection *selection);

/* One translated sentence: why the selected candidate won, or why nothing
 * was selected. */
const char *vv_selection_get_summary(const vv_selection *selection);

/* The <vfio> element (namespace VV_XML_NAMESPACE), as a standalone document
 * when STANDALONE, else as a fragment to embed. Transfer full: g_free(). */
char *vv_selection_to_xml(const vv_selection *selection, gboolean standalone);

const char *vv_candidate_get_module(const vv_candidate *candidate);
/* The pci_driver name, NULL while the module is not loaded (unknown). */
const char *vv_candidate_get_driver(const vv_candidate *candidate);
const char *vv_candidate_get_alias(const vv_candidate *candidate);
vv_alias_source vv_candidate_get_source(const vv_candidate *candidate);
/* 2 per fully given field, 1 per partly globbed field, 0 per `*` (0..14). */
guint vv_candidate_get_specificity(const vv_candidate *candidate);
/* Fully given fields among the seven. */
guint vv_candidate_get_exact_fields(const vv_candidate *candidate);
gboolean vv_candidate_is_generic(const vv_candidate *candidate);
vv_rejected vv_candidate_get_rejected(const vv_candidate *candidate);
/* One translated sentence: why this candidate won, lost or was rejected. */
const char *vv_candidate_get_verdict(const vv_candidate *candidate);

/* Stable keywords used in XML; translated descriptions for people. */
const char *vv_alias_source_to_string(vv_alias_source source);
const char *vv_unassignable_to_string(vv_unassignable reason);
const char *vv_unassignable_describe(vv_unassignable reason);
const char *vv_rejected_to_string(vv_rejected reason);

/* ---- binding: detach to a VFIO driver, reattach the native one -------- */

/*
 * Changing the host. Every function below writes sysfs and loads modules
 * unless VV_BIND_DRY_RUN is given, and needs root on the live host.
 *
 * Each operation takes the IOMMU group's lock (STATE_DIR/locks; a dry run
 * takes none and writes nothing, not even there), keeps a record of the
 * device (STATE_DIR/devices/BDF.conf) with a journal of its steps, and
 * first settles an operation on that device that was cut short (see
 * vv_recover()). A device is never left without a driver by a failed
 * detach: it is returned to its original driver, or the error says that
 * this failed too (VV_ERROR_NEEDS_RECOVERY) and where the device is.
 *
 * Errors: VV_ERROR_NOT_ASSIGNABLE (bridge, PF with VFs, no IOMMU group,
 * group not viable: each blocker named, nothing selected),
 * VV_ERROR_IN_USE (the host uses the device, or a guest holds a member
 * of its group; without VV_BIND_FORCE), VV_ERROR_BUSY (lock timeout),
 * VV_ERROR_MODULE_LOAD, VV_ERROR_BLACKLISTED (the module a named driver
 * needs), VV_ERROR_NO_PCI_DRIVER (a module loaded for the bind registers
 * none), VV_ERROR_BIND (the driver refused or another bound; the message
 * says where the device is now), VV_ERROR_DETACHED (a detach of a device
 * already detached, or on a VFIO driver without a record),
 * VV_ERROR_NOT_DETACHED (a rebind of a device on no VFIO driver),
 * VV_ERROR_ASSIGNED (a reattach of a device a libvirt domain holds, by
 * its record; without VV_BIND_FORCE), VV_ERROR_GONE (a reattach of a
 * device gone from sysfs; VV_BIND_FORCE removes its record),
 * VV_ERROR_NEEDS_RECOVERY (the operation failed half way and could not be
 * undone; the record is kept and vv_recover() settles it once the cause
 * is fixed), VV_ERROR_IO (sysfs or the record could not be written).
 * The messages state facts; a front end adds what its user can do.
 */

typedef enum {
	VV_BIND_FLAGS_NONE = 0,
	VV_BIND_GENERIC = 1 << 0, /* use vfio_pci, whatever the selection says */
	VV_BIND_DRY_RUN = 1 << 1, /* plan the actions, make none */
	VV_BIND_FORCE = 1 << 2,   /* detach a device the host visibly uses */
	VV_BIND_STRICT = 1 << 3,  /* a driver that refuses the device gets no fallback to vfio-pci (vv_rebind()) */
} vv_bind_flags;

/* Who asked, kept in the record. */
typedef enum {
	VV_REQUESTER_CLI,
	VV_REQUESTER_LIBVIRT,
	VV_REQUESTER_HOOK,
	VV_REQUESTER_UDEV, /* vv_apply() from the udev rule at a device's add */
	VV_REQUESTER_BOOT, /* vv_apply() from the boot unit (apply --all) */
} vv_requester;

typedef struct vv_bind_options vv_bind_options;
typedef struct vv_bind_result vv_bind_result;
typedef struct vv_record vv_record;

vv_bind_options *vv_bind_options_new(void);
void vv_bind_options_free(vv_bind_options *options);
/* Bind this driver (a module or a driver name) instead of the selection's.
 * A named driver that refuses the device gets no fallback. */
void vv_bind_options_set_driver(vv_bind_options *options, const char *name);
void vv_bind_options_set_flags(vv_bind_options *options, vv_bind_flags flags);
void vv_bind_options_set_requester(vv_bind_options *options, vv_requester requester);
/* How long to wait for the IOMMU group's lock. Default: 10000 ms. */
void vv_bind_options_set_lock_timeout(vv_bind_options *options, guint milliseconds);

/* Detach DEVICE from its driver and bind its VFIO driver. OPTIONS may be
 * NULL (selection, requester cli). The binding functions return a result
 * the caller owns (transfer full: vv_bind_result_free()). */
vv_bind_result *vv_detach(vv_ctx *ctx, const char *device, const vv_bind_options *options, GError **error);
/* Give DEVICE back to the driver recorded when it was detached (only
 * VV_BIND_DRY_RUN of the flags applies). */
vv_bind_result *vv_reattach(vv_ctx *ctx, const char *device, const vv_bind_options *options, GError **error);
/* Settle an operation on DEVICE that was cut short: a detach is rolled
 * back, a reattach finished; both end on the recorded native driver. A
 * finished detach is left alone. */
vv_bind_result *vv_recover(vv_ctx *ctx, const char *device, const vv_bind_options *options, GError **error);

void vv_bind_result_free(vv_bind_result *result);
/* Each sysfs write and module load as one line, made (or, for a dry run,
 * planned): a NULL-terminated GPtrArray of strings, in the order they
 * were made. Transfer none (the result's). */
const GPtrArray *vv_bind_result_get_actions(const vv_bind_result *result);
/* Translated sentences for the user (fallbacks, warnings): a
 * NULL-terminated GPtrArray of strings, in the order they arose. Transfer
 * none (the result's). */
const GPtrArray *vv_bind_result_get_messages(const vv_bind_result *result);
/* The driver the device is on at the end (planned for a dry run), NULL: none. */
const char *vv_bind_result_get_driver(const vv_bind_result *result);
/* TRUE when nothing needed doing. */
gboolean vv_bind_result_is_noop(const vv_bind_result *result);
/* TRUE when the variant refused and vfio-pci took the device. */
gboolean vv_bind_result_is_fallback(const vv_bind_result *result);

/* The record of one device (VV_ERROR_NOT_FOUND when there is none;
 * transfer full: vv_record_unref()), or of every device that has one: a
 * NULL-terminated GPtrArray of vv_record, in address order, empty when
 * none; one record that cannot be read fails the whole list (read them
 * one by one with vv_ctx_list_record_addresses() to tell). Transfer full:
 * g_ptr_array_unref() also unrefs the records. */
vv_record *vv_record_load(vv_ctx *ctx, const char *device, GError **error);
GPtrArray *vv_ctx_list_records(vv_ctx *ctx, GError **error);

/* The address of every device that has a record file, whether or not the
 * record can be read (load each with vv_record_load() to tell): a
 * NULL-terminated GPtrArray of address strings, in address order. An
 * absent state directory has none; a devices/ directory that is a
 * symbolic link is refused (VV_ERROR_IO). Transfer full:
 * g_ptr_array_unref() also frees the strings. */
GPtrArray *vv_ctx_list_record_addresses(vv_ctx *ctx, GError **error);

/* Replace the state file PATH (a record, the hook's plan) with
 * the LENGTH bytes of DATA, atomically: a temporary PATH.XXXXXX in the same
 * directory, flushed, then renamed over PATH. The directory is created
 * when absent and must not be a symbolic link. The caller must be PATH's
 * only writer at that moment (it holds the lock every writer takes):
 * temporaries of PATH that killed writers left behind are removed.
 * Errors: VV_ERROR_IO. */
gboolean vv_state_file_write(const char *path, const char *data, gsize length, GError **error);
/* The contents of the state file PATH, NUL-terminated (its
 * size in *LENGTH when LENGTH is not NULL), as the records are read:
 * neither PATH nor its directory may be a symbolic link, PATH must be a
 * regular file (opened non-blocking, so a FIFO cannot hang the caller),
 * and one larger than MAX bytes is refused unread. Errors:
 * VV_ERROR_NOT_FOUND when PATH or its directory does not exist,
 * VV_ERROR_IO for everything else. Transfer full: g_free(). */
char *vv_state_file_read(const char *path, gsize max, gsize *length, GError **error);
vv_record *vv_record_ref(vv_record *record);
void vv_record_unref(vv_record *record);
const char *vv_record_get_address(const vv_record *record);
/* The driver, module and driver_override before the detach; NULL: none. */
const char *vv_record_get_original_driver(const vv_record *record);
const char *vv_record_get_original_module(const vv_record *record);
const char *vv_record_get_original_override(const vv_record *record);
/* The VFIO driver and module chosen. The driver is NULL until known. */
const char *vv_record_get_driver(const vv_record *record);
const char *vv_record_get_module(const vv_record *record);
gboolean vv_record_is_fallback(const vv_record *record);
/* ISO 8601 UTC time of the detach. */
const char *vv_record_get_time(const vv_record *record);
vv_requester vv_record_get_requester(const vv_record *record);
/* "detach" or "reattach", and the last step it completed ("recorded",
 * "started", "module-loaded", "override-set", "unbound", "probed",
 * "verified"). A detach whose step is "verified" is complete; anything else
 * is under way or was cut short (vv_recover() settles it). */
const char *vv_record_get_operation(const vv_record *record);
const char *vv_record_get_step(const vv_record *record);
gboolean vv_record_is_complete(const vv_record *record);

const char *vv_requester_to_string(vv_requester requester);

/* ---- policy: the administrator's rules -------------------------------- */

/*
 * SYSCONFDIR/vfio-variant/vfio-variant.conf (SYSROOT/etc/vfio-variant/
 * vfio-variant.conf under a sysroot), a GLib key file with the groups
 * [global], [id VENDOR:DEVICE] and [device ADDRESS], each with the keys
 * driver=auto|generic|deny|NAME, hook-mode=fallback|strict and
 * mode=vfio|host (see "VFIO mode" below), followed by its drop-ins
 * FILE.d/NAME.conf in byte order. For each key the most specific group
 * that sets it wins (device, id, global; at one level, the later file);
 * without one: auto and fallback. The selection applies it: deny selects
 * nothing, generic selects vfio_pci, NAME selects that driver even when
 * none of its aliases matches. The file is read on the first selection;
 * a malformed one fails every selection with VV_ERROR_INVALID_ARGUMENT
 * naming the file, the line and what to write.
 */

typedef enum {
	VV_POLICY_AUTO = 0, /* the selection decides */
	VV_POLICY_GENERIC,  /* always vfio_pci */
	VV_POLICY_DRIVER,   /* the named driver */
	VV_POLICY_DENY,     /* no VFIO driver: nothing is selected, nothing binds */
} vv_policy_action;

/* Which rule applied. */
typedef enum {
	VV_POLICY_SCOPE_DEFAULT = 0, /* no rule: auto */
	VV_POLICY_SCOPE_GLOBAL,
	VV_POLICY_SCOPE_ID,          /* [id VENDOR:DEVICE] */
	VV_POLICY_SCOPE_DEVICE,      /* [device ADDRESS] */
} vv_policy_scope;

/* What the qemu hook does when the planned driver refuses the device. */
typedef enum {
	VV_HOOK_MODE_FALLBACK = 0, /* bind vfio-pci and let the guest start */
	VV_HOOK_MODE_STRICT,       /* the guest does not start */
} vv_hook_mode;

typedef struct vv_policy vv_policy;

/* Read the policy from FILE instead of the default path; a FILE that does
 * not exist is an error (the default path may be absent). */
void vv_ctx_options_set_config_file(vv_ctx_options *options, const char *file);
/* The policy file this context reads (it may not exist). */
const char *vv_ctx_get_config_file(const vv_ctx *ctx);

/* The rule that applies to DEVICE. Transfer full. */
vv_policy *vv_policy_new(vv_ctx *ctx, vv_device *device, GError **error);
vv_policy *vv_policy_ref(vv_policy *policy);
void vv_policy_unref(vv_policy *policy);
/* The policy the selection applied. Transfer none (vv_policy_ref() to
 * keep it longer than the selection). */
vv_policy *vv_selection_get_policy(const vv_selection *selection);

vv_policy_action vv_policy_get_action(const vv_policy *policy);
/* The driver or module named by driver=NAME; NULL otherwise. */
const char *vv_policy_get_driver(const vv_policy *policy);
vv_policy_scope vv_policy_get_scope(const vv_policy *policy);
/* The policy file, NULL when there is none. */
const char *vv_policy_get_file(const vv_policy *policy);
/* The line of the rule and its group as written ("device 0000:03:00.1");
 * 0 and NULL for the default. */
guint vv_policy_get_line(const vv_policy *policy);
const char *vv_policy_get_group(const vv_policy *policy);
vv_hook_mode vv_policy_get_hook_mode(const vv_policy *policy);
/* One translated phrase: the action and where it comes from. */
const char *vv_policy_describe(const vv_policy *policy);

/* Stable keywords (XML). */
const char *vv_policy_action_to_string(vv_policy_action action);
const char *vv_policy_scope_to_string(vv_policy_scope scope);
const char *vv_hook_mode_to_string(vv_hook_mode mode);

/* ---- moves between VFIO drivers, for the qemu hook --------------------- */

/* The device's native state, for a record made after the device left it
 * (the hook sees the native driver at 'prepare', before libvirt binds
 * vfio-pci): vv_rebind() puts it in a record it creates, and vv_reattach()
 * returns a device that has no record to it. DRIVER NULL: no driver. */
void vv_bind_options_set_native(vv_bind_options *options, const char *driver, const char *module,
				const char *override);
/* The libvirt domain that uses the device, kept in the record (NULL:
 * none); MANAGED: its hostdev is managed='yes'. A record with a domain is
 * reattached only by the hook (requester hook) or with VV_BIND_FORCE. */
void vv_bind_options_set_domain(vv_bind_options *options, const char *domain, gboolean managed);

/* Move DEVICE, which is on a VFIO driver, to another one (the options'
 * driver, vfio_pci with VV_BIND_GENERIC, else the selection's), under the
 * group lock, keeping the record of where it came from: an existing
 * record keeps its native driver; a new one takes the options' native
 * state, or else the VFIO driver it is on. A driver that refuses the
 * device gives way to vfio-pci unless VV_BIND_STRICT; any failure returns
 * the device to the VFIO driver it was on. A device that ends on the
 * driver its record started from loses the record. The group's viability
 * and the host's use are not checked: a VFIO driver holds the device. */
vv_bind_result *vv_rebind(vv_ctx *ctx, const char *device, const vv_bind_options *options, GError **error);

/* Load the module of NAME (a module or driver name) for DEVICE (named in
 * messages; may be NULL), honouring modprobe.d's blacklist, and return the
 * PCI driver name it registered. A module another process is loading is
 * waited for until it is live (at most 5 s; VV_ERROR_MODULE_LOAD after
 * that). Transfer full: g_free(). */
char *vv_ctx_load_driver(vv_ctx *ctx, const char *name, const char *device, GError **error);

/* The domain the record's device is assigned to (NULL: none), and whether
 * its hostdev is managed. */
const char *vv_record_get_domain(const vv_record *record);
gboolean vv_record_is_managed(const vv_record *record);

/* ---- binds made by libvirt's node-device API --------------------------- */

/*
 * When libvirt binds the VFIO driver (virNodeDeviceDetachFlags), so that
 * its own bookkeeping knows the device, the record is written around its
 * bind:
 *  1. vv_detach_prepare() checks what vv_detach() checks (assignable, group
 *     viable, not in use unless VV_BIND_FORCE), writes the record of the
 *     native driver (a detach under way: vv_recover() rolls it back), and
 *     loads the chosen module (the options' driver, vfio_pci with
 *     VV_BIND_GENERIC, else the selection's): vv_bind_result_get_driver()
 *     names the driver to bind. Nothing in sysfs changes. A device already
 *     on a VFIO driver without a record is refused: its native driver is
 *     unknown.
 *  2. libvirt binds.
 *  3. vv_detach_adopt() verifies that the device is on a VFIO driver (the
 *     driver link and vfio-dev/) and completes the record with that driver;
 *     vfio-pci where a variant was chosen is recorded as a fallback. It
 *     writes nothing but the record; on failure the record stays a detach
 *     under way, for vv_recover().
 * Each takes the group lock for its own step only.
 */
vv_bind_result *vv_detach_prepare(vv_ctx *ctx, const char *device, const vv_bind_options *options, GError **error);
vv_bind_result *vv_detach_adopt(vv_ctx *ctx, const char *device, const vv_bind_options *options, GError **error);

/* vv_selection_to_xml() with a <detached> child from RECORD (NULL: none):
 * the record's VFIO driver, fallback, requester, time, journal when an
 * operation is under way, and <native> (driver, module, override).
 * Transfer full: g_free(). */
char *vv_selection_to_xml_with_record(const vv_selection *selection, const vv_record *record, gboolean standalone);

/* ---- input from outside, and the hook's guards -------------------------- */

/* What a name must be a name of: a kernel module (1 to 55 bytes: the
 * kernel's MODULE_NAME_LEN less its NUL), or a PCI driver or a module as a
 * person writes it (1 to 255 bytes: a sysfs directory entry). */
typedef enum {
	VV_NAME_DRIVER = 0,
	VV_NAME_MODULE,
} vv_name_kind;

/* Is NAME a legal driver or module name: letters, digits, '_', '-', '.',
 * in the kind's length, never "." or ".." (a name is joined under sysfs
 * and written to driver_override)? FALSE with VV_ERROR_INVALID_ARGUMENT
 * naming WHAT (the input, e.g. "--driver") and the rule. NULL is invalid. */
gboolean vv_name_check(const char *name, vv_name_kind kind, const char *what, GError **error);

/* A copy of TEXT fit to echo on a terminal or into a log line: control
 * characters, line separators, bidirectional overrides and bytes that are
 * not UTF-8 become C escapes ("\n", "\x1b", "\u009b"); anything else,
 * a backslash included, is kept, so escaping twice changes nothing. NULL
 * gives NULL. Transfer full: g_free(). */
char *vv_text_escape(const char *text);

/* Is NAME (a module or driver name) a VFIO driver: vfio_pci, a module whose
 * vfio_pci: aliases say it is one (modules.alias, the built-in alias index
 * or modprobe.d), or a registered driver of such a module? Reads the module
 * directory and sysfs; loads nothing. An invalid name is not. */
gboolean vv_ctx_is_vfio_driver(vv_ctx *ctx, const char *name);

/* How the host visibly uses DEVICE, the checks vv_detach() makes: a
 * NULL-terminated GPtrArray of translated phrases, one per use: the
 * interfaces that are up (by name), then per block device (by name) a
 * mount, swap, a holder; empty when none. NULL with an error when DEVICE
 * cannot be read. Transfer full: g_ptr_array_unref() also frees the
 * strings. */
GPtrArray *vv_ctx_find_host_uses(vv_ctx *ctx, const char *device, GError **error);

/* The policy key host-use=refuse|allow: whether the qemu hook gives a
 * guest a device the host visibly uses. Default: refuse. */
typedef enum {
	VV_HOST_USE_REFUSE = 0,
	VV_HOST_USE_ALLOW,
} vv_host_use;

vv_host_use vv_policy_get_host_use(const vv_policy *policy);
const char *vv_host_use_to_string(vv_host_use host_use);

/* ---- VFIO mode: declared devices ---------------------------------------- */

/*
 * The policy key mode=vfio|host in a [device ADDRESS] or [id
 * VENDOR:DEVICE] group declares that the device (every device of that
 * id, e.g. every VF of a model) lives on its VFIO driver: the driver the
 * policy's driver= gives, with every rule of vv_detach(). The policy file
 * FILE is followed by its drop-ins FILE.d/ *.conf in byte order of their
 * names; at each level (device, id, global) a later file's key wins. The
 * declaring functions below edit one drop-in of their own,
 * FILE.d/VV_DECLARE_DROPIN, never the administrator's files.
 *
 * Index: the udev rule cannot read the policy without starting a process,
 * so every function that changes or applies the declarations writes the
 * directory DIR(FILE)/declared/ (DIR(FILE) the policy file's directory):
 * one empty file per declared address ("0000:03:00.1"), per declared id as
 * the kernel's PCI_ID ("15B3:101E"), per PF whose VFs are declared
 * ("pf-0000:03:00.0"), and per model of a PF whose VFs are declared by
 * vfs= ("vfs-of-0x15b3:0x1017": a VF's rule line reads its PF's vendor and
 * device through physfn). The rule tests those names.
 *
 * vfs=vfio|host in a [device ADDRESS] group (ADDRESS an SR-IOV PF)
 * declares every VF of that PF, present and future, whatever its id: for
 * a VF, its own address's mode= comes first, then its PF's vfs=, then its
 * id's mode=. The PF itself keeps its own mode= (host by default).
 */
#define VV_DECLARE_DROPIN "90-declared.conf"

typedef enum {
	VV_DEVICE_MODE_HOST = 0, /* no declaration: the host's drivers choose */
	VV_DEVICE_MODE_VFIO,     /* declared: the device lives on VFIO */
} vv_device_mode;

/* The device's mode= (device group first, then id). Default: host. */
vv_device_mode vv_policy_get_device_mode(const vv_policy *policy);

typedef struct vv_declaration vv_declaration;

/* Every mode= key in force (a device group's wins over an earlier file's
 * for the same target): a NULL-terminated GPtrArray of vv_declaration,
 * address declarations first (in address order), then id declarations
 * (in id order); empty when none. Transfer full: g_ptr_array_unref() also
 * frees the declarations. */
GPtrArray *vv_ctx_list_declarations(vv_ctx *ctx, GError **error);
/* "0000:03:00.1" or "15b3:101e". */
const char *vv_declaration_get_target(const vv_declaration *declaration);
gboolean vv_declaration_is_id(const vv_declaration *declaration);
/* TRUE: vfs= on the PF the target names, a declaration of its VFs (then
 * the driver is NULL: each VF's driver= is its own groups'). */
gboolean vv_declaration_is_vfs(const vv_declaration *declaration);
vv_device_mode vv_declaration_get_mode(const vv_declaration *declaration);
/* The driver= that applies to that group ("auto", "generic", "deny" or a
 * name), NULL when none of the target's groups sets one. */
const char *vv_declaration_get_driver(const vv_declaration *declaration);
/* Where the mode= key is: a file and its line. */
const char *vv_declaration_get_file(const vv_declaration *declaration);
guint vv_declaration_get_line(const vv_declaration *declaration);
void vv_declaration_free(vv_declaration *declaration);

/* Declare TARGET (a device name vv_address_parse() accepts, or
 * VENDOR:DEVICE) in VFIO mode with DRIVER ("auto", "generic" or a module
 * or driver name; NULL: auto) in the drop-in VV_DECLARE_DROPIN, then
 * write the index. Changes no device (vv_apply() does). Errors:
 * VV_ERROR_INVALID_ARGUMENT (TARGET, DRIVER, a malformed policy),
 * VV_ERROR_IO. */
gboolean vv_declare(vv_ctx *ctx, const char *target, const char *driver, GError **error);
/* Remove TARGET's declaration: its group leaves the drop-in, and when
 * another file still declares it, the drop-in says mode=host for it. Then
 * the index is written. Changes no device. */
gboolean vv_undeclare(vv_ctx *ctx, const char *target, GError **error);
/* Declare the VFs of PF (a present SR-IOV PF's address) in VFIO mode:
 * vfs=vfio in PF's group of VV_DECLARE_DROPIN (its other keys kept), then
 * the index. Changes no device (vv_apply() on PF and on each VF does).
 * Errors, nothing written: VV_ERROR_INVALID_ARGUMENT (PF is no address,
 * a VF, no SR-IOV PF, or declared mode=vfio itself while its VFs are
 * enabled; a malformed policy), VV_ERROR_NOT_FOUND (no such device),
 * VV_ERROR_IO. */
gboolean vv_declare_vfs(vv_ctx *ctx, const char *pf, GError **error);
/* Remove the vfs= declaration of PF (need not be present) as
 * vv_undeclare() does for mode=: vfs=host in the drop-in when another file
 * still says vfs=vfio. Changes no device. */
gboolean vv_undeclare_vfs(vv_ctx *ctx, const char *pf, GError **error);
/* Write the index from the policy as it is now (after a hand edit). */
gboolean vv_declarations_write_index(vv_ctx *ctx, GError **error);

/* Bring DEVICE where its declaration says: declared, vv_detach() (a
 * device already on a VFIO driver is left alone); a PF whose VFs are
 * declared by id gets sriov_drivers_autoprobe=0 (recorded, and restored
 * by vv_apply() once no VF id is declared any more); not declared,
 * nothing. A driver_override VV_APPLY_PENDING (the udev rule's) on a
 * declared device is replaced by the detach, under the group's lock, by
 * the VFIO driver's name, and recorded as the original override: a failed
 * detach puts it back (the device stays held, without a driver), and a
 * reattach once the device is no longer declared clears it and lets the
 * host's drivers probe. On a device no longer declared it is cleared
 * (under the lock) and the host's drivers probe. OPTIONS as for
 * vv_detach(); set the requester. Transfer full. */
#define VV_APPLY_PENDING "vfio-variant-pending"
vv_bind_result *vv_apply(vv_ctx *ctx, const char *device, const vv_bind_options *options, GError **error);
/* vv_apply()'s SR-IOV part alone: DEVICE, if it is a PF, gets its VFs'
 * sriov_drivers_autoprobe as the declarations say (0 while its VFs are
 * declared, noted; 1 again where the note says it was ours). Binds and
 * unbinds nothing: what runs after a hand edit of the policy, so that
 * VFs created from then on follow it. A device that is no PF: a noop
 * result. Transfer full. */
vv_bind_result *vv_apply_sriov(vv_ctx *ctx, const char *device, const vv_bind_options *options, GError **error);

/* ---- what libvirt >= 10 picks by itself -------------------------------- */

/*
 * libvirt >= 10 chooses a VFIO variant itself for a managed hostdev without
 * <driver model='...'/> and for `virsh nodedev-detach` without a driver
 * name: it reads the text MODULES_DIR/modules.alias (at most 8 MiB; no
 * modules.alias.bin, no built-in aliases, no modprobe.d), keeps the lines
 * `alias vfio_pci:... MODULE`, compares each of the seven fields (v d sv
 * sd bc sc i) with the device's either literally or as a whole-field `*`
 * (no glob: "i00*" or "0000101*" match only that very text), and takes the
 * match with the fewest `*`, the first line on a tie; with no match,
 * vfio_pci. Then `modprobe -b MODULE`: a module modprobe.d blacklists
 * fails the start (or the detach); there is no fallback.
 *
 * The library computes that pick for the selection's device and compares
 * it with the selection. The text file is read once per context; a
 * missing or unreadable one is a fact of the pick (libvirt fails too), not
 * an error.
 */

typedef struct vv_libvirt_pick vv_libvirt_pick;

/* Why libvirt's pick is what it is, seen from vfio-variant's selection. */
typedef enum {
	VV_LIBVIRT_PICK_SAME = 0,           /* libvirt picks vfio-variant's choice */
	VV_LIBVIRT_PICK_NO_MODULES_ALIAS,   /* no text modules.alias: libvirt fails */
	VV_LIBVIRT_PICK_UNREADABLE,         /* modules.alias unreadable or over 8 MiB: libvirt fails */
	VV_LIBVIRT_PICK_BLACKLISTED,        /* modprobe.d blacklists libvirt's pick: libvirt fails */
	VV_LIBVIRT_PICK_NOTHING_SELECTED,   /* vfio-variant selects nothing (not assignable, denied, rejected) */
	VV_LIBVIRT_PICK_POLICY,             /* the policy chose another driver */
	VV_LIBVIRT_PICK_GLOB_FIELD,         /* the choice's alias has a field libvirt compares literally */
	VV_LIBVIRT_PICK_BUILTIN,            /* the choice is a built-in variant, absent from modules.alias */
	VV_LIBVIRT_PICK_MODPROBE_ALIAS,     /* the choice comes from a modprobe.d alias libvirt ignores */
	VV_LIBVIRT_PICK_NOT_IN_TEXT,        /* the choice's alias is in modules.alias.bin, not in the text file */
	VV_LIBVIRT_PICK_TIE_ORDER,          /* as many `*` as libvirt's pick, which comes first in the file */
	VV_LIBVIRT_PICK_FEWER_STARS,        /* libvirt's pick has fewer `*` fields than the choice */
	VV_LIBVIRT_PICK_NO_MODULE,          /* libvirt's pick is no module of this host: libvirt fails */
	VV_LIBVIRT_PICK_BLACKLISTED_LOADED, /* modprobe.d blacklists libvirt's pick, but it is loaded: libvirt binds it */
} vv_libvirt_pick_reason;

/* What libvirt >= 10 would bind for the selection's device, computed on
 * the first call (it reads modules.alias once per context). Never NULL.
 * Transfer none: it lives as long as the selection. */
const vv_libvirt_pick *vv_selection_get_libvirt_pick(const vv_selection *selection);

/* The module libvirt would load: the alias line's MODULE, or "vfio_pci"
 * when no line matches; NULL when libvirt fails before it picks (no or
 * an unreadable modules.alias). */
const char *vv_libvirt_pick_get_module(const vv_libvirt_pick *pick);
/* The line of modules.alias it came from (1-based) and its pattern
 * ("vfio_pci:v..."); 0 and NULL when no line matches. */
guint vv_libvirt_pick_get_line(const vv_libvirt_pick *pick);
const char *vv_libvirt_pick_get_pattern(const vv_libvirt_pick *pick);
/* The modules.alias file libvirt reads (below the context's module
 * directory). */
const char *vv_libvirt_pick_get_file(const vv_libvirt_pick *pick);
/* TRUE when libvirt binds what vfio-variant selected. */
gboolean vv_libvirt_pick_is_same(const vv_libvirt_pick *pick);
/* TRUE when libvirt's own pick makes the start (or nodedev-detach) fail:
 * no or an unreadable modules.alias, a module the host does not have, or
 * a blacklisted one. */
gboolean vv_libvirt_pick_fails(const vv_libvirt_pick *pick);
vv_libvirt_pick_reason vv_libvirt_pick_get_reason(const vv_libvirt_pick *pick);
/* One translated sentence: what libvirt picks and, when that differs or
 * fails, why. */
const char *vv_libvirt_pick_describe(const vv_libvirt_pick *pick);
/* The domain XML line that gives the device vfio-variant's choice without
 * the hook (libvirt >= 10): "<driver model='NAME'/>" in the <hostdev>,
 * NAME the selected driver (its module while the driver name is unknown).
 * NULL when libvirt picks the same or vfio-variant selects nothing. */
const char *vv_libvirt_pick_get_suggestion(const vv_libvirt_pick *pick);
/* Stable keyword (XML): "same", "no-modules-alias", "glob-field", ... */
const char *vv_libvirt_pick_reason_to_string(vv_libvirt_pick_reason reason);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_ctx_options, vv_ctx_options_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_ctx, vv_ctx_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_device, vv_device_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_selection, vv_selection_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_bind_options, vv_bind_options_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_bind_result, vv_bind_result_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_record, vv_record_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_policy, vv_policy_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_declaration, vv_declaration_free)

G_END_DECLS
