#!/bin/sh
# tools/plot.py end to end: the flagship run's trace and timeline become three valid, non-trivial
# PNGs (with their gnuplot scripts and data next to them), the per-transfer finality records of
# the timeline agree with the summary's quantiles (plot.py warns otherwise), and garbage input
# exits 2 with a file:line message.
#   usage: plot.sh PATH/TO/timesim
set -u
sim=${1:?usage: plot.sh TIMESIM}
root=$(cd "$(dirname "$0")/../.." && pwd)
plot="$root/tools/plot.py"
tmp=$(mktemp -d /tmp/tc-plot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
checks=0
check() { # name, condition result (0 = ok)
    checks=$((checks + 1))
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}

"$sim" run "$root/scenarios/flagship.scn" --trace "$tmp/trace.txt" --timeline --quiet \
    > "$tmp/timeline.txt"
check "timesim run flagship passes (exit 0)" $?
python3 "$plot" --trace "$tmp/trace.txt" --timeline "$tmp/timeline.txt" --out "$tmp/plots" \
    2> "$tmp/plot.err"
check "plot.py exits 0" $?
! grep -q warning "$tmp/plot.err"
check "timeline finality records match the summary ($(grep -c warning "$tmp/plot.err") warnings)" $?

for name in heights finality_cdf messages; do
    png="$tmp/plots/$name.png"
    magic=$(head -c 8 "$png" 2>/dev/null | od -An -tx1 | tr -d ' \n')
    [ "$magic" = "89504e470d0a1a0a" ]
    check "$name.png is a PNG (magic $magic)" $?
    size=$(wc -c < "$png" 2>/dev/null || echo 0)
    [ "$size" -gt 15000 ]
    check "$name.png is not trivial ($size bytes > 15000)" $?
    [ -s "$tmp/plots/$name.gp" ]
    check "$name.gp is written next to it" $?
done
[ "$(grep -c '^[0-9]' "$tmp/plots/finality.dat")" -gt 6000 ]
check "finality.dat holds a point per final transfer (> 6000)" $?
grep -q '^VOTE_BATCH [1-9]' "$tmp/plots/messages.dat"
check "messages.dat counts VOTE_BATCH deliveries" $?

head -c 4096 /dev/urandom > "$tmp/garbage.bin"
printf '0 n0 start 1\nthis is not a trace line\n' > "$tmp/garbage.txt"
python3 "$plot" --trace "$tmp/garbage.bin" --timeline "$tmp/timeline.txt" --out "$tmp/g1" \
    2>/dev/null
check "a binary trace is bad input (exit 2)" $(($? != 2))
python3 "$plot" --trace "$tmp/garbage.txt" --timeline "$tmp/timeline.txt" --out "$tmp/g2" \
    2> "$tmp/g2.err"
check "a garbage trace line is bad input (exit 2)" $(($? != 2))
grep -q "garbage.txt:2:" "$tmp/g2.err"
check "the error names file:line ($(head -c 120 "$tmp/g2.err"))" $?
python3 "$plot" --trace "$tmp/trace.txt" --timeline "$tmp/garbage.txt" --out "$tmp/g3" \
    2>/dev/null
check "a garbage timeline is bad input (exit 2)" $(($? != 2))
python3 "$plot" --trace "$tmp/trace.txt" --out "$tmp/g4" 2>/dev/null
check "a missing --timeline is bad usage (exit 2)" $(($? != 2))

echo "$((checks - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
