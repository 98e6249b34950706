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

	/* "" caches "not known", for the selection: a thousand VFs ask
	 * about one unloaded variant. It is never what a bind decides on:
	 * vv_module_loaded_driver_name() reads again. */
	if (cached)
		return *cached ? g_strdup(cached) : NULL;
	/* "../module/vfio_pci" would find vfio_pci's directory: no path. */
	if (!vv_name_is_module(module))
		return NULL;
	driver = vv_module_find_driver_name(ctx, module);
	g_hash_table_insert(ctx->moddb->module_drivers, g_strdup(module), g_strdup(driver ? driver : ""));
	return driver;
}

/*
 * The driver MODULE registered, once it was loaded or found live: "not
 * known", kept from before (the selection), is read again. Another process
 * may have loaded the module since (a second apply at the same udev event,
 * a modprobe): this context then finds it live, loads nothing, and must
 * not answer from what it saw before.
 */
char *
vv_module_loaded_driver_name(vv_ctx *ctx, const char *module)
{
	const char *cached = g_hash_table_lookup(ctx->moddb->module_drivers, module);

	if (cached && !*cached)
		g_hash_table_remove(ctx->moddb->module_drivers, module);
	return vv_module_driver_name(ctx, module);
}

typedef enum {
	VV_MODULE_ABSENT,  /* not loaded (not in sys/module) */
	VV_MODULE_COMING,  /* being loaded: its init, which registers its drivers, has not returned */
	VV_MODULE_LIVE,    /* loaded, or built in */
	VV_MODULE_GOING,   /* being unloaded */
} vv_module_state;

/*
 * MODULE's state as the sysroot shows it. sys/module/M/initstate is
 * "coming" while the module's init runs, and turns "live" only after it
 * returned: a PCI driver's init registers the driver (drivers/D and the
 * pci:D link) first. sys/module/M without initstate is a built-in module,
 * or one whose sysfs directory is still being filled (kmod reads that as
 * coming too, unless the module directory's index says built in).
 */
static vv_module_state
vv_module_get_state(vv_ctx *ctx, const char *name)
{
	g_autofree char *module = vv_module_normalize(name); /* sysfs names it with '_' */
	g_autofree char *initstate = vv_sysfs_module_file(ctx, module, "initstate");
	g_autofree char *state = vv_sysfs_read_attribute(ctx, initstate, NULL);
	g_autofree char *dir = NULL;

	if (state && g_str_equal(state, "live"))
		return VV_MODULE_LIVE;
	if (state && g_str_equal(state, "coming"))
		return VV_MODULE_COMING;
	if (state && g_str_equal(state, "going"))
		return VV_MODULE_GOING;
	if (vv_moddb_is_builtin_module(ctx->moddb, module))
		return VV_MODULE_LIVE;
	dir = vv_sysfs_module_file(ctx, module, NULL);
	return vv_sysfs_is_dir(ctx, dir) ? VV_MODULE_COMING : VV_MODULE_ABSENT;
}

/*
 * Wait until MODULE, which someone is loading, is live: at most
 * VV_MODULE_LIVE_TIMEOUT_MS, polling every 5 ms at first, then less often
 * (at most every 50 ms). Linux's finit_module() waits for a module that is
 * coming and then says EEXIST, but it waits without a bound (a module whose
 * init hangs holds every later loader of it), and a loader may return
 * before the module is live; either way the driver name is read only once
 * the init returned. Returns the state the wait ended on: live, absent
 * (the other load failed and the module went away), going, or still coming
 * at the deadline. *WAITED: the milliseconds it took.
 */
static vv_module_state
vv_module_wait_live(vv_ctx *ctx, const char *module, guint *waited)
{
	gint64 start = g_get_monotonic_time();
	gint64 deadline = start + (gint64)VV_MODULE_LIVE_TIMEOUT_MS * 1000;
	gulong pause = 5000;
	vv_module_state state;

	while ((state = vv_module_get_state(ctx, module)) == VV_MODULE_COMING && g_get_monotonic_time() < deadline) {
		g_usleep(pause);
		pause = MIN(pause * 2, 50000);
	}
	*waited = (guint)((g_get_monotonic_time() - start) / 1000);
	return state;
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
 * After MODULE was found being loaded by someone else, or loaded (EEXIST
 * included): wait until it is live (vv_module_wait_live), so that the
 * driver it registers is there to be read. *GONE: it went away while
 * coming (that load failed), and may be loaded again. FALSE, with ERROR
 * set, when it did not become live in time or is being unloaded; nothing
 * was changed by then, so the caller's rollback leaves the device as it
 * was.
 */
static gboolean
vv_module_settle(vv_ctx *ctx, const char *module, const char *address, gboolean *gone, GError **error)
{
	guint waited = 0;
	vv_module_state state = vv_module_wait_live(ctx, module, &waited);

	*gone = state == VV_MODULE_ABSENT;
	if (state == VV_MODULE_LIVE || state == VV_MODULE_ABSENT) {
		g_hash_table_remove(ctx->moddb->module_drivers, module);
		if (waited > 0)
			g_debug("waited %u ms for the module %s to be live", waited, module);
		return TRUE;
	}
	if (state == VV_MODULE_GOING)
		g_set_error(error, VV_ERROR, VV_ERROR_MODULE_LOAD,
			    _("Cannot use the module %1$s for %2$s: it is being unloaded (sys/module/%1$s/initstate is 'going'). Try again once it is gone."),
			    module, address);
	else
		g_set_error(error, VV_ERROR, VV_ERROR_MODULE_LOAD,
			    _("Cannot use the module %1$s for %2$s: it is still being loaded after %3$u ms (sys/module/%1$s/initstate is 'coming'), so its driver is not registered yet. See the kernel log (dmesg), and try again once it is live."),
			    module, address, waited);
	return FALSE;
}

/*
 * Load MODULE by name for the device ADDRESS. modprobe.d's blacklist is
 * honoured, as the selection honours it (a load by name would ignore it).
 * A module loaded behind our back since we looked gives EEXIST: success.
 * A module someone else is loading (coming) is waited for, bounded, and
 * not loaded again; a load that returns (EEXIST too) is followed by the
 * same wait, so that the caller reads the driver of a live module. Two
 * applies at one udev event load one module this way.
 * A sysroot's install commands are not run: they were written for another
 * root than this process's.
 */
gboolean
vv_module_load(vv_ctx *ctx, const char *module, const char *address, GError **error)
{
	g_autoptr(vv_kmod_module) mod = NULL;
	unsigned int flags = KMOD_PROBE_APPLY_BLACKLIST;
	gboolean gone = FALSE;
	vv_module_state state;
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
	/* Coming: another loader's init runs. finit_module() would wait for
	 * it without a bound; this waits with one. Going: no load can take
	 * its place until it is gone. */
	state = vv_module_get_state(ctx, module);
	if (state == VV_MODULE_COMING || state == VV_MODULE_GOING) {
		if (!vv_module_settle(ctx, module, address, &gone, error))
			return FALSE;
		if (!gone)
			return TRUE;
		/* That load failed and the module went away: ours now. */
	}
	err = kmod_module_new_from_name(ctx->moddb->kmod_config, module, &mod);
	if (err == 0)
		err = kmod_module_probe_insert_module(mod, flags, NULL, NULL, NULL, NULL);
	if (err == -EEXIST || err == 0)
		return vv_module_settle(ctx, module, address, &gone, error);
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
	driver = vv_module_loaded_driver_name(ctx, module);
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
