/* ledger.h — contextual validation of a transaction against the UTXO set (PROTOCOL 3).
 *
 * Owns no state: it reads the UTXO set (utxo.h) inside the caller's store transaction and
 * writes nothing, so a check can run before a vote (locks are taken afterwards by the caller,
 * with tc_utxo_lock) or while a certified block is applied (followed by tc_utxo_confirm_spend
 * for each input and tc_utxo_add for each output).
 *
 * Check order (the first rule broken is reported, so one transaction always gets one code):
 *   1. tc_tx_check_form (its own fixed order; see tx.h).
 *   2. per input, in input order: exists (TC_ETX_MISSING_INPUT, or TC_ETX_SPENT_INPUT if a
 *      confirmed transaction spent it); owned (TC_ETX_WRONG_OWNER: address of the input's key
 *      differs from the output's address); not masternode collateral, for any kind
 *      (TC_ETX_COLLATERAL); lock state acceptable for the mode (TC_ETX_LOCKED).
 *   3. sum(in) overflow (TC_EOVERFLOW); sum(out) > sum(in) (TC_ETX_OVERSPEND);
 *      fee < tc_tx_min_fee (TC_ETX_LOW_FEE).
 *   4. input signatures, then a registration's mn_sig (TC_ETX_BAD_SIG). Last, because they are
 *      the expensive part and every cheaper rejection comes first.
 * Registry rules (key registered already, retirement of an unknown masternode, retirement not
 * signed by the collateral owner) are the masternode registry's, on top of this check.
 *
 * Cost: no allocation and no hashing beyond one address hash and one sighash per input; the
 * caller passes the txid it computed already. Signatures go through the caller's verifier
 * (and its cache).
 */
#ifndef TC_LEDGER_H
#define TC_LEDGER_H

#include "base.h"
#include "crypto.h"
#include "profile.h"
#include "store.h"
#include "tx.h"

typedef enum {
    /* Before voting: every input must be Unspent, or Locked / SpentFinalized by this same
     * transaction; a lock or finality for another transaction rejects with TC_ETX_LOCKED, so a
     * validator never votes for two transactions spending one outpoint. */
    TC_LEDGER_VOTE = 0,
    /* Applying a certified block: the block's quorum outranks this node's local locks, so no
     * lock state rejects. A conflict with local finality is reported by tc_utxo_confirm_spend. */
    TC_LEDGER_CONFIRM = 1,
} tc_ledger_mode;

/* Validates tx (whose id is *txid, = tc_tx_id(tx)) against the UTXO set seen by t. On success
 * *fee_out (may be NULL) holds sum(in) - sum(out); on failure it is 0. Errors, in check order:
 * those of tc_tx_check_form, TC_ETX_MISSING_INPUT, TC_ETX_SPENT_INPUT, TC_ETX_WRONG_OWNER,
 * TC_ETX_COLLATERAL, TC_ETX_LOCKED, TC_EOVERFLOW, TC_ETX_OVERSPEND, TC_ETX_LOW_FEE,
 * TC_ETX_BAD_SIG; and TC_ESTORE_CORRUPT or other store errors from reading the set. */
int tc_ledger_check_tx(const tc_profile *p, const tc_verifier *v, tc_store_txn *t, const tc_tx *tx,
                       const tc_hash *txid, tc_ledger_mode mode, uint64_t *fee_out);

/* As tc_ledger_check_tx, for a transaction that passed it on this node before, signatures
 * included (the same bytes: tc_tx_equal): owners and signatures are not checked again. An
 * outpoint's owner never changes and a signature's validity does not depend on state, so what
 * they proved then still holds; everything that depends on the set (inputs present, their
 * state, collateral, amounts and fee) is checked as above. */
int tc_ledger_check_known_tx(const tc_profile *p, tc_store_txn *t, const tc_tx *tx,
                             const tc_hash *txid, tc_ledger_mode mode, uint64_t *fee_out);

#endif
