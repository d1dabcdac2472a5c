// SPDX-License-Identifier: GPL-2.0
/*
 * PROCESS_VM_REDUCE for process_vm_readv() and process_vm_writev(): the
 * decoding of the flags and the integer operations.  The floating-point
 * ones are in process_vm_reduce_fp.c, the one file built with the FPU
 * enabled, and run only between kernel_fpu_begin() and kernel_fpu_end(),
 * called from here.
 *
 * Integer SUM and PROD wrap: they are computed in an unsigned type at least
 * as wide as int, so that no signed overflow and no promotion to int can
 * happen, and the result is truncated to the element.  MIN and MAX compare
 * in the element's own signedness; the bitwise operations are unsigned.
 */

#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/types.h>
#ifdef CONFIG_PROCESS_VM_REDUCE_FP
#include <linux/cpufeature.h>
#include <linux/fpu.h>
#endif

#include "process_vm_reduce.h"

#ifdef CONFIG_PROCESS_VM_REDUCE_FP
/* The loops are built for SSE2 on x86, where the kernel promises an x87. */
static bool pvm_reduce_fp_usable(void)
{
#ifdef CONFIG_X86
	return boot_cpu_has(X86_FEATURE_XMM2);
#else
	return kernel_fpu_available();
#endif
}
#else
static bool pvm_reduce_fp_usable(void)
{
	return false;
}
#endif

#define PVM_OP_MASK	0xfUL
#define PVM_TYPE_MASK	0xfUL

/*
 * SUM, PROD and the bitwise operations give the same bits signed or
 * unsigned, so they are computed on unsigned elements; a product of 8- or
 * 16-bit elements in u32, since u16 * u16 would overflow int.  MIN and MAX
 * compare in the element's own type.
 */
PVM_REDUCE_FN(pvm_sum_8, u8, x + y)
PVM_REDUCE_FN(pvm_sum_16, u16, x + y)
PVM_REDUCE_FN(pvm_sum_32, u32, x + y)
PVM_REDUCE_FN(pvm_sum_64, u64, x + y)
PVM_REDUCE_FN(pvm_prod_8, u8, (u32)x * y)
PVM_REDUCE_FN(pvm_prod_16, u16, (u32)x * y)
PVM_REDUCE_FN(pvm_prod_32, u32, x * y)
PVM_REDUCE_FN(pvm_prod_64, u64, x * y)
PVM_REDUCE_FN(pvm_band_8, u8, x & y)
PVM_REDUCE_FN(pvm_band_16, u16, x & y)
PVM_REDUCE_FN(pvm_band_32, u32, x & y)
PVM_REDUCE_FN(pvm_band_64, u64, x & y)
PVM_REDUCE_FN(pvm_bor_8, u8, x | y)
PVM_REDUCE_FN(pvm_bor_16, u16, x | y)
PVM_REDUCE_FN(pvm_bor_32, u32, x | y)
PVM_REDUCE_FN(pvm_bor_64, u64, x | y)
PVM_REDUCE_FN(pvm_bxor_8, u8, x ^ y)
PVM_REDUCE_FN(pvm_bxor_16, u16, x ^ y)
PVM_REDUCE_FN(pvm_bxor_32, u32, x ^ y)
PVM_REDUCE_FN(pvm_bxor_64, u64, x ^ y)
PVM_REDUCE_FN(pvm_min_s8, s8, x < y ? x : y)
PVM_REDUCE_FN(pvm_min_u8, u8, x < y ? x : y)
PVM_REDUCE_FN(pvm_min_s16, s16, x < y ? x : y)
PVM_REDUCE_FN(pvm_min_u16, u16, x < y ? x : y)
PVM_REDUCE_FN(pvm_min_s32, s32, x < y ? x : y)
PVM_REDUCE_FN(pvm_min_u32, u32, x < y ? x : y)
PVM_REDUCE_FN(pvm_min_s64, s64, x < y ? x : y)
PVM_REDUCE_FN(pvm_min_u64, u64, x < y ? x : y)
PVM_REDUCE_FN(pvm_max_s8, s8, x > y ? x : y)
PVM_REDUCE_FN(pvm_max_u8, u8, x > y ? x : y)
PVM_REDUCE_FN(pvm_max_s16, s16, x > y ? x : y)
PVM_REDUCE_FN(pvm_max_u16, u16, x > y ? x : y)
PVM_REDUCE_FN(pvm_max_s32, s32, x > y ? x : y)
PVM_REDUCE_FN(pvm_max_u32, u32, x > y ? x : y)
PVM_REDUCE_FN(pvm_max_s64, s64, x > y ? x : y)
PVM_REDUCE_FN(pvm_max_u64, u64, x > y ? x : y)

#define PVM_INT_ROW(bits, type)						\
	{ NULL, pvm_sum_##bits, pvm_prod_##bits, pvm_min_##type,	\
	  pvm_max_##type, pvm_band_##bits, pvm_bor_##bits,		\
	  pvm_bxor_##bits }

/* [type][op], by the PROCESS_VM_TYPE_* and PROCESS_VM_OP_* codes */
static const pvm_reduce_fn pvm_reduce_fns[][PROCESS_VM_OP_BXOR + 1] = {
	[PROCESS_VM_TYPE_S8]	= PVM_INT_ROW(8, s8),
	[PROCESS_VM_TYPE_U8]	= PVM_INT_ROW(8, u8),
	[PROCESS_VM_TYPE_S16]	= PVM_INT_ROW(16, s16),
	[PROCESS_VM_TYPE_U16]	= PVM_INT_ROW(16, u16),
	[PROCESS_VM_TYPE_S32]	= PVM_INT_ROW(32, s32),
	[PROCESS_VM_TYPE_U32]	= PVM_INT_ROW(32, u32),
	[PROCESS_VM_TYPE_S64]	= PVM_INT_ROW(64, s64),
	[PROCESS_VM_TYPE_U64]	= PVM_INT_ROW(64, u64),
};

static const unsigned char pvm_reduce_sizes[] = {
	[PROCESS_VM_TYPE_S8]	= 1,
	[PROCESS_VM_TYPE_U8]	= 1,
	[PROCESS_VM_TYPE_S16]	= 2,
	[PROCESS_VM_TYPE_U16]	= 2,
	[PROCESS_VM_TYPE_S32]	= 4,
	[PROCESS_VM_TYPE_U32]	= 4,
	[PROCESS_VM_TYPE_S64]	= 8,
	[PROCESS_VM_TYPE_U64]	= 8,
	[PROCESS_VM_TYPE_F32]	= 4,
	[PROCESS_VM_TYPE_F64]	= 8,
};

/**
 * pvm_reduce_decode() - decode the reduction fields of @flags
 * @flags:	PROCESS_VM_* flags with no bit outside the known ones, and
 *		PROCESS_VM_REDUCE or its operation or type field set
 * @red:	receives the reduction
 *
 * Return: 0, or -EINVAL for an operation or type field set without
 * PROCESS_VM_REDUCE, a reserved code, or a bitwise operation on a float
 * type, or -EOPNOTSUPP for a float type this kernel cannot compute
 * bit-exactly.
 */
int pvm_reduce_decode(unsigned long flags, struct pvm_reduce *red)
{
	unsigned long op = (flags >> PROCESS_VM_OP_SHIFT) & PVM_OP_MASK;
	unsigned long type = (flags >> PROCESS_VM_TYPE_SHIFT) & PVM_TYPE_MASK;
	bool fp = type == PROCESS_VM_TYPE_F32 || type == PROCESS_VM_TYPE_F64;

	if (!(flags & PROCESS_VM_REDUCE))
		return -EINVAL;
	if (op < PROCESS_VM_OP_SUM || op > PROCESS_VM_OP_BXOR ||
	    type < PROCESS_VM_TYPE_S8 || type > PROCESS_VM_TYPE_F64)
		return -EINVAL;
	if (fp && op >= PROCESS_VM_OP_BAND)
		return -EINVAL;
	if (fp && !pvm_reduce_fp_usable())
		return -EOPNOTSUPP;

#ifdef CONFIG_PROCESS_VM_REDUCE_FP
	if (fp)
		red->fn = pvm_reduce_fp_fns[type - PROCESS_VM_TYPE_F32][op];
	else
#endif
		red->fn = pvm_reduce_fns[type][op];
	red->size = pvm_reduce_sizes[type];
	red->fp = fp;
	return 0;
}

/**
 * pvm_reduce_run() - reduce @bytes of @src into @dst
 * @red:	the reduction
 * @dst:	destination elements, kernel-mapped
 * @src:	source elements, kernel-mapped
 * @bytes:	a multiple of the element size, at most a page, so that the
 *		FPU is held (with preemption off) for at most a page's worth
 */
void pvm_reduce_run(const struct pvm_reduce *red, void *dst, const void *src,
		    size_t bytes)
{
	size_t n = bytes / red->size;

#ifdef CONFIG_PROCESS_VM_REDUCE_FP
	if (red->fp) {
		kernel_fpu_begin();
		pvm_reduce_fp_mode();
		red->fn(dst, src, n);
		kernel_fpu_end();
		return;
	}
#endif
	red->fn(dst, src, n);
}
