/* test_world.c — the simulated world end to end: one scenario and seed give one fingerprint;
 * the fingerprint is the hash of the trace as written; faults, crashes and restarts keep the
 * invariants; a fork made by Byzantine weight over one third is caught by the checkers as an
 * agreement violation (and only becomes "expected" with `expect fork`); expectations report the
 * value they checked and fail when it does not hold.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "scenario.h"
#include "world.h"
#include "world_internal.h"

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
    /* The honest nodes that saw it stopped with the typed failure fork (node.h), which the
     * summary reports with its time and code. */
    for (uint32_t e = 0; e < 2; e++) {
        tc_world_node_info info;
        tc_world_node_info_get(a.w, e, &info);
        cr_assert_eq(info.failure, TC_NODE_FAIL_FORK, "%s failed as %s", info.name,
                     tc_node_failure_name(info.failure));
        cr_assert_eq(info.failure_code, TC_EBLK_COMMIT, "%s: %s", info.name,
                     tc_strerror(info.failure_code));
        cr_assert_str_eq(info.failure_cause, "fork alarm");
        cr_assert_gt(info.failure_sim_ms, 500, "after the partition: %llu",
                     (unsigned long long)info.failure_sim_ms);
    }
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

Test(world, link_events_take_a_node_off_and_back, .timeout = 60)
{
    /* From 3 s every link of n1 is down (a flap of 1 ms up, 1 h down) until 9 s, when the flap
     * ends: n1 falls behind while cut off, and catches up once its links are back. */
    static const char text[] = "nodes 4\n"
                               "crypto fast\n"
                               "network latency 20ms jitter 5ms\n"
                               "at 3s link n1 n0 flap 1ms 60m\n"
                               "at 3s link n1 n2 flap 1ms 60m\n"
                               "at 3s link n1 n3 flap 1ms 60m loss 10%\n"
                               "at 9s link n1 n0 flap off\n"
                               "at 9s link n1 n2 flap off\n"
                               "at 9s link n1 n3 flap off loss 0%\n"
                               "run 20s\n"
                               "expect safety\n"
                               "expect liveness within 8s after heal\n";
    run_t cut, all;
    run_text(text, 5, 8900, NULL, &cut);
    tc_world_node_info n0, n1;
    tc_world_node_info_get(cut.w, 0, &n0);
    tc_world_node_info_get(cut.w, 1, &n1);
    cr_assert_geq(n0.height, n1.height + 4, "n1 fell behind while cut off: n0 %llu, n1 %llu",
                  (unsigned long long)n0.height, (unsigned long long)n1.height);
    tc_world_free(cut.w);
    run_text(text, 5, 0, NULL, &all);
    cr_assert(all.r.pass, "%s", all.r.expect_count > 1 ? all.r.expects[1].value : "");
    tc_world_node_info_get(all.w, 0, &n0);
    tc_world_node_info_get(all.w, 1, &n1);
    cr_assert_geq(n1.height + 1, n0.height, "n1 caught up: n0 %llu, n1 %llu",
                  (unsigned long long)n0.height, (unsigned long long)n1.height);
    tc_world_free(all.w);
}

/* ---- topology ---- */

#define TOPO_MAX 40

/* Reads the connections made at time 0 from a trace ("0 nI up nJ out" lines) into adj. */
static void read_topology(FILE *trace, uint32_t count, bool adj[TOPO_MAX][TOPO_MAX],
                          uint32_t outbound[TOPO_MAX])
{
    cr_assert(count <= TOPO_MAX);
    memset(adj, 0, sizeof(bool) * TOPO_MAX * TOPO_MAX);
    memset(outbound, 0, sizeof(uint32_t) * TOPO_MAX);
    rewind(trace);
    char line[256];
    while (fgets(line, sizeof(line), trace) != NULL) {
        unsigned a, b;
        int end = 0; /* set only when the whole pattern, "out" included, matched */
        if (sscanf(line, "0 n%u up n%u out%n", &a, &b, &end) != 2 || end == 0)
            continue;
        cr_assert(a < count && b < count && a != b, "a connection between nodes: %s", line);
        cr_assert(!adj[a][b], "each pair is connected once: %s", line);
        adj[a][b] = adj[b][a] = true;
        outbound[a]++;
    }
}

/* Hops from node 0 to the farthest node (UINT32_MAX when one is unreachable). */
static uint32_t eccentricity_of_0(uint32_t count, bool adj[TOPO_MAX][TOPO_MAX])
{
    uint32_t dist[TOPO_MAX], queue[TOPO_MAX], head = 0, tail = 0, far = 0;
    for (uint32_t i = 0; i < count; i++)
        dist[i] = UINT32_MAX;
    dist[0] = 0;
    queue[tail++] = 0;
    while (head < tail) {
        uint32_t u = queue[head++];
        for (uint32_t v = 0; v < count; v++) {
            if (adj[u][v] && dist[v] == UINT32_MAX) {
                dist[v] = dist[u] + 1;
                far = dist[v];
                queue[tail++] = v;
            }
        }
    }
    return tail == count ? far : UINT32_MAX;
}

static void topology_of(const char *text, uint32_t count, uint64_t seed,
                        bool adj[TOPO_MAX][TOPO_MAX], uint32_t outbound[TOPO_MAX])
{
    FILE *trace = tmpfile();
    cr_assert_not_null(trace);
    run_t a;
    run_text(text, seed, 1, trace, &a);
    fflush(trace);
    read_topology(trace, count, adj, outbound);
    fclose(trace);
    tc_world_free(a.w);
}

Test(world, up_to_33_nodes_are_a_full_mesh, .timeout = 60)
{
    static bool adj[TOPO_MAX][TOPO_MAX];
    uint32_t outbound[TOPO_MAX];
    topology_of("scenario \"mesh\"\nnodes 33\ncrypto fast\nrun 1s\n", 33, 1, adj, outbound);
    for (uint32_t a = 0; a < 33; a++) {
        cr_expect_eq(outbound[a], 16u, "n%u dials the 16 after it, not %u", a, outbound[a]);
        for (uint32_t b = 0; b < 33; b++)
            cr_expect_eq(adj[a][b], a != b, "n%u-n%u connected: %d, expected %d", a, b, adj[a][b],
                         a != b);
    }
}

/* Above 2 * outbound_max + 1 nodes, every node dials its ring successor and random others
 * drawn from the seed, up to outbound_max: connected, a few hops across, and seed-dependent. */
Test(world, larger_networks_dial_random_peers_from_the_seed, .timeout = 120)
{
    static const char text[] = "scenario \"random\"\nnodes 40\ncrypto fast\nrun 1s\n";
    static bool adj[TOPO_MAX][TOPO_MAX], again[TOPO_MAX][TOPO_MAX], other[TOPO_MAX][TOPO_MAX];
    uint32_t outbound[TOPO_MAX], out2[TOPO_MAX];
    topology_of(text, 40, 7, adj, outbound);
    uint32_t links = 0;
    for (uint32_t a = 0; a < 40; a++) {
        cr_expect(outbound[a] >= 14 && outbound[a] <= 16,
                  "n%u dials 14..16 peers (8 redraws a round), dialled %u", a, outbound[a]);
        cr_expect(adj[a][(a + 1) % 40], "n%u is connected to its ring successor", a);
        for (uint32_t b = a + 1; b < 40; b++)
            links += adj[a][b];
    }
    cr_expect(links < 40 * 39 / 2, "not a full mesh: %u of %u pairs", links, 40 * 39 / 2);
    uint32_t ecc = eccentricity_of_0(40, adj);
    cr_expect(ecc <= 3, "every node within 3 hops of n0, got %u", ecc);
    topology_of(text, 40, 7, again, out2);
    cr_expect(memcmp(adj, again, sizeof(adj)) == 0, "the same seed dials the same peers");
    topology_of(text, 40, 8, other, out2);
    cr_expect(memcmp(adj, other, sizeof(adj)) != 0, "another seed dials other peers");
}

Test(world, the_event_queue_is_sized_by_the_node_count)
{
    cr_expect_eq(w_evq_capacity(4), W_EVQ_CAPACITY, "small worlds: the floor, %u", W_EVQ_CAPACITY);
    cr_expect_eq(w_evq_capacity(64), 1u << 20, "64 nodes x 16,384 = the floor again");
    cr_expect_eq(w_evq_capacity(256), 256u * W_EVQ_PER_NODE, "256 nodes: 4 M events");
    cr_expect_eq(w_evq_capacity(TC_NET_ENDPOINTS_MAX), TC_NET_ENDPOINTS_MAX * W_EVQ_PER_NODE,
                 "the largest world (1,024: 16 M) fits the queue's limit exactly");
    cr_expect_eq(w_evq_capacity(UINT32_MAX), TC_EVQ_CAPACITY_MAX, "clamped to the queue's limit");
}

/* The frame table shares a frame only between sends of equal bytes: equal bytes from another
 * buffer get the kept frame, bytes that differ only where the slot's key does not look get their
 * own, and a frame over the table's byte budget is never kept. */
Test(world, the_frame_table_shares_only_equal_bytes, .timeout = 60)
{
    cr_assert_eq(tc_crypto_init(), 0);
    tc_scn s;
    parse("scenario \"frames\"\nnodes 4\ncrypto fast\nrun 1s\n", &s);
    tc_world_opts o = {.seed = 1};
    tc_world *w;
    char err[256];
    cr_assert_eq(tc_world_new(&s, &o, &w, err, sizeof(err)), 0, "world: %s", err);
    tc_scn_free(&s);
    uint8_t a[100], a2[100], b[100];
    for (uint32_t i = 0; i < sizeof(a); i++)
        a[i] = (uint8_t)(0xa0 ^ i * 7);
    memcpy(a2, a, sizeof(a));
    memcpy(b, a, sizeof(a));
    b[30] ^= 1; /* between the words at 0..15 and 46..53 that pick the slot */
    uint64_t made = w->frames_made, shared = w->frames_shared;

    w_frame *fa = w_frame_get(w, a, sizeof(a));
    w_frame *fa2 = w_frame_get(w, a2, sizeof(a2));
    cr_assert(fa != NULL && fa2 == fa, "equal bytes from another buffer share the frame");
    cr_expect_eq(w->frames_made, made + 1, "one frame made for two sends");
    cr_expect_eq(w->frames_shared, shared + 1, "the second send found it");
    w_frame *fb = w_frame_get(w, b, sizeof(b));
    cr_assert(fb != NULL && fb != fa, "one differing byte in the same slot is another frame");
    uint32_t len = 0;
    const uint8_t *got = w_frame_bytes(fb, &len);
    cr_expect(len == sizeof(b) && memcmp(got, b, sizeof(b)) == 0, "it holds the bytes sent");
    got = w_frame_bytes(fa, &len);
    cr_expect(len == sizeof(a) && memcmp(got, a, sizeof(a)) == 0, "and the first keeps its own");
    w_frame *fa3 = w_frame_get(w, a, sizeof(a));
    cr_expect(fa3 != fa && fa3 != fb, "b took the slot: a is made again, not shared");
    cr_expect_eq(w->frames_made, made + 3, "three frames made: a, b, a");
    cr_expect(w->frame_table_bytes <= W_FRAME_TABLE_BYTES, "the table holds %zu bytes",
              w->frame_table_bytes);

    size_t big_len = (size_t)W_FRAME_TABLE_BYTES + 1;
    uint8_t *big = calloc(big_len, 1);
    cr_assert(big != NULL);
    size_t before = w->frame_table_bytes;
    w_frame *f1 = w_frame_get(w, big, big_len), *f2 = w_frame_get(w, big, big_len);
    cr_expect(f1 != NULL && f2 != NULL && f1 != f2, "a frame over the budget is never kept");
    cr_expect(w->frame_table_bytes <= before, "the table's bytes stay within %u: %zu",
              W_FRAME_TABLE_BYTES, w->frame_table_bytes);
    w_frame *list[] = {fa, fa2, fb, fa3, f1, f2};
    for (size_t k = 0; k < TC_ARRAY_LEN(list); k++)
        w_frame_put(list[k]);
    free(big);
    tc_world_free(w);
}
