#!/bin/sh
# timesim sweep and timesim shrink end to end, on scenarios written here:
#   sweep: a passing scenario over 6 seeds on 2 jobs (tally, self-check, JUnit), a failing one
#   (one JSON line per seed with its replay command, exit 1), the two shards of a range (they
#   split it exactly), a child past its timeout (killed, reported), chaos seeds under the
#   self-check, `timesim run --jobs` over two files, and bad input (exit 2);
#   shrink: a scenario that cannot hold (height >= 100000) with eight fault events shrinks to
#   none and still fails the same check, a view-change failure keeps the one crash that causes
#   it, an agreement violation loses its faults and most of its run, a chaos scenario is written back as explicit events, and a passing one exits 1.
#   usage: sweep_shrink.sh PATH/TO/timesim
set -u
sim=${1:?usage: sweep_shrink.sh TIMESIM}
dir=$(mktemp -d "${TMPDIR:-/tmp}/sweep_shrink.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fails=0
checks=0
check() { # name, condition result (0 = ok)
    checks=$((checks + 1))
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}
# field KEY [LINE]: a field of the last JSON line of stdin (KEY may be a.b for nesting)
field() {
    python3 -c "
import json, sys
lines = [l for l in sys.stdin.read().splitlines() if l.strip()]
v = json.loads(lines[-1])
for k in '$1'.split('.'):
    v = v[k]
print(json.dumps(v) if isinstance(v, (list, dict)) else v)"
}

cat > "$dir/pass.scn" <<'EOF'
scenario "sweep test: passes"
nodes 4
network latency 20ms jitter 5ms
crypto fast
run 8s
expect safety
expect height >= 2
EOF
cat > "$dir/fail.scn" <<'EOF'
scenario "sweep test: cannot reach height 100000"
seed 3
nodes 4
network latency 20ms jitter 5ms
crypto fast
at 2s crash n1
at 3s pause n2 500ms
at 4s clock n3 jump +2s
at 5s restart n1
at 6s partition n0 n1 | n2 n3
at 7s heal
at 8s crash n2
at 9s restart n2
run 12s
expect safety
expect height >= 100000
EOF
cat > "$dir/crash.scn" <<'EOF'
scenario "shrink test: one crash makes the view change"
seed 5
nodes 4
fullnodes 1
network latency 20ms jitter 5ms
crypto fast
at 2s pause f0 1s
at 3s clock f0 jump +1s
at 4s crash n1
at 6s partition f0 | n0 n1 n2 n3
at 7s heal
at 8s crash f0
at 9s restart f0
run 20s
expect safety
expect view-changes == 0
EOF
cat > "$dir/chaos.scn" <<'EOF'
scenario "shrink test: chaos"
seed 11
nodes 7
crypto fast
chaos faults 6 heal-by 20s
run 30s
expect height >= 100000
EOF
cat > "$dir/fork.scn" <<'EOF'
scenario "shrink test: an equivocator over a third forks without expect fork"
seed 18
nodes 3
tier n2 silver
network latency 20ms jitter 5ms
crypto fast
byzantine n2 equivocate
at 300ms pause n0 100ms
at 500ms partition n0 | n1
at 3s clock n1 jump +1s
at 4s clock n1 jump -1s
at 8s heal
at 9s crash n0
at 10s restart n0
run 20s
expect safety
EOF
cat > "$dir/slow.scn" <<'EOF'
nodes 4
crypto fast
run 600m
EOF

# ---- sweep ----
out=$("$sim" sweep "$dir/pass.scn" --seeds 1..6 --jobs 2 --self-check 2 --junit "$dir/j.xml" \
      --quiet 2>"$dir/err"); rc=$?
check "passing sweep exits 0" $rc
[ "$(echo "$out" | wc -l)" -eq 1 ]; check "passing sweep prints only the tally" $?
[ "$(echo "$out" | field total)" = 6 ] && [ "$(echo "$out" | field passed)" = 6 ] &&
    [ "$(echo "$out" | field failed)" = 0 ]; check "tally: 6 seeds, 6 passed" $?
[ "$(echo "$out" | field self_check.seeds)" = 2 ] &&
    [ "$(echo "$out" | field self_check.mismatches)" = 0 ]; check "self-check: 2 seeds, same fingerprints" $?
[ "$(tail -n 1 "$dir/err")" = "6 passed, 0 failed" ]; check "plain tally line on stderr" $?
python3 - "$dir/j.xml" <<'EOF'; check "JUnit report parses: 8 testcases, 0 failures" $?
import sys, xml.etree.ElementTree as E
s = E.parse(sys.argv[1]).getroot().find("testsuite")
names = [c.get("name") for c in s.findall("testcase")]
sys.exit(0 if s.get("tests") == "8" and s.get("failures") == "0" and len(names) == 8
         and names[:6] == ["seed %d" % k for k in range(1, 7)] else 1)
EOF

out=$("$sim" sweep "$dir/fail.scn" --seeds 10..12 --jobs 2 --junit "$dir/f.xml" --quiet 2>/dev/null); rc=$?
[ $rc -eq 1 ]; check "failing sweep exits 1" $?
[ "$(echo "$out" | grep -c '"replay":"timesim run ')" -eq 3 ]; check "one line per failing seed, with its replay command" $?
echo "$out" | head -n 3 | python3 -c "
import json, sys
rows = [json.loads(l) for l in sys.stdin]
ok = sorted(r['seed'] for r in rows) == [10, 11, 12] and all(
    r['check'] == 'expect:height >= 100000' and r['replay'].endswith('--seed %d' % r['seed'])
    for r in rows)
sys.exit(0 if ok else 1)"; check "failing lines name the seed and the failed expectation" $?
[ "$(echo "$out" | field failed)" = 3 ] &&
    [ "$(echo "$out" | field checks)" = '{"expect:height >= 100000": 3}' ] &&
    [ "$(echo "$out" | field failing_seeds)" = '[10, 11, 12]' ]; check "tally counts the failures by check" $?
python3 -c "
import sys, xml.etree.ElementTree as E
s = E.parse('$dir/f.xml').getroot().find('testsuite')
sys.exit(0 if s.get('failures') == '3' and len(s.findall('testcase/failure')) == 3 else 1)"
check "JUnit report has the 3 failures" $?

a=$("$sim" sweep "$dir/fail.scn" --seeds 1..7 --shard 1/2 --jobs 2 --quiet 2>/dev/null | field failing_seeds)
b=$("$sim" sweep "$dir/fail.scn" --seeds 1..7 --shard 2/2 --jobs 2 --quiet 2>/dev/null | field failing_seeds)
[ "$a" = "[1, 3, 5, 7]" ] && [ "$b" = "[2, 4, 6]" ]; check "shards 1/2 and 2/2 split 1..7 exactly ($a $b)" $?

out=$("$sim" sweep "$dir/slow.scn" --seeds 1..2 --jobs 2 --timeout-s 1 --quiet 2>/dev/null); rc=$?
[ $rc -eq 1 ] && [ "$(echo "$out" | field timeouts)" = 2 ] &&
    [ "$(echo "$out" | head -n 1 | field check)" = timeout ]; check "a child past --timeout-s is killed and fails" $?

out=$("$sim" sweep "$dir/chaos.scn" --seeds 1..2 --jobs 2 --self-check 2 --quiet 2>/dev/null)
[ "$(echo "$out" | field self_check.seeds)" = 2 ] &&
    [ "$(echo "$out" | field self_check.mismatches)" = 0 ] &&
    [ "$(echo "$out" | field failed)" = 2 ]; check "chaos seeds replay with one fingerprint (self-check)" $?

out=$("$sim" run "$dir/fail.scn" "$dir/pass.scn" --jobs 2 --quiet 2>"$dir/err"); rc=$?
[ $rc -eq 1 ] && [ "$(echo "$out" | wc -l)" -eq 2 ] &&
    [ "$(echo "$out" | head -n 1 | field file)" = "$dir/fail.scn" ] &&
    [ "$(echo "$out" | field file)" = "$dir/pass.scn" ] &&
    [ "$(tail -n 1 "$dir/err")" = "1 passed, 1 failed" ]; check "run --jobs 2: summaries in file order, tally" $?

"$sim" sweep "$dir/pass.scn" --seeds 5..1 >/dev/null 2>&1; check "reversed range is bad input (2)" $(( $? != 2 ))
"$sim" sweep "$dir/pass.scn" >/dev/null 2>&1; check "missing --seeds is bad input (2)" $(( $? != 2 ))
"$sim" sweep "$dir/pass.scn" --seeds 1..2 --shard 3/2 >/dev/null 2>&1; check "shard 3/2 is bad input (2)" $(( $? != 2 ))
printf 'nodes 4\nrun 1s\nbogus\n' > "$dir/bad.scn"
"$sim" sweep "$dir/bad.scn" --seeds 1..2 >/dev/null 2>"$dir/err"; rc=$?
[ $rc -eq 2 ] && grep -q "bad.scn:3:" "$dir/err"; check "a bad scenario is one file:line error (2)" $?

# ---- shrink ----
out=$("$sim" shrink "$dir/fail.scn" --jobs 2 --quiet); rc=$?
[ $rc -eq 0 ]; check "shrink of a failing scenario exits 0" $?
[ "$(echo "$out" | field original_events)" = 8 ] &&
    [ "$(echo "$out" | field shrunk_events)" -lt 8 ]; check "fewer events ($(echo "$out" | field shrunk_events) of 8)" $?
[ "$(echo "$out" | field out)" = "$dir/fail-shrunk-seed3.scn" ] && [ -f "$dir/fail-shrunk-seed3.scn" ]
check "written to FILE-shrunk-seedN.scn" $?
[ "$(echo "$out" | field check)" = "expect:height >= 100000" ]; check "the check it kept is the original's" $?
again=$("$sim" run "$dir/fail-shrunk-seed3.scn" --quiet 2>/dev/null); rc=$?
[ $rc -eq 1 ] && echo "$again" | python3 -c "
import json, sys
r = json.loads(sys.stdin.read().splitlines()[-1])
sys.exit(0 if [x['expect'] for x in r['expectations'] if not x['pass']] == ['height >= 100000'] else 1)"
check "the shrunk scenario still fails the same expectation" $?

out=$("$sim" shrink "$dir/crash.scn" --out "$dir/crash-min.scn" --jobs 2 --quiet); rc=$?
n=$(echo "$out" | field shrunk_events)
[ $rc -eq 0 ] && [ "$n" -ge 1 ] && [ "$n" -lt 7 ] && grep -q "^at 4s crash n1$" "$dir/crash-min.scn"
check "a view-change failure keeps the crash that causes it ($n of 7 events)" $?

out=$("$sim" shrink "$dir/chaos.scn" --out "$dir/chaos-min.scn" --jobs 2 --max-runs 30 --quiet); rc=$?
[ $rc -eq 0 ] && [ "$(echo "$out" | field original_events)" -gt 0 ] &&
    ! grep -q "^chaos" "$dir/chaos-min.scn" && grep -q "^seed 11$" "$dir/chaos-min.scn"
check "chaos is shrunk as explicit events, the seed written in" $?
[ "$(echo "$out" | field runs)" -le 30 ]; check "--max-runs bounds the children" $?

out=$("$sim" shrink "$dir/fork.scn" --jobs 2 --quiet); rc=$?
[ $rc -eq 0 ] && [ "$(echo "$out" | field check)" = "violation:agreement" ] &&
    [ "$(echo "$out" | field shrunk_events)" -lt 7 ] &&
    [ "$(echo "$out" | field run_ms)" -lt 20000 ]
check "a violation shrinks its events and its run ($(echo "$out" | field shrunk_events) of 7, $(echo "$out" | field run_ms) ms)" $?
again=$("$sim" run "$dir/fork-shrunk-seed18.scn" --quiet 2>/dev/null); rc=$?
[ $rc -eq 1 ] && [ "$(echo "$again" | field violations.first | python3 -c "
import json, sys; print(json.loads(sys.stdin.read())[0]['what'])")" = agreement ]
check "the shrunk scenario still breaks agreement" $?

# --max-runs 1: only the original runs, so the file written is the whole expanded schedule
"$sim" shrink "$dir/chaos.scn" --out "$dir/chaos-all.scn" --max-runs 1 --quiet >/dev/null 2>&1
fa=$("$sim" run "$dir/chaos.scn" --seed 11 --quiet 2>/dev/null | field fingerprint)
fb=$("$sim" run "$dir/chaos-all.scn" --quiet 2>/dev/null | field fingerprint)
[ -n "$fa" ] && [ "$fa" = "$fb" ] && grep -q "^at " "$dir/chaos-all.scn"
check "a chaos run and its written schedule have one fingerprint ($fa)" $?

"$sim" shrink "$dir/pass.scn" --quiet >/dev/null 2>&1; check "a passing scenario has nothing to shrink (1)" $(( $? != 1 ))
"$sim" shrink "$dir/bad.scn" >/dev/null 2>&1; check "shrink of a bad scenario exits 2" $(( $? != 2 ))

echo "$(( checks - fails )) passed, $fails failed"
[ "$fails" -eq 0 ]
