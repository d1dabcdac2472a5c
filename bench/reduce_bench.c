// SPDX-License-Identifier: GPL-2.0
/*
 * reduce_bench - an MPI reduce-to-root with PROCESS_VM_REDUCE against
 * copy-then-reduce, what an MPI library's root does without it.
 *
 * The root forks N-1 peers, each holding M bytes, and times one whole
 * reduction: result = result + peer for every peer, by
 *   reduce   process_vm_readv with PROCESS_VM_REDUCE | SUM (the kernel
 *            combines straight from the peer's pages; examples/pvm_reduce.h)
 *   copyred  process_vm_readv of all M bytes into a temporary buffer, then
 *            the user-space loop over them (pvm_reduce.h's)
 *   blocked  the same a 256 KiB chunk at a time, so the temporary stays in
 *            cache (pvm_reduce.h's fallback)
 * for SUM on f64 and u64.
 *
 * Usage: reduce_bench [-s sizes] [-n ranks] [-t ms_per_point]
 *   -s  comma separated sizes M per rank, suffixes K/M (binary); default
 *       4K,64K,1M,8M,64M
 *   -n  comma separated process counts N; default 2,4,8
 *   -t  time budget per point in ms (default 20; at least 1 timed op)
 *
 * Output, one line per point (ns for one whole reduction, MB/s of peer
 * data combined, MB = 10^6 bytes):
 *   bench <method>_<type>_n<N> <M> <ns_per_op> <MB_per_s>
 * Points start from a zeroed result; after the timed reductions every
 * element must equal the number of reductions times the peers' sum:
 * else bench-fail <method> <M> <what> and exit status 1.  Without
 * REDUCE (the reference kernel) the reduce points are left out with
 * bench-skip reduce EINVAL.
 *
 * Build: gcc -static -O2 -Wall -I<kernel>/usr/include -o reduce_bench reduce_bench.c
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "../examples/pvm_reduce.h"

#define MAX_N		8
#define MAX_SIZES	16

enum method { REDUCE, COPYRED, BLOCKED, NMETHODS };

static const char * const method_name[NMETHODS] = { "reduce", "copyred", "blocked" };

static size_t sizes[MAX_SIZES], nsizes, maxsize;
static int ranks[MAX_SIZES], nranks;
static uint64_t budget_ns = 20000000;
static unsigned char *result, *temp;
static pid_t peer_pid[MAX_N];
static unsigned char *peer_buf[MAX_N];
static int peer_fd[MAX_N];	/* a peer lives while its pipe is open */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED) {
		perror("reduce_bench: mmap");
		exit(2);
	}
	return p;
}

static size_t parse_size(const char *s)
{
	char *end;
	size_t v = strtoull(s, &end, 10);

	if (*end == 'K')
		v <<= 10;
	else if (*end == 'M')
		v <<= 20;
	return v;
}

/* Peer r holds the double r (for u64 the same bits) in every element */
static double peer_value(int r)
{
	return (double)r;
}

static void __attribute__((noreturn)) peer(int r, int up, int down)
{
	unsigned char *buf = map(maxsize);
	double v = peer_value(r);
	size_t i;
	char x;

	for (i = 0; i < maxsize; i += 8)
		memcpy(buf + i, &v, 8);
	if (write(up, &buf, sizeof(buf)) != sizeof(buf))
		_exit(1);
	while (read(down, &x, 1) > 0)
		;
	_exit(0);
}

/* One whole reduction of @n ranks, @m bytes each; 0 or -1 with errno */
static int reduce_once(enum method how, int n, size_t m, int type)
{
	int r;

	for (r = 1; r < n; r++) {
		ssize_t got;

		switch (how) {
		case REDUCE:
			got = pvm_reduce_kernel(0, peer_pid[r], result,
						peer_buf[r], m,
						PROCESS_VM_OP_SUM, type);
			break;
		case COPYRED:
			got = pvm_reduce_call(0, peer_pid[r], temp, peer_buf[r],
					      m, 0);
			if (got == (ssize_t)m)
				pvm_reduce_local(result, temp, m,
						 PROCESS_VM_OP_SUM, type);
			break;
		default:
			got = pvm_reduce_fallback(0, peer_pid[r], result,
						  peer_buf[r], m,
						  PROCESS_VM_OP_SUM, type);
			break;
		}
		if (got != (ssize_t)m) {
			if (got >= 0)
				errno = EIO;
			return -1;
		}
	}
	return 0;
}

/* Every element after @k reductions of @n ranks, checked */
static int check(int n, size_t m, int type, unsigned long k, char *why)
{
	uint64_t ubits = 0, u;
	double dsum = 0, d;
	size_t i;
	int r;

	for (r = 1; r < n; r++) {
		double v = peer_value(r);

		memcpy(&u, &v, 8);
		ubits += u;
		dsum += v;
	}
	ubits *= k;
	dsum *= k;
	for (i = 0; i < m; i += 8) {
		memcpy(&u, result + i, 8);
		memcpy(&d, result + i, 8);
		if (type == PROCESS_VM_TYPE_U64 ? u != ubits : d != dsum) {
			sprintf(why, "element %zu wrong after %lu reductions", i / 8, k);
			return -1;
		}
	}
	return 0;
}

/* One point: ns per whole reduction (-1 on failure, @why set) */
static double point(enum method how, int n, size_t m, int type, char *why)
{
	uint64_t start, t, elapsed = 0;
	unsigned long k = 0;

	memset(result, 0, m);
	/* Small sizes: one untimed round first (caches, the allocator) */
	if (m < (1 << 20)) {
		if (reduce_once(how, n, m, type))
			goto fail;
		k++;
	}
	start = now_ns();
	do {
		if (reduce_once(how, n, m, type))
			goto fail;
		k++;
		t = now_ns();
		elapsed = t - start;
	} while (elapsed < budget_ns);
	if (check(n, m, type, k, why))
		return -1;
	return (double)elapsed / (k - (m < (1 << 20)));
fail:
	sprintf(why, "%s", strerror(errno));
	return -1;
}

static void start_peers(int n)
{
	int r, up[2], down[2];

	for (r = 1; r < n; r++) {
		if (pipe(up) || pipe(down))
			exit(2);
		peer_pid[r] = fork();
		if (peer_pid[r] < 0)
			exit(2);
		if (!peer_pid[r]) {
			int q;

			/* Only the root may hold a peer's pipe open */
			for (q = 1; q < r; q++)
				close(peer_fd[q]);
			close(up[0]);
			close(down[1]);
			peer(r, up[1], down[0]);
		}
		close(up[1]);
		close(down[0]);
		if (read(up[0], &peer_buf[r], sizeof(peer_buf[r])) !=
		    sizeof(peer_buf[r]))
			exit(2);
		close(up[0]);
		peer_fd[r] = down[1];
	}
}

static void stop_peers(int n)
{
	int r;

	for (r = 1; r < n; r++) {
		close(peer_fd[r]);
		waitpid(peer_pid[r], NULL, 0);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: reduce_bench [-s sizes] [-n ranks] [-t ms]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const int types[] = { PROCESS_VM_TYPE_F64, PROCESS_VM_TYPE_U64 };
	char *list_s = "4K,64K,1M,8M,64M", *list_n = "2,4,8", *tok, why[96];
	int opt, i, t, failed = 0, have_reduce;
	enum method how;
	size_t s;

	while ((opt = getopt(argc, argv, "s:n:t:")) != -1) {
		if (opt == 's')
			list_s = optarg;
		else if (opt == 'n')
			list_n = optarg;
		else if (opt == 't')
			budget_ns = strtoull(optarg, NULL, 10) * 1000000;
		else
			usage();
	}
	for (tok = strtok(list_s, ","); tok && nsizes < MAX_SIZES; tok = strtok(NULL, ",")) {
		sizes[nsizes] = parse_size(tok);
		if (!sizes[nsizes] || sizes[nsizes] % 8)
			usage();
		if (sizes[nsizes] > maxsize)
			maxsize = sizes[nsizes];
		nsizes++;
	}
	for (tok = strtok(list_n, ","); tok && nranks < MAX_SIZES; tok = strtok(NULL, ",")) {
		ranks[nranks] = atoi(tok);
		if (ranks[nranks] < 2 || ranks[nranks] > MAX_N)
			usage();
		nranks++;
	}
	if (!nsizes || !nranks || optind != argc)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	result = map(maxsize);
	temp = map(maxsize);
	have_reduce = pvm_reduce_path(PROCESS_VM_TYPE_U64) == PVM_REDUCE_KERNEL;
	if (!have_reduce)
		printf("bench-skip reduce EINVAL\n");

	for (i = 0; i < nranks; i++) {
		start_peers(ranks[i]);
		for (s = 0; s < nsizes; s++)
			for (t = 0; t < 2; t++)
				for (how = REDUCE; how < NMETHODS; how++) {
					double ns;

					if (how == REDUCE && (!have_reduce ||
					    pvm_reduce_path(types[t]) != PVM_REDUCE_KERNEL))
						continue;
					ns = point(how, ranks[i], sizes[s], types[t], why);
					if (ns < 0) {
						printf("bench-fail %s_%s_n%d %zu %s\n",
						       method_name[how],
						       types[t] == PROCESS_VM_TYPE_F64 ? "f64" : "u64",
						       ranks[i], sizes[s], why);
						failed = 1;
						continue;
					}
					printf("bench %s_%s_n%d %zu %.1f %.1f\n",
					       method_name[how],
					       types[t] == PROCESS_VM_TYPE_F64 ? "f64" : "u64",
					       ranks[i], sizes[s], ns,
					       (double)sizes[s] * (ranks[i] - 1) * 1e3 / ns);
				}
		stop_peers(ranks[i]);
	}
	return failed;
}
