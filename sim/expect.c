/* expect.c — the scenario's expectations, evaluated once at the end of a run, each with the
 * value it checked (STYLE rule 19), and the run's result.
 *
 * Finality latency of a transaction: from its submission by a wallet to the first TX_FINALIZED
 * notify of any honest node, in simulated ms. Quantiles use the nearest rank over an integer
 * sort. For `expect finality pQ <= T`, an uncontested accepted transaction that had T ms before
 * the end and is still not final counts as infinitely late (it was censored by nothing but the
 * system); one submitted in the last T ms without finality is left out.
 */
#include "world_internal.h"

#include <stdlib.h>
#include <string.h>

#include "mnreg.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least q of the sample at or below it. */
static uint64_t quantile(const uint64_t *sorted, uint64_t n, uint32_t q_ppm)
{
    TC_ASSERT(q_ppm <= TC_SCN_PPM);
    if (n == 0)
        return 0;
    uint64_t rank = (q_ppm * n + TC_SCN_PPM - 1) / TC_SCN_PPM;
    return sorted[rank == 0 ? 0 : rank - 1];
}

/* Latencies of the wallets' uncontested accepted transfers, sorted; with bound_ms != 0 the
 * censored ones (see above) are added as UINT64_MAX. *count_out = sample size. */
static uint64_t *latencies(tc_world *w, uint64_t bound_ms, uint64_t *count_out)
{
    const w_load *l = &w->load;
    uint64_t *v = malloc(((size_t)l->tx_count + 1) * sizeof(*v)), n = 0;
    if (v == NULL)
        return NULL;
    for (uint32_t i = 0; i < l->tx_cap; i++) {
        const w_tx *t = &l->txs[i];
        if (!t->used || t->contested || t->registration || t->code != 0)
            continue;
        if (t->final_ms != UINT64_MAX)
            v[n++] = t->final_ms - t->submit_ms;
        else if (bound_ms != 0 && !t->orphaned && t->submit_ms + bound_ms <= w->end_ms)
            v[n++] = UINT64_MAX;
    }
    qsort(v, n, sizeof(*v), cmp_u64);
    *count_out = n;
    return v;
}

static const char *cmp_text(uint32_t cmp)
{
    return cmp == TC_SCN_GE ? ">=" : cmp == TC_SCN_LE ? "<=" : "==";
}

static bool cmp_holds(uint32_t cmp, uint64_t v, uint64_t want)
{
    return cmp == TC_SCN_GE ? v >= want : cmp == TC_SCN_LE ? v <= want : v == want;
}

/* Appends " n0 n2" for a member list. */
static void members_text(const tc_world *w, tc_scn_span span, char *out, size_t size)
{
    size_t used = strlen(out);
    for (uint32_t k = 0; k < span.count && used < size; k++) {
        char name[TC_SCN_NODE_NAME_MAX];
        tc_scn_node_name(w->scn.members[span.first + k].node, name);
        used += (size_t)snprintf(out + used, size - used, " %s", name);
    }
}

static void quantile_name(uint32_t q, char out[16])
{
    if (q == TC_SCN_PPM)
        snprintf(out, 16, "max");
    else
        snprintf(out, 16, "p%u", q / 10000);
}

static void expect_text(const tc_world *w, const tc_scn_expect *x, char *out, size_t size)
{
    char q[16];
    switch (x->kind) {
    case TC_SCN_EXP_SAFETY:
        snprintf(out, size, "safety");
        break;
    case TC_SCN_EXP_FORK:
        snprintf(out, size, "fork");
        break;
    case TC_SCN_EXP_CULPRITS:
        snprintf(out, size, "culprits");
        members_text(w, x->members, out, size);
        break;
    case TC_SCN_EXP_HEIGHT:
        snprintf(out, size, "height %s %llu%s", cmp_text(x->cmp), (unsigned long long)x->value,
                 x->members.count ? " on" : "");
        members_text(w, x->members, out, size);
        break;
    case TC_SCN_EXP_VIEW_CHANGES:
        snprintf(out, size, "view-changes %s %llu", cmp_text(x->cmp), (unsigned long long)x->value);
        break;
    case TC_SCN_EXP_FINALITY:
        quantile_name(x->quantile_ppm, q);
        snprintf(out, size, "finality %s <= %llums", q, (unsigned long long)x->value);
        break;
    case TC_SCN_EXP_LIVENESS:
        if (x->after_heal)
            snprintf(out, size, "liveness within %llums after heal",
                     (unsigned long long)x->within_ms);
        else
            snprintf(out, size, "liveness within %llums after %llums",
                     (unsigned long long)x->within_ms, (unsigned long long)x->after_ms);
        break;
    case TC_SCN_EXP_BURNED:
        snprintf(out, size, "burned");
        members_text(w, x->members, out, size);
        break;
    case TC_SCN_EXP_FINAL_CONFIRMED:
        snprintf(out, size, "final-confirmed within %llums", (unsigned long long)x->within_ms);
        break;
    case TC_SCN_EXP_CARRIED_RESERVED:
        snprintf(out, size, "carried-reserved");
        break;
    case TC_SCN_EXP_CLOCK_STOPS:
        snprintf(out, size, "clock-stops %s %llu", cmp_text(x->cmp), (unsigned long long)x->value);
        break;
    case TC_SCN_EXP_STATE_SYNC:
        snprintf(out, size, "state-sync on");
        members_text(w, x->members, out, size);
        break;
    case TC_SCN_EXP_BANNED:
    case TC_SCN_EXP_ONLINE:
    case TC_SCN_EXP_OFFLINE: {
        char name[TC_SCN_NODE_NAME_MAX];
        tc_scn_node_name(x->node, name);
        snprintf(out, size, "%s %s by",
                 x->kind == TC_SCN_EXP_BANNED   ? "banned"
                 : x->kind == TC_SCN_EXP_ONLINE ? "online"
                                                : "offline",
                 name);
        members_text(w, x->members, out, size);
        break;
    }
    default:
        snprintf(out, size, "?");
    }
}

static uint32_t endpoint_of(const tc_world *w, tc_scn_node node)
{
    uint32_t e = UINT32_MAX;
    (void)tc_scn_endpoint(&w->scn, node, &e);
    return e;
}

static void eval_height(tc_world *w, const tc_scn_expect *x, tc_world_expect *r)
{
    uint64_t worst = UINT64_MAX;
    uint32_t who = UINT32_MAX, checked = 0;
    for (uint32_t e = 0; e < w->count; e++) {
        const w_node *n = &w->nodes[e];
        bool named = false;
        for (uint32_t k = 0; k < x->members.count; k++)
            named |= endpoint_of(w, w->scn.members[x->members.first + k].node) == e;
        if (x->members.count ? !named : (n->byzantine || n->node == NULL))
            continue;
        checked++;
        bool holds = cmp_holds(x->cmp, n->height, x->value);
        if (who == UINT32_MAX || (!holds && cmp_holds(x->cmp, worst, x->value)) ||
            (holds == cmp_holds(x->cmp, worst, x->value) && n->height < worst)) {
            worst = n->height;
            who = e;
        }
    }
    r->pass = checked > 0 && cmp_holds(x->cmp, worst, x->value);
    if (checked == 0)
        snprintf(r->value, sizeof(r->value), "no node to check");
    else
        snprintf(r->value, sizeof(r->value), "%s at height %llu (of %u nodes checked)",
                 w->nodes[who].name, (unsigned long long)worst, checked);
}

static void eval_finality(tc_world *w, const tc_scn_expect *x, tc_world_expect *r)
{
    uint64_t n = 0;
    uint64_t *v = latencies(w, x->value, &n);
    char q[16];
    quantile_name(x->quantile_ppm, q);
    if (v == NULL || n == 0) {
        r->pass = false;
        snprintf(r->value, sizeof(r->value), "no finalized transaction to measure");
    } else {
        uint64_t got = quantile(v, n, x->quantile_ppm);
        r->pass = got <= x->value;
        if (got == UINT64_MAX)
            snprintf(r->value, sizeof(r->value), "%s = never (of %llu txs)", q,
                     (unsigned long long)n);
        else
            snprintf(r->value, sizeof(r->value), "%s = %llu ms (of %llu txs)", q,
                     (unsigned long long)got, (unsigned long long)n);
    }
    free(v);
}

/* Heights from the probe window, and every uncontested transaction final within the window:
 * by max(submitted, start) + within. */
static void eval_liveness(tc_world *w, uint32_t k, const tc_scn_expect *x, tc_world_expect *r)
{
    const w_checks *c = &w->checks;
    uint64_t from = x->after_heal ? w->liveness_from_ms : x->after_ms, late = 0;
    if (c->probe_state[k] != 2) {
        r->pass = false;
        snprintf(r->value, sizeof(r->value), "the window %llu..%llu ms ends after the run",
                 (unsigned long long)from, (unsigned long long)(from + x->within_ms));
        return;
    }
    char first[17] = "";
    for (uint32_t i = 0; i < w->load.tx_cap; i++) {
        const w_tx *t = &w->load.txs[i];
        if (!t->used || t->contested || t->orphaned || t->code != 0)
            continue;
        uint64_t due = (t->submit_ms > from ? t->submit_ms : from) + x->within_ms;
        if (due <= w->end_ms && (t->final_ms == UINT64_MAX || t->final_ms > due) && late++ == 0)
            tc_hex(first, t->txid.b, 8);
    }
    r->pass = c->probe_ok[k] && late == 0;
    if (!c->probe_ok[k])
        snprintf(r->value, sizeof(r->value), "window from %llu ms: %s", (unsigned long long)from,
                 c->probe_detail[k]);
    else if (late > 0)
        snprintf(r->value, sizeof(r->value),
                 "window from %llu ms: %llu txs not final in time "
                 "(first %s)",
                 (unsigned long long)from, (unsigned long long)late, first);
    else
        snprintf(r->value, sizeof(r->value),
                 "window from %llu ms: every honest height grew, "
                 "every uncontested tx final",
                 (unsigned long long)from);
}

/* Every transaction final at an honest node more than within_ms before the end is in the
 * chain of the highest honest running node (its TXIDX): a payment that was final lands in a
 * block (SPEC 4; PROTOCOL 11.8: one carried across an epoch with a rival needs its old-epoch
 * certificate for that). */
static void eval_final_confirmed(tc_world *w, const tc_scn_expect *x, tc_world_expect *r)
{
    const w_node *best = NULL;
    for (uint32_t e = 0; e < w->count; e++) {
        const w_node *n = &w->nodes[e];
        if (!n->byzantine && n->node != NULL && (best == NULL || n->height > best->height))
            best = n;
    }
    tc_store_txn *t = NULL;
    if (best == NULL || tc_store_begin(best->store, false, &t) != 0) {
        r->pass = false;
        snprintf(r->value, sizeof(r->value), "no honest running node to read");
        return;
    }
    uint64_t checked = 0, missing = 0;
    char first[17] = "";
    for (uint32_t i = 0; i < w->load.tx_cap; i++) {
        const w_tx *tx = &w->load.txs[i];
        if (!tx->used || tx->final_ms == UINT64_MAX || tx->final_ms + x->within_ms > w->end_ms)
            continue;
        checked++;
        const void *v = NULL;
        size_t vl = 0;
        if (tc_store_get(t, TC_TABLE_TXIDX, tx->txid.b, TC_HASH_SIZE, &v, &vl) != 0 &&
            missing++ == 0)
            tc_hex(first, tx->txid.b, 8);
    }
    tc_store_abort(t);
    r->pass = missing == 0;
    if (missing > 0)
        snprintf(r->value, sizeof(r->value), "%llu of %llu final txs in no block of %s (first %s)",
                 (unsigned long long)missing, (unsigned long long)checked, best->name, first);
    else
        snprintf(r->value, sizeof(r->value), "%llu final txs, all in %s's chain",
                 (unsigned long long)checked, best->name);
}

/* The validators named — by forensics (culprits) or by equivocation evidence (accused) — as
 * node names in endpoint order, and their weight in the culprits' epoch. */
static void culprit_names(tc_world *w, bool accused, char *out, size_t size, uint64_t *weight,
                          uint64_t *total, bool *honest_named)
{
    const w_checks *c = &w->checks;
    const tc_pubkey *keys = accused ? c->accused : c->culprits;
    uint32_t count = accused ? c->accused_count : c->culprit_count;
    const w_epoch_set *set = NULL;
    for (uint32_t k = 0; k < W_EPOCH_CACHE; k++)
        if (c->epochs[k].used && c->epochs[k].epoch == c->culprit_epoch)
            set = &c->epochs[k];
    *weight = *total = 0;
    *honest_named = false;
    out[0] = 0;
    size_t used = 0;
    for (uint32_t e = 0; e < w->count; e++) { /* endpoint order: names come out sorted */
        for (uint32_t k = 0; k < count; k++) {
            if (memcmp(keys[k].b, w->nodes[e].pub.b, TC_PUBKEY_SIZE) != 0 ||
                w->nodes[e].id.kind == TC_SCN_TWIN)
                continue;
            *honest_named |= !w->nodes[e].byzantine;
            used += (size_t)snprintf(out + used, size > used ? size - used : 0, "%s%s",
                                     used ? " " : "", w->nodes[e].name);
            for (uint32_t i = 0; set != NULL && i < set->count; i++)
                if (memcmp(set->keys[i].b, keys[k].b, TC_PUBKEY_SIZE) == 0)
                    *weight += set->weights[i];
        }
    }
    if (set != NULL)
        *total = set->weight_total;
}

static void eval_fork(tc_world *w, tc_world_expect *r)
{
    const w_checks *c = &w->checks;
    char names[128];
    uint64_t weight, total;
    bool honest;
    culprit_names(w, false, names, sizeof(names), &weight, &total, &honest);
    bool third = total > 0 && 3 * weight >= total;
    r->pass = c->fork_detected && c->culprit_count > 0 && !honest && third;
    snprintf(r->value, sizeof(r->value),
             "fork %s, alarms %llu, culprits [%s] weight %llu of "
             "%llu%s",
             c->fork_happened ? "committed" : "not committed", (unsigned long long)c->fork_alarms,
             names, (unsigned long long)weight, (unsigned long long)total,
             honest ? ", an HONEST node named" : "");
}

static void eval_culprits(tc_world *w, const tc_scn_expect *x, tc_world_expect *r)
{
    char names[128], want[128] = "";
    uint64_t weight, total;
    bool honest;
    bool accused = !w->checks.expect_fork; /* no fork expected: evidence names them */
    culprit_names(w, accused, names, sizeof(names), &weight, &total, &honest);
    members_text(w, x->members, want, sizeof(want));
    r->pass = strcmp(names, want[0] == ' ' ? want + 1 : want) == 0;
    snprintf(r->value, sizeof(r->value), "%s [%s]", accused ? "evidence names" : "forensics names",
             names);
}

/* Whether the registry in e's store has key burned (by evidence). */
static bool burned_at(tc_world *w, uint32_t e, const tc_pubkey *key)
{
    tc_store_txn *t = NULL;
    tc_mn_record rec;
    if (tc_store_begin(w->nodes[e].store, false, &t) != 0)
        return false;
    bool burned = tc_mnreg_get(t, key, &rec) == 0 && rec.burned;
    tc_store_abort(t);
    return burned;
}

/* Every listed validator burned on the chain of every honest running node: the evidence made
 * it into a block that everybody applied, not only into notifies. */
static void eval_burned(tc_world *w, const tc_scn_expect *x, tc_world_expect *r)
{
    uint32_t checked = 0;
    r->pass = true;
    snprintf(r->value, sizeof(r->value), "burned");
    for (uint32_t e = 0; e < w->count && r->pass; e++) {
        const w_node *n = &w->nodes[e];
        if (n->byzantine || n->node == NULL)
            continue;
        checked++;
        for (uint32_t k = 0; k < x->members.count && r->pass; k++) {
            uint32_t who = endpoint_of(w, w->scn.members[x->members.first + k].node);
            if (who != UINT32_MAX && burned_at(w, e, &w->nodes[who].pub))
                continue;
            r->pass = false;
            snprintf(r->value, sizeof(r->value), "%s not burned on %s's chain (height %llu)",
                     who != UINT32_MAX ? w->nodes[who].name : "?", n->name,
                     (unsigned long long)n->height);
        }
    }
    if (checked == 0) {
        r->pass = false;
        snprintf(r->value, sizeof(r->value), "no node to check");
    } else if (r->pass) {
        snprintf(r->value, sizeof(r->value), "burned on the chains of %u nodes", checked);
    }
}

/* ONLINE / OFFLINE: how each listed node sees the masternode at the end of the run, from its
 * heartbeats (tc_node_masternode_presence). A node that is down sees nothing: it fails both. */
static void eval_presence(tc_world *w, const tc_scn_expect *x, tc_world_expect *r)
{
    bool want_online = x->kind == TC_SCN_EXP_ONLINE;
    uint32_t mn = endpoint_of(w, x->node), wrong = UINT32_MAX;
    const char *why = "";
    for (uint32_t m = 0; m < x->members.count && mn != UINT32_MAX && wrong == UINT32_MAX; m++) {
        uint32_t by = endpoint_of(w, w->scn.members[x->members.first + m].node);
        tc_masternode_presence pr;
        if (by == UINT32_MAX)
            continue;
        if (w->nodes[by].node == NULL) {
            wrong = by;
            why = "is down";
        } else {
            (void)tc_node_masternode_presence(w->nodes[by].node, &w->nodes[mn].pub, &pr);
            if (pr.online != want_online) {
                wrong = by;
                why = want_online ? "sees it offline" : "sees it online";
            }
        }
    }
    r->pass = mn != UINT32_MAX && wrong == UINT32_MAX;
    snprintf(r->value, sizeof(r->value), "%s", want_online ? "online" : "offline");
    if (wrong != UINT32_MAX)
        snprintf(r->value, sizeof(r->value), "%s %s", w->nodes[wrong].name, why);
}

/* Each listed node caught up by a state snapshot at least once. */
static void eval_state_sync(tc_world *w, const tc_scn_expect *x, tc_world_expect *r)
{
    uint32_t missing = UINT32_MAX;
    for (uint32_t m = 0; m < x->members.count && missing == UINT32_MAX; m++) {
        uint32_t e = endpoint_of(w, w->scn.members[x->members.first + m].node);
        if (e == UINT32_MAX || w->nodes[e].state_syncs == 0)
            missing = m;
    }
    r->pass = missing == UINT32_MAX;
    if (r->pass) {
        size_t len = 0;
        r->value[0] = 0;
        for (uint32_t m = 0; m < x->members.count && len < sizeof(r->value); m++) {
            uint32_t e = endpoint_of(w, w->scn.members[x->members.first + m].node);
            len +=
                (size_t)snprintf(r->value + len, sizeof(r->value) - len, "%s%s %llu", m ? ", " : "",
                                 w->nodes[e].name, (unsigned long long)w->nodes[e].state_syncs);
        }
        return;
    }
    char name[TC_SCN_NODE_NAME_MAX];
    tc_scn_node_name(w->scn.members[x->members.first + missing].node, name);
    snprintf(r->value, sizeof(r->value), "%s never caught up by a state snapshot", name);
}

static void eval_one(tc_world *w, uint32_t k, tc_world_expect *r)
{
    const tc_scn_expect *x = &w->scn.expects[k];
    r->line = x->line;
    expect_text(w, x, r->text, sizeof(r->text));
    uint64_t views = 0;
    switch (x->kind) {
    case TC_SCN_EXP_SAFETY:
        r->pass = w->checks.violation_count == 0;
        snprintf(r->value, sizeof(r->value), "%llu violations",
                 (unsigned long long)w->checks.violation_count);
        break;
    case TC_SCN_EXP_FORK:
        eval_fork(w, r);
        break;
    case TC_SCN_EXP_CULPRITS:
        eval_culprits(w, x, r);
        break;
    case TC_SCN_EXP_HEIGHT:
        eval_height(w, x, r);
        break;
    case TC_SCN_EXP_VIEW_CHANGES:
        for (uint32_t e = 0; e < w->count; e++)
            views += w->nodes[e].byzantine ? 0 : w->nodes[e].view_changes;
        r->pass = cmp_holds(x->cmp, views, x->value);
        snprintf(r->value, sizeof(r->value), "%llu view changes", (unsigned long long)views);
        break;
    case TC_SCN_EXP_FINALITY:
        eval_finality(w, x, r);
        break;
    case TC_SCN_EXP_LIVENESS:
        eval_liveness(w, k, x, r);
        break;
    case TC_SCN_EXP_BURNED:
        eval_burned(w, x, r);
        break;
    case TC_SCN_EXP_FINAL_CONFIRMED:
        eval_final_confirmed(w, x, r);
        break;
    case TC_SCN_EXP_CARRIED_RESERVED:
        r->pass = w->checks.cr_breaches == 0;
        snprintf(
            r->value, sizeof(r->value), "%llu votes on carried outpoints (%llu batches read)%s%s",
            (unsigned long long)w->checks.cr_breaches, (unsigned long long)w->checks.cr_batches,
            w->checks.cr_breaches ? ": " : "", w->checks.cr_first);
        break;
    case TC_SCN_EXP_BANNED: {
        uint32_t banned = endpoint_of(w, x->node), missing = UINT32_MAX;
        for (uint32_t m = 0; m < x->members.count && banned != UINT32_MAX; m++) {
            uint32_t by = endpoint_of(w, w->scn.members[x->members.first + m].node);
            if (by != UINT32_MAX && !w->checks.banned[(size_t)by * w->count + banned])
                missing = by;
        }
        r->pass = banned != UINT32_MAX && missing == UINT32_MAX;
        snprintf(r->value, sizeof(r->value), "%s", r->pass ? "banned" : "not banned by");
        if (missing != UINT32_MAX)
            snprintf(r->value, sizeof(r->value), "not banned by %s", w->nodes[missing].name);
        break;
    }
    case TC_SCN_EXP_CLOCK_STOPS:
        for (uint32_t e = 0; e < w->count; e++)
            views += w->nodes[e].byzantine ? 0 : w->nodes[e].clock_stops;
        r->pass = cmp_holds(x->cmp, views, x->value);
        snprintf(r->value, sizeof(r->value), "%llu clock stops", (unsigned long long)views);
        break;
    case TC_SCN_EXP_ONLINE:
    case TC_SCN_EXP_OFFLINE:
        eval_presence(w, x, r);
        break;
    case TC_SCN_EXP_STATE_SYNC:
        eval_state_sync(w, x, r);
        break;
    default:
        r->pass = false;
        snprintf(r->value, sizeof(r->value), "unknown expectation");
    }
}

void tc_world_result_get(tc_world *w, tc_world_result *r)
{
    TC_ASSERT(w != NULL && r != NULL);
    memset(r, 0, sizeof(*r));
    tc_hasher copy = w->fp; /* finalising consumes the state; the world keeps its own */
    tc_hasher_final(&copy, &r->fingerprint);
    r->sim_ms = w->now_ms;
    r->events = w->events;
    r->frames_delivered = w->frames_delivered;
    r->frames_bytes = w->frames_bytes;
    r->frames_duplicate = w->frames_duplicate;
    r->frames_duplicate_bytes = w->frames_duplicate_bytes;
    r->trace_lines = w->trace_lines;
    r->node_count = w->count;
    for (uint32_t e = 0; e < w->count; e++)
        r->view_changes += w->nodes[e].byzantine ? 0 : w->nodes[e].view_changes;
    r->txs_submitted = w->load.submitted;
    r->txs_accepted = w->load.accepted;
    r->txs_rejected = w->load.rejected;
    r->txs_finalized = w->load.finalized;
    uint64_t n = 0;
    uint64_t *v = latencies(w, 0, &n);
    if (v != NULL && n > 0) {
        r->finality_count = n;
        r->finality_p50_ms = quantile(v, n, 500000);
        r->finality_p99_ms = quantile(v, n, 990000);
        r->finality_max_ms = v[n - 1];
    }
    free(v);
    r->violation_count = w->checks.violation_count;
    r->violations = w->checks.kept;
    r->violation_kept =
        (uint32_t)(r->violation_count < W_VIOLATIONS_KEPT ? r->violation_count : W_VIOLATIONS_KEPT);
    free(w->expects);
    w->expects = calloc(w->scn.expect_count + 1, sizeof(*w->expects));
    bool all = w->expects != NULL;
    for (uint32_t k = 0; w->expects != NULL && k < w->scn.expect_count; k++) {
        eval_one(w, k, &w->expects[k]);
        all &= w->expects[k].pass;
    }
    r->expects = w->expects;
    r->expect_count = w->expects != NULL ? w->scn.expect_count : 0;
    r->fork = w->checks.fork_happened || w->checks.fork_detected;
    r->culprits_named = w->checks.culprit_count > 0;
    r->harness_failed = w->harness_failed;
    r->harness_error = w->harness_error;
    r->pass = all && r->violation_count == 0 && !w->harness_failed;
}
