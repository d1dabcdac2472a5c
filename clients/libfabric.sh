# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Set by the sourcing script (limit, expect, rc, secs, ...):
# shellcheck disable=SC2154
#
# libfabric.sh - libfabric's shm provider (libfabric-bin's fi_pingpong) on
# this kernel; sourced by run_clients.sh.
#
# shm sends a message above its inject size by handing the peer an iovec
# of its own buffer, which the peer reads with process_vm_readv, looping
# on partial returns.  It probes the calls with a process_vm_writev into
# the peer when the endpoints meet, and on failure (or with
# FI_SHM_DISABLE_CMA=1) copies through its shared-memory segments instead.
# The client is traced (each rank reads the other's messages, so the
# client's reads are one direction's bytes); tracing the server too made
# the run several times slower on the debug kernel, for no more proof.
#
# Expects: expect (cma|enosys), the helpers of tap.sh.

# Below Linux's ephemeral range (32768-60999), which loopback clients use.
FI_PORT=24600

# fi_pair <tag> <size> <iterations> [untraced]: fi_pingpong over shm, RDM
# endpoints, data checking on, the client traced into <tag>.strace unless
# asked not to.  Sets rc (the client's; 1 if the server failed) and secs.
fi_pair() {
	local tag=$1 size=$2 iters=$3 trace_c=()
	[ "${4:-}" = untraced ] || trace_c=("${STRACE_CMA[@]}" -f -o "$tag.strace")
	FI_PORT=$((FI_PORT + 1))
	with_server "$tag" "$FI_PORT" \
		fi_pingpong -p shm -e rdm -c -I "$iters" -S "$size" -B "$FI_PORT" -- \
		"${trace_c[@]}" fi_pingpong -p shm -e rdm -c -I "$iters" -S "$size" \
		-P "$FI_PORT" 127.0.0.1
}

# MB/s of the result line of <tag>.out (its sixth column), or "na".
fi_mbps() {
	awk '$2 ~ /^[0-9]+$/ && $3 ~ /^=/ { v = $6 } END { print v == "" ? "na" : v }' \
		"$1.out"
}

# 1 KiB to 16 MiB with every byte checked; the server's messages above the
# inject size must all have reached the client by CMA, every iteration.
check_fi_pingpong() {
	local size iters moved=0 want
	want=$expect
	[ "$want" = cma ] || want=enosys0
	: >fi.strace
	for size in 1024 65536 1048576 ${short:+-}16777216; do
		[ "$size" -gt 0 ] || continue
		iters=$((size >= 1048576 ? 16777216 / size / 2 + 2 : 10))
		fi_pair "fi-$size" "$size" "$iters"
		echo "# fi_pingpong $size B x $iters: exit $rc after ${secs}s," \
			"$(fi_mbps "fi-$size") MB/s"
		if [ "$rc" != 0 ]; then
			comment "fi-$size.out" "fi-$size.err" "fi-$size.srv" | tail -n 10
			return 1
		fi
		cat "fi-$size.strace" >>fi.strace
		[ "$size" -le 4096 ] || moved=$((moved + iters * size))
	done
	counted "fi_pingpong, the client" fi.strace
	carried "$moved" "$want"
}

# The control: with CMA disabled by the user, shm must make no call.
check_fi_no_cma() {
	FI_SHM_DISABLE_CMA=1 fi_pair fi-off 1048576 8
	echo "# fi_pingpong 1 MiB x 8, FI_SHM_DISABLE_CMA=1: exit $rc after ${secs}s"
	counted "fi_pingpong, the client" fi-off.strace
	[ "$rc" = 0 ] && carried 0 none
}
