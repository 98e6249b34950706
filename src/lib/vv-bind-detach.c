/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Detach: from the native driver to a VFIO driver, in the order written at
 * the top of vv-bind.c; and the detach whose bind libvirt makes, framed by
 * vv_detach_prepare() and vv_detach_adopt().
 */
#include <string.h>

#include "vv-bind.h"

/* "0000:02:00.1 (bound to e1000e), 0000:02:00.2 (bound to igb)" */
static char *
vv_bind_describe_blockers(const vv_selection *selection)
{
	const GPtrArray *blockers = vv_selection_get_group_blockers(selection);
	g_autoptr(GString) text = g_string_new(NULL);

	for (guint i = 0; i < blockers->len; i++) {
		const vv_group_blocker *blocker = g_ptr_array_index(blockers, i);

		if (i > 0)
			g_string_append(text, ", ");
		g_string_append_printf(text, _("%1$s (bound to %2$s)"), vv_group_blocker_get_address(blocker),
				       vv_group_blocker_get_driver(blocker));
	}
	return g_string_free(g_steal_pointer(&text), FALSE);
}

/* Step 2: assignable, group viable; and the driver to bind. */
static gboolean
vv_detach_choose(vv_op *op, char **module, char **driver, GError **error)
{
	g_autoptr(vv_selection) selection = vv_selection_new(op->ctx, op->device, error);
	const vv_candidate *selected;
	gboolean named;

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
			    _("Cannot detach %1$s: its IOMMU group %2$d is not viable, because %3$s would keep DMA outside VFIO while a guest uses the group."),
			    op->address, vv_device_get_iommu_group(op->device), blockers);
		return FALSE;
	}

	if (!vv_op_choose_named(op, module, driver, &named, error))
		return FALSE;
	if (named)
		return TRUE;
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
vv_detach_check_in_use(vv_op *op, GError **error)
{
	g_autoptr(GPtrArray) uses = vv_inuse_find(op->ctx, op->address);
	g_autofree char *list = g_strjoinv("; ", (char **)uses->pdata);

	if (uses->len == 0)
		return TRUE;
	if (op->options->flags & VV_BIND_FORCE) {
		vv_op_say(op, _("Detaching %1$s although the host uses it, as forced: %2$s."), op->address, list);
		return TRUE;
	}
	g_set_error(error, VV_ERROR, VV_ERROR_IN_USE,
		    _("Refusing to detach %1$s: the host uses it: %2$s."), op->address, list);
	return FALSE;
}

/* Step 4: what the device is on now, and what it goes to. */
static vv_record *
vv_detach_new_record(vv_op *op, const char *module, const char *driver)
{
	vv_record *record = vv_op_new_record(op, FALSE);

	record->module = g_strdup(module);
	record->driver = g_strdup(driver);
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
		else if (op->held)
			g_prefix_error(error, _("Detaching %1$s failed; it is back without a driver and with the driver_override %2$s, held for VFIO by its declaration so that no host driver takes it. "),
				       op->address, VV_APPLY_PENDING);
		else if (op->result->driver)
			g_prefix_error(error, _("Detaching %1$s failed; it had no driver, held by the udev rule for a declaration that is gone, so it went to %2$s. "),
				       op->address, op->result->driver);
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
		g_set_error(error, VV_ERROR, VV_ERROR_NEEDS_RECOVERY,
			    _("Detaching %1$s failed: %2$s Returning it to its original driver failed too: %3$s The record is kept, so that the detach can be rolled back once the cause is fixed."),
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
	g_auto(vv_op) op = { 0 };
	g_autofree char *module = NULL;
	g_autofree char *driver = NULL;
	g_autoptr(GError) failure = NULL;
	vv_record *record;
	gboolean stop, refused;

	if (!vv_op_open(&op, ctx, name, "detach", options, 0, error) ||
	    !vv_op_settle_first(&op, FALSE, &stop, error))
		return NULL;
	if (stop)
		return vv_op_steal_result(&op);
	op.record = NULL; /* a complete record is no journal of this detach */

	if (!vv_detach_choose(&op, &module, &driver, error))
		return NULL;
	if (!driver && module)
		driver = vv_module_driver_name(ctx, module);
	if (driver && g_strcmp0(vv_device_get_driver(op.device), driver) == 0 && vv_device_is_vfio_bound(op.device)) {
		op.result->noop = TRUE;
		op.result->driver = g_strdup(driver);
		vv_op_say(&op, _("%1$s is already bound to %2$s; nothing to do."), op.address, driver);
		return vv_op_steal_result(&op);
	}
	if (op.stored) {
		vv_op_set_detached_error(&op, error);
		return NULL;
	}
	if (!vv_detach_check_in_use(&op, error))
		return NULL;
	record = vv_detach_new_record(&op, module, driver);
	if (!op.dry_run && !vv_record_save(ctx, record, error))
		return NULL;

	if (vv_op_bind(&op, module, driver, &refused, &failure) && vv_detach_done(&op))
		return vv_op_steal_result(&op);

	/* A variant that refused the device falls back to vfio-pci, unless
	 * the user asked for that driver. */
	if (refused && !op.options->driver && g_strcmp0(module, VV_VFIO_PCI_MODULE) != 0) {
		record->fallback = TRUE;
		op.result->fallback = TRUE;
		vv_op_say(&op, _("%1$s Falling back to the generic vfio-pci."), failure->message);
		g_clear_error(&failure);
		if (vv_op_bind(&op, VV_VFIO_PCI_MODULE, NULL, &refused, &failure) && vv_detach_done(&op))
			return vv_op_steal_result(&op);
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
	g_auto(vv_op) op = { 0 };
	g_autoptr(GError) failure = NULL;
	g_autofree char *module = NULL;
	g_autofree char *driver = NULL;
	vv_record *record;
	gboolean stop;

	if (!vv_op_open(&op, ctx, name, "detach", options, 0, error) ||
	    !vv_op_settle_first(&op, FALSE, &stop, error))
		return NULL;
	if (stop)
		return vv_op_steal_result(&op);
	op.record = NULL;
	if (op.stored) {
		vv_op_set_detached_error(&op, error);
		return NULL;
	}
	/* The record must name the native driver: a device already on a VFIO
	 * driver would have that recorded as its native one. */
	if (vv_device_is_vfio_bound(op.device)) {
		g_set_error(error, VV_ERROR, VV_ERROR_DETACHED,
			    _("%1$s is already on the VFIO driver %2$s, and vfio-variant has no record of the driver it had before, so none could be recorded now."),
			    op.address, vv_device_get_driver(op.device));
		return NULL;
	}
	if (!vv_detach_choose(&op, &module, &driver, error) || !vv_detach_check_in_use(&op, error))
		return NULL;

	record = vv_detach_new_record(&op, module, driver);
	if (!op.dry_run && !vv_record_save(ctx, record, error))
		return NULL;
	if (vv_op_load(&op, module, &failure)) {
		g_autofree char *loaded = vv_op_loaded_driver(&op, module, driver, &failure);

		if (loaded)
			vv_record_set(&record->driver, loaded);
		if (loaded && vv_op_step(&op, "module-loaded", &failure)) {
			op.result->driver = g_steal_pointer(&loaded);
			return vv_op_steal_result(&op);
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
	g_auto(vv_op) op = { 0 };
	vv_bind_result *result;
	vv_record *record;
	const char *now, *now_module, *address;
	gboolean fallback;

	/* Adopting records what libvirt did: there is no dry run of it. */
	if (!vv_op_open(&op, ctx, name, "detach", options, VV_OP_NO_DRY_RUN, error))
		return NULL;
	record = op.stored;
	result = op.result;
	address = op.address;
	now = vv_device_get_driver(op.device);
	now_module = vv_device_get_driver_module(op.device);

	if (!record || !g_str_equal(record->operation, "detach")) {
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_FOUND,
			    _("Cannot complete the detach of %s: vfio-variant has no record of its native driver, written before the bind."),
			    address);
		return NULL;
	}
	if (vv_record_is_complete(record)) {
		if (g_strcmp0(now, record->driver) != 0 || !vv_device_is_vfio_bound(op.device)) {
			g_set_error(error, VV_ERROR, VV_ERROR_DETACHED,
				    _("%1$s is already detached to %2$s, but it is on %3$s now."),
				    address, record->driver, now ? now : _("no driver"));
			return NULL;
		}
		result->noop = TRUE;
		result->driver = g_strdup(now);
		vv_op_say(&op, _("%1$s is already bound to %2$s; nothing to do."), address, now);
		return vv_op_steal_result(&op);
	}
	if (!now) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("%s has no driver: the bind did not reach a VFIO driver."), address);
		return NULL;
	}
	if (!vv_device_is_vfio_bound(op.device)) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND,
			    _("%1$s is on %2$s, which is not a VFIO driver (the device has no vfio-dev/ directory): the bind did not reach a VFIO driver."),
			    address, now);
		return NULL;
	}

	/* vfio-pci where a variant was chosen: the variant gave way. */
	fallback = g_strcmp0(now, record->driver) != 0 && g_strcmp0(now_module, VV_VFIO_PCI_MODULE) == 0 &&
		   g_strcmp0(record->module, VV_VFIO_PCI_MODULE) != 0;
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
	return vv_op_steal_result(&op);
}

