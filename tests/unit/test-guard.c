/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The test-suite guard: with VV_TESTSUITE set, no write may reach the live
 * host. Every path written here does not exist, so a broken guard fails
 * with ENOENT instead of changing anything (sysfs cannot create files).
 */
#define _GNU_SOURCE /* O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vv-private.h"

#define VV_MISSING "bus/pci/vv-test-guard-does-not-exist"

/* A context with only the roots the write path reads. */
static vv_ctx
vv_test_ctx(const char *sysroot, char **sys_dir)
{
	vv_ctx ctx = { 0 };

	*sys_dir = g_build_filename(sysroot, "sys", NULL);
	ctx.sysroot = (char *)sysroot;
	ctx.sys_dir = *sys_dir;
	return ctx;
}

static void
test_guard_live_root(void)
{
	g_autofree char *sys_dir = NULL;
	vv_ctx ctx = vv_test_ctx("/", &sys_dir);
	g_autofree char *path = g_build_filename(sys_dir, VV_MISSING, NULL);
	g_autoptr(GError) error = NULL;

	g_assert_false(vv_sysfs_write(&ctx, path, "0000:00:00.0", &error));
	g_assert_error(error, VV_ERROR, VV_ERROR_LIVE_HOST);
	g_assert_nonnull(strstr(error->message, "VV_TESTSUITE"));
	g_clear_error(&error);
	g_assert_false(vv_module_load(&ctx, "vfio_pci", "0000:00:00.0", &error));
	g_assert_error(error, VV_ERROR, VV_ERROR_LIVE_HOST);
}

/* A sysroot that is a link to "/", and one whose sys is a link to /sys. */
static void
test_guard_links(void)
{
	g_autofree char *dir = g_dir_make_tmp("vv-test-guard-XXXXXX", NULL);
	g_autofree char *to_root = g_build_filename(dir, "root", NULL);
	g_autofree char *host = g_build_filename(dir, "host", NULL);
	g_autofree char *host_sys = g_build_filename(host, "sys", NULL);
	g_autofree char *sys_a = NULL, *sys_b = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(symlink("/", to_root), ==, 0);
	g_assert_cmpint(g_mkdir(host, 0755), ==, 0);
	g_assert_cmpint(symlink("/sys", host_sys), ==, 0);

	{
		vv_ctx ctx = vv_test_ctx(to_root, &sys_a);
		g_autofree char *path = g_build_filename(sys_a, VV_MISSING, NULL);

		g_assert_false(vv_sysfs_write(&ctx, path, "x", &error));
		g_assert_error(error, VV_ERROR, VV_ERROR_LIVE_HOST);
		g_clear_error(&error);
	}
	{
		vv_ctx ctx = vv_test_ctx(host, &sys_b);
		g_autofree char *path = g_build_filename(sys_b, VV_MISSING, NULL);

		g_assert_false(vv_sysfs_write(&ctx, path, "x", &error));
		g_assert_error(error, VV_ERROR, VV_ERROR_LIVE_HOST);
	}
	g_unlink(host_sys);
	g_rmdir(host);
	g_unlink(to_root);
	g_rmdir(dir);
}

/* A sysroot of plain files is written, once, whole. */
static void
test_guard_sysroot_written(void)
{
	g_autofree char *dir = g_dir_make_tmp("vv-test-guard-XXXXXX", NULL);
	g_autofree char *sys_dir = NULL;
	vv_ctx ctx = vv_test_ctx(dir, &sys_dir);
	g_autofree char *file = g_build_filename(sys_dir, "drivers_probe", NULL);
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(g_mkdir(sys_dir, 0755), ==, 0);
	g_assert_true(g_file_set_contents(file, "", 0, NULL));
	g_assert_true(vv_sysfs_write(&ctx, file, "0000:00:01.0", &error));
	g_assert_no_error(error);
	g_assert_true(g_file_get_contents(file, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "0000:00:01.0");
	/* Missing attribute: an error naming it, nothing created. */
	g_assert_false(vv_sysfs_write(&ctx, "/nonexistent-vv-dir/file", "x", &error));
	g_assert_error(error, VV_ERROR, VV_ERROR_IO);
	g_unlink(file);
	g_rmdir(sys_dir);
	g_rmdir(dir);
}

static void
vv_test_rmtree(const char *dir)
{
	g_autofree char *command = g_strdup_printf("rm -rf '%s'", dir);

	g_assert_cmpint(system(command), ==, 0);
}

static void
vv_test_put(const char *dir, const char *name, const char *text)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static char *
vv_test_get(const char *dir, const char *name)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	char *text = NULL;

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	return text;
}

/* A sysroot whose sys/bus/pci/devices/0000:00:01.0 is an absolute link to a
 * device directory outside it (or a parent link, or the attribute itself):
 * a write must not reach the outside file. On the real kernel O_NOFOLLOW
 * caught only the last case. */
static void
test_guard_write_beneath_sysroot(void)
{
	static const struct {
		const char *label, *link, *target; /* target: NULL = the outside directory */
		gboolean lands_inside;
	} cases[] = {
		{ "device dir -> outside", "sys/bus/pci/devices/0000:00:01.0", NULL, FALSE },
		{ "devices -> outside", "sys/bus/pci/devices", NULL, FALSE },
		{ "device dir -> absolute inside", "sys/bus/pci/devices/0000:00:01.0", "/devices/pci0000:00/0000:00:01.0", TRUE },
		{ "device dir -> ../ beyond the root", "sys/bus/pci/devices/0000:00:01.0", "../../../../../../../../devices/pci0000:00/0000:00:01.0", TRUE },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *dir = g_dir_make_tmp("vv-test-guard-XXXXXX", NULL);
		g_autofree char *outside = g_build_filename(dir, "outside", NULL);
		g_autofree char *outside_dev = g_build_filename(outside, "0000:00:01.0", NULL);
		g_autofree char *root = g_build_filename(dir, "root", NULL);
		g_autofree char *inside_dev = g_build_filename(root, "sys/devices/pci0000:00/0000:00:01.0", NULL);
		g_autofree char *devices = g_build_filename(root, "sys/bus/pci/devices", NULL);
		g_autofree char *link = g_build_filename(root, cases[i].link, NULL);
		g_autofree char *sys_dir = NULL;
		g_autofree char *path = NULL;
		g_autofree char *outside_text = NULL, *inside_text = NULL;
		g_autoptr(GError) error = NULL;
		vv_ctx ctx;
		gboolean written;

		g_test_message("%s", cases[i].label);
		g_assert_cmpint(g_mkdir_with_parents(outside_dev, 0755), ==, 0);
		g_assert_cmpint(g_mkdir_with_parents(inside_dev, 0755), ==, 0);
		g_assert_cmpint(g_mkdir_with_parents(devices, 0755), ==, 0);
		vv_test_put(outside_dev, "driver_override", "untouched");
		vv_test_put(inside_dev, "driver_override", "inside");
		if (g_str_equal(cases[i].link, "sys/bus/pci/devices"))
			g_assert_cmpint(g_rmdir(devices), ==, 0);
		g_assert_cmpint(symlink(cases[i].target ? cases[i].target : (g_str_equal(cases[i].link, "sys/bus/pci/devices") ? outside : outside_dev), link), ==, 0);
		ctx = vv_test_ctx(root, &sys_dir);
		path = g_build_filename(sys_dir, "bus/pci/devices/0000:00:01.0/driver_override", NULL);
		written = vv_sysfs_write(&ctx, path, "vfio-pci", &error);
		outside_text = vv_test_get(outside_dev, "driver_override");
		inside_text = vv_test_get(inside_dev, "driver_override");
		g_assert_cmpstr(outside_text, ==, "untouched");
		if (cases[i].lands_inside) {
			g_assert_no_error(error);
			g_assert_true(written);
			g_assert_cmpstr(inside_text, ==, "vfio-pci");
		} else {
			g_assert_false(written);
			g_assert_error(error, VV_ERROR, VV_ERROR_IO);
			g_assert_cmpstr(inside_text, ==, "inside");
		}
		vv_test_rmtree(dir);
	}
}

/* openat2(RESOLVE_IN_ROOT) and the walk made where it is missing agree,
 * result and errno, on every kind of link. */
static void
test_guard_open_walk(void)
{
	static const struct {
		const char *path;
		int flags;
		const char *expected; /* the file's text, "" for a directory, NULL: fails */
		int error;
	} cases[] = {
		{ "a/file", O_RDONLY, "a", 0 },
		{ "abs/file", O_RDONLY, "a", 0 },
		{ "rel/file", O_RDONLY, "a", 0 },
		{ "up/file", O_RDONLY, "a", 0 },
		{ "../../a/file", O_RDONLY, "a", 0 },
		{ "a/../a/./file", O_RDONLY, "a", 0 },
		{ "chain/file", O_RDONLY, "a", 0 },
		{ "a/absdeep/file", O_RDONLY, "a", 0 },
		{ "filelink", O_RDONLY, "a", 0 },
		{ "filelink", O_RDONLY | O_NOFOLLOW, NULL, ELOOP },
		{ "abs/filelink", O_RDONLY | O_NOFOLLOW, NULL, ELOOP },
		{ "out/file", O_RDONLY, NULL, ENOENT },
		{ "loop/file", O_RDONLY, NULL, ELOOP },
		{ "missing/file", O_RDONLY, NULL, ENOENT },
		{ "a/file/x", O_RDONLY, NULL, ENOTDIR },
		{ "", O_RDONLY | O_DIRECTORY, "", 0 },
		{ "a/..", O_RDONLY | O_DIRECTORY, "", 0 },
		{ "abs", O_RDONLY | O_DIRECTORY, "", 0 },
	};
	g_autofree char *dir = g_dir_make_tmp("vv-test-walk-XXXXXX", NULL);
	g_autofree char *root = g_build_filename(dir, "root", NULL);
	g_autofree char *a = g_build_filename(root, "a", NULL);
	g_autofree char *outside = g_build_filename(dir, "outside", NULL);
	struct { const char *name, *target; } links[] = {
		{ "abs", "/a" }, { "rel", "a" }, { "up", "../../../a" }, { "chain", "abs" },
		{ "filelink", "/a/file" }, { "a/filelink", "../filelink" }, { "out", outside },
		{ "a/absdeep", "/a" },
		{ "loop", "loop" },
	};
	int rootfd;

	g_assert_cmpint(g_mkdir_with_parents(a, 0755), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(outside, 0755), ==, 0);
	vv_test_put(a, "file", "a");
	vv_test_put(outside, "file", "outside");
	for (guint i = 0; i < G_N_ELEMENTS(links); i++) {
		g_autofree char *link = g_build_filename(root, links[i].name, NULL);

		g_assert_cmpint(symlink(links[i].target, link), ==, 0);
	}
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	g_assert_cmpint(rootfd, >=, 0);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct open_how how = { .flags = cases[i].flags | O_CLOEXEC,
					.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
		int fds[2], errors[2];

		g_test_message("%s", cases[i].path);
		fds[0] = syscall(SYS_openat2, rootfd, *cases[i].path ? cases[i].path : ".", &how, sizeof(how));
		errors[0] = errno;
		fds[1] = vv_sysfs_open_walk(rootfd, cases[i].path, cases[i].flags | O_CLOEXEC);
		errors[1] = errno;
		for (guint k = 0; k < 2; k++) {
			struct stat st;

			/* valgrind 3.19 (Debian 12) knows no openat2: the walk is
			 * then checked against the table alone. */
			if (k == 0 && fds[0] < 0 && errors[0] == ENOSYS) {
				g_test_message("openat2 is missing here (ENOSYS): the walk alone is checked");
				continue;
			}
			if (!cases[i].expected) {
				g_assert_cmpint(fds[k], ==, -1);
				g_assert_cmpint(errors[k], ==, cases[i].error);
				continue;
			}
			g_assert_cmpint(fds[k], >=, 0);
			g_assert_cmpint(fstat(fds[k], &st), ==, 0);
			if (S_ISDIR(st.st_mode)) {
				g_assert_cmpstr(cases[i].expected, ==, "");
			} else {
				char text[16] = { 0 };

				g_assert_cmpint(read(fds[k], text, sizeof(text) - 1), >, 0);
				g_assert_cmpstr(text, ==, cases[i].expected);
			}
			close(fds[k]);
		}
	}
	close(rootfd);
	vv_test_rmtree(dir);
}

/* Every file the library reads: regular, bounded, never blocking. */
static void
test_guard_file_read(void)
{
	g_autofree char *dir = g_dir_make_tmp("vv-test-read-XXXXXX", NULL);
	g_autofree char *fifo = g_build_filename(dir, "fifo", NULL);
	g_autofree char *small = g_build_filename(dir, "small", NULL);
	g_autofree char *link = g_build_filename(dir, "link", NULL);
	g_autofree char *missing = g_build_filename(dir, "missing", NULL);
	const struct {
		const char *path;
		gsize max;
		vv_read_flags flags;
		const char *expected; /* NULL: refused with CODE */
		int code;
	} cases[] = {
		{ small, 5, VV_READ_SIZED, "12345", 0 },
		{ small, 5, 0, "12345", 0 },
		{ small, 4, VV_READ_SIZED, NULL, VV_ERROR_INVALID_ARGUMENT },
		{ small, 4, 0, NULL, VV_ERROR_INVALID_ARGUMENT },
		{ link, 5, 0, "12345", 0 },
		{ link, 5, VV_READ_NOFOLLOW, NULL, VV_ERROR_IO },
		{ fifo, 1024, 0, NULL, VV_ERROR_INVALID_ARGUMENT },
		{ "/dev/zero", 1024, VV_READ_SIZED, NULL, VV_ERROR_INVALID_ARGUMENT },
		{ "/dev/zero", 1024, 0, NULL, VV_ERROR_INVALID_ARGUMENT },
		{ dir, 1024, 0, NULL, VV_ERROR_INVALID_ARGUMENT },
		{ missing, 1024, 0, NULL, VV_ERROR_NOT_FOUND },
	};

	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	vv_test_put(dir, "small", "12345");
	g_assert_cmpint(symlink("small", link), ==, 0);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *text = NULL;
		gsize length = 0;

		g_test_message("%s, at most %" G_GSIZE_FORMAT ", flags %d", cases[i].path, cases[i].max, cases[i].flags);
		text = vv_file_read(NULL, cases[i].path, cases[i].max, cases[i].flags, &length, &error);
		if (cases[i].expected) {
			g_assert_no_error(error);
			g_assert_cmpstr(text, ==, cases[i].expected);
			g_assert_cmpuint(length, ==, strlen(cases[i].expected));
		} else {
			g_assert_null(text);
			g_assert_error(error, VV_ERROR, cases[i].code);
			g_assert_nonnull(strstr(error->message, cases[i].path));
		}
	}
	vv_test_rmtree(dir);
}

/* A test process without an interposer of the module syscalls (this one)
 * may not load a module, even into a sysroot: libkmod would reach the
 * running kernel. Refused before libkmod is asked (the context has none). */
static void
test_guard_module_load(void)
{
	g_autofree char *dir = g_dir_make_tmp("vv-test-guard-XXXXXX", NULL);
	g_autofree char *sys_dir = NULL;
	vv_ctx ctx = vv_test_ctx(dir, &sys_dir);
	g_autoptr(GError) error = NULL;

	g_assert_false(vv_module_load(&ctx, "vfio_pci", "0000:00:00.0", &error));
	g_assert_error(error, VV_ERROR, VV_ERROR_LIVE_HOST);
	g_assert_nonnull(strstr(error->message, "vfio_pci"));
	g_assert_nonnull(strstr(error->message, "running kernel"));
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_setenv("VV_TESTSUITE", "1", TRUE);
	g_test_add_func("/guard/live-root", test_guard_live_root);
	g_test_add_func("/guard/links-to-live-host", test_guard_links);
	g_test_add_func("/guard/sysroot-written", test_guard_sysroot_written);
	g_test_add_func("/guard/write-beneath-sysroot", test_guard_write_beneath_sysroot);
	g_test_add_func("/guard/open-walk", test_guard_open_walk);
	g_test_add_func("/guard/file-read", test_guard_file_read);
	g_test_add_func("/guard/module-load", test_guard_module_load);
	return g_test_run();
}
