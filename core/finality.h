/* finality.h — instant finality (PROTOCOL 11): this validator's own transaction votes, the vote
 * batches of every validator of the epoch, the tally that makes a transaction final, finality
 * certificates for blocks, re-gossip, and the epoch handoff.
 *
 * A pure state machine: node.c feeds it transactions, batches, confirmations and time, and
 * drains the events it queues (tc_finality_next_event). It never reads a clock, sends, or
 * allocates per message in steady state beyond the copy of a stored batch's txids and a tracked
 * transaction's inputs.
 *
 * What it owns:
 *   - In memory: the epoch's validator set (a copy); the tracked transactions (txid, inputs once
 *     the transaction is known, the (validator, seq) of the first batch of each validator naming
 *     it, the voters' weight, flags); an outpoint index of the known transactions' inputs; the
 *     stored vote batches (per validator, ordered by seq); the pending own batch; the events.
 *   - In the store, table TC_TABLE_LOCKS, keys starting "fin/" (other modules use other
 *     prefixes), written only inside the caller's read-write transaction:
 *       "fin/seq"                            -> u64 next own batch seq (never reused, any epoch)
 *       "fin/handoff"                        -> u32 last epoch this validator handed off
 *       "fin/hlist"                          -> u32 epoch | txids: that epoch's handoff list
 *       "fin/vote/" u32 epoch BE | txid 32   -> u64 seq of the own batch naming txid | u32 n |
 *                                              n x (txid 32 | u32 index): its inputs, LE
 *     and, through utxo.h, the lock states of TC_TABLE_UTXO (Locked / SpentFinalized).
 *     Vote records stay until the epoch change deletes the epoch's (not at confirmation): a
 *     restarted validator rebuilds every own batch of the epoch from them with the same seq and
 *     the same txids, so it re-signs identical bytes and never two batches under one seq.
 *
 * Invariants:
 *   - This validator never votes for two transactions spending one outpoint in an epoch, even
 *     across crashes: tc_finality_vote_tx locks every input (tc_utxo_lock) and records the vote
 *     in the caller's store transaction, and refuses (TC_ETX_LOCKED) an input Locked or
 *     SpentFinalized for another transaction. DURABILITY CONTRACT: the caller commits every
 *     store transaction it passed to a tc_finality_* call BEFORE it acts on (sends) any event
 *     popped after that call, so a batch never leaves before the locks and seq it carries are
 *     durable. If such a transaction is aborted or fails to commit, f is ahead of the store:
 *     the caller frees f and makes a new one from the store (as after a crash).
 *   - Own batch seqs strictly increase and are persisted before use, so a restarted validator
 *     never signs two different batches with one seq.
 *   - A tracked transaction's weight is the sum of the weights of the distinct validators with
 *     a stored batch naming it (the first such batch of each validator is its vote ref); it is
 *     final once weight >= Q (tc_vset_quorum) and its inputs are known. FINALIZED is queued
 *     once per transaction for the lifetime of f (a restarted node may announce it again).
 *   - Every stored batch carries at least one vote ref of a tracked, unconfirmed transaction;
 *     a batch left without one is freed, so confirmations drain memory back to empty.
 *   - Everything is bounded by tc_finality_limits; every iteration that reaches an output runs
 *     in a deterministic order (validator index, seq, txid bytes, or arrival order).
 *
 * Finalization in this node's view: for each input, Unspent is locked then finalized, Locked
 * (txid) finalized, Locked(other) released then locked and finalized — a quorum outranks this
 * node's own lock: the other transaction can no longer become final, since the two voter sets
 * would share more than W/3 of weight — and SpentFinalized(txid) left alone. An input that is
 * SpentFinalized for another transaction means two conflicting quorums (Byzantine weight >=
 * W/3): nothing is written and a CONFLICT event is queued. Inputs already confirmed spent are
 * skipped.
 *
 * Epoch handoff (PROTOCOL 11.8): tc_finality_handoff stops voting in the epoch (durably) and signs
 * the list of this validator's unconfirmed votes of the epoch; transactions voted on afterwards are
 * queued (TC_FINALITY_QUEUED) and come back as REVOTE events after tc_finality_epoch_change.
 * tc_finality_carry_list checks a set of handoffs and computes the carry list;
 * tc_finality_epoch_change releases the locks of own votes not carried and remembers the carried
 * transactions, whose outpoints then stay reserved: this node votes for no other transaction
 * spending them, and for no carried transaction that conflicts with another carried one.
 * End to end (chain.h, node_txs.c): a validator of epoch e calls tc_finality_handoff once it
 * has committed the block before e's closing height (commits the store transaction, then
 * broadcasts a HANDOFF and re-broadcasts it every regossip_interval_ms until the closing block
 * commits); every node verifies HANDOFF messages of its current epoch (member index, txids
 * strictly increasing and at most tx_max, signature) into a pool of one slot per validator and
 * relays new ones; the closing block's proposer includes pooled handoffs in index order until
 * their weight reaches Q, and cannot build before (its round times out); the chain rules
 * (tc_chain_check / tc_chain_apply) check them through tc_finality_carry_list and store the
 * carry list (the union, minus what that block or an earlier one confirmed) as chain data; at
 * the change to e + 1, and when recreating f inside e + 1 (cfg.carry), the node passes that
 * stored list (tc_chain_carry_list), the same on every node, not its own handoff.
 * Old-epoch certificates (PROTOCOL 11.8 step 6): at the change f keeps the previous set, the
 * certificate of every carried transaction final here and the batches it references, then
 * every other stored batch naming a carried transaction (a peer's old certificate may
 * reference them, and fetched again they would meet the seen filter); tc_finality_cert_build
 * falls back to it, tc_finality_cert_check accepts a certificate of the previous epoch for a
 * carried transaction, and tc_finality_on_batch keeps fetched old batches that name a carried
 * transaction. One epoch back only, on purpose (PROTOCOL 18.1 says why).
 * Carried bodies: a validator defers its votes while a carried body is unknown here (see
 * "carried bodies" below); the node fetches them.
 * Evidence is node_txs.c's: lock equivocation becomes double-lock evidence (block.h kind 1),
 * batch equivocation (the EQUIVOCATION event; tc_finality_batch_get gives the stored batch)
 * batch-equivocation evidence (kind 3), and two handoffs of one validator kind 4.
 *
 * Pointer lifetimes: the config's profile and vset are copied, the verifier is borrowed and must
 * outlive f. Arguments are borrowed for the call only. A batch pointer in an event or from
 * tc_finality_batch_get stays valid until the next call into f other than the const getters and
 * tc_finality_next_event.
 *
 * Errors: 0 or a negative TC_E* code, listed per function. Nothing a peer sends makes f abort;
 * store failures are returned (the caller aborts its transaction and, per the contract above,
 * rebuilds f).
 */
#ifndef TC_FINALITY_H
#define TC_FINALITY_H

#include "base.h"
#include "block.h"
#include "codec.h"
#include "crypto.h"
#include "mnreg.h"
#include "profile.h"
#include "store.h"
#include "tx.h"

/* ---- vote batch: the value type of a VOTE_BATCH message ----
 * tc_vote_batch, its encoding, sign hash and decoders live in block.h, below this module, because
 * double-lock evidence (block.h) carries batches. The profile's vote_batch_txids_max is checked
 * by on_batch. */

/* ---- the state machine ---- */

typedef struct tc_finality tc_finality;

/* Bounds (STYLE rule 4). tc_finality_limits_default derives them from the profile. */
typedef struct {
    uint32_t tx_max;          /* tracked transactions, orphans included */
    uint32_t orphan_max;      /* tracked txids named by batches whose body is unknown */
    uint32_t queued_max;      /* transactions waiting for the next epoch after the handoff */
    uint32_t inputs_max;      /* inputs of tracked transactions, summed */
    uint32_t batch_window;    /* stored batches per validator */
    uint32_t batch_max;       /* stored batches, all validators */
    uint32_t batch_txids_max; /* txids in stored batches, summed */
    uint32_t event_max;       /* queued events (re-gossip is produced lazily, outside this bound) */
} tc_finality_limits;

/* Spenders tracked per outpoint (conflicting transactions): more is refused with TC_EFULL. */
#define TC_FINALITY_SPENDERS_MAX 8

void tc_finality_limits_default(const tc_profile *p, tc_finality_limits *out);

typedef struct {
    const tc_profile *profile;   /* copied */
    const tc_verifier *verifier; /* borrowed: outlives f */
    const tc_vset *vset;         /* the current epoch's set; copied */
    const tc_keypair *key;       /* this node's voting key, copied; NULL: never votes */
    tc_finality_limits limits;
    /* The carry list in force for vset->epoch (from the previous epoch's closing block), so a
     * restarted node keeps carried outpoints reserved; NULL/0 for none. Copied. */
    const tc_hash *carry;
    uint32_t carry_count;
    /* The previous epoch's set when carry_count > 0 (the chain has it), else NULL: old-epoch
     * certificates of carried transactions are checked against it. Copied. */
    const tc_vset *prev_vset;
} tc_finality_config;

/* Creates f for the config's epoch and recovers from the store through txn (read-write: a
 * recovery may write): the next own seq; whether this validator handed off the epoch; own-vote
 * records of older epochs (an epoch change that never committed), whose locks are released
 * unless cfg->carry keeps them, and which are deleted; and the own votes of this epoch, rebuilt
 * into own batches (identical bytes: same seq, same txids), tallied (which may finalize) and
 * re-announced by a re-gossip pass due at now_ms. Codes: TC_EINVAL (limits zero or
 * inconsistent; the store holds own votes of a later epoch, or own votes while cfg->key is not
 * a member), TC_ENOMEM, TC_ESTORE_CORRUPT, store codes. *out is NULL on failure. */
int tc_finality_new(const tc_finality_config *cfg, tc_store_txn *txn, uint64_t now_ms,
                    tc_finality **out);
void tc_finality_free(tc_finality *f);

uint32_t tc_finality_epoch(const tc_finality *f);
/* This node's index in the epoch's set, UINT32_MAX if it is not a member. */
uint32_t tc_finality_validator(const tc_finality *f);
/* Sets the vote batch interval (the node stretches it with the validator count, which an epoch
 * change may alter: node_txs_batch_interval_ms); a batch open now leaves within the new
 * interval. TC_EINVAL (0, or above the profile's regossip_interval_ms: nothing changes). */
int tc_finality_set_batch_interval(tc_finality *f, uint64_t now_ms, uint32_t interval_ms);
uint32_t tc_finality_batch_interval(const tc_finality *f);

/* The node learned a valid transaction: it passed tc_ledger_check_tx in CONFIRM mode (lock
 * states aside). f records its inputs, reports lock equivocations among its voters, and
 * finalizes it (txn, read-write) if a quorum of batches named it already. Idempotent.
 * Codes: TC_EFULL (tx_max, inputs_max or TC_FINALITY_SPENDERS_MAX), TC_ENOMEM, store codes. */
int tc_finality_add_tx(tc_finality *f, tc_store_txn *txn, uint64_t now_ms, const tc_tx *tx,
                       const tc_hash *txid);

typedef enum {
    TC_FINALITY_VOTED = 0,         /* inputs locked, txid appended to the pending batch */
    TC_FINALITY_VOTED_BEFORE = 1,  /* this node voted for it in this epoch already */
    TC_FINALITY_QUEUED = 2,        /* handed off: a REVOTE event follows the epoch change */
    TC_FINALITY_NOT_VALIDATOR = 3, /* not a member of the epoch: tracked only */
    TC_FINALITY_FINAL = 4,    /* final here by a quorum of others over this validator's own vote
                                 for a rival in this epoch: no vote cast (it would equivocate) */
    TC_FINALITY_DEFERRED = 5, /* a carried body is missing: tracked, a REVOTE event follows once
                                 the bodies are known or the node gives up fetching them */
} tc_finality_vote_result;

/* Votes for tx, which passed tc_ledger_check_tx in VOTE mode in txn. Does tc_finality_add_tx,
 * then (a validator that has not handed off) locks every input in txn, records the vote and,
 * when it opens a batch, the next seq, and appends txid to the pending batch. The batch is
 * flushed when it holds vote_batch_txids_max txids (here) or vote_batch_interval_ms after its
 * first txid (tc_finality_tick). Commit txn before acting on later events (see the contract).
 * Codes: TC_ETX_LOCKED (an input is Locked/SpentFinalized for another transaction in this
 * node's view, reserved by another carried transaction, or spent by another transaction this
 * validator voted for in this epoch), TC_EFULL (a bound, queued_max
 * included), the codes of tc_utxo_get for a missing or spent input: after these, f and txn are
 * unchanged (the transaction is not even tracked: give it to tc_finality_add_tx if it passes
 * CONFIRM mode, so a quorum for it can still finalize it here). TC_ENOMEM and store codes:
 * abort txn and rebuild f. */
int tc_finality_vote_tx(tc_finality *f, tc_store_txn *txn, uint64_t now_ms, const tc_tx *tx,
                        const tc_hash *txid, tc_finality_vote_result *result_out);

/* A batch arrived (any peer, any order). Checks, in order: epoch (TC_ERANGE), validator index
 * (TC_ERANGE), shape: 1..vote_batch_txids_max strictly increasing txids (TC_ERANGE); a stored
 * batch with the same (validator, seq) and the same signed content is a duplicate (TC_EEXIST,
 * nothing changes, no signature check); the signature (TC_EBADSIG); same (validator, seq) with
 * other content: TC_EEXIST plus an EQUIVOCATION event. Then stores a copy (evicting as the
 * limits require), tallies every txid not yet confirmed (txn read-write; TC_TABLE_TXIDX), and
 * finalizes what reached quorum. A batch naming only confirmed or already-counted txids is not
 * stored. Codes besides: TC_EFULL (older than every batch of the validator's full window: not
 * stored), TC_ENOMEM, store codes. */
int tc_finality_on_batch(tc_finality *f, tc_store_txn *txn, uint64_t now_ms,
                         const tc_vote_batch *b);

/* tc_finality_on_batch with b's signed hash given by the caller: sign_hash must equal
 * tc_vote_batch_sign_hash(b). A node's delivery has it already (the seen filter keys a batch
 * frame by it, tc_msg_frame_batch_hash over the same bytes), and a BLAKE2b over every txid of
 * every batch each node receives is worth computing once. */
int tc_finality_on_batch_signed(tc_finality *f, tc_store_txn *txn, uint64_t now_ms,
                                const tc_vote_batch *b, const tc_hash *sign_hash);

/* Time passed: flushes the pending batch when due (its tally may finalize: txn read-write) and
 * starts a re-gossip pass every regossip_interval_ms while transactions are pending. */
int tc_finality_tick(tc_finality *f, tc_store_txn *txn, uint64_t now_ms);
/* When f wants tick next: the pending batch's flush time or the next re-gossip; UINT64_MAX if
 * neither. */
uint64_t tc_finality_next_deadline(const tc_finality *f);

/* A block confirmed tx (id txid) and the node applied the block: forgets txid, its stored
 * batches once nothing they name is pending, and every tracked transaction spending one of
 * tx's inputs (a loser). A loser this validator voted for in this epoch keeps its other inputs
 * Locked until the epoch change, which releases them from the vote records: released now, they
 * would let it vote for a second transaction on one of them in the same epoch (PROTOCOL 4,
 * 11.9). A loser it voted for only in an earlier epoch (carried) has them released now: no
 * record is left to do it later. Call it for
 * every transaction of every committed block, tracked or not.
 * Codes: store codes (then abort txn and rebuild f). */
int tc_finality_on_confirmed(tc_finality *f, tc_store_txn *txn, const tc_tx *tx,
                             const tc_hash *txid);

typedef enum {
    TC_FINALITY_EV_BATCH = 1,             /* batch: an own batch to send to every peer */
    TC_FINALITY_EV_FINALIZED = 2,         /* txid is final; its inputs are SpentFinalized */
    TC_FINALITY_EV_EQUIVOCATION = 3,      /* validator signed seq twice: batch (stored) vs the
                                            one passed to on_batch, whose sign hash is hash2 */
    TC_FINALITY_EV_LOCK_EQUIVOCATION = 4, /* validator voted txid (batch seq) and txid2 (seq2),
                                             both spending outpoint */
    TC_FINALITY_EV_CONFLICT = 5,          /* txid reached quorum but outpoint is SpentFinalized for
                                             txid2 here: Byzantine weight >= W/3 (safety alarm) */
    TC_FINALITY_EV_REGOSSIP_TX = 6,       /* re-announce the pending transaction txid */
    TC_FINALITY_EV_REGOSSIP_BATCH = 7,    /* re-announce batch */
    TC_FINALITY_EV_REVOTE = 8, /* new epoch: check txid again (VOTE mode) and vote_tx it */
} tc_finality_event_kind;

typedef struct {
    tc_finality_event_kind kind;
    uint32_t validator;
    uint64_t seq;
    uint64_t seq2;
    tc_hash txid;
    tc_hash txid2;
    tc_hash hash2;
    tc_outpoint outpoint;
    const tc_vote_batch *batch; /* BATCH, EQUIVOCATION, REGOSSIP_BATCH; see lifetimes */
} tc_finality_event;

/* Pops the next event; false when none. Queued events come first, then the current revote and
 * re-gossip passes, produced lazily in arrival order (transactions) and (validator, seq) order
 * (batches). The node drains after every call: the queue holds event_max events, and what
 * does not fit is dropped and counted (events_dropped). A BATCH or EQUIVOCATION event whose
 * batch was evicted or emptied by confirmations before it was popped is skipped. */
bool tc_finality_next_event(tc_finality *f, tc_finality_event *out);

/* The stored batch (validator, seq) of the epoch, for GET_VOTE_BATCHES. TC_ENOTFOUND. */
int tc_finality_batch_get(const tc_finality *f, uint32_t validator, uint64_t seq,
                          const tc_vote_batch **out);
/* The batch (validator, seq) of the previous epoch kept for a carried transaction's
 * certificate (tc_finality_epoch_change), for GET_VOTE_BATCHES: a reference names no epoch,
 * so the node answers from both stores. TC_ENOTFOUND. */
int tc_finality_prev_batch_get(const tc_finality *f, uint32_t validator, uint64_t seq,
                               const tc_vote_batch **out);
bool tc_finality_is_final(const tc_finality *f, const tc_hash *txid);
/* Weight of the distinct validators whose stored batches name txid (0 if untracked). */
uint64_t tc_finality_weight(const tc_finality *f, const tc_hash *txid);

/* ---- certificates ---- */

/* Builds txid's certificate: the epoch, the voters taken in index order until their weight
 * reaches Q, as a bitmap and as batch refs sorted by validator; without a quorum in this
 * epoch, a carried transaction's kept certificate of the previous epoch, if it was final here
 * then (see the header comment). Validators seen signing two
 * batches with one seq are left out: nodes may hold either batch, so a ref to it is ambiguous.
 * out is overwritten (not freed first); the caller deinits it. Codes: TC_ENOTFOUND (txid
 * untracked, or below quorum without the equivocators), TC_ENOMEM. */
int tc_finality_cert_build(const tc_finality *f, const tc_hash *txid, tc_fincert *out);

/* Checks c certifies txid in f's epoch, or in the previous one for a carried transaction
 * (against that set and the kept old batches). Codes: TC_ERANGE (another epoch, or the
 * previous one for a transaction not carried);
 * TC_EBLK_CERT (bitmap not exactly the refs' validators, refs not strictly increasing by
 * validator, an index out of the set, weight < Q, or a stored batch named by a ref does not
 * contain txid); TC_ENOTFOUND: well formed but some referenced batches are not stored here —
 * the first missing_cap of them are written to missing[] and *missing_count_out gets how many
 * are missing (fetch them with GET_VOTE_BATCHES, then check again). missing may be NULL when
 * missing_cap is 0; missing_count_out may be NULL. */
int tc_finality_cert_check(const tc_finality *f, const tc_hash *txid, const tc_fincert *c,
                           tc_batch_ref *missing, uint32_t missing_cap,
                           uint32_t *missing_count_out);

/* ---- epoch handoff ---- */

/* Stops voting in the epoch (durably: "fin/handoff" in txn), flushes the pending batch, and
 * signs into *out this validator's handoff: every transaction it voted for in the epoch that is
 * not confirmed, sorted. The first call of an epoch records that list ("fin/hlist" in txn);
 * every later call of the epoch, after a restart too, signs the recorded list again, so the
 * validator never signs two different handoffs for one epoch (that is evidence, block.h kind
 * 4). out is overwritten; the caller deinits it. Codes: TC_EINVAL (not a validator of the
 * epoch), TC_ENOMEM, TC_ESTORE_CORRUPT (a recorded list that does not decode), store codes. */
int tc_finality_handoff(tc_finality *f, tc_store_txn *txn, uint64_t now_ms, tc_handoff *out);

/* Checks handoffs against v (epoch, index, signature, no validator twice, weight >= Q) and
 * writes their union, deduplicated and sorted, into a heap array (*txids_out, free()) of
 * *count_out txids. Codes: TC_ERANGE (wrong epoch or index), TC_EBADSIG, TC_EEXIST (a
 * validator twice), TC_EBLK_CERT (weight < Q), TC_ETOOLONG (union over
 * TC_HANDOFF_TXIDS_HARD_MAX), TC_ENOMEM; outputs NULL/0 on failure. */
int tc_finality_carry_list(const tc_vset *v, const tc_verifier *verifier,
                           const tc_handoff *handoffs, uint32_t handoff_count, tc_hash **txids_out,
                           uint32_t *count_out);

/* Moves f to epoch next->epoch with the closing block's carry list (strictly sorted, as
 * tc_finality_carry_list produces it), after the node applied that block: drops the pending
 * batch (one that handed off has none), releases in txn the Locked inputs of own votes not
 * carried, deletes the old epoch's vote records, drops the old epoch's batches, tallies and
 * still-queued events (drain before calling), keeps tracking the
 * pending transactions, reserves the carried ones' outpoints, and, when this node is a member
 * of next, starts a REVOTE pass over every pending transaction whose body is known (final ones
 * included: a certificate in the new epoch needs fresh votes); the node checks each again in
 * VOTE mode and calls tc_finality_vote_tx. Codes: TC_EINVAL (next->epoch <= current, carry not
 * sorted), TC_ENOMEM, store codes. */
int tc_finality_epoch_change(tc_finality *f, tc_store_txn *txn, uint64_t now_ms,
                             const tc_vset *next, const tc_hash *carry, uint32_t carry_count);

/* ---- carried bodies (PROTOCOL 11.8 step 8) ----
 * The carry list names txids; a node that never saw a carried transaction's body tracks it as an
 * orphan and does not know its outpoints. From the epoch change (or a restart inside the epoch)
 * until every carried body is known here, a validator votes for nothing (TC_FINALITY_DEFERRED):
 * any vote could spend a carried outpoint. The node fetches the bodies (GET_TXS) and gives each
 * to tc_finality_add_tx, which reserves its outpoints; the last one ends the wait, as does a
 * confirmation of the last missing one, or tc_finality_bodies_give_up when the fetch found no
 * peer holding them (a Byzantine handoff may name txids nobody has). The REVOTE pass of the
 * epoch change runs when the wait ends. */

/* The carried transactions of the epoch whose body is unknown here, in arrival order: the first
 * cap txids into out (NULL when cap is 0); returns how many there are. */
uint32_t tc_finality_carried_missing(const tc_finality *f, tc_hash *out, uint32_t cap);
/* Whether txid is in the carry list the epoch started with (and not confirmed since). */
bool tc_finality_is_carried(const tc_finality *f, const tc_hash *txid);
/* Whether votes are deferred for want of carried bodies. */
bool tc_finality_bodies_waiting(const tc_finality *f);
/* Stops waiting for the missing carried bodies: votes resume with a REVOTE pass (a member that
 * has not handed off). Their outpoints are reserved if a body arrives later. */
void tc_finality_bodies_give_up(tc_finality *f);

/* ---- observation (tests, checkers, metrics) ---- */

typedef struct {
    uint32_t txs;           /* tracked transactions */
    uint32_t orphans;       /* of which the body is unknown */
    uint32_t inputs;        /* indexed inputs */
    uint32_t batches;       /* stored batches */
    uint32_t batch_txids;   /* txids in stored batches */
    uint32_t events;        /* queued events */
    uint32_t event_ring;    /* the event ring's size: 64 (or event_max), doubled as needed */
    uint32_t pending_txids; /* in the own pending batch */
    uint32_t batch_index;   /* (seq, slot) entries allocated for stored batches, all validators:
                             * grows with the batches stored, at most 2x plus 4 a validator */
    uint64_t votes_dropped; /* batch txids not tallied for lack of room */
    uint64_t batches_evicted;
    uint64_t events_dropped;
} tc_finality_stats;

void tc_finality_stats_get(const tc_finality *f, tc_finality_stats *out);

#endif
