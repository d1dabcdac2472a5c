// SPDX-License-Identifier: GPL-2.0
/*
 * cma_demo - Cross Memory Attach in one screen.
 *
 * A child process scatters data over 16 buffers of odd sizes, each in its
 * own mapping and starting at an odd offset.  The parent gathers all of it
 * into one contiguous buffer with ONE process_vm_readv() call, checks every
 * byte, and writes an inverted copy back with ONE process_vm_writev() call,
 * which the child checks.  Then it moves 4 MiB held in 64 buffers of the
 * child both through a pipe (the child writev()s, the parent read()s) and
 * with process_vm_readv(), and prints the median times.
 *
 * Exit status: 0 if everything matched, 1 on any failure.
 * Needs no files: static, it runs as root in a bare initramfs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NSMALL		16
#define NBULK		64
#define BULK_PIECE	(64 * 1024)
#define BULK_TOTAL	((size_t)NBULK * BULK_PIECE)
#define REPS		21		/* odd: the median is one sample */
#define PIPE_SIZE	(1024 * 1024)
#define INVERT		0xff

/* Odd sizes: one byte, page-sized and page-crossing, up to 128 KiB + 1. */
static const size_t small_len[NSMALL] = {
	1, 13, 100, 511, 4095, 4096, 4097, 6000,
	8191, 12288, 20000, 33333, 65536, 70001, 100000, 131073,
};

/* What the child tells the parent: where its buffers are. */
struct layout {
	struct iovec small[NSMALL];
	struct iovec bulk[NBULK];
};

static pid_t child_pid;

/* Byte @off of buffer @buf: shifts and swaps between buffers show up. */
static unsigned char pattern(unsigned int buf, size_t off)
{
	return (unsigned char)(buf * 37 + off + off / 251);
}

static const char *errno_name(int err)
{
	switch (err) {
	case EPERM:	return "EPERM";
	case ESRCH:	return "ESRCH";
	case EINTR:	return "EINTR";
	case ENOMEM:	return "ENOMEM";
	case EFAULT:	return "EFAULT";
	case EINVAL:	return "EINVAL";
	case EPIPE:	return "EPIPE";
	case ENOSYS:	return "ENOSYS";
	default:	return "errno";
	}
}

static const char *errno_why(int err)
{
	switch (err) {
	case ENOSYS:
		return "kernel lacks CONFIG_CROSS_MEMORY_ATTACH";
	case EPERM:
		return "ptrace attach permission refused by credentials or Yama ptrace_scope";
	case ESRCH:
		return "no such process, or it has no address space";
	case EFAULT:
		return "address not accessible in one of the processes";
	default:
		return strerror(err);
	}
}

static void stop_child(void)
{
	int status;

	if (child_pid > 0) {
		kill(child_pid, SIGKILL);
		waitpid(child_pid, &status, 0);
		child_pid = 0;
	}
}

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("cma_demo: FAIL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	stop_child();
	exit(1);
}

static void __attribute__((noreturn)) fail_errno(const char *what)
{
	int err = errno;

	fail("%s failed with %s: %s", what, errno_name(err), errno_why(err));
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* writev() all of @iov, resuming after short writes. */
static int writev_full(int fd, const struct iovec *src, int cnt)
{
	struct iovec iov[NBULK];
	struct iovec *v = iov;

	memcpy(iov, src, cnt * sizeof(*iov));
	while (cnt) {
		ssize_t n = writev(fd, v, cnt);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		while (cnt && (size_t)n >= v->iov_len) {
			n -= v->iov_len;
			v++;
			cnt--;
		}
		if (cnt) {
			v->iov_base = (char *)v->iov_base + n;
			v->iov_len -= n;
		}
	}
	return 0;
}

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Check the child's small buffers hold the inverted pattern. */
static int child_check(const struct layout *lay)
{
	unsigned int i;
	size_t j;

	for (i = 0; i < NSMALL; i++) {
		const unsigned char *p = lay->small[i].iov_base;

		for (j = 0; j < lay->small[i].iov_len; j++) {
			unsigned char want = pattern(i, j) ^ INVERT;

			if (p[j] != want) {
				fprintf(stderr,
					"cma_demo: child: buffer %u byte %zu is 0x%02x, want 0x%02x\n",
					i, j, p[j], want);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * The child: set up the buffers, send their addresses, then obey one-byte
 * commands: 'V' check the small buffers, 'P' write the bulk buffers into
 * the data pipe, 'Q' quit.  End of file means the parent is gone.
 */
static int child_main(int cmd_fd, int reply_fd, int data_fd)
{
	size_t page = sysconf(_SC_PAGESIZE);
	struct layout lay;
	unsigned int i;
	size_t j;
	char c;

	for (i = 0; i < NSMALL; i++) {
		/* Start at an odd offset so that buffers straddle pages. */
		size_t off = (i * 1237 + 3) % page;
		size_t maplen = (off + small_len[i] + page - 1) / page * page;
		unsigned char *p = map_anon(maplen);

		if (!p)
			return 1;
		p += off;
		for (j = 0; j < small_len[i]; j++)
			p[j] = pattern(i, j);
		lay.small[i].iov_base = p;
		lay.small[i].iov_len = small_len[i];
	}
	for (i = 0; i < NBULK; i++) {
		unsigned char *p = map_anon(BULK_PIECE);

		if (!p)
			return 1;
		for (j = 0; j < BULK_PIECE; j++)
			p[j] = pattern(NSMALL + i, j);
		lay.bulk[i].iov_base = p;
		lay.bulk[i].iov_len = BULK_PIECE;
	}
	if (write_full(reply_fd, &lay, sizeof(lay)))
		return 1;

	while (read_full(cmd_fd, &c, 1) == 0) {
		switch (c) {
		case 'V':
			c = child_check(&lay) ? 'n' : 'y';
			if (write_full(reply_fd, &c, 1))
				return 1;
			break;
		case 'P':
			if (writev_full(data_fd, lay.bulk, NBULK))
				return 1;
			break;
		case 'Q':
			return 0;
		default:
			return 1;
		}
	}
	return 1;
}

static void send_cmd(int fd, char c)
{
	if (write_full(fd, &c, 1))
		fail("child does not take commands (%s)", strerror(errno));
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *t, int n)
{
	qsort(t, n, sizeof(*t), cmp_double);
	return t[n / 2];
}

/* Check that @buf holds the bulk buffers back to back. */
static void check_bulk(const unsigned char *buf, const char *how)
{
	unsigned int i;
	size_t j;

	for (i = 0; i < NBULK; i++)
		for (j = 0; j < BULK_PIECE; j++)
			if (buf[(size_t)i * BULK_PIECE + j] !=
			    pattern(NSMALL + i, j))
				fail("%s: bulk buffer %u byte %zu is wrong",
				     how, i, j);
}

int main(void)
{
	int cmd[2], reply[2], data[2];
	struct layout lay;
	struct iovec local;
	unsigned char *gather, *bulk;
	double t_pipe[REPS], t_cma[REPS], tp, tc;
	size_t total = 0, off;
	unsigned int i;
	size_t j;
	ssize_t n;
	int pipe_size, status, r;
	char label[64];
	char c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (pipe(cmd) || pipe(reply) || pipe(data))
		fail_errno("pipe");
	/* A big pipe buffer is the pipe's best case. */
	fcntl(data[1], F_SETPIPE_SZ, PIPE_SIZE);
	pipe_size = fcntl(data[1], F_GETPIPE_SZ);

	fflush(stdout);
	child_pid = fork();
	if (child_pid < 0)
		fail_errno("fork");
	if (child_pid == 0) {
		close(cmd[1]);
		close(reply[0]);
		close(data[0]);
		_exit(child_main(cmd[0], reply[1], data[1]));
	}
	close(cmd[0]);
	close(reply[1]);
	close(data[1]);

	if (read_full(reply[0], &lay, sizeof(lay)))
		fail("child could not set up its buffers");

	/* 1. Gather 16 scattered remote buffers with one call. */
	for (i = 0; i < NSMALL; i++)
		total += lay.small[i].iov_len;
	gather = malloc(total);
	if (!gather)
		fail("out of memory");
	memset(gather, 0, total);
	local.iov_base = gather;
	local.iov_len = total;

	printf("child %d holds %d buffers in %d mappings, %zu..%zu bytes each, %zu bytes in all\n",
	       (int)child_pid, NSMALL, NSMALL, small_len[0],
	       small_len[NSMALL - 1], total);

	n = process_vm_readv(child_pid, &local, 1, lay.small, NSMALL, 0);
	if (n < 0)
		fail_errno("process_vm_readv");
	if ((size_t)n != total)
		fail("process_vm_readv moved %zd of %zu bytes", n, total);
	for (i = 0, off = 0; i < NSMALL; i++)
		for (j = 0; j < lay.small[i].iov_len; j++, off++)
			if (gather[off] != pattern(i, j))
				fail("gathered byte %zu (buffer %u byte %zu) is 0x%02x, want 0x%02x",
				     off, i, j, gather[off], pattern(i, j));
	printf("process_vm_readv:  1 call, %d remote iovecs -> 1 local buffer, %zd bytes, all bytes match\n",
	       NSMALL, n);

	/* 2. Scatter an inverted copy back with one call. */
	for (off = 0; off < total; off++)
		gather[off] ^= INVERT;
	n = process_vm_writev(child_pid, &local, 1, lay.small, NSMALL, 0);
	if (n < 0)
		fail_errno("process_vm_writev");
	if ((size_t)n != total)
		fail("process_vm_writev moved %zd of %zu bytes", n, total);
	send_cmd(cmd[1], 'V');
	if (read_full(reply[0], &c, 1) || c != 'y')
		fail("child found wrong data after process_vm_writev");
	printf("process_vm_writev: 1 call, 1 local buffer -> %d remote iovecs, %zd bytes inverted, child checked them\n",
	       NSMALL, n);

	/* 3. Time 4 MiB in 64 buffers: pipe against process_vm_readv. */
	bulk = map_anon(BULK_TOTAL);
	if (!bulk)
		fail_errno("mmap");
	local.iov_base = bulk;
	local.iov_len = BULK_TOTAL;

	for (r = 0; r < REPS; r++) {
		double t0 = now();

		send_cmd(cmd[1], 'P');
		if (read_full(data[0], bulk, BULK_TOTAL))
			fail("pipe read failed");
		t_pipe[r] = now() - t0;
	}
	check_bulk(bulk, "pipe");

	memset(bulk, 0, BULK_TOTAL);
	for (r = 0; r < REPS; r++) {
		double t0 = now();

		n = process_vm_readv(child_pid, &local, 1, lay.bulk, NBULK, 0);
		t_cma[r] = now() - t0;
		if (n < 0)
			fail_errno("process_vm_readv (bulk)");
		if ((size_t)n != BULK_TOTAL)
			fail("process_vm_readv moved %zd of %zu bytes",
			     n, BULK_TOTAL);
	}
	check_bulk(bulk, "process_vm_readv");

	send_cmd(cmd[1], 'Q');
	if (waitpid(child_pid, &status, 0) < 0)
		fail_errno("waitpid");
	child_pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("child exited badly (status 0x%x)", status);

	tp = median(t_pipe, REPS);
	tc = median(t_cma, REPS);
	printf("bulk: %zu MiB in %d iovecs of %d KiB, median of %d runs, data checked:\n",
	       BULK_TOTAL >> 20, NBULK, BULK_PIECE >> 10, REPS);
	snprintf(label, sizeof(label), "pipe (%d KiB), writev + read",
		 pipe_size >> 10);
	printf("  %-30s %8.3f ms  %6.2f GB/s\n",
	       label, tp * 1e3, BULK_TOTAL / tp / 1e9);
	printf("  %-30s %8.3f ms  %6.2f GB/s  %.1fx the pipe\n",
	       "process_vm_readv, 1 call", tc * 1e3, BULK_TOTAL / tc / 1e9,
	       tp / tc);
	printf("cma_demo: PASS\n");
	return 0;
}
