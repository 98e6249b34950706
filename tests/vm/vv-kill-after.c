/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vv-kill-after.so: "a detach killed half way", on the real kernel.
 *
 *   LD_PRELOAD=vv-kill-after.so VV_KILL_AFTER=SUFFIX vfio-variant detach ...
 *
 * The process gets SIGKILL right after it closes a file it opened for
 * writing whose path ends in SUFFIX (e.g. "unbind"): the kernel has made
 * that change, and nothing after it runs. The semantics are those of the
 * fake kernel's VV_FAKEKERNEL_KILL_AFTER (tests/fakekernel), which the
 * simulated tests use; the binding engine itself has no stop switch.
 * vfio-variant writes each sysfs attribute with open, write, close.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
close(int fd)
{
	static int (*real_close)(int);
	const char *suffix = getenv("VV_KILL_AFTER");
	char link[64], path[PATH_MAX];
	size_t length = suffix ? strlen(suffix) : 0;
	ssize_t n = -1;
	int flags, result;

	if (!real_close)
		real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	if (length && (flags = fcntl(fd, F_GETFL)) >= 0 && (flags & O_ACCMODE) != O_RDONLY) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, path, sizeof(path) - 1);
	}
	result = real_close(fd);
	if (n >= (ssize_t)length && n > 0) {
		path[n] = '\0';
		if (strcmp(path + n - length, suffix) == 0) {
			dprintf(STDERR_FILENO, "vv-kill-after: SIGKILL after closing %s\n", path);
			raise(SIGKILL);
		}
	}
	return result;
}
