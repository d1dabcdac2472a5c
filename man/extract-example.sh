#!/bin/sh
# extract-example.sh PAGE OUT.c
#
# Extract the program in the first .EX/.EE block after ".\" SRC BEGIN" in
# the EXAMPLES section of a man page (without that marker, the last .EX/.EE
# block of the section) and undo the groff escapes it uses, so that the
# result compiles.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 PAGE OUT.c" >&2
	exit 2
fi
page=$1
out=$2

tmp=$out.tmp.$$
trap 'rm -f "$tmp" "$tmp.raw"' EXIT

awk '
/^\.SH / { in_ex = ($0 ~ /^\.SH "?EXAMPLES?"?[ \t]*$/); next }
!in_ex { next }
/^\.\\" SRC BEGIN/ { want = 1; next }
/^\.EX/ { inblk = 1; n = 0; next }
/^\.EE/ {
	if (inblk) {
		inblk = 0
		if (want || !done) {
			nsaved = n
			for (i = 1; i <= n; i++)
				saved[i] = cur[i]
			got = 1
			if (want)
				done = 1
		}
		want = 0
	}
	next
}
inblk && !done {
	if ($0 ~ /^\.\\"/)		# comment line
		next
	cur[++n] = $0
}
END {
	if (!got) {
		print "extract-example.sh: no .EX/.EE block in EXAMPLES" > "/dev/stderr"
		exit 1
	}
	for (i = 1; i <= nsaved; i++)
		print saved[i]
}
' "$page" >"$tmp.raw"

# Refuse escapes this script does not know: the output would not be the
# program the page shows.
known='\(aq\|dq\|ga\|ti\|ha\|rs\)'
if sed -e 's/\\e//g; s/\\-//g' \
       -e "s/\\\\($known//g; s/\\\\\\[$known\\]//g" \
       -e 's/\\[~ &:]//g; s/\\f\[[A-Z]*\]//g; s/\\f[BIRP]//g' "$tmp.raw" |
   grep -n '\\' >&2; then
	echo "extract-example.sh: unhandled groff escape(s) above" >&2
	rm -f "$tmp.raw"
	exit 1
fi

# \e becomes a placeholder first so that "\e\-" cannot turn into "\-".
sed -e 's/\\e/\x01/g' \
    -e 's/\\-/-/g' \
    -e 's/\\(aq/'"'"'/g; s/\\\[aq\]/'"'"'/g' \
    -e 's/\\(dq/"/g; s/\\\[dq\]/"/g' \
    -e 's/\\(ga/`/g; s/\\\[ga\]/`/g' \
    -e 's/\\(ti/~/g; s/\\\[ti\]/~/g' \
    -e 's/\\(ha/^/g; s/\\\[ha\]/^/g' \
    -e 's/\\(rs/\x01/g; s/\\\[rs\]/\x01/g' \
    -e 's/\\~/ /g; s/\\ / /g' \
    -e 's/\\&//g; s/\\:/ /g' \
    -e 's/\\f\[[A-Z]*\]//g; s/\\f[BIRP]//g' \
    -e 's/\x01/\\/g' "$tmp.raw" >"$tmp"
rm -f "$tmp.raw"
mv "$tmp" "$out"
trap - EXIT
