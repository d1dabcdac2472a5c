/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Whole-buffer pipe I/O for the stress programs' caller/target protocol:
 * retried on EINTR, and -1 on EOF or error, so a target that died is
 * noticed instead of read as a short message.
 */
#ifndef CMA_STRESS_FULL_IO_H
#define CMA_STRESS_FULL_IO_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

static inline int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static inline int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

#endif
