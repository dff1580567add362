/* node.h — one TimeCoin node as a pure state machine (DESIGN.md, "The core interface").
 *
 * A driver (the simulator, or the live TCP node) owns the clock, the sockets and the timer. It
 * feeds the node events — a peer connected or left, a frame arrived, a client submitted a
 * transaction, time passed — each with the node's local time now_ms, and after every call it
 * drains the node's actions: SEND a frame to a peer, CONNECT to an address, DISCONNECT a peer
 * (with a reason and a ban), NOTIFY an observer. The node wants tick() again at
 * tc_node_next_deadline(); a driver needs exactly one timer per node (the quicly pattern).
 *
 * The node never reads a clock, draws randomness of its own (its generator is seeded from the
 * config), touches a socket, file or thread. Given the same config, store contents and event
 * sequence it produces the same actions, byte for byte.
 *
 * Inside, the node wires the core modules: peer policy (peer.h) in front, then the codec
 * (msg.h), then the mempool and instant finality (finality.h), block consensus (bft.h), sync,
 * and forensics, over the chain (chain.h) and its store.
 *
 * Pointer lifetimes:
 *   - config: copied by tc_node_new (strings and arrays included); the caller may free it.
 *   - store, verify cache, config->elements, config->hashes: borrowed; they must outlive the
 * node. The store is the node's only durable state: a node freed without warning (a crash) and
 * created again on the same store recovers (chain tip, input locks, last signed vote) and then
 * syncs.
 *   - frame bytes passed to tc_node_recv / tc_node_submit_tx: borrowed for the call only.
 *   - a tc_action returned by tc_node_next_action: its frame bytes point into the node and stay
 *     valid until the next call into the node other than tc_node_next_action.
 *
 * Errors: event functions return 0 or a negative code for the caller's information only (bad
 * input is handled inside: counted, maybe answered with REJECT or a DISCONNECT action). The node
 * never aborts on anything a peer, a client, the disk or the allocator can cause; TC_ASSERT
 * guards only what a bug can break. What it cannot work around puts it in ONE sticky, typed
 * failure (LMDB's MDB_PANIC pattern; STYLE rules 9, 10, 22), kept with the first cause:
 *   - store: the store refused a read, write or commit (I/O error, map full, injected fault);
 *     the state on disk is what the last committed transaction left, so a node created again on
 *     the repaired store recovers from it;
 *   - memory: an allocation failed where the node cannot go on without it (a failure the node
 *     can absorb, such as a frame it could not encode, is dropped and repaired by resending);
 *   - corruption: the node found its own state inconsistent (a record that does not decode, a
 *     supply that does not balance, a module in its own sticky failed state): a bug or a
 *     damaged store;
 *   - fork: a fork alarm (PROTOCOL: two certified blocks at one height, or a certified block the
 *     rules refuse). Only consensus evidence raises it: a disk or allocator failure never does.
 * The failure is announced once by a TC_NOTIFY_FAILED action (a fork by TC_NOTIFY_FORK first),
 * and tc_node_status_get reports it. From then on every event call returns TC_EFAILED (the node
 * still answers STATUS and GET_BLOCKS, so that peers can compare chains with it, and after a fork
 * answers GET_VOTES and takes VOTES, so that forensics goes on: PROTOCOL 14.5) and the node
 * takes no decision and writes nothing. A failed node is freed and, after the operator looked at
 * its cause, created again on its store.
 */
#ifndef TC_NODE_H
#define TC_NODE_H

#include "base.h"
#include "block.h"
#include "chain.h"
#include "crypto.h"
#include "genesis.h"
#include "mempool.h"
#include "store.h"

typedef struct tc_node tc_node;

/* A peer connection as the driver names it. The driver chooses ids; an id is not reused while
 * the node may still refer to it (i.e. until after tc_node_peer_down). */
typedef uint32_t tc_peer_id;

#define TC_NODE_ADDR_MAX 64 /* "host:port" text, NUL included */

typedef struct {
    const tc_genesis *genesis;           /* the network; copied */
    uint8_t identity_seed[TC_SEED_SIZE]; /* the node key; a masternode's is its voting key */
    uint8_t rng_seed[32];                /* seeds the node's deterministic generator; must differ
                                            at every start of the same node, or its handshake
                                            nonces repeat and peers refuse them as replays */
    tc_sig_scheme scheme;                /* TC_SIG_FAST only under the simulator */
    uint16_t listen_port;                /* announced in HELLO; 0: does not accept connections */
    const char *user_agent;              /* announced in HELLO, at most 63 bytes; NULL: default */
    uint32_t seed_count; /* addresses to connect to at start and when short of peers */
    const char *const *seeds;
    tc_lthash_cache *elements;  /* borrowed, may be NULL: memo of UTXO-root elements (crypto.h);
                                   the simulator shares one between its nodes, like the verify
                                   cache */
    const tc_hash_memo *hashes; /* borrowed, may be NULL: memo of received frames' tagged hashes
                                   (crypto.h), shared likewise */
    tc_input_memo *inputs;      /* borrowed, may be NULL: memo of checked transaction inputs
                                   (tx.h), shared the same way */
} tc_node_config;

typedef enum {
    TC_ACTION_SEND = 1,
    TC_ACTION_CONNECT = 2,
    TC_ACTION_DISCONNECT = 3,
    TC_ACTION_NOTIFY = 4,
} tc_action_kind;

typedef enum {
    TC_NOTIFY_BLOCK_COMMITTED = 1, /* height, round, proposer, hash, txs */
    TC_NOTIFY_TX_FINALIZED = 2,    /* hash = txid, latency_ms since this node first saw it */
    TC_NOTIFY_TX_REJECTED = 3,     /* hash = txid, code */
    TC_NOTIFY_VIEW_CHANGE = 4,     /* height, round (from), round_to, cause */
    TC_NOTIFY_LOCK = 5,            /* height, round, hash: locked on a block */
    TC_NOTIFY_UNLOCK = 6,          /* height, round, hash: released (newer proof-of-lock) */
    TC_NOTIFY_EVIDENCE = 7,        /* height, round, validator, hash = evidence hash */
    TC_NOTIFY_FORK = 8,            /* height, hash (ours), hash2 (theirs); culprits follow */
    TC_NOTIFY_CULPRIT = 9,         /* validator named by forensics, height (the forked one),
                                      round (its proof's first vote's); once per validator */
    TC_NOTIFY_PEER_BANNED = 10,    /* peer, code, ban_until_ms */
    TC_NOTIFY_PEER_READY = 11,     /* peer: handshake done; validator = index or UINT32_MAX */
    TC_NOTIFY_CLOCK = 12,          /* code: 0 back in bounds, TC_EBLK_TIME warn or stop */
    TC_NOTIFY_SYNC = 13,           /* height: caught up to */
    TC_NOTIFY_QUORUM_LOST = 14,    /* a ban left the node reaching validators of weight (itself
                                      included) below the quorum: weight, quorum */
    TC_NOTIFY_FAILED = 15,     /* the sticky failure: cause = tc_node_failure_kind, code, height,
                                  text = what the node was doing (node.h, Errors) */
    TC_NOTIFY_MASTERNODE = 16, /* a masternode went offline (code 0: no heartbeat for 3
                                  intervals) or came back (code 1); validator = its index in
                                  the epoch's set, latency_ms = when it was last heard (node
                                  time) */
    TC_NOTIFY_STATE_SYNC = 17, /* height, hash: the snapshot's block, now the tip; txs = its
                                  chunks, round = the peers that served them, weight = its UTXO
                                  entries (PROTOCOL 13.2) */
    TC_NOTIFY_SNAPSHOT_REFUSED = 18, /* peer: its manifest or chunk failed verification,
                                        height = the snapshot's, code */
} tc_notify_kind;

/* The kinds of sticky failure (see Errors above); NONE while the node is healthy. */
typedef enum {
    TC_NODE_FAIL_NONE = 0,
    TC_NODE_FAIL_STORE = 1,
    TC_NODE_FAIL_MEMORY = 2,
    TC_NODE_FAIL_CORRUPTION = 3,
    TC_NODE_FAIL_FORK = 4,
} tc_node_failure_kind;

/* "none", "store", "memory", "corruption", "fork"; "?" for anything else. Static. */
const char *tc_node_failure_name(tc_node_failure_kind kind);

typedef enum {
    TC_VIEW_CAUSE_TIMEOUT_PROPOSE = 1,
    TC_VIEW_CAUSE_TIMEOUT_PREVOTE = 2,
    TC_VIEW_CAUSE_TIMEOUT_PRECOMMIT = 3,
    TC_VIEW_CAUSE_ROUND_SKIP = 4, /* f+1 weight seen at a higher round */
} tc_view_cause;

typedef struct {
    tc_notify_kind kind;
    uint64_t height;
    uint32_t round;
    uint32_t round_to;
    uint32_t proposer;
    uint32_t validator;
    uint32_t cause; /* tc_view_cause for VIEW_CHANGE */
    int code;
    uint32_t txs;
    uint64_t latency_ms;
    uint64_t ban_until_ms;
    uint64_t weight; /* QUORUM_LOST: validator weight still reached */
    uint64_t quorum; /* QUORUM_LOST: the epoch's quorum */
    tc_peer_id peer;
    tc_hash hash;
    tc_hash hash2;
    const char *text; /* FAILED: a static string (valid for the life of the program) */
} tc_notify;

typedef struct {
    tc_action_kind kind;
    tc_peer_id peer;      /* SEND, DISCONNECT */
    const uint8_t *frame; /* SEND: a whole frame (length prefix included); see lifetimes */
    size_t frame_len;
    char addr[TC_NODE_ADDR_MAX]; /* CONNECT */
    int reason;                  /* DISCONNECT: a TC_E* code */
    uint64_t ban_until_ms;       /* DISCONNECT: 0 = no ban */
    tc_notify notify;            /* NOTIFY */
} tc_action;

/* Creates a node at local time now_ms on store (empty: initialised from the genesis; otherwise
 * recovered). Codes: TC_ENOMEM, TC_EGENESIS, TC_EINVAL (config), store codes. */
int tc_node_new(const tc_node_config *config, tc_store *store, tc_verify_cache *cache,
                uint64_t now_ms, tc_node **out);
void tc_node_free(tc_node *n);

/* Every event call below returns TC_EFAILED whenever the node is in its sticky failed state at
 * the end of the call (the call may have made it fail), so a driver learns of the failure
 * without reading the status; otherwise the code described with the call (informational). */

/* A connection is up (inbound: the peer dialled us). The node starts the handshake. addr is the
 * peer's "host:port" (bans are by host). Otherwise the peer policy's code. */
int tc_node_peer_up(tc_node *n, uint64_t now_ms, tc_peer_id peer, const char *addr, bool inbound);
/* The connection is gone (closed by the peer, the network, or a DISCONNECT action). 0. */
int tc_node_peer_down(tc_node *n, uint64_t now_ms, tc_peer_id peer);
/* One whole frame from peer: u32 big-endian length of (type + payload) | u8 type | payload.
 * Otherwise the peer policy's code for the frame. */
int tc_node_recv(tc_node *n, uint64_t now_ms, tc_peer_id peer, const uint8_t *frame, size_t len);
/* A client submits an encoded transaction. Otherwise the admission code (0 accepted, or the
 * ledger/mempool rule it broke; TC_ENOMEM when the node could not take it now); accepted
 * transactions are gossiped and voted on. */
int tc_node_submit_tx(tc_node *n, uint64_t now_ms, const uint8_t *tx, size_t len);
/* Time passed: timers that are due fire. Otherwise 0. */
int tc_node_tick(tc_node *n, uint64_t now_ms);
/* When the node wants tick() next (absolute local time). Never in the past of the last event. */
uint64_t tc_node_next_deadline(const tc_node *n);
/* Pops the next pending action into *out; false when there is none. */
bool tc_node_next_action(tc_node *n, tc_action *out);

/* Observers (read-only; for drivers, checkers, RPC). */
typedef struct {
    uint64_t height;
    tc_hash tip;
    uint32_t round;     /* current consensus round at height + 1 */
    uint32_t validator; /* our index in the current set, UINT32_MAX if none */
    uint32_t peers;     /* handshaken peers */
    uint32_t mempool_txs;
    uint64_t txs_finalized;
    uint64_t view_changes;
    uint64_t rate_drops;  /* frames over a peer's rate budget: dropped, never scored */
    uint64_t bans;        /* bans this node imposed */
    uint64_t quorum_lost; /* times a ban left it short of a quorum of validators */
    bool failed;          /* in its sticky failed state (failure says why) */
    bool fork;            /* a fork alarm was raised (failure is TC_NODE_FAIL_FORK) */
    tc_node_failure_kind failure;
    int failure_code;          /* the TC_E* code that made it fail (0 while healthy) */
    const char *failure_cause; /* what it was doing, static text; "" while healthy */
    uint64_t failure_height;   /* its chain height then */
    uint64_t failure_ms;       /* its local time then */
    uint32_t actions_cap;      /* the action ring's size: 64, doubled when one call queues more,
                                * at most 4,096 */
    uint64_t actions_dropped;  /* actions lost to a full ring or left undrained */
} tc_node_status;

void tc_node_status_get(const tc_node *n, tc_node_status *out);
/* The node's public key. */
void tc_node_pubkey(const tc_node *n, tc_pubkey *out);

/* Observers of a node's durable state, for drivers and checkers that read a node's store between
 * its calls (or after it stopped) without reaching into its record layout. */

/* The certificate of the node's tip as it stored it (PROTOCOL 12.8): 0, TC_ENOTFOUND before the
 * first commit, TC_ESTORE_CORRUPT when it does not decode, or the store's code. A crash between a
 * block and its certificate leaves the previous one: compare out->height with the tip. out must
 * be deinit'ed (tc_commit_deinit) on success. */
int tc_node_stored_tip_commit(tc_store *store, tc_commit *out);

/* Observers for the operator's RPC and metrics (net-real/rpc_methods.c). Read-only: they change
 * nothing the node decides on (the chain's validator-set cache and the peer table's ready list
 * may be refreshed, which only saves work later), so a node observed between its calls acts
 * exactly as one that is not. */

/* The node's chain, for reading blocks, supply, validator sets and the tip's time. The caller
 * must not apply, check or build blocks with it. Valid for the life of the node. */
tc_chain *tc_node_chain(tc_node *n);
/* The node's mempool, read-only. Valid for the life of the node; its items until the next call
 * into the node. */
const tc_mempool *tc_node_mempool(const tc_node *n);
/* The two certificates of the first fork this node found (PROTOCOL 14.5: two certified blocks at
 * one height): its own block's and the other's, borrowed until the node is freed. false when
 * it found no fork (or could not keep them: memory). */
bool tc_node_fork_certificates(const tc_node *n, const tc_commit **ours, const tc_commit **theirs);

/* Block consensus at height tip + 1, as bft sees it. */
typedef struct {
    uint64_t height;
    uint32_t round;
    const char *step;   /* "idle", "wait", "propose", "prevote", "precommit", "committed"; static */
    uint32_t proposer;  /* of (height, round) */
    uint32_t validator; /* our index, UINT32_MAX if none */
    bool locked;        /* locked_round and locked_value are meaningful */
    uint32_t locked_round;
    tc_hash locked_value;
    bool valid; /* valid_round and valid_value are meaningful */
    uint32_t valid_round;
    tc_hash valid_value;
    uint64_t view_changes; /* over the node's life */
    uint64_t commits;      /* over bft's life (since this start) */
    uint64_t equivocations;
    uint64_t votes_counted;
    uint32_t epoch; /* of height tip + 1 */
} tc_node_consensus;

void tc_node_consensus_get(const tc_node *n, tc_node_consensus *out);

/* One handshaken peer. */
typedef struct {
    tc_peer_id id;
    char addr[TC_NODE_ADDR_MAX];
    char listen_addr[TC_NODE_ADDR_MAX]; /* "" if it announced none */
    bool inbound;
    tc_pubkey pubkey;
    uint64_t best_height; /* from its HELLO */
    char user_agent[64];
    bool has_rtt;
    uint64_t rtt_ms, srtt_ms;
    uint32_t points;     /* misbehaviour points */
    uint64_t frames;     /* frames received */
    uint64_t rate_drops; /* frames over its rate budget, all categories */
} tc_node_peer;

/* Fills out with up to cap READY peers in id order; returns how many it wrote. */
uint32_t tc_node_peers_get(const tc_node *n, tc_node_peer *out, uint32_t cap);

/* Where a transaction stands in this node's instant finality (PROTOCOL 6). A confirmed one has
 * left both: the chain's transaction index answers for it. */
typedef enum {
    TC_NODE_TX_UNKNOWN = 0, /* neither pooled nor tracked by finality */
    TC_NODE_TX_PENDING = 1, /* pooled or tracked, short of a quorum of votes */
    TC_NODE_TX_FINAL = 2,   /* a quorum of the epoch's weight voted for it */
} tc_node_tx_state;

typedef struct {
    tc_node_tx_state state;
    bool in_mempool;
    uint64_t weight; /* of the distinct validators whose vote batches name it */
} tc_node_tx_finality;

void tc_node_tx_finality_get(const tc_node *n, const tc_hash *txid, tc_node_tx_finality *out);

/* A masternode as this node's heartbeats show it (PROTOCOL 15). Unknown: never heard, or
 * silent for 10 minutes, or not in the epoch's set. */
typedef struct {
    bool known;
    bool online;           /* heard within 3 heartbeat intervals */
    uint64_t last_seen_ms; /* node time of its last heartbeat accepted here */
    int64_t offset_ms;     /* its clock minus ours, from that heartbeat */
} tc_masternode_presence;

/* Fills out for the masternode with that voting key: 0, or TC_ENOTFOUND (out->known false). */
int tc_node_masternode_presence(const tc_node *n, const tc_pubkey *key,
                                tc_masternode_presence *out);

#endif
