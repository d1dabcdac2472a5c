"""Boot one kernel with its initramfs under QEMU TCG; the console goes to a log."""

import os
import shlex
import subprocess
import time

from progress import stage

END_MARKER = '# cma-run: done'
TAIL_LINES = 40


def command(target, image, initramfs, extra_append=''):
    append = (f'console={target["console"]} panic=-1 loglevel=5 '
              + target.get('append', '') + ' ' + extra_append).strip()
    return (list(target['qemu'])
            + ['-accel', 'tcg', '-m', str(target.get('memory', 2048)),
               '-smp', '2,sockets=2,cores=1,threads=1',
               '-nographic', '-no-reboot', '-kernel', image, '-initrd', initramfs,
               '-append', append])


def boot(target, kernel, image, initramfs, log, timeout):
    """Run the guest to its end; return (console text, problem or None)."""
    cmd = command(target, image, initramfs)
    problem = None
    with stage('boot', f'{target["name"]}/{kernel} (console: {log})'):
        with open(log + '.cmd', 'w') as f:
            f.write(shlex.join(cmd) + '\n')
        start = time.monotonic()
        with open(log, 'w') as out:
            try:
                subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.STDOUT, timeout=timeout)
            except subprocess.TimeoutExpired:
                problem = f'timed out after {timeout} s'
        console = open(log, errors='replace').read()
        if problem is None and END_MARKER not in console:
            problem = (f'guest ended after {time.monotonic() - start:.0f} s '
                       'without reaching its end marker')
    if problem:
        tail = '\n'.join('    ' + l for l in console.splitlines()[-TAIL_LINES:])
        print(f'{target["name"]}/{kernel}: {problem}; last {TAIL_LINES} console '
              f'lines ({log}):\n{tail}', flush=True)
    return console, problem
