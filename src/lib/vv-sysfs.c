/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sysfs layout, in one place: one helper per path, all below the
 * context's sys directory, so that a sysroot laid out like the real kernel's
 * sysfs (relative symlinks included) reads exactly like the live host.
 */
#define _GNU_SOURCE /* O_PATH */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vv-private.h"

char *
vv_sysfs_devices_dir(const vv_ctx *ctx)
{
	return g_build_filename(ctx->sys_dir, "bus/pci/devices", NULL);
}

char *
vv_sysfs_device_dir(const vv_ctx *ctx, const char *address)
{
	return g_build_filename(ctx->sys_dir, "bus/pci/devices", address, NULL);
}

char *
vv_sysfs_device_file(const vv_ctx *ctx, const char *address, const char *file)
{
	return g_build_filename(ctx->sys_dir, "bus/pci/devices", address, file, NULL);
}

char *
vv_sysfs_drivers_dir(const vv_ctx *ctx)
{
	return g_build_filename(ctx->sys_dir, "bus/pci/drivers", NULL);
}

char *
vv_sysfs_driver_dir(const vv_ctx *ctx, const char *driver)
{
	return g_build_filename(ctx->sys_dir, "bus/pci/drivers", driver, NULL);
}

char *
vv_sysfs_module_drivers_dir(const vv_ctx *ctx, const char *module)
{
	return vv_sysfs_module_file(ctx, module, "drivers");
}

char *
vv_sysfs_drivers_probe_file(const vv_ctx *ctx)
{
	return g_build_filename(ctx->sys_dir, "bus/pci/drivers_probe", NULL);
}

char *
vv_sysfs_unbind_file(const vv_ctx *ctx, const char *driver)
{
	return vv_sysfs_driver_file(ctx, driver, "unbind");
}

/* sys/module/MODULE/FILE: a module's state (initstate, drivers/). */
char *
vv_sysfs_module_file(const vv_ctx *ctx, const char *module, const char *file)
{
	return g_build_filename(ctx->sys_dir, "module", module, file, NULL);
}

/* sys/bus/pci/drivers/DRIVER/FILE (the module link, bind, unbind). */
char *
vv_sysfs_driver_file(const vv_ctx *ctx, const char *driver, const char *file)
{
	return g_build_filename(ctx->sys_dir, "bus/pci/drivers", driver, file, NULL);
}

/* sys/class/CLASS, or its entry NAME, or that entry's FILE (NULL: stop
 * there): network interfaces and block devices. */
char *
vv_sysfs_class_file(const vv_ctx *ctx, const char *class, const char *name, const char *file)
{
	return g_build_filename(ctx->sys_dir, "class", class, name, file, NULL);
}

/* An entry NAME of DIR, a directory this file's helpers gave and
 * vv_sysfs_list() listed. */
char *
vv_sysfs_entry(const char *dir, const char *name)
{
	return g_build_filename(dir, name, NULL);
}

/* The sysroot's proc: proc/FILE, or proc/PID/FILE (each NULL: stop
 * there). Read beneath the sysroot like sysfs (vv_sysfs_open). */
char *
vv_sysfs_proc_file(const vv_ctx *ctx, const char *pid, const char *file)
{
	return g_build_filename(ctx->sysroot, "proc", pid ? pid : file, pid ? file : NULL, NULL);
}

char *
vv_sysfs_group_devices_dir(const vv_ctx *ctx, int group)
{
	g_autofree char *number = g_strdup_printf("%d", group);

	return g_build_filename(ctx->sys_dir, "kernel/iommu_groups", number, "devices", NULL);
}

/* PATH relative to the directory *ANCHOR it must resolve beneath ("" for
 * the directory itself): CTX's sys directory for sysfs paths, its sysroot
 * for the others (proc, etc). NULL on the live host, without a context, or
 * for a path outside the sysroot (a --config of the caller's choosing). */
static const char *
vv_sysfs_below_root(const vv_ctx *ctx, const char *path, const char **anchor)
{
	const char *roots[2];

	if (!ctx || !ctx->sysroot || g_str_equal(ctx->sysroot, "/"))
		return NULL;
	roots[0] = ctx->sys_dir;
	roots[1] = ctx->sysroot;
	for (guint i = 0; i < G_N_ELEMENTS(roots); i++) {
		gsize length = roots[i] ? strlen(roots[i]) : 0;
		const char *rest = path + length;

		if (!length || strncmp(path, roots[i], length) != 0 || (*rest != '/' && *rest != '\0'))
			continue;
		while (*rest == '/')
			rest++;
		*anchor = roots[i];
		return rest;
	}
	return NULL;
}

/* Push the components of PATH onto TODO, last first, so that the next one
 * to walk is at the end. */
static void
vv_sysfs_push_components(GPtrArray *todo, const char *path)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);

	for (guint i = g_strv_length(parts); i-- > 0;)
		if (*parts[i] && !g_str_equal(parts[i], "."))
			g_ptr_array_add(todo, g_strdup(parts[i]));
}

static void
vv_sysfs_close_dirs(GArray *dirs, guint keep)
{
	while (dirs->len > keep) {
		close(g_array_index(dirs, int, dirs->len - 1));
		g_array_set_size(dirs, dirs->len - 1);
	}
}

/*
 * openat2(ROOT, REL, FLAGS, RESOLVE_IN_ROOT) by hand, for kernels before
 * 5.6: one component at a time from ROOT, each opened O_NOFOLLOW; a symlink
 * is read and its target walked in its place, from ROOT when absolute;
 * ".." never climbs above ROOT. The last component is opened O_NOFOLLOW
 * too (after its link, if any, was walked), so a link swapped in between
 * gives ELOOP, never the link's target. Returns an fd or -1 with errno.
 */
int
vv_sysfs_open_walk(int root, const char *rel, int flags)
{
	g_autoptr(GPtrArray) todo = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GArray) dirs = g_array_new(FALSE, FALSE, sizeof(int)); /* below ROOT, innermost last */
	guint links = 0;
	int fd = -1, saved;

	vv_sysfs_push_components(todo, rel);
	for (;;) {
		int here = dirs->len ? g_array_index(dirs, int, dirs->len - 1) : root;
		g_autofree char *name = NULL;
		char target[PATH_MAX];
		ssize_t length;
		int next;

		if (!todo->len) { /* the root, or a path ending in "..": where we stand */
			fd = openat(here, ".", flags);
			break;
		}
		name = g_ptr_array_steal_index(todo, todo->len - 1);
		if (g_str_equal(name, "..")) {
			vv_sysfs_close_dirs(dirs, dirs->len ? dirs->len - 1 : 0);
			continue;
		}
		if ((todo->len || !(flags & O_NOFOLLOW)) &&
		    (length = readlinkat(here, name, target, sizeof(target) - 1)) >= 0) {
			if (++links > 40) {
				errno = ELOOP;
				break;
			}
			target[length] = '\0';
			if (target[0] == '/')
				vv_sysfs_close_dirs(dirs, 0);
			vv_sysfs_push_components(todo, target);
			continue;
		}
		if (!todo->len) {
			fd = openat(here, name, flags | O_NOFOLLOW);
			break;
		}
		next = openat(here, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			break;
		g_array_append_val(dirs, next);
	}
	saved = errno;
	vv_sysfs_close_dirs(dirs, 0);
	errno = saved;
	return fd;
}

/* The directory ANCHOR (CTX's sys_dir or sysroot) as an O_PATH descriptor,
 * opened once per context: a device read opens a dozen attributes, and an
 * open of the anchor's own path for each would cost as much as the read. */
static int
vv_sysfs_anchor(const vv_ctx *ctx, const char *anchor)
{
	gint *slot = (gint *)(anchor == ctx->sys_dir ? &ctx->sys_fd1 : &ctx->root_fd1);
	int fd = g_atomic_int_get(slot) - 1;

	if (fd >= 0)
		return fd;
	fd = open(anchor, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (!g_atomic_int_compare_and_exchange(slot, 0, fd + 1)) { /* another thread was first */
		close(fd);
		fd = g_atomic_int_get(slot) - 1;
	}
	return fd;
}

void
vv_sysfs_close_anchors(vv_ctx *ctx)
{
	if (ctx->sys_fd1 > 0)
		close(ctx->sys_fd1 - 1);
	if (ctx->root_fd1 > 0)
		close(ctx->root_fd1 - 1);
	ctx->sys_fd1 = ctx->root_fd1 = 0;
}

/*
 * Open PATH as the host under CTX sees it. Below a sysroot every component
 * resolves beneath it, as if it were "/" (RESOLVE_IN_ROOT: an absolute
 * symlink names a file of the sysroot, ".." stops at its top, a proc's
 * magic links are refused): O_NOFOLLOW guards only the last component, and
 * a link higher up would otherwise lead a write, or a read, to this
 * machine's own files. Sysfs paths resolve beneath SYSROOT/sys, which may
 * itself be a link the caller made (a support snapshot unpacked elsewhere);
 * in real sysfs every link is relative and stays below sys. openat2 has no
 * glibc wrapper (2.36); before Linux 5.6 the same walk is made by hand. On
 * the live host, and for paths outside the sysroot, a plain open. Returns
 * an fd or -1 with errno.
 */
int
vv_sysfs_open(const vv_ctx *ctx, const char *path, int flags)
{
	const char *anchor = NULL;
	const char *rel = vv_sysfs_below_root(ctx, path, &anchor);
	struct open_how how = { .flags = flags, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int root, fd = -1;

	if (!rel)
		return open(path, flags);
	root = vv_sysfs_anchor(ctx, anchor);
	if (root < 0)
		return -1;
	/* EAGAIN: a rename raced with the walk of ".."; the kernel asks to retry. */
	for (guint tries = 0; tries < 8; tries++) {
		fd = syscall(SYS_openat2, root, *rel ? rel : ".", &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	/* ENOSYS: before Linux 5.6; EPERM: a container's seccomp profile
	 * written before openat2 existed (Docker before 20.10). */
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = vv_sysfs_open_walk(root, rel, flags);
	return fd;
}

/*
 * The contents of the file PATH (NUL-terminated, *LENGTH bytes), at most
 * MAX bytes. Opened non-blocking, so that a FIFO cannot stop us at open,
 * and refused unless it is a regular file (sysfs attributes and proc
 * tables are): a FIFO would block the read, a device such as /dev/zero
 * never ends. With VV_READ_SIZED the file's size is meaningful and checked
 * before anything is read; sysfs reports a page for every attribute and
 * proc reports 0, so there MAX bounds the bytes read instead. Below a
 * sysroot the path resolves beneath it (vv_sysfs_open).
 */
char *
vv_file_read(const vv_ctx *ctx, const char *path, gsize max, vv_read_flags flags, gsize *length,
	     GError **error)
{
	g_autofree char *buffer = NULL;
	gsize size = 0, allocated;
	struct stat st;
	int fd, saved;

	fd = vv_sysfs_open(ctx, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC |
					     (flags & VV_READ_NOFOLLOW ? O_NOFOLLOW : 0));
	if (fd < 0) {
		saved = errno;
		g_set_error(error, VV_ERROR, saved == ENOENT ? VV_ERROR_NOT_FOUND : VV_ERROR_IO,
			    _("Cannot read %1$s: %2$s."), path, g_strerror(saved));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		saved = errno;
		close(fd);
		g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot read %1$s: %2$s."), path, g_strerror(saved));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    _("Cannot read %1$s: it is not a regular file (a FIFO, device, socket or directory)."), path);
		return NULL;
	}
	if ((flags & VV_READ_SIZED) && (guint64)st.st_size > max) {
		close(fd);
		g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
			    /* Plain %llu and %zu: xgettext cuts a message at a format macro. */
			    _("Cannot read %1$s: it holds %2$llu bytes, more than the %3$zu it may hold."),
			    path, (unsigned long long)st.st_size, max);
		return NULL;
	}
	/* One byte more than MAX is read, to tell a file of MAX bytes from a longer one. */
	allocated = MIN(max, (flags & VV_READ_SIZED) ? (gsize)st.st_size : 4096) + 2;
	buffer = g_malloc(allocated);
	for (;;) {
		ssize_t got;

		if (size + 1 == allocated) {
			allocated = MIN(max + 2, allocated * 2);
			buffer = g_realloc(buffer, allocated);
		}
		got = read(fd, buffer + size, allocated - 1 - size);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			saved = errno;
			close(fd);
			g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot read %1$s: %2$s."), path, g_strerror(saved));
			return NULL;
		}
		if (got == 0)
			break;
		size += got;
		if (size > max) {
			close(fd);
			g_set_error(error, VV_ERROR, VV_ERROR_INVALID_ARGUMENT,
				    _("Cannot read %1$s: it holds more than the %2$zu bytes it may hold."),
				    path, max);
			return NULL;
		}
	}
	close(fd);
	buffer[size] = '\0';
	if (length)
		*length = size;
	return g_steal_pointer(&buffer);
}

/* The first line of a sysfs attribute, without its newline. An attribute
 * is at most a page (kernfs' show() gives at most PAGE_SIZE, 4 KiB on
 * x86_64, 64 KiB at most anywhere). */
char *
vv_sysfs_read_attribute(const vv_ctx *ctx, const char *path, GError **error)
{
	char *text = vv_file_read(ctx, path, VV_SYSFS_ATTRIBUTE_MAX, VV_READ_NOFOLLOW, NULL, error);

	if (text)
		text[strcspn(text, "\n")] = '\0';
	return text;
}

/* One byte at OFFSET of a binary attribute (config space). */
gboolean
vv_sysfs_read_byte(const vv_ctx *ctx, const char *path, goffset offset, guint8 *value)
{
	int fd = vv_sysfs_open(ctx, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	ssize_t length = -1;

	if (fd < 0)
		return FALSE;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		length = pread(fd, value, 1, offset);
	close(fd);
	return length == 1;
}

/* A hexadecimal attribute such as "0x15b3" or "0x020000". */
gboolean
vv_sysfs_read_u32(const vv_ctx *ctx, const char *path, guint32 *value, GError **error)
{
	g_autofree char *text = vv_sysfs_read_attribute(ctx, path, error);
	guint64 parsed;

	if (!text)
		return FALSE;
	if (!g_ascii_string_to_unsigned(g_str_has_prefix(text, "0x") ? text + 2 : text,
					16, 0, G_MAXUINT32, &parsed, NULL)) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("%1$s holds '%2$s', which is not a hexadecimal number."), path, text);
		return FALSE;
	}
	*value = parsed;
	return TRUE;
}

/* A decimal attribute such as sriov_numvfs, from 0 to MAX: the kernel's own
 * range for it (sriov_* are u16), so that a value no kernel gives is an
 * error, not a count to loop over. An absent file is 0. */
gboolean
vv_sysfs_read_decimal(const vv_ctx *ctx, const char *path, guint max, guint *value, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autofree char *text = vv_sysfs_read_attribute(ctx, path, &local);
	guint64 parsed;

	*value = 0;
	if (!text && g_error_matches(local, VV_ERROR, VV_ERROR_NOT_FOUND))
		return TRUE;
	if (!text) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	if (!g_ascii_string_to_unsigned(text, 10, 0, max, &parsed, NULL)) {
		g_autofree char *shown = g_strescape(text, NULL);

		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("%1$s holds '%2$s', which is not a number from 0 to %3$u."), path, shown, max);
		return FALSE;
	}
	*value = parsed;
	return TRUE;
}

/* The target of the symlink PATH, as written (not resolved); NULL when
 * there is no link. Below a sysroot the link's directory resolves beneath
 * it, as every path does; the target itself is only text to the caller. */
char *
vv_sysfs_read_link(const vv_ctx *ctx, const char *path)
{
	const char *anchor;
	g_autofree char *dir = NULL;
	g_autofree char *name = NULL;
	char buffer[PATH_MAX];
	ssize_t length;
	int fd;

	if (!vv_sysfs_below_root(ctx, path, &anchor))
		return g_file_read_link(path, NULL);
	dir = g_path_get_dirname(path);
	name = g_path_get_basename(path);
	fd = vv_sysfs_open(ctx, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	length = fd < 0 ? -1 : readlinkat(fd, name, buffer, sizeof(buffer) - 1);
	if (fd >= 0)
		close(fd);
	return length >= 0 ? g_strndup(buffer, length) : NULL;
}

/* The last component of a symlink's target ("driver" -> ".../drivers/e1000e"
 * gives "e1000e"); NULL when there is no link. Only the name is used, so a
 * sysroot's relative links never lead outside it. */
char *
vv_sysfs_link_name(const vv_ctx *ctx, const char *path)
{
	g_autofree char *target = vv_sysfs_read_link(ctx, path);

	return target ? g_path_get_basename(target) : NULL;
}

/* PATH with every link resolved, as vv_sysfs_open resolves it (beneath a
 * sysroot: the kernel's name for what openat2 found); NULL when it does
 * not exist. */
char *
vv_sysfs_realpath(const vv_ctx *ctx, const char *path)
{
	const char *anchor;
	g_autofree char *self = NULL;
	char *resolved;
	int fd;

	if (!vv_sysfs_below_root(ctx, path, &anchor))
		return realpath(path, NULL);
	fd = vv_sysfs_open(ctx, path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	self = g_strdup_printf("/proc/self/fd/%d", fd);
	resolved = g_file_read_link(self, NULL);
	close(fd);
	return resolved;
}

/* PATH is of TYPE (S_IFDIR, S_IFREG), seen as vv_sysfs_open sees it. */
static gboolean
vv_sysfs_is_type(const vv_ctx *ctx, const char *path, mode_t type)
{
	int fd = vv_sysfs_open(ctx, path, O_PATH | O_CLOEXEC);
	struct stat st;
	gboolean is;

	if (fd < 0)
		return FALSE;
	is = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == type;
	close(fd);
	return is;
}

gboolean
vv_sysfs_is_dir(const vv_ctx *ctx, const char *path)
{
	return vv_sysfs_is_type(ctx, path, S_IFDIR);
}

gboolean
vv_sysfs_is_file(const vv_ctx *ctx, const char *path)
{
	return vv_sysfs_is_type(ctx, path, S_IFREG);
}

/* Entry names of a directory, sorted; empty when it cannot be read. */
GPtrArray *
vv_sysfs_list(const vv_ctx *ctx, const char *path)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	int fd = vv_sysfs_open(ctx, path, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *entry;

	if (!dir && fd >= 0)
		close(fd);
	while (dir && (entry = readdir(dir)))
		if (!g_str_equal(entry->d_name, ".") && !g_str_equal(entry->d_name, ".."))
			g_ptr_array_add(names, g_strdup(entry->d_name));
	if (dir)
		closedir(dir);
	g_ptr_array_sort(names, vv_name_compare);
	return names;
}

/* PATH with its symlinks resolved, through the deepest part that exists. */
static char *
vv_sysfs_resolve(const char *path)
{
	g_autofree char *existing = g_strdup(path);
	g_autofree char *rest = g_strdup("");
	char resolved[PATH_MAX];

	while (!realpath(existing, resolved)) {
		g_autofree char *base = g_path_get_basename(existing);
		char *parent = g_path_get_dirname(existing);
		char *longer = g_build_filename(base, rest, NULL);

		if (g_str_equal(parent, existing)) {
			g_free(parent);
			g_free(longer);
			return g_strdup(path);
		}
		g_free(existing);
		existing = parent;
		g_free(rest);
		rest = longer;
	}
	return g_build_filename(resolved, rest, NULL);
}

static gboolean
vv_sysfs_is_under(const char *resolved, const char *dir)
{
	return g_str_has_prefix(resolved, dir) &&
	       (resolved[strlen(dir)] == '/' || resolved[strlen(dir)] == '\0');
}

/*
 * The test suite must never change this machine: its PCI devices are its
 * own disk and network. With VV_TESTSUITE set (tests/meson.build sets it
 * for every test), a change to a context on "/", or to a path that
 * resolves into the real /sys or /proc, is refused before it is made.
 * Production runs never set it.
 */
gboolean
vv_sysfs_guard_live_host(const vv_ctx *ctx, const char *path, GError **error)
{
	g_autofree char *root = NULL;
	g_autofree char *target = NULL;

	if (!g_getenv("VV_TESTSUITE"))
		return TRUE;
	root = vv_sysfs_resolve(ctx->sysroot);
	target = vv_sysfs_resolve(path ? path : ctx->sys_dir);
	if (g_str_equal(root, "/") || vv_sysfs_is_under(target, "/sys") || vv_sysfs_is_under(target, "/proc")) {
		g_set_error(error, VV_ERROR, VV_ERROR_LIVE_HOST,
			    _("Refusing to change %s: the test suite (VV_TESTSUITE is set) may not change the live host; give the test a sysroot."),
			    path ? path : ctx->sysroot);
		return FALSE;
	}
	return TRUE;
}

/* One sysfs attribute write: one open, one write(2) of the whole value
 * (one write is one ->store(), and its errno is the kernel's answer; stdio
 * could split or delay it), one close, also checked. */
gboolean
vv_sysfs_write(const vv_ctx *ctx, const char *path, const char *value, GError **error)
{
	size_t length = strlen(value);
	g_autofree char *shown = g_strescape(value, NULL);
	ssize_t written;
	int fd, saved;

	if (!vv_sysfs_guard_live_host(ctx, path, error))
		return FALSE;
	fd = vv_sysfs_open(ctx, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		saved = errno;
		g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot open %1$s for writing: %2$s."),
			    path, g_strerror(saved));
		return FALSE;
	}
	written = write(fd, value, length);
	saved = errno;
	if (written < 0 || (size_t)written != length) {
		close(fd);
		g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Writing '%1$s' to %2$s failed: %3$s."),
			    shown, path, written < 0 ? g_strerror(saved) : _("the write was cut short"));
		return FALSE;
	}
	if (close(fd) < 0) {
		saved = errno;
		g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Writing '%1$s' to %2$s failed: %3$s."),
			    shown, path, g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

/* DRIVER is a driver name, NULL to clear: the kernel clears on "\n"
 * (writing "none" would block every driver). */
gboolean
vv_sysfs_write_driver_override(const vv_ctx *ctx, const char *address, const char *driver, GError **error)
{
	g_autofree char *path = vv_sysfs_device_file(ctx, address, "driver_override");

	return vv_sysfs_write(ctx, path, driver ? driver : "\n", error);
}

gboolean
vv_sysfs_write_unbind(const vv_ctx *ctx, const char *driver, const char *address, GError **error)
{
	g_autofree char *path = vv_sysfs_unbind_file(ctx, driver);

	return vv_sysfs_write(ctx, path, address, error);
}

/* Succeeds even when no driver takes the device: read `driver` after it. */
gboolean
vv_sysfs_write_drivers_probe(const vv_ctx *ctx, const char *address, GError **error)
{
	g_autofree char *path = vv_sysfs_drivers_probe_file(ctx);

	return vv_sysfs_write(ctx, path, address, error);
}
