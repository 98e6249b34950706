/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vv-no-module-syscalls PROGRAM [ARGS...]: run PROGRAM with the module
 * syscalls (finit_module, init_module, delete_module) forbidden by a
 * seccomp filter: the first one it makes kills it with SIGSYS, and the
 * kernel never executes it. A test that runs as root can so prove that a
 * command never reaches the running kernel's module loader, without any
 * interposed library (which the library's test-suite guard would take as
 * the proof it looks for).
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define VV_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define VV_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "add this architecture's AUDIT_ARCH_*"
#endif

int
main(int argc, char **argv)
{
	struct sock_filter filter[] = {
		/* Another architecture's numbers mean other calls: kill. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, VV_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_finit_module, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_init_module, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_delete_module, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog program = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };

	if (argc < 2) {
		fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
		return 2;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) < 0) {
		fprintf(stderr, "%s: cannot install the seccomp filter: %s\n", argv[0], strerror(errno));
		return 2;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "%s: cannot run %s: %s\n", argv[0], argv[1], strerror(errno));
	return 127;
}
