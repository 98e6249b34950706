/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-variant declare, undeclare, declarations: VFIO mode. The
 * declarations live in the policy's drop-in the library owns
 * (vv_declare()); the administrator's files are never written.
 */
#include <string.h>

#include "vv-cli.h"

/* Is DEVICE what TARGET names ("0000:03:00.1" or "15b3:101e"), or a PF
 * (whose VFs may be what it names: vv_apply() knows)? With VFS, TARGET is
 * a PF: it and its VFs. */
static gboolean
vv_cli_declare_concerns(vv_device *device, const char *target, gboolean vfs)
{
	g_autofree char *id = g_strdup_printf("%04x:%04x", vv_device_get_vendor_id(device),
					      vv_device_get_device_id(device));

	if (vfs)
		return g_str_equal(vv_device_get_address(device), target) ||
		       g_strcmp0(vv_device_get_physfn(device), target) == 0;
	return g_str_equal(vv_device_get_address(device), target) || g_ascii_strcasecmp(id, target) == 0 ||
	       vv_device_get_sriov_totalvfs(device) > 0;
}

/* TARGET as the library will key it: an address in its canonical form,
 * an id as given. NULL with the usage printed when it is neither. */
static char *
vv_cli_declare_target(const char *target)
{
	gboolean id = strlen(target) == 9 && target[4] == ':';

	for (guint i = 0; id && i < 9; i++)
		if (i != 4 && !g_ascii_isxdigit(target[i]))
			id = FALSE;
	if (id)
		return g_ascii_strdown(target, -1);
	return vv_address_parse(target, NULL);
}

/* After a change: every device TARGET concerns, brought where the
 * declarations now say; UNDECLARED also gives back those on VFIO. */
static int
vv_cli_declare_follow(vv_ctx *ctx, const char *target, gboolean vfs, const vv_bind_options *options,
		      gboolean undeclared)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) devices = vv_ctx_list_devices(ctx, &error);
	int status = VV_CLI_EXIT_OK;

	if (!devices)
		return vv_cli_error(g_steal_pointer(&error));
	for (guint i = 0; i < devices->len; i++) {
		vv_device *device = g_ptr_array_index(devices, i);
		const char *address = vv_device_get_address(device);
		g_autoptr(vv_bind_result) result = NULL;
		g_autoptr(vv_record) record = NULL;

		if (!vv_cli_declare_concerns(device, target, vfs))
			continue;
		result = vv_apply(ctx, address, options, &error);
		if (result && undeclared && vv_device_is_vfio_bound(device) &&
		    (record = vv_record_load(ctx, address, NULL))) {
			g_clear_pointer(&result, vv_bind_result_free);
			result = vv_reattach(ctx, address, options, &error);
		}
		if (!result) {
			int code = vv_cli_exit_status(error);

			vv_cli_error_device(g_steal_pointer(&error), address);
			status = MAX(status, code);
			continue;
		}
		if (!vv_bind_result_is_noop(result) || g_str_equal(address, target))
			vv_cli_print_result(result, FALSE);
	}
	return status;
}

static int
vv_cli_declare_run(const vv_cli_globals *globals, int argc, char **argv, gboolean declare)
{
	g_autofree char *driver = NULL;
	gboolean no_apply = FALSE, vfs = FALSE;
	GOptionEntry declare_entries[] = {
		{ "driver", 0, 0, G_OPTION_ARG_STRING, &driver,
		  N_("The VFIO driver: auto (the selection's, the default), generic (vfio-pci) or a module or driver name"), N_("NAME") },
		{ "vfs", 0, 0, G_OPTION_ARG_NONE, &vfs,
		  N_("DEVICE is an SR-IOV PF: declare its VFs, present and future (vfs=vfio), not the PF"), NULL },
		{ "no-apply", 0, 0, G_OPTION_ARG_NONE, &no_apply, N_("Only write the declaration; move no device now"), NULL },
		{ NULL },
	};
	GOptionEntry undeclare_entries[] = {
		{ "vfs", 0, 0, G_OPTION_ARG_NONE, &vfs, N_("DEVICE is an SR-IOV PF: remove the declaration of its VFs (vfs=)"), NULL },
		{ "no-apply", 0, 0, G_OPTION_ARG_NONE, &no_apply, N_("Only remove the declaration; move no device now"), NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new(_("DEVICE | VENDOR:DEVICE"));
	g_autoptr(vv_bind_options) options = vv_bind_options_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_ctx) ctx = NULL;
	g_autofree char *target = NULL;

	g_option_context_set_summary(context, declare ?
		_("Declare DEVICE (an address) or every device of VENDOR:DEVICE (e.g. 15b3:101e, the VFs of a model) in VFIO mode: it is bound to its VFIO driver now, at every boot and at every add, before its host driver gets it.") :
		_("Remove the declaration of DEVICE or VENDOR:DEVICE: a device it kept on VFIO goes back to its host driver."));
	g_option_context_add_main_entries(context, declare ? declare_entries : undeclare_entries, GETTEXT_PACKAGE);
	if (!vv_cli_parse(context, &argc, &argv, 1))
		return VV_CLI_EXIT_USAGE;
	if (vfs && driver)
		return vv_cli_usage(_("--vfs takes no --driver: each VF's driver is what its own policy says (driver= under [id VENDOR:DEVICE] of the VFs, or [global])."));
	if (vfs && !(target = vv_address_parse(argv[1], NULL))) {
		g_autofree char *shown = vv_text_escape(argv[1]);

		return vv_cli_usage(_("'%s' is not a PCI device address (such as 0000:03:00.0): --vfs takes the address of an SR-IOV PF."), shown);
	}
	if (!target && !(target = vv_cli_declare_target(argv[1]))) {
		g_autofree char *shown = vv_text_escape(argv[1]);

		return vv_cli_usage(_("'%s' is neither a PCI device address (such as 0000:03:00.1) nor a vendor:device id (such as 15b3:101e)."),
				    shown);
	}
	if (!(ctx = vv_cli_open(globals, &error)))
		return vv_cli_error(g_steal_pointer(&error));
	if (vfs ? (declare ? !vv_declare_vfs(ctx, target, &error) : !vv_undeclare_vfs(ctx, target, &error)) :
		  (declare ? !vv_declare(ctx, target, driver, &error) : !vv_undeclare(ctx, target, &error)))
		return vv_cli_error_device(g_steal_pointer(&error), target);
	if (vfs)
		g_print(declare ? _("The VFs of %s are declared in VFIO mode.\n") :
				  _("The VFs of %s are no longer declared in VFIO mode.\n"), target);
	else
		g_print(declare ? _("%s is declared in VFIO mode.\n") : _("%s is no longer declared in VFIO mode.\n"), target);
	if (no_apply)
		return VV_CLI_EXIT_OK;
	return vv_cli_declare_follow(ctx, target, vfs, options, !declare);
}

int
vv_cli_declare(const vv_cli_globals *globals, int argc, char **argv)
{
	return vv_cli_declare_run(globals, argc, argv, TRUE);
}

int
vv_cli_undeclare(const vv_cli_globals *globals, int argc, char **argv)
{
	return vv_cli_declare_run(globals, argc, argv, FALSE);
}

int
vv_cli_declarations(const vv_cli_globals *globals, int argc, char **argv)
{
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(vv_ctx) ctx = NULL;
	g_autoptr(GPtrArray) all = NULL;
	int width = 14;

	g_option_context_set_summary(context, _("List every device address and vendor:device id with a mode= key (vfio or host), its driver= and the file and line it comes from."));
	if (!vv_cli_parse(context, &argc, &argv, 0))
		return VV_CLI_EXIT_USAGE;
	if (!(ctx = vv_cli_open(globals, &error)) || !(all = vv_ctx_list_declarations(ctx, &error)))
		return vv_cli_error(g_steal_pointer(&error));
	if (!all->len) {
		g_print(_("No device is declared in VFIO mode (policy %s and its drop-ins).\n"), vv_ctx_get_config_file(ctx));
		return VV_CLI_EXIT_OK;
	}
	/* "vfs 0000:03:00.0" (the VFs of that PF) is wider than the others. */
	for (guint i = 0; i < all->len; i++)
		if (vv_declaration_is_vfs(g_ptr_array_index(all, i)))
			width = MAX(width, (int)strlen(vv_declaration_get_target(g_ptr_array_index(all, i))) + 4);
	/* TRANSLATORS: column headings of 'vfio-variant declarations'. */
	g_print("%-*s %-5s %-16s %s\n", width, _("TARGET"), _("MODE"), _("DRIVER"), _("FROM"));
	for (guint i = 0; i < all->len; i++) {
		const vv_declaration *declaration = g_ptr_array_index(all, i);
		const char *driver = vv_declaration_get_driver(declaration);
		g_autofree char *target = g_strconcat(vv_declaration_is_id(declaration) ? "id " :
						      vv_declaration_is_vfs(declaration) ? "vfs " : "",
						      vv_declaration_get_target(declaration), NULL);
		g_autofree char *shown = vv_text_escape(vv_declaration_get_file(declaration));

		/* The VFs' driver is their own policy's: "-" here. */
		g_print("%-*s %-5s %-16s %s:%u\n", width, target,
			vv_declaration_get_mode(declaration) == VV_DEVICE_MODE_VFIO ? "vfio" : "host",
			vv_declaration_is_vfs(declaration) ? "-" : driver ? driver : "auto", shown,
			vv_declaration_get_line(declaration));
	}
	return VV_CLI_EXIT_OK;
}
