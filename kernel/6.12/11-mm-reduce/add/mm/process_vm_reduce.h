/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PROCESS_VM_REDUCE: the element-wise operations of process_vm_readv() and
 * process_vm_writev(), shared by mm/process_vm_access.c and the files that
 * compute them.
 */
#ifndef _MM_PROCESS_VM_REDUCE_H
#define _MM_PROCESS_VM_REDUCE_H

#include <uapi/linux/process_vm_access.h>
#include <linux/types.h>

/* dst[i] = dst[i] OP src[i] for @n elements */
typedef void (*pvm_reduce_fn)(void *dst, const void *src, size_t n);

/*
 * Defines @name, a pvm_reduce_fn on elements of type @T: dst = @expr, where
 * @expr combines x (the dst element) and y (the src one).  Eight elements a
 * turn: the kernel is built neither to unroll nor to vectorize, and the
 * loop's own increment, compare and branch would cost as much again as an
 * element's load, operation and store.
 */
#define PVM_REDUCE_FN(name, T, expr)					\
static __always_inline void name##_at(void *dst, const void *src,	\
				      size_t i)				\
{									\
	typeof(T) *d = dst;						\
	const typeof(*d) *s = src;					\
	typeof(*d) x = d[i], y = s[i];					\
									\
	d[i] = expr;							\
}									\
									\
static void name(void *dst, const void *src, size_t n)			\
{									\
	size_t i;							\
									\
	for (i = 0; i + 8 <= n; i += 8) {				\
		name##_at(dst, src, i);					\
		name##_at(dst, src, i + 1);				\
		name##_at(dst, src, i + 2);				\
		name##_at(dst, src, i + 3);				\
		name##_at(dst, src, i + 4);				\
		name##_at(dst, src, i + 5);				\
		name##_at(dst, src, i + 6);				\
		name##_at(dst, src, i + 7);				\
	}								\
	for (; i < n; i++)						\
		name##_at(dst, src, i);					\
}

/**
 * struct pvm_reduce - one decoded reduction
 * @fn:		the loop over elements
 * @size:	element size in bytes, a power of two up to 8
 * @fp:		@fn computes in floating point, between kernel_fpu_begin()
 *		and kernel_fpu_end()
 */
struct pvm_reduce {
	pvm_reduce_fn fn;
	unsigned int size;
	bool fp;
};

int pvm_reduce_decode(unsigned long flags, struct pvm_reduce *red);
void pvm_reduce_run(const struct pvm_reduce *red, void *dst, const void *src,
		    size_t bytes);

#ifdef CONFIG_PROCESS_VM_REDUCE_FP
/* In process_vm_reduce_fp.c, for use between kernel_fpu_begin() and _end() */
void pvm_reduce_fp_mode(void);
/* [0] F32, [1] F64; by operation, SUM to MAX */
extern const pvm_reduce_fn pvm_reduce_fp_fns[2][PROCESS_VM_OP_MAX + 1];
#endif

#endif /* _MM_PROCESS_VM_REDUCE_H */
