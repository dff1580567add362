/* chaos.c — chaos schedules (see chaos.h): the budget model, the draws, and the merge of the
 * drawn events into the scenario's timeline.
 *
 * Bookkeeping: `busy` holds, per endpoint, the intervals in which it already has a fault (an
 * endpoint of UINT32_MAX stands for "a chaos partition is in force"); `steps` is the step
 * function of unavailable honest weight over time, kept sorted by time (ties in insertion
 * order). Both include the explicit timeline faults before the first draw. Checking a draw costs
 * a scan of both: O(faults) per draw, fine for any budget the parser accepts.
 */
#include "chaos.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "tx.h"

#define FOREVER        UINT64_MAX
#define PARTITION_SLOT UINT32_MAX
#define WARMUP_DIVISOR 10   /* faults start after heal_by / 10: the cluster forms first */
#define SPAN_DIVISOR   4    /* an unbounded kind lasts at most a quarter of the fault window */
#define SHORT_MS       1000 /* crashes and pauses: half of them end within this, half after */
#define PHASE_END      0    /* at one millisecond, faults end before others start ... */
#define PHASE_START    1    /* ... so a heal never cancels a partition drawn for that instant */

typedef struct {
    uint32_t endpoint;
    uint64_t from_ms, to_ms; /* [from, to) */
} busy_span;

typedef struct {
    uint64_t t_ms;
    int64_t delta;
} step;

typedef struct {
    tc_scn_event ev; /* a partition's members span indexes plan.members */
    uint32_t phase;
    uint32_t gen;
} draft;

typedef struct {
    const tc_scn *s;
    tc_rng rng;
    uint32_t endpoints;
    uint64_t *weight;     /* honest genesis validators: their weight; every other node: 0 */
    uint64_t *present_ms; /* from when the node exists (registered validators: registration) */
    bool *faultable;      /* may be crashed, paused, jumped, turned Byzantine by chaos */
    bool *byzantine;      /* at any time of the run, or the original of a twin */
    uint32_t *eligible;   /* the faultable endpoints, in order: what node draws pick from */
    uint32_t eligible_count;
    uint32_t *scratch; /* partition draws: candidate endpoints */
    bool *minority;    /* partition draws: the side drawn */
    bool partitions_allowed;
    uint32_t kinds; /* TC_SCN_CHAOS_* that may be drawn */
    int64_t slack;  /* honest - Q: unavailable honest weight the budget tolerates */
    uint64_t t0_ms, t_end_ms;
    busy_span *busy;
    uint32_t busy_count, busy_cap;
    step *steps;
    uint32_t step_count, step_cap;
    draft *drafts;
    uint32_t draft_count, draft_cap;
    tc_scn_member *members;
    uint32_t member_count, member_cap;
    uint32_t gen;
    tc_chaos_stats st;
} plan;

static int grow(void **arr, uint32_t *cap, size_t elem, uint32_t need)
{
    if (need <= *cap)
        return 0;
    uint32_t n = *cap < 16 ? 16 : *cap;
    while (n < need)
        n = n > UINT32_MAX / 2 ? need : n * 2;
    void *p = realloc(*arr, (size_t)n * elem);
    if (p == NULL)
        return TC_ENOMEM;
    *arr = p;
    *cap = n;
    return 0;
}

static int add_busy(plan *p, uint32_t endpoint, uint64_t from_ms, uint64_t to_ms)
{
    TC_ASSERT(from_ms < to_ms);
    int rc = grow((void **)&p->busy, &p->busy_cap, sizeof(busy_span), p->busy_count + 1);
    if (rc == 0)
        p->busy[p->busy_count++] = (busy_span){endpoint, from_ms, to_ms};
    return rc;
}

static bool is_free(const plan *p, uint32_t endpoint, uint64_t from_ms, uint64_t to_ms)
{
    for (uint32_t k = 0; k < p->busy_count; k++) {
        const busy_span *b = &p->busy[k];
        if (b->endpoint == endpoint && b->from_ms < to_ms && from_ms < b->to_ms)
            return false;
    }
    return true;
}

static int add_step(plan *p, uint64_t t_ms, int64_t delta)
{
    int rc = grow((void **)&p->steps, &p->step_cap, sizeof(step), p->step_count + 1);
    if (rc != 0)
        return rc;
    uint32_t k = p->step_count;
    while (k > 0 && p->steps[k - 1].t_ms > t_ms)
        k--;
    memmove(&p->steps[k + 1], &p->steps[k], (p->step_count - k) * sizeof(step));
    p->steps[k] = (step){t_ms, delta};
    p->step_count++;
    return 0;
}

/* Unavailable honest weight w over [from, to) (to may be FOREVER). */
static int add_weight(plan *p, uint64_t w, uint64_t from_ms, uint64_t to_ms)
{
    if (w == 0)
        return 0;
    int rc = add_step(p, from_ms, (int64_t)w);
    if (rc == 0 && to_ms != FOREVER)
        rc = add_step(p, to_ms, -(int64_t)w);
    return rc;
}

/* Highest unavailable honest weight at any instant of [from, to). */
static int64_t peak(const plan *p, uint64_t from_ms, uint64_t to_ms)
{
    int64_t v = 0;
    uint32_t k = 0;
    for (; k < p->step_count && p->steps[k].t_ms <= from_ms; k++)
        v += p->steps[k].delta;
    int64_t best = v;
    for (; k < p->step_count && p->steps[k].t_ms < to_ms; k++) {
        v += p->steps[k].delta;
        bool last_at_t = k + 1 == p->step_count || p->steps[k + 1].t_ms != p->steps[k].t_ms;
        if (last_at_t && v > best)
            best = v;
    }
    TC_ASSERT(best >= 0);
    return best;
}

static bool weight_fits(const plan *p, uint64_t w, uint64_t from_ms, uint64_t to_ms)
{
    return peak(p, from_ms, to_ms) + (int64_t)w <= p->slack;
}

static int add_draft(plan *p, const tc_scn_event *ev, uint32_t phase)
{
    TC_ASSERT(ev->at_ms <= p->t_end_ms && ev->kind != 0);
    int rc = grow((void **)&p->drafts, &p->draft_cap, sizeof(draft), p->draft_count + 1);
    if (rc == 0)
        p->drafts[p->draft_count++] = (draft){*ev, phase, p->gen++};
    return rc;
}

/* ---- the nodes and the explicit timeline ---- */

static uint32_t endpoint_of(const tc_scn *s, tc_scn_node node)
{
    uint32_t e = 0;
    int rc = tc_scn_endpoint(s, node, &e);
    TC_ASSERT(rc == 0); /* the parser checked every name */
    return e;
}

static uint64_t tier_weight(const tc_scn *s, tc_scn_node node)
{
    return tc_tier_weight(&s->profile, (tc_tier)tc_scn_tier(s, node));
}

/* Marks Byzantine nodes and the nodes explicit events touch; returns the Byzantine weight. */
static uint64_t mark_nodes(plan *p)
{
    const tc_scn *s = p->s;
    uint64_t byz = 0;
    for (uint32_t k = 0; k < s->byz_count; k++)
        p->byzantine[endpoint_of(s, s->byz[k].node)] = true;
    for (uint32_t k = 0; k < s->event_count; k++) {
        const tc_scn_event *ev = &s->events[k];
        uint32_t e = ev->kind == TC_SCN_EV_PARTITION || ev->kind == TC_SCN_EV_HEAL ||
                             ev->kind == TC_SCN_EV_LOAD
                         ? UINT32_MAX
                         : endpoint_of(s, ev->node);
        if (ev->kind == TC_SCN_EV_BYZANTINE)
            p->byzantine[e] = true;
        else if (ev->kind == TC_SCN_EV_REGISTER)
            p->present_ms[e] = ev->at_ms;
        else if (e != UINT32_MAX)
            p->faultable[e] = false;
        if (ev->kind == TC_SCN_EV_LINK)
            p->faultable[endpoint_of(s, ev->peer)] = false;
        if (ev->kind == TC_SCN_EV_PARTITION)
            p->partitions_allowed = false;
    }
    for (uint32_t e = 0; e < p->endpoints; e++) {
        tc_scn_node n = tc_scn_endpoint_node(s, e);
        if (n.kind == TC_SCN_VALIDATOR && p->byzantine[e])
            byz += tier_weight(s, n);
    }
    return byz;
}

/* Weights, the quorum and the slack (chaos.h, "The budget"). */
static void classify(plan *p)
{
    const tc_scn *s = p->s;
    uint64_t byz = mark_nodes(p), w_genesis = 0, w_all = 0, honest = 0;
    for (uint32_t e = 0; e < p->endpoints; e++) {
        tc_scn_node n = tc_scn_endpoint_node(s, e);
        bool validator = n.kind == TC_SCN_VALIDATOR;
        bool genesis = validator && n.index < s->node_count;
        uint64_t w = validator ? tier_weight(s, n) : 0;
        w_all += w;
        w_genesis += genesis ? w : 0;
        if (genesis && !p->byzantine[e]) {
            p->weight[e] = w;
            honest += w;
        }
        p->faultable[e] = p->faultable[e] && !p->byzantine[e] && n.kind != TC_SCN_TWIN &&
                          (n.kind == TC_SCN_FULLNODE || genesis);
        if (p->faultable[e])
            p->eligible[p->eligible_count++] = e;
    }
    uint64_t quorum = w_all * 2 / 3 + 1;
    p->slack = honest >= quorum ? (int64_t)(honest - quorum) : -1;
    p->st.weight_total = w_genesis;
    p->st.quorum = quorum;
    p->st.weight_byzantine = byz;
}

/* How long an explicit fault keeps its node away, from its event k. */
static uint64_t explicit_end(const tc_scn *s, uint32_t k)
{
    const tc_scn_event *ev = &s->events[k];
    if (ev->kind == TC_SCN_EV_PAUSE)
        return ev->at_ms + ev->duration_ms + TC_CHAOS_RECOVER_MS;
    if (ev->kind == TC_SCN_EV_CLOCK_JUMP) {
        uint64_t mag = ev->jump_ms < 0 ? (uint64_t)-ev->jump_ms : (uint64_t)ev->jump_ms;
        return mag < s->profile.block_time_future_max_ms ? ev->at_ms + TC_CHAOS_RECOVER_MS
                                                         : FOREVER;
    }
    TC_ASSERT(ev->kind == TC_SCN_EV_CRASH);
    for (uint32_t j = k + 1; j < s->event_count; j++)
        if (s->events[j].kind == TC_SCN_EV_RESTART &&
            tc_scn_node_equal(s->events[j].node, ev->node))
            return s->events[j].at_ms + TC_CHAOS_RECOVER_MS;
    return FOREVER; /* never restarted */
}

/* The timeline's own crashes, pauses and clock jumps take their share of the budget first. */
static int book_explicit(plan *p)
{
    const tc_scn *s = p->s;
    int rc = 0;
    for (uint32_t k = 0; k < s->event_count && rc == 0; k++) {
        uint32_t kind = s->events[k].kind;
        if (kind != TC_SCN_EV_CRASH && kind != TC_SCN_EV_PAUSE && kind != TC_SCN_EV_CLOCK_JUMP)
            continue;
        uint32_t e = endpoint_of(s, s->events[k].node);
        uint64_t from = s->events[k].at_ms, to = explicit_end(s, k);
        rc = add_busy(p, e, from, to);
        if (rc == 0)
            rc = add_weight(p, p->weight[e], from, to);
    }
    return rc;
}

/* ---- draws ---- */

static uint64_t draw_in(plan *p, uint64_t lo, uint64_t hi)
{
    TC_ASSERT(lo <= hi);
    return lo + tc_rng_below(&p->rng, hi - lo + 1);
}

/* A fault window [*t1, *t2) inside the fault window, lasting min_ms..max_ms (max_ms FOREVER:
 * up to a quarter of the window; otherwise capped by the window only). Bounded faults draw
 * their length half the time below SHORT_MS and half above, so that both a restart 100 ms
 * after its crash and a 10 s pause are common. false when the window is too short for min_ms. */
static bool draw_window(plan *p, uint64_t min_ms, uint64_t max_ms, uint64_t *t1, uint64_t *t2)
{
    uint64_t span = p->t_end_ms - p->t0_ms;
    if (span < min_ms)
        return false;
    uint64_t lo = min_ms, hi = span / SPAN_DIVISOR;
    hi = hi < min_ms ? min_ms : hi;
    if (max_ms != FOREVER) {
        hi = max_ms < span ? max_ms : span;
        bool short_one = tc_rng_below(&p->rng, 2) == 0;
        if (lo < SHORT_MS && SHORT_MS < hi) {
            lo = short_one ? lo : SHORT_MS;
            hi = short_one ? SHORT_MS : hi;
        }
    }
    TC_ASSERT(lo <= hi && hi <= span);
    uint64_t d = draw_in(p, lo, hi);
    *t1 = draw_in(p, p->t0_ms, p->t_end_ms - d);
    *t2 = *t1 + d;
    TC_ASSERT(*t1 >= p->t0_ms && *t2 <= p->t_end_ms);
    return true;
}

/* A faultable node free over [from, to) whose weight fits; UINT32_MAX if the draw misses. */
static uint32_t draw_node(plan *p, uint64_t from_ms, uint64_t to_ms)
{
    if (p->eligible_count == 0)
        return UINT32_MAX;
    uint32_t e = p->eligible[tc_rng_below(&p->rng, p->eligible_count)];
    if (!p->faultable[e] || !is_free(p, e, from_ms, to_ms) ||
        !weight_fits(p, p->weight[e], from_ms, to_ms))
        return UINT32_MAX;
    return e;
}

/* Books node e as unavailable over [from, to). */
static int occupy(plan *p, uint32_t e, uint64_t from_ms, uint64_t to_ms)
{
    int rc = add_busy(p, e, from_ms, to_ms);
    return rc != 0 ? rc : add_weight(p, p->weight[e], from_ms, to_ms);
}

/* Returns 1 when the draw missed (drawn again), 0 when booked, or a negative code. The
 * restart comes TC_CHAOS_DOWN_MIN_MS .. TC_CHAOS_DOWN_MAX_MS after the crash. */
static int draw_crash(plan *p, bool lose_writes)
{
    uint64_t t1, t2;
    if (!draw_window(p, TC_CHAOS_DOWN_MIN_MS, TC_CHAOS_DOWN_MAX_MS, &t1, &t2))
        return 1;
    uint32_t e = draw_node(p, t1, t2 + TC_CHAOS_RECOVER_MS);
    if (e == UINT32_MAX)
        return 1;
    tc_scn_node node = tc_scn_endpoint_node(p->s, e);
    tc_scn_event crash = {
        .at_ms = t1, .kind = TC_SCN_EV_CRASH, .node = node, .lose_writes = lose_writes};
    tc_scn_event restart = {.at_ms = t2, .kind = TC_SCN_EV_RESTART, .node = node};
    int rc = occupy(p, e, t1, t2 + TC_CHAOS_RECOVER_MS);
    if (rc == 0)
        rc = add_draft(p, &crash, PHASE_START);
    if (rc == 0)
        rc = add_draft(p, &restart, PHASE_END);
    p->st.crashes += rc == 0 ? 1 : 0;
    p->st.lose_writes += rc == 0 && lose_writes ? 1 : 0;
    return rc;
}

static int draw_pause(plan *p)
{
    uint64_t t1, t2;
    if (!draw_window(p, TC_CHAOS_PAUSE_MIN_MS, TC_CHAOS_PAUSE_MAX_MS, &t1, &t2))
        return 1;
    uint32_t e = draw_node(p, t1, t2 + TC_CHAOS_RECOVER_MS);
    if (e == UINT32_MAX)
        return 1;
    tc_scn_event pause = {.at_ms = t1,
                          .kind = TC_SCN_EV_PAUSE,
                          .node = tc_scn_endpoint_node(p->s, e),
                          .duration_ms = t2 - t1};
    int rc = occupy(p, e, t1, t2 + TC_CHAOS_RECOVER_MS);
    if (rc == 0)
        rc = add_draft(p, &pause, PHASE_START);
    p->st.pauses += rc == 0 ? 1 : 0;
    return rc;
}

/* Jumps of 1 s up to 1.5 x clock_stop_ms: small ones test timer remapping, large ones the
 * clock sanity rules (a node that far off stops voting, which the budget already assumes). */
static int draw_clock(plan *p)
{
    uint64_t t1, t2;
    if (!draw_window(p, TC_CHAOS_FAULT_MIN_MS, FOREVER, &t1, &t2))
        return 1;
    uint32_t e = draw_node(p, t1, t2 + TC_CHAOS_RECOVER_MS);
    if (e == UINT32_MAX)
        return 1;
    uint64_t top = (uint64_t)p->s->profile.clock_stop_ms * 3 / 2;
    int64_t jump = (int64_t)draw_in(p, 1000, top < 1000 ? 1000 : top);
    if (tc_rng_below(&p->rng, 2) == 0)
        jump = -jump;
    tc_scn_node node = tc_scn_endpoint_node(p->s, e);
    tc_scn_event there = {.at_ms = t1, .kind = TC_SCN_EV_CLOCK_JUMP, .node = node, .jump_ms = jump};
    tc_scn_event back = {.at_ms = t2, .kind = TC_SCN_EV_CLOCK_JUMP, .node = node, .jump_ms = -jump};
    int rc = occupy(p, e, t1, t2 + TC_CHAOS_RECOVER_MS);
    if (rc == 0)
        rc = add_draft(p, &there, PHASE_START);
    if (rc == 0)
        rc = add_draft(p, &back, PHASE_END);
    p->st.clock_jumps += rc == 0 ? 1 : 0;
    return rc;
}

/* A permanent turn: the node leaves the honest set for the whole run (the world never counts
 * a node Byzantine at any time as honest), so the slack shrinks by its weight everywhere. A
 * full node (weight 0) takes one of the behaviours that need no vote; a validator any but
 * twin. A flood stays at TC_CHAOS_FLOOD_MAX_PER_S: the peers' rate limits are under test, not
 * the simulator's patience. */
static int draw_byzantine(plan *p)
{
    static const uint32_t kinds[] = {
        TC_SCN_BYZ_SILENT, TC_SCN_BYZ_INVALID_SIG, TC_SCN_BYZ_REPLAY,     TC_SCN_BYZ_GARBAGE,
        TC_SCN_BYZ_FLOOD,  TC_SCN_BYZ_EQUIVOCATE,  TC_SCN_BYZ_DOUBLE_VOTE};
    const uint32_t non_voting = 5; /* the first five need no vote */
    if (p->eligible_count == 0)
        return 1;
    uint32_t e = p->eligible[tc_rng_below(&p->rng, p->eligible_count)];
    uint64_t w = p->weight[e];
    bool validator = tc_scn_endpoint_node(p->s, e).kind == TC_SCN_VALIDATOR;
    if ((validator && w == 0) || !p->faultable[e] || !is_free(p, e, 0, FOREVER))
        return 1;
    if (3 * (p->st.weight_byzantine + w) >= p->st.weight_total)
        return 1;
    if (peak(p, 0, FOREVER) > p->slack - (int64_t)w)
        return 1; /* the smaller honest set must still tolerate every booked fault */
    uint32_t byz = kinds[tc_rng_below(&p->rng, validator ? TC_ARRAY_LEN(kinds) : non_voting)];
    tc_scn_event turn = {.at_ms = draw_in(p, p->t0_ms, p->t_end_ms),
                         .kind = TC_SCN_EV_BYZANTINE,
                         .node = tc_scn_endpoint_node(p->s, e),
                         .byz = byz};
    if (byz == TC_SCN_BYZ_FLOOD)
        turn.flood_per_s = (uint32_t)draw_in(p, TC_CHAOS_FLOOD_MIN_PER_S, TC_CHAOS_FLOOD_MAX_PER_S);
    int rc = add_busy(p, e, 0, FOREVER);
    if (rc == 0)
        rc = add_draft(p, &turn, PHASE_START);
    if (rc != 0)
        return rc;
    p->slack -= (int64_t)w;
    p->weight[e] = 0;
    p->st.weight_byzantine += w;
    p->st.byzantine++;
    return 0;
}

/* The minority side: 1 .. max(1, n/3) of the n nodes present at t1 (twins stay on the other
 * side with everyone else), each free over the fault and its recovery margin. */
static int draw_minority(plan *p, uint64_t t1, uint64_t until, uint64_t *w_out)
{
    uint32_t n = 0;
    for (uint32_t e = 0; e < p->endpoints; e++) {
        p->minority[e] = false;
        if (p->present_ms[e] <= t1 && tc_scn_endpoint_node(p->s, e).kind != TC_SCN_TWIN)
            p->scratch[n++] = e;
    }
    if (n < 2)
        return 1;
    uint32_t m = 1 + (uint32_t)tc_rng_below(&p->rng, n / 3 > 1 ? n / 3 : 1);
    uint64_t w = 0;
    for (uint32_t i = 0; i < m; i++) { /* partial Fisher-Yates: m distinct draws */
        uint32_t j = i + (uint32_t)tc_rng_below(&p->rng, n - i);
        uint32_t e = p->scratch[j];
        p->scratch[j] = p->scratch[i];
        p->scratch[i] = e;
        if (!is_free(p, e, t1, until))
            return 1;
        p->minority[e] = true;
        w += p->weight[e];
    }
    TC_ASSERT(m < n);
    *w_out = w;
    return weight_fits(p, w, t1, until) ? 0 : 1;
}

/* Members of the partition event: the minority (group 0), then every other node present at
 * t1 (group 1), each in endpoint order. */
static int add_sides(plan *p, uint64_t t1, tc_scn_span *span)
{
    span->first = p->member_count;
    for (uint32_t group = 0; group < 2; group++) {
        for (uint32_t e = 0; e < p->endpoints; e++) {
            if (p->minority[e] != (group == 0) || p->present_ms[e] > t1)
                continue;
            int rc = grow((void **)&p->members, &p->member_cap, sizeof(tc_scn_member),
                          p->member_count + 1);
            if (rc != 0)
                return rc;
            p->members[p->member_count++] =
                (tc_scn_member){.node = tc_scn_endpoint_node(p->s, e), .group = group};
        }
    }
    span->count = p->member_count - span->first;
    TC_ASSERT(span->count >= 2);
    return 0;
}

static int book_partition(plan *p, uint64_t t1, uint64_t t2, uint64_t until, uint64_t w)
{
    int rc = add_busy(p, PARTITION_SLOT, t1, t2 + 1); /* one chaos partition at a time */
    for (uint32_t e = 0; e < p->endpoints && rc == 0; e++)
        if (p->minority[e])
            rc = add_busy(p, e, t1, until);
    return rc != 0 ? rc : add_weight(p, w, t1, until);
}

/* A symmetric split, or a one-way cut of the minority's messages to everyone else. */
static int draw_partition(plan *p, bool oneway)
{
    uint64_t t1, t2, w = 0;
    if (!p->partitions_allowed || !draw_window(p, TC_CHAOS_FAULT_MIN_MS, FOREVER, &t1, &t2))
        return 1;
    uint64_t until = t2 + TC_CHAOS_RECOVER_MS;
    if (!is_free(p, PARTITION_SLOT, t1, t2 + 1))
        return 1;
    int rc = draw_minority(p, t1, until, &w);
    if (rc != 0)
        return rc;
    tc_scn_event cut = {.at_ms = t1, .kind = TC_SCN_EV_PARTITION, .oneway = oneway};
    tc_scn_event heal = {.at_ms = t2, .kind = TC_SCN_EV_HEAL};
    rc = book_partition(p, t1, t2, until, w);
    if (rc == 0)
        rc = add_sides(p, t1, &cut.members);
    if (rc == 0)
        rc = add_draft(p, &cut, PHASE_START);
    if (rc == 0)
        rc = add_draft(p, &heal, PHASE_END);
    p->st.partitions += rc == 0 ? 1 : 0;
    p->st.one_way += rc == 0 && oneway ? 1 : 0;
    return rc;
}

/* The degraded parameters of a link fault: any non-empty mix of a flap (up and down 100 ms ..
 * 3 s), loss with duplication (loss 5..50%, dup 0..20%) and a slow, reordering line (latency
 * 100 ms .. 1 s, jitter up to 300 ms, reorder 0..20%). Values sit on a coarse grid so that a
 * long schedule stays far below the network model's table of distinct parameter sets. */
static void draw_link_params(plan *p, tc_net_link *l, uint32_t *mask)
{
    uint32_t mix = 0;
    while (mix == 0)
        mix = (uint32_t)tc_rng_below(&p->rng, 8);
    *l = (tc_net_link){0};
    *mask = 0;
    if (mix & 1) {
        l->flap_up_ms = 100 * (uint32_t)draw_in(p, 1, 30);
        l->flap_down_ms = 100 * (uint32_t)draw_in(p, 1, 30);
        *mask |= TC_SCN_LINK_FLAP;
    }
    if (mix & 2) {
        l->loss_ppm = 50000 * (uint32_t)draw_in(p, 1, 10);
        l->dup_ppm = 50000 * (uint32_t)draw_in(p, 0, 4);
        *mask |= TC_SCN_LINK_LOSS | TC_SCN_LINK_DUP;
    }
    if (mix & 4) {
        l->latency_ms = 100 * (uint32_t)draw_in(p, 1, 10);
        l->jitter_ms = 50 * (uint32_t)draw_in(p, 0, 6);
        l->reorder_ppm = 50000 * (uint32_t)draw_in(p, 0, 4);
        *mask |= TC_SCN_LINK_LATENCY | TC_SCN_LINK_JITTER | TC_SCN_LINK_REORDER;
    }
    TC_ASSERT(*mask != 0 && tc_net_link_check(l) == 0);
}

/* The other end of a link fault: a faultable node (so no timeline event changes the link
 * meanwhile) other than a, present and free over [t1, until), whose link with a has the same
 * parameters both ways (so one event restores both directions). */
static uint32_t draw_peer(plan *p, uint32_t a, uint64_t t1, uint64_t until, tc_net_link *base)
{
    uint32_t b = p->eligible[tc_rng_below(&p->rng, p->eligible_count)];
    if (b == a || !p->faultable[b] || p->present_ms[b] > t1 || !is_free(p, b, t1, until))
        return UINT32_MAX;
    tc_scn_node na = tc_scn_endpoint_node(p->s, a), nb = tc_scn_endpoint_node(p->s, b);
    tc_net_link back;
    tc_scn_link_params(p->s, na, nb, base);
    tc_scn_link_params(p->s, nb, na, &back);
    return memcmp(base, &back, sizeof(back)) == 0 ? b : UINT32_MAX;
}

/* A link between node a and a peer b flaps or degrades (one way, one time in three), then
 * gets its setup parameters back. Node a counts as unavailable (a link it needs may be down
 * just when it must send), b is kept free of other faults over the span. */
static int draw_link(plan *p)
{
    uint64_t t1, t2;
    if (!draw_window(p, TC_CHAOS_FAULT_MIN_MS, FOREVER, &t1, &t2))
        return 1;
    uint64_t until = t2 + TC_CHAOS_RECOVER_MS;
    uint32_t a = draw_node(p, t1, until);
    tc_net_link base;
    uint32_t b = a == UINT32_MAX ? UINT32_MAX : draw_peer(p, a, t1, until, &base);
    if (b == UINT32_MAX)
        return 1;
    tc_scn_event bad = {.at_ms = t1,
                        .kind = TC_SCN_EV_LINK,
                        .node = tc_scn_endpoint_node(p->s, a),
                        .peer = tc_scn_endpoint_node(p->s, b),
                        .oneway = tc_rng_below(&p->rng, 3) == 0};
    draw_link_params(p, &bad.link, &bad.link_mask);
    tc_scn_event good = bad;
    good.at_ms = t2;
    good.link = (tc_net_link){0};
    uint32_t m = bad.link_mask;
    good.link.latency_ms = m & TC_SCN_LINK_LATENCY ? base.latency_ms : 0;
    good.link.jitter_ms = m & TC_SCN_LINK_JITTER ? base.jitter_ms : 0;
    good.link.loss_ppm = m & TC_SCN_LINK_LOSS ? base.loss_ppm : 0;
    good.link.dup_ppm = m & TC_SCN_LINK_DUP ? base.dup_ppm : 0;
    good.link.reorder_ppm = m & TC_SCN_LINK_REORDER ? base.reorder_ppm : 0;
    good.link.flap_up_ms = m & TC_SCN_LINK_FLAP ? base.flap_up_ms : 0;
    good.link.flap_down_ms = m & TC_SCN_LINK_FLAP ? base.flap_down_ms : 0;
    int rc = occupy(p, a, t1, until);
    if (rc == 0)
        rc = add_busy(p, b, t1, until);
    if (rc == 0)
        rc = add_draft(p, &bad, PHASE_START);
    if (rc == 0)
        rc = add_draft(p, &good, PHASE_END);
    p->st.links += rc == 0 ? 1 : 0;
    return rc;
}

/* Relative weights of the kinds, in TC_SCN_CHAOS_* bit order: crash, lose-writes, pause,
 * partition, one-way, link, clock, Byzantine. */
static const uint32_t kind_weight[] = {18, 8, 20, 12, 8, 14, 12, 8};
_Static_assert(TC_ARRAY_LEN(kind_weight) == 8 && TC_SCN_CHAOS_ALL == 0xff, "one weight a kind");

/* One kind, drawn among the allowed ones in proportion to kind_weight. */
static uint32_t draw_kind(plan *p)
{
    uint64_t total = 0;
    for (uint32_t k = 0; k < TC_ARRAY_LEN(kind_weight); k++)
        total += p->kinds & (1u << k) ? kind_weight[k] : 0;
    TC_ASSERT(total > 0);
    uint64_t x = tc_rng_below(&p->rng, total);
    for (uint32_t k = 0; k < TC_ARRAY_LEN(kind_weight); k++) {
        uint64_t w = p->kinds & (1u << k) ? kind_weight[k] : 0;
        if (x < w)
            return 1u << k;
        x -= w;
    }
    TC_ASSERT(false && "x < total");
    return 0;
}

static int draw_one(plan *p)
{
    switch (draw_kind(p)) {
    case TC_SCN_CHAOS_CRASH:
        return draw_crash(p, false);
    case TC_SCN_CHAOS_LOSE_WRITES:
        return draw_crash(p, true);
    case TC_SCN_CHAOS_PAUSE:
        return draw_pause(p);
    case TC_SCN_CHAOS_PARTITION:
        return draw_partition(p, false);
    case TC_SCN_CHAOS_ONE_WAY:
        return draw_partition(p, true);
    case TC_SCN_CHAOS_LINK:
        return draw_link(p);
    case TC_SCN_CHAOS_CLOCK:
        return draw_clock(p);
    default:
        return draw_byzantine(p);
    }
}

/* ---- the merge into the scenario ---- */

static int draft_cmp(const void *a, const void *b)
{
    const draft *x = a, *y = b;
    if (x->ev.at_ms != y->ev.at_ms)
        return x->ev.at_ms < y->ev.at_ms ? -1 : 1;
    if (x->phase != y->phase)
        return x->phase < y->phase ? -1 : 1;
    return x->gen < y->gen ? -1 : x->gen > y->gen ? 1 : 0; /* gen is unique: a total order */
}

/* The timeline with the drafts merged in time order; at one millisecond the scenario's own
 * events come first (an explicit `register` before a partition that names the new node). */
static tc_scn_event *merge_events(plan *p, uint32_t member_base)
{
    const tc_scn *s = p->s;
    uint32_t total = s->event_count + p->draft_count;
    tc_scn_event *out = calloc(total > 0 ? total : 1, sizeof(tc_scn_event));
    if (out == NULL)
        return NULL;
    if (p->draft_count > 0) /* qsort must not see NULL, even for no elements */
        qsort(p->drafts, p->draft_count, sizeof(draft), draft_cmp);
    uint32_t i = 0, j = 0;
    for (uint32_t k = 0; k < total; k++) {
        bool take_own = j == p->draft_count ||
                        (i < s->event_count && s->events[i].at_ms <= p->drafts[j].ev.at_ms);
        if (take_own) {
            out[k] = s->events[i++];
            continue;
        }
        out[k] = p->drafts[j++].ev;
        if (out[k].kind == TC_SCN_EV_PARTITION)
            out[k].members.first += member_base;
    }
    TC_ASSERT(i == s->event_count && j == p->draft_count);
    return out;
}

/* Where the world starts "liveness within T after heal": the end of the last fault (a pause
 * ends when it resumes; loads and registrations are not faults). */
static uint64_t last_fault_end(const tc_scn_event *events, uint32_t count)
{
    uint64_t end = 0;
    for (uint32_t k = 0; k < count; k++) {
        const tc_scn_event *ev = &events[k];
        if (ev->kind == TC_SCN_EV_LOAD || ev->kind == TC_SCN_EV_REGISTER)
            continue;
        uint64_t t = ev->at_ms + (ev->kind == TC_SCN_EV_PAUSE ? ev->duration_ms : 0);
        end = t > end ? t : end;
    }
    return end;
}

static bool states_liveness(const tc_scn *s)
{
    for (uint32_t k = 0; k < s->expect_count; k++)
        if (s->expects[k].kind == TC_SCN_EXP_LIVENESS)
            return true;
    return false;
}

/* The scenario's expectations, with `expect liveness within R after heal` appended when it
 * states none and the run leaves room (chaos.h); NULL on ENOMEM. R counts from heal-by rather
 * than from the drawn schedule's last fault, so every seed of a scenario states the same
 * expectation (sweep tallies group failures by its text; the shrinker keeps it unchanged). */
static tc_scn_expect *liveness_expects(plan *p, const tc_scn_event *events, uint32_t count,
                                       uint32_t *expect_count)
{
    const tc_scn *s = p->s;
    uint64_t end = last_fault_end(events, count);
    end = end > p->t_end_ms ? end : p->t_end_ms;
    bool add = !states_liveness(s) && s->expect_count < TC_SCN_EXPECTS_MAX && end < s->run_ms &&
               s->run_ms - end >= TC_CHAOS_LIVENESS_MIN_MS;
    uint32_t n = s->expect_count + (add ? 1 : 0);
    tc_scn_expect *out = calloc(n > 0 ? n : 1, sizeof(tc_scn_expect));
    if (out == NULL)
        return NULL;
    if (s->expect_count > 0)
        memcpy(out, s->expects, s->expect_count * sizeof(tc_scn_expect));
    if (add)
        out[n - 1] = (tc_scn_expect){
            .kind = TC_SCN_EXP_LIVENESS, .after_heal = true, .within_ms = s->run_ms - end};
    p->st.liveness_added = add;
    *expect_count = n;
    return out;
}

static int set_err(char *err, size_t err_len, int rc, const char *what)
{
    if (err_len > 0)
        snprintf(err, err_len, "chaos: %s", what);
    return rc;
}

/* Swaps the new timeline, members and expectations into s: all or nothing. */
static int commit(plan *p, tc_scn *s, char *err, size_t err_len)
{
    if ((uint64_t)s->event_count + p->draft_count > TC_SCN_EVENTS_MAX)
        return set_err(err, err_len, TC_EFULL, "the timeline would exceed its event bound");
    if ((uint64_t)s->member_count + p->member_count > TC_SCN_MEMBERS_MAX)
        return set_err(err, err_len, TC_EFULL, "partitions would exceed the node-list bound");
    uint32_t member_total = s->member_count + p->member_count, expect_count = 0;
    uint32_t event_total = s->event_count + p->draft_count;
    tc_scn_member *members = calloc(member_total > 0 ? member_total : 1, sizeof(tc_scn_member));
    tc_scn_event *events = merge_events(p, s->member_count);
    tc_scn_expect *expects =
        events != NULL ? liveness_expects(p, events, event_total, &expect_count) : NULL;
    if (members == NULL || events == NULL || expects == NULL) {
        free(members);
        free(events);
        free(expects);
        return set_err(err, err_len, TC_ENOMEM, "out of memory");
    }
    if (s->member_count > 0)
        memcpy(members, s->members, s->member_count * sizeof(tc_scn_member));
    if (p->member_count > 0)
        memcpy(members + s->member_count, p->members, p->member_count * sizeof(tc_scn_member));
    free(s->members);
    free(s->events);
    free(s->expects);
    s->members = members;
    s->member_count = member_total;
    s->events = events;
    s->event_count = event_total;
    s->expects = expects;
    s->expect_count = expect_count;
    p->st.events = p->draft_count;
    s->chaos_faults = 0;
    s->chaos_heal_by_ms = 0;
    s->chaos_kinds = 0;
    return 0;
}

static void plan_free(plan *p)
{
    free(p->weight);
    free(p->present_ms);
    free(p->faultable);
    free(p->byzantine);
    free(p->eligible);
    free(p->scratch);
    free(p->minority);
    free(p->busy);
    free(p->steps);
    free(p->drafts);
    free(p->members);
}

static int plan_init(plan *p, const tc_scn *s, uint64_t seed)
{
    *p = (plan){.s = s, .endpoints = tc_scn_endpoint_count(s), .partitions_allowed = true};
    TC_ASSERT(p->endpoints >= 1 && p->endpoints <= TC_SCN_NODES_MAX);
    p->weight = calloc(p->endpoints, sizeof(uint64_t));
    p->present_ms = calloc(p->endpoints, sizeof(uint64_t));
    p->faultable = malloc(p->endpoints * sizeof(bool));
    p->byzantine = calloc(p->endpoints, sizeof(bool));
    p->eligible = calloc(p->endpoints, sizeof(uint32_t));
    p->scratch = calloc(p->endpoints, sizeof(uint32_t));
    p->minority = calloc(p->endpoints, sizeof(bool));
    if (!p->weight || !p->present_ms || !p->faultable || !p->byzantine || !p->eligible ||
        !p->scratch || !p->minority)
        return TC_ENOMEM;
    for (uint32_t e = 0; e < p->endpoints; e++)
        p->faultable[e] = true;
    uint8_t master[TC_SEED_SIZE], chaos_seed[TC_SEED_SIZE];
    tc_seed_from_u64(master, seed);
    tc_seed_derive(chaos_seed, master, "chaos", 0); /* apart from every stream the world draws */
    tc_rng_init(&p->rng, chaos_seed);
    p->st.asked = s->chaos_faults;
    p->kinds = s->chaos_kinds != 0 ? s->chaos_kinds : TC_SCN_CHAOS_ALL;
    p->t_end_ms = s->chaos_heal_by_ms != 0 ? s->chaos_heal_by_ms : s->run_ms;
    p->t0_ms = p->t_end_ms / WARMUP_DIVISOR;
    p->st.heal_by_ms = p->t_end_ms;
    classify(p);
    return book_explicit(p);
}

int tc_chaos_expand_stats(tc_scn *s, uint64_t seed, tc_chaos_stats *stats, char *err,
                          size_t err_len)
{
    TC_ASSERT(s != NULL && (err != NULL || err_len == 0));
    TC_ASSERT(s->node_count >= 1 && s->run_ms >= 1);
    if (err_len > 0)
        err[0] = 0;
    if (stats != NULL)
        *stats = (tc_chaos_stats){0};
    if (s->chaos_faults == 0)
        return 0;
    plan p;
    int rc = plan_init(&p, s, seed);
    for (uint32_t k = 0; k < s->chaos_faults && rc == 0; k++) {
        rc = 1;
        for (uint32_t t = 0; t < TC_CHAOS_TRIES && rc == 1; t++)
            rc = draw_one(&p);
        p.st.drawn += rc == 0 ? 1 : 0;
        rc = rc == 1 ? 0 : rc; /* every try missed: the fault is skipped */
    }
    if (rc == 0)
        rc = commit(&p, s, err, err_len);
    else
        set_err(err, err_len, rc, "out of memory");
    TC_ASSERT(p.st.drawn <= p.st.asked);
    if (stats != NULL && rc == 0)
        *stats = p.st;
    plan_free(&p);
    return rc;
}

int tc_chaos_expand(tc_scn *s, uint64_t seed, char *err, size_t err_len)
{
    return tc_chaos_expand_stats(s, seed, NULL, err, err_len);
}
