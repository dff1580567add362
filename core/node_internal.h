/* node_internal.h — the node's parts, shared by its source files and by nothing else.
 *
 * A node is a composition of parts, each owned by one file, listed here bottom-up. A part's
 * fields are written by its own file only, it has its own init/deinit, and its file calls only
 * the parts below it and reads only their fields (tools/check_layers.py enforces this in CI):
 *
 *   node_outbox.c     the bottom: the action queue the driver drains, the frames behind its
 *                     SENDs, sending and broadcasting, and the sticky failure (node.h, Errors);
 *   node_evidence.c   proof of misbehaviour waiting for a block, the vote journal, forensics
 *                     after a fork (the two certificates and the votes peers hold), the fork
 *                     alarm;
 *   node_clock.c      clock sanity (PROTOCOL 15): heartbeats out and in, the median offset;
 *   node_txs.c        transactions and instant finality (admission, vote batches, certificates,
 *                     epoch handoffs);
 *   node_commit.c     the committed tip: applying certified blocks, the tip's certificate, our
 *                     certificate at a past height, fork detection from a block's parent;
 *   node_consensus.c  block consensus: bft's outputs, proposals and votes, the own frames kept
 *                     for resending, the lock's proof, the start of each height;
 *   node_sync.c       catching up: STATUS, GET_BLOCKS and BLOCKS, the sync timer;
 *   node.c            the top: lifecycle, the event entry points, and the router: a delivered
 *                     frame is decoded once (by the peer table), routed once to the part that
 *                     owns its type, and relayed (or not) in one place on that part's verdict.
 *
 * Shared services, set up by node.c and read by every part: the genesis, the key, the
 * generator, the store, the verifier, the chain, the mempool, the peer table, bft, the epoch and
 * this node's index in it, and the two times.
 *
 * Invariants:
 *   - Every store transaction a call opens is committed or aborted before the call returns, and
 *     before any action produced after a durable-state change is handed to the driver (the
 *     driver only sees actions once the call returns), so locks, batch seqs and the last-signed
 *     vote are durable before the messages they protect leave (PROTOCOL 11.2, 12.5).
 *   - bft works on height tip + 1 (unless the node failed); finality on the epoch of tip + 1.
 *   - Frames of SEND actions live in the outbox until the next call into the node.
 */
#ifndef TC_NODE_INTERNAL_H
#define TC_NODE_INTERNAL_H

#include "bft.h"
#include "block.h"
#include "chain.h"
#include "finality.h"
#include "gossip.h"
#include "mempool.h"
#include "msg.h"
#include "node.h"
#include "peer.h"
#include "snapshot.h"

/* What a part says about a message it was handed, for the router (node.c). */
typedef enum {
    NODE_DROP = 0, /* nothing to pass on: stale, a duplicate, invalid (an offence is scored) */
    NODE_NEWS,     /* valid and new here: relayed to the other peers */
    NODE_AHEAD,    /* about a height beyond tip + 1: the network is ahead (node_sync.c) */
} node_verdict;

/* ==== node_outbox.c: actions, frames, the sticky failure ==== */

#define NODE_ACTIONS_MAX 4096 /* actions one call may queue (a broadcast is one per peer) */
#define NODE_ACTIONS_MIN                                                                           \
    64                      /* the ring's first size: 4,096 x 264 B per node was 1.1 GB at 1,024   \
                             */
#define NODE_ARENA_MAX 4096 /* frames one call may produce */
#define NODE_RELAY_FANOUT                                                                          \
    6 /* READY peers a relayed transaction or batch goes to (PROTOCOL 10.9)                        \
       */

#define NODE_ANNOUNCE_MS 20 /* accepted transactions and batches wait this long to be announced */
/* Consensus votes (PROTOCOL 10.9): a vote relayed goes to NODE_VOTE_FANOUT READY peers (the
 * signer's own to all); every NODE_VOTE_BITS_MS a node tells all its READY peers which votes it
 * gained since (VOTE_BITS), all it holds every NODE_RESEND_MS; a vote a peer announced and this
 * node still lacks NODE_VOTE_BITS_MS later is asked for (VOTE_WANT), again after
 * NODE_VOTE_RETRY_MS. */
#define NODE_VOTE_FANOUT   6
#define NODE_VOTE_BITS_MS  30
#define NODE_VOTE_RETRY_MS 200
#define NODE_ANNOUNCE_FANOUT                                                                       \
    8 /* READY peers each announcement round goes to (PROTOCOL 10.9)                               \
       */

typedef struct {
    tc_action *actions; /* a ring of cap, grown by doubling up to NODE_ACTIONS_MAX */
    uint32_t head, count, cap;
    uint8_t **arena; /* frames behind queued SENDs, freed at the next call */
    uint32_t arena_count;
    uint64_t dropped; /* actions lost to a full queue or left undrained */
    /* Announce-then-fetch of transactions and vote batches (gossip.h, PROTOCOL 10.9). */
    tc_gossip *gossip;
    /* The current height's votes, for VOTE_BITS and VOTE_WANT (gossip.h, PROTOCOL 10.9). */
    tc_voteg *votes;
    uint64_t vote_tick_ms;  /* the next announcement round */
    uint64_t vote_full_ms;  /* the next announcement of everything held */
    uint64_t iwant_unknown; /* ids asked of us that we do not keep (evicted, or never had) */
} node_outbox;

/* The sticky failure (node.h, Errors), written only by node_fail: failed is set exactly when
 * kind is not TC_NODE_FAIL_NONE, and the rest keeps the first cause. */
typedef struct {
    bool failed;
    tc_node_failure_kind kind;
    int code;
    const char *cause; /* static text */
    uint64_t height;
    uint64_t ms;
} node_failure;

int node_outbox_init(tc_node *n);
void node_outbox_deinit(tc_node *n);
/* Every call into the node starts here: the previous call's frames are released (node.h: valid
 * until the next call), and undrained actions are dropped and counted. */
void node_outbox_begin(tc_node *n);
bool node_outbox_next(tc_node *n, tc_action *out);
/* Each part's node_X_assert checks the part's own invariants (TC_ASSERT, constant time); node.c
 * calls them all at the end of every event call. */
void node_outbox_assert(const tc_node *n);
/* Queues an action of the given kind (fields zero) and returns it; NULL when the queue is full
 * (counted as dropped). */
tc_action *node_outbox_push(tc_node *n, tc_action_kind kind);
void node_notify(tc_node *n, const tc_notify *note);
/* Puts the node in its sticky failure: the first call records kind, code, cause (static text),
 * the height and the time, and queues TC_NOTIFY_FAILED; later calls change nothing, so the first
 * cause stays. kind is not TC_NODE_FAIL_NONE. */
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
/* Sends a frame the node keeps elsewhere (or received) to every ready peer but, when has_except,
 * `except` (copied into the arena); with a fanout below the number of such peers, to that many
 * drawn at random from the node's generator. */
void node_send_frame(tc_node *n, const uint8_t *frame, size_t len, bool has_except,
                     tc_peer_id except, uint32_t fanout);
/* Relays an accepted TX, VOTE_BATCH or PROPOSAL (by its protocol id) lazily: its frame is kept
 * for IWANT and its id announced (never to `from` when has_from): a TX's or batch's within
 * NODE_ANNOUNCE_MS to NODE_ANNOUNCE_FANOUT READY peers, a proposal's at once to every one. */
void node_gossip_offer(tc_node *n, uint8_t type, const tc_hash *id, const uint8_t *frame,
                       size_t len, bool has_from, tc_peer_id from);
/* IHAVE from peer: what this node has not seen is asked of peer with one IWANT (what another
 * announcer is being asked for already waits for it). */
void node_gossip_on_ihave(tc_node *n, tc_peer_id peer, const tc_msg_invs *m);
/* IWANT from peer: the kept frames are sent back; unknown ids are counted, never scored. */
void node_gossip_on_iwant(tc_node *n, tc_peer_id peer, const tc_msg_invs *m);
/* An announced kind of object arrived and was judged: its fetch, if any, is over. */
void node_gossip_arrived(tc_node *n, uint8_t type, const tc_hash *id);
/* Sends the announcements and retries the fetches that are due. */
void node_gossip_tick(tc_node *n);
/* Votes (PROTOCOL 10.9): the height whose votes are kept; a vote consensus accepted, from a
 * peer (relayed to NODE_VOTE_FANOUT peers but from) or our own (has_from false: already sent
 * to every peer); a peer's VOTE_BITS and VOTE_WANT. */
void node_votes_height(tc_node *n, uint64_t height, uint32_t count);
void node_votes_accepted(tc_node *n, const tc_vote *v, const uint8_t *frame, size_t len,
                         bool has_from, tc_peer_id from);
void node_votes_on_bits(tc_node *n, tc_peer_id peer, const tc_msg_vote_bits *m);
void node_votes_on_want(tc_node *n, tc_peer_id peer, const tc_msg_vote_bits *m);
uint64_t node_gossip_next_deadline(const tc_node *n);
/* Queues a SEND of a frame made elsewhere (the peer table's) to one peer (copied). */
void node_send_bytes(tc_node *n, tc_peer_id peer, const uint8_t *frame, size_t len);
void node_offence(tc_node *n, tc_peer_id peer, tc_peer_offence_kind kind);
/* Our STATUS: height, tip and current round. */
void node_status_msg(const tc_node *n, tc_msg *m);

/* ==== node_evidence.c: evidence, forensics, the fork alarm ==== */

#define NODE_EVIDENCE_MAX    64   /* evidence waiting for a block */
#define NODE_JOURNAL_HEIGHTS 4    /* committed heights whose votes the journal still keeps */
#define NODE_JOURNAL_MAX     8192 /* votes the journal holds at most (about 1 MiB) */
#define NODE_VOTES_ASK_MS    2000 /* after a fork, GET_VOTES goes out again this often */
#define NODE_VOTES_ASKS      5    /* ... this many times in all */
#define NODE_NAMED_MAX       TC_COMMIT_SIGS_MAX /* validator indexes forensics can name */

typedef struct {
    tc_evidence list[NODE_EVIDENCE_MAX]; /* owned */
    uint32_t count;
    /* The vote journal: every signed prevote and precommit this node signed or received with a
     * valid signature, for heights above tip - NODE_JOURNAL_HEIGHTS (and the forked height,
     * kept for good once a fork is found), unordered, duplicates possible. Heap, grown on
     * demand up to NODE_JOURNAL_MAX; pruned when the tip moves; a vote that finds it full is
     * dropped (counted). It is what forensics across rounds needs (PROTOCOL 14.5). */
    tc_vote *journal;
    uint32_t journal_count;
    uint32_t journal_cap;
    uint64_t journal_tip; /* the tip at the last pruning */
    uint64_t journal_dropped;
    /* Forensics of the first fork found: its height, the two certificates (owned), the
     * validators named so far (a bit per index), and the GET_VOTES still to send. */
    bool forked;
    uint64_t fork_height;
    tc_commit fork_certs[2];
    uint8_t named[NODE_NAMED_MAX / 8];
    uint32_t asks_left;
    uint64_t next_ask_ms;
} node_evidence;

void node_evidence_deinit(tc_node *n);
void node_evidence_assert(const tc_node *n);
/* Keeps a copy of e for the next block this node proposes (unless already pending, or the
 * pending list is full), notifies it, and broadcasts it when asked. e is borrowed. */
void node_evidence_add(tc_node *n, const tc_evidence *e, bool broadcast);
/* Whether evidence against validator of epoch is pending here (one collateral burns once, so
 * a second proof against it would only be dropped). */
bool node_evidence_against(const tc_node *n, uint32_t validator, uint64_t epoch);
/* Checks EVIDENCE from peer: NODE_NEWS when it is valid against its epoch's set (then the router
 * relays it and calls node_evidence_add), NODE_DROP otherwise (an invalid one is an offence). */
node_verdict node_evidence_check(tc_node *n, tc_peer_id peer, const tc_evidence *e);
/* Forgets pending evidence b includes. */
void node_evidence_included(tc_node *n, const tc_block *b);
/* Forgets all pending evidence (the chain refused it: stale). */
void node_evidence_clear(tc_node *n);
/* Records a prevote or precommit whose signature was checked against its height's set (or that
 * this node signed) in the journal. */
void node_evidence_journal(tc_node *n, const tc_vote *v);
/* Two valid certificates for different blocks at one height (the fork alarm was raised): keeps
 * them, asks every peer for its votes of that height (GET_VOTES), and runs the analysis on the
 * certificates and the journal, which names (TC_NOTIFY_CULPRIT) and proves (evidence, broadcast)
 * every validator with two votes of one (round, type) for different blocks, or with a
 * precommit and a later prevote that is amnesia (block.h). Each validator is named once. Only
 * the first fork a node finds is analysed. */
void node_evidence_forensics(tc_node *n, const tc_commit *ours, const tc_commit *theirs);
/* GET_VOTES: answers with the journal's votes of that height (VOTES, as many frames as needed),
 * nothing when it holds none. Served while failed. */
void node_evidence_on_get_votes(tc_node *n, tc_peer_id peer, const tc_msg_get_votes *g);
/* VOTES: for the forked height, every vote is checked against the height's set (a bad signature
 * is an offence and ends the message), journaled, and the analysis runs again; other heights are
 * ignored. Taken while failed. */
void node_evidence_on_votes(tc_node *n, tc_peer_id peer, const tc_msg_votes *m);
/* Sends GET_VOTES again while asks are left after a fork. Runs while failed. */
void node_evidence_tick(tc_node *n);
uint64_t node_evidence_next_deadline(const tc_node *n);
/* The fork alarm (PROTOCOL 14.4): TC_NOTIFY_FORK, then the node's sticky fork failure. code is
 * a rule's, never a disk's. */
void node_evidence_fork(tc_node *n, uint64_t height, const tc_hash *ours, const tc_hash *theirs,
                        int code);

/* ==== node_clock.c: clock sanity and masternodes' presence ==== */

#define NODE_CLOCK_PEERS_MAX          4096 /* masternode clocks tracked from heartbeats */
#define NODE_CLOCK_FRESH_HEARTBEATS   3    /* an offset counts for this many heartbeat intervals */
#define NODE_CLOCK_OFFLINE_HEARTBEATS 3    /* silent this many intervals: offline */
#define NODE_CLOCK_FORGET_HEARTBEATS  120  /* silent this many intervals: forgotten (10 min) */
#define NODE_CLOCK_WARMUP_HEARTBEATS  2  /* after a start, no verdict before this many intervals */
#define NODE_CLOCK_RECENT_BLOCKS      32 /* tip hashes a heartbeat may name (a ring) */
#define NODE_CLOCK_PRESENT_MS         10000 /* a heartbeat names a block at most this old... */
#define NODE_CLOCK_PRESENT_BLOCKS_MIN 2     /* ...or at most this many blocks below the tip */

typedef enum { NODE_CLOCK_OK = 0, NODE_CLOCK_WARN = 1, NODE_CLOCK_STOP = 2 } node_clock_state;

/* One masternode as its last accepted heartbeat showed it: offset = its time - our time. */
typedef struct {
    tc_pubkey key;
    int64_t offset_ms;
    uint64_t seen_ms; /* our now_ms when it arrived */
    uint64_t height;  /* the heartbeat's (height, time_ms): a later one must be greater */
    uint64_t time_ms;
    bool online;
} node_clock_peer;

typedef struct {
    uint64_t height;
    tc_hash hash;
} node_clock_block;

/* Heartbeats give peers' clocks; past clock_stop_ms from their median this node stops voting
 * until it is back (PROTOCOL 15). They also tell which masternodes are online. */
typedef struct {
    node_clock_peer *peers; /* count of cap, grown on demand up to NODE_CLOCK_PEERS_MAX */
    uint32_t count;
    uint32_t cap;
    node_clock_state state;
    uint64_t next_heartbeat_ms;
    uint64_t started_ms; /* now_ms at open: the warm-up runs from here */
    node_clock_block recent[NODE_CLOCK_RECENT_BLOCKS]; /* by height % NODE_CLOCK_RECENT_BLOCKS */
} node_clock;

/* Remembers the tip a fresh node or a restarted one starts from. */
void node_clock_init(tc_node *n);
void node_clock_deinit(tc_node *n);
/* A block was applied at height: heartbeats may name it from now on (node_commit.c). */
void node_clock_on_block(tc_node *n, uint64_t height, const tc_hash *hash);
/* A HEARTBEAT from peer: NODE_NEWS when a masternode of the epoch signed it and it is bound to
 * the present (it names a recent block of our chain, and its (height, time) is above the last
 * one accepted from its key): the router relays it and calls node_clock_take. NODE_DROP
 * otherwise (a bad signature is an offence; a stale heartbeat is not). */
node_verdict node_clock_check(tc_node *n, tc_peer_id peer, const tc_msg_heartbeat *h);
/* Records a checked heartbeat's offset and re-evaluates the clock; true when this node's clock
 * just came back from NODE_CLOCK_STOP (what it signed meanwhile is due). */
bool node_clock_take(tc_node *n, const tc_msg_heartbeat *h);
/* Signs and broadcasts this masternode's heartbeat when it is due; marks silent masternodes
 * offline and forgets long-silent ones and those outside the epoch's set. */
void node_clock_tick(tc_node *n);
bool node_clock_stopped(const tc_node *n);
int node_clock_masternode(const tc_node *n, const tc_pubkey *key, tc_masternode_presence *out);
void node_clock_assert(const tc_node *n);
uint64_t node_clock_next_deadline(const tc_node *n);

/* ==== node_txs.c: transactions and instant finality ==== */

#define NODE_RIVAL_TXS_MAX 8 /* refused rivals of locked inputs, kept for evidence */
#define NODE_BATCH_VALIDATORS_REF                                                                  \
    16 /* validators per step of the vote batch interval (node_txs_batch_interval_ms)              \
        */
#define NODE_SEEN_TX_MAX 8192 /* first-seen times kept for finality latency */

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

/* The fetch of carried bodies (PROTOCOL 11.8 step 8): while finality misses the body of a carried
 * transaction, the node asks one peer at a time with GET_TXS (first the peer that sent the
 * closing block, then the ready peers in turn), NODE_BODIES_TIMEOUT_MS per attempt, and gives up
 * after NODE_BODIES_TRIES attempts that brought nothing new. */
#define NODE_BODIES_TIMEOUT_MS 500
#define NODE_BODIES_TRIES      6

typedef struct {
    bool active;
    bool asked;    /* a GET_TXS is out to peer */
    bool has_hint; /* hint: the peer whose BLOCKS is being applied (node_sync.c) */
    tc_peer_id hint;
    bool first_valid; /* the fetch asks first: the hint when it started */
    tc_peer_id first;
    tc_peer_id peer;
    uint32_t tries;       /* attempts that brought no body */
    uint32_t turn;        /* round robin over the ready peers */
    bool progress;        /* the current attempt brought a body */
    uint64_t deadline_ms; /* the next attempt, or the current one's timeout */
    uint32_t asked_count;
    tc_hash asked_txids[TC_MSG_GET_TXS_MAX]; /* what the current attempt asked for */
} node_bodies;

typedef struct {
    tc_finality *fin; /* of n->epoch */
    node_bodies bodies;
    /* Bodies of valid transactions refused because an input is locked to another one: the
     * proof of a double lock needs both bodies and the mempool keeps only one. A ring; an
     * empty slot is all zero. */
    tc_tx rivals[NODE_RIVAL_TXS_MAX];
    uint32_t rival_next;
    /* Epoch handoff: one slot per validator index of n->epoch's set (the pool's bound), emptied
     * at each epoch change. Once tip + 1 is the epoch's closing height, a validator puts its own
     * handoff here and re-broadcasts it every regossip_interval_ms until the closing block is
     * committed; the closing block's proposer takes the pooled handoffs. */
    node_handoff *handoffs;
    uint32_t handoff_count;   /* slots: the validator count of n->epoch */
    uint64_t handoff_next_ms; /* next re-broadcast of the own handoff, UINT64_MAX: none */
    /* Finality latency. */
    node_seen_tx seen[NODE_SEEN_TX_MAX];
    uint32_t seen_next;
    uint64_t finalized;
} node_txs;

int node_txs_open(tc_node *n); /* creates finality for n->epoch from the store */
/* The vote batch interval for a set of `validators`: the profile's vote_batch_interval_ms times
 * ceil(validators / NODE_BATCH_VALIDATORS_REF), at most regossip_interval_ms (PROTOCOL 11.3). */
uint32_t node_txs_batch_interval_ms(const tc_profile *p, uint32_t validators);
void node_txs_close(tc_node *n);
void node_txs_assert(const tc_node *n);
/* Admits a transaction (a client's when !from_peer): 0 when it entered the pool. */
int node_txs_submit(tc_node *n, const tc_tx *tx, bool from_peer, tc_peer_id peer);
/* The same with tx's txid given: it must be tc_tx_id(tx) (a delivery: the frame's protocol id,
 * which the seen filter computed). */
int node_txs_submit_id(tc_node *n, const tc_tx *tx, const tc_hash *txid, bool from_peer,
                       tc_peer_id peer);
/* tc_chain_known_fn over the mempool (ctx is the node): every pooled transaction passed
 * tc_ledger_check_tx on admission, so a block's identical copy skips owners and signatures,
 * and its txid is the pool's (found through the spender of its first input: no hash). */
bool node_txs_known(void *ctx, const tc_tx *tx, tc_hash *txid_out);
/* A VOTE_BATCH from peer: NODE_NEWS when finality took it (the router then relays it and tells
 * consensus, whose held proposals may wait for it). sign_hash: the batch's signed hash when the
 * caller has it (a delivery: the frame's protocol id), NULL to compute it. */
node_verdict node_txs_on_batch(tc_node *n, tc_peer_id peer, const tc_msg_vote_batch *mb,
                               const tc_hash *sign_hash);
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
/* A HANDOFF from peer: NODE_NEWS when it is new and valid for n->epoch (pooled: h is moved out,
 * left empty); an invalid one is an offence; another epoch's is dropped. */
node_verdict node_txs_on_handoff(tc_node *n, tc_peer_id peer, tc_handoff *h);
/* The handoffs for a block at height: none (0) off the epoch's closing height; there, the pooled
 * ones in validator order until their weight reaches Q, as a heap array of views into the pool
 * (free() the array only; valid until the pool changes). TC_EBLK_HANDOFF while the pool holds
 * less than Q, TC_ENOMEM. */
int node_txs_block_handoffs(tc_node *n, uint64_t height, tc_handoff **out, uint32_t *count_out);
/* Earliest of finality's deadline, the own handoff's re-broadcast and the carried-bodies
 * fetch's next step. */
uint64_t node_txs_next_deadline(const tc_node *n);
/* The peer whose BLOCKS is being applied (has: while it is): an epoch change it brings asks it
 * first for the carried bodies this node lacks. */
void node_txs_bodies_hint(tc_node *n, bool has, tc_peer_id peer);
/* GET_TXS from peer: answered with TXS frames of the bodies held (pool, refused rivals). */
void node_txs_on_get_txs(tc_node *n, tc_peer_id peer, const tc_msg_get_txs *g);
/* TXS from peer: taken only as the answer the carried-bodies fetch waits for; a body whose txid
 * was not asked for is an INVALID offence. */
void node_txs_on_txs(tc_node *n, tc_peer_id peer, const tc_msg_txs *m);

/* ==== node_commit.c: the committed tip ==== */

typedef struct {
    tc_commit tip_commit; /* certificate of the tip (empty at genesis) */
    uint64_t time_ms;     /* local time the tip was committed */
} node_commit;

void node_commit_init(tc_node *n); /* the tip committed "now": round 0 waits a block interval */
void node_commit_deinit(tc_node *n);
void node_commit_assert(const tc_node *n);
/* After a restart: the tip's certificate from the store (a missing or stale one is a lost
 * optimisation only); a store that cannot be read is returned. */
int node_commit_load(tc_node *n);
/* Applies a certified block as the new tip (synced: it came by sync, PROTOCOL 12.4): 0, after
 * which the caller starts the next height; otherwise the node failed (store, memory, or the fork
 * alarm for a certified block the rules refuse or that does not extend our tip) or the code is
 * returned with nothing changed. */
int node_commit_apply(tc_node *n, const tc_block *b, const tc_commit *commit, bool synced);
/* tc_chain_block_at for a height this node holds: a block it cannot read is its store's failure
 * or corruption (node.h), which stops it. */
int node_commit_read_block(tc_node *n, uint64_t height, tc_block *out);
/* The certificate of our block at height (<= tip): from the next block, or the tip's own. */
int node_commit_at(tc_node *n, uint64_t height, tc_commit *out, tc_hash *hash_out);
/* A certified block at a height we hold, hash `theirs`: a different block is a fork. */
void node_commit_check_fork(tc_node *n, const tc_block *b, const tc_commit *commit,
                            const tc_hash *theirs);
/* A precommit for a height we committed: if its signer precommitted our block in the same round,
 * the two are proof of equivocation (evidence). */
void node_commit_check_past_vote(tc_node *n, const tc_vote *v);
/* Asks every peer for the block at height (with its certificate). */
void node_commit_request(tc_node *n, uint64_t height);

/* ==== node_consensus.c: block consensus ==== */

#define NODE_PROPOSALS_MAX    8    /* candidate blocks kept for the current height */
#define NODE_PENDING_RETRY_MS 500  /* a proposal waiting for batches asks again */
#define NODE_OWN_FRAMES_MAX   6    /* own proposals and votes of the height, kept for resending */
#define NODE_RESEND_MS        1000 /* how often they are sent again while the height lasts */

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
    /* While pending: how many batches of node_consensus.awaiting[slot] were asked for at the
     * last judgement, and when. The proposal is judged again once they have all arrived (not
     * on every batch: at 64 validators thousands arrive per second, and each judgement checks
     * every certificate), or after NODE_PENDING_RETRY_MS, which asks again for what is still
     * missing. */
    uint32_t awaiting_count;
    uint64_t judged_ms;
} node_proposal;

typedef struct {
    node_proposal proposals[NODE_PROPOSALS_MAX];
    /* The batches each proposal slot awaits, apart from the slots: node_consensus_assert and
     * every arriving batch read all NODE_PROPOSALS_MAX slots, which fit in a page or two this
     * way; with 4 KB of references inside each slot, that was a cache and TLB miss per slot, per
     * call (perf: 16-23% of samples at 256-512 validators). */
    tc_batch_ref awaiting[NODE_PROPOSALS_MAX][TC_MSG_BATCH_REFS_MAX];
    /* Own proposal and votes of the current height, resent every NODE_RESEND_MS: Tendermint
     * needs every honest message to arrive eventually, and a lossy link or a healed partition
     * may have eaten them (the prevote and precommit timeouts only start after a quorum). */
    uint8_t *own_frames[NODE_OWN_FRAMES_MAX];
    size_t own_lens[NODE_OWN_FRAMES_MAX];
    uint32_t own_next;
    uint64_t next_resend_ms;
    uint64_t locked_ms;  /* when bft last locked (or a restart restored its lock): the proof-of-lock
                            is resent from one NODE_RESEND_MS later (pol_send) */
    bool awaiting_block; /* bft decided a block we do not hold: fetched (with its commit) by sync */
    tc_hash awaiting_hash;
    uint64_t view_changes;
} node_consensus;

void node_consensus_deinit(tc_node *n);
/* Forgets the height in progress (proposals, own frames, a decided block awaited) before the
 * node's state is reopened on a state snapshot; the counters stay. */
void node_consensus_reset(tc_node *n);
void node_consensus_assert(const tc_node *n);
/* Starts bft at tip + 1 (after a restart: with the restored last-signed state, lock and proof)
 * and judges the proposals that came early for it. */
int node_consensus_start_height(tc_node *n);
/* A block was applied (node_commit_apply): starts the next height, or fails the node. */
void node_consensus_committed(tc_node *n);
void node_consensus_drain(tc_node *n);
/* A PROPOSAL from peer: NODE_AHEAD for a later height, NODE_NEWS for a valid one that is news
 * (a new block, or a known one in a later round); then the router relays it and calls
 * node_consensus_take_proposal. */
node_verdict node_consensus_check_proposal(tc_node *n, tc_peer_id peer, const tc_msg_proposal *p);
/* Takes a proposal node_consensus_check_proposal called news (its block is moved out of p). */
void node_consensus_take_proposal(tc_node *n, tc_peer_id peer, tc_msg_proposal *p);
/* A PREVOTE or PRECOMMIT: NODE_NEWS when bft took it, NODE_AHEAD for a later height. */
node_verdict node_consensus_on_vote(tc_node *n, tc_peer_id peer, const tc_vote *v);
/* Batch (validator, seq) arrived: judges the pending proposals that were waiting for it last. */
void node_consensus_on_batch_arrived(tc_node *n, uint32_t validator, uint64_t seq);
/* The clock came back from a stop: what was signed meanwhile leaves at the next tick. */
void node_consensus_resend_soon(tc_node *n);
void node_consensus_tick_bft(tc_node *n);
/* Resends the own frames (and the lock's proof) when due; judges pending proposals again. */
void node_consensus_tick_resend(tc_node *n);
/* The block bft decided without this node holding it, if any. */
bool node_consensus_awaiting(const tc_node *n);
uint64_t node_consensus_next_deadline(const tc_node *n);

/* ==== node_sync.c: catching up ==== */

#define NODE_SYNC_TIMEOUT_MS    2000 /* an unanswered GET_BLOCKS goes to another peer */
#define NODE_STATUS_INTERVAL_MS 5000
#define NODE_SNAP_TIMEOUT_MS    2000  /* an unanswered GET_SNAPSHOT goes to another peer */
#define NODE_SNAP_INFLIGHT      8     /* chunk requests outstanding at once */
#define NODE_SNAP_SERVED        2     /* snapshots kept for serving: the latest two */
#define NODE_SNAP_TRIES         8     /* manifests tried before falling back to blocks */
#define NODE_SNAP_BAD_MAX       16    /* peers excluded from one state sync for lying */
#define NODE_SNAP_BACKOFF_MS    60000 /* after a state sync gave up, blocks only this long */

/* A state sync in progress (PROTOCOL 13.2): the manifest once verified, then the chunks, each
 * verified on arrival and kept in memory until all are here; only then does anything reach
 * the store, in one transaction, so a crash before it leaves the store as it was. */
typedef enum { SNAP_MISSING = 0, SNAP_ASKED = 1, SNAP_HAVE = 2 } node_snap_chunk_state;

typedef struct {
    bool active;
    bool have_manifest;
    tc_peer_id manifest_peer;
    uint64_t deadline_ms; /* of the manifest request */
    tc_snapshot_manifest manifest;
    tc_hash manifest_id; /* tc_snapshot_manifest_id: what chunk requests name */
    uint8_t **chunks;    /* heap, one per chunk: owned bytes once SNAP_HAVE */
    size_t *lens;
    uint8_t *state;         /* node_snap_chunk_state */
    tc_peer_id *asked_peer; /* while SNAP_ASKED */
    uint64_t *asked_deadline_ms;
    uint32_t have_count;
    uint32_t refusals;                 /* empty answers ("not served") for this manifest */
    uint32_t tries;                    /* manifests asked for in this state sync */
    uint32_t rr;                       /* round-robin cursor over the ready peers */
    tc_peer_id bad[NODE_SNAP_BAD_MAX]; /* peers caught lying in this state sync */
    uint32_t bad_count;
    uint64_t backoff_until_ms;
    uint64_t syncs; /* state syncs completed */
} node_snap;

typedef struct {
    uint64_t best_seen_height; /* highest height a peer announced */
    tc_peer_id peer;
    bool active;
    uint64_t deadline_ms; /* of the sync request, and of the fetch of a decided block */
    uint64_t next_status_ms;
    node_snap snap;
    tc_snapshot *served[NODE_SNAP_SERVED]; /* [0] the latest capture, [1] the one before */
} node_sync;

/* A message of a later height (its parent at `height`) came from peer: remembered, and when
 * `fetch`, a sync starts from that peer unless one is running. */
void node_sync_ahead(tc_node *n, tc_peer_id peer, uint64_t height, bool fetch);
void node_sync_on_status(tc_node *n, tc_peer_id peer, const tc_msg_status *s);
void node_sync_on_get_blocks(tc_node *n, tc_peer_id peer, const tc_msg_get_blocks *g);
void node_sync_on_blocks(tc_node *n, tc_peer_id peer, tc_msg_blocks *b);
void node_sync_deinit(tc_node *n);
/* Captures a snapshot of the state when the tip sits on a snapshot height and none was taken
 * there yet (a failure to capture only means there is nothing new to serve). */
void node_sync_capture(tc_node *n);
/* GET_SNAPSHOT: answered with the manifest, the chunk, or an empty SNAPSHOT. */
void node_sync_on_get_snapshot(tc_node *n, tc_peer_id peer, const tc_msg_get_snapshot *g);
/* SNAPSHOT: the manifest or a chunk of the state sync in progress, verified (a lie is an
 * offence and the chunk is asked of another peer). True when it completed the snapshot and
 * the store now holds it: the caller reopens the node's state on it, then calls
 * node_sync_state_synced. m's data may be taken (left NULL). */
bool node_sync_on_snapshot(tc_node *n, tc_peer_id peer, tc_msg_snapshot *m);
/* After the reopen: notifies the state sync and fetches the blocks above the snapshot. */
void node_sync_state_synced(tc_node *n);
/* State syncs completed by this node. */
uint64_t node_sync_state_syncs(const tc_node *n);
void node_sync_peer_down(tc_node *n, tc_peer_id peer);
void node_sync_assert(const tc_node *n);
/* Retries an unanswered request and the fetch of a decided block; then the status tick. */
void node_sync_tick(tc_node *n);
/* STATUS to every peer every NODE_STATUS_INTERVAL_MS; also while failed, so peers can still
 * compare chains with a node stopped by a fork alarm. */
void node_sync_status_tick(tc_node *n);
uint64_t node_sync_next_deadline(const tc_node *n);

/* ==== the node ==== */

struct tc_node {
    /* Shared services (node.c). */
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
    uint32_t epoch;       /* of height tip + 1 (node_txs.c moves it) */
    uint32_t my_index;    /* in that epoch's set, UINT32_MAX if none (node_txs.c) */
    uint64_t now_ms;      /* the node's own time: advances as the driver's clock does, never back
                             (timers, rate limits); now_ms - clock_ms = how far the clock stepped
                             back in total */
    uint64_t clock_ms;    /* the time the last event carried, as is: a clock stepped back shows
                             here (clock sanity, block times) */
    uint64_t quorum_lost; /* TC_NOTIFY_QUORUM_LOST raised (node.c) */

    /* The parts, bottom-up. */
    node_outbox out;
    node_failure fail;
    node_evidence ev;
    node_clock clk;
    node_txs txs;
    node_commit commit;
    node_consensus cons;
    node_sync sync;
};

#endif
