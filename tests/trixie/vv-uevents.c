// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vv-uevents: every kernel uevent, one line each on standard output:
 *   SEQNUM ACTION DEVPATH DRIVER
 * (DRIVER "-" when the event names none), "READY" once it listens, and
 * "LOST" when the socket overflowed (events were dropped: a count made
 * from this output is then wrong, and says so).
 *
 * The trixie libvirt suite (tests/trixie) runs it in the VM to count the
 * driver changes the qemu hook makes: the kernel sends a "bind" and an
 * "unbind" event for every driver change of a device, numbered in order
 * with the same counter /sys/kernel/uevent_seqnum shows, so the events a
 * hook stage caused are those numbered between the counter read just
 * before the stage and just after it. Needs no library but libc.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(void)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int size = 8 << 20;
	char buf[16384 + 1];
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);

	if (fd < 0) {
		perror("vv-uevents: socket");
		return 1;
	}
	/* A large buffer: the module loads of a guest start send bursts. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("vv-uevents: bind");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("READY\n");
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		const char *seqnum = "?", *action = "?", *devpath = "?", *driver = "-";

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				printf("LOST\n");
				continue;
			}
			perror("vv-uevents: recv");
			return 1;
		}
		buf[n] = '\0';
		/* "ACTION@DEVPATH" then KEY=VALUE strings, each NUL-terminated. */
		for (char *p = buf + strlen(buf) + 1; p < buf + n; p += strlen(p) + 1) {
			if (strncmp(p, "SEQNUM=", 7) == 0)
				seqnum = p + 7;
			else if (strncmp(p, "ACTION=", 7) == 0)
				action = p + 7;
			else if (strncmp(p, "DEVPATH=", 8) == 0)
				devpath = p + 8;
			else if (strncmp(p, "DRIVER=", 7) == 0)
				driver = p + 7;
		}
		printf("%s %s %s %s\n", seqnum, action, devpath, driver);
	}
}
