/* timed.c — the live node daemon: `timed --config config.toml` (docs/OPERATING.md).
 *
 * Reads the config (exit 2 on any error, with FILE:LINE:COLUMN), the genesis and the masternode
 * key, takes the data folder's lock (a second timed on one folder is refused), opens the LMDB
 * store there, creates the node and runs the live driver (live.h) until SIGINT or SIGTERM (exit
 * 0) or the node's sticky failure (exit 1: the cause is logged and written to DATA_DIR/FAILED,
 * and a start refuses to run while that file exists, so an operator looks before it runs again).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "block.h"
#include "chain.h"
#include "config.h"
#include "live.h"
#include "log.h"
#include "rpc.h"
#include "store_timed.h"

#define EXIT_FAILED     1
#define EXIT_USAGE      2
#define STATUS_EVERY_MS 5000
#define STOP_GRACE_MS   4000

static const char help_text[] =
    "NAME\n"
    "    timed - the TimeCoin live node\n"
    "\n"
    "SYNOPSIS\n"
    "    timed --config FILE [--check-config | --check-store]\n"
    "    timed --help | --version\n"
    "\n"
    "DESCRIPTION\n"
    "    timed runs one TimeCoin node over TCP: it keeps the chain in an LMDB store in its data\n"
    "    folder, talks to the peers it is given and those it learns, and, with a masternode key,\n"
    "    votes as a validator. It logs one line per event on standard error (or log.file).\n"
    "\n"
    "OPTIONS\n"
    "    --config FILE   the configuration (TOML 1.0). Relative paths inside it are taken from\n"
    "                    the folder of FILE.\n"
    "    --check-config  read and check FILE, print the resulting settings as one JSON line on\n"
    "                    standard output, and exit: 0 when it is good, 2 when it is not.\n"
    "    --check-store   take the data folder's lock, read every block of the store back (each\n"
    "                    at its height, on its parent, the last one the tip), run the UTXO\n"
    "                    set's full integrity check, print one JSON line and exit: 0 when the\n"
    "                    store is whole, 1 when it is not.\n"
    "    --help          print this text and exit 0.\n"
    "    --version       print the version and exit 0.\n"
    "\n"
    "CONFIGURATION (docs/OPERATING.md describes every key)\n"
    "    network = \"testnet\"            testnet or mainnet; must be the genesis's\n"
    "    data_dir = \"DIR\"                required: store, lock, FAILED marker\n"
    "    genesis = \"FILE\"                required: written by `time-cli genesis`\n"
    "    [p2p] listen = \"IP:PORT\"        default none (the node only dials)\n"
    "          peers = [\"IP:PORT\", ...]  dialled at start and redialled with backoff\n"
    "          max_inbound = 64, max_outbound = 16\n"
    "    [rpc] listen = \"127.0.0.1:24101\", user, password   (checked; served by a later "
    "version)\n"
    "    [masternode] key_file = \"FILE\"  a keys/validator-N.json; none: a full node\n"
    "    [log] level = \"info\"            debug, info, warn, error\n"
    "          format = \"text\"           text (key=value) or json (one object per line)\n"
    "          file = \"FILE\"             append there instead of standard error\n"
    "    [metrics] listen = \"IP:PORT\"    (checked; served by a later version)\n"
    "    [store] map_size_mib = 1024      LMDB map size, 16..1048576\n"
    "    [verify] pool = true             signature checks on worker threads\n"
    "    [limits] frame_size_max = 4194304, output_buffer_max = 16777216,\n"
    "             handshake_timeout_ms = 10000, pending_per_host = 8, reconnect_min_ms = 500,\n"
    "             reconnect_max_ms = 30000\n"
    "    An unknown key, a value of the wrong type or out of range stops timed with\n"
    "    FILE:LINE:COLUMN: message and exit status 2.\n"
    "\n"
    "SIGNALS\n"
    "    SIGINT, SIGTERM  stop accepting, close every peer, close the store, exit 0 within 5 s.\n"
    "    SIGHUP           reopen log.file (after a rotation); logged (log_reopened).\n"
    "\n"
    "EXIT STATUS\n"
    "    0  clean shutdown.\n"
    "    1  the node failed: a fork alarm, a corrupt or failing store, memory; the cause is\n"
    "       logged and written to DATA_DIR/FAILED, and timed refuses to start while it exists.\n"
    "       Also: the store cannot be opened.\n"
    "    2  bad usage, a bad config, genesis or key file, or the data folder is in use by\n"
    "       another timed.\n"
    "\n"
    "FILES\n"
    "    DATA_DIR/data.mdb, lock.mdb   the LMDB store\n"
    "    DATA_DIR/timed.lock           held while timed runs (it holds the pid)\n"
    "    DATA_DIR/FAILED               the cause of a failure, for the operator\n"
    "\n"
    "EXAMPLES\n"
    "    time-cli genesis --out net --validators 4\n"
    "    timed --config node0.toml --check-config\n"
    "    timed --config node0.toml 2>>node0.log\n"
    "\n"
    "SEE ALSO\n"
    "    time-cli(1), docs/OPERATING.md, net-real/config.sample.toml\n";

typedef struct {
    td_config cfg;
    tc_genesis genesis;
    uint8_t identity[TC_SEED_SIZE];
    bool masternode;
    int lock_fd;
    tc_store *store;
    tc_verify_cache *cache;
    tc_lthash_cache *elements;
    tc_node *node;
    uv_loop_t loop;
    td_live *live;
    td_rpc *rpc; /* NULL until started */
    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t status, grace;
    bool stopping;
    uint64_t stop_ms;
} daemon_state;

static char *slurp(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *b = cap <= ((size_t)256 << 20) ? realloc(buf, cap) : NULL;
            if (b == NULL) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = b;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[len] = 0;
    *len_out = len;
    return buf;
}

static int load_genesis(daemon_state *d)
{
    size_t len = 0;
    char *text = slurp(d->cfg.genesis, &len), err[512];
    if (text == NULL) {
        fprintf(stderr, "timed: %s: %s\n", d->cfg.genesis, strerror(errno));
        return EXIT_USAGE;
    }
    int rc = tc_genesis_parse(text, len, &d->genesis, err, sizeof(err));
    free(text);
    if (rc != 0) {
        fprintf(stderr, "timed: %s:%s\n", d->cfg.genesis, err);
        return EXIT_USAGE;
    }
    tc_network want;
    if (tc_profile_network_parse(d->cfg.network, &want) != 0 || want != d->genesis.network) {
        fprintf(stderr, "timed: %s: the genesis is not of network \"%s\" (config key network)\n",
                d->cfg.genesis, d->cfg.network);
        return EXIT_USAGE;
    }
    return 0;
}

/* The key file `time-cli genesis` writes: {"kind", "index", "seed": HEX, "public_key", ...}. */
static int load_key(daemon_state *d)
{
    if (d->cfg.key_file[0] == 0) {
        randombytes_buf(d->identity, sizeof(d->identity)); /* a full node: any key will do */
        return 0;
    }
    json_error_t jerr;
    json_t *doc = json_load_file(d->cfg.key_file, 0, &jerr);
    const char *hex = doc ? json_string_value(json_object_get(doc, "seed")) : NULL;
    size_t bin_len = 0;
    bool ok =
        hex != NULL && strlen(hex) == 2 * TC_SEED_SIZE &&
        sodium_hex2bin(d->identity, TC_SEED_SIZE, hex, strlen(hex), NULL, &bin_len, NULL) == 0 &&
        bin_len == TC_SEED_SIZE;
    if (!ok)
        fprintf(stderr, "timed: %s:%d:%d: %s\n", d->cfg.key_file, doc ? 1 : jerr.line,
                doc ? 1 : jerr.column,
                doc ? "expected a \"seed\" of 64 hex digits (a key file of time-cli genesis)"
                    : jerr.text);
    json_decref(doc);
    if (!ok)
        return EXIT_USAGE;
    tc_keypair kp;
    tc_keypair_from_seed(&kp, d->identity);
    for (uint32_t k = 0; k < d->genesis.mn_count; k++)
        d->masternode |= memcmp(d->genesis.mns[k].key.b, kp.pub.b, TC_PUBKEY_SIZE) == 0;
    if (!d->masternode)
        td_log(TD_LOG_WARN, "key_not_in_genesis", "key_file", d->cfg.key_file, NULL);
    return 0;
}

/* mkdir -p, then the lock, then the FAILED marker (which --check-store reads past). */
static int prepare_data_dir(daemon_state *d, bool ignore_failed)
{
    char path[TD_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s", d->cfg.data_dir);
    for (char *s = path + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        (void)mkdir(path, 0700);
        *s = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        td_log(TD_LOG_ERROR, "data_dir", "path", path, "error", strerror(errno), NULL);
        return EXIT_USAGE;
    }
    snprintf(path, sizeof(path), "%s/timed.lock", d->cfg.data_dir);
    d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (d->lock_fd < 0 || flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "?";
        ssize_t n = d->lock_fd >= 0 ? pread(d->lock_fd, pid, sizeof(pid) - 1, 0) : -1;
        if (n > 0)
            pid[n] = 0;
        pid[strcspn(pid, "\n")] = 0;
        td_log(TD_LOG_ERROR, "data_dir_locked", "path", d->cfg.data_dir, "holder_pid", pid, "error",
               "another timed runs on this data folder", NULL);
        return EXIT_USAGE;
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(d->lock_fd, 0) != 0 || pwrite(d->lock_fd, pid, (size_t)n, 0) != n)
        td_log(TD_LOG_WARN, "lock_pid", "path", path, "error", strerror(errno), NULL);
    snprintf(path, sizeof(path), "%s/FAILED", d->cfg.data_dir);
    size_t len = 0;
    char *cause = slurp(path, &len);
    if (cause != NULL && ignore_failed) {
        free(cause);
        cause = NULL;
    }
    if (cause != NULL) {
        cause[strcspn(cause, "\n")] = 0;
        td_log(TD_LOG_ERROR, "refusing_to_start", "marker", path, "cause", cause, "action",
               "look at the cause, repair, then remove the marker", NULL);
        free(cause);
        return EXIT_FAILED;
    }
    return 0;
}

static void write_failed_marker(daemon_state *d)
{
    tc_node_status st;
    tc_node_status_get(d->node, &st);
    char path[TD_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/FAILED", d->cfg.data_dir);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fprintf(f, "failure=%s code=%s height=%llu cause=\"%s\"\n",
                tc_node_failure_name(st.failure), tc_strerror(st.failure_code),
                (unsigned long long)st.failure_height, st.failure_cause);
        fclose(f);
    }
}

static int open_node(daemon_state *d)
{
    tc_store *lmdb = NULL;
    int rc = tc_store_lmdb_open(d->cfg.data_dir, (size_t)d->cfg.map_size_mib << 20, &lmdb);
    if (rc != 0) {
        td_log(TD_LOG_ERROR, "store_open", "path", d->cfg.data_dir, "error", tc_strerror(rc), NULL);
        return EXIT_FAILED;
    }
    /* The node's store times its commits for /metrics (store_timed.h). */
    if (td_store_timed_wrap(lmdb, &d->store) != 0) {
        tc_store_close(lmdb);
        return EXIT_FAILED;
    }
    uint8_t cache_key[TC_SHORTHASH_KEY_SIZE];
    randombytes_buf(cache_key, sizeof(cache_key));
    d->cache = tc_verify_cache_new(1u << 16, cache_key);
    d->elements = tc_lthash_cache_new(4096);
    if (d->cache == NULL || d->elements == NULL)
        return EXIT_FAILED;
    char host[16];
    uint16_t port = 0;
    if (d->cfg.p2p_listen[0] != 0)
        (void)td_addr_split(d->cfg.p2p_listen, host, &port);
    const char *seeds[TD_PEERS_MAX];
    for (uint32_t k = 0; k < d->cfg.peer_count; k++)
        seeds[k] = d->cfg.peers[k];
    tc_node_config nc = {.genesis = &d->genesis,
                         .scheme = TC_SIG_ED25519,
                         .listen_port = port,
                         .user_agent = "timed/0.1",
                         .seed_count = d->cfg.peer_count,
                         .seeds = seeds,
                         .elements = d->elements};
    memcpy(nc.identity_seed, d->identity, TC_SEED_SIZE);
    /* A fresh generator at every start: a restarted node repeating its HELLO nonces would be
     * refused as a replay (node.h). */
    randombytes_buf(nc.rng_seed, sizeof(nc.rng_seed));
    rc = tc_node_new(&nc, d->store, d->cache, td_now_ms(), &d->node);
    if (rc != 0) {
        td_log(TD_LOG_ERROR, "node_start", "error", tc_strerror(rc), NULL);
        return rc == TC_EINVAL || rc == TC_EGENESIS ? EXIT_USAGE : EXIT_FAILED;
    }
    return 0;
}

/* Logged once the node runs and its signal handlers are in place: from this line on, SIGHUP
 * reopens the log and SIGINT/SIGTERM stop the node cleanly (an operator's script, or a test,
 * may signal as soon as it reads it). */
static void log_started(daemon_state *d)
{
    tc_node_status st;
    tc_node_status_get(d->node, &st);
    char tip[2 * TC_HASH_SIZE + 1], pub[2 * TC_PUBKEY_SIZE + 1];
    tc_pubkey pk;
    tc_node_pubkey(d->node, &pk);
    tc_hex(tip, st.tip.b, TC_HASH_SIZE);
    tc_hex(pub, pk.b, TC_PUBKEY_SIZE);
    td_logf(TD_LOG_INFO, "started", "height=%llu tip=%s key=%s validator=%d pid=%ld",
            (unsigned long long)st.height, tip, pub,
            st.validator == UINT32_MAX ? -1 : (int)st.validator, (long)getpid());
}

/* --check-store: every block from 1 to the tip reads back, each at its height and on its parent,
 * the tip is the last one's hash, and the UTXO set passes the chain's full integrity check
 * (its total and root recomputed from a scan). Prints one JSON line; 0 good, 1 not. */
static int check_store(daemon_state *d)
{
    int rc = tc_store_lmdb_open(d->cfg.data_dir, (size_t)d->cfg.map_size_mib << 20, &d->store);
    tc_verifier v = {.scheme = TC_SIG_ED25519};
    tc_chain *chain = NULL;
    if (rc == 0)
        rc = tc_chain_open(d->store, &d->genesis, &v, &chain);
    uint64_t height = chain ? tc_chain_height(chain) : 0, h = 1;
    tc_hash prev = {0}, tip = {0};
    const char *what = rc != 0 ? "open" : "";
    for (; rc == 0 && h <= height; h++) {
        tc_block b;
        rc = tc_chain_block_at(chain, h, &b);
        if (rc == 0 && (b.header.height != h ||
                        (h > 1 && memcmp(b.header.parent.b, prev.b, TC_HASH_SIZE) != 0)))
            rc = TC_ESTORE_CORRUPT;
        if (rc == 0)
            tc_block_hash(&b.header, &prev);
        tc_block_deinit(&b);
        what = rc != 0 ? "block" : what;
    }
    if (rc == 0 && chain != NULL) {
        tc_chain_tip(chain, &tip);
        if (height > 0 && memcmp(tip.b, prev.b, TC_HASH_SIZE) != 0) {
            rc = TC_ESTORE_CORRUPT;
            what = "tip";
        }
    }
    if (rc == 0 && (rc = tc_chain_verify_integrity(chain)) != 0)
        what = "utxo";
    char hex[2 * TC_HASH_SIZE + 1];
    tc_hex(hex, tip.b, TC_HASH_SIZE);
    printf("{\"height\": %llu, \"tip\": \"%s\", \"ok\": %s, \"failed\": \"%s\", "
           "\"at\": %llu, \"error\": \"%s\"}\n",
           (unsigned long long)height, hex, rc == 0 ? "true" : "false", what,
           (unsigned long long)(rc == 0 ? 0 : h - 1), rc == 0 ? "" : tc_strerror(rc));
    tc_chain_free(chain);
    return rc == 0 ? 0 : EXIT_FAILED;
}

static void close_cb_noop(uv_handle_t *h)
{
    (void)h;
}

static void on_grace(uv_timer_t *t)
{
    daemon_state *d = t->data;
    td_log(TD_LOG_WARN, "shutdown_forced", "after_ms", "4000", NULL);
    uv_stop(&d->loop);
}

/* Stops everything; the loop ends once every close completed (or the grace timer fires). */
static void begin_stop(daemon_state *d, const char *why)
{
    if (d->stopping)
        return;
    d->stopping = true;
    d->stop_ms = td_now_ms();
    td_log(TD_LOG_INFO, "shutdown", "reason", why, NULL);
    td_rpc_stop(d->rpc);
    td_live_stop(d->live);
    uv_close((uv_handle_t *)&d->sigint, close_cb_noop);
    uv_close((uv_handle_t *)&d->sigterm, close_cb_noop);
    uv_close((uv_handle_t *)&d->sighup, close_cb_noop);
    uv_close((uv_handle_t *)&d->status, close_cb_noop);
    uv_timer_start(&d->grace, on_grace, STOP_GRACE_MS, 0);
    uv_unref((uv_handle_t *)&d->grace); /* the grace timer alone does not keep the loop alive */
}

static void on_signal(uv_signal_t *s, int signum)
{
    daemon_state *d = s->data;
    if (signum == SIGHUP) {
        /* logrotate's pattern: the file was renamed; open the path again. */
        int rc = td_log_open(d->cfg.log_file);
        td_log(rc == 0 ? TD_LOG_INFO : TD_LOG_ERROR, "log_reopened", "file",
               d->cfg.log_file[0] ? d->cfg.log_file : "stderr", "error",
               rc == 0 ? "" : strerror(errno), NULL);
        return;
    }
    begin_stop(d, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void on_status(uv_timer_t *t)
{
    daemon_state *d = t->data;
    tc_node_status st;
    td_live_stats ls;
    tc_node_status_get(d->node, &st);
    td_live_stats_get(d->live, &ls);
    td_logf(TD_LOG_INFO, "status",
            "height=%llu round=%u peers=%u connections=%u mempool=%u txs_finalized=%llu "
            "view_changes=%llu bans=%llu rate_drops=%llu frames_in=%llu frames_out=%llu",
            (unsigned long long)st.height, st.round, st.peers, ls.peers, st.mempool_txs,
            (unsigned long long)st.txs_finalized, (unsigned long long)st.view_changes,
            (unsigned long long)st.bans, (unsigned long long)st.rate_drops,
            (unsigned long long)ls.frames_in, (unsigned long long)ls.frames_out);
}

static void on_notify(void *ctx, const tc_notify *note)
{
    daemon_state *d = ctx;
    if (d->rpc != NULL)
        td_rpc_on_notify(d->rpc, note);
}

static void on_rpc_stop(void *ctx)
{
    begin_stop(ctx, "rpc_stop");
}

/* The RPC server (rpc.h); a listen address in use or an unwritable cookie stops timed (2). */
static int start_rpc(daemon_state *d)
{
    td_rpc_opts ro = {.config = &d->cfg,
                      .node = d->node,
                      .store = d->store,
                      .live = d->live,
                      .genesis = &d->genesis,
                      .on_stop = on_rpc_stop,
                      .ctx = d};
    char err[512];
    if (td_rpc_start(&d->loop, &ro, &d->rpc, err, sizeof(err)) == 0)
        return 0;
    td_log(TD_LOG_ERROR, "rpc_start", "error", err, NULL);
    return -1;
}

static int run(daemon_state *d)
{
    uv_loop_init(&d->loop);
    td_live_opts lo = {.config = &d->cfg,
                       .on_notify = on_notify,
                       .ctx = d,
                       .verify_cache = d->cfg.verify_pool ? d->cache : NULL,
                       .genesis = &d->genesis};
    int rc = td_live_start(&d->loop, d->node, &lo, &d->live);
    if (rc != 0) {
        uv_run(&d->loop, UV_RUN_DEFAULT); /* the driver's closes */
        td_live_free(d->live);
        uv_loop_close(&d->loop);
        return EXIT_USAGE;
    }
    uv_signal_t *sigs[] = {&d->sigint, &d->sigterm, &d->sighup};
    int nums[] = {SIGINT, SIGTERM, SIGHUP};
    for (int k = 0; k < 3; k++) {
        uv_signal_init(&d->loop, sigs[k]);
        sigs[k]->data = d;
        uv_signal_start(sigs[k], on_signal, nums[k]);
    }
    log_started(d);
    uv_timer_init(&d->loop, &d->status);
    uv_timer_init(&d->loop, &d->grace);
    d->status.data = d->grace.data = d;
    uv_timer_start(&d->status, on_status, STATUS_EVERY_MS, STATUS_EVERY_MS);
    bool rpc_failed = start_rpc(d) != 0;
    if (rpc_failed)
        begin_stop(d, "rpc_start_failed");
    uv_run(&d->loop, UV_RUN_DEFAULT);
    bool failed = td_live_failed(d->live);
    td_live_stats ls;
    tc_verify_cache_stats cs;
    td_live_stats_get(d->live, &ls);
    tc_verify_cache_stats_get(d->cache, &cs);
    td_logf(TD_LOG_INFO, "verify_stats",
            "pool=%d pool_frames=%llu pool_sigs=%llu cache_hits=%llu cache_misses=%llu",
            d->cfg.verify_pool, (unsigned long long)ls.pool_jobs, (unsigned long long)ls.pool_sigs,
            (unsigned long long)cs.hits, (unsigned long long)cs.misses);
    if (failed) {
        write_failed_marker(d);
        begin_stop(d, "node_failed");
    }
    begin_stop(d, "loop_ended");
    uv_run(&d->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&d->grace, close_cb_noop);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    td_live_free(d->live);
    td_rpc_free(d->rpc);
    if (uv_loop_close(&d->loop) != 0)
        td_log(TD_LOG_WARN, "loop_close", "error", "handles still open", NULL);
    return failed ? EXIT_FAILED : rpc_failed ? EXIT_USAGE : 0;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    bool check_only = false, check_store_only = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help_text, stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            puts("timed 0.1");
            return 0;
        } else if (strcmp(argv[i], "--check-config") == 0) {
            check_only = true;
        } else if (strcmp(argv[i], "--check-store") == 0) {
            check_store_only = true;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else {
            fprintf(stderr,
                    "timed: unknown or incomplete option: %s\n"
                    "usage: timed --config FILE [--check-config] (timed --help)\n",
                    argv[i]);
            return EXIT_USAGE;
        }
    }
    if (config_path == NULL) {
        fprintf(stderr, "timed: --config FILE is required\n"
                        "usage: timed --config FILE [--check-config] (timed --help)\n");
        return EXIT_USAGE;
    }
    /* A write to a peer that reset its connection must fail with EPIPE, not kill the node; a
     * SIGHUP that comes before the loop handles it (log rotation racing the start) must not
     * kill it either. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    static daemon_state d; /* large (paths, peers): static rather than on the stack */
    d.lock_fd = -1;
    char err[1024];
    if (td_config_load(config_path, &d.cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    }
    td_log_setup(d.cfg.log_level, d.cfg.log_format);
    if (!check_only && td_log_open(d.cfg.log_file) != 0) {
        fprintf(stderr, "timed: log.file %s: %s\n", d.cfg.log_file, strerror(errno));
        return EXIT_USAGE;
    }
    if (tc_crypto_init() != 0) {
        fprintf(stderr, "timed: libsodium failed to initialise\n");
        return EXIT_FAILED;
    }
    int rc = load_genesis(&d);
    if (rc == 0)
        rc = load_key(&d);
    if (rc == 0 && check_only) {
        td_config_print_json(&d.cfg, stdout);
        tc_genesis_deinit(&d.genesis);
        return 0;
    }
    if (rc == 0)
        rc = prepare_data_dir(&d, check_store_only);
    if (rc == 0 && check_store_only)
        rc = check_store(&d);
    else if (rc == 0)
        rc = open_node(&d);
    if (rc == 0 && !check_store_only)
        rc = run(&d);
    if (d.stopping)
        td_logf(TD_LOG_INFO, "stopped", "exit=%d shutdown_ms=%llu", rc,
                (unsigned long long)(td_now_ms() - d.stop_ms));
    tc_node_free(d.node);
    if (d.store != NULL)
        tc_store_close(d.store);
    tc_verify_cache_free(d.cache);
    tc_lthash_cache_free(d.elements);
    tc_genesis_deinit(&d.genesis);
    if (d.lock_fd >= 0)
        close(d.lock_fd);
    return rc;
}
