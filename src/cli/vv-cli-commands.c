/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The command table: one row per command, which drives dispatch, `help`,
 * the suggestion for a mistyped command or option, the bash completion
 * (`__complete`) and the man page's synopsis (`__synopsis`). A new command
 * is one row here and its handler in its own file.
 */
#include <string.h>

#include "vv-cli.h"

const vv_cli_option vv_cli_global_options[] = {
	{ "connect", 'c', "URI", VV_CLI_VALUE_TEXT },
	{ "sysroot", 0, "DIR", VV_CLI_VALUE_DIR },
	{ "modules-dir", 0, "DIR", VV_CLI_VALUE_DIR },
	{ "state-dir", 0, "DIR", VV_CLI_VALUE_DIR },
	{ "config", 0, "FILE", VV_CLI_VALUE_FILE },
	{ NULL },
};

/* The nodedev-* commands talk to libvirt; a build without it keeps them
 * (each says that this build has no libvirt) but neither lists nor
 * completes them, and its man page has no synopsis for them. */
#if VV_CLI_WITH_LIBVIRT
#define VV_CLI_NODEDEV VV_CLI_COMMAND_CONNECT
#else
#define VV_CLI_NODEDEV (VV_CLI_COMMAND_CONNECT | VV_CLI_COMMAND_HIDDEN)
#endif

static const vv_cli_option vv_cli_no_options[] = { { NULL } };
static const vv_cli_option vv_cli_json_options[] = {
	{ "json", 0, NULL, VV_CLI_VALUE_NONE },
	{ NULL },
};
static const vv_cli_option vv_cli_explain_options[] = {
	{ "xml", 0, NULL, VV_CLI_VALUE_NONE },
	{ "json", 0, NULL, VV_CLI_VALUE_NONE },
	{ NULL },
};
static const vv_cli_option vv_cli_detach_options[] = {
	{ "driver", 0, "NAME", VV_CLI_VALUE_DRIVER },
	{ "generic", 0, NULL, VV_CLI_VALUE_NONE },
	{ "dry-run", 0, NULL, VV_CLI_VALUE_NONE },
	{ "force", 0, NULL, VV_CLI_VALUE_NONE },
	{ "timeout", 0, "SECONDS", VV_CLI_VALUE_TEXT },
	{ NULL },
};
static const vv_cli_option vv_cli_reattach_options[] = {
	{ "dry-run", 0, NULL, VV_CLI_VALUE_NONE },
	{ "force", 0, NULL, VV_CLI_VALUE_NONE },
	{ "timeout", 0, "SECONDS", VV_CLI_VALUE_TEXT },
	{ NULL },
};
static const vv_cli_option vv_cli_recover_options[] = {
	{ "dry-run", 0, NULL, VV_CLI_VALUE_NONE },
	{ NULL },
};
static const vv_cli_option vv_cli_nodedev_detach_options[] = {
	{ "driver", 0, "NAME", VV_CLI_VALUE_DRIVER },
	{ "force", 0, NULL, VV_CLI_VALUE_NONE },
	{ "timeout", 0, "SECONDS", VV_CLI_VALUE_TEXT },
	{ NULL },
};
static const vv_cli_option vv_cli_nodedev_reattach_options[] = {
	{ "timeout", 0, "SECONDS", VV_CLI_VALUE_TEXT },
	{ NULL },
};

static const vv_cli_option vv_cli_declare_options[] = {
	{ "driver", 0, "NAME", VV_CLI_VALUE_DRIVER },
	{ "vfs", 0, NULL, VV_CLI_VALUE_NONE },
	{ "no-apply", 0, NULL, VV_CLI_VALUE_NONE },
	{ NULL },
};
static const vv_cli_option vv_cli_undeclare_options[] = {
	{ "vfs", 0, NULL, VV_CLI_VALUE_NONE },
	{ "no-apply", 0, NULL, VV_CLI_VALUE_NONE },
	{ NULL },
};
static const vv_cli_option vv_cli_apply_options[] = {
	{ "all", 0, NULL, VV_CLI_VALUE_NONE },
	{ "index", 0, NULL, VV_CLI_VALUE_NONE },
	{ "requester", 0, "WHO", VV_CLI_VALUE_TEXT },
	{ "dry-run", 0, NULL, VV_CLI_VALUE_NONE },
	{ "timeout", 0, "SECONDS", VV_CLI_VALUE_TEXT },
	{ NULL },
};

const vv_cli_command vv_cli_commands[] = {
	{ .name = "list", .run = vv_cli_list, .operands = "",
	  .summary = N_("Show every PCI device and the VFIO driver it would get."),
	  .options = vv_cli_json_options },
	{ .name = "explain", .run = vv_cli_explain, .operands = "DEVICE", .operand = VV_CLI_VALUE_DEVICE,
	  .summary = N_("Show every candidate VFIO driver of a device and why one wins."),
	  .options = vv_cli_explain_options },
	{ .name = "detach", .run = vv_cli_detach, .operands = "DEVICE", .operand = VV_CLI_VALUE_DEVICE,
	  .summary = N_("Detach a device from its driver and bind its VFIO driver."),
	  .options = vv_cli_detach_options },
	{ .name = "reattach", .run = vv_cli_reattach, .operands = "DEVICE", .operand = VV_CLI_VALUE_DEVICE,
	  .summary = N_("Give a detached device back to its native driver."),
	  .options = vv_cli_reattach_options },
	{ .name = "status", .run = vv_cli_status, .operands = "[DEVICE]", .operand = VV_CLI_VALUE_DEVICE,
	  .summary = N_("Show what is detached, to what, since when, and from what."),
	  .options = vv_cli_json_options },
	{ .name = "recover", .run = vv_cli_recover, .operands = "DEVICE", .operand = VV_CLI_VALUE_DEVICE,
	  .summary = N_("Settle a detach or reattach that was cut short."),
	  .options = vv_cli_recover_options },
	{ .name = "nodedev-list", .run = vv_cli_nodedev_list, .operands = "",
	  .summary = N_("Show libvirt's PCI node devices and the VFIO driver each would get."),
	  .options = vv_cli_json_options, .flags = VV_CLI_NODEDEV },
	{ .name = "nodedev-dumpxml", .run = vv_cli_nodedev_dumpxml, .operands = "DEVICE", .operand = VV_CLI_VALUE_DEVICE,
	  .summary = N_("Show libvirt's node-device XML with the VFIO driver choice."),
	  .options = vv_cli_no_options, .flags = VV_CLI_NODEDEV },
	{ .name = "nodedev-detach", .run = vv_cli_nodedev_detach, .operands = "DEVICE", .operand = VV_CLI_VALUE_DEVICE,
	  .summary = N_("Detach a device through libvirt and bind its VFIO driver."),
	  .options = vv_cli_nodedev_detach_options, .flags = VV_CLI_NODEDEV },
	{ .name = "nodedev-reattach", .run = vv_cli_nodedev_reattach, .operands = "DEVICE", .operand = VV_CLI_VALUE_DEVICE,
	  .summary = N_("Give a device back through libvirt, to its native driver."),
	  .options = vv_cli_nodedev_reattach_options, .flags = VV_CLI_NODEDEV },
	{ .name = "declare", .run = vv_cli_declare, .operands = "DEVICE|VENDOR:DEVICE", .operand = VV_CLI_VALUE_DEVICE,
	  .summary = N_("Declare a device, or every device of an id, in VFIO mode: on its VFIO driver at boot and at every add."),
	  .options = vv_cli_declare_options },
	{ .name = "undeclare", .run = vv_cli_undeclare, .operands = "DEVICE|VENDOR:DEVICE", .operand = VV_CLI_VALUE_DEVICE,
	  .summary = N_("Remove a declaration; a declared device on VFIO goes back to its host driver."),
	  .options = vv_cli_undeclare_options },
	{ .name = "declarations", .run = vv_cli_declarations, .operands = "",
	  .summary = N_("List the devices and ids in VFIO mode, and where each is declared."),
	  .options = vv_cli_no_options },
	{ .name = "apply", .run = vv_cli_apply, .operands = "DEVICE|--all|--index", .operand = VV_CLI_VALUE_DEVICE,
	  .summary = N_("Bring a device (or every device) where its declaration says (the udev rule and the boot unit run it)."),
	  .options = vv_cli_apply_options },
	{ .name = "hook", .run = vv_cli_hook, .operands = "qemu DOMAIN OPERATION SUBOP [EXTRA]", .operand = VV_CLI_VALUE_TEXT,
	  .summary = N_("Run a stage of the libvirt qemu hook on a domain XML (libvirt runs vfio-variant-hook)."),
	  .options = vv_cli_no_options },
	{ .name = "help", .run = vv_cli_help, .operands = "[COMMAND]", .operand = VV_CLI_VALUE_COMMAND,
	  .summary = N_("Show the commands, or a command's options."),
	  .options = vv_cli_no_options },
	{ .name = "__complete", .run = vv_cli_complete, .operands = "WORD...", .operand = VV_CLI_VALUE_TEXT,
	  .summary = "The words the bash completion offers for the last WORD.",
	  .options = vv_cli_no_options, .flags = VV_CLI_COMMAND_HIDDEN | VV_CLI_COMMAND_RAW },
	{ .name = "__synopsis", .run = vv_cli_synopsis, .operands = "",
	  .summary = "The man page's synopsis, in scdoc.",
	  .options = vv_cli_no_options, .flags = VV_CLI_COMMAND_HIDDEN | VV_CLI_COMMAND_RAW },
	{ NULL },
};

static const vv_cli_command *vv_cli_current;

const vv_cli_command *
vv_cli_command_find(const char *name)
{
	for (const vv_cli_command *command = vv_cli_commands; command->name; command++)
		if (g_str_equal(command->name, name))
			return command;
	return NULL;
}

const vv_cli_option *
vv_cli_option_find(const vv_cli_option *options, const char *name, char short_name)
{
	for (const vv_cli_option *option = options; option->name; option++)
		if ((name && g_str_equal(option->name, name)) || (short_name && option->short_name == short_name))
			return option;
	return NULL;
}

void
vv_cli_set_current(const vv_cli_command *command)
{
	vv_cli_current = command;
}

const vv_cli_command *
vv_cli_get_current(void)
{
	return vv_cli_current;
}

/* The optimal string alignment distance: a swap of two neighbours counts
 * one, as "lsit" is one slip from "list". */
static guint
vv_cli_distance(const char *a, const char *b)
{
	gsize n = strlen(a), m = strlen(b);
	g_autofree guint *d = g_new(guint, (n + 1) * (m + 1));

#define D(i, j) d[(i) * (m + 1) + (j)]
	for (gsize i = 0; i <= n; i++)
		D(i, 0) = i;
	for (gsize j = 0; j <= m; j++)
		D(0, j) = j;
	for (gsize i = 1; i <= n; i++)
		for (gsize j = 1; j <= m; j++) {
			guint cost = a[i - 1] != b[j - 1];

			D(i, j) = MIN(MIN(D(i - 1, j) + 1, D(i, j - 1) + 1), D(i - 1, j - 1) + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
				D(i, j) = MIN(D(i, j), D(i - 2, j - 2) + 1);
		}
	return D(n, m);
#undef D
}

const char *
vv_cli_suggest(const char *word, const char *const *candidates)
{
	/* Up to a third of the word, at least one, at most two slips: "x"
	 * suggests nothing, "lsit" suggests "list". */
	guint limit = CLAMP(strlen(word) / 3, 1, 2), best = G_MAXUINT;
	const char *found = NULL;

	if (strlen(word) > 64)
		return NULL;
	for (guint i = 0; candidates[i]; i++) {
		guint distance = vv_cli_distance(word, candidates[i]);

		if (distance <= limit && distance < best) {
			best = distance;
			found = candidates[i];
		}
	}
	return found;
}
