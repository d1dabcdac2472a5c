#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fabric_bench.sh - UCX's get over cma and libfabric's shm ping-pong, for
# make bench.
#
# Usage: fabric_bench.sh [rounds]   (default 3)
#
# Prints, in cma_bench's format, the median run of each case:
#   bench ucx_get_cma <bytes> <ns per get> <MB/s>        1 MiB and 8 MiB
#   bench fi_shm_pingpong <bytes> <ns per transfer> <MB/s>   1 MiB
# (ucx_perftest's overall latency of a get; fi_pingpong's usec/xfer, one
# direction of a round trip, with data checking on).  A failed run prints
# "bench-fail <case> <bytes> <what>" and the exit status is 1.

set -eu

rounds=${1:-3}
limit=${CLIENTS_TIMEOUT:-600}
expect=cma
PATH=$PATH:/usr/sbin:/sbin
# shellcheck source=clients/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=clients/ucx.sh
. "$(dirname "$0")/ucx.sh"
# shellcheck source=clients/libfabric.sh
. "$(dirname "$0")/libfabric.sh"
# shellcheck source=clients/mpirun.sh
. "$(dirname "$0")/mpirun.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/fabric_bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
mpi_bring_up_lo

status=0
# record <case> <bytes> <usec or empty>: one run's time per operation.
record() {
	if [ "$rc" != 0 ] || [ -z "$3" ]; then
		echo "bench-fail $1 $2 run $round: exit $rc"
		status=1
		return
	fi
	echo "# round $round $1 $2: $3 us"
	echo "$2 $3" >>"$1.$2.runs"
}

for round in $(seq "$rounds"); do
	for size in 1048576 8388608; do
		ucx_pair "get-$size" - - -t get -d memory -x cma -D zcopy -s "$size" \
			-n $((64 * 1048576 / size)) -w 2
		record ucx_get_cma "$size" \
			"$(awk '$1 == "Final:" { print $5 }' "get-$size.out")"
	done
	fi_pair fi-1m 1048576 32 untraced
	record fi_shm_pingpong 1048576 \
		"$(awk '$2 ~ /^[0-9]+$/ && $3 ~ /^=/ { print $7 }' fi-1m.out)"
done

for runs in *.runs; do
	[ -e "$runs" ] || continue
	sort -k2,2g "$runs" | awk -v m="${runs%%.*}" '
		{ b[NR] = $1; t[NR] = $2 }
		END {
			i = int((NR + 1) / 2)
			ns = t[i] * 1000
			printf "bench %s %d %.1f %.1f\n", m, b[i], ns, b[i] / ns * 1000
		}'
done
exit "$status"
