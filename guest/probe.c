// SPDX-License-Identifier: GPL-2.0
/*
 * Does this kernel have the calls?  Ask each one, raw and through glibc,
 * with a call that does nothing when implemented: one local byte, no
 * remote iovec, our own pid.  Prints one line the host checks:
 *   cma-probe readv=OK writev=OK glibc_readv=OK glibc_writev=OK
 * with ENOSYS (or another errno name) where a call failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *result(long ret)
{
	if (ret == 0)
		return "OK";
	if (errno == ENOSYS)
		return "ENOSYS";
	return strerrorname_np(errno);
}

int main(void)
{
	char byte;
	struct iovec local = { &byte, 1 };
	pid_t pid = getpid();
	const char *r, *w, *gr, *gw;

	r = result(syscall(SYS_process_vm_readv, pid, &local, 1, NULL, 0, 0));
	w = result(syscall(SYS_process_vm_writev, pid, &local, 1, NULL, 0, 0));
	gr = result(process_vm_readv(pid, &local, 1, NULL, 0, 0));
	gw = result(process_vm_writev(pid, &local, 1, NULL, 0, 0));
	printf("cma-probe readv=%s writev=%s glibc_readv=%s glibc_writev=%s\n",
	       r, w, gr, gw);
	return 0;
}
