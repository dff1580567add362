/* checker.c — the invariants of SIMULATOR.md, checked as the run goes, and the scenario's
 * expectations, evaluated at its end. The checkers only observe: NOTIFY actions of the nodes, node
 * status after each call, and read-only store transactions between calls. They never steer a node.
 *
 * What is checked, and from what (docs/SIMULATOR.md, "Checkers"):
 *   agreement     BLOCK_COMMITTED hashes of honest nodes, per height (unless `expect fork`);
 *   double spend  TX_FINALIZED at honest nodes x the inputs of the transactions the wallets
 *                 submitted: one outpoint, one final transaction; a finality conflict alarm;
 *   supply        a node's sticky failure (the chain fails itself when supply does not
 *                 balance), and at the end a full integrity check of every honest store;
 *   convergence   equal block hashes at one height imply equal UTXO-set roots (read from the
 *                 store right after the commit);
 *   integrity     a restarted node's store passes tc_chain_verify_integrity and the node comes
 *                 back (tc_node_new succeeds);
 *   equivocation  an EVIDENCE or CULPRIT notify naming an honest validator;
 *   validity      a fork alarm over a certified block the rules refuse; any fork alarm
 *                 without `expect fork`;
 *   liveness      per `expect liveness`: every honest running node's height grows within the
 *                 window, every uncontested transaction is final within it;
 *   committed     every block an honest node commits, re-verified from its store apart from
 *                 the node's acceptance path: parent link, time after the parent's and within
 *                 block_time_future_max_ms of the latest clock, the header's proposer against
 *                 the proposer sequence recomputed here from the epoch's set, and the
 *                 certificate of every committed block (the next block's last_commit, and the
 *                 node's stored tip certificate): signers in the set, strictly increasing,
 *                 weight >= floor(2W/3) + 1 computed here, every signature a valid PRECOMMIT.
 * Honest means never Byzantine in the scenario and not a twin.
 */
#include "world_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "mnreg.h"
#include "msg.h"
#include "utxo.h"

/* ---- set-up ---- */

int w_checks_init(tc_world *w)
{
    w_checks *c = &w->checks;
    const tc_scn *s = &w->scn;
    for (uint32_t k = 0; k < s->expect_count; k++) {
        c->expect_fork |= s->expects[k].kind == TC_SCN_EXP_FORK;
        c->cr_on |= s->expects[k].kind == TC_SCN_EXP_CARRIED_RESERVED;
    }
    c->cr_seq = calloc(w->count, sizeof(*c->cr_seq));
    if (c->cr_seq == NULL)
        return TC_ENOMEM;
    uint32_t ex = s->expect_count > 0 ? s->expect_count : 1;
    c->probe_heights = calloc((size_t)ex * w->count, sizeof(uint64_t));
    c->probe_state = calloc(ex, 1);
    c->probe_ok = calloc(ex, sizeof(bool));
    c->probe_detail = calloc(ex, sizeof(*c->probe_detail));
    c->spent_cap = w->load.tx_cap > 0 ? w->load.tx_cap : 1024;
    c->spent = calloc(c->spent_cap, sizeof(*c->spent));
    c->banned = calloc((size_t)w->count * w->count, 1);
    if (!c->probe_heights || !c->probe_state || !c->probe_ok || !c->probe_detail || !c->spent ||
        !c->banned)
        return TC_ENOMEM;
    return 0;
}

void w_checks_free(tc_world *w)
{
    w_checks *c = &w->checks;
    for (uint32_t k = 0; k < W_EPOCH_CACHE; k++) {
        free(c->epochs[k].keys);
        free(c->epochs[k].weights);
        free(c->epochs[k].schedule);
    }
    free(c->heights);
    free(c->probe_heights);
    free(c->probe_state);
    free(c->probe_ok);
    free(c->probe_detail);
    free(c->spent);
    free(c->banned);
    free(c->cr_seq);
    free(c->cr_ops);
    free(c->cr_txids);
    memset(c, 0, sizeof(*c));
}

void w_violation(tc_world *w, const char *what, uint32_t node, uint32_t node2, const char *fmt, ...)
{
    TC_ASSERT(what != NULL && (node == UINT32_MAX || node < w->count));
    w_checks *c = &w->checks;
    char detail[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (c->violation_count < W_VIOLATIONS_KEPT) {
        tc_world_violation *v = &c->kept[c->violation_count];
        v->time_ms = w->now_ms;
        v->node = node;
        v->node2 = node2;
        v->trace_line = w->trace_lines;
        snprintf(v->what, sizeof(v->what), "%s", what);
        memcpy(v->detail, detail, sizeof(v->detail));
    }
    c->violation_count++;
    w_timeline(w, node, "VIOLATION %s: %s (trace line %llu)", what, detail,
               (unsigned long long)w->trace_lines);
}

/* ---- validator names ---- */

static const w_epoch_set *epoch_set(tc_world *w, uint32_t reporter, uint32_t epoch)
{
    w_checks *c = &w->checks;
    for (uint32_t k = 0; k < W_EPOCH_CACHE; k++)
        if (c->epochs[k].used && c->epochs[k].epoch == epoch)
            return &c->epochs[k];
    tc_store_txn *t = NULL;
    tc_vset vs;
    memset(&vs, 0, sizeof(vs));
    if (tc_store_begin(w->nodes[reporter].store, false, &t) != 0)
        return NULL;
    int rc = tc_vset_build(t, &w->genesis.profile, epoch, &vs);
    tc_store_abort(t);
    if (rc != 0)
        return NULL;
    w_epoch_set *slot = &c->epochs[c->epoch_next++ % W_EPOCH_CACHE];
    free(slot->keys);
    free(slot->weights);
    free(slot->schedule);
    slot->schedule = NULL;
    slot->keys = calloc(vs.count + 1, sizeof(*slot->keys));
    slot->weights = calloc(vs.count + 1, sizeof(*slot->weights));
    slot->used = slot->keys != NULL && slot->weights != NULL;
    slot->epoch = epoch;
    slot->count = slot->used ? vs.count : 0;
    slot->weight_total = vs.weight_total;
    for (uint32_t i = 0; i < slot->count; i++) {
        slot->keys[i] = vs.members[i].key;
        slot->weights[i] = vs.members[i].weight;
    }
    tc_vset_deinit(&vs);
    return slot->used ? slot : NULL;
}

static uint32_t endpoint_of_key(const tc_world *w, const tc_pubkey *key)
{
    for (uint32_t e = 0; e < w->count; e++) /* validators come first: the twin's base wins */
        if (memcmp(w->nodes[e].pub.b, key->b, TC_PUBKEY_SIZE) == 0)
            return e;
    return UINT32_MAX;
}

static uint32_t epoch_of(const tc_world *w, uint32_t reporter, uint64_t height)
{
    if (height == 0) /* a finality-level notify: the reporter's current epoch */
        height = w->nodes[reporter].height + 1;
    return (uint32_t)tc_mnreg_epoch(&w->genesis.profile, height);
}

/* Name of validator `index` of the set of height's epoch, as reporter's store knows it. */
const char *w_validator_name(tc_world *w, uint32_t reporter, uint64_t height, uint32_t index,
                             uint32_t *endpoint_out)
{
    *endpoint_out = UINT32_MAX;
    const w_epoch_set *set = epoch_set(w, reporter, epoch_of(w, reporter, height));
    if (set == NULL || index >= set->count)
        return "?";
    *endpoint_out = endpoint_of_key(w, &set->keys[index]);
    return *endpoint_out == UINT32_MAX ? "?" : w->nodes[*endpoint_out].name;
}

/* ---- per-notify checks ---- */

static w_height *height_slot(tc_world *w, uint64_t height)
{
    w_checks *c = &w->checks;
    if (height >= W_HEIGHTS_MAX) {
        w_harness_fail(w, "height beyond %u", W_HEIGHTS_MAX);
        return NULL;
    }
    if (height >= c->height_cap) {
        uint32_t cap = c->height_cap ? c->height_cap : 1024;
        while (cap <= height)
            cap *= 2;
        w_height *bigger = realloc(c->heights, (size_t)cap * sizeof(*bigger));
        if (bigger == NULL) {
            w_harness_fail(w, "out of memory");
            return NULL;
        }
        for (uint32_t h = c->height_cap; h < cap; h++)
            bigger[h] = (w_height){.first_node = UINT32_MAX, .root_node = UINT32_MAX};
        c->heights = bigger;
        c->height_cap = cap;
    }
    return &c->heights[height];
}

static void short_hex(char out[9], const tc_hash *h)
{
    tc_hex(out, h->b, 4);
}

static void agree(tc_world *w, uint32_t e, const tc_notify *n);
static void rebase(tc_world *w, uint32_t e, uint64_t height);

static void on_commit(tc_world *w, uint32_t e, const tc_notify *n)
{
    TC_ASSERT(e < w->count && n->height > 0);
    w_node *node = &w->nodes[e];
    node->commits++;
    if (n->height > node->height) {
        node->height = n->height;
        node->tip = n->hash;
    }
    if (w->opts.timeline != NULL) {
        uint32_t who;
        char hx[9];
        short_hex(hx, &n->hash);
        const char *proposer = w_validator_name(w, e, n->height, n->proposer, &who);
        w_timeline(w, e, "commit h=%llu r=%u proposer=%s hash=%s txs=%u",
                   (unsigned long long)n->height, n->round, proposer, hx, n->txs);
    }
    if (!node->byzantine)
        agree(w, e, n);
}

/* Agreement: honest nodes hold one block per height (a commit, or a state sync's block). */
static void agree(tc_world *w, uint32_t e, const tc_notify *n)
{
    w_node *node = &w->nodes[e];
    w_height *h = height_slot(w, n->height);
    if (h == NULL)
        return;
    if (h->first_node == UINT32_MAX) {
        h->hash = n->hash;
        h->first_node = e;
    } else if (memcmp(h->hash.b, n->hash.b, TC_HASH_SIZE) != 0) {
        if (!w->checks.fork_happened)
            w_timeline(w, e, "FORK: %s and %s committed different blocks at h=%llu",
                       w->nodes[h->first_node].name, node->name, (unsigned long long)n->height);
        w->checks.fork_happened = true;
        if (!w->checks.expect_fork)
            w_violation(w, "agreement", e, h->first_node,
                        "%s and %s committed different blocks "
                        "at height %llu",
                        node->name, w->nodes[h->first_node].name, (unsigned long long)n->height);
    }
}

static uint32_t spent_index(const w_checks *c, const tc_outpoint *op)
{
    uint32_t h;
    memcpy(&h, op->txid.b, sizeof(h));
    return (h ^ (op->index * 0x9e3779b1u)) & (c->spent_cap - 1);
}

/* ---- carried outpoints (`expect carried-reserved`, PROTOCOL 11.8 step 8) ---- */

/* Loads the carry list that epoch - 1 handed to epoch, as node e's store holds it (chain data:
 * the same on every node that applied the closing block), keeping the load transactions. */
static void cr_load(tc_world *w, uint32_t e, uint32_t epoch)
{
    w_checks *c = &w->checks;
    if (c->cr_loaded && c->cr_epoch == epoch)
        return;
    c->cr_loaded = false;
    c->cr_count = 0;
    uint8_t key[12 + 4] = "chain/carry/";
    uint32_t prev = epoch - 1;
    key[12] = (uint8_t)(prev >> 24), key[13] = (uint8_t)(prev >> 16);
    key[14] = (uint8_t)(prev >> 8), key[15] = (uint8_t)prev;
    tc_store_txn *t = NULL;
    const void *v = NULL;
    size_t vl = 0;
    if (epoch == 0 || tc_store_begin(w->nodes[e].store, false, &t) != 0)
        return;
    if (tc_store_get(t, TC_TABLE_META, key, sizeof(key), &v, &vl) == 0 && vl >= 4) {
        const uint8_t *p = v;
        uint32_t n =
            (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        free(c->cr_ops);
        free(c->cr_txids);
        c->cr_ops = calloc(n + 1, sizeof(*c->cr_ops));
        c->cr_txids = calloc(n + 1, sizeof(*c->cr_txids));
        for (uint32_t i = 0; c->cr_ops != NULL && c->cr_txids != NULL && i < n &&
                             4 + (size_t)(i + 1) * TC_HASH_SIZE <= vl;
             i++) {
            tc_hash id;
            memcpy(id.b, p + 4 + (size_t)i * TC_HASH_SIZE, TC_HASH_SIZE);
            const w_tx *x = w_load_find(w, &id);
            if (x == NULL)
                continue;
            c->cr_ops[c->cr_count] = x->input;
            c->cr_txids[c->cr_count++] = id;
        }
        c->cr_loaded = true;
        c->cr_epoch = epoch;
        w_timeline(w, e, "carry list into epoch %u: %u txids, %u of the load", epoch, n,
                   c->cr_count);
    }
    tc_store_abort(t);
}

static uint32_t le32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* An own VOTE_BATCH of an honest validator: none of its load transactions may spend an outpoint
 * that another transaction carried into the batch's epoch spends. Each batch is read once (its
 * seq; re-gossip sends older ones again). */
void w_check_send(tc_world *w, uint32_t e, const uint8_t *frame, size_t len)
{
    w_checks *c = &w->checks;
    const size_t head = TC_MSG_HEADER_SIZE + 4 + 4 + 8;
    if (w->nodes[e].byzantine || len < head || tc_msg_frame_type(frame, len) != TC_MSG_VOTE_BATCH)
        return;
    const uint8_t *p = frame + TC_MSG_HEADER_SIZE;
    uint32_t epoch = le32_at(p), index = le32_at(p + 4);
    uint64_t seq = (uint64_t)le32_at(p + 8) | (uint64_t)le32_at(p + 12) << 32;
    if (seq <= c->cr_seq[e] || epoch == 0)
        return;
    const w_epoch_set *set = epoch_set(w, e, epoch);
    if (set == NULL || index >= set->count ||
        memcmp(set->keys[index].b, w->nodes[e].pub.b, TC_PUBKEY_SIZE) != 0)
        return; /* another validator's batch, answered to GET_VOTE_BATCHES */
    tc_msg m;
    if (tc_msg_decode(frame, len, &m) != 0)
        return;
    c->cr_seq[e] = seq;
    c->cr_batches++;
    cr_load(w, e, epoch);
    for (uint32_t i = 0; c->cr_loaded && i < m.vote_batch.txid_count; i++) {
        const w_tx *x = w_load_find(w, &m.vote_batch.txids[i]);
        for (uint32_t k = 0; x != NULL && k < c->cr_count; k++) {
            if (tc_outpoint_cmp(&c->cr_ops[k], &x->input) != 0 ||
                memcmp(c->cr_txids[k].b, x->txid.b, TC_HASH_SIZE) == 0)
                continue;
            if (c->cr_breaches++ == 0) {
                char a[17], b[17];
                tc_hex(a, x->txid.b, 8);
                tc_hex(b, c->cr_txids[k].b, 8);
                snprintf(c->cr_first, sizeof(c->cr_first),
                         "%s voted %s in epoch %u over carried %s", w->nodes[e].name, a, epoch, b);
                w_timeline(w, e, "carried-reserved breach: %s", c->cr_first);
            }
        }
    }
    tc_msg_deinit(&m);
}

/* One outpoint, one final transaction, across every honest node. */
static void on_finalized(tc_world *w, uint32_t e, const tc_notify *n)
{
    w_checks *c = &w->checks;
    w->nodes[e].finalized++;
    w_tx *t = w_load_find(w, &n->hash);
    if (t == NULL || w->nodes[e].byzantine)
        return;
    if (t->final_ms == UINT64_MAX) {
        t->final_ms = w->now_ms;
        w->load.finalized++;
        if (w->opts.timeline != NULL) { /* per-transaction finality, for tools/plot.py */
            char hx[17];
            tc_hex(hx, t->txid.b, 8);
            w_timeline(w, e, "final tx=%s after %llu ms%s%s%s", hx,
                       (unsigned long long)(t->final_ms - t->submit_ms),
                       t->contested ? " contested" : "", t->registration ? " registration" : "",
                       t->code != 0 ? " refused" : "");
        }
    }
    for (uint32_t i = 0; i < c->spent_cap; i++) {
        w_spent *s = &c->spent[(spent_index(c, &t->input) + i) & (c->spent_cap - 1)];
        if (!s->used) {
            *s = (w_spent){.op = t->input, .txid = t->txid, .used = true};
            return;
        }
        if (tc_outpoint_cmp(&s->op, &t->input) != 0)
            continue;
        if (memcmp(s->txid.b, t->txid.b, TC_HASH_SIZE) != 0 && !c->expect_fork) {
            char a[17], b[17];
            tc_hex(a, s->txid.b, 8);
            tc_hex(b, t->txid.b, 8);
            w_violation(w, "double-spend", e, UINT32_MAX,
                        "%s saw %s final, spending an outpoint %s spent as final", w->nodes[e].name,
                        b, a);
        }
        return;
    }
}

/* EVIDENCE and CULPRIT name a validator; an honest one is a violation (SIMULATOR.md, Checkers:
 * `equivocation`). */
static void on_named(tc_world *w, uint32_t e, const tc_notify *n, bool culprit)
{
    w_checks *c = &w->checks;
    uint32_t who;
    const char *name = w_validator_name(w, e, n->height, n->validator, &who);
    w_timeline(w, e, "%s %s (validator %u) h=%llu r=%u",
               culprit ? "FORENSICS names" : "evidence against", name, n->validator,
               (unsigned long long)n->height, n->round);
    c->evidence += !culprit;
    if (w->nodes[e].byzantine)
        return;
    if (who != UINT32_MAX && !w->nodes[who].byzantine)
        w_violation(w, "equivocation", who, e, "%s %s honest %s", w->nodes[e].name,
                    culprit ? "names as culprit" : "holds evidence against", name);
    if (who == UINT32_MAX)
        return;
    tc_pubkey *set = culprit ? c->culprits : c->accused;
    uint32_t *count = culprit ? &c->culprit_count : &c->accused_count;
    for (uint32_t k = 0; k < *count; k++)
        if (memcmp(set[k].b, w->nodes[who].pub.b, TC_PUBKEY_SIZE) == 0)
            return;
    if (culprit && *count == 0)
        c->culprit_epoch = epoch_of(w, e, n->height);
    if (*count < W_CULPRITS_MAX)
        set[(*count)++] = w->nodes[who].pub;
}

static void on_fork(tc_world *w, uint32_t e, const tc_notify *n)
{
    w_checks *c = &w->checks;
    char a[9], b[9];
    short_hex(a, &n->hash);
    short_hex(b, &n->hash2);
    bool tx_level = n->code == TC_ETX_LOCKED;
    /* A certified block that does not extend our tip (TC_EBLK_PARENT) is a second certificate
     * chain: a fork. Any other refusal of a certified block means the block breaks a rule. */
    bool invalid =
        !tx_level && n->code != TC_EBLK_PARENT && memcmp(n->hash.b, n->hash2.b, TC_HASH_SIZE) == 0;
    w_timeline(w, e, "FORK ALARM%s h=%llu ours=%s theirs=%s (%s)", tx_level ? " (finality)" : "",
               (unsigned long long)n->height, a, b, tc_strerror(n->code));
    w->nodes[e].fork_seen = true;
    if (w->nodes[e].byzantine)
        return;
    c->fork_alarms++;
    if (!tx_level && !invalid)
        c->fork_detected = true;
    if (c->expect_fork)
        return;
    if (invalid)
        w_violation(w, "validity", e, UINT32_MAX,
                    "%s: a certified block at %llu breaks the "
                    "rules (%s)",
                    w->nodes[e].name, (unsigned long long)n->height, tc_strerror(n->code));
    else
        w_violation(w, tx_level ? "double-spend" : "fork-alarm", e, UINT32_MAX,
                    "%s raised a fork alarm at %llu (%s vs %s)", w->nodes[e].name,
                    (unsigned long long)n->height, a, b);
}

static const char *cause_name(uint32_t cause)
{
    switch (cause) {
    case TC_VIEW_CAUSE_TIMEOUT_PROPOSE:
        return "timeout-propose";
    case TC_VIEW_CAUSE_TIMEOUT_PREVOTE:
        return "timeout-prevote";
    case TC_VIEW_CAUSE_TIMEOUT_PRECOMMIT:
        return "timeout-precommit";
    case TC_VIEW_CAUSE_ROUND_SKIP:
        return "round-skip";
    default:
        return "?";
    }
}

/* Notifies that only feed the account and the counters. */
static void on_other(tc_world *w, uint32_t e, const tc_notify *n)
{
    char hx[9];
    short_hex(hx, &n->hash);
    switch (n->kind) {
    case TC_NOTIFY_VIEW_CHANGE:
        w->nodes[e].view_changes++;
        w_timeline(w, e, "view-change h=%llu round %u -> %u (%s)", (unsigned long long)n->height,
                   n->round, n->round_to, cause_name(n->cause));
        break;
    case TC_NOTIFY_LOCK:
    case TC_NOTIFY_UNLOCK:
        w_timeline(w, e, "%s h=%llu r=%u on %s", n->kind == TC_NOTIFY_LOCK ? "lock" : "unlock",
                   (unsigned long long)n->height, n->round, hx);
        break;
    case TC_NOTIFY_PEER_BANNED:
        if (n->peer < w->count) {
            w->checks.banned[(size_t)e * w->count + n->peer] = 1;
            w_timeline(w, e, "bans %s (%s) until local %llu", w->nodes[n->peer].name,
                       tc_strerror(n->code), (unsigned long long)n->ban_until_ms);
        }
        break;
    case TC_NOTIFY_CLOCK:
        w->nodes[e].clock_stops += n->cause == 2; /* node_clock.c's NODE_CLOCK_STOP */
        w_timeline(w, e, "clock %s (skew %llu ms)",
                   n->cause == 2   ? "STOPS voting"
                   : n->cause == 1 ? "warns"
                                   : "back in bounds",
                   (unsigned long long)n->latency_ms);
        break;
    case TC_NOTIFY_MASTERNODE: {
        uint32_t who;
        const char *name = w_validator_name(w, e, w->nodes[e].height + 1, n->validator, &who);
        w_timeline(w, e, "masternode %s %s (last heard at local %llu)", name,
                   n->code ? "back online" : "offline", (unsigned long long)n->latency_ms);
        break;
    }
    case TC_NOTIFY_SYNC:
        w_timeline(w, e, "synced to h=%llu", (unsigned long long)n->height);
        break;
    case TC_NOTIFY_SNAPSHOT_REFUSED:
        w->nodes[e].snapshot_refused++;
        w_timeline(w, e, "refuses snapshot h=%llu from %s (%s)", (unsigned long long)n->height,
                   n->peer < w->count ? w->nodes[n->peer].name : "?", tc_strerror(n->code));
        break;
    case TC_NOTIFY_QUORUM_LOST:
        w_timeline(w, e,
                   "QUORUM LOST: its bans leave it reaching validator weight %llu < quorum %llu",
                   (unsigned long long)n->weight, (unsigned long long)n->quorum);
        break;
    default:
        break; /* PEER_READY, TX_REJECTED: counted elsewhere or not at all */
    }
}

/* A state sync (PROTOCOL 13.2): the node's tip jumps to the snapshot's block, which must be
 * the block honest nodes hold there; the committed-block checker goes on from it (the blocks
 * below were never applied here). */
static void on_state_sync(tc_world *w, uint32_t e, const tc_notify *n)
{
    w_node *node = &w->nodes[e];
    char hx[9];
    short_hex(hx, &n->hash);
    node->state_syncs++;
    node->height = n->height;
    node->tip = n->hash;
    w_timeline(w, e, "state-sync to h=%llu hash=%s: %llu unspent outputs, %u chunks from %u peers",
               (unsigned long long)n->height, hx, (unsigned long long)n->weight, n->txs, n->round);
    if (node->byzantine)
        return;
    agree(w, e, n);
    rebase(w, e, n->height);
}

void w_check_notify(tc_world *w, uint32_t e, const tc_notify *n)
{
    switch (n->kind) {
    case TC_NOTIFY_BLOCK_COMMITTED:
        on_commit(w, e, n);
        break;
    case TC_NOTIFY_TX_FINALIZED:
        on_finalized(w, e, n);
        break;
    case TC_NOTIFY_EVIDENCE:
        on_named(w, e, n, false);
        break;
    case TC_NOTIFY_CULPRIT:
        on_named(w, e, n, true);
        break;
    case TC_NOTIFY_FORK:
        on_fork(w, e, n);
        break;
    case TC_NOTIFY_STATE_SYNC:
        on_state_sync(w, e, n);
        break;
    default:
        on_other(w, e, n);
        break;
    }
}

/* ---- after every call ---- */

/* Equal block hashes at one height imply equal UTXO-set roots (SIMULATOR.md, Checkers:
 * `convergence`). */
static void check_root(tc_world *w, uint32_t e, const tc_node_status *st)
{
    w_height *h = height_slot(w, st->height);
    tc_store_txn *t = NULL;
    tc_hash root;
    if (h == NULL || memcmp(h->hash.b, st->tip.b, TC_HASH_SIZE) != 0 ||
        tc_store_begin(w->nodes[e].store, false, &t) != 0)
        return;
    int rc = tc_utxo_root(t, &root);
    tc_store_abort(t);
    if (rc != 0) {
        w_violation(w, "integrity", e, UINT32_MAX, "%s: its UTXO root does not read (%s)",
                    w->nodes[e].name, tc_strerror(rc));
    } else if (!h->has_root) {
        h->root = root;
        h->has_root = true;
        h->root_node = e;
    } else if (memcmp(h->root.b, root.b, TC_HASH_SIZE) != 0) {
        w_violation(w, "convergence", e, h->root_node,
                    "%s and %s hold block %llu with "
                    "different UTXO roots",
                    w->nodes[e].name, w->nodes[h->root_node].name, (unsigned long long)st->height);
    }
}

/* Node e is in its sticky failed state (node.h): the timeline and the summary tell its kind and
 * cause. A fork was judged by on_fork already; any other failure of an honest node is a
 * violation, but never a fork: the simulator's stores fail only at a lose-writes crash, which
 * kills the node before its actions are seen. */
static void on_failed(tc_world *w, uint32_t e, const tc_node_status *st)
{
    w_node *n = &w->nodes[e];
    n->failed_seen = true;
    if (n->failure.failure == TC_NODE_FAIL_NONE) {
        n->failure = *st;
        n->failure_sim_ms = w->now_ms;
    }
    if (st->failure == TC_NODE_FAIL_FORK) {
        w_timeline(w, e, "FAILED (sticky): fork alarm");
        return;
    }
    w_timeline(w, e, "FAILED (sticky, %s) at h=%llu: %s (%s)", tc_node_failure_name(st->failure),
               (unsigned long long)st->failure_height, st->failure_cause,
               tc_strerror(st->failure_code));
    if (!n->byzantine)
        w_violation(w, "integrity", e, UINT32_MAX, "%s entered its sticky %s failure: %s (%s)",
                    n->name, tc_node_failure_name(st->failure), st->failure_cause,
                    tc_strerror(st->failure_code));
}

/* ---- committed blocks, re-verified (docs/RULES.md) ---- */

/* One period of smooth weighted round robin over the set (PROTOCOL 12.2), written out here
 * rather than taken from bft: the checker must not share the code it checks. */
static bool schedule_build(w_epoch_set *set)
{
    if (set->schedule != NULL)
        return true;
    uint64_t total = set->weight_total;
    if (total == 0 || total > W_SCHEDULE_MAX || set->count == 0)
        return false;
    int64_t *cur = calloc(set->count, sizeof(*cur));
    set->schedule = calloc((size_t)total, sizeof(*set->schedule));
    if (cur == NULL || set->schedule == NULL) {
        free(cur);
        free(set->schedule);
        set->schedule = NULL;
        return false;
    }
    for (uint64_t k = 0; k < total; k++) {
        uint32_t best = 0;
        for (uint32_t i = 0; i < set->count; i++) {
            cur[i] += set->weights[i];
            if (cur[i] > cur[best])
                best = i;
        }
        cur[best] -= (int64_t)total;
        set->schedule[k] = best;
    }
    free(cur);
    return true;
}

static uint32_t schedule_proposer(w_epoch_set *set, uint64_t height, uint32_t round)
{
    if (!schedule_build(set))
        return UINT32_MAX;
    uint64_t w = set->weight_total;
    return set->schedule[((height % w) + (round % w)) % w];
}

/* The header of node e's block at height (out's body stays empty): every check of a committed
 * block below is about its header, and decoding the transactions too was 3% of a 4-validator
 * run. A body that would not decode is the store's integrity (its checksums) and the node's. */
static int read_block(tc_world *w, uint32_t e, uint64_t height, tc_block *out)
{
    return tc_chain_stored_header(w->nodes[e].store, height, out);
}

static int read_tip_commit(tc_world *w, uint32_t e, tc_commit *out)
{
    return tc_node_stored_tip_commit(w->nodes[e].store, out);
}

/* NULL when c certifies (height, block) under the set of height's epoch, else what is wrong. */
static const char *cert_fault(tc_world *w, uint32_t e, const tc_commit *c, uint64_t height,
                              const tc_hash *block)
{
    static const tc_hash zero;
    const w_epoch_set *set = epoch_set(w, e, epoch_of(w, e, height));
    if (set == NULL)
        return NULL; /* the set does not read: the integrity checks report the store */
    if (c->height != height || memcmp(c->block.b, block->b, TC_HASH_SIZE) != 0 ||
        memcmp(c->block.b, zero.b, TC_HASH_SIZE) == 0)
        return "it certifies another block";
    uint64_t weight = 0;
    for (uint32_t i = 0; i < c->sig_count; i++) {
        uint32_t v = c->sigs[i].validator;
        if (v >= set->count)
            return "a signer is not a member of the set";
        if (i > 0 && v <= c->sigs[i - 1].validator)
            return "its signers are not strictly increasing";
        weight += set->weights[v];
    }
    if (weight < set->weight_total * 2 / 3 + 1)
        return "its signers weigh less than a quorum";
    tc_verifier verifier = {.scheme = w->scheme, .cache = w->cache, .elements = w->elements};
    for (uint32_t i = 0; i < c->sig_count; i++) {
        tc_vote vote;
        tc_commit_vote(c, i, &vote);
        if (tc_vote_verify(&vote, &verifier, &set->keys[c->sigs[i].validator]) != 0)
            return "a signature is not its signer's precommit";
    }
    return NULL;
}

static uint64_t latest_clock(tc_world *w)
{
    uint64_t t = 0;
    for (uint32_t e = 0; e < w->count; e++)
        t = w_local(w, e) > t ? w_local(w, e) : t;
    return t;
}

/* What the chain of blocks cannot vouch for by itself, checked once per (height, hash): the
 * proposer of the header's round, the parent's certificate, the future bound. */
static void verify_content(tc_world *w, uint32_t e, const tc_block *b, const tc_hash *hash)
{
    const tc_block_header *h = &b->header;
    w_height *slot = height_slot(w, h->height);
    if (slot == NULL ||
        (slot->verified && memcmp(slot->verified_hash.b, hash->b, TC_HASH_SIZE) == 0))
        return;
    const char *name = w->nodes[e].name;
    unsigned long long height = (unsigned long long)h->height;
    bool ok = true;
    w_epoch_set *set = (w_epoch_set *)epoch_set(w, e, epoch_of(w, e, h->height));
    uint32_t proposer = set != NULL ? schedule_proposer(set, h->height, h->round) : UINT32_MAX;
    if (proposer != UINT32_MAX && proposer != h->proposer) {
        ok = false;
        w_violation(w, "committed-block", e, UINT32_MAX,
                    "%s committed h=%llu r=%u proposed by validator %u, not %u (the round's)", name,
                    height, h->round, h->proposer, proposer);
    }
    const char *why =
        h->height > 1 ? cert_fault(w, e, &h->last_commit, h->height - 1, &h->parent) : NULL;
    if (why != NULL) {
        ok = false;
        w_violation(w, "committed-block", e, UINT32_MAX,
                    "%s committed h=%llu whose parent's certificate is invalid: %s", name, height,
                    why);
    }
    uint64_t bound = latest_clock(w) + w->genesis.profile.block_time_future_max_ms;
    if (h->time_ms > bound) {
        ok = false;
        w_violation(w, "committed-block", e, UINT32_MAX,
                    "%s committed h=%llu stamped %llu ms past the latest clock", name, height,
                    (unsigned long long)(h->time_ms - latest_clock(w)));
    }
    if (ok && !slot->verified) {
        slot->verified = true;
        slot->verified_hash = *hash;
    }
}

/* Block `height` of node e: its parent link and time, then its content. */
static void verify_committed(tc_world *w, uint32_t e, uint64_t height)
{
    w_node *n = &w->nodes[e];
    tc_block b;
    int rc = read_block(w, e, height, &b);
    if (rc != 0) {
        w_violation(w, "committed-block", e, UINT32_MAX, "%s: its block %llu does not read (%s)",
                    n->name, (unsigned long long)height, tc_strerror(rc));
        return;
    }
    tc_hash hash;
    tc_block_hash(&b.header, &hash);
    const tc_hash *parent = height == 1 ? &w->genesis_hash : &n->checked_hash;
    TC_ASSERT(n->checked_height + 1 == height);
    if (memcmp(b.header.parent.b, parent->b, TC_HASH_SIZE) != 0)
        w_violation(w, "committed-block", e, UINT32_MAX,
                    "%s committed h=%llu whose parent is not its block %llu", n->name,
                    (unsigned long long)height, (unsigned long long)(height - 1));
    else if (height > 1 && b.header.time_ms <= n->checked_time_ms)
        w_violation(w, "committed-block", e, UINT32_MAX,
                    "%s committed h=%llu stamped %llu, not after its parent's %llu", n->name,
                    (unsigned long long)height, (unsigned long long)b.header.time_ms,
                    (unsigned long long)n->checked_time_ms);
    verify_content(w, e, &b, &hash);
    n->checked_height = height;
    n->checked_hash = hash;
    n->checked_time_ms = b.header.time_ms;
    tc_block_deinit(&b);
}

/* A node whose tip went back (a crash that lost writes) is checked on from its new tip. */
static void rebase(tc_world *w, uint32_t e, uint64_t height)
{
    w_node *n = &w->nodes[e];
    tc_block b;
    n->checked_height = height;
    n->checked_hash = w->genesis_hash;
    n->checked_time_ms = 0;
    if (height == 0 || read_block(w, e, height, &b) != 0)
        return;
    tc_block_hash(&b.header, &n->checked_hash);
    n->checked_time_ms = b.header.time_ms;
    tc_block_deinit(&b);
}

static void check_committed(tc_world *w, uint32_t e, const tc_node_status *st)
{
    w_node *n = &w->nodes[e];
    if (st->height < n->checked_height)
        rebase(w, e, st->height);
    for (uint64_t h = n->checked_height + 1; h <= st->height; h++)
        verify_committed(w, e, h);
    tc_commit tip;
    if (st->height == 0 || read_tip_commit(w, e, &tip) != 0)
        return;
    const char *why = tip.height == st->height ? cert_fault(w, e, &tip, st->height, &st->tip)
                                               : NULL; /* written with the next apply */
    if (why != NULL)
        w_violation(w, "committed-block", e, UINT32_MAX,
                    "%s holds an invalid certificate for its tip h=%llu: %s", n->name,
                    (unsigned long long)st->height, why);
    tc_commit_deinit(&tip);
}

/* After every call into node e. What is read here — the sticky failure (SIMULATOR.md, Checkers:
 * `integrity`) and, after a commit, the tip (`convergence`) — can change only within a call, so it
 * is read after every call, except when the call's own result already said that the node is not
 * failed and it committed nothing: tc_node_recv returns TC_EFAILED whenever the node ends the
 * call in its sticky failed state (node.h, core/node.c), so a delivery (nearly every call of a
 * run) that returns anything else left it healthy, and reading the whole status again (a scan
 * of the peer table in the core) would only confirm it. */
void w_check_after_call(tc_world *w, uint32_t e, bool committed, bool reported_healthy)
{
    w_node *n = &w->nodes[e];
    TC_ASSERT(n->node != NULL);
    if (reported_healthy && !committed)
        return;
    tc_node_status st;
    tc_node_status_get(n->node, &st);
    (void)TC_NEVER(reported_healthy && st.failed); /* tc_node_recv's word is wrong */
    if (st.failed && !n->failed_seen)
        on_failed(w, e, &st);
    if (committed && !n->byzantine) {
        check_root(w, e, &st);
        check_committed(w, e, &st);
    }
}

/* Opens a chain on node e's store and runs the integrity check. With a proof (the end check),
 * the first store is checked in full and gives the proof; the others are checked against it
 * while their sets agree (honest stores at one height hold the same set, lock states aside),
 * in full otherwise. Without one (proof NULL: after a restart), in full. */
static int store_integrity(tc_world *w, uint32_t e, tc_chain_utxo_proof *proof, bool *have_proof)
{
    tc_chain *chain = NULL;
    tc_verifier v = {.scheme = w->scheme, .cache = w->cache, .elements = w->elements};
    int rc = tc_chain_open(w->nodes[e].store, &w->genesis, &v, &chain);
    if (rc != 0)
        return rc;
    bool against = proof != NULL && *have_proof;
    if (against)
        rc = tc_chain_verify_integrity_against(chain, proof);
    if (!against || rc == TC_ENOTFOUND) {
        rc = tc_chain_verify_integrity(chain);
        if (rc == 0 && proof != NULL && !*have_proof)
            *have_proof = tc_chain_utxo_proof_get(chain, proof) == 0;
    }
    tc_chain_free(chain);
    return rc;
}

void w_check_restart(tc_world *w, uint32_t e)
{
    w_node *n = &w->nodes[e];
    if (n->store == NULL && w_store_open(w, e) != 0)
        return; /* the start reports it */
    int rc = store_integrity(w, e, NULL, NULL);
    if (rc != 0 && !n->byzantine)
        w_violation(w, "integrity", e, UINT32_MAX,
                    "%s: its store fails the integrity check "
                    "after the crash (%s)",
                    n->name, tc_strerror(rc));
}

void w_check_probe(tc_world *w, uint32_t k, bool closing)
{
    w_checks *c = &w->checks;
    TC_ASSERT(k < w->scn.expect_count && w->scn.expects[k].kind == TC_SCN_EXP_LIVENESS);
    TC_ASSERT(closing ? c->probe_state[k] == 1 : c->probe_state[k] == 0);
    uint64_t *snap = &c->probe_heights[(size_t)k * w->count];
    if (!closing) {
        for (uint32_t e = 0; e < w->count; e++)
            snap[e] = w->nodes[e].height;
        c->probe_state[k] = 1;
        c->probe_ok[k] = true;
        return;
    }
    c->probe_state[k] = 2;
    for (uint32_t e = 0; e < w->count; e++) {
        const w_node *n = &w->nodes[e];
        if (n->byzantine || n->node == NULL || n->height > snap[e] || !c->probe_ok[k])
            continue;
        c->probe_ok[k] = false;
        snprintf(c->probe_detail[k], sizeof(c->probe_detail[k]), "%s stayed at height %llu",
                 n->name, (unsigned long long)n->height);
    }
}

void w_check_end(tc_world *w)
{
    /* Every honest store's UTXO root is checked against its entries. Recomputing an LtHash
     * element per entry per store made this check a fifth of a short run; a store whose META
     * and entries equal a store verified in full is vouched for by that verification. */
    tc_chain_utxo_proof proof;
    bool have_proof = false;
    for (uint32_t e = 0; e < w->count; e++) {
        w_node *n = &w->nodes[e];
        if (n->byzantine || n->node == NULL || n->failed_seen)
            continue;
        int rc = store_integrity(w, e, &proof, &have_proof);
        if (rc != 0)
            w_violation(w, "supply", e, UINT32_MAX,
                        "%s: the UTXO set or supply does not "
                        "balance at the end (%s)",
                        n->name, tc_strerror(rc));
    }
}
