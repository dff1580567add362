/* scenario_parse.c — stage one of the `.scn` parser (scenario_internal.h): the text line by
 * line, each line's statement into the data model (setup statements, the `at` timeline,
 * expectations), stopping at the first syntax error; then stage two (scenario_check.c) on the
 * whole model. tc_scn_parse_text and tc_scn_parse_file are here.
 */
#include "scenario_internal.h"

#include <errno.h>

/* ------------------------------------------------------------------------------------------ */
/* Setup statements                                                                            */

static int st_scenario(parser *p, const tok *kw)
{
    (void)kw;
    const tok *t = scn_next(p);
    if (t == NULL || !t->str)
        return scn_fail_tok(p, t, "a quoted name");
    char *name = p->s->name;
    uint32_t n = 0;
    for (uint32_t k = 0; k < t->len; k++) {
        if (n == TC_SCN_NAME_MAX)
            return scn_fail_tok(p, t, "a name of at most %d bytes", TC_SCN_NAME_MAX);
        if (t->s[k] == '\\')
            k++; /* the lexer let only \" and \\ through */
        name[n++] = t->s[k];
    }
    name[n] = 0;
    return scn_want_end(p);
}

static int st_seed(parser *p, const tok *kw)
{
    (void)kw;
    int rc = scn_get_uint(p, "a seed", 0, UINT64_MAX, &p->s->seed);
    return rc != 0 ? rc : scn_want_end(p);
}

static int add_override(parser *p, uint32_t field, uint64_t value, uint32_t col)
{
    tc_scn *s = p->s;
    for (uint32_t k = 0; k < s->override_count; k++) {
        if (s->overrides[k].field == field) { /* a later override of a field wins */
            s->overrides[k] = (tc_scn_override){field, value, p->line, col};
            return 0;
        }
    }
    int rc = RESERVE(p, s->overrides, p->override_cap, s->override_count, 256, "overrides");
    if (rc != 0)
        return rc;
    s->overrides[s->override_count++] = (tc_scn_override){field, value, p->line, col};
    return 0;
}

static int profile_override(parser *p, bool network_allowed)
{
    const tok *t = scn_next(p);
    int field = t == NULL || t->str ? -1 : scn_field_find(t->s, t->len);
    if (field < 0)
        return scn_fail_tok(p, t, "%sa profile field (e.g. epoch_blocks, block_interval_ms)",
                            network_allowed ? "a network (testnet, mainnet) or " : "");
    const tok *v = scn_peek(p);
    uint32_t col = v != NULL ? v->col : 0;
    uint64_t value = 0;
    char what[96];
    snprintf(what, sizeof(what), "a value for %s", scn_field_name((uint32_t)field));
    int rc = scn_field_is_ms((uint32_t)field)
                 ? scn_get_duration_u(p, what, 0, TC_SCN_DURATION_MAX_MS, &value)
                 : scn_get_uint(p, what, 0, UINT64_MAX, &value);
    return rc != 0 ? rc : add_override(p, (uint32_t)field, value, col);
}

static int st_profile(parser *p, const tok *kw)
{
    (void)kw;
    const tok *t = scn_peek(p);
    int net = scn_choice(t, scn_network_names, 2);
    if (net >= 0) {
        scn_next(p);
        if (p->network_line != 0 && (uint32_t)net != p->s->network)
            return scn_fail_prev(p, "%s (as the `profile` at line %" PRIu32 ")",
                                 scn_network_names[p->s->network], p->network_line);
        p->s->network = (uint32_t)net;
        p->network_line = p->line;
    }
    bool first = net < 0;
    while (first || scn_peek(p) != NULL) {
        int rc = profile_override(p, first);
        if (rc != 0)
            return rc;
        first = false;
    }
    return 0;
}

static int st_nodes(parser *p, const tok *kw)
{
    (void)kw;
    const tok *t = scn_peek(p);
    p->nodes_col = t != NULL ? t->col : 1;
    uint64_t v = 0;
    int rc = scn_get_uint(p, "a validator count", 1, TC_SCN_NODES_MAX, &v);
    p->s->node_count = (uint32_t)v;
    return rc != 0 ? rc : scn_want_end(p);
}

static int st_fullnodes(parser *p, const tok *kw)
{
    (void)kw;
    uint64_t v = 0;
    int rc = scn_get_uint(p, "a fullnode count", 0, TC_SCN_NODES_MAX, &v);
    p->s->fullnode_count = (uint32_t)v;
    return rc != 0 ? rc : scn_want_end(p);
}

static int st_tier(parser *p, const tok *kw)
{
    (void)kw;
    tc_scn *s = p->s;
    uint32_t start = s->tier_count;
    while (scn_choice(scn_peek(p), scn_tier_names, 3) < 0) {
        tc_scn_node node;
        uint32_t col = 0;
        int rc = scn_get_node(p,
                              start == s->tier_count
                                  ? VALIDATOR_NAME
                                  : "a validator name or a tier (bronze, silver, gold)",
                              &node, &col);
        for (uint32_t k = 0; rc == 0 && k < s->tier_count; k++) {
            if (tc_scn_node_equal(s->tiers[k].node, node))
                rc = scn_fail_prev(p, "one tier per node (set at line %" PRIu32 ")",
                                   s->tiers[k].line);
        }
        if (rc == 0)
            rc = RESERVE(p, s->tiers, p->tier_cap, s->tier_count, TC_SCN_NODES_MAX, "tiers");
        if (rc != 0)
            return rc;
        s->tiers[s->tier_count++] = (tc_scn_tier_set){node, 0, p->line, col};
    }
    if (start == s->tier_count)
        return scn_fail_tok(p, scn_peek(p), VALIDATOR_NAME);
    int tier = 0;
    int rc = scn_get_choice(p, "a tier", scn_tier_names, 3, &tier);
    for (uint32_t k = start; k < s->tier_count; k++)
        s->tiers[k].tier = (uint32_t)tier;
    return rc != 0 ? rc : scn_want_end(p);
}

static int get_bandwidth(parser *p, uint64_t *out)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {{"GB/s", 1000000000}, {"MB/s", 1000000}, {"kB/s", 1000}, {"B/s", 1}};
    const tok *t = scn_next(p);
    if (scn_tok_is(t, "unlimited")) {
        *out = 0;
        return 0;
    }
    vres r = V_SYNTAX;
    for (size_t k = 0; t != NULL && !t->str && r == V_SYNTAX && k < TC_ARRAY_LEN(units); k++) {
        uint64_t v = 0;
        r = scn_suffixed_value(t->s, t->len, units[k].suffix, TC_NET_BANDWIDTH_MAX / units[k].mult,
                               &v);
        if (r == V_OK && v == 0)
            r = V_RANGE;
        if (r == V_OK)
            *out = v * units[k].mult;
    }
    if (r == V_OK)
        return 0;
    return scn_bad_value(p, t, r, "a bandwidth", "e.g. 10MB/s, 500kB/s, 1000B/s, unlimited",
                         "1B/s..1099GB/s");
}

static int get_flap(parser *p, tc_net_link *l)
{
    if (scn_tok_is(scn_peek(p), "off")) {
        scn_next(p);
        l->flap_up_ms = 0;
        l->flap_down_ms = 0;
        return 0;
    }
    int rc =
        scn_get_duration_u32(p, "a flap up time (or off)", 1, TC_NET_DELAY_MAX_MS, &l->flap_up_ms);
    if (rc == 0)
        rc = scn_get_duration_u32(p, "a flap down time", 1, TC_NET_DELAY_MAX_MS, &l->flap_down_ms);
    return rc;
}

/* Link options in any order, each at most once; *mask gets TC_SCN_LINK_* of those given. */
static int link_options(parser *p, tc_net_link *l, uint32_t *mask)
{
    *mask = 0;
    do {
        int k = 0;
        int rc = scn_get_choice(p, "a link option", scn_opt_names, 7, &k);
        if (rc == 0 && (*mask & (1u << k)) != 0)
            rc = scn_fail_prev(p, "each option once");
        *mask |= 1u << k;
        if (rc != 0)
            return rc;
        const uint32_t max = TC_NET_DELAY_MAX_MS;
        if (k == 0)
            rc = scn_get_duration_u32(p, "a latency", 0, max, &l->latency_ms);
        else if (k == 1)
            rc = scn_get_duration_u32(p, "a jitter", 0, max, &l->jitter_ms);
        else if (k == 2)
            rc = scn_get_percent(p, "a loss percentage", &l->loss_ppm);
        else if (k == 3)
            rc = scn_get_percent(p, "a duplication percentage", &l->dup_ppm);
        else if (k == 4)
            rc = scn_get_percent(p, "a reordering percentage", &l->reorder_ppm);
        else if (k == 5)
            rc = get_bandwidth(p, &l->bandwidth_Bps);
        else
            rc = get_flap(p, l);
        if (rc != 0)
            return rc;
    } while (scn_peek(p) != NULL);
    TC_ASSERT(tc_net_link_check(l) == 0);
    return 0;
}

static int st_network(parser *p, const tok *kw)
{
    (void)kw;
    uint32_t mask = 0;
    return link_options(p, &p->s->net, &mask);
}

static int st_link(parser *p, const tok *kw)
{
    (void)kw;
    tc_scn_link l;
    memset(&l, 0, sizeof(l));
    l.line = p->line;
    int rc = scn_get_node(p, NODE_NAME, &l.a, &l.column);
    if (rc == 0 && scn_tok_is(scn_peek(p), "->")) {
        scn_next(p);
        l.oneway = true;
    }
    if (rc == 0)
        rc = scn_get_node(p, l.oneway ? NODE_NAME : "a node name (n0, f0, n0b, ...) or `->`", &l.b,
                          &l.column_b);
    if (rc == 0 && tc_scn_node_equal(l.a, l.b))
        rc = scn_fail_prev(p, "a node other than the first");
    if (rc == 0)
        rc = link_options(p, &l.params, &l.mask);
    if (rc == 0)
        rc = RESERVE(p, p->s->links, p->link_cap, p->s->link_count, TC_SCN_LINKS_MAX, "links");
    if (rc == 0)
        p->s->links[p->s->link_count++] = l;
    return rc;
}

static int get_drift(parser *p, int32_t *out)
{
    const tok *t = scn_next(p);
    vres r = V_SYNTAX;
    uint64_t v = 0;
    if (t != NULL && !t->str) {
        uint32_t skip = t->len > 0 && (t->s[0] == '+' || t->s[0] == '-') ? 1 : 0;
        r = scn_suffixed_value(t->s + skip, t->len - skip, "ppm", TC_SCN_DRIFT_MAX_PPM, &v);
        if (r == V_OK)
            *out = skip == 1 && t->s[0] == '-' ? -(int32_t)v : (int32_t)v;
    }
    return r == V_OK
               ? 0
               : scn_bad_value(p, t, r, "a drift", "e.g. +100ppm, -50ppm", "-100000..+100000ppm");
}

static int st_clock(parser *p, const tok *kw)
{
    (void)kw;
    tc_scn *s = p->s;
    tc_scn_clock c = {.line = p->line};
    int rc = scn_get_node(p, NODE_NAME, &c.node, &c.column);
    for (uint32_t k = 0; rc == 0 && k < s->clock_count; k++) {
        if (tc_scn_node_equal(s->clocks[k].node, c.node))
            rc = scn_fail_prev(p, "one `clock` per node (set at line %" PRIu32 ")",
                               s->clocks[k].line);
    }
    static const char *const names[] = {"offset", "drift"};
    uint32_t seen = 0;
    while (rc == 0 && (seen == 0 || scn_peek(p) != NULL)) {
        int k = 0;
        rc = scn_get_choice(p, "a clock option", names, 2, &k);
        if (rc == 0 && (seen & (1u << k)) != 0)
            rc = scn_fail_prev(p, "each option once");
        seen |= 1u << k;
        const int64_t max = TC_SCN_DURATION_MAX_MS;
        if (rc == 0)
            rc = k == 0 ? scn_get_duration(p, "an offset", true, -max, max, &c.offset_ms)
                        : get_drift(p, &c.drift_ppm);
    }
    if (rc == 0)
        rc = RESERVE(p, s->clocks, p->clock_cap, s->clock_count, TC_SCN_NODES_MAX, "clocks");
    if (rc == 0)
        s->clocks[s->clock_count++] = c;
    return rc;
}

static int st_storage(parser *p, const tok *kw)
{
    (void)kw;
    int k = 0;
    int rc = scn_get_choice(p, "a storage", scn_storage_names, 2, &k);
    p->s->storage = (uint32_t)k;
    return rc != 0 ? rc : scn_want_end(p);
}

static int st_crypto(parser *p, const tok *kw)
{
    (void)kw;
    int k = 0;
    int rc = scn_get_choice(p, "a signature scheme", scn_crypto_names, 2, &k);
    p->s->crypto = (uint32_t)k;
    return rc != 0 ? rc : scn_want_end(p);
}

static int st_load(parser *p, const tok *kw)
{
    (void)kw;
    tc_scn *s = p->s;
    static const char *const names[] = {"clients", "double-spend"};
    uint32_t seen = 0;
    int rc = scn_get_rate(p, "a transaction rate", 0, &s->load_per_s);
    while (rc == 0 && scn_peek(p) != NULL) {
        int k = 0;
        rc = scn_get_choice(p, "a load option", names, 2, &k);
        if (rc == 0 && (seen & (1u << k)) != 0)
            rc = scn_fail_prev(p, "each option once");
        seen |= 1u << k;
        uint64_t v = 0;
        if (rc == 0 && k == 0)
            rc = scn_get_uint(p, "a client count", 1, TC_SCN_CLIENTS_MAX, &v);
        if (rc == 0 && k == 0)
            s->load_clients = (uint32_t)v;
        if (rc == 0 && k == 1)
            rc = scn_get_percent(p, "a double-spend percentage", &s->double_spend_ppm);
    }
    return rc;
}

/* A Byzantine behaviour and, for flood, its rate. */
static int get_byz(parser *p, uint32_t *kind, uint32_t *flood_per_s)
{
    int k = 0;
    int rc = scn_get_choice(p, "a Byzantine behaviour", scn_byz_names, SCN_BYZ_NAMES, &k);
    *kind = (uint32_t)k;
    *flood_per_s = 0;
    if (rc == 0 && k == TC_SCN_BYZ_FLOOD)
        rc = scn_get_rate(p, "a flood rate", 1, flood_per_s);
    return rc != 0 ? rc : scn_want_end(p);
}

static int st_byzantine(parser *p, const tok *kw)
{
    (void)kw;
    tc_scn *s = p->s;
    tc_scn_byz b = {.line = p->line};
    int rc = scn_get_node(p, NODE_NAME, &b.node, &b.column);
    for (uint32_t k = 0; rc == 0 && k < s->byz_count; k++) {
        if (tc_scn_node_equal(s->byz[k].node, b.node))
            rc = scn_fail_prev(p, "one `byzantine` per node in the setup (set at line %" PRIu32 ")",
                               s->byz[k].line);
    }
    if (rc == 0)
        rc = get_byz(p, &b.kind, &b.flood_per_s);
    if (rc == 0)
        rc = RESERVE(p, s->byz, p->byz_cap, s->byz_count, TC_SCN_NODES_MAX, "Byzantine nodes");
    if (rc == 0)
        s->byz[s->byz_count++] = b;
    return rc;
}

/* `kinds K...`: one or more fault kinds, each once, up to the next option or the line's end. */
static int chaos_kinds(parser *p, uint32_t *mask)
{
    *mask = 0;
    do {
        int k = 0;
        int rc = scn_get_choice(p, "a chaos fault kind", scn_chaos_kind_names, 8, &k);
        if (rc == 0 && (*mask & (1u << k)) != 0)
            rc = scn_fail_prev(p, "each kind once");
        if (rc != 0)
            return rc;
        *mask |= 1u << k;
    } while (scn_peek(p) != NULL && !scn_tok_is(scn_peek(p), "faults") &&
             !scn_tok_is(scn_peek(p), "heal-by"));
    TC_ASSERT(*mask != 0 && (*mask & ~(uint32_t)TC_SCN_CHAOS_ALL) == 0);
    return 0;
}

static int st_chaos(parser *p, const tok *kw)
{
    (void)kw;
    tc_scn *s = p->s;
    static const char *const names[] = {"faults", "heal-by", "kinds"};
    uint32_t seen = 0;
    int rc = 0;
    while (rc == 0 && (seen == 0 || scn_peek(p) != NULL)) {
        int k = 0;
        rc = scn_get_choice(p, "a chaos option", names, 3, &k);
        if (rc == 0 && (seen & (1u << k)) != 0)
            rc = scn_fail_prev(p, "each option once");
        seen |= 1u << k;
        uint64_t v = 0;
        if (rc == 0 && k == 0)
            rc = scn_get_uint(p, "a fault count", 0, TC_SCN_FAULTS_MAX, &v);
        if (rc == 0 && k == 0)
            s->chaos_faults = (uint32_t)v;
        if (rc == 0 && k == 1) {
            p->chaos_line = p->line;
            p->chaos_col = scn_peek(p) != NULL ? scn_peek(p)->col : 1;
            rc = scn_get_duration_u(p, "a heal-by time", 1, TC_SCN_DURATION_MAX_MS,
                                    &s->chaos_heal_by_ms);
        }
        if (rc == 0 && k == 2)
            rc = chaos_kinds(p, &s->chaos_kinds);
    }
    if (rc == 0 && (seen & 1u) == 0)
        rc = scn_fail_tok(p, NULL, "`faults N`");
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Timeline                                                                                    */

static int add_member(parser *p, tc_scn_node node, uint32_t group, uint32_t col)
{
    tc_scn *s = p->s;
    TC_ASSERT(node.kind <= TC_SCN_TWIN && node.index < TC_SCN_NODES_MAX);
    TC_ASSERT(col > 0);
    int rc = RESERVE(p, s->members, p->member_cap, s->member_count, TC_SCN_MEMBERS_MAX,
                     "node mentions in lists");
    if (rc == 0)
        s->members[s->member_count++] = (tc_scn_member){node, group, p->line, col};
    return rc;
}

/* Node names up to the end of the line or a `|` / `->`, at least one, none repeated since
 * members[first]. */
static int node_list(parser *p, uint32_t group, uint32_t first, const char *what)
{
    tc_scn *s = p->s;
    uint32_t before = s->member_count;
    for (;;) {
        const tok *t = scn_peek(p);
        if (t == NULL || scn_tok_is(t, "|") || scn_tok_is(t, "->"))
            break;
        tc_scn_node node;
        uint32_t col = 0;
        int rc = scn_get_node(p, what, &node, &col);
        for (uint32_t k = first; rc == 0 && k < s->member_count; k++) {
            if (tc_scn_node_equal(s->members[k].node, node))
                rc = scn_fail_prev(p, "each node once");
        }
        if (rc == 0)
            rc = add_member(p, node, group, col);
        if (rc != 0)
            return rc;
    }
    return s->member_count > before ? 0 : scn_fail_tok(p, scn_peek(p), "%s", what);
}

/* Groups separated by `|` (two or more), or two sides of `->`. */
static int ev_partition(parser *p, tc_scn_event *ev)
{
    uint32_t first = p->s->member_count;
    uint32_t group = 0;
    for (;;) {
        int rc = node_list(p, group, first, NODE_NAME);
        if (rc != 0)
            return rc;
        const tok *t = scn_next(p);
        if (t == NULL)
            break;
        if (scn_tok_is(t, "|") && !ev->oneway) {
            group++;
        } else if (scn_tok_is(t, "->") && group == 0) {
            ev->oneway = true;
            group = 1;
        } else {
            return scn_fail_prev(p, ev->oneway ? "end of line (a one-way partition has two sides)"
                                               : "a node name, `|` or end of line");
        }
    }
    if (group == 0)
        return scn_fail_tok(p, NULL, "`|` or `->` after the first group");
    ev->members = (tc_scn_span){first, p->s->member_count - first};
    return 0;
}

static int ev_node(parser *p, tc_scn_event *ev)
{
    return scn_get_node(p, NODE_NAME, &ev->node, &ev->node_column);
}

static int ev_crash(parser *p, tc_scn_event *ev)
{
    int rc = ev_node(p, ev);
    if (rc == 0 && scn_tok_is(scn_peek(p), "lose-writes")) {
        scn_next(p);
        ev->lose_writes = true;
    }
    return rc;
}

static int ev_pause(parser *p, tc_scn_event *ev)
{
    int rc = ev_node(p, ev);
    return rc != 0 ? rc
                   : scn_get_duration_u(p, "a pause duration", 1, TC_SCN_DURATION_MAX_MS,
                                        &ev->duration_ms);
}

static int ev_clock(parser *p, tc_scn_event *ev)
{
    const int64_t max = TC_SCN_DURATION_MAX_MS;
    int rc = ev_node(p, ev);
    if (rc == 0)
        rc = scn_want_word(p, "jump");
    return rc != 0 ? rc : scn_get_duration(p, "a clock jump", true, -max, max, &ev->jump_ms);
}

static int ev_byzantine(parser *p, tc_scn_event *ev)
{
    int rc = ev_node(p, ev);
    if (rc == 0 && scn_tok_is(scn_peek(p), "twin")) {
        scn_next(p);
        return scn_fail_prev(p, "a Byzantine behaviour other than twin (twins are set up before "
                                "the first `at`)");
    }
    return rc != 0 ? rc : get_byz(p, &ev->byz, &ev->flood_per_s);
}

static int ev_register(parser *p, tc_scn_event *ev)
{
    int rc = ev_node(p, ev);
    if (rc == 0 && ev->node.kind != TC_SCN_VALIDATOR)
        rc = scn_fail_prev(p, "a new validator name (nK)");
    int tier = 0;
    if (rc == 0)
        rc = scn_get_choice(p, "a tier", scn_tier_names, 3, &tier);
    ev->tier = (uint32_t)tier;
    return rc;
}

static int ev_load(parser *p, tc_scn_event *ev)
{
    return scn_get_rate(p, "a transaction rate", 0, &ev->rate_per_s);
}

static int ev_restart(parser *p, tc_scn_event *ev)
{
    return ev_node(p, ev);
}

static int ev_heal(parser *p, tc_scn_event *ev)
{
    (void)p;
    (void)ev;
    return 0;
}

/* `link A B OPTIONS` or `link A -> B OPTIONS`: the setup's `link` syntax, from now on. */
static int ev_link(parser *p, tc_scn_event *ev)
{
    int rc = ev_node(p, ev);
    if (rc == 0 && scn_tok_is(scn_peek(p), "->")) {
        scn_next(p);
        ev->oneway = true;
    }
    if (rc == 0)
        rc = scn_get_node(p, ev->oneway ? NODE_NAME : "a node name (n0, f0, n0b, ...) or `->`",
                          &ev->peer, &ev->peer_column);
    if (rc == 0 && tc_scn_node_equal(ev->node, ev->peer))
        rc = scn_fail_prev(p, "a node other than the first");
    return rc != 0 ? rc : link_options(p, &ev->link, &ev->link_mask);
}

static int (*const event_parsers[])(parser *, tc_scn_event *) = {
    NULL,     ev_crash,     ev_restart,  ev_partition, ev_heal, ev_pause,
    ev_clock, ev_byzantine, ev_register, ev_load,      ev_link};
_Static_assert(TC_ARRAY_LEN(event_parsers) == TC_SCN_EV_LINK + 1, "event_parsers");

static int st_at(parser *p, const tok *kw)
{
    (void)kw;
    tc_scn *s = p->s;
    p->ph = PH_TIMELINE;
    tc_scn_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.line = p->line;
    ev.column = scn_peek(p) != NULL ? scn_peek(p)->col : 1;
    int rc = scn_get_duration_u(p, "a time", 0, TC_SCN_DURATION_MAX_MS, &ev.at_ms);
    int k = 0;
    if (rc == 0)
        rc = scn_get_choice(p, "an event", scn_event_names, SCN_EVENT_NAMES, &k);
    ev.kind = (uint32_t)k;
    TC_ASSERT(rc != 0 || (k >= TC_SCN_EV_CRASH && k <= TC_SCN_EV_LINK));
    if (rc == 0)
        rc = event_parsers[k](p, &ev);
    if (rc == 0)
        rc = scn_want_end(p);
    if (rc == 0)
        rc = RESERVE(p, s->events, p->event_cap, s->event_count, TC_SCN_EVENTS_MAX, "events");
    if (rc == 0)
        s->events[s->event_count++] = ev;
    return rc;
}

static int st_run(parser *p, const tok *kw)
{
    (void)kw;
    p->ph = PH_EXPECT;
    int rc = scn_get_duration_u(p, "a run time", 1, TC_SCN_DURATION_MAX_MS, &p->s->run_ms);
    return rc != 0 ? rc : scn_want_end(p);
}

/* ------------------------------------------------------------------------------------------ */
/* Expectations                                                                                */

/* p50 = 500000 ppm, p99 = 990000, p999 = 999000, max = 10^6: the digits after `p` are the
 * quantile's decimals. Two digits at least, and no trailing zero after the second (p100 would
 * read as 10%). */
static int get_quantile(parser *p, uint32_t *ppm)
{
    const tok *t = scn_next(p);
    if (scn_tok_is(t, "max")) {
        *ppm = TC_SCN_PPM;
        return 0;
    }
    uint64_t v = 0;
    bool ok = t != NULL && !t->str && t->len >= 3 && t->len <= 7 && t->s[0] == 'p' &&
              scn_digits_value(t->s + 1, t->len - 1, &v) == V_OK &&
              (t->len == 3 || t->s[t->len - 1] != '0');
    if (ok) {
        v *= scn_pow10_u64(6 - (t->len - 1));
        ok = v > 0;
    }
    if (!ok)
        return scn_fail_tok(p, t, "a quantile (p50, p90, p99, p999, ... or max)");
    *ppm = (uint32_t)v;
    return 0;
}

static int get_cmp(parser *p, uint32_t *cmp)
{
    int k = 0;
    int rc = scn_get_choice(p, "a comparison", scn_cmp_names, 4, &k);
    *cmp = (uint32_t)k;
    return rc;
}

static int ex_nodes(parser *p, tc_scn_expect *e, const char *what)
{
    uint32_t first = p->s->member_count;
    int rc = node_list(p, 0, first, what);
    e->members = (tc_scn_span){first, p->s->member_count - first};
    return rc;
}

static int ex_height(parser *p, tc_scn_expect *e)
{
    int rc = get_cmp(p, &e->cmp);
    if (rc == 0)
        rc = scn_get_uint(p, "a height", 0, UINT64_MAX, &e->value);
    if (rc == 0 && scn_peek(p) != NULL) {
        rc = scn_want_word(p, "on");
        if (rc == 0)
            rc = ex_nodes(p, e, NODE_NAME);
    }
    return rc;
}

static int ex_view_changes(parser *p, tc_scn_expect *e)
{
    int rc = get_cmp(p, &e->cmp);
    return rc != 0 ? rc : scn_get_uint(p, "a view-change count", 0, UINT64_MAX, &e->value);
}

static int ex_finality(parser *p, tc_scn_expect *e)
{
    int rc = get_quantile(p, &e->quantile_ppm);
    e->cmp = TC_SCN_LE;
    if (rc == 0)
        rc = scn_want_word(p, "<=");
    return rc != 0
               ? rc
               : scn_get_duration_u(p, "a finality latency", 0, TC_SCN_DURATION_MAX_MS, &e->value);
}

static int ex_liveness(parser *p, tc_scn_expect *e)
{
    int rc = scn_want_word(p, "within");
    if (rc == 0)
        rc = scn_get_duration_u(p, "a liveness bound", 1, TC_SCN_DURATION_MAX_MS, &e->within_ms);
    if (rc == 0)
        rc = scn_want_word(p, "after");
    if (rc == 0 && scn_tok_is(scn_peek(p), "heal")) {
        scn_next(p);
        e->after_heal = true;
        return 0;
    }
    return rc != 0
               ? rc
               : scn_get_duration_u(p, "`heal` or a time", 0, TC_SCN_DURATION_MAX_MS, &e->after_ms);
}

static int ex_clock_stops(parser *p, tc_scn_expect *e)
{
    int rc = get_cmp(p, &e->cmp);
    return rc != 0 ? rc : scn_get_uint(p, "a clock-stop count", 0, UINT64_MAX, &e->value);
}

/* banned X by NODE..., online X by NODE..., offline X by NODE... */
static int ex_banned(parser *p, tc_scn_expect *e)
{
    int rc = scn_get_node(p, NODE_NAME, &e->node, &e->node_column);
    if (rc == 0)
        rc = scn_want_word(p, "by");
    return rc != 0 ? rc : ex_nodes(p, e, NODE_NAME);
}

static int ex_culprits(parser *p, tc_scn_expect *e)
{
    return ex_nodes(p, e, VALIDATOR_NAME);
}

/* final-confirmed within T */
static int ex_final_confirmed(parser *p, tc_scn_expect *e)
{
    int rc = scn_want_word(p, "within");
    return rc != 0 ? rc
                   : scn_get_duration_u(p, "a confirmation bound", 1, TC_SCN_DURATION_MAX_MS,
                                        &e->within_ms);
}

static int ex_state_sync(parser *p, tc_scn_expect *e)
{
    int rc = scn_want_word(p, "on");
    return rc != 0 ? rc : ex_nodes(p, e, NODE_NAME);
}

static int ex_flag(parser *p, tc_scn_expect *e)
{
    (void)p;
    (void)e;
    return 0;
}

static int (*const expect_parsers[])(parser *, tc_scn_expect *) = {
    NULL,           ex_flag,       ex_flag,
    ex_culprits,    ex_height,     ex_view_changes,
    ex_finality,    ex_liveness,   ex_banned,
    ex_clock_stops, ex_banned,     ex_banned,
    ex_culprits,    ex_state_sync, ex_final_confirmed,
    ex_flag};
_Static_assert(TC_ARRAY_LEN(expect_parsers) == TC_SCN_EXP_CARRIED_RESERVED + 1, "expect_parsers");

static int st_expect(parser *p, const tok *kw)
{
    (void)kw;
    tc_scn *s = p->s;
    tc_scn_expect e;
    memset(&e, 0, sizeof(e));
    e.line = p->line;
    e.column = scn_peek(p) != NULL ? scn_peek(p)->col : 1;
    int k = 0;
    int rc = scn_get_choice(p, "an expectation", scn_expect_names, SCN_EXPECT_NAMES, &k);
    e.kind = (uint32_t)k;
    TC_ASSERT(rc != 0 || (k >= TC_SCN_EXP_SAFETY && k <= TC_SCN_EXP_CARRIED_RESERVED));
    if (rc == 0)
        rc = expect_parsers[k](p, &e);
    if (rc == 0)
        rc = scn_want_end(p);
    if (rc == 0)
        rc = RESERVE(p, s->expects, p->expect_cap, s->expect_count, TC_SCN_EXPECTS_MAX,
                     "expectations");
    if (rc == 0)
        s->expects[s->expect_count++] = e;
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Statements                                                                                  */

typedef struct {
    const char *word;
    phase ph; /* PH_SETUP: setup only; PH_TIMELINE: `at`; PH_EXPECT: `expect` */
    int once; /* ONCE_*, or ONCE_NO */
    int (*fn)(parser *, const tok *);
} statement;

static const statement statements[] = {
    {"scenario", PH_SETUP, ONCE_SCENARIO, st_scenario},
    {"seed", PH_SETUP, ONCE_SEED, st_seed},
    {"profile", PH_SETUP, ONCE_NO, st_profile},
    {"nodes", PH_SETUP, ONCE_NODES, st_nodes},
    {"tier", PH_SETUP, ONCE_NO, st_tier},
    {"fullnodes", PH_SETUP, ONCE_FULLNODES, st_fullnodes},
    {"network", PH_SETUP, ONCE_NETWORK, st_network},
    {"link", PH_SETUP, ONCE_NO, st_link},
    {"clock", PH_SETUP, ONCE_NO, st_clock},
    {"storage", PH_SETUP, ONCE_STORAGE, st_storage},
    {"crypto", PH_SETUP, ONCE_CRYPTO, st_crypto},
    {"load", PH_SETUP, ONCE_LOAD, st_load},
    {"byzantine", PH_SETUP, ONCE_NO, st_byzantine},
    {"chaos", PH_SETUP, ONCE_CHAOS, st_chaos},
    {"at", PH_TIMELINE, ONCE_NO, st_at},
    {"run", PH_TIMELINE, ONCE_RUN, st_run},
    {"expect", PH_EXPECT, ONCE_NO, st_expect},
};

/* Whether statement st may come now; reports why not. */
static int check_place(parser *p, const statement *st, const tok *kw)
{
    if (st->ph == PH_SETUP && p->ph == PH_TIMELINE)
        return scn_fail_tok(p, kw, "`at` or `run` (setup statements come before the first `at`)");
    if (st->ph != PH_EXPECT && p->ph == PH_EXPECT)
        return scn_fail_tok(p, kw, "`expect` (only expectations follow `run`)");
    if (st->ph == PH_EXPECT && p->ph != PH_EXPECT)
        return scn_fail_tok(p, kw, "`run` before the expectations");
    if (st->once != ONCE_NO && p->seen[st->once] != 0)
        return scn_fail_tok(p, kw, "one `%s` statement (the first is at line %" PRIu32 ")",
                            st->word, p->seen[st->once]);
    if (st->once != ONCE_NO)
        p->seen[st->once] = p->line;
    return 0;
}

static int statement_line(parser *p)
{
    if (p->tok_count == 0)
        return 0;
    const tok *kw = scn_next(p);
    TC_ASSERT(kw != NULL && p->ph <= PH_EXPECT);
    for (size_t k = 0; k < TC_ARRAY_LEN(statements); k++) {
        if (!scn_tok_is(kw, statements[k].word))
            continue;
        int rc = check_place(p, &statements[k], kw);
        return rc != 0 ? rc : statements[k].fn(p, kw);
    }
    return scn_fail_tok(p, kw,
                        "a statement (scenario, seed, profile, nodes, tier, fullnodes, "
                        "network, link, clock, storage, crypto, load, byzantine, chaos, at, "
                        "run, expect)");
}

/* Stage one: every line. Leaves eof_line/eof_col at the position just past the text. */
static int parse_lines(parser *p, const char *text, size_t len)
{
    size_t start = 0;
    p->line = 0;
    while (start <= len) {
        const char *nl = start < len ? memchr(text + start, '\n', len - start) : NULL;
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        p->line++;
        p->eof_line = p->line;
        p->eof_col = (uint32_t)(end - start) + 1;
        int rc = scn_lex_line(p, text + start, end - start);
        if (rc == 0)
            rc = statement_line(p);
        if (rc != 0)
            return rc;
        if (nl == NULL)
            break;
        start = end + 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Public: parse                                                                               */

static void scn_defaults(tc_scn *s)
{
    memset(s, 0, sizeof(*s));
    s->seed = 1;
    s->network = TC_NET_TESTNET;
    tc_net_link_defaults(&s->net);
    s->load_clients = 16;
    tc_profile_get(&s->profile, TC_NET_TESTNET);
}

int tc_scn_parse_text(const char *name, const char *text, size_t len, tc_scn *out, char *err,
                      size_t err_len)
{
    TC_ASSERT(name != NULL && out != NULL);
    TC_ASSERT(text != NULL || len == 0);
    TC_ASSERT(err != NULL || err_len == 0);
    if (err_len > 0)
        err[0] = 0;
    scn_defaults(out);
    parser *p = calloc(1, sizeof(*p)); /* ~20 KiB of tables: off the stack */
    if (p == NULL) {
        memset(out, 0, sizeof(*out));
        if (err_len > 0)
            snprintf(err, err_len, "%s: out of memory", name);
        return TC_ENOMEM;
    }
    p->name = name;
    p->s = out;
    p->err = err;
    p->err_len = err_len;
    int rc = 0;
    if (len > TC_SCN_TEXT_MAX) {
        char got[48];
        snprintf(got, sizeof(got), "%zu bytes", len);
        rc = scn_report(p, 1, 1, got, "at most %u bytes of text", TC_SCN_TEXT_MAX);
    }
    if (rc == 0)
        rc = parse_lines(p, text == NULL ? "" : text, len);
    if (rc == 0)
        rc = scn_finish(p);
    TC_ASSERT((rc == 0) == !p->failed);
    free(p->toks);
    free(p);
    if (rc != 0)
        tc_scn_free(out);
    return rc;
}

int tc_scn_parse_file(const char *path, tc_scn *out, char *err, size_t err_len)
{
    TC_ASSERT(path != NULL && out != NULL);
    TC_ASSERT(err != NULL || err_len == 0);
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (err_len > 0)
            snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return TC_ENOTFOUND;
    }
    char *text = malloc(TC_SCN_TEXT_MAX + 1);
    if (text == NULL) {
        fclose(f);
        if (err_len > 0)
            snprintf(err, err_len, "%s: out of memory", path);
        return TC_ENOMEM;
    }
    size_t len = fread(text, 1, TC_SCN_TEXT_MAX + 1, f);
    int rc = ferror(f) ? TC_ENOTFOUND : len > TC_SCN_TEXT_MAX ? TC_ETOOLONG : 0;
    fclose(f);
    if (rc != 0 && err_len > 0)
        snprintf(err, err_len, "%s: %s", path,
                 rc == TC_ETOOLONG ? "larger than 16 MiB" : "cannot read");
    if (rc == 0)
        rc = tc_scn_parse_text(path, text, len, out, err, err_len);
    free(text);
    return rc;
}
