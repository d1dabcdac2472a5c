"""Boot one kernel with its initramfs under QEMU TCG; the console goes to a log."""

import os
import shlex
import subprocess
import time

from progress import StageError, spawn, stage, writable

END_MARKER = '# cma-run: done'
TAIL_LINES = 40


# Two real vcpus: QEMU 7.2 makes "-smp 2" one socket of two cores, which a
# guest without ACPI sees as one cpu.
TWO_CPUS = ['-smp', '2,sockets=2,cores=1,threads=1']


TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The project's directory, for the guest's /init to keep visible when it
# mounts fresh tmpfs over /tmp, /run and /dev/shm of the host's root (a CI
# may have cloned the project under /tmp).
KEEP_TOP = f'cma_top={TOP}'

# The host's root filesystem, read-only, for programs of abi "host".
HOST_ROOT = ['-fsdev', 'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap',
             '-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot']


def numa_nodes(target, cpus):
    """The target's memory split evenly over its NUMA nodes (entry numa),
    every vcpu on the first node, or vcpu i on node i with numa_cpus =
    "spread" (machines whose sockets are nodes)."""
    nodes = target.get('numa', 1)
    if nodes < 2:
        return []
    size = target.get('memory', 2048) // nodes
    ncpus = int(cpus[cpus.index('-smp') + 1].split(',')[0])
    spread = target.get('numa_cpus') == 'spread'
    if spread and ncpus < nodes:
        raise StageError(f'{target["name"]}: {ncpus} vcpus cannot spread over {nodes} '
                         'NUMA nodes', stage='boot')
    placed = {node: [] for node in range(nodes)}
    for cpu in range(ncpus):
        # Contiguous runs of vcpus per node: riscv wants a socket's harts so.
        placed[cpu * nodes // ncpus if spread else 0].append(cpu)
    args = []
    for node in range(nodes):
        args += ['-object', f'memory-backend-ram,id=ram{node},size={size}M',
                 '-numa', f'node,nodeid={node},memdev=ram{node}'
                 + ''.join(f',cpus={cpu}' for cpu in placed[node])]
    return args


def command(target, image, initramfs, cpus, host_root=False):
    append = (f'console={target["console"]} panic=-1 loglevel=5 '
              + target.get('append', '') + (f' {KEEP_TOP}' if host_root else '')).strip()
    return (list(target['qemu'])
            + ['-accel', 'tcg', '-m', str(target.get('memory', 2048))] + cpus
            + numa_nodes(target, cpus)
            + ['-nographic', '-no-reboot', '-kernel', image, '-initrd', initramfs,
               '-append', append] + (HOST_ROOT if host_root else []))


def boot(target, kernel, image, initramfs, log, timeout, cpus=TWO_CPUS, host_root=False):
    """Run the guest to its end; return (console text, problem or None).
    cpus: QEMU's cpu options (the benchmark's icount mode wants one vcpu);
    host_root: share the host's / over virtio-9p."""
    return run_console(command(target, image, initramfs, cpus, host_root),
                       f'{target["name"]}/{kernel}', log, timeout)


def run_console(cmd, label, log, timeout):
    """Run a guest (QEMU or UML) whose console is its stdout, into log; on
    a timeout or a missing end marker, print the console's tail."""
    problem = None
    with stage('boot', f'{label} (console: {log})'):
        with open(writable(log + '.cmd'), 'w') as f:
            f.write(shlex.join(cmd) + '\n')
        start = time.monotonic()
        with open(log, 'w') as out:
            try:
                spawn(cmd, stdin=subprocess.DEVNULL, stdout=out,
                      stderr=subprocess.STDOUT, timeout=timeout)
            except subprocess.TimeoutExpired:
                problem = f'timed out after {timeout} s'
        console = open(log, errors='replace').read()
        if problem is None and END_MARKER not in console:
            problem = (f'guest ended after {time.monotonic() - start:.0f} s '
                       'without reaching its end marker')
    if problem:
        tail = '\n'.join('    ' + l for l in console.splitlines()[-TAIL_LINES:])
        print(f'{label}: {problem}; last {TAIL_LINES} console lines ({log}):\n{tail}',
              flush=True)
    return console, problem
