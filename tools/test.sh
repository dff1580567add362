#!/bin/sh
# The whole test suite, as CI runs it (README's second command, after tools/setup.sh):
#   1. the release build (build/, rebuilt with TC_WERROR=ON: warnings are errors here) and its
#      Criterion suites, program tests, the scenario catalog and its golden fingerprints;
#   2. timesim built with clang (build-clang/, timesim only) against the same golden
#      fingerprints: the fingerprint must not depend on the compiler;
#   3. the same suites under AddressSanitizer + UBSan (build-asan/), the catalog there without
#      its scale scenarios (minutes each under the sanitizers; the release build runs them);
#   4. every libFuzzer target on its checked-in seed corpus for a bounded time (build-fuzz/);
#   5. chaos sweeps: every scenarios/chaos*.scn over TC_CHAOS_SEEDS seeds each (default 200)
#      on worker processes, each with a determinism self-check that re-runs some seeds and
#      compares fingerprints; every scenario is swept even after one fails.
# Exits non-zero on the first failing phase. TC_FUZZ_SECONDS sets the total fuzzing budget.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

echo "== release build: tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTC_WERROR=ON >/dev/null
cmake --build build
ctest --test-dir build -j "$jobs" --output-on-failure --timeout 600

echo "== clang build: timesim and the golden fingerprints"
cmake -S . -B build-clang -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTC_WERROR=ON -DTC_TESTS=OFF >/dev/null
cmake --build build-clang --target timesim
python3 tools/golden.py check --timesim build-clang/sim/timesim --jobs "$jobs"

echo "== sanitizer build (ASan + UBSan): tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTC_SANITIZE=ON -DTC_WERROR=ON \
    >/dev/null
cmake --build build-asan
# The catalog runs here without its scale scenarios (scenarios/scale-*.scn): their size is
# their point, and under the sanitizers one takes minutes (scale-128 about 10x its 35 s). The
# release build above runs them, with the golden fingerprints.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -j "$jobs" --output-on-failure --timeout 900 \
    -E '^(scenario_catalog|golden_fingerprints)$'
echo "== sanitizer build: the scenario catalog but scenarios/scale-*.scn"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build-asan/sim/timesim run $(ls scenarios/*.scn | grep -v '/scale-') --quiet --jobs "$jobs" \
    > build-asan/scenario_catalog.jsonl

echo "== fuzzing: every target on its seed corpus"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DTC_FUZZ=ON -DTC_WERROR=ON >/dev/null
# Only the fuzz targets: the programs are built and tested above.
cmake --build build-fuzz --target $(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')
sh tools/fuzz.sh build-fuzz "${TC_FUZZ_SECONDS:-60}"

chaos_failed=""
for scn in scenarios/chaos*.scn; do
    name=$(basename "$scn" .scn)
    echo "== chaos sweep: $scn, ${TC_CHAOS_SEEDS:-200} seeds"
    build/sim/timesim sweep "$scn" --seeds "1..${TC_CHAOS_SEEDS:-200}" --jobs "$jobs" \
        --self-check 4 --junit "results/$name-sweep.xml" ||
        chaos_failed="$chaos_failed $name"
done
if [ -n "$chaos_failed" ]; then
    echo "== chaos sweeps failed:$chaos_failed" >&2
    exit 1
fi
