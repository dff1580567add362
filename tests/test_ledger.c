/* test_ledger.c — contextual validation: one test per PROTOCOL 3 rule, each built from a valid
 * transaction broken in exactly one way, so removing the rule makes its test fail. */
#include <criterion/criterion.h>
#include <string.h>

#include "ledger.h"
#include "support.h"
#include "utxo.h"

static tc_profile prof;
static tc_store *store;
static tc_store_txn *txn;
static const tc_verifier ver = {.scheme = TC_SIG_ED25519, .cache = NULL};

static void setup(void)
{
    cr_assert_eq(tc_crypto_init(), 0);
    tc_profile_get(&prof, TC_NET_TESTNET);
    store = tc_store_mem_new();
    cr_assert_not_null(store);
    cr_assert_eq(tc_store_begin(store, true, &txn), 0);
}

static void teardown(void)
{
    tc_store_close(store);
}

TestSuite(ledger, .init = setup, .fini = teardown);

static tc_outpoint op_of(uint32_t i)
{
    tc_outpoint op;
    memset(&op, 0, sizeof(op));
    op.txid.b[0] = 0xf0;
    op.txid.b[1] = (uint8_t)(i >> 8);
    op.txid.b[2] = (uint8_t)i;
    op.index = i % 3;
    return op;
}

static tc_addr_hash addr_of(uint64_t key)
{
    tc_keypair kp;
    tc_addr_hash a;
    ts_keypair(&kp, key);
    tc_addr_from_pubkey(&kp.pub, &a);
    return a;
}

/* Puts an output of amount owned by test key `key` at op_of(i). */
static void fund(uint32_t i, uint64_t amount, uint64_t key, uint8_t flags)
{
    tc_outpoint op = op_of(i);
    tc_txout o = {.amount = amount, .addr = addr_of(key)};
    cr_assert_eq(tc_utxo_add(txn, NULL, &op, &o, 1, flags), 0, "fund %u", i);
}

/* A transaction spending op_of(first .. first+nin-1) with key `key`, paying the given output
 * amounts to key 50. Sets *txid and signs. */
static void make(tc_tx *tx, tc_tx_kind kind, uint32_t first, uint32_t nin, uint64_t key,
                 const uint64_t *amounts, uint32_t nout, tc_hash *txid)
{
    tc_keypair kp;
    ts_keypair(&kp, key);
    cr_assert_eq(tc_tx_init_alloc(tx, kind, nin, nout), 0);
    for (uint32_t i = 0; i < nin; i++) {
        tx->inputs[i].prev = op_of(first + i);
        tx->inputs[i].pub = kp.pub;
    }
    for (uint32_t i = 0; i < nout; i++) {
        tx->outputs[i].amount = amounts[i];
        tx->outputs[i].addr = addr_of(50);
    }
    if (kind != TC_TX_TRANSFER) {
        tc_keypair mn;
        ts_keypair(&mn, 77);
        tx->mn_key = mn.pub;
    }
    if (kind == TC_TX_MN_REGISTER) {
        memcpy(tx->net_addr, "127.0.0.1:24100", 15);
        tx->net_addr_len = 15;
    }
    tc_tx_id(tx, txid);
    for (uint32_t i = 0; i < nin; i++)
        tc_tx_sign_input(tx, txid, i, TC_SIG_ED25519, &kp);
}

static int check(const tc_tx *tx, const tc_hash *txid, tc_ledger_mode mode, uint64_t *fee)
{
    return tc_ledger_check_tx(&prof, &ver, txn, tx, txid, mode, fee);
}

static int check_known(const tc_tx *tx, const tc_hash *txid, tc_ledger_mode mode, uint64_t *fee)
{
    return tc_ledger_check_known_tx(&prof, txn, tx, txid, mode, fee);
}

/* 1 input of 100,000 owned by key 1; outputs 60,000 + 30,000; fee 10,000. */
static void simple(tc_tx *tx, tc_hash *txid)
{
    const uint64_t amounts[] = {60000, 30000};
    fund(1, 100000, 1, 0);
    make(tx, TC_TX_TRANSFER, 1, 1, 1, amounts, 2, txid);
}

Test(ledger, valid_transfer_and_its_fee)
{
    tc_tx tx;
    tc_hash txid;
    uint64_t fee = 0;
    simple(&tx, &txid);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, &fee), 0);
    cr_assert_eq(fee, 10000);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_CONFIRM, NULL), 0);
    tc_tx_deinit(&tx);
}

Test(ledger, form_rules_run_first)
{
    tc_tx tx;
    tc_hash txid;
    uint64_t fee = 5;
    simple(&tx, &txid);
    tx.outputs[1].amount = 0;
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, &fee), TC_ETX_ZERO_AMOUNT);
    cr_assert_eq(fee, 0, "fee cleared on failure");
    tc_tx_deinit(&tx);
}

Test(ledger, missing_input)
{
    tc_tx tx;
    tc_hash txid;
    const uint64_t amounts[] = {50000};
    make(&tx, TC_TX_TRANSFER, 1, 1, 1, amounts, 1, &txid);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_MISSING_INPUT);
    fund(1, 100000, 1, 0);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), 0, "control: funded, it passes");
    tc_tx_deinit(&tx);
}

Test(ledger, spent_input)
{
    tc_tx tx;
    tc_hash txid, other;
    simple(&tx, &txid);
    memset(other.b, 0x33, TC_HASH_SIZE);
    tc_outpoint op = op_of(1);
    cr_assert_eq(tc_utxo_confirm_spend(txn, NULL, &op, &other, 2, NULL), 0);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_SPENT_INPUT);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_CONFIRM, NULL), TC_ETX_SPENT_INPUT);
    tc_tx_deinit(&tx);
}

Test(ledger, wrong_owner)
{
    tc_tx tx;
    tc_hash txid;
    const uint64_t amounts[] = {50000};
    fund(1, 100000, 1, 0);
    /* Key 2 signs correctly, but the output belongs to key 1. */
    make(&tx, TC_TX_TRANSFER, 1, 1, 2, amounts, 1, &txid);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_WRONG_OWNER);
    tc_tx_deinit(&tx);
}

Test(ledger, bad_signature)
{
    tc_tx tx;
    tc_hash txid;
    simple(&tx, &txid);
    tx.inputs[0].sig.b[10] ^= 1;
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_BAD_SIG);
    tc_tx_deinit(&tx);
}

Test(ledger, signature_bound_to_its_input_index)
{
    tc_tx tx;
    tc_hash txid;
    const uint64_t amounts[] = {100000};
    fund(1, 100000, 1, 0);
    fund(2, 100000, 1, 0);
    make(&tx, TC_TX_TRANSFER, 1, 2, 1, amounts, 1, &txid);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), 0);
    tc_sig s0 = tx.inputs[0].sig;
    tx.inputs[0].sig = tx.inputs[1].sig;
    tx.inputs[1].sig = s0;
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_BAD_SIG, "swapped signatures");
    tc_tx_deinit(&tx);
}

Test(ledger, signature_over_another_txid)
{
    /* A signature is over the txid the check is given: a stale txid fails. */
    tc_tx tx;
    tc_hash txid;
    simple(&tx, &txid);
    txid.b[0] ^= 1;
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_BAD_SIG);
    tc_tx_deinit(&tx);
}

Test(ledger, overspend)
{
    tc_tx tx;
    tc_hash txid;
    const uint64_t amounts[] = {60000, 40001};
    fund(1, 100000, 1, 0);
    make(&tx, TC_TX_TRANSFER, 1, 1, 1, amounts, 2, &txid);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_OVERSPEND);
    tc_tx_deinit(&tx);
}

Test(ledger, low_fee_exactly_at_boundary)
{
    /* Outputs total 98,000, so min_fee = 1,000 + 98 = 1,098. */
    const uint64_t amounts[] = {90000, 8000};
    uint64_t min_fee;
    cr_assert_eq(tc_tx_min_fee(&prof, 98000, &min_fee), 0);
    cr_assert_eq(min_fee, 1098);
    fund(1, 98000 + min_fee - 1, 1, 0);
    fund(2, 98000 + min_fee, 1, 0);
    tc_tx below, at;
    tc_hash id_below, id_at;
    uint64_t fee = 0;
    make(&below, TC_TX_TRANSFER, 1, 1, 1, amounts, 2, &id_below);
    make(&at, TC_TX_TRANSFER, 2, 1, 1, amounts, 2, &id_at);
    cr_assert_eq(check(&below, &id_below, TC_LEDGER_VOTE, &fee), TC_ETX_LOW_FEE);
    cr_assert_eq(check(&at, &id_at, TC_LEDGER_VOTE, &fee), 0);
    cr_assert_eq(fee, min_fee);
    tc_tx_deinit(&below);
    tc_tx_deinit(&at);
}

Test(ledger, zero_fee_is_low)
{
    tc_tx tx;
    tc_hash txid;
    const uint64_t amounts[] = {100000};
    fund(1, 100000, 1, 0);
    make(&tx, TC_TX_TRANSFER, 1, 1, 1, amounts, 1, &txid);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_LOW_FEE);
    tc_tx_deinit(&tx);
}

Test(ledger, dust_at_boundary)
{
    const uint64_t dust[] = {545, 50000};
    const uint64_t ok[] = {546, 50000};
    tc_tx a, b;
    tc_hash ida, idb;
    fund(1, 100000, 1, 0);
    fund(2, 100000, 1, 0);
    make(&a, TC_TX_TRANSFER, 1, 1, 1, dust, 2, &ida);
    make(&b, TC_TX_TRANSFER, 2, 1, 1, ok, 2, &idb);
    cr_assert_eq(check(&a, &ida, TC_LEDGER_VOTE, NULL), TC_ETX_DUST);
    cr_assert_eq(check(&b, &idb, TC_LEDGER_VOTE, NULL), 0);
    tc_tx_deinit(&a);
    tc_tx_deinit(&b);
}

Test(ledger, duplicate_input)
{
    tc_tx tx;
    tc_hash txid;
    const uint64_t amounts[] = {150000};
    tc_keypair kp;
    ts_keypair(&kp, 1);
    fund(1, 100000, 1, 0);
    fund(2, 100000, 1, 0);
    make(&tx, TC_TX_TRANSFER, 1, 2, 1, amounts, 1, &txid);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), 0, "control: distinct inputs");
    tx.inputs[1].prev = tx.inputs[0].prev;
    tc_tx_id(&tx, &txid);
    tc_tx_sign_input(&tx, &txid, 0, TC_SIG_ED25519, &kp);
    tc_tx_sign_input(&tx, &txid, 1, TC_SIG_ED25519, &kp);
    /* Without the rule the input would count twice and the overspend would pass. */
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_DUP_INPUT);
    tc_tx_deinit(&tx);
}

Test(ledger, too_many_inputs)
{
    uint32_t max = prof.tx_inputs_max;
    const uint64_t amounts[] = {10000};
    for (uint32_t i = 0; i <= max; i++)
        fund(1 + i, 1000, 1, 0);
    tc_tx ok, over;
    tc_hash id_ok, id_over;
    make(&ok, TC_TX_TRANSFER, 1, max, 1, amounts, 1, &id_ok);
    make(&over, TC_TX_TRANSFER, 1, max + 1, 1, amounts, 1, &id_over);
    cr_assert_eq(check(&ok, &id_ok, TC_LEDGER_VOTE, NULL), 0, "exactly at the limit");
    cr_assert_eq(check(&over, &id_over, TC_LEDGER_VOTE, NULL), TC_ETX_TOO_MANY_INPUTS);
    tc_tx_deinit(&ok);
    tc_tx_deinit(&over);
}

Test(ledger, too_many_outputs)
{
    uint32_t max = prof.tx_outputs_max;
    uint64_t amounts[257 + 1];
    cr_assert_leq(max + 1, TC_ARRAY_LEN(amounts));
    for (uint32_t i = 0; i <= max; i++)
        amounts[i] = 1000;
    fund(1, 1000000, 1, 0);
    fund(2, 1000000, 1, 0);
    tc_tx ok, over;
    tc_hash id_ok, id_over;
    make(&ok, TC_TX_TRANSFER, 1, 1, 1, amounts, max, &id_ok);
    make(&over, TC_TX_TRANSFER, 2, 1, 1, amounts, max + 1, &id_over);
    cr_assert_eq(check(&ok, &id_ok, TC_LEDGER_VOTE, NULL), 0, "exactly at the limit");
    cr_assert_eq(check(&over, &id_over, TC_LEDGER_VOTE, NULL), TC_ETX_TOO_MANY_OUTPUTS);
    tc_tx_deinit(&ok);
    tc_tx_deinit(&over);
}

Test(ledger, size_limit)
{
    tc_tx tx;
    tc_hash txid;
    simple(&tx, &txid);
    prof.tx_size_max = (uint32_t)tc_tx_encoded_size(&tx);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), 0, "exactly at the limit");
    prof.tx_size_max--;
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_SIZE);
    tc_tx_deinit(&tx);
}

Test(ledger, collateral_not_spendable_by_any_kind)
{
    tc_tx transfer, retire;
    tc_hash id_t, id_r;
    const uint64_t amounts[] = {50000};
    fund(1, 100000, 1, TC_UTXO_COLLATERAL);
    make(&transfer, TC_TX_TRANSFER, 1, 1, 1, amounts, 1, &id_t);
    make(&retire, TC_TX_MN_RETIRE, 1, 1, 1, amounts, 1, &id_r);
    cr_assert_eq(check(&transfer, &id_t, TC_LEDGER_VOTE, NULL), TC_ETX_COLLATERAL);
    cr_assert_eq(check(&transfer, &id_t, TC_LEDGER_CONFIRM, NULL), TC_ETX_COLLATERAL);
    cr_assert_eq(check(&retire, &id_r, TC_LEDGER_VOTE, NULL), TC_ETX_COLLATERAL,
                 "not even its own retirement: the collateral is released at the retirement "
                 "epoch, so evidence can burn it until then");
    tc_outpoint op = op_of(1);
    cr_assert_eq(tc_utxo_set_flags(txn, NULL, &op, 0), 0);
    cr_assert_eq(check(&transfer, &id_t, TC_LEDGER_VOTE, NULL), 0, "control: flag cleared");
    tc_tx_deinit(&transfer);
    tc_tx_deinit(&retire);
}

Test(ledger, locked_input_vote_versus_confirm)
{
    tc_tx tx;
    tc_hash txid, other;
    simple(&tx, &txid);
    memset(other.b, 0x44, TC_HASH_SIZE);
    tc_outpoint op = op_of(1);
    cr_assert_eq(tc_utxo_lock(txn, &op, &other), 0);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_LOCKED);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_CONFIRM, NULL), 0, "a certified block outranks");
    cr_assert_eq(tc_utxo_finalize(txn, &op, &other), 0);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_LOCKED, "final for another");
    tc_tx_deinit(&tx);
}

Test(ledger, own_lock_does_not_block_a_vote)
{
    tc_tx tx;
    tc_hash txid;
    simple(&tx, &txid);
    tc_outpoint op = op_of(1);
    cr_assert_eq(tc_utxo_lock(txn, &op, &txid), 0);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), 0);
    cr_assert_eq(tc_utxo_finalize(txn, &op, &txid), 0);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), 0);
    tc_tx_deinit(&tx);
}

static void make_registration(tc_tx *tx, tc_hash *txid)
{
    tc_keypair mn;
    ts_keypair(&mn, 77);
    const uint64_t amounts[] = {prof.collateral_bronze};
    fund(1, prof.collateral_bronze + 10 * TC_UNITS_PER_TIME, 1, 0);
    make(tx, TC_TX_MN_REGISTER, 1, 1, 1, amounts, 1, txid);
    tx->mn_tier = TC_TIER_BRONZE;
    tc_keypair kp;
    ts_keypair(&kp, 1);
    tc_tx_id(tx, txid); /* the tier changed the txid */
    tc_tx_sign_input(tx, txid, 0, TC_SIG_ED25519, &kp);
    tc_tx_sign_mn(tx, txid, TC_SIG_ED25519, &mn);
}

Test(ledger, registration_mn_sig)
{
    tc_tx tx;
    tc_hash txid;
    make_registration(&tx, &txid);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), 0);
    tx.mn_sig.b[0] ^= 1;
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_BAD_SIG);
    tc_tx_deinit(&tx);
}

Test(ledger, registration_mn_sig_by_another_key)
{
    tc_tx tx;
    tc_hash txid, msg;
    make_registration(&tx, &txid);
    tc_keypair other;
    ts_keypair(&other, 78);
    tc_tx_sighash(&txid, TC_TX_SIGHASH_MN, &msg);
    tc_sign(TC_SIG_ED25519, &other, &msg, &tx.mn_sig);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_BAD_SIG,
                 "registering somebody else's key");
    /* The input key signing as the masternode is not enough either. */
    tc_keypair payer;
    ts_keypair(&payer, 1);
    tc_sign(TC_SIG_ED25519, &payer, &msg, &tx.mn_sig);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_BAD_SIG);
    tc_tx_deinit(&tx);
}

Test(ledger, registration_with_input_signature_in_mn_slot)
{
    /* An input signature (index 0) reused as mn_sig must not verify: different sighash. */
    tc_tx tx;
    tc_hash txid;
    make_registration(&tx, &txid);
    tc_keypair mn;
    ts_keypair(&mn, 77);
    tc_hash msg0;
    tc_tx_sighash(&txid, 0, &msg0);
    tc_sign(TC_SIG_ED25519, &mn, &msg0, &tx.mn_sig);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_BAD_SIG);
    tc_tx_deinit(&tx);
}

Test(ledger, signatures_are_checked_last)
{
    tc_tx tx;
    tc_hash txid;
    const uint64_t amounts[] = {100000};
    fund(1, 100000, 1, 0);
    make(&tx, TC_TX_TRANSFER, 1, 1, 1, amounts, 1, &txid);
    tx.inputs[0].sig.b[0] ^= 1;
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_LOW_FEE,
                 "a cheap rule rejects before the signature is checked");
    tc_tx_deinit(&tx);
}

Test(ledger, first_bad_input_decides)
{
    tc_tx tx;
    tc_hash txid, other;
    const uint64_t amounts[] = {50000};
    memset(other.b, 0x55, TC_HASH_SIZE);
    fund(1, 100000, 2, 0); /* wrong owner */
    /* input 2 missing */
    make(&tx, TC_TX_TRANSFER, 1, 2, 1, amounts, 1, &txid);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_WRONG_OWNER);
    tc_tx_deinit(&tx);
}

Test(ledger, with_a_verify_cache_results_do_not_change)
{
    tc_verify_cache *cache = tc_verify_cache_new(64, TS_CACHE_KEY);
    cr_assert_not_null(cache);
    tc_verifier cached = {.scheme = TC_SIG_ED25519, .cache = cache};
    tc_tx tx;
    tc_hash txid;
    simple(&tx, &txid);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(tc_ledger_check_tx(&prof, &cached, txn, &tx, &txid, TC_LEDGER_VOTE, NULL), 0);
    tx.inputs[0].sig.b[3] ^= 1;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(tc_ledger_check_tx(&prof, &cached, txn, &tx, &txid, TC_LEDGER_VOTE, NULL),
                     TC_ETX_BAD_SIG);
    tc_verify_cache_stats st;
    tc_verify_cache_stats_get(cache, &st);
    cr_assert_eq(st.hits, 4);
    cr_assert_eq(st.misses, 2);
    tc_verify_cache_free(cache);
    tc_tx_deinit(&tx);
}

/* With the input memo: a verified input enters it and is then vouched for (no owner hash, no
 * signature check), and every result equals the memo-less check's: a changed signature, a
 * signature over another txid, an input moved to another index, another scheme and another
 * owner all miss it and fail or pass as without it. */
Test(ledger, with_an_input_memo_results_do_not_change)
{
    tc_input_memo *memo = tc_input_memo_new(64);
    cr_assert_not_null(memo);
    tc_verifier with = {.scheme = TC_SIG_ED25519, .inputs = memo};
    tc_tx tx;
    tc_hash txid;
    const uint64_t amounts[] = {100000};
    fund(1, 100000, 1, 0);
    fund(2, 100000, 1, 0);
    make(&tx, TC_TX_TRANSFER, 1, 2, 1, amounts, 1, &txid);
    uint64_t fee = 0;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(tc_ledger_check_tx(&prof, &with, txn, &tx, &txid, TC_LEDGER_VOTE, &fee), 0);
        cr_assert_eq(fee, 100000, "the fee, every time: %llu", (unsigned long long)fee);
    }
    tc_verify_cache_stats st;
    tc_input_memo_stats_get(memo, &st);
    cr_assert_eq(st.misses, 2, "the first check misses both inputs (%llu)",
                 (unsigned long long)st.misses);
    cr_assert_eq(st.hits, 4, "the next two find both (%llu)", (unsigned long long)st.hits);
    /* A flipped signature bit: not the memo's input; fails as without the memo. */
    tx.inputs[1].sig.b[3] ^= 1;
    cr_assert_eq(tc_ledger_check_tx(&prof, &with, txn, &tx, &txid, TC_LEDGER_VOTE, NULL),
                 TC_ETX_BAD_SIG);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_BAD_SIG, "the same without");
    tx.inputs[1].sig.b[3] ^= 1;
    /* Swapped signatures (each input's signature at the other index) miss too. */
    tc_sig s0 = tx.inputs[0].sig;
    tx.inputs[0].sig = tx.inputs[1].sig;
    tx.inputs[1].sig = s0;
    cr_assert_eq(tc_ledger_check_tx(&prof, &with, txn, &tx, &txid, TC_LEDGER_VOTE, NULL),
                 TC_ETX_BAD_SIG, "swapped signatures");
    tx.inputs[1].sig = tx.inputs[0].sig;
    tx.inputs[0].sig = s0;
    /* Another txid (the same signatures): misses, and the signatures do not verify. */
    tc_hash other = txid;
    other.b[5] ^= 1;
    cr_assert_eq(tc_ledger_check_tx(&prof, &with, txn, &tx, &other, TC_LEDGER_VOTE, NULL),
                 TC_ETX_BAD_SIG);
    /* Another scheme: the entries were made under Ed25519, so `fast` checks again (and fails:
     * these are Ed25519 signatures). */
    tc_verifier fast = {.scheme = TC_SIG_FAST, .inputs = memo};
    cr_assert_eq(tc_ledger_check_tx(&prof, &fast, txn, &tx, &txid, TC_LEDGER_VOTE, NULL),
                 TC_ETX_BAD_SIG, "another scheme");
    /* The owner is still compared: the memo's owner hash is the key's, so a key that signed
     * validly but does not own the input is still refused. */
    tc_tx wrong;
    tc_hash wrong_id;
    const uint64_t half[] = {50000};
    fund(3, 100000, 1, 0);
    make(&wrong, TC_TX_TRANSFER, 3, 1, 2, half, 1, &wrong_id); /* key 2 spends key 1's */
    for (int i = 0; i < 2; i++)
        cr_assert_eq(tc_ledger_check_tx(&prof, &with, txn, &wrong, &wrong_id, TC_LEDGER_VOTE, NULL),
                     TC_ETX_WRONG_OWNER, "round %d", i);
    cr_assert_eq(tc_ledger_check_tx(&prof, &with, txn, &tx, &txid, TC_LEDGER_VOTE, NULL), 0,
                 "the valid transaction still passes");
    tc_tx_deinit(&wrong);
    tc_tx_deinit(&tx);
    tc_input_memo_free(memo);
}

Test(ledger, corrupt_input_record_is_reported)
{
    tc_tx tx;
    tc_hash txid;
    simple(&tx, &txid);
    cr_assert_eq(tc_store_commit(txn), 0);
    tc_outpoint op = op_of(1);
    uint8_t key[TC_OUTPOINT_SIZE];
    tc_outpoint_key(&op, key);
    cr_assert_eq(tc_store_mem_corrupt(store, TC_TABLE_UTXO, key, sizeof(key)), 0);
    cr_assert_eq(tc_store_begin(store, false, &txn), 0);
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ESTORE_CORRUPT);
    tc_tx_deinit(&tx);
}

/* A known transaction skips owner and signature checks (they were made when it was first
 * accepted) but every check on the set still runs. */
Test(ledger, known_transaction_skips_owner_and_signatures_only)
{
    tc_tx tx;
    tc_hash txid;
    uint64_t fee = 0;
    simple(&tx, &txid);
    tx.inputs[0].sig.b[10] ^= 1;
    cr_assert_eq(check(&tx, &txid, TC_LEDGER_CONFIRM, NULL), TC_ETX_BAD_SIG, "control");
    cr_assert_eq(check_known(&tx, &txid, TC_LEDGER_CONFIRM, &fee), 0, "no signature check");
    cr_assert_eq(fee, 10000, "the fee is still computed");

    tc_tx other;
    tc_hash other_id;
    const uint64_t amounts[] = {50000};
    fund(2, 100000, 1, 0);
    make(&other, TC_TX_TRANSFER, 2, 1, 2, amounts, 1, &other_id); /* key 2 spends key 1's */
    cr_assert_eq(check_known(&other, &other_id, TC_LEDGER_VOTE, NULL), 0, "no owner check");

    tc_outpoint op = op_of(1);
    tc_hash rival;
    memset(rival.b, 0x55, TC_HASH_SIZE);
    cr_assert_eq(tc_utxo_lock(txn, &op, &rival), 0);
    cr_assert_eq(check_known(&tx, &txid, TC_LEDGER_VOTE, NULL), TC_ETX_LOCKED,
                 "lock states are checked");
    tx.outputs[0].amount = 95000;
    cr_assert_eq(check_known(&tx, &txid, TC_LEDGER_CONFIRM, NULL), TC_ETX_OVERSPEND,
                 "amounts are checked");
    tc_tx_deinit(&other);
    const uint64_t one[] = {50000};
    make(&other, TC_TX_TRANSFER, 9, 1, 1, one, 1, &other_id);
    cr_assert_eq(check_known(&other, &other_id, TC_LEDGER_CONFIRM, NULL), TC_ETX_MISSING_INPUT,
                 "inputs must exist");
    other.outputs[0].amount = 0;
    cr_assert_eq(check_known(&other, &other_id, TC_LEDGER_CONFIRM, NULL), TC_ETX_ZERO_AMOUNT,
                 "forms are checked");
    tc_tx_deinit(&other);
    tc_tx_deinit(&tx);
}
