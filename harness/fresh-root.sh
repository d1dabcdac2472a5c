#!/usr/bin/env bash
# The README's first command on a fresh machine: a minimal Debian 12 root
# (debootstrap, nothing of the project's installed), a fresh clone of this
# repository's HEAD bind-mounted into it, and `make` run inside as root.
# It needs nothing but Debian's archive, as this host's apt knows it.
#
#   bash harness/fresh-root.sh [make target ...]     default: make (the demo)
#
# Not part of make check (it takes many minutes and downloads ~1 GB): run it
# before resolving anything that touches set-up.  Everything lands in
# build/fresh/; the last lines are the times the README records.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
fresh=$top/build/fresh
root=$fresh/root
log=$fresh/fresh-root.log
targets=("${@:-all}")
start=$SECONDS
stage_start=$SECONDS
current=setup

say() { printf '[%-9s] %s\n' "$1" "$2"; }
begin() { current=$1; stage_start=$SECONDS; say "$1" "$2"; }
done_() { say "$current" "done in $((SECONDS - stage_start)) s"; }
fail() {
	echo "error: [$current] $1 (log: $log)" >&2
	exit 1
}
trap 'fail "command failed (line $LINENO)"' ERR

cleanup() {
	for m in src dev/pts dev sys proc; do
		mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
	done
	return 0
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "error: [setup] not root: debootstrap and chroot need root" >&2; exit 1; }
mkdir -p "$fresh"
: > "$log"

# The host's Debian archive: its deb822 sources for bookworm (Debian 12's
# default file), else its one-line sources.
sources_file() {
	local f
	for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && grep -q '^Suites:.*bookworm' "$f" && { echo "$f"; return; }
	done
	[ -f /etc/apt/sources.list ] && grep -q '^deb .* bookworm' /etc/apt/sources.list &&
		{ echo /etc/apt/sources.list; return; }
	return 1
}
mirror() {
	local f=$1
	if [[ $f == *.sources ]]; then
		awk '/^URIs:/ { uri = $2 } /^Suites:.*bookworm( |$)/ { print uri; exit }' "$f"
	else
		awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' "$f"
	fi
}

begin host "debootstrap on the host"
command -v debootstrap >/dev/null ||
	{ apt-get update >>"$log" 2>&1 && apt-get install -y debootstrap >>"$log" 2>&1; }
src_list=$(sources_file) || fail "no Debian 12 (bookworm) archive in this host's apt sources"
url=$(mirror "$src_list")
[ -n "$url" ] || fail "no bookworm URI in $src_list"
done_

begin debootstrap "minimal bookworm root -> $root"
cleanup
rm -rf "$root"
debootstrap --variant=minbase bookworm "$root" "$url" >>"$log" 2>&1
cp "$src_list" "$root/etc/apt/${src_list#/etc/apt/}"
done_

begin bootstrap "what the README says a bare machine needs: git, make, python3"
mount -t proc proc "$root/proc"
mount --bind /sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
chroot "$root" apt-get update >>"$log" 2>&1
chroot "$root" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends git make python3 ca-certificates >>"$log" 2>&1
done_

begin clone "$(git -C "$top" rev-parse --short HEAD) -> $fresh/clone, mounted at /src"
rm -rf "$fresh/clone"
git clone -q "$top" "$fresh/clone"
mkdir -p "$root/src"
mount --bind "$fresh/clone" "$root/src"
done_

begin make "make ${targets[*]} inside the root (output also in $fresh/make.log)"
trap - ERR
set +e
chroot "$root" sh -c "cd /src && make ${targets[*]}" 2>&1 | tee "$fresh/make.log"
status=${PIPESTATUS[0]}
set -e
done_
install_s=$(sed -n 's/^\[install  \] done in \([0-9.]*\) s$/\1/p' "$fresh/make.log" | head -1)
total=$((SECONDS - start))
echo
echo "fresh root: $(date +%F), make ${targets[*]}: exit $status, total $((total / 60)) min" \
	"$((total % 60)) s, install stage ${install_s:-?} s, make $((SECONDS - stage_start)) s"
exit "$status"
