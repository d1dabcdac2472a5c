# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Set by the sourcing script (limit, expect, rc, secs, ...):
# shellcheck disable=SC2154,SC2034
#
# tap.sh - what the clients' checks share: TAP lines, running a command
# with a time limit, and counting the process_vm_readv/writev calls a
# command made (strace).  Sourced by run_clients.sh.
#
# Expects: limit (seconds per command).  Keeps: ntest, nfail.

ntest=0
nfail=0

# result <0|1> <name>: one TAP line; 0 means passed.
result() {
	ntest=$((ntest + 1))
	if [ "$1" = 0 ]; then
		echo "ok $ntest - $2"
	else
		echo "not ok $ntest - $2"
		nfail=$((nfail + 1))
	fi
}

# check <name> <function>: run one check, print its TAP line.
check() {
	if "$2"; then
		result 0 "$1"
	else
		result 1 "$1"
	fi
}

comment() {
	sed 's/^/# /' "$@"
}

# run <tag> <command...>: stdout to <tag>.out, stderr to <tag>.err;
# sets rc and secs.
run() {
	local tag=$1 t0
	shift
	t0=$(date +%s)
	rc=0
	timeout -k 10 "$limit" "$@" >"$tag.out" 2>"$tag.err" || rc=$?
	secs=$(($(date +%s) - t0))
	[ "$rc" != 124 ] || echo "# $tag: timed out after ${limit}s"
}

# listening <port>: a TCP socket listens on <port> (any address).
listening() {
	local tables=(/proc/net/tcp)
	[ ! -e /proc/net/tcp6 ] || tables+=(/proc/net/tcp6)
	awk -v port="$(printf '%04X' "$1")" '$4 == "0A" && $2 ~ (":" port "$") { found = 1 }
		END { exit !found }' "${tables[@]}"
}

# with_server <tag> <port> <server command...> -- <client command...>:
# start the server (its output in <tag>.srv), wait until it listens on
# <port> (seconds under TCG), run the client as run does, stop the server
# if the client failed (it would wait for it), then wait for the server.
# Sets rc (the client's; 1 if the server failed) and secs.
with_server() {
	local tag=$1 port=$2 server=() pid
	shift 2
	while [ "$1" != -- ]; do
		server+=("$1")
		shift
	done
	shift
	timeout -k 10 "$limit" "${server[@]}" >"$tag.srv" 2>&1 &
	pid=$!
	for _ in $(seq 240); do
		listening "$port" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.25
	done
	run "$tag" "$@"
	[ "$rc" = 0 ] || kill "$pid" 2>/dev/null || true
	wait "$pid" || rc=${rc/#0/1}
}

# The strace options that record only the two calls and their results:
# -s 0 and verbose=none keep buffer contents out of the log.
# shellcheck disable=SC2054 # one argument: trace=a,b
STRACE_CMA=(strace -qq -e trace=process_vm_readv,process_vm_writev
	-e signal=none -e verbose=none -s 0)

# Sum the results of the traced calls in <file>: successful calls, bytes
# they returned, failed calls, by errno.  Calls interrupted by another
# process's line ("<unfinished ...>") are counted once, at their
# "resumed" line.
strace_summary() {
	awk '/process_vm_(readv|writev)/ {
		n = split($0, part, " = ")
		if (n < 2)
			next
		r = part[n]
		if (r ~ /^[0-9]+$/) {
			calls++
			bytes += r
		} else if (r ~ /^-1 /) {
			split(r, word, " ")
			errs++
			byerr[word[2]]++
		}
	}
	END {
		printf "%d %.0f %d", calls, bytes, errs
		for (name in byerr)
			printf " %s:%d", name, byerr[name]
		printf "\n"
	}' "$1"
}

# counted <tag> <file>: sets calls, bytes, errs and detail ("ENOSYS:2 ...")
# from the trace in <file> and prints them.
counted() {
	read -r calls bytes errs detail < <(strace_summary "$2")
	echo "# $1: $calls successful calls returned $bytes bytes," \
		"$errs failed ${detail:-}"
}

# carried <moved> <expect>: with CMA, the successful calls moved at least
# <moved> bytes and none failed; without it, none succeeded and every
# failure was ENOSYS (a client that probes once and never calls again
# may have made no call at all: <expect> enosys0 allows that).
carried() {
	case $2 in
	cma) echo "# expected: at least $1 bytes by successful calls, no failure" ;;
	enosys) echo "# expected: no successful call, every failure ENOSYS" ;;
	enosys0) echo "# expected: no successful call, any failure ENOSYS" ;;
	none) echo "# expected: no call" ;;
	esac
	case $2 in
	cma)
		[ "$calls" -gt 0 ] && [ "$errs" = 0 ] && [ "$bytes" -ge "$1" ] ;;
	enosys)
		[ "$calls" = 0 ] && [ "$errs" -gt 0 ] &&
			[ "$detail" = "ENOSYS:$errs" ] ;;
	enosys0)
		[ "$calls" = 0 ] && { [ "$errs" = 0 ] ||
			[ "$detail" = "ENOSYS:$errs" ]; } ;;
	none)
		[ "$calls" = 0 ] && [ "$errs" = 0 ] ;;
	esac
}
