// SPDX-License-Identifier: GPL-2.0
/*
 * cma_latency - what readers streaming from a process cost that process.
 *
 * The target (this process) keeps 64 MiB of its memory present while N
 * reader processes copy it out with process_vm_readv() in a loop, 64 MiB
 * per call.  Meanwhile the target times its own address-space work, one
 * round after another: mmap() of a page, a page fault on a fresh page of
 * another mapping, munmap().  mmap and munmap take the target's mmap_lock
 * for writing and so wait for every reader's hold of it for reading; the
 * fault takes it for reading and waits behind a queued writer.  With no
 * readers the same loop gives the floor.  The readers count the calls
 * they complete meanwhile: their throughput while the target churns.
 *
 * Usage: cma_latency [-r readers,...] [-t ms]   (default -r 0,1,2 -t 2000)
 * Output, per reader count N and kind (mmap_munmap, fault), in the
 * benchmark's line format (size = the readers' transfer size):
 *   bench lat_<kind>_<p50|p99|max>_r<N> 67108864 <ns> 0
 * and, for N > 0, the readers' time per 64 MiB read, all readers together
 * (the measuring time over the calls they completed in it):
 *   bench lat_read_r<N> 67108864 <ns> 0
 * bench-fail lines and exit status 1 if a read comes back short.  A guest
 * whose TSC failed calibration counts time in 4 ms jiffies: then one
 * bench-retry line and exit status 75, for the harness to boot again
 * (clock_getres() cannot tell: without high-resolution timers it says 4 ms
 * whatever the clocksource).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define XFER		(64UL << 20)
#define FAULT_REGION	(256UL << 20)
#define MAX_SAMPLES	(1 << 20)
#define MAX_READERS	8

/* Calls completed, one counter per reader, shared with the target. */
static volatile unsigned long *done_calls;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void *map(size_t len, int flags)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

/* A reader: copy the target's @src out until killed; exit 1 on a short read. */
static void reader(int slot, pid_t target, void *src)
{
	struct iovec l = { map(XFER, 0), XFER }, r = { src, XFER };

	memset(l.iov_base, 0, XFER);
	for (;;) {
		ssize_t got = process_vm_readv(target, &l, 1, &r, 1, 0);

		if (got != (ssize_t)XFER) {
			printf("bench-fail readers %lu read returned %zd (%s)\n",
			       XFER, got, got < 0 ? strerror(errno) : "short");
			fflush(stdout);
			_exit(1);
		}
		done_calls[slot]++;
	}
}

static unsigned long calls_so_far(int readers)
{
	unsigned long n = 0;
	int i;

	for (i = 0; i < readers; i++)
		n += done_calls[i];
	return n;
}

/*
 * Latencies of microseconds need a clock that resolves them: the smallest
 * step CLOCK_MONOTONIC takes (ns with the TSC, 4 ms with jiffies).
 */
static int coarse_clock(void)
{
	uint64_t step = UINT64_MAX;
	int i;

	for (i = 0; i < 5; i++) {
		uint64_t a = now_ns(), b;

		while ((b = now_ns()) == a)
			;
		if (b - a < step)
			step = b - a;
	}
	if (step < 1000000)
		return 0;
	printf("bench-retry clock steps of %lu ns\n", (unsigned long)step);
	fflush(stdout);
	return 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *kind, int readers, uint64_t *v, size_t n)
{
	static const struct { const char *name; double q; } pct[] = {
		{ "p50", 0.50 }, { "p99", 0.99 }, { "max", 1.0 },
	};
	size_t i;

	qsort(v, n, sizeof(*v), cmp_u64);
	for (i = 0; i < 3; i++) {
		size_t at = (size_t)(pct[i].q * (double)(n - 1));

		printf("bench lat_%s_%s_r%d %lu %lu 0\n", kind, pct[i].name,
		       readers, XFER, (unsigned long)v[at]);
	}
}

/* The target's own work for @ms milliseconds, timed round by round. */
static int target_loop(int readers, long ms, uint64_t *mm, uint64_t *fault)
{
	char *region = map(FAULT_REGION, MAP_NORESERVE);
	uint64_t end = now_ns() + (uint64_t)ms * 1000000ULL;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), off = 0, n = 0;
	unsigned long calls = calls_so_far(readers);
	uint64_t start = now_ns();

	while (now_ns() < end && n < MAX_SAMPLES) {
		uint64_t t0, t1, t2, t3;
		char *p;

		if (off == FAULT_REGION) {
			madvise(region, FAULT_REGION, MADV_DONTNEED);
			off = 0;
		}
		t0 = now_ns();
		p = map(pg, 0);
		t1 = now_ns();
		region[off] = 1;
		t2 = now_ns();
		munmap(p, pg);
		t3 = now_ns();
		mm[n] = (t1 - t0) + (t3 - t2);
		fault[n] = t2 - t1;
		off += pg;
		n++;
	}
	calls = calls_so_far(readers) - calls;
	if (readers && calls)
		printf("bench lat_read_r%d %lu %lu 0\n", readers, XFER,
		       (unsigned long)((now_ns() - start) / calls));
	munmap(region, FAULT_REGION);
	report("mmap_munmap", readers, mm, n);
	report("fault", readers, fault, n);
	return n > 0 ? 0 : 1;
}

static int run(int readers, long ms, char *src, uint64_t *mm, uint64_t *fault)
{
	pid_t pid[MAX_READERS], self = getpid();
	int i, status, ret;

	for (i = 0; i < readers; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			reader(i, self, src);
		if (pid[i] < 0) {
			perror("fork");
			return 1;
		}
	}
	/* Let the readers get going before measuring. */
	usleep(100000);
	ret = target_loop(readers, ms, mm, fault);
	for (i = 0; i < readers; i++) {
		kill(pid[i], SIGKILL);
		waitpid(pid[i], &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status))
			ret = 1;
	}
	return ret;
}

int main(int argc, char **argv)
{
	const char *list = "0,1,2";
	uint64_t *mm, *fault;
	long ms = 2000;
	int opt, ret = 0;
	char *src, *tok, *copy;

	while ((opt = getopt(argc, argv, "r:t:")) != -1) {
		if (opt == 'r')
			list = optarg;
		else if (opt == 't')
			ms = atol(optarg);
		else
			return 2;
	}
	if (coarse_clock())
		return 75;
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	done_calls = mmap(NULL, MAX_READERS * sizeof(*done_calls),
			  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (done_calls == MAP_FAILED)
		return 1;
	src = map(XFER, 0);
	memset(src, 0x5a, XFER);
	mm = calloc(MAX_SAMPLES, sizeof(*mm));
	fault = calloc(MAX_SAMPLES, sizeof(*fault));
	copy = strdup(list);
	if (!mm || !fault || !copy)
		return 1;
	for (tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
		int readers = atoi(tok);

		if (readers < 0 || readers > MAX_READERS)
			return 2;
		ret |= run(readers, ms, src, mm, fault);
		fflush(stdout);
	}
	return ret;
}
