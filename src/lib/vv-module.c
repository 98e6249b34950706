/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Module names and the PCI driver names they register. The two differ
 * (xe_vfio_pci registers "xe-vfio-pci"), and driver_override takes the
 * driver name: writing the module name leaves the device driverless.
 */
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT */
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <string.h>

#include "vv-private.h"

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
	g_autoptr(GPtrArray) links = vv_sysfs_list(ctx, module_drivers);
	g_autofree char *drivers = NULL;
	g_autoptr(GPtrArray) registered = NULL;

	for (guint i = 0; i < links->len; i++) {
		const char *link = g_ptr_array_index(links, i);

		if (g_str_has_prefix(link, "pci:"))
			return g_strdup(link + strlen("pci:"));
	}
	if (!vv_moddb_is_builtin_module(ctx->moddb, module))
		return NULL;

	drivers = vv_sysfs_drivers_dir(ctx);
	registered = vv_sysfs_list(ctx, drivers);
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
	const char *cached = g_hash_table_lookup(ctx->moddb->module_drivers, module);
	char *driver;

	/* "" caches "not known": a module loaded through vv_module_load()
	 * forgets it; one loaded behind the context's back is seen by the
	 * next context. */
	if (cached)
		return *cached ? g_strdup(cached) : NULL;
	/* "../module/vfio_pci" would find vfio_pci's directory: no path. */
	if (!vv_name_is_module(module))
		return NULL;
	driver = vv_module_find_driver_name(ctx, module);
	g_hash_table_insert(ctx->moddb->module_drivers, g_strdup(module), g_strdup(driver ? driver : ""));
	return driver;
}

/* Loaded as the sysroot sees it (sys/module/M/initstate is "live"), or
 * built in. The sysroot, not the process's /sys, is the truth: it is the
 * host whose devices are being bound. */
gboolean
vv_module_is_loaded(vv_ctx *ctx, const char *module)
{
	g_autofree char *normalized = vv_module_normalize(module);
	g_autofree char *initstate = vv_sysfs_module_file(ctx, normalized, "initstate");
	g_autofree char *state = vv_sysfs_read_attribute(ctx, initstate, NULL);
	g_autoptr(vv_kmod_module) mod = NULL;

	/* "../module/vfio_pci" would read vfio_pci's state: no path. */
	if (!vv_name_is_module(normalized))
		return FALSE;
	if (state && g_str_equal(state, "live"))
		return TRUE;
	/* libkmod answers "built in" from the module directory's
	 * modules.builtin.bin, before it looks at any /sys. */
	return kmod_module_new_from_name(ctx->moddb->kmod_indexes, normalized, &mod) == 0 &&
	       kmod_module_get_initstate(mod) == KMOD_MODULE_BUILTIN;
}

/*
 * The test suite's guard for module loads. VV_TESTSUITE promises that no
 * test changes this machine. A sysfs write is held by its path
 * (vv_sysfs_guard_live_host), but a module load has no path: libkmod's
 * finit_module() and init_module() reach the running kernel whatever
 * sysroot the context names, so a sysroot proves nothing here. What does
 * prove that a load cannot reach the kernel is that the entry points
 * libkmod calls are not the C library's own: kmod calls
 * syscall(__NR_finit_module) (or finit_module() where libc has it) and
 * init_module() for compressed modules, and the dynamic linker binds those
 * calls to the first definition in the process, the one dlsym(RTLD_DEFAULT)
 * finds. A test that simulates the kernel interposes them (LD_PRELOAD);
 * when any one of them is still libc's, nothing stands between the load
 * and the kernel, and the load is refused before libkmod is asked. This
 * names no simulator and trusts no variable a test could set by mistake;
 * it errs on the safe side (an interposer that passes calls on is not
 * detected, but no test has reason to write one).
 */
static gboolean
vv_module_guard_live_kernel(const char *module, GError **error)
{
	static const char *const entries[] = { "syscall", "finit_module", "init_module" };
	Dl_info libc, entry;

	if (!g_getenv("VV_TESTSUITE"))
		return TRUE;
	if (!dladdr((void *)gnu_get_libc_version, &libc))
		libc.dli_fbase = NULL;
	for (guint i = 0; i < G_N_ELEMENTS(entries); i++) {
		void *symbol = dlsym(RTLD_DEFAULT, entries[i]);

		if (!symbol)
			continue; /* nobody can call it */
		if (!libc.dli_fbase || !dladdr(symbol, &entry) || entry.dli_fbase == libc.dli_fbase) {
			g_set_error(error, VV_ERROR, VV_ERROR_LIVE_HOST,
				    _("Refusing to load the module %1$s: the test suite (VV_TESTSUITE is set) may not load modules into the running kernel, and %2$s() here is the C library's own, which reaches it."),
				    module, entries[i]);
			return FALSE;
		}
	}
	return TRUE;
}

/*
 * Load MODULE by name for the device ADDRESS. modprobe.d's blacklist is
 * honoured, as the selection honours it (a load by name would ignore it).
 * A module loaded behind our back since we looked gives EEXIST: success.
 * A sysroot's install commands are not run: they were written for another
 * root than this process's.
 */
gboolean
vv_module_load(vv_ctx *ctx, const char *module, const char *address, GError **error)
{
	g_autoptr(vv_kmod_module) mod = NULL;
	unsigned int flags = KMOD_PROBE_APPLY_BLACKLIST;
	int err;

	if (!vv_module_guard_live_kernel(module, error))
		return FALSE;
	if (!vv_sysfs_guard_live_host(ctx, NULL, error))
		return FALSE;
	/* Whoever called, nothing that is not a module name reaches libkmod. */
	if (!vv_name_is_module(module))
		return vv_name_check(module, VV_NAME_MODULE, address, error);
	if (vv_moddb_is_blacklisted(ctx->moddb, module)) {
		g_set_error(error, VV_ERROR, VV_ERROR_BLACKLISTED,
			    _("Cannot load the module %1$s for %2$s: modprobe.d blacklists it."),
			    module, address);
		return FALSE;
	}
	if (!g_str_equal(ctx->sysroot, "/"))
		flags |= KMOD_PROBE_IGNORE_COMMAND;
	err = kmod_module_new_from_name(ctx->moddb->kmod_config, module, &mod);
	if (err == 0)
		err = kmod_module_probe_insert_module(mod, flags, NULL, NULL, NULL, NULL);
	if (err == -EEXIST || err == 0) {
		g_hash_table_remove(ctx->moddb->module_drivers, module);
		return TRUE;
	}
	if (err > 0) /* KMOD_PROBE_APPLY_BLACKLIST: blacklisted after all */
		err = -EPERM;
	if (err == -ENOENT)
		g_set_error(error, VV_ERROR, VV_ERROR_MODULE_LOAD,
			    _("Cannot load the module %1$s for %2$s: %3$s has no such module. Install it, or choose another driver."),
			    module, address, ctx->modules_dir);
	else
		g_set_error(error, VV_ERROR, VV_ERROR_MODULE_LOAD,
			    _("Cannot load the module %1$s for %2$s: %3$s. See the kernel log (dmesg)."),
			    module, address, g_strerror(-err));
	return FALSE;
}

/*
 * NAME as a user writes it (--driver, the policy, a domain's <driver
 * model>): a registered driver's name gives that driver and its module;
 * anything else is a module name ('-' folded to '_'), whose driver is
 * known once it is loaded (*DRIVER NULL until then).
 */
void
vv_module_resolve(vv_ctx *ctx, const char *name, char **module, char **driver)
{
	g_autofree char *driver_dir = vv_sysfs_driver_dir(ctx, name);

	/* "..", "/" or "" would name another directory than a driver's: such
	 * a name is neither a driver nor a module, and vv_module_load()
	 * refuses it, saying why. */
	if (!vv_name_is_driver(name)) {
		*module = g_strdup(name);
		*driver = NULL;
		return;
	}

	if (vv_sysfs_is_dir(ctx, driver_dir)) {
		g_autofree char *module_link = vv_sysfs_driver_file(ctx, name, "module");

		*driver = g_strdup(name);
		*module = vv_sysfs_link_name(ctx, module_link);
		return;
	}
	*module = vv_module_normalize(name);
	*driver = vv_module_driver_name(ctx, *module);
}

/* The module is loaded, built in, or in the module directory's index. */
gboolean
vv_module_exists(vv_ctx *ctx, const char *module)
{
	g_autoptr(vv_kmod_module) mod = NULL;

	if (vv_module_is_loaded(ctx, module))
		return TRUE;
	return kmod_module_new_from_name(ctx->moddb->kmod_indexes, module, &mod) == 0 &&
	       kmod_module_get_path(mod) != NULL;
}

VV_EXPORT char *
vv_ctx_load_driver(vv_ctx *ctx, const char *name, const char *device, GError **error)
{
	g_autofree char *module = NULL;
	g_autofree char *driver = NULL;

	if (!vv_name_check(name, VV_NAME_DRIVER, device ? device : _("the driver to load"), error))
		return NULL;
	vv_module_resolve(ctx, name, &module, &driver);
	if (driver)
		return g_steal_pointer(&driver);
	if (!vv_module_is_loaded(ctx, module) && !vv_module_load(ctx, module, device ? device : name, error))
		return NULL;
	driver = vv_module_driver_name(ctx, module);
	if (!driver)
		g_set_error(error, VV_ERROR, VV_ERROR_NO_PCI_DRIVER,
			    _("The module %1$s is loaded but sysfs shows no PCI driver of it (no sys/module/%1$s/drivers/pci:*); it cannot serve %2$s."),
			    module, device ? device : name);
	return g_steal_pointer(&driver);
}

/* A module is a VFIO driver when vfio_pci: aliases say so: its own (the
 * .ko's modinfo, what modules.alias is made of), the built-in alias index
 * for a built-in driver, or a modprobe.d alias. */
static gboolean
vv_module_is_vfio(vv_ctx *ctx, const char *module)
{
	if (g_str_equal(module, VV_VFIO_PCI_MODULE) || vv_moddb_is_builtin_module(ctx->moddb, module) ||
	    vv_moddb_get_module_patterns(ctx->moddb, module)->len > 0)
		return TRUE;
	for (guint i = 0; i < ctx->moddb->config_aliases->len; i++) {
		const vv_alias *alias = g_ptr_array_index(ctx->moddb->config_aliases, i);

		if (vv_names_equal_folded(alias->module, module))
			return TRUE;
	}
	return FALSE;
}

VV_EXPORT gboolean
vv_ctx_is_vfio_driver(vv_ctx *ctx, const char *name)
{
	g_autofree char *module = NULL;
	g_autofree char *driver = NULL;
	g_autofree char *normalized = NULL;

	if (!vv_name_is_driver(name))
		return FALSE;
	vv_module_resolve(ctx, name, &module, &driver);
	if (module) {
		normalized = vv_module_normalize(module);
		return vv_name_is_module(normalized) && vv_module_is_vfio(ctx, normalized);
	}
	/* A registered driver without a module link (built in): its name
	 * with '-' folded is its module's. */
	normalized = vv_module_normalize(name);
	return vv_name_is_module(normalized) && vv_module_is_vfio(ctx, normalized);
}
