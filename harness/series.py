#!/usr/bin/env python3
"""Work on a line's series as git commits, then write them back as folders.

  series.py edit LINE     a git work tree at build/edit/LINE, branch
                          edit-LINE, holding the series as commits on the
                          stripped base (kernel/LINE/ as make check applies
                          it); change it with git (commit --amend, rebase -i;
                          Debian's .gitignore hides every file: git add -f)
  series.py export LINE   write branch edit-LINE back into kernel/LINE/:
                          one patch folder per commit, in order, rewriting
                          only the folders whose commit changed

A folder is written the way harness/tree.py reads it: message (the commit
message), add/ (the files the commit creates), selftests.diff (its changes
to the series' own selftests) and edit.diff (every other change).  In a
line other than lines.DEFAULT, a file of add/ or a selftests.diff equal to
the default line's file of the same folder name and path becomes a link to
it (a .gitignore excepted), so that what the lines share lives once.
"""

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lines  # noqa: E402
import tree  # noqa: E402
from progress import StageError, report_failure  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SELFTESTS = 'tools/testing/selftests/process_vm/'


def edit_path(line_name):
    return os.path.join(TOP, 'build', 'edit', line_name)


def edit(line_name):
    trees = tree.Trees(TOP, line_name)
    trees.prepare()
    path = edit_path(line_name)
    if os.path.exists(path):
        raise StageError(f'{path} exists: export it, or remove it with git -C {trees.repo} '
                         f'worktree remove --force {path}', stage='series-edit')
    tree.git(trees.repo, 'worktree', 'add', '-q', '-B', f'edit-{line_name}', path, 'patched')
    print(f'{path}: branch edit-{line_name}, {len(trees.series_commits())} commits on base')


def changes(repo, commit):
    """[(status, path)] of a commit against its parent."""
    out = tree.git(repo, 'diff-tree', '-r', '--no-commit-id', '--name-status', '-M0',
                   f'{commit}^', commit)
    return [tuple(line.split('\t', 1)) for line in out.splitlines()]


def write_folder(repo, commit, folder):
    """One commit as a patch folder (replacing what was there)."""
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    with open(os.path.join(folder, 'message'), 'w') as f:
        f.write(tree.git(repo, 'log', '-1', '--format=%B', commit).rstrip('\n') + '\n')
    edited = {'edit.diff': [], 'selftests.diff': []}
    for status, path in changes(repo, commit):
        if status == 'A':
            out = os.path.join(folder, 'add', path)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out, 'wb') as f:
                f.write(tree.git(repo, 'show', f'{commit}:{path}', text=False))
            mode = tree.git(repo, 'ls-tree', commit, '--', path).split()[0]
            os.chmod(out, 0o755 if mode == '100755' else 0o644)
        elif status == 'M':
            edited['selftests.diff' if path.startswith(SELFTESTS) else 'edit.diff'].append(path)
        else:
            raise StageError(f'{commit[:12]} {status} {path}: a patch folder holds new and '
                             'changed files only', stage='series-export')
    for name, paths in edited.items():
        if paths:
            diff = tree.git(repo, 'diff', '--no-color', f'{commit}^', commit, '--', *paths,
                            text=False)
            with open(os.path.join(folder, name), 'wb') as f:
                f.write(diff)


def link_shared(folder, line_name):
    """Files equal to the default line's become links to them."""
    shared = os.path.join(lines.KERNEL, lines.DEFAULT, os.path.basename(folder))
    for root, _, files in os.walk(folder):
        for name in files:
            mine = os.path.join(root, name)
            rel = os.path.relpath(mine, folder)
            theirs = os.path.join(shared, rel)
            if name == '.gitignore' or not (rel.startswith('add' + os.sep)
                                            or rel == 'selftests.diff'):
                continue
            if os.path.isfile(theirs) and open(theirs, 'rb').read() == open(mine, 'rb').read():
                os.remove(mine)
                os.symlink(os.path.relpath(theirs, root), mine)


def folder_makes(trees, folder, commit):
    """Whether the folder as it is, applied to the commit's parent, gives
    the commit (its tree and message): then it is left as it is."""
    index = os.path.join(trees.root, 'export.index')
    env = {'GIT_INDEX_FILE': index}
    tree.git(trees.repo, 'read-tree', f'{commit}^', env=env)
    try:
        trees.stage_patch(folder, env)
        made = tree.git(trees.repo, 'write-tree', env=env)
    except StageError:
        return False
    finally:
        os.remove(index)
    message = open(os.path.join(folder, 'message')).read()
    return (made == tree.git(trees.repo, 'rev-parse', f'{commit}^{{tree}}')
            and message.rstrip('\n') == tree.git(trees.repo, 'log', '-1', '--format=%B',
                                                  commit).rstrip('\n'))


def export(line_name):
    trees = tree.Trees(TOP, line_name)
    line = trees.line
    branch = f'edit-{line_name}'
    commits = tree.git(trees.repo, 'rev-list', '--reverse', f'base..{branch}').split()
    folders = trees.patch_dirs()
    if len(commits) != len(folders):
        raise StageError(f'{branch} has {len(commits)} commits and kernel/{line_name} '
                         f'{len(folders)} patch folders: add or remove the folder (with its '
                         'message) first, the folder names are the series\' order',
                         stage='series-export')
    for commit, folder in zip(commits, folders):
        if folder_makes(trees, folder, commit):
            continue
        write_folder(trees.repo, commit, folder)
        if line['name'] != lines.DEFAULT:
            link_shared(folder, line_name)
        print(f'wrote {os.path.relpath(folder, TOP)}')


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ('edit', 'export'):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        {'edit': edit, 'export': export}[sys.argv[1]](sys.argv[2])
    except StageError as err:
        return report_failure(err, os.path.join(TOP, 'build', 'logs'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
