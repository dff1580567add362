/* sweep.c — `timesim sweep` (see sweep.h): arguments, the seed list of a shard, the worker pool
 * of `timesim run` children, judging each child, the self-check, the tally, the JUnit report;
 * and tc_sweep_files, the parallel `timesim run` of several scenarios.
 */
#include "sweep.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonw.h"
#include "junit.h"
#include "scenario.h"

#define EXE_MAX       4096
#define SEED_TEXT_MAX 24
#define TICK_TTY_MS   250          /* progress redraw on a terminal ... */
#define TICK_LOG_MS   5000         /* ... and a line this often in a log */
#define CHILD_OUT_MAX (256u << 10) /* a summary line is a few kB; room for a --timeline */

const char tc_sweep_usage[] =
    "usage: timesim sweep FILE.scn --seeds A..B [options]\n"
    "\n"
    "Runs the scenario once per seed of A..B (inclusive), each seed a `timesim run` child\n"
    "process, and reports every failing seed with the command that replays it.\n"
    "\n"
    "options:\n"
    "  --jobs J          children at once                              (online CPUs)\n"
    "  --shard K/N       only seeds s with (s - A) mod N == K - 1: the N shards split A..B\n"
    "                    exactly, so N machines can each run one      (1/1)\n"
    "  --junit PATH      write a JUnit XML report, one testcase per seed\n"
    "  --self-check N    run N seeds twice; a fingerprint that differs fails (determinism)\n"
    "  --timeout-s S     kill and fail a child running longer than S seconds   (600)\n"
    "  --quiet           no progress line\n"
    "\n"
    "stdout: one JSON line per failing seed, then the tally JSON line; stderr: progress and\n"
    "\"N passed, M failed\". Exit 0 all passed, 1 a seed failed, 2 bad input.\n";

/* ---- small helpers shared with the parallel run ---- */

int tc_sweep_put_json(FILE *f, json_t *o, bool built)
{
    TC_ASSERT(f != NULL);
    char *line = built ? tc_jsonw_line(o) : NULL;
    json_decref(o);
    if (line == NULL) {
        fprintf(stderr, "timesim: out of memory writing a JSON line\n");
        return TC_ENOMEM;
    }
    fputs(line, f);
    fflush(f);
    free(line);
    return 0;
}

static void copy_text(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src != NULL ? src : "");
}

/* The last non-empty line of a child's output (in place: the caller's copy). */
static char *last_line(char *text)
{
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = 0;
    char *nl = strrchr(text, '\n');
    return nl != NULL ? nl + 1 : text;
}

/* ---- judging a child ---- */

const char *tc_sweep_outcome_name(uint32_t outcome)
{
    static const char *const names[] = {"pass", "fail", "bad-input", "crash", "timeout"};
    TC_ASSERT(outcome < TC_ARRAY_LEN(names));
    return names[outcome];
}

/* The summary line, parsed; NULL when the last line is not a JSON object. Integers are read
 * as numbers (a seed past INT64_MAX must not make the whole line unreadable). */
static json_t *summary_of(const tc_workers_result *r)
{
    char *copy = strdup(r->out != NULL ? r->out : "");
    if (copy == NULL)
        return NULL;
    json_error_t e;
    json_t *j = json_loads(last_line(copy), JSON_DECODE_INT_AS_REAL, &e);
    free(copy);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* The first thing that failed, from the summary (run.c's fields). */
static void failed_check(json_t *j, tc_sweep_verdict *v)
{
    json_t *harness = json_object_get(j, "harness_error");
    json_t *viol = json_object_get(j, "violations");
    json_t *first = json_array_get(json_object_get(viol, "first"), 0);
    if (json_is_string(harness)) {
        copy_text(v->check, sizeof(v->check), "harness");
        copy_text(v->detail, sizeof(v->detail), json_string_value(harness));
        return;
    }
    if (json_number_value(json_object_get(viol, "count")) > 0 && first != NULL) {
        snprintf(v->check, sizeof(v->check), "violation:%s",
                 json_string_value(json_object_get(first, "what")));
        copy_text(v->detail, sizeof(v->detail),
                  json_string_value(json_object_get(first, "detail")));
        return;
    }
    size_t k;
    json_t *x;
    json_array_foreach(json_object_get(j, "expectations"), k, x)
    {
        if (!json_is_false(json_object_get(x, "pass")))
            continue;
        snprintf(v->check, sizeof(v->check), "expect:%s",
                 json_string_value(json_object_get(x, "expect")));
        double line = json_number_value(json_object_get(x, "line")); /* 0: added by chaos */
        const char *value = json_string_value(json_object_get(x, "value"));
        if (line > 0)
            snprintf(v->detail, sizeof(v->detail), "line %.0f: %s", line, value);
        else
            copy_text(v->detail, sizeof(v->detail), value);
        return;
    }
    copy_text(v->check, sizeof(v->check), "exit 1");
}

/* The child's last stderr line: an assertion message, a parse error. */
static void stderr_detail(const tc_workers_result *r, tc_sweep_verdict *v)
{
    char *copy = strdup(r->err != NULL ? r->err : "");
    if (copy != NULL)
        copy_text(v->detail, sizeof(v->detail), last_line(copy));
    free(copy);
}

void tc_sweep_judge(const tc_workers_result *r, tc_sweep_verdict *v)
{
    TC_ASSERT(r != NULL && v != NULL);
    memset(v, 0, sizeof(*v));
    v->wall_ms = r->wall_ms;
    json_t *j = summary_of(r);
    copy_text(v->fingerprint, sizeof(v->fingerprint),
              json_string_value(json_object_get(j, "fingerprint")));
    bool passed = json_is_string(json_object_get(j, "verdict")) &&
                  strcmp(json_string_value(json_object_get(j, "verdict")), "pass") == 0;
    if (r->timed_out) {
        v->outcome = TC_SWEEP_TIMEOUT;
        copy_text(v->check, sizeof(v->check), "timeout");
        snprintf(v->detail, sizeof(v->detail), "killed after %" PRIu64 " ms", r->wall_ms);
    } else if (r->signal != 0) {
        v->outcome = TC_SWEEP_CRASH;
        snprintf(v->check, sizeof(v->check), "signal %d", r->signal);
        stderr_detail(r, v);
    } else if (r->exit_code == 0 && passed) {
        v->outcome = TC_SWEEP_PASS;
    } else if (r->exit_code == 1 && j != NULL) {
        v->outcome = TC_SWEEP_FAIL;
        failed_check(j, v);
    } else if (r->exit_code == 2) {
        v->outcome = TC_SWEEP_BAD_INPUT;
        copy_text(v->check, sizeof(v->check), "bad-input");
        stderr_detail(r, v);
    } else {
        v->outcome = TC_SWEEP_CRASH;
        if (j == NULL)
            copy_text(v->check, sizeof(v->check), "no-summary");
        else
            snprintf(v->check, sizeof(v->check), "exit %d", r->exit_code);
        stderr_detail(r, v);
    }
    json_decref(j);
    TC_ASSERT((v->outcome == TC_SWEEP_PASS) == (v->check[0] == 0));
}

/* ---- the sweep ---- */

typedef struct {
    const char *file;
    uint64_t first_seed, last_seed; /* A..B */
    uint32_t shard_k, shard_n;
    uint32_t jobs;
    const char *junit;
    uint64_t self_check;
    uint32_t timeout_s;
    bool quiet;
} sweep_cli;

typedef struct {
    uint64_t index; /* of the seed in the shard */
    tc_sweep_verdict v;
} failure;

typedef struct {
    sweep_cli c;
    char exe[EXE_MAX];
    char scenario[TC_SCN_NAME_MAX + 1];
    uint64_t count;      /* seeds in the shard */
    uint64_t *check_idx; /* self-check seed indices, increasing */
    char (*fp)[2][65];   /* self-check fingerprints: first and second run */
    uint8_t *status;     /* tc_sweep_outcome of each seed's first run */
    uint32_t *wall_ms;   /* of each seed's first run (JUnit only) */
    failure *kept;       /* the first TC_SWEEP_KEPT_MAX failures */
    uint64_t kept_count;
    uint64_t done, failed, by_outcome[5];
    uint64_t progress_done; /* done at the last progress line */
    uint64_t start_ms;
    bool tty;
    char seed_text[SEED_TEXT_MAX];
} sweep;

static uint64_t seed_of(const sweep *w, uint64_t index)
{
    TC_ASSERT(index < w->count);
    return w->c.first_seed + (w->c.shard_k - 1) + index * w->c.shard_n;
}

/* Job j < count is seed j's run; job count + i is the second run of self-check seed i. */
static uint64_t job_seed_index(const sweep *w, uint64_t job)
{
    return job < w->count ? job : w->check_idx[job - w->count];
}

static int64_t check_slot(const sweep *w, uint64_t index)
{
    uint64_t lo = 0, hi = w->c.self_check;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (w->check_idx[mid] < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < w->c.self_check && w->check_idx[lo] == index ? (int64_t)lo : -1;
}

static int sweep_argv(void *ctx, uint64_t job, char **argv, uint32_t argv_max)
{
    sweep *w = ctx;
    TC_ASSERT(argv_max >= 7);
    snprintf(w->seed_text, sizeof(w->seed_text), "%" PRIu64, seed_of(w, job_seed_index(w, job)));
    char *words[] = {w->exe, "run", (char *)w->c.file, "--seed", w->seed_text, "--quiet", NULL};
    memcpy(argv, words, sizeof(words));
    return 0;
}

/* A failure line's start: {"file", "seed", "outcome", "check"}. */
static json_t *failure_json(const sweep *w, uint64_t seed, const char *outcome, const char *check)
{
    json_t *o = json_object();
    if (tc_jsonw_set(o, "file", tc_jsonw_str(w->c.file)) != 0 ||
        tc_jsonw_set(o, "seed", tc_jsonw_u64(seed)) != 0 ||
        tc_jsonw_set(o, "outcome", tc_jsonw_str(outcome)) != 0 ||
        tc_jsonw_set(o, "check", tc_jsonw_str(check)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Ends a failure line with "replay": "timesim run FILE --seed N" and writes it. */
static void put_failure(const sweep *w, uint64_t seed, json_t *o, bool built)
{
    char replay[EXE_MAX + 64];
    snprintf(replay, sizeof(replay), "timesim run %s --seed %" PRIu64, w->c.file, seed);
    built = built && o != NULL && tc_jsonw_set(o, "replay", tc_jsonw_str(replay)) == 0;
    (void)tc_sweep_put_json(stdout, o, built); /* a line lost to memory is said on stderr */
}

static void print_failure(const sweep *w, uint64_t seed, const tc_sweep_verdict *v)
{
    json_t *o = failure_json(w, seed, tc_sweep_outcome_name(v->outcome), v->check);
    int bad = tc_jsonw_set(o, "detail", tc_jsonw_str(v->detail));
    bad |= tc_jsonw_set(o, "fingerprint", tc_jsonw_str(v->fingerprint));
    bad |= tc_jsonw_set(o, "wall_ms", tc_jsonw_u64(v->wall_ms));
    put_failure(w, seed, o, bad == 0);
}

static void sweep_done(void *ctx, const tc_workers_result *r)
{
    sweep *w = ctx;
    tc_sweep_verdict v;
    tc_sweep_judge(r, &v);
    uint64_t index = job_seed_index(w, r->index);
    int64_t slot = check_slot(w, index);
    w->done++;
    if (slot >= 0)
        snprintf(w->fp[slot][r->index < w->count ? 0 : 1], 65, "%.64s",
                 v.fingerprint[0] ? v.fingerprint : v.check); /* a crash compares by its check */
    if (r->index >= w->count)
        return; /* a second run counts through the fingerprint comparison only */
    w->status[index] = (uint8_t)v.outcome;
    w->by_outcome[v.outcome]++;
    if (w->wall_ms != NULL)
        w->wall_ms[index] = v.wall_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)v.wall_ms;
    if (v.outcome == TC_SWEEP_PASS)
        return;
    w->failed++;
    print_failure(w, seed_of(w, index), &v);
    if (w->kept_count < TC_SWEEP_KEPT_MAX) {
        failure *grown = realloc(w->kept, (size_t)(w->kept_count + 1) * sizeof(failure));
        if (grown == NULL)
            return; /* counted, not kept: the tally stays right, the details are lost */
        w->kept = grown;
        w->kept[w->kept_count++] = (failure){index, v};
    }
}

static void progress_line(sweep *w, bool last)
{
    if (w->c.quiet || (!last && !w->tty && w->done == w->progress_done))
        return; /* a log gets a line only when something changed */
    w->progress_done = w->done;
    uint64_t total = w->count + w->c.self_check;
    uint64_t ms = tc_workers_wall_ms() - w->start_ms;
    uint64_t rate10 = ms > 0 ? w->done * 10000 / ms : 0; /* seeds/s, one decimal */
    fprintf(stderr,
            "%ssweep: %" PRIu64 "/%" PRIu64 " done, %" PRIu64 " failed, %" PRIu64 ".%" PRIu64
            " seeds/s%s",
            w->tty ? "\r" : "", w->done, total, w->failed, rate10 / 10, rate10 % 10,
            w->tty ? "   " : "\n");
    fflush(stderr);
}

static void sweep_progress(void *ctx)
{
    progress_line(ctx, false);
}

#define MISMATCH     0x80u /* status bit: the seed's self-check fingerprints differ */
#define OUTCOME_MASK 0x7Fu

static bool mismatched(const sweep *w, uint64_t slot)
{
    return strcmp(w->fp[slot][0], w->fp[slot][1]) != 0;
}

/* Compares the self-check pairs, prints one line per mismatch in seed order, and counts the
 * seeds that only the self-check failed into w->failed. Returns the mismatches. */
static uint64_t settle_self_check(sweep *w)
{
    uint64_t mismatches = 0;
    for (uint64_t k = 0; k < w->c.self_check; k++) {
        if (!mismatched(w, k))
            continue;
        uint64_t index = w->check_idx[k], seed = seed_of(w, index);
        mismatches++;
        w->failed += w->status[index] == TC_SWEEP_PASS ? 1 : 0;
        w->status[index] |= MISMATCH;
        json_t *o = failure_json(w, seed, "fail", "determinism"), *pair = json_array();
        int bad = json_array_append_new(pair, tc_jsonw_str(w->fp[k][0]));
        bad |= json_array_append_new(pair, tc_jsonw_str(w->fp[k][1]));
        bad |= tc_jsonw_set(o, "fingerprints", pair);
        put_failure(w, seed, o, bad == 0);
    }
    return mismatches;
}

static int cmp_failure_check(const void *a, const void *b)
{
    const failure *x = a, *y = b;
    int c = strcmp(x->v.check, y->v.check);
    return c != 0 ? c : x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_failure_index(const void *a, const void *b)
{
    const failure *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* "checks": {check: seeds} over the kept failures, keys sorted (a stable tally). Two checks
 * that read the same once made valid UTF-8 share a key, their counts added. */
static int put_checks(json_t *o, sweep *w, uint64_t mismatches)
{
    if (w->kept_count > 0) /* qsort must not see NULL, even for no elements */
        qsort(w->kept, w->kept_count, sizeof(failure), cmp_failure_check);
    json_t *checks = json_object();
    int bad = 0;
    for (uint64_t k = 0; k < w->kept_count;) {
        uint64_t n = 1;
        while (k + n < w->kept_count && strcmp(w->kept[k + n].v.check, w->kept[k].v.check) == 0)
            n++;
        json_t *key = tc_jsonw_str(w->kept[k].v.check); /* the key as it will read */
        if (key == NULL) {
            bad = TC_ENOMEM;
            break;
        }
        uint64_t had =
            (uint64_t)json_integer_value(json_object_get(checks, json_string_value(key)));
        bad |= tc_jsonw_set(checks, json_string_value(key), tc_jsonw_u64(had + n));
        json_decref(key);
        k += n;
    }
    if (mismatches > 0)
        bad |= tc_jsonw_set(checks, "determinism", tc_jsonw_u64(mismatches));
    if (w->kept_count > 0) /* sorted by seed again, for the JUnit walk */
        qsort(w->kept, w->kept_count, sizeof(failure), cmp_failure_index);
    return bad | tc_jsonw_set(o, "checks", checks);
}

/* "total" .. "self_check": the counts. */
static int put_counts(json_t *o, const sweep *w, uint64_t mismatches)
{
    json_t *self = json_object();
    int bad = tc_jsonw_set(self, "seeds", tc_jsonw_u64(w->c.self_check));
    bad |= tc_jsonw_set(self, "mismatches", tc_jsonw_u64(mismatches));
    bad |= tc_jsonw_set(o, "total", tc_jsonw_u64(w->count));
    bad |= tc_jsonw_set(o, "passed", tc_jsonw_u64(w->count - w->failed));
    bad |= tc_jsonw_set(o, "failed", tc_jsonw_u64(w->failed));
    bad |= tc_jsonw_set(o, "bad_input", tc_jsonw_u64(w->by_outcome[TC_SWEEP_BAD_INPUT]));
    bad |= tc_jsonw_set(o, "crashed", tc_jsonw_u64(w->by_outcome[TC_SWEEP_CRASH]));
    bad |= tc_jsonw_set(o, "timeouts", tc_jsonw_u64(w->by_outcome[TC_SWEEP_TIMEOUT]));
    return bad | tc_jsonw_set(o, "self_check", self);
}

/* The tally line (keys and order: sweep.h). Returns 0, or TC_ENOMEM (nothing written). */
static int print_tally(sweep *w, uint64_t mismatches)
{
    char seeds[2 * SEED_TEXT_MAX + 4], shard[2 * SEED_TEXT_MAX + 2];
    snprintf(seeds, sizeof(seeds), "%" PRIu64 "..%" PRIu64, w->c.first_seed, w->c.last_seed);
    snprintf(shard, sizeof(shard), "%" PRIu32 "/%" PRIu32, w->c.shard_k, w->c.shard_n);
    json_t *o = json_object(), *failing = json_array();
    int bad = tc_jsonw_set(o, "sweep", tc_jsonw_str(w->c.file));
    bad |= tc_jsonw_set(o, "scenario", tc_jsonw_str(w->scenario));
    bad |= tc_jsonw_set(o, "seeds", tc_jsonw_str(seeds));
    bad |= tc_jsonw_set(o, "shard", tc_jsonw_str(shard));
    bad |= put_counts(o, w, mismatches);
    bad |= put_checks(o, w, mismatches);
    uint64_t listed = 0;
    for (uint64_t i = 0; i < w->count && listed < TC_SWEEP_LISTED_MAX; i++) {
        if (w->status[i] == TC_SWEEP_PASS)
            continue;
        bad |= json_array_append_new(failing, tc_jsonw_u64(seed_of(w, i)));
        listed++;
    }
    bad |= tc_jsonw_set(o, "failing_seeds", failing);
    bad |= tc_jsonw_set(o, "jobs", json_integer(w->c.jobs));
    bad |= tc_jsonw_set(o, "wall_ms", tc_jsonw_u64(tc_workers_wall_ms() - w->start_ms));
    return tc_sweep_put_json(stdout, o, bad == 0);
}

/* ---- JUnit ---- */

static void junit_seed_case(FILE *f, const sweep *w, uint64_t i, const failure **next)
{
    char name[64], msg[TC_SWEEP_CHECK_MAX + TC_SWEEP_DETAIL_MAX + 8], text[EXE_MAX + 64];
    uint64_t seed = seed_of(w, i);
    snprintf(name, sizeof(name), "seed %" PRIu64, seed);
    snprintf(text, sizeof(text), "replay: timesim run %s --seed %" PRIu64, w->c.file, seed);
    tc_junit_case c = {.name = name, .classname = w->c.file, .time_ms = w->wall_ms[i]};
    uint32_t outcome = w->status[i] & OUTCOME_MASK;
    const failure *end = w->kept + w->kept_count;
    while (*next < end && (*next)->index < i)
        (*next)++;
    if (outcome != TC_SWEEP_PASS) {
        bool kept = *next < end && (*next)->index == i;
        snprintf(msg, sizeof(msg), "%s%s%s",
                 kept ? (*next)->v.check : tc_sweep_outcome_name(outcome),
                 kept && (*next)->v.detail[0] ? ": " : "", kept ? (*next)->v.detail : "");
        c.failure_message = msg;
        c.failure_type = tc_sweep_outcome_name(outcome);
        c.failure_text = text;
    }
    tc_junit_case_put(f, w->c.file, &c);
}

static void junit_check_case(FILE *f, const sweep *w, uint64_t k)
{
    char name[64], msg[200];
    uint64_t seed = seed_of(w, w->check_idx[k]);
    snprintf(name, sizeof(name), "seed %" PRIu64 " self-check", seed);
    tc_junit_case c = {.name = name, .classname = w->c.file};
    if (mismatched(w, k)) {
        snprintf(msg, sizeof(msg), "determinism: two runs gave %s and %s", w->fp[k][0],
                 w->fp[k][1]);
        c.failure_message = msg;
        c.failure_type = "determinism";
    }
    tc_junit_case_put(f, w->c.file, &c);
}

/* One testcase per seed, then one per self-checked seed. */
static int write_junit(const sweep *w, uint64_t mismatches)
{
    FILE *f = tc_junit_tmp_open(w->c.junit);
    if (f == NULL)
        return TC_ENOTFOUND;
    uint64_t time_ms = 0;
    for (uint64_t i = 0; i < w->count; i++)
        time_ms += w->wall_ms[i];
    uint64_t first_failed = w->by_outcome[TC_SWEEP_FAIL] + w->by_outcome[TC_SWEEP_BAD_INPUT] +
                            w->by_outcome[TC_SWEEP_CRASH] + w->by_outcome[TC_SWEEP_TIMEOUT];
    char suite[EXE_MAX + 16];
    snprintf(suite, sizeof(suite), "timesim sweep %s", w->c.file);
    tc_junit_begin(f, suite, w->count + w->c.self_check, first_failed + mismatches, time_ms);
    const failure *next = w->kept;
    for (uint64_t i = 0; i < w->count; i++)
        junit_seed_case(f, w, i, &next);
    for (uint64_t k = 0; k < w->c.self_check; k++)
        junit_check_case(f, w, k);
    return tc_junit_tmp_commit(w->c.junit, f, tc_junit_end(f));
}

/* ---- arguments ---- */

static int bad(const char *msg, const char *arg)
{
    fprintf(stderr, "timesim sweep: %s%s%s\n\n%s", msg, arg ? ": " : "", arg ? arg : "",
            tc_sweep_usage);
    return 2;
}

/* "A..B" with A <= B, or "N" for N..N. */
static bool parse_range(const char *s, uint64_t *a, uint64_t *b)
{
    const char *dots = s != NULL ? strstr(s, "..") : NULL;
    if (dots == NULL)
        return tc_parse_u64(s, 0, UINT64_MAX, a) == 0 && tc_parse_u64(s, 0, UINT64_MAX, b) == 0;
    char head[32];
    size_t n = (size_t)(dots - s);
    if (n == 0 || n >= sizeof(head))
        return false;
    memcpy(head, s, n);
    head[n] = 0;
    return tc_parse_u64(head, 0, UINT64_MAX, a) == 0 &&
           tc_parse_u64(dots + 2, 0, UINT64_MAX, b) == 0 && *a <= *b;
}

/* "K/N" with 1 <= K <= N. */
static bool parse_shard(const char *s, uint32_t *k, uint32_t *n)
{
    const char *slash = s != NULL ? strchr(s, '/') : NULL;
    char head[16];
    if (slash == NULL || slash == s || (size_t)(slash - s) >= sizeof(head))
        return false;
    memcpy(head, s, (size_t)(slash - s));
    head[slash - s] = 0;
    return tc_parse_u32(head, 1, UINT32_MAX, k) == 0 &&
           tc_parse_u32(slash + 1, 1, UINT32_MAX, n) == 0 && *k <= *n;
}

static int parse_option(sweep_cli *c, const char *a, const char *v, bool *has_seeds)
{
    bool ok = v != NULL;
    if (strcmp(a, "--seeds") == 0)
        ok = *has_seeds = parse_range(v, &c->first_seed, &c->last_seed);
    else if (strcmp(a, "--jobs") == 0)
        ok = tc_parse_u32(v, 1, TC_WORKERS_JOBS_MAX, &c->jobs) == 0;
    else if (strcmp(a, "--shard") == 0)
        ok = parse_shard(v, &c->shard_k, &c->shard_n);
    else if (strcmp(a, "--junit") == 0)
        c->junit = v;
    else if (strcmp(a, "--self-check") == 0)
        ok = tc_parse_u64(v, 0, UINT64_MAX, &c->self_check) == 0;
    else if (strcmp(a, "--timeout-s") == 0)
        ok = tc_parse_u32(v, 1, TC_WORKERS_TIMEOUT_MAX / 1000, &c->timeout_s) == 0;
    else
        return bad("unknown option", a);
    return ok ? 0 : bad("bad value", a);
}

static int parse_args(int argc, char **argv, sweep_cli *c)
{
    *c = (sweep_cli){
        .shard_k = 1, .shard_n = 1, .jobs = tc_workers_nproc(), .timeout_s = TC_SWEEP_TIMEOUT_S};
    bool has_seeds = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0) {
            fputs(tc_sweep_usage, stdout);
            exit(0);
        }
        int rc = 0;
        if (strcmp(a, "--quiet") == 0)
            c->quiet = true;
        else if (strncmp(a, "--", 2) == 0 &&
                 (rc = parse_option(c, a, argv[i + 1], &has_seeds)) == 0)
            i++;
        else if (strncmp(a, "--", 2) != 0 && c->file == NULL)
            c->file = a;
        else if (rc == 0)
            rc = bad("one scenario file only", a);
        if (rc != 0)
            return rc;
    }
    if (c->file == NULL)
        return bad("no scenario given", NULL);
    return has_seeds ? 0 : bad("--seeds A..B is required", NULL);
}

/* ---- the sweep's life ---- */

static int sweep_alloc(sweep *w)
{
    uint64_t n = w->c.self_check;
    w->status = calloc(w->count > 0 ? w->count : 1, 1);
    w->check_idx = calloc(n > 0 ? n : 1, sizeof(uint64_t));
    w->fp = calloc(n > 0 ? n : 1, sizeof(*w->fp));
    if (w->c.junit != NULL)
        w->wall_ms = calloc(w->count > 0 ? w->count : 1, sizeof(uint32_t));
    if (w->status == NULL || w->check_idx == NULL || w->fp == NULL ||
        (w->c.junit != NULL && w->wall_ms == NULL))
        return bad("out of memory", NULL);
    for (uint64_t j = 0; j < n; j++)
        w->check_idx[j] = j * w->count / n; /* spread over the shard; increasing as n <= count */
    return 0;
}

/* Checks the scenario once here, so a bad file is one error, not one per seed. */
static int sweep_setup(sweep *w)
{
    tc_scn s;
    char err[512];
    if (tc_scn_parse_file(w->c.file, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    copy_text(w->scenario, sizeof(w->scenario), s.name[0] ? s.name : w->c.file);
    tc_scn_free(&s);
    if (tc_workers_self_exe(w->exe, sizeof(w->exe)) != 0)
        return bad("cannot find this program's path (/proc/self/exe)", NULL);
    uint64_t span = w->c.last_seed - w->c.first_seed, off = w->c.shard_k - 1;
    w->count = off > span ? 0 : (span - off) / w->c.shard_n + 1;
    if (w->count > TC_SWEEP_SEEDS_MAX)
        return bad("too many seeds for one invocation: split them with --shard", NULL);
    if (w->c.self_check > w->count)
        w->c.self_check = w->count; /* every seed checked: the most a self-check can do */
    uint64_t total = w->count + w->c.self_check;
    if (total > 0 && total < w->c.jobs)
        w->c.jobs = (uint32_t)total;
    w->tty = isatty(2) != 0;
    return sweep_alloc(w);
}

static int sweep_run(sweep *w)
{
    tc_workers_opts o = {.exe = w->exe,
                         .jobs = w->c.jobs,
                         .timeout_ms = (uint64_t)w->c.timeout_s * 1000,
                         .out_max = CHILD_OUT_MAX,
                         .tick_ms = w->tty ? TICK_TTY_MS : TICK_LOG_MS,
                         .argv_of = sweep_argv,
                         .done = sweep_done,
                         .tick = sweep_progress,
                         .ctx = w};
    w->start_ms = tc_workers_wall_ms();
    int rc = tc_workers_run(&o, w->count + w->c.self_check);
    if (rc != 0) {
        fprintf(stderr, "\ntimesim sweep: cannot run the children: %s\n", tc_strerror(rc));
        return 2;
    }
    progress_line(w, true);
    if (w->tty && !w->c.quiet)
        fputc('\n', stderr);
    uint64_t mismatches = settle_self_check(w);
    if (print_tally(w, mismatches) != 0)
        return 2;
    if (w->c.junit != NULL && (rc = write_junit(w, mismatches)) != 0) {
        fprintf(stderr, "timesim sweep: %s: cannot write the report: %s\n", w->c.junit,
                tc_strerror(rc));
        return 2;
    }
    fprintf(stderr, "%" PRIu64 " passed, %" PRIu64 " failed\n", w->count - w->failed, w->failed);
    if (w->by_outcome[TC_SWEEP_BAD_INPUT] > 0)
        return 2;
    return w->failed > 0 ? 1 : 0;
}

int tc_sweep_main(int argc, char **argv)
{
    TC_ASSERT(argc >= 2 && argv != NULL);
    sweep *w = calloc(1, sizeof(sweep));
    if (w == NULL)
        return 2;
    int rc = parse_args(argc, argv, &w->c);
    if (rc == 0)
        rc = sweep_setup(w);
    if (rc == 0)
        rc = sweep_run(w);
    free(w->status);
    free(w->check_idx);
    free(w->fp);
    free(w->wall_ms);
    free(w->kept);
    free(w);
    return rc;
}

/* ---- several scenarios in parallel (run.c's --jobs) ---- */

typedef struct {
    const char *const *files;
    uint32_t count;
    const uint64_t *seed;
    char exe[EXE_MAX];
    char seed_text[SEED_TEXT_MAX];
    char **lines; /* each child's summary line, NULL until it finished */
    tc_sweep_verdict *verdicts;
    bool *finished;
    uint32_t next_print;
    uint32_t passed, failed, bad_input;
} files_run;

static int files_argv(void *ctx, uint64_t job, char **argv, uint32_t argv_max)
{
    files_run *fr = ctx;
    TC_ASSERT(job < fr->count && argv_max >= 7);
    uint32_t n = 0;
    argv[n++] = fr->exe;
    argv[n++] = "run";
    argv[n++] = (char *)fr->files[job];
    if (fr->seed != NULL) {
        snprintf(fr->seed_text, sizeof(fr->seed_text), "%" PRIu64, *fr->seed);
        argv[n++] = "--seed";
        argv[n++] = fr->seed_text;
    }
    argv[n++] = "--quiet";
    argv[n] = NULL;
    return 0;
}

/* Summary lines leave in file order, each as soon as every earlier file has finished. */
static void files_done(void *ctx, const tc_workers_result *r)
{
    files_run *fr = ctx;
    uint32_t k = (uint32_t)r->index;
    tc_sweep_judge(r, &fr->verdicts[k]);
    char *copy = strdup(r->out != NULL ? r->out : "");
    fr->lines[k] = copy != NULL ? strdup(last_line(copy)) : NULL;
    free(copy);
    fr->finished[k] = true;
    uint32_t outcome = fr->verdicts[k].outcome;
    fr->passed += outcome == TC_SWEEP_PASS;
    fr->bad_input += outcome == TC_SWEEP_BAD_INPUT;
    fr->failed += outcome != TC_SWEEP_PASS && outcome != TC_SWEEP_BAD_INPUT;
    if (outcome != TC_SWEEP_PASS)
        fprintf(stderr, "%s", r->err); /* the child's own FAILED line and replay command */
    while (fr->next_print < fr->count && fr->finished[fr->next_print]) {
        const char *line = fr->lines[fr->next_print++];
        if (line != NULL && line[0] != 0)
            printf("%s\n", line);
    }
    fflush(stdout);
}

static int files_junit(const files_run *fr, const char *path)
{
    tc_junit_case *cases = calloc(fr->count, sizeof(tc_junit_case));
    char(*msgs)[TC_SWEEP_CHECK_MAX + TC_SWEEP_DETAIL_MAX + 8] = calloc(fr->count, sizeof(*msgs));
    int rc = TC_ENOMEM;
    if (cases != NULL && msgs != NULL) {
        for (uint32_t k = 0; k < fr->count; k++) {
            const tc_sweep_verdict *v = &fr->verdicts[k];
            cases[k] = (tc_junit_case){
                .name = fr->files[k], .classname = "timesim run", .time_ms = v->wall_ms};
            if (v->outcome == TC_SWEEP_PASS)
                continue;
            snprintf(msgs[k], sizeof(msgs[k]), "%s%s%s", v->check, v->detail[0] ? ": " : "",
                     v->detail);
            cases[k].failure_message = msgs[k];
            cases[k].failure_type = tc_sweep_outcome_name(v->outcome);
        }
        rc = tc_junit_write_file(path, "timesim run", cases, fr->count);
    }
    free(cases);
    free(msgs);
    return rc;
}

static void files_free(files_run *fr)
{
    for (uint32_t k = 0; fr->lines != NULL && k < fr->count; k++)
        free(fr->lines[k]);
    free(fr->lines);
    free(fr->verdicts);
    free(fr->finished);
}

int tc_sweep_files(const char *exe, const char *const *files, uint32_t count, const uint64_t *seed,
                   uint32_t jobs, const char *junit_path, uint32_t timeout_s)
{
    TC_ASSERT(files != NULL && count > 0 && jobs > 0);
    files_run fr = {.files = files, .count = count, .seed = seed};
    fr.lines = calloc(count, sizeof(char *));
    fr.verdicts = calloc(count, sizeof(tc_sweep_verdict));
    fr.finished = calloc(count, sizeof(bool));
    int rc = fr.lines && fr.verdicts && fr.finished ? 0 : TC_ENOMEM;
    if (rc == 0 && exe != NULL)
        rc = snprintf(fr.exe, sizeof(fr.exe), "%s", exe) < (int)sizeof(fr.exe) ? 0 : TC_EINVAL;
    else if (rc == 0)
        rc = tc_workers_self_exe(fr.exe, sizeof(fr.exe));
    tc_workers_opts o = {.exe = fr.exe,
                         .jobs = jobs < count ? jobs : count,
                         .timeout_ms =
                             (uint64_t)(timeout_s ? timeout_s : TC_SWEEP_TIMEOUT_S) * 1000,
                         .out_max = CHILD_OUT_MAX,
                         .argv_of = files_argv,
                         .done = files_done,
                         .ctx = &fr};
    if (rc == 0)
        rc = tc_workers_run(&o, count);
    if (rc == 0 && junit_path != NULL)
        rc = files_junit(&fr, junit_path);
    if (rc != 0)
        fprintf(stderr, "timesim run: %s\n", tc_strerror(rc));
    else if (count > 1)
        fprintf(stderr, "%" PRIu32 " passed, %" PRIu32 " failed\n", fr.passed,
                fr.failed + fr.bad_input);
    files_free(&fr);
    return rc != 0 || fr.bad_input > 0 ? 2 : fr.failed > 0 ? 1 : 0;
}
