"""Turn a console log into results: TAP per program, the probe, and splats."""

import re

SPLATS = re.compile(
    r'BUG:|WARNING:|Oops|general protection fault|KASAN:|UBSAN:|KFENCE:|'
    r'possible circular locking|possible recursive locking|inconsistent lock state|'
    r'suspicious RCU usage|sleeping function called from invalid context|'
    r'Kernel panic|kernel BUG|unreferenced object|INFO: task .* blocked|'
    r'hung_task|soft lockup|hard LOCKUP|Call Trace:')
# Firmware escape codes can precede the first marker on its line.
BEGIN = re.compile(r'# cma-run: begin (\S+) (\S+)$')
END = re.compile(r'^# cma-run: end (\S+) (\S+) status=(-?\d+)$')
TAP = re.compile(r'^(not ok|ok) \d+ ?(.*?)(?:\s*#\s*(SKIP|skip)\s*(.*))?$')
RUN = re.compile(r'^#\s+RUN\s+(\S+) \.\.\.$')
PROBE = re.compile(r'^cma-probe (.*)$')


class Result:
    def __init__(self, name, status, why=''):
        self.name, self.status, self.why = name, status, why  # pass, fail, skip


def sections(console):
    """{(abi, program): (output lines, exit status or None)}, in order."""
    found, current, lines = {}, None, []
    for line in console.splitlines():
        line = line.rstrip('\r')
        m = BEGIN.search(line)
        if m:
            current, lines = (m.group(1), m.group(2)), []
            found[current] = (lines, None)
            continue
        m = END.match(line)
        if m and current == (m.group(1), m.group(2)):
            found[current] = (lines, int(m.group(3)))
            current = None
            continue
        if current:
            lines.append(line)
    return found


def judge_tap(prefix, lines, status, base):
    """One result per TAP line.  On base, only a skip naming ENOSYS passes."""
    results = []
    running = ''
    for line in lines:
        m = RUN.match(line)
        if m:
            running = m.group(1)
            continue
        m = TAP.match(line)
        if not m:
            continue
        # 6.1's harness leaves the name out of a skip line: take the RUN line's.
        name = f'{prefix}/{m.group(2) if m.group(2) and not m.group(2).startswith("#") else running}'
        skipped = m.group(3) is not None
        if base:
            ok = skipped and 'ENOSYS' in (m.group(4) or '')
            results.append(Result(name, 'pass' if ok else 'fail',
                                  '' if ok else 'base kernel: expected a skip for ENOSYS'))
        elif skipped:
            results.append(Result(name, 'skip', m.group(4)))
        else:
            results.append(Result(name, 'pass' if m.group(1) == 'ok' else 'fail'))
    if not results:
        results.append(Result(prefix, 'fail', 'no TAP results'))
    if status is None:
        results.append(Result(prefix, 'fail', 'did not finish'))
    elif status not in (0, 4):
        results.append(Result(prefix, 'fail', f'exit status {status}'))
    return results


def judge_probe(prefix, lines, base):
    want = 'ENOSYS' if base else 'OK'
    for line in lines:
        m = PROBE.match(line)
        if m:
            pairs = dict(p.split('=', 1) for p in m.group(1).split())
            wrong = [f'{k}={v}' for k, v in pairs.items() if v != want]
            return [Result(prefix, 'fail' if wrong or len(pairs) != 4 else 'pass',
                           f'expected {want}, got {" ".join(wrong)}' if wrong else '')]
    return [Result(prefix, 'fail', 'no probe line')]


def judge(console, plan, kernel_label, base):
    """Results for every program of the plan, plus one for the splat scan."""
    found = sections(console)
    results = []
    for prog in plan:
        prefix = f'{kernel_label}/{prog.abi}/{prog.name}'
        lines, status = found.get((prog.abi, prog.name), ([], None))
        if (prog.abi, prog.name) not in found:
            results.append(Result(prefix, 'fail', 'never started'))
        elif prog.kind == 'tap':
            results.extend(judge_tap(prefix, lines, status, base))
        elif prog.kind == 'probe':
            results.extend(judge_probe(prefix, lines, base))
        else:
            results.append(Result(prefix, 'pass' if status == 0 else 'fail',
                                  '' if status == 0 else f'exit status {status}'))
    splats = [l for l in console.splitlines() if SPLATS.search(l)]
    results.append(Result(f'{kernel_label}/console-splats',
                          'fail' if splats else 'pass',
                          '; '.join(s.strip() for s in splats[:5])))
    return results
