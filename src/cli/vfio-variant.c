/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-variant: the command line. Global options, then a command. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "vv-cli.h"

static const struct {
	const char *name;
	int (*run)(const vv_cli_globals *globals, int argc, char **argv);
	const char *summary;
} vv_cli_commands[] = {
	{ "list", vv_cli_list, N_("Show every PCI device and the VFIO driver it would get.") },
	{ "explain", vv_cli_explain, N_("Show every candidate VFIO driver of a device and why one wins.") },
	{ "detach", vv_cli_detach, N_("Detach a device from its driver and bind its VFIO driver.") },
	{ "reattach", vv_cli_reattach, N_("Give a detached device back to its native driver.") },
	{ "status", vv_cli_status, N_("Show what is detached, to what, since when, and from what.") },
	{ "recover", vv_cli_recover, N_("Settle a detach or reattach that was cut short.") },
	{ "nodedev-list", vv_cli_nodedev_list, N_("Show libvirt's PCI node devices and the VFIO driver each would get.") },
	{ "nodedev-dumpxml", vv_cli_nodedev_dumpxml, N_("Show libvirt's node-device XML with the VFIO driver choice.") },
	{ "nodedev-detach", vv_cli_nodedev_detach, N_("Detach a device through libvirt and bind its VFIO driver.") },
	{ "nodedev-reattach", vv_cli_nodedev_reattach, N_("Give a device back through libvirt, to its native driver.") },
	{ "hook", vv_cli_hook, N_("Run a stage of the libvirt qemu hook on a domain XML (libvirt runs vfio-variant-hook).") },
};

/* The message with each of its lines escaped (vv_text_escape()): a message's
 * own line breaks stay, but what it quotes from the command line (a
 * --sysroot or --config path, say) cannot send a terminal's escape
 * sequence. */
static void
vv_cli_escape_message(GError *error)
{
	g_auto(GStrv) lines = g_strsplit(error->message, "\n", -1);

	for (guint i = 0; lines[i]; i++) {
		char *shown = vv_text_escape(lines[i]);

		g_free(lines[i]);
		lines[i] = shown;
	}
	g_free(error->message);
	error->message = g_strjoinv("\n", lines);
}

int
vv_cli_error_device(GError *error, const char *device)
{
	int status = vv_cli_exit_status(error);
	g_autofree char *hint = vv_cli_hint(error, device);

	vv_cli_escape_message(error);
	g_printerr(_("vfio-variant: error: %s\n"), error->message);
	if (hint) {
		g_autofree char *shown = vv_text_escape(hint);

		g_printerr(_("vfio-variant: hint: %s\n"), shown);
	}
	g_error_free(error);
	return status;
}

int
vv_cli_error(GError *error)
{
	return vv_cli_error_device(error, NULL);
}

int
vv_cli_usage(const char *format, ...)
{
	g_autofree char *message = NULL;
	g_autofree char *shown = NULL;
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	/* What it quotes came from the command line: escaped, it can print
	 * neither a terminal's escape sequence nor a line of its own. */
	shown = vv_text_escape(message);
	g_printerr(_("vfio-variant: %s\n"), shown);
	g_printerr(_("Run 'vfio-variant --help' for usage.\n"));
	return VV_CLI_EXIT_USAGE;
}

/* The largest --timeout whose milliseconds fit the lock's guint: seconds
 * times 1000 in 32 bits would wrap (4294968 s gave 704 ms). */
#define VV_CLI_TIMEOUT_MAX (G_MAXUINT / 1000)

gboolean
vv_cli_timeout_ms(const char *option, gint64 seconds, guint *ms)
{
	if (seconds < 0 || seconds > VV_CLI_TIMEOUT_MAX) {
		vv_cli_usage(_("%1$s takes a number of seconds from 0 to %2$u; %3$lld is out of range."),
			     option, (guint)VV_CLI_TIMEOUT_MAX, (long long)seconds);
		return FALSE;
	}
	*ms = (guint)seconds * 1000;
	return TRUE;
}

/* Parse a command's options; it must be left with EXPECTED_ARGS operands. */
gboolean
vv_cli_parse(GOptionContext *context, int *argc, char ***argv, int expected_args)
{
	g_autoptr(GError) error = NULL;

	if (!g_option_context_parse(context, argc, argv, &error)) {
		vv_cli_usage("%s", error->message);
		return FALSE;
	}
	if (*argc - 1 != expected_args) {
		vv_cli_usage(expected_args ? _("'%s' takes exactly one device.") : _("'%s' takes no arguments."),
			     (*argv)[0]);
		return FALSE;
	}
	return TRUE;
}

vv_ctx *
vv_cli_open(const vv_cli_globals *globals, GError **error)
{
	return vv_roots_open(globals, error);
}

/* Why a device gets no VFIO driver, in a few words for a table. */
const char *
vv_cli_short_reason(const vv_selection *selection)
{
	switch (vv_selection_get_unassignable(selection)) {
	case VV_UNASSIGNABLE_BRIDGE: return _("none: bridge");
	case VV_UNASSIGNABLE_PF_WITH_VFS: return _("none: PF with VFs");
	case VV_UNASSIGNABLE_NO_IOMMU_GROUP: return _("none: no IOMMU group");
	case VV_UNASSIGNABLE_NONE: break;
	}
	if (vv_policy_get_action(vv_selection_get_policy(selection)) == VV_POLICY_DENY)
		return _("none: policy deny");
	return vv_selection_get_candidates(selection)->len ? _("none: all rejected") : _("none: no match");
}

static char *
vv_cli_describe_commands(void)
{
	GString *text = g_string_new(_("Commands:"));

	for (guint i = 0; i < G_N_ELEMENTS(vv_cli_commands); i++)
		g_string_append_printf(text, "\n  %-16s  %s", vv_cli_commands[i].name, _(vv_cli_commands[i].summary));
	g_string_append(text, "\n\n");
	g_string_append(text, _("Run 'vfio-variant COMMAND --help' for a command's options."));
	return g_string_free(text, FALSE);
}

int
main(int argc, char **argv)
{
	vv_cli_globals globals = { 0 };
	g_autofree char *sysroot = NULL;
	g_autofree char *modules_dir = NULL;
	g_autofree char *state_dir = NULL;
	g_autofree char *config_file = NULL;
	gboolean version = FALSE;
	g_autofree char *commands = NULL;
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	GOptionEntry entries[] = {
		{ "sysroot", 0, 0, G_OPTION_ARG_FILENAME, &sysroot,
		  N_("Read the host laid out under DIR (DIR/sys, DIR/lib/modules, DIR/etc/modprobe.d)"), N_("DIR") },
		{ "modules-dir", 0, 0, G_OPTION_ARG_FILENAME, &modules_dir,
		  N_("Read kernel modules from DIR instead of lib/modules/RELEASE"), N_("DIR") },
		{ "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
		  N_("Keep records and locks in DIR (default: SYSROOT/run/vfio-variant)"), N_("DIR") },
		{ "config", 0, 0, G_OPTION_ARG_FILENAME, &config_file,
		  N_("Read the policy from FILE (default: SYSCONFDIR/vfio-variant/vfio-variant.conf, SYSROOT/etc/... with --sysroot)"), N_("FILE") },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Show the version"), NULL },
		{ NULL },
	};

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);

	context = g_option_context_new(_("COMMAND [ARGS...]"));
	g_option_context_set_summary(context, _("Choose the right VFIO driver for a PCI device, explain why, bind it and give the device back."));
	commands = vv_cli_describe_commands();
	g_option_context_set_description(context, commands);
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
	g_option_context_set_strict_posix(context, TRUE);
	if (!g_option_context_parse(context, &argc, &argv, &error))
		return vv_cli_usage("%s", error->message);
	if (version) {
		g_print("vfio-variant %s\n", PACKAGE_VERSION);
		return VV_CLI_EXIT_OK;
	}
	if (argc < 2)
		return vv_cli_usage(_("A command is required."));
	globals.sysroot = sysroot;
	globals.modules_dir = modules_dir;
	globals.state_dir = state_dir;
	globals.config_file = config_file;

	for (guint i = 0; i < G_N_ELEMENTS(vv_cli_commands); i++)
		if (g_str_equal(argv[1], vv_cli_commands[i].name))
			return vv_cli_commands[i].run(&globals, argc - 1, argv + 1);
	return vv_cli_usage(_("'%s' is not a command."), argv[1]);
}
