/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the hook adds to a library error, in its own words: libvirt runs
 * it with no options, and the reader is an administrator looking at
 * libvirt's log after a domain did not start, so the remedy is about the
 * domain, the policy file or the CLI, never a hook option. The CLI has
 * its own table (src/cli/vv-cli-exit.c).
 */
#include "vv-hook.h"

/* Indexed by code; NULL: the library's message says all there is. */
static const char *const vv_hook_hints[] = {
	[VV_ERROR_MODULES] = N_("The hook reads the running kernel's modules: install them for this kernel (and run depmod)."),
	[VV_ERROR_IN_USE] = N_("The host uses the device: stop that use, or give the domain another device, then start it again."),
	[VV_ERROR_BUSY] = N_("Another vfio-variant command holds the device's IOMMU group: start the domain again when it is done."),
	[VV_ERROR_NEEDS_RECOVERY] = N_("Run 'vfio-variant recover' on the device before starting the domain again."),
	[VV_ERROR_DETACHED] = N_("vfio-variant detached the device outside libvirt: give it back with 'vfio-variant reattach' first, or make the hostdev unmanaged."),
	[VV_ERROR_ASSIGNED] = N_("Another domain holds the device: stop that domain first."),
	[VV_ERROR_BLACKLISTED] = N_("Remove the blacklist line, or name another driver in the hostdev's <driver model> or in the policy file."),
	[VV_ERROR_NO_PCI_DRIVER] = N_("Name another driver in the hostdev's <driver model> or in the policy file."),
	[VV_ERROR_DECLARED] = N_("The device is declared in VFIO mode: remove the declaration with 'vfio-variant undeclare' to give it back to its host driver."),
	[VV_ERROR_RECORD] = N_("Move the device's record aside and give the device back with 'vfio-variant reattach'."),
};

const char *
vv_hook_hint(const GError *error)
{
	if (!error || error->domain != VV_ERROR || error->code < 0 ||
	    (guint)error->code >= G_N_ELEMENTS(vv_hook_hints) || !vv_hook_hints[error->code])
		return NULL;
	return _(vv_hook_hints[error->code]);
}
