// SPDX-License-Identifier: GPL-2.0
/*
 * cma_sweep - a sampling profiler's sweep over many processes, one of
 * which stalls, with and without PROCESS_VM_NOWAIT.
 *
 * NTARGETS child processes each hold one page of "stack"; in one of them
 * that page sits under a userfaultfd whose handler answers a fault only
 * after STALL_MS, then drops the page again (MADV_DONTNEED), so every read
 * of it stalls anew, as a mapping behind a slow FUSE daemon or a post-copy
 * migration would.  A sweep reads the page of every target through a
 * pidfd; SWEEPS sweeps are timed with flags PIDFD and with PIDFD | NOWAIT.
 *
 * Output (the benchmark's line format, size = the number of targets):
 *   bench sweep_<wait|nowait>_<p50|p99> <targets> <ns> 0
 * bench-skip where the kernel lacks the flags; bench-fail and exit status 1
 * if a read returns what it should not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/process_vm_access.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NTARGETS	200
#define STALLED		(NTARGETS / 2)	/* the target whose page stalls */
#define STALL_MS	100
#define SWEEPS		21

static char *page;	/* each target's page, at the same address in all */
static size_t ps;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The stalled target's handler: answer late, then make the page missing */
static void *slow_handler(void *arg)
{
	int uffd = (int)(intptr_t)arg;
	char *src = malloc(ps);
	struct uffd_msg msg;

	memset(src, 's', ps);
	while (read(uffd, &msg, sizeof(msg)) == sizeof(msg)) {
		struct uffdio_copy copy = {
			.dst = (uintptr_t)page, .src = (uintptr_t)src, .len = ps,
		};

		poll(NULL, 0, STALL_MS);
		ioctl(uffd, UFFDIO_COPY, &copy);
		poll(NULL, 0, 1);	/* let the reader copy it */
		madvise(page, ps, MADV_DONTNEED);
	}
	return NULL;
}

static void target(int i, int ready)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (i == STALLED) {
		struct uffdio_api api = { .api = UFFD_API };
		struct uffdio_register reg = {
			.range = { (uintptr_t)page, ps },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};
		int uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
		pthread_t th;

		madvise(page, ps, MADV_DONTNEED);
		if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) ||
		    ioctl(uffd, UFFDIO_REGISTER, &reg) ||
		    pthread_create(&th, NULL, slow_handler,
				   (void *)(intptr_t)uffd))
			_exit(2);
	} else {
		memset(page, 'a' + i % 26, ps);
	}
	if (write(ready, "", 1) != 1)
		_exit(2);
	for (;;)
		pause();
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One sweep over every target; returns 0, or 1 on a wrong result */
static int sweep(const int *pidfd, unsigned long flags, char *buf)
{
	int i;

	for (i = 0; i < NTARGETS; i++) {
		struct iovec l = { buf, ps }, r = { page, ps };
		ssize_t got = process_vm_readv(pidfd[i], &l, 1, &r, 1, flags);

		if (i != STALLED && (got != (ssize_t)ps ||
				     buf[0] != 'a' + i % 26))
			return 1;
		/*
		 * The stalled page: read late without NOWAIT; with it EFAULT,
		 * or the page if the handler has not dropped it again yet
		 */
		if (i == STALLED && got == -1 &&
		    (errno != EFAULT || !(flags & PROCESS_VM_NOWAIT)))
			return 1;
		if (i == STALLED && got != -1 &&
		    (got != (ssize_t)ps || buf[0] != 's'))
			return 1;
	}
	return 0;
}

int main(void)
{
	static const struct { const char *name; unsigned long flags; } runs[] = {
		{ "wait", PROCESS_VM_PIDFD },
		{ "nowait", PROCESS_VM_PIDFD | PROCESS_VM_NOWAIT },
	};
	int pidfd[NTARGETS], ready[2], i, r, s;
	uint64_t t[SWEEPS];
	char *buf, byte;

	ps = sysconf(_SC_PAGESIZE);
	if (process_vm_readv(getpid(), NULL, 1, NULL, 1,
			     PROCESS_VM_PIDFD | PROCESS_VM_NOWAIT) == -1 &&
	    errno != EFAULT) {
		printf("bench-skip sweep %s (no PIDFD and NOWAIT)\n",
		       strerror(errno));
		return 0;
	}
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	page = mmap(NULL, ps, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	buf = malloc(ps);
	if (page == MAP_FAILED || !buf || pipe(ready))
		return 1;
	for (i = 0; i < NTARGETS; i++) {
		pid_t pid = fork();

		if (pid == 0)
			target(i, ready[1]);
		pidfd[i] = syscall(SYS_pidfd_open, pid, 0);
		if (pid < 0 || pidfd[i] < 0 || read(ready[0], &byte, 1) != 1) {
			printf("bench-fail sweep %d target did not start\n", i);
			return 1;
		}
	}
	for (r = 0; r < 2; r++) {
		for (s = 0; s < SWEEPS; s++) {
			uint64_t t0 = now_ns();

			if (sweep(pidfd, runs[r].flags, buf)) {
				printf("bench-fail sweep_%s %d wrong result\n",
				       runs[r].name, NTARGETS);
				return 1;
			}
			t[s] = now_ns() - t0;
		}
		qsort(t, SWEEPS, sizeof(t[0]), cmp_u64);
		printf("bench sweep_%s_p50 %d %lu 0\n", runs[r].name, NTARGETS,
		       (unsigned long)t[SWEEPS / 2]);
		printf("bench sweep_%s_p99 %d %lu 0\n", runs[r].name, NTARGETS,
		       (unsigned long)t[(SWEEPS * 99) / 100]);
	}
	return 0;
}
