"""One progress line per stage, with its duration; one line for a fatal error."""

import subprocess
import time
from contextlib import contextmanager


class StageError(Exception):
    """A stage failed: the message names the stage, the cause and the log."""


@contextmanager
def stage(name, what=''):
    start = time.monotonic()
    print(f'[{name:9}] {what}', flush=True)
    try:
        yield
    except StageError:
        raise
    except subprocess.CalledProcessError as err:
        raise StageError(f'{name}: command failed ({err.returncode}): '
                         f'{" ".join(map(str, err.cmd))}') from err
    took = time.monotonic() - start
    print(f'[{name:9}] done in {took:.1f} s', flush=True)


def run(cmd, log=None, **kw):
    """Run a command; with a log, send its output there and name the log on failure."""
    if log is None:
        return subprocess.run(cmd, check=True, **kw)
    with open(log, 'w') as out:
        res = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, **kw)
    if res.returncode:
        tail = open(log, errors='replace').read().splitlines()[-20:]
        raise StageError(f'command failed ({res.returncode}): {" ".join(map(str, cmd))}\n'
                         + '\n'.join('    ' + l for l in tail) + f'\n  full log: {log}')
    return res

