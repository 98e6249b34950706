/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The binding engine: detach a device to its VFIO driver, give it back to
 * its native driver, and settle an operation that was cut short.
 *
 * Detach, in order, each step checked:
 *   1. the group lock, then settle a cut-short operation on the device;
 *   2. the device must be assignable and its IOMMU group viable;
 *   3. the host must not visibly use it (unless forced);
 *   4. the record is written before the first change, so that a crash
 *      after any later step leaves enough to undo it;
 *   5. load the chosen module by name (it may register its driver only
 *      then), and read the driver name it registered: driver_override
 *      takes the driver name, and the module name would leave the device
 *      driverless;
 *   6. driver_override := driver: only that driver may take the device
 *      from now on (variants match nothing without it);
 *   7. unbind the current driver;
 *   8. drivers_probe := BDF: the kernel offers the device to the
 *      override's driver. This reports success even when nothing bound,
 *      hence:
 *   9. verify: the driver link names the driver and vfio-dev/ exists.
 * A variant whose probe refused leaves the device driverless: unless the
 * user named the driver, vfio-pci is bound instead (and recorded). Any
 * other failure restores the original override and driver.
 *
 * Reattach: load the native module if it is gone (first, so that a module
 * that cannot load leaves the device on its VFIO driver, not on none),
 * clear the override, unbind the VFIO driver, reprobe, verify the recorded
 * driver is back (a device that had none stays unbound); the record goes
 * only then.
 *
 * A bind made by someone else (libvirt's virNodeDeviceDetachFlags) is
 * framed by two calls: vv_detach_prepare() makes steps 1 to 5 (the record
 * of the native driver is written before anything changes), and
 * vv_detach_adopt() makes step 9 once the other party has bound, and
 * completes the record. Between the two the record is a detach cut short,
 * which vv_recover() rolls back.
 */
#include <string.h>

#include "vv-private.h"

#define VV_GENERIC_MODULE "vfio_pci"
#define VV_LOCK_TIMEOUT_MS 10000
#define VV_OPEN_ATTEMPTS 3 /* group re-read under the lock: see vv_op_open */

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

/* One operation on one device. */
typedef struct {
	vv_ctx *ctx;
	const char *address;
	gboolean dry_run;
	vv_record *record; /* NULL until the record is written (or read) */
	vv_bind_result *result;
	char *planned_load; /* a dry run lists a module's load once */
	GError *journal_error; /* the first journal write a restore went past */
} vv_op;

static void
vv_op_clear(vv_op *op)
{
	g_free(op->planned_load);
	g_clear_error(&op->journal_error);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(vv_op, vv_op_clear)

VV_EXPORT vv_bind_options *
vv_bind_options_new(void)
{
	vv_bind_options *options = g_new0(vv_bind_options, 1);

	options->lock_timeout_ms = VV_LOCK_TIMEOUT_MS;
	return options;
}

VV_EXPORT void
vv_bind_options_free(vv_bind_options *options)
{
	if (!options)
		return;
	g_free(options->driver);
	g_free(options->native_driver);
	g_free(options->native_module);
	g_free(options->native_override);
	g_free(options->domain);
	g_free(options);
}

VV_EXPORT void
vv_bind_options_set_native(vv_bind_options *options, const char *driver, const char *module, const char *override)
{
	options->native_set = TRUE;
	vv_record_set(&options->native_driver, driver);
	vv_record_set(&options->native_module, module);
	vv_record_set(&options->native_override, override);
}

VV_EXPORT void
vv_bind_options_set_domain(vv_bind_options *options, const char *domain, gboolean managed)
{
	vv_record_set(&options->domain, domain);
	options->managed = domain && managed;
}

VV_EXPORT void
vv_bind_options_set_driver(vv_bind_options *options, const char *name)
{
	g_free(options->driver);
	options->driver = g_strdup(name);
}

VV_EXPORT void vv_bind_options_set_flags(vv_bind_options *options, vv_bind_flags flags) { options->flags = flags; }
VV_EXPORT void vv_bind_options_set_requester(vv_bind_options *options, vv_requester requester) { options->requester = requester; }
VV_EXPORT void vv_bind_options_set_lock_timeout(vv_bind_options *options, guint milliseconds) { options->lock_timeout_ms = milliseconds; }

static vv_bind_result *
vv_bind_result_new(void)
{
	vv_bind_result *result = g_new0(vv_bind_result, 1);

	result->actions = g_ptr_array_new_null_terminated(8, g_free, TRUE);
	result->messages = g_ptr_array_new_null_terminated(2, g_free, TRUE);
	return result;
}

VV_EXPORT void
vv_bind_result_free(vv_bind_result *result)
{
	if (!result)
		return;
	g_ptr_array_unref(result->actions);
	g_ptr_array_unref(result->messages);
	g_free(result->driver);
	g_free(result);
}

VV_EXPORT const char *const *vv_bind_result_get_actions(const vv_bind_result *result) { return (const char *const *)result->actions->pdata; }
VV_EXPORT const char *const *vv_bind_result_get_messages(const vv_bind_result *result) { return (const char *const *)result->messages->pdata; }
VV_EXPORT const char *vv_bind_result_get_driver(const vv_bind_result *result) { return result->driver; }
VV_EXPORT gboolean vv_bind_result_is_noop(const vv_bind_result *result) { return result->noop; }
VV_EXPORT gboolean vv_bind_result_is_fallback(const vv_bind_result *result) { return result->fallback; }

static void G_GNUC_PRINTF(2, 3)
vv_op_say(vv_op *op, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	g_ptr_array_add(op->result->messages, g_strdup_vprintf(format, args));
	va_end(args);
}

/* ---- the device as it is now ----------------------------------------- */

static char *
vv_op_current_driver(vv_op *op)
{
	g_autofree char *link = vv_sysfs_device_file(op->ctx, op->address, "driver");

	return vv_sysfs_link_name(op->ctx, link);
}

static gboolean
vv_op_has_vfio_dev(vv_op *op)
{
	g_autofree char *dir = vv_sysfs_device_file(op->ctx, op->address, "vfio-dev");

	return vv_sysfs_is_dir(op->ctx, dir);
}

/* ---- the journal ------------------------------------------------------- */

static gboolean
vv_op_step(vv_op *op, const char *step, GError **error)
{
	if (op->dry_run || !op->record)
		return TRUE;
	vv_record_set(&op->record->step, step);
	return vv_record_save(op->ctx, op->record, error);
}

/*
 * A journal write during a restore (rollback, reattach, recover): the
 * restore of sysfs goes on whatever happens to the record, because a full
 * or failing disk must not leave the device without a driver. The first
 * failure is kept, and the caller reports it with where the device is.
 */
static void
vv_op_note(vv_op *op, const char *step)
{
	g_autoptr(GError) local = NULL;

	if (!vv_op_step(op, step, &local) && !op->journal_error)
		op->journal_error = g_steal_pointer(&local);
}

/* Append to ERROR (set) that the journal could not be written, if so. */
static void
vv_op_add_journal_error(vv_op *op, GError **error)
{
	g_autoptr(GError) failed = NULL;

	if (!op->journal_error || !error || !*error)
		return;
	failed = g_steal_pointer(error);
	g_set_error(error, failed->domain, failed->code, _("%1$s The record could not be written either: %2$s"),
		    failed->message, op->journal_error->message);
}

/* ---- the actions: each is listed, then made unless this is a dry run - */

static gboolean
vv_op_load(vv_op *op, const char *module, GError **error)
{
	if (!module || vv_module_is_loaded(op->ctx, module) || g_strcmp0(op->planned_load, module) == 0)
		return TRUE;
	g_ptr_array_add(op->result->actions, g_strdup_printf(_("load module %s"), module));
	if (op->dry_run) {
		g_free(op->planned_load);
		op->planned_load = g_strdup(module);
		return TRUE;
	}
	return vv_module_load(op->ctx, module, op->address, error);
}

static gboolean
vv_op_write_override(vv_op *op, const char *driver, GError **error)
{
	g_autofree char *path = vv_sysfs_device_file(op->ctx, op->address, "driver_override");

	g_ptr_array_add(op->result->actions, driver ?
			g_strdup_printf(_("write '%1$s' to %2$s"), driver, path) :
			g_strdup_printf(_("write '\\n' to %s (clear)"), path));
	return op->dry_run || vv_sysfs_write_driver_override(op->ctx, op->address, driver, error);
}

static gboolean
vv_op_unbind(vv_op *op, const char *driver, GError **error)
{
	g_autofree char *path = vv_sysfs_unbind_file(op->ctx, driver);

	g_ptr_array_add(op->result->actions, g_strdup_printf(_("write '%1$s' to %2$s"), op->address, path));
	return op->dry_run || vv_sysfs_write_unbind(op->ctx, driver, op->address, error);
}

static gboolean
vv_op_probe(vv_op *op, GError **error)
{
	g_autofree char *path = vv_sysfs_drivers_probe_file(op->ctx);

	g_ptr_array_add(op->result->actions, g_strdup_printf(_("write '%1$s' to %2$s"), op->address, path));
	return op->dry_run || vv_sysfs_write_drivers_probe(op->ctx, op->address, error);
}

/* ---- the two directions ------------------------------------------------ */

/*
 * Bind MODULE's driver (DRIVER when already known, MODULE NULL for a
 * built-in driver): steps 5 to 9 of the detach. *REFUSED is set when the
 * probe left the device driverless, the case that may fall back.
 */
static gboolean
vv_op_bind(vv_op *op, const char *module, const char *known_driver, gboolean *refused, GError **error)
{
	g_autofree char *driver = g_strdup(known_driver);
	g_autofree char *current = vv_op_current_driver(op);
	g_autofree char *now = NULL;

	*refused = FALSE;
	if (!vv_op_load(op, module, error) || !vv_op_step(op, "module-loaded", error))
		return FALSE;
	if (!driver && module)
		driver = vv_module_driver_name(op->ctx, module);
	if (!driver && op->dry_run)
		driver = g_strdup_printf(_("<the driver of %s, known once it is loaded>"), module);
	if (!driver) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("Cannot bind %1$s: the module %2$s is loaded but sysfs shows no PCI driver of it (no sys/module/%2$s/drivers/pci:*). Check that it is a PCI driver, or choose another with --driver."),
			    op->address, module);
		return FALSE;
	}
	if (op->record) {
		vv_record_set(&op->record->driver, driver);
		vv_record_set(&op->record->module, module);
	}

	if (!vv_op_write_override(op, driver, error) || !vv_op_step(op, "override-set", error))
		return FALSE;
	if (current && !vv_op_unbind(op, current, error))
		return FALSE;
	if (!vv_op_step(op, "unbound", error) || !vv_op_probe(op, error) || !vv_op_step(op, "probed", error))
		return FALSE;
	if (op->dry_run) {
		vv_record_set(&op->result->driver, driver);
		return TRUE;
	}

	now = vv_op_current_driver(op);
	if (!now) {
		*refused = TRUE;
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("The driver %1$s refused %2$s: the device had no driver after the probe (see the kernel log)."),
			    driver, op->address);
		return FALSE;
	}
	if (!g_str_equal(now, driver)) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("%1$s was bound to %2$s instead of %3$s."), op->address, now, driver);
		return FALSE;
	}
	if (!vv_op_has_vfio_dev(op)) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("%1$s is bound to %2$s, but %2$s is not a VFIO driver (the device has no vfio-dev/ directory). Choose a VFIO driver."),
			    op->address, driver);
		return FALSE;
	}
	vv_record_set(&op->result->driver, driver);
	return vv_op_step(op, "verified", error);
}

/*
 * Return the device to NATIVE (NULL: no driver) with driver_override set to
 * OVERRIDE (NULL: cleared). Used by reattach, by the rollback of a failed
 * detach and by recover; every step is safe to repeat. Its journal writes
 * are best-effort (vv_op_note): only a failure in sysfs stops it.
 */
static gboolean
vv_op_restore(vv_op *op, const char *override, const char *native, const char *native_module, GError **error)
{
	g_autofree char *current = vv_op_current_driver(op);
	g_autofree char *now = NULL;

	if (!vv_op_write_override(op, override, error))
		return FALSE;
	vv_op_note(op, "override-set");
	if (current && g_strcmp0(current, native) != 0) {
		if (!vv_op_unbind(op, current, error))
			return FALSE;
		vv_op_note(op, "unbound");
		g_clear_pointer(&current, g_free);
	}
	/* A device that had no driver stays unbound: no probe. */
	if (native && !current) {
		if (!vv_op_load(op, native_module, error))
			return FALSE;
		vv_op_note(op, "module-loaded");
		if (!vv_op_probe(op, error))
			return FALSE;
		vv_op_note(op, "probed");
	}
	if (op->dry_run) {
		vv_record_set(&op->result->driver, native);
		return TRUE;
	}

	now = vv_op_current_driver(op);
	if (g_strcmp0(now, native) != 0) {
		if (native)
			g_set_error(error, VV_ERROR, VV_ERROR_BIND,
				    _("%1$s did not go back to its driver %2$s: it is on %3$s now."),
				    op->address, native, now ? now : _("no driver"));
		else
			g_set_error(error, VV_ERROR, VV_ERROR_BIND,
				    _("%1$s had no driver before, but %2$s took it."), op->address, now);
		return FALSE;
	}
	vv_record_set(&op->result->driver, native);
	return TRUE;
}

/* Finish the record's operation: the device is on its native driver. */
static gboolean
vv_op_forget(vv_op *op, GError **error)
{
	if (op->dry_run)
		return TRUE;
	return vv_record_remove(op->ctx, op->address, error);
}

/*
 * A restore that failed must not leave the device without a driver, nor on
 * its VFIO driver with a record of an operation half done. A host driver's
 * probe can fail where a VFIO driver's does not (since 5.19 the kernel
 * refuses a DMA-using driver in a group a VFIO user holds), and any write
 * can fail. So a device that had a native driver and has none now goes on
 * VFIO_DRIVER, where it was (or was going); a device still on VFIO_DRIVER
 * stays there, with that driver as its override again. Either way its
 * record becomes a complete detach again (best-effort, as every journal
 * write of a restore). ERROR (set) says why the restore failed; it is
 * extended with where the device is.
 */
static void
vv_op_put_back(vv_op *op, const char *vfio_driver, GError **error)
{
	vv_record *record = op->record;
	g_autoptr(GError) undo = NULL;
	g_autoptr(GError) failed = NULL;
	g_autoptr(GError) unsaved = NULL;
	g_autofree char *now = NULL;
	gboolean refused, put, saved;

	if (op->dry_run || !vfio_driver || !record || !record->original_driver)
		return;
	now = vv_op_current_driver(op);
	if (now && !(g_str_equal(now, vfio_driver) && vv_op_has_vfio_dev(op)))
		return;
	op->record = NULL; /* the record is set whole once the device is back */
	put = now ? vv_op_write_override(op, vfio_driver, &undo) : vv_op_bind(op, NULL, vfio_driver, &refused, &undo);
	/* A variant that refuses it: the generic driver, as a detach falls back. */
	if (!put && !now && refused && g_strcmp0(record->module, VV_GENERIC_MODULE) != 0) {
		g_clear_error(&undo);
		put = vv_op_bind(op, VV_GENERIC_MODULE, NULL, &refused, &undo);
		if (put) {
			vfio_driver = op->result->driver;
			vv_record_set(&record->module, VV_GENERIC_MODULE);
			record->fallback = TRUE;
		}
	}
	op->record = record;
	failed = g_steal_pointer(error);
	if (!put && !now) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND, _("%1$s Putting %2$s back on %3$s failed too: %4$s"),
			    failed->message, op->address, vfio_driver, undo->message);
		return;
	}
	vv_record_set(&record->operation, "detach");
	vv_record_set(&record->driver, vfio_driver);
	saved = vv_op_step(op, "verified", &unsaved);
	if (!saved && !op->journal_error)
		op->journal_error = g_error_copy(unsaved);
	if (now && saved)
		g_set_error(error, VV_ERROR, VV_ERROR_BIND, _("%1$s It stays on %2$s, and its record says so."),
			    failed->message, vfio_driver);
	else if (now)
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("%1$s It stays on %2$s, but its record could not be updated to say so: it still names the operation cut short."),
			    failed->message, vfio_driver);
	else if (saved)
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("%1$s It was put back on %2$s, so that it is not left without a driver; its record is kept."),
			    failed->message, vfio_driver);
	else
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("%1$s It was put back on %2$s, so that it is not left without a driver, but its record could not be updated to say so: it still names the operation cut short."),
			    failed->message, vfio_driver);
}

/* The device went where a restore took it, but the journal failed on the
 * way (vv_op_note): said, since the record may now lag behind. */
static void
vv_op_say_journal_error(vv_op *op)
{
	if (op->journal_error)
		vv_op_say(op, _("Warning: the record of %1$s could not be written during the restore: %2$s"),
			  op->address, op->journal_error->message);
}

/*
 * Settle an operation cut short (the record's journal is not "verified"):
 * roll back a detach, finish a reattach. Both end on the native driver:
 * that is where a detach started and where a reattach goes.
 */
static gboolean
vv_op_settle(vv_op *op, GError **error)
{
	vv_record *record = op->record;
	gboolean detach = g_str_equal(record->operation, "detach");
	g_autofree char *step = g_strdup(record->step); /* restoring moves the journal on */
	g_autofree char *vfio_driver = g_strdup(record->driver); /* where a failed restore puts it */
	g_autoptr(GError) local = NULL;

	if (!vv_op_restore(op, detach ? record->original_override : NULL,
			   record->original_driver, record->original_module, &local)) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND, detach ?
			    _("The detach of %1$s was cut short after the step '%2$s', and rolling it back failed: %3$s The record is kept; fix the cause and run 'vfio-variant recover %1$s'.") :
			    _("The reattach of %1$s was cut short after the step '%2$s', and finishing it failed: %3$s The record is kept; fix the cause and run 'vfio-variant recover %1$s'."),
			    op->address, step, local->message);
		vv_op_put_back(op, vfio_driver, error);
		vv_op_add_journal_error(op, error);
		return FALSE;
	}
	if (!vv_op_forget(op, &local)) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND, detach ?
			    _("The detach of %1$s had been cut short after the step '%2$s'; it was rolled back and the device is on %3$s, but its record could not be removed: %4$s") :
			    _("The reattach of %1$s had been cut short after the step '%2$s'; it was finished and the device is on %3$s, but its record could not be removed: %4$s"),
			    op->address, step, op->result->driver ? op->result->driver : _("no driver"), local->message);
		vv_op_add_journal_error(op, error);
		return FALSE;
	}
	vv_op_say_journal_error(op);
	if (op->dry_run)
		vv_op_say(op, detach ?
			  _("The detach of %1$s was cut short after the step '%2$s'; the actions above would roll it back.") :
			  _("The reattach of %1$s was cut short after the step '%2$s'; the actions above would finish it."),
			  op->address, step);
	else
		vv_op_say(op, detach ?
			  _("The detach of %1$s had been cut short after the step '%2$s'; it was rolled back.") :
			  _("The reattach of %1$s had been cut short after the step '%2$s'; it was finished."),
			  op->address, step);
	return TRUE;
}

/*
 * Parse NAME, take its IOMMU group's lock, and only then read the device
 * (driver, override, group members) and its record. Before the lock only
 * the group number is read: another command holding the lock changes
 * exactly what the rest is, so anything read before waiting for it would
 * be stale, and what is decided on it wrong (a detach that read the device
 * while a reattach gave it back recorded "no native driver", or found it
 * "already bound" while it was back on its host driver). Everything the
 * operations decide, they decide on what is read here. The group is read
 * again under the lock: a device removed and added again may be in
 * another group, whose lock is then taken instead (VV_OPEN_ATTEMPTS times
 * at most). A dry run takes no lock but reads in the same order.
 * MAY_VANISH: a device gone from sysfs that has a record is no error;
 * *DEVICE is NULL then (reattach clears such a record). OP's dry_run must
 * be set.
 */
static gboolean
vv_op_open(vv_op *op, const char *name, const char *verb, const vv_bind_options *options,
	   gboolean may_vanish, char **address, vv_device **device, vv_lock **lock, GError **error)
{
	g_autoptr(GError) missing = NULL;
	g_autoptr(GError) local = NULL;
	g_autofree char *holder = NULL;

	if (!(*address = vv_address_parse(name, error)))
		return FALSE;
	op->address = *address;
	if (!op->dry_run && !vv_sysfs_guard_live_host(op->ctx, NULL, error))
		return FALSE;
	holder = g_strdup_printf("vfio-variant %s %s (%s)", verb, op->address,
				 vv_requester_to_string(options->requester));

	for (guint attempt = 1;; attempt++) {
		int group = vv_device_read_iommu_group(op->ctx, *address);

		if (!op->dry_run &&
		    !(*lock = vv_lock_acquire(op->ctx, group, holder, options->lock_timeout_ms, error)))
			return FALSE;
		g_clear_error(&missing);
		*device = vv_device_new(op->ctx, *address, &missing);
		if (!*device || vv_device_get_iommu_group(*device) == group)
			break;
		g_clear_pointer(device, vv_device_unref);
		g_clear_pointer(lock, vv_lock_release);
		if (attempt == VV_OPEN_ATTEMPTS) {
			g_set_error(error, VV_ERROR, VV_ERROR_BUSY,
				    _("The IOMMU group of %1$s changed each of the %2$d times it was read before and after taking the group's lock; nothing was changed."),
				    *address, VV_OPEN_ATTEMPTS);
			return FALSE;
		}
	}

	op->record = vv_record_load(op->ctx, op->address, &local);
	if (!op->record && !g_error_matches(local, VV_ERROR, VV_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	if (!*device && !(may_vanish && op->record && g_error_matches(missing, VV_ERROR, VV_ERROR_NOT_FOUND))) {
		g_clear_pointer(&op->record, vv_record_unref);
		g_propagate_error(error, g_steal_pointer(&missing));
		return FALSE;
	}
	return TRUE;
}

/* A record of an operation cut short is settled before anything else (see
 * vv_op_settle), and the device read again. A dry run can only say that
 * recover must run first: *STOP tells the caller to return then. */
static gboolean
vv_op_settle_first(vv_op *op, vv_record **record, vv_device **device, gboolean move,
		   gboolean *stop, GError **error)
{
	*stop = FALSE;
	if (!*record || vv_record_is_complete(*record))
		return TRUE;
	if (!vv_op_settle(op, error))
		return FALSE;
	if (op->dry_run) {
		vv_op_say(op, move ? _("Run 'vfio-variant recover %s' first; the move is planned after it.") :
				     _("Run 'vfio-variant recover %s' first; the detach is planned after it."),
			  op->address);
		*stop = TRUE;
		return TRUE;
	}
	g_clear_pointer(record, vv_record_unref);
	vv_device_unref(*device);
	*device = vv_device_new(op->ctx, op->address, error);
	return *device != NULL;
}

static char *
vv_bind_now_iso8601(void)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();

	return g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");
}

/* "0000:02:00.1 (bound to e1000e), 0000:02:00.2 (bound to igb)" */
static char *
vv_bind_describe_blockers(const vv_selection *selection)
{
	const char *const *blockers = vv_selection_get_group_blockers(selection);
	g_autoptr(GString) text = g_string_new(NULL);

	for (guint i = 0; blockers[i]; i++) {
		if (i > 0)
			g_string_append(text, ", ");
		g_string_append_printf(text, _("%1$s (bound to %2$s)"), blockers[i],
				       vv_selection_get_group_blocker_driver(selection, i));
	}
	return g_string_free(g_steal_pointer(&text), FALSE);
}

/* Step 2: assignable, group viable; and the driver to bind. */
static gboolean
vv_detach_choose(vv_op *op, vv_device *device, const vv_bind_options *options,
		 char **module, char **driver, GError **error)
{
	g_autoptr(vv_selection) selection = vv_selection_new(op->ctx, device, error);
	const vv_candidate *selected;

	if (!selection)
		return FALSE;
	/* The administrator's deny holds against any driver, named or not. */
	if (vv_policy_get_action(vv_selection_get_policy(selection)) == VV_POLICY_DENY) {
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_ASSIGNABLE, _("Cannot detach %1$s: %2$s"),
			    op->address, vv_selection_get_summary(selection));
		return FALSE;
	}
	if (vv_selection_get_unassignable(selection)) {
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_ASSIGNABLE, _("Cannot detach %1$s: %2$s."),
			    op->address, vv_unassignable_describe(vv_selection_get_unassignable(selection)));
		return FALSE;
	}
	if (!vv_selection_is_group_viable(selection)) {
		g_autofree char *blockers = vv_bind_describe_blockers(selection);

		g_set_error(error, VV_ERROR, VV_ERROR_NOT_ASSIGNABLE,
			    _("Cannot detach %1$s: its IOMMU group %2$d is not viable, because %3$s would keep DMA outside VFIO. Detach or unbind those devices first."),
			    op->address, vv_device_get_iommu_group(device), blockers);
		return FALSE;
	}

	if (options->driver) {
		/* A driver name (registered now), else a module name; never a
		 * path (vv-name.c says why). */
		if (!vv_name_check(options->driver, VV_NAME_DRIVER, _("the driver to bind"), error))
			return FALSE;
		vv_module_resolve(op->ctx, options->driver, module, driver);
		return TRUE;
	}
	if (options->flags & VV_BIND_GENERIC) {
		*module = g_strdup(VV_GENERIC_MODULE);
		return TRUE;
	}
	selected = vv_selection_get_selected(selection);
	if (!selected) {
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_ASSIGNABLE, _("Cannot detach %1$s: %2$s"),
			    op->address, vv_selection_get_summary(selection));
		return FALSE;
	}
	*module = g_strdup(vv_candidate_get_module(selected));
	*driver = g_strdup(vv_candidate_get_driver(selected));
	return TRUE;
}

static gboolean
vv_detach_check_in_use(vv_op *op, const vv_bind_options *options, GError **error)
{
	g_auto(GStrv) uses = vv_inuse_find(op->ctx, op->address);
	g_autofree char *list = g_strjoinv("; ", uses);

	if (!uses[0])
		return TRUE;
	if (options->flags & VV_BIND_FORCE) {
		vv_op_say(op, _("Detaching %1$s although the host uses it (--force): %2$s."), op->address, list);
		return TRUE;
	}
	g_set_error(error, VV_ERROR, VV_ERROR_IN_USE,
		    _("Refusing to detach %1$s: the host uses it: %2$s. Stop using it first, or give --force."),
		    op->address, list);
	return FALSE;
}

/* Step 4: what the device is on now, and what it goes to. */
static vv_record *
vv_detach_new_record(vv_op *op, vv_device *device, const vv_bind_options *options,
		     const char *module, const char *driver)
{
	vv_record *record = vv_record_new(op->address);

	record->original_driver = g_strdup(vv_device_get_driver(device));
	record->original_module = g_strdup(vv_device_get_driver_module(device));
	record->original_override = g_strdup(vv_device_get_driver_override(device));
	record->module = g_strdup(module);
	record->driver = g_strdup(driver);
	record->time = vv_bind_now_iso8601();
	record->requester = options->requester;
	record->operation = g_strdup("detach");
	record->step = g_strdup("recorded");
	return record;
}

/* Undo a failed detach. ERROR (set) says why it failed; it is extended
 * with where the device is now, or with why the undoing failed too. */
static void
vv_detach_roll_back(vv_op *op, GError **error)
{
	g_autoptr(GError) undo = NULL;
	g_autoptr(GError) failed = NULL;
	vv_record *record = op->record;
	const char *native = record->original_driver;
	gboolean restored;

	/* sysfs first: the journal's writes in it are best-effort. */
	restored = vv_op_restore(op, record->original_override, native, record->original_module, &undo);
	if (restored && vv_op_forget(op, &undo)) {
		if (native)
			g_prefix_error(error, _("Detaching %1$s failed; it is back on %2$s. "), op->address, native);
		else
			g_prefix_error(error, _("Detaching %s failed; it is back without a driver, as before. "),
				       op->address);
		vv_op_add_journal_error(op, error);
		return;
	}
	failed = g_steal_pointer(error);
	if (restored)
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("Detaching %1$s failed: %2$s It is back on %3$s, but its record could not be removed: %4$s"),
			    op->address, failed->message, native ? native : _("no driver"), undo->message);
	else {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("Detaching %1$s failed: %2$s Returning it to its original driver failed too: %3$s The record is kept; fix the cause and run 'vfio-variant recover %1$s'."),
			    op->address, failed->message, undo->message);
		vv_op_put_back(op, record->driver, error);
	}
	vv_op_add_journal_error(op, error);
}

/* The outcome, said last. */
static gboolean
vv_detach_done(vv_op *op)
{
	if (!op->dry_run)
		vv_op_say(op, _("%1$s is bound to %2$s."), op->address, op->result->driver);
	return TRUE;
}

VV_EXPORT vv_bind_result *
vv_detach(vv_ctx *ctx, const char *name, const vv_bind_options *options, GError **error)
{
	g_autoptr(vv_bind_options) defaults = vv_bind_options_new();
	g_autoptr(vv_bind_result) result = vv_bind_result_new();
	g_autoptr(vv_record) record = NULL;
	g_autoptr(vv_device) device = NULL;
	g_autoptr(vv_lock) lock = NULL;
	g_autofree char *address = NULL;
	gboolean stop;
	g_autofree char *module = NULL;
	g_autofree char *driver = NULL;
	g_autoptr(GError) failure = NULL;
	gboolean refused;
	g_auto(vv_op) op = { .ctx = ctx, .result = result };

	if (!options)
		options = defaults;
	op.dry_run = options->flags & VV_BIND_DRY_RUN;
	if (!vv_op_open(&op, name, "detach", options, FALSE, &address, &device, &lock, error))
		return NULL;
	record = op.record;

	if (!vv_op_settle_first(&op, &record, &device, FALSE, &stop, error))
		return NULL;
	if (stop)
		return g_steal_pointer(&result);
	op.record = NULL;

	if (!vv_detach_choose(&op, device, options, &module, &driver, error))
		return NULL;
	if (!driver && module)
		driver = vv_module_driver_name(ctx, module);
	if (driver && g_strcmp0(vv_device_get_driver(device), driver) == 0 && vv_device_is_vfio_bound(device)) {
		result->noop = TRUE;
		result->driver = g_strdup(driver);
		vv_op_say(&op, _("%1$s is already bound to %2$s; nothing to do."), address, driver);
		return g_steal_pointer(&result);
	}
	if (record) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("%1$s is already detached to %2$s. Run 'vfio-variant reattach %1$s' first to bind another driver."),
			    address, record->driver);
		return NULL;
	}
	if (!vv_detach_check_in_use(&op, options, error))
		return NULL;
	record = op.record = vv_detach_new_record(&op, device, options, module, driver);
	if (!op.dry_run && !vv_record_save(ctx, record, error))
		return NULL;

	if (vv_op_bind(&op, module, driver, &refused, &failure) && vv_detach_done(&op))
		return g_steal_pointer(&result);

	/* A variant that refused the device falls back to vfio-pci, unless
	 * the user asked for that driver. */
	if (refused && !options->driver && g_strcmp0(module, VV_GENERIC_MODULE) != 0) {
		record->fallback = TRUE;
		result->fallback = TRUE;
		vv_op_say(&op, _("%1$s Falling back to the generic vfio-pci."), failure->message);
		g_clear_error(&failure);
		if (vv_op_bind(&op, VV_GENERIC_MODULE, NULL, &refused, &failure) && vv_detach_done(&op))
			return g_steal_pointer(&result);
	}
	vv_detach_roll_back(&op, &failure);
	g_propagate_error(error, g_steal_pointer(&failure));
	return NULL;
}

/*
 * Steps 1 to 5 of a detach whose bind someone else makes: the record of
 * the native driver, then the chosen module, loaded so that its driver
 * name is known. Nothing in sysfs changes.
 */
VV_EXPORT vv_bind_result *
vv_detach_prepare(vv_ctx *ctx, const char *name, const vv_bind_options *options, GError **error)
{
	g_autoptr(vv_bind_options) defaults = vv_bind_options_new();
	g_autoptr(vv_bind_result) result = vv_bind_result_new();
	g_autoptr(vv_record) record = NULL;
	g_autoptr(vv_device) device = NULL;
	g_autoptr(vv_lock) lock = NULL;
	g_autoptr(GError) failure = NULL;
	g_autofree char *address = NULL;
	gboolean stop;
	g_autofree char *module = NULL;
	g_autofree char *driver = NULL;
	g_auto(vv_op) op = { .ctx = ctx, .result = result };

	if (!options)
		options = defaults;
	op.dry_run = options->flags & VV_BIND_DRY_RUN;
	if (!vv_op_open(&op, name, "detach", options, FALSE, &address, &device, &lock, error))
		return NULL;
	record = op.record;

	if (!vv_op_settle_first(&op, &record, &device, FALSE, &stop, error))
		return NULL;
	if (stop)
		return g_steal_pointer(&result);
	op.record = NULL;
	if (record) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("%1$s is already detached to %2$s. Run 'vfio-variant reattach %1$s' first to bind another driver."),
			    address, record->driver);
		return NULL;
	}
	/* The record must name the native driver: a device already on a VFIO
	 * driver would have that recorded as its native one. */
	if (vv_device_is_vfio_bound(device)) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("%1$s is already on the VFIO driver %2$s, and vfio-variant has no record of the driver it had before. Give it back to that driver first (virsh nodedev-reattach %3$s), then detach it again."),
			    address, vv_device_get_driver(device), vv_device_get_nodedev_name(device));
		return NULL;
	}
	if (!vv_detach_choose(&op, device, options, &module, &driver, error) ||
	    !vv_detach_check_in_use(&op, options, error))
		return NULL;

	record = op.record = vv_detach_new_record(&op, device, options, module, driver);
	if (!op.dry_run && !vv_record_save(ctx, record, error))
		return NULL;
	if (vv_op_load(&op, module, &failure)) {
		if (!driver && module)
			driver = vv_module_driver_name(ctx, module);
		if (!driver && op.dry_run)
			driver = g_strdup_printf(_("<the driver of %s, known once it is loaded>"), module);
		if (!driver)
			g_set_error(&failure, VV_ERROR, VV_ERROR_BIND,
				    _("Cannot bind %1$s: the module %2$s is loaded but sysfs shows no PCI driver of it (no sys/module/%2$s/drivers/pci:*). Check that it is a PCI driver, or choose another with --driver."),
				    address, module);
		else
			vv_record_set(&record->driver, driver);
		if (driver && vv_op_step(&op, "module-loaded", &failure)) {
			result->driver = g_steal_pointer(&driver);
			return g_steal_pointer(&result);
		}
	}
	/* Nothing in sysfs changed: forgetting the record undoes it all. */
	if (!vv_op_forget(&op, error))
		return NULL;
	g_propagate_error(error, g_steal_pointer(&failure));
	return NULL;
}

/* Step 9 of a detach whose bind someone else made: verify, and complete
 * the record vv_detach_prepare() wrote. Writes nothing but the record. */
VV_EXPORT vv_bind_result *
vv_detach_adopt(vv_ctx *ctx, const char *name, const vv_bind_options *options, GError **error)
{
	g_autoptr(vv_bind_options) defaults = vv_bind_options_new();
	g_autoptr(vv_bind_result) result = vv_bind_result_new();
	g_autoptr(vv_record) record = NULL;
	g_autoptr(vv_device) device = NULL;
	g_autoptr(vv_lock) lock = NULL;
	g_autofree char *address = NULL;
	const char *now, *now_module;
	gboolean fallback;
	g_auto(vv_op) op = { .ctx = ctx, .result = result };

	if (!options)
		options = defaults;
	/* Adopting records what libvirt did: there is no dry run of it. */
	if (!vv_op_open(&op, name, "detach", options, FALSE, &address, &device, &lock, error))
		return NULL;
	record = op.record;
	now = vv_device_get_driver(device);
	now_module = vv_device_get_driver_module(device);

	if (!record || !g_str_equal(record->operation, "detach")) {
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_FOUND,
			    _("Cannot complete the detach of %s: vfio-variant has no record of its native driver, written before the bind."),
			    address);
		return NULL;
	}
	if (vv_record_is_complete(record)) {
		if (g_strcmp0(now, record->driver) != 0 || !vv_device_is_vfio_bound(device)) {
			g_set_error(error, VV_ERROR, VV_ERROR_BIND,
				    _("%1$s is already detached to %2$s, but it is on %3$s now. Run 'vfio-variant reattach %1$s'."),
				    address, record->driver, now ? now : _("no driver"));
			return NULL;
		}
		result->noop = TRUE;
		result->driver = g_strdup(now);
		vv_op_say(&op, _("%1$s is already bound to %2$s; nothing to do."), address, now);
		return g_steal_pointer(&result);
	}
	if (!now) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("%s has no driver: the bind did not reach a VFIO driver."), address);
		return NULL;
	}
	if (!vv_device_is_vfio_bound(device)) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("%1$s is on %2$s, which is not a VFIO driver (the device has no vfio-dev/ directory): the bind did not reach a VFIO driver."),
			    address, now);
		return NULL;
	}

	/* vfio-pci where a variant was chosen: the variant gave way. */
	fallback = g_strcmp0(now, record->driver) != 0 && g_strcmp0(now_module, VV_GENERIC_MODULE) == 0 &&
		   g_strcmp0(record->module, VV_GENERIC_MODULE) != 0;
	if (fallback)
		vv_op_say(&op, _("%1$s was chosen for %2$s, but the device is on the generic vfio-pci: recorded as a fallback."),
			  record->driver ? record->driver : record->module, address);
	else if (g_strcmp0(now, record->driver) != 0)
		vv_op_say(&op, _("%1$s was chosen for %2$s, but the device is on %3$s: recorded as it is."),
			  record->driver ? record->driver : record->module, address, now);
	vv_record_set(&record->driver, now);
	vv_record_set(&record->module, now_module);
	record->fallback = fallback;
	result->fallback = fallback;
	if (!vv_op_step(&op, "verified", error))
		return NULL;
	result->driver = g_strdup(now);
	vv_op_say(&op, _("%1$s is bound to %2$s."), address, now);
	return g_steal_pointer(&result);
}

/*
 * Giving DEVICE back to a host driver while another member of its group
 * stays on a VFIO driver makes the group not viable: no guest can use that
 * member until it is reattached too. Said (NOTES, after the reattach);
 * refused unless forced when a guest holds that member (its record names a
 * libvirt domain, or a process has the group's /dev/vfio/N open): the
 * guest would lose the group, and the kernel (>= 5.19) refuses the host
 * driver's probe anyway. The check that detach makes on the way in.
 */
static gboolean
vv_reattach_check_group(vv_op *op, vv_device *device, const vv_bind_options *options,
			GPtrArray *notes, GError **error)
{
	const char *const *members = vv_device_get_group_members(device);
	int group = vv_device_get_iommu_group(device);
	/* The domain this device is given back from (the hook's release, or a
	 * forced reattach) is no holder: it is stopped. */
	const char *releasing = options->domain ? options->domain : op->record ? op->record->domain : NULL;
	g_autofree char *opener = NULL;
	gboolean opener_read = FALSE;

	for (guint i = 0; members[i]; i++) {
		g_autoptr(vv_device) member = NULL;
		g_autoptr(vv_record) record = NULL;
		g_autofree char *holder = NULL;

		if (g_str_equal(members[i], op->address) ||
		    !(member = vv_device_new(op->ctx, members[i], NULL)) || !vv_device_is_vfio_bound(member))
			continue;
		record = vv_record_load(op->ctx, members[i], NULL);
		if (record && record->domain && g_strcmp0(record->domain, releasing) != 0) {
			holder = g_strdup_printf(_("the libvirt domain %s"), record->domain);
		} else {
			if (!opener_read)
				opener = vv_inuse_group_opener(op->ctx, group);
			opener_read = TRUE;
			if (opener)
				holder = g_strdup_printf(_("the process %1$s, which has /dev/vfio/%2$d open"),
							 opener, group);
		}
		if (holder && !(options->flags & VV_BIND_FORCE)) {
			g_set_error(error, VV_ERROR, VV_ERROR_IN_USE,
				    _("Refusing to reattach %1$s: %2$s of its IOMMU group %3$d is on the VFIO driver %4$s and held by %5$s. A host driver on %1$s would make the group unusable by that guest, and the kernel refuses a host driver in a group a VFIO user holds."),
				    op->address, members[i], group, vv_device_get_driver(member), holder);
			return FALSE;
		}
		g_ptr_array_add(notes, holder ?
				g_strdup_printf(_("%1$s of the same IOMMU group %2$d stays on the VFIO driver %3$s, held by %4$s (reattached although it is held, as forced): the group is no longer usable by a guest until %1$s is reattached too."),
						members[i], group, vv_device_get_driver(member), holder) :
				g_strdup_printf(_("%1$s of the same IOMMU group %2$d stays on the VFIO driver %3$s: the group is no longer usable by a guest until %1$s is reattached too."),
						members[i], group, vv_device_get_driver(member)));
	}
	return TRUE;
}

/* A record whose device is gone from sysfs: nothing can give it back, so
 * only a forced reattach removes the record. */
static gboolean
vv_reattach_vanished(vv_op *op, const vv_bind_options *options, GError **error)
{
	g_autofree char *dir = vv_sysfs_device_dir(op->ctx, op->address);

	if (!(options->flags & VV_BIND_FORCE)) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("Refusing to reattach %1$s: the device is gone from this host (%2$s is missing), so it cannot be given back; its record (detached to %3$s) is kept, in case the device comes back."),
			    op->address, dir, op->record->driver ? op->record->driver : _("no driver"));
		return FALSE;
	}
	if (!vv_op_forget(op, error))
		return FALSE;
	vv_op_say(op, op->dry_run ?
		  _("%1$s is gone from this host (%2$s is missing): its record would be removed.") :
		  _("%1$s is gone from this host (%2$s is missing): its record was removed."),
		  op->address, dir);
	return TRUE;
}

VV_EXPORT vv_bind_result *
vv_reattach(vv_ctx *ctx, const char *name, const vv_bind_options *options, GError **error)
{
	g_autoptr(vv_bind_options) defaults = vv_bind_options_new();
	g_autoptr(vv_bind_result) result = vv_bind_result_new();
	g_autoptr(vv_record) record = NULL;
	g_autoptr(vv_device) device = NULL;
	g_autoptr(vv_lock) lock = NULL;
	g_autoptr(GError) local = NULL;
	g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *address = NULL;
	g_autofree char *now = NULL;
	g_autofree char *vfio_driver = NULL;
	g_auto(vv_op) op = { .ctx = ctx, .result = result };

	if (!options)
		options = defaults;
	op.dry_run = options->flags & VV_BIND_DRY_RUN;
	if (!vv_op_open(&op, name, "reattach", options, TRUE, &address, &device, &lock, error))
		return NULL;
	record = op.record;

	if (!device)
		return vv_reattach_vanished(&op, options, error) ? g_steal_pointer(&result) : NULL;
	if (record && !vv_record_is_complete(record)) {
		if (!vv_op_settle(&op, error))
			return NULL;
		return g_steal_pointer(&result);
	}
	/* A guest may hold it: the hook gives it back when the guest is gone. */
	if (record && record->domain && options->requester != VV_REQUESTER_HOOK &&
	    !(options->flags & VV_BIND_FORCE)) {
		g_set_error(error, VV_ERROR, VV_ERROR_IN_USE,
			    _("Refusing to reattach %1$s: it is assigned to the libvirt domain %2$s, and the qemu hook gives it back when that domain is stopped. Stop the domain first; if it is not running any more (its stop was cut short, or the hook's 'release end' failed), reattach with --force."),
			    address, record->domain);
		return NULL;
	}
	/* No record, but the caller knows the native state (the hook). */
	if (!record && options->native_set) {
		record = op.record = vv_record_new(address);
		record->original_driver = g_strdup(options->native_driver);
		record->original_module = g_strdup(options->native_module);
		record->original_override = g_strdup(options->native_override);
		record->driver = g_strdup(vv_device_get_driver(device));
		record->module = g_strdup(vv_device_get_driver_module(device));
		record->time = vv_bind_now_iso8601();
		record->requester = options->requester;
		record->operation = g_strdup("detach");
		record->step = g_strdup("verified");
	}
	/* Only a device going to a host driver changes its group's viability. */
	if (vv_device_is_vfio_bound(device) && (!record || record->original_driver) &&
	    !vv_reattach_check_group(&op, device, options, notes, error))
		return NULL;

	if (!record) {
		/* Nothing says where it came from: let the kernel choose. */
		if (!vv_device_is_vfio_bound(device)) {
			result->noop = TRUE;
			result->driver = g_strdup(vv_device_get_driver(device));
			vv_op_say(&op, _("%1$s is not on a VFIO driver (driver: %2$s); nothing to do."),
				  address, result->driver ? result->driver : _("none"));
			return g_steal_pointer(&result);
		}
		vv_op_say(&op, _("Warning: %s has no record, so its native driver is unknown; the kernel chooses one."),
			  address);
		if (!vv_op_write_override(&op, NULL, error) ||
		    !vv_op_unbind(&op, vv_device_get_driver(device), error) || !vv_op_probe(&op, error))
			return NULL;
		if (!op.dry_run) {
			now = vv_op_current_driver(&op);
			result->driver = g_strdup(now);
			if (now)
				vv_op_say(&op, _("%1$s is now bound to %2$s."), address, now);
			else
				vv_op_say(&op, _("%s is now without a driver: none took it."), address);
		}
		for (guint i = 0; i < notes->len; i++)
			vv_op_say(&op, "%s", (char *)g_ptr_array_index(notes, i));
		return g_steal_pointer(&result);
	}

	/* The native module first: if it cannot be loaded, the device stays
	 * on its VFIO driver instead of ending up with none. */
	if (!vv_op_load(&op, record->original_module, &local)) {
		g_set_error(error, VV_ERROR, VV_ERROR_MODULE_LOAD,
			    _("Cannot reattach %1$s: %2$s It stays on %3$s."), address, local->message,
			    vv_device_get_driver(device) ? vv_device_get_driver(device) : _("no driver"));
		return NULL;
	}
	/* Where a refused host probe puts it back (vv_op_put_back). */
	vfio_driver = g_strdup(vv_device_is_vfio_bound(device) ? vv_device_get_driver(device) : record->driver);
	vv_record_set(&record->operation, "reattach");
	/* Nothing has changed yet: a journal that cannot be written stops here. */
	if (!vv_op_step(&op, "started", error))
		return NULL;
	if (!vv_op_restore(&op, NULL, record->original_driver, record->original_module, &local)) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND, _("Reattaching %1$s failed: %2$s"), address, local->message);
		vv_op_put_back(&op, vfio_driver, error);
		vv_op_add_journal_error(&op, error);
		return NULL;
	}
	if (!vv_op_forget(&op, &local)) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("%1$s is back on %2$s, but its record could not be removed: %3$s"),
			    address, record->original_driver ? record->original_driver : _("no driver"), local->message);
		vv_op_add_journal_error(&op, error);
		return NULL;
	}
	if (!op.dry_run && record->original_driver)
		vv_op_say(&op, _("%1$s is back on its driver %2$s."), address, record->original_driver);
	else if (!op.dry_run)
		vv_op_say(&op, _("%s has no driver, as before it was detached."), address);
	vv_op_say_journal_error(&op);
	for (guint i = 0; i < notes->len; i++)
		vv_op_say(&op, "%s", (char *)g_ptr_array_index(notes, i));
	return g_steal_pointer(&result);
}

VV_EXPORT vv_bind_result *
vv_recover(vv_ctx *ctx, const char *name, const vv_bind_options *options, GError **error)
{
	g_autoptr(vv_bind_options) defaults = vv_bind_options_new();
	g_autoptr(vv_bind_result) result = vv_bind_result_new();
	g_autoptr(vv_record) record = NULL;
	g_autoptr(vv_device) device = NULL;
	g_autoptr(vv_lock) lock = NULL;
	g_autofree char *address = NULL;
	g_auto(vv_op) op = { .ctx = ctx, .result = result };

	if (!options)
		options = defaults;
	op.dry_run = options->flags & VV_BIND_DRY_RUN;
	if (!vv_op_open(&op, name, "recover", options, FALSE, &address, &device, &lock, error))
		return NULL;
	record = op.record;

	if (!record || vv_record_is_complete(record)) {
		result->noop = TRUE;
		result->driver = g_strdup(vv_device_get_driver(device));
		vv_op_say(&op, record ? _("%s is detached and its last operation completed; nothing to recover.") :
				   _("%s has no record; nothing to recover."), address);
		return g_steal_pointer(&result);
	}
	if (!vv_op_settle(&op, error))
		return NULL;
	return g_steal_pointer(&result);
}

/* ---- rebind: from one VFIO driver to another (the qemu hook) ----------- */

/*
 * libvirt binds vfio-pci between the hook's stages (managed hostdevs at
 * start, and libvirt 9.0 accepts an unmanaged one only on vfio-pci), so
 * the hook moves devices between VFIO drivers: to the planned variant at
 * 'start begin', back to vfio-pci at 'stopped end'. Steps 5 to 9 of the
 * detach do it, under the group lock and the journal. The record keeps
 * where the device came from before any VFIO driver: an existing record
 * is kept, a new one takes the native state the caller saw earlier
 * (vv_bind_options_set_native()). Its operation stays "detach", so a
 * rebind cut short is settled like a detach: back to the native driver,
 * where libvirt also returns a device whose guest did not start.
 *
 * A rebind that fails otherwise returns the device to the VFIO driver it
 * was on (that driver in driver_override for the probe, then the override
 * it had) and the record to what it was. The group's viability and the
 * host's use of the device are not checked: a VFIO driver holds it.
 */

static vv_record *
vv_rebind_copy_record(const vv_record *record)
{
	vv_record *copy = vv_record_new(record->address);

	copy->original_driver = g_strdup(record->original_driver);
	copy->original_module = g_strdup(record->original_module);
	copy->original_override = g_strdup(record->original_override);
	copy->driver = g_strdup(record->driver);
	copy->module = g_strdup(record->module);
	copy->fallback = record->fallback;
	copy->time = g_strdup(record->time);
	copy->requester = record->requester;
	copy->operation = g_strdup(record->operation);
	copy->step = g_strdup(record->step);
	copy->domain = g_strdup(record->domain);
	copy->managed = record->managed;
	return copy;
}

/* The options' driver, vfio_pci, or the selection's (the policy applies). */
static gboolean
vv_rebind_choose(vv_op *op, vv_device *device, const vv_bind_options *options,
		 char **module, char **driver, GError **error)
{
	g_autoptr(vv_selection) selection = NULL;
	const vv_candidate *selected;

	if (options->driver) {
		if (!vv_name_check(options->driver, VV_NAME_DRIVER, _("the driver to bind"), error))
			return FALSE;
		vv_module_resolve(op->ctx, options->driver, module, driver);
		return TRUE;
	}
	if (options->flags & VV_BIND_GENERIC) {
		*module = g_strdup(VV_GENERIC_MODULE);
		*driver = vv_module_driver_name(op->ctx, VV_GENERIC_MODULE);
		return TRUE;
	}
	if (!(selection = vv_selection_new(op->ctx, device, error)))
		return FALSE;
	if (!(selected = vv_selection_get_selected(selection))) {
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_ASSIGNABLE, _("Cannot move %1$s: %2$s"),
			    op->address, vv_selection_get_summary(selection));
		return FALSE;
	}
	*module = g_strdup(vv_candidate_get_module(selected));
	*driver = vv_module_driver_name(op->ctx, *module);
	return TRUE;
}

/* Back to DRIVER, the VFIO driver the device was on, and to OVERRIDE. */
static gboolean
vv_rebind_return(vv_op *op, const char *driver, const char *module, const char *override, GError **error)
{
	gboolean refused;

	op->record = NULL; /* the journal stays where the failure left it */
	if (!vv_op_bind(op, module, driver, &refused, error))
		return FALSE;
	return g_strcmp0(override, driver) == 0 || vv_op_write_override(op, override, error);
}

/* A device back on the driver its record started from needs no record;
 * any other ends with a complete one. HAD_RECORD: one was on disk. */
static gboolean
vv_rebind_finish(vv_op *op, vv_record *record, gboolean had_record, GError **error)
{
	g_autoptr(vv_device) now = NULL;

	if (op->dry_run)
		return TRUE;
	if (!record->original_driver || g_strcmp0(op->result->driver, record->original_driver) != 0) {
		vv_record_set(&record->step, "verified");
		if (!vv_record_save(op->ctx, record, error))
			return FALSE;
		if (!op->result->noop)
			vv_op_say(op, _("%1$s is bound to %2$s."), op->address, op->result->driver);
		return TRUE;
	}
	if (!(now = vv_device_new(op->ctx, op->address, error)))
		return FALSE;
	if (g_strcmp0(vv_device_get_driver_override(now), record->original_override) != 0 &&
	    !vv_op_write_override(op, record->original_override, error))
		return FALSE;
	if (had_record)
		vv_op_say(op, _("%1$s is back on %2$s, where it was before vfio-variant moved it; it has no record any more."),
			  op->address, op->result->driver);
	return vv_record_remove(op->ctx, op->address, error);
}

VV_EXPORT vv_bind_result *
vv_rebind(vv_ctx *ctx, const char *name, const vv_bind_options *options, GError **error)
{
	g_autoptr(vv_bind_options) defaults = vv_bind_options_new();
	g_autoptr(vv_bind_result) result = vv_bind_result_new();
	g_autoptr(vv_record) record = NULL;
	g_autoptr(vv_record) saved = NULL;
	g_autoptr(vv_device) device = NULL;
	g_autoptr(vv_lock) lock = NULL;
	g_autoptr(GError) failure = NULL;
	g_autoptr(GError) undo = NULL;
	g_autofree char *address = NULL;
	gboolean stop;
	g_autofree char *module = NULL;
	g_autofree char *driver = NULL;
	g_autofree char *from_driver = NULL;
	g_autofree char *from_module = NULL;
	g_autofree char *from_override = NULL;
	gboolean refused = FALSE;
	g_auto(vv_op) op = { .ctx = ctx, .result = result };

	if (!options)
		options = defaults;
	op.dry_run = options->flags & VV_BIND_DRY_RUN;
	if (!vv_op_open(&op, name, "rebind", options, FALSE, &address, &device, &lock, error))
		return NULL;
	record = op.record;
	if (!vv_op_settle_first(&op, &record, &device, TRUE, &stop, error))
		return NULL;
	if (stop)
		return g_steal_pointer(&result);
	op.record = NULL;

	from_driver = g_strdup(vv_device_get_driver(device));
	from_module = g_strdup(vv_device_get_driver_module(device));
	from_override = g_strdup(vv_device_get_driver_override(device));
	if (!vv_device_is_vfio_bound(device)) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("Cannot move %1$s to another VFIO driver: it is on %2$s, not on a VFIO driver. Detach it first."),
			    address, from_driver ? from_driver : _("no driver"));
		return NULL;
	}
	if (!vv_rebind_choose(&op, device, options, &module, &driver, error))
		return NULL;

	/* Where the device came from stays; the rest describes it now. */
	if (record) {
		saved = vv_rebind_copy_record(record);
	} else {
		record = vv_record_new(address);
		record->original_driver = g_strdup(options->native_set ? options->native_driver : from_driver);
		record->original_module = g_strdup(options->native_set ? options->native_module : from_module);
		record->original_override = g_strdup(options->native_set ? options->native_override : from_override);
		record->time = vv_bind_now_iso8601();
	}
	record->requester = options->requester;
	vv_record_set(&record->domain, options->domain);
	record->managed = options->managed;
	vv_record_set(&record->operation, "detach");

	if (driver && g_str_equal(driver, from_driver)) {
		result->noop = TRUE;
		result->driver = g_strdup(driver);
		vv_op_say(&op, _("%1$s is already bound to %2$s; nothing to move."), address, driver);
		vv_record_set(&record->driver, driver);
		vv_record_set(&record->module, from_module);
		return vv_rebind_finish(&op, record, saved != NULL, error) ? g_steal_pointer(&result) : NULL;
	}

	record->fallback = FALSE;
	vv_record_set(&record->step, "recorded");
	op.record = record;
	if (!op.dry_run && !vv_record_save(ctx, record, error))
		return NULL;
	if (!vv_op_bind(&op, module, driver, &refused, &failure) && refused &&
	    !(options->flags & VV_BIND_STRICT) && g_strcmp0(module, VV_GENERIC_MODULE) != 0) {
		record->fallback = TRUE;
		result->fallback = TRUE;
		vv_op_say(&op, _("%1$s Falling back to the generic vfio-pci."), failure->message);
		g_clear_error(&failure);
		vv_op_bind(&op, VV_GENERIC_MODULE, NULL, &refused, &failure);
	}
	if (!failure)
		return vv_rebind_finish(&op, record, TRUE, error) ? g_steal_pointer(&result) : NULL;

	/* sysfs first; the record is put back only once the device is. */
	if (vv_rebind_return(&op, from_driver, from_module, from_override, &undo)) {
		if (op.dry_run || (saved ? vv_record_save(ctx, saved, &undo) : vv_record_remove(ctx, address, &undo))) {
			g_prefix_error(&failure, _("Moving %1$s failed; it is back on %2$s. "), address, from_driver);
			g_propagate_error(error, g_steal_pointer(&failure));
			return NULL;
		}
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("Moving %1$s to another VFIO driver failed: %2$s It is back on %3$s, but its record could not be put back: %4$s"),
			    address, failure->message, from_driver, undo->message);
		return NULL;
	}
	g_set_error(error, VV_ERROR, VV_ERROR_BIND,
		    _("Moving %1$s to another VFIO driver failed: %2$s Returning it to %3$s failed too: %4$s The record is kept; fix the cause and run 'vfio-variant recover %1$s', which returns it to its native driver."),
		    address, failure->message, from_driver, undo->message);
	return NULL;
}
