// SPDX-License-Identifier: GPL-2.0
/*
 * What a process_vm_readv() does to the target besides returning its data:
 * pages faulted in, copy-on-write pages unshared, transparent huge pages
 * split, pages marked accessed, pins counted.  The results of the call are
 * the same on every kernel (the tests and the differential fuzzer say so);
 * these side effects are not, and make check puts ours and the reference
 * kernel's side by side.  One line per measurement:
 *
 *   side-effect <key> <value> | <what was measured>
 *
 * A value of -1 means the measurement could not be made.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define RANGE		(1UL << 20)
#define THP_SIZE	(2UL << 20)
#define PM_PRESENT	(1ULL << 63)
#define PM_EXCLUSIVE	(1ULL << 56)

static size_t pg;

/* A target that runs @setup(@arg), says it is ready, then waits to be killed. */
static pid_t target_start(void (*setup)(void *), void *arg)
{
	int ready[2];
	pid_t pid;
	char c = 0;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		if (setup)
			setup(arg);
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (pid < 0 || read(ready[0], &c, 1) != 1)
		pid = -1;
	close(ready[0]);
	return pid;
}

static void target_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Pages of [addr, addr + len) in @pid with any of the pagemap @bits set, or -1. */
static long pagemap_count(pid_t pid, void *addr, size_t len, uint64_t bits)
{
	char path[64];
	uint64_t e;
	long n = 0;
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	for (i = 0; i < len / pg; i++) {
		off_t off = ((uintptr_t)addr / pg + i) * sizeof(e);

		if (pread(fd, &e, sizeof(e), off) != sizeof(e)) {
			n = -1;
			break;
		}
		n += !!(e & bits);
	}
	close(fd);
	return n;
}

/* kB of smaps field @field of the VMA of @pid holding @addr, or -1. */
static long smaps_kb(pid_t pid, void *addr, const char *field)
{
	char path[64], line[256];
	unsigned long s, e;
	int in_vma = 0;
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2)
			in_vma = s <= (uintptr_t)addr && (uintptr_t)addr < e;
		else if (in_vma && !strncmp(line, field, strlen(field)))
			kb = strtol(line + strlen(field), NULL, 10);
	}
	if (f)
		fclose(f);
	return kb;
}

static long vmstat(const char *name)
{
	char key[64];
	long val = -1, v;
	FILE *f = fopen("/proc/vmstat", "r");

	while (f && fscanf(f, "%63s %ld", key, &v) == 2)
		if (!strcmp(key, name))
			val = v;
	if (f)
		fclose(f);
	return val;
}

static int write_file(const char *path, const char *what)
{
	int fd = open(path, O_WRONLY);
	int ret;

	if (fd < 0)
		return -1;
	ret = write(fd, what, strlen(what)) == (ssize_t)strlen(what) ? 0 : -1;
	close(fd);
	return ret;
}

static ssize_t read_from(pid_t pid, void *local, size_t llen, void *remote,
			 size_t rlen)
{
	struct iovec l = { local, llen }, r = { remote, rlen };

	return process_vm_readv(pid, &l, 1, &r, 1, 0);
}

static void report(const char *key, long value, const char *what)
{
	printf("side-effect %s %ld | %s\n", key, value, what);
}

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static void fill(void *arg)
{
	memset(arg, 0x5a, RANGE);
}

static void fill_and_clear_refs(void *arg)
{
	fill(arg);
	write_file("/proc/self/clear_refs", "1");
}

/* A 4 KiB local buffer against a 1 MiB remote iovec the target never touched. */
static void faulted_beyond_local_room(char *buf)
{
	char *remote = map(RANGE);
	pid_t pid = target_start(NULL, NULL);
	long n = -1;

	if (read_from(pid, buf, 4096, remote, RANGE) == 4096)
		n = pagemap_count(pid, remote, RANGE, PM_PRESENT);
	report("faulted_in", n,
	       "target pages faulted in by a 4 KiB read of an untouched 1 MiB iovec");
	target_stop(pid);
	munmap(remote, RANGE);
}

/* 1 MiB the caller filled, then forked: every page shared copy-on-write. */
static void cow_unshared_by_read(char *buf)
{
	char *shared = map(RANGE);
	pid_t pid;
	long n = -1;

	fill(shared);
	pid = target_start(NULL, NULL);
	if (read_from(pid, buf, RANGE, shared, RANGE) == (ssize_t)RANGE)
		n = pagemap_count(pid, shared, RANGE, PM_EXCLUSIVE);
	report("cow_unshared", n,
	       "of 1 MiB of COW-shared pages, pages now the target's own after a 1 MiB read");
	target_stop(pid);
	munmap(shared, RANGE);
}

/* A 2 MiB THP shared copy-on-write after fork; read 4 KiB of it. */
static void thp_split_by_read(char *buf)
{
	char *raw = map(2 * THP_SIZE);
	char *thp = (char *)(((uintptr_t)raw + THP_SIZE - 1) & ~(THP_SIZE - 1));
	long before, after = -1;
	pid_t pid;

	madvise(thp, THP_SIZE, MADV_HUGEPAGE);
	memset(thp, 0x5a, THP_SIZE);
	pid = target_start(NULL, NULL);
	before = smaps_kb(pid, thp, "AnonHugePages:");
	if (before > 0 && read_from(pid, buf, 4096, thp, 4096) == 4096)
		after = smaps_kb(pid, thp, "AnonHugePages:");
	report("thp_kept_kb", after,
	       "kB of a COW-shared 2 MiB THP still huge in the target after a 4 KiB read");
	target_stop(pid);
	munmap(raw, 2 * THP_SIZE);
}

/* The target's own 1 MiB, its accessed bits cleared, then read. */
static void referenced_after_read(char *buf)
{
	char *own = map(RANGE);
	pid_t pid = target_start(fill_and_clear_refs, own);
	long kb = -1;

	if (read_from(pid, buf, RANGE, own, RANGE) == (ssize_t)RANGE)
		kb = smaps_kb(pid, own, "Referenced:");
	report("referenced_kb", kb,
	       "kB Referenced in the target after a 1 MiB read (clear_refs 1 before)");
	target_stop(pid);
	munmap(own, RANGE);
}

/* The target's own 1 MiB, present; count the pins a read takes. */
static void pins_taken_by_read(char *buf)
{
	char *own = map(RANGE);
	pid_t pid = target_start(fill, own);
	long before = vmstat("nr_foll_pin_acquired"), after = -1;

	if (before >= 0 && read_from(pid, buf, RANGE, own, RANGE) == (ssize_t)RANGE)
		after = vmstat("nr_foll_pin_acquired");
	report("pins", after < 0 ? -1 : after - before,
	       "nr_foll_pin_acquired taken by a 1 MiB read of present pages");
	target_stop(pid);
	munmap(own, RANGE);
}

int main(void)
{
	char *buf;

	pg = sysconf(_SC_PAGESIZE);
	buf = map(RANGE);
	/*
	 * Not in the targets: a buffer shared copy-on-write after fork() would
	 * make every copy into it fault, and the measurements would show that.
	 */
	madvise(buf, RANGE, MADV_DONTFORK);
	memset(buf, 0, RANGE);
	faulted_beyond_local_room(buf);
	cow_unshared_by_read(buf);
	thp_split_by_read(buf);
	referenced_after_read(buf);
	pins_taken_by_read(buf);
	return 0;
}
