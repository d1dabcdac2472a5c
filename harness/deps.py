"""Install the Debian packages the chosen targets need, or say in one line why not.

The host facts come from commands (uname, id, dpkg-query, apt-get) so that
harness/test_install.py can replace each with a stub on PATH.
"""

import os
import subprocess

from progress import StageError, run, stage

# Needed whatever the targets: the kernel's build tools, the checkers (rsync:
# the kernel's headers_install copies with it).  Each line's source package
# comes with the targets (kernel/LINE/line.toml).
COMMON = ['gcc', 'make', 'flex', 'bison', 'bc', 'libelf-dev', 'libssl-dev',
          'ccache', 'sparse', 'xz-utils', 'git', 'perl', 'mandoc', 'groff-base',
          'rsync']


def command_output(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except FileNotFoundError:
        return ''


def missing(packages):
    """The packages dpkg does not list as installed ("ii")."""
    try:
        res = subprocess.run(['dpkg-query', '-W', '-f=${Package} ${db:Status-Abbrev}\n']
                             + packages, capture_output=True, text=True)
    except FileNotFoundError as err:
        raise StageError('dpkg-query not found: this harness runs on Debian 12') from err
    installed = {line.split()[0] for line in res.stdout.splitlines()
                 if line.split()[1:2] == ['ii']}
    return [p for p in packages if p not in installed]


def ensure(packages, logdir):
    """Install what is missing; stop before anything else when that cannot be
    done.  Nothing is written unless something is to be installed."""
    wanted = sorted(set(COMMON + packages))
    with stage('install', f'{len(wanted)} Debian packages'):
        machine = command_output(['uname', '-m'])
        if machine != 'x86_64':
            raise StageError(f'host is {machine or "unknown"}; this harness cross-builds '
                             'from an x86_64 Debian 12 host only')
        todo = missing(wanted)
        if not todo:
            return
        if command_output(['id', '-u']) != '0':
            raise StageError(f'not root, and {len(todo)} packages are missing; run as root, '
                             'or first: apt-get install -y ' + ' '.join(todo))
        print(f'            installing: {" ".join(todo)}', flush=True)
        apt(todo, os.path.join(logdir, 'apt.log'))
        left = missing(todo)
        if left:
            raise StageError(f'still missing after apt-get: {" ".join(left)}',
                             log=os.path.join(logdir, 'apt.log'))


def apt(todo, log):
    """apt-get update, then install exactly the missing packages."""
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    try:
        run(['apt-get', 'update'], log=log, env=env)
        run(['apt-get', 'install', '-y', '--no-install-recommends'] + todo, log=log, env=env,
            append=True)
    except StageError as err:
        raise StageError(f'apt-get could not install {" ".join(todo)} (is the Debian '
                         'archive reachable?)', log=log, detail=err.detail) from err
