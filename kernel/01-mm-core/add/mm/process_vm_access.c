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
 * Remote pages that are already mapped are copied directly under their
 * page table lock, with page faults disabled on the local side; no page
 * is pinned.  Whatever that fast path cannot take (a page not present, a
 * huge or special mapping, a local buffer that would fault) is pinned in
 * batches with the remote mmap_lock held for reading, and then copied with
 * the lock dropped: that copy may fault on the caller's own memory, and
 * such a fault must never nest inside another mm's mmap_lock.
 */

#include <linux/compat.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/ptrace.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/secretmem.h>
#include <linux/slab.h>
#include <linux/syscalls.h>
#include <linux/uio.h>

/* Remote pages pinned at once: a small array on the stack, else two pages. */
#define PVM_STACK_PAGES		16
#define PVM_MAX_BATCH_PAGES	(2 * PAGE_SIZE / sizeof(struct page *))
/* Pages copied under one page table lock hold on the fast path. */
#define PVM_DIRECT_PAGES	64

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

/*
 * The fast path takes only what pinning would surely take, so that it never
 * changes a result: a VMA that pinning accepts without FOLL_FORCE, and for
 * writes only private anonymous memory, whose dirty writable PTE says the
 * page is the process's own and already dirty.
 */
static bool pvm_direct_vma(struct vm_area_struct *vma, bool write)
{
	if (vma->vm_flags & (VM_IO | VM_PFNMAP | VM_HUGETLB) ||
	    vma_is_secretmem(vma))
		return false;
	if (write)
		return (vma->vm_flags & VM_WRITE) && vma_is_anonymous(vma);
	return vma->vm_flags & VM_READ;
}

static struct page *pvm_direct_page(struct vm_area_struct *vma,
				    unsigned long addr, pte_t pte, bool write)
{
	struct page *page;

	if (!pte_present(pte) || pte_protnone(pte))
		return NULL;
	if (write && !(pte_write(pte) && pte_dirty(pte)))
		return NULL;
	page = vm_normal_page(vma, addr, pte);
	if (!page || is_zone_device_page(page))
		return NULL;
	return page;
}

/*
 * Copy with local page faults disabled: under a page table lock the copy
 * must not sleep, and a local fault must not nest inside the remote mm's
 * locks.  A short count hands the rest to the pinning path.  @len stays
 * within @page, or within a lowmem run of one folio for a read (such a
 * run is contiguous in the kernel's map).
 */
static size_t pvm_direct_copy(struct pvm_copy *pc, struct page *page,
			      size_t offset, size_t len)
{
	void *kaddr = kmap_local_page(page);
	size_t copied;

	pagefault_disable();
	if (pc->write)
		copied = copy_from_iter(kaddr + offset, len, pc->iter);
	else
		copied = copy_to_iter(kaddr + offset, len, pc->iter);
	pagefault_enable();
	kunmap_local(kaddr);
	if (pc->write && copied)
		flush_dcache_page(page);
	return copied;
}

/* The PMD entry for @addr, or NULL if a level above it has none. */
static pmd_t *pvm_find_pmd(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;

	if (pgd_none(*pgd) || unlikely(pgd_bad(*pgd)))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d) || unlikely(p4d_bad(*p4d)))
		return NULL;
	pud = pud_offset(p4d, addr);
	if (pud_none(*pud) || unlikely(pud_bad(*pud)))
		return NULL;
	return pmd_offset(pud, addr);
}

#ifdef CONFIG_TRANSPARENT_HUGEPAGE
/*
 * Copy a run of the pages of one folio: in one go for a read from lowmem,
 * else page by page (a write flushes each page, highmem maps each page).
 */
static size_t pvm_direct_run(struct pvm_copy *pc, struct page *page,
			     size_t offset, size_t len)
{
	size_t done = 0;

	if (!pc->write && !PageHighMem(page))
		return pvm_direct_copy(pc, page, offset, len);
	while (done < len) {
		size_t chunk = min(len - done, PAGE_SIZE - offset);
		size_t copied = pvm_direct_copy(pc, page, offset, chunk);

		done += copied;
		if (copied < chunk)
			break;
		page = nth_page(page, 1);
		offset = 0;
	}
	return done;
}

/*
 * Copy [addr, end), within one huge PMD (a THP), under the PMD lock, which
 * keeps the folio mapped; return the bytes copied.
 */
static size_t pvm_direct_huge(struct pvm_copy *pc, pmd_t *pmd,
			      unsigned long addr, unsigned long end)
{
	spinlock_t *ptl = pmd_lock(pc->mm, pmd);
	pmd_t entry = *pmd;
	size_t copied = 0;

	if (pmd_trans_huge(entry) && !pmd_devmap(entry) &&
	    !is_huge_zero_pmd(entry) && !pmd_protnone(entry) &&
	    (!pc->write || (pmd_write(entry) && pmd_dirty(entry)))) {
		struct page *page = nth_page(pmd_page(entry),
					     (addr & ~PMD_MASK) >> PAGE_SHIFT);

		copied = pvm_direct_run(pc, page, offset_in_page(addr),
					end - addr);
	}
	spin_unlock(ptl);
	return copied;
}
#else
static size_t pvm_direct_huge(struct pvm_copy *pc, pmd_t *pmd,
			      unsigned long addr, unsigned long end)
{
	return 0;
}
#endif

/*
 * Copy [addr, end), which lies within one VMA and one PTE table, for as
 * long as its pages qualify; return the bytes copied.  @pmd points to
 * that PTE table: with mmap_lock held for reading it keeps doing so.
 */
static size_t pvm_direct_ptes(struct pvm_copy *pc, struct vm_area_struct *vma,
			      pmd_t *pmd, unsigned long addr, unsigned long end)
{
	unsigned long start = addr;
	spinlock_t *ptl;	/* the PTE table lock, held across the copies */
	pte_t *ptep, *pte;

	ptep = pte_offset_map_lock(pc->mm, pmd, addr, &ptl);
	for (pte = ptep; addr < end; pte++) {
		struct page *page = pvm_direct_page(vma, addr, ptep_get(pte),
						    pc->write);
		size_t chunk = min(end, (addr | ~PAGE_MASK) + 1) - addr;
		size_t copied;

		if (!page)
			break;
		copied = pvm_direct_copy(pc, page, offset_in_page(addr), chunk);
		addr += copied;
		if (copied < chunk)
			break;
	}
	pte_unmap_unlock(ptep, ptl);
	return addr - start;
}

/**
 * pvm_copy_direct() - copy present remote pages without pinning them
 * @pc:		the transfer
 * @addr:	remote start address
 * @len:	bytes wanted, no more than the local iter holds
 *
 * Called with the remote mmap_lock held for reading.  Copies up to a batch
 * worth of pages, at most PVM_DIRECT_PAGES pages per hold of a page table
 * lock (of a PTE table, or of a huge PMD), and stops at the first byte it
 * cannot take.
 *
 * Return: the bytes copied, possibly 0.
 */
static size_t pvm_copy_direct(struct pvm_copy *pc, unsigned long addr,
			      size_t len)
{
	unsigned long end = addr + min_t(size_t, len,
					 pc->max_pages * PAGE_SIZE);
	unsigned long start = addr;
	struct vm_area_struct *vma = NULL;
	pmd_t *pmd, pmdval;

	while (addr < end) {
		unsigned long stop = min3(end, pmd_addr_end(addr, end),
				PAGE_ALIGN(addr + 1) +
				(PVM_DIRECT_PAGES - 1) * PAGE_SIZE);

		if (!vma || addr >= vma->vm_end) {
			vma = vma_lookup(pc->mm, addr);
			if (!vma || !pvm_direct_vma(vma, pc->write))
				break;
		}
		stop = min(stop, vma->vm_end);
		pmd = pvm_find_pmd(pc->mm, addr);
		if (!pmd)
			break;
		/*
		 * One snapshot decides, as in pmd_trans_unstable(): a huge
		 * PMD is rechecked under its lock, and one that points to a
		 * PTE table keeps pointing to it while mmap_lock is held.
		 * Anything else (none, migrating, device) is left to pinning.
		 */
		pmdval = pmd_read_atomic(pmd);
		barrier();
		if (pmd_trans_huge(pmdval))
			addr += pvm_direct_huge(pc, pmd, addr, stop);
		else if (pmd_present(pmdval) && !pmd_devmap(pmdval) &&
			 !pmd_bad(pmdval))
			addr += pvm_direct_ptes(pc, vma, pmd, addr, stop);
		if (addr < stop)
			break;
	}
	return addr - start;
}

/**
 * pvm_copy_batch() - pin, copy and release one batch of remote pages
 * @pc:		the transfer
 * @addr:	remote start address
 * @len:	bytes wanted from @addr, no more than the local iter holds
 *
 * Copies directly what the fast path can take; from the first byte it
 * cannot, pins as many pages as the batch array holds, but never more than
 * @len needs, so that no remote page is faulted in that will not be copied.
 *
 * Return: bytes copied, fewer than @len if the fast path stopped early or
 * the pin came back short; -EFAULT if nothing could be pinned or a local
 * buffer faulted (what was copied before the fault stays accounted in the
 * local iter); -EINTR if a fatal signal interrupted the wait for the
 * remote mmap_lock.
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
	done = pvm_copy_direct(pc, addr, len);
	if (done) {
		mmap_read_unlock(pc->mm);
		return done;
	}
	pinned = pin_user_pages_remote(pc->mm, addr, nr_pages, pc->gup_flags,
				       pc->pages, NULL, &locked);
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
		.gup_flags = FOLL_REMOTE | (write ? FOLL_WRITE : 0),
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
