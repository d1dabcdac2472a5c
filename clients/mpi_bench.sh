#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mpi_bench.sh - Open MPI's ping-pong at one size with the single copy
# mechanism CMA against none (copy-in/copy-out through shared memory).
#
# Usage: mpi_bench.sh <bindir> [rounds] [size]
#   bindir  holds mpi_pingpong
#   rounds  runs per mechanism, alternating cma, none, cma, ... (default 3)
#   size    message size, k or M suffix (default 8M)
#
# Prints, in cma_bench's format, the median run of each mechanism:
#   bench openmpi_cma <bytes> <ns per message> <MB/s>
#   bench openmpi_none <bytes> <ns per message> <MB/s>
# A message is one direction of a round trip.  Every run verifies every
# byte (mpi_pingpong); a failed run, or vader reporting a failed
# process_vm_readv, prints "bench-fail openmpi_<mech> <bytes> <what>" and
# the exit status is 1.

set -eu

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
	echo "usage: mpi_bench.sh <bindir> [rounds] [size]" >&2
	exit 2
fi
bindir=$(cd "$1" && pwd)
rounds=${2:-3}
size=${3:-8M}
limit=${CLIENTS_TIMEOUT:-600}
PATH=$PATH:/usr/sbin:/sbin
# shellcheck source=clients/mpirun.sh
. "$(dirname "$0")/mpirun.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/mpi_bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
mpi_bring_up_lo

status=0
for round in $(seq "$rounds"); do
	for mech in cma none; do
		rc=0
		timeout -k 10 "$limit" "${MPIRUN[@]}" \
			--mca btl_vader_single_copy_mechanism "$mech" -np 2 \
			"$bindir/mpi_pingpong" -s "$size" -S "$size" -b 64M \
			>run.out 2>run.err || rc=$?
		line=$(grep '^pingpong [0-9]' run.out | tail -n 1 || true)
		echo "# round $round $mech: exit $rc: ${line:-no result}"
		if [ "$rc" != 0 ] || ! grep -qx 'pingpong: ok' run.out ||
		   [ -n "$(cma_failures run)" ] ||
		   [ -z "$line" ]; then
			sed 's/^/# /' run.out run.err | tail -n 10
			echo "bench-fail openmpi_$mech $size run $round failed"
			status=1
			continue
		fi
		# bytes, microseconds per round trip
		echo "$line" | awk '{ print $2, $4 }' >>"$mech.runs"
	done
done

# The median run (by time) of each mechanism, per message.
for mech in cma none; do
	[ -s "$mech.runs" ] || continue
	sort -k2,2g "$mech.runs" | awk -v m="$mech" '
		{ b[NR] = $1; t[NR] = $2 }
		END {
			i = int((NR + 1) / 2)
			ns = t[i] * 1000 / 2
			printf "bench openmpi_%s %d %.1f %.1f\n", m, b[i], ns,
			       b[i] / ns * 1000
		}'
done
exit "$status"
