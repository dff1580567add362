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
    n->out.actions = tc_calloc(NODE_ACTIONS_MAX, sizeof(*n->out.actions));
    n->out.arena = tc_calloc(NODE_ARENA_MAX, sizeof(*n->out.arena));
    return n->out.actions != NULL && n->out.arena != NULL ? 0 : TC_ENOMEM;
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
    TC_ASSERT(n->out.head < NODE_ACTIONS_MAX && n->out.count <= NODE_ACTIONS_MAX);
    *out = n->out.actions[n->out.head];
    n->out.head = (n->out.head + 1) % NODE_ACTIONS_MAX;
    n->out.count--;
    return true;
}

tc_action *node_outbox_push(tc_node *n, tc_action_kind kind)
{
    if (n->out.count == NODE_ACTIONS_MAX) {
        n->out.dropped++;
        return NULL;
    }
    tc_action *a = &n->out.actions[(n->out.head + n->out.count) % NODE_ACTIONS_MAX];
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

/* Our own gossip must not come back to us as news: its id goes into the seen filter. */
static void mark_seen(tc_node *n, const tc_msg *m, const uint8_t *f, size_t len)
{
    if (!is_gossip(m->type))
        return;
    tc_hash id;
    tc_peer_gossip_id(n->peers, f, len, &id);
    (void)tc_peer_seen_check_and_add(n->peers, &id);
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

void node_outbox_assert(const tc_node *n)
{
    TC_ASSERT(n->out.actions != NULL && n->out.arena != NULL);
    TC_ASSERT(n->out.head < NODE_ACTIONS_MAX && n->out.count <= NODE_ACTIONS_MAX);
    TC_ASSERT(n->out.arena_count <= NODE_ARENA_MAX);
    TC_ASSERT(n->fail.failed == (n->fail.kind != TC_NODE_FAIL_NONE));
    TC_ASSERT(!n->fail.failed || n->fail.cause != NULL);
}
