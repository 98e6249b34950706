/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The context: every root the library reads (sysfs, the module directory,
 * modprobe.d, pci.ids) is fixed here, once, and nothing below it reads a
 * fixed path. It also owns the per-host caches: the module database
 * (vv-moddb.c), the policy, the names database, libvirt's alias view.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vv-private.h"

struct vv_ctx_options {
	char *sysroot;
	char *modules_dir;
	char *state_dir;
	char *config_file;
};

VV_EXPORT GQuark
vv_error_quark(void)
{
	return g_quark_from_static_string("vfio-variant-error-quark");
}

VV_EXPORT vv_ctx_options *
vv_ctx_options_new(void)
{
	return g_new0(vv_ctx_options, 1);
}

VV_EXPORT void
vv_ctx_options_free(vv_ctx_options *options)
{
	if (!options)
		return;
	g_free(options->sysroot);
	g_free(options->modules_dir);
	g_free(options->state_dir);
	g_free(options->config_file);
	g_free(options);
}

/* Replace the option *FIELD with a copy of VALUE (NULL: unset). Copied
 * before the old one is freed, so a caller may pass the option's own
 * value back (g_set_str() needs GLib 2.76). */
static void
vv_ctx_options_set(char **field, const char *value)
{
	char *copy = g_strdup(value);

	g_free(*field);
	*field = copy;
}

VV_EXPORT void vv_ctx_options_set_sysroot(vv_ctx_options *options, const char *dir) { vv_ctx_options_set(&options->sysroot, dir); }
VV_EXPORT void vv_ctx_options_set_modules_dir(vv_ctx_options *options, const char *dir) { vv_ctx_options_set(&options->modules_dir, dir); }
VV_EXPORT void vv_ctx_options_set_config_file(vv_ctx_options *options, const char *file) { vv_ctx_options_set(&options->config_file, file); }
VV_EXPORT void vv_ctx_options_set_state_dir(vv_ctx_options *options, const char *dir) { vv_ctx_options_set(&options->state_dir, dir); }

static void
vv_ctx_bind_textdomain(void)
{
	static gsize done;

	if (g_once_init_enter(&done)) {
		/* The test suite reads the catalogues meson built in its build
		 * tree (tests/check-po-de.sh); an installed program, never. */
		const char *dir = g_getenv("VV_TESTSUITE") ? g_getenv("VV_LOCALEDIR") : NULL;

		bindtextdomain(GETTEXT_PACKAGE, dir ? dir : LOCALEDIR);
		bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
		g_once_init_leave(&done, 1);
	}
}

/* The kernel release whose modules we read: the sysroot's running kernel,
 * or, when that file is absent (a bare tree), its only module directory. */
static char *
vv_ctx_find_release(const vv_ctx *ctx, GError **error)
{
	const char *sysroot = ctx->sysroot;
	g_autofree char *osrelease = g_build_filename(sysroot, "proc/sys/kernel/osrelease", NULL);
	g_autofree char *modules_root = g_build_filename(sysroot, "lib/modules", NULL);
	g_autoptr(GPtrArray) releases = NULL;
	char *release;

	/* Bounded and non-blocking: a FIFO here would hang us (vv_file_read). */
	if ((release = vv_file_read(ctx, osrelease, VV_SYSFS_ATTRIBUTE_MAX, 0, NULL, NULL)))
		return g_strchomp(release);

	releases = vv_sysfs_list(ctx, modules_root);
	if (releases->len == 1)
		return g_strdup(g_ptr_array_index(releases, 0));

	g_set_error(error, VV_ERROR, VV_ERROR_MODULES,
		    _("Cannot tell which kernel %1$s runs: %2$s is missing and %3$s does not hold exactly one kernel, so which module directory to read is unknown."),
		    sysroot, osrelease, modules_root);
	return NULL;
}

VV_EXPORT vv_ctx *
vv_ctx_new(const vv_ctx_options *options, GError **error)
{
	g_autoptr(vv_ctx) ctx = g_new0(vv_ctx, 1);
	g_autofree char *pci_bus = NULL;
	g_autofree char *pci_ids = NULL;

	vv_ctx_bind_textdomain();
	ctx->ref = 1;

	ctx->sysroot = g_canonicalize_filename(options && options->sysroot ? options->sysroot : "/", NULL);
	ctx->sys_dir = g_build_filename(ctx->sysroot, "sys", NULL);
	/* Records live with the host they describe: a sysroot's own run/. */
	ctx->state_dir = options && options->state_dir ?
			 g_canonicalize_filename(options->state_dir, NULL) :
			 g_build_filename(ctx->sysroot, "run/vfio-variant", NULL);
	/* The policy: the live host's policy directory (meson option
	 * policydir, /etc/vfio-variant whatever the prefix), or a sysroot's
	 * own etc/. */
	if (options && options->config_file) {
		ctx->config_file = g_canonicalize_filename(options->config_file, NULL);
		ctx->config_required = TRUE;
	} else if (g_str_equal(ctx->sysroot, "/")) {
		ctx->config_file = g_build_filename(VV_POLICYDIR, "vfio-variant.conf", NULL);
	} else {
		ctx->config_file = g_build_filename(ctx->sysroot, "etc/vfio-variant/vfio-variant.conf", NULL);
	}
	pci_bus = g_build_filename(ctx->sys_dir, "bus/pci", NULL);
	if (!vv_sysfs_is_dir(ctx, pci_bus)) {
		g_set_error(error, VV_ERROR, VV_ERROR_SYSROOT,
			    _("%s has no sys/bus/pci directory: it is not laid out like a host's root (DIR/sys, DIR/lib/modules)."),
			    ctx->sysroot);
		return NULL;
	}

	if (options && options->modules_dir) {
		ctx->modules_dir = g_canonicalize_filename(options->modules_dir, NULL);
		ctx->release = g_path_get_basename(ctx->modules_dir);
	} else {
		ctx->release = vv_ctx_find_release(ctx, error);
		if (!ctx->release)
			return NULL;
		ctx->modules_dir = g_build_filename(ctx->sysroot, "lib/modules", ctx->release, NULL);
	}
	if (!(ctx->moddb = vv_moddb_open(ctx, error)))
		return NULL;

	/* A sysroot may carry its own names database (a support snapshot, the
	 * tests); otherwise libpci's default is used. */
	pci_ids = g_build_filename(ctx->sysroot, "usr/share/misc/pci.ids", NULL);
	/* libpci opens it by name: give it the name resolved beneath the
	 * sysroot, so that a link in the sysroot cannot lead it outside. */
	if (vv_sysfs_is_file(ctx, pci_ids))
		ctx->pci_ids = vv_sysfs_realpath(ctx, pci_ids);

	return g_steal_pointer(&ctx);
}

VV_EXPORT vv_ctx *
vv_ctx_ref(vv_ctx *ctx)
{
	g_atomic_int_inc(&ctx->ref);
	return ctx;
}

VV_EXPORT void
vv_ctx_unref(vv_ctx *ctx)
{
	if (!ctx || !g_atomic_int_dec_and_test(&ctx->ref))
		return;
	vv_pciids_close(ctx);
	vv_sysfs_close_anchors(ctx);
	vv_moddb_free(ctx->moddb);
	vv_libvirt_aliases_free(ctx->libvirt_aliases);
	g_free(ctx->sysroot);
	g_free(ctx->sys_dir);
	g_free(ctx->state_dir);
	g_free(ctx->config_file);
	vv_policy_rules_free(ctx->policy);
	g_free(ctx->modules_dir);
	g_free(ctx->release);
	g_free(ctx->pci_ids);
	g_free(ctx);
}

VV_EXPORT const char *
vv_ctx_get_sysroot(const vv_ctx *ctx)
{
	return ctx->sysroot;
}

VV_EXPORT const char *
vv_ctx_get_modules_dir(const vv_ctx *ctx)
{
	return ctx->modules_dir;
}

VV_EXPORT const char *
vv_ctx_get_kernel_release(const vv_ctx *ctx)
{
	return ctx->release;
}

VV_EXPORT const char *
vv_ctx_get_state_dir(const vv_ctx *ctx)
{
	return ctx->state_dir;
}

VV_EXPORT const char *
vv_ctx_get_config_file(const vv_ctx *ctx)
{
	return ctx->config_file;
}
