/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Detach and reattach through libvirt's node-device API, so that libvirt's
 * own bookkeeping (its list of detached devices, its acceptance of
 * managed='no' hostdevs, its reattach) knows the device. What differs from
 * one libvirt version to another is decided here, from the daemon's
 * version, and nowhere else.
 */
#include <glib/gi18n.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <stdlib.h>
#include <string.h>

#include "vv-virt.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathContext, xmlXPathFreeContext)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathObject, xmlXPathFreeObject)

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
		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("failed to get the libvirt version of the daemon\n%s"), vv_virt_last_error());
		return FALSE;
	}
	return TRUE;
}

/* An attribute of a PCI <address> as libvirt writes it ("0x06") or as a
 * person may ("6"); -1 when absent or not a number. */
static long
vv_virt_address_part(xmlNode *node, const char *name)
{
	xmlChar *text = xmlGetProp(node, BAD_CAST name);
	char *end = NULL;
	long value = -1;

	if (text && *text) {
		value = strtol((const char *)text, &end, 0);
		if (*end || value < 0)
			value = -1;
	}
	xmlFree(text);
	return value;
}

/* The PCI devices a domain is given: <hostdev type='pci'> and
 * <interface type='hostdev'> (an SR-IOV VF as a network interface). */
#define VV_VIRT_HOSTDEV_XPATH \
	"/domain/devices/hostdev[@mode='subsystem' and @type='pci']/source/address" \
	" | /domain/devices/interface[@type='hostdev']/source/address[@type='pci']"

gboolean
vv_virt_domain_xml_uses(const char *domain_xml, const char *address)
{
	g_autoptr(xmlDoc) doc = xmlReadMemory(domain_xml, strlen(domain_xml), "domain.xml", NULL,
					      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	g_autoptr(xmlXPathContext) xpath = NULL;
	g_autoptr(xmlXPathObject) found = NULL;
	unsigned int domain, bus, slot, function;

	if (!doc || sscanf(address, "%x:%x:%x.%x", &domain, &bus, &slot, &function) != 4)
		return FALSE;
	xpath = xmlXPathNewContext(doc);
	found = xmlXPathEvalExpression(BAD_CAST VV_VIRT_HOSTDEV_XPATH, xpath);
	if (!found || !found->nodesetval)
		return FALSE;
	for (int i = 0; i < found->nodesetval->nodeNr; i++) {
		xmlNode *node = found->nodesetval->nodeTab[i];
		/* libvirt omits domain 0 at times. */
		long node_domain = vv_virt_address_part(node, "domain");

		if ((node_domain < 0 ? 0 : node_domain) == (long)domain &&
		    vv_virt_address_part(node, "bus") == (long)bus &&
		    vv_virt_address_part(node, "slot") == (long)slot &&
		    vv_virt_address_part(node, "function") == (long)function)
			return TRUE;
	}
	return FALSE;
}

char *
vv_virt_find_domain_using(virConnectPtr conn, const char *address, GError **error)
{
	virDomainPtr *domains = NULL;
	char *user = NULL;
	int n = virConnectListAllDomains(conn, &domains, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

	if (n < 0) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO, _("failed to list domains\n%s"), vv_virt_last_error());
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		g_autofree char *xml = user ? NULL : virDomainGetXMLDesc(domains[i], 0);

		if (xml && vv_virt_domain_xml_uses(xml, address))
			user = g_strdup(virDomainGetName(domains[i]));
		virDomainFree(domains[i]);
	}
	free(domains);
	return user;
}

/* The name is read before the call: every public libvirt function, even
 * virNodeDeviceGetName(), resets (and frees) the last error. */
gboolean
vv_virt_nodedev_detach(virNodeDevicePtr nodedev, const char *driver, GError **error)
{
	const char *name = virNodeDeviceGetName(nodedev);

	if (virNodeDeviceDetachFlags(nodedev, driver, 0) < 0) {
		g_set_error(error, VV_ERROR, VV_ERROR_BIND, _("Failed to detach device %1$s\n%2$s"),
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
		g_set_error(error, VV_ERROR, VV_ERROR_BIND, _("Failed to re-attach device %1$s\n%2$s"),
			    name, vv_virt_last_error());
		return FALSE;
	}
	return TRUE;
}
