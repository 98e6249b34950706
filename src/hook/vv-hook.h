/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The qemu hook: what libvirt's `qemu.d/NAME DOMAIN OPERATION SUBOP EXTRA`
 * runs, with the domain XML on stdin. Shared by the small executable
 * vfio-variant-hook (what libvirt runs: it links the library and
 * libxml2, never libvirt) and by `vfio-variant hook qemu ...`. Uses only
 * the library's public header.
 */
#pragma once

#include <glib/gi18n.h>
#include <vfio-variant/vfio-variant.h>

#include "vv-roots.h"

/* The domain XML on stdin is refused beyond this size. */
#define VV_HOOK_MAX_INPUT (4 * 1024 * 1024)

/* The namespace of our element in a domain's <metadata>: libvirt 9.0
 * drops <driver model> from hostdevs, but keeps <metadata>. */
#define VV_HOOK_METADATA_NAMESPACE "urn:x-vfio-variant:domain:1"


/* ---- vv-hook-libvirt.c: which libvirt runs the hook --------------------- */

typedef struct {
	gboolean known;
	guint version;     /* MAJOR * 1000000 + MINOR * 1000 + MICRO */
	char *source;      /* where it was read, or why it is unknown */
} vv_hook_libvirt;

/* From the daemon's memory map (SYSROOT/proc/PID/maps of the hook's
 * parent or a near ancestor), or FORCED when not NULL. Never calls libvirt. */
void vv_hook_libvirt_detect(const char *sysroot, const char *forced, vv_hook_libvirt *libvirt);
void vv_hook_libvirt_clear(vv_hook_libvirt *libvirt);
gboolean vv_hook_libvirt_parse_version(const char *text, guint *version);
/* Unknown counts as 9.0.0. */
gboolean vv_hook_libvirt_at_least(const vv_hook_libvirt *libvirt, guint major, guint minor);
char *vv_hook_libvirt_to_string(const vv_hook_libvirt *libvirt);
/* The modprobe.d file (its path on the host) that blacklists MODULE, or NULL. */
char *vv_hook_libvirt_blacklist_file(const char *sysroot, const char *module);

/* ---- vv-hook-domain.c: the parts of the domain XML the hook reads ------ */

typedef struct {
	char *address;     /* canonical BDF */
	gboolean managed;
	char *model;       /* the driver asked for, NULL: none */
	const char *model_source; /* "<driver model>" or "<metadata>" */
} vv_hook_hostdev;

typedef struct {
	char *name;
	char *uuid;
	GPtrArray *hostdevs; /* vv_hook_hostdev, in document order */
} vv_hook_domain;

void vv_hook_domain_free(vv_hook_domain *domain);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_hook_domain, vv_hook_domain_free)

/* Read at most VV_HOOK_MAX_INPUT bytes from FD; more is an error. */
GBytes *vv_hook_read_input(int fd, GError **error);

/* The domain and its PCI hostdevs (<hostdev mode='subsystem' type='pci'>
 * and <interface type='hostdev'>). Reads UTF-8 only (a foreign byte order
 * mark or declared encoding is refused), refuses any DTD from the parser
 * itself, parses without network access, without entity expansion and
 * without loading a DTD. Address attributes are hex ("0x03" or "03"), in
 * range. */
vv_hook_domain *vv_hook_domain_parse(GBytes *xml, GError **error);

/* ---- vv-hook-plan.c: what 'prepare' decided, for the later stages ------ */

typedef struct {
	char *address;
	gboolean managed;
	char *driver;      /* the planned driver (its name once loaded) */
	char *module;
	char *source;      /* "<driver model>", "<metadata>", "policy", "selection", "admin" */
	vv_hook_mode mode;
	/* The native state seen at 'prepare' (managed): what 'release' checks. */
	gboolean native_known;
	char *native_driver, *native_module, *native_override;
	/* The state the administrator left an unmanaged device in. */
	char *admin_driver, *admin_module;
	vv_requester admin_requester;
} vv_hook_plan_entry;

typedef struct {
	char *name;
	char *uuid;
	char *stage;       /* "prepared", "started", "stopped" */
	GPtrArray *entries; /* vv_hook_plan_entry */
} vv_hook_plan;

vv_hook_plan *vv_hook_plan_new(const vv_hook_domain *domain);
void vv_hook_plan_free(vv_hook_plan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vv_hook_plan, vv_hook_plan_free)
vv_hook_plan_entry *vv_hook_plan_add(vv_hook_plan *plan, const char *address, gboolean managed);

/* STATE_DIR/hook/UUID.conf. Load: NULL with NOT_FOUND when absent. */
char *vv_hook_plan_path(vv_ctx *ctx, const char *uuid);
vv_hook_plan *vv_hook_plan_load(vv_ctx *ctx, const char *uuid, GError **error);
gboolean vv_hook_plan_save(vv_ctx *ctx, const vv_hook_plan *plan, GError **error);
gboolean vv_hook_plan_remove(vv_ctx *ctx, const char *uuid, GError **error);

/* ---- vv-hook-hint.c: the hook's words for an error code ---------------- */

/* What the administrator can do about ERROR, in the hook's words (a whole
 * translated sentence), or NULL. Transfer none. */
const char *vv_hook_hint(const GError *error);

/* ---- vv-hook.c: the stages --------------------------------------------- */

/* Run the qemu hook for DOMAIN OPERATION SUBOP EXTRA on the host ROOTS
 * name (all NULL on a live host), the domain XML read from INPUT_FD when
 * the stage needs it. LIBVIRT_VERSION ("MAJOR.MINOR.MICRO"): act as for
 * it; NULL: detect the daemon's. Returns the exit status: 0, or 1 when the
 * stage failed (libvirt aborts a start on it). Messages go to stderr,
 * which libvirt logs. */
int vv_hook_qemu(const vv_roots *roots, const char *libvirt_version, const char *domain, const char *operation,
		 const char *subop, const char *extra, int input_fd);
