# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Set by the sourcing script (limit, expect, rc, secs, ...):
# shellcheck disable=SC2154
#
# ucx.sh - UCX (ucx-utils) on this kernel; sourced by run_clients.sh.
#
# UCX's cma transport (uct_cma) moves data with one process_vm_readv or
# process_vm_writev per get or put, up to 16 iovecs a call; UCP's
# rendezvous protocol uses it for large messages when UCX_TLS includes
# cma.  UCX probes for the calls when it loads: where they answer ENOSYS
# there is no cma transport at all.
#
# ucx_perftest runs as a server and a client that meet on a TCP port of
# loopback.  The process that calls is traced: for a UCT get the client
# (initiator) reads the server's buffer; for a UCP tag-matched send the
# receiver (server) gets the sender's buffer.
#
# Expects: expect (cma|enosys), the helpers of tap.sh.

UCX_PORT=13337

# ucx_pair <tag> <server strace or -> <client strace or -> <args...>:
# start "ucx_perftest <args>" as a server, then as its client.  A trace
# file of "-" means not traced.  Sets rc (the client's; 1 if the server
# failed) and secs.
ucx_pair() {
	local tag=$1 strace_s=$2 strace_c=$3 server client
	shift 3
	UCX_PORT=$((UCX_PORT + 1))
	server=(ucx_perftest -p "$UCX_PORT" "$@")
	[ "$strace_s" = - ] || server=("${STRACE_CMA[@]}" -f -o "$strace_s" "${server[@]}")
	client=(ucx_perftest 127.0.0.1 -p "$UCX_PORT" "$@")
	[ "$strace_c" = - ] || client=("${STRACE_CMA[@]}" -f -o "$strace_c" "${client[@]}")
	with_server "$tag" "$UCX_PORT" "${server[@]}" -- "${client[@]}"
}

# The "Final:" line's overall bandwidth (MB/s) of <tag>.out, or "na".
ucx_mbps() {
	awk '$1 == "Final:" { v = $7 } END { print v == "" ? "na" : v }' "$1.out"
}

check_ucx_transport() {
	local n
	run ucx_info ucx_info -d
	n=$(grep -c 'Transport: cma' ucx_info.out || true)
	echo "# ucx_info -d: exit $rc, $n cma transport(s); $(ucx_info -v | head -n 1)"
	[ "$rc" = 0 ] || return 1
	if [ "$expect" = cma ]; then
		[ "$n" -gt 0 ]
	else
		[ "$n" = 0 ]
	fi
}

# UCT get, zero copy, over cma: 8 B to 64 MiB; the client's calls must
# add up to every byte read.
check_ucx_get() {
	local size iters status=0
	if [ "$expect" != cma ]; then
		# No transport: the test must be refused, not run by copying.
		ucx_pair ucx-get - ucx-get.strace -t get -d memory -x cma -D zcopy \
			-s 4096 -n 10 -w 1
		counted ucx-get ucx-get.strace
		comment ucx-get.out ucx-get.err | grep -i cma | head -n 3
		echo "# ucx_perftest -x cma: exit $rc (must fail: no cma transport)"
		[ "$rc" != 0 ] && grep -q 'Cannot use cma/memory' ucx-get.out ucx-get.err &&
			carried 0 enosys0
		return
	fi
	for size in 8 4096 65536 1048576 ${short:+-}67108864; do
		[ "$size" -gt 0 ] || continue
		iters=$((size >= 1048576 ? 67108864 * 2 / size : 50))
		[ "$iters" -ge 2 ] || iters=2
		ucx_pair "ucx-get-$size" - "ucx-get-$size.strace" -t get -d memory \
			-x cma -D zcopy -s "$size" -n "$iters" -w 1
		echo "# get $size B x $iters: exit $rc after ${secs}s," \
			"$(ucx_mbps "ucx-get-$size") MB/s"
		counted "get $size" "ucx-get-$size.strace"
		[ "$rc" = 0 ] && carried $((size * iters)) cma || status=1
	done
	return "$status"
}

# UCP tag-matched bandwidth with UCX_TLS including cma: 8 MiB messages go
# by rendezvous, which the receiver completes with process_vm_readv; on a
# kernel without the calls UCX must still deliver them (by posix shared
# memory) without one successful call.
check_ucx_tag_bw() {
	local size=8388608 iters=8
	UCX_TLS=self,posix,cma ucx_pair ucx-tag ucx-tag.strace - -t tag_bw \
		-s "$size" -n "$iters" -w 1
	echo "# tag_bw 8 MiB x $iters, UCX_TLS=self,posix,cma: exit $rc after" \
		"${secs}s, $(ucx_mbps ucx-tag) MB/s"
	counted "tag_bw receiver" ucx-tag.strace
	if [ "$rc" != 0 ]; then
		comment ucx-tag.out ucx-tag.err ucx-tag.srv | tail -n 10
		return 1
	fi
	if [ "$expect" = cma ]; then
		carried $((size * iters)) cma
	else
		carried 0 enosys0
	fi
}
