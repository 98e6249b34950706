/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness: the hook's domain reader (src/hook/vv-hook-domain.c),
 * which parses, as root, the domain XML libvirt passes on stdin. Beyond
 * not crashing: what it accepts has no DTD (libvirt never writes one, and
 * a DTD is where entities are declared), as libxml2 itself reads the same
 * bytes, in whatever encoding they declare; and every hostdev it returns
 * has a canonical address.
 */
#include <stdint.h>
#include <stdlib.h>

#include <libxml/parser.h>

#include "hook/vv-hook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GBytes) xml = g_bytes_new(data, size);
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_hook_domain) domain = vv_hook_domain_parse(xml, &error);
	xmlDoc *doc;

	if (!domain) {
		if (!error || !error->message || !*error->message)
			abort();
		return 0;
	}
	doc = xmlReadMemory((const char *)data, (int)size, "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc && (doc->intSubset || doc->extSubset))
		abort();
	xmlFreeDoc(doc);
	for (guint i = 0; i < domain->hostdevs->len; i++) {
		const vv_hook_hostdev *hostdev = g_ptr_array_index(domain->hostdevs, i);
		g_autofree char *address = vv_address_parse(hostdev->address, NULL);

		if (g_strcmp0(address, hostdev->address) != 0)
			abort();
	}
	return 0;
}
