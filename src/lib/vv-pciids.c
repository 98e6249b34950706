/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Human names of PCI ids through libpci's pci.ids reader. */
#include <pci/pci.h>

#include "vv-private.h"

/* A missing or broken pci.ids only costs the names: keep libpci quiet. */
static void
vv_pciids_warning(char *format, ...)
{
}

static struct pci_access *
vv_pciids_open(vv_ctx *ctx)
{
	if (!ctx->pci) {
		ctx->pci = pci_alloc();
		ctx->pci->warning = vv_pciids_warning;
		ctx->pci->debug = vv_pciids_warning;
		if (ctx->pci_ids)
			pci_set_name_list_path(ctx->pci, ctx->pci_ids, 0);
	}
	return ctx->pci;
}

/* Only the local database: never udev's hwdb of the machine we run on (it
 * may not be the host we read) and never the network. */
#define VV_PCIIDS_FLAGS (PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB)

char *
vv_pciids_vendor_name(vv_ctx *ctx, guint16 vendor)
{
	char buffer[256];
	const char *name = pci_lookup_name(vv_pciids_open(ctx), buffer, sizeof(buffer),
					   PCI_LOOKUP_VENDOR | VV_PCIIDS_FLAGS, vendor);

	return g_strdup(name);
}

char *
vv_pciids_product_name(vv_ctx *ctx, guint16 vendor, guint16 device)
{
	char buffer[256];
	const char *name = pci_lookup_name(vv_pciids_open(ctx), buffer, sizeof(buffer),
					   PCI_LOOKUP_DEVICE | VV_PCIIDS_FLAGS, vendor, device);

	return g_strdup(name);
}

void
vv_pciids_close(vv_ctx *ctx)
{
	if (ctx->pci)
		pci_cleanup(ctx->pci);
	ctx->pci = NULL;
}
