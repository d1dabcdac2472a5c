// SPDX-License-Identifier: GPL-2.0
/*
 * cma_bench - Cross Memory Attach benchmark.
 *
 * Measures process_vm_readv/process_vm_writev against a forked target and
 * the alternatives an application would otherwise use (shared-memory double
 * copy, pipe, vmsplice, /proc/PID/mem), with memcpy as a control that never
 * enters the kernel.
 *
 * Usage: cma_bench [-s sizes] [-m methods] [-t ms_per_point] [-r readers]
 *   -s  comma separated sizes, suffixes K/M/G (binary); default
 *       8,64,512,4K,32K,256K,1M,8M,64M
 *   -m  comma separated methods (see below) or "all"; default all
 *   -t  time budget per point in ms (default 30; at least 3 reps are done)
 *   -r  number of concurrent readers for readers_N (default 2)
 *   -v  per point timing notes on stderr
 *
 * Output, one line per point:
 *   bench <method> <size_bytes> <median_ns_per_op> <MB_per_s>
 * MB is 10^6 bytes.  For readers_N one "op" is one round in which each of
 * the N readers completed one transfer, and MB/s is the aggregate.
 * For shm_double, pipe and vmsplice one op is one message of a stream (the
 * sender may run ahead by the ring/pipe capacity).
 * Every point starts with one transfer into a cleared destination whose
 * checksum must match the source (all bytes up to 8 MiB, a moving 4 KiB
 * window of every MiB above); every call's return value is checked.
 * Points run in an order that allocates each buffer kind once (THP last).
 * If the syscalls return ENOSYS:  bench-skip <method> ENOSYS
 * If data or a return value is wrong:  bench-fail <method> <size> <what>
 * and the exit status is 1.  Notes go to stderr, prefixed with '#'.
 *
 * Methods: readv_1 writev_1 readv_64 writev_64 readv_1_thp writev_1_thp
 *          shm_double pipe vmsplice proc_mem memcpy readers_N
 *          readv_1_pidfd (readv_1 through a pidfd, PROCESS_VM_PIDFD;
 *          bench-skip where the kernel answers EINVAL)
 *
 * Build: gcc -static -O2 -Wall -Wextra -pthread -o cma_bench cma_bench.c
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <linux/process_vm_access.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define KiB		1024UL
#define MiB		(1024UL * KiB)
#define HPAGE		(2 * MiB)
#define MAX_SIZES	32
#define MAX_READERS	64
#define NIOV		64
#define MAX_BATCHES	64
#define RING_SLOTS	8
#define RING_FRAG	(32 * KiB)

enum kind { K_NONE, K_4K, K_THP };

enum method {
	M_READV_1, M_WRITEV_1, M_READV_64, M_WRITEV_64,
	M_READV_1_THP, M_WRITEV_1_THP, M_SHM, M_PIPE, M_VMSPLICE,
	M_PROC_MEM, M_MEMCPY, M_READERS, M_READV_PIDFD, NR_METHODS
};

static const struct method_info {
	const char *name;
	enum kind kind;		/* kind of the remote and local buffers */
	size_t min_size;
	int cma;		/* uses process_vm_*: skip on ENOSYS */
} methods[NR_METHODS] = {
	[M_READV_1]	 = { "readv_1",	     K_4K,  1,	  1 },
	[M_WRITEV_1]	 = { "writev_1",     K_4K,  1,	  1 },
	[M_READV_64]	 = { "readv_64",     K_4K,  NIOV, 1 },
	[M_WRITEV_64]	 = { "writev_64",    K_4K,  NIOV, 1 },
	[M_READV_1_THP]	 = { "readv_1_thp",  K_THP, 1,	  1 },
	[M_WRITEV_1_THP] = { "writev_1_thp", K_THP, 1,	  1 },
	[M_SHM]		 = { "shm_double",   K_4K,  1,	  0 },
	[M_PIPE]	 = { "pipe",	     K_4K,  1,	  0 },
	[M_VMSPLICE]	 = { "vmsplice",     K_4K,  1,	  0 },
	[M_PROC_MEM]	 = { "proc_mem",     K_4K,  1,	  0 },
	[M_MEMCPY]	 = { "memcpy",	     K_4K,  1,	  0 },
	[M_READERS]	 = { "readers_N",    K_4K,  1,	  1 },
	[M_READV_PIDFD]	 = { "readv_1_pidfd", K_4K, 1,	  1 },
};

/* Grouped by the buffers they need, so each is allocated only once. */
static const int run_order[NR_METHODS] = {
	M_READV_1, M_READV_PIDFD, M_WRITEV_1, M_READV_64, M_WRITEV_64, M_SHM,
	M_PIPE, M_VMSPLICE, M_PROC_MEM, M_READERS, M_MEMCPY,
	M_READV_1_THP, M_WRITEV_1_THP,
};

static const size_t default_sizes[] = {
	8, 64, 512, 4 * KiB, 32 * KiB, 256 * KiB, 1 * MiB, 8 * MiB, 64 * MiB
};

static size_t sizes[MAX_SIZES];
static int nr_sizes;
static size_t max_size;
static int selected[NR_METHODS];
static uint64_t budget_ns = 30 * 1000000ULL;
static int nr_readers = 2;
static char readers_name[32];
static int failed;
static int verbose;
static int last_nb;
static long last_k;

/* ---- helpers ---------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static size_t round_up(size_t x, size_t a)
{
	return (x + a - 1) / a * a;
}

static void die(const char *what)
{
	fprintf(stderr, "cma_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Position dependent pattern: a wrong offset or order changes the checksum. */
static uint64_t pattern_word(uint64_t i, uint64_t seed)
{
	uint64_t x = (i + seed + 1) * 0x9e3779b97f4a7c15ULL;

	x ^= x >> 29;
	return x | 1;
}

static void fill_pattern(char *p, size_t len, uint64_t seed)
{
	size_t i, nw = len / 8;

	for (i = 0; i < nw; i++) {
		uint64_t w = pattern_word(i, seed);

		memcpy(p + i * 8, &w, 8);
	}
	for (i = nw * 8; i < len; i++)
		p[i] = (char)(pattern_word(i, seed) | 1);
}

static uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t csum(const char *p, size_t len)
{
	const uint64_t m = 0x100000001b3ULL;
	uint64_t a = 0x243f6a8885a308d3ULL, b = 0x13198a2e03707344ULL, w;
	size_t i = 0;

	for (; i + 16 <= len; i += 16) {
		memcpy(&w, p + i, 8);
		a = rotl((a ^ w) * m, 29);
		memcpy(&w, p + i + 8, 8);
		b = rotl((b ^ w) * m, 31);
	}
	for (; i < len; i++)
		a = rotl((a ^ (unsigned char)p[i]) * m, 29);
	return a ^ rotl(b, 17) ^ len;
}

/*
 * Verification covers the whole transfer up to VFULL; above it, a 4 KiB
 * window (not page aligned, moving within each MiB) of every MiB plus the
 * last 4 KiB, so checking a 64 MiB point costs about as much as 256 KiB.
 */
#define VFULL		(8 * MiB)
#define VWIN		(4 * KiB)

static size_t vwin_off(size_t blk, size_t size)
{
	size_t off = blk * MiB + (blk * 12347 * 8) % (MiB - VWIN);

	return off + VWIN <= size ? off : size - VWIN;
}

static uint64_t vsum(const char *p, size_t size)
{
	uint64_t h = 0;
	size_t blk;

	if (size <= VFULL)
		return csum(p, size);
	for (blk = 0; blk * MiB < size; blk++)
		h = rotl(h, 7) ^ csum(p + vwin_off(blk, size), VWIN);
	return rotl(h, 7) ^ csum(p + size - VWIN, VWIN);
}

static void vclear(char *p, size_t size)
{
	size_t blk;

	if (size <= VFULL) {
		memset(p, 0, size);
		return;
	}
	for (blk = 0; blk * MiB < size; blk++)
		memset(p + vwin_off(blk, size), 0, VWIN);
	memset(p + size - VWIN, 0, VWIN);
}

/* kB of AnonHugePages in the VMA holding addr, -1 if unknown. */
static long thp_kb(const void *addr)
{
	unsigned long a = (unsigned long)addr, lo, hi;
	char line[512];
	int in = 0;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			if (in)
				break;
			in = a >= lo && a < hi;
		} else if (in && !strncmp(line, "AnonHugePages:", 14)) {
			kb = strtol(line + 14, NULL, 10);
		}
	}
	fclose(f);
	return kb;
}

/* ---- buffers ---------------------------------------------------------- */

struct buf {
	void *map;
	size_t maplen;
	char *p;
	size_t len;
	enum kind kind;
};

static void buf_free(struct buf *b)
{
	if (b->map)
		munmap(b->map, b->maplen);
	memset(b, 0, sizeof(*b));
}

/* Returns 0, or -errno; *thp gets kB backed by huge pages (THP kind). */
static int buf_alloc(struct buf *b, enum kind kind, size_t len, uint64_t seed,
		     long *thp)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t span;

	buf_free(b);
	len = round_up(len ? len : 1, pg);
	span = kind == K_THP ? round_up(len, HPAGE) : len;
	b->maplen = kind == K_THP ? span + HPAGE : span;
	b->map = mmap(NULL, b->maplen, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->map == MAP_FAILED) {
		b->map = NULL;
		return -errno;
	}
	b->p = b->map;
	if (kind == K_THP) {
		b->p = (char *)round_up((uintptr_t)b->map, HPAGE);
		madvise(b->p, span, MADV_HUGEPAGE);	/* EINVAL without THP */
	} else {
		madvise(b->p, span, MADV_NOHUGEPAGE);
	}
	b->len = len;
	b->kind = kind;
	fill_pattern(b->p, len, seed);		/* touch every page */
	*thp = kind == K_THP ? thp_kb(b->p) : 0;
	return 0;
}

/* ---- the target / sender process ---------------------------------------- */

enum { C_ALLOC, C_FREE, C_CLEAR, C_SUM, C_SHM, C_PIPE, C_VMSPLICE };

struct cmd {
	uint32_t op;
	uint32_t kind;
	uint64_t a, b;
};

struct reply {
	int64_t ret;
	uint64_t val;
	int64_t thp;
};

struct ring {
	unsigned long head __attribute__((aligned(64)));	/* fragments produced */
	unsigned long tail __attribute__((aligned(64)));	/* fragments consumed */
	char slot[RING_SLOTS][RING_FRAG] __attribute__((aligned(64)));
};

static pid_t target;
static int target_pidfd = -1;	/* readv_1_pidfd names the target by it */
static int cmd_fd, rep_fd, data_fd;
static struct ring *ring;

static void ring_send(const char *src, size_t size, unsigned long *head)
{
	size_t off, n;
	unsigned int spins = 0;

	for (off = 0; off < size; off += n) {
		n = size - off < RING_FRAG ? size - off : RING_FRAG;
		while (*head - __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE) >=
		       RING_SLOTS) {
			if (++spins % 64 == 0)
				sched_yield();
			else
				cpu_relax();
		}
		memcpy(ring->slot[*head % RING_SLOTS], src + off, n);
		__atomic_store_n(&ring->head, ++*head, __ATOMIC_RELEASE);
	}
}

static int ring_recv(char *dst, size_t size, unsigned long *tail)
{
	size_t off, n;
	unsigned long spins = 0;

	for (off = 0; off < size; off += n) {
		n = size - off < RING_FRAG ? size - off : RING_FRAG;
		while (__atomic_load_n(&ring->head, __ATOMIC_ACQUIRE) == *tail) {
			if (++spins % 64 == 0) {
				sched_yield();
				if (spins % (64 * 4096) == 0 &&
				    waitpid(target, NULL, WNOHANG) == target)
					return -ECHILD;
			} else {
				cpu_relax();
			}
		}
		memcpy(dst + off, ring->slot[*tail % RING_SLOTS], n);
		__atomic_store_n(&ring->tail, ++*tail, __ATOMIC_RELEASE);
	}
	return 0;
}

static void server(void)
{
	struct buf rb = { 0 };
	unsigned long head = 0;
	uint64_t i;
	struct cmd c;
	struct reply r;
	struct iovec iov;
	ssize_t n;
	long thp;

	for (;;) {
		if (read_full(cmd_fd, &c, sizeof(c)))
			_exit(0);
		memset(&r, 0, sizeof(r));
		switch (c.op) {
		case C_ALLOC:
			r.ret = buf_alloc(&rb, c.kind, c.a, 3, &thp);
			r.val = (uintptr_t)rb.p;
			r.thp = thp;
			break;
		case C_FREE:
			buf_free(&rb);
			break;
		case C_CLEAR:
			vclear(rb.p, c.a);
			break;
		case C_SUM:
			r.val = vsum(rb.p, c.a);
			break;
		case C_SHM:
			for (i = 0; i < c.a; i++)
				ring_send(rb.p, c.b, &head);
			break;
		case C_PIPE:
			for (i = 0; i < c.a && !r.ret; i++)
				r.ret = write_full(data_fd, rb.p, c.b);
			break;
		case C_VMSPLICE:
			for (i = 0; i < c.a && !r.ret; i++) {
				iov.iov_base = rb.p;
				iov.iov_len = c.b;
				while (iov.iov_len) {
					n = vmsplice(data_fd, &iov, 1, 0);
					if (n < 0 && errno == EINTR)
						continue;
					if (n <= 0) {
						r.ret = n < 0 ? -errno : -EIO;
						break;
					}
					iov.iov_base = (char *)iov.iov_base + n;
					iov.iov_len -= (size_t)n;
				}
			}
			break;
		default:
			r.ret = -EINVAL;
		}
		if ((c.op == C_PIPE || c.op == C_VMSPLICE) && r.ret) {
			/* let the reader see EOF instead of blocking */
			close(data_fd);
			data_fd = -1;
		}
		if (write_full(rep_fd, &r, sizeof(r)))
			_exit(1);
	}
}

static void start_target(void)
{
	int cp[2], rp[2], dp[2];

	ring = mmap(NULL, sizeof(*ring), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ring == MAP_FAILED)
		die("mmap ring");
	memset(ring, 0, sizeof(*ring));
	if (pipe(cp) || pipe(rp) || pipe(dp))
		die("pipe");
	fflush(NULL);
	target = fork();
	if (target < 0)
		die("fork");
	if (!target) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(cp[1]);
		close(rp[0]);
		close(dp[0]);
		cmd_fd = cp[0];
		rep_fd = rp[1];
		data_fd = dp[1];
		server();
		_exit(0);
	}
	close(cp[0]);
	close(rp[1]);
	close(dp[1]);
	target_pidfd = syscall(SYS_pidfd_open, target, 0);
	cmd_fd = cp[1];
	rep_fd = rp[0];
	data_fd = dp[0];
}

/* Commands to the target; a dead target ends the run with a failure. */
static void tcmd(uint32_t op, uint32_t kind, uint64_t a, uint64_t b)
{
	struct cmd c = { .op = op, .kind = kind, .a = a, .b = b };

	if (write_full(cmd_fd, &c, sizeof(c))) {
		printf("bench-fail target - died\n");
		exit(1);
	}
}

static int64_t treply_thp(uint64_t *val, int64_t *thp)
{
	struct reply r;

	if (read_full(rep_fd, &r, sizeof(r))) {
		printf("bench-fail target - died\n");
		fflush(stdout);
		exit(1);
	}
	if (val)
		*val = r.val;
	if (thp)
		*thp = r.thp;
	return r.ret;
}

static int64_t treply(uint64_t *val)
{
	return treply_thp(val, NULL);
}

static int64_t tcall(uint32_t op, uint32_t kind, uint64_t a, uint64_t b,
		     uint64_t *val)
{
	tcmd(op, kind, a, b);
	return treply(val);
}

/* ---- per point state and operations ----------------------------------- */

struct ctx {
	int m;
	size_t size;
	char *dst;			/* local buffer */
	char *src;			/* memcpy source */
	uintptr_t raddr;		/* remote buffer */
	struct iovec liov[NIOV], riov[NIOV];
	int niov;
	int fd;				/* /proc/PID/mem */
	unsigned long tail;		/* shm ring consumer count */
	char why[128];
};

static struct buf local[MAX_READERS + 1];
static enum kind rkind;
static uintptr_t raddr;

static int short_xfer(struct ctx *c, ssize_t got)
{
	snprintf(c->why, sizeof(c->why), "short-transfer %zd", got);
	return 1;
}

static int op_readv(struct ctx *c, long k)
{
	ssize_t r;
	long i;

	int pid = c->m == M_READV_PIDFD ? target_pidfd : target;
	unsigned long flags = c->m == M_READV_PIDFD ? PROCESS_VM_PIDFD : 0;

	for (i = 0; i < k; i++) {
		r = process_vm_readv(pid, c->liov, c->niov, c->riov,
				     c->niov, flags);
		if (r != (ssize_t)c->size)
			return r < 0 ? -errno : short_xfer(c, r);
	}
	return 0;
}

static int op_writev(struct ctx *c, long k)
{
	ssize_t r;
	long i;

	for (i = 0; i < k; i++) {
		r = process_vm_writev(target, c->liov, c->niov, c->riov,
				      c->niov, 0);
		if (r != (ssize_t)c->size)
			return r < 0 ? -errno : short_xfer(c, r);
	}
	return 0;
}

static int op_proc_mem(struct ctx *c, long k)
{
	ssize_t r;
	long i;

	for (i = 0; i < k; i++) {
		r = pread(c->fd, c->dst, c->size, (off_t)c->raddr);
		if (r != (ssize_t)c->size)
			return r < 0 ? -errno : short_xfer(c, r);
	}
	return 0;
}

static int op_memcpy(struct ctx *c, long k)
{
	long i;

	for (i = 0; i < k; i++) {
		memcpy(c->dst, c->src, c->size);
		__asm__ __volatile__("" : : "r"(c->dst) : "memory");
	}
	return 0;
}

static int op_stream(struct ctx *c, long k)
{
	uint32_t op = c->m == M_SHM ? C_SHM : c->m == M_PIPE ? C_PIPE :
		      C_VMSPLICE;
	int64_t tr;
	int r = 0;
	long i;

	tcmd(op, 0, (uint64_t)k, c->size);
	for (i = 0; i < k && !r; i++) {
		if (c->m == M_SHM)
			r = ring_recv(c->dst, c->size, &c->tail);
		else
			r = read_full(data_fd, c->dst, c->size);
	}
	tr = treply(NULL);
	if (tr)
		return (int)tr;
	return r;
}

/* readers_N: N threads of this process read one target's buffer. */
static struct {
	pthread_barrier_t go, done;
	long k;
	struct ctx *c;
	struct rd {
		pthread_t th;
		struct iovec l, r;
		int err;
		ssize_t got;
	} rd[MAX_READERS];
} R;

static void reader_run(struct rd *rd, long k)
{
	ssize_t r;
	long i;

	for (i = 0; i < k && !rd->err; i++) {
		r = process_vm_readv(target, &rd->l, 1, &rd->r, 1, 0);
		if (r != (ssize_t)R.c->size) {
			rd->err = r < 0 ? errno : -1;
			rd->got = r;
		}
	}
}

static void *reader_thread(void *arg)
{
	struct rd *rd = arg;

	for (;;) {
		pthread_barrier_wait(&R.go);
		if (!R.k)
			break;
		reader_run(rd, R.k);
		pthread_barrier_wait(&R.done);
	}
	return NULL;
}

static int op_readers(struct ctx *c, long k)
{
	int i;

	R.k = k;
	pthread_barrier_wait(&R.go);
	reader_run(&R.rd[0], k);
	pthread_barrier_wait(&R.done);
	for (i = 0; i < nr_readers; i++) {
		if (R.rd[i].err > 0)
			return -R.rd[i].err;
		if (R.rd[i].err)
			return short_xfer(c, R.rd[i].got);
	}
	return 0;
}

static int readers_start(struct ctx *c)
{
	int i;

	memset(R.rd, 0, sizeof(R.rd));
	R.c = c;
	pthread_barrier_init(&R.go, NULL, (unsigned int)nr_readers);
	pthread_barrier_init(&R.done, NULL, (unsigned int)nr_readers);
	for (i = 0; i < nr_readers; i++) {
		R.rd[i].l.iov_base = local[i].p;
		R.rd[i].l.iov_len = c->size;
		R.rd[i].r.iov_base = (void *)c->raddr;
		R.rd[i].r.iov_len = c->size;
		if (i && pthread_create(&R.rd[i].th, NULL, reader_thread,
					&R.rd[i])) {
			errno = EAGAIN;
			die("pthread_create");
		}
	}
	return 0;
}

static void readers_stop(void)
{
	int i;

	R.k = 0;
	pthread_barrier_wait(&R.go);
	for (i = 1; i < nr_readers; i++)
		pthread_join(R.rd[i].th, NULL);
	pthread_barrier_destroy(&R.go);
	pthread_barrier_destroy(&R.done);
}

static int run_op(struct ctx *c, long k)
{
	switch (c->m) {
	case M_READV_1:
	case M_READV_64:
	case M_READV_1_THP:
	case M_READV_PIDFD:
		return op_readv(c, k);
	case M_WRITEV_1:
	case M_WRITEV_64:
	case M_WRITEV_1_THP:
		return op_writev(c, k);
	case M_SHM:
	case M_PIPE:
	case M_VMSPLICE:
		return op_stream(c, k);
	case M_PROC_MEM:
		return op_proc_mem(c, k);
	case M_MEMCPY:
		return op_memcpy(c, k);
	case M_READERS:
		return op_readers(c, k);
	}
	return -EINVAL;
}

/* ---- verification ------------------------------------------------------- */

static int is_write(int m)
{
	return m == M_WRITEV_1 || m == M_WRITEV_64 || m == M_WRITEV_1_THP;
}

/* One transfer on cleared destination(s), then compare checksums. */
static int verify(struct ctx *c)
{
	uint64_t want = 0, got = 0;
	int i, r, n = c->m == M_READERS ? nr_readers : 1;

	if (is_write(c->m))
		tcall(C_CLEAR, 0, c->size, 0, NULL);
	else
		for (i = 0; i < n; i++)
			vclear(local[i].p, c->size);

	r = run_op(c, 1);
	if (r)
		return r;

	if (is_write(c->m)) {
		want = vsum(c->dst, c->size);
		tcall(C_SUM, 0, c->size, 0, &got);
	} else {
		if (c->m == M_MEMCPY)
			want = vsum(c->src, c->size);
		else
			tcall(C_SUM, 0, c->size, 0, &want);
		for (i = 0; i < n; i++) {
			got = vsum(local[i].p, c->size);
			if (got != want)
				break;
		}
	}
	if (got != want) {
		snprintf(c->why, sizeof(c->why),
			 "checksum-mismatch got %016llx want %016llx",
			 (unsigned long long)got, (unsigned long long)want);
		return 1;
	}
	return 0;
}

/* ---- measurement --------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Batches of k ops, k calibrated so that ~8 batches fill the budget; run
 * while the next batch fits in the budget (at least 3 batches, counting the
 * last calibration batch), and return the median of the per-op times.
 */
static int measure(struct ctx *c, double *median)
{
	uint64_t tb = budget_ns / 8, start = now_ns(), t0, t;
	double samp[MAX_BATCHES];
	long k = 1;
	int nb = 0, r;

	if (!tb)
		tb = 1;
	for (;;) {
		t0 = now_ns();
		r = run_op(c, k);
		if (r)
			return r;
		t = now_ns() - t0;
		if (t >= tb / 4 || k >= (1L << 28))
			break;
		if (!t || (double)k * (double)tb / 2 / (double)t > (double)k * 64)
			k *= 64;
		else if ((double)k * (double)tb / 2 / (double)t < (double)k * 2)
			k *= 2;
		else
			k = (long)((double)k * (double)tb / 2 / (double)t);
	}
	/* the last calibration batch is long enough to be a sample */
	samp[nb++] = (double)t / (double)k;
	k = (long)((double)k * (double)tb / (double)(t ? t : 1));
	if (k < 1)
		k = 1;
	/* stop before a batch would overrun the budget */
	while (nb < MAX_BATCHES &&
	       (nb < 3 || now_ns() - start + t <= budget_ns)) {
		t0 = now_ns();
		r = run_op(c, k);
		if (r)
			return r;
		t = now_ns() - t0;
		samp[nb++] = (double)t / (double)k;
	}
	last_nb = nb;
	last_k = k;
	qsort(samp, (size_t)nb, sizeof(samp[0]), cmp_double);
	*median = nb % 2 ? samp[nb / 2] : (samp[nb / 2 - 1] + samp[nb / 2]) / 2;
	return 0;
}

/* ---- driver ---------------------------------------------------------------- */

static void thp_note(const char *side, long long kb)
{
	if (kb < 0)
		fprintf(stderr, "# thp %s: unknown (no smaps)\n", side);
	else
		fprintf(stderr, "# thp %s: %lld of %zu kB in huge pages\n",
			side, kb, round_up(max_size, HPAGE) / 1024);
}

static void need_remote(enum kind kind)
{
	int64_t r, thp;
	uint64_t addr;

	if (rkind == kind)
		return;
	tcall(C_FREE, 0, 0, 0, NULL);
	tcmd(C_ALLOC, kind, max_size, 0);
	r = treply_thp(&addr, &thp);
	if (r < 0) {
		errno = (int)-r;
		die("target buffer");
	}
	rkind = kind;
	raddr = (uintptr_t)addr;
	if (kind == K_THP)
		thp_note("remote", thp);
}

static void need_local(int slot, enum kind kind)
{
	long thp;
	int r;

	if (local[slot].p && local[slot].kind == kind)
		return;
	r = buf_alloc(&local[slot], kind, max_size, 1 + (uint64_t)slot, &thp);
	if (r) {
		errno = -r;
		die("local buffer");
	}
	if (kind == K_THP)
		thp_note("local", thp);
}

static void setup_ctx(struct ctx *c, int m, size_t size)
{
	size_t chunk;
	int i;

	c->m = m;
	c->size = size;
	c->dst = local[0].p;
	c->src = local[1].p;
	c->raddr = raddr;
	c->niov = (m == M_READV_64 || m == M_WRITEV_64) ? NIOV : 1;
	chunk = size / (size_t)c->niov;
	for (i = 0; i < c->niov; i++) {
		c->liov[i].iov_base = c->dst + (size_t)i * chunk;
		c->riov[i].iov_base = (char *)raddr + (size_t)i * chunk;
		c->liov[i].iov_len = c->riov[i].iov_len =
			i == c->niov - 1 ? size - (size_t)i * chunk : chunk;
	}
	c->why[0] = 0;
}

static void run_method(int m)
{
	const struct method_info *mi = &methods[m];
	const char *name = m == M_READERS ? readers_name : mi->name;
	static unsigned long shm_tail;
	char path[64];
	struct ctx c;
	double ns = 0;
	uint64_t t0 = 0;
	int i, s, r = 0, fd = -1;

	if (mi->kind == K_THP)
		for (i = 1; i <= MAX_READERS; i++)
			buf_free(&local[i]);
	need_remote(mi->kind);
	need_local(0, mi->kind);
	if (m == M_MEMCPY)
		need_local(1, K_4K);
	if (m == M_READERS)
		for (i = 1; i < nr_readers; i++)
			need_local(i, K_4K);
	if (m == M_PROC_MEM) {
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)target);
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			printf("bench-fail %s - open %s: %s\n", name, path,
			       strerror(errno));
			failed = 1;
			return;
		}
	}

	memset(&c, 0, sizeof(c));
	for (s = 0; s < nr_sizes; s++) {
		if (sizes[s] < mi->min_size)
			continue;
		setup_ctx(&c, m, sizes[s]);
		c.fd = fd;
		c.tail = shm_tail;
		t0 = now_ns();
		if (m == M_READERS)
			readers_start(&c);
		r = verify(&c);
		if (!r)
			r = measure(&c, &ns);
		if (m == M_READERS)
			readers_stop();
		shm_tail = c.tail;
		if (r == -ENOSYS && mi->cma) {
			printf("bench-skip %s ENOSYS\n", name);
			break;
		}
		if (r == -EINVAL && m == M_READV_PIDFD) {
			printf("bench-skip %s EINVAL (no PROCESS_VM_PIDFD)\n",
			       name);
			break;
		}
		if (r) {
			if (r < 0)
				snprintf(c.why, sizeof(c.why), "error %s",
					 strerror(-r));
			printf("bench-fail %s %zu %s\n", name, sizes[s], c.why);
			failed = 1;
			break;
		}
		printf("bench %s %zu %.1f %.1f\n", name, sizes[s], ns,
		       ns > 0 ? (double)sizes[s] *
				(m == M_READERS ? nr_readers : 1) * 1e3 / ns : 0);
		if (verbose)
			fprintf(stderr, "# %s %zu: %.1f ms, %d batches of %ld\n",
				name, sizes[s], (double)(now_ns() - t0) / 1e6,
				last_nb, last_k);
	}
	if (fd >= 0)
		close(fd);
}

/* ---- options ----------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: cma_bench [-s sizes] [-m methods] [-t ms_per_point] [-r readers] [-v]\n"
		"  sizes:   comma list, K/M/G suffixes (default 8,64,512,4K,32K,256K,1M,8M,64M)\n"
		"  methods: comma list or all: readv_1 writev_1 readv_64 writev_64\n"
		"           readv_1_thp writev_1_thp shm_double pipe vmsplice proc_mem\n"
		"           memcpy readers_N readv_1_pidfd\n");
	exit(2);
}

static void parse_sizes(char *arg)
{
	char *tok, *end, *save = NULL;
	unsigned long long v;

	nr_sizes = 0;
	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		v = strtoull(tok, &end, 0);
		switch (*end) {
		case 'k': case 'K': v <<= 10; end++; break;
		case 'm': case 'M': v <<= 20; end++; break;
		case 'g': case 'G': v <<= 30; end++; break;
		}
		if (*end == 'i' || *end == 'B')
			end += strspn(end, "iB");
		if (*end || !v || nr_sizes == MAX_SIZES || v > (1ULL << 40)) {
			fprintf(stderr, "cma_bench: bad size '%s'\n", tok);
			usage();
		}
		sizes[nr_sizes++] = (size_t)v;
	}
	if (!nr_sizes)
		usage();
}

static void parse_methods(char *arg)
{
	char *tok, *save = NULL;
	int m, found;

	memset(selected, 0, sizeof(selected));
	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		found = 0;
		if (!strcmp(tok, "all")) {
			for (m = 0; m < NR_METHODS; m++)
				selected[m] = 1;
			continue;
		}
		if (!strncmp(tok, "readers", 7)) {
			selected[M_READERS] = 1;
			if (tok[7] == '_' && tok[8] >= '0' && tok[8] <= '9')
				nr_readers = atoi(tok + 8);
			continue;
		}
		for (m = 0; m < NR_METHODS; m++)
			if (!strcmp(tok, methods[m].name))
				selected[m] = found = 1;
		if (!found) {
			fprintf(stderr, "cma_bench: unknown method '%s'\n", tok);
			usage();
		}
	}
}

int main(int argc, char **argv)
{
	int opt, m, i, r_set = 0, r_opt = 2;
	cpu_set_t cpus;
	char *end;
	double t;

	for (m = 0; m < NR_METHODS; m++)
		selected[m] = 1;
	nr_sizes = (int)(sizeof(default_sizes) / sizeof(default_sizes[0]));
	memcpy(sizes, default_sizes, sizeof(default_sizes));

	while ((opt = getopt(argc, argv, "s:m:t:r:vh")) != -1) {
		switch (opt) {
		case 's':
			parse_sizes(optarg);
			break;
		case 'm':
			parse_methods(optarg);
			break;
		case 't':
			t = strtod(optarg, &end);
			if (*end || t <= 0)
				usage();
			budget_ns = (uint64_t)(t * 1e6);
			break;
		case 'v':
			verbose = 1;
			break;
		case 'r':
			r_opt = atoi(optarg);
			r_set = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (r_set)
		nr_readers = r_opt;
	if (nr_readers < 1 || nr_readers > MAX_READERS) {
		fprintf(stderr, "cma_bench: readers must be 1..%d\n", MAX_READERS);
		usage();
	}
	snprintf(readers_name, sizeof(readers_name), "readers_%d", nr_readers);
	for (i = 0; i < nr_sizes; i++)
		if (sizes[i] > max_size)
			max_size = sizes[i];

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (sched_getaffinity(0, sizeof(cpus), &cpus))
		CPU_ZERO(&cpus);
	fprintf(stderr, "# cma_bench: cpus=%d budget=%.1fms readers=%d max=%zu\n",
		CPU_COUNT(&cpus), (double)budget_ns / 1e6,
		nr_readers, max_size);

	start_target();
	for (i = 0; i < NR_METHODS; i++)
		if (selected[run_order[i]])
			run_method(run_order[i]);

	close(cmd_fd);
	waitpid(target, NULL, 0);
	for (i = 0; i <= MAX_READERS; i++)
		buf_free(&local[i]);
	return failed;
}
