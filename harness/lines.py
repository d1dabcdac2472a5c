"""Kernel lines: one folder kernel/LINE/ per Debian source package, holding
line.toml (the package and what strip.py removes from it), the series for
that line (NN-*/ patch folders) and its cover letter.  A line without patch
folders yet has its reference and base kernels only.

A patch folder holds message, add/ (new files at their kernel paths),
edit.diff (the line's own changes to existing files) and selftests.diff
(changes to the selftests' files).  What every line shares (the selftests,
the UAPI header) lives in the 6.1 line: the other lines' add/ files and
selftests.diff are symlinks to it.  Only a .gitignore is a copy, since git
does not read one through a link."""

import os
import tomllib

from progress import StageError

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL = os.path.join(TOP, 'kernel')
# The line whose series is the project's: its selftests, UAPI header and
# examples are the binaries every kernel of every line runs.
DEFAULT = '6.1'


def load(name):
    """{name, dir, package, tarball, strip} of kernel/NAME/line.toml."""
    path = os.path.join(KERNEL, name, 'line.toml')
    try:
        with open(path, 'rb') as f:
            data = tomllib.load(f)
    except FileNotFoundError as err:
        raise StageError(f'no kernel line {name}: {path} is missing', stage='lines') from err
    except tomllib.TOMLDecodeError as err:
        raise StageError(f'{path}: {err}', stage='lines') from err
    for key in ('package', 'strip'):
        if key not in data:
            raise StageError(f'{path}: no {key}', stage='lines')
    return dict(data, name=name, dir=os.path.dirname(path),
                tarball=f'/usr/src/{data["package"]}.tar.xz')


def names():
    """Every line, oldest first."""
    return sorted((d for d in os.listdir(KERNEL)
                   if os.path.isfile(os.path.join(KERNEL, d, 'line.toml'))),
                  key=lambda n: tuple(int(x) for x in n.split('.')))


def patch_dirs(line):
    """The line's patch folders, in order (those holding a message)."""
    return [os.path.join(line['dir'], d) for d in sorted(os.listdir(line['dir']))
            if os.path.isfile(os.path.join(line['dir'], d, 'message'))]
