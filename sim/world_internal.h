/* world_internal.h — the state of one simulated run, shared by the files that implement it and
 * by nothing else:
 *   world.c    building the cluster, the event loop, node calls and their actions, timers,
 *              connections, the network;
 *   faults.c   the scenario timeline: crashes, restarts, pauses, clock jumps, partitions,
 *              Byzantine turns, registrations, load changes;
 *   load.c     the simulated wallets and the table of every transaction they submitted;
 *   checker.c  the invariants of SIMULATOR.md (Checkers) after every event;
 *   expect.c   the expectations at the end, and the run's result;
 *   trace.c    the trace, its fingerprint and the --timeline account.
 *
 * Invariants:
 *   - endpoints are the scenario's (tc_scn_endpoint): node e of the run is endpoint e of the
 *     network, and peer id e on every other node's side of a connection;
 *   - a connection between a and b is one generation number conn[min][max] (0: none); a frame
 *     in flight carries the generation it was sent on and is dropped when the connection it
 *     rode on is gone, as TCP drops what was in flight on a reset connection;
 *   - node[e].node != NULL exactly while the node runs (between a start and a crash);
 *   - node[e].timer_at is the global time of the latest TIMER event queued for e with
 *     generation timer_gen, the earliest at which e's clock reads timer_local; older TIMER
 *     events carry older generations and are ignored; whatever changes e's clock sets timer_at
 *     to UINT64_MAX (the mapping is stale);
 *   - virtual time (now_ms) only grows; nodes see local time (clock_local) and never the
 *     global one.
 */
#ifndef TC_WORLD_INTERNAL_H
#define TC_WORLD_INTERNAL_H

#include <stdio.h>

#include "adversary.h"
#include "evq.h"
#include "genesis.h"
#include "hashmemo.h"
#include "netmodel.h"
#include "node.h"
#include "scenario.h"
#include "world.h"

/* Bounds (STYLE rule 4). */
/* Events in flight at once: W_EVQ_PER_NODE per node, at least W_EVQ_CAPACITY (1,024 nodes
 * under load overflowed a fixed 1 M during start-up, 256 at 200 tx/s overflowed 4,096 a node at
 * 1.16 s: the vote-batch relay keeps about N^2 deliveries in flight; the queue's arrays grow
 * with its high water, so what a run never reaches costs neither memory nor address space). */
#define W_EVQ_CAPACITY      (1u << 20)
#define W_EVQ_PER_NODE      16384u
#define W_HASH_MEMO_SLOTS   4096u      /* the shared memo of frame hashes (hashmemo.h) */
#define W_HASH_MEMO_BYTES   (8u << 20) /* its copies of signed bytes, at most */
#define W_HEIGHTS_MAX       (1u << 22) /* heights the agreement table can follow */
#define W_VIOLATIONS_KEPT   16         /* violations kept in full; the rest are counted */
#define W_TXS_MAX           (1u << 20) /* transactions the load may submit in one run */
#define W_CLIENT_COINS_MAX  4096       /* coins one wallet tracks (ready + pending) */
#define W_GENESIS_COINS_MAX 200000     /* genesis outputs created for the wallets */
#define W_CULPRITS_MAX      64
#define W_PEERS_MAX         TC_NET_ENDPOINTS_MAX
#define W_DRAIN_DEPTH_MAX   64    /* nested disconnect handling */
#define W_LOSE_WRITES_MS    10000 /* a lose-writes crash strikes within this much time */
#define W_EPOCH_CACHE       4
#define W_SCHEDULE_MAX      (1u << 20) /* proposer sequences the checker computes (weight W) */
#define W_TRACE_BUF_BYTES   16384      /* trace lines buffered before the fingerprint takes them */

/* The frame table (world.c): recent frames found again by their bytes. */
#define W_FRAME_TABLE_SLOTS 16384u
#define W_FRAME_TABLE_BYTES (16u << 20) /* bytes of the frames it keeps alive, at most */

/* A frame in flight: the payload of a DELIVER event (world.c). */
typedef struct w_frame w_frame;

/* Driver-specific event kinds (evq.h: from TC_EVQ_KIND_USER). */
enum {
    W_EV_ADV_TIMER = TC_EVQ_KIND_USER, /* node's adversary wants tc_adv_tick; arg: generation */
    W_EV_PROBE = TC_EVQ_KIND_USER + 1, /* liveness window; arg: 0 opens, 1 closes */
    W_EV_DIE = TC_EVQ_KIND_USER + 2,   /* a lose-writes crash strikes now at the latest */
};

typedef struct {
    char name[TC_SCN_NODE_NAME_MAX];
    tc_scn_node id;
    char addr[TC_NODE_ADDR_MAX];
    uint8_t identity_seed[TC_SEED_SIZE];
    tc_pubkey pub;
    bool byzantine;     /* Byzantine at any time of the run, or a twin: never "honest" */
    bool client_target; /* wallets may submit to it (honest, not a twin) */

    tc_store *store;
    char lmdb_dir[64]; /* "" for the in-memory store */
    tc_node *node;     /* NULL while down */
    uint32_t starts;
    bool paused;
    uint64_t resume_ms;
    bool dying; /* a lose-writes crash is armed: the next store write is the last */
    uint64_t writes_at_arm;

    int64_t offset_ms; /* initial offset plus every jump */
    int32_t drift_ppm;

    uint64_t timer_gen, timer_at; /* UINT64_MAX: no timer queued */
    uint64_t timer_local;         /* the local deadline timer_at was mapped from */
    tc_adv *adv;
    uint64_t adv_gen, adv_at;

    /* Observations. */
    uint64_t height;
    tc_hash tip;
    uint64_t view_changes;
    uint64_t clock_stops;      /* TC_NOTIFY_CLOCK entering the stop state */
    uint64_t state_syncs;      /* TC_NOTIFY_STATE_SYNC: caught up by snapshot */
    uint64_t snapshot_refused; /* TC_NOTIFY_SNAPSHOT_REFUSED: a peer's snapshot part refused */
    uint64_t finalized;
    uint64_t commits;
    bool failed_seen; /* its sticky failure was reported once */
    bool fork_seen;
    /* Its first sticky failure of the run (node.h), kept across restarts for the summary. */
    tc_node_status failure;
    uint64_t failure_sim_ms;
    /* The committed-block checker's progress on this node (checker.c): blocks up to
     * checked_height were re-verified; checked_hash and checked_time_ms are that block's. */
    uint64_t checked_height;
    tc_hash checked_hash;
    uint64_t checked_time_ms;
} w_node;

typedef struct {
    tc_hash hash;
    uint32_t first_node; /* endpoint that committed it first; UINT32_MAX: nobody yet */
    tc_hash root;        /* UTXO-set root after it, when known */
    bool has_root;
    uint32_t root_node;
    bool verified; /* the committed-block checker passed verified_hash at this height */
    tc_hash verified_hash;
} w_height;

/* ---- load (load.c) ---- */

typedef struct {
    tc_outpoint op;
    uint64_t amount;
    uint64_t created_ms; /* when the transaction making it was submitted */
    uint32_t key;        /* wallet key index */
    bool ready;          /* confirmed: spendable */
} w_coin;

typedef struct {
    uint32_t index;
    w_coin *coins;
    uint32_t coin_count;
    uint64_t next_us; /* next action, global microseconds */
    bool scheduled;
} w_client;

typedef struct {
    tc_hash txid;
    tc_outpoint input;
    uint64_t submit_ms;
    uint64_t final_ms; /* first honest TX_FINALIZED; UINT64_MAX: not yet */
    uint32_t node;     /* endpoint it was submitted to */
    int code;          /* admission code */
    bool used;
    bool contested; /* half of a double spend */
    bool orphaned;  /* its node crashed before it was final: excluded from liveness */
    bool registration;
} w_tx;

typedef struct {
    w_client *clients;
    uint32_t client_count;
    tc_keypair *keys; /* one per client, then the registrar's */
    tc_addr_hash *addrs;
    uint32_t key_count;
    w_coin *reg_coins; /* reserved for registrations */
    uint32_t reg_coin_count, reg_coin_next;
    uint32_t rate_per_s;
    tc_rng rng;
    w_tx *txs; /* open addressing by txid, tx_cap slots (a power of two) */
    uint32_t tx_cap, tx_count;
    uint64_t submitted, accepted, finalized, rejected, starved, double_spends;
    uint64_t registrations;
} w_load;

/* ---- checks (checker.c) ---- */

typedef struct {
    uint32_t epoch;
    bool used;
    uint32_t count;
    tc_pubkey *keys;
    uint32_t *weights;
    uint64_t weight_total;
    uint32_t *schedule; /* the proposer sequence S (PROTOCOL 12.2), W entries; NULL: not yet */
} w_epoch_set;

typedef struct {
    tc_outpoint op;
    tc_hash txid;
    bool used;
} w_spent;

typedef struct {
    bool expect_fork; /* the scenario says `expect fork`: disagreement is the point */
    w_height *heights;
    uint32_t height_cap;
    tc_world_violation kept[W_VIOLATIONS_KEPT];
    uint64_t violation_count;
    /* Forks, forensics, evidence. */
    bool fork_happened; /* honest nodes committed different blocks at one height */
    bool fork_detected; /* an honest node raised a fork alarm with two certificates */
    uint64_t fork_alarms;
    uint64_t evidence;
    tc_pubkey culprits[W_CULPRITS_MAX];
    uint32_t culprit_count;
    uint32_t culprit_epoch;            /* epoch of the first CULPRIT notify */
    tc_pubkey accused[W_CULPRITS_MAX]; /* named by EVIDENCE of honest nodes */
    uint32_t accused_count;
    /* Liveness windows, one per expectation (unused ones stay zero). */
    uint64_t *probe_heights; /* expect_count x count */
    uint8_t *probe_state;    /* 0 not yet, 1 open, 2 closed */
    bool *probe_ok;
    char (*probe_detail)[160];
    /* Outpoints spent by transactions final at an honest node: open addressing. */
    w_spent *spent;
    uint32_t spent_cap;
    w_epoch_set epochs[W_EPOCH_CACHE];
    uint32_t epoch_next;
    uint8_t *banned; /* banned[by * count + peer]: `by` notified PEER_BANNED for `peer` */
    /* `expect carried-reserved`: own vote batches of honest validators, checked against the
     * carry list of the previous epoch (load transactions only). */
    bool cr_on;
    uint64_t *cr_seq;  /* per endpoint: the highest own batch seq checked */
    uint32_t cr_epoch; /* epoch whose carry list cr_ops holds (of the epoch before it) */
    bool cr_loaded;
    tc_outpoint *cr_ops; /* the carried load transactions' inputs, parallel to cr_txids */
    tc_hash *cr_txids;
    uint32_t cr_count;
    uint64_t cr_breaches, cr_batches;
    char cr_first[96];
} w_checks;

struct tc_world {
    tc_scn scn; /* copy */
    tc_world_opts opts;
    uint64_t seed;
    uint8_t master[TC_SEED_SIZE];
    tc_genesis genesis;
    tc_hash genesis_hash;
    tc_sig_scheme scheme;
    uint64_t t0_ms; /* local time of every clock at global 0 (before offsets) */
    uint64_t end_ms;
    uint64_t liveness_from_ms; /* end of the last fault */

    uint32_t count; /* endpoints */
    w_node *nodes;
    const char **seeds; /* every node's address, for tc_node_config.seeds */
    uint32_t *conn;     /* count x count, symmetric, generations */
    uint32_t conn_gen;
    uint8_t *ready; /* ready[a * count + b]: a finished its handshake with b (PEER_READY) */
    uint32_t *peer_scratch;
    tc_verify_cache *cache;
    tc_lthash_cache *elements; /* UTXO-root elements, shared by every node like cache */
    tc_sim_memo *hashes;       /* tagged hashes of received frames, shared likewise */
    tc_input_memo *inputs;     /* checked transaction inputs, shared the same way */
    /* Recent frames by content (world.c, w_frame_get): each slot NULL or holding
     * a reference; frame_table_bytes is the sum of their lengths. */
    w_frame *frame_table[W_FRAME_TABLE_SLOTS];
    size_t frame_table_bytes;
    uint64_t frames_made, frames_shared; /* new frames; sends that found an equal one */
    tc_net *net;
    tc_evq *evq;
    uint64_t now_ms;
    uint64_t events;
    uint32_t depth; /* nested drains */
    /* Frames handed to nodes (tc_node_recv) and those refused as already seen
     * (TC_EPEER_DUPLICATE): what gossip costs and how much of it is waste (issue 13). */
    uint64_t frames_delivered, frames_bytes;
    uint64_t frames_duplicate, frames_duplicate_bytes;

    w_load load;
    w_checks checks;

    tc_hasher fp;
    uint64_t trace_lines;
    /* Lines not yet hashed into fp (nor written to opts.trace): the fingerprint takes them in
     * chunks (trace.c). Empty whenever tc_world_new or tc_world_run returns. */
    char trace_buf[W_TRACE_BUF_BYTES];
    size_t trace_len;
    char trace_ms_text[24]; /* "<trace_ms_at> ": the time field of the last line */
    size_t trace_ms_len;    /* 0: none yet */
    uint64_t trace_ms_at;
    uint64_t next_progress_ms;
    tc_world_expect *expects; /* filled by tc_world_result_get */
    bool harness_failed;      /* a bound of the harness was hit: the run is invalid */
    char harness_error[200];
};

/* world.c */
/* The frame table (world.c): a new reference to a frame holding bytes, the table's when it
 * keeps one with every byte equal; NULL when out of memory (the harness has failed). */
w_frame *w_frame_get(tc_world *w, const uint8_t *bytes, size_t len);
const uint8_t *w_frame_bytes(const w_frame *f, uint32_t *len_out);
void w_frame_put(w_frame *f); /* lets go of one reference */
uint64_t w_local(const tc_world *w, uint32_t e);
int w_store_open(tc_world *w, uint32_t e);
void w_node_start(tc_world *w, uint32_t e);
void w_node_crash(tc_world *w, uint32_t e);
void w_connect_now(tc_world *w, uint32_t from, uint32_t to);
void w_after_call(tc_world *w, uint32_t e);
void w_schedule_timer(tc_world *w, uint32_t e);
void w_schedule_adv(tc_world *w, uint32_t e);
void w_push(tc_world *w, const tc_evq_event *ev);
/* The event queue's bound for count nodes (W_EVQ_PER_NODE each, within the queue's limits). */
uint32_t w_evq_capacity(uint32_t count);
void w_harness_fail(tc_world *w, const char *fmt, ...);
int w_endpoint_of_addr(const tc_world *w, const char *addr);
uint32_t w_ready_peers_of(tc_world *w, uint32_t e, uint32_t *out);

/* faults.c */
void w_fault_apply(tc_world *w, const tc_scn_event *ev);
void w_fault_resume(tc_world *w, uint32_t e);
void w_fault_die(tc_world *w, uint32_t e);
int w_adv_make(tc_world *w, uint32_t e, uint32_t byz_kind, uint32_t rate_per_s);
uint64_t w_last_fault_end(const tc_scn *s);

/* load.c */
int w_load_init(tc_world *w, uint32_t *genesis_coins_out);
void w_load_genesis(tc_world *w, tc_genesis *g);
void w_load_start(tc_world *w);
void w_load_free(tc_world *w);
void w_load_set_rate(tc_world *w, uint32_t rate_per_s);
void w_load_client(tc_world *w, uint32_t client);
void w_load_register(tc_world *w, uint32_t e, uint32_t tier);
w_tx *w_load_find(tc_world *w, const tc_hash *txid);
void w_load_orphan(tc_world *w, uint32_t e);
uint32_t w_load_pick_node(tc_world *w, uint32_t avoid);

/* checker.c */
int w_checks_init(tc_world *w);
void w_checks_free(tc_world *w);
void w_check_notify(tc_world *w, uint32_t e, const tc_notify *n);
void w_check_send(tc_world *w, uint32_t e, const uint8_t *frame, size_t len);
void w_check_after_call(tc_world *w, uint32_t e, bool committed, bool reported_healthy);
void w_check_restart(tc_world *w, uint32_t e);
void w_check_probe(tc_world *w, uint32_t expect_index, bool closing);
void w_check_end(tc_world *w);
void w_violation(tc_world *w, const char *what, uint32_t node, uint32_t node2, const char *fmt,
                 ...);
const char *w_validator_name(tc_world *w, uint32_t reporter, uint64_t height, uint32_t index,
                             uint32_t *endpoint_out);

/* trace.c */
uint64_t w_trace(tc_world *w, uint32_t e, const char *fmt, ...);
uint64_t w_trace_recv(tc_world *w, uint32_t e, uint32_t from, const uint8_t *frame, uint32_t len,
                      uint64_t digest);
uint64_t w_trace_tick(tc_world *w, uint32_t e, uint64_t local_ms);
void w_trace_flush(tc_world *w);
uint64_t w_frame_digest(const uint8_t *frame, size_t len);
void w_timeline(tc_world *w, uint32_t e, const char *fmt, ...);

#endif
