/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reattach through libvirt's node-device API: refused while a running
 * domain has the device; below libvirt 9.7 the device goes to vfio-pci
 * first, the one VFIO driver that libvirt gives back; after libvirt's
 * reprobe, which loads no module and knows no native driver, the recorded
 * native driver is verified and restored.
 */
#include <glib/gi18n.h>
#include <stdlib.h>
#include <string.h>

#include "vv-virt-private.h"
#include "vv-xml-cleanup.h"

/* An attribute of a PCI <address> as libvirt writes it ("0x06") or as a
 * person may ("6"); -1 when absent or not a number. */
static long
vv_virt_address_part(xmlNode *node, const char *name)
{
	g_autoptr(xmlChar) text = xmlGetProp(node, BAD_CAST name);
	char *end = NULL;
	long value = -1;

	if (text && *text) {
		value = strtol((const char *)text, &end, 0);
		if (*end || value < 0)
			value = -1;
	}
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
		g_set_error(error, VV_VIRT_ERROR, VV_VIRT_ERROR_DOMAINS, _("failed to list domains\n%s"), vv_virt_last_error());
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

/*
 * libvirt refused the reattach after the device was moved to vfio-pci for
 * it: back to FROM, the VFIO driver it was on, with its record as it was
 * (requester, domain), so that a failed command leaves the device where it
 * found it.
 */
static void
vv_virt_move_back(vv_ctx *ctx, const char *address, const vv_record *record, const char *from,
		  guint timeout_ms, vv_virt_outcome *outcome)
{
	g_autoptr(vv_bind_options) options = vv_bind_options_new();
	g_autoptr(GError) error = NULL;

	vv_bind_options_set_driver(options, from);
	vv_bind_options_set_requester(options, vv_record_get_requester(record));
	vv_bind_options_set_domain(options, vv_record_get_domain(record), vv_record_is_managed(record));
	vv_bind_options_set_lock_timeout(options, timeout_ms);
	vv_bind_options_set_flags(options, VV_BIND_STRICT);
	if (!(outcome->moved_back = vv_rebind(ctx, address, options, &error)))
		outcome->move_back_error = g_strdup(error->message);
}

/* Below 9.7: a device a complete record shows on a variant goes to
 * vfio-pci, which libvirt's reattach unbinds. A record cut short is
 * settled by vv_reattach() after libvirt's call instead. */
static gboolean
vv_virt_reattach_to_generic(vv_ctx *ctx, const vv_virt_target *target, const vv_virt_options *options,
			    const vv_record *record, vv_virt_outcome *outcome, GError **error)
{
	g_autoptr(vv_device) device = vv_device_new(ctx, target->address, error);
	g_autoptr(vv_bind_options) generic = NULL;
	g_autoptr(GError) local = NULL;

	if (!device)
		return FALSE;
	if (!record || !vv_record_is_complete(record) || !target->strategy.reattach_from_generic ||
	    !vv_device_is_vfio_bound(device) || g_strcmp0(vv_device_get_driver(device), VV_VFIO_PCI_DRIVER) == 0)
		return TRUE;
	generic = vv_bind_options_new();
	vv_bind_options_set_requester(generic, VV_REQUESTER_LIBVIRT);
	vv_bind_options_set_lock_timeout(generic, options->timeout_ms);
	vv_bind_options_set_flags(generic, VV_BIND_GENERIC | VV_BIND_STRICT);
	if (!(outcome->to_generic = vv_rebind(ctx, target->address, generic, &local))) {
		g_set_error_literal(error, VV_VIRT_ERROR, VV_VIRT_ERROR_MOVE_FAILED, local->message);
		return FALSE;
	}
	outcome->moved_from = g_strdup(vv_device_get_driver(device));
	return TRUE;
}

static gboolean
vv_virt_reattach_run(vv_ctx *ctx, const vv_virt_target *target, const vv_virt_options *options,
		     vv_virt_outcome *outcome, GError **error)
{
	g_autoptr(vv_bind_options) bind = vv_bind_options_new();
	g_autoptr(vv_record) record = NULL;
	g_autoptr(GError) local = NULL;

	vv_bind_options_set_requester(bind, VV_REQUESTER_LIBVIRT);
	vv_bind_options_set_lock_timeout(bind, options->timeout_ms);
	/* A record naming a domain does not stop it: libvirt itself says
	 * below whether a running domain uses the device. */
	vv_bind_options_set_flags(bind, VV_BIND_FORCE);

	record = vv_record_load(ctx, target->address, &local);
	if (!record && !g_error_matches(local, VV_ERROR, VV_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	g_clear_error(&local);
	outcome->had_record = record != NULL;
	outcome->native_driver = record ? g_strdup(vv_record_get_original_driver(record)) : NULL;

	/* Nothing moves while a guest holds the device: libvirt would refuse
	 * only after the move. */
	outcome->domain = vv_virt_find_domain_using(target->conn, target->address, &local);
	if (local) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	if (outcome->domain) {
		g_set_error(error, VV_VIRT_ERROR, VV_VIRT_ERROR_IN_USE,
			    _("PCI device %1$s is in use by the running domain %2$s"), target->address, outcome->domain);
		return FALSE;
	}

	if (!vv_virt_reattach_to_generic(ctx, target, options, record, outcome, error))
		return FALSE;
	if (!vv_virt_nodedev_reattach(target->nodedev, &local)) {
		if (outcome->moved_from)
			vv_virt_move_back(ctx, target->address, record, outcome->moved_from, options->timeout_ms, outcome);
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	outcome->libvirt = VV_VIRT_LIBVIRT_REATTACHED;
	vv_virt_driver_read(ctx, target->address, &outcome->after_libvirt);
	if (!record)
		return TRUE;

	/* Verify, and repair what libvirt left undone: its reprobe loads no
	 * module and knows no native driver. */
	if (!(outcome->restored = vv_reattach(ctx, target->address, bind, &local))) {
		g_set_error_literal(error, VV_VIRT_ERROR, VV_VIRT_ERROR_NOT_RESTORED, local->message);
		return FALSE;
	}
	outcome->final = outcome->restored;
	outcome->repaired = !outcome->after_libvirt.readable ||
			    g_strcmp0(outcome->after_libvirt.driver, outcome->native_driver) != 0;
	return TRUE;
}

gboolean
vv_virt_reattach(vv_ctx *ctx, const vv_virt_target *target, const vv_virt_options *options,
		 vv_virt_outcome **outcome, GError **error)
{
	vv_virt_outcome *out = vv_virt_outcome_new(target);
	gboolean done;

	*outcome = out;
	done = vv_virt_reattach_run(ctx, target, options, out, error);
	vv_virt_outcome_settle(out, ctx, target->address);
	return done;
}
