#!/bin/sh
# The whole scenario catalog: every scenario's expectations and invariants must hold. The
# summary lines are kept in OUT for the golden_fingerprints test (tools/golden.py), which
# compares them with tests/golden/fingerprints.txt instead of running the catalog again.
#   usage: scenario_catalog.sh PATH/TO/timesim SCENARIO_DIR OUT
set -u
sim=${1:?usage: scenario_catalog.sh TIMESIM DIR OUT}
dir=${2:?usage: scenario_catalog.sh TIMESIM DIR OUT}
out=${3:?usage: scenario_catalog.sh TIMESIM DIR OUT}
rm -f "$out"
"$sim" run "$dir" --quiet --jobs 2 > "$out.tmp"
rc=$?
cat "$out.tmp"
mv "$out.tmp" "$out"
exit $rc
