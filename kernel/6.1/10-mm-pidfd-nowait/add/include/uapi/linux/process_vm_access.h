/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
#ifndef _UAPI_LINUX_PROCESS_VM_ACCESS_H
#define _UAPI_LINUX_PROCESS_VM_ACCESS_H

/*
 * Flags of process_vm_readv() and process_vm_writev().  A kernel rejects
 * every bit it does not know with EINVAL, so a program can probe for one:
 * process_vm_readv(getpid(), NULL, 1, NULL, 1, flag) fails with EFAULT
 * where the flag is supported.  All bits are below 32, for compat callers.
 */
#define PROCESS_VM_PIDFD	(1UL << 0)	/* pid is a pidfd */
#define PROCESS_VM_NOWAIT	(1UL << 1)	/* do not wait to fault remote pages in */
/* bits 2..7 are left to upstream */

/*
 * Element-wise reduction instead of a copy, the destination being the side
 * written: flags = PROCESS_VM_REDUCE | PROCESS_VM_OP(op) | PROCESS_VM_TYPE(t).
 */
#define PROCESS_VM_REDUCE	(1UL << 8)	/* dst = dst OP src, element-wise */
#define PROCESS_VM_OP_SHIFT	12		/* bits 12..15: the operation */
#define PROCESS_VM_TYPE_SHIFT	16		/* bits 16..19: the element type */
#define PROCESS_VM_OP(op)	((unsigned long)(op) << PROCESS_VM_OP_SHIFT)
#define PROCESS_VM_TYPE(t)	((unsigned long)(t) << PROCESS_VM_TYPE_SHIFT)

/* operations; 0 and 8..15 are reserved */
#define PROCESS_VM_OP_SUM	1
#define PROCESS_VM_OP_PROD	2
#define PROCESS_VM_OP_MIN	3
#define PROCESS_VM_OP_MAX	4
#define PROCESS_VM_OP_BAND	5
#define PROCESS_VM_OP_BOR	6
#define PROCESS_VM_OP_BXOR	7

/* element types; 0 and 11..15 are reserved */
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

#endif /* _UAPI_LINUX_PROCESS_VM_ACCESS_H */
