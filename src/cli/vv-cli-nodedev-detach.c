/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nodedev-detach and nodedev-reattach: the words of the libvirt path.
 * vv_virt_detach() and vv_virt_reattach() (src/virt) run the protocol,
 * version by version, and return its outcome; this file only turns the
 * outcome and the error's code into what a person reads, as virsh would.
 */
#include <stdarg.h>

#include "vv-cli-virt.h"

/* Lines as virsh prints them: "error: " before each. Exit status STATUS. */
static int G_GNUC_PRINTF(2, 3)
vv_cli_nodedev_fail(int status, const char *format, ...)
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
	return status;
}

/* The library's actions, indented. */
static void
vv_cli_nodedev_print_actions(const vv_bind_result *result)
{
	const GPtrArray *actions = vv_bind_result_get_actions(result);

	for (guint i = 0; i < actions->len; i++)
		g_print("  %s\n", (const char *)g_ptr_array_index(actions, i));
}

/* The library's actions, then its sentences. */
static void
vv_cli_nodedev_print(const vv_bind_result *result)
{
	const GPtrArray *messages;

	if (!result)
		return;
	vv_cli_nodedev_print_actions(result);
	messages = vv_bind_result_get_messages(result);
	for (guint i = 0; i < messages->len; i++)
		g_print("%s\n", (const char *)g_ptr_array_index(messages, i));
}

/* A driver the outcome read, in words. */
static const char *
vv_cli_nodedev_driver_words(const vv_virt_driver *driver)
{
	if (!driver->readable)
		return _("an unknown driver (the device cannot be read)");
	return driver->driver ? driver->driver : _("no driver");
}

/* A native driver (NULL: the device had none), in words. */
static const char *
vv_cli_nodedev_native_words(const char *native)
{
	return native ? native : _("no driver");
}

/* Where a failed detach left the device, in one sentence. */
static char *
vv_cli_nodedev_rollback_words(const vv_virt_outcome *outcome, const char *address)
{
	const char *now = vv_cli_nodedev_driver_words(&outcome->now);

	if (outcome->release_error) {
		g_autofree char *why = g_strdelimit(g_strdup(outcome->release_error), "\n", ' ');

		if (outcome->rollback == VV_VIRT_ROLLBACK_DONE)
			return g_strdup_printf(_("libvirt could not give %1$s back either (%2$s); it is on %3$s now."),
					       address, why, now);
		return g_strdup_printf(_("libvirt could not give %1$s back either (%2$s); it is on %3$s now, and its record is kept: run 'vfio-variant recover' on it."),
				       address, why, now);
	}
	if (outcome->rollback == VV_VIRT_ROLLBACK_FAILED)
		return g_strdup_printf(_("%1$s is on %2$s now; returning it to its native driver failed: %3$s"),
				       address, now, outcome->rollback_error);
	return g_strdup_printf(_("%1$s is back on %2$s."), address, now);
}

/* What nodedev-detach printed as it went, in the protocol's order. */
static void
vv_cli_nodedev_detach_report(const vv_virt_outcome *outcome, const char *name)
{
	vv_cli_nodedev_print(outcome->prepared);
	if (outcome->fallback_reason) {
		g_autofree char *why = g_strdelimit(g_strdup(outcome->fallback_reason), "\n", ' ');

		g_print(_("libvirt could not bind %1$s (%2$s); it bound the generic vfio-pci instead.\n"),
			vv_bind_result_get_driver(outcome->prepared), why);
	}
	if (outcome->adopted && !outcome->strategy.detach_by_driver_name)
		g_print(_("libvirt bound vfio-pci, the only VFIO driver it binds before 9.7.0; vfio-variant moves %s on:\n"), name);
}

/* A failed nodedev-detach: the error's code and the outcome say what. */
static int
vv_cli_nodedev_detach_failed(const vv_virt_outcome *outcome, const vv_virt_target *target, GError *error)
{
	g_autoptr(GError) owned = error;
	g_autofree char *where = NULL;
	g_autofree char *version = vv_virt_version_string(outcome->version);
	int status = vv_cli_exit_status(error);

	if (error->domain != VV_VIRT_ERROR)
		return vv_cli_error_device(g_steal_pointer(&owned), target->address);
	switch ((vv_virt_error_code)error->code) {
	case VV_VIRT_ERROR_DETACH_REFUSED:
		where = vv_cli_nodedev_rollback_words(outcome, target->address);
		return vv_cli_nodedev_fail(status, "%s\n%s", error->message, where);
	case VV_VIRT_ERROR_UNVERIFIED:
		where = vv_cli_nodedev_rollback_words(outcome, target->address);
		return vv_cli_nodedev_fail(status, _("libvirt detached %1$s, but %2$s\n%3$s"), target->name,
					   error->message, where);
	case VV_VIRT_ERROR_MOVE_FAILED:
		if (outcome->record_state == VV_VIRT_RECORD_UNREADABLE)
			return vv_cli_nodedev_fail(status, _("Failed to bind the chosen VFIO driver to %1$s\n%2$s\n%3$s stays on %4$s, detached by libvirt, and its record cannot be read: %5$s"),
						   target->name, error->message, target->name,
						   vv_cli_nodedev_driver_words(&outcome->now), outcome->record_error);
		return vv_cli_nodedev_fail(status, _("Failed to bind the chosen VFIO driver to %1$s\n%2$s\n%3$s stays on %4$s, detached by libvirt: 'vfio-variant nodedev-reattach %3$s' gives it back to %5$s."),
					   target->name, error->message, target->name,
					   vv_cli_nodedev_driver_words(&outcome->now),
					   outcome->record && vv_record_get_original_driver(outcome->record) ?
					   vv_record_get_original_driver(outcome->record) : _("its native driver"));
	case VV_VIRT_ERROR_RECORD:
		return vv_cli_nodedev_fail(status, _("Device %1$s is detached (libvirt %2$s) and on %3$s, but its record cannot be read back: %4$s"),
					   target->name, version, vv_cli_nodedev_driver_words(&outcome->now),
					   error->message);
	case VV_VIRT_ERROR_CONNECT:
	case VV_VIRT_ERROR_NOT_LOCAL:
	case VV_VIRT_ERROR_NO_NODEDEV:
	case VV_VIRT_ERROR_VERSION:
	case VV_VIRT_ERROR_DOMAINS:
	case VV_VIRT_ERROR_IN_USE:
	case VV_VIRT_ERROR_REATTACH_REFUSED:
	case VV_VIRT_ERROR_NOT_RESTORED:
		break;
	}
	return vv_cli_virt_error(g_steal_pointer(&owned));
}

/* What both commands take and open: the options they share (where libvirt
 * is, how long to wait for the group's lock), the device as libvirt names
 * it, the options for src/virt, and the context. */
typedef struct {
	char *uri;
	int timeout;
	vv_virt_target target;
	vv_virt_options options;
	vv_ctx *ctx;
} vv_cli_nodedev_run;

static void
vv_cli_nodedev_run_clear(vv_cli_nodedev_run *run)
{
	g_clear_pointer(&run->uri, g_free);
	vv_virt_target_clear(&run->target);
	g_clear_pointer(&run->ctx, vv_ctx_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(vv_cli_nodedev_run, vv_cli_nodedev_run_clear)

/* Parse ARGV (one DEVICE) with the command's OWN options (NULL: none)
 * between the shared --connect and --timeout, in that order in --help. */
static gboolean
vv_cli_nodedev_parse(GOptionContext *context, const GOptionEntry *own, vv_cli_nodedev_run *run, int *argc,
		     char ***argv)
{
	const GOptionEntry first[] = {
		{ "connect", 'c', 0, G_OPTION_ARG_STRING, &run->uri, N_("libvirt connection URI (default: LIBVIRT_DEFAULT_URI, then libvirt's default)"), N_("URI") },
		{ NULL },
	};
	const GOptionEntry last[] = {
		{ "timeout", 0, 0, G_OPTION_ARG_INT, &run->timeout, N_("Wait at most SECONDS for the IOMMU group's lock (default 10)"), N_("SECONDS") },
		{ NULL },
	};

	run->timeout = 10;
	g_option_context_add_main_entries(context, first, GETTEXT_PACKAGE);
	if (own)
		g_option_context_add_main_entries(context, own, GETTEXT_PACKAGE);
	g_option_context_add_main_entries(context, last, GETTEXT_PACKAGE);
	return vv_cli_parse(context, argc, argv, 1);
}

/* What both commands open before they change anything: bad input first
 * (exit status 2, nothing asked of libvirt), then libvirt (its errors as
 * virsh shows them), then the context. */
static int
vv_cli_nodedev_open(const vv_cli_globals *globals, const char *device, vv_cli_nodedev_run *run)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *address = NULL;

	if (!vv_cli_timeout_ms("--timeout", run->timeout, &run->options.timeout_ms))
		return VV_CLI_EXIT_USAGE;
	if (!(address = vv_address_parse(device, &error)))
		return vv_cli_error(g_steal_pointer(&error));
	if (!vv_virt_target_open(&run->target, run->uri, address, &error))
		return vv_cli_virt_error(g_steal_pointer(&error));
	if (!(run->ctx = vv_cli_open(globals, &error)))
		return vv_cli_error(g_steal_pointer(&error));
	return VV_CLI_EXIT_OK;
}

int
vv_cli_nodedev_detach(const vv_cli_globals *globals, int argc, char **argv)
{
	g_autofree char *driver = NULL;
	gboolean force = FALSE;
	GOptionEntry entries[] = {
		{ "driver", 0, 0, G_OPTION_ARG_STRING, &driver,
		  N_("Bind this driver (module or driver name) instead of the selected one; no fallback"), N_("NAME") },
		{ "force", 0, 0, G_OPTION_ARG_NONE, &force, N_("Detach even when the host uses the device"), NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new(_("DEVICE"));
	g_auto(vv_cli_nodedev_run) run = { 0 };
	const vv_virt_target *target = &run.target;
	g_autoptr(vv_virt_outcome) outcome = NULL;
	g_autofree char *version = NULL;
	g_autoptr(GError) error = NULL;
	const char *native;
	int status;

	g_option_context_set_summary(context, _("Detach DEVICE through libvirt, so that libvirt knows it is detached, and bind the VFIO driver chosen for it."));
	if (!vv_cli_nodedev_parse(context, entries, &run, &argc, &argv))
		return VV_CLI_EXIT_USAGE;
	if (driver && !vv_name_check(driver, VV_NAME_DRIVER, "--driver", &error))
		return vv_cli_error(g_steal_pointer(&error));
	if ((status = vv_cli_nodedev_open(globals, argv[1], &run)) != VV_CLI_EXIT_OK)
		return status;
	run.options.driver = driver;
	run.options.force = force;

	if (!vv_virt_detach(run.ctx, target, &run.options, &outcome, &error)) {
		/* What was done before the failure, as on success; the last
		 * step's actions only when the record alone failed. */
		vv_cli_nodedev_detach_report(outcome, target->name);
		if (g_error_matches(error, VV_VIRT_ERROR, VV_VIRT_ERROR_RECORD))
			vv_cli_nodedev_print(outcome->final);
		return vv_cli_nodedev_detach_failed(outcome, target, g_steal_pointer(&error));
	}
	vv_cli_nodedev_detach_report(outcome, target->name);
	vv_cli_nodedev_print(outcome->final);
	version = vv_virt_version_string(outcome->version);
	native = outcome->record ? vv_record_get_original_driver(outcome->record) : NULL;
	if (native)
		g_print(_("Device %1$s detached (libvirt %2$s): on %3$s, native driver %4$s recorded.\n"),
			target->name, version, vv_bind_result_get_driver(outcome->final), native);
	else
		g_print(_("Device %1$s detached (libvirt %2$s): on %3$s; it had no driver before.\n"),
			target->name, version, vv_bind_result_get_driver(outcome->final));
	return VV_CLI_EXIT_OK;
}

/* Where a refused reattach left the device, in one sentence. */
static char *
vv_cli_nodedev_move_back_words(const vv_virt_outcome *outcome, const vv_virt_target *target)
{
	if (!outcome->moved_from)
		return g_strdup_printf(_("%1$s stays on %2$s."), target->name, vv_cli_nodedev_driver_words(&outcome->now));
	if (!outcome->moved_back)
		return g_strdup_printf(_("%1$s is on %2$s now: returning it to %3$s, where it was, failed: %4$s"),
				       target->address, vv_cli_nodedev_driver_words(&outcome->now), outcome->moved_from,
				       outcome->move_back_error);
	return g_strdup_printf(_("%1$s is back on %2$s, where it was before this command."),
			       target->address, vv_bind_result_get_driver(outcome->moved_back));
}

/* A failed nodedev-reattach: the error's code and the outcome say what. */
static int
vv_cli_nodedev_reattach_failed(const vv_virt_outcome *outcome, const vv_virt_target *target, GError *error)
{
	g_autoptr(GError) owned = error;
	g_autofree char *where = NULL;
	int status = vv_cli_exit_status(error);

	if (error->domain != VV_VIRT_ERROR)
		return vv_cli_error_device(g_steal_pointer(&owned), target->address);
	switch ((vv_virt_error_code)error->code) {
	case VV_VIRT_ERROR_DOMAINS:
		return vv_cli_nodedev_fail(status, _("Failed to re-attach device %1$s\n%2$s"), target->name, error->message);
	case VV_VIRT_ERROR_IN_USE:
		return vv_cli_nodedev_fail(status, _("Failed to re-attach device %1$s\nPCI device %2$s is in use by the running domain %3$s; shut it down or detach the hostdev from it first."),
					   target->name, target->address, outcome->domain);
	case VV_VIRT_ERROR_MOVE_FAILED:
		return vv_cli_nodedev_fail(status, _("Failed to re-attach device %1$s\nmoving it to vfio-pci, the driver libvirt gives back, failed: %2$s"),
					   target->name, error->message);
	case VV_VIRT_ERROR_REATTACH_REFUSED:
		vv_cli_nodedev_print(outcome->moved_back);
		where = vv_cli_nodedev_move_back_words(outcome, target);
		return vv_cli_nodedev_fail(status, "%s\n%s", error->message, where);
	case VV_VIRT_ERROR_NOT_RESTORED:
		return vv_cli_nodedev_fail(status, _("libvirt re-attached device %1$s, but it is on %2$s, not on its native driver %3$s\n%4$s"),
					   target->name, vv_cli_nodedev_driver_words(&outcome->after_libvirt),
					   outcome->native_driver ? outcome->native_driver : _("(none)"), error->message);
	case VV_VIRT_ERROR_CONNECT:
	case VV_VIRT_ERROR_NOT_LOCAL:
	case VV_VIRT_ERROR_NO_NODEDEV:
	case VV_VIRT_ERROR_VERSION:
	case VV_VIRT_ERROR_DETACH_REFUSED:
	case VV_VIRT_ERROR_UNVERIFIED:
	case VV_VIRT_ERROR_RECORD:
		break;
	}
	return vv_cli_virt_error(g_steal_pointer(&owned));
}

int
vv_cli_nodedev_reattach(const vv_cli_globals *globals, int argc, char **argv)
{
	g_autoptr(GOptionContext) context = g_option_context_new(_("DEVICE"));
	g_auto(vv_cli_nodedev_run) run = { 0 };
	const vv_virt_target *target = &run.target;
	g_autoptr(vv_virt_outcome) outcome = NULL;
	g_autoptr(GError) error = NULL;
	const char *after_libvirt;
	int status;

	g_option_context_set_summary(context, _("Give DEVICE back through libvirt, then make sure it is on the driver it had before it was detached."));
	if (!vv_cli_nodedev_parse(context, NULL, &run, &argc, &argv))
		return VV_CLI_EXIT_USAGE;
	if ((status = vv_cli_nodedev_open(globals, argv[1], &run)) != VV_CLI_EXIT_OK)
		return status;

	if (!vv_virt_reattach(run.ctx, target, &run.options, &outcome, &error)) {
		vv_cli_nodedev_print(outcome->to_generic);
		return vv_cli_nodedev_reattach_failed(outcome, target, g_steal_pointer(&error));
	}
	vv_cli_nodedev_print(outcome->to_generic);
	after_libvirt = vv_cli_nodedev_driver_words(&outcome->after_libvirt);
	if (!outcome->had_record) {
		g_print(_("Warning: %s has no record, so its native driver is unknown; libvirt's reprobe decided.\n"), target->address);
		g_print(_("Device %1$s re-attached: on %2$s.\n"), target->name, after_libvirt);
		return VV_CLI_EXIT_OK;
	}
	if (outcome->repaired) {
		g_print(_("libvirt left %1$s on %2$s; vfio-variant gave it back to %3$s:\n"), target->address, after_libvirt,
			vv_cli_nodedev_native_words(outcome->native_driver));
		vv_cli_nodedev_print_actions(outcome->restored);
	}
	g_print(_("Device %1$s re-attached: on %2$s, its driver before the detach.\n"), target->name,
		vv_cli_nodedev_native_words(outcome->native_driver));
	return VV_CLI_EXIT_OK;
}
