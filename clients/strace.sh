# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Set by the sourcing script (limit, expect, rc, secs, ...):
# shellcheck disable=SC2154
#
# strace.sh - strace decoding a tracee's string arguments; sourced by
# run_clients.sh.
#
# strace reads every string and structure argument of its tracee with
# process_vm_readv, and on ENOSYS (or EPERM) falls back to
# ptrace(PTRACE_PEEKDATA), a word at a time.  A second strace watches the
# first one's own calls (not -f: the tracee must stay the inner strace's).
#
# Expects: expect (cma|enosys), the helpers of tap.sh.

# A path longer than a page's worth of PEEKDATA words would be tedious
# but shorter than strace's -s limit, so it is decoded whole.
STRACE_PATH=/tmp/cma-strace-decodes-this-path-through-process_vm_readv-0123456789abcdef

check_strace_decodes() {
	local reads peeks
	run strace-outer strace -qq -o strace-outer.strace \
		-e trace=process_vm_readv,ptrace -e signal=none -s 0 \
		strace -qq -o strace-inner.strace -e trace=openat -s 256 \
		cat "$STRACE_PATH"
	counted "inner strace" strace-outer.strace
	peeks=$(grep -c 'PTRACE_PEEKDATA' strace-outer.strace || true)
	echo "# inner strace: $peeks PTRACE_PEEKDATA calls; cat exit $rc (no such file)"
	if ! grep -q "openat(AT_FDCWD, \"$STRACE_PATH\"" strace-inner.strace; then
		echo "# the path was not decoded:"
		tail -n 3 strace-inner.strace | comment
		return 1
	fi
	echo "# decoded: $(grep -F "$STRACE_PATH" strace-inner.strace | head -n 1)"
	reads=$calls
	if [ "$expect" = cma ]; then
		# All by process_vm_readv: no word fetched by PEEKDATA.
		carried ${#STRACE_PATH} cma && [ "$reads" -gt 0 ] && [ "$peeks" = 0 ]
	else
		carried 0 enosys && [ "$peeks" -gt 0 ]
	fi
}
