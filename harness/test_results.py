#!/usr/bin/env python3
"""The console judge on console shapes the kernels print: which stack dumps
are splats and which are the known GUP notice's own.

Each check feeds results.splat_lines() a console excerpt in the shape a 6.1
or 6.12 kernel prints it (the notice's dump with kernel lines between it
and its notice, a dump of another task after the notice, a second dump, a
far one, an RCU stall, a WARNING) and checks what it reports.  Milliseconds.

  python3 harness/test_results.py     one line per check, then the totals
"""

import sys

import results
from progress import report_checks

NOTICE = ('GUP no longer grows the stack in process_vm_test (317): '
          '7ffc4b4f0000-7ffc4b511000 (7ffc4b4effff)')
HEADER_612 = 'CPU: 0 UID: 0 PID: {pid} Comm: process_vm_test Not tainted 6.12.118+ #3 '
HEADER_61 = 'CPU: 1 PID: {pid} Comm: process_vm_test Not tainted 6.1.192+ #2'
TRACE = ['Call Trace:', ' <TASK>', ' ? 0xffffffff8133c4d6', ' </TASK>']
OTHER = 'clocksource: timekeeping watchdog on CPU1: Marking clocksource \'tsc\' as unstable'


def dump(header, pid):
    return [header.format(pid=pid)] + TRACE


# (name, console lines, how many splats are expected, text one must contain)
CASES = [
    ('notice-dump-excused-6.12', [NOTICE] + dump(HEADER_612, 317), 0, None),
    ('notice-dump-excused-6.1', [NOTICE] + dump(HEADER_61, 317), 0, None),
    ('notice-then-kernel-lines-then-dump', [NOTICE, OTHER, OTHER, 'hrtimer: interrupt took 1 ns']
     + dump(HEADER_612, 317), 0, None),
    ('dump-of-another-task-is-a-splat', [NOTICE] + dump(HEADER_612, 318), 1, 'Call Trace:'),
    ('second-dump-is-a-splat', [NOTICE] + dump(HEADER_612, 317) + dump(HEADER_612, 317), 1,
     'line 8: Call Trace:'),
    ('dump-far-from-notice-is-a-splat', [NOTICE] + [OTHER] * results.NOTICE_LINES
     + dump(HEADER_612, 317), 1, None),
    ('dump-without-notice-names-what-came-before', [OTHER] + dump(HEADER_612, 317), 1,
     '| "CPU: 0 UID: 0 PID: 317'),
    ('rcu-stall-is-a-splat', ['rcu: INFO: rcu_preempt self-detected stall on CPU'], 1,
     'self-detected stall'),
    ('warning-is-a-splat', [NOTICE, 'WARNING: CPU: 0 PID: 317 at mm/gup.c:1 x+0x1/0x2']
     + dump(HEADER_612, 317), 1, 'WARNING:'),
    ('tap-diagnostic-is-not-a-splat', ['# BUG: the test says so'], 0, None),
]


def run_checks():
    """[(name, ok, why)] for every check."""
    found = []
    for name, lines, count, text in CASES:
        splats = results.splat_lines('\n'.join(lines) + '\n')
        problems = []
        if len(splats) != count:
            problems.append(f'{len(splats)} splats, {count} expected: {splats}')
        elif text and not any(text in s for s in splats):
            problems.append(f'no splat says "{text}": {splats}')
        found.append((name, not problems, '; '.join(problems)))
    return found


if __name__ == '__main__':
    sys.exit(report_checks(run_checks(), 'console'))
