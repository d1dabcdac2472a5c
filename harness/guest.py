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
RUN_LAST = ('cma_yama3',)


def compile_program(cc, src, out, includes=(), log=None):
    """Static, warning-free build; skipped when the binary is newer than its sources."""
    sources = [src] + glob.glob(os.path.join(os.path.dirname(src), '*.h'))
    if (os.path.exists(out) and
            os.path.getmtime(out) >= max(map(os.path.getmtime, sources))):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    cmd = [cc, '-static', '-O2', '-Wall', '-Werror',
           '-o', out, src] + [f'-I{i}' for i in includes] + ['-lpthread']
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        raise StageError(f'compile: {" ".join(cmd)}\n{res.stderr}')
    return out


class Program:
    """One program of the plan: its kind says how the host judges its output."""

    def __init__(self, abi, name, kind, src, includes=(), args=()):
        self.abi, self.name, self.kind = abi, name, kind
        self.src, self.includes, self.args = src, includes, list(args)

    def guest_path(self):
        return f'/tests/{self.abi}/{self.name}'


def programs(abis, kernel, selftests, extracted_example):
    """The plan for one boot: the probe, the selftests, and (not on base) the clients."""
    suite = sorted(glob.glob(os.path.join(selftests, 'cma', '*.c')))
    first, last = [], []
    for abi in abis:
        first.append(Program(abi, 'probe', 'probe', os.path.join(TOP, 'guest/probe.c')))
        for src in suite:
            name = os.path.basename(src)[:-2]
            prog = Program(abi, name, 'tap', src, includes=[selftests])
            (last if name in RUN_LAST else first).append(prog)
        if kernel != 'base':
            first.append(Program(abi, 'man_example', 'exit', extracted_example))
            first.append(Program(abi, 'cma_demo', 'exit',
                                 os.path.join(TOP, 'examples/cma_demo.c')))
    return first + last


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
            out = compile_program(abis[prog.abi]['cc'], prog.src,
                                  os.path.join(binary, prog.abi, prog.name),
                                  includes=prog.includes)
            files[prog.guest_path()] = (0o755, open(out, 'rb').read())
            lines.append(' '.join([prog.abi, prog.name, prog.guest_path()] + prog.args))
        files['/plan'] = (0o644, ('\n'.join(lines) + '\n').encode())
        write_initramfs(path, files)
    return path
