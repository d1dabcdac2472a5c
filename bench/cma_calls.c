// SPDX-License-Identifier: GPL-2.0
/*
 * cma_calls - the fixed cost of a small process_vm_readv() call, and what
 * a profiler or debugger would use instead.
 *
 * Stages: calls that stop one stage further into process_vm_readv() each
 * time, so that the differences of their costs are the stages' costs:
 *
 *   stage_getppid     getppid(): syscall entry and exit
 *   stage_badflags    an unknown flag: EINVAL before anything is read
 *   stage_zerolocal   an empty local iovec: returns 0 after importing it
 *   stage_zeroremote  an empty remote iovec: 0 after importing both arrays
 *   stage_nopid       a pid nobody has: ESRCH from the task look-up
 *   stage_kthread     kthreadd (pid 2): ESRCH after the look-up, a task
 *                     reference and exec_update_lock (a kernel thread has
 *                     no mm, so no ptrace check)
 *   stage_self        one byte of our own memory: everything but the
 *                     ptrace check (mm_access() skips it for its own mm)
 *   stage_read        one byte of the target's memory: the whole call
 *   stage_read8       eight bytes
 *
 * Alternatives, reading the target (stopped, traced by us) at each size:
 *   alt_readv         process_vm_readv(), one iovec each side
 *   alt_procmem       pread() on /proc/PID/mem
 *   alt_peek          PTRACE_PEEKDATA, a word at a time
 * and a profiler's sample, 1,000 reads of 64 bytes at scattered addresses
 * of a 16 MiB heap (size column 64; one op is one whole sample):
 *   sample_readv      one process_vm_readv() per read, as samplers do
 *   sample_batched    one process_vm_readv() with 1,000 iovec pairs
 *   sample_procmem    one pread() per read
 *   sample_peek       8 PTRACE_PEEKDATA per read
 *
 * Output as cma_bench's: bench <method> <size> <median ns per op> <MB/s>;
 * bench-skip <method> <why>; bench-fail <method> <size> <what> (exit 1).
 * Every method's result is checked (return value, errno, and the bytes
 * read against the target's pattern) once before it is timed.
 *
 * Usage: cma_calls [-s sizes] [-t ms_per_point]
 * Build: gcc -static -O2 -Wall -Wextra -o cma_calls cma_calls.c
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define HEAP		(16UL << 20)
#define SAMPLE_READS	1000
#define SAMPLE_BYTES	64
#define MAX_SIZE	(64UL << 10)
#define MAX_BATCHES	64

static const size_t default_sizes[] = { 8, 64, 512, 4096, 65536 };

static pid_t target, gone, self;
static char *heap;		/* the same address in us and the target */
static char *buf;		/* what a method read */
static int mem_fd = -1;
static uint64_t budget_ns = 30 * 1000000ULL;
static int failed;

/* One method: a call of it, and its check (0 if right, else the reason). */
struct method {
	const char *name;
	size_t size;
	int (*op)(const struct method *m);
	const char *(*check)(const struct method *m);
	long arg;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	printf("bench-fail setup - %s: %s\n", what, strerror(errno));
	exit(1);
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

/* The scattered offsets of a sample: fixed, 8-byte aligned, in the heap. */
static size_t sample_offset(int i)
{
	return ((size_t)i * 2654435761u * 64) % (HEAP - SAMPLE_BYTES) & ~7UL;
}

/* ---- the stages ------------------------------------------------------- */

static ssize_t readv1(pid_t pid, void *local, size_t llen, void *remote,
		      size_t rlen, unsigned long flags)
{
	struct iovec l = { local, llen }, r = { remote, rlen };

	return process_vm_readv(pid, &l, 1, &r, 1, flags);
}

static int op_getppid(const struct method *m)
{
	(void)m;
	return getppid() > 0 ? 0 : -1;
}

/* The call as the method describes it, 0 if it answered as expected. */
static int op_stage(const struct method *m)
{
	ssize_t want = (ssize_t)m->size, got;

	switch (m->arg) {
	case 'f':
		got = readv1(target, buf, m->size, heap, m->size, 1UL << 62);
		return got == -1 && errno == EINVAL ? 0 : -1;
	case 'l':
		got = readv1(target, buf, 0, heap, m->size, 0);
		want = 0;
		break;
	case 'r':
		got = readv1(target, buf, m->size, heap, 0, 0);
		want = 0;
		break;
	case 'n':
		got = readv1(gone, buf, m->size, heap, m->size, 0);
		return got == -1 && errno == ESRCH ? 0 : -1;
	case 'k':
		got = readv1(2, buf, m->size, heap, m->size, 0);
		return got == -1 && errno == ESRCH ? 0 : -1;
	case 's':
		got = readv1(self, buf, m->size, heap, m->size, 0);
		break;
	default:
		got = readv1(target, buf, m->size, heap, m->size, 0);
	}
	return got == want ? 0 : -1;
}

/* ---- the alternatives ----------------------------------------------------- */

static int op_readv(const struct method *m)
{
	return readv1(target, buf, m->size, heap, m->size, 0) ==
	       (ssize_t)m->size ? 0 : -1;
}

static int op_procmem(const struct method *m)
{
	return pread(mem_fd, buf, m->size, (off_t)(uintptr_t)heap) ==
	       (ssize_t)m->size ? 0 : -1;
}

static int peek(char *to, const char *from, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += sizeof(long)) {
		long w;

		errno = 0;
		w = ptrace(PTRACE_PEEKDATA, target, from + i, NULL);
		if (errno)
			return -1;
		memcpy(to + i, &w, sizeof(w));
	}
	return 0;
}

static int op_peek(const struct method *m)
{
	return peek(buf, heap, m->size);
}

static int op_sample(const struct method *m)
{
	static struct iovec l[SAMPLE_READS], r[SAMPLE_READS];
	int i;

	if (m->arg == 'b') {
		for (i = 0; i < SAMPLE_READS; i++) {
			l[i].iov_base = buf + (size_t)i * SAMPLE_BYTES;
			r[i].iov_base = heap + sample_offset(i);
			l[i].iov_len = r[i].iov_len = SAMPLE_BYTES;
		}
		return process_vm_readv(target, l, SAMPLE_READS, r, SAMPLE_READS,
					0) == SAMPLE_READS * SAMPLE_BYTES ? 0 : -1;
	}
	for (i = 0; i < SAMPLE_READS; i++) {
		char *to = buf + (size_t)i * SAMPLE_BYTES;
		char *from = heap + sample_offset(i);
		int ok;

		if (m->arg == 'p')
			ok = pread(mem_fd, to, SAMPLE_BYTES,
				   (off_t)(uintptr_t)from) == SAMPLE_BYTES;
		else if (m->arg == 'k')
			ok = !peek(to, from, SAMPLE_BYTES);
		else
			ok = readv1(target, to, SAMPLE_BYTES, from,
				    SAMPLE_BYTES, 0) == SAMPLE_BYTES;
		if (!ok)
			return -1;
	}
	return 0;
}

/* ---- checks ------------------------------------------------------------------ */

static const char *check_nothing(const struct method *m)
{
	(void)m;
	return NULL;
}

/* buf holds the first m->size bytes of the heap (a stage reads 1 or 8). */
static const char *check_front(const struct method *m)
{
	size_t i, n = m->arg == 'l' || m->arg == 'r' ? 0 : m->size;

	for (i = 0; i < n; i++)
		if ((unsigned char)buf[i] != pattern(i))
			return "wrong-bytes";
	return NULL;
}

static const char *check_sample(const struct method *m)
{
	int i, j;

	(void)m;
	for (i = 0; i < SAMPLE_READS; i++)
		for (j = 0; j < SAMPLE_BYTES; j++)
			if ((unsigned char)buf[i * SAMPLE_BYTES + j] !=
			    pattern(sample_offset(i) + (size_t)j))
				return "wrong-bytes";
	return NULL;
}

/* ---- measurement --------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int batch(const struct method *m, long k, double *ns_per_op)
{
	uint64_t t0 = now_ns();
	long i;

	for (i = 0; i < k; i++)
		if (m->op(m))
			return -1;
	*ns_per_op = (double)(now_ns() - t0) / (double)k;
	return 0;
}

/*
 * Batches long enough to be an eighth of the budget each, as many as the
 * budget holds (at least 3); the median batch's time per op.
 */
static int measure(const struct method *m, double *median)
{
	double samp[MAX_BATCHES], ns;
	uint64_t start = now_ns();
	long k = 1;
	int nb = 0;

	for (;;) {
		if (batch(m, k, &ns))
			return -1;
		if (ns * (double)k >= (double)budget_ns / 32 || k >= 1L << 24)
			break;
		k *= 4;
	}
	k = (long)((double)budget_ns / 8 / (ns > 0 ? ns : 1)) + 1;
	while (nb < MAX_BATCHES && (nb < 3 || now_ns() - start < budget_ns)) {
		if (batch(m, k, &samp[nb++]))
			return -1;
	}
	qsort(samp, (size_t)nb, sizeof(samp[0]), cmp_double);
	*median = nb % 2 ? samp[nb / 2] : (samp[nb / 2 - 1] + samp[nb / 2]) / 2;
	return 0;
}

static void run(const struct method *m)
{
	const char *why;
	double ns;

	memset(buf, 0, SAMPLE_READS * SAMPLE_BYTES);
	if (m->op(m)) {
		if (errno == ENOSYS) {
			printf("bench-skip %s ENOSYS\n", m->name);
			return;
		}
		printf("bench-fail %s %zu unexpected answer (errno %s)\n",
		       m->name, m->size, strerror(errno));
		failed = 1;
		return;
	}
	why = m->check(m);
	if (!why && measure(m, &ns))
		why = "failed while timed";
	if (why) {
		printf("bench-fail %s %zu %s\n", m->name, m->size, why);
		failed = 1;
		return;
	}
	printf("bench %s %zu %.1f %.1f\n", m->name, m->size, ns,
	       ns > 0 ? (double)m->size * 1e3 / ns : 0);
}

/* ---- set-up ----------------------------------------------------------------------- */

/* A pid that was used and is free again: a reaped child's. */
static pid_t reaped_pid(void)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (!pid)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

static int is_kthreadd(void)
{
	char comm[32] = "";
	FILE *f = fopen("/proc/2/comm", "r");

	if (!f)
		return 0;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	return !strcmp(comm, "kthreadd\n");
}

/*
 * The target: a child with the heap (filled before the fork, so at the
 * same address with the same bytes, its own copy once it writes), stopped
 * under our ptrace so that PTRACE_PEEKDATA may read it.
 */
static void start_target(void)
{
	char path[64];
	size_t i;
	int status;

	heap = mmap(NULL, HEAP, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	buf = mmap(NULL, SAMPLE_READS * SAMPLE_BYTES + MAX_SIZE,
		   PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (heap == MAP_FAILED || buf == MAP_FAILED)
		die("mmap");
	madvise(heap, HEAP, MADV_NOHUGEPAGE);
	for (i = 0; i < HEAP; i++)
		heap[i] = (char)pattern(i);
	fflush(NULL);
	target = fork();
	if (target < 0)
		die("fork");
	if (!target) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* its own pages, not ones shared copy-on-write with us */
		for (i = 0; i < HEAP; i += 4096)
			heap[i] = (char)pattern(i);
		raise(SIGSTOP);
		for (;;)
			pause();
	}
	if (waitpid(target, &status, WUNTRACED) != target || !WIFSTOPPED(status))
		die("target stop");
	if (ptrace(PTRACE_SEIZE, target, NULL, NULL) ||
	    ptrace(PTRACE_INTERRUPT, target, NULL, NULL))
		die("ptrace seize");
	kill(target, SIGCONT);
	if (waitpid(target, &status, 0) != target)
		die("ptrace stop");
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)target);
	mem_fd = open(path, O_RDONLY);
	if (mem_fd < 0)
		die(path);
	gone = reaped_pid();
	self = getpid();	/* once: getpid() is a system call of its own */
}

static size_t parse_size(const char *s)
{
	char *end;
	size_t v = strtoul(s, &end, 0);

	if (*end == 'K')
		v <<= 10, end++;
	if (*end || !v || v > MAX_SIZE || v % sizeof(long)) {
		fprintf(stderr, "cma_calls: bad size '%s' (a multiple of %zu up to %lu)\n",
			s, sizeof(long), MAX_SIZE);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct method stages[] = {
		{ "stage_getppid", 8, op_getppid, check_nothing, 0 },
		{ "stage_badflags", 8, op_stage, check_nothing, 'f' },
		{ "stage_zerolocal", 8, op_stage, check_front, 'l' },
		{ "stage_zeroremote", 8, op_stage, check_front, 'r' },
		{ "stage_nopid", 8, op_stage, check_nothing, 'n' },
		{ "stage_kthread", 8, op_stage, check_nothing, 'k' },
		{ "stage_self", 1, op_stage, check_front, 's' },
		{ "stage_read", 1, op_stage, check_front, 'R' },
		{ "stage_read8", 8, op_stage, check_front, 'R' },
	};
	static const struct method samples[] = {
		{ "sample_readv", 64, op_sample, check_sample, 'v' },
		{ "sample_batched", 64, op_sample, check_sample, 'b' },
		{ "sample_procmem", 64, op_sample, check_sample, 'p' },
		{ "sample_peek", 64, op_sample, check_sample, 'k' },
	};
	size_t sizes[16];
	int nr_sizes = 0, opt, i;
	char *tok;

	while ((opt = getopt(argc, argv, "s:t:")) != -1) {
		switch (opt) {
		case 's':
			for (tok = strtok(optarg, ","); tok && nr_sizes < 16;
			     tok = strtok(NULL, ","))
				sizes[nr_sizes++] = parse_size(tok);
			break;
		case 't':
			budget_ns = (uint64_t)(atof(optarg) * 1e6);
			break;
		default:
			fprintf(stderr, "usage: cma_calls [-s sizes] [-t ms_per_point]\n");
			return 2;
		}
	}
	if (!nr_sizes)
		for (; nr_sizes < 5; nr_sizes++)
			sizes[nr_sizes] = default_sizes[nr_sizes];
	setvbuf(stdout, NULL, _IOLBF, 0);
	start_target();

	for (i = 0; i < (int)(sizeof(stages) / sizeof(stages[0])); i++) {
		if (stages[i].arg == 'k' && !is_kthreadd()) {
			printf("bench-skip %s pid 2 is not kthreadd\n", stages[i].name);
			continue;
		}
		run(&stages[i]);
	}
	for (i = 0; i < nr_sizes; i++) {
		const struct method alts[] = {
			{ "alt_readv", sizes[i], op_readv, check_front, 0 },
			{ "alt_procmem", sizes[i], op_procmem, check_front, 0 },
			{ "alt_peek", sizes[i], op_peek, check_front, 0 },
		};
		int j;

		for (j = 0; j < 3; j++)
			run(&alts[j]);
	}
	for (i = 0; i < (int)(sizeof(samples) / sizeof(samples[0])); i++)
		run(&samples[i]);
	kill(target, SIGKILL);
	waitpid(target, NULL, 0);
	return failed;
}
