"""The kernel trees: upstream (reference), base (stripped) and patched (series applied).

One git repository and one work tree per kernel line and Debian source
version under build/src/: branch upstream is the pristine tree, base the stripped one,
patched the series on top.  Every kernel is built from the same work tree
(checked out at its commit just before its build), so every file has the
same path in every kernel and ccache serves one kernel's objects to the
others; the checkout touches only the files that differ.  The series is
turned into commits with git plumbing in a scratch index.
"""

import hashlib
import json
import os
import subprocess

import lines
import strip
from progress import StageError, run, stage

IDENTITY = {'GIT_AUTHOR_NAME': 'CMA project', 'GIT_AUTHOR_EMAIL': 'cma@localhost',
            'GIT_COMMITTER_NAME': 'CMA project', 'GIT_COMMITTER_EMAIL': 'cma@localhost',
            'GIT_AUTHOR_DATE': '2026-01-01T00:00:00Z',
            'GIT_COMMITTER_DATE': '2026-01-01T00:00:00Z'}
# pinning: the series without its fast path (up to, not including, the
# patch folder named by FAST_PATH), so that the plain implementation of
# patch 1 is booted and tested on its own.  patch-N (make bench --kernels
# only): the series up to and including its patch N, to measure what a
# patch buys against the one before it.
KERNELS = ('patched', 'pinning', 'reference', 'base')
DEFAULT_KERNELS = ('patched', 'reference', 'base')
BRANCH = {'reference': 'upstream', 'base': 'base', 'patched': 'patched',
          'pinning': 'pinning'}
FAST_PATH = 'mm-direct-copy'
# What a patch folder changes in files that exist, in order: edit.diff, the
# line's own; selftests.diff, the selftests' (one file for every line).
DIFFS = ('edit.diff', 'selftests.diff')


def git(repo, *args, env=None, text=True):
    full_env = dict(os.environ, **IDENTITY, **(env or {}))
    res = subprocess.run(['git', '-C', repo] + list(args), capture_output=True,
                         text=text, env=full_env)
    if res.returncode:
        raise StageError(f'git {" ".join(args)} in {repo}: {res.stderr.strip()}')
    return res.stdout.strip() if text else res.stdout


def source_version(package):
    res = subprocess.run(['dpkg-query', '-W', '-f=${Version}', package],
                         capture_output=True, text=True)
    if res.returncode or not res.stdout:
        raise StageError(f'package {package} is not installed', stage='unpack')
    return res.stdout


def file_hash(*paths):
    """Of files and of every file under directories, names included."""
    h = hashlib.sha256()
    for top in paths:
        if os.path.isfile(top):
            h.update(os.path.basename(top).encode() + b'\0' + open(top, 'rb').read())
            continue
        for root, dirs, files in sorted(os.walk(top)):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                h.update(os.path.relpath(full, top).encode() + b'\0')
                h.update(open(full, 'rb').read())
    return h.hexdigest()[:16]


class Trees:
    def __init__(self, top, line_name=lines.DEFAULT):
        self.top = top
        self.line = lines.load(line_name)
        self.version = source_version(self.line['package'])
        # "~" (a Debian backport's version) is no friend of make
        self.root = os.path.join(top, 'build', 'src',
                                 f'linux-{self.version}'.replace('~', '-'))
        self.repo = os.path.join(self.root, 'tree')
        self.logdir = os.path.join(top, 'build', 'logs')
        os.makedirs(self.logdir, exist_ok=True)

    def has_series(self):
        return bool(self.patch_dirs())

    def checkout(self, kernel):
        """Point the work tree at a kernel's commit; return the tree's path."""
        if kernel.startswith('patch-'):
            return self.checkout_commit(self.patch_commit(kernel))
        if BRANCH[kernel] in ('patched', 'pinning') and not self.has_series():
            raise StageError(f'line {self.line["name"]} has no series yet: no {kernel} '
                             'kernel', stage='checkout')
        git(self.repo, 'checkout', '-q', '-f', '--detach', BRANCH[kernel])
        return self.repo

    def patch_commit(self, kernel):
        """The commit of patch-N: the series up to and including patch N."""
        commits = self.series_commits()
        n = kernel[len('patch-'):]
        if not n.isdigit() or not 1 <= int(n) <= len(commits):
            raise StageError(f'no {kernel}: the {self.line["name"]} series has patches 1 to '
                             f'{len(commits)}', stage='checkout')
        return commits[int(n) - 1][0]

    def checkout_commit(self, commit):
        git(self.repo, 'checkout', '-q', '-f', '--detach', commit)
        return self.repo

    def series_commits(self):
        """[(commit, subject)] of the series, oldest first."""
        out = git(self.repo, 'log', '--reverse', '--format=%H %s', 'base..patched')
        return [tuple(line.split(' ', 1)) for line in out.splitlines()]

    def export(self, kernel, paths, dest):
        """Copy files of a kernel's commit under dest, rewriting only what
        changed so that timestamps say what needs rebuilding."""
        listing = git(self.repo, 'ls-tree', '-r', '--name-only', BRANCH[kernel],
                      '--', *paths)
        for path in listing.split():
            data = git(self.repo, 'show', f'{BRANCH[kernel]}:{path}', text=False)
            out = os.path.join(dest, path)
            if os.path.exists(out) and open(out, 'rb').read() == data:
                continue
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out, 'wb') as f:
                f.write(data)
        return dest

    def prepare(self):
        """Make all three trees current; cheap when nothing changed."""
        self._unpack()
        self._strip()
        self._apply_series()

    def _unpack(self):
        if os.path.exists(os.path.join(self.repo, '.git')):
            return
        tarball, package = self.line['tarball'], self.line['package']
        with stage('unpack', f'{tarball} ({self.version}) -> {self.repo}'):
            if not os.path.exists(tarball):
                raise StageError(f'{tarball} is missing although {package} is '
                                 'installed; reinstall it: apt-get install --reinstall '
                                 f'{package}')
            tmp = self.repo + '.tmp'
            run(['rm', '-rf', tmp])
            os.makedirs(tmp)
            run(['tar', '-xf', tarball, '-C', tmp, '--strip-components=1'])
            git(tmp, 'init', '-q', '-b', 'upstream')
            git(tmp, 'config', 'gc.auto', '0')
            git(tmp, 'add', '-A', '-f')  # Debian's .gitignore hides all
            git(tmp, 'commit', '-q', '-m', f'upstream: Debian {package} {self.version}')
            os.rename(tmp, self.repo)

    def _strip(self):
        strip_hash = file_hash(os.path.join(self.top, 'harness', 'strip.py'))[:8] + \
            hashlib.sha256(json.dumps(self.line['strip'], sort_keys=True).encode()
                           ).hexdigest()[:8]
        marker = f'Strip-Hash: {strip_hash}'
        if marker in self._message('base'):
            return
        with stage('strip', f'remove upstream CMA -> branch base of {self.repo}'):
            git(self.repo, 'checkout', '-q', '-f', '-B', 'base', 'upstream')
            strip.strip(self.repo, self.line['strip'])
            git(self.repo, 'commit', '-q', '-m',
                'base: strip Cross Memory Attach\n\nThe pre-CMA base the series '
                f'applies to, made by harness/strip.py.\n\n{marker}')

    def _message(self, ref):
        res = subprocess.run(['git', '-C', self.repo, 'log', '-1', '--format=%B', ref],
                             capture_output=True, text=True)
        return res.stdout

    def patch_dirs(self):
        return lines.patch_dirs(self.line)

    def _apply_series(self):
        base_head = git(self.repo, 'rev-parse', 'base')
        if not self.has_series():
            return
        series_hash = file_hash(self.line['dir']) + '-' + base_head[:12]
        stamp = os.path.join(self.root, 'patched.stamp')
        if os.path.exists(stamp) and open(stamp).read().split() == [
                series_hash, self._rev('patched')]:
            return
        with stage('series', f'apply {len(self.patch_dirs())} patches to base'):
            commits = self._commit_series(base_head)
            head = commits[-1][1]
            git(self.repo, 'branch', '-f', 'patched', head)
            git(self.repo, 'branch', '-f', 'pinning', self._before_fast_path(commits))
            with open(stamp, 'w') as f:
                f.write(f'{series_hash} {head}\n')

    def _rev(self, ref):
        res = subprocess.run(['git', '-C', self.repo, 'rev-parse', '-q', '--verify', ref],
                             capture_output=True, text=True)
        return res.stdout.strip()

    def _commit_series(self, parent):
        """Each kernel/NN-*/ becomes one commit: add/ files, then the DIFFS.
        Returns [(patch folder, commit)] in order."""
        index = os.path.join(self.root, 'series.index')
        env = {'GIT_INDEX_FILE': index}
        git(self.repo, 'read-tree', parent, env=env)
        commits = []
        for pdir in self.patch_dirs():
            self.stage_patch(pdir, env)
            tree = git(self.repo, 'write-tree', env=env)
            parent = git(self.repo, 'commit-tree', tree, '-p', parent,
                         '-F', os.path.join(pdir, 'message'), env=env)
            commits.append((pdir, parent))
        os.remove(index)
        return commits

    @staticmethod
    def _before_fast_path(commits):
        """The commit of the last patch before the fast path's."""
        for i, (pdir, _) in enumerate(commits):
            if os.path.basename(pdir).endswith(FAST_PATH):
                if i == 0:
                    break
                return commits[i - 1][1]
        raise StageError(f'no patch folder ending in {FAST_PATH} after the first: '
                         'the pinning kernel needs one')

    def stage_patch(self, pdir, env):
        """Add a patch folder's changes to the index env names."""
        add = os.path.join(pdir, 'add')
        for root, _, files in os.walk(add):
            for name in files:
                full = os.path.join(root, name)
                mode = '100755' if os.access(full, os.X_OK) else '100644'
                blob = git(self.repo, 'hash-object', '-w', full)
                git(self.repo, 'update-index', '--add', '--cacheinfo',
                    f'{mode},{blob},{os.path.relpath(full, add)}', env=env)
        for diff in [os.path.join(pdir, n) for n in DIFFS]:
            if not os.path.exists(diff):
                continue
            try:
                git(self.repo, 'apply', '--cached', diff, env=env)
            except StageError as err:
                raise StageError(f'{os.path.relpath(diff, self.top)} does '
                                 f'not apply: {err}') from err
