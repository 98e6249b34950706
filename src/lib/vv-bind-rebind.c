/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Rebind: from one VFIO driver to another (the qemu hook).
 *
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
#include <string.h>

#include "vv-bind.h"

/* The options' driver, vfio_pci, or the selection's (the policy applies). */
static gboolean
vv_rebind_choose(vv_op *op, char **module, char **driver, GError **error)
{
	g_autoptr(vv_selection) selection = NULL;
	const vv_candidate *selected;
	gboolean named;

	if (!vv_op_choose_named(op, module, driver, &named, error))
		return FALSE;
	if (named)
		return TRUE;
	if (!(selection = vv_selection_new(op->ctx, op->device, error)))
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
	g_auto(vv_op) op = { 0 };
	g_autoptr(vv_record) saved = NULL;
	g_autoptr(GError) failure = NULL;
	g_autoptr(GError) undo = NULL;
	g_autofree char *module = NULL;
	g_autofree char *driver = NULL;
	g_autofree char *from_driver = NULL;
	g_autofree char *from_module = NULL;
	g_autofree char *from_override = NULL;
	gboolean stop, refused = FALSE;
	const char *address;
	vv_bind_result *result;
	vv_device *device;
	vv_record *record;

	if (!vv_op_open(&op, ctx, name, "rebind", options, 0, error) ||
	    !vv_op_settle_first(&op, TRUE, &stop, error))
		return NULL;
	if (stop)
		return vv_op_steal_result(&op);
	op.record = NULL;
	options = op.options;
	address = op.address;
	result = op.result;
	device = op.device;
	record = op.stored;

	from_driver = g_strdup(vv_device_get_driver(device));
	from_module = g_strdup(vv_device_get_driver_module(device));
	from_override = g_strdup(vv_device_get_driver_override(device));
	if (!vv_device_is_vfio_bound(device)) {
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_DETACHED,
			    _("Cannot move %1$s to another VFIO driver: it is on %2$s, not on a VFIO driver."),
			    address, from_driver ? from_driver : _("no driver"));
		return NULL;
	}
	if (!vv_rebind_choose(&op, &module, &driver, error))
		return NULL;

	/* Where the device came from stays; the rest describes it now. */
	if (record)
		saved = vv_record_copy(record);
	else
		record = vv_op_new_record(&op, TRUE);
	op.record = NULL; /* the journal starts once the record is saved */
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
		return vv_rebind_finish(&op, record, saved != NULL, error) ? vv_op_steal_result(&op) : NULL;
	}

	record->fallback = FALSE;
	vv_record_set(&record->step, "recorded");
	op.record = record;
	if (!op.dry_run && !vv_record_save(ctx, record, error))
		return NULL;
	if (!vv_op_bind(&op, module, driver, &refused, &failure) && refused &&
	    !(options->flags & VV_BIND_STRICT) && g_strcmp0(module, VV_VFIO_PCI_MODULE) != 0) {
		record->fallback = TRUE;
		result->fallback = TRUE;
		vv_op_say(&op, _("%1$s Falling back to the generic vfio-pci."), failure->message);
		g_clear_error(&failure);
		vv_op_bind(&op, VV_VFIO_PCI_MODULE, NULL, &refused, &failure);
	}
	if (!failure)
		return vv_rebind_finish(&op, record, TRUE, error) ? vv_op_steal_result(&op) : NULL;

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
	g_set_error(error, VV_ERROR, VV_ERROR_NEEDS_RECOVERY,
		    _("Moving %1$s to another VFIO driver failed: %2$s Returning it to %3$s failed too: %4$s The record is kept, so that the device can be returned to its native driver once the cause is fixed."),
		    address, failure->message, from_driver, undo->message);
	return NULL;
}
