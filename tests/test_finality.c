/* test_finality.c — instant finality (PROTOCOL 11) on the in-memory store: own batches and their
 * timing, seq persistence, quorum arithmetic at tier weights, FINALIZED once, transactions that
 * arrive after their votes, duplicate, forged and equivocating batches, durable locks across a
 * crash, lock equivocation, certificates, re-gossip, bounded bookkeeping, handoff, carry list,
 * the epoch change, and the hot paths' shortcuts (remembered input states, batch lookups). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "finality.h"
#include "support.h"
#include "utxo.h"

#define T0       UINT64_C(1000000)
#define EV_MAX   4096
#define KEYS_MAX 64

static ts_chain fx;
static tc_vset vset;              /* the set f votes in (epoch 0 unless a test builds another) */
static tc_finality *fin;          /* the finality under test */
static tc_keypair keys[KEYS_MAX]; /* ("validator", i) of the fixture's seed */
static tc_finality_event evs[EV_MAX];

/* ---- fixture ---- */

static void chain_up(uint32_t validators, const uint8_t *tiers, uint32_t wallets)
{
    ts_chain_opts o = {.validators = validators,
                       .tiers = tiers,
                       .wallets = wallets,
                       .scheme = TC_SIG_FAST,
                       .epoch_blocks = 8};
    cr_assert_eq(ts_chain_open(&fx, &o), 0);
    for (uint32_t i = 0; i < KEYS_MAX; i++)
        cr_assert_eq(tc_genesis_key(fx.master, "validator", i, &keys[i]), 0);
    const tc_vset *vs = NULL;
    cr_assert_eq(tc_chain_vset(fx.chain, 0, &vs), 0);
    cr_assert_eq(tc_vset_copy(&vset, vs), 0);
}

static void teardown(void)
{
    tc_finality_free(fin);
    fin = NULL;
    tc_vset_deinit(&vset);
    ts_chain_close(&fx);
}

/* Validator key i's index in vset. */
static uint32_t vidx(uint32_t key_i)
{
    uint32_t idx = UINT32_MAX;
    cr_assert_eq(tc_vset_find(&vset, &keys[key_i].pub, &idx), 0);
    return idx;
}

static uint32_t key_of_index(uint32_t idx)
{
    for (uint32_t i = 0; i < KEYS_MAX; i++)
        if (memcmp(keys[i].pub.b, vset.members[idx].key.b, TC_PUBKEY_SIZE) == 0)
            return i;
    cr_assert_fail("no key for validator %u", idx);
    return UINT32_MAX;
}

static tc_store_txn *begin(void)
{
    tc_store_txn *t = NULL;
    cr_assert_eq(tc_store_begin(fx.store, true, &t), 0);
    return t;
}

static void commit(tc_store_txn *t)
{
    cr_assert_eq(tc_store_commit(t), 0);
}

/* The previous epoch's set the next fin_open passes (a node restarted inside an epoch that
 * carried transactions); NULL: none. */
static const tc_vset *open_prev;

/* A finality for key key_i (-1: none) over vset, with default limits. */
static tc_finality *fin_open(int key_i, uint64_t now, const tc_hash *carry, uint32_t carry_n,
                             const tc_finality_limits *lim)
{
    tc_finality_config cfg = {.profile = tc_chain_profile(fx.chain),
                              .verifier = &fx.verifier,
                              .vset = &vset,
                              .key = key_i >= 0 ? &keys[key_i] : NULL,
                              .carry = carry,
                              .carry_count = carry_n,
                              .prev_vset = open_prev};
    if (lim != NULL)
        cfg.limits = *lim;
    else
        tc_finality_limits_default(cfg.profile, &cfg.limits);
    tc_store_txn *t = begin();
    tc_finality *f = NULL;
    int rc = tc_finality_new(&cfg, t, now, &f);
    cr_assert_eq(rc, 0, "tc_finality_new: %s", tc_strerror(rc));
    commit(t);
    return f;
}

/* A transfer of wallet w's genesis coin; pay varies the txid (conflicting spends). */
static void mk_tx(tc_tx *tx, tc_hash *txid, uint32_t w, uint64_t pay)
{
    tc_keypair kp;
    cr_assert_eq(tc_genesis_key(fx.master, "wallet", w, &kp), 0);
    tc_outpoint prev;
    ts_chain_genesis_outpoint(&fx, w, &prev);
    tc_addr_hash to;
    ts_chain_addr(&fx, "owner", 0, &to);
    /* The fee covers min_fee (0.1% of the outputs), so a block can confirm it. */
    cr_assert_eq(ts_tx_transfer(tx, TC_SIG_FAST, &kp, &prev, 100000 * TC_UNITS_PER_TIME, &to, pay,
                                200 * TC_UNITS_PER_TIME),
                 0);
    tc_tx_id(tx, txid);
}

/* A conflict: loser spends coins 0 and 1, win spends coin 1 only. Caller deinits both. */
static void mk_conflict(tc_tx *loser, tc_hash *il, tc_tx *win, tc_hash *iw)
{
    tc_keypair k0, k1;
    cr_assert_eq(tc_genesis_key(fx.master, "wallet", 0, &k0), 0);
    cr_assert_eq(tc_genesis_key(fx.master, "wallet", 1, &k1), 0);
    cr_assert_eq(tc_tx_init_alloc(loser, TC_TX_TRANSFER, 2, 1), 0);
    ts_chain_genesis_outpoint(&fx, 0, &loser->inputs[0].prev);
    ts_chain_genesis_outpoint(&fx, 1, &loser->inputs[1].prev);
    loser->inputs[0].pub = k0.pub;
    loser->inputs[1].pub = k1.pub;
    loser->outputs[0].amount = TC_UNITS_PER_TIME;
    tc_tx_id(loser, il);
    mk_tx(win, iw, 1, 5 * TC_UNITS_PER_TIME);
}

static int vote(tc_finality *f, const tc_tx *tx, const tc_hash *txid, uint64_t now,
                tc_finality_vote_result *res)
{
    tc_store_txn *t = begin();
    tc_finality_vote_result r = TC_FINALITY_NOT_VALIDATOR;
    int rc = tc_finality_vote_tx(f, t, now, tx, txid, &r);
    if (rc == 0)
        commit(t);
    else
        tc_store_abort(t);
    if (res != NULL)
        *res = r;
    return rc;
}

static int add(tc_finality *f, const tc_tx *tx, const tc_hash *txid)
{
    tc_store_txn *t = begin();
    int rc = tc_finality_add_tx(f, t, T0, tx, txid);
    commit(t);
    return rc;
}

static void tick(tc_finality *f, uint64_t now)
{
    tc_store_txn *t = begin();
    cr_assert_eq(tc_finality_tick(f, t, now), 0);
    commit(t);
}

static int deliver(tc_finality *f, const tc_vote_batch *b)
{
    tc_store_txn *t = begin();
    int rc = tc_finality_on_batch(f, t, T0, b);
    commit(t);
    return rc;
}

static void confirmed(tc_finality *f, const tc_tx *tx, const tc_hash *txid)
{
    tc_store_txn *t = begin();
    cr_assert_eq(tc_finality_on_confirmed(f, t, tx, txid), 0);
    commit(t);
}

static int hash_cmp(const void *a, const void *b)
{
    return memcmp(a, b, TC_HASH_SIZE);
}

/* Validator key_i's batch (epoch, seq) naming txids (any order), signed. Caller deinits. */
static void peer_batch(tc_vote_batch *b, uint32_t epoch, uint32_t key_i, uint64_t seq,
                       const tc_hash *txids, uint32_t n)
{
    memset(b, 0, sizeof(*b));
    b->epoch = epoch;
    b->validator = vidx(key_i);
    b->seq = seq;
    b->txid_count = n;
    b->txids = malloc((size_t)n * sizeof(tc_hash));
    cr_assert_not_null(b->txids);
    memcpy(b->txids, txids, (size_t)n * sizeof(tc_hash));
    qsort(b->txids, n, sizeof(tc_hash), hash_cmp);
    tc_hash h;
    tc_vote_batch_sign_hash(b, &h);
    tc_sign(TC_SIG_FAST, &keys[key_i], &h, &b->sig);
}

/* Pops every event into evs; returns how many. */
static uint32_t drain(tc_finality *f)
{
    uint32_t n = 0;
    while (n < EV_MAX && tc_finality_next_event(f, &evs[n]))
        n++;
    cr_assert_lt(n, EV_MAX, "events never end");
    return n;
}

static uint32_t count_kind(uint32_t n, tc_finality_event_kind kind)
{
    uint32_t c = 0;
    for (uint32_t i = 0; i < n; i++)
        c += evs[i].kind == kind;
    return c;
}

static const tc_finality_event *find_kind(uint32_t n, tc_finality_event_kind kind)
{
    for (uint32_t i = 0; i < n; i++)
        if (evs[i].kind == kind)
            return &evs[i];
    return NULL;
}

static tc_utxo_entry utxo_of(const tc_outpoint *op)
{
    tc_store_txn *t = NULL;
    cr_assert_eq(tc_store_begin(fx.store, false, &t), 0);
    tc_utxo_entry u;
    cr_assert_eq(tc_utxo_get(t, op, &u), 0);
    tc_store_abort(t);
    return u;
}

static bool hash_eq(const tc_hash *a, const tc_hash *b)
{
    return memcmp(a->b, b->b, TC_HASH_SIZE) == 0;
}

static size_t batch_bytes(const tc_vote_batch *b, uint8_t *buf, size_t cap)
{
    tc_writer w;
    tc_writer_init(&w, buf, cap);
    tc_vote_batch_encode(&w, b);
    size_t len = 0;
    cr_assert_eq(tc_writer_finish(&w, &len), 0);
    return len;
}

/* ---- the value type ---- */

Test(finality, vote_batch_roundtrip_and_strict_decoding, .fini = teardown)
{
    chain_up(4, NULL, 4);
    tc_hash ids[3];
    for (int i = 0; i < 3; i++)
        tc_hash_tagged(&ids[i], "test/id", &i, sizeof(i));
    tc_vote_batch b, d;
    peer_batch(&b, 0, 1, 7, ids, 3);
    uint8_t buf[512];
    size_t len = batch_bytes(&b, buf, sizeof(buf));
    cr_assert_eq(len, (size_t)(4 + 4 + 8 + 4 + 3 * 32 + 64));
    cr_assert_eq(tc_vote_batch_decode(&d, buf, len), 0);
    cr_assert_eq(d.seq, 7);
    cr_assert_eq(d.txid_count, 3);
    cr_assert_eq(memcmp(d.txids, b.txids, 3 * 32), 0);
    tc_vote_batch_deinit(&d);
    /* Swapping two txids breaks the order: TC_ERANGE. */
    uint8_t bad[512];
    memcpy(bad, buf, len);
    memcpy(bad + 20, buf + 52, 32);
    memcpy(bad + 52, buf + 20, 32);
    cr_assert_eq(tc_vote_batch_decode(&d, bad, len), TC_ERANGE);
    cr_assert_null(d.txids);
    cr_assert_eq(tc_vote_batch_decode(&d, buf, len - 1), TC_ESHORT);
    buf[len] = 0;
    cr_assert_eq(tc_vote_batch_decode(&d, buf, len + 1), TC_ETRAILING);
    /* Zero txids: TC_ERANGE. */
    memset(bad, 0, sizeof(bad));
    cr_assert_eq(tc_vote_batch_decode(&d, bad, 20 + 64), TC_ERANGE);
    tc_vote_batch_deinit(&b);
}

/* ---- own batches ---- */

Test(finality, own_batch_flushes_10ms_after_its_first_txid, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(0, T0, NULL, 0, NULL);
    cr_assert_eq(tc_finality_validator(fin), vidx(0));
    cr_assert_eq(tc_finality_next_deadline(fin), UINT64_MAX);
    tc_tx a, b;
    tc_hash ia, ib;
    mk_tx(&a, &ia, 0, 10 * TC_UNITS_PER_TIME);
    mk_tx(&b, &ib, 1, 10 * TC_UNITS_PER_TIME);
    tc_finality_vote_result r;
    cr_assert_eq(vote(fin, &a, &ia, T0, &r), 0);
    cr_assert_eq(r, TC_FINALITY_VOTED);
    cr_assert_eq(vote(fin, &b, &ib, T0 + 4, &r), 0);
    cr_assert_eq(tc_finality_next_deadline(fin), T0 + 10);
    cr_assert_eq(drain(fin), 0);
    tick(fin, T0 + 9);
    cr_assert_eq(drain(fin), 0, "nothing before 10 ms");
    tick(fin, T0 + 10);
    uint32_t n = drain(fin);
    cr_assert_eq(n, 1);
    cr_assert_eq(evs[0].kind, TC_FINALITY_EV_BATCH);
    cr_assert_eq(evs[0].batch->seq, 1);
    cr_assert_eq(evs[0].batch->validator, vidx(0));
    cr_assert_eq(evs[0].batch->txid_count, 2);
    cr_assert(memcmp(&evs[0].batch->txids[0], &evs[0].batch->txids[1], 32) < 0, "sorted");
    /* The batch's signature verifies against the validator's key. */
    tc_hash h;
    tc_vote_batch_sign_hash(evs[0].batch, &h);
    cr_assert_eq(tc_verify(&fx.verifier, &keys[0].pub, &h, &evs[0].batch->sig), 0);
    /* Its own vote is tallied: weight 1 of 4. */
    cr_assert_eq(tc_finality_weight(fin, &ia), 1);
    cr_assert_eq(vote(fin, &a, &ia, T0 + 20, &r), 0);
    cr_assert_eq(r, TC_FINALITY_VOTED_BEFORE);
    cr_assert_eq(utxo_of(&a.inputs[0].prev).state, TC_UTXO_LOCKED);
    tc_tx_deinit(&a);
    tc_tx_deinit(&b);
}

/* The batch interval follows a setter (the node stretches it with the validator count of each
 * epoch, PROTOCOL 11.3): a longer one delays the next batch, a shorter one pulls an open batch's
 * deadline in, and 0 or more than the re-gossip interval is refused. */
Test(finality, the_batch_interval_can_be_set, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(0, T0, NULL, 0, NULL);
    const tc_profile *p = &fx.genesis.profile;
    cr_assert_eq(tc_finality_batch_interval(fin), 10, "the profile's 10 ms");
    cr_assert_eq(tc_finality_set_batch_interval(fin, T0, 0), TC_EINVAL);
    cr_assert_eq(tc_finality_set_batch_interval(fin, T0, p->regossip_interval_ms + 1), TC_EINVAL);
    cr_assert_eq(tc_finality_batch_interval(fin), 10, "unchanged by a refused value");
    cr_assert_eq(tc_finality_set_batch_interval(fin, T0, 40), 0);
    tc_tx a;
    tc_hash ia;
    mk_tx(&a, &ia, 0, 10 * TC_UNITS_PER_TIME);
    tc_finality_vote_result r;
    cr_assert_eq(vote(fin, &a, &ia, T0, &r), 0);
    cr_assert_eq(tc_finality_next_deadline(fin), T0 + 40, "the batch waits 40 ms");
    cr_assert_eq(tc_finality_set_batch_interval(fin, T0 + 5, 20), 0);
    cr_assert_eq(tc_finality_next_deadline(fin), T0 + 25, "pulled in to now + 20 ms");
    tick(fin, T0 + 24);
    cr_assert_eq(drain(fin), 0, "nothing before");
    tick(fin, T0 + 25);
    cr_assert_eq(drain(fin), 1, "the batch leaves at the new deadline");
    cr_assert_eq(evs[0].kind, TC_FINALITY_EV_BATCH);
    tc_tx_deinit(&a);
}

Test(finality, own_batch_flushes_at_512_txids, .fini = teardown)
{
    chain_up(4, NULL, 520);
    const tc_profile *p = tc_chain_profile(fx.chain);
    cr_assert_eq(p->vote_batch_txids_max, 512);
    fin = fin_open(0, T0, NULL, 0, NULL);
    for (uint32_t i = 0; i < 513; i++) {
        tc_tx tx;
        tc_hash id;
        mk_tx(&tx, &id, i, TC_UNITS_PER_TIME);
        cr_assert_eq(vote(fin, &tx, &id, T0, NULL), 0);
        tc_tx_deinit(&tx);
        uint32_t n = drain(fin);
        if (i == 511) {
            cr_assert_eq(n, 1, "flushed by size at the 512th txid");
            cr_assert_eq(evs[0].batch->txid_count, 512);
            cr_assert_eq(evs[0].batch->seq, 1);
        } else {
            cr_assert_eq(n, 0, "txid %u", i);
        }
    }
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.pending_txids, 1);
    tick(fin, T0 + 10);
    cr_assert_eq(drain(fin), 1);
    cr_assert_eq(evs[0].batch->seq, 2);
    cr_assert_eq(evs[0].batch->txid_count, 1);
}

Test(finality, seq_survives_restart_and_batches_come_back_identical, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(0, T0, NULL, 0, NULL);
    tc_tx a, b, c;
    tc_hash ia, ib, ic;
    mk_tx(&a, &ia, 0, TC_UNITS_PER_TIME);
    mk_tx(&b, &ib, 1, TC_UNITS_PER_TIME);
    mk_tx(&c, &ic, 2, TC_UNITS_PER_TIME);
    cr_assert_eq(vote(fin, &a, &ia, T0, NULL), 0);
    tick(fin, T0 + 10);
    cr_assert_eq(drain(fin), 1);
    uint8_t before[512];
    size_t before_len = batch_bytes(evs[0].batch, before, sizeof(before));
    cr_assert_eq(vote(fin, &b, &ib, T0 + 20, NULL), 0); /* seq 2 opened, committed, not sent */
    /* Crash: memory gone, an open transaction lost. */
    tc_finality_free(fin);
    fin = NULL;
    tc_store_txn *lost = begin();
    (void)lost;
    cr_assert_eq(ts_chain_restart(&fx), 0);
    fin = fin_open(0, T0 + 100, NULL, 0, NULL);
    cr_assert_eq(tc_finality_next_deadline(fin), T0 + 100, "re-gossip due at once");
    tick(fin, T0 + 100);
    uint32_t n = drain(fin);
    cr_assert_eq(count_kind(n, TC_FINALITY_EV_REGOSSIP_BATCH), 2);
    const tc_finality_event *e = find_kind(n, TC_FINALITY_EV_REGOSSIP_BATCH);
    cr_assert_eq(e->batch->seq, 1);
    uint8_t after[512];
    size_t after_len = batch_bytes(e->batch, after, sizeof(after));
    cr_assert_eq(after_len, before_len);
    cr_assert_eq(memcmp(after, before, before_len), 0, "the same bytes, not a second batch 1");
    cr_assert_eq(tc_finality_weight(fin, &ib), 1, "batch 2 rebuilt and tallied");
    /* The next batch gets a fresh seq. */
    cr_assert_eq(vote(fin, &c, &ic, T0 + 200, NULL), 0);
    tick(fin, T0 + 210);
    n = drain(fin);
    e = find_kind(n, TC_FINALITY_EV_BATCH);
    cr_assert_not_null(e);
    cr_assert_eq(e->batch->seq, 3);
    tc_tx_deinit(&a);
    tc_tx_deinit(&b);
    tc_tx_deinit(&c);
}

/* ---- the tally ---- */

/* One Gold and 50 Bronze: W = 150, Q = 101. Gold alone is Q - 1; one Bronze more is Q. */
Test(finality, quorum_at_tier_weights_needs_exactly_q, .fini = teardown)
{
    chain_up(4, NULL, 4);
    const tc_profile *p = tc_chain_profile(fx.chain);
    tc_vset_member m[51];
    memset(m, 0, sizeof(m));
    for (uint32_t i = 0; i < 51; i++) {
        m[i].key = keys[i].pub;
        m[i].tier = i == 0 ? TC_TIER_GOLD : TC_TIER_BRONZE;
        m[i].weight = tc_tier_weight(p, (tc_tier)m[i].tier);
    }
    tc_vset_deinit(&vset);
    cr_assert_eq(tc_vset_from_members(0, m, 51, &vset), 0);
    cr_assert_eq(vset.weight_total, 150);
    cr_assert_eq(tc_vset_quorum(&vset), 101);
    fin = fin_open(-1, T0, NULL, 0, NULL);
    tc_tx a;
    tc_hash ia;
    mk_tx(&a, &ia, 0, TC_UNITS_PER_TIME);
    cr_assert_eq(add(fin, &a, &ia), 0);
    tc_vote_batch gold, bronze;
    peer_batch(&gold, 0, 0, 1, &ia, 1);
    cr_assert_eq(deliver(fin, &gold), 0);
    cr_assert_eq(tc_finality_weight(fin, &ia), 100);
    cr_assert_not(tc_finality_is_final(fin, &ia), "Q - 1 is not final");
    cr_assert_eq(count_kind(drain(fin), TC_FINALITY_EV_FINALIZED), 0);
    cr_assert_eq(utxo_of(&a.inputs[0].prev).state, TC_UTXO_UNSPENT);
    peer_batch(&bronze, 0, 37, 1, &ia, 1);
    cr_assert_eq(deliver(fin, &bronze), 0);
    cr_assert_eq(tc_finality_weight(fin, &ia), 101);
    cr_assert(tc_finality_is_final(fin, &ia));
    uint32_t n = drain(fin);
    cr_assert_eq(count_kind(n, TC_FINALITY_EV_FINALIZED), 1);
    cr_assert(hash_eq(&find_kind(n, TC_FINALITY_EV_FINALIZED)->txid, &ia));
    tc_utxo_entry u = utxo_of(&a.inputs[0].prev);
    cr_assert_eq(u.state, TC_UTXO_FINALIZED);
    cr_assert(hash_eq(&u.txid, &ia));
    /* More votes: still final, no second FINALIZED. */
    for (uint32_t k = 1; k < 20; k++) {
        if (k == 37)
            continue;
        tc_vote_batch more;
        peer_batch(&more, 0, k, 5, &ia, 1);
        cr_assert_eq(deliver(fin, &more), 0);
        tc_vote_batch_deinit(&more);
    }
    cr_assert_eq(count_kind(drain(fin), TC_FINALITY_EV_FINALIZED), 0, "FINALIZED only once");
    tc_vote_batch_deinit(&gold);
    tc_vote_batch_deinit(&bronze);
    tc_tx_deinit(&a);
}

Test(finality, tx_arriving_after_its_quorum_is_finalized_then, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(-1, T0, NULL, 0, NULL);
    cr_assert_eq(tc_finality_validator(fin), UINT32_MAX);
    tc_tx a;
    tc_hash ia;
    mk_tx(&a, &ia, 2, TC_UNITS_PER_TIME);
    for (uint32_t k = 0; k < 3; k++) {
        tc_vote_batch b;
        peer_batch(&b, 0, k, 10 + k, &ia, 1);
        cr_assert_eq(deliver(fin, &b), 0);
        tc_vote_batch_deinit(&b);
    }
    cr_assert_eq(tc_finality_weight(fin, &ia), 3, "Q = 3 of W = 4");
    cr_assert_not(tc_finality_is_final(fin, &ia), "no body yet");
    cr_assert_eq(count_kind(drain(fin), TC_FINALITY_EV_FINALIZED), 0);
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.orphans, 1);
    cr_assert_eq(add(fin, &a, &ia), 0);
    cr_assert(tc_finality_is_final(fin, &ia));
    uint32_t n = drain(fin);
    cr_assert_eq(count_kind(n, TC_FINALITY_EV_FINALIZED), 1);
    cr_assert_eq(utxo_of(&a.inputs[0].prev).state, TC_UTXO_FINALIZED);
    cr_assert_eq(add(fin, &a, &ia), 0, "idempotent");
    cr_assert_eq(count_kind(drain(fin), TC_FINALITY_EV_FINALIZED), 0);
    tc_tx_deinit(&a);
}

Test(finality, duplicate_batch_is_ignored, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(-1, T0, NULL, 0, NULL);
    tc_tx a;
    tc_hash ia;
    mk_tx(&a, &ia, 0, TC_UNITS_PER_TIME);
    cr_assert_eq(add(fin, &a, &ia), 0);
    tc_vote_batch b;
    peer_batch(&b, 0, 1, 3, &ia, 1);
    cr_assert_eq(deliver(fin, &b), 0);
    cr_assert_eq(deliver(fin, &b), TC_EEXIST);
    cr_assert_eq(tc_finality_weight(fin, &ia), 1);
    cr_assert_eq(drain(fin), 0, "no event for a duplicate");
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.batches, 1);
    tc_vote_batch_deinit(&b);
    tc_tx_deinit(&a);
}

Test(finality, forged_and_misaddressed_batches_are_rejected, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(-1, T0, NULL, 0, NULL);
    tc_hash id;
    tc_hash_tagged(&id, "test/id", "x", 1);
    tc_vote_batch b;
    peer_batch(&b, 0, 1, 3, &id, 1);
    b.sig.b[5] ^= 1;
    cr_assert_eq(deliver(fin, &b), TC_EBADSIG);
    b.sig.b[5] ^= 1;
    b.validator = vidx(2); /* key 1's signature under validator 2's index */
    cr_assert_eq(deliver(fin, &b), TC_EBADSIG);
    tc_vote_batch_deinit(&b);
    peer_batch(&b, 1, 1, 3, &id, 1);
    cr_assert_eq(deliver(fin, &b), TC_ERANGE, "epoch 1 in epoch 0");
    tc_vote_batch_deinit(&b);
    peer_batch(&b, 0, 1, 3, &id, 1);
    b.validator = 4;
    cr_assert_eq(deliver(fin, &b), TC_ERANGE, "index past the set");
    b.validator = vidx(1);
    b.seq = UINT64_MAX;
    cr_assert_eq(deliver(fin, &b), TC_ERANGE);
    tc_vote_batch_deinit(&b);
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.batches, 0);
    cr_assert_eq(st.txs, 0);
    cr_assert_eq(drain(fin), 0);
}

Test(finality, equivocating_batch_is_reported, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(-1, T0, NULL, 0, NULL);
    tc_hash x, y;
    tc_hash_tagged(&x, "test/id", "x", 1);
    tc_hash_tagged(&y, "test/id", "y", 1);
    tc_vote_batch b1, b2;
    peer_batch(&b1, 0, 3, 9, &x, 1);
    peer_batch(&b2, 0, 3, 9, &y, 1);
    cr_assert_eq(deliver(fin, &b1), 0);
    cr_assert_eq(deliver(fin, &b2), TC_EEXIST);
    uint32_t n = drain(fin);
    cr_assert_eq(n, 1);
    cr_assert_eq(evs[0].kind, TC_FINALITY_EV_EQUIVOCATION);
    cr_assert_eq(evs[0].validator, vidx(3));
    cr_assert_eq(evs[0].seq, 9);
    cr_assert(hash_eq(&evs[0].batch->txids[0], &x), "the stored batch");
    tc_hash h2;
    tc_vote_batch_sign_hash(&b2, &h2);
    cr_assert(hash_eq(&evs[0].hash2, &h2), "the newcomer's sign hash");
    cr_assert_eq(tc_finality_weight(fin, &y), 0, "the second batch is not counted");
    tc_vote_batch_deinit(&b1);
    tc_vote_batch_deinit(&b2);
}

/* The entry a node's delivery uses, with the batch's signed hash given (the seen filter's key of
 * its frame): the same verdicts as tc_finality_on_batch, which computes the hash itself. The
 * hash stands for the content it was computed from: the stored copy's is what a duplicate is
 * told by, the newcomer's is what an equivocation event names and what the signature covers. */
Test(finality, the_signed_entry_takes_the_hash_from_its_caller, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(-1, T0, NULL, 0, NULL);
    tc_hash x, y, hx, hy;
    tc_hash_tagged(&x, "test/id", "x", 1);
    tc_hash_tagged(&y, "test/id", "y", 1);
    tc_vote_batch b1, b2;
    peer_batch(&b1, 0, 3, 9, &x, 1);
    peer_batch(&b2, 0, 3, 9, &y, 1);
    tc_vote_batch_sign_hash(&b1, &hx);
    tc_vote_batch_sign_hash(&b2, &hy);
    tc_store_txn *t = begin();
    cr_assert_eq(tc_finality_on_batch_signed(fin, t, T0, &b1, &hy), TC_EBADSIG,
                 "the signature is checked against the hash given");
    cr_assert_eq(tc_finality_on_batch_signed(fin, t, T0, &b1, &hx), 0, "taken");
    cr_assert_eq(tc_finality_on_batch_signed(fin, t, T0, &b1, &hx), TC_EEXIST, "a duplicate");
    cr_assert_eq(tc_finality_on_batch(fin, t, T0, &b1), TC_EEXIST, "the same for the plain entry");
    cr_assert_eq(tc_finality_on_batch_signed(fin, t, T0, &b2, &hy), TC_EEXIST, "an equivocation");
    commit(t);
    cr_assert_eq(drain(fin), 1, "one event: the equivocation");
    cr_assert_eq(evs[0].kind, TC_FINALITY_EV_EQUIVOCATION);
    cr_assert(hash_eq(&evs[0].hash2, &hy), "the newcomer's sign hash, as given");
    cr_assert_eq(tc_finality_weight(fin, &x), 1, "b1 counted once");
    cr_assert_eq(tc_finality_weight(fin, &y), 0, "b2 not counted");
    tc_vote_batch_deinit(&b1);
    tc_vote_batch_deinit(&b2);
}

/* ---- durable locks ---- */

Test(finality, never_two_conflicting_votes_even_after_a_crash, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(0, T0, NULL, 0, NULL);
    tc_tx a, b;
    tc_hash ia, ib;
    mk_tx(&a, &ia, 0, 10 * TC_UNITS_PER_TIME);
    mk_tx(&b, &ib, 0, 20 * TC_UNITS_PER_TIME); /* spends the same coin */
    cr_assert_eq(vote(fin, &a, &ia, T0, NULL), 0);
    cr_assert_eq(vote(fin, &b, &ib, T0 + 1, NULL), TC_ETX_LOCKED);
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.txs, 1, "a refused vote changes nothing, not even tracking");
    /* Crash with uncommitted work in flight: the committed lock survives. */
    tc_finality_free(fin);
    fin = NULL;
    tc_store_txn *t = begin();
    tc_utxo_entry u;
    cr_assert_eq(tc_utxo_get(t, &a.inputs[0].prev, &u), 0);
    cr_assert_eq(tc_store_put(t, TC_TABLE_LOCKS, "junk", 4, "x", 1), 0);
    cr_assert_eq(ts_chain_restart(&fx), 0); /* tc_store_mem_crash drops t */
    fin = fin_open(0, T0 + 50, NULL, 0, NULL);
    tc_finality_vote_result r = TC_FINALITY_VOTED;
    cr_assert_eq(vote(fin, &b, &ib, T0 + 60, &r), TC_ETX_LOCKED);
    tc_utxo_entry held = utxo_of(&a.inputs[0].prev);
    cr_assert_eq(held.state, TC_UTXO_LOCKED);
    cr_assert(hash_eq(&held.txid, &ia));
    cr_assert_eq(vote(fin, &a, &ia, T0 + 70, &r), 0);
    cr_assert_eq(r, TC_FINALITY_VOTED_BEFORE, "the recovered vote");
    tc_tx_deinit(&a);
    tc_tx_deinit(&b);
}

Test(finality, a_vote_lost_in_a_crash_before_commit_never_left, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(0, T0, NULL, 0, NULL);
    tc_tx a, b;
    tc_hash ia, ib;
    mk_tx(&a, &ia, 0, 10 * TC_UNITS_PER_TIME);
    mk_tx(&b, &ib, 0, 20 * TC_UNITS_PER_TIME);
    tc_store_txn *t = begin();
    tc_finality_vote_result r;
    cr_assert_eq(tc_finality_vote_tx(fin, t, T0, &a, &ia, &r), 0);
    /* Crash before the commit: by the contract no batch naming a was sent. */
    tc_finality_free(fin);
    fin = NULL;
    cr_assert_eq(ts_chain_restart(&fx), 0);
    fin = fin_open(0, T0 + 50, NULL, 0, NULL);
    cr_assert_eq(utxo_of(&a.inputs[0].prev).state, TC_UTXO_UNSPENT);
    cr_assert_eq(vote(fin, &b, &ib, T0 + 60, &r), 0);
    cr_assert_eq(r, TC_FINALITY_VOTED);
    tick(fin, T0 + 70);
    const tc_finality_event *e = find_kind(drain(fin), TC_FINALITY_EV_BATCH);
    cr_assert_not_null(e);
    cr_assert_eq(e->batch->seq, 1, "seq 1 was never persisted, so never sent");
    tc_tx_deinit(&a);
    tc_tx_deinit(&b);
}

Test(finality, quorum_outranks_this_nodes_own_lock, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(0, T0, NULL, 0, NULL);
    tc_tx a, b;
    tc_hash ia, ib;
    mk_tx(&a, &ia, 0, 10 * TC_UNITS_PER_TIME);
    mk_tx(&b, &ib, 0, 20 * TC_UNITS_PER_TIME);
    cr_assert_eq(vote(fin, &a, &ia, T0, NULL), 0);
    cr_assert_eq(add(fin, &b, &ib), 0);
    for (uint32_t k = 1; k < 4; k++) {
        tc_vote_batch vb;
        peer_batch(&vb, 0, k, 1, &ib, 1);
        cr_assert_eq(deliver(fin, &vb), 0);
        tc_vote_batch_deinit(&vb);
    }
    cr_assert(tc_finality_is_final(fin, &ib));
    tc_utxo_entry u = utxo_of(&b.inputs[0].prev);
    cr_assert_eq(u.state, TC_UTXO_FINALIZED);
    cr_assert(hash_eq(&u.txid, &ib));
    tc_tx_deinit(&a);
    tc_tx_deinit(&b);
}

/* The store no longer shows this validator's lock for a once b finalized over it, so b's body
 * arriving again (re-gossip after a restart emptied the seen filter) must not earn b a vote:
 * a and b in this validator's batches would be double-lock evidence against it. */
Test(finality, a_tx_final_here_gets_no_vote_even_over_a_lost_own_lock, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(0, T0, NULL, 0, NULL);
    tc_tx a, b;
    tc_hash ia, ib;
    mk_tx(&a, &ia, 0, 10 * TC_UNITS_PER_TIME);
    mk_tx(&b, &ib, 0, 20 * TC_UNITS_PER_TIME);
    cr_assert_eq(vote(fin, &a, &ia, T0, NULL), 0);
    tick(fin, T0 + 20);
    drain(fin);
    /* A restart, then a quorum of the others for b. */
    tc_finality_free(fin);
    cr_assert_eq(ts_chain_restart(&fx), 0);
    fin = fin_open(0, T0 + 30, NULL, 0, NULL);
    for (uint32_t k = 1; k < 4; k++) {
        tc_vote_batch vb;
        peer_batch(&vb, 0, k, 1, &ib, 1);
        cr_assert_eq(deliver(fin, &vb), 0);
        tc_vote_batch_deinit(&vb);
    }
    /* b's body first meets a's lock (the node tracks it as a rival), then finalizes over it. */
    cr_assert_eq(vote(fin, &b, &ib, T0 + 35, NULL), TC_ETX_LOCKED);
    cr_assert_eq(add(fin, &b, &ib), 0);
    tc_finality_vote_result r = TC_FINALITY_VOTED;
    cr_assert_eq(vote(fin, &b, &ib, T0 + 40, &r), 0);
    cr_assert_eq(r, TC_FINALITY_FINAL);
    cr_assert(tc_finality_is_final(fin, &ib));
    tick(fin, T0 + 100);
    cr_assert_eq(count_kind(drain(fin), TC_FINALITY_EV_LOCK_EQUIVOCATION), 0);
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.pending_txids, 0, "no own batch names b");
    tc_tx_deinit(&a);
    tc_tx_deinit(&b);
}

/* ---- lock equivocation ---- */

Test(finality, lock_equivocation_is_detected_whatever_the_arrival_order, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(-1, T0, NULL, 0, NULL);
    tc_tx a, b;
    tc_hash ia, ib;
    mk_tx(&a, &ia, 1, 10 * TC_UNITS_PER_TIME);
    mk_tx(&b, &ib, 1, 20 * TC_UNITS_PER_TIME);
    /* Votes first, bodies later. */
    tc_vote_batch b1, b2;
    peer_batch(&b1, 0, 2, 4, &ia, 1);
    peer_batch(&b2, 0, 2, 5, &ib, 1);
    cr_assert_eq(deliver(fin, &b1), 0);
    cr_assert_eq(deliver(fin, &b2), 0);
    cr_assert_eq(add(fin, &a, &ia), 0);
    cr_assert_eq(drain(fin), 0, "one body alone proves nothing");
    cr_assert_eq(add(fin, &b, &ib), 0);
    uint32_t n = drain(fin);
    cr_assert_eq(n, 1);
    const tc_finality_event *e = &evs[0];
    cr_assert_eq(e->kind, TC_FINALITY_EV_LOCK_EQUIVOCATION);
    cr_assert_eq(e->validator, vidx(2));
    cr_assert(hash_eq(&e->txid, &ib) && e->seq == 5);
    cr_assert(hash_eq(&e->txid2, &ia) && e->seq2 == 4);
    cr_assert_eq(tc_outpoint_cmp(&e->outpoint, &a.inputs[0].prev), 0);
    /* Bodies first, votes later: reported when the second vote arrives. */
    tc_vote_batch b3, b4;
    peer_batch(&b3, 0, 3, 1, &ia, 1);
    peer_batch(&b4, 0, 3, 2, &ib, 1);
    cr_assert_eq(deliver(fin, &b3), 0);
    cr_assert_eq(drain(fin), 0);
    cr_assert_eq(deliver(fin, &b4), 0);
    n = drain(fin);
    cr_assert_eq(count_kind(n, TC_FINALITY_EV_LOCK_EQUIVOCATION), 1);
    cr_assert_eq(find_kind(n, TC_FINALITY_EV_LOCK_EQUIVOCATION)->validator, vidx(3));
    tc_vote_batch_deinit(&b1);
    tc_vote_batch_deinit(&b2);
    tc_vote_batch_deinit(&b3);
    tc_vote_batch_deinit(&b4);
    tc_tx_deinit(&a);
    tc_tx_deinit(&b);
}

Test(finality, two_quorums_on_one_outpoint_raise_a_conflict, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(-1, T0, NULL, 0, NULL);
    tc_tx a, b;
    tc_hash ia, ib;
    mk_tx(&a, &ia, 1, 10 * TC_UNITS_PER_TIME);
    mk_tx(&b, &ib, 1, 20 * TC_UNITS_PER_TIME);
    cr_assert_eq(add(fin, &a, &ia), 0);
    cr_assert_eq(add(fin, &b, &ib), 0);
    tc_hash both[2] = {ia, ib};
    for (uint32_t k = 0; k < 4; k++) { /* everybody equivocates: Byzantine weight > W/3 */
        tc_vote_batch vb;
        peer_batch(&vb, 0, k, 1, both, 2);
        cr_assert_eq(deliver(fin, &vb), 0);
        tc_vote_batch_deinit(&vb);
    }
    uint32_t n = drain(fin);
    cr_assert_eq(count_kind(n, TC_FINALITY_EV_FINALIZED), 1, "only the first to reach Q");
    cr_assert_eq(count_kind(n, TC_FINALITY_EV_CONFLICT), 1);
    cr_assert_gt(count_kind(n, TC_FINALITY_EV_LOCK_EQUIVOCATION), 0);
    const tc_finality_event *c = find_kind(n, TC_FINALITY_EV_CONFLICT);
    tc_utxo_entry u = utxo_of(&a.inputs[0].prev);
    cr_assert(hash_eq(&u.txid, &c->txid2), "the finalized one stays");
    cr_assert_not(hash_eq(&c->txid, &c->txid2));
    tc_tx_deinit(&a);
    tc_tx_deinit(&b);
}

/* ---- certificates ---- */

static void quorum_for(tc_finality *f, const tc_hash *id, uint32_t voters)
{
    for (uint32_t k = 0; k < voters; k++) {
        tc_vote_batch vb;
        peer_batch(&vb, 0, k, 100 + k, id, 1);
        cr_assert_eq(deliver(f, &vb), 0);
        tc_vote_batch_deinit(&vb);
    }
}

Test(finality, certificate_build_and_check, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(-1, T0, NULL, 0, NULL);
    tc_tx a;
    tc_hash ia, other;
    mk_tx(&a, &ia, 0, TC_UNITS_PER_TIME);
    tc_hash_tagged(&other, "test/id", "other", 5);
    tc_fincert c;
    cr_assert_eq(tc_finality_cert_build(fin, &ia, &c), TC_ENOTFOUND);
    quorum_for(fin, &ia, 4);
    cr_assert_eq(tc_finality_cert_build(fin, &ia, &c), 0);
    cr_assert_eq(c.epoch, 0);
    cr_assert_eq(c.ref_count, 3, "Q = 3 of 4: the first three voters by index");
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert_eq(c.refs[i].validator, i);
        cr_assert_eq(c.refs[i].seq, 100 + key_of_index(i));
    }
    cr_assert_eq(c.bitmap_len, 1);
    cr_assert_eq(c.bitmap[0], 0x07);
    cr_assert_eq(tc_finality_cert_check(fin, &ia, &c, NULL, 0, NULL), 0);
    /* A node without the batches learns which to fetch. */
    tc_finality *g = fin_open(-1, T0, NULL, 0, NULL);
    tc_batch_ref miss[4];
    uint32_t nmiss = 0;
    cr_assert_eq(tc_finality_cert_check(g, &ia, &c, miss, 2, &nmiss), TC_ENOTFOUND);
    cr_assert_eq(nmiss, 3);
    cr_assert_eq(miss[0].validator, 0);
    cr_assert_eq(miss[1].validator, 1);
    cr_assert_eq(miss[1].seq, c.refs[1].seq);
    for (uint32_t i = 0; i < 3; i++) {
        const tc_vote_batch *vb = NULL;
        cr_assert_eq(tc_finality_batch_get(fin, c.refs[i].validator, c.refs[i].seq, &vb), 0);
        cr_assert_eq(deliver(g, vb), 0);
    }
    cr_assert_eq(tc_finality_cert_check(g, &ia, &c, miss, 4, &nmiss), 0);
    cr_assert_eq(nmiss, 0);
    /* The batches exist but do not name other: malformed, not missing. */
    cr_assert_eq(tc_finality_cert_check(g, &other, &c, miss, 4, &nmiss), TC_EBLK_CERT);
    tc_finality_free(g);
    /* Weight < Q: two refs. */
    c.ref_count = 2;
    c.bitmap[0] = 0x03;
    cr_assert_eq(tc_finality_cert_check(fin, &ia, &c, NULL, 0, NULL), TC_EBLK_CERT);
    /* Bitmap and refs disagree. */
    c.ref_count = 3;
    c.bitmap[0] = 0x0b;
    cr_assert_eq(tc_finality_cert_check(fin, &ia, &c, NULL, 0, NULL), TC_EBLK_CERT);
    c.bitmap[0] = 0x07;
    /* Refs out of order. */
    tc_batch_ref tmp = c.refs[0];
    c.refs[0] = c.refs[1];
    c.refs[1] = tmp;
    cr_assert_eq(tc_finality_cert_check(fin, &ia, &c, NULL, 0, NULL), TC_EBLK_CERT);
    c.refs[1] = c.refs[0];
    c.refs[0] = tmp;
    c.epoch = 1;
    cr_assert_eq(tc_finality_cert_check(fin, &ia, &c, NULL, 0, NULL), TC_ERANGE);
    tc_fincert_deinit(&c);
    tc_tx_deinit(&a);
}

/* ---- re-gossip and clean-up ---- */

Test(finality, pending_work_is_regossiped_until_confirmed, .fini = teardown)
{
    chain_up(4, NULL, 4);
    const tc_profile *p = tc_chain_profile(fx.chain);
    fin = fin_open(0, T0, NULL, 0, NULL);
    tc_tx a;
    tc_hash ia;
    mk_tx(&a, &ia, 0, TC_UNITS_PER_TIME);
    cr_assert_eq(vote(fin, &a, &ia, T0, NULL), 0);
    tick(fin, T0 + 10);
    cr_assert_eq(drain(fin), 1);
    cr_assert_eq(tc_finality_next_deadline(fin), T0 + p->regossip_interval_ms);
    tick(fin, T0 + p->regossip_interval_ms - 1);
    cr_assert_eq(drain(fin), 0);
    tick(fin, T0 + p->regossip_interval_ms);
    /* The first pass: the transaction and its batch came after the previous pass (there was
     * none), so nothing goes out; a block usually confirms a transaction before a second. */
    uint32_t n = drain(fin);
    cr_assert_eq(n, 0);
    cr_assert_eq(tc_finality_next_deadline(fin), T0 + 2 * p->regossip_interval_ms);
    /* Still pending at the second pass: now it goes out too. */
    tick(fin, T0 + 2 * p->regossip_interval_ms);
    n = drain(fin);
    cr_assert_eq(n, 2);
    cr_assert_eq(evs[0].kind, TC_FINALITY_EV_REGOSSIP_TX);
    cr_assert(hash_eq(&evs[0].txid, &ia));
    cr_assert_eq(evs[1].kind, TC_FINALITY_EV_REGOSSIP_BATCH);
    cr_assert_eq(evs[1].batch->validator, vidx(0));
    confirmed(fin, &a, &ia);
    cr_assert_eq(tc_finality_next_deadline(fin), UINT64_MAX, "nothing pending");
    tick(fin, T0 + 3 * p->regossip_interval_ms);
    cr_assert_eq(drain(fin), 0);
    tc_tx_deinit(&a);
}

/* After a restart the first pass is due at once and resends what the store gave back. */
Test(finality, a_restarted_node_regossips_what_it_recovered_at_once, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(0, T0, NULL, 0, NULL);
    tc_tx a;
    tc_hash ia;
    mk_tx(&a, &ia, 0, TC_UNITS_PER_TIME);
    cr_assert_eq(vote(fin, &a, &ia, T0, NULL), 0);
    tick(fin, T0 + 10);
    (void)drain(fin);
    tc_finality_free(fin);
    cr_assert_eq(ts_chain_restart(&fx), 0);
    fin = fin_open(0, T0 + 100, NULL, 0, NULL);
    cr_assert_eq(tc_finality_next_deadline(fin), T0 + 100, "a pass is due at once");
    tick(fin, T0 + 100);
    uint32_t n = drain(fin);
    cr_assert_geq(n, 1);
    cr_assert_not_null(find_kind(n, TC_FINALITY_EV_REGOSSIP_TX), "the recovered vote's tx");
    tc_tx_deinit(&a);
}

Test(finality, bookkeeping_returns_to_empty_after_confirmations, .fini = teardown)
{
    chain_up(4, NULL, 64);
    fin = fin_open(0, T0, NULL, 0, NULL);
    tc_tx txs[64], losers[8];
    tc_hash ids[64], lids[8];
    for (uint32_t i = 0; i < 64; i++) {
        mk_tx(&txs[i], &ids[i], i, TC_UNITS_PER_TIME);
        cr_assert_eq(vote(fin, &txs[i], &ids[i], T0, NULL), 0);
    }
    for (uint32_t i = 0; i < 8; i++) { /* conflicting spends known to this node */
        mk_tx(&losers[i], &lids[i], i, 2 * TC_UNITS_PER_TIME);
        cr_assert_eq(add(fin, &losers[i], &lids[i]), 0);
    }
    tick(fin, T0 + 10);
    for (uint32_t k = 1; k < 4; k++) {
        tc_vote_batch vb;
        peer_batch(&vb, 0, k, 1, ids, 64);
        cr_assert_eq(deliver(fin, &vb), 0);
        tc_vote_batch_deinit(&vb);
    }
    tc_hash orphan;
    tc_hash_tagged(&orphan, "test/id", "never", 5);
    tc_hash mixed[2] = {ids[0], orphan};
    tc_vote_batch vb;
    peer_batch(&vb, 0, 1, 2, mixed, 2);
    cr_assert_eq(deliver(fin, &vb), 0);
    tc_vote_batch_deinit(&vb);
    uint32_t n = drain(fin);
    cr_assert_eq(count_kind(n, TC_FINALITY_EV_FINALIZED), 64);
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.txs, 64 + 8 + 1);
    cr_assert_eq(st.batches, 5);
    for (uint32_t i = 0; i < 64; i++)
        confirmed(fin, &txs[i], &ids[i]);
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.txs, 1, "only the orphan, kept by its batch");
    cr_assert_eq(st.batches, 1);
    cr_assert_eq(st.inputs, 0);
    cr_assert_eq(st.batch_txids, 2);
    /* The epoch ends: nothing of it remains. */
    tc_store_txn *t = begin();
    tc_vset next;
    cr_assert_eq(tc_vset_copy(&next, &vset), 0);
    next.epoch = 1;
    cr_assert_eq(tc_finality_epoch_change(fin, t, T0 + 100, &next, NULL, 0), 0);
    commit(t);
    tc_vset_deinit(&next);
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.txs + st.orphans + st.inputs + st.batches + st.batch_txids, 0);
    cr_assert_eq(st.pending_txids, 0);
    for (uint32_t i = 0; i < 64; i++)
        tc_tx_deinit(&txs[i]);
    for (uint32_t i = 0; i < 8; i++)
        tc_tx_deinit(&losers[i]);
}

/* A loser's lock on an input the winner does not spend stays until the epoch ends: released
 * at confirmation, it would let this validator vote for a second transaction on that input in
 * the same epoch (PROTOCOL 11.9). A restart does not track the dead loser again, and the epoch
 * change releases its lock from the vote record. */
Test(finality, confirmation_of_a_conflict_keeps_the_losers_locks_until_the_epoch_ends,
     .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(0, T0, NULL, 0, NULL);
    tc_tx loser, win;
    tc_hash il, iw;
    mk_conflict(&loser, &il, &win, &iw);
    cr_assert_eq(vote(fin, &loser, &il, T0, NULL), 0);
    cr_assert_eq(utxo_of(&loser.inputs[0].prev).state, TC_UTXO_LOCKED);
    cr_assert_eq(add(fin, &win, &iw), 0);
    cr_assert_eq(ts_chain_advance(&fx, &win, 1, NULL, 0), 0); /* a block confirms win */
    confirmed(fin, &win, &iw);
    tc_utxo_entry held = utxo_of(&loser.inputs[0].prev);
    cr_assert_eq(held.state, TC_UTXO_LOCKED);
    cr_assert(hash_eq(&held.txid, &il));
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.txs, 0);
    cr_assert_eq(st.inputs, 0);
    /* Another spend of coin 0 gets no vote in this epoch. */
    tc_tx other;
    tc_hash io;
    mk_tx(&other, &io, 0, 7 * TC_UNITS_PER_TIME);
    tc_finality_vote_result r;
    cr_assert_eq(vote(fin, &other, &io, T0 + 10, &r), TC_ETX_LOCKED);
    /* A restart does not track the dead loser again, so its handoff does not carry it. */
    tc_finality_free(fin);
    cr_assert_eq(ts_chain_restart(&fx), 0);
    fin = fin_open(0, T0 + 20, NULL, 0, NULL);
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.txs, 0);
    cr_assert_eq(vote(fin, &other, &io, T0 + 30, &r), TC_ETX_LOCKED);
    tc_store_txn *t = begin();
    tc_handoff h;
    cr_assert_eq(tc_finality_handoff(fin, t, T0 + 40, &h), 0);
    commit(t);
    cr_assert_eq(h.txid_count, 0);
    tc_handoff_deinit(&h);
    /* The epoch ends, carrying nothing: the loser's lock goes with its record. */
    tc_vset next;
    cr_assert_eq(tc_vset_copy(&next, &vset), 0);
    next.epoch = 1;
    t = begin();
    cr_assert_eq(tc_finality_epoch_change(fin, t, T0 + 100, &next, NULL, 0), 0);
    commit(t);
    tc_vset_deinit(&next);
    cr_assert_eq(utxo_of(&loser.inputs[0].prev).state, TC_UTXO_UNSPENT);
    tc_tx_deinit(&other);
    tc_tx_deinit(&loser);
    tc_tx_deinit(&win);
}

/* ---- handoff and the epoch change ---- */

static void handoff_of(uint32_t key_i, const tc_hash *ids, uint32_t n, tc_handoff *h)
{
    memset(h, 0, sizeof(*h));
    h->epoch = 0;
    h->validator = vidx(key_i);
    h->txid_count = n;
    h->txids = malloc((n ? n : 1) * sizeof(tc_hash));
    cr_assert_not_null(h->txids);
    if (n > 0)
        memcpy(h->txids, ids, n * sizeof(tc_hash));
    tc_handoff_sign(h, TC_SIG_FAST, &keys[key_i]);
}

Test(finality, handoff_lists_unconfirmed_votes_and_queues_newcomers, .fini = teardown)
{
    chain_up(4, NULL, 8);
    fin = fin_open(0, T0, NULL, 0, NULL);
    tc_tx t[4];
    tc_hash id[4];
    for (uint32_t i = 0; i < 4; i++)
        mk_tx(&t[i], &id[i], i, TC_UNITS_PER_TIME);
    for (uint32_t i = 0; i < 3; i++)
        cr_assert_eq(vote(fin, &t[i], &id[i], T0, NULL), 0);
    tick(fin, T0 + 10);
    drain(fin);
    cr_assert_eq(ts_chain_advance(&fx, &t[0], 1, NULL, 0), 0); /* a block confirms t0 */
    confirmed(fin, &t[0], &id[0]);
    cr_assert_eq(vote(fin, &t[3], &id[3], T0 + 20, NULL), 0); /* pending at the handoff */
    tc_store_txn *tx = begin();
    tc_handoff h;
    cr_assert_eq(tc_finality_handoff(fin, tx, T0 + 25, &h), 0);
    commit(tx);
    const tc_finality_event *e = find_kind(drain(fin), TC_FINALITY_EV_BATCH);
    cr_assert_not_null(e, "the pending batch left before the handoff");
    cr_assert_eq(e->batch->txid_count, 1);
    cr_assert_eq(h.epoch, 0);
    cr_assert_eq(h.validator, vidx(0));
    cr_assert_eq(h.txid_count, 3, "1, 2 and 3; 0 is confirmed");
    for (uint32_t i = 1; i < h.txid_count; i++)
        cr_assert_lt(memcmp(&h.txids[i - 1], &h.txids[i], 32), 0, "sorted");
    for (uint32_t i = 1; i < 4; i++)
        cr_assert_not_null(bsearch(&id[i], h.txids, h.txid_count, 32, hash_cmp));
    tc_hash sh;
    tc_handoff_sign_hash(&h, &sh);
    cr_assert_eq(tc_verify(&fx.verifier, &keys[0].pub, &sh, &h.sig), 0);
    tc_handoff_deinit(&h);
    /* After the handoff, newcomers wait, even across a restart. */
    tc_tx late;
    tc_hash il;
    mk_tx(&late, &il, 5, TC_UNITS_PER_TIME);
    tc_finality_vote_result r;
    cr_assert_eq(vote(fin, &late, &il, T0 + 30, &r), 0);
    cr_assert_eq(r, TC_FINALITY_QUEUED);
    cr_assert_eq(utxo_of(&late.inputs[0].prev).state, TC_UTXO_UNSPENT, "no lock, no vote");
    tc_finality_free(fin);
    cr_assert_eq(ts_chain_restart(&fx), 0);
    fin = fin_open(0, T0 + 40, NULL, 0, NULL);
    cr_assert_eq(vote(fin, &late, &il, T0 + 50, &r), 0);
    cr_assert_eq(r, TC_FINALITY_QUEUED);
    tx = begin();
    cr_assert_eq(tc_finality_handoff(fin, tx, T0 + 60, &h), 0);
    commit(tx);
    cr_assert_eq(h.txid_count, 3, "rebuilt from the vote records");
    tc_hash sh2;
    tc_handoff_sign_hash(&h, &sh2);
    cr_assert(hash_eq(&sh, &sh2), "the same handoff: two would be evidence (kind 4)");
    tc_handoff_deinit(&h);
    /* The list is the recorded one, not recomputed: a confirmation after the handoff (none
     * happens before the closing block, but a record is what the promise rests on) leaves the
     * signed handoff as it was. */
    cr_assert_eq(ts_chain_advance(&fx, &t[1], 1, NULL, 0), 0);
    confirmed(fin, &t[1], &id[1]);
    tx = begin();
    cr_assert_eq(tc_finality_handoff(fin, tx, T0 + 70, &h), 0);
    commit(tx);
    cr_assert_eq(h.txid_count, 3, "the recorded list");
    tc_handoff_sign_hash(&h, &sh2);
    cr_assert(hash_eq(&sh, &sh2), "the same bytes signed again");
    tc_handoff_deinit(&h);
    tc_tx_deinit(&late);
    for (uint32_t i = 0; i < 4; i++)
        tc_tx_deinit(&t[i]);
}

Test(finality, carry_list_is_the_checked_union_of_handoffs, .fini = teardown)
{
    chain_up(4, NULL, 4);
    tc_hash id[5];
    for (int i = 0; i < 5; i++)
        tc_hash_tagged(&id[i], "test/id", &i, sizeof(i));
    tc_hash l0[3] = {id[3], id[0], id[1]};
    tc_hash l1[2] = {id[1], id[4]};
    tc_hash l2[1] = {id[0]};
    tc_handoff hs[4];
    handoff_of(0, l0, 3, &hs[0]);
    handoff_of(1, l1, 2, &hs[1]);
    handoff_of(2, l2, 1, &hs[2]);
    handoff_of(3, NULL, 0, &hs[3]);
    tc_hash *carry = NULL;
    uint32_t n = 0;
    cr_assert_eq(tc_finality_carry_list(&vset, &fx.verifier, hs, 3, &carry, &n), 0);
    cr_assert_eq(n, 4, "0, 1, 3, 4: deduplicated");
    for (uint32_t i = 1; i < n; i++)
        cr_assert_lt(memcmp(&carry[i - 1], &carry[i], 32), 0, "sorted");
    for (int i = 0; i < 5; i++)
        cr_assert_eq(bsearch(&id[i], carry, n, 32, hash_cmp) != NULL, i != 2);
    free(carry);
    cr_assert_eq(tc_finality_carry_list(&vset, &fx.verifier, hs, 2, &carry, &n), TC_EBLK_CERT,
                 "weight 2 < Q 3");
    cr_assert_null(carry);
    cr_assert_eq(n, 0);
    tc_handoff dup[3] = {hs[0], hs[1], hs[0]};
    cr_assert_eq(tc_finality_carry_list(&vset, &fx.verifier, dup, 3, &carry, &n), TC_EEXIST);
    hs[3].sig.b[0] ^= 1;
    cr_assert_eq(tc_finality_carry_list(&vset, &fx.verifier, hs, 4, &carry, &n), TC_EBADSIG);
    hs[3].sig.b[0] ^= 1;
    hs[3].epoch = 1;
    cr_assert_eq(tc_finality_carry_list(&vset, &fx.verifier, hs, 4, &carry, &n), TC_ERANGE);
    for (int i = 0; i < 4; i++)
        tc_handoff_deinit(&hs[i]);
}

Test(finality, epoch_change_releases_what_is_not_carried, .fini = teardown)
{
    chain_up(4, NULL, 8);
    fin = fin_open(0, T0, NULL, 0, NULL);
    tc_tx a, b, c, rival;
    tc_hash ia, ib, ic, ir;
    mk_tx(&a, &ia, 0, TC_UNITS_PER_TIME);
    mk_tx(&b, &ib, 1, TC_UNITS_PER_TIME);
    mk_tx(&c, &ic, 2, TC_UNITS_PER_TIME);
    mk_tx(&rival, &ir, 0, 3 * TC_UNITS_PER_TIME); /* conflicts with a */
    cr_assert_eq(vote(fin, &a, &ia, T0, NULL), 0);
    cr_assert_eq(vote(fin, &b, &ib, T0, NULL), 0);
    cr_assert_eq(add(fin, &c, &ic), 0);
    cr_assert_eq(add(fin, &rival, &ir), 0);
    tc_store_txn *t = begin();
    tc_handoff h;
    cr_assert_eq(tc_finality_handoff(fin, t, T0 + 5, &h), 0);
    commit(t);
    drain(fin);
    tc_handoff peers[3];
    for (uint32_t k = 1; k < 3; k++)
        handoff_of(k, &ia, 1, &peers[k]);
    peers[0] = h;
    tc_hash *carry = NULL;
    uint32_t n = 0;
    cr_assert_eq(tc_finality_carry_list(&vset, &fx.verifier, peers, 3, &carry, &n), 0);
    cr_assert_eq(n, 2);
    /* Carry a only: b's lock goes, a's stays. */
    tc_hash only_a = ia;
    tc_vset next;
    cr_assert_eq(tc_vset_copy(&next, &vset), 0);
    next.epoch = 1;
    t = begin();
    cr_assert_eq(tc_finality_epoch_change(fin, t, T0 + 100, &next, &only_a, 1), 0);
    commit(t);
    cr_assert_eq(tc_finality_epoch(fin), 1);
    cr_assert_eq(utxo_of(&a.inputs[0].prev).state, TC_UTXO_LOCKED);
    cr_assert_eq(utxo_of(&b.inputs[0].prev).state, TC_UTXO_UNSPENT);
    /* REVOTE names every pending transaction with a body, in arrival order. */
    uint32_t ne = drain(fin);
    cr_assert_eq(count_kind(ne, TC_FINALITY_EV_REVOTE), 4);
    cr_assert(hash_eq(&evs[0].txid, &ia));
    cr_assert(hash_eq(&evs[3].txid, &ir));
    /* The carried outpoint stays reserved for a: the rival cannot get this node's vote even
     * had its own lock not been there. */
    tc_finality_vote_result r;
    cr_assert_eq(vote(fin, &rival, &ir, T0 + 110, &r), TC_ETX_LOCKED);
    cr_assert_eq(vote(fin, &b, &ib, T0 + 110, &r), 0);
    cr_assert_eq(r, TC_FINALITY_VOTED);
    cr_assert_eq(vote(fin, &a, &ia, T0 + 110, &r), 0);
    cr_assert_eq(r, TC_FINALITY_VOTED, "a fresh vote in the new epoch");
    tick(fin, T0 + 120);
    const tc_finality_event *e = find_kind(drain(fin), TC_FINALITY_EV_BATCH);
    cr_assert_not_null(e);
    cr_assert_eq(e->batch->epoch, 1);
    cr_assert_eq(e->batch->txid_count, 2);
    /* The old epoch's vote records are gone: a restart rebuilds epoch 1's batch only. */
    tc_finality_free(fin);
    cr_assert_eq(ts_chain_restart(&fx), 0);
    tc_vset_deinit(&vset);
    vset = next;
    fin = fin_open(0, T0 + 200, &only_a, 1, NULL);
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.batches, 1);
    cr_assert_eq(tc_finality_weight(fin, &ia), 1);
    free(carry);
    tc_handoff_deinit(&h);
    for (uint32_t k = 1; k < 3; k++)
        tc_handoff_deinit(&peers[k]);
    tc_tx_deinit(&a);
    tc_tx_deinit(&b);
    tc_tx_deinit(&c);
    tc_tx_deinit(&rival);
}

/* Moves f to epoch `epoch` (vset's members) with carry (sorted) and drains its events. */
static void change_to(tc_finality *f, uint32_t epoch, const tc_hash *carry, uint32_t n)
{
    tc_vset next;
    cr_assert_eq(tc_vset_copy(&next, &vset), 0);
    next.epoch = epoch;
    tc_store_txn *t = begin();
    cr_assert_eq(tc_finality_epoch_change(f, t, T0 + 100 * epoch, &next, carry, n), 0);
    commit(t);
    drain(f);
    tc_vset_deinit(&next);
}

/* PROTOCOL 11.8: a transaction final in epoch 0 and carried into epoch 1 with a rival gets no
 * fresh quorum (nobody votes for either); its certificate of epoch 0 confirms it. A node that
 * never saw the old batches fetches them (answered from the old store) and then accepts it;
 * the same certificate for a transaction not carried is refused. */
Test(finality, a_carried_tx_final_in_the_old_epoch_keeps_its_old_certificate, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(-1, T0, NULL, 0, NULL);
    tc_finality *g = fin_open(-1, T0, NULL, 0, NULL); /* never sees epoch 0's batches */
    tc_tx a, rival;
    tc_hash ia, ir, other, carry[2];
    mk_tx(&a, &ia, 0, TC_UNITS_PER_TIME);
    mk_tx(&rival, &ir, 0, 3 * TC_UNITS_PER_TIME);
    tc_hash_tagged(&other, "test/id", "other", 5);
    cr_assert_eq(add(fin, &a, &ia), 0);
    cr_assert_eq(add(fin, &rival, &ir), 0);
    cr_assert_eq(add(g, &a, &ia), 0);
    quorum_for(fin, &ia, 3);
    cr_assert(tc_finality_is_final(fin, &ia), "3 of 4 voters: final in epoch 0");
    carry[0] = ia;
    carry[1] = ir;
    qsort(carry, 2, sizeof(tc_hash), hash_cmp);
    change_to(fin, 1, carry, 2);
    change_to(g, 1, carry, 2);
    cr_assert(tc_finality_is_final(fin, &ia), "still final in epoch 1");
    cr_assert_eq(tc_finality_weight(fin, &ia), 0, "no vote of epoch 1 yet");
    tc_fincert c;
    cr_assert_eq(tc_finality_cert_build(fin, &ia, &c), 0);
    cr_assert_eq(c.epoch, 0, "the old epoch's certificate");
    cr_assert_eq(c.ref_count, 3);
    cr_assert_eq(tc_finality_cert_check(fin, &ia, &c, NULL, 0, NULL), 0);
    tc_fincert none;
    cr_assert_eq(tc_finality_cert_build(fin, &ir, &none), TC_ENOTFOUND,
                 "the rival never was final");
    /* g lacks the batches: it learns which, and the holder answers from its old store. */
    tc_batch_ref miss[4];
    uint32_t nmiss = 0;
    cr_assert_eq(tc_finality_cert_check(g, &ia, &c, miss, 4, &nmiss), TC_ENOTFOUND);
    cr_assert_eq(nmiss, 3);
    for (uint32_t i = 0; i < 3; i++) {
        const tc_vote_batch *vb = NULL;
        cr_assert_eq(tc_finality_batch_get(fin, miss[i].validator, miss[i].seq, &vb), TC_ENOTFOUND,
                     "not a batch of epoch 1");
        cr_assert_eq(tc_finality_prev_batch_get(fin, miss[i].validator, miss[i].seq, &vb), 0);
        cr_assert_eq(vb->epoch, 0);
        cr_assert_eq(deliver(g, vb), 0);
        cr_assert_eq(deliver(g, vb), TC_EEXIST, "a duplicate");
    }
    cr_assert_eq(tc_finality_cert_check(g, &ia, &c, miss, 4, &nmiss), 0);
    cr_assert_eq(tc_finality_cert_check(g, &other, &c, NULL, 0, NULL), TC_ERANGE,
                 "an old certificate counts for a carried transaction only");
    /* An old batch naming nothing carried, or forged, is refused. */
    tc_vote_batch ob;
    peer_batch(&ob, 0, 3, 900, &other, 1);
    cr_assert_eq(deliver(g, &ob), TC_ERANGE);
    tc_vote_batch_deinit(&ob);
    peer_batch(&ob, 0, 3, 901, &ia, 1);
    ob.sig.b[0] ^= 1;
    cr_assert_eq(deliver(g, &ob), TC_EBADSIG);
    tc_vote_batch_deinit(&ob);
    /* Restarted inside epoch 1 with epoch 0's set (the chain's), a node checks it after the
     * fetch too. */
    tc_finality_free(g);
    vset.epoch = 0;
    tc_vset prev;
    cr_assert_eq(tc_vset_copy(&prev, &vset), 0);
    vset.epoch = 1;
    open_prev = &prev;
    g = fin_open(-1, T0 + 200, carry, 2, NULL);
    open_prev = NULL;
    cr_assert_eq(tc_finality_cert_check(g, &ia, &c, miss, 4, &nmiss), TC_ENOTFOUND);
    for (uint32_t i = 0; i < 3; i++) {
        const tc_vote_batch *vb = NULL;
        cr_assert_eq(tc_finality_prev_batch_get(fin, miss[i].validator, miss[i].seq, &vb), 0);
        cr_assert_eq(deliver(g, vb), 0);
    }
    cr_assert_eq(tc_finality_cert_check(g, &ia, &c, NULL, 0, NULL), 0);
    tc_vset_deinit(&prev);
    tc_finality_free(g);
    /* One epoch back only: at the next change epoch 0's certificate is gone. */
    change_to(fin, 2, NULL, 0);
    cr_assert_eq(tc_finality_cert_build(fin, &ia, &none), TC_ENOTFOUND);
    tc_fincert_deinit(&c);
    tc_tx_deinit(&a);
    tc_tx_deinit(&rival);
}

/* At the change a node keeps every batch naming a carried transaction, not only those of
 * certificates it built: another node's old certificate references batches this node received
 * while the epoch ran, and asked for again they would come back as frames its seen filter
 * drops (scenarios/lossy-epochs.scn, seed 8, waited in vain until its propose timeout). g saw
 * two of the three voters' batches: it misses only the third. */
Test(finality, a_carried_tx_keeps_the_old_batches_naming_it, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(-1, T0, NULL, 0, NULL);
    tc_finality *g = fin_open(-1, T0, NULL, 0, NULL);
    tc_tx a;
    tc_hash ia;
    mk_tx(&a, &ia, 0, TC_UNITS_PER_TIME);
    cr_assert_eq(add(fin, &a, &ia), 0);
    cr_assert_eq(add(g, &a, &ia), 0);
    quorum_for(fin, &ia, 3);
    quorum_for(g, &ia, 2);
    cr_assert(!tc_finality_is_final(g, &ia), "2 of 4 voters: not final at g");
    change_to(fin, 1, &ia, 1);
    change_to(g, 1, &ia, 1);
    tc_fincert c;
    cr_assert_eq(tc_finality_cert_build(fin, &ia, &c), 0);
    cr_assert_eq(c.ref_count, 3, "voters 0, 1 and 2");
    tc_batch_ref miss[4];
    uint32_t nmiss = 0;
    cr_assert_eq(tc_finality_cert_check(g, &ia, &c, miss, 4, &nmiss), TC_ENOTFOUND);
    cr_assert_eq(nmiss, 1, "only the batch g never saw is missing (got %u)", nmiss);
    cr_assert_eq(miss[0].validator, c.refs[2].validator, "the third voter's");
    const tc_vote_batch *vb = NULL;
    cr_assert_eq(tc_finality_prev_batch_get(g, c.refs[0].validator, c.refs[0].seq, &vb), 0,
                 "g answers a fetch of a kept one too");
    cr_assert_eq(tc_finality_prev_batch_get(fin, miss[0].validator, miss[0].seq, &vb), 0);
    cr_assert_eq(deliver(g, vb), 0);
    cr_assert_eq(tc_finality_cert_check(g, &ia, &c, NULL, 0, NULL), 0);
    tc_fincert_deinit(&c);
    tc_finality_free(g);
    tc_tx_deinit(&a);
}

/* Why one epoch of certificate reach suffices (PROTOCOL 18.1): a final transaction carried
 * with a rival gets no vote in the next epoch, so it is not carried again, but the epoch
 * change releases only the locks of the ending epoch's own vote records: its voters' locks
 * from the epoch it was final in stay. In the epoch after, they vote for it again (a fresh
 * certificate) and never for the rival. */
Test(finality, a_carried_pair_keeps_its_locks_so_the_final_one_is_voted_again_later,
     .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(0, T0, NULL, 0, NULL);
    tc_tx a, rival;
    tc_hash ia, ir, carry[2];
    tc_finality_vote_result res;
    mk_tx(&a, &ia, 0, TC_UNITS_PER_TIME);
    mk_tx(&rival, &ir, 0, 3 * TC_UNITS_PER_TIME);
    cr_assert_eq(vote(fin, &a, &ia, T0, &res), 0);
    cr_assert_eq(res, TC_FINALITY_VOTED);
    tick(fin, T0 + 1000);
    for (uint32_t k = 1; k < 3; k++) {
        tc_vote_batch vb;
        peer_batch(&vb, 0, k, 100 + k, &ia, 1);
        cr_assert_eq(deliver(fin, &vb), 0);
        tc_vote_batch_deinit(&vb);
    }
    cr_assert(tc_finality_is_final(fin, &ia), "its own vote and two others: final in epoch 0");
    cr_assert_eq(add(fin, &rival, &ir), 0);
    carry[0] = ia;
    carry[1] = ir;
    qsort(carry, 2, sizeof(tc_hash), hash_cmp);
    change_to(fin, 1, carry, 2);
    cr_assert_eq(vote(fin, &a, &ia, T0 + 2000, &res), TC_ETX_LOCKED,
                 "epoch 1: its rival is carried too, nobody votes for either");
    cr_assert_eq(vote(fin, &rival, &ir, T0 + 2000, &res), TC_ETX_LOCKED);
    change_to(fin, 2, NULL, 0);
    tc_utxo_entry u = utxo_of(&a.inputs[0].prev);
    cr_assert_eq(u.state, TC_UTXO_FINALIZED, "the coin stays reserved for it (state %d)",
                 (int)u.state);
    cr_assert(hash_eq(&u.txid, &ia));
    cr_assert_eq(vote(fin, &rival, &ir, T0 + 3000, &res), TC_ETX_LOCKED,
                 "epoch 2: the rival gets no vote");
    cr_assert_eq(vote(fin, &a, &ia, T0 + 3000, &res), 0);
    cr_assert_eq(res, TC_FINALITY_VOTED, "epoch 2: the final one is voted for again");
    tc_tx_deinit(&a);
    tc_tx_deinit(&rival);
}

/* SPEC 2: Locked returns to Unspent when a block confirms a conflicting transaction. A loser
 * voted for in epoch 0 and carried into epoch 1 has no vote record left in epoch 1, so its
 * other inputs are released when its rival is confirmed, not kept for good. */
Test(finality, a_carried_losers_other_inputs_are_released_when_its_rival_is_confirmed,
     .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(0, T0, NULL, 0, NULL);
    tc_tx loser, win;
    tc_hash il, iw, carry[2];
    mk_conflict(&loser, &il, &win, &iw);
    cr_assert_eq(vote(fin, &loser, &il, T0, NULL), 0);
    cr_assert_eq(add(fin, &win, &iw), 0);
    carry[0] = il;
    carry[1] = iw;
    qsort(carry, 2, sizeof(tc_hash), hash_cmp);
    change_to(fin, 1, carry, 2);
    tc_utxo_entry held = utxo_of(&loser.inputs[0].prev);
    cr_assert_eq(held.state, TC_UTXO_LOCKED, "carried: coin 0 stays the loser's (state %d)",
                 (int)held.state);
    cr_assert_eq(ts_chain_advance(&fx, &win, 1, NULL, 0), 0); /* a block of epoch 1 confirms win */
    confirmed(fin, &win, &iw);
    tc_utxo_entry u = utxo_of(&loser.inputs[0].prev);
    cr_assert_eq(u.state, TC_UTXO_UNSPENT,
                 "coin 0 is free again once the rival is confirmed (state %d)", (int)u.state);
    tc_tx other;
    tc_hash io;
    mk_tx(&other, &io, 0, 7 * TC_UNITS_PER_TIME);
    tc_finality_vote_result r = TC_FINALITY_NOT_VALIDATOR;
    cr_assert_eq(vote(fin, &other, &io, T0 + 200, &r), 0, "another spend of coin 0 gets a vote");
    cr_assert_eq(r, TC_FINALITY_VOTED);
    tc_tx_deinit(&other);
    tc_tx_deinit(&loser);
    tc_tx_deinit(&win);
}

Test(finality, restart_finishes_an_interrupted_epoch_change, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(0, T0, NULL, 0, NULL);
    tc_tx a, b;
    tc_hash ia, ib;
    mk_tx(&a, &ia, 0, TC_UNITS_PER_TIME);
    mk_tx(&b, &ib, 1, TC_UNITS_PER_TIME);
    cr_assert_eq(vote(fin, &a, &ia, T0, NULL), 0);
    cr_assert_eq(vote(fin, &b, &ib, T0, NULL), 0);
    tc_finality_free(fin);
    fin = NULL;
    cr_assert_eq(ts_chain_restart(&fx), 0);
    /* The node comes back in epoch 1 with a carry list of {a}. */
    vset.epoch = 1;
    fin = fin_open(0, T0 + 100, &ia, 1, NULL);
    cr_assert_eq(utxo_of(&a.inputs[0].prev).state, TC_UTXO_LOCKED);
    cr_assert_eq(utxo_of(&b.inputs[0].prev).state, TC_UTXO_UNSPENT);
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.batches, 0);
    cr_assert_eq(st.txs, 1, "the carried txid, reserved");
    /* Coming back in epoch 0 now would find votes of... none: they were cleaned. */
    tc_tx_deinit(&a);
    tc_tx_deinit(&b);
}

/* ---- bounds ---- */

/* Every node keeps a (seq, slot) index for every validator: it must grow with the batches
 * stored, not be a full window per validator (12 GiB at 1,024 validators with a 1,024 window). */
Test(finality, batch_index_grows_with_batches_not_window, .fini = teardown)
{
    chain_up(4, NULL, 4);
    tc_finality_limits lim;
    tc_finality_limits_default(tc_chain_profile(fx.chain), &lim);
    cr_assert_eq(lim.batch_window, 1024);
    lim.orphan_max = 100;
    fin = fin_open(-1, T0, NULL, 0, &lim);
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.batch_index, 0, "nothing allocated before a batch");
    uint32_t want[] = {4, 4, 4, 4, 8, 8, 8, 8, 16};
    for (uint32_t s = 1; s <= 9; s++) {
        tc_hash id;
        tc_hash_tagged(&id, "test/idx", &s, sizeof(s));
        tc_vote_batch vb;
        peer_batch(&vb, 0, 1, s, &id, 1);
        cr_assert_eq(deliver(fin, &vb), 0);
        tc_vote_batch_deinit(&vb);
        tc_finality_stats_get(fin, &st);
        cr_assert_eq(st.batches, s);
        cr_assert_eq(st.batch_index, want[s - 1], "after %u batches: %u entries", s, want[s - 1]);
    }
    /* The moved index still finds every batch, in order. */
    for (uint64_t s = 1; s <= 9; s++) {
        const tc_vote_batch *b = NULL;
        cr_assert_eq(tc_finality_batch_get(fin, vidx(1), s, &b), 0);
        cr_assert_eq(b->seq, s);
    }
}

/* The event ring starts at 64 events, not event_max (819 KB a node by default), and doubles
 * as a call queues more: none is dropped below the bound, and they come out in order. */
Test(finality, event_ring_grows_in_order, .fini = teardown)
{
    enum { N = 70 };
    chain_up(4, NULL, N);
    fin = fin_open(-1, T0, NULL, 0, NULL);
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.event_ring, 64);
    tc_hash ids[N];
    for (uint32_t w = 0; w < N; w++) {
        tc_tx tx;
        mk_tx(&tx, &ids[w], w, TC_UNITS_PER_TIME);
        cr_assert_eq(vote(fin, &tx, &ids[w], T0, NULL), 0);
        tc_tx_deinit(&tx);
    }
    (void)drain(fin);
    for (uint32_t k = 1; k <= 3; k++) {
        tc_vote_batch vb;
        peer_batch(&vb, 0, k, 1, ids, N);
        cr_assert_eq(deliver(fin, &vb), 0);
        tc_vote_batch_deinit(&vb);
    }
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.events, N, "one FINALIZED a txid: %u", st.events);
    cr_assert_eq(st.event_ring, 128);
    cr_assert_eq(st.events_dropped, 0);
    uint32_t n = drain(fin);
    cr_assert_eq(n, N);
    cr_assert_eq(count_kind(n, TC_FINALITY_EV_FINALIZED), N);
}

/* Opens fin with a batch window of `window` and delivers validator 1's batches of seqs
 * 1..batches, one txid each (tagged by tag). */
static void window_open(tc_finality_limits *lim, uint32_t window, uint32_t batches, const char *tag)
{
    chain_up(4, NULL, 4);
    tc_finality_limits_default(tc_chain_profile(fx.chain), lim);
    lim->batch_window = window;
    lim->orphan_max = 100;
    fin = fin_open(-1, T0, NULL, 0, lim);
    for (uint32_t s = 1; s <= batches; s++) {
        tc_hash id;
        tc_hash_tagged(&id, tag, &s, sizeof(s));
        tc_vote_batch vb;
        peer_batch(&vb, 0, 1, s, &id, 1);
        cr_assert_eq(deliver(fin, &vb), 0);
        tc_vote_batch_deinit(&vb);
    }
}

/* The index never outgrows the window: a window of 6 caps it at 6, not 8. */
Test(finality, batch_index_capped_at_window, .fini = teardown)
{
    tc_finality_limits lim;
    window_open(&lim, 6, 12, "test/cap");
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.batches, 6);
    cr_assert_eq(st.batches_evicted, 6);
    cr_assert_eq(st.batch_index, 6);
    const tc_vote_batch *b = NULL;
    cr_assert_eq(tc_finality_batch_get(fin, vidx(1), 7, &b), 0);
    cr_assert_eq(tc_finality_batch_get(fin, vidx(1), 6, &b), TC_ENOTFOUND);
}

Test(finality, per_validator_window_evicts_the_oldest_batch, .fini = teardown)
{
    tc_finality_limits lim;
    window_open(&lim, 4, 6, "test/win");
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.batches, 4);
    cr_assert_eq(st.batches_evicted, 2);
    cr_assert_eq(st.txs, 4, "the evicted batches' orphans went with them");
    const tc_vote_batch *vb = NULL;
    cr_assert_eq(tc_finality_batch_get(fin, vidx(1), 2, &vb), TC_ENOTFOUND);
    cr_assert_eq(tc_finality_batch_get(fin, vidx(1), 3, &vb), 0);
    /* Older than the whole window: refused. */
    tc_hash id;
    tc_hash_tagged(&id, "test/win", "old", 3);
    tc_vote_batch old;
    peer_batch(&old, 0, 1, 1, &id, 1);
    cr_assert_eq(deliver(fin, &old), TC_EFULL);
    tc_vote_batch_deinit(&old);
    /* The orphan bound stops the tally, not the node. */
    lim.orphan_max = 2;
    tc_finality *g = fin_open(-1, T0, NULL, 0, &lim);
    tc_hash many[3];
    for (int i = 0; i < 3; i++)
        tc_hash_tagged(&many[i], "test/orph", &i, sizeof(i));
    tc_vote_batch b3;
    peer_batch(&b3, 0, 2, 1, many, 3);
    cr_assert_eq(deliver(g, &b3), 0);
    tc_finality_stats_get(g, &st);
    cr_assert_eq(st.orphans, 2);
    cr_assert_eq(st.votes_dropped, 1);
    tc_vote_batch_deinit(&b3);
    tc_finality_free(g);
}

Test(finality, a_block_confirms_a_final_tx_and_late_batches_stay_forgotten, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(0, T0, NULL, 0, NULL);
    tc_tx a;
    tc_hash ia;
    mk_tx(&a, &ia, 3, 7 * TC_UNITS_PER_TIME);
    cr_assert_eq(vote(fin, &a, &ia, T0, NULL), 0);
    tick(fin, T0 + 10);
    quorum_for(fin, &ia, 2); /* keys 0 (own, already counted) and 1 */
    cr_assert_eq(tc_finality_weight(fin, &ia), 2);
    tc_vote_batch vb;
    peer_batch(&vb, 0, 2, 100 + 2, &ia, 1);
    cr_assert_eq(deliver(fin, &vb), 0);
    cr_assert(tc_finality_is_final(fin, &ia));
    tc_fincert c;
    cr_assert_eq(tc_finality_cert_build(fin, &ia, &c), 0);
    cr_assert_eq(tc_finality_cert_check(fin, &ia, &c, NULL, 0, NULL), 0);
    tc_fincert_deinit(&c);
    cr_assert_eq(ts_chain_advance(&fx, &a, 1, NULL, 0), 0);
    confirmed(fin, &a, &ia);
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.txs + st.batches, 0);
    /* A straggler naming the confirmed txid is not stored and tracks nothing. */
    tc_vote_batch late;
    peer_batch(&late, 0, 3, 1, &ia, 1);
    cr_assert_eq(deliver(fin, &late), 0);
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.txs + st.batches, 0);
    drain(fin);
    tc_vote_batch_deinit(&vb);
    tc_vote_batch_deinit(&late);
    tc_tx_deinit(&a);
}

/* A validator that signed two batches with one seq is left out of certificates: other nodes
 * may hold its other batch, so (validator, seq) would name different batches to them. */
Test(finality, certificates_leave_out_equivocators, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(-1, T0, NULL, 0, NULL);
    tc_tx a;
    tc_hash ia, other;
    mk_tx(&a, &ia, 0, TC_UNITS_PER_TIME);
    tc_hash_tagged(&other, "test/id", "other", 5);
    quorum_for(fin, &ia, 4);
    tc_vote_batch twin;
    peer_batch(&twin, 0, 0, 100, &other, 1); /* key 0 signs seq 100 again, naming another tx */
    cr_assert_eq(deliver(fin, &twin), TC_EEXIST, "an equivocation is refused and reported");
    tc_vote_batch_deinit(&twin);
    tc_fincert c;
    cr_assert_eq(tc_finality_cert_build(fin, &ia, &c), 0, "three honest voters still make Q");
    cr_assert_eq(c.ref_count, 3);
    for (uint32_t i = 0; i < c.ref_count; i++)
        cr_assert_neq(c.refs[i].validator, vidx(0), "ref %u names the equivocator", i);
    cr_assert_eq(tc_finality_cert_check(fin, &ia, &c, NULL, 0, NULL), 0);
    tc_fincert_deinit(&c);
    peer_batch(&twin, 0, 1, 101, &other, 1); /* a second equivocator: Byzantine >= W/3 */
    cr_assert_eq(deliver(fin, &twin), TC_EEXIST);
    tc_vote_batch_deinit(&twin);
    cr_assert_eq(tc_finality_cert_build(fin, &ia, &c), TC_ENOTFOUND,
                 "two honest voters of four are below Q = 3");
    tc_tx_deinit(&a);
}

/* Records in the LOCKS table (durable votes, locks, batch state). */
static uint64_t locks_records(void)
{
    tc_store_txn *t = NULL;
    tc_store_cursor *c = NULL;
    uint64_t n = 0;
    cr_assert_eq(tc_store_begin(fx.store, false, &t), 0);
    cr_assert_eq(tc_store_cursor_open(t, TC_TABLE_LOCKS, &c), 0);
    const void *k, *v;
    size_t kl, vl;
    while (tc_store_cursor_next(c, &k, &kl, &v, &vl) == 0)
        n++;
    tc_store_cursor_close(c);
    tc_store_abort(t);
    return n;
}

/* An epoch change deletes every vote record of the old epoch, many cursor passes' worth (64 per
 * pass): after a restart none of them is rebuilt. */
Test(finality, epoch_change_deletes_every_old_vote_record, .fini = teardown)
{
    enum { VOTES = 150 };
    chain_up(4, NULL, VOTES);
    fin = fin_open(0, T0, NULL, 0, NULL);
    for (uint32_t w = 0; w < VOTES; w++) {
        tc_tx tx;
        tc_hash id;
        mk_tx(&tx, &id, w, TC_UNITS_PER_TIME);
        cr_assert_eq(vote(fin, &tx, &id, T0, NULL), 0, "vote %u", w);
        tc_tx_deinit(&tx);
    }
    tick(fin, T0 + 50);
    (void)drain(fin);
    uint64_t before = locks_records();
    tc_vset next;
    cr_assert_eq(tc_vset_copy(&next, &vset), 0);
    next.epoch = 1;
    tc_store_txn *t = begin();
    cr_assert_eq(tc_finality_epoch_change(fin, t, T0 + 100, &next, NULL, 0), 0);
    commit(t);
    cr_assert_leq(locks_records() + VOTES, before, "every vote record went (%llu of %llu left)",
                  (unsigned long long)locks_records(), (unsigned long long)before);
    tc_finality_free(fin);
    cr_assert_eq(ts_chain_restart(&fx), 0);
    tc_vset_deinit(&vset);
    vset = next;
    fin = fin_open(0, T0 + 200, NULL, 0, NULL);
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.batches, 0, "no batch of the old epoch is rebuilt (%u)", st.batches);
}

/* ---- hot paths: remembered input states, cached spender sets, batch lookups ---- */

/* A transaction spending the genesis coins of wallets w[0..n) (a wallet may repeat), never
 * signed: finality reads only its inputs. Its txid is derived from tag. Caller deinits. */
static void mk_wide_tx(tc_tx *tx, tc_hash *txid, const uint32_t *w, uint32_t n, const char *tag)
{
    memset(tx, 0, sizeof(*tx));
    tx->input_count = n;
    tx->inputs = calloc(n, sizeof(tc_txin));
    cr_assert_not_null(tx->inputs);
    for (uint32_t i = 0; i < n; i++)
        ts_chain_genesis_outpoint(&fx, w[i], &tx->inputs[i].prev);
    tc_hash_tagged(txid, "test/wide", tag, strlen(tag));
}

/* Puts op into state st for txid, straight in the store (Unspent: leaves it). */
static void set_state(const tc_outpoint *op, tc_utxo_state st, const tc_hash *txid)
{
    tc_store_txn *t = begin();
    if (st != TC_UTXO_UNSPENT)
        cr_assert_eq(tc_utxo_lock(t, op, txid), 0);
    if (st == TC_UTXO_FINALIZED)
        cr_assert_eq(tc_utxo_finalize(t, op, txid), 0);
    commit(t);
}

static uint64_t writes(void)
{
    return tc_store_mem_write_count(fx.store);
}

enum { WIDE = 70 }; /* inputs: past the 64 whose states one pass remembers (INPUT_VIEW_MAX) */

/* Finalization acts on the state its read pass saw, for the inputs it remembers and for those
 * past them alike, and requests exactly the transitions a state needs: Unspent lock and
 * finalize (2 writes), Locked(a) finalize (1), Locked(other) release, lock, finalize (3),
 * SpentFinalized(a) none. */
Test(finality, a_wide_tx_finalizes_each_input_from_the_state_it_was_in, .fini = teardown)
{
    chain_up(4, NULL, WIDE);
    fin = fin_open(-1, T0, NULL, 0, NULL);
    uint32_t w[WIDE];
    for (uint32_t i = 0; i < WIDE; i++)
        w[i] = i;
    tc_tx a;
    tc_hash ia, other;
    mk_wide_tx(&a, &ia, w, WIDE, "a");
    tc_hash_tagged(&other, "test/wide", "other", 5);
    const tc_utxo_state st[4] = {TC_UTXO_UNSPENT, TC_UTXO_LOCKED, TC_UTXO_LOCKED,
                                 TC_UTXO_FINALIZED};
    const bool mine[4] = {true, true, false, true};
    const uint64_t cost[4] = {2, 1, 3, 0};
    uint64_t want = 0;
    for (uint32_t i = 0; i < WIDE; i++) {
        set_state(&a.inputs[i].prev, st[i % 4], mine[i % 4] ? &ia : &other);
        want += cost[i % 4];
    }
    cr_assert_eq(add(fin, &a, &ia), 0);
    uint64_t before = writes();
    quorum_for(fin, &ia, 3);
    cr_assert_eq(writes() - before, want, "store writes %llu, want %llu",
                 (unsigned long long)(writes() - before), (unsigned long long)want);
    cr_assert(tc_finality_is_final(fin, &ia));
    for (uint32_t i = 0; i < WIDE; i++) {
        tc_utxo_entry u = utxo_of(&a.inputs[i].prev);
        cr_assert_eq(u.state, TC_UTXO_FINALIZED, "input %u", i);
        cr_assert(hash_eq(&u.txid, &ia), "input %u", i);
    }
    uint32_t n = drain(fin);
    cr_assert_eq(count_kind(n, TC_FINALITY_EV_FINALIZED), 1);
    cr_assert_eq(count_kind(n, TC_FINALITY_EV_CONFLICT), 0);
    tc_tx_deinit(&a);
}

/* A conflict on an input past the remembered ones: reported, and nothing at all is written. */
Test(finality, a_conflict_past_the_remembered_inputs_writes_nothing, .fini = teardown)
{
    chain_up(4, NULL, WIDE);
    fin = fin_open(-1, T0, NULL, 0, NULL);
    uint32_t w[WIDE];
    for (uint32_t i = 0; i < WIDE; i++)
        w[i] = i;
    tc_tx a;
    tc_hash ia, other;
    mk_wide_tx(&a, &ia, w, WIDE, "a");
    tc_hash_tagged(&other, "test/wide", "other", 5);
    set_state(&a.inputs[1].prev, TC_UTXO_LOCKED, &other);
    set_state(&a.inputs[67].prev, TC_UTXO_FINALIZED, &other);
    cr_assert_eq(add(fin, &a, &ia), 0);
    uint64_t before = writes();
    quorum_for(fin, &ia, 3);
    cr_assert_eq(writes(), before, "a conflict writes nothing");
    cr_assert_not(tc_finality_is_final(fin, &ia));
    uint32_t n = drain(fin);
    cr_assert_eq(count_kind(n, TC_FINALITY_EV_CONFLICT), 1);
    const tc_finality_event *c = find_kind(n, TC_FINALITY_EV_CONFLICT);
    cr_assert_eq(tc_outpoint_cmp(&c->outpoint, &a.inputs[67].prev), 0, "the 68th input");
    cr_assert(hash_eq(&c->txid2, &other));
    cr_assert_eq(utxo_of(&a.inputs[0].prev).state, TC_UTXO_UNSPENT);
    tc_utxo_entry u1 = utxo_of(&a.inputs[1].prev);
    cr_assert_eq(u1.state, TC_UTXO_LOCKED);
    cr_assert(hash_eq(&u1.txid, &other), "Locked(other) stays");
    tc_tx_deinit(&a);
}

/* A transaction listing an outpoint twice (the form check refuses it; finality must not trust
 * remembered states for it, nor lose track of its spender sets): voted, finalized, forgotten. */
Test(finality, a_tx_listing_an_outpoint_twice_is_voted_finalized_and_forgotten, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(0, T0, NULL, 0, NULL);
    const uint32_t w[3] = {0, 1, 0};
    tc_tx a;
    tc_hash ia;
    mk_wide_tx(&a, &ia, w, 3, "dup");
    uint64_t before = writes();
    tc_finality_vote_result res = TC_FINALITY_NOT_VALIDATOR;
    cr_assert_eq(vote(fin, &a, &ia, T0, &res), 0);
    cr_assert_eq(res, TC_FINALITY_VOTED);
    /* fin/seq, two locks (the repeated one is a no-op), the vote record. */
    cr_assert_eq(writes() - before, 4, "writes %llu", (unsigned long long)(writes() - before));
    for (uint32_t i = 0; i < 3; i++) {
        tc_utxo_entry u = utxo_of(&a.inputs[i].prev);
        cr_assert_eq(u.state, TC_UTXO_LOCKED, "input %u", i);
        cr_assert(hash_eq(&u.txid, &ia), "input %u", i);
    }
    tick(fin, T0 + 10);
    before = writes();
    for (uint32_t k = 1; k < 3; k++) {
        tc_vote_batch vb;
        peer_batch(&vb, 0, k, 1, &ia, 1);
        cr_assert_eq(deliver(fin, &vb), 0);
        tc_vote_batch_deinit(&vb);
    }
    cr_assert(tc_finality_is_final(fin, &ia));
    cr_assert_eq(writes() - before, 2, "one finalize per distinct outpoint");
    for (uint32_t i = 0; i < 3; i++)
        cr_assert_eq(utxo_of(&a.inputs[i].prev).state, TC_UTXO_FINALIZED, "input %u", i);
    (void)drain(fin);
    confirmed(fin, &a, &ia);
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.txs, 0);
    cr_assert_eq(st.inputs, 0);
    cr_assert_eq(st.batches, 0);
    /* Its outpoints' spender sets are gone: a new spender of wallet 0 is voted for from
     * scratch (the confirmation left the entries SpentFinalized: it must be refused). */
    tc_tx b;
    tc_hash ib;
    mk_wide_tx(&b, &ib, w, 1, "after");
    cr_assert_eq(vote(fin, &b, &ib, T0 + 20, NULL), TC_ETX_LOCKED);
    tc_tx_deinit(&b);
    tc_tx_deinit(&a);
}

/* Orphan txid of a batch in the lookup tests. */
static void seq_txid(tc_hash *id, uint64_t seq)
{
    tc_hash_tagged(id, "test/seq", &seq, sizeof(seq));
}

static bool stored(uint32_t v, uint64_t seq)
{
    const tc_vote_batch *b = NULL;
    int rc = tc_finality_batch_get(fin, v, seq, &b);
    cr_assert(rc == 0 || rc == TC_ENOTFOUND);
    cr_assert(rc != 0 || b->seq == seq, "batch %llu found as %llu", (unsigned long long)seq,
              (unsigned long long)(b != NULL ? b->seq : 0));
    return rc == 0;
}

static bool in_list(const uint64_t *list, uint32_t n, uint64_t x)
{
    for (uint32_t i = 0; i < n; i++)
        if (list[i] == x)
            return true;
    return false;
}

/* Lookups narrow the search by the seqs' spacing: every stored seq is found and no other,
 * across gaps, before and after removals. */
Test(finality, batch_lookups_find_every_seq_across_gaps, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(-1, T0, NULL, 0, NULL);
    uint64_t seqs[10] = {1, 2, 3, 7, 8, 20, 21, 22, 23, 100};
    uint32_t v = vidx(1);
    for (uint32_t i = 0; i < 10; i++) {
        tc_hash id;
        seq_txid(&id, seqs[i]);
        tc_vote_batch vb;
        peer_batch(&vb, 0, 1, seqs[i], &id, 1);
        cr_assert_eq(deliver(fin, &vb), 0);
        tc_vote_batch_deinit(&vb);
    }
    for (uint64_t s = 0; s <= 102; s++)
        cr_assert_eq(stored(v, s), in_list(seqs, 10, s), "seq %llu", (unsigned long long)s);
    /* Confirming a batch's only txid drops the batch. */
    tc_tx dummy;
    tc_hash unused;
    const uint32_t w0 = 0;
    mk_wide_tx(&dummy, &unused, &w0, 1, "dummy");
    const uint64_t gone[4] = {1, 8, 21, 100};
    for (uint32_t i = 0; i < 4; i++) {
        tc_hash id;
        seq_txid(&id, gone[i]);
        confirmed(fin, &dummy, &id);
    }
    for (uint64_t s = 0; s <= 102; s++)
        cr_assert_eq(stored(v, s), in_list(seqs, 10, s) && !in_list(gone, 4, s), "seq %llu",
                     (unsigned long long)s);
    tc_tx_deinit(&dummy);
}

/* A twin running this node's key: its batch with seq 1 is stored before the own batch with
 * seq 1 is flushed. A (validator, seq) names one stored batch, so the own one is neither
 * stored nor sent; the equivocation of the own key is reported, the validator leaves
 * certificates, and the stored batches stay consistent until they are freed. */
Test(finality, own_batch_whose_seq_a_twin_took_is_reported_not_stored, .fini = teardown)
{
    chain_up(4, NULL, 4);
    fin = fin_open(0, T0, NULL, 0, NULL);
    uint32_t me = tc_finality_validator(fin);
    cr_assert_eq(me, vidx(0));
    tc_hash x;
    seq_txid(&x, 1);
    tc_vote_batch twin;
    peer_batch(&twin, 0, 0, 1, &x, 1);
    cr_assert_eq(deliver(fin, &twin), 0);
    tc_vote_batch_deinit(&twin);
    (void)drain(fin);
    tc_tx a;
    tc_hash ia;
    mk_tx(&a, &ia, 2, TC_UNITS_PER_TIME);
    cr_assert_eq(vote(fin, &a, &ia, T0, NULL), 0);
    tick(fin, T0 + 10); /* the own batch: seq 1 too */
    uint32_t n = drain(fin);
    cr_assert_eq(count_kind(n, TC_FINALITY_EV_EQUIVOCATION), 1, "the own key's equivocation");
    cr_assert_eq(count_kind(n, TC_FINALITY_EV_BATCH), 0, "the own batch is not announced");
    for (uint32_t i = 0; i < n; i++)
        if (evs[i].kind == TC_FINALITY_EV_EQUIVOCATION) {
            cr_assert_eq(evs[i].validator, me);
            cr_assert_not_null(evs[i].batch, "the stored batch comes with the event");
            cr_assert_arr_eq(evs[i].batch->txids[0].b, x.b, TC_HASH_SIZE, "the twin's");
        }
    const uint64_t later[3] = {4, 6, 9};
    for (uint32_t i = 0; i < 3; i++) {
        tc_hash id;
        seq_txid(&id, later[i]);
        tc_vote_batch vb;
        peer_batch(&vb, 0, 0, later[i], &id, 1);
        cr_assert_eq(deliver(fin, &vb), 0);
        tc_vote_batch_deinit(&vb);
    }
    tc_finality_stats st;
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.batches, 4, "seq 1 is the twin's batch only");
    for (uint64_t s = 0; s <= 10; s++)
        cr_assert_eq(stored(me, s), s == 1 || in_list(later, 3, s), "seq %llu",
                     (unsigned long long)s);
    cr_assert_eq(tc_finality_weight(fin, &ia), 0, "no stored batch carries the own vote");
    confirmed(fin, &a, &ia); /* freeing everything must keep the lists consistent */
    tc_finality_stats_get(fin, &st);
    cr_assert_eq(st.batches, 4);
    tc_tx_deinit(&a);
}

/* PROTOCOL 11.8 step 8: a validator that never saw a carried transaction's body does not know
 * its outpoints, so it votes for nothing (DEFERRED) until the body arrives; then the REVOTE pass
 * brings the deferred transactions back, and a spend of the carried outpoint is refused. Giving
 * up ends the wait too, and a confirmation of the missing one does. */
Test(finality, votes_wait_for_the_bodies_of_carried_transactions, .fini = teardown)
{
    chain_up(4, NULL, 8);
    fin = fin_open(0, T0, NULL, 0, NULL);
    tc_tx carried_tx, rival, other;
    tc_hash ic, ir, io;
    mk_tx(&carried_tx, &ic, 0, TC_UNITS_PER_TIME);
    mk_tx(&rival, &ir, 0, 3 * TC_UNITS_PER_TIME); /* spends carried_tx's outpoint */
    mk_tx(&other, &io, 1, TC_UNITS_PER_TIME);
    change_to(fin, 1, &ic, 1); /* carried, body never seen here */
    cr_assert(tc_finality_bodies_waiting(fin), "a carried body is missing: votes wait");
    tc_hash missing[2];
    cr_assert_eq(tc_finality_carried_missing(fin, missing, 2), 1, "one carried body missing");
    cr_assert(hash_eq(&missing[0], &ic), "the missing one is the carried txid");
    cr_assert(tc_finality_is_carried(fin, &ic) && !tc_finality_is_carried(fin, &ir));
    tc_finality_vote_result r = TC_FINALITY_VOTED;
    cr_assert_eq(vote(fin, &rival, &ir, T0 + 110, &r), 0);
    cr_assert_eq(r, TC_FINALITY_DEFERRED, "no vote on what may spend a carried outpoint");
    cr_assert_eq(vote(fin, &other, &io, T0 + 110, &r), 0);
    cr_assert_eq(r, TC_FINALITY_DEFERRED, "no vote at all while the body is missing");
    cr_assert_eq(utxo_of(&rival.inputs[0].prev).state, TC_UTXO_UNSPENT, "nothing was locked");
    cr_assert_eq(count_kind(drain(fin), TC_FINALITY_EV_REVOTE), 0, "the pass waits");
    /* The body arrives: its outpoint is reserved and the wait ends with a REVOTE pass. */
    cr_assert_eq(add(fin, &carried_tx, &ic), 0);
    cr_assert(!tc_finality_bodies_waiting(fin), "the last carried body ends the wait");
    cr_assert_eq(tc_finality_carried_missing(fin, NULL, 0), 0);
    uint32_t ne = drain(fin);
    cr_assert_eq(count_kind(ne, TC_FINALITY_EV_REVOTE), 3, "rival, other and the carried one");
    cr_assert_eq(vote(fin, &rival, &ir, T0 + 120, &r), TC_ETX_LOCKED, "the outpoint is reserved");
    cr_assert_eq(vote(fin, &other, &io, T0 + 120, &r), 0);
    cr_assert_eq(r, TC_FINALITY_VOTED, "other transactions get votes again");
    /* Next epoch, the same transaction carried again but unknown to a restarted node: giving
     * up ends the wait (the fetch found nobody holding it). */
    tc_finality_free(fin);
    cr_assert_eq(ts_chain_restart(&fx), 0);
    vset.epoch = 1;
    fin = fin_open(0, T0 + 200, &ic, 1, NULL);
    cr_assert(tc_finality_bodies_waiting(fin), "a restart empties the pool: the body is missing");
    cr_assert_eq(vote(fin, &rival, &ir, T0 + 210, &r), 0);
    cr_assert_eq(r, TC_FINALITY_DEFERRED);
    tc_finality_bodies_give_up(fin);
    cr_assert(!tc_finality_bodies_waiting(fin), "giving up ends the wait");
    cr_assert_eq(count_kind(drain(fin), TC_FINALITY_EV_REVOTE), 1, "the deferred rival comes back");
    /* A confirmation of the missing carried transaction ends the wait as well. */
    change_to(fin, 2, &io, 1);
    cr_assert(!tc_finality_bodies_waiting(fin), "other's body is known here: no wait");
    tc_finality_free(fin);
    fin = NULL;
    cr_assert_eq(ts_chain_restart(&fx), 0);
    vset.epoch = 2;
    fin = fin_open(0, T0 + 300, &io, 1, NULL);
    cr_assert(tc_finality_bodies_waiting(fin), "other's body is unknown after the restart");
    confirmed(fin, &other, &io);
    cr_assert(!tc_finality_bodies_waiting(fin), "a confirmed carried transaction needs no body");
    tc_tx_deinit(&carried_tx);
    tc_tx_deinit(&rival);
    tc_tx_deinit(&other);
}
