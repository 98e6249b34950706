/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Detach through libvirt's node-device API, so that libvirt's own
 * bookkeeping (its list of detached devices, its acceptance of
 * managed='no' hostdevs, its reattach) knows the device. What differs from
 * one libvirt version to another is decided here (and in
 * vv-virt-reattach.c), from the daemon's version, and nowhere else:
 * who binds, which driver name libvirt is given, how a failure is undone.
 */
#include <glib/gi18n.h>

#include "vv-virt-private.h"


/*
 * libvirt 9.7.0 (commit "node_device: support binding other drivers with
 * virNodeDeviceDetachFlags") made virNodeDeviceDetachFlags() bind the
 * driver it is given by name, and made its reattach and its managed='no'
 * check accept any VFIO driver (a device with vfio-dev/). Before, the
 * driver name must be "vfio" (or NULL): libvirt binds vfio-pci, and its
 * reattach unbinds only a stub driver it knows.
 */
vv_virt_strategy
vv_virt_strategy_for_version(unsigned long version)
{
	gboolean names = version >= VV_VIRT_VERSION_DRIVER_NAMES;

	return (vv_virt_strategy){
		.detach_by_driver_name = names,
		.reattach_from_generic = !names,
	};
}

char *
vv_virt_version_string(unsigned long version)
{
	return g_strdup_printf("%lu.%lu.%lu", version / 1000000, version / 1000 % 1000, version % 1000);
}

gboolean
vv_virt_get_version(virConnectPtr conn, unsigned long *version, GError **error)
{
	if (virConnectGetLibVersion(conn, version) < 0) {
		g_set_error(error, VV_VIRT_ERROR, VV_VIRT_ERROR_VERSION,
			    _("failed to get the libvirt version of the daemon\n%s"), vv_virt_last_error());
		return FALSE;
	}
	return TRUE;
}

/* The name is read before the call: every public libvirt function, even
 * virNodeDeviceGetName(), resets (and frees) the last error. */
gboolean
vv_virt_nodedev_detach(virNodeDevicePtr nodedev, const char *driver, GError **error)
{
	const char *name = virNodeDeviceGetName(nodedev);

	if (virNodeDeviceDetachFlags(nodedev, driver, 0) < 0) {
		g_set_error(error, VV_VIRT_ERROR, VV_VIRT_ERROR_DETACH_REFUSED, _("Failed to detach device %1$s\n%2$s"),
			    name, vv_virt_last_error());
		return FALSE;
	}
	return TRUE;
}

gboolean
vv_virt_nodedev_reattach(virNodeDevicePtr nodedev, GError **error)
{
	const char *name = virNodeDeviceGetName(nodedev);

	if (virNodeDeviceReAttach(nodedev) < 0) {
		g_set_error(error, VV_VIRT_ERROR, VV_VIRT_ERROR_REATTACH_REFUSED, _("Failed to re-attach device %1$s\n%2$s"),
			    name, vv_virt_last_error());
		return FALSE;
	}
	return TRUE;
}

/* The binding engine's options for a detach through libvirt: requester
 * libvirt; GENERIC: vfio-pci, which libvirt below 9.7 binds. A named
 * driver that refuses gets no fallback. */
static vv_bind_options *
vv_virt_bind_options(const vv_virt_options *options, gboolean generic)
{
	vv_bind_options *bind = vv_bind_options_new();
	vv_bind_flags force = options->force ? VV_BIND_FORCE : 0;

	vv_bind_options_set_requester(bind, VV_REQUESTER_LIBVIRT);
	vv_bind_options_set_lock_timeout(bind, options->timeout_ms);
	if (generic) {
		vv_bind_options_set_flags(bind, VV_BIND_GENERIC | force);
	} else {
		vv_bind_options_set_driver(bind, options->driver);
		vv_bind_options_set_flags(bind, force | (options->driver ? VV_BIND_STRICT : 0));
	}
	return bind;
}

/*
 * A detach that failed before the device was verified on a VFIO driver:
 * libvirt forgets the device if it took it, and the record of the detach
 * under way is rolled back, so that the device ends on its native driver.
 */
static void
vv_virt_detach_roll_back(vv_ctx *ctx, const vv_virt_target *target, gboolean libvirt_took_it,
			 vv_virt_outcome *outcome)
{
	g_autoptr(vv_bind_result) recovered = NULL;
	g_autoptr(GError) error = NULL;

	if (libvirt_took_it) {
		if (vv_virt_nodedev_reattach(target->nodedev, &error)) {
			outcome->libvirt = VV_VIRT_LIBVIRT_REATTACHED;
		} else {
			outcome->libvirt = VV_VIRT_LIBVIRT_DETACHED;
			outcome->release_error = g_strdup(error->message);
			g_clear_error(&error);
		}
	}
	recovered = vv_recover(ctx, target->address, NULL, &error);
	outcome->rollback = recovered ? VV_VIRT_ROLLBACK_DONE : VV_VIRT_ROLLBACK_FAILED;
	if (!recovered)
		outcome->rollback_error = g_strdup(error->message);
}

/* libvirt >= 9.7: libvirt binds the chosen driver by its name. A selected
 * variant that libvirt could not bind gives way to vfio-pci. */
static gboolean
vv_virt_detach_by_name(vv_ctx *ctx, const vv_virt_target *target, const vv_virt_options *options,
		       vv_virt_outcome *outcome, GError **error)
{
	g_autoptr(vv_bind_options) bind = vv_virt_bind_options(options, FALSE);
	g_autoptr(GError) refused = NULL;
	g_autoptr(GError) retry = NULL;
	g_autoptr(GError) local = NULL;
	const char *chosen;

	if (!(outcome->prepared = vv_detach_prepare(ctx, target->address, bind, error)))
		return FALSE;
	chosen = vv_bind_result_get_driver(outcome->prepared);
	if (vv_virt_nodedev_detach(target->nodedev, chosen, &refused)) {
		outcome->libvirt_driver = g_strdup(chosen);
	} else if (!options->driver && g_strcmp0(chosen, VV_VFIO_PCI_DRIVER) != 0 &&
		   vv_virt_nodedev_detach(target->nodedev, VV_VFIO_PCI_DRIVER, &retry)) {
		/* libvirt's failed bind gave the device back to its native
		 * driver; vfio-pci took it from there. */
		outcome->libvirt_driver = g_strdup(VV_VFIO_PCI_DRIVER);
		outcome->fallback = TRUE;
		outcome->fallback_reason = g_strdup(refused->message);
	} else {
		vv_virt_detach_roll_back(ctx, target, FALSE, outcome);
		g_set_error(error, VV_VIRT_ERROR, VV_VIRT_ERROR_DETACH_REFUSED, "%s%s%s", refused->message,
			    retry ? "\n" : "", retry ? retry->message : "");
		return FALSE;
	}
	outcome->libvirt = VV_VIRT_LIBVIRT_DETACHED;
	if (!(outcome->adopted = vv_detach_adopt(ctx, target->address, bind, &local))) {
		vv_virt_detach_roll_back(ctx, target, TRUE, outcome);
		g_set_error_literal(error, VV_VIRT_ERROR, VV_VIRT_ERROR_UNVERIFIED, local->message);
		return FALSE;
	}
	outcome->final = outcome->adopted;
	return TRUE;
}

/* libvirt < 9.7: libvirt binds vfio-pci ("vfio", the only name it takes);
 * the binding engine then moves the device to the chosen driver. If that
 * fails the device stays on vfio-pci, detached as far as libvirt knows. */
static gboolean
vv_virt_detach_then_move(vv_ctx *ctx, const vv_virt_target *target, const vv_virt_options *options,
			 vv_virt_outcome *outcome, GError **error)
{
	g_autoptr(vv_bind_options) generic = vv_virt_bind_options(options, TRUE);
	g_autoptr(vv_bind_options) bind = vv_virt_bind_options(options, FALSE);
	g_autoptr(GError) local = NULL;

	if (!(outcome->prepared = vv_detach_prepare(ctx, target->address, generic, error)))
		return FALSE;
	if (!vv_virt_nodedev_detach(target->nodedev, "vfio", &local)) {
		vv_virt_detach_roll_back(ctx, target, FALSE, outcome);
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	outcome->libvirt_driver = g_strdup("vfio");
	outcome->libvirt = VV_VIRT_LIBVIRT_DETACHED;
	if (!(outcome->adopted = vv_detach_adopt(ctx, target->address, generic, &local))) {
		vv_virt_detach_roll_back(ctx, target, TRUE, outcome);
		g_set_error_literal(error, VV_VIRT_ERROR, VV_VIRT_ERROR_UNVERIFIED, local->message);
		return FALSE;
	}
	outcome->final = outcome->adopted;
	if (!(outcome->moved = vv_rebind(ctx, target->address, bind, &local))) {
		g_set_error_literal(error, VV_VIRT_ERROR, VV_VIRT_ERROR_MOVE_FAILED, local->message);
		return FALSE;
	}
	outcome->final = outcome->moved;
	outcome->fallback = vv_bind_result_is_fallback(outcome->moved);
	return TRUE;
}

gboolean
vv_virt_detach(vv_ctx *ctx, const vv_virt_target *target, const vv_virt_options *options,
	       vv_virt_outcome **outcome, GError **error)
{
	vv_virt_outcome *out = vv_virt_outcome_new(target);
	gboolean done;

	*outcome = out;
	if (target->strategy.detach_by_driver_name)
		done = vv_virt_detach_by_name(ctx, target, options, out, error);
	else
		done = vv_virt_detach_then_move(ctx, target, options, out, error);
	vv_virt_outcome_settle(out, ctx, target->address);
	if (done && out->record_state == VV_VIRT_RECORD_UNREADABLE) {
		g_set_error_literal(error, VV_VIRT_ERROR, VV_VIRT_ERROR_RECORD, out->record_error);
		return FALSE;
	}
	return done;
}
