#!/bin/sh
# tools/golden.py on made-up catalog runs (no simulator): a run equal to the pins passes; a
# changed fingerprint, a changed seed and an unpinned scenario fail with exit 1 and name the
# scenario with pinned -> new and the refresh command; a run missing a scenario and a malformed
# golden file are bad input (exit 2); refresh (fed by a fake timesim) rewrites the file and
# prints old -> new, after which check passes.
#   usage: golden_tool.sh
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
golden="$root/tools/golden.py"
pins="$root/tests/golden/fingerprints.txt"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/golden_tool.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
checks=0
check() { # name, condition result (0 = ok)
    checks=$((checks + 1))
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}
# Summary lines equal to the pins, as `timesim run` would print them.
summaries() { # golden file
    awk '!/^#/ && NF == 3 { printf "{\"scenario\":\"x\",\"file\":\"scenarios/%s\",\"seed\":%s,\"fingerprint\":\"%s\",\"verdict\":\"pass\"}\n", $1, $2, $3 }' "$1"
}
zero=0000000000000000000000000000000000000000000000000000000000000000
first=$(awk '!/^#/ && NF == 3 { print $1; exit }' "$pins")
first_seed=$(awk '!/^#/ && NF == 3 { print $2; exit }' "$pins")
first_fp=$(awk '!/^#/ && NF == 3 { print $3; exit }' "$pins")
count=$(grep -vc '^#' "$pins")
pins_sum=$(cksum < "$pins")

summaries "$pins" > "$tmp/same.jsonl"
python3 "$golden" check --summaries "$tmp/same.jsonl" > "$tmp/out" 2>&1
check "a run equal to the pins passes (exit $?)" $?
grep -q "all $count catalog fingerprints match" "$tmp/out"
check "it says all $count match" $?

sed "1s/$first_fp/$zero/" "$tmp/same.jsonl" > "$tmp/fp.jsonl"
python3 "$golden" check --summaries "$tmp/fp.jsonl" > "$tmp/out" 2>&1
[ $? -eq 1 ]
check "a changed fingerprint fails with exit 1" $?
grep -q "^  $first (seed $first_seed): $first_fp -> $zero\$" "$tmp/out"
check "it names $first with pinned -> new" $?
grep -q "1 of $count catalog scenarios differ" "$tmp/out" && grep -q "python3 tools/golden.py refresh" "$tmp/out"
check "it counts 1 of $count and prints the refresh command" $?

sed "1s/\"seed\":$first_seed,/\"seed\":$((first_seed + 1)),/" "$tmp/same.jsonl" > "$tmp/seed.jsonl"
python3 "$golden" check --summaries "$tmp/seed.jsonl" > "$tmp/out" 2>&1
[ $? -eq 1 ] && grep -q "^  $first (seed $first_seed -> $((first_seed + 1))): " "$tmp/out"
check "a changed seed fails with exit 1 and shows seed old -> new" $?

{ cat "$tmp/same.jsonl"; echo "{\"file\":\"scenarios/zz-new.scn\",\"seed\":5,\"fingerprint\":\"$zero\",\"verdict\":\"pass\"}"; } > "$tmp/new.jsonl"
python3 "$golden" check --summaries "$tmp/new.jsonl" > "$tmp/out" 2>&1
[ $? -eq 1 ] && grep -q "^  zz-new.scn: new, not pinned (seed 5, $zero)" "$tmp/out"
check "an unpinned scenario fails with exit 1 and is named new" $?

sed 1d "$tmp/same.jsonl" > "$tmp/short.jsonl"
python3 "$golden" check --summaries "$tmp/short.jsonl" > "$tmp/out" 2>&1
[ $? -eq 2 ] && grep -q "no summary for $first" "$tmp/out"
check "a run without $first's summary is bad input (exit 2)" $?

{ head -n 4 "$pins"; echo "chaos.scn 24 short"; } > "$tmp/bad.txt"
python3 "$golden" check --summaries "$tmp/same.jsonl" --golden "$tmp/bad.txt" > "$tmp/out" 2>&1
[ $? -eq 2 ] && grep -q "bad.txt:5: expected FILE SEED FINGERPRINT" "$tmp/out"
check "a malformed golden line is bad input with file:line (exit 2)" $?

# refresh: a fake timesim prints the changed run; the copy of the pins is rewritten.
printf '#!/bin/sh\ncat "%s"\n' "$tmp/fp.jsonl" > "$tmp/timesim"
chmod +x "$tmp/timesim"
cp "$pins" "$tmp/pins.txt"
python3 "$golden" refresh --timesim "$tmp/timesim" --golden "$tmp/pins.txt" > "$tmp/out" 2>&1
check "refresh exits 0 ($?)" $?
grep -q "$count scenarios, 1 changed (old -> new)" "$tmp/out" &&
    grep -q "^  $first (seed $first_seed): $first_fp -> $zero\$" "$tmp/out"
check "refresh prints the one change old -> new" $?
grep -q "^$first $first_seed $zero\$" "$tmp/pins.txt" && ! grep -q "$first_fp" "$tmp/pins.txt"
check "refresh wrote the new fingerprint in place of the old" $?
python3 "$golden" check --summaries "$tmp/fp.jsonl" --golden "$tmp/pins.txt" > "$tmp/out" 2>&1
check "check passes against the refreshed file ($?)" $?
[ "$(cksum < "$pins")" = "$pins_sum" ]
check "the checked-in pins were not touched" $?

echo "$((checks - fails))/$checks checks passed"
[ "$fails" -eq 0 ]
