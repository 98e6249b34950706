/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sysfs layout, in one place: one helper per path, all below the
 * context's sys directory, so that a sysroot laid out like the real kernel's
 * sysfs (relative symlinks included) reads exactly like the live host.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
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
	return g_build_filename(ctx->sys_dir, "module", module, "drivers", NULL);
}

char *
vv_sysfs_drivers_probe_file(const vv_ctx *ctx)
{
	return g_build_filename(ctx->sys_dir, "bus/pci/drivers_probe", NULL);
}

char *
vv_sysfs_unbind_file(const vv_ctx *ctx, const char *driver)
{
	return g_build_filename(ctx->sys_dir, "bus/pci/drivers", driver, "unbind", NULL);
}

char *
vv_sysfs_group_devices_dir(const vv_ctx *ctx, int group)
{
	g_autofree char *number = g_strdup_printf("%d", group);

	return g_build_filename(ctx->sys_dir, "kernel/iommu_groups", number, "devices", NULL);
}

/* The first line of a sysfs attribute, without its newline. Attributes
 * are at most a page; a plain open+read skips the fstat and regrowth of
 * g_file_get_contents, which shows when thousands of devices are read. */
char *
vv_sysfs_read_line(const char *path, GError **error)
{
	char buffer[4096];
	ssize_t length;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int saved = errno;

		g_set_error(error, VV_ERROR, saved == ENOENT ? VV_ERROR_NOT_FOUND : VV_ERROR_IO,
			    _("Cannot read %1$s: %2$s."), path, g_strerror(saved));
		return NULL;
	}
	length = read(fd, buffer, sizeof(buffer) - 1);
	if (length < 0) {
		int saved = errno;

		close(fd);
		g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot read %1$s: %2$s."), path, g_strerror(saved));
		return NULL;
	}
	close(fd);
	buffer[length] = '\0';
	buffer[strcspn(buffer, "\n")] = '\0';
	return g_strdup(buffer);
}

/* One byte at OFFSET of a binary attribute (config space). */
gboolean
vv_sysfs_read_byte(const char *path, goffset offset, guint8 *value)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t length;

	if (fd < 0)
		return FALSE;
	length = pread(fd, value, 1, offset);
	close(fd);
	return length == 1;
}

/* A hexadecimal attribute such as "0x15b3" or "0x020000". */
gboolean
vv_sysfs_read_u32(const char *path, guint32 *value, GError **error)
{
	g_autofree char *text = vv_sysfs_read_line(path, error);
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

/* A decimal attribute such as sriov_numvfs; 0 when absent. */
guint
vv_sysfs_read_decimal(const char *path)
{
	g_autofree char *text = vv_sysfs_read_line(path, NULL);
	guint64 value = 0;

	if (!text || !g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT, &value, NULL))
		return 0;
	return value;
}

/* The last component of a symlink's target ("driver" -> ".../drivers/e1000e"
 * gives "e1000e"); NULL when there is no link. Only the name is used, so a
 * sysroot's relative links never lead outside it. */
char *
vv_sysfs_link_target_name(const char *path)
{
	g_autofree char *target = g_file_read_link(path, NULL);

	return target ? g_path_get_basename(target) : NULL;
}

static int
vv_sysfs_compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Entry names of a directory, sorted; empty when it cannot be read. */
GPtrArray *
vv_sysfs_list_dir(const char *path)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const char *name;

	while (dir && (name = g_dir_read_name(dir)))
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, vv_sysfs_compare_names);
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
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
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
