#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run_clients.sh - run real, unmodified users of process_vm_readv/writev
# (Open MPI, glibc, stress-ng here; UCX, libfabric, MPICH and strace in
# the files it sources) and report TAP.
#
# Usage: run_clients.sh <bindir> <expect>
#   bindir  holds mpi_pingpong, mpi_alltoall (Open MPI), their .mpich
#           builds and glibc_wrappers
#   expect  cma     the kernel has Cross Memory Attach (patched, reference)
#           enosys  it has not (base): both calls fail with ENOSYS
#   short   leave out the largest UCX and libfabric messages
#
# Prints TAP version 13 (one line per check, "# " lines for context and
# the measurements) and exits 0 iff every check passed.  Meant for a small
# guest (2 slow CPUs) running as root: at most 3 processes per job.
# Optional environment: CLIENTS_TIMEOUT, seconds per command (default 900).
#
# Open MPI 4.1's vader BTL with btl_vader_single_copy_mechanism=cma moves
# every message of 4 KiB or more (past its eager limit) with one
# process_vm_readv().  When that fails it prints, per failed call,
#     [host:pid] Read -1, expected <bytes>, errno = <errno>
# (opal_output() in mca_btl_vader_get_cma(), "Wrote ..." for puts) and ob1
# falls back to copying through shared memory: the job still succeeds.
# So on a CMA kernel a passing job is not enough; it must also print no
# such line.  On a kernel without CMA the job must print it with
# errno = 38 (ENOSYS), and still pass verification.
#
# That vader did not silently choose another mechanism, and that CMA moved
# the data, is shown with strace: the ranks' process_vm_readv/writev calls
# are counted and their return values summed; the successful calls must
# account for at least every byte of the timed 8 MiB messages.  strace -f
# follows mpirun's fork()s and sees exactly what the kernel returned, which
# neither Open MPI's verbose output nor its MCA variables tell.

# The check_* functions are called through check().
# shellcheck disable=SC2317

set -eu

if [ $# -lt 2 ] || [ $# -gt 3 ] || { [ "$2" != cma ] && [ "$2" != enosys ]; } ||
   { [ $# = 3 ] && [ "$3" != short ]; }; then
	echo "usage: run_clients.sh <bindir> cma|enosys [short]" >&2
	exit 2
fi
bindir=$(cd "$1" && pwd)
expect=$2
# short: the largest UCX and libfabric messages left out (the debug
# kernel, where KASAN makes a 16 MiB ping-pong take minutes).
short=${3:-}
limit=${CLIENTS_TIMEOUT:-900}
PATH=$PATH:/usr/sbin:/sbin

# stress-ng bogo ops: each is an 8 MiB readv plus writev per instance;
# 400 take about 1 s natively, so 20 to 50 s in an emulated guest.
# (Its clone(CLONE_VM) child shares the caller's mm: the same-mm case.)
VMRW_OPS=400
BENCH_SIZE=8M
BENCH_BYTES=8388608

# shellcheck source=clients/mpirun.sh
. "$(dirname "$0")/mpirun.sh"

# shellcheck source=clients/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=clients/ucx.sh
. "$(dirname "$0")/ucx.sh"
# shellcheck source=clients/libfabric.sh
. "$(dirname "$0")/libfabric.sh"
# shellcheck source=clients/mpich.sh
. "$(dirname "$0")/mpich.sh"
# shellcheck source=clients/strace.sh
. "$(dirname "$0")/strace.sh"

# mpi <tag> <mechanism> <ranks> <program> [args...]
mpi() {
	local tag=$1 mech=$2 np=$3
	shift 3
	run "$tag" "${MPIRUN[@]}" --mca btl_vader_single_copy_mechanism \
		"$mech" -np "$np" "$@"
}

# mpi_verdict <tag> <ok line> <cma|enosys>: decide a verified MPI run.
# cma: it passed and vader saw no CMA failure.  enosys: it passed after
# vader saw process_vm_readv fail with ENOSYS, and with nothing else.
mpi_verdict() {
	local tag=$1 okline=$2 want=$3 fails enosys
	fails=$(cma_failures "$tag" | wc -l)
	enosys=$(cma_failures "$tag" | grep -c 'errno = 38$' || true)
	echo "# $tag: exit $rc after ${secs}s," \
		"$fails vader CMA failures ($enosys with errno = 38)"
	if [ "$rc" != 0 ] || ! grep -qx "$okline" "$tag.out"; then
		comment "$tag.out" | tail -n 5
		grep -v -E 'errno = [0-9]+$' "$tag.err" | comment | tail -n 15
		return 1
	fi
	if [ "$want" = cma ]; then
		[ "$fails" = 0 ] && return 0
		cma_failures "$tag" | head -n 3 | comment
		return 1
	fi
	cma_failures "$tag" | head -n 1 | comment
	[ "$enosys" -gt 0 ] && [ "$enosys" = "$fails" ]
}

# MB/s of the pingpong line for <size> in <tag>.out, or "na".
mbps() {
	awk -v s="$2" '$1 == "pingpong" && $2 == s { v = $5 }
		END { print v == "" ? "na" : v }' "$1.out"
}

check_glibc() {
	local want=0
	[ "$expect" = cma ] || want=4
	run glibc "$bindir/glibc_wrappers"
	comment glibc.out glibc.err
	echo "# glibc_wrappers: exit $rc, expected $want"
	[ "$rc" = "$want" ] || return 1
	# Exit 4 is ENOSYS only if the program says so.
	[ "$want" = 0 ] || grep -q '^1\.\.0 # SKIP .*ENOSYS' glibc.out
}

check_pingpong() {
	mpi pingpong cma 2 "$bindir/mpi_pingpong" -s 1 -S 64M
	grep '^pingpong [0-9]' pingpong.out | comment
	mpi_verdict pingpong 'pingpong: ok' "$expect"
}

check_cma_used() {
	local iters msgs calls bytes errs detail
	if ! command -v strace >/dev/null; then
		echo "# strace not found"
		return 1
	fi
	run traced "${STRACE_CMA[@]}" -f -o traced.strace \
		"${MPIRUN[@]}" --mca btl_vader_single_copy_mechanism cma \
		-np 2 "$bindir/mpi_pingpong" -s "$BENCH_SIZE" -S "$BENCH_SIZE" \
		-b 32M
	counted strace traced.strace
	mpi_verdict traced 'pingpong: ok' "$expect" || return 1
	iters=$(awk -v s="$BENCH_BYTES" \
		'$1 == "pingpong" && $2 == s { print $3 }' traced.out)
	# At least: the warm-up round trip is not in the count.
	msgs=$((2 * ${iters:-0}))
	echo "# strace: expected at least $msgs messages of $BENCH_BYTES bytes"
	if [ "$expect" = cma ]; then
		[ "$msgs" -gt 0 ] && [ "$calls" -ge "$msgs" ] &&
			[ "$errs" = 0 ] &&
			[ "$bytes" -ge $((msgs * BENCH_BYTES)) ]
	else
		[ "$calls" = 0 ] && [ "$errs" -gt 0 ] &&
			[ "$detail" = "ENOSYS:$errs" ]
	fi
}

check_alltoall() {
	mpi alltoall cma 3 "$bindir/mpi_alltoall" -s 1 -S 4M -f 4 -i 10
	grep -E '^alltoallv? [0-9]' alltoall.out | comment
	mpi_verdict alltoall 'alltoall: ok' "$expect"
}

# Performance is reported, not asserted: both runs must only pass.
check_bench() {
	local cma=na none ratio=na status=0
	if [ "$expect" = cma ]; then
		mpi bench-cma cma 2 "$bindir/mpi_pingpong" \
			-s "$BENCH_SIZE" -S "$BENCH_SIZE" -b 64M
		mpi_verdict bench-cma 'pingpong: ok' cma || status=1
		cma=$(mbps bench-cma "$BENCH_BYTES")
	fi
	# "none" copies through vader's shared segments and never makes the
	# calls, on any kernel: a CMA failure line would be an error here.
	mpi bench-none none 2 "$bindir/mpi_pingpong" \
		-s "$BENCH_SIZE" -S "$BENCH_SIZE" -b 64M
	mpi_verdict bench-none 'pingpong: ok' cma || status=1
	none=$(mbps bench-none "$BENCH_BYTES")
	if [ "$cma" != na ] && [ "$none" != na ]; then
		ratio=$(awk -v a="$cma" -v b="$none" \
			'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	fi
	echo "# 8 MiB ping-pong: cma $cma MB/s, none $none MB/s," \
		"cma/none $ratio"
	echo "# bench openmpi-pingpong-8MiB cma=$cma none=$none"
	return "$status"
}

check_stress_ng() {
	local ops failed
	run stress stress-ng --vm-rw 2 --vm-rw-ops "$VMRW_OPS" --verify \
		--metrics-brief
	comment stress.err stress.out
	ops=$(awk '$2 == "metrc:" && $4 == "vm-rw" { print $5 }' \
		stress.out stress.err)
	echo "# stress-ng: exit $rc after ${secs}s, ${ops:-no} bogo ops"
	[ "$rc" = 0 ] || return 1
	cat stress.out stress.err >stress.all
	if [ "$expect" = cma ]; then
		# 0.15 exits 0 even after a "fail:" (see the enosys case).
		! grep -q 'fail:' stress.all &&
			grep -q 'successful run completed' stress.all &&
			[ "${ops:-0}" -ge "$VMRW_OPS" ]
	else
		# stress-ng 0.15 does not skip the stressor: each instance
		# reports the failed call and stops, with nothing done.
		failed=$(grep -c 'vm-rw: process_vm_readv failed, errno=38' \
			stress.all || true)
		[ "$failed" = 2 ] && [ "${ops:-x}" = 0 ]
	fi
}

for prog in glibc_wrappers mpi_pingpong mpi_alltoall mpi_pingpong.mpich \
	mpi_alltoall.mpich; do
	if [ ! -x "$bindir/$prog" ]; then
		echo "Bail out! $bindir/$prog missing"
		exit 1
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/clients.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "TAP version 13"
echo "1..15"

mpi_bring_up_lo

echo "# kernel $(uname -r), expect $expect, $(nproc) CPUs"
echo "# $(mpirun.openmpi --version 2>/dev/null | head -n 1); $(stress-ng --version)"
echo "# MPICH $(mpichversion | awk '/Version:/ { print $3 }');" \
	"UCX $(ucx_info -v | awk '/Version/ { print $3 }');" \
	"$(fi_info --version | head -n 1 | tr -d :); $(strace -V | head -n 1)"
echo "# ${MPIRUN[*]} --mca btl_vader_single_copy_mechanism cma -np 2"

check glibc-wrappers check_glibc
check openmpi-pingpong check_pingpong
check openmpi-cma-carries-data check_cma_used
check openmpi-alltoall check_alltoall
check openmpi-pingpong-8MiB-cma-vs-none check_bench
check stress-ng-vm-rw check_stress_ng
check ucx-cma-transport check_ucx_transport
check ucx-uct-get-zcopy-cma check_ucx_get
check ucx-ucp-tag-bw-rendezvous check_ucx_tag_bw
check libfabric-shm-pingpong check_fi_pingpong
check libfabric-shm-cma-disabled check_fi_no_cma
check mpich-pingpong check_mpich_pingpong
check mpich-cma-carries-data check_mpich_cma_carries_data
check mpich-alltoall check_mpich_alltoall
check strace-decodes-strings check_strace_decodes

[ "$nfail" = 0 ] || echo "# $nfail of $ntest checks failed"
exit $((nfail > 0))
