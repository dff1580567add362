/* chain.h — the certified chain of one node: genesis, block validation and atomic application,
 * rewards, evidence burns, epochs, and supply accounting.
 *
 * A tc_chain owns nothing durable itself: the store holds the UTXO set, the registry, the blocks
 * and the chain's META records; the handle caches the tip and the validator set of the tip's
 * epoch. Every block is applied inside one store transaction: either all of it lands (UTXO
 * changes, registry changes, the block, the new tip) or none of it does.
 *
 * Rules a block must pass (first failure wins, each with its own code):
 *   header:   version (TC_ERANGE); height = tip + 1 (TC_EBLK_HEIGHT); parent = tip hash
 *             (TC_EBLK_PARENT); time_ms > parent's time (TC_EBLK_TIME); vset_hash = hash of the
 *             validator set of epoch(height) (TC_EBLK_VSET); proposer < validator count
 *             (TC_EBLK_PROPOSER); last_commit certifies the parent with >= Q weight of the
 *             parent's epoch, and is empty for height 1 (TC_EBLK_COMMIT); evidence count within
 *             the profile, each evidence valid and new (TC_EBLK_EVIDENCE).
 *   body:     tx_root (TC_EBLK_TXROOT); tx count within the profile (TC_ETOOLONG); every
 *             transaction valid against the UTXO set as left by the transactions before it, in
 *             "confirm" mode (ledger.h codes); no outpoint spent twice (TC_EBLK_CONFLICT);
 *             registry rules (TC_EMN_*); rewards exactly as tc_chain_rewards computes
 *             (TC_EBLK_REWARD); block size within the profile (TC_ETX_SIZE).
 *   result:   the UTXO-set root after application equals the header's (TC_EBLK_UTXOROOT);
 *             supply balances (TC_EBLK_SUPPLY: a bug, which makes the chain sticky-failed).
 *
 * Rewards (SPEC 3): block_reward + the block's fees, split over the signers of last_commit in
 * proportion to their weight in the parent's validator set (mnreg.h, tc_reward_split); one
 * output per signer with a non-zero share, in validator-index order, paid to the owner address
 * of the signer's collateral; then the integer-division remainder as one more output to the
 * proposer's owner address, if non-zero. With an empty last_commit (height 1) the proposer takes
 * all.
 *
 * Epochs: epoch(h) = h / epoch_blocks. Registrations and retirements confirmed in epoch e take
 * effect at e+1; a retired masternode's collateral stays locked (unspendable by transfers) until
 * the first block of its retirement epoch, which releases it, so evidence can still burn it
 * while its signatures count.
 *
 * Supply: utxo_total == genesis_supply + rewards_total - burned_total after every block.
 *
 * Not yet checked here (the consensus issue): finality certificates against vote batches,
 * the proposer rotation rule, handoffs and the carry list on an epoch's closing block.
 */
#ifndef TC_CHAIN_H
#define TC_CHAIN_H

#include "base.h"
#include "block.h"
#include "crypto.h"
#include "genesis.h"
#include "mnreg.h"
#include "profile.h"
#include "store.h"

typedef struct tc_chain tc_chain;

typedef struct {
    uint64_t genesis_supply;
    uint64_t rewards_total;
    uint64_t burned_total;
    uint64_t fees_total;
    uint64_t utxo_total;
    uint64_t utxo_count;
} tc_chain_supply;

/* Opens the chain in store. An empty store is initialised from genesis (outputs, collateral
 * outputs and masternodes of the document) in one transaction; a store that holds a chain must
 * hold this genesis (TC_EGENESIS otherwise). The chain keeps a pointer to store and copies
 * verifier and genesis; store and the verifier's cache must outlive the chain. Codes: TC_ENOMEM, TC_EGENESIS, store codes. */
int tc_chain_open(tc_store *store, const tc_genesis *genesis, const tc_verifier *verifier,
                  tc_chain **out);
void tc_chain_free(tc_chain *c);

uint64_t tc_chain_height(const tc_chain *c);
void tc_chain_tip(const tc_chain *c, tc_hash *out);
uint64_t tc_chain_tip_time_ms(const tc_chain *c);
const tc_profile *tc_chain_profile(const tc_chain *c);
const tc_genesis *tc_chain_genesis(const tc_chain *c);
void tc_chain_genesis_hash(const tc_chain *c, tc_hash *out);
uint32_t tc_chain_epoch_of(const tc_chain *c, uint64_t height);
/* The validator set of epoch; valid until the next call on c (a small cache holds it). */
int tc_chain_vset(tc_chain *c, uint32_t epoch, const tc_vset **out);

/* Validates block as the next block and applies it atomically. On any error nothing changes.
 * Codes: see the rules above, plus store codes and TC_EFAILED once sticky-failed. */
int tc_chain_apply(tc_chain *c, const tc_block *block);
/* Validates without applying (a trial application that is rolled back). */
int tc_chain_check(tc_chain *c, const tc_block *block);

/* Builds the next block from txs (decoded, in order), filling height, parent, vset hash,
 * rewards, tx_root and utxo_root by a trial application. last_commit and evidence are copied.
 * Transactions are not filtered: a bad one makes the build fail with its code. fincerts are
 * left empty (the consensus issue fills them). block must be deinit'ed by the caller. */
int tc_chain_build(tc_chain *c, const tc_tx *txs, uint32_t tx_count, uint64_t time_ms,
                   uint32_t round, uint32_t proposer, const tc_commit *last_commit,
                   const tc_evidence *evidence, uint32_t evidence_count, tc_block *block);

/* Reads the block at height (1..tip) from the store. TC_ENOTFOUND, TC_ESTORE_CORRUPT. */
int tc_chain_block_at(tc_chain *c, uint64_t height, tc_block *out);

/* The supply counters as of the tip. */
int tc_chain_supply_get(tc_chain *c, tc_chain_supply *out);
/* Full integrity check: recomputes the UTXO total and root from a scan and compares them with
 * the incremental ones and with the supply equation. 0, TC_EBLK_SUPPLY or TC_ESTORE_CORRUPT. */
int tc_chain_verify_integrity(tc_chain *c);

#endif
