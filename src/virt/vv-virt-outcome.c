/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The outcome of a detach or reattach through libvirt: facts read from
 * sysfs and the record after the protocol's last step, never inferred
 * from what the steps meant to do.
 */
#include "vv-virt-private.h"

vv_virt_outcome *
vv_virt_outcome_new(const vv_virt_target *target)
{
	vv_virt_outcome *outcome = g_new0(vv_virt_outcome, 1);

	outcome->version = target->version;
	outcome->strategy = target->strategy;
	return outcome;
}

void
vv_virt_driver_read(vv_ctx *ctx, const char *address, vv_virt_driver *driver)
{
	g_autoptr(vv_device) device = vv_device_new(ctx, address, NULL);

	g_clear_pointer(&driver->driver, g_free);
	driver->readable = device != NULL;
	driver->driver = device ? g_strdup(vv_device_get_driver(device)) : NULL;
}

void
vv_virt_outcome_settle(vv_virt_outcome *outcome, vv_ctx *ctx, const char *address)
{
	g_autoptr(GError) error = NULL;

	vv_virt_driver_read(ctx, address, &outcome->now);
	g_clear_pointer(&outcome->record, vv_record_unref);
	g_clear_pointer(&outcome->record_error, g_free);
	/* Only a missing record is "no record": one that cannot be read is no
	 * proof of the native driver, and a reattach would refuse it. */
	outcome->record = vv_record_load(ctx, address, &error);
	if (outcome->record)
		outcome->record_state = VV_VIRT_RECORD_KEPT;
	else if (g_error_matches(error, VV_ERROR, VV_ERROR_NOT_FOUND))
		outcome->record_state = VV_VIRT_RECORD_NONE;
	else {
		outcome->record_state = VV_VIRT_RECORD_UNREADABLE;
		outcome->record_error = g_strdup(error->message);
	}
}

void
vv_virt_outcome_free(vv_virt_outcome *outcome)
{
	if (!outcome)
		return;
	g_clear_pointer(&outcome->prepared, vv_bind_result_free);
	g_free(outcome->libvirt_driver);
	g_free(outcome->fallback_reason);
	g_clear_pointer(&outcome->adopted, vv_bind_result_free);
	g_clear_pointer(&outcome->moved, vv_bind_result_free);
	g_free(outcome->rollback_error);
	g_free(outcome->release_error);
	g_free(outcome->domain);
	g_free(outcome->native_driver);
	g_free(outcome->moved_from);
	g_clear_pointer(&outcome->to_generic, vv_bind_result_free);
	g_clear_pointer(&outcome->moved_back, vv_bind_result_free);
	g_free(outcome->move_back_error);
	g_free(outcome->after_libvirt.driver);
	g_clear_pointer(&outcome->restored, vv_bind_result_free);
	g_free(outcome->now.driver);
	g_clear_pointer(&outcome->record, vv_record_unref);
	g_free(outcome->record_error);
	g_free(outcome);
}
