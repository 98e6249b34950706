/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-variant __complete WORD...: what the bash completion
 * (data/bash-completion/vfio-variant) offers for the last WORD, given the
 * words before it (COMP_WORDS[1..COMP_CWORD]). The logic is here, once,
 * from the command table; the shell function only passes words and shows
 * lines. A first line "@file" or "@dir" asks the shell for file names.
 */
#include <string.h>

#include "vv-cli.h"

typedef struct {
	const vv_cli_command *command;
	const vv_cli_option *pending;	/* the option whose value the next word is */
	const char *sysroot;
	const char *modules_dir;
	const char *device;		/* the first operand, for --driver */
} vv_cli_line;

static const vv_cli_option *
vv_cli_complete_option(const vv_cli_line *line, const char *word)
{
	const char *name = NULL;
	char short_name = 0;
	g_autofree char *long_name = NULL;
	const vv_cli_option *option;

	if (g_str_has_prefix(word, "--")) {
		long_name = g_strndup(word + 2, strcspn(word + 2, "="));
		name = long_name;
	} else if (word[0] == '-' && word[1] && !word[2]) {
		short_name = word[1];
	} else {
		return NULL;
	}
	option = vv_cli_option_find(vv_cli_global_options, name, short_name);
	if (!option && line->command)
		option = vv_cli_option_find(line->command->options, name, short_name);
	return option;
}

static void
vv_cli_complete_value(vv_cli_line *line, const vv_cli_option *option, const char *value)
{
	if (g_str_equal(option->name, "sysroot"))
		line->sysroot = value;
	else if (g_str_equal(option->name, "modules-dir"))
		line->modules_dir = value;
}

/* The PCI devices of the sysfs the line reads, by canonical address: a
 * directory entry that is not one is not offered. */
static void
vv_cli_complete_devices(const vv_cli_line *line, GPtrArray *out)
{
	g_autofree char *dir = g_build_filename(line->sysroot ? line->sysroot : "/", "sys/bus/pci/devices", NULL);
	g_autoptr(GDir) entries = g_dir_open(dir, 0, NULL);
	const char *name;

	while (entries && (name = g_dir_read_name(entries))) {
		g_autofree char *address = vv_address_parse(name, NULL);

		if (address && g_str_equal(address, name))
			g_ptr_array_add(out, g_strdup(name));
	}
}

static void
vv_cli_complete_add_candidates(vv_ctx *ctx, vv_device *device, GPtrArray *out)
{
	g_autoptr(vv_selection) selection = vv_selection_new(ctx, device, NULL);

	const GPtrArray *candidates = selection ? vv_selection_get_candidates(selection) : NULL;

	for (guint i = 0; candidates && i < candidates->len; i++) {
		const vv_candidate *candidate = g_ptr_array_index(candidates, i);
		const char *names[] = { vv_candidate_get_module(candidate), vv_candidate_get_driver(candidate) };

		for (guint j = 0; j < G_N_ELEMENTS(names); j++)
			if (names[j] && !g_ptr_array_find_with_equal_func(out, names[j], g_str_equal, NULL))
				g_ptr_array_add(out, g_strdup(names[j]));
	}
}

/* The VFIO drivers the module index offers: the device's candidates when
 * the line names one, else every device's; and the generic vfio-pci. */
static void
vv_cli_complete_drivers(const vv_cli_line *line, GPtrArray *out)
{
	vv_roots roots = { .sysroot = line->sysroot, .modules_dir = line->modules_dir };
	g_autoptr(vv_ctx) ctx = vv_roots_open(&roots, NULL);
	g_autoptr(GPtrArray) devices = NULL;

	g_ptr_array_add(out, g_strdup("vfio-pci"));
	if (!ctx)
		return;
	if (line->device) {
		g_autoptr(vv_device) device = vv_device_new(ctx, line->device, NULL);

		if (device)
			vv_cli_complete_add_candidates(ctx, device, out);
		return;
	}
	devices = vv_ctx_list_devices(ctx, NULL);
	for (guint i = 0; devices && i < devices->len; i++)
		vv_cli_complete_add_candidates(ctx, g_ptr_array_index(devices, i), out);
}

static void
vv_cli_complete_options(const vv_cli_line *line, GPtrArray *out)
{
	for (const vv_cli_option *option = vv_cli_global_options; option->name; option++)
		g_ptr_array_add(out, g_strconcat("--", option->name, NULL));
	if (line->command)
		for (const vv_cli_option *option = line->command->options; option->name; option++)
			g_ptr_array_add(out, g_strconcat("--", option->name, NULL));
	else
		g_ptr_array_add(out, g_strdup("--version"));
	g_ptr_array_add(out, g_strdup("--help"));
}

static void
vv_cli_complete_commands(GPtrArray *out)
{
	for (const vv_cli_command *command = vv_cli_commands; command->name; command++)
		if (!(command->flags & VV_CLI_COMMAND_HIDDEN))
			g_ptr_array_add(out, g_strdup(command->name));
}

/* What VALUE offers; FALSE when the shell is to offer file names. */
static gboolean
vv_cli_complete_kind(const vv_cli_line *line, vv_cli_value value, GPtrArray *out)
{
	switch (value) {
	case VV_CLI_VALUE_FILE:
		g_print("@file\n");
		return FALSE;
	case VV_CLI_VALUE_DIR:
		g_print("@dir\n");
		return FALSE;
	case VV_CLI_VALUE_DRIVER:
		vv_cli_complete_drivers(line, out);
		break;
	case VV_CLI_VALUE_DEVICE:
		vv_cli_complete_devices(line, out);
		break;
	case VV_CLI_VALUE_COMMAND:
		vv_cli_complete_commands(out);
		break;
	case VV_CLI_VALUE_NONE:
	case VV_CLI_VALUE_TEXT:
		break;
	}
	return TRUE;
}

static int
vv_cli_strcmp_indirect(const char **a, const char **b)
{
	return strcmp(*a, *b);
}

int
vv_cli_complete(const vv_cli_globals *globals, int argc, char **argv)
{
	vv_cli_line line = { 0 };
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
	const char *current = argc > 1 ? argv[argc - 1] : "";
	guint operands = 0;
	gboolean options_end = FALSE;

	/* The words before the current one: the command, the options and
	 * whose value each next word is, the operands so far. */
	for (int i = 1; i < argc - 1; i++) {
		const char *word = argv[i];
		const vv_cli_option *option;

		if (line.pending) {
			vv_cli_complete_value(&line, line.pending, word);
			line.pending = NULL;
		} else if (!options_end && g_str_equal(word, "--")) {
			options_end = TRUE;
		} else if (!options_end && word[0] == '-') {
			option = vv_cli_complete_option(&line, word);
			if (option && option->arg && !strchr(word, '='))
				line.pending = option;
			else if (option && option->arg)
				vv_cli_complete_value(&line, option, strchr(word, '=') + 1);
		} else if (!line.command) {
			line.command = vv_cli_command_find(word);
			if (!line.command || (line.command->flags & VV_CLI_COMMAND_HIDDEN))
				return VV_CLI_EXIT_OK;
		} else if (operands++ == 0) {
			line.device = word;
		}
	}

	if (line.pending) {
		if (!vv_cli_complete_kind(&line, line.pending->value, out))
			return VV_CLI_EXIT_OK;
	} else if (!options_end && current[0] == '-') {
		vv_cli_complete_options(&line, out);
	} else if (!line.command) {
		vv_cli_complete_commands(out);
	} else if (operands == 0) {
		/* Every command takes at most one operand that can be offered. */
		if (!vv_cli_complete_kind(&line, line.command->operand, out))
			return VV_CLI_EXIT_OK;
	}

	g_ptr_array_sort(out, (GCompareFunc)vv_cli_strcmp_indirect);
	for (guint i = 0; i < out->len; i++) {
		const char *word = g_ptr_array_index(out, i);

		if (g_str_has_prefix(word, current) && (i == 0 || !g_str_equal(word, g_ptr_array_index(out, i - 1))))
			g_print("%s\n", word);
	}
	return VV_CLI_EXIT_OK;
}
