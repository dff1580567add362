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
 *             registry rules (TC_EMN_*); handoffs as below (TC_EBLK_HANDOFF); rewards
 *             exactly as tc_chain_rewards computes (TC_EBLK_REWARD); block size within the
 *             profile (TC_ETX_SIZE, checked with the tx root, before the transactions).
 *   result:   the UTXO-set root after application equals the header's (TC_EBLK_UTXOROOT);
 *             supply balances (TC_EBLK_SUPPLY: a bug, which makes the chain sticky-failed).
 *
 * Rewards (PROTOCOL 8): block_reward + the block's fees, split over the signers of last_commit in
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
 * Epoch handoff (PROTOCOL 11.8). The closing block of epoch e, at height
 * tc_mnreg_epoch_last_height(e) (the last height of e), must carry the handoffs (block.h) of
 * validators of e's set whose weight sums to >= Q of that set: sorted by strictly increasing
 * validator index, each one's txids strictly increasing, each of epoch e, with an index inside the
 * set and a signature by that member (tc_finality_carry_list does these checks and the weight).
 * Every other block must carry no handoff. Either failure is TC_EBLK_HANDOFF. More than Q is
 * allowed: every handoff only widens what is carried. The closing block's carry list is the union
 * of its handoffs' txids, sorted and deduplicated, minus the txids confirmed by that block or an
 * earlier one (their locks ended with their confirmation; an honest handoff names only unconfirmed
 * ones, but the closing block may confirm some of them). It is chain data, stored with the block
 * and read back with tc_chain_carry_list: the node hands it to finality at the epoch change and
 * when it restarts inside epoch e + 1, so carried transactions keep their outpoints reserved
 * network-wide until one of them is confirmed.
 *
 * Store format of the carry list (TC_TABLE_META, written in the closing block's transaction):
 *   key   "chain/carry/" | u32 epoch big-endian
 *   value u32 count LE | count x txid 32, strictly increasing
 * Every applied closing block writes one, an empty list included.
 *
 * Not yet checked here (the consensus issue): finality certificates against vote batches (the
 * node checks them: they need the batches), the proposer rotation rule.
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
#include "utxo.h"

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
 * verifier and genesis; store and the verifier's cache must outlive the chain. Codes: TC_ENOMEM,
 * TC_EGENESIS, store codes. */
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
/* Whether this node already accepted exactly tx (tc_tx_equal, signatures included) under
 * tc_ledger_check_tx: its mempool, say. If so it sets *txid_out to the transaction's id, which
 * it knows already (the chain then hashes nothing), and the block's copy is checked by
 * tc_ledger_check_known_tx, which skips the owner and signature checks. It must answer true
 * only for transactions that passed the full check, or blocks would go unchecked. */
typedef bool (*tc_chain_known_fn)(void *ctx, const tc_tx *tx, tc_hash *txid_out);
/* Installs (fn != NULL) or removes the hook; ctx must outlive the chain or the next call. */
void tc_chain_set_known(tc_chain *c, tc_chain_known_fn fn, void *ctx);

/* Validates without applying (a trial application that is rolled back). */
int tc_chain_check(tc_chain *c, const tc_block *block);

/* What a proposer chooses for the next block; tc_chain_build computes the rest. Every pointer
 * is borrowed for the call (the block gets copies), except certs. */
typedef struct {
    const tc_tx *txs; /* decoded, in block order */
    uint32_t tx_count;
    /* NULL (empty certificates) or tx_count finality certificates, one per transaction. On
     * success they are moved into the block and the entries left zeroed; on failure they stay
     * the caller's. No chain rule reads them: they are carried for the tx_root. */
    tc_fincert *certs;
    uint64_t time_ms;
    uint32_t round;
    uint32_t proposer;
    const tc_commit *last_commit; /* NULL: the empty commit (height 1) */
    const tc_evidence *evidence;
    uint32_t evidence_count;
    /* On the epoch's closing height: handoffs of weight >= Q, sorted by validator (see above);
     * elsewhere none. */
    const tc_handoff *handoffs;
    uint32_t handoff_count;
} tc_chain_build_args;

/* Builds the next block from a, filling height, parent, vset hash, rewards, tx_root and
 * utxo_root by a trial application under every rule above. Nothing is filtered: a bad
 * transaction makes the build fail with its code, missing or bad handoffs with
 * TC_EBLK_HANDOFF. The built block is complete, so it is the vetted one: applying it costs no
 * second check (see tc_chain_txids_of). block must be deinit'ed by the caller on success; it is
 * left empty on failure. */
int tc_chain_build(tc_chain *c, const tc_chain_build_args *a, tc_block *block);

/* Reads the block at height (1..tip) from the store. TC_ENOTFOUND, TC_ESTORE_CORRUPT. */
int tc_chain_block_at(tc_chain *c, uint64_t height, tc_block *out);
/* The same for an observer without an open chain (a checker reading a node's store between its
 * calls): the block stored at height, or TC_ENOTFOUND when there is none, TC_ESTORE_CORRUPT when
 * it does not decode, or the store's code. out must be deinit'ed on success. */
int tc_chain_stored_block(tc_store *store, uint64_t height, tc_block *out);
/* The same, decoding only the header (tc_block_decode_header: out's body is empty): a block's
 * transactions cost about 250 k instructions to decode, which a checker of headers need not pay. */
int tc_chain_stored_header(tc_store *store, uint64_t height, tc_block *out);

/* The carry list of epoch's closing block (see above) as a heap array (*txids_out, free(); NULL
 * when empty) of *count_out strictly increasing txids. Codes: TC_ENOTFOUND (the closing block
 * of epoch is not applied yet), TC_ESTORE_CORRUPT (an applied closing block without a valid
 * record), TC_ENOMEM, store codes; outputs NULL/0 on failure. */
int tc_chain_carry_list(tc_chain *c, uint32_t epoch, tc_hash **txids_out, uint32_t *count_out);

/* The txids, in body order, of b when b is the block this chain last vetted on its tip
 * (tc_chain_check, tc_chain_build) or the tip it applied last; NULL otherwise. The chain hashed
 * them then; callers that need them again take them from here. Valid until the next call that
 * checks, builds or applies a block. */
const tc_hash *tc_chain_txids_of(const tc_chain *c, const tc_block *b);

/* The supply counters as of the tip. */
int tc_chain_supply_get(tc_chain *c, tc_chain_supply *out);
/* Full integrity check: recomputes the UTXO total and root from a scan and compares them with
 * the incremental ones and with the supply equation. 0, TC_EBLK_SUPPLY or TC_ESTORE_CORRUPT. */
int tc_chain_verify_integrity(tc_chain *c);

/* What vouches for a store's UTXO set after tc_chain_verify_integrity passed on it: its META
 * (root accumulator, total, count) and the digest of its entries (tc_utxo_content_digest). */
typedef struct {
    tc_utxo_meta meta;
    tc_hash digest;
} tc_chain_utxo_proof;

int tc_chain_utxo_proof_get(tc_chain *c, tc_chain_utxo_proof *out);

/* tc_chain_verify_integrity for a store whose set should equal one already verified: passes when
 * its META and its entries' digest equal the proof's (so the proof's recomputation holds for it
 * too) and the supply equation holds; TC_ENOTFOUND when the set differs from the proof's (run the
 * full check instead), otherwise the codes of tc_chain_verify_integrity. A scan and a hash per
 * entry instead of an LtHash element per entry: the simulator's end check verifies its first
 * honest store in full and the others, which hold the same set, against it. */
int tc_chain_verify_integrity_against(tc_chain *c, const tc_chain_utxo_proof *proof);

#endif
