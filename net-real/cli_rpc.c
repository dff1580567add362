/* cli_rpc.c — time-cli's live half (cli_rpc.h): every RPC method as a command over libcurl, and a
 * small wallet (keygen, address, balance, send) that signs locally and talks to a node over RPC.
 *
 * Exit codes: 0 success; 1 the node answered an error, could not be reached, or a send did not
 * reach finality in time (the message on stderr); 2 bad usage or a bad wallet file.
 */
#include "cli_rpc.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "crypto.h"
#include "tx.h"

#define RESP_MAX        (64u << 20)
#define SEND_INPUTS_MAX 64
#define DEFAULT_CONNECT "127.0.0.1:24101"
#define DEFAULT_WALLET  "wallet.json"
#define POLL_MS         1000

typedef struct {
    char url[256];
    char userpwd[512];
    long timeout_s;
    const char *wallet;
    uint64_t wait_ms; /* send: how long to wait for finality */
} cli;

typedef struct {
    char *buf;
    size_t len;
    bool too_big;
} resp_buf;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    resp_buf *r = ud;
    size_t n = size * nmemb;
    if (r->too_big || r->len + n + 1 > RESP_MAX) {
        r->too_big = true;
        return 0;
    }
    char *b = realloc(r->buf, r->len + n + 1);
    if (b == NULL)
        return 0;
    memcpy(b + r->len, ptr, n);
    r->buf = b;
    r->len += n;
    r->buf[r->len] = 0;
    return n;
}

/* Calls method with params (stolen). The result (a new reference), or NULL with the error
 * printed on stderr. */
static json_t *call(const cli *c, const char *method, json_t *params)
{
    json_t *req = json_pack("{s:s, s:s, s:s, s:o}", "jsonrpc", "2.0", "id", "time-cli", "method",
                            method, "params", params ? params : json_array());
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    CURL *h = body ? curl_easy_init() : NULL;
    if (h == NULL) {
        free(body);
        fprintf(stderr, "error: out of memory\n");
        return NULL;
    }
    resp_buf r = {0};
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_USERPWD, c->userpwd);
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    free(body);
    json_t *doc = cc == CURLE_OK && r.buf ? json_loads(r.buf, 0, NULL) : NULL;
    free(r.buf);
    json_t *result = json_object_get(doc, "result"), *error = json_object_get(doc, "error");
    if (cc != CURLE_OK)
        fprintf(stderr, "error: could not connect to the server %s: %s\n", c->url,
                curl_easy_strerror(cc));
    else if (status == 401)
        fprintf(stderr, "error: incorrect rpcuser or rpcpassword (authorization failed)\n");
    else if (doc == NULL)
        fprintf(stderr, "error: HTTP %ld with a body that is not JSON\n", status);
    else if (error != NULL && !json_is_null(error))
        fprintf(stderr, "error code: %lld\nerror message:\n%s\n",
                (long long)json_integer_value(json_object_get(error, "code")),
                json_string_value(json_object_get(error, "message")));
    result = cc == CURLE_OK && doc != NULL && (error == NULL || json_is_null(error)) && result
                 ? json_incref(result)
                 : NULL;
    json_decref(doc);
    return result;
}

static void print_result(json_t *v)
{
    if (json_is_string(v)) {
        puts(json_string_value(v));
        return;
    }
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (s != NULL)
        puts(s);
    free(s);
}

/* bitcoin-cli's conversion, simplified: small integers, true, false, null and JSON arrays or
 * objects are JSON; everything else (hashes, hex, addresses) is a string. */
static json_t *convert_arg(const char *a)
{
    size_t n = strlen(a);
    bool digits = n > 0 && n <= 18 && strspn(a, "0123456789") == n;
    if (digits || strcmp(a, "true") == 0 || strcmp(a, "false") == 0 || strcmp(a, "null") == 0 ||
        a[0] == '[' || a[0] == '{') {
        json_t *v = json_loads(a, JSON_DECODE_ANY, NULL);
        if (v != NULL)
            return v;
    }
    return json_string(a);
}

static int cmd_rpc(const cli *c, const char *method, int argc, char **argv)
{
    json_t *params = json_array();
    for (int i = 0; i < argc; i++)
        json_array_append_new(params, convert_arg(argv[i]));
    json_t *r = call(c, method, params);
    if (r == NULL)
        return 1;
    print_result(r);
    json_decref(r);
    return 0;
}

/* ---- the wallet ---- */

static int load_wallet(const cli *c, tc_keypair *kp)
{
    json_error_t jerr;
    json_t *doc = json_load_file(c->wallet, 0, &jerr);
    const char *hex = json_string_value(json_object_get(doc, "seed"));
    uint8_t seed[TC_SEED_SIZE];
    size_t n = 0;
    bool ok = hex != NULL && strlen(hex) == 2 * TC_SEED_SIZE &&
              sodium_hex2bin(seed, sizeof(seed), hex, strlen(hex), NULL, &n, NULL) == 0 &&
              n == sizeof(seed);
    json_decref(doc);
    if (!ok) {
        fprintf(stderr, "time-cli: %s: %s\n", c->wallet,
                doc == NULL ? jerr.text : "not a key file (a \"seed\" of 64 hex digits)");
        return 2;
    }
    tc_keypair_from_seed(kp, seed);
    sodium_memzero(seed, sizeof(seed));
    return 0;
}

static int cmd_keygen(const cli *c, tc_network net)
{
    uint8_t seed[TC_SEED_SIZE];
    randombytes_buf(seed, sizeof(seed));
    tc_keypair kp;
    tc_keypair_from_seed(&kp, seed);
    tc_addr_hash ah;
    char seed_hex[2 * TC_SEED_SIZE + 1], pub_hex[2 * TC_PUBKEY_SIZE + 1];
    char addr[TC_ADDRESS_TEXT_MAX];
    tc_addr_from_pubkey(&kp.pub, &ah);
    tc_address_encode(net, &ah, addr);
    tc_hex(seed_hex, seed, sizeof(seed));
    tc_hex(pub_hex, kp.pub.b, sizeof(kp.pub.b));
    sodium_memzero(seed, sizeof(seed));
    json_t *doc = json_pack("{s:s, s:i, s:s, s:s, s:s}", "kind", "wallet", "index", 0, "seed",
                            seed_hex, "public_key", pub_hex, "address", addr);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    sodium_memzero(seed_hex, sizeof(seed_hex));
    /* O_EXCL: a key file is never overwritten; 0600: only its owner reads the seed. */
    int fd = text ? open(c->wallet, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) &&
              write(fd, "\n", 1) == 1;
    if (fd >= 0)
        ok = close(fd) == 0 && ok;
    free(text);
    if (!ok) {
        fprintf(stderr, "time-cli: %s: %s\n", c->wallet,
                errno == EEXIST ? "exists already (a key file is never overwritten)"
                                : strerror(errno));
        return 2;
    }
    puts(addr);
    return 0;
}

static int cmd_address(const cli *c, tc_network net)
{
    tc_keypair kp;
    int rc = load_wallet(c, &kp);
    if (rc != 0)
        return rc;
    tc_addr_hash ah;
    char addr[TC_ADDRESS_TEXT_MAX];
    tc_addr_from_pubkey(&kp.pub, &ah);
    tc_address_encode(net, &ah, addr);
    puts(addr);
    return 0;
}

/* The wallet's address on the node's network (asked from the node). */
static int node_address(const cli *c, const tc_keypair *kp, tc_network *net_out,
                        char addr[TC_ADDRESS_TEXT_MAX])
{
    json_t *info = call(c, "getblockchaininfo", NULL);
    if (info == NULL)
        return 1;
    const char *chain = json_string_value(json_object_get(info, "chain"));
    *net_out = chain != NULL && strcmp(chain, "mainnet") == 0 ? TC_NET_MAINNET : TC_NET_TESTNET;
    json_decref(info);
    tc_addr_hash ah;
    tc_addr_from_pubkey(&kp->pub, &ah);
    tc_address_encode(*net_out, &ah, addr);
    return 0;
}

static int cmd_balance(const cli *c)
{
    tc_keypair kp;
    tc_network net;
    char addr[TC_ADDRESS_TEXT_MAX];
    int rc = load_wallet(c, &kp);
    if (rc == 0)
        rc = node_address(c, &kp, &net, addr);
    json_t *r = rc == 0 ? call(c, "getbalance", json_pack("[s]", addr)) : NULL;
    if (r == NULL)
        return rc != 0 ? rc : 1;
    print_result(r);
    json_decref(r);
    return 0;
}

/* "12", "12.5" or "0.00000001" TIME into units (8 decimals), with the core's number parser. */
static int parse_time_amount(const char *s, uint64_t *units_out)
{
    const char *dot = strchr(s, '.');
    size_t int_len = dot ? (size_t)(dot - s) : strlen(s), frac_len = dot ? strlen(dot + 1) : 0;
    uint64_t whole = 0, frac = 0;
    if (tc_parse_u64n(s, int_len, 0, UINT64_MAX / TC_UNITS_PER_TIME, &whole) != 0 || frac_len > 8 ||
        (dot && (frac_len == 0 || tc_parse_u64n(dot + 1, frac_len, 0, UINT64_MAX, &frac) != 0)))
        return -1;
    for (size_t k = frac_len; k < 8; k++)
        frac *= 10;
    *units_out = whole * TC_UNITS_PER_TIME + frac;
    return *units_out > 0 ? 0 : -1;
}

typedef struct {
    tc_outpoint op[SEND_INPUTS_MAX];
    uint32_t count;
    uint64_t total;
} coins;

static int by_amount_desc(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "amount"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "amount"));
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Largest spendable outputs first until they pay amount and the minimum fee of what they add up
 * to (the fee grows with the output total, which is at most the input total, so the fee of the
 * input total is enough). *fee_out gets that fee. */
static int select_coins(json_t *utxos, const tc_profile *p, uint64_t amount, coins *out,
                        uint64_t *fee_out)
{
    size_t n = json_array_size(utxos), m = 0;
    json_t **list = calloc(n + 1, sizeof(*list));
    if (list == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (json_is_true(json_object_get(json_array_get(utxos, i), "spendable")))
            list[m++] = json_array_get(utxos, i);
    qsort(list, m, sizeof(*list), by_amount_desc);
    uint64_t fee = 0;
    out->count = 0;
    out->total = 0;
    for (size_t i = 0; i < m && out->count < SEND_INPUTS_MAX; i++) {
        size_t len = 0;
        const char *hex = json_string_value(json_object_get(list[i], "txid"));
        tc_outpoint *op = &out->op[out->count];
        if (hex == NULL ||
            sodium_hex2bin(op->txid.b, TC_HASH_SIZE, hex, strlen(hex), NULL, &len, NULL) != 0 ||
            len != TC_HASH_SIZE)
            continue;
        op->index = (uint32_t)json_integer_value(json_object_get(list[i], "vout"));
        out->total += (uint64_t)json_integer_value(json_object_get(list[i], "amount"));
        out->count++;
        if (tc_tx_min_fee(p, out->total, &fee) == 0 && out->total >= amount + fee)
            break;
    }
    free(list);
    *fee_out = fee;
    return out->count > 0 && out->total >= amount + fee ? 0 : -1;
}

/* What a wallet transaction does besides paying its fee from the wallet's coins with the change
 * back: a transfer of amount to `to`; a registration, whose outputs[0] is the tier's collateral
 * paid to the wallet (the owner) and which the masternode key signs; a retirement of mn's key,
 * which the wallet (the owner, as the first input) signs. */
typedef struct {
    tc_tx_kind kind;
    uint64_t amount; /* outputs[0]; 0 for a retirement (no output but the change) */
    tc_addr_hash to;
    tc_keypair mn; /* registration: signs mn_sig; retirement: its public key only */
    uint8_t tier;
    const char *net_addr; /* registration: "host:port" or "" */
} plan;

static void fill_payload(tc_tx *tx, const plan *pl)
{
    if (pl->kind == TC_TX_TRANSFER)
        return;
    tx->mn_key = pl->mn.pub;
    if (pl->kind == TC_TX_MN_REGISTER) {
        tx->mn_tier = pl->tier;
        tx->net_addr_len = (uint8_t)strlen(pl->net_addr);
        memcpy(tx->net_addr, pl->net_addr, tx->net_addr_len);
    }
}

/* Builds and signs pl's transaction over the coins in; the change goes back unless below dust
 * (then it is fee). */
static int build_tx(const coins *in, const tc_keypair *kp, const plan *pl, uint64_t fee,
                    uint64_t dust, char **hex_out, tc_hash *txid)
{
    uint64_t change = in->total - pl->amount - fee;
    bool has_change = change > 0 && change >= dust, has_first = pl->amount > 0;
    uint32_t outs = (uint32_t)has_first + (uint32_t)has_change;
    tc_tx tx;
    if (outs == 0 || tc_tx_init_alloc(&tx, pl->kind, in->count, outs) != 0)
        return -1;
    for (uint32_t i = 0; i < in->count; i++) {
        tx.inputs[i].prev = in->op[i];
        tx.inputs[i].pub = kp->pub;
    }
    if (has_first)
        tx.outputs[0] = (tc_txout){.amount = pl->amount, .addr = pl->to};
    if (has_change) {
        tx.outputs[outs - 1].amount = change;
        tc_addr_from_pubkey(&kp->pub, &tx.outputs[outs - 1].addr);
    }
    fill_payload(&tx, pl);
    tc_tx_id(&tx, txid);
    for (uint32_t i = 0; i < in->count; i++)
        tc_tx_sign_input(&tx, txid, i, TC_SIG_ED25519, kp);
    if (pl->kind == TC_TX_MN_REGISTER)
        tc_tx_sign_mn(&tx, txid, TC_SIG_ED25519, &pl->mn);
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = tc_tx_encode_alloc(&tx, &bytes, &len);
    *hex_out = rc == 0 ? malloc(2 * len + 1) : NULL;
    if (*hex_out != NULL)
        tc_hex(*hex_out, bytes, len);
    free(bytes);
    tc_tx_deinit(&tx);
    return *hex_out != NULL ? 0 : -1;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits for finality with waittxfinality, one call a second, printing a progress line on
 * stderr after each. 0 final, 1 not within c->wait_ms or an RPC error. */
static int wait_final(const cli *c, const char *txid, uint64_t start_ms, json_t **state_out)
{
    for (;;) {
        uint64_t waited = mono_ms() - start_ms;
        uint64_t left = waited < c->wait_ms ? c->wait_ms - waited : 0;
        json_t *st = call(c, "waittxfinality",
                          json_pack("[s, I]", txid, (json_int_t)(left < POLL_MS ? left : POLL_MS)));
        if (st == NULL)
            return 1;
        bool final = json_is_true(json_object_get(st, "final"));
        fprintf(stderr, "\rtime-cli: %s %s weight %lld/%lld after %llu ms%s", txid,
                json_string_value(json_object_get(st, "state")),
                (long long)json_integer_value(json_object_get(st, "weight")),
                (long long)json_integer_value(json_object_get(st, "quorum")),
                (unsigned long long)(mono_ms() - start_ms), final ? "\n" : "");
        if (final || left == 0) {
            if (!final)
                fprintf(stderr, "\ntime-cli: not final within %llu ms\n",
                        (unsigned long long)c->wait_ms);
            *state_out = st;
            return final ? 0 : 1;
        }
        json_decref(st);
    }
}

/* The fee rule and the dust limit from the node (getmempoolinfo). 0 or 1. */
static int fee_rule(const cli *c, tc_profile *p, uint64_t *dust_out)
{
    json_t *mp = call(c, "getmempoolinfo", NULL);
    if (mp == NULL)
        return 1;
    memset(p, 0, sizeof(*p));
    p->min_fee_base = (uint64_t)json_integer_value(json_object_get(mp, "min_fee_base"));
    p->min_fee_per_mille = (uint32_t)json_integer_value(json_object_get(mp, "min_fee_per_mille"));
    *dust_out = (uint64_t)json_integer_value(json_object_get(mp, "dust_limit"));
    json_decref(mp);
    return 0;
}

/* createtx: the signed transaction, printed unsent. */
static int print_unsent(const char *hex, const tc_hash *txid, uint64_t amount, uint64_t fee)
{
    char id[2 * TC_HASH_SIZE + 1];
    tc_hex(id, txid->b, TC_HASH_SIZE);
    json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "txid", id, "hex", hex, "amount",
                          (json_int_t)amount, "fee", (json_int_t)fee);
    print_result(o);
    json_decref(o);
    return 0;
}

/* Pays for pl from the wallet kp (address from): selects coins, builds and signs, then prints it
 * (!submit) or submits it and waits for finality. 0, 1 (RPC, funds, no finality). */
static int pay(const cli *c, const tc_keypair *kp, const char *from, const plan *pl, bool submit)
{
    tc_profile p;
    uint64_t dust = 0, fee = 0;
    coins in;
    char *hex = NULL;
    tc_hash txid;
    int rc = fee_rule(c, &p, &dust);
    json_t *utxos = rc == 0 ? call(c, "listunspent", json_pack("[s]", from)) : NULL;
    rc = utxos == NULL ? 1 : select_coins(utxos, &p, pl->amount, &in, &fee) != 0 ? 3 : 0;
    json_decref(utxos);
    if (rc == 3)
        fprintf(stderr, "time-cli: %s cannot pay %llu units and the fee\n", from,
                (unsigned long long)pl->amount);
    if (rc == 0 && build_tx(&in, kp, pl, fee, dust, &hex, &txid) != 0)
        rc = 1;
    if (rc != 0 || !submit) {
        rc = rc == 0 ? print_unsent(hex, &txid, pl->amount, fee) : 1;
        free(hex);
        return rc;
    }
    uint64_t start = mono_ms();
    json_t *sent = call(c, "sendrawtransaction", json_pack("[s]", hex)), *state = NULL;
    free(hex);
    rc = sent != NULL ? wait_final(c, json_string_value(sent), start, &state) : 1;
    if (state != NULL) {
        json_object_set_new(state, "amount", json_integer((json_int_t)pl->amount));
        json_object_set_new(state, "fee", json_integer((json_int_t)fee));
        json_object_set_new(state, "elapsed_ms", json_integer((json_int_t)(mono_ms() - start)));
        print_result(state);
    }
    json_decref(sent);
    json_decref(state);
    return rc;
}

static int cmd_send(const cli *c, const char *to_text, const char *amount_text, bool submit)
{
    tc_keypair kp;
    tc_network net;
    char from[TC_ADDRESS_TEXT_MAX];
    plan pl = {.kind = TC_TX_TRANSFER};
    int rc = load_wallet(c, &kp);
    if (rc != 0)
        return rc;
    if (parse_time_amount(amount_text, &pl.amount) != 0) {
        fprintf(stderr, "time-cli: AMOUNT is TIME with at most 8 decimals, not %s\n", amount_text);
        return 2;
    }
    if ((rc = node_address(c, &kp, &net, from)) != 0)
        return rc;
    if ((rc = tc_address_decode(to_text, net, &pl.to)) != 0) {
        fprintf(stderr, "time-cli: %s: %s\n", to_text, tc_strerror(rc));
        return 2;
    }
    return pay(c, &kp, from, &pl, submit);
}

/* register-masternode TIER MN_KEY_FILE [NET_ADDR] and retire-masternode MN_KEY_FILE: the wallet
 * is the owner (it pays the collateral, receives the rewards, and alone may retire). */
static int cmd_masternode(const cli *c, bool reg, int argc, char **argv)
{
    tc_keypair kp;
    tc_network net;
    char from[TC_ADDRESS_TEXT_MAX];
    plan pl = {.kind = reg ? TC_TX_MN_REGISTER : TC_TX_MN_RETIRE, .net_addr = ""};
    cli mn = *c;
    mn.wallet = argv[reg ? 1 : 0];
    int rc = load_wallet(c, &kp);
    if (rc == 0)
        rc = load_wallet(&mn, &pl.mn);
    bool tier_ok = !reg;
    for (uint8_t t = 0; reg && t < TC_TIER_COUNT; t++)
        if (strcmp(argv[0], tc_tier_name((tc_tier)t)) == 0) {
            pl.tier = t;
            tier_ok = true;
        }
    if (rc == 0 && !tier_ok) {
        fprintf(stderr, "time-cli: TIER is bronze, silver or gold, not %s\n", argv[0]);
        rc = 2;
    }
    if (reg && argc == 3)
        pl.net_addr = argv[2];
    if (rc == 0 && strlen(pl.net_addr) > TC_TX_NETADDR_MAX) {
        fprintf(stderr, "time-cli: NET_ADDR is at most %d bytes\n", TC_TX_NETADDR_MAX);
        rc = 2;
    }
    if (rc == 0)
        rc = node_address(c, &kp, &net, from);
    json_t *list = rc == 0 && reg ? call(c, "getmasternodelist", NULL) : NULL;
    if (reg && rc == 0) {
        pl.amount = (uint64_t)json_integer_value(
            json_object_get(json_object_get(list, "collateral"), argv[0]));
        tc_addr_from_pubkey(&kp.pub, &pl.to);
        rc = pl.amount > 0 ? 0 : 1;
    }
    json_decref(list);
    return rc == 0 ? pay(c, &kp, from, &pl, true) : rc;
}

/* ---- options ---- */

static int read_cookie(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr,
                "error: cannot read the RPC cookie %s: %s (is timed running on that data "
                "folder? or give -rpcuser and -rpcpassword)\n",
                path, strerror(errno));
        return 1;
    }
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = 0;
    out[strcspn(out, "\r\n")] = 0;
    return 0;
}

static bool opt(const char *arg, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0 || arg[n] != '=')
        return false;
    *value = arg + n + 1;
    return true;
}

/* The options before the command (cli_rpc.h's usage). */
typedef struct {
    const char *connect, *user, *pass, *datadir, *cookie;
    tc_network net;
} options;

static bool set_option(cli *c, options *o, const char *arg)
{
    const char *v = NULL;
    uint64_t n = 0;
    const char **texts[] = {&o->connect, &o->user, &o->pass, &o->datadir, &o->cookie, &c->wallet};
    static const char *const names[] = {"-rpcconnect", "-rpcuser",       "-rpcpassword",
                                        "-datadir",    "-rpccookiefile", "-wallet"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
        if (opt(arg, names[k], &v)) {
            *texts[k] = v;
            return true;
        }
    if (opt(arg, "-rpcclienttimeout", &v) && tc_parse_u64(v, 1, 3600, &n) == 0)
        c->timeout_s = (long)n;
    else if (opt(arg, "-waitms", &v) && tc_parse_u64(v, 0, 3600000, &n) == 0)
        c->wait_ms = n;
    else if (!opt(arg, "-network", &v) || tc_profile_network_parse(v, &o->net) != 0)
        return false;
    return true;
}

/* The URL and the credentials: -rpcuser/-rpcpassword, or the cookie. 0, 1 (no cookie), 2. */
static int connection(cli *c, const options *o)
{
    snprintf(c->url, sizeof(c->url), "http://%s/", o->connect);
    if (o->user != NULL) {
        snprintf(c->userpwd, sizeof(c->userpwd), "%s:%s", o->user, o->pass);
        return 0;
    }
    if (o->cookie == NULL && o->datadir == NULL) {
        fprintf(stderr, "time-cli: give -datadir=DIR (its .cookie) or -rpcuser and "
                        "-rpcpassword\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/.cookie", o->datadir ? o->datadir : ".");
    return read_cookie(o->cookie ? o->cookie : path, c->userpwd, sizeof(c->userpwd)) != 0 ? 1 : 0;
}

static int dispatch(cli *c, const char *cmd, int rest, char **args)
{
    if (strcmp(cmd, "balance") == 0)
        return rest == 0 ? cmd_balance(c) : 2;
    if (strcmp(cmd, "send") == 0 || strcmp(cmd, "createtx") == 0)
        return rest == 2 ? cmd_send(c, args[0], args[1], strcmp(cmd, "send") == 0) : 2;
    if (strcmp(cmd, "register-masternode") == 0)
        return rest == 2 || rest == 3 ? cmd_masternode(c, true, rest, args) : 2;
    if (strcmp(cmd, "retire-masternode") == 0)
        return rest == 1 ? cmd_masternode(c, false, rest, args) : 2;
    return cmd_rpc(c, cmd, rest, args);
}

int td_cli_main(int argc, char **argv)
{
    static cli c;
    options o = {.connect = DEFAULT_CONNECT, .pass = "", .net = TC_NET_TESTNET};
    c.timeout_s = 90;
    c.wallet = DEFAULT_WALLET;
    c.wait_ms = 60000;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!set_option(&c, &o, argv[i])) {
            fprintf(stderr, "time-cli: unknown or bad option %s (time-cli help)\n", argv[i]);
            return 2;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "time-cli: a command is missing (time-cli help)\n");
        return 2;
    }
    const char *cmd = argv[i++];
    int rest = argc - i;
    if (strcmp(cmd, "keygen") == 0)
        return rest == 0 ? cmd_keygen(&c, o.net) : 2;
    if (strcmp(cmd, "address") == 0)
        return rest == 0 ? cmd_address(&c, o.net) : 2;
    int rc = connection(&c, &o);
    if (rc != 0)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = dispatch(&c, cmd, rest, argv + i);
    if (rc == 2)
        fprintf(stderr, "time-cli: usage: time-cli [options] balance | send ADDRESS AMOUNT | "
                        "createtx ADDRESS AMOUNT | register-masternode TIER KEY_FILE [NET_ADDR] | "
                        "retire-masternode KEY_FILE | METHOD [ARG...] (time-cli help)\n");
    curl_global_cleanup();
    sodium_memzero(c.userpwd, sizeof(c.userpwd));
    return rc;
}
