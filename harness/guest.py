"""What runs inside a guest: static programs per ABI, the /plan, the initramfs.

Every program is compiled once per ABI with that ABI's cross compiler and
run in the same boot; the selftests come from the patched tree, so the very
same binaries run on the patched, reference and base kernels.
"""

import glob
import os
import subprocess

from progress import StageError, run, stage

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Yama ptrace_scope 3 cannot be undone before reboot: its programs run
# after every other program of the boot.
RUN_LAST = ('process_vm_yama3',)


def compile_program(cc, src, out, includes=(), static=True):
    """Warning-free build, static unless asked otherwise; skipped when the
    binary is newer than its sources and was built by the same command."""
    sources = [src] + glob.glob(os.path.join(os.path.dirname(src), '*.h'))
    cmd = ([cc] + (['-static'] if static else []) + ['-O2', '-Wall', '-Werror', '-o', out, src]
           + [f'-I{i}' for i in includes] + ['-lpthread'])
    stamp = out + '.cmd'
    if (os.path.exists(out) and os.path.exists(stamp) and open(stamp).read() == ' '.join(cmd)
            and os.path.getmtime(out) >= max(map(os.path.getmtime, sources))):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        raise StageError(f'{cc} could not compile {os.path.relpath(src, TOP)}: {" ".join(cmd)}',
                         detail=res.stderr.rstrip())
    with open(stamp, 'w') as f:
        f.write(' '.join(cmd))
    return out


class Program:
    """One program of the plan: its kind says how the host judges its output
    (selftest: kselftest TAP; tap: plain TAP; probe; fuzz: compared across
    kernels; fuzz_self: compared with the same boot's plain fuzz run;
    reduce_fuzz: judged by its own model, compared across ABIs; exit:
    status 0).  abi "host": a program of the host's root."""

    def __init__(self, abi, name, kind, src=None, includes=(), args=(), path=None):
        self.abi, self.name, self.kind = abi, name, kind
        self.src, self.includes, self.args = src, includes, list(args)
        self.path = path

    def guest_path(self):
        return self.path or f'/tests/{self.abi}/{self.name}'


HOST_BIN = os.path.join(TOP, 'build', 'bin', 'host')


def host_program(src, cc, suffix=''):
    """Compile a client for the host's root (dynamically linked, like any
    Debian program); the guest sees it at the same path over 9p."""
    name = os.path.basename(src)[:-2] + suffix
    return compile_program(cc, src, os.path.join(HOST_BIN, name), static=False)


def each_abi(target, name, kind, src, args=(), includes=()):
    return [Program(abi, name, kind, src, includes, args) for abi in target['abis']]


def native_abi(target, name, kind, src, args=()):
    return [Program(target['abis'][0], name, kind, src, args=args)]


def group_probe(target, kernel, ctx):
    return each_abi(target, 'probe', 'probe', os.path.join(TOP, 'guest/probe.c'))


def group_selftests(target, kernel, ctx):
    suite = sorted(glob.glob(os.path.join(ctx['selftests'], 'process_vm', '*.c')))
    return [prog for src in suite
            for prog in each_abi(target, os.path.basename(src)[:-2], 'selftest', src,
                                 includes=[ctx['selftests'], ctx['uapi']])]


def claims_flags(kernel):
    """The kernels that carry PROCESS_VM_PIDFD and NOWAIT (the whole series):
    a flag test skipped there fails, and the flags' example runs there."""
    return kernel == 'patched'


def group_examples(target, kernel, ctx):
    if kernel == 'base':
        return []
    progs = (each_abi(target, 'man_example', 'exit', ctx['man_example'])
             + each_abi(target, 'cma_demo', 'exit', os.path.join(TOP, 'examples/cma_demo.c')))
    # The MPI_Reduce demo: by the kernel where it reduces, else by the
    # library's fallback (the reference), and by the fallback on demand.
    demo = os.path.join(TOP, 'examples/mpi_reduce.c')
    progs += (each_abi(target, 'mpi_reduce', 'exit', demo, includes=[ctx['uapi']])
              + each_abi(target, 'mpi_reduce_all', 'exit', demo,
                         ('-a', '-k') if claims_flags(kernel) else ('-a',),
                         includes=[ctx['uapi']])
              + each_abi(target, 'mpi_reduce_fallback', 'exit', demo, ('-a', '-f'),
                         includes=[ctx['uapi']]))
    if claims_flags(kernel):
        progs += each_abi(target, 'stack_sampler', 'exit',
                          os.path.join(TOP, 'examples/stack_sampler.c'), includes=[ctx['uapi']])
    return progs


# The differential fuzzer's seed and size: the same on every kernel, since
# its output is compared line by line between them.
FUZZ_ARGS = ('-s', '1', '-n', '10000')
# cma_fuzz -F: the same cases by pidfd, and with PROCESS_VM_NOWAIT.
FUZZ_VARIANTS = ('pidfd', 'nowait')
# reduce_fuzz: judged by its model, its output compared across ABIs.
REDUCE_FUZZ_ARGS = ('-s', '1', '-n', '5000')


def group_fuzz(target, kernel, ctx):
    """The differential fuzzer; on the patched kernel also its runs by pidfd
    and with NOWAIT, each to equal the plain run of the same boot, and the
    REDUCE fuzzer."""
    if kernel == 'base':
        return []
    src = os.path.join(TOP, 'stress/cma_fuzz.c')
    progs = each_abi(target, 'cma_fuzz', 'fuzz', src, FUZZ_ARGS, includes=[ctx['uapi']])
    if claims_flags(kernel):
        for variant in FUZZ_VARIANTS:
            progs += each_abi(target, f'cma_fuzz_{variant}', 'fuzz_self', src,
                              FUZZ_ARGS + ('-F', variant), includes=[ctx['uapi']])
        progs += each_abi(target, 'reduce_fuzz', 'reduce_fuzz',
                          os.path.join(TOP, 'stress/reduce_fuzz.c'), REDUCE_FUZZ_ARGS,
                          includes=[ctx['uapi'], os.path.join(ctx['selftests'], 'process_vm')])
    return progs


def group_side_effects(target, kernel, ctx):
    """What a read does to the target besides moving data, ours against
    the reference's (a table in the README)."""
    if kernel == 'base':
        return []
    return native_abi(target, 'side_effects', 'exit',
                      os.path.join(TOP, 'guest/side_effects.c'))


def group_race(target, kernel, ctx):
    return native_abi(target, 'cma_race', 'exit', os.path.join(TOP, 'stress/cma_race.c'),
                      ('-n', '3000'))


def group_failinj(target, kernel, ctx):
    return native_abi(target, 'cma_failinj', 'exit',
                      os.path.join(TOP, 'stress/cma_failinj.c'))


def group_trinity(target, kernel, ctx):
    script = os.path.join(TOP, 'stress', 'trinity.sh')
    return [Program('host', 'trinity', 'exit', path=script, args=('100000',))]


def group_clients(target, kernel, ctx):
    for src in ('mpi_pingpong.c', 'mpi_alltoall.c'):
        host_program(os.path.join(TOP, 'clients', src), 'mpicc.openmpi')
        host_program(os.path.join(TOP, 'clients', src), 'mpicc.mpich', '.mpich')
    host_program(os.path.join(TOP, 'clients', 'glibc_wrappers.c'), 'gcc')
    script = os.path.join(TOP, 'clients', 'run_clients.sh')
    expect = 'enosys' if kernel == 'base' else 'cma'
    # On the debug kernel the largest UCX and libfabric messages take minutes.
    short = ('short',) if target.get('role') == 'stress' else ()
    return [Program('host', 'clients', 'tap', path=script, args=(HOST_BIN, expect) + short)]


def group_kmemleak(target, kernel, ctx):
    return native_abi(target, 'kmemleak_clear', 'exit',
                      os.path.join(TOP, 'guest/kmemleak.c'), ('clear',))


GROUPS = {'probe': group_probe, 'selftests': group_selftests,
          'examples': group_examples, 'fuzz': group_fuzz, 'race': group_race,
          'side_effects': group_side_effects,
          'failinj': group_failinj, 'trinity': group_trinity,
          'clients': group_clients, 'kmemleak': group_kmemleak}

# What the host needs installed for a group (its programs run from the
# host's root).
GROUP_PACKAGES = {'clients': ['openmpi-bin', 'libopenmpi-dev', 'stress-ng', 'strace',
                              'iproute2', 'ucx-utils', 'libfabric-bin', 'mpich',
                              'libmpich-dev'],
                  'trinity': ['trinity']}


def programs(target, kernel, ctx):
    """The plan for one boot, from the target's list of groups.  Yama
    ptrace_scope 3 programs run after all others; a kmemleak scan, if asked
    for, after those."""
    plan = [prog for group in target['plan'] for prog in GROUPS[group](target, kernel, ctx)]
    last = [prog for prog in plan if prog.name in RUN_LAST]
    plan = [prog for prog in plan if prog.name not in RUN_LAST] + last
    if 'kmemleak' in target['plan']:
        plan += native_abi(target, 'kmemleak_scan', 'exit',
                           os.path.join(TOP, 'guest/kmemleak.c'), ('scan',))
    return plan


def needs_host_root(plan):
    return any(prog.abi == 'host' for prog in plan)


def _cpio_entry(out, ino, name, mode, data=b'', rdev=(0, 0)):
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
              len(name) + 1, 0]
    out.write(b'070701' + b''.join(b'%08X' % f for f in fields))
    out.write(name.encode() + b'\0')
    out.write(b'\0' * (-(110 + len(name) + 1) % 4))
    out.write(data)
    out.write(b'\0' * (-len(data) % 4))


def write_initramfs(path, files):
    """newc cpio from {guest path: (mode, bytes)}, with the dirs and /dev/console."""
    dirs = {'dev', 'proc', 'sys', 'tmp'}
    for name in files:
        parts = name.strip('/').split('/')[:-1]
        dirs.update('/'.join(parts[:i + 1]) for i in range(len(parts)))
    with open(path, 'wb') as out:
        ino = 1
        for d in sorted(dirs):
            _cpio_entry(out, ino, d, 0o040755)
            ino += 1
        _cpio_entry(out, ino, 'dev/console', 0o020600, rdev=(5, 1))
        for name, (mode, data) in sorted(files.items()):
            ino += 1
            _cpio_entry(out, ino, name.strip('/'), 0o100000 | mode, data)
        _cpio_entry(out, 0, 'TRAILER!!!', 0)


def build_initramfs(target, kernel, plan, abis):
    """Compile /init and every program, write the plan, pack them; return the path."""
    path = os.path.join(TOP, 'build', 'bin', f'initramfs-{target["name"]}-{kernel}.cpio')
    with stage('initramfs', f'{target["name"]}/{kernel}: {len(plan)} programs'):
        native_cc = abis[target['abis'][0]]['cc']
        binary = os.path.join(TOP, 'build', 'bin')
        init = compile_program(native_cc, os.path.join(TOP, 'guest/init.c'),
                               os.path.join(binary, target['abis'][0], 'init'))
        files = {'/init': (0o755, open(init, 'rb').read())}
        lines = []
        for prog in plan:
            if prog.abi != 'host':
                out = compile_program(abis[prog.abi]['cc'], prog.src,
                                      os.path.join(binary, prog.abi, prog.name),
                                      includes=prog.includes)
                files[prog.guest_path()] = (0o755, open(out, 'rb').read())
            lines.append(' '.join([prog.abi, prog.name, prog.guest_path()] + prog.args))
        files['/plan'] = (0o644, ('\n'.join(lines) + '\n').encode())
        write_initramfs(path, files)
    return path
