/* bft.c — Tendermint block consensus (Algorithm 1) as a pure state machine; see
 * bft.h.
 *
 * Layout: the proposer sequence first (pure functions), then output and signing
 * helpers, vote tables, the rules of the algorithm (one function each, named
 * after what they do), the evaluation loop that fires whichever rules are
 * enabled, and the public entry points.
 *
 * Every entry point is an "event": it checks that the output queue has room for
 * the most one event can emit (TC_BFT_EVENT_OUTPUTS_MAX), records the input,
 * then runs evaluate(), which applies enabled rules until none is. Each rule
 * application strictly advances (round, step) or decides, so the loop is short;
 * its bound is asserted.
 */
#include "bft.h"

#include <stdlib.h>
#include <string.h>

#define TIME_NONE UINT64_MAX
/* Rule applications in one evaluate(): at most a round skip, a prevote, a
 * precommit (or a valid value update), a commit, and the final pass that finds
 * nothing to do. */
#define EVAL_ITERATIONS_MAX 8
/* Outputs the rules of one event may still need after its equivocation reports:
 * a view change and proposal (3), a prevote (2), unlock/lock/precommit (4), a
 * commit (1), and the tick's timeouts (7), rounded up. Equivocation reports
 * beyond the rest of the budget are counted. */
#define RULE_OUTPUTS_RESERVE 20

_Static_assert(RULE_OUTPUTS_RESERVE < TC_BFT_EVENT_OUTPUTS_MAX, "room for equivocation reports");
_Static_assert(TC_BFT_ROUND_MAX < TC_BFT_ROUND_NONE - TC_BFT_ROUNDS_AHEAD - 1,
               "round arithmetic stays below the none marker");

enum { SLOT_EMPTY = 0, SLOT_VOTED = 1, SLOT_EQUIVOCATED = 2 };
enum { SET_PREVOTE = 0, SET_PRECOMMIT = 1, SET_COUNT = 2 };

/* One validator's vote of one type in one round: the first one seen, and, once it
 * equivocated (SLOT_EQUIVOCATED), the second. Each counts for the value it names: a quorum for
 * a value is signed weight for that value, whoever else its signers signed for (an equivocator
 * cannot make an honest validator's vote count twice). Without this an honest node that saw a
 * twin's other vote first could never count the quorum its peers locked on, and the locked
 * validators could not move (Tendermint's liveness needs every honest node to see the proof of
 * lock). Further values of an equivocator are ignored. */
typedef struct {
    tc_hash block;
    tc_sig sig;
    uint32_t pol_round; /* of a prevote (signed with it): kept so the vote can be resent as is */
    tc_hash block2;     /* SLOT_EQUIVOCATED: the second vote */
    tc_sig sig2;
    uint32_t pol_round2;
    uint8_t state;
} slot;

typedef struct {
    tc_hash value;
    uint64_t weight;
} tally;

/* The votes of one type in one round. Tallies cover the first TC_BFT_TALLY_MAX
 * distinct values; a value past them is weighed by scanning the slots, so
 * weights are exact either way. weight_any and weight_nil count each validator
 * once (its first vote). At most one non-nil value can reach the quorum while the
 * equivocators' weight stays below a third (two quorums overlap in more than a
 * third); past that the first value to reach it stays the quorum value. */
typedef struct {
    slot *slots; /* cap entries, in the table's own block (NULL until its first use) */
    uint64_t weight_any;
    uint64_t weight_nil;
    uint32_t tally_count;
    tally tallies[TC_BFT_TALLY_MAX];
    bool quorum; /* some non-nil value has weight >= Q */
    tc_hash quorum_value;
} vote_set;

typedef struct {
    tc_hash block;
    uint32_t pol_round;
    bool valid;
} proposal;

typedef struct {
    bool used;
    uint32_t round;
    vote_set sets[SET_COUNT];
    uint32_t proposal_count;
    proposal proposals[TC_BFT_PROPOSALS_MAX];
    /* "For the first time" conditions of Algorithm 1, per round. */
    bool prevote_timer_armed;
    bool lock_rule_done;
    bool precommit_timer_armed;
} round_table;

/* Per validator, this height: the highest round it was seen at (round skip),
 * and its votes at its highest round beyond the table window. */
typedef struct {
    bool seen;
    uint32_t seen_round;
    bool far;
    uint32_t far_round;
    slot far_votes[SET_COUNT];
    /* Its latest non-nil prevote of a round that had no table when it arrived (older than
     * every table): kept in case a proposal names that round as its proof-of-lock round, when
     * the round gets a table and this prevote is counted there (install_past). A resent copy
     * of it would be dropped by the seen filter, so it must not be thrown away. */
    bool past;
    uint32_t past_round;
    slot past_prevote;
} member;

typedef struct {
    uint32_t round;
    uint64_t weight;
} round_weight;

/* Proposer sequence generator: members of equal weight form a class and are
 * picked in index order within it, so each step costs O(classes) instead of
 * O(members). acc is the common "cur" of the class members picked least often;
 * the others of the class sit at acc - W. */
typedef struct {
    uint32_t weight;
    uint32_t first; /* into order */
    uint32_t size;
    uint64_t picks;
    int64_t acc;
} wclass;

typedef struct {
    uint32_t *order; /* member indexes sorted by (weight, index) */
    wclass *cls;
    uint32_t cls_count;
    uint64_t weight_total;
} seqgen;

struct tc_bft {
    tc_profile prof;
    tc_sig_scheme scheme;
    bool has_key;
    tc_keypair kp;
    bool failed;
    uint64_t now_ms;

    /* Per-validator storage, sized for cap validators; reused across heights. */
    uint32_t cap;
    member *members;
    round_weight *scratch;
    tc_commit_sig *commit_sigs;
    uint32_t *weights;

    /* Proposer sequence of the current set: seq[W] when W <=
     * TC_BFT_SEQ_CACHE_MAX. */
    uint32_t *seq;

    /* The height. */
    bool began;   /* some height was begun (heights only increase) */
    bool started; /* the height below is live (tables valid) */
    uint64_t height;
    uint32_t count;
    uint64_t weight_total;
    uint64_t quorum;
    uint64_t skip_weight;
    uint32_t my_index;
    uint32_t round;
    uint8_t step;
    uint32_t locked_round;
    tc_hash locked_value;
    uint32_t valid_round;
    tc_hash valid_value;
    uint64_t start_at_ms;
    uint64_t propose_at_ms;
    uint64_t prevote_at_ms;
    uint64_t precommit_at_ms;
    uint32_t first_timeout_cause;
    bool build_pending;
    bool skip_dirty;
    bool resume; /* restored state is at this height: resume at its round */
    round_table tables[TC_BFT_ROUNDS_MAX];
    uint32_t tables_allocated; /* tables with slots (table_alloc), until the storage grows */
    bool far_proposal;
    uint32_t far_proposal_round;
    proposal far_prop;

    /* Votes for height + 1. */
    uint32_t next_count;
    tc_vote next_votes[TC_BFT_NEXT_VOTES_MAX];

    /* The last message signed (PROTOCOL 12.5). */
    bool has_signed;
    tc_bft_signed_state last;

    /* Output ring. */
    uint32_t out_head;
    uint32_t out_count;
    uint32_t event_outputs;
    tc_bft_output out[TC_BFT_OUTPUTS_MAX];

    tc_bft_status stats; /* counters only; tc_bft_status_get fills the rest */
};

static const tc_hash nil_hash;

static bool heq(const tc_hash *a, const tc_hash *b)
{
    return memcmp(a->b, b->b, TC_HASH_SIZE) == 0;
}

static bool is_nil(const tc_hash *h)
{
    return heq(h, &nil_hash);
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t grow_ms(uint32_t base_ms, uint32_t delta_ms, uint32_t round)
{
    return (uint64_t)base_ms + (uint64_t)delta_ms * round;
}

/* ---- proposer sequence ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void seqgen_deinit(seqgen *g)
{
    free(g->order);
    free(g->cls);
    memset(g, 0, sizeof(*g));
}

/* Codes: TC_EINVAL (no members or W = 0), TC_ENOMEM. */
static int seqgen_init(seqgen *g, const uint32_t *weights, uint32_t count)
{
    memset(g, 0, sizeof(*g));
    if (count == 0)
        return TC_EINVAL;
    uint64_t *keys = tc_malloc((size_t)count * sizeof(*keys));
    g->order = tc_malloc((size_t)count * sizeof(*g->order));
    g->cls = tc_calloc(count, sizeof(*g->cls));
    if (keys == NULL || g->order == NULL || g->cls == NULL) {
        free(keys);
        seqgen_deinit(g);
        return TC_ENOMEM;
    }
    for (uint32_t i = 0; i < count; i++) {
        keys[i] = (uint64_t)weights[i] << 32 | i;
        g->weight_total += weights[i];
    }
    qsort(keys, count, sizeof(*keys), cmp_u64);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t w = (uint32_t)(keys[i] >> 32);
        g->order[i] = (uint32_t)keys[i];
        if (g->cls_count == 0 || g->cls[g->cls_count - 1].weight != w)
            g->cls[g->cls_count++] = (wclass){.weight = w, .first = i};
        g->cls[g->cls_count - 1].size++;
    }
    free(keys);
    if (g->weight_total == 0) {
        seqgen_deinit(g);
        return TC_EINVAL;
    }
    return 0;
}

/* One step of smooth weighted round-robin: every member gains its weight, the
 * largest (lowest index on ties) is picked and pays W. */
static uint32_t seqgen_next(seqgen *g)
{
    uint32_t best = UINT32_MAX;
    uint32_t best_index = UINT32_MAX;
    for (uint32_t c = 0; c < g->cls_count; c++) {
        wclass *k = &g->cls[c];
        k->acc += (int64_t)k->weight;
        uint32_t cand = g->order[k->first + (uint32_t)(k->picks % k->size)];
        if (best == UINT32_MAX || k->acc > g->cls[best].acc ||
            (k->acc == g->cls[best].acc && cand < best_index)) {
            best = c;
            best_index = cand;
        }
    }
    TC_ASSERT(best != UINT32_MAX);
    wclass *k = &g->cls[best];
    k->picks++;
    if (k->picks % k->size == 0)
        k->acc -= (int64_t)g->weight_total;
    TC_ASSERT(k->acc > -(int64_t)g->weight_total);
    return best_index;
}

static uint64_t seq_position(uint64_t height, uint32_t round, uint64_t weight_total)
{
    TC_ASSERT(weight_total > 0);
    return (height % weight_total + round % weight_total) % weight_total;
}

/* S[position] without a cache: O(position * classes). */
static int proposer_of_weights(const uint32_t *weights, uint32_t count, uint64_t position,
                               uint32_t *index_out)
{
    seqgen g;
    int rc = seqgen_init(&g, weights, count);
    if (rc != 0)
        return rc;
    TC_ASSERT(position < g.weight_total);
    uint32_t pick = UINT32_MAX;
    for (uint64_t i = 0; i <= position; i++)
        pick = seqgen_next(&g);
    seqgen_deinit(&g);
    TC_ASSERT(pick < count);
    *index_out = pick;
    return 0;
}

int tc_bft_proposer(const tc_vset *v, uint64_t height, uint32_t round, uint32_t *index_out)
{
    TC_ASSERT(v != NULL && index_out != NULL);
    *index_out = TC_BFT_INDEX_NONE;
    if (v->count == 0 || v->weight_total == 0)
        return TC_EINVAL;
    uint32_t *w = tc_malloc((size_t)v->count * sizeof(*w));
    if (w == NULL)
        return TC_ENOMEM;
    uint64_t total = 0;
    for (uint32_t i = 0; i < v->count; i++) {
        w[i] = v->members[i].weight;
        total += w[i];
    }
    int rc = total == 0
                 ? TC_EINVAL
                 : proposer_of_weights(w, v->count, seq_position(height, round, total), index_out);
    free(w);
    return rc;
}

/* The whole sequence, or NULL in *out when W is over the cache limit. */
static int seq_build(const uint32_t *weights, uint32_t count, uint32_t **out)
{
    seqgen g;
    *out = NULL;
    int rc = seqgen_init(&g, weights, count);
    if (rc != 0)
        return rc;
    if (g.weight_total > TC_BFT_SEQ_CACHE_MAX) {
        seqgen_deinit(&g);
        return 0;
    }
    uint32_t *s = tc_malloc((size_t)g.weight_total * sizeof(*s));
    if (s == NULL) {
        seqgen_deinit(&g);
        return TC_ENOMEM;
    }
    for (uint64_t i = 0; i < g.weight_total; i++)
        s[i] = seqgen_next(&g);
    seqgen_deinit(&g);
    *out = s;
    return 0;
}

uint32_t tc_bft_proposer_at(const tc_bft *b, uint64_t height, uint32_t round)
{
    TC_ASSERT(b != NULL);
    if (!b->started)
        return TC_BFT_INDEX_NONE;
    uint64_t pos = seq_position(height, round, b->weight_total);
    if (b->seq != NULL)
        return b->seq[pos];
    uint32_t index = TC_BFT_INDEX_NONE;
    if (proposer_of_weights(b->weights, b->count, pos, &index) != 0)
        return TC_BFT_INDEX_NONE; /* no scratch memory: what the allocator causes never aborts */
    return index;
}

/* ---- outputs and signing ---- */

static bool can_vote(const tc_bft *b)
{
    return b->has_key && b->my_index != TC_BFT_INDEX_NONE;
}

static tc_bft_output *push(tc_bft *b, tc_bft_output_kind kind)
{
    TC_ASSERT(b->out_count < TC_BFT_OUTPUTS_MAX);
    TC_ASSERT(b->event_outputs < TC_BFT_EVENT_OUTPUTS_MAX);
    tc_bft_output *o = &b->out[(b->out_head + b->out_count) % TC_BFT_OUTPUTS_MAX];
    b->out_count++;
    b->event_outputs++;
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    o->height = b->height;
    o->round = b->round;
    o->pol_round = TC_BFT_ROUND_NONE;
    return o;
}

/* Lexicographic order of (height, round, step). */
static int signed_cmp(uint64_t h, uint32_t r, uint8_t step, const tc_bft_signed_state *s)
{
    if (h != s->height)
        return h < s->height ? -1 : 1;
    if (r != s->round)
        return r < s->round ? -1 : 1;
    if (step != s->step)
        return step < s->step ? -1 : 1;
    return 0;
}

/* The last-signed rule: only a message above the last one, or that very message
 * again. */
static bool may_sign(tc_bft *b, uint8_t step, const tc_hash *value, uint32_t pol_round)
{
    if (!b->has_signed)
        return true;
    int c = signed_cmp(b->height, b->round, step, &b->last);
    if (c > 0 || (c == 0 && heq(value, &b->last.value) && pol_round == b->last.pol_round))
        return true;
    b->stats.signs_refused++;
    return false;
}

/* Records what is about to be signed, with the lock, and asks the node to
 * persist it first. */
static void record_signed(tc_bft *b, uint8_t step, const tc_hash *value, uint32_t pol_round)
{
    TC_ASSERT(!b->has_signed || signed_cmp(b->height, b->round, step, &b->last) >= 0);
    TC_ASSERT(b->locked_round == TC_BFT_ROUND_NONE || b->locked_round <= b->round);
    tc_bft_signed_state *s = &b->last;
    s->height = b->height;
    s->round = b->round;
    s->step = step;
    s->value = *value;
    s->pol_round = pol_round;
    s->locked_round = b->locked_round;
    s->locked_value = b->locked_value;
    b->has_signed = true;
    tc_bft_output *o = push(b, TC_BFT_OUT_PERSIST);
    o->signed_state = *s;
}

static void note_seen(tc_bft *b, uint32_t validator, uint32_t round)
{
    TC_ASSERT(validator < b->count);
    member *m = &b->members[validator];
    if (m->seen && round <= m->seen_round)
        return;
    m->seen = true;
    m->seen_round = round;
    if (round > b->round)
        b->skip_dirty = true;
}

static void slot_vote(const tc_bft *b, const slot *s, uint8_t type, uint32_t round,
                      uint32_t validator, tc_vote *out)
{
    memset(out, 0, sizeof(*out));
    out->type = type;
    out->height = b->height;
    out->round = round;
    out->pol_round = s->pol_round;
    out->block = s->block;
    out->validator = validator;
    out->sig = s->sig;
}

static void report_equivocation(tc_bft *b, const tc_vote *first, const tc_vote *second)
{
    b->stats.equivocations++;
    if (b->event_outputs + 1 + RULE_OUTPUTS_RESERVE > TC_BFT_EVENT_OUTPUTS_MAX) {
        b->stats.equivocations_unreported++;
        return;
    }
    tc_bft_output *o = push(b, TC_BFT_OUT_EQUIVOCATION);
    o->round = first->round;
    o->vote = *first;
    o->vote2 = *second;
}

/* ---- vote tables ---- */

/* Rounds past current + TC_BFT_ROUNDS_AHEAD have no table yet. */
static bool beyond_window(const tc_bft *b, uint32_t r)
{
    return r > b->round && r - b->round > TC_BFT_ROUNDS_AHEAD;
}

static round_table *table_find(tc_bft *b, uint32_t round)
{
    for (uint32_t i = 0; i < TC_BFT_ROUNDS_MAX; i++)
        if (b->tables[i].used && b->tables[i].round == round)
            return &b->tables[i];
    return NULL;
}

/* The proof-of-lock round named by the first valid proposal of the current round that names
 * one, TC_BFT_ROUND_NONE if none: the prevotes of that round decide this round's prevote
 * (try_prevote), so they must find a table however old the round is. */
static uint32_t wanted_pol_round(const tc_bft *b)
{
    for (uint32_t i = 0; i < TC_BFT_ROUNDS_MAX; i++) {
        const round_table *t = &b->tables[i];
        if (!t->used || t->round != b->round)
            continue;
        for (uint32_t k = 0; k < t->proposal_count; k++)
            if (t->proposals[k].valid && t->proposals[k].pol_round != TC_BFT_ROUND_NONE)
                return t->proposals[k].pol_round;
        break;
    }
    return TC_BFT_ROUND_NONE;
}

/* Rounds whose table is never evicted: the current one, the window ahead,
 * locked and valid, and the proof-of-lock round the current proposal names. */
static bool round_protected(const tc_bft *b, uint32_t r)
{
    return (r >= b->round && r - b->round <= TC_BFT_ROUNDS_AHEAD) || r == b->locked_round ||
           r == b->valid_round || r == wanted_pol_round(b);
}

static void set_add(tc_bft *b, vote_set *s, uint32_t validator, const tc_hash *block,
                    const tc_sig *sig, uint32_t pol_round);

/* Counts the kept past prevotes of round into its new table t. */
static void install_past(tc_bft *b, round_table *t)
{
    for (uint32_t i = 0; i < b->count; i++) {
        const member *m = &b->members[i];
        vote_set *s = &t->sets[SET_PREVOTE];
        if (m->past && m->past_round == t->round && s->slots[i].state == SLOT_EMPTY)
            set_add(b, s, i, &m->past_prevote.block, &m->past_prevote.sig,
                    m->past_prevote.pol_round);
    }
}

static void table_reset(tc_bft *b, round_table *t, uint32_t round)
{
    TC_ASSERT(!beyond_window(b, round) && !(t->used && round_protected(b, t->round)));
    for (uint32_t k = 0; k < SET_COUNT; k++) {
        slot *slots = t->sets[k].slots;
        memset(&t->sets[k], 0, sizeof(t->sets[k]));
        t->sets[k].slots = slots;
        memset(slots, 0, (size_t)b->count * sizeof(*slots));
    }
    t->used = true;
    t->round = round;
    t->proposal_count = 0;
    t->prevote_timer_armed = false;
    t->lock_rule_done = false;
    t->precommit_timer_armed = false;
}

/* Gives t, a table never used since the storage was sized, its slots: SET_COUNT * cap of them
 * in one block, kept for later heights. Allocated on first use, because a height decided in
 * round 0 uses one table of TC_BFT_ROUNDS_MAX, and the slots of all of them were 3.3 KiB per
 * validator per node (3.4 GB at 1,024 simulated validators). TC_ENOMEM leaves t unused. */
static int table_alloc(tc_bft *b, round_table *t)
{
    TC_ASSERT(!t->used && b->cap > 0);
    slot *slots = tc_calloc((size_t)SET_COUNT * b->cap, sizeof(*slots));
    if (slots == NULL)
        return TC_ENOMEM;
    for (uint32_t k = 0; k < SET_COUNT; k++)
        t->sets[k].slots = slots + (size_t)k * b->cap;
    b->tables_allocated++;
    return 0;
}

/* The table of round, made if missing: a free one, else the lowest unprotected
 * round below it (or any unprotected round, when round itself is protected: the
 * proof-of-lock round of the current proposal). NULL when round is older than
 * every table that could make way. */
static round_table *table_get(tc_bft *b, uint32_t round)
{
    TC_ASSERT(!beyond_window(b, round));
    round_table *t = table_find(b, round);
    if (t != NULL)
        return t;
    round_table *victim = NULL;
    for (uint32_t i = 0; i < TC_BFT_ROUNDS_MAX && victim == NULL; i++)
        if (!b->tables[i].used)
            victim = &b->tables[i];
    for (uint32_t i = 0; i < TC_BFT_ROUNDS_MAX && victim == NULL; i++) {
        round_table *c = &b->tables[i];
        if (!round_protected(b, c->round) && (victim == NULL || c->round < victim->round))
            victim = c;
    }
    /* At most ROUNDS_AHEAD + 4 rounds are protected, so a window round always
     * finds room. */
    TC_ASSERT(victim != NULL || round < b->round);
    if (victim == NULL || (victim->used && victim->round > round && !round_protected(b, round)))
        return NULL;
    if (victim->sets[0].slots == NULL && table_alloc(b, victim) != 0)
        return NULL; /* no memory for a table: handled like no room (see current_table) */
    table_reset(b, victim, round);
    install_past(b, victim);
    return victim;
}

/* The signature s's validator gave value, or NULL: its first vote's, else its second's; with
 * that vote's pol_round in *pol_out when pol_out is not NULL. */
static const tc_sig *slot_sig_for(const slot *sl, const tc_hash *value, uint32_t *pol_out)
{
    if (sl->state != SLOT_EMPTY && heq(&sl->block, value)) {
        if (pol_out != NULL)
            *pol_out = sl->pol_round;
        return &sl->sig;
    }
    if (sl->state == SLOT_EQUIVOCATED && heq(&sl->block2, value)) {
        if (pol_out != NULL)
            *pol_out = sl->pol_round2;
        return &sl->sig2;
    }
    return NULL;
}

static uint64_t scan_weight(const tc_bft *b, const vote_set *s, const tc_hash *value)
{
    uint64_t w = 0;
    for (uint32_t i = 0; i < b->count; i++)
        if (slot_sig_for(&s->slots[i], value, NULL) != NULL)
            w += b->weights[i];
    TC_ASSERT(w <= b->weight_total);
    return w;
}

/* Adds w to value's tally and returns the value's weight. */
static uint64_t tally_add(const tc_bft *b, vote_set *s, const tc_hash *value, uint64_t w)
{
    for (uint32_t i = 0; i < s->tally_count; i++) {
        if (heq(&s->tallies[i].value, value)) {
            s->tallies[i].weight += w;
            return s->tallies[i].weight;
        }
    }
    if (s->tally_count < TC_BFT_TALLY_MAX) {
        s->tallies[s->tally_count++] = (tally){.value = *value, .weight = w};
        return w;
    }
    return scan_weight(b, s, value); /* the slot is filled already, so w is included */
}

/* Counts w more for the non-nil value block; the first value to reach the quorum is the set's
 * quorum value. */
static void tally_value(const tc_bft *b, vote_set *s, const tc_hash *block, uint64_t w)
{
    if (tally_add(b, s, block, w) >= b->quorum && !s->quorum) {
        s->quorum = true;
        s->quorum_value = *block;
    }
}

/* Records validator's first vote (block, sig, pol_round) in s. */
static void set_add(tc_bft *b, vote_set *s, uint32_t validator, const tc_hash *block,
                    const tc_sig *sig, uint32_t pol_round)
{
    slot *sl = &s->slots[validator];
    TC_ASSERT(sl->state == SLOT_EMPTY);
    sl->block = *block;
    sl->sig = *sig;
    sl->pol_round = pol_round;
    sl->state = SLOT_VOTED;
    uint64_t w = b->weights[validator];
    s->weight_any += w;
    TC_ASSERT(s->weight_any <= b->weight_total);
    if (is_nil(block)) {
        s->weight_nil += w;
        return;
    }
    tally_value(b, s, block, w);
}

/* Records validator's second vote (block, sig) in s, whose slot holds its first: counted for
 * its value, not in weight_any or weight_nil (the validator counts once there). */
static void set_add_second(const tc_bft *b, vote_set *s, uint32_t validator, const tc_hash *block,
                           const tc_sig *sig, uint32_t pol_round)
{
    slot *sl = &s->slots[validator];
    TC_ASSERT(sl->state != SLOT_EMPTY && !heq(&sl->block, block));
    sl->state = SLOT_EQUIVOCATED;
    sl->block2 = *block;
    sl->sig2 = *sig;
    sl->pol_round2 = pol_round;
    if (!is_nil(block))
        tally_value(b, s, block, b->weights[validator]);
}

/* v conflicts with the first vote in sl: reports the pair. */
static void report_second(tc_bft *b, const slot *sl, const tc_vote *v)
{
    tc_vote first;
    slot_vote(b, sl, v->type, v->round, v->validator, &first);
    report_equivocation(b, &first, v);
}

/* Puts a vote of a round that has (or may get) a table. */
static int insert_vote(tc_bft *b, const tc_vote *v)
{
    TC_ASSERT(v->validator < b->count && v->height == b->height);
    TC_ASSERT(v->type == TC_VOTE_PREVOTE || v->type == TC_VOTE_PRECOMMIT);
    round_table *t = table_get(b, v->round);
    if (t == NULL && v->type == TC_VOTE_PREVOTE && !is_nil(&v->block)) {
        member *m = &b->members[v->validator];
        if (!m->past || v->round > m->past_round) {
            m->past = true;
            m->past_round = v->round;
            m->past_prevote = (slot){
                .block = v->block, .sig = v->sig, .pol_round = v->pol_round, .state = SLOT_VOTED};
            b->stats.votes_counted++;
            return 0;
        }
    }
    if (t == NULL) {
        b->stats.votes_ignored++;
        return TC_ERANGE;
    }
    vote_set *s = &t->sets[v->type - 1];
    slot *sl = &s->slots[v->validator];
    if (sl->state == SLOT_EMPTY) {
        set_add(b, s, v->validator, &v->block, &v->sig, v->pol_round);
        b->stats.votes_counted++;
        return 0;
    }
    if (heq(&sl->block, &v->block) || sl->state == SLOT_EQUIVOCATED) {
        b->stats.votes_duplicate++;
        return TC_EEXIST;
    }
    report_second(b, sl, v);
    set_add_second(b, s, v->validator, &v->block, &v->sig, v->pol_round);
    return 0;
}

/* Keeps a vote of a round beyond the window, if it is at its validator's
 * highest round: its first vote, and a conflicting second one (reported now) that install_far
 * counts with it once the window covers the round. */
static int far_put(tc_bft *b, const tc_vote *v)
{
    TC_ASSERT(beyond_window(b, v->round) && v->validator < b->count);
    member *m = &b->members[v->validator];
    if (m->far && v->round < m->far_round) {
        b->stats.votes_ignored++;
        return TC_ERANGE;
    }
    if (!m->far || v->round > m->far_round) {
        m->far = true;
        m->far_round = v->round;
        memset(m->far_votes, 0, sizeof(m->far_votes));
    }
    slot *sl = &m->far_votes[v->type - 1];
    if (sl->state == SLOT_EMPTY) {
        *sl = (slot){
            .block = v->block, .sig = v->sig, .pol_round = v->pol_round, .state = SLOT_VOTED};
        b->stats.votes_counted++;
        return 0;
    }
    if (heq(&sl->block, &v->block) || sl->state == SLOT_EQUIVOCATED) {
        b->stats.votes_duplicate++;
        return TC_EEXIST;
    }
    report_second(b, sl, v);
    sl->state = SLOT_EQUIVOCATED;
    sl->block2 = v->block;
    sl->sig2 = v->sig;
    sl->pol_round2 = v->pol_round;
    return 0;
}

static int accept_vote(tc_bft *b, const tc_vote *v)
{
    note_seen(b, v->validator, v->round);
    if (beyond_window(b, v->round))
        return far_put(b, v);
    return insert_vote(b, v);
}

/* Moves far votes that the window now covers into their tables; older ones are
 * dropped. */
static void install_far(tc_bft *b)
{
    for (uint32_t i = 0; i < b->count; i++) {
        member *m = &b->members[i];
        if (!m->far || beyond_window(b, m->far_round))
            continue;
        m->far = false;
        if (m->far_round < b->round)
            continue;
        round_table *t = table_get(b, m->far_round);
        if (t == NULL) { /* no memory for its table: the far votes are dropped */
            b->stats.votes_ignored++;
            continue;
        }
        for (uint32_t k = 0; k < SET_COUNT; k++) {
            const slot *f = &m->far_votes[k];
            if (f->state == SLOT_EMPTY || t->sets[k].slots[i].state != SLOT_EMPTY)
                continue;
            set_add(b, &t->sets[k], i, &f->block, &f->sig, f->pol_round);
            if (f->state == SLOT_EQUIVOCATED)
                set_add_second(b, &t->sets[k], i, &f->block2, &f->sig2, f->pol_round2);
        }
    }
}

static proposal *proposal_find(round_table *t, const tc_hash *block, bool valid_only)
{
    for (uint32_t i = 0; i < t->proposal_count; i++)
        if (heq(&t->proposals[i].block, block) && (!valid_only || t->proposals[i].valid))
            return &t->proposals[i];
    return NULL;
}

static int proposal_add(round_table *t, const tc_hash *block, uint32_t pol_round, bool valid)
{
    for (uint32_t i = 0; i < t->proposal_count; i++)
        if (heq(&t->proposals[i].block, block) && t->proposals[i].pol_round == pol_round)
            return TC_EEXIST;
    if (t->proposal_count == TC_BFT_PROPOSALS_MAX)
        return TC_EFULL;
    t->proposals[t->proposal_count++] =
        (proposal){.block = *block, .pol_round = pol_round, .valid = valid};
    return 0;
}

static void install_far_proposal(tc_bft *b)
{
    if (!b->far_proposal || beyond_window(b, b->far_proposal_round))
        return;
    b->far_proposal = false;
    if (b->far_proposal_round < b->round)
        return;
    round_table *t = table_get(b, b->far_proposal_round);
    if (t != NULL) /* else no memory for its table: the proposal is dropped */
        (void)proposal_add(t, &b->far_prop.block, b->far_prop.pol_round, b->far_prop.valid);
}

/* ---- the rules of Algorithm 1 ---- */

/* The current round's table, made by start_round and protected while current; NULL when there
 * was no memory for it (table_alloc). Without a table the round counts no votes and takes no
 * step on them, only its timeouts (a nil prevote, then precommit, then the next round); the
 * next vote of the round or tick tries to make the table again (tc_bft_tick). */
static round_table *current_table(tc_bft *b)
{
    round_table *t = table_find(b, b->round);
    TC_ASSERT(t != NULL || b->tables_allocated < TC_BFT_ROUNDS_MAX);
    return t;
}

/* Signs a vote of the current round (nothing for an observer, or when the
 * last-signed rule refuses), persists first, emits it and counts it like any
 * other. pol_round: the proof-of-lock round a prevote relies on (try_prevote), none for a
 * precommit; it is persisted with the vote, so a restart re-signs the identical prevote. */
static void sign_vote(tc_bft *b, uint8_t type, const tc_hash *block, uint32_t pol_round)
{
    TC_ASSERT(pol_round == TC_BFT_ROUND_NONE || (type == TC_VOTE_PREVOTE && pol_round < b->round));
    if (!can_vote(b) || !may_sign(b, type, block, pol_round))
        return;
    TC_ASSERT(b->my_index < b->count && b->step != TC_BFT_STEP_WAIT);
    record_signed(b, type, block, pol_round);
    tc_vote v;
    memset(&v, 0, sizeof(v));
    v.type = type;
    v.height = b->height;
    v.round = b->round;
    v.pol_round = pol_round;
    v.block = *block;
    v.validator = b->my_index;
    tc_vote_sign(&v, b->scheme, &b->kp);
    tc_bft_output *o = push(b, TC_BFT_OUT_VOTE);
    o->vote = v;
    note_seen(b, v.validator, v.round);
    (void)insert_vote(b, &v); /* a twin's vote in our slot is reported as equivocation */
}

static void propose(tc_bft *b, const tc_hash *block, uint32_t pol_round)
{
    TC_ASSERT(can_vote(b) && !is_nil(block) && b->step == TC_BFT_STEP_PROPOSE);
    TC_ASSERT(pol_round == TC_BFT_ROUND_NONE || pol_round < b->round);
    if (!may_sign(b, TC_BFT_SIGNED_PROPOSAL, block, pol_round))
        return;
    record_signed(b, TC_BFT_SIGNED_PROPOSAL, block, pol_round);
    tc_bft_output *o = push(b, TC_BFT_OUT_PROPOSE);
    o->block = *block;
    o->pol_round = pol_round;
    note_seen(b, b->my_index, b->round);
    round_table *t = current_table(b);
    if (t != NULL)
        (void)proposal_add(t, block, pol_round, true);
}

static void do_prevote(tc_bft *b, const tc_hash *block, uint32_t pol_round)
{
    TC_ASSERT(b->step == TC_BFT_STEP_PROPOSE);
    TC_ASSERT(!is_nil(block) || pol_round == TC_BFT_ROUND_NONE);
    b->step = TC_BFT_STEP_PREVOTE;
    b->propose_at_ms = TIME_NONE;
    sign_vote(b, TC_VOTE_PREVOTE, block, pol_round);
}

static void do_precommit(tc_bft *b, const tc_hash *block)
{
    TC_ASSERT(b->step == TC_BFT_STEP_PREVOTE);
    b->step = TC_BFT_STEP_PRECOMMIT;
    b->prevote_at_ms = TIME_NONE;
    sign_vote(b, TC_VOTE_PRECOMMIT, block, TC_BFT_ROUND_NONE);
}

/* After a restart at the round of the last signed message: send that message
 * again (identical, so no conflict) and take the step it implies. */
static void resume_round(tc_bft *b)
{
    const tc_bft_signed_state s = b->last;
    TC_ASSERT(s.height == b->height && s.round == b->round);
    if (s.step == TC_BFT_SIGNED_PROPOSAL) {
        if (can_vote(b) && tc_bft_proposer_at(b, b->height, b->round) == b->my_index)
            propose(b, &s.value, s.pol_round);
        return;
    }
    b->step = s.step == TC_BFT_SIGNED_PREVOTE ? TC_BFT_STEP_PREVOTE : TC_BFT_STEP_PRECOMMIT;
    b->propose_at_ms = TIME_NONE;
    sign_vote(b, s.step, &s.value, s.pol_round);
}

/* StartRound of Algorithm 1; cause 0 for the first round of a height (no view
 * change). */
static void start_round(tc_bft *b, uint32_t round, uint32_t cause)
{
    TC_ASSERT(round >= b->round && round <= TC_BFT_ROUND_MAX);
    if (cause != 0) {
        tc_bft_output *o = push(b, TC_BFT_OUT_VIEW_CHANGE);
        o->round_to = round;
        o->cause = cause;
        b->stats.view_changes++;
    }
    b->round = round;
    b->step = TC_BFT_STEP_PROPOSE;
    b->build_pending = false;
    b->first_timeout_cause = 0;
    b->start_at_ms = TIME_NONE;
    b->propose_at_ms = add_sat(
        b->now_ms, grow_ms(b->prof.timeout_propose_ms, b->prof.timeout_propose_delta_ms, round));
    b->prevote_at_ms = TIME_NONE;
    b->precommit_at_ms = TIME_NONE;
    b->skip_dirty = true;
    (void)table_get(b, round);
    install_far(b);
    install_far_proposal(b);
    if (b->resume && b->last.round == round) {
        b->resume = false;
        resume_round(b);
        return;
    }
    b->resume = false;
    if (!can_vote(b) || tc_bft_proposer_at(b, b->height, round) != b->my_index)
        return;
    if (b->valid_round != TC_BFT_ROUND_NONE) {
        propose(b, &b->valid_value, b->valid_round);
    } else if (!b->has_signed ||
               signed_cmp(b->height, round, TC_BFT_SIGNED_PROPOSAL, &b->last) > 0) {
        /* Only ask for a block we may sign: a restored later state would refuse it. */
        (void)push(b, TC_BFT_OUT_BUILD);
        b->build_pending = true;
    }
}

/* Lines 22-33: prevote on the first proposal of the round whose rule is
 * enabled. A prevote for the block carries the proof-of-lock round it relies on (PROTOCOL
 * 12.2, 14.5): the lock's round when the block is the locked value, the proposal's pol_round when
 * its proof-of-lock is in hand, the larger of the two when both; none otherwise. Since a lock
 * only moves forward and another block is prevoted only on a proof-of-lock at or after the
 * lock's round, a validator that precommitted A in round r never prevotes B != A later with a
 * pol_round below r: that pair is amnesia evidence, and never an honest validator's. */
static bool try_prevote(tc_bft *b)
{
    round_table *t = current_table(b);
    if (t == NULL)
        return false;
    for (uint32_t i = 0; i < t->proposal_count; i++) {
        const proposal *p = &t->proposals[i];
        bool unlocked = b->locked_round == TC_BFT_ROUND_NONE || heq(&b->locked_value, &p->block);
        uint32_t relied = b->locked_round != TC_BFT_ROUND_NONE && heq(&b->locked_value, &p->block)
                              ? b->locked_round
                              : TC_BFT_ROUND_NONE;
        if (p->pol_round != TC_BFT_ROUND_NONE) {
            /* A valid proposal's proof-of-lock round gets its table (protected, and filled with
             * the past prevotes kept for it: install_past), so a quorum seen before the
             * proposal counts at once. */
            round_table *pt = p->valid ? table_get(b, p->pol_round) : table_find(b, p->pol_round);
            const vote_set *pol = pt != NULL ? &pt->sets[SET_PREVOTE] : NULL;
            if (pol == NULL || !pol->quorum || !heq(&pol->quorum_value, &p->block))
                continue; /* no proof-of-lock seen (yet) */
            unlocked = unlocked || b->locked_round <= p->pol_round;
            if (relied == TC_BFT_ROUND_NONE || p->pol_round > relied)
                relied = p->pol_round;
        }
        if (p->valid && unlocked)
            do_prevote(b, &p->block, relied);
        else
            do_prevote(b, &nil_hash, TC_BFT_ROUND_NONE);
        return true;
    }
    return false;
}

static void set_lock(tc_bft *b, const tc_hash *block)
{
    TC_ASSERT(!is_nil(block) && b->step == TC_BFT_STEP_PREVOTE);
    TC_ASSERT(b->locked_round == TC_BFT_ROUND_NONE || b->locked_round < b->round);
    if (b->locked_round != TC_BFT_ROUND_NONE && !heq(&b->locked_value, block) && can_vote(b)) {
        tc_bft_output *o = push(b, TC_BFT_OUT_UNLOCK);
        o->round = b->locked_round;
        o->block = b->locked_value;
    }
    b->locked_round = b->round;
    b->locked_value = *block;
    if (can_vote(b)) {
        tc_bft_output *o = push(b, TC_BFT_OUT_LOCK);
        o->block = *block;
    }
}

/* Lines 36-43: a quorum of prevotes for a valid proposal of this round, in
 * prevote or later. */
static bool try_lock(tc_bft *b)
{
    round_table *t = current_table(b);
    if (t == NULL)
        return false;
    const vote_set *s = &t->sets[SET_PREVOTE];
    if (t->lock_rule_done || !s->quorum)
        return false;
    const proposal *p = proposal_find(t, &s->quorum_value, true);
    if (p == NULL)
        return false;
    t->lock_rule_done = true;
    if (b->step == TC_BFT_STEP_PREVOTE) {
        set_lock(b, &p->block);
        do_precommit(b, &p->block);
    }
    b->valid_value = p->block;
    b->valid_round = b->round;
    TC_ASSERT(b->step == TC_BFT_STEP_PRECOMMIT);
    return true;
}

/* Lines 34-35 and 47-48: the timers armed by a quorum of any votes. */
static void arm_timers(tc_bft *b)
{
    round_table *t = current_table(b);
    if (t == NULL)
        return;
    if (b->step == TC_BFT_STEP_PREVOTE && !t->prevote_timer_armed &&
        t->sets[SET_PREVOTE].weight_any >= b->quorum) {
        t->prevote_timer_armed = true;
        b->prevote_at_ms = add_sat(b->now_ms, grow_ms(b->prof.timeout_prevote_ms,
                                                      b->prof.timeout_prevote_delta_ms, b->round));
    }
    if (!t->precommit_timer_armed && t->sets[SET_PRECOMMIT].weight_any >= b->quorum) {
        t->precommit_timer_armed = true;
        b->precommit_at_ms =
            add_sat(b->now_ms, grow_ms(b->prof.timeout_precommit_ms,
                                       b->prof.timeout_precommit_delta_ms, b->round));
    }
}

static bool block_known(tc_bft *b, const tc_hash *block, bool valid_only)
{
    for (uint32_t i = 0; i < TC_BFT_ROUNDS_MAX; i++)
        if (b->tables[i].used && proposal_find(&b->tables[i], block, valid_only) != NULL)
            return true;
    return false;
}

/* Lines 49-54: a quorum of precommits for one block in any round decides the
 * height. */
static bool try_commit(tc_bft *b)
{
    round_table *best = NULL;
    for (uint32_t i = 0; i < TC_BFT_ROUNDS_MAX; i++) {
        round_table *t = &b->tables[i];
        if (t->used && t->sets[SET_PRECOMMIT].quorum && (best == NULL || t->round < best->round))
            best = t;
    }
    if (best == NULL)
        return false;
    const vote_set *s = &best->sets[SET_PRECOMMIT];
    uint32_t n = 0;
    uint64_t w = 0;
    for (uint32_t i = 0; i < b->count; i++) {
        const tc_sig *sig = slot_sig_for(&s->slots[i], &s->quorum_value, NULL);
        if (sig != NULL) {
            b->commit_sigs[n++] = (tc_commit_sig){.validator = i, .sig = *sig};
            w += b->weights[i];
        }
    }
    TC_ASSERT(n > 0 && n <= b->count && w >= b->quorum && w <= b->weight_total);
    tc_bft_output *o = push(b, TC_BFT_OUT_COMMIT);
    o->round = best->round;
    o->block = s->quorum_value;
    o->block_known = block_known(b, &s->quorum_value, false);
    o->block_valid = block_known(b, &s->quorum_value, true);
    o->commit = (tc_commit){.height = b->height,
                            .round = best->round,
                            .block = s->quorum_value,
                            .sig_count = n,
                            .sigs = b->commit_sigs};
    b->step = TC_BFT_STEP_COMMITTED;
    b->propose_at_ms = b->prevote_at_ms = b->precommit_at_ms = b->start_at_ms = TIME_NONE;
    b->build_pending = false;
    b->stats.commits++;
    return true;
}

static int cmp_round_desc(const void *a, const void *b)
{
    uint32_t x = ((const round_weight *)a)->round;
    uint32_t y = ((const round_weight *)b)->round;
    return (x < y) - (x > y);
}

/* The highest round R above the current one such that validators of weight >= f
 * + 1 were seen at round R or above; TC_BFT_ROUND_NONE if there is none. */
static uint32_t skip_target(tc_bft *b)
{
    uint32_t n = 0;
    uint64_t total = 0;
    for (uint32_t i = 0; i < b->count; i++) {
        const member *m = &b->members[i];
        if (m->seen && m->seen_round > b->round) {
            b->scratch[n++] = (round_weight){.round = m->seen_round, .weight = b->weights[i]};
            total += b->weights[i];
        }
    }
    TC_ASSERT(n <= b->count && total <= b->weight_total);
    if (total < b->skip_weight)
        return TC_BFT_ROUND_NONE;
    qsort(b->scratch, n, sizeof(*b->scratch), cmp_round_desc);
    uint64_t acc = 0;
    for (uint32_t j = 0; j < n; j++) {
        acc += b->scratch[j].weight;
        if (acc >= b->skip_weight)
            return b->scratch[j].round;
    }
    TC_ASSERT(false); /* total >= skip_weight */
    return TC_BFT_ROUND_NONE;
}

/* Lines 55-56: f + 1 weight seen at higher rounds. */
static bool try_skip(tc_bft *b)
{
    if (!b->skip_dirty)
        return false;
    b->skip_dirty = false;
    uint32_t r = skip_target(b);
    if (r == TC_BFT_ROUND_NONE)
        return false;
    /* Skipping before a restart resumes: never land below the round we last signed in. */
    if (b->resume && b->last.round > r)
        r = b->last.round;
    TC_ASSERT(r > b->round && r <= TC_BFT_ROUND_MAX);
    start_round(b, r, TC_BFT_CAUSE_ROUND_SKIP);
    return true;
}

/* One enabled rule, applied; false when none is. */
static bool progress(tc_bft *b)
{
    if (b->step == TC_BFT_STEP_IDLE || b->step == TC_BFT_STEP_COMMITTED)
        return false;
    if (try_commit(b) || try_skip(b))
        return true;
    if (b->step == TC_BFT_STEP_WAIT)
        return false;
    arm_timers(b);
    if (b->step == TC_BFT_STEP_PROPOSE)
        return try_prevote(b);
    if (try_lock(b))
        return true;
    const round_table *t = current_table(b);
    if (b->step == TC_BFT_STEP_PREVOTE && t != NULL &&
        t->sets[SET_PREVOTE].weight_nil >= b->quorum) {
        do_precommit(b, &nil_hash); /* lines 44-46 */
        return true;
    }
    return false;
}

static void evaluate(tc_bft *b)
{
    for (uint32_t i = 0;; i++) {
        if (TC_NEVER(i >= EVAL_ITERATIONS_MAX)) {
            b->failed = true;
            return;
        }
        if (!progress(b))
            return;
    }
}

static void note_timeout(tc_bft *b, uint32_t cause)
{
    if (b->first_timeout_cause == 0)
        b->first_timeout_cause = cause;
}

/* Lines 57-65, and the end of the block interval. */
static void fire_timeouts(tc_bft *b)
{
    uint64_t now = b->now_ms;
    if (b->step == TC_BFT_STEP_WAIT && now >= b->start_at_ms)
        start_round(b, b->resume ? b->last.round : 0, 0);
    if (b->step == TC_BFT_STEP_PROPOSE && now >= b->propose_at_ms) {
        note_timeout(b, TC_BFT_CAUSE_TIMEOUT_PROPOSE);
        do_prevote(b, &nil_hash, TC_BFT_ROUND_NONE);
    }
    if (b->step == TC_BFT_STEP_PREVOTE && now >= b->prevote_at_ms) {
        note_timeout(b, TC_BFT_CAUSE_TIMEOUT_PREVOTE);
        do_precommit(b, &nil_hash);
    }
    bool in_round = b->step >= TC_BFT_STEP_PROPOSE && b->step <= TC_BFT_STEP_PRECOMMIT;
    if (in_round && now >= b->precommit_at_ms) {
        uint32_t cause = b->first_timeout_cause != 0 ? b->first_timeout_cause
                                                     : (uint32_t)TC_BFT_CAUSE_TIMEOUT_PRECOMMIT;
        b->precommit_at_ms = TIME_NONE;
        if (TC_NEVER(b->round >= TC_BFT_ROUND_MAX))
            return; /* unreachable in practice: the timeouts would take years */
        start_round(b, b->round + 1, cause);
    }
}

/* ---- signed state ---- */

void tc_bft_signed_encode(tc_writer *w, const tc_bft_signed_state *s)
{
    TC_ASSERT(w != NULL && s != NULL);
    tc_put_u8(w, TC_BFT_SIGNED_VERSION);
    tc_put_u64(w, s->height);
    tc_put_u32(w, s->round);
    tc_put_u8(w, s->step);
    TC_PUT_HASH(w, &s->value);
    tc_put_u32(w, s->pol_round);
    tc_put_u32(w, s->locked_round);
    TC_PUT_HASH(w, &s->locked_value);
}

static bool signed_consistent(const tc_bft_signed_state *s)
{
    if (s->step > TC_BFT_SIGNED_PRECOMMIT || s->round > TC_BFT_ROUND_MAX)
        return false;
    /* A proposal's valid round, or the proof-of-lock round a prevote relied on; never on a
     * precommit. */
    if (s->pol_round != TC_BFT_ROUND_NONE &&
        (s->step == TC_BFT_SIGNED_PRECOMMIT || s->pol_round >= s->round))
        return false;
    if (s->locked_round == TC_BFT_ROUND_NONE)
        return is_nil(&s->locked_value);
    /* A lock of round r is taken with the precommit of round r, and only later messages follow. */
    if (s->locked_round == s->round && s->step != TC_BFT_SIGNED_PRECOMMIT)
        return false;
    return s->locked_round <= s->round && !is_nil(&s->locked_value);
}

int tc_bft_signed_decode(tc_bft_signed_state *s, const uint8_t *bytes, size_t n)
{
    TC_ASSERT(s != NULL && (bytes != NULL || n == 0));
    tc_reader r;
    tc_reader_init(&r, bytes, n);
    memset(s, 0, sizeof(*s));
    if (tc_get_u8(&r) != TC_BFT_SIGNED_VERSION)
        tc_reader_fail(&r, TC_ERANGE);
    s->height = tc_get_u64(&r);
    s->round = tc_get_u32(&r);
    s->step = tc_get_u8(&r);
    TC_GET_HASH(&r, &s->value);
    s->pol_round = tc_get_u32(&r);
    s->locked_round = tc_get_u32(&r);
    TC_GET_HASH(&r, &s->locked_value);
    int rc = tc_reader_finish(&r);
    if (rc == 0 && !signed_consistent(s))
        rc = TC_ERANGE;
    if (rc != 0)
        memset(s, 0, sizeof(*s));
    return rc;
}

/* ---- lifecycle ---- */

int tc_bft_new(const tc_profile *p, tc_sig_scheme scheme, const tc_keypair *kp, tc_bft **out)
{
    TC_ASSERT(p != NULL && out != NULL);
    *out = NULL;
    if (tc_profile_check(p) != 0)
        return TC_EINVAL;
    tc_bft *b = tc_calloc(1, sizeof(*b));
    if (b == NULL)
        return TC_ENOMEM;
    b->prof = *p;
    b->scheme = scheme;
    b->has_key = kp != NULL;
    if (kp != NULL)
        b->kp = *kp;
    b->my_index = TC_BFT_INDEX_NONE;
    b->locked_round = b->valid_round = TC_BFT_ROUND_NONE;
    b->start_at_ms = b->propose_at_ms = b->prevote_at_ms = b->precommit_at_ms = TIME_NONE;
    *out = b;
    return 0;
}

static void free_storage(tc_bft *b)
{
    for (uint32_t i = 0; i < TC_BFT_ROUNDS_MAX; i++) {
        free(b->tables[i].sets[0].slots); /* the table's block starts with set 0 */
        for (uint32_t k = 0; k < SET_COUNT; k++)
            b->tables[i].sets[k].slots = NULL;
    }
    b->tables_allocated = 0;
    free(b->members);
    free(b->scratch);
    free(b->commit_sigs);
    free(b->weights);
}

void tc_bft_free(tc_bft *b)
{
    if (b == NULL)
        return;
    free_storage(b);
    free(b->seq);
    memset(b, 0, sizeof(*b));
    free(b);
}

int tc_bft_restore(tc_bft *b, const tc_bft_signed_state *s)
{
    TC_ASSERT(b != NULL && s != NULL);
    if (b->started || !signed_consistent(s))
        return TC_EINVAL;
    b->last = *s;
    b->has_signed = true;
    return 0;
}

/* Grows the per-validator storage to count (all or nothing). The old contents
 * are gone after a growth, which only happens when a new height begins. */
static int ensure_capacity(tc_bft *b, uint32_t count)
{
    if (count <= b->cap)
        return 0;
    member *members = tc_calloc(count, sizeof(*members));
    round_weight *scratch = tc_calloc(count, sizeof(*scratch));
    tc_commit_sig *sigs = tc_calloc(count, sizeof(*sigs));
    uint32_t *weights = tc_calloc(count, sizeof(*weights));
    if (members == NULL || scratch == NULL || sigs == NULL || weights == NULL) {
        free(members);
        free(scratch);
        free(sigs);
        free(weights);
        return TC_ENOMEM;
    }
    free_storage(b); /* and the tables' slots: table_alloc sizes them for count on first use */
    b->members = members;
    b->scratch = scratch;
    b->commit_sigs = sigs;
    b->weights = weights;
    b->cap = count;
    b->started = false; /* the old height's tables are gone */
    b->step = TC_BFT_STEP_IDLE;
    return 0;
}

/* Takes the set's weights, rebuilding the proposer sequence when they changed.
 */
static int load_weights(tc_bft *b, const tc_vset *v)
{
    bool same = b->started && b->count == v->count;
    for (uint32_t i = 0; same && i < v->count; i++)
        same = b->weights[i] == v->members[i].weight;
    if (same)
        return 0;
    uint32_t *w = tc_malloc((size_t)v->count * sizeof(*w));
    if (w == NULL)
        return TC_ENOMEM;
    for (uint32_t i = 0; i < v->count; i++)
        w[i] = v->members[i].weight;
    uint32_t *seq = NULL;
    int rc = seq_build(w, v->count, &seq);
    if (rc == 0) {
        memcpy(b->weights, w, (size_t)v->count * sizeof(*w));
        free(b->seq);
        b->seq = seq;
    }
    free(w);
    return rc;
}

static int check_set(const tc_bft *b, uint64_t height, const tc_vset *v, uint32_t my_index)
{
    if (v->count == 0 || v->weight_total == 0 || (b->began && height <= b->height))
        return TC_EINVAL;
    uint64_t total = 0;
    for (uint32_t i = 0; i < v->count; i++)
        total += v->members[i].weight;
    if (total != v->weight_total)
        return TC_EINVAL;
    if (my_index == TC_BFT_INDEX_NONE)
        return 0;
    if (!b->has_key || my_index >= v->count)
        return TC_EINVAL;
    return memcmp(v->members[my_index].key.b, b->kp.pub.b, TC_PUBKEY_SIZE) == 0 ? 0 : TC_EINVAL;
}

/* ---- events ---- */

static int event_begin(tc_bft *b, uint64_t now_ms)
{
    if (b->failed)
        return TC_EFAILED;
    if (TC_BFT_OUTPUTS_MAX - b->out_count < TC_BFT_EVENT_OUTPUTS_MAX)
        return TC_EFULL;
    if (now_ms > b->now_ms)
        b->now_ms = now_ms;
    b->event_outputs = 0;
    return 0;
}

static void reset_height(tc_bft *b, uint64_t height, const tc_vset *v, uint32_t my_index)
{
    TC_ASSERT(v->count <= b->cap && v->count > 0);
    b->began = b->started = true;
    b->height = height;
    b->count = v->count;
    b->weight_total = v->weight_total;
    b->quorum = tc_vset_quorum(v);
    b->skip_weight = tc_vset_skip_threshold(v);
    b->my_index = my_index;
    b->round = 0;
    b->step = TC_BFT_STEP_WAIT;
    b->locked_round = b->valid_round = TC_BFT_ROUND_NONE;
    b->locked_value = b->valid_value = nil_hash;
    b->start_at_ms = b->propose_at_ms = b->prevote_at_ms = b->precommit_at_ms = TIME_NONE;
    b->first_timeout_cause = 0;
    b->build_pending = b->skip_dirty = b->far_proposal = false;
    for (uint32_t i = 0; i < TC_BFT_ROUNDS_MAX; i++)
        b->tables[i].used = false;
    memset(b->members, 0, (size_t)v->count * sizeof(*b->members));
    /* A restart inside this height: resume where the last signed message was,
     * with its lock (which is also the best valid value we know of). */
    b->resume = b->has_signed && b->last.height == height;
    if (b->resume && b->last.locked_round != TC_BFT_ROUND_NONE) {
        b->locked_round = b->valid_round = b->last.locked_round;
        b->locked_value = b->valid_value = b->last.locked_value;
    }
}

/* Votes buffered for this height, checked against the set now known. */
static void replay_next(tc_bft *b)
{
    for (uint32_t i = 0; i < b->next_count; i++) {
        const tc_vote *v = &b->next_votes[i];
        if (v->height != b->height || v->validator >= b->count) {
            b->stats.votes_dropped++;
            continue;
        }
        (void)accept_vote(b, v);
    }
    b->next_count = 0;
}

int tc_bft_start_height(tc_bft *b, uint64_t now_ms, uint64_t height, const tc_vset *vset,
                        uint32_t my_index, uint64_t commit_time_ms)
{
    TC_ASSERT(b != NULL && vset != NULL);
    int rc = event_begin(b, now_ms);
    if (rc == 0)
        rc = check_set(b, height, vset, my_index);
    if (rc == 0)
        rc = ensure_capacity(b, vset->count);
    if (rc == 0)
        rc = load_weights(b, vset);
    if (rc != 0)
        return rc;
    reset_height(b, height, vset, my_index);
    b->start_at_ms = add_sat(commit_time_ms, b->prof.block_interval_ms);
    replay_next(b);
    if (b->now_ms >= b->start_at_ms)
        start_round(b, b->resume ? b->last.round : 0, 0);
    evaluate(b);
    TC_ASSERT(b->step != TC_BFT_STEP_IDLE);
    return 0;
}

static int check_message(const tc_bft *b, uint64_t height, uint32_t round)
{
    if (!b->started)
        return TC_EINVAL;
    if (height != b->height || round > TC_BFT_ROUND_MAX)
        return TC_ERANGE;
    return 0;
}

static int record_proposal(tc_bft *b, uint32_t round, uint32_t pol_round, const tc_hash *block,
                           bool valid)
{
    uint32_t from = tc_bft_proposer_at(b, b->height, round);
    if (from != TC_BFT_INDEX_NONE)
        note_seen(b, from, round);
    if (beyond_window(b, round)) {
        /* Only the highest far proposal is kept: it is the one a round skip would
         * land on. */
        if (b->far_proposal && round < b->far_proposal_round)
            return TC_ERANGE;
        b->far_proposal = true;
        b->far_proposal_round = round;
        b->far_prop = (proposal){.block = *block, .pol_round = pol_round, .valid = valid};
        return 0;
    }
    round_table *t = table_get(b, round);
    return t == NULL ? TC_ERANGE : proposal_add(t, block, pol_round, valid);
}

int tc_bft_on_proposal(tc_bft *b, uint64_t now_ms, uint64_t height, uint32_t round,
                       uint32_t pol_round, const tc_hash *block, bool valid)
{
    TC_ASSERT(b != NULL && block != NULL);
    int rc = event_begin(b, now_ms);
    if (rc == 0)
        rc = check_message(b, height, round);
    if (rc == 0 && pol_round != TC_BFT_ROUND_NONE && pol_round >= round)
        rc = TC_ERANGE;
    if (rc == 0 && is_nil(block))
        rc = TC_EINVAL;
    if (rc != 0)
        return rc;
    rc = record_proposal(b, round, pol_round, block, valid);
    evaluate(b);
    return rc;
}

int tc_bft_on_block_built(tc_bft *b, uint64_t now_ms, uint64_t height, uint32_t round,
                          const tc_hash *block)
{
    TC_ASSERT(b != NULL && block != NULL);
    int rc = event_begin(b, now_ms);
    if (rc != 0)
        return rc;
    if (!b->build_pending || b->step != TC_BFT_STEP_PROPOSE || height != b->height ||
        round != b->round || is_nil(block))
        return TC_ERANGE;
    b->build_pending = false;
    propose(b, block, TC_BFT_ROUND_NONE);
    evaluate(b);
    return 0;
}

static int buffer_next(tc_bft *b, const tc_vote *v)
{
    if (b->next_count == TC_BFT_NEXT_VOTES_MAX) {
        b->stats.votes_dropped++;
        return TC_EFULL;
    }
    b->next_votes[b->next_count++] = *v;
    b->stats.votes_buffered++;
    return 0;
}

int tc_bft_on_vote(tc_bft *b, uint64_t now_ms, const tc_vote *v)
{
    TC_ASSERT(b != NULL && v != NULL);
    int rc = event_begin(b, now_ms);
    if (rc != 0)
        return rc;
    if (!b->started || (v->type != TC_VOTE_PREVOTE && v->type != TC_VOTE_PRECOMMIT))
        return TC_EINVAL;
    if (v->round > TC_BFT_ROUND_MAX || (v->height != b->height && v->height != b->height + 1)) {
        b->stats.votes_ignored++;
        return TC_ERANGE;
    }
    if (v->height == b->height + 1)
        return buffer_next(b, v);
    if (v->validator >= b->count)
        return TC_EINVAL;
    rc = accept_vote(b, v);
    evaluate(b);
    return rc;
}

int tc_bft_tick(tc_bft *b, uint64_t now_ms)
{
    TC_ASSERT(b != NULL);
    int rc = event_begin(b, now_ms);
    if (rc != 0 || !b->started)
        return rc;
    if (b->step != TC_BFT_STEP_WAIT && table_find(b, b->round) == NULL)
        (void)table_get(b, b->round); /* memory for it was short at start_round: try again */
    fire_timeouts(b);
    evaluate(b);
    return 0;
}

uint64_t tc_bft_next_deadline(const tc_bft *b)
{
    TC_ASSERT(b != NULL);
    if (!b->started || b->failed)
        return TIME_NONE;
    uint64_t d = b->start_at_ms;
    if (b->propose_at_ms < d)
        d = b->propose_at_ms;
    if (b->prevote_at_ms < d)
        d = b->prevote_at_ms;
    if (b->precommit_at_ms < d)
        d = b->precommit_at_ms;
    return d;
}

bool tc_bft_next_output(tc_bft *b, tc_bft_output *out)
{
    TC_ASSERT(b != NULL && out != NULL);
    TC_ASSERT(b->out_count <= TC_BFT_OUTPUTS_MAX && b->out_head < TC_BFT_OUTPUTS_MAX);
    if (b->out_count == 0)
        return false;
    *out = b->out[b->out_head];
    b->out_head = (b->out_head + 1) % TC_BFT_OUTPUTS_MAX;
    b->out_count--;
    return true;
}

int tc_bft_pol_vote(const tc_bft *b, uint32_t validator, tc_vote *out)
{
    TC_ASSERT(b != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    if (!b->started || validator >= b->count)
        return TC_ERANGE;
    if (b->valid_round == TC_BFT_ROUND_NONE)
        return TC_ENOTFOUND;
    const round_table *t = NULL;
    for (uint32_t i = 0; i < TC_BFT_ROUNDS_MAX && t == NULL; i++)
        if (b->tables[i].used && b->tables[i].round == b->valid_round)
            t = &b->tables[i];
    if (t == NULL)
        return TC_ENOTFOUND; /* a lock restored after a restart: its prevotes are not here */
    uint32_t pol = TC_BFT_ROUND_NONE;
    const tc_sig *sig = slot_sig_for(&t->sets[SET_PREVOTE].slots[validator], &b->valid_value, &pol);
    if (sig == NULL)
        return TC_ENOTFOUND;
    out->type = TC_VOTE_PREVOTE;
    out->height = b->height;
    out->round = b->valid_round;
    out->pol_round = pol;
    out->block = b->valid_value;
    out->validator = validator;
    out->sig = *sig;
    return 0;
}

void tc_bft_status_get(const tc_bft *b, tc_bft_status *out)
{
    TC_ASSERT(b != NULL && out != NULL);
    *out = b->stats;
    out->height = b->height;
    out->round = b->round;
    out->step = b->step;
    out->my_index = b->my_index;
    out->proposer = tc_bft_proposer_at(b, b->height, b->round);
    out->locked_round = b->locked_round;
    out->locked_value = b->locked_value;
    out->valid_round = b->valid_round;
    out->valid_value = b->valid_value;
    out->tables_allocated = b->tables_allocated;
    out->has_signed = b->has_signed;
    out->signed_state = b->last;
}
