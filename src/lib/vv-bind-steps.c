/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The binding engine's primitive steps, each listed in the result and made
 * unless this is a dry run: load a module, write driver_override, unbind,
 * reprobe. Built from them: the bind (steps 5 to 9 of a detach), the
 * restore to the native driver (reattach, rollback, recover), the put-back
 * on the VFIO driver when a restore fails, and the settling of an
 * operation that was cut short.
 */
#include <string.h>

#include "vv-bind.h"


gboolean
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

gboolean
vv_op_write_override(vv_op *op, const char *driver, GError **error)
{
	g_autofree char *path = vv_sysfs_device_file(op->ctx, op->address, "driver_override");

	g_ptr_array_add(op->result->actions, driver ?
			g_strdup_printf(_("write '%1$s' to %2$s"), driver, path) :
			g_strdup_printf(_("write '\\n' to %s (clear)"), path));
	return op->dry_run || vv_sysfs_write_driver_override(op->ctx, op->address, driver, error);
}

gboolean
vv_op_unbind(vv_op *op, const char *driver, GError **error)
{
	g_autofree char *path = vv_sysfs_unbind_file(op->ctx, driver);

	g_ptr_array_add(op->result->actions, g_strdup_printf(_("write '%1$s' to %2$s"), op->address, path));
	return op->dry_run || vv_sysfs_write_unbind(op->ctx, driver, op->address, error);
}

gboolean
vv_op_probe(vv_op *op, GError **error)
{
	g_autofree char *path = vv_sysfs_drivers_probe_file(op->ctx);

	g_ptr_array_add(op->result->actions, g_strdup_printf(_("write '%1$s' to %2$s"), op->address, path));
	return op->dry_run || vv_sysfs_write_drivers_probe(op->ctx, op->address, error);
}

/* ---- the two directions ------------------------------------------------ */

/*
 * The driver name to write to driver_override once MODULE is loaded:
 * KNOWN_DRIVER when the caller knows it, else what the module registered
 * (a dry run names it by its module). NULL, with ERROR set, when the
 * module registered no PCI driver.
 */
char *
vv_op_loaded_driver(vv_op *op, const char *module, const char *known_driver, GError **error)
{
	char *driver = g_strdup(known_driver);

	if (!driver && module)
		driver = vv_module_loaded_driver_name(op->ctx, module);
	if (!driver && op->dry_run)
		driver = g_strdup_printf(_("<the driver of %s, known once it is loaded>"), module);
	if (!driver)
		g_set_error(error, VV_ERROR, VV_ERROR_NO_PCI_DRIVER,
			    _("Cannot bind %1$s: the module %2$s is loaded but sysfs shows no PCI driver of it (no sys/module/%2$s/drivers/pci:*), so it is not a PCI driver."),
			    op->address, module);
	return driver;
}

/*
 * Bind MODULE's driver (DRIVER when already known, MODULE NULL for a
 * built-in driver): steps 5 to 9 of the detach. *REFUSED is set when the
 * probe left the device driverless, the case that may fall back.
 */
gboolean
vv_op_bind(vv_op *op, const char *module, const char *known_driver, gboolean *refused, GError **error)
{
	g_autofree char *driver = NULL;
	g_autofree char *current = vv_op_current_driver(op);
	g_autofree char *now = NULL;

	*refused = FALSE;
	if (!vv_op_load(op, module, error) || !vv_op_step(op, "module-loaded", error))
		return FALSE;
	if (!(driver = vv_op_loaded_driver(op, module, known_driver, error)))
		return FALSE;
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
/*
 * A device the udev rule held with its pending override (VV_APPLY_PENDING,
 * recorded as the original override by the detach that replaced it) had no
 * driver because its declaration held it for VFIO. Going back, it is held
 * again while it is still declared: the pending override is put back and
 * no host driver takes it (a failed apply leaves it so, and the next apply
 * tries again). Declared no more (undeclared, then reattached), the
 * override is cleared and the kernel offers it to its host drivers
 * (*RELEASE). Any other device goes back to OVERRIDE.
 */
/* The policy declares the device in VFIO mode (mode=vfio). A policy that
 * cannot be read declares nothing: it must not keep a device from going
 * back to its host driver, nor hold one with a stale marker. */
gboolean
vv_op_is_declared(vv_op *op)
{
	g_autoptr(vv_policy) policy = vv_policy_new(op->ctx, op->device, NULL);

	return policy && vv_policy_get_device_mode(policy) == VV_DEVICE_MODE_VFIO;
}

static const char *
vv_op_native_override(vv_op *op, const char *override, const char *native, gboolean *release)
{
	const vv_record *record = op->record ? op->record : op->stored;

	*release = FALSE;
	if (native || !record || g_strcmp0(record->original_override, VV_APPLY_PENDING) != 0)
		return override;
	if (vv_op_is_declared(op))
		return VV_APPLY_PENDING;
	*release = TRUE;
	return NULL;
}

gboolean
vv_op_restore(vv_op *op, const char *override, const char *native, const char *native_module, GError **error)
{
	g_autofree char *current = vv_op_current_driver(op);
	g_autofree char *now = NULL;
	gboolean release;

	override = vv_op_native_override(op, override, native, &release);
	op->held = g_strcmp0(override, VV_APPLY_PENDING) == 0;
	if (!vv_op_write_override(op, override, error))
		return FALSE;
	vv_op_note(op, "override-set");
	if (current && g_strcmp0(current, native) != 0) {
		if (!vv_op_unbind(op, current, error))
			return FALSE;
		vv_op_note(op, "unbound");
		g_clear_pointer(&current, g_free);
	}
	/* A device that had no driver stays unbound: no probe. One released
	 * from the pending override goes to whichever host driver takes it. */
	if ((native || release) && !current) {
		if (native && !vv_op_load(op, native_module, error))
			return FALSE;
		if (native)
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
	if (release) {
		vv_record_set(&op->result->driver, now);
		return TRUE;
	}
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
gboolean
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
void
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
	if (!put && !now && refused && g_strcmp0(record->module, VV_VFIO_PCI_MODULE) != 0) {
		g_clear_error(&undo);
		put = vv_op_bind(op, VV_VFIO_PCI_MODULE, NULL, &refused, &undo);
		if (put) {
			vfio_driver = op->result->driver;
			vv_record_set(&record->module, VV_VFIO_PCI_MODULE);
			record->fallback = TRUE;
		}
	}
	op->record = record;
	failed = g_steal_pointer(error);
	if (!put && !now) {
		g_set_error(error, VV_ERROR, VV_ERROR_NEEDS_RECOVERY, _("%1$s Putting %2$s back on %3$s failed too: %4$s"),
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
		g_set_error(error, VV_ERROR, VV_ERROR_NEEDS_RECOVERY,
			    _("%1$s It stays on %2$s, but its record could not be updated to say so: it still names the operation cut short."),
			    failed->message, vfio_driver);
	else if (saved)
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("%1$s It was put back on %2$s, so that it is not left without a driver; its record is kept."),
			    failed->message, vfio_driver);
	else
		g_set_error(error, VV_ERROR, VV_ERROR_NEEDS_RECOVERY,
			    _("%1$s It was put back on %2$s, so that it is not left without a driver, but its record could not be updated to say so: it still names the operation cut short."),
			    failed->message, vfio_driver);
}

/*
 * Settle an operation cut short (the record's journal is not "verified"):
 * roll back a detach, finish a reattach. Both end on the native driver:
 * that is where a detach started and where a reattach goes.
 */
gboolean
vv_op_settle(vv_op *op, GError **error)
{
	vv_record *record = op->record;
	gboolean detach = g_str_equal(record->operation, "detach");
	g_autofree char *step = g_strdup(record->step); /* restoring moves the journal on */
	g_autofree char *vfio_driver = g_strdup(record->driver); /* where a failed restore puts it */
	g_autoptr(GError) local = NULL;

	if (!vv_op_restore(op, detach ? record->original_override : NULL,
			   record->original_driver, record->original_module, &local)) {
		g_set_error(error, VV_ERROR, VV_ERROR_NEEDS_RECOVERY, detach ?
			    _("The detach of %1$s was cut short after the step '%2$s', and rolling it back failed: %3$s The record is kept, so that the detach can be rolled back once the cause is fixed.") :
			    _("The reattach of %1$s was cut short after the step '%2$s', and finishing it failed: %3$s The record is kept, so that the reattach can be finished once the cause is fixed."),
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

/* A record of an operation cut short is settled before anything else (see
 * vv_op_settle), and the device read again. A dry run can only say that
 * the settling comes first: *STOP tells the caller to return then. MOVE:
 * the operation is a rebind (the message says what is planned). */
gboolean
vv_op_settle_first(vv_op *op, gboolean move, gboolean *stop, GError **error)
{
	*stop = FALSE;
	if (!op->stored || vv_record_is_complete(op->stored))
		return TRUE;
	if (!vv_op_settle(op, error))
		return FALSE;
	if (op->dry_run) {
		vv_op_say(op, move ? _("The operation cut short on %s is settled first; the move can be planned only after that.") :
				     _("The operation cut short on %s is settled first; the detach can be planned only after that."),
			  op->address);
		*stop = TRUE;
		return TRUE;
	}
	vv_op_keep_record(op, NULL);
	g_clear_pointer(&op->device, vv_device_unref);
	op->device = vv_device_new(op->ctx, op->address, error);
	return op->device != NULL;
}
