// SPDX-License-Identifier: GPL-2.0
/*
 * PROCESS_VM_REDUCE: process_vm_readv() computes local = local OP remote
 * and process_vm_writev() remote = remote OP local, element by element,
 * for the 7 operations and 10 element types of <linux/process_vm_access.h>.
 * Every result is compared bit for bit with the same operation computed
 * here in C: integers wrap, MIN and MAX honour signedness, floats are IEEE
 * binary32/binary64 with one rounding per element, MIN being
 * (dst < src) ? dst : src and MAX (dst > src) ? dst : src.
 *
 * A kernel that answers the probe with EINVAL lacks the flag: the tests
 * skip, naming it.  A float type this kernel cannot compute bit-exactly
 * must answer EOPNOTSUPP, in the probe and in every call.
 */
#define _GNU_SOURCE
#include "process_vm.h"
#include "process_vm_reduce_model.h"

#define FLAG_SKIP "EINVAL, kernel without the flag"

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static void fill_random(int type, void *buf, size_t bytes)
{
	model_fill(&rnd_state, type, buf, bytes);
}

/* The probe of the UAPI header: EFAULT where @flags are supported */
static int probe(unsigned long flags)
{
	if (syscall(SYS_process_vm_readv, getpid(), NULL, 1, NULL, 1,
		    flags) == -1)
		return errno;
	return 0;
}

/* NULL if this kernel has PROCESS_VM_REDUCE, else why to skip */
static const char *reduce_missing(void)
{
	if (!pvm_available())
		return CMA_ENOSYS_REASON;
	if (probe(RED(PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_U8)) == EINVAL)
		return "PROCESS_VM_REDUCE: " FLAG_SKIP;
	return NULL;
}

/* This kernel cannot compute @type (a float type) bit-exactly */
static bool type_unsupported(int type)
{
	return probe(RED(PROCESS_VM_OP_SUM, type)) == EOPNOTSUPP;
}

static ssize_t reduce_call(bool write, pid_t pid, const struct iovec *l,
			   unsigned long ln, const struct iovec *r,
			   unsigned long rn, unsigned long flags)
{
	return syscall(write ? SYS_process_vm_writev : SYS_process_vm_readv,
		       pid, l, ln, r, rn, flags);
}

/* A plain copy to or from the target: how the tests set and see its memory */
static int copy_with(pid_t pid, void *local, void *remote, size_t len,
		     bool write)
{
	struct iovec l = { local, len }, r = { remote, len };

	return reduce_call(write, pid, &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -1;
}

/*
 * Cut @len bytes at @base into iovecs of element multiples taken from
 * @cuts in turn, with an empty iovec at an odd address now and then
 * (empty iovecs have no layout rule).  Returns the number of iovecs.
 */
static unsigned long cut(struct iovec *iov, unsigned char *base, size_t len,
			 const unsigned int *cuts, unsigned int size)
{
	unsigned long n = 0, c = 0;

	while (len) {
		size_t chunk = (size_t)cuts[c++ % 8] * size;

		if (chunk > len)
			chunk = len;
		if (c % 5 == 0)
			iov[n++] = (struct iovec){ base + 1, 0 };
		iov[n++] = (struct iovec){ base, chunk };
		base += chunk;
		len -= chunk;
	}
	return n;
}

/* 1 MiB and a few elements, a multiple of 8 */
#define BIG	((1 << 20) + 24)

static const unsigned int local_cuts[8] = { 1, 4093, 7, 8191, 3, 2047, 12289, 5 };
static const unsigned int remote_cuts[8] = { 9001, 2, 511, 6143, 1, 4099, 13, 16385 };

/* One element type per variant, every operation on it */
FIXTURE(reduce) {
	unsigned char *local, *remote;	/* mapped before the target forks */
	unsigned char *lorig, *rorig, *want, *seen;
	struct iovec liov[UIO_MAXIOV], riov[UIO_MAXIOV];
	struct target t;
};

FIXTURE_VARIANT(reduce) {
	int type;
};

FIXTURE_VARIANT_ADD(reduce, S8) {
	.type = PROCESS_VM_TYPE_S8,
};

FIXTURE_VARIANT_ADD(reduce, U8) {
	.type = PROCESS_VM_TYPE_U8,
};

FIXTURE_VARIANT_ADD(reduce, S16) {
	.type = PROCESS_VM_TYPE_S16,
};

FIXTURE_VARIANT_ADD(reduce, U16) {
	.type = PROCESS_VM_TYPE_U16,
};

FIXTURE_VARIANT_ADD(reduce, S32) {
	.type = PROCESS_VM_TYPE_S32,
};

FIXTURE_VARIANT_ADD(reduce, U32) {
	.type = PROCESS_VM_TYPE_U32,
};

FIXTURE_VARIANT_ADD(reduce, S64) {
	.type = PROCESS_VM_TYPE_S64,
};

FIXTURE_VARIANT_ADD(reduce, U64) {
	.type = PROCESS_VM_TYPE_U64,
};

FIXTURE_VARIANT_ADD(reduce, F32) {
	.type = PROCESS_VM_TYPE_F32,
};

FIXTURE_VARIANT_ADD(reduce, F64) {
	.type = PROCESS_VM_TYPE_F64,
};

/*
 * One call of @op on @type over @bytes, in layout @layout: 0 one iovec
 * each side at different page offsets, 1 both sides cut at different
 * element multiples, 2 the local side whole and the remote cut and
 * shorter.  The result and the untouched source are checked here.
 */
static void one_reduce(struct __test_metadata *_metadata,
		       struct _test_data_reduce *big, int op, int type,
		       bool write, int layout)
{
	unsigned int size = type_size[type];
	unsigned char *l = big->local + 40, *r = big->remote + 8;
	size_t bytes = BIG - 64, moved = bytes;
	unsigned long ln = 1, rn = 1;
	char what[96];
	ssize_t ret;

	snprintf(what, sizeof(what), "%s %s %s, layout %d",
		 write ? "writev" : "readv", op_name[op], type_name[type],
		 layout);
	fill_random(type, big->lorig, bytes);
	fill_random(type, big->rorig, bytes);
	memcpy(l, big->lorig, bytes);
	ASSERT_EQ(0, copy_with(big->t.pid, big->rorig, r, bytes, true));

	big->liov[0] = (struct iovec){ l, bytes };
	big->riov[0] = (struct iovec){ r, bytes };
	if (layout == 1)
		ln = cut(big->liov, l, bytes, local_cuts, size);
	if (layout >= 1) {
		moved = bytes - 3 * size * (layout == 2);
		rn = cut(big->riov, r, moved, remote_cuts, size);
	}
	ASSERT_LE(ln, UIO_MAXIOV);
	ASSERT_LE(rn, UIO_MAXIOV);

	ret = reduce_call(write, big->t.pid, big->liov, ln, big->riov, rn,
			  RED(op, type));
	if (is_float(type) && type_unsupported(type)) {
		EXPECT_EQ(-1, ret) {
			TH_LOG("%s", what);
		}
		EXPECT_EQ(EOPNOTSUPP, errno) {
			TH_LOG("%s", what);
		}
		moved = 0;
	} else {
		EXPECT_EQ((ssize_t)moved, ret) {
			TH_LOG("%s: errno %d (%s)", what, errno,
			       strerror(errno));
		}
	}

	/* The destination: the model over what moved, the rest untouched */
	memcpy(big->want, write ? big->rorig : big->lorig, bytes);
	if (write)
		model(op, type, big->want, big->lorig, moved);
	else
		model(op, type, big->want, big->rorig, moved);
	ASSERT_EQ(0, copy_with(big->t.pid, big->seen, r, bytes, false));
	accept_nan_pairs(op, type, big->want, write ? big->seen : l,
			 write ? big->rorig : big->lorig,
			 write ? big->lorig : big->rorig, moved);
	expect_same(write ? big->seen : l, big->want, bytes, what);
	/* The source side is never modified */
	expect_same(write ? l : big->seen, write ? big->lorig : big->rorig,
		    bytes, what);
}

FIXTURE_SETUP(reduce)
{
	size_t len = BIG + page_size();

	self->t.pid = -1;
	self->t.sk = -1;
	self->local = map_anon(len, PROT_READ | PROT_WRITE, 0);
	self->remote = map_anon(len, PROT_READ | PROT_WRITE, 0);
	self->lorig = malloc(len);
	self->rorig = malloc(len);
	self->want = malloc(len);
	self->seen = malloc(len);
	ASSERT_TRUE(self->local && self->remote && self->lorig &&
		    self->rorig && self->want && self->seen);
}

FIXTURE_TEARDOWN(reduce)
{
	target_stop(&self->t);
}

/*
 * Each operation on the variant's type, readv and writev, three layouts,
 * 1 MiB each (minutes under emulation and KASAN: a longer timeout)
 */
TEST_F_TIMEOUT(reduce, every_op, 900)
{
	const char *why = reduce_missing();
	int op, layout;

	if (why)
		SKIP(return, "%s", why);
	/* The target is forked after the buffers are mapped */
	ASSERT_EQ(0, target_start(&self->t, NULL, NULL));
	for (op = 1; op < NOPS; op++)
		for (layout = 0; layout < 3; layout++) {
			if (!op_allowed(op, variant->type))
				continue;
			one_reduce(_metadata, self, op, variant->type, false,
				   layout);
			one_reduce(_metadata, self, op, variant->type, true,
				   layout);
		}
}

/* One element of @type in each buffer, readv on ourselves */
static int one_element(int op, int type, void *dst, const void *src)
{
	struct iovec l = { dst, type_size[type] };
	struct iovec r = { (void *)src, type_size[type] };

	if (reduce_call(false, getpid(), &l, 1, &r, 1, RED(op, type)) !=
	    (ssize_t)type_size[type])
		return errno;
	return 0;
}

TEST(integer_edges)
{
	const char *why = reduce_missing();
	uint8_t u8d, u8s;
	int8_t s8d, s8s;
	int32_t s32d, s32s;

	if (why)
		SKIP(return, "%s", why);
	u8d = 250;
	u8s = 10;
	ASSERT_EQ(0, one_element(PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_U8, &u8d, &u8s));
	EXPECT_EQ(4, u8d);
	s32d = INT32_MAX;
	s32s = 1;
	ASSERT_EQ(0, one_element(PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_S32, &s32d, &s32s));
	EXPECT_EQ(INT32_MIN, s32d);
	s8d = -1;
	s8s = 1;
	ASSERT_EQ(0, one_element(PROCESS_VM_OP_MIN, PROCESS_VM_TYPE_S8, &s8d, &s8s));
	EXPECT_EQ(-1, s8d);
	u8d = 0xff;
	u8s = 1;
	ASSERT_EQ(0, one_element(PROCESS_VM_OP_MIN, PROCESS_VM_TYPE_U8, &u8d, &u8s));
	EXPECT_EQ(1, u8d);
	s8d = -128;
	s8s = -1;
	ASSERT_EQ(0, one_element(PROCESS_VM_OP_PROD, PROCESS_VM_TYPE_S8, &s8d, &s8s));
	EXPECT_EQ(-128, s8d);
}

/* The decoding rules, before anything else: pid -1 and NULL arrays */
TEST(decoding_einval)
{
	static const unsigned long bad[] = {
		PROCESS_VM_REDUCE,
		RED(0, PROCESS_VM_TYPE_U8),
		RED(8, PROCESS_VM_TYPE_U8),
		RED(15, PROCESS_VM_TYPE_U8),
		RED(PROCESS_VM_OP_SUM, 0),
		RED(PROCESS_VM_OP_SUM, 11),
		RED(PROCESS_VM_OP_SUM, 15),
		PROCESS_VM_OP(PROCESS_VM_OP_SUM),
		PROCESS_VM_TYPE(PROCESS_VM_TYPE_U8),
		PROCESS_VM_OP(1) | PROCESS_VM_TYPE(1) | PROCESS_VM_PIDFD,
		RED(PROCESS_VM_OP_BAND, PROCESS_VM_TYPE_F32),
		RED(PROCESS_VM_OP_BOR, PROCESS_VM_TYPE_F64),
		RED(PROCESS_VM_OP_BXOR, PROCESS_VM_TYPE_F64),
		RED(PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_U8) | 1UL << 9,
	};
	const char *why = reduce_missing();
	unsigned int i;

	if (why)
		SKIP(return, "%s", why);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		char what[64];

		snprintf(what, sizeof(what), "flags %#lx", bad[i]);
		CHECK_ERR(what, -1, NULL, 1, NULL, 1, bad[i], EINVAL);
		CHECK_ERR(what, getpid(), NULL, 0, NULL, 0, bad[i], EINVAL);
	}
}

/* Every type's probe: EFAULT, or EOPNOTSUPP for a float type */
TEST(probe_every_type)
{
	const char *why = reduce_missing();
	int op, type;

	if (why)
		SKIP(return, "%s", why);
	for (type = 1; type < NTYPES; type++)
		for (op = 1; op < NOPS; op++) {
			int got = probe(RED(op, type));

			if (!op_allowed(op, type)) {
				EXPECT_EQ(EINVAL, got);
			} else if (is_float(type) && got == EOPNOTSUPP) {
				TH_LOG("%s: EOPNOTSUPP on this kernel",
				       type_name[type]);
			} else {
				EXPECT_EQ(EFAULT, got) {
					TH_LOG("%s %s", op_name[op],
					       type_name[type]);
				}
			}
		}
}

/*
 * Layout: a non-empty iovec whose base or length is not a multiple of the
 * element size, on either side, is EINVAL before the pid is looked at, with
 * nothing touched; an empty one may be anywhere.
 */
TEST(layout_einval)
{
	const char *why = reduce_missing();
	unsigned long flags = RED(PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_U32);
	uint32_t dst[8], src[8], keep[8];
	struct iovec l[2], r[2];
	int side, what;

	if (why)
		SKIP(return, "%s", why);
	for (side = 0; side < 2; side++)
		for (what = 0; what < 2; what++) {
			char label[64];

			memset(dst, LCANARY, sizeof(dst));
			memset(src, RCANARY, sizeof(src));
			memcpy(keep, dst, sizeof(dst));
			l[0] = (struct iovec){ dst, sizeof(dst) };
			r[0] = (struct iovec){ src, sizeof(src) };
			if (what == 0)	/* base off by one byte */
				(side ? r : l)[0].iov_base =
					(char *)(side ? (void *)src : (void *)dst) + 1;
			(side ? r : l)[0].iov_len = sizeof(dst) - 4 * !what - !!what;
			snprintf(label, sizeof(label), "%s iovec %s misaligned",
				 side ? "remote" : "local", what ? "length" : "base");
			CHECK_ERR(label, getpid(), l, 1, r, 1, flags, EINVAL);
			CHECK_ERR(label, -1, l, 1, r, 1, flags, EINVAL);
			expect_same((unsigned char *)dst, (unsigned char *)keep,
				    sizeof(dst), label);
		}
	l[0] = (struct iovec){ (char *)dst + 1, 0 };
	l[1] = (struct iovec){ dst, sizeof(dst) };
	r[0] = (struct iovec){ src, sizeof(src) };
	r[1] = (struct iovec){ (char *)src + 3, 0 };
	CHECK_RET("empty iovecs at odd addresses", getpid(), l, 2, r, 2,
		  flags, sizeof(dst));
}

/*
 * Faults: the remote's second of three pages is missing; the call returns
 * exactly one page, having done the first page's elements and nothing
 * after; mapped again, a retry from there gives what one call that never
 * faulted gives.
 */
static unsigned char *three;

static int unmap_middle(void *arg)
{
	return munmap(three + page_size(), page_size());
}

static int map_middle(void *arg)
{
	void *p = mmap(three + page_size(), page_size(),
		       PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	memcpy(p, arg, page_size());
	return 0;
}

TEST(fault_then_retry)
{
	unsigned long flags = RED(PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_U32);
	const char *why = reduce_missing();
	size_t ps = page_size(), len = 3 * ps;
	unsigned char *local, *lorig, *rorig, *want, *seen;
	struct iovec l, r;
	struct target t;
	int write;

	if (why)
		SKIP(return, "%s", why);
	three = map_anon(len, PROT_READ | PROT_WRITE, 0);
	local = map_anon(len, PROT_READ | PROT_WRITE, 0);
	lorig = malloc(len);
	rorig = malloc(len);
	want = malloc(len);
	seen = malloc(len);
	ASSERT_TRUE(three && local && lorig && rorig && want && seen);
	for (write = 0; write < 2; write++) {
		fill_random(PROCESS_VM_TYPE_U32, lorig, len);
		fill_random(PROCESS_VM_TYPE_U32, rorig, len);
		memcpy(local, lorig, len);
		memcpy(three, rorig, len);
		ASSERT_EQ(0, target_start(&t, unmap_middle, NULL));

		l = (struct iovec){ local, len };
		r = (struct iovec){ three, len };
		EXPECT_EQ((ssize_t)ps, reduce_call(write, t.pid, &l, 1, &r, 1,
						   flags));
		memcpy(want, write ? rorig : lorig, len);
		model(PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_U32, want,
		      write ? lorig : rorig, ps);
		if (write) {
			ASSERT_EQ(0, copy_with(t.pid, seen, three, ps, false));
			ASSERT_EQ(0, copy_with(t.pid, seen + 2 * ps,
					       three + 2 * ps, ps, false));
			memcpy(seen + ps, want + ps, ps);
		}
		expect_same(write ? seen : local, want, len, "after the fault");

		ASSERT_EQ(0, target_call(&t, map_middle, rorig + ps));
		l = (struct iovec){ local + ps, len - ps };
		r = (struct iovec){ three + ps, len - ps };
		EXPECT_EQ((ssize_t)(len - ps),
			  reduce_call(write, t.pid, &l, 1, &r, 1, flags));
		memcpy(want, write ? rorig : lorig, len);
		model(PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_U32, want,
		      write ? lorig : rorig, len);
		if (write)
			ASSERT_EQ(0, copy_with(t.pid, seen, three, len, false));
		expect_same(write ? seen : local, want, len, "after the retry");
		target_stop(&t);
		munmap(three, len);
		three = map_anon(len, PROT_READ | PROT_WRITE, 0);
	}
}

/* A read-only destination is EFAULT with nothing written: no FOLL_FORCE */
TEST(readonly_destination_efault)
{
	unsigned long flags = RED(PROCESS_VM_OP_BXOR, PROCESS_VM_TYPE_U64);
	const char *why = reduce_missing();
	size_t ps = page_size();
	unsigned char *ro, *rw, *seen;
	struct iovec l, r;
	struct target t;

	if (why)
		SKIP(return, "%s", why);
	ro = map_anon(ps, PROT_READ | PROT_WRITE, 0);
	rw = map_anon(ps, PROT_READ | PROT_WRITE, 0);
	seen = malloc(ps);
	ASSERT_TRUE(ro && rw && seen);
	memset(ro, LCANARY, ps);
	memset(rw, RCANARY, ps);
	ASSERT_EQ(0, mprotect(ro, ps, PROT_READ));
	ASSERT_EQ(0, target_start(&t, NULL, NULL));

	l = (struct iovec){ ro, ps };
	r = (struct iovec){ rw, ps };
	EXPECT_EQ(-1, reduce_call(false, t.pid, &l, 1, &r, 1, flags));
	EXPECT_EQ(EFAULT, errno);
	expect_byte(ro, ps, LCANARY, "read-only local buffer");

	l = (struct iovec){ rw, ps };
	r = (struct iovec){ ro, ps };
	EXPECT_EQ(-1, reduce_call(true, t.pid, &l, 1, &r, 1, flags));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, copy_with(t.pid, seen, ro, ps, false));
	expect_byte(seen, ps, LCANARY, "read-only remote mapping");
	target_stop(&t);
}

/* On ourselves with the same range on both sides: x OP x */
TEST(self_same_range)
{
	static const int ops[] = { PROCESS_VM_OP_SUM, PROCESS_VM_OP_MAX,
				   PROCESS_VM_OP_PROD };
	static const int types[] = { PROCESS_VM_TYPE_U32, PROCESS_VM_TYPE_F64,
				     PROCESS_VM_TYPE_S8 };
	const char *why = reduce_missing();
	size_t len = 3 * page_size();
	unsigned char *buf, *want;
	unsigned int i;

	if (why)
		SKIP(return, "%s", why);
	buf = map_anon(len, PROT_READ | PROT_WRITE, 0);
	want = malloc(len);
	ASSERT_TRUE(buf && want);
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		struct iovec v = { buf, len };
		int write;

		for (write = 0; write < 2; write++) {
			ssize_t ret;

			fill_random(types[i], buf, len);
			memcpy(want, buf, len);
			ret = reduce_call(write, getpid(), &v, 1, &v, 1,
					  RED(ops[i], types[i]));
			if (is_float(types[i]) && type_unsupported(types[i])) {
				EXPECT_EQ(-1, ret);
				EXPECT_EQ(EOPNOTSUPP, errno);
				continue;
			}
			EXPECT_EQ((ssize_t)len, ret);
			model(ops[i], types[i], want, want, len);
			expect_same(buf, want, len, op_name[ops[i]]);
		}
	}
}

/*
 * The caller's own floating-point mode does not leak into the kernel's:
 * with flush-to-zero and denormals-are-zero set here, a sum of denormals
 * is still the exact denormal.
 */
static void set_flush_to_zero(bool on)
{
#if defined(__SSE2__)
	unsigned int csr;

	asm volatile("stmxcsr %0" : "=m"(csr));
	csr = on ? csr | 0x8040 : csr & ~0x8040U;	/* FTZ | DAZ */
	asm volatile("ldmxcsr %0" : : "m"(csr));
#elif defined(__powerpc__)
	if (on)
		asm volatile("mtfsb1 29");	/* FPSCR[NI]: non-IEEE mode */
	else
		asm volatile("mtfsb0 29");
#endif
}

TEST(caller_flush_to_zero_ignored)
{
	const char *why = reduce_missing();
	uint32_t f[2] = { 0x00000003, 0x00000005 };	/* denormals */
	uint64_t d[2] = { 0x0000000000000007ULL, 0x0000000000000009ULL };
	int ret32, ret64;

	if (why)
		SKIP(return, "%s", why);
	set_flush_to_zero(true);
	ret32 = one_element(PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_F32, &f[0], &f[1]);
	ret64 = one_element(PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_F64, &d[0], &d[1]);
	set_flush_to_zero(false);
	if (type_unsupported(PROCESS_VM_TYPE_F32)) {
		EXPECT_EQ(EOPNOTSUPP, ret32);
	} else {
		EXPECT_EQ(0, ret32);
		EXPECT_EQ(0x00000008, f[0]);
	}
	if (type_unsupported(PROCESS_VM_TYPE_F64)) {
		EXPECT_EQ(EOPNOTSUPP, ret64);
	} else {
		EXPECT_EQ(0, ret64);
		EXPECT_EQ(0x0000000000000010ULL, d[0]);
	}
}

/*
 * Transparent huge pages in the target: it maps and fills two of them
 * itself after the fork (so they are its own, not shared with us), and
 * each direction reduces across the boundary between them, from a local
 * buffer at another page offset.
 */
static struct {
	unsigned char *base;	/* hsize-aligned, in our reservation */
	size_t hsize;
	const unsigned char *fill;
} thp;

static int thp_map(void *arg)
{
	void *p = mmap(thp.base, 2 * thp.hsize, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	madvise(p, 2 * thp.hsize, MADV_HUGEPAGE);
	memcpy(p, thp.fill, 2 * thp.hsize);
	return 0;
}

TEST(thp_across_huge_pages)
{
	static const int ops[] = { PROCESS_VM_OP_SUM, PROCESS_VM_OP_MIN };
	static const int types[] = { PROCESS_VM_TYPE_U64, PROCESS_VM_TYPE_S16 };
	const char *why = reduce_missing();
	size_t ps = page_size(), len, off;
	unsigned char *resv, *local, *lorig, *rorig, *want, *seen;
	struct iovec l, r;
	struct target t;
	unsigned int i;

	if (why)
		SKIP(return, "%s", why);
	thp.hsize = thp_size();
	/* From 3 pages before the boundary to 5 after, at a page offset */
	off = thp.hsize - 3 * ps + 8;
	len = 8 * ps;
	resv = mmap(NULL, 3 * thp.hsize, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_TRUE(mapped(resv));
	thp.base = (unsigned char *)(((uintptr_t)resv + thp.hsize - 1) &
				     ~(uintptr_t)(thp.hsize - 1));
	local = map_anon(len + ps, PROT_READ | PROT_WRITE, 0);
	rorig = malloc(2 * thp.hsize);
	lorig = malloc(len);
	want = malloc(len);
	seen = malloc(len);
	ASSERT_TRUE(local && rorig && lorig && want && seen);
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		int write;

		for (write = 0; write < 2; write++) {
			fill_random(types[i], rorig, 2 * thp.hsize);
			fill_random(types[i], lorig, len);
			memcpy(local + 40, lorig, len);
			thp.fill = rorig;
			ASSERT_EQ(0, target_start(&t, NULL, NULL));
			ASSERT_EQ(0, target_call(&t, thp_map, NULL));
			if (!i && !write)
				TH_LOG("target's AnonHugePages: %ld kB",
				       smaps_kb(t.pid, thp.base,
						"AnonHugePages:"));

			l = (struct iovec){ local + 40, len };
			r = (struct iovec){ thp.base + off, len };
			EXPECT_EQ((ssize_t)len,
				  reduce_call(write, t.pid, &l, 1, &r, 1,
					      RED(ops[i], types[i])));
			memcpy(want, write ? rorig + off : lorig, len);
			model(ops[i], types[i], want,
			      write ? lorig : rorig + off, len);
			ASSERT_EQ(0, copy_with(t.pid, seen, r.iov_base, len,
					       false));
			expect_same(write ? seen : local + 40, want, len,
				    "across two huge pages");
			/* The source side is untouched */
			expect_same(write ? local + 40 : seen,
				    write ? lorig : rorig + off, len,
				    "the source");
			target_stop(&t);
		}
	}
	munmap(resv, 3 * thp.hsize);
	munmap(local, len + ps);
}

/* REDUCE with PROCESS_VM_PIDFD and PROCESS_VM_NOWAIT */
TEST(with_pidfd_and_nowait)
{
	unsigned long flags = RED(PROCESS_VM_OP_MAX, PROCESS_VM_TYPE_S16) |
			      PROCESS_VM_PIDFD | PROCESS_VM_NOWAIT;
	const char *why = reduce_missing();
	int16_t dst[64], src[64], want[64];
	struct iovec l = { dst, sizeof(dst) }, r = { src, sizeof(src) };
	int fd;

	if (why)
		SKIP(return, "%s", why);
	fill_random(PROCESS_VM_TYPE_S16, dst, sizeof(dst));
	fill_random(PROCESS_VM_TYPE_S16, src, sizeof(src));
	memcpy(want, dst, sizeof(dst));
	model(PROCESS_VM_OP_MAX, PROCESS_VM_TYPE_S16, want, src, sizeof(src));
	fd = syscall(SYS_pidfd_open, getpid(), 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)sizeof(dst), reduce_call(false, fd, &l, 1, &r, 1,
						    flags));
	expect_same((unsigned char *)dst, (unsigned char *)want, sizeof(dst),
		    "readv by pidfd, NOWAIT");
	close(fd);
}

TEST_HARNESS_MAIN
