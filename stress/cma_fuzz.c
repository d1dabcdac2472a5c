// SPDX-License-Identifier: GPL-2.0
/*
 * cma_fuzz - seeded, deterministic differential fuzzer for
 * process_vm_readv/process_vm_writev.
 *
 * Usage: cma_fuzz [-s seed] [-n cases]     (defaults: seed 1, 10000 cases)
 *
 * The same static binary runs on the patched and on the reference kernel;
 * the two outputs must be byte-identical.  Nothing printed depends on an
 * address, on ASLR or on whether THP was granted.
 *
 * A forked target holds the "remote" region, the caller the "local" one.
 * Both have the same layout (in pages, T = 2 MiB worth of pages):
 *
 *   rw 8 | hole 1 | rw 3 | none 1 | rw 4 | ro 2 | rw 2 | hole 2 |
 *   file rw 2 | file ro 1 | file rw 2 (last one holds EOF) | file past EOF 1 |
 *   none 1 | zero 4 | rw 3 | THP T (2 MiB aligned, MADV_HUGEPAGE) |
 *   rw 3 | ro 1 | rw 2 | none 1 | rw 2 | zero 2 | swap 3 | ksm 3 | node1 2 |
 *   hole 1
 *
 * "zero" pages are anonymous rw memory that is never written; "swap" pages
 * are paged out (MADV_PAGEOUT) after every restore and full rehash; "ksm"
 * pages all hold the same content and are MADV_MERGEABLE with ksmd running;
 * "node1" pages are bound to NUMA node 1.  Whether the kernel managed to
 * swap, merge or bind them changes no result, only the paths a call takes.
 * File pages
 * are a MAP_PRIVATE mapping of a fresh /tmp file of exactly 4 pages plus a
 * third of a page.  Every other page holds a pattern derived from (region,
 * page index, word index).  The region sits inside a PROT_NONE reservation
 * at a fixed address (1 TiB on 64-bit, 0x50000000 on 32-bit), so neither a
 * result nor a walk past the region's end depends on ASLR.
 *
 * Each case makes one raw process_vm_readv or process_vm_writev call with
 * random iovec arrays (counts 0..1030 biased small, bases at random offsets
 * and segment boundaries, lengths from 0 to 2^62) and, now and then, a bad
 * array pointer, a bad element, a count above 1024 or with bit 32 set, a
 * flags value with an unknown bit or an odd pid.  Local lengths are kept
 * either small or beyond any user address space, so access_ok() never
 * depends on where the region landed.
 *
 * Output, one line per case:
 *   <case> <readv|writev> <liovcnt> <riovcnt> <ret> <errno name|0> <L> <R>
 * L and R are checksums of the local and the remote region: a sum of mixed
 * per-page hashes.  After a call the pages it wrote (the first <ret> bytes
 * of the local iovecs of a readv or the remote iovecs of a writev) are
 * rehashed; the target does its own on request over a pipe.  Every 50th
 * case and the last one rehash every page instead (PROT_NONE pages through
 * a temporary mprotect, holes through mincore), which catches stray writes
 * anywhere; L then also covers the caller's copy-on-write twin of the
 * remote region (the region is set up before fork()).  Pages that differ
 * from the pattern are restored afterwards, so every case starts from the
 * same memory.
 * The last line is
 *   cma-fuzz: <N> cases, seed <S>, digest <D>
 * where D is a 64-bit FNV-1a over all case lines.
 *
 * Build: gcc -static -O2 -Wall -Wextra -o cma_fuzz cma_fuzz.c
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <linux/process_vm_access.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "full_io.h"
#include "rng.h"

#define THP_SIZE	(2UL << 20)
#define MAX_GEN		1030	/* most iovecs ever generated for one array */
#define VERIFY_EVERY	50
#define FILE_FULL	4	/* whole pages in the backing file */
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif
#define MPOL_BIND	2

#define CMD_EXIT	0
#define CMD_UPDATE	1
#define CMD_VERIFY	2

#define HOLE_HASH	0x686f6c65686f6c65ULL
#define HOLE_BAD	0x6d61707065646d61ULL
#define FEOF_HASH	0x656f66656f66656fULL

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER	0x59616d61
#endif
#ifndef PR_SET_PTRACER_ANY
#define PR_SET_PTRACER_ANY ((unsigned long)-1)
#endif

enum kind { K_HOLE, K_NONE, K_RO, K_RW, K_ZERO, K_THP, K_FRW, K_FRO, K_FEOF,
	    K_SWAP, K_KSM, K_NODE1 };

struct seg {
	unsigned char kind;
	unsigned char npages;	/* 0: the 2 MiB THP part */
};

static const struct seg layout[] = {
	{ K_RW, 8 }, { K_HOLE, 1 }, { K_RW, 3 }, { K_NONE, 1 }, { K_RW, 4 },
	{ K_RO, 2 }, { K_RW, 2 }, { K_HOLE, 2 },
	{ K_FRW, 2 }, { K_FRO, 1 }, { K_FRW, 2 }, { K_FEOF, 1 },
	{ K_NONE, 1 }, { K_ZERO, 4 }, { K_RW, 3 },
	{ K_THP, 0 },
	{ K_RW, 3 }, { K_RO, 1 }, { K_RW, 2 }, { K_NONE, 1 }, { K_RW, 2 },
	{ K_ZERO, 2 }, { K_SWAP, 3 }, { K_KSM, 3 }, { K_NODE1, 2 }, { K_HOLE, 1 },
};
#define NSEG	(sizeof(layout) / sizeof(layout[0]))

struct region {
	char *base;
	size_t npages;
	unsigned int id;	/* pattern id */
	int fd;			/* backing file of the file pages */
	unsigned char *kind;
	size_t *fpage;		/* file page index of file pages */
	uint64_t *h;		/* current page hashes */
	uint64_t *p;		/* pristine page hashes */
	uint64_t sum;		/* sum of pmix(i, h[i]) */
	uint64_t psum;		/* the same over p[] */
	unsigned char *dirty;	/* pages to rehash at the next update */
	size_t dbytes;
	size_t bound[NSEG + 1];	/* first page of every segment, last page */
	size_t nbound;
	size_t hole;		/* a hole page */
	size_t none;		/* a PROT_NONE page */
};

static size_t pg;
/* The run's one sequence, seeded in main(). */
static struct rng rng;
static int lp64;	/* 64-bit longs and pointers (not i386, x32, ppc32) */
/*
 * -F pidfd: every call naming the target by pid names it by a pidfd
 * instead; -F nowait: every call adds PROCESS_VM_NOWAIT, and nothing is
 * paged out, so that every page needs no waiting.  Either run's output
 * must equal the plain run's on the same kernel.
 */
static int via_pidfd, nowait, pidfd = -1;

static char outbuf[1 << 16];

static void die(const char *what)
{
	fprintf(stderr, "cma-fuzz: %s: %s\n", what, strerror(errno));
	exit(2);
}

/*
 * Uniform in [0, n); 0 if n == 0.  Scaled, not rnd_mod(): every digest
 * recorded so far was made with these numbers.
 */
static size_t rnd(size_t n)
{
	return rnd_scaled(&rng, n);
}

static uint64_t hash_mem(const void *m)
{
	const uint64_t *w = m;
	uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
	size_t i, n = pg / sizeof(uint64_t);

	for (i = 0; i < n; i += 2) {
		a ^= w[i];
		b ^= w[i + 1];
		a = ((a << 23) | (a >> 41)) * 0x100000001b3ULL;
		b = ((b << 29) | (b >> 35)) * 0x9e3779b97f4a7c15ULL;
	}
	return mix64(a ^ mix64(b));
}

static void fill_page(void *m, unsigned int id, size_t idx)
{
	uint64_t *w = m;
	uint64_t key = mix64(((uint64_t)id << 40) + idx);
	size_t i, n = pg / sizeof(uint64_t);

	for (i = 0; i < n; i++)
		w[i] = mix64(key + i);
}

static uint64_t pmix(size_t i, uint64_t h)
{
	return mix64(h + (uint64_t)i * 0x9e3779b97f4a7c15ULL);
}

static size_t seg_pages(size_t s)
{
	size_t t = THP_SIZE / pg;

	if (layout[s].npages)
		return layout[s].npages;
	return t ? t : 1;
}

/*
 * Every mapping goes at a fixed address (MAP_FIXED_NOREPLACE), so no result
 * depends on ASLR: e.g. a local length of 2^62 fails access_ok() on 6.1,
 * but newer kernels cap it to MAX_RW_COUNT first, and then whether the
 * check passes would depend on the distance to TASK_SIZE.
 */
static void *map_slot(size_t len)
{
	static uintptr_t next;
	void *want, *m;

	if (!next)
		next = (uintptr_t)(lp64 ? 0x10000000000ULL : 0x50000000ULL);
	want = (void *)next;
	next += (len + THP_SIZE - 1) / THP_SIZE * THP_SIZE + THP_SIZE;
	m = mmap(want, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		 MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (m == want)
		return m;
	if (m != MAP_FAILED)
		munmap(m, len);
	fprintf(stderr, "cma-fuzz: note: no fixed placement, output may depend on ASLR\n");
	m = mmap(NULL, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		die("mmap");
	return m;
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n, sz);

	if (!p)
		die("calloc");
	return p;
}

/* full: also PROT_NONE pages (temporary mprotect) and holes (mincore). */
static uint64_t page_hash(struct region *r, size_t i, int full)
{
	char *a = r->base + i * pg;
	unsigned char v;
	uint64_t h;

	switch (r->kind[i]) {
	case K_HOLE:
		if (!full)
			return r->h[i];
		if (mincore(a, pg, &v) == -1 && errno == ENOMEM)
			return HOLE_HASH;
		return HOLE_BAD;
	case K_FEOF:
		return FEOF_HASH;
	case K_NONE:
		if (!full)
			return r->h[i];
		if (mprotect(a, pg, PROT_READ))
			die("mprotect");
		h = hash_mem(a);
		if (mprotect(a, pg, PROT_NONE))
			die("mprotect");
		return h;
	default:
		return hash_mem(a);
	}
}

static void set_h(struct region *r, size_t i, uint64_t v)
{
	r->sum += pmix(i, v) - pmix(i, r->h[i]);
	r->h[i] = v;
}

static void page_restore(struct region *r, size_t i)
{
	char *a = r->base + i * pg;
	int k = r->kind[i];

	switch (k) {
	case K_HOLE:
		munmap(a, pg);
		break;
	case K_FEOF:
		break;
	case K_ZERO:
		if (madvise(a, pg, MADV_DONTNEED))
			die("madvise");
		break;
	case K_FRW:
	case K_FRO:
		if (mmap(a, pg, k == K_FRO ? PROT_READ : PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_FIXED, r->fd,
			 (off_t)r->fpage[i] * (off_t)pg) == MAP_FAILED)
			die("mmap file page");
		break;
	case K_RO:
	case K_NONE:
		if (mprotect(a, pg, PROT_READ | PROT_WRITE))
			die("mprotect");
		fill_page(a, r->id, i);
		if (mprotect(a, pg, k == K_RO ? PROT_READ : PROT_NONE))
			die("mprotect");
		break;
	case K_KSM:
		fill_page(a, r->id, r->fpage[i]);
		break;
	case K_SWAP:
		fill_page(a, r->id, i);
		if (!nowait)	/* no swap: stays, same data */
			madvise(a, pg, MADV_PAGEOUT);
		break;
	default:
		fill_page(a, r->id, i);
		break;
	}
	set_h(r, i, r->p[i]);
}

/* Rehash the dirty pages; return the checksum; restore changed pages. */
static uint64_t region_update(struct region *r)
{
	size_t b, i, k;
	uint64_t s;

	for (b = 0; b < r->dbytes; b++) {
		if (!r->dirty[b])
			continue;
		for (k = 0; k < 8; k++) {
			i = b * 8 + k;
			if (i < r->npages && (r->dirty[b] >> k & 1))
				set_h(r, i, page_hash(r, i, 0));
		}
	}
	s = r->sum;
	for (b = 0; b < r->dbytes; b++) {
		if (!r->dirty[b])
			continue;
		for (k = 0; k < 8; k++) {
			i = b * 8 + k;
			if (i < r->npages && r->h[i] != r->p[i])
				page_restore(r, i);
		}
		r->dirty[b] = 0;
	}
	return s;
}

/* Page the swap pages out again (a full rehash read them in). */
static void region_pageout(struct region *r)
{
	size_t i;

	if (nowait)
		return;
	for (i = 0; i < r->npages; i++)
		if (r->kind[i] == K_SWAP)
			madvise(r->base + i * pg, pg, MADV_PAGEOUT);
}

/* Rehash every page; return the checksum; restore changed pages. */
static uint64_t region_full(struct region *r)
{
	size_t i;
	uint64_t s;

	for (i = 0; i < r->npages; i++)
		set_h(r, i, page_hash(r, i, 1));
	s = r->sum;
	for (i = 0; i < r->npages; i++)
		if (r->h[i] != r->p[i])
			page_restore(r, i);
	memset(r->dirty, 0, r->dbytes);
	region_pageout(r);
	return s;
}

/* Bind to NUMA node 1 where there is one; elsewhere the pages stay local. */
static void bind_node1(void *a, size_t len)
{
	unsigned long mask = 2;

	syscall(SYS_mbind, a, len, MPOL_BIND, &mask, sizeof(mask) * 8, 0);
}

static void region_init(struct region *r, unsigned int id, int fd)
{
	size_t s, j, n = 0, thp_off = 0, fp = 0, resv_len;
	uintptr_t b;
	char *resv, *a;

	for (s = 0; s < NSEG; s++) {
		if (layout[s].kind == K_THP)
			thp_off = n;
		n += seg_pages(s);
	}
	memset(r, 0, sizeof(*r));
	r->npages = n;
	r->id = id;
	r->fd = fd;
	r->kind = xcalloc(n, 1);
	r->fpage = xcalloc(n, sizeof(*r->fpage));
	r->h = xcalloc(n, sizeof(*r->h));
	r->p = xcalloc(n, sizeof(*r->p));
	r->dbytes = (n + 7) / 8;
	r->dirty = xcalloc(r->dbytes, 1);

	resv_len = n * pg + THP_SIZE + 2 * pg;
	resv = map_slot(resv_len);
	b = (uintptr_t)resv + pg + thp_off * pg;
	b = (b + THP_SIZE - 1) & ~(uintptr_t)(THP_SIZE - 1);
	r->base = (char *)(b - thp_off * pg);

	for (s = 0, n = 0; s < NSEG; s++) {
		size_t np = seg_pages(s);
		int k = layout[s].kind;

		a = r->base + n * pg;
		r->bound[r->nbound++] = n;
		for (j = 0; j < np; j++) {
			r->kind[n + j] = k;
			/* ksm pages all take the pattern of their first page */
			r->fpage[n + j] = k == K_KSM ? n : fp + j;
		}
		switch (k) {
		case K_HOLE:
			if (munmap(a, np * pg))
				die("munmap");
			if (!r->hole)
				r->hole = n;
			break;
		case K_FRW:
		case K_FRO:
		case K_FEOF:
			if (mmap(a, np * pg, k == K_FRO ? PROT_READ :
				 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
				 fd, (off_t)fp * (off_t)pg) == MAP_FAILED)
				die("mmap file");
			fp += np;
			break;
		default:
			if (mmap(a, np * pg, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				 -1, 0) == MAP_FAILED)
				die("mmap anon");
			if (k == K_THP)
				madvise(a, np * pg, MADV_HUGEPAGE);
			if (k == K_NODE1)
				bind_node1(a, np * pg);
			if (k != K_ZERO)
				for (j = 0; j < np; j++)
					fill_page(a + j * pg, id,
						  k == K_KSM ? n : n + j);
			if (k == K_KSM)
				madvise(a, np * pg, MADV_MERGEABLE);
			if (k == K_RO && mprotect(a, np * pg, PROT_READ))
				die("mprotect");
			if (k == K_NONE) {
				if (mprotect(a, np * pg, PROT_NONE))
					die("mprotect");
				if (!r->none)
					r->none = n;
			}
			break;
		}
		n += np;
	}
	r->bound[r->nbound++] = n - 1;

	for (j = 0; j < n; j++) {
		r->p[j] = r->h[j] = page_hash(r, j, 1);
		r->sum += pmix(j, r->h[j]);
	}
	r->psum = r->sum;
	region_pageout(r);
}

/* ksmd merges the ksm pages in the background, where there is a ksmd. */
static void ksm_start(void)
{
	int fd = open("/sys/kernel/mm/ksm/run", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			fprintf(stderr, "cma-fuzz: note: ksmd not started\n");
		close(fd);
	}
}

static int make_file(void)
{
	char path[] = "/tmp/cma_fuzz.XXXXXX";
	char *buf;
	size_t f;
	int fd;

	fd = mkstemp(path);
	if (fd < 0)
		die("mkstemp /tmp");
	unlink(path);
	buf = xcalloc(1, pg);
	for (f = 0; f <= FILE_FULL; f++) {
		size_t len = f < FILE_FULL ? pg : pg / 3;

		fill_page(buf, 3, f);
		if (pwrite(fd, buf, len, (off_t)f * (off_t)pg) != (ssize_t)len)
			die("pwrite");
	}
	/* Exactly FILE_FULL pages and a third: the size is the whole story. */
	if (ftruncate(fd, (off_t)FILE_FULL * (off_t)pg + (off_t)(pg / 3)))
		die("ftruncate");
	free(buf);
	return fd;
}


static void __attribute__((noreturn)) target_loop(struct region *r, int rfd,
						  int wfd)
{
	unsigned char *msg = xcalloc(4 + r->dbytes, 1);
	uint32_t cmd;
	uint64_t s;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	if (getppid() == 1)
		_exit(1);
	s = r->sum;
	if (write_full(wfd, &s, sizeof(s)))
		_exit(1);
	for (;;) {
		if (read_full(rfd, msg, 4 + r->dbytes))
			_exit(0);
		memcpy(&cmd, msg, 4);
		if (cmd == CMD_EXIT)
			_exit(0);
		memcpy(r->dirty, msg + 4, r->dbytes);
		s = cmd == CMD_VERIFY ? region_full(r) : region_update(r);
		if (write_full(wfd, &s, sizeof(s)))
			_exit(1);
	}
}

/*
 * Mark the pages of r that a call which copied 'done' bytes wrote through
 * the iovecs: the first 'done' bytes of the array, in order.  Writes beyond
 * that are a bug the next full pass catches.
 */
static void mark(struct region *r, unsigned char *bm, const struct iovec *v,
		 size_t n, size_t done)
{
	uintptr_t lo = (uintptr_t)r->base, hi = lo + r->npages * pg;
	uintptr_t a, end;
	size_t i, p, last, len;

	for (i = 0; i < n && done; i++) {
		a = (uintptr_t)v[i].iov_base;
		len = v[i].iov_len < done ? v[i].iov_len : done;
		done -= len;
		if (!len || a < lo || a >= hi)
			continue;
		end = len > hi - a ? hi : a + len;
		last = (end - 1 - lo) / pg;
		for (p = (a - lo) / pg; p <= last; p++)
			bm[p / 8] |= 1 << (p % 8);
	}
}

static uintptr_t pick_addr(const struct region *r)
{
	size_t p, off;

	if (rnd(2)) {
		p = rnd(r->npages);
	} else {
		p = r->bound[rnd(r->nbound)];
		if (p && rnd(2))
			p--;
	}
	switch (rnd(6)) {
	case 0:
		off = 0;
		break;
	case 1:
		off = 1;
		break;
	case 2:
		off = pg - 1;
		break;
	case 3:
		off = pg - 1 - rnd(16);
		break;
	case 4:
		off = rnd(pg);
		break;
	default:
		off = rnd(pg / 8) * 8;
		break;
	}
	return (uintptr_t)r->base + p * pg + off;
}

/*
 * Local lengths on 64-bit are either a few MiB at most or beyond every user
 * address space; 32-bit ones can be anything (compat sums never reach
 * TASK_SIZE_MAX).  Remote lengths are never range-checked, only walked, and
 * every walk stops at the region's end.
 */
static size_t special_len(int local, int neg)
{
	const size_t top = (size_t)1 << (sizeof(size_t) * 8 - 1);
	size_t n = local && lp64 ? 3 : 6;

	if (neg && rnd(3) == 0)
		return rnd(2) ? top + rnd(pg) : (size_t)-1;
	switch (rnd(n)) {
	case 0:
		return top >> 1;		/* 2^62 */
	case 1:
		return top - 1;			/* SSIZE_MAX */
	case 2:
		return (top >> 1) + 1 + rnd(pg);
	case 3:
		return (size_t)0x7ffff000UL;	/* MAX_RW_COUNT */
	case 4:
		return (size_t)0x80000000UL;	/* negative in compat */
	default:
		return lp64 ? (size_t)(((uint64_t)1 << 32) | 1) : 1;
	}
}

static size_t pick_len(const struct region *r, int big, int *nlarge,
		       int local)
{
	size_t regbytes = r->npages * pg;
	size_t x = rnd(1000);

	if (big) {
		if (x < 60)
			return 0;
		if (x < 700)
			return 1 + rnd(64);
		if (x < 950)
			return 1 + rnd(pg + 8);
		if (x < 995 || *nlarge >= 2)
			return pg + rnd(3 * pg);
		(*nlarge)++;
		return 1 + rnd(regbytes);
	}
	if (x < 80)
		return 0;
	if (x < 330)
		return 1 + rnd(64);
	if (x < 530)
		return 1 + rnd(pg);
	if (x < 650)
		return pg - 8 + rnd(17);
	if (x < 760)
		return (2 + rnd(19)) * pg - 8 + rnd(17);
	if (x < 790)
		return 17 * pg;
	if (*nlarge >= 3)
		return 1 + rnd(pg);
	(*nlarge)++;
	if (x < 900)
		return 1 + rnd(regbytes);
	if (x < 960)
		return regbytes + rnd(regbytes);
	return special_len(local, 0);
}

static size_t pick_count(void)
{
	size_t x = rnd(1000);

	if (x < 50)
		return 0;
	if (x < 500)
		return 1 + rnd(4);
	if (x < 750)
		return 5 + rnd(12);
	if (x < 900)
		return 17 + rnd(48);
	if (x < 975)
		return 65 + rnd(960);
	if (x < 985)
		return 1020 + rnd(5);
	return 1025 + rnd(MAX_GEN - 1024);
}

static void gen_vec(struct iovec *v, size_t n, const struct region *r,
		    int local)
{
	int nlarge = 0, big = n > 16;
	size_t i;

	for (i = 0; i < n; i++) {
		v[i].iov_base = (void *)pick_addr(r);
		v[i].iov_len = pick_len(r, big, &nlarge, local);
	}
}

/*
 * Addresses that are never mapped whatever ASLR did: the region's own holes
 * and PROT_NONE pages, NULL, and the last page of the address space (kernel
 * space for 64-bit; above TASK_SIZE for ia32, x32 and ppc32 compat tasks,
 * whose stack and vDSO can otherwise sit anywhere near the top).
 */
static uintptr_t bad_addr(const struct region *r)
{
	switch (rnd(5)) {
	case 0:
		return 0;
	case 1:
		return (uintptr_t)-1;
	case 2:
		return (uintptr_t)0 - pg;
	case 3:
		return (uintptr_t)r->base + r->hole * pg + rnd(pg);
	default:
		return (uintptr_t)r->base + r->none * pg + rnd(pg);
	}
}

/* Spoil one element: a bad base, a special length, or both. */
static void spoil(struct iovec *v, size_t n, const struct region *r,
		  int local)
{
	size_t k;

	if (!n)
		return;
	k = rnd(n);
	switch (rnd(4)) {
	case 0:
		v[k].iov_base = (void *)bad_addr(r);
		break;
	case 1:
		v[k].iov_len = special_len(local, 1);
		break;
	case 2:
		v[k].iov_base = (void *)bad_addr(r);
		v[k].iov_len = special_len(local, 1);
		break;
	default:
		v[k].iov_base = (void *)bad_addr(r);
		v[k].iov_len = 0;
		break;
	}
}

static char *arena_new(size_t bytes)
{
	char *m = map_slot(bytes + pg);

	if (mprotect(m, bytes, PROT_READ | PROT_WRITE))
		die("mprotect arena");
	return m;
}

/* Put the array somewhere in the arena, or hand back a bad pointer. */
static struct iovec *place(char *arena, size_t abytes, const struct iovec *st,
			   size_t n, int bad, const struct region *r)
{
	const size_t isz = sizeof(struct iovec);
	size_t sz = n * isz, k, extra;
	char *at;

	if (bad) {
		switch (rnd(5)) {
		case 0:
			return NULL;
		case 1:
			return (struct iovec *)(r->base + r->hole * pg);
		case 2:
			return (struct iovec *)(r->base + r->none * pg);
		case 3:
			return (struct iovec *)((uintptr_t)0 - pg);
		default:
			if (!n)
				return NULL;
			/* Straddle the end of the arena: k elements fit. */
			k = rnd(n);
			extra = rnd(2) ? isz / 2 : 0;
			at = arena + abytes - k * isz - extra;
			memcpy(at, st, k * isz + extra);
			return (struct iovec *)at;
		}
	}
	at = arena + rnd((abytes - sz) / 8 + 1) * 8;
	memcpy(at, st, sz);
	return (struct iovec *)at;
}

static const char *errname(int e)
{
	static char buf[16];

	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case E2BIG: return "E2BIG";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case EOVERFLOW: return "EOVERFLOW";
	}
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
	while (n--) {
		h ^= (unsigned char)*s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t ask(int wfd, int rfd, uint32_t cmd, unsigned char *msg,
		    const unsigned char *bm, size_t dbytes)
{
	uint64_t s;

	memcpy(msg, &cmd, 4);
	memcpy(msg + 4, bm, dbytes);
	if (write_full(wfd, msg, 4 + dbytes) || read_full(rfd, &s, sizeof(s))) {
		fprintf(stderr, "cma-fuzz: target is gone\n");
		exit(2);
	}
	return s;
}

static void usage(void)
{
	fprintf(stderr, "usage: cma_fuzz [-s seed] [-n cases] [-F pidfd|nowait]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct iovec lst[MAX_GEN], rst[MAX_GEN];
	unsigned long long seed = 1, ncases = 10000, c;
	struct region loc, rem;	/* rem: the caller's twin of the target's */
	int to_t[2], from_t[2], opt, fd;
	size_t abytes, x;
	char *larena, *rarena;
	unsigned char *rdirty, *msg, probe[8];
	uint64_t digest = 0xcbf29ce484222325ULL, lsum, rsum;
	pid_t tpid;
	char line[160];
	char *end;

	while ((opt = getopt(argc, argv, "s:n:F:")) != -1) {
		switch (opt) {
		case 'F':
			if (!strcmp(optarg, "pidfd")) {
				via_pidfd = 1;
			} else if (!strcmp(optarg, "nowait")) {
				nowait = 1;
			} else {
				usage();
			}
			break;
		case 's':
			seed = strtoull(optarg, &end, 0);
			if (*end || !*optarg)
				usage();
			break;
		case 'n':
			ncases = strtoull(optarg, &end, 0);
			if (*end || !*optarg)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	signal(SIGPIPE, SIG_IGN);
	pg = getpagesize();
	lp64 = sizeof(long) > 4 && sizeof(void *) > 4;
	rng.s = mix64(seed ^ 0x636d612d66757a7aULL);

	/* Every mapping is made before fork(); nothing is mapped later. */
	ksm_start();
	fd = make_file();
	region_init(&rem, 2, fd);
	region_init(&loc, 1, fd);
	abytes = (MAX_GEN * sizeof(struct iovec) + pg - 1) / pg * pg + pg;
	larena = arena_new(abytes);
	rarena = arena_new(abytes);
	rdirty = xcalloc(rem.dbytes, 1);
	msg = xcalloc(4 + rem.dbytes, 1);

	if (pipe(to_t) || pipe(from_t))
		die("pipe");
	fflush(stdout);
	tpid = fork();
	if (tpid < 0)
		die("fork");
	if (!tpid) {
		close(to_t[1]);
		close(from_t[0]);
		target_loop(&rem, to_t[0], from_t[1]);
	}
	close(to_t[0]);
	close(from_t[1]);
	if (read_full(from_t[0], &rsum, sizeof(rsum))) {
		fprintf(stderr, "cma-fuzz: target did not start\n");
		return 2;
	}
	if (via_pidfd) {
		pidfd = syscall(SYS_pidfd_open, tpid, 0);
		if (pidfd < 0)
			die("pidfd_open");
	}

	/* The fuzzer is only useful if the plain case works. */
	{
		struct iovec l = { probe, 1 };
		struct iovec r = { rem.base, 1 };
		long ret = syscall(SYS_process_vm_readv, (long)tpid, &l, 1UL,
				   &r, 1UL, 0UL);

		if (ret != 1) {
			fprintf(stderr, "cma-fuzz: probe read returned %ld (%s)\n",
				ret, ret < 0 ? strerror(errno) : "short");
			return 2;
		}
	}

	for (c = 0; c < ncases; c++) {
		int wr = rnd(2), verify, e = 0, n;
		size_t lcnt = pick_count(), rcnt = pick_count();
		unsigned long lcnt_arg = lcnt, rcnt_arg = rcnt, flags = 0;
		int lbad = 0, rbad = 0;
		long pid_arg = tpid, ret;
		struct iovec *lvec, *rvec;

		gen_vec(lst, lcnt, &loc, 1);
		gen_vec(rst, rcnt, &rem, 0);
		if (rnd(100) < 12) {
			int nanom = 1 + rnd(2);

			while (nanom--) {
				switch (rnd(lp64 ? 8 : 6)) {
				case 0:
					spoil(lst, lcnt, &loc, 1);
					break;
				case 1:
					spoil(rst, rcnt, &rem, 0);
					break;
				case 2:
					lbad = 1;
					break;
				case 3:
					rbad = 1;
					break;
				case 4:
					/*
					 * Always a bit no kernel knows (bit 2
					 * up, never REDUCE's 8 and 12..19
					 * alone), so the reference gives the
					 * same EINVAL as a kernel with flags.
					 */
					switch (rnd(4)) {
					case 0:
						flags = 1UL << 2 << rnd(6);
						break;
					case 1:
						flags = rnd(1000) | 1UL << 2;
						break;
					case 2:
						flags = 1UL << (sizeof(long) * 8 - 1);
						break;
					default:
						flags = ~0UL;
						break;
					}
					break;
				case 5:
					x = rnd(lp64 ? 3 : 2);
					if (x == 0)
						pid_arg = 0;
					else if (x == 1)
						pid_arg = -1;
					else	/* only the low 32 bits count */
						pid_arg = (long)((unsigned long)tpid +
							  (1UL << (lp64 ? 32 : 0)));
					break;
				case 6:	/* liovcnt is truncated to 32 bits */
					lcnt_arg = lcnt + (1UL << (lp64 ? 32 : 0));
					break;
				default:	/* riovcnt is not */
					rcnt_arg = rcnt + (1UL << (lp64 ? 32 : 0));
					break;
				}
			}
		}
		/* -F: the same call by pidfd, or with NOWAIT; same result */
		if (via_pidfd && pid_arg == tpid) {
			pid_arg = pidfd;
			flags |= PROCESS_VM_PIDFD;
		}
		if (nowait)
			flags |= PROCESS_VM_NOWAIT;
		lvec = place(larena, abytes, lst, lcnt, lbad, &loc);
		rvec = place(rarena, abytes, rst, rcnt, rbad, &rem);

		ret = syscall(wr ? SYS_process_vm_writev : SYS_process_vm_readv,
			      pid_arg, lvec, lcnt_arg, rvec, rcnt_arg, flags);
		if (ret < 0)
			e = errno;

		verify = (c + 1) % VERIFY_EVERY == 0 || c + 1 == ncases;
		if (wr && ret > 0)
			mark(&rem, rdirty, rst, rcnt, (size_t)ret);
		else if (ret > 0)
			mark(&loc, loc.dirty, lst, lcnt, (size_t)ret);
		if (verify) {
			lsum = region_full(&loc) + region_full(&rem) - rem.psum;
			rsum = ask(to_t[1], from_t[0], CMD_VERIFY, msg, rdirty,
				   rem.dbytes);
			memset(rdirty, 0, rem.dbytes);
		} else {
			lsum = region_update(&loc);
			rsum = rem.psum;	/* a readv leaves it alone */
			if (wr) {
				rsum = ask(to_t[1], from_t[0], CMD_UPDATE, msg,
					   rdirty, rem.dbytes);
				memset(rdirty, 0, rem.dbytes);
			}
		}

		n = snprintf(line, sizeof(line),
			     "%llu %s %lu %lu %ld %s %016llx %016llx\n",
			     c, wr ? "writev" : "readv", lcnt_arg, rcnt_arg,
			     ret, errname(e), (unsigned long long)lsum,
			     (unsigned long long)rsum);
		digest = fnv(digest, line, n);
		fputs(line, stdout);
	}

	memset(msg, 0, 4 + rem.dbytes);
	write_full(to_t[1], msg, 4 + rem.dbytes);
	close(to_t[1]);
	waitpid(tpid, NULL, 0);
	printf("cma-fuzz: %llu cases, seed %llu, digest %016llx\n",
	       ncases, seed, (unsigned long long)digest);
	return fflush(stdout) ? 2 : 0;
}
