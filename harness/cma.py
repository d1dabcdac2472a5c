#!/usr/bin/env python3
"""Build, boot and test Cross Memory Attach kernels.

  cma.py demo                   patched x86_64 kernel, boot, run the demo
  cma.py check [--quick] [-t T] every target: patched, reference and base
  cma.py patches                the series as git format-patch files
  cma.py bench [-m MODE...]     patched vs reference, boots alternating
"""

import argparse
import os
import sys
import time
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench  # noqa: E402
import deps  # noqa: E402
import guest  # noqa: E402
import kbuild  # noqa: E402
import qemu  # noqa: E402
import quality  # noqa: E402
import results  # noqa: E402
import tree  # noqa: E402
from progress import StageError, run, stage  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOT_TIMEOUT = 1200


def load_targets():
    with open(os.path.join(TOP, 'targets', 'targets.toml'), 'rb') as f:
        data = tomllib.load(f)
    for name, target in data['target'].items():
        target['name'] = name
    return data['abi'], data['target']


def packages(abis, targets):
    wanted = []
    for target in targets:
        wanted += target['packages']
        for abi in target['abis']:
            wanted += abis[abi]['packages']
    return wanted


def man_example():
    out = os.path.join(TOP, 'build', 'bin', 'man_example.c')
    page = os.path.join(TOP, 'man', 'process_vm_readv.2')
    os.makedirs(os.path.dirname(out), exist_ok=True)
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(page):
        run(['sh', os.path.join(TOP, 'man', 'extract-example.sh'), page, out])
    return out


def selftests(trees):
    """The patched tree's selftests, the same binaries for every kernel."""
    dest = os.path.join(TOP, 'build', 'selftests')
    trees.export('patched', ['tools/testing/selftests/cma',
                             'tools/testing/selftests/kselftest.h',
                             'tools/testing/selftests/kselftest_harness.h'], dest)
    return os.path.join(dest, 'tools/testing/selftests')


def boot_and_judge(trees, abis, target, kernel, plan=None):
    """Build one kernel, boot it with its plan; return its results."""
    src = trees.checkout(kernel)
    image = kbuild.build(target, kernel, src)
    if plan is None:
        plan = guest.programs(target['abis'], kernel, selftests(trees), man_example())
    initramfs = guest.build_initramfs(target, kernel, plan, abis)
    log = os.path.join(TOP, 'build', 'logs', f'{target["name"]}-{kernel}.console.log')
    console, problem = qemu.boot(target, kernel, image, initramfs, log, BOOT_TIMEOUT)
    label = f'{target["name"]}/{kernel}'
    found = results.judge(console, plan, label, kernel == 'base')
    if problem:
        found.append(results.Result(f'{label}/boot', 'fail', problem))
    return label, found, log


def report(runs):
    """One line per test, one per kernel, then the closing line; True if all passed."""
    totals = {'pass': 0, 'fail': 0, 'skip': 0}
    word = {'pass': 'ok  ', 'fail': 'FAIL', 'skip': 'skip'}
    for label, found, log in runs:
        for r in found:
            print(f'{word[r.status]} {r.name}' + (f'  # {r.why}' if r.why else ''))
    print()
    for label, found, log in runs:
        count = counts(found)
        for s in totals:
            totals[s] += count[s]
        print(f'{label}: {count["pass"]} passed, {count["fail"]} failed, '
              f'{count["skip"]} skipped  ({log})')
    print(f'{totals["pass"]} passed, {totals["fail"]} failed, {totals["skip"]} skipped')
    return totals['fail'] == 0


MATRIX_BEGIN = '<!-- matrix: written by make check -->'
MATRIX_END = '<!-- end of matrix -->'


def counts(found):
    return {s: sum(r.status == s for r in found) for s in ('pass', 'fail', 'skip')}


def matrix(runs, chosen, seconds, full_run):
    """The README's test matrix, one row per target, from this run's results."""
    by_label = {label: counts(found) for label, found, _ in runs}
    rows = ['| target | kernel arch | ABIs run | patched: passed / failed / skipped '
            '| reference | base (ENOSYS expected) |', '| --- | --- | --- | --- | --- | --- |']
    for target in chosen:
        cells = []
        for kernel in tree.KERNELS:
            c = by_label.get(f'{target["name"]}/{kernel}')
            cells.append(f'{c["pass"]} / {c["fail"]} / {c["skip"]}' if c else 'not run')
        rows.append(f'| {target["name"]} | {target["arch"]} | {", ".join(target["abis"])} | '
                    + ' | '.join(cells) + ' |')
    review_run = by_label.get('review')
    if review_run:
        rows.append(f'\nReview checks (checkpatch, sparse/W=1, bisect, nocma): '
                    f'{review_run["pass"]} passed, {review_run["fail"]} failed.')
    rows.append(f'\n`make check` on {time.strftime("%Y-%m-%d")}, '
                f'{os.cpu_count()} cores, {seconds / 60:.0f} minutes.')
    text = '\n'.join(rows)
    with open(os.path.join(TOP, 'build', 'matrix.md'), 'w') as f:
        f.write(text + '\n')
    readme = os.path.join(TOP, 'README.md')
    body = open(readme).read()
    if full_run and MATRIX_BEGIN in body and MATRIX_END in body:
        head, rest = body.split(MATRIX_BEGIN, 1)
        tail = rest.split(MATRIX_END, 1)[1]
        with open(readme, 'w') as f:
            f.write(f'{head}{MATRIX_BEGIN}\n{text}\n{MATRIX_END}{tail}')


def cmd_check(args, abis, targets):
    chosen = [targets[t] for t in args.targets] if args.targets else list(targets.values())
    if args.quick:
        chosen = [targets['x86_64']]
    kernels = ('patched',) if args.quick else tree.KERNELS
    start = time.monotonic()
    deps.ensure(packages(abis, chosen), os.path.join(TOP, 'build', 'logs'))
    trees = tree.Trees(TOP)
    trees.prepare()
    runs = [boot_and_judge(trees, abis, target, kernel)
            for target in chosen for kernel in kernels]
    if not args.quick:
        runs.append(review(trees, chosen))
    seconds = time.monotonic() - start
    matrix(runs, chosen, seconds, full_run=not (args.quick or args.targets))
    ok = report(runs)
    print(f'total time {seconds:.0f} s')
    return 0 if ok else 1


def format_patches(trees):
    out = os.path.join(TOP, 'build', 'patches')
    with stage('patches', out):
        run(['rm', '-rf', out])
        run(['git', '-C', trees.repo, 'format-patch', '-q', '--cover-letter',
             '-o', out, 'base..patched'])
        fill_cover_letter(os.path.join(out, '0000-cover-letter.patch'))
    return sorted(os.path.join(out, n) for n in os.listdir(out))


def fill_cover_letter(path):
    """kernel/cover-letter, plus the latest measured tables if there are any."""
    subject, body = open(os.path.join(TOP, 'kernel', 'cover-letter')).read().split('\n', 1)
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
             + quality.man_lint(TOP))
    for target in chosen:
        found += quality.sparse_w1(trees, target)
        if 'bisect' in target.get('checks', []):
            found += quality.each_patch_builds(trees, target)
        if 'nocma' in target.get('checks', []):
            found += quality.builds_without_cma(trees, target)
    results_ = [results.Result(f'review/{name}', 'pass' if ok else 'fail', why)
                for name, ok, why in found]
    return 'review', results_, os.path.join(TOP, 'build', 'patches')


def cmd_demo(args, abis, targets):
    target = targets['x86_64']
    deps.ensure(packages(abis, [target]), os.path.join(TOP, 'build', 'logs'))
    trees = tree.Trees(TOP)
    trees.prepare()
    demo = os.path.join(TOP, 'examples', 'cma_demo.c')
    plan = [guest.Program(target['abis'][0], 'cma_demo', 'exit', demo)]
    label, found, log = boot_and_judge(trees, abis, target, 'patched', plan)
    section = results.sections(open(log, errors='replace').read())
    lines, status = section.get((plan[0].abi, 'cma_demo'), ([], None))
    print('\n'.join(lines))
    ok = all(r.status != 'fail' for r in found)
    print(f'demo on the patched kernel: {"ok" if ok else "FAILED"} (console: {log})')
    return 0 if ok else 1


def cmd_patches(args, abis, targets):
    deps.ensure([], os.path.join(TOP, 'build', 'logs'))
    trees = tree.Trees(TOP)
    trees.prepare()
    for path in format_patches(trees):
        print(path)
    return 0


def cmd_bench(args, abis, targets):
    target = targets['x86_64']
    deps.ensure(packages(abis, [target]) + ['gnuplot-nox'],
                os.path.join(TOP, 'build', 'logs'))
    trees = tree.Trees(TOP)
    trees.prepare()
    bench.bench(trees, target, abis, args.modes or list(bench.MODES))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='cmd', required=True)
    check = sub.add_parser('check')
    check.add_argument('--quick', action='store_true', help='x86_64 patched kernel only')
    check.add_argument('-t', '--targets', nargs='*', help='targets to run (default: all)')
    sub.add_parser('demo')
    sub.add_parser('patches')
    bench_ = sub.add_parser('bench')
    bench_.add_argument('-m', '--modes', nargs='*', choices=list(bench.MODES))
    args = parser.parse_args()
    abis, targets = load_targets()
    handler = {'check': cmd_check, 'demo': cmd_demo, 'patches': cmd_patches,
               'bench': cmd_bench}[args.cmd]
    try:
        return handler(args, abis, targets)
    except StageError as err:
        print(f'error: {err}', file=sys.stderr, flush=True)
        return 2


if __name__ == '__main__':
    sys.exit(main())
