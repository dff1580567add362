/* shrink.c — `timesim shrink` (see shrink.h): fault units, candidates as variations of the best
 * failing state, batches of `timesim run` children, ddmin, the greedy passes, the run bisection.
 */
#include "shrink.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chaos.h"
#include "jsonw.h"
#include "scenario.h"
#include "sweep.h"
#include "workers.h"

#define PATH_MAX_LEN  4096
#define NONE          UINT32_MAX
#define SEED_TEXT_MAX 24

const char tc_shrink_usage[] =
    "usage: timesim shrink FILE.scn [--seed N] [options]\n"
    "\n"
    "Runs the scenario with its chaos faults expanded to explicit events; if it fails, removes\n"
    "fault events (ddmin, then one at a time) and shortens the run while it still fails the\n"
    "same check, and writes the smallest such scenario.\n"
    "\n"
    "options:\n"
    "  --seed N        the failing seed                           (the scenario's)\n"
    "  --out PATH      where to write it               (FILE-shrunk-seedN.scn)\n"
    "  --max-runs R    children at most                           (200)\n"
    "  --jobs J        children at once                           (online CPUs)\n"
    "  --timeout-s S   kill a child after S s; it counts as not failing the same (600)\n"
    "  --quiet         no progress lines\n"
    "\n"
    "stdout: one JSON line {original_events, shrunk_events, runs, out, ...}.\n"
    "Exit 0 written, 1 the scenario does not fail with this seed, 2 bad input.\n";

typedef struct {
    const char *file, *out;
    bool has_seed;
    uint64_t seed;
    uint32_t max_runs, jobs, timeout_s;
    bool quiet;
} shrink_cli;

/* A crash and its restart, or one fault event (ev[1] == NONE). */
typedef struct {
    uint32_t ev[2];
} unit;

/* A schedule: which units it keeps, which pairs lost their second event, how long it runs. */
typedef struct {
    uint8_t *kept;
    uint8_t *drop2;
    uint64_t run_ms;
} state;

typedef struct shrinker shrinker;
/* Fills *out (a copy of the best state) with candidate i of a step. */
typedef void (*gen_fn)(const shrinker *k, const void *ctx, uint32_t i, state *out);

struct shrinker {
    shrink_cli c;
    tc_scn base;
    unit *units;
    uint32_t unit_count;
    uint32_t *unit_of; /* per base event: its unit, NONE for the workload's events */
    state best;
    char check[TC_SWEEP_CHECK_MAX];
    uint32_t runs;
    bool exhausted;
    char exe[PATH_MAX_LEN];
    char dir[PATH_MAX_LEN - 64]; /* room for the candidates' names */
    char out_path[PATH_MAX_LEN];
    char seed_text[SEED_TEXT_MAX];
    /* one batch */
    state *cands;
    char (*paths)[PATH_MAX_LEN];
    uint32_t *job_cand; /* job -> candidate slot */
    tc_sweep_verdict *verdicts;
    tc_scn_event *scratch; /* events of the candidate being written */
};

static bool is_fault(uint32_t kind)
{
    return kind != TC_SCN_EV_REGISTER && kind != TC_SCN_EV_LOAD;
}

/* ---- states ---- */

static int state_init(state *s, uint32_t units)
{
    s->kept = calloc(units > 0 ? units : 1, 1);
    s->drop2 = calloc(units > 0 ? units : 1, 1);
    return s->kept != NULL && s->drop2 != NULL ? 0 : TC_ENOMEM;
}

static void state_free(state *s)
{
    free(s->kept);
    free(s->drop2);
}

static void state_copy(state *dst, const state *src, uint32_t units)
{
    memcpy(dst->kept, src->kept, units);
    memcpy(dst->drop2, src->drop2, units);
    dst->run_ms = src->run_ms;
}

static uint32_t state_events(const shrinker *k, const state *s)
{
    uint32_t n = 0;
    for (uint32_t u = 0; u < k->unit_count; u++)
        if (s->kept[u])
            n += k->units[u].ev[1] != NONE && !s->drop2[u] ? 2 : 1;
    return n;
}

/* ---- units ---- */

/* The event that ends fault e, or NONE: a crash's next restart of its node, a partition's next
 * heal, a clock jump's next jump of its node when that one undoes it exactly, a link change's
 * next change of the same link and fields (chaos's restore). */
static uint32_t healer_of(const tc_scn *s, uint32_t e, const uint8_t *paired)
{
    const tc_scn_event *ev = &s->events[e];
    for (uint32_t j = e + 1; j < s->event_count; j++) {
        const tc_scn_event *h = &s->events[j];
        bool same_node = tc_scn_node_equal(h->node, ev->node);
        if (ev->kind == TC_SCN_EV_CRASH && h->kind == TC_SCN_EV_RESTART && same_node)
            return j;
        if (ev->kind == TC_SCN_EV_PARTITION && h->kind == TC_SCN_EV_HEAL && !paired[j])
            return j;
        if (ev->kind == TC_SCN_EV_CLOCK_JUMP && h->kind == TC_SCN_EV_CLOCK_JUMP && same_node)
            return h->jump_ms == -ev->jump_ms ? j : NONE;
        if (ev->kind == TC_SCN_EV_LINK && h->kind == TC_SCN_EV_LINK && same_node &&
            tc_scn_node_equal(h->peer, ev->peer) && h->oneway == ev->oneway && !paired[j])
            return h->link_mask == ev->link_mask ? j : NONE;
    }
    return NONE;
}

/* A fault and the event that ends it form one unit, so a shrunk schedule heals what the
 * original healed; every other fault event is a unit of its own. */
static int build_units(shrinker *k)
{
    const tc_scn *s = &k->base;
    uint32_t n = s->event_count > 0 ? s->event_count : 1;
    uint8_t *paired = calloc(n, 1);
    k->units = calloc(n, sizeof(unit));
    k->unit_of = malloc(n * sizeof(uint32_t));
    if (paired == NULL || k->units == NULL || k->unit_of == NULL) {
        free(paired);
        return TC_ENOMEM;
    }
    for (uint32_t e = 0; e < s->event_count; e++)
        k->unit_of[e] = NONE;
    for (uint32_t e = 0; e < s->event_count; e++) {
        if (!is_fault(s->events[e].kind) || paired[e])
            continue;
        unit u = {{e, healer_of(s, e, paired)}};
        if (u.ev[1] != NONE) {
            paired[u.ev[1]] = 1;
            k->unit_of[u.ev[1]] = k->unit_count;
        }
        k->unit_of[e] = k->unit_count;
        k->units[k->unit_count++] = u;
    }
    free(paired);
    TC_ASSERT(k->unit_count <= s->event_count);
    return 0;
}

/* ---- candidates on disk ---- */

/* Writes the base scenario with st's events and run length; then parses it back, so a
 * candidate the language refuses (a restart of a running node) is never run. */
static bool write_state(shrinker *k, const state *st, const char *path)
{
    const tc_scn *b = &k->base;
    uint32_t n = 0;
    for (uint32_t e = 0; e < b->event_count; e++) {
        uint32_t u = k->unit_of[e];
        bool second = u != NONE && k->units[u].ev[1] == e;
        bool kept = u == NONE || (st->kept[u] && !(second && st->drop2[u]));
        if (kept && b->events[e].at_ms <= st->run_ms)
            k->scratch[n++] = b->events[e];
    }
    tc_scn v = *b; /* a shallow view: tc_scn_write only reads */
    v.events = k->scratch;
    v.event_count = n;
    v.run_ms = st->run_ms;
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return false;
    int rc = tc_scn_write(f, &v);
    if (fclose(f) != 0 || rc != 0)
        return false;
    tc_scn check;
    char err[256];
    rc = tc_scn_parse_file(path, &check, err, sizeof(err));
    tc_scn_free(&check);
    return rc == 0;
}

/* ---- batches of children ---- */

static int batch_argv(void *ctx, uint64_t job, char **argv, uint32_t argv_max)
{
    shrinker *k = ctx;
    TC_ASSERT(argv_max >= 7);
    char *words[] = {k->exe,    "run", k->paths[k->job_cand[job]], "--seed", k->seed_text,
                     "--quiet", NULL};
    memcpy(argv, words, sizeof(words));
    return 0;
}

static void batch_done(void *ctx, const tc_workers_result *r)
{
    shrinker *k = ctx;
    tc_sweep_judge(r, &k->verdicts[k->job_cand[r->index]]);
}

/* Runs the written candidates job_cand[0..jobs-1] as children; each is one run. */
static int run_batch(shrinker *k, uint32_t jobs)
{
    if (jobs == 0)
        return 0;
    tc_workers_opts o = {.exe = k->exe,
                         .jobs = jobs,
                         .timeout_ms = (uint64_t)k->c.timeout_s * 1000,
                         .out_max = 1u << 18,
                         .argv_of = batch_argv,
                         .done = batch_done,
                         .ctx = k};
    k->runs += jobs;
    return tc_workers_run(&o, jobs);
}

static bool fails_same(const shrinker *k, const tc_sweep_verdict *v)
{
    return v->outcome != TC_SWEEP_PASS && strcmp(v->check, k->check) == 0;
}

static void report(const shrinker *k, const char *what)
{
    if (k->c.quiet)
        return;
    fprintf(stderr,
            "shrink: run %" PRIu32 "/%" PRIu32 ": %s: %" PRIu32 " fault events, run %" PRIu64
            " ms\n",
            k->runs, k->c.max_runs, what, state_events(k, &k->best), k->best.run_ms);
}

/* Tries candidates first..count-1 of a step in order, up to J children at a time, and adopts
 * the first that fails the same check; returns its number, or NONE. The candidates after it in
 * its batch are discarded: the caller regenerates them from the new best, so the outcome is
 * the one a single worker would reach. */
static uint32_t try_step(shrinker *k, gen_fn gen, const void *ctx, uint32_t first, uint32_t count)
{
    uint32_t number[TC_WORKERS_JOBS_MAX];
    for (uint32_t i = first; i < count && !k->exhausted;) {
        uint32_t slots = 0, jobs = 0;
        for (; i < count && slots < k->c.jobs && k->runs + jobs < k->c.max_runs; i++, slots++) {
            state_copy(&k->cands[slots], &k->best, k->unit_count);
            gen(k, ctx, i, &k->cands[slots]);
            number[slots] = i;
            memset(&k->verdicts[slots], 0, sizeof(tc_sweep_verdict));
            if (write_state(k, &k->cands[slots], k->paths[slots]))
                k->job_cand[jobs++] = slots;
        }
        if (run_batch(k, jobs) != 0) {
            k->exhausted = true; /* cannot start children: stop with what we have */
            return NONE;
        }
        for (uint32_t s = 0; s < slots; s++) {
            if (fails_same(k, &k->verdicts[s])) {
                state_copy(&k->best, &k->cands[s], k->unit_count);
                report(k, "smaller and still fails");
                return number[s];
            }
        }
        k->exhausted = k->runs >= k->c.max_runs && i < count;
    }
    return NONE;
}

/* ---- the steps ---- */

typedef struct {
    const uint32_t *cur; /* kept units, in order */
    uint32_t m, n;       /* m units in n parts */
} parts;

static void gen_none(const shrinker *k, const void *ctx, uint32_t i, state *out)
{
    (void)ctx;
    (void)i;
    memset(out->kept, 0, k->unit_count);
}

/* Candidates 0..n-1 keep one part; n..2n-1 drop one part. */
static void gen_ddmin(const shrinker *k, const void *ctx, uint32_t i, state *out)
{
    const parts *p = ctx;
    uint32_t part = i < p->n ? i : i - p->n;
    uint64_t from = (uint64_t)part * p->m / p->n, to = (uint64_t)(part + 1) * p->m / p->n;
    if (i < p->n)
        memset(out->kept, 0, k->unit_count);
    for (uint64_t j = from; j < to; j++)
        out->kept[p->cur[j]] = i < p->n ? 1 : 0;
}

static void gen_remove(const shrinker *k, const void *ctx, uint32_t i, state *out)
{
    (void)k;
    out->kept[((const uint32_t *)ctx)[i]] = 0;
}

static void gen_drop2(const shrinker *k, const void *ctx, uint32_t i, state *out)
{
    (void)k;
    out->drop2[((const uint32_t *)ctx)[i]] = 1;
}

static void gen_run(const shrinker *k, const void *ctx, uint32_t i, state *out)
{
    (void)k;
    (void)i;
    out->run_ms = *(const uint64_t *)ctx;
}

/* The best state's kept units into cur, in order; returns how many. */
static uint32_t kept_units(const shrinker *k, uint32_t *cur, bool pairs_only)
{
    uint32_t m = 0;
    for (uint32_t u = 0; u < k->unit_count; u++)
        if (k->best.kept[u] && (!pairs_only || (k->units[u].ev[1] != NONE && !k->best.drop2[u])))
            cur[m++] = u;
    return m;
}

static void ddmin(shrinker *k, uint32_t *cur)
{
    uint32_t m = kept_units(k, cur, false), n = 2;
    while (m >= 2 && !k->exhausted) {
        n = n > m ? m : n;
        parts p = {cur, m, n};
        uint32_t f = try_step(k, gen_ddmin, &p, 0, n == 2 ? 2 : 2 * n); /* n = 2: complements
                                                                           are the parts */
        if (f == NONE && n == m)
            break;
        if (f == NONE) {
            n = 2 * n > m ? m : 2 * n;
            continue;
        }
        m = kept_units(k, cur, false);
        n = f < n ? 2 : (n - 1 > 2 ? n - 1 : 2);
    }
}

/* Greedy passes: candidate i of the list, then onwards from the next one after a success. */
static void greedy(shrinker *k, uint32_t *cur, bool pairs)
{
    uint32_t m = kept_units(k, cur, pairs);
    for (uint32_t i = 0; i < m && !k->exhausted;) {
        uint32_t f = try_step(k, pairs ? gen_drop2 : gen_remove, cur, i, m);
        if (f == NONE)
            break;
        i = f + 1;
    }
}

/* The shortest run that still lets every kept event happen and every liveness window close
 * (a window cut off by the end of the run would fail its expectation for another reason). */
static uint64_t run_floor(const shrinker *k)
{
    const tc_scn *b = &k->base;
    uint64_t last = 1, fault_end = 0;
    for (uint32_t e = 0; e < b->event_count; e++) {
        const tc_scn_event *ev = &b->events[e];
        uint32_t u = k->unit_of[e];
        bool second = u != NONE && k->units[u].ev[1] == e;
        if (u != NONE && (!k->best.kept[u] || (second && k->best.drop2[u])))
            continue;
        uint64_t end = ev->at_ms + (ev->kind == TC_SCN_EV_PAUSE ? ev->duration_ms : 0);
        last = ev->at_ms > last ? ev->at_ms : last;
        if (is_fault(ev->kind) && end > fault_end)
            fault_end = end;
    }
    for (uint32_t x = 0; x < b->expect_count; x++) {
        const tc_scn_expect *ex = &b->expects[x];
        uint64_t close = (ex->after_heal ? fault_end : ex->after_ms) + ex->within_ms;
        if (ex->kind == TC_SCN_EXP_LIVENESS && close > last)
            last = close;
    }
    return last;
}

/* Bisects the run length over whole seconds above run_floor, one child at a time (the probe
 * points must not depend on J). */
static void shorten_run(shrinker *k)
{
    const uint64_t step = TC_SHRINK_RUN_STEP_MS;
    uint64_t lo = run_floor(k), hi = k->best.run_ms;
    while (hi > lo + step && !k->exhausted) {
        uint64_t mid = ((lo + (hi - lo) / 2) + step - 1) / step * step;
        if (mid >= hi || mid < lo)
            break;
        if (try_step(k, gen_run, &mid, 0, 1) != NONE)
            hi = mid;
        else
            lo = mid;
    }
}

/* ---- the command ---- */

static int bad(const char *msg, const char *arg)
{
    fprintf(stderr, "timesim shrink: %s%s%s\n\n%s", msg, arg ? ": " : "", arg ? arg : "",
            tc_shrink_usage);
    return 2;
}

static int parse_option(shrink_cli *c, const char *a, const char *v)
{
    uint64_t x = 0;
    bool ok = true;
    if (strcmp(a, "--seed") == 0)
        ok = c->has_seed = tc_parse_u64(v, 0, UINT64_MAX, &c->seed) == 0;
    else if (strcmp(a, "--out") == 0)
        ok = (c->out = v) != NULL;
    else if (strcmp(a, "--max-runs") == 0 &&
             (ok = tc_parse_u64(v, 1, TC_SHRINK_MAX_RUNS_MAX, &x) == 0))
        c->max_runs = (uint32_t)x;
    else if (strcmp(a, "--jobs") == 0 && (ok = tc_parse_u64(v, 1, TC_WORKERS_JOBS_MAX, &x) == 0))
        c->jobs = (uint32_t)x;
    else if (strcmp(a, "--timeout-s") == 0 &&
             (ok = tc_parse_u64(v, 1, TC_WORKERS_TIMEOUT_MAX / 1000, &x) == 0))
        c->timeout_s = (uint32_t)x;
    else if (ok)
        return bad("unknown option", a);
    return ok ? 0 : bad("bad value", a);
}

static int parse_args(int argc, char **argv, shrink_cli *c)
{
    *c = (shrink_cli){.max_runs = TC_SHRINK_MAX_RUNS,
                      .jobs = tc_workers_nproc(),
                      .timeout_s = TC_SWEEP_TIMEOUT_S};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (strcmp(a, "--help") == 0) {
            fputs(tc_shrink_usage, stdout);
            exit(0);
        } else if (strcmp(a, "--quiet") == 0) {
            c->quiet = true;
        } else if (strncmp(a, "--", 2) == 0) {
            rc = parse_option(c, a, argv[i + 1]);
            i++;
        } else if (c->file == NULL) {
            c->file = a;
        } else {
            rc = bad("one scenario file only", a);
        }
        if (rc != 0)
            return rc;
    }
    return c->file != NULL ? 0 : bad("no scenario given", NULL);
}

/* The scenario with its chaos made explicit and the seed written in. */
static int load(shrinker *k)
{
    char err[512];
    if (tc_scn_parse_file(k->c.file, &k->base, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    k->base.seed = k->c.has_seed ? k->c.seed : k->base.seed;
    snprintf(k->seed_text, sizeof(k->seed_text), "%" PRIu64, k->base.seed);
    if (tc_chaos_expand(&k->base, k->base.seed, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", k->c.file, err);
        return 2;
    }
    return build_units(k) == 0 ? 0 : bad("out of memory", NULL);
}

static int prepare(shrinker *k)
{
    uint32_t j = k->c.jobs, n = k->base.event_count > 0 ? k->base.event_count : 1;
    k->cands = calloc(j, sizeof(state));
    k->paths = calloc(j, sizeof(*k->paths));
    k->job_cand = calloc(j, sizeof(uint32_t));
    k->verdicts = calloc(j, sizeof(tc_sweep_verdict));
    k->scratch = calloc(n, sizeof(tc_scn_event));
    if (!k->cands || !k->paths || !k->job_cand || !k->verdicts || !k->scratch ||
        state_init(&k->best, k->unit_count) != 0)
        return bad("out of memory", NULL);
    for (uint32_t s = 0; s < j; s++)
        if (state_init(&k->cands[s], k->unit_count) != 0)
            return bad("out of memory", NULL);
    memset(k->best.kept, 1, k->unit_count);
    k->best.run_ms = k->base.run_ms;
    if (tc_workers_self_exe(k->exe, sizeof(k->exe)) != 0)
        return bad("cannot find this program's path (/proc/self/exe)", NULL);
    const char *tmp = getenv("TMPDIR"); /* where, not what: nothing of a run depends on it */
    snprintf(k->dir, sizeof(k->dir), "%s/timesim-shrink-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(k->dir) == NULL)
        return bad("cannot create a temporary folder", k->dir);
    for (uint32_t s = 0; s < j; s++)
        snprintf(k->paths[s], sizeof(k->paths[s]), "%s/candidate-%" PRIu32 ".scn", k->dir, s);
    size_t len = strlen(k->c.file);
    len -= len > 4 && strcmp(k->c.file + len - 4, ".scn") == 0 ? 4 : 0;
    snprintf(k->out_path, sizeof(k->out_path), "%.*s-shrunk-seed%s.scn", (int)len, k->c.file,
             k->seed_text);
    if (k->c.out != NULL)
        snprintf(k->out_path, sizeof(k->out_path), "%s", k->c.out);
    return 0;
}

/* Runs the full schedule once: the check every candidate must fail again. */
static int run_original(shrinker *k)
{
    memset(&k->verdicts[0], 0, sizeof(tc_sweep_verdict));
    if (!write_state(k, &k->best, k->paths[0]))
        return bad("cannot write a candidate scenario", k->paths[0]);
    k->job_cand[0] = 0;
    if (run_batch(k, 1) != 0)
        return bad("cannot run a child", NULL);
    const tc_sweep_verdict *v = &k->verdicts[0];
    if (v->outcome == TC_SWEEP_BAD_INPUT) {
        fprintf(stderr, "timesim shrink: the run reports bad input: %s\n", v->detail);
        return 2;
    }
    if (v->outcome == TC_SWEEP_PASS) {
        fprintf(stderr, "timesim shrink: %s passes with seed %s: nothing to shrink\n", k->c.file,
                k->seed_text);
        return 1;
    }
    snprintf(k->check, sizeof(k->check), "%s", v->check);
    if (!k->c.quiet)
        fprintf(stderr, "shrink: seed %s fails %s (%s); %" PRIu32 " fault events\n", k->seed_text,
                k->check, v->detail, state_events(k, &k->best));
    return 0;
}

static void shrink_all(shrinker *k)
{
    uint32_t *cur = calloc(k->unit_count > 0 ? k->unit_count : 1, sizeof(uint32_t));
    if (cur == NULL) {
        k->exhausted = true;
        return;
    }
    if (k->unit_count > 0)
        try_step(k, gen_none, NULL, 0, 1);
    ddmin(k, cur);
    greedy(k, cur, false);
    if (strncmp(k->check, "violation:", 10) == 0)
        greedy(k, cur, true); /* an invariant must hold whether or not faults heal */
    if (strncmp(k->check, "expect:", 7) != 0)
        shorten_run(k); /* an expectation is over the whole run: a shorter one fails otherwise */
    free(cur);
}

/* The result line. Returns 0, or TC_ENOMEM (nothing written). */
static int print_result(const shrinker *k, uint32_t original_events)
{
    json_t *o = json_object();
    int bad = tc_jsonw_set(o, "original_events", json_integer(original_events));
    bad |= tc_jsonw_set(o, "shrunk_events", json_integer(state_events(k, &k->best)));
    bad |= tc_jsonw_set(o, "runs", json_integer(k->runs));
    bad |= tc_jsonw_set(o, "out", tc_jsonw_str(k->out_path));
    bad |= tc_jsonw_set(o, "check", tc_jsonw_str(k->check));
    bad |= tc_jsonw_set(o, "seed", tc_jsonw_u64(k->base.seed));
    bad |= tc_jsonw_set(o, "run_ms_original", tc_jsonw_u64(k->base.run_ms));
    bad |= tc_jsonw_set(o, "run_ms", tc_jsonw_u64(k->best.run_ms));
    bad |= tc_jsonw_set(o, "max_runs_reached", json_boolean(k->exhausted));
    return tc_sweep_put_json(stdout, o, bad == 0);
}

static void cleanup(shrinker *k)
{
    for (uint32_t s = 0; k->paths != NULL && s < k->c.jobs; s++)
        if (k->paths[s][0] != 0)
            remove(k->paths[s]);
    if (k->dir[0] != 0 && strstr(k->dir, "XXXXXX") == NULL)
        rmdir(k->dir);
    for (uint32_t s = 0; k->cands != NULL && s < k->c.jobs; s++)
        state_free(&k->cands[s]);
    state_free(&k->best);
    free(k->cands);
    free(k->paths);
    free(k->job_cand);
    free(k->verdicts);
    free(k->scratch);
    free(k->units);
    free(k->unit_of);
    tc_scn_free(&k->base);
}

int tc_shrink_main(int argc, char **argv)
{
    TC_ASSERT(argc >= 2 && argv != NULL);
    shrinker *k = calloc(1, sizeof(shrinker));
    if (k == NULL)
        return 2;
    int rc = parse_args(argc, argv, &k->c);
    if (rc == 0)
        rc = load(k);
    if (rc == 0)
        rc = prepare(k);
    if (rc == 0)
        rc = run_original(k);
    uint32_t original_events = rc == 0 ? state_events(k, &k->best) : 0;
    if (rc == 0)
        shrink_all(k);
    if (rc == 0 && !write_state(k, &k->best, k->out_path)) {
        fprintf(stderr, "timesim shrink: cannot write %s: %s\n", k->out_path, strerror(errno));
        rc = 2;
    }
    if (rc == 0) {
        if (!k->c.quiet)
            fprintf(stderr, "shrink: wrote %s; replay with: timesim run %s --seed %s\n",
                    k->out_path, k->out_path, k->seed_text);
        rc = print_result(k, original_events) == 0 ? 0 : 2;
    }
    cleanup(k);
    free(k);
    return rc;
}
