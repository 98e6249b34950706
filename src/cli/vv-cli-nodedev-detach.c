/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nodedev-detach and nodedev-reattach: the libvirt path. libvirt's own
 * virNodeDeviceDetachFlags() and virNodeDeviceReAttach() make the change,
 * so that libvirt's bookkeeping (its list of detached devices, its
 * acceptance of managed='no' hostdevs) knows the device; vfio-variant
 * records the native driver before, and after libvirt's call verifies,
 * moves the device to the chosen VFIO driver where libvirt cannot bind it
 * itself, and repairs what libvirt's reattach leaves undone.
 */
#include <stdarg.h>

#include "vv-cli.h"
#include "virt/vv-virt.h"

/* Lines as virsh prints them: "error: " before each. Exit status 1: the
 * change was refused or failed (bad input has been dealt with before). */
static int G_GNUC_PRINTF(1, 2)
vv_cli_nodedev_fail(const char *format, ...)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	va_list args;

	va_start(args, format);
	text = g_strdup_vprintf(format, args);
	va_end(args);
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i]; i++)
		g_printerr(_("error: %s\n"), lines[i]);
	return VV_CLI_EXIT_FAILED;
}

/* The library's actions, indented, then its sentences. */
static void
vv_cli_nodedev_print(const vv_bind_result *result)
{
	for (const char *const *action = vv_bind_result_get_actions(result); *action; action++)
		g_print("  %s\n", *action);
	for (const char *const *message = vv_bind_result_get_messages(result); *message; message++)
		g_print("%s\n", *message);
}

/* What the device is on now, in words. */
static char *
vv_cli_nodedev_driver_now(vv_ctx *ctx, const char *address)
{
	g_autoptr(vv_device) device = vv_device_new(ctx, address, NULL);

	if (!device)
		return g_strdup(_("an unknown driver (the device cannot be read)"));
	return g_strdup(vv_device_get_driver(device) ? vv_device_get_driver(device) : _("no driver"));
}

/*
 * After a failed or unverified detach: libvirt forgets the device if it
 * took it, and the record of the detach under way is rolled back, so that
 * the device ends on its native driver. Returns a sentence saying where it
 * is now.
 */
static char *
vv_cli_nodedev_roll_back(vv_ctx *ctx, virNodeDevicePtr nodedev, const char *address, gboolean libvirt_took_it)
{
	g_autoptr(vv_bind_result) result = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *now = NULL;

	if (libvirt_took_it && !vv_virt_nodedev_reattach(nodedev, &error)) {
		g_autofree char *why = g_strdelimit(g_strdup(error->message), "\n", ' ');

		g_clear_error(&error);
		result = vv_recover(ctx, address, NULL, &error);
		now = vv_cli_nodedev_driver_now(ctx, address);
		return g_strdup_printf(_("libvirt could not give %1$s back either (%2$s); it is on %3$s now%4$s"),
				       address, why, now, result ? "." : _(", and its record is kept: run 'vfio-variant recover' on it."));
	}
	result = vv_recover(ctx, address, NULL, &error);
	now = vv_cli_nodedev_driver_now(ctx, address);
	if (!result)
		return g_strdup_printf(_("%1$s is on %2$s now; returning it to its native driver failed: %3$s"),
				       address, now, error->message);
	return g_strdup_printf(_("%1$s is back on %2$s."), address, now);
}

/* libvirt >= 9.7: libvirt binds the chosen driver by its name. A variant
 * that libvirt could not bind gives way to vfio-pci unless it was named. */
static int
vv_cli_nodedev_detach_by_name(vv_ctx *ctx, virNodeDevicePtr nodedev, const char *address,
			      const vv_bind_options *options, gboolean named, vv_bind_result **adopted)
{
	const char *name = virNodeDeviceGetName(nodedev);
	g_autoptr(vv_bind_result) prepared = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) retry = NULL;
	g_autofree char *where = NULL;

	if (!(prepared = vv_detach_prepare(ctx, address, options, &error)))
		return vv_cli_error(g_steal_pointer(&error));
	vv_cli_nodedev_print(prepared);
	if (!vv_virt_nodedev_detach(nodedev, vv_bind_result_get_driver(prepared), &error)) {
		if (named || g_strcmp0(vv_bind_result_get_driver(prepared), "vfio-pci") == 0 ||
		    !vv_virt_nodedev_detach(nodedev, "vfio-pci", &retry)) {
			where = vv_cli_nodedev_roll_back(ctx, nodedev, address, FALSE);
			return vv_cli_nodedev_fail("%s\n%s%s%s", error->message, retry ? retry->message : "",
						   retry ? "\n" : "", where);
		}
		g_print(_("libvirt could not bind %1$s (%2$s); it bound the generic vfio-pci instead.\n"),
			vv_bind_result_get_driver(prepared), g_strdelimit(error->message, "\n", ' '));
	}
	g_clear_error(&error);
	if (!(*adopted = vv_detach_adopt(ctx, address, options, &error))) {
		where = vv_cli_nodedev_roll_back(ctx, nodedev, address, TRUE);
		return vv_cli_nodedev_fail(_("libvirt detached %1$s, but %2$s\n%3$s"), name, error->message, where);
	}
	return VV_CLI_EXIT_OK;
}

/* libvirt < 9.7: libvirt binds vfio-pci; the binding engine then moves the
 * device to the chosen driver. If that fails it stays on vfio-pci,
 * detached as far as libvirt knows. */
static int
vv_cli_nodedev_detach_then_move(vv_ctx *ctx, virNodeDevicePtr nodedev, const char *address,
				const vv_bind_options *options, vv_bind_options *generic,
				vv_bind_result **moved)
{
	const char *name = virNodeDeviceGetName(nodedev);
	g_autoptr(vv_bind_result) prepared = NULL;
	g_autoptr(vv_bind_result) adopted = NULL;
	g_autoptr(vv_record) record = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *where = NULL;

	if (!(prepared = vv_detach_prepare(ctx, address, generic, &error)))
		return vv_cli_error(g_steal_pointer(&error));
	vv_cli_nodedev_print(prepared);
	if (!vv_virt_nodedev_detach(nodedev, "vfio", &error)) {
		where = vv_cli_nodedev_roll_back(ctx, nodedev, address, FALSE);
		return vv_cli_nodedev_fail("%s\n%s", error->message, where);
	}
	if (!(adopted = vv_detach_adopt(ctx, address, generic, &error))) {
		where = vv_cli_nodedev_roll_back(ctx, nodedev, address, TRUE);
		return vv_cli_nodedev_fail(_("libvirt detached %1$s, but %2$s\n%3$s"), name, error->message, where);
	}
	g_print(_("libvirt bound vfio-pci, the only VFIO driver it binds before 9.7.0; vfio-variant moves %s on:\n"), name);
	if (!(*moved = vv_rebind(ctx, address, options, &error))) {
		g_autofree char *now = vv_cli_nodedev_driver_now(ctx, address);
		g_autoptr(GError) unreadable = NULL;

		/* Only a missing record is "no record": one that cannot be read
		 * names no native driver, and a reattach would refuse it. */
		record = vv_record_load(ctx, address, &unreadable);
		if (!record && !g_error_matches(unreadable, VV_ERROR, VV_ERROR_NOT_FOUND))
			return vv_cli_nodedev_fail(_("Failed to bind the chosen VFIO driver to %1$s\n%2$s\n%3$s stays on %4$s, detached by libvirt, and its record cannot be read: %5$s"),
						   name, error->message, name, now, unreadable->message);
		return vv_cli_nodedev_fail(_("Failed to bind the chosen VFIO driver to %1$s\n%2$s\n%3$s stays on %4$s, detached by libvirt: 'vfio-variant nodedev-reattach %3$s' gives it back to %5$s."),
					   name, error->message, name, now,
					   record && vv_record_get_original_driver(record) ?
					   vv_record_get_original_driver(record) : _("its native driver"));
	}
	return VV_CLI_EXIT_OK;
}

/* What both commands open before they change anything: the device's
 * address, libvirt's node device on a read-write connection and the
 * daemon's version (which decides the strategy), and the context. */
typedef struct {
	char *address;
	virConnectPtr conn;
	virNodeDevicePtr nodedev;
	const char *name; /* libvirt's node-device name */
	unsigned long version;
	vv_virt_strategy strategy;
	guint timeout_ms; /* --timeout, checked */
	vv_ctx *ctx;
} vv_cli_nodedev_target;

static void
vv_cli_nodedev_target_clear(vv_cli_nodedev_target *target)
{
	g_clear_pointer(&target->ctx, vv_ctx_unref);
	g_clear_pointer(&target->nodedev, virNodeDeviceFree);
	g_clear_pointer(&target->conn, virConnectClose);
	g_free(target->address);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(vv_cli_nodedev_target, vv_cli_nodedev_target_clear)

/* Bad input first (exit status 2, nothing asked of libvirt), then libvirt
 * (its errors as virsh shows them). */
static int
vv_cli_nodedev_open(const vv_cli_globals *globals, const char *device, const char *uri, int timeout,
		    vv_cli_nodedev_target *target)
{
	g_autoptr(GError) error = NULL;

	if (!vv_cli_timeout_ms("--timeout", timeout, &target->timeout_ms))
		return VV_CLI_EXIT_USAGE;
	if (!(target->address = vv_address_parse(device, &error)))
		return vv_cli_error(g_steal_pointer(&error));
	target->conn = vv_virt_connect(uri, FALSE, &error);
	if (!target->conn || !(target->nodedev = vv_virt_lookup_nodedev(target->conn, target->address, &error)) ||
	    !vv_virt_get_version(target->conn, &target->version, &error))
		return vv_cli_virt_error(g_steal_pointer(&error));
	target->name = virNodeDeviceGetName(target->nodedev);
	target->strategy = vv_virt_strategy_for_version(target->version);
	if (!(target->ctx = vv_cli_open(globals, &error)))
		return vv_cli_error(g_steal_pointer(&error));
	return VV_CLI_EXIT_OK;
}

int
vv_cli_nodedev_detach(const vv_cli_globals *globals, int argc, char **argv)
{
	g_autofree char *uri = NULL;
	g_autofree char *driver = NULL;
	gboolean force = FALSE;
	int timeout = 10;
	GOptionEntry entries[] = {
		{ "connect", 'c', 0, G_OPTION_ARG_STRING, &uri, N_("libvirt connection URI (default: LIBVIRT_DEFAULT_URI, then libvirt's default)"), N_("URI") },
		{ "driver", 0, 0, G_OPTION_ARG_STRING, &driver,
		  N_("Bind this driver (module or driver name) instead of the selected one; no fallback"), N_("NAME") },
		{ "force", 0, 0, G_OPTION_ARG_NONE, &force, N_("Detach even when the host uses the device"), NULL },
		{ "timeout", 0, 0, G_OPTION_ARG_INT, &timeout, N_("Wait at most SECONDS for the IOMMU group's lock (default 10)"), N_("SECONDS") },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new(_("DEVICE"));
	g_auto(vv_cli_nodedev_target) target = { 0 };
	g_autofree char *version_text = NULL;
	g_autoptr(vv_bind_options) options = vv_bind_options_new();
	g_autoptr(vv_bind_options) generic = vv_bind_options_new();
	g_autoptr(vv_bind_result) result = NULL;
	g_autoptr(vv_record) record = NULL;
	g_autoptr(GError) local = NULL;
	int status;

	g_option_context_set_summary(context, _("Detach DEVICE through libvirt, so that libvirt knows it is detached, and bind the VFIO driver chosen for it."));
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	if (!vv_cli_parse(context, &argc, &argv, 1))
		return VV_CLI_EXIT_USAGE;
	if (driver && !vv_name_check(driver, VV_NAME_DRIVER, "--driver", &local))
		return vv_cli_error(g_steal_pointer(&local));
	if ((status = vv_cli_nodedev_open(globals, argv[1], uri, timeout, &target)) != VV_CLI_EXIT_OK)
		return status;
	version_text = vv_virt_version_string(target.version);

	for (guint i = 0; i < 2; i++) {
		vv_bind_options *each = i ? generic : options;

		vv_bind_options_set_requester(each, VV_REQUESTER_LIBVIRT);
		vv_bind_options_set_lock_timeout(each, target.timeout_ms);
	}
	vv_bind_options_set_driver(options, driver);
	/* A named driver that refuses gets no fallback. */
	vv_bind_options_set_flags(options, (force ? VV_BIND_FORCE : 0) | (driver ? VV_BIND_STRICT : 0));
	vv_bind_options_set_flags(generic, VV_BIND_GENERIC | (force ? VV_BIND_FORCE : 0));

	if (target.strategy.detach_by_driver_name)
		status = vv_cli_nodedev_detach_by_name(target.ctx, target.nodedev, target.address, options, driver != NULL, &result);
	else
		status = vv_cli_nodedev_detach_then_move(target.ctx, target.nodedev, target.address, options, generic, &result);
	if (status != VV_CLI_EXIT_OK)
		return status;

	vv_cli_nodedev_print(result);
	/* Only a missing record is "no record": one that cannot be read back
	 * is no proof of the native driver, and a reattach would refuse it. */
	record = vv_record_load(target.ctx, target.address, &local);
	if (!record && !g_error_matches(local, VV_ERROR, VV_ERROR_NOT_FOUND))
		return vv_cli_nodedev_fail(_("Device %1$s is detached (libvirt %2$s) and on %3$s, but its record cannot be read back: %4$s"),
					   target.name, version_text, vv_bind_result_get_driver(result), local->message);
	if (record && vv_record_get_original_driver(record))
		g_print(_("Device %1$s detached (libvirt %2$s): on %3$s, native driver %4$s recorded.\n"),
			target.name, version_text, vv_bind_result_get_driver(result),
			vv_record_get_original_driver(record));
	else
		g_print(_("Device %1$s detached (libvirt %2$s): on %3$s; it had no driver before.\n"),
			target.name, version_text, vv_bind_result_get_driver(result));
	return VV_CLI_EXIT_OK;
}

/*
 * libvirt refused the reattach after the device was moved to vfio-pci for
 * it: back to FROM, the VFIO driver it was on, with its record as it was
 * (requester, domain), so that a failed command leaves the device where it
 * found it. Returns a sentence saying where the device is now.
 */
static char *
vv_cli_nodedev_move_back(vv_ctx *ctx, const char *address, const vv_record *record, const char *from, guint timeout_ms)
{
	g_autoptr(vv_bind_options) options = vv_bind_options_new();
	g_autoptr(vv_bind_result) result = NULL;
	g_autoptr(GError) error = NULL;

	vv_bind_options_set_driver(options, from);
	vv_bind_options_set_requester(options, vv_record_get_requester(record));
	vv_bind_options_set_domain(options, vv_record_get_domain(record), vv_record_is_managed(record));
	vv_bind_options_set_lock_timeout(options, timeout_ms);
	vv_bind_options_set_flags(options, VV_BIND_STRICT);
	if (!(result = vv_rebind(ctx, address, options, &error))) {
		g_autofree char *now = vv_cli_nodedev_driver_now(ctx, address);

		return g_strdup_printf(_("%1$s is on %2$s now: returning it to %3$s, where it was, failed: %4$s"),
				       address, now, from, error->message);
	}
	vv_cli_nodedev_print(result);
	return g_strdup_printf(_("%1$s is back on %2$s, where it was before this command."),
			       address, vv_bind_result_get_driver(result));
}

int
vv_cli_nodedev_reattach(const vv_cli_globals *globals, int argc, char **argv)
{
	g_autofree char *uri = NULL;
	int timeout = 10;
	GOptionEntry entries[] = {
		{ "connect", 'c', 0, G_OPTION_ARG_STRING, &uri, N_("libvirt connection URI (default: LIBVIRT_DEFAULT_URI, then libvirt's default)"), N_("URI") },
		{ "timeout", 0, 0, G_OPTION_ARG_INT, &timeout, N_("Wait at most SECONDS for the IOMMU group's lock (default 10)"), N_("SECONDS") },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new(_("DEVICE"));
	g_auto(vv_cli_nodedev_target) target = { 0 };
	g_autoptr(GError) error = NULL;
	g_autofree char *user = NULL;
	g_autofree char *after_libvirt = NULL;
	g_autofree char *moved_from = NULL;
	g_autoptr(vv_record) record = NULL;
	g_autoptr(vv_device) device = NULL;
	g_autoptr(vv_bind_options) options = vv_bind_options_new();
	g_autoptr(vv_bind_result) result = NULL;
	const char *name, *address, *native;
	vv_ctx *ctx;
	int status;

	g_option_context_set_summary(context, _("Give DEVICE back through libvirt, then make sure it is on the driver it had before it was detached."));
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	if (!vv_cli_parse(context, &argc, &argv, 1))
		return VV_CLI_EXIT_USAGE;
	if ((status = vv_cli_nodedev_open(globals, argv[1], uri, timeout, &target)) != VV_CLI_EXIT_OK)
		return status;
	ctx = target.ctx;
	address = target.address;
	name = target.name;
	vv_bind_options_set_requester(options, VV_REQUESTER_LIBVIRT);
	vv_bind_options_set_lock_timeout(options, target.timeout_ms);
	/* A record naming a domain does not stop it: libvirt itself says
	 * below whether a running domain uses the device. */
	vv_bind_options_set_flags(options, VV_BIND_FORCE);

	record = vv_record_load(ctx, address, &error);
	if (!record && !g_error_matches(error, VV_ERROR, VV_ERROR_NOT_FOUND))
		return vv_cli_error(g_steal_pointer(&error));
	g_clear_error(&error);

	/* Nothing moves while a guest holds the device: libvirt would refuse
	 * only after the move. */
	user = vv_virt_find_domain_using(target.conn, address, &error);
	if (error)
		return vv_cli_nodedev_fail(_("Failed to re-attach device %1$s\n%2$s"), name, error->message);
	if (user)
		return vv_cli_nodedev_fail(_("Failed to re-attach device %1$s\nPCI device %2$s is in use by the running domain %3$s; shut it down or detach the hostdev from it first."),
					   name, address, user);

	/* Only to a stub driver this libvirt knows does its reattach apply. A
	 * record cut short is settled by vv_reattach() below instead. */
	if (!(device = vv_device_new(ctx, address, &error)))
		return vv_cli_error(g_steal_pointer(&error));
	if (record && vv_record_is_complete(record) && target.strategy.reattach_from_generic && vv_device_is_vfio_bound(device) &&
	    g_strcmp0(vv_device_get_driver(device), "vfio-pci") != 0) {
		g_autoptr(vv_bind_options) generic = vv_bind_options_new();
		g_autoptr(vv_bind_result) moved = NULL;

		vv_bind_options_set_requester(generic, VV_REQUESTER_LIBVIRT);
		vv_bind_options_set_lock_timeout(generic, target.timeout_ms);
		vv_bind_options_set_flags(generic, VV_BIND_GENERIC | VV_BIND_STRICT);
		if (!(moved = vv_rebind(ctx, address, generic, &error)))
			return vv_cli_nodedev_fail(_("Failed to re-attach device %1$s\nmoving it to vfio-pci, the driver libvirt gives back, failed: %2$s"),
						   name, error->message);
		vv_cli_nodedev_print(moved);
		moved_from = g_strdup(vv_device_get_driver(device));
	}

	if (!vv_virt_nodedev_reattach(target.nodedev, &error)) {
		g_autofree char *where = NULL;

		if (moved_from) {
			where = vv_cli_nodedev_move_back(ctx, address, record, moved_from, target.timeout_ms);
		} else {
			g_autofree char *now = vv_cli_nodedev_driver_now(ctx, address);

			where = g_strdup_printf(_("%1$s stays on %2$s."), name, now);
		}
		return vv_cli_nodedev_fail("%s\n%s", error->message, where);
	}
	after_libvirt = vv_cli_nodedev_driver_now(ctx, address);

	if (!record) {
		g_print(_("Warning: %s has no record, so its native driver is unknown; libvirt's reprobe decided.\n"), address);
		g_print(_("Device %1$s re-attached: on %2$s.\n"), name, after_libvirt);
		return VV_CLI_EXIT_OK;
	}
	/* Verify, and repair what libvirt left undone: its reprobe loads no
	 * module and knows no native driver. */
	native = vv_record_get_original_driver(record);
	if (!(result = vv_reattach(ctx, address, options, &error)))
		return vv_cli_nodedev_fail(_("libvirt re-attached device %1$s, but it is on %2$s, not on its native driver %3$s\n%4$s"),
					   name, after_libvirt, native ? native : _("(none)"), error->message);
	if (g_strcmp0(after_libvirt, native ? native : _("no driver")) != 0) {
		g_print(_("libvirt left %1$s on %2$s; vfio-variant gave it back to %3$s:\n"), address, after_libvirt,
			native ? native : _("no driver"));
		for (const char *const *action = vv_bind_result_get_actions(result); *action; action++)
			g_print("  %s\n", *action);
	}
	g_print(_("Device %1$s re-attached: on %2$s, its driver before the detach.\n"), name,
		native ? native : _("no driver"));
	return VV_CLI_EXIT_OK;
}
