/* mempool.h — the bounded pool of valid, unconfirmed transactions (PROTOCOL 5).
 *
 * Owns deep copies (tc_tx_copy) of the transactions it holds, their txids, fees, sizes,
 * submitting peers and arrival sequence numbers, and indexes over them: by txid, by spent
 * outpoint, by eviction order, per peer, and in arrival order. The pool validates nothing
 * against the ledger: callers admit a transaction only after tc_ledger_check_tx passed (which
 * gives the fee) and pass the txid they computed (= tc_tx_id(tx), not re-checked here).
 *
 * Invariants:
 *   - count <= mempool_count_max and bytes (sum of encoded sizes) <= mempool_bytes_max.
 *   - No txid twice; no outpoint spent by two pooled transactions (conflicts are rejected).
 *   - A peer other than TC_MEMPOOL_PEER_LOCAL holds at most mempool_peer_share_pct percent of
 *     the count limit and of the byte limit (at least one transaction). The share is checked
 *     before any eviction: a peer at its share cannot push out even its own transactions.
 *   - A transaction marked voted (tc_mempool_mark_voted) is never evicted: this node's lock on
 *     its inputs stands until a block confirms it or a conflicting transaction.
 *   - Everything is deterministic: iteration is in arrival order, eviction order is a total
 *     order on (fee rate, arrival), and no order depends on addresses or hash seeds. Memory is
 *     bounded by the limits (indexes grow on demand, never past what the limits allow).
 *
 * Eviction. When a newcomer does not fit, the pool looks at the evictable transactions (not
 * voted) from the lowest fee rate up (equal rates: the newest first) and takes those whose fee
 * rate is strictly below the newcomer's until it fits. Fee rates fee/size are compared exactly
 * by cross-multiplication in 128 bits. If the walk reaches a transaction paying at least the
 * newcomer's rate, the newcomer is rejected with TC_EMP_LOW_FEERATE; if it runs out of
 * evictable transactions, with TC_EMP_FULL (back-pressure: voted transactions fill the pool
 * until blocks confirm some). Nothing is evicted unless the newcomer gets in.
 *
 * Removal callback: every removal the pool decides (eviction, confirmation, conflict with a
 * confirmed transaction) is reported through the on_drop hook given at creation, before the
 * copy is freed, so the node can release the locks of a voted loser (tc_utxo_release_tx) and
 * tell submitters. The hook must not call back into the pool (asserted).
 *
 * Pointer lifetimes: tc_mempool_item.tx points into the pool and stays valid until the next
 * call that changes the pool. An iterator is invalidated by any change (asserted).
 */
#ifndef TC_MEMPOOL_H
#define TC_MEMPOOL_H

#include "base.h"
#include "profile.h"
#include "tx.h"

/* The peer id of transactions submitted locally (client RPC, the node's own wallet): tracked,
 * but exempt from the per-peer share. */
#define TC_MEMPOOL_PEER_LOCAL UINT32_MAX

typedef struct tc_mempool tc_mempool;

typedef enum {
    TC_MEMPOOL_DROP_EVICTED = 0,   /* made room for a higher fee-rate newcomer */
    TC_MEMPOOL_DROP_CONFIRMED = 1, /* a block confirmed it */
    TC_MEMPOOL_DROP_CONFLICT = 2,  /* a block confirmed a transaction spending one of its inputs */
} tc_mempool_drop_reason;

typedef void (*tc_mempool_drop_fn)(void *ctx, const tc_tx *tx, const tc_hash *txid, bool voted,
                                   tc_mempool_drop_reason reason);

typedef struct {
    const tc_tx *tx; /* the pool's copy; valid until the pool changes */
    tc_hash txid;
    uint64_t fee; /* units */
    uint32_t size_bytes;
    uint32_t peer;
    uint64_t seq; /* arrival sequence number, increasing */
    bool voted;
} tc_mempool_item;

typedef struct {
    uint32_t next;      /* entry index, or none */
    uint64_t mutations; /* the pool's change counter when the iterator was made */
} tc_mempool_iter;

/* Limits come from p (mempool_count_max, mempool_bytes_max, mempool_peer_share_pct), copied.
 * on_drop may be NULL. Returns NULL on allocation failure, or if mempool_count_max is 0 or
 * >= UINT32_MAX - 1. */
tc_mempool *tc_mempool_new(const tc_profile *p, tc_mempool_drop_fn on_drop, void *ctx);
/* Frees the pool and its copies without calling on_drop. NULL is a no-op. */
void tc_mempool_free(tc_mempool *mp);

/* Admits a copy of tx. fee = sum(in) - sum(out) from tc_ledger_check_tx; peer is the
 * submitter's id (TC_MEMPOOL_PEER_LOCAL for local submissions). Errors, in check order:
 * TC_EMP_DUPLICATE; TC_EMP_CONFLICT (*conflict_out, if not NULL, gets the pooled txid spending
 * the first conflicting input; zero otherwise); TC_EINVAL (the transaction is larger than the
 * whole pool); TC_EMP_PEER_SHARE; TC_EMP_LOW_FEERATE, TC_EMP_FULL (see Eviction); TC_ENOMEM.
 * On any error the pool is unchanged. */
int tc_mempool_add(tc_mempool *mp, const tc_tx *tx, const tc_hash *txid, uint64_t fee,
                   uint32_t peer, tc_hash *conflict_out);

/* Marks a pooled transaction as voted for by this node: it will never be evicted. Idempotent.
 * TC_ENOTFOUND. */
int tc_mempool_mark_voted(tc_mempool *mp, const tc_hash *txid);

/* A block confirmed tx (id txid): removes it if pooled (reason CONFIRMED), then every pooled
 * transaction spending one of its inputs (reason CONFLICT). *conflicts_out (may be NULL) counts
 * the latter. Never fails. */
void tc_mempool_remove_confirmed(tc_mempool *mp, const tc_tx *tx, const tc_hash *txid,
                                 uint32_t *conflicts_out);

/* Removes a transaction without calling on_drop (the caller decided). TC_ENOTFOUND. */
int tc_mempool_remove(tc_mempool *mp, const tc_hash *txid);

bool tc_mempool_contains(const tc_mempool *mp, const tc_hash *txid);
/* TC_ENOTFOUND (out zeroed). */
int tc_mempool_get(const tc_mempool *mp, const tc_hash *txid, tc_mempool_item *out);
/* The pooled transaction spending op. TC_ENOTFOUND (out zeroed). */
int tc_mempool_spender(const tc_mempool *mp, const tc_outpoint *op, tc_hash *txid_out);

uint32_t tc_mempool_count(const tc_mempool *mp);
uint64_t tc_mempool_bytes(const tc_mempool *mp);
/* What peer holds now (zeros if nothing). */
void tc_mempool_peer_usage(const tc_mempool *mp, uint32_t peer, uint32_t *count_out,
                           uint64_t *bytes_out);

/* Arrival-order iteration (block building): init, then next until it returns false. */
void tc_mempool_iter_init(const tc_mempool *mp, tc_mempool_iter *it);
bool tc_mempool_iter_next(const tc_mempool *mp, tc_mempool_iter *it, tc_mempool_item *out);

/* Compares fee rates fee_a/size_a and fee_b/size_b exactly: -1, 0 or 1. Sizes must be > 0. */
int tc_mempool_feerate_cmp(uint64_t fee_a, uint32_t size_a, uint64_t fee_b, uint32_t size_b);

/* Checks every invariant above against the indexes (tests, simulator checkers): 0, or
 * TC_EFAILED naming nothing — a bug; the caller asserts. */
int tc_mempool_check(const tc_mempool *mp);

#endif
