"""Turn a console log into results: TAP per program, the probe, and splats."""

import re

SPLATS = re.compile(
    r'BUG:|WARNING:|cut here|Oops|general protection fault|KASAN:|UBSAN:|KFENCE:|'
    r'possible circular locking|possible recursive locking|inconsistent lock state|'
    r'suspicious RCU usage|sleeping function called from invalid context|'
    r'Kernel panic|kernel BUG|unreferenced object|INFO: task .* blocked|'
    r'hung_task|soft lockup|hard LOCKUP|detected stall|Call Trace:')
# Kernel notices that print a stack dump but report no fault: since 6.5 GUP
# says (once an hour, mm/gup.c gup_vma_lookup()) that it no longer grows the
# stack, which the selftest below_stack_not_grown provokes on purpose.  The
# notice and its dump_stack() are separate printk()s, so other kernel lines
# can fall between them (the likely cause of a CI failure whose log was not
# kept): the dump excused is the one whose header names the notice's PID,
# within NOTICE_LINES lines of the notice.
NOTICES = re.compile(r'GUP no longer grows the stack in process_vm_test \((\d+)\)')
DUMP_HEADER = re.compile(r'^CPU: \d+ (?:UID: \d+ )?PID: (\d+) ')
NOTICE_LINES = 40
# Firmware escape codes can precede the first marker on its line.
BEGIN = re.compile(r'# cma-run: begin (\S+) (\S+)$')
END = re.compile(r'^# cma-run: end (\S+) (\S+) status=(-?\d+)(?: seconds=(\d+))?$')
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


def durations(console):
    """{(abi, program): seconds} from the end markers."""
    found = {}
    for line in console.splitlines():
        m = END.match(line.rstrip('\r'))
        if m and m.group(4):
            found[(m.group(1), m.group(2))] = int(m.group(4))
    return found


# How process_vm_flags.c skips a test of a flag the kernel rejects.
FLAG_SKIP = 'kernel without the flag'


def judge_tap(prefix, lines, status, base, claims_flags=False):
    """One result per TAP line.  On base, only a skip naming ENOSYS passes;
    on a kernel that claims the flags, a skip for lacking one fails."""
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
        named = m.group(2).lstrip('- ') if m.group(2) else ''
        name = f'{prefix}/{named if named and not named.startswith("#") else running}'
        skipped = m.group(3) is not None
        if base:
            ok = skipped and 'ENOSYS' in (m.group(4) or '')
            results.append(Result(name, 'pass' if ok else 'fail',
                                  '' if ok else 'base kernel: expected a skip for ENOSYS'))
        elif skipped and claims_flags and FLAG_SKIP in (m.group(4) or ''):
            results.append(Result(name, 'fail', f'our kernel claims the flag: {m.group(4)}'))
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


FUZZ_END = re.compile(r'^cma-fuzz: (\d+) cases, seed (\d+), digest ([0-9a-f]+)$')


def judge_fuzz(prefix, lines, status):
    """Each kernel's run must finish cleanly; compare_fuzz() then compares
    the kernels' outputs with each other."""
    done = any(FUZZ_END.match(line) for line in lines)
    ok = status == 0 and done
    return Result(prefix, 'pass' if ok else 'fail',
                  '' if ok else f'exit status {status}, summary line '
                  f'{"present" if done else "missing"}')


def fuzz_cases(lines):
    """{case number: line} of the fuzzer's per-case output."""
    cases = {}
    for line in lines:
        field = line.split(' ', 1)[0]
        if field.isdigit():
            cases[int(field)] = line
    return cases


def fuzz_differ(name, mine, theirs, them, seed=''):
    """One fuzzer output against another, case by case: a Result named name
    (them: how the other run is named in a failure)."""
    a, b = fuzz_cases(mine), fuzz_cases(theirs)
    differ = sorted(n for n in set(a) | set(b) if a.get(n) != b.get(n))
    if not a or not b:
        return Result(name, 'fail', 'no output from one of the runs')
    if differ:
        n = differ[0]
        return Result(name, 'fail', f'{len(differ)} cases differ; first: case {n}{seed}: '
                      f'ours "{a.get(n)}" {them} "{b.get(n)}"')
    return Result(name, 'pass', f'{len(a)} cases identical')


def compare_fuzz(label, ours, reference, plan):
    """The differential check: our kernel's fuzzer output must equal the
    reference kernel's, case by case, for every ABI."""
    return [fuzz_differ(f'{label}/{prog.abi}/{prog.name}-vs-reference',
                        ours.get((prog.abi, prog.name), ([], None))[0],
                        reference.get((prog.abi, prog.name), ([], None))[0],
                        'reference', f' ({" ".join(prog.args)})')
            for prog in plan if prog.kind == 'fuzz']


REDUCE_END = re.compile(r'^reduce-fuzz: (\d+) cases, seed (\d+), digest ([0-9a-f]+), '
                        r'floats ([0-9a-f]+|none), (\d+) mismatches$')


def judge_reduce_fuzz(prefix, lines, status):
    """The REDUCE fuzzer judges itself against its model: a clean finish
    with 0 mismatches; compare_reduce_fuzz() then compares the ABIs."""
    end = next((m for m in map(REDUCE_END.match, lines) if m), None)
    wrong = [l for l in lines if l.startswith('reduce-fuzz: case ')]
    if status == 0 and end and end.group(5) == '0':
        return Result(prefix, 'pass', f'{end.group(1)} cases as the model says')
    return Result(prefix, 'fail', f'exit status {status}, '
                  + (f'{end.group(5)} mismatches' if end else 'summary line missing')
                  + (f'; first: {wrong[0]}' if wrong else ''))


def compare_reduce_fuzz(outputs):
    """The REDUCE fuzzer's output must be the same on every ABI: one digest
    for the cases every kernel computes, one for the float cases where the
    kernel computes floats.  outputs: {label: lines}."""
    digests, floats = {}, {}
    for label, lines in outputs.items():
        end = next((m for m in map(REDUCE_END.match, lines) if m), None)
        if not end:
            continue
        digests.setdefault(end.group(3), []).append(label)
        if end.group(4) != 'none':
            floats.setdefault(end.group(4), []).append(label)
    name = 'reduce_fuzz-across-abis'
    if not digests:
        return Result(name, 'fail', 'no complete run')
    for kind, found in (('integer', digests), ('float', floats)):
        if len(found) > 1:
            return Result(name, 'fail', f'{kind} cases differ: ' + '; '.join(
                f'{d}: {", ".join(ls)}' for d, ls in found.items()))
    runs = sum(len(v) for v in digests.values())
    nfloat = sum(len(v) for v in floats.values())
    return Result(name, 'pass', f'{runs} runs identical, floats computed on {nfloat} of them')


def compare_fuzz_self(prefix, lines, plain):
    """A fuzzer variant (by pidfd, with NOWAIT) against the plain run of the
    same boot: the flags change nothing, case by case."""
    return fuzz_differ(f'{prefix}-vs-flags-0', lines, plain, 'flags 0')


# Programs of kind exit that are examples, not stress: left out of the table.
NOT_STRESS = ('man_example', 'cma_demo', 'kmemleak_clear', 'side_effects', 'mpi_reduce',
              'mpi_reduce_all', 'mpi_reduce_fallback')
# The line each stress program ends with, saying how much it did.
SUMMARY = re.compile(r'^(cma-fuzz|reduce-fuzz|cma-race|cma-failinj|kmemleak|trinity): .*\d')


def summary(prog, lines):
    """How much a program did, in its own words; TAP: how many checks."""
    if prog.kind == 'tap':
        oks = sum(bool(re.match(r'^ok ', l)) for l in lines)
        tests = sum(bool(TAP.match(l)) for l in lines)
        bench = [l[2:] for l in lines if l.startswith('# bench ')]
        return f'{oks} of {tests} checks ok' + ''.join(f'; {b}' for b in bench)
    found = [l for l in lines if SUMMARY.match(l)]
    return found[-1] if found else 'no summary line'


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


def judge(console, plan, kernel_label, base, claims_flags=False):
    """Results for every program of the plan, plus one for the splat scan."""
    found = sections(console)
    results = []
    for prog in plan:
        prefix = f'{kernel_label}/{prog.abi}/{prog.name}'
        lines, status = found.get((prog.abi, prog.name), ([], None))
        if (prog.abi, prog.name) not in found:
            results.append(Result(prefix, 'fail', 'never started'))
        elif prog.kind == 'selftest':
            results.extend(judge_tap(prefix, lines, status, base, claims_flags))
        elif prog.kind == 'tap':
            results.extend(judge_tap(prefix, lines, status, False))
        elif prog.kind == 'fuzz':
            results.append(judge_fuzz(prefix, lines, status))
        elif prog.kind == 'fuzz_self':
            results.append(judge_fuzz(prefix, lines, status))
            plain = found.get((prog.abi, 'cma_fuzz'), ([], None))[0]
            results.append(compare_fuzz_self(prefix, lines, plain))
        elif prog.kind == 'reduce_fuzz':
            results.append(judge_reduce_fuzz(prefix, lines, status))
        elif prog.kind == 'probe':
            results.extend(judge_probe(prefix, lines, base))
        else:
            results.append(Result(prefix, 'pass' if status == 0 else 'fail',
                                  '' if status == 0 else f'exit status {status}'))
    splats = splat_lines(console)
    results.append(Result(f'{kernel_label}/console-splats',
                          'fail' if splats else 'pass',
                          '; '.join(s.strip() for s in splats[:5])))
    return results


def splat_lines(console):
    """The console's splat lines, less the stack dump of a known notice.

    Each is "line N: text", and a bare "Call Trace:" also names the three
    lines before it, so that a failure printed by CI says what the dump was for.
    """
    splats, notices, dumper = [], {}, None
    lines = console.splitlines()
    for i, line in enumerate(lines):
        notice, header = NOTICES.search(line), DUMP_HEADER.search(line)
        if notice:
            notices[notice.group(1)] = i
            continue
        if header:
            dumper = header.group(1)
        # Kernel messages never start with "#"; programs' diagnostics do (TAP).
        if not SPLATS.search(line) or line.lstrip().startswith('#'):
            continue
        if 'Call Trace:' in line and i - notices.get(dumper, -NOTICE_LINES - 1) <= NOTICE_LINES:
            del notices[dumper]
            continue
        text = f'line {i + 1}: {line.strip()}'
        if line.strip() == 'Call Trace:' and i:
            text += ' (after ' + ' | '.join(f'"{b.strip()}"' for b in lines[max(0, i - 3):i]) + ')'
        splats.append(text)
    return splats
