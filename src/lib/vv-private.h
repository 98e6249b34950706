/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the library's own sources share. Not installed, not for the tools. */
#pragma once

#ifndef VV_BUILDING_LIBRARY
#error "vv-private.h is for the library's own sources; tools use <vfio-variant/vfio-variant.h>"
#endif

#include <libkmod.h>
#include <glib/gi18n-lib.h>

#include "vfio-variant/vfio-variant.h"

#define VV_EXPORT __attribute__((visibility("default")))

/* A list the public API hands out (the header's "Lists"): a GPtrArray
 * whose pdata stays NULL-terminated through every g_ptr_array_* call, and
 * which frees its elements with FREE_FUNC. One slot is reserved so that
 * even an empty list's pdata is { NULL }, not NULL. */
static inline GPtrArray *
vv_list_new(GDestroyNotify free_func)
{
	return g_ptr_array_new_null_terminated(1, free_func, TRUE);
}

typedef struct kmod_module vv_kmod_module;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_kmod_module, kmod_module_unref)

/* One `vfio_pci:` alias pattern and the module it names. */
typedef struct {
	char *pattern;
	char *module;
	vv_alias_source source;
} vv_alias;

struct vv_ctx {
	gint ref;
	char *sysroot;     /* "/" for the live host */
	char *sys_dir;     /* SYSROOT/sys */
	char *modules_dir; /* SYSROOT/lib/modules/RELEASE unless overridden */
	char *release;
	char *pci_ids;     /* pci.ids path, NULL: libpci's default */
	char *state_dir;   /* records and locks */
	char *config_file; /* the policy file (vv-policy.c) */
	gboolean config_required; /* named by the caller: it must exist */
	struct vv_policy_rules *policy; /* read on first use */
	struct vv_moddb *moddb;         /* the module database (vv-moddb.c) */

	struct pci_access *pci;      /* names database, opened on first use */
	struct vv_libvirt_aliases *libvirt_aliases; /* libvirt's view of modules.alias, on first use */

	/* O_PATH descriptors of sys_dir and sysroot plus one (0: not open yet),
	 * what paths below a sysroot resolve beneath (vv-sysfs.c). */
	gint sys_fd1, root_fd1;
};

/* vv-policy.c */
typedef struct vv_policy_rules vv_policy_rules;
void vv_policy_rules_free(vv_policy_rules *rules);
char *vv_policy_where(const vv_policy *policy);
/* The policy (the file and its drop-ins) read once per context; reset
 * after a declaration changed them. */
vv_policy_rules *vv_policy_rules_get(vv_ctx *ctx, GError **error);
void vv_policy_rules_reset(vv_ctx *ctx);
/* FILE.d, the drop-in directory of the policy file FILE. Transfer full. */
char *vv_policy_dropin_dir(const char *config_file);
/* Every [device] and [id] group, file by file in the order read. */
typedef struct {
	gboolean by_device;
	const char *key;     /* canonical address or "vvvv:dddd" */
	gboolean has_mode;
	vv_device_mode mode;
	guint mode_line;
	gboolean has_vfs;    /* vfs= (a PF's VFs; device groups only) */
	vv_device_mode vfs;
	guint vfs_line;
	const char *driver;  /* driver= as a keyword or name, NULL: not set here */
	const char *file;
} vv_policy_group_info;
typedef void (*vv_policy_rules_func)(const vv_policy_group_info *info, gpointer data);
void vv_policy_rules_foreach(vv_policy_rules *rules, vv_policy_rules_func func, gpointer data);

/* vv-libvirt-pick.c: what libvirt >= 10 binds by itself. */
typedef struct vv_libvirt_aliases vv_libvirt_aliases;
void vv_libvirt_aliases_free(vv_libvirt_aliases *aliases);
vv_libvirt_pick *vv_libvirt_pick_new(vv_ctx *ctx, const vv_selection *selection);
void vv_libvirt_pick_free(vv_libvirt_pick *pick);
/* The driver name of the suggestion's <driver model='...'/>, NULL: none. */
const char *vv_libvirt_pick_get_model(const vv_libvirt_pick *pick);

/* vv-moddb.c: what the module directory and modprobe.d say, per context. */
typedef struct vv_moddb {
	/* Two libkmod views: the indexes alone (so that a modprobe.d alias
	 * cannot hide the index's answer, since libkmod stops at the first
	 * source that answers), and the configured one (modprobe.d). */
	struct kmod_ctx *kmod_indexes;
	struct kmod_ctx *kmod_config;
	/* Why the module indexes cannot be used, NULL when they can: only
	 * selection needs them (vv_moddb_require_indexes), so a host without
	 * them can still give its devices back. */
	GError *indexes_error;

	GPtrArray *builtin_aliases;  /* vv_alias: vfio_pci: entries of modules.builtin.alias.bin */
	GPtrArray *config_aliases;   /* vv_alias: vfio_pci: alias lines of modprobe.d */
	GHashTable *blacklist;       /* normalized module names blacklisted in modprobe.d */
	GHashTable *module_patterns; /* module -> GPtrArray of its own vfio_pci: patterns */
	GHashTable *module_drivers;  /* module -> driver name, once known (names never change) */
} vv_moddb;
vv_moddb *vv_moddb_open(const vv_ctx *ctx, GError **error);
void vv_moddb_free(vv_moddb *db);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_moddb, vv_moddb_free)
void vv_alias_free(vv_alias *alias);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_alias, vv_alias_free)
GPtrArray *vv_moddb_get_module_patterns(vv_moddb *db, const char *module);
gboolean vv_moddb_is_blacklisted(const vv_moddb *db, const char *module);
gboolean vv_moddb_is_builtin_module(const vv_moddb *db, const char *module);
gboolean vv_moddb_require_indexes(const vv_moddb *db, GError **error);

/* vv-sysfs.c: every sysfs path the library knows is built here. */
char *vv_sysfs_device_dir(const vv_ctx *ctx, const char *address);
char *vv_sysfs_device_file(const vv_ctx *ctx, const char *address, const char *file);
char *vv_sysfs_devices_dir(const vv_ctx *ctx);
char *vv_sysfs_driver_dir(const vv_ctx *ctx, const char *driver);
char *vv_sysfs_drivers_dir(const vv_ctx *ctx);
char *vv_sysfs_module_drivers_dir(const vv_ctx *ctx, const char *module);
char *vv_sysfs_group_devices_dir(const vv_ctx *ctx, int group);
char *vv_sysfs_module_file(const vv_ctx *ctx, const char *module, const char *file);
char *vv_sysfs_driver_file(const vv_ctx *ctx, const char *driver, const char *file);
char *vv_sysfs_class_file(const vv_ctx *ctx, const char *class, const char *name, const char *file);
char *vv_sysfs_entry(const char *dir, const char *name);
char *vv_sysfs_proc_file(const vv_ctx *ctx, const char *pid, const char *file);
/* Every file the library reads goes through vv_file_read: a regular file,
 * opened non-blocking, at most MAX bytes; CTX (may be NULL) keeps a path
 * below its sysroot resolving beneath it. */
typedef enum {
	VV_READ_NOFOLLOW = 1 << 0, /* the last component must not be a link */
	VV_READ_SIZED = 1 << 1,    /* st_size is the file's size: check it before reading */
} vv_read_flags;
#define VV_SYSFS_ATTRIBUTE_MAX 65536 /* PAGE_SIZE, at most 64 KiB */
#define VV_SRIOV_MAX 65535           /* sriov_numvfs and sriov_totalvfs are u16 */
char *vv_file_read(const vv_ctx *ctx, const char *path, gsize max, vv_read_flags flags, gsize *length,
		   GError **error);
int vv_sysfs_open(const vv_ctx *ctx, const char *path, int flags);
void vv_sysfs_close_anchors(vv_ctx *ctx);
int vv_sysfs_open_walk(int root, const char *rel, int flags);
char *vv_sysfs_read_attribute(const vv_ctx *ctx, const char *path, GError **error);
gboolean vv_sysfs_read_u32(const vv_ctx *ctx, const char *path, guint32 *value, GError **error);
gboolean vv_sysfs_read_decimal(const vv_ctx *ctx, const char *path, guint max, guint *value, GError **error);
gboolean vv_sysfs_read_byte(const vv_ctx *ctx, const char *path, goffset offset, guint8 *value);
/* Below CTX's sysroot, PATH resolves beneath it (vv_sysfs_open). */
char *vv_sysfs_read_link(const vv_ctx *ctx, const char *path);
char *vv_sysfs_link_name(const vv_ctx *ctx, const char *path);
GPtrArray *vv_sysfs_list(const vv_ctx *ctx, const char *path);
gboolean vv_sysfs_is_dir(const vv_ctx *ctx, const char *path);
gboolean vv_sysfs_is_file(const vv_ctx *ctx, const char *path);
char *vv_sysfs_realpath(const vv_ctx *ctx, const char *path);
char *vv_sysfs_drivers_probe_file(const vv_ctx *ctx);
char *vv_sysfs_unbind_file(const vv_ctx *ctx, const char *driver);
gboolean vv_sysfs_guard_live_host(const vv_ctx *ctx, const char *path, GError **error);
gboolean vv_sysfs_write(const vv_ctx *ctx, const char *path, const char *value, GError **error);
gboolean vv_sysfs_write_driver_override(const vv_ctx *ctx, const char *address, const char *driver, GError **error);
gboolean vv_sysfs_write_unbind(const vv_ctx *ctx, const char *driver, const char *address, GError **error);
gboolean vv_sysfs_write_drivers_probe(const vv_ctx *ctx, const char *address, GError **error);

/* vv-module.c */
/* How long a load waits for a module someone else is loading to be live. */
#define VV_MODULE_LIVE_TIMEOUT_MS 5000
char *vv_module_driver_name(vv_ctx *ctx, const char *module);
char *vv_module_loaded_driver_name(vv_ctx *ctx, const char *module);
void vv_module_resolve(vv_ctx *ctx, const char *name, char **module, char **driver);
gboolean vv_module_exists(vv_ctx *ctx, const char *module);
gboolean vv_module_is_loaded(vv_ctx *ctx, const char *module);
gboolean vv_module_load(vv_ctx *ctx, const char *module, const char *address, GError **error);

/* vv-pciids.c */
char *vv_pciids_vendor_name(vv_ctx *ctx, guint16 vendor);
char *vv_pciids_product_name(vv_ctx *ctx, guint16 vendor, guint16 device);
void vv_pciids_close(vv_ctx *ctx);

/* vv-alias.c: the seven fields of a PCI alias, and how specific it is. */
enum { VV_ALIAS_FIELDS = 7 };
typedef enum {
	VV_FIELD_WILDCARD = 0, /* "*" or absent */
	VV_FIELD_GLOB = 1,     /* partly given: "0000101*", "[0-9]" */
	VV_FIELD_EXACT = 2,    /* fully given */
} vv_field_kind;
typedef struct {
	vv_field_kind field[VV_ALIAS_FIELDS]; /* v d sv sd bc sc i */
	guint specificity;
	guint exact_fields;
} vv_alias_rank;
gboolean vv_alias_rank_pattern(const char *pattern, vv_alias_rank *rank);
gboolean vv_alias_matches(const char *pattern, const char *key);
int vv_alias_rank_compare(const vv_alias_rank *a, const vv_alias_rank *b);

/* vv-lookup.c */
GPtrArray *vv_lookup_aliases(vv_ctx *ctx, const char *key, GError **error);

/* vv-device.c */
vv_ctx *vv_device_get_ctx(const vv_device *device);
int vv_device_read_iommu_group(const vv_ctx *ctx, const char *address);

/* vv-record.c: the per-device record in STATE_DIR/devices/BDF.conf. */
struct vv_record {
	gint ref;
	char *address;
	char *original_driver, *original_module, *original_override;
	char *driver, *module;
	gboolean fallback;
	char *time;
	vv_requester requester;
	char *operation; /* "detach" or "reattach" */
	char *step;
	char *domain;    /* the libvirt domain using the device (the hook) */
	gboolean managed;
};
vv_record *vv_record_new(const char *address);
vv_record *vv_record_new_detach(const char *address, const char *native_driver, const char *native_module,
				const char *native_override, vv_requester requester);
vv_record *vv_record_copy(const vv_record *record);
void vv_record_set(char **field, const char *value);
gboolean vv_record_save(vv_ctx *ctx, const vv_record *record, GError **error);
gboolean vv_record_remove(vv_ctx *ctx, const char *address, GError **error);

/* vv-statefile.c: the state directory's files, never through a symlink.
 * A directory: opened O_NOFOLLOW (created first when CREATE); absent is
 * NOT_FOUND. A file: opened O_NOFOLLOW | O_NONBLOCK relative to DIRFD, a
 * regular file only; read whole up to MAX bytes; removed; listed (names
 * without a leading dot, sorted; an absent directory lists nothing).
 * vv_state_file_read() and vv_state_file_write() are public (the hook
 * keeps its plan with them). */
int vv_state_dir_open(const char *dir, gboolean create, GError **error);
int vv_state_file_open(int dirfd, const char *path, int flags, GError **error);
gboolean vv_state_file_remove(const char *path, GError **error);
GPtrArray *vv_state_dir_list(const char *dir, GError **error);

/* vv-lock.c: one advisory lock per IOMMU group. */
typedef struct vv_lock vv_lock;
vv_lock *vv_lock_acquire(vv_ctx *ctx, int group, const char *holder, guint timeout_ms, GError **error);
void vv_lock_release(vv_lock *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_lock, vv_lock_release)

/* vv-name.c: names from outside (vv_name_check() says why not). */
/* Module names compare with '-' and '_' folded, as the kernel and kmod do. */
char *vv_module_normalize(const char *name);
gboolean vv_names_equal_folded(const char *a, const char *b);
gboolean vv_name_is_module(const char *name);
gboolean vv_name_is_driver(const char *name);
/* Byte order of two names, for g_ptr_array_sort() and qsort() of char *. */
int vv_name_compare(gconstpointer a, gconstpointer b);
gboolean vv_name_check_record(const char *path, const char *original_driver, const char *original_module,
			      const char *driver, const char *module, GError **error);

/* vv-inuse.c: does the host visibly use a device? */
GPtrArray *vv_inuse_find(vv_ctx *ctx, const char *address);
char *vv_inuse_group_opener(vv_ctx *ctx, int group);
