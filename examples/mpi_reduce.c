// SPDX-License-Identifier: GPL-2.0
/*
 * mpi_reduce - an MPI_Reduce among N processes, done the way an MPI
 * library's shared-memory component could do it with PROCESS_VM_REDUCE
 * (through pvm_reduce.h, which falls back to a copy and a loop where the
 * kernel cannot).
 *
 * Rank 0 (the root) forks ranks 1..N-1; each rank fills M elements of
 * its own, derived from (rank, index), and tells the root its pid and
 * buffer address over a pipe, as MPI's shared-memory handshake would.
 * Two ways to reduce into the root's result buffer, which starts as the
 * root's own data:
 *
 *   pull: the root calls reduce_from() on each peer in rank order:
 *         result = result OP peer, straight from the peer's pages.
 *   push: the result is cut into N slices; in round j, rank r adds its
 *         slice (r + j) mod N into the root with reduce_to().  The ranks
 *         work in parallel and never on the same slice at once (the
 *         kernel gives no atomicity, so the schedule partitions the data);
 *         the root releases each round when every rank has finished the
 *         last.
 *
 * The root then recomputes the reduction serially, in the same order of
 * operands (so floats must match bit for bit), and compares.
 *
 * Usage: mpi_reduce [-n ranks] [-m elements] [-o op] [-t type] [-v pull|push]
 *        mpi_reduce -a    every op and type, 3 ranks, both ways
 *        -f               the fallback even where the kernel could
 *        -k               fail unless the kernel reduces the integer types
 *                         (floats: where its probe says it can)
 * Defaults: 4 ranks, 1 Mi elements, SUM, F64, both ways.
 * Exit status: 0 all verified, 1 a difference, 3 no process_vm_readv at all.
 *
 * Build: gcc -static -O2 -I<kernel>/usr/include -o mpi_reduce mpi_reduce.c
 */
#define _GNU_SOURCE
#if __FLT_EVAL_METHOD__ == 2
/* The serial reduction in binary32/64, as the kernel computes it */
#pragma GCC target("sse2,fpmath=sse")
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "pvm_reduce.h"

#define MAX_RANKS 64

static int need_kernel;

static const char * const op_names[] = {
	"", "SUM", "PROD", "MIN", "MAX", "BAND", "BOR", "BXOR",
};
static const char * const type_names[] = {
	"", "S8", "U8", "S16", "U16", "S32", "U32", "S64", "U64", "F32", "F64",
};

struct peer {
	pid_t pid;
	void *data;
};

static int lookup(const char * const *names, int n, const char *s)
{
	int i;

	for (i = 1; i < n; i++)
		if (!strcasecmp(names[i], s))
			return i;
	return 0;
}

static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Rank @rank's M elements: any bits for integers, small finite floats */
static void fill(int rank, int type, void *buf, size_t m)
{
	size_t i;

	for (i = 0; i < m; i++) {
		uint64_t h = mix((uint64_t)rank << 40 ^ i);
		double v = (double)((int64_t)(h % 2001) - 1000) / 8;

		switch (pvm_reduce_size(type)) {
		case 1: ((uint8_t *)buf)[i] = (uint8_t)h; break;
		case 2: ((uint16_t *)buf)[i] = (uint16_t)h; break;
		case 4:
			if (type == PROCESS_VM_TYPE_F32)
				((float *)buf)[i] = (float)v;
			else
				((uint32_t *)buf)[i] = (uint32_t)h;
			break;
		default:
			if (type == PROCESS_VM_TYPE_F64)
				((double *)buf)[i] = v;
			else
				((uint64_t *)buf)[i] = h;
		}
	}
}

/* One element, the plain way: what the serial reduction is made of */
#define ONE(T, d, s, op)						\
	do {								\
		T x = *(T *)(d), y = *(const T *)(s);			\
		*(T *)(d) = op == PROCESS_VM_OP_SUM ? (T)(x + y) :	\
			    op == PROCESS_VM_OP_PROD ? (T)(x * y) :	\
			    op == PROCESS_VM_OP_MIN ? (x < y ? x : y) :	\
			    (x > y ? x : y);				\
	} while (0)

#define ONE_BITS(T, d, s, op)						\
	do {								\
		T x = *(T *)(d), y = *(const T *)(s);			\
		*(T *)(d) = op == PROCESS_VM_OP_BAND ? x & y :		\
			    op == PROCESS_VM_OP_BOR ? x | y : x ^ y;	\
	} while (0)

static void serial_one(int op, int type, void *d, const void *s)
{
	int arith = op <= PROCESS_VM_OP_PROD;

	if (op >= PROCESS_VM_OP_BAND) {
		switch (pvm_reduce_size(type)) {
		case 1: ONE_BITS(uint8_t, d, s, op); break;
		case 2: ONE_BITS(uint16_t, d, s, op); break;
		case 4: ONE_BITS(uint32_t, d, s, op); break;
		default: ONE_BITS(uint64_t, d, s, op); break;
		}
		return;
	}
	switch (type) {
	case PROCESS_VM_TYPE_S8:
		if (arith)
			ONE(uint8_t, d, s, op);
		else
			ONE(int8_t, d, s, op);
		break;
	case PROCESS_VM_TYPE_U8: ONE(uint8_t, d, s, op); break;
	case PROCESS_VM_TYPE_S16:
	case PROCESS_VM_TYPE_U16:
		if (arith) {	/* wide enough that u16 * u16 cannot overflow */
			uint32_t x = *(uint16_t *)d, y = *(const uint16_t *)s;

			*(uint16_t *)d = (uint16_t)(op == PROCESS_VM_OP_SUM ?
						    x + y : x * y);
		} else if (type == PROCESS_VM_TYPE_S16) {
			ONE(int16_t, d, s, op);
		} else {
			ONE(uint16_t, d, s, op);
		}
		break;
	case PROCESS_VM_TYPE_S32:
		if (arith)
			ONE(uint32_t, d, s, op);
		else
			ONE(int32_t, d, s, op);
		break;
	case PROCESS_VM_TYPE_U32: ONE(uint32_t, d, s, op); break;
	case PROCESS_VM_TYPE_S64:
		if (arith)
			ONE(uint64_t, d, s, op);
		else
			ONE(int64_t, d, s, op);
		break;
	case PROCESS_VM_TYPE_U64: ONE(uint64_t, d, s, op); break;
	case PROCESS_VM_TYPE_F32: ONE(float, d, s, op); break;
	case PROCESS_VM_TYPE_F64: ONE(double, d, s, op); break;
	}
}

/* Elements [lo, hi) of slice @s of @n: the push schedule's unit */
static size_t slice_start(size_t m, int n, int s)
{
	return m * s / n;
}

static int put(int fd, const void *p, size_t len)
{
	return write(fd, p, len) == (ssize_t)len ? 0 : -1;
}

static int get(int fd, void *p, size_t len)
{
	return read(fd, p, len) == (ssize_t)len ? 0 : -1;
}

/*
 * Rank @rank (1..n-1): fill, report (pid, address), then for push do the
 * rounds the root releases.  Exit status 0, or 1 on a failed reduce_to().
 */
static void __attribute__((noreturn))
rank_main(int rank, int n, size_t m, int op, int type, int push, int up,
	  int down)
{
	unsigned int size = pvm_reduce_size(type);
	struct peer me = { getpid(), malloc(m * size) };
	char *root_result;
	int j, status = 0;

	if (!me.data)
		_exit(1);
	fill(rank, type, me.data, m);
	if (put(up, &me, sizeof(me)) || get(down, &root_result, sizeof(root_result)))
		_exit(1);
	for (j = 0; push && j < n; j++) {
		int s = (rank + j) % n;
		size_t lo = slice_start(m, n, s), hi = slice_start(m, n, s + 1);
		char go;

		if (hi > lo &&
		    reduce_to(getppid(), root_result + lo * size,
			      (char *)me.data + lo * size, (hi - lo) * size,
			      op, type) != (ssize_t)((hi - lo) * size)) {
			fprintf(stderr, "mpi_reduce: rank %d: reduce_to: %s\n",
				rank, strerror(errno));
			status = 1;
		}
		if (put(up, &status, sizeof(status)) || get(down, &go, 1))
			_exit(1);
	}
	/* Stay alive until the root has read us */
	get(down, &j, 1);
	_exit(status);
}

/* One reduction, verified; 0 if it matched, 1 if not, 3 without CMA */
static int run(int n, size_t m, int op, int type, int push)
{
	unsigned int size = pvm_reduce_size(type);
	int up[MAX_RANKS][2], down[MAX_RANKS][2], r, j, s, bad = 0, st;
	struct peer peer[MAX_RANKS];
	char *result = malloc(m * size), *want = malloc(m * size);
	char *data = malloc(n * m * size);
	size_t i;

	if (!result || !want || !data)
		return 1;
	/* The result starts as the root's data, before any rank can push */
	fill(0, type, result, m);
	for (r = 1; r < n; r++) {
		if (pipe(up[r]) || pipe(down[r]))
			return 1;
		peer[r].pid = fork();
		if (peer[r].pid == 0)
			rank_main(r, n, m, op, type, push, up[r][1], down[r][0]);
		if (get(up[r][0], &peer[r], sizeof(peer[r])) ||
		    put(down[r][1], &result, sizeof(result)))
			return 1;
	}

	if (!push) {
		for (r = 1; r < n && !bad; r++)
			if (reduce_from(peer[r].pid, result, peer[r].data,
					m * size, op, type) != (ssize_t)(m * size)) {
				fprintf(stderr, "mpi_reduce: reduce_from rank %d: %s\n",
					r, strerror(errno));
				bad = errno == ENOSYS ? 3 : 1;
			}
	} else {
		for (j = 0; j < n; j++) {
			for (r = 1; r < n; r++) {
				if (get(up[r][0], &st, sizeof(st)))
					return 1;
				bad |= st;
			}
			for (r = 1; r < n; r++)
				put(down[r][1], "g", 1);
		}
	}
	for (r = 1; r < n; r++) {
		put(down[r][1], "x", 1);
		waitpid(peer[r].pid, &st, 0);
		bad |= !WIFEXITED(st) || WEXITSTATUS(st);
		close(up[r][0]);
		close(up[r][1]);
		close(down[r][0]);
		close(down[r][1]);
	}

	/* The serial reduction, operands in the order the ranks gave them */
	fill(0, type, want, m);
	for (r = 1; r < n; r++)
		fill(r, type, data + r * m * size, m);
	for (j = 0; j < n; j++) {
		for (r = 1; r < n; r++) {
			size_t lo = 0, hi = m;

			if (push) {	/* round j: rank r did slice (r + j) % n */
				s = (r + j) % n;
				lo = slice_start(m, n, s);
				hi = slice_start(m, n, s + 1);
			} else if (j) {
				break;
			}
			for (i = lo; i < hi; i++)
				serial_one(op, type, want + i * size,
					   data + (r * m + i) * size);
		}
	}
	for (i = 0; i < m && !bad; i++)
		if (memcmp(result + i * size, want + i * size, size)) {
			fprintf(stderr, "mpi_reduce: element %zu differs from the serial reduction\n",
				i);
			bad = 1;
		}
	if (need_kernel && type < PROCESS_VM_TYPE_F32 &&
	    pvm_reduce_path(type) != PVM_REDUCE_KERNEL) {
		fprintf(stderr, "mpi_reduce: -k: this kernel does not reduce %s\n",
			type_names[type]);
		bad |= 1;
	}
	printf("mpi_reduce: %d ranks x %zu %s %s, %s, %s: %s\n", n, m,
	       type_names[type], op_names[op], push ? "push" : "pull",
	       pvm_reduce_path(type) == PVM_REDUCE_KERNEL ? "kernel" : "fallback",
	       bad == 3 ? "no process_vm_readv on this kernel" :
	       bad ? "DIFFERS" : "verified");
	free(result);
	free(want);
	free(data);
	return bad;
}

static void usage(void)
{
	fprintf(stderr, "usage: mpi_reduce [-a] [-f] [-k] [-n ranks] [-m elements] "
		"[-o op] [-t type] [-v pull|push]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int n = 4, op = PROCESS_VM_OP_SUM, type = PROCESS_VM_TYPE_F64;
	int all = 0, ways = 3, opt, bad = 0, v;
	size_t m = 1 << 20;

	while ((opt = getopt(argc, argv, "afkn:m:o:t:v:")) != -1) {
		switch (opt) {
		case 'a': all = 1; break;
		case 'f': setenv("PVM_REDUCE_FALLBACK", "1", 1); break;
		case 'k': need_kernel = 1; break;
		case 'n': n = atoi(optarg); break;
		case 'm': m = strtoull(optarg, NULL, 0); break;
		case 'o': op = lookup(op_names, 8, optarg); break;
		case 't': type = lookup(type_names, 11, optarg); break;
		case 'v':
			ways = !strcmp(optarg, "pull") ? 1 :
			       !strcmp(optarg, "push") ? 2 : 0;
			break;
		default: usage();
		}
	}
	if (optind != argc || n < 1 || n > MAX_RANKS || !m || !ways ||
	    !pvm_reduce_valid(op, type))
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	/*
	 * Under Yama's ptrace_scope 1 a process may only be read or written
	 * by its ancestors: the ranks push into their parent, so the root
	 * lets them, as Open MPI's and MPICH's shared-memory components do.
	 */
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);

	if (!all) {
		for (v = 0; v < 2 && bad != 3; v++)
			if (ways & (1 << v))
				bad |= run(n, m, op, type, v);
		return bad;
	}
	/* Every op and type, at a size that ends mid-page and mid-slice */
	for (type = 1; type <= PROCESS_VM_TYPE_F64 && bad != 3; type++)
		for (op = 1; op <= PROCESS_VM_OP_BXOR && bad != 3; op++)
			for (v = 0; v < 2 && pvm_reduce_valid(op, type); v++)
				bad |= run(3, 5003, op, type, v);
	return bad;
}
