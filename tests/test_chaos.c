/* test_chaos.c — chaos schedules: one schedule per seed, faults within the budget at every
 * instant, everything healed by heal-by, Byzantine weight below a third, the liveness phase,
 * the timeline's own faults respected, and write -> parse round trips of expanded scenarios.
 *
 * The budget is checked here by an independent replay of the expanded timeline (crashed,
 * paused, clock-shifted and partitioned nodes at every instant), not through chaos.c's own
 * bookkeeping: the test must be able to catch the bookkeeping lying.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos.h"
#include "scenario.h"
#include "tx.h"

#define SEEDS 40 /* seeds each property is checked on */

static void parse_ok(const char *text, tc_scn *s)
{
    char err[512];
    int rc = tc_scn_parse_text("t.scn", text, strlen(text), s, err, sizeof(err));
    cr_assert_eq(rc, 0, "parse failed (%d): %s\n%s", rc, err, text);
}

static void expand_ok(tc_scn *s, uint64_t seed, tc_chaos_stats *st)
{
    char err[256];
    int rc = tc_chaos_expand_stats(s, seed, st, err, sizeof(err));
    cr_assert_eq(rc, 0, "expand failed (%d): %s", rc, err);
}

static char *write_text(const tc_scn *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cr_assert_eq(tc_scn_write(f, s), 0);
    cr_assert_eq(fclose(f), 0);
    return buf;
}

/* ---- an independent replay of a timeline ---- */

#define NODES_MAX 64

typedef struct {
    bool crashed[NODES_MAX], paused[NODES_MAX], byzantine[NODES_MAX];
    bool relinked[NODES_MAX]; /* the first node of a link event whose link differs from setup */
    tc_net_link link[NODES_MAX][NODES_MAX]; /* every directed link's parameters now */
    int64_t offset_ms[NODES_MAX];
    uint32_t group[NODES_MAX]; /* UINT32_MAX: in no partition */
    bool partitioned;
} world_view;

static uint32_t ep(const tc_scn *s, tc_scn_node n)
{
    uint32_t e = 0;
    cr_assert_eq(tc_scn_endpoint(s, n, &e), 0);
    cr_assert_lt(e, NODES_MAX);
    return e;
}

/* The masked fields of *l take the event's values. */
static void apply_link(tc_net_link *l, const tc_scn_event *ev)
{
    const tc_net_link *n = &ev->link;
    uint32_t m = ev->link_mask;
    l->latency_ms = m & TC_SCN_LINK_LATENCY ? n->latency_ms : l->latency_ms;
    l->jitter_ms = m & TC_SCN_LINK_JITTER ? n->jitter_ms : l->jitter_ms;
    l->loss_ppm = m & TC_SCN_LINK_LOSS ? n->loss_ppm : l->loss_ppm;
    l->dup_ppm = m & TC_SCN_LINK_DUP ? n->dup_ppm : l->dup_ppm;
    l->reorder_ppm = m & TC_SCN_LINK_REORDER ? n->reorder_ppm : l->reorder_ppm;
    l->flap_up_ms = m & TC_SCN_LINK_FLAP ? n->flap_up_ms : l->flap_up_ms;
    l->flap_down_ms = m & TC_SCN_LINK_FLAP ? n->flap_down_ms : l->flap_down_ms;
    l->bandwidth_Bps = m & TC_SCN_LINK_BANDWIDTH ? n->bandwidth_Bps : l->bandwidth_Bps;
}

static void setup_links(const tc_scn *s, world_view *v)
{
    uint32_t n = tc_scn_endpoint_count(s);
    for (uint32_t a = 0; a < n; a++)
        for (uint32_t b = 0; b < n; b++)
            if (a != b)
                tc_scn_link_params(s, tc_scn_endpoint_node(s, a), tc_scn_endpoint_node(s, b),
                                   &v->link[a][b]);
}

static void link_event(const tc_scn *s, const tc_scn_event *ev, world_view *v)
{
    uint32_t a = ep(s, ev->node), b = ep(s, ev->peer);
    apply_link(&v->link[a][b], ev);
    if (!ev->oneway)
        apply_link(&v->link[b][a], ev);
    tc_net_link base;
    tc_scn_link_params(s, ev->node, ev->peer, &base);
    v->relinked[a] = memcmp(&base, &v->link[a][b], sizeof(base)) != 0;
}

/* The state after every event at or before t (pauses by their window). */
static void view_at(const tc_scn *s, uint64_t t, world_view *v)
{
    memset(v, 0, sizeof(*v));
    for (uint32_t e = 0; e < NODES_MAX; e++)
        v->group[e] = UINT32_MAX;
    setup_links(s, v);
    for (uint32_t k = 0; k < s->byz_count; k++)
        v->byzantine[ep(s, s->byz[k].node)] = true;
    for (uint32_t k = 0; k < s->event_count; k++) {
        const tc_scn_event *ev = &s->events[k];
        if (ev->kind == TC_SCN_EV_BYZANTINE)
            v->byzantine[ep(s, ev->node)] = true; /* Byzantine for the whole run */
        if (ev->at_ms > t)
            continue;
        if (ev->kind == TC_SCN_EV_CRASH || ev->kind == TC_SCN_EV_RESTART)
            v->crashed[ep(s, ev->node)] = ev->kind == TC_SCN_EV_CRASH;
        if (ev->kind == TC_SCN_EV_PAUSE && t < ev->at_ms + ev->duration_ms)
            v->paused[ep(s, ev->node)] = true;
        if (ev->kind == TC_SCN_EV_CLOCK_JUMP)
            v->offset_ms[ep(s, ev->node)] += ev->jump_ms;
        if (ev->kind == TC_SCN_EV_LINK)
            link_event(s, ev, v);
        if (ev->kind == TC_SCN_EV_HEAL) {
            v->partitioned = false;
            for (uint32_t e = 0; e < NODES_MAX; e++)
                v->group[e] = UINT32_MAX;
        }
        if (ev->kind == TC_SCN_EV_PARTITION) {
            v->partitioned = true;
            for (uint32_t m = 0; m < ev->members.count; m++) {
                const tc_scn_member *mb = &s->members[ev->members.first + m];
                v->group[ep(s, mb->node)] = mb->group;
            }
        }
    }
}

static uint64_t weight_of(const tc_scn *s, uint32_t e)
{
    tc_scn_node n = tc_scn_endpoint_node(s, e);
    if (n.kind != TC_SCN_VALIDATOR)
        return 0;
    return tc_tier_weight(&s->profile, (tc_tier)tc_scn_tier(s, n));
}

/* Honest validator weight that is up, not paused, on time and on the best-connected side. */
static uint64_t connected_honest(const tc_scn *s, const world_view *v)
{
    uint64_t side[3] = {0, 0, 0}, everywhere = 0;
    for (uint32_t e = 0; e < tc_scn_endpoint_count(s); e++) {
        if (v->byzantine[e] || v->crashed[e] || v->paused[e] || v->offset_ms[e] != 0 ||
            v->relinked[e])
            continue;
        uint64_t w = weight_of(s, e);
        if (v->group[e] == UINT32_MAX)
            everywhere += w;
        else
            side[v->group[e] < 2 ? v->group[e] : 2] += w;
    }
    uint64_t best = side[0] > side[1] ? side[0] : side[1];
    return everywhere + (best > side[2] ? best : side[2]);
}

typedef struct {
    uint64_t w_total, quorum, byzantine;
} budget;

static budget budget_of(const tc_scn *s)
{
    budget b = {0, 0, 0};
    world_view v;
    view_at(s, 0, &v);
    for (uint32_t e = 0; e < tc_scn_endpoint_count(s); e++) {
        b.w_total += weight_of(s, e);
        b.byzantine += v.byzantine[e] ? weight_of(s, e) : 0;
    }
    b.quorum = b.w_total * 2 / 3 + 1;
    return b;
}

/* Checks the budget at every instant: after the events of each event time and at every pause's
 * end (the state is constant in between). */
static void assert_within_budget(const tc_scn *s, uint64_t seed)
{
    budget b = budget_of(s);
    cr_assert_lt(3 * b.byzantine, b.w_total, "seed %llu: Byzantine weight %llu of %llu",
                 (unsigned long long)seed, (unsigned long long)b.byzantine,
                 (unsigned long long)b.w_total);
    for (uint32_t k = 0; k < s->event_count; k++) {
        const tc_scn_event *ev = &s->events[k];
        uint64_t times[2] = {ev->at_ms, ev->at_ms + ev->duration_ms};
        for (int i = 0; i < (ev->kind == TC_SCN_EV_PAUSE ? 2 : 1); i++) {
            world_view v;
            view_at(s, times[i], &v);
            uint64_t up = connected_honest(s, &v);
            cr_assert_geq(up, b.quorum, "seed %llu: at %llu ms honest connected %llu < Q %llu",
                          (unsigned long long)seed, (unsigned long long)times[i],
                          (unsigned long long)up, (unsigned long long)b.quorum);
        }
    }
}

/* After heal_by: no node crashed (unless the timeline left it so), paused, shifted or cut, and
 * every link has its setup parameters back. */
static void assert_healed(const tc_scn *s, uint64_t heal_by_ms, uint64_t seed)
{
    world_view v;
    view_at(s, heal_by_ms, &v);
    cr_assert(!v.partitioned, "seed %llu: a partition outlives heal-by", (unsigned long long)seed);
    for (uint32_t e = 0; e < tc_scn_endpoint_count(s); e++) {
        cr_assert(!v.crashed[e] && !v.paused[e], "seed %llu: endpoint %u still down",
                  (unsigned long long)seed, e);
        cr_assert_eq(v.offset_ms[e], 0, "seed %llu: endpoint %u clock off by %lld",
                     (unsigned long long)seed, e, (long long)v.offset_ms[e]);
        for (uint32_t f = 0; f < tc_scn_endpoint_count(s); f++) {
            tc_net_link base;
            if (f == e)
                continue;
            tc_scn_link_params(s, tc_scn_endpoint_node(s, e), tc_scn_endpoint_node(s, f), &base);
            cr_assert(memcmp(&base, &v.link[e][f], sizeof(base)) == 0,
                      "seed %llu: link %u -> %u not restored", (unsigned long long)seed, e, f);
        }
    }
    for (uint32_t k = 0; k < s->event_count; k++) {
        const tc_scn_event *ev = &s->events[k];
        uint64_t end = ev->at_ms + (ev->kind == TC_SCN_EV_PAUSE ? ev->duration_ms : 0);
        cr_assert_leq(end, heal_by_ms, "seed %llu: event %u ends at %llu", (unsigned long long)seed,
                      k, (unsigned long long)end);
        cr_assert_geq(ev->at_ms, heal_by_ms / 10, "seed %llu: event %u before the warm-up",
                      (unsigned long long)seed, k);
    }
}

/* ---- the tests ---- */

static const char mixed[] = "scenario \"chaos\"\n"
                            "nodes 7\n"
                            "tier n0 silver\n"
                            "tier n1 silver\n"
                            "fullnodes 2\n"
                            "crypto fast\n"
                            "chaos faults 12 heal-by 60s\n"
                            "run 90s\n"
                            "expect safety\n";

Test(chaos, same_seed_same_schedule_other_seed_other)
{
    tc_scn a, b, c;
    parse_ok(mixed, &a);
    parse_ok(mixed, &b);
    parse_ok(mixed, &c);
    expand_ok(&a, 11, NULL);
    expand_ok(&b, 11, NULL);
    expand_ok(&c, 12, NULL);
    cr_assert(tc_scn_equal(&a, &b), "seed 11 drew two schedules");
    cr_assert(!tc_scn_equal(&a, &c), "seeds 11 and 12 drew one schedule");
    cr_assert_eq(a.chaos_faults, 0, "the chaos statement was not cleared");
    tc_scn_free(&a);
    tc_scn_free(&b);
    tc_scn_free(&c);
}

Test(chaos, schedules_stay_within_budget_and_heal_by_deadline)
{
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        tc_scn s;
        tc_chaos_stats st;
        parse_ok(mixed, &s);
        expand_ok(&s, seed, &st);
        cr_assert_leq(st.drawn, st.asked);
        cr_assert_gt(st.drawn, 0, "seed %llu drew nothing", (unsigned long long)seed);
        cr_assert_eq(st.events, s.event_count, "every event is a chaos event here");
        cr_assert_eq(st.crashes + st.partitions + st.pauses + st.clock_jumps + st.byzantine +
                         st.links,
                     st.drawn);
        cr_assert_eq(st.weight_total, 25, "W = 2 x 10 + 5 x 1");
        cr_assert_eq(st.quorum, 17, "Q = floor(2 W / 3) + 1");
        assert_within_budget(&s, seed);
        assert_healed(&s, 60000, seed);
        tc_scn_free(&s);
    }
}

Test(chaos, declared_byzantine_weight_is_counted)
{
    /* W = 7, two declared Byzantine (weight 2): 3 x 3 >= 7, so chaos may add no third. */
    const char *text = "nodes 7\ncrypto fast\nbyzantine n5 silent\nbyzantine n6 double-vote\n"
                       "chaos faults 30 heal-by 40s\nrun 60s\n";
    uint32_t turns = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        tc_scn s;
        tc_chaos_stats st;
        parse_ok(text, &s);
        expand_ok(&s, seed, &st);
        cr_assert_eq(st.byzantine, 0, "seed %llu turned a node Byzantine past the budget",
                     (unsigned long long)seed);
        cr_assert_eq(st.weight_byzantine, 2);
        for (uint32_t k = 0; k < s.event_count; k++)
            turns += s.events[k].kind == TC_SCN_EV_BYZANTINE;
        assert_within_budget(&s, seed);
        tc_scn_free(&s);
    }
    cr_assert_eq(turns, 0);
}

Test(chaos, byzantine_turns_happen_within_a_third)
{
    /* W = 10: up to 3 Byzantine (3 x 3 < 10) if the quorum still holds (Q = 7: 10 - 3 = 7). */
    const char *text = "nodes 10\ncrypto fast\nchaos faults 60 heal-by 60s\nrun 80s\n";
    uint32_t turned = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        tc_scn s;
        tc_chaos_stats st;
        parse_ok(text, &s);
        expand_ok(&s, seed, &st);
        turned += st.byzantine;
        cr_assert_lt(3 * st.weight_byzantine, st.weight_total);
        assert_within_budget(&s, seed);
        assert_healed(&s, 60000, seed);
        tc_scn_free(&s);
    }
    cr_assert_gt(turned, 0, "no seed of %d drew a Byzantine turn: the kind is dead", SEEDS);
}

Test(chaos, no_slack_means_no_validator_faults)
{
    /* 3 bronze validators: Q = 3, no honest weight to spare; only the full node may fail. */
    const char *text = "nodes 3\nfullnodes 1\ncrypto fast\nchaos faults 20\nrun 30s\n";
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        tc_scn s;
        parse_ok(text, &s);
        expand_ok(&s, seed, NULL);
        for (uint32_t k = 0; k < s.event_count; k++) {
            const tc_scn_event *ev = &s.events[k];
            if (ev->kind == TC_SCN_EV_PARTITION || ev->kind == TC_SCN_EV_HEAL)
                continue; /* a partition that cuts only f0 off is allowed */
            cr_assert_eq(ev->node.kind, TC_SCN_FULLNODE, "seed %llu: event %u hits a validator",
                         (unsigned long long)seed, k);
        }
        assert_within_budget(&s, seed);
        assert_healed(&s, 30000, seed);
        tc_scn_free(&s);
    }
}

Test(chaos, timeline_faults_are_respected)
{
    /* n1 is the author's: chaos never crashes, pauses or jumps it, and the author's own crash
     * window takes its share of the budget (4 bronze + silver n0: W = 13, Q = 9, slack 4 -
     * n1's 1 = 3 at most while n1 is down); no chaos partition since the timeline has one. */
    const char *text = "nodes 4\ntier n0 silver\ncrypto fast\nchaos faults 25 heal-by 50s\n"
                       "at 10s crash n1\nat 20s partition n0 n1 | n2 n3\nat 21s heal\n"
                       "at 30s restart n1\nrun 70s\nexpect liveness within 5s after heal\n";
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        tc_scn s;
        tc_chaos_stats st;
        parse_ok(text, &s);
        expand_ok(&s, seed, &st);
        cr_assert_eq(st.partitions, 0);
        cr_assert(!st.liveness_added, "the scenario states its own liveness expectation");
        cr_assert_eq(s.expect_count, 1);
        uint32_t mine = 0;
        for (uint32_t k = 0; k < s.event_count; k++) {
            const tc_scn_event *ev = &s.events[k];
            bool node_fault = ev->kind == TC_SCN_EV_CRASH || ev->kind == TC_SCN_EV_RESTART ||
                              ev->kind == TC_SCN_EV_PAUSE || ev->kind == TC_SCN_EV_CLOCK_JUMP;
            if (node_fault && ev->node.kind == TC_SCN_VALIDATOR && ev->node.index == 1)
                mine++;
        }
        cr_assert_eq(mine, 2, "seed %llu: chaos touched n1", (unsigned long long)seed);
        assert_within_budget(&s, seed);
        tc_scn_free(&s);
    }
}

Test(chaos, liveness_phase_is_added_after_the_last_fault)
{
    tc_scn s;
    tc_chaos_stats st;
    parse_ok(mixed, &s);
    expand_ok(&s, 5, &st);
    cr_assert(st.liveness_added);
    const tc_scn_expect *x = &s.expects[s.expect_count - 1];
    cr_assert_eq(x->kind, TC_SCN_EXP_LIVENESS);
    cr_assert(x->after_heal);
    uint64_t end = 0;
    for (uint32_t k = 0; k < s.event_count; k++) {
        uint64_t t = s.events[k].at_ms + s.events[k].duration_ms;
        end = t > end ? t : end;
    }
    cr_assert_leq(end, 60000);
    cr_assert_eq(x->within_ms, 90000 - 60000, "the phase is as long as the run after heal-by");
    tc_scn_free(&s);

    /* heal-by at the end of the run leaves no room for a phase */
    parse_ok("nodes 4\ncrypto fast\nchaos faults 3\nrun 20s\n", &s);
    expand_ok(&s, 5, &st);
    cr_assert_eq(st.heal_by_ms, 20000);
    cr_assert(!st.liveness_added || s.expects[0].within_ms >= TC_CHAOS_LIVENESS_MIN_MS);
    tc_scn_free(&s);
}

Test(chaos, expanded_scenarios_round_trip_through_text)
{
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        tc_scn s, back;
        parse_ok(mixed, &s);
        expand_ok(&s, seed, NULL);
        char *text = write_text(&s);
        cr_assert_null(strstr(text, "\nchaos "), "the written text still draws faults:\n%s", text);
        cr_assert_not_null(strstr(text, "\nat "), "no explicit event written:\n%s", text);
        parse_ok(text, &back);
        cr_assert(tc_scn_equal(&s, &back), "seed %llu: parse(write(s)) != s\n%s",
                  (unsigned long long)seed, text);
        tc_chaos_stats again;
        expand_ok(&back, seed, &again);
        cr_assert_eq(again.events, 0, "expanding an expanded scenario drew more");
        free(text);
        tc_scn_free(&s);
        tc_scn_free(&back);
    }
}

Test(chaos, no_chaos_is_a_no_op)
{
    tc_scn s, t;
    parse_ok("nodes 4\nat 5s crash n1\nrun 10s\n", &s);
    parse_ok("nodes 4\nat 5s crash n1\nrun 10s\n", &t);
    tc_chaos_stats st;
    expand_ok(&s, 9, &st);
    cr_assert(tc_scn_equal(&s, &t));
    cr_assert_eq(st.asked, 0);
    cr_assert_eq(st.events, 0);
    tc_scn_free(&s);
    tc_scn_free(&t);
}

/* The restart of crash event k, or UINT32_MAX. */
static uint32_t restart_of(const tc_scn *s, uint32_t k)
{
    for (uint32_t j = k + 1; j < s->event_count; j++)
        if (s->events[j].kind == TC_SCN_EV_RESTART &&
            tc_scn_node_equal(s->events[j].node, s->events[k].node))
            return j;
    return UINT32_MAX;
}

typedef struct {
    uint32_t crash, lose_writes, down_short, down_long, pause_short, pause_long;
    uint32_t partition, one_way, flap, loss, slow, link_one_way, clock;
    uint32_t byz_validator, byz_fullnode, flood;
} kind_tally;

/* Counts what a schedule holds, and checks each crash's and pause's length on the way: a
 * restart 100 ms .. 10 s after its crash, a pause of 100 ms .. 10 s. */
static void tally(const tc_scn *s, kind_tally *t)
{
    for (uint32_t k = 0; k < s->event_count; k++) {
        const tc_scn_event *ev = &s->events[k];
        if (ev->kind == TC_SCN_EV_CRASH) {
            uint32_t r = restart_of(s, k);
            cr_assert_neq(r, UINT32_MAX, "a chaos crash is always restarted");
            uint64_t down = s->events[r].at_ms - ev->at_ms;
            cr_assert(down >= 100 && down <= 10000, "restart %llu ms after the crash",
                      (unsigned long long)down);
            t->crash++;
            t->lose_writes += ev->lose_writes;
            t->down_short += down < 1000;
            t->down_long += down >= 3500;
        }
        if (ev->kind == TC_SCN_EV_PAUSE) {
            cr_assert(ev->duration_ms >= 100 && ev->duration_ms <= 10000, "pause of %llu ms",
                      (unsigned long long)ev->duration_ms);
            t->pause_short += ev->duration_ms < 1000;
            t->pause_long += ev->duration_ms >= 3500;
        }
        if (ev->kind == TC_SCN_EV_PARTITION) {
            t->partition++;
            t->one_way += ev->oneway;
        }
        tc_net_link base;
        if (ev->kind == TC_SCN_EV_LINK) {
            tc_scn_link_params(s, ev->node, ev->peer, &base);
            bool degrade = memcmp(&base, &ev->link, sizeof(base)) != 0;
            t->flap += degrade && (ev->link_mask & TC_SCN_LINK_FLAP) && ev->link.flap_down_ms > 0;
            t->loss += degrade && (ev->link_mask & TC_SCN_LINK_LOSS) && ev->link.loss_ppm > 0;
            t->slow += degrade && (ev->link_mask & TC_SCN_LINK_LATENCY);
            t->link_one_way += degrade && ev->oneway;
        }
        t->clock += ev->kind == TC_SCN_EV_CLOCK_JUMP;
        if (ev->kind == TC_SCN_EV_BYZANTINE) {
            t->byz_validator += ev->node.kind == TC_SCN_VALIDATOR;
            t->byz_fullnode += ev->node.kind == TC_SCN_FULLNODE;
            t->flood += ev->byz == TC_SCN_BYZ_FLOOD;
            cr_assert(ev->node.kind == TC_SCN_VALIDATOR ||
                          (ev->byz != TC_SCN_BYZ_EQUIVOCATE && ev->byz != TC_SCN_BYZ_DOUBLE_VOTE),
                      "a full node cannot vote twice");
            cr_assert(ev->byz != TC_SCN_BYZ_FLOOD || (ev->flood_per_s >= TC_CHAOS_FLOOD_MIN_PER_S &&
                                                      ev->flood_per_s <= TC_CHAOS_FLOOD_MAX_PER_S),
                      "flood at %u/s", ev->flood_per_s);
        }
    }
}

Test(chaos, every_fault_kind_is_drawn)
{
    /* 10 bronze (slack 3) and 2 full nodes, so that every kind fits the budget now and then */
    const char *text = "nodes 10\nfullnodes 2\ncrypto fast\nchaos faults 16 heal-by 60s\nrun 80s\n";
    kind_tally t = {0};
    for (uint64_t seed = 1; seed <= 2 * SEEDS; seed++) {
        tc_scn s;
        parse_ok(text, &s);
        expand_ok(&s, seed, NULL);
        tally(&s, &t);
        assert_within_budget(&s, seed);
        assert_healed(&s, 60000, seed);
        tc_scn_free(&s);
    }
    uint32_t plain = t.crash - t.lose_writes;
    const struct {
        const char *what;
        uint32_t count;
    } kinds[] = {{"plain crash", plain},
                 {"lose-writes crash", t.lose_writes},
                 {"restart within 1 s", t.down_short},
                 {"restart after 3.5 s or more", t.down_long},
                 {"pause under 1 s", t.pause_short},
                 {"pause of 3.5 s or more", t.pause_long},
                 {"symmetric partition", t.partition - t.one_way},
                 {"one-way partition", t.one_way},
                 {"flapping link", t.flap},
                 {"lossy, duplicating link", t.loss},
                 {"slow, reordering link", t.slow},
                 {"one-way link fault", t.link_one_way},
                 {"clock jump", t.clock},
                 {"Byzantine validator", t.byz_validator},
                 {"Byzantine full node", t.byz_fullnode},
                 {"flood", t.flood}};
    for (size_t k = 0; k < TC_ARRAY_LEN(kinds); k++)
        cr_assert_gt(kinds[k].count, 0, "no seed of %d drew a %s: the kind is dead", 2 * SEEDS,
                     kinds[k].what);
}

Test(chaos, kinds_limit_what_is_drawn)
{
    const char *text = "nodes 7\ncrypto fast\nchaos faults 12 heal-by 40s kinds lose-writes "
                       "pause\nrun 60s\n";
    kind_tally t = {0};
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        tc_scn s;
        tc_chaos_stats st;
        parse_ok(text, &s);
        cr_assert_eq(s.chaos_kinds, TC_SCN_CHAOS_LOSE_WRITES | TC_SCN_CHAOS_PAUSE);
        expand_ok(&s, seed, &st);
        cr_assert_eq(st.crashes + st.pauses, st.drawn, "seed %llu drew another kind",
                     (unsigned long long)seed);
        cr_assert_eq(st.lose_writes, st.crashes, "seed %llu: a plain crash",
                     (unsigned long long)seed);
        tally(&s, &t);
        tc_scn_free(&s);
    }
    cr_assert_gt(t.lose_writes, 0);
    cr_assert_eq(t.partition + t.flap + t.loss + t.slow + t.clock + t.byz_validator, 0);

    tc_scn s;
    tc_chaos_stats st;
    parse_ok("nodes 5\ncrypto fast\nchaos kinds link faults 6 heal-by 30s\nrun 40s\n", &s);
    expand_ok(&s, 3, &st);
    cr_assert_eq(st.links, st.drawn, "only link faults: %u of %u", st.links, st.drawn);
    cr_assert_eq(s.chaos_kinds, 0, "the chaos statement was not cleared");
    char *written = write_text(&s);
    cr_assert_null(strstr(written, "\nchaos "), "the written text still has a chaos line:\n%s",
                   written);
    free(written);
    cr_assert_gt(st.links, 0);
    for (uint32_t k = 0; k < s.event_count; k++)
        cr_assert_eq(s.events[k].kind, TC_SCN_EV_LINK, "event %u is of kind %u", k,
                     s.events[k].kind);
    tc_scn_free(&s);
}

Test(chaos, kinds_statement_errors)
{
    static const struct {
        const char *text, *message;
    } cases[] = {
        {"nodes 4\nchaos faults 3 kinds\nrun 5s\n", "expected a chaos fault kind (crash, "
                                                    "lose-writes, pause, partition, one-way, "
                                                    "link, clock, byzantine), got end of line"},
        {"nodes 4\nchaos faults 3 kinds pause pause\nrun 5s\n", "expected each kind once"},
        {"nodes 4\nchaos faults 3 kinds melt\nrun 5s\n", "got `melt`"},
        {"nodes 4\nchaos kinds crash\nrun 5s\n", "expected `faults N`"},
    };
    for (size_t k = 0; k < TC_ARRAY_LEN(cases); k++) {
        tc_scn s;
        char err[512];
        int rc =
            tc_scn_parse_text("t.scn", cases[k].text, strlen(cases[k].text), &s, err, sizeof(err));
        cr_assert_eq(rc, TC_EINVAL, "case %zu parsed", k);
        cr_assert_not_null(strstr(err, cases[k].message), "case %zu: %s", k, err);
    }
}
