"""Strip every trace of upstream Cross Memory Attach from a kernel tree.

The syscall tables and headers to edit, and the files to remove, are the
line's data (kernel/LINE/line.toml); the text edits below are the same on
every line so far.  Each edit names exactly what it expects to find; if a
Debian point release moved something, the strip stops and names the file
rather than produce a base that still half-contains CMA.  Afterwards the whole kernel (all but
user-space tools/) is grepped and any reference left is an error.
"""

import glob
import os
import re
import subprocess

from progress import StageError

TABLE_ROW = re.compile(r'^\d+\s+\w+\s+process_vm_(readv|writev)\s.*\n', re.M)
GENERIC_ROW = re.compile(r'^(#define __NR_process_vm_(readv|writev) \d+|'
                         r'__SYSCALL\(__NR_process_vm_(readv|writev), '
                         r'sys_process_vm_(readv|writev)\))\n', re.M)
DEFCONFIG_ROW = re.compile(r'^# CONFIG_CROSS_MEMORY_ATTACH is not set\n', re.M)
LEFTOVER = re.compile(r'process_vm_readv|process_vm_writev|process_vm_rw|'
                      r'process_vm_access|CROSS_MEMORY_ATTACH')

# Exact text to replace in place, on every line: (file, old, new).
TEXT = [
    ('mm/Makefile',
     'ifdef CONFIG_CROSS_MEMORY_ATTACH\n'
     'mmu-$(CONFIG_MMU)\t+= process_vm_access.o\n'
     'endif\n\n', ''),
    ('init/Kconfig',
     'config CROSS_MEMORY_ATTACH\n'
     '\tbool "Enable process_vm_readv/writev syscalls"\n'
     '\tdepends on MMU\n'
     '\tdefault y\n'
     '\thelp\n'
     '\t  Enabling this option adds the system calls process_vm_readv and\n'
     '\t  process_vm_writev which allow a process with the correct privileges\n'
     '\t  to directly read from or write to another process\' address space.\n'
     '\t  See the man page for more details.\n\n', ''),
    ('kernel/sys_ni.c',
     'COND_SYSCALL(process_vm_readv);\n'
     'COND_SYSCALL_COMPAT(process_vm_readv);\n'
     'COND_SYSCALL(process_vm_writev);\n'
     'COND_SYSCALL_COMPAT(process_vm_writev);\n', ''),
    ('include/linux/syscalls.h',
     'asmlinkage long sys_process_vm_readv(pid_t pid,\n'
     '\t\t\t\t     const struct iovec __user *lvec,\n'
     '\t\t\t\t     unsigned long liovcnt,\n'
     '\t\t\t\t     const struct iovec __user *rvec,\n'
     '\t\t\t\t     unsigned long riovcnt,\n'
     '\t\t\t\t     unsigned long flags);\n'
     'asmlinkage long sys_process_vm_writev(pid_t pid,\n'
     '\t\t\t\t      const struct iovec __user *lvec,\n'
     '\t\t\t\t      unsigned long liovcnt,\n'
     '\t\t\t\t      const struct iovec __user *rvec,\n'
     '\t\t\t\t      unsigned long riovcnt,\n'
     '\t\t\t\t      unsigned long flags);\n', ''),
    ('include/linux/ptrace.h',
     ' * of the caller) or through an explicit syscall such as\n'
     ' * process_vm_writev or ptrace (and should use the real credentials).\n',
     ' * of the caller) or through an explicit syscall such as\n'
     ' * ptrace (and should use the real credentials).\n'),
    ('security/yama/yama_lsm.c',
     '\t * exception for the sake of other accesses, like process_vm_rw().\n',
     '\t * exception for the sake of other accesses.\n'),
]


def _edit(tree, path, change):
    full = os.path.join(tree, path)
    if not os.path.exists(full):
        raise StageError(f'{path}: file not found (did the Debian release move it?)')
    with open(full) as f:
        text = f.read()
    new = change(text)
    if new is None:
        raise StageError(f'{path}: the expected CMA text is not there '
                         '(did the Debian release change it?)')
    with open(full, 'w') as f:
        f.write(new)


def _drop_rows(pattern, count):
    def change(text):
        new, n = pattern.subn('', text)
        return new if n == count else None
    return change


def _replace(old, new):
    def change(text):
        return text.replace(old, new) if text.count(old) == 1 else None
    return change


def leftovers(tree):
    """Files outside user-space tools/ that still mention CMA."""
    res = subprocess.run(['git', 'grep', '-l', '-E', LEFTOVER.pattern, '--', '.',
                          ':!tools/'], cwd=tree, capture_output=True, text=True)
    return res.stdout.split()


def strip(tree, data):
    """data: the line's [strip] table (remove, tables, generic)."""
    for path in data['remove']:
        full = os.path.join(tree, path)
        if not os.path.exists(full):
            raise StageError(f'{path}: file not found')
        os.remove(full)
    for path, count in data['tables'].items():
        _edit(tree, path, _drop_rows(TABLE_ROW, count))
    for path, count in data['generic'].items():
        _edit(tree, path, _drop_rows(GENERIC_ROW, count))
    for path, old, new in TEXT:
        _edit(tree, path, _replace(old, new))
    for full in glob.glob(os.path.join(tree, 'arch/*/configs/**/*defconfig'),
                          recursive=True):
        with open(full) as f:
            text = f.read()
        if DEFCONFIG_ROW.search(text):
            with open(full, 'w') as f:
                f.write(DEFCONFIG_ROW.sub('', text))
    subprocess.run(['git', 'add', '-A'], cwd=tree, check=True)
    left = leftovers(tree)
    if left:
        raise StageError('CMA still referenced in: ' + ', '.join(left))
