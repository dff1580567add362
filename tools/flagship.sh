#!/bin/sh
# The flagship job (README, first command): scenarios/flagship.scn — a proposer crash forcing
# view changes, then a healed partition, under wallet load — run on the simulator, with its
# timeline, trace, summary and plots written to results/flagship/.
set -eu
cd "$(dirname "$0")/.."
out=results/flagship
mkdir -p "$out"
build/sim/timesim run scenarios/flagship.scn --timeline --trace "$out/trace.txt" \
    > "$out/run.txt"
grep -v '^{' "$out/run.txt" > "$out/timeline.txt" || true
tail -n 1 "$out/run.txt" > "$out/summary.json"
if [ -f tools/plot.py ]; then
    python3 tools/plot.py --trace "$out/trace.txt" --timeline "$out/timeline.txt" \
        --summary "$out/summary.json" --out "$out"
fi
echo "flagship: timeline, trace, summary and plots in $out/"
cat "$out/summary.json"
