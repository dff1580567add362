/* test_genesis.c — the genesis document: a good document parsed field by field, every rejection
 * with the path its message names, the JSON round trip, what the hash does and does not depend
 * on, outpoints and supply, and creation from a master seed. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "genesis.h"

static uint8_t master[TC_SEED_SIZE];

static void setup(void)
{
    cr_assert_eq(tc_crypto_init(), 0);
    memset(master, 0x33, sizeof(master));
}

TestSuite(genesis, .init = setup);

/* ---- fixtures ---- */

static void key_hex(const char *kind, uint32_t i, char out[2 * TC_PUBKEY_SIZE + 1])
{
    tc_keypair kp;
    cr_assert_eq(tc_genesis_key(master, kind, i, &kp), 0);
    tc_hex(out, kp.pub.b, TC_PUBKEY_SIZE);
}

static void addr_of(const char *kind, uint32_t i, tc_network net, char out[TC_ADDRESS_TEXT_MAX])
{
    tc_keypair kp;
    tc_addr_hash h;
    cr_assert_eq(tc_genesis_key(master, kind, i, &kp), 0);
    tc_addr_from_pubkey(&kp.pub, &h);
    tc_address_encode(net, &h, out);
}

#define GOOD_TIME_MS UINT64_C(1700000000000)

/* A hand-written document (not produced by tc_genesis_to_json, so parsing is tested on its own).
 * Returns a heap string. */
static char *good_text(void)
{
    char w[3][TC_ADDRESS_TEXT_MAX];
    char o[3][TC_ADDRESS_TEXT_MAX];
    char k[3][2 * TC_PUBKEY_SIZE + 1];
    for (uint32_t i = 0; i < 3; i++) {
        addr_of("wallet", i, TC_NET_TESTNET, w[i]);
        addr_of("owner", i, TC_NET_TESTNET, o[i]);
        key_hex("validator", i, k[i]);
    }
    char *text = malloc(4096);
    cr_assert_not_null(text);
    snprintf(text, 4096,
             "{\n"
             "  \"network\": \"testnet\",\n"
             "  \"time_ms\": 1700000000000,\n"
             "  \"outputs\": [\n"
             "    {\"address\": \"%s\", \"amount\": 100000000000},\n"
             "    {\"address\": \"%s\", \"amount\": 5},\n"
             "    {\"amount\": 7, \"address\": \"%s\"}\n"
             "  ],\n"
             "  \"masternodes\": [\n"
             "    {\"key\": \"%s\", \"tier\": \"bronze\", \"address\": \"%s\",\n"
             "     \"net_address\": \"127.0.0.1:24100\"},\n"
             "    {\"key\": \"%s\", \"tier\": \"silver\", \"address\": \"%s\",\n"
             "     \"net_address\": \"10.0.0.2:24100\"},\n"
             "    {\"key\": \"%s\", \"tier\": \"gold\", \"address\": \"%s\",\n"
             "     \"net_address\": \"[::1]:24102\"}\n"
             "  ],\n"
             "  \"profile\": {\"epoch_blocks\": 20, \"block_interval_ms\": 200}\n"
             "}\n",
             w[0], w[1], w[2], k[0], o[0], k[1], o[1], k[2], o[2]);
    return text;
}

static json_t *good_json(void)
{
    char *text = good_text();
    json_error_t e;
    json_t *doc = json_loads(text, 0, &e);
    cr_assert_not_null(doc, "%d:%d: %s", e.line, e.column, e.text);
    free(text);
    return doc;
}

static int parse_json(const json_t *doc, size_t flags, tc_genesis *g, char *err, size_t err_len)
{
    char *text = json_dumps(doc, flags);
    cr_assert_not_null(text);
    int rc = tc_genesis_parse(text, strlen(text), g, err, err_len);
    free(text);
    return rc;
}

static void good_genesis(tc_genesis *g)
{
    char err[256];
    char *text = good_text();
    int rc = tc_genesis_parse(text, strlen(text), g, err, sizeof(err));
    cr_assert_eq(rc, 0, "good document rejected: %s", err);
    free(text);
}

/* Sets the value at a path like "masternodes[2].tier" or "profile.epoch_blocks"; a NULL value
 * text deletes the key. */
static void set_path(json_t *root, const char *path, const char *value_text)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *at = root;
    char *seg = buf;
    for (;;) {
        char *dot = strchr(seg, '.');
        if (dot != NULL)
            *dot = '\0';
        char *bracket = strchr(seg, '[');
        long index = -1;
        if (bracket != NULL) {
            index = strtol(bracket + 1, NULL, 10);
            *bracket = '\0';
        }
        bool last = dot == NULL;
        if (last && index < 0) {
            if (value_text == NULL) {
                json_object_del(at, seg);
                return;
            }
            json_error_t e;
            json_t *v = json_loads(value_text, JSON_DECODE_ANY, &e);
            cr_assert_not_null(v, "test value %s: %s", value_text, e.text);
            cr_assert_eq(json_object_set_new(at, seg, v), 0);
            return;
        }
        at = json_object_get(at, seg);
        cr_assert_not_null(at, "test path %s", path);
        if (index >= 0) {
            if (last) {
                json_error_t e;
                json_t *v = json_loads(value_text, JSON_DECODE_ANY, &e);
                cr_assert_not_null(v);
                cr_assert_eq(json_array_set_new(at, (size_t)index, v), 0);
                return;
            }
            at = json_array_get(at, (size_t)index);
            cr_assert_not_null(at, "test path %s", path);
        }
        seg = dot + 1;
    }
}

static void assert_message(const char *err, const char *where, const char *what)
{
    size_t n = strlen(where);
    cr_assert(strncmp(err, where, n) == 0 && err[n] == ':' && err[n + 1] == ' ',
              "message \"%s\" should start with \"%s: \"", err, where);
    cr_assert_not_null(strstr(err, what), "message \"%s\" should say \"%s\"", err, what);
}

static bool genesis_equal(const tc_genesis *a, const tc_genesis *b)
{
    tc_hash ha;
    tc_hash hb;
    if (a->network != b->network || a->time_ms != b->time_ms ||
        a->output_count != b->output_count || a->mn_count != b->mn_count)
        return false;
    for (uint32_t i = 0; i < a->output_count; i++)
        if (a->outputs[i].amount != b->outputs[i].amount ||
            memcmp(a->outputs[i].addr.b, b->outputs[i].addr.b, TC_ADDR_HASH_SIZE) != 0)
            return false;
    for (uint32_t k = 0; k < a->mn_count; k++) {
        const tc_genesis_mn *x = &a->mns[k];
        const tc_genesis_mn *y = &b->mns[k];
        if (memcmp(x->key.b, y->key.b, TC_PUBKEY_SIZE) != 0 || x->tier != y->tier ||
            memcmp(x->owner.b, y->owner.b, TC_ADDR_HASH_SIZE) != 0 ||
            strcmp(x->net_addr, y->net_addr) != 0)
            return false;
    }
    /* The hash covers every profile field (by tc_profile_each). */
    tc_genesis_hash(a, &ha);
    tc_genesis_hash(b, &hb);
    return memcmp(ha.b, hb.b, TC_HASH_SIZE) == 0;
}

/* ---- parsing a good document ---- */

Test(genesis, parses_a_good_document_field_by_field)
{
    tc_genesis g;
    good_genesis(&g);
    cr_assert_eq(g.network, TC_NET_TESTNET);
    cr_assert_eq(g.time_ms, GOOD_TIME_MS);
    cr_assert_eq(g.profile.network, TC_NET_TESTNET);
    cr_assert_eq(g.profile.epoch_blocks, 20);
    cr_assert_eq(g.profile.block_interval_ms, 200);
    cr_assert_eq(g.profile.validators_max, 1024, "fields not overridden keep the defaults");
    cr_assert_eq(g.output_count, 3);
    cr_assert_eq(g.outputs[0].amount, UINT64_C(100000000000));
    cr_assert_eq(g.outputs[1].amount, 5);
    cr_assert_eq(g.outputs[2].amount, 7);
    cr_assert_eq(g.mn_count, 3);
    static const char *const nets[] = {"127.0.0.1:24100", "10.0.0.2:24100", "[::1]:24102"};
    for (uint32_t i = 0; i < 3; i++) {
        tc_keypair kp;
        tc_addr_hash h;
        cr_assert_eq(tc_genesis_key(master, "wallet", i, &kp), 0);
        tc_addr_from_pubkey(&kp.pub, &h);
        cr_assert_eq(memcmp(g.outputs[i].addr.b, h.b, TC_ADDR_HASH_SIZE), 0, "output %u", i);
        cr_assert_eq(tc_genesis_key(master, "validator", i, &kp), 0);
        cr_assert_eq(memcmp(g.mns[i].key.b, kp.pub.b, TC_PUBKEY_SIZE), 0, "mn %u key", i);
        cr_assert_eq(tc_genesis_key(master, "owner", i, &kp), 0);
        tc_addr_from_pubkey(&kp.pub, &h);
        cr_assert_eq(memcmp(g.mns[i].owner.b, h.b, TC_ADDR_HASH_SIZE), 0, "mn %u owner", i);
        cr_assert_eq(g.mns[i].tier, i, "bronze, silver, gold in order");
        cr_assert_str_eq(g.mns[i].net_addr, nets[i]);
    }
    tc_genesis_deinit(&g);
    cr_assert_null(g.outputs);
    cr_assert_null(g.mns);
    cr_assert_eq(g.mn_count, 0);
}

Test(genesis, profile_overrides_are_order_independent)
{
    /* Raising bronze past the default silver is only valid once silver was raised: both key
     * orders must be accepted, with the same result. */
    static const char *const orders[][2] = {
        {"collateral_silver", "collateral_bronze"},
        {"collateral_bronze", "collateral_silver"},
    };
    tc_hash first;
    for (int o = 0; o < 2; o++) {
        json_t *doc = good_json();
        json_t *prof = json_object();
        json_object_set_new(prof, orders[o][0], json_integer(0));
        json_object_set_new(prof, orders[o][1], json_integer(0));
        json_object_set_new(prof, "collateral_silver", json_integer(3000000000000));
        json_object_set_new(prof, "collateral_bronze", json_integer(2000000000000));
        json_object_set_new(doc, "profile", prof);
        tc_genesis g;
        char err[256] = "";
        cr_assert_eq(parse_json(doc, 0, &g, err, sizeof(err)), 0, "order %d: %s", o, err);
        cr_assert_eq(g.profile.collateral_bronze, UINT64_C(2000000000000));
        cr_assert_eq(g.profile.collateral_silver, UINT64_C(3000000000000));
        tc_hash h;
        tc_genesis_hash(&g, &h);
        if (o == 0)
            first = h;
        else
            cr_assert_eq(memcmp(first.b, h.b, TC_HASH_SIZE), 0);
        tc_genesis_deinit(&g);
        json_decref(doc);
    }
}

/* ---- rejections ---- */

#define INT64_MAX_TEXT "9223372036854775807"
/* Python-computed (see test_address.c): the mainnet address of hash 01..01, and a testnet
 * address with its last character changed. */
#define MAINNET_ADDR "\"TIME16Jswqk47s9PUcyCc88MMVwzgvHScWr9o\""
#define TYPO_ADDR    "\"TIME06Jswqk47s9PUcyCc88MMVwzgvHPPtikT\""
#define DELETE       NULL

typedef struct {
    const char *path[3];
    const char *value[3];
    const char *where;
    const char *what;
} rejection;

static const rejection rejections[] = {
    {{"foo"}, {"1"}, "foo", "unknown key"},
    {{"network"}, {DELETE}, "network", "missing"},
    {{"network"}, {"\"devnet\""}, "network", "\"testnet\" or \"mainnet\""},
    {{"network"}, {"1"}, "network", "expected a string"},
    {{"time_ms"}, {"\"5\""}, "time_ms", "expected a non-negative integer, got a string"},
    {{"time_ms"}, {"-1"}, "time_ms", "expected a non-negative integer, got -1"},
    {{"time_ms"}, {DELETE}, "time_ms", "missing"},
    {{"outputs"}, {"{}"}, "outputs", "expected an array"},
    {{"outputs"}, {DELETE}, "outputs", "missing"},
    {{"outputs[0]"}, {"[]"}, "outputs[0]", "expected an object"},
    {{"outputs[0].amount"}, {"1.5"}, "outputs[0].amount", "got a real number"},
    {{"outputs[0].amount"}, {"0"}, "outputs[0].amount", "expected an amount in 1.."},
    {{"outputs[2].amount"}, {DELETE}, "outputs[2].amount", "missing"},
    {{"outputs[1].address"}, {TYPO_ADDR}, "outputs[1].address", "checksum"},
    {{"outputs[0].address"}, {MAINNET_ADDR}, "outputs[0].address", "other network"},
    {{"outputs[0].address"}, {"\"bob\""}, "outputs[0].address", "expected a testnet address"},
    {{"outputs[0].memo"}, {"\"x\""}, "outputs[0].memo", "unknown key"},
    {{"masternodes"}, {"[]"}, "masternodes", "expected at least one masternode"},
    {{"masternodes"}, {"{}"}, "masternodes", "expected an array"},
    {{"masternodes[1].key"},
     {"\"zz00000000000000000000000000000000000000000000000000000000000000\""},
     "masternodes[1].key",
     "expected hex digits"},
    {{"masternodes[0].key"}, {"\"abcd\""}, "masternodes[0].key", "expected 64 hex digits"},
    {{"masternodes[0].key"}, {"7"}, "masternodes[0].key", "expected a string"},
    {{"masternodes[2].tier"}, {"\"platinum\""}, "masternodes[2].tier", "bronze, silver, gold"},
    {{"masternodes[0].tier"}, {DELETE}, "masternodes[0].tier", "missing"},
    {{"masternodes[1].address"}, {MAINNET_ADDR}, "masternodes[1].address", "other network"},
    {{"masternodes[0].net_address"}, {"\"localhost\""}, "masternodes[0].net_address", "host:port"},
    {{"masternodes[0].net_address"}, {"\"h:0\""}, "masternodes[0].net_address", "1..65535"},
    {{"masternodes[0].net_address"}, {"\"h:65536\""}, "masternodes[0].net_address", "1..65535"},
    {{"masternodes[0].net_address"}, {"\"a b:1\""}, "masternodes[0].net_address", "host:port"},
    {{"masternodes[0].net_address"},
     {"\"a-host-name-long-enough-that-it-does-not-fit-into-sixty-four-bytes.example:1\""},
     "masternodes[0].net_address",
     "at most 64 bytes"},
    {{"masternodes[0].weight"}, {"1"}, "masternodes[0].weight", "unknown key"},
    {{"profile"}, {"[]"}, "profile", "expected an object"},
    {{"profile.no_such_field"}, {"1"}, "profile.no_such_field", "unknown profile field"},
    {{"profile.network"}, {"1"}, "profile.network", "unknown profile field"},
    {{"profile.p2p_port"}, {"70000"}, "profile.p2p_port", "out of range"},
    {{"profile.collateral_bronze"}, {"0"}, "profile.collateral_bronze", "out of range"},
    {{"profile.epoch_blocks"}, {"\"20\""}, "profile.epoch_blocks", "non-negative integer"},
    {{"profile.validators_max"}, {"2"}, "masternodes", "more than validators_max = 2"},
    {{"outputs[0].amount", "outputs[1].amount", "outputs[2].amount"},
     {INT64_MAX_TEXT, INT64_MAX_TEXT, INT64_MAX_TEXT},
     "outputs[2].amount",
     "supply"},
    /* 2 * (2^63 - 1) + 1 = 2^64 - 1 still fits; the first collateral does not. */
    {{"outputs[0].amount", "outputs[1].amount", "outputs[2].amount"},
     {INT64_MAX_TEXT, INT64_MAX_TEXT, "1"},
     "masternodes[0].tier",
     "supply"},
};

Test(genesis, every_rejection_names_its_path_and_what_was_expected)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(rejections); i++) {
        const rejection *r = &rejections[i];
        json_t *doc = good_json();
        for (int s = 0; s < 3 && r->path[s] != NULL; s++)
            set_path(doc, r->path[s], r->value[s]);
        tc_genesis g;
        char err[256] = "";
        cr_assert_eq(parse_json(doc, JSON_INDENT(2), &g, err, sizeof(err)), TC_EGENESIS,
                     "case %zu (%s) accepted", i, r->where);
        assert_message(err, r->where, r->what);
        cr_assert_null(g.outputs, "output cleared on failure");
        cr_assert_null(g.mns);
        cr_assert_eq(g.output_count + g.mn_count, 0);
        json_decref(doc);
    }
}

/* A key longer than the 128-byte path buffer: the message names the path cut to 124 bytes and
 * marked "...", at the top level and inside a masternode. */
Test(genesis, an_overlong_unknown_key_is_named_cut_and_marked)
{
    char key[301];
    memset(key, 'k', 300);
    key[300] = 0;
    for (int nested = 0; nested < 2; nested++) {
        json_t *doc = good_json();
        json_t *obj = nested ? json_array_get(json_object_get(doc, "masternodes"), 0) : doc;
        cr_assert_eq(json_object_set_new(obj, key, json_integer(1)), 0);
        char want[128 + 8];
        snprintf(want, sizeof(want), "%s%.*s...", nested ? "masternodes[0]." : "",
                 nested ? 124 - 15 : 124, key);
        cr_assert_eq(strlen(want), 127, "the expected path is 127 bytes, got %zu", strlen(want));
        tc_genesis g;
        char err[512] = "";
        cr_assert_eq(parse_json(doc, JSON_INDENT(2), &g, err, sizeof(err)), TC_EGENESIS);
        assert_message(err, want, "unknown key");
        json_decref(doc);
    }
}

Test(genesis, duplicate_masternode_keys_are_named)
{
    char k0[2 * TC_PUBKEY_SIZE + 1];
    char value[2 * TC_PUBKEY_SIZE + 3];
    key_hex("validator", 0, k0);
    snprintf(value, sizeof(value), "\"%s\"", k0);
    json_t *doc = good_json();
    set_path(doc, "masternodes[2].key", value);
    tc_genesis g;
    char err[256] = "";
    cr_assert_eq(parse_json(doc, 0, &g, err, sizeof(err)), TC_EGENESIS);
    assert_message(err, "masternodes[2].key", "duplicate of masternodes[0].key");
    /* Upper-case hex is the same key. */
    for (char *p = value; *p != '\0'; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    set_path(doc, "masternodes[2].key", "\"00\"");
    set_path(doc, "masternodes[1].key", value);
    cr_assert_eq(parse_json(doc, 0, &g, err, sizeof(err)), TC_EGENESIS);
    assert_message(err, "masternodes[2].key", "expected 64 hex digits");
    set_path(doc, "masternodes[2].key",
             "\"1111111111111111111111111111111111111111111111111111111111111111\"");
    cr_assert_eq(parse_json(doc, 0, &g, err, sizeof(err)), TC_EGENESIS);
    assert_message(err, "masternodes[1].key", "duplicate of masternodes[0].key");
    json_decref(doc);
}

Test(genesis, syntax_errors_give_line_and_column)
{
    static const struct {
        const char *text;
        const char *prefix;
        const char *what;
    } cases[] = {
        {"{\n  \"network\": \"testnet\",\n  \"time_ms\": }", "3:", "unexpected token"},
        {"{\"network\": \"testnet\", \"network\": \"testnet\"}", "1:", "duplicate object key"},
        {"{\"time_ms\": 99999999999999999999}", "1:", "too big"},
        {"", "1:", "'[' or '{' expected"},
        {"{\"network\": \"test\\u0000net\"}", "1:", "\\u0000 is not allowed"},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        tc_genesis g;
        char err[256] = "";
        int rc = tc_genesis_parse(cases[i].text, strlen(cases[i].text), &g, err, sizeof(err));
        cr_assert_eq(rc, TC_EGENESIS, "case %zu", i);
        cr_assert_eq(strncmp(err, cases[i].prefix, strlen(cases[i].prefix)), 0,
                     "\"%s\" should start with line:column %s", err, cases[i].prefix);
        cr_assert_not_null(strstr(err, cases[i].what), "\"%s\" should say \"%s\"", err,
                           cases[i].what);
    }
    tc_genesis g;
    char err[256] = "";
    cr_assert_eq(tc_genesis_parse("[1]", 3, &g, err, sizeof(err)), TC_EGENESIS);
    assert_message(err, "(document)", "expected a JSON object, got an array");
}

Test(genesis, error_buffer_is_optional_and_always_terminated)
{
    tc_genesis g;
    char tiny[8];
    memset(tiny, 'x', sizeof(tiny));
    cr_assert_eq(tc_genesis_parse("{}", 2, &g, NULL, 0), TC_EGENESIS);
    cr_assert_eq(tc_genesis_parse("{}", 2, &g, tiny, sizeof(tiny)), TC_EGENESIS);
    cr_assert_lt(strlen(tiny), sizeof(tiny));
    cr_assert_eq(tc_genesis_parse("{", 1, &g, tiny, sizeof(tiny)), TC_EGENESIS);
    cr_assert_lt(strlen(tiny), sizeof(tiny));
}

/* ---- JSON round trip ---- */

Test(genesis, to_json_round_trips_and_is_canonical)
{
    tc_genesis g;
    tc_genesis back;
    char err[256] = "";
    good_genesis(&g);
    char *text = NULL;
    cr_assert_eq(tc_genesis_to_json(&g, &text), 0);
    cr_assert_eq(tc_genesis_parse(text, strlen(text), &back, err, sizeof(err)), 0, "%s", err);
    cr_assert(genesis_equal(&g, &back), "parse(to_json(g)) == g");
    char *again = NULL;
    cr_assert_eq(tc_genesis_to_json(&back, &again), 0);
    cr_assert_str_eq(text, again, "to_json is canonical");
    /* Keys in canonical order; the profile holds only overrides. */
    const char *order[] = {"\"network\"", "\"time_ms\"", "\"outputs\"", "\"masternodes\"",
                           "\"profile\""};
    const char *prev = text;
    for (size_t i = 0; i < TC_ARRAY_LEN(order); i++) {
        const char *at = strstr(text, order[i]);
        cr_assert(at != NULL && at >= prev, "%s out of order in\n%s", order[i], text);
        prev = at;
    }
    cr_assert_not_null(strstr(text, "\"epoch_blocks\": 20"));
    cr_assert_null(strstr(text, "validators_max"), "defaults are not written:\n%s", text);
    free(text);
    free(again);
    tc_genesis_deinit(&back);
    tc_genesis_deinit(&g);
}

Test(genesis, to_json_refuses_what_could_not_be_read_back)
{
    tc_genesis g;
    char *text = (char *)&g;
    good_genesis(&g);
    g.outputs[1].amount = 0;
    cr_assert_eq(tc_genesis_to_json(&g, &text), TC_EGENESIS, "a zero amount would not parse back");
    cr_assert_null(text, "cleared on failure");
    g.outputs[1].amount = 5;
    g.time_ms = UINT64_MAX;
    cr_assert_eq(tc_genesis_to_json(&g, &text), TC_EGENESIS, "time_ms past what JSON carries");
    g.time_ms = 1;
    g.profile.mempool_bytes_max = UINT64_MAX;
    char err[256] = "";
    cr_assert_eq(tc_genesis_check(&g, err, sizeof(err)), TC_EGENESIS);
    assert_message(err, "profile.mempool_bytes_max", "largest JSON integer");
    tc_genesis_deinit(&g);
}

/* ---- hash ---- */

Test(genesis, hash_ignores_whitespace_and_key_order)
{
    tc_genesis a;
    tc_genesis b;
    tc_genesis c;
    tc_hash ha;
    tc_hash hb;
    tc_hash hc;
    good_genesis(&a);
    json_t *doc = good_json();
    cr_assert_eq(parse_json(doc, JSON_COMPACT | JSON_SORT_KEYS, &b, NULL, 0), 0);
    cr_assert_eq(parse_json(doc, JSON_INDENT(7), &c, NULL, 0), 0);
    tc_genesis_hash(&a, &ha);
    tc_genesis_hash(&b, &hb);
    tc_genesis_hash(&c, &hc);
    cr_assert_eq(memcmp(ha.b, hb.b, TC_HASH_SIZE), 0);
    cr_assert_eq(memcmp(ha.b, hc.b, TC_HASH_SIZE), 0);
    json_decref(doc);
    tc_genesis_deinit(&a);
    tc_genesis_deinit(&b);
    tc_genesis_deinit(&c);
}

#define HASH_VARIANTS 16

/* Variant v (1..HASH_VARIANTS) of the good genesis changes exactly one thing; 0 is unchanged. */
static void mutate(tc_genesis *g, int v)
{
    switch (v) {
    case 1:
        g->network = TC_NET_MAINNET;
        break;
    case 2:
        g->time_ms++;
        break;
    case 3:
        g->outputs[0].amount++;
        break;
    case 4:
        g->outputs[2].addr.b[19] ^= 1;
        break;
    case 5:
        g->output_count--;
        break;
    case 6:
        g->mns[1].key.b[0] ^= 1;
        break;
    case 7:
        g->mns[1].tier = TC_TIER_GOLD;
        break;
    case 8:
        g->mns[2].owner.b[7] ^= 1;
        break;
    case 9:
        g->mns[0].net_addr[0] = '8';
        break;
    case 10:
        g->mn_count--;
        break;
    case 11:
        cr_assert_eq(tc_profile_set(&g->profile, "epoch_blocks", 21), 0);
        break;
    case 12:
        cr_assert_eq(tc_profile_set(&g->profile, "ban_max_ms", 86400001), 0);
        break;
    case 13:
        cr_assert_eq(tc_profile_set(&g->profile, "p2p_port", 1), 0);
        break;
    case 14:
        tc_profile_get(&g->profile, TC_NET_TESTNET);
        break; /* overrides dropped */
    case 15:
        g->mns[0].net_addr[14] = '\0';
        break; /* "127.0.0.1:2410" */
    case 16: {
        tc_txout t = g->outputs[1];
        g->outputs[1] = g->outputs[2];
        g->outputs[2] = t;
        break;
    }
    default:
        break;
    }
}

Test(genesis, hash_changes_with_every_field)
{
    tc_hash h[HASH_VARIANTS + 1];
    for (int v = 0; v <= HASH_VARIANTS; v++) {
        tc_genesis g;
        good_genesis(&g);
        mutate(&g, v);
        tc_genesis_hash(&g, &h[v]);
        tc_genesis_deinit(&g);
    }
    for (int i = 0; i <= HASH_VARIANTS; i++)
        for (int j = i + 1; j <= HASH_VARIANTS; j++)
            cr_assert_neq(memcmp(h[i].b, h[j].b, TC_HASH_SIZE), 0, "variants %d and %d", i, j);
}

/* ---- outpoints and supply ---- */

Test(genesis, outpoints_list_outputs_then_collateral)
{
    tc_genesis g;
    tc_txout o;
    uint64_t supply = 0;
    good_genesis(&g);
    cr_assert_eq(tc_genesis_outpoint_count(&g), 6);
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert_eq(tc_genesis_outpoint_txout(&g, i, &o), 0);
        cr_assert_eq(o.amount, g.outputs[i].amount);
        cr_assert_eq(memcmp(o.addr.b, g.outputs[i].addr.b, TC_ADDR_HASH_SIZE), 0);
    }
    for (uint32_t k = 0; k < 3; k++) {
        cr_assert_eq(tc_genesis_outpoint_txout(&g, 3 + k, &o), 0);
        cr_assert_eq(o.amount, tc_tier_collateral(&g.profile, (tc_tier)g.mns[k].tier));
        cr_assert_eq(memcmp(o.addr.b, g.mns[k].owner.b, TC_ADDR_HASH_SIZE), 0);
    }
    cr_assert_eq(tc_genesis_outpoint_txout(&g, 6, &o), TC_ENOTFOUND);
    cr_assert_eq(o.amount, 0, "cleared");
    cr_assert_eq(tc_genesis_outpoint_txout(&g, UINT32_MAX, &o), TC_ENOTFOUND);
    cr_assert_eq(tc_genesis_supply(&g, &supply), 0);
    uint64_t want = UINT64_C(100000000000) + 5 + 7 + (UINT64_C(1000) + 10000 + 100000) * 100000000;
    cr_assert_eq(supply, want, "supply %llu", (unsigned long long)supply);
    tc_genesis_deinit(&g);
}

/* ---- creation from a seed ---- */

Test(genesis, create_is_deterministic_and_keys_rederive)
{
    static const uint8_t tiers[4] = {TC_TIER_GOLD, TC_TIER_BRONZE, TC_TIER_SILVER, TC_TIER_BRONZE};
    tc_genesis a;
    tc_genesis b;
    tc_hash ha;
    tc_hash hb;
    cr_assert_eq(tc_genesis_create(&a, TC_NET_TESTNET, master, 4, tiers, 5, 777, 123), 0);
    cr_assert_eq(tc_genesis_create(&b, TC_NET_TESTNET, master, 4, tiers, 5, 777, 123), 0);
    tc_genesis_hash(&a, &ha);
    tc_genesis_hash(&b, &hb);
    cr_assert_eq(memcmp(ha.b, hb.b, TC_HASH_SIZE), 0, "same seed, same genesis");
    cr_assert_eq(a.mn_count, 4);
    cr_assert_eq(a.output_count, 5);
    cr_assert_eq(a.time_ms, 123);
    for (uint32_t i = 0; i < 4; i++) {
        tc_keypair kp;
        tc_addr_hash owner;
        char net[32];
        cr_assert_eq(tc_genesis_key(master, "validator", i, &kp), 0);
        cr_assert_eq(memcmp(a.mns[i].key.b, kp.pub.b, TC_PUBKEY_SIZE), 0);
        cr_assert_eq(tc_genesis_key(master, "owner", i, &kp), 0);
        tc_addr_from_pubkey(&kp.pub, &owner);
        cr_assert_eq(memcmp(a.mns[i].owner.b, owner.b, TC_ADDR_HASH_SIZE), 0);
        cr_assert_eq(a.mns[i].tier, tiers[i]);
        snprintf(net, sizeof(net), "127.0.0.1:%u", 24100u + i);
        cr_assert_str_eq(a.mns[i].net_addr, net);
    }
    for (uint32_t j = 0; j < 5; j++) {
        tc_keypair kp;
        tc_addr_hash h;
        cr_assert_eq(tc_genesis_key(master, "wallet", j, &kp), 0);
        tc_addr_from_pubkey(&kp.pub, &h);
        cr_assert_eq(memcmp(a.outputs[j].addr.b, h.b, TC_ADDR_HASH_SIZE), 0);
        cr_assert_eq(a.outputs[j].amount, 777);
    }
    /* The key of validator 0 signs, and re-derivation gives the same signature. */
    tc_keypair v0;
    tc_keypair v0b;
    tc_hash msg;
    tc_sig s1;
    tc_sig s2;
    cr_assert_eq(tc_genesis_key(master, "validator", 0, &v0), 0);
    cr_assert_eq(tc_genesis_key(master, "validator", 0, &v0b), 0);
    tc_hash_tagged(&msg, TC_TAG_VOTE, "v", 1);
    tc_sign(TC_SIG_ED25519, &v0, &msg, &s1);
    tc_sign(TC_SIG_ED25519, &v0b, &msg, &s2);
    cr_assert_eq(memcmp(s1.b, s2.b, TC_SIG_SIZE), 0);
    cr_assert_eq(tc_verify_raw(TC_SIG_ED25519, &a.mns[0].key, &msg, &s1), 0);
    tc_genesis_deinit(&a);
    tc_genesis_deinit(&b);
}

Test(genesis, create_varies_with_seed_and_network_and_round_trips)
{
    uint8_t other[TC_SEED_SIZE];
    tc_genesis a;
    tc_genesis b;
    tc_genesis m;
    tc_genesis back;
    tc_hash ha;
    tc_hash hb;
    tc_hash hm;
    memset(other, 0x34, sizeof(other));
    cr_assert_eq(tc_genesis_create(&a, TC_NET_TESTNET, master, 3, NULL, 2, 1000, 0), 0);
    cr_assert_eq(tc_genesis_create(&b, TC_NET_TESTNET, other, 3, NULL, 2, 1000, 0), 0);
    cr_assert_eq(tc_genesis_create(&m, TC_NET_MAINNET, master, 3, NULL, 2, 1000, 0), 0);
    cr_assert_eq(a.mns[2].tier, TC_TIER_BRONZE, "NULL tiers: all bronze");
    cr_assert_str_eq(m.mns[1].net_addr, "127.0.0.1:24001");
    tc_genesis_hash(&a, &ha);
    tc_genesis_hash(&b, &hb);
    tc_genesis_hash(&m, &hm);
    cr_assert_neq(memcmp(ha.b, hb.b, TC_HASH_SIZE), 0);
    cr_assert_neq(memcmp(ha.b, hm.b, TC_HASH_SIZE), 0);
    char err[256] = "";
    char *text = NULL;
    cr_assert_eq(tc_genesis_to_json(&m, &text), 0);
    cr_assert_not_null(strstr(text, "\"TIME1"), "mainnet addresses:\n%s", text);
    cr_assert_eq(tc_genesis_parse(text, strlen(text), &back, err, sizeof(err)), 0, "%s", err);
    cr_assert(genesis_equal(&m, &back));
    free(text);
    tc_genesis_deinit(&a);
    tc_genesis_deinit(&b);
    tc_genesis_deinit(&m);
    tc_genesis_deinit(&back);
}

Test(genesis, create_rejects_bad_arguments_and_key_kinds)
{
    static const uint8_t bad_tier[2] = {TC_TIER_BRONZE, 7};
    tc_genesis g;
    tc_keypair kp;
    cr_assert_eq(tc_genesis_create(&g, TC_NET_TESTNET, master, 0, NULL, 1, 1, 0), TC_EINVAL);
    cr_assert_null(g.mns);
    cr_assert_eq(tc_genesis_create(&g, TC_NET_TESTNET, master, 1025, NULL, 1, 1, 0), TC_EINVAL);
    cr_assert_eq(tc_genesis_create(&g, TC_NET_TESTNET, master, 2, bad_tier, 1, 1, 0), TC_EINVAL);
    cr_assert_eq(tc_genesis_create(&g, TC_NET_TESTNET, master, 2, NULL, 1, 0, 0), TC_EINVAL);
    cr_assert_eq(tc_genesis_create(&g, TC_NET_TESTNET, master, 2, NULL, 1, UINT64_MAX, 0),
                 TC_EINVAL, "not representable in JSON");
    cr_assert_eq(tc_genesis_create(&g, TC_NET_TESTNET, master, 1, NULL, 3, INT64_MAX, 0), TC_EINVAL,
                 "supply overflow");
    cr_assert_null(g.outputs);
    cr_assert_eq(tc_genesis_create(&g, TC_NET_TESTNET, master, 1, NULL, 0, 0, 0), 0,
                 "no wallets is fine");
    cr_assert_eq(g.output_count, 0);
    tc_genesis_deinit(&g);
    cr_assert_eq(tc_genesis_key(master, "validators", 0, &kp), TC_EINVAL);
    cr_assert_eq(tc_genesis_key(master, "", 0, &kp), TC_EINVAL);
}
