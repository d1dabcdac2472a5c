// SPDX-License-Identifier: GPL-2.0
/*
 * The flags of process_vm_readv() and process_vm_writev():
 * PROCESS_VM_PIDFD (the pid argument is a pidfd) and PROCESS_VM_NOWAIT
 * (remote pages that would need waiting for are not waited for).  Every
 * test runs the four ways of calling (glibc's wrappers pass flags through).
 *
 * A kernel that answers the probe with EINVAL lacks a flag: its tests skip,
 * naming it.  Unknown bits must give EINVAL on every kernel.
 */
#define _GNU_SOURCE
#include <linux/process_vm_access.h>
#include <sys/stat.h>

#include "process_vm.h"

#define FLAG_SKIP "EINVAL, kernel without the flag"

/* The probe of the UAPI header: EFAULT where @flags are supported */
static int flag_probe(unsigned long flags)
{
	if (syscall(SYS_process_vm_readv, getpid(), NULL, 1, NULL, 1,
		    flags) == -1)
		return errno;
	return 0;
}

/* NULL if this kernel supports @flags (named @name), else why to skip */
static const char *flags_missing(unsigned long flags, const char *name)
{
	static char why[128];

	if (!pvm_available())
		return CMA_ENOSYS_REASON;
	if (flag_probe(flags) != EINVAL)
		return NULL;
	snprintf(why, sizeof(why), "%s: %s", name, FLAG_SKIP);
	return why;
}

static int pidfd_open(pid_t pid, unsigned int flags)
{
	return syscall(SYS_pidfd_open, pid, flags);
}

/*
 * The two ways of calling in one direction, glibc's wrapper and syscall(),
 * give @want (a count, or -1 and @err); CHECK_ERR (process_vm.h) checks
 * both directions.
 */
#define CHECK_READ(what, pid, l, ln, r, rn, fl, want, err) \
	__check_modes(_metadata, what, CMA_READ, CMA_RAW, pid, l, ln, r, rn, \
		      fl, want, err)
#define CHECK_WRITE(what, pid, l, ln, r, rn, fl, want, err) \
	__check_modes(_metadata, what, CMA_WRITE, CMA_RAW, pid, l, ln, r, rn, \
		      fl, want, err)

TEST(probe_known_flags)
{
	const char *why;

	why = flags_missing(PROCESS_VM_PIDFD, "PROCESS_VM_PIDFD");
	if (why)
		SKIP(return, "%s", why);
	EXPECT_EQ(EFAULT, flag_probe(PROCESS_VM_PIDFD));
	EXPECT_EQ(EFAULT, flag_probe(PROCESS_VM_NOWAIT));
	EXPECT_EQ(EFAULT, flag_probe(PROCESS_VM_PIDFD | PROCESS_VM_NOWAIT));
}

/* Each unknown bit, alone or with known ones, before any other check */
TEST(unknown_bits_einval)
{
	unsigned long bit, known = PROCESS_VM_PIDFD | PROCESS_VM_NOWAIT;
	char b[8];
	struct iovec l = { b, sizeof(b) };

	if (!pvm_available())
		SKIP(return, CMA_ENOSYS_REASON);
	for (bit = 1; bit; bit <<= 1) {
		char what[64];

		if (bit & known)
			continue;
		snprintf(what, sizeof(what), "flags %#lx, pid -1, NULL arrays",
			 bit);
		CHECK_ERR(what, -1, NULL, 1, NULL, 1, bit, EINVAL);
		snprintf(what, sizeof(what), "flags %#lx, local total 0", bit);
		CHECK_ERR(what, getpid(), NULL, 0, NULL, 0, bit, EINVAL);
		snprintf(what, sizeof(what), "flags %#lx | PIDFD | NOWAIT", bit);
		CHECK_ERR(what, -1, &l, 1, &l, 1, bit | known, EINVAL);
	}
}

/* A target with RPAGES pages: 0 resident, 1.. never touched (missing) */
#define RPAGES	4
static unsigned char *area;
static struct uffd_area flags_uffd;

static int area_uffd(void *delay_ms)
{
	size_t ps = page_size();

	flags_uffd = (struct uffd_area){
		.base = area + ps, .len = (RPAGES - 1) * ps, .seed = 60,
		.delay_ms = (int)(intptr_t)delay_ms,
	};
	return uffd_start(&flags_uffd);
}

/*
 * In the target: how many page faults its userfaultfd has reported; the
 * serving thread reads each at once, and is given 20 ms to do so.
 */
static int uffd_events(void *arg)
{
	poll(NULL, 0, 20);
	return __atomic_load_n(&flags_uffd.events, __ATOMIC_SEQ_CST);
}

/* In the target: nonzero if page @i of the area is resident */
static int area_resident(void *i)
{
	size_t ps = page_size();
	unsigned char vec;

	if (mincore(area + (uintptr_t)i * ps, ps, &vec))
		return -1;
	return vec & 1;
}

static void area_map(struct __test_metadata *_metadata)
{
	size_t ps = page_size();

	area = map_anon(RPAGES * ps, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(area));
	fill_pat(area, ps, 61);
}

TEST(pidfd_read_write)
{
	size_t ps = page_size();
	unsigned char *lb;
	struct iovec l, r;
	struct target t;
	int fd;
	const char *why;

	why = flags_missing(PROCESS_VM_PIDFD, "PROCESS_VM_PIDFD");
	if (why)
		SKIP(return, "%s", why);
	area_map(_metadata);
	lb = malloc(2 * ps);
	ASSERT_FALSE(!lb);
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	fd = pidfd_open(t.pid, 0);
	ASSERT_LE(0, fd);

	memset(lb, LCANARY, 2 * ps);
	l = (struct iovec){ lb + 1, ps - 2 };
	r = (struct iovec){ area + 1, ps - 2 };
	CHECK_READ("read through a pidfd", fd, &l, 1, &r, 1, PROCESS_VM_PIDFD,
		   (ssize_t)(ps - 2), 0);
	expect_pat(lb + 1, ps - 2, 1, 61, "read through a pidfd");
	EXPECT_EQ(LCANARY, lb[0]);
	EXPECT_EQ(LCANARY, lb[ps - 1]);

	fill_pat(lb, ps, 62);
	l = (struct iovec){ lb, ps };
	r = (struct iovec){ area + ps, ps };
	CHECK_WRITE("write through a pidfd", fd, &l, 1, &r, 1, PROCESS_VM_PIDFD,
		    (ssize_t)ps, 0);
	memset(lb + ps, 0, ps);
	l = (struct iovec){ lb + ps, ps };
	EXPECT_EQ((ssize_t)ps, pvm_call(CMA_READ, t.pid, &l, 1, &r, 1, 0));
	expect_pat(lb + ps, ps, 0, 62, "read back by pid");
	close(fd);
	target_stop(&t);
	munmap(area, RPAGES * ps);
	free(lb);
}

TEST(pidfd_nonblock_and_self)
{
	size_t ps = page_size();
	unsigned char lb[64];
	struct iovec l = { lb, sizeof(lb) }, r;
	struct target t;
	int fd;
	const char *why;

	why = flags_missing(PROCESS_VM_PIDFD, "PROCESS_VM_PIDFD");
	if (why)
		SKIP(return, "%s", why);
	area_map(_metadata);
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	fd = pidfd_open(t.pid, O_NONBLOCK);	/* PIDFD_NONBLOCK */
	ASSERT_LE(0, fd);
	r = (struct iovec){ area + 5, sizeof(lb) };
	CHECK_READ("PIDFD_NONBLOCK pidfd", fd, &l, 1, &r, 1, PROCESS_VM_PIDFD,
		   (ssize_t)sizeof(lb), 0);
	expect_pat(lb, sizeof(lb), 5, 61, "through a PIDFD_NONBLOCK pidfd");
	close(fd);
	target_stop(&t);

	fd = pidfd_open(getpid(), 0);
	ASSERT_LE(0, fd);
	memset(lb, 0, sizeof(lb));
	CHECK_READ("pidfd_open(getpid())", fd, &l, 1, &r, 1, PROCESS_VM_PIDFD,
		   (ssize_t)sizeof(lb), 0);
	expect_pat(lb, sizeof(lb), 5, 61, "own memory through a pidfd");
	close(fd);
	munmap(area, RPAGES * ps);
}

/* Not an open fd, or not a pidfd: EBADF, also with bad arrays behind */
TEST(pidfd_not_a_pidfd)
{
	char b[16];
	struct iovec l = { b, sizeof(b) }, r = { b, sizeof(b) };
	int closed, devnull, pipes[2];
	const char *why;

	why = flags_missing(PROCESS_VM_PIDFD, "PROCESS_VM_PIDFD");
	if (why)
		SKIP(return, "%s", why);
	closed = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, closed);
	close(closed);
	devnull = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, devnull);
	ASSERT_EQ(0, pipe(pipes));
	CHECK_ERR("closed fd", closed, &l, 1, &r, 1, PROCESS_VM_PIDFD, EBADF);
	CHECK_ERR("/dev/null", devnull, &l, 1, &r, 1, PROCESS_VM_PIDFD, EBADF);
	CHECK_ERR("a pipe", pipes[0], &l, 1, &r, 1, PROCESS_VM_PIDFD, EBADF);
	CHECK_ERR("fd -1", -1, &l, 1, &r, 1, PROCESS_VM_PIDFD, EBADF);
	CHECK_ERR("fd -10000 (no PIDFD_SELF in 6.1)", -10000, &l, 1, &r, 1,
		  PROCESS_VM_PIDFD, EBADF);
	close(devnull);
	close(pipes[0]);
	close(pipes[1]);
}

/* A zombie has no mm, a reaped process no task: ESRCH either way */
TEST(pidfd_zombie_and_reaped)
{
	char b[16];
	struct iovec l = { b, sizeof(b) }, r = { b, sizeof(b) };
	pid_t child;
	int fd;
	const char *why;

	why = flags_missing(PROCESS_VM_PIDFD, "PROCESS_VM_PIDFD");
	if (why)
		SKIP(return, "%s", why);
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0)
		_exit(0);
	fd = pidfd_open(child, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, wait_zombie(child));
	CHECK_ERR("zombie", fd, &l, 1, &r, 1, PROCESS_VM_PIDFD, ESRCH);
	ASSERT_EQ(child, waitpid(child, NULL, 0));
	CHECK_ERR("reaped", fd, &l, 1, &r, 1, PROCESS_VM_PIDFD, ESRCH);
	close(fd);
}

/* Holding a pidfd grants nothing: ptrace rules still decide */
TEST(pidfd_grants_nothing)
{
	char b[16];
	struct iovec l = { b, sizeof(b) };
	struct target t;
	int fd, status;
	pid_t holder;
	const char *why;

	why = flags_missing(PROCESS_VM_PIDFD, "PROCESS_VM_PIDFD");
	if (why)
		SKIP(return, "%s", why);
	if (geteuid() != 0)
		SKIP(return, ROOT_REASON);
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	fd = pidfd_open(t.pid, 0);
	ASSERT_LE(0, fd);
	holder = fork();
	ASSERT_LE(0, holder);
	if (holder == 0) {
		struct iovec r = { b, sizeof(b) };

		if (drop_to(OTHER_UID, true))
			_exit(FAM_SETUP);
		if (pvm_call(CMA_READ, fd, &l, 1, &r, 1,
			     PROCESS_VM_PIDFD) != -1)
			_exit(0);
		_exit(errno);
	}
	ASSERT_EQ(holder, waitpid(holder, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(EPERM, WEXITSTATUS(status)) {
		TH_LOG("unprivileged holder of a root process's pidfd: %s",
		       fam_result(WEXITSTATUS(status)));
	}
	close(fd);
	target_stop(&t);
}

/*
 * The race PIDFD closes, made deterministic: in a new pid namespace a
 * victim gets pid 2, dies and is reaped, and ns_last_pid makes the next
 * child (the impostor) pid 2 again.  By pid the call reads the impostor;
 * through the victim's pidfd it fails with ESRCH.
 */
static char marker[32];

#define REUSE_OK	0
#define REUSE_NO_NS_LAST_PID 203

static int reuse_in_ns(void)
{
	struct iovec l, r = { marker, sizeof(marker) };
	char got[sizeof(marker)];
	pid_t victim, impostor;
	int fd, ctl;

	victim = fork();
	if (victim == 0) {
		snprintf(marker, sizeof(marker), "victim");
		pause();
		_exit(0);
	}
	if (victim != 2)
		return FAM_SETUP;
	fd = pidfd_open(victim, 0);
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	ctl = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
	if (ctl < 0)
		return REUSE_NO_NS_LAST_PID;
	if (fd < 0 || write(ctl, "1", 1) != 1)
		return FAM_SETUP;
	close(ctl);
	impostor = fork();
	if (impostor == 0) {
		snprintf(marker, sizeof(marker), "impostor");
		pause();
		_exit(0);
	}
	if (impostor != 2)
		return FAM_SETUP;
	/* Wait until the impostor has written its marker */
	for (;;) {
		l = (struct iovec){ got, sizeof(got) };
		if (process_vm_readv(2, &l, 1, &r, 1, 0) != sizeof(got))
			return FAM_MISMATCH;
		if (!strcmp(got, "impostor"))
			break;
		usleep(1000);
	}
	if (process_vm_readv(fd, &l, 1, &r, 1, PROCESS_VM_PIDFD) != -1)
		return FAM_MISMATCH;
	return errno == ESRCH ? REUSE_OK : errno;
}

TEST(pidfd_pid_reuse)
{
	int status;
	pid_t child;
	const char *why;

	why = flags_missing(PROCESS_VM_PIDFD, "PROCESS_VM_PIDFD");
	if (why)
		SKIP(return, "%s", why);
	if (geteuid() != 0)
		SKIP(return, ROOT_REASON);
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		pid_t init;

		if (unshare(CLONE_NEWPID))
			_exit(FAM_SETUP);
		init = fork();
		if (init == 0)
			_exit(reuse_in_ns());
		if (init < 0 || waitpid(init, &status, 0) != init ||
		    !WIFEXITED(status))
			_exit(FAM_SETUP);
		_exit(WEXITSTATUS(status));
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == REUSE_NO_NS_LAST_PID)
		SKIP(return, "no /proc/sys/kernel/ns_last_pid (CONFIG_CHECKPOINT_RESTORE)");
	EXPECT_EQ(REUSE_OK, WEXITSTATUS(status)) {
		TH_LOG("pid reuse: %s", fam_result(WEXITSTATUS(status)));
	}
}

/* NOWAIT on pages that need no waiting: the whole transfer */
TEST(nowait_resident_and_untouched)
{
	size_t ps = page_size();
	unsigned char *lb, *fresh;
	struct iovec l, r;
	struct target t;
	const char *why;

	why = flags_missing(PROCESS_VM_NOWAIT, "PROCESS_VM_NOWAIT");
	if (why)
		SKIP(return, "%s", why);
	area_map(_metadata);
	fresh = map_anon(2 * ps, PROT_READ | PROT_WRITE, 0);
	ASSERT_TRUE(mapped(fresh));
	lb = malloc(2 * ps);
	ASSERT_FALSE(!lb);
	ASSERT_EQ(0, target_start(&t, NULL, NULL));
	l = (struct iovec){ lb, ps };
	r = (struct iovec){ area, ps };
	CHECK_READ("resident page", t.pid, &l, 1, &r, 1, PROCESS_VM_NOWAIT,
		   (ssize_t)ps, 0);
	expect_pat(lb, ps, 0, 61, "resident page");
	memset(lb, LCANARY, 2 * ps);
	l = (struct iovec){ lb, 2 * ps };
	r = (struct iovec){ fresh, 2 * ps };
	CHECK_READ("untouched anonymous pages", t.pid, &l, 1, &r, 1,
		   PROCESS_VM_NOWAIT, (ssize_t)(2 * ps), 0);
	expect_byte(lb, 2 * ps, 0, "untouched anonymous pages");
	target_stop(&t);
	munmap(fresh, 2 * ps);
	munmap(area, RPAGES * ps);
	free(lb);
}

/*
 * A page missing under a userfaultfd that nobody serves: NOWAIT returns
 * EFAULT at once, or the bytes before the page, and queues no event.
 */
TEST(nowait_userfaultfd_missing)
{
	size_t ps = page_size(), off = 100;
	unsigned char *lb;
	struct iovec l[2], r[2];
	struct target t;
	uint64_t start;
	int fd;
	const char *why;

	why = flags_missing(PROCESS_VM_NOWAIT, "PROCESS_VM_NOWAIT");
	if (why)
		SKIP(return, "%s", why);
	area_map(_metadata);
	lb = malloc(3 * ps);
	ASSERT_FALSE(!lb);
	ASSERT_EQ(0, target_start(&t, area_uffd, (void *)-1));
	l[0] = (struct iovec){ lb, ps };
	r[0] = (struct iovec){ area + ps, ps };
	start = ms_now();
	CHECK_ERR("missing page", t.pid, l, 1, r, 1, PROCESS_VM_NOWAIT, EFAULT);
	EXPECT_GT(100 * CMA_NR_MODES, ms_now() - start);
	EXPECT_EQ(0, target_call(&t, uffd_events, NULL));

	l[0] = (struct iovec){ lb, 2 * ps };
	r[0] = (struct iovec){ area, 2 * ps };
	CHECK_READ("second page missing", t.pid, l, 1, r, 1, PROCESS_VM_NOWAIT,
		   (ssize_t)ps, 0);
	expect_pat(lb, ps, 0, 61, "the resident first page");

	memset(lb, LCANARY, 3 * ps);
	l[0] = (struct iovec){ lb, ps };
	l[1] = (struct iovec){ lb + 2 * ps, ps };
	r[0] = (struct iovec){ area, ps };
	r[1] = (struct iovec){ area + 2 * ps, ps };
	CHECK_READ("second iovec missing", t.pid, l, 2, r, 2, PROCESS_VM_NOWAIT,
		   (ssize_t)ps, 0);
	expect_byte(lb + 2 * ps, ps, LCANARY, "the second local buffer");

	l[0] = (struct iovec){ lb, 2 * ps };
	r[0] = (struct iovec){ area + off, 2 * ps };
	CHECK_READ("offset start", t.pid, l, 1, r, 1, PROCESS_VM_NOWAIT,
		   (ssize_t)(ps - off), 0);

	fill_pat(lb, ps, 63);
	l[0] = (struct iovec){ lb, ps };
	r[0] = (struct iovec){ area + 3 * ps, ps };
	CHECK_ERR("writev onto a missing page", t.pid, l, 1, r, 1,
		  PROCESS_VM_NOWAIT, EFAULT);
	EXPECT_EQ(0, target_call(&t, area_resident, (void *)3));
	EXPECT_EQ(0, target_call(&t, uffd_events, NULL));

	fd = pidfd_open(t.pid, 0);
	ASSERT_LE(0, fd);
	l[0] = (struct iovec){ lb, 2 * ps };
	r[0] = (struct iovec){ area, 2 * ps };
	CHECK_READ("PIDFD | NOWAIT", fd, l, 1, r, 1,
		   PROCESS_VM_PIDFD | PROCESS_VM_NOWAIT, (ssize_t)ps, 0);
	close(fd);
	target_stop(&t);
	munmap(area, RPAGES * ps);
	free(lb);
}

/* The same missing page with flags 0 waits until the handler serves it */
TEST(nowait_then_flags0_waits)
{
	size_t ps = page_size();
	unsigned char *lb;
	struct iovec l, r;
	struct target t;
	uint64_t start;
	const char *why;

	why = flags_missing(PROCESS_VM_NOWAIT, "PROCESS_VM_NOWAIT");
	if (why)
		SKIP(return, "%s", why);
	area_map(_metadata);
	lb = malloc(ps);
	ASSERT_FALSE(!lb);
	ASSERT_EQ(0, target_start(&t, area_uffd, (void *)300));
	l = (struct iovec){ lb, ps };
	r = (struct iovec){ area + 2 * ps, ps };
	errno = 0;
	EXPECT_EQ(-1, pvm_call(CMA_READ, t.pid, &l, 1, &r, 1,
			       PROCESS_VM_NOWAIT));
	EXPECT_EQ(EFAULT, errno);
	start = ms_now();
	EXPECT_EQ((ssize_t)ps, pvm_call(CMA_READ, t.pid, &l, 1, &r, 1, 0));
	EXPECT_LE(250, ms_now() - start);
	expect_pat(lb, ps, 0, 60, "the page the handler supplied");
	target_stop(&t);
	munmap(area, RPAGES * ps);
	free(lb);
}

TEST_HARNESS_MAIN
