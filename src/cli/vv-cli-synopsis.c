/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-variant __synopsis: the man page's SYNOPSIS and COMMANDS list in
 * scdoc, from the command table, so that the page cannot name an option
 * the program lacks (docs/man/meson.build runs it at build time).
 */
#include <string.h>

#include "vv-cli.h"

static void
vv_cli_synopsis_options(GString *line, const vv_cli_option *options)
{
	for (const vv_cli_option *option = options; option->name; option++) {
		g_string_append(line, " [");
		if (option->short_name)
			g_string_append_printf(line, "*-%c*|", option->short_name);
		g_string_append_printf(line, "*--%s*", option->name);
		if (option->arg)
			g_string_append_printf(line, " _%s_", option->arg);
		g_string_append(line, "]");
	}
}

int
vv_cli_synopsis(const vv_cli_globals *globals, int argc, char **argv)
{
	g_autoptr(GString) text = g_string_new(NULL);

	if (argc != 1)
		return vv_cli_usage(_("'%1$s' takes no arguments."), argv[0]);
	g_string_append(text, "*vfio-variant* [_GLOBAL OPTION_...] _COMMAND_ [_OPTION_...] [_ARGS_...]\n\n");
	g_string_append(text, "*vfio-variant* *--version*\n\n");
	g_string_append(text, "Global options:");
	vv_cli_synopsis_options(text, vv_cli_global_options);
	g_string_append(text, "\n\n");
	for (const vv_cli_command *command = vv_cli_commands; command->name; command++) {
		if (command->flags & VV_CLI_COMMAND_HIDDEN)
			continue;
		g_string_append_printf(text, "*vfio-variant* *%s*", command->name);
		vv_cli_synopsis_options(text, command->options);
		if (*command->operands) {
			g_auto(GStrv) words = g_strsplit(command->operands, " ", -1);

			for (guint i = 0; words[i]; i++) {
				gboolean optional = words[i][0] == '[';
				g_autofree char *word = g_strndup(words[i] + optional,
								  strlen(words[i]) - 2 * optional);

				/* Metavariables in capitals are underlined, literal words bold. */
				if (g_ascii_isupper(word[0]))
					g_string_append_printf(text, optional ? " [_%s_]" : " _%s_", word);
				else
					g_string_append_printf(text, optional ? " [*%s*]" : " *%s*", word);
			}
		}
		g_string_append(text, "\n\n");
	}
	g_string_append(text, "# COMMANDS\n\n");
	for (const vv_cli_command *command = vv_cli_commands; command->name; command++)
		if (!(command->flags & VV_CLI_COMMAND_HIDDEN))
			g_string_append_printf(text, "*%s*\n\t%s\n\n", command->name, command->summary);
	g_print("%s", text->str);
	return VV_CLI_EXIT_OK;
}
