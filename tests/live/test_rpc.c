/* test_rpc.c — the RPC methods and the metrics page (net-real/rpc_methods.h), called directly on
 * one node over an in-memory store: results, error codes, the wait request, and the metrics
 * counters. The HTTP side (credentials, limits, concurrency) is tests/live/rpc_test.py's. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "rpc_methods.h"
#include "support.h"

#define GENESIS_MS 1767225600000ull
/* 64 hex digits made of one byte's two: a hash no block or transaction has. */
#define X4(s)       s s s s
#define TC_STR64(b) X4(X4(b)) X4(X4(b))

typedef struct {
    uint8_t master[TC_SEED_SIZE];
    tc_genesis g;
    tc_store *store;
    tc_verify_cache *cache;
    tc_node *node;
    uv_loop_t loop;
    td_config cfg;
    td_live *live;
    td_rpc_env env;
} fx;

static void fx_open(fx *f)
{
    memset(f, 0, sizeof(*f));
    cr_assert_eq(tc_crypto_init(), 0);
    tc_seed_from_u64(f->master, 11);
    cr_assert_eq(tc_genesis_create(&f->g, TC_NET_TESTNET, f->master, 4, NULL, 2,
                                   1000 * TC_UNITS_PER_TIME, GENESIS_MS),
                 0);
    f->store = tc_store_mem_new();
    f->cache = tc_verify_cache_new(1024, TS_CACHE_KEY);
    cr_assert(f->store != NULL && f->cache != NULL);
    tc_node_config c = {.genesis = &f->g, .scheme = TC_SIG_ED25519};
    tc_seed_derive(c.identity_seed, f->master, "validator", 0);
    tc_seed_derive(c.rng_seed, f->master, "node-rng", 0);
    cr_assert_eq(tc_node_new(&c, f->store, f->cache, GENESIS_MS + 1000, &f->node), 0);
    uv_loop_init(&f->loop);
    td_config_defaults(&f->cfg); /* no p2p.listen: the driver only dials, and has no peers */
    td_live_opts lo = {.config = &f->cfg};
    cr_assert_eq(td_live_start(&f->loop, f->node, &lo, &f->live), 0);
    f->env = (td_rpc_env){.node = f->node,
                          .store = f->store,
                          .live = f->live,
                          .genesis = &f->g,
                          .start_ms = td_now_ms()};
}

static void fx_close(fx *f)
{
    td_live_stop(f->live);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    td_live_free(f->live);
    cr_assert_eq(uv_loop_close(&f->loop), 0);
    tc_node_free(f->node);
    tc_store_close(f->store);
    tc_verify_cache_free(f->cache);
    tc_genesis_deinit(&f->g);
}

/* Calls method with params (JSON text); the result, or NULL with *code set (0 on success). */
static json_t *call(fx *f, const char *method, const char *params, int *code)
{
    json_t *p = json_loads(params, 0, NULL);
    cr_assert(json_is_array(p), "params %s", params);
    td_rpc_error err = {0};
    td_rpc_wait wait = {0};
    json_t *r = td_rpc_call(&f->env, method, p, &err, &wait);
    json_decref(p);
    *code = err.code;
    return r;
}

static json_t *ok(fx *f, const char *method, const char *params)
{
    int code = 0;
    json_t *r = call(f, method, params, &code);
    cr_assert(r != NULL && code == 0, "%s %s: code %d", method, params, code);
    return r;
}

static void hex32(char out[65], const uint8_t *b)
{
    tc_hex(out, b, 32);
}

Test(rpc, chain_methods_answer_at_height_zero)
{
    fx f;
    fx_open(&f);
    tc_hash gh;
    char gh_hex[65];
    tc_genesis_hash(&f.g, &gh);
    hex32(gh_hex, gh.b);
    json_t *r = ok(&f, "getblockcount", "[]");
    cr_assert_eq(json_integer_value(r), 0, "a fresh node is at height 0");
    json_decref(r);
    r = ok(&f, "getblockhash", "[0]");
    cr_assert_str_eq(json_string_value(r), gh_hex, "height 0 is the genesis hash");
    json_decref(r);
    r = ok(&f, "getblockchaininfo", "[]");
    json_t *sup = json_object_get(r, "supply");
    cr_assert_str_eq(json_string_value(json_object_get(r, "chain")), "testnet");
    cr_assert_eq(json_integer_value(json_object_get(r, "blocks")), 0);
    cr_assert_eq(json_integer_value(json_object_get(sup, "utxo_total")),
                 json_integer_value(json_object_get(sup, "genesis")),
                 "no rewards or burns yet: the set holds the genesis supply");
    cr_assert_str_eq(json_string_value(json_object_get(r, "genesis_hash")), gh_hex);
    cr_assert(json_is_false(json_object_get(r, "failed")));
    json_decref(r);
    r = ok(&f, "getmasternodelist", "[]");
    json_t *mns = json_object_get(r, "masternodes");
    cr_assert_eq(json_array_size(mns), 4, "the 4 genesis ones");
    cr_assert_eq(json_integer_value(json_object_get(r, "quorum")), 3, "3 of weight 4");
    tc_pubkey pk;
    char pk_hex[65];
    tc_node_pubkey(f.node, &pk);
    hex32(pk_hex, pk.b);
    json_int_t mine = -1;
    for (size_t k = 0; k < json_array_size(mns); k++)
        if (strcmp(json_string_value(json_object_get(json_array_get(mns, k), "key")), pk_hex) == 0)
            mine = json_integer_value(json_object_get(json_array_get(mns, k), "index"));
    cr_assert_geq(mine, 0, "the node's key is a masternode's");
    json_decref(r);
    r = ok(&f, "getconsensusinfo", "[]");
    cr_assert_eq(json_integer_value(json_object_get(r, "height")), 1, "consensus works on 1");
    cr_assert_eq(json_integer_value(json_object_get(r, "validator")), mine, "its index in the set");
    json_decref(r);
    r = ok(&f, "getpeerinfo", "[]");
    cr_assert_eq(json_array_size(r), 0, "no peers");
    json_decref(r);
    fx_close(&f);
}

/* Each documented error code, from the method that raises it. */
Test(rpc, errors_have_their_codes)
{
    static const struct {
        const char *method, *params;
        int code;
    } cases[] = {
        {"nosuchmethod", "[]", TD_RPC_METHOD_NOT_FOUND},
        {"getblockcount", "[1]", TD_RPC_INVALID_PARAMS},
        {"getblockhash", "[]", TD_RPC_INVALID_PARAMS},
        {"getblockhash", "[1]", TD_RPC_INVALID_PARAM},
        {"getblockhash", "[-1]", TD_RPC_INVALID_PARAM},
        {"getblockhash", "[\"1\"]", TD_RPC_INVALID_PARAM},
        {"getblock", "[\"zz\"]", TD_RPC_INVALID_PARAM},
        {"getblock", "[\"" TC_STR64("00") "\"]", TD_RPC_INVALID_ADDRESS},
        {"getblock", "[\"" TC_STR64("00") "\", 3]", TD_RPC_INVALID_PARAM},
        {"getrawtransaction", "[\"" TC_STR64("11") "\"]", TD_RPC_INVALID_ADDRESS},
        {"getbalance", "[\"TIME0bad\"]", TD_RPC_INVALID_ADDRESS},
        {"listunspent", "[3]", TD_RPC_INVALID_ADDRESS},
        {"sendrawtransaction", "[\"00\"]", TD_RPC_DESERIALIZATION},
        {"sendrawtransaction", "[\"0\"]", TD_RPC_DESERIALIZATION},
        {"waittxfinality", "[\"" TC_STR64("22") "\", 60001]", TD_RPC_INVALID_PARAM},
        {"help", "[\"nosuchmethod\"]", TD_RPC_INVALID_PARAM},
    };
    fx f;
    fx_open(&f);
    for (size_t k = 0; k < TC_ARRAY_LEN(cases); k++) {
        int code = 0;
        json_t *r = call(&f, cases[k].method, cases[k].params, &code);
        cr_expect(r == NULL && code == cases[k].code, "%s %s: want %d, got %d", cases[k].method,
                  cases[k].params, cases[k].code, code);
        json_decref(r);
    }
    fx_close(&f);
}

Test(rpc, balances_come_from_the_utxo_set)
{
    fx f;
    fx_open(&f);
    char addr[TC_ADDRESS_TEXT_MAX], params[128];
    tc_address_encode(TC_NET_TESTNET, &f.g.outputs[0].addr, addr);
    snprintf(params, sizeof(params), "[\"%s\"]", addr);
    json_t *r = ok(&f, "getbalance", params);
    cr_assert_eq((uint64_t)json_integer_value(json_object_get(r, "balance")), f.g.outputs[0].amount,
                 "the genesis output of wallet 0");
    cr_assert_eq(json_integer_value(json_object_get(r, "outputs")), 1);
    json_decref(r);
    r = ok(&f, "listunspent", params);
    cr_assert_eq(json_array_size(r), 1);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(r, 0), "vout")), 0);
    json_decref(r);
    /* A masternode owner's collateral is locked, not spendable. */
    tc_address_encode(TC_NET_TESTNET, &f.g.mns[0].owner, addr);
    snprintf(params, sizeof(params), "[\"%s\"]", addr);
    r = ok(&f, "getbalance", params);
    cr_assert_eq(json_integer_value(json_object_get(r, "balance")), 0, "collateral only");
    cr_assert_gt(json_integer_value(json_object_get(r, "locked")), 0, "the collateral");
    json_decref(r);
    fx_close(&f);
}

/* Wallet 0 pays itself 10 TIME: the encoded transaction as hex (free()) and its id. */
static char *wallet0_transfer(fx *f, tc_hash *txid)
{
    tc_keypair w;
    tc_hash gh;
    tc_tx tx;
    cr_assert_eq(tc_genesis_key(f->master, "wallet", 0, &w), 0);
    tc_genesis_hash(&f->g, &gh);
    cr_assert_eq(tc_tx_init_alloc(&tx, TC_TX_TRANSFER, 1, 2), 0);
    tx.inputs[0].prev = (tc_outpoint){.txid = gh, .index = 0};
    tx.inputs[0].pub = w.pub;
    tx.outputs[0].amount = 10 * TC_UNITS_PER_TIME;
    tc_addr_from_pubkey(&w.pub, &tx.outputs[0].addr);
    uint64_t fee = 0;
    cr_assert_eq(tc_tx_min_fee(&f->g.profile, f->g.outputs[0].amount, &fee), 0);
    tx.outputs[1].amount = f->g.outputs[0].amount - 10 * TC_UNITS_PER_TIME - fee;
    tx.outputs[1].addr = tx.outputs[0].addr;
    tc_tx_id(&tx, txid);
    tc_tx_sign_input(&tx, txid, 0, TC_SIG_ED25519, &w);
    uint8_t *bytes = NULL;
    size_t len = 0;
    cr_assert_eq(tc_tx_encode_alloc(&tx, &bytes, &len), 0);
    char *hex = malloc(2 * len + 1);
    cr_assert(hex != NULL);
    tc_hex(hex, bytes, len);
    free(bytes);
    tc_tx_deinit(&tx);
    return hex;
}

/* One node of four cannot finalize alone: the transaction stays pending, a wait with a timeout
 * asks rpc.c to wait until its deadline, and a wait of 0 answers at once with timed_out. */
Test(rpc, a_submitted_transaction_is_pending_and_can_be_waited_for)
{
    fx f;
    fx_open(&f);
    tc_hash txid;
    char *hex = wallet0_transfer(&f, &txid), id[65], params[4096];
    hex32(id, txid.b);
    snprintf(params, sizeof(params), "[\"%s\"]", hex);
    json_t *r = ok(&f, "sendrawtransaction", params);
    cr_assert_str_eq(json_string_value(r), id, "the txid");
    json_decref(r);
    r = ok(&f, "sendrawtransaction", params);
    cr_assert_str_eq(json_string_value(r), id, "a pooled transaction again: its txid, no error");
    json_decref(r);
    snprintf(params, sizeof(params), "[\"%s\"]", id);
    r = ok(&f, "gettxfinality", params);
    cr_assert_str_eq(json_string_value(json_object_get(r, "state")), "pending");
    cr_assert(json_is_true(json_object_get(r, "in_mempool")));
    cr_assert_eq(json_integer_value(json_object_get(r, "quorum")), 3);
    cr_assert_lt(json_integer_value(json_object_get(r, "weight")), 3, "short of the quorum");
    json_decref(r);
    r = ok(&f, "getrawmempool", "[]");
    cr_assert_eq(json_array_size(r), 1);
    cr_assert_str_eq(json_string_value(json_array_get(r, 0)), id);
    json_decref(r);
    r = ok(&f, "getmempoolinfo", "[]");
    cr_assert_eq(json_integer_value(json_object_get(r, "size")), 1);
    json_decref(r);
    snprintf(params, sizeof(params), "[\"%s\", true]", id);
    r = ok(&f, "getrawtransaction", params);
    cr_assert_eq(json_integer_value(
                     json_object_get(json_array_get(json_object_get(r, "vout"), 0), "amount")),
                 (json_int_t)(10 * TC_UNITS_PER_TIME));
    json_decref(r);
    snprintf(params, sizeof(params), "[\"%s\", 0]", id);
    r = ok(&f, "waittxfinality", params);
    cr_assert(json_is_true(json_object_get(r, "timed_out")), "a wait of 0 answers at once");
    json_decref(r);
    snprintf(params, sizeof(params), "[\"%s\", 1500]", id);
    json_t *p = json_loads(params, 0, NULL);
    td_rpc_error err = {0};
    td_rpc_wait wait = {0};
    uint64_t now = td_now_ms();
    cr_assert_null(td_rpc_call(&f.env, "waittxfinality", p, &err, &wait));
    cr_assert_eq(err.code, TD_RPC_WAIT, "it waits");
    cr_assert(memcmp(wait.txid.b, txid.b, TC_HASH_SIZE) == 0, "for this transaction");
    cr_assert(wait.deadline_ms >= now + 1500 && wait.deadline_ms <= now + 1600,
              "until 1500 ms from now, got %llu", (unsigned long long)(wait.deadline_ms - now));
    json_decref(p);
    free(hex);
    fx_close(&f);
}

Test(rpc, help_lists_every_method_with_its_parameter_names)
{
    fx f;
    fx_open(&f);
    json_t *r = ok(&f, "help", "[]");
    const char *text = json_string_value(r);
    cr_assert(strstr(text, "getblock blockhash verbosity\n") != NULL, "%s", text);
    cr_assert(strstr(text, "waittxfinality txid timeout_ms\n") != NULL);
    size_t lines = 1;
    for (const char *c = text; *c; c++)
        lines += *c == '\n';
    cr_assert_eq(lines, 23, "23 methods, got %zu", lines);
    json_decref(r);
    const char *const *names = td_rpc_param_names("getblock");
    cr_assert(names != NULL && strcmp(names[0], "blockhash") == 0 &&
              strcmp(names[1], "verbosity") == 0 && names[2] == NULL);
    cr_assert_null(td_rpc_param_names("nosuchmethod"));
    r = ok(&f, "stop", "[]");
    cr_assert(f.env.stop_requested, "stop asks the owner to stop");
    json_decref(r);
    fx_close(&f);
}

/* The counters behind /metrics: a finality latency of 30 ms lands in the 50 ms bucket and
 * above, view changes by cause, and the page carries the node's height. */
Test(rpc, metrics_count_what_the_node_notifies)
{
    fx f;
    fx_open(&f);
    tc_notify fin = {.kind = TC_NOTIFY_TX_FINALIZED, .latency_ms = 30};
    tc_notify vc = {.kind = TC_NOTIFY_VIEW_CHANGE, .cause = TC_VIEW_CAUSE_TIMEOUT_PREVOTE};
    tc_notify fork = {.kind = TC_NOTIFY_FORK, .height = 9};
    td_rpc_env_note(&f.env, &fin);
    td_rpc_env_note(&f.env, &vc);
    td_rpc_env_note(&f.env, &vc);
    td_rpc_env_note(&f.env, &fork);
    char *page = td_metrics_render(&f.env, 2, 5, 1);
    cr_assert(page != NULL);
    static const char *const want[] = {
        "timecoin_height 0\n",
        "timecoin_finality_latency_ms_bucket{le=\"20\"} 0\n",
        "timecoin_finality_latency_ms_bucket{le=\"50\"} 1\n",
        "timecoin_finality_latency_ms_bucket{le=\"+Inf\"} 1\n",
        "timecoin_finality_latency_ms_sum 30\n",
        "timecoin_view_changes_total{cause=\"timeout_prevote\"} 2\n",
        "timecoin_view_changes_total{cause=\"timeout_propose\"} 0\n",
        "timecoin_rpc_inflight 2\n",
        "timecoin_rpc_refused_total 1\n",
        "# TYPE timecoin_finality_latency_ms histogram\n",
    };
    for (size_t k = 0; k < TC_ARRAY_LEN(want); k++)
        cr_expect(strstr(page, want[k]) != NULL, "missing: %s", want[k]);
    free(page);
    tc_notify ev = {.kind = TC_NOTIFY_EVIDENCE, .height = 7, .round = 1, .validator = 2};
    ev.hash.b[0] = 0xab;
    td_rpc_env_note(&f.env, &ev);
    json_t *r = ok(&f, "getforkinfo", "[]");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(r, "fork"), "height")), 9,
                 "the announced fork's height");
    json_t *e0 = json_array_get(json_object_get(r, "evidence"), 0);
    cr_assert_eq(json_integer_value(json_object_get(e0, "validator")), 2, "the culprit");
    cr_assert_eq(json_integer_value(json_object_get(e0, "height")), 7);
    cr_assert(strncmp(json_string_value(json_object_get(e0, "hash")), "ab00", 4) == 0);
    cr_assert(json_is_null(json_object_get(e0, "included_at")), "no block holds it yet");
    cr_assert(json_is_null(json_object_get(r, "certificates")), "the node itself found no fork");
    json_decref(r);
    fx_close(&f);
}

/* setban adds to the driver's table (listbanned shows it with its end), remove lifts it once. */
Test(rpc, setban_and_listbanned)
{
    fx f;
    fx_open(&f);
    uint64_t now = td_now_ms();
    json_t *r = ok(&f, "setban", "[\"127.0.0.9\", \"add\", 60]");
    cr_assert(json_is_null(r));
    r = ok(&f, "listbanned", "[]");
    cr_assert_eq(json_array_size(r), 1);
    json_t *b = json_array_get(r, 0);
    cr_assert_str_eq(json_string_value(json_object_get(b, "address")), "127.0.0.9");
    uint64_t until = (uint64_t)json_integer_value(json_object_get(b, "banned_until_ms"));
    cr_assert(until >= now + 60000 && until <= now + 61000, "60 s from now, got +%llu ms",
              (unsigned long long)(until - now));
    json_decref(r);
    json_decref(ok(&f, "setban", "[\"127.0.0.9\", \"remove\"]"));
    r = ok(&f, "listbanned", "[]");
    cr_assert_eq(json_array_size(r), 0, "lifted");
    json_decref(r);
    static const struct {
        const char *params;
        int code;
    } bad[] = {
        {"[\"127.0.0.9\", \"remove\"]", TD_RPC_UNBAN_FAILED},
        {"[\"127.0.0\", \"add\"]", TD_RPC_INVALID_PARAM},
        {"[\"127.0.0.9:1\", \"add\"]", TD_RPC_INVALID_PARAM},
        {"[\"127.0.0.9\", \"ban\"]", TD_RPC_INVALID_PARAM},
        {"[\"127.0.0.9\", \"add\", 0]", TD_RPC_INVALID_PARAM},
        {"[\"127.0.0.9\"]", TD_RPC_INVALID_PARAMS},
    };
    for (size_t k = 0; k < TC_ARRAY_LEN(bad); k++) {
        int code = 0;
        json_t *x = call(&f, "setban", bad[k].params, &code);
        cr_expect(x == NULL && code == bad[k].code, "setban %s: want %d, got %d", bad[k].params,
                  bad[k].code, code);
        json_decref(x);
    }
    fx_close(&f);
}
