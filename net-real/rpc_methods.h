/* rpc_methods.h — the JSON-RPC methods and the metrics page, run on the loop thread (rpc.h).
 *
 * A method takes its positional parameters (a JSON array; rpc.c turns named ones into it) and
 * returns its result, or NULL with a Bitcoin-style error code and message. waittxfinality may
 * instead ask to wait (TD_RPC_WAIT): rpc.c keeps the request until the transaction is final or
 * the deadline passes, and then calls td_rpc_tx_state for the answer.
 */
#ifndef TD_RPC_METHODS_H
#define TD_RPC_METHODS_H

#include <jansson.h>

#include "live.h"
#include "node.h"

/* Error codes (bitcoind's where one exists: src/rpc/protocol.h). */
#define TD_RPC_PARSE_ERROR      (-32700)
#define TD_RPC_INVALID_REQUEST  (-32600)
#define TD_RPC_METHOD_NOT_FOUND (-32601)
#define TD_RPC_INVALID_PARAMS   (-32602)
#define TD_RPC_INTERNAL_ERROR   (-32603)
#define TD_RPC_MISC_ERROR       (-1)
#define TD_RPC_TYPE_ERROR       (-3)
#define TD_RPC_INVALID_ADDRESS  (-5) /* RPC_INVALID_ADDRESS_OR_KEY: not found, bad address */
#define TD_RPC_INVALID_PARAM    (-8)
#define TD_RPC_DESERIALIZATION  (-22)
#define TD_RPC_VERIFY_REJECTED  (-26)
#define TD_RPC_ALREADY_IN_CHAIN (-27)
#define TD_RPC_IN_WARMUP        (-28) /* here: shutting down */
#define TD_RPC_UNBAN_FAILED     (-30) /* RPC_CLIENT_INVALID_IP_OR_SUBNET: setban remove of no ban */
#define TD_RPC_OVERLOADED       (-32000)
#define TD_RPC_NODE_FAILED      (-32001)
#define TD_RPC_WAIT             1 /* not an error: waittxfinality waits */

#define TD_RPC_WAIT_DEFAULT_MS 30000
#define TD_RPC_WAIT_MAX_MS     60000

typedef struct {
    tc_node *node;
    tc_store *store;
    td_live *live;
    const tc_genesis *genesis;
    uint64_t start_ms;
    const char *data_dir;  /* for the store's size; NULL: not reported */
    uint64_t map_size_mib; /* store.map_size_mib */
    bool stop_requested;   /* set by `stop`; rpc.c calls the owner's hook */
    /* Counted from the node's notifications (td_rpc_on_notify) for /metrics. */
    uint64_t view_changes_by_cause[5];
    uint64_t blocks_committed, txs_finalized, txs_rejected, forks, culprits, evidence;
    uint64_t finality_buckets[12]; /* cumulative counts by TD_FINALITY_BUCKETS_MS */
    uint64_t finality_count, finality_sum_ms;
    /* The fork alarm as it was announced, for getforkinfo. */
    bool fork_seen;
    uint64_t fork_height;
    tc_hash fork_ours, fork_theirs;
    uint32_t culprit_list[16];
    uint32_t culprit_count;
    /* Evidence of misbehaviour as notified (the first 64 since start), for getforkinfo. */
    struct {
        uint32_t validator, round;
        uint64_t height;
        tc_hash hash;
    } evidence_list[64];
    uint32_t evidence_count;
} td_rpc_env;

typedef struct {
    int code;
    char message[256];
} td_rpc_error;

/* A waittxfinality request that waits: its txid and deadline. */
typedef struct {
    tc_hash txid;
    uint64_t deadline_ms;
} td_rpc_wait;

/* Runs method with params (an array, borrowed). The result (a new reference), or NULL with *err
 * set; err->code == TD_RPC_WAIT: wait as *wait says. */
json_t *td_rpc_call(td_rpc_env *env, const char *method, json_t *params, td_rpc_error *err,
                    td_rpc_wait *wait);
/* The names of a method's parameters in order (for named parameters), NULL-terminated; NULL
 * when the method does not exist. */
const char *const *td_rpc_param_names(const char *method);
/* gettxfinality's answer for txid, and whether it is final (or confirmed). */
json_t *td_rpc_tx_state(td_rpc_env *env, const tc_hash *txid, bool *final_out);
/* Counts a notification for /metrics and getforkinfo. */
void td_rpc_env_note(td_rpc_env *env, const tc_notify *note);
/* The Prometheus text page (metrics.c): a heap string the caller frees, NULL on allocation
 * failure. inflight: requests in flight now. */
char *td_metrics_render(td_rpc_env *env, uint32_t inflight, uint64_t rpc_requests,
                        uint64_t rpc_refused);

#endif
