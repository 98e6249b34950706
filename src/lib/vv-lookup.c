/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which `vfio_pci:` aliases match a key, from every source modprobe knows.
 *
 * libkmod is the matcher. kmod_module_new_from_lookup() stops at the first
 * source that answers (modprobe.d, then modules.alias.bin, then
 * modules.builtin.alias.bin), so a single call would hide a built-in variant
 * behind a modular vfio_pci, or the index behind a modprobe.d alias. So:
 * 1. libkmod answers from the indexes alone (a context without modprobe.d);
 *    each module it names is tied to the pattern(s) of its own modinfo that
 *    match the key, since libkmod does not say which pattern matched;
 * 2. the built-in index's and modprobe.d's vfio_pci: entries (read once per
 *    context) are matched with the same fnmatch() libkmod uses.
 */
#include <errno.h>

#include "vv-private.h"

static void
vv_lookup_add(GPtrArray *matches, const char *pattern, const char *module, vv_alias_source source)
{
	vv_alias *alias = g_new0(vv_alias, 1);

	alias->pattern = g_strdup(pattern);
	alias->module = vv_module_normalize(module);
	alias->source = source;
	g_ptr_array_add(matches, alias);
}

static void
vv_lookup_match_table(GPtrArray *table, const char *key, GPtrArray *matches)
{
	for (guint i = 0; i < table->len; i++) {
		vv_alias *alias = g_ptr_array_index(table, i);

		if (vv_alias_matches(alias->pattern, key))
			vv_lookup_add(matches, alias->pattern, alias->module, alias->source);
	}
}

/* Every (pattern, module, source) whose pattern matches KEY; one module can
 * appear more than once. The pattern is NULL when libkmod named a module
 * whose modinfo holds no matching pattern (an index out of date with its
 * .ko files). */
GPtrArray *
vv_lookup_aliases(vv_ctx *ctx, const char *key, GError **error)
{
	g_autoptr(GPtrArray) matches = g_ptr_array_new_with_free_func((GDestroyNotify)vv_alias_free);
	struct kmod_list *list = NULL, *item;
	int err;

	/* The one reader of the indexes (see vv_ctx_open_kmod). */
	if (!vv_moddb_require_indexes(ctx->moddb, error))
		return NULL;
	err = kmod_module_new_from_lookup(ctx->moddb->kmod_indexes, key, &list);
	if (err < 0) {
		g_set_error(error, VV_ERROR, VV_ERROR_MODULES,
			    _("libkmod cannot look up %1$s in %2$s: %3$s."),
			    key, ctx->modules_dir, g_strerror(-err));
		return NULL;
	}
	kmod_list_foreach(item, list) {
		struct kmod_module *mod = kmod_module_get_module(item);
		const char *module = kmod_module_get_name(mod);
		GPtrArray *patterns;
		gboolean found = FALSE;

		/* Built-in modules come from the table below, with their source. */
		if (!vv_moddb_is_builtin_module(ctx->moddb, module)) {
			patterns = vv_moddb_get_module_patterns(ctx->moddb, module);
			for (guint i = 0; i < patterns->len; i++) {
				const char *pattern = g_ptr_array_index(patterns, i);

				if (vv_alias_matches(pattern, key)) {
					vv_lookup_add(matches, pattern, module, VV_ALIAS_SOURCE_MODULES_ALIAS);
					found = TRUE;
				}
			}
			if (!found)
				vv_lookup_add(matches, NULL, module, VV_ALIAS_SOURCE_MODULES_ALIAS);
		}
		kmod_module_unref(mod);
	}
	kmod_module_unref_list(list);

	vv_lookup_match_table(ctx->moddb->builtin_aliases, key, matches);
	vv_lookup_match_table(ctx->moddb->config_aliases, key, matches);
	return g_steal_pointer(&matches);
}
