"""Boot a UML kernel: a host process whose root is the host's own, read-only
over hostfs; guest/init.c runs a plan file named on the command line."""

import os
import subprocess
import time

from progress import stage
import qemu

MEMORY = '1536M'


def write_plan(path, plan, binaries):
    """The plan with host paths: UML sees the host's files where they are."""
    with open(path, 'w') as f:
        for prog in plan:
            f.write(' '.join([prog.abi, prog.name, binaries[prog.name]] + prog.args) + '\n')
    return path


def boot(target, kernel, image, init, plan_path, log, timeout):
    """Run UML to its end; return (console text, problem or None)."""
    cmd = [image, f'mem={MEMORY}', 'rootfstype=hostfs', 'rootflags=/', 'ro',
           f'init={init}', f'cma_plan={plan_path}', 'cma_poweroff=1',
           'con=null', 'con0=null,fd:1', 'loglevel=5']
    problem = None
    with stage('boot', f'{target["name"]}/{kernel} (console: {log})'):
        with open(log + '.cmd', 'w') as f:
            f.write(' '.join(cmd) + '\n')
        start = time.monotonic()
        with open(log, 'w') as out:
            try:
                subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.STDOUT, timeout=timeout)
            except subprocess.TimeoutExpired:
                problem = f'timed out after {timeout} s'
        console = open(log, errors='replace').read()
        if problem is None and qemu.END_MARKER not in console:
            problem = (f'UML ended after {time.monotonic() - start:.0f} s '
                       'without reaching its end marker')
    if problem:
        tail = '\n'.join('    ' + l for l in console.splitlines()[-qemu.TAIL_LINES:])
        print(f'{target["name"]}/{kernel}: {problem}; last {qemu.TAIL_LINES} console '
              f'lines ({log}):\n{tail}', flush=True)
    return console, problem
