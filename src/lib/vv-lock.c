/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One advisory lock per IOMMU group: STATE_DIR/locks/group-N.lock, taken
 * with flock(LOCK_EX). The group, not the device, is the unit because the
 * group's viability depends on every member: two commands on two members
 * of one group would each see the other still on its host driver, or
 * each bind while the other unbinds. flock is released by the kernel when
 * the holder dies, so a killed command never leaves the group locked.
 *
 * The holder writes who it is into the file, so that a waiter that gives
 * up can say what holds the group.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "vv-private.h"

#define VV_LOCK_POLL_US (50 * 1000)

struct vv_lock {
	int fd;
};

static char *
vv_lock_path(vv_ctx *ctx, int group)
{
	g_autofree char *name = group >= 0 ? g_strdup_printf("group-%d.lock", group) :
					     g_strdup("no-group.lock");

	return g_build_filename(ctx->state_dir, "locks", name, NULL);
}

/* What the holder wrote, on one line, or NULL. */
static char *
vv_lock_read_holder(int fd)
{
	char buffer[256];
	ssize_t n = pread(fd, buffer, sizeof(buffer) - 1, 0);

	if (n <= 0)
		return NULL;
	buffer[n] = '\0';
	buffer[strcspn(buffer, "\n")] = '\0';
	return buffer[0] ? g_strdup(buffer) : NULL;
}

vv_lock *
vv_lock_acquire(vv_ctx *ctx, int group, const char *holder, guint timeout_ms, GError **error)
{
	g_autofree char *path = vv_lock_path(ctx, group);
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *text = NULL;
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	g_autoptr(GError) local = NULL;
	vv_lock *lock;
	int dirfd, fd = -1;

	/* Neither locks/ nor the lock may be a symbolic link: flock on the
	 * target would serialize with whatever else locks it, and the holder's
	 * note would be written there (see vv-statefile.c). */
	if ((dirfd = vv_state_dir_open(dir, TRUE, &local)) >= 0) {
		fd = vv_state_file_open(dirfd, path, O_RDWR | O_CREAT, &local);
		close(dirfd);
	}
	if (fd < 0) {
		g_set_error(error, VV_ERROR, VV_ERROR_IO,
			    _("Cannot use the lock %1$s of IOMMU group %2$d: %3$s"),
			    path, group, local->message);
		return NULL;
	}

	/* Polled rather than blocking, so the wait is bounded. */
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		g_autofree char *other = NULL;

		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK || g_get_monotonic_time() >= deadline) {
			int saved = errno;

			other = vv_lock_read_holder(fd);
			close(fd);
			if (saved != EWOULDBLOCK)
				g_set_error(error, VV_ERROR, VV_ERROR_IO,
					    _("Cannot lock IOMMU group %1$d (%2$s): %3$s."),
					    group, path, g_strerror(saved));
			else
				g_set_error(error, VV_ERROR, VV_ERROR_BUSY,
					    _("IOMMU group %1$d is busy: another command (%2$s) has held its lock %3$s for more than %4$u ms. Wait for it to finish and try again."),
					    group, other ? other : _("unknown"), path, timeout_ms);
			return NULL;
		}
		g_usleep(VV_LOCK_POLL_US);
	}

	text = g_strdup_printf("pid %d: %s\n", (int)getpid(), holder);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, text, strlen(text), 0) < 0)
		g_debug("cannot note the holder in %s: %s", path, g_strerror(errno));
	lock = g_new0(vv_lock, 1);
	lock->fd = fd;
	return lock;
}

void
vv_lock_release(vv_lock *lock)
{
	if (!lock)
		return;
	/* The holder's note stays; it is only read while the lock is held. */
	close(lock->fd);
	g_free(lock);
}
