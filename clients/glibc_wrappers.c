// SPDX-License-Identifier: GPL-2.0
/*
 * glibc_wrappers - process_vm_readv()/process_vm_writev() as a real,
 * dynamically linked program sees them: through glibc's wrappers.
 *
 * Usage: glibc_wrappers
 *
 * The project's other programs are linked statically.  This one goes
 * through the shared libc.so.6 that distributions ship, so the wrappers
 * and their errno plumbing are exercised as applications use them.  A
 * forked child holds the remote region:
 *
 *   pages 0..3 rw | page 4 unmapped | pages 5..5+BIG_PAGES-1 rw
 *
 * A transfer that runs into the hole stops there and returns the bytes
 * before it, even in the middle of an iovec: what Linux has always done,
 * finer than the "granularity of iovec elements" of the manual page.
 *
 * The parent keeps a shadow copy of what the child's region must hold.
 * Reads are checked against it; after a write the child compares its
 * whole region (the hole excepted) with the shadow, sent over a pipe, so
 * a stray byte anywhere shows up.  Local buffers sit in an arena with
 * gaps around them; bytes a call must not touch are checked too.
 *
 * Output is TAP.  Exit status: 0 if every test passed, 1 otherwise, and 4
 * if the kernel has no Cross Memory Attach (both calls fail with ENOSYS):
 * then a single "1..0 # SKIP" line says so.
 *
 * Build: gcc -O2 -Wall -Werror -o glibc_wrappers glibc_wrappers.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define HOLE_PAGE	4
#define BIG_PAGES	600	/* > 16 pages: the kernel pins in batches */
#define NPAGES		(HOLE_PAGE + 1 + BIG_PAGES)
#define MAX_SEGS	4
#define GAP		64	/* untouchable bytes around local pieces */
#define LOCAL_FILL	0xee
#define SEED_CHILD	1
#define EXIT_ENOSYS	4

enum { CMD_COMPARE = 1, CMD_QUIT };

/* A transfer: remote segments (offsets into the region), local pieces. */
struct xfer {
	const char *name;
	int write;
	int nremote, nlocal;
	size_t roff[MAX_SEGS], rlen[MAX_SEGS];
	size_t llen[MAX_SEGS];
	ssize_t expect;		/* return value; -1: fails with expect_errno */
	int expect_errno;
};

static size_t ps;
static size_t region_size;
static unsigned char *region;	/* remote memory, at this address in child */
static unsigned char *shadow;	/* what the child's region must hold */
static pid_t child;
static int cmd_fd = -1, reply_fd = -1;
static int ntest, nfail;

static unsigned char pattern(uint32_t seed, size_t off)
{
	uint32_t x = seed * 0x9e3779b1u ^ (uint32_t)off * 0x85ebca6bu;

	x ^= x >> 15;
	return (unsigned char)(x ^ x >> 24);
}

static int in_hole(size_t off)
{
	return off / ps == HOLE_PAGE;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
bail(const char *fmt, ...)
{
	va_list ap;

	fputs("Bail out! ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (child > 0)
		kill(child, SIGKILL);
	exit(1);
}

static int full_io(int fd, void *buf, size_t len, int out)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = out ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * The child: fill the region, then answer the parent's commands until it
 * quits or goes away.  CMD_COMPARE is followed by a full shadow image; the
 * reply is the number of differing bytes and the offset of the first.  The
 * image is then copied in, so that one failed test leaves no trace for the
 * next.
 */
static void __attribute__((noreturn)) child_main(int cmd_rd, int reply_wr)
{
	unsigned char *img = malloc(region_size);
	size_t off, reply[2];
	int op;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (!img)
		_exit(1);
	for (off = 0; off < region_size; off++)
		if (!in_hole(off))
			region[off] = pattern(SEED_CHILD, off);
	op = 0;
	if (full_io(reply_wr, &op, sizeof(op), 1))
		_exit(1);
	while (!full_io(cmd_rd, &op, sizeof(op), 0) && op == CMD_COMPARE) {
		if (full_io(cmd_rd, img, region_size, 0))
			_exit(1);
		reply[0] = 0;
		reply[1] = 0;
		for (off = 0; off < region_size; off++) {
			if (in_hole(off) || region[off] == img[off])
				continue;
			if (!reply[0]++)
				reply[1] = off;
			region[off] = img[off];
		}
		if (full_io(reply_wr, reply, sizeof(reply), 1))
			_exit(1);
	}
	_exit(0);
}

static void start_child(void)
{
	int cmd[2], reply[2], ready;
	size_t off;

	region = mmap(NULL, region_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		bail("mmap: %s", strerror(errno));
	/* Unmapped before fork(), so the child has a hole there too. */
	if (munmap(region + HOLE_PAGE * ps, ps))
		bail("munmap: %s", strerror(errno));
	shadow = malloc(region_size);
	if (!shadow)
		bail("out of memory");
	for (off = 0; off < region_size; off++)
		shadow[off] = in_hole(off) ? 0 : pattern(SEED_CHILD, off);

	if (pipe(cmd) || pipe(reply))
		bail("pipe: %s", strerror(errno));
	child = fork();
	if (child < 0)
		bail("fork: %s", strerror(errno));
	if (!child) {
		close(cmd[1]);
		close(reply[0]);
		child_main(cmd[0], reply[1]);
	}
	close(cmd[0]);
	close(reply[1]);
	cmd_fd = cmd[1];
	reply_fd = reply[0];
	if (full_io(reply_fd, &ready, sizeof(ready), 0))
		bail("child did not start");
}

static void stop_child(void)
{
	int op = CMD_QUIT, status;

	full_io(cmd_fd, &op, sizeof(op), 1);
	waitpid(child, &status, 0);
	child = 0;
}

/* Ask the child to compare its region with the shadow, then resync. */
static size_t child_compare(size_t *first)
{
	int op = CMD_COMPARE;
	size_t reply[2];

	if (full_io(cmd_fd, &op, sizeof(op), 1) ||
	    full_io(cmd_fd, shadow, region_size, 1) ||
	    full_io(reply_fd, reply, sizeof(reply), 0))
		bail("lost the child");
	*first = reply[1];
	return reply[0];
}

static void __attribute__((format(printf, 2, 3)))
result(int ok, const char *fmt, ...)
{
	va_list ap;

	ntest++;
	if (!ok)
		nfail++;
	printf("%s %d - ", ok ? "ok" : "not ok", ntest);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static const char *errname(int err)
{
	switch (err) {
	case 0:		return "0";
	case EPERM:	return "EPERM";
	case ESRCH:	return "ESRCH";
	case EFAULT:	return "EFAULT";
	case EINVAL:	return "EINVAL";
	case ENOMEM:	return "ENOMEM";
	case ENOSYS:	return "ENOSYS";
	default:	return strerror(err);
	}
}

/*
 * Carry out @x against @pid with @flags and check the return value, errno,
 * the local arena and (after a write) the child's whole region.
 * Returns a description of the first problem, or NULL.
 */
static const char *run_xfer(const struct xfer *x, pid_t pid,
			    unsigned long flags, char *why, size_t whylen)
{
	struct iovec liov[MAX_SEGS], riov[MAX_SEGS];
	unsigned char *arena, *want, *stream;
	size_t total = 0, arena_size, pos, done, i, bad, first = 0;
	ssize_t ret;
	int k, err;

	for (k = 0; k < x->nremote; k++) {
		riov[k].iov_base = region + x->roff[k];
		riov[k].iov_len = x->rlen[k];
		total += x->rlen[k];
	}
	arena_size = GAP;
	for (k = 0; k < x->nlocal; k++)
		arena_size += x->llen[k] + GAP;
	arena = malloc(arena_size);
	want = malloc(arena_size);
	stream = malloc(total + 1);
	if (!arena || !want || !stream)
		bail("out of memory");

	/*
	 * The byte stream the call moves, in iovec order: for a read, what
	 * the child holds; for a write, fresh bytes that differ from it.
	 */
	pos = 0;
	for (k = 0; k < x->nremote; k++)
		for (i = 0; i < x->rlen[k]; i++, pos++)
			stream[pos] = x->write ?
				pattern(ntest + 100, x->roff[k] + i) :
				shadow[x->roff[k] + i];

	memset(arena, LOCAL_FILL, arena_size);
	pos = GAP;
	done = 0;
	for (k = 0; k < x->nlocal; k++) {
		liov[k].iov_base = arena + pos;
		liov[k].iov_len = x->llen[k];
		if (x->write) {
			size_t n = x->llen[k];

			if (n > total - done)
				n = total - done;
			memcpy(arena + pos, stream + done, n);
			done += n;
		}
		pos += x->llen[k] + GAP;
	}
	memcpy(want, arena, arena_size);

	errno = 0;
	if (x->write)
		ret = process_vm_writev(pid, liov, x->nlocal, riov,
					x->nremote, flags);
	else
		ret = process_vm_readv(pid, liov, x->nlocal, riov,
				       x->nremote, flags);
	err = ret < 0 ? errno : 0;

	why[0] = 0;
	if (ret != x->expect || err != x->expect_errno) {
		snprintf(why, whylen, "returned %zd (%s), expected %zd (%s)",
			 ret, errname(err), x->expect,
			 errname(x->expect_errno));
		if (x->write)
			child_compare(&first);	/* undo what it did */
		goto out;
	}
	done = ret > 0 ? ret : 0;

	if (!x->write) {
		/* The first @done stream bytes land in the local pieces. */
		pos = 0;
		for (k = 0; k < x->nlocal && pos < done; k++) {
			size_t n = x->llen[k];

			if (n > done - pos)
				n = done - pos;
			memcpy(want + ((unsigned char *)liov[k].iov_base -
				       arena), stream + pos, n);
			pos += n;
		}
	} else {
		/* ... or in the child's region, in remote iovec order. */
		pos = 0;
		for (k = 0; k < x->nremote && pos < done; k++) {
			size_t n = x->rlen[k];

			if (n > done - pos)
				n = done - pos;
			memcpy(shadow + x->roff[k], stream + pos, n);
			pos += n;
		}
	}

	for (i = 0, bad = 0; i < arena_size; i++)
		if (arena[i] != want[i] && !bad++)
			first = i;
	if (bad) {
		snprintf(why, whylen,
			 "%zu local bytes wrong, first at arena offset %zu",
			 bad, first);
		goto out;
	}
	if (x->write) {
		bad = child_compare(&first);
		if (bad)
			snprintf(why, whylen,
				 "%zu remote bytes wrong, first at region offset %zu",
				 bad, first);
	}
out:
	free(arena);
	free(want);
	free(stream);
	return why[0] ? why : NULL;
}

static void test(const struct xfer *x, pid_t pid, unsigned long flags)
{
	char why[160];
	const char *bad = run_xfer(x, pid, flags, why, sizeof(why));

	result(!bad, "%s", x->name);
	if (bad)
		printf("# %s: %s\n", x->name, bad);
}

/* A pid that surely names no process: one of ours, already reaped. */
static pid_t dead_pid(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		bail("fork: %s", strerror(errno));
	if (!pid)
		_exit(0);
	waitpid(pid, &status, 0);
	return pid;
}

/*
 * On a kernel without CMA both calls fail with ENOSYS whatever the
 * arguments: say so in one line and leave with a status of its own.
 */
static void check_enosys(void)
{
	unsigned char byte = shadow[0];
	struct iovec l = { &byte, 1 }, r = { region, 1 };
	int rerr, werr;

	/* Reads the child's first byte and writes it back unchanged. */
	rerr = process_vm_readv(child, &l, 1, &r, 1, 0) < 0 ? errno : 0;
	werr = process_vm_writev(child, &l, 1, &r, 1, 0) < 0 ? errno : 0;
	if (rerr != ENOSYS && werr != ENOSYS)
		return;
	if (rerr != werr)
		bail("process_vm_readv: %s but process_vm_writev: %s",
		     errname(rerr), errname(werr));
	printf("1..0 # SKIP process_vm_readv/process_vm_writev fail with ENOSYS: kernel without Cross Memory Attach\n");
	stop_child();
	exit(EXIT_ENOSYS);
}

int main(void)
{
	size_t big, hole;
	pid_t gone;

	ps = sysconf(_SC_PAGESIZE);
	region_size = NPAGES * ps;
	big = (HOLE_PAGE + 1) * ps;
	hole = HOLE_PAGE * ps;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	start_child();
	check_enosys();
	printf("1..12\n");

	{
		/* Odd sizes, a page-crossing piece, local split elsewhere. */
		struct xfer x = {
			"readv-gather-4-remote-4-local", 0, 4, 4,
			{ 13, ps - 7, 2 * ps + 100, big + 1 },
			{ 1000, 50, 3000, 2 * ps - 2 },
			{ 7, 2000, 1000 + 50 + 3000 + 2 * ps - 2 - 2008, 1 },
		};
		x.expect = 1000 + 50 + 3000 + 2 * ps - 2;
		test(&x, child, 0);
	}
	{
		struct xfer x = {
			"writev-scatter-3-local-4-remote", 1, 4, 3,
			{ 5, 3 * ps - 1, big + 3 * ps + 17, 2 * ps },
			{ 900, 2, 5000, 7 },
			{ 4000, 1, 900 + 2 + 5000 + 7 - 4001 },
		};
		x.expect = 900 + 2 + 5000 + 7;
		test(&x, child, 0);
	}
	{
		/* Stops inside the second iovec, where the hole begins. */
		struct xfer x = {
			"readv-partial-at-unmapped-page", 0, 3, 2,
			{ 1000, hole - ps + 2000, big },
			{ 500, ps + 100, 100 },
			{ 700, ps + 100 },
		};
		x.expect = 500 + ps - 2000;
		test(&x, child, 0);
	}
	{
		struct xfer x = {
			"readv-partial-at-unmapped-iovec", 0, 2, 1,
			{ 1000, hole },
			{ 500, 10 },
			{ 510 },
		};
		x.expect = 500;
		test(&x, child, 0);
	}
	{
		struct xfer x = {
			"writev-partial-at-unmapped-page", 1, 2, 2,
			{ 1000, hole - 96 },
			{ 300, 200 },
			{ 123, 377 },
		};
		x.expect = 300 + 96;
		test(&x, child, 0);
	}
	{
		struct xfer x = {
			"readv-efault-first-byte-unmapped", 0, 2, 1,
			{ hole + 8, 0 },
			{ 10, 10 },
			{ 20 },
			-1, EFAULT,
		};
		test(&x, child, 0);
	}
	{
		/* Hundreds of pages: several pinning batches, odd ends. */
		struct xfer x = {
			"readv-large-many-pages", 0, 1, 3,
			{ big + 3 },
			{ (BIG_PAGES - 1) * ps },
			{ 12345, (BIG_PAGES - 10) * ps, 9 * ps - 12345 },
		};
		x.expect = (BIG_PAGES - 1) * ps;
		test(&x, child, 0);
	}
	{
		struct xfer x = {
			"writev-large-many-pages", 1, 2, 1,
			{ big + 1, big + ps * (BIG_PAGES / 2) },
			{ ps * (BIG_PAGES / 2) - 1, ps * (BIG_PAGES / 2) - 3 },
			{ ps * BIG_PAGES - 4 },
		};
		x.expect = ps * BIG_PAGES - 4;
		test(&x, child, 0);
	}

	gone = dead_pid();
	{
		struct xfer x = {
			"readv-esrch-dead-pid", 0, 1, 1,
			{ 0 }, { 100 }, { 100 }, -1, ESRCH,
		};
		test(&x, gone, 0);
	}
	{
		struct xfer x = {
			"writev-esrch-dead-pid", 1, 1, 1,
			{ 0 }, { 100 }, { 100 }, -1, ESRCH,
		};
		test(&x, gone, 0);
	}
	{
		/* Bit 2: unknown to every kernel (0 and 1 are PIDFD, NOWAIT) */
		struct xfer x = {
			"readv-einval-unknown-flag", 0, 1, 1,
			{ 0 }, { 100 }, { 100 }, -1, EINVAL,
		};
		test(&x, child, 1UL << 2);
	}
	{
		struct xfer x = {
			"writev-einval-unknown-flag", 1, 1, 1,
			{ 0 }, { 100 }, { 100 }, -1, EINVAL,
		};
		test(&x, child, 1UL << 2);
	}

	stop_child();
	if (nfail)
		printf("# %d of %d tests failed\n", nfail, ntest);
	return nfail ? 1 : 0;
}
