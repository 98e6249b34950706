/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reattach: back to the native driver the record names, in the order
 * written at the top of vv-bind.c; and recover, which settles an
 * operation that was cut short.
 */
#include <string.h>

#include "vv-bind.h"

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
vv_reattach_check_group(vv_op *op, GPtrArray *notes, GError **error)
{
	const vv_bind_options *options = op->options;
	vv_device *device = op->device;
	const GPtrArray *members = vv_device_get_group_members(device);
	int group = vv_device_get_iommu_group(device);
	/* The domain this device is given back from (the hook's release, or a
	 * forced reattach) is no holder: it is stopped. */
	const char *releasing = options->domain ? options->domain : op->record ? op->record->domain : NULL;
	g_autofree char *opener = NULL;
	gboolean opener_read = FALSE;

	for (guint i = 0; i < members->len; i++) {
		const char *other = g_ptr_array_index(members, i);
		g_autoptr(vv_device) member = NULL;
		g_autoptr(vv_record) record = NULL;
		g_autofree char *holder = NULL;

		if (g_str_equal(other, op->address) ||
		    !(member = vv_device_new(op->ctx, other, NULL)) || !vv_device_is_vfio_bound(member))
			continue;
		record = vv_record_load(op->ctx, other, NULL);
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
				    op->address, other, group, vv_device_get_driver(member), holder);
			return FALSE;
		}
		g_ptr_array_add(notes, holder ?
				g_strdup_printf(_("%1$s of the same IOMMU group %2$d stays on the VFIO driver %3$s, held by %4$s (reattached although it is held, as forced): the group is no longer usable by a guest until %1$s is reattached too."),
						other, group, vv_device_get_driver(member), holder) :
				g_strdup_printf(_("%1$s of the same IOMMU group %2$d stays on the VFIO driver %3$s: the group is no longer usable by a guest until %1$s is reattached too."),
						other, group, vv_device_get_driver(member)));
	}
	return TRUE;
}

/* A record whose device is gone from sysfs: nothing can give it back, so
 * only a forced reattach removes the record. */
static gboolean
vv_reattach_vanished(vv_op *op, GError **error)
{
	g_autofree char *dir = vv_sysfs_device_dir(op->ctx, op->address);

	if (!(op->options->flags & VV_BIND_FORCE)) {
		g_set_error(error, VV_ERROR, VV_ERROR_GONE,
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
	g_auto(vv_op) op = { 0 };
	g_autoptr(GError) local = NULL;
	g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *now = NULL;
	g_autofree char *vfio_driver = NULL;
	const char *address;
	vv_bind_result *result;
	vv_device *device;
	vv_record *record;

	if (!vv_op_open(&op, ctx, name, "reattach", options, VV_OP_MAY_VANISH, error))
		return NULL;
	options = op.options;
	address = op.address;
	result = op.result;
	device = op.device;
	record = op.stored;

	if (!device)
		return vv_reattach_vanished(&op, error) ? vv_op_steal_result(&op) : NULL;
	if (record && !vv_record_is_complete(record)) {
		if (!vv_op_settle(&op, error))
			return NULL;
		return vv_op_steal_result(&op);
	}
	/* A guest may hold it: the hook gives it back when the guest is gone. */
	if (record && record->domain && options->requester != VV_REQUESTER_HOOK &&
	    !(options->flags & VV_BIND_FORCE)) {
		g_set_error(error, VV_ERROR, VV_ERROR_ASSIGNED,
			    _("Refusing to reattach %1$s: it is assigned to the libvirt domain %2$s, and the qemu hook gives it back when that domain is stopped."),
			    address, record->domain);
		return NULL;
	}
	/* A declared device lives on VFIO: only the declaration's removal
	 * (vv_undeclare(), then this) or the hook gives it back. A policy
	 * that cannot be read declares nothing here: it must not keep a
	 * device from going back. */
	if ((options->requester == VV_REQUESTER_CLI || options->requester == VV_REQUESTER_LIBVIRT) &&
	    vv_op_is_declared(&op)) {
		g_set_error(error, VV_ERROR, VV_ERROR_DECLARED,
			    _("Refusing to reattach %1$s: the policy declares it in VFIO mode (mode=vfio), so it goes back to its VFIO driver at every add and boot."),
			    address);
		return NULL;
	}
	/* No record, but the caller knows the native state (the hook). */
	if (!record && options->native_set) {
		record = vv_op_new_record(&op, TRUE);
		record->driver = g_strdup(vv_device_get_driver(device));
		record->module = g_strdup(vv_device_get_driver_module(device));
		record->step = g_strdup("verified");
	}
	/* Only a device going to a host driver changes its group's viability:
	 * one with a native driver, one nothing is known of, and one the udev
	 * rule held for a declaration that is gone (the host's drivers probe
	 * it; a declared one is held again and stays out of the host's hands). */
	if (vv_device_is_vfio_bound(device) &&
	    (!record || record->original_driver ||
	     (g_strcmp0(record->original_override, VV_APPLY_PENDING) == 0 && !vv_op_is_declared(&op))) &&
	    !vv_reattach_check_group(&op, notes, error))
		return NULL;

	if (!record) {
		/* Nothing says where it came from: let the kernel choose. */
		if (!vv_device_is_vfio_bound(device)) {
			result->noop = TRUE;
			result->driver = g_strdup(vv_device_get_driver(device));
			vv_op_say(&op, _("%1$s is not on a VFIO driver (driver: %2$s); nothing to do."),
				  address, result->driver ? result->driver : _("none"));
			return vv_op_steal_result(&op);
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
		return vv_op_steal_result(&op);
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
		/* The record names the reattach cut short, unless put back. */
		g_set_error(error, VV_ERROR, VV_ERROR_NEEDS_RECOVERY, _("Reattaching %1$s failed: %2$s"), address, local->message);
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
	else if (!op.dry_run && result->driver)
		vv_op_say(&op, _("%1$s had no driver before it was detached, held by the udev rule for its declaration; declared no more, it went to %2$s."),
			  address, result->driver);
	else if (!op.dry_run)
		vv_op_say(&op, _("%s has no driver, as before it was detached."), address);
	vv_op_say_journal_error(&op);
	for (guint i = 0; i < notes->len; i++)
		vv_op_say(&op, "%s", (char *)g_ptr_array_index(notes, i));
	return vv_op_steal_result(&op);
}

VV_EXPORT vv_bind_result *
vv_recover(vv_ctx *ctx, const char *name, const vv_bind_options *options, GError **error)
{
	g_auto(vv_op) op = { 0 };
	vv_record *record;

	if (!vv_op_open(&op, ctx, name, "recover", options, 0, error))
		return NULL;
	record = op.stored;

	if (!record || vv_record_is_complete(record)) {
		op.result->noop = TRUE;
		op.result->driver = g_strdup(vv_device_get_driver(op.device));
		vv_op_say(&op, record ? _("%s is detached and its last operation completed; nothing to recover.") :
				       _("%s has no record; nothing to recover."), op.address);
		return vv_op_steal_result(&op);
	}
	if (!vv_op_settle(&op, error))
		return NULL;
	return vv_op_steal_result(&op);
}
