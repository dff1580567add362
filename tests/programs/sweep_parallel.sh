#!/bin/sh
# tools/sweep_parallel.sh on this machine (`--sshlogin :`) with two shards over a tiny seed
# range: the merged tally covers every seed once, failures come back sorted with their replay
# commands, and the exit code says whether a seed failed. Skipped (exit 0) without GNU
# parallel (Debian package `parallel`).
#   usage: sweep_parallel.sh PATH/TO/timesim
set -u
sim=${1:?usage: sweep_parallel.sh TIMESIM}
if ! command -v parallel >/dev/null 2>&1; then
    echo "skipped: GNU parallel is not installed (apt-get install parallel)"
    exit 0
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/sweep_parallel.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fails=0
checks=0
check() { # name, condition result (0 = ok)
    checks=$((checks + 1))
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}
field() {
    python3 -c "
import json, sys
v = json.loads([l for l in sys.stdin.read().splitlines() if l.strip()][-1])
for k in '$1'.split('.'):
    v = v[k]
print(json.dumps(v) if isinstance(v, (list, dict)) else v)"
}

cat > "$dir/pass.scn" <<'EOF'
nodes 4
crypto fast
run 6s
expect height >= 2
EOF
cat > "$dir/fail.scn" <<'EOF'
nodes 4
crypto fast
run 4s
expect height >= 100000
EOF

out=$(TIMESIM=$sim OUT=$dir/pass JOBS=1 sh "$root/tools/sweep_parallel.sh" "$dir/pass.scn" 1..6 2 \
      --sshlogin : 2>"$dir/err"); rc=$?
check "a passing sweep over 2 shards exits 0" $rc
[ "$(echo "$out" | field total)" = 6 ] && [ "$(echo "$out" | field passed)" = 6 ] &&
    [ "$(echo "$out" | field shards_reported)" = 2 ]; check "merged tally: 6 seeds from 2 shards" $?
[ "$(tail -n 1 "$dir/err")" = "6 passed, 0 failed" ]; check "plain tally line" $?

out=$(TIMESIM=$sim OUT=$dir/fail JOBS=1 sh "$root/tools/sweep_parallel.sh" "$dir/fail.scn" 3..8 2 \
      --sshlogin : 2>/dev/null); rc=$?
[ $rc -eq 1 ]; check "a failing sweep exits 1" $?
[ "$(echo "$out" | field failing_seeds)" = "[3, 4, 5, 6, 7, 8]" ]; check "every seed once, merged in order" $?
[ "$(wc -l <"$dir/fail/failures.jsonl")" -eq 6 ] &&
    python3 -c "
import json, sys
rows = [json.loads(l) for l in open('$dir/fail/failures.jsonl')]
sys.exit(0 if [r['seed'] for r in rows] == list(range(3, 9)) and all(
    r['replay'].endswith('--seed %d' % r['seed']) for r in rows) else 1)"
check "failures.jsonl: one line per seed, sorted, with replay commands" $?
[ -f "$dir/fail/tally.json" ] && [ "$(field failed <"$dir/fail/tally.json")" = 6 ]; check "tally.json written" $?

echo "$(( checks - fails )) passed, $fails failed"
[ "$fails" -eq 0 ]
