/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The context: every root the library reads (sysfs, the module directory,
 * modprobe.d, pci.ids) is fixed here, once, and nothing below it reads a
 * fixed path. It also owns libkmod and the per-host caches.
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

VV_EXPORT void
vv_ctx_options_set_sysroot(vv_ctx_options *options, const char *dir)
{
	g_free(options->sysroot);
	options->sysroot = g_strdup(dir);
}

VV_EXPORT void
vv_ctx_options_set_modules_dir(vv_ctx_options *options, const char *dir)
{
	g_free(options->modules_dir);
	options->modules_dir = g_strdup(dir);
}

VV_EXPORT void
vv_ctx_options_set_config_file(vv_ctx_options *options, const char *file)
{
	g_free(options->config_file);
	options->config_file = g_strdup(file);
}

VV_EXPORT void
vv_ctx_options_set_state_dir(vv_ctx_options *options, const char *dir)
{
	g_free(options->state_dir);
	options->state_dir = g_strdup(dir);
}

void
vv_alias_free(vv_alias *alias)
{
	if (!alias)
		return;
	g_free(alias->pattern);
	g_free(alias->module);
	g_free(alias);
}

static void G_GNUC_PRINTF(6, 0)
vv_ctx_kmod_log(void *data, int priority, const char *file, int line,
		const char *fn, const char *format, va_list args)
{
	g_autofree char *message = g_strdup_vprintf(format, args);

	g_debug("libkmod: %s", g_strchomp(message));
}

static void
vv_ctx_bind_textdomain(void)
{
	static gsize done;

	if (g_once_init_enter(&done)) {
		bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
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

	g_set_error(error, VV_ERROR, VV_ERROR_NOT_FOUND,
		    _("Cannot tell which kernel %1$s runs: %2$s is missing and %3$s does not hold exactly one kernel; give the module directory with --modules-dir."),
		    sysroot, osrelease, modules_root);
	return NULL;
}

/* libkmod without configuration answers from the indexes alone, with it
 * from modprobe.d too; see struct vv_ctx.
 *
 * Only the selection needs the indexes (which module's vfio_pci: alias
 * matches a device). Giving a device back needs none: its native driver
 * is named in its record and usually still loaded or built in, and a load
 * by name is tried even so. A host whose module directory is missing or
 * unindexed (a container; a kernel whose modules an upgrade removed) must
 * still be able to give its devices back, so a missing index is noted
 * here and reported by vv_ctx_require_indexes(), when selection asks. */
static gboolean
vv_ctx_open_kmod(vv_ctx *ctx, GError **error)
{
	static const char *const no_config[] = { NULL };
	const char *config_dirs[] = { "etc/modprobe.d", "run/modprobe.d",
				      "usr/local/lib/modprobe.d", "lib/modprobe.d", NULL };
	g_autoptr(GPtrArray) config_paths = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *alias_index = g_build_filename(ctx->modules_dir, "modules.alias.bin", NULL);
	int err;

	for (guint i = 0; config_dirs[i]; i++)
		g_ptr_array_add(config_paths, g_build_filename(ctx->sysroot, config_dirs[i], NULL));
	g_ptr_array_add(config_paths, NULL);

	ctx->kmod_indexes = kmod_new(ctx->modules_dir, no_config);
	ctx->kmod_config = kmod_new(ctx->modules_dir, (const char *const *)config_paths->pdata);
	if (!ctx->kmod_indexes || !ctx->kmod_config) {
		g_set_error(error, VV_ERROR, VV_ERROR_MODULES,
			    _("libkmod cannot open the module directory %s."), ctx->modules_dir);
		return FALSE;
	}
	kmod_set_log_fn(ctx->kmod_indexes, vv_ctx_kmod_log, NULL);
	kmod_set_log_fn(ctx->kmod_config, vv_ctx_kmod_log, NULL);

	if (!vv_sysfs_is_file(ctx, alias_index)) {
		g_set_error(&ctx->indexes_error, VV_ERROR, VV_ERROR_MODULES,
			    _("The module directory %1$s has no modules.alias.bin; run 'depmod %2$s' there, or give another directory with --modules-dir."),
			    ctx->modules_dir, ctx->release);
		return TRUE;
	}
	err = kmod_load_resources(ctx->kmod_indexes);
	if (err < 0)
		g_set_error(&ctx->indexes_error, VV_ERROR, VV_ERROR_MODULES,
			    _("libkmod cannot load the indexes of %1$s: %2$s. Run 'depmod %3$s' there."),
			    ctx->modules_dir, g_strerror(-err), ctx->release);
	return TRUE;
}

gboolean
vv_ctx_require_indexes(vv_ctx *ctx, GError **error)
{
	if (!ctx->indexes_error)
		return TRUE;
	g_propagate_error(error, g_error_copy(ctx->indexes_error));
	return FALSE;
}

/* The built-in alias index is small (about 1 KiB on Debian 12), so its
 * vfio_pci: entries are read once. libkmod never consults it for a key that
 * modules.alias.bin already answers, and a built-in variant next to a
 * modular vfio_pci must still be found. */
static void
vv_ctx_read_builtin_aliases(vv_ctx *ctx)
{
	int fd = memfd_create("vfio-variant-builtin-alias", MFD_CLOEXEC);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	off_t size;

	if (fd < 0)
		return;
	/* An absent modules.builtin.alias.bin (older depmod) means none. */
	if (kmod_dump_index(ctx->kmod_indexes, KMOD_INDEX_MODULES_BUILTIN_ALIAS, fd) < 0 ||
	    (size = lseek(fd, 0, SEEK_END)) <= 0) {
		close(fd);
		return;
	}
	text = g_malloc0(size + 1);
	if (pread(fd, text, size, 0) != size) {
		close(fd);
		return;
	}
	close(fd);

	/* kmod 30 dumps this index as "PATTERN MODULE" lines (the alias index
	 * gets an "alias " prefix; accept both). */
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		g_auto(GStrv) words = g_strsplit(lines[i], " ", -1);
		guint n = g_strv_length(words);
		guint first = n == 3 && g_str_equal(words[0], "alias") ? 1 : 0;
		vv_alias *alias;

		if (n - first != 2 || !g_str_has_prefix(words[first], "vfio_pci:"))
			continue;
		alias = g_new0(vv_alias, 1);
		alias->pattern = g_strdup(words[first]);
		alias->module = vv_module_normalize(words[first + 1]);
		alias->source = VV_ALIAS_SOURCE_BUILTIN;
		g_ptr_array_add(ctx->builtin_aliases, alias);
	}
}

static void
vv_ctx_read_config(vv_ctx *ctx)
{
	struct kmod_config_iter *iter;

	iter = kmod_config_get_aliases(ctx->kmod_config);
	while (iter && kmod_config_iter_next(iter)) {
		const char *pattern = kmod_config_iter_get_key(iter);
		vv_alias *alias;

		if (!g_str_has_prefix(pattern, "vfio_pci:"))
			continue;
		alias = g_new0(vv_alias, 1);
		alias->pattern = g_strdup(pattern);
		alias->module = vv_module_normalize(kmod_config_iter_get_value(iter));
		alias->source = VV_ALIAS_SOURCE_CONFIG;
		g_ptr_array_add(ctx->config_aliases, alias);
	}
	kmod_config_iter_free_iter(iter);

	iter = kmod_config_get_blacklists(ctx->kmod_config);
	while (iter && kmod_config_iter_next(iter))
		g_hash_table_add(ctx->blacklist, vv_module_normalize(kmod_config_iter_get_key(iter)));
	kmod_config_iter_free_iter(iter);
}

VV_EXPORT vv_ctx *
vv_ctx_new(const vv_ctx_options *options, GError **error)
{
	g_autoptr(vv_ctx) ctx = g_new0(vv_ctx, 1);
	g_autofree char *pci_bus = NULL;
	g_autofree char *pci_ids = NULL;

	vv_ctx_bind_textdomain();
	ctx->ref = 1;
	ctx->builtin_aliases = g_ptr_array_new_with_free_func((GDestroyNotify)vv_alias_free);
	ctx->config_aliases = g_ptr_array_new_with_free_func((GDestroyNotify)vv_alias_free);
	ctx->blacklist = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	ctx->module_patterns = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						     (GDestroyNotify)g_ptr_array_unref);
	ctx->module_drivers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	ctx->sysroot = g_canonicalize_filename(options && options->sysroot ? options->sysroot : "/", NULL);
	ctx->sys_dir = g_build_filename(ctx->sysroot, "sys", NULL);
	/* Records live with the host they describe: a sysroot's own run/. */
	ctx->state_dir = options && options->state_dir ?
			 g_canonicalize_filename(options->state_dir, NULL) :
			 g_build_filename(ctx->sysroot, "run/vfio-variant", NULL);
	/* The policy: the live host's SYSCONFDIR, or a sysroot's own etc/. */
	if (options && options->config_file) {
		ctx->config_file = g_canonicalize_filename(options->config_file, NULL);
		ctx->config_required = TRUE;
	} else if (g_str_equal(ctx->sysroot, "/")) {
		ctx->config_file = g_build_filename(VV_SYSCONFDIR, "vfio-variant/vfio-variant.conf", NULL);
	} else {
		ctx->config_file = g_build_filename(ctx->sysroot, "etc/vfio-variant/vfio-variant.conf", NULL);
	}
	pci_bus = g_build_filename(ctx->sys_dir, "bus/pci", NULL);
	if (!vv_sysfs_is_dir(ctx, pci_bus)) {
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_FOUND,
			    _("%s has no sys/bus/pci directory; give --sysroot a directory laid out like a host's root (DIR/sys, DIR/lib/modules)."),
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
	if (!vv_ctx_open_kmod(ctx, error))
		return NULL;

	vv_ctx_read_builtin_aliases(ctx);
	vv_ctx_read_config(ctx);

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
	if (ctx->kmod_indexes)
		kmod_unref(ctx->kmod_indexes);
	if (ctx->kmod_config)
		kmod_unref(ctx->kmod_config);
	g_clear_error(&ctx->indexes_error);
	g_ptr_array_unref(ctx->builtin_aliases);
	g_ptr_array_unref(ctx->config_aliases);
	g_hash_table_unref(ctx->blacklist);
	g_hash_table_unref(ctx->module_patterns);
	g_hash_table_unref(ctx->module_drivers);
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

/* A module's own vfio_pci: patterns, from its modinfo (the .ko, or
 * modules.builtin.modinfo): libkmod says which modules match a key but not
 * through which pattern. Cached: one read per module per context. */
GPtrArray *
vv_ctx_get_module_patterns(vv_ctx *ctx, const char *module)
{
	g_autoptr(vv_kmod_module) mod = NULL;
	struct kmod_list *info = NULL, *item;
	GPtrArray *patterns = g_hash_table_lookup(ctx->module_patterns, module);

	if (patterns)
		return patterns;

	patterns = g_ptr_array_new_with_free_func(g_free);
	if (kmod_module_new_from_name(ctx->kmod_indexes, module, &mod) == 0 &&
	    kmod_module_get_info(mod, &info) >= 0) {
		kmod_list_foreach(item, info) {
			const char *key = kmod_module_info_get_key(item);
			const char *value = kmod_module_info_get_value(item);

			if (g_str_equal(key, "alias") && value && g_str_has_prefix(value, "vfio_pci:"))
				g_ptr_array_add(patterns, g_strdup(value));
		}
		kmod_module_info_free_list(info);
	}
	g_hash_table_insert(ctx->module_patterns, g_strdup(module), patterns);
	return patterns;
}

/* Built-in VFIO drivers are those with entries in the built-in alias index. */
gboolean
vv_ctx_is_builtin_module(vv_ctx *ctx, const char *module)
{
	for (guint i = 0; i < ctx->builtin_aliases->len; i++) {
		vv_alias *alias = g_ptr_array_index(ctx->builtin_aliases, i);

		if (vv_names_equal_folded(alias->module, module))
			return TRUE;
	}
	return FALSE;
}

gboolean
vv_ctx_is_blacklisted(vv_ctx *ctx, const char *module)
{
	g_autofree char *normalized = vv_module_normalize(module);

	return g_hash_table_contains(ctx->blacklist, normalized);
}
