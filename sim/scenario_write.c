/* scenario_write.c — the canonical writer (tc_scn_write, scenario.h): a model back into `.scn`
 * text that parses to an equal model, in one canonical form (statement order, units, spacing).
 */
#include "scenario_internal.h"

/* ------------------------------------------------------------------------------------------ */
/* Canonical writer                                                                            */

static void put_duration(FILE *f, const char *before, int64_t ms, bool sign)
{
    char buf[40];
    scn_fmt_duration(buf, sizeof(buf), ms, sign);
    fprintf(f, "%s%s", before, buf);
}

static void put_percent(FILE *f, const char *before, uint32_t ppm)
{
    char buf[24];
    scn_fmt_percent(buf, sizeof(buf), ppm);
    fprintf(f, "%s%s", before, buf);
}

static void put_node(FILE *f, tc_scn_node node)
{
    char name[TC_SCN_NODE_NAME_MAX];
    tc_scn_node_name(node, name);
    fprintf(f, " %s", name);
}

/* The members of span; a change of group is written as `|` (or `->` when oneway). */
static void put_members(FILE *f, const tc_scn *s, tc_scn_span span, bool oneway)
{
    TC_ASSERT(span.first <= s->member_count && span.count <= s->member_count - span.first);
    for (uint32_t k = span.first; k < span.first + span.count; k++) {
        if (k > span.first && s->members[k].group != s->members[k - 1].group)
            fprintf(f, oneway ? " ->" : " |");
        put_node(f, s->members[k].node);
    }
}

static void put_bandwidth(FILE *f, uint64_t bps)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {{"GB/s", 1000000000}, {"MB/s", 1000000}, {"kB/s", 1000}, {"B/s", 1}};
    if (bps == 0) {
        fprintf(f, " bandwidth unlimited");
        return;
    }
    for (size_t k = 0; k < TC_ARRAY_LEN(units); k++) {
        if (bps % units[k].mult == 0) {
            fprintf(f, " bandwidth %" PRIu64 "%s", bps / units[k].mult, units[k].suffix);
            return;
        }
    }
}

static void put_link_options(FILE *f, const tc_net_link *l, uint32_t mask)
{
    if (mask & TC_SCN_LINK_LATENCY)
        put_duration(f, " latency ", l->latency_ms, false);
    if (mask & TC_SCN_LINK_JITTER)
        put_duration(f, " jitter ", l->jitter_ms, false);
    if (mask & TC_SCN_LINK_LOSS)
        put_percent(f, " loss ", l->loss_ppm);
    if (mask & TC_SCN_LINK_DUP)
        put_percent(f, " dup ", l->dup_ppm);
    if (mask & TC_SCN_LINK_REORDER)
        put_percent(f, " reorder ", l->reorder_ppm);
    if (mask & TC_SCN_LINK_BANDWIDTH)
        put_bandwidth(f, l->bandwidth_Bps);
    if ((mask & TC_SCN_LINK_FLAP) && l->flap_down_ms == 0)
        fprintf(f, " flap off");
    if ((mask & TC_SCN_LINK_FLAP) && l->flap_down_ms != 0) {
        put_duration(f, " flap ", l->flap_up_ms, false);
        put_duration(f, " ", l->flap_down_ms, false);
    }
    fprintf(f, "\n");
}

/* TC_SCN_LINK_* bits of the fields where l differs from the defaults. */
static uint32_t link_diff(const tc_net_link *l)
{
    tc_net_link d;
    tc_net_link_defaults(&d);
    return (l->latency_ms != d.latency_ms ? TC_SCN_LINK_LATENCY : 0) |
           (l->jitter_ms != d.jitter_ms ? TC_SCN_LINK_JITTER : 0) |
           (l->loss_ppm != d.loss_ppm ? TC_SCN_LINK_LOSS : 0) |
           (l->dup_ppm != d.dup_ppm ? TC_SCN_LINK_DUP : 0) |
           (l->reorder_ppm != d.reorder_ppm ? TC_SCN_LINK_REORDER : 0) |
           (l->bandwidth_Bps != d.bandwidth_Bps ? TC_SCN_LINK_BANDWIDTH : 0) |
           (l->flap_up_ms != d.flap_up_ms || l->flap_down_ms != d.flap_down_ms ? TC_SCN_LINK_FLAP
                                                                               : 0);
}

static void put_header(FILE *f, const tc_scn *s)
{
    if (s->name[0] != 0) {
        fprintf(f, "scenario \"");
        for (const char *c = s->name; *c != 0; c++)
            fprintf(f, "%s%c", *c == '"' || *c == '\\' ? "\\" : "", *c);
        fprintf(f, "\"\n");
    }
    fprintf(f, "seed %" PRIu64 "\n", s->seed);
    fprintf(f, "profile %s", scn_network_names[s->network]);
    for (uint32_t k = 0; k < s->override_count; k++) {
        const tc_scn_override *o = &s->overrides[k];
        fprintf(f, " %s ", scn_field_name(o->field));
        if (scn_field_is_ms(o->field))
            put_duration(f, "", (int64_t)o->value, false);
        else
            fprintf(f, "%" PRIu64, o->value);
    }
    fprintf(f, "\nnodes %" PRIu32 "\n", s->node_count);
    if (s->fullnode_count != 0)
        fprintf(f, "fullnodes %" PRIu32 "\n", s->fullnode_count);
    for (uint32_t k = 0; k < s->tier_count; k++) {
        fprintf(f, "tier");
        put_node(f, s->tiers[k].node);
        fprintf(f, " %s\n", scn_tier_names[s->tiers[k].tier]);
    }
}

static void put_setup(FILE *f, const tc_scn *s)
{
    put_header(f, s);
    if (link_diff(&s->net) != 0) {
        fprintf(f, "network");
        put_link_options(f, &s->net, link_diff(&s->net));
    }
    for (uint32_t k = 0; k < s->link_count; k++) {
        const tc_scn_link *l = &s->links[k];
        fprintf(f, "link");
        put_node(f, l->a);
        fprintf(f, "%s", l->oneway ? " ->" : "");
        put_node(f, l->b);
        put_link_options(f, &l->params, l->mask);
    }
    for (uint32_t k = 0; k < s->clock_count; k++) {
        fprintf(f, "clock");
        put_node(f, s->clocks[k].node);
        put_duration(f, " offset ", s->clocks[k].offset_ms, true);
        fprintf(f, " drift %s%" PRId32 "ppm\n", s->clocks[k].drift_ppm >= 0 ? "+" : "",
                s->clocks[k].drift_ppm);
    }
    if (s->storage != TC_SCN_STORAGE_MEM)
        fprintf(f, "storage %s\n", scn_storage_names[s->storage]);
    if (s->crypto != TC_SCN_CRYPTO_ED25519)
        fprintf(f, "crypto %s\n", scn_crypto_names[s->crypto]);
    if (s->load_per_s != 0 || s->load_clients != 16 || s->double_spend_ppm != 0) {
        fprintf(f, "load %" PRIu32 "/s clients %" PRIu32, s->load_per_s, s->load_clients);
        put_percent(f, " double-spend ", s->double_spend_ppm);
        fprintf(f, "\n");
    }
    for (uint32_t k = 0; k < s->byz_count; k++) {
        fprintf(f, "byzantine");
        put_node(f, s->byz[k].node);
        fprintf(f, " %s", scn_byz_names[s->byz[k].kind]);
        if (s->byz[k].kind == TC_SCN_BYZ_FLOOD)
            fprintf(f, " %" PRIu32 "/s", s->byz[k].flood_per_s);
        fprintf(f, "\n");
    }
    if (s->chaos_faults != 0 || s->chaos_heal_by_ms != 0 || s->chaos_kinds != 0) {
        fprintf(f, "chaos faults %" PRIu32, s->chaos_faults);
        if (s->chaos_heal_by_ms != 0)
            put_duration(f, " heal-by ", (int64_t)s->chaos_heal_by_ms, false);
        if (s->chaos_kinds != 0)
            fprintf(f, " kinds");
        for (uint32_t k = 0; k < 8; k++)
            if (s->chaos_kinds & (1u << k))
                fprintf(f, " %s", scn_chaos_kind_names[k]);
        fprintf(f, "\n");
    }
}

static void put_event(FILE *f, const tc_scn *s, const tc_scn_event *ev)
{
    put_duration(f, "at ", (int64_t)ev->at_ms, false);
    fprintf(f, " %s", scn_event_names[ev->kind]);
    switch (ev->kind) {
    case TC_SCN_EV_PARTITION:
        put_members(f, s, ev->members, ev->oneway);
        break;
    case TC_SCN_EV_HEAL:
        break;
    case TC_SCN_EV_LOAD:
        fprintf(f, " %" PRIu32 "/s", ev->rate_per_s);
        break;
    case TC_SCN_EV_LINK:
        put_node(f, ev->node);
        fprintf(f, "%s", ev->oneway ? " ->" : "");
        put_node(f, ev->peer);
        put_link_options(f, &ev->link, ev->link_mask); /* ends the line */
        return;
    default:
        put_node(f, ev->node);
        break;
    }
    if (ev->kind == TC_SCN_EV_CRASH && ev->lose_writes)
        fprintf(f, " lose-writes");
    if (ev->kind == TC_SCN_EV_PAUSE)
        put_duration(f, " ", (int64_t)ev->duration_ms, false);
    if (ev->kind == TC_SCN_EV_CLOCK_JUMP)
        put_duration(f, " jump ", ev->jump_ms, true);
    if (ev->kind == TC_SCN_EV_BYZANTINE)
        fprintf(f, " %s", scn_byz_names[ev->byz]);
    if (ev->kind == TC_SCN_EV_BYZANTINE && ev->byz == TC_SCN_BYZ_FLOOD)
        fprintf(f, " %" PRIu32 "/s", ev->flood_per_s);
    if (ev->kind == TC_SCN_EV_REGISTER)
        fprintf(f, " %s", scn_tier_names[ev->tier]);
    fprintf(f, "\n");
}

static void put_quantile(FILE *f, uint32_t ppm)
{
    if (ppm == TC_SCN_PPM) {
        fprintf(f, " max");
        return;
    }
    char digits[8];
    snprintf(digits, sizeof(digits), "%06" PRIu32, ppm);
    size_t n = 6;
    while (n > 2 && digits[n - 1] == '0')
        n--;
    fprintf(f, " p%.*s", (int)n, digits);
}

static void put_expect(FILE *f, const tc_scn *s, const tc_scn_expect *e)
{
    fprintf(f, "expect %s", scn_expect_names[e->kind]);
    switch (e->kind) {
    case TC_SCN_EXP_HEIGHT:
    case TC_SCN_EXP_VIEW_CHANGES:
        fprintf(f, " %s %" PRIu64, scn_cmp_names[e->cmp], e->value);
        if (e->members.count > 0)
            fprintf(f, " on");
        break;
    case TC_SCN_EXP_FINALITY:
        put_quantile(f, e->quantile_ppm);
        put_duration(f, " <= ", (int64_t)e->value, false);
        break;
    case TC_SCN_EXP_LIVENESS:
        put_duration(f, " within ", (int64_t)e->within_ms, false);
        if (e->after_heal)
            fprintf(f, " after heal");
        else
            put_duration(f, " after ", (int64_t)e->after_ms, false);
        break;
    case TC_SCN_EXP_CLOCK_STOPS:
        fprintf(f, " %s %" PRIu64, scn_cmp_names[e->cmp], e->value);
        break;
    case TC_SCN_EXP_BANNED:
    case TC_SCN_EXP_ONLINE:
    case TC_SCN_EXP_OFFLINE:
        put_node(f, e->node);
        fprintf(f, " by");
        break;
    case TC_SCN_EXP_STATE_SYNC:
        fprintf(f, " on");
        break;
    default: /* safety, fork, culprits, burned */
        break;
    }
    put_members(f, s, e->members, false);
    fprintf(f, "\n");
}

int tc_scn_write(FILE *f, const tc_scn *s)
{
    TC_ASSERT(f != NULL && s != NULL);
    TC_ASSERT(s->node_count > 0 && s->run_ms > 0);
    for (uint32_t k = 1; k < s->event_count; k++)
        TC_ASSERT(s->events[k - 1].at_ms <= s->events[k].at_ms);
    fprintf(f, "# scenario v1, canonical form\n");
    put_setup(f, s);
    if (s->event_count > 0)
        fprintf(f, "\n");
    for (uint32_t k = 0; k < s->event_count; k++)
        put_event(f, s, &s->events[k]);
    put_duration(f, "run ", (int64_t)s->run_ms, false);
    fprintf(f, "\n");
    if (s->expect_count > 0)
        fprintf(f, "\n");
    for (uint32_t k = 0; k < s->expect_count; k++)
        put_expect(f, s, &s->expects[k]);
    return ferror(f) ? TC_EINVAL : 0;
}
