// SPDX-License-Identifier: GPL-2.0
/*
 * call_loop - the same small process_vm_readv()/writev() call N times
 * between two getppid() markers, for insn_profile.c to bracket: one
 * marker before the first loop and one after each.
 *
 * Usage: call_loop N spec...   spec: r<size> or w<size> (bytes), e.g.
 *        call_loop 2000 r8 w8 r4096
 * Prints "loop <spec> <N>" per loop, in marker order; exit 1 on a wrong
 * return value.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define MAX_SIZE	(1 << 20)

static char remote[MAX_SIZE], local[MAX_SIZE];

static void marker(void)
{
	syscall(SYS_getppid);
}

int main(int argc, char **argv)
{
	long n, i;
	pid_t target;
	int a, bad = 0;

	if (argc < 3 || (n = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: call_loop N r<size>|w<size>...\n");
		return 2;
	}
	memset(remote, 0x5a, sizeof(remote));
	target = fork();
	if (!target) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		memset(remote, 0xa5, sizeof(remote));	/* its own pages */
		for (;;)
			pause();
	}
	usleep(100000);
	setvbuf(stdout, NULL, _IOLBF, 0);
	marker();
	for (a = 2; a < argc; a++) {
		size_t size = strtoul(argv[a] + 1, NULL, 0);
		struct iovec l = { local, size }, r = { remote, size };
		int write = argv[a][0] == 'w';

		if (!size || size > MAX_SIZE || (argv[a][0] != 'r' && !write)) {
			fprintf(stderr, "call_loop: bad spec %s\n", argv[a]);
			bad = 1;
			break;
		}
		for (i = 0; i < n; i++)
			if ((write ? process_vm_writev(target, &l, 1, &r, 1, 0) :
			     process_vm_readv(target, &l, 1, &r, 1, 0)) != (ssize_t)size)
				bad = 1;
		marker();
		printf("loop %s %ld\n", argv[a], n);
	}
	kill(target, SIGKILL);
	waitpid(target, NULL, 0);
	return bad;
}
