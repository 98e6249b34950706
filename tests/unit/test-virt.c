/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt side without a daemon: which strategy each libvirt version
 * gets, which running domain holds a device (from its XML), and the
 * <detached> element that nodedev-dumpxml adds from a record, merged into
 * a real libvirt document and validated against both grammars.
 */
#include <string.h>

#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>

#include "virt/vv-virt.h"
#include "vv-test-rng.h"

/* ---- version strategy ---------------------------------------------------- */

static const struct {
	const char *label;
	unsigned long version;
	const char *text;
	gboolean by_name;          /* virNodeDeviceDetachFlags binds our driver by name */
	gboolean reattach_generic; /* move to vfio-pci before virNodeDeviceReAttach */
} strategy_cases[] = {
	{ "Debian 12", 9000000, "9.0.0", FALSE, TRUE },
	{ "last without driver names", 9006000, "9.6.0", FALSE, TRUE },
	{ "first with driver names", 9007000, "9.7.0", TRUE, FALSE },
	{ "Ubuntu 24.04", 10000000, "10.0.0", TRUE, FALSE },
	{ "Debian 13", 11003000, "11.3.0", TRUE, FALSE },
	{ "old", 8000000, "8.0.0", FALSE, TRUE },
	{ "9.6 maintenance release", 9006999, "9.6.999", FALSE, TRUE },
};

static void
test_virt_strategy(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(strategy_cases); i++) {
		vv_virt_strategy strategy = vv_virt_strategy_for_version(strategy_cases[i].version);
		g_autofree char *text = vv_virt_version_string(strategy_cases[i].version);

		g_test_message("case %s (%s)", strategy_cases[i].label, strategy_cases[i].text);
		g_assert_cmpstr(text, ==, strategy_cases[i].text);
		g_assert_cmpint(strategy.detach_by_driver_name, ==, strategy_cases[i].by_name);
		g_assert_cmpint(strategy.reattach_from_generic, ==, strategy_cases[i].reattach_generic);
	}
}

/* ---- local and remote connections --------------------------------------- */

static const struct {
	const char *uri;
	gboolean local;
} uri_cases[] = {
	{ "qemu:///system", TRUE },
	{ "qemu:///session", TRUE },
	{ "test:///default", TRUE },
	{ "test:///usr/share/libvirt/test-driver-node.xml", TRUE },
	{ "qemu+unix:///system", TRUE },
	{ "qemu+unix:///system?socket=/run/vv%20test/libvirt-sock", TRUE },
	{ "qemu:///system?socket=/tmp/libvirt-sock", TRUE },
	{ "qemu:///embed?root=/var/tmp/embed", TRUE },
	{ "lxc:///", TRUE },
	{ "qemu+ssh://other/system", FALSE },
	{ "qemu+ssh://root@other:2222/system?keyfile=/root/.ssh/id", FALSE },
	{ "qemu+libssh://other/system", FALSE },
	{ "qemu+libssh2://other/system?known_hosts=/k", FALSE },
	{ "qemu+tcp://10.0.0.2/system", FALSE },
	{ "qemu+tls://[fe80::1]/system", FALSE },
	{ "qemu://other.example/system", FALSE },
	/* A host part is remote even when it names this machine (see
	 * vv_virt_uri_is_local()). */
	{ "qemu://localhost/system", FALSE },
	{ "qemu+ssh://localhost/system", FALSE },
	{ "qemu+tcp://127.0.0.1/system", FALSE },
	{ "qemu+unix://other/system", FALSE },
	/* No host, but a transport that leaves this process for a default
	 * host or a command. */
	{ "qemu+ssh:///system", FALSE },
	{ "qemu+tcp:///system", FALSE },
	{ "qemu+tls:///system", FALSE },
	{ "qemu+ext:///system?command=/usr/local/bin/tunnel", FALSE },
	{ "test+ext:///default?command=/bin/true", FALSE },
	{ "qemu+nosuch:///system", FALSE },
	/* A port or a user alone is a server part. */
	{ "qemu://:16509/system", FALSE },
	{ "qemu://user@/system", FALSE },
	{ "esx://vcenter.example/?no_verify=1", FALSE },
	/* Not a URI: cannot be shown to be local. */
	{ "", FALSE },
	{ "system", FALSE },
	{ "qemu+ssh://[::1/system", FALSE },
};

static void
test_virt_uri_local(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(uri_cases); i++) {
		g_test_message("case '%s'", uri_cases[i].uri);
		g_assert_cmpint(vv_virt_uri_is_local(uri_cases[i].uri), ==, uri_cases[i].local);
	}
}

/* ---- which domain uses a device ------------------------------------------ */

static const struct {
	const char *label;
	const char *devices; /* inside <devices> */
	const char *address;
	gboolean uses;
} domain_cases[] = {
	{ "hex, as libvirt writes it",
	  "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x00' slot='0x06' function='0x0'/></source></hostdev>",
	  "0000:00:06.0", TRUE },
	{ "decimal, as a person writes it",
	  "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0' bus='0' slot='6' function='0'/></source></hostdev>",
	  "0000:00:06.0", TRUE },
	{ "no domain attribute",
	  "<hostdev mode='subsystem' type='pci'><source><address bus='0x3b' slot='0x00' function='0x1'/></source></hostdev>",
	  "0000:3b:00.1", TRUE },
	{ "another function",
	  "<hostdev mode='subsystem' type='pci'><source><address domain='0' bus='0x3b' slot='0' function='2'/></source></hostdev>",
	  "0000:3b:00.1", FALSE },
	{ "another domain",
	  "<hostdev mode='subsystem' type='pci'><source><address domain='0x0001' bus='0x00' slot='0x06' function='0x0'/></source></hostdev>",
	  "0000:00:06.0", FALSE },
	{ "an SR-IOV VF as an interface",
	  "<interface type='hostdev' managed='yes'><source><address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x3'/></source></interface>",
	  "0000:3b:02.3", TRUE },
	{ "the guest-side address of a virtio disk is not a hostdev",
	  "<disk type='file' device='disk'><target dev='vda' bus='virtio'/><address type='pci' domain='0x0000' bus='0x00' slot='0x06' function='0x0'/></disk>",
	  "0000:00:06.0", FALSE },
	{ "a USB hostdev",
	  "<hostdev mode='subsystem' type='usb'><source><address bus='0' device='6'/></source></hostdev>",
	  "0000:00:06.0", FALSE },
	{ "nothing", "", "0000:00:06.0", FALSE },
};

static void
test_virt_domain_uses(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(domain_cases); i++) {
		g_autofree char *xml = g_strdup_printf("<domain type='kvm'><name>g</name><devices>%s</devices></domain>",
						       domain_cases[i].devices);

		g_test_message("case %s", domain_cases[i].label);
		g_assert_cmpint(vv_virt_domain_xml_uses(xml, domain_cases[i].address), ==, domain_cases[i].uses);
	}
	g_assert_false(vv_virt_domain_xml_uses("<domain", "0000:00:06.0"));
	g_assert_false(vv_virt_domain_xml_uses("<domain/>", "not an address"));
}

/* ---- <detached> from a record, in a libvirt document ------------------------ */

/* Records as the engine writes them: complete, a fallback to a device that
 * had no driver, and a detach under way (between prepare and adopt). */
static const struct {
	const char *label;
	const char *conf;
	const char *expect[4];
} record_cases[] = {
	{ "libvirt, complete",
	  "[device]\naddress=0000:00:03.0\noriginal-driver=virtio-pci\noriginal-module=virtio_pci\n"
	  "driver=virtio-vfio-pci\nmodule=virtio_vfio_pci\nfallback=false\ntime=2026-11-21T14:05:00Z\nrequester=libvirt\n"
	  "[journal]\noperation=detach\nstep=verified\n",
	  { "requester=\"libvirt\"", "complete=\"yes\"", "<native driver=\"virtio-pci\" module=\"virtio_pci\"/>", NULL } },
	{ "fallback, no native driver",
	  "[device]\naddress=0000:00:03.0\noriginal-driver=\ndriver=vfio-pci\nmodule=vfio_pci\nfallback=true\ntime=2026-11-21T14:05:00Z\nrequester=cli\n"
	  "[journal]\noperation=detach\nstep=verified\n",
	  { "fallback=\"yes\"", "<native/>", NULL } },
	{ "prepared, not yet adopted",
	  "[device]\naddress=0000:00:03.0\noriginal-driver=virtio-pci\noriginal-module=virtio_pci\noriginal-override=virtio-pci\n"
	  "driver=vfio-pci\nmodule=vfio_pci\nfallback=false\ntime=2026-11-21T14:05:00Z\nrequester=libvirt\n"
	  "[journal]\noperation=detach\nstep=module-loaded\n",
	  { "complete=\"no\" operation=\"detach\" step=\"module-loaded\"", "override=\"virtio-pci\"", NULL } },
};

static void
test_virt_detached_xml(void)
{
	g_autofree char *state = g_dir_make_tmp("vv-test-virt-XXXXXX", NULL);
	g_autofree char *devices = g_build_filename(state, "devices", NULL);
	g_autofree char *conf = g_build_filename(devices, "0000:00:03.0.conf", NULL);
	g_autofree char *root = g_build_filename(g_getenv("VV_TEST_HOSTS"), "demo", NULL);
	g_autofree char *ours_path = g_build_filename(g_getenv("VV_SCHEMA_DIR"), "nodedev-vfio.rng", NULL);
	g_autofree char *libvirt_path = g_build_filename(g_getenv("VV_NODEDEV_CORPUS"), "debian12-libvirt9-pci_0000_00_01_0.xml", NULL);
	g_autofree char *libvirt_doc = NULL;
	g_autoptr(xmlRelaxNG) ours = vv_test_schema(ours_path);
	g_autoptr(xmlRelaxNG) libvirt = vv_test_schema(g_getenv("VV_LIBVIRT_NODEDEV_RNG"));
	g_autoptr(vv_ctx_options) options = vv_ctx_options_new();
	g_autoptr(vv_ctx) ctx = NULL;
	g_autoptr(vv_device) device = NULL;
	g_autoptr(vv_selection) selection = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_true(g_file_get_contents(libvirt_path, &libvirt_doc, NULL, NULL));
	vv_ctx_options_set_sysroot(options, root);
	vv_ctx_options_set_state_dir(options, state);
	ctx = vv_ctx_new(options, &error);
	g_assert_no_error(error);
	device = vv_device_new(ctx, "0000:00:03.0", &error);
	g_assert_no_error(error);
	selection = vv_selection_new(ctx, device, &error);
	g_assert_no_error(error);
	g_assert_cmpint(g_mkdir_with_parents(devices, 0755), ==, 0);

	for (guint i = 0; i < G_N_ELEMENTS(record_cases); i++) {
		g_autoptr(vv_record) record = NULL;
		g_autofree char *fragment = NULL;
		g_autofree char *merged = NULL;
		g_autofree char *stripped = NULL;

		g_test_message("case %s", record_cases[i].label);
		g_assert_true(g_file_set_contents(conf, record_cases[i].conf, -1, NULL));
		record = vv_record_load(ctx, "pci_0000_00_03_0", &error);
		g_assert_no_error(error);
		fragment = vv_selection_to_xml_with_record(selection, record, FALSE);
		for (guint j = 0; record_cases[i].expect[j]; j++)
			if (!strstr(fragment, record_cases[i].expect[j]))
				g_error("%s: the fragment lacks %s:\n%s", record_cases[i].label, record_cases[i].expect[j], fragment);
		merged = vv_virt_xml_merge(libvirt_doc, fragment, &error);
		g_assert_no_error(error);
		if (!vv_test_validates(ours, merged))
			g_error("%s: does not validate against nodedev-vfio.rng:\n%s", record_cases[i].label, merged);
		stripped = vv_virt_xml_strip(merged, &error);
		g_assert_no_error(error);
		g_assert_true(vv_test_validates(libvirt, stripped));
	}
	/* Without a record, no <detached>: the same as vv_selection_to_xml(). */
	{
		g_autofree char *with_none = vv_selection_to_xml_with_record(selection, NULL, TRUE);
		g_autofree char *plain = vv_selection_to_xml(selection, TRUE);

		g_assert_cmpstr(with_none, ==, plain);
		g_assert_null(strstr(plain, "detached"));
	}
	g_unlink(conf);
	g_rmdir(devices);
	g_rmdir(state);
}

/* nodedev-dumpxml: <libvirt-pick> travels inside <driver> with the rest of
 * <vfio>, validates there, and goes with it when stripped. */
static void
test_virt_libvirt_pick_xml(void)
{
	g_autofree char *root = g_build_filename(g_getenv("VV_TEST_HOSTS"), "rules", NULL);
	g_autofree char *ours_path = g_build_filename(g_getenv("VV_SCHEMA_DIR"), "nodedev-vfio.rng", NULL);
	g_autofree char *libvirt_path = g_build_filename(g_getenv("VV_NODEDEV_CORPUS"), "debian12-libvirt9-pci_0000_00_01_0.xml", NULL);
	g_autofree char *libvirt_doc = NULL;
	g_autofree char *fragment = NULL;
	g_autofree char *merged = NULL;
	g_autofree char *stripped = NULL;
	g_autoptr(xmlRelaxNG) ours = vv_test_schema(ours_path);
	g_autoptr(xmlRelaxNG) libvirt = vv_test_schema(g_getenv("VV_LIBVIRT_NODEDEV_RNG"));
	g_autoptr(vv_ctx_options) options = vv_ctx_options_new();
	g_autoptr(vv_ctx) ctx = NULL;
	g_autoptr(vv_device) device = NULL;
	g_autoptr(vv_selection) selection = NULL;
	g_autoptr(GError) error = NULL;
	const char *driver, *pick;

	g_assert_true(g_file_get_contents(libvirt_path, &libvirt_doc, NULL, NULL));
	vv_ctx_options_set_sysroot(options, root);
	ctx = vv_ctx_new(options, &error);
	g_assert_no_error(error);
	/* rules.toml case f: libvirt would load the blacklisted variant. */
	device = vv_device_new(ctx, "0000:00:05.0", &error);
	g_assert_no_error(error);
	selection = vv_selection_new(ctx, device, &error);
	g_assert_no_error(error);
	fragment = vv_selection_to_xml_with_record(selection, NULL, FALSE);
	merged = vv_virt_xml_merge(libvirt_doc, fragment, &error);
	g_assert_no_error(error);
	driver = strstr(merged, "<driver>");
	pick = strstr(merged, "<libvirt-pick module=\"blocked_variant\" line=\"5\"");
	g_assert_nonnull(driver);
	g_assert_nonnull(pick);
	g_assert_true(pick > driver && pick < strstr(merged, "</driver>"));
	g_assert_nonnull(strstr(pick, "reason=\"blacklisted\" driver-model=\"vfio-pci\"/>"));
	if (!vv_test_validates(ours, merged))
		g_error("does not validate against nodedev-vfio.rng:\n%s", merged);
	stripped = vv_virt_xml_strip(merged, &error);
	g_assert_no_error(error);
	g_assert_null(strstr(stripped, "libvirt-pick"));
	g_assert_true(vv_test_validates(libvirt, stripped));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/virt/strategy", test_virt_strategy);
	g_test_add_func("/virt/uri-local", test_virt_uri_local);
	g_test_add_func("/virt/domain-uses", test_virt_domain_uses);
	g_test_add_func("/virt/detached-xml", test_virt_detached_xml);
	g_test_add_func("/virt/libvirt-pick-xml", test_virt_libvirt_pick_xml);
	return g_test_run();
}
