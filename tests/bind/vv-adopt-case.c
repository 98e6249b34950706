/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vv-adopt-case CASE: one case of a bind made by someone else, run under
 * the simulated kernel (LD_PRELOAD of libvv-fakekernel.so, with
 * VV_FAKEKERNEL_ROOT a fresh copy of the bind host, tests/hosts/bind.toml).
 * libvirt's part is played by its three sysfs writes (driver_override,
 * unbind, drivers_probe), which the fake kernel gives their effects; the
 * library's part goes through the public API: vv_detach_prepare(), then
 * vv_detach_adopt(), then vv_rebind() for libvirt 9.0. Exits 0 when the
 * case holds, else prints what did not and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vv-case.h"

static gboolean
write_sys(const char *path, const char *value)
{
	FILE *file = fopen(path, "w");
	gboolean ok;

	if (!file)
		return FALSE;
	ok = fputs(value, file) >= 0;
	return fclose(file) == 0 && ok;
}

/* What libvirt's virPCIDeviceBindToStub() writes: the override, the
 * unbind of the current driver, the probe. */
static void
libvirt_binds(const char *address, const char *driver)
{
	g_autofree char *override = sys_path(address, "driver_override");
	g_autofree char *current = driver_of(address);
	g_autofree char *probe = g_build_filename(root, "sys/bus/pci/drivers_probe", NULL);

	EXPECT(write_sys(override, driver), "write %s to %s", driver, override);
	if (*current) {
		g_autofree char *unbind = g_build_filename(root, "sys/bus/pci/drivers", current, "unbind", NULL);

		EXPECT(write_sys(unbind, address), "unbind %s from %s", address, current);
	}
	write_sys(probe, address);
}

static vv_bind_options *
libvirt_options(vv_bind_flags flags, const char *driver)
{
	vv_bind_options *options = vv_bind_options_new();

	vv_bind_options_set_requester(options, VV_REQUESTER_LIBVIRT);
	vv_bind_options_set_flags(options, flags);
	vv_bind_options_set_driver(options, driver);
	return options;
}

/* Record fields, NULL when there is no record. */
static vv_record *
record_of(vv_ctx *ctx, const char *address)
{
	return vv_record_load(ctx, address, NULL);
}

/* libvirt >= 9.7: prepare names the variant, libvirt binds it by name,
 * adopt completes the record; nothing in sysfs changes before libvirt. */
static void
case_by_name(vv_ctx *ctx)
{
	const char *dev = "0000:00:01.0";
	g_autoptr(vv_bind_options) options = libvirt_options(0, NULL);
	g_autoptr(vv_bind_result) prepared = NULL;
	g_autoptr(vv_bind_result) adopted = NULL;
	g_autoptr(vv_record) record = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *now = NULL;

	prepared = vv_detach_prepare(ctx, dev, options, &error);
	EXPECT(prepared, "prepare: %s", error->message);
	if (!prepared)
		return;
	EXPECT(g_strcmp0(vv_bind_result_get_driver(prepared), "acme-vfio-pci") == 0,
	       "prepare names %s, expected the driver name acme-vfio-pci", vv_bind_result_get_driver(prepared));
	now = driver_of(dev);
	EXPECT(g_str_equal(now, "abcd_nic"), "prepare changed the driver: %s", now);
	record = record_of(ctx, dev);
	EXPECT(record && !vv_record_is_complete(record), "no record under way after prepare");
	EXPECT(record && g_strcmp0(vv_record_get_original_driver(record), "abcd_nic") == 0, "native not recorded");
	EXPECT(record && vv_record_get_requester(record) == VV_REQUESTER_LIBVIRT, "requester not libvirt");
	g_clear_pointer(&record, vv_record_unref);

	libvirt_binds(dev, "acme-vfio-pci");
	adopted = vv_detach_adopt(ctx, dev, options, &error);
	EXPECT(adopted, "adopt: %s", error ? error->message : "");
	record = record_of(ctx, dev);
	EXPECT(record && vv_record_is_complete(record), "record not complete after adopt");
	EXPECT(record && g_strcmp0(vv_record_get_driver(record), "acme-vfio-pci") == 0, "record driver %s",
	       record ? vv_record_get_driver(record) : "(none)");
	EXPECT(record && !vv_record_is_fallback(record), "recorded as a fallback");
	g_clear_pointer(&adopted, vv_bind_result_free);
	adopted = vv_detach_adopt(ctx, dev, options, &error);
	EXPECT(adopted && vv_bind_result_is_noop(adopted), "a second adopt is not a no-op: %s",
	       error ? error->message : "");
}

/* libvirt 9.0: libvirt binds vfio-pci, the engine moves the device to the
 * variant; reattach returns it to the recorded native driver. */
static void
case_vfio_then_move(vv_ctx *ctx)
{
	const char *dev = "0000:00:01.0";
	g_autoptr(vv_bind_options) generic = libvirt_options(VV_BIND_GENERIC, NULL);
	g_autoptr(vv_bind_options) options = libvirt_options(0, NULL);
	g_autoptr(vv_bind_result) prepared = NULL;
	g_autoptr(vv_bind_result) adopted = NULL;
	g_autoptr(vv_bind_result) moved = NULL;
	g_autoptr(vv_bind_result) back = NULL;
	g_autoptr(vv_record) record = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *now = NULL;
	g_autofree char *end = NULL;

	prepared = vv_detach_prepare(ctx, dev, generic, &error);
	EXPECT(prepared && g_strcmp0(vv_bind_result_get_driver(prepared), "vfio-pci") == 0, "prepare --generic: %s",
	       error ? error->message : vv_bind_result_get_driver(prepared));
	libvirt_binds(dev, "vfio-pci");
	adopted = vv_detach_adopt(ctx, dev, generic, &error);
	EXPECT(adopted && !vv_bind_result_is_fallback(adopted), "adopt: %s", error ? error->message : "a fallback");
	moved = vv_rebind(ctx, dev, options, &error);
	EXPECT(moved, "rebind: %s", error ? error->message : "");
	now = driver_of(dev);
	EXPECT(g_str_equal(now, "acme-vfio-pci"), "after the move: %s", now);
	record = record_of(ctx, dev);
	EXPECT(record && vv_record_is_complete(record) &&
	       g_strcmp0(vv_record_get_original_driver(record), "abcd_nic") == 0 &&
	       g_strcmp0(vv_record_get_driver(record), "acme-vfio-pci") == 0 &&
	       vv_record_get_requester(record) == VV_REQUESTER_LIBVIRT,
	       "record after the move: native %s, driver %s",
	       record ? vv_record_get_original_driver(record) : "-", record ? vv_record_get_driver(record) : "-");
	back = vv_reattach(ctx, dev, options, &error);
	EXPECT(back, "reattach: %s", error ? error->message : "");
	end = driver_of(dev);
	EXPECT(g_str_equal(end, "abcd_nic"), "after reattach: %s", end);
}

/* libvirt 9.0 and a variant that refuses: the selected one falls back to
 * vfio-pci (recorded); a named one leaves the device on vfio-pci. */
static void
case_move_refused(vv_ctx *ctx)
{
	const char *dev = "0000:00:02.0";
	g_autoptr(vv_bind_options) generic = libvirt_options(VV_BIND_GENERIC, NULL);
	g_autoptr(vv_bind_options) selected = libvirt_options(0, NULL);
	g_autoptr(vv_bind_options) named = libvirt_options(VV_BIND_STRICT, "picky_vfio_pci");
	g_autoptr(vv_bind_result) result = NULL;
	g_autoptr(vv_record) record = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *now = NULL;
	g_autofree char *after = NULL;

	g_clear_pointer(&result, vv_bind_result_free);
	result = vv_detach_prepare(ctx, dev, generic, &error);
	EXPECT(result, "prepare: %s", error ? error->message : "");
	libvirt_binds(dev, "vfio-pci");
	g_clear_pointer(&result, vv_bind_result_free);
	result = vv_detach_adopt(ctx, dev, generic, &error);
	EXPECT(result, "adopt: %s", error ? error->message : "");

	g_clear_pointer(&result, vv_bind_result_free);
	result = vv_rebind(ctx, dev, named, &error);
	EXPECT(!result && error && strstr(error->message, "vfio-pci"), "named refusal: %s",
	       error ? error->message : "it succeeded");
	g_clear_error(&error);
	now = driver_of(dev);
	EXPECT(g_str_equal(now, "vfio-pci"), "after the named refusal: %s", now);
	record = record_of(ctx, dev);
	EXPECT(record && vv_record_is_complete(record) && g_strcmp0(vv_record_get_original_driver(record), "abcd_nic") == 0,
	       "the record of the native driver is gone after the named refusal");
	g_clear_pointer(&record, vv_record_unref);

	g_clear_pointer(&result, vv_bind_result_free);
	result = vv_rebind(ctx, dev, selected, &error);
	EXPECT(result && vv_bind_result_is_fallback(result), "selected refusal: %s",
	       error ? error->message : "no fallback");
	after = driver_of(dev);
	EXPECT(g_str_equal(after, "vfio-pci"), "after the fallback: %s", after);
	record = record_of(ctx, dev);
	EXPECT(record && vv_record_is_fallback(record), "the fallback is not recorded");
}

/* libvirt >= 9.7 bound vfio-pci where a variant was prepared: adopted as
 * a fallback. */
static void
case_adopt_fallback(vv_ctx *ctx)
{
	const char *dev = "0000:00:01.0";
	g_autoptr(vv_bind_options) options = libvirt_options(0, NULL);
	g_autoptr(vv_bind_result) prepared = vv_detach_prepare(ctx, dev, options, NULL);
	g_autoptr(vv_bind_result) adopted = NULL;
	g_autoptr(vv_record) record = NULL;
	g_autoptr(GError) error = NULL;

	EXPECT(prepared, "prepare failed");
	libvirt_binds(dev, "vfio-pci");
	adopted = vv_detach_adopt(ctx, dev, options, &error);
	EXPECT(adopted && vv_bind_result_is_fallback(adopted), "adopt: %s", error ? error->message : "no fallback");
	record = record_of(ctx, dev);
	EXPECT(record && vv_record_is_fallback(record) && g_strcmp0(vv_record_get_driver(record), "vfio-pci") == 0,
	       "record is not a fallback to vfio-pci");
}

/* libvirt failed (nothing bound): adopt refuses, recover rolls back. */
static void
case_adopt_unbound_then_recover(vv_ctx *ctx)
{
	const char *dev = "0000:00:01.0";
	g_autoptr(vv_bind_options) options = libvirt_options(0, NULL);
	g_autoptr(vv_bind_result) prepared = vv_detach_prepare(ctx, dev, options, NULL);
	g_autoptr(vv_bind_result) adopted = NULL;
	g_autoptr(vv_bind_result) recovered = NULL;
	g_autoptr(vv_record) record = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *now = NULL;

	EXPECT(prepared, "prepare failed");
	adopted = vv_detach_adopt(ctx, dev, options, &error);
	EXPECT(!adopted && g_error_matches(error, VV_ERROR, VV_ERROR_BIND) && strstr(error->message, "abcd_nic"),
	       "adopt of a device still on abcd_nic: %s", error ? error->message : "succeeded");
	g_clear_error(&error);
	recovered = vv_recover(ctx, dev, NULL, &error);
	EXPECT(recovered, "recover: %s", error ? error->message : "");
	now = driver_of(dev);
	EXPECT(g_str_equal(now, "abcd_nic"), "after recover: %s", now);
	record = record_of(ctx, dev);
	EXPECT(!record, "a record is left after recover");
	g_clear_error(&error);
	g_clear_pointer(&adopted, vv_bind_result_free);
	adopted = vv_detach_adopt(ctx, dev, options, &error);
	EXPECT(!adopted && g_error_matches(error, VV_ERROR, VV_ERROR_NOT_FOUND), "adopt without prepare: %s",
	       error ? error->message : "succeeded");
}

/* A device already on a VFIO driver without a record: its native driver
 * is unknown, so prepare refuses: the device counts as detached already. */
static void
case_prepare_already_vfio(vv_ctx *ctx)
{
	const char *dev = "0000:00:03.0";
	g_autoptr(vv_bind_result) prepared = NULL;
	g_autoptr(vv_bind_options) options = libvirt_options(0, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_record) record = NULL;

	libvirt_binds(dev, "vfio-pci");
	prepared = vv_detach_prepare(ctx, dev, options, &error);
	EXPECT(!prepared && g_error_matches(error, VV_ERROR, VV_ERROR_DETACHED),
	       "prepare of a device on vfio-pci: %s", error ? error->message : "succeeded");
	record = record_of(ctx, dev);
	EXPECT(!record, "a record was written");
}

/* The host uses the device: refused before any record, unless forced. */
static void
case_prepare_in_use(vv_ctx *ctx)
{
	const char *dev = "0000:00:06.0";
	g_autoptr(vv_bind_options) options = libvirt_options(0, NULL);
	g_autoptr(vv_bind_options) forced = libvirt_options(VV_BIND_FORCE | VV_BIND_GENERIC, NULL);
	g_autoptr(vv_bind_result) prepared = NULL;
	g_autoptr(vv_record) record = NULL;
	g_autoptr(GError) error = NULL;

	prepared = vv_detach_prepare(ctx, dev, options, &error);
	EXPECT(!prepared && g_error_matches(error, VV_ERROR, VV_ERROR_IN_USE), "prepare of a device in use: %s",
	       error ? error->message : "succeeded");
	record = record_of(ctx, dev);
	EXPECT(!record, "a record was written");
	g_clear_error(&error);
	prepared = vv_detach_prepare(ctx, dev, forced, &error);
	EXPECT(prepared, "prepare --force: %s", error ? error->message : "");
}

static vv_bind_options *
hook_options(const char *domain)
{
	vv_bind_options *options = vv_bind_options_new();

	vv_bind_options_set_requester(options, VV_REQUESTER_HOOK);
	vv_bind_options_set_flags(options, VV_BIND_GENERIC);
	vv_bind_options_set_domain(options, domain, TRUE);
	return options;
}

/* TRUE when one of RESULT's messages contains TEXT. */
static gboolean
said(const vv_bind_result *result, const char *text)
{
	const char *const *messages = result ? (const char *const *)vv_bind_result_get_messages(result)->pdata : NULL;

	for (guint i = 0; messages && messages[i]; i++)
		if (strstr(messages[i], text))
			return TRUE;
	return FALSE;
}

/* The hook's 'release end' gives back 00:04.1 while 00:04.0 of its group
 * stays on vfio-pci: refused while another domain holds 00:04.0, said (not
 * refused) when the domain being released holds it too. */
static void
case_release_group_member(vv_ctx *ctx)
{
	g_autoptr(vv_bind_options) plain = libvirt_options(VV_BIND_GENERIC, NULL);
	g_autoptr(vv_bind_options) guest_a = hook_options("guest-a");
	g_autoptr(vv_bind_options) guest_b = hook_options("guest-b");
	g_autoptr(vv_bind_result) result = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *now = NULL;
	g_autofree char *other = NULL;

	result = vv_detach(ctx, "0000:00:04.1", plain, &error);
	EXPECT(result, "detach 04.1: %s", error ? error->message : "");
	g_clear_pointer(&result, vv_bind_result_free);
	result = vv_detach(ctx, "0000:00:04.0", plain, &error);
	EXPECT(result, "detach 04.0: %s", error ? error->message : "");
	g_clear_pointer(&result, vv_bind_result_free);
	/* The hook's 'start begin' records each device's domain. */
	result = vv_rebind(ctx, "0000:00:04.1", guest_a, &error);
	EXPECT(result, "rebind 04.1: %s", error ? error->message : "");
	g_clear_pointer(&result, vv_bind_result_free);
	result = vv_rebind(ctx, "0000:00:04.0", guest_b, &error);
	EXPECT(result, "rebind 04.0: %s", error ? error->message : "");
	g_clear_pointer(&result, vv_bind_result_free);

	result = vv_reattach(ctx, "0000:00:04.1", guest_a, &error);
	EXPECT(!result && g_error_matches(error, VV_ERROR, VV_ERROR_IN_USE) &&
	       strstr(error->message, "0000:00:04.0") && strstr(error->message, "guest-b"),
	       "release of 04.1 while guest-b holds 04.0: %s", error ? error->message : "succeeded");
	now = driver_of("0000:00:04.1");
	EXPECT(g_str_equal(now, "vfio-pci"), "04.1 is on '%s'", now);
	g_clear_pointer(&result, vv_bind_result_free);
	g_clear_error(&error);

	/* Both in guest-a, which is being released: no holder. */
	result = vv_rebind(ctx, "0000:00:04.0", guest_a, &error);
	EXPECT(result, "rebind 04.0: %s", error ? error->message : "");
	g_clear_pointer(&result, vv_bind_result_free);
	result = vv_reattach(ctx, "0000:00:04.1", guest_a, &error);
	EXPECT(result, "release of 04.1 with 04.0 in the same domain: %s", error ? error->message : "");
	EXPECT(said(result, "0000:00:04.0 of the same IOMMU group 4 stays on the VFIO driver vfio-pci"),
	       "04.0 left on vfio-pci is not named");
	g_free(now);
	now = driver_of("0000:00:04.1");
	other = driver_of("0000:00:04.0");
	EXPECT(g_str_equal(now, "abcd_nic") && g_str_equal(other, "vfio-pci"), "04.1 on '%s', 04.0 on '%s'", now,
	       other);
}

static const struct {
	const char *name;
	void (*run)(vv_ctx *ctx);
} cases[] = {
	{ "by-name", case_by_name },
	{ "vfio-then-move", case_vfio_then_move },
	{ "move-refused", case_move_refused },
	{ "adopt-fallback", case_adopt_fallback },
	{ "adopt-unbound-then-recover", case_adopt_unbound_then_recover },
	{ "prepare-already-vfio", case_prepare_already_vfio },
	{ "prepare-in-use", case_prepare_in_use },
	{ "release-group-member", case_release_group_member },
};

int
main(int argc, char **argv)
{
	root = g_getenv("VV_FAKEKERNEL_ROOT");
	if (argc == 2 && g_str_equal(argv[1], "--list")) {
		for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
			printf("%s\n", cases[i].name);
		return 0;
	}
	if (argc != 2 || !root) {
		fprintf(stderr, "usage: VV_FAKEKERNEL_ROOT=HOST vv-adopt-case CASE|--list\n");
		return 2;
	}
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		if (g_str_equal(argv[1], cases[i].name)) {
			g_autoptr(vv_ctx) ctx = open_ctx();

			cases[i].run(ctx);
			return failures ? 1 : 0;
		}
	}
	fprintf(stderr, "vv-adopt-case: no case %s\n", argv[1]);
	return 2;
}
