// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's /init: mount the pseudo filesystems, run every program the
 * host listed in /plan, frame each program's output with markers the host
 * parses, then end the VM.  One static binary per target architecture.
 *
 * /plan holds one program per line: "<abi> <name> <path> [args...]".
 * A UML kernel, whose root is the host's own, names its plan with the
 * kernel parameter cma_plan=<path> and ends with cma_poweroff=1 (a UML
 * reboot would start it again).
 * Programs of abi "host" are the host's own (dynamically linked, from its
 * packages): they run chrooted into the host's root filesystem, which QEMU
 * shares read-only over virtio-9p, with fresh tmpfs where programs write.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS	16
/*
 * Seconds per program; the host has its own limit per boot too.  The
 * clients (Open MPI, UCX, libfabric, MPICH, strace) take over 10 minutes
 * on the debug kernel when the host is busy.
 */
#define PROGRAM_TIMEOUT	1500
#define HOST_ROOT	"/host"
#define HOST_TAG	"hostroot"	/* QEMU's mount_tag for the 9p share */
#define KEEP_ASIDE	"/dev/.cma-keep" /* writable on every root we have */
#define ZRAM_SIZE	"256M"	/* swap, so that tests can page memory out */

static int mount_fs(const char *type, const char *dir)
{
	mkdir(dir, 0755);
	if (mount(type, dir, type, 0, NULL) && errno != EBUSY) {
		printf("# cma-run: mount %s on %s: %s\n", type, dir,
		       strerror(errno));
		return -1;
	}
	return 0;
}

static int bind_mount(const char *from, const char *to)
{
	if (mount(from, to, NULL, MS_BIND | MS_REC, NULL)) {
		printf("# cma-run: bind %s on %s: %s\n", from, to,
		       strerror(errno));
		return -1;
	}
	return 0;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX], *p = buf;

	snprintf(buf, sizeof(buf), "%s", path);
	do {
		p = strchr(p + 1, '/');
		if (p)
			*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST) {
			printf("# cma-run: mkdir %s: %s\n", buf, strerror(errno));
			return -1;
		}
		if (p)
			*p = '/';
	} while (p);
	return 0;
}

/*
 * A fresh tmpfs on @dir of the root at @root ("" or HOST_ROOT).  The
 * project's own directory on the host (kernel parameter cma_top=) may lie
 * below @dir, as when CI clones it under /tmp: then it stays visible at
 * its path, moved aside while the tmpfs is mounted and moved back into it.
 */
static int mount_tmpfs(const char *root, const char *dir)
{
	const char *top = getenv("cma_top");
	size_t n = strlen(root) + strlen(dir);
	char full[PATH_MAX], keep[PATH_MAX];
	bool inside;

	snprintf(full, sizeof(full), "%s%s", root, dir);
	snprintf(keep, sizeof(keep), "%s%s", root, top ?: "");
	inside = top && !strncmp(keep, full, n) && keep[n] == '/' &&
		 !access(keep, F_OK);
	if (inside && (mkdir_p(KEEP_ASIDE) || bind_mount(keep, KEEP_ASIDE)))
		return -1;
	if (mount_fs("tmpfs", full))
		return -1;
	if (!inside)
		return 0;
	if (mkdir_p(keep) || mount(KEEP_ASIDE, keep, NULL, MS_MOVE, NULL)) {
		printf("# cma-run: keep %s visible: %s\n", keep, strerror(errno));
		return -1;
	}
	rmdir(KEEP_ASIDE);
	return 0;
}

/*
 * The host's root, read-only, with our /proc, /sys and /dev bound in and
 * tmpfs where programs write (Open MPI's session directory, trinity's
 * logs).  Mounted once, on the first host program of the plan.
 */
static int mount_host_root(void)
{
	static int mounted;

	if (mounted)
		return mounted > 0 ? 0 : -1;
	mounted = -1;
	mkdir(HOST_ROOT, 0755);
	if (mount(HOST_TAG, HOST_ROOT, "9p", MS_RDONLY,
		  "trans=virtio,version=9p2000.L,msize=512000")) {
		printf("# cma-run: mount 9p %s: %s\n", HOST_TAG,
		       strerror(errno));
		return -1;
	}
	if (bind_mount("/proc", HOST_ROOT "/proc") ||
	    bind_mount("/sys", HOST_ROOT "/sys") ||
	    bind_mount("/dev", HOST_ROOT "/dev") ||
	    mount_tmpfs(HOST_ROOT, "/tmp") ||
	    mount_tmpfs(HOST_ROOT, "/run") ||
	    mount_tmpfs(HOST_ROOT, "/dev/shm"))
		return -1;
	/* Open MPI wants a resolvable host name; lo is all the guest has. */
	if (sethostname("localhost", strlen("localhost")))
		printf("# cma-run: sethostname: %s\n", strerror(errno));
	mounted = 1;
	return 0;
}

static void enter_host_root(void)
{
	if (chroot(HOST_ROOT) || chdir("/tmp")) {
		printf("# cma-run: chroot %s: %s\n", HOST_ROOT, strerror(errno));
		_exit(127);
	}
	setenv("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", 1);
	setenv("HOME", "/tmp", 1);
}

static int run_program(const char *abi, char **argv)
{
	bool host = !strcmp(abi, "host");
	int status;
	pid_t pid;

	if (host && mount_host_root())
		return 127;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setenv("CMA_GUEST", "1", 1);
		if (host)
			enter_host_root();
		alarm(PROGRAM_TIMEOUT);
		execv(argv[0], argv);
		printf("# cma-run: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	/* As PID 1 we also reap orphans the tests leave behind. */
	while (waitpid(-1, &status, 0) != pid)
		;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static void run_plan(FILE *plan)
{
	char line[1024];

	while (fgets(line, sizeof(line), plan)) {
		char *argv[MAX_ARGS + 1], *abi, *name, *save;
		int argc = 0, status;
		time_t start;

		abi = strtok_r(line, " \n", &save);
		name = strtok_r(NULL, " \n", &save);
		if (!abi || !name || abi[0] == '#')
			continue;
		while (argc < MAX_ARGS &&
		       (argv[argc] = strtok_r(NULL, " \n", &save)))
			argc++;
		argv[argc] = NULL;
		printf("# cma-run: begin %s %s\n", abi, name);
		start = time(NULL);
		status = run_program(abi, argv);
		printf("# cma-run: end %s %s status=%d seconds=%ld\n", abi, name,
		       status, (long)(time(NULL) - start));
	}
}

static int write_str(const char *path, const char *what)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs(what, f) < 0;
	return fclose(f) || ret ? -1 : 0;
}

/*
 * Swap on zram where the kernel has it: a swap header (what mkswap writes:
 * version 1, the last page, "SWAPSPACE2" ending the first page), then
 * swapon().  Kernels without zram (UML) just go without.
 */
static void swap_on_zram(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned int *info;
	char *header;
	int fd;

	if (access("/sys/block/zram0", F_OK))
		return;
	header = calloc(1, pg);
	if (!header || write_str("/sys/block/zram0/disksize", ZRAM_SIZE)) {
		printf("# cma-run: zram0: cannot size it: %s\n", strerror(errno));
		return;
	}
	info = (unsigned int *)(header + 1024);
	info[0] = 1;
	info[1] = (256U << 20) / pg - 1;
	memcpy(header + pg - 10, "SWAPSPACE2", 10);
	fd = open("/dev/zram0", O_WRONLY);
	if (fd < 0 || write(fd, header, pg) != pg || close(fd) ||
	    swapon("/dev/zram0", 0))
		printf("# cma-run: zram0: no swap: %s\n", strerror(errno));
	free(header);
}

int main(void)
{
	FILE *plan;

	mount_fs("proc", "/proc");
	mount_fs("sysfs", "/sys");
	mount_fs("devtmpfs", "/dev");
	mount_tmpfs("", "/tmp");
	mount_tmpfs("", "/dev/shm");
	/* What udev would add and shells expect: bash's <(...) needs /dev/fd. */
	symlink("/proc/self/fd", "/dev/fd");
	/* Only debug kernels have it: kmemleak and the fault injection knobs. */
	if (!access("/sys/kernel/debug", F_OK))
		mount_fs("debugfs", "/sys/kernel/debug");
	setvbuf(stdout, NULL, _IOLBF, 0);
	swap_on_zram();
	if (chdir("/tmp"))
		printf("# cma-run: chdir /tmp: %s\n", strerror(errno));

	plan = fopen(getenv("cma_plan") ?: "/plan", "r");
	if (plan) {
		run_plan(plan);
		fclose(plan);
	} else {
		printf("# cma-run: no /plan: %s\n", strerror(errno));
	}
	printf("# cma-run: done\n");
	fflush(stdout);
	sync();
	reboot(getenv("cma_poweroff") ? RB_POWER_OFF : RB_AUTOBOOT);
	return 0;
}
