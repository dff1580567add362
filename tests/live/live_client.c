/* live_client.c — the live test's client: a full node of its own (memory store, fresh key)
 * driven by the same live driver as timed (net-real/live.h), which dials one peer and, once the
 * handshake is done, submits one transfer from each wallet key file given, over P2P (the node
 * gossips what it accepts). It prints one JSON line per transfer ({"txid", "code"}) and, at the
 * end, {"submitted", "accepted", "finalized"}; it exits 0 when every accepted transfer was
 * finalized (seen by its own node) within the time limit, 1 otherwise, 2 on bad usage.
 *
 *   usage: live_client --genesis FILE --peer IP:PORT [--timeout-ms MS] WALLET_KEY_FILE...
 */
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "log.h"

#define WALLETS_MAX 64

typedef struct {
    tc_genesis genesis;
    tc_keypair keys[WALLETS_MAX];
    uint32_t key_count;
    tc_hash txids[WALLETS_MAX];
    bool final[WALLETS_MAX];
    uint32_t accepted, finalized;
    bool submitted;
    td_live *live;
    uv_loop_t *loop;
    uv_timer_t deadline;
} client;

static int load_wallet(client *c, const char *path)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    const char *hex = json_string_value(json_object_get(doc, "seed"));
    uint8_t seed[TC_SEED_SIZE];
    size_t n = 0;
    int rc = hex != NULL &&
                     sodium_hex2bin(seed, sizeof(seed), hex, strlen(hex), NULL, &n, NULL) == 0 &&
                     n == sizeof(seed)
                 ? 0
                 : -1;
    json_decref(doc);
    if (rc == 0)
        tc_keypair_from_seed(&c->keys[c->key_count++], seed);
    else
        fprintf(stderr, "live_client: %s: not a key file\n", path);
    return rc;
}

/* One transfer from wallet k's genesis output: half to the next wallet, the change back. */
static void submit_one(client *c, uint32_t k)
{
    tc_addr_hash me, to;
    tc_addr_from_pubkey(&c->keys[k].pub, &me);
    tc_addr_from_pubkey(&c->keys[(k + 1) % c->key_count].pub, &to);
    tc_hash gh;
    tc_genesis_hash(&c->genesis, &gh);
    uint32_t index = UINT32_MAX;
    for (uint32_t j = 0; j < c->genesis.output_count && index == UINT32_MAX; j++)
        if (memcmp(c->genesis.outputs[j].addr.b, me.b, sizeof(me.b)) == 0)
            index = j;
    if (index == UINT32_MAX) {
        printf("{\"wallet\": %u, \"error\": \"no genesis output\"}\n", k);
        return;
    }
    uint64_t amount = c->genesis.outputs[index].amount, fee = 0;
    tc_tx tx;
    if (tc_tx_min_fee(&c->genesis.profile, amount, &fee) != 0 ||
        tc_tx_init_alloc(&tx, TC_TX_TRANSFER, 1, 2) != 0)
        return;
    fee += 1000;
    tx.inputs[0].prev = (tc_outpoint){.txid = gh, .index = index};
    tx.inputs[0].pub = c->keys[k].pub;
    tx.outputs[0] = (tc_txout){.amount = amount / 2, .addr = to};
    tx.outputs[1] = (tc_txout){.amount = amount - amount / 2 - fee, .addr = me};
    tc_tx_id(&tx, &c->txids[k]);
    tc_tx_sign_input(&tx, &c->txids[k], 0, TC_SIG_ED25519, &c->keys[k]);
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = tc_tx_encode_alloc(&tx, &bytes, &len);
    tc_tx_deinit(&tx);
    if (rc == 0)
        rc = td_live_submit_tx(c->live, bytes, len);
    free(bytes);
    char hex[2 * TC_HASH_SIZE + 1];
    tc_hex(hex, c->txids[k].b, TC_HASH_SIZE);
    printf("{\"txid\": \"%s\", \"code\": %d}\n", hex, rc);
    fflush(stdout);
    c->accepted += rc == 0;
    c->final[k] = rc != 0; /* a refused one is not waited for */
}

static void on_notify(void *ctx, const tc_notify *nt)
{
    client *c = ctx;
    if (nt->kind == TC_NOTIFY_PEER_READY && !c->submitted) {
        c->submitted = true;
        for (uint32_t k = 0; k < c->key_count; k++)
            submit_one(c, k);
    }
    if (nt->kind != TC_NOTIFY_TX_FINALIZED)
        return;
    for (uint32_t k = 0; k < c->key_count; k++) {
        if (!c->final[k] && memcmp(nt->hash.b, c->txids[k].b, TC_HASH_SIZE) == 0) {
            c->final[k] = true;
            c->finalized++;
        }
    }
    if (c->submitted && c->finalized == c->accepted)
        uv_stop(c->loop);
}

static void on_deadline(uv_timer_t *t)
{
    uv_stop(t->loop);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a peer's reset fails a write with EPIPE instead */
    static client c;
    const char *genesis = NULL, *peer = NULL;
    uint64_t timeout_ms = 30000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--genesis") == 0 && i + 1 < argc)
            genesis = argv[++i];
        else if (strcmp(argv[i], "--peer") == 0 && i + 1 < argc)
            peer = argv[++i];
        else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc)
            timeout_ms = strtoull(argv[++i], NULL, 10);
        else if (c.key_count < WALLETS_MAX && load_wallet(&c, argv[i]) != 0)
            return 2;
    }
    if (genesis == NULL || peer == NULL || c.key_count == 0 || tc_crypto_init() != 0) {
        fprintf(stderr, "usage: live_client --genesis FILE --peer IP:PORT [--timeout-ms MS] "
                        "WALLET_KEY_FILE...\n");
        return 2;
    }
    json_error_t jerr;
    json_t *gdoc = json_load_file(genesis, 0, &jerr);
    char *text = gdoc ? json_dumps(gdoc, 0) : NULL, err[256];
    json_decref(gdoc);
    if (text == NULL || tc_genesis_parse(text, strlen(text), &c.genesis, err, sizeof(err)) != 0) {
        fprintf(stderr, "live_client: %s: cannot read the genesis\n", genesis);
        return 2;
    }
    free(text);
    td_config cfg;
    td_config_defaults(&cfg);
    td_log_setup(TD_LOG_WARN, TD_LOG_TEXT);
    tc_store *store = tc_store_mem_new();
    uint8_t key[TC_SHORTHASH_KEY_SIZE];
    randombytes_buf(key, sizeof(key));
    tc_verify_cache *cache = tc_verify_cache_new(1u << 14, key);
    tc_node_config nc = {.genesis = &c.genesis,
                         .scheme = TC_SIG_ED25519,
                         .user_agent = "live_client",
                         .seed_count = 1,
                         .seeds = &peer};
    randombytes_buf(nc.identity_seed, sizeof(nc.identity_seed));
    randombytes_buf(nc.rng_seed, sizeof(nc.rng_seed));
    tc_node *node = NULL;
    if (store == NULL || cache == NULL || tc_node_new(&nc, store, cache, td_now_ms(), &node) != 0)
        return 1;
    uv_loop_t *loop = uv_default_loop();
    c.loop = loop;
    td_live_opts lo = {.config = &cfg, .on_notify = on_notify, .ctx = &c};
    if (td_live_start(loop, node, &lo, &c.live) != 0)
        return 1;
    uv_timer_init(loop, &c.deadline);
    uv_timer_start(&c.deadline, on_deadline, timeout_ms, 0);
    uint64_t t0 = td_now_ms();
    uv_run(loop, UV_RUN_DEFAULT);
    uint64_t took = td_now_ms() - t0;
    td_live_stop(c.live);
    uv_close((uv_handle_t *)&c.deadline, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    td_live_free(c.live);
    printf("{\"submitted\": %u, \"accepted\": %u, \"finalized\": %u, \"ms\": %llu}\n",
           c.submitted ? c.key_count : 0, c.accepted, c.finalized, (unsigned long long)took);
    tc_node_free(node);
    tc_store_close(store);
    tc_verify_cache_free(cache);
    tc_genesis_deinit(&c.genesis);
    return c.submitted && c.accepted == c.key_count && c.finalized == c.accepted ? 0 : 1;
}
