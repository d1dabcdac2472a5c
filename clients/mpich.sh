# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Set by the sourcing script (limit, expect, rc, secs, ...):
# shellcheck disable=SC2154
#
# mpich.sh - MPICH (Debian's mpich: ch4 device over UCX) on this kernel;
# sourced by run_clients.sh.
#
# Debian builds MPICH 4 with the ch4:ucx device and no shared-memory
# module of its own, so ranks on one node talk through UCX, whose
# rendezvous protocol moves large messages with process_vm_readv (the cma
# transport) where the kernel has the calls, and through posix shared
# memory where it has not.  MPICH treats any error from UCX as fatal: a
# short transfer where the reference moves everything would end the job.
# The same programs as for Open MPI, built with mpicc.mpich, verify every
# byte they receive.
#
# Expects: expect (cma|enosys), bindir, BENCH_SIZE and BENCH_BYTES, the
# helpers of tap.sh.

# hydra starts the ranks itself (fork), one node, no ssh.
MPIRUN_MPICH=(mpirun.mpich -launcher fork)

# mpich_verdict <tag> <ok line>: the job passed and printed <ok line>.
mpich_verdict() {
	echo "# $1: exit $rc after ${secs}s"
	[ "$rc" = 0 ] && grep -qx "$2" "$1.out" && return 0
	comment "$1.out" "$1.err" | tail -n 15
	return 1
}

check_mpich_pingpong() {
	run mpich-pingpong "${MPIRUN_MPICH[@]}" -np 2 "$bindir/mpi_pingpong.mpich" -s 1 -S 64M
	grep '^pingpong [0-9]' mpich-pingpong.out | comment
	mpich_verdict mpich-pingpong 'pingpong: ok'
}

# The timed 8 MiB messages traced: every one of their bytes by CMA.
check_mpich_cma_carries_data() {
	local iters want=$expect
	[ "$want" = cma ] || want=enosys0
	run mpich-traced "${STRACE_CMA[@]}" -f -o mpich-traced.strace "${MPIRUN_MPICH[@]}" \
		-np 2 "$bindir/mpi_pingpong.mpich" -s "$BENCH_SIZE" -S "$BENCH_SIZE" -b 32M
	counted mpich-traced mpich-traced.strace
	mpich_verdict mpich-traced 'pingpong: ok' || return 1
	iters=$(awk -v s="$BENCH_BYTES" '$1 == "pingpong" && $2 == s { print $3 }' \
		mpich-traced.out)
	[ "${iters:-0}" -gt 0 ] && carried $((2 * iters * BENCH_BYTES)) "$want"
}

check_mpich_alltoall() {
	local want=$expect
	[ "$want" = cma ] || want=enosys0
	run mpich-alltoall "${STRACE_CMA[@]}" -f -o mpich-alltoall.strace \
		"${MPIRUN_MPICH[@]}" -np 3 "$bindir/mpi_alltoall.mpich" -s 1 -S 4M -f 4 -i 10
	grep -E '^alltoallv? [0-9]' mpich-alltoall.out | comment
	counted mpich-alltoall mpich-alltoall.strace
	# At least one 4 MiB block went by CMA (the program's largest).
	mpich_verdict mpich-alltoall 'alltoall: ok' && carried 4194304 "$want"
}
