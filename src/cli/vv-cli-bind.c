/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What detach, reattach and recover share: run the operation, print it. */
#include "vv-cli.h"

/* The actions (planned for a dry run), then what the user must know. */
void
vv_cli_print_result(const vv_bind_result *result, gboolean dry_run)
{
	const char *const *actions = (const char *const *)vv_bind_result_get_actions(result)->pdata;
	const char *const *messages = (const char *const *)vv_bind_result_get_messages(result)->pdata;

	if (dry_run)
		g_print(actions[0] ? _("Dry run; these actions would be made, in order:\n") :
				     _("Dry run; no action would be made.\n"));
	for (guint i = 0; actions[i]; i++)
		g_print("  %s\n", actions[i]);
	for (guint i = 0; messages[i]; i++)
		g_print("%s\n", messages[i]);
}

/* Run OPERATION (vv_detach, vv_reattach or vv_recover) on the device NAME. */
int
vv_cli_run_bind(const vv_cli_globals *globals, const char *name, const vv_bind_options *options,
		gboolean dry_run, vv_cli_bind_operation operation)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_ctx) ctx = NULL;
	g_autoptr(vv_bind_result) result = NULL;
	/* A malformed name is the user's to fix before any host is read. */
	g_autofree char *address = vv_address_parse(name, &error);

	if (!address)
		return vv_cli_error(g_steal_pointer(&error));
	ctx = vv_cli_open(globals, &error);
	if (!ctx || !(result = operation(ctx, address, options, &error)))
		return vv_cli_error_device(g_steal_pointer(&error), address);
	vv_cli_print_result(result, dry_run);
	return VV_CLI_EXIT_OK;
}
