// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's /init: mount the pseudo filesystems, run every program the
 * host listed in /plan, frame each program's output with markers the host
 * parses, then end the VM.  One static binary per target architecture.
 *
 * /plan holds one program per line: "<abi> <name> <path> [args...]".
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS	16
#define PROGRAM_TIMEOUT	900	/* seconds; the host has its own limit too */

static void mount_fs(const char *type, const char *dir)
{
	mkdir(dir, 0755);
	if (mount(type, dir, type, 0, NULL) && errno != EBUSY)
		printf("# cma-run: mount %s on %s: %s\n", type, dir,
		       strerror(errno));
}

static int run_program(char **argv)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setenv("CMA_GUEST", "1", 1);
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

		abi = strtok_r(line, " \n", &save);
		name = strtok_r(NULL, " \n", &save);
		if (!abi || !name || abi[0] == '#')
			continue;
		while (argc < MAX_ARGS &&
		       (argv[argc] = strtok_r(NULL, " \n", &save)))
			argc++;
		argv[argc] = NULL;
		printf("# cma-run: begin %s %s\n", abi, name);
		status = run_program(argv);
		printf("# cma-run: end %s %s status=%d\n", abi, name, status);
	}
}

int main(void)
{
	FILE *plan;

	mount_fs("proc", "/proc");
	mount_fs("sysfs", "/sys");
	mount_fs("devtmpfs", "/dev");
	mount_fs("tmpfs", "/tmp");
	mount_fs("tmpfs", "/dev/shm");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (chdir("/tmp"))
		printf("# cma-run: chdir /tmp: %s\n", strerror(errno));

	plan = fopen("/plan", "r");
	if (plan) {
		run_plan(plan);
		fclose(plan);
	} else {
		printf("# cma-run: no /plan: %s\n", strerror(errno));
	}
	printf("# cma-run: done\n");
	fflush(stdout);
	sync();
	reboot(RB_AUTOBOOT);
	return 0;
}
