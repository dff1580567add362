/* node_outbox.c — the bottom of the node (node_internal.h): the action queue the driver drains,
 * the frames behind its SENDs, sending and broadcasting, and the sticky failure.
 */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

#define READY_IDS_MAX 256 /* READY peers one broadcast reaches */

/* ---- the queue and the arena ---- */

int node_outbox_init(tc_node *n)
{
    n->out.actions = tc_calloc(NODE_ACTIONS_MIN, sizeof(*n->out.actions));
    n->out.cap = NODE_ACTIONS_MIN;
    n->out.arena = tc_calloc(NODE_ARENA_MAX, sizeof(*n->out.arena));
    if (n->out.actions == NULL || n->out.arena == NULL)
        return TC_ENOMEM;
    tc_gossip_config gc = {0}; /* the defaults of gossip.h */
    int rc = tc_voteg_new(&n->out.votes);
    return rc != 0 ? rc : tc_gossip_new(&gc, tc_rng_u64(&n->rng), &n->out.gossip);
}

static void arena_reset(tc_node *n)
{
    for (uint32_t i = 0; i < n->out.arena_count; i++)
        free(n->out.arena[i]);
    n->out.arena_count = 0;
}

void node_outbox_deinit(tc_node *n)
{
    if (n->out.arena != NULL)
        arena_reset(n);
    free(n->out.arena);
    free(n->out.actions);
    tc_gossip_free(n->out.gossip);
    tc_voteg_free(n->out.votes);
    memset(&n->out, 0, sizeof(n->out));
}

void node_outbox_begin(tc_node *n)
{
    arena_reset(n);
    n->out.dropped += n->out.count;
    n->out.head = 0;
    n->out.count = 0;
}

bool node_outbox_next(tc_node *n, tc_action *out)
{
    if (n->out.count == 0)
        return false;
    TC_ASSERT(n->out.head < n->out.cap && n->out.count <= n->out.cap);
    *out = n->out.actions[n->out.head];
    n->out.head = (n->out.head + 1) % n->out.cap;
    n->out.count--;
    return true;
}

/* Doubles the action ring (up to NODE_ACTIONS_MAX), its actions moved in order to the front:
 * most calls queue a handful, a broadcast one per peer. false when full or out of memory. */
static bool actions_grow(tc_node *n)
{
    if (n->out.cap == NODE_ACTIONS_MAX)
        return false;
    uint32_t cap = n->out.cap * 2 > NODE_ACTIONS_MAX ? NODE_ACTIONS_MAX : n->out.cap * 2;
    tc_action *a = tc_malloc((size_t)cap * sizeof(*a));
    if (a == NULL)
        return false;
    for (uint32_t i = 0; i < n->out.count; i++)
        a[i] = n->out.actions[(n->out.head + i) % n->out.cap];
    free(n->out.actions);
    n->out.actions = a;
    n->out.head = 0;
    n->out.cap = cap;
    return true;
}

tc_action *node_outbox_push(tc_node *n, tc_action_kind kind)
{
    if (n->out.count == n->out.cap && !actions_grow(n)) {
        n->out.dropped++;
        return NULL;
    }
    tc_action *a = &n->out.actions[(n->out.head + n->out.count) % n->out.cap];
    n->out.count++;
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    return a;
}

/* Keeps a copy of a frame in the arena; NULL when the arena is full or memory ran out. */
static const uint8_t *arena_keep(tc_node *n, const uint8_t *frame, size_t len)
{
    if (n->out.arena_count == NODE_ARENA_MAX)
        return NULL;
    uint8_t *copy = tc_malloc(len);
    if (copy == NULL)
        return NULL;
    memcpy(copy, frame, len);
    n->out.arena[n->out.arena_count++] = copy;
    return copy;
}

static void queue_send(tc_node *n, tc_peer_id peer, const uint8_t *frame, size_t len)
{
    tc_action *a = node_outbox_push(n, TC_ACTION_SEND);
    if (a == NULL)
        return;
    a->peer = peer;
    a->frame = frame;
    a->frame_len = len;
}

void node_notify(tc_node *n, const tc_notify *note)
{
    tc_action *a = node_outbox_push(n, TC_ACTION_NOTIFY);
    if (a != NULL)
        a->notify = *note;
}

/* ---- the sticky failure ---- */

const char *tc_node_failure_name(tc_node_failure_kind kind)
{
    switch (kind) {
    case TC_NODE_FAIL_NONE:
        return "none";
    case TC_NODE_FAIL_STORE:
        return "store";
    case TC_NODE_FAIL_MEMORY:
        return "memory";
    case TC_NODE_FAIL_CORRUPTION:
        return "corruption";
    case TC_NODE_FAIL_FORK:
        return "fork";
    }
    return "?";
}

tc_node_failure_kind node_failure_kind_of(int code)
{
    switch (code) {
    case TC_ENOMEM:
        return TC_NODE_FAIL_MEMORY;
    case TC_ESTORE_IO:
    case TC_ESTORE_FAULT:
    case TC_ESTORE_MAPFULL:
        return TC_NODE_FAIL_STORE;
    case TC_ESTORE_CORRUPT:
    case TC_ESTORE_TXN:
    case TC_EBLK_SUPPLY:
    case TC_EFAILED:
        return TC_NODE_FAIL_CORRUPTION;
    default:
        return TC_NODE_FAIL_NONE;
    }
}

void node_fail(tc_node *n, tc_node_failure_kind kind, int code, const char *cause)
{
    TC_ASSERT(n != NULL && kind != TC_NODE_FAIL_NONE && cause != NULL);
    if (n->fail.failed)
        return; /* the first cause is the one worth reading; the rest follow from it */
    n->fail.failed = true;
    n->fail.kind = kind;
    n->fail.code = code;
    n->fail.cause = cause;
    n->fail.height = tc_chain_height(n->chain);
    n->fail.ms = n->clock_ms;
    tc_notify note = {.kind = TC_NOTIFY_FAILED,
                      .cause = (uint32_t)kind,
                      .code = code,
                      .height = n->fail.height,
                      .text = cause};
    node_notify(n, &note);
    TC_ASSERT(n->fail.failed && n->fail.kind != TC_NODE_FAIL_NONE);
}

void node_fail_code(tc_node *n, int code, const char *cause)
{
    TC_ASSERT(code != 0);
    tc_node_failure_kind kind = node_failure_kind_of(code);
    node_fail(n, kind != TC_NODE_FAIL_NONE ? kind : TC_NODE_FAIL_CORRUPTION, code, cause);
}

bool node_fail_local(tc_node *n, int code, const char *cause)
{
    tc_node_failure_kind kind = node_failure_kind_of(code);
    if (kind != TC_NODE_FAIL_STORE && kind != TC_NODE_FAIL_CORRUPTION)
        return false;
    node_fail(n, kind, code, cause);
    return true;
}

/* ---- sending ---- */

static const uint8_t *encode_frame(tc_node *n, const tc_msg *m, size_t *len_out)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (tc_msg_encode_alloc(m, &bytes, &len) != 0)
        return NULL;
    if (len > tc_chain_profile(n->chain)->frame_size_max || n->out.arena_count == NODE_ARENA_MAX) {
        free(bytes);
        return NULL;
    }
    n->out.arena[n->out.arena_count++] = bytes;
    *len_out = len;
    return bytes;
}

int node_send(tc_node *n, tc_peer_id peer, const tc_msg *m)
{
    size_t len;
    const uint8_t *f = encode_frame(n, m, &len);
    if (f == NULL)
        return TC_EENCODE;
    queue_send(n, peer, f, len);
    return 0;
}

static bool is_gossip(uint8_t type)
{
    return type == TC_MSG_TX || type == TC_MSG_VOTE_BATCH || type == TC_MSG_PROPOSAL ||
           type == TC_MSG_PREVOTE || type == TC_MSG_PRECOMMIT || type == TC_MSG_HEARTBEAT ||
           type == TC_MSG_HANDOFF || type == TC_MSG_EVIDENCE;
}

/* Our own gossip must not come back to us as news: its key goes into the seen filter. */
static void mark_seen(tc_node *n, const tc_msg *m, const uint8_t *f, size_t len)
{
    if (!is_gossip(m->type))
        return;
    tc_hash key;
    tc_peer_gossip_id(n->peers, m, f, len, &key);
    (void)tc_peer_seen_check_and_add(n->peers, &key);
}

/* The READY peers (at most READY_IDS_MAX), except one when has_except; returns their count. */
static uint32_t ready_peers(tc_node *n, bool has_except, tc_peer_id except,
                            tc_peer_id ids[READY_IDS_MAX])
{
    uint32_t count = tc_peer_ready_ids(n->peers, ids, READY_IDS_MAX);
    if (count > READY_IDS_MAX)
        count = READY_IDS_MAX;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < count; i++)
        if (!has_except || ids[i] != except)
            ids[kept++] = ids[i];
    return kept;
}

/* Queues f to the ready peers (but except): all of them, or `fanout` drawn at random. */
static void send_to_ready(tc_node *n, const uint8_t *f, size_t len, bool has_except,
                          tc_peer_id except, uint32_t fanout)
{
    tc_peer_id ids[READY_IDS_MAX];
    uint32_t count = ready_peers(n, has_except, except, ids);
    /* A partial Fisher-Yates shuffle picks the fan-out; fewer peers than that draw nothing. */
    uint32_t pick = count < fanout ? count : fanout;
    for (uint32_t i = 0; pick < count && i < pick; i++) {
        uint32_t j = i + (uint32_t)tc_rng_below(&n->rng, count - i);
        tc_peer_id t = ids[i];
        ids[i] = ids[j];
        ids[j] = t;
    }
    for (uint32_t i = 0; i < pick; i++)
        queue_send(n, ids[i], f, len);
}

static const uint8_t *broadcast(tc_node *n, const tc_msg *m, bool has_except, tc_peer_id except,
                                size_t *len_out)
{
    const uint8_t *f = encode_frame(n, m, len_out);
    if (f == NULL)
        return NULL;
    mark_seen(n, m, f, *len_out);
    send_to_ready(n, f, *len_out, has_except, except, UINT32_MAX);
    return f;
}

int node_broadcast(tc_node *n, const tc_msg *m, bool has_except, tc_peer_id except)
{
    size_t len;
    return broadcast(n, m, has_except, except, &len) != NULL ? 0 : TC_EENCODE;
}

const uint8_t *node_broadcast_own(tc_node *n, const tc_msg *m, size_t *len_out)
{
    return broadcast(n, m, false, 0, len_out);
}

const uint8_t *node_encode_own(tc_node *n, const tc_msg *m, size_t *len_out)
{
    const uint8_t *f = encode_frame(n, m, len_out);
    if (f != NULL)
        mark_seen(n, m, f, *len_out);
    return f;
}

void node_send_frame(tc_node *n, const uint8_t *frame, size_t len, bool has_except,
                     tc_peer_id except, uint32_t fanout)
{
    const uint8_t *f = arena_keep(n, frame, len);
    if (f != NULL)
        send_to_ready(n, f, len, has_except, except, fanout);
}

void node_offence(tc_node *n, tc_peer_id peer, tc_peer_offence_kind kind)
{
    (void)tc_peer_offence(n->peers, n->now_ms, peer, kind);
}

void node_status_msg(const tc_node *n, tc_msg *m)
{
    tc_bft_status bs;
    tc_bft_status_get(n->bft, &bs);
    memset(m, 0, sizeof(*m));
    m->type = TC_MSG_STATUS;
    m->status.height = tc_chain_height(n->chain);
    tc_chain_tip(n->chain, &m->status.tip);
    m->status.round = bs.round;
}

void node_send_bytes(tc_node *n, tc_peer_id peer, const uint8_t *frame, size_t len)
{
    const uint8_t *f = arena_keep(n, frame, len);
    if (f != NULL)
        queue_send(n, peer, f, len);
}

/* ---- announce-then-fetch (gossip.h) ---- */

static void send_invs(tc_node *n, tc_peer_id peer, uint8_t type, tc_msg_inv *items, uint32_t count);

void node_gossip_offer(tc_node *n, uint8_t type, const tc_hash *id, const uint8_t *frame,
                       size_t len, bool has_from, tc_peer_id from)
{
    TC_ASSERT(tc_msg_inv_type_ok(type) && id != NULL && frame != NULL);
    tc_msg_inv inv = {.type = type, .id = *id};
    if (type != TC_MSG_PROPOSAL) {
        (void)tc_gossip_offer(n->out.gossip, n->now_ms, &inv, frame, len, has_from, from);
        return;
    }
    /* A proposal is announced at once and to every peer: a round waits for it. */
    if (tc_gossip_keep(n->out.gossip, &inv, frame, len) != 0)
        return;
    tc_peer_id ids[READY_IDS_MAX];
    uint32_t count = ready_peers(n, has_from, from, ids);
    for (uint32_t i = 0; i < count; i++)
        send_invs(n, ids[i], TC_MSG_IHAVE, &inv, 1);
}

void node_gossip_arrived(tc_node *n, uint8_t type, const tc_hash *id)
{
    tc_msg_inv inv = {.type = type, .id = *id};
    tc_gossip_arrived(n->out.gossip, &inv);
}

static void send_invs(tc_node *n, tc_peer_id peer, uint8_t type, tc_msg_inv *items, uint32_t count)
{
    TC_ASSERT(count <= TC_MSG_INV_MAX);
    if (count == 0)
        return;
    tc_msg m = {.type = type};
    m.invs.count = count;
    m.invs.items = items;
    (void)node_send(n, peer, &m);
}

void node_gossip_on_ihave(tc_node *n, tc_peer_id peer, const tc_msg_invs *m)
{
    TC_ASSERT(m->count <= TC_MSG_INV_MAX);
    tc_msg_inv *want = tc_malloc((size_t)m->count * sizeof(*want));
    if (want == NULL)
        return; /* the announcement is lost; another announcer or re-gossip brings the object */
    uint32_t count = 0;
    for (uint32_t i = 0; i < m->count; i++) {
        tc_hash key;
        tc_peer_object_key(n->peers, m->items[i].type, &m->items[i].id, &key);
        if (tc_peer_seen_has(n->peers, &key))
            continue;
        if (tc_gossip_want(n->out.gossip, n->now_ms, peer, &m->items[i]) == 1)
            want[count++] = m->items[i];
    }
    send_invs(n, peer, TC_MSG_IWANT, want, count);
    free(want);
}

typedef struct {
    tc_node *n;
    tc_peer_id peer;
} answer_ctx;

/* One group of an IWANT's answer: a frame alone as itself, more as one BUNDLE. */
static void answer_group(void *ctx, const tc_msg_bundle_member *frames, uint32_t count)
{
    answer_ctx *a = ctx;
    if (count == 1) {
        node_send_bytes(a->n, a->peer, frames[0].frame, frames[0].len);
        return;
    }
    tc_msg m = {.type = TC_MSG_BUNDLE};
    m.bundle.count = count;
    m.bundle.members = (tc_msg_bundle_member *)frames; /* lent: encoding only reads it */
    (void)node_send(a->n, a->peer, &m);
}

/* The answer to an IWANT (PROTOCOL 10.9): the kept transactions and vote batches asked for
 * travel together in BUNDLE frames (tc_gossip_answer), so the receiver's per-frame costs are paid
 * once per answer instead of once per object; a proposal goes alone. */
void node_gossip_on_iwant(tc_node *n, tc_peer_id peer, const tc_msg_invs *m)
{
    TC_ASSERT(m->count <= TC_MSG_INV_MAX);
    size_t budget = tc_chain_profile(n->chain)->frame_size_max - TC_MSG_HEADER_SIZE - 4;
    budget = budget < TC_MSG_BUNDLE_BYTES_MAX ? budget : TC_MSG_BUNDLE_BYTES_MAX;
    answer_ctx a = {.n = n, .peer = peer};
    /* An id not kept (evicted, or never ours) is counted: an honest peer may ask late. */
    n->out.iwant_unknown +=
        tc_gossip_answer(n->out.gossip, m->items, m->count, budget, answer_group, &a);
}

/* A fetch retried: asked of its next announcer at once, one IWANT per id (retries are few). */
static void ask_again(void *ctx, uint32_t peer, const tc_msg_inv *inv)
{
    tc_msg_inv item = *inv;
    send_invs(ctx, peer, TC_MSG_IWANT, &item, 1);
}

/* One announcement round: every id queued goes to NODE_ANNOUNCE_FANOUT READY peers drawn from the
 * node's generator (one IHAVE each, split at TC_MSG_INV_MAX), except to the peer it came from. */
static void announce(tc_node *n)
{
    tc_peer_id ids[READY_IDS_MAX];
    uint32_t count = tc_peer_ready_ids(n->peers, ids, READY_IDS_MAX);
    count = count > READY_IDS_MAX ? READY_IDS_MAX : count;
    uint32_t pick = count < NODE_ANNOUNCE_FANOUT ? count : NODE_ANNOUNCE_FANOUT;
    for (uint32_t i = 0; pick < count && i < pick; i++) {
        uint32_t j = i + (uint32_t)tc_rng_below(&n->rng, count - i);
        tc_peer_id t = ids[i];
        ids[i] = ids[j];
        ids[j] = t;
    }
    uint32_t queued = tc_gossip_announce_count(n->out.gossip);
    tc_msg_inv *items = tc_malloc(TC_MSG_INV_MAX * sizeof(*items));
    for (uint32_t p = 0; items != NULL && p < pick; p++) {
        uint32_t k = 0;
        for (uint32_t i = 0; i < queued; i++) {
            bool has_from;
            uint32_t from;
            tc_gossip_announce_get(n->out.gossip, i, &items[k], &has_from, &from);
            k += !has_from || from != ids[p];
            if (k == TC_MSG_INV_MAX) {
                send_invs(n, ids[p], TC_MSG_IHAVE, items, k);
                k = 0;
            }
        }
        send_invs(n, ids[p], TC_MSG_IHAVE, items, k);
    }
    free(items);
    tc_gossip_announce_clear(n->out.gossip);
}

/* ---- consensus votes (gossip.h, PROTOCOL 10.9) ---- */

void node_votes_height(tc_node *n, uint64_t height, uint32_t count)
{
    tc_voteg_height(n->out.votes, height, count > 0 ? count : 1);
}

void node_votes_accepted(tc_node *n, const tc_vote *v, const uint8_t *frame, size_t len,
                         bool has_from, tc_peer_id from)
{
    (void)tc_voteg_add(n->out.votes, v, frame, len); /* another height: relayed, not kept */
    /* The eager mesh: a bounded number of peers at once, drawn afresh for every vote, so the
     * copies a node receives stay near the fan-out whatever the validator count; the bitmaps
     * fill what a draw missed. */
    if (has_from)
        node_send_frame(n, frame, len, true, from, NODE_VOTE_FANOUT);
}

void node_votes_on_bits(tc_node *n, tc_peer_id peer, const tc_msg_vote_bits *m)
{
    tc_voteg_on_bits(n->out.votes, n->now_ms, peer, m);
}

void node_votes_on_want(tc_node *n, tc_peer_id peer, const tc_msg_vote_bits *m)
{
    tc_voteg_stats st;
    tc_voteg_stats_get(n->out.votes, &st);
    if (m->height != st.height)
        return; /* another height: sync or the commit certificate serves it */
    uint32_t count = m->count < st.count ? m->count : st.count;
    for (uint32_t v = 0; v < count; v++) {
        size_t len;
        const uint8_t *f = m->bits[v / 8] & (1u << (v % 8))
                               ? tc_voteg_frame(n->out.votes, m->round, m->vote_type, v, &len)
                               : NULL;
        if (f != NULL)
            node_send_bytes(n, peer, f, len);
    }
}

static void want_votes(void *ctx, uint32_t peer, const tc_msg_vote_bits *want)
{
    tc_msg m = {.type = TC_MSG_VOTE_WANT};
    m.vote_bits = *want;
    (void)node_send(ctx, peer, &m);
}

/* One announcement round: the bitmaps of the tables that gained a vote (of all, every
 * NODE_RESEND_MS) to every READY peer, then the wants now due. */
static void votes_tick(tc_node *n)
{
    bool all = n->now_ms >= n->out.vote_full_ms;
    tc_msg_vote_bits *bits = tc_malloc(TC_VOTEG_ENTRIES_MAX * sizeof(*bits));
    uint32_t k =
        bits == NULL ? 0 : tc_voteg_take_bits(n->out.votes, all, bits, TC_VOTEG_ENTRIES_MAX);
    tc_peer_id ids[READY_IDS_MAX];
    uint32_t count = k == 0 ? 0 : ready_peers(n, false, 0, ids);
    tc_msg m = {.type = TC_MSG_VOTE_BITS};
    for (uint32_t i = 0; i < k; i++) {
        m.vote_bits = bits[i];
        size_t len;
        const uint8_t *f = encode_frame(n, &m, &len);
        for (uint32_t p = 0; f != NULL && p < count; p++)
            queue_send(n, ids[p], f, len);
    }
    free(bits);
    tc_voteg_tick(n->out.votes, n->now_ms, NODE_VOTE_BITS_MS, NODE_VOTE_RETRY_MS, want_votes, n);
    n->out.vote_tick_ms = n->now_ms + NODE_VOTE_BITS_MS;
    if (all)
        n->out.vote_full_ms = n->now_ms + NODE_RESEND_MS;
}

static uint64_t votes_next_deadline(const tc_node *n)
{
    if (tc_voteg_busy(n->out.votes))
        return n->out.vote_tick_ms;
    tc_voteg_stats st;
    tc_voteg_stats_get(n->out.votes, &st);
    return st.tables > 0 ? n->out.vote_full_ms : UINT64_MAX;
}

void node_gossip_tick(tc_node *n)
{
    uint64_t since = tc_gossip_announce_since(n->out.gossip);
    if (since != UINT64_MAX && n->now_ms >= since + NODE_ANNOUNCE_MS)
        announce(n);
    tc_gossip_tick(n->out.gossip, n->now_ms, ask_again, n);
    if (n->now_ms >= votes_next_deadline(n))
        votes_tick(n);
}

uint64_t node_gossip_next_deadline(const tc_node *n)
{
    uint64_t since = tc_gossip_announce_since(n->out.gossip);
    uint64_t d = since == UINT64_MAX ? UINT64_MAX : since + NODE_ANNOUNCE_MS;
    uint64_t f = tc_gossip_next_deadline(n->out.gossip);
    uint64_t v = votes_next_deadline(n);
    d = f < d ? f : d;
    return v < d ? v : d;
}

void node_outbox_assert(const tc_node *n)
{
    TC_ASSERT(n->out.gossip != NULL && n->out.votes != NULL);
    TC_ASSERT(n->out.actions != NULL && n->out.arena != NULL);
    TC_ASSERT(n->out.cap >= NODE_ACTIONS_MIN && n->out.cap <= NODE_ACTIONS_MAX);
    TC_ASSERT(n->out.head < n->out.cap && n->out.count <= n->out.cap);
    TC_ASSERT(n->out.arena_count <= NODE_ARENA_MAX);
    TC_ASSERT(n->fail.failed == (n->fail.kind != TC_NODE_FAIL_NONE));
    TC_ASSERT(!n->fail.failed || n->fail.cause != NULL);
}
