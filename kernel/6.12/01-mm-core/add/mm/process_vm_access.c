// SPDX-License-Identifier: GPL-2.0
/*
 * Cross Memory Attach: process_vm_readv() and process_vm_writev().
 *
 * Copy data directly between the caller's address space and that of
 * another process, described by an iovec array on each side.  A process
 * that may ptrace-attach to the target can thus move a message with one
 * copy, where shared memory needs two; MPI libraries use this for large
 * intra-node messages.
 *
 * The remote pages are pinned in batches with the remote mmap_lock held
 * for reading, and then copied with the lock dropped: that copy may fault
 * on the caller's own memory, and such a fault must never nest inside
 * another mm's mmap_lock.
 */

#include <linux/compat.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/ptrace.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/syscalls.h>
#include <linux/uio.h>

/*
 * Remote pages pinned at once: a small array on the stack, else up to two
 * pages of pointers, and never more than PVM_BATCH_BYTES of memory, since
 * pinning faults the pages in with the remote mmap_lock held.
 */
#define PVM_STACK_PAGES		16
#define PVM_BATCH_BYTES		SZ_4M
#define PVM_MAX_BATCH_PAGES	min_t(unsigned long,			\
				      2 * PAGE_SIZE / sizeof(struct page *), \
				      PVM_BATCH_BYTES >> PAGE_SHIFT)

/**
 * struct pvm_copy - one transfer between the caller and a remote mm
 * @mm:		the remote address space, referenced
 * @iter:	the caller's buffers; it advances as bytes are copied
 * @pages:	array receiving each batch of pinned remote pages
 * @max_pages:	capacity of @pages
 * @gup_flags:	how the remote pages are pinned
 * @write:	true for process_vm_writev(), data flowing into @mm
 */
struct pvm_copy {
	struct mm_struct *mm;
	struct iov_iter *iter;
	struct page **pages;
	unsigned long max_pages;
	unsigned int gup_flags;
	bool write;
};

static unsigned long pvm_span_pages(unsigned long addr, size_t len)
{
	return DIV_ROUND_UP(offset_in_page(addr) + len, PAGE_SIZE);
}

/**
 * pvm_copy_pages() - copy between pinned remote pages and the local iter
 * @pc:		the transfer
 * @offset:	offset of the first byte in the first page
 * @len:	bytes to copy, all within the pinned pages
 *
 * Return: the bytes copied, less than @len only if a local buffer faulted.
 */
static size_t pvm_copy_pages(struct pvm_copy *pc, size_t offset, size_t len)
{
	struct page **page = pc->pages;
	size_t done = 0;

	while (done < len) {
		size_t chunk = min_t(size_t, len - done, PAGE_SIZE - offset);
		size_t copied;

		if (pc->write)
			copied = copy_page_from_iter(*page, offset, chunk, pc->iter);
		else
			copied = copy_page_to_iter(*page, offset, chunk, pc->iter);
		done += copied;
		if (copied < chunk)
			break;
		offset = 0;
		page++;
	}
	return done;
}

/**
 * pvm_copy_batch() - pin, copy and release one batch of remote pages
 * @pc:		the transfer
 * @addr:	remote start address
 * @len:	bytes wanted from @addr, no more than the local iter holds
 *
 * Pins as many pages as the batch array holds, but never more than @len
 * needs, so that no remote page is faulted in that will not be copied.
 *
 * Return: bytes copied, fewer than @len if the pin came back short;
 * -EFAULT if nothing could be pinned or a local buffer faulted (what was
 * copied before the fault stays accounted in the local iter); -EINTR if a
 * fatal signal interrupted the wait for the remote mmap_lock.
 */
static ssize_t pvm_copy_batch(struct pvm_copy *pc, unsigned long addr,
			      size_t len)
{
	unsigned long nr_pages = min(pvm_span_pages(addr, len), pc->max_pages);
	size_t offset = offset_in_page(addr);
	size_t want, done;
	int locked = 1;
	long pinned;

	if (mmap_read_lock_killable(pc->mm))
		return -EINTR;
	pinned = pin_user_pages_remote(pc->mm, addr, nr_pages, pc->gup_flags,
				       pc->pages, &locked);
	if (locked)
		mmap_read_unlock(pc->mm);
	if (pinned <= 0)
		return -EFAULT;

	want = min_t(size_t, len, pinned * PAGE_SIZE - offset);
	done = pvm_copy_pages(pc, offset, want);
	unpin_user_pages_dirty_lock(pc->pages, pinned, pc->write);

	return done < want ? -EFAULT : done;
}

/**
 * pvm_copy_range() - transfer one remote iovec
 * @pc:		the transfer
 * @addr:	remote start address
 * @len:	remote length
 *
 * A short pin is not an error by itself: the next batch starts where it
 * stopped, and fails there if the page really cannot be had.  The range
 * ends early, without error, when the local buffers are full.
 *
 * Return: 0 when the range (or the local room) was used up, else a
 * negative errno; bytes moved before the error stay counted in the iter.
 */
static ssize_t pvm_copy_range(struct pvm_copy *pc, unsigned long addr,
			      size_t len)
{
	while (len && iov_iter_count(pc->iter)) {
		size_t want = min(len, iov_iter_count(pc->iter));
		ssize_t done;

		if (fatal_signal_pending(current))
			return -EINTR;
		done = pvm_copy_batch(pc, addr, want);
		if (done < 0)
			return done;
		addr += done;
		len -= done;
		cond_resched();
	}
	return 0;
}

/*
 * The batch array fits the largest remote iovec, or the local total if
 * that is smaller, up to PVM_MAX_BATCH_PAGES.  Zero means that no remote
 * iovec has a length, and the call has nothing to do.
 */
static unsigned long pvm_batch_pages(const struct iovec *rvec,
				     unsigned long riovcnt, size_t local_len)
{
	unsigned long local_pages = pvm_span_pages(0, local_len) + 1;
	unsigned long nr_pages = 0;
	unsigned long i;

	for (i = 0; i < riovcnt; i++) {
		unsigned long addr = (unsigned long)rvec[i].iov_base;
		size_t len = rvec[i].iov_len;

		if (len)
			nr_pages = max(nr_pages, pvm_span_pages(addr, len));
	}
	return min3(nr_pages, local_pages, PVM_MAX_BATCH_PAGES);
}

/**
 * pvm_rw_mm() - transfer against every remote iovec of a referenced mm
 * @pc:		the transfer, with its mm and page array set up
 * @rvec:	remote iovecs, in kernel memory
 * @riovcnt:	number of remote iovecs
 *
 * Remote iovecs are done in order and the first failure ends the call, so
 * nothing after a bad range is touched.
 *
 * Return: bytes copied if any, else 0 or the first error.
 */
static ssize_t pvm_rw_mm(struct pvm_copy *pc, const struct iovec *rvec,
			 unsigned long riovcnt)
{
	size_t total = iov_iter_count(pc->iter);
	size_t copied;
	unsigned long i;
	ssize_t ret = 0;

	for (i = 0; i < riovcnt && iov_iter_count(pc->iter); i++) {
		ret = pvm_copy_range(pc, (unsigned long)rvec[i].iov_base,
				     rvec[i].iov_len);
		if (ret)
			break;
	}
	copied = total - iov_iter_count(pc->iter);
	return copied ? copied : ret;
}

/**
 * pvm_rw_task() - find the target, check access and transfer
 * @pid:	target process or thread, in the caller's pid namespace
 * @iter:	the caller's buffers, non-empty
 * @rvec:	remote iovecs, in kernel memory
 * @riovcnt:	number of remote iovecs
 * @write:	true for process_vm_writev()
 *
 * Return: bytes copied, or a negative errno.
 */
static ssize_t pvm_rw_task(pid_t pid, struct iov_iter *iter,
			   const struct iovec *rvec, unsigned long riovcnt,
			   bool write)
{
	struct page *pages_on_stack[PVM_STACK_PAGES];
	struct pvm_copy pc = {
		.iter = iter,
		.pages = pages_on_stack,
		.gup_flags = write ? FOLL_WRITE : 0,
		.write = write,
	};
	struct task_struct *task;
	ssize_t ret;

	pc.max_pages = pvm_batch_pages(rvec, riovcnt, iov_iter_count(iter));
	if (!pc.max_pages)
		return 0;
	if (pc.max_pages > PVM_STACK_PAGES) {
		pc.pages = kmalloc_array(pc.max_pages, sizeof(*pc.pages),
					 GFP_KERNEL);
		if (!pc.pages)
			return -ENOMEM;
	}

	task = find_get_task_by_vpid(pid);
	if (!task) {
		ret = -ESRCH;
		goto free_pages;
	}

	/*
	 * mm_access() checks ptrace attach permission and takes the mm under
	 * the target's exec_update_lock, so a concurrent setuid execve()
	 * cannot hand us the new, privileged mm after the check passed on
	 * the old credentials.  Real credentials, as for ptrace() itself.
	 */
	pc.mm = mm_access(task, PTRACE_MODE_ATTACH_REALCREDS);
	if (IS_ERR(pc.mm)) {
		ret = PTR_ERR(pc.mm);
		/* A refused attach is a permission error, as for ptrace(). */
		if (ret == -EACCES)
			ret = -EPERM;
		goto put_task;
	}

	ret = pvm_rw_mm(&pc, rvec, riovcnt);

	mmput(pc.mm);
put_task:
	put_task_struct(task);
free_pages:
	if (pc.pages != pages_on_stack)
		kfree(pc.pages);
	return ret;
}

static ssize_t process_vm_rw(pid_t pid,
			     const struct iovec __user *lvec,
			     unsigned long liovcnt,
			     const struct iovec __user *rvec,
			     unsigned long riovcnt,
			     unsigned long flags, bool write)
{
	struct iovec liov_on_stack[UIO_FASTIOV], riov_on_stack[UIO_FASTIOV];
	struct iovec *liov = liov_on_stack;
	struct iovec *riov;
	struct iov_iter iter;
	ssize_t ret;

	if (flags != 0)
		return -EINVAL;

	/* Compat callers' iovecs are read in their layout on both sides. */
	ret = import_iovec(write ? ITER_SOURCE : ITER_DEST, lvec, liovcnt,
			   ARRAY_SIZE(liov_on_stack), &liov, &iter);
	if (ret <= 0)
		goto free_liov;

	riov = iovec_from_user(rvec, riovcnt, ARRAY_SIZE(riov_on_stack),
			       riov_on_stack, in_compat_syscall());
	if (IS_ERR(riov)) {
		ret = PTR_ERR(riov);
		goto free_liov;
	}

	ret = pvm_rw_task(pid, &iter, riov, riovcnt, write);

	if (riov != riov_on_stack)
		kfree(riov);
free_liov:
	kfree(liov);
	return ret;
}

SYSCALL_DEFINE6(process_vm_readv, pid_t, pid,
		const struct iovec __user *, lvec, unsigned long, liovcnt,
		const struct iovec __user *, rvec, unsigned long, riovcnt,
		unsigned long, flags)
{
	return process_vm_rw(pid, lvec, liovcnt, rvec, riovcnt, flags, false);
}

SYSCALL_DEFINE6(process_vm_writev, pid_t, pid,
		const struct iovec __user *, lvec, unsigned long, liovcnt,
		const struct iovec __user *, rvec, unsigned long, riovcnt,
		unsigned long, flags)
{
	return process_vm_rw(pid, lvec, liovcnt, rvec, riovcnt, flags, true);
}
