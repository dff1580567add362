#!/bin/sh
# Splits one `timesim sweep` over several machines with GNU parallel (Debian package
# `parallel`), one shard per job, and merges what the shards print.
#
#   tools/sweep_parallel.sh FILE.scn A..B SHARDS [GNU parallel options...]
#
# Shard K of SHARDS runs `timesim sweep FILE.scn --seeds A..B --shard K/SHARDS`: the seeds s
# with (s - A) mod SHARDS == K - 1, so the shards cover A..B exactly once between them,
# whichever machine runs which. Each shard uses every core of its machine (timesim's --jobs
# defaults to the online CPUs), so give each host one job slot: `--sshlogin 1/host`.
#
# Examples:
#   # this machine only (what tests/programs/sweep_parallel.sh runs):
#   tools/sweep_parallel.sh scenarios/steady-state.scn 1..200 2 --sshlogin :
#   # four hosts, 16 shards (a host that finishes early takes the next shard):
#   TIMESIM=/opt/timecoin/build/sim/timesim \
#   tools/sweep_parallel.sh scenarios/minority-partition.scn 1..100000 16 \
#       --sshlogin 1/alpha,1/beta,1/gamma,1/delta
# TIMESIM and FILE.scn must exist at the same path on every host (a shared checkout, or add
# `--basefile FILE.scn` to copy the scenario); ssh must log in without a password.
#
# Environment: TIMESIM  timesim on every host (default: build/sim/timesim of this checkout)
#              OUT      folder for the results (default: results/sweep-<scenario>-<A>-<B>)
#              JOBS     --jobs of each shard (default: timesim's, the host's CPUs)
# Results in OUT: shards.jsonl (everything the shards printed), failures.jsonl (one line per
# failing seed, sorted by seed, each with its replay command), tally.json (the merged tally),
# joblog (GNU parallel's, with each shard's exit value). stdout: the failing seeds' lines,
# then the merged tally line; stderr: "N passed, M failed".
# Exit: 2 if a shard reported bad input or could not run, else 1 if a seed failed, else 0.
set -eu
if [ $# -lt 3 ]; then
    sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
fi
scn=$1
range=$2
shards=$3
shift 3
root=$(cd "$(dirname "$0")/.." && pwd)
timesim=${TIMESIM:-$root/build/sim/timesim}
name=$(basename "$scn" .scn)
out=${OUT:-$root/results/sweep-$name-$(echo "$range" | sed 's/\.\./-/')}
case "$shards" in '' | *[!0-9]* | 0) echo "sweep_parallel: SHARDS must be a positive number" >&2; exit 2 ;; esac
command -v parallel >/dev/null 2>&1 || { echo "sweep_parallel: GNU parallel is not installed (apt-get install parallel)" >&2; exit 2; }
mkdir -p "$out"

# -q quotes every word for the remote shell; {} is the shard number. A failing shard must not
# stop the others (--halt never): its failures are results.
set +e
parallel -q --halt never --joblog "$out/joblog" "$@" \
    "$timesim" sweep "$scn" --seeds "$range" --shard "{}/$shards" --quiet ${JOBS:+--jobs "$JOBS"} \
    ::: $(seq 1 "$shards") >"$out/shards.jsonl"
set -e

python3 - "$out" "$shards" "$scn" "$range" <<'EOF'
import json, os, sys
out, shards, scn, seeds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
failures, tallies = [], []
with open(os.path.join(out, "shards.jsonl")) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        row = json.loads(line)
        (tallies if "sweep" in row else failures).append(row)
failures.sort(key=lambda r: (r["seed"], r.get("check", "")))
exits = []
with open(os.path.join(out, "joblog")) as f:
    next(f)  # header
    exits = [int(l.split("\t")[6]) for l in f if l.strip()]
merged = {"sweep": scn, "seeds": seeds, "shards": shards, "shards_reported": len(tallies)}
for key in ("total", "passed", "failed", "bad_input", "crashed", "timeouts"):
    merged[key] = sum(t[key] for t in tallies)
merged["self_check"] = {k: sum(t["self_check"][k] for t in tallies) for k in ("seeds", "mismatches")}
checks = {}
for t in tallies:
    for k, v in t["checks"].items():
        checks[k] = checks.get(k, 0) + v
merged["checks"] = dict(sorted(checks.items()))
merged["failing_seeds"] = sorted(s for t in tallies for s in t["failing_seeds"])
merged["shard_exits"] = exits
with open(os.path.join(out, "failures.jsonl"), "w") as f:
    for r in failures:
        line = json.dumps(r, separators=(",", ":"))
        f.write(line + "\n")
        print(line)
with open(os.path.join(out, "tally.json"), "w") as f:
    f.write(json.dumps(merged, separators=(",", ":")) + "\n")
print(json.dumps(merged, separators=(",", ":")))
print("%d passed, %d failed" % (merged["passed"], merged["failed"]), file=sys.stderr)
bad = len(tallies) < shards or any(e not in (0, 1) for e in exits) or merged["bad_input"] > 0
sys.exit(2 if bad else 1 if merged["failed"] > 0 else 0)
EOF
