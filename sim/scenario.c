/* scenario.c — the `.scn` data model (scenario.h): the words of the language shared by the
 * parser and the writer, profile fields by name, free and copy, node names, endpoints and link
 * parameters, and equality. The parser is scenario_lex.c, scenario_parse.c and
 * scenario_check.c; the writer scenario_write.c (their shared state: scenario_internal.h).
 */
#include "scenario_internal.h"

/* ------------------------------------------------------------------------------------------ */
/* Names                                                                                       */

const char *const scn_tier_names[] = {"bronze", "silver", "gold"};
const char *const scn_byz_names[] = {
    NULL, "equivocate", "double-vote", "silent", "invalid-sig", "replay", "garbage", "flood",
    "twin",
    /* rule breakers, in tc_adv_kind order */
    "out-of-turn", "forge-proposal", "forge-prevote", "forge-precommit", "forge-batch",
    "forge-heartbeat", "forge-handoff", "forge-evidence", "forge-tx", "sync-bad-hash",
    "sync-low-weight", "sync-non-member", "sync-bad-sig", "time-ahead", "time-behind",
    "stale-height", "future-height", "wrong-proposer", "wrong-round", "stale-heartbeat",
    "equivocate-batch", "equivocate-handoff", "snapshot-corrupt"};
const char *const scn_storage_names[] = {"mem", "lmdb"};
const char *const scn_crypto_names[] = {"ed25519", "fast"};
const char *const scn_network_names[] = {"testnet", "mainnet"};
const char *const scn_opt_names[] = {"latency", "jitter",    "loss", "dup",
                                     "reorder", "bandwidth", "flap"};
const char *const scn_cmp_names[] = {NULL, ">=", "<=", "=="};
const char *const scn_event_names[] = {NULL,       "crash", "restart", "partition",
                                       "heal",     "pause", "clock",   "byzantine",
                                       "register", "load",  "link"};
const char *const scn_chaos_kind_names[] = {"crash",   "lose-writes", "pause", "partition",
                                            "one-way", "link",        "clock", "byzantine"};
const char *const scn_expect_names[] = {NULL,
                                        "safety",
                                        "fork",
                                        "culprits",
                                        "height",
                                        "view-changes",
                                        "finality",
                                        "liveness",
                                        "banned",
                                        "clock-stops",
                                        "online",
                                        "offline",
                                        "burned",
                                        "state-sync",
                                        "final-confirmed",
                                        "carried-reserved"};

_Static_assert(TC_TIER_BRONZE == 0 && TC_TIER_SILVER == 1 && TC_TIER_GOLD == 2, "scn_tier_names");
_Static_assert(TC_NET_TESTNET == 0 && TC_NET_MAINNET == 1, "scn_network_names");
_Static_assert(TC_SCN_BYZ_TWIN == 8 && TC_SCN_BYZ_FLOOD == 7, "scn_byz_names");
_Static_assert(TC_SCN_LINK_FLAP == 1u << 6, "scn_opt_names follow the TC_SCN_LINK_* bits");
_Static_assert(TC_SCN_CHAOS_BYZANTINE == 1u << 7 && TC_SCN_CHAOS_ALL == 0xff &&
                   TC_ARRAY_LEN(scn_chaos_kind_names) == 8,
               "scn_chaos_kind_names follow the TC_SCN_CHAOS_* bits");
_Static_assert(TC_ARRAY_LEN(scn_tier_names) == 3 && TC_ARRAY_LEN(scn_storage_names) == 2 &&
                   TC_ARRAY_LEN(scn_crypto_names) == 2 && TC_ARRAY_LEN(scn_network_names) == 2 &&
                   TC_ARRAY_LEN(scn_opt_names) == 7 && TC_ARRAY_LEN(scn_cmp_names) == 4,
               "the counts scenario_internal.h gives");
_Static_assert(TC_ARRAY_LEN(scn_byz_names) == SCN_BYZ_NAMES, "scn_byz_names");
_Static_assert(TC_ARRAY_LEN(scn_event_names) == SCN_EVENT_NAMES, "scn_event_names");
_Static_assert(TC_ARRAY_LEN(scn_expect_names) == SCN_EXPECT_NAMES, "scn_expect_names");

/* Profile fields by index, in tc_profile_each order. */
typedef struct {
    const char *find; /* name looked up, or NULL */
    size_t find_len;
    uint32_t want;    /* index whose name is wanted */
    uint32_t at;      /* running index */
    int found;        /* index of find, -1 */
    const char *name; /* name of want */
} field_walk;

static void field_visit(void *ctx, const char *name, uint64_t value)
{
    field_walk *w = ctx;
    (void)value;
    if (w->find != NULL && strlen(name) == w->find_len && memcmp(name, w->find, w->find_len) == 0)
        w->found = (int)w->at;
    if (w->at == w->want)
        w->name = name;
    w->at++;
}

static field_walk field_walk_run(const char *find, size_t find_len, uint32_t want)
{
    tc_profile defaults;
    tc_profile_get(&defaults, TC_NET_TESTNET);
    field_walk w = {.find = find, .find_len = find_len, .want = want, .found = -1};
    tc_profile_each(&defaults, field_visit, &w);
    return w;
}

const char *scn_field_name(uint32_t index)
{
    field_walk w = field_walk_run(NULL, 0, index);
    TC_ASSERT(w.name != NULL);
    return w.name;
}

bool scn_field_is_ms(uint32_t index)
{
    const char *name = scn_field_name(index);
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, "_ms") == 0;
}

/* A field by its name, an alias (epoch, interval), or the name of an _ms field without _ms. */
int scn_field_find(const char *s, uint32_t len)
{
    static const char *const aliases[][2] = {{"epoch", "epoch_blocks"},
                                             {"interval", "block_interval_ms"}};
    for (size_t k = 0; k < TC_ARRAY_LEN(aliases); k++) {
        if (strlen(aliases[k][0]) == len && memcmp(s, aliases[k][0], len) == 0)
            return field_walk_run(aliases[k][1], strlen(aliases[k][1]), UINT32_MAX).found;
    }
    int found = field_walk_run(s, len, UINT32_MAX).found;
    if (found >= 0 || len > 60)
        return found;
    char with_ms[64];
    snprintf(with_ms, sizeof(with_ms), "%.*s_ms", (int)len, s);
    return field_walk_run(with_ms, strlen(with_ms), UINT32_MAX).found;
}

/* ------------------------------------------------------------------------------------------ */
/* Free and copy                                                                               */

void tc_scn_free(tc_scn *s)
{
    if (s == NULL)
        return;
    free(s->overrides);
    free(s->tiers);
    free(s->links);
    free(s->clocks);
    free(s->byz);
    free(s->events);
    free(s->expects);
    free(s->members);
    memset(s, 0, sizeof(*s));
}

/* A copy of n elements of size elem (NULL for none). */
static bool dup_array(void **dst, const void *src, uint32_t n, size_t elem)
{
    *dst = NULL;
    if (n == 0)
        return true;
    *dst = malloc((size_t)n * elem);
    if (*dst != NULL)
        memcpy(*dst, src, (size_t)n * elem);
    return *dst != NULL;
}

#define DUP(field, count)                                                                          \
    dup_array((void **)&dst->field, src->field, src->count, sizeof(*src->field))

int tc_scn_copy(tc_scn *dst, const tc_scn *src)
{
    TC_ASSERT(dst != NULL && src != NULL && dst != src);
    *dst = *src;
    bool ok = DUP(overrides, override_count);
    ok = DUP(tiers, tier_count) && ok;
    ok = DUP(links, link_count) && ok;
    ok = DUP(clocks, clock_count) && ok;
    ok = DUP(byz, byz_count) && ok;
    ok = DUP(events, event_count) && ok;
    ok = DUP(expects, expect_count) && ok;
    ok = DUP(members, member_count) && ok;
    if (!ok) {
        tc_scn_free(dst);
        return TC_ENOMEM;
    }
    return 0;
}
#undef DUP

/* ------------------------------------------------------------------------------------------ */
/* Nodes and endpoints                                                                         */

void tc_scn_node_name(tc_scn_node node, char out[TC_SCN_NODE_NAME_MAX])
{
    TC_ASSERT(node.kind <= TC_SCN_TWIN);
    snprintf(out, TC_SCN_NODE_NAME_MAX, "%c%" PRIu32 "%s", node.kind == TC_SCN_FULLNODE ? 'f' : 'n',
             node.index, node.kind == TC_SCN_TWIN ? "b" : "");
}

bool tc_scn_node_equal(tc_scn_node a, tc_scn_node b)
{
    return a.kind == b.kind && a.index == b.index;
}

static uint32_t registered_count(const tc_scn *s)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < s->event_count; k++)
        n += s->events[k].kind == TC_SCN_EV_REGISTER ? 1 : 0;
    return n;
}

static bool has_twin(const tc_scn *s, uint32_t index)
{
    for (uint32_t k = 0; k < s->byz_count; k++) {
        if (s->byz[k].kind == TC_SCN_BYZ_TWIN && s->byz[k].node.index == index)
            return true;
    }
    return false;
}

uint32_t tc_scn_endpoint_count(const tc_scn *s)
{
    TC_ASSERT(s != NULL);
    uint32_t twins = 0;
    for (uint32_t k = 0; k < s->byz_count; k++)
        twins += s->byz[k].kind == TC_SCN_BYZ_TWIN ? 1 : 0;
    return s->node_count + registered_count(s) + s->fullnode_count + twins;
}

int tc_scn_endpoint(const tc_scn *s, tc_scn_node node, uint32_t *out)
{
    TC_ASSERT(s != NULL && out != NULL);
    uint32_t validators = s->node_count + registered_count(s);
    if (node.kind == TC_SCN_VALIDATOR && node.index < validators) {
        *out = node.index;
        return 0;
    }
    if (node.kind == TC_SCN_FULLNODE && node.index < s->fullnode_count) {
        *out = validators + node.index;
        return 0;
    }
    if (node.kind != TC_SCN_TWIN || node.index >= s->node_count || !has_twin(s, node.index))
        return TC_ENOTFOUND;
    uint32_t rank = 0; /* twins before this one, by base index */
    for (uint32_t k = 0; k < node.index; k++)
        rank += has_twin(s, k) ? 1 : 0;
    *out = validators + s->fullnode_count + rank;
    return 0;
}

tc_scn_node tc_scn_endpoint_node(const tc_scn *s, uint32_t endpoint)
{
    TC_ASSERT(s != NULL);
    TC_ASSERT(endpoint < tc_scn_endpoint_count(s));
    uint32_t validators = s->node_count + registered_count(s);
    if (endpoint < validators)
        return (tc_scn_node){TC_SCN_VALIDATOR, endpoint};
    if (endpoint < validators + s->fullnode_count)
        return (tc_scn_node){TC_SCN_FULLNODE, endpoint - validators};
    uint32_t rank = endpoint - validators - s->fullnode_count;
    for (uint32_t k = 0; k < s->node_count; k++) {
        if (has_twin(s, k) && rank-- == 0)
            return (tc_scn_node){TC_SCN_TWIN, k};
    }
    TC_ASSERT(false && "endpoint beyond the twins");
}

void tc_scn_link_params(const tc_scn *s, tc_scn_node from, tc_scn_node to, tc_net_link *out)
{
    TC_ASSERT(s != NULL && out != NULL);
    *out = s->net;
    for (uint32_t k = 0; k < s->link_count; k++) {
        const tc_scn_link *l = &s->links[k];
        bool forward = tc_scn_node_equal(l->a, from) && tc_scn_node_equal(l->b, to);
        bool backward = !l->oneway && tc_scn_node_equal(l->a, to) && tc_scn_node_equal(l->b, from);
        if (!forward && !backward)
            continue;
        const tc_net_link *p = &l->params;
        if (l->mask & TC_SCN_LINK_LATENCY)
            out->latency_ms = p->latency_ms;
        if (l->mask & TC_SCN_LINK_JITTER)
            out->jitter_ms = p->jitter_ms;
        if (l->mask & TC_SCN_LINK_LOSS)
            out->loss_ppm = p->loss_ppm;
        if (l->mask & TC_SCN_LINK_DUP)
            out->dup_ppm = p->dup_ppm;
        if (l->mask & TC_SCN_LINK_REORDER)
            out->reorder_ppm = p->reorder_ppm;
        if (l->mask & TC_SCN_LINK_BANDWIDTH)
            out->bandwidth_Bps = p->bandwidth_Bps;
        if (l->mask & TC_SCN_LINK_FLAP) {
            out->flap_up_ms = p->flap_up_ms;
            out->flap_down_ms = p->flap_down_ms;
        }
    }
    TC_ASSERT(tc_net_link_check(out) == 0);
}

uint32_t tc_scn_tier(const tc_scn *s, tc_scn_node node)
{
    TC_ASSERT(s != NULL);
    TC_ASSERT(node.kind != TC_SCN_FULLNODE);
    node.kind = TC_SCN_VALIDATOR; /* a twin is its base's masternode */
    for (uint32_t k = 0; k < s->tier_count; k++) {
        if (tc_scn_node_equal(s->tiers[k].node, node))
            return s->tiers[k].tier;
    }
    for (uint32_t k = 0; k < s->event_count; k++) {
        const tc_scn_event *ev = &s->events[k];
        if (ev->kind == TC_SCN_EV_REGISTER && tc_scn_node_equal(ev->node, node))
            return ev->tier;
    }
    return TC_TIER_BRONZE;
}

/* ------------------------------------------------------------------------------------------ */
/* Equality                                                                                    */

static bool link_params_equal(const tc_net_link *a, const tc_net_link *b)
{
    return a->latency_ms == b->latency_ms && a->jitter_ms == b->jitter_ms &&
           a->loss_ppm == b->loss_ppm && a->dup_ppm == b->dup_ppm &&
           a->reorder_ppm == b->reorder_ppm && a->flap_up_ms == b->flap_up_ms &&
           a->flap_down_ms == b->flap_down_ms && a->bandwidth_Bps == b->bandwidth_Bps;
}

static bool span_equal(const tc_scn *a, tc_scn_span sa, const tc_scn *b, tc_scn_span sb)
{
    if (sa.count != sb.count)
        return false;
    for (uint32_t k = 0; k < sa.count; k++) {
        const tc_scn_member *ma = &a->members[sa.first + k];
        const tc_scn_member *mb = &b->members[sb.first + k];
        if (!tc_scn_node_equal(ma->node, mb->node) || ma->group != mb->group)
            return false;
    }
    return true;
}

static bool event_equal(const tc_scn *a, const tc_scn_event *x, const tc_scn *b,
                        const tc_scn_event *y)
{
    return x->at_ms == y->at_ms && x->kind == y->kind && tc_scn_node_equal(x->node, y->node) &&
           x->lose_writes == y->lose_writes && x->oneway == y->oneway &&
           x->duration_ms == y->duration_ms && x->jump_ms == y->jump_ms && x->byz == y->byz &&
           x->flood_per_s == y->flood_per_s && x->tier == y->tier &&
           x->rate_per_s == y->rate_per_s && span_equal(a, x->members, b, y->members) &&
           tc_scn_node_equal(x->peer, y->peer) && x->link_mask == y->link_mask &&
           link_params_equal(&x->link, &y->link);
}

static bool expect_equal(const tc_scn *a, const tc_scn_expect *x, const tc_scn *b,
                         const tc_scn_expect *y)
{
    return x->kind == y->kind && x->cmp == y->cmp && x->value == y->value &&
           x->quantile_ppm == y->quantile_ppm && x->after_heal == y->after_heal &&
           x->within_ms == y->within_ms && x->after_ms == y->after_ms &&
           tc_scn_node_equal(x->node, y->node) && span_equal(a, x->members, b, y->members);
}

static bool setup_lists_equal(const tc_scn *a, const tc_scn *b)
{
    bool eq = a->override_count == b->override_count && a->tier_count == b->tier_count &&
              a->link_count == b->link_count && a->clock_count == b->clock_count &&
              a->byz_count == b->byz_count;
    for (uint32_t k = 0; eq && k < a->override_count; k++)
        eq = a->overrides[k].field == b->overrides[k].field &&
             a->overrides[k].value == b->overrides[k].value;
    for (uint32_t k = 0; eq && k < a->tier_count; k++)
        eq = tc_scn_node_equal(a->tiers[k].node, b->tiers[k].node) &&
             a->tiers[k].tier == b->tiers[k].tier;
    for (uint32_t k = 0; eq && k < a->link_count; k++) {
        const tc_scn_link *x = &a->links[k], *y = &b->links[k];
        eq = tc_scn_node_equal(x->a, y->a) && tc_scn_node_equal(x->b, y->b) &&
             x->oneway == y->oneway && x->mask == y->mask &&
             link_params_equal(&x->params, &y->params);
    }
    for (uint32_t k = 0; eq && k < a->clock_count; k++)
        eq = tc_scn_node_equal(a->clocks[k].node, b->clocks[k].node) &&
             a->clocks[k].offset_ms == b->clocks[k].offset_ms &&
             a->clocks[k].drift_ppm == b->clocks[k].drift_ppm;
    for (uint32_t k = 0; eq && k < a->byz_count; k++)
        eq = tc_scn_node_equal(a->byz[k].node, b->byz[k].node) &&
             a->byz[k].kind == b->byz[k].kind && a->byz[k].flood_per_s == b->byz[k].flood_per_s;
    return eq;
}

bool tc_scn_equal(const tc_scn *a, const tc_scn *b)
{
    TC_ASSERT(a != NULL && b != NULL);
    bool eq = strcmp(a->name, b->name) == 0 && a->seed == b->seed && a->network == b->network &&
              a->node_count == b->node_count && a->fullnode_count == b->fullnode_count &&
              link_params_equal(&a->net, &b->net) && a->storage == b->storage &&
              a->crypto == b->crypto && a->load_per_s == b->load_per_s &&
              a->load_clients == b->load_clients && a->double_spend_ppm == b->double_spend_ppm &&
              a->chaos_faults == b->chaos_faults && a->chaos_heal_by_ms == b->chaos_heal_by_ms &&
              a->chaos_kinds == b->chaos_kinds && a->run_ms == b->run_ms &&
              a->event_count == b->event_count && a->expect_count == b->expect_count &&
              setup_lists_equal(a, b);
    for (uint32_t k = 0; eq && k < a->event_count; k++)
        eq = event_equal(a, &a->events[k], b, &b->events[k]);
    for (uint32_t k = 0; eq && k < a->expect_count; k++)
        eq = expect_equal(a, &a->expects[k], b, &b->expects[k]);
    return eq;
}
