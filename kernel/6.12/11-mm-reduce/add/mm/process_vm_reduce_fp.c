// SPDX-License-Identifier: GPL-2.0
/*
 * PROCESS_VM_REDUCE in floating point: IEEE 754 binary32 and binary64,
 * round to nearest even, no flush-to-zero, exceptions masked.  This is the
 * only file of the feature built with the FPU enabled (CC_FLAGS_FPU: SSE2
 * on x86, hard float on powerpc) and without contraction
 * (-ffp-contract=off), so each element costs exactly one rounded
 * operation, bit-identical to scalar C.  As
 * Documentation/core-api/floating-point.rst asks, it holds only code that
 * runs inside kernel_fpu_begin() and kernel_fpu_end(), which
 * process_vm_reduce.c calls: the loops, and pvm_reduce_fp_mode(), which
 * sets the FPU's mode whatever the caller had set in its own.
 *
 * MIN is dst = (dst < src) ? dst : src and MAX dst = (dst > src) ? dst : src:
 * a NaN in src propagates, a NaN in dst is replaced, and for -0 against +0
 * the result is src, as in Open MPI's out = f(out, in) and x86's MINSD.
 * When both elements of a SUM or PROD are NaN, one of them comes out,
 * quieted; which one is the compiler's and the FPU's choice, as in C.
 */

#include <linux/types.h>

#include "process_vm_reduce.h"

/*
 * Called right after kernel_fpu_begin().  On x86 that has loaded the
 * default MXCSR already: round to nearest, no FTZ/DAZ, exceptions masked.
 * On powerpc it has saved the task's own FP state, FPSCR included, so the
 * FPSCR can be set freely: fields 6 and 7 to 0 mask every exception, turn
 * non-IEEE mode off and round to nearest.
 */
void pvm_reduce_fp_mode(void)
{
#ifdef CONFIG_PPC
	asm volatile("mtfsfi 6,0\n\tmtfsfi 7,0" : : : "memory");
#endif
}

PVM_REDUCE_FN(pvm_sum_f32, float, x + y)
PVM_REDUCE_FN(pvm_prod_f32, float, x * y)
PVM_REDUCE_FN(pvm_min_f32, float, x < y ? x : y)
PVM_REDUCE_FN(pvm_max_f32, float, x > y ? x : y)
PVM_REDUCE_FN(pvm_sum_f64, double, x + y)
PVM_REDUCE_FN(pvm_prod_f64, double, x * y)
PVM_REDUCE_FN(pvm_min_f64, double, x < y ? x : y)
PVM_REDUCE_FN(pvm_max_f64, double, x > y ? x : y)

const pvm_reduce_fn pvm_reduce_fp_fns[2][PROCESS_VM_OP_MAX + 1] = {
	{ NULL, pvm_sum_f32, pvm_prod_f32, pvm_min_f32, pvm_max_f32 },
	{ NULL, pvm_sum_f64, pvm_prod_f64, pvm_min_f64, pvm_max_f64 },
};
