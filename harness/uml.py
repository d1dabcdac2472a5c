"""Boot a UML kernel: a host process whose root is the host's own, read-only
over hostfs; guest/init.c runs a plan file named on the command line."""

import qemu
from progress import writable

MEMORY = '1536M'


def write_plan(path, plan, binaries):
    """The plan with host paths: UML sees the host's files where they are."""
    with open(writable(path), 'w') as f:
        for prog in plan:
            f.write(' '.join([prog.abi, prog.name, binaries[prog.name]] + prog.args) + '\n')
    return path


def boot(target, kernel, image, init, plan_path, log, timeout):
    """Run UML to its end; return (console text, problem or None)."""
    cmd = [image, f'mem={MEMORY}', 'rootfstype=hostfs', 'rootflags=/', 'ro',
           f'init={init}', f'cma_plan={plan_path}', qemu.KEEP_TOP, 'cma_poweroff=1',
           'con=null', 'con0=null,fd:1', 'loglevel=5']
    return qemu.run_console(cmd, f'{target["name"]}/{kernel}', log, timeout)
