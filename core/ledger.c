/* ledger.c — contextual transaction validation (see ledger.h). */
#include "ledger.h"

#include <string.h>

#include "utxo.h"

/* Inputs per transaction the input memo serves (a transfer has one or two). */
#define MEMO_INPUTS 8
_Static_assert(MEMO_INPUTS <= 32, "sig_ctx.memo_hits has a bit per input");

/* What the owner and signature checks of one transaction share: the verifier (NULL when the
 * transaction is known: neither check runs), the inputs the memo vouched for, and the owner
 * hashes computed, which the memo keeps once their signatures verify. */
typedef struct {
    const tc_verifier *v;
    uint32_t memo_hits; /* bit i: input i was in the memo (owner known, signature checked) */
    tc_addr_hash owners[MEMO_INPUTS];
} sig_ctx;

/* The owner hash of input i, from the memo when it holds the input. */
static void input_owner(sig_ctx *x, const tc_tx *tx, const tc_hash *txid, uint32_t i,
                        tc_addr_hash *owner)
{
    const tc_txin *in = &tx->inputs[i];
    tc_input_memo *memo = x->v->inputs;
    if (memo != NULL && i < MEMO_INPUTS &&
        tc_input_memo_get(memo, x->v->scheme, txid, i, &in->pub, &in->sig, owner)) {
        x->memo_hits |= 1u << i;
        return;
    }
    tc_addr_from_pubkey(&in->pub, owner);
    if (i < MEMO_INPUTS)
        x->owners[i] = *owner;
}

/* Checks one input against its entry (its owner too unless x->v is NULL); adds its amount to
 * *in_total. */
static int check_input(sig_ctx *x, const tc_tx *tx, uint32_t i, const tc_utxo_entry *e,
                       const tc_hash *txid, tc_ledger_mode mode, uint64_t *in_total)
{
    if (x->v != NULL) {
        tc_addr_hash owner;
        input_owner(x, tx, txid, i, &owner);
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

static int check_inputs(sig_ctx *x, tc_store_txn *t, const tc_tx *tx, const tc_hash *txid,
                        tc_ledger_mode mode, uint64_t *in_total)
{
    *in_total = 0;
    for (uint32_t i = 0; i < tx->input_count; i++) {
        tc_utxo_entry e;
        int rc = tc_utxo_get(t, &tx->inputs[i].prev, &e);
        if (rc == TC_ENOTFOUND)
            return TC_ETX_MISSING_INPUT;
        if (rc == 0)
            rc = check_input(x, tx, i, &e, txid, mode, in_total);
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

/* Every input's signature but those the memo vouched for; the ones that verify enter the memo
 * with the owner hash check_inputs computed. */
static int check_sigs(const sig_ctx *x, const tc_tx *tx, const tc_hash *txid)
{
    const tc_verifier *v = x->v;
    tc_hash msg;
    for (uint32_t i = 0; i < tx->input_count; i++) {
        const tc_txin *in = &tx->inputs[i];
        if (i < MEMO_INPUTS && (x->memo_hits & (1u << i)) != 0)
            continue;
        tc_tx_sighash(txid, i, &msg);
        if (tc_verify(v, &in->pub, &msg, &in->sig) != 0)
            return TC_ETX_BAD_SIG;
        if (v->inputs != NULL && i < MEMO_INPUTS)
            tc_input_memo_put(v->inputs, v->scheme, txid, i, &in->pub, &in->sig, &x->owners[i]);
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
    sig_ctx x = {.v = v};
    int rc = tc_tx_check_form(tx, p);
    if (rc == 0)
        rc = check_inputs(&x, t, tx, txid, mode, &in_total);
    if (rc == 0)
        rc = check_amounts(p, tx, in_total, &fee);
    if (rc == 0 && v != NULL)
        rc = check_sigs(&x, tx, txid);
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
