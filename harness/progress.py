"""One progress line per stage, with its duration; one line for a fatal error.

Every failure a user can meet ends in a single line that names the stage,
the cause and the log to read (`report_failure()`); the lines before it may
show a log's tail.  A Python traceback is a harness bug: it goes to a log
file, and the user still gets the one line.
"""

import os
import subprocess
import sys
import time
import traceback
from contextlib import contextmanager


class StageError(Exception):
    """A stage failed.  cause: one line; log: the file that says more;
    detail: lines worth showing before the error line (a log's tail)."""

    def __init__(self, cause, log=None, detail='', stage=None):
        super().__init__(cause)
        self.cause, self.log, self.detail = cause, log, detail
        self.stage = stage


def writable(path):
    """path, with its directory made: no stage relies on another having
    created the directories it writes to."""
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    return path


@contextmanager
def stage(name, what=''):
    start = time.monotonic()
    print(f'[{name:9}] {what}', flush=True)
    try:
        yield
    except StageError as err:
        err.stage = err.stage or name
        raise
    except subprocess.CalledProcessError as err:
        raise StageError(f'command failed ({err.returncode}): '
                         f'{" ".join(map(str, err.cmd))}') from err
    except OSError as err:
        # No space, no permission (a build/ left by root), a file gone.
        raise StageError(f'{err.filename or ""}: {err.strerror}') from err
    except BaseException as err:
        # A harness bug or an interrupt: remember where, for the one line.
        if not hasattr(err, 'stage'):
            err.stage = name
        raise
    took = time.monotonic() - start
    print(f'[{name:9}] done in {took:.1f} s', flush=True)


def run(cmd, log=None, append=False, **kw):
    """Run a command; with a log, send its output there (after what the log
    holds, with append) and name the log on failure."""
    if log is None:
        try:
            return spawn(cmd, check=True, **kw)
        except subprocess.CalledProcessError as err:
            raise StageError(f'{os.path.basename(cmd[0])} failed (exit status '
                             f'{err.returncode}): {" ".join(map(str, cmd))[:200]}') from err
    with open(writable(log), 'a' if append else 'w') as out:
        res = spawn(cmd, stdout=out, stderr=subprocess.STDOUT, **kw)
    if res.returncode:
        tail = open(log, errors='replace').read().splitlines()[-20:]
        how = (f'killed by signal {-res.returncode}' if res.returncode < 0
               else f'exit status {res.returncode}')
        raise StageError(f'{os.path.basename(cmd[0])} failed ({how}): '
                         f'{" ".join(map(str, cmd))[:200]}', log=log,
                         detail='\n'.join('    ' + line for line in tail))
    return res


def spawn(cmd, **kw):
    """subprocess.run, with a missing program as a StageError."""
    try:
        return subprocess.run(cmd, **kw)
    except FileNotFoundError as err:
        raise StageError(f'{cmd[0]}: command not found') from err


def report_failure(err, logdir):
    """The user's view of any exception that ends the harness: at most a
    tail, then one line.  Returns the exit status."""
    if isinstance(err, StageError):
        if err.detail:
            print(err.detail, file=sys.stderr)
        where = f' (log: {err.log})' if err.log else ''
        print(f'error: [{err.stage or "harness"}] {err.cause}{where}',
              file=sys.stderr, flush=True)
        return 2
    where = getattr(err, 'stage', None) or 'harness'
    if isinstance(err, OSError):
        print(f'error: [{where}] {err.filename or ""}: {err.strerror}', file=sys.stderr,
              flush=True)
        return 2
    if isinstance(err, KeyboardInterrupt):
        print(f'error: [{where}] interrupted', file=sys.stderr, flush=True)
        return 130
    log = os.path.join(logdir, 'harness-traceback.log')
    try:
        with open(writable(log), 'w') as f:
            f.write(''.join(traceback.format_exception(err)))
    except OSError:
        log = 'not written: ' + log
    cause = f'{type(err).__name__}: {err}'.splitlines()[0]
    print(f'error: [{where}] harness bug, {cause} (traceback: {log})',
          file=sys.stderr, flush=True)
    return 3


def report_checks(found, prefix):
    """A harness self-test's [(name, ok, why)], a line each, then the
    closing line; the exit status for them."""
    for name, ok, why in found:
        print(f'{"ok  " if ok else "FAIL"} {prefix}/{name}' + (f'  # {why}' if why else ''))
    failed = sum(not ok for _, ok, _ in found)
    print(f'{len(found) - failed} passed, {failed} failed')
    return 1 if failed else 0
