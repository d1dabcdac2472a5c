/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * pvm_reduce.h - reduce a peer's buffer into yours, or yours into the
 * peer's, with PROCESS_VM_REDUCE where the kernel has it and with
 * process_vm_readv/writev plus a loop here where it does not.  One header,
 * no state beyond a probe cache; meant to be lifted into an MPI library's
 * shared-memory component.
 *
 *   ssize_t reduce_from(pid_t pid, void *local, const void *remote,
 *                       size_t bytes, int op, int type);
 *	local[i] = local[i] OP remote[i] (the peer's buffer is only read)
 *   ssize_t reduce_to(pid_t pid, void *remote, const void *local,
 *                     size_t bytes, int op, int type);
 *	remote[i] = remote[i] OP local[i] (the peer's buffer is written)
 *
 * op and type are the PROCESS_VM_OP_* and PROCESS_VM_TYPE_* codes of
 * <linux/process_vm_access.h> (defined here when the installed headers
 * predate them).  Both return the bytes done, a multiple of the element
 * size, or -1 with errno: EINVAL for a bad op or type, a bitwise op on a
 * float type or a length or address that is not a multiple of the
 * element size; otherwise what process_vm_readv(2) gives (EFAULT, EPERM,
 * ESRCH, ENOSYS on a kernel without Cross Memory Attach).  A short count
 * means a fault after that many bytes; the elements before it are final.
 *
 * Which path: the kernel's, if the probe of the flags answers EFAULT for
 * the type (once per type, cached); else the fallback, which copies at
 * most PVM_REDUCE_CHUNK bytes at a time through a buffer on the heap
 * and combines them here.  PVM_REDUCE_FALLBACK=1 in the environment at
 * a type's first use forces the fallback for it (for comparison).
 * pvm_reduce_path() says which one a type takes.
 *
 * The fallback computes what the kernel computes: integers wrap, MIN and
 * MAX honour signedness, floats one IEEE operation per element with MIN
 * (dst < src) ? dst : src and MAX (dst > src) ? dst : src.  Neither path
 * is atomic: two writers reducing into the same bytes at once lose
 * updates, so callers partition the data.
 */
#ifndef PVM_REDUCE_H
#define PVM_REDUCE_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>

#if __has_include(<linux/process_vm_access.h>)
#include <linux/process_vm_access.h>
#endif

#ifndef PROCESS_VM_REDUCE
#define PROCESS_VM_REDUCE	(1UL << 8)
#define PROCESS_VM_OP_SHIFT	12
#define PROCESS_VM_TYPE_SHIFT	16
#define PROCESS_VM_OP(op)	((unsigned long)(op) << PROCESS_VM_OP_SHIFT)
#define PROCESS_VM_TYPE(t)	((unsigned long)(t) << PROCESS_VM_TYPE_SHIFT)
#define PROCESS_VM_OP_SUM	1
#define PROCESS_VM_OP_PROD	2
#define PROCESS_VM_OP_MIN	3
#define PROCESS_VM_OP_MAX	4
#define PROCESS_VM_OP_BAND	5
#define PROCESS_VM_OP_BOR	6
#define PROCESS_VM_OP_BXOR	7
#define PROCESS_VM_TYPE_S8	1
#define PROCESS_VM_TYPE_U8	2
#define PROCESS_VM_TYPE_S16	3
#define PROCESS_VM_TYPE_U16	4
#define PROCESS_VM_TYPE_S32	5
#define PROCESS_VM_TYPE_U32	6
#define PROCESS_VM_TYPE_S64	7
#define PROCESS_VM_TYPE_U64	8
#define PROCESS_VM_TYPE_F32	9
#define PROCESS_VM_TYPE_F64	10
#endif

#if __FLT_EVAL_METHOD__ == 2
/* The kernel's binary32/64 rounding, not the x87's extended precision */
#pragma GCC push_options
#pragma GCC target("sse2,fpmath=sse")
#define PVM_REDUCE_POP_OPTIONS
#endif

/* The fallback's bounce buffer: a quarter of a typical L2 */
#define PVM_REDUCE_CHUNK	(256 << 10)

enum pvm_reduce_path { PVM_REDUCE_KERNEL = 1, PVM_REDUCE_FALLBACK = 2 };

static inline unsigned int pvm_reduce_size(int type)
{
	static const unsigned char size[] = { 0, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8 };

	return type > 0 && type <= PROCESS_VM_TYPE_F64 ? size[type] : 0;
}

static inline int pvm_reduce_valid(int op, int type)
{
	return op >= PROCESS_VM_OP_SUM && op <= PROCESS_VM_OP_BXOR &&
	       pvm_reduce_size(type) &&
	       !(type >= PROCESS_VM_TYPE_F32 && op >= PROCESS_VM_OP_BAND);
}

/* The kernel's or the fallback's, for @type; probed once per type */
static inline int pvm_reduce_path(int type)
{
	static int known[PROCESS_VM_TYPE_F64 + 1];
	unsigned long flags = PROCESS_VM_REDUCE |
			      PROCESS_VM_OP(PROCESS_VM_OP_SUM) |
			      PROCESS_VM_TYPE(type);
	const char *force;
	int path;

	if (!pvm_reduce_size(type))
		return 0;
	path = __atomic_load_n(&known[type], __ATOMIC_RELAXED);
	if (path)
		return path;
	/* First use of @type: the environment, then the documented probe */
	force = getenv("PVM_REDUCE_FALLBACK");
	if (force && *force && strcmp(force, "0"))
		path = PVM_REDUCE_FALLBACK;
	else	/* EFAULT where the flags are supported */
		path = syscall(SYS_process_vm_readv, getpid(), NULL, 1UL, NULL,
			       1UL, flags) == -1 && errno == EFAULT ?
		       PVM_REDUCE_KERNEL : PVM_REDUCE_FALLBACK;
	__atomic_store_n(&known[type], path, __ATOMIC_RELAXED);
	return path;
}

#define PVM_REDUCE_LOOP(T, d, s, n, op)					\
	do {								\
		T *d_ = (T *)(d);					\
		const T *s_ = (const T *)(s);				\
		size_t i_;						\
									\
		switch (op) {						\
		case PROCESS_VM_OP_SUM:					\
			for (i_ = 0; i_ < (n); i_++)			\
				d_[i_] = (T)(d_[i_] + s_[i_]);		\
			break;						\
		case PROCESS_VM_OP_PROD:				\
			for (i_ = 0; i_ < (n); i_++)			\
				d_[i_] = (T)(d_[i_] * s_[i_]);		\
			break;						\
		case PROCESS_VM_OP_MIN:					\
			for (i_ = 0; i_ < (n); i_++)			\
				d_[i_] = d_[i_] < s_[i_] ? d_[i_] : s_[i_]; \
			break;						\
		case PROCESS_VM_OP_MAX:					\
			for (i_ = 0; i_ < (n); i_++)			\
				d_[i_] = d_[i_] > s_[i_] ? d_[i_] : s_[i_]; \
			break;						\
		}							\
	} while (0)

#define PVM_REDUCE_BITS(T, d, s, n, op)					\
	do {								\
		T *d_ = (T *)(d);					\
		const T *s_ = (const T *)(s);				\
		size_t i_;						\
									\
		for (i_ = 0; i_ < (n); i_++)				\
			d_[i_] = op == PROCESS_VM_OP_BAND ? d_[i_] & s_[i_] : \
				 op == PROCESS_VM_OP_BOR ? d_[i_] | s_[i_] : \
				 d_[i_] ^ s_[i_];			\
	} while (0)

/*
 * dst = dst OP src over @bytes in user space.  SUM and PROD of the signed
 * types are computed unsigned (wrapping, never undefined); MIN and MAX
 * with the signed type.
 */
static inline void pvm_reduce_local(void *dst, const void *src, size_t bytes,
				    int op, int type)
{
	size_t n = bytes / pvm_reduce_size(type);
	int arith = op <= PROCESS_VM_OP_PROD, sgn;

	if (op >= PROCESS_VM_OP_BAND) {
		switch (pvm_reduce_size(type)) {
		case 1: PVM_REDUCE_BITS(uint8_t, dst, src, n, op); break;
		case 2: PVM_REDUCE_BITS(uint16_t, dst, src, n, op); break;
		case 4: PVM_REDUCE_BITS(uint32_t, dst, src, n, op); break;
		default: PVM_REDUCE_BITS(uint64_t, dst, src, n, op); break;
		}
		return;
	}
	if (type == PROCESS_VM_TYPE_F32) {
		PVM_REDUCE_LOOP(float, dst, src, n, op);
		return;
	}
	if (type == PROCESS_VM_TYPE_F64) {
		PVM_REDUCE_LOOP(double, dst, src, n, op);
		return;
	}
	/* MIN and MAX of the signed types (odd codes) compare signed */
	sgn = !arith && type % 2;
	switch (pvm_reduce_size(type)) {
	case 1:
		if (sgn)
			PVM_REDUCE_LOOP(int8_t, dst, src, n, op);
		else
			PVM_REDUCE_LOOP(uint8_t, dst, src, n, op);
		break;
	case 2:
		if (op == PROCESS_VM_OP_PROD) {
			/* as int, 65535 * 65535 would overflow */
			uint16_t *d = (uint16_t *)dst;
			const uint16_t *s = (const uint16_t *)src;
			size_t i;

			for (i = 0; i < n; i++)
				d[i] = (uint16_t)((uint32_t)d[i] * s[i]);
		} else if (sgn) {
			PVM_REDUCE_LOOP(int16_t, dst, src, n, op);
		} else {
			PVM_REDUCE_LOOP(uint16_t, dst, src, n, op);
		}
		break;
	case 4:
		if (sgn)
			PVM_REDUCE_LOOP(int32_t, dst, src, n, op);
		else
			PVM_REDUCE_LOOP(uint32_t, dst, src, n, op);
		break;
	default:
		if (sgn)
			PVM_REDUCE_LOOP(int64_t, dst, src, n, op);
		else
			PVM_REDUCE_LOOP(uint64_t, dst, src, n, op);
		break;
	}
}

static inline ssize_t pvm_reduce_call(int write, pid_t pid, void *local,
				      void *remote, size_t len,
				      unsigned long flags)
{
	struct iovec l = { local, len }, r = { remote, len };

	return syscall(write ? SYS_process_vm_writev : SYS_process_vm_readv,
		       (long)pid, &l, 1UL, &r, 1UL, flags);
}

/* The count to return: @done bytes, or -1 (errno kept) if none */
static inline ssize_t pvm_reduce_done(size_t done)
{
	return done ? (ssize_t)done : -1;
}

/*
 * The kernel path: one call, again from where a short one stopped (a
 * short count is a fault, and the next call then reports it as EFAULT).
 */
static inline ssize_t pvm_reduce_kernel(int write, pid_t pid, void *local,
					void *remote, size_t bytes, int op,
					int type)
{
	unsigned long flags = PROCESS_VM_REDUCE | PROCESS_VM_OP(op) |
			      PROCESS_VM_TYPE(type);
	size_t done = 0;

	while (done < bytes) {
		ssize_t n = pvm_reduce_call(write, pid, (char *)local + done,
					    (char *)remote + done,
					    bytes - done, flags);
		if (n <= 0)
			return pvm_reduce_done(done);
		done += n;
	}
	return done;
}

/*
 * The fallback: the peer's bytes through a bounce buffer, a chunk at a
 * time; for reduce_to() the combined chunk is written back.  A short copy
 * counts whole elements only.
 */
static inline ssize_t pvm_reduce_fallback(int write, pid_t pid, void *local,
					  void *remote, size_t bytes, int op,
					  int type)
{
	unsigned int size = pvm_reduce_size(type);
	size_t done = 0;
	void *bounce = malloc(bytes < PVM_REDUCE_CHUNK ? bytes : PVM_REDUCE_CHUNK);

	if (!bounce)
		return -1;
	while (done < bytes) {
		size_t len = bytes - done < PVM_REDUCE_CHUNK ?
			     bytes - done : PVM_REDUCE_CHUNK;
		char *l = (char *)local + done, *r = (char *)remote + done;
		ssize_t n = pvm_reduce_call(0, pid, bounce, r, len, 0);

		if (n > 0)
			n -= n % size;
		if (n <= 0)
			break;
		if (write) {
			pvm_reduce_local(bounce, l, n, op, type);
			n = pvm_reduce_call(1, pid, bounce, r, n, 0);
			if (n > 0)
				n -= n % size;
			if (n <= 0)
				break;
		} else {
			pvm_reduce_local(l, bounce, n, op, type);
		}
		done += n;
		if ((size_t)n < len)
			break;
	}
	free(bounce);
	return pvm_reduce_done(done);
}

static inline ssize_t pvm_reduce(int write, pid_t pid, void *local,
				 void *remote, size_t bytes, int op, int type)
{
	unsigned int size = pvm_reduce_size(type);

	if (!pvm_reduce_valid(op, type) || bytes % size ||
	    (uintptr_t)local % size || (uintptr_t)remote % size) {
		errno = EINVAL;
		return -1;
	}
	if (!bytes)
		return 0;
	if (pvm_reduce_path(type) == PVM_REDUCE_KERNEL)
		return pvm_reduce_kernel(write, pid, local, remote, bytes, op,
					 type);
	return pvm_reduce_fallback(write, pid, local, remote, bytes, op, type);
}

/* local[i] = local[i] OP remote[i], remote in process @pid */
static inline ssize_t reduce_from(pid_t pid, void *local, const void *remote,
				  size_t bytes, int op, int type)
{
	return pvm_reduce(0, pid, local, (void *)remote, bytes, op, type);
}

/* remote[i] = remote[i] OP local[i], remote in process @pid */
static inline ssize_t reduce_to(pid_t pid, void *remote, const void *local,
				size_t bytes, int op, int type)
{
	return pvm_reduce(1, pid, (void *)local, remote, bytes, op, type);
}

#ifdef PVM_REDUCE_POP_OPTIONS
#pragma GCC pop_options
#undef PVM_REDUCE_POP_OPTIONS
#endif

#endif /* PVM_REDUCE_H */
