#!/bin/sh
# Every JSON line timesim writes is valid JSON (RFC 8259, strict UTF-8) whatever bytes the
# scenario's name and file path hold: a name with invalid UTF-8 and quotes, a path with a tab, a
# control byte and invalid UTF-8. Checked: run's summary, sweep's failure lines and tally (whose
# seeds, judged from the children's summaries, must read as failed expectations, not as crashes
# with no summary), shrink's result line and the ledger summary; a seed of 2^64 - 1 stays exact.
#   usage: json_output.sh PATH/TO/timesim
set -u
sim=${1:?usage: json_output.sh TIMESIM}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/json_output.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
checks=0
check() { # name, condition result (0 = ok)
    checks=$((checks + 1))
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}
# Every line of the file is a JSON object in strict UTF-8; prints python's complaint otherwise.
valid() { # file, expected line count
    python3 - "$1" "$2" <<'PY'
import json, sys
raw = open(sys.argv[1], "rb").read()
lines = raw.decode("utf-8").splitlines()  # strict: invalid UTF-8 raises
assert len(lines) == int(sys.argv[2]), f"{len(lines)} lines, want {sys.argv[2]}"
for line in lines:
    assert isinstance(json.loads(line), dict), line
PY
}
field() { # file, line (1-based, -1 last), key
    python3 -c "import json,sys; print(json.loads(open(sys.argv[1],'rb').read().decode('utf-8').splitlines()[int(sys.argv[2]) - (1 if int(sys.argv[2]) > 0 else 0)])[sys.argv[3]])" "$@"
}

scn=$(printf '%s/bad\tname\001\377.scn' "$tmp")
printf 'scenario "quote \\" and bytes \351\377 caf\303\251"\nnodes 4\ncrypto fast\nat 1s crash n1\nat 1s crash n2\nrun 4s\nexpect height >= 3\n' > "$scn"

"$sim" run "$scn" --quiet --seed 18446744073709551615 > "$tmp/run.jsonl" 2>/dev/null
check "run fails its expectation (exit 1)" $(( $? != 1 ))
valid "$tmp/run.jsonl" 1; check "run's summary is valid JSON" $?
[ "$(field "$tmp/run.jsonl" 1 scenario)" = "$(printf 'quote " and bytes \357\277\275\357\277\275 caf\303\251')" ]
check "the name keeps valid UTF-8 and the quote; each bad byte reads U+FFFD" $?
[ "$(field "$tmp/run.jsonl" 1 file)" = "$(printf '%s/bad\tname\001\357\277\275.scn' "$tmp")" ]
check "the path keeps its tab and control byte" $?
[ "$(field "$tmp/run.jsonl" 1 seed)" = 18446744073709551615 ]
check "the seed 2^64 - 1 is written exactly" $?

"$sim" sweep "$scn" --seeds 18446744073709551614..18446744073709551615 --jobs 2 --self-check 1 \
    --quiet > "$tmp/sweep.jsonl" 2>/dev/null
check "sweep fails (exit 1)" $(( $? != 1 ))
valid "$tmp/sweep.jsonl" 3; check "sweep's two failure lines and tally are valid JSON" $?
[ "$(field "$tmp/sweep.jsonl" 1 outcome)" = fail ] && [ "$(field "$tmp/sweep.jsonl" 2 outcome)" = fail ]
check "each seed is judged a failed expectation from its child's summary" $?
[ "$(field "$tmp/sweep.jsonl" -1 crashed)" = 0 ] && [ "$(field "$tmp/sweep.jsonl" -1 failing_seeds)" = "[18446744073709551614, 18446744073709551615]" ]
check "the tally counts no crash and lists both seeds exactly" $?

"$sim" shrink "$scn" --seed 3 --out "$tmp/min.scn" --max-runs 3 --jobs 2 --quiet > "$tmp/shrink.jsonl" 2>/dev/null
check "shrink succeeds (exit 0)" $?
valid "$tmp/shrink.jsonl" 1; check "shrink's result line is valid JSON" $?

"$sim" ledger --seed 18446744073709551615 --blocks 20 --quiet > "$tmp/ledger.jsonl"
valid "$tmp/ledger.jsonl" 1 && [ "$(field "$tmp/ledger.jsonl" 1 seed)" = 18446744073709551615 ]
check "the ledger summary is valid JSON with the exact seed" $?

echo "$((checks - fails))/$checks checks passed"
[ "$fails" -eq 0 ]
