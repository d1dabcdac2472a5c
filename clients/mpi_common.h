/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What mpi_pingpong and mpi_alltoall share: start-up, error checks, the
 * data pattern and the options that pick the sizes and iterations.
 *
 * A program defines PROG, the first word of its verdict lines ("pingpong",
 * "alltoall"), before including this.  A macro and not a variable, so
 * that a program that forgets it does not build.
 */
#ifndef CMA_CLIENTS_MPI_COMMON_H
#define CMA_CLIENTS_MPI_COMMON_H

#ifndef PROG
#error "define PROG, the prefix of the verdict lines, before mpi_common.h"
#endif

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The options both programs take; each program sets the defaults. */
struct mpi_opts {
	size_t min, max, factor, budget;
	long iters;
	size_t corrupt;		/* -C: only if the optstring has it, else 0 */
};

/* This rank: only rank 0 prints results and usage. */
static int rank;

/* MPI_Init, and this rank's number and the size of the job. */
static inline void mpi_start(int *argc, char ***argv, int *nranks)
{
	MPI_Init(argc, argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, nranks);
	/* Report MPI errors ourselves, with what failed, before aborting. */
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

static inline void mpi_check(int rc, const char *what)
{
	char msg[MPI_MAX_ERROR_STRING];
	int len;

	if (rc == MPI_SUCCESS)
		return;
	MPI_Error_string(rc, msg, &len);
	printf(PROG ": FAIL %s on rank %d: %s\n", what, rank, msg);
	fflush(stdout);
	MPI_Abort(MPI_COMM_WORLD, 3);
}

/* Page aligned, like real applications' large buffers. */
static inline void *mpi_alloc(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len)) {
		printf(PROG ": FAIL out of memory on rank %d\n", rank);
		fflush(stdout);
		MPI_Abort(MPI_COMM_WORLD, 3);
		exit(3);
	}
	return p;
}

static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ x >> 31;
}

/* Word @i of a pattern; its bytes differ, so shifts are caught too. */
static inline uint64_t pattern_word(uint64_t seed, size_t i)
{
	return seed ^ (i + 1) * 0xd6e8feb86659fd93ULL;
}

/* The bytes of each word are stored in memory order, the last ones cut. */
static inline void fill(unsigned char *buf, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i += 8) {
		uint64_t w = pattern_word(seed, i / 8);

		memcpy(buf + i, &w, len - i < 8 ? len - i : 8);
	}
}

/*
 * Iterations for a size that moves @bytes per iteration: as many as fit
 * in the budget, at most -i, at least 1.
 */
static inline long iterations(const struct mpi_opts *o, size_t bytes)
{
	size_t n = o->budget / bytes;

	if (n > (size_t)o->iters)
		return o->iters;
	return n ? n : 1;
}

/* A byte count with an optional k or M suffix; above @limit is bad. */
static inline size_t parse_size(const char *s, unsigned long long limit,
				int *bad)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (*end == 'k' || *end == 'K') {
		v <<= 10;
		end++;
	} else if (*end == 'm' || *end == 'M') {
		v <<= 20;
		end++;
	}
	if (end == s || *end || v > limit)
		*bad = 1;
	return v;
}

/*
 * Parse -s -S -f -i -b, and -C if @optstring has it, over the defaults
 * in @o; sizes may be at most @limit.  On bad usage rank 0 prints
 * @usage, and -1 is returned.
 */
static inline int parse_opts(int argc, char **argv, const char *optstring,
			     struct mpi_opts *o, unsigned long long limit,
			     const char *usage)
{
	int c, bad = 0;

	while ((c = getopt(argc, argv, optstring)) != -1) {
		switch (c) {
		case 's':
			o->min = parse_size(optarg, limit, &bad);
			break;
		case 'S':
			o->max = parse_size(optarg, limit, &bad);
			break;
		case 'f':
			o->factor = parse_size(optarg, limit, &bad);
			break;
		case 'i':
			o->iters = atol(optarg);
			break;
		case 'b':
			o->budget = parse_size(optarg, limit, &bad);
			break;
		case 'C':
			o->corrupt = parse_size(optarg, limit, &bad);
			break;
		default:
			bad = 1;
		}
	}
	if (bad || optind != argc || !o->min || o->min > o->max ||
	    o->factor < 2 || o->iters < 1) {
		if (!rank)
			fprintf(stderr, "%s\n", usage);
		return -1;
	}
	return 0;
}

#endif
