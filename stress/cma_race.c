// SPDX-License-Identifier: GPL-2.0
/*
 * cma_race - race fuzzer for process_vm_readv/process_vm_writev.
 *
 * Usage: cma_race [-s seed] [-n iterations] [-i first] [-w seconds]
 *        (defaults: seed 1, 2000 iterations from index 0, watchdog 60 s)
 *
 * The calls pin the remote pages in batches under the remote mmap_lock and
 * copy with the lock dropped, so everything the target does to its own
 * address space can happen between two batches or during a copy.  That is
 * where a use-after-free, a leaked pin, a lost write or a hang would hide.
 * KASAN and lockdep in the guest watch the kernel side; this program
 * checks what user space is promised while the target misbehaves.
 *
 * Each iteration forks a caller process in its own process group; the
 * caller forks the target, which maps its region only after the fork, at
 * a fixed address that nothing else in either process uses.  The region
 * has an anonymous part of 16..512 pages, sometimes a 2 MiB aligned part
 * with MADV_HUGEPAGE, sometimes a MAP_SHARED part (memfd, /tmp file or
 * shared anonymous) and an anonymous tail.  It is cut into up to 64
 * remote ranges with guard bytes between them.  1..3 caller threads then
 * make 20..200 calls in all, each over a run of consecutive ranges (the
 * remote iovecs) and 1..64 local iovecs with guards between them, while
 * the target runs one disturbance, once at a given call count or over and
 * over: munmap, mprotect, mremap (move, shrink, grow), MADV_DONTNEED,
 * MADV_COLLAPSE, fork, execve of this program, or exit.  "none" is the
 * control.
 *
 * Every byte of the region at offset o holds one of three values: the
 * pattern P(o) (1..0x7f), the written value W(o) = P(o) | 0x80 (a writev
 * only ever writes that) or zero (a page that was dropped).  The canary,
 * 0x80, is none of these.  Checks:
 *   - a call returns n with 0 < n <= requested, short only when the
 *     disturbance can take pages away, or -1 with an errno the
 *     disturbance explains (EFAULT, ESRCH; ENOMEM always);
 *   - readv: the first n bytes are legal values for their remote offsets,
 *     every other byte of the local buffer (guards, gaps, past n) is still
 *     the canary; writev: the local buffer is unchanged;
 *   - at the end the target checks its region: a byte that a writev
 *     acknowledged is W (or zero if dropped), never P, so a write that
 *     went to a stale or copied page is caught; every other byte, guards
 *     included, is never W.
 * The watchdog kills an iteration's process group after -w seconds and
 * counts a hang.  Children are reaped by the supervisor, a subreaper, so
 * nothing outlives its iteration.
 *
 * All randomness comes from splitmix64 over (seed, iteration), so
 * "cma_race -s S -i I -n 1" replays the parameters of iteration I.
 * Output: one FAIL line per failing iteration, a progress line every 500,
 * and "cma-race: N iterations, seed S, F failures, C calls"; exit 0 if
 * F == 0, 1 otherwise, 4 if the kernel lacks the calls, 2 on a usage or
 * setup error.
 *
 * Build: gcc -static -O2 -Wall -Werror -o cma_race cma_race.c -lpthread
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
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
#include <linux/futex.h>

#include "full_io.h"
#include "rng.h"

#define THP_SIZE	(2UL << 20)
#define MAX_IOV		64
#define MAX_THREADS	3
#define MAX_PARTS	4
#define PAT_LEN		65521		/* prime: a page-sized shift shows */
#define CANARY		0x80		/* never a data byte */
#define CHUNK		256		/* bytes compared at once */
#define BUDGET		(512UL << 10)	/* bytes asked for per iteration */
#define MAX_WINDOW	(256UL << 10)	/* most calls ask for less */
#define MIN_CALLS	20		/* per iteration, whatever the bytes */
#define MAX_CALLS	200
#define GRACE		30		/* seconds for SIGKILL to take */
#define EXEC_CHILD	"--cma-race-exec-child"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER	0x59616d61
#endif
#ifndef PR_SET_PTRACER_ANY
#define PR_SET_PTRACER_ANY ((unsigned long)-1)
#endif
#ifndef PR_SET_CHILD_SUBREAPER
#define PR_SET_CHILD_SUBREAPER 36
#endif

/* Which values a byte may legally hold. */
#define A_P	1	/* the pattern */
#define A_W	2	/* the written value */
#define A_Z	4	/* zero */

enum { D_NONE, D_MUNMAP, D_MPROTECT, D_MREMAP, D_DONTNEED, D_COLLAPSE,
       D_FORK, D_EXEC, D_EXIT, ND };

struct dist {
	const char *name;
	unsigned char fault;	/* pages go away: EFAULT and short counts */
	unsigned char efault;	/* EFAULT, never short: a new image */
	unsigned char esrch;	/* the target may be gone */
	unsigned char zero;	/* bytes may turn to zero */
	unsigned char verify;	/* the target lives to check its region */
	unsigned char weight;
};

/*
 * A call that got hold of the mm keeps it whole to the end: an exiting or
 * exec'ing target drops its reference, not the mappings.  So exit and
 * exec never make a call short; the calls after them fail outright.
 */
static const struct dist dists[ND] = {
	[D_NONE]	= { "none",	0, 0, 0, 0, 1, 1 },
	[D_MUNMAP]	= { "munmap",	1, 1, 0, 1, 1, 2 },
	[D_MPROTECT]	= { "mprotect",	1, 1, 0, 0, 1, 2 },
	[D_MREMAP]	= { "mremap",	1, 1, 0, 1, 1, 2 },
	[D_DONTNEED]	= { "dontneed",	0, 0, 0, 1, 1, 2 },
	[D_COLLAPSE]	= { "collapse",	0, 0, 0, 1, 1, 2 },
	[D_FORK]	= { "fork",	0, 0, 0, 0, 1, 2 },
	[D_EXEC]	= { "exec",	0, 1, 1, 0, 0, 2 },
	[D_EXIT]	= { "exit",	0, 0, 1, 0, 0, 2 },
};

enum { M_READ, M_WRITE, M_MIXED };
enum { P_ANON, P_THP, P_FILE, P_SHANON };
static const char *const kind_name[] = { "anon", "THP", "file", "shmem" };

struct part {
	int kind;
	size_t off;		/* in the region, page aligned */
	size_t len;
};

/* Everything about one iteration that the seed decides. */
struct plan {
	int dist;
	int repeat;		/* disturb over and over, not once */
	int mode;		/* M_READ, M_WRITE or M_MIXED calls */
	int nthreads;
	int tmpfile;		/* the P_FILE part is a /tmp file */
	int nparts;
	struct part part[MAX_PARTS];
	size_t pages, bytes;
	size_t reg_off;		/* region start in the target's span */
	size_t salt;		/* pattern offset */
	int nr;			/* remote ranges */
	size_t roff[MAX_IOV], rlen[MAX_IOV];
	unsigned int min_calls, max_calls;	/* per thread */
	size_t allowance;			/* bytes, per thread */
	unsigned int trigger, trigger2;	/* call counts for a once-only */
	uint64_t trng;		/* seeds of the target and the threads */
	uint64_t crng[MAX_THREADS];
};

/* Shared between the supervisor and an iteration's caller. */
struct result {
	unsigned int calls;
	int claimed;
	int failed;
	char what[256];
};

/* Shared between a caller and its target. */
struct ctl {
	unsigned int calls;	/* calls completed so far */
	int done;		/* no more calls; wmax[] is final */
	size_t wmax[MAX_IOV];	/* bytes of each range a writev wrote */
};

/* Target to caller, over a pipe. */
struct tmsg {
	uint64_t base;
	int code;		/* 0: fine; else text says what failed */
	char text[200];
};

struct ictx {
	const struct plan *p;
	struct result *res;
	struct ctl *ctl;
	pid_t pid;		/* the target */
	char *base;		/* its region */
	int stop;
	pthread_barrier_t start;
};

struct thr {
	struct ictx *ic;
	int idx;
	struct rng r;
	size_t asked;		/* bytes requested so far */
	unsigned char *arena;
	size_t arena_len;
	size_t wmax[MAX_IOV];
	pthread_t tid;
};

struct call {
	unsigned int no;
	int wr;
	int s, e;		/* remote ranges [s, e) */
	int k;			/* local iovecs */
	size_t t, l, req;	/* remote, local, requested bytes */
	size_t gap[MAX_IOV + 1];	/* canary before each, and after */
	size_t span;		/* arena bytes in use */
	struct iovec liov[MAX_IOV];
	struct iovec riov[MAX_IOV];
};

struct tgt {
	const struct plan *p;
	struct ctl *ctl;
	struct rng r;
	char *span;
	char *base;
	int kind[MAX_PARTS];	/* the plan's, unless a file was refused */
	int fd;
	unsigned char *hole;	/* per page: unmapped for good */
	int applied;		/* a disturbance waits for its undo */
	int a_part, a_var, keep;
	size_t a_pg, a_n;
	pid_t child;
	char err[200];
};

/*
 * A target's address space, in units of 512 pages (but at least 2 MiB):
 * the region's first part ends 2 units in, where its THP part starts;
 * the whole region is at most 2 units and a THP; mremap moves parts to
 * 8 units in; the span is 16 units.
 */
static size_t pg;
static size_t unit;
static size_t salt;
static unsigned char pat_p[2 * PAT_LEN], pat_w[2 * PAT_LEN];
static unsigned char canary_buf[CHUNK];

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void wake_target(struct ctl *ctl)
{
	syscall(SYS_futex, &ctl->calls, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
}


static const char *errname(int e)
{
	static __thread char buf[16];

	switch (e) {
	case EPERM: return "EPERM";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	}
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

/* ---- the data model ---- */

/* Both tables are doubled so that any CHUNK from any start is contiguous. */
static void pattern_init(void)
{
	struct rng r = { 0x636d612d72616365ULL };	/* "cma-race" */
	size_t i;

	for (i = 0; i < PAT_LEN; i++) {
		pat_p[i] = 1 + rnd_mod(&r, 127);
		pat_w[i] = pat_p[i] | 0x80;
	}
	memcpy(pat_p + PAT_LEN, pat_p, PAT_LEN);
	memcpy(pat_w + PAT_LEN, pat_w, PAT_LEN);
	memset(canary_buf, CANARY, sizeof(canary_buf));
}

static size_t pat_idx(size_t off)
{
	return (off % PAT_LEN + salt) % PAT_LEN;
}

/* Write the values of table tab for region offsets [off, off + len). */
static void fill_model(unsigned char *dst, size_t off, size_t len,
		       const unsigned char *tab)
{
	size_t idx = pat_idx(off), c;

	while (len) {
		c = min_sz(len, PAT_LEN);
		memcpy(dst, tab + idx, c);
		dst += c;
		len -= c;
		idx = (idx + c) % PAT_LEN;
	}
}

static int byte_ok(unsigned char b, unsigned char p, unsigned int allow)
{
	if (b == p)
		return allow & A_P;
	if (b == (p | 0x80))
		return allow & A_W;
	return b == 0 && (allow & A_Z);
}

/*
 * Check that b holds legal values for region offsets [off, off + len).
 * Return the index of the first bad byte, or len.  Whole chunks of one
 * kind go by memcmp; only mixed ones are looked at byte by byte.
 */
static size_t check_model(const unsigned char *b, size_t off, size_t len,
			  unsigned int allow)
{
	size_t i = 0, k, c, idx = pat_idx(off);

	while (i < len) {
		c = min_sz(len - i, CHUNK);
		if (!((allow & A_P) && !memcmp(b + i, pat_p + idx, c)) &&
		    !((allow & A_W) && !memcmp(b + i, pat_w + idx, c))) {
			for (k = 0; k < c; k++)
				if (!byte_ok(b[i + k], pat_p[idx + k], allow))
					return i + k;
		}
		i += c;
		idx = (idx + c) % PAT_LEN;
	}
	return len;
}

/* Index of the first byte that is not the canary, or len. */
static size_t check_canary(const unsigned char *b, size_t len)
{
	size_t i = 0, k, c;

	while (i < len) {
		c = min_sz(len - i, CHUNK);
		if (memcmp(b + i, canary_buf, c)) {
			for (k = 0; b[i + k] == CANARY; k++)
				;
			return i + k;
		}
		i += c;
	}
	return len;
}

static const char *allowed_name(unsigned int allow)
{
	static const char *const names[8] = {
		"nothing", "P", "W", "P/W", "0", "P/0", "W/0", "P/W/0"
	};

	return names[allow & 7];
}

/* ---- the plan ---- */

static void rng_seed(struct rng *r, unsigned long long seed,
		     unsigned long long iter)
{
	r->s = mix64(seed ^ 0x636d612d72616365ULL) + mix64(iter + 1);
}

static int pick_dist(struct rng *r)
{
	int d, total = 0;
	size_t x;

	for (d = 0; d < ND; d++)
		total += dists[d].weight;
	x = rnd_mod(r, total);
	for (d = 0; d < ND - 1; d++) {
		if (x < dists[d].weight)
			break;
		x -= dists[d].weight;
	}
	return d;
}

static void add_part(struct plan *p, int kind, size_t pages)
{
	struct part *pt = &p->part[p->nparts++];

	pt->kind = kind;
	pt->off = p->bytes;
	pt->len = pages * pg;
	p->pages += pages;
	p->bytes += pt->len;
}

/*
 * Region parts, in address order.  The first part ends where the THP part
 * starts, 2 units into the span, so that part is 2 MiB aligned.  Two
 * anonymous parts are never adjacent: they would merge into one VMA.
 */
static void plan_parts(struct plan *p, struct rng *r)
{
	size_t a = 16 + rnd_mod(r, 1 + (496 >> rnd_mod(r, 6)));	/* mean ~100 */
	int thp = rnd_mod(r, 12) == 0, shared = rnd_mod(r, 3) == 0;
	size_t x;

	p->reg_off = 2 * unit - a * pg;
	add_part(p, P_ANON, a);
	if (thp)
		add_part(p, P_THP, THP_SIZE / pg);
	if (shared) {
		x = rnd_mod(r, 4);
		p->tmpfile = x == 1;
		add_part(p, x == 3 ? P_SHANON : P_FILE, 1 + rnd_mod(r, 64));
	}
	if ((thp || shared) && rnd_mod(r, 2))
		add_part(p, P_ANON, 1 + rnd_mod(r, 32));
}

/*
 * Cut the region into guard, range, guard, ..., range, guard.  Guards are
 * 1..64 bytes or up to two pages, so ranges start and end anywhere in a
 * page; ranges share the rest by random weights.
 */
static void plan_ranges(struct plan *p, struct rng *r)
{
	size_t g[MAX_IOV + 1], gsum = 0, rest, off;
	uint64_t w[MAX_IOV], wsum = 0, used = 0;
	int i, nr = 1 + rnd_mod(r, MAX_IOV);

	for (i = 0; i <= nr; i++) {
		g[i] = 1 + (rnd_mod(r, 4) ? rnd_mod(r, 64) :
			    rnd_mod(r, 2 * pg));
		gsum += g[i];
	}
	if (gsum > p->bytes / 2) {
		for (gsum = 0, i = 0; i <= nr; i++) {
			g[i] = 1 + rnd_mod(r, 64);
			gsum += g[i];
		}
	}
	rest = p->bytes - gsum - nr;	/* each range gets one byte first */
	for (i = 0; i < nr; i++) {
		w[i] = 1 + rnd_mod(r, rnd_mod(r, 8) ? 100 : 2000);
		wsum += w[i];
	}
	off = g[0];
	for (i = 0; i < nr; i++) {
		uint64_t share = i == nr - 1 ? rest - used :
				 rest * w[i] / wsum;

		used += share;
		p->roff[i] = off;
		p->rlen[i] = 1 + (size_t)share;
		off += p->rlen[i] + g[i + 1];
	}
	p->nr = nr;
}

/*
 * Work is bounded by calls and bytes, never by time: each thread makes
 * calls until it has asked for its share of BUDGET bytes, but at least
 * its share of MIN_CALLS and at most of MAX_CALLS.
 */
static void plan_calls(struct plan *p, struct rng *r)
{
	int n = p->nthreads;

	p->min_calls = (MIN_CALLS + n - 1) / n;
	p->max_calls = MAX_CALLS / n;
	p->allowance = BUDGET / n;
	/* The first always comes; the second may not: then undo at the end. */
	p->trigger = rnd_mod(r, MIN_CALLS / 2);
	p->trigger2 = p->trigger + 1 + rnd_mod(r, 2 * MIN_CALLS);
}

static void plan_make(struct plan *p, unsigned long long seed,
		      unsigned long long iter)
{
	struct rng r;
	int i;

	memset(p, 0, sizeof(*p));
	rng_seed(&r, seed, iter);
	p->dist = pick_dist(&r);
	p->repeat = p->dist != D_NONE && p->dist != D_EXEC &&
		    p->dist != D_EXIT && rnd_mod(&r, 2);
	p->mode = rnd_mod(&r, 3);
	p->nthreads = 1 + rnd_mod(&r, MAX_THREADS);
	p->salt = rnd_mod(&r, PAT_LEN);
	plan_parts(p, &r);
	plan_ranges(p, &r);
	plan_calls(p, &r);
	p->trng = rnd64(&r);
	for (i = 0; i < MAX_THREADS; i++)
		p->crng[i] = rnd64(&r);
}

/* ---- the target ---- */

static void __attribute__((format(printf, 2, 3)))
t_err(struct tgt *t, const char *fmt, ...)
{
	va_list ap;

	if (t->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
}

static int t_done(const struct tgt *t)
{
	return __atomic_load_n(&t->ctl->done, __ATOMIC_ACQUIRE);
}

/*
 * Wait for the callers to have made n calls, or to be done.  A futex, not
 * a spin: with two CPUs a spinning target would slow the callers down.
 * The callers wake it at the two trigger counts and when they are done.
 */
static void t_wait_calls(struct tgt *t, unsigned int n)
{
	unsigned int v;

	while ((v = __atomic_load_n(&t->ctl->calls, __ATOMIC_ACQUIRE)) < n &&
	       !t_done(t))
		syscall(SYS_futex, &t->ctl->calls, FUTEX_WAIT, v, NULL, NULL, 0);
}

/* A short random pause, so that undo does not always follow at once. */
static void t_spin(struct tgt *t)
{
	volatile size_t i, n = rnd_mod(&t->r, 4) ? rnd_mod(&t->r, 2000) : 0;

	for (i = 0; i < n; i++)
		;
}

static char *t_addr(const struct tgt *t, size_t pgno)
{
	return t->base + pgno * pg;
}

/*
 * (Re)map n pages of part i from its page first on.  A file part maps the
 * same file offsets again, so its data survives; anonymous ones come back
 * as zero.
 */
static int t_map(struct tgt *t, int i, size_t first, size_t n)
{
	const struct part *pt = &t->p->part[i];
	char *a = t->base + pt->off + first * pg, *m;
	int prot = PROT_READ | PROT_WRITE, fl = MAP_FIXED_NOREPLACE;

	switch (t->kind[i]) {
	case P_FILE:
		m = mmap(a, n * pg, prot, fl | MAP_SHARED, t->fd,
			 (off_t)first * (off_t)pg);
		break;
	case P_SHANON:
		m = mmap(a, n * pg, prot, fl | MAP_SHARED | MAP_ANONYMOUS,
			 -1, 0);
		break;
	default:
		m = mmap(a, n * pg, prot, fl | MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		if (m == a && t->kind[i] == P_THP)
			madvise(a, n * pg, MADV_HUGEPAGE);
		break;
	}
	if (m == a)
		return 0;
	t_err(t, "mmap %s part %d at +%zu pages: %s", kind_name[t->kind[i]],
	      i, first, m == MAP_FAILED ? strerror(errno) :
	      "landed elsewhere");
	if (m != MAP_FAILED)
		munmap(m, n * pg);
	return -1;
}

/* A memfd or an unlinked /tmp file, as planned, else the other one. */
static int t_open_file(const struct plan *p, size_t len)
{
	char path[] = "/tmp/cma_race.XXXXXX";
	int fd = -1, tries;

	for (tries = 0; tries < 2 && fd < 0; tries++) {
		if (p->tmpfile ^ tries) {
			fd = mkstemp(path);
			if (fd >= 0) {
				unlink(path);
				fcntl(fd, F_SETFD, FD_CLOEXEC);
			}
		} else {
			fd = memfd_create("cma_race", MFD_CLOEXEC);
		}
	}
	if (fd >= 0 && ftruncate(fd, (off_t)len)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * Find a span of free address space at a fixed place, far from anything
 * a freshly exec'd static binary maps, and give it back: the parts go
 * into it with MAP_FIXED_NOREPLACE, and the rest must stay free for
 * mremap.  1 TiB up on 64-bit, 1.25 GiB on 32-bit.
 */
static char *t_find_span(void)
{
	int lp64 = sizeof(void *) > 4;
	uintptr_t a0 = lp64 ? (uintptr_t)0x10000000000ULL : 0x50000000UL;
	size_t len = 16 * unit;
	uintptr_t a;
	char *m;
	int k;

	for (k = 0; k < 4; k++) {
		a = a0 + k * len;
		m = mmap((void *)a, len, PROT_NONE, MAP_PRIVATE |
			 MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
			 -1, 0);
		if (m == (char *)a) {
			munmap(m, len);
			return m;
		}
		if (m != MAP_FAILED)
			munmap(m, len);
	}
	m = mmap(NULL, len + unit, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	munmap(m, len + unit);
	return (char *)(((uintptr_t)m + unit - 1) & ~(uintptr_t)(unit - 1));
}

static int t_setup(struct tgt *t)
{
	const struct plan *p = t->p;
	int i;

	t->fd = -1;
	t->hole = calloc(p->pages, 1);
	t->span = t_find_span();
	if (!t->hole || !t->span) {
		t_err(t, "no memory or address space for the region");
		return -1;
	}
	t->base = t->span + p->reg_off;
	for (i = 0; i < p->nparts; i++) {
		t->kind[i] = p->part[i].kind;
		if (t->kind[i] == P_FILE) {
			t->fd = t_open_file(p, p->part[i].len);
			if (t->fd < 0)	/* no memfd, no /tmp: still shared */
				t->kind[i] = P_SHANON;
		}
		if (t_map(t, i, 0, p->part[i].len / pg))
			return -1;
		fill_model((unsigned char *)t->base + p->part[i].off,
			   p->part[i].off, p->part[i].len, pat_p);
	}
	return 0;
}

/* Pick a part, and a run of 1..max pages in it. */
static int t_pick_in_part(struct tgt *t, size_t max, size_t *first,
			  size_t *n)
{
	int i = rnd_mod(&t->r, t->p->nparts);
	size_t np = t->p->part[i].len / pg;

	*first = rnd_mod(&t->r, np);
	*n = 1 + rnd_mod(&t->r, min_sz(np - *first, max));
	return i;
}

/* A run of 1..max pages anywhere in the region, across parts. */
static void t_pick_pages(struct tgt *t, size_t max)
{
	t->a_pg = rnd_mod(&t->r, t->p->pages);
	t->a_n = 1 + rnd_mod(&t->r, min_sz(t->p->pages - t->a_pg, max));
}

static void t_munmap(struct tgt *t)
{
	size_t first, n, i, pg0;

	t->a_part = t_pick_in_part(t, 16, &first, &n);
	pg0 = t->p->part[t->a_part].off / pg;
	t->a_pg = first;
	t->a_n = n;
	if (munmap(t_addr(t, pg0 + first), n * pg)) {
		t_err(t, "munmap: %s", strerror(errno));
		return;
	}
	for (i = 0; i < n; i++)
		t->hole[pg0 + first + i] = 1;
	/* Done once, the hole may stay: the final check skips it. */
	t->keep = !t->p->repeat && rnd_mod(&t->r, 2);
	t->applied = 1;
}

static void t_munmap_undo(struct tgt *t)
{
	size_t i, pg0 = t->p->part[t->a_part].off / pg;

	if (t->keep || t_map(t, t->a_part, t->a_pg, t->a_n))
		return;
	for (i = 0; i < t->a_n; i++)
		t->hole[pg0 + t->a_pg + i] = 0;
}

static void t_mprotect(struct tgt *t)
{
	int prot = rnd_mod(&t->r, 2) ? PROT_NONE : PROT_READ;

	t_pick_pages(t, 64);
	if (mprotect(t_addr(t, t->a_pg), t->a_n * pg, prot))
		t_err(t, "mprotect: %s", strerror(errno));
	else
		t->applied = 1;
}

static void t_mprotect_undo(struct tgt *t)
{
	if (mprotect(t_addr(t, t->a_pg), t->a_n * pg, PROT_READ | PROT_WRITE))
		t_err(t, "mprotect back: %s", strerror(errno));
}

static char *t_scratch(const struct tgt *t, const char *a)
{
	return t->span + 8 * unit + ((uintptr_t)a & (THP_SIZE - 1));
}

/*
 * Variant 0 moves a part out of the region (to a place with the same
 * offset in a 2 MiB page, so huge PMDs move whole), 1 shrinks a part in
 * place, 2 grows the last part into the free space after the region.
 * Undo puts everything back where it was.
 */
static void t_mremap(struct tgt *t)
{
	const struct plan *p = t->p;
	int i = rnd_mod(&t->r, p->nparts), var = rnd_mod(&t->r, 3);
	size_t len = p->part[i].len, np = len / pg;
	char *a = t->base + p->part[i].off, *to, *m;

	if (var == 1 && np < 2)
		var = 0;
	if (var == 2 && (i != p->nparts - 1 || t->kind[i] == P_FILE ||
			 t->kind[i] == P_SHANON))
		var = 0;	/* a shared object cannot grow this way */
	t->a_part = i;
	t->a_var = var;
	switch (var) {
	case 0:
		to = t_scratch(t, a);
		m = mremap(a, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
		break;
	case 1:
		t->a_n = 1 + rnd_mod(&t->r, np - 1);
		to = a;
		m = mremap(a, len, len - t->a_n * pg, 0);
		break;
	default:
		t->a_n = 1 + rnd_mod(&t->r, 64);
		to = a;
		m = mremap(a, len, len + t->a_n * pg, 0);
		break;
	}
	if (m != to)
		t_err(t, "mremap variant %d of part %d: %s", var, i,
		      m == MAP_FAILED ? strerror(errno) : "moved elsewhere");
	else
		t->applied = 1;
}

static void t_mremap_undo(struct tgt *t)
{
	const struct part *pt = &t->p->part[t->a_part];
	char *a = t->base + pt->off, *m;

	if (t->a_var == 0)
		m = mremap(t_scratch(t, a), pt->len, pt->len,
			   MREMAP_MAYMOVE | MREMAP_FIXED, a);
	else if (t->a_var == 1)
		m = mremap(a, pt->len - t->a_n * pg, pt->len, 0);
	else
		m = mremap(a, pt->len + t->a_n * pg, pt->len, 0);
	if (m != a)
		t_err(t, "mremap variant %d back: %s", t->a_var,
		      m == MAP_FAILED ? strerror(errno) : "moved elsewhere");
}

static void t_dontneed(struct tgt *t)
{
	t_pick_pages(t, 64);
	if (madvise(t_addr(t, t->a_pg), t->a_n * pg, MADV_DONTNEED))
		t_err(t, "madvise DONTNEED: %s", strerror(errno));
}

/*
 * Drop one page of the THP part (or of the first part) so that there is
 * something to collapse, then ask for the collapse.  MADV_COLLAPSE is 6.1
 * and later and may fail for many reasons: only the attempt matters.
 */
static void t_collapse(struct tgt *t)
{
	const struct plan *p = t->p;
	const struct part *pt = &p->part[0];
	char *a;
	int i;

	for (i = 0; i < p->nparts; i++)
		if (p->part[i].kind == P_THP)
			pt = &p->part[i];
	a = t->base + pt->off;
	madvise(a + rnd_mod(&t->r, pt->len / pg) * pg, pg, MADV_DONTNEED);
	madvise(a, pt->len, MADV_HUGEPAGE);
	madvise(a, pt->len, MADV_COLLAPSE);
}

/*
 * The child writes the pattern into a few private pages (breaking COW on
 * its side only) and reads the shared part.  Writes the callers pinned in
 * the parent must land in the parent.
 */
static void __attribute__((noreturn)) t_fork_child(struct tgt *t)
{
	const struct plan *p = t->p;
	volatile unsigned char sink = 0;
	size_t o, n;
	int i, k;

	for (k = 0; k < 8; k++) {
		i = rnd_mod(&t->r, p->nparts);
		n = p->part[i].len / pg;
		o = p->part[i].off + rnd_mod(&t->r, n) * pg;
		if (t->kind[i] == P_ANON || t->kind[i] == P_THP)
			fill_model((unsigned char *)t->base + o, o, pg, pat_p);
		else
			sink += *(volatile unsigned char *)(t->base + o);
	}
	(void)sink;
	_exit(0);
}

static void t_fork(struct tgt *t)
{
	pid_t pid = getpid();

	t->child = fork();
	if (t->child < 0) {
		t_err(t, "fork: %s", strerror(errno));
		return;
	}
	if (!t->child) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != pid)
			_exit(0);
		t->r.s ^= 0x5a5a5a5a5a5a5a5aULL;	/* not the parent's */
		t_fork_child(t);
	}
	t->applied = 1;
}

static void t_fork_undo(struct tgt *t)
{
	int st;

	if (waitpid(t->child, &st, 0) != t->child)
		t_err(t, "waitpid fork child: %s", strerror(errno));
	else if (!WIFEXITED(st) || WEXITSTATUS(st))
		t_err(t, "fork child ended with status 0x%x", st);
}

/* The new image sleeps a little and exits: see exec_child(). */
static void t_exec(struct tgt *t)
{
	char usec[16], arg0[] = "cma_race", arg1[] = EXEC_CHILD;
	char *argv[] = { arg0, arg1, usec, NULL };

	snprintf(usec, sizeof(usec), "%u",
		 100 + (unsigned int)rnd_mod(&t->r, 1000));
	execve("/proc/self/exe", argv, environ);
	t_err(t, "execve /proc/self/exe: %s", strerror(errno));
}

static void t_apply(struct tgt *t)
{
	t->applied = 0;
	switch (t->p->dist) {
	case D_MUNMAP:
		t_munmap(t);
		break;
	case D_MPROTECT:
		t_mprotect(t);
		break;
	case D_MREMAP:
		t_mremap(t);
		break;
	case D_DONTNEED:
		t_dontneed(t);
		break;
	case D_COLLAPSE:
		t_collapse(t);
		break;
	case D_FORK:
		t_fork(t);
		break;
	case D_EXEC:
		t_exec(t);
		break;
	case D_EXIT:
		_exit(0);
	}
}

static void t_undo(struct tgt *t)
{
	if (!t->applied)
		return;
	t->applied = 0;
	switch (t->p->dist) {
	case D_MUNMAP:
		t_munmap_undo(t);
		break;
	case D_MPROTECT:
		t_mprotect_undo(t);
		break;
	case D_MREMAP:
		t_mremap_undo(t);
		break;
	case D_FORK:
		t_fork_undo(t);
		break;
	}
}

/*
 * Once: apply at the trigger call count, undo at the second one or when
 * the callers are done.  Repeated: apply and undo until they are done.
 * A target error stops the disturbance, not the callers.
 */
static void t_disturb(struct tgt *t)
{
	const struct plan *p = t->p;

	if (p->dist == D_NONE)
		return;
	if (p->repeat) {
		while (!t_done(t) && !t->err[0]) {
			t_apply(t);
			t_spin(t);
			t_undo(t);
			t_spin(t);
		}
		return;
	}
	t_wait_calls(t, p->trigger);
	if (t_done(t))
		return;
	t_apply(t);
	t_wait_calls(t, p->trigger2);
	t_undo(t);
}

/* Check region offsets [off, off + len) against allow, skipping holes. */
static int t_check_zone(struct tgt *t, size_t off, size_t len,
			unsigned int allow, const char *what, int j)
{
	size_t c, bad;

	while (len) {
		c = min_sz(len, pg - off % pg);
		if (!t->hole[off / pg]) {
			bad = check_model((unsigned char *)t->base + off, off,
					  c, allow);
			if (bad < c) {
				off += bad;
				t_err(t, "target: %s %d byte at region offset %zu is 0x%02x, allowed %s (P is 0x%02x)",
				      what, j,
				      off, (unsigned char)t->base[off],
				      allowed_name(allow), pat_p[pat_idx(off)]);
				return -1;
			}
		}
		off += c;
		len -= c;
	}
	return 0;
}

/*
 * After the callers are done: a byte a writev acknowledged is W (or zero
 * if its page was dropped since); every other byte, guards included, is
 * P (or zero).  P where W was acknowledged means a lost write.
 */
static void t_verify(struct tgt *t)
{
	const struct plan *p = t->p;
	unsigned int z = dists[p->dist].zero ? A_Z : 0;
	size_t off = 0, w;
	int j;

	for (j = 0; j <= p->nr; j++) {
		size_t end = j < p->nr ? p->roff[j] : p->bytes;

		if (t_check_zone(t, off, end - off, A_P | z, "guard", j))
			return;
		if (j == p->nr)
			break;
		w = min_sz(t->ctl->wmax[j], p->rlen[j]);
		if (t_check_zone(t, p->roff[j], w, A_W | z,
				 "acknowledged write in range", j) ||
		    t_check_zone(t, p->roff[j] + w, p->rlen[j] - w, A_P | z,
				 "unwritten part of range", j))
			return;
		off = p->roff[j] + p->rlen[j];
	}
}

static void __attribute__((noreturn)) target_main(const struct plan *p,
						  struct ctl *ctl, pid_t caller,
						  int rfd, int wfd)
{
	struct tgt t;
	struct tmsg m;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != caller)
		_exit(1);
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	memset(&t, 0, sizeof(t));
	memset(&m, 0, sizeof(m));
	t.p = p;
	t.ctl = ctl;
	t.r.s = p->trng;
	if (t_setup(&t) == 0) {
		m.base = (uintptr_t)t.base;
		if (write_full(wfd, &m, sizeof(m)) || read_full(rfd, &c, 1))
			_exit(0);	/* the caller is gone */
		t_disturb(&t);
		if (read_full(rfd, &c, 1))
			_exit(0);
		t_undo(&t);
		if (!t.err[0])
			t_verify(&t);
	}
	if (t.err[0]) {
		m.code = 1;
		snprintf(m.text, sizeof(m.text), "%s", t.err);
	}
	write_full(wfd, &m, sizeof(m));
	_exit(0);
}

/* ---- the callers ---- */

static int stopped(struct ictx *ic)
{
	return __atomic_load_n(&ic->stop, __ATOMIC_RELAXED);
}

/* Record the iteration's first failure; every thread then stops. */
static void __attribute__((format(printf, 2, 3)))
fail(struct ictx *ic, const char *fmt, ...)
{
	va_list ap;

	if (!__atomic_exchange_n(&ic->res->claimed, 1, __ATOMIC_ACQ_REL)) {
		va_start(ap, fmt);
		vsnprintf(ic->res->what, sizeof(ic->res->what), fmt, ap);
		va_end(ap);
		__atomic_store_n(&ic->res->failed, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&ic->stop, 1, __ATOMIC_RELAXED);
}

/*
 * Now and then all the ranges; mostly a short run of consecutive ones,
 * cut off after a random number of bytes up to MAX_WINDOW, so that the
 * last remote iovec may be a prefix of its range.
 */
static void pick_window(struct thr *th, struct call *c)
{
	const struct plan *p = th->ic->p;
	size_t cap = (size_t)-1, len;
	int w, i;

	if (rnd_mod(&th->r, 32) == 0) {
		w = p->nr;
	} else {
		w = 1 + rnd_mod(&th->r, 1 + rnd_mod(&th->r, 1 + p->nr / 4));
		cap = 1 + rnd_mod(&th->r, MAX_WINDOW);
	}
	c->s = rnd_mod(&th->r, p->nr - w + 1);
	c->t = 0;
	for (i = c->s; i < c->s + w && c->t < cap; i++) {
		len = min_sz(p->rlen[i], cap - c->t);
		c->riov[i - c->s].iov_base = th->ic->base + p->roff[i];
		c->riov[i - c->s].iov_len = len;
		c->t += len;
	}
	c->e = i;
}

static void sort_sz(size_t *v, int n)
{
	int i, j;
	size_t x;

	for (i = 1; i < n; i++) {
		x = v[i];
		for (j = i; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static size_t pick_gap(struct rng *r)
{
	switch (rnd_mod(r, 4)) {
	case 0:
		return 0;	/* adjacent iovecs */
	case 1:
		return 1 + rnd_mod(r, 2 * pg);
	default:
		return 1 + rnd_mod(r, 64);
	}
}

/*
 * Local side: usually as long as the remote side, sometimes shorter or
 * longer; cut into 1..64 iovecs at random points (empty ones included)
 * laid out in the arena with canary gaps between and around them.
 */
static void lay_out_local(struct thr *th, struct call *c)
{
	size_t cut[MAX_IOV + 1], pos;
	int i;

	switch (rnd_mod(&th->r, 8)) {
	case 0:
		c->l = 1 + rnd_mod(&th->r, c->t);
		break;
	case 1:
		c->l = c->t + 1 + rnd_mod(&th->r, min_sz(c->t, 4 * pg));
		break;
	default:
		c->l = c->t;
		break;
	}
	c->req = min_sz(c->l, c->t);
	c->k = 1 + rnd_mod(&th->r, MAX_IOV);
	if ((size_t)c->k > c->l)
		c->k = c->l;
	cut[0] = 0;
	cut[c->k] = c->l;
	for (i = 1; i < c->k; i++)
		cut[i] = rnd_mod(&th->r, c->l + 1);
	sort_sz(cut + 1, c->k - 1);

	c->gap[0] = 1 + rnd_mod(&th->r, pg);
	for (i = 1; i < c->k; i++)
		c->gap[i] = pick_gap(&th->r);
	c->gap[c->k] = 1 + rnd_mod(&th->r, pg);
	pos = c->gap[0];
	for (i = 0; i < c->k; i++) {
		c->liov[i].iov_base = th->arena + pos;
		c->liov[i].iov_len = cut[i + 1] - cut[i];
		pos += c->liov[i].iov_len + c->gap[i + 1];
	}
	c->span = pos;
}

/*
 * Walk the remote side of a call as one stream, the way the kernel fills
 * it: the next piece of at most want bytes, as a region offset and length.
 */
struct rwalk {
	const struct call *c;
	const char *base;
	int j;
	size_t off;
};

static size_t rwalk_next(struct rwalk *w, size_t want, size_t *roff)
{
	const struct iovec *v = w->c->riov;
	size_t n;

	while (w->j < w->c->e - w->c->s && w->off == v[w->j].iov_len) {
		w->j++;
		w->off = 0;
	}
	if (w->j >= w->c->e - w->c->s)
		return 0;
	n = min_sz(v[w->j].iov_len - w->off, want);
	*roff = (const char *)v[w->j].iov_base - w->base + w->off;
	w->off += n;
	return n;
}

/* All canary; for a writev, the first req local bytes W for their target. */
static void prepare_local(struct thr *th, struct call *c)
{
	struct rwalk w = { c, th->ic->base, 0, 0 };
	size_t left = c->req, d, n, done, roff;
	int i;

	memset(th->arena, CANARY, c->span);
	if (!c->wr)
		return;
	for (i = 0; i < c->k && left; i++) {
		d = min_sz(c->liov[i].iov_len, left);
		for (done = 0; done < d; done += n) {
			n = rwalk_next(&w, d - done, &roff);
			if (!n)
				return;	/* d <= req <= t: cannot happen */
			fill_model((unsigned char *)c->liov[i].iov_base + done,
				   roff, n, pat_w);
		}
		left -= d;
	}
}

static void describe(const struct call *c, int t, char *buf, size_t len)
{
	snprintf(buf, len, "%s t%d#%u (ranges %d-%d, %zu bytes; %d local iovecs, %zu bytes)",
		 c->wr ? "writev" : "readv", t, c->no, c->s, c->e - 1, c->t,
		 c->k, c->l);
}

/*
 * The local stream's first nmodel bytes must hold legal values for their
 * remote offsets; everything else in the arena span must be the canary.
 * For a readv nmodel is the count it returned, for a writev the bytes it
 * was given (it must not write to its source).
 */
static int check_local(struct thr *th, const struct call *c, size_t nmodel,
		       unsigned int allow)
{
	struct rwalk w = { c, th->ic->base, 0, 0 };
	const unsigned char *a = th->arena, *seg;
	size_t pos = 0, left = nmodel, d, n, done, roff, bad;
	char desc[160];
	int i;

	describe(c, th->idx, desc, sizeof(desc));
	for (i = 0; i <= c->k; i++) {
		bad = check_canary(a + pos, c->gap[i]);
		if (bad < c->gap[i]) {
			fail(th->ic, "%s: canary before local iovec %d overwritten at +%zu: 0x%02x",
			     desc, i, bad, a[pos + bad]);
			return -1;
		}
		pos += c->gap[i];
		if (i == c->k)
			break;
		seg = c->liov[i].iov_base;
		d = min_sz(c->liov[i].iov_len, left);
		for (done = 0; done < d; done += n) {
			n = rwalk_next(&w, d - done, &roff);
			if (!n) {
				fail(th->ic, "%s: %zu bytes copied, more than asked for",
				     desc, nmodel);
				return -1;
			}
			bad = check_model(seg + done, roff, n, allow);
			if (bad < n) {
				fail(th->ic, "%s: local iovec %d byte %zu (remote offset %zu) is 0x%02x, allowed %s (P is 0x%02x)",
				     desc, i, done + bad, roff + bad,
				     seg[done + bad], allowed_name(allow),
				     pat_p[pat_idx(roff + bad)]);
				return -1;
			}
		}
		left -= d;
		bad = check_canary(seg + d, c->liov[i].iov_len - d);
		if (bad < c->liov[i].iov_len - d) {
			fail(th->ic, "%s: local iovec %d byte %zu, past the %zu bytes copied, changed to 0x%02x",
			     desc, i, d + bad, nmodel, seg[d + bad]);
			return -1;
		}
		pos += c->liov[i].iov_len;
	}
	return 0;
}

/* Is this result one the disturbance explains? */
static int check_ret(struct thr *th, const struct call *c, long ret, int e)
{
	const struct dist *d = &dists[th->ic->p->dist];
	char desc[160];

	if (ret < 0 && (e == ENOMEM || (e == EFAULT && (d->fault || d->efault))
			|| (e == ESRCH && d->esrch)))
		return 0;
	if (ret > 0 && (size_t)ret == c->req)
		return 0;
	if (ret > 0 && (size_t)ret < c->req && d->fault)
		return 0;
	describe(c, th->idx, desc, sizeof(desc));
	if (ret < 0)
		fail(th->ic, "%s: -1 %s", desc, errname(e));
	else
		fail(th->ic, "%s: returned %ld of %zu requested", desc, ret,
		     c->req);
	return -1;
}

/*
 * The first ret bytes of the remote stream were written.  Every remote
 * iovec starts where its range does, so that is a prefix of each range.
 */
static void note_written(struct thr *th, const struct call *c, size_t ret)
{
	size_t n;
	int j;

	for (j = c->s; j < c->e && ret; j++) {
		n = min_sz(ret, c->riov[j - c->s].iov_len);
		if (n > th->wmax[j])
			th->wmax[j] = n;
		ret -= n;
	}
}

static void one_call(struct thr *th, struct call *c)
{
	struct ictx *ic = th->ic;
	const struct plan *p = ic->p;
	unsigned int allow, n;
	size_t got;
	long ret;
	int e = 0;

	c->wr = p->mode == M_MIXED ? (int)rnd_mod(&th->r, 2) :
		p->mode == M_WRITE;
	pick_window(th, c);
	lay_out_local(th, c);
	prepare_local(th, c);

	ret = syscall(c->wr ? SYS_process_vm_writev : SYS_process_vm_readv,
		      (long)ic->pid, c->liov, (unsigned long)c->k, c->riov,
		      (unsigned long)(c->e - c->s), 0UL);
	if (ret < 0)
		e = errno;
	n = __atomic_add_fetch(&ic->ctl->calls, 1, __ATOMIC_RELEASE);
	if (n == p->trigger || n == p->trigger2)
		wake_target(ic->ctl);
	__atomic_add_fetch(&ic->res->calls, 1, __ATOMIC_RELAXED);

	if (check_ret(th, c, ret, e))
		return;
	got = ret > 0 ? (size_t)ret : 0;
	if (c->wr) {
		if (check_local(th, c, c->req, A_W))
			return;
		note_written(th, c, got);
		return;
	}
	allow = A_P | (p->mode != M_READ ? A_W : 0) |
		(dists[p->dist].zero ? A_Z : 0);
	check_local(th, c, got, allow);
}

static void *thread_main(void *arg)
{
	struct thr *th = arg;
	const struct plan *p = th->ic->p;
	struct call c;

	pthread_barrier_wait(&th->ic->start);
	for (c.no = 0; c.no < p->max_calls && !stopped(th->ic); c.no++) {
		if (c.no >= p->min_calls && th->asked >= p->allowance)
			break;
		one_call(th, &c);
		th->asked += c.t;
	}
	return NULL;
}

/* Room for the whole region, a longer local side and every gap. */
static size_t arena_size(const struct plan *p)
{
	size_t n = p->bytes + 4 * pg + (MAX_IOV + 1) * 2 * pg + 2 * pg;

	return (n + pg - 1) / pg * pg;
}

static int start_threads(struct ictx *ic, struct thr *th)
{
	const struct plan *p = ic->p;
	int i;

	for (i = 0; i < p->nthreads; i++) {
		th[i].ic = ic;
		th[i].idx = i;
		th[i].r.s = p->crng[i];
		th[i].arena_len = arena_size(p);
		th[i].arena = mmap(NULL, th[i].arena_len,
				   PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (th[i].arena == MAP_FAILED) {
			fail(ic, "caller: mmap arena: %s", strerror(errno));
			return -1;
		}
	}
	if (pthread_barrier_init(&ic->start, NULL, p->nthreads + 1)) {
		fail(ic, "caller: pthread_barrier_init failed");
		return -1;
	}
	for (i = 0; i < p->nthreads; i++) {
		if (pthread_create(&th[i].tid, NULL, thread_main, &th[i])) {
			fail(ic, "caller: pthread_create failed");
			return -1;	/* exiting takes the others down */
		}
	}
	return 0;
}

static void finish_threads(struct ictx *ic, struct thr *th)
{
	int i, j;

	for (i = 0; i < ic->p->nthreads; i++) {
		pthread_join(th[i].tid, NULL);
		for (j = 0; j < ic->p->nr; j++)
			if (th[i].wmax[j] > ic->ctl->wmax[j])
				ic->ctl->wmax[j] = th[i].wmax[j];
	}
}

/* The target's closing report, then its exit status. */
static void finish_target(struct ictx *ic, int rfd, int wfd)
{
	const struct dist *d = &dists[ic->p->dist];
	struct tmsg m;
	int st;

	__atomic_store_n(&ic->ctl->done, 1, __ATOMIC_RELEASE);
	/* Change the futex word too, so that a target about to wait won't. */
	__atomic_add_fetch(&ic->ctl->calls, 1, __ATOMIC_RELEASE);
	wake_target(ic->ctl);
	write_full(wfd, "d", 1);
	if (read_full(rfd, &m, sizeof(m))) {
		if (d->verify)
			fail(ic, "target sent no final report");
	} else if (m.code) {
		m.text[sizeof(m.text) - 1] = 0;
		fail(ic, "%s", m.text);
	}
	close(wfd);
	if (waitpid(ic->pid, &st, 0) != ic->pid)
		fail(ic, "caller: waitpid target: %s", strerror(errno));
	else if (WIFSIGNALED(st))
		fail(ic, "target killed by signal %d", WTERMSIG(st));
	else if (WEXITSTATUS(st))
		fail(ic, "target exited with status %d", WEXITSTATUS(st));
}

/*
 * The caller: fork the target, wait until its region is up, let the
 * threads go, then collect the target's verdict and its exit status.
 */
static int run_iteration(const struct plan *p, struct result *res)
{
	static struct thr th[MAX_THREADS];
	struct ictx ic;
	struct tmsg m;
	pid_t me = getpid();
	int to_t[2], from_t[2];

	memset(&ic, 0, sizeof(ic));
	ic.p = p;
	ic.res = res;
	salt = p->salt;
	ic.ctl = mmap(NULL, sizeof(struct ctl), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ic.ctl == MAP_FAILED || pipe2(to_t, O_CLOEXEC) ||
	    pipe2(from_t, O_CLOEXEC)) {
		fail(&ic, "caller: setup: %s", strerror(errno));
		return 1;
	}
	ic.pid = fork();
	if (ic.pid < 0) {
		fail(&ic, "caller: fork: %s", strerror(errno));
		return 1;
	}
	if (!ic.pid) {
		close(to_t[1]);
		close(from_t[0]);
		target_main(p, ic.ctl, me, to_t[0], from_t[1]);
	}
	close(to_t[0]);
	close(from_t[1]);
	if (read_full(from_t[0], &m, sizeof(m))) {
		fail(&ic, "target did not start");
		return 1;
	}
	if (m.code) {
		m.text[sizeof(m.text) - 1] = 0;
		fail(&ic, "%s", m.text);
		return 1;
	}
	ic.base = (char *)(uintptr_t)m.base;
	if (start_threads(&ic, th))
		return 1;
	pthread_barrier_wait(&ic.start);
	write_full(to_t[1], "g", 1);
	finish_threads(&ic, th);
	finish_target(&ic, from_t[0], to_t[1]);
	return res->failed;
}

/* ---- the supervisor ---- */

static sigset_t chld_set;

/* Sleep until a child changes state or the deadline; 0 if it passed. */
static int sleep_chld(double deadline)
{
	double left = deadline - now();
	struct timespec ts;

	if (left <= 0)
		return 0;
	ts.tv_sec = (time_t)left;
	ts.tv_nsec = (long)((left - ts.tv_sec) * 1e9);
	sigtimedwait(&chld_set, NULL, &ts);
	return 1;
}

/*
 * Wait for pid to exit but leave it a zombie, so its process group id
 * cannot be reused before the group is killed.
 */
static int wait_exit(pid_t pid, double deadline)
{
	siginfo_t si;

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT)) {
			if (errno == EINTR)
				continue;
			return 1;	/* ECHILD: gone already */
		}
		if (si.si_pid == pid)
			return 1;
		if (!sleep_chld(deadline))
			return 0;
	}
}

/* Reap every child, orphans included; the leader's status into *st. */
static int reap_all(pid_t leader, int *st, double deadline)
{
	pid_t r;
	int s;

	for (;;) {
		r = waitpid(-1, &s, WNOHANG);
		if (r > 0) {
			if (r == leader)
				*st = s;
			continue;
		}
		if (r < 0 && errno == ECHILD)
			return 1;
		if (r < 0)
			continue;
		if (!sleep_chld(deadline))
			return 0;
	}
}

static void print_fail(unsigned long long it, unsigned long long seed,
		       const struct plan *p, const char *what)
{
	char buf[sizeof(((struct result *)0)->what)];
	char *q;

	snprintf(buf, sizeof(buf), "%s", what);
	for (q = buf; *q; q++)
		if (*q == '\n')
			*q = ' ';
	printf("cma-race: FAIL iteration %llu seed %llu disturbance %s: %s\n",
	       it, seed, dists[p->dist].name, buf);
}

/*
 * Run iteration it in a process group of its own under the watchdog, then
 * kill and reap whatever is left of it.  Return 0 if it passed, 1 if it
 * failed, -1 if something would not die (the run cannot go on).
 */
static int run_one(unsigned long long seed, unsigned long long it,
		   unsigned long wd, struct result *res,
		   unsigned long long *calls)
{
	struct plan p;
	pid_t pid, me = getpid();
	int st = 0, hung = 0;
	char what[64];

	plan_make(&p, seed, it);
	memset(res, 0, sizeof(*res));
	pid = fork();
	if (pid < 0) {
		print_fail(it, seed, &p, "supervisor: fork failed");
		return -1;
	}
	if (!pid) {
		sigset_t empty;

		setpgid(0, 0);
		sigemptyset(&empty);
		sigprocmask(SIG_SETMASK, &empty, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != me)
			_exit(1);
		_exit(run_iteration(&p, res));
	}
	setpgid(pid, pid);
	if (!wait_exit(pid, now() + wd)) {
		hung = 1;
		kill(-pid, SIGKILL);
	}
	if (hung && !wait_exit(pid, now() + GRACE)) {
		print_fail(it, seed, &p, "hang, and SIGKILL does not end it");
		return -1;
	}
	kill(-pid, SIGKILL);	/* leftovers: a target, its children */
	if (!reap_all(pid, &st, now() + GRACE)) {
		print_fail(it, seed, &p, "a process of the iteration does not die");
		return -1;
	}
	*calls += __atomic_load_n(&res->calls, __ATOMIC_ACQUIRE);
	if (hung) {
		snprintf(what, sizeof(what), "hang: killed after %lu s, %u calls made",
			 wd, res->calls);
		print_fail(it, seed, &p, what);
		return 1;
	}
	if (__atomic_load_n(&res->failed, __ATOMIC_ACQUIRE)) {
		res->what[sizeof(res->what) - 1] = 0;
		print_fail(it, seed, &p, res->what);
		return 1;
	}
	if (WIFSIGNALED(st) || WEXITSTATUS(st)) {
		snprintf(what, sizeof(what), "caller ended with status 0x%x",
			 st);
		print_fail(it, seed, &p, what);
		return 1;
	}
	return 0;
}

/* Without the calls there is nothing to race: say so, and skip. */
static int probe(void)
{
	char src = 'x', dst = 0;
	struct iovec l = { &dst, 1 }, r = { &src, 1 };
	long ret = syscall(SYS_process_vm_readv, (long)getpid(), &l, 1UL,
			   &r, 1UL, 0UL);
	int e = ret < 0 ? errno : 0;

	if (ret == 1 && dst == 'x')
		return 0;
	printf("cma-race: probe: process_vm_readv on itself: %s\n",
	       e ? errname(e) : "wrong data");
	return e == ENOSYS ? 4 : 2;
}

static void __attribute__((noreturn)) exec_child(const char *usec)
{
	usleep(strtoul(usec, NULL, 10));
	_exit(0);
}

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr, "usage: cma_race [-s seed] [-n iterations] [-i first] [-w watchdog_seconds]\n");
	exit(2);
}

static unsigned long long number(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	unsigned long long seed = 1, n = 2000, first = 0, k;
	unsigned long long failures = 0, calls = 0;
	unsigned long wd = 60;
	struct result *res;
	int opt, r;

	if (argc == 3 && !strcmp(argv[1], EXEC_CHILD))
		exec_child(argv[2]);
	while ((opt = getopt(argc, argv, "s:n:i:w:")) != -1) {
		switch (opt) {
		case 's':
			seed = number(optarg);
			break;
		case 'n':
			n = number(optarg);
			break;
		case 'i':
			first = number(optarg);
			break;
		case 'w':
			wd = number(optarg);
			if (!wd)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	setvbuf(stdout, NULL, _IOLBF, 0);
	pg = getpagesize();
	unit = 512 * pg > THP_SIZE ? 512 * pg : THP_SIZE;
	pattern_init();
	r = probe();
	if (r)
		return r;
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED) {
		perror("cma-race: mmap");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Orphans of an iteration come to us, to be killed and reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	sigemptyset(&chld_set);
	sigaddset(&chld_set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld_set, NULL);

	for (k = 0; k < n; k++) {
		r = run_one(seed, first + k, wd, res, &calls);
		if (r)
			failures++;
		if (r < 0) {
			k++;
			break;
		}
		if ((k + 1) % 500 == 0)
			printf("cma-race: %llu iterations\n", k + 1);
	}
	printf("cma-race: %llu iterations, seed %llu, %llu failures, %llu calls\n",
	       k, seed, failures, calls);
	return failures ? 1 : 0;
}
