#!/usr/bin/env python3
"""Build, boot and test Cross Memory Attach kernels.

  cma.py demo                   patched x86_64 kernel, boot, run the demo
  cma.py check [--quick] [-t T] every target: patched, reference and base
  cma.py patches                the series as git format-patch files
  cma.py install                every Debian package any command needs
  cma.py profile [-n N] [SPEC...] kernel instructions per call, by function
  cma.py bench [-m MODE...] [--kernels A B]
                                patched vs reference (or patch-N vs patch-M:
                                the series up to patch N), boots alternating
"""

import argparse
import os
import re
import shutil
import sys
import time
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench  # noqa: E402
import kprofile  # noqa: E402
import deps  # noqa: E402
import guest  # noqa: E402
import kbuild  # noqa: E402
import lines  # noqa: E402
import qemu  # noqa: E402
import quality  # noqa: E402
import results  # noqa: E402
import test_install  # noqa: E402
import test_results  # noqa: E402
import tree  # noqa: E402
from progress import StageError, report_failure, run, stage, writable  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGS = os.path.join(TOP, 'build', 'logs')
BOOT_TIMEOUT = 1200
BENCH_PACKAGES = ['gnuplot-nox']


TARGET_KEYS = ('arch', 'cross', 'fragments', 'image', 'abis', 'plan', 'packages')


def load_targets():
    path = os.path.join(TOP, 'targets', 'targets.toml')
    try:
        with open(path, 'rb') as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise StageError(f'{path}: {err}', stage='targets') from err
    entries = data.get('target', {})

    def resolved(name, seen=()):
        """"like": a variant of another target (itself maybe a variant),
        naming only what differs."""
        entry = entries[name]
        if 'like' not in entry:
            return dict(entry)
        if entry['like'] not in entries or entry['like'] in seen:
            raise StageError(f'{path}: target {name} is like {entry["like"]}, which is '
                             'not a target', stage='targets')
        return dict(resolved(entry['like'], seen + (name,)), **entry)

    targets = {}
    for name in entries:
        target = resolved(name)
        target['name'] = name
        target.setdefault('kernels', list(tree.DEFAULT_KERNELS))
        target.setdefault('line', lines.DEFAULT)
        missing = [k for k in TARGET_KEYS if k not in target]
        if missing:
            raise StageError(f'{path}: target {name} lacks {", ".join(missing)}',
                             stage='targets')
        targets[name] = target
    for target in targets.values():
        # Whose reference kernel judges this target's fuzzer: its own, else
        # that of the first target of its line, arch and ABIs that has one
        # (the debug targets have none).
        target['reference_target'] = next(
            (t['name'] for t in [target] + list(targets.values())
             if 'reference' in t['kernels'] and t['line'] == target['line']
             and t['arch'] == target['arch'] and t['abis'] == target['abis']), None)
    return data.get('abi', {}), targets


def packages(abis, targets):
    wanted = [lines.load(lines.DEFAULT)['package']]  # the selftests' tree
    for target in targets:
        wanted += target['packages'] + [lines.load(target['line'])['package']]
        for abi in target['abis']:
            wanted += abis[abi]['packages']
        for group in target['plan']:
            wanted += guest.GROUP_PACKAGES.get(group, [])
    return wanted


def man_example():
    out = os.path.join(TOP, 'build', 'bin', 'man_example.c')
    page = os.path.join(TOP, 'man', 'process_vm_readv.2')
    os.makedirs(os.path.dirname(out), exist_ok=True)
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(page):
        run(['sh', os.path.join(TOP, 'man', 'extract-example.sh'), page, out])
    return out


# The UAPI header of the flags, exported beside the selftests: an include
# directory holding just it, as kselftest's KHDR_INCLUDES would provide it.
UAPI_HEADER = 'include/uapi/linux/process_vm_access.h'
UAPI_DIR = os.path.join(TOP, 'build', 'selftests', 'include', 'uapi')


_TREES = {}


def trees_of(line=lines.DEFAULT):
    """The kernel trees of a line, made current once per command."""
    if line not in _TREES:
        trees = tree.Trees(TOP, line)
        trees.prepare()
        _TREES[line] = trees
    return _TREES[line]


def selftests():
    """The default line's patched selftests, the same binaries for every
    kernel of every line."""
    dest = os.path.join(TOP, 'build', 'selftests')
    trees_of().export('patched', ['tools/testing/selftests/process_vm',
                             'tools/testing/selftests/kselftest.h',
                             'tools/testing/selftests/kselftest_harness.h',
                             UAPI_HEADER], dest)
    return os.path.join(dest, 'tools/testing/selftests')


class Run:
    """One boot (label target/kernel), or a host-side set of checks (label
    review, differential): its results, log and plan."""

    def __init__(self, target, kernel, plan, found, log, label=None):
        self.target, self.kernel, self.plan = target, kernel, plan
        self.label = label or f'{target["name"]}/{kernel}'
        self.found, self.log = found, log

    def sections(self):
        return results.sections(open(self.log, errors='replace').read())


def boot_and_judge(trees, abis, target, kernel, plan=None):
    """Build one kernel, boot it with its plan; return its Run."""
    src = trees.checkout(kernel)
    image = kbuild.build(target, kernel, src)
    if plan is None:
        with stage('programs', f'{target["name"]}/{kernel}: the plan'):
            ctx = {'selftests': selftests(), 'man_example': man_example(),
                   'uapi': UAPI_DIR}
            plan = guest.programs(target, kernel, ctx)
    initramfs = guest.build_initramfs(target, kernel, plan, abis)
    log = os.path.join(LOGS, f'{target["name"]}-{kernel}.console.log')
    console, problem = qemu.boot(target, kernel, image, initramfs, log,
                                 target.get('timeout', BOOT_TIMEOUT),
                                 host_root=guest.needs_host_root(plan))
    label = f'{target["name"]}/{kernel}'
    found = results.judge(console, plan, label, kernel == 'base',
                          claims_flags=guest.claims_flags(kernel))
    if problem:
        found.append(results.Result(f'{label}/boot', 'fail', problem))
    return Run(target, kernel, plan, found, log)


# What the differential's reference output depends on besides the kernel.
FUZZER_SOURCES = ('stress/cma_fuzz.c', 'stress/rng.h', 'harness/guest.py')


def complete_log(log):
    """A console log of a boot that reached its end."""
    return os.path.exists(log) and qemu.END_MARKER in open(log, errors='replace').read()


def reference_of(target):
    """The target whose reference kernel judges this one's fuzzer (set by
    load_targets())."""
    return target.get('reference_target')


def earlier_references(abis, runs, targets):
    """For a target booted without its reference kernel (make stress, or a
    run of some kernels only): the reference run of the last make check,
    from its log, if that log is newer than the fuzzer; else (a fresh
    machine, a changed fuzzer) the reference kernel booted here with the
    fuzzer alone."""
    found = []
    booted = {run_.label for run_ in runs}
    for run_ in runs:
        like = reference_of(run_.target) if run_.target else None
        if not like or f'{like}/reference' in booted:
            continue
        booted.add(f'{like}/reference')
        log = os.path.join(LOGS, f'{like}-reference.console.log')
        if complete_log(log) and os.path.getmtime(log) > max(
                os.path.getmtime(os.path.join(TOP, p)) for p in FUZZER_SOURCES):
            found.append(Run(targets[like], 'reference', [], [], log))
        else:
            plan = guest.group_fuzz(targets[like], 'reference', {'uapi': UAPI_DIR})
            found.append(boot_and_judge(trees_of(targets[like]['line']), abis, targets[like],
                                        'reference', plan))
    return found


def differential(runs):
    """Every fuzzer run on one of our kernels against the reference kernel's
    run of the same target (or of the target it is a variant of)."""
    reference = {run.target['name']: run for run in runs if run.kernel == 'reference'}
    found = []
    for run in runs:
        if run.kernel == 'reference' or not any(p.kind == 'fuzz' for p in run.plan):
            continue
        ref = reference.get(reference_of(run.target))
        if ref is None:
            continue
        found += results.compare_fuzz(run.label, run.sections(), ref.sections(), run.plan)
    return found + reduce_across_abis(runs)


def reduce_across_abis(runs):
    """The REDUCE fuzzer's runs on every ABI of every target booted, with
    each other (there is no reference kernel to compare with)."""
    outputs = {f'{run.label}/{prog.abi}': run.sections().get((prog.abi, prog.name), ([], None))[0]
               for run in runs for prog in run.plan if prog.kind == 'reduce_fuzz'}
    return [results.compare_reduce_fuzz(outputs)] if outputs else []


def report(runs):
    """One line per test, one per kernel, then the closing line; True if all passed."""
    totals = {'pass': 0, 'fail': 0, 'skip': 0}
    word = {'pass': 'ok  ', 'fail': 'FAIL', 'skip': 'skip'}
    for run_ in runs:
        for r in run_.found:
            print(f'{word[r.status]} {r.name}' + (f'  # {r.why}' if r.why else ''))
    print()
    for run_ in runs:
        count = counts(run_.found)
        for s in totals:
            totals[s] += count[s]
        print(f'{run_.label}: {count["pass"]} passed, {count["fail"]} failed, '
              f'{count["skip"]} skipped  ({run_.log})')
    print(f'{totals["pass"]} passed, {totals["fail"]} failed, {totals["skip"]} skipped')
    return totals['fail'] == 0


MATRIX = ('<!-- matrix: written by make check -->', '<!-- end of matrix -->')
BENCH = ('<!-- bench: written by make bench -->', '<!-- end of bench -->')
SIDE_EFFECTS = ('<!-- side effects: written by make check -->', '<!-- end of side effects -->')
TABLES = {'check': ('clients.md', '<!-- clients: written by make check -->',
                    '<!-- end of clients -->'),
          'stress': ('stress.md', '<!-- stress: written by make stress -->',
                     '<!-- end of stress -->')}


def counts(found):
    return {s: sum(r.status == s for r in found) for s in ('pass', 'fail', 'skip')}


def matrix(runs, chosen, seconds, full_run):
    """The README's test matrix, one row per target, from this run's results."""
    by_label = {run_.label: counts(run_.found) for run_ in runs}
    rows = ['| target | kernel arch | ABIs run | patched: passed / failed / skipped '
            '| pinning (patches 1-6) | reference | base (ENOSYS expected) |',
            '| --- | --- | --- | --- | --- | --- | --- |']
    for target in chosen:
        cells = []
        for kernel in tree.KERNELS:
            c = by_label.get(f'{target["name"]}/{kernel}')
            cells.append(f'{c["pass"]} / {c["fail"]} / {c["skip"]}' if c else
                         'not run' if kernel in target['kernels'] else '—')
        rows.append(f'| {target["name"]} | {target["arch"]} | {", ".join(target["abis"])} | '
                    + ' | '.join(cells) + ' |')
    reviews = [(f'review {name}', f'Review checks of the {name} series (checkpatch, '
                'sparse/W=1, bisect, nocma)') for name in lines_with_series()]
    for label, what in [('install-test', 'Install stage on a simulated fresh machine (stubbed '
                         'apt, harness/test_install.py)'),
                        ('console-test', 'Console judge on the stack dumps kernels print '
                         '(harness/test_results.py)')] + reviews + [
                        ('differential', 'Differential fuzzing, ours vs reference per ABI, and the '
                         'REDUCE fuzzer across ABIs')]:
        c = by_label.get(label)
        if c:
            rows.append(f'\n{what}: {c["pass"]} passed, {c["fail"]} failed.')
    rows.append(f'\n`make check` on {time.strftime("%Y-%m-%d")}, '
                f'{os.cpu_count()} cores, {seconds / 60:.0f} minutes.')
    publish('matrix.md', MATRIX, '\n'.join(rows), full_run)


def publish(name, markers, text, full_run):
    """Write a table under build/, and into the README between its markers,
    when the whole matrix ran; a partial run's table goes to build/partial/
    (the cover letter takes only whole runs' tables)."""
    where = os.path.join(TOP, 'build', name if full_run else os.path.join('partial', name))
    with open(writable(where), 'w') as f:
        f.write(text + '\n')
    if not full_run:
        return
    readme = os.path.join(TOP, 'README.md')
    body = open(readme).read()
    begin, end = markers
    if begin in body and end in body:
        head, rest = body.split(begin, 1)
        tail = rest.split(end, 1)[1]
        with open(readme, 'w') as f:
            f.write(f'{head}{begin}\n{text}\n{end}{tail}')


def side_effect_table(runs, full_run):
    """guest/side_effects.c on our kernel and the reference, side by side."""
    found = {}
    for run_ in runs:
        if run_.kernel not in ('patched', 'reference'):
            continue
        for (abi, name), (out, _) in run_.sections().items():
            if name != 'side_effects':
                continue
            for line in out:
                m = re.match(r'^side-effect (\S+) (-?\d+) \| (.*)$', line)
                if m:
                    key = (run_.target['name'], m.group(1), m.group(3))
                    found.setdefault(key, {})[run_.kernel] = m.group(2)
    if not found:
        return
    rows = ['| target | what a read did to the target | ours | reference |',
            '| --- | --- | ---: | ---: |']
    for (target, _, what), values in found.items():
        rows.append(f'| {target} | {what} | {values.get("patched", "not run")} | '
                    f'{values.get("reference", "not run")} |')
    publish('side_effects.md', SIDE_EFFECTS, '\n'.join(rows), full_run)


def stress_table(runs, command, full_run):
    """What the stress programs and real clients did on each kernel: their
    own summary lines and run times, and the splat scan of the boot."""
    rows = ['| kernel | program | result | what ran | seconds |',
            '| --- | --- | --- | --- | ---: |']
    for run_ in runs:
        if not run_.plan:
            continue
        status = {r.name: r.status for r in run_.found}
        console = open(run_.log, errors='replace').read()
        sections, seconds = results.sections(console), results.durations(console)
        for prog in run_.plan:
            if prog.kind not in ('fuzz', 'fuzz_self', 'reduce_fuzz', 'exit', 'tap') or \
                    prog.name in results.NOT_STRESS:
                continue
            prefix = f'{run_.label}/{prog.abi}/{prog.name}'
            failed = any(s == 'fail' for n, s in status.items() if n.startswith(prefix))
            out = sections.get((prog.abi, prog.name), ([], None))[0]
            rows.append(f'| {run_.label} | {prog.abi}/{prog.name} | '
                        f'{"FAIL" if failed else "ok"} | {results.summary(prog, out)} | '
                        f'{seconds.get((prog.abi, prog.name), "")} |')
        splat = next(r for r in run_.found if r.name.endswith('/console-splats'))
        rows.append(f'| {run_.label} | console | {"FAIL" if splat.status == "fail" else "ok"} '
                    f'| {"splats: " + splat.why if splat.why else "0 splats"} | |')
    name, begin, end = TABLES[command]
    publish(name, (begin, end), '\n'.join(rows), full_run)


def cmd_check(args, abis, targets):
    """make check (targets without a role) and make stress (role stress)."""
    role = 'stress' if args.cmd == 'stress' else None
    chosen = ([targets[t] for t in args.targets] if args.targets else
              [t for t in targets.values() if t.get('role') == role])
    if args.quick:
        chosen = [targets['x86_64']]
    kernels = ['patched'] if args.quick else args.kernels or list(tree.KERNELS)
    start = time.monotonic()
    first = harness_tests() if role is None else []
    deps.ensure(packages(abis, chosen), LOGS)
    runs = first + [boot_and_judge(trees_of(target['line']), abis, target, kernel)
            for target in chosen for kernel in target['kernels'] if kernel in kernels]
    found = differential(runs + earlier_references(abis, runs, targets))
    if found:
        runs.append(Run(None, None, [], found, 'build/logs', label='differential'))
    if not (args.quick or args.no_review):
        runs += [review(trees_of(name), [t for t in chosen if t['line'] == name])
                 for name in lines_with_series()]
    seconds = time.monotonic() - start
    full_run = not (args.quick or args.targets or args.kernels
                    or (args.no_review and role is None))
    if role is None:
        matrix(runs, chosen, seconds, full_run)
        side_effect_table(runs, full_run)
        if full_run:
            for name in lines_with_series():  # cover letters with this run's matrix
                format_patches(trees_of(name))
    stress_table(runs, args.cmd, full_run)
    ok = report(runs)
    print(f'total time {seconds:.0f} s')
    return 0 if ok else 1


def lines_with_series():
    return [name for name in lines.names() if lines.patch_dirs(lines.load(name))]


def format_patches(trees):
    out = os.path.join(TOP, 'build', 'patches', trees.line['name'])
    with stage('patches', out):
        run(['rm', '-rf', out])
        run(['git', '-C', trees.repo, 'format-patch', '-q', '--cover-letter',
             '-o', out, 'base..patched'])
        fill_cover_letter(trees.line, os.path.join(out, '0000-cover-letter.patch'))
    return sorted(os.path.join(out, n) for n in os.listdir(out))


def fill_cover_letter(line, path):
    """kernel/LINE/cover-letter, plus the latest measured tables if there are any."""
    subject, body = open(os.path.join(line['dir'], 'cover-letter')).read().split('\n', 1)
    for name in ('matrix.md', 'bench/bench.md'):
        measured = os.path.join(TOP, 'build', name)
        if os.path.exists(measured):
            body += f'\n{open(measured).read()}'
    text = open(path).read()
    text = text.replace('*** SUBJECT HERE ***', subject)
    text = text.replace('*** BLURB HERE ***', body.strip())
    with open(path, 'w') as f:
        f.write(text)


def review(trees, chosen):
    """checkpatch on the series; per target sparse/W=1, and the builds its
    entry asks for (bisect: every patch builds; nocma: option off)."""
    patches = [p for p in format_patches(trees) if '0000-cover-letter' not in p]
    found = (quality.series_applies(trees, patches) + quality.checkpatch(trees, patches)
             + quality.every_arch_wired(trees))
    if trees.line['name'] == lines.DEFAULT:
        found += quality.man_lint(TOP)
    for target in chosen:
        found += quality.sparse_w1(trees, target) + quality.uapi_header(trees, target)
        if 'bisect' in target.get('checks', []):
            found += quality.each_patch_builds(trees, target)
        if 'nocma' in target.get('checks', []):
            found += quality.builds_without_cma(trees, target)
    line = trees.line['name']
    results_ = [results.Result(f'review/{line}/{name}', 'pass' if ok else 'fail', why)
                for name, ok, why in found]
    return Run(None, None, [], results_, os.path.join(TOP, 'build', 'patches', line),
               label=f'review {line}')


def cmd_demo(args, abis, targets):
    target = targets['x86_64']
    deps.ensure(packages(abis, [target]), LOGS)
    trees = trees_of()
    demo = os.path.join(TOP, 'examples', 'cma_demo.c')
    plan = [guest.Program(target['abis'][0], 'cma_demo', 'exit', demo)]
    run_ = boot_and_judge(trees, abis, target, 'patched', plan)
    found, log = run_.found, run_.log
    section = run_.sections()
    out, status = section.get((plan[0].abi, 'cma_demo'), ([], None))
    print('\n'.join(out))
    ok = all(r.status != 'fail' for r in found)
    print(f'demo on the patched kernel: {"ok" if ok else "FAILED"} (console: {log})')
    return 0 if ok else 1


def every_package(abis, targets):
    """What any command needs: every target's, every group's, the plots'."""
    groups = [p for pkgs in guest.GROUP_PACKAGES.values() for p in pkgs]
    return packages(abis, targets.values()) + groups + BENCH_PACKAGES


def cmd_install(args, abis, targets):
    deps.ensure(every_package(abis, targets), LOGS)
    return 0


def harness_tests():
    """The harness's own checks, before any kernel (seconds): the install
    stage from an empty build/ with stubbed apt, and the console judge."""
    return [harness_check('install-test', 'the install stage on a simulated fresh machine',
                          test_install),
            harness_check('console-test', 'the console judge on the shapes kernels print',
                          test_results)]


def harness_check(label, what, module):
    """One self-test module's run_checks() as a Run."""
    with stage(label, what):
        found = [results.Result(f'{label}/{name}', 'pass' if ok else 'fail', why)
                 for name, ok, why in module.run_checks()]
    return Run(None, None, [], found, f'harness/{module.__name__}.py', label=label)


def cmd_patches(args, abis, targets):
    deps.ensure(packages(abis, []), LOGS)
    for name in lines_with_series():
        for path in format_patches(trees_of(name)):
            print(path)
    return 0


def cmd_bench(args, abis, targets):
    modes = args.modes or list(bench.MODES)
    used = {bench.MODES[m].get('target', 'x86_64') for m in modes}
    clients = any('mpi' in bench.MODES[m] or 'fabric' in bench.MODES[m] for m in modes)
    mpi = guest.GROUP_PACKAGES['clients'] if clients else []
    deps.ensure(packages(abis, [targets[t] for t in used]) + BENCH_PACKAGES + mpi,
                LOGS)
    selftests()  # exports the UAPI header cma_bench includes
    pair = tuple(args.kernels)
    if pair != bench.KERNELS:
        # What a patch buys: a figure for its commit message, not the
        # README's table of ours against upstream.
        text = bench.bench(trees_of, targets, abis, modes, UAPI_DIR, pair)
        with open(writable(os.path.join(TOP, 'build', 'bench',
                                        f'{pair[0]}-vs-{pair[1]}.md')), 'w') as f:
            f.write(text + '\n')
        return 0
    text = bench.bench(trees_of, targets, abis, modes, UAPI_DIR)
    publish('bench/bench.md', BENCH, text, set(modes) == set(bench.MODES))
    return 0


def cmd_profile(args, abis, targets):
    target = targets[args.target]
    deps.ensure(packages(abis, [target]), LOGS)
    trees = trees_of(target['line'])
    images = {}
    for kernel in args.kernels:
        image = kbuild.build(target, kernel, trees.checkout(kernel))
        keep = os.path.join(TOP, 'build', 'profile', f'{target["name"]}-{kernel}')
        os.makedirs(os.path.dirname(keep), exist_ok=True)
        shutil.copy(image, keep + '.image')
        shutil.copy(os.path.join(kbuild.out_dir(target, kernel), 'System.map'), keep + '.map')
        images[kernel] = (keep + '.image', keep + '.map')
    kprofile.profile(target, abis, images, args.kernels, args.specs or kprofile.SPECS,
                     args.calls)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='cmd', required=True)
    check = sub.add_parser('check')
    check.add_argument('--quick', action='store_true', help='x86_64 patched kernel only')
    check.add_argument('-t', '--targets', nargs='*', help='targets to run (default: all)')
    check.add_argument('-k', '--kernels', nargs='*', choices=tree.KERNELS,
                       help='kernels to boot (default: each target\'s own list)')
    check.add_argument('--no-review', action='store_true',
                       help='skip checkpatch, sparse and the extra builds')
    stress = sub.add_parser('stress', help='the debug kernel: stress, fuzzers, clients')
    stress.add_argument('-t', '--targets', nargs='*', help='targets to run (default: role stress)')
    stress.set_defaults(quick=False, kernels=None, no_review=True)
    sub.add_parser('demo')
    sub.add_parser('patches')
    sub.add_parser('install', help='install every Debian package the commands need')
    bench_ = sub.add_parser('bench')
    bench_.add_argument('-m', '--modes', nargs='*', choices=list(bench.MODES))
    bench_.add_argument('--kernels', nargs=2, default=list(bench.KERNELS),
                        metavar=('OURS', 'OTHER'),
                        help='patched, reference or patch-N (the series up to patch N)')
    prof = sub.add_parser('profile', help='kernel instructions per call, by function, '
                          'patched and reference (x86_64, icount)')
    prof.add_argument('-n', '--calls', type=int, default=kprofile.CALLS)
    prof.add_argument('-t', '--target', default='x86_64', choices=['x86_64', 'x86_64-6.12'])
    prof.add_argument('--kernels', nargs=2, default=['patched', 'reference'],
                      metavar=('OURS', 'OTHER'),
                      help='patched, reference or patch-N (the series up to patch N)')
    prof.add_argument('specs', nargs='*', help='r<size> or w<size> (default: '
                      + ' '.join(kprofile.SPECS) + ')')
    args = parser.parse_args()
    handler = {'profile': cmd_profile, 'check': cmd_check, 'stress': cmd_check,
               'demo': cmd_demo, 'patches': cmd_patches,
               'bench': cmd_bench, 'install': cmd_install}[args.cmd]
    try:
        abis, targets = load_targets()
        check_target_names(args, targets)
        return handler(args, abis, targets)
    except BaseException as err:  # noqa: B902 - every failure ends in one line
        return report_failure(err, LOGS)


def check_target_names(args, targets):
    """-t names booted targets that exist; UML is for make bench only."""
    for name in getattr(args, 'targets', None) or []:
        if name not in targets:
            raise StageError(f'no target {name} in targets/targets.toml (targets: '
                             f'{", ".join(sorted(targets))})', stage='targets')
        if targets[name].get('boot') == 'uml':
            raise StageError(f'target {name} boots only in make bench', stage='targets')


if __name__ == '__main__':
    sys.exit(main())
