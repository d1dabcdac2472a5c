// SPDX-License-Identifier: GPL-2.0
/*
 * enosys - run a command as if the kernel had no Cross Memory Attach.
 *
 * Usage: enosys command [args...]
 *
 * Installs a seccomp filter that fails process_vm_readv() and
 * process_vm_writev() with ENOSYS, exactly what a kernel built without
 * CONFIG_CROSS_MEMORY_ATTACH returns, and execs the command.  Filters are
 * inherited across fork() and execve(), so a whole mpirun job or a test
 * script runs under it.  This lets run_clients.sh's "enosys" expectation
 * be tested on a host that has CMA, without booting the base kernel.
 *
 * Covers x86_64 (310, 311), the x32 ABI (the same numbers with the x32
 * bit or, on older kernels, 539 and 540) and i386 compat (347, 348);
 * every other system call is allowed.
 *
 * Static so that it has no run-time dependencies of its own.
 * Build: gcc -static -O2 -Wall -Werror -o enosys enosys.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#ifndef __x86_64__
#error "enosys: the syscall numbers below are for x86_64 hosts only"
#endif

#define X32_BIT		0x40000000U	/* __X32_SYSCALL_BIT */
#define NR64_READV	310
#define NR64_WRITEV	311
#define NRX32_READV	539	/* x32 entries of older kernels */
#define NRX32_WRITEV	540
#define NR32_READV	347
#define NR32_WRITEV	348

#define LOAD(field) \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
/* Jump over @t instructions if the accumulator equals @k, else over @f. */
#define JEQ(k, t, f)	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define RET(v)		BPF_STMT(BPF_RET | BPF_K, (v))

static struct sock_filter filter[] = {
	/* 0 */ LOAD(arch),
	/* 1 */ JEQ(AUDIT_ARCH_X86_64, 0, 7),
	/* 2 */ LOAD(nr),
	/* 3 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~X32_BIT),
	/* 4 */ JEQ(NR64_READV, 8, 0),
	/* 5 */ JEQ(NR64_WRITEV, 7, 0),
	/* 6 */ JEQ(NRX32_READV, 6, 0),
	/* 7 */ JEQ(NRX32_WRITEV, 5, 0),
	/* 8 */ RET(SECCOMP_RET_ALLOW),
	/* 9 */ JEQ(AUDIT_ARCH_I386, 0, 4),
	/* 10 */ LOAD(nr),
	/* 11 */ JEQ(NR32_READV, 1, 0),
	/* 12 */ JEQ(NR32_WRITEV, 0, 1),
	/* 13 */ RET(SECCOMP_RET_ERRNO | ENOSYS),
	/* 14 */ RET(SECCOMP_RET_ALLOW),
};

int main(int argc, char **argv)
{
	struct sock_fprog prog = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = filter,
	};

	if (argc < 2) {
		fprintf(stderr, "usage: enosys command [args...]\n");
		return 2;
	}
	/* Lets an unprivileged caller install a filter; setuid is moot. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		perror("enosys: PR_SET_NO_NEW_PRIVS");
		return 1;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("enosys: PR_SET_SECCOMP");
		return 1;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "enosys: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
