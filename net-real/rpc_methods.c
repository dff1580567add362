/* rpc_methods.c — the JSON-RPC methods (rpc_methods.h), run on the loop thread between calls into
 * the node. docs/OPERATING.md ("RPC methods") documents each; the table at the end lists them. */
#include "rpc_methods.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "codec.h"
#include "mnreg.h"
#include "utxo.h"

#define PEERS_MAX        256
#define UTXO_LIST_MAX    10000 /* listunspent answers at most this many outputs */
#define MEMPOOL_LIST_MAX 100000

typedef json_t *(*method_fn)(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *wait);

static json_t *fail(td_rpc_error *err, int code, const char *fmt, const char *arg)
{
    err->code = code;
    snprintf(err->message, sizeof(err->message), fmt, arg ? arg : "");
    return NULL;
}

static json_t *jhex(const uint8_t *b, size_t n)
{
    char buf[2 * 64 + 1];
    TC_ASSERT(n <= 64);
    tc_hex(buf, b, n);
    return json_string(buf);
}

static json_t *jaddr(const td_rpc_env *env, const tc_addr_hash *a)
{
    char text[TC_ADDRESS_TEXT_MAX];
    tc_address_encode(env->genesis->network, a, text);
    return json_string(text);
}

static const char *network_name(const td_rpc_env *env)
{
    return env->genesis->network == TC_NET_MAINNET ? "mainnet" : "testnet";
}

/* The chain's height keys are big-endian (chain.c), so its tables iterate in height order. */
static uint64_t load_be64(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

/* ---- parameters ---- */

static bool arg_count(json_t *p, size_t min, size_t max, td_rpc_error *err)
{
    size_t n = json_array_size(p);
    if (n >= min && n <= max)
        return true;
    err->code = TD_RPC_INVALID_PARAMS;
    snprintf(err->message, sizeof(err->message), "expected %zu to %zu parameters, got %zu", min,
             max, n);
    return false;
}

static bool arg_hash(json_t *p, size_t i, tc_hash *out, td_rpc_error *err)
{
    const char *s = json_string_value(json_array_get(p, i));
    size_t n = 0;
    if (s != NULL && strlen(s) == 2 * TC_HASH_SIZE &&
        sodium_hex2bin(out->b, TC_HASH_SIZE, s, strlen(s), NULL, &n, NULL) == 0 &&
        n == TC_HASH_SIZE)
        return true;
    fail(err, TD_RPC_INVALID_PARAM, "parameter %s must be 64 hex digits", i == 0 ? "1" : "2");
    return false;
}

/* An optional integer at i in [min, max]; def when absent or null. */
static bool arg_int(json_t *p, size_t i, int64_t min, int64_t max, int64_t def, int64_t *out,
                    td_rpc_error *err)
{
    json_t *v = json_array_get(p, i);
    if (v == NULL || json_is_null(v)) {
        *out = def;
        return true;
    }
    if (json_is_boolean(v)) { /* bitcoind's verbose=true */
        *out = json_is_true(v) ? 1 : 0;
        return *out >= min && *out <= max;
    }
    if (json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max) {
        *out = json_integer_value(v);
        return true;
    }
    err->code = TD_RPC_INVALID_PARAM;
    snprintf(err->message, sizeof(err->message), "parameter %zu must be an integer in %lld..%lld",
             i + 1, (long long)min, (long long)max);
    return false;
}

static bool arg_address(td_rpc_env *env, json_t *p, size_t i, tc_addr_hash *out, td_rpc_error *err)
{
    const char *s = json_string_value(json_array_get(p, i));
    int rc = s != NULL ? tc_address_decode(s, env->genesis->network, out) : TC_EINVAL;
    if (rc == 0)
        return true;
    fail(err, TD_RPC_INVALID_ADDRESS, "invalid address: %s", tc_strerror(rc));
    return false;
}

/* ---- chain ---- */

static json_t *m_getblockcount(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    if (!arg_count(p, 0, 0, err))
        return NULL;
    tc_node_status st;
    tc_node_status_get(env->node, &st);
    return json_integer((json_int_t)st.height);
}

static json_t *m_getbestblockhash(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    if (!arg_count(p, 0, 0, err))
        return NULL;
    tc_node_status st;
    tc_node_status_get(env->node, &st);
    return jhex(st.tip.b, TC_HASH_SIZE);
}

static json_t *m_getblockchaininfo(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    if (!arg_count(p, 0, 0, err))
        return NULL;
    tc_node_status st;
    tc_node_status_get(env->node, &st);
    tc_chain *c = tc_node_chain(env->node);
    tc_chain_supply sup = {0};
    (void)tc_chain_supply_get(c, &sup);
    tc_hash gh;
    tc_chain_genesis_hash(c, &gh);
    return json_pack(
        "{s:s, s:I, s:o, s:I, s:o, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:b, s:s, s:s}", "chain",
        network_name(env), "blocks", (json_int_t)st.height, "bestblockhash",
        jhex(st.tip.b, TC_HASH_SIZE), "time_ms", (json_int_t)tc_chain_tip_time_ms(c),
        "genesis_hash", jhex(gh.b, TC_HASH_SIZE), "epoch",
        (json_int_t)tc_chain_epoch_of(c, st.height + 1), "supply", "genesis",
        (json_int_t)sup.genesis_supply, "rewards", (json_int_t)sup.rewards_total, "burned",
        (json_int_t)sup.burned_total, "fees", (json_int_t)sup.fees_total, "utxo_total",
        (json_int_t)sup.utxo_total, "utxo_count", (json_int_t)sup.utxo_count, "failed", st.failed,
        "failure", tc_node_failure_name(st.failure), "failure_cause", st.failure_cause);
}

static json_t *m_getblockhash(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    int64_t h = 0;
    if (!arg_count(p, 1, 1, err) || !arg_int(p, 0, 0, INT64_MAX, 0, &h, err))
        return NULL;
    tc_chain *c = tc_node_chain(env->node);
    if (h == 0) {
        tc_hash gh;
        tc_chain_genesis_hash(c, &gh);
        return jhex(gh.b, TC_HASH_SIZE);
    }
    tc_block b;
    if ((uint64_t)h > tc_chain_height(c) || tc_chain_block_at(c, (uint64_t)h, &b) != 0)
        return fail(err, TD_RPC_INVALID_PARAM, "block height out of range%s", NULL);
    tc_hash hash;
    tc_block_hash(&b.header, &hash);
    tc_block_deinit(&b);
    return jhex(hash.b, TC_HASH_SIZE);
}

/* The height of a block hash, from the chain's index: 0 or -1. */
static int height_of(td_rpc_env *env, const tc_hash *hash, uint64_t *height_out)
{
    tc_store_txn *t = NULL;
    const void *v = NULL;
    size_t n = 0;
    int rc = tc_store_begin(env->store, false, &t);
    if (rc == 0)
        rc = tc_store_get(t, TC_TABLE_BLOCKIDX, hash->b, TC_HASH_SIZE, &v, &n);
    if (rc == 0 && n == 8)
        *height_out = load_be64(v);
    rc = rc == 0 && n != 8 ? TC_ESTORE_CORRUPT : rc;
    if (t != NULL)
        tc_store_abort(t);
    return rc == 0 ? 0 : -1;
}

static json_t *tx_json(td_rpc_env *env, const tc_tx *tx, const tc_hash *txid)
{
    static const char *const kinds[] = {"transfer", "mn_register", "mn_retire"};
    json_t *ins = json_array(), *outs = json_array();
    for (uint32_t i = 0; i < tx->input_count; i++) {
        tc_addr_hash a;
        tc_addr_from_pubkey(&tx->inputs[i].pub, &a);
        json_array_append_new(ins, json_pack("{s:o, s:I, s:o}", "txid",
                                             jhex(tx->inputs[i].prev.txid.b, TC_HASH_SIZE), "vout",
                                             (json_int_t)tx->inputs[i].prev.index, "address",
                                             jaddr(env, &a)));
    }
    for (uint32_t i = 0; i < tx->output_count; i++)
        json_array_append_new(outs, json_pack("{s:I, s:I, s:o}", "n", (json_int_t)i, "amount",
                                              (json_int_t)tx->outputs[i].amount, "address",
                                              jaddr(env, &tx->outputs[i].addr)));
    return json_pack("{s:o, s:s, s:I, s:o, s:o}", "txid", jhex(txid->b, TC_HASH_SIZE), "kind",
                     tx->kind < 3 ? kinds[tx->kind] : "?", "size",
                     (json_int_t)tc_tx_encoded_size(tx), "vin", ins, "vout", outs);
}

static json_t *evidence_hash(const tc_evidence *e)
{
    tc_hash h;
    tc_evidence_hash(e, &h);
    return jhex(h.b, TC_HASH_SIZE);
}

/* The evidence's encoding (tc_evidence_decode reads it back): the proof itself. */
static json_t *evidence_hex(const tc_evidence *e)
{
    tc_writer w;
    size_t len = 0;
    tc_writer_init(&w, NULL, 0);
    tc_evidence_encode(&w, e);
    (void)tc_writer_finish(&w, &len);
    uint8_t *bytes = malloc(len ? len : 1);
    char *hex = malloc(2 * len + 1);
    json_t *out = NULL;
    if (bytes != NULL && hex != NULL) {
        tc_writer_init(&w, bytes, len);
        tc_evidence_encode(&w, e);
        if (tc_writer_finish(&w, &len) == 0) {
            tc_hex(hex, bytes, len);
            out = json_string(hex);
        }
    }
    free(bytes);
    free(hex);
    return out != NULL ? out : json_null();
}

static json_t *block_json(td_rpc_env *env, const tc_block *b, const tc_hash *hash, int verbosity)
{
    const tc_block_header *h = &b->header;
    json_t *txs = json_array(), *rewards = json_array();
    for (uint32_t i = 0; i < b->tx_count; i++) {
        tc_hash txid;
        tc_tx_id(&b->txs[i].tx, &txid);
        json_array_append_new(txs, verbosity >= 2 ? tx_json(env, &b->txs[i].tx, &txid)
                                                  : jhex(txid.b, TC_HASH_SIZE));
    }
    for (uint32_t i = 0; i < b->reward_count; i++)
        json_array_append_new(rewards,
                              json_pack("{s:I, s:o}", "amount", (json_int_t)b->rewards[i].amount,
                                        "address", jaddr(env, &b->rewards[i].addr)));
    json_t *evidence = json_array();
    for (uint32_t i = 0; i < h->evidence_count; i++)
        json_array_append_new(evidence, verbosity >= 2 ? evidence_hex(&h->evidence[i])
                                                       : evidence_hash(&h->evidence[i]));
    tc_node_status st;
    tc_node_status_get(env->node, &st);
    json_t *o = json_pack(
        "{s:o, s:I, s:I, s:I, s:o, s:I, s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:o, "
        "s:o}",
        "hash", jhex(hash->b, TC_HASH_SIZE), "height", (json_int_t)h->height, "confirmations",
        (json_int_t)(st.height - h->height + 1), "version", (json_int_t)h->version,
        "previousblockhash", jhex(h->parent.b, TC_HASH_SIZE), "time_ms", (json_int_t)h->time_ms,
        "round", (json_int_t)h->round, "tx_root", jhex(h->tx_root.b, TC_HASH_SIZE), "utxo_root",
        jhex(h->utxo_root.b, TC_HASH_SIZE), "vset_hash", jhex(h->vset_hash.b, TC_HASH_SIZE),
        "proposer", (json_int_t)h->proposer, "commit_signatures",
        (json_int_t)h->last_commit.sig_count, "evidence", (json_int_t)h->evidence_count, "tx", txs,
        "rewards", rewards);
    json_object_set_new(o, verbosity >= 2 ? "evidence_hex" : "evidence_hashes", evidence);
    return o;
}

static json_t *m_getblock(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    tc_hash hash;
    int64_t verbosity = 1;
    uint64_t height = 0;
    if (!arg_count(p, 1, 2, err) || !arg_hash(p, 0, &hash, err) ||
        !arg_int(p, 1, 0, 2, 1, &verbosity, err))
        return NULL;
    tc_block b;
    if (height_of(env, &hash, &height) != 0 ||
        tc_chain_block_at(tc_node_chain(env->node), height, &b) != 0)
        return fail(err, TD_RPC_INVALID_ADDRESS, "Block not found%s", NULL);
    json_t *out = NULL;
    if (verbosity == 0) {
        uint8_t *bytes = NULL;
        size_t len = 0;
        char *hex = NULL;
        if (tc_block_encode_alloc(&b, &bytes, &len) == 0 && (hex = malloc(2 * len + 1)) != NULL) {
            tc_hex(hex, bytes, len);
            out = json_string(hex);
        }
        free(hex);
        free(bytes);
    } else {
        out = block_json(env, &b, &hash, (int)verbosity);
    }
    tc_block_deinit(&b);
    return out != NULL ? out : fail(err, TD_RPC_INTERNAL_ERROR, "out of memory%s", NULL);
}

/* ---- transactions ---- */

/* The height of the block that confirmed txid: 0 found, -1 not. */
static int confirmed_height(td_rpc_env *env, const tc_hash *txid, uint64_t *height_out)
{
    tc_store_txn *t = NULL;
    const void *v = NULL;
    size_t n = 0;
    int rc = tc_store_begin(env->store, false, &t);
    if (rc == 0)
        rc = tc_store_get(t, TC_TABLE_TXIDX, txid->b, TC_HASH_SIZE, &v, &n);
    if (rc == 0 && n == 8)
        *height_out = load_be64(v);
    rc = rc == 0 && n != 8 ? TC_ESTORE_CORRUPT : rc;
    if (t != NULL)
        tc_store_abort(t);
    return rc == 0 ? 0 : -1;
}

json_t *td_rpc_tx_state(td_rpc_env *env, const tc_hash *txid, bool *final_out)
{
    tc_node_tx_finality f;
    tc_node_tx_finality_get(env->node, txid, &f);
    uint64_t height = 0;
    bool confirmed = confirmed_height(env, txid, &height) == 0;
    static const char *const states[] = {"unknown", "pending", "final"};
    const char *state = confirmed ? "confirmed" : states[f.state];
    *final_out = confirmed || f.state == TC_NODE_TX_FINAL;
    tc_chain *c = tc_node_chain(env->node);
    const tc_vset *v = NULL;
    tc_node_status st;
    tc_node_status_get(env->node, &st);
    uint64_t quorum =
        tc_chain_vset(c, tc_chain_epoch_of(c, st.height + 1), &v) == 0 ? tc_vset_quorum(v) : 0;
    json_t *o = json_pack("{s:o, s:s, s:b, s:b, s:I, s:I}", "txid", jhex(txid->b, TC_HASH_SIZE),
                          "state", state, "final", *final_out, "in_mempool", f.in_mempool, "weight",
                          (json_int_t)f.weight, "quorum", (json_int_t)quorum);
    if (o != NULL && confirmed)
        json_object_set_new(o, "height", json_integer((json_int_t)height));
    return o;
}

static json_t *m_gettxfinality(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    tc_hash txid;
    bool final = false;
    if (!arg_count(p, 1, 1, err) || !arg_hash(p, 0, &txid, err))
        return NULL;
    return td_rpc_tx_state(env, &txid, &final);
}

static json_t *m_waittxfinality(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    tc_hash txid;
    int64_t timeout_ms = 0;
    bool final = false;
    if (!arg_count(p, 1, 2, err) || !arg_hash(p, 0, &txid, err) ||
        !arg_int(p, 1, 0, TD_RPC_WAIT_MAX_MS, TD_RPC_WAIT_DEFAULT_MS, &timeout_ms, err))
        return NULL;
    json_t *o = td_rpc_tx_state(env, &txid, &final);
    if (final || timeout_ms == 0) {
        json_object_set_new(o, "timed_out", json_boolean(!final));
        return o;
    }
    json_decref(o);
    w->txid = txid;
    w->deadline_ms = td_now_ms() + (uint64_t)timeout_ms;
    err->code = TD_RPC_WAIT;
    return NULL;
}

static json_t *m_sendrawtransaction(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    const char *hex = json_string_value(json_array_get(p, 0));
    if (!arg_count(p, 1, 1, err))
        return NULL;
    size_t cap = hex != NULL ? strlen(hex) / 2 + 1 : 0, len = 0;
    uint8_t *bytes = hex != NULL ? malloc(cap) : NULL;
    tc_tx tx;
    memset(&tx, 0, sizeof(tx));
    bool ok = bytes != NULL && strlen(hex) % 2 == 0 &&
              sodium_hex2bin(bytes, cap, hex, strlen(hex), NULL, &len, NULL) == 0 &&
              tc_tx_decode(&tx, bytes, len) == 0;
    json_t *out = NULL;
    if (!ok) {
        fail(err, TD_RPC_DESERIALIZATION, "TX decode failed%s", NULL);
    } else {
        tc_hash txid;
        tc_tx_id(&tx, &txid);
        int rc = td_live_submit_tx(env->live, bytes, len);
        uint64_t height = 0;
        if (rc == 0 || rc == TC_EMP_DUPLICATE)
            out = jhex(txid.b, TC_HASH_SIZE);
        else if (confirmed_height(env, &txid, &height) == 0)
            fail(err, TD_RPC_ALREADY_IN_CHAIN, "Transaction already in block chain%s", NULL);
        else
            fail(err, rc == TC_EFAILED ? TD_RPC_NODE_FAILED : TD_RPC_VERIFY_REJECTED, "%s",
                 tc_strerror(rc));
    }
    tc_tx_deinit(&tx);
    free(bytes);
    return out;
}

static json_t *m_getrawtransaction(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    tc_hash txid;
    int64_t verbose = 0;
    if (!arg_count(p, 1, 2, err) || !arg_hash(p, 0, &txid, err) ||
        !arg_int(p, 1, 0, 1, 0, &verbose, err))
        return NULL;
    tc_mempool_item it;
    tc_block b;
    memset(&b, 0, sizeof(b));
    const tc_tx *tx = NULL;
    uint64_t height = 0;
    if (tc_mempool_get(tc_node_mempool(env->node), &txid, &it) == 0) {
        tx = it.tx;
    } else if (confirmed_height(env, &txid, &height) == 0 &&
               tc_chain_block_at(tc_node_chain(env->node), height, &b) == 0) {
        for (uint32_t i = 0; i < b.tx_count && tx == NULL; i++) {
            tc_hash id;
            tc_tx_id(&b.txs[i].tx, &id);
            tx = memcmp(id.b, txid.b, TC_HASH_SIZE) == 0 ? &b.txs[i].tx : NULL;
        }
    }
    json_t *out = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    char *hex = NULL;
    if (tx == NULL) {
        fail(err, TD_RPC_INVALID_ADDRESS, "No such mempool or blockchain transaction%s", NULL);
    } else if (tc_tx_encode_alloc(tx, &bytes, &len) == 0 && (hex = malloc(2 * len + 1)) != NULL) {
        tc_hex(hex, bytes, len);
        out = verbose ? tx_json(env, tx, &txid) : json_string(hex);
        if (verbose) {
            json_object_set_new(out, "hex", json_string(hex));
            if (height > 0)
                json_object_set_new(out, "height", json_integer((json_int_t)height));
        }
    }
    free(hex);
    free(bytes);
    tc_block_deinit(&b);
    return out != NULL || err->code != 0 ? out : fail(err, TD_RPC_INTERNAL_ERROR, "oom%s", NULL);
}

/* ---- mempool ---- */

static json_t *m_getmempoolinfo(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    if (!arg_count(p, 0, 0, err))
        return NULL;
    const tc_mempool *mp = tc_node_mempool(env->node);
    const tc_profile *pr = &env->genesis->profile;
    tc_mempool_iter it;
    tc_mempool_item item;
    uint64_t voted = 0, fees = 0;
    tc_mempool_iter_init(mp, &it);
    while (tc_mempool_iter_next(mp, &it, &item)) {
        voted += item.voted;
        fees += item.fee;
    }
    return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "loaded", 1, "size",
                     (json_int_t)tc_mempool_count(mp), "bytes", (json_int_t)tc_mempool_bytes(mp),
                     "voted", (json_int_t)voted, "total_fee", (json_int_t)fees, "maxmempool",
                     (json_int_t)pr->mempool_bytes_max, "maxcount",
                     (json_int_t)pr->mempool_count_max, "min_fee_base",
                     (json_int_t)pr->min_fee_base, "min_fee_per_mille",
                     (json_int_t)pr->min_fee_per_mille, "dust_limit", (json_int_t)pr->dust_limit);
}

static json_t *m_getrawmempool(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    int64_t verbose = 0;
    if (!arg_count(p, 0, 1, err) || !arg_int(p, 0, 0, 1, 0, &verbose, err))
        return NULL;
    const tc_mempool *mp = tc_node_mempool(env->node);
    json_t *out = verbose ? json_object() : json_array();
    tc_mempool_iter it;
    tc_mempool_item item;
    tc_mempool_iter_init(mp, &it);
    for (uint32_t k = 0; k < MEMPOOL_LIST_MAX && tc_mempool_iter_next(mp, &it, &item); k++) {
        char hex[2 * TC_HASH_SIZE + 1];
        tc_hex(hex, item.txid.b, TC_HASH_SIZE);
        if (!verbose) {
            json_array_append_new(out, json_string(hex));
            continue;
        }
        tc_node_tx_finality f;
        tc_node_tx_finality_get(env->node, &item.txid, &f);
        json_object_set_new(out, hex,
                            json_pack("{s:I, s:I, s:b, s:b, s:I, s:b}", "size",
                                      (json_int_t)item.size_bytes, "fee", (json_int_t)item.fee,
                                      "voted", item.voted, "final", f.state == TC_NODE_TX_FINAL,
                                      "weight", (json_int_t)f.weight, "local",
                                      item.peer == TC_MEMPOOL_PEER_LOCAL));
    }
    return out;
}

/* ---- addresses: a scan of the UTXO set (no address index: fine for testnets, O(set)) ---- */

typedef struct {
    uint64_t confirmed, locked, count;
    json_t *list; /* NULL: only the sums */
} scan_result;

static int scan_address(td_rpc_env *env, const tc_addr_hash *addr, scan_result *out)
{
    tc_store_txn *t = NULL;
    tc_store_cursor *cur = NULL;
    int rc = tc_store_begin(env->store, false, &t);
    if (rc == 0)
        rc = tc_store_cursor_open(t, TC_TABLE_UTXO, &cur);
    const void *k = NULL, *v = NULL;
    size_t klen = 0, vlen = 0;
    while (rc == 0 && (rc = tc_store_cursor_next(cur, &k, &klen, &v, &vlen)) == 0) {
        /* The entry record (utxo.h): u64 amount | addr 20 | u64 height | u8 flags | u8 state |
         * txid 32. Only entries of this address are decoded by tc_utxo_get. */
        if (klen != TC_OUTPOINT_SIZE || vlen != TC_UTXO_ENTRY_SIZE ||
            memcmp((const uint8_t *)v + 8, addr->b, TC_ADDR_HASH_SIZE) != 0)
            continue;
        tc_outpoint op;
        memcpy(op.txid.b, k, TC_HASH_SIZE);
        const uint8_t *ix = (const uint8_t *)k + TC_HASH_SIZE; /* u32 big-endian (tx.h) */
        op.index = (uint32_t)ix[0] << 24 | (uint32_t)ix[1] << 16 | (uint32_t)ix[2] << 8 | ix[3];
        tc_utxo_entry e;
        if (tc_utxo_get(t, &op, &e) != 0)
            continue;
        bool spendable = e.state == TC_UTXO_UNSPENT && (e.flags & TC_UTXO_COLLATERAL) == 0;
        out->count++;
        if (spendable)
            out->confirmed += e.amount;
        else
            out->locked += e.amount;
        if (out->list != NULL && json_array_size(out->list) < UTXO_LIST_MAX)
            json_array_append_new(out->list,
                                  json_pack("{s:o, s:I, s:I, s:I, s:b, s:b}", "txid",
                                            jhex(op.txid.b, TC_HASH_SIZE), "vout",
                                            (json_int_t)op.index, "amount", (json_int_t)e.amount,
                                            "height", (json_int_t)e.height, "spendable", spendable,
                                            "collateral", (e.flags & TC_UTXO_COLLATERAL) != 0));
    }
    rc = rc == TC_ENOTFOUND ? 0 : rc;
    if (cur != NULL)
        tc_store_cursor_close(cur);
    if (t != NULL)
        tc_store_abort(t);
    return rc;
}

static json_t *m_getbalance(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    tc_addr_hash a;
    scan_result r = {0};
    if (!arg_count(p, 1, 1, err) || !arg_address(env, p, 0, &a, err))
        return NULL;
    if (scan_address(env, &a, &r) != 0)
        return fail(err, TD_RPC_INTERNAL_ERROR, "store read failed%s", NULL);
    return json_pack("{s:o, s:I, s:I, s:I}", "address", json_incref(json_array_get(p, 0)),
                     "balance", (json_int_t)r.confirmed, "locked", (json_int_t)r.locked, "outputs",
                     (json_int_t)r.count);
}

static json_t *m_listunspent(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    tc_addr_hash a;
    scan_result r = {.list = json_array()};
    if (!arg_count(p, 1, 1, err) || !arg_address(env, p, 0, &a, err)) {
        json_decref(r.list);
        return NULL;
    }
    if (scan_address(env, &a, &r) != 0) {
        json_decref(r.list);
        return fail(err, TD_RPC_INTERNAL_ERROR, "store read failed%s", NULL);
    }
    return r.list;
}

/* ---- consensus, validators, forks ---- */

static const tc_vset *current_vset(td_rpc_env *env)
{
    tc_chain *c = tc_node_chain(env->node);
    const tc_vset *v = NULL;
    return tc_chain_vset(c, tc_chain_epoch_of(c, tc_chain_height(c) + 1), &v) == 0 ? v : NULL;
}

static json_t *jindex(uint32_t i)
{
    return i == UINT32_MAX ? json_null() : json_integer(i);
}

static json_t *m_getconsensusinfo(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    if (!arg_count(p, 0, 0, err))
        return NULL;
    tc_node_consensus c;
    tc_node_consensus_get(env->node, &c);
    const tc_vset *v = current_vset(env);
    json_t *o =
        json_pack("{s:I, s:I, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "height",
                  (json_int_t)c.height, "round", (json_int_t)c.round, "step", c.step, "proposer",
                  jindex(c.proposer), "validator", jindex(c.validator), "epoch",
                  (json_int_t)c.epoch, "validators", (json_int_t)(v ? v->count : 0), "quorum",
                  (json_int_t)(v ? tc_vset_quorum(v) : 0), "view_changes",
                  (json_int_t)c.view_changes, "commits", (json_int_t)c.commits, "equivocations",
                  (json_int_t)c.equivocations, "votes_counted", (json_int_t)c.votes_counted);
    json_object_set_new(o, "lock",
                        c.locked ? json_pack("{s:I, s:o}", "round", (json_int_t)c.locked_round,
                                             "block", jhex(c.locked_value.b, TC_HASH_SIZE))
                                 : json_null());
    json_object_set_new(o, "valid",
                        c.valid ? json_pack("{s:I, s:o}", "round", (json_int_t)c.valid_round,
                                            "block", jhex(c.valid_value.b, TC_HASH_SIZE))
                                : json_null());
    return o;
}

/* What this node's heartbeats say of a masternode (PROTOCOL 15): "online", "last_seen_ms" (its
 * node time, null when never heard) and "clock_offset_ms"; this node itself is online. */
static void presence_json(td_rpc_env *env, const tc_pubkey *key, json_t *mn)
{
    tc_pubkey own;
    tc_masternode_presence pr;
    tc_node_pubkey(env->node, &own);
    bool self = memcmp(own.b, key->b, TC_PUBKEY_SIZE) == 0;
    bool known = tc_node_masternode_presence(env->node, key, &pr) == 0;
    json_object_set_new(mn, "self", json_boolean(self));
    json_object_set_new(mn, "online", json_boolean(self || (known && pr.online)));
    json_object_set_new(mn, "last_seen_ms",
                        known ? json_integer((json_int_t)pr.last_seen_ms) : json_null());
    json_object_set_new(mn, "clock_offset_ms",
                        known ? json_integer((json_int_t)pr.offset_ms) : json_null());
}

static json_t *m_getmasternodelist(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    if (!arg_count(p, 0, 0, err))
        return NULL;
    const tc_vset *v = current_vset(env);
    if (v == NULL)
        return fail(err, TD_RPC_INTERNAL_ERROR, "validator set unavailable%s", NULL);
    json_t *list = json_array();
    for (uint32_t i = 0; i < v->count; i++) {
        json_t *mn =
            json_pack("{s:I, s:o, s:s, s:I, s:o}", "index", (json_int_t)i, "key",
                      jhex(v->members[i].key.b, TC_PUBKEY_SIZE), "tier",
                      tc_tier_name((tc_tier)v->members[i].tier), "weight",
                      (json_int_t)v->members[i].weight, "owner", jaddr(env, &v->members[i].owner));
        presence_json(env, &v->members[i].key, mn);
        json_array_append_new(list, mn);
    }
    const tc_profile *pr = &env->genesis->profile;
    json_t *collateral = json_object();
    for (uint8_t t = 0; t < TC_TIER_COUNT; t++)
        json_object_set_new(collateral, tc_tier_name((tc_tier)t),
                            json_integer((json_int_t)tc_tier_collateral(pr, (tc_tier)t)));
    return json_pack("{s:I, s:I, s:I, s:o, s:o}", "epoch", (json_int_t)v->epoch, "weight_total",
                     (json_int_t)v->weight_total, "quorum", (json_int_t)tc_vset_quorum(v),
                     "masternodes", list, "collateral", collateral);
}

/* The evidence notified since start, each with the height of the block that included it (its
 * encoding, the proof, is in that block: getblock HASH 2, "evidence_hex"), null before. */
static json_t *evidence_json(td_rpc_env *env)
{
    json_t *list = json_array();
    tc_store_txn *t = NULL;
    bool txn = tc_store_begin(env->store, false, &t) == 0;
    for (uint32_t k = 0; k < env->evidence_count; k++) {
        const tc_hash *h = &env->evidence_list[k].hash;
        const void *v = NULL;
        size_t n = 0;
        bool in =
            txn && tc_store_get(t, TC_TABLE_EVIDENCE, h->b, TC_HASH_SIZE, &v, &n) == 0 && n == 8;
        json_array_append_new(list,
                              json_pack("{s:I, s:I, s:I, s:o, s:o}", "validator",
                                        (json_int_t)env->evidence_list[k].validator, "height",
                                        (json_int_t)env->evidence_list[k].height, "round",
                                        (json_int_t)env->evidence_list[k].round, "hash",
                                        jhex(h->b, TC_HASH_SIZE), "included_at",
                                        in ? json_integer((json_int_t)load_be64(v)) : json_null()));
    }
    if (txn)
        tc_store_abort(t);
    return list;
}

/* A commit certificate: height, round, block, and each signer's index and precommit signature
 * (every signature verifies over the precommit for (height, round, block); PROTOCOL 12.8). */
static json_t *certificate_json(const tc_commit *c)
{
    json_t *signers = json_array();
    for (uint32_t i = 0; i < c->sig_count; i++)
        json_array_append_new(signers,
                              json_pack("{s:I, s:o}", "validator", (json_int_t)c->sigs[i].validator,
                                        "sig", jhex(c->sigs[i].sig.b, TC_SIG_SIZE)));
    return json_pack("{s:I, s:I, s:o, s:o}", "height", (json_int_t)c->height, "round",
                     (json_int_t)c->round, "block", jhex(c->block.b, TC_HASH_SIZE), "signers",
                     signers);
}

static json_t *m_getforkinfo(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    if (!arg_count(p, 0, 0, err))
        return NULL;
    tc_node_status st;
    tc_node_status_get(env->node, &st);
    json_t *culprits = json_array();
    for (uint32_t k = 0; k < env->culprit_count; k++)
        json_array_append_new(culprits, json_integer(env->culprit_list[k]));
    json_t *o =
        json_pack("{s:b, s:b, s:s, s:s, s:s, s:I, s:I, s:o}", "fork_alarm", st.fork, "failed",
                  st.failed, "failure", tc_node_failure_name(st.failure), "failure_code",
                  st.failed ? tc_strerror(st.failure_code) : "", "failure_cause", st.failure_cause,
                  "evidence_seen", (json_int_t)env->evidence, "quorum_lost",
                  (json_int_t)st.quorum_lost, "culprits", culprits);
    json_object_set_new(o, "evidence", evidence_json(env));
    json_object_set_new(o, "fork",
                        env->fork_seen
                            ? json_pack("{s:I, s:o, s:o}", "height", (json_int_t)env->fork_height,
                                        "ours", jhex(env->fork_ours.b, TC_HASH_SIZE), "theirs",
                                        jhex(env->fork_theirs.b, TC_HASH_SIZE))
                            : json_null());
    const tc_commit *ours, *theirs;
    json_object_set_new(o, "certificates",
                        tc_node_fork_certificates(env->node, &ours, &theirs)
                            ? json_pack("{s:o, s:o}", "ours", certificate_json(ours), "theirs",
                                        certificate_json(theirs))
                            : json_null());
    return o;
}

/* ---- network ---- */

static json_t *m_getpeerinfo(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    if (!arg_count(p, 0, 0, err))
        return NULL;
    static tc_node_peer peers[PEERS_MAX]; /* loop thread only */
    uint32_t n = tc_node_peers_get(env->node, peers, PEERS_MAX);
    const tc_vset *v = current_vset(env);
    json_t *list = json_array();
    for (uint32_t k = 0; k < n; k++) {
        const tc_node_peer *pe = &peers[k];
        uint32_t index = UINT32_MAX;
        if (v == NULL || tc_vset_find(v, &pe->pubkey, &index) != 0)
            index = UINT32_MAX;
        json_array_append_new(
            list,
            json_pack("{s:I, s:s, s:s, s:b, s:o, s:o, s:I, s:s, s:o, s:o, s:I, s:I, s:I}", "id",
                      (json_int_t)pe->id, "addr", pe->addr, "listen_addr", pe->listen_addr,
                      "inbound", pe->inbound, "key", jhex(pe->pubkey.b, TC_PUBKEY_SIZE),
                      "validator", jindex(index), "startingheight", (json_int_t)pe->best_height,
                      "subver", pe->user_agent, "rtt_ms",
                      pe->has_rtt ? json_integer((json_int_t)pe->rtt_ms) : json_null(), "srtt_ms",
                      pe->has_rtt ? json_integer((json_int_t)pe->srtt_ms) : json_null(), "banscore",
                      (json_int_t)pe->points, "frames_in", (json_int_t)pe->frames, "rate_drops",
                      (json_int_t)pe->rate_drops));
    }
    return list;
}

static json_t *m_getnetworkinfo(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    if (!arg_count(p, 0, 0, err))
        return NULL;
    td_live_stats ls;
    td_live_stats_get(env->live, &ls);
    tc_node_status st;
    tc_node_status_get(env->node, &st);
    tc_pubkey pk;
    tc_node_pubkey(env->node, &pk);
    return json_pack("{s:s, s:s, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
                     "s:I}",
                     "version", "timed/0.1", "network", network_name(env), "protocolversion",
                     (json_int_t)env->genesis->profile.protocol_version, "key",
                     jhex(pk.b, TC_PUBKEY_SIZE), "connections", (json_int_t)ls.peers, "peers_ready",
                     (json_int_t)st.peers, "frames_in", (json_int_t)ls.frames_in, "frames_out",
                     (json_int_t)ls.frames_out, "bytes_in", (json_int_t)ls.bytes_in, "bytes_out",
                     (json_int_t)ls.bytes_out, "accepted", (json_int_t)ls.accepted, "dials",
                     (json_int_t)ls.dials, "bans", (json_int_t)st.bans, "ban_refusals",
                     (json_int_t)ls.ban_refusals, "rate_drops", (json_int_t)st.rate_drops);
}

#define BAN_DEFAULT_S 86400
#define BANS_MAX      1024

static json_t *m_listbanned(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    if (!arg_count(p, 0, 0, err))
        return NULL;
    static td_live_ban bans[BANS_MAX]; /* loop thread only */
    uint32_t n = td_live_bans_get(env->live, bans, BANS_MAX);
    json_t *list = json_array();
    for (uint32_t k = 0; k < n; k++)
        json_array_append_new(list, json_pack("{s:s, s:I}", "address", bans[k].host,
                                              "banned_until_ms", (json_int_t)bans[k].until_ms));
    return list;
}

static json_t *m_setban(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    const char *host = json_string_value(json_array_get(p, 0));
    const char *cmd = json_string_value(json_array_get(p, 1));
    int64_t bantime_s = 0;
    char h[16];
    uint16_t port = 0;
    char probe[32];
    if (!arg_count(p, 2, 3, err) ||
        !arg_int(p, 2, 1, 10 * 365 * 86400LL, BAN_DEFAULT_S, &bantime_s, err))
        return NULL;
    snprintf(probe, sizeof(probe), "%.20s:1", host ? host : "");
    if (host == NULL || strlen(host) >= sizeof(h) || td_addr_split(probe, h, &port) != 0 ||
        strcmp(h, host) != 0)
        return fail(err, TD_RPC_INVALID_PARAM, "setban: an IPv4 address, not %s", host);
    if (cmd != NULL && strcmp(cmd, "add") == 0) {
        td_live_ban_set(env->live, host, td_now_ms() + (uint64_t)bantime_s * 1000u);
        return json_null();
    }
    if (cmd != NULL && strcmp(cmd, "remove") == 0)
        return td_live_ban_set(env->live, host, 0) == 0
                   ? json_null()
                   : fail(err, TD_RPC_UNBAN_FAILED, "Unban failed: %s is not banned", host);
    return fail(err, TD_RPC_INVALID_PARAM, "setban: the command is add or remove, not %s", cmd);
}

/* ---- control ---- */

static json_t *m_uptime(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    if (!arg_count(p, 0, 0, err))
        return NULL;
    return json_integer((json_int_t)((td_now_ms() - env->start_ms) / 1000));
}

static json_t *m_stop(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)w;
    if (!arg_count(p, 0, 0, err))
        return NULL;
    env->stop_requested = true;
    return json_string("timed stopping");
}

static json_t *m_help(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w);

typedef struct {
    const char *name;
    method_fn fn;
    const char *params[4]; /* NULL-terminated */
    const char *help;
} method_spec;

static const method_spec methods[] = {
    {"getblockchaininfo", m_getblockchaininfo, {NULL}, "chain, height, tip, supply, failure"},
    {"getblockcount", m_getblockcount, {NULL}, "the height of the tip"},
    {"getbestblockhash", m_getbestblockhash, {NULL}, "the hash of the tip"},
    {"getblockhash",
     m_getblockhash,
     {"height", NULL},
     "the hash of the block at height (0: genesis)"},
    {"getblock",
     m_getblock,
     {"blockhash", "verbosity", NULL},
     "a block: 0 hex, 1 header and txids (default), 2 with decoded transactions"},
    {"getrawtransaction",
     m_getrawtransaction,
     {"txid", "verbose", NULL},
     "a pooled or confirmed transaction: hex, or decoded with verbose"},
    {"sendrawtransaction",
     m_sendrawtransaction,
     {"hexstring", NULL},
     "submits a signed transaction; its txid"},
    {"gettxfinality",
     m_gettxfinality,
     {"txid", NULL},
     "unknown, pending, final or confirmed, with the vote weight and the quorum"},
    {"waittxfinality",
     m_waittxfinality,
     {"txid", "timeout_ms", NULL},
     "waits until the transaction is final (at most timeout_ms, default 30000, max 60000)"},
    {"getmempoolinfo", m_getmempoolinfo, {NULL}, "mempool size, bytes and limits"},
    {"getrawmempool", m_getrawmempool, {"verbose", NULL}, "pooled txids, or details with verbose"},
    {"getbalance", m_getbalance, {"address", NULL}, "spendable and locked units of an address"},
    {"listunspent", m_listunspent, {"address", NULL}, "the unspent outputs of an address"},
    {"getmasternodelist", m_getmasternodelist, {NULL}, "the validator set of the next height"},
    {"getconsensusinfo",
     m_getconsensusinfo,
     {NULL},
     "height, round, step, lock, valid round, view changes, proposer"},
    {"getforkinfo", m_getforkinfo, {NULL}, "fork alarm, failure, culprits, evidence"},
    {"getpeerinfo", m_getpeerinfo, {NULL}, "handshaken peers: address, key, validator, rtt"},
    {"getnetworkinfo", m_getnetworkinfo, {NULL}, "version, connections, traffic, bans"},
    {"listbanned", m_listbanned, {NULL}, "hosts banned now, with the end of each ban"},
    {"setban",
     m_setban,
     {"subnet", "command", "bantime"},
     "add (closing its connections; bantime in s, default 86400) or remove a host's ban"},
    {"uptime", m_uptime, {NULL}, "seconds since start"},
    {"stop", m_stop, {NULL}, "stops timed (exit 0)"},
    {"help", m_help, {"command", NULL}, "lists the methods, or describes one"},
};

static const method_spec *find_method(const char *name)
{
    for (size_t k = 0; k < TC_ARRAY_LEN(methods); k++)
        if (strcmp(methods[k].name, name) == 0)
            return &methods[k];
    return NULL;
}

static void usage_line(const method_spec *m, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s", m->name);
    for (size_t k = 0; m->params[k] != NULL && n > 0 && (size_t)n < cap; k++)
        n += snprintf(out + n, cap - (size_t)n, " %s", m->params[k]);
}

static json_t *m_help(td_rpc_env *env, json_t *p, td_rpc_error *err, td_rpc_wait *w)
{
    (void)env;
    (void)w;
    if (!arg_count(p, 0, 1, err))
        return NULL;
    const char *one = json_string_value(json_array_get(p, 0));
    char line[512], text[8192] = "";
    size_t used = 0;
    for (size_t k = 0; k < TC_ARRAY_LEN(methods); k++) {
        if (one != NULL && strcmp(one, methods[k].name) != 0)
            continue;
        usage_line(&methods[k], line, sizeof(line));
        int n = snprintf(text + used, sizeof(text) - used, "%s%s%s%s", used ? "\n" : "", line,
                         one != NULL ? "\n    " : "", one != NULL ? methods[k].help : "");
        used += n > 0 ? (size_t)n : 0;
        used = used < sizeof(text) ? used : sizeof(text) - 1;
    }
    if (one != NULL && used == 0)
        return fail(err, TD_RPC_INVALID_PARAM, "help: unknown command: %s", one);
    return json_string(text);
}

const char *const *td_rpc_param_names(const char *method)
{
    const method_spec *m = find_method(method);
    return m != NULL ? m->params : NULL;
}

json_t *td_rpc_call(td_rpc_env *env, const char *method, json_t *params, td_rpc_error *err,
                    td_rpc_wait *wait)
{
    TC_ASSERT(env != NULL && method != NULL && json_is_array(params) && err != NULL);
    const method_spec *m = find_method(method);
    if (m == NULL)
        return fail(err, TD_RPC_METHOD_NOT_FOUND, "Method not found: %s", method);
    err->code = 0;
    json_t *r = m->fn(env, params, err, wait);
    TC_ASSERT((r == NULL) == (err->code != 0));
    return r;
}

void td_rpc_env_note(td_rpc_env *env, const tc_notify *note)
{
    static const uint64_t bounds_ms[] = {5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
    _Static_assert(TC_ARRAY_LEN(bounds_ms) + 1 == TC_ARRAY_LEN(env->finality_buckets), "+Inf");
    switch (note->kind) {
    case TC_NOTIFY_BLOCK_COMMITTED:
        env->blocks_committed++;
        break;
    case TC_NOTIFY_TX_FINALIZED:
        env->txs_finalized++;
        env->finality_count++;
        env->finality_sum_ms += note->latency_ms;
        for (size_t k = 0; k < TC_ARRAY_LEN(env->finality_buckets); k++)
            env->finality_buckets[k] +=
                k == TC_ARRAY_LEN(bounds_ms) || note->latency_ms <= bounds_ms[k];
        break;
    case TC_NOTIFY_TX_REJECTED:
        env->txs_rejected++;
        break;
    case TC_NOTIFY_VIEW_CHANGE:
        env->view_changes_by_cause[note->cause < 5 ? note->cause : 0]++;
        break;
    case TC_NOTIFY_EVIDENCE:
        env->evidence++;
        if (env->evidence_count < TC_ARRAY_LEN(env->evidence_list)) {
            env->evidence_list[env->evidence_count].validator = note->validator;
            env->evidence_list[env->evidence_count].round = note->round;
            env->evidence_list[env->evidence_count].height = note->height;
            env->evidence_list[env->evidence_count++].hash = note->hash;
        }
        break;
    case TC_NOTIFY_FORK:
        env->forks++;
        env->fork_seen = true;
        env->fork_height = note->height;
        env->fork_ours = note->hash;
        env->fork_theirs = note->hash2;
        break;
    case TC_NOTIFY_CULPRIT:
        env->culprits++;
        if (env->culprit_count < TC_ARRAY_LEN(env->culprit_list))
            env->culprit_list[env->culprit_count++] = note->validator;
        break;
    default:
        break;
    }
}
