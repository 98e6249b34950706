/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the binding engine's files share (vv-bind*.c): the options and the
 * result, and the operation object every public entry point opens once
 * (vv_op_open) and works through. Each file holds one operation:
 *   vv-bind.c          options, result, the operation object, its journal;
 *   vv-bind-steps.c    the primitive steps (load, override, unbind, probe),
 *                      the bind (steps 5 to 9), the restore and the settle;
 *   vv-bind-detach.c   detach, and the detach framed around libvirt's bind
 *                      (prepare, adopt);
 *   vv-bind-reattach.c reattach and recover;
 *   vv-bind-rebind.c   rebind, from one VFIO driver to another (the hook).
 * The order of a detach and of a reattach is written at the top of
 * vv-bind.c.
 */
#pragma once

#include "vv-private.h"

struct vv_bind_options {
	char *driver;
	vv_bind_flags flags;
	vv_requester requester;
	guint lock_timeout_ms;
	gboolean native_set; /* vv_bind_options_set_native() */
	char *native_driver, *native_module, *native_override;
	char *domain;        /* vv_bind_options_set_domain() */
	gboolean managed;
};

struct vv_bind_result {
	GPtrArray *actions;  /* NULL-terminated */
	GPtrArray *messages; /* NULL-terminated */
	char *driver;
	gboolean noop;
	gboolean fallback;
};

/*
 * One operation on one device: what vv_op_open() read under the group's
 * lock, owned here and released when the operation ends (g_auto(vv_op)).
 */
typedef struct {
	vv_ctx *ctx;
	const vv_bind_options *options; /* the caller's, or defaults */
	vv_bind_options *defaults;
	char *address;
	vv_device *device;  /* NULL only for a vanished device (VV_OP_MAY_VANISH) */
	vv_lock *lock;      /* NULL for a dry run */
	vv_record *stored;  /* the device's record: read, or being written; owned */
	vv_record *record;  /* the journal the steps go to; NULL: none */
	gboolean dry_run;
	vv_bind_result *result;
	char *planned_load; /* a dry run lists a module's load once */
	GError *journal_error; /* the first journal write a restore went past */
	gboolean held;      /* vv_op_restore put the udev rule's pending override back */
} vv_op;

typedef enum {
	VV_OP_MAY_VANISH = 1 << 0, /* a device gone from sysfs with a record is no error */
	VV_OP_NO_DRY_RUN = 1 << 1, /* the operation records what others did: never dry */
} vv_op_flags;

/* An empty result (vv-declare.c builds one around a detach). */
vv_bind_result *vv_bind_result_new(void);
void vv_op_clear(vv_op *op);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(vv_op, vv_op_clear)

/* vv-bind.c */
gboolean vv_op_open(vv_op *op, vv_ctx *ctx, const char *name, const char *verb, const vv_bind_options *options,
		    vv_op_flags flags, GError **error);
vv_bind_result *vv_op_steal_result(vv_op *op);
vv_record *vv_op_keep_record(vv_op *op, vv_record *record);
vv_record *vv_op_new_record(vv_op *op, gboolean from_options);
void vv_op_say(vv_op *op, const char *format, ...) G_GNUC_PRINTF(2, 3);
gboolean vv_op_step(vv_op *op, const char *step, GError **error);
void vv_op_note(vv_op *op, const char *step);
void vv_op_add_journal_error(vv_op *op, GError **error);
void vv_op_say_journal_error(vv_op *op);
void vv_op_set_detached_error(vv_op *op, GError **error);
gboolean vv_op_choose_named(vv_op *op, char **module, char **driver, gboolean *named, GError **error);
char *vv_op_current_driver(vv_op *op);
gboolean vv_op_has_vfio_dev(vv_op *op);
gboolean vv_op_is_declared(vv_op *op);

/* vv-bind-steps.c */
gboolean vv_op_load(vv_op *op, const char *module, GError **error);
gboolean vv_op_write_override(vv_op *op, const char *driver, GError **error);
gboolean vv_op_unbind(vv_op *op, const char *driver, GError **error);
gboolean vv_op_probe(vv_op *op, GError **error);
char *vv_op_loaded_driver(vv_op *op, const char *module, const char *known_driver, GError **error);
gboolean vv_op_bind(vv_op *op, const char *module, const char *known_driver, gboolean *refused, GError **error);
gboolean vv_op_restore(vv_op *op, const char *override, const char *native, const char *native_module,
		       GError **error);
gboolean vv_op_forget(vv_op *op, GError **error);
void vv_op_put_back(vv_op *op, const char *vfio_driver, GError **error);
gboolean vv_op_settle(vv_op *op, GError **error);
gboolean vv_op_settle_first(vv_op *op, gboolean move, gboolean *stop, GError **error);
