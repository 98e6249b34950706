/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-variant: the command line. Global options, then a command. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "vv-cli.h"

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
	if (vv_cli_get_current())
		g_printerr(_("Run 'vfio-variant help %1$s' for its usage.\n"), vv_cli_get_current()->name);
	else
		g_printerr(_("Run 'vfio-variant help' for usage.\n"));
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

/* Parse a command's options; it must be left with EXPECTED_ARGS operands
 * (-1: the command counts them). */
gboolean
vv_cli_parse(GOptionContext *context, int *argc, char ***argv, int expected_args)
{
	g_autoptr(GError) error = NULL;

	if (!g_option_context_parse(context, argc, argv, &error)) {
		const char *suggestion = NULL;

		if (g_error_matches(error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION))
			suggestion = vv_cli_suggest_option(vv_cli_get_current(), *argc, *argv);
		if (suggestion)
			vv_cli_usage(_("%1$s (did you mean '--%2$s'?)"), error->message, suggestion);
		else
			vv_cli_usage("%s", error->message);
		return FALSE;
	}
	if (expected_args >= 0 && *argc - 1 != expected_args) {
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

/* The options COMMAND knows (NULL: none yet, the global ones), by long name. */
static GPtrArray *
vv_cli_option_names(const vv_cli_command *command)
{
	GPtrArray *names = g_ptr_array_new();

	for (const vv_cli_option *option = vv_cli_global_options; option->name; option++)
		g_ptr_array_add(names, (char *)option->name);
	if (command)
		for (const vv_cli_option *option = command->options; option->name; option++)
			g_ptr_array_add(names, (char *)option->name);
	else
		g_ptr_array_add(names, (char *)"version");
	g_ptr_array_add(names, (char *)"help");
	g_ptr_array_add(names, NULL);
	return names;
}

/* The first "--NAME" of ARGV that COMMAND does not know, and the known
 * option nearest it: GOption's error names the unknown one, this names
 * what was meant. Borrowed from the table; NULL: no near one. */
const char *
vv_cli_suggest_option(const vv_cli_command *command, int argc, char **argv)
{
	g_autoptr(GPtrArray) names = vv_cli_option_names(command);

	for (int i = 1; i < argc && !g_str_equal(argv[i], "--"); i++) {
		g_autofree char *name = NULL;

		if (!g_str_has_prefix(argv[i], "--"))
			continue;
		name = g_strndup(argv[i] + 2, strcspn(argv[i] + 2, "="));
		if (!g_strv_contains((const char *const *)names->pdata, name))
			return vv_cli_suggest(name, (const char *const *)names->pdata);
	}
	return NULL;
}

static char *
vv_cli_describe_commands(void)
{
	GString *text = g_string_new(_("Commands:"));

	for (const vv_cli_command *command = vv_cli_commands; command->name; command++)
		if (!(command->flags & VV_CLI_COMMAND_HIDDEN))
			g_string_append_printf(text, "\n  %-16s  %s", command->name, _(command->summary));
	g_string_append(text, "\n\n");
	g_string_append(text, _("Global options go before the command or after it. Run 'vfio-variant help COMMAND' for a command's options."));
	return g_string_free(text, FALSE);
}

/* The global options' values, whichever side of the command they were given. */
static char *vv_cli_sysroot, *vv_cli_modules_dir, *vv_cli_state_dir, *vv_cli_config_file, *vv_cli_uri;
static gboolean vv_cli_version;

static GOptionEntry vv_cli_global_entries[] = {
	{ "connect", 'c', 0, G_OPTION_ARG_STRING, &vv_cli_uri,
	  N_("libvirt connection URI for the nodedev-* commands (default: LIBVIRT_DEFAULT_URI, then libvirt's default)"), N_("URI") },
	{ "sysroot", 0, 0, G_OPTION_ARG_FILENAME, &vv_cli_sysroot,
	  N_("Read the host laid out under DIR (DIR/sys, DIR/lib/modules, DIR/etc/modprobe.d)"), N_("DIR") },
	{ "modules-dir", 0, 0, G_OPTION_ARG_FILENAME, &vv_cli_modules_dir,
	  N_("Read kernel modules from DIR instead of lib/modules/RELEASE"), N_("DIR") },
	{ "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &vv_cli_state_dir,
	  N_("Keep records and locks in DIR (default: SYSROOT/run/vfio-variant)"), N_("DIR") },
	{ "config", 0, 0, G_OPTION_ARG_FILENAME, &vv_cli_config_file,
	  N_("Read the policy from FILE (default: POLICYDIR/vfio-variant.conf, SYSROOT/etc/vfio-variant/... with --sysroot)"), N_("FILE") },
	{ "version", 0, 0, G_OPTION_ARG_NONE, &vv_cli_version, N_("Show the version"), NULL },
	{ NULL },
};

static GOptionContext *
vv_cli_main_context(void)
{
	GOptionContext *context = g_option_context_new(_("COMMAND [ARGS...]"));
	g_autofree char *commands = vv_cli_describe_commands();

	g_option_context_set_summary(context, _("Choose the right VFIO driver for a PCI device, explain why, bind it and give the device back."));
	g_option_context_set_description(context, commands);
	g_option_context_add_main_entries(context, vv_cli_global_entries, GETTEXT_PACKAGE);
	g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
	return context;
}

/* The commands' names, for a suggestion. Free the array only. */
static GPtrArray *
vv_cli_command_names(void)
{
	GPtrArray *names = g_ptr_array_new();

	for (const vv_cli_command *command = vv_cli_commands; command->name; command++)
		if (!(command->flags & VV_CLI_COMMAND_HIDDEN))
			g_ptr_array_add(names, (char *)command->name);
	g_ptr_array_add(names, NULL);
	return names;
}

/* NAME, which is not a command: the message, with the nearest command. */
static int
vv_cli_not_a_command(const char *name)
{
	g_autoptr(GPtrArray) names = vv_cli_command_names();
	const char *suggestion = vv_cli_suggest(name, (const char *const *)names->pdata);

	if (suggestion)
		return vv_cli_usage(_("'%1$s' is not a command. Did you mean '%2$s'?"), name, suggestion);
	return vv_cli_usage(_("'%1$s' is not a command."), name);
}

/* "Usage: vfio-variant detach [OPTION...] DEVICE": GOption names the
 * program by its prgname, which GLib copies. */
static void
vv_cli_set_prgname(const vv_cli_command *command)
{
	g_autofree char *name = g_strconcat("vfio-variant ", command->name, NULL);

	g_set_prgname(name);
}

/* help [COMMAND]: the commands and global options, or COMMAND's own help. */
int
vv_cli_help(const vv_cli_globals *globals, int argc, char **argv)
{
	g_autoptr(GOptionContext) options = g_option_context_new(_("[COMMAND]"));
	const vv_cli_command *command;

	g_option_context_set_summary(options, _("Show the commands and the global options, or COMMAND's options."));
	if (!vv_cli_parse(options, &argc, &argv, -1))
		return VV_CLI_EXIT_USAGE;
	if (argc > 2)
		return vv_cli_usage(_("'help' takes at most one command."));
	if (argc < 2) {
		g_autoptr(GOptionContext) context = vv_cli_main_context();
		g_autofree char *text = NULL;

		g_set_prgname("vfio-variant");
		text = g_option_context_get_help(context, TRUE, NULL);
		g_print("%s", text);
		return VV_CLI_EXIT_OK;
	}
	/* A hidden command that one may run (nodedev-* without libvirt) gives
	 * its own answer. */
	command = vv_cli_command_find(argv[1]);
	if (!command || (command->flags & VV_CLI_COMMAND_RAW))
		return vv_cli_not_a_command(argv[1]);
	vv_cli_set_current(command);
	vv_cli_set_prgname(command);
	return command->run(globals, 2, (char *[]){ (char *)command->name, (char *)"--help", NULL });
}

int
main(int argc, char **argv)
{
	vv_cli_globals globals = { 0 };
	const vv_cli_command *command;
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GOptionContext) after = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) args = NULL;
	int n_args;
	const char *localedir;

	setlocale(LC_ALL, "");
	/* As the library does (vv-ctx.c): the build tree's catalogues for the test suite. */
	localedir = g_getenv("VV_TESTSUITE") ? g_getenv("VV_LOCALEDIR") : NULL;
	bindtextdomain(GETTEXT_PACKAGE, localedir ? localedir : LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);

	/* The global options before the command, as virsh takes them. */
	context = vv_cli_main_context();
	g_option_context_set_strict_posix(context, TRUE);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		const char *suggestion = g_error_matches(error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION)
			? vv_cli_suggest_option(NULL, argc, argv) : NULL;

		if (suggestion)
			return vv_cli_usage(_("%1$s (did you mean '--%2$s'?)"), error->message, suggestion);
		return vv_cli_usage("%s", error->message);
	}
	if (vv_cli_version) {
		g_print("vfio-variant %s\n", PACKAGE_VERSION);
		return VV_CLI_EXIT_OK;
	}
	if (argc < 2)
		return vv_cli_usage(_("A command is required."));
	command = vv_cli_command_find(argv[1]);
	if (!command)
		return vv_cli_not_a_command(argv[1]);
	vv_cli_set_current(command);
	vv_cli_set_prgname(command);
	if (command->flags & VV_CLI_COMMAND_RAW)
		return command->run(&globals, argc - 1, argv + 1);

	/* The global options after the command, as before: the command's own
	 * options and operands stay, in their order. */
	after = g_option_context_new(NULL);
	g_option_context_add_main_entries(after, vv_cli_global_entries, GETTEXT_PACKAGE);
	g_option_context_set_help_enabled(after, FALSE);
	g_option_context_set_ignore_unknown_options(after, TRUE);
	n_args = argc - 1;
	argv++;
	if (!g_option_context_parse(after, &n_args, &argv, &error))
		return vv_cli_usage("%s", error->message);
	if (vv_cli_version)
		return vv_cli_usage(_("--version goes before the command."));

	/* A libvirt command gets the URI as its own --connect. */
	args = g_ptr_array_new();
	g_ptr_array_add(args, argv[0]);
	if (vv_cli_uri && (command->flags & VV_CLI_COMMAND_CONNECT)) {
		g_ptr_array_add(args, (char *)"--connect");
		g_ptr_array_add(args, vv_cli_uri);
	}
	for (int i = 1; i < n_args; i++)
		g_ptr_array_add(args, argv[i]);
	g_ptr_array_add(args, NULL);

	globals.sysroot = vv_cli_sysroot;
	globals.modules_dir = vv_cli_modules_dir;
	globals.state_dir = vv_cli_state_dir;
	globals.config_file = vv_cli_config_file;
	return command->run(&globals, (int)args->len - 1, (char **)args->pdata);
}
