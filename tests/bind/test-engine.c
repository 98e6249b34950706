/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-engine CASE: the binding engine through the public API, asserted on
 * its results and error codes (never on its English), on the simulated
 * kernel: LD_PRELOAD of libvv-fakekernel.so with VV_FAKEKERNEL_ROOT a fresh
 * copy of the bind host (tests/hosts/bind.toml) per case, given by
 * tests/bind/run-cases.sh. `test-engine --list` names the cases.
 *
 * A case is a row of steps; each step is one engine call on a fresh
 * context (as each CLI command is), and states what it must return: the
 * error code, or the result's driver, fallback and noop; then where the
 * device is in sysfs and what its record's journal says. A case with
 * .fail runs again with VV_FAKEKERNEL_FAIL=N: the N-th change the process
 * makes fails, and .log names the line of the fake kernel's log that
 * proves the fault hit the change the case is about.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vv-case.h"

typedef enum {
	OP_DETACH = 1,
	OP_REATTACH,
	OP_RECOVER,
	OP_REBIND,
	OP_PREPARE,
} engine_op;

typedef struct {
	engine_op op;
	const char *device;
	vv_bind_flags flags;
	const char *driver;          /* vv_bind_options_set_driver() */
	const char *domain;          /* vv_bind_options_set_domain(), managed */
	void (*before)(void);        /* a change of the host before the call */
	/* What the call returns. */
	gboolean fails;
	vv_error_code code;          /* with .fails */
	const char *result_driver;   /* without .fails; NULL: none */
	gboolean fallback, noop;
	guint actions;               /* 0: not checked */
	/* What the host is after it. */
	const char *now;             /* the device's driver; "" none */
	const char *record_step;     /* its record's journal; NULL: no record */
	gboolean record_fallback;
} engine_step;

typedef struct {
	const char *name;
	void (*fixture)(void); /* before the first context opens */
	guint fail;            /* VV_FAKEKERNEL_FAIL for the whole case */
	const char *log;       /* a line the fake kernel's log must hold */
	const char *no_log;    /* a text no line of it may hold */
	engine_step steps[4];
} engine_case;

/* ---- the host ------------------------------------------------------------ */

static char *
root_path(const char *relative)
{
	return g_build_filename(root, relative, NULL);
}

static void
put_file(const char *relative, const char *text)
{
	g_autofree char *path = root_path(relative);
	g_autofree char *dir = g_path_get_dirname(path);

	if (g_mkdir_with_parents(dir, 0755) < 0 || !g_file_set_contents(path, text, -1, NULL)) {
		printf("cannot write the fixture %s\n", path);
		exit(1);
	}
}

/* modprobe.d blacklists the variant of 00:01.0. */
static void
blacklist_acme(void)
{
	put_file("etc/modprobe.d/vv-test.conf", "blacklist acme_vfio_pci\n");
}

/* abcd_nic as a built-in driver: no module behind it. */
static void
abcd_nic_built_in(void)
{
	g_autofree char *link = root_path("sys/bus/pci/drivers/abcd_nic/module");

	if (g_unlink(link) < 0) {
		printf("cannot remove %s\n", link);
		exit(1);
	}
}

/* The fake kernel's delete_module(): looked up, never linked, so that
 * without the preload there is nothing to call, and no module of this
 * machine can be unloaded. */
static void
unload_abcd_native(void)
{
	int (*unload)(const char *, unsigned int) = (int (*)(const char *, unsigned int))dlsym(RTLD_DEFAULT, "delete_module");

	if (!unload || !getenv("VV_FAKEKERNEL_ROOT") || unload("abcd_native", 0) != 0) {
		printf("cannot unload abcd_native through the fake kernel\n");
		exit(1);
	}
}

/* 00:01.0 is gone from sysfs (hot-unplugged). */
static void
remove_01(void)
{
	g_autofree char *link = root_path("sys/bus/pci/devices/0000:00:01.0");

	if (g_unlink(link) < 0) {
		printf("cannot remove %s\n", link);
		exit(1);
	}
}

/* A process (a guest's qemu) has group 4's VFIO device open. */
static void
qemu_holds_group_4(void)
{
	g_autofree char *fd_dir = root_path("proc/4242/fd");
	g_autofree char *fd = g_build_filename(fd_dir, "7", NULL);

	put_file("proc/4242/comm", "qemu-system-x86\n");
	if (g_mkdir_with_parents(fd_dir, 0755) < 0 || symlink("/dev/vfio/4", fd) < 0) {
		printf("cannot make %s\n", fd);
		exit(1);
	}
}

/* ---- the cases ----------------------------------------------------------- */

#define DETACH(...) { .op = OP_DETACH, __VA_ARGS__ }
#define REATTACH(...) { .op = OP_REATTACH, __VA_ARGS__ }
#define RECOVER(...) { .op = OP_RECOVER, __VA_ARGS__ }
#define REBIND(...) { .op = OP_REBIND, __VA_ARGS__ }
#define PREPARE(...) { .op = OP_PREPARE, __VA_ARGS__ }

static const engine_case cases[] = {
	/* detach */
	{ .name = "detach-variant", .log = "load acme_vfio_pci -> ok", .steps = {
		DETACH(.device = "0000:00:01.0", .result_driver = "acme-vfio-pci", .actions = 4,
		       .now = "acme-vfio-pci", .record_step = "verified") } },
	{ .name = "detach-generic", .no_log = "acme", .steps = {
		DETACH(.device = "0000:00:01.0", .flags = VV_BIND_GENERIC, .result_driver = "vfio-pci",
		       .now = "vfio-pci", .record_step = "verified") } },
	{ .name = "detach-dry-run", .no_log = "write", .steps = {
		DETACH(.device = "0000:00:01.0", .flags = VV_BIND_DRY_RUN,
		       .result_driver = "<the driver of acme_vfio_pci, known once it is loaded>", .actions = 4,
		       .now = "abcd_nic") } },
	{ .name = "detach-twice-noop", .steps = {
		DETACH(.device = "0000:00:01.0", .result_driver = "acme-vfio-pci", .now = "acme-vfio-pci",
		       .record_step = "verified"),
		DETACH(.device = "0000:00:01.0", .result_driver = "acme-vfio-pci", .noop = TRUE,
		       .now = "acme-vfio-pci", .record_step = "verified") } },
	{ .name = "detach-fallback", .log = "write /sys/bus/pci/devices/0000:00:02.0/driver_override picky_vfio_pci -> ok",
	  .steps = {
		DETACH(.device = "0000:00:02.0", .result_driver = "vfio-pci", .fallback = TRUE, .now = "vfio-pci",
		       .record_step = "verified", .record_fallback = TRUE) } },
	{ .name = "detach-named-refused-rolls-back", .steps = {
		DETACH(.device = "0000:00:03.0", .driver = "picky_vfio_pci", .fails = TRUE, .code = VV_ERROR_BIND,
		       .now = "abcd_nic") } },
	{ .name = "detach-fault-rolls-back", .fail = 11,
	  .log = "inject 11 write /sys/bus/pci/drivers/abcd_nic/unbind -> EIO", .steps = {
		DETACH(.device = "0000:00:03.0", .fails = TRUE, .code = VV_ERROR_IO, .now = "abcd_nic") } },
	/* reattach */
	{ .name = "reattach-native-module", .log = "load abcd_native -> ok", .steps = {
		DETACH(.device = "0000:00:09.0", .result_driver = "vfio-pci", .now = "vfio-pci", .record_step = "verified"),
		REATTACH(.device = "0000:00:09.0", .before = unload_abcd_native, .result_driver = "abcd_native",
			 .now = "abcd_native") } },
	{ .name = "reattach-built-in-native", .fixture = abcd_nic_built_in, .no_log = "load abcd_nic", .steps = {
		DETACH(.device = "0000:00:03.0", .result_driver = "vfio-pci", .now = "vfio-pci", .record_step = "verified"),
		REATTACH(.device = "0000:00:03.0", .result_driver = "abcd_nic", .now = "abcd_nic") } },
	{ .name = "reattach-no-native", .steps = {
		DETACH(.device = "0000:00:08.0", .result_driver = "vfio-pci", .now = "vfio-pci", .record_step = "verified"),
		REATTACH(.device = "0000:00:08.0", .result_driver = NULL, .now = "") } },
	{ .name = "reattach-not-detached-noop", .steps = {
		REATTACH(.device = "0000:00:03.0", .result_driver = "abcd_nic", .noop = TRUE, .now = "abcd_nic") } },
	{ .name = "reattach-gone-kept-then-forced", .steps = {
		DETACH(.device = "0000:00:01.0", .flags = VV_BIND_GENERIC, .result_driver = "vfio-pci",
		       .now = "vfio-pci", .record_step = "verified"),
		REATTACH(.device = "0000:00:01.0", .before = remove_01, .fails = TRUE, .code = VV_ERROR_GONE,
			 .record_step = "verified"),
		REATTACH(.device = "0000:00:01.0", .flags = VV_BIND_FORCE, .result_driver = NULL) } },
	/* recover */
	{ .name = "recover-cut-short-detach", .steps = {
		PREPARE(.device = "0000:00:01.0", .result_driver = "acme-vfio-pci", .now = "abcd_nic",
			.record_step = "module-loaded"),
		RECOVER(.device = "0000:00:01.0", .result_driver = "abcd_nic", .now = "abcd_nic") } },
	{ .name = "recover-fails-record-kept-then-recovers", .fail = 8,
	  .log = "inject 8 write /sys/bus/pci/devices/0000:00:01.0/driver_override", .steps = {
		PREPARE(.device = "0000:00:01.0", .result_driver = "acme-vfio-pci", .now = "abcd_nic",
			.record_step = "module-loaded"),
		RECOVER(.device = "0000:00:01.0", .fails = TRUE, .code = VV_ERROR_NEEDS_RECOVERY, .now = "abcd_nic",
			.record_step = "module-loaded"),
		RECOVER(.device = "0000:00:01.0", .result_driver = "abcd_nic", .now = "abcd_nic") } },
	{ .name = "recover-complete-noop", .steps = {
		DETACH(.device = "0000:00:03.0", .result_driver = "vfio-pci", .now = "vfio-pci", .record_step = "verified"),
		RECOVER(.device = "0000:00:03.0", .result_driver = "vfio-pci", .noop = TRUE, .now = "vfio-pci",
			.record_step = "verified") } },
	{ .name = "detach-settles-cut-short-first", .steps = {
		PREPARE(.device = "0000:00:01.0", .result_driver = "acme-vfio-pci", .now = "abcd_nic",
			.record_step = "module-loaded"),
		DETACH(.device = "0000:00:01.0", .flags = VV_BIND_GENERIC, .result_driver = "vfio-pci",
		       .now = "vfio-pci", .record_step = "verified") } },
	/* rebind */
	{ .name = "rebind-to-variant", .steps = {
		DETACH(.device = "0000:00:01.0", .flags = VV_BIND_GENERIC, .result_driver = "vfio-pci",
		       .now = "vfio-pci", .record_step = "verified"),
		REBIND(.device = "0000:00:01.0", .result_driver = "acme-vfio-pci", .now = "acme-vfio-pci",
		       .record_step = "verified") } },
	{ .name = "rebind-not-detached", .steps = {
		REBIND(.device = "0000:00:03.0", .fails = TRUE, .code = VV_ERROR_NOT_DETACHED, .now = "abcd_nic") } },
	/* refusals */
	{ .name = "refuse-bridge", .no_log = "write", .steps = {
		DETACH(.device = "0000:00:1c.0", .fails = TRUE, .code = VV_ERROR_NOT_ASSIGNABLE, .now = "pcieport") } },
	{ .name = "refuse-pf-with-vfs", .no_log = "write", .steps = {
		DETACH(.device = "0000:00:10.0", .fails = TRUE, .code = VV_ERROR_NOT_ASSIGNABLE, .now = "abcd_pf") } },
	{ .name = "refuse-group-not-viable", .no_log = "write", .steps = {
		DETACH(.device = "0000:00:04.0", .fails = TRUE, .code = VV_ERROR_NOT_ASSIGNABLE, .now = "") } },
	{ .name = "refuse-host-use-then-forced", .steps = {
		DETACH(.device = "0000:00:06.0", .fails = TRUE, .code = VV_ERROR_IN_USE, .now = "abcd_nic"),
		DETACH(.device = "0000:00:06.0", .flags = VV_BIND_FORCE, .result_driver = "vfio-pci", .now = "vfio-pci",
		       .record_step = "verified") } },
	{ .name = "refuse-mounted", .no_log = "write", .steps = {
		DETACH(.device = "0000:00:07.0", .fails = TRUE, .code = VV_ERROR_IN_USE, .now = "abcd_nic") } },
	{ .name = "refuse-another-driver-while-detached", .steps = {
		DETACH(.device = "0000:00:01.0", .result_driver = "acme-vfio-pci", .now = "acme-vfio-pci",
		       .record_step = "verified"),
		DETACH(.device = "0000:00:01.0", .driver = "vfio-pci", .fails = TRUE, .code = VV_ERROR_DETACHED,
		       .now = "acme-vfio-pci", .record_step = "verified") } },
	{ .name = "refuse-foreign-record-then-forced", .steps = {
		DETACH(.device = "0000:00:03.0", .result_driver = "vfio-pci", .now = "vfio-pci", .record_step = "verified"),
		REBIND(.device = "0000:00:03.0", .driver = "vfio-pci", .domain = "vm1", .result_driver = "vfio-pci",
		       .noop = TRUE, .now = "vfio-pci", .record_step = "verified"),
		REATTACH(.device = "0000:00:03.0", .fails = TRUE, .code = VV_ERROR_ASSIGNED, .now = "vfio-pci",
			 .record_step = "verified"),
		REATTACH(.device = "0000:00:03.0", .flags = VV_BIND_FORCE, .result_driver = "abcd_nic",
			 .now = "abcd_nic") } },
	{ .name = "refuse-held-group", .steps = {
		DETACH(.device = "0000:00:04.1", .result_driver = "vfio-pci", .now = "vfio-pci", .record_step = "verified"),
		DETACH(.device = "0000:00:04.0", .result_driver = "vfio-pci", .now = "vfio-pci", .record_step = "verified"),
		REATTACH(.device = "0000:00:04.1", .before = qemu_holds_group_4, .fails = TRUE, .code = VV_ERROR_IN_USE,
			 .now = "vfio-pci", .record_step = "verified") } },
	{ .name = "refuse-blacklisted", .fixture = blacklist_acme, .no_log = "load acme_vfio_pci", .steps = {
		DETACH(.device = "0000:00:01.0", .driver = "acme_vfio_pci", .fails = TRUE, .code = VV_ERROR_BLACKLISTED,
		       .now = "abcd_nic"),
		/* Unnamed, the selection passes the blacklisted variant over. */
		DETACH(.device = "0000:00:01.0", .result_driver = "vfio-pci", .now = "vfio-pci",
		       .record_step = "verified") } },
	{ .name = "refuse-malformed-name", .no_log = "write", .steps = {
		DETACH(.device = "0000:00:01.0", .driver = "../vfio-pci", .fails = TRUE,
		       .code = VV_ERROR_INVALID_ARGUMENT, .now = "abcd_nic") } },
};

/* ---- running a case ------------------------------------------------------ */

static vv_bind_result *
run_op(vv_ctx *ctx, const engine_step *step, GError **error)
{
	g_autoptr(vv_bind_options) options = vv_bind_options_new();

	vv_bind_options_set_flags(options, step->flags);
	vv_bind_options_set_driver(options, step->driver);
	vv_bind_options_set_domain(options, step->domain, step->domain != NULL);
	if (step->op == OP_PREPARE)
		vv_bind_options_set_requester(options, VV_REQUESTER_LIBVIRT);
	switch (step->op) {
	case OP_DETACH: return vv_detach(ctx, step->device, options, error);
	case OP_REATTACH: return vv_reattach(ctx, step->device, options, error);
	case OP_RECOVER: return vv_recover(ctx, step->device, options, error);
	case OP_REBIND: return vv_rebind(ctx, step->device, options, error);
	case OP_PREPARE: return vv_detach_prepare(ctx, step->device, options, error);
	}
	g_assert_not_reached();
}

static void
check_step(const engine_step *step)
{
	g_autoptr(vv_ctx) ctx = open_ctx();
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_bind_result) result = NULL;
	g_autoptr(vv_record) record = NULL;
	g_autofree char *now = NULL;

	if (step->before)
		step->before();
	result = run_op(ctx, step, &error);
	if (step->fails) {
		EXPECT(!result && g_error_matches(error, VV_ERROR, step->code), "expected error code %d, got %s (%d)",
		       step->code, error ? error->message : "success", error ? error->code : -1);
	} else if (!result) {
		EXPECT(FALSE, "failed: %s (code %d)", error->message, error->code);
	} else {
		EXPECT(g_strcmp0(vv_bind_result_get_driver(result), step->result_driver) == 0,
		       "result driver '%s', expected '%s'", vv_bind_result_get_driver(result), step->result_driver);
		EXPECT(vv_bind_result_is_fallback(result) == step->fallback, "fallback %d, expected %d",
		       vv_bind_result_is_fallback(result), step->fallback);
		EXPECT(vv_bind_result_is_noop(result) == step->noop, "noop %d, expected %d",
		       vv_bind_result_is_noop(result), step->noop);
		EXPECT(!step->actions || vv_bind_result_get_actions(result)->len == step->actions,
		       "%u actions, expected %u", vv_bind_result_get_actions(result)->len, step->actions);
	}

	if (step->now) {
		now = driver_of(step->device);
		EXPECT(g_str_equal(now, step->now), "%s is on '%s', expected '%s'", step->device, now, step->now);
	}
	record = vv_record_load(ctx, step->device, NULL);
	EXPECT(!record == !step->record_step, "record %s, expected %s", record ? vv_record_get_step(record) : "none",
	       step->record_step ? step->record_step : "none");
	if (record && step->record_step) {
		EXPECT(g_str_equal(vv_record_get_step(record), step->record_step), "record step '%s', expected '%s'",
		       vv_record_get_step(record), step->record_step);
		EXPECT(vv_record_is_fallback(record) == step->record_fallback, "record fallback %d, expected %d",
		       vv_record_is_fallback(record), step->record_fallback);
	}
}

static gboolean
log_has(const char *text)
{
	const char *path = getenv("VV_FAKEKERNEL_LOG");
	g_autofree char *log = NULL;

	return path && g_file_get_contents(path, &log, NULL, NULL) && strstr(log, text);
}

static int
run_case(const engine_case *c, char **argv)
{
	/* The fault counts from the process's first change: set before the
	 * fake kernel starts, so run again with it. */
	if (c->fail && !getenv("VV_FAKEKERNEL_FAIL")) {
		g_autofree char *fail = g_strdup_printf("%u", c->fail);

		g_setenv("VV_FAKEKERNEL_FAIL", fail, TRUE);
		/* argv[0], not /proc/self/exe: under valgrind that is the tool
		 * itself, which refuses to be run directly. */
		execv(argv[0], argv);
		printf("cannot run again with VV_FAKEKERNEL_FAIL: %s\n", g_strerror(errno));
		return 1;
	}
	if (c->fixture)
		c->fixture();
	for (guint i = 0; i < G_N_ELEMENTS(c->steps) && c->steps[i].op; i++) {
		case_step = i + 1;
		check_step(&c->steps[i]);
	}
	case_step = 0;
	EXPECT(!c->log || log_has(c->log), "the fake kernel's log lacks '%s'", c->log);
	EXPECT(!c->no_log || !log_has(c->no_log), "the fake kernel's log has '%s'", c->no_log);
	return failures ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && g_str_equal(argv[1], "--list")) {
		for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
			printf("%s\n", cases[i].name);
		return 0;
	}
	root = getenv("VV_FAKEKERNEL_ROOT");
	if (argc != 2 || !root) {
		fprintf(stderr, "usage: test-engine --list | CASE (under the fake kernel, VV_FAKEKERNEL_ROOT set)\n");
		return 2;
	}
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
		if (g_str_equal(cases[i].name, argv[1]))
			return run_case(&cases[i], argv);
	fprintf(stderr, "no case %s\n", argv[1]);
	return 2;
}
