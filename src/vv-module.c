/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Module names and the PCI driver names they register. The two differ
 * (xe_vfio_pci registers "xe-vfio-pci"), and driver_override takes the
 * driver name: writing the module name leaves the device driverless.
 */
#include <string.h>

#include "vv-private.h"

/* Module names compare with '-' and '_' folded, as the kernel and kmod do. */
char *
vv_module_normalize(const char *name)
{
	char *normalized = g_strdup(name);

	g_strdelimit(normalized, "-", '_');
	return normalized;
}

gboolean
vv_names_equal_folded(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char ca = *a == '-' ? '_' : *a;
		char cb = *b == '-' ? '_' : *b;

		if (ca != cb)
			return FALSE;
	}
	return *a == *b;
}

/*
 * The driver name MODULE registers, or NULL when it cannot be known:
 * 1. sys/module/MODULE/drivers/pci:DRIVER, which the kernel creates for a
 *    loaded module's drivers (and for built-in ones that set a module name);
 * 2. a built-in driver without that link: the drivers directory entry whose
 *    name equals the module's with '-'/'_' folded;
 * 3. a module that is not loaded: unknown until it is (never guessed).
 * The answer is cached in the context (see vv_module_driver_name).
 */
static char *
vv_module_find_driver_name(vv_ctx *ctx, const char *module)
{
	g_autofree char *module_drivers = vv_sysfs_module_drivers_dir(ctx, module);
	g_autoptr(GPtrArray) links = vv_sysfs_list_dir(module_drivers);
	g_autofree char *drivers = NULL;
	g_autoptr(GPtrArray) registered = NULL;

	for (guint i = 0; i < links->len; i++) {
		const char *link = g_ptr_array_index(links, i);

		if (g_str_has_prefix(link, "pci:"))
			return g_strdup(link + strlen("pci:"));
	}
	if (!vv_ctx_is_builtin_module(ctx, module))
		return NULL;

	drivers = vv_sysfs_drivers_dir(ctx);
	registered = vv_sysfs_list_dir(drivers);
	for (guint i = 0; i < registered->len; i++) {
		const char *driver = g_ptr_array_index(registered, i);

		if (vv_names_equal_folded(driver, module))
			return g_strdup(driver);
	}
	return NULL;
}

char *
vv_module_driver_name(vv_ctx *ctx, const char *module)
{
	const char *cached = g_hash_table_lookup(ctx->module_drivers, module);
	char *driver;

	/* "" caches "not known": a later load through the library forgets it;
	 * forgets it; one loaded behind the context's back is seen by the
	 * next context. */
	if (cached)
		return *cached ? g_strdup(cached) : NULL;
	driver = vv_module_find_driver_name(ctx, module);
	g_hash_table_insert(ctx->module_drivers, g_strdup(module), g_strdup(driver ? driver : ""));
	return driver;
}
