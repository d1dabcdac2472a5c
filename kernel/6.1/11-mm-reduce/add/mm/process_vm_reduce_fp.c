// SPDX-License-Identifier: GPL-2.0
/*
 * PROCESS_VM_REDUCE in floating point: IEEE 754 binary32 and binary64,
 * round to nearest even, no flush-to-zero, exceptions masked.  This is the
 * only file of the feature built with the FPU enabled (SSE2 on x86, hard
 * float on powerpc) and without contraction (-ffp-contract=off), so each
 * element costs exactly one rounded operation, bit-identical to scalar C.
 * Its loops run only between pvm_reduce_fp_begin() and pvm_reduce_fp_end(),
 * which also set the FPU's mode, whatever the caller had set in its own.
 *
 * MIN is dst = (dst < src) ? dst : src and MAX dst = (dst > src) ? dst : src:
 * a NaN in src propagates, a NaN in dst is replaced, and for -0 against +0
 * the result is src, as in Open MPI's out = f(out, in) and x86's MINSD.
 * When both elements of a SUM or PROD are NaN, one of them comes out,
 * quieted; which one is the compiler's and the FPU's choice, as in C.
 */

#include <linux/cpufeature.h>
#include <linux/preempt.h>
#include <linux/types.h>

#ifdef CONFIG_X86
#include <asm/fpu/api.h>
#endif
#ifdef CONFIG_PPC_FPU
#include <asm/switch_to.h>
#endif

#include "process_vm_reduce.h"

#ifdef CONFIG_X86
bool pvm_reduce_fp_usable(void)
{
	return boot_cpu_has(X86_FEATURE_XMM2);
}

/* kernel_fpu_begin() loads the default MXCSR: round to nearest, no FTZ/DAZ. */
void pvm_reduce_fp_begin(void)
{
	kernel_fpu_begin();
}

void pvm_reduce_fp_end(void)
{
	kernel_fpu_end();
}
#endif /* CONFIG_X86 */

#ifdef CONFIG_PPC_FPU
bool pvm_reduce_fp_usable(void)
{
	return true;
}

/*
 * enable_kernel_fp() saves the task's own FP state, FPSCR included, so the
 * FPSCR can then be set freely: fields 6 and 7 to 0 mask every exception,
 * turn non-IEEE mode off and round to nearest.
 */
void pvm_reduce_fp_begin(void)
{
	preempt_disable();
	enable_kernel_fp();
	asm volatile("mtfsfi 6,0\n\tmtfsfi 7,0" : : : "memory");
}

void pvm_reduce_fp_end(void)
{
	disable_kernel_fp();
	preempt_enable();
}
#endif /* CONFIG_PPC_FPU */

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
