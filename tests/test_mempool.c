/* test_mempool.c — the bounded pool: limits, duplicates, conflicts, per-peer share, fee-rate
 * eviction that spares voted transactions, back-pressure, removal on confirmation, and
 * deterministic arrival-order iteration. Transactions here need not be valid against a
 * ledger: the pool trusts its caller for that. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "mempool.h"

#define SIZE_1IN1OUT (2 + 1 + 4 + TC_TX_INPUT_SIZE + 4 + TC_TX_OUTPUT_SIZE) /* 171 */

static tc_profile prof;

/* The eviction tests submit as the local peer, so the per-peer share (checked before any
 * eviction) stays out of their way; the share has its own tests. */
#define LOCAL TC_MEMPOOL_PEER_LOCAL

/* Every drop the pool reports, in order. */
static struct {
    tc_hash txid[64];
    bool voted[64];
    int reason[64];
    int n;
} drops;

static void on_drop(void *ctx, const tc_tx *tx, const tc_hash *txid, bool voted,
                    tc_mempool_drop_reason reason)
{
    cr_assert_eq(ctx, &drops);
    cr_assert_not_null(tx);
    cr_assert_lt(drops.n, 64);
    drops.txid[drops.n] = *txid;
    drops.voted[drops.n] = voted;
    drops.reason[drops.n] = (int)reason;
    drops.n++;
}

static void setup(void)
{
    tc_profile_get(&prof, TC_NET_TESTNET);
    prof.mempool_count_max = 8;
    prof.mempool_peer_share_pct = 100;
    memset(&drops, 0, sizeof(drops));
}

TestSuite(mempool, .init = setup);

/* A transaction with nin inputs spending outpoints (seed, i) and one output; id in *txid. */
static void mk_spending(tc_tx *tx, uint32_t seed, uint32_t nin, tc_hash *txid)
{
    cr_assert_eq(tc_tx_init_alloc(tx, TC_TX_TRANSFER, nin, 1), 0);
    for (uint32_t i = 0; i < nin; i++) {
        tx->inputs[i].prev.txid.b[0] = (uint8_t)seed;
        tx->inputs[i].prev.txid.b[1] = (uint8_t)(seed >> 8);
        tx->inputs[i].prev.txid.b[2] = 0x5c;
        tx->inputs[i].prev.index = i;
    }
    tx->outputs[0].amount = 1000 + seed;
    tc_tx_id(tx, txid);
}

static tc_mempool *pool_new(void)
{
    tc_mempool *mp = tc_mempool_new(&prof, on_drop, &drops);
    cr_assert_not_null(mp);
    return mp;
}

/* Adds a 1-input transaction (seed) with the given fee from peer; returns the code. */
static int add_fee(tc_mempool *mp, uint32_t seed, uint64_t fee, uint32_t peer, tc_hash *txid)
{
    tc_tx tx;
    tc_hash id;
    mk_spending(&tx, seed, 1, &id);
    int rc = tc_mempool_add(mp, &tx, &id, fee, peer, NULL);
    tc_tx_deinit(&tx); /* the pool holds its own copy */
    if (txid != NULL)
        *txid = id;
    cr_assert_eq(tc_mempool_check(mp), 0, "invariants after add of %u", seed);
    return rc;
}

static bool same(const tc_hash *a, const tc_hash *b)
{
    return memcmp(a->b, b->b, TC_HASH_SIZE) == 0;
}

/* ---- basics ---- */

Test(mempool, add_get_and_totals)
{
    tc_mempool *mp = pool_new();
    tc_hash id;
    cr_assert_eq(add_fee(mp, 1, 5000, 3, &id), 0);
    cr_assert(tc_mempool_contains(mp, &id));
    tc_mempool_item it;
    cr_assert_eq(tc_mempool_get(mp, &id, &it), 0);
    cr_assert_eq(it.fee, 5000);
    cr_assert_eq(it.size_bytes, SIZE_1IN1OUT);
    cr_assert_eq(it.peer, 3);
    cr_assert_eq(it.voted, false);
    cr_assert_eq(it.tx->outputs[0].amount, 1001, "the pool's copy is intact");
    cr_assert_eq(tc_mempool_count(mp), 1);
    cr_assert_eq(tc_mempool_bytes(mp), SIZE_1IN1OUT);
    uint32_t c;
    uint64_t b;
    tc_mempool_peer_usage(mp, 3, &c, &b);
    cr_assert_eq(c, 1);
    cr_assert_eq(b, SIZE_1IN1OUT);
    tc_hash missing = id;
    missing.b[0] ^= 1;
    cr_assert_eq(tc_mempool_get(mp, &missing, &it), TC_ENOTFOUND);
    cr_assert_null(it.tx, "zeroed on failure");
    tc_mempool_free(mp);
}

Test(mempool, duplicate_is_rejected)
{
    tc_mempool *mp = pool_new();
    cr_assert_eq(add_fee(mp, 1, 5000, 3, NULL), 0);
    cr_assert_eq(add_fee(mp, 1, 9000, 4, NULL), TC_EMP_DUPLICATE);
    cr_assert_eq(tc_mempool_count(mp), 1);
    tc_mempool_free(mp);
}

Test(mempool, conflict_is_rejected_and_names_the_pooled_tx)
{
    tc_mempool *mp = pool_new();
    tc_tx a, b;
    tc_hash ida, idb, conflict;
    mk_spending(&a, 1, 3, &ida);
    mk_spending(&b, 2, 2, &idb);
    b.inputs[1].prev = a.inputs[2].prev; /* a double spend of one outpoint */
    tc_tx_id(&b, &idb);
    cr_assert_eq(tc_mempool_add(mp, &a, &ida, 5000, 1, NULL), 0);
    cr_assert_eq(tc_mempool_add(mp, &b, &idb, 99999, 1, &conflict), TC_EMP_CONFLICT);
    cr_assert(same(&conflict, &ida));
    cr_assert_not(tc_mempool_contains(mp, &idb));
    tc_hash spender;
    cr_assert_eq(tc_mempool_spender(mp, &a.inputs[2].prev, &spender), 0);
    cr_assert(same(&spender, &ida));
    cr_assert_eq(tc_mempool_spender(mp, &b.inputs[0].prev, &spender), TC_ENOTFOUND);
    cr_assert_eq(tc_mempool_check(mp), 0);
    tc_tx_deinit(&a);
    tc_tx_deinit(&b);
    tc_mempool_free(mp);
}

Test(mempool, larger_than_the_pool_is_einval)
{
    prof.mempool_bytes_max = SIZE_1IN1OUT - 1;
    tc_mempool *mp = pool_new();
    cr_assert_eq(add_fee(mp, 1, 5000, 1, NULL), TC_EINVAL);
    tc_mempool_free(mp);
}

/* ---- limits and eviction ---- */

Test(mempool, count_limit_with_equal_feerates_is_low_feerate)
{
    tc_mempool *mp = pool_new();
    for (uint32_t i = 0; i < prof.mempool_count_max; i++)
        cr_assert_eq(add_fee(mp, i, 5000, LOCAL, NULL), 0);
    cr_assert_eq(add_fee(mp, 100, 5000, LOCAL, NULL), TC_EMP_LOW_FEERATE, "equal rate: no");
    cr_assert_eq(add_fee(mp, 101, 4999, LOCAL, NULL), TC_EMP_LOW_FEERATE);
    cr_assert_eq(tc_mempool_count(mp), prof.mempool_count_max);
    cr_assert_eq(drops.n, 0, "nothing evicted by a rejected newcomer");
    tc_mempool_free(mp);
}

Test(mempool, higher_feerate_evicts_the_lowest)
{
    tc_mempool *mp = pool_new();
    tc_hash ids[8];
    const uint64_t fees[8] = {5000, 3000, 7000, 3000, 9000, 4000, 6000, 8000};
    for (uint32_t i = 0; i < 8; i++)
        cr_assert_eq(add_fee(mp, i, fees[i], LOCAL, &ids[i]), 0);
    tc_hash nid;
    cr_assert_eq(add_fee(mp, 100, 3001, LOCAL, &nid), 0);
    cr_assert_eq(drops.n, 1);
    /* Two at 3000: the newer one (index 3) goes first, the older keeps its place. */
    cr_assert(same(&drops.txid[0], &ids[3]));
    cr_assert_eq(drops.reason[0], TC_MEMPOOL_DROP_EVICTED);
    cr_assert_eq(add_fee(mp, 101, 3002, LOCAL, NULL), 0);
    cr_assert(same(&drops.txid[1], &ids[1]));
    cr_assert_eq(add_fee(mp, 102, 3002, LOCAL, NULL), 0);
    cr_assert(same(&drops.txid[2], &nid), "then the 3001 newcomer");
    cr_assert_eq(tc_mempool_count(mp), 8);
    tc_mempool_free(mp);
}

Test(mempool, eviction_order_is_by_feerate_not_fee)
{
    /* A large transaction paying more in total but less per byte goes first. */
    prof.mempool_count_max = 2;
    tc_mempool *mp = pool_new();
    tc_tx big;
    tc_hash big_id, small_id;
    mk_spending(&big, 1, 10, &big_id);
    uint32_t big_size = (uint32_t)tc_tx_encoded_size(&big);
    cr_assert_eq(tc_mempool_add(mp, &big, &big_id, 10000, LOCAL, NULL), 0); /* < 5000/171 */
    cr_assert_eq(add_fee(mp, 2, 5000, LOCAL, &small_id), 0);
    cr_assert_lt(tc_mempool_feerate_cmp(10000, big_size, 5000, SIZE_1IN1OUT), 0);
    cr_assert_eq(add_fee(mp, 3, 6000, LOCAL, NULL), 0);
    cr_assert_eq(drops.n, 1);
    cr_assert(same(&drops.txid[0], &big_id));
    tc_tx_deinit(&big);
    tc_mempool_free(mp);
}

Test(mempool, byte_limit_evicts_several_or_none)
{
    prof.mempool_bytes_max = 3 * SIZE_1IN1OUT;
    tc_mempool *mp = pool_new();
    tc_hash ids[3];
    cr_assert_eq(add_fee(mp, 1, 1000, LOCAL, &ids[0]), 0);
    cr_assert_eq(add_fee(mp, 2, 2000, LOCAL, &ids[1]), 0);
    cr_assert_eq(add_fee(mp, 3, 9000, LOCAL, &ids[2]), 0);
    /* A 2-input newcomer (303 bytes) needs two slots' worth of bytes. */
    tc_tx two;
    tc_hash two_id;
    mk_spending(&two, 50, 2, &two_id);
    uint32_t size = (uint32_t)tc_tx_encoded_size(&two);
    cr_assert_gt(size, SIZE_1IN1OUT);
    cr_assert_leq(size, 2 * SIZE_1IN1OUT);
    /* Rate just above 2000/171 but below 9000/171: evicts the 1000 and 2000 ones. */
    uint64_t fee = 2000 * size / SIZE_1IN1OUT + 1;
    cr_assert_eq(tc_mempool_add(mp, &two, &two_id, fee, LOCAL, NULL), 0);
    cr_assert_eq(drops.n, 2);
    cr_assert(same(&drops.txid[0], &ids[0]));
    cr_assert(same(&drops.txid[1], &ids[1]));
    cr_assert_eq(tc_mempool_bytes(mp), SIZE_1IN1OUT + size);
    /* One more whose rate is below every resident's: nothing moves. */
    cr_assert_eq(add_fee(mp, 60, 1500, LOCAL, NULL), TC_EMP_LOW_FEERATE);
    cr_assert_eq(drops.n, 2);
    tc_tx_deinit(&two);
    tc_mempool_free(mp);
}

Test(mempool, partial_eviction_is_never_done)
{
    /* The newcomer would need both residents gone but outbids only one: rejected whole. */
    prof.mempool_bytes_max = 2 * SIZE_1IN1OUT;
    tc_mempool *mp = pool_new();
    cr_assert_eq(add_fee(mp, 1, 1000, LOCAL, NULL), 0);
    cr_assert_eq(add_fee(mp, 2, 90000, LOCAL, NULL), 0);
    tc_tx two;
    tc_hash two_id;
    mk_spending(&two, 50, 2, &two_id);
    cr_assert_eq(tc_mempool_add(mp, &two, &two_id, 5000, LOCAL, NULL), TC_EMP_LOW_FEERATE);
    cr_assert_eq(tc_mempool_count(mp), 2);
    cr_assert_eq(drops.n, 0);
    tc_tx_deinit(&two);
    tc_mempool_free(mp);
}

Test(mempool, voted_is_never_evicted)
{
    tc_mempool *mp = pool_new();
    tc_hash ids[8];
    for (uint32_t i = 0; i < 8; i++)
        cr_assert_eq(add_fee(mp, i, 1000 + i, LOCAL, &ids[i]), 0);
    cr_assert_eq(tc_mempool_mark_voted(mp, &ids[0]), 0); /* the cheapest */
    cr_assert_eq(tc_mempool_mark_voted(mp, &ids[0]), 0, "idempotent");
    cr_assert_eq(add_fee(mp, 100, 50000, LOCAL, NULL), 0);
    cr_assert_eq(drops.n, 1);
    cr_assert(same(&drops.txid[0], &ids[1]), "the cheapest unvoted one goes instead");
    cr_assert(tc_mempool_contains(mp, &ids[0]));
    tc_mempool_item it;
    cr_assert_eq(tc_mempool_get(mp, &ids[0], &it), 0);
    cr_assert(it.voted);
    tc_mempool_free(mp);
}

Test(mempool, full_of_voted_is_back_pressure)
{
    tc_mempool *mp = pool_new();
    tc_hash ids[8];
    for (uint32_t i = 0; i < 8; i++) {
        cr_assert_eq(add_fee(mp, i, 1000, LOCAL, &ids[i]), 0);
        cr_assert_eq(tc_mempool_mark_voted(mp, &ids[i]), 0);
    }
    cr_assert_eq(add_fee(mp, 100, UINT64_MAX, LOCAL, NULL), TC_EMP_FULL);
    cr_assert_eq(drops.n, 0);
    cr_assert_eq(tc_mempool_count(mp), 8);
    /* A block confirms one: room again. */
    tc_tx tx;
    tc_hash id;
    mk_spending(&tx, 3, 1, &id);
    tc_mempool_remove_confirmed(mp, &tx, &id, NULL);
    cr_assert_eq(add_fee(mp, 100, 1000, LOCAL, NULL), 0);
    tc_tx_deinit(&tx);
    tc_mempool_free(mp);
}

Test(mempool, lower_ones_voted_higher_ones_not_is_low_feerate)
{
    prof.mempool_count_max = 2;
    tc_mempool *mp = pool_new();
    tc_hash cheap;
    cr_assert_eq(add_fee(mp, 1, 1000, LOCAL, &cheap), 0);
    cr_assert_eq(add_fee(mp, 2, 9000, LOCAL, NULL), 0);
    cr_assert_eq(tc_mempool_mark_voted(mp, &cheap), 0);
    cr_assert_eq(add_fee(mp, 3, 5000, LOCAL, NULL), TC_EMP_LOW_FEERATE);
    cr_assert_eq(add_fee(mp, 4, 9001, LOCAL, NULL), 0);
    cr_assert_eq(drops.n, 1);
    tc_mempool_free(mp);
}

Test(mempool, feerate_cmp_is_exact_beyond_64_bits)
{
    cr_assert_eq(tc_mempool_feerate_cmp(UINT64_MAX, 3, UINT64_MAX - 1, 3), 1);
    cr_assert_eq(tc_mempool_feerate_cmp(UINT64_MAX - 1, 3, UINT64_MAX, 3), -1);
    /* UINT64_MAX/100000 vs (UINT64_MAX/2)/50000: the first is larger by a hair. */
    cr_assert_eq(tc_mempool_feerate_cmp(UINT64_MAX, 100000, UINT64_MAX / 2, 50000), 1);
    cr_assert_eq(tc_mempool_feerate_cmp(UINT64_MAX - 1, 100000, UINT64_MAX / 2, 50000), 0);
    cr_assert_eq(tc_mempool_feerate_cmp(10, 5, 2, 1), 0);
    cr_assert_eq(tc_mempool_feerate_cmp(0, 1, 0, UINT32_MAX), 0);
    cr_assert_eq(tc_mempool_feerate_cmp(1, UINT32_MAX, 0, 1), 1);
}

/* ---- peer share ---- */

Test(mempool, peer_share_by_count)
{
    prof.mempool_count_max = 20;
    prof.mempool_peer_share_pct = 10; /* 2 transactions */
    tc_mempool *mp = pool_new();
    tc_hash first;
    cr_assert_eq(add_fee(mp, 1, 5000, 7, &first), 0);
    cr_assert_eq(add_fee(mp, 2, 5000, 7, NULL), 0);
    cr_assert_eq(add_fee(mp, 3, 5000, 7, NULL), TC_EMP_PEER_SHARE);
    cr_assert_eq(add_fee(mp, 3, 5000, 8, NULL), 0, "another peer has its own share");
    for (uint32_t i = 10; i < 15; i++)
        cr_assert_eq(add_fee(mp, i, 5000, TC_MEMPOOL_PEER_LOCAL, NULL), 0, "local is exempt");
    cr_assert_eq(tc_mempool_remove(mp, &first), 0);
    cr_assert_eq(add_fee(mp, 4, 5000, 7, NULL), 0, "share freed by the removal");
    tc_mempool_free(mp);
}

Test(mempool, peer_share_by_bytes)
{
    prof.mempool_count_max = 1000;
    prof.mempool_bytes_max = 100 * SIZE_1IN1OUT;
    prof.mempool_peer_share_pct = 2; /* 2 * 171 bytes */
    tc_mempool *mp = pool_new();
    cr_assert_eq(add_fee(mp, 1, 5000, 7, NULL), 0);
    tc_tx two;
    tc_hash two_id;
    mk_spending(&two, 50, 2, &two_id);
    cr_assert_eq(tc_mempool_add(mp, &two, &two_id, 5000, 7, NULL), TC_EMP_PEER_SHARE);
    cr_assert_eq(add_fee(mp, 2, 5000, 7, NULL), 0, "a small one still fits the byte share");
    tc_tx_deinit(&two);
    tc_mempool_free(mp);
}

/* ---- removal ---- */

Test(mempool, remove_confirmed_and_its_conflicts)
{
    tc_mempool *mp = pool_new();
    tc_hash ida, idb, idc;
    tc_tx a, block_tx;
    mk_spending(&a, 1, 2, &ida);
    cr_assert_eq(tc_mempool_add(mp, &a, &ida, 5000, 1, NULL), 0);
    cr_assert_eq(add_fee(mp, 2, 5000, 1, &idb), 0);
    cr_assert_eq(add_fee(mp, 3, 5000, 1, &idc), 0);
    cr_assert_eq(tc_mempool_mark_voted(mp, &ida), 0);
    /* A block confirms b, and a transaction (not pooled) spending a's second input. */
    tc_tx b;
    mk_spending(&b, 2, 1, &idb);
    uint32_t conflicts = 9;
    tc_mempool_remove_confirmed(mp, &b, &idb, &conflicts);
    cr_assert_eq(conflicts, 0);
    cr_assert_eq(drops.n, 1);
    cr_assert_eq(drops.reason[0], TC_MEMPOOL_DROP_CONFIRMED);
    tc_hash other;
    mk_spending(&block_tx, 99, 1, &other);
    block_tx.inputs[0].prev = a.inputs[1].prev;
    tc_tx_id(&block_tx, &other);
    tc_mempool_remove_confirmed(mp, &block_tx, &other, &conflicts);
    cr_assert_eq(conflicts, 1);
    cr_assert_eq(drops.n, 2);
    cr_assert(same(&drops.txid[1], &ida));
    cr_assert_eq(drops.reason[1], TC_MEMPOOL_DROP_CONFLICT);
    cr_assert(drops.voted[1], "the hook learns it was voted, to release its locks");
    cr_assert_eq(tc_mempool_count(mp), 1);
    cr_assert(tc_mempool_contains(mp, &idc));
    tc_hash sp;
    cr_assert_eq(tc_mempool_spender(mp, &a.inputs[0].prev, &sp), TC_ENOTFOUND,
                 "all of a's outpoints are free again");
    cr_assert_eq(tc_mempool_check(mp), 0);
    tc_tx_deinit(&a);
    tc_tx_deinit(&b);
    tc_tx_deinit(&block_tx);
    tc_mempool_free(mp);
}

Test(mempool, remove_of_missing_and_no_hook)
{
    tc_mempool *mp = pool_new();
    tc_hash id;
    cr_assert_eq(add_fee(mp, 1, 5000, 1, &id), 0);
    cr_assert_eq(tc_mempool_remove(mp, &id), 0);
    cr_assert_eq(drops.n, 0, "an explicit removal is not reported");
    cr_assert_eq(tc_mempool_remove(mp, &id), TC_ENOTFOUND);
    cr_assert_eq(tc_mempool_mark_voted(mp, &id), TC_ENOTFOUND);
    cr_assert_eq(tc_mempool_count(mp), 0);
    cr_assert_eq(tc_mempool_bytes(mp), 0);
    tc_mempool_free(mp);
}

/* ---- iteration and determinism ---- */

static int collect(const tc_mempool *mp, uint64_t *seqs, tc_hash *ids, int cap)
{
    tc_mempool_iter it;
    tc_mempool_item item;
    int n = 0;
    tc_mempool_iter_init(mp, &it);
    while (tc_mempool_iter_next(mp, &it, &item)) {
        cr_assert_lt(n, cap);
        seqs[n] = item.seq;
        ids[n] = item.txid;
        n++;
    }
    return n;
}

/* A fixed script of adds, votes, evictions and removals. */
static void script(tc_mempool *mp)
{
    tc_hash ids[40];
    for (uint32_t i = 0; i < 40; i++) {
        add_fee(mp, i, 1000 + (i * 7919) % 5000, i % 3, &ids[i]);
        if (i % 5 == 0)
            tc_mempool_mark_voted(mp, &ids[i]);
        if (i % 7 == 6)
            tc_mempool_remove(mp, &ids[i - 2]);
    }
}

Test(mempool, iteration_is_arrival_order_and_deterministic)
{
    tc_mempool *a = pool_new();
    tc_mempool *b = pool_new();
    script(a);
    script(b);
    uint64_t sa[16], sb[16];
    tc_hash ia[16], ib[16];
    int na = collect(a, sa, ia, 16), nb = collect(b, sb, ib, 16);
    cr_assert_eq(na, (int)tc_mempool_count(a));
    cr_assert_gt(na, 0);
    cr_assert_eq(na, nb);
    for (int i = 0; i < na; i++) {
        cr_assert(same(&ia[i], &ib[i]), "same script, same order at %d", i);
        cr_assert_eq(sa[i], sb[i]);
        if (i > 0)
            cr_assert_gt(sa[i], sa[i - 1], "arrival order");
    }
    tc_mempool_free(a);
    tc_mempool_free(b);
}

Test(mempool, modifying_during_iteration_aborts, .signal = SIGABRT)
{
    tc_mempool *mp = pool_new();
    tc_hash id;
    add_fee(mp, 1, 5000, 1, &id);
    add_fee(mp, 2, 5000, 1, NULL);
    tc_mempool_iter it;
    tc_mempool_item item;
    tc_mempool_iter_init(mp, &it);
    tc_mempool_iter_next(mp, &it, &item);
    tc_mempool_remove(mp, &id);
    tc_mempool_iter_next(mp, &it, &item);
}

static tc_mempool *reentrant_pool;
static void reenter(void *ctx, const tc_tx *tx, const tc_hash *txid, bool voted,
                    tc_mempool_drop_reason reason)
{
    (void)ctx;
    (void)tx;
    (void)voted;
    (void)reason;
    tc_mempool_remove(reentrant_pool, txid);
}

Test(mempool, hook_calling_back_aborts, .signal = SIGABRT)
{
    reentrant_pool = tc_mempool_new(&prof, reenter, NULL);
    tc_tx tx;
    tc_hash id;
    mk_spending(&tx, 1, 1, &id);
    cr_assert_eq(tc_mempool_add(reentrant_pool, &tx, &id, 5000, 1, NULL), 0);
    tc_mempool_remove_confirmed(reentrant_pool, &tx, &id, NULL);
}

Test(mempool, random_operations_keep_invariants)
{
    prof.mempool_count_max = 50;
    prof.mempool_bytes_max = 40 * SIZE_1IN1OUT + 3 * TC_TX_INPUT_SIZE;
    prof.mempool_peer_share_pct = 30;
    tc_mempool *mp = tc_mempool_new(&prof, NULL, NULL);
    tc_rng rng;
    tc_rng_init_u64(&rng, 99);
    uint32_t admitted = 0;
    for (uint32_t step = 0; step < 4000; step++) {
        tc_tx tx;
        tc_hash id;
        /* Seeds repeat, so duplicates and conflicts happen too. */
        uint32_t seed = (uint32_t)tc_rng_below(&rng, 400);
        mk_spending(&tx, seed, 1 + (uint32_t)tc_rng_below(&rng, 3), &id);
        uint64_t pick = tc_rng_below(&rng, 10);
        if (pick < 6) {
            int rc = tc_mempool_add(mp, &tx, &id, tc_rng_below(&rng, 100000),
                                    (uint32_t)tc_rng_below(&rng, 5), NULL);
            admitted += rc == 0;
        } else if (pick < 8) {
            tc_mempool_mark_voted(mp, &id);
        } else {
            tc_mempool_remove_confirmed(mp, &tx, &id, NULL);
        }
        tc_tx_deinit(&tx);
        cr_assert_eq(tc_mempool_check(mp), 0, "step %u", step);
    }
    cr_assert_gt(admitted, 100, "the walk exercised admission (%u)", admitted);
    tc_mempool_free(mp);
}
