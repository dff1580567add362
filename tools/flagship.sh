#!/bin/sh
# The flagship job (README, first command), both worlds of one core:
#  1. scenarios/flagship.scn — a proposer crash forcing view changes, then a healed partition,
#     under wallet load — on the simulator, with its timeline, trace, summary and plots written
#     to results/flagship/;
#  2. the same core live: a 4-validator testnet of timed on loopback ports 24300..24303
#     (tools/testnet.py), transfers from two wallets over P2P to finality, the nodes' state, and
#     a clean stop; its logs stay in results/flagship/live/.
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
echo "flagship: simulator timeline, trace, summary and plots in $out/"
cat "$out/summary.json"

if [ -x build/net-real/timed ] && [ -x build/net-real/live_client ]; then
    live="$out/live"
    rm -rf "$live"
    echo "flagship: a live 4-validator testnet on 127.0.0.1:24300..24303"
    python3 tools/testnet.py up --dir "$live" --validators 4 --base-port 24300
    # Stop the nodes whatever happens next: they were started by this job, by their pid files.
    trap 'python3 tools/testnet.py down --dir "$live" >/dev/null 2>&1 || true' EXIT
    build/net-real/live_client --genesis "$live/net/genesis.json" --peer 127.0.0.1:24300 \
        "$live/net/keys/wallet-0.json" "$live/net/keys/wallet-1.json"
    python3 tools/testnet.py status --dir "$live"
    python3 tools/testnet.py down --dir "$live"
    trap - EXIT
    echo "flagship: live node logs in $live/node*/timed.log"
fi
