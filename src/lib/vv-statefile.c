/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The files of the state directory (devices/BDF.conf, locks/group-N.lock,
 * the hook's hook/UUID.conf): opened so that nothing else can stand in for
 * them. The state directory is root's and lives in /run, but a file or a
 * directory there can still be a symbolic link (a mistake, a restored
 * backup, another user's doing on a shared --state-dir): following it
 * would read or replace whatever it points to, and show its first line in
 * an error. So every directory and file here is opened with O_NOFOLLOW
 * (a directory relative to nothing, a file relative to its directory's
 * descriptor), a file must be a regular one of a bounded size (O_NONBLOCK:
 * a FIFO put there cannot hang the open), and a write replaces the file
 * whole through a temporary in the same directory.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vv-private.h"

/* g_mkstemp()'s and our own suffix: ".XXXXXX", letters and digits. */
#define VV_STATE_TEMP_LENGTH 6

int
vv_state_dir_open(const char *dir, gboolean create, GError **error)
{
	int fd;

	if (create && g_mkdir_with_parents(dir, 0755) < 0) {
		int saved = errno;

		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("Cannot create the state directory %1$s: %2$s."), dir, g_strerror(saved));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		g_set_error(error, VV_ERROR, VV_ERROR_NOT_FOUND,
			    _("The state directory %s does not exist."), dir);
	else if (errno == ELOOP || errno == ENOTDIR)
		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("The state directory %s is a symbolic link or not a directory; vfio-variant does not follow it. Replace it with a directory."),
			    dir);
	else
		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("Cannot open the state directory %1$s: %2$s."), dir, g_strerror(errno));
	return -1;
}

int
vv_state_file_open(int dirfd, const char *path, int flags, GError **error)
{
	g_autofree char *name = g_path_get_basename(path);
	struct stat st;
	int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);

	if (fd < 0) {
		int saved = errno;

		if (saved == ENOENT)
			g_set_error(error, VV_ERROR, VV_ERROR_NOT_FOUND, _("%s does not exist."), path);
		else if (saved == ELOOP)
			g_set_error(error, VV_ERROR, VV_ERROR_IO,
				    _("%s is a symbolic link; vfio-variant does not follow it. Remove it."), path);
		else
			g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot open %1$s: %2$s."),
				    path, g_strerror(saved));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("%s is not a regular file; vfio-variant does not use it. Remove it."), path);
		close(fd);
		return -1;
	}
	return fd;
}

VV_EXPORT char *
vv_state_file_read(const char *path, gsize max, gsize *length, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *data = NULL;
	struct stat st;
	gsize done = 0;
	int dirfd, fd;

	if ((dirfd = vv_state_dir_open(dir, FALSE, error)) < 0)
		return NULL;
	fd = vv_state_file_open(dirfd, path, O_RDONLY, error);
	close(dirfd);
	if (fd < 0)
		return NULL;
	/* The size first, so that a huge file is refused unread; then read at
	 * most one byte more than allowed, in case it grew meanwhile. */
	if (fstat(fd, &st) < 0 || (guint64)st.st_size > max) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("%1$s is larger than %2$zu bytes; it is not a file vfio-variant wrote."),
			    path, (size_t)max);
		close(fd);
		return NULL;
	}
	data = g_malloc(max + 2);
	while (done <= max) {
		ssize_t n = read(fd, data + done, max + 1 - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot read %1$s: %2$s."),
				    path, g_strerror(saved));
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		done += n;
	}
	close(fd);
	if (done > max) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("%1$s is larger than %2$zu bytes; it is not a file vfio-variant wrote."),
			    path, (size_t)max);
		return NULL;
	}
	data[done] = '\0';
	if (length)
		*length = done;
	return g_steal_pointer(&data);
}

/* NAME is a temporary of BASE: "BASE." and six letters or digits. */
static gboolean
vv_state_is_temporary(const char *name, const char *base)
{
	size_t n = strlen(base);

	if (strncmp(name, base, n) != 0 || name[n] != '.' || strlen(name + n + 1) != VV_STATE_TEMP_LENGTH)
		return FALSE;
	for (const char *c = name + n + 1; *c; c++)
		if (!g_ascii_isalnum(*c))
			return FALSE;
	return TRUE;
}

/*
 * Remove the temporaries a killed writer of BASE left behind. Every writer
 * of a state file is its only writer at that moment (a device's record is
 * written only under its IOMMU group's lock; a domain's plan only by the
 * hook, which libvirt runs one stage at a time per domain), so any other
 * temporary of the same file is a dead writer's: none can be a live
 * write's, whatever its age. An age rule would instead keep a fresh
 * leftover until some later write, and a clock step could remove a live one.
 */
static void
vv_state_clean_temporaries(int dirfd, const char *base)
{
	int fd = dup(dirfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *entry;

	if (!dir) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((entry = readdir(dir))) {
		if (!vv_state_is_temporary(entry->d_name, base))
			continue;
		if (unlinkat(dirfd, entry->d_name, 0) < 0 && errno != ENOENT)
			g_debug("cannot remove the stale temporary %s: %s", entry->d_name, g_strerror(errno));
	}
	closedir(dir);
}

static int
vv_state_create_temporary(int dirfd, const char *base, char **name)
{
	static const char letters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

	for (guint attempt = 0; attempt < 100; attempt++) {
		char suffix[VV_STATE_TEMP_LENGTH + 1];
		int fd;

		for (guint i = 0; i < VV_STATE_TEMP_LENGTH; i++)
			suffix[i] = letters[g_random_int_range(0, sizeof(letters) - 1)];
		suffix[VV_STATE_TEMP_LENGTH] = '\0';
		g_free(*name);
		*name = g_strconcat(base, ".", suffix, NULL);
		fd = openat(dirfd, *name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

static gboolean
vv_state_write_all(int fd, const char *data, gsize length)
{
	while (length > 0) {
		ssize_t n = write(fd, data, length);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return FALSE;
		data += n;
		length -= n;
	}
	return TRUE;
}

VV_EXPORT gboolean
vv_state_file_write(const char *path, const char *data, gsize length, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *temporary = NULL;
	int dirfd, fd, saved;

	if ((dirfd = vv_state_dir_open(dir, TRUE, error)) < 0)
		return FALSE;
	vv_state_clean_temporaries(dirfd, base);

	/* Written, flushed, then renamed over the file: a reader or a crash
	 * sees the old file or the new one, never a part of each. */
	fd = vv_state_create_temporary(dirfd, base, &temporary);
	if (fd < 0) {
		saved = errno;
		goto fail;
	}
	if (!vv_state_write_all(fd, data, length) || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		goto fail_unlink;
	}
	if (close(fd) < 0 || renameat(dirfd, temporary, dirfd, base) < 0) {
		saved = errno;
		goto fail_unlink;
	}
	/* The rename itself survives a crash once the directory is synced. */
	if (fsync(dirfd) < 0)
		g_debug("cannot sync the directory %s: %s", dir, g_strerror(errno));
	close(dirfd);
	return TRUE;

fail_unlink:
	unlinkat(dirfd, temporary, 0);
fail:
	close(dirfd);
	g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot write %1$s: %2$s."), path, g_strerror(saved));
	return FALSE;
}

gboolean
vv_state_file_remove(const char *path, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *base = g_path_get_basename(path);
	g_autoptr(GError) local = NULL;
	int dirfd = vv_state_dir_open(dir, FALSE, &local);
	int saved;

	if (dirfd < 0) {
		if (g_error_matches(local, VV_ERROR, VV_ERROR_NOT_FOUND))
			return TRUE;
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	if (unlinkat(dirfd, base, 0) == 0 || errno == ENOENT) {
		close(dirfd);
		return TRUE;
	}
	saved = errno;
	close(dirfd);
	g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot remove %1$s: %2$s."), path, g_strerror(saved));
	return FALSE;
}

GPtrArray *
vv_state_dir_list(const char *dir, GError **error)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) local = NULL;
	int fd = vv_state_dir_open(dir, FALSE, &local);
	struct dirent *entry;
	DIR *stream;

	if (fd < 0) {
		if (g_error_matches(local, VV_ERROR, VV_ERROR_NOT_FOUND))
			return g_steal_pointer(&names);
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	if (!(stream = fdopendir(fd))) {
		int saved = errno;

		close(fd);
		g_set_error(error, VV_ERROR, VV_ERROR_IO, _("Cannot open the state directory %1$s: %2$s."),
			    dir, g_strerror(saved));
		return NULL;
	}
	while ((entry = readdir(stream)))
		if (entry->d_name[0] != '.')
			g_ptr_array_add(names, g_strdup(entry->d_name));
	closedir(stream);
	g_ptr_array_sort(names, vv_name_compare);
	return g_steal_pointer(&names);
}
