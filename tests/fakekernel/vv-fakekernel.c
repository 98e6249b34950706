/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvv-fakekernel.so: the Linux 6.1 PCI driver core and module loader,
 * simulated on a sysroot for test processes (LD_PRELOAD): the code under test
 * writes ROOT/sys/... exactly as on a host. README.md has the reasons.
 *
 * Environment: VV_FAKEKERNEL_ROOT=DIR (required: unset, empty, "/" or in /sys,
 * /proc, /dev aborts at load); VV_FAKEKERNEL_LOG=FILE (appends "write
 * /sys/PATH VALUE -> ok|ENAME", "load M -> ...", "unload M -> ...");
 * VV_FAKEKERNEL_KILL_AFTER=SUFFIX (_exit(137) after closing a written file
 * whose path ends in SUFFIX); VV_FAKEKERNEL_FAIL=N[+][:ERRNO] (the N-th
 * mutating operation of the process fails with ERRNO, EIO by default: each
 * sysfs store, module load, and write/fsync/rename under
 * ROOT/run/vfio-variant; "N+": and every later one under ROOT/run);
 * VV_FAKEKERNEL_COUNT=FILE (holds the count of mutating operations so far);
 * VV_FAKEKERNEL_PROBE_MS=N (each probe takes N ms, at most 10 s);
 * VV_FAKEKERNEL_LOAD_MS=N (a loaded module stays "coming", without its
 * drivers, N ms before its init registers them; at most 10 s).
 * ROOT/fakekernel.conf (GLib key file):
 *   [driver NAME] module=M vfio=true sriov=true ids=vvvv:dddd;... ("*": any)
 *                 override_only_ids=vvvv:dddd;... refuse=BDF;...
 *   [module M]    drivers=NAME;...   (added to the [driver] groups naming M)
 *   [group N]     held=true          (a VFIO user holds group N: the probe of
 *                                     a non-VFIO driver of a member: EBUSY)
 *
 * What the kernel returns (6.1 drivers/base/{bus,dd,driver}.c, drivers/pci/
 * {pci-driver,pci-sysfs,iov}.c, vfio_pci_core.c, kernel/module/main.c):
 *   driver_override: kept up to the first newline, "" or "\n" clears it (reads
 *     "(null)"); never probes; any string, a module name too, is accepted.
 *   DRV/bind: ENODEV unknown device or no match; EBUSY already bound; else
 *     the probe's errno. DRV/unbind: ENODEV unless bound to DRV.
 *   drivers_probe: ENODEV unknown device; else success even if nothing binds
 *     (matching registered drivers tried in turn, probe errors ignored).
 *   Match: an override matches its driver alone, whatever the ids
 *     (pci_device_id_any); else only ordinary ids (override_only_ids never).
 *   Probe: refuse= and a VF whose PF has sriov_drivers_autoprobe=0 (without
 *     override): ENODEV; VFIO drivers: bridge EINVAL, PF with VFs EBUSY, no
 *     IOMMU group EINVAL. A failed probe leaves the device driverless.
 *   sriov_numvfs: EINVAL, ERANGE (> totalvfs), ENOENT (no driver, or no
 *     sriov=true), EBUSY (N>0 to M>0); 0 parks the VFs in ROOT/fakekernel-vfs,
 *     N puts back up to N of them and probes them.
 *   remove rescan reset enable reset_method uevent new_id remove_id: accepted,
 *     logged, no effect. Other files: EACCES; missing: ENOENT (O_CREAT: EACCES).
 *   finit_module/init_module: name from .modinfo; EEXIST if loaded, after
 *     waiting while it is "coming"; drivers register and take the unbound
 *     devices they match, then initstate is "live". delete_module: ENOENT
 *     not loaded; EWOULDBLOCK refcnt > 0 or holders/; else unbinds and goes.
 * Writes through the write() symbol act at once (the kernel acts in write());
 * libc's internal writes (stdio, bash's echo) land in the memfd a simulated
 * open returns and act when its last descriptor goes. Reads of /sys/module
 * and /proc/modules come from ROOT; writing the real /sys aborts.
 */
#undef _FILE_OFFSET_BITS /* open and open64 are defined side by side */
#undef _FORTIFY_SOURCE   /* the fortified inline open() would clash */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib.h>

/* Hooked symbols glibc does not declare. */
int init_module(void *image, unsigned long len, const char *args);
int finit_module(int fd, const char *args, int flags);
int delete_module(const char *name, unsigned int flags);

#define REAL(name) static __typeof__(name) *real_##name
REAL(openat); REAL(fopen); REAL(write); REAL(close); REAL(dup); REAL(dup2); REAL(dup3);
REAL(fcntl); REAL(stat); REAL(opendir); REAL(syscall); REAL(fsync); REAL(fdatasync);
REAL(rename); REAL(renameat); REAL(renameat2);

static char *fk_root;     /* realpath of VV_FAKEKERNEL_ROOT */
static char *fk_root_lex; /* as given, absolute, links not resolved */
static char *fk_sysdir;   /* fk_root/sys */
static char *fk_statedir; /* fk_root/run/vfio-variant: vfio-variant's records */
/* Fault injection: the count of mutating operations of this process, the
 * one to fail (0: none) and its errno; counting is on when either variable
 * is set, so that a plain run does no extra work. */
static guint fk_ops, fk_fail_at;
static int fk_fail_errno = EIO;
static gboolean fk_counting, fk_fail_sticky;
static pthread_once_t fk_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t fk_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
/* Set while the simulation runs: every hook then passes straight through,
 * so the GLib calls the simulation makes are never simulated themselves. */
static __thread int fk_busy;

typedef enum { K_OVERRIDE, K_BIND, K_UNBIND, K_PROBE, K_NUMVFS, K_BOOL, K_ACCEPT } FkKind;
typedef struct {
	int refs;        /* descriptors sharing this open file */
	FkKind kind;
	char *canon;     /* canonical path */
	char *logpath;   /* "/sys/..." as the caller named it */
	char *arg;       /* device directory or driver name */
	gboolean stored; /* a store happened */
} FkDesc;
static GHashTable *fk_fds; /* fd -> FkDesc */

static void fk_fault_init(void);

#define fk_die(fmt, ...) (fprintf(stderr, "vv-fakekernel: " fmt "\n", __VA_ARGS__), abort())

static void fk_init(void)
{
	const char *root = getenv("VV_FAKEKERNEL_ROOT");
#define RESOLVE(name) real_##name = dlsym(RTLD_NEXT, #name)
	RESOLVE(openat); RESOLVE(fopen); RESOLVE(write); RESOLVE(close); RESOLVE(dup);
	RESOLVE(dup2); RESOLVE(dup3); RESOLVE(fcntl); RESOLVE(stat); RESOLVE(opendir); RESOLVE(syscall);
	RESOLVE(fsync); RESOLVE(fdatasync); RESOLVE(rename); RESOLVE(renameat); RESOLVE(renameat2);
	fk_busy++;
	if (!root || !*root)
		fk_die("VV_FAKEKERNEL_ROOT is not set: %s", "refusing to simulate the kernel on the real /sys");
	fk_root_lex = g_canonicalize_filename(root, NULL);
	if (!(fk_root = realpath(fk_root_lex, NULL)))
		fk_die("VV_FAKEKERNEL_ROOT=%s: %s", root, g_strerror(errno));
	if (g_str_equal(fk_root, "/") || g_str_has_prefix(fk_root, "/sys") ||
	    g_str_has_prefix(fk_root, "/proc") || g_str_has_prefix(fk_root, "/dev"))
		fk_die("VV_FAKEKERNEL_ROOT=%s is %s: refusing to act on the real host", root, fk_root);
	fk_sysdir = g_build_filename(fk_root, "sys", NULL);
	fk_statedir = g_build_filename(fk_root, "run/vfio-variant", NULL);
	fk_fds = g_hash_table_new(NULL, NULL);
	fk_fault_init();
	fk_busy--;
}

/* A constructor, so that an unsafe root aborts at load time. */
__attribute__((constructor)) static void fk_ensure(void) { pthread_once(&fk_once, fk_init); }
/* TRUE when a hook must simulate; FALSE: call the real function. */
static gboolean fk_active(void) { if (fk_busy) return FALSE; fk_ensure(); return !fk_busy; }
/*
 * The kernel's locks (module_mutex, device_lock) as one lock across the
 * processes sharing a root: flock() on the root directory, held while an
 * operation runs, so that two processes binding or loading at once do not
 * interleave half operations (both taking the lowest free vfioN). Taken
 * once per process (a child after fork opens its own: an inherited open
 * file would share the parent's lock) and per thread depth; a sleep that
 * models time passing in the kernel (a probe, a module's init) lets it go
 * (fk_sleep_unlocked). Reads are not serialized, as sysfs reads are not.
 */
static int fk_lock_fd = -1, fk_lock_depth;
static pid_t fk_lock_pid;
static void fk_flock(int op)
{
	if (op == LOCK_EX && fk_lock_pid != getpid()) {
		if (fk_lock_fd >= 0)
			real_close(fk_lock_fd);
		fk_lock_fd = real_openat(AT_FDCWD, fk_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		fk_lock_pid = getpid();
	}
	while (fk_lock_fd >= 0 && flock(fk_lock_fd, op) < 0 && errno == EINTR)
		;
}
static void fk_enter(void)
{
	fk_ensure();
	pthread_mutex_lock(&fk_lock);
	fk_busy++;
	if (fk_lock_depth++ == 0)
		fk_flock(LOCK_EX);
}
static void fk_leave(void)
{
	int e = errno;
	if (--fk_lock_depth == 0)
		fk_flock(LOCK_UN);
	fk_busy--;
	pthread_mutex_unlock(&fk_lock);
	errno = e;
}
/* Sleep MS milliseconds without the locks (fk_enter): another process, or
 * another thread, may act meanwhile, as on a real host while a probe or a
 * module's init runs. */
static void fk_sleep_unlocked(guint ms)
{
	fk_flock(LOCK_UN);
	pthread_mutex_unlock(&fk_lock);
	g_usleep((gulong)ms * 1000);
	pthread_mutex_lock(&fk_lock);
	fk_flock(LOCK_EX);
}
static int fk_result(int r) { if (r >= 0) return r; errno = -r; return -1; }

/* ---------------------------------------------------------------- files */
/* fk_sys(FORMAT, ...): a newly allocated ROOT/sys/... path. */
static char *fk_sys_take(char *rel) { char *p = g_build_filename(fk_sysdir, rel, NULL); g_free(rel); return p; }
#define fk_sys(...) fk_sys_take(g_strdup_printf(__VA_ARGS__))

static gboolean fk_exists(const char *path) { struct stat st; return lstat(path, &st) == 0; }
/* An attribute's first line; NULL when missing. */
static char *fk_read(const char *dir, const char *name)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	text[strcspn(text, "\n")] = '\0';
	return text;
}

static guint fk_read_uint(const char *dir, const char *name, int base)
{ g_autofree char *text = fk_read(dir, name); return text ? (guint)strtoul(text, NULL, base) : 0; }
static void fk_put(const char *path, const char *text)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_mkdir_with_parents(dir, 0755);
	if (!g_file_set_contents(path, text, -1, NULL))
		fk_die("cannot write %s", path);
}
static void fk_put_in(const char *dir, const char *name, const char *text)
{ g_autofree char *path = g_build_filename(dir, name, NULL); fk_put(path, text); }

/* The last component of a link's target, NULL when there is no link. */
static char *fk_link_name(const char *dir, const char *name)
{ g_autofree char *p = g_build_filename(dir, name, NULL), *t = g_file_read_link(p, NULL); return t ? g_path_get_basename(t) : NULL; }

/* LINK -> TARGET (both canonical) as a relative link, in the form that
 * os.path.relpath() gives and vv-mkhost.py writes. */
static void fk_symlink(const char *target, const char *link)
{
	g_autofree char *base = g_path_get_dirname(link);
	g_auto(GStrv) t = g_strsplit(target + 1, "/", -1);
	g_auto(GStrv) b = g_strsplit(base + 1, "/", -1);
	g_autoptr(GString) rel = g_string_new(NULL);
	guint i = 0;
	while (t[i] && b[i] && g_str_equal(t[i], b[i]))
		i++;
	for (guint j = i; b[j]; j++)
		g_string_append(rel, "../");
	for (guint j = i; t[j]; j++)
		g_string_append_printf(rel, "%s%s", t[j], t[j + 1] ? "/" : "");
	g_mkdir_with_parents(base, 0755);
	unlink(link);
	if (symlink(rel->str, link) < 0)
		fk_die("cannot create %s: %s", link, g_strerror(errno));
}

static int fk_remove(const char *path, const struct stat *st, int type, struct FTW *ftw) { return remove(path); }
static void fk_rmtree(const char *path) { nftw(path, fk_remove, 16, FTW_DEPTH | FTW_PHYS); }

static int fk_cmp(gconstpointer a, gconstpointer b) { return strcmp(*(char **)a, *(char **)b); }
/* Sorted entry names; empty when DIR/NAME cannot be read. */
static GPtrArray *fk_list(const char *dir, const char *name)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	while (d && (name = g_dir_read_name(d)))
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, fk_cmp);
	return names;
}

static gboolean fk_has(GPtrArray *list, const char *item) { return g_ptr_array_find_with_equal_func(list, item, g_str_equal, NULL); }

/* VALUE without one trailing newline, C-escaped, "" when empty. */
static void fk_log(const char *what, const char *subject, const char *value, int err)
{
	const char *file = getenv("VV_FAKEKERNEL_LOG");
	g_autofree char *cut = value ? g_strndup(value, strlen(value) - g_str_has_suffix(value, "\n")) : NULL;
	g_autofree char *shown = cut ? g_strescape(cut, NULL) : NULL;
	FILE *f;
	if (!file || !*file || !(f = fopen(file, "a")))
		return;
	fprintf(f, "%s %s%s%s -> %s\n", what, subject, shown ? " " : "",
		shown ? (*shown ? shown : "\"\"") : "", err ? strerrorname_np(err) : "ok");
	fclose(f);
}

/* ---------------------------------------------------------------- faults */
/* VV_FAKEKERNEL_FAIL=N[+][:ERRNO]. A malformed value aborts: a test that
 * believes it injects a fault must not silently run without one. */
static void fk_fault_init(void)
{
	const char *fail = getenv("VV_FAKEKERNEL_FAIL"), *count = getenv("VV_FAKEKERNEL_COUNT");
	g_auto(GStrv) f = fail && *fail ? g_strsplit(fail, ":", 2) : NULL;
	char *end = NULL;
	fk_counting = (count && *count) || f;
	if (!f)
		return;
	fk_fail_at = (guint)strtoul(f[0], &end, 10);
	if ((fk_fail_sticky = *end == '+'))
		end++;
	if (!g_ascii_isdigit(*f[0]) || *end || fk_fail_at == 0)
		fk_die("VV_FAKEKERNEL_FAIL=%s: expected N[+][:ERRNO], N counting from 1", fail);
	if (!f[1])
		return;
	for (fk_fail_errno = 1; fk_fail_errno < 4096; fk_fail_errno++)
		if (g_strcmp0(strerrorname_np(fk_fail_errno), f[1]) == 0)
			return;
	fk_die("VV_FAKEKERNEL_FAIL=%s: %s is not an errno name (EIO, ENOSPC, ENODEV ...)", fail, f[1]);
}

/* One mutating operation OP on SUBJECT (a /sys path, a module, a state
 * file; STATE: it is a state file): -errno when it is the one to fail,
 * logged as "inject N OP SUBJECT -> ERRNO"; else 0. With "N+", every state
 * file operation after the N-th fails too: a full disk stays full.
 * VV_FAKEKERNEL_COUNT is rewritten at every operation, not at exit, so
 * that it is right after a kill too. */
static int fk_mutation(const char *op, const char *subject, gboolean state)
{
	const char *count = getenv("VV_FAKEKERNEL_COUNT");
	g_autofree char *what = NULL;
	if (!fk_counting)
		return 0;
	fk_ops++;
	if (count && *count) {
		g_autofree char *text = g_strdup_printf("%u\n", fk_ops);
		g_file_set_contents(count, text, -1, NULL);
	}
	if (fk_ops != fk_fail_at && !(fk_fail_sticky && state && fk_ops > fk_fail_at))
		return 0;
	what = g_strdup_printf("inject %u %s", fk_ops, op);
	fk_log(what, subject, NULL, fk_fail_errno);
	return -fk_fail_errno;
}

/* "/run/vfio-variant/..." when PATH (canonical) is in the state directory. */
static const char *fk_state_rel(const char *path)
{
	gsize n = strlen(fk_statedir);
	return path && !strncmp(path, fk_statedir, n) && path[n] == '/' ? path + strlen(fk_root) : NULL;
}

/* A write, fsync or rename of a state file (fd FD, or PATH at DIRFD). */
static int fk_state_mutation(const char *op, int fd, int dirfd, const char *path)
{
	g_autofree char *self = NULL, *canon = NULL, *base = NULL, *lex = NULL, *dir = NULL, *name = NULL, *real_dir = NULL;
	struct stat st;
	if (!fk_counting)
		return 0;
	if (!path) {
		self = g_strdup_printf("/proc/self/fd/%d", fd);
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(canon = g_file_read_link(self, NULL)))
			return 0;
	} else {
		self = g_strdup_printf("/proc/self/fd/%d", dirfd);
		base = path[0] != '/' && dirfd != AT_FDCWD ? g_file_read_link(self, NULL) : NULL;
		lex = g_canonicalize_filename(path, base);
		dir = g_path_get_dirname(lex);
		name = g_path_get_basename(lex);
		real_dir = realpath(dir, NULL);
		canon = real_dir ? g_build_filename(real_dir, name, NULL) : g_strdup(lex);
	}
	return fk_state_rel(canon) ? fk_mutation(op, fk_state_rel(canon), TRUE) : 0;
}

/* ---------------------------------------------------------------- conf */
static GKeyFile *fk_conf(void)
{
	GKeyFile *conf = g_key_file_new();
	g_autofree char *path = g_build_filename(fk_root, "fakekernel.conf", NULL);
	g_autoptr(GError) error = NULL;
	if (!g_key_file_load_from_file(conf, path, G_KEY_FILE_NONE, &error) &&
	    !g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
		fk_die("%s: %s", path, error->message);
	return conf;
}

/* Keys of [driver DRV]; a missing list is an empty one. */
static gboolean fk_drv_bool(GKeyFile *conf, const char *drv, const char *key)
{ g_autofree char *group = g_strdup_printf("driver %s", drv); return g_key_file_get_boolean(conf, group, key, NULL); }
static GStrv fk_drv_list(GKeyFile *conf, const char *drv, const char *key)
{
	g_autofree char *group = g_strdup_printf("driver %s", drv);
	GStrv list = g_key_file_get_string_list(conf, group, key, NULL, NULL);
	return list ? list : g_new0(char *, 1);
}

/* What loading M registers: [module M] drivers= and [driver D] module=M. */
static GPtrArray *fk_module_drivers(GKeyFile *conf, const char *module)
{
	g_autofree char *mgroup = g_strdup_printf("module %s", module);
	g_auto(GStrv) listed = g_key_file_get_string_list(conf, mgroup, "drivers", NULL, NULL);
	g_auto(GStrv) groups = g_key_file_get_groups(conf, NULL);
	GPtrArray *drivers = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; listed && listed[i]; i++)
		g_ptr_array_add(drivers, g_strdup(listed[i]));
	for (guint i = 0; groups[i]; i++) {
		g_autofree char *m = g_key_file_get_string(conf, groups[i], "module", NULL);
		if (g_str_has_prefix(groups[i], "driver ") && g_strcmp0(m, module) == 0 &&
		    !fk_has(drivers, groups[i] + 7))
			g_ptr_array_add(drivers, g_strdup(groups[i] + 7));
	}
	return drivers;
}

/* Registered drivers (directories in bus/pci/drivers) in probe order: conf
 * order, then by name. The kernel uses registration order, which a sysroot
 * does not record. */
static GPtrArray *fk_drivers(GKeyFile *conf)
{
	g_autoptr(GPtrArray) all = fk_list(fk_sysdir, "bus/pci/drivers");
	g_auto(GStrv) groups = g_key_file_get_groups(conf, NULL);
	GPtrArray *order = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; groups[i]; i++)
		if (g_str_has_prefix(groups[i], "driver ") && fk_has(all, groups[i] + 7))
			g_ptr_array_add(order, g_strdup(groups[i] + 7));
	for (guint i = 0; i < all->len; i++)
		if (!fk_has(order, all->pdata[i]))
			g_ptr_array_add(order, g_strdup(all->pdata[i]));
	return order;
}

/* ---------------------------------------------------------------- devices */
/* The canonical directory of device NAME, or NULL. Names come from writes,
 * so anything that could walk out of bus/pci/devices is refused. */
static char *fk_devdir(const char *name)
{
	g_autofree char *link = *name && name[0] != '.' && !strchr(name, '/') ? fk_sys("bus/pci/devices/%s", name) : NULL;
	return link ? realpath(link, NULL) : NULL;
}

static char *fk_driver_of(const char *dir) { return fk_link_name(dir, "driver"); }
/* The kernel shows an unset override as "(null)". */
static char *fk_override(const char *dir)
{ char *v = fk_read(dir, "driver_override"); if (g_strcmp0(v, "(null)") == 0) g_clear_pointer(&v, g_free); return v; }

static int fk_group(const char *dir) { g_autofree char *g = fk_link_name(dir, "iommu_group"); return g ? atoi(g) : -1; }

/* The header type (config byte 0x0e) without the multi-function bit. */
static int fk_header(const char *dir)
{
	g_autofree char *path = g_build_filename(dir, "config", NULL);
	g_autofree char *config = NULL;
	gsize length = 0;
	return g_file_get_contents(path, &config, &length, NULL) && length > 0x0e ? config[0x0e] & 0x7f : 0;
}

/* pci_match_device(): an override decides alone; else the ordinary ids. */
static gboolean fk_match(GKeyFile *conf, const char *drv, const char *dir)
{
	g_autofree char *override = fk_override(dir);
	g_auto(GStrv) ids = fk_drv_list(conf, drv, "ids");
	guint vendor = fk_read_uint(dir, "vendor", 16), device = fk_read_uint(dir, "device", 16);
	if (override)
		return g_str_equal(override, drv);
	for (guint i = 0; ids[i]; i++) {
		g_auto(GStrv) f = g_strsplit(ids[i], ":", 2);
		if (f[0] && f[1] && (g_str_equal(f[0], "*") || strtoul(f[0], NULL, 16) == vendor) &&
		    (g_str_equal(f[1], "*") || strtoul(f[1], NULL, 16) == device))
			return TRUE;
	}
	return FALSE;
}

/* [group N] held=true: a VFIO user (a running guest) owns the group. Since
 * 5.19 really_probe() calls iommu_device_use_default_domain() for a driver
 * without driver_managed_dma, which fails with EBUSY while the group has an
 * owner: a host driver cannot take a member of a group a guest holds. */
static gboolean fk_group_held(GKeyFile *conf, int group)
{
	g_autofree char *name = g_strdup_printf("group %d", group);
	return group >= 0 && g_key_file_get_boolean(conf, name, "held", NULL);
}

/* pci_device_probe() and the driver's probe: 0 or -errno. */
static int fk_probe(GKeyFile *conf, const char *drv, const char *dir)
{
	g_autofree char *bdf = g_path_get_basename(dir);
	g_autofree char *override = fk_override(dir);
	g_autofree char *autoprobe = fk_read(dir, "physfn/sriov_drivers_autoprobe");
	g_auto(GStrv) refuse = fk_drv_list(conf, drv, "refuse");
	const char *ms = getenv("VV_FAKEKERNEL_PROBE_MS");
	/* A real probe takes milliseconds to seconds, the device showing no
	 * driver meanwhile (driver_bound() makes the link after it): the race
	 * tests widen that window. */
	if (ms && *ms)
		fk_sleep_unlocked(MIN(g_ascii_strtoull(ms, NULL, 10), 10000));
	if (autoprobe && g_str_equal(autoprobe, "0") && !override)
		return -ENODEV; /* pci_device_can_probe() */
	if (g_strv_contains((const char *const *)refuse, bdf))
		return -ENODEV; /* like qat_vfio_pci on a device that is not a VF */
	if (!fk_drv_bool(conf, drv, "vfio"))
		return fk_group_held(conf, fk_group(dir)) ? -EBUSY : 0;
	if (fk_header(dir) != 0)
		return -EINVAL;
	if (fk_read_uint(dir, "sriov_numvfs", 10) > 0)
		return -EBUSY;
	return fk_group(dir) < 0 ? -EINVAL : 0;
}

static char *fk_vfio_node(int group) { return g_strdup_printf("%s/dev/vfio/%d", fk_root, group); }

/* really_probe() succeeded: the driver core's links; for a VFIO driver also
 * vfio-dev/vfioN (lowest free N, like the kernel's IDA) and /dev/vfio/G. */
static void fk_bind(GKeyFile *conf, const char *drv, const char *dir)
{
	g_autofree char *bdf = g_path_get_basename(dir);
	g_autofree char *drvdir = fk_sys("bus/pci/drivers/%s", drv);
	g_autofree char *dlink = g_build_filename(dir, "driver", NULL);
	g_autofree char *blink = g_build_filename(drvdir, bdf, NULL);
	g_autofree char *node = NULL, *cls = NULL, *number = NULL, *group = NULL;
	int n = 0;
	fk_symlink(drvdir, dlink);
	fk_symlink(dir, blink);
	fk_put_in(dir, "enable", "1\n");
	if (!fk_drv_bool(conf, drv, "vfio"))
		return;
	for (; fk_exists(cls = fk_sys("class/vfio-dev/vfio%d", n)); n++)
		g_free(cls);
	node = g_strdup_printf("%s/vfio-dev/vfio%d", dir, n);
	number = g_strdup_printf("511:%d\n", n);
	fk_put_in(node, "dev", number);
	fk_symlink(node, cls);
	if (fk_group(dir) >= 0)
		fk_put(group = fk_vfio_node(fk_group(dir)), "");
}

static gboolean fk_group_has_vfio(int group)
{
	g_autofree char *dir = fk_sys("kernel/iommu_groups/%d/devices", group);
	g_autoptr(GPtrArray) members = fk_list(dir, ".");
	for (guint i = 0; i < members->len; i++) {
		g_autofree char *vfio = g_build_filename(dir, members->pdata[i], "vfio-dev", NULL);
		if (g_file_test(vfio, G_FILE_TEST_IS_DIR))
			return TRUE;
	}
	return FALSE;
}

/* device_release_driver(): undo fk_bind(). */
static void fk_unbind(const char *dir)
{
	g_autofree char *bdf = g_path_get_basename(dir);
	g_autofree char *drv = fk_driver_of(dir);
	g_autofree char *dlink = g_build_filename(dir, "driver", NULL);
	g_autofree char *vfio = g_build_filename(dir, "vfio-dev", NULL);
	g_autofree char *blink = drv ? fk_sys("bus/pci/drivers/%s/%s", drv, bdf) : NULL;
	g_autofree char *node = fk_vfio_node(fk_group(dir));
	g_autoptr(GPtrArray) nodes = fk_list(vfio, ".");
	if (!drv)
		return;
	unlink(blink);
	unlink(dlink);
	for (guint i = 0; i < nodes->len; i++) {
		g_autofree char *cls = fk_sys("class/vfio-dev/%s", (char *)nodes->pdata[i]);
		unlink(cls);
	}
	fk_rmtree(vfio);
	fk_put_in(dir, "enable", "0\n");
	if (fk_group(dir) >= 0 && !fk_group_has_vfio(fk_group(dir)))
		unlink(node);
}

/* Offer DIR to DRV; TRUE when it bound. */
static gboolean fk_try(GKeyFile *conf, const char *drv, const char *dir)
{ return fk_match(conf, drv, dir) && fk_probe(conf, drv, dir) == 0 && (fk_bind(conf, drv, dir), TRUE); }

/* device_attach(): each matching registered driver in turn; a failed probe
 * lets the next one try. */
static void fk_attach(GKeyFile *conf, const char *dir)
{
	g_autoptr(GPtrArray) drivers = fk_drivers(conf);
	g_autofree char *bound = fk_driver_of(dir);
	for (guint i = 0; !bound && i < drivers->len && !fk_try(conf, drivers->pdata[i], dir); i++)
		;
}

/* driver_attach() of a new driver, when drivers_autoprobe allows it. */
static void fk_driver_attach(GKeyFile *conf, const char *drv)
{
	g_autofree char *autoprobe = fk_read(fk_sysdir, "bus/pci/drivers_autoprobe");
	g_autoptr(GPtrArray) names = fk_list(fk_sysdir, "bus/pci/devices");
	for (guint i = 0; g_strcmp0(autoprobe, "0") != 0 && i < names->len; i++) {
		g_autofree char *dir = fk_devdir(names->pdata[i]);
		g_autofree char *bound = dir ? fk_driver_of(dir) : NULL;
		if (dir && !bound)
			fk_try(conf, drv, dir);
	}
}

/* ---------------------------------------------------------------- stores */
/* bus_find_device_by_name() compares with sysfs_streq(): one trailing
 * newline does not count. */
static char *fk_name_arg(const char *value) { return g_strndup(value, strlen(value) - g_str_has_suffix(value, "\n")); }

static int fk_store_override(const char *dir, const char *value, gsize count)
{
	g_autofree char *kept = g_strndup(value, strcspn(value, "\n"));
	g_autofree char *shown = g_strdup_printf("%s\n", *kept ? kept : "(null)");
	if (count >= 4096 - 1)
		return -EINVAL;
	fk_put_in(dir, "driver_override", shown);
	return 0;
}

/* bind_store(), unbind_store() and drivers_probe_store() of drivers/base/bus.c:
 * VALUE names a device, DRV is the driver whose file it is. */
static int fk_store_device(GKeyFile *conf, FkKind kind, const char *drv, const char *value)
{
	g_autofree char *name = fk_name_arg(value);
	g_autofree char *dir = fk_devdir(name);
	g_autofree char *bound = dir ? fk_driver_of(dir) : NULL;
	int r = 0;
	if (!dir || (kind == K_BIND && !fk_match(conf, drv, dir)) ||
	    (kind == K_UNBIND && g_strcmp0(bound, drv) != 0))
		return -ENODEV;
	if (kind == K_BIND && bound)
		return -EBUSY; /* __driver_probe_device() */
	if (kind == K_BIND && (r = fk_probe(conf, drv, dir)) == 0)
		fk_bind(conf, drv, dir);
	if (kind == K_UNBIND)
		fk_unbind(dir);
	if (kind == K_PROBE)
		fk_attach(conf, dir);
	return r;
}

/* Moves VF I of PF between its place and ROOT/fakekernel-vfs/PF/I/VF, with
 * its bus, group and virtfn links: a sysroot cannot make up new VFs, so
 * disabled ones are parked to be put back. TRUE when one moved. */
static gboolean fk_vf_move(GKeyFile *conf, const char *pfdir, guint i, gboolean enable)
{
	g_autofree char *pf = g_path_get_basename(pfdir);
	g_autofree char *slot = g_strdup_printf("%s/fakekernel-vfs/%s/%u", fk_root, pf, i);
	g_autofree char *vlink = g_strdup_printf("%s/virtfn%u", pfdir, i);
	g_autofree char *parent = g_path_get_dirname(pfdir);
	g_autoptr(GPtrArray) parked = fk_list(slot, ".");
	g_autofree char *vfdir = enable ? (parked->len == 1 ? g_build_filename(parent, parked->pdata[0], NULL) : NULL)
					: realpath(vlink, NULL);
	g_autofree char *vf = vfdir ? g_path_get_basename(vfdir) : NULL;
	g_autofree char *away = vf ? g_build_filename(slot, vf, NULL) : NULL;
	g_autofree char *buslink = vf ? fk_sys("bus/pci/devices/%s", vf) : NULL;
	g_autofree char *grouplink = NULL;
	if (!vf)
		return FALSE;
	if (!enable) {
		grouplink = fk_sys("kernel/iommu_groups/%d/devices/%s", fk_group(vfdir), vf);
		fk_unbind(vfdir);
		unlink(buslink);
		unlink(grouplink);
		unlink(vlink);
		g_mkdir_with_parents(slot, 0755);
	}
	if (rename(enable ? away : vfdir, enable ? vfdir : away) < 0)
		fk_die("cannot move %s: %s", vfdir, g_strerror(errno));
	if (!enable)
		return TRUE;
	rmdir(slot);
	fk_symlink(vfdir, vlink);
	fk_symlink(vfdir, buslink);
	if (fk_group(vfdir) >= 0)
		fk_symlink(vfdir, grouplink = fk_sys("kernel/iommu_groups/%d/devices/%s", fk_group(vfdir), vf));
	if (fk_read_uint(pfdir, "sriov_drivers_autoprobe", 10) != 0)
		fk_attach(conf, vfdir);
	return TRUE;
}

/* sriov_numvfs_store() */
static int fk_store_numvfs(GKeyFile *conf, const char *dir, const char *value)
{
	g_autofree char *drv = fk_driver_of(dir);
	g_autofree char *text = fk_name_arg(value);
	g_autofree char *line = NULL;
	guint current = fk_read_uint(dir, "sriov_numvfs", 10), made = 0;
	char *end = NULL;
	guint64 wanted;
	errno = 0;
	wanted = g_ascii_strtoull(text, &end, 0);
	if (!*text || *end || errno || text[0] == '-' || wanted > G_MAXUINT16)
		return -EINVAL;
	if (wanted > fk_read_uint(dir, "sriov_totalvfs", 10))
		return -ERANGE;
	if (wanted == current)
		return 0;
	if (!drv || !fk_drv_bool(conf, drv, "sriov"))
		return -ENOENT;
	if (wanted && current)
		return -EBUSY;
	for (guint i = 0; i < (wanted ? wanted : current); i++)
		made += fk_vf_move(conf, dir, i, wanted > 0);
	line = g_strdup_printf("%u\n", wanted ? made : 0);
	fk_put_in(dir, "sriov_numvfs", line);
	return 0;
}

/* One ->store() call: 0 or -errno. */
static int fk_store(FkDesc *desc, const char *buf, gsize count)
{
	g_autofree char *value = g_strndup(buf, count); /* the kernel's copy ends at a NUL too */
	g_autoptr(GKeyFile) conf = fk_conf();
	int r = fk_mutation("write", desc->logpath, FALSE);
	if (r < 0)
		return r; /* injected: the store never ran */
	desc->stored = TRUE;
	switch (desc->kind) {
	case K_OVERRIDE: r = fk_store_override(desc->arg, value, count); break;
	case K_BIND: case K_UNBIND: case K_PROBE: r = fk_store_device(conf, desc->kind, desc->arg, value); break;
	case K_NUMVFS: r = fk_store_numvfs(conf, desc->arg, value); break;
	case K_BOOL: fk_put(desc->canon, value[0] == '0' ? "0\n" : "1\n"); break;
	case K_ACCEPT: break;
	}
	fk_log("write", desc->logpath, value, -r);
	return r;
}

/* ---------------------------------------------------------------- modules */
/* The "name=" string of .modinfo: fake and real .ko files alike hold it as
 * a NUL-separated string, and no other section starts a string with it. */
static char *fk_modinfo_name(const char *image, gsize len)
{
	for (const char *p = image, *end = image + len; p < end; p += strnlen(p, end - p) + 1)
		if (end - p > 5 && !strncmp(p, "name=", 5))
			return g_strndup(p + 5, strnlen(p + 5, end - p - 5));
	return NULL;
}

/* Rewrite ROOT/proc/modules without DROP's line and with ADD's, in STATE
 * (the kernel's "Loading" while the module is coming, then "Live"). */
static void fk_proc_modules(const char *add, const char *drop, const char *state)
{
	g_autofree char *path = g_build_filename(fk_root, "proc/modules", NULL);
	g_autofree char *text = NULL;
	g_autofree char *prefix = g_strdup_printf("%s ", drop ? drop : "");
	g_autoptr(GString) out = g_string_new(NULL);
	g_auto(GStrv) lines = NULL;
	g_file_get_contents(path, &text, NULL, NULL);
	lines = g_strsplit(text ? text : "", "\n", -1);
	for (guint i = 0; lines[i]; i++)
		if (*lines[i] && !(drop && g_str_has_prefix(lines[i], prefix)))
			g_string_append_printf(out, "%s\n", lines[i]);
	if (add)
		g_string_append_printf(out, "%s 16384 0 - %s 0x0000000000000000\n", add, state);
	fk_put(path, out->str);
}

/* VV_FAKEKERNEL_LOAD_MS: how long a module stays "coming" (at most 10 s). */
static guint fk_load_ms(void)
{
	const char *ms = getenv("VV_FAKEKERNEL_LOAD_MS");
	return ms && *ms ? (guint)MIN(g_ascii_strtoull(ms, NULL, 10), 10000) : 0;
}

/* finished_loading() of 6.1 kernel/module/main.c: the module M is gone, or
 * is live or going. NULL STATE with the directory there: built in (a
 * built-in module has no initstate); the claim below never shows that. */
static gboolean fk_finished_loading(const char *mdir)
{
	g_autofree char *state = fk_read(mdir, "initstate");
	return !fk_exists(mdir) || !state || !g_str_equal(state, "coming");
}


/*
 * load_module(), then the module's init registering its pci_drivers, in
 * the order of 6.1's kernel/module/main.c. add_unformed_module() puts the
 * module in the list, coming, under module_mutex: here one rename() of a
 * directory built aside (initstate "coming") onto sys/module/M, which fails
 * when M is there, so that two processes loading M at once see one winner.
 * A loser waits, as add_unformed_module() does, until the winner is live
 * (or gone: it then tries again), and gets EEXIST. The winner's init
 * (do_init_module(): pci_register_driver() makes drivers/D, the module
 * links and probes the devices) runs VV_FAKEKERNEL_LOAD_MS later, and only
 * then is initstate "live": in between, sys/module/M is there, "coming",
 * without drivers.
 */
static int fk_module_load(const char *name)
{
	static const char *const files[] = { "bind", "unbind", "new_id", "remove_id", "uevent", NULL };
	g_autoptr(GKeyFile) conf = NULL;
	g_autoptr(GPtrArray) drivers = NULL;
	g_autofree char *mdir = fk_sys("module/%s", name);
	g_autofree char *aside = fk_sys("module/.%s.coming-%d", name, (int)getpid());
	g_autofree char *holders = g_build_filename(aside, "holders", NULL);
	guint ms = fk_load_ms();

	for (;;) {
		if (!fk_exists(mdir)) {
			fk_rmtree(aside);
			fk_put_in(aside, "initstate", "coming\n");
			fk_put_in(aside, "refcnt", "0\n");
			g_mkdir_with_parents(holders, 0755);
			if (rename(aside, mdir) == 0)
				break;
			fk_rmtree(aside);
		}
		while (!fk_finished_loading(mdir))
			fk_sleep_unlocked(1);
		if (fk_exists(mdir))
			return -EEXIST;
	}
	fk_proc_modules(name, NULL, "Loading");
	if (ms)
		fk_sleep_unlocked(ms);
	conf = fk_conf();
	drivers = fk_module_drivers(conf, name);
	for (guint i = 0; i < drivers->len; i++) {
		g_autofree char *drvdir = fk_sys("bus/pci/drivers/%s", (char *)drivers->pdata[i]);
		g_autofree char *mlink = g_build_filename(drvdir, "module", NULL);
		g_autofree char *plink = g_strdup_printf("%s/drivers/pci:%s", mdir, (char *)drivers->pdata[i]);
		for (guint f = 0; files[f]; f++)
			fk_put_in(drvdir, files[f], "");
		fk_symlink(mdir, mlink);
		fk_symlink(drvdir, plink);
	}
	for (guint i = 0; i < drivers->len; i++)
		fk_driver_attach(conf, drivers->pdata[i]);
	fk_put_in(mdir, "initstate", "live\n");
	fk_proc_modules(name, name, "Live");
	return 0;
}

/* delete_module(): refused while referenced (6.1 try_stop_module); the
 * module's exit unregisters its drivers, which unbinds their devices. */
static int fk_module_unload(const char *name)
{
	g_autofree char *mdir = fk_sys("module/%s", name);
	g_autofree char *state = fk_read(mdir, "initstate");
	g_autoptr(GPtrArray) links = fk_list(mdir, "drivers"); /* pci:DRIVER */
	g_autoptr(GPtrArray) holders = fk_list(mdir, "holders");
	if (strchr(name, '/') || name[0] == '.' || !state)
		return -ENOENT;
	if (!g_str_equal(state, "live"))
		return -EBUSY; /* 6.1 delete_module(): "doing init or already dying" */
	if (fk_read_uint(mdir, "refcnt", 10) > 0 || holders->len > 0)
		return -EWOULDBLOCK;
	for (guint i = 0; i < links->len; i++) {
		const char *drv = (char *)links->pdata[i] + strlen("pci:");
		g_autofree char *drvdir = fk_sys("bus/pci/drivers/%s", drv);
		g_autoptr(GPtrArray) entries = fk_list(drvdir, ".");
		for (guint j = 0; j < entries->len; j++) {
			g_autofree char *dir = fk_devdir(entries->pdata[j]);
			g_autofree char *bound = dir ? fk_driver_of(dir) : NULL;
			if (g_strcmp0(bound, drv) == 0)
				fk_unbind(dir);
		}
		fk_rmtree(drvdir);
	}
	fk_rmtree(mdir);
	fk_proc_modules(NULL, name, NULL);
	return 0;
}

static int fk_logged(const char *what, const char *name, int r) { fk_log(what, name, NULL, -r); return r; }

static int fk_load_image(const char *image, gsize len)
{
	g_autofree char *name = fk_modinfo_name(image, len);
	int r;
	if (!name || !*name || strchr(name, '/') || name[0] == '.')
		return -ENOEXEC;
	if ((r = fk_mutation("load", name, FALSE)) < 0)
		return r;
	return fk_logged("load", name, fk_module_load(name));
}

static int fk_load_fd(int fd)
{
	g_autofree char *self = g_strdup_printf("/proc/self/fd/%d", fd), *image = NULL;
	gsize len = 0;
	return g_file_get_contents(self, &image, &len, NULL) ? fk_load_image(image, len) : -EBADF;
}

/* ---------------------------------------------------------------- paths */
/* libkmod's fixed paths, served from ROOT: a module the build machine has
 * loaded (vfio_pci on many CI hosts) must not look loaded here. */
static char *fk_redirect(const char *path)
{
	if (!path || !fk_active())
		return NULL;
	if ((g_str_has_prefix(path, "/sys/module") && (path[11] == '\0' || path[11] == '/')) ||
	    g_str_equal(path, "/proc/modules"))
		return g_strconcat(fk_root, path, NULL);
	return NULL;
}

/* The files a write reaches: AT 0 = path below sys/, 1 = in a driver
 * directory, 2 = in a device directory, 3 = either. */
static const struct { int at; const char *name; FkKind kind; } fk_files[] = {
	{ 0, "bus/pci/drivers_probe", K_PROBE }, { 0, "bus/pci/rescan", K_ACCEPT },
	{ 0, "bus/pci/drivers_autoprobe", K_BOOL }, { 1, "bind", K_BIND }, { 1, "unbind", K_UNBIND },
	{ 2, "driver_override", K_OVERRIDE }, { 2, "sriov_numvfs", K_NUMVFS },
	{ 2, "sriov_drivers_autoprobe", K_BOOL }, { 2, "remove", K_ACCEPT }, { 2, "rescan", K_ACCEPT },
	{ 2, "reset", K_ACCEPT }, { 2, "enable", K_ACCEPT }, { 2, "reset_method", K_ACCEPT },
	{ 3, "uevent", K_ACCEPT }, { 1, "new_id", K_ACCEPT }, { 1, "remove_id", K_ACCEPT },
};

/* What a write to CANON (canonical, below ROOT/sys) does, or -errno (EACCES:
 * a read-only attribute or anything else). *ARG: driver name or device dir. */
static int fk_classify(const char *canon, char **arg)
{
	g_autofree char *parent = g_path_get_dirname(canon);
	g_autofree char *base = g_path_get_basename(canon);
	g_autofree char *owner = g_path_get_basename(parent);
	g_autofree char *devdir = fk_devdir(owner);
	g_autofree char *drvdir = fk_sys("bus/pci/drivers/%s", owner);
	int at = g_str_equal(parent, drvdir) ? 1 : devdir && g_str_equal(parent, devdir) ? 2 : -1;
	for (guint i = 0; i < G_N_ELEMENTS(fk_files); i++) {
		if (fk_files[i].at == 0 ? g_str_equal(canon + strlen(fk_sysdir) + 1, fk_files[i].name)
		    : (fk_files[i].at == at || (fk_files[i].at == 3 && at > 0)) && g_str_equal(base, fk_files[i].name)) {
			*arg = at == 1 ? g_strdup(owner) : g_strdup(parent);
			return fk_files[i].kind;
		}
	}
	return -EACCES;
}

static void fk_desc_free(FkDesc *d) { g_free(d->canon); g_free(d->logpath); g_free(d->arg); g_free(d); }

/* A write-open of PATH: 0 = not simulated (pass it through), 1 = simulated
 * (*out set), -errno = refused as sysfs refuses it. */
static int fk_target(int dirfd, const char *path, int flags, FkDesc **out)
{
	g_autofree char *self = g_strdup_printf("/proc/self/fd/%d", dirfd);
	g_autofree char *base = path[0] != '/' && dirfd != AT_FDCWD ? g_file_read_link(self, NULL) : NULL;
	g_autofree char *lex = g_canonicalize_filename(path, base);
	g_autofree char *dir = g_path_get_dirname(lex);
	g_autofree char *name = g_path_get_basename(lex);
	g_autofree char *real_dir = realpath(dir, NULL);
	g_autofree char *canon = real_dir ? g_build_filename(real_dir, name, NULL) : g_strdup(lex);
	gsize n = strlen(fk_sysdir), m = strlen(fk_root_lex);
	const char *shown;
	char *arg = NULL;
	int kind;
	if (strncmp(canon, fk_sysdir, n) || canon[n] != '/') {
		if (g_str_has_prefix(canon, "/sys/") || g_str_has_prefix(lex, "/sys/"))
			fk_die("refusing to open %s for writing: that is the real /sys (the simulated root is %s)",
			       lex, fk_root);
		return 0;
	}
	if (!real_dir || !fk_exists(canon))
		return real_dir && (flags & O_CREAT) ? -EACCES : -ENOENT;
	if ((kind = fk_classify(canon, &arg)) < 0)
		return kind;
	shown = !strncmp(lex, fk_root_lex, m) && lex[m] == '/' ? lex + m : canon + strlen(fk_root);
	*out = g_memdup2(&(FkDesc){ .kind = kind, .arg = arg, .logpath = g_strdup(shown), .canon = g_strdup(canon) }, sizeof(FkDesc));
	return 1;
}

static void fk_track(int fd, FkDesc *desc) { desc->refs++; g_hash_table_insert(fk_fds, GINT_TO_POINTER(fd), desc); }

/* FD goes away. At the last reference, act on what libc wrote into the memfd
 * behind our back. TRUE when VV_FAKEKERNEL_KILL_AFTER says to die now. */
static gboolean fk_release(int fd)
{
	FkDesc *desc = g_hash_table_lookup(fk_fds, GINT_TO_POINTER(fd));
	const char *kill = getenv("VV_FAKEKERNEL_KILL_AFTER");
	gboolean killed;
	off_t size;
	if (!desc || !g_hash_table_remove(fk_fds, GINT_TO_POINTER(fd)) || --desc->refs > 0)
		return FALSE;
	if ((size = lseek(fd, 0, SEEK_END)) > 0) {
		g_autofree char *buf = g_malloc(size);
		if (pread(fd, buf, size, 0) == size && ftruncate(fd, 0) == 0) /* consumed once, even if shared */
			fk_store(desc, buf, size);
	}
	killed = desc->stored && kill && *kill && g_str_has_suffix(desc->logpath, kill);
	fk_desc_free(desc);
	return killed;
}

/* ---------------------------------------------------------------- hooks */
/* A simulated file opens as a memfd (see the top); for fopen() as a cookie
 * FILE, so that its writes reach our write(). -2: not simulated. */
static ssize_t fk_cookie_write(void *c, const char *buf, size_t n) { return write(GPOINTER_TO_INT(c), buf, n); }
static int fk_cookie_close(void *c) { return close(GPOINTER_TO_INT(c)); }

static int fk_open_write(int dirfd, const char *path, int flags, FILE **file)
{
	FkDesc *desc = NULL;
	int r, fd = -1;
	fk_enter();
	if ((r = fk_target(dirfd, path, flags, &desc)) < 0)
		fk_result(r);
	else if (r > 0 && (fd = memfd_create("vv-fakekernel", flags & O_CLOEXEC ? MFD_CLOEXEC : 0)) < 0)
		fk_desc_free(desc);
	else if (r > 0)
		fk_track(fd, desc);
	if (fd >= 0 && file)
		*file = fopencookie(GINT_TO_POINTER(fd), "w",
				    (cookie_io_functions_t){ .write = fk_cookie_write, .close = fk_cookie_close });
	fk_leave();
	return r == 0 ? -2 : fd;
}

static int fk_open(int dirfd, const char *path, int flags, mode_t mode)
{
	g_autofree char *to = NULL;
	int fd = -2;
	if ((flags & O_ACCMODE) == O_RDONLY)
		to = fk_redirect(path);
	else if (path && *path && fk_active())
		fd = fk_open_write(dirfd, path, flags, NULL);
	return fd == -2 ? real_openat(dirfd, to ? to : path, flags, mode) : fd;
}

#define MODE_ARG(flags) \
	mode_t mode = 0; \
	if ((flags) & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }
int open(const char *path, int flags, ...) { MODE_ARG(flags); return fk_open(AT_FDCWD, path, flags, mode); }
int open64(const char *path, int flags, ...) { MODE_ARG(flags); return fk_open(AT_FDCWD, path, flags, mode); }
int openat(int dirfd, const char *path, int flags, ...) { MODE_ARG(flags); return fk_open(dirfd, path, flags, mode); }
int openat64(int dirfd, const char *path, int flags, ...) { MODE_ARG(flags); return fk_open(dirfd, path, flags, mode); }

FILE *fopen(const char *path, const char *mode)
{
	g_autofree char *to = NULL;
	FILE *f = NULL;
	if (!mode || !strpbrk(mode, "wa+"))
		to = fk_redirect(path);
	else if (path && fk_active() && fk_open_write(AT_FDCWD, path, (strchr(mode, 'e') ? O_CLOEXEC : 0) | O_CREAT, &f) != -2)
		return f;
	return real_fopen(to ? to : path, mode);
}
FILE *fopen64(const char *path, const char *mode) __attribute__((alias("fopen")));

/* sysfs_kf_write(): a zero-length write stores nothing. */
ssize_t write(int fd, const void *buf, size_t count)
{
	FkDesc *desc;
	int r = 0;
	if (!fk_active())
		return real_write(fd, buf, count);
	fk_enter();
	if ((desc = g_hash_table_lookup(fk_fds, GINT_TO_POINTER(fd))) && count)
		r = fk_store(desc, buf, count);
	else if (!desc)
		r = fk_state_mutation("write", fd, AT_FDCWD, NULL);
	fk_leave();
	if (!desc && r == 0)
		return real_write(fd, buf, count);
	return r < 0 ? fk_result(r) : (ssize_t)count;
}

/* HOW: 0 close, 1 dup, 2 dup2, 3 dup3, 4 fcntl(F_DUPFD*) with FLAGS = cmd. */
static int fk_fdop(int oldfd, int newfd, int flags, int how)
{
	gboolean kill = FALSE;
	FkDesc *desc;
	int r;
	fk_enter();
	if (how == 0 || ((how == 2 || how == 3) && newfd != oldfd))
		kill = fk_release(how == 0 ? oldfd : newfd);
	r = how == 0 ? real_close(oldfd) : how == 1 ? real_dup(oldfd) : how == 2 ? real_dup2(oldfd, newfd) :
	    how == 3 ? real_dup3(oldfd, newfd, flags) : real_fcntl(oldfd, flags, newfd);
	if (how && r >= 0 && r != oldfd && (desc = g_hash_table_lookup(fk_fds, GINT_TO_POINTER(oldfd))))
		fk_track(r, desc);
	fk_leave();
	if (kill)
		_exit(137);
	return r;
}

/* exit() closes descriptors without close() (a bash subshell's "(echo x) > f"). */
__attribute__((destructor)) static void fk_fini(void)
{
	GList *fds = fk_fds && !fk_busy ? g_hash_table_get_keys(fk_fds) : NULL;
	for (GList *l = fds; l; l = l->next)
		fk_fdop(GPOINTER_TO_INT(l->data), -1, 0, 0);
	g_list_free(fds);
	/* With a fault asked for, the total of a process that made any: N beyond
	 * it means nothing failed (shells and wrappers around it log nothing). */
	if (fk_fail_at && fk_ops && !fk_busy) {
		g_autofree char *total = NULL;
		fk_enter();
		total = g_strdup_printf("%u", fk_ops);
		fk_log("count", total, NULL, 0);
		fk_leave();
	}
}

/* A record is written to a temporary, fsynced and renamed (GLib's
 * g_file_set_contents): each step can fail on a full or failing disk. */
#define STATE_OP(op, fd, dirfd, path, call) \
	int r = 0; \
	if (fk_active()) { fk_enter(); r = fk_state_mutation(op, fd, dirfd, path); fk_leave(); } \
	return r < 0 ? fk_result(r) : (call)
int fsync(int fd) { STATE_OP("fsync", fd, AT_FDCWD, NULL, real_fsync(fd)); }
int fdatasync(int fd) { STATE_OP("fsync", fd, AT_FDCWD, NULL, real_fdatasync(fd)); }
int rename(const char *from, const char *to) { STATE_OP("rename", -1, AT_FDCWD, to, real_rename(from, to)); }
int renameat(int fromdir, const char *from, int todir, const char *to)
{ STATE_OP("rename", -1, todir, to, real_renameat(fromdir, from, todir, to)); }
int renameat2(int fromdir, const char *from, int todir, const char *to, unsigned int flags)
{ STATE_OP("rename", -1, todir, to, real_renameat2(fromdir, from, todir, to, flags)); }

int close(int fd) { return fk_active() ? fk_fdop(fd, -1, 0, 0) : real_close(fd); }
int dup(int fd) { return fk_active() ? fk_fdop(fd, -1, 0, 1) : real_dup(fd); }
int dup2(int fd, int fd2) { return fk_active() ? fk_fdop(fd, fd2, 0, 2) : real_dup2(fd, fd2); }
int dup3(int fd, int fd2, int flags) { return fk_active() ? fk_fdop(fd, fd2, flags, 3) : real_dup3(fd, fd2, flags); }

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;
	va_start(ap, cmd);
	arg = va_arg(ap, void *); /* an int or a pointer: one register either way */
	va_end(ap);
	if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && fk_active())
		return fk_fdop(fd, (int)(intptr_t)arg, cmd, 4);
	return real_fcntl(fd, cmd, arg);
}
int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

/* What libkmod uses to read /sys/module: open, fopen, stat and opendir. */
#define REDIRECTED(call) g_autofree char *to = fk_redirect(path); return call
G_STATIC_ASSERT(sizeof(struct stat) == sizeof(struct stat64));
int stat(const char *path, struct stat *st) { REDIRECTED(real_stat(to ? to : path, st)); }
int stat64(const char *path, struct stat64 *st) { return stat(path, (struct stat *)st); }
DIR *opendir(const char *path) { REDIRECTED(real_opendir(to ? to : path)); }

/* Module syscalls never reach the kernel, whoever makes them. kmod 30 calls
 * finit_module as syscall(__NR_finit_module) (shared/missing.h: glibc 2.36
 * has no wrapper) and init_module (compressed modules) and delete_module
 * through glibc's wrappers. */
#define LOCKED(expr) int r; fk_enter(); r = (expr); fk_leave(); return fk_result(r)
int finit_module(int fd, const char *args, int flags) { LOCKED(fk_load_fd(fd)); }
int init_module(void *image, unsigned long len, const char *args) { LOCKED(fk_load_image(image, len)); }
int delete_module(const char *name, unsigned int flags) { LOCKED(fk_logged("unload", name, fk_module_unload(name))); }

/* openat2(2) has no glibc wrapper: the library calls syscall(SYS_openat2) to
 * stay below its sysroot (RESOLVE_IN_ROOT). The real kernel resolves the
 * path (an O_PATH open with the caller's resolve flags); a write-open of
 * what it found is then simulated as an open() would be, logged under the
 * caller's name for it when that name leads to the same file. */
/* Where openat2 itself is missing: valgrind 3.19 (Debian 12), which runs
 * the unit suite once, answers ENOSYS. The resolution is then made here, as
 * far as it stays lexically beneath DIRFD without an absolute link; any
 * other case answers ENOSYS, and the library makes its own walk. Asked once
 * per process, so that valgrind warns once. */
static gboolean fk_openat2_missing;

static long fk_openat2_emulated(int dirfd, const char *path, const struct open_how *how)
{
	g_autofree char *self = g_strdup_printf("/proc/self/fd/%d", dirfd);
	g_autofree char *base = dirfd == AT_FDCWD ? g_get_current_dir() : g_file_read_link(self, NULL);
	g_autofree char *lex = NULL, *dir = NULL, *real_dir = NULL, *real_base = NULL;
	int fd;
	while (*path == '/')
		path++;
	if (!base || !(real_base = realpath(base, NULL)))
		return fk_result(-ENOSYS);
	lex = g_canonicalize_filename(*path ? path : ".", base);
	dir = g_path_get_dirname(lex);
	real_dir = realpath(dir, NULL);
	if (!real_dir || (strcmp(real_dir, real_base) &&
			  !(g_str_has_prefix(real_dir, real_base) && real_dir[strlen(real_base)] == '/')))
		return fk_result(-ENOSYS);
	if ((how->flags & O_ACCMODE) != O_RDONLY && (fd = fk_open_write(AT_FDCWD, lex, how->flags, NULL)) != -2)
		return fd;
	return real_openat(AT_FDCWD, lex, how->flags, how->mode);
}

static long fk_openat2(int dirfd, const char *path, const struct open_how *how, size_t size)
{
	struct open_how probe = { .flags = O_PATH | O_CLOEXEC | (how->flags & O_NOFOLLOW), .resolve = how->resolve };
	g_autofree char *self = NULL, *found = NULL, *base = NULL, *lex = NULL, *dir = NULL, *real_dir = NULL;
	struct stat st;
	int fd;
	if (size < sizeof(*how) || !path || !fk_active())
		return real_syscall(SYS_openat2, dirfd, path, how, size);
	if (fk_openat2_missing)
		return fk_openat2_emulated(dirfd, path, how);
	if ((how->flags & O_ACCMODE) == O_RDONLY) {
		fd = (int)real_syscall(SYS_openat2, dirfd, path, how, size);
		if (fd >= 0 || errno != ENOSYS)
			return fd;
		fk_openat2_missing = TRUE;
		return fk_openat2_emulated(dirfd, path, how);
	}
	if ((fd = real_syscall(SYS_openat2, dirfd, path, &probe, sizeof(probe))) < 0) {
		if (errno != ENOSYS)
			return -1;
		fk_openat2_missing = TRUE;
		return fk_openat2_emulated(dirfd, path, how);
	}
	self = g_strdup_printf("/proc/self/fd/%d", fd);
	found = g_file_read_link(self, NULL);
	if (fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) { /* O_NOFOLLOW met a link */
		real_close(fd);
		return fk_result(-ELOOP);
	}
	real_close(fd);
	if (!found)
		return fk_result(-ENOENT);
	g_free(self);
	self = g_strdup_printf("/proc/self/fd/%d", dirfd);
	base = dirfd == AT_FDCWD ? g_get_current_dir() : g_file_read_link(self, NULL);
	while (*path == '/' && (how->resolve & RESOLVE_IN_ROOT))
		path++;
	lex = g_canonicalize_filename(path, base);
	dir = g_path_get_dirname(lex);
	real_dir = realpath(dir, NULL);
	if (real_dir) {
		g_autofree char *name = g_path_get_basename(lex), *canon = g_build_filename(real_dir, name, NULL);
		if (g_str_equal(canon, found))
			g_free(g_steal_pointer(&found)), found = g_steal_pointer(&lex);
	}
	fd = fk_open_write(AT_FDCWD, found, how->flags, NULL);
	return fd == -2 ? real_syscall(SYS_openat2, dirfd, path, how, size) : fd;
}

long syscall(long number, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	switch (number) {
	case SYS_finit_module: return finit_module(a[0], (const char *)a[1], a[2]);
	case SYS_init_module: return init_module((void *)a[0], a[1], (const char *)a[2]);
	case SYS_delete_module: return delete_module((const char *)a[0], a[1]);
	case SYS_openat2: return fk_openat2(a[0], (const char *)a[1], (const struct open_how *)a[2], a[3]);
	}
	if (!real_syscall) /* not fk_ensure() alone: GLib may call syscall() while fk_init() runs */
		fk_ensure();
	return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
