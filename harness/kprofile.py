"""make profile: where a small call's instructions go, function by function.

One icount boot per kernel runs bench/profile/call_loop.c, which makes the
same call N times between getppid() markers; QEMU loads the plugin
bench/profile/insn_profile.c, which counts the guest kernel's
instructions per translation block and writes its counts out at each
marker.  The difference between two markers, mapped to functions through
the kernel's System.map and divided by N, is each function's instructions
per call: exact in icount, where one instruction is one nanosecond of
guest time, apart from the timer interrupts that fall into the loop
(spread over N calls).
"""

import bisect
import fnmatch
import glob
import os

import guest
import qemu
from progress import StageError, run, stage

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(TOP, 'bench', 'profile')
ICOUNT = ['-smp', '1', '-icount', 'shift=0,sleep=off']
MARKER = '__x64_sys_getppid'
CALLS = 2000
SPECS = ('r8', 'w8', 'r4096')
TOP_FUNCTIONS = 25
TIMEOUT = 1200


def plugin():
    out = os.path.join(TOP, 'build', 'profile', 'insn_profile.so')
    os.makedirs(os.path.dirname(out), exist_ok=True)
    run(['gcc', '-shared', '-fPIC', '-O2', '-Wall', '-o', out,
         os.path.join(SRC, 'insn_profile.c')], log=out + '.log')
    return out


class Symbols:
    """Text symbols of a System.map: an address to its function."""

    def __init__(self, path):
        pairs = []
        for line in open(path):
            addr, kind, name = line.split()[:3]
            if kind in 'tTwW':
                pairs.append((int(addr, 16), name))
        pairs.sort()
        self.addrs = [a for a, _ in pairs]
        self.names = [n for _, n in pairs]

    def address(self, name):
        try:
            return self.addrs[self.names.index(name)]
        except ValueError as err:
            raise StageError(f'no symbol {name} in the System.map', stage='profile') from err

    def function(self, addr):
        i = bisect.bisect_right(self.addrs, addr) - 1
        return self.names[i] if i >= 0 else '?'


def read_counts(path):
    counts = {}
    for line in open(path):
        addr, insns = line.split()
        counts[int(addr, 16)] = int(insns)
    return counts


def per_function(before, after, symbols, calls):
    """{function: instructions per call} between two snapshots."""
    found = {}
    for addr, insns in after.items():
        delta = insns - before.get(addr, 0)
        if delta:
            name = symbols.function(addr)
            found[name] = found.get(name, 0) + delta
    return {name: insns / calls for name, insns in found.items()}


def profile_kernel(target, abis, kernel, image, system_map, specs, calls):
    """[{function: instructions per call}] per spec, from one boot."""
    symbols = Symbols(system_map)
    out = os.path.join(TOP, 'build', 'profile', kernel)
    for old in glob.glob(out + '.*'):
        os.remove(old)
    plan = [guest.Program(target['abis'][0], 'call_loop', 'exit',
                          os.path.join(SRC, 'call_loop.c'), args=[str(calls)] + list(specs))]
    initramfs = guest.build_initramfs(target, f'profile-{kernel}', plan, abis)
    cmd = (qemu.command(target, image, initramfs, ICOUNT)
           + ['-plugin', f'{plugin()},marker={symbols.address(MARKER):x},out={out}'])
    log = os.path.join(TOP, 'build', 'logs', f'profile-{kernel}.console.log')
    _, problem = qemu.run_console(cmd, f'{target["name"]}/{kernel} profile', log, TIMEOUT)
    if problem:
        raise StageError(f'profile boot of {kernel}: {problem}', log=log)
    snaps = [read_counts(f'{out}.{i}') for i in range(1, len(specs) + 2)
             if os.path.exists(f'{out}.{i}')]
    if len(snaps) != len(specs) + 1:
        raise StageError(f'{kernel}: {len(snaps)} snapshots for {len(specs)} loops (another '
                         f'{MARKER} call in the guest?)', log=log)
    return [per_function(a, b, symbols, calls) for a, b in zip(snaps, snaps[1:])]


# The stages of a call, by the functions that do them (fnmatch patterns,
# first match wins): rcu_read_lock()/unlock() count with the task look-up
# although the VMA look-up takes them too.
STAGES = (
    ('syscall entry and exit', ('entry_*', 'syscall_*', 'do_syscall_64', '*exit_to_user_mode*',
                                'x64_sys_call', '__x64_sys_*', '__ia32_sys_*',
                                'amd_clear_divider')),
    ('importing the iovecs', ('import_iovec', '__import_iovec', 'iovec_from_user',
                              'copy_iovec_from_user', 'iov_iter_init', '_copy_from_user',
                              '__access_ok', 'kfree', 'pvm_read_*iovec', 'pvm_import_*',
                              'import_ubuf')),
    ('task look-up and reference', ('find_get_task_by_vpid', 'find_task_by_*', 'idr_find',
                                    '*radix_tree_*', 'pid_task', 'task_active_pid_ns',
                                    'refcount_*', '__rcu_read_*', '*put_task_struct')),
    ('`mm_access()`: mm reference, ptrace check', ('mm_access', 'get_task_mm', 'mmput',
                                                   '*ptrace_may_access',
                                                   '*ptrace_access_check', 'cap_issubset')),
    ('`exec_update_lock` and `mmap_lock`', ('down_read*', 'up_read', 'rwsem_*')),
    ('VMA look-up (and the per-VMA lock)', (
        'mtree_*', 'mt_find', 'mas_*', 'ma_*', 'mte_*', 'vma_lookup', 'find_vma',
        'find_extend_vma', 'vma_is_secretmem', 'check_vma_flags', 'lock_vma_under_rcu',
        'vma_end_read', 'vma_start_read')),
    ('page walk, page table lock, GUP and unpin', (
        'follow_*', '*get_user_pages*', 'pin_user_pages*', 'try_grab_*', 'pmd_*', 'pud_*',
        'pte_*', '__pte_offset_map*', 'vma_pgtable_walk_*', '*gup_*', 'page_ref_*',
        'protnone_mask', '__nr_to_section', '__pfn_to_section', '*spin_*lock*',
        '__raw_*', 'vm_normal_page', '*mark_*accessed', 'is_zero_page', '_compound_head',
        'unpin_*', '*mod_node_*', 'node_stat_*', 'node_page_state_*', 'folio_put*',
        'mm_set_has_pinned_flag', 'pmdp_*')),
    ('the copy', ('_copy_to_iter', '_copy_from_iter', 'copy_user_*', 'copy_page_*_iter',
                  'rep_movs_alternative',
                  'kmap_local_page', 'page_copy_sane', 'copy_mc_to_kernel',
                  'pvm_direct_copy')),
    ('the call\'s own code', ('process_vm_rw*', 'pvm_*')),
)


def stage_of(name):
    for stage_name, patterns in STAGES:
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            return stage_name
    return 'other (interrupts, resched checks, ...)'


def stage_rows(ours, ref):
    totals = {}
    for which, found in ((0, ours), (1, ref)):
        for name, insns in found.items():
            totals.setdefault(stage_of(name), [0, 0])[which] += insns
    order = [name for name, _ in STAGES] + ['other (interrupts, resched checks, ...)']
    return [f'| {name} | {totals[name][0]:,.0f} | {totals[name][1]:,.0f} |'
            for name in order if name in totals]


def table(spec, ours, ref, pair):
    size = int(spec[1:])
    what = f'{"process_vm_readv" if spec[0] == "r" else "process_vm_writev"} of {size} B'
    names = sorted(set(ours) | set(ref), key=lambda n: -max(ours.get(n, 0), ref.get(n, 0)))
    total_o, total_r = sum(ours.values()), sum(ref.values())
    rows = [f'#### {what}: kernel instructions per call, by function',
            '', f'Total: {pair[0]} {total_o:,.0f}, {pair[1]} {total_r:,.0f} '
            f'(ratio {total_r / total_o:.3f}). The {TOP_FUNCTIONS} largest:', '',
            f'| function | {pair[0]} | {pair[1]} |', '| --- | ---: | ---: |']
    for name in names[:TOP_FUNCTIONS]:
        rows.append(f'| `{name}` | {ours.get(name, 0):,.0f} | {ref.get(name, 0):,.0f} |')
    rows += ['', 'By stage (kprofile.STAGES: each function counted with the stage it serves):',
             '', f'| stage | {pair[0]} | {pair[1]} |', '| --- | ---: | ---: |']
    return '\n'.join(rows + stage_rows(ours, ref)) + '\n'


def profile(target, abis, images, pair, specs=SPECS, calls=CALLS):
    """images: {kernel: (image, System.map)} for the two kernels of pair."""
    with stage('profile', f'{target["name"]}: {calls} calls each of {" ".join(specs)}'):
        found = {kernel: profile_kernel(target, abis, kernel, image, smap, specs, calls)
                 for kernel, (image, smap) in images.items()}
    text = '\n'.join(table(spec, found[pair[0]][i], found[pair[1]][i], pair)
                     for i, spec in enumerate(specs))
    out = os.path.join(TOP, 'build', 'profile', f'{target["name"]}-{pair[0]}-{pair[1]}.md')
    with open(out, 'w') as f:
        f.write(text)
    print(text)
    return text
