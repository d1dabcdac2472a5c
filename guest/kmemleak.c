// SPDX-License-Identifier: GPL-2.0
/*
 * kmemleak clear|scan: the debug kernel's leak check around the tests.
 *
 * "clear" forgets every object allocated so far (boot-time allocations are
 * not ours to judge); "scan" runs two synchronous scans a few seconds apart
 * (an object is reported only once it is old enough and was unreferenced
 * in a scan), prints the report and fails if it names any object.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define KMEMLEAK	"/sys/kernel/debug/kmemleak"
#define MIN_AGE_SECONDS	6	/* kmemleak's MSECS_MIN_AGE is 5 s */

static int command(const char *what)
{
	FILE *f = fopen(KMEMLEAK, "w");

	if (!f || fputs(what, f) == EOF || fclose(f)) {
		printf("kmemleak: %s: %s\n", what, strerror(errno));
		return -1;
	}
	return 0;
}

static int report(void)
{
	FILE *f = fopen(KMEMLEAK, "r");
	char line[512];
	int leaks = 0;

	if (!f) {
		printf("kmemleak: read: %s\n", strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		fputs(line, stdout);
		if (strstr(line, "unreferenced object"))
			leaks++;
	}
	fclose(f);
	return leaks;
}

int main(int argc, char **argv)
{
	int leaks;

	if (argc != 2 || (strcmp(argv[1], "clear") && strcmp(argv[1], "scan"))) {
		fprintf(stderr, "usage: kmemleak clear|scan\n");
		return 2;
	}
	if (access(KMEMLEAK, F_OK)) {
		printf("kmemleak: %s: %s (kernel without DEBUG_KMEMLEAK?)\n",
		       KMEMLEAK, strerror(errno));
		return 1;
	}
	if (!strcmp(argv[1], "clear"))
		return command("clear") ? 1 : 0;

	sleep(MIN_AGE_SECONDS);
	if (command("scan"))
		return 1;
	sleep(MIN_AGE_SECONDS);
	if (command("scan"))
		return 1;
	leaks = report();
	printf("kmemleak: %d leaks\n", leaks);
	return leaks ? 1 : 0;
}
