// SPDX-License-Identifier: GPL-2.0
/*
 * Cross Memory Attach under Yama ptrace_scope 3 ("no attach"): every
 * access to another mm is refused, root's included, while a process's
 * own mm needs no permission at all.
 *
 * Scope 3 cannot be lowered again until reboot, so this program sets it
 * only when CMA_GUEST=1 says it runs in a throw-away test VM.  Run it
 * after every other test.
 */
#define _GNU_SOURCE
#include "process_vm.h"

/* NULL once scope 3 is in force, else why the test must be skipped */
static const char *enter_scope3(void)
{
	const char *guest = getenv("CMA_GUEST");
	long scope;

	if (!pvm_available())
		return CMA_ENOSYS_REASON;
	if (geteuid() != 0)
		return ROOT_REASON;
	if (read_int_file(YAMA_SCOPE_PATH, &scope))
		return "Yama not available (no " YAMA_SCOPE_PATH ")";
	if (scope == 3)
		return NULL;
	if (!guest || strcmp(guest, "1"))
		return "ptrace_scope 3 lasts until reboot: needs CMA_GUEST=1";
	if (write_int_file(YAMA_SCOPE_PATH, 3))
		return "could not write 3 to " YAMA_SCOPE_PATH;
	return NULL;
}

TEST(scope_is_locked)
{
	const char *why = enter_scope3();
	long scope = -1;

	if (why)
		SKIP(return, "%s", why);
	EXPECT_EQ(-1, write_int_file(YAMA_SCOPE_PATH, 1));
	EXPECT_EQ(0, read_int_file(YAMA_SCOPE_PATH, &scope));
	EXPECT_EQ(3, scope);
}

TEST(root_parent_reads_child)
{
	const char *why = enter_scope3();
	struct fam f = { 0 };

	if (why)
		SKIP(return, "%s", why);
	check_fam(&f, EPERM);
	f.write = true;
	check_fam(&f, EPERM);
}

TEST(root_child_reads_parent)
{
	const char *why = enter_scope3();
	struct fam f = { .child_reads = true, .ptracer = PTRACER_ANY };

	if (why)
		SKIP(return, "%s", why);
	check_fam(&f, EPERM);
	f.write = true;
	check_fam(&f, EPERM);
}

TEST(same_uid_parent_reads_child)
{
	const char *why = enter_scope3();
	struct fam f = { .puid = OTHER_UID, .cuid = OTHER_UID };

	if (why)
		SKIP(return, "%s", why);
	check_fam(&f, EPERM);
	f.child_reads = true;
	f.ptracer = PTRACER_CHILD;
	check_fam(&f, EPERM);
}

/* No mm: ESRCH, before any permission check */
TEST(zombie_esrch)
{
	const char *why = enter_scope3();
	struct fam f = { .child_zombie = true };

	if (why)
		SKIP(return, "%s", why);
	check_fam(&f, ESRCH);
}

TEST(kthreadd_esrch)
{
	const char *why = enter_scope3();
	unsigned char lb[64];
	struct iovec l = { lb, sizeof(lb) }, r = { (void *)0x10000, 64 };
	int mode;

	if (why)
		SKIP(return, "%s", why);
	if (!pid2_is_kthreadd())
		SKIP(return, "pid 2 is not kthreadd (in a pid namespace?)");
	for (mode = 0; mode < CMA_NR_MODES; mode++) {
		errno = 0;
		EXPECT_EQ(-1, pvm_call(mode, 2, &l, 1, &r, 1, 0));
		EXPECT_EQ(ESRCH, errno);
	}
}

/* The same mm is never checked: ourselves, our threads, CLONE_VM children */
TEST(same_mm_allowed)
{
	const char *why = enter_scope3();
	char src[32] = "same mm", buf[32];
	struct iovec l = { buf, sizeof(buf) }, r = { src, sizeof(src) };
	struct tid_thread th;
	struct vm_child v;
	int mode;

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, tid_thread_start(&th));
	ASSERT_EQ(0, vm_child_start(&v));
	for (mode = 0; mode < CMA_NR_MODES; mode++) {
		memset(buf, 0, sizeof(buf));
		if (mode & CMA_WRITE)
			snprintf(buf, sizeof(buf), "same mm");
		EXPECT_EQ((ssize_t)sizeof(buf),
			  pvm_call(mode, getpid(), &l, 1, &r, 1, 0));
		EXPECT_STREQ("same mm", buf);
		EXPECT_EQ((ssize_t)sizeof(buf),
			  pvm_call(mode, th.tid, &l, 1, &r, 1, 0));
		EXPECT_EQ((ssize_t)sizeof(buf),
			  pvm_call(mode, v.pid, &l, 1, &r, 1, 0));
	}
	vm_child_stop(&v);
}

TEST_HARNESS_MAIN
