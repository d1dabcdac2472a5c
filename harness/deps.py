"""Install the Debian packages the chosen targets need, or say in one line why not."""

import os
import platform
import subprocess

from progress import StageError, run, stage

# Needed whatever the targets: the kernel source, its build tools, the checkers.
COMMON = ['linux-source-6.1', 'gcc', 'make', 'flex', 'bison', 'bc', 'libelf-dev',
          'libssl-dev', 'ccache', 'sparse', 'xz-utils', 'git', 'perl',
          'mandoc', 'groff-base']


def missing(packages):
    res = subprocess.run(['dpkg-query', '-W', '-f=${Package} ${db:Status-Abbrev}\n']
                         + packages, capture_output=True, text=True)
    installed = {line.split()[0] for line in res.stdout.splitlines()
                 if line.split()[1:2] == ['ii']}
    return [p for p in packages if p not in installed]


def ensure(packages, logdir):
    """Install what is missing; stop before anything else when that cannot be done."""
    wanted = sorted(set(COMMON + packages))
    with stage('install', f'{len(wanted)} Debian packages'):
        if platform.machine() != 'x86_64':
            raise StageError(f'install: host is {platform.machine()}; this harness '
                             'cross-builds from an x86_64 Debian 12 host only')
        todo = missing(wanted)
        if not todo:
            return
        if os.geteuid() != 0:
            raise StageError('install: not root; run as root or first: '
                             'apt-get install -y ' + ' '.join(todo))
        log = os.path.join(logdir, 'apt.log')
        env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
        print(f'            installing: {" ".join(todo)}', flush=True)
        try:
            run(['apt-get', 'update'], log=log, env=env)
            run(['apt-get', 'install', '-y', '--no-install-recommends'] + todo,
                log=log + '.install', env=env)
        except StageError as err:
            raise StageError(f'install: apt-get could not install {" ".join(todo)} '
                             f'(is the Debian archive reachable?)\n{err}') from err
        left = missing(todo)
        if left:
            raise StageError(f'install: still missing after apt-get: {" ".join(left)}')
