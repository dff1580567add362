/* node_internal.h — the node's state, shared by its three source files and by nothing else:
 *   node.c        lifecycle, the event entry points, the action queue, message dispatch;
 *   node_txs.c    transactions and instant finality (admission, vote batches, certificates,
 *                 epoch handoffs);
 *   node_chain.c  block consensus (bft outputs, proposals, commits), sync, fork forensics.
 *
 * Invariants:
 *   - Every store transaction a call opens is committed or aborted before the call returns, and
 *     before any action produced after a durable-state change is handed to the driver (the
 *     driver only sees actions once the call returns), so locks, batch seqs and the last-signed
 *     vote are durable before the messages they protect leave (PROTOCOL 11.2, 12.5).
 *   - bft works on height tip + 1 (unless the node failed); finality on the epoch of tip + 1.
 *   - Frames of SEND actions live in the arena until the next call into the node.
 */
#ifndef TC_NODE_INTERNAL_H
#define TC_NODE_INTERNAL_H

#include "bft.h"
#include "block.h"
#include "chain.h"
#include "finality.h"
#include "mempool.h"
#include "msg.h"
#include "node.h"
#include "peer.h"

#define NODE_ACTIONS_MAX            4096 /* actions one call may queue (a broadcast is one per peer) */
#define NODE_ARENA_MAX              4096 /* frames one call may produce */
#define NODE_PROPOSALS_MAX          8    /* candidate blocks kept for the current height */
#define NODE_RELAY_FANOUT           6 /* READY peers a relayed gossip frame goes to (PROTOCOL 10.9) */
#define NODE_EVIDENCE_MAX           64   /* evidence waiting for a block */
#define NODE_RIVAL_TXS_MAX          8    /* refused rivals of locked inputs, kept for evidence */
#define NODE_SEEN_TX_MAX            8192 /* first-seen times kept for finality latency */
#define NODE_SYNC_TIMEOUT_MS        2000 /* an unanswered GET_BLOCKS goes to another peer */
#define NODE_PENDING_RETRY_MS       500  /* a proposal waiting for batches asks again */
#define NODE_STATUS_INTERVAL_MS     5000
#define NODE_CLOCK_PEERS_MAX        256 /* masternode clocks tracked from heartbeats */
#define NODE_CLOCK_FRESH_HEARTBEATS 3   /* an offset counts for this many heartbeat intervals */
#define NODE_OWN_FRAMES_MAX         6 /* own proposals and votes of the height, kept for resending */
#define NODE_RESEND_MS              1000 /* how often they are sent again while the height lasts */

/* One masternode's clock as its last heartbeat showed it: offset = its time - our time. */
typedef struct {
    tc_pubkey key;
    int64_t offset_ms;
    uint64_t seen_ms;
} node_clock_peer;

typedef enum { NODE_CLOCK_OK = 0, NODE_CLOCK_WARN = 1, NODE_CLOCK_STOP = 2 } node_clock_state;

typedef struct {
    bool used;
    bool valid;        /* the chain accepted it (tc_chain_check) and its certificates checked */
    bool pending;      /* waiting for vote batches before it can be judged */
    bool from_network; /* delivered to bft already */
    tc_peer_id peer;   /* who sent it: asked for missing vote batches */
    uint32_t round;
    uint32_t pol_round;
    tc_hash hash;
    tc_block block;
    /* While pending: the batches asked for at the last judgement. The proposal is judged
     * again once they have all arrived (not on every batch: at 64 validators thousands arrive
     * per second, and each judgement checks every certificate), or after
     * NODE_PENDING_RETRY_MS, which asks again for what is still missing. */
    tc_batch_ref awaiting[TC_MSG_BATCH_REFS_MAX];
    uint32_t awaiting_count;
    uint64_t judged_ms;
} node_proposal;

typedef struct {
    tc_hash txid;
    uint64_t first_seen_ms;
} node_seen_tx;

/* One validator's handoff of the current epoch (PROTOCOL 11.8), verified: signature by that member
 * of the epoch's set, txids strictly increasing and at most the finality tx_max (an honest one
 * names only transactions its node tracks). The first valid one of a validator stays. */
typedef struct {
    bool used;
    tc_handoff h; /* owned */
} node_handoff;

struct tc_node {
    tc_genesis genesis; /* copy */
    tc_hash genesis_hash;
    tc_keypair key;
    tc_rng rng;
    tc_sig_scheme scheme;
    tc_store *store;
    tc_verifier verifier;
    tc_chain *chain;
    tc_mempool *pool;
    tc_peer_table *peers;
    tc_bft *bft;
    tc_finality *fin;
    /* Bodies of valid transactions refused because an input is locked to another one: the
     * proof of a double lock needs both bodies and the mempool keeps only one. A ring; an
     * empty slot is all zero. Freed by node_txs_close. */
    tc_tx rival_txs[NODE_RIVAL_TXS_MAX];
    uint32_t rival_next;
    uint32_t epoch;    /* of height tip + 1 */
    uint32_t my_index; /* in that epoch's set, UINT32_MAX if none */

    /* The action queue the driver drains, and the frames behind its SENDs. */
    tc_action *actions;
    uint32_t action_head, action_count;
    uint8_t **arena;
    uint32_t arena_count;
    uint64_t actions_dropped;

    /* Consensus. */
    node_proposal proposals[NODE_PROPOSALS_MAX];
    tc_commit tip_commit;    /* certificate of the tip (empty at genesis) */
    uint64_t commit_time_ms; /* local time the tip was committed */
    tc_evidence evidence[NODE_EVIDENCE_MAX];
    uint32_t evidence_count;
    bool awaiting_block; /* bft decided a block we do not hold: fetch it (with its commit) */
    tc_hash awaiting_hash;

    /* Own proposal and votes of the current height, resent every NODE_RESEND_MS: Tendermint
     * needs every honest message to arrive eventually, and a lossy link or a healed partition
     * may have eaten them (the prevote and precommit timeouts only start after a quorum). */
    uint8_t *own_frames[NODE_OWN_FRAMES_MAX];
    size_t own_lens[NODE_OWN_FRAMES_MAX];
    uint32_t own_next;
    uint64_t next_resend_ms;
    uint64_t locked_ms; /* when bft last locked (or a restart restored its lock): the proof-of-lock
                           is resent from one NODE_RESEND_MS later (node_chain.c, pol_send) */

    /* Sync. */
    uint64_t best_seen_height; /* highest height a peer announced */
    tc_peer_id sync_peer;
    bool sync_active;
    uint64_t sync_deadline_ms;
    uint64_t next_status_ms;

    /* Clock sanity (PROTOCOL 15): heartbeats give peers' clocks; past clock_stop_ms from their
     * median this node stops voting until it is back. */
    node_clock_peer clocks[NODE_CLOCK_PEERS_MAX];
    uint32_t clock_count;
    node_clock_state clock_state;
    uint64_t next_heartbeat_ms;

    /* Epoch handoff (PROTOCOL 11.8): one slot per validator index of n->epoch's set (the pool's
     * bound), emptied at each epoch change. Once tip + 1 is the epoch's closing height, a validator
     * puts its own handoff here and re-broadcasts it every regossip_interval_ms until the
     * closing block is committed; the closing block's proposer takes the pooled handoffs. */
    node_handoff *handoffs;
    uint32_t handoff_count;   /* slots: the validator count of n->epoch */
    uint64_t handoff_next_ms; /* next re-broadcast of the own handoff, UINT64_MAX: none */

    /* Finality latency. */
    node_seen_tx seen_txs[NODE_SEEN_TX_MAX];
    uint32_t seen_next;

    uint64_t now_ms;   /* the node's own time: advances as the driver's clock does, never back
                          (timers, rate limits); now_ms - clock_ms = how far the clock stepped
                          back in total */
    uint64_t clock_ms; /* the time the last event carried, as is: a clock stepped back shows
                          here (clock sanity, block times) */
    uint64_t txs_finalized;
    uint64_t view_changes;
    uint64_t quorum_lost; /* TC_NOTIFY_QUORUM_LOST raised */
    /* The sticky failure (node.h, Errors), written only by node_fail: failed is set exactly
     * when failure is not TC_NODE_FAIL_NONE, and the rest keeps the first cause. */
    bool failed;
    tc_node_failure_kind failure;
    int failure_code;
    const char *failure_cause; /* static text */
    uint64_t failure_height;
    uint64_t failure_ms;
};

/* node.c */
void node_notify(tc_node *n, const tc_notify *note);
/* Puts the node in its sticky failure (node.h, Errors): the first call records kind, code, cause
 * (static text), the height and the time, and queues TC_NOTIFY_FAILED; later calls change
 * nothing, so the first cause stays. kind is not TC_NODE_FAIL_NONE. */
void node_fail(tc_node *n, tc_node_failure_kind kind, int code, const char *cause);
/* What a code returned by the node's own store, allocator or modules means: TC_ENOMEM memory;
 * TC_ESTORE_IO, _FAULT, _MAPFULL store; TC_ESTORE_CORRUPT, TC_ESTORE_TXN (misuse: a bug),
 * TC_EBLK_SUPPLY and TC_EFAILED (a module's own sticky failure) corruption; any other code
 * (0, a rule a block or a peer broke, a missing key) TC_NODE_FAIL_NONE. */
tc_node_failure_kind node_failure_kind_of(int code);
/* node_fail with the kind of code, for a call that can fail only locally: a code that
 * node_failure_kind_of does not explain is corruption too (the node's state said it could not
 * happen). code is not 0. */
void node_fail_code(tc_node *n, int code, const char *cause);
/* For a result that may be a rule's or a peer's: fails the node and returns true when code is a
 * store or corruption failure (node_failure_kind_of); false otherwise (memory included: the
 * caller decides whether it can absorb it). */
bool node_fail_local(tc_node *n, int code, const char *cause);
/* Encodes m and queues SEND to peer (or to every ready peer except `except` when broadcast).
 * TC_EENCODE when m could not be encoded or kept (memory, the arena's bound). Callers drop the
 * code: a lost frame is a lost message, which the protocol repairs (own proposals and votes are
 * resent, STATUS goes out every 5 s, transactions are re-gossiped, fetches retry on timeout),
 * so a node short of memory here goes on (PROTOCOL 14.6). */
int node_send(tc_node *n, tc_peer_id peer, const tc_msg *m);
int node_broadcast(tc_node *n, const tc_msg *m, bool has_except, tc_peer_id except);
/* node_broadcast to every ready peer, returning the encoded frame (*len_out bytes, owned by the
 * node until the call ends) so the caller can keep it without encoding m again; NULL when m
 * could not be encoded. */
const uint8_t *node_broadcast_own(tc_node *n, const tc_msg *m, size_t *len_out);
/* The same without sending: the frame is encoded (and entered in the seen filter) only. */
const uint8_t *node_encode_own(tc_node *n, const tc_msg *m, size_t *len_out);
/* Relays a gossip frame received from `from` to the other ready peers: all of them, or
 * NODE_RELAY_FANOUT drawn at random for transactions and vote batches (node.c). */
void node_relay(tc_node *n, tc_peer_id from, const uint8_t *frame, size_t len);
/* Sends a frame the node keeps elsewhere to every ready peer (copied into the arena). */
void node_broadcast_frame(tc_node *n, const uint8_t *frame, size_t len);
void node_offence(tc_node *n, tc_peer_id peer, tc_peer_offence_kind kind);
/* Our STATUS: height, tip and current round. */
void node_status_msg(const tc_node *n, tc_msg *m);

/* node_txs.c */
int node_txs_open(tc_node *n); /* creates finality for n->epoch from the store */
void node_txs_close(tc_node *n);
int node_txs_submit(tc_node *n, const tc_tx *tx, bool from_peer, tc_peer_id peer);
/* tc_chain_known_fn over the mempool (ctx is the node): every pooled transaction passed
 * tc_ledger_check_tx on admission, so a block's identical copy skips owners and signatures,
 * and its txid is the pool's (found through the spender of its first input: no hash). */
bool node_txs_known(void *ctx, const tc_tx *tx, tc_hash *txid_out);
int node_txs_on_batch(tc_node *n, tc_peer_id peer, const tc_msg_vote_batch *mb);
void node_txs_on_get_batches(tc_node *n, tc_peer_id peer, const tc_msg_get_vote_batches *g);
void node_txs_tick(tc_node *n);
void node_txs_drain(tc_node *n);
/* Finalized transactions for a block at most max_count, with their certificates (heap). */
int node_txs_collect(tc_node *n, uint32_t max_count, tc_tx **txs_out, tc_fincert **certs_out,
                     uint32_t *count_out);
/* Checks the certificates of a proposed block: 0, TC_EBLK_CERT, TC_ENOMEM, or TC_ENOTFOUND after
 * asking peer for the missing batches, which are listed in asked (room for TC_MSG_BATCH_REFS_MAX;
 * *asked_count of them). */
int node_txs_check_certs(tc_node *n, tc_peer_id peer, const tc_block *b, tc_batch_ref *asked,
                         uint32_t *asked_count);
/* A block was applied: forget its transactions; move finality to a new epoch (with the closing
 * block's carry list) if it changed; hand off if the next height closes the epoch. Codes:
 * memory, store and corruption codes, after which finality may be ahead of the store (the
 * caller stops the node); a failed recovery inside has stopped the node already. */
int node_txs_on_block(tc_node *n, const tc_block *b);
/* A HANDOFF from peer: pooled (h is moved out, left empty) and relayed when it is new and valid
 * for n->epoch; an invalid one is an offence; another epoch's is ignored. */
void node_txs_on_handoff(tc_node *n, tc_peer_id peer, const uint8_t *frame, size_t len,
                         tc_handoff *h);
/* The handoffs for a block at height: none (0) off the epoch's closing height; there, the pooled
 * ones in validator order until their weight reaches Q, as a heap array of views into the pool
 * (free() the array only; valid until the pool changes). TC_EBLK_HANDOFF while the pool holds
 * less than Q, TC_ENOMEM. */
int node_txs_block_handoffs(tc_node *n, uint64_t height, tc_handoff **out, uint32_t *count_out);
/* Earliest of finality's deadline and the own handoff's re-broadcast. */
uint64_t node_txs_next_deadline(const tc_node *n);

/* node_chain.c */
int node_chain_start_height(tc_node *n);
void node_chain_drain_bft(tc_node *n);
void node_chain_on_proposal(tc_node *n, tc_peer_id peer, const uint8_t *frame, size_t len,
                            tc_msg_proposal *p);
void node_chain_on_vote(tc_node *n, tc_peer_id peer, const uint8_t *frame, size_t len,
                        const tc_vote *v);
void node_chain_on_status(tc_node *n, tc_peer_id peer, const tc_msg_status *s);
void node_chain_on_get_blocks(tc_node *n, tc_peer_id peer, const tc_msg_get_blocks *g);
void node_chain_on_blocks(tc_node *n, tc_peer_id peer, tc_msg_blocks *b);
/* Keeps a copy of e for the next block this node proposes (unless already pending, or the
 * pending list is full), notifies it, and broadcasts it when asked. e is borrowed. */
void node_add_evidence(tc_node *n, const tc_evidence *e, bool broadcast);
void node_chain_on_evidence(tc_node *n, tc_peer_id peer, const uint8_t *frame, size_t len,
                            const tc_evidence *e);
/* Batch (validator, seq) arrived: judges the pending proposals that were waiting for it last. */
void node_chain_on_batch_arrived(tc_node *n, uint32_t validator, uint64_t seq);
void node_chain_on_heartbeat(tc_node *n, tc_peer_id peer, const uint8_t *frame, size_t len,
                             const tc_msg_heartbeat *h);
void node_chain_tick(tc_node *n);
/* STATUS to every peer every NODE_STATUS_INTERVAL_MS; also while failed, so peers can still
 * compare chains with a node stopped by a fork alarm. */
void node_chain_status_tick(tc_node *n);
uint64_t node_chain_next_deadline(const tc_node *n);
void node_chain_free(tc_node *n);

#endif
