/* time_cli.c — the operator's command-line tool. Today it carries the offline commands an
 * operator needs before any node runs: creating a genesis document with keys for N masternodes
 * and W wallets from one seed, checking a genesis file, and checking an address. The RPC
 * commands arrive with the live node.
 *
 * Exit codes (DESIGN.md): 0 success, 1 a check failed, 2 bad input or usage.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "address.h"
#include "crypto.h"
#include "genesis.h"
#include "jsonw.h"

static const char usage[] =
    "usage: time-cli <command> [options]\n"
    "\n"
    "commands:\n"
    "  genesis --out DIR [--seed N] [--validators N] [--tiers T,T,...] [--wallets N]\n"
    "          [--amount TIME] [--network testnet|mainnet] [--time-ms MS] [--profile NAME=N]...\n"
    "      writes DIR/genesis.json and DIR/keys/{validator,owner,wallet}-I.json; every key\n"
    "      derives from the seed, so the same seed recreates the same network. --profile\n"
    "      overrides one protocol parameter of the network's defaults (PROTOCOL.md, profile;\n"
    "      e.g. block_interval_ms=200 for a fast test network); repeat it for more.\n"
    "      defaults: --seed 42 --validators 4 --wallets 4 --amount 1000000 --network testnet\n"
    "                --time-ms 1767225600000 (2026-01-01), tiers all bronze\n"
    "  genesis-check FILE\n"
    "      parses and validates a genesis document and prints its hash.\n"
    "  address-check ADDRESS [--network testnet|mainnet]\n"
    "      checks an address's prefix, alphabet and checksum.\n"
    "  help\n";

static int bad_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "time-cli: %s%s%s\n\n%s", msg, arg ? ": " : "", arg ? arg : "", usage);
    return 2;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "time-cli: %s: %s\n", path, strerror(errno));
        return 2;
    }
    bool ok = fputs(text, f) >= 0;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "time-cli: %s: write failed\n", path);
        return 2;
    }
    return 0;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "time-cli: %s: %s\n", path, strerror(errno));
        return 2;
    }
    return 0;
}

/* Prints o (released here) as one JSON line on stdout (core/jsonw.h: any path or argument is
 * written as valid JSON). bad != 0: building o failed. Returns 0, or 2 when memory ran out. */
static int print_json(json_t *o, int bad)
{
    char *line = bad == 0 ? tc_jsonw_line(o) : NULL;
    json_decref(o);
    if (line == NULL) {
        fprintf(stderr, "time-cli: out of memory\n");
        return 2;
    }
    fputs(line, stdout);
    free(line);
    return 0;
}

/* Writes DIR/keys/KIND-I.json with the seed, public key and address of one derived key. */
static int write_key(const char *dir, tc_network net, const uint8_t master[32], const char *kind,
                     uint32_t index)
{
    tc_keypair kp;
    uint8_t seed[TC_SEED_SIZE];
    tc_addr_hash ah;
    char seed_hex[2 * TC_SEED_SIZE + 1], pub_hex[2 * TC_PUBKEY_SIZE + 1];
    char addr[TC_ADDRESS_TEXT_MAX], path[4096];

    tc_seed_derive(seed, master, kind, index);
    tc_keypair_from_seed(&kp, seed);
    tc_addr_from_pubkey(&kp.pub, &ah);
    tc_address_encode(net, &ah, addr);
    tc_hex(seed_hex, seed, sizeof(seed));
    tc_hex(pub_hex, kp.pub.b, sizeof(kp.pub.b));

    json_t *doc = json_pack("{s:s, s:I, s:s, s:s, s:s}", "kind", kind, "index", (json_int_t)index,
                            "seed", seed_hex, "public_key", pub_hex, "address", addr);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (text == NULL) {
        fprintf(stderr, "time-cli: out of memory\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/keys/%s-%u.json", dir, kind, index);
    int rc = write_text(path, text);
    free(text);
    return rc;
}

typedef struct {
    const char *out;
    uint64_t seed, validators, wallets, amount_time, time_ms;
    tc_network net;
    uint8_t tiers[1024];
    bool tiers_given;
    uint32_t profile_count;
    const char *profile[64]; /* NAME=VALUE, checked when the genesis is made */
} genesis_opts;

static int parse_tiers(genesis_opts *o, const char *list)
{
    char buf[8192];
    size_t n = 0;
    if (strlen(list) >= sizeof(buf))
        return bad_usage("--tiers list too long", NULL);
    strcpy(buf, list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        tc_tier tier;
        if (n >= TC_ARRAY_LEN(o->tiers) || tc_tier_parse(t, &tier) != 0)
            return bad_usage("--tiers takes bronze, silver or gold, comma-separated", t);
        o->tiers[n++] = (uint8_t)tier;
    }
    o->tiers_given = true;
    return n == o->validators ? 0 : bad_usage("--tiers must name one tier per validator", list);
}

static int parse_genesis_opts(int argc, char **argv, genesis_opts *o)
{
    const char *tiers = NULL;
    *o = (genesis_opts){.seed = 42,
                        .validators = 4,
                        .wallets = 4,
                        .amount_time = 1000000,
                        .time_ms = UINT64_C(1767225600000),
                        .net = TC_NET_TESTNET};
    for (int i = 2; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = v != NULL;
        if (strcmp(a, "--out") == 0)
            o->out = v;
        else if (strcmp(a, "--seed") == 0)
            ok = ok && tc_parse_u64(v, 0, UINT64_MAX, &o->seed) == 0;
        else if (strcmp(a, "--validators") == 0)
            ok = ok && tc_parse_u64(v, 1, TC_ARRAY_LEN(o->tiers), &o->validators) == 0;
        else if (strcmp(a, "--wallets") == 0)
            ok = ok && tc_parse_u64(v, 0, 100000, &o->wallets) == 0;
        else if (strcmp(a, "--amount") == 0)
            ok = ok && tc_parse_u64(v, 1, UINT64_MAX / TC_UNITS_PER_TIME, &o->amount_time) == 0;
        else if (strcmp(a, "--time-ms") == 0)
            ok = ok && tc_parse_u64(v, 0, UINT64_MAX, &o->time_ms) == 0;
        else if (strcmp(a, "--network") == 0)
            ok = ok && tc_profile_network_parse(v, &o->net) == 0;
        else if (strcmp(a, "--tiers") == 0)
            tiers = v;
        else if (strcmp(a, "--profile") == 0 && o->profile_count < TC_ARRAY_LEN(o->profile))
            o->profile[o->profile_count++] = v;
        else
            return bad_usage("unknown option", a);
        if (!ok)
            return bad_usage("bad or missing value for", a);
    }
    if (o->out == NULL)
        return bad_usage("genesis needs --out DIR", NULL);
    return tiers ? parse_tiers(o, tiers) : 0;
}

static int cmd_genesis(int argc, char **argv)
{
    genesis_opts o;
    int rc = parse_genesis_opts(argc, argv, &o);
    if (rc != 0)
        return rc;

    uint8_t master[TC_SEED_SIZE];
    tc_seed_from_u64(master, o.seed);

    tc_genesis g;
    rc =
        tc_genesis_create(&g, o.net, master, (uint32_t)o.validators, o.tiers_given ? o.tiers : NULL,
                          (uint32_t)o.wallets, o.amount_time * TC_UNITS_PER_TIME, o.time_ms);
    if (rc != 0) {
        fprintf(stderr, "time-cli: cannot create genesis: %s\n", tc_strerror(rc));
        return 2;
    }
    for (uint32_t k = 0; k < o.profile_count; k++) {
        char name[128];
        const char *eq = strchr(o.profile[k], '=');
        uint64_t value = 0;
        size_t n = eq ? (size_t)(eq - o.profile[k]) : 0;
        if (n == 0 || n >= sizeof(name) || tc_parse_u64(eq + 1, 0, UINT64_MAX, &value) != 0) {
            tc_genesis_deinit(&g);
            return bad_usage("--profile takes NAME=NUMBER", o.profile[k]);
        }
        memcpy(name, o.profile[k], n);
        name[n] = 0;
        if (tc_profile_set(&g.profile, name, value) != 0) {
            tc_genesis_deinit(&g);
            return bad_usage("unknown profile field or value out of range", o.profile[k]);
        }
    }
    char why[256];
    if (o.profile_count > 0 && tc_genesis_check(&g, why, sizeof(why)) != 0) {
        tc_genesis_deinit(&g);
        return bad_usage("the profile overrides break the genesis", why);
    }
    char *json = NULL;
    char path[4096];
    rc = tc_genesis_to_json(&g, &json);
    if (rc != 0)
        fprintf(stderr, "time-cli: cannot write genesis: %s\n", tc_strerror(rc));
    rc = rc == 0 ? 0 : 2;
    if (rc == 0)
        rc = make_dir(o.out);
    snprintf(path, sizeof(path), "%s/keys", o.out);
    if (rc == 0)
        rc = make_dir(path);
    snprintf(path, sizeof(path), "%s/genesis.json", o.out);
    if (rc == 0)
        rc = write_text(path, json);
    for (uint32_t i = 0; rc == 0 && i < o.validators; i++) {
        rc = write_key(o.out, o.net, master, "validator", i);
        if (rc == 0)
            rc = write_key(o.out, o.net, master, "owner", i);
    }
    for (uint32_t j = 0; rc == 0 && j < o.wallets; j++)
        rc = write_key(o.out, o.net, master, "wallet", j);
    if (rc == 0) {
        tc_hash gh;
        char hex[2 * TC_HASH_SIZE + 1];
        tc_genesis_hash(&g, &gh);
        tc_hex(hex, gh.b, sizeof(gh.b));
        json_t *out = json_object();
        int bad = tc_jsonw_set(out, "genesis", tc_jsonw_str(path));
        bad |= tc_jsonw_set(out, "hash", tc_jsonw_str(hex));
        bad |= tc_jsonw_set(out, "validators", tc_jsonw_u64(o.validators));
        bad |= tc_jsonw_set(out, "wallets", tc_jsonw_u64(o.wallets));
        rc = print_json(out, bad);
    }
    free(json);
    tc_genesis_deinit(&g);
    return rc;
}

static char *read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        len += fread(buf + len, 1, cap - len - 1, f);
        if (len < cap - 1 || cap >= ((size_t)64 << 20))
            break;
        char *bigger = realloc(buf, cap * 2);
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    bool err = ferror(f) != 0;
    fclose(f);
    if (buf == NULL || err) {
        free(buf);
        return NULL;
    }
    buf[len] = 0;
    *len_out = len;
    return buf;
}

static int cmd_genesis_check(int argc, char **argv)
{
    if (argc != 3)
        return bad_usage("genesis-check takes one FILE", NULL);
    size_t len = 0;
    char *text = read_file(argv[2], &len);
    if (text == NULL) {
        fprintf(stderr, "time-cli: %s: %s\n", argv[2], strerror(errno));
        return 2;
    }
    tc_genesis g;
    char err[512];
    int rc = tc_genesis_parse(text, len, &g, err, sizeof(err));
    free(text);
    if (rc != 0) {
        fprintf(stderr, "%s:%s\n", argv[2], err);
        return 2;
    }
    tc_hash gh;
    char hex[2 * TC_HASH_SIZE + 1];
    tc_genesis_hash(&g, &gh);
    tc_hex(hex, gh.b, sizeof(gh.b));
    json_t *out = json_object();
    int bad = tc_jsonw_set(out, "file", tc_jsonw_str(argv[2]));
    bad |= tc_jsonw_set(out, "ok", json_true());
    bad |= tc_jsonw_set(out, "hash", tc_jsonw_str(hex));
    bad |= tc_jsonw_set(out, "masternodes", json_integer(g.mn_count));
    bad |= tc_jsonw_set(out, "outputs", json_integer(g.output_count));
    tc_genesis_deinit(&g);
    return print_json(out, bad);
}

static int cmd_address_check(int argc, char **argv)
{
    tc_network net = TC_NET_TESTNET;
    if (argc == 5 && strcmp(argv[3], "--network") == 0) {
        if (tc_profile_network_parse(argv[4], &net) != 0)
            return bad_usage("unknown network", argv[4]);
    } else if (argc != 3) {
        return bad_usage("address-check takes ADDRESS [--network NAME]", NULL);
    }
    tc_addr_hash ah;
    int rc = tc_address_decode(argv[2], net, &ah);
    json_t *out = json_object();
    int bad = tc_jsonw_set(out, "address", tc_jsonw_str(argv[2]));
    bad |= tc_jsonw_set(out, "ok", json_boolean(rc == 0));
    if (rc != 0) {
        bad |= tc_jsonw_set(out, "error", tc_jsonw_str(tc_strerror(rc)));
        return print_json(out, bad) == 0 ? 1 : 2;
    }
    char hex[2 * TC_ADDR_HASH_SIZE + 1];
    tc_hex(hex, ah.b, sizeof(ah.b));
    bad |= tc_jsonw_set(out, "hash", tc_jsonw_str(hex));
    return print_json(out, bad);
}

int main(int argc, char **argv)
{
    if (tc_crypto_init() != 0) {
        fprintf(stderr, "time-cli: libsodium failed to initialise\n");
        return 2;
    }
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "genesis") == 0)
        return cmd_genesis(argc, argv);
    if (strcmp(argv[1], "genesis-check") == 0)
        return cmd_genesis_check(argc, argv);
    if (strcmp(argv[1], "address-check") == 0)
        return cmd_address_check(argc, argv);
    return bad_usage("unknown command", argv[1]);
}
