// SPDX-License-Identifier: GPL-2.0
/*
 * Cross Memory Attach: process_vm_readv() and process_vm_writev().
 *
 * Every test first checks that the syscalls exist and skips, naming
 * ENOSYS, when they do not.  Buffers are surrounded by canary bytes, so
 * each check also proves that nothing outside the requested ranges was
 * written.  Yama ptrace_scope 3 lives in process_vm_yama3.c: it cannot be undone.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include "process_vm.h"

/* An address never mapped in user space of any ABI */
#define BOGUS_ADDR	((void *)(uintptr_t)-4096)

/*
 * A remote area, mapped before the target is forked so that it sits at
 * the same address in both processes, followed by a PROT_NONE guard
 * page.  The target copies it into the shared @back area on request,
 * skipping the pages flagged in @skip.
 */
static struct {
	unsigned char *map, *base, *back;
	size_t len, maplen;
	unsigned long long skip;
} area;

static int area_setup(size_t len, unsigned int seed)
{
	size_t ps = page_size();

	area.len = len;
	area.maplen = (len + 2 * ps - 1) & ~(ps - 1);
	area.map = map_anon(area.maplen, PROT_READ | PROT_WRITE, 0);
	area.back = mmap(NULL, area.maplen, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!area.map || area.back == MAP_FAILED)
		return -1;
	area.base = area.map;
	area.skip = 0;
	fill_pat(area.base, len, seed);
	return mprotect(area.map + area.maplen - ps, ps, PROT_NONE);
}

static void area_free(void)
{
	munmap(area.map, area.maplen);
	munmap(area.back, area.maplen);
}

static int area_copy_back(void *arg)
{
	size_t ps = page_size(), off, n;

	for (off = 0; off < area.len; off += n) {
		n = area.len - off < ps ? area.len - off : ps;
		if (off / ps < 64 && (area.skip & (1ULL << (off / ps))))
			continue;
		memcpy(area.back + off, area.base + off, n);
	}
	return 0;
}

/*
 * Data integrity: a table of iovec layouts, each transferred both ways,
 * through glibc and through syscall().  A layout is a list of segments
 * in an arena; the expected result is computed by streaming the bytes
 * from one list of segments to the other.
 */
struct seg {
	int op, ob;	/* offset: op pages + ob bytes, or a SEG_* kind */
	int lp, lb;	/* length: lp pages + lb bytes */
};

#define SEG_END		(-1)	/* end of the table */
#define SEG_BOGUS	(-2)	/* remote only: an unmapped base */
#define SEG_NULL	(-3)	/* a NULL base */
#define END		{ SEG_END, 0, 0, 0 }

struct span {
	size_t off, len;
	int kind;		/* 0, SEG_BOGUS or SEG_NULL */
};

struct spans {
	struct span *s;
	int n;
	size_t extent;		/* end of the furthest span */
};

static void span_add(struct spans *sp, int kind, size_t off, size_t len)
{
	struct span *s = &sp->s[sp->n++];

	s->kind = kind;
	s->off = kind ? 0 : off;
	s->len = len;
	if (!kind && off + len > sp->extent)
		sp->extent = off + len;
}

static int spans_alloc(struct spans *sp, int n)
{
	sp->s = calloc(n, sizeof(*sp->s));
	sp->n = 0;
	sp->extent = 0;
	return sp->s ? 0 : -1;
}

static int spans_from(struct spans *sp, const struct seg *seg)
{
	long ps = (long)page_size();
	int n;

	for (n = 0; seg[n].op != SEG_END; n++)
		;
	if (spans_alloc(sp, n))
		return -1;
	for (; seg->op != SEG_END; seg++) {
		if (seg->op < 0)
			span_add(sp, seg->op, 0, seg->lp * ps + seg->lb);
		else
			span_add(sp, 0, seg->op * ps + seg->ob,
				 seg->lp * ps + seg->lb);
	}
	return 0;
}

/* i * odd mod 1024 is a permutation of 0..1023 */
#define PERM(i, k)	(((i) * (k)) & 1023)

static int gen_many_small(struct spans *l, struct spans *r)
{
	size_t ps = page_size();
	int i;

	if (spans_alloc(l, 100) || spans_alloc(r, 50))
		return -1;
	for (i = 0; i < 100; i++)
		span_add(l, 0, i * 29, 13);
	for (i = 0; i < 50; i++)
		span_add(r, 0, ps - 300 + i * 41, 26);
	return 0;
}

static int gen_perm1024(struct spans *l, struct spans *r)
{
	int i;

	if (spans_alloc(l, 1024) || spans_alloc(r, 1024))
		return -1;
	for (i = 0; i < 1024; i++) {
		span_add(l, 0, PERM(i, 389) * 3, 1);
		span_add(r, 0, PERM(i, 613) * 5 + 1, 1);
	}
	return 0;
}

static int gen_1024_to_1(struct spans *many, struct spans *one)
{
	size_t ps = page_size();
	int i;

	if (spans_alloc(many, 1024) || spans_alloc(one, 1))
		return -1;
	for (i = 0; i < 1024; i++)
		span_add(many, 0, PERM(i, 777) * (ps / 4 + 1), 7);
	span_add(one, 0, 3 * ps - 1, 1024 * 7);
	return 0;
}

static int gen_l1024_r1(struct spans *l, struct spans *r)
{
	return gen_1024_to_1(l, r);
}

static int gen_l1_r1024(struct spans *l, struct spans *r)
{
	return gen_1024_to_1(r, l);
}

/*
 * Copy, as the syscalls should, from the @s spans of a source arena that
 * holds pattern @seed into the @d spans of @dst; both arenas start one
 * guard page before offset 0.  Returns the byte count, or -1 if a bogus
 * span would be touched.
 */
static ssize_t simulate(unsigned char *dst, const struct spans *d,
			const struct spans *s, unsigned int seed)
{
	size_t ps = page_size(), di = 0, si = 0, total = 0, n;
	int i = 0, j = 0;

	while (i < d->n && j < s->n) {
		const struct span *a = &d->s[i], *b = &s->s[j];

		if (di == a->len) {
			i++;
			di = 0;
			continue;
		}
		if (si == b->len) {
			j++;
			si = 0;
			continue;
		}
		if (a->kind || b->kind)
			return -1;
		n = a->len - di < b->len - si ? a->len - di : b->len - si;
		fill_pat_at(dst + ps + a->off + di, n, ps + b->off + si, seed);
		di += n;
		si += n;
		total += n;
	}
	return total;
}

static struct iovec *spans_iov(const struct spans *sp, unsigned char *arena)
{
	struct iovec *iov = calloc(sp->n ? sp->n : 1, sizeof(*iov));
	int i;

	for (i = 0; iov && i < sp->n; i++) {
		if (sp->s[i].kind == SEG_BOGUS)
			iov[i].iov_base = BOGUS_ADDR;
		else if (sp->s[i].kind == SEG_NULL)
			iov[i].iov_base = NULL;
		else
			iov[i].iov_base = arena + page_size() + sp->s[i].off;
		iov[i].iov_len = sp->s[i].len;
	}
	return iov;
}

/* The remote arena and the image it should hold, in both processes */
struct xfer_remote {
	unsigned char *arena, *expect;
	size_t size;
};

static int xfer_reset(void *arg)
{
	struct xfer_remote *x = arg;

	memset(x->arena, RCANARY, x->size);
	return 0;
}

static int xfer_fill(void *arg)
{
	struct xfer_remote *x = arg;

	fill_pat(x->arena, x->size, 1);
	return 0;
}

/* In the target: 0 if the arena holds the expected image */
static int xfer_compare(void *arg)
{
	struct xfer_remote *x = arg;
	long d = first_diff(x->arena, x->expect, x->size);

	if (d < 0)
		return 0;
	fprintf(stderr, "# remote arena: byte %ld of %zu is %#x, want %#x\n",
		d, x->size, x->arena[d], x->expect[d]);
	return 1;
}

FIXTURE(xfer) {
	struct spans l, r;
	struct iovec *liov, *riov;
	unsigned char *larena, *lexpect;
	size_t lsize;
	struct xfer_remote rem;
	struct target t;
};

FIXTURE_VARIANT(xfer) {
	const struct seg *local;
	const struct seg *remote;
	int (*gen)(struct spans *l, struct spans *r);
	bool big;	/* one call only: glibc's for readv, raw for writev */
};

static size_t arena_size(size_t extent)
{
	size_t ps = page_size();

	return ps + ((extent + ps - 1) & ~(ps - 1)) + ps;
}

FIXTURE_SETUP(xfer)
{
	self->t.pid = -1;
	self->t.sk = -1;
	if (!pvm_available())
		return;
	if (variant->gen) {
		ASSERT_EQ(0, variant->gen(&self->l, &self->r));
	} else {
		ASSERT_EQ(0, spans_from(&self->l, variant->local));
		ASSERT_EQ(0, spans_from(&self->r, variant->remote));
	}
	self->lsize = arena_size(self->l.extent);
	self->rem.size = arena_size(self->r.extent);
	self->larena = map_anon(self->lsize, PROT_READ | PROT_WRITE, 0);
	self->lexpect = map_anon(self->lsize, PROT_READ | PROT_WRITE, 0);
	self->rem.arena = map_anon(self->rem.size, PROT_READ | PROT_WRITE, 0);
	self->rem.expect = map_anon(self->rem.size, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(self->larena));
	ASSERT_TRUE(mapped(self->lexpect));
	ASSERT_TRUE(mapped(self->rem.arena));
	ASSERT_TRUE(mapped(self->rem.expect));
	self->liov = spans_iov(&self->l, self->larena);
	self->riov = spans_iov(&self->r, self->rem.arena);
	ASSERT_TRUE(mapped(self->liov));
	ASSERT_TRUE(mapped(self->riov));
}

FIXTURE_TEARDOWN(xfer)
{
	target_stop(&self->t);
}

TEST_F_TIMEOUT(xfer, readv, 300)
{
	ssize_t want, ret;
	int raw;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	/* The target fills its arena: no COW sharing with ours */
	ASSERT_EQ(0, target_start(&self->t, xfer_fill, &self->rem));
	memset(self->lexpect, LCANARY, self->lsize);
	want = simulate(self->lexpect, &self->l, &self->r, 1);
	ASSERT_LE(0, want);
	for (raw = 0; raw <= (variant->big ? 0 : CMA_RAW); raw += CMA_RAW) {
		memset(self->larena, LCANARY, self->lsize);
		ret = pvm_call(CMA_READ | raw, self->t.pid, self->liov,
			       self->l.n, self->riov, self->r.n, 0);
		EXPECT_EQ(want, ret) {
			TH_LOG("%s: %s", pvm_mode_name[CMA_READ | raw],
			       strerror(errno));
		}
		expect_same(self->larena, self->lexpect, self->lsize,
			    pvm_mode_name[CMA_READ | raw]);
	}
}

TEST_F_TIMEOUT(xfer, writev, 300)
{
	ssize_t want, ret;
	int raw;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	fill_pat(self->larena, self->lsize, 2);
	memset(self->rem.expect, RCANARY, self->rem.size);
	want = simulate(self->rem.expect, &self->r, &self->l, 2);
	ASSERT_LE(0, want);
	ASSERT_EQ(0, target_start(&self->t, NULL, NULL));
	for (raw = variant->big ? CMA_RAW : 0; raw <= CMA_RAW; raw += CMA_RAW) {
		ASSERT_EQ(0, target_call(&self->t, xfer_reset, &self->rem));
		ret = pvm_call(CMA_WRITE | raw, self->t.pid, self->liov,
			       self->l.n, self->riov, self->r.n, 0);
		EXPECT_EQ(want, ret) {
			TH_LOG("%s: %s", pvm_mode_name[CMA_WRITE | raw],
			       strerror(errno));
		}
		EXPECT_EQ(0, target_call(&self->t, xfer_compare, &self->rem)) {
			TH_LOG("%s: remote arena differs",
			       pvm_mode_name[CMA_WRITE | raw]);
		}
		expect_pat(self->larena, self->lsize, 0, 2, "source");
	}
}

/*
 * Start offsets {0, 1, PAGE_SIZE - 1} on the remote side, the mirror
 * offset on the local side, for lengths 1, a page, a page and a byte,
 * 17 pages (past the on-stack page array) and 1030 4 KiB pages (past one
 * batch of 1024 pinned pages when pages are 4 KiB; batch_boundary covers
 * other page sizes).  A segment is { offset pages, offset bytes, length
 * pages, length bytes }.
 */
FIXTURE_VARIANT_ADD(xfer, off0_len1) {
	.local = (const struct seg[]){ { 1, -1, 0, 1 }, END },
	.remote = (const struct seg[]){ { 0, 0, 0, 1 }, END },
};

FIXTURE_VARIANT_ADD(xfer, off0_lenpg) {
	.local = (const struct seg[]){ { 1, -1, 1, 0 }, END },
	.remote = (const struct seg[]){ { 0, 0, 1, 0 }, END },
};

FIXTURE_VARIANT_ADD(xfer, off0_lenpg1) {
	.local = (const struct seg[]){ { 1, -1, 1, 1 }, END },
	.remote = (const struct seg[]){ { 0, 0, 1, 1 }, END },
};

FIXTURE_VARIANT_ADD(xfer, off0_len17pg) {
	.local = (const struct seg[]){ { 1, -1, 17, 0 }, END },
	.remote = (const struct seg[]){ { 0, 0, 17, 0 }, END },
};

FIXTURE_VARIANT_ADD(xfer, off0_len1030x4k) {
	.local = (const struct seg[]){ { 1, -1, 0, 1030 * 4096 }, END },
	.remote = (const struct seg[]){ { 0, 0, 0, 1030 * 4096 }, END },
};

FIXTURE_VARIANT_ADD(xfer, off1_len1) {
	.local = (const struct seg[]){ { 1, -2, 0, 1 }, END },
	.remote = (const struct seg[]){ { 0, 1, 0, 1 }, END },
};

FIXTURE_VARIANT_ADD(xfer, off1_lenpg) {
	.local = (const struct seg[]){ { 1, -2, 1, 0 }, END },
	.remote = (const struct seg[]){ { 0, 1, 1, 0 }, END },
};

FIXTURE_VARIANT_ADD(xfer, off1_lenpg1) {
	.local = (const struct seg[]){ { 1, -2, 1, 1 }, END },
	.remote = (const struct seg[]){ { 0, 1, 1, 1 }, END },
};

FIXTURE_VARIANT_ADD(xfer, off1_len17pg) {
	.local = (const struct seg[]){ { 1, -2, 17, 0 }, END },
	.remote = (const struct seg[]){ { 0, 1, 17, 0 }, END },
};

FIXTURE_VARIANT_ADD(xfer, off1_len1030x4k) {
	.local = (const struct seg[]){ { 1, -2, 0, 1030 * 4096 }, END },
	.remote = (const struct seg[]){ { 0, 1, 0, 1030 * 4096 }, END },
};

FIXTURE_VARIANT_ADD(xfer, offpgm1_len1) {
	.local = (const struct seg[]){ { 0, 0, 0, 1 }, END },
	.remote = (const struct seg[]){ { 1, -1, 0, 1 }, END },
};

FIXTURE_VARIANT_ADD(xfer, offpgm1_lenpg) {
	.local = (const struct seg[]){ { 0, 0, 1, 0 }, END },
	.remote = (const struct seg[]){ { 1, -1, 1, 0 }, END },
};

FIXTURE_VARIANT_ADD(xfer, offpgm1_lenpg1) {
	.local = (const struct seg[]){ { 0, 0, 1, 1 }, END },
	.remote = (const struct seg[]){ { 1, -1, 1, 1 }, END },
};

FIXTURE_VARIANT_ADD(xfer, offpgm1_len17pg) {
	.local = (const struct seg[]){ { 0, 0, 17, 0 }, END },
	.remote = (const struct seg[]){ { 1, -1, 17, 0 }, END },
};

FIXTURE_VARIANT_ADD(xfer, offpgm1_len1030x4k) {
	.local = (const struct seg[]){ { 0, 0, 0, 1030 * 4096 }, END },
	.remote = (const struct seg[]){ { 1, -1, 0, 1030 * 4096 }, END },
};

FIXTURE_VARIANT_ADD(xfer, one_page) {
	.local = (const struct seg[]){ { 0, 0, 1, 0 }, END },
	.remote = (const struct seg[]){ { 0, 0, 1, 0 }, END },
};

FIXTURE_VARIANT_ADD(xfer, many_small) {
	.gen = gen_many_small,
};

FIXTURE_VARIANT_ADD(xfer, page_straddle) {
	.local = (const struct seg[]){
		{ 1, -3, 0, 6 }, { 2, -2, 0, 4 }, { 4, -1, 2, 2 }, END },
	.remote = (const struct seg[]){
		{ 1, -5, 0, 10 }, { 3, -1, 0, 2 }, { 6, -3, 1, 6 },
		{ 9, -4, 1, 0 }, END },
};

FIXTURE_VARIANT_ADD(xfer, perm1024) {
	.gen = gen_perm1024,
};

FIXTURE_VARIANT_ADD(xfer, local1024_remote1) {
	.gen = gen_l1024_r1,
};

FIXTURE_VARIANT_ADD(xfer, local1_remote1024) {
	.gen = gen_l1_r1024,
};

/* Zero-length entries: NULL locally, unmapped remotely; never looked at */
FIXTURE_VARIANT_ADD(xfer, zero_len) {
	.local = (const struct seg[]){
		{ SEG_NULL, 0, 0, 0 }, { 0, 10, 0, 100 },
		{ SEG_NULL, 0, 0, 0 }, { 1, 0, 0, 50 },
		{ SEG_NULL, 0, 0, 0 }, END },
	.remote = (const struct seg[]){
		{ SEG_BOGUS, 0, 0, 0 }, { 0, 0, 0, 0 }, { 2, 3, 0, 75 },
		{ SEG_BOGUS, 0, 0, 0 }, { 3, 1, 0, 75 },
		{ SEG_BOGUS, 0, 0, 0 }, END },
};

FIXTURE_VARIANT_ADD(xfer, split_apart) {
	.local = (const struct seg[]){
		{ 0, 0, 3, 5 }, { 5, 0, 1, -5 }, END },
	.remote = (const struct seg[]){
		{ 0, 7, 0, 100 }, { 1, 0, 2, 0 }, { 4, 3, 2, -100 }, END },
};

/* The local side fills up first: the unmapped remote entry is not used */
FIXTURE_VARIANT_ADD(xfer, local_short) {
	.local = (const struct seg[]){ { 0, 1, 2, 0 }, END },
	.remote = (const struct seg[]){
		{ 0, 0, 1, 0 }, { 2, 0, 1, 0 }, { 4, 0, 1, 0 },
		{ SEG_BOGUS, 0, 1, 0 }, END },
};

FIXTURE_VARIANT_ADD(xfer, remote_short) {
	.local = (const struct seg[]){ { 0, 0, 4, 0 }, END },
	.remote = (const struct seg[]){ { 1, 1, 1, 0 }, END },
};

FIXTURE_VARIANT_ADD(xfer, remote_overlap) {
	.local = (const struct seg[]){ { 0, 0, 5, 0 }, END },
	.remote = (const struct seg[]){
		{ 0, 0, 2, 0 }, { 1, 0, 2, 0 }, { 0, 100, 1, 0 }, END },
};

FIXTURE_VARIANT_ADD(xfer, big_64m) {
	.local = (const struct seg[]){ { 0, 1, 0, 64 << 20 }, END },
	.remote = (const struct seg[]){ { 0, 0, 0, 64 << 20 }, END },
	.big = true,
};

/*
 * Argument checks, in the order the kernel makes them: flags, the local
 * iovec array, an empty local side, the remote iovec array, an empty
 * remote side, then the pid.
 */
TEST(flags_einval)
{
	char lb[64], rb[64];
	struct iovec l = { lb, sizeof(lb) }, r = { rb, sizeof(rb) };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	CHECK_ERR("flags 1", getpid(), &l, 1, &r, 1, 1, EINVAL);
	CHECK_ERR("flags ~0", getpid(), &l, 1, &r, 1, ~0UL, EINVAL);
	CHECK_ERR("flags 1, pid -1, bad arrays, counts 5000", -1,
		  (struct iovec *)1, 5000, (struct iovec *)1, 5000, 1, EINVAL);
	CHECK_ERR("flags 1, local total 0", -1, NULL, 0, NULL, 0, 1, EINVAL);
}

TEST(liovcnt_over_max)
{
	static struct iovec liov[1025];
	unsigned char lb[1025], rb[2048];
	struct iovec r = { rb, sizeof(rb) };
	int i;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	for (i = 0; i < 1025; i++)
		liov[i] = (struct iovec){ lb + i, 1 };
	CHECK_ERR("liovcnt 1025", getpid(), liov, 1025, &r, 1, 0, EINVAL);
	CHECK_ERR("liovcnt 1025, pid -1", -1, liov, 1025, &r, 1, 0, EINVAL);
	CHECK_ERR("liovcnt 1025, bad rvec", getpid(), liov, 1025,
		  (struct iovec *)1, 1, 0, EINVAL);
	CHECK_ERR("liovcnt UINT_MAX", getpid(), liov, UINT_MAX, &r, 1, 0,
		  EINVAL);
	CHECK_ERR("liovcnt ULONG_MAX", getpid(), liov, ULONG_MAX, &r, 1, 0,
		  EINVAL);
	CHECK_RET("liovcnt 1024", getpid(), liov, 1024, &r, 1, 0, 1024);
	CHECK_ERR("liovcnt 1024, pid -1", -1, liov, 1024, &r, 1, 0, ESRCH);
}

TEST(riovcnt_over_max)
{
	static struct iovec riov[1025];
	unsigned char lb[100], rb[1025];
	struct iovec l = { lb, sizeof(lb) };
	int i;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	for (i = 0; i < 1025; i++)
		riov[i] = (struct iovec){ rb + i, 1 };
	CHECK_ERR("riovcnt 1025", getpid(), &l, 1, riov, 1025, 0, EINVAL);
	CHECK_ERR("riovcnt 1025, pid -1", -1, &l, 1, riov, 1025, 0, EINVAL);
	CHECK_ERR("riovcnt UINT_MAX", getpid(), &l, 1, riov, UINT_MAX, 0,
		  EINVAL);
	CHECK_ERR("riovcnt ULONG_MAX", getpid(), &l, 1, riov, ULONG_MAX, 0,
		  EINVAL);
	CHECK_RET("riovcnt 1024", getpid(), &l, 1, riov, 1024, 0, 100);
	CHECK_ERR("riovcnt 1024, pid -1", -1, &l, 1, riov, 1024, 0, ESRCH);
}

TEST(bad_lvec_efault)
{
	size_t ps = page_size();
	unsigned char lb[64], rb[64], *pg;
	struct iovec r = { rb, sizeof(rb) }, *edge;
	int i;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	pg = map_anon(2 * ps, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(pg));
	ASSERT_EQ(0, mprotect(pg + ps, ps, PROT_NONE));
	/* edge[0] is the last iovec of the readable page, edge[1] is not */
	edge = (struct iovec *)(pg + ps) - 1;
	for (i = -7; i <= 0; i++)
		edge[i] = (struct iovec){ lb, 8 };
	CHECK_ERR("lvec (void *)1", getpid(), (struct iovec *)1, 1, &r, 1, 0,
		  EFAULT);
	CHECK_ERR("lvec in a PROT_NONE page", getpid(),
		  (struct iovec *)(pg + ps), 1, &r, 1, 0, EFAULT);
	CHECK_ERR("lvec running into PROT_NONE", getpid(), edge, 2, &r, 1, 0,
		  EFAULT);
	CHECK_ERR("9 lvecs running into PROT_NONE", getpid(), edge - 7, 9,
		  &r, 1, 0, EFAULT);
	CHECK_ERR("bad lvec, pid -1, riovcnt 5000", -1, (struct iovec *)1, 1,
		  (struct iovec *)1, 5000, 0, EFAULT);
	CHECK_RET("the readable part alone", getpid(), edge - 7, 8, &r, 1, 0,
		  64);
	munmap(pg, 2 * ps);
}

TEST(bad_rvec_efault)
{
	size_t ps = page_size();
	unsigned char lb[64], rb[64], *pg;
	struct iovec l = { lb, sizeof(lb) }, *edge;
	int i;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	pg = map_anon(2 * ps, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(pg));
	ASSERT_EQ(0, mprotect(pg + ps, ps, PROT_NONE));
	edge = (struct iovec *)(pg + ps) - 1;
	for (i = -7; i <= 0; i++)
		edge[i] = (struct iovec){ rb, 8 };
	CHECK_ERR("rvec (void *)1", getpid(), &l, 1, (struct iovec *)1, 1, 0,
		  EFAULT);
	CHECK_ERR("rvec in a PROT_NONE page", getpid(), &l, 1,
		  (struct iovec *)(pg + ps), 1, 0, EFAULT);
	CHECK_ERR("rvec running into PROT_NONE", getpid(), &l, 1, edge, 2, 0,
		  EFAULT);
	CHECK_ERR("9 rvecs running into PROT_NONE", getpid(), &l, 1, edge - 7,
		  9, 0, EFAULT);
	CHECK_ERR("bad rvec, pid -1", -1, &l, 1, (struct iovec *)1, 1, 0,
		  EFAULT);
	CHECK_RET("the readable part alone", getpid(), &l, 1, edge - 7, 8, 0,
		  64);
	munmap(pg, 2 * ps);
}

/* A length that is negative as ssize_t in this ABI */
#define NEG_LEN		((size_t)1 << (sizeof(size_t) * 8 - 1))

TEST(local_negative_len)
{
	unsigned char lb[64], rb[64];
	struct iovec r = { rb, sizeof(rb) };
	struct iovec l[2] = { { lb, NEG_LEN }, { lb, 8 } };
	struct iovec lbad[2] = { { BOGUS_ADDR, 10 }, { lb, NEG_LEN } };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	CHECK_ERR("local length 1 << (bits - 1)", getpid(), l, 1, &r, 1, 0,
		  EINVAL);
	l[0].iov_len = SIZE_MAX;
	CHECK_ERR("local length SIZE_MAX", getpid(), l, 1, &r, 1, 0, EINVAL);
	CHECK_RET("{lb, 8} alone", getpid(), l + 1, 1, &r, 1, 0, 8);
	l[1].iov_len = NEG_LEN;
	CHECK_ERR("negative local length second", getpid(), l, 2, &r, 1, 0,
		  EINVAL);
	/* Every length is checked before any address */
	CHECK_ERR("unmapped base first, negative length second", getpid(),
		  lbad, 2, &r, 1, 0, EINVAL);
	CHECK_ERR("negative local length, pid -1, bad rvec", -1, l, 1,
		  (struct iovec *)1, 5000, 0, EINVAL);
}

TEST(remote_negative_len)
{
	unsigned char lb[64], rb[64];
	struct iovec l = { lb, sizeof(lb) };
	struct iovec r[2] = { { rb, 10 }, { rb, NEG_LEN } };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	memset(lb, LCANARY, sizeof(lb));
	memset(rb, RCANARY, sizeof(rb));
	CHECK_ERR("remote length 1 << (bits - 1)", getpid(), &l, 1, r + 1, 1,
		  0, EINVAL);
	/* The whole array is checked before anything moves */
	CHECK_ERR("good entry, then a negative one", getpid(), &l, 1, r, 2, 0,
		  EINVAL);
	CHECK_ERR("negative remote length, pid -1", -1, &l, 1, r, 2, 0,
		  EINVAL);
	r[1].iov_len = SIZE_MAX;
	CHECK_ERR("remote length SIZE_MAX", getpid(), &l, 1, r, 2, 0, EINVAL);
	expect_byte(lb, sizeof(lb), LCANARY, "local buffer");
	expect_byte(rb, sizeof(rb), RCANARY, "remote buffer");
}

TEST(local_total_zero)
{
	unsigned char lb[64];
	struct iovec lz[3] = { { NULL, 0 }, { lb, 0 }, { lb + 5, 0 } };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	CHECK_RET("liovcnt 0, pid -1, bad rvec", -1, NULL, 0,
		  (struct iovec *)1, 5000, 0, 0);
	CHECK_RET("zero-length entries, pid -1, bad rvec", -1, lz, 3,
		  (struct iovec *)1, 5000, 0, 0);
	CHECK_RET("zero-length entries, pid 0", 0, lz, 3, NULL, 0, 0, 0);
}

TEST(remote_total_zero)
{
	static struct iovec rz1024[1024];
	unsigned char lb[100], rb[8];
	struct iovec l = { lb, sizeof(lb) };
	struct iovec rz[3] = { { NULL, 0 }, { BOGUS_ADDR, 0 }, { rb, 0 } };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	memset(lb, LCANARY, sizeof(lb));
	CHECK_RET("riovcnt 0, pid -1", -1, &l, 1, NULL, 0, 0, 0);
	CHECK_RET("zero-length remote entries, pid -1", -1, &l, 1, rz, 3, 0,
		  0);
	CHECK_RET("1024 empty remote entries, pid 0", 0, &l, 1, rz1024, 1024,
		  0, 0);
	expect_byte(lb, sizeof(lb), LCANARY, "local buffer");
}

/*
 * access_ok() is applied to every local element, zero-length ones too.
 * A 32-bit address always passes it on a 64-bit kernel, so there a
 * compat caller's {-1, 0} is an ordinary empty element.
 */
TEST(local_zero_len_bad_base)
{
	unsigned char lb[64], rb[64];
	struct iovec r = { rb, 10 };
	struct iovec l[2] = { { (void *)(uintptr_t)-1, 0 }, { lb, 10 } };
	struct iovec lnull = { NULL, 0 };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	if (sizeof(void *) == 8 || !kernel_is_64bit()) {
		CHECK_ERR("{-1, 0} then {buf, 10}", getpid(), l, 2, &r, 1, 0,
			  EFAULT);
		CHECK_ERR("{-1, 0} alone, pid -1", -1, l, 1,
			  (struct iovec *)1, 1, 0, EFAULT);
	} else {
		CHECK_RET("compat {-1, 0} then {buf, 10}", getpid(), l, 2,
			  &r, 1, 0, 10);
		CHECK_RET("compat {-1, 0} alone, pid -1", -1, l, 1,
			  (struct iovec *)1, 1, 0, 0);
	}
	CHECK_RET("{NULL, 0} alone, pid -1", -1, &lnull, 1,
		  (struct iovec *)1, 1, 0, 0);
}

TEST(pid_esrch)
{
	unsigned char lb[64], rb[64];
	struct iovec l = { lb, sizeof(lb) }, r = { rb, sizeof(rb) };
	long pid_max = 4194304;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	read_int_file("/proc/sys/kernel/pid_max", &pid_max);
	CHECK_ERR("pid 0", 0, &l, 1, &r, 1, 0, ESRCH);
	CHECK_ERR("pid -1", -1, &l, 1, &r, 1, 0, ESRCH);
	CHECK_ERR("pid -getpid()", -getpid(), &l, 1, &r, 1, 0, ESRCH);
	CHECK_ERR("pid INT_MIN", INT_MIN, &l, 1, &r, 1, 0, ESRCH);
	CHECK_ERR("pid INT_MAX", INT_MAX, &l, 1, &r, 1, 0, ESRCH);
	CHECK_ERR("pid pid_max", (pid_t)pid_max, &l, 1, &r, 1, 0, ESRCH);
}

/* Neither each remote length nor their sum is limited */
TEST(remote_lengths_unchecked)
{
	size_t big = sizeof(long) == 8 ? (size_t)1 << 62 : 0x7fffffff;
	size_t max = (size_t)SSIZE_MAX;
	unsigned char lb[100 + 16];
	struct iovec l = { lb, 100 };
	struct iovec rhuge, rsum[3];
	struct target t;
	ssize_t ret;
	int mode;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	ASSERT_EQ(0, area_setup(page_size(), 3));
	rhuge = (struct iovec){ area.base + 3, big };
	rsum[0] = (struct iovec){ area.base, max };
	rsum[1] = (struct iovec){ area.base, max };
	rsum[2] = (struct iovec){ area.base, 10 };
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	for (mode = CMA_READ; mode <= CMA_RAW; mode += CMA_RAW) {
		memset(lb, LCANARY, sizeof(lb));
		ret = pvm_call(mode, t.pid, &l, 1, &rhuge, 1, 0);
		EXPECT_EQ(100, ret) {
			TH_LOG("remote length %#zx: %s", big, strerror(errno));
		}
		expect_pat(lb, 100, 3, 3, "huge remote length");
		expect_byte(lb + 100, 16, LCANARY, "after the local buffer");
		memset(lb, LCANARY, sizeof(lb));
		ret = pvm_call(mode, t.pid, &l, 1, rsum, 3, 0);
		EXPECT_EQ(100, ret) {
			TH_LOG("remote total > SSIZE_MAX: %s", strerror(errno));
		}
		expect_pat(lb, 100, 0, 3, "remote total > SSIZE_MAX");
	}
	for (mode = CMA_WRITE; mode <= (CMA_WRITE | CMA_RAW);
	     mode += CMA_RAW) {
		EXPECT_EQ(100, pvm_call(mode, t.pid, &l, 1, &rhuge, 1, 0));
		EXPECT_EQ(100, pvm_call(mode, t.pid, &l, 1, rsum, 3, 0));
	}
	target_stop(&t);
	area_free();
}

/* Tests that move hundreds of MiB: slow under emulation */
FIXTURE(slow) {
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

/*
 * 2 GiB + 16 KiB of local iovecs: the local total is capped at
 * MAX_RW_COUNT, cutting the last element.  1023 elements of 2 MiB share
 * one buffer, the last one (2 MiB + 16 KiB) has its own, so that the cut
 * shows in the data.  The remote side reuses one area the same way.
 */
TEST_F_TIMEOUT(slow, max_rw_count_cap, 300)
{
	size_t unit = 2 << 20, tail = 16 << 10, ps = page_size();
	size_t lastlen = unit + tail, want = max_rw_count();
	size_t cut = want - 1023 * unit;
	static struct iovec liov[1024], riov[1024];
	unsigned char *shared, *last;
	struct target t;
	ssize_t ret;
	int i;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	ASSERT_EQ(0, area_setup(lastlen, 4));
	shared = map_anon(unit, PROT_READ | PROT_WRITE, 0);
	last = map_anon(lastlen + ps, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(shared));
	ASSERT_TRUE(mapped(last));
	for (i = 0; i < 1024; i++) {
		liov[i] = (struct iovec){ shared, unit };
		riov[i] = (struct iovec){ area.base, unit };
	}
	liov[1023] = (struct iovec){ last, lastlen };
	riov[1023].iov_len = lastlen;
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	memset(last, LCANARY, lastlen + ps);
	ret = pvm_call(CMA_READ, t.pid, liov, 1024, riov, 1024, 0);
	EXPECT_EQ((ssize_t)want, ret) {
		TH_LOG("%s", strerror(errno));
	}
	expect_pat(shared, unit, 0, 4, "shared 2 MiB buffer");
	expect_pat(last, cut, 0, 4, "last buffer, up to the cap");
	expect_byte(last + cut, lastlen + ps - cut, LCANARY,
		    "last buffer, past the cap");
	target_stop(&t);
	area_free();
}

/*
 * One remote iovec of a whole batch of pinned pages plus six.  The copy
 * loop pins 2 * PAGE_SIZE / sizeof(void *) pages at a time: 1024 with
 * 4 KiB pages, 16384 (1 GiB) with 64 KiB pages.  Only the eight remote
 * pages around the batch boundary are touched, the rest reads as zeros;
 * locally, one scratch buffer takes everything before those eight pages.
 */
TEST_F_TIMEOUT(slow, batch_boundary, 300)
{
	static struct iovec liov[1024];
	size_t ps = page_size(), scratch = 2 << 20, off = 3;
	size_t batch = 2 * ps / (kernel_is_64bit() ? 8 : 4);
	size_t npages = batch + 6, head = (batch - 2) * ps - off;
	size_t len = npages * ps - off, tail = 8 * ps;
	unsigned char *rm, *sb, *tb;
	struct iovec r;
	struct target t;
	int n = 0;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	rm = map_anon(npages * ps, PROT_READ | PROT_WRITE, MAP_NORESERVE);
	sb = map_anon(scratch, PROT_READ | PROT_WRITE, 0);
	tb = map_anon(tail + ps, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(rm));
	ASSERT_TRUE(mapped(sb));
	ASSERT_TRUE(mapped(tb));
	fill_pat_at(rm + (batch - 2) * ps, tail, (batch - 2) * ps, 29);
	memset(sb, LCANARY, scratch);
	memset(tb, LCANARY, tail + ps);
	for (; head; n++) {
		liov[n].iov_base = sb;
		liov[n].iov_len = head < scratch ? head : scratch;
		head -= liov[n].iov_len;
	}
	ASSERT_GT(1024, n);
	liov[n++] = (struct iovec){ tb, tail };
	r = (struct iovec){ rm + off, len };
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	EXPECT_EQ((ssize_t)len, pvm_call(CMA_READ, t.pid, liov, n, &r, 1, 0)) {
		TH_LOG("%zu pages from offset %zu: %s", npages, off,
		       strerror(errno));
	}
	expect_byte(sb, liov[0].iov_len, 0, "untouched pages");
	expect_pat(tb, tail, (batch - 2) * ps, 29, "around the boundary");
	expect_byte(tb + tail, ps, LCANARY, "after");
	target_stop(&t);
	munmap(rm, npages * ps);
}

#if __SIZEOF_LONG__ == 8
/* The pid is an int: only the low 32 bits of the register count */
TEST(pid_upper_bits)
{
	unsigned char lb[100];
	struct iovec l = { lb, sizeof(lb) }, r;
	struct target t;
	long pid;
	int nr;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	ASSERT_EQ(0, area_setup(page_size(), 5));
	r = (struct iovec){ area.base, sizeof(lb) };
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	for (nr = 0; nr < 2; nr++) {
		long sys = nr ? SYS_process_vm_writev : SYS_process_vm_readv;

		memset(lb, LCANARY, sizeof(lb));
		pid = (1L << 32) + t.pid;
		EXPECT_EQ(100, syscall(sys, pid, &l, 1UL, &r, 1UL, 0UL)) {
			TH_LOG("pid %#lx: %s", pid, strerror(errno));
		}
		if (!nr)
			expect_pat(lb, sizeof(lb), 0, 5, "pid (1 << 32) + pid");
		pid = (long)(0xffffffff00000000UL | (unsigned int)t.pid);
		EXPECT_EQ(100, syscall(sys, pid, &l, 1UL, &r, 1UL, 0UL)) {
			TH_LOG("pid %#lx: %s", pid, strerror(errno));
		}
		errno = 0;
		EXPECT_EQ(-1, syscall(sys, 1L << 32, &l, 1UL, &r, 1UL, 0UL));
		EXPECT_EQ(ESRCH, errno);
	}
	target_stop(&t);
	area_free();
}

/* liovcnt reaches import_iovec() as 32 bits; riovcnt is not truncated */
TEST(iovcnt_upper_bits)
{
	unsigned char lb[30], rb[100];
	struct iovec l[2] = { { lb, 10 }, { lb + 10, 20 } };
	struct iovec r = { rb, sizeof(rb) };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	CHECK_RET("liovcnt (1 << 32) + 1", getpid(), l, (1UL << 32) + 1, &r,
		  1, 0, 10);
	CHECK_RET("liovcnt 1 << 32, pid -1, bad rvec", -1, l, 1UL << 32,
		  (struct iovec *)1, 5000, 0, 0);
	CHECK_ERR("riovcnt (1 << 32) + 1", getpid(), l, 2, &r,
		  (1UL << 32) + 1, 0, EINVAL);
}
#endif

#if defined(__x86_64__) && defined(__LP64__)
/*
 * A 64-bit process entering through int $0x80 is a compat caller: both
 * iovec arrays are read in the 32-bit layout.
 */
struct compat_iovec {
	unsigned int base;
	int len;
};

static long int80(unsigned int nr, unsigned int a, unsigned int b,
		  unsigned int c, unsigned int d, unsigned int e,
		  unsigned int f)
{
	long ret;

	asm volatile("mov %%rbp, %%r12\n\t"
		     "mov %k[f], %%ebp\n\t"
		     "int $0x80\n\t"
		     "mov %%r12, %%rbp"
		     : "=a" (ret)
		     : "a" (nr), "b" (a), "c" (b), "d" (c), "S" (d), "D" (e),
		       [f] "r" (f)
		     : "r8", "r9", "r10", "r11", "r12", "memory", "cc");
	return ret;
}

static bool int80_works(void)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid == 0)
		_exit(int80(20, 0, 0, 0, 0, 0, 0) == getpid() ? 0 : 1);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(int80_compat_layout)
{
	struct compat_iovec *liov, *riov;
	unsigned char *low, *src, *dst;
	unsigned int u;
	long ret;
	int nr;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	if (!int80_works())
		SKIP(return, "int $0x80 unavailable (no IA32_EMULATION)");
	low = mmap(NULL, 3 * page_size(), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	ASSERT_TRUE(mapped(low));
	liov = (struct compat_iovec *)low;
	riov = liov + 2;
	src = low + page_size();
	dst = src + page_size();
	u = (unsigned int)(uintptr_t)dst;
	liov[0] = (struct compat_iovec){ u, 100 };
	liov[1] = (struct compat_iovec){ u + 200, 50 };
	u = (unsigned int)(uintptr_t)src;
	riov[0] = (struct compat_iovec){ u + 7, 150 };
	for (nr = 347; nr <= 348; nr++) {
		fill_pat(src, page_size(), 6);
		memset(dst, LCANARY, page_size());
		if (nr == 348)
			fill_pat(dst, page_size(), 6);
		ret = int80(nr, getpid(), (unsigned int)(uintptr_t)liov, 2,
			    (unsigned int)(uintptr_t)riov, 1, 0);
		EXPECT_EQ(150, ret);
		if (nr == 347) {
			expect_pat(dst, 100, 7, 6, "first compat iovec");
			expect_byte(dst + 100, 100, LCANARY, "gap");
			expect_pat(dst + 200, 50, 107, 6, "second");
			expect_byte(dst + 250, page_size() - 250, LCANARY,
				    "after");
		} else {
			expect_pat(src, 7, 0, 6, "before");
			expect_pat(src + 7, 100, 0, 6, "first compat iovec");
			expect_pat(src + 107, 50, 200, 6, "second");
			expect_pat(src + 157, page_size() - 157, 157, 6,
				   "after");
		}
	}
	liov[0].len = INT_MIN;
	EXPECT_EQ(-EINVAL, int80(347, getpid(), (unsigned int)(uintptr_t)liov,
				 1, (unsigned int)(uintptr_t)riov, 1, 0));
	munmap(low, 3 * page_size());
}
#endif

/*
 * Partial transfers: the count is exact to the byte where the remote or
 * the local side fails, and nothing is touched beyond that point.
 */
TEST(remote_hole_in_later_iovec)
{
	size_t ps = page_size();
	unsigned char lb[1000];
	struct iovec l = { lb, sizeof(lb) }, r[4];
	struct target t;
	ssize_t ret;
	int mode;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	ASSERT_EQ(0, area_setup(4 * ps, 7));
	ASSERT_EQ(0, munmap(area.base + 2 * ps, ps));
	area.skip = 1ULL << 2;
	r[0] = (struct iovec){ area.base + 10, 100 };
	r[1] = (struct iovec){ area.base + ps + 5, 200 };
	r[2] = (struct iovec){ area.base + 2 * ps + 1, 50 };
	r[3] = (struct iovec){ area.base + 3 * ps, 30 };
	for (mode = 0; mode < CMA_NR_MODES; mode++) {
		ASSERT_EQ(0, target_start(&t, NULL, NULL));
		if (mode & CMA_WRITE)
			fill_pat(lb, sizeof(lb), 8);
		else
			memset(lb, LCANARY, sizeof(lb));
		ret = pvm_call(mode, t.pid, &l, 1, r, 4, 0);
		EXPECT_EQ(300, ret) {
			TH_LOG("%s: %s", pvm_mode_name[mode], strerror(errno));
		}
		if (mode & CMA_WRITE) {
			ASSERT_EQ(0, target_call(&t, area_copy_back, NULL));
			expect_pat(area.back, 10, 0, 7, "before r[0]");
			expect_pat(area.back + 10, 100, 0, 8, "r[0]");
			expect_pat(area.back + 110, ps - 105, 110, 7,
				   "between");
			expect_pat(area.back + ps + 5, 200, 100, 8, "r[1]");
			expect_pat(area.back + ps + 205, ps - 205, ps + 205, 7,
				   "after r[1]");
			expect_pat(area.back + 3 * ps, ps, 3 * ps, 7,
				   "r[3] untouched");
		} else {
			expect_pat(lb, 100, 10, 7, "r[0]");
			expect_pat(lb + 100, 200, ps + 5, 7, "r[1]");
			expect_byte(lb + 300, 700, LCANARY, "past r[1]");
		}
		target_stop(&t);
	}
	area_free();
}

/* A hole at page 3 of 5 inside one remote iovec: 3 * PAGE_SIZE - offset */
static void hole_case(struct __test_metadata *_metadata, unsigned char *lb,
		      bool prot_none, size_t off, int mode)
{
	size_t ps = page_size(), want = 3 * ps - off;
	struct iovec l = { lb, 5 * ps }, r;
	struct target t;
	ssize_t ret;

	ASSERT_EQ(0, area_setup(5 * ps, 9));
	if (prot_none)
		ret = mprotect(area.base + 3 * ps, ps, PROT_NONE);
	else
		ret = munmap(area.base + 3 * ps, ps);
	ASSERT_EQ(0, ret);
	area.skip = 1ULL << 3;
	r = (struct iovec){ area.base + off, 5 * ps - off };
	if (mode & CMA_WRITE)
		fill_pat(lb, 6 * ps, 10);
	else
		memset(lb, LCANARY, 6 * ps);
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	ret = pvm_call(mode, t.pid, &l, 1, &r, 1, 0);
	EXPECT_EQ((ssize_t)want, ret) {
		TH_LOG("%s, %s at page 3, offset %zu: %s", pvm_mode_name[mode],
		       prot_none ? "PROT_NONE" : "hole", off, strerror(errno));
	}
	if (mode & CMA_WRITE) {
		ASSERT_EQ(0, target_call(&t, area_copy_back, NULL));
		expect_pat(area.back, off, 0, 9, "before");
		expect_pat(area.back + off, want, 0, 10, "written");
		expect_pat(area.back + 4 * ps, ps, 4 * ps, 9, "page 4");
	} else {
		expect_pat(lb, want, off, 9, "read");
		expect_byte(lb + want, 6 * ps - want, LCANARY, "past the hole");
	}
	target_stop(&t);
	area_free();
}

TEST(remote_hole_inside_iovec)
{
	size_t ps = page_size(), offs[3] = { 0, 1, ps - 1 };
	unsigned char *lb;
	int i, mode;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	lb = map_anon(6 * ps, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(lb));
	for (i = 0; i < 3; i++) {
		for (mode = 0; mode < CMA_NR_MODES; mode++) {
			hole_case(_metadata, lb, false, offs[i], mode);
			hole_case(_metadata, lb, true, offs[i], mode);
		}
	}
	munmap(lb, 6 * ps);
}

/* A local PROT_NONE page: PAGE_SIZE - 7 bytes (readv exactly), then EFAULT */
TEST(local_fault_byte_exact)
{
	size_t ps = page_size(), want = ps - 7;
	struct iovec l[2], r;
	struct target t;
	unsigned char *lb;
	ssize_t ret;
	int mode;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	lb = map_anon(3 * ps, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(lb));
	ASSERT_EQ(0, mprotect(lb + ps, ps, PROT_NONE));
	ASSERT_EQ(0, area_setup(2 * ps, 11));
	r = (struct iovec){ area.base, 2 * ps };
	for (mode = 0; mode < CMA_NR_MODES; mode++) {
		if (mode & CMA_WRITE)
			fill_pat(lb, ps, 12);
		else
			memset(lb, LCANARY, ps);
		ASSERT_EQ(0, target_start(&t, NULL, NULL));
		l[0] = (struct iovec){ lb + 7, 2 * ps - 7 };
		ret = pvm_call(mode, t.pid, l, 1, &r, 1, 0);
		if (mode & CMA_WRITE) {
			/*
			 * Reading the caller's memory may stop a few bytes
			 * short of the fault: a native i386 kernel's
			 * copy_from_user() moves whole words.  What it
			 * reports must be exactly what reached the target.
			 */
			EXPECT_TRUE(ret <= (ssize_t)want && ret > (ssize_t)want - 8) {
				TH_LOG("%s: %zd bytes: %s", pvm_mode_name[mode],
				       ret, strerror(errno));
			}
			if (ret < 0)
				ret = 0;
			ASSERT_EQ(0, target_call(&t, area_copy_back, NULL));
			expect_pat(area.back, ret, 7, 12, "written");
			expect_pat(area.back + ret, 2 * ps - ret, ret, 11,
				   "past the local fault");
		} else {
			EXPECT_EQ((ssize_t)want, ret) {
				TH_LOG("%s: %s", pvm_mode_name[mode],
				       strerror(errno));
			}
			expect_byte(lb, 7, LCANARY, "before");
			expect_pat(lb + 7, want, 0, 11, "read");
		}
		/* A fault in a later local iovec: the earlier ones count */
		l[0] = (struct iovec){ lb + 20, 100 };
		l[1] = (struct iovec){ lb + ps + 5, 50 };
		ret = pvm_call(mode, t.pid, l, 2, &r, 1, 0);
		EXPECT_EQ(100, ret) {
			TH_LOG("%s, fault in l[1]: %s", pvm_mode_name[mode],
			       strerror(errno));
		}
		/* Nothing copied at all: the error */
		errno = 0;
		ret = pvm_call(mode, t.pid, l + 1, 1, &r, 1, 0);
		EXPECT_EQ(-1, ret);
		EXPECT_EQ(EFAULT, errno);
		target_stop(&t);
	}
	area_free();
	munmap(lb, 3 * ps);
}

/* Remote iovecs past what the local side can take are never looked at */
TEST(remote_past_local_capacity)
{
	size_t ps = page_size();
	unsigned char lb[100 + 16];
	struct iovec l = { lb, 100 }, r[4], rs;
	struct target t;
	ssize_t ret;
	int mode;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	ASSERT_EQ(0, area_setup(2 * ps, 13));
	ASSERT_EQ(0, munmap(area.base + ps, ps));
	area.skip = 1ULL << 1;
	r[0] = (struct iovec){ area.base, 60 };
	r[1] = (struct iovec){ area.base + 200, 40 };
	r[2] = (struct iovec){ BOGUS_ADDR, 100 };
	r[3] = (struct iovec){ area.base + ps, 100 };
	rs = (struct iovec){ area.base + ps - 100, 200 };
	for (mode = 0; mode < CMA_NR_MODES; mode++) {
		ASSERT_EQ(0, target_start(&t, NULL, NULL));
		if (mode & CMA_WRITE)
			fill_pat(lb, sizeof(lb), 14);
		else
			memset(lb, LCANARY, sizeof(lb));
		ret = pvm_call(mode, t.pid, &l, 1, r, 4, 0);
		EXPECT_EQ(100, ret) {
			TH_LOG("%s: %s", pvm_mode_name[mode], strerror(errno));
		}
		if (!(mode & CMA_WRITE)) {
			expect_pat(lb, 60, 0, 13, "r[0]");
			expect_pat(lb + 60, 40, 200, 13, "r[1]");
			expect_byte(lb + 100, 16, LCANARY, "after");
		}
		/* Within one iovec: the unmapped page is past the local end */
		ret = pvm_call(mode, t.pid, &l, 1, &rs, 1, 0);
		EXPECT_EQ(100, ret) {
			TH_LOG("%s, one iovec: %s", pvm_mode_name[mode],
			       strerror(errno));
		}
		target_stop(&t);
	}
	area_free();
}

/* Memory kinds */
static void expect_efault_all(struct __test_metadata *_metadata, pid_t pid,
			      void *addr, size_t len, const char *what)
{
	unsigned char lb[64];
	struct iovec l = { lb, len < sizeof(lb) ? len : sizeof(lb) };
	struct iovec r = { addr, len };

	memset(lb, LCANARY, sizeof(lb));
	CHECK_ERR(what, pid, &l, 1, &r, 1, 0, EFAULT);
}

TEST(remote_unmapped)
{
	size_t ps = page_size();
	struct target t;
	void *gone;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	gone = map_anon(ps, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(gone));
	ASSERT_EQ(0, munmap(gone, ps));
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	expect_efault_all(_metadata, t.pid, gone, 10, "unmapped page");
	expect_efault_all(_metadata, t.pid, NULL, 10, "NULL");
	expect_efault_all(_metadata, t.pid, BOGUS_ADDR, 10, "top page");
	target_stop(&t);
}

TEST(remote_prot_none)
{
	struct target t;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	ASSERT_EQ(0, area_setup(page_size(), 15));
	ASSERT_EQ(0, mprotect(area.base, page_size(), PROT_NONE));
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	expect_efault_all(_metadata, t.pid, area.base + 1, 10, "PROT_NONE");
	target_stop(&t);
	area_free();
}

/* No FOLL_FORCE: a read-only mapping cannot be written */
TEST(remote_readonly)
{
	size_t ps = page_size();
	unsigned char lb[64];
	struct iovec l = { lb, sizeof(lb) }, r;
	struct target t;
	unsigned char *shro;
	int fd, mode;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	ASSERT_EQ(0, area_setup(ps, 16));
	ASSERT_EQ(0, mprotect(area.base, ps, PROT_READ));
	fd = memfd_create("pvm_ro", 0);
	if (fd < 0)
		SKIP(return, "memfd_create: %s", strerror(errno));
	ASSERT_EQ(0, ftruncate(fd, ps));
	shro = mmap(NULL, ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_TRUE(mapped(shro));
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	r = (struct iovec){ area.base + 5, sizeof(lb) };
	for (mode = CMA_READ; mode <= CMA_RAW; mode += CMA_RAW) {
		memset(lb, LCANARY, sizeof(lb));
		EXPECT_EQ(64, pvm_call(mode, t.pid, &l, 1, &r, 1, 0));
		expect_pat(lb, sizeof(lb), 5, 16, "read-only anon, read");
		memset(lb, 0, sizeof(lb));
		errno = 0;
		EXPECT_EQ(-1, pvm_call(mode | CMA_WRITE, t.pid, &l, 1, &r, 1,
				       0));
		EXPECT_EQ(EFAULT, errno);
	}
	ASSERT_EQ(0, target_call(&t, area_copy_back, NULL));
	expect_pat(area.back, ps, 0, 16, "read-only anon after writev");
	r = (struct iovec){ shro, 10 };
	errno = 0;
	EXPECT_EQ(-1, pvm_call(CMA_WRITE, t.pid, &l, 1, &r, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	expect_byte(shro, ps, 0, "read-only shared memfd after writev");
	target_stop(&t);
	munmap(shro, ps);
	close(fd);
	area_free();
}

TEST(untouched_anon_reads_zeros)
{
	size_t ps = page_size(), len = 3 * ps - 1;
	unsigned char *lb, *rm;
	struct iovec l, r;
	struct target t;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	rm = map_anon(3 * ps, PROT_READ | PROT_WRITE, MAP_NORESERVE);
	lb = map_anon(4 * ps, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(rm));
	ASSERT_TRUE(mapped(lb));
	memset(lb, LCANARY, 4 * ps);
	l = (struct iovec){ lb + 1, len };
	r = (struct iovec){ rm + 1, len };
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	EXPECT_EQ((ssize_t)len, pvm_call(CMA_READ, t.pid, &l, 1, &r, 1, 0));
	expect_byte(lb, 1, LCANARY, "before");
	expect_byte(lb + 1, len, 0, "untouched anonymous memory");
	expect_byte(lb + 1 + len, 4 * ps - 1 - len, LCANARY, "after");
	target_stop(&t);
}

TEST(memfd_shared)
{
	size_t ps = page_size();
	unsigned char *lb, *sh, *fb;
	struct iovec l, r;
	struct target t;
	int fd;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	fd = memfd_create("pvm_shared", 0);
	if (fd < 0)
		SKIP(return, "memfd_create: %s", strerror(errno));
	ASSERT_EQ(0, ftruncate(fd, 2 * ps));
	sh = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_TRUE(mapped(sh));
	lb = map_anon(2 * ps, PROT_READ | PROT_WRITE, 0);
	fb = map_anon(2 * ps, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(lb));
	ASSERT_TRUE(mapped(fb));
	fill_pat(sh, 2 * ps, 17);
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	memset(lb, LCANARY, 2 * ps);
	l = (struct iovec){ lb, ps + 9 };
	r = (struct iovec){ sh + ps / 2, ps + 9 };
	EXPECT_EQ((ssize_t)(ps + 9), pvm_call(CMA_READ, t.pid, &l, 1, &r, 1,
					      0));
	expect_pat(lb, ps + 9, ps / 2, 17, "memfd read");
	/* A write lands in the shared page cache: we see it, so does read() */
	fill_pat(lb, 2 * ps, 18);
	r = (struct iovec){ sh + 5, ps };
	EXPECT_EQ((ssize_t)ps, pvm_call(CMA_WRITE | CMA_RAW, t.pid, &l, 1, &r,
					1, 0));
	expect_pat(sh, 5, 0, 17, "before");
	expect_pat(sh + 5, ps, 0, 18, "written through the target");
	expect_pat(sh + ps + 5, ps - 5, ps + 5, 17, "after");
	ASSERT_EQ((ssize_t)(2 * ps), pread(fd, fb, 2 * ps, 0));
	expect_same(fb, sh, 2 * ps, "read() of the memfd");
	target_stop(&t);
	munmap(sh, 2 * ps);
	close(fd);
}

static int tmpfile_with(size_t len, unsigned int seed)
{
	char path[] = "/tmp/process_vm_test.XXXXXX";
	unsigned char *buf;
	int fd;

	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	buf = malloc(len ? len : 1);
	if (!buf) {
		close(fd);
		return -1;
	}
	if (seed)
		fill_pat(buf, len, seed);
	else
		memset(buf, 0, len);
	if (write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		fd = -1;
	}
	free(buf);
	return fd;
}

TEST(file_private_readonly)
{
	size_t ps = page_size(), len = 2 * ps - 1;
	unsigned char *fm, *lb;
	struct iovec l, r;
	struct target t;
	int fd;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	fd = tmpfile_with(2 * ps + 123, 19);
	ASSERT_LE(0, fd);
	fm = mmap(NULL, 2 * ps, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_TRUE(mapped(fm));
	lb = map_anon(3 * ps, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(lb));
	memset(lb, LCANARY, 3 * ps);
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	l = (struct iovec){ lb, len };
	r = (struct iovec){ fm + 1, len };
	EXPECT_EQ((ssize_t)len, pvm_call(CMA_READ, t.pid, &l, 1, &r, 1, 0));
	expect_pat(lb, len, 1, 19, "file data");
	expect_byte(lb + len, 3 * ps - len, LCANARY, "after");
	errno = 0;
	EXPECT_EQ(-1, pvm_call(CMA_WRITE, t.pid, &l, 1, &r, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	expect_pat(fm, 2 * ps, 0, 19, "file mapping after writev");
	target_stop(&t);
	munmap(fm, 2 * ps);
	close(fd);
}

/* Pages past EOF cannot be pinned: the count stops at the last one */
TEST(file_past_eof)
{
	size_t ps = page_size(), flen = ps + ps / 2;
	unsigned char *fm, *lb;
	struct iovec l, r;
	struct target t;
	int fd, shared;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	fd = tmpfile_with(flen, 20);
	ASSERT_LE(0, fd);
	lb = map_anon(4 * ps, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(lb));
	for (shared = 0; shared < 2; shared++) {
		fm = mmap(NULL, 3 * ps, PROT_READ,
			  shared ? MAP_SHARED : MAP_PRIVATE, fd, 0);
		ASSERT_TRUE(mapped(fm));
		memset(lb, LCANARY, 4 * ps);
		ASSERT_EQ(0, target_start(&t, NULL, NULL));
		l = (struct iovec){ lb, 3 * ps };
		r = (struct iovec){ fm, 3 * ps };
		EXPECT_EQ((ssize_t)(2 * ps), pvm_call(CMA_READ, t.pid, &l, 1,
						      &r, 1, 0)) {
			TH_LOG("%s mapping: %s", shared ? "shared" : "private",
			       strerror(errno));
		}
		expect_pat(lb, flen, 0, 20, "file data");
		expect_byte(lb + flen, 2 * ps - flen, 0, "tail of EOF page");
		expect_byte(lb + 2 * ps, 2 * ps, LCANARY, "past EOF page");
		target_stop(&t);
		munmap(fm, 3 * ps);
	}
	close(fd);
	munmap(lb, 4 * ps);
}

TEST(file_shared_write_reaches_file)
{
	size_t ps = page_size();
	unsigned char *fm, *lb, *fb;
	struct iovec l, r;
	struct target t;
	int fd;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	fd = tmpfile_with(2 * ps, 0);
	ASSERT_LE(0, fd);
	fm = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_TRUE(mapped(fm));
	lb = map_anon(ps, PROT_READ | PROT_WRITE, 0);
	fb = map_anon(2 * ps, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(lb));
	ASSERT_TRUE(mapped(fb));
	fill_pat(lb, ps, 21);
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	l = (struct iovec){ lb, ps };
	r = (struct iovec){ fm + 3, ps };
	EXPECT_EQ((ssize_t)ps, pvm_call(CMA_WRITE, t.pid, &l, 1, &r, 1, 0));
	target_stop(&t);
	ASSERT_EQ((ssize_t)(2 * ps), pread(fd, fb, 2 * ps, 0));
	expect_byte(fb, 3, 0, "file before");
	expect_pat(fb + 3, ps, 0, 21, "file contents");
	expect_byte(fb + 3 + ps, ps - 3, 0, "file after");
	munmap(fm, 2 * ps);
	close(fd);
}

/*
 * Odd offsets in and across two huge pages at @base (@hsize each), which
 * is area.base: read them, then write others and check the copy-back.
 */
static void huge_odd_offsets(struct __test_metadata *_metadata,
			     unsigned char *base, size_t hsize)
{
	size_t ps = page_size(), lens[4], offs[4], i, o, total;
	unsigned char *lb, *expect;
	struct iovec l, r[4];
	struct target t;

	offs[0] = hsize - 3;		lens[0] = 7;
	offs[1] = 1;			lens[1] = ps + 1;
	offs[2] = 2 * hsize - 5;	lens[2] = 5;
	offs[3] = hsize / 2 + 1;	lens[3] = hsize;
	for (i = 0, total = 0; i < 4; i++) {
		r[i] = (struct iovec){ base + offs[i], lens[i] };
		total += lens[i];
	}
	lb = map_anon(hsize + 4 * ps, PROT_READ | PROT_WRITE, 0);
	expect = map_anon(2 * hsize, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(lb));
	ASSERT_TRUE(mapped(expect));
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	memset(lb, LCANARY, total + ps);
	l = (struct iovec){ lb, total };
	EXPECT_EQ((ssize_t)total, pvm_call(CMA_READ, t.pid, &l, 1, r, 4, 0));
	for (i = 0, o = 0; i < 4; o += lens[i++])
		expect_pat(lb + o, lens[i], offs[i], 22, "huge page read");
	expect_byte(lb + total, ps, LCANARY, "after");

	offs[0] = hsize - 1;		lens[0] = 2;
	offs[1] = 3;			lens[1] = 3 * ps + 1;
	offs[2] = hsize + ps - 1;	lens[2] = hsize - ps;
	for (i = 0, total = 0; i < 3; i++) {
		r[i] = (struct iovec){ base + offs[i], lens[i] };
		total += lens[i];
	}
	fill_pat(lb, total, 23);
	fill_pat(expect, 2 * hsize, 22);
	for (i = 0, o = 0; i < 3; o += lens[i++])
		memcpy(expect + offs[i], lb + o, lens[i]);
	l = (struct iovec){ lb, total };
	EXPECT_EQ((ssize_t)total, pvm_call(CMA_WRITE | CMA_RAW, t.pid, &l, 1,
					   r, 3, 0));
	ASSERT_EQ(0, target_call(&t, area_copy_back, NULL));
	expect_same(area.back, expect, 2 * hsize, "huge pages after writev");
	expect_pat(base, 2 * hsize, 0, 22, "our copy after the target's COW");
	target_stop(&t);
	munmap(lb, hsize + 4 * ps);
	munmap(expect, 2 * hsize);
}

TEST_F_TIMEOUT(slow, thp_odd_offsets, 300)
{
	size_t hsize = thp_size();

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	area.maplen = 3 * hsize;
	area.map = map_anon(area.maplen, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(area.map));
	area.base = (unsigned char *)(((uintptr_t)area.map + hsize - 1) &
				      ~(uintptr_t)(hsize - 1));
	area.len = 2 * hsize;
	area.skip = 0;
	area.back = mmap(NULL, area.len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(mapped(area.back));
	if (madvise(area.base, area.len, MADV_HUGEPAGE))
		TH_LOG("MADV_HUGEPAGE: %s; small pages", strerror(errno));
	fill_pat(area.base, area.len, 22);
	huge_odd_offsets(_metadata, area.base, hsize);
	munmap(area.map, area.maplen);
	munmap(area.back, area.len);
}

/* hugetlb: reserve four pages (two for us, two for the target's COW) */
FIXTURE(hugetlb) {
	size_t hsize;
	long orig_nr;
	bool changed;
	char free_path[128];
};

static long hugetlb_free(const char *path)
{
	long v;

	return read_int_file(path, &v) ? 0 : v;
}

FIXTURE_SETUP(hugetlb)
{
	char line[128];
	long kb = 0, nr;
	FILE *f;

	if (!pvm_available())
		return;
	f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	if (kb <= 0)
		return;
	self->hsize = (size_t)kb << 10;
	snprintf(self->free_path, sizeof(self->free_path),
		 "/sys/kernel/mm/hugepages/hugepages-%ldkB/free_hugepages", kb);
	nr = hugetlb_free(self->free_path);
	if (nr >= 4 || geteuid() != 0 ||
	    read_int_file("/proc/sys/vm/nr_hugepages", &self->orig_nr))
		return;
	if (!write_int_file("/proc/sys/vm/nr_hugepages",
			    self->orig_nr + 4 - nr))
		self->changed = true;
}

FIXTURE_TEARDOWN(hugetlb)
{
	if (self->changed)
		write_int_file("/proc/sys/vm/nr_hugepages", self->orig_nr);
}

TEST_F_TIMEOUT(hugetlb, odd_offsets, 300)
{
	long nr;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	if (!self->hsize)
		SKIP(return, "hugetlb: no Hugepagesize in /proc/meminfo");
	nr = hugetlb_free(self->free_path);
	if (nr < 4)
		SKIP(return, "hugetlb: %ld free huge pages, 4 needed", nr);
	area.len = 2 * self->hsize;
	area.maplen = area.len;
	area.skip = 0;
	area.map = mmap(NULL, area.len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (area.map == MAP_FAILED)
		SKIP(return, "hugetlb: mmap(MAP_HUGETLB): %s", strerror(errno));
	area.base = area.map;
	area.back = mmap(NULL, area.len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(mapped(area.back));
	fill_pat(area.base, area.len, 22);
	huge_odd_offsets(_metadata, area.base, self->hsize);
	munmap(area.map, area.len);
	munmap(area.back, area.len);
}

/* writev into the target's private copy leaves ours alone */
TEST(cow_after_fork)
{
	size_t ps = page_size(), len = 4 * ps - 2;
	unsigned char *lb;
	struct iovec l, r;
	struct target t;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	ASSERT_EQ(0, area_setup(4 * ps, 24));
	lb = map_anon(4 * ps, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(lb));
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	/* A read pin first: it may unshare the pages in the target */
	l = (struct iovec){ lb, len };
	r = (struct iovec){ area.base + 1, len };
	EXPECT_EQ((ssize_t)len, pvm_call(CMA_READ, t.pid, &l, 1, &r, 1, 0));
	expect_pat(lb, len, 1, 24, "read before the write");
	fill_pat(lb, len, 25);
	EXPECT_EQ((ssize_t)len, pvm_call(CMA_WRITE, t.pid, &l, 1, &r, 1, 0));
	expect_pat(area.base, 4 * ps, 0, 24, "our copy");
	ASSERT_EQ(0, target_call(&t, area_copy_back, NULL));
	expect_pat(area.back, 1, 0, 24, "target before");
	expect_pat(area.back + 1, len, 0, 25, "target's copy");
	expect_pat(area.back + 1 + len, 1, 1 + len, 24, "target after");
	memset(lb, LCANARY, len);
	EXPECT_EQ((ssize_t)len, pvm_call(CMA_READ | CMA_RAW, t.pid, &l, 1, &r,
					 1, 0));
	expect_pat(lb, len, 0, 25, "read back");
	target_stop(&t);
	area_free();
}

/* Start of the mapping of @pid whose maps line ends in @name, or 0 */
static uintptr_t mapping_start(pid_t pid, const char *name)
{
	unsigned long start = 0, s, e;
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strstr(line, name) || sscanf(line, "%lx-%lx", &s, &e) != 2)
			continue;
		if (!strcmp(strstr(line, name), name))
			start = s;
	}
	if (f)
		fclose(f);
	return start;
}

/* GUP does not grow the stack: the page below it stays unmapped */
TEST(below_stack_not_grown)
{
	size_t ps = page_size();
	struct target t;
	uintptr_t st;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	st = mapping_start(t.pid, "[stack]\n");
	ASSERT_NE(0, st);
	expect_efault_all(_metadata, t.pid, (void *)(st - 1), 1,
			  "last byte below the stack");
	expect_efault_all(_metadata, t.pid, (void *)(st - ps), ps,
			  "page below the stack");
	EXPECT_EQ(st, mapping_start(t.pid, "[stack]\n"));
	target_stop(&t);
}

/* VM_IO | VM_PFNMAP mappings cannot be pinned */
TEST(vvar_efault)
{
	struct target t;
	uintptr_t vvar;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	vvar = mapping_start(getpid(), "[vvar]\n");
	if (!vvar)
		SKIP(return, "no [vvar] mapping");
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	expect_efault_all(_metadata, t.pid, (void *)vvar, 8, "[vvar]");
	target_stop(&t);
}

/* Write @what to /proc/@pid/clear_refs; 0, or -1 if that cannot be done */
static int write_clear_refs(pid_t pid, const char *what)
{
	char path[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", pid);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ret = write(fd, what, strlen(what)) == (ssize_t)strlen(what) ? 0 : -1;
	close(fd);
	return ret;
}

/*
 * The target's pages at touched_base: made present and its own, then their
 * accessed state cleared (clear_refs 1: the referenced and young bits).
 */
static unsigned char *touched_base;
static size_t touched_len;

static int touched_fill(void *arg)
{
	memset(touched_base, 0x5a, touched_len);
	return write_clear_refs(getpid(), "1");
}

/*
 * Pages read or written are marked accessed, as get_user_pages() does with
 * FOLL_TOUCH, so that reclaim sees the traffic: smaps "Referenced" covers
 * the whole range after each call.
 */
TEST(transfers_mark_pages_accessed)
{
	size_t len = 1 << 20;
	unsigned char *lb;
	struct iovec l, r;
	struct target t;
	int mode;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	if (write_clear_refs(getpid(), "1"))
		SKIP(return, "no /proc/PID/clear_refs (CONFIG_PROC_PAGE_MONITOR)");
	/*
	 * Untouched before the fork, so the target's pages are its own, and
	 * MAP_NORESERVE keeps the VMA from merging with its neighbours.
	 */
	touched_len = len;
	touched_base = map_anon(len, PROT_READ | PROT_WRITE, MAP_NORESERVE);
	lb = map_anon(len, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(touched_base));
	ASSERT_TRUE(mapped(lb));
	memset(lb, 0x33, len);
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	for (mode = CMA_READ; mode <= CMA_WRITE; mode++) {
		ASSERT_EQ(0, target_call(&t, touched_fill, NULL));
		EXPECT_EQ(0, smaps_kb(t.pid, touched_base, "Referenced:"));
		l = (struct iovec){ lb, len };
		r = (struct iovec){ touched_base, len };
		EXPECT_EQ((ssize_t)len, pvm_call(mode, t.pid, &l, 1, &r, 1, 0));
		EXPECT_EQ((long)(len >> 10),
			  smaps_kb(t.pid, touched_base, "Referenced:"))
			TH_LOG("after %s", pvm_mode_name[mode]);
	}
	target_stop(&t);
	munmap(lb, len);
	munmap(touched_base, len);
}

/*
 * Memory kinds a distribution kernel has: swap, KSM, memfd_secret(),
 * soft-dirty, MADV_FREE, a second NUMA node, userfaultfd.  The target's
 * KIND_PAGES pages at kind_base are mapped, untouched, before the fork, so
 * that they are the target's own; target functions set them up.
 */
#define KIND_PAGES	8
#define PM_SOFT_DIRTY	0x0080000000000000ULL	/* bit 55 */
#define PM_SWAPPED	0x4000000000000000ULL	/* bit 62 */
#define PM_PRESENT	0x8000000000000000ULL	/* bit 63 */
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

static unsigned char *kind_base;
static size_t kind_len;

static int kind_fill(void *seed)
{
	fill_pat(kind_base, kind_len, (unsigned int)(uintptr_t)seed);
	return 0;
}

static int kind_madvise(void *advice)
{
	return madvise(kind_base, kind_len, (int)(uintptr_t)advice) ? errno : 0;
}

static int kind_clear_refs(void *what)
{
	return write_clear_refs(getpid(), what);
}

/* Pages of kind_base in @pid with any of pagemap's @bits, or -1 */
static long kind_pagemap(pid_t pid, uint64_t bits)
{
	size_t ps = page_size(), i;
	char path[64];
	uint64_t e;
	long n = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	for (i = 0; i < KIND_PAGES; i++) {
		off_t at = (off_t)(((uintptr_t)kind_base / ps + i) * sizeof(e));

		if (pread(fd, &e, sizeof(e), at) != sizeof(e)) {
			n = -1;
			break;
		}
		n += !!(e & bits);
	}
	close(fd);
	return n;
}

/*
 * Empty every CPU's LRU batch: MADV_PAGEOUT drains the batch of the CPU it
 * runs on, so run it on each CPU in turn, over a page of our own.
 */
static void drain_lru_batches(void)
{
	static unsigned char *own;
	cpu_set_t all, one;
	int cpu;

	if (!own)
		own = map_anon(page_size(), PROT_READ | PROT_WRITE, 0);
	if (!mapped(own) || sched_getaffinity(0, sizeof(all), &all))
		return;
	own[0] = 1;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &all))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (!sched_setaffinity(0, sizeof(one), &one))
			madvise(own, page_size(), MADV_PAGEOUT);
	}
	sched_setaffinity(0, sizeof(all), &all);
}

/*
 * MADV_PAGEOUT skips pages still in a CPU's LRU batch (pages just faulted
 * in, by the target or by a transfer): drain every batch and ask again, a
 * few times, until every page is out.  Returns the pages swapped out.
 */
static long kind_pageout(struct target *t)
{
	long out = 0;
	int i;

	for (i = 0; i < 20 && out != KIND_PAGES; i++) {
		drain_lru_batches();
		if (target_call(t, kind_madvise, (void *)MADV_PAGEOUT))
			return -1;
		out = kind_pagemap(t->pid, PM_SWAPPED);
		if (out != KIND_PAGES)
			poll(NULL, 0, 50);
	}
	return out;
}

static void kind_map(struct __test_metadata *_metadata, int prot)
{
	kind_len = KIND_PAGES * page_size();
	kind_base = map_anon(kind_len, prot, MAP_NORESERVE);
	ASSERT_TRUE(mapped(kind_base));
}

/* Read all of kind_base from @pid, 1 byte in, and check it against @seed */
static void kind_read_check(struct __test_metadata *_metadata, pid_t pid,
			    unsigned int seed, const char *what)
{
	unsigned char *lb = malloc(kind_len);
	struct iovec l = { lb, kind_len - 2 }, r = { kind_base + 1, kind_len - 2 };

	ASSERT_FALSE(!lb);
	EXPECT_EQ((ssize_t)kind_len - 2, pvm_call(CMA_READ, pid, &l, 1, &r, 1, 0))
		TH_LOG("%s", what);
	expect_pat(lb, kind_len - 2, 1, seed, what);
	free(lb);
}

/* Write pattern @seed over all of kind_base in @pid, 1 byte in */
static void kind_write(struct __test_metadata *_metadata, pid_t pid,
		       unsigned int seed, const char *what)
{
	unsigned char *lb = malloc(kind_len);
	struct iovec l = { lb + 1, kind_len - 2 }, r = { kind_base + 1, kind_len - 2 };

	ASSERT_FALSE(!lb);
	fill_pat(lb, kind_len, seed);
	EXPECT_EQ((ssize_t)kind_len - 2,
		  pvm_call(CMA_WRITE, pid, &l, 1, &r, 1, 0))
		TH_LOG("%s", what);
	free(lb);
}

/* Pages swapped out with MADV_PAGEOUT are read and written as any others */
TEST(swapped_out_pages)
{
	struct target t;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	kind_map(_metadata, PROT_READ | PROT_WRITE);
	ASSERT_EQ(0, target_start(&t, kind_fill, (void *)40));
	if (kind_pageout(&t) != KIND_PAGES) {
		target_stop(&t);
		SKIP(return, "no swap: MADV_PAGEOUT left the pages resident");
	}
	kind_read_check(_metadata, t.pid, 40, "read of swapped-out pages");
	/* Best effort from here on: the data checks are the test. */
	kind_pageout(&t);
	kind_write(_metadata, t.pid, 41, "write onto swapped-out pages");
	kind_pageout(&t);
	kind_read_check(_metadata, t.pid, 41, "read back after swapping out");
	target_stop(&t);
	munmap(kind_base, kind_len);
}

/*
 * A page written by writev after MADV_FREE is the target's data again and
 * survives reclaim; one left alone may be dropped (reads as zero).
 */
TEST(madv_free_written_survives_reclaim)
{
	struct target t;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	kind_map(_metadata, PROT_READ | PROT_WRITE);
	ASSERT_EQ(0, target_start(&t, kind_fill, (void *)42));
	ASSERT_EQ(0, target_call(&t, kind_madvise, (void *)MADV_FREE));
	kind_write(_metadata, t.pid, 43, "write onto MADV_FREE pages");
	ASSERT_EQ(0, target_call(&t, kind_madvise, (void *)MADV_PAGEOUT));
	kind_read_check(_metadata, t.pid, 43, "after reclaim");
	target_stop(&t);
	munmap(kind_base, kind_len);
}

/* A writev sets soft-dirty on exactly the pages it writes */
TEST(soft_dirty_set_by_writev)
{
	size_t ps = page_size();
	unsigned char byte = 0x99;
	struct iovec l = { &byte, 1 }, r;
	struct target t;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	kind_map(_metadata, PROT_READ | PROT_WRITE);
	ASSERT_EQ(0, target_start(&t, kind_fill, (void *)44));
	if (kind_pagemap(t.pid, PM_SOFT_DIRTY) != KIND_PAGES) {
		target_stop(&t);
		SKIP(return, "no soft-dirty tracking (CONFIG_MEM_SOFT_DIRTY)");
	}
	ASSERT_EQ(0, target_call(&t, kind_clear_refs, "4"));
	EXPECT_EQ(0, kind_pagemap(t.pid, PM_SOFT_DIRTY));
	kind_read_check(_metadata, t.pid, 44, "a read sets nothing");
	EXPECT_EQ(0, kind_pagemap(t.pid, PM_SOFT_DIRTY));
	r = (struct iovec){ kind_base + 2 * ps + 5, 1 };
	EXPECT_EQ(1, pvm_call(CMA_WRITE, t.pid, &l, 1, &r, 1, 0));
	EXPECT_EQ(1, kind_pagemap(t.pid, PM_SOFT_DIRTY));
	target_stop(&t);
	munmap(kind_base, kind_len);
}

static int kind_ksm_merge(void *arg)
{
	memset(kind_base, 0x77, kind_len);
	return madvise(kind_base, kind_len, MADV_MERGEABLE) ? errno : 0;
}

static long ksm_stat(const char *name)
{
	char path[96], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strtol(buf, NULL, 10);
}

static int ksm_set(const char *name, const char *value)
{
	char path[96];
	int fd, ret;

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ret = write(fd, value, strlen(value)) == (ssize_t)strlen(value) ? 0 : -1;
	close(fd);
	return ret;
}

/* KSM-merged pages read as their content; a write copies in the target only */
TEST_F_TIMEOUT(slow, ksm_merged_pages, 120)
{
	size_t ps = page_size();
	unsigned char *lb = malloc(KIND_PAGES * ps);
	struct iovec l, r;
	struct target t;
	int waited;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	if (ksm_stat("run") < 0)
		SKIP(return, "no KSM (CONFIG_KSM)");
	ASSERT_FALSE(!lb);
	kind_map(_metadata, PROT_READ | PROT_WRITE);
	ASSERT_EQ(0, target_start(&t, kind_ksm_merge, NULL));
	ASSERT_EQ(0, ksm_set("sleep_millisecs", "10"));
	ASSERT_EQ(0, ksm_set("run", "1"));
	for (waited = 0; waited < 600 && ksm_stat("pages_sharing") < KIND_PAGES - 1;
	     waited++)
		poll(NULL, 0, 100);
	if (ksm_stat("pages_sharing") < KIND_PAGES - 1) {
		target_stop(&t);
		ksm_set("run", "2");
		SKIP(return, "ksmd merged nothing in 60 s");
	}
	l = (struct iovec){ lb, KIND_PAGES * ps };
	r = (struct iovec){ kind_base, KIND_PAGES * ps };
	EXPECT_EQ((ssize_t)(KIND_PAGES * ps),
		  pvm_call(CMA_READ, t.pid, &l, 1, &r, 1, 0));
	expect_byte(lb, KIND_PAGES * ps, 0x77, "merged pages");
	fill_pat(lb, ps, 45);
	l = (struct iovec){ lb, ps };
	r = (struct iovec){ kind_base + 3 * ps, ps };
	EXPECT_EQ((ssize_t)ps, pvm_call(CMA_WRITE, t.pid, &l, 1, &r, 1, 0));
	l = (struct iovec){ lb, KIND_PAGES * ps };
	r = (struct iovec){ kind_base, KIND_PAGES * ps };
	memset(lb, 0, KIND_PAGES * ps);
	EXPECT_EQ((ssize_t)(KIND_PAGES * ps),
		  pvm_call(CMA_READ, t.pid, &l, 1, &r, 1, 0));
	expect_byte(lb, 3 * ps, 0x77, "merged pages before the written one");
	expect_pat(lb + 3 * ps, ps, 0, 45, "the written page");
	expect_byte(lb + 4 * ps, (KIND_PAGES - 4) * ps, 0x77,
		    "merged pages after the written one");
	target_stop(&t);
	ksm_set("run", "2");
	munmap(kind_base, kind_len);
	free(lb);
}

#ifdef SYS_memfd_secret
static int kind_secret(void *arg)
{
	int fd = syscall(SYS_memfd_secret, 0);
	void *p;

	if (fd < 0)
		return errno;
	if (ftruncate(fd, kind_len))
		return errno;
	p = mmap(kind_base, kind_len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED)
		return errno;
	memset(kind_base, 0x42, kind_len);
	return 0;
}
#endif

/* memfd_secret() memory is out of reach both ways */
TEST(memfd_secret_efault)
{
	int err = ENOSYS;
	struct target t;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	kind_map(_metadata, PROT_READ | PROT_WRITE);
#ifdef SYS_memfd_secret
	err = target_start(&t, kind_secret, NULL);
#else
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
#endif
	if (err == ENOSYS || err == EINVAL) {
		target_stop(&t);
		SKIP(return, "no memfd_secret() (CONFIG_SECRETMEM, secretmem.enable=1)");
	}
	ASSERT_EQ(0, err);
	expect_efault_all(_metadata, t.pid, kind_base, kind_len, "secret memory");
	target_stop(&t);
	munmap(kind_base, kind_len);
}

/* Pages on the other NUMA node are read and written as any others */
static int kind_node1(void *arg)
{
	unsigned long mask = 2;	/* node 1 */

	if (syscall(SYS_mbind, kind_base, kind_len, 2 /* MPOL_BIND */, &mask,
		    sizeof(mask) * 8, 0))
		return errno;
	return kind_fill((void *)46);
}

TEST(other_numa_node)
{
	void *pages[KIND_PAGES];
	int status[KIND_PAGES], i, on1 = 0;
	struct target t;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(return, "one NUMA node");
	kind_map(_metadata, PROT_READ | PROT_WRITE);
	ASSERT_EQ(0, target_start(&t, kind_node1, NULL));
	for (i = 0; i < KIND_PAGES; i++)
		pages[i] = kind_base + i * page_size();
	ASSERT_EQ(0, syscall(SYS_move_pages, t.pid, KIND_PAGES, pages, NULL,
			     status, 0));
	for (i = 0; i < KIND_PAGES; i++)
		on1 += status[i] == 1;
	EXPECT_EQ(KIND_PAGES, on1);
	kind_read_check(_metadata, t.pid, 46, "read from node 1");
	kind_write(_metadata, t.pid, 47, "write to node 1");
	kind_read_check(_metadata, t.pid, 47, "read back from node 1");
	target_stop(&t);
	munmap(kind_base, kind_len);
}

/* kind_base under a userfaultfd in the target, served after @delay_ms */
static struct uffd_area kind_uffd_area;

static int kind_uffd(void *delay_ms)
{
	kind_uffd_area = (struct uffd_area){
		.base = kind_base, .len = kind_len, .seed = 48,
		.delay_ms = (int)(intptr_t)delay_ms,
	};
	return uffd_start(&kind_uffd_area);
}

/* A missing page under userfaultfd: the call waits until it is resolved */
TEST(userfaultfd_missing_waits)
{
	size_t ps = page_size();
	unsigned char *lb = malloc(ps);
	struct iovec l = { lb, ps }, r;
	struct target t;
	uint64_t start;
	int err;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	ASSERT_FALSE(!lb);
	kind_map(_metadata, PROT_READ | PROT_WRITE);
	err = target_start(&t, kind_uffd, (void *)300);
	if (err == ENOSYS) {
		target_stop(&t);
		SKIP(return, "no userfaultfd (CONFIG_USERFAULTFD)");
	}
	ASSERT_EQ(0, err);
	r = (struct iovec){ kind_base + 2 * ps, ps };
	start = ms_now();
	EXPECT_EQ((ssize_t)ps, pvm_call(CMA_READ, t.pid, &l, 1, &r, 1, 0));
	EXPECT_LE(250, ms_now() - start);
	expect_pat(lb, ps, 0, 48, "the page the handler supplied");
	target_stop(&t);
	munmap(kind_base, kind_len);
	free(lb);
}

/* A fatal signal ends a wait on a userfaultfd page that is never resolved */
TEST(userfaultfd_wait_ends_on_sigkill)
{
	size_t ps = page_size();
	struct target t;
	int status = 0, i;
	pid_t reader;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	kind_map(_metadata, PROT_READ | PROT_WRITE);
	if (target_start(&t, kind_uffd, (void *)-1) == ENOSYS) {
		target_stop(&t);
		SKIP(return, "no userfaultfd (CONFIG_USERFAULTFD)");
	}
	reader = fork();
	ASSERT_LE(0, reader);
	if (reader == 0) {
		unsigned char byte;
		struct iovec l = { &byte, 1 }, r = { kind_base + ps, 1 };

		pvm_call(CMA_READ, t.pid, &l, 1, &r, 1, 0);
		_exit(0);
	}
	poll(NULL, 0, 300);
	EXPECT_EQ(0, waitpid(reader, &status, WNOHANG)) TH_LOG("did not wait");
	kill(reader, SIGKILL);
	for (i = 0; i < 200 && waitpid(reader, &status, WNOHANG) == 0; i++)
		poll(NULL, 0, 10);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("reader still waiting 2 s after SIGKILL");
	target_stop(&t);
	munmap(kind_base, kind_len);
}

/* Targets */
TEST(self_pid)
{
	size_t ps = page_size();
	unsigned char *a, *b;
	struct iovec l, r;
	int mode;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	a = map_anon(2 * ps, PROT_READ | PROT_WRITE, 0);
	b = map_anon(2 * ps, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(a));
	ASSERT_TRUE(mapped(b));
	for (mode = 0; mode < CMA_NR_MODES; mode++) {
		fill_pat(a, 2 * ps, 26);
		memset(b, LCANARY, 2 * ps);
		l = (struct iovec){ b + 1, ps + 1 };
		r = (struct iovec){ a + 3, ps + 1 };
		if (mode & CMA_WRITE) {
			fill_pat(b + 1, ps + 1, 27);
			EXPECT_EQ((ssize_t)(ps + 1),
				  pvm_call(mode, getpid(), &l, 1, &r, 1, 0));
			expect_pat(a, 3, 0, 26, "before");
			expect_pat(a + 3, ps + 1, 0, 27, "written");
			expect_pat(a + ps + 4, ps - 4, ps + 4, 26, "after");
		} else {
			EXPECT_EQ((ssize_t)(ps + 1),
				  pvm_call(mode, getpid(), &l, 1, &r, 1, 0));
			expect_byte(b, 1, LCANARY, "before");
			expect_pat(b + 1, ps + 1, 3, 26, "read");
			expect_byte(b + ps + 2, ps - 2, LCANARY, "after");
		}
	}
}

static char marker[64];

static int set_marker(void *arg)
{
	snprintf(marker, sizeof(marker), "%s %d", (char *)arg, getpid());
	return 0;
}

/* We read the target's memory, not ours at the same address */
TEST(target_memory_not_callers)
{
	char buf[sizeof(marker)], want[sizeof(marker)];
	struct iovec l = { buf, sizeof(buf) }, r = { marker, sizeof(marker) };
	struct target t;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	snprintf(marker, sizeof(marker), "caller");
	ASSERT_EQ(0, target_start(&t, set_marker, "target"));
	snprintf(want, sizeof(want), "target %d", t.pid);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ((ssize_t)sizeof(buf), pvm_call(CMA_READ, t.pid, &l, 1, &r,
						 1, 0));
	EXPECT_STREQ(want, buf);
	EXPECT_STREQ("caller", marker);
	snprintf(buf, sizeof(buf), "written");
	EXPECT_EQ((ssize_t)sizeof(buf), pvm_call(CMA_WRITE, t.pid, &l, 1, &r,
						 1, 0));
	EXPECT_STREQ("caller", marker);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ((ssize_t)sizeof(buf), pvm_call(CMA_READ, t.pid, &l, 1, &r,
						 1, 0));
	EXPECT_STREQ("written", buf);
	target_stop(&t);
}

static struct tid_thread *shared_thread;

static int start_thread(void *arg)
{
	set_marker(arg);
	return tid_thread_start(shared_thread);
}

/* Any thread id of the target will do */
TEST(target_thread_id)
{
	char buf[sizeof(marker)], want[sizeof(marker)];
	struct iovec l = { buf, sizeof(buf) }, r = { marker, sizeof(marker) };
	ssize_t len = sizeof(buf);
	struct target t;
	int mode;
	pid_t tid;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	shared_thread = mmap(NULL, sizeof(*shared_thread),
			     PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(mapped(shared_thread));
	ASSERT_EQ(0, target_start(&t, start_thread, "threaded"));
	tid = tid_of(shared_thread);
	ASSERT_NE(t.pid, tid);
	snprintf(want, sizeof(want), "threaded %d", t.pid);
	for (mode = CMA_READ; mode <= CMA_RAW; mode += CMA_RAW) {
		memset(buf, 0, sizeof(buf));
		EXPECT_EQ(len, pvm_call(mode, tid, &l, 1, &r, 1, 0)) {
			TH_LOG("tid %d: %s", tid, strerror(errno));
		}
		EXPECT_STREQ(want, buf);
	}
	snprintf(buf, sizeof(buf), "via tid");
	EXPECT_EQ(len, pvm_call(CMA_WRITE, tid, &l, 1, &r, 1, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ((ssize_t)sizeof(buf), pvm_call(CMA_READ, t.pid, &l, 1, &r,
						 1, 0));
	EXPECT_STREQ("via tid", buf);
	target_stop(&t);
}

TEST(own_thread_id)
{
	char src[32] = "own thread", buf[32];
	struct iovec l = { buf, sizeof(buf) }, r = { src, sizeof(src) };
	struct tid_thread th;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	ASSERT_EQ(0, tid_thread_start(&th));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ((ssize_t)sizeof(buf),
		  pvm_call(CMA_READ, tid_of(&th), &l, 1, &r, 1, 0));
	EXPECT_STREQ("own thread", buf);
}

TEST(zombie_esrch)
{
	unsigned char lb[64], rb[64];
	struct iovec l = { lb, sizeof(lb) }, r = { rb, sizeof(rb) };
	pid_t pid;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(0);
	ASSERT_EQ(0, wait_zombie(pid));
	CHECK_ERR("zombie", pid, &l, 1, &r, 1, 0, ESRCH);
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	CHECK_ERR("reaped", pid, &l, 1, &r, 1, 0, ESRCH);
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] ? p[2] : 0;
}

/* A thread group whose leader has exited: no mm behind the leader's id */
TEST(exited_leader)
{
	char buf[sizeof(marker)], want[sizeof(marker)];
	struct iovec l = { buf, sizeof(buf) }, r = { marker, sizeof(marker) };
	struct tid_thread *th;
	int i;
	pid_t pid;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	th = mmap(NULL, sizeof(*th), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(mapped(th));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		set_marker("leaderless");
		if (tid_thread_start(th))
			_exit(1);
		/*
		 * End only the leader, with the raw syscall: glibc's
		 * pthread_exit() unwinds first, and an i386 glibc on a kernel
		 * without CONFIG_COMPAT_32BIT_TIME aborts there, its futex()
		 * call failing with ENOSYS.
		 */
		syscall(SYS_exit, 0);
	}
	/*
	 * Sleep with poll(), not usleep(): there i386 usleep() fails with
	 * ENOSYS at once, which would make this a busy loop of no fixed length.
	 */
	for (i = 0; i < 20000 && (!tid_of(th) || proc_state(pid) != 'Z'); i++)
		poll(NULL, 0, 1);
	ASSERT_EQ('Z', proc_state(pid));
	CHECK_ERR("exited leader", pid, &l, 1, &r, 1, 0, ESRCH);
	snprintf(want, sizeof(want), "leaderless %d", pid);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ((ssize_t)sizeof(buf),
		  pvm_call(CMA_READ, tid_of(th), &l, 1, &r, 1, 0));
	EXPECT_STREQ(want, buf);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

TEST(kthreadd_esrch)
{
	unsigned char lb[64];
	struct iovec l = { lb, sizeof(lb) }, r = { (void *)0x10000, 64 };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	if (!pid2_is_kthreadd())
		SKIP(return, "pid 2 is not kthreadd (in a pid namespace?)");
	CHECK_ERR("kthreadd", 2, &l, 1, &r, 1, 0, ESRCH);
}

struct killer {
	pid_t pid;
	unsigned int delay_us;
};

static void *killer_fn(void *arg)
{
	struct killer *k = arg;

	usleep(k->delay_us);
	kill(k->pid, SIGKILL);
	return NULL;
}

/*
 * The target is killed while we read 256 MiB from it: we hold its mm, so
 * the read completes in full, or the kill came first and we get ESRCH.
 */
TEST_F_TIMEOUT(slow, target_exits_during_transfer, 300)
{
	static struct iovec liov[128], riov[128];
	size_t unit = 2 << 20, want = 128 * unit;
	unsigned int delays[3] = { 0, 300, 2000 };
	struct timespec t0, t1;
	struct killer k;
	struct target t;
	pthread_t thr;
	unsigned char *lb;
	ssize_t ret;
	int i, err;
	long ms;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	ASSERT_EQ(0, area_setup(unit, 28));
	lb = map_anon(unit, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(lb));
	for (i = 0; i < 128; i++) {
		liov[i] = (struct iovec){ lb, unit };
		riov[i] = (struct iovec){ area.base, unit };
	}
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, target_start(&t, NULL, NULL));
		k = (struct killer){ t.pid, delays[i] };
		memset(lb, LCANARY, unit);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ASSERT_EQ(0, pthread_create(&thr, NULL, killer_fn, &k));
		ret = pvm_call(CMA_READ, t.pid, liov, 128, riov, 128, 0);
		err = errno;
		pthread_join(thr, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (ret == -1) {
			EXPECT_EQ(ESRCH, err);
		} else {
			EXPECT_EQ((ssize_t)want, ret);
			expect_pat(lb, unit, 0, 28, "old image");
		}
		ms = (long)((t1.tv_sec - t0.tv_sec) * 1000 +
			    (t1.tv_nsec - t0.tv_nsec) / 1000000);
		TH_LOG("kill after %u us: %zd (%s) in %ld ms", delays[i], ret,
		       ret < 0 ? strerror(err) : "bytes", ms);
		target_stop(&t);
	}
	munmap(lb, unit);
	area_free();
}

/* Permissions: ptrace attach with the caller's real credentials */
TEST(perm_other_uid_reads_root)
{
	struct fam f = { .cuid = OTHER_UID, .child_reads = true,
			 .ptracer = PTRACER_ANY };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	if (geteuid())
		SKIP(return, ROOT_REASON);
	check_fam(&f, EPERM);
	f.write = true;
	check_fam(&f, EPERM);
}

TEST(perm_root_child_read_by_other_uid)
{
	struct fam f = { .puid = OTHER_UID };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	if (geteuid())
		SKIP(return, ROOT_REASON);
	check_fam(&f, EPERM);
	f.write = true;
	check_fam(&f, EPERM);
}

TEST(perm_same_uid)
{
	struct fam f = { .puid = OTHER_UID, .cuid = OTHER_UID };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	if (geteuid())
		SKIP(return, ROOT_REASON);
	check_fam(&f, 0);
	f.write = true;
	check_fam(&f, 0);
}

TEST(perm_nondumpable)
{
	struct fam f = { .puid = OTHER_UID, .cuid = OTHER_UID,
			 .child_nodump = true };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	if (geteuid())
		SKIP(return, ROOT_REASON);
	check_fam(&f, EPERM);
	f.write = true;
	check_fam(&f, EPERM);
}

TEST(perm_cap_sys_ptrace_overrides)
{
	struct fam f = { .cuid = OTHER_UID };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	if (geteuid())
		SKIP(return, ROOT_REASON);
	check_fam(&f, 0);
	f.child_nodump = true;
	check_fam(&f, 0);
	f.write = true;
	check_fam(&f, 0);
}

/* Real uid 0, effective uid 1000, no effective caps: the real id counts */
TEST(perm_real_credentials)
{
	struct fam f = { .puid = OTHER_UID, .realcreds = true,
			 .cuid = OTHER_UID };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	if (geteuid())
		SKIP(return, ROOT_REASON);
	check_fam(&f, EPERM);
}

/* A new user namespace has no capabilities over its parent's */
TEST(perm_user_namespace)
{
	struct fam f = { .child_reads = true, .ptracer = PTRACER_ANY };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	if (geteuid())
		SKIP(return, ROOT_REASON);
	check_fam(&f, 0);
	f.userns = true;
	if (family(&f) == FAM_NOUSERNS)
		SKIP(return, "unshare(CLONE_NEWUSER) failed");
	check_fam(&f, EPERM);
	f.child_reads = false;
	check_fam(&f, EPERM);
}

/* A zombie has no mm: ESRCH comes before the permission check */
TEST(perm_zombie_esrch_first)
{
	struct fam f = { .puid = OTHER_UID, .child_zombie = true };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	if (geteuid())
		SKIP(return, ROOT_REASON);
	check_fam(&f, ESRCH);
}

/*
 * Same mm, no check: a non-dumpable unprivileged process reads itself,
 * its threads and its CLONE_VM children, but not a forked child.
 */
static int same_mm_checks(void)
{
	char src[32] = "same mm", buf[32];
	struct iovec l = { buf, sizeof(buf) }, r = { src, sizeof(src) };
	struct tid_thread th;
	struct vm_child v;
	int ret = 0;
	pid_t pid;

	if (drop_to(OTHER_UID, false))
		return 10;
	if (process_vm_readv(getpid(), &l, 1, &r, 1, 0) != sizeof(buf))
		return 11;
	if (tid_thread_start(&th))
		return 10;
	if (process_vm_readv(tid_of(&th), &l, 1, &r, 1, 0) != sizeof(buf))
		return 12;
	if (vm_child_start(&v))
		return 10;
	if (process_vm_readv(v.pid, &l, 1, &r, 1, 0) != sizeof(buf))
		ret = 13;
	vm_child_stop(&v);
	if (ret)
		return ret;
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	if (process_vm_readv(pid, &l, 1, &r, 1, 0) != -1 || errno != EPERM)
		ret = 14;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return ret;
}

TEST(perm_same_mm_unchecked)
{
	int status;
	pid_t pid;

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	if (geteuid())
		SKIP(return, ROOT_REASON);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(same_mm_checks());
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("step %d failed: 11 self, 12 thread, 13 CLONE_VM child",
		       WEXITSTATUS(status));
		TH_LOG("(10 setup, 14 a forked child was not EPERM)");
	}
}

/* Yama ptrace_scope 0, 1 and 2; the scope is put back afterwards */
FIXTURE(yama) {
	long orig;
};

FIXTURE_SETUP(yama)
{
	self->orig = -1;
	if (pvm_available() && geteuid() == 0)
		read_int_file(YAMA_SCOPE_PATH, &self->orig);
}

FIXTURE_TEARDOWN(yama)
{
	if (self->orig >= 0 && self->orig < 3)
		write_int_file(YAMA_SCOPE_PATH, self->orig);
}

/* NULL once @scope is in force, else why the test must be skipped */
static const char *yama_enter(long orig, long scope)
{
	if (!pvm_available())
		return CMA_ENOSYS_REASON;
	if (geteuid())
		return ROOT_REASON;
	if (orig < 0)
		return "Yama not available (no " YAMA_SCOPE_PATH ")";
	if (orig == 3)
		return "Yama ptrace_scope is 3 until reboot";
	if (write_int_file(YAMA_SCOPE_PATH, scope))
		return "could not write " YAMA_SCOPE_PATH;
	return NULL;
}

TEST_F(yama, scope0)
{
	struct fam f = { .puid = OTHER_UID, .cuid = OTHER_UID };

	const char *why = yama_enter(self->orig, 0);

	if (why)
		SKIP(return, "%s", why);
	check_fam(&f, 0);
	f.child_reads = true;
	check_fam(&f, 0);
	f.write = true;
	check_fam(&f, 0);
}

TEST_F(yama, scope1)
{
	struct fam f = { .puid = OTHER_UID, .cuid = OTHER_UID };

	const char *why = yama_enter(self->orig, 1);

	if (why)
		SKIP(return, "%s", why);
	check_fam(&f, 0);
	f.child_reads = true;
	check_fam(&f, EPERM);
	f.write = true;
	check_fam(&f, EPERM);
	f.write = false;
	f.ptracer = PTRACER_CHILD;
	check_fam(&f, 0);
	f.ptracer = PTRACER_ANY;
	check_fam(&f, 0);
	/* Root needs no exception */
	f = (struct fam){ .child_reads = true };
	check_fam(&f, 0);
}

TEST_F(yama, scope2)
{
	struct fam f = { .puid = OTHER_UID, .cuid = OTHER_UID };

	const char *why = yama_enter(self->orig, 2);

	if (why)
		SKIP(return, "%s", why);
	check_fam(&f, EPERM);
	f.write = true;
	check_fam(&f, EPERM);
	f = (struct fam){ .puid = OTHER_UID, .cuid = OTHER_UID,
			  .child_reads = true, .ptracer = PTRACER_ANY };
	check_fam(&f, EPERM);
	/* CAP_SYS_PTRACE */
	f = (struct fam){ .cuid = OTHER_UID };
	check_fam(&f, 0);
	f = (struct fam){ .child_reads = true };
	check_fam(&f, 0);
}

TEST_HARNESS_MAIN
