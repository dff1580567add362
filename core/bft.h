/* bft.h — block consensus for one validator, or an observer that never votes (PROTOCOL 12): the
 * Tendermint algorithm ("The latest gossip on BFT consensus", Algorithm 1) as a pure state
 * machine.
 *
 * What it owns: the consensus height, round and step; the lock (lockedRound, lockedValue) and
 * the valid value (validRound, validValue); the step timeouts; the votes of the current height
 * (per-round tables, tallies by weight, duplicate and equivocation detection); the proposer
 * sequence of the current validator set; and the last-signed state that keeps this validator
 * from ever equivocating, crashes included. What it does not own: blocks, the chain, the store,
 * the network, signature checks on what arrives. node.c decodes and verifies messages, validates
 * blocks against the chain, and feeds bft the results; bft answers through a bounded queue of
 * outputs that node.c drains after every call (tc_bft_next_output).
 *
 * Invariants:
 *   - Never two different signed messages for one (height, round, step) (step: proposal,
 *     prevote, precommit), and never one for a (height, round, step) lower than the last one
 *     signed, in lexicographic order. Re-signing the identical message is allowed (Ed25519 is
 *     deterministic: same bytes). tc_bft_restore carries this across restarts.
 *   - A PERSIST output always comes before the PROPOSE or VOTE output it protects, with nothing
 *     signed in between: the node writes the state durably (TC_TABLE_LOCKS) before it sends any
 *     output that follows it.
 *   - Weights, never counts: a quorum is weight >= Q = floor(2W/3) + 1 and the round-skip
 *     threshold is weight >= floor(W/3) + 1 over the height's validator set (mnreg.h).
 *   - One vote per (validator, round, type) counts: the first one seen. A different second one is
 *     reported once as EQUIVOCATION and never counted.
 *   - Deterministic: outputs depend only on the inputs and their order; every table is indexed by
 *     validator index or round, never by address.
 *   - Bounded: every table and queue below has a named limit; a full queue rejects with
 *     TC_EFULL; no allocation per vote (tables are sized when the validator set changes).
 *
 * Proposer selection (computed from chain data alone: the validator set of the height's epoch).
 * Members are indexed as in the set (sorted by key). Let W be the total weight. The proposer
 * sequence S has length W and is the smooth weighted round-robin order: start with cur[i] = 0;
 * each step adds weight[i] to every cur[i], picks the largest cur (ties: lowest index), and
 * subtracts W from the pick. Member i appears exactly weight[i] times in S, spread evenly (a
 * Gold of weight 100 among 99 Bronzes alternates with them rather than proposing 100 times in a
 * row). proposer(h, r) = S[(h + r) mod W]: consecutive heights walk the sequence, and a view
 * change at round r + 1 hands the proposal to the next entry. Members of equal weight are
 * interchangeable, so S is computed in O(W * distinct weights) and cached per validator set.
 *
 * Rounds and timing. tc_bft_start_height begins height h; round 0 starts at
 * commit_time_ms + block_interval_ms (the block interval, PROTOCOL 12.4), or at once when that has
 * passed. Until then bft collects votes and proposals but does not vote. Timeouts grow with the
 * round (profile): propose timeout_propose_ms + r * timeout_propose_delta_ms, prevote and
 * precommit likewise. timeout_propose is scheduled at every round start (also for the proposer,
 * whose node may fail to build a block), timeout_prevote at the first quorum of any prevotes in
 * the prevote step, timeout_precommit at the first quorum of any precommits. The expiry of
 * timeout_precommit starts round r + 1. Time is the caller's local clock in ms; a value smaller
 * than the last one seen is treated as the last one (a clock stepping back never fires a
 * deadline twice or early).
 *
 * Round skip. Every vote or proposal raises its sender's highest round seen at this height. When
 * validators of weight >= floor(W/3) + 1 have each been seen at round >= R > current round, at
 * least one honest validator has reached R, so bft jumps to the largest such R (VIEW_CHANGE,
 * cause ROUND_SKIP).
 *
 * Vote storage. TC_BFT_ROUNDS_MAX round tables per height. Rounds current .. current +
 * TC_BFT_ROUNDS_AHEAD get a table when a vote arrives; older rounds keep or get one while a table
 * is free or a lower unprotected round can be evicted (the current round, the rounds ahead, the
 * locked and the valid round, and the proof-of-lock round the current round's first valid
 * proposal names are never evicted; that last one gets a table however old). A prevote for a
 * block of an older round that gets no table is kept per validator (its latest such round) and
 * counted when its round gets a table. Votes for rounds further ahead are kept per
 * validator, only at that validator's highest round (one prevote, one precommit), and installed
 * when bft reaches that round. Proposals: TC_BFT_PROPOSALS_MAX per round in its table; beyond
 * the window only the highest-round one is kept. Votes for height + 1 are buffered (up to
 * TC_BFT_NEXT_VOTES_MAX, then refused with TC_EFULL) and replayed by tc_bft_start_height
 * (validators out of range of the new set are then dropped); votes for lower heights or beyond
 * height + 1 are ignored. Memory: about 2 * 204 bytes per validator for each round table in use
 * (a table gets its slots on first use and keeps them: one table when heights decide in round 0,
 * at most TC_BFT_ROUNDS_MAX), plus the proposer sequence (4 bytes per unit of W). A table that
 * cannot be allocated is absent: its votes are ignored (counted in votes_ignored), and a current
 * round without one moves on its timeouts only, until a later vote or tick makes it.
 *
 * Commit. Weight >= Q of precommits for one block in any round of the height decide it: bft emits
 * COMMIT with the certificate (those precommits, sorted by validator index) and stops voting at
 * this height. It does so even when it never saw a valid proposal for the block: the certificate
 * alone proves the decision (PROTOCOL 12.8), and the node fetches the block; the output says
 * whether bft knew the block and whether the node had called it valid (a certified invalid block
 * means Byzantine weight >= W/3: the node's fork alarm, not bft's).
 *
 * Pointer lifetimes:
 *   - profile and keypair passed to tc_bft_new: copied.
 *   - vset passed to tc_bft_start_height: read during the call only (bft keeps the weights and
 *     its own key's index); the caller keeps its own.
 *   - tc_bft_output returned by tc_bft_next_output: a value; the one pointer inside it,
 *     commit.sigs of a COMMIT, points into bft and stays valid until the next
 *     tc_bft_start_height or tc_bft_free (tc_commit_copy to keep it longer).
 *
 * Errors common to the event functions (on_proposal, on_block_built, on_vote, tick,
 * start_height): TC_EFULL when fewer than TC_BFT_EVENT_OUTPUTS_MAX output slots are free (the
 * caller did not drain; nothing changed); TC_EFAILED after a sticky failure (a bound believed
 * unreachable was hit, TC_NEVER: bft refuses all further events). What a peer can
 * cause (stale, duplicate, out-of-range messages) returns a code for the caller's statistics and
 * changes nothing.
 */
#ifndef TC_BFT_H
#define TC_BFT_H

#include "base.h"
#include "block.h"
#include "crypto.h"
#include "mnreg.h"
#include "profile.h"

#define TC_BFT_ROUNDS_MAX        8            /* vote tables kept per height */
#define TC_BFT_ROUNDS_AHEAD      2            /* rounds beyond the current one that get a table */
#define TC_BFT_ROUND_MAX         TC_ROUND_MAX /* higher rounds are refused (block.h) */
#define TC_BFT_PROPOSALS_MAX     4            /* distinct proposals remembered per round */
#define TC_BFT_TALLY_MAX         8   /* distinct values tallied per (round, type) before scans */
#define TC_BFT_NEXT_VOTES_MAX    512 /* votes buffered for height + 1 */
#define TC_BFT_OUTPUTS_MAX       64  /* output queue capacity */
#define TC_BFT_EVENT_OUTPUTS_MAX 32  /* outputs one event can produce at most */
#define TC_BFT_SEQ_CACHE_MAX     (1u << 20)    /* proposer sequences up to this length are cached */
#define TC_BFT_ROUND_NONE        TC_ROUND_NONE /* "-1" of the paper: no locked/valid/pol round */
#define TC_BFT_INDEX_NONE        UINT32_MAX    /* not a member of the set (observer this height) */
#define TC_BFT_SIGNED_VERSION    1
#define TC_BFT_SIGNED_SIZE       (1 + 8 + 4 + 1 + TC_HASH_SIZE + 4 + 4 + TC_HASH_SIZE)

_Static_assert(TC_BFT_ROUNDS_MAX >= TC_BFT_ROUNDS_AHEAD + 5,
               "current, ahead, locked, valid and wanted proof-of-lock rounds must leave a table "
               "for an old round");
_Static_assert(TC_BFT_OUTPUTS_MAX >= 2 * TC_BFT_EVENT_OUTPUTS_MAX, "queue holds two events");

typedef struct tc_bft tc_bft;

typedef enum {
    TC_BFT_STEP_IDLE = 0, /* no height started */
    TC_BFT_STEP_WAIT = 1, /* height started, round 0 not yet (block interval) */
    TC_BFT_STEP_PROPOSE = 2,
    TC_BFT_STEP_PREVOTE = 3,
    TC_BFT_STEP_PRECOMMIT = 4,
    TC_BFT_STEP_COMMITTED = 5, /* decided; waits for tc_bft_start_height(height + 1) */
} tc_bft_step;

/* What a signed message was: the step in the (height, round, step) order. */
typedef enum {
    TC_BFT_SIGNED_PROPOSAL = 0,
    TC_BFT_SIGNED_PREVOTE = TC_VOTE_PREVOTE,
    TC_BFT_SIGNED_PRECOMMIT = TC_VOTE_PRECOMMIT,
} tc_bft_signed_step;

/* The durable last-signed state (PROTOCOL 12.5), one record in TC_TABLE_LOCKS. Encoding:
 *   u8 version (1) | u64 height | u32 round | u8 step | value 32 | u32 pol_round |
 *   u32 locked_round | locked_value 32
 * value is the proposed block or the voted block (all zero: nil); pol_round is the proposal's
 * valid round or the prevote's proof-of-lock round (TC_BFT_ROUND_NONE for precommits, nil
 * prevotes, fresh proposals and prevotes that rely on no lock); the lock is that of height. */
typedef struct {
    uint64_t height;
    uint32_t round;
    uint8_t step; /* tc_bft_signed_step */
    tc_hash value;
    uint32_t pol_round;
    uint32_t locked_round; /* TC_BFT_ROUND_NONE: not locked, locked_value zero */
    tc_hash locked_value;
} tc_bft_signed_state;

/* Writes exactly TC_BFT_SIGNED_SIZE bytes. */
void tc_bft_signed_encode(tc_writer *w, const tc_bft_signed_state *s);
/* Codes: TC_ESHORT, TC_ETRAILING, TC_ERANGE (version, step, pol_round not below round or set on
 * a precommit, a lock above round or a lock value without a lock round). *s zeroed on failure. */
int tc_bft_signed_decode(tc_bft_signed_state *s, const uint8_t *bytes, size_t n);

typedef enum {
    TC_BFT_OUT_BUILD = 1,       /* we propose (height, round) and hold no valid value: build a
                                   block, then call tc_bft_on_block_built */
    TC_BFT_OUT_PROPOSE = 2,     /* sign and broadcast the proposal (height, round, pol_round,
                                   block); it is recorded as this round's proposal already */
    TC_BFT_OUT_VOTE = 3,        /* broadcast vote (signed) */
    TC_BFT_OUT_PERSIST = 4,     /* store signed durably before sending any later output */
    TC_BFT_OUT_COMMIT = 5,      /* decided: block at (height, round), certificate commit */
    TC_BFT_OUT_VIEW_CHANGE = 6, /* round -> round_to at height, cause (tc_bft_cause): ROUND_SKIP,
                                   or the first timeout that fired in the round left (PROPOSE: the
                                   proposer was silent; PREVOTE; else PRECOMMIT) */
    TC_BFT_OUT_LOCK = 7,        /* locked on block at (height, round) */
    TC_BFT_OUT_UNLOCK = 8,      /* released the lock on block from (height, round): replaced */
    TC_BFT_OUT_EQUIVOCATION =
        9, /* vote and vote2: one validator, same (h, r, type), blocks differ */
} tc_bft_output_kind;

/* Why a round changed. The values equal node.h's tc_view_cause (node.c can pass them through;
 * bft sits below node.h and does not include it). */
typedef enum {
    TC_BFT_CAUSE_TIMEOUT_PROPOSE = 1,
    TC_BFT_CAUSE_TIMEOUT_PREVOTE = 2,
    TC_BFT_CAUSE_TIMEOUT_PRECOMMIT = 3,
    TC_BFT_CAUSE_ROUND_SKIP = 4,
} tc_bft_cause;

typedef struct {
    tc_bft_output_kind kind;
    uint64_t height;
    uint32_t round;
    uint32_t round_to;                /* VIEW_CHANGE */
    uint32_t cause;                   /* VIEW_CHANGE: tc_bft_cause */
    uint32_t pol_round;               /* PROPOSE: TC_BFT_ROUND_NONE or the proof-of-lock round */
    tc_hash block;                    /* PROPOSE, COMMIT, LOCK, UNLOCK */
    bool block_known;                 /* COMMIT: bft saw a proposal of block at this height */
    bool block_valid;                 /* COMMIT: ... and the node called it valid */
    tc_vote vote;                     /* VOTE; EQUIVOCATION: the vote counted first */
    tc_vote vote2;                    /* EQUIVOCATION: the conflicting vote */
    tc_commit commit;                 /* COMMIT: sigs point into bft (see lifetimes) */
    tc_bft_signed_state signed_state; /* PERSIST */
} tc_bft_output;

/* Creates an instance; kp NULL makes an observer that never signs. TC_ENOMEM, TC_EINVAL
 * (profile fails tc_profile_check). */
int tc_bft_new(const tc_profile *p, tc_sig_scheme scheme, const tc_keypair *kp, tc_bft **out);
void tc_bft_free(tc_bft *b);

/* Loads the state persisted before a restart (the last PERSIST the node stored); call after
 * tc_bft_new and before the first tc_bft_start_height. From then on bft signs nothing at or below
 * (height, round, step) except that identical message. If a height begun is s->height, round 0
 * is replaced by s->round (a round skip lands no lower), the lock is restored (and taken as the
 * valid value), and the identical message is signed and sent again after its PERSIST (for a
 * proposal: PROPOSE of the same block, which the node re-sends if it still has it; no BUILD).
 * TC_EINVAL (a height is under way, or s breaks the rules of tc_bft_signed_decode). */
int tc_bft_restore(tc_bft *b, const tc_bft_signed_state *s);

/* Begins height (above any height begun before; a decision is not needed: a node that commits
 * by sync just begins the next height) with validator set vset (non-empty, weight_total the sum
 * of the weights), our index in it (TC_BFT_INDEX_NONE: do not vote this height; otherwise the
 * member's key must be ours), and the local time commit_time_ms the parent block committed:
 * round 0 starts at commit_time_ms + block_interval_ms. Replays buffered votes for height (they
 * may decide it at once). Codes: TC_EINVAL (height not above the last begun, empty set, W not the
 * sum, my_index out of range or not our key, an observer given an index), TC_ENOMEM (when it
 * happens while growing to a larger set, the previous height is gone too: bft waits for a
 * successful tc_bft_start_height), TC_EFULL, TC_EFAILED. */
int tc_bft_start_height(tc_bft *b, uint64_t now_ms, uint64_t height, const tc_vset *vset,
                        uint32_t my_index, uint64_t commit_time_ms);

/* A proposal the node received: it checked the proposer's signature, that the sender is
 * tc_bft_proposer_at(b, height, round), and validated the block against the chain (valid).
 * pol_round is the proposal's valid round (TC_BFT_ROUND_NONE for "-1"). The node keeps the blocks
 * of the proposals it passed at the current height: bft may later ask it to propose one of them
 * again (PROPOSE of its valid value) or commit one. Our own proposal is recorded by bft itself;
 * feeding it back is harmless (TC_EEXIST). Codes: TC_ERANGE (another height: the node keeps a
 * next-height block and feeds it after start_height; round over TC_BFT_ROUND_MAX; pol_round not
 * below round; an old round without a table; a far round below the highest far proposal),
 * TC_EEXIST (known), TC_EFULL (TC_BFT_PROPOSALS_MAX for the round), TC_EINVAL (no height begun,
 * a zero block hash), TC_EFAILED. */
int tc_bft_on_proposal(tc_bft *b, uint64_t now_ms, uint64_t height, uint32_t round,
                       uint32_t pol_round, const tc_hash *block, bool valid);

/* The block the node built after a BUILD output: bft emits PERSIST then PROPOSE for it (pol round
 * none), and records it as this round's valid proposal (the node does not feed it back). Codes:
 * TC_ERANGE (no BUILD is pending for (height, round): the round moved on, or a zero hash),
 * TC_EFULL, TC_EFAILED. */
int tc_bft_on_block_built(tc_bft *b, uint64_t now_ms, uint64_t height, uint32_t round,
                          const tc_hash *block);

/* A vote the node received, its signature verified against the member v->validator of the
 * height's set (for height + 1: of the set the node expects there). Codes: 0 counted or
 * buffered (an equivocation is 0 too, with an EQUIVOCATION output), TC_EEXIST (the same vote
 * again), TC_ERANGE (another height, round over TC_BFT_ROUND_MAX, an old round without a table,
 * a round below the validator's highest far round), TC_EINVAL (vote type; validator >= count;
 * no height begun), TC_EFULL (output queue, or the height + 1 buffer), TC_EFAILED. */
int tc_bft_on_vote(tc_bft *b, uint64_t now_ms, const tc_vote *v);

/* Time passed: due timeouts fire (and the block interval ends). 0, TC_EFULL, TC_EFAILED. */
int tc_bft_tick(tc_bft *b, uint64_t now_ms);
/* The earliest pending deadline (absolute ms), UINT64_MAX when none. */
uint64_t tc_bft_next_deadline(const tc_bft *b);
/* Pops the oldest output into *out; false when the queue is empty. */
bool tc_bft_next_output(tc_bft *b, tc_bft_output *out);

/* Proposer of (height, round) in v: S[(height + round) mod W]. Codes: TC_EINVAL (empty set or
 * W = 0), TC_ENOMEM (scratch space); *index_out = TC_BFT_INDEX_NONE on failure. */
int tc_bft_proposer(const tc_vset *v, uint64_t height, uint32_t round, uint32_t *index_out);
/* The same over the set of the height begun last (cached when W <= TC_BFT_SEQ_CACHE_MAX; no
 * allocation then). TC_BFT_INDEX_NONE when no height has begun, or when a set beyond the cache
 * needs scratch space and there is no memory: callers treat it as "no proposer known" (a
 * proposal is not judged, this node does not propose, the round times out). */
uint32_t tc_bft_proposer_at(const tc_bft *b, uint64_t height, uint32_t round);

typedef struct {
    uint64_t height;
    uint32_t round;
    uint8_t step; /* tc_bft_step */
    uint32_t my_index;
    uint32_t proposer; /* of (height, round) */
    uint32_t locked_round;
    tc_hash locked_value;
    uint32_t valid_round;
    tc_hash valid_value;
    bool has_signed; /* signed_state below is meaningful */
    tc_bft_signed_state signed_state;
    /* Counters over the instance's life. */
    uint64_t votes_counted;
    uint64_t votes_duplicate;
    uint64_t votes_ignored;  /* stale height, far round below the sender's highest, no table */
    uint64_t votes_buffered; /* for height + 1 */
    uint64_t votes_dropped;  /* height + 1 buffer full, or replayed out of range */
    uint64_t equivocations;
    uint64_t equivocations_unreported; /* past the per-event output budget (replays only) */
    uint64_t view_changes;
    uint64_t commits;
    uint64_t signs_refused; /* a message the last-signed rule refused (after a restart) */
    /* Round tables holding vote slots: each gets its 2 x validators slots on first use and
     * keeps them for later heights, so a height decided in round 0 holds one of
     * TC_BFT_ROUNDS_MAX. */
    uint32_t tables_allocated;
} tc_bft_status;

void tc_bft_status_get(const tc_bft *b, tc_bft_status *out);

/* The proof-of-lock of this node's valid value: validator's prevote for valid_value in
 * valid_round, with its signature, when bft holds one. Tendermint's liveness needs every honest
 * node to see the prevotes that locked its peers (a locked validator prevotes only its block,
 * and the others accept a re-proposal of it only with that proof in hand), so the node resends
 * these while its height lasts past the valid round: the signers may have restarted or dropped
 * their own copies. Codes: TC_ERANGE (no height live, validator >= the set's count),
 * TC_ENOTFOUND (no valid value, or no such prevote); *out zeroed then. */
int tc_bft_pol_vote(const tc_bft *b, uint32_t validator, tc_vote *out);

#endif
