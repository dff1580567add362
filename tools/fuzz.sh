#!/bin/sh
# Runs every libFuzzer target in BUILD_DIR for a share of a total time budget, starting from its
# checked-in seed corpus (tests/fuzz/corpus/<target>/). New inputs go to a scratch folder so the
# checked-in corpus only changes by a deliberate copy. A crash leaves its input in
# results/fuzz/<target>/ and fails the run.
#   usage: sh tools/fuzz.sh BUILD_DIR [TOTAL_SECONDS]
set -eu
build=${1:?usage: tools/fuzz.sh BUILD_DIR [TOTAL_SECONDS]}
total=${2:-60}
targets=$(find "$build" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x | sort)
[ -n "$targets" ] || { echo "fuzz: no targets in $build" >&2; exit 1; }
count=$(echo "$targets" | wc -l)
share=$(( total / count ))
[ "$share" -ge 1 ] || share=1
failed=0
passed=0
for t in $targets; do
    name=$(basename "$t")
    seeds="tests/fuzz/corpus/$name"
    scratch=$(mktemp -d)
    artifacts="results/fuzz/$name"
    mkdir -p "$artifacts"
    [ -d "$seeds" ] && cp -r "$seeds/." "$scratch/"
    echo "fuzz: $name for ${share}s"
    if "$t" -max_total_time="$share" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$artifacts/" -print_final_stats=1 "$scratch" \
            >"$artifacts/log.txt" 2>&1; then
        passed=$((passed + 1))
        grep -E 'stat::number_of_executed_units' "$artifacts/log.txt" | sed "s/^/fuzz: $name /" || true
    else
        failed=$((failed + 1))
        echo "fuzz: $name FAILED; log and crashing input in $artifacts/" >&2
        tail -n 30 "$artifacts/log.txt" >&2
    fi
    rm -rf "$scratch"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
