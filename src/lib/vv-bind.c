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
 *
 * Every public entry point opens one operation (vv_op_open: the device,
 * its group's lock, its record) and works through it; vv-bind.h says
 * which file holds which operation. This file: the options, the result,
 * the operation object and its journal.
 */
#include <string.h>

#include "vv-bind.h"

#define VV_LOCK_TIMEOUT_MS 10000
#define VV_OPEN_ATTEMPTS 3 /* group re-read under the lock: see vv_op_open */

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

vv_bind_result *
vv_bind_result_new(void)
{
	vv_bind_result *result = g_new0(vv_bind_result, 1);

	result->actions = vv_list_new(g_free);
	result->messages = vv_list_new(g_free);
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

VV_EXPORT const GPtrArray *vv_bind_result_get_actions(const vv_bind_result *result) { return result->actions; }
VV_EXPORT const GPtrArray *vv_bind_result_get_messages(const vv_bind_result *result) { return result->messages; }
VV_EXPORT const char *vv_bind_result_get_driver(const vv_bind_result *result) { return result->driver; }
VV_EXPORT gboolean vv_bind_result_is_noop(const vv_bind_result *result) { return result->noop; }
VV_EXPORT gboolean vv_bind_result_is_fallback(const vv_bind_result *result) { return result->fallback; }

void
vv_op_say(vv_op *op, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	g_ptr_array_add(op->result->messages, g_strdup_vprintf(format, args));
	va_end(args);
}

/* ---- the device as it is now ----------------------------------------- */

char *
vv_op_current_driver(vv_op *op)
{
	g_autofree char *link = vv_sysfs_device_file(op->ctx, op->address, "driver");

	return vv_sysfs_link_name(op->ctx, link);
}

gboolean
vv_op_has_vfio_dev(vv_op *op)
{
	g_autofree char *dir = vv_sysfs_device_file(op->ctx, op->address, "vfio-dev");

	return vv_sysfs_is_dir(op->ctx, dir);
}

/* ---- the journal ------------------------------------------------------- */

gboolean
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
void
vv_op_note(vv_op *op, const char *step)
{
	g_autoptr(GError) local = NULL;

	if (!vv_op_step(op, step, &local) && !op->journal_error)
		op->journal_error = g_steal_pointer(&local);
}

/* Append to ERROR (set) that the journal could not be written, if so. */
void
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

/* The device went where a restore took it, but the journal failed on the
 * way (vv_op_note): said, since the record may now lag behind. */
void
vv_op_say_journal_error(vv_op *op)
{
	if (op->journal_error)
		vv_op_say(op, _("Warning: the record of %1$s could not be written during the restore: %2$s"),
			  op->address, op->journal_error->message);
}

/* ---- the operation object ---------------------------------------------- */

void
vv_op_clear(vv_op *op)
{
	g_clear_pointer(&op->lock, vv_lock_release);
	g_clear_pointer(&op->device, vv_device_unref);
	g_clear_pointer(&op->stored, vv_record_unref);
	g_clear_pointer(&op->result, vv_bind_result_free);
	g_clear_pointer(&op->defaults, vv_bind_options_free);
	g_free(op->address);
	g_free(op->planned_load);
	g_clear_error(&op->journal_error);
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
 * VV_OP_MAY_VANISH: a device gone from sysfs that has a record is no
 * error; op->device is NULL then (reattach clears such a record). The
 * record read is the journal too (op->record) until the operation says
 * otherwise. OPTIONS NULL: the defaults.
 */
gboolean
vv_op_open(vv_op *op, vv_ctx *ctx, const char *name, const char *verb, const vv_bind_options *options,
	   vv_op_flags flags, GError **error)
{
	g_autoptr(GError) missing = NULL;
	g_autoptr(GError) local = NULL;
	g_autofree char *holder = NULL;

	op->ctx = ctx;
	op->result = vv_bind_result_new();
	if (!options)
		options = op->defaults = vv_bind_options_new();
	op->options = options;
	op->dry_run = !(flags & VV_OP_NO_DRY_RUN) && (options->flags & VV_BIND_DRY_RUN);

	if (!(op->address = vv_address_parse(name, error)))
		return FALSE;
	if (!op->dry_run && !vv_sysfs_guard_live_host(ctx, NULL, error))
		return FALSE;
	holder = g_strdup_printf("vfio-variant %s %s (%s)", verb, op->address,
				 vv_requester_to_string(options->requester));

	for (guint attempt = 1;; attempt++) {
		int group = vv_device_read_iommu_group(ctx, op->address);

		if (!op->dry_run &&
		    !(op->lock = vv_lock_acquire(ctx, group, holder, options->lock_timeout_ms, error)))
			return FALSE;
		g_clear_error(&missing);
		op->device = vv_device_new(ctx, op->address, &missing);
		if (!op->device || vv_device_get_iommu_group(op->device) == group)
			break;
		g_clear_pointer(&op->device, vv_device_unref);
		g_clear_pointer(&op->lock, vv_lock_release);
		if (attempt == VV_OPEN_ATTEMPTS) {
			g_set_error(error, VV_ERROR, VV_ERROR_BUSY,
				    _("The IOMMU group of %1$s changed each of the %2$d times it was read before and after taking the group's lock; nothing was changed."),
				    op->address, VV_OPEN_ATTEMPTS);
			return FALSE;
		}
	}

	op->stored = op->record = vv_record_load(ctx, op->address, &local);
	if (!op->stored && !g_error_matches(local, VV_ERROR, VV_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	if (!op->device && !((flags & VV_OP_MAY_VANISH) && op->stored &&
			     g_error_matches(missing, VV_ERROR, VV_ERROR_NOT_FOUND))) {
		g_propagate_error(error, g_steal_pointer(&missing));
		return FALSE;
	}
	return TRUE;
}

/* The result, for the caller, once the operation succeeded. */
vv_bind_result *
vv_op_steal_result(vv_op *op)
{
	return g_steal_pointer(&op->result);
}

/* RECORD (taken) becomes the device's record and the journal. */
vv_record *
vv_op_keep_record(vv_op *op, vv_record *record)
{
	g_clear_pointer(&op->stored, vv_record_unref);
	op->stored = op->record = record;
	return record;
}

/*
 * A new record of the device as it is now, kept (vv_op_keep_record):
 * its native state from the device, or from the options when
 * FROM_OPTIONS and the caller saw it earlier (vv_bind_options_set_native).
 */
vv_record *
vv_op_new_record(vv_op *op, gboolean from_options)
{
	const vv_bind_options *options = op->options;
	gboolean given = from_options && options->native_set;

	return vv_op_keep_record(op, vv_record_new_detach(op->address,
		given ? options->native_driver : vv_device_get_driver(op->device),
		given ? options->native_module : vv_device_get_driver_module(op->device),
		given ? options->native_override : vv_device_get_driver_override(op->device),
		options->requester));
}

/* A detach of a device that is already detached: its record names the
 * driver it went to. */
void
vv_op_set_detached_error(vv_op *op, GError **error)
{
	g_set_error(error, VV_ERROR, VV_ERROR_DETACHED,
		    _("%1$s is already detached to %2$s: its record names that driver, so another cannot be bound before it is given back."),
		    op->address, op->stored->driver ? op->stored->driver : _("no driver"));
}

/*
 * The driver the caller named (a driver name, registered now, else a
 * module name; never a path, vv-name.c says why), or the generic one:
 * *NAMED is FALSE when the caller named neither and the selection
 * decides. FALSE, with ERROR set, for a name that is none.
 */
gboolean
vv_op_choose_named(vv_op *op, char **module, char **driver, gboolean *named, GError **error)
{
	const vv_bind_options *options = op->options;

	*named = options->driver || (options->flags & VV_BIND_GENERIC);
	if (options->driver) {
		if (!vv_name_check(options->driver, VV_NAME_DRIVER, _("the driver to bind"), error))
			return FALSE;
		vv_module_resolve(op->ctx, options->driver, module, driver);
	} else if (options->flags & VV_BIND_GENERIC) {
		*module = g_strdup(VV_VFIO_PCI_MODULE);
		*driver = vv_module_driver_name(op->ctx, VV_VFIO_PCI_MODULE);
	}
	return TRUE;
}
