/* sweep.h — `timesim sweep`: one scenario over a range of seeds, each seed one `timesim run`
 * child process (workers.h), and the judging of a child's outcome that the shrinker shares.
 *
 *   timesim sweep FILE.scn --seeds A..B [--jobs J] [--shard K/N] [--junit PATH]
 *                 [--self-check N] [--timeout-s S] [--quiet]
 *
 * Sharding: shard K/N (1 <= K <= N) takes the seeds s of A..B with (s - A) mod N == K - 1,
 * i.e. A+K-1, A+K-1+N, A+K-1+2N, ... The N shards partition the range exactly (every seed in
 * one shard, none twice), whatever A, B and N, so any scheduler (GNU parallel over ssh, a Slurm
 * array, a CI matrix) can run shard K on its K-th machine and concatenate the JSON lines.
 *
 * Self-check: --self-check N runs N of the shard's seeds a second time (seed indices
 * floor(j * count / N), j = 0..N-1: spread over the range, the same on every run) and fails
 * any whose two fingerprints differ (determinism rule 4: same scenario + seed = same run).
 *
 * Output: stdout carries only JSON lines (DESIGN.md): one per failing seed as it finishes,
 *   {"file","seed","outcome","check","detail","fingerprint","wall_ms","replay"}
 * then, after the run, one per self-check mismatch (check "determinism"), then the tally
 *   {"sweep","scenario","seeds","shard","total","passed","failed","bad_input","crashed",
 *    "timeouts","self_check":{"seeds","mismatches"},"checks":{check: count},
 *    "failing_seeds":[... sorted, at most TC_SWEEP_LISTED_MAX],"jobs","wall_ms"}
 * stderr carries the progress line (done/total, failures, seeds/s) and, last, the plain
 * "N passed, M failed". Exit codes: 0 every seed passed, 1 a seed failed (expectation,
 * invariant, crash, timeout, self-check), 2 bad input (the arguments, the scenario, or a child
 * that reported bad input).
 *
 * Wall time is read for progress, timeouts and wall_ms only; what a seed's verdict is never
 * depends on it, except that a child past --timeout-s (default 600 s) is killed and fails.
 */
#ifndef TC_SWEEP_H
#define TC_SWEEP_H

#include <jansson.h>
#include <stdio.h>

#include "base.h"
#include "workers.h"

#define TC_SWEEP_SEEDS_MAX  10000000u /* seeds of one invocation (after the shard split) */
#define TC_SWEEP_KEPT_MAX   100000u   /* failures kept in full; beyond, only counted */
#define TC_SWEEP_LISTED_MAX 1000u     /* failing seeds listed in the tally */
#define TC_SWEEP_TIMEOUT_S  600u      /* default --timeout-s */
#define TC_SWEEP_CHECK_MAX  160       /* bytes of a check name, NUL included */
#define TC_SWEEP_DETAIL_MAX 512

typedef enum {
    TC_SWEEP_PASS = 0,
    TC_SWEEP_FAIL = 1,      /* exit 1: an expectation or invariant failed */
    TC_SWEEP_BAD_INPUT = 2, /* exit 2 */
    TC_SWEEP_CRASH = 3,     /* killed by a signal (an assertion aborts), or no summary line */
    TC_SWEEP_TIMEOUT = 4,   /* killed by the pool after its wall-time limit */
} tc_sweep_outcome;

/* The verdict on one `timesim run` child. check names what failed, stably enough that two runs
 * failing "the same way" have equal checks (the shrinker relies on it):
 *   "violation:<what>"   the first invariant violation (e.g. violation:agreement)
 *   "expect:<text>"      the first failed expectation, as the summary writes it
 *   "harness"            the harness broke a bound
 *   "bad-input", "signal <N>", "no-summary", "exit <N>", "timeout". */
typedef struct {
    uint32_t outcome;                 /* tc_sweep_outcome */
    char check[TC_SWEEP_CHECK_MAX];   /* "" when passed */
    char detail[TC_SWEEP_DETAIL_MAX]; /* the value or message behind it */
    char fingerprint[65];             /* "" when the child printed none */
    uint64_t wall_ms;
} tc_sweep_verdict;

/* Judges a finished child from its exit status and the last JSON line of its stdout. */
void tc_sweep_judge(const tc_workers_result *r, tc_sweep_verdict *out);
/* "pass", "fail", "bad-input", "crash", "timeout". */
const char *tc_sweep_outcome_name(uint32_t outcome);

/* Writes o as one compact JSON line (core/jsonw.h) and flushes; o is released either way. built
 * is false when making o failed somewhere (a member could not be allocated): nothing is written
 * then. Returns 0, or TC_ENOMEM with a message on stderr. */
int tc_sweep_put_json(FILE *f, json_t *o, bool built);

/* `timesim sweep`: argv[1] is "sweep". Returns the exit code. */
int tc_sweep_main(int argc, char **argv);
extern const char tc_sweep_usage[];

/* `timesim run` on several scenarios in parallel, for run.c's --jobs J (J > 1): runs
 * `timesim run FILE [--seed N] --quiet` per file on `jobs` children of this program,
 * prints each child's summary line on stdout in file order, a failing child's stderr on
 * stderr, the tally "N passed, M failed" on stderr (several files), and writes a JUnit report
 * (one case per scenario) to junit_path when not NULL. seed: NULL for each scenario's own.
 * timeout_s: 0 for TC_SWEEP_TIMEOUT_S. Returns the exit code: 2 if a scenario was bad input
 * or the children could not run, else 1 if one failed, else 0. */
int tc_sweep_files(const char *exe, const char *const *files, uint32_t count, const uint64_t *seed,
                   uint32_t jobs, const char *junit_path, uint32_t timeout_s);

#endif
