/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness: vv_address_parse(), which every device name from the
 * command line, libvirt, a record file name and the hook's XML goes through.
 * Beyond not crashing, what it accepts must be canonical: parsing the
 * result again, or its node-device name, gives the same address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vfio-variant/vfio-variant.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *name = g_strndup((const char *)data, size);
	g_autoptr(GError) error = NULL;
	g_autofree char *address = vv_address_parse(name, &error);
	g_autofree char *again = NULL;
	g_autofree char *nodedev = NULL;
	g_autofree char *from_nodedev = NULL;

	if (!address) {
		/* A refusal always says why. */
		if (!error || !error->message || !*error->message)
			abort();
		return 0;
	}
	again = vv_address_parse(address, NULL);
	nodedev = vv_address_to_nodedev_name(address);
	from_nodedev = vv_address_parse(nodedev, NULL);
	if (g_strcmp0(again, address) != 0 || g_strcmp0(from_nodedev, address) != 0)
		abort();
	return 0;
}
