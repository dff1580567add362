/* scenario_check.c — stage two of the `.scn` parser (scenario_internal.h): the checks that need
 * the whole scenario, because some facts are only known at the end: how many nodes there are,
 * which nodes are twins, when a registered validator appears (events are sorted first), whether
 * a restart follows a crash, whether the profile overrides are consistent. It reports the error
 * that comes first in the file among the ones it finds.
 */
#include "scenario_internal.h"

/* ------------------------------------------------------------------------------------------ */
/* Stage two: checks over the whole scenario                                                   */

/* Stable merge sort of the events by time: events at one time keep their file order. */
static int sort_events(parser *p)
{
    tc_scn *s = p->s;
    uint32_t n = s->event_count;
    if (n < 2)
        return 0;
    tc_scn_event *tmp = malloc((size_t)n * sizeof(*tmp));
    if (tmp == NULL)
        return scn_out_of_memory(p);
    for (uint32_t width = 1; width < n; width *= 2) {
        for (uint32_t lo = 0; lo < n; lo += 2 * width) {
            uint32_t mid = lo + width < n ? lo + width : n;
            uint32_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            uint32_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi) /* <= takes the left (earlier in file) on ties */
                tmp[o++] =
                    s->events[a].at_ms <= s->events[b].at_ms ? s->events[a++] : s->events[b++];
            while (a < mid)
                tmp[o++] = s->events[a++];
            while (b < hi)
                tmp[o++] = s->events[b++];
        }
        memcpy(s->events, tmp, (size_t)n * sizeof(*tmp));
    }
    free(tmp);
    for (uint32_t k = 1; k < n; k++)
        TC_ASSERT(s->events[k - 1].at_ms <= s->events[k].at_ms);
    return 0;
}

/* Scope of a node mention: the setup, event k (sorted index), or the expectations. */
#define AT_SETUP  (UINT32_MAX - 1)
#define AT_EXPECT UINT32_MAX

typedef enum { NEED_ANY, NEED_VALIDATOR, NEED_NOT_TWIN } need;

/* "n0..n3, n4 (registered), f0..f1, n2b" */
static void nodes_text(const parser *p, char *buf, size_t size)
{
    const tc_scn *s = p->s;
    size_t used = 0;
    used +=
        (size_t)snprintf(buf, size, s->node_count == 1 ? "n0" : "n0..n%" PRIu32, s->node_count - 1);
    if (p->reg_count > 0 && used < size)
        used +=
            (size_t)snprintf(buf + used, size - used, ", n%" PRIu32 "..n%" PRIu32 " (registered)",
                             s->node_count, s->node_count + p->reg_count - 1);
    if (s->fullnode_count > 0 && used < size)
        used += (size_t)snprintf(buf + used, size - used, ", f0..f%" PRIu32, s->fullnode_count - 1);
    uint32_t twins = 0;
    for (uint32_t k = 0; k < s->node_count && used < size; k++) {
        if (p->twin_of[k] && twins++ < 4)
            used += (size_t)snprintf(buf + used, size - used, ", n%" PRIu32 "b", k);
    }
    if (twins > 4 && used < size)
        snprintf(buf + used, size - used, ", ...");
}

static bool node_exists(parser *p, tc_scn_node node, uint32_t line, uint32_t col, uint32_t scope,
                        const char *got)
{
    const tc_scn *s = p->s;
    bool exists = node.kind == TC_SCN_FULLNODE ? node.index < s->fullnode_count
                  : node.kind == TC_SCN_TWIN ? node.index < s->node_count && p->twin_of[node.index]
                                             : node.index < s->node_count;
    if (!exists && node.kind == TC_SCN_VALIDATOR && node.index - s->node_count < p->reg_count) {
        const tc_scn_event *reg = &s->events[p->reg_event[node.index - s->node_count]];
        char when[32];
        scn_fmt_duration(when, sizeof(when), (int64_t)reg->at_ms, false);
        if (scope == AT_SETUP)
            scn_report(p, line, col, got, "a validator of the setup (%s registers at %s)", got,
                       when);
        else if (scope != AT_EXPECT && p->reg_event[node.index - s->node_count] >= scope)
            scn_report(p, line, col, got, "a node that exists at this time (%s registers at %s)",
                       got, when);
        else
            exists = true;
        return exists;
    }
    if (!exists) {
        char list[200];
        nodes_text(p, list, sizeof(list));
        scn_report(p, line, col, got, "a node of this scenario (%s)", list);
    }
    return exists;
}

/* Whether a mentioned node exists in its scope and is of the kind needed; reports if not. */
static bool check_node(parser *p, tc_scn_node node, uint32_t line, uint32_t col, need nd,
                       uint32_t scope)
{
    char name[TC_SCN_NODE_NAME_MAX];
    char got[TC_SCN_NODE_NAME_MAX + 2];
    tc_scn_node_name(node, name);
    snprintf(got, sizeof(got), "`%s`", name);
    if (!node_exists(p, node, line, col, scope, got))
        return false;
    if (nd == NEED_VALIDATOR && node.kind != TC_SCN_VALIDATOR) {
        scn_report(p, line, col, got, "a validator (nK)");
        return false;
    }
    if (nd == NEED_NOT_TWIN && node.kind == TC_SCN_TWIN) {
        scn_report(p, line, col, got, "a validator or a fullnode (not a twin)");
        return false;
    }
    return true;
}

static void check_span(parser *p, tc_scn_span span, need nd, uint32_t scope)
{
    for (uint32_t k = span.first; k < span.first + span.count; k++) {
        const tc_scn_member *m = &p->s->members[k];
        check_node(p, m->node, m->line, m->column, nd, scope);
    }
}

static need byz_need(uint32_t kind)
{
    bool voting =
        kind == TC_SCN_BYZ_EQUIVOCATE || kind == TC_SCN_BYZ_DOUBLE_VOTE || kind == TC_SCN_BYZ_TWIN;
    return voting ? NEED_VALIDATOR : NEED_NOT_TWIN;
}

/* Registrations name n{node_count}, n{node_count+1}, ... in time order; twins come from the
 * setup. Both must be known before any mention is checked. */
static void collect_new_nodes(parser *p)
{
    const tc_scn *s = p->s;
    for (uint32_t k = 0; k < s->event_count; k++) {
        const tc_scn_event *ev = &s->events[k];
        if (ev->kind != TC_SCN_EV_REGISTER)
            continue;
        uint32_t want = s->node_count + p->reg_count;
        char name[TC_SCN_NODE_NAME_MAX], got[TC_SCN_NODE_NAME_MAX + 2];
        tc_scn_node_name(ev->node, name);
        snprintf(got, sizeof(got), "`%s`", name);
        if (ev->node.index != want)
            scn_report(p, ev->line, ev->node_column, got, "n%" PRIu32 " (the next new validator)",
                       want);
        else
            p->reg_event[p->reg_count++] = k;
    }
    for (uint32_t k = 0; k < s->byz_count; k++) {
        const tc_scn_byz *b = &s->byz[k];
        if (b->kind == TC_SCN_BYZ_TWIN && b->node.kind == TC_SCN_VALIDATOR &&
            b->node.index < s->node_count)
            p->twin_of[b->node.index] = true;
    }
}

static void check_setup_nodes(parser *p)
{
    const tc_scn *s = p->s;
    for (uint32_t k = 0; k < s->tier_count; k++)
        check_node(p, s->tiers[k].node, s->tiers[k].line, s->tiers[k].column, NEED_VALIDATOR,
                   AT_SETUP);
    for (uint32_t k = 0; k < s->link_count; k++) {
        const tc_scn_link *l = &s->links[k];
        check_node(p, l->a, l->line, l->column, NEED_ANY, AT_SETUP);
        check_node(p, l->b, l->line, l->column_b, NEED_ANY, AT_SETUP);
    }
    for (uint32_t k = 0; k < s->clock_count; k++)
        check_node(p, s->clocks[k].node, s->clocks[k].line, s->clocks[k].column, NEED_ANY,
                   AT_SETUP);
    for (uint32_t k = 0; k < s->byz_count; k++)
        check_node(p, s->byz[k].node, s->byz[k].line, s->byz[k].column, byz_need(s->byz[k].kind),
                   AT_SETUP);
}

/* `500ms` for messages. */
static void quoted_duration(char *buf, size_t size, uint64_t ms)
{
    char text[32];
    scn_fmt_duration(text, sizeof(text), (int64_t)ms, false);
    snprintf(buf, size, "`%s`", text);
}

/* Crash and restart alternate per node, starting from running. */
static void check_crash_state(parser *p, const tc_scn_event *ev)
{
    TC_ASSERT(ev->kind == TC_SCN_EV_CRASH || ev->kind == TC_SCN_EV_RESTART);
    TC_ASSERT(ev->node.kind <= TC_SCN_TWIN && ev->node.index < TC_SCN_NODES_MAX);
    uint32_t *crashed = &p->crashed[ev->node.kind][ev->node.index];
    char name[TC_SCN_NODE_NAME_MAX], got[64];
    tc_scn_node_name(ev->node, name);
    if (ev->kind == TC_SCN_EV_CRASH && *crashed != 0) {
        snprintf(got, sizeof(got), "`%s` (crashed at line %" PRIu32 ")", name, *crashed);
        scn_report(p, ev->line, ev->node_column, got, "a running node");
    } else if (ev->kind == TC_SCN_EV_RESTART && *crashed == 0) {
        snprintf(got, sizeof(got), "`%s` (running)", name);
        scn_report(p, ev->line, ev->node_column, got, "a crashed node");
    }
    *crashed = ev->kind == TC_SCN_EV_CRASH ? ev->line : 0;
}

static void check_events(parser *p)
{
    const tc_scn *s = p->s;
    for (uint32_t k = 0; k < s->event_count; k++) {
        const tc_scn_event *ev = &s->events[k];
        if (ev->at_ms > s->run_ms) {
            char got[40], run[32];
            quoted_duration(got, sizeof(got), ev->at_ms);
            scn_fmt_duration(run, sizeof(run), (int64_t)s->run_ms, false);
            scn_report(p, ev->line, ev->column, got, "a time within `run %s`", run);
        }
        switch (ev->kind) {
        case TC_SCN_EV_PARTITION:
            check_span(p, ev->members, NEED_ANY, k);
            break;
        case TC_SCN_EV_BYZANTINE:
            check_node(p, ev->node, ev->line, ev->node_column, byz_need(ev->byz), k);
            break;
        case TC_SCN_EV_CRASH:
        case TC_SCN_EV_RESTART:
            if (check_node(p, ev->node, ev->line, ev->node_column, NEED_ANY, k))
                check_crash_state(p, ev);
            break;
        case TC_SCN_EV_PAUSE:
        case TC_SCN_EV_CLOCK_JUMP:
            check_node(p, ev->node, ev->line, ev->node_column, NEED_ANY, k);
            break;
        case TC_SCN_EV_LINK:
            if (check_node(p, ev->node, ev->line, ev->node_column, NEED_ANY, k))
                check_node(p, ev->peer, ev->line, ev->peer_column, NEED_ANY, k);
            break;
        default: /* heal, load: no node; register: collect_new_nodes */
            break;
        }
    }
}

static void check_expects(parser *p)
{
    const tc_scn *s = p->s;
    for (uint32_t k = 0; k < s->expect_count; k++) {
        const tc_scn_expect *e = &s->expects[k];
        if (e->kind == TC_SCN_EXP_BANNED)
            check_node(p, e->node, e->line, e->node_column, NEED_ANY, AT_EXPECT);
        if (e->kind == TC_SCN_EXP_ONLINE || e->kind == TC_SCN_EXP_OFFLINE)
            check_node(p, e->node, e->line, e->node_column, NEED_VALIDATOR, AT_EXPECT);
        check_span(p, e->members, e->kind == TC_SCN_EXP_CULPRITS ? NEED_VALIDATOR : NEED_ANY,
                   AT_EXPECT);
    }
}

static void check_bounds(parser *p)
{
    const tc_scn *s = p->s;
    uint32_t twins = 0;
    for (uint32_t k = 0; k < s->node_count; k++)
        twins += p->twin_of[k] ? 1 : 0;
    uint32_t total = s->node_count + p->reg_count + s->fullnode_count + twins;
    if (total > TC_SCN_NODES_MAX) {
        char got[48];
        snprintf(got, sizeof(got), "%" PRIu32, total);
        scn_report(p, p->seen[ONCE_NODES], p->nodes_col, got,
                   "at most %d nodes in all (validators, registered, fullnodes, twins)",
                   TC_SCN_NODES_MAX);
    }
    if (s->chaos_heal_by_ms > s->run_ms) {
        char got[40], run[32];
        quoted_duration(got, sizeof(got), s->chaos_heal_by_ms);
        scn_fmt_duration(run, sizeof(run), (int64_t)s->run_ms, false);
        scn_report(p, p->chaos_line, p->chaos_col, got, "a heal-by time within `run %s`", run);
    }
}

/* Applies the overrides to the network's defaults. tc_profile_set checks the profile's
 * invariants after each field, so a valid set of overrides can fail in one order and pass in
 * another (raise a maximum before its minimum): apply in passes until no more succeed. The
 * overrides are sorted by field first, so the outcome never depends on file order. */
static void derive_profile(parser *p)
{
    tc_scn *s = p->s;
    for (uint32_t a = 1; a < s->override_count; a++) {
        for (uint32_t b = a; b > 0 && s->overrides[b - 1].field > s->overrides[b].field; b--) {
            tc_scn_override t = s->overrides[b];
            s->overrides[b] = s->overrides[b - 1];
            s->overrides[b - 1] = t;
        }
    }
    tc_profile_get(&s->profile, (tc_network)s->network);
    bool done[256] = {false};
    TC_ASSERT(s->override_count <= TC_ARRAY_LEN(done)); /* one per field at most */
    bool progress = true;
    while (progress) {
        progress = false;
        for (uint32_t k = 0; k < s->override_count; k++) {
            const tc_scn_override *o = &s->overrides[k];
            if (!done[k] && tc_profile_set(&s->profile, scn_field_name(o->field), o->value) == 0)
                done[k] = progress = true;
        }
    }
    for (uint32_t k = 0; k < s->override_count; k++) {
        const tc_scn_override *o = &s->overrides[k];
        if (done[k])
            continue;
        char value[40], got[44];
        if (scn_field_is_ms(o->field))
            scn_fmt_duration(value, sizeof(value), (int64_t)o->value, false);
        else
            snprintf(value, sizeof(value), "%" PRIu64, o->value);
        snprintf(got, sizeof(got), "`%s`", value);
        scn_report(p, o->line, o->column, got, "a value %s can take (in range, profile consistent)",
                   scn_field_name(o->field));
    }
}

int scn_finish(parser *p)
{
    if (p->seen[ONCE_NODES] == 0)
        return scn_report(p, p->eof_line, p->eof_col, "end of file", "a `nodes` statement");
    if (p->seen[ONCE_RUN] == 0)
        return scn_report(p, p->eof_line, p->eof_col, "end of file", "a `run` statement");
    int rc = sort_events(p);
    if (rc != 0)
        return rc;
    collect_new_nodes(p);
    check_setup_nodes(p);
    check_events(p);
    check_expects(p);
    check_bounds(p);
    derive_profile(p);
    return p->failed ? TC_EINVAL : 0;
}
