/* shrink.h — `timesim shrink`: reduces a failing run's fault schedule to a small one that still
 * fails the same way, and writes it as a new scenario (tc_scn_write, canonical form).
 *
 *   timesim shrink FILE.scn [--seed N] [--out PATH] [--max-runs R] [--jobs J] [--timeout-s S]
 *
 * Method. The scenario is parsed and its chaos statement expanded with the seed (chaos.h), so
 * the schedule is explicit; the seed is written into the scenario (`seed N`), so the shrunk
 * file replays alone. The faults are the timeline's crash, restart, partition, heal, pause,
 * clock and byzantine events (register and load events stay: they are the workload, and later
 * events name registered nodes). A fault and the event that ends it form one unit (a crash and
 * its node's next restart, a partition and the next heal, a clock jump and the jump that undoes
 * it), so a shrunk schedule heals what the original healed: an unhealed fault would fail many
 * expectations for a reason of its own. Every other fault event is a unit. Each candidate is the
 * scenario with some units left out, written to a temporary file, checked by parsing it back (a
 * candidate the language refuses is never run), then run as a `timesim run FILE --seed N --quiet`
 * child and judged (sweep.h). A candidate counts as failing only if it fails THE SAME check as the
 * original run (tc_sweep_verdict.check: the same violated invariant, or the same expectation).
 *   1. the original is run; if it passes, there is nothing to shrink (exit 1);
 *   2. no fault at all is tried;
 *   3. ddmin over the units (Zeller & Hildebrandt): subsets, then complements, at granularity
 *      2, 4, ... up to one unit per part;
 *   4. each remaining unit is tried without (1-minimality);
 *   5. for an invariant violation only (it must hold whether or not faults heal), each
 *      remaining unit drops its ending event (the node stays crashed, the cut stays);
 *   6. unless the check is an expectation, the `run` length is bisected down to whole seconds,
 *      never below the last event nor the end of a liveness window. An expectation (a height,
 *      a count of view changes, a liveness window) is measured over the whole run: a shorter
 *      run fails it for a reason of its own, so its run is left as it was.
 * Candidates of one step are tried in order, up to J at a time; the step takes the first one in
 * order that fails the same way, so the result does not depend on J. Every child counts as one
 * run; at --max-runs (default 200) shrinking stops and the smallest failing scenario so far is
 * written.
 *
 * Output: progress on stderr; the scenario at --out (default FILE-shrunk-seedN.scn, FILE
 * without its .scn); last on stdout one JSON line {"original_events","shrunk_events","runs",
 * "out","check","seed","run_ms_original","run_ms"} (events: fault events). Exit codes: 0 a
 * shrunk scenario was written, 1 the scenario does not fail with this seed (nothing written),
 * 2 bad input.
 */
#ifndef TC_SHRINK_H
#define TC_SHRINK_H

#define TC_SHRINK_MAX_RUNS     200u /* default --max-runs */
#define TC_SHRINK_MAX_RUNS_MAX 100000u
#define TC_SHRINK_RUN_STEP_MS  1000u /* run lengths are bisected to whole seconds */

/* `timesim shrink`: argv[1] is "shrink". Returns the exit code. */
int tc_shrink_main(int argc, char **argv);
extern const char tc_shrink_usage[];

#endif
