/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vv_virt_detach() and vv_virt_reattach() against libvirt's own test
 * driver (test:///.../test-driver-node.xml, in-process), the preloaded
 * shim (vv-libvirt-shim.c: libvirt's sysfs writes where the test driver
 * has none, the daemon's version) and the simulated kernel
 * (tests/fakekernel) on a fresh copy of the bind host per case. Each case
 * runs in a subprocess started with those preloads and asserts the
 * outcome's fields, the error's domain and code, what libvirt was asked
 * (the shim's log) and where sysfs and the record really are: no English
 * is compared.
 *
 * Environment (tests/meson.build): VV_TEST_HOSTS (the built hosts),
 * VV_FAKEKERNEL (libvv-fakekernel.so), VV_LIBVIRT_SHIM
 * (libvv-libvirt-shim.so), VV_TEST_DRIVER_XML.
 */
#define _GNU_SOURCE
#include <link.h>
#include <string.h>

#include <glib/gstdio.h>

#include "virt/vv-virt.h"

#define V9_0 9000000UL
#define V11_3 11003000UL

/* What libvirt does when asked, played by the shim's shell commands. */
typedef enum {
	LIBVIRT_REFUSES = 0, /* the test driver's own answer: not supported */
	LIBVIRT_BINDS,       /* libvirt's writes: override, unbind, probe; the
			      * driver checked, its own cleanup on failure */
	LIBVIRT_BINDS_NOTHING, /* succeeds without changing anything */
	LIBVIRT_GIVES_BACK,  /* reattach: override cleared, unbind, reprobe */
	LIBVIRT_NO_REPROBE,  /* reattach: override cleared, unbind, no probe */
} libvirt_act;

/* What happens before the call under test. */
typedef enum {
	SETUP_NONE = 0,
	SETUP_VIRT_DETACH, /* vv_virt_detach() with libvirt binding */
	SETUP_CLI_DETACH,  /* vv_detach(), as `vfio-variant detach` */
} setup;

typedef struct {
	const char *label;
	unsigned long version;
	gboolean reattach;       /* the call is vv_virt_reattach() */
	setup setup;
	const char *device;
	const char *driver;      /* options.driver */
	const char *refuse;      /* this driver's probe refuses the device */
	libvirt_act detach;      /* libvirt's answer to the detach under test */
	libvirt_act release;     /* ... and to a reattach */
	gboolean break_record;   /* the record is made unreadable after the move */
	/* expected */
	GQuark (*domain)(void);  /* NULL: success */
	int code;
	const char *shim_log;    /* libvirt's calls, "detach NAME;reattach;" */
	const char *libvirt_driver;
	gboolean fallback;
	vv_virt_rollback rollback;
	gboolean release_refused;
	vv_virt_libvirt_state libvirt;
	const char *now;         /* "" no driver */
	vv_virt_record_state record;
	const char *record_driver;
	const char *record_native;
	gboolean record_fallback;
	const char *moved_from;
	gboolean moved_back;
	gboolean had_record;
	gboolean repaired;
	const char *after_libvirt;
	const char *domain_name;
} protocol_case;

static GQuark virt_error(void) { return VV_VIRT_ERROR; }
static GQuark lib_error(void) { return VV_ERROR; }

static const protocol_case cases[] = {
	/* ---- detach, libvirt >= 9.7: libvirt binds our driver by name ---- */
	{ .label = "9.7+ detach: libvirt binds the variant by its driver name",
	  .version = V11_3, .device = "0000:00:01.0", .detach = LIBVIRT_BINDS,
	  .shim_log = "detach acme-vfio-pci;", .libvirt_driver = "acme-vfio-pci",
	  .libvirt = VV_VIRT_LIBVIRT_DETACHED, .now = "acme-vfio-pci",
	  .record = VV_VIRT_RECORD_KEPT, .record_driver = "acme-vfio-pci", .record_native = "abcd_nic" },
	{ .label = "9.7+ detach: the variant refuses, libvirt binds vfio-pci (fallback)",
	  .version = V11_3, .device = "0000:00:01.0", .refuse = "acme-vfio-pci", .detach = LIBVIRT_BINDS,
	  .shim_log = "detach acme-vfio-pci;detach vfio-pci;", .libvirt_driver = "vfio-pci", .fallback = TRUE,
	  .libvirt = VV_VIRT_LIBVIRT_DETACHED, .now = "vfio-pci",
	  .record = VV_VIRT_RECORD_KEPT, .record_driver = "vfio-pci", .record_native = "abcd_nic",
	  .record_fallback = TRUE },
	{ .label = "9.7+ detach --driver: the named variant refuses, no fallback, rolled back",
	  .version = V11_3, .device = "0000:00:01.0", .driver = "acme_vfio_pci", .refuse = "acme-vfio-pci",
	  .detach = LIBVIRT_BINDS, .domain = virt_error, .code = VV_VIRT_ERROR_DETACH_REFUSED,
	  .shim_log = "detach acme-vfio-pci;", .rollback = VV_VIRT_ROLLBACK_DONE,
	  .libvirt = VV_VIRT_LIBVIRT_UNCHANGED, .now = "abcd_nic", .record = VV_VIRT_RECORD_NONE },
	{ .label = "9.7+ detach: libvirt refuses the variant and vfio-pci, rolled back",
	  .version = V11_3, .device = "0000:00:01.0", .detach = LIBVIRT_REFUSES,
	  .domain = virt_error, .code = VV_VIRT_ERROR_DETACH_REFUSED,
	  .shim_log = "detach acme-vfio-pci;detach vfio-pci;", .rollback = VV_VIRT_ROLLBACK_DONE,
	  .libvirt = VV_VIRT_LIBVIRT_UNCHANGED, .now = "abcd_nic", .record = VV_VIRT_RECORD_NONE },
	{ .label = "9.7+ detach: libvirt says done but binds nothing; it gives the device back, rolled back",
	  .version = V11_3, .device = "0000:00:01.0", .detach = LIBVIRT_BINDS_NOTHING, .release = LIBVIRT_GIVES_BACK,
	  .domain = virt_error, .code = VV_VIRT_ERROR_UNVERIFIED,
	  .shim_log = "detach acme-vfio-pci;reattach;", .libvirt_driver = "acme-vfio-pci",
	  .rollback = VV_VIRT_ROLLBACK_DONE, .libvirt = VV_VIRT_LIBVIRT_REATTACHED, .now = "abcd_nic",
	  .record = VV_VIRT_RECORD_NONE },
	{ .label = "9.7+ detach: unverified, and libvirt refuses to give it back: still rolled back",
	  .version = V11_3, .device = "0000:00:01.0", .detach = LIBVIRT_BINDS_NOTHING, .release = LIBVIRT_REFUSES,
	  .domain = virt_error, .code = VV_VIRT_ERROR_UNVERIFIED,
	  .shim_log = "detach acme-vfio-pci;reattach;", .libvirt_driver = "acme-vfio-pci",
	  .rollback = VV_VIRT_ROLLBACK_DONE, .release_refused = TRUE, .libvirt = VV_VIRT_LIBVIRT_DETACHED,
	  .now = "abcd_nic", .record = VV_VIRT_RECORD_NONE },
	{ .label = "9.7+ detach --driver of a module the host lacks: the library refuses, libvirt never asked",
	  .version = V11_3, .device = "0000:00:01.0", .driver = "nosuch_vfio_pci", .detach = LIBVIRT_BINDS,
	  .domain = lib_error, .code = VV_ERROR_MODULE_LOAD, .shim_log = "", .libvirt = VV_VIRT_LIBVIRT_UNCHANGED,
	  .now = "abcd_nic", .record = VV_VIRT_RECORD_NONE },

	/* ---- detach, libvirt < 9.7: libvirt binds vfio-pci, we move on ---- */
	{ .label = "9.0 detach: libvirt binds vfio-pci ('vfio'), moved on to the variant",
	  .version = V9_0, .device = "0000:00:01.0", .detach = LIBVIRT_BINDS,
	  .shim_log = "detach vfio;", .libvirt_driver = "vfio", .libvirt = VV_VIRT_LIBVIRT_DETACHED,
	  .now = "acme-vfio-pci", .record = VV_VIRT_RECORD_KEPT, .record_driver = "acme-vfio-pci",
	  .record_native = "abcd_nic" },
	{ .label = "9.0 detach: the variant refuses the move, the device stays on vfio-pci (fallback)",
	  .version = V9_0, .device = "0000:00:01.0", .refuse = "acme-vfio-pci", .detach = LIBVIRT_BINDS,
	  .shim_log = "detach vfio;", .libvirt_driver = "vfio", .fallback = TRUE,
	  .libvirt = VV_VIRT_LIBVIRT_DETACHED, .now = "vfio-pci", .record = VV_VIRT_RECORD_KEPT,
	  .record_driver = "vfio-pci", .record_native = "abcd_nic", .record_fallback = TRUE },
	{ .label = "9.0 detach --driver: the named variant refuses, left on vfio-pci, detached by libvirt",
	  .version = V9_0, .device = "0000:00:01.0", .driver = "acme_vfio_pci", .refuse = "acme-vfio-pci",
	  .detach = LIBVIRT_BINDS, .domain = virt_error, .code = VV_VIRT_ERROR_MOVE_FAILED,
	  .shim_log = "detach vfio;", .libvirt_driver = "vfio", .libvirt = VV_VIRT_LIBVIRT_DETACHED,
	  .now = "vfio-pci", .record = VV_VIRT_RECORD_KEPT, .record_driver = "vfio-pci",
	  .record_native = "abcd_nic" },
	{ .label = "9.0 detach: libvirt refuses, rolled back",
	  .version = V9_0, .device = "0000:00:01.0", .detach = LIBVIRT_REFUSES,
	  .domain = virt_error, .code = VV_VIRT_ERROR_DETACH_REFUSED, .shim_log = "detach vfio;",
	  .rollback = VV_VIRT_ROLLBACK_DONE, .libvirt = VV_VIRT_LIBVIRT_UNCHANGED, .now = "abcd_nic",
	  .record = VV_VIRT_RECORD_NONE },
	{ .label = "9.0 detach: the record cannot be read back: detached, said so",
	  .version = V9_0, .device = "0000:00:01.0", .detach = LIBVIRT_BINDS, .break_record = TRUE,
	  .domain = virt_error, .code = VV_VIRT_ERROR_RECORD, .shim_log = "detach vfio;",
	  .libvirt_driver = "vfio", .libvirt = VV_VIRT_LIBVIRT_DETACHED, .now = "acme-vfio-pci",
	  .record = VV_VIRT_RECORD_UNREADABLE },

	/* ---- reattach, libvirt >= 9.7: libvirt gives back from any VFIO driver ---- */
	{ .label = "9.7+ reattach: libvirt gives back from the variant, verified",
	  .version = V11_3, .reattach = TRUE, .setup = SETUP_VIRT_DETACH, .device = "0000:00:01.0",
	  .release = LIBVIRT_GIVES_BACK, .shim_log = "reattach;", .libvirt = VV_VIRT_LIBVIRT_REATTACHED,
	  .had_record = TRUE, .after_libvirt = "abcd_nic", .now = "abcd_nic", .record = VV_VIRT_RECORD_NONE },
	{ .label = "9.7+ reattach: libvirt's reprobe leaves no driver, repaired",
	  .version = V11_3, .reattach = TRUE, .setup = SETUP_VIRT_DETACH, .device = "0000:00:01.0",
	  .release = LIBVIRT_NO_REPROBE, .shim_log = "reattach;", .libvirt = VV_VIRT_LIBVIRT_REATTACHED,
	  .had_record = TRUE, .after_libvirt = "", .repaired = TRUE, .now = "abcd_nic",
	  .record = VV_VIRT_RECORD_NONE },
	{ .label = "9.7+ reattach: libvirt refuses, the device stays on its variant with its record",
	  .version = V11_3, .reattach = TRUE, .setup = SETUP_VIRT_DETACH, .device = "0000:00:01.0",
	  .release = LIBVIRT_REFUSES, .domain = virt_error, .code = VV_VIRT_ERROR_REATTACH_REFUSED,
	  .shim_log = "reattach;", .libvirt = VV_VIRT_LIBVIRT_UNCHANGED, .had_record = TRUE,
	  .now = "acme-vfio-pci", .record = VV_VIRT_RECORD_KEPT, .record_driver = "acme-vfio-pci",
	  .record_native = "abcd_nic" },
	{ .label = "9.7+ reattach: a running domain has the device, nothing asked or moved",
	  .version = V11_3, .reattach = TRUE, .device = "0000:00:08.0", .release = LIBVIRT_GIVES_BACK,
	  .domain = virt_error, .code = VV_VIRT_ERROR_IN_USE, .shim_log = "",
	  .libvirt = VV_VIRT_LIBVIRT_UNCHANGED, .domain_name = "vvguest", .now = "",
	  .record = VV_VIRT_RECORD_NONE },
	{ .label = "9.7+ reattach without a record: libvirt's reprobe decides",
	  .version = V11_3, .reattach = TRUE, .device = "0000:00:03.0", .release = LIBVIRT_GIVES_BACK,
	  .shim_log = "reattach;", .libvirt = VV_VIRT_LIBVIRT_REATTACHED, .after_libvirt = "abcd_nic",
	  .now = "abcd_nic", .record = VV_VIRT_RECORD_NONE },

	/* ---- reattach, libvirt < 9.7: to vfio-pci first ---- */
	{ .label = "9.0 reattach: moved from the variant to vfio-pci, libvirt gives back",
	  .version = V9_0, .reattach = TRUE, .setup = SETUP_VIRT_DETACH, .device = "0000:00:01.0",
	  .release = LIBVIRT_GIVES_BACK, .shim_log = "reattach;", .libvirt = VV_VIRT_LIBVIRT_REATTACHED,
	  .moved_from = "acme-vfio-pci", .had_record = TRUE, .after_libvirt = "abcd_nic", .now = "abcd_nic",
	  .record = VV_VIRT_RECORD_NONE },
	{ .label = "9.0 reattach: libvirt refuses, moved back to the variant, record as it was",
	  .version = V9_0, .reattach = TRUE, .setup = SETUP_CLI_DETACH, .device = "0000:00:01.0",
	  .release = LIBVIRT_REFUSES, .domain = virt_error, .code = VV_VIRT_ERROR_REATTACH_REFUSED,
	  .shim_log = "reattach;", .libvirt = VV_VIRT_LIBVIRT_UNCHANGED, .moved_from = "acme-vfio-pci",
	  .moved_back = TRUE, .had_record = TRUE, .now = "acme-vfio-pci", .record = VV_VIRT_RECORD_KEPT,
	  .record_driver = "acme-vfio-pci", .record_native = "abcd_nic" },
	{ .label = "9.0 reattach: on vfio-pci already, nothing moved; libvirt refuses",
	  .version = V9_0, .reattach = TRUE, .setup = SETUP_VIRT_DETACH, .device = "0000:00:01.0",
	  .refuse = "acme-vfio-pci", .release = LIBVIRT_REFUSES, .domain = virt_error,
	  .code = VV_VIRT_ERROR_REATTACH_REFUSED, .shim_log = "reattach;",
	  .libvirt = VV_VIRT_LIBVIRT_UNCHANGED, .had_record = TRUE, .now = "vfio-pci",
	  .record = VV_VIRT_RECORD_KEPT, .record_driver = "vfio-pci", .record_native = "abcd_nic",
	  .record_fallback = TRUE },
};

/* ---- in the subprocess: the case itself ----------------------------------- */

static const char *root;

static char *
sys_path(const char *device, const char *file)
{
	return g_build_filename(root, "sys/bus/pci/devices", device, file, NULL);
}

static char *
driver_of(const char *device)
{
	g_autofree char *link = sys_path(device, "driver");
	g_autofree char *target = g_file_read_link(link, NULL);

	return target ? g_path_get_basename(target) : g_strdup("");
}

/* libvirt's sysfs writes as a shell command for the shim (it runs under
 * the same preloads). Detach: the name it was given ("vfio" and NULL
 * mean vfio-pci; below 9.7 any other name is refused, as libvirt 9.0
 * refuses it), override, unbind, probe; the driver it meant must be
 * bound, else its cleanup clears the override and reprobes. */
static char *
libvirt_command(libvirt_act act, const char *device)
{
	g_autofree char *dev = sys_path(device, NULL);
	g_autofree char *bus = g_build_filename(root, "sys/bus/pci", NULL);

	switch (act) {
	case LIBVIRT_REFUSES:
		return NULL;
	case LIBVIRT_BINDS_NOTHING:
		return g_strdup("true");
	case LIBVIRT_BINDS:
		return g_strdup_printf(
			"d='%1$s'; drv=$VV_SHIM_DRIVER; "
			"case $drv in ''|vfio) drv=vfio-pci ;; *) [ \"$VV_SHIM_VERSION\" -ge 9007000 ] || exit 1 ;; esac; "
			"echo \"$drv\" > \"$d/driver_override\"; "
			"if [ -L \"$d/driver\" ]; then echo '%2$s' > \"$d/driver/unbind\"; fi; "
			"echo '%2$s' > '%3$s/drivers_probe'; "
			"[ \"$(basename \"$(readlink \"$d/driver\")\")\" = \"$drv\" ] && exit 0; "
			"echo > \"$d/driver_override\"; echo '%2$s' > '%3$s/drivers_probe'; exit 1",
			dev, device, bus);
	case LIBVIRT_GIVES_BACK:
	case LIBVIRT_NO_REPROBE:
		return g_strdup_printf(
			"d='%1$s'; echo > \"$d/driver_override\"; "
			"if [ -L \"$d/driver\" ]; then echo '%2$s' > \"$d/driver/unbind\"; fi; "
			"[ %4$d = 0 ] || echo '%2$s' > '%3$s/drivers_probe'",
			dev, device, bus, act == LIBVIRT_GIVES_BACK);
	}
	g_assert_not_reached();
}

static void
shim_set(const char *variable, libvirt_act act, const char *device)
{
	g_autofree char *command = libvirt_command(act, device);

	if (command)
		g_setenv(variable, command, TRUE);
	else
		g_unsetenv(variable);
}

/* The fake kernel reads its conf at every operation. */
static void
refuse(const char *driver, const char *device)
{
	g_autofree char *path = g_build_filename(root, "fakekernel.conf", NULL);
	g_autofree char *group = g_strdup_printf("driver %s", driver);
	g_autoptr(GKeyFile) conf = g_key_file_new();
	g_autoptr(GError) error = NULL;

	g_assert_true(g_key_file_load_from_file(conf, path, G_KEY_FILE_KEEP_COMMENTS, &error));
	g_key_file_set_string(conf, group, "refuse", device);
	g_assert_true(g_key_file_save_to_file(conf, path, &error));
}

static char *
record_path(const char *device)
{
	g_autofree char *name = g_strconcat(device, ".conf", NULL);

	return g_build_filename(root, "run/vfio-variant/devices", name, NULL);
}

static void
assert_now(const vv_virt_driver *driver, const char *expect)
{
	g_assert_true(driver->readable);
	g_assert_cmpstr(driver->driver ? driver->driver : "", ==, expect);
}

static void
run_case(const protocol_case *c)
{
	g_autofree char *uri = g_strconcat("test://", g_getenv("VV_TEST_DRIVER_XML"), NULL);
	g_autofree char *shim_log = g_build_filename(root, "shim.log", NULL);
	g_autofree char *version = g_strdup_printf("%lu", c->version);
	g_autofree char *log_text = NULL;
	g_autofree char *now = NULL;
	g_autoptr(vv_ctx_options) ctx_options = vv_ctx_options_new();
	g_autoptr(vv_ctx) ctx = NULL;
	g_auto(vv_virt_target) target = { 0 };
	g_autoptr(vv_virt_outcome) outcome = NULL;
	g_autoptr(GError) error = NULL;
	vv_virt_options options = { .driver = c->driver, .timeout_ms = 1000 };
	gboolean done;

	g_setenv("VV_SHIM_VERSION", version, TRUE);
	g_setenv("VV_SHIM_LOG", shim_log, TRUE);
	vv_ctx_options_set_sysroot(ctx_options, root);
	ctx = vv_ctx_new(ctx_options, &error);
	g_assert_no_error(error);
	g_assert_true(vv_virt_target_open(&target, uri, c->device, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(target.version, ==, c->version);

	if (c->setup == SETUP_VIRT_DETACH) {
		g_autoptr(vv_virt_outcome) detached = NULL;

		shim_set("VV_SHIM_DETACH", LIBVIRT_BINDS, c->device);
		if (c->refuse)
			refuse(c->refuse, c->device);
		g_assert_true(vv_virt_detach(ctx, &target, &(vv_virt_options){ .timeout_ms = 1000 }, &detached, &error));
		g_assert_no_error(error);
	} else if (c->setup == SETUP_CLI_DETACH) {
		g_autoptr(vv_bind_result) result = vv_detach(ctx, c->device, NULL, &error);

		g_assert_no_error(error);
		g_assert_nonnull(result);
	}
	if (c->refuse && c->setup != SETUP_VIRT_DETACH)
		refuse(c->refuse, c->device);
	g_assert_true(g_file_set_contents(shim_log, "", 0, NULL));
	shim_set("VV_SHIM_DETACH", c->detach, c->device);
	shim_set("VV_SHIM_REATTACH", c->release, c->device);
	if (c->break_record) {
		/* After the library's move, before the outcome's read: the
		 * record becomes a symbolic link, which is never read. */
		g_autofree char *path = record_path(c->device);
		g_autofree char *command = g_strdup_printf("cp '%1$s' '%1$s.target' && ln -sfn '%1$s.target' '%1$s'", path);

		g_setenv("VV_SHIM_AFTER_REBIND", command, TRUE);
	}

	if (c->reattach)
		done = vv_virt_reattach(ctx, &target, &options, &outcome, &error);
	else
		done = vv_virt_detach(ctx, &target, &options, &outcome, &error);

	/* The call's verdict: the error's domain and code, never its words. */
	g_assert_nonnull(outcome);
	if (c->domain) {
		g_assert_false(done);
		g_assert_nonnull(error);
		g_assert_true(error->domain == c->domain());
		g_test_message("error %s %d: %s", g_quark_to_string(error->domain), error->code, error->message);
		g_assert_cmpint(error->code, ==, c->code);
	} else {
		g_assert_no_error(error);
		g_assert_true(done);
	}
	/* What libvirt was asked. */
	g_assert_true(g_file_get_contents(shim_log, &log_text, NULL, NULL));
	g_strdelimit(log_text, "\n", ';');
	g_assert_cmpstr(log_text, ==, c->shim_log);

	/* The outcome. */
	g_assert_cmpuint(outcome->version, ==, c->version);
	g_assert_cmpint(outcome->strategy.detach_by_driver_name, ==, c->version >= VV_VIRT_VERSION_DRIVER_NAMES);
	g_assert_cmpstr(outcome->libvirt_driver, ==, c->libvirt_driver);
	g_assert_cmpint(outcome->fallback, ==, c->fallback);
	g_assert_cmpint(outcome->rollback, ==, c->rollback);
	g_assert_cmpint(outcome->release_error != NULL, ==, c->release_refused);
	g_assert_cmpint(outcome->rollback_error != NULL, ==, c->rollback == VV_VIRT_ROLLBACK_FAILED);
	g_assert_cmpint(outcome->libvirt, ==, c->libvirt);
	g_assert_cmpstr(outcome->domain, ==, c->domain_name);
	g_assert_cmpstr(outcome->moved_from, ==, c->moved_from);
	g_assert_cmpint(outcome->to_generic != NULL, ==, c->moved_from != NULL);
	g_assert_cmpint(outcome->moved_back != NULL, ==, c->moved_back);
	g_assert_cmpint(outcome->had_record, ==, c->had_record);
	g_assert_cmpint(outcome->repaired, ==, c->repaired);
	if (c->reattach && c->had_record)
		g_assert_cmpstr(outcome->native_driver, ==, "abcd_nic");
	if (c->after_libvirt)
		assert_now(&outcome->after_libvirt, c->after_libvirt);
	if (!c->reattach && !c->domain) {
		/* A detach that succeeded: its last step's driver is the device's. */
		g_assert_nonnull(outcome->final);
		g_assert_cmpstr(vv_bind_result_get_driver(outcome->final), ==, c->now);
		g_assert_cmpint(vv_bind_result_is_fallback(outcome->final), ==, c->fallback);
	}
	if (c->fallback && c->version >= VV_VIRT_VERSION_DRIVER_NAMES)
		g_assert_nonnull(outcome->fallback_reason);

	/* ... matches what sysfs and the state directory show. */
	assert_now(&outcome->now, c->now);
	now = driver_of(c->device);
	g_assert_cmpstr(now, ==, c->now);
	g_assert_cmpint(outcome->record_state, ==, c->record);
	g_assert_cmpint(outcome->record != NULL, ==, c->record == VV_VIRT_RECORD_KEPT);
	g_assert_cmpint(outcome->record_error != NULL, ==, c->record == VV_VIRT_RECORD_UNREADABLE);
	if (c->record == VV_VIRT_RECORD_NONE) {
		g_autofree char *path = record_path(c->device);

		g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	}
	if (outcome->record) {
		g_assert_cmpstr(vv_record_get_driver(outcome->record), ==, c->record_driver);
		g_assert_cmpstr(vv_record_get_original_driver(outcome->record), ==, c->record_native);
		g_assert_true(vv_record_is_complete(outcome->record));
		g_assert_cmpint(vv_record_is_fallback(outcome->record), ==, c->record_fallback);
	}
}

/* ---- in the test process: a fresh host and the preloads per case --------- */

static int
find_asan(struct dl_phdr_info *info, size_t size, void *data)
{
	char **asan = data;

	if (!*asan && info->dlpi_name && strstr(info->dlpi_name, "libasan.so"))
		*asan = g_strdup(info->dlpi_name);
	return 0;
}

/* This program, to run one case in a process of its own. */
static char *self;

static void
test_case(gconstpointer data)
{
	const protocol_case *c = data;
	g_autofree char *work = NULL;
	g_autofree char *host = NULL;
	g_autofree char *copy = NULL;
	g_autofree char *log = NULL;
	g_autofree char *asan = NULL;
	g_autofree char *preload = NULL;
	g_autofree char *index = g_strdup_printf("%td", c - cases);
	g_autofree char *child_out = NULL;
	g_autofree char *child_err = NULL;
	g_auto(GStrv) wrapper = NULL;
	g_auto(GStrv) env = g_get_environ();
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	int status;

	/* One case failing names itself and the others still run. */
	g_test_set_nonfatal_assertions();
	work = g_dir_make_tmp("vv-test-virt-protocol-XXXXXX", &error);
	g_assert_no_error(error);
	host = g_build_filename(g_getenv("VV_TEST_HOSTS"), "bind", NULL);
	copy = g_build_filename(work, "host", NULL);
	log = g_build_filename(work, "host.log", NULL);
	g_assert_true(g_spawn_sync(NULL, (char *[]){ "cp", "-a", host, copy, NULL }, NULL, G_SPAWN_SEARCH_PATH,
				   NULL, NULL, NULL, NULL, &status, &error));
	g_assert_true(g_spawn_check_wait_status(status, NULL));
	/* Under AddressSanitizer its runtime must come first among the
	 * preloads; this process, not preloaded, has it loaded already. */
	dl_iterate_phdr(find_asan, &asan);
	preload = g_strdup_printf("%s%s%s:%s", asan ? asan : "", asan ? ":" : "", g_getenv("VV_FAKEKERNEL"),
				  g_getenv("VV_LIBVIRT_SHIM"));
	env = g_environ_setenv(env, "VV_FAKEKERNEL_ROOT", copy, TRUE);
	env = g_environ_setenv(env, "VV_FAKEKERNEL_LOG", log, TRUE);
	env = g_environ_setenv(env, "LD_PRELOAD", preload, TRUE);
	/* Under `meson test --setup valgrind` the case runs under memcheck
	 * too, as the shell tests run the CLI. */
	if (g_getenv("VV_CLI_WRAPPER") && *g_getenv("VV_CLI_WRAPPER"))
		g_assert_true(g_shell_parse_argv(g_getenv("VV_CLI_WRAPPER"), NULL, &wrapper, NULL));
	for (guint i = 0; wrapper && wrapper[i]; i++)
		g_ptr_array_add(args, wrapper[i]);
	g_ptr_array_add(args, self);
	g_ptr_array_add(args, "--case");
	g_ptr_array_add(args, index);
	g_ptr_array_add(args, NULL);
	g_assert_true(g_spawn_sync(NULL, (char **)args->pdata, env, G_SPAWN_SEARCH_PATH, NULL, NULL,
				   &child_out, &child_err, &status, &error));
	if (!g_spawn_check_wait_status(status, NULL)) {
		g_autofree char *written = NULL;

		g_file_get_contents(log, &written, NULL, NULL);
		g_test_message("case %s failed: %s%s", index, child_out, child_err);
		g_test_message("fake-kernel log: %s", written ? written : "(none)");
		g_test_fail();
	}
	g_spawn_sync(NULL, (char *[]){ "rm", "-rf", work, NULL }, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
		     NULL, NULL);
}

int
main(int argc, char **argv)
{
	/* The child: one case, its asserts fatal; the preloads are in place. */
	if (argc == 3 && strcmp(argv[1], "--case") == 0) {
		guint64 index = g_ascii_strtoull(argv[2], NULL, 10);

		g_assert_cmpuint(index, <, G_N_ELEMENTS(cases));
		root = g_getenv("VV_FAKEKERNEL_ROOT");
		g_assert_nonnull(root);
		run_case(&cases[index]);
		return 0;
	}
	self = g_canonicalize_filename(argv[0], NULL);
	g_test_init(&argc, &argv, NULL);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *label = g_strdelimit(g_strdup(cases[i].label), "/", '|');
		g_autofree char *path = g_strdup_printf("/virt/protocol/%02u %s", i + 1, label);

		g_test_add_data_func(path, &cases[i], test_case);
	}
	return g_test_run();
}
