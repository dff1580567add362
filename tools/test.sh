#!/bin/sh
# The whole test suite, as CI runs it (README's second command, after tools/setup.sh):
#   1. the Criterion suites and scenario tests on the release build (build/);
#   2. the same suites under AddressSanitizer + UBSan (build-asan/);
#   3. every libFuzzer target on its checked-in seed corpus for a bounded time (build-fuzz/).
# Exits non-zero on the first failing phase. TC_FUZZ_SECONDS sets the total fuzzing budget.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

echo "== release build: tests"
ctest --test-dir build -j "$jobs" --output-on-failure --timeout 600

echo "== sanitizer build (ASan + UBSan): tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTC_SANITIZE=ON >/dev/null
cmake --build build-asan
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -j "$jobs" --output-on-failure --timeout 900

echo "== fuzzing: every target on its seed corpus"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DTC_FUZZ=ON >/dev/null
cmake --build build-fuzz
sh tools/fuzz.sh build-fuzz "${TC_FUZZ_SECONDS:-60}"
