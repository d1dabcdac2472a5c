"""What reviewers ask before reading: checkpatch, sparse and W=1, every patch
building on its own, and the tree building without CONFIG_CROSS_MEMORY_ATTACH."""

import os
import re
import subprocess

import kbuild
import tree
from progress import StageError, run, stage

# The series' kernel objects, checked by sparse and W=1 on every target.
CORE = ['mm/process_vm_access.o', 'mm/process_vm_reduce.o']
CORE_FP = ['mm/process_vm_reduce_fp.o']
# sparse with riscv's -march cut to what Debian 12's sparse understands.
SPARSE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'sparse-wrapper')
CHECKPATCH_CLEAN = re.compile(r'total: 0 errors, 0 warnings, 0 checks')


def userspace_only(patch):
    """True if the patch touches nothing but selftests (and MAINTAINERS)."""
    files = re.findall(r'^\+\+\+ b/(\S+)', open(patch).read(), re.M)
    return all(f.startswith('tools/testing/') or f == 'MAINTAINERS' for f in files)


def checkpatch(trees, patches):
    """Every patch clean under checkpatch --strict; returns one result line each."""
    script = os.path.join(trees.checkout('patched'), 'scripts', 'checkpatch.pl')
    found = []
    for patch in patches:
        cmd = ['perl', script, '--strict', '--no-tree', '--show-types', patch]
        if userspace_only(patch):
            # The ENOSYS rule is for kernel code; a test must name the
            # errno a kernel without the calls gives.
            cmd[-1:-1] = ['--ignore', 'ENOSYS']
        res = subprocess.run(cmd, capture_output=True, text=True)
        clean = CHECKPATCH_CLEAN.search(res.stdout) is not None
        problems = [l for l in res.stdout.splitlines() if re.match(r'(WARNING|ERROR|CHECK):', l)]
        found.append((f'checkpatch --strict {os.path.basename(patch)}', clean,
                      '' if clean else ' | '.join(problems)[:400]))
    return found


def core_objects(config_path):
    """The series' objects in this configuration: the float file of
    PROCESS_VM_REDUCE only where the architecture builds it."""
    fp = 'CONFIG_PROCESS_VM_REDUCE_FP=y' in open(config_path).read().splitlines()
    return CORE + (CORE_FP if fp else [])


def sparse_w1(trees, target):
    """make C=2 W=1 on the series' files, in the patched kernel's build
    directory."""
    src = trees.checkout('patched')
    out = kbuild.out_dir(target, 'patched')
    kbuild.configure(target, 'patched', src, out, os.path.join(out, 'build.log'))
    objects = core_objects(os.path.join(out, '.config'))
    cmd = kbuild.make_args(target, src, out) + ['C=2', f'CHECK={SPARSE}', 'W=1'] + objects
    cmd.remove('-s')
    with stage('sparse', f'{target["name"]}: C=2 W=1 {" ".join(objects)}'):
        res = subprocess.run(cmd, capture_output=True, text=True, env=kbuild.ccache_env())
    known = trees.line.get('review', {}).get('sparse_known', [])
    noise = [l for l in (res.stdout + res.stderr).splitlines()
             if 'process_vm_' in l and re.search(r'warning|error', l)
             and not any(k in l for k in known)]
    ok = res.returncode == 0 and not noise
    return [(f'{target["name"]}: sparse + W=1 {" ".join(objects)}', ok,
             ' | '.join(noise)[:400] or (res.stderr.strip()[-300:] if not ok else ''))]


def each_patch_builds(trees, target):
    """Build the kernel at every commit of the series (bisectability)."""
    commits = trees.series_commits()
    out = kbuild.out_dir(target, 'bisect')
    found = []
    for i, (commit, subject) in enumerate(commits, 1):
        src = trees.checkout_commit(commit)
        log = os.path.join(out, f'build-{i}.log')
        try:
            kbuild.configure(target, 'patched', src, out, log)
            with stage('bisect', f'{target["name"]} after patch {i}: {subject}'):
                run(kbuild.make_args(target, src, out)
                    + [os.path.basename(target['image'])], log=log, env=kbuild.ccache_env())
            found.append((f'{target["name"]}: builds after patch {i} ({subject})', True, ''))
        except StageError as err:
            found.append((f'{target["name"]}: builds after patch {i} ({subject})', False,
                          str(err).splitlines()[0]))
    return found


def builds_without_cma(trees, target):
    """CONFIG_CROSS_MEMORY_ATTACH=n still builds (the calls then say ENOSYS)."""
    src = trees.checkout('patched')
    out = kbuild.out_dir(target, 'nocma')
    log = os.path.join(out, 'build.log')
    name = f'{target["name"]}: builds with CONFIG_CROSS_MEMORY_ATTACH=n'
    try:
        kbuild.configure(target, 'nocma', src, out, log)
        with stage('nocma', f'{target["name"]}: {log}'):
            run(kbuild.make_args(target, src, out)
                + [os.path.basename(target['image'])], log=log, env=kbuild.ccache_env())
        config = open(os.path.join(out, '.config')).read()
        ok = '# CONFIG_CROSS_MEMORY_ATTACH is not set' in config
        return [(name, ok, '' if ok else 'option still on')]
    except StageError as err:
        return [(name, False, str(err).splitlines()[0])]


# A program of the flags' users: every macro of the UAPI header in use.
UAPI_USER = '''#include <linux/process_vm_access.h>
unsigned long flags[] = {
	PROCESS_VM_PIDFD | PROCESS_VM_NOWAIT,
	PROCESS_VM_REDUCE | PROCESS_VM_OP(PROCESS_VM_OP_SUM) |
		PROCESS_VM_TYPE(PROCESS_VM_TYPE_F64),
};
'''


def uapi_header(trees, target):
    """make headers_install of the patched tree installs the flags' header,
    and a user-space program compiles against what it installed."""
    src = trees.checkout('patched')
    out = kbuild.out_dir(target, 'headers')
    dest = os.path.join(out, 'usr')
    name = f'{target["name"]}: headers_install installs linux/process_vm_access.h'
    try:
        with stage('headers', f'{target["name"]}: headers_install'):
            run(kbuild.make_args(target, src, out)
                + ['headers_install', f'INSTALL_HDR_PATH={dest}'],
                log=os.path.join(out, 'headers.log'), env=kbuild.ccache_env())
    except StageError as err:
        return [(name, False, str(err).splitlines()[0])]
    installed = os.path.join(dest, 'include', 'linux', 'process_vm_access.h')
    if not os.path.exists(installed):
        return [(name, False, f'no {installed}')]
    test = os.path.join(out, 'uapi_user.c')
    with open(test, 'w') as f:
        f.write(UAPI_USER)
    res = subprocess.run([f'{target["cross"]}gcc', '-Wall', '-Werror', '-fsyntax-only',
                          f'-I{os.path.join(dest, "include")}', test],
                         capture_output=True, text=True)
    return [(name, res.returncode == 0, res.stderr.strip()[:300])]


def man_lint(top):
    """The man page is clean under mandoc -T lint and groff -ww."""
    page = os.path.join(top, 'man', 'process_vm_readv.2')
    found = []
    res = subprocess.run(['mandoc', '-T', 'lint', '-W', 'warning', page],
                         capture_output=True, text=True)
    out = (res.stdout + res.stderr).strip()
    found.append(('mandoc -T lint man/process_vm_readv.2', not out, out[:300]))
    res = subprocess.run(['groff', '-ww', '-man', '-z', page], capture_output=True, text=True)
    out = res.stderr.strip()
    found.append(('groff -ww -man man/process_vm_readv.2', res.returncode == 0 and not out,
                  out[:300]))
    return found


# Where an architecture says it has the calls: its syscall tables, the
# unistd headers that number them, and its defconfigs' choice of the option.
WIRING = re.compile(r'(syscall[^/]*\.tbl|unistd[^/]*\.h|defconfig)$')
WIRING_ROW = r'process_vm_(readv|writev)|CROSS_MEMORY_ATTACH'


def wiring_rows(trees, ref):
    """{file: sorted CMA lines} of the wiring files of a branch."""
    res = subprocess.run(['git', '-C', trees.repo, 'grep', '-E', WIRING_ROW, ref,
                          '--', 'arch', 'include/uapi'], capture_output=True, text=True)
    found = {}
    for line in res.stdout.splitlines():
        path, text = line.split(':', 2)[1:]
        if WIRING.search(path):
            found.setdefault(path, []).append(text)
    return {path: sorted(rows) for path, rows in found.items()}


def every_arch_wired(trees):
    """For every syscall table, unistd header and defconfig of the tree, the
    patched tree's CMA rows equal the reference's: no architecture left out."""
    want = wiring_rows(trees, tree.BRANCH['reference'])
    have = wiring_rows(trees, tree.BRANCH['patched'])
    found = []
    for path in sorted(set(want) | set(have)):
        arch = path.split('/')[1] if path.startswith('arch/') else 'asm-generic'
        ok = want.get(path) == have.get(path)
        why = '' if ok else (f'reference {want.get(path, "none")} | '
                             f'patched {have.get(path, "none")}')[:400]
        found.append((f'{arch}: {path} wires the calls as the reference does', ok, why))
    return found


def series_applies(trees, patches):
    """The format-patch files apply in order on base, as `git am` would take
    them, and give exactly the patched tree (checked in a scratch index)."""
    index = os.path.join(trees.root, 'am-check.index')
    env = dict(os.environ, GIT_INDEX_FILE=index)
    git = ['git', '-C', trees.repo]
    subprocess.run(git + ['read-tree', 'base'], env=env, check=True)
    for patch in patches:
        res = subprocess.run(git + ['apply', '--cached', patch], env=env,
                             capture_output=True, text=True)
        if res.returncode:
            return [('series applies to base', False,
                     f'{os.path.basename(patch)}: {res.stderr.strip()[:300]}')]
    tree_id = subprocess.run(git + ['write-tree'], env=env, capture_output=True,
                             text=True).stdout.strip()
    os.remove(index)
    want = subprocess.run(git + ['rev-parse', 'patched^{tree}'], capture_output=True,
                          text=True).stdout.strip()
    return [('series applies to base and equals the patched tree', tree_id == want,
             '' if tree_id == want else f'tree {tree_id} != patched {want}')]
