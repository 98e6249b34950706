/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the files of src/virt share and nothing outside them calls: the
 * libvirt calls that change a device (only vv_virt_detach() and
 * vv_virt_reattach() decide when to make them) and the outcome's readers.
 */
#pragma once

#include "vv-virt.h"

/* virNodeDeviceDetachFlags(NODEDEV, DRIVER) and virNodeDeviceReAttach();
 * the message is virsh's ("Failed to detach device NAME", then libvirt's
 * message on a line of its own). */
gboolean vv_virt_nodedev_detach(virNodeDevicePtr nodedev, const char *driver, GError **error);
gboolean vv_virt_nodedev_reattach(virNodeDevicePtr nodedev, GError **error);

/* A new, empty outcome for TARGET's version. */
vv_virt_outcome *vv_virt_outcome_new(const vv_virt_target *target);
/* Where ADDRESS is now, into DRIVER. */
void vv_virt_driver_read(vv_ctx *ctx, const char *address, vv_virt_driver *driver);
/* The device's driver and record as they are when the call returns. */
void vv_virt_outcome_settle(vv_virt_outcome *outcome, vv_ctx *ctx, const char *address);

