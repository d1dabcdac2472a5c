// SPDX-License-Identifier: GPL-2.0
/*
 * cma_failinj - fault injection against process_vm_readv/process_vm_writev.
 *
 * Usage: cma_failinj [-s seed] [-n random-calls] [-c cap]
 *        (defaults: seed 1, 1500 random calls, sweeps capped at 300)
 *
 * The calls allocate memory on behalf of the caller: the iovec arrays past
 * UIO_FASTIOV (kmalloc), the array of pinned pages (kmalloc), and every
 * page that has to be faulted in, remote ones in pin_user_pages_remote()
 * and local ones in the copy, all in the caller's context.  Each of those
 * allocations can fail, and each failure must end the call cleanly: an
 * error (ENOMEM or EFAULT) or a short count, with exactly the bytes it
 * counts transferred and nothing else written, and no splat, leak or
 * KASAN report in the kernel (the harness watches the console for those).
 *
 * A forked target holds the remote region (in pages, T = 2 MiB worth):
 *
 *   populated 128 | untouched 128 | THP populated T | THP untouched T
 *
 * and the caller a local arena of 320 pages, 16 populated and 16 untouched
 * in turn.  "Untouched" pages are anonymous memory that is never written,
 * and MADV_DONTNEED puts them back that way after every call, so that each
 * call has to fault them in again; the THP part is MADV_HUGEPAGE, so a
 * write into its untouched half needs an order-9 allocation first.
 *
 * Shapes, each as a readv and as a writev: one small iovec on each side
 * straddling a populated/untouched boundary; one large iovec of 210 pages
 * crossing populated, untouched and THP memory; the same into the THP
 * region's untouched half; 20 and 1024 iovecs on each side, in shuffled
 * order, with guard bytes between all segments.
 *
 * Phase 1, systematic (as syzkaller does it): for every shape and N = 1,
 * 2, ... write N to /proc/self/task/<tid>/fail-nth, make the call, read
 * fail-nth back.  0 means the N-th fault site of the call failed; non-zero
 * means the call has fewer than N sites, which ends the shape's sweep.
 * Phase 2, random: failslab and fail_page_alloc at a few percent with
 * task-filter=Y, make-it-fail set on this task only around each call, on
 * random shapes.
 *
 * Every call is checked: ret == -1 with ENOMEM or EFAULT, or 0 <= ret <=
 * the total; the first ret bytes of the destination iovecs hold the source
 * bytes of the same stream positions; every other destination byte (past
 * ret, and the guards between and around segments) and every source byte
 * is unchanged.  The caller checks its own arena, the target its region.
 * A call into which nothing was injected must copy everything.
 *
 * The knobs are restored on every exit path, signals included.  Without
 * the knobs or fail-nth the program prints a SKIP line and exits 4, as it
 * does on a kernel without the calls.  The last line is
 *   cma-failinj: <calls> calls, <failures> failures
 * and the exit status 0 without failures, 1 with, 2 on a setup error.
 *
 * -x runs every shape and check with no fault injection at all, PROT_NONE
 * pages on either side standing in for the failures (a way to test the
 * checks on a kernel without CONFIG_FAULT_INJECTION_DEBUG_FS).
 *
 * Build: gcc -static -O2 -Wall -Werror -o cma_failinj cma_failinj.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "full_io.h"
#include "rng.h"

#define THP_SIZE	(2UL << 20)
#define MAXV		1024	/* UIO_MAXIOV */
#define LOC_PAGES	320
#define LOC_BLOCK	16	/* local pages per populated/untouched run */
#define REM_POP		128
#define REM_UNT		128
#define FULL_EVERY	50	/* calls between checks of both areas whole */
#define MAX_FAIL_LINES	100

#define DEBUGFS		"/sys/kernel/debug/"
#define DEBUGFS_MAGIC	0x64626720

enum { CMD_EXIT, CMD_BLOCK, CMD_CHECK };
enum { W_COPIED, W_PAST, W_GUARD, W_SRC };
enum { INJ_NONE, INJ_NTH, INJ_RANDOM, INJ_BLOCK };
enum { S_SMALL, S_LARGE, S_THP, S_IOV20, S_IOV1024, NSHAPES };

static const char *const shape_name[NSHAPES] = {
	"small", "large", "thp", "iov20", "iov1024",
};

static const char *const where_name[] = {
	"in the copied part", "past the returned count",
	"outside every iovec", "on the source side, which must not change",
};

struct seg {
	size_t off;	/* from the start of the arena or region */
	size_t len;
};

/* Segments in address order; iovec k is s[perm[k]]. */
struct vset {
	uint32_t n;
	struct seg s[MAXV];
	uint32_t perm[MAXV];
};

/* The local arena or the remote region, and what it must hold. */
struct area {
	const char *name;
	char *base;
	const char *orig;	/* pristine contents, zero where untouched */
	size_t pages;
	unsigned char *unt;	/* per page: never touched */
};

struct bad {
	uint32_t bad, where;
	size_t off;
	uint32_t got, want;
};

struct req {
	uint32_t cmd;
	uint32_t write;
	size_t done;		/* bytes the call transferred */
	size_t lo, hi;		/* byte span to check */
	size_t page;		/* CMD_BLOCK: page to make PROT_NONE */
};

struct stats {
	unsigned long calls, injected, partial, errors;
};

/* One call: its shape, what was injected, what it returned. */
struct call {
	const char *phase;
	char shape[24];
	unsigned long n;	/* N of fail-nth, or call number */
	int write;
	int inj;
	long ret;
	int err;
	size_t full;		/* what a call without failures transfers */
	int consumed;		/* a fault was injected */
	long left;		/* fail-nth after the call */
	long blocked;		/* -x: local page made PROT_NONE, or -1 */
};

static size_t pg, thp_pages;
/* One sequence, reseeded for every shape and for the random phase. */
static struct rng rng;
static int is_target, noinj;
static unsigned long failures, fail_lines, total_calls, ncheck;
static pid_t tpid = -1;
static int to_t = -1, from_t = -1;

static struct area loc, rem;
static char *rem_base;		/* the target's address of rem */
static struct vset lvs, rvs;	/* local and remote segments */
static struct iovec liov[MAXV], riov[MAXV];
static size_t cov[MAXV];	/* per segment: bytes inside the count */
static uint64_t wgt[MAXV + 1];
static char outbuf[1 << 14];

/* ---- the fault injection knobs ---- */

struct knob {
	const char *path;
	const char *val;	/* what the run wants */
	int fd;
	char saved[32];
	ssize_t savedlen;
	char full[80];
};

/*
 * In the order they are set.  probability goes to 0 first, so nothing
 * is injected while the rest change, and task-filter to Y before any
 * probability is raised, so that only this task is ever hit.  The
 * defaults would spoil the run: verbose=2 dumps a stack per failure,
 * which the harness would take for a splat; ignore-gfp-wait=Y skips the
 * sleeping allocations that the calls make; fail_page_alloc skips order
 * 0 and __GFP_HIGHMEM, which is every user page.  times is finite, not
 * -1, only so that reading it back tells whether a call was hit.
 */
#define KNOB(path, val)	{ path, val, -1, "", 0, "" }

static struct knob knobs[] = {
	KNOB("failslab/probability", "0"),
	KNOB("fail_page_alloc/probability", "0"),
	KNOB("failslab/task-filter", "Y"),
	KNOB("fail_page_alloc/task-filter", "Y"),
	KNOB("failslab/verbose", "0"),
	KNOB("fail_page_alloc/verbose", "0"),
	KNOB("failslab/interval", "1"),
	KNOB("fail_page_alloc/interval", "1"),
	KNOB("failslab/space", "0"),
	KNOB("fail_page_alloc/space", "0"),
	KNOB("failslab/times", "1000000"),
	KNOB("fail_page_alloc/times", "1000000"),
	KNOB("failslab/ignore-gfp-wait", "N"),
	KNOB("fail_page_alloc/ignore-gfp-wait", "N"),
	KNOB("fail_page_alloc/ignore-gfp-highmem", "N"),
	KNOB("fail_page_alloc/min-order", "0"),
};
#define NKNOBS		(sizeof(knobs) / sizeof(knobs[0]))
#define K_PROB_SLAB	0
#define K_PROB_PAGE	1
#define K_TIMES_SLAB	10
#define K_TIMES_PAGE	11

static int nth_fd = -1, mif_fd = -1;
static int knobs_set;

/*
 * Writes go through write(), never pwrite(): the debugfs attributes are
 * opened nonseekable (simple_attr_open()), so pwrite() would fail with
 * ESPIPE, and every writer here ignores the file position anyway.
 */
static void put_str(int fd, const char *s, size_t len)
{
	if (fd >= 0 && write(fd, s, len) < 0)
		return;	/* nothing better to do on the way out */
}

/*
 * Back to how the run found things.  Only write(): this runs from signal
 * handlers too.
 */
static void restore_knobs(void)
{
	size_t i;

	put_str(mif_fd, "0", 1);
	put_str(nth_fd, "0", 1);
	if (!knobs_set)
		return;
	put_str(knobs[K_PROB_SLAB].fd, "0", 1);
	put_str(knobs[K_PROB_PAGE].fd, "0", 1);
	for (i = NKNOBS; i-- > 0; )
		put_str(knobs[i].fd, knobs[i].saved, knobs[i].savedlen);
	knobs_set = 0;
}

static void __attribute__((noreturn)) quit(int status)
{
	if (is_target)
		_exit(status);
	restore_knobs();
	fflush(stdout);
	exit(status);
}

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "cma-failinj: %s: %s\n", what, strerror(errno));
	quit(2);
}

static void __attribute__((noreturn)) skip(const char *why)
{
	printf("cma-failinj: SKIP: %s\n", why);
	quit(4);
}

static void on_signal(int sig)
{
	restore_knobs();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_signals(void)
{
	static const int sigs[] = {
		SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGABRT, SIGFPE, SIGSEGV,
		SIGBUS, SIGTERM, SIGALRM, SIGUSR1, SIGUSR2,
	};
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], on_signal);
	signal(SIGPIPE, SIG_IGN);	/* a dead target shows as EPIPE */
}

/*
 * Open a knob or proc file; a missing one means the kernel lacks it, or,
 * for the knobs, that nobody mounted debugfs.
 */
static int open_knob(const char *path)
{
	char why[192];
	struct statfs sf;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		die(path);
	if (!strncmp(path, DEBUGFS, strlen(DEBUGFS)) &&
	    (statfs(DEBUGFS, &sf) || sf.f_type != DEBUGFS_MAGIC))
		snprintf(why, sizeof(why), "%s (debugfs not mounted there?)",
			 path);
	else
		snprintf(why, sizeof(why),
			 "%s (kernel without CONFIG_FAULT_INJECTION_DEBUG_FS?)",
			 path);
	skip(why);
}

static void open_knobs(void)
{
	char path[96];
	pid_t tid = (pid_t)syscall(SYS_gettid);
	size_t i;

	for (i = 0; i < NKNOBS; i++) {
		snprintf(knobs[i].full, sizeof(knobs[i].full), DEBUGFS "%s",
			 knobs[i].path);
		knobs[i].fd = open_knob(knobs[i].full);
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", (int)tid);
	nth_fd = open_knob(path);
	snprintf(path, sizeof(path), "/proc/self/task/%d/make-it-fail",
		 (int)tid);
	mif_fd = open_knob(path);
}

static void set_knob(struct knob *k, const char *val)
{
	size_t len = strlen(val);

	if (write(k->fd, val, len) != (ssize_t)len)
		die(k->path);
}

/*
 * A debugfs attribute reads only once per open (a second read() carries
 * on from the text of the first, and pread() is refused), so every read
 * opens the file afresh.
 */
static ssize_t read_knob(const struct knob *k, char *buf, size_t size)
{
	int fd = open(k->full, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		die(k->full);
	n = read(fd, buf, size);
	if (n <= 0)
		die(k->full);
	close(fd);
	return n;
}

static long knob_num(const struct knob *k)
{
	char buf[32];
	ssize_t n = read_knob(k, buf, sizeof(buf) - 1);

	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

static void set_knobs(void)
{
	size_t i;

	for (i = 0; i < NKNOBS; i++) {
		knobs[i].savedlen = read_knob(&knobs[i], knobs[i].saved,
					      sizeof(knobs[i].saved));
	}
	knobs_set = 1;
	for (i = 0; i < NKNOBS; i++)
		set_knob(&knobs[i], knobs[i].val);
}


static void set_probability(unsigned int percent)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", percent);
	set_knob(&knobs[K_PROB_SLAB], buf);
	set_knob(&knobs[K_PROB_PAGE], buf);
}

/* ---- patterns, areas, random numbers ---- */

/* Uniform in [0, n); 0 if n == 0. */
static size_t rnd(size_t n)
{
	return rnd_mod(&rng, n);
}

static void fill_page(char *m, unsigned int id, size_t idx)
{
	uint64_t key = mix64(((uint64_t)id << 40) + idx), w;
	size_t i;

	for (i = 0; i < pg; i += sizeof(w)) {
		w = mix64(key + i);
		memcpy(m + i, &w, sizeof(w));
	}
}

static void *xmap(size_t len)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		die("mmap");
	return m;
}

/* The pristine image: a pattern per populated page, zero elsewhere. */
static void area_init(struct area *a, const char *name, size_t pages,
		      unsigned int id, int (*untouched)(size_t))
{
	char *orig = xmap(pages * pg);
	size_t i;

	a->name = name;
	a->pages = pages;
	a->unt = xmap(pages);
	for (i = 0; i < pages; i++) {
		a->unt[i] = untouched(i);
		if (!a->unt[i])
			fill_page(orig + i * pg, id, i);
	}
	a->orig = orig;
}

static int loc_untouched(size_t i)
{
	return i / LOC_BLOCK % 2;
}

static int rem_untouched(size_t i)
{
	if (i < REM_POP + REM_UNT)
		return i >= REM_POP;
	return i >= REM_POP + REM_UNT + thp_pages;
}

/* Untouched again: MADV_DONTNEED every untouched run that meets the span. */
static void reset_untouched(const struct area *a, size_t lo, size_t hi)
{
	size_t i = lo / pg, end = (hi + pg - 1) / pg, s, e;

	while (i < end) {
		if (!a->unt[i]) {
			i++;
			continue;
		}
		for (s = i; s && a->unt[s - 1]; s--)
			;
		for (e = i; e < a->pages && a->unt[e]; e++)
			;
		if (madvise(a->base + s * pg, (e - s) * pg, MADV_DONTNEED))
			die("madvise(MADV_DONTNEED)");
		i = e;
	}
}

/* Every populated page of the span back to its pattern. */
static void restore_span(const struct area *a, size_t lo, size_t hi)
{
	size_t i;

	for (i = lo / pg; i < (hi + pg - 1) / pg; i++)
		if (!a->unt[i])
			memcpy(a->base + i * pg, a->orig + i * pg, pg);
}

/* ---- iovec sets ---- */

/* Weights for lengths and gaps: mostly alike, now and then far larger. */
static uint64_t weight(void)
{
	return 1 + (rnd(8) ? rnd(64) : rnd(1024));
}

/*
 * n segments of 'total' bytes in all, in address order within pages
 * [p0, p1), every two separated by at least one guard byte.  One segment
 * is centred when 'center', so that it reliably straddles the boundary in
 * the middle of its range.
 */
static void gen_vset(struct vset *v, uint32_t n, size_t p0, size_t p1,
		     size_t total, int center, int shuffle)
{
	size_t room = (p1 - p0) * pg, pos = p0 * pg, used = 0, slack;
	uint64_t sum = 0;
	uint32_t i, j, t;

	if (!n || total < n || total + (n - 1) > room) {
		fprintf(stderr, "cma-failinj: bad shape %u %zu %zu\n", n,
			total, room);
		quit(2);
	}
	v->n = n;
	for (i = 0; i < n; i++) {
		wgt[i] = weight();
		sum += wgt[i];
	}
	for (i = 0; i < n; i++) {
		v->s[i].len = 1 + (size_t)((total - n) * wgt[i] / sum);
		used += v->s[i].len;
	}
	for (i = 0; used < total; i = (i + 1) % n, used++)
		v->s[i].len++;

	slack = room - total - (n - 1);
	if (n == 1) {
		pos += center ? slack / 2 : rnd(slack + 1);
		v->s[0].off = pos;
	} else {
		for (i = 0, sum = 0; i <= n; i++) {
			wgt[i] = weight();
			sum += wgt[i];
		}
		for (i = 0; i < n; i++) {
			pos += (size_t)((uint64_t)slack * wgt[i] / sum);
			pos += i > 0;
			v->s[i].off = pos;
			pos += v->s[i].len;
		}
	}
	for (i = 0; i < n; i++)
		v->perm[i] = i;
	for (i = n - 1; shuffle && i > 0; i--) {
		j = (uint32_t)rnd(i + 1);
		t = v->perm[i];
		v->perm[i] = v->perm[j];
		v->perm[j] = t;
	}
}

static void one_seg(struct vset *v, size_t off, size_t len)
{
	v->n = 1;
	v->s[0].off = off;
	v->s[0].len = len;
	v->perm[0] = 0;
}

static size_t vset_total(const struct vset *v)
{
	size_t t = 0;
	uint32_t i;

	for (i = 0; i < v->n; i++)
		t += v->s[i].len;
	return t;
}

/* The pages the segments touch, and one guard page either side. */
static void vset_span(const struct vset *v, const struct area *a,
		      size_t *lo, size_t *hi)
{
	size_t first = v->s[0].off / pg;
	size_t last = (v->s[v->n - 1].off + v->s[v->n - 1].len - 1) / pg;

	*lo = (first ? first - 1 : 0) * pg;
	*hi = (last + 2 < a->pages ? last + 2 : a->pages) * pg;
}

static void fill_iov(struct iovec *iov, const struct vset *v, char *base)
{
	uint32_t k;

	for (k = 0; k < v->n; k++) {
		iov[k].iov_base = base + v->s[v->perm[k]].off;
		iov[k].iov_len = v->s[v->perm[k]].len;
	}
}

/*
 * Per segment, in address order: how much of it the first 'done' bytes
 * of the stream (the iovecs in call order) cover.
 */
static void covered(const struct vset *v, size_t done)
{
	uint32_t k, j;

	for (k = 0; k < v->n; k++) {
		j = v->perm[k];
		cov[j] = v->s[j].len < done ? v->s[j].len : done;
		done -= cov[j];
	}
}

/* Walks the first bytes of two iovec streams side by side. */
struct walker {
	const struct vset *a, *b;
	uint32_t ia, ib;
	size_t oa, ob, left;
};

static int walk_next(struct walker *w, size_t *pa, size_t *pb, size_t *n)
{
	const struct seg *sa, *sb;
	size_t k;

	while (w->left && w->ia < w->a->n && w->ib < w->b->n) {
		sa = &w->a->s[w->a->perm[w->ia]];
		sb = &w->b->s[w->b->perm[w->ib]];
		if (w->oa == sa->len) {
			w->ia++;
			w->oa = 0;
			continue;
		}
		if (w->ob == sb->len) {
			w->ib++;
			w->ob = 0;
			continue;
		}
		k = sa->len - w->oa;
		if (k > sb->len - w->ob)
			k = sb->len - w->ob;
		if (k > w->left)
			k = w->left;
		*pa = sa->off + w->oa;
		*pb = sb->off + w->ob;
		*n = k;
		w->oa += k;
		w->ob += k;
		w->left -= k;
		return 1;
	}
	return 0;
}

/* ---- the checks, shared by the caller and the target ---- */

static int cmp_bytes(const struct area *a, size_t from, size_t to,
		     const char *want, uint32_t where, struct bad *b)
{
	const unsigned char *got = (const unsigned char *)a->base + from;
	const unsigned char *w = (const unsigned char *)want;
	size_t i;

	if (to <= from || !memcmp(got, w, to - from))
		return 0;
	for (i = 0; got[i] == w[i]; i++)
		;
	b->bad = 1;
	b->where = where;
	b->off = from + i;
	b->got = got[i];
	b->want = w[i];
	return 1;
}

/* [from, to) clipped to [lo, hi) must hold the pristine bytes. */
static int cmp_orig(const struct area *a, size_t from, size_t to, size_t lo,
		    size_t hi, uint32_t where, struct bad *b)
{
	if (from < lo)
		from = lo;
	if (to > hi)
		to = hi;
	return cmp_bytes(a, from, to, a->orig + from, where, b);
}

/*
 * The destination of a call that transferred 'done' bytes: the first
 * 'done' bytes of its iovecs hold the source's pristine bytes of the same
 * stream positions, every other byte of [lo, hi) its own pristine one.
 */
static int check_dest(const struct area *a, size_t lo, size_t hi,
		      const struct vset *d, const struct vset *s,
		      const char *src_orig, size_t done, struct bad *b)
{
	struct walker w = { d, s, 0, 0, 0, 0, done };
	size_t pd, ps, n, pos = lo;
	uint32_t j;

	while (walk_next(&w, &pd, &ps, &n))
		if (cmp_bytes(a, pd, pd + n, src_orig + ps, W_COPIED, b))
			return 1;
	covered(d, done);
	for (j = 0; j < d->n; j++) {
		const struct seg *g = &d->s[j];

		if (cmp_orig(a, pos, g->off, lo, hi, W_GUARD, b) ||
		    cmp_orig(a, g->off + cov[j], g->off + g->len, lo, hi,
			     W_PAST, b))
			return 1;
		pos = g->off + g->len;
	}
	return cmp_orig(a, pos, hi, lo, hi, W_GUARD, b);
}

/*
 * Pristine again for the next call.  After a good check only the copied
 * bytes differ; after a bad one the whole span may.
 */
static void restore(const struct area *a, size_t lo, size_t hi,
		    const struct vset *d, size_t done, int bad)
{
	uint32_t j;

	if (bad) {
		restore_span(a, lo, hi);
	} else if (d) {
		covered(d, done);
		for (j = 0; j < d->n; j++)
			memcpy(a->base + d->s[j].off, a->orig + d->s[j].off,
			       cov[j]);
	}
	reset_untouched(a, lo, hi);
}

/* ---- pipes and the target ---- */


static int send_vset(int fd, const struct vset *v)
{
	return write_full(fd, &v->n, sizeof(v->n)) ||
	       write_full(fd, v->s, v->n * sizeof(v->s[0])) ||
	       write_full(fd, v->perm, v->n * sizeof(v->perm[0]));
}

static int recv_vset(int fd, struct vset *v)
{
	if (read_full(fd, &v->n, sizeof(v->n)) || v->n > MAXV)
		return -1;
	return read_full(fd, v->s, v->n * sizeof(v->s[0])) ||
	       read_full(fd, v->perm, v->n * sizeof(v->perm[0]));
}

/*
 * The remote region, 2 MiB aligned where the THP part starts, so that
 * the THP part can have huge pages.
 */
static void target_map(void)
{
	size_t len = rem.pages * pg, skew = (REM_POP + REM_UNT) * pg;
	size_t thp = 2 * thp_pages * pg, i;
	uintptr_t b;
	char *m;

	m = mmap(NULL, len + THP_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		die("mmap remote");
	b = ((uintptr_t)m + skew + THP_SIZE - 1) & ~(uintptr_t)(THP_SIZE - 1);
	rem.base = (char *)(b - skew);
	if (rem.base > m)
		munmap(m, rem.base - m);
	if (m + len + THP_SIZE > rem.base + len)
		munmap(rem.base + len, m + len + THP_SIZE - (rem.base + len));
	madvise(rem.base, skew, MADV_NOHUGEPAGE);
	madvise(rem.base + skew, thp, MADV_HUGEPAGE);
	for (i = 0; i < rem.pages; i++)
		if (!rem.unt[i])
			memcpy(rem.base + i * pg, rem.orig + i * pg, pg);
}

static void __attribute__((noreturn)) target_loop(int rfd, int wfd)
{
	static struct vset l, r;
	long blocked = -1;
	struct req q;
	struct bad b;
	int fd;

	is_target = 1;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	/* Injection is for the caller only. */
	fd = open("/proc/self/make-it-fail", O_WRONLY);
	if (fd >= 0) {
		put_str(fd, "0", 1);
		close(fd);
	}
	target_map();
	if (write_full(wfd, &rem.base, sizeof(rem.base)))
		_exit(1);
	for (;;) {
		if (read_full(rfd, &q, sizeof(q)) || q.cmd == CMD_EXIT)
			_exit(0);
		memset(&b, 0, sizeof(b));
		if (q.cmd == CMD_BLOCK) {
			blocked = (long)q.page;
			if (mprotect(rem.base + q.page * pg, pg, PROT_NONE))
				die("mprotect remote");
		} else {
			if (blocked >= 0 &&
			    mprotect(rem.base + (size_t)blocked * pg, pg,
				     PROT_READ | PROT_WRITE))
				die("mprotect remote");
			blocked = -1;
			if (q.write) {
				if (recv_vset(rfd, &l) || recv_vset(rfd, &r))
					_exit(1);
				check_dest(&rem, q.lo, q.hi, &r, &l, loc.orig,
					   q.done, &b);
				restore(&rem, q.lo, q.hi, &r, q.done, b.bad);
			} else {
				cmp_orig(&rem, q.lo, q.hi, q.lo, q.hi, W_SRC,
					 &b);
				restore(&rem, q.lo, q.hi, NULL, 0, b.bad);
			}
		}
		if (write_full(wfd, &b, sizeof(b)))
			_exit(1);
	}
}

static void ask_target(const struct req *q, struct bad *b)
{
	if (write_full(to_t, q, sizeof(*q)) ||
	    (q->cmd == CMD_CHECK && q->write &&
	     (send_vset(to_t, &lvs) || send_vset(to_t, &rvs))) ||
	    read_full(from_t, b, sizeof(*b))) {
		fprintf(stderr, "cma-failinj: the target is gone\n");
		quit(2);
	}
}

static void start_target(void)
{
	int a[2], b[2];

	if (pipe(a) || pipe(b))
		die("pipe");
	fflush(stdout);
	tpid = fork();
	if (tpid < 0)
		die("fork");
	if (!tpid) {
		close(a[1]);
		close(b[0]);
		target_loop(a[0], b[1]);
	}
	close(a[0]);
	close(b[1]);
	to_t = a[1];
	from_t = b[0];
	if (read_full(from_t, &rem_base, sizeof(rem_base))) {
		fprintf(stderr, "cma-failinj: the target did not start\n");
		quit(2);
	}
}

static void stop_target(void)
{
	struct req q = { .cmd = CMD_EXIT };

	write_full(to_t, &q, sizeof(q));
	close(to_t);
	waitpid(tpid, NULL, 0);
}

/* ---- the caller ---- */

static void fail(const struct call *c, const char *fmt, ...)
{
	va_list ap;

	failures++;
	if (fail_lines++ == MAX_FAIL_LINES)
		printf("cma-failinj: further FAIL lines left out\n");
	if (fail_lines > MAX_FAIL_LINES)
		return;
	printf("cma-failinj: FAIL %s %s n=%lu: ", c->phase, c->shape, c->n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void report_bad(const struct call *c, const struct area *a,
		       const struct bad *b)
{
	size_t p = b->off / pg;

	fail(c, "returned %ld of %zu: %s byte %zu (%s page %zu) is 0x%02x, want 0x%02x, %s",
	     c->ret, c->full, a->name, b->off,
	     a->unt[p] ? "untouched" : "populated", p, b->got, b->want,
	     where_name[b->where]);
}

/*
 * Shape 'id' into lvs and rvs.  The systematic phase centres single
 * segments and uses fixed sizes; the random one varies position, size,
 * counts and, now and then, makes the two totals differ.
 */
static void make_shape(int id, int sys)
{
	size_t hu = REM_POP + REM_UNT + thp_pages;	/* THP untouched */
	size_t lt, rt, big = 210 * pg + 1001;
	uint32_t nl = 1, nr = 1;

	switch (id) {
	case S_SMALL:
		if (sys) {
			/*
			 * Untouched then populated locally, the other way
			 * round remotely, at different stream positions: so
			 * that a byte copied too many or too few at either
			 * end changes something (zero onto zero would not).
			 */
			one_seg(&lvs, 2 * LOC_BLOCK * pg - 200, 300);
			one_seg(&rvs, REM_POP * pg - 100, 300);
			return;
		}
		lt = 1 + rnd(2 * pg - 1);
		gen_vset(&lvs, 1, 2 * LOC_BLOCK - 1, 2 * LOC_BLOCK + 1, lt, 0,
			 0);
		gen_vset(&rvs, 1, REM_POP - 1, REM_POP + 1, lt, 0, 0);
		return;
	case S_LARGE:
		lt = sys ? big : pg + rnd(big - pg);
		rt = sys || rnd(4) ? lt : pg + rnd(big - pg);
		gen_vset(&lvs, 1, 2, 222, lt, sys, 0);
		gen_vset(&rvs, 1, REM_POP - 32, REM_POP + REM_UNT + 60, rt,
			 sys, 0);
		return;
	case S_THP:
		lt = sys ? 160 * pg + 3 : 1 + rnd(160 * pg);
		gen_vset(&lvs, 1, 150, LOC_PAGES, lt, sys, 0);
		gen_vset(&rvs, 1, hu - 40, hu + 130, lt, sys, 0);
		return;
	case S_IOV20:
		nl = nr = 20;
		lt = 30 * pg + 77;
		break;
	default:
		nl = nr = 1024;
		lt = 1024 * 150;
		break;
	}
	rt = lt;
	if (!sys) {
		nl = id == S_IOV20 ? 9 + rnd(24) : 1 + rnd(MAXV);
		nr = id == S_IOV20 ? 9 + rnd(24) : 1 + rnd(MAXV);
		lt = MAXV + rnd(48 * pg);
		rt = rnd(4) ? lt : MAXV + rnd(48 * pg);
	}
	gen_vset(&lvs, nl, 0, LOC_PAGES, lt, 0, 1);
	gen_vset(&rvs, nr, REM_POP - 64, REM_POP + REM_UNT + 64, rt, 0, 1);
}

/* -x: a PROT_NONE page inside one segment makes the call stop there. */
static long pick_block(const struct vset *v)
{
	const struct seg *g = &v->s[rnd(v->n)];

	return (long)((g->off + rnd(g->len)) / pg);
}

/* fail-nth is an ordinary proc file: pread() at 0 reads it again. */
static long nth_left(void)
{
	char buf[32];
	ssize_t n = pread(nth_fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		die("read fail-nth");
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

/*
 * The call itself.  Between arming and disarming the injection nothing
 * runs but the syscall: all of this program's memory is locked, so no
 * page fault of its own can take a fault site (and fail as a user-mode
 * VM_FAULT_OOM, which the kernel reports on the console).
 */
static void do_call(struct call *c)
{
	long nr = c->write ? SYS_process_vm_writev : SYS_process_vm_readv;
	long sl = 0, sp = 0, left;
	char arm[24];
	int len = 0;

	fill_iov(liov, &lvs, loc.base);
	fill_iov(riov, &rvs, rem_base);
	c->full = vset_total(&lvs);
	if (vset_total(&rvs) < c->full)
		c->full = vset_total(&rvs);
	c->consumed = 0;
	c->blocked = -1;

	if (c->inj == INJ_NTH)
		len = snprintf(arm, sizeof(arm), "%lu", c->n);
	if (c->inj == INJ_RANDOM) {
		sl = knob_num(&knobs[K_TIMES_SLAB]);
		sp = knob_num(&knobs[K_TIMES_PAGE]);
	}
	if (c->inj == INJ_BLOCK) {
		struct req q = { .cmd = CMD_BLOCK };
		struct bad b;

		if (rnd(2)) {
			c->blocked = pick_block(&lvs);
			if (mprotect(loc.base + c->blocked * pg, pg, PROT_NONE))
				die("mprotect local");
		} else {
			q.page = (size_t)pick_block(&rvs);
			ask_target(&q, &b);
		}
		c->consumed = 1;
	}

	if (c->inj == INJ_NTH && write(nth_fd, arm, len) != len)
		die("write fail-nth");
	if (c->inj == INJ_RANDOM && write(mif_fd, "1", 1) != 1)
		die("write make-it-fail");
	c->ret = syscall(nr, (long)tpid, liov, (unsigned long)lvs.n,
			 riov, (unsigned long)rvs.n, 0UL);
	c->err = c->ret < 0 ? errno : 0;
	if (c->inj == INJ_RANDOM && write(mif_fd, "0", 1) != 1)
		die("write make-it-fail");
	if (c->inj == INJ_NTH) {
		left = nth_left();
		/* Not consumed: disarm before anything else can take it. */
		if (left && write(nth_fd, "0", 1) != 1)
			die("write fail-nth");
		c->consumed = !left;
		c->left = left;
	}
	if (c->inj == INJ_RANDOM)
		c->consumed = knob_num(&knobs[K_TIMES_SLAB]) != sl ||
			      knob_num(&knobs[K_TIMES_PAGE]) != sp;
	if (c->blocked >= 0 &&
	    mprotect(loc.base + c->blocked * pg, pg, PROT_READ | PROT_WRITE))
		die("mprotect local");
}

/*
 * What any call may return.  ENOMEM: an iovec array or the page array
 * could not be allocated.  EFAULT: the first pin or the first copy failed
 * (a page that cannot be faulted in looks like a bad address).  EINTR
 * needs a fatal signal pending, and we would not live to see it; ESRCH
 * needs the target to be gone, and it waits on its pipe while its lookup
 * allocates nothing; both are bugs here, as is anything else.
 */
static size_t check_ret(struct call *c, struct stats *st)
{
	if (c->ret == -1) {
		st->errors++;
		if (c->err != ENOMEM && c->err != EFAULT)
			fail(c, "returned -1 with errno %d (%s)", c->err,
			     strerror(c->err));
		else if (!c->consumed)
			fail(c, "failed with %s though nothing was injected",
			     strerror(c->err));
		return 0;
	}
	if (c->ret < 0 || (size_t)c->ret > c->full) {
		fail(c, "returned %ld of %zu", c->ret, c->full);
		return c->ret < 0 ? 0 : c->full;
	}
	if ((size_t)c->ret < c->full) {
		st->partial++;
		if (!c->consumed)
			fail(c, "returned %ld of %zu though nothing was injected",
			     c->ret, c->full);
	}
	return (size_t)c->ret;
}

/* Both sides: the caller's arena here, the target's region there. */
static void check_data(struct call *c, size_t done)
{
	struct req q = {
		.cmd = CMD_CHECK, .write = (uint32_t)c->write, .done = done,
	};
	size_t llo = 0, lhi = loc.pages * pg;
	struct bad b = { 0 };

	q.lo = 0;
	q.hi = rem.pages * pg;
	if (++ncheck % FULL_EVERY) {
		vset_span(&lvs, &loc, &llo, &lhi);
		vset_span(&rvs, &rem, &q.lo, &q.hi);
	}
	if (c->write)
		cmp_orig(&loc, llo, lhi, llo, lhi, W_SRC, &b);
	else
		check_dest(&loc, llo, lhi, &lvs, &rvs, rem.orig, done, &b);
	if (b.bad)
		report_bad(c, &loc, &b);
	restore(&loc, llo, lhi, c->write ? NULL : &lvs, done, b.bad);

	ask_target(&q, &b);
	if (b.bad)
		report_bad(c, &rem, &b);
}

static void one_call(struct call *c, struct stats *st)
{
	do_call(c);
	st->calls++;
	total_calls++;
	st->injected += c->consumed;
	check_data(c, check_ret(c, st));
}

static void name_call(struct call *c, const char *phase, int write, int id)
{
	c->phase = phase;
	c->write = write;
	snprintf(c->shape, sizeof(c->shape), "%s-%s",
		 write ? "writev" : "readv", shape_name[id]);
}

/*
 * One shape, one direction: a warm-up call without injection, which
 * also leaves every page table the call needs in place, so that each
 * later call meets the same fault sites; then fail each site in turn.
 */
static void sweep(int id, int write, unsigned long cap, struct stats *st)
{
	struct call c = { 0 };
	unsigned long n;

	name_call(&c, "systematic", write, id);
	for (n = 0; n <= cap; n++) {
		rng.s = mix64(0x6661696c696e6aULL + id);
		make_shape(id, 1);
		c.n = n;
		c.inj = !n ? INJ_NONE : noinj ? INJ_BLOCK : INJ_NTH;
		one_call(&c, st);
		if (n && !noinj && !c.consumed) {
			printf("cma-failinj: systematic %s: %lu fault sites\n",
			       c.shape, n - (unsigned long)c.left);
			return;
		}
		if (noinj && n == 3)
			return;
	}
	printf("cma-failinj: systematic %s: more than %lu fault sites, capped\n",
	       c.shape, cap);
}

static void random_phase(unsigned long ncalls, uint64_t seed,
			 struct stats *st)
{
	static const unsigned int percent[] = { 2, 10, 30 };
	struct call c = { 0 };
	unsigned long i;
	int id, write;

	rng.s = mix64(seed ^ 0x636d612d66696eULL);
	for (i = 0; i < ncalls; i++) {
		id = (int)rnd(NSHAPES);
		write = (int)rnd(2);
		name_call(&c, "random", write, id);
		make_shape(id, 0);
		c.n = i;
		if (noinj) {
			c.inj = i % 2 ? INJ_BLOCK : INJ_NONE;
		} else {
			c.inj = INJ_RANDOM;
			set_probability(percent[rnd(3)]);
		}
		one_call(&c, st);
	}
	if (!noinj)
		set_probability(0);
}

/* The calls work at all, or the kernel does not have them. */
static void probe(void)
{
	static char buf[16];
	struct iovec l = { buf, sizeof(buf) };
	struct iovec r = { rem_base, sizeof(buf) };
	long ret = syscall(SYS_process_vm_readv, (long)tpid, &l, 1UL, &r, 1UL,
			   0UL);

	if (ret < 0 && errno == ENOSYS)
		skip("process_vm_readv: ENOSYS (kernel without the calls)");
	if (ret != (long)sizeof(buf) || memcmp(buf, rem.orig, sizeof(buf))) {
		fprintf(stderr, "cma-failinj: probe read returned %ld (%s)\n",
			ret, ret < 0 ? strerror(errno) : "short or wrong");
		quit(2);
	}
}

/* The local arena, mapped after mlockall(): populated runs locked. */
static void map_local(void)
{
	size_t i;

	loc.base = xmap(loc.pages * pg);
	madvise(loc.base, loc.pages * pg, MADV_NOHUGEPAGE);
	for (i = 0; i < loc.pages; i += LOC_BLOCK) {
		if (loc.unt[i]) {
			munlock(loc.base + i * pg, LOC_BLOCK * pg);
			continue;
		}
		memcpy(loc.base + i * pg, loc.orig + i * pg, LOC_BLOCK * pg);
	}
	reset_untouched(&loc, 0, loc.pages * pg);
}

/* Fault the stack in now, so that it is locked along with the rest. */
static void __attribute__((noinline)) touch_stack(void)
{
	volatile char buf[64 << 10];
	size_t i;

	for (i = 0; i < sizeof(buf); i += 256)
		buf[i] = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: cma_failinj [-s seed] [-n random-calls] [-c cap]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long ncalls = 1500, cap = 300;
	unsigned long long seed = 1;
	struct stats sys = { 0 }, ran = { 0 };
	int opt, id, write;
	char *end;

	while ((opt = getopt(argc, argv, "xs:n:c:")) != -1) {
		switch (opt) {
		case 'x':
			noinj = 1;
			break;
		case 's':
			seed = strtoull(optarg, &end, 0);
			if (*end || !*optarg)
				usage();
			break;
		case 'n':
			ncalls = strtoul(optarg, &end, 0);
			if (*end || !*optarg)
				usage();
			break;
		case 'c':
			cap = strtoul(optarg, &end, 0);
			if (*end || !*optarg || !cap)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	setvbuf(stdout, outbuf, _IOLBF, sizeof(outbuf));
	pg = (size_t)sysconf(_SC_PAGESIZE);
	thp_pages = THP_SIZE / pg;
	if (!noinj)
		open_knobs();

	area_init(&loc, "local", LOC_PAGES, 1, loc_untouched);
	area_init(&rem, "remote", REM_POP + REM_UNT + 2 * thp_pages, 2,
		  rem_untouched);
	start_target();
	catch_signals();

	/*
	 * Lock everything the caller has and will map, except the untouched
	 * runs of the local arena, which must fault during the calls.
	 */
	touch_stack();
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		fprintf(stderr, "cma-failinj: mlockall: %s, going on\n",
			strerror(errno));
	map_local();
	probe();

	if (noinj)
		printf("cma-failinj: -x: no fault injection, PROT_NONE pages stand in for it\n");
	else
		set_knobs();

	for (id = 0; id < NSHAPES; id++)
		for (write = 0; write < 2; write++)
			sweep(id, write, cap, &sys);
	printf("cma-failinj: systematic: %lu calls, %lu injected, %lu partial, %lu errors\n",
	       sys.calls, sys.injected, sys.partial, sys.errors);

	random_phase(ncalls, seed, &ran);
	printf("cma-failinj: random: %lu calls, %lu injected, %lu partial, %lu errors\n",
	       ran.calls, ran.injected, ran.partial, ran.errors);

	restore_knobs();
	stop_target();
	printf("cma-failinj: %lu calls, %lu failures\n", total_calls, failures);
	fflush(stdout);
	return failures ? 1 : 0;
}
