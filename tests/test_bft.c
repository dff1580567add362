/* test_bft.c — block consensus (bft.h): proposer sequence, every rule of Algorithm 1 as seen
 * from one validator fed hand-made votes, the last-signed state across restarts, weights, and a
 * small in-test network of bft instances with instant delivery. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bft.h"
#include "mnreg.h"
#include "support.h"

#define MAXV     16
#define OUTS_MAX 512
#define T0       100000 /* commit time of the parent in the single-node tests */

static const tc_verifier fast = {.scheme = TC_SIG_FAST};

/* ---- fixture: one bft under test, the other validators played by the test ---- */

typedef struct {
    tc_profile prof;
    tc_vset vset;
    tc_keypair keys[MAXV]; /* by set index */
    tc_bft *b;
    uint32_t me;
    uint64_t now;
    tc_bft_output outs[OUTS_MAX]; /* everything drained since the last clear */
    uint32_t n;
} fx;

static void make_set(fx *f, uint32_t count, const uint32_t *weights)
{
    tc_vset_member m[MAXV];
    tc_keypair kp[MAXV];
    cr_assert(count <= MAXV);
    memset(m, 0, sizeof(m));
    for (uint32_t i = 0; i < count; i++) {
        ts_keypair(&kp[i], 1000 + i);
        m[i].key = kp[i].pub;
        m[i].weight = weights != NULL ? weights[i] : 1;
    }
    cr_assert_eq(tc_vset_from_members(0, m, count, &f->vset), 0);
    /* The set sorts by key: find each index's key pair. */
    for (uint32_t idx = 0; idx < count; idx++)
        for (uint32_t i = 0; i < count; i++)
            if (memcmp(kp[i].pub.b, f->vset.members[idx].key.b, TC_PUBKEY_SIZE) == 0)
                f->keys[idx] = kp[i];
    /* Put the weights in set order, as the tables below describe validators by set index. */
    for (uint32_t idx = 0; idx < count && weights != NULL; idx++)
        f->vset.members[idx].weight = weights[idx];
}

static void drain(fx *f)
{
    tc_bft_output o;
    while (tc_bft_next_output(f->b, &o)) {
        cr_assert(f->n < OUTS_MAX);
        f->outs[f->n++] = o;
    }
}

/* me: set index of the bft's key, or TC_BFT_INDEX_NONE for an observer without a key. */
static void fx_open(fx *f, uint32_t count, const uint32_t *weights, uint32_t me)
{
    memset(f, 0, sizeof(*f));
    cr_assert_eq(tc_crypto_init(), 0);
    tc_profile_get(&f->prof, TC_NET_TESTNET);
    make_set(f, count, weights);
    f->me = me;
    const tc_keypair *kp = me == TC_BFT_INDEX_NONE ? NULL : &f->keys[me];
    cr_assert_eq(tc_bft_new(&f->prof, TC_SIG_FAST, kp, &f->b), 0);
    f->now = T0;
}

static void fx_close(fx *f)
{
    tc_bft_free(f->b);
    tc_vset_deinit(&f->vset);
}

static void fx_start(fx *f, uint64_t height)
{
    cr_assert_eq(tc_bft_start_height(f->b, f->now, height, &f->vset, f->me, T0), 0);
    drain(f);
}

/* Advances time to the start of round 0 (the block interval after T0) and ticks. */
static void fx_begin(fx *f, uint64_t height)
{
    fx_start(f, height);
    f->now = T0 + f->prof.block_interval_ms;
    cr_assert_eq(tc_bft_tick(f->b, f->now), 0);
    drain(f);
}

static void fx_tick(fx *f, uint64_t now)
{
    f->now = now;
    cr_assert_eq(tc_bft_tick(f->b, now), 0);
    drain(f);
}

static tc_hash blk(uint8_t c)
{
    tc_hash h;
    memset(h.b, c, sizeof(h.b));
    return h;
}

static const tc_hash NIL = {{0}};

static bool heq_t(const tc_hash *a, const tc_hash *b)
{
    return memcmp(a->b, b->b, TC_HASH_SIZE) == 0;
}

static tc_vote mkvote(const fx *f, uint8_t type, uint64_t h, uint32_t r, tc_hash block,
                      uint32_t who)
{
    tc_vote v;
    memset(&v, 0, sizeof(v));
    v.type = type;
    v.height = h;
    v.round = r;
    v.pol_round = TC_ROUND_NONE;
    v.block = block;
    v.validator = who;
    tc_vote_sign(&v, TC_SIG_FAST, &f->keys[who]);
    return v;
}

static int fx_vote(fx *f, uint8_t type, uint64_t h, uint32_t r, tc_hash block, uint32_t who)
{
    tc_vote v = mkvote(f, type, h, r, block, who);
    int rc = tc_bft_on_vote(f->b, f->now, &v);
    drain(f);
    return rc;
}

static int fx_proposal(fx *f, uint64_t h, uint32_t r, uint32_t pol, tc_hash block, bool valid)
{
    int rc = tc_bft_on_proposal(f->b, f->now, h, r, pol, &block, valid);
    drain(f);
    return rc;
}

static uint32_t count_kind(const fx *f, tc_bft_output_kind k)
{
    uint32_t c = 0;
    for (uint32_t i = 0; i < f->n; i++)
        c += f->outs[i].kind == k;
    return c;
}

/* The last output of kind k, or NULL. */
static const tc_bft_output *last_kind(const fx *f, tc_bft_output_kind k)
{
    for (uint32_t i = f->n; i > 0; i--)
        if (f->outs[i - 1].kind == k)
            return &f->outs[i - 1];
    return NULL;
}

/* Our votes of (type, round) among the outputs: how many, and the block of the last. */
static uint32_t my_votes(const fx *f, uint8_t type, uint32_t round, tc_hash *block)
{
    uint32_t c = 0;
    for (uint32_t i = 0; i < f->n; i++) {
        const tc_vote *v = &f->outs[i].vote;
        if (f->outs[i].kind == TC_BFT_OUT_VOTE && v->type == type && v->round == round) {
            c++;
            if (block != NULL)
                *block = v->block;
        }
    }
    return c;
}

static void expect_vote(const fx *f, uint8_t type, uint32_t round, tc_hash want)
{
    tc_hash got;
    cr_assert_eq(my_votes(f, type, round, &got), 1, "one %s at round %u",
                 type == TC_VOTE_PREVOTE ? "prevote" : "precommit", round);
    cr_assert(memcmp(got.b, want.b, TC_HASH_SIZE) == 0, "vote at round %u for block %02x", round,
              want.b[0]);
}

static uint32_t proposer(const fx *f, uint64_t h, uint32_t r)
{
    uint32_t p;
    cr_assert_eq(tc_bft_proposer(&f->vset, h, r, &p), 0);
    return p;
}

/* A height at which validator `who` does not propose round 0 and 1 (so no BUILD interferes). */
static uint64_t height_not_proposing(const fx *f, uint32_t who)
{
    for (uint64_t h = 1;; h++)
        if (proposer(f, h, 0) != who && proposer(f, h, 1) != who && proposer(f, h, 2) != who)
            return h;
}

/* Every VOTE and PROPOSE is immediately preceded by the PERSIST of exactly that message. */
static void check_persist_order(const tc_bft_output *outs, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const tc_bft_output *o = &outs[i];
        if (o->kind != TC_BFT_OUT_VOTE && o->kind != TC_BFT_OUT_PROPOSE)
            continue;
        cr_assert(i > 0 && outs[i - 1].kind == TC_BFT_OUT_PERSIST, "output %u has a PERSIST before",
                  i);
        const tc_bft_signed_state *s = &outs[i - 1].signed_state;
        if (o->kind == TC_BFT_OUT_VOTE) {
            cr_assert_eq(s->height, o->vote.height);
            cr_assert_eq(s->round, o->vote.round);
            cr_assert_eq(s->step, o->vote.type);
            cr_assert(memcmp(s->value.b, o->vote.block.b, TC_HASH_SIZE) == 0);
        } else {
            cr_assert_eq(s->step, TC_BFT_SIGNED_PROPOSAL);
            cr_assert_eq(s->round, o->round);
            cr_assert(memcmp(s->value.b, o->block.b, TC_HASH_SIZE) == 0);
        }
    }
}

/* ---- proposer sequence ---- */

/* The definition, step by step over all members: the reference the fast generator must match. */
static uint32_t naive_proposer(const uint32_t *w, uint32_t n, uint64_t pos)
{
    int64_t cur[64] = {0};
    int64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += w[i];
    uint32_t pick = 0;
    for (uint64_t s = 0; s <= pos; s++) {
        pick = 0;
        for (uint32_t i = 0; i < n; i++) {
            cur[i] += w[i];
            if (cur[i] > cur[pick])
                pick = i;
        }
        cur[pick] -= total;
    }
    return pick;
}

static void set_of_weights(tc_vset *v, const uint32_t *w, uint32_t n)
{
    tc_vset_member m[64];
    memset(m, 0, sizeof(m));
    for (uint32_t i = 0; i < n; i++) {
        m[i].key.b[0] = (uint8_t)(i + 1); /* sorted keys: index i stays i */
        m[i].weight = w[i];
    }
    cr_assert_eq(tc_vset_from_members(0, m, n, v), 0);
}

Test(bft_proposer, matches_definition_table)
{
    static const struct {
        uint32_t n;
        uint32_t w[8];
    } cases[] = {
        {1, {5}},
        {4, {1, 1, 1, 1}},
        {4, {100, 1, 1, 1}},
        {5, {10, 10, 1, 100, 1}},
        {3, {3, 5, 7}},
        {6, {1, 10, 100, 1, 10, 100}},
        {7, {2, 2, 3, 3, 3, 9, 1}},
    };
    for (size_t c = 0; c < TC_ARRAY_LEN(cases); c++) {
        tc_vset v;
        set_of_weights(&v, cases[c].w, cases[c].n);
        for (uint64_t pos = 0; pos < 2 * v.weight_total; pos++) {
            uint32_t got;
            cr_assert_eq(tc_bft_proposer(&v, pos, 0, &got), 0);
            uint32_t want = naive_proposer(cases[c].w, cases[c].n, pos % v.weight_total);
            cr_assert_eq(got, want, "case %zu position %lu: proposer %u, definition says %u", c,
                         (unsigned long)pos, got, want);
        }
        tc_vset_deinit(&v);
    }
}

Test(bft_proposer, gold_among_bronzes_is_proportional_and_interleaved)
{
    uint32_t w[100];
    w[0] = 100;
    for (uint32_t i = 1; i < 100; i++)
        w[i] = 1;
    tc_vset v;
    tc_vset_member m[100];
    memset(m, 0, sizeof(m));
    for (uint32_t i = 0; i < 100; i++) {
        m[i].key.b[0] = (uint8_t)(i + 1);
        m[i].weight = w[i];
    }
    cr_assert_eq(tc_vset_from_members(0, m, 100, &v), 0);
    cr_assert_eq(v.weight_total, 199);
    uint32_t times[100] = {0};
    uint32_t run = 0, run_max = 0;
    for (uint64_t h = 0; h < 199; h++) {
        uint32_t p;
        cr_assert_eq(tc_bft_proposer(&v, h, 0, &p), 0);
        times[p]++;
        run = p == 0 ? run + 1 : 0;
        run_max = run > run_max ? run : run_max;
    }
    cr_assert_eq(times[0], 100, "Gold proposes 100 of 199 heights, got %u", times[0]);
    for (uint32_t i = 1; i < 100; i++)
        cr_assert_eq(times[i], 1, "Bronze %u proposes once, got %u", i, times[i]);
    /* 100 of 199 alternate with the Bronzes: never more than two Gold heights in a row. */
    cr_assert_leq(run_max, 2, "longest Gold run %u", run_max);
    tc_vset_deinit(&v);
}

Test(bft_proposer, rotates_with_round_and_matches_cache)
{
    fx f;
    fx_open(&f, 4, NULL, 0);
    fx_start(&f, 7);
    for (uint64_t h = 7; h < 7 + 8; h++) {
        for (uint32_t r = 0; r < 6; r++) {
            uint32_t p = proposer(&f, h, r);
            cr_assert_eq(tc_bft_proposer_at(f.b, h, r), p, "cached proposer (%lu, %u)",
                         (unsigned long)h, r);
            /* A view change hands the proposal to another member (equal weights). */
            cr_assert_neq(proposer(&f, h, r + 1), p, "(%lu, %u) and round %u", (unsigned long)h, r,
                          r + 1);
            cr_assert_eq(proposer(&f, h, r + 1), proposer(&f, h + 1, r));
        }
    }
    fx_close(&f);
}

Test(bft_proposer, empty_set_is_refused)
{
    tc_vset v;
    memset(&v, 0, sizeof(v));
    uint32_t p = 7;
    cr_assert_eq(tc_bft_proposer(&v, 1, 0, &p), TC_EINVAL);
    cr_assert_eq(p, TC_BFT_INDEX_NONE);
}

/* ---- the rules, seen from validator 0 of four equal validators (Q = 3, skip = 2) ---- */

typedef struct {
    fx f;
    uint64_t h;
} four;

static void four_open(four *t)
{
    fx_open(&t->f, 4, NULL, 0);
    t->h = height_not_proposing(&t->f, 0);
    fx_begin(&t->f, t->h);
    cr_assert_eq(t->f.vset.weight_total, 4);
    cr_assert_eq(tc_vset_quorum(&t->f.vset), 3);
}

/* Locks validator 0 on A in round 0: proposal A, prevotes A from 1 and 2. */
static void lock_on_a(four *t)
{
    cr_assert_eq(fx_proposal(&t->f, t->h, 0, TC_BFT_ROUND_NONE, blk(0xa), true), 0);
    expect_vote(&t->f, TC_VOTE_PREVOTE, 0, blk(0xa));
    fx_vote(&t->f, TC_VOTE_PREVOTE, t->h, 0, blk(0xa), 1);
    cr_assert_eq(my_votes(&t->f, TC_VOTE_PRECOMMIT, 0, NULL), 0, "weight 2 < Q: no precommit");
    fx_vote(&t->f, TC_VOTE_PREVOTE, t->h, 0, blk(0xa), 2);
    expect_vote(&t->f, TC_VOTE_PRECOMMIT, 0, blk(0xa));
}

/* Ends the current round r by nil precommits of 1 and 2 and the precommit timeout. */
static void end_round(four *t, uint32_t r)
{
    fx_vote(&t->f, TC_VOTE_PRECOMMIT, t->h, r, NIL, 1);
    fx_vote(&t->f, TC_VOTE_PRECOMMIT, t->h, r, NIL, 2);
    uint64_t d = tc_bft_next_deadline(t->f.b);
    cr_assert_eq(d, t->f.now + t->f.prof.timeout_precommit_ms +
                        (uint64_t)r * t->f.prof.timeout_precommit_delta_ms);
    fx_tick(&t->f, d);
    tc_bft_status st;
    tc_bft_status_get(t->f.b, &st);
    cr_assert_eq(st.round, r + 1, "round %u after the precommit timeout", st.round);
}

Test(bft_rules, happy_path_commits_with_sorted_certificate)
{
    four t;
    four_open(&t);
    lock_on_a(&t);
    fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 0, blk(0xa), 2);
    cr_assert_eq(count_kind(&t.f, TC_BFT_OUT_COMMIT), 0, "weight 2 of precommits");
    fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 0, blk(0xa), 1);
    const tc_bft_output *c = last_kind(&t.f, TC_BFT_OUT_COMMIT);
    cr_assert_not_null(c);
    cr_assert_eq(c->height, t.h);
    cr_assert_eq(c->round, 0);
    cr_assert(c->block_known && c->block_valid);
    cr_assert_eq(c->commit.sig_count, 3);
    for (uint32_t i = 0; i < 3; i++)
        cr_assert_eq(c->commit.sigs[i].validator, i, "entry %u is validator %u", i,
                     c->commit.sigs[i].validator);
    tc_hash a = blk(0xa);
    cr_assert_eq(tc_commit_verify(&c->commit, &t.f.vset, &fast, t.h, &a), 0);
    tc_bft_status st;
    tc_bft_status_get(t.f.b, &st);
    cr_assert_eq(st.step, TC_BFT_STEP_COMMITTED);
    cr_assert_eq(tc_bft_next_deadline(t.f.b), UINT64_MAX, "no timer after the decision");
    check_persist_order(t.f.outs, t.f.n);
    fx_close(&t.f);
}

Test(bft_rules, lock_on_quorum_of_prevotes)
{
    four t;
    four_open(&t);
    lock_on_a(&t);
    const tc_bft_output *l = last_kind(&t.f, TC_BFT_OUT_LOCK);
    cr_assert_not_null(l);
    cr_assert_eq(l->round, 0);
    cr_assert_eq(l->block.b[0], 0xa);
    cr_assert_eq(count_kind(&t.f, TC_BFT_OUT_UNLOCK), 0);
    tc_bft_status st;
    tc_bft_status_get(t.f.b, &st);
    cr_assert_eq(st.locked_round, 0);
    cr_assert_eq(st.locked_value.b[0], 0xa);
    cr_assert_eq(st.valid_round, 0);
    /* The lock travels with the precommit's PERSIST. */
    const tc_bft_output *p = last_kind(&t.f, TC_BFT_OUT_PERSIST);
    cr_assert_eq(p->signed_state.locked_round, 0);
    cr_assert_eq(p->signed_state.locked_value.b[0], 0xa);
    fx_close(&t.f);
}

Test(bft_rules, locked_validator_prevotes_nil_for_other_proposal_without_pol)
{
    four t;
    four_open(&t);
    lock_on_a(&t);
    end_round(&t, 0);
    cr_assert_eq(fx_proposal(&t.f, t.h, 1, TC_BFT_ROUND_NONE, blk(0xb), true), 0);
    expect_vote(&t.f, TC_VOTE_PREVOTE, 1, NIL);
    /* The same block it is locked on is prevoted again. */
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 1, NIL, 1);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 1, NIL, 2);
    expect_vote(&t.f, TC_VOTE_PRECOMMIT, 1, NIL); /* a quorum of nil prevotes */
    end_round(&t, 1);
    cr_assert_eq(fx_proposal(&t.f, t.h, 2, TC_BFT_ROUND_NONE, blk(0xa), true), 0);
    expect_vote(&t.f, TC_VOTE_PREVOTE, 2, blk(0xa));
    fx_close(&t.f);
}

Test(bft_rules, newer_proof_of_lock_unlocks_and_relocks)
{
    four t;
    four_open(&t);
    lock_on_a(&t);
    end_round(&t, 0);
    /* Round 1: B proposed; locked on A we prevote nil, and leave the round before the third
     * prevote for B arrives, so B becomes the valid value without a lock. */
    fx_proposal(&t.f, t.h, 1, TC_BFT_ROUND_NONE, blk(0xb), true);
    expect_vote(&t.f, TC_VOTE_PREVOTE, 1, NIL);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 1, blk(0xb), 1);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 1, blk(0xb), 2);
    fx_tick(&t.f, tc_bft_next_deadline(t.f.b));
    expect_vote(&t.f, TC_VOTE_PRECOMMIT, 1, NIL);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 1, blk(0xb), 3);
    tc_bft_status st;
    tc_bft_status_get(t.f.b, &st);
    cr_assert_eq(st.locked_round, 0, "still locked on A in round 0");
    cr_assert_eq(st.valid_round, 1, "B became the valid value in round 1");
    end_round(&t, 1);
    /* Round 2: B with pol_round 1 >= locked round 0: prevote B, then relock on B. */
    fx_proposal(&t.f, t.h, 2, 1, blk(0xb), true);
    expect_vote(&t.f, TC_VOTE_PREVOTE, 2, blk(0xb));
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 2, blk(0xb), 1);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 2, blk(0xb), 2);
    expect_vote(&t.f, TC_VOTE_PRECOMMIT, 2, blk(0xb));
    const tc_bft_output *u = last_kind(&t.f, TC_BFT_OUT_UNLOCK);
    const tc_bft_output *l = last_kind(&t.f, TC_BFT_OUT_LOCK);
    cr_assert_not_null(u);
    cr_assert_eq(u->round, 0);
    cr_assert_eq(u->block.b[0], 0xa);
    cr_assert_eq(l->round, 2);
    cr_assert_eq(l->block.b[0], 0xb);
    cr_assert(u < l, "UNLOCK before LOCK");
    check_persist_order(t.f.outs, t.f.n);
    fx_close(&t.f);
}

Test(bft_rules, proof_of_lock_older_than_lock_gets_nil)
{
    four t;
    four_open(&t);
    /* Round 0: no proposal arrives; B gets a quorum of prevotes we cannot act on. */
    fx_tick(&t.f, tc_bft_next_deadline(t.f.b));
    expect_vote(&t.f, TC_VOTE_PREVOTE, 0, NIL);
    for (uint32_t v = 1; v <= 3; v++)
        fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xb), v);
    cr_assert_eq(count_kind(&t.f, TC_BFT_OUT_LOCK), 0, "no lock without the proposal");
    fx_tick(&t.f, tc_bft_next_deadline(t.f.b));
    expect_vote(&t.f, TC_VOTE_PRECOMMIT, 0, NIL);
    end_round(&t, 0);
    /* Round 1: lock on A. */
    fx_proposal(&t.f, t.h, 1, TC_BFT_ROUND_NONE, blk(0xa), true);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 1, blk(0xa), 1);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 1, blk(0xa), 2);
    expect_vote(&t.f, TC_VOTE_PRECOMMIT, 1, blk(0xa));
    end_round(&t, 1);
    /* Round 2: B with pol_round 0 < locked round 1: nil. */
    fx_proposal(&t.f, t.h, 2, 0, blk(0xb), true);
    expect_vote(&t.f, TC_VOTE_PREVOTE, 2, NIL);
    fx_close(&t.f);
}

Test(bft_rules, proposal_with_unseen_pol_waits_then_times_out)
{
    four t;
    four_open(&t);
    fx_tick(&t.f, tc_bft_next_deadline(t.f.b));
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, NIL, 1);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, NIL, 2);
    end_round(&t, 0);
    /* pol_round 0 without a quorum for C in round 0: no prevote until the proposal times out. */
    fx_proposal(&t.f, t.h, 1, 0, blk(0xc), true);
    cr_assert_eq(my_votes(&t.f, TC_VOTE_PREVOTE, 1, NULL), 0);
    fx_tick(&t.f, tc_bft_next_deadline(t.f.b));
    expect_vote(&t.f, TC_VOTE_PREVOTE, 1, NIL);
    fx_close(&t.f);
}

/* Ten rounds later, with only TC_BFT_ROUNDS_MAX tables, the prevotes that made the lock (the
 * locked and valid round) are still there to check a proposal's proof-of-lock at once. */
Test(bft_rules, lock_round_table_survives_eviction)
{
    four t;
    four_open(&t);
    lock_on_a(&t);
    end_round(&t, 0);
    uint32_t r = 1;
    for (; r < TC_BFT_ROUNDS_MAX + 3 || proposer(&t.f, t.h, r) == 0; r++) {
        if (my_votes(&t.f, TC_VOTE_PREVOTE, r, NULL) == 0)
            fx_tick(&t.f, tc_bft_next_deadline(t.f.b)); /* timeout_propose */
        for (uint32_t v = 1; v <= 3; v++)
            fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, r, NIL, v);
        expect_vote(&t.f, TC_VOTE_PRECOMMIT, r, NIL);
        end_round(&t, r);
    }
    tc_bft_status st;
    tc_bft_status_get(t.f.b, &st);
    cr_assert_eq(st.locked_round, 0);
    cr_assert_eq(st.round, r);
    cr_assert_eq(fx_proposal(&t.f, t.h, r, 0, blk(0xa), true), 0);
    expect_vote(&t.f, TC_VOTE_PREVOTE, r, blk(0xa));
    /* An old unprotected round is gone: its late votes are refused. */
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 1, NIL, 3), TC_ERANGE);
    fx_close(&t.f);
}

/* Plays rounds until round 0 is older than every table and validator 0 does not propose the
 * current round r (returned): round 0 without a proposal or a prevote seen here, ended by the
 * others' nil precommits, then rounds of nil prevotes and precommits. */
static uint32_t rounds_past_every_table(four *t)
{
    fx_tick(&t->f, tc_bft_next_deadline(t->f.b));
    for (uint32_t v = 1; v <= 3; v++)
        fx_vote(&t->f, TC_VOTE_PRECOMMIT, t->h, 0, NIL, v);
    fx_tick(&t->f, tc_bft_next_deadline(t->f.b));
    uint32_t r = 1;
    for (; r < TC_BFT_ROUNDS_MAX + 3 || proposer(&t->f, t->h, r) == 0; r++) {
        if (my_votes(&t->f, TC_VOTE_PREVOTE, r, NULL) == 0)
            fx_tick(&t->f, tc_bft_next_deadline(t->f.b));
        for (uint32_t v = 1; v <= 3; v++)
            fx_vote(&t->f, TC_VOTE_PREVOTE, t->h, r, NIL, v);
        end_round(t, r);
    }
    return r;
}

/* Rounds past every free table, an unlocked validator (a restarted peer, or one that never saw
 * round 0) is offered a re-proposal of A with proof-of-lock round 0. The prevotes of round 0
 * arrive only now (a locked peer resends them): they must find a table, though round 0 is older
 * than every table, because the current proposal names it; then it prevotes A. */
Test(bft_rules, proof_of_lock_round_named_by_the_proposal_gets_a_table)
{
    four t;
    four_open(&t);
    uint32_t r = rounds_past_every_table(&t);
    /* Round 0 has no table now: a nil vote for it is refused; a prevote for a block is kept
     * aside (a resent copy would meet the seen filter), but proves nothing yet. */
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 0, blk(0xa), 1), TC_ERANGE);
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, NIL, 1), TC_ERANGE);
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xa), 1), 0);
    cr_assert_eq(fx_proposal(&t.f, t.h, r, 0, blk(0xa), true), 0);
    cr_assert_eq(my_votes(&t.f, TC_VOTE_PREVOTE, r, NULL), 0, "weight 1 of proof");
    for (uint32_t v = 2; v <= 3; v++)
        cr_assert_eq(fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xa), v), 0);
    expect_vote(&t.f, TC_VOTE_PREVOTE, r, blk(0xa));
    fx_close(&t.f);
}

/* The whole proof-of-lock arrives before the proposal that names its round, while that round is
 * older than every table: kept aside, it is counted when the proposal comes. */
Test(bft_rules, proof_of_lock_before_its_proposal_counts_when_the_proposal_comes)
{
    four t;
    four_open(&t);
    uint32_t r = rounds_past_every_table(&t);
    for (uint32_t v = 1; v <= 3; v++)
        cr_assert_eq(fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xa), v), 0);
    /* One past prevote per validator: a second one for its round is refused. */
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xb), 1), TC_ERANGE);
    cr_assert_eq(fx_proposal(&t.f, t.h, r, 0, blk(0xa), true), 0);
    expect_vote(&t.f, TC_VOTE_PREVOTE, r, blk(0xa));
    fx_close(&t.f);
}

/* The prevotes that prove the valid value are handed out one validator at a time, with the
 * signatures that arrived, so a node can resend them; none before a valid value exists. */
Test(bft_rules, pol_votes_are_the_valid_rounds_prevotes_for_the_valid_value)
{
    four t;
    four_open(&t);
    tc_vote v;
    cr_assert_eq(tc_bft_pol_vote(t.f.b, 1, &v), TC_ENOTFOUND, "no valid value yet");
    cr_assert_eq(tc_bft_pol_vote(t.f.b, 4, &v), TC_ERANGE);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, NIL, 3);
    lock_on_a(&t);
    tc_vote want = mkvote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xa), 2);
    cr_assert_eq(tc_bft_pol_vote(t.f.b, 2, &v), 0);
    cr_assert_eq(memcmp(&v, &want, sizeof(v)), 0, "validator 2's signed prevote, as it arrived");
    cr_assert_eq(tc_vote_verify(&v, &fast, &t.f.vset.members[2].key), 0);
    cr_assert_eq(tc_bft_pol_vote(t.f.b, 0, &v), 0, "our own prevote is part of the proof");
    cr_assert_eq(tc_bft_pol_vote(t.f.b, 3, &v), TC_ENOTFOUND, "3 prevoted nil");
    cr_assert_eq(v.type, 0, "zeroed when not found");
    fx_close(&t.f);
}

/* The pol_round of our last vote of (type, round) among the outputs. */
static uint32_t my_vote_pol(const fx *f, uint8_t type, uint32_t round)
{
    for (uint32_t i = f->n; i > 0; i--) {
        const tc_bft_output *o = &f->outs[i - 1];
        if (o->kind == TC_BFT_OUT_VOTE && o->vote.type == type && o->vote.round == round)
            return o->vote.pol_round;
    }
    cr_assert_fail("no vote of type %u in round %u", type, round);
    return 0;
}

/* A prevote names the proof-of-lock round it relies on (PROTOCOL 14.5): none for a fresh block
 * or nil, the lock's round for the locked block, the proposal's pol_round for a re-proposal
 * whose proof-of-lock was seen; a precommit none. Each is persisted with the vote. */
Test(bft_rules, prevotes_carry_their_proof_of_lock_round)
{
    four t;
    four_open(&t);
    lock_on_a(&t);
    cr_assert_eq(my_vote_pol(&t.f, TC_VOTE_PREVOTE, 0), TC_ROUND_NONE, "a fresh block: none");
    cr_assert_eq(my_vote_pol(&t.f, TC_VOTE_PRECOMMIT, 0), TC_ROUND_NONE, "a precommit: none");
    end_round(&t, 0);
    /* Round 1: A again, without a proof-of-lock: the lock of round 0 is what the prevote uses. */
    fx_proposal(&t.f, t.h, 1, TC_BFT_ROUND_NONE, blk(0xa), true);
    expect_vote(&t.f, TC_VOTE_PREVOTE, 1, blk(0xa));
    cr_assert_eq(my_vote_pol(&t.f, TC_VOTE_PREVOTE, 1), 0, "the locked block: the lock's round");
    cr_assert_eq(last_kind(&t.f, TC_BFT_OUT_PERSIST)->signed_state.pol_round, 0,
                 "persisted with the prevote");
    /* B gets a quorum in round 1 (we stay on A), so B's proof-of-lock is round 1. */
    for (uint32_t v = 1; v <= 3; v++)
        fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 1, blk(0xb), v);
    fx_tick(&t.f, tc_bft_next_deadline(t.f.b));
    end_round(&t, 1);
    /* Round 2: B with pol_round 1 >= the lock's round 0: prevote B relying on round 1. */
    fx_proposal(&t.f, t.h, 2, 1, blk(0xb), true);
    expect_vote(&t.f, TC_VOTE_PREVOTE, 2, blk(0xb));
    cr_assert_eq(my_vote_pol(&t.f, TC_VOTE_PREVOTE, 2), 1, "the proposal's proof-of-lock");
    tc_vote pc = mkvote(&t.f, TC_VOTE_PRECOMMIT, t.h, 0, blk(0xa), 0);
    tc_vote pv = last_kind(&t.f, TC_BFT_OUT_VOTE)->vote;
    cr_assert_not(tc_votes_amnesia(&pc, &pv), "our own votes are never amnesia evidence");
    fx_close(&t.f);
}

Test(bft_rules, nil_prevote_and_timeout_prevote_carry_no_round)
{
    four t;
    four_open(&t);
    lock_on_a(&t);
    end_round(&t, 0);
    fx_proposal(&t.f, t.h, 1, TC_BFT_ROUND_NONE, blk(0xb), true); /* locked on A: nil */
    expect_vote(&t.f, TC_VOTE_PREVOTE, 1, NIL);
    cr_assert_eq(my_vote_pol(&t.f, TC_VOTE_PREVOTE, 1), TC_ROUND_NONE);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 1, NIL, 1);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 1, NIL, 2);
    end_round(&t, 1);
    fx_tick(&t.f, tc_bft_next_deadline(t.f.b)); /* no proposal in round 2 */
    expect_vote(&t.f, TC_VOTE_PREVOTE, 2, NIL);
    cr_assert_eq(my_vote_pol(&t.f, TC_VOTE_PREVOTE, 2), TC_ROUND_NONE);
    fx_close(&t.f);
}

/* A prevote's pol_round is signed: the proof-of-lock resends it as it arrived. */
Test(bft_rules, pol_votes_keep_the_prevotes_pol_round)
{
    four t;
    four_open(&t);
    fx_proposal(&t.f, t.h, 0, TC_BFT_ROUND_NONE, blk(0xa), true);
    tc_vote v1 = mkvote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xa), 1);
    cr_assert_eq(tc_bft_on_vote(t.f.b, t.f.now, &v1), 0);
    drain(&t.f);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, NIL, 3); /* no lock: only two prevotes for A */
    fx_tick(&t.f, tc_bft_next_deadline(t.f.b));
    expect_vote(&t.f, TC_VOTE_PRECOMMIT, 0, NIL);
    end_round(&t, 0);
    fx_proposal(&t.f, t.h, 1, TC_BFT_ROUND_NONE, blk(0xa), true);
    tc_vote v2 = mkvote(&t.f, TC_VOTE_PREVOTE, t.h, 1, blk(0xa), 2);
    v2.pol_round = 0;
    tc_vote_sign(&v2, TC_SIG_FAST, &t.f.keys[2]);
    cr_assert_eq(tc_bft_on_vote(t.f.b, t.f.now, &v2), 0);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 1, blk(0xa), 1);
    drain(&t.f);
    tc_vote got;
    cr_assert_eq(tc_bft_pol_vote(t.f.b, 2, &got), 0);
    cr_assert_eq(got.pol_round, 0, "validator 2's pol_round as signed");
    cr_assert_eq(memcmp(&got, &v2, sizeof(got)), 0);
    cr_assert_eq(tc_vote_verify(&got, &fast, &t.f.vset.members[2].key), 0);
    fx_close(&t.f);
}

Test(bft_rules, invalid_proposal_gets_nil_and_no_lock)
{
    four t;
    four_open(&t);
    fx_proposal(&t.f, t.h, 0, TC_BFT_ROUND_NONE, blk(0xe), false);
    expect_vote(&t.f, TC_VOTE_PREVOTE, 0, NIL);
    for (uint32_t v = 1; v <= 3; v++)
        fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xe), v);
    cr_assert_eq(count_kind(&t.f, TC_BFT_OUT_LOCK), 0, "an invalid block is never locked");
    cr_assert_eq(my_votes(&t.f, TC_VOTE_PRECOMMIT, 0, NULL), 0);
    fx_close(&t.f);
}

/* Timeouts at their exact deadlines, per round: propose 1000 + 500r, prevote and precommit
 * 500 + 250r; one millisecond early does nothing. */
Test(bft_rules, timeouts_fire_exactly_and_grow_per_round)
{
    four t;
    four_open(&t);
    const tc_profile *p = &t.f.prof;
    for (uint32_t r = 0; r < 4; r++) {
        uint64_t want = t.f.now + p->timeout_propose_ms + (uint64_t)r * p->timeout_propose_delta_ms;
        cr_assert_eq(tc_bft_next_deadline(t.f.b), want, "propose deadline of round %u", r);
        fx_tick(&t.f, want - 1);
        cr_assert_eq(my_votes(&t.f, TC_VOTE_PREVOTE, r, NULL), 0, "early by 1 ms");
        fx_tick(&t.f, want);
        expect_vote(&t.f, TC_VOTE_PREVOTE, r, NIL);
        /* Q prevotes of any kind (nil, and A, and ours) arm the prevote timer. */
        fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, r, blk(0xa), 1);
        fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, r, blk(0xb), 2);
        want = t.f.now + p->timeout_prevote_ms + (uint64_t)r * p->timeout_prevote_delta_ms;
        cr_assert_eq(tc_bft_next_deadline(t.f.b), want, "prevote deadline of round %u", r);
        fx_tick(&t.f, want - 1);
        cr_assert_eq(my_votes(&t.f, TC_VOTE_PRECOMMIT, r, NULL), 0);
        fx_tick(&t.f, want);
        expect_vote(&t.f, TC_VOTE_PRECOMMIT, r, NIL);
        fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, r, blk(0xa), 1);
        fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, r, NIL, 2);
        want = t.f.now + p->timeout_precommit_ms + (uint64_t)r * p->timeout_precommit_delta_ms;
        cr_assert_eq(tc_bft_next_deadline(t.f.b), want, "precommit deadline of round %u", r);
        fx_tick(&t.f, want - 1);
        cr_assert_eq(count_kind(&t.f, TC_BFT_OUT_VIEW_CHANGE), r);
        fx_tick(&t.f, want);
        const tc_bft_output *vc = last_kind(&t.f, TC_BFT_OUT_VIEW_CHANGE);
        cr_assert_eq(count_kind(&t.f, TC_BFT_OUT_VIEW_CHANGE), r + 1);
        cr_assert_eq(vc->round, r);
        cr_assert_eq(vc->round_to, r + 1);
        cr_assert_eq(vc->height, t.h);
        if (r == 3)
            break; /* round 4's proposer may be us */
    }
    fx_close(&t.f);
}

/* The cause of a view change is the first timeout that fired in the round left. */
Test(bft_rules, view_change_cause_table)
{
    static const struct {
        const char *name;
        bool proposal; /* a valid proposal arrives */
        bool split;    /* prevotes split: A, nil (prevote timer) instead of a quorum for A */
        uint32_t cause;
    } cases[] = {
        {"silent proposer", false, false, TC_BFT_CAUSE_TIMEOUT_PROPOSE},
        {"split prevotes", true, true, TC_BFT_CAUSE_TIMEOUT_PREVOTE},
        {"split precommits", true, false, TC_BFT_CAUSE_TIMEOUT_PRECOMMIT},
    };
    for (size_t c = 0; c < TC_ARRAY_LEN(cases); c++) {
        four t;
        four_open(&t);
        if (cases[c].proposal)
            fx_proposal(&t.f, t.h, 0, TC_BFT_ROUND_NONE, blk(0xa), true);
        else
            fx_tick(&t.f, tc_bft_next_deadline(t.f.b));
        fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, cases[c].split ? NIL : blk(0xa), 1);
        fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xa), 2);
        if (my_votes(&t.f, TC_VOTE_PRECOMMIT, 0, NULL) == 0)
            fx_tick(&t.f, tc_bft_next_deadline(t.f.b));
        cr_assert_eq(my_votes(&t.f, TC_VOTE_PRECOMMIT, 0, NULL), 1, "%s", cases[c].name);
        end_round(&t, 0);
        const tc_bft_output *vc = last_kind(&t.f, TC_BFT_OUT_VIEW_CHANGE);
        cr_assert_eq(vc->cause, cases[c].cause, "%s: cause %u", cases[c].name, vc->cause);
        /* The next round's proposer is another member. */
        cr_assert_neq(proposer(&t.f, t.h, 1), proposer(&t.f, t.h, 0));
        fx_close(&t.f);
    }
}

/* f + 1 weight seen at a higher round makes a node jump there; f does not. */
Test(bft_rules, round_skip_needs_skip_weight_table)
{
    static const struct {
        const char *name;
        uint32_t w[4];
        uint32_t voters[3];
        uint32_t voter_count;
        bool skip;
    } cases[] = {
        {"one of four equal (f)", {1, 1, 1, 1}, {1}, 1, false},
        {"two of four equal (f+1)", {1, 1, 1, 1}, {1, 2}, 2, true},
        {"two bronzes against a gold", {1, 1, 1, 100}, {1, 2}, 2, false},
        {"the gold alone", {1, 1, 1, 100}, {3}, 1, true},
    };
    for (size_t c = 0; c < TC_ARRAY_LEN(cases); c++) {
        fx f;
        fx_open(&f, 4, cases[c].w, 0);
        uint64_t h = height_not_proposing(&f, 0);
        fx_begin(&f, h);
        for (uint32_t i = 0; i < cases[c].voter_count; i++)
            fx_vote(&f, TC_VOTE_PRECOMMIT, h, 5, NIL, cases[c].voters[i]);
        tc_bft_status st;
        tc_bft_status_get(f.b, &st);
        cr_assert_eq(st.round, cases[c].skip ? 5u : 0u, "%s: round %u", cases[c].name, st.round);
        const tc_bft_output *vc = last_kind(&f, TC_BFT_OUT_VIEW_CHANGE);
        if (cases[c].skip) {
            cr_assert_not_null(vc);
            cr_assert_eq(vc->cause, TC_BFT_CAUSE_ROUND_SKIP);
            cr_assert_eq(vc->round_to, 5);
        } else {
            cr_assert_null(vc, "%s: no view change", cases[c].name);
        }
        fx_close(&f);
    }
}

/* After a skip the votes of the far round count: they were kept while the round was ahead. */
Test(bft_rules, far_round_votes_count_after_skip)
{
    four t;
    four_open(&t);
    fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 9, blk(0xa), 1);
    fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 9, blk(0xa), 2);
    cr_assert_eq(count_kind(&t.f, TC_BFT_OUT_COMMIT), 0);
    fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 9, blk(0xa), 3);
    const tc_bft_output *c = last_kind(&t.f, TC_BFT_OUT_COMMIT);
    cr_assert_not_null(c, "precommits of round 9 from 1, 2, 3 commit");
    cr_assert_eq(c->round, 9);
    cr_assert(!c->block_known, "the block was never proposed to us");
    cr_assert_eq(c->commit.sig_count, 3);
    fx_close(&t.f);
}

Test(bft_rules, quorum_of_precommits_in_older_round_commits)
{
    four t;
    four_open(&t);
    fx_tick(&t.f, tc_bft_next_deadline(t.f.b));
    expect_vote(&t.f, TC_VOTE_PREVOTE, 0, NIL);
    /* We fall behind the others, who decided A in round 0; two of them at round 1 pull us there
     * (skip weight 2), and then their round-0 precommits arrive late, in the order 3, 1, 2. */
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 1, NIL, 1);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 1, NIL, 2);
    tc_bft_status st;
    tc_bft_status_get(t.f.b, &st);
    cr_assert_eq(st.round, 1);
    fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 0, blk(0xa), 3);
    fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 0, blk(0xa), 1);
    cr_assert_eq(count_kind(&t.f, TC_BFT_OUT_COMMIT), 0, "weight 2 < Q");
    fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 0, blk(0xa), 2);
    const tc_bft_output *c = last_kind(&t.f, TC_BFT_OUT_COMMIT);
    cr_assert_not_null(c);
    cr_assert_eq(c->round, 0, "decided in round 0 while at round 1");
    cr_assert_eq(c->commit.round, 0);
    cr_assert_eq(c->commit.sig_count, 3);
    for (uint32_t i = 0; i < 3; i++)
        cr_assert_eq(c->commit.sigs[i].validator, i + 1, "sorted by validator");
    tc_hash a = blk(0xa);
    cr_assert_eq(tc_commit_verify(&c->commit, &t.f.vset, &fast, t.h, &a), 0);
    fx_close(&t.f);
}

Test(bft_rules, equivocation_reported_once_and_each_vote_counted_for_its_value)
{
    four t;
    four_open(&t);
    fx_proposal(&t.f, t.h, 0, TC_BFT_ROUND_NONE, blk(0xb), true);
    expect_vote(&t.f, TC_VOTE_PREVOTE, 0, blk(0xb));
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xa), 1), 0);
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xa), 1), TC_EEXIST, "duplicate");
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xb), 1), 0);
    const tc_bft_output *e = last_kind(&t.f, TC_BFT_OUT_EQUIVOCATION);
    cr_assert_not_null(e);
    cr_assert_eq(e->vote.validator, 1);
    cr_assert_eq(e->vote.block.b[0], 0xa, "the vote counted first");
    cr_assert_eq(e->vote2.block.b[0], 0xb);
    tc_evidence ev;
    tc_evidence_from_votes(&ev, &e->vote, &e->vote2);
    cr_assert_eq(tc_evidence_verify(&ev, &t.f.vset, &fast), 0, "the pair is valid evidence");
    /* A third value is not reported again. */
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xc), 1), TC_EEXIST);
    cr_assert_eq(count_kind(&t.f, TC_BFT_OUT_EQUIVOCATION), 1);
    /* 1 signed B too, so B has ours, 1's second vote and 2's: weight 3 = Q. (Its third value
     * C counts for nothing.) */
    cr_assert_eq(my_votes(&t.f, TC_VOTE_PRECOMMIT, 0, NULL), 0, "ours and 1's: 2 < Q");
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xb), 2);
    expect_vote(&t.f, TC_VOTE_PRECOMMIT, 0, blk(0xb));
    tc_bft_status st;
    tc_bft_status_get(t.f.b, &st);
    cr_assert_eq(st.equivocations, 1);
    fx_close(&t.f);
}

/* A twin's precommit seen second still counts for its block, and goes into the certificate
 * with the signature it was given for that block: without it, a node that saw the twin's
 * other precommit first could never count the quorum the others committed with. */
Test(bft_rules, second_precommit_of_an_equivocator_completes_a_commit)
{
    four t;
    four_open(&t);
    fx_proposal(&t.f, t.h, 0, TC_BFT_ROUND_NONE, blk(0xa), true);
    expect_vote(&t.f, TC_VOTE_PREVOTE, 0, blk(0xa));
    for (uint32_t v = 1; v <= 3; v++)
        fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xa), v);
    expect_vote(&t.f, TC_VOTE_PRECOMMIT, 0, blk(0xa));
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 0, blk(0xb), 1), 0, "1 first signs B");
    fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 0, blk(0xa), 2);
    cr_assert_null(last_kind(&t.f, TC_BFT_OUT_COMMIT), "ours and 2's: 2 < Q");
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 0, blk(0xa), 1), 0, "then A");
    const tc_bft_output *c = last_kind(&t.f, TC_BFT_OUT_COMMIT);
    cr_assert_not_null(c, "1's second precommit completes the quorum");
    cr_assert_eq(c->commit.sig_count, 3);
    tc_hash a = blk(0xa);
    cr_assert_eq(tc_commit_verify(&c->commit, &t.f.vset, &fast, t.h, &a), 0,
                 "the certificate carries 1's signature for A");
    cr_assert_eq(count_kind(&t.f, TC_BFT_OUT_EQUIVOCATION), 1);
    fx_close(&t.f);
}

Test(bft_rules, far_round_equivocation_reported)
{
    four t;
    four_open(&t);
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 20, blk(0xa), 2), 0);
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 20, blk(0xb), 2), 0);
    cr_assert_eq(count_kind(&t.f, TC_BFT_OUT_EQUIVOCATION), 1);
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 19, blk(0xb), 2), TC_ERANGE,
                 "below the validator's far round");
    fx_close(&t.f);
}

/* ---- the last-signed state ---- */

static void restart(fx *f, const tc_bft_signed_state *s)
{
    tc_bft_free(f->b);
    cr_assert_eq(tc_bft_new(&f->prof, TC_SIG_FAST, &f->keys[f->me], &f->b), 0);
    cr_assert_eq(tc_bft_restore(f->b, s), 0);
    f->n = 0;
}

Test(bft_signed, restart_never_signs_a_conflicting_vote)
{
    four t;
    four_open(&t);
    fx_proposal(&t.f, t.h, 0, TC_BFT_ROUND_NONE, blk(0xa), true);
    expect_vote(&t.f, TC_VOTE_PREVOTE, 0, blk(0xa));
    tc_vote before = last_kind(&t.f, TC_BFT_OUT_VOTE)->vote;
    tc_bft_signed_state s = last_kind(&t.f, TC_BFT_OUT_PERSIST)->signed_state;
    cr_assert_eq(s.step, TC_BFT_SIGNED_PREVOTE);

    uint8_t buf[TC_BFT_SIGNED_SIZE];
    tc_writer w;
    tc_writer_init(&w, buf, sizeof(buf));
    tc_bft_signed_encode(&w, &s);
    size_t len;
    cr_assert_eq(tc_writer_finish(&w, &len), 0);
    cr_assert_eq(len, TC_BFT_SIGNED_SIZE);
    tc_bft_signed_state back;
    cr_assert_eq(tc_bft_signed_decode(&back, buf, len), 0);
    cr_assert(memcmp(&back, &s, sizeof(s)) == 0 ||
              (back.height == s.height && back.round == s.round && back.step == s.step));

    t.f.now = T0;
    restart(&t.f, &back);
    fx_begin(&t.f, t.h);
    /* The same prevote is sent again, byte for byte, after its PERSIST. */
    expect_vote(&t.f, TC_VOTE_PREVOTE, 0, blk(0xa));
    cr_assert(memcmp(&last_kind(&t.f, TC_BFT_OUT_VOTE)->vote.sig, &before.sig, TC_SIG_SIZE) == 0);
    check_persist_order(t.f.outs, t.f.n);
    /* A conflicting proposal in the same round gets no prevote. */
    fx_proposal(&t.f, t.h, 0, TC_BFT_ROUND_NONE, blk(0xb), true);
    cr_assert_eq(my_votes(&t.f, TC_VOTE_PREVOTE, 0, NULL), 1, "only the re-sent prevote for A");
    expect_vote(&t.f, TC_VOTE_PREVOTE, 0, blk(0xa));
    fx_close(&t.f);
}

/* A prevote's pol_round is part of the signed state: after a restart the identical prevote
 * (same pol_round, same signature) is sent again, never one relying on another round. */
Test(bft_signed, restart_resends_a_prevote_with_its_pol_round)
{
    four t;
    four_open(&t);
    lock_on_a(&t);
    end_round(&t, 0);
    fx_proposal(&t.f, t.h, 1, TC_BFT_ROUND_NONE, blk(0xa), true);
    tc_vote before = last_kind(&t.f, TC_BFT_OUT_VOTE)->vote;
    cr_assert_eq(before.pol_round, 0, "the locked block, relying on the lock of round 0");
    tc_bft_signed_state s = last_kind(&t.f, TC_BFT_OUT_PERSIST)->signed_state;
    cr_assert_eq(s.step, TC_BFT_SIGNED_PREVOTE);
    cr_assert_eq(s.pol_round, 0, "persisted with its pol_round");
    t.f.now = T0;
    restart(&t.f, &s);
    fx_begin(&t.f, t.h);
    tc_vote again = last_kind(&t.f, TC_BFT_OUT_VOTE)->vote;
    cr_assert_eq(memcmp(&again, &before, sizeof(again)), 0, "the identical prevote, resent");
    check_persist_order(t.f.outs, t.f.n);
    fx_close(&t.f);
}

Test(bft_signed, restart_keeps_the_lock)
{
    four t;
    four_open(&t);
    lock_on_a(&t);
    tc_bft_signed_state s = last_kind(&t.f, TC_BFT_OUT_PERSIST)->signed_state;
    cr_assert_eq(s.step, TC_BFT_SIGNED_PRECOMMIT);
    cr_assert_eq(s.locked_round, 0);
    t.f.now = T0;
    restart(&t.f, &s);
    fx_begin(&t.f, t.h);
    expect_vote(&t.f, TC_VOTE_PRECOMMIT, 0, blk(0xa));
    cr_assert_eq(my_votes(&t.f, TC_VOTE_PREVOTE, 0, NULL), 0, "nothing below the precommit");
    end_round(&t, 0);
    fx_proposal(&t.f, t.h, 1, TC_BFT_ROUND_NONE, blk(0xb), true);
    expect_vote(&t.f, TC_VOTE_PREVOTE, 1, NIL);
    tc_bft_status st;
    tc_bft_status_get(t.f.b, &st);
    cr_assert_eq(st.locked_round, 0);
    cr_assert_eq(st.locked_value.b[0], 0xa);
    fx_close(&t.f);
}

/* A lock restored after a restart is the valid value too, but its prevotes were not persisted:
 * there is no proof to hand out, and asking for it is no error. */
Test(bft_signed, a_restored_lock_has_no_pol_votes)
{
    fx f;
    fx_open(&f, 4, NULL, 0);
    tc_bft_signed_state s = {.height = 5,
                             .round = 1,
                             .step = TC_BFT_SIGNED_PRECOMMIT,
                             .value = blk(0xa),
                             .pol_round = TC_BFT_ROUND_NONE,
                             .locked_round = 0,
                             .locked_value = blk(0xa)};
    cr_assert_eq(tc_bft_restore(f.b, &s), 0);
    fx_start(&f, 5);
    tc_bft_status st;
    tc_bft_status_get(f.b, &st);
    cr_assert_eq(st.valid_round, 0);
    tc_vote v;
    for (uint32_t i = 0; i < 4; i++)
        cr_assert_eq(tc_bft_pol_vote(f.b, i, &v), TC_ENOTFOUND, "validator %u", i);
    fx_close(&f);
}

Test(bft_signed, restored_state_from_a_later_round_refuses_lower_rounds)
{
    four t;
    four_open(&t);
    tc_bft_signed_state s = {.height = t.h,
                             .round = 3,
                             .step = TC_BFT_SIGNED_PREVOTE,
                             .value = blk(0xd),
                             .pol_round = TC_BFT_ROUND_NONE,
                             .locked_round = TC_BFT_ROUND_NONE};
    restart(&t.f, &s);
    t.f.now = T0;
    fx_begin(&t.f, t.h);
    tc_bft_status st;
    tc_bft_status_get(t.f.b, &st);
    cr_assert_eq(st.round, 3, "resumes at the round it last signed in");
    expect_vote(&t.f, TC_VOTE_PREVOTE, 3, blk(0xd));
    cr_assert_eq(my_votes(&t.f, TC_VOTE_PREVOTE, 0, NULL), 0);
    fx_close(&t.f);
}

/* The store says we signed at a later height (the chain lost blocks the votes outlived): at
 * this height nothing may be signed at all. */
Test(bft_signed, state_from_a_later_height_refuses_everything)
{
    four t;
    four_open(&t);
    tc_bft_signed_state s = {.height = t.h + 5,
                             .round = 0,
                             .step = TC_BFT_SIGNED_PREVOTE,
                             .value = blk(0xd),
                             .pol_round = TC_BFT_ROUND_NONE,
                             .locked_round = TC_BFT_ROUND_NONE};
    restart(&t.f, &s);
    t.f.now = T0;
    fx_begin(&t.f, t.h);
    fx_proposal(&t.f, t.h, 0, TC_BFT_ROUND_NONE, blk(0xa), true);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xa), 1);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xa), 2);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xa), 3);
    cr_assert_eq(count_kind(&t.f, TC_BFT_OUT_VOTE), 0, "no vote below the last signed one");
    cr_assert_eq(count_kind(&t.f, TC_BFT_OUT_PERSIST), 0);
    tc_bft_status st;
    tc_bft_status_get(t.f.b, &st);
    cr_assert_eq(st.signs_refused, 2, "prevote and precommit refused, got %lu",
                 (unsigned long)st.signs_refused);
    cr_assert_eq(st.step, TC_BFT_STEP_PRECOMMIT, "the state machine still follows the round");
    fx_close(&t.f);
}

/* A restart of a proposer: the same proposal again, never a freshly built one. */
Test(bft_signed, restarted_proposer_reproposes_the_same_block)
{
    fx f;
    fx_open(&f, 4, NULL, 0);
    uint64_t h = 1;
    while (proposer(&f, h, 0) != 0)
        h++;
    tc_bft_signed_state s = {.height = h,
                             .round = 0,
                             .step = TC_BFT_SIGNED_PROPOSAL,
                             .value = blk(0x5),
                             .pol_round = TC_BFT_ROUND_NONE,
                             .locked_round = TC_BFT_ROUND_NONE};
    cr_assert_eq(tc_bft_restore(f.b, &s), 0);
    fx_begin(&f, h);
    cr_assert_eq(count_kind(&f, TC_BFT_OUT_BUILD), 0, "no new block at a signed (h, r)");
    const tc_bft_output *p = last_kind(&f, TC_BFT_OUT_PROPOSE);
    cr_assert_not_null(p);
    cr_assert_eq(p->block.b[0], 0x5);
    check_persist_order(f.outs, f.n);
    tc_hash other = blk(0x6);
    cr_assert_eq(tc_bft_on_block_built(f.b, f.now, h, 0, &other), TC_ERANGE);
    cr_assert_eq(tc_bft_restore(f.b, &s), TC_EINVAL, "restore only before the first height");
    fx_close(&f);
}

/* Others pull a restarted node up while it waits for the block interval: it lands on the round
 * it last signed in, never below it. */
Test(bft_signed, skip_during_resume_lands_on_signed_round)
{
    four t;
    four_open(&t);
    tc_bft_signed_state s = {.height = t.h,
                             .round = 2,
                             .step = TC_BFT_SIGNED_PRECOMMIT,
                             .value = NIL,
                             .pol_round = TC_BFT_ROUND_NONE,
                             .locked_round = TC_BFT_ROUND_NONE};
    restart(&t.f, &s);
    t.f.now = T0;
    fx_start(&t.f, t.h);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 1, NIL, 1);
    fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 1, NIL, 2);
    tc_bft_status st;
    tc_bft_status_get(t.f.b, &st);
    cr_assert_eq(st.round, 2, "round %u", st.round);
    expect_vote(&t.f, TC_VOTE_PRECOMMIT, 2, NIL);
    cr_assert_eq(st.signs_refused, 0);
    fx_close(&t.f);
}

Test(bft_signed, decode_rejects_bad_records_table)
{
    tc_bft_signed_state ok = {.height = 9,
                              .round = 2,
                              .step = TC_BFT_SIGNED_PROPOSAL,
                              .value = blk(1),
                              .pol_round = 1,
                              .locked_round = 1,
                              .locked_value = blk(2)};
    static const struct {
        const char *name;
        size_t offset; /* byte to set */
        uint8_t value;
        int want;
    } cases[] = {
        {"version", 0, 2, TC_ERANGE},
        {"step", 13, 3, TC_ERANGE},
        {"pol_round not below round", 46, 2, TC_ERANGE},
        {"lock above round", 50, 7, TC_ERANGE},
        {"lock of the round before its precommit", 50, 2, TC_ERANGE},
        {"a prevote's pol_round (below its round)", 13, TC_BFT_SIGNED_PREVOTE, 0},
        {"pol_round on a precommit", 13, TC_BFT_SIGNED_PRECOMMIT, TC_ERANGE},
    };
    uint8_t buf[TC_BFT_SIGNED_SIZE + 1];
    tc_writer w;
    tc_writer_init(&w, buf, sizeof(buf));
    tc_bft_signed_encode(&w, &ok);
    size_t len;
    cr_assert_eq(tc_writer_finish(&w, &len), 0);
    tc_bft_signed_state s;
    cr_assert_eq(tc_bft_signed_decode(&s, buf, len), 0);
    cr_assert_eq(s.pol_round, 1);
    cr_assert_eq(tc_bft_signed_decode(&s, buf, len - 1), TC_ESHORT);
    buf[len] = 0;
    cr_assert_eq(tc_bft_signed_decode(&s, buf, len + 1), TC_ETRAILING);
    for (size_t c = 0; c < TC_ARRAY_LEN(cases); c++) {
        uint8_t bad[TC_BFT_SIGNED_SIZE];
        memcpy(bad, buf, len);
        bad[cases[c].offset] = cases[c].value;
        cr_assert_eq(tc_bft_signed_decode(&s, bad, len), cases[c].want, "%s", cases[c].name);
        cr_assert_eq(s.height, cases[c].want == 0 ? 9 : 0, "%s: output zeroed on error",
                     cases[c].name);
    }
}

/* ---- weights, observers, buffers, bounds ---- */

/* One Gold (100) and three Bronzes: W = 103, Q = 69, skip = 35. */
Test(bft_weights, gold_and_bronzes_quorum)
{
    uint32_t w[4] = {1, 1, 1, 100};
    fx f;
    fx_open(&f, 4, w, 0);
    cr_assert_eq(f.vset.weight_total, 103);
    cr_assert_eq(tc_vset_quorum(&f.vset), 69);
    cr_assert_eq(tc_vset_skip_threshold(&f.vset), 35);
    uint64_t h = height_not_proposing(&f, 0);
    fx_begin(&f, h);
    fx_proposal(&f, h, 0, TC_BFT_ROUND_NONE, blk(0xa), true);
    fx_vote(&f, TC_VOTE_PREVOTE, h, 0, blk(0xa), 1);
    fx_vote(&f, TC_VOTE_PREVOTE, h, 0, blk(0xa), 2);
    cr_assert_eq(my_votes(&f, TC_VOTE_PRECOMMIT, 0, NULL), 0, "three bronzes: weight 3 < 69");
    fx_vote(&f, TC_VOTE_PREVOTE, h, 0, blk(0xa), 3);
    expect_vote(&f, TC_VOTE_PRECOMMIT, 0, blk(0xa));
    /* The gold's precommit alone is 100 >= 69: a commit of one signer. */
    fx_vote(&f, TC_VOTE_PRECOMMIT, h, 0, blk(0xa), 3);
    const tc_bft_output *c = last_kind(&f, TC_BFT_OUT_COMMIT);
    cr_assert_not_null(c);
    cr_assert_eq(c->commit.sig_count, 2, "ours and the gold's");
    fx_close(&f);
}

Test(bft_weights, observer_never_signs)
{
    fx f;
    fx_open(&f, 4, NULL, TC_BFT_INDEX_NONE);
    uint64_t h = 5;
    fx_begin(&f, h);
    for (uint32_t r = 0; r < 2; r++) {
        fx_proposal(&f, h, r, TC_BFT_ROUND_NONE, blk(0xa), true);
        for (uint32_t v = 0; v < 3; v++)
            fx_vote(&f, TC_VOTE_PREVOTE, h, r, blk(0xa), v);
    }
    for (uint32_t v = 0; v < 3; v++)
        fx_vote(&f, TC_VOTE_PRECOMMIT, h, 0, blk(0xa), v);
    cr_assert_eq(count_kind(&f, TC_BFT_OUT_COMMIT), 1, "an observer follows the decision");
    cr_assert_eq(count_kind(&f, TC_BFT_OUT_VOTE), 0);
    cr_assert_eq(count_kind(&f, TC_BFT_OUT_PERSIST), 0);
    cr_assert_eq(count_kind(&f, TC_BFT_OUT_PROPOSE) + count_kind(&f, TC_BFT_OUT_BUILD), 0);
    cr_assert_eq(count_kind(&f, TC_BFT_OUT_LOCK), 0);
    /* An observer cannot be given an index. */
    cr_assert_eq(tc_bft_start_height(f.b, f.now, h + 1, &f.vset, 0, f.now), TC_EINVAL);
    fx_close(&f);
}

Test(bft_weights, validator_outside_this_set_does_not_vote)
{
    fx f;
    fx_open(&f, 4, NULL, 0);
    f.me = TC_BFT_INDEX_NONE; /* has a key, but is not in this height's set */
    fx_begin(&f, 5);
    fx_proposal(&f, 5, 0, TC_BFT_ROUND_NONE, blk(0xa), true);
    fx_tick(&f, f.now + 100000);
    cr_assert_eq(count_kind(&f, TC_BFT_OUT_VOTE) + count_kind(&f, TC_BFT_OUT_BUILD), 0);
    /* Another member's key is refused. */
    cr_assert_eq(tc_bft_start_height(f.b, f.now, 6, &f.vset, 1, f.now), TC_EINVAL);
    fx_close(&f);
}

Test(bft_bounds, next_height_votes_buffered_and_replayed)
{
    four t;
    four_open(&t);
    for (uint32_t v = 1; v <= 3; v++)
        cr_assert_eq(fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h + 1, 0, blk(0xf), v), 0);
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h + 2, 0, blk(0xf), 1), TC_ERANGE);
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h - 1, 0, blk(0xf), 1), TC_ERANGE);
    cr_assert_eq(count_kind(&t.f, TC_BFT_OUT_COMMIT), 0);
    /* The node commits t.h by sync and begins t.h + 1: the buffered votes decide it at once,
     * before round 0 even starts. */
    cr_assert_eq(tc_bft_start_height(t.f.b, t.f.now, t.h + 1, &t.f.vset, 0, t.f.now), 0);
    drain(&t.f);
    const tc_bft_output *c = last_kind(&t.f, TC_BFT_OUT_COMMIT);
    cr_assert_not_null(c);
    cr_assert_eq(c->height, t.h + 1);
    cr_assert_eq(tc_bft_start_height(t.f.b, t.f.now, t.h, &t.f.vset, 0, t.f.now), TC_EINVAL,
                 "heights only increase");
    fx_close(&t.f);
}

Test(bft_bounds, block_interval_delays_round_zero)
{
    fx f;
    fx_open(&f, 4, NULL, 0);
    uint64_t h = 1;
    while (proposer(&f, h, 0) != 0)
        h++;
    fx_start(&f, h);
    cr_assert_eq(count_kind(&f, TC_BFT_OUT_BUILD), 0, "waiting for the block interval");
    cr_assert_eq(tc_bft_next_deadline(f.b), T0 + f.prof.block_interval_ms);
    fx_tick(&f, T0 + f.prof.block_interval_ms - 1);
    cr_assert_eq(count_kind(&f, TC_BFT_OUT_BUILD), 0);
    fx_tick(&f, T0 + f.prof.block_interval_ms);
    cr_assert_eq(count_kind(&f, TC_BFT_OUT_BUILD), 1, "round 0 proposer asks for a block");
    tc_hash a = blk(0xa);
    cr_assert_eq(tc_bft_on_block_built(f.b, f.now, h, 1, &a), TC_ERANGE, "wrong round");
    cr_assert_eq(tc_bft_on_block_built(f.b, f.now, h, 0, &a), 0);
    drain(&f);
    const tc_bft_output *p = last_kind(&f, TC_BFT_OUT_PROPOSE);
    cr_assert_not_null(p);
    cr_assert_eq(p->pol_round, TC_BFT_ROUND_NONE);
    expect_vote(&f, TC_VOTE_PREVOTE, 0, blk(0xa));
    check_persist_order(f.outs, f.n);
    cr_assert_eq(fx_proposal(&f, h, 0, TC_BFT_ROUND_NONE, blk(0xa), true), TC_EEXIST);
    fx_close(&f);
}

Test(bft_bounds, undrained_queue_rejects_events)
{
    uint32_t w[MAXV];
    for (uint32_t i = 0; i < MAXV; i++)
        w[i] = 1;
    fx f;
    fx_open(&f, MAXV, w, 0);
    uint64_t h = height_not_proposing(&f, 0);
    fx_begin(&f, h);
    /* Equivocations, one output each, never drained. */
    uint32_t queued = 0;
    int rc = 0;
    for (uint32_t r = 0; r <= TC_BFT_ROUNDS_AHEAD && rc == 0; r++) {
        for (uint32_t v = 1; v < MAXV && rc == 0; v++) {
            /* nil first: the counted votes never make a value's quorum (no COMMIT output). */
            tc_vote a = mkvote(&f, TC_VOTE_PRECOMMIT, h, r, NIL, v);
            tc_vote b = mkvote(&f, TC_VOTE_PRECOMMIT, h, r, blk(0xb), v);
            rc = tc_bft_on_vote(f.b, f.now, &a);
            if (rc == 0)
                rc = tc_bft_on_vote(f.b, f.now, &b);
            queued += rc == 0;
        }
    }
    cr_assert_eq(rc, TC_EFULL);
    cr_assert_gt(queued, 0);
    drain(&f);
    /* Equivocation reports and round skips were queued; the event that found fewer than an
     * event's worth of free slots was refused. */
    cr_assert(f.n > TC_BFT_OUTPUTS_MAX - TC_BFT_EVENT_OUTPUTS_MAX && f.n <= TC_BFT_OUTPUTS_MAX,
              "refused with %u outputs queued", f.n);
    cr_assert_eq(tc_bft_tick(f.b, f.now), 0, "drained: accepted again");
    fx_close(&f);
}

/* ---- a network of bft instances with instant delivery ----
 * Each validator's outputs are carried out as node.c would: BUILD gets a block hash, PROPOSE and
 * VOTE go to everyone else through one FIFO, COMMIT starts the next height. A silent validator
 * hears everything but sends nothing. */

#define NET_N       4
#define NET_HEIGHTS 20
#define NET_QUEUE   4096

typedef struct {
    bool proposal;
    uint32_t from;
    tc_vote vote;
    uint64_t height;
    uint32_t round;
    uint32_t pol_round;
    tc_hash block;
} net_msg;

typedef struct {
    fx f; /* keys, set and profile; f.b unused */
    tc_bft *node[NET_N];
    bool silent[NET_N];
    uint64_t height[NET_N];
    tc_hash decided[NET_N][NET_HEIGHTS + 2];
    uint32_t decided_round[NET_HEIGHTS + 2];
    tc_bft_output prev[NET_N];
    net_msg q[NET_QUEUE];
    uint32_t q_head, q_count;
    uint64_t now;
    uint32_t causes[5]; /* view changes by cause, over all nodes */
    bool shuffle;       /* deliver pending messages in a random order */
    tc_rng rng;
} net;

static void net_send(net *n, const net_msg *m)
{
    cr_assert(n->q_count < NET_QUEUE);
    n->q[(n->q_head + n->q_count++) % NET_QUEUE] = *m;
}

static tc_hash block_of(uint64_t h, uint32_t r, uint32_t who)
{
    tc_hash b;
    uint8_t in[13];
    memcpy(in, &h, 8);
    memcpy(in + 8, &r, 4);
    in[12] = (uint8_t)who;
    tc_hash_tagged(&b, "test/block", in, sizeof(in));
    return b;
}

static void net_commit(net *n, uint32_t i, const tc_bft_output *o)
{
    cr_assert_eq(tc_commit_verify(&o->commit, &n->f.vset, &fast, o->height, &o->block), 0,
                 "node %u: certificate of height %lu", i, (unsigned long)o->height);
    cr_assert_eq(o->height, n->height[i]);
    if (o->height <= NET_HEIGHTS) {
        n->decided[i][o->height] = o->block;
        for (uint32_t j = 0; j < NET_N; j++) /* agreement */
            if (j != i && n->height[j] > o->height)
                cr_assert(heq_t(&n->decided[j][o->height], &o->block), "height %lu",
                          (unsigned long)o->height);
        n->decided_round[o->height] = o->round;
    }
}

/* Carries out node i's outputs until it has none; returns whether it did anything. */
static void net_drain(net *n, uint32_t i)
{
    for (;;) {
        tc_bft_output o;
        bool any = false, build = false, commit = false;
        uint64_t bh = 0;
        uint32_t br = 0;
        while (tc_bft_next_output(n->node[i], &o)) {
            any = true;
            if (o.kind == TC_BFT_OUT_VOTE || o.kind == TC_BFT_OUT_PROPOSE) {
                tc_bft_output pair[2] = {n->prev[i], o};
                check_persist_order(pair, 2);
            }
            n->prev[i] = o;
            net_msg m = {.from = i,
                         .height = o.height,
                         .round = o.round,
                         .pol_round = o.pol_round,
                         .block = o.block,
                         .vote = o.vote};
            if (o.kind == TC_BFT_OUT_BUILD) {
                build = true;
                bh = o.height;
                br = o.round;
            } else if ((o.kind == TC_BFT_OUT_VOTE || o.kind == TC_BFT_OUT_PROPOSE) &&
                       !n->silent[i]) {
                m.proposal = o.kind == TC_BFT_OUT_PROPOSE;
                net_send(n, &m);
            } else if (o.kind == TC_BFT_OUT_VIEW_CHANGE) {
                cr_assert(o.cause >= 1 && o.cause <= 4);
                n->causes[o.cause]++;
            } else if (o.kind == TC_BFT_OUT_COMMIT) {
                net_commit(n, i, &o);
                commit = true;
            }
        }
        if (!any)
            return;
        if (build) {
            tc_hash b = block_of(bh, br, i);
            cr_assert_eq(tc_bft_on_block_built(n->node[i], n->now, bh, br, &b), 0);
        }
        if (commit) {
            n->height[i]++;
            cr_assert_eq(
                tc_bft_start_height(n->node[i], n->now, n->height[i], &n->f.vset, i, n->now), 0);
        }
    }
}

static void net_deliver(net *n)
{
    if (n->shuffle) {
        uint32_t k = (n->q_head + (uint32_t)tc_rng_below(&n->rng, n->q_count)) % NET_QUEUE;
        net_msg t = n->q[k];
        n->q[k] = n->q[n->q_head];
        n->q[n->q_head] = t;
    }
    net_msg m = n->q[n->q_head];
    n->q_head = (n->q_head + 1) % NET_QUEUE;
    n->q_count--;
    for (uint32_t j = 0; j < NET_N; j++) {
        if (j == m.from)
            continue;
        if (m.proposal) {
            if (m.height == n->height[j])
                cr_assert_eq(tc_bft_proposer_at(n->node[j], m.height, m.round), m.from);
            (void)tc_bft_on_proposal(n->node[j], n->now, m.height, m.round, m.pol_round, &m.block,
                                     true);
        } else {
            (void)tc_bft_on_vote(n->node[j], n->now, &m.vote);
        }
        net_drain(n, j);
    }
}

static void net_run(net *n)
{
    cr_assert_eq(tc_crypto_init(), 0);
    tc_profile_get(&n->f.prof, TC_NET_TESTNET);
    make_set(&n->f, NET_N, NULL);
    n->now = T0;
    for (uint32_t i = 0; i < NET_N; i++) {
        cr_assert_eq(tc_bft_new(&n->f.prof, TC_SIG_FAST, &n->f.keys[i], &n->node[i]), 0);
        n->height[i] = 1;
        cr_assert_eq(tc_bft_start_height(n->node[i], n->now, 1, &n->f.vset, i, T0), 0);
    }
    for (uint32_t step = 0; step < 100000; step++) {
        bool done = true;
        for (uint32_t i = 0; i < NET_N; i++)
            done = done && n->height[i] > NET_HEIGHTS;
        if (done)
            return;
        if (n->q_count > 0) {
            net_deliver(n);
            continue;
        }
        uint64_t next = UINT64_MAX;
        for (uint32_t i = 0; i < NET_N; i++) {
            uint64_t d = tc_bft_next_deadline(n->node[i]);
            next = d < next ? d : next;
        }
        cr_assert_neq(next, UINT64_MAX, "stuck with no deadline at %lu", (unsigned long)n->now);
        n->now = next > n->now ? next : n->now;
        for (uint32_t i = 0; i < NET_N; i++) {
            cr_assert_eq(tc_bft_tick(n->node[i], n->now), 0);
            net_drain(n, i);
        }
    }
    cr_assert_fail("no progress");
}

static void net_close(net *n)
{
    for (uint32_t i = 0; i < NET_N; i++)
        tc_bft_free(n->node[i]);
    tc_vset_deinit(&n->f.vset);
}

Test(bft_net, four_validators_commit_twenty_heights)
{
    static net n;
    memset(&n, 0, sizeof(n));
    net_run(&n);
    for (uint64_t h = 1; h <= NET_HEIGHTS; h++) {
        cr_assert_eq(n.decided_round[h], 0, "height %lu in round 0", (unsigned long)h);
        tc_hash want = block_of(h, 0, proposer(&n.f, h, 0));
        for (uint32_t i = 0; i < NET_N; i++)
            cr_assert(heq_t(&n.decided[i][h], &want), "node %u height %lu: the proposer's block", i,
                      (unsigned long)h);
    }
    uint32_t vc = 0;
    for (uint32_t c = 0; c < 5; c++)
        vc += n.causes[c];
    cr_assert_eq(vc, 0, "no view change in a healthy network");
    /* Heights are one block interval apart: 20 heights take 20 intervals (+ round trips of 0). */
    cr_assert_eq(n.now, T0 + (uint64_t)NET_HEIGHTS * n.f.prof.block_interval_ms);
    net_close(&n);
}

Test(bft_net, silent_proposer_forces_view_changes)
{
    static net n;
    memset(&n, 0, sizeof(n));
    n.silent[3] = true;
    net_run(&n);
    uint32_t silent_heights = 0;
    for (uint64_t h = 1; h <= NET_HEIGHTS; h++) {
        uint32_t p0 = proposer(&n.f, h, 0);
        uint32_t want_round = p0 == 3 ? 1 : 0;
        silent_heights += p0 == 3;
        cr_assert_eq(n.decided_round[h], want_round, "height %lu decided in round %u",
                     (unsigned long)h, n.decided_round[h]);
        tc_hash want = block_of(h, want_round, proposer(&n.f, h, want_round));
        for (uint32_t i = 0; i < NET_N; i++)
            cr_assert(heq_t(&n.decided[i][h], &want), "node %u height %lu", i, (unsigned long)h);
    }
    cr_assert_eq(silent_heights, NET_HEIGHTS / NET_N);
    /* The three others change view once per silent height because the proposal never came;
     * the silent proposer itself saw its own proposal and leaves the round by the precommit
     * timer. */
    cr_assert_eq(n.causes[TC_BFT_CAUSE_TIMEOUT_PROPOSE], (NET_N - 1) * silent_heights,
                 "view changes for a silent proposer: %u", n.causes[TC_BFT_CAUSE_TIMEOUT_PROPOSE]);
    cr_assert_eq(n.causes[TC_BFT_CAUSE_TIMEOUT_PRECOMMIT], silent_heights);
    cr_assert_eq(n.causes[TC_BFT_CAUSE_TIMEOUT_PREVOTE], 0);
    cr_assert_eq(n.causes[TC_BFT_CAUSE_ROUND_SKIP], 0);
    net_close(&n);
}

/* Messages delivered in a random order (no loss): every seed commits twenty heights, and every
 * commit is checked for agreement and a valid certificate as it happens. */
Test(bft_net, shuffled_delivery_agrees_and_progresses)
{
    static net n;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        memset(&n, 0, sizeof(n));
        n.shuffle = true;
        n.silent[seed % NET_N] = seed % 3 == 0;
        tc_rng_init_u64(&n.rng, seed);
        net_run(&n);
        for (uint64_t h = 1; h <= NET_HEIGHTS; h++)
            for (uint32_t i = 1; i < NET_N; i++)
                cr_assert(heq_t(&n.decided[i][h], &n.decided[0][h]), "seed %lu height %lu",
                          (unsigned long)seed, (unsigned long)h);
        net_close(&n);
    }
}

/* The round tables get their slots on first use (a table is 2 x validators slots of about 200
 * bytes, 3.4 GB over all 8 tables of 1,024 simulated validators): a height decided in round 0
 * holds one table, a round change adds one, and the next height reuses them. */
Test(bft_bounds, round_tables_are_allocated_on_first_use)
{
    four t;
    tc_bft_status st;
    fx_open(&t.f, 4, NULL, 0);
    t.h = height_not_proposing(&t.f, 0);
    fx_start(&t.f, t.h);
    tc_bft_status_get(t.f.b, &st);
    cr_assert_eq(st.tables_allocated, 0, "none before round 0 starts: %u", st.tables_allocated);
    fx_tick(&t.f, T0 + t.f.prof.block_interval_ms);
    tc_bft_status_get(t.f.b, &st);
    cr_assert_eq(st.tables_allocated, 1, "round 0's: %u", st.tables_allocated);
    lock_on_a(&t);
    end_round(&t, 0);
    tc_bft_status_get(t.f.b, &st);
    cr_assert_eq(st.tables_allocated, 2, "round 0's (locked) and round 1's: %u",
                 st.tables_allocated);
    fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 0, blk(0xa), 1);
    fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 0, blk(0xa), 2);
    cr_assert_eq(count_kind(&t.f, TC_BFT_OUT_COMMIT), 1, "round 0's precommits decide");
    t.f.n = 0;
    uint64_t h2 = t.h + 1;
    while (proposer(&t.f, h2, 0) == 0)
        h2++;
    cr_assert_eq(tc_bft_start_height(t.f.b, t.f.now, h2, &t.f.vset, 0, t.f.now), 0);
    fx_tick(&t.f, t.f.now + t.f.prof.block_interval_ms);
    cr_assert_eq(fx_proposal(&t.f, h2, 0, TC_BFT_ROUND_NONE, blk(0xb), true), 0);
    expect_vote(&t.f, TC_VOTE_PREVOTE, 0, blk(0xb));
    tc_bft_status_get(t.f.b, &st);
    cr_assert_eq(st.height, h2);
    cr_assert_eq(st.tables_allocated, 2, "the next height reuses them: %u", st.tables_allocated);
    fx_close(&t.f);
}

/* A round whose table cannot be allocated is a handled state: its proposal and votes are
 * ignored, its timeouts still run, and the next tick with memory makes the table, after which
 * the round decides as usual. */
Test(bft_bounds, round_without_a_table_waits_for_memory)
{
    four t;
    tc_bft_status st;
    fx_open(&t.f, 4, NULL, 0);
    t.h = height_not_proposing(&t.f, 0);
    fx_start(&t.f, t.h);
    tc_alloc_faults_set(&(tc_alloc_faults){.fail_nth = 1, .fail_sticky = true, .active = true});
    fx_tick(&t.f, T0 + t.f.prof.block_interval_ms);
    cr_assert_eq(fx_proposal(&t.f, t.h, 0, TC_BFT_ROUND_NONE, blk(0xa), true), TC_ERANGE,
                 "no table for round 0: the proposal is refused");
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 0, blk(0xa), 3), TC_ERANGE);
    cr_assert_eq(fx_vote(&t.f, TC_VOTE_PREVOTE, t.h, 0, blk(0xa), 1), 0,
                 "a prevote is kept for the round's table, like one of an evicted round");
    uint64_t failed = tc_alloc_failed_count();
    tc_alloc_faults_set(NULL);
    cr_assert_eq(failed, 4, "round start, proposal and the two votes each tried: %" PRIu64, failed);
    tc_bft_status_get(t.f.b, &st);
    cr_assert_eq(st.tables_allocated, 0);
    cr_assert_eq(st.round, 0);
    cr_assert_eq(st.step, TC_BFT_STEP_PROPOSE);
    cr_assert_eq(st.votes_ignored, 1, "the precommit of validator 3: %" PRIu64, st.votes_ignored);
    cr_assert_eq(my_votes(&t.f, TC_VOTE_PREVOTE, 0, NULL), 0, "no prevote without the proposal");
    fx_tick(&t.f, t.f.now + 1);
    tc_bft_status_get(t.f.b, &st);
    cr_assert_eq(st.tables_allocated, 1, "made by the tick: %u", st.tables_allocated);
    lock_on_a(&t); /* validator 1's prevote again is a duplicate: its kept one counts */
    fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 0, blk(0xa), 1);
    fx_vote(&t.f, TC_VOTE_PRECOMMIT, t.h, 0, blk(0xa), 2);
    cr_assert_eq(count_kind(&t.f, TC_BFT_OUT_COMMIT), 1, "the round decides once it has a table");
    fx_close(&t.f);
}
