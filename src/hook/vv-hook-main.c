/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-variant-hook: the executable libvirt runs. `meson install` links it
 * as SYSCONFDIR/libvirt/hooks/qemu.d/vfio-variant, and libvirt runs every
 * executable there as
 *
 *     qemu.d/vfio-variant DOMAIN OPERATION SUBOP EXTRA  < domain.xml
 *
 * so a program started under a name in a directory called qemu.d (or
 * named qemu, the single-script form) takes its four arguments that way,
 * and no options: argv[0] tells it is libvirt's. Run by its own name, it
 * takes options (for tests and for trying it by hand) and names the hook:
 *
 *     vfio-variant-hook [--sysroot DIR] [--state-dir DIR] [--config FILE]
 *                       [--libvirt-version X.Y.Z]
 *                       qemu DOMAIN OPERATION SUBOP [EXTRA]
 *
 * It links the library and libxml2, not libvirt: a hook must never call
 * back into libvirt (libvirtd waits for it), and its start-up is on the
 * path of every guest start.
 */
#include <locale.h>
#include <unistd.h>

#include "vv-hook.h"

static gboolean
vv_hook_called_by_libvirt(const char *argv0)
{
	g_autofree char *base = g_path_get_basename(argv0);
	g_autofree char *dir = g_path_get_dirname(argv0);
	g_autofree char *parent = g_path_get_basename(dir);

	return g_str_equal(parent, "qemu.d") || g_str_equal(base, "qemu");
}

static int
vv_hook_usage(const char *message)
{
	g_printerr(_("vfio-variant-hook: %s\n"), message);
	g_printerr(_("Usage: vfio-variant-hook [--sysroot DIR] [--modules-dir DIR] [--state-dir DIR] [--config FILE] [--libvirt-version X.Y.Z] qemu DOMAIN OPERATION SUBOP [EXTRA]\n"));
	return 2;
}

int
main(int argc, char **argv)
{
	vv_roots roots = { 0 };
	g_autofree char *sysroot = NULL;
	g_autofree char *modules_dir = NULL;
	g_autofree char *state_dir = NULL;
	g_autofree char *config_file = NULL;
	g_autofree char *libvirt_version = NULL;
	gboolean version = FALSE;
	GOptionEntry entries[] = {
		{ "sysroot", 0, 0, G_OPTION_ARG_FILENAME, &sysroot, N_("Act on the host laid out under DIR"), N_("DIR") },
		{ "modules-dir", 0, 0, G_OPTION_ARG_FILENAME, &modules_dir, N_("Read kernel modules from DIR"), N_("DIR") },
		{ "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir, N_("Keep records, locks and plans in DIR"), N_("DIR") },
		{ "config", 0, 0, G_OPTION_ARG_FILENAME, &config_file, N_("Read the policy from FILE"), N_("FILE") },
		{ "libvirt-version", 0, 0, G_OPTION_ARG_STRING, &libvirt_version, N_("Act as under libvirt VERSION (MAJOR.MINOR.MICRO) instead of finding the version of the daemon that runs the hook"), N_("VERSION") },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Show the version"), NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);

	/* libvirt's convention: DOMAIN OPERATION SUBOP EXTRA, nothing else. */
	if (argc >= 1 && vv_hook_called_by_libvirt(argv[0])) {
		if (argc != 5)
			return vv_hook_usage(_("libvirt runs a hook with four arguments: DOMAIN OPERATION SUBOP EXTRA."));
		return vv_hook_qemu(&roots, NULL, argv[1], argv[2], argv[3], argv[4], STDIN_FILENO);
	}

	context = g_option_context_new(_("qemu DOMAIN OPERATION SUBOP [EXTRA]"));
	g_option_context_set_summary(context, _("The libvirt qemu hook of vfio-variant: gives managed hostdevs their VFIO variant driver. The domain XML is read from standard input."));
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
	g_option_context_set_strict_posix(context, TRUE);
	if (!g_option_context_parse(context, &argc, &argv, &error))
		return vv_hook_usage(error->message);
	if (version) {
		g_print("vfio-variant-hook %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (libvirt_version) {
		guint number;

		if (!vv_hook_libvirt_parse_version(libvirt_version, &number))
			return vv_hook_usage(_("--libvirt-version takes MAJOR.MINOR.MICRO, e.g. 11.3.0."));
	}
	if (argc < 5 || argc > 6)
		return vv_hook_usage(_("Give the hook (qemu), the domain, the operation and the sub-operation."));
	if (!g_str_equal(argv[1], "qemu"))
		return vv_hook_usage(_("Only the qemu hook exists."));
	roots.sysroot = sysroot;
	roots.modules_dir = modules_dir;
	roots.state_dir = state_dir;
	roots.config_file = config_file;
	return vv_hook_qemu(&roots, libvirt_version, argv[2], argv[3], argv[4], argc > 5 ? argv[5] : "-", STDIN_FILENO);
}
