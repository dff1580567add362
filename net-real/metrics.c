/* metrics.c — GET /metrics in the Prometheus text format 0.0.4 (docs/OPERATING.md, "Metrics"):
 * every family with its HELP and TYPE lines, names prefixed timecoin_, counters ending in _total,
 * units last (_ms, _bytes). Rendered on the loop thread from the node's observers, the live
 * driver's counters and what td_rpc_env_note counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "msg.h"
#include "rpc_methods.h"
#include "store_timed.h"

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP timecoin_%s %s\n# TYPE timecoin_%s %s\n", name, help, name, type);
}

static void one(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
    family(f, name, type, help);
    fprintf(f, "timecoin_%s %llu\n", name, (unsigned long long)v);
}

static void node_metrics(FILE *f, td_rpc_env *env)
{
    tc_node_status st;
    tc_node_status_get(env->node, &st);
    const tc_mempool *mp = tc_node_mempool(env->node);
    one(f, "height", "gauge", "Height of the committed tip.", st.height);
    one(f, "round", "gauge", "Consensus round at height + 1.", st.round);
    one(f, "validator", "gauge", "1 when this node is in the validator set.",
        st.validator != UINT32_MAX);
    one(f, "txs_finalized_total", "counter", "Transactions this node saw reach finality.",
        st.txs_finalized);
    one(f, "mempool_txs", "gauge", "Transactions in the mempool.", tc_mempool_count(mp));
    one(f, "mempool_bytes", "gauge", "Encoded bytes in the mempool.", tc_mempool_bytes(mp));
    one(f, "bans_total", "counter", "Bans this node imposed.", st.bans);
    one(f, "rate_limited_drops_total", "counter", "Frames over a peer's rate budget, dropped.",
        st.rate_drops);
    one(f, "quorum_lost_total", "counter", "Times a ban left the node short of a quorum.",
        st.quorum_lost);
    one(f, "failed", "gauge", "1 when the node is in its sticky failed state.", st.failed);
    one(f, "fork_alarm", "gauge", "1 when a fork alarm was raised.", st.fork);
    family(f, "view_changes_total", "counter", "View changes by cause (since start).");
    static const char *const causes[] = {"other", "timeout_propose", "timeout_prevote",
                                         "timeout_precommit", "round_skip"};
    for (int k = 0; k < 5; k++)
        fprintf(f, "timecoin_view_changes_total{cause=\"%s\"} %llu\n", causes[k],
                (unsigned long long)env->view_changes_by_cause[k]);
    one(f, "blocks_committed_total", "counter", "Blocks committed since start.",
        env->blocks_committed);
    one(f, "txs_rejected_total", "counter", "Transactions rejected since start.",
        env->txs_rejected);
    one(f, "evidence_total", "counter", "Evidence of misbehaviour seen since start.",
        env->evidence);
    one(f, "culprits_total", "counter", "Validators named by forensics since start.",
        env->culprits);
}

static void finality_histogram(FILE *f, const td_rpc_env *env)
{
    static const char *const le[] = {"5",   "10",   "20",   "50",   "100",   "200",
                                     "500", "1000", "2000", "5000", "10000", "+Inf"};
    _Static_assert(TC_ARRAY_LEN(le) == TC_ARRAY_LEN(env->finality_buckets), "one bound a bucket");
    family(f, "finality_latency_ms", "histogram",
           "Time from first seeing a transaction to its finality, in ms.");
    for (size_t k = 0; k < TC_ARRAY_LEN(le); k++)
        fprintf(f, "timecoin_finality_latency_ms_bucket{le=\"%s\"} %llu\n", le[k],
                (unsigned long long)env->finality_buckets[k]);
    fprintf(f, "timecoin_finality_latency_ms_sum %llu\ntimecoin_finality_latency_ms_count %llu\n",
            (unsigned long long)env->finality_sum_ms, (unsigned long long)env->finality_count);
}

/* Frames and bytes by message type and direction: every type of msg.h, zeros included, so each
 * series exists from the start (reserved numbers are no type: a frame of one does not decode). */
static void by_type(FILE *f, const td_live_stats *ls)
{
    _Static_assert(TC_MSG_TYPE_COUNT <= TD_LIVE_TYPES, "every message type is counted");
    const uint64_t *tables[2][2] = {{ls->frames_in_by_type, ls->frames_out_by_type},
                                    {ls->bytes_in_by_type, ls->bytes_out_by_type}};
    static const char *const names[2] = {"frames_by_type_total", "bytes_by_type_total"};
    static const char *const dirs[2] = {"in", "out"};
    for (int k = 0; k < 2; k++) {
        family(f, names[k], "counter",
               k == 0 ? "Whole frames by message type and direction."
                      : "Frame bytes (length prefix included) by message type and direction.");
        for (int d = 0; d < 2; d++)
            for (uint8_t t = 1; t < TC_MSG_TYPE_COUNT; t++)
                if (tc_msg_type_known(t))
                    fprintf(f, "timecoin_%s{type=\"%s\",direction=\"%s\"} %llu\n", names[k],
                            tc_msg_type_name(t), dirs[d], (unsigned long long)tables[k][d][t]);
    }
}

static void live_metrics(FILE *f, td_rpc_env *env, const td_live_stats *ls, uint32_t peers_ready)
{
    family(f, "peers", "gauge", "Peer connections by state.");
    fprintf(f, "timecoin_peers{state=\"connected\"} %u\ntimecoin_peers{state=\"ready\"} %u\n",
            ls->peers, peers_ready);
    family(f, "frames_total", "counter", "Whole frames by direction.");
    fprintf(f, "timecoin_frames_total{direction=\"in\"} %llu\n", (unsigned long long)ls->frames_in);
    fprintf(f, "timecoin_frames_total{direction=\"out\"} %llu\n",
            (unsigned long long)ls->frames_out);
    family(f, "bytes_total", "counter", "Bytes on peer connections by direction.");
    fprintf(f, "timecoin_bytes_total{direction=\"in\"} %llu\n", (unsigned long long)ls->bytes_in);
    fprintf(f, "timecoin_bytes_total{direction=\"out\"} %llu\n", (unsigned long long)ls->bytes_out);
    by_type(f, ls);
    one(f, "connections_accepted_total", "counter", "Inbound connections accepted.", ls->accepted);
    one(f, "connections_refused_total", "counter", "Inbound connections refused (limits).",
        ls->refused_inbound);
    one(f, "ban_refusals_total", "counter", "Inbound connections refused: banned host.",
        ls->ban_refusals);
    one(f, "dials_total", "counter", "Outbound dials.", ls->dials);
    one(f, "dial_failures_total", "counter", "Outbound dials that failed.", ls->dial_failures);
    one(f, "oversize_closes_total", "counter", "Connections closed for an oversize frame.",
        ls->oversize_closes);
    one(f, "output_drops_total", "counter", "Peers dropped for not reading their output.",
        ls->output_drops);
    one(f, "handshake_timeouts_total", "counter", "Peers closed for a slow handshake.",
        ls->handshake_timeouts);
    one(f, "verify_pool_frames_total", "counter",
        "Frames whose signatures the verify pool checked.", ls->pool_jobs);
    one(f, "verify_pool_signatures_total", "counter", "Signatures the verify pool checked.",
        ls->pool_sigs);
    one(f, "verify_pool_queued", "gauge",
        "Frames waiting for the verify pool or behind a checked one (all peers).", ls->pool_queued);
    one(f, "uptime_seconds", "gauge", "Seconds since timed started.",
        (td_now_ms() - env->start_ms) / 1000);
}

/* The LMDB file's size (its high-water mark: LMDB reuses freed pages, never shrinks) and the
 * map it may grow to. */
static void store_metrics(FILE *f, const td_rpc_env *env)
{
    char path[TD_PATH_MAX + 16];
    struct stat st;
    if (env->data_dir == NULL)
        return;
    snprintf(path, sizeof(path), "%s/data.mdb", env->data_dir);
    one(f, "store_file_bytes", "gauge", "Size of the store's data file.",
        stat(path, &st) == 0 ? (uint64_t)st.st_size : 0);
    one(f, "store_map_bytes", "gauge", "The store's map size (store.map_size_mib).",
        env->map_size_mib << 20);
    if (!td_store_is_timed(env->store))
        return;
    td_store_timing t;
    td_store_timing_get(env->store, &t);
    family(f, "store_commit_latency_us", "histogram",
           "Time of each write transaction's commit (LMDB, synced to disk), in microseconds.");
    for (int k = 0; k < TD_COMMIT_BUCKETS; k++) {
        char le[24];
        if (k < TD_COMMIT_BUCKETS - 1)
            snprintf(le, sizeof(le), "%llu", (unsigned long long)td_commit_bounds_us[k]);
        else
            snprintf(le, sizeof(le), "+Inf");
        fprintf(f, "timecoin_store_commit_latency_us_bucket{le=\"%s\"} %llu\n", le,
                (unsigned long long)t.buckets[k]);
    }
    fprintf(
        f,
        "timecoin_store_commit_latency_us_sum %llu\ntimecoin_store_commit_latency_us_count %llu\n",
        (unsigned long long)t.sum_us, (unsigned long long)t.commits);
    one(f, "store_commit_failures_total", "counter", "Write commits the store refused.",
        t.failures);
}

char *td_metrics_render(td_rpc_env *env, uint32_t inflight, uint64_t rpc_requests,
                        uint64_t rpc_refused)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    td_live_stats ls;
    td_live_stats_get(env->live, &ls);
    tc_node_status st;
    tc_node_status_get(env->node, &st);
    node_metrics(f, env);
    finality_histogram(f, env);
    live_metrics(f, env, &ls, st.peers);
    store_metrics(f, env);
    one(f, "rpc_inflight", "gauge", "RPC and metrics requests in flight.", inflight);
    one(f, "rpc_requests_total", "counter", "Requests handed to the node.", rpc_requests);
    one(f, "rpc_refused_total", "counter", "Requests refused: over rpc.requests_max.", rpc_refused);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    return buf;
}
