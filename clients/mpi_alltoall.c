// SPDX-License-Identifier: GPL-2.0
/*
 * mpi_alltoall - verified MPI_Alltoall and MPI_Alltoallv.
 *
 * Usage: mpirun -np P mpi_alltoall [-s min] [-S max] [-f factor]
 *                                  [-i iterations] [-b budget]
 *
 * For each block size from min to max bytes per peer (default 1 B to
 * 4 MiB, times factor, default 2, each step; sizes take a k or M suffix)
 * every rank sends every rank, itself included, a block whose pattern
 * depends on the size, the iteration, the sender and the receiver, first
 * with MPI_Alltoall and then with MPI_Alltoallv.  The MPI_Alltoallv
 * blocks have lengths that differ per sender and receiver (between about
 * half and all of the size, plus a few bytes) and lie at odd offsets with
 * guard bytes between them, which are checked to be untouched.  With
 * Open MPI's shared memory transport the blocks above its eager limit
 * travel by process_vm_readv(): many ranks reading each other at once.
 *
 * Iterations per size: as many as fit a rank's whole send buffer in budget
 * bytes (-b, default 8 MiB), at most -i (default 20), at least 1.  Sizes
 * that get more than one also start with an untimed (but verified)
 * warm-up call.  Only the calls are timed.
 *
 * Output (rank 0), one line per size and collective, then the verdict:
 *   alltoall <bytes per peer> <iterations> <usec per call> <MB/s>
 *   alltoallv <bytes per peer> <iterations> <usec per call> <MB/s>
 *   alltoall: ok  |  alltoall: FAIL <what>
 * MB/s counts the bytes moved between distinct ranks, summed over ranks.
 * Mismatch details go to stderr.  Exit status: 0 if all data arrived
 * intact, 1 on a mismatch, 2 on bad usage; MPI errors abort the job.
 *
 * Build: mpicc -O2 -Wall -Werror -o mpi_alltoall mpi_alltoall.c
 */
#define PROG "alltoall"
#include "mpi_common.h"

#define GUARD_LEN	3	/* odd: blocks of alltoallv are unaligned */
#define GUARD		0xa5

/* Largest block size an option may give: every rank sends P of them. */
#define SIZE_LIMIT	(256ULL << 20)

/* First mismatch seen by this rank, for the diagnostic on stderr. */
struct damage {
	unsigned long long bytes;
	int from;
	long offset;	/* negative: a guard byte before the block */
	unsigned char got, want;
};

static int nranks;

/* Each block its own pattern: a stale or misrouted block never passes. */
static uint64_t seed_of(size_t size, long iter, int v, int from, int to)
{
	return mix(size * 0x9e3779b97f4a7c15ULL ^ (uint64_t)iter << 24 ^
		   (uint64_t)v << 52 ^ (uint64_t)from << 56 ^
		   (uint64_t)to << 60);
}

static void note(struct damage *d, int from, long off, unsigned char got,
		 unsigned char want)
{
	if (!d->bytes++) {
		d->from = from;
		d->offset = off;
		d->got = got;
		d->want = want;
	}
}

/* Compare a word at a time; look at single bytes only on a miss. */
static void verify(const unsigned char *p, size_t len, uint64_t seed,
		   int from, struct damage *d)
{
	size_t i, k, n;

	for (i = 0; i < len; i += 8) {
		uint64_t w = pattern_word(seed, i / 8);
		const unsigned char *want = (const unsigned char *)&w;

		n = len - i < 8 ? len - i : 8;
		if (memcmp(p + i, want, n))
			for (k = 0; k < n; k++)
				if (p[i + k] != want[k])
					note(d, from, i + k, p[i + k],
					     want[k]);
	}
}

/*
 * Bytes rank @from sends rank @to in MPI_Alltoallv at block size @size:
 * a half to all of it, plus 0..4 so that lengths are odd too.
 */
static int vcount(size_t size, int from, int to)
{
	return size - size * ((from + 2 * to) % 3) / 4 + (from * 3 + to) % 5;
}

/* The defaults given at the top. */
static int parse_args(int argc, char **argv, struct mpi_opts *o)
{
	*o = (struct mpi_opts){
		.min = 1, .max = 4UL << 20, .factor = 2, .iters = 20,
		.budget = 8UL << 20,
	};
	return parse_opts(argc, argv, "s:S:f:i:b:", o, SIZE_LIMIT,
			  "usage: mpi_alltoall [-s min] [-S max] [-f factor] [-i iterations] [-b budget]");
}

/* Buffers for one block size; the alltoallv layout is computed here. */
struct bufs {
	unsigned char *send, *recv;
	int *scount, *sdispl, *rcount, *rdispl;
};

static void setup_v(struct bufs *b, size_t size)
{
	int j, s = GUARD_LEN, r = GUARD_LEN;

	for (j = 0; j < nranks; j++) {
		b->scount[j] = vcount(size, rank, j);
		b->sdispl[j] = s;
		s += b->scount[j] + GUARD_LEN;
		b->rcount[j] = vcount(size, j, rank);
		b->rdispl[j] = r;
		r += b->rcount[j] + GUARD_LEN;
	}
	/* Guards are never written by MPI, so setting them once will do. */
	memset(b->recv, GUARD, r);
}

/* One call of MPI_Alltoall (@v == 0) or MPI_Alltoallv; returns its time. */
static double one_call(struct bufs *b, size_t size, long iter, int v,
		       struct damage *d)
{
	double t0, t;
	int j;

	for (j = 0; j < nranks; j++) {
		uint64_t seed = seed_of(size, iter, v, rank, j);

		if (v)
			fill(b->send + b->sdispl[j], b->scount[j], seed);
		else
			fill(b->send + j * size, size, seed);
	}
	mpi_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
	t0 = MPI_Wtime();
	if (v)
		mpi_check(MPI_Alltoallv(b->send, b->scount, b->sdispl,
					MPI_BYTE, b->recv, b->rcount,
					b->rdispl, MPI_BYTE, MPI_COMM_WORLD),
			  "MPI_Alltoallv");
	else
		mpi_check(MPI_Alltoall(b->send, size, MPI_BYTE, b->recv, size,
				       MPI_BYTE, MPI_COMM_WORLD),
			  "MPI_Alltoall");
	t = MPI_Wtime() - t0;

	for (j = 0; j < nranks; j++) {
		uint64_t seed = seed_of(size, iter, v, j, rank);
		unsigned char *p;
		int k;

		if (!v) {
			verify(b->recv + j * size, size, seed, j, d);
			continue;
		}
		p = b->recv + b->rdispl[j];
		verify(p, b->rcount[j], seed, j, d);
		for (k = 1; k <= GUARD_LEN; k++)
			if (p[-k] != GUARD)
				note(d, j, -k, p[-k], GUARD);
	}
	if (v) {
		unsigned char *end = b->recv + b->rdispl[nranks - 1] +
				     b->rcount[nranks - 1];

		for (j = 0; j < GUARD_LEN; j++)
			if (end[j] != GUARD)
				note(d, nranks - 1, b->rcount[nranks - 1] + j,
				     end[j], GUARD);
	}
	return t;
}

/* Bytes moved between distinct ranks by one call, summed over ranks. */
static double moved(size_t size, int v)
{
	double sum = 0;
	int i, j;

	for (i = 0; i < nranks; i++)
		for (j = 0; j < nranks; j++)
			if (i != j)
				sum += v ? vcount(size, i, j) : size;
	return sum;
}

static unsigned long long run_size(const struct mpi_opts *o,
				   struct bufs *b, size_t size, int v)
{
	/* The budget is for a rank's whole send buffer. */
	long it, iters = iterations(o, size * nranks);
	struct damage d = { 0 };
	unsigned long long total;
	double t = 0, usec;

	if (v)
		setup_v(b, size);
	if (iters > 1)
		one_call(b, size, -1, v, &d);
	for (it = 0; it < iters; it++)
		t += one_call(b, size, it, v, &d);
	if (d.bytes)
		fprintf(stderr,
			"alltoall: rank %d: %s size %zu: %llu bytes differ, first from rank %d at offset %ld: got 0x%02x, want 0x%02x\n",
			rank, v ? "alltoallv" : "alltoall", size, d.bytes,
			d.from, d.offset, d.got, d.want);
	mpi_check(MPI_Allreduce(&d.bytes, &total, 1, MPI_UNSIGNED_LONG_LONG,
				MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
	if (!rank) {
		usec = t / iters * 1e6;
		printf("%s %zu %ld %.2f %.2f\n", v ? "alltoallv" : "alltoall",
		       size, iters, usec, moved(size, v) / usec);
		fflush(stdout);
	}
	return total;
}

int main(int argc, char **argv)
{
	unsigned long long bad = 0, n;
	size_t size, len, first_bad = 0;
	int v, failed = 0;
	struct bufs b;
	struct mpi_opts o;

	mpi_start(&argc, &argv, &nranks);
	if (parse_args(argc, argv, &o)) {
		MPI_Finalize();
		return 2;
	}
	/* Room for the largest alltoallv layout: blocks up to max + 4. */
	len = (o.max + 4 + GUARD_LEN) * nranks + GUARD_LEN;
	b.send = mpi_alloc(len);
	b.recv = mpi_alloc(len);
	memset(b.send, 0, len);
	memset(b.recv, 0, len);
	b.scount = mpi_alloc(4 * sizeof(int) * nranks);
	b.sdispl = b.scount + nranks;
	b.rcount = b.sdispl + nranks;
	b.rdispl = b.rcount + nranks;

	for (size = o.min; size <= o.max; size *= o.factor) {
		for (v = 0; v < 2; v++) {
			n = run_size(&o, &b, size, v);
			if (n && !failed++)
				first_bad = size;
			bad += n;
		}
		if (size > o.max / o.factor)
			break;
	}

	if (!rank) {
		if (bad)
			printf("alltoall: FAIL %llu bytes differ in %d runs, first at %zu bytes per peer\n",
			       bad, failed, first_bad);
		else
			printf("alltoall: ok\n");
	}
	free(b.send);
	free(b.recv);
	free(b.scount);
	MPI_Finalize();
	return bad ? 1 : 0;
}
