// SPDX-License-Identifier: GPL-2.0
/*
 * reduce_fuzz - seeded fuzzer for PROCESS_VM_REDUCE, judged against the
 * user-space model of the selftests (process_vm_reduce_model.h).
 *
 * Usage: reduce_fuzz [-s seed] [-n cases]     (defaults: seed 1, 1500 cases)
 *
 * The reference kernel knows no REDUCE, so there is nothing to diff
 * against: each case is checked here, element by element, and the output
 * is made the same on every ABI and architecture, so the harness can
 * compare the runs with each other.
 *
 * A forked target holds the remote region, the caller the local one, each
 * 16 blocks of 64 KiB (the largest page size of any target, so a block is
 * whole pages everywhere and every offset below means the same thing on
 * every ABI):
 *
 *   block   0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
 *   local   w w w r w w w w w w w  -  w  w  w  -
 *   remote  w w w w w - w w w r w  w  w  w  w  -
 *
 * (w read-write, r read-only, - PROT_NONE; the target mlockall()s, so
 * every page stays resident).  Each case picks an operation
 * and type (now and then a reserved code, a bitwise op on a float, an op
 * without REDUCE or an unknown bit: EINVAL), a direction, PIDFD and
 * NOWAIT at random (neither may change a result here: every page is
 * resident), and two iovec arrays over element-aligned pieces of the
 * regions with gaps, empty iovecs at odd addresses and, now and then, one
 * misaligned base or length, or a count over 1024 (EINVAL, nothing
 * touched).  The pieces are
 * refilled with fresh random data (for floats: zeros, infinities, NaNs,
 * denormals), then the call is made, and the model predicts it: elements
 * pair along the two byte streams; an element is done if its destination
 * is writable and its source readable; the first one that is not ends
 * the call with k * size, or EFAULT if k is 0.  Both regions are then
 * compared with the model over every byte the case touched (over all of
 * them every 50th case and at the end); a difference is printed on
 * stderr and counted.
 *
 * Output, one line per case:
 *   <case> <readv|writev> <op> <type> <liovcnt> <riovcnt> <ret> <errno> <L> <R>
 * L and R hash the bytes of the local and remote iovecs after the call,
 * NaNs of a float case as one canonical NaN (their payloads are the
 * architecture's), so the lines are the same on every ABI.  The last line:
 *   reduce-fuzz: <N> cases, seed <S>, digest <D>, floats <F>, <M> mismatches
 * D is a 64-bit FNV-1a over the lines of every case but those with a
 * valid float operation, F over those ("none" where this kernel answers
 * EOPNOTSUPP for floats, as the probe says).  Exit status 1 on a mismatch.
 *
 * Build: gcc -static -O2 -Wall -I<selftests>/process_vm -o reduce_fuzz reduce_fuzz.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "process_vm_reduce_model.h"
#include "rng.h"

#define BLK		(64UL << 10)
#define NBLK		16
#define REGION		(NBLK * BLK)
#define MAX_IOV		400
#define VERIFY_EVERY	50

static const char local_kind[NBLK + 1] = "wwwrwwwwwww-www-";
static const char remote_kind[NBLK + 1] = "wwwww-wwwrwwwww-";

struct side {
	const char *name;
	unsigned char *mem;	/* local: the region; remote: its address there */
	unsigned char *model;	/* what the region must hold */
	const char *kind;
	int remote;
	struct iovec piece[MAX_IOV];	/* element-aligned, as generated */
	struct iovec iov[MAX_IOV];	/* as passed (one may be misaligned) */
	unsigned long cnt;
	size_t total;		/* bytes over iov[] */
	size_t lo, hi;		/* the region offsets iov[] spans */
};

/* A float SUM or PROD of two NaNs: either one, quieted, may come out */
struct nan_pair {
	size_t off;
	uint64_t a, b;
};

static struct side loc = { .name = "local", .kind = local_kind };
static struct side rem = { .name = "remote", .kind = remote_kind, .remote = 1 };
static struct rng rng;
static uint64_t data_state;
static pid_t target;
static int pidfd = -1;
static unsigned long mismatches;
static unsigned char *stage;	/* the remote region, copied out */
static unsigned char *scratch;	/* fresh data before it is placed */
static struct nan_pair *pairs;
static size_t npairs;

static size_t rnd(size_t n)
{
	return rnd_mod(&rng, n);
}

static void die(const char *what)
{
	fprintf(stderr, "reduce-fuzz: %s: %s\n", what, strerror(errno));
	exit(2);
}

static char kind_at(const struct side *s, size_t off)
{
	return s->kind[off / BLK];
}

static size_t off_of(const struct side *s, const void *p)
{
	return (size_t)((const unsigned char *)p - s->mem);
}

static long plain(int write, void *local, void *remote, size_t len)
{
	struct iovec l = { local, len }, r = { remote, len };

	return syscall(write ? SYS_process_vm_writev : SYS_process_vm_readv,
		       (long)target, &l, 1UL, &r, 1UL, 0UL);
}

/*
 * Bring [off, off + len) of a side's memory and buf (indexed by region
 * offset) together, block by block: write = buf into the memory (the
 * read-write blocks), else the memory into buf (every readable block).
 */
static void side_io(struct side *s, int write, unsigned char *buf,
		    size_t off, size_t len)
{
	size_t end = off + len, next;

	for (; off < end; off = next) {
		char k = kind_at(s, off);

		next = (off / BLK + 1) * BLK;
		if (next > end)
			next = end;
		if (k == '-' || (write && k == 'r'))
			continue;
		if (!s->remote)
			memcpy(write ? s->mem + off : buf + off,
			       write ? buf + off : s->mem + off, next - off);
		else if (plain(write, buf + off, s->mem + off, next - off) !=
			 (long)(next - off))
			die("plain copy");
	}
}

/* Element values, not bytes: the same on big- and little-endian ABIs */
static uint64_t elem_get(const unsigned char *p, unsigned int size)
{
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (size) {
	case 1: memcpy(&v8, p, 1); return v8;
	case 2: memcpy(&v16, p, 2); return v16;
	case 4: memcpy(&v32, p, 4); return v32;
	}
	memcpy(&v64, p, 8);
	return v64;
}

static void elem_set(unsigned char *p, unsigned int size, uint64_t v)
{
	uint8_t v8 = (uint8_t)v;
	uint16_t v16 = (uint16_t)v;
	uint32_t v32 = (uint32_t)v;

	switch (size) {
	case 1: memcpy(p, &v8, 1); return;
	case 2: memcpy(p, &v16, 2); return;
	case 4: memcpy(p, &v32, 4); return;
	}
	memcpy(p, &v, 8);
}

/*
 * The region's first contents: each aligned 8-byte word one byte repeated,
 * so that an element of any size reads the same in either byte order
 * (the read-only and PROT_NONE blocks keep it for good)
 */
static void map_side(struct side *s)
{
	unsigned char *p;
	size_t b;

	p = mmap(NULL, REGION + BLK, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	s->model = malloc(REGION);
	if (p == MAP_FAILED || !s->model)
		die("mmap");
	s->mem = (unsigned char *)(((uintptr_t)p + BLK - 1) & ~(BLK - 1));
	for (b = 0; b < REGION; b++)
		s->model[b] = (uint8_t)mix64(b / 8 + s->remote * REGION);
	memcpy(s->mem, s->model, REGION);
	for (b = 0; b < NBLK; b++)
		if (s->kind[b] != 'w' &&
		    mprotect(s->mem + b * BLK, BLK,
			     s->kind[b] == 'r' ? PROT_READ : PROT_NONE))
			die("mprotect");
}

/*
 * Integer data element by element (so an element has the same value on
 * every ABI): random, and now and then 0, 1, -1, MIN or MAX.
 */
static void int_fill(int type, unsigned char *p, size_t bytes)
{
	unsigned int size = type_size[type];
	uint64_t top = 1ULL << (size * 8 - 1), v;
	size_t i;

	for (i = 0; i < bytes; i += size) {
		v = model_rnd(&data_state);
		if ((v & 7) == 0) {
			switch ((v >> 3) % 5) {
			case 0: v = 0; break;
			case 1: v = 1; break;
			case 2: v = ~0ULL; break;
			case 3: v = top; break;
			default: v = top - 1; break;
			}
		} else {
			v >>= 3;
		}
		elem_set(p + i, size, v);
	}
}

/* Fresh data of @type in every piece of @s, model and memory alike */
static void refill(struct side *s, int type)
{
	unsigned long i;

	for (i = 0; i < s->cnt; i++) {
		size_t len = s->piece[i].iov_len, off, b, next;

		if (!len)
			continue;
		off = off_of(s, s->piece[i].iov_base);
		if (is_float(type))
			model_fill(&data_state, type, scratch, (len + 7) & ~7UL);
		else
			int_fill(type, scratch, len);
		for (b = off; b < off + len; b = next) {
			next = (b / BLK + 1) * BLK;
			if (next > off + len)
				next = off + len;
			if (kind_at(s, b) == 'w')
				memcpy(s->model + b, scratch + (b - off), next - b);
		}
		side_io(s, 1, s->model, off, len);
	}
}

/* How many elements a case moves: mostly few, now and then 256 KiB */
static size_t pick_elems(unsigned int size)
{
	size_t r = rnd(100);

	if (r < 3)
		return 0;
	if (r < 50)
		return 1 + rnd(64);
	if (r < 85)
		return 1 + rnd((16 << 10) / size);
	return 1 + rnd((256 << 10) / size);
}

/*
 * @elems elements of @size from a random element-aligned start (often
 * just before a block boundary), in up to a random number of pieces with
 * gaps, empty iovecs at odd addresses among them; cut short at the end
 * of the region.
 */
static void cut_side(struct side *s, unsigned int size, size_t elems)
{
	size_t off, r = rnd(100), maxcnt;

	if (rnd(2))
		off = rnd(REGION / size) * size;
	else
		off = (1 + rnd(NBLK - 1)) * BLK - rnd(64) * size;
	maxcnt = r < 60 ? 1 + rnd(4) : r < 90 ? 1 + rnd(32) : 1 + rnd(MAX_IOV - 10);
	s->cnt = 0;
	s->lo = off;
	while (elems && s->cnt < maxcnt && off < REGION) {
		size_t chunk = s->cnt + 1 >= maxcnt ? elems : 1 + rnd(elems);

		if (rnd(8) == 0)
			s->piece[s->cnt++] = (struct iovec){
				s->mem + 1 + 2 * rnd(REGION / 2), 0 };
		if (chunk * size > REGION - off)
			chunk = (REGION - off) / size;
		if (!chunk)
			break;
		s->piece[s->cnt++] = (struct iovec){ s->mem + off, chunk * size };
		off += chunk * size;
		elems -= chunk;
		if (rnd(10) >= 7)
			off += rnd(64) * size;
	}
	if (s->cnt < maxcnt && rnd(8) == 0)
		s->piece[s->cnt++] = (struct iovec){ NULL, 0 };
	s->hi = off < REGION ? off : REGION;
	memcpy(s->iov, s->piece, s->cnt * sizeof(struct iovec));
}

/* One non-empty iovec of @s made misaligned: 1 if there was one */
static int misalign(struct side *s, unsigned int size)
{
	unsigned long i, n = 0;

	for (i = 0; i < s->cnt; i++)
		n += s->iov[i].iov_len != 0;
	if (!n || size == 1)
		return 0;
	n = rnd(n);
	for (i = 0; s->iov[i].iov_len == 0 || n--; i++)
		;
	if (rnd(2))
		s->iov[i].iov_base = (char *)s->iov[i].iov_base + 1 + rnd(size - 1);
	else
		s->iov[i].iov_len += 1 + rnd(size - 1);
	if (s->hi < REGION)
		s->hi = s->hi + size < REGION ? s->hi + size : REGION;
	return 1;
}

static size_t total(const struct side *s)
{
	size_t t = 0;
	unsigned long i;

	for (i = 0; i < s->cnt; i++)
		t += s->iov[i].iov_len;
	return t;
}

static int misaligned(const struct side *s, unsigned int size)
{
	unsigned long i;

	for (i = 0; i < s->cnt; i++)
		if (s->iov[i].iov_len &&
		    ((uintptr_t)s->iov[i].iov_base % size ||
		     s->iov[i].iov_len % size))
			return 1;
	return 0;
}

/* The region offset of byte @pos of a side's stream */
struct cursor {
	const struct side *s;
	unsigned long i;
	size_t at;
};

static size_t cursor_next(struct cursor *c, unsigned int size)
{
	size_t off;

	while (c->at == c->s->iov[c->i].iov_len) {
		c->i++;
		c->at = 0;
	}
	off = off_of(c->s, c->s->iov[c->i].iov_base) + c->at;
	c->at += size;
	return off;
}

/*
 * The model of a transfer: dst = dst OP src along the two streams until
 * an element cannot be done; returns what the call must return.
 */
static long model_transfer(int write, int op, int type)
{
	struct side *dst = write ? &rem : &loc, *src = write ? &loc : &rem;
	struct cursor dc = { dst, 0, 0 }, sc = { src, 0, 0 };
	unsigned int size = type_size[type];
	size_t n, k, d, s;

	n = (loc.total < rem.total ? loc.total : rem.total) / size;
	npairs = 0;
	for (k = 0; k < n; k++) {
		d = cursor_next(&dc, size);
		s = cursor_next(&sc, size);
		if (kind_at(dst, d) != 'w' || kind_at(src, s) == '-')
			break;
		if (is_float(type) && op <= PROCESS_VM_OP_PROD &&
		    is_nan(type, dst->model + d) && is_nan(type, src->model + s))
			pairs[npairs++] = (struct nan_pair){
				d, quiet_bits(type, dst->model + d),
				quiet_bits(type, src->model + s) };
		model(op, type, dst->model + d, src->model + s, size);
	}
	return k ? (long)(k * size) : -EFAULT;
}

/* The region as it is, into @buf (indexed by offset), over [lo, hi) */
static unsigned char *actual(struct side *s, size_t lo, size_t hi)
{
	if (!s->remote)
		return s->mem;
	side_io(s, 0, stage, lo, hi - lo);
	return stage;
}

/* The model against the memory over [lo, hi); resynced on a difference */
static void compare(unsigned long long c, struct side *s, int is_dst, int type,
		    size_t lo, size_t hi)
{
	unsigned char *got = actual(s, lo, hi);
	size_t i, b, next;

	for (i = 0; is_dst && i < npairs; i++) {
		uint64_t g = raw_bits(type, got + pairs[i].off);

		if (g == pairs[i].a || g == pairs[i].b)
			memcpy(s->model + pairs[i].off, got + pairs[i].off,
			       type_size[type]);
	}
	for (b = lo; b < hi; b = next) {
		next = (b / BLK + 1) * BLK;
		if (next > hi)
			next = hi;
		if (kind_at(s, b) == '-' ||
		    !memcmp(s->model + b, got + b, next - b))
			continue;
		for (i = b; s->model[i] == got[i]; i++)
			;
		fprintf(stderr, "reduce-fuzz: case %llu: %s byte %zu is %02x, model %02x\n",
			c, s->name, i, got[i], s->model[i]);
		mismatches++;
		memcpy(s->model + b, got + b, next - b);
	}
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * The pieces' element values (little-endian, whatever the ABI's order),
 * each NaN of a float type as one canonical NaN
 */
static uint64_t hash_side(const struct side *s, int type)
{
	unsigned int size = type_size[type], j;
	uint64_t h = 0xcbf29ce484222325ULL, v;
	unsigned long i;
	size_t off, e;

	for (i = 0; i < s->cnt; i++) {
		if (!s->piece[i].iov_len)
			continue;
		off = off_of(s, s->piece[i].iov_base);
		for (e = off; e < off + s->piece[i].iov_len; e += size) {
			v = elem_get(s->model + e, size);
			if (is_float(type) && is_nan(type, s->model + e))
				v = 0x4e614e;
			for (j = 0; j < size; j++) {
				h ^= (v >> (8 * j)) & 0xff;
				h *= 0x100000001b3ULL;
			}
		}
	}
	return h;
}

static const char *errname(long ret, int e)
{
	static char buf[16];

	if (ret >= 0)
		return "0";
	switch (e) {
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EPERM: return "EPERM";
	case ESRCH: return "ESRCH";
	case EBADF: return "EBADF";
	}
	snprintf(buf, sizeof(buf), "%d", e);
	return buf;
}

static int probe(unsigned long flags)
{
	if (syscall(SYS_process_vm_readv, (long)getpid(), NULL, 1UL, NULL, 1UL,
		    flags) == -1)
		return errno;
	return 0;
}

/*
 * Flags for @op on @type, or (now and then) an invalid variant of them;
 * *valid says which.
 */
static unsigned long pick_flags(int op, int type, int *valid)
{
	unsigned long f = RED(op, type);

	*valid = 0;
	switch (rnd(100)) {
	case 0:
		return RED(rnd(2) ? 0 : 8 + rnd(8), type);
	case 1:
		return RED(op, rnd(2) ? 0 : 11 + rnd(5));
	case 2:
		return RED(PROCESS_VM_OP_BAND + rnd(3),
			   PROCESS_VM_TYPE_F32 + rnd(2));
	case 3:
		return f & ~PROCESS_VM_REDUCE;
	case 4:
		switch (rnd(3)) {
		case 0: return f | 1UL << (2 + rnd(6));
		case 1: return f | 1UL << (9 + rnd(3));
		}
		return f | 1UL << (20 + rnd(12));
	}
	*valid = op_allowed(op, type);
	return f;
}

static void usage(void)
{
	fprintf(stderr, "usage: reduce_fuzz [-s seed] [-n cases]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long seed = 1, ncases = 1500, c;
	uint64_t digest = 0xcbf29ce484222325ULL, fdigest = digest;
	int floats[NTYPES] = { 0 }, to_t[2], opt, t;
	char line[160], *end;

	while ((opt = getopt(argc, argv, "s:n:")) != -1) {
		if (opt != 's' && opt != 'n')
			usage();
		if (opt == 's')
			seed = strtoull(optarg, &end, 0);
		else
			ncases = strtoull(optarg, &end, 0);
		if (*end || !*optarg)
			usage();
	}
	if (optind != argc)
		usage();
	rng.s = mix64(seed ^ 0x7265647563652d66ULL);
	data_state = mix64(seed) | 1;

	if (probe(RED(PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_U8)) != EFAULT) {
		fprintf(stderr, "reduce-fuzz: this kernel has no PROCESS_VM_REDUCE\n");
		return 2;
	}
	for (t = PROCESS_VM_TYPE_F32; t <= PROCESS_VM_TYPE_F64; t++)
		floats[t] = probe(RED(PROCESS_VM_OP_SUM, t)) == EFAULT;

	map_side(&rem);
	map_side(&loc);
	stage = malloc(REGION);
	scratch = malloc(REGION + 8);
	pairs = malloc(REGION / 4 * sizeof(*pairs));
	if (!stage || !scratch || !pairs)
		die("malloc");
	if (pipe(to_t))
		die("pipe");
	fflush(stdout);
	target = fork();
	if (target < 0)
		die("fork");
	if (!target) {
		char x;

		close(to_t[1]);
		/* Resident for good: NOWAIT must find every page it is asked for */
		mlockall(MCL_CURRENT);
		while (read(to_t[0], &x, 1) > 0)
			;
		_exit(0);
	}
	close(to_t[0]);
	pidfd = syscall(SYS_pidfd_open, target, 0);
	if (pidfd < 0)
		die("pidfd_open");

	for (c = 0; c < ncases; c++) {
		int write = rnd(2), op = 1 + rnd(NOPS - 1), type, valid, e = 0;
		unsigned int size;
		unsigned long flags;
		size_t elems;
		long pid = target, ret, want;
		uint64_t lh, rh;
		unsigned long lcnt, rcnt;
		int n, bad, over;

		type = 1 + rnd(NTYPES - 1);
		if (!op_allowed(op, type))
			op = 1 + rnd(PROCESS_VM_OP_MAX);
		size = type_size[type];
		flags = pick_flags(op, type, &valid);
		if (!rnd(4)) {
			flags |= PROCESS_VM_PIDFD;
			pid = pidfd;
		}
		if (!rnd(4))
			flags |= PROCESS_VM_NOWAIT;
		elems = pick_elems(size);
		cut_side(&loc, size, elems);
		cut_side(&rem, size, rnd(10) < 7 ? elems : pick_elems(size));
		refill(&loc, type);
		refill(&rem, type);
		bad = rnd(100) < 4 && misalign(rnd(2) ? &loc : &rem, size);
		loc.total = total(&loc);
		rem.total = total(&rem);
		/* Now and then a count over UIO_MAXIOV: 1 local, 2 remote */
		over = rnd(100) < 2 ? 1 + rnd(2) : 0;
		lcnt = over == 1 ? UIO_MAXIOV + 1 : loc.cnt;
		rcnt = over == 2 ? UIO_MAXIOV + 1 : rem.cnt;

		npairs = 0;
		if (!valid)
			want = -EINVAL;
		else if (is_float(type) && !floats[type])
			want = -EOPNOTSUPP;
		else if (over == 1)
			want = -EINVAL;
		else if (!loc.total)
			want = 0;
		else if (over || bad || misaligned(&loc, size) || misaligned(&rem, size))
			want = -EINVAL;
		else if (!rem.total)
			want = 0;
		else
			want = model_transfer(write, op, type);

		ret = syscall(write ? SYS_process_vm_writev : SYS_process_vm_readv,
			      pid, loc.iov, lcnt, rem.iov, rcnt, flags);
		if (ret < 0)
			e = errno;
		if (ret != (want < 0 ? -1 : want) || (want < 0 && e != -want)) {
			fprintf(stderr, "reduce-fuzz: case %llu: returned %ld (%s), model %ld (%s)\n",
				c, ret, errname(ret, e), want < 0 ? -1 : want,
				errname(want, (int)-want));
			mismatches++;
		}
		if ((c + 1) % VERIFY_EVERY == 0 || c + 1 == ncases) {
			compare(c, &loc, !write, type, 0, REGION);
			compare(c, &rem, write, type, 0, REGION);
		} else {
			compare(c, &loc, !write, type, loc.lo, loc.hi);
			compare(c, &rem, write, type, rem.lo, rem.hi);
		}
		lh = hash_side(&loc, type);
		rh = hash_side(&rem, type);
		n = snprintf(line, sizeof(line),
			     "%llu %s %lu %lu %lu %lu %ld %s %016llx %016llx\n",
			     c, write ? "writev" : "readv",
			     flags >> PROCESS_VM_OP_SHIFT & 15,
			     flags >> PROCESS_VM_TYPE_SHIFT & 15, lcnt, rcnt, ret, errname(ret, e),
			     (unsigned long long)lh, (unsigned long long)rh);
		if (valid && is_float(type))
			fdigest = fnv(fdigest, line, n);
		else
			digest = fnv(digest, line, n);
		fputs(line, stdout);
	}
	close(to_t[1]);
	waitpid(target, NULL, 0);
	printf("reduce-fuzz: %llu cases, seed %llu, digest %016llx, floats ",
	       ncases, seed, (unsigned long long)digest);
	if (floats[PROCESS_VM_TYPE_F32] && floats[PROCESS_VM_TYPE_F64])
		printf("%016llx", (unsigned long long)fdigest);
	else
		printf("none");
	printf(", %lu mismatches\n", mismatches);
	return fflush(stdout) ? 2 : mismatches ? 1 : 0;
}
