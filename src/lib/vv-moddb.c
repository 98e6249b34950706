/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The module database of one context: what the module directory and
 * modprobe.d say about VFIO drivers. Two libkmod views (the indexes alone,
 * and with modprobe.d), the built-in alias index's vfio_pci: entries,
 * modprobe.d's vfio_pci: aliases and blacklist, and the caches of each
 * module's own patterns and registered driver name. Opened by vv_ctx_new()
 * on the context's roots; it calls nothing in vv-ctx.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vv-private.h"


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
vv_moddb_kmod_log(void *data, int priority, const char *file, int line,
		const char *fn, const char *format, va_list args)
{
	g_autofree char *message = g_strdup_vprintf(format, args);

	g_debug("libkmod: %s", g_strchomp(message));
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
 * here and reported by vv_moddb_require_indexes(), when selection asks. */
static gboolean
vv_moddb_open_kmod(vv_moddb *db, const vv_ctx *ctx, GError **error)
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

	db->kmod_indexes = kmod_new(ctx->modules_dir, no_config);
	db->kmod_config = kmod_new(ctx->modules_dir, (const char *const *)config_paths->pdata);
	if (!db->kmod_indexes || !db->kmod_config) {
		g_set_error(error, VV_ERROR, VV_ERROR_MODULES,
			    _("libkmod cannot open the module directory %s."), ctx->modules_dir);
		return FALSE;
	}
	kmod_set_log_fn(db->kmod_indexes, vv_moddb_kmod_log, NULL);
	kmod_set_log_fn(db->kmod_config, vv_moddb_kmod_log, NULL);

	if (!vv_sysfs_is_file(ctx, alias_index)) {
		g_set_error(&db->indexes_error, VV_ERROR, VV_ERROR_MODULES,
			    _("The module directory %1$s has no modules.alias.bin: depmod has not indexed it ('depmod %2$s' does)."),
			    ctx->modules_dir, ctx->release);
		return TRUE;
	}
	err = kmod_load_resources(db->kmod_indexes);
	if (err < 0)
		g_set_error(&db->indexes_error, VV_ERROR, VV_ERROR_MODULES,
			    _("libkmod cannot load the indexes of %1$s: %2$s ('depmod %3$s' rebuilds them)."),
			    ctx->modules_dir, g_strerror(-err), ctx->release);
	return TRUE;
}

gboolean
vv_moddb_require_indexes(const vv_moddb *db, GError **error)
{
	if (!db->indexes_error)
		return TRUE;
	g_propagate_error(error, g_error_copy(db->indexes_error));
	return FALSE;
}

/* The built-in alias index is small (about 1 KiB on Debian 12), so its
 * vfio_pci: entries are read once. libkmod never consults it for a key that
 * modules.alias.bin already answers, and a built-in variant next to a
 * modular vfio_pci must still be found. */
static void
vv_moddb_read_builtin_aliases(vv_moddb *db)
{
	int fd = memfd_create("vfio-variant-builtin-alias", MFD_CLOEXEC);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	off_t size;

	if (fd < 0)
		return;
	/* An absent modules.builtin.alias.bin (older depmod) means none. */
	if (kmod_dump_index(db->kmod_indexes, KMOD_INDEX_MODULES_BUILTIN_ALIAS, fd) < 0 ||
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
		g_ptr_array_add(db->builtin_aliases, alias);
	}
}

static void
vv_moddb_read_config(vv_moddb *db)
{
	struct kmod_config_iter *iter;

	iter = kmod_config_get_aliases(db->kmod_config);
	while (iter && kmod_config_iter_next(iter)) {
		const char *pattern = kmod_config_iter_get_key(iter);
		vv_alias *alias;

		if (!g_str_has_prefix(pattern, "vfio_pci:"))
			continue;
		alias = g_new0(vv_alias, 1);
		alias->pattern = g_strdup(pattern);
		alias->module = vv_module_normalize(kmod_config_iter_get_value(iter));
		alias->source = VV_ALIAS_SOURCE_CONFIG;
		g_ptr_array_add(db->config_aliases, alias);
	}
	kmod_config_iter_free_iter(iter);

	iter = kmod_config_get_blacklists(db->kmod_config);
	while (iter && kmod_config_iter_next(iter))
		g_hash_table_add(db->blacklist, vv_module_normalize(kmod_config_iter_get_key(iter)));
	kmod_config_iter_free_iter(iter);
}

/* Opened on CTX's roots (its module directory, release and sysroot). */
vv_moddb *
vv_moddb_open(const vv_ctx *ctx, GError **error)
{
	g_autoptr(vv_moddb) db = g_new0(vv_moddb, 1);

	db->builtin_aliases = g_ptr_array_new_with_free_func((GDestroyNotify)vv_alias_free);
	db->config_aliases = g_ptr_array_new_with_free_func((GDestroyNotify)vv_alias_free);
	db->blacklist = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	db->module_patterns = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						    (GDestroyNotify)g_ptr_array_unref);
	db->module_drivers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (!vv_moddb_open_kmod(db, ctx, error))
		return NULL;
	vv_moddb_read_builtin_aliases(db);
	vv_moddb_read_config(db);
	return g_steal_pointer(&db);
}

void
vv_moddb_free(vv_moddb *db)
{
	if (!db)
		return;
	if (db->kmod_indexes)
		kmod_unref(db->kmod_indexes);
	if (db->kmod_config)
		kmod_unref(db->kmod_config);
	g_clear_error(&db->indexes_error);
	g_ptr_array_unref(db->builtin_aliases);
	g_ptr_array_unref(db->config_aliases);
	g_hash_table_unref(db->blacklist);
	g_hash_table_unref(db->module_patterns);
	g_hash_table_unref(db->module_drivers);
	g_free(db);
}


/* A module's own vfio_pci: patterns, from its modinfo (the .ko, or
 * modules.builtin.modinfo): libkmod says which modules match a key but not
 * through which pattern. Cached: one read per module per context. */
GPtrArray *
vv_moddb_get_module_patterns(vv_moddb *db, const char *module)
{
	g_autoptr(vv_kmod_module) mod = NULL;
	struct kmod_list *info = NULL, *item;
	GPtrArray *patterns = g_hash_table_lookup(db->module_patterns, module);

	if (patterns)
		return patterns;

	patterns = g_ptr_array_new_with_free_func(g_free);
	if (kmod_module_new_from_name(db->kmod_indexes, module, &mod) == 0 &&
	    kmod_module_get_info(mod, &info) >= 0) {
		kmod_list_foreach(item, info) {
			const char *key = kmod_module_info_get_key(item);
			const char *value = kmod_module_info_get_value(item);

			if (g_str_equal(key, "alias") && value && g_str_has_prefix(value, "vfio_pci:"))
				g_ptr_array_add(patterns, g_strdup(value));
		}
		kmod_module_info_free_list(info);
	}
	g_hash_table_insert(db->module_patterns, g_strdup(module), patterns);
	return patterns;
}

/* Built-in VFIO drivers are those with entries in the built-in alias index. */
gboolean
vv_moddb_is_builtin_module(const vv_moddb *db, const char *module)
{
	for (guint i = 0; i < db->builtin_aliases->len; i++) {
		vv_alias *alias = g_ptr_array_index(db->builtin_aliases, i);

		if (vv_names_equal_folded(alias->module, module))
			return TRUE;
	}
	return FALSE;
}

gboolean
vv_moddb_is_blacklisted(const vv_moddb *db, const char *module)
{
	g_autofree char *normalized = vv_module_normalize(module);

	return g_hash_table_contains(db->blacklist, normalized);
}
