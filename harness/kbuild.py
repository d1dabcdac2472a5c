"""Configure and build one kernel: tinyconfig (or the target's own starting
config) + fragments, verified, out of tree."""

import hashlib
import os

from progress import StageError, run, stage

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fragments(target, kernel):
    """The fragment files for a kernel: CMA's own option only where it exists."""
    names = list(target['fragments'])
    if kernel == 'nocma':
        names.append('nocma.config')
    elif kernel != 'base':
        names.append('cma.config')
    return [os.path.join(TOP, 'targets', n) for n in names]


def requested(paths):
    """{option: value} from fragment files; 'n' for '# CONFIG_X is not set'."""
    want = {}
    for path in paths:
        for line in open(path):
            line = line.strip()
            if line.startswith('# CONFIG_') and line.endswith(' is not set'):
                want[line[2:-len(' is not set')]] = 'n'
            elif line.startswith('CONFIG_'):
                key, value = line.split('=', 1)
                want[key] = value
    return want


def out_dir(target, kernel):
    return os.path.join(TOP, 'build', 'out', target['name'], kernel)


def ccache_env():
    """Paths below the project are hashed relative to the build directory, so
    another clone of the project (CI's) reuses this machine's ccache.  Both
    lines' kernels of every target, with the review's per-patch builds, are
    more than ccache's default 5 GiB: a smaller cache evicts the first
    kernels before the last are built and CI then builds cold."""
    return dict(os.environ, CCACHE_BASEDIR=TOP, CCACHE_NOHASHDIR='1',
                CCACHE_MAXSIZE=os.environ.get('CCACHE_MAXSIZE', '30G'))


def make_args(target, src, out):
    cross = target['cross']
    return ['make', '-s', '-C', src, f'O={out}', f'ARCH={target["arch"]}',
            f'CROSS_COMPILE={cross}', f'CC=ccache {cross}gcc',
            f'HOSTCC=ccache gcc', f'-j{os.cpu_count()}']


def configure(target, kernel, src, out, log):
    frags = fragments(target, kernel)
    key = hashlib.sha256(b''.join(open(p, 'rb').read() for p in frags)).hexdigest()
    stamp = os.path.join(out, '.fragments.sha256')
    if os.path.exists(stamp) and open(stamp).read() == key:
        return
    start = target.get('config', 'tinyconfig')
    with stage('configure', f'{target["name"]}/{kernel}: {start} + '
               + ' '.join(os.path.basename(p) for p in frags)):
        os.makedirs(out, exist_ok=True)
        run(make_args(target, src, out) + [start], log=log, env=ccache_env())
        with open(os.path.join(out, '.config'), 'a') as config:
            for path in frags:
                config.write(open(path).read())
        run(make_args(target, src, out) + ['olddefconfig'], log=log, env=ccache_env())
        verify(frags, os.path.join(out, '.config'))
        with open(stamp, 'w') as f:
            f.write(key)


def verify(frags, config_path):
    have = {}
    for line in open(config_path):
        if line.startswith('CONFIG_'):
            key, value = line.strip().split('=', 1)
            have[key] = value
    bad = [f'{k}={v} (got {have.get(k, "n")})' for k, v in requested(frags).items()
           if have.get(k, 'n') != v]
    if bad:
        raise StageError('options requested but not in .config '
                         f'(missing dependency?): {", ".join(bad)}', log=config_path)


def build(target, kernel, src):
    """Build the kernel image; return its path."""
    out = out_dir(target, kernel)
    log = os.path.join(out, 'build.log')
    configure(target, kernel, src, out, log)
    image = os.path.join(out, target['image'])
    with stage('build', f'{target["name"]}/{kernel} ({log})'):
        run(make_args(target, src, out) + [os.path.basename(target['image'])], log=log,
            env=ccache_env())
    if not os.path.exists(image):
        raise StageError(f'{image} was not produced', log=log, stage='build')
    return image
