/* test_world.c — the simulated world end to end: one scenario and seed give one fingerprint;
 * the fingerprint is the hash of the trace as written; faults, crashes and restarts keep the
 * invariants; a fork made by Byzantine weight over one third is caught by the checkers as an
 * agreement violation (and only becomes "expected" with `expect fork`); expectations report the
 * value they checked and fail when it does not hold.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "scenario.h"
#include "world.h"

typedef struct {
    tc_world *w;
    tc_world_result r;
} run_t;

static void parse(const char *text, tc_scn *s)
{
    char err[256];
    int rc = tc_scn_parse_text("test.scn", text, strlen(text), s, err, sizeof(err));
    cr_assert_eq(rc, 0, "scenario: %s", err);
}

/* Runs text with seed (0: the scenario's) and optional trace stream; the caller frees. */
static void run_text(const char *text, uint64_t seed, uint64_t until_ms, FILE *trace, run_t *out)
{
    cr_assert_eq(tc_crypto_init(), 0);
    tc_scn s;
    parse(text, &s);
    tc_world_opts o = {.seed = seed ? seed : s.seed, .until_ms = until_ms, .trace = trace};
    char err[256];
    int rc = tc_world_new(&s, &o, &out->w, err, sizeof(err));
    cr_assert_eq(rc, 0, "world: %s", err);
    tc_scn_free(&s);
    cr_assert_eq(tc_world_run(out->w), 0, "the harness stays within its bounds");
    tc_world_result_get(out->w, &out->r);
}

static const tc_world_expect *find_expect(const tc_world_result *r, const char *prefix)
{
    for (uint32_t k = 0; k < r->expect_count; k++)
        if (strncmp(r->expects[k].text, prefix, strlen(prefix)) == 0)
            return &r->expects[k];
    cr_assert_fail("no expectation starting with %s", prefix);
    return NULL;
}

static const char busy[] = "scenario \"busy\"\n"
                           "seed 3\n"
                           "nodes 4\n"
                           "crypto fast\n"
                           "network latency 20ms jitter 10ms loss 1% dup 1%\n"
                           "link n0 n1 reorder 10%\n"
                           "clock n2 offset +1s drift 300ppm\n"
                           "load 40/s clients 4 double-spend 5%\n"
                           "at 3s crash n1\n"
                           "at 5s restart n1\n"
                           "at 6s crash n3 lose-writes\n"
                           "at 7s restart n3\n"
                           "at 8s partition n0 | n1 n2 n3\n"
                           "at 9s pause n2 500ms\n"
                           "at 10s heal\n"
                           "at 10s clock n0 jump +2s\n"
                           "run 16s\n"
                           "expect safety\n"
                           "expect height >= 8\n"
                           "expect liveness within 5s after heal\n";

Test(world, same_scenario_and_seed_give_the_same_fingerprint, .timeout = 120)
{
    run_t a, b, c;
    run_text(busy, 0, 0, NULL, &a);
    run_text(busy, 0, 0, NULL, &b);
    run_text(busy, 4, 0, NULL, &c);
    cr_assert(memcmp(a.r.fingerprint.b, b.r.fingerprint.b, TC_HASH_SIZE) == 0,
              "two runs of one seed have one fingerprint");
    cr_assert_eq(a.r.events, b.r.events);
    cr_assert_eq(a.r.trace_lines, b.r.trace_lines);
    cr_assert_eq(a.r.txs_finalized, b.r.txs_finalized);
    cr_assert_eq(a.r.finality_p99_ms, b.r.finality_p99_ms);
    cr_assert(memcmp(a.r.fingerprint.b, c.r.fingerprint.b, TC_HASH_SIZE) != 0,
              "another seed is another run");
    cr_assert(a.r.pass, "the busy scenario keeps every invariant: %llu violations, first %s",
              (unsigned long long)a.r.violation_count,
              a.r.violation_kept ? a.r.violations[0].detail : "-");
    cr_assert_gt(a.r.txs_finalized, 100, "the wallets' transfers become final: %llu",
                 (unsigned long long)a.r.txs_finalized);
    tc_world_free(a.w);
    tc_world_free(b.w);
    tc_world_free(c.w);
}

/* The fingerprint is BLAKE2b-256 over the trace lines exactly as written, one line per input. */
Test(world, fingerprint_is_the_hash_of_the_written_trace, .timeout = 60)
{
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    run_t a;
    run_text(busy, 0, 8000, f, &a);
    cr_assert_eq(a.r.sim_ms, 8000, "--until stops the run: %llu", (unsigned long long)a.r.sim_ms);
    rewind(f);
    tc_hasher h;
    tc_hasher_init(&h, "tc/sim/trace");
    char line[1024];
    uint64_t lines = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strlen(line);
        cr_assert(n > 0 && line[n - 1] == '\n', "whole lines only");
        tc_hasher_update(&h, line, n);
        lines++;
    }
    tc_hash fp;
    tc_hasher_final(&h, &fp);
    cr_assert_eq(lines, a.r.trace_lines);
    cr_assert(memcmp(fp.b, a.r.fingerprint.b, TC_HASH_SIZE) == 0);
    fclose(f);
    tc_world_free(a.w);
}

/* Byzantine weight over a third forks the chain: without `expect fork`, the agreement checker
 * reports it, naming both honest nodes, the time and the trace line. */
static const char fork_text[] = "scenario \"fork\"\n"
                                "seed 18\n"
                                "nodes 3\n"
                                "tier n2 silver\n"
                                "crypto fast\n"
                                "network latency 20ms jitter 5ms\n"
                                "byzantine n2 equivocate\n"
                                "at 500ms partition n0 | n1\n"
                                "at 8s heal\n"
                                "run 12s\n"
                                "expect safety\n";

Test(world, a_fork_is_an_agreement_violation_unless_expected, .timeout = 60)
{
    run_t a;
    run_text(fork_text, 0, 0, NULL, &a);
    cr_assert(!a.r.pass);
    cr_assert_geq(a.r.violation_count, 1);
    const tc_world_violation *v = &a.r.violations[0];
    cr_assert_str_eq(v->what, "agreement", "first violation: %s: %s", v->what, v->detail);
    cr_assert(v->node <= 1 && v->node2 <= 1 && v->node != v->node2, "n0 and n1 disagree");
    cr_assert_gt(v->trace_line, 0);
    cr_assert_gt(v->time_ms, 500);
    cr_assert(!find_expect(&a.r, "safety")->pass);
    tc_world_free(a.w);
}

/* Expectations state the value they checked, and fail when it does not hold. */
Test(world, expectations_report_their_values, .timeout = 60)
{
    static const char text[] = "nodes 4\n"
                               "crypto fast\n"
                               "byzantine n3 garbage\n"
                               "run 10s\n"
                               "expect height >= 100000\n"
                               "expect height >= 5 on n0\n"
                               "expect view-changes <= 100\n"
                               "expect banned n3 by n0 n1 n2\n"
                               "expect liveness within 60s after 5s\n";
    run_t a;
    run_text(text, 0, 0, NULL, &a);
    cr_assert_eq(a.r.violation_count, 0);
    const tc_world_expect *x = find_expect(&a.r, "height >= 100000");
    cr_assert(!x->pass);
    cr_assert(strstr(x->value, "at height") != NULL, "value: %s", x->value);
    cr_assert(find_expect(&a.r, "height >= 5 on n0")->pass);
    cr_assert(find_expect(&a.r, "view-changes")->pass);
    cr_assert(find_expect(&a.r, "banned n3")->pass, "%s", find_expect(&a.r, "banned")->value);
    x = find_expect(&a.r, "liveness");
    cr_assert(!x->pass, "a window ending after the run cannot be judged");
    cr_assert(strstr(x->value, "after the run") != NULL, "value: %s", x->value);
    cr_assert(!a.r.pass);
    tc_world_free(a.w);
}

/* Crashes that lose the write in flight, and restarts: the restarted nodes pass the integrity
 * check, never equivocate, and catch up with the others. */
/* Two garbage peers of four: each honest validator bans both, is left reaching weight 2 < Q = 3,
 * and says so (TC_NOTIFY_QUORUM_LOST); a validator that only resumed from a long pause bans
 * nobody (its backlog is honest). */
Test(world, bans_that_cut_a_node_off_its_quorum_are_reported_and_a_backlog_is_not_banned,
     .timeout = 60)
{
    static const char text[] = "nodes 4\n"
                               "network latency 20ms\n"
                               "crypto fast\n"
                               "load 100/s clients 8\n"
                               "byzantine n1 garbage\n"
                               "byzantine n2 garbage\n"
                               "run 6s\n";
    run_t a;
    run_text(text, 1, 0, NULL, &a);
    for (uint32_t e = 0; e < 4; e += 3) {
        tc_world_node_info n;
        tc_world_node_info_get(a.w, e, &n);
        cr_assert_eq(n.bans, 2, "%s banned both garbage peers (%llu)", n.name,
                     (unsigned long long)n.bans);
        cr_assert_geq(n.quorum_lost, 1, "%s reported it", n.name);
    }
    tc_world_free(a.w);
    static const char paused[] = "nodes 4\n"
                                 "network latency 20ms\n"
                                 "crypto fast\n"
                                 "load 200/s clients 16\n"
                                 "at 2s pause n1 8s\n"
                                 "run 14s\n"
                                 "expect liveness within 4s after 10s\n";
    run_text(paused, 1, 0, NULL, &a);
    cr_assert(a.r.pass, "the resumed validator keeps up");
    tc_world_node_info n1;
    tc_world_node_info_get(a.w, 1, &n1);
    cr_assert_eq(n1.bans, 0, "n1 banned %llu peers", (unsigned long long)n1.bans);
    cr_assert_eq(n1.quorum_lost, 0);
    tc_world_free(a.w);
}

Test(world, lose_writes_crashes_keep_safety_and_nodes_catch_up, .timeout = 60)
{
    static const char text[] = "nodes 4\n"
                               "crypto fast\n"
                               "load 30/s clients 4\n"
                               "at 2s crash n0 lose-writes\n"
                               "at 3s restart n0\n"
                               "at 5s crash n0 lose-writes\n"
                               "at 5500ms restart n0\n"
                               "at 7s crash n2 lose-writes\n"
                               "at 9s restart n2\n"
                               "run 20s\n"
                               "expect safety\n"
                               "expect height >= 10\n";
    run_t a;
    run_text(text, 0, 0, NULL, &a);
    cr_assert(a.r.pass, "%llu violations; %s", (unsigned long long)a.r.violation_count,
              a.r.violation_kept ? a.r.violations[0].detail : "");
    tc_world_node_info n0, n1;
    tc_world_node_info_get(a.w, 0, &n0);
    tc_world_node_info_get(a.w, 1, &n1);
    cr_assert(n0.up && n0.honest);
    cr_assert_geq(n0.height + 1, n1.height, "n0 caught up: %llu vs %llu",
                  (unsigned long long)n0.height, (unsigned long long)n1.height);
    tc_world_free(a.w);
}
