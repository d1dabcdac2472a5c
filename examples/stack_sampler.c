// SPDX-License-Identifier: GPL-2.0
/*
 * stack_sampler - what a sampling profiler gets from PROCESS_VM_PIDFD and
 * PROCESS_VM_NOWAIT.
 *
 * A workload child keeps a marker in a frame of its stack and owns a
 * buffer under a userfaultfd whose handler never answers (a FUSE daemon
 * gone quiet, a stalled post-copy migration).  The sampler opens a pidfd
 * for the child and, SAMPLES times, reads the page of the child's stack
 * that holds the marker and the first page of the stalled buffer, both with
 * PIDFD | NOWAIT: the stack comes back with the marker in it, and the
 * stalled page fails at once with EFAULT where a plain read would hang the
 * sampler for good.  Then the child exits and is reaped, and one more
 * sample through the same pidfd fails with ESRCH: by then a pid could name
 * another process, the pidfd cannot.
 *
 * Exit status: 0 if every sample went as described, 1 otherwise, 4 (with a
 * line saying why) on a kernel without the flags.
 * Build: gcc -static -O2 -I<kernel>/usr/include -o stack_sampler stack_sampler.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/process_vm_access.h>
#include <linux/userfaultfd.h>
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

#define SAMPLES		10
#define MARKER		"workload frame 0xfeedface"
#define STALL_LIMIT_MS	100.0	/* a NOWAIT sample must come back sooner */

/* What the workload tells the sampler: where to look */
struct where {
	uintptr_t frame;	/* an address inside the marked stack frame */
	uintptr_t stalled;	/* the buffer nobody will ever fault in */
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The workload: a marked frame, a stalled buffer, then wait to be told */
static void workload(int report, int go)
{
	volatile char frame[256];
	size_t ps = sysconf(_SC_PAGESIZE);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct where w;
	char *buf;
	int uffd;

	memcpy((char *)frame, MARKER, sizeof(MARKER));
	buf = mmap(NULL, ps, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	reg.range.start = (uintptr_t)buf;
	reg.range.len = ps;
	if (buf == MAP_FAILED || uffd < 0 || ioctl(uffd, UFFDIO_API, &api) ||
	    ioctl(uffd, UFFDIO_REGISTER, &reg))
		_exit(2);
	w.frame = (uintptr_t)frame;
	w.stalled = (uintptr_t)buf;
	if (write(report, &w, sizeof(w)) != sizeof(w))
		_exit(2);
	/* Stay in this frame until the sampler is done */
	if (read(go, &w, 1) < 0)
		_exit(2);
	_exit(frame[0] == MARKER[0] ? 0 : 3);
}

/* One sample: the stack page and the stalled page, through the pidfd */
static int sample(int n, int pidfd, const struct where *w, size_t ps)
{
	static char stack[65536], stalled[65536];
	uintptr_t page = w->frame & ~(uintptr_t)(ps - 1);
	/* The page (or two) holding the marker */
	size_t span = ((w->frame + sizeof(MARKER) + ps - 1) &
		       ~(uintptr_t)(ps - 1)) - page;
	struct iovec ls = { stack, span }, rs = { (void *)page, span };
	struct iovec lb = { stalled, ps }, rb = { (void *)w->stalled, ps };
	unsigned long flags = PROCESS_VM_PIDFD | PROCESS_VM_NOWAIT;
	ssize_t got, stuck;
	double t0, ms;
	int found, err;

	got = process_vm_readv(pidfd, &ls, 1, &rs, 1, flags);
	found = got == (ssize_t)span &&
		memmem(stack, span, MARKER, sizeof(MARKER)) != NULL;
	t0 = now_ms();
	stuck = process_vm_readv(pidfd, &lb, 1, &rb, 1, flags);
	err = errno;
	ms = now_ms() - t0;
	printf("sample %2d: stack %zd bytes (%s), stalled page: %s in %.2f ms\n",
	       n, got, found ? "marker found" : "NO MARKER",
	       stuck == -1 ? strerror(err) : "read?!", ms);
	return found && stuck == -1 && err == EFAULT && ms < STALL_LIMIT_MS;
}

int main(void)
{
	size_t ps = sysconf(_SC_PAGESIZE);
	int report[2], go[2], pidfd, ok = 1, i, status;
	struct where w;
	pid_t child;

	/* The probe: EFAULT where the flags are known, EINVAL where not */
	if (process_vm_readv(getpid(), NULL, 1, NULL, 1,
			     PROCESS_VM_PIDFD | PROCESS_VM_NOWAIT) == -1 &&
	    errno != EFAULT) {
		printf("stack_sampler: SKIP, the kernel lacks PIDFD and NOWAIT (%s)\n",
		       strerror(errno));
		return 4;
	}
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	if (pipe(report) || pipe(go))
		return 1;
	child = fork();
	if (child == 0) {
		close(report[0]);
		close(go[1]);
		workload(report[1], go[0]);
	}
	close(report[1]);
	close(go[0]);
	pidfd = syscall(SYS_pidfd_open, child, 0);
	if (child < 0 || pidfd < 0 || read(report[0], &w, sizeof(w)) != sizeof(w)) {
		printf("stack_sampler: FAIL, workload did not start\n");
		return 1;
	}
	for (i = 1; i <= SAMPLES; i++) {
		ok &= sample(i, pidfd, &w, ps);
		usleep(10000);
	}
	close(go[1]);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		ok = 0;
	{
		char byte;
		struct iovec l = { &byte, 1 }, r = { (void *)w.frame, 1 };
		ssize_t ret = process_vm_readv(pidfd, &l, 1, &r, 1,
					       PROCESS_VM_PIDFD);

		printf("after the workload exited and was reaped: %s\n",
		       ret == -1 ? strerror(errno) : "read?!");
		ok &= ret == -1 && errno == ESRCH;
	}
	printf("stack_sampler: %s\n", ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}
