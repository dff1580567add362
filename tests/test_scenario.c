/* test_scenario.c — the scenario language v1: every statement parses to the values it states
 * (table-driven), every error names its exact line and column, write -> parse is a fixed point,
 * the full example of shared/SCENARIOS.md parses, and the model's helpers (endpoints, link
 * parameters, tiers, copy, file input). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "tx.h"

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */

static int parse(const char *text, tc_scn *s, char *err, size_t err_len)
{
    return tc_scn_parse_text("t.scn", text, strlen(text), s, err, err_len);
}

static void parse_ok(const char *text, tc_scn *s)
{
    char err[512];
    int rc = parse(text, s, err, sizeof(err));
    cr_assert_eq(rc, 0, "parse failed (%d): %s\n--- text ---\n%s", rc, err, text);
}

/* Canonical text of s; the caller frees it. */
static char *write_text(const tc_scn *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cr_assert_eq(tc_scn_write(f, s), 0);
    cr_assert_eq(fclose(f), 0);
    return buf;
}

static int64_t node_code(tc_scn_node n)
{
    return (int64_t)n.kind * 10000 + n.index;
}

#define N(i) ((int64_t)(i))           /* validator ni */
#define F(i) ((int64_t)(10000 + (i))) /* fullnode fi */
#define B(i) ((int64_t)(20000 + (i))) /* twin nib */

typedef struct {
    const char *name;
    int64_t value;
} walk_find;

static void find_field(void *ctx, const char *name, uint64_t value)
{
    walk_find *w = ctx;
    if (strcmp(name, w->name) == 0)
        w->value = (int64_t)value;
}

static int64_t member_value(const tc_scn *s, tc_scn_span span, const char *rest)
{
    if (strcmp(rest, "count") == 0)
        return span.count;
    unsigned k = 0;
    char what[16] = "";
    cr_assert_eq(sscanf(rest, "m%u.%15s", &k, what), 2, "bad path %s", rest);
    cr_assert_lt(k, span.count);
    const tc_scn_member *m = &s->members[span.first + k];
    return strcmp(what, "group") == 0 ? (int64_t)m->group : node_code(m->node);
}

static int64_t link_value(const tc_net_link *l, const char *f)
{
    static const struct {
        const char *name;
        size_t offset;
    } fields[] = {
        {"latency", offsetof(tc_net_link, latency_ms)},
        {"jitter", offsetof(tc_net_link, jitter_ms)},
        {"loss", offsetof(tc_net_link, loss_ppm)},
        {"dup", offsetof(tc_net_link, dup_ppm)},
        {"reorder", offsetof(tc_net_link, reorder_ppm)},
        {"flap_up", offsetof(tc_net_link, flap_up_ms)},
        {"flap_down", offsetof(tc_net_link, flap_down_ms)},
    };
    if (strcmp(f, "bandwidth") == 0)
        return (int64_t)l->bandwidth_Bps;
    for (size_t k = 0; k < TC_ARRAY_LEN(fields); k++) {
        if (strcmp(f, fields[k].name) == 0) {
            uint32_t v;
            memcpy(&v, (const char *)l + fields[k].offset, sizeof(v));
            return v;
        }
    }
    cr_assert_fail("unknown link field %s", f);
    return 0;
}

static int64_t event_value(const tc_scn *s, unsigned k, const char *f)
{
    cr_assert_lt(k, s->event_count, "no event %u", k);
    const tc_scn_event *e = &s->events[k];
    if (strcmp(f, "at") == 0)
        return (int64_t)e->at_ms;
    if (strcmp(f, "kind") == 0)
        return e->kind;
    if (strcmp(f, "node") == 0)
        return node_code(e->node);
    if (strcmp(f, "lose") == 0)
        return e->lose_writes;
    if (strcmp(f, "oneway") == 0)
        return e->oneway;
    if (strcmp(f, "dur") == 0)
        return (int64_t)e->duration_ms;
    if (strcmp(f, "jump") == 0)
        return e->jump_ms;
    if (strcmp(f, "byz") == 0)
        return e->byz;
    if (strcmp(f, "flood") == 0)
        return e->flood_per_s;
    if (strcmp(f, "tier") == 0)
        return e->tier;
    if (strcmp(f, "rate") == 0)
        return e->rate_per_s;
    if (strcmp(f, "line") == 0)
        return e->line;
    return member_value(s, e->members, f);
}

static int64_t expect_value(const tc_scn *s, unsigned k, const char *f)
{
    cr_assert_lt(k, s->expect_count, "no expectation %u", k);
    const tc_scn_expect *e = &s->expects[k];
    if (strcmp(f, "kind") == 0)
        return e->kind;
    if (strcmp(f, "cmp") == 0)
        return e->cmp;
    if (strcmp(f, "value") == 0)
        return (int64_t)e->value;
    if (strcmp(f, "q") == 0)
        return e->quantile_ppm;
    if (strcmp(f, "heal") == 0)
        return e->after_heal;
    if (strcmp(f, "within") == 0)
        return (int64_t)e->within_ms;
    if (strcmp(f, "after") == 0)
        return (int64_t)e->after_ms;
    if (strcmp(f, "node") == 0)
        return node_code(e->node);
    return member_value(s, e->members, f);
}

static int64_t setup_list_value(const tc_scn *s, const char *path)
{
    unsigned k = 0;
    char f[32] = "";
    if (sscanf(path, "tier%u.%31s", &k, f) == 2) {
        cr_assert_lt(k, s->tier_count);
        return strcmp(f, "node") == 0 ? node_code(s->tiers[k].node) : s->tiers[k].tier;
    }
    if (sscanf(path, "clock%u.%31s", &k, f) == 2) {
        cr_assert_lt(k, s->clock_count);
        return strcmp(f, "node") == 0     ? node_code(s->clocks[k].node)
               : strcmp(f, "offset") == 0 ? s->clocks[k].offset_ms
                                          : s->clocks[k].drift_ppm;
    }
    if (sscanf(path, "byz%u.%31s", &k, f) == 2) {
        cr_assert_lt(k, s->byz_count);
        return strcmp(f, "node") == 0   ? node_code(s->byz[k].node)
               : strcmp(f, "kind") == 0 ? s->byz[k].kind
                                        : s->byz[k].flood_per_s;
    }
    cr_assert_eq(sscanf(path, "link%u.%31s", &k, f), 2, "bad path %s", path);
    cr_assert_lt(k, s->link_count);
    const tc_scn_link *l = &s->links[k];
    if (strcmp(f, "a") == 0 || strcmp(f, "b") == 0)
        return node_code(f[0] == 'a' ? l->a : l->b);
    if (strcmp(f, "oneway") == 0)
        return l->oneway;
    if (strcmp(f, "mask") == 0)
        return l->mask;
    return link_value(&l->params, f);
}

/* The value at a path: "seed", "net.loss", "profile.epoch_blocks", "ev0.at", "ex1.m0.node"... */
static int64_t value_at(const tc_scn *s, const char *path)
{
    static const struct {
        const char *name;
        size_t offset, size;
    } scalars[] = {
#define S(n, f) {n, offsetof(tc_scn, f), sizeof(((tc_scn *)0)->f)}
        S("seed", seed),
        S("network", network),
        S("nodes", node_count),
        S("fullnodes", fullnode_count),
        S("storage", storage),
        S("crypto", crypto),
        S("load", load_per_s),
        S("clients", load_clients),
        S("double_spend", double_spend_ppm),
        S("faults", chaos_faults),
        S("heal_by", chaos_heal_by_ms),
        S("run", run_ms),
        S("events", event_count),
        S("expects", expect_count),
        S("overrides", override_count),
        S("tiers", tier_count),
        S("links", link_count),
        S("clocks", clock_count),
        S("byzs", byz_count),
#undef S
    };
    for (size_t k = 0; k < TC_ARRAY_LEN(scalars); k++) {
        if (strcmp(path, scalars[k].name) != 0)
            continue;
        uint64_t v = 0;
        uint32_t v32 = 0;
        if (scalars[k].size == 8)
            memcpy(&v, (const char *)s + scalars[k].offset, 8);
        else
            memcpy(&v32, (const char *)s + scalars[k].offset, 4), v = v32;
        return (int64_t)v;
    }
    if (strncmp(path, "net.", 4) == 0)
        return link_value(&s->net, path + 4);
    if (strncmp(path, "profile.", 8) == 0) {
        walk_find w = {path + 8, -1};
        tc_profile_each(&s->profile, find_field, &w);
        return w.value;
    }
    unsigned k = 0;
    int used = 0;
    if (sscanf(path, "ev%u.%n", &k, &used) == 1 && used > 0)
        return event_value(s, k, path + used);
    if (sscanf(path, "ex%u.%n", &k, &used) == 1 && used > 0)
        return expect_value(s, k, path + used);
    return setup_list_value(s, path);
}

/* ------------------------------------------------------------------------------------------ */
/* Every statement parses to the right values                                                 */

/* Where a case's text goes: 's' setup, 't' timeline, 'e' expectations (each wrapped in a
 * scenario of 4 validators and 2 fullnodes running 60 s), 'f' the full text as given. */
typedef struct {
    char where;
    const char *text;
    struct {
        const char *path;
        int64_t want;
    } checks[6];
} value_case;

static const value_case value_cases[] = {
    /* setup */
    {'s', "scenario \"a \\\"quoted\\\" \\\\ name\"", {{"nodes", 4}}},
    {'s', "seed 42", {{"seed", 42}}},
    {'s', "seed 18446744073709551615", {{"seed", -1}}}, /* UINT64_MAX */
    {'f',
     "nodes 4\nrun 1s",
     {{"seed", 1},
      {"network", 0},
      {"clients", 16},
      {"net.latency", 50},
      {"net.jitter", 10},
      {"run", 1000}}},
    {'s', "profile mainnet", {{"network", 1}, {"profile.block_interval_ms", 600000}}},
    {'s',
     "profile testnet epoch 20 interval 500ms",
     {{"overrides", 2}, {"profile.epoch_blocks", 20}, {"profile.block_interval_ms", 500}}},
    {'s',
     "profile testnet timeout_propose 2s ban_base_ms 1m",
     {{"profile.timeout_propose_ms", 2000}, {"profile.ban_base_ms", 60000}}},
    {'s',
     "profile epoch_blocks 30\nprofile testnet epoch_blocks 40",
     {{"overrides", 1}, {"profile.epoch_blocks", 40}}},
    /* raising clock_warn above the default clock_stop needs clock_stop first: any order works */
    {'s',
     "profile testnet clock_warn_ms 200s clock_stop_ms 300s",
     {{"profile.clock_warn_ms", 200000}, {"profile.clock_stop_ms", 300000}}},
    {'s', "profile testnet block_interval_ms 1.5s", {{"profile.block_interval_ms", 1500}}},
    {'f', "nodes 1024\nrun 1m", {{"nodes", 1024}, {"run", 60000}}},
    {'f', "nodes 4\nfullnodes 0\nrun 1s", {{"fullnodes", 0}}},
    {'s', "tier n0 gold", {{"tiers", 1}, {"tier0.node", N(0)}, {"tier0.tier", TC_TIER_GOLD}}},
    {'s',
     "tier n1 n2 silver",
     {{"tiers", 2}, {"tier0.node", N(1)}, {"tier1.node", N(2)}, {"tier1.tier", TC_TIER_SILVER}}},
    {'s',
     "network latency 20ms jitter 0ms loss 0.5% dup 1% reorder 2.25%",
     {{"net.latency", 20},
      {"net.jitter", 0},
      {"net.loss", 5000},
      {"net.dup", 10000},
      {"net.reorder", 22500}}},
    {'s',
     "network bandwidth 10MB/s flap 10s 500ms",
     {{"net.bandwidth", 10000000},
      {"net.flap_up", 10000},
      {"net.flap_down", 500},
      {"net.latency", 50}}},
    {'s', "network loss 100% bandwidth 1500B/s", {{"net.loss", 1000000}, {"net.bandwidth", 1500}}},
    {'s',
     "link n0 n1 latency 200ms loss 5%",
     {{"link0.a", N(0)},
      {"link0.b", N(1)},
      {"link0.oneway", 0},
      {"link0.mask", TC_SCN_LINK_LATENCY | TC_SCN_LINK_LOSS},
      {"link0.latency", 200},
      {"link0.loss", 50000}}},
    {'s',
     "link f1 -> n3 dup 3% bandwidth unlimited flap off",
     {{"link0.a", F(1)},
      {"link0.b", N(3)},
      {"link0.oneway", 1},
      {"link0.mask", TC_SCN_LINK_DUP | TC_SCN_LINK_BANDWIDTH | TC_SCN_LINK_FLAP},
      {"link0.dup", 30000},
      {"link0.bandwidth", 0}}},
    {'s',
     "clock n2 offset +3s drift 100ppm",
     {{"clock0.node", N(2)}, {"clock0.offset", 3000}, {"clock0.drift", 100}}},
    {'s',
     "clock f0 drift -50ppm offset -1.5s",
     {{"clock0.node", F(0)}, {"clock0.offset", -1500}, {"clock0.drift", -50}}},
    {'s', "clock n1 offset 250ms", {{"clock0.offset", 250}, {"clock0.drift", 0}}},
    {'s', "storage lmdb", {{"storage", TC_SCN_STORAGE_LMDB}}},
    {'s', "storage mem", {{"storage", TC_SCN_STORAGE_MEM}}},
    {'s', "crypto fast", {{"crypto", TC_SCN_CRYPTO_FAST}}},
    {'s', "crypto ed25519", {{"crypto", TC_SCN_CRYPTO_ED25519}}},
    {'s',
     "load 200/s clients 16 double-spend 1%",
     {{"load", 200}, {"clients", 16}, {"double_spend", 10000}}},
    {'s', "load 50/s", {{"load", 50}, {"clients", 16}, {"double_spend", 0}}},
    {'s',
     "load 0/s double-spend 0.01% clients 3",
     {{"load", 0}, {"clients", 3}, {"double_spend", 100}}},
    {'s', "byzantine n3 equivocate", {{"byz0.node", N(3)}, {"byz0.kind", TC_SCN_BYZ_EQUIVOCATE}}},
    {'s',
     "byzantine n1 double-vote\nbyzantine n2 silent\nbyzantine n3 invalid-sig",
     {{"byzs", 3},
      {"byz0.kind", TC_SCN_BYZ_DOUBLE_VOTE},
      {"byz1.kind", TC_SCN_BYZ_SILENT},
      {"byz2.kind", TC_SCN_BYZ_INVALID_SIG}}},
    {'s',
     "byzantine f0 replay\nbyzantine f1 garbage\nbyzantine n0 flood 5000/s",
     {{"byz0.kind", TC_SCN_BYZ_REPLAY},
      {"byz1.kind", TC_SCN_BYZ_GARBAGE},
      {"byz2.kind", TC_SCN_BYZ_FLOOD},
      {"byz2.flood", 5000},
      {"byz0.node", F(0)}}},
    {'s',
     "byzantine n2 twin\nlink n2 n2b latency 1s",
     {{"byz0.kind", TC_SCN_BYZ_TWIN}, {"link0.b", B(2)}}},
    {'s', "chaos faults 10 heal-by 60s", {{"faults", 10}, {"heal_by", 60000}}},
    {'s', "chaos heal-by 30s faults 0", {{"faults", 0}, {"heal_by", 30000}}},
    {'s', "chaos faults 3", {{"faults", 3}, {"heal_by", 0}}},
    /* timeline */
    {'t',
     "at 5s crash n1",
     {{"ev0.at", 5000}, {"ev0.kind", TC_SCN_EV_CRASH}, {"ev0.node", N(1)}, {"ev0.lose", 0}}},
    {'t', "at 35s crash f1 lose-writes", {{"ev0.node", F(1)}, {"ev0.lose", 1}}},
    {'t',
     "at 5s crash n1\nat 9s restart n1",
     {{"ev1.at", 9000}, {"ev1.kind", TC_SCN_EV_RESTART}, {"ev1.node", N(1)}}},
    {'t',
     "at 12s partition n0 n1 | n2 n3",
     {{"ev0.kind", TC_SCN_EV_PARTITION},
      {"ev0.oneway", 0},
      {"ev0.count", 4},
      {"ev0.m1.node", N(1)},
      {"ev0.m2.node", N(2)},
      {"ev0.m2.group", 1}}},
    {'t',
     "at 1s partition n0|n1|n2 f0 | n3",
     {{"ev0.count", 5},
      {"ev0.m2.group", 2},
      {"ev0.m3.node", F(0)},
      {"ev0.m3.group", 2},
      {"ev0.m4.group", 3}}},
    {'t',
     "at 12s partition n0 -> n1 n2",
     {{"ev0.oneway", 1},
      {"ev0.m0.group", 0},
      {"ev0.m1.group", 1},
      {"ev0.m2.node", N(2)},
      {"ev0.m2.group", 1}}},
    {'t', "at 20s heal", {{"ev0.kind", TC_SCN_EV_HEAL}, {"ev0.at", 20000}}},
    {'t', "at 25s pause n2 2s", {{"ev0.kind", TC_SCN_EV_PAUSE}, {"ev0.dur", 2000}}},
    {'t', "at 30s clock n2 jump +90s", {{"ev0.kind", TC_SCN_EV_CLOCK_JUMP}, {"ev0.jump", 90000}}},
    {'t', "at 30s clock f0 jump -2m", {{"ev0.node", F(0)}, {"ev0.jump", -120000}}},
    {'t',
     "at 40s byzantine n3 double-vote",
     {{"ev0.kind", TC_SCN_EV_BYZANTINE}, {"ev0.byz", TC_SCN_BYZ_DOUBLE_VOTE}}},
    {'t', "at 40s byzantine f1 flood 100/s", {{"ev0.byz", TC_SCN_BYZ_FLOOD}, {"ev0.flood", 100}}},
    {'t',
     "at 45s register n4 silver\nat 46s crash n4\nat 47s register n5 gold",
     {{"ev0.kind", TC_SCN_EV_REGISTER},
      {"ev0.node", N(4)},
      {"ev0.tier", TC_TIER_SILVER},
      {"ev2.node", N(5)},
      {"ev2.tier", TC_TIER_GOLD}}},
    {'t', "at 50s load 1000/s", {{"ev0.kind", TC_SCN_EV_LOAD}, {"ev0.rate", 1000}}},
    {'t', "at 0ms heal\nat 60s heal", {{"ev0.at", 0}, {"ev1.at", 60000}}},
    /* sorted by time; ties keep file order */
    {'t',
     "at 10s heal\nat 5s crash n1\nat 10s load 5/s\nat 5s restart n1\nat 1s pause n0 1s",
     {{"ev0.kind", TC_SCN_EV_PAUSE},
      {"ev1.kind", TC_SCN_EV_CRASH},
      {"ev2.kind", TC_SCN_EV_RESTART},
      {"ev3.kind", TC_SCN_EV_HEAL},
      {"ev4.kind", TC_SCN_EV_LOAD},
      {"ev4.line", 5}}},
    /* expectations */
    {'e', "expect safety", {{"ex0.kind", TC_SCN_EXP_SAFETY}}},
    {'e',
     "expect fork\nexpect culprits n2 n3",
     {{"ex0.kind", TC_SCN_EXP_FORK},
      {"ex1.kind", TC_SCN_EXP_CULPRITS},
      {"ex1.count", 2},
      {"ex1.m1.node", N(3)}}},
    {'e',
     "expect height >= 40 on n0 f1",
     {{"ex0.kind", TC_SCN_EXP_HEIGHT},
      {"ex0.cmp", TC_SCN_GE},
      {"ex0.value", 40},
      {"ex0.count", 2},
      {"ex0.m1.node", F(1)}}},
    {'e', "expect height == 7", {{"ex0.cmp", TC_SCN_EQ}, {"ex0.count", 0}}},
    {'e', "expect view-changes >= 1", {{"ex0.kind", TC_SCN_EXP_VIEW_CHANGES}, {"ex0.value", 1}}},
    {'e', "expect view-changes <= 0", {{"ex0.cmp", TC_SCN_LE}, {"ex0.value", 0}}},
    {'e',
     "expect finality p99 <= 3s",
     {{"ex0.kind", TC_SCN_EXP_FINALITY},
      {"ex0.q", 990000},
      {"ex0.value", 3000},
      {"ex0.cmp", TC_SCN_LE}}},
    {'e',
     "expect finality p50 <= 800ms\nexpect finality max <= 1m\nexpect finality p999 <= 5s",
     {{"ex0.q", 500000}, {"ex1.q", 1000000}, {"ex1.value", 60000}, {"ex2.q", 999000}}},
    {'e', "expect finality p05 <= 1s", {{"ex0.q", 50000}}},
    {'e',
     "expect liveness within 10s after heal",
     {{"ex0.kind", TC_SCN_EXP_LIVENESS}, {"ex0.within", 10000}, {"ex0.heal", 1}}},
    {'e', "expect liveness within 5s after 30s", {{"ex0.heal", 0}, {"ex0.after", 30000}}},
    {'e',
     "expect banned n3 by n0",
     {{"ex0.kind", TC_SCN_EXP_BANNED},
      {"ex0.node", N(3)},
      {"ex0.count", 1},
      {"ex0.m0.node", N(0)}}},
    {'e', "expect banned f0 by n0 n1 n2", {{"ex0.node", F(0)}, {"ex0.count", 3}}},
    {'e',
     "expect clock-stops == 0",
     {{"ex0.kind", TC_SCN_EXP_CLOCK_STOPS}, {"ex0.cmp", TC_SCN_EQ}, {"ex0.value", 0}}},
    {'e',
     "expect offline n3 by n0 f0",
     {{"ex0.kind", TC_SCN_EXP_OFFLINE},
      {"ex0.node", N(3)},
      {"ex0.count", 2},
      {"ex0.m1.node", F(0)}}},
    {'e', "expect online n1 by n0", {{"ex0.kind", TC_SCN_EXP_ONLINE}, {"ex0.node", N(1)}}},
    {'e',
     "expect state-sync on f0 n1",
     {{"ex0.kind", TC_SCN_EXP_STATE_SYNC},
      {"ex0.count", 2},
      {"ex0.m0.node", F(0)},
      {"ex0.m1.node", N(1)}}},
    /* comments, blank lines, tabs, CRLF */
    {'f', "# comment only\n\n\tnodes\t3   # three\r\nrun 2s\r\n", {{"nodes", 3}, {"run", 2000}}},
};

static char *wrap(const value_case *c)
{
    char *text = malloc(strlen(c->text) + 128);
    cr_assert_not_null(text);
    if (c->where == 'f')
        strcpy(text, c->text);
    else if (c->where == 'e')
        sprintf(text, "nodes 4\nfullnodes 2\nrun 60s\n%s\n", c->text);
    else
        sprintf(text, "nodes 4\nfullnodes 2\n%s\nrun 60s\n", c->text);
    return text;
}

Test(scenario, every_statement_parses_to_its_values)
{
    for (size_t k = 0; k < TC_ARRAY_LEN(value_cases); k++) {
        const value_case *c = &value_cases[k];
        char *text = wrap(c);
        tc_scn s;
        parse_ok(text, &s);
        for (size_t j = 0; j < TC_ARRAY_LEN(c->checks) && c->checks[j].path != NULL; j++) {
            int64_t got = value_at(&s, c->checks[j].path);
            cr_expect_eq(got, c->checks[j].want, "case %zu (%s): %s = %lld, want %lld", k, c->text,
                         c->checks[j].path, (long long)got, (long long)c->checks[j].want);
        }
        tc_scn_free(&s);
        free(text);
    }
}

Test(scenario, scenario_name_is_unescaped)
{
    tc_scn s;
    parse_ok("scenario \"say \\\"hi\\\" \\\\o/\"\nnodes 1\nrun 1s\n", &s);
    cr_assert_str_eq(s.name, "say \"hi\" \\o/");
    tc_scn_free(&s);
}

/* ------------------------------------------------------------------------------------------ */
/* Every error, with its exact line and column                                                */

typedef struct {
    const char *text;
    unsigned line, column;
    const char *message; /* a part of the message after "line:column: " */
} error_case;

static const error_case error_cases[] = {
    /* lexing */
    {"nodes 4\nrun 1s\x01\n", 2, 7, "expected printable text, got byte 0x01"},
    {"scenario \"open\nnodes 1\nrun 1s", 1, 15,
     "expected `\"` closing the string, got end of line"},
    {"scenario \"a\\nb\"\nnodes 1\nrun 1s", 1, 12, "the only escapes"},
    {"scenario \"tab\there\"\nnodes 1\nrun 1s", 1, 14, "got byte 0x09"},
    {"nodes 4\nrun 1s caf\xc3\xa9", 2, 11, "expected printable text, got byte 0xc3"},
    /* statements and their places */
    {"nodes 4\nfoo 3\nrun 1s", 2, 1, "expected a statement (scenario, seed"},
    {"nodes 4\n\"nodes\" 3\nrun 1s", 2, 1, "got \"nodes\""},
    {"nodes 4\nrun 1s\nnodes 5", 3, 1,
     "expected `expect` (only expectations follow `run`), got `nodes`"},
    {"nodes 4\nat 1s heal\nseed 3\nrun 2s", 3, 1, "expected `at` or `run` (setup statements come"},
    {"nodes 4\nrun 1s\nat 1s heal", 3, 1,
     "expected `expect` (only expectations follow `run`), got `at`"},
    {"nodes 4\nexpect safety\nrun 1s", 2, 1, "expected `run` before the expectations"},
    {"nodes 4\nnodes 5\nrun 1s", 2, 1, "expected one `nodes` statement (the first is at line 1)"},
    {"nodes 4\nrun 1s\nrun 2s", 3, 1, "expected `expect`"},
    {"seed 1\nseed 2\nnodes 1\nrun 1s", 2, 1, "one `seed` statement"},
    {"nodes 4\nnetwork loss 1%\nnetwork dup 1%\nrun 1s", 3, 1, "one `network` statement"},
    {"nodes 4\nstorage mem\nstorage lmdb\nrun 1s", 3, 1, "one `storage` statement"},
    {"nodes 4\ncrypto fast\ncrypto fast\nrun 1s", 3, 1, "one `crypto` statement"},
    {"nodes 4\nload 1/s\nload 2/s\nrun 1s", 3, 1, "one `load` statement"},
    {"nodes 4\nchaos faults 1\nchaos faults 2\nrun 1s", 3, 1, "one `chaos` statement"},
    {"scenario \"a\"\nscenario \"b\"\nnodes 1\nrun 1s", 2, 1, "one `scenario` statement"},
    {"nodes 4\nfullnodes 1\nfullnodes 1\nrun 1s", 3, 1, "one `fullnodes` statement"},
    {"run 1s\n", 2, 1, "expected a `nodes` statement, got end of file"},
    {"nodes 4\n# no run", 2, 9, "expected a `run` statement, got end of file"},
    {"", 1, 1, "expected a `nodes` statement, got end of file"},
    {"nodes 4 5\nrun 1s", 1, 9, "expected end of line, got `5`"},
    /* numbers */
    {"nodes four\nrun 1s", 1, 7, "expected a validator count (a whole number), got `four`"},
    {"nodes 0\nrun 1s", 1, 7, "expected a validator count of 1..1024, got `0`"},
    {"nodes 1025\nrun 1s", 1, 7, "of 1..1024, got `1025`"},
    {"nodes -1\nrun 1s", 1, 7, "(a whole number), got `-1`"},
    {"seed 18446744073709551616\nnodes 1\nrun 1s", 1, 6,
     "expected a seed of 0..18446744073709551615"},
    {"nodes\nrun 1s", 1, 6, "expected a validator count (a whole number), got end of line"},
    {"nodes 4\nfullnodes 2000\nrun 1s", 2, 11, "expected a fullnode count of 0..1024"},
    /* durations */
    {"nodes 4\nrun 60", 2, 5, "expected a run time (e.g. 500ms, 2s, 1m), got `60`"},
    {"nodes 4\nrun 60h", 2, 5, "expected a run time (e.g. 500ms, 2s, 1m), got `60h`"},
    {"nodes 4\nrun 0s", 2, 5, "expected a run time of 1ms..43200m"},
    {"nodes 4\nrun 0.5ms", 2, 5, "expected a run time in whole milliseconds, got `0.5ms`"},
    {"nodes 4\nrun 1.s", 2, 5, "(e.g. 500ms, 2s, 1m), got `1.s`"},
    {"nodes 4\nrun -5s", 2, 5, "got `-5s`"},
    {"nodes 4\nrun 43201m", 2, 5, "of 1ms..43200m"},
    {"nodes 4\nat 1s pause n0 0s\nrun 2s", 2, 16, "expected a pause duration of 1ms.."},
    {"nodes 4\nat soon heal\nrun 2s", 2, 4, "expected a time (e.g. 500ms, 2s, 1m), got `soon`"},
    {"nodes 4\nclock n0 offset 3\nrun 1s", 2, 17, "expected an offset (e.g. +3s, -500ms), got `3`"},
    {"nodes 4\nprofile testnet block_interval_ms 500\nrun 1s", 2, 35,
     "expected a value for block_interval_ms (e.g. 500ms, 2s, 1m), got `500`"},
    {"nodes 4\nprofile testnet epoch 20s\nrun 1s", 2, 23,
     "expected a value for epoch_blocks (a whole number), got `20s`"},
    /* percentages, rates, drift, bandwidth */
    {"nodes 4\nnetwork loss 5\nrun 1s", 2, 14,
     "expected a loss percentage (e.g. 1%, 0.5%), got `5`"},
    {"nodes 4\nnetwork loss 101%\nrun 1s", 2, 14, "expected a loss percentage of 0%..100%"},
    {"nodes 4\nnetwork dup 0.00001%\nrun 1s", 2, 13, "in at most 4 decimals"},
    {"nodes 4\nnetwork reorder %\nrun 1s", 2, 17, "got `%`"},
    {"nodes 4\nload 200\nrun 1s", 2, 6, "expected a transaction rate (e.g. 200/s), got `200`"},
    {"nodes 4\nload 2000000/s\nrun 1s", 2, 6, "of 0/s..1000000/s"},
    {"nodes 4\nbyzantine n0 flood 0/s\nrun 1s", 2, 20, "expected a flood rate of 1/s"},
    {"nodes 4\nclock n0 drift 100\nrun 1s", 2, 16, "expected a drift (e.g. +100ppm, -50ppm)"},
    {"nodes 4\nclock n0 drift 200000ppm\nrun 1s", 2, 16, "of -100000..+100000ppm"},
    {"nodes 4\nnetwork bandwidth 10Mb/s\nrun 1s", 2, 19, "expected a bandwidth (e.g. 10MB/s"},
    {"nodes 4\nnetwork bandwidth 0B/s\nrun 1s", 2, 19, "expected a bandwidth of 1B/s"},
    {"nodes 4\nnetwork latency 2h\nrun 1s", 2, 17, "got `2h`"},
    {"nodes 4\nnetwork latency 61m\nrun 1s", 2, 17, "expected a latency of 0ms..60m"},
    {"nodes 4\nnetwork flap 1s\nrun 1s", 2, 16, "expected a flap down time"},
    /* options */
    {"nodes 4\nnetwork\nrun 1s", 2, 8,
     "expected a link option (latency, jitter, loss, dup, reorder, "
     "bandwidth, flap), got end of line"},
    {"nodes 4\nnetwork latency 1s latency 2s\nrun 1s", 2, 20,
     "expected each option once, got `latency`"},
    {"nodes 4\nnetwork speed 1s\nrun 1s", 2, 9, "expected a link option"},
    {"nodes 4\nclock n0\nrun 1s", 2, 9, "expected a clock option (offset, drift), got end of line"},
    {"nodes 4\nload 1/s clients 0\nrun 1s", 2, 18, "expected a client count of 1..65536"},
    {"nodes 4\nload 1/s users 3\nrun 1s", 2, 10, "expected a load option (clients, double-spend)"},
    {"nodes 4\nchaos heal-by 10s\nrun 1m", 2, 18, "expected `faults N`, got end of line"},
    {"nodes 4\nchaos faults 20000\nrun 1m", 2, 14, "expected a fault count of 0..10000"},
    {"nodes 4\nchaos faults 1 heal-by 2m\nrun 1m", 2, 24,
     "expected a heal-by time within `run 1m`, got `2m`"},
    {"nodes 4\nstorage disk\nrun 1s", 2, 9, "expected a storage (mem, lmdb), got `disk`"},
    {"nodes 4\ncrypto rsa\nrun 1s", 2, 8, "expected a signature scheme (ed25519, fast), got `rsa`"},
    {"scenario name\nnodes 1\nrun 1s", 1, 10, "expected a quoted name, got `name`"},
    /* profile */
    {"nodes 4\nprofile devnet\nrun 1s", 2, 9,
     "expected a network (testnet, mainnet) or a profile field"},
    {"nodes 4\nprofile\nrun 1s", 2, 8,
     "expected a network (testnet, mainnet) or a profile field (e.g. epoch_blocks, "
     "block_interval_ms), got end of line"},
    {"nodes 4\nprofile testnet frobs 3\nrun 1s", 2, 17,
     "expected a profile field (e.g. epoch_blocks"},
    {"nodes 4\nprofile testnet\nprofile mainnet\nrun 1s", 3, 9,
     "expected testnet (as the `profile` at line 2), got `mainnet`"},
    {"nodes 4\nprofile testnet epoch 1\nrun 1s", 2, 23,
     "expected a value epoch_blocks can take (in range, profile consistent), got `1`"},
    {"nodes 4\nprofile testnet p2p_port 70000\nrun 1s", 2, 26,
     "expected a value p2p_port can take"},
    {"nodes 4\nprofile testnet epoch\nrun 1s", 2, 22,
     "expected a value for epoch_blocks (a whole number), got end of line"},
    /* nodes and their names */
    {"nodes 4\ntier n7 gold\nrun 1s", 2, 6, "expected a node of this scenario (n0..n3), got `n7`"},
    {"nodes 4\nfullnodes 2\nat 1s crash f2\nrun 2s", 3, 13,
     "expected a node of this scenario (n0..n3, f0..f1), got `f2`"},
    {"nodes 1\nat 1s crash n1\nrun 2s", 2, 13, "(n0), got `n1`"},
    {"nodes 4\ntier n01 gold\nrun 1s", 2, 6, "expected a validator name (n0, n1, ...), got `n01`"},
    {"nodes 4\ntier x1 gold\nrun 1s", 2, 6, "got `x1`"},
    {"nodes 4\ntier n1 platinum\nrun 1s", 2, 9,
     "expected a validator name or a tier (bronze, silver, gold), got `platinum`"},
    {"nodes 4\ntier gold\nrun 1s", 2, 6, "expected a validator name (n0, n1, ...), got `gold`"},
    {"nodes 4\ntier n1\nrun 1s", 2, 8, "got end of line"},
    {"nodes 4\ntier n1 gold\ntier n1 silver\nrun 1s", 3, 6,
     "expected one tier per node (set at line 2), got `n1`"},
    {"nodes 4\nfullnodes 1\ntier f0 gold\nrun 1s", 3, 6, "expected a validator (nK), got `f0`"},
    {"nodes 4\nclock n1 offset 1s\nclock n1 drift 3ppm\nrun 1s", 3, 7,
     "expected one `clock` per node (set at line 2)"},
    {"nodes 4\nlink n0 n0 loss 1%\nrun 1s", 2, 9, "expected a node other than the first, got `n0`"},
    {"nodes 4\nlink n0 n9 loss 1%\nrun 1s", 2, 9,
     "expected a node of this scenario (n0..n3), got `n9`"},
    {"nodes 4\nlink n0 -> loss 1%\nrun 1s", 2, 12,
     "expected a node name (n0, f0, n0b, ...), got `loss`"},
    {"nodes 4\nlink n0 n1\nrun 1s", 2, 11, "expected a link option"},
    /* byzantine and twins */
    {"nodes 4\nbyzantine n3 lying\nrun 1s", 2, 14,
     "expected a Byzantine behaviour (equivocate, double-vote, silent, invalid-sig, replay, "
     "garbage, flood, twin, out-of-turn, forge-proposal, forge-prevote, forge-precommit, "
     "forge-batch, forge-heartbeat, forge-handoff, forge-evidence, forge-tx, sync-bad-hash, "
     "sync-low-weight, sync-non-member, sync-bad-sig, time-ahead, time-behind, stale-height, "
     "future-height, wrong-proposer, wrong-round, stale-heartbeat, equivocate-batch, "
     "equivocate-handoff, snapshot-corrupt), got `lying`"},
    {"nodes 4\nbyzantine n3 silent\nbyzantine n3 replay\nrun 1s", 3, 11,
     "expected one `byzantine` per node in the setup (set at line 2)"},
    {"nodes 4\nfullnodes 1\nbyzantine f0 equivocate\nrun 1s", 3, 11,
     "expected a validator (nK), got `f0`"},
    {"nodes 4\nfullnodes 1\nbyzantine f0 twin\nrun 1s", 3, 11,
     "expected a validator (nK), got `f0`"},
    {"nodes 4\nbyzantine n2 twin\nbyzantine n2b twin\nrun 1s", 3, 11,
     "expected a validator (nK), got `n2b`"},
    {"nodes 4\nbyzantine n2 twin\nbyzantine n2b silent\nrun 1s", 3, 11,
     "expected a validator or a fullnode (not a twin), got `n2b`"},
    {"nodes 4\nbyzantine n9 twin\nrun 1s", 2, 11, "got `n9`"},
    {"nodes 4\nlink n1 n2b loss 1%\nrun 1s", 2, 9,
     "expected a node of this scenario (n0..n3), got `n2b`"},
    {"nodes 4\nbyzantine n2 twin\nat 1s crash n1b\nrun 2s", 3, 13, "(n0..n3, n2b), got `n1b`"},
    {"nodes 4\nat 1s byzantine n2 twin\nrun 2s", 2, 20,
     "expected a Byzantine behaviour other than twin"},
    {"nodes 4\nat 1s byzantine n2 flood\nrun 2s", 2, 25,
     "expected a flood rate (e.g. 200/s), got end of line"},
    /* timeline events */
    {"nodes 4\nat 1s explode n0\nrun 2s", 2, 7,
     "expected an event (crash, restart, partition, heal, pause, clock, byzantine, register, "
     "load, link), got `explode`"},
    {"nodes 4\nat 1s\nrun 2s", 2, 6, "expected an event"},
    {"nodes 4\nat 1s link n1 n1 loss 1%\nrun 2s", 2, 15, "expected a node other than the first"},
    {"nodes 4\nat 1s link n1 n2\nrun 2s", 2, 17, "expected a link option"},
    {"nodes 4\nat 1s link n1 n7 loss 1%\nrun 2s", 2, 15,
     "expected a node of this scenario (n0..n3), got `n7`"},
    {"nodes 4\nat 1s link n1 -> loss 1%\nrun 2s", 2, 18, "expected a node name"},
    {"nodes 4\nat 1s crash\nrun 2s", 2, 12,
     "expected a node name (n0, f0, n0b, ...), got end of line"},
    {"nodes 4\nat 1s crash n1 hard\nrun 2s", 2, 16, "expected end of line, got `hard`"},
    {"nodes 4\nat 1s heal now\nrun 2s", 2, 12, "expected end of line, got `now`"},
    {"nodes 4\nat 1s restart n1\nrun 2s", 2, 15, "expected a crashed node, got `n1` (running)"},
    {"nodes 4\nat 1s crash n1\nat 2s crash n1\nrun 3s", 3, 13,
     "expected a running node, got `n1` (crashed at line 2)"},
    {"nodes 4\nat 2s restart n1\nat 1s crash n1\nat 3s restart n1\nat 3s restart n1\nrun 4s", 4, 15,
     "expected a crashed node, got `n1` (running)"},
    {"nodes 4\nat 1s clock n0 +3s\nrun 2s", 2, 16, "expected `jump`, got `+3s`"},
    {"nodes 4\nat 1s clock n0 jump\nrun 2s", 2, 20,
     "expected a clock jump (e.g. +3s, -500ms), got end of line"},
    {"nodes 4\nat 1s pause n0\nrun 2s", 2, 15, "expected a pause duration"},
    {"nodes 4\nat 1s load fast\nrun 2s", 2, 12, "expected a transaction rate"},
    {"nodes 4\nat 70s heal\nrun 1m", 2, 4, "expected a time within `run 1m`, got `70s`"},
    {"nodes 4\nat 1s register n5 gold\nrun 2s", 2, 16,
     "expected n4 (the next new validator), got `n5`"},
    {"nodes 4\nat 1s register n2 gold\nrun 2s", 2, 16,
     "expected n4 (the next new validator), got `n2`"},
    {"nodes 4\nfullnodes 9\nat 1s register f4 gold\nrun 2s", 3, 16,
     "expected a new validator name (nK), got `f4`"},
    {"nodes 4\nat 1s register n4\nrun 2s", 2, 18,
     "expected a tier (bronze, silver, gold), got end of line"},
    {"nodes 4\nat 1s crash n4\nat 2s register n4 gold\nrun 3s", 2, 13,
     "expected a node that exists at this time (`n4` registers at 2s), got `n4`"},
    {"nodes 4\nat 2s crash n4\nat 2s register n4 gold\nrun 3s", 2, 13,
     "registers at 2s), got `n4`"},
    {"nodes 4\nlink n0 n4 loss 1%\nat 2s register n4 gold\nrun 3s", 2, 9,
     "expected a validator of the setup (`n4` registers at 2s), got `n4`"},
    /* partitions */
    {"nodes 4\nat 1s partition n0 n1\nrun 2s", 2, 22,
     "expected `|` or `->` after the first group, got end of line"},
    {"nodes 4\nat 1s partition | n1\nrun 2s", 2, 17,
     "expected a node name (n0, f0, n0b, ...), got `|`"},
    {"nodes 4\nat 1s partition n0 |\nrun 2s", 2, 21,
     "expected a node name (n0, f0, n0b, ...), got end of line"},
    {"nodes 4\nat 1s partition n0 | n1 | n0\nrun 2s", 2, 27, "expected each node once, got `n0`"},
    {"nodes 4\nat 1s partition n0 -> n1 | n2\nrun 2s", 2, 26,
     "expected end of line (a one-way partition has two sides), got `|`"},
    {"nodes 4\nat 1s partition n0 | n1 -> n2\nrun 2s", 2, 25,
     "expected a node name, `|` or end of line, got `->`"},
    {"nodes 4\nat 1s partition n0 -> n1 -> n2\nrun 2s", 2, 26, "got `->`"},
    {"nodes 4\nat 1s partition n0 | n7\nrun 2s", 2, 22, "got `n7`"},
    /* expectations */
    {"nodes 4\nrun 1s\nexpect nothing", 3, 8,
     "expected an expectation (safety, fork, culprits, height, view-changes, finality, liveness, "
     "banned, clock-stops, online, offline, burned, state-sync, final-confirmed, "
     "carried-reserved), got `nothing`"},
    {"nodes 4\nrun 1s\nexpect safety now", 3, 15, "expected end of line, got `now`"},
    {"nodes 4\nrun 1s\nexpect culprits", 3, 16,
     "expected a validator name (n0, n1, ...), got end of line"},
    {"nodes 4\nfullnodes 1\nrun 1s\nexpect culprits n1 f0", 4, 20,
     "expected a validator (nK), got `f0`"},
    {"nodes 4\nrun 1s\nexpect culprits n1 n1", 3, 20, "expected each node once, got `n1`"},
    {"nodes 4\nrun 1s\nexpect height > 3", 3, 15, "expected a comparison (>=, <=, ==), got `>`"},
    {"nodes 4\nrun 1s\nexpect height >= x", 3, 18, "expected a height (a whole number), got `x`"},
    {"nodes 4\nrun 1s\nexpect height >= 3 at n0", 3, 20, "expected `on`, got `at`"},
    {"nodes 4\nrun 1s\nexpect height >= 3 on", 3, 22,
     "expected a node name (n0, f0, n0b, ...), got end of line"},
    {"nodes 4\nrun 1s\nexpect height >= 3 on n5", 3, 23,
     "expected a node of this scenario (n0..n3), got `n5`"},
    {"nodes 4\nrun 1s\nexpect view-changes 3", 3, 21, "expected a comparison"},
    {"nodes 4\nrun 1s\nexpect finality p100 <= 1s", 3, 17,
     "expected a quantile (p50, p90, p99, p999, ... or max), got `p100`"},
    {"nodes 4\nrun 1s\nexpect finality p00 <= 1s", 3, 17, "got `p00`"},
    {"nodes 4\nrun 1s\nexpect finality p5 <= 1s", 3, 17, "got `p5`"},
    {"nodes 4\nrun 1s\nexpect finality p99 >= 1s", 3, 21, "expected `<=`, got `>=`"},
    {"nodes 4\nrun 1s\nexpect finality p99 <= 1", 3, 24,
     "expected a finality latency (e.g. 500ms, 2s, 1m), got `1`"},
    {"nodes 4\nrun 1s\nexpect liveness 10s", 3, 17, "expected `within`, got `10s`"},
    {"nodes 4\nrun 1s\nexpect liveness within 10s", 3, 27, "expected `after`, got end of line"},
    {"nodes 4\nrun 1s\nexpect liveness within 10s after", 3, 33,
     "expected `heal` or a time (e.g. 500ms, 2s, 1m), got end of line"},
    {"nodes 4\nrun 1s\nexpect liveness within 0s after heal", 3, 24,
     "expected a liveness bound of 1ms.."},
    {"nodes 4\nrun 1s\nexpect final-confirmed", 3, 23, "expected `within`, got end of line"},
    {"nodes 4\nrun 1s\nexpect final-confirmed within 0s", 3, 31,
     "expected a confirmation bound of 1ms.."},
    {"nodes 4\nrun 1s\nexpect banned n3", 3, 17, "expected `by`, got end of line"},
    {"nodes 4\nrun 1s\nexpect state-sync n3", 3, 19, "expected `on`, got `n3`"},
    {"nodes 4\nrun 1s\nexpect banned n3 by", 3, 20,
     "expected a node name (n0, f0, n0b, ...), got end of line"},
    {"nodes 4\nrun 1s\nexpect banned n8 by n0", 3, 15, "got `n8`"},
    {"nodes 4\nrun 1s\nexpect clock-stops 0", 3, 20, "expected a comparison"},
    {"nodes 4\nrun 1s\nexpect clock-stops <= x", 3, 23, "expected a clock-stop count"},
    {"nodes 4\nrun 1s\nexpect online n3", 3, 17, "expected `by`, got end of line"},
    {"nodes 4\nfullnodes 1\nrun 1s\nexpect offline f0 by n0", 4, 16, "expected a validator"},
    /* the first error in file wins among the final checks */
    {"nodes 4\nlink n0 n9 loss 1%\ntier n8 gold\nrun 1s", 2, 9, "got `n9`"},
    /* a syntax error stops the parse before the checks that need the whole file */
    {"nodes 4\nat 1s crash n9\ntier n8 gold\nrun 2s", 3, 1, "expected `at` or `run`"},
    {"nodes 4\nat 5s crash n9\nat 1s crash n8\nrun 9s", 2, 13, "got `n9`"},
    /* bounds */
    {"nodes 1024\nfullnodes 1\nrun 1s", 1, 7,
     "expected at most 1024 nodes in all (validators, registered, fullnodes, twins), got 1025"},
};

Test(scenario, every_error_names_its_line_and_column)
{
    for (size_t k = 0; k < TC_ARRAY_LEN(error_cases); k++) {
        const error_case *c = &error_cases[k];
        tc_scn s;
        memset(&s, 0xa5, sizeof(s));
        char err[512];
        int rc = parse(c->text, &s, err, sizeof(err));
        cr_expect_eq(rc, TC_EINVAL, "case %zu: rc %d for\n%s", k, rc, c->text);
        if (rc != TC_EINVAL) {
            tc_scn_free(&s);
            continue;
        }
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "t.scn:%u:%u: ", c->line, c->column);
        cr_expect(strncmp(err, prefix, strlen(prefix)) == 0, "case %zu: want %s..., got %s", k,
                  prefix, err);
        cr_expect_not_null(strstr(err, c->message), "case %zu: want \"%s\" in \"%s\"", k,
                           c->message, err);
        cr_expect(s.events == NULL && s.members == NULL && s.event_count == 0 && s.run_ms == 0,
                  "case %zu: a failed parse leaves a zeroed scenario", k);
    }
}

Test(scenario, long_text_and_tokens_are_bounded)
{
    /* A line of more than TC_SCN_TOKENS_MAX words. */
    size_t n = 4 + (TC_SCN_TOKENS_MAX + 10) * 3 + 16;
    char *text = malloc(n);
    strcpy(text, "nodes 4\nat 1s partition n0 |");
    size_t used = strlen(text);
    for (int k = 0; k < TC_SCN_TOKENS_MAX; k++)
        used += (size_t)sprintf(text + used, " n1");
    strcpy(text + used, "\n");
    tc_scn s;
    char err[256];
    cr_assert_eq(parse(text, &s, err, sizeof(err)), TC_EINVAL);
    cr_assert_not_null(strstr(err, "expected at most 4096 words on a line"), "%s", err);
    free(text);
    /* The whole text. */
    cr_assert_eq(tc_scn_parse_text("big", "", (size_t)TC_SCN_TEXT_MAX + 1, &s, err, sizeof(err)),
                 TC_EINVAL);
    cr_assert_str_eq(err, "big:1:1: expected at most 16777216 bytes of text, got 16777217 bytes");
}

Test(scenario, error_message_truncates_safely)
{
    tc_scn s;
    char err[12];
    cr_assert_eq(parse("nodes 4\nfoo\nrun 1s", &s, err, sizeof(err)), TC_EINVAL);
    cr_assert_eq(strlen(err), sizeof(err) - 1);
    cr_assert_eq(strncmp(err, "t.scn:2:1: ", 11), 0);
    cr_assert_eq(parse("nodes 4\nfoo\nrun 1s", &s, NULL, 0), TC_EINVAL);
}

/* ------------------------------------------------------------------------------------------ */
/* The full example of shared/SCENARIOS.md (its three blocks, verbatim)                        */

static const char full_example[] =
    "scenario  \"proposer crash forces a view change\"\n"
    "seed      42                      # default seed; --seed overrides\n"
    "profile   testnet                 # protocol profile (SPEC.md numbers)\n"
    "profile   testnet epoch 20 interval 500ms      # any profile number can be overridden by "
    "name\n"
    "nodes     4                       # validators n0..n3, bronze tier unless `tier` says "
    "otherwise\n"
    "tier      n0 gold                 # bronze | silver | gold\n"
    "fullnodes 1                       # non-voting nodes f0..\n"
    "network   latency 50ms jitter 10ms loss 0% dup 0%\n"
    "link      n0 n1 latency 200ms loss 5%          # override for one link (both directions)\n"
    "clock     n2 offset +3s drift 100ppm\n"
    "storage   mem                     # mem (default) | lmdb\n"
    "crypto    ed25519                 # ed25519 (default) | fast (simulator-only signatures)\n"
    "load      200/s clients 16 double-spend 1%     # workload from simulated wallets\n"
    "byzantine n3 equivocate           # equivocate | double-vote | silent | invalid-sig | "
    "replay\n"
    "                                  # | garbage | flood 5000/s | twin\n"
    "byzantine n2 twin                 # a second honest core with n2's key, named n2b; "
    "partitions\n"
    "                                  # may place n2 and n2b on different sides\n"
    "chaos     faults 10 heal-by 60s   # random faults from the seed, Byzantine weight < 1/3\n"
    "at 5s   crash n1\n"
    "at 9s   restart n1\n"
    "at 12s  partition n0 n1 | n2 n3        # symmetric; more groups allowed\n"
    "at 12s  partition n0 -> n1             # one way: n0's messages to n1 are lost\n"
    "at 20s  heal                           # all partitions end\n"
    "at 25s  pause n2 2s                    # stop-the-world, then resume\n"
    "at 30s  clock n2 jump +90s\n"
    "at 35s  crash n1 lose-writes           # uncommitted store writes are lost\n"
    "at 40s  byzantine n3 double-vote       # turns Byzantine from here on\n"
    "at 45s  register n4 silver             # a new masternode; joins at the next epoch\n"
    "at 50s  load 1000/s\n"
    "run     60s                            # simulated time to run\n"
    "expect safety                          # every invariant of SPEC.md section 8 held\n"
    "expect fork                            # a fork happened, was detected, and forensics ran\n"
    "expect culprits n2 n3                  # forensics named exactly these validators\n"
    "expect height >= 40 on n0 n2           # `on` omitted: every honest node\n"
    "expect view-changes >= 1\n"
    "expect finality p99 <= 3s              # of transactions submitted to honest nodes\n"
    "expect liveness within 10s after heal\n"
    "expect banned n3 by n0                 # peer policy reacted\n";

Test(scenario, full_example_of_the_language_parses)
{
    tc_scn s;
    parse_ok(full_example, &s);
    cr_assert_str_eq(s.name, "proposer crash forces a view change");
    cr_assert_eq(s.seed, 42);
    cr_assert_eq(s.profile.epoch_blocks, 20);
    cr_assert_eq(s.profile.block_interval_ms, 500);
    cr_assert_eq(s.node_count, 4);
    cr_assert_eq(s.fullnode_count, 1);
    cr_assert_eq(tc_scn_tier(&s, (tc_scn_node){TC_SCN_VALIDATOR, 0}), TC_TIER_GOLD);
    cr_assert_eq(tc_scn_tier(&s, (tc_scn_node){TC_SCN_VALIDATOR, 1}), TC_TIER_BRONZE);
    cr_assert_eq(tc_scn_tier(&s, (tc_scn_node){TC_SCN_VALIDATOR, 4}), TC_TIER_SILVER);
    cr_assert_eq(s.link_count, 1);
    cr_assert_eq(s.clocks[0].offset_ms, 3000);
    cr_assert_eq(s.clocks[0].drift_ppm, 100);
    cr_assert_eq(s.load_per_s, 200);
    cr_assert_eq(s.double_spend_ppm, 10000);
    cr_assert_eq(s.byz_count, 2);
    cr_assert_eq(s.chaos_faults, 10);
    cr_assert_eq(s.chaos_heal_by_ms, 60000);
    cr_assert_eq(s.event_count, 11);
    cr_assert_eq(s.events[2].kind, TC_SCN_EV_PARTITION); /* both 12 s partitions, file order */
    cr_assert_eq(s.events[2].oneway, false);
    cr_assert_eq(s.events[3].oneway, true);
    cr_assert_eq(s.events[9].node.index, 4);
    cr_assert_eq(s.run_ms, 60000);
    cr_assert_eq(s.expect_count, 8);
    /* Endpoints: n0..n4 (n4 registered), f0, then the twin n2b. */
    cr_assert_eq(tc_scn_endpoint_count(&s), 7);
    uint32_t ep = 0;
    cr_assert_eq(tc_scn_endpoint(&s, (tc_scn_node){TC_SCN_FULLNODE, 0}, &ep), 0);
    cr_assert_eq(ep, 5);
    cr_assert_eq(tc_scn_endpoint(&s, (tc_scn_node){TC_SCN_TWIN, 2}, &ep), 0);
    cr_assert_eq(ep, 6);
    cr_assert_eq(tc_scn_endpoint(&s, (tc_scn_node){TC_SCN_TWIN, 1}, &ep), TC_ENOTFOUND);
    cr_assert_eq(tc_scn_endpoint(&s, (tc_scn_node){TC_SCN_VALIDATOR, 5}, &ep), TC_ENOTFOUND);
    for (uint32_t k = 0; k < 7; k++) {
        tc_scn_node n = tc_scn_endpoint_node(&s, k);
        cr_assert_eq(tc_scn_endpoint(&s, n, &ep), 0);
        cr_assert_eq(ep, k);
    }
    /* Link parameters: the override covers both directions only of n0-n1. */
    tc_net_link l;
    tc_scn_link_params(&s, (tc_scn_node){0, 1}, (tc_scn_node){0, 0}, &l);
    cr_assert_eq(l.latency_ms, 200);
    cr_assert_eq(l.loss_ppm, 50000);
    cr_assert_eq(l.jitter_ms, 10);
    tc_scn_link_params(&s, (tc_scn_node){0, 1}, (tc_scn_node){0, 2}, &l);
    cr_assert_eq(l.latency_ms, 50);
    tc_scn_free(&s);
}

Test(scenario, links_apply_in_file_order)
{
    tc_scn s;
    parse_ok("nodes 3\nnetwork latency 10ms\nlink n0 n1 latency 100ms loss 1%\n"
             "link n1 -> n0 latency 7ms\nrun 1s\n",
             &s);
    tc_net_link l;
    tc_scn_link_params(&s, (tc_scn_node){0, 0}, (tc_scn_node){0, 1}, &l);
    cr_assert_eq(l.latency_ms, 100);
    cr_assert_eq(l.loss_ppm, 10000);
    tc_scn_link_params(&s, (tc_scn_node){0, 1}, (tc_scn_node){0, 0}, &l);
    cr_assert_eq(l.latency_ms, 7, "the later one-way statement wins for n1 -> n0");
    cr_assert_eq(l.loss_ppm, 10000, "fields it does not name stay");
    tc_scn_link_params(&s, (tc_scn_node){0, 2}, (tc_scn_node){0, 0}, &l);
    cr_assert_eq(l.latency_ms, 10);
    tc_scn_free(&s);
}

/* ------------------------------------------------------------------------------------------ */
/* Round trip: parse(write(s)) == s, and the text is a fixed point                            */

static void round_trip(const char *text)
{
    tc_scn a, b;
    parse_ok(text, &a);
    char *once = write_text(&a);
    parse_ok(once, &b);
    cr_assert(tc_scn_equal(&a, &b), "parse(write(s)) differs from s:\n%s", once);
    char *twice = write_text(&b);
    cr_assert_str_eq(once, twice);
    tc_scn c;
    cr_assert_eq(tc_scn_copy(&c, &a), 0);
    cr_assert(tc_scn_equal(&c, &b));
    tc_scn_free(&c);
    free(once);
    free(twice);
    tc_scn_free(&a);
    tc_scn_free(&b);
}

Test(scenario, write_then_parse_is_a_fixed_point)
{
    round_trip(full_example);
    for (size_t k = 0; k < TC_ARRAY_LEN(value_cases); k++) {
        char *text = wrap(&value_cases[k]);
        round_trip(text);
        free(text);
    }
    round_trip("scenario \"\"\nnodes 2\nnetwork latency 0ms jitter 0ms loss 0.0001% "
               "bandwidth 1234567B/s\nclock n0 offset -0ms\nrun 1234ms\n");
    round_trip("nodes 3\nfullnodes 1\nchaos faults 4 heal-by 9s kinds one-way link clock\n"
               "at 1s link n0 -> f0 flap 300ms 2s loss 5% dup 1%\nat 2s link n2 n1 latency 1s "
               "jitter 0ms reorder 20% bandwidth 1kB/s\nat 3s link n0 -> f0 flap off loss 0% "
               "dup 0%\nrun 10s\n");
}

Test(scenario, link_events_and_chaos_kinds_parse_to_their_values)
{
    tc_scn s;
    parse_ok("nodes 3\nchaos faults 2 kinds byzantine lose-writes\n"
             "at 1s link n0 -> n2 flap 300ms 2s loss 5%\nat 4s link n1 n0 flap off\nrun 5s\n",
             &s);
    cr_assert_eq(s.chaos_kinds, TC_SCN_CHAOS_BYZANTINE | TC_SCN_CHAOS_LOSE_WRITES);
    cr_assert_eq(s.event_count, 2);
    const tc_scn_event *a = &s.events[0], *b = &s.events[1];
    cr_assert_eq(a->kind, TC_SCN_EV_LINK);
    cr_assert(a->oneway);
    cr_assert_eq(a->node.index, 0);
    cr_assert_eq(a->peer.index, 2);
    cr_assert_eq(a->peer_column, 18);
    cr_assert_eq(a->link_mask, TC_SCN_LINK_FLAP | TC_SCN_LINK_LOSS);
    cr_assert_eq(a->link.flap_up_ms, 300);
    cr_assert_eq(a->link.flap_down_ms, 2000);
    cr_assert_eq(a->link.loss_ppm, 50000);
    cr_assert_eq(a->link.latency_ms, 0, "fields outside the mask stay zero");
    cr_assert(!b->oneway);
    cr_assert_eq(b->link_mask, TC_SCN_LINK_FLAP);
    cr_assert_eq(b->link.flap_down_ms, 0);
    tc_scn_free(&s);
}

Test(scenario, equality_sees_every_difference)
{
    static const char *const variants[] = {
        "nodes 4\nrun 60s\n",
        "nodes 5\nrun 60s\n",
        "nodes 4\nrun 61s\n",
        "seed 2\nnodes 4\nrun 60s\n",
        "nodes 4\nnetwork loss 1%\nrun 60s\n",
        "nodes 4\nat 1s crash n1\nrun 60s\n",
        "nodes 4\nat 1s crash n1 lose-writes\nrun 60s\n",
        "nodes 4\nat 1s crash n2\nrun 60s\n",
        "nodes 4\nat 1s partition n0 | n1\nrun 60s\n",
        "nodes 4\nat 1s partition n0 -> n1\nrun 60s\n",
        "nodes 4\nat 1s partition n1 | n0\nrun 60s\n",
        "nodes 4\nrun 60s\nexpect height >= 3\n",
        "nodes 4\nrun 60s\nexpect height <= 3\n",
        "nodes 4\nrun 60s\nexpect height >= 3 on n1\n",
        "nodes 4\nprofile testnet epoch 9\nrun 60s\n",
        "nodes 4\ntier n1 gold\nrun 60s\n",
        "nodes 4\nat 1s link n0 n1 loss 1%\nrun 60s\n",
        "nodes 4\nat 1s link n0 -> n1 loss 1%\nrun 60s\n",
        "nodes 4\nat 1s link n0 n2 loss 1%\nrun 60s\n",
        "nodes 4\nat 1s link n0 n1 loss 2%\nrun 60s\n",
        "nodes 4\nat 1s link n0 n1 dup 1%\nrun 60s\n",
        "nodes 4\nchaos faults 1\nrun 60s\n",
        "nodes 4\nchaos faults 1 kinds crash\nrun 60s\n",
        "nodes 4\nchaos faults 1 kinds pause\nrun 60s\n",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(variants); i++) {
        tc_scn a;
        parse_ok(variants[i], &a);
        for (size_t j = 0; j < TC_ARRAY_LEN(variants); j++) {
            tc_scn b;
            parse_ok(variants[j], &b);
            cr_assert_eq(tc_scn_equal(&a, &b), i == j, "variants %zu and %zu", i, j);
            tc_scn_free(&b);
        }
        tc_scn_free(&a);
    }
}

Test(scenario, canonical_text)
{
    tc_scn s;
    parse_ok("nodes 2\nprofile interval 1.5s\nnetwork loss 2.50% jitter 60000ms\n"
             "link n1 -> n0 flap 1m 30s bandwidth 2000kB/s\nat 2m clock n1 jump -1500ms\n"
             "at 1s partition n0 | n1\nrun 3m\nexpect finality p999 <= 2s\n",
             &s);
    char *text = write_text(&s);
    cr_assert_str_eq(text, "# scenario v1, canonical form\n"
                           "seed 1\n"
                           "profile testnet block_interval_ms 1500ms\n"
                           "nodes 2\n"
                           "network jitter 1m loss 2.5%\n"
                           "link n1 -> n0 bandwidth 2MB/s flap 1m 30s\n"
                           "\n"
                           "at 1s partition n0 | n1\n"
                           "at 2m clock n1 jump -1500ms\n"
                           "run 3m\n"
                           "\n"
                           "expect finality p999 <= 2s\n");
    free(text);
    tc_scn_free(&s);
}

/* ------------------------------------------------------------------------------------------ */
/* Files                                                                                       */

Test(scenario, parse_file)
{
    char path[] = "/tmp/tc_scn_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("nodes 3\nrun 5s\nexpect bogus\n", f);
    fclose(f);
    tc_scn s;
    char err[256];
    cr_assert_eq(tc_scn_parse_file(path, &s, err, sizeof(err)), TC_EINVAL);
    char want[320];
    snprintf(want, sizeof(want), "%s:3:8: expected an expectation", path);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
    f = fopen(path, "w");
    fputs("nodes 3\nrun 5s\n", f);
    fclose(f);
    cr_assert_eq(tc_scn_parse_file(path, &s, err, sizeof(err)), 0);
    cr_assert_eq(s.node_count, 3);
    tc_scn_free(&s);
    remove(path);
    cr_assert_eq(tc_scn_parse_file(path, &s, err, sizeof(err)), TC_ENOTFOUND);
    cr_assert_not_null(strstr(err, "cannot open"));
}

Test(scenario, node_names)
{
    char name[TC_SCN_NODE_NAME_MAX];
    tc_scn_node_name((tc_scn_node){TC_SCN_VALIDATOR, 1023}, name);
    cr_assert_str_eq(name, "n1023");
    tc_scn_node_name((tc_scn_node){TC_SCN_FULLNODE, 0}, name);
    cr_assert_str_eq(name, "f0");
    tc_scn_node_name((tc_scn_node){TC_SCN_TWIN, 12}, name);
    cr_assert_str_eq(name, "n12b");
}
