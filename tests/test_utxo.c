/* test_utxo.c — the UTXO set on the in-memory store: the state machine's legal paths and its
 * aborting illegal ones, total and root bookkeeping against a full recompute, root properties,
 * corruption detection, and failed writes leaving the committed set intact. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "crypto.h"
#include "store.h"
#include "utxo.h"

static tc_store *store;
static tc_store_txn *txn;

static void setup(void)
{
    cr_assert_eq(tc_crypto_init(), 0);
    store = tc_store_mem_new();
    cr_assert_not_null(store);
    cr_assert_eq(tc_store_begin(store, true, &txn), 0);
}

static void teardown(void)
{
    tc_store_close(store); /* aborts an open transaction */
}

TestSuite(utxo, .init = setup, .fini = teardown);

static tc_outpoint op_of(uint32_t i)
{
    tc_outpoint op;
    memset(&op, 0, sizeof(op));
    op.txid.b[0] = (uint8_t)(i >> 8);
    op.txid.b[1] = (uint8_t)i;
    op.txid.b[31] = 0xee;
    op.index = i % 5;
    return op;
}

static tc_txout out_of(uint64_t amount, uint8_t who)
{
    tc_txout o;
    o.amount = amount;
    memset(o.addr.b, who, TC_ADDR_HASH_SIZE);
    return o;
}

static tc_hash txid_of(uint8_t i)
{
    tc_hash h;
    memset(h.b, 0, TC_HASH_SIZE);
    h.b[0] = 0x70;
    h.b[1] = i;
    return h;
}

static void commit_and_reopen(void)
{
    cr_assert_eq(tc_store_commit(txn), 0);
    cr_assert_eq(tc_store_begin(store, true, &txn), 0);
}

static void add(uint32_t i, uint64_t amount)
{
    tc_outpoint op = op_of(i);
    tc_txout o = out_of(amount, (uint8_t)i);
    cr_assert_eq(tc_utxo_add(txn, NULL, &op, &o, 7, 0), 0, "add %u", i);
}

static uint8_t state_of(uint32_t i)
{
    tc_utxo_entry e;
    tc_outpoint op = op_of(i);
    cr_assert_eq(tc_utxo_get(txn, &op, &e), 0);
    return e.state;
}

static void assert_consistent(void)
{
    tc_hash inc, full;
    uint64_t t_inc, t_full;
    cr_assert_eq(tc_utxo_root(txn, &inc), 0);
    cr_assert_eq(tc_utxo_total(txn, &t_inc), 0);
    cr_assert_eq(tc_utxo_recompute(txn, NULL, &full, &t_full), 0);
    cr_assert_eq(t_inc, t_full, "total %lu vs recomputed %lu", (unsigned long)t_inc,
                 (unsigned long)t_full);
    cr_assert_eq(memcmp(inc.b, full.b, TC_HASH_SIZE), 0, "incremental root == recomputed");
    cr_assert_eq(tc_utxo_verify(txn, NULL), 0);
}

/* ---- basic records ---- */

Test(utxo, add_then_get)
{
    tc_outpoint op = op_of(3);
    tc_txout o = out_of(5000, 9);
    tc_utxo_entry e;
    cr_assert_eq(tc_utxo_add(txn, NULL, &op, &o, 42, TC_UTXO_COLLATERAL), 0);
    cr_assert_eq(tc_utxo_get(txn, &op, &e), 0);
    cr_assert_eq(e.amount, 5000);
    cr_assert_eq(memcmp(e.addr.b, o.addr.b, TC_ADDR_HASH_SIZE), 0);
    cr_assert_eq(e.height, 42);
    cr_assert_eq(e.flags, TC_UTXO_COLLATERAL);
    cr_assert_eq(e.state, TC_UTXO_UNSPENT);
    uint64_t total, count;
    cr_assert_eq(tc_utxo_total(txn, &total), 0);
    cr_assert_eq(total, 5000);
    cr_assert_eq(tc_utxo_count(txn, &count), 0);
    cr_assert_eq(count, 1);
    commit_and_reopen();
    cr_assert_eq(tc_utxo_get(txn, &op, &e), 0, "durable after commit");
    assert_consistent();
}

Test(utxo, missing_is_notfound_and_output_cleared)
{
    tc_outpoint op = op_of(1);
    tc_utxo_entry e;
    memset(&e, 0xab, sizeof(e));
    cr_assert_eq(tc_utxo_get(txn, &op, &e), TC_ENOTFOUND);
    cr_assert_eq(e.amount, 0);
    cr_assert_eq(e.state, 0);
}

Test(utxo, duplicate_add_is_eexist)
{
    add(1, 1000);
    tc_outpoint op = op_of(1);
    tc_txout o = out_of(2000, 1);
    cr_assert_eq(tc_utxo_add(txn, NULL, &op, &o, 8, 0), TC_EEXIST);
    uint64_t total;
    cr_assert_eq(tc_utxo_total(txn, &total), 0);
    cr_assert_eq(total, 1000, "the rejected add changed nothing");
}

Test(utxo, total_overflow_is_rejected)
{
    add(1, UINT64_MAX - 5);
    tc_outpoint op = op_of(2);
    tc_txout o = out_of(6, 2);
    cr_assert_eq(tc_utxo_add(txn, NULL, &op, &o, 1, 0), TC_EOVERFLOW);
    o.amount = 5;
    cr_assert_eq(tc_utxo_add(txn, NULL, &op, &o, 1, 0), 0, "exactly UINT64_MAX fits");
    assert_consistent();
}

/* ---- legal paths ---- */

Test(utxo, full_path_to_confirmed)
{
    add(1, 1000);
    add(2, 3000);
    tc_outpoint op = op_of(1);
    tc_hash tx = txid_of(1);
    cr_assert_eq(tc_utxo_lock(txn, &op, &tx), 0);
    cr_assert_eq(state_of(1), TC_UTXO_LOCKED);
    cr_assert_eq(tc_utxo_lock(txn, &op, &tx), 0, "relocking to the same txid is a no-op");
    cr_assert_eq(tc_utxo_finalize(txn, &op, &tx), 0);
    cr_assert_eq(state_of(1), TC_UTXO_FINALIZED);
    cr_assert_eq(tc_utxo_finalize(txn, &op, &tx), 0, "refinalizing is a no-op");
    cr_assert_eq(tc_utxo_confirm(txn, NULL, &op, &tx, 99), 0);

    tc_utxo_entry e;
    cr_assert_eq(tc_utxo_get(txn, &op, &e), TC_ETX_SPENT_INPUT);
    tc_hash by;
    uint64_t height;
    cr_assert_eq(tc_utxo_spent_get(txn, &op, &by, &height), 0);
    cr_assert_eq(height, 99);
    cr_assert_eq(memcmp(by.b, tx.b, TC_HASH_SIZE), 0);
    uint64_t total, count;
    cr_assert_eq(tc_utxo_total(txn, &total), 0);
    cr_assert_eq(total, 3000);
    cr_assert_eq(tc_utxo_count(txn, &count), 0);
    cr_assert_eq(count, 1);
    tc_txout o = out_of(1000, 1);
    cr_assert_eq(tc_utxo_add(txn, NULL, &op, &o, 100, 0), TC_EEXIST,
                 "a spent outpoint never returns");
    assert_consistent();
}

Test(utxo, lock_release_relock)
{
    add(1, 1000);
    tc_outpoint op = op_of(1);
    tc_hash a = txid_of(1), b = txid_of(2);
    cr_assert_eq(tc_utxo_lock(txn, &op, &a), 0);
    cr_assert_eq(tc_utxo_release(txn, &op), 0);
    cr_assert_eq(state_of(1), TC_UTXO_UNSPENT);
    tc_utxo_entry e;
    cr_assert_eq(tc_utxo_get(txn, &op, &e), 0);
    cr_assert_eq(e.txid.b[0], 0, "the lock's txid is cleared");
    cr_assert_eq(tc_utxo_lock(txn, &op, &b), 0);
    cr_assert_eq(tc_utxo_get(txn, &op, &e), 0);
    cr_assert_eq(memcmp(e.txid.b, b.b, TC_HASH_SIZE), 0);
}

Test(utxo, spent_get_of_unspent_is_notfound)
{
    add(1, 1000);
    tc_outpoint op = op_of(1);
    tc_hash by;
    uint64_t h = 5;
    cr_assert_eq(tc_utxo_spent_get(txn, &op, &by, &h), TC_ENOTFOUND);
    cr_assert_eq(h, 0);
}

Test(utxo, confirm_spend_walks_from_every_state)
{
    tc_hash tx = txid_of(1), other = txid_of(2);
    tc_outpoint ops[4] = {op_of(1), op_of(2), op_of(3), op_of(4)};
    for (uint32_t i = 1; i <= 4; i++)
        add(i, 1000 * i);
    cr_assert_eq(tc_utxo_lock(txn, &ops[1], &tx), 0);    /* Locked(tx) */
    cr_assert_eq(tc_utxo_lock(txn, &ops[2], &other), 0); /* Locked(other): conflict confirmed */
    cr_assert_eq(tc_utxo_lock(txn, &ops[3], &tx), 0);
    cr_assert_eq(tc_utxo_finalize(txn, &ops[3], &tx), 0); /* SpentFinalized(tx) */
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(tc_utxo_confirm_spend(txn, NULL, &ops[i], &tx, 50, NULL), 0,
                     "from state of op %d", i);
        tc_hash by;
        cr_assert_eq(tc_utxo_spent_get(txn, &ops[i], &by, NULL), 0);
        cr_assert_eq(memcmp(by.b, tx.b, TC_HASH_SIZE), 0);
    }
    uint64_t count;
    cr_assert_eq(tc_utxo_count(txn, &count), 0);
    cr_assert_eq(count, 0);
    assert_consistent();
}

Test(utxo, confirm_spend_against_other_finality_is_an_alarm)
{
    add(1, 1000);
    tc_outpoint op = op_of(1);
    tc_hash tx = txid_of(1), other = txid_of(2);
    cr_assert_eq(tc_utxo_lock(txn, &op, &other), 0);
    cr_assert_eq(tc_utxo_finalize(txn, &op, &other), 0);
    cr_assert_eq(tc_utxo_confirm_spend(txn, NULL, &op, &tx, 50, NULL), TC_ETX_LOCKED);
    tc_utxo_entry e;
    cr_assert_eq(tc_utxo_get(txn, &op, &e), 0, "nothing changed");
    cr_assert_eq(e.state, TC_UTXO_FINALIZED);
    cr_assert_eq(memcmp(e.txid.b, other.b, TC_HASH_SIZE), 0);
}

Test(utxo, confirm_spend_of_spent_or_missing)
{
    tc_outpoint op = op_of(1);
    tc_hash tx = txid_of(1);
    uint64_t amount = 7;
    cr_assert_eq(tc_utxo_confirm_spend(txn, NULL, &op, &tx, 50, &amount), TC_ENOTFOUND);
    cr_assert_eq(amount, 0, "no amount for a failed spend");
    add(1, 1000);
    cr_assert_eq(tc_utxo_confirm_spend(txn, NULL, &op, &tx, 50, &amount), 0);
    cr_assert_eq(amount, 1000, "the amount spent");
    cr_assert_eq(tc_utxo_confirm_spend(txn, NULL, &op, &tx, 51, NULL), TC_ETX_SPENT_INPUT);
}

Test(utxo, release_tx_releases_only_its_own_locks)
{
    tc_tx tx;
    tc_hash mine = txid_of(1), other = txid_of(2);
    cr_assert_eq(tc_tx_init_alloc(&tx, TC_TX_TRANSFER, 5, 1), 0);
    for (uint32_t i = 0; i < 5; i++)
        tx.inputs[i].prev = op_of(i + 1);
    add(1, 1000); /* Unspent: untouched */
    add(2, 1000);
    add(3, 1000);
    add(4, 1000);
    /* op 5 absent: skipped */
    cr_assert_eq(tc_utxo_lock(txn, &tx.inputs[1].prev, &mine), 0);
    cr_assert_eq(tc_utxo_lock(txn, &tx.inputs[2].prev, &other), 0);
    cr_assert_eq(tc_utxo_lock(txn, &tx.inputs[3].prev, &mine), 0);
    cr_assert_eq(tc_utxo_finalize(txn, &tx.inputs[3].prev, &mine), 0);
    uint32_t released = 99;
    cr_assert_eq(tc_utxo_release_tx(txn, &tx, &mine, &released), 0);
    cr_assert_eq(released, 1);
    cr_assert_eq(state_of(1), TC_UTXO_UNSPENT);
    cr_assert_eq(state_of(2), TC_UTXO_UNSPENT, "released");
    cr_assert_eq(state_of(3), TC_UTXO_LOCKED, "another tx's lock stays");
    cr_assert_eq(state_of(4), TC_UTXO_FINALIZED, "finality is never released");
    tc_tx_deinit(&tx);
}

Test(utxo, set_flags_changes_root_not_total)
{
    add(1, 1000);
    tc_outpoint op = op_of(1);
    tc_hash before, after, back;
    cr_assert_eq(tc_utxo_root(txn, &before), 0);
    cr_assert_eq(tc_utxo_set_flags(txn, NULL, &op, TC_UTXO_COLLATERAL), 0);
    cr_assert_eq(tc_utxo_root(txn, &after), 0);
    cr_assert_neq(memcmp(before.b, after.b, TC_HASH_SIZE), 0, "flags are chain data");
    tc_utxo_entry e;
    cr_assert_eq(tc_utxo_get(txn, &op, &e), 0);
    cr_assert_eq(e.flags, TC_UTXO_COLLATERAL);
    uint64_t total;
    cr_assert_eq(tc_utxo_total(txn, &total), 0);
    cr_assert_eq(total, 1000);
    assert_consistent();
    cr_assert_eq(tc_utxo_set_flags(txn, NULL, &op, 0), 0);
    cr_assert_eq(tc_utxo_root(txn, &back), 0);
    cr_assert_eq(memcmp(before.b, back.b, TC_HASH_SIZE), 0);
}

/* ---- illegal transitions abort ---- */

static void prepare(uint8_t state, const tc_hash *by)
{
    add(1, 1000);
    tc_outpoint op = op_of(1);
    if (state >= TC_UTXO_LOCKED)
        cr_assert_eq(tc_utxo_lock(txn, &op, by), 0);
    if (state >= TC_UTXO_FINALIZED)
        cr_assert_eq(tc_utxo_finalize(txn, &op, by), 0);
}

Test(utxo, lock_of_locked_by_other_aborts, .signal = SIGABRT)
{
    tc_hash a = txid_of(1), b = txid_of(2);
    tc_outpoint op = op_of(1);
    prepare(TC_UTXO_LOCKED, &a);
    tc_utxo_lock(txn, &op, &b);
}

Test(utxo, lock_of_finalized_aborts, .signal = SIGABRT)
{
    tc_hash a = txid_of(1);
    tc_outpoint op = op_of(1);
    prepare(TC_UTXO_FINALIZED, &a);
    tc_utxo_lock(txn, &op, &a);
}

Test(utxo, release_of_unspent_aborts, .signal = SIGABRT)
{
    tc_outpoint op = op_of(1);
    prepare(TC_UTXO_UNSPENT, NULL);
    tc_utxo_release(txn, &op);
}

Test(utxo, release_of_finalized_aborts, .signal = SIGABRT)
{
    tc_hash a = txid_of(1);
    tc_outpoint op = op_of(1);
    prepare(TC_UTXO_FINALIZED, &a);
    tc_utxo_release(txn, &op);
}

Test(utxo, finalize_of_unspent_aborts, .signal = SIGABRT)
{
    tc_hash a = txid_of(1);
    tc_outpoint op = op_of(1);
    prepare(TC_UTXO_UNSPENT, NULL);
    tc_utxo_finalize(txn, &op, &a);
}

Test(utxo, finalize_for_other_txid_aborts, .signal = SIGABRT)
{
    tc_hash a = txid_of(1), b = txid_of(2);
    tc_outpoint op = op_of(1);
    prepare(TC_UTXO_LOCKED, &a);
    tc_utxo_finalize(txn, &op, &b);
}

Test(utxo, confirm_of_unspent_aborts, .signal = SIGABRT)
{
    tc_hash a = txid_of(1);
    tc_outpoint op = op_of(1);
    prepare(TC_UTXO_UNSPENT, NULL);
    tc_utxo_confirm(txn, NULL, &op, &a, 5);
}

Test(utxo, confirm_of_locked_aborts, .signal = SIGABRT)
{
    tc_hash a = txid_of(1);
    tc_outpoint op = op_of(1);
    prepare(TC_UTXO_LOCKED, &a);
    tc_utxo_confirm(txn, NULL, &op, &a, 5);
}

Test(utxo, confirm_for_other_txid_aborts, .signal = SIGABRT)
{
    tc_hash a = txid_of(1), b = txid_of(2);
    tc_outpoint op = op_of(1);
    prepare(TC_UTXO_FINALIZED, &a);
    tc_utxo_confirm(txn, NULL, &op, &b, 5);
}

Test(utxo, unknown_flags_abort, .signal = SIGABRT)
{
    tc_outpoint op = op_of(1);
    tc_txout o = out_of(1000, 1);
    tc_utxo_add(txn, NULL, &op, &o, 1, 0x80);
}

Test(utxo, legal_prepare_does_not_abort)
{
    /* The control for the aborting tests above: their preparation alone is legal. */
    tc_hash a = txid_of(1);
    prepare(TC_UTXO_FINALIZED, &a);
    cr_assert_eq(state_of(1), TC_UTXO_FINALIZED);
}

/* ---- root and total ---- */

Test(utxo, empty_root_is_documented_value)
{
    uint8_t buf[TC_UTXO_ACC_SIZE + 8];
    memset(buf, 0, sizeof(buf));
    tc_hash want, got, full;
    uint64_t total = 1;
    tc_hash_tagged(&want, TC_TAG_UTXOROOT, buf, sizeof(buf));
    cr_assert_eq(tc_utxo_root(txn, &got), 0);
    cr_assert_eq(memcmp(want.b, got.b, TC_HASH_SIZE), 0);
    cr_assert_eq(tc_utxo_recompute(txn, NULL, &full, &total), 0);
    cr_assert_eq(memcmp(want.b, full.b, TC_HASH_SIZE), 0);
    cr_assert_eq(total, 0);
}

Test(utxo, root_of_one_entry_matches_the_construction)
{
    tc_outpoint op = op_of(258);
    tc_txout o = out_of(123456789, 4);
    cr_assert_eq(tc_utxo_add(txn, NULL, &op, &o, 77, TC_UTXO_COLLATERAL), 0);
    /* Build it by hand from utxo.h's description. */
    uint8_t pre[TC_OUTPOINT_SIZE + 8 + TC_ADDR_HASH_SIZE + 8 + 1];
    tc_outpoint_key(&op, pre);
    for (int i = 0; i < 8; i++) {
        pre[TC_OUTPOINT_SIZE + i] = (uint8_t)(o.amount >> (8 * i));
        pre[TC_OUTPOINT_SIZE + 8 + TC_ADDR_HASH_SIZE + i] = (uint8_t)((uint64_t)77 >> (8 * i));
    }
    memcpy(pre + TC_OUTPOINT_SIZE + 8, o.addr.b, TC_ADDR_HASH_SIZE);
    pre[sizeof(pre) - 1] = TC_UTXO_COLLATERAL;
    tc_hash k;
    tc_hash_tagged(&k, TC_TAG_UTXO, pre, sizeof(pre));
    /* The keystream of a ChaCha20 with a zero nonce from block 0 is what tc_rng produces. */
    tc_rng rng;
    tc_rng_init(&rng, k.b);
    uint8_t buf[TC_UTXO_ACC_SIZE + 8];
    tc_rng_bytes(&rng, buf, TC_UTXO_ACC_SIZE);
    memset(buf + TC_UTXO_ACC_SIZE, 0, 8);
    buf[TC_UTXO_ACC_SIZE] = 1; /* count 1 */
    tc_hash want, got;
    tc_hash_tagged(&want, TC_TAG_UTXOROOT, buf, sizeof(buf));
    cr_assert_eq(tc_utxo_root(txn, &got), 0);
    cr_assert_eq(memcmp(want.b, got.b, TC_HASH_SIZE), 0);
}

Test(utxo, root_ignores_lock_state)
{
    add(1, 1000);
    add(2, 2000);
    tc_outpoint op = op_of(1);
    tc_hash tx = txid_of(1), r0, r1, r2, r3;
    cr_assert_eq(tc_utxo_root(txn, &r0), 0);
    cr_assert_eq(tc_utxo_lock(txn, &op, &tx), 0);
    cr_assert_eq(tc_utxo_root(txn, &r1), 0);
    cr_assert_eq(tc_utxo_finalize(txn, &op, &tx), 0);
    cr_assert_eq(tc_utxo_root(txn, &r2), 0);
    cr_assert_eq(memcmp(r0.b, r1.b, TC_HASH_SIZE), 0, "lock leaves the root");
    cr_assert_eq(memcmp(r0.b, r2.b, TC_HASH_SIZE), 0, "finality leaves the root");
    cr_assert_eq(tc_utxo_confirm(txn, NULL, &op, &tx, 9), 0);
    cr_assert_eq(tc_utxo_root(txn, &r3), 0);
    cr_assert_neq(memcmp(r0.b, r3.b, TC_HASH_SIZE), 0, "confirmation removes the entry");
    assert_consistent();
}

/* Adds entries 1..n to a fresh store in the order perm gives, returning its root. */
static void root_of_order(const uint32_t *perm, uint32_t n, tc_hash *root)
{
    tc_store *s = tc_store_mem_new();
    tc_store_txn *t;
    cr_assert_eq(tc_store_begin(s, true, &t), 0);
    for (uint32_t i = 0; i < n; i++) {
        tc_outpoint op = op_of(perm[i]);
        tc_txout o = out_of(1000 + perm[i], (uint8_t)perm[i]);
        cr_assert_eq(tc_utxo_add(t, NULL, &op, &o, perm[i] / 3, (uint8_t)(perm[i] % 2)), 0);
    }
    cr_assert_eq(tc_utxo_root(t, root), 0);
    tc_store_abort(t);
    tc_store_close(s);
}

Test(utxo, root_independent_of_insertion_order)
{
    enum { N = 50 };
    uint32_t fwd[N], rev[N], shuf[N];
    for (uint32_t i = 0; i < N; i++) {
        fwd[i] = i + 1;
        rev[i] = N - i;
        shuf[i] = i + 1;
    }
    tc_rng rng;
    tc_rng_init_u64(&rng, 7);
    for (uint32_t i = N - 1; i > 0; i--) {
        uint32_t j = (uint32_t)tc_rng_below(&rng, i + 1);
        uint32_t tmp = shuf[i];
        shuf[i] = shuf[j];
        shuf[j] = tmp;
    }
    tc_hash a, b, c, d;
    root_of_order(fwd, N, &a);
    root_of_order(rev, N, &b);
    root_of_order(shuf, N, &c);
    root_of_order(fwd, N - 1, &d);
    cr_assert_eq(memcmp(a.b, b.b, TC_HASH_SIZE), 0);
    cr_assert_eq(memcmp(a.b, c.b, TC_HASH_SIZE), 0);
    cr_assert_neq(memcmp(a.b, d.b, TC_HASH_SIZE), 0, "a missing entry changes the root");
}

Test(utxo, add_then_spend_returns_to_the_same_root)
{
    add(1, 1000);
    add(2, 2000);
    tc_hash before, after;
    cr_assert_eq(tc_utxo_root(txn, &before), 0);
    add(3, 3000);
    tc_outpoint op = op_of(3);
    tc_hash tx = txid_of(3);
    cr_assert_eq(tc_utxo_confirm_spend(txn, NULL, &op, &tx, 10, NULL), 0);
    cr_assert_eq(tc_utxo_root(txn, &after), 0);
    cr_assert_eq(memcmp(before.b, after.b, TC_HASH_SIZE), 0);
}

/* One random legal operation: add a fresh entry, or move an existing one along its machine. */
static void random_op(tc_rng *rng, uint32_t *next_id, tc_utxo_meta *m)
{
    uint32_t i = 1 + (uint32_t)tc_rng_below(rng, *next_id);
    tc_outpoint op = op_of(i);
    tc_hash tx = txid_of((uint8_t)(1 + tc_rng_below(rng, 3)));
    tc_utxo_entry e;
    int rc = tc_utxo_get(txn, &op, &e);
    uint64_t pick = tc_rng_below(rng, 6);
    if (rc == TC_ENOTFOUND || pick == 0) {
        uint32_t id = (*next_id)++;
        tc_outpoint fresh = op_of(id);
        tc_txout o = out_of(1 + tc_rng_below(rng, UINT64_C(1) << 40), (uint8_t)id);
        cr_assert_eq(tc_utxo_add(txn, m, &fresh, &o, tc_rng_below(rng, 100), 0), 0);
        return;
    }
    if (rc == TC_ETX_SPENT_INPUT)
        return;
    cr_assert_eq(rc, 0);
    if (pick == 1 && e.state == TC_UTXO_UNSPENT)
        cr_assert_eq(tc_utxo_lock(txn, &op, &tx), 0);
    else if (pick == 2 && e.state == TC_UTXO_LOCKED)
        cr_assert_eq(tc_utxo_release(txn, &op), 0);
    else if (pick == 3 && e.state == TC_UTXO_LOCKED)
        cr_assert_eq(tc_utxo_finalize(txn, &op, &e.txid), 0);
    else if (pick == 4)
        cr_assert_eq(tc_utxo_set_flags(txn, m, &op, (uint8_t)(e.flags ^ TC_UTXO_COLLATERAL)), 0);
    else if (pick == 5 && (e.state != TC_UTXO_FINALIZED || memcmp(e.txid.b, tx.b, 32) == 0))
        cr_assert_eq(tc_utxo_confirm_spend(txn, m, &op, &tx, 200, NULL), 0);
}

Test(utxo, incremental_equals_recompute_after_random_ops)
{
    tc_rng rng;
    tc_rng_init_u64(&rng, 2024);
    uint32_t next_id = 1;
    for (int step = 0; step < 3000; step++) {
        random_op(&rng, &next_id, NULL);
        if (step % 97 == 0)
            assert_consistent();
        if (step % 500 == 499)
            commit_and_reopen();
    }
    assert_consistent();
    uint64_t count;
    cr_assert_eq(tc_utxo_count(txn, &count), 0);
    cr_assert_gt(count, 10, "the walk kept a non-trivial set (%lu)", (unsigned long)count);
}

/* A batch (tc_utxo_meta loaded once, saved once per transaction) ends where the one-change-at-a-
 * time path ends, and the batch's own root and total are the set's. */
Test(utxo, batched_changes_equal_single_changes)
{
    tc_rng rng;
    uint32_t next_id = 1;
    tc_utxo_meta m;
    tc_rng_init_u64(&rng, 2025);
    for (int step = 0; step < 2000; step++)
        random_op(&rng, &next_id, NULL);
    tc_hash single;
    uint64_t single_total;
    cr_assert_eq(tc_utxo_root(txn, &single), 0);
    cr_assert_eq(tc_utxo_total(txn, &single_total), 0);
    tc_store_abort(txn);
    cr_assert_eq(tc_store_begin(store, true, &txn), 0);

    tc_rng_init_u64(&rng, 2025);
    next_id = 1;
    cr_assert_eq(tc_utxo_meta_load(txn, NULL, &m), 0);
    for (int step = 0; step < 2000; step++) {
        random_op(&rng, &next_id, &m);
        if (step % 400 == 399) {
            cr_assert_eq(tc_utxo_meta_save(txn, &m), 0);
            assert_consistent();
            commit_and_reopen();
            cr_assert_eq(tc_utxo_meta_load(txn, NULL, &m), 0);
        }
    }
    tc_hash batched;
    tc_utxo_meta_root(&m, &batched);
    cr_assert_eq(memcmp(batched.b, single.b, TC_HASH_SIZE), 0, "batched root == single root");
    cr_assert_eq(m.total, single_total);
    cr_assert_eq(tc_utxo_meta_save(txn, &m), 0);
    assert_consistent();
}

/* The content digest covers chain data in key order, never lock states. */
Test(utxo, content_digest_follows_chain_data_not_locks)
{
    tc_hash d0, d1, d2;
    add(1, 500);
    add(2, 600);
    cr_assert_eq(tc_utxo_content_digest(txn, &d0), 0);
    tc_outpoint op = op_of(1);
    tc_hash tx = txid_of(1);
    cr_assert_eq(tc_utxo_lock(txn, &op, &tx), 0);
    cr_assert_eq(tc_utxo_content_digest(txn, &d1), 0);
    cr_assert_arr_eq(d0.b, d1.b, TC_HASH_SIZE, "a lock changes nothing");
    add(3, 700);
    cr_assert_eq(tc_utxo_content_digest(txn, &d2), 0);
    cr_assert(memcmp(d0.b, d2.b, TC_HASH_SIZE) != 0, "an entry more, another digest");
}

/* A replayed batch keeps the totals and leaves the accumulator to the caller. */
Test(utxo, replayed_batch_keeps_totals_only)
{
    tc_utxo_meta m;
    add(1, 500);
    cr_assert_eq(tc_utxo_meta_load(txn, NULL, &m), 0);
    tc_lthash before = m.acc;
    m.replay = true;
    tc_outpoint op = op_of(2);
    tc_txout o = out_of(700, 2);
    cr_assert_eq(tc_utxo_add(txn, &m, &op, &o, 7, 0), 0);
    cr_assert_eq(m.total, 1200);
    cr_assert_eq(m.count, 2);
    cr_assert_eq(memcmp(&m.acc, &before, sizeof(before)), 0, "the accumulator is untouched");
}

/* A replay trusts the pass that vetted it: an add does not probe for the outpoint (a batch
 * that is not a replay refuses the same add). */
Test(utxo, replayed_add_does_not_probe_for_the_outpoint)
{
    tc_utxo_meta m;
    add(1, 500);
    cr_assert_eq(tc_utxo_meta_load(txn, NULL, &m), 0);
    tc_outpoint op = op_of(1);
    tc_txout o = out_of(500, 1);
    cr_assert_eq(tc_utxo_add(txn, &m, &op, &o, 7, 0), TC_EEXIST, "checked: the outpoint exists");
    m.replay = true;
    cr_assert_eq(tc_utxo_add(txn, &m, &op, &o, 7, 0), 0, "replayed: no probe");
}

Test(utxo, batch_reports_overflow_and_corruption_without_changing)
{
    tc_utxo_meta m;
    add(1, UINT64_MAX - 5);
    cr_assert_eq(tc_utxo_meta_load(txn, NULL, &m), 0);
    tc_utxo_meta before = m;
    tc_outpoint op = op_of(2);
    tc_txout o = out_of(6, 2);
    cr_assert_eq(tc_utxo_add(txn, &m, &op, &o, 7, 0), TC_EOVERFLOW);
    cr_assert_eq(memcmp(&m, &before, sizeof(m)), 0, "a refused add leaves the batch alone");
    /* A batch whose total cannot hold the entry it removes is a corrupt META. */
    m.total = 1;
    op = op_of(1);
    tc_hash tx = txid_of(1);
    cr_assert_eq(tc_utxo_confirm_spend(txn, &m, &op, &tx, 9, NULL), TC_ESTORE_CORRUPT);
}

/* ---- corruption ---- */

Test(utxo, corrupt_entry_is_estore_corrupt)
{
    add(1, 1000);
    add(2, 2000);
    commit_and_reopen();
    tc_store_abort(txn);
    tc_outpoint op = op_of(1);
    uint8_t key[TC_OUTPOINT_SIZE];
    tc_outpoint_key(&op, key);
    cr_assert_eq(tc_store_mem_corrupt(store, TC_TABLE_UTXO, key, sizeof(key)), 0);
    cr_assert_eq(tc_store_begin(store, true, &txn), 0);
    tc_utxo_entry e;
    tc_hash tx = txid_of(1), root;
    uint64_t total;
    cr_assert_eq(tc_utxo_get(txn, &op, &e), TC_ESTORE_CORRUPT);
    cr_assert_eq(tc_utxo_lock(txn, &op, &tx), TC_ESTORE_CORRUPT);
    cr_assert_eq(tc_utxo_recompute(txn, NULL, &root, &total), TC_ESTORE_CORRUPT);
    cr_assert_eq(tc_utxo_verify(txn, NULL), TC_ESTORE_CORRUPT);
}

Test(utxo, corrupt_meta_is_estore_corrupt)
{
    add(1, 1000);
    commit_and_reopen();
    tc_store_abort(txn);
    cr_assert_eq(
        tc_store_mem_corrupt(store, TC_TABLE_META, TC_UTXO_META_KEY, strlen(TC_UTXO_META_KEY)), 0);
    cr_assert_eq(tc_store_begin(store, true, &txn), 0);
    tc_hash root;
    uint64_t total = 5;
    cr_assert_eq(tc_utxo_root(txn, &root), TC_ESTORE_CORRUPT);
    cr_assert_eq(tc_utxo_total(txn, &total), TC_ESTORE_CORRUPT);
    cr_assert_eq(total, 0);
}

Test(utxo, corrupt_meta_blocks_add)
{
    add(1, 1000);
    commit_and_reopen();
    tc_store_abort(txn);
    cr_assert_eq(
        tc_store_mem_corrupt(store, TC_TABLE_META, TC_UTXO_META_KEY, strlen(TC_UTXO_META_KEY)), 0);
    cr_assert_eq(tc_store_begin(store, true, &txn), 0);
    tc_outpoint op = op_of(2);
    tc_txout o = out_of(5, 2);
    cr_assert_eq(tc_utxo_add(txn, NULL, &op, &o, 1, 0), TC_ESTORE_CORRUPT);
}

static int get_with_raw_record(const uint8_t *val, size_t vlen)
{
    tc_outpoint op = op_of(1);
    uint8_t key[TC_OUTPOINT_SIZE];
    tc_outpoint_key(&op, key);
    cr_assert_eq(tc_store_put(txn, TC_TABLE_UTXO, key, sizeof(key), val, vlen), 0);
    tc_utxo_entry e;
    return tc_utxo_get(txn, &op, &e);
}

Test(utxo, undecodable_records_are_estore_corrupt)
{
    uint8_t rec[TC_UTXO_ENTRY_SIZE + 1];
    memset(rec, 0, sizeof(rec));
    cr_assert_eq(get_with_raw_record(rec, TC_UTXO_ENTRY_SIZE), 0, "the control decodes");
    cr_assert_eq(get_with_raw_record(rec, TC_UTXO_ENTRY_SIZE - 1), TC_ESTORE_CORRUPT, "short");
    cr_assert_eq(get_with_raw_record(rec, TC_UTXO_ENTRY_SIZE + 1), TC_ESTORE_CORRUPT, "long");
    rec[36] = 0x80; /* unknown flag */
    cr_assert_eq(get_with_raw_record(rec, TC_UTXO_ENTRY_SIZE), TC_ESTORE_CORRUPT, "flags");
    rec[36] = 0;
    rec[37] = TC_UTXO_STATE_COUNT; /* unknown state */
    cr_assert_eq(get_with_raw_record(rec, TC_UTXO_ENTRY_SIZE), TC_ESTORE_CORRUPT, "state");
    rec[37] = TC_UTXO_UNSPENT;
    rec[38] = 1; /* unspent with a txid */
    cr_assert_eq(get_with_raw_record(rec, TC_UTXO_ENTRY_SIZE), TC_ESTORE_CORRUPT, "txid");
    rec[38] = 0;
    rec[37] = TC_UTXO_LOCKED; /* locked without a txid */
    cr_assert_eq(get_with_raw_record(rec, TC_UTXO_ENTRY_SIZE), TC_ESTORE_CORRUPT, "no txid");
}

Test(utxo, verify_detects_a_meta_that_disagrees)
{
    add(1, 1000);
    add(2, 2000);
    assert_consistent();
    /* A well-formed META that does not match the entries (as after a torn update). */
    uint8_t zero[TC_UTXO_META_SIZE];
    memset(zero, 0, sizeof(zero));
    cr_assert_eq(tc_store_put(txn, TC_TABLE_META, TC_UTXO_META_KEY, strlen(TC_UTXO_META_KEY), zero,
                              sizeof(zero)),
                 0);
    cr_assert_eq(tc_utxo_verify(txn, NULL), TC_ESTORE_CORRUPT);
    cr_assert_eq(tc_store_put(txn, TC_TABLE_META, TC_UTXO_META_KEY, strlen(TC_UTXO_META_KEY), zero,
                              sizeof(zero) - 1),
                 0);
    tc_hash root;
    cr_assert_eq(tc_utxo_root(txn, &root), TC_ESTORE_CORRUPT, "wrong META size");
}

/* ---- failed writes ---- */

/* Adds two outputs and spends one in one transaction. */
static int block_like_txn(tc_store_txn *t)
{
    tc_outpoint a = op_of(10), b = op_of(11), old = op_of(1);
    tc_txout oa = out_of(500, 10), ob = out_of(400, 11);
    tc_hash tx = txid_of(9);
    int rc = tc_utxo_confirm_spend(t, NULL, &old, &tx, 3, NULL);
    if (rc == 0)
        rc = tc_utxo_add(t, NULL, &a, &oa, 3, 0);
    if (rc == 0)
        rc = tc_utxo_add(t, NULL, &b, &ob, 3, 0);
    return rc;
}

Test(utxo, failed_nth_write_leaves_the_committed_set_intact)
{
    add(1, 1000);
    add(2, 2000);
    commit_and_reopen();
    tc_hash before;
    cr_assert_eq(tc_utxo_root(txn, &before), 0);
    tc_store_abort(txn);
    int failures = 0;
    for (uint64_t n = 1; n < 64; n++) {
        tc_store_mem_faults f = {.fail_nth_write = n};
        tc_store_mem_set_faults(store, &f);
        cr_assert_eq(tc_store_begin(store, true, &txn), 0);
        int rc = block_like_txn(txn);
        if (rc == 0) {
            tc_store_abort(txn);
            break; /* every write succeeded: n is past the last one */
        }
        cr_assert_eq(rc, TC_ESTORE_FAULT, "write %lu: %d", (unsigned long)n, rc);
        failures++;
        tc_store_abort(txn);
        tc_store_mem_faults none = {0};
        tc_store_mem_set_faults(store, &none);
        cr_assert_eq(tc_store_begin(store, false, &txn), 0);
        tc_hash now;
        cr_assert_eq(tc_utxo_root(txn, &now), 0);
        cr_assert_eq(memcmp(before.b, now.b, TC_HASH_SIZE), 0);
        cr_assert_eq(tc_utxo_verify(txn, NULL), 0);
        tc_store_abort(txn);
    }
    cr_assert_gt(failures, 5, "the loop hit every write of the transaction (%d)", failures);
    tc_store_mem_faults none = {0};
    tc_store_mem_set_faults(store, &none);
    cr_assert_eq(tc_store_begin(store, true, &txn), 0);
    cr_assert_eq(block_like_txn(txn), 0);
    assert_consistent();
}

/* ---- burns ---- */

Test(utxo, burn_removes_whatever_the_lock_state)
{
    tc_hash ev, tx = txid_of(1), by;
    memset(ev.b, 0xe5, TC_HASH_SIZE);
    add(1, 1000);
    add(2, 2000);
    add(3, 4000);
    tc_outpoint a = op_of(1), b = op_of(2), c = op_of(3);
    cr_assert_eq(tc_utxo_set_flags(txn, NULL, &a, TC_UTXO_COLLATERAL), 0);
    cr_assert_eq(tc_utxo_lock(txn, &b, &tx), 0);
    cr_assert_eq(tc_utxo_lock(txn, &c, &tx), 0);
    cr_assert_eq(tc_utxo_finalize(txn, &c, &tx), 0);
    uint64_t amount = 0, height = 0, total = 1;
    cr_assert_eq(tc_utxo_burn(txn, NULL, &a, &ev, 12, &amount), 0);
    cr_assert_eq(amount, 1000);
    cr_assert_eq(tc_utxo_burn(txn, NULL, &b, &ev, 12, &amount), 0, "from Locked");
    cr_assert_eq(amount, 2000);
    cr_assert_eq(tc_utxo_burn(txn, NULL, &c, &ev, 12, &amount), 0, "from SpentFinalized");
    cr_assert_eq(amount, 4000);
    cr_assert_eq(tc_utxo_spent_get(txn, &a, &by, &height), 0);
    cr_assert_eq(height, 12);
    cr_assert_eq(memcmp(by.b, ev.b, TC_HASH_SIZE), 0, "the evidence hash is the spender");
    tc_utxo_entry e;
    cr_assert_eq(tc_utxo_get(txn, &a, &e), TC_ETX_SPENT_INPUT);
    cr_assert_eq(tc_utxo_total(txn, &total), 0);
    cr_assert_eq(total, 0);
    cr_assert_eq(tc_utxo_burn(txn, NULL, &a, &ev, 13, &amount), TC_ETX_SPENT_INPUT, "burns once");
    cr_assert_eq(amount, 0);
    tc_outpoint none = op_of(40);
    cr_assert_eq(tc_utxo_burn(txn, NULL, &none, &ev, 13, &amount), TC_ENOTFOUND);
    assert_consistent();
}
