"""make bench: the same benchmark binary on the patched and the reference
kernel, boots alternating (A B A B ...), per-round ratios, a table and a plot.

Modes (noise measured here, see ../shared/DESIGN.md):
  icount  one vcpu, guest time = instructions executed: deterministic to
          under 1% per boot; the mode for ratio claims about CPU-side work.
  tcg     two real vcpus, real time: contention (N readers of one mm) and
          the pipelined double copy; noisy, only for large effects.
  uml     a UML kernel (target um): copy loops at native speed with real
          caches, syscalls slow; the mode for bandwidth from 64 KiB up.
"""

import os
import shutil
import statistics
import time

import guest
import kbuild
import qemu
import results
import uml
from progress import StageError, run, stage, writable

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = '8,64,512,4K,32K,256K,1M,8M,64M'
MODES = {
    'icount': {
        'about': ('x86_64 guest under QEMU TCG, one vcpu, `-icount shift=0,sleep=off`: '
                  'guest time is instructions executed'),
        'cpus': ['-smp', '1', '-icount', 'shift=0,sleep=off'],
        'rounds': 3,
        'args': ['-s', SIZES, '-t', '4', '-m',
                 'readv_1,writev_1,readv_64,writev_64,readv_1_thp,writev_1_thp,'
                 'shm_double,pipe,vmsplice,proc_mem,memcpy,readv_1_pidfd'],
        # PROCESS_VM_REDUCE against copy-then-reduce (bench/reduce_bench.c).
        'reduce': ['-s', '4K,64K,1M,8M,64M', '-n', '2,4,8', '-t', '5'],
        # Where a small call's time goes, and /proc/PID/mem and
        # PTRACE_PEEKDATA against it (bench/cma_calls.c).
        'calls': ['-s', '8,64,512,4K,64K', '-t', '4'],
    },
    'tcg': {
        'about': ('x86_64 guest under QEMU TCG, two vcpus, real time: noisy, for large '
                  'effects only'),
        'cpus': qemu.TWO_CPUS,
        'rounds': 3,
        'args': ['-s', '4K,256K,1M,8M', '-t', '20', '-r', '2', '-m',
                 'readv_1,shm_double,memcpy,readers'],
        # Open MPI's 8 MiB ping-pong, CMA against none, 3 runs of each.
        'mpi': ['3', '8M'],
        # UCX's get over cma (1 and 8 MiB) and libfabric's shm ping-pong
        # (1 MiB), 3 runs of each (clients/fabric_bench.sh).
        'fabric': ['3'],
        # The target's own mmap/munmap and page-fault latency while 1 and 2
        # readers stream 64 MiB transfers from it (bench/cma_latency.c).
        'latency': ['-r', '0,1,2', '-t', '2000'],
        # A profiler's sweep over 200 targets, one stalling 100 ms on a
        # userfaultfd page, with and without NOWAIT (bench/cma_sweep.c).
        'sweep': [],
    },
    # UML is one CPU, and a process spinning on shared memory waits for a
    # timer tick to let its peer run: shm_double measured 13 MB/s there
    # (and Open MPI's "none" 5 MB/s), the scheduler, not the copy.
    'uml': {
        'about': ('UML kernel (one CPU) as a host process: copy loops at native speed, '
                  'syscalls slow (8 B shows the fixed cost of a call)'),
        'target': 'um',
        'rounds': 7,
        'args': ['-s', '8,64K,256K,1M,8M,64M', '-t', '20', '-m',
                 'readv_1,writev_1,readv_64,writev_64,memcpy'],
        'reduce': ['-s', '4K,64K,1M,8M,64M', '-n', '2,4,8', '-t', '20'],
    },
}
# The 6.12 line: the same icount runs, its patched kernel against its own
# reference.
MODES['icount-6.12'] = dict(MODES['icount'], target='x86_64-6.12', about=(
    'x86_64 guest, Linux 6.12, under QEMU TCG, one vcpu, `-icount shift=0,sleep=off`: '
    'guest time is instructions executed'))
# Per-VMA locking (6.12's patch 12) where it should show: N readers of one
# target, and the target's latency and the readers' throughput while the
# target maps and unmaps.
MODES['tcg-6.12'] = {
    'about': ('x86_64 guest, Linux 6.12, under QEMU TCG, two vcpus, real time: noisy, for '
              'large effects only'),
    'target': 'x86_64-6.12',
    'cpus': qemu.TWO_CPUS,
    'rounds': 3,
    'args': ['-s', '256K,1M,8M', '-t', '20', '-r', '2', '-m', 'readv_1,readers'],
    'latency': ['-r', '0,1,2', '-t', '2000'],
}
# Each mode compares two kernels, ours and another: the patched kernel and
# the reference (upstream's CMA) by default; with --kernels patch-N
# patch-M, the series up to patch N against up to patch M (tree.py), for
# what a patch buys.  The rounds keep them under these two keys either way.
KERNELS = ('patched', 'reference')
BOOT_TIMEOUT = 1800
RETRIES = 3


def images(trees, target, pair):
    """Build both kernels once and keep copies: the boots then alternate
    without switching the work tree between them."""
    out = {}
    for role, kernel in zip(KERNELS, pair):
        image = kbuild.build(target, kernel, trees.checkout(kernel))
        keep = os.path.join(TOP, 'build', 'bench', f'{target["name"]}-{kernel}.image')
        os.makedirs(os.path.dirname(keep), exist_ok=True)
        shutil.copy(image, keep)  # keeps the mode: a UML image is run directly
        out[role] = keep
    return out


def parse(console, plan):
    """{(method, size): ns per op} from one boot's benchmark programs."""
    found = results.sections(console)
    points = {}
    for prog in plan:
        lines, status = found.get((prog.abi, prog.name), ([], None))
        if status != 0:
            raise StageError(f'{prog.name} exited with {status}: ' + ' | '.join(
                l for l in lines if l.startswith('bench-fail'))[:300])
        for line in lines:
            f = line.split()
            if len(f) == 5 and f[0] == 'bench':
                points[(f[1], int(f[2]))] = float(f[3])
    return points


def mode_plan(mode, target, uapi):
    """cma_bench, and the programs of the host's root the mode asks for
    (Open MPI's ping-pong, UCX and libfabric).  uapi: the include directory of the flags' UAPI header."""
    abi = target['abis'][0]
    plan = [guest.Program(abi, 'cma_bench', 'exit', os.path.join(TOP, 'bench', 'cma_bench.c'),
                          includes=[uapi], args=mode['args'])]
    if 'reduce' in mode:
        plan.append(guest.Program(abi, 'reduce_bench', 'exit',
                                  os.path.join(TOP, 'bench', 'reduce_bench.c'),
                                  includes=[uapi], args=mode['reduce']))
    if 'calls' in mode:
        plan.append(guest.Program(abi, 'cma_calls', 'exit',
                                  os.path.join(TOP, 'bench', 'cma_calls.c'),
                                  args=mode['calls']))
    if 'latency' in mode:
        plan.append(guest.Program(abi, 'cma_latency', 'exit',
                                  os.path.join(TOP, 'bench', 'cma_latency.c'),
                                  args=mode['latency']))
    if 'sweep' in mode:
        plan.append(guest.Program(abi, 'cma_sweep', 'exit',
                                  os.path.join(TOP, 'bench', 'cma_sweep.c'),
                                  includes=[uapi], args=mode['sweep']))
    if 'mpi' in mode:
        guest.host_program(os.path.join(TOP, 'clients', 'mpi_pingpong.c'), 'mpicc.openmpi')
        plan.append(guest.Program('host', 'mpi_bench', 'exit',
                                  path=os.path.join(TOP, 'clients', 'mpi_bench.sh'),
                                  args=[guest.HOST_BIN] + mode['mpi']))
    if 'fabric' in mode:
        plan.append(guest.Program('host', 'fabric_bench', 'exit',
                                  path=os.path.join(TOP, 'clients', 'fabric_bench.sh'),
                                  args=mode['fabric']))
    return plan


def uml_plan(plan, abis):
    """UML runs the host's files: /init and the program from build/bin."""
    binaries = {}
    for prog in plan:
        binaries[prog.name] = guest.compile_program(
            abis[prog.abi]['cc'], prog.src, os.path.join(TOP, 'build', 'bin', prog.abi, prog.name),
            includes=prog.includes)
    init = guest.compile_program(abis[plan[0].abi]['cc'], os.path.join(TOP, 'guest/init.c'),
                                 os.path.join(TOP, 'build', 'bin', plan[0].abi, 'init'))
    path = uml.write_plan(os.path.join(TOP, 'build', 'bench', 'uml.plan'), plan, binaries)
    return init, path


def boot_media(target, abis, plan):
    """What a boot of this mode needs besides the kernel, made once per mode:
    UML's /init and plan file on the host, or QEMU's initramfs."""
    if target.get('boot') == 'uml':
        return uml_plan(plan, abis)
    return guest.build_initramfs(target, 'bench', plan, abis)


def boot_once(mode, target, media, plan, kernel, image, log):
    if target.get('boot') == 'uml':
        init, plan_path = media
        return uml.boot(target, kernel, image, init, plan_path, log, BOOT_TIMEOUT)
    return qemu.boot(target, kernel, image, media, log, BOOT_TIMEOUT, cpus=mode['cpus'],
                     host_root=guest.needs_host_root(plan))


def run_mode(name, mode, target, abis, imgs, uapi, pair):
    plan = mode_plan(mode, target, uapi)
    media = boot_media(target, abis, plan)
    rounds = {k: [] for k in KERNELS}
    for r in range(mode['rounds']):
        for kernel in KERNELS:
            label = pair[KERNELS.index(kernel)]
            log = os.path.join(TOP, 'build', 'logs', f'bench-{name}-{label}-{r}.log')
            for _ in range(RETRIES):
                console, problem = boot_once(mode, target, media, plan, label, imgs[kernel],
                                             log)
                if problem:
                    raise StageError(f'{name} {label} round {r}: {problem}', log=log)
                # A guest whose clock came up coarse (its TSC failed
                # calibration under a loaded host) is booted again.
                if 'bench-retry ' not in console:
                    break
                print(f'{name} {label} round {r}: coarse guest clock, booting again')
            else:
                raise StageError(f'{name} {label} round {r}: the guest clock came up coarse '
                                 f'{RETRIES} times', log=log)
            rounds[kernel].append(parse(console, plan))
    return rounds


def ratio_cells(ours, ref, key):
    """Speed ratio ours/reference per round (reference time / our time)."""
    per_round = [b[key] / a[key] for a, b in zip(ours, ref) if key in a and key in b]
    if not per_round:
        return None
    return statistics.median(per_round), min(per_round), max(per_round)


def table(name, rounds, pair=KERNELS):
    ours, ref = rounds['patched'], rounds['reference']
    against = pair[1]
    keys = sorted({k for r in ours for k in r}, key=lambda k: (k[0], k[1]))
    head = 'ours vs reference' if pair == KERNELS else f'{pair[0]} vs {pair[1]}'
    rows = [f'#### {name}: {head}, {len(ours)} rounds, boots alternating',
            '', MODES[name]['about'] + '.', '',
            f'| method | size | {pair[0]} ns/op | {against} ns/op | speed {pair[0]}/{against} '
            '(min–max) |',
            '| --- | --- | ---: | ---: | ---: |']
    data = []
    for key in keys:
        if key[0].startswith(REDUCE_METHODS + CALLS_METHODS):
            continue
        cells = ratio_cells(ours, ref, key)
        if cells is None:
            continue
        o = statistics.median(r[key] for r in ours if key in r)
        f = statistics.median(r[key] for r in ref if key in r)
        rows.append(f'| {key[0]} | {human(key[1])} | {o:,.0f} | {f:,.0f} | '
                    f'{cells[0]:.3f} ({cells[1]:.3f}–{cells[2]:.3f}) |')
        data.append((key, o, f, cells))
    rows += (['', alternatives(ours), ''] + mpi_lines(rounds) + flags_lines(ours)
             + reduce_table(ours) + stages_table(ours, ref, against)
             + instead_table(ours, ref, against))
    return '\n'.join(rows), data


# bench/reduce_bench.c's methods: our kernel's REDUCE against copy-then-reduce.
REDUCE_METHODS = ('reduce_', 'copyred_', 'blocked_')
# bench/cma_calls.c's: stages of a small call, and the alternatives.
CALLS_METHODS = ('stage_', 'alt_', 'sample_')
# A stage's cost is the difference between two calls, the second stopping
# one stage further in (bench/cma_calls.c): (stage, call, earlier call).
STAGES = (
    ('syscall entry and exit (`getppid()`)', 'stage_getppid', None),
    ('flags check (an unknown flag: EINVAL)', 'stage_badflags', 'stage_getppid'),
    ('importing the local iovec (an empty one: returns 0)', 'stage_zerolocal',
     'stage_badflags'),
    ('importing and sizing the remote iovec (an empty one: returns 0)',
     'stage_zeroremote', 'stage_zerolocal'),
    ('task look-up (a pid nobody has: ESRCH)', 'stage_nopid', 'stage_zeroremote'),
    ('task reference, `exec_update_lock`, `get_task_mm()` (kthreadd: ESRCH)',
     'stage_kthread', 'stage_nopid'),
    ('the copy of 1 byte: `mmap_lock`, page walk or GUP, kmap, copy, releases '
     '(own memory)', 'stage_self', 'stage_kthread'),
    ('ptrace access check (another process instead of our own)', 'stage_read',
     'stage_self'),
    ('**the whole 1-byte read**', 'stage_read', 'total'),
    ('8 bytes instead of 1', 'stage_read8', 'stage_read'),
)


def reduce_table(ours):
    """REDUCE against copy-then-reduce (whole, and in 256 KiB blocks) on our
    kernel alone, medians of the rounds: the reference has no REDUCE."""
    points = {k for r in ours for k in r if k[0].startswith('reduce_')}
    if not points:
        return []
    rows = ['Reduce-to-root with `PROCESS_VM_REDUCE` (SUM), our kernel, against what a root '
            'does without it: copy each peer\'s M bytes into a temporary and combine '
            '(copy), or the same in 256 KiB blocks that stay in cache (blocked) '
            '(`bench/reduce_bench.c`, medians of the rounds; ns for the whole reduction '
            'of N ranks, the speed-up is the other method\'s time over REDUCE\'s):', '',
            '| type | N | M per rank | REDUCE ns | copy ns | blocked ns | REDUCE vs copy '
            '| REDUCE vs blocked |',
            '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |']
    for method, size in sorted(points, key=lambda k: (k[0].split('_')[1],
                                                      int(k[0].split('_n')[1]), k[1])):
        _, typ, n = method.split('_')
        red = median_of(ours, (method, size))
        copy = median_of(ours, (f'copyred_{typ}_{n}', size))
        blocked = median_of(ours, (f'blocked_{typ}_{n}', size))
        rows.append(f'| {typ} | {n[1:]} | {human(size)} | {red:,.0f} | '
                    f'{copy or 0:,.0f} | {blocked or 0:,.0f} | '
                    f'{ratio(copy, red)}× | {ratio(blocked, red)}× |')
    return rows + ['']


def flags_lines(ours):
    """Figures of our kernel alone, where the reference has no flags: a read
    by pidfd against the same read by pid, and the profiler's sweep."""
    def med(key):
        return median_of(ours, key)

    sizes = sorted(k[1] for k in {k for r in ours for k in r} if k[0] == 'readv_1_pidfd')
    lines = []
    if sizes:
        lines += ['Reading through a pidfd (`PROCESS_VM_PIDFD`) against by pid, our '
                  'kernel, medians: ' + ', '.join(
                      f'{human(s)} {med(("readv_1_pidfd", s)) / med(("readv_1", s)):.3f}×'
                      for s in sizes if med(('readv_1', s))) + ' the time.', '']
    sweep = {k: med(k) for k in {k for r in ours for k in r} if k[0].startswith('sweep_')}
    if sweep:
        n = next(iter(sweep))[1]
        cell = {k[0]: v / 1e6 for k, v in sweep.items()}
        lines += [f'A sampler sweeping {n} targets through pidfds, one stalling 100 ms on a '
                  'userfaultfd page (`bench/cma_sweep.c`), ms per sweep, medians of the '
                  f'rounds: without NOWAIT p50 {cell["sweep_wait_p50"]:.1f}, p99 '
                  f'{cell["sweep_wait_p99"]:.1f}; with NOWAIT p50 '
                  f'{cell["sweep_nowait_p50"]:.1f}, p99 {cell["sweep_nowait_p99"]:.1f}.', '']
    return lines


def median_of(rounds, key):
    found = [r[key] for r in rounds if key in r]
    return statistics.median(found) if found else None


def method_median(rounds, method):
    """Of a method over all its sizes: for one measured at one size only."""
    found = [v for r in rounds for (m, _), v in r.items() if m == method]
    return statistics.median(found) if found else None


def stages_table(ours, ref, against):
    """Where one small read's time goes, per kernel: the differences of the
    medians of calls that stop one stage apart (bench/cma_calls.c)."""
    def cost(rounds, call, earlier):
        now = method_median(rounds, call)
        if earlier in (None, 'total'):
            return now
        before = method_median(rounds, earlier)
        return None if now is None or before is None else now - before

    if method_median(ours, 'stage_read') is None:
        return []
    rows = ['Where a small read\'s time goes (`bench/cma_calls.c`): each stage is the '
            'difference between the medians of two calls, the second stopping one stage '
            'further into `process_vm_readv()`. In icount mode a call\'s time is its '
            'instruction count, exact for each call; a difference also carries the two '
            'calls\' different ways out (an error return against the next stage\'s '
            'entry), a few dozen instructions.', '',
            f'| stage | ours ns | {against} ns | {against} − ours |',
            '| --- | ---: | ---: | ---: |']
    for what, call, earlier in STAGES:
        o, r = cost(ours, call, earlier), cost(ref, call, earlier)
        cells = [f'{v:,.0f}' if v is not None else 'n/a' for v in (o, r)]
        diff = f'{r - o:,.0f}' if o is not None and r is not None else 'n/a'
        rows.append(f'| {what} | {cells[0]} | {cells[1]} | {diff} |')
    return rows + ['']


def instead_table(ours, ref, against):
    """process_vm_readv() against what a debugger or profiler would use
    instead, on our kernel in the same boot; and a profiler's sample."""
    sizes = sorted({k[1] for r in ours for k in r if k[0] == 'alt_readv'})
    if not sizes:
        return []
    rows = ['What a debugger or profiler would use instead, on our kernel, the target '
            'stopped under ptrace (`bench/cma_calls.c`, ns per read, medians of the '
            'rounds; the fastest in bold):', '',
            f'| size | process_vm_readv | /proc/PID/mem pread | PTRACE_PEEKDATA | '
            f'process_vm_readv on {against} |',
            '| ---: | ---: | ---: | ---: | ---: |']

    def row(label, keys, other):
        vals = [median_of(ours, k) for k in keys]
        best = min(v for v in vals if v is not None)
        cells = [('**{:,.0f}**' if v == best else '{:,.0f}').format(v)
                 if v is not None else 'n/a' for v in vals]
        theirs = median_of(ref, other)
        return (f'| {label} | ' + ' | '.join(cells)
                + (f' | {theirs:,.0f} |' if theirs is not None else ' | n/a |'))

    for size in sizes:
        rows.append(row(human(size), [(m, size) for m in ('alt_readv', 'alt_procmem',
                                                          'alt_peek')],
                        ('alt_readv', size)))
    sample = [median_of(ours, (m, 64)) for m in ('sample_readv', 'sample_batched',
                                                 'sample_procmem', 'sample_peek')]
    if all(sample):
        per_s = [f'{1e9 / v:,.0f}' for v in sample]
        rows += ['', f'A profiler\'s sample, 1,000 reads of 64 B at scattered addresses, '
                 f'samples per second on our kernel: one `process_vm_readv()` per read '
                 f'{per_s[0]}, one call with 1,000 iovec pairs {per_s[1]}, `/proc/PID/mem` '
                 f'{per_s[2]}, `PTRACE_PEEKDATA` {per_s[3]}.']
    return rows + ['']


def mpi_lines(rounds):
    """Open MPI's ping-pong, single copy by CMA against none, per kernel."""
    lines = []
    for kernel in KERNELS:
        sizes = {size for r in rounds[kernel] for (m, size) in r if m == 'openmpi_cma'}
        cma, none = (method_median(rounds[kernel], m) for m in ('openmpi_cma', 'openmpi_none'))
        if cma and none and len(sizes) == 1:
            size = sizes.pop()
            lines.append(f'Open MPI ping-pong, {human(size)} messages, {kernel} kernel: '
                         f'cma {size / cma * 1e3:,.0f} MB/s, none {size / none * 1e3:,.0f} '
                         f'MB/s, cma/none {none / cma:.2f} (median of all runs).')
    return lines + [''] if lines else []


def alternatives(ours):
    """CMA against the double copy and memcpy, on our kernel, per size."""
    rows = ['| size | readv_1 MB/s | CMA / shm double copy | CMA / memcpy |',
            '| --- | ---: | ---: | ---: |']
    sizes = sorted({k[1] for r in ours for k in r if k[0] == 'readv_1'})
    for size in sizes:
        cma, shm, mem = (median_of(ours, (m, size)) for m in ('readv_1', 'shm_double', 'memcpy'))
        if cma:
            rows.append(f'| {human(size)} | {size / cma * 1e3:,.0f} | '
                        f'{ratio(shm, cma)} | {ratio(mem, cma)} |')
    return '\n'.join(rows)


def ratio(other_ns, cma_ns):
    return f'{other_ns / cma_ns:.2f}' if other_ns else 'n/a'


def human(size):
    for unit, div in (('MiB', 1 << 20), ('KiB', 1 << 10)):
        if size >= div and size % div == 0:
            return f'{size // div} {unit}'
    return f'{size} B'


def plot(name, data, out, pair=KERNELS):
    """Speed ratio ours/reference per size, one line per method (gnuplot)."""
    dat = out + '.dat'
    # Latency points are one size each: the table shows them, not the plot.
    methods = sorted({k[0] for k, *_ in data if not k[0].startswith('lat_')})
    with open(writable(dat), 'w') as f:
        for m in methods:
            f.write(f'# {m}\n')
            for (method, size), o, r, cells in data:
                if method == m:
                    f.write(f'{size} {cells[0]} {cells[1]} {cells[2]}\n')
            f.write('\n\n')
    script = (f'set terminal png size 1000,600; set output "{out}"; set logscale x 2; '
              f'set xlabel "transfer size (bytes)"; set ylabel "speed {pair[0]} / {pair[1]}"; '
              f'set title "{name}: {pair[0]} vs {pair[1]} (median of rounds)"; '
              f'set key outside; set grid; '
              'plot ' + ', '.join(f'"{dat}" index {i} using 1:2 with linespoints title "{m}"'
                                  for i, m in enumerate(methods)))
    run(['gnuplot', '-e', script], log=out + '.gnuplot.log')


def bench(trees_of, targets, abis, modes, uapi, pair=KERNELS):
    """trees_of(line): the prepared trees of a kernel line; pair: the two
    kernels, ours first (KERNELS)."""
    start = time.monotonic()
    imgs = {}
    outdir = os.path.join(TOP, 'build', 'bench')
    report = [f'### Measured {time.strftime("%Y-%m-%d")}, x86_64 guests under QEMU TCG '
              f'and UML on a {os.cpu_count()}-core host', '']
    for name in modes:
        target = targets[MODES[name].get('target', 'x86_64')]
        if target['name'] not in imgs:
            imgs[target['name']] = images(trees_of(target['line']), target, pair)
        with stage('bench', f'{name}: {MODES[name]["rounds"]} rounds x {", ".join(pair)}'):
            rounds = run_mode(name, MODES[name], target, abis, imgs[target['name']], uapi,
                              pair)
        text, data = table(name, rounds, pair)
        suffix = '' if pair == KERNELS else f'-{pair[0]}-vs-{pair[1]}'
        png = os.path.join(outdir, f'{name}{suffix}.png')
        plot(name, data, png, pair)
        report += [text, f'Plot: `build/bench/{name}{suffix}.png`', '']
    option = '' if pair == KERNELS else f' --kernels {" ".join(pair)}'
    report.append(f'`make bench -m {" ".join(modes)}{option}` took '
                  f'{(time.monotonic() - start) / 60:.0f} minutes.')
    text = '\n'.join(report)
    print(text)
    return text
