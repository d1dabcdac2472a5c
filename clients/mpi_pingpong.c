// SPDX-License-Identifier: GPL-2.0
/*
 * mpi_pingpong - verified MPI ping-pong between rank 0 and rank 1.
 *
 * Usage: mpirun -np 2 mpi_pingpong [-s min] [-S max] [-f factor]
 *                                  [-i iterations] [-b budget] [-C size]
 *
 * Rank 0 sends a message of each size from min to max (default 1 B to
 * 64 MiB, times factor, default 2, each step; sizes take a k or M suffix)
 * and rank 1 sends one of the same size back.  Every message carries a
 * pattern that depends on its size, the iteration and the sender, and the
 * receiver checks every byte, so a lost, stale, shifted or misdirected
 * page shows up.  Open MPI's shared memory transport moves messages above
 * its eager limit with one process_vm_readv() per message when its single
 * copy mechanism is CMA: this is the real-world client of the syscall.
 *
 * Iterations per size: as many as fit in budget bytes per direction
 * (-b, default 8 MiB), at most -i (default 100), at least 1.  Sizes that
 * get more than one also start with an untimed (but verified) warm-up
 * round trip.  Only the transfers are timed: buffers are filled before
 * and checked after, so in a slow guest the time goes where it matters.
 *
 * Output (rank 0), one line per size, then the verdict:
 *   pingpong <bytes> <iterations> <usec per round trip> <MB/s>
 *   pingpong: ok  |  pingpong: FAIL <what>
 * MB/s is 2 * bytes / round-trip time: both directions count.
 * Mismatch details go to stderr.  Exit status: 0 if all data arrived
 * intact, 1 on a mismatch, 2 on bad usage; MPI errors abort the job.
 *
 * -C size corrupts one byte of every reply of at least that size before
 * it is sent: a self-test that the verification catches damage.
 *
 * Build: mpicc -O2 -Wall -Werror -o mpi_pingpong mpi_pingpong.c
 */
#define PROG "pingpong"
#include "mpi_common.h"

#define TAG_PING	1
#define TAG_PONG	2

/* Largest size an option may give: one message of it, each way. */
#define SIZE_LIMIT	(1024ULL << 20)

/* First mismatch seen by this rank, for the diagnostic on stderr. */
struct damage {
	unsigned long long bytes;
	size_t offset;
	unsigned char got, want;
};

/* Every message its own pattern: a stale or foreign buffer never passes. */
static uint64_t seed_of(size_t size, long iter, int sender)
{
	return mix(size * 0x9e3779b97f4a7c15ULL ^ (uint64_t)iter << 24 ^
		   (uint64_t)sender << 56);
}

/* Compare a word at a time; look at single bytes only on a miss. */
static void verify(const unsigned char *buf, size_t len, uint64_t seed,
		   struct damage *d)
{
	size_t i, k, n;

	for (i = 0; i < len; i += 8) {
		uint64_t w = pattern_word(seed, i / 8);
		const unsigned char *want = (const unsigned char *)&w;

		n = len - i < 8 ? len - i : 8;
		if (!memcmp(buf + i, want, n))
			continue;
		for (k = 0; k < n; k++) {
			if (buf[i + k] == want[k] || d->bytes++)
				continue;
			d->offset = i + k;
			d->got = buf[i + k];
			d->want = want[k];
		}
	}
}

/* The defaults given at the top; of the two programs only this takes -C. */
static int parse_args(int argc, char **argv, struct mpi_opts *o)
{
	*o = (struct mpi_opts){
		.min = 1, .max = 64UL << 20, .factor = 2, .iters = 100,
		.budget = 8UL << 20,
	};
	return parse_opts(argc, argv, "s:S:f:i:b:C:", o, SIZE_LIMIT,
			  "usage: mpi_pingpong [-s min] [-S max] [-f factor] [-i iterations] [-b budget] [-C size]");
}

/*
 * One round trip of @size bytes.  Returns the time spent in MPI: the
 * barrier first makes sure the peer is done filling and checking.
 */
static double round_trip(const struct mpi_opts *o, unsigned char *sbuf,
			 unsigned char *rbuf, size_t size, long iter,
			 struct damage *d)
{
	int peer = !rank, count = -1;
	MPI_Status st;
	double t0, t;

	fill(sbuf, size, seed_of(size, iter, rank));
	if (rank == 1 && o->corrupt && size >= o->corrupt)
		sbuf[size / 2] ^= 0x40;
	mpi_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
	t0 = MPI_Wtime();
	if (rank == 0) {
		mpi_check(MPI_Send(sbuf, size, MPI_BYTE, peer, TAG_PING,
				   MPI_COMM_WORLD), "MPI_Send");
		mpi_check(MPI_Recv(rbuf, size, MPI_BYTE, peer, TAG_PONG,
				   MPI_COMM_WORLD, &st), "MPI_Recv");
	} else {
		mpi_check(MPI_Recv(rbuf, size, MPI_BYTE, peer, TAG_PING,
				   MPI_COMM_WORLD, &st), "MPI_Recv");
		mpi_check(MPI_Send(sbuf, size, MPI_BYTE, peer, TAG_PONG,
				   MPI_COMM_WORLD), "MPI_Send");
	}
	t = MPI_Wtime() - t0;
	MPI_Get_count(&st, MPI_BYTE, &count);
	if (count != (int)size) {
		/* A short message counts as all of its bytes damaged. */
		fprintf(stderr, "pingpong: rank %d: size %zu: got %d bytes\n",
			rank, size, count);
		d->bytes += size;
	}
	verify(rbuf, size, seed_of(size, iter, peer), d);
	return t;
}

/* Ping-pong at one size; returns the bytes damaged, summed over ranks. */
static unsigned long long run_size(const struct mpi_opts *o,
				   unsigned char *sbuf, unsigned char *rbuf,
				   size_t size)
{
	long it, iters = iterations(o, size);
	struct damage d = { 0 };
	unsigned long long total;
	double t = 0, usec;

	if (iters > 1)
		round_trip(o, sbuf, rbuf, size, -1, &d);
	for (it = 0; it < iters; it++)
		t += round_trip(o, sbuf, rbuf, size, it, &d);
	if (d.bytes)
		fprintf(stderr,
			"pingpong: rank %d: size %zu: %llu bytes differ, first at offset %zu: got 0x%02x, want 0x%02x\n",
			rank, size, d.bytes, d.offset, d.got, d.want);
	mpi_check(MPI_Allreduce(&d.bytes, &total, 1, MPI_UNSIGNED_LONG_LONG,
				MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
	if (!rank) {
		usec = t / iters * 1e6;
		printf("pingpong %zu %ld %.2f %.2f\n", size, iters, usec,
		       2.0 * size / usec);
		fflush(stdout);
	}
	return total;
}

int main(int argc, char **argv)
{
	unsigned long long bad = 0, n;
	size_t size, first_bad = 0;
	unsigned char *sbuf, *rbuf;
	int nranks, failed_sizes = 0;
	struct mpi_opts o;

	mpi_start(&argc, &argv, &nranks);
	if (parse_args(argc, argv, &o)) {
		MPI_Finalize();
		return 2;
	}
	if (nranks != 2) {
		if (!rank)
			printf("pingpong: FAIL needs exactly 2 ranks, not %d\n",
			       nranks);
		MPI_Finalize();
		return 2;
	}
	sbuf = mpi_alloc(o.max);
	rbuf = mpi_alloc(o.max);
	/* Prefaulted, so that the first size does not pay for it. */
	memset(sbuf, 0, o.max);
	memset(rbuf, 0, o.max);

	for (size = o.min; size <= o.max; size *= o.factor) {
		n = run_size(&o, sbuf, rbuf, size);
		if (n && !failed_sizes++)
			first_bad = size;
		bad += n;
		if (size > o.max / o.factor)
			break;
	}

	if (!rank) {
		if (bad)
			printf("pingpong: FAIL %llu bytes differ at %d sizes, first at %zu bytes\n",
			       bad, failed_sizes, first_bad);
		else
			printf("pingpong: ok\n");
	}
	free(sbuf);
	free(rbuf);
	MPI_Finalize();
	return bad ? 1 : 0;
}
