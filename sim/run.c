/* run.c — `timesim run` (see run.h): the command line, running each scenario on a world, the
 * summary JSON, the replay command, the tally and the JUnit report. Wall time is read here
 * only, for the summary's wall_ms; the run itself never sees it.
 */
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "chaos.h"
#include "jsonw.h"
#include "junit.h"
#include "sweep.h"
#include "world.h"

#define FILES_MAX 4096

const char tc_sim_run_usage[] =
    "usage: timesim run FILE.scn|DIR... [options]\n"
    "\n"
    "Runs scenarios on the deterministic simulator: a cluster of real TimeCoin cores on a\n"
    "simulated network, with the scenario's faults, adversaries and load, the checkers of\n"
    "docs/SIMULATOR.md after every event and the expectations at the end. One summary JSON\n"
    "line per scenario.\n"
    "\n"
    "options:\n"
    "  --seed N        run with seed N instead of the scenario's\n"
    "  --trace PATH    write the trace (one input per line; one scenario only)\n"
    "  --until T       stop at simulated time T (e.g. 30s) instead of the scenario's `run`\n"
    "  --timeline      print a readable per-node account of the run on stdout\n"
    "  --junit PATH    write a JUnit XML report\n"
    "  --jobs J        several scenarios: run J at once, each in a child process\n"
    "  --quiet         no progress lines\n";

typedef struct {
    const char *files[FILES_MAX];
    char *owned[FILES_MAX]; /* paths found in folders */
    uint32_t file_count, owned_count;
    bool has_seed;
    uint64_t seed;
    uint64_t until_ms;
    const char *until_text;
    const char *trace_path;
    const char *junit_path;
    uint32_t jobs;
    bool timeline, quiet;
} run_cli;

typedef struct {
    char file[512];
    char name[TC_SCN_NAME_MAX + 1];
    int status; /* 0 pass, 1 fail, 2 error */
    char message[1024];
    long wall_ms;  /* the whole run, setup included */
    long setup_ms; /* of which building the world (genesis, stores, nodes) */
} run_outcome;

/* ---- arguments ---- */

static int bad(const char *msg, const char *arg)
{
    fprintf(stderr, "timesim run: %s%s%s\n\n%s", msg, arg ? ": " : "", arg ? arg : "",
            tc_sim_run_usage);
    return 2;
}

/* "30s", "500ms", "2m" or plain milliseconds: decimal digits (tc_parse_u64) and a unit. */
static bool parse_duration(const char *s, uint64_t *out)
{
    size_t digits = s != NULL ? strspn(s, "0123456789") : 0;
    const char *unit_text = s != NULL ? s + digits : "";
    uint64_t unit = strcmp(unit_text, "s") == 0                       ? 1000
                    : strcmp(unit_text, "m") == 0                     ? 60000
                    : strcmp(unit_text, "ms") == 0 || *unit_text == 0 ? 1
                                                                      : 0;
    uint64_t v = 0;
    if (unit == 0 || tc_parse_u64n(s, digits, 1, TC_SCN_DURATION_MAX_MS / unit, &v) != 0)
        return false;
    *out = v * unit;
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds every *.scn of a folder, sorted by name, so a folder runs in one order everywhere. */
static int add_folder(run_cli *c, const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return bad("cannot open folder", dir);
    uint32_t first = c->owned_count;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 4, ".scn") != 0)
            continue;
        if (c->file_count == FILES_MAX) {
            closedir(d);
            return bad("too many scenario files", dir);
        }
        char *path = malloc(strlen(dir) + n + 2);
        if (path == NULL) {
            closedir(d);
            return bad("out of memory", NULL);
        }
        sprintf(path, "%s/%s", dir, de->d_name);
        c->owned[c->owned_count++] = path;
    }
    closedir(d);
    qsort(c->owned + first, c->owned_count - first, sizeof(char *), cmp_str);
    for (uint32_t k = first; k < c->owned_count; k++)
        c->files[c->file_count++] = c->owned[k];
    return 0;
}

static int add_path(run_cli *c, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return add_folder(c, path);
    if (c->file_count == FILES_MAX)
        return bad("too many scenario files", path);
    c->files[c->file_count++] = path;
    return 0;
}

static int parse_option(run_cli *c, const char *a, const char *v, bool *used_value)
{
    uint32_t jobs = 0;
    *used_value = true;
    if (strcmp(a, "--seed") == 0 && tc_parse_u64(v, 0, UINT64_MAX, &c->seed) == 0)
        c->has_seed = true;
    else if (strcmp(a, "--until") == 0 && parse_duration(v, &c->until_ms))
        c->until_text = v;
    else if (strcmp(a, "--trace") == 0 && v != NULL)
        c->trace_path = v;
    else if (strcmp(a, "--junit") == 0 && v != NULL)
        c->junit_path = v;
    else if (strcmp(a, "--jobs") == 0 && tc_parse_u32(v, 1, 1024, &jobs) == 0)
        c->jobs = jobs;
    else if ((*used_value = false, strcmp(a, "--timeline") == 0))
        c->timeline = true;
    else if (strcmp(a, "--quiet") == 0)
        c->quiet = true;
    else
        return bad("bad option or value", a);
    return 0;
}

static int parse_args(int argc, char **argv, run_cli *c)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            fputs(tc_sim_run_usage, stdout);
            exit(0);
        }
        bool used = false;
        int rc = strncmp(a, "--", 2) == 0 ? parse_option(c, a, v, &used) : add_path(c, a);
        if (rc != 0)
            return rc;
        i += used;
    }
    if (c->file_count == 0)
        return bad("no scenario given", NULL);
    if (c->trace_path != NULL && c->file_count > 1)
        return bad("--trace takes one scenario", c->trace_path);
    if (c->jobs > 1 && (c->timeline || c->trace_path != NULL || c->until_text != NULL))
        return bad("--jobs runs plain children: no --timeline, --trace or --until", NULL);
    return 0;
}

/* ---- the summary ---- */

/* "failures" {node: {kind, t_ms, code, cause}}: each node's first sticky failure of the run. */
static int put_failures(json_t *o, const tc_world *w)
{
    json_t *failures = json_object();
    int bad = 0;
    for (uint32_t e = 0; e < tc_world_node_count(w); e++) {
        tc_world_node_info info;
        tc_world_node_info_get(w, e, &info);
        if (info.failure == TC_NODE_FAIL_NONE)
            continue;
        json_t *f = json_object();
        bad |= tc_jsonw_set(f, "kind", tc_jsonw_str(tc_node_failure_name(info.failure)));
        bad |= tc_jsonw_set(f, "t_ms", tc_jsonw_u64(info.failure_sim_ms));
        bad |= tc_jsonw_set(f, "code", tc_jsonw_str(tc_strerror(info.failure_code)));
        bad |= tc_jsonw_set(f, "cause", tc_jsonw_str(info.failure_cause));
        bad |= tc_jsonw_set(failures, info.name, f);
    }
    return bad | tc_jsonw_set(o, "failures", failures);
}

/* "state_syncs" {node: state syncs completed} for every node, and "snapshot_refused" {node:
 * snapshot parts it refused from lying peers} for the nodes that refused any (PROTOCOL 13.2). */
static int put_state_syncs(json_t *o, const tc_world *w)
{
    json_t *syncs = json_object(), *refused = json_object();
    int bad = 0;
    for (uint32_t e = 0; e < tc_world_node_count(w); e++) {
        tc_world_node_info info;
        tc_world_node_info_get(w, e, &info);
        bad |= tc_jsonw_set(syncs, info.name, tc_jsonw_u64(info.state_syncs));
        if (info.snapshot_refused > 0)
            bad |= tc_jsonw_set(refused, info.name, tc_jsonw_u64(info.snapshot_refused));
    }
    bad |= tc_jsonw_set(o, "state_syncs", syncs);
    return bad | tc_jsonw_set(o, "snapshot_refused", refused);
}

/* "nodes", "heights" {node: height}, "validators" {node: index in the current set, for
 * running validators}, "down" [node] and "failures". Returns nonzero when a member could not be
 * made. */
static int put_nodes(json_t *o, const tc_world *w)
{
    uint32_t count = tc_world_node_count(w);
    json_t *heights = json_object(), *validators = json_object(), *down = json_array();
    int bad = 0;
    for (uint32_t e = 0; e < count; e++) {
        tc_world_node_info info;
        tc_world_node_info_get(w, e, &info);
        bad |= tc_jsonw_set(heights, info.name, tc_jsonw_u64(info.height));
        if (info.validator != UINT32_MAX)
            bad |= tc_jsonw_set(validators, info.name, json_integer(info.validator));
        if (!info.up)
            bad |= json_array_append_new(down, tc_jsonw_str(info.name));
    }
    bad |= tc_jsonw_set(o, "nodes", json_integer(count));
    bad |= tc_jsonw_set(o, "heights", heights);
    bad |= tc_jsonw_set(o, "validators", validators);
    bad |= tc_jsonw_set(o, "down", down);
    bad |= put_failures(o, w);
    return bad | put_state_syncs(o, w);
}

/* One violation: {t_ms, what, nodes [up to two], trace_line, detail}. */
static json_t *violation_json(const tc_world *w, const tc_world_violation *v)
{
    json_t *o = json_object(), *nodes = json_array();
    int bad = tc_jsonw_set(o, "t_ms", tc_jsonw_u64(v->time_ms));
    bad |= tc_jsonw_set(o, "what", tc_jsonw_str(v->what));
    uint32_t ids[2] = {v->node, v->node2};
    for (int i = 0; i < 2; i++) {
        if (ids[i] == UINT32_MAX)
            continue;
        tc_world_node_info info;
        tc_world_node_info_get(w, ids[i], &info);
        bad |= json_array_append_new(nodes, tc_jsonw_str(info.name));
    }
    bad |= tc_jsonw_set(o, "nodes", nodes);
    bad |= tc_jsonw_set(o, "trace_line", tc_jsonw_u64(v->trace_line));
    bad |= tc_jsonw_set(o, "detail", tc_jsonw_str(v->detail));
    if (bad != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* "violations" {count, first: the first five}. */
static int put_violations(json_t *o, const tc_world *w, const tc_world_result *r)
{
    json_t *viol = json_object(), *first = json_array();
    int bad = tc_jsonw_set(viol, "count", tc_jsonw_u64(r->violation_count));
    for (uint32_t k = 0; k < r->violation_kept && k < 5; k++)
        bad |= json_array_append_new(first, violation_json(w, &r->violations[k]));
    bad |= tc_jsonw_set(viol, "first", first);
    return bad | tc_jsonw_set(o, "violations", viol);
}

/* "expectations" [{expect, line, pass, value}]. */
static int put_expectations(json_t *o, const tc_world_result *r)
{
    json_t *list = json_array();
    int bad = 0;
    for (uint32_t k = 0; k < r->expect_count; k++) {
        const tc_world_expect *x = &r->expects[k];
        json_t *e = json_object();
        bad |= tc_jsonw_set(e, "expect", tc_jsonw_str(x->text));
        bad |= tc_jsonw_set(e, "line", json_integer(x->line));
        bad |= tc_jsonw_set(e, "pass", json_boolean(x->pass));
        bad |= tc_jsonw_set(e, "value", tc_jsonw_str(x->value));
        bad |= json_array_append_new(list, e);
    }
    return bad | tc_jsonw_set(o, "expectations", list);
}

/* "frames": {delivered, bytes, duplicates, duplicate_bytes}. */
static int put_frames(json_t *o, const tc_world_result *r)
{
    json_t *f = json_object();
    int bad = tc_jsonw_set(f, "delivered", tc_jsonw_u64(r->frames_delivered));
    bad |= tc_jsonw_set(f, "bytes", tc_jsonw_u64(r->frames_bytes));
    bad |= tc_jsonw_set(f, "duplicates", tc_jsonw_u64(r->frames_duplicate));
    bad |= tc_jsonw_set(f, "duplicate_bytes", tc_jsonw_u64(r->frames_duplicate_bytes));
    return bad | tc_jsonw_set(o, "frames", f);
}

/* "sim_ms", "wall_ms", "setup_ms", "events", "trace_lines", "frames". */
static int put_counters(json_t *o, const tc_world_result *r, long wall_ms, long setup_ms)
{
    int bad = tc_jsonw_set(o, "sim_ms", tc_jsonw_u64(r->sim_ms));
    bad |= tc_jsonw_set(o, "wall_ms", json_integer(wall_ms));
    bad |= tc_jsonw_set(o, "setup_ms", json_integer(setup_ms));
    bad |= tc_jsonw_set(o, "events", tc_jsonw_u64(r->events));
    bad |= tc_jsonw_set(o, "trace_lines", tc_jsonw_u64(r->trace_lines));
    return bad | put_frames(o, r);
}

/* "view_changes" .. "culprits_named": what the run did and found. */
static int put_outcome(json_t *o, const tc_world_result *r)
{
    json_t *finality = json_object();
    int bad = tc_jsonw_set(finality, "p50", tc_jsonw_u64(r->finality_p50_ms));
    bad |= tc_jsonw_set(finality, "p99", tc_jsonw_u64(r->finality_p99_ms));
    bad |= tc_jsonw_set(finality, "max", tc_jsonw_u64(r->finality_max_ms));
    bad |= tc_jsonw_set(finality, "count", tc_jsonw_u64(r->finality_count));
    bad |= tc_jsonw_set(o, "view_changes", tc_jsonw_u64(r->view_changes));
    bad |= tc_jsonw_set(o, "txs_submitted", tc_jsonw_u64(r->txs_submitted));
    bad |= tc_jsonw_set(o, "txs_accepted", tc_jsonw_u64(r->txs_accepted));
    bad |= tc_jsonw_set(o, "txs_rejected", tc_jsonw_u64(r->txs_rejected));
    bad |= tc_jsonw_set(o, "txs_finalized", tc_jsonw_u64(r->txs_finalized));
    bad |= tc_jsonw_set(o, "finality_ms", finality);
    bad |= tc_jsonw_set(o, "fork", json_boolean(r->fork));
    return bad | tc_jsonw_set(o, "culprits_named", json_boolean(r->culprits_named));
}

/* One summary line (the keys and their order are a contract: docs/SIMULATOR.md, sweep.c,
 * tools/plot.py and tools/golden.py read them). Returns 0, or TC_ENOMEM (nothing written). */
static int print_summary(FILE *f, const char *file, const tc_scn *s, uint64_t seed,
                         const tc_world *w, const tc_world_result *r, long wall_ms, long setup_ms)
{
    char fp[65];
    tc_hex(fp, r->fingerprint.b, TC_HASH_SIZE);
    json_t *o = json_object();
    int bad = tc_jsonw_set(o, "scenario", tc_jsonw_str(s->name[0] ? s->name : file));
    bad |= tc_jsonw_set(o, "file", tc_jsonw_str(file));
    bad |= tc_jsonw_set(o, "seed", tc_jsonw_u64(seed));
    bad |= tc_jsonw_set(o, "fingerprint", tc_jsonw_str(fp));
    bad |= put_counters(o, r, wall_ms, setup_ms);
    bad |= put_nodes(o, w);
    bad |= put_outcome(o, r);
    bad |= put_violations(o, w, r);
    bad |= put_expectations(o, r);
    if (r->harness_failed)
        bad |= tc_jsonw_set(o, "harness_error", tc_jsonw_str(r->harness_error));
    bad |= tc_jsonw_set(o, "verdict", tc_jsonw_str(r->pass ? "pass" : "fail"));
    return tc_sweep_put_json(f, o, bad == 0);
}

/* The first reason a run failed, in words (stderr and JUnit). */
static void failure_message(const tc_world_result *r, char *out, size_t size)
{
    out[0] = 0;
    if (r->harness_failed) {
        snprintf(out, size, "harness: %s", r->harness_error);
    } else if (r->violation_count > 0) {
        const tc_world_violation *v = &r->violations[0];
        snprintf(out, size, "%llu violation(s); first at %llu ms, trace line %llu: %s: %s",
                 (unsigned long long)r->violation_count, (unsigned long long)v->time_ms,
                 (unsigned long long)v->trace_line, v->what, v->detail);
    } else {
        for (uint32_t k = 0; k < r->expect_count; k++) {
            if (!r->expects[k].pass) {
                snprintf(out, size, "line %u: expect %s: %s", r->expects[k].line,
                         r->expects[k].text, r->expects[k].value);
                break;
            }
        }
    }
}

static long wall_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* ---- running one scenario ---- */

static int run_world(const run_cli *c, const char *file, const tc_scn *s, run_outcome *out)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0); /* wall time for the summary only, never the run */
    FILE *trace = NULL;
    if (c->trace_path != NULL && (trace = fopen(c->trace_path, "w")) == NULL) {
        fprintf(stderr, "timesim run: %s: %s\n", c->trace_path, strerror(errno));
        return 2;
    }
    uint64_t seed = c->has_seed ? c->seed : s->seed;
    tc_world_opts o = {.seed = seed,
                       .until_ms = c->until_ms,
                       .trace = trace,
                       .timeline = c->timeline ? stdout : NULL,
                       .progress = c->quiet ? NULL : stderr};
    tc_world *w = NULL;
    char err[300];
    int rc = tc_world_new(s, &o, &w, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", file, err);
        snprintf(out->message, sizeof(out->message), "%s", err);
        if (trace != NULL)
            fclose(trace);
        return 2;
    }
    out->setup_ms = wall_since(&t0);
    (void)tc_world_run(w);
    tc_world_result r;
    tc_world_result_get(w, &r);
    out->wall_ms = wall_since(&t0);
    failure_message(&r, out->message, sizeof(out->message));
    if (!r.pass) {
        fprintf(stderr, "timesim: FAILED %s: %s\n", file, out->message);
        fprintf(stderr, "timesim: replay with: timesim run %s --seed %llu%s%s --timeline\n", file,
                (unsigned long long)seed, c->until_text ? " --until " : "",
                c->until_text ? c->until_text : "");
    }
    rc = print_summary(stdout, file, s, seed, w, &r, out->wall_ms, out->setup_ms);
    tc_world_free(w);
    if (trace != NULL)
        fclose(trace);
    return rc != 0 ? 2 : r.pass ? 0 : 1;
}

static int run_file(const run_cli *c, const char *file, run_outcome *out)
{
    snprintf(out->file, sizeof(out->file), "%s", file);
    tc_scn s;
    char err[512];
    int rc = tc_scn_parse_file(file, &s, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        snprintf(out->message, sizeof(out->message), "%s", err);
        return 2;
    }
    snprintf(out->name, sizeof(out->name), "%s", s.name[0] ? s.name : file);
    /* Chaos mode becomes an explicit timeline drawn from the run's seed (chaos.h). */
    rc = tc_chaos_expand(&s, c->has_seed ? c->seed : s.seed, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "%s: chaos: %s\n", file, err);
        snprintf(out->message, sizeof(out->message), "chaos: %s", err);
        tc_scn_free(&s);
        return 2;
    }
    rc = run_world(c, file, &s, out);
    tc_scn_free(&s);
    return rc;
}

/* ---- JUnit ---- */

static int write_junit(const char *path, const run_outcome *o, uint32_t count)
{
    tc_junit_case *cases = calloc(count + 1, sizeof(*cases));
    if (cases == NULL)
        return 2;
    for (uint32_t k = 0; k < count; k++) {
        cases[k] = (tc_junit_case){.name = o[k].name[0] ? o[k].name : o[k].file,
                                   .classname = o[k].file,
                                   .time_ms = (uint64_t)o[k].wall_ms};
        if (o[k].status != 0) {
            cases[k].failure_message = o[k].message;
            cases[k].failure_type = o[k].status == 1 ? "failure" : "bad-input";
        }
    }
    int rc = tc_junit_write_file(path, "timesim run", cases, count);
    free(cases);
    if (rc != 0)
        fprintf(stderr, "timesim run: %s: cannot write the JUnit report\n", path);
    return rc == 0 ? 0 : 2;
}

/* Runs each file in this process, in order; the outcomes feed the tally and the report. */
static int run_all(const run_cli *c)
{
    run_outcome *outcomes = calloc(c->file_count + 1, sizeof(*outcomes));
    if (outcomes == NULL)
        return 2;
    uint32_t passed = 0, failed = 0, errors = 0;
    for (uint32_t k = 0; k < c->file_count; k++) {
        outcomes[k].status = run_file(c, c->files[k], &outcomes[k]);
        passed += outcomes[k].status == 0;
        failed += outcomes[k].status == 1;
        errors += outcomes[k].status == 2;
    }
    if (c->file_count > 1)
        fprintf(stderr, "%u passed, %u failed%s\n", passed, failed,
                errors ? " (and some bad input)" : "");
    int status = errors ? 2 : failed ? 1 : 0;
    if (c->junit_path != NULL && write_junit(c->junit_path, outcomes, c->file_count) != 0)
        status = 2;
    free(outcomes);
    return status;
}

int tc_sim_run_main(int argc, char **argv)
{
    run_cli *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return 2;
    int status = parse_args(argc, argv, c);
    if (status == 0 && c->jobs > 1 && c->file_count > 1)
        status = tc_sweep_files(NULL, c->files, c->file_count, c->has_seed ? &c->seed : NULL,
                                c->jobs, c->junit_path, 0);
    else if (status == 0)
        status = run_all(c);
    for (uint32_t k = 0; k < c->owned_count; k++)
        free(c->owned[k]);
    free(c);
    return status;
}
