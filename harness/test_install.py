#!/usr/bin/env python3
"""The install stage on a machine CI never is: a fresh one.

Runs `cma.py install` from a copy of the harness with an empty build/,
with uname, id, dpkg-query and apt-get replaced by stubs on PATH, and checks
what a new user would meet: the logs it creates, the exact apt-get calls,
the one-line errors (apt failing, not root, not x86_64) and that nothing is
written when there is nothing to do.  Seconds, no network, no root needed.

  python3 harness/test_install.py     one line per check, then the totals
"""

import os
import shutil
import subprocess
import sys
import tempfile

from progress import report_checks

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The stubs keep their state in $STUB: "missing" (packages dpkg does not
# have), "calls" (apt-get's argument lists, one per line).
STUBS = {
    'uname': 'echo "${STUB_MACHINE:-x86_64}"\n',
    'id': 'echo "${STUB_UID:-0}"\n',
    'dpkg-query': '''rc=0
for arg; do
	case $arg in -*) continue;; esac
	if grep -qx -- "$arg" "$STUB/missing"; then
		echo "dpkg-query: no packages found matching $arg" >&2; rc=1
	else
		echo "$arg ii "
	fi
done
exit $rc
''',
    'apt-get': '''echo "$*" >> "$STUB/calls"
[ "$1" = update ] && { echo "Hit:1 stub bookworm InRelease"; exit 0; }
if [ -n "$STUB_APT_FAIL" ]; then
	echo "E: Unable to locate package $4"; exit 100
fi
for arg; do
	grep -vx -- "$arg" "$STUB/missing" > "$STUB/missing.new"
	mv "$STUB/missing.new" "$STUB/missing"
done
''',
}
MISSING = ['sparse', 'ccache', 'qemu-system-x86']


class Case:
    """One run of `cma.py install` in a fresh copy of the harness."""

    def __init__(self, work, missing, **env):
        self.project = os.path.join(work, 'project')
        self.stub = os.path.join(work, 'stub')
        for part in ('harness', 'targets'):
            shutil.copytree(os.path.join(TOP, part), os.path.join(self.project, part),
                            ignore=shutil.ignore_patterns('__pycache__'))
        # The kernel lines' data (which source package each needs), not their series
        for line in os.listdir(os.path.join(TOP, 'kernel')):
            os.makedirs(os.path.join(self.project, 'kernel', line))
            shutil.copy(os.path.join(TOP, 'kernel', line, 'line.toml'),
                        os.path.join(self.project, 'kernel', line))
        os.makedirs(self.stub)
        for name, body in STUBS.items():
            path = os.path.join(self.stub, name)
            with open(path, 'w') as f:
                f.write('#!/bin/sh\n' + body)
            os.chmod(path, 0o755)
        with open(os.path.join(self.stub, 'missing'), 'w') as f:
            f.write(''.join(p + '\n' for p in missing))
        full_env = dict(os.environ, STUB=self.stub,
                        PATH=self.stub + os.pathsep + os.environ['PATH'], **env)
        res = subprocess.run([sys.executable, os.path.join(self.project, 'harness', 'cma.py'),
                              'install'], capture_output=True, text=True, env=full_env)
        self.status, self.out, self.err = res.returncode, res.stdout, res.stderr
        calls = os.path.join(self.stub, 'calls')
        self.calls = open(calls).read().splitlines() if os.path.exists(calls) else []
        self.build = os.path.join(self.project, 'build')

    def last_line(self):
        lines = self.err.strip().splitlines()
        return lines[-1] if lines else ''

    def one_line_error(self, *words):
        """Exit 2, no traceback, and a last line naming the stage and the words."""
        line = self.last_line()
        problems = []
        if self.status != 2:
            problems.append(f'exit status {self.status}, want 2')
        if 'Traceback' in self.out + self.err:
            problems.append('printed a traceback')
        if not line.startswith('error: [install] '):
            problems.append(f'last line is "{line}"')
        problems += [f'last line does not name {w}' for w in words if w not in line]
        return problems


def check_missing_installed(work):
    case = Case(work, MISSING)
    apt_log = os.path.join(case.build, 'logs', 'apt.log')
    want = ['update', 'install -y --no-install-recommends ' + ' '.join(sorted(MISSING))]
    problems = []
    if case.status != 0:
        problems.append(f'exit status {case.status}: {case.last_line()}')
    if case.calls != want:
        problems.append(f'apt-get calls {case.calls}, want {want}')
    if not os.path.exists(apt_log):
        problems.append('no build/logs/apt.log')
    elif 'Hit:1 stub' not in open(apt_log).read():
        problems.append('apt-get update output not in build/logs/apt.log')
    return problems


def check_apt_failing(work):
    case = Case(work, MISSING, STUB_APT_FAIL='1')
    log = os.path.join(case.build, 'logs', 'apt.log')
    return case.one_line_error('apt-get', *MISSING, log)


def check_not_root(work):
    case = Case(work, MISSING, STUB_UID='1000')
    return (case.one_line_error('not root', *MISSING) + untouched(case))


def check_not_x86_64(work):
    case = Case(work, [], STUB_MACHINE='aarch64')
    return case.one_line_error('aarch64', 'x86_64') + untouched(case)


def check_nothing_missing(work):
    case = Case(work, [], STUB_UID='1000')
    problems = [] if case.status == 0 else [f'exit status {case.status}: {case.last_line()}']
    return problems + untouched(case)


def untouched(case):
    problems = [f'apt-get was called: {case.calls}'] if case.calls else []
    if os.path.exists(case.build):
        problems.append('build/ was written')
    return problems


CHECKS = [('missing packages: apt-get update once, install exactly them, logs made',
           check_missing_installed),
          ('apt-get failing: one line naming the packages and the log', check_apt_failing),
          ('not root: one line, nothing written, apt-get not run', check_not_root),
          ('not x86_64: one line, nothing written, apt-get not run', check_not_x86_64),
          ('nothing missing: nothing installed, nothing written, root not needed',
           check_nothing_missing)]


def run_checks():
    """[(name, ok, why)] for every check."""
    found = []
    for name, check in CHECKS:
        with tempfile.TemporaryDirectory(prefix='cma-install-test-') as work:
            problems = check(work)
        found.append((name, not problems, '; '.join(problems)))
    return found


if __name__ == '__main__':
    sys.exit(report_checks(run_checks(), 'install'))
