/* genesis.c — the genesis document: JSON in (jansson) and out, the rules it must satisfy, its
 * hash, its outpoints, and the seed-derived genesis the tools and the simulator start from. */
#include "genesis.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "codec.h"

/* Room for the longest path we build ("masternodes[4294967295].net_address") and a user key. */
#define PATH_LEN 128
/* Upper bound on profile fields, for the defaults table of tc_genesis_to_json. */
#define PROFILE_FIELDS_MAX 256
/* The longest profile field name the hash encoding accepts (names are C identifiers). */
#define PROFILE_NAME_MAX 64

static const char *const top_keys[] = {"network", "time_ms", "outputs", "masternodes", "profile"};
static const char *const output_keys[] = {"address", "amount"};
static const char *const mn_keys[] = {"key", "tier", "address", "net_address"};

/* Where parse errors go; the network is known once "network" is read. */
typedef struct {
    char *err;
    size_t err_len;
    tc_network net;
} ctx;

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t err_len, const char *path,
                                                      const char *fmt, ...)
{
    if (err == NULL || err_len == 0)
        return TC_EGENESIS;
    int n = snprintf(err, err_len, "%s: ", path);
    if (n >= 0 && (size_t)n < err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return TC_EGENESIS;
}

static const char *network_name(tc_network n)
{
    return n == TC_NET_MAINNET ? "mainnet" : "testnet";
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "an unknown JSON type";
}

/* "parent.key", or "key" at the top level. A key comes from the document and can be longer
 * than any path kept here: such a path is cut and ends in "...", so that an error message never
 * names a shorter key that reads as complete. */
static void child_path(char out[PATH_LEN], const char *parent, const char *key)
{
    int n = parent[0] == '\0' ? snprintf(out, PATH_LEN, "%s", key)
                              : snprintf(out, PATH_LEN, "%s.%s", parent, key);
    TC_ASSERT(n >= 0);
    if (n >= PATH_LEN)
        memcpy(out + PATH_LEN - 4, "...", 4);
    TC_ASSERT(strlen(out) < PATH_LEN);
}

/* Rejects keys of obj outside allowed (a misspelt key must not be silently ignored). */
static int check_keys(const json_t *obj, const char *path, const char *const *allowed,
                      size_t allowed_count, ctx *c)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        size_t i = 0;
        while (i < allowed_count && strcmp(allowed[i], key) != 0)
            i++;
        if (i < allowed_count)
            continue;
        char p[PATH_LEN];
        char list[PATH_LEN] = "";
        for (size_t j = 0; j < allowed_count; j++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof(list) - used, "%s%s", j > 0 ? ", " : "", allowed[j]);
        }
        child_path(p, path, key);
        return fail(c->err, c->err_len, p, "unknown key, expected one of: %s", list);
    }
    return 0;
}

/* A required member: its value in *out, its path in path. */
static int member(const json_t *obj, const char *parent, const char *key, json_t **out,
                  char path[PATH_LEN], ctx *c)
{
    child_path(path, parent, key);
    *out = json_object_get(obj, key);
    if (*out == NULL)
        return fail(c->err, c->err_len, path, "missing (required)");
    return 0;
}

static int want_u64(const json_t *v, const char *path, uint64_t *out, ctx *c)
{
    if (!json_is_integer(v))
        return fail(c->err, c->err_len, path, "expected a non-negative integer, got %s",
                    type_name(v));
    json_int_t i = json_integer_value(v);
    if (i < 0)
        return fail(c->err, c->err_len, path, "expected a non-negative integer, got %lld",
                    (long long)i);
    *out = (uint64_t)i;
    return 0;
}

static int want_string(const json_t *v, const char *path, const char **out, ctx *c)
{
    if (!json_is_string(v))
        return fail(c->err, c->err_len, path, "expected a string, got %s", type_name(v));
    *out = json_string_value(v);
    return 0;
}

static int want_address(const json_t *v, const char *path, tc_addr_hash *out, ctx *c)
{
    const char *s = NULL;
    int rc = want_string(v, path, &s, c);
    if (rc != 0)
        return rc;
    rc = tc_address_decode(s, c->net, out);
    if (rc != 0)
        return fail(c->err, c->err_len, path, "expected a %s address (TIME%d...): %s",
                    network_name(c->net), (int)c->net, tc_strerror(rc));
    return 0;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int want_pubkey(const json_t *v, const char *path, tc_pubkey *out, ctx *c)
{
    const char *s = NULL;
    int rc = want_string(v, path, &s, c);
    if (rc != 0)
        return rc;
    if (json_string_length(v) != 2 * TC_PUBKEY_SIZE)
        return fail(c->err, c->err_len, path,
                    "expected %d hex digits (a 32-byte public key), got %zu characters",
                    2 * TC_PUBKEY_SIZE, json_string_length(v));
    for (size_t i = 0; i < TC_PUBKEY_SIZE; i++) {
        int hi = hex_digit(s[2 * i]);
        int lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return fail(c->err, c->err_len, path, "expected hex digits, got '%c' at offset %zu",
                        hi < 0 ? s[2 * i] : s[2 * i + 1], hi < 0 ? 2 * i : 2 * i + 1);
        out->b[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* ---- profile overrides ----
 * tc_profile_set checks the invariants after every single field, so overrides that are only
 * valid together (raising both collateral_silver and collateral_bronze past the old silver)
 * need the right order. Re-applying every override until a pass makes no progress finds that
 * order whatever the key order of the document; re-setting a field to its current value always
 * succeeds because the profile is valid between calls. At most one pass per field. */

static int profile_pass(tc_profile *p, const json_t *obj, size_t *ok_out, const char **bad_key)
{
    const char *key;
    json_t *value;
    size_t ok = 0;
    *bad_key = NULL;
    json_object_foreach((json_t *)obj, key, value)
    {
        int rc = tc_profile_set(p, key, (uint64_t)json_integer_value(value));
        TC_ASSERT(rc != TC_ENOTFOUND); /* names were checked before the first pass */
        if (rc == 0)
            ok++;
        else if (*bad_key == NULL)
            *bad_key = key;
    }
    *ok_out = ok;
    return *bad_key == NULL ? 0 : TC_ERANGE;
}

static int parse_profile(const json_t *obj, tc_genesis *g, ctx *c)
{
    const char *key;
    json_t *value;
    char path[PATH_LEN];
    tc_profile_get(&g->profile, g->network);
    if (obj == NULL)
        return 0;
    if (!json_is_object(obj))
        return fail(c->err, c->err_len, "profile", "expected an object of profile fields, got %s",
                    type_name(obj));
    json_object_foreach((json_t *)obj, key, value)
    {
        uint64_t v = 0;
        tc_profile scratch = g->profile;
        child_path(path, "profile", key);
        int rc = want_u64(value, path, &v, c);
        if (rc != 0)
            return rc;
        if (tc_profile_set(&scratch, key, v) == TC_ENOTFOUND)
            return fail(c->err, c->err_len, path, "unknown profile field");
    }
    size_t ok_before = 0;
    for (;;) {
        size_t ok;
        const char *bad;
        if (profile_pass(&g->profile, obj, &ok, &bad) == 0)
            return 0;
        if (ok == ok_before) {
            child_path(path, "profile", bad);
            return fail(c->err, c->err_len, path,
                        "value %lld is out of range for the field or breaks a profile "
                        "invariant with the other fields",
                        (long long)json_integer_value(json_object_get(obj, bad)));
        }
        ok_before = ok;
    }
}

/* ---- outputs and masternodes ---- */

static int parse_output(const json_t *v, const char *path, tc_txout *out, ctx *c)
{
    char p[PATH_LEN];
    json_t *m = NULL;
    if (!json_is_object(v))
        return fail(c->err, c->err_len, path, "expected an object {address, amount}, got %s",
                    type_name(v));
    int rc = check_keys(v, path, output_keys, TC_ARRAY_LEN(output_keys), c);
    if (rc == 0)
        rc = member(v, path, "address", &m, p, c);
    if (rc == 0)
        rc = want_address(m, p, &out->addr, c);
    if (rc == 0)
        rc = member(v, path, "amount", &m, p, c);
    if (rc == 0)
        rc = want_u64(m, p, &out->amount, c);
    return rc;
}

static int parse_tier(const json_t *v, const char *path, uint8_t *out, ctx *c)
{
    const char *s = NULL;
    tc_tier t = TC_TIER_BRONZE;
    int rc = want_string(v, path, &s, c);
    if (rc != 0)
        return rc;
    if (tc_tier_parse(s, &t) != 0)
        return fail(c->err, c->err_len, path, "expected one of bronze, silver, gold, got \"%.32s\"",
                    s);
    *out = (uint8_t)t;
    return 0;
}

static int parse_netaddr(const json_t *v, const char *path, char out[TC_TX_NETADDR_MAX + 1], ctx *c)
{
    const char *s = NULL;
    int rc = want_string(v, path, &s, c);
    if (rc != 0)
        return rc;
    if (json_string_length(v) > TC_TX_NETADDR_MAX)
        return fail(c->err, c->err_len, path, "expected \"host:port\" of at most %d bytes, got %zu",
                    TC_TX_NETADDR_MAX, json_string_length(v));
    memcpy(out, s, json_string_length(v) + 1);
    return 0;
}

static int parse_mn(const json_t *v, const char *path, tc_genesis_mn *out, ctx *c)
{
    char p[PATH_LEN];
    json_t *m = NULL;
    if (!json_is_object(v))
        return fail(c->err, c->err_len, path,
                    "expected an object {key, tier, address, net_address}, got %s", type_name(v));
    int rc = check_keys(v, path, mn_keys, TC_ARRAY_LEN(mn_keys), c);
    if (rc == 0)
        rc = member(v, path, "key", &m, p, c);
    if (rc == 0)
        rc = want_pubkey(m, p, &out->key, c);
    if (rc == 0)
        rc = member(v, path, "tier", &m, p, c);
    if (rc == 0)
        rc = parse_tier(m, p, &out->tier, c);
    if (rc == 0)
        rc = member(v, path, "address", &m, p, c);
    if (rc == 0)
        rc = want_address(m, p, &out->owner, c);
    if (rc == 0)
        rc = member(v, path, "net_address", &m, p, c);
    if (rc == 0)
        rc = parse_netaddr(m, p, out->net_addr, c);
    return rc;
}

typedef int (*elem_parser)(const json_t *v, const char *path, void *out, ctx *c);

static int parse_output_elem(const json_t *v, const char *path, void *out, ctx *c)
{
    return parse_output(v, path, out, c);
}

static int parse_mn_elem(const json_t *v, const char *path, void *out, ctx *c)
{
    return parse_mn(v, path, out, c);
}

/* Allocates *items for the array called name and parses each element with parse. */
static int parse_array(const json_t *arr, const char *name, size_t max, size_t elem_size,
                       elem_parser parse, void **items, uint32_t *count, ctx *c)
{
    if (!json_is_array(arr))
        return fail(c->err, c->err_len, name, "expected an array, got %s", type_name(arr));
    size_t n = json_array_size(arr);
    if (n > max)
        return fail(c->err, c->err_len, name, "%zu entries, expected at most %zu", n, max);
    if (n == 0)
        return 0;
    *items = tc_calloc(n, elem_size);
    if (*items == NULL)
        return TC_ENOMEM;
    *count = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_LEN];
        snprintf(path, sizeof(path), "%s[%zu]", name, i);
        int rc = parse(json_array_get(arr, i), path, (uint8_t *)*items + i * elem_size, c);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int parse_root(const json_t *root, tc_genesis *g, ctx *c)
{
    char path[PATH_LEN];
    json_t *v = NULL;
    const char *s = NULL;
    if (!json_is_object(root))
        return fail(c->err, c->err_len, "(document)", "expected a JSON object, got %s",
                    type_name(root));
    int rc = check_keys(root, "", top_keys, TC_ARRAY_LEN(top_keys), c);
    if (rc == 0)
        rc = member(root, "", "network", &v, path, c);
    if (rc == 0)
        rc = want_string(v, path, &s, c);
    if (rc == 0 && tc_profile_network_parse(s, &g->network) != 0)
        rc =
            fail(c->err, c->err_len, path, "expected \"testnet\" or \"mainnet\", got \"%.32s\"", s);
    c->net = g->network;
    if (rc == 0)
        rc = member(root, "", "time_ms", &v, path, c);
    if (rc == 0)
        rc = want_u64(v, path, &g->time_ms, c);
    if (rc == 0)
        rc = parse_profile(json_object_get(root, "profile"), g, c);
    if (rc == 0)
        rc = member(root, "", "outputs", &v, path, c);
    if (rc == 0)
        rc = parse_array(v, "outputs", TC_GENESIS_OUTPUTS_MAX, sizeof(tc_txout), parse_output_elem,
                         (void **)&g->outputs, &g->output_count, c);
    if (rc == 0)
        rc = member(root, "", "masternodes", &v, path, c);
    if (rc == 0)
        rc = parse_array(v, "masternodes", UINT32_MAX, sizeof(tc_genesis_mn), parse_mn_elem,
                         (void **)&g->mns, &g->mn_count, c);
    return rc;
}

int tc_genesis_parse(const char *json, size_t len, tc_genesis *out, char *err, size_t err_len)
{
    TC_ASSERT(out != NULL && (json != NULL || len == 0));
    memset(out, 0, sizeof(*out));
    if (err != NULL && err_len > 0)
        err[0] = '\0';
    json_error_t jerr;
    /* Duplicate keys are an error: which of two values wins must never be a question. */
    json_t *root = json_loadb(json != NULL ? json : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            return TC_ENOMEM;
        if (err != NULL && err_len > 0)
            snprintf(err, err_len, "%d:%d: %s", jerr.line, jerr.column, jerr.text);
        return TC_EGENESIS;
    }
    ctx c = {.err = err, .err_len = err_len, .net = TC_NET_TESTNET};
    int rc = parse_root(root, out, &c);
    if (rc == 0)
        rc = tc_genesis_check(out, err, err_len);
    json_decref(root);
    if (rc != 0)
        tc_genesis_deinit(out);
    return rc;
}

void tc_genesis_deinit(tc_genesis *g)
{
    TC_ASSERT(g != NULL);
    free(g->outputs);
    free(g->mns);
    memset(g, 0, sizeof(*g));
}

int tc_genesis_copy(tc_genesis *dst, const tc_genesis *src)
{
    TC_ASSERT(dst != NULL && src != NULL);
    *dst = *src;
    dst->outputs = NULL;
    dst->mns = NULL;
    if (src->output_count > 0) {
        dst->outputs = tc_malloc(src->output_count * sizeof(*dst->outputs));
        if (dst->outputs != NULL)
            memcpy(dst->outputs, src->outputs, src->output_count * sizeof(*dst->outputs));
    }
    if (src->mn_count > 0) {
        dst->mns = tc_malloc(src->mn_count * sizeof(*dst->mns));
        if (dst->mns != NULL)
            memcpy(dst->mns, src->mns, src->mn_count * sizeof(*dst->mns));
    }
    if ((src->output_count > 0 && dst->outputs == NULL) || (src->mn_count > 0 && !dst->mns)) {
        tc_genesis_deinit(dst);
        return TC_ENOMEM;
    }
    return 0;
}

/* ---- checks shared by parse and create ---- */

/* "host:port": printable, no spaces, a non-empty host and a decimal port in 1..65535. */
static bool netaddr_ok(const char *s)
{
    size_t n = strnlen(s, TC_TX_NETADDR_MAX + 1);
    if (n > TC_TX_NETADDR_MAX)
        return false;
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon[1] == '\0' || strlen(colon + 1) > 5)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return false;
    unsigned long port = 0;
    for (const char *d = colon + 1; *d != '\0'; d++) {
        if (*d < '0' || *d > '9')
            return false;
        port = port * 10 + (unsigned long)(*d - '0');
    }
    return port >= 1 && port <= 65535;
}

typedef struct {
    char *err;
    size_t err_len;
    int rc;
} profile_check_ctx;

static void profile_field_check(void *arg, const char *name, uint64_t value)
{
    profile_check_ctx *pc = arg;
    char path[PATH_LEN];
    if (pc->rc != 0 || value <= TC_GENESIS_INT_MAX)
        return;
    child_path(path, "profile", name);
    pc->rc = fail(pc->err, pc->err_len, path, "%llu is above %llu, the largest JSON integer",
                  (unsigned long long)value, (unsigned long long)TC_GENESIS_INT_MAX);
}

static int check_profile(const tc_genesis *g, char *err, size_t err_len)
{
    if (g->network != TC_NET_TESTNET && g->network != TC_NET_MAINNET)
        return fail(err, err_len, "network", "expected testnet or mainnet, got %d",
                    (int)g->network);
    if (g->time_ms > TC_GENESIS_INT_MAX)
        return fail(err, err_len, "time_ms", "expected at most %llu",
                    (unsigned long long)TC_GENESIS_INT_MAX);
    if (g->profile.network != g->network)
        return fail(err, err_len, "profile", "is for %s, expected the document's %s",
                    network_name(g->profile.network), network_name(g->network));
    if (tc_profile_check(&g->profile) != 0)
        return fail(err, err_len, "profile", "fields break a profile invariant");
    profile_check_ctx pc = {.err = err, .err_len = err_len, .rc = 0};
    tc_profile_each(&g->profile, profile_field_check, &pc);
    return pc.rc;
}

static int check_items(const tc_genesis *g, char *err, size_t err_len)
{
    char path[PATH_LEN];
    if (g->output_count > TC_GENESIS_OUTPUTS_MAX)
        return fail(err, err_len, "outputs", "%u entries, expected at most %u", g->output_count,
                    TC_GENESIS_OUTPUTS_MAX);
    for (uint32_t i = 0; i < g->output_count; i++) {
        uint64_t a = g->outputs[i].amount;
        snprintf(path, sizeof(path), "outputs[%u].amount", i);
        if (a == 0 || a > TC_GENESIS_INT_MAX)
            return fail(err, err_len, path, "expected an amount in 1..%llu units, got %llu",
                        (unsigned long long)TC_GENESIS_INT_MAX, (unsigned long long)a);
    }
    if (g->mn_count == 0)
        return fail(err, err_len, "masternodes", "expected at least one masternode");
    if (g->mn_count > g->profile.validators_max)
        return fail(err, err_len, "masternodes", "%u masternodes, more than validators_max = %u",
                    g->mn_count, g->profile.validators_max);
    for (uint32_t k = 0; k < g->mn_count; k++) {
        if (g->mns[k].tier >= TC_TIER_COUNT) {
            snprintf(path, sizeof(path), "masternodes[%u].tier", k);
            return fail(err, err_len, path, "expected bronze, silver or gold, got tier %u",
                        g->mns[k].tier);
        }
        if (!netaddr_ok(g->mns[k].net_addr)) {
            snprintf(path, sizeof(path), "masternodes[%u].net_address", k);
            return fail(err, err_len, path, "expected \"host:port\" with a port in 1..65535");
        }
    }
    return 0;
}

/* Sums the outpoints, naming the one that overflows. */
static int supply_sum(const tc_genesis *g, uint64_t *total, uint32_t *bad_index)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < tc_genesis_outpoint_count(g); i++) {
        tc_txout o;
        int rc = tc_genesis_outpoint_txout(g, i, &o);
        TC_ASSERT(rc == 0);
        if (tc_add_u64(&sum, o.amount) != 0) {
            *bad_index = i;
            return TC_EOVERFLOW;
        }
    }
    *total = sum;
    return 0;
}

typedef struct {
    tc_pubkey key;
    uint32_t index;
} key_at;

static int key_at_cmp(const void *a, const void *b)
{
    const key_at *x = a;
    const key_at *y = b;
    int c = memcmp(x->key.b, y->key.b, TC_PUBKEY_SIZE);
    if (c != 0)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Sorting finds duplicates in O(n log n) however many masternodes a document lists. The pair
 * reported is the one whose later entry comes first in the document, so the message does not
 * depend on the sort. */
static int check_dup_keys(const tc_genesis *g, char *err, size_t err_len)
{
    key_at *v = tc_malloc((size_t)g->mn_count * sizeof(*v));
    if (v == NULL)
        return TC_ENOMEM;
    for (uint32_t k = 0; k < g->mn_count; k++)
        v[k] = (key_at){.key = g->mns[k].key, .index = k};
    qsort(v, g->mn_count, sizeof(*v), key_at_cmp);
    uint32_t first = 0;
    uint32_t dup = UINT32_MAX;
    for (uint32_t k = 1; k < g->mn_count; k++) {
        bool same = memcmp(v[k].key.b, v[k - 1].key.b, TC_PUBKEY_SIZE) == 0;
        if (same && v[k].index < dup) {
            dup = v[k].index;
            first = v[k - 1].index;
        }
    }
    free(v);
    if (dup == UINT32_MAX)
        return 0;
    char path[PATH_LEN];
    snprintf(path, sizeof(path), "masternodes[%u].key", dup);
    return fail(err, err_len, path, "duplicate of masternodes[%u].key, expected unique keys",
                first);
}

int tc_genesis_check(const tc_genesis *g, char *err, size_t err_len)
{
    TC_ASSERT(g != NULL);
    TC_ASSERT(g->output_count == 0 || g->outputs != NULL);
    TC_ASSERT(g->mn_count == 0 || g->mns != NULL);
    int rc = check_profile(g, err, err_len);
    if (rc == 0)
        rc = check_items(g, err, err_len);
    if (rc == 0)
        rc = check_dup_keys(g, err, err_len);
    if (rc != 0)
        return rc;
    uint64_t total;
    uint32_t bad;
    if (supply_sum(g, &total, &bad) != 0) {
        char path[PATH_LEN];
        if (bad < g->output_count)
            snprintf(path, sizeof(path), "outputs[%u].amount", bad);
        else
            snprintf(path, sizeof(path), "masternodes[%u].tier", bad - g->output_count);
        return fail(err, err_len, path, "total supply passes 2^64 - 1 units here");
    }
    return 0;
}

/* ---- outpoints ---- */

uint32_t tc_genesis_outpoint_count(const tc_genesis *g)
{
    TC_ASSERT(g != NULL);
    TC_ASSERT(g->output_count <= UINT32_MAX - g->mn_count);
    return g->output_count + g->mn_count;
}

int tc_genesis_outpoint_txout(const tc_genesis *g, uint32_t index, tc_txout *out)
{
    TC_ASSERT(g != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    if (index < g->output_count) {
        *out = g->outputs[index];
        return 0;
    }
    if (index - g->output_count >= g->mn_count)
        return TC_ENOTFOUND;
    const tc_genesis_mn *mn = &g->mns[index - g->output_count];
    TC_ASSERT(mn->tier < TC_TIER_COUNT);
    out->amount = tc_tier_collateral(&g->profile, (tc_tier)mn->tier);
    out->addr = mn->owner;
    return 0;
}

int tc_genesis_supply(const tc_genesis *g, uint64_t *total_out)
{
    TC_ASSERT(g != NULL && total_out != NULL);
    uint32_t bad;
    *total_out = 0;
    return supply_sum(g, total_out, &bad);
}

/* ---- hash ---- */

static void absorb(tc_hasher *h, const tc_writer *w)
{
    size_t len;
    int rc = tc_writer_finish(w, &len);
    TC_ASSERT(rc == 0);
    tc_hasher_update(h, w->buf, len);
}

typedef struct {
    const char *name;
    uint64_t *value;
} find_arg;

static void find_field(void *arg, const char *name, uint64_t value)
{
    find_arg *f = arg;
    if (strcmp(f->name, name) == 0)
        *f->value = value;
}

/* What the profile walk of the hash carries: the hasher, the field count, and the network's
 * defaults, against which the late fields are compared (profile.h). */
typedef struct {
    tc_hasher *h;
    uint32_t count;
    tc_profile defaults;
} hash_walk;

static bool field_hashed(const hash_walk *hw, const char *name, uint64_t value)
{
    if (!tc_profile_field_late(name))
        return true;
    uint64_t dflt = UINT64_MAX;
    tc_profile_each(&hw->defaults, find_field, &(find_arg){name, &dflt});
    return value != dflt;
}

static void count_field(void *arg, const char *name, uint64_t value)
{
    hash_walk *hw = arg;
    if (field_hashed(hw, name, value))
        hw->count++;
}

static void hash_field(void *arg, const char *name, uint64_t value)
{
    hash_walk *hw = arg;
    if (!field_hashed(hw, name, value))
        return;
    uint8_t buf[4 + PROFILE_NAME_MAX + 8];
    tc_writer w;
    size_t n = strlen(name);
    TC_ASSERT(n > 0 && n <= PROFILE_NAME_MAX);
    tc_writer_init(&w, buf, sizeof(buf));
    tc_put_bytes(&w, name, (uint32_t)n);
    tc_put_u64(&w, value);
    absorb(hw->h, &w);
}

static void hash_items(tc_hasher *h, const tc_genesis *g)
{
    uint8_t buf[TC_PUBKEY_SIZE + 1 + TC_ADDR_HASH_SIZE + 4 + TC_TX_NETADDR_MAX];
    tc_writer w;
    tc_writer_init(&w, buf, sizeof(buf));
    tc_put_u32(&w, g->output_count);
    absorb(h, &w);
    for (uint32_t i = 0; i < g->output_count; i++) {
        tc_writer_init(&w, buf, sizeof(buf));
        tc_put_u64(&w, g->outputs[i].amount);
        tc_put_raw(&w, g->outputs[i].addr.b, TC_ADDR_HASH_SIZE);
        absorb(h, &w);
    }
    tc_writer_init(&w, buf, sizeof(buf));
    tc_put_u32(&w, g->mn_count);
    absorb(h, &w);
    for (uint32_t k = 0; k < g->mn_count; k++) {
        const tc_genesis_mn *mn = &g->mns[k];
        size_t n = strnlen(mn->net_addr, sizeof(mn->net_addr));
        TC_ASSERT(n <= TC_TX_NETADDR_MAX);
        tc_writer_init(&w, buf, sizeof(buf));
        tc_put_raw(&w, mn->key.b, TC_PUBKEY_SIZE);
        tc_put_u8(&w, mn->tier);
        tc_put_raw(&w, mn->owner.b, TC_ADDR_HASH_SIZE);
        tc_put_bytes(&w, mn->net_addr, (uint32_t)n);
        absorb(h, &w);
    }
}

void tc_genesis_hash(const tc_genesis *g, tc_hash *out)
{
    TC_ASSERT(g != NULL && out != NULL);
    TC_ASSERT(g->output_count == 0 || g->outputs != NULL);
    TC_ASSERT(g->mn_count == 0 || g->mns != NULL);
    uint8_t buf[32];
    tc_writer w;
    tc_hasher h;
    hash_walk hw = {.h = &h};
    tc_profile_get(&hw.defaults, g->network);
    tc_profile_each(&g->profile, count_field, &hw);
    tc_hasher_init(&h, TC_TAG_GENESIS);
    tc_writer_init(&w, buf, sizeof(buf));
    tc_put_u8(&w, (uint8_t)g->network);
    tc_put_u32(&w, g->profile.magic);
    tc_put_u16(&w, g->profile.protocol_version);
    tc_put_u64(&w, g->time_ms);
    tc_put_u32(&w, hw.count);
    absorb(&h, &w);
    tc_profile_each(&g->profile, hash_field, &hw);
    hash_items(&h, g);
    tc_hasher_final(&h, out);
}

/* ---- JSON out ---- */

typedef struct {
    uint64_t defaults[PROFILE_FIELDS_MAX];
    uint32_t count;
    uint32_t at;
    json_t *obj;
    bool ok;
} profile_json_ctx;

static void collect_default(void *arg, const char *name, uint64_t value)
{
    profile_json_ctx *pj = arg;
    (void)name;
    /* A bug, not input: the profile table grew past this bound. */
    TC_ASSERT(pj->count < PROFILE_FIELDS_MAX);
    pj->defaults[pj->count++] = value;
}

static void emit_override(void *arg, const char *name, uint64_t value)
{
    profile_json_ctx *pj = arg;
    TC_ASSERT(pj->at < pj->count);
    if (value != pj->defaults[pj->at++])
        pj->ok &= json_object_set_new(pj->obj, name, json_integer((json_int_t)value)) == 0;
}

static bool json_outputs(json_t *arr, const tc_genesis *g)
{
    bool ok = arr != NULL;
    for (uint32_t i = 0; ok && i < g->output_count; i++) {
        char addr[TC_ADDRESS_TEXT_MAX];
        json_t *o = json_object();
        tc_address_encode(g->network, &g->outputs[i].addr, addr);
        ok = json_array_append_new(arr, o) == 0;
        ok = ok && json_object_set_new(o, "address", json_string(addr)) == 0;
        ok = ok &&
             json_object_set_new(o, "amount", json_integer((json_int_t)g->outputs[i].amount)) == 0;
    }
    return ok;
}

static bool json_mns(json_t *arr, const tc_genesis *g)
{
    bool ok = arr != NULL;
    for (uint32_t k = 0; ok && k < g->mn_count; k++) {
        const tc_genesis_mn *mn = &g->mns[k];
        char addr[TC_ADDRESS_TEXT_MAX];
        char key[2 * TC_PUBKEY_SIZE + 1];
        json_t *o = json_object();
        tc_address_encode(g->network, &mn->owner, addr);
        tc_hex(key, mn->key.b, TC_PUBKEY_SIZE);
        ok = json_array_append_new(arr, o) == 0;
        ok = ok && json_object_set_new(o, "key", json_string(key)) == 0;
        ok =
            ok && json_object_set_new(o, "tier", json_string(tc_tier_name((tc_tier)mn->tier))) == 0;
        ok = ok && json_object_set_new(o, "address", json_string(addr)) == 0;
        ok = ok && json_object_set_new(o, "net_address", json_string(mn->net_addr)) == 0;
    }
    return ok;
}

int tc_genesis_to_json(const tc_genesis *g, char **json_out)
{
    TC_ASSERT(g != NULL && json_out != NULL);
    *json_out = NULL;
    int rc = tc_genesis_check(g, NULL, 0);
    if (rc != 0)
        return rc;
    tc_profile defaults;
    tc_profile_get(&defaults, g->network);
    profile_json_ctx *pj = tc_calloc(1, sizeof(*pj));
    json_t *root = json_object();
    json_t *outputs = json_array();
    json_t *mns = json_array();
    json_t *profile = json_object();
    bool ok = pj != NULL && root != NULL && profile != NULL;
    ok = ok && json_object_set_new(root, "network", json_string(network_name(g->network))) == 0;
    ok = ok && json_object_set_new(root, "time_ms", json_integer((json_int_t)g->time_ms)) == 0;
    ok = ok && json_object_set(root, "outputs", outputs) == 0 && json_outputs(outputs, g);
    ok = ok && json_object_set(root, "masternodes", mns) == 0 && json_mns(mns, g);
    if (ok) {
        pj->obj = profile;
        pj->ok = true;
        tc_profile_each(&defaults, collect_default, pj);
        tc_profile_each(&g->profile, emit_override, pj);
        ok = pj->ok;
    }
    if (ok && json_object_size(profile) > 0)
        ok = json_object_set(root, "profile", profile) == 0;
    if (ok)
        *json_out = json_dumps(root, JSON_INDENT(2));
    json_decref(outputs);
    json_decref(mns);
    json_decref(profile);
    json_decref(root);
    free(pj);
    return *json_out != NULL ? 0 : TC_ENOMEM;
}

/* ---- creation from a seed ---- */

int tc_genesis_key(const uint8_t master[TC_SEED_SIZE], const char *kind, uint32_t index,
                   tc_keypair *kp)
{
    TC_ASSERT(master != NULL && kind != NULL && kp != NULL);
    uint8_t seed[TC_SEED_SIZE];
    if (strcmp(kind, "validator") != 0 && strcmp(kind, "owner") != 0 &&
        strcmp(kind, "wallet") != 0) {
        memset(kp, 0, sizeof(*kp));
        return TC_EINVAL;
    }
    tc_seed_derive(seed, master, kind, index);
    tc_keypair_from_seed(kp, seed);
    return 0;
}

static void create_mn(tc_genesis_mn *mn, const uint8_t master[TC_SEED_SIZE], uint32_t i,
                      uint8_t tier, uint32_t port)
{
    tc_keypair kp;
    int rc = tc_genesis_key(master, "validator", i, &kp);
    TC_ASSERT(rc == 0);
    mn->key = kp.pub;
    rc = tc_genesis_key(master, "owner", i, &kp);
    TC_ASSERT(rc == 0);
    tc_addr_from_pubkey(&kp.pub, &mn->owner);
    mn->tier = tier;
    snprintf(mn->net_addr, sizeof(mn->net_addr), "127.0.0.1:%u", port);
}

int tc_genesis_create(tc_genesis *out, tc_network net, const uint8_t master_seed[TC_SEED_SIZE],
                      uint32_t validator_count, const uint8_t *tiers, uint32_t wallet_count,
                      uint64_t wallet_amount, uint64_t time_ms)
{
    TC_ASSERT(out != NULL && master_seed != NULL);
    memset(out, 0, sizeof(*out));
    if (net != TC_NET_TESTNET && net != TC_NET_MAINNET)
        return TC_EINVAL;
    out->network = net;
    out->time_ms = time_ms;
    tc_profile_get(&out->profile, net);
    if (validator_count == 0 || validator_count > out->profile.validators_max ||
        wallet_count > TC_GENESIS_OUTPUTS_MAX ||
        (uint64_t)out->profile.p2p_port + validator_count - 1 > 65535u)
        return TC_EINVAL;
    out->mns = tc_calloc(validator_count, sizeof(*out->mns));
    out->outputs = wallet_count > 0 ? tc_calloc(wallet_count, sizeof(*out->outputs)) : NULL;
    if (out->mns == NULL || (wallet_count > 0 && out->outputs == NULL)) {
        tc_genesis_deinit(out);
        return TC_ENOMEM;
    }
    out->mn_count = validator_count;
    out->output_count = wallet_count;
    for (uint32_t i = 0; i < validator_count; i++)
        create_mn(&out->mns[i], master_seed, i, tiers != NULL ? tiers[i] : TC_TIER_BRONZE,
                  (uint32_t)out->profile.p2p_port + i);
    for (uint32_t j = 0; j < wallet_count; j++) {
        tc_keypair kp;
        int rc = tc_genesis_key(master_seed, "wallet", j, &kp);
        TC_ASSERT(rc == 0);
        tc_addr_from_pubkey(&kp.pub, &out->outputs[j].addr);
        out->outputs[j].amount = wallet_amount;
    }
    int rc = tc_genesis_check(out, NULL, 0);
    if (rc != 0) {
        tc_genesis_deinit(out);
        return rc == TC_ENOMEM ? TC_ENOMEM : TC_EINVAL;
    }
    return 0;
}
