/* faults.c — the scenario timeline carried out on the world: crashes (plain and lose-writes),
 * restarts, pauses, clock jumps, partitions and heals, link changes (flapping, loss,
 * duplication, latency), Byzantine turns, registrations and load changes. Every fault is a trace
 * line (node "*" for faults of the network) and, with
 * --timeline, a line of the account.
 *
 * The lose-writes model (docs/SIMULATOR.md): a node commits its store synchronously inside each
 * call, so between two calls nothing is in flight. `crash nX lose-writes` therefore arms the
 * crash to strike *during* the node's next store commit: the in-memory store is set to fail
 * that one commit (its writes vanish, as in a torn write), and the node dies at the end of the
 * call that attempted it, before any action of that call (a message, a vote) leaves. What it
 * committed before stays, and nothing after: the failed commit puts the node in its sticky store
 * failure (node.h), so it writes nothing more in that call; a failed commit that wrote nothing
 * strikes too (world.c, after_call). If the node commits nothing within W_LOSE_WRITES_MS, it
 * dies then like a plain crash. With `storage lmdb` a crash is a plain crash (LMDB's commits are
 * durable; there is nothing uncommitted to lose between calls).
 */
#include "world_internal.h"

#include <string.h>

static uint32_t endpoint(tc_world *w, tc_scn_node node)
{
    uint32_t e = 0;
    int rc = tc_scn_endpoint(&w->scn, node, &e);
    TC_ASSERT(rc == 0 && e < w->count); /* the parser checked every name */
    return e;
}

static void crash(tc_world *w, uint32_t e, bool lose_writes)
{
    w_node *n = &w->nodes[e];
    if (n->node == NULL)
        return;
    if (!lose_writes || w->scn.storage != TC_SCN_STORAGE_MEM) {
        w_trace(w, e, "crash");
        w_timeline(w, e, "CRASH (volatile state lost)");
        w_node_crash(w, e);
        return;
    }
    tc_store_mem_faults f = {.fail_nth_commit = 1, .fail_nth_write = 0, .fail_sticky = false};
    tc_store_mem_set_faults(n->store, &f);
    n->dying = true;
    n->writes_at_arm = tc_store_mem_write_count(n->store);
    w_trace(w, e, "crash lose-writes");
    w_timeline(w, e, "CRASH lose-writes armed: dies during its next store commit");
    tc_evq_event ev = {.time_ms = w->now_ms + W_LOSE_WRITES_MS, .kind = W_EV_DIE, .node = e};
    w_push(w, &ev);
}

void w_fault_die(tc_world *w, uint32_t e)
{
    w_node *n = &w->nodes[e];
    if (n->node == NULL || !n->dying)
        return;
    w_trace(w, e, "crash-struck");
    w_timeline(w, e, "CRASH strikes (no write within %u ms)", W_LOSE_WRITES_MS);
    w_node_crash(w, e);
}

/* The restarted node first passes an integrity check of its store (SIMULATOR.md, Checkers:
 * integrity after restart; STYLE rule 17), then starts on it with a fresh generator and dials every
 * running node. */
static void restart(tc_world *w, uint32_t e)
{
    w_node *n = &w->nodes[e];
    if (n->dying)
        w_fault_die(w, e);
    if (n->node != NULL)
        return;
    w_timeline(w, e, "RESTART from its store");
    w_check_restart(w, e);
    w_node_start(w, e);
    for (uint32_t j = 0; j < w->count && n->node != NULL; j++)
        if (j != e && w->nodes[j].node != NULL && !w->nodes[j].paused)
            w_connect_now(w, e, j);
}

static void partition(tc_world *w, const tc_scn_event *ev)
{
    const tc_scn *s = &w->scn;
    char text[512];
    size_t used = 0;
    uint32_t *group = w->peer_scratch;
    for (uint32_t e = 0; e < w->count; e++)
        group[e] = TC_NET_GROUP_NONE;
    uint32_t last_group = 0;
    for (uint32_t k = 0; k < ev->members.count; k++) {
        const tc_scn_member *m = &s->members[ev->members.first + k];
        uint32_t e = endpoint(w, m->node);
        group[e] = m->group;
        const char *sep = k == 0                   ? ""
                          : m->group != last_group ? (ev->oneway ? " -> " : " | ")
                                                   : " ";
        last_group = m->group;
        if (used < sizeof(text))
            used +=
                (size_t)snprintf(text + used, sizeof(text) - used, "%s%s", sep, w->nodes[e].name);
    }
    if (ev->oneway) {
        for (uint32_t a = 0; a < w->count; a++)
            for (uint32_t b = 0; b < w->count; b++)
                if (group[a] == 0 && group[b] == 1)
                    tc_net_cut(w->net, a, b);
    } else {
        tc_net_partition(w->net, group);
    }
    w_trace(w, UINT32_MAX, "partition %s", text);
    w_timeline(w, UINT32_MAX, "PARTITION %s", text);
}

static void pause_node(tc_world *w, uint32_t e, uint64_t duration_ms)
{
    TC_ASSERT(duration_ms > 0);
    w_node *n = &w->nodes[e];
    if (n->node == NULL || n->paused)
        return;
    n->paused = true;
    n->resume_ms = w->now_ms + duration_ms;
    w_trace(w, e, "pause %llu", (unsigned long long)duration_ms);
    w_timeline(w, e, "PAUSE for %llu ms", (unsigned long long)duration_ms);
    tc_evq_event ev = {.time_ms = n->resume_ms, .kind = TC_EVQ_RESUME, .node = e};
    w_push(w, &ev);
}

void w_fault_resume(tc_world *w, uint32_t e)
{
    w_node *n = &w->nodes[e];
    if (n->node == NULL || !n->paused || n->resume_ms != w->now_ms)
        return;
    n->paused = false;
    TC_ASSERT(n->node != NULL);
    w_trace(w, e, "resume");
    w_timeline(w, e, "RESUME");
    n->timer_at = n->adv_at = UINT64_MAX; /* timers that fired meanwhile were ignored */
    n->timer_gen++;
    n->adv_gen++;
    w_schedule_timer(w, e);
    w_schedule_adv(w, e);
}

static void clock_jump(tc_world *w, uint32_t e, int64_t jump_ms)
{
    w_node *n = &w->nodes[e];
    n->offset_ms += jump_ms;
    w_trace(w, e, "clock %+lld", (long long)jump_ms);
    w_timeline(w, e, "CLOCK jumps %+lld ms", (long long)jump_ms);
    n->timer_at = n->adv_at = UINT64_MAX; /* the deadline maps to another global time now */
    n->timer_gen++;
    n->adv_gen++;
    w_schedule_timer(w, e);
    w_schedule_adv(w, e);
}

/* The masked fields of one directed link take the event's values; the others keep theirs. */
static void link_direction(tc_world *w, uint32_t from, uint32_t to, const tc_scn_event *ev)
{
    tc_net_link l;
    tc_net_link_get(w->net, from, to, &l);
    const tc_net_link *v = &ev->link;
    uint32_t m = ev->link_mask;
    l.latency_ms = m & TC_SCN_LINK_LATENCY ? v->latency_ms : l.latency_ms;
    l.jitter_ms = m & TC_SCN_LINK_JITTER ? v->jitter_ms : l.jitter_ms;
    l.loss_ppm = m & TC_SCN_LINK_LOSS ? v->loss_ppm : l.loss_ppm;
    l.dup_ppm = m & TC_SCN_LINK_DUP ? v->dup_ppm : l.dup_ppm;
    l.reorder_ppm = m & TC_SCN_LINK_REORDER ? v->reorder_ppm : l.reorder_ppm;
    l.bandwidth_Bps = m & TC_SCN_LINK_BANDWIDTH ? v->bandwidth_Bps : l.bandwidth_Bps;
    if (m & TC_SCN_LINK_FLAP) {
        l.flap_up_ms = v->flap_up_ms;
        l.flap_down_ms = v->flap_down_ms;
    }
    /* The parser checked the values; only the model's table of distinct parameter sets can
     * run out, and a scenario that needs more than it holds cannot be carried out. */
    if (tc_net_link_set(w->net, from, to, &l) != 0)
        w_harness_fail(w, "too many distinct link parameter sets (%u)", TC_NET_PARAMS_MAX);
}

static void link_change(tc_world *w, const tc_scn_event *ev)
{
    TC_ASSERT(ev->kind == TC_SCN_EV_LINK && ev->link_mask != 0);
    uint32_t a = endpoint(w, ev->node), b = endpoint(w, ev->peer);
    TC_ASSERT(a != b);
    link_direction(w, a, b, ev);
    if (!ev->oneway)
        link_direction(w, b, a, ev);
    tc_net_link l;
    tc_net_link_get(w->net, a, b, &l);
    char text[160];
    snprintf(text, sizeof(text),
             "%s%s%s latency %u jitter %u loss %u dup %u reorder %u flap %u/%u bw %llu",
             w->nodes[a].name, ev->oneway ? " -> " : " <-> ", w->nodes[b].name, l.latency_ms,
             l.jitter_ms, l.loss_ppm, l.dup_ppm, l.reorder_ppm, l.flap_up_ms, l.flap_down_ms,
             (unsigned long long)l.bandwidth_Bps);
    w_trace(w, UINT32_MAX, "link %s", text);
    w_timeline(w, UINT32_MAX, "LINK %s (ms, ppm, B/s)", text);
}

_Static_assert(TC_SCN_BYZ_EQUIVOCATE_BATCH - TC_SCN_BYZ_BREAKER_FIRST ==
                   TC_ADV_EQUIVOCATE_BATCH - TC_ADV_OUT_OF_TURN,
               "TC_SCN_BYZ_EQUIVOCATE_BATCH names TC_ADV_EQUIVOCATE_BATCH");
_Static_assert(TC_SCN_BYZ_EQUIVOCATE_HANDOFF - TC_SCN_BYZ_BREAKER_FIRST ==
                   TC_ADV_EQUIVOCATE_HANDOFF - TC_ADV_OUT_OF_TURN,
               "TC_SCN_BYZ_EQUIVOCATE_HANDOFF names TC_ADV_EQUIVOCATE_HANDOFF");
_Static_assert(TC_SCN_BYZ_BREAKER_LAST - TC_SCN_BYZ_BREAKER_FIRST ==
                   TC_ADV_KIND_COUNT - 1 - TC_ADV_OUT_OF_TURN,
               "every rule breaker has a scenario name");

static tc_adv_kind adv_kind_of(uint32_t byz)
{
    switch (byz) {
    case TC_SCN_BYZ_EQUIVOCATE:
        return TC_ADV_EQUIVOCATE;
    case TC_SCN_BYZ_DOUBLE_VOTE:
        return TC_ADV_DOUBLE_VOTE;
    case TC_SCN_BYZ_SILENT:
        return TC_ADV_SILENT;
    case TC_SCN_BYZ_INVALID_SIG:
        return TC_ADV_INVALID_SIG;
    case TC_SCN_BYZ_REPLAY:
        return TC_ADV_REPLAY;
    case TC_SCN_BYZ_GARBAGE:
        return TC_ADV_GARBAGE;
    case TC_SCN_BYZ_FLOOD:
        return TC_ADV_FLOOD;
    default:
        if (byz >= TC_SCN_BYZ_BREAKER_FIRST && byz <= TC_SCN_BYZ_BREAKER_LAST)
            return (tc_adv_kind)(TC_ADV_OUT_OF_TURN + (byz - TC_SCN_BYZ_BREAKER_FIRST));
        return TC_ADV_NONE;
    }
}

int w_adv_make(tc_world *w, uint32_t e, uint32_t byz_kind, uint32_t rate_per_s)
{
    w_node *n = &w->nodes[e];
    tc_adv_config c = {.kind = adv_kind_of(byz_kind),
                       .scheme = w->scheme,
                       .profile = &w->genesis.profile,
                       .rate_per_s = rate_per_s};
    TC_ASSERT(c.kind != TC_ADV_NONE);
    tc_keypair_from_seed(&c.key, n->identity_seed);
    tc_seed_derive(c.rng_seed, w->master, "adversary", e);
    tc_adv *a = NULL;
    int rc = tc_adv_new(&c, &a);
    if (rc != 0)
        return rc;
    tc_adv_free(n->adv);
    n->adv = a;
    n->adv_gen++;
    n->adv_at = UINT64_MAX;
    w_trace(w, e, "byzantine %s %u", tc_adv_kind_name(c.kind), rate_per_s);
    w_timeline(w, e, "BYZANTINE from now: %s", tc_adv_kind_name(c.kind));
    w_schedule_adv(w, e);
    return 0;
}

void w_fault_apply(tc_world *w, const tc_scn_event *ev)
{
    switch (ev->kind) {
    case TC_SCN_EV_CRASH:
        crash(w, endpoint(w, ev->node), ev->lose_writes);
        break;
    case TC_SCN_EV_RESTART:
        restart(w, endpoint(w, ev->node));
        break;
    case TC_SCN_EV_PARTITION:
        partition(w, ev);
        break;
    case TC_SCN_EV_HEAL:
        tc_net_heal(w->net);
        w_trace(w, UINT32_MAX, "heal");
        w_timeline(w, UINT32_MAX, "HEAL: every partition ends");
        break;
    case TC_SCN_EV_PAUSE:
        pause_node(w, endpoint(w, ev->node), ev->duration_ms);
        break;
    case TC_SCN_EV_CLOCK_JUMP:
        clock_jump(w, endpoint(w, ev->node), ev->jump_ms);
        break;
    case TC_SCN_EV_BYZANTINE:
        if (w_adv_make(w, endpoint(w, ev->node), ev->byz, ev->flood_per_s) != 0)
            w_harness_fail(w, "cannot create the adversary");
        break;
    case TC_SCN_EV_REGISTER:
        w_load_register(w, endpoint(w, ev->node), ev->tier);
        break;
    case TC_SCN_EV_LINK:
        link_change(w, ev);
        break;
    case TC_SCN_EV_LOAD:
        w_trace(w, UINT32_MAX, "load %u", ev->rate_per_s);
        w_timeline(w, UINT32_MAX, "LOAD %u/s", ev->rate_per_s);
        w_load_set_rate(w, ev->rate_per_s);
        break;
    default:
        TC_ASSERT(false && "unknown timeline event");
    }
}

/* The end of the last fault: where "liveness within T after heal" starts counting. A crash
 * never followed by a restart ends when it happens (the node stays out of the honest set that
 * liveness asks about, see checker.c). */
uint64_t w_last_fault_end(const tc_scn *s)
{
    uint64_t end = 0;
    for (uint32_t k = 0; k < s->event_count; k++) {
        const tc_scn_event *ev = &s->events[k];
        uint64_t t = ev->at_ms;
        if (ev->kind == TC_SCN_EV_PAUSE)
            t += ev->duration_ms;
        if (ev->kind == TC_SCN_EV_LOAD || ev->kind == TC_SCN_EV_REGISTER)
            continue;
        if (t > end)
            end = t;
    }
    if (s->chaos_faults > 0 && s->chaos_heal_by_ms > end)
        end = s->chaos_heal_by_ms;
    return end;
}
