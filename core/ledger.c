/* ledger.c — contextual transaction validation (see ledger.h). */
#include "ledger.h"

#include <string.h>

#include "utxo.h"

/* Checks one input against its entry (its owner too unless owner_known); adds its amount to
 * *in_total. */
static int check_input(const tc_txin *in, const tc_utxo_entry *e, const tc_hash *txid,
                       tc_ledger_mode mode, bool owner_known, uint64_t *in_total)
{
    if (!owner_known) {
        tc_addr_hash owner;
        tc_addr_from_pubkey(&in->pub, &owner);
        if (memcmp(owner.b, e->addr.b, TC_ADDR_HASH_SIZE) != 0)
            return TC_ETX_WRONG_OWNER;
    }
    /* Collateral is spendable by nothing while its masternode is registered: a retirement
     * releases it only at the retirement epoch (chain.h), so evidence can still burn it, and a
     * registration cannot reuse another masternode's stake. */
    if ((e->flags & TC_UTXO_COLLATERAL) != 0)
        return TC_ETX_COLLATERAL;
    if (mode == TC_LEDGER_VOTE) {
        /* A txid of all zeros marks "no lock", so `ours` implies Locked or SpentFinalized by
         * this very transaction: voting for it again can never make a conflict. */
        bool ours = memcmp(e->txid.b, txid->b, TC_HASH_SIZE) == 0;
        if (e->state != TC_UTXO_UNSPENT && !ours)
            return TC_ETX_LOCKED;
    }
    return tc_add_u64(in_total, e->amount) != 0 ? TC_EOVERFLOW : 0;
}

static int check_inputs(tc_store_txn *t, const tc_tx *tx, const tc_hash *txid, tc_ledger_mode mode,
                        bool owners_known, uint64_t *in_total)
{
    *in_total = 0;
    for (uint32_t i = 0; i < tx->input_count; i++) {
        tc_utxo_entry e;
        int rc = tc_utxo_get(t, &tx->inputs[i].prev, &e);
        if (rc == TC_ENOTFOUND)
            return TC_ETX_MISSING_INPUT;
        if (rc == 0)
            rc = check_input(&tx->inputs[i], &e, txid, mode, owners_known, in_total);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int check_amounts(const tc_profile *p, const tc_tx *tx, uint64_t in_total, uint64_t *fee)
{
    uint64_t out_total, min_fee;
    int rc = tc_tx_output_total(tx, &out_total);
    TC_ASSERT(rc == 0); /* tc_tx_check_form has rejected an overflowing output sum */
    if (out_total > in_total)
        return TC_ETX_OVERSPEND;
    *fee = in_total - out_total;
    rc = tc_tx_min_fee(p, out_total, &min_fee);
    if (rc != 0)
        return rc;
    return *fee < min_fee ? TC_ETX_LOW_FEE : 0;
}

static int check_sigs(const tc_verifier *v, const tc_tx *tx, const tc_hash *txid)
{
    tc_hash msg;
    for (uint32_t i = 0; i < tx->input_count; i++) {
        tc_tx_sighash(txid, i, &msg);
        if (tc_verify(v, &tx->inputs[i].pub, &msg, &tx->inputs[i].sig) != 0)
            return TC_ETX_BAD_SIG;
    }
    if (tx->kind == TC_TX_MN_REGISTER) {
        /* Proof of possession of the masternode key: nobody registers another's key. */
        tc_tx_sighash(txid, TC_TX_SIGHASH_MN, &msg);
        if (tc_verify(v, &tx->mn_key, &msg, &tx->mn_sig) != 0)
            return TC_ETX_BAD_SIG;
    }
    return 0;
}

/* The checks of both entry points; v is NULL when the transaction is known (no owner or
 * signature check). */
static int check_tx(const tc_profile *p, const tc_verifier *v, tc_store_txn *t, const tc_tx *tx,
                    const tc_hash *txid, tc_ledger_mode mode, uint64_t *fee_out)
{
    TC_ASSERT(p != NULL && t != NULL && tx != NULL && txid != NULL);
    TC_ASSERT(mode == TC_LEDGER_VOTE || mode == TC_LEDGER_CONFIRM);
    uint64_t in_total = 0, fee = 0;
    if (fee_out != NULL)
        *fee_out = 0;
    int rc = tc_tx_check_form(tx, p);
    if (rc == 0)
        rc = check_inputs(t, tx, txid, mode, v == NULL, &in_total);
    if (rc == 0)
        rc = check_amounts(p, tx, in_total, &fee);
    if (rc == 0 && v != NULL)
        rc = check_sigs(v, tx, txid);
    if (rc == 0 && fee_out != NULL)
        *fee_out = fee;
    return rc;
}

int tc_ledger_check_tx(const tc_profile *p, const tc_verifier *v, tc_store_txn *t, const tc_tx *tx,
                       const tc_hash *txid, tc_ledger_mode mode, uint64_t *fee_out)
{
    TC_ASSERT(v != NULL);
    return check_tx(p, v, t, tx, txid, mode, fee_out);
}

int tc_ledger_check_known_tx(const tc_profile *p, tc_store_txn *t, const tc_tx *tx,
                             const tc_hash *txid, tc_ledger_mode mode, uint64_t *fee_out)
{
    return check_tx(p, NULL, t, tx, txid, mode, fee_out);
}
