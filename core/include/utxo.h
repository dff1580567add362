/* utxo.h — the UTXO set (PROTOCOL 4) kept in the store: unspent outputs, the per-outpoint lock
 * state machine, the record of confirmed spends, and the running total and root of the set.
 *
 * Owns three store tables' worth of records, all written inside the caller's read-write
 * transaction (tc_store_txn), so a block's changes and the votes they back commit together:
 *   TC_TABLE_UTXO  key outpoint key (tc_outpoint_key, 36 bytes) -> entry record (70 bytes):
 *                  u64 amount | addr 20 | u64 height | u8 flags | u8 state | txid 32
 *   TC_TABLE_SPENT key outpoint key -> u64 height | spending txid 32 (40 bytes)
 *   TC_TABLE_META  key TC_UTXO_META_KEY -> accumulator 2048 | u64 total | u64 count (2064 bytes);
 *                  absent means the empty set.
 * Integers are little-endian (codec.h).
 *
 * State machine per outpoint (PROTOCOL 4), in this node's view:
 *   Unspent -> Locked(txid) -> SpentFinalized(txid) -> Confirmed(height)
 *   Locked(txid) -> Unspent only through tc_utxo_release (epoch boundary without carry-over, or a
 *   conflicting transaction confirmed).
 * Confirmed outpoints leave TC_TABLE_UTXO and enter TC_TABLE_SPENT; so do burned ones
 * (tc_utxo_burn: a chain rule, outside the per-node lock machine). Any other transition a
 * caller requests is a bug and aborts (TC_ASSERT); callers read the entry first. Repeating
 * lock or finalize with the same txid is a no-op, so replay after a crash is harmless.
 * Records read from the store that do not decode are TC_ESTORE_CORRUPT, never an assertion.
 *
 * Invariants (checked by tc_utxo_verify after crashes; tests compare after random operations):
 *   - META total = sum of the amounts of all entries (no overflow), count = number of entries.
 *   - META accumulator = sum of the elements of all entries (below).
 *   - An outpoint is never in both UTXO and SPENT; an added outpoint was in neither.
 *
 * Root (LtHash16, crypto.h: a homomorphic multiset hash). The accumulator is 1024 u16 lanes. An
 * entry's element is tc_lthash's element of the preimage
 *   tag tc/utxo, outpoint key 36 | u64 amount LE | addr 20 | u64 height LE | u8 flags
 * (2048 bytes of ChaCha20 keystream under the hash of that preimage).
 * Adding an entry adds its element lane-wise mod 2^16; removing subtracts it. Then
 *   root = H(tc/utxoroot, accumulator as 1024 u16 LE | u64 count LE).
 * The root covers chain data only (outpoint, amount, address, creation height, flags), never
 * a node's lock states, so honest nodes at one height agree on it (SIMULATOR.md, Checkers:
 * convergence) whatever votes they saw; and it is independent of the order entries were added.
 * Updating it costs one hash and 2 KiB of keystream per change, without rescanning the set.
 *
 * Batching. The operations that change the set's contents (add, confirm, confirm_spend, burn,
 * set_flags) take a tc_utxo_meta: the META record decoded in memory. A caller making many changes
 * in one transaction (a block) loads it once with tc_utxo_meta_load, passes it to every change and
 * saves it once with tc_utxo_meta_save before committing; re-reading and re-writing the 2 KiB
 * record on every change would cost more than the change itself. Passing NULL instead makes the
 * one change load and save META itself. Between load and save the store's META record is stale:
 * read the root, total and count from the tc_utxo_meta (tc_utxo_meta_root), not the store.
 * A change that fails may leave the batch ahead of the store; the caller then aborts the
 * transaction and drops the batch with it.
 */
#ifndef TC_UTXO_H
#define TC_UTXO_H

#include "base.h"
#include "crypto.h"
#include "store.h"
#include "tx.h"

/* Entry flags. Unknown bits in a stored record are corruption. */
#define TC_UTXO_COLLATERAL  0x01u /* masternode collateral: transfers may not spend it */
#define TC_UTXO_FLAGS_KNOWN TC_UTXO_COLLATERAL

#define TC_UTXO_LANES      TC_LTHASH_LANES
#define TC_UTXO_ACC_SIZE   (TC_UTXO_LANES * 2)
#define TC_UTXO_ENTRY_SIZE (8 + TC_ADDR_HASH_SIZE + 8 + 1 + 1 + TC_HASH_SIZE)
#define TC_UTXO_SPENT_SIZE (8 + TC_HASH_SIZE)
#define TC_UTXO_META_KEY   "utxo/acc"
#define TC_UTXO_META_SIZE  (TC_UTXO_ACC_SIZE + 8 + 8)

typedef enum {
    TC_UTXO_UNSPENT = 0,
    TC_UTXO_LOCKED = 1,    /* locked to txid by this node's vote */
    TC_UTXO_FINALIZED = 2, /* SpentFinalized(txid): txid holds a quorum of votes */
    TC_UTXO_STATE_COUNT = 3,
} tc_utxo_state;

/* The META record in memory (see "Batching" above). */
typedef struct {
    tc_lthash acc;             /* the LtHash16 accumulator */
    uint64_t total;            /* units in the set */
    uint64_t count;            /* entries in the set */
    tc_lthash_cache *elements; /* borrowed, may be NULL: not part of the record (crypto.h) */
    /* Not part of the record either: set when the batch replays changes already checked on
     * this very state (a block vetted on the current tip). Changes keep total and count but
     * leave acc alone, since the caller knows the accumulator the batch ends with and installs
     * it before saving; and tc_utxo_add does not probe for an existing outpoint, since the
     * vetting pass found none and only blocks create outpoints. */
    bool replay;
} tc_utxo_meta;

/* Reads META into *m (the empty set when absent), to fold elements through the given cache
 * (NULL: none). TC_ESTORE_CORRUPT, store errors; *m zeroed on failure. */
int tc_utxo_meta_load(tc_store_txn *t, tc_lthash_cache *elements, tc_utxo_meta *m);

/* Writes *m as META. Store errors. */
int tc_utxo_meta_save(tc_store_txn *t, const tc_utxo_meta *m);

/* The root of the set *m describes. */
void tc_utxo_meta_root(const tc_utxo_meta *m, tc_hash *root_out);

typedef struct {
    uint64_t amount; /* units */
    tc_addr_hash addr;
    uint64_t height; /* height of the block that created the output (0: genesis) */
    uint8_t flags;   /* TC_UTXO_* */
    uint8_t state;   /* tc_utxo_state */
    tc_hash txid;    /* the locking or finalized transaction; all zero when Unspent */
} tc_utxo_entry;

/* Adds an Unspent output. Errors: TC_EEXIST (the outpoint is unspent or was spent already),
 * TC_EOVERFLOW (the set's total would overflow u64), TC_ESTORE_CORRUPT, store errors.
 * flags must be a subset of TC_UTXO_FLAGS_KNOWN (asserted). */
int tc_utxo_add(tc_store_txn *t, tc_utxo_meta *m, const tc_outpoint *op, const tc_txout *out,
                uint64_t height, uint8_t flags);

/* Reads the entry of an unspent outpoint. Errors: TC_ETX_SPENT_INPUT (the outpoint was spent by
 * a confirmed transaction: see tc_utxo_spent_get), TC_ENOTFOUND (never existed, as far as this
 * node knows), TC_ESTORE_CORRUPT, store errors. *out is zeroed on failure. */
int tc_utxo_get(tc_store_txn *t, const tc_outpoint *op, tc_utxo_entry *out);

/* Reads the confirmed spend of an outpoint. TC_ENOTFOUND, TC_ESTORE_CORRUPT, store errors;
 * outputs zeroed on failure. Either output may be NULL. */
int tc_utxo_spent_get(tc_store_txn *t, const tc_outpoint *op, tc_hash *txid_out,
                      uint64_t *height_out);

/* Unspent -> Locked(txid); a no-op on Locked(txid). Any other state aborts.
 * Errors: TC_ENOTFOUND / TC_ETX_SPENT_INPUT (as tc_utxo_get), TC_ESTORE_CORRUPT, store errors. */
int tc_utxo_lock(tc_store_txn *t, const tc_outpoint *op, const tc_hash *txid);

/* Locked -> Unspent. Any other state aborts. Errors as tc_utxo_lock. */
int tc_utxo_release(tc_store_txn *t, const tc_outpoint *op);

/* Releases every input of tx that is Locked(txid), leaving inputs in any other state (or
 * absent, or spent) alone: what a node does for a transaction not carried over an epoch
 * boundary, or that lost to a confirmed conflicting transaction. *released_out (may be NULL)
 * counts the inputs released. Errors: TC_ESTORE_CORRUPT, store errors. */
int tc_utxo_release_tx(tc_store_txn *t, const tc_tx *tx, const tc_hash *txid,
                       uint32_t *released_out);

/* Locked(txid) -> SpentFinalized(txid); a no-op on SpentFinalized(txid). Any other state
 * aborts. Errors as tc_utxo_lock. */
int tc_utxo_finalize(tc_store_txn *t, const tc_outpoint *op, const tc_hash *txid);

/* SpentFinalized(txid) -> Confirmed(height): removes the entry, records (height, txid) in
 * TC_TABLE_SPENT, updates total, count and accumulator. Any other state aborts.
 * Errors as tc_utxo_lock. */
int tc_utxo_confirm(tc_store_txn *t, tc_utxo_meta *m, const tc_outpoint *op, const tc_hash *txid,
                    uint64_t height);

/* Confirms the spend of op by txid from whatever state this node's view holds, walking the
 * legal path so the machine stays honest: Unspent -> Locked -> SpentFinalized -> Confirmed (a
 * node syncing blocks never saw the votes); Locked(other) is released first (a conflicting
 * transaction was confirmed). The intermediate states are checked, not written: the entry leaves
 * the table in the same transaction. *amount_out (may be NULL) gets the amount spent, 0 on
 * failure. Errors: TC_ETX_LOCKED (nothing changed) when the outpoint is
 * SpentFinalized for another transaction — the block contradicts this node's finality, a
 * safety alarm for the caller; otherwise as tc_utxo_lock. */
int tc_utxo_confirm_spend(tc_store_txn *t, tc_utxo_meta *m, const tc_outpoint *op,
                          const tc_hash *txid, uint64_t height, uint64_t *amount_out);

/* Burns an output by chain rule (evidence of equivocation burns a masternode's collateral):
 * removes the entry whatever its lock state — the block's rule binds every node alike, so its
 * effect cannot depend on this node's locks — and records (height, reason) in TC_TABLE_SPENT,
 * reason being the evidence hash, so the outpoint reads as spent from then on. *amount_out (may
 * be NULL) gets the amount burned, 0 on failure. Errors as tc_utxo_lock. */
int tc_utxo_burn(tc_store_txn *t, tc_utxo_meta *m, const tc_outpoint *op, const tc_hash *reason,
                 uint64_t height, uint64_t *amount_out);

/* Replaces an entry's flags (state kept), updating the accumulator. flags must be a subset of
 * TC_UTXO_FLAGS_KNOWN (asserted). Errors as tc_utxo_lock. */
int tc_utxo_set_flags(tc_store_txn *t, tc_utxo_meta *m, const tc_outpoint *op, uint8_t flags);

/* The set's root, total (units) and entry count from META. TC_ESTORE_CORRUPT, store errors;
 * outputs zeroed on failure. */
int tc_utxo_root(tc_store_txn *t, tc_hash *root_out);
int tc_utxo_total(tc_store_txn *t, uint64_t *total_out);
int tc_utxo_count(tc_store_txn *t, uint64_t *count_out);

/* Rebuilds root and total from a full scan of TC_TABLE_UTXO, ignoring META (either output may
 * be NULL; elements may be NULL). Errors: TC_ESTORE_CORRUPT (a record or key does not decode, or
 * the total overflows), TC_ENOMEM, store errors. */
int tc_utxo_recompute(tc_store_txn *t, tc_lthash_cache *elements, tc_hash *root_out,
                      uint64_t *total_out);

/* Digest of the set's chain data: H(tc/utxoset, the element preimage of every entry (utxo.h,
 * "Root") in key order). Lock states are left out, so honest stores at one height agree on it.
 * Two stores with one digest hold the same entries, which lets one root recomputation vouch for
 * both (tc_chain_verify_integrity_against). Errors as tc_utxo_recompute. */
int tc_utxo_content_digest(tc_store_txn *t, tc_hash *out);

/* Integrity check after a crash: 0 if META matches tc_utxo_recompute, TC_ESTORE_CORRUPT if not;
 * other errors as tc_utxo_recompute. */
int tc_utxo_verify(tc_store_txn *t, tc_lthash_cache *elements);

#endif
