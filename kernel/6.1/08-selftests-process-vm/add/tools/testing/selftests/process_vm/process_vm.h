/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the Cross Memory Attach selftests: the ENOSYS probe,
 * one entry point for the four ways of calling the syscalls, a forked
 * target process driven over a socketpair, and a parent/child pair with
 * chosen credentials for the permission tests.
 */
#ifndef __SELFTESTS_PROCESS_VM_H
#define __SELFTESTS_PROCESS_VM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define CMA_ENOSYS_REASON \
	"process_vm_readv: ENOSYS, kernel without Cross Memory Attach"
#define YAMA_SCOPE_PATH "/proc/sys/kernel/yama/ptrace_scope"
#define OTHER_UID 1000

#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif
#ifndef PR_SET_PTRACER_ANY
#define PR_SET_PTRACER_ANY ((unsigned long)-1)
#endif

/* Bits of the @mode argument of pvm_call() */
#define CMA_READ	0
#define CMA_WRITE	1
#define CMA_RAW		2
#define CMA_NR_MODES	4

static const char * const pvm_mode_name[CMA_NR_MODES] = {
	"process_vm_readv()", "process_vm_writev()",
	"syscall(SYS_process_vm_readv)", "syscall(SYS_process_vm_writev)",
};

/*
 * pvm_call() - call process_vm_readv or _writev through glibc's wrapper
 * or through syscall(), as selected by @mode.
 */
static inline ssize_t pvm_call(int mode, pid_t pid,
			       const struct iovec *lvec, unsigned long liovcnt,
			       const struct iovec *rvec, unsigned long riovcnt,
			       unsigned long flags)
{
	long nr = (mode & CMA_WRITE) ? SYS_process_vm_writev :
				       SYS_process_vm_readv;

	if (mode & CMA_RAW)
		return syscall(nr, pid, lvec, liovcnt, rvec, riovcnt, flags);
	if (mode & CMA_WRITE)
		return process_vm_writev(pid, lvec, liovcnt, rvec, riovcnt,
					 flags);
	return process_vm_readv(pid, lvec, liovcnt, rvec, riovcnt, flags);
}

/*
 * A zero-length call on ourselves returns 0 when the syscalls exist, and
 * fails with ENOSYS on a kernel built without them.
 */
static inline bool pvm_available(void)
{
	static int available = -1;
	int missing = 0;

	if (available >= 0)
		return available;
	if (process_vm_readv(getpid(), NULL, 0, NULL, 0, 0))
		missing = errno;
	if (syscall(SYS_process_vm_writev, getpid(), NULL, 0, NULL, 0, 0))
		missing = errno;
	/* checkpatch: this is the one place ENOSYS means what it should */
	available = missing != ENOSYS;
	return available;
}

#define ROOT_REASON	"needs root (setresuid, CAP_SYS_PTRACE)"

static inline size_t page_size(void)
{
	return (size_t)getpagesize();
}

static inline size_t max_rw_count(void)
{
	return (size_t)INT_MAX & ~(page_size() - 1);
}

/* True when the running kernel is 64-bit, even if we are a 32-bit ABI */
static inline bool kernel_is_64bit(void)
{
	struct utsname u;

	if (uname(&u))
		return sizeof(long) == 8;
	return strstr(u.machine, "64") || !strcmp(u.machine, "s390x");
}

/*
 * A byte pattern: 64 KiB of pseudo-random bytes, changed for every 64 KiB
 * block and every 16 MiB, so that a byte copied to the wrong place, from
 * the wrong place or with the wrong seed shows.
 */
#define PAT_BLOCK	65536

static inline const unsigned char *pat_table(void)
{
	static unsigned char tab[PAT_BLOCK];
	static bool done;
	unsigned int x = 0x12345678;
	size_t i;

	if (done)
		return tab;
	for (i = 0; i < PAT_BLOCK; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		tab[i] = (unsigned char)(x >> 7);
	}
	done = true;
	return tab;
}

static inline unsigned char pat_key(size_t i, unsigned int seed)
{
	return (unsigned char)((i >> 16) + 7 * (i >> 24) + 59 * seed);
}

static inline unsigned char pat(size_t i, unsigned int seed)
{
	return pat_table()[i % PAT_BLOCK] ^ pat_key(i, seed);
}

/* Fill @p with the pattern from index @start on */
static inline void fill_pat_at(unsigned char *p, size_t len, size_t start,
			       unsigned int seed)
{
	const unsigned char *tab = pat_table();
	size_t i = 0, j, n;
	unsigned char k;

	while (i < len) {
		j = (start + i) % PAT_BLOCK;
		n = PAT_BLOCK - j < len - i ? PAT_BLOCK - j : len - i;
		k = pat_key(start + i, seed);
		for (; n; n--)
			p[i++] = tab[j++] ^ k;
	}
}

static inline void fill_pat(unsigned char *p, size_t len, unsigned int seed)
{
	fill_pat_at(p, len, 0, seed);
}

/*
 * Offset of the first byte of @p that is not pattern @seed taken from
 * index @start on, or -1 when all @len bytes match.
 */
static inline long check_pat(const unsigned char *p, size_t len,
			     size_t start, unsigned int seed)
{
	const unsigned char *tab = pat_table();
	size_t i = 0, j, n;
	unsigned char k;

	while (i < len) {
		j = (start + i) % PAT_BLOCK;
		n = PAT_BLOCK - j < len - i ? PAT_BLOCK - j : len - i;
		k = pat_key(start + i, seed);
		for (; n; n--, i++, j++)
			if (p[i] != (tab[j] ^ k))
				return (long)i;
	}
	return -1;
}

/* Offset of the first byte of @p that is not @c, or -1 */
static inline long check_byte(const unsigned char *p, size_t len, int c)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)c)
			return (long)i;
	return -1;
}

/* Offset of the first byte where @a and @b differ, or -1 */
static inline long first_diff(const unsigned char *a, const unsigned char *b,
			      size_t len)
{
	size_t i;

	if (!memcmp(a, b, len))
		return -1;
	for (i = 0; a[i] == b[i]; i++)
		;
	return (long)i;
}

static inline void *map_anon(size_t len, int prot, int flags)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static inline int read_int_file(const char *path, long *val)
{
	char buf[64];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	*val = strtol(buf, NULL, 10);
	return 0;
}

/* The size of a PMD-mapped transparent huge page; 2 MiB if not told */
static inline size_t thp_size(void)
{
	long v;

	if (!read_int_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size",
			   &v) && v > 0)
		return v;
	return 2 << 20;
}

/* kB of smaps field @field ("Referenced:", ...) of @pid's VMA holding @addr */
static inline long smaps_kb(pid_t pid, const void *addr, const char *field)
{
	unsigned long s, e;
	char path[64], line[256];
	bool in_vma = false;
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {
			in_vma = s <= (uintptr_t)addr && (uintptr_t)addr < e;
			continue;
		}
		if (in_vma && !strncmp(line, field, strlen(field)))
			kb = strtol(line + strlen(field), NULL, 10);
	}
	if (f)
		fclose(f);
	return kb;
}

static inline int write_int_file(const char *path, long val)
{
	char buf[32];
	int fd, len;
	ssize_t n;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	len = snprintf(buf, sizeof(buf), "%ld\n", val);
	n = write(fd, buf, len);
	close(fd);
	return n == len ? 0 : -1;
}

/* Drop every id to @uid; the mm stays dumpable only if asked to */
static inline int drop_to(uid_t uid, bool dumpable)
{
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid))
		return -1;
	return prctl(PR_SET_DUMPABLE, dumpable ? 1 : 0, 0, 0, 0);
}

/*
 * A target process forked from the test.  Anything mapped before
 * target_start() is at the same address in the target.  The target runs
 * @fn once, then serves target_call() requests until its socket closes.
 */
struct target {
	pid_t pid;
	int sk;
};

struct target_msg {
	int (*fn)(void *arg);
	void *arg;
	int ret;
};

static inline void target_serve(int sk, int (*fn)(void *), void *arg)
{
	struct target_msg m = { .fn = fn, .arg = arg };

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	m.ret = fn ? fn(arg) : 0;
	if (send(sk, &m, sizeof(m), 0) != sizeof(m))
		_exit(1);
	while (recv(sk, &m, sizeof(m), 0) == sizeof(m)) {
		m.ret = m.fn ? m.fn(m.arg) : 0;
		if (send(sk, &m, sizeof(m), 0) != sizeof(m))
			_exit(1);
	}
	_exit(0);
}

/* Returns what @fn returned in the target, or -1 if it could not start */
static inline int target_start(struct target *t, int (*fn)(void *),
			       void *arg)
{
	struct target_msg m;
	int sk[2];

	t->pid = -1;
	t->sk = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sk))
		return -1;
	t->pid = fork();
	if (t->pid < 0) {
		close(sk[0]);
		close(sk[1]);
		return -1;
	}
	if (t->pid == 0) {
		close(sk[0]);
		target_serve(sk[1], fn, arg);
	}
	close(sk[1]);
	t->sk = sk[0];
	if (recv(t->sk, &m, sizeof(m), 0) != sizeof(m))
		return -1;
	return m.ret;
}

/* Run @fn(@arg) in the target; @arg must be valid in the target */
static inline int target_call(struct target *t, int (*fn)(void *), void *arg)
{
	struct target_msg m = { .fn = fn, .arg = arg };

	if (send(t->sk, &m, sizeof(m), 0) != sizeof(m))
		return -1;
	if (recv(t->sk, &m, sizeof(m), 0) != sizeof(m))
		return -1;
	return m.ret;
}

static inline void target_stop(struct target *t)
{
	if (t->sk >= 0)
		close(t->sk);
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
	}
	t->sk = -1;
	t->pid = -1;
}

/* Wait until @pid is a zombie, without reaping it */
static inline int wait_zombie(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
}

/*
 * A parent P forked from the test and its child C, with the credentials
 * given in struct fam; one of them reads (or writes) the other's marker.
 * family() returns 0 when the access worked and moved the right data,
 * the errno it failed with, or one of the FAM_* codes below.
 */
#define FAM_MISMATCH	200	/* short transfer or wrong data */
#define FAM_SETUP	201	/* could not set the scene up */
#define FAM_NOUSERNS	202	/* unshare(CLONE_NEWUSER) failed */

#define PTRACER_CHILD	1
#define PTRACER_ANY	2

struct fam {
	uid_t puid;		/* P's uid after the fork, 0 keeps root */
	bool realcreds;		/* P: only the effective ids become puid */
	uid_t cuid;		/* C's uid, 0 keeps root */
	bool child_nodump;	/* C: PR_SET_DUMPABLE 0 */
	bool child_zombie;	/* C exits at once; P accesses the zombie */
	bool child_reads;	/* C accesses P, else P accesses C */
	int ptracer;		/* P: PR_SET_PTRACER to C or to any */
	bool userns;		/* the accessing side unshares a user ns */
	bool write;		/* process_vm_writev, else _readv */
};

static char fam_marker[64];

static inline int fam_access(pid_t pid, bool write, const char *expect)
{
	char buf[sizeof(fam_marker)];
	struct iovec l = { buf, sizeof(buf) };
	struct iovec r = { fam_marker, sizeof(fam_marker) };
	ssize_t ret;

	memset(buf, 0, sizeof(buf));
	if (write) {
		snprintf(buf, sizeof(buf), "written");
		ret = process_vm_writev(pid, &l, 1, &r, 1, 0);
	} else {
		ret = process_vm_readv(pid, &l, 1, &r, 1, 0);
	}
	if (ret < 0)
		return errno;
	if (ret != sizeof(buf) || (!write && strcmp(buf, expect)))
		return FAM_MISMATCH;
	return 0;
}

static inline int fam_child(const struct fam *f, int up, int down)
{
	char expect[sizeof(fam_marker)];
	char c;

	if (f->child_zombie)
		return 0;
	if (f->cuid && drop_to(f->cuid, !f->child_nodump))
		return FAM_SETUP;
	if (!f->cuid && f->child_nodump &&
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		return FAM_SETUP;
	snprintf(fam_marker, sizeof(fam_marker), "child %d", getpid());
	if (f->child_reads && f->userns && unshare(CLONE_NEWUSER))
		return FAM_NOUSERNS;
	if (write(up, "r", 1) != 1)
		return FAM_SETUP;
	if (read(down, &c, 1) != 1)
		return 0;
	snprintf(expect, sizeof(expect), "parent %d", getppid());
	return fam_access(getppid(), f->write, expect);
}

static inline int fam_parent(const struct fam *f)
{
	char expect[sizeof(fam_marker)];
	int up[2], down[2], status, ret;
	pid_t c;
	char b;

	if (pipe(up) || pipe(down))
		return FAM_SETUP;
	c = fork();
	if (c < 0)
		return FAM_SETUP;
	if (c == 0) {
		close(up[0]);
		close(down[1]);
		_exit(fam_child(f, up[1], down[0]));
	}
	close(up[1]);
	close(down[0]);
	if (f->child_zombie) {
		if (wait_zombie(c))
			return FAM_SETUP;
	} else if (read(up[0], &b, 1) != 1) {
		if (waitpid(c, &status, 0) == c && WIFEXITED(status) &&
		    WEXITSTATUS(status))
			return WEXITSTATUS(status);
		return FAM_SETUP;
	}
	if (f->puid && f->realcreds &&
	    (setresgid(0, f->puid, 0) || setresuid(0, f->puid, 0)))
		return FAM_SETUP;
	if (f->puid && !f->realcreds && drop_to(f->puid, true))
		return FAM_SETUP;
	snprintf(fam_marker, sizeof(fam_marker), "parent %d", getpid());
	/* Without Yama this fails with EINVAL, which changes nothing */
	if (f->ptracer)
		prctl(PR_SET_PTRACER, f->ptracer == PTRACER_ANY ?
		      PR_SET_PTRACER_ANY : (unsigned long)c, 0, 0, 0);
	if (f->child_reads) {
		if (write(down[1], "g", 1) != 1)
			return FAM_SETUP;
		if (waitpid(c, &status, 0) != c || !WIFEXITED(status))
			return FAM_SETUP;
		return WEXITSTATUS(status);
	}
	snprintf(expect, sizeof(expect), "child %d", c);
	if (f->userns && unshare(CLONE_NEWUSER))
		ret = FAM_NOUSERNS;
	else
		ret = fam_access(c, f->write, expect);
	close(down[1]);
	waitpid(c, &status, 0);
	return ret;
}

static inline int family(const struct fam *f)
{
	int status;
	pid_t p;

	fflush(NULL);
	p = fork();
	if (p < 0)
		return FAM_SETUP;
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		_exit(fam_parent(f));
	}
	if (waitpid(p, &status, 0) != p || !WIFEXITED(status))
		return FAM_SETUP;
	return WEXITSTATUS(status);
}

static inline const char *fam_result(int r);

/* Run family(@f) and expect @want; returns what family() returned */
static inline int __check_fam(struct __test_metadata *_metadata,
			      const struct fam *f, int want)
{
	int r = family(f);

	EXPECT_EQ(want, r) {
		TH_LOG("got %s, want %s", fam_result(r), fam_result(want));
	}
	return r;
}

#define check_fam(f, want) __check_fam(_metadata, f, want)

static inline const char *fam_result(int r)
{
	switch (r) {
	case 0:
		return "success";
	case FAM_MISMATCH:
		return "short transfer or wrong data";
	case FAM_SETUP:
		return "setup failed";
	case FAM_NOUSERNS:
		return "unshare(CLONE_NEWUSER) failed";
	default:
		return strerror(r);
	}
}

/* A CLONE_VM child: another process sharing our mm */
struct vm_child {
	pid_t pid;
	int pipe[2];
	void *stack;
};

static inline int vm_child_fn(void *arg)
{
	struct vm_child *v = arg;
	char c;

	/* Only raw syscalls here: the libc state is shared with the parent */
	syscall(SYS_read, v->pipe[0], &c, 1);
	return 0;
}

static inline int vm_child_start(struct vm_child *v)
{
	size_t sz = 64 * 1024;

	if (pipe(v->pipe))
		return -1;
	v->stack = map_anon(sz, PROT_READ | PROT_WRITE, 0);
	if (!v->stack)
		return -1;
	v->pid = clone(vm_child_fn, (char *)v->stack + sz, CLONE_VM | SIGCHLD,
		       v);
	return v->pid < 0 ? -1 : 0;
}

static inline void vm_child_stop(struct vm_child *v)
{
	kill(v->pid, SIGKILL);
	waitpid(v->pid, NULL, 0);
	close(v->pipe[1]);
	close(v->pipe[0]);
	munmap(v->stack, 64 * 1024);
}

/* A thread that reports its tid and then waits for cancellation */
struct tid_thread {
	pthread_t thread;
	pid_t tid;		/* atomic: set by the thread */
};

static inline void *tid_thread_fn(void *arg)
{
	struct tid_thread *t = arg;

	__atomic_store_n(&t->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	for (;;)
		pause();
	return NULL;
}

static inline pid_t tid_of(struct tid_thread *t)
{
	return __atomic_load_n(&t->tid, __ATOMIC_SEQ_CST);
}

static inline int tid_thread_start(struct tid_thread *t)
{
	__atomic_store_n(&t->tid, 0, __ATOMIC_SEQ_CST);
	if (pthread_create(&t->thread, NULL, tid_thread_fn, t))
		return -1;
	while (!tid_of(t))
		usleep(100);
	return 0;
}

/* ASSERT_*() print their operands as integers: test pointers with this */
static inline bool mapped(const void *p)
{
	return p && p != MAP_FAILED;
}

/* Is pid 2 the kernel's kthreadd, as outside any pid namespace? */
static inline bool pid2_is_kthreadd(void)
{
	char buf[256] = "";
	ssize_t n = -1;
	int fd;

	fd = open("/proc/2/status", O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return !strncmp(buf, "Name:\tkthreadd\n", 15);
}

/*
 * Call the syscall in modes @first, @first + @step, ... (see pvm_call()) and
 * check the result of each: @want bytes, or -1 with errno @want_errno.
 */
static inline void __check_modes(struct __test_metadata *_metadata,
				 const char *what, int first, int step,
				 pid_t pid, const struct iovec *lvec,
				 unsigned long liovcnt,
				 const struct iovec *rvec,
				 unsigned long riovcnt, unsigned long flags,
				 ssize_t want, int want_errno)
{
	ssize_t ret;
	int mode;

	for (mode = first; mode < CMA_NR_MODES; mode += step) {
		errno = 0;
		ret = pvm_call(mode, pid, lvec, liovcnt, rvec, riovcnt, flags);
		EXPECT_EQ(want, ret) {
			TH_LOG("%s, %s: errno %d (%s)", what,
			       pvm_mode_name[mode], errno, strerror(errno));
		}
		if (want != -1)
			continue;
		EXPECT_EQ(want_errno, errno) {
			TH_LOG("%s, %s: %s, want %s", what,
			       pvm_mode_name[mode], strerror(errno),
			       strerror(want_errno));
		}
	}
}

/* All four ways of calling: both directions, glibc's wrapper and syscall() */
#define CHECK_ERR(what, pid, l, ln, r, rn, fl, err) \
	__check_modes(_metadata, what, 0, 1, pid, l, ln, r, rn, fl, -1, err)
#define CHECK_RET(what, pid, l, ln, r, rn, fl, want) \
	__check_modes(_metadata, what, 0, 1, pid, l, ln, r, rn, fl, want, 0)

/* Bytes the tests never write: what a byte that must stay untouched holds */
#define LCANARY	0xa5
#define RCANARY	0x5a

/* Check a buffer against another, a pattern or a byte; log the first diff */
static inline void __expect_same(struct __test_metadata *_metadata,
				 const unsigned char *got,
				 const unsigned char *want, size_t len,
				 const char *what)
{
	long d = first_diff(got, want, len);

	EXPECT_EQ(-1, d) {
		TH_LOG("%s: byte %ld of %zu is %#x, want %#x", what, d, len,
		       got[d], want[d]);
	}
}

static inline void __expect_pat(struct __test_metadata *_metadata,
				const unsigned char *p, size_t len,
				size_t start, unsigned int seed,
				const char *what)
{
	long d = check_pat(p, len, start, seed);

	EXPECT_EQ(-1, d) {
		TH_LOG("%s: byte %ld of %zu is %#x, want pattern %u[%zu] %#x",
		       what, d, len, p[d], seed, (size_t)(start + d),
		       pat(start + d, seed));
	}
}

static inline void __expect_byte(struct __test_metadata *_metadata,
				 const unsigned char *p, size_t len, int c,
				 const char *what)
{
	long d = check_byte(p, len, c);

	EXPECT_EQ(-1, d) {
		TH_LOG("%s: byte %ld of %zu is %#x, want %#x", what, d, len,
		       p[d], c);
	}
}

#define expect_same(got, want, len, what) \
	__expect_same(_metadata, got, want, len, what)
#define expect_pat(p, len, start, seed, what) \
	__expect_pat(_metadata, p, len, start, seed, what)
#define expect_byte(p, len, c, what) \
	__expect_byte(_metadata, p, len, c, what)

/*
 * A userfaultfd over [base, base + len) of the calling process (a target),
 * missing mode, served by a thread that fills each faulting page with
 * pattern @seed after @delay_ms; with a negative delay it never does.
 */
struct uffd_area {
	void *base;
	size_t len;
	int delay_ms;
	unsigned int seed;
	int fd;
	int events;	/* page faults read from @fd so far */
};

static inline void *uffd_serve(void *arg)
{
	struct uffd_area *u = arg;
	size_t ps = page_size();
	unsigned char *page = malloc(ps);
	struct uffd_msg msg;

	fill_pat(page, ps, u->seed);
	while (read(u->fd, &msg, sizeof(msg)) == sizeof(msg)) {
		struct uffdio_copy copy = {
			.dst = msg.arg.pagefault.address & ~(uint64_t)(ps - 1),
			.src = (uintptr_t)page,
			.len = ps,
		};

		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		__atomic_add_fetch(&u->events, 1, __ATOMIC_SEQ_CST);
		if (u->delay_ms < 0)
			pause();
		poll(NULL, 0, u->delay_ms);
		ioctl(u->fd, UFFDIO_COPY, &copy);
	}
	return NULL;
}

/* Returns 0, or the errno (ENOSYS without CONFIG_USERFAULTFD) */
static inline int uffd_start(struct uffd_area *u)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { (uintptr_t)u->base, u->len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	pthread_t th;

	u->fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (u->fd < 0)
		return errno;
	if (ioctl(u->fd, UFFDIO_API, &api) || ioctl(u->fd, UFFDIO_REGISTER, &reg))
		return errno;
	return pthread_create(&th, NULL, uffd_serve, u);
}

static inline uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif /* __SELFTESTS_PROCESS_VM_H */
