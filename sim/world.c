/* world.c — building a cluster from a scenario, the event loop, and everything between a node
 * and the rest of the world: its calls, the actions it returns, its timer on its own clock,
 * its connections, and the simulated network its frames cross (see world_internal.h).
 */
#include "world_internal.h"

#include "codec.h"
#include "msg.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GENESIS_TIME_MS 1767225600000ull /* 2026-01-01: any fixed value works */

/* ---- small helpers ---- */

void w_harness_fail(tc_world *w, const char *fmt, ...)
{
    if (w->harness_failed)
        return;
    w->harness_failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->harness_error, sizeof(w->harness_error), fmt, ap);
    va_end(ap);
}

/* ---- frames in flight ----
 *
 * A DELIVER event's payload is a w_frame: the bytes, and their trace digest. One w_frame is shared
 * by every event that carries the same bytes, counted by refs: a node's broadcast is one SEND
 * action per peer with the very same bytes (one copy and one digest then serve all of them), a
 * duplicated frame is two events, and a frame another node sent a moment before with equal bytes
 * is found again by the frame table below. Frames are immutable once made; the last holder to go
 * frees its frame. */

struct w_frame {
    uint32_t refs; /* events, the drain's memo and the frame table holding it */
    uint32_t len;
    uint64_t digest; /* w_frame_digest(bytes, len) */
    uint8_t bytes[];
};

static w_frame *frame_new(tc_world *w, const uint8_t *bytes, uint32_t len)
{
    TC_ASSERT(bytes != NULL && len > 0);
    w_frame *f = malloc(sizeof(*f) + len);
    if (f == NULL) {
        w_harness_fail(w, "out of memory for a frame");
        return NULL;
    }
    f->refs = 1;
    f->len = len;
    memcpy(f->bytes, bytes, len);
    f->digest = w_frame_digest(f->bytes, len);
    return f;
}

static void frame_release(w_frame *f)
{
    if (f == NULL)
        return;
    TC_ASSERT(f->refs > 0);
    if (--f->refs == 0)
        free(f);
}

/* ---- the frame table ----
 *
 * Most frames a node sends carry bytes that another node sent a moment before: a vote batch is
 * the same signed bytes on every node that answers an IWANT for it, and so are proposals and
 * relayed transactions (at 64 validators, about two new frames in three). The table keeps the
 * recent frames, one per slot, and a send whose bytes equal a kept frame's takes a reference to
 * it instead of a copy, an allocation and a digest. A slot is picked by a cheap key of a few
 * words; only a frame whose every byte is equal is shared, so what a node receives, and the
 * trace, are the same with the table or without it. */

#define FRAME_KEY_K 0x9e3779b97f4a7c15ull

static uint64_t key_round(uint64_t h, uint64_t word)
{
    h = (h ^ word) * FRAME_KEY_K;
    return h ^ (h >> 29);
}

/* The slot of bytes: the length and five words (both ends, the middle). Frames of one type and
 * length share their first words (length, type, epoch), which the words at the middle and the
 * end (ids, signatures) tell apart. */
static uint32_t frame_slot(const uint8_t *bytes, size_t len)
{
    uint64_t h = FRAME_KEY_K ^ (uint64_t)len;
    if (len < 16) {
        uint8_t pad[16] = {0};
        memcpy(pad, bytes, len);
        h = key_round(key_round(h, tc_load_u64(pad)), tc_load_u64(pad + 8));
    } else {
        h = key_round(h, tc_load_u64(bytes));
        h = key_round(h, tc_load_u64(bytes + 8));
        h = key_round(h, tc_load_u64(bytes + len / 2 - 4));
        h = key_round(h, tc_load_u64(bytes + len - 16));
        h = key_round(h, tc_load_u64(bytes + len - 8));
    }
    _Static_assert((W_FRAME_TABLE_SLOTS & (W_FRAME_TABLE_SLOTS - 1)) == 0, "slots: a power of 2");
    return (uint32_t)(h >> 32) & (W_FRAME_TABLE_SLOTS - 1);
}

w_frame *w_frame_get(tc_world *w, const uint8_t *bytes, size_t len)
{
    TC_ASSERT(bytes != NULL && len > 0 && len <= UINT32_MAX);
    w_frame **slot = &w->frame_table[frame_slot(bytes, len)];
    w_frame *f = *slot;
    if (f != NULL && f->len == len && memcmp(f->bytes, bytes, len) == 0) {
        f->refs++;
        w->frames_shared++;
        return f;
    }
    f = frame_new(w, bytes, (uint32_t)len);
    if (f == NULL)
        return NULL;
    w->frames_made++;
    if (*slot != NULL) { /* the newest frame takes the slot */
        TC_ASSERT(w->frame_table_bytes >= (*slot)->len);
        w->frame_table_bytes -= (*slot)->len;
        frame_release(*slot);
        *slot = NULL;
    }
    if (len <= W_FRAME_TABLE_BYTES - w->frame_table_bytes) {
        f->refs++;
        *slot = f;
        w->frame_table_bytes += len;
    }
    TC_ASSERT(w->frame_table_bytes <= W_FRAME_TABLE_BYTES);
    return f;
}

const uint8_t *w_frame_bytes(const w_frame *f, uint32_t *len_out)
{
    *len_out = f->len;
    return f->bytes;
}

void w_frame_put(w_frame *f)
{
    frame_release(f);
}

/* Lets go of every frame the table keeps (the world's end). */
static void frame_table_clear(tc_world *w)
{
    for (uint32_t i = 0; i < W_FRAME_TABLE_SLOTS; i++) {
        if (w->frame_table[i] == NULL)
            continue;
        w->frame_table_bytes -= w->frame_table[i]->len;
        frame_release(w->frame_table[i]);
        w->frame_table[i] = NULL;
    }
    TC_ASSERT(w->frame_table_bytes == 0);
}

void w_push(tc_world *w, const tc_evq_event *ev)
{
    TC_ASSERT(ev->kind != 0 && ev->time_ms >= w->now_ms);
    TC_ASSERT(ev->payload == NULL || ev->kind == TC_EVQ_DELIVER);
    int rc = tc_evq_push(w->evq, ev, NULL);
    if (rc != 0) {
        frame_release(ev->payload); /* refused: the reference stayed ours */
        if (rc == TC_EFULL)
            w_harness_fail(w, "event queue full (%u events): raise W_EVQ_PER_NODE",
                           tc_evq_capacity(w->evq));
        else
            w_harness_fail(w, "out of memory for the event queue (%u events)",
                           tc_evq_count(w->evq));
    }
}

static void drop_event(void *ctx, tc_evq_event *ev)
{
    (void)ctx;
    frame_release(ev->payload);
}

/* floor(a / b) for b > 0, also for negative a (C division truncates toward zero). */
static int64_t floor_div(int64_t a, int64_t b)
{
    TC_ASSERT(b > 0);
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* Local time of node e at global time t: t0 + t + offset + floor(t * drift / 10^6). Drift is
 * measured from the start of the run, so a drifting clock starts where its offset puts it. */
static int64_t local_at(const tc_world *w, uint32_t e, uint64_t t)
{
    const w_node *n = &w->nodes[e];
    int64_t ti = (int64_t)t;
    return (int64_t)w->t0_ms + ti + n->offset_ms + floor_div(ti * n->drift_ppm, 1000000);
}

uint64_t w_local(const tc_world *w, uint32_t e)
{
    int64_t l = local_at(w, e, w->now_ms);
    return l < 0 ? 0 : (uint64_t)l;
}

/* The earliest global time >= now at which node e's clock reads at least local. The clock is
 * non-decreasing in t (|drift| < 10^6 ppm), so an estimate is corrected by single steps. */
static uint64_t global_of_local(const tc_world *w, uint32_t e, uint64_t local)
{
    if (local > (uint64_t)INT64_MAX / 2)
        return UINT64_MAX;
    const w_node *n = &w->nodes[e];
    int64_t want = (int64_t)local;
    int64_t base = want - (int64_t)w->t0_ms - n->offset_ms;
    int64_t t = base <= 0 ? 0 : floor_div(base * 1000000, 1000000 + n->drift_ppm);
    if (t < (int64_t)w->now_ms)
        t = (int64_t)w->now_ms;
    for (int k = 0; k < 4 && local_at(w, e, (uint64_t)t) < want; k++)
        t++;
    while (local_at(w, e, (uint64_t)t) < want)
        t++; /* never more than a few steps: the estimate is off by rounding only */
    while (t > (int64_t)w->now_ms && local_at(w, e, (uint64_t)(t - 1)) >= want)
        t--;
    return (uint64_t)t;
}

static uint32_t *conn_slot(tc_world *w, uint32_t a, uint32_t b)
{
    TC_ASSERT(a < w->count && b < w->count && a != b);
    uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
    return &w->conn[(size_t)lo * w->count + hi];
}

static uint32_t conn_get(tc_world *w, uint32_t a, uint32_t b)
{
    return a == b || a >= w->count || b >= w->count ? 0 : *conn_slot(w, a, b);
}

/* Peers e has finished a handshake with: where an adversary sends what it makes up, as the
 * honest core gossips only to them (a frame before the handshake would merely close the
 * connection, and the flood or the garbage would never reach a peer's policy). */
uint32_t w_ready_peers_of(tc_world *w, uint32_t e, uint32_t *out)
{
    uint32_t k = 0;
    for (uint32_t j = 0; j < w->count; j++)
        if (conn_get(w, e, j) != 0 && w->ready[(size_t)e * w->count + j])
            out[k++] = j;
    return k;
}

int w_endpoint_of_addr(const tc_world *w, const char *addr)
{
    for (uint32_t j = 0; j < w->count; j++)
        if (strcmp(w->nodes[j].addr, addr) == 0)
            return (int)j;
    return -1;
}

/* ---- the network ---- */

/* The frame a drain made last, with the node's bytes it copies: the node's SEND actions of one
 * drain point into the node and stay unchanged until the next call into it (node.h), so equal
 * pointer and length mean equal bytes. The memo holds a reference of its own. */
typedef struct {
    const uint8_t *src;
    size_t len;
    w_frame *frame;
} frame_memo;

/* The frame for bytes: the memo's when it copies these very bytes, else the table's (remembered
 * in memo when there is one). Returns a new reference, or NULL when out of memory. */
static w_frame *frame_for(tc_world *w, const uint8_t *bytes, size_t len, frame_memo *memo)
{
    if (memo != NULL && memo->frame != NULL && memo->src == bytes && memo->len == len) {
        memo->frame->refs++;
        return memo->frame;
    }
    w_frame *f = w_frame_get(w, bytes, len);
    if (f != NULL && memo != NULL) {
        frame_release(memo->frame);
        *memo = (frame_memo){.src = bytes, .len = len, .frame = f};
        f->refs++;
    }
    return f;
}

/* Sends bytes from `from` to `to` over the network model. memo: the drain's (honest SENDs), or
 * NULL for bytes that may change between two sends (an adversary's). */
static void net_send(tc_world *w, uint32_t from, uint32_t to, const uint8_t *bytes, size_t len,
                     frame_memo *memo)
{
    TC_ASSERT(from < w->count && bytes != NULL && len > 0);
    uint32_t gen = conn_get(w, from, to);
    if (gen == 0 || len > UINT32_MAX)
        return; /* no connection: what a socket write to a closed peer does */
    tc_net_verdict v;
    tc_net_send(w->net, from, to, w->now_ms, (uint32_t)len, &v);
    TC_ASSERT(v.copies <= 2 && (v.copies == 0 || v.deliver_ms[0] >= w->now_ms));
    for (uint32_t c = 0; c < v.copies && c < 2; c++) {
        w_frame *f = frame_for(w, bytes, len, memo);
        if (f == NULL)
            return;
        tc_evq_event ev = {.time_ms = v.deliver_ms[c],
                           .kind = TC_EVQ_DELIVER,
                           .node = to,
                           .from = from,
                           .len = (uint32_t)len,
                           .arg = gen,
                           .payload = f};
        w_push(w, &ev);
    }
}

typedef struct {
    tc_world *w;
    uint32_t from;
} emit_ctx;

static void adv_emit(void *ctx, uint32_t to, const uint8_t *frame, size_t len)
{
    emit_ctx *c = ctx;
    net_send(c->w, c->from, to, frame, len, NULL);
}

static void send_action(tc_world *w, uint32_t e, const tc_action *a, frame_memo *memo)
{
    w_node *n = &w->nodes[e];
    if (a->peer >= w->count)
        return;
    if (n->adv == NULL) {
        net_send(w, e, a->peer, a->frame, a->frame_len, memo);
        return;
    }
    uint32_t peer_count = w_ready_peers_of(w, e, w->peer_scratch);
    emit_ctx c = {w, e};
    tc_adv_on_send(n->adv, w_local(w, e), a->peer, w->peer_scratch, peer_count, a->frame,
                   a->frame_len, adv_emit, &c);
}

/* ---- connections ---- */

static void conn_close(tc_world *w, uint32_t a, uint32_t b);

void w_connect_now(tc_world *w, uint32_t from, uint32_t to)
{
    if (from == to || w->nodes[from].node == NULL || w->nodes[to].node == NULL ||
        conn_get(w, from, to) != 0)
        return;
    uint32_t gen = ++w->conn_gen;
    TC_ASSERT(gen != 0);
    *conn_slot(w, from, to) = gen;
    w_trace(w, from, "up %s out", w->nodes[to].name);
    tc_node_peer_up(w->nodes[from].node, w_local(w, from), to, w->nodes[to].addr, false);
    w_after_call(w, from);
    if (conn_get(w, from, to) != gen || w->nodes[to].node == NULL)
        return; /* the dialler refused it at once (a banned host, a limit) */
    w_trace(w, to, "up %s in", w->nodes[from].name);
    tc_node_peer_up(w->nodes[to].node, w_local(w, to), from, w->nodes[from].addr, true);
    w_after_call(w, to);
}

/* Closes the connection a-b: both ends learn it (a reset reaches the other side at once). */
static void conn_close(tc_world *w, uint32_t a, uint32_t b)
{
    if (conn_get(w, a, b) == 0)
        return;
    *conn_slot(w, a, b) = 0;
    w->ready[(size_t)a * w->count + b] = w->ready[(size_t)b * w->count + a] = 0;
    uint32_t ends[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        uint32_t me = ends[k], other = ends[1 - k];
        if (w->nodes[me].node == NULL)
            continue;
        w_trace(w, me, "down %s", w->nodes[other].name);
        tc_node_peer_down(w->nodes[me].node, w_local(w, me), other);
        w_after_call(w, me);
    }
}

/* A CONNECT action: the dial completes after one link latency, if the link is not cut. */
static void on_connect_action(tc_world *w, uint32_t e, const char *addr)
{
    int to = w_endpoint_of_addr(w, addr);
    if (to < 0 || (uint32_t)to == e)
        return;
    tc_net_link p;
    tc_net_link_get(w->net, e, (uint32_t)to, &p);
    tc_evq_event ev = {.time_ms = w->now_ms + p.latency_ms + 1,
                       .kind = TC_EVQ_CONNECT,
                       .node = (uint32_t)to,
                       .from = e};
    w_push(w, &ev);
}

static void on_connect_event(tc_world *w, const tc_evq_event *ev)
{
    w_node *a = &w->nodes[ev->from], *b = &w->nodes[ev->node];
    if (a->node == NULL || b->node == NULL || tc_net_is_cut(w->net, ev->from, ev->node) ||
        tc_net_is_cut(w->net, ev->node, ev->from))
        return; /* the SYN or its answer is lost: the dialler's attempt times out */
    if (a->paused || b->paused) {
        tc_evq_event again = *ev;
        again.time_ms = a->paused ? a->resume_ms : b->resume_ms;
        w_push(w, &again);
        return;
    }
    w_connect_now(w, ev->from, ev->node);
}

/* ---- a node's actions ---- */

/* Drains node e's actions; returns whether it committed a block. DISCONNECTs are carried out
 * after the drain, because a call into the node ends the life of the actions' frames. */
static bool drain(tc_world *w, uint32_t e)
{
    TC_ASSERT(e < w->count && w->nodes[e].node != NULL);
    w_node *n = &w->nodes[e];
    tc_action a;
    uint32_t closed_count = 0;
    uint32_t *closed = NULL;
    bool committed = false;
    frame_memo memo = {0};
    while (n->node != NULL && tc_node_next_action(n->node, &a)) {
        if (a.kind == TC_ACTION_SEND) {
            if (w->checks.cr_on)
                w_check_send(w, e, a.frame, a.frame_len);
            send_action(w, e, &a, &memo);
        } else if (a.kind == TC_ACTION_CONNECT) {
            on_connect_action(w, e, a.addr);
        } else if (a.kind == TC_ACTION_DISCONNECT && a.peer < w->count) {
            if (closed == NULL && (closed = malloc(w->count * sizeof(*closed))) == NULL) {
                w_harness_fail(w, "out of memory");
                break;
            }
            if (closed_count < w->count)
                closed[closed_count++] = a.peer;
        } else if (a.kind == TC_ACTION_NOTIFY) {
            /* A state sync moves the tip as a commit does (checked the same way after it). */
            committed |=
                a.notify.kind == TC_NOTIFY_BLOCK_COMMITTED || a.notify.kind == TC_NOTIFY_STATE_SYNC;
            if (a.notify.kind == TC_NOTIFY_PEER_READY && a.notify.peer < w->count)
                w->ready[(size_t)e * w->count + a.notify.peer] = 1;
            w_check_notify(w, e, &a.notify);
        }
    }
    frame_release(memo.frame); /* the node's bytes it copied are gone with the next call */
    for (uint32_t k = 0; k < closed_count; k++)
        conn_close(w, e, closed[k]);
    free(closed);
    return committed;
}

void w_schedule_timer(tc_world *w, uint32_t e)
{
    w_node *n = &w->nodes[e];
    if (n->node == NULL || n->paused)
        return;
    uint64_t local = tc_node_next_deadline(n->node);
    /* A deadline no earlier than the queued timer's maps to no earlier a global time (the clock
     * never goes back between two jumps, and a jump clears timer_at): nothing to queue. Most
     * calls end here, without the division of global_of_local. */
    if (n->timer_at != UINT64_MAX && local >= n->timer_local)
        return;
    uint64_t g = global_of_local(w, e, local);
    TC_ASSERT(g == UINT64_MAX || g >= w->now_ms);
    TC_ASSERT(g == UINT64_MAX || local_at(w, e, g) >= (int64_t)local);
    if (g >= n->timer_at || g > w->end_ms)
        return; /* one at least as early is queued, or it falls after the run */
    n->timer_at = g;
    n->timer_local = local;
    tc_evq_event ev = {.time_ms = g, .kind = TC_EVQ_TIMER, .node = e, .arg = ++n->timer_gen};
    w_push(w, &ev);
}

void w_schedule_adv(tc_world *w, uint32_t e)
{
    w_node *n = &w->nodes[e];
    if (n->adv == NULL || n->node == NULL || n->paused)
        return;
    uint64_t d = tc_adv_next_deadline(n->adv);
    if (d == UINT64_MAX)
        return;
    uint64_t g = global_of_local(w, e, d);
    if (g <= w->now_ms)
        g = w->now_ms + 1; /* an adversary's work is never more urgent than the next ms */
    if (g >= n->adv_at || g > w->end_ms)
        return;
    n->adv_at = g;
    tc_evq_event ev = {.time_ms = g, .kind = W_EV_ADV_TIMER, .node = e, .arg = ++n->adv_gen};
    w_push(w, &ev);
}

/* After every call into node e: a lose-writes crash strikes if the call wrote to the store or
 * the armed fault failed a commit of it that wrote nothing, which puts the node in its sticky
 * store failure (node.h) (what the call would send never leaves); otherwise its
 * actions are carried out, the invariants checked, its timer set. reported_healthy: the call's
 * own result said that the node is not in its sticky failed state (w_check_after_call). */
static bool dying_failed(const w_node *n)
{
    tc_node_status st;
    tc_node_status_get(n->node, &st);
    return st.failed;
}

static void after_call(tc_world *w, uint32_t e, bool reported_healthy)
{
    w_node *n = &w->nodes[e];
    if (n->node == NULL)
        return;
    if (n->dying && (tc_store_mem_write_count(n->store) != n->writes_at_arm || dying_failed(n))) {
        w_trace(w, e, "crash-struck");
        w_timeline(w, e, "CRASH strikes during a store commit: its writes are lost");
        w_node_crash(w, e);
        return;
    }
    if (w->depth >= W_DRAIN_DEPTH_MAX) {
        w_harness_fail(w, "nested disconnects deeper than %d", W_DRAIN_DEPTH_MAX);
        return;
    }
    w->depth++;
    bool committed = drain(w, e);
    w->depth--;
    if (n->node == NULL)
        return;
    w_check_after_call(w, e, committed, reported_healthy);
    w_schedule_timer(w, e);
    w_schedule_adv(w, e);
}

void w_after_call(tc_world *w, uint32_t e)
{
    after_call(w, e, false);
}

/* After tc_node_recv, which returned rc. It returns TC_EFAILED whenever the node ends the call
 * in its sticky failed state (node.h: TC_EFAILED means a sticky failure; core/node.c). */
static void after_recv(tc_world *w, uint32_t e, int rc)
{
    after_call(w, e, rc != TC_EFAILED);
}

/* ---- node lifecycle ---- */

int w_store_open(tc_world *w, uint32_t e)
{
    w_node *n = &w->nodes[e];
    if (w->scn.storage == TC_SCN_STORAGE_MEM) {
        n->store = tc_store_mem_new();
        return n->store == NULL ? TC_ENOMEM : 0;
    }
    if (n->lmdb_dir[0] == 0) {
        snprintf(n->lmdb_dir, sizeof(n->lmdb_dir), "/tmp/timesim-XXXXXX");
        if (mkdtemp(n->lmdb_dir) == NULL) {
            n->lmdb_dir[0] = 0;
            return TC_ESTORE_IO;
        }
    }
    return tc_store_lmdb_open(n->lmdb_dir, (size_t)1 << 30, &n->store);
}

static void store_remove(w_node *n)
{
    tc_store_close(n->store);
    n->store = NULL;
    if (n->lmdb_dir[0] == 0)
        return;
    static const char *const files[] = {"data.mdb", "lock.mdb"};
    char path[128];
    for (size_t k = 0; k < TC_ARRAY_LEN(files); k++) {
        snprintf(path, sizeof(path), "%s/%s", n->lmdb_dir, files[k]);
        unlink(path);
    }
    rmdir(n->lmdb_dir);
    n->lmdb_dir[0] = 0;
}

void w_node_start(tc_world *w, uint32_t e)
{
    w_node *n = &w->nodes[e];
    TC_ASSERT(n->node == NULL);
    if (n->store == NULL && w_store_open(w, e) != 0) {
        w_violation(w, "integrity", e, UINT32_MAX, "%s: its store does not reopen", n->name);
        return;
    }
    tc_node_config c = {.genesis = &w->genesis,
                        .scheme = w->scheme,
                        .listen_port = w->genesis.profile.p2p_port,
                        .seed_count = w->count - 1,
                        .elements = w->elements,
                        .hashes = tc_sim_memo_iface(w->hashes),
                        .inputs = w->inputs};
    memcpy(c.identity_seed, n->identity_seed, TC_SEED_SIZE);
    /* A fresh generator per start: a restarted node replaying its old HELLO nonces would be
     * refused as a replayed handshake (node.h). */
    tc_seed_derive(c.rng_seed, w->master, "node-rng", ((uint64_t)n->starts << 20) | e);
    /* Every other node is a seed: the node's own peer policy redials what it loses. */
    const char *others[W_PEERS_MAX];
    uint32_t k = 0;
    for (uint32_t j = 0; j < w->count; j++)
        if (j != e)
            others[k++] = w->seeds[j];
    c.seeds = others;
    n->starts++;
    w_trace(w, e, "start %u", n->starts);
    int rc = tc_node_new(&c, n->store, w->cache, w_local(w, e), &n->node);
    if (rc != 0) {
        n->node = NULL;
        if (!n->byzantine)
            w_violation(w, "integrity", e, UINT32_MAX, "%s does not come back: tc_node_new: %s",
                        n->name, tc_strerror(rc));
        return;
    }
    n->failed_seen = n->fork_seen = false;
    n->timer_at = n->adv_at = UINT64_MAX;
    w_after_call(w, e);
}

static bool event_of_node(void *ctx, const tc_evq_event *ev)
{
    const uint32_t *e = ctx;
    return ev->kind == TC_EVQ_DELIVER && (ev->node == *e || ev->from == *e);
}

void w_node_crash(tc_world *w, uint32_t e)
{
    TC_ASSERT(e < w->count);
    w_node *n = &w->nodes[e];
    if (n->node == NULL)
        return;
    tc_node_free(n->node);
    n->node = NULL;
    if (w->scn.storage == TC_SCN_STORAGE_MEM) {
        tc_store_mem_crash(n->store);
        tc_store_mem_faults none = {0};
        tc_store_mem_set_faults(n->store, &none);
    } else {
        tc_store_close(n->store); /* the process died: LMDB keeps what it committed */
        n->store = NULL;
    }
    n->paused = n->dying = false;
    n->timer_gen++;
    n->adv_gen++;
    n->timer_at = n->adv_at = UINT64_MAX;
    (void)tc_evq_remove_if(w->evq, event_of_node, &e);
    w_load_orphan(w, e);
    for (uint32_t j = 0; j < w->count; j++)
        conn_close(w, e, j);
    TC_ASSERT(n->node == NULL && n->timer_at == UINT64_MAX);
}

/* ---- building the world ---- */

static int make_nodes(tc_world *w)
{
    const tc_scn *s = &w->scn;
    w->nodes = calloc(w->count, sizeof(*w->nodes));
    w->seeds = calloc(w->count, sizeof(*w->seeds));
    w->conn = calloc((size_t)w->count * w->count, sizeof(*w->conn));
    w->ready = calloc((size_t)w->count * w->count, 1);
    w->peer_scratch = calloc(w->count, sizeof(*w->peer_scratch));
    if (w->nodes == NULL || w->seeds == NULL || w->conn == NULL || w->peer_scratch == NULL ||
        w->ready == NULL)
        return TC_ENOMEM;
    for (uint32_t e = 0; e < w->count; e++) {
        w_node *n = &w->nodes[e];
        n->id = tc_scn_endpoint_node(s, e);
        tc_scn_node_name(n->id, n->name);
        snprintf(n->addr, sizeof(n->addr), "10.%u.%u.1:%u", e / 256, e % 256,
                 (unsigned)w->genesis.profile.p2p_port);
        w->seeds[e] = n->addr;
        const char *label = n->id.kind == TC_SCN_FULLNODE ? "fullnode" : "validator";
        tc_seed_derive(n->identity_seed, w->master, label, n->id.index);
        tc_keypair kp;
        tc_keypair_from_seed(&kp, n->identity_seed);
        n->pub = kp.pub;
        n->timer_at = n->adv_at = UINT64_MAX;
    }
    return 0;
}

/* Byzantine at any time (setup or timeline), twins included: such a node is never "honest". */
static void mark_byzantine(tc_world *w)
{
    const tc_scn *s = &w->scn;
    uint32_t e;
    for (uint32_t k = 0; k < s->byz_count; k++) {
        if (tc_scn_endpoint(s, s->byz[k].node, &e) == 0)
            w->nodes[e].byzantine = true;
        tc_scn_node twin = {TC_SCN_TWIN, s->byz[k].node.index};
        if (s->byz[k].kind == TC_SCN_BYZ_TWIN && tc_scn_endpoint(s, twin, &e) == 0)
            w->nodes[e].byzantine = true;
    }
    for (uint32_t k = 0; k < s->event_count; k++)
        if (s->events[k].kind == TC_SCN_EV_BYZANTINE &&
            tc_scn_endpoint(s, s->events[k].node, &e) == 0)
            w->nodes[e].byzantine = true;
    for (e = 0; e < w->count; e++)
        w->nodes[e].client_target = !w->nodes[e].byzantine && w->nodes[e].id.kind != TC_SCN_TWIN;
    for (uint32_t k = 0; k < s->clock_count; k++) {
        if (tc_scn_endpoint(s, s->clocks[k].node, &e) != 0)
            continue;
        w->nodes[e].offset_ms = s->clocks[k].offset_ms;
        w->nodes[e].drift_ppm = s->clocks[k].drift_ppm;
    }
}

static int make_genesis(tc_world *w, char *err, size_t err_len)
{
    const tc_scn *s = &w->scn;
    uint8_t *tiers = calloc(s->node_count, 1);
    if (tiers == NULL)
        return TC_ENOMEM;
    for (uint32_t i = 0; i < s->node_count; i++)
        tiers[i] = (uint8_t)tc_scn_tier(s, (tc_scn_node){TC_SCN_VALIDATOR, i});
    uint32_t coins = 0;
    int rc = w_load_init(w, &coins);
    /* The genesis is made without wallet outputs and the load's own are put in after: making them
     * in tc_genesis_create would derive an Ed25519 key pair per output only for w_load_genesis to
     * overwrite its address (thousands of key pairs, a large share of a short run's setup). */
    if (rc == 0)
        rc = tc_genesis_create(&w->genesis, (tc_network)s->network, w->master, s->node_count, tiers,
                               0, TC_UNITS_PER_TIME, GENESIS_TIME_MS);
    if (rc == 0 && coins > 0) {
        w->genesis.outputs = tc_calloc(coins, sizeof(*w->genesis.outputs));
        rc = w->genesis.outputs != NULL ? 0 : TC_ENOMEM;
        w->genesis.output_count = rc == 0 ? coins : 0;
    }
    free(tiers);
    if (rc != 0) {
        snprintf(err, err_len, "genesis: %s", tc_strerror(rc));
        return rc == TC_ENOMEM ? rc : TC_EINVAL;
    }
    w->genesis.profile = s->profile; /* the scenario's profile: defaults + overrides */
    w_load_genesis(w, &w->genesis);
    char why[200];
    rc = tc_genesis_check(&w->genesis, why, sizeof(why));
    if (rc != 0) {
        snprintf(err, err_len, "genesis: %s", why);
        return TC_EINVAL;
    }
    tc_genesis_hash(&w->genesis, &w->genesis_hash);
    w->t0_ms = GENESIS_TIME_MS + 1000;
    return 0;
}

static int make_network(tc_world *w)
{
    const tc_scn *s = &w->scn;
    uint8_t seed[TC_SEED_SIZE];
    tc_seed_derive(seed, w->master, "net", 0);
    int rc = tc_net_new(w->count, &s->net, seed, &w->net);
    for (uint32_t k = 0; rc == 0 && k < s->link_count; k++) {
        uint32_t a, b;
        const tc_scn_link *l = &s->links[k];
        if (tc_scn_endpoint(s, l->a, &a) != 0 || tc_scn_endpoint(s, l->b, &b) != 0 || a == b)
            continue;
        tc_net_link p;
        tc_scn_link_params(s, l->a, l->b, &p);
        rc = tc_net_link_set(w->net, a, b, &p);
        tc_scn_link_params(s, l->b, l->a, &p);
        if (rc == 0)
            rc = tc_net_link_set(w->net, b, a, &p);
    }
    if (rc == 0)
        rc = tc_evq_new(w_evq_capacity(w->count), drop_event, NULL, &w->evq);
    uint8_t cache_key[TC_SEED_SIZE];
    tc_seed_derive(cache_key, w->master, "verify-cache", 0);
    if (rc == 0 && (w->cache = tc_verify_cache_new(1u << 16, cache_key)) == NULL)
        rc = TC_ENOMEM;
    /* Elements live from an output's creation to its spend; 4096 (9 MB) hold several simulated
     * seconds of a 200 tx/s load. A cache holding the whole live set (32,768 entries at the
     * 30 s bench) took 6% of the instructions off but cost more time than it saved: every hit
     * reads a 2 KiB element from memory, and first touches of the larger table were about
     * 29,000 more page faults a run on this VM (system time 0.36 -> 1.67 s for 3 runs). */
    if (rc == 0 && (w->elements = tc_lthash_cache_new(4096)) == NULL)
        rc = TC_ENOMEM;
    /* Vote batches in flight: a few hundred at 64 validators, each a few hundred bytes there and
     * up to 16 KiB at 1,024 (512 txids); 4096 slots keep slot collisions rare, and 8 MiB caps
     * the copies whatever the batches' size. */
    if (rc == 0 && (w->hashes = tc_sim_memo_new(W_HASH_MEMO_SLOTS, W_HASH_MEMO_BYTES)) == NULL)
        rc = TC_ENOMEM;
    /* An input is looked up from its transaction's first admission to its last (a few hundred
     * ms across the nodes): 2,048 entries (390 KB) hold 10 s of a 200 tx/s load, and the memory
     * first touched stays small (a larger memo costs page faults, see above). */
    if (rc == 0 && (w->inputs = tc_input_memo_new(1u << 11)) == NULL)
        rc = TC_ENOMEM;
    return rc;
}

uint32_t w_evq_capacity(uint32_t count)
{
    uint64_t cap = (uint64_t)count * W_EVQ_PER_NODE;
    if (cap < W_EVQ_CAPACITY)
        cap = W_EVQ_CAPACITY;
    return cap > TC_EVQ_CAPACITY_MAX ? TC_EVQ_CAPACITY_MAX : (uint32_t)cap;
}

/* A balanced full mesh: i dials j when j is within the half of the ring after i, so no node
 * holds more than about half its connections as outbound. Used while that half fits in the
 * profile's outbound_max (up to 2 * outbound_max + 1 nodes): every pair is connected. */
static void connect_full(tc_world *w)
{
    for (uint32_t i = 0; i < w->count; i++) {
        for (uint32_t j = 0; j < w->count; j++) {
            uint32_t ahead = (j + w->count - i) % w->count;
            bool dial = ahead != 0 && (2 * ahead < w->count || (2 * ahead == w->count && i < j));
            if (dial)
                w_connect_now(w, i, j);
        }
    }
}

/* Larger networks: every node dials its successor on the ring (so the graph is connected
 * whatever the draws) and then, in rounds, one node drawn from the seed per round until it
 * holds outbound_max dials. The random chords give a diameter of about log(n) hops; the full
 * mesh's rule here would have made each node dial only the outbound_max after it, a ring whose
 * diameter grows as n / (2 * outbound_max) (32 hops at 1,024 nodes). */
static void connect_random(tc_world *w, uint32_t per_node)
{
    TC_ASSERT(w->count > 2 && per_node > 0);
    uint8_t seed[TC_SEED_SIZE];
    tc_seed_derive(seed, w->master, "topology", 0);
    tc_rng rng;
    tc_rng_init(&rng, seed);
    for (uint32_t i = 0; i < w->count; i++)
        w_connect_now(w, i, (i + 1) % w->count);
    for (uint32_t round = 1; round < per_node; round++) {
        for (uint32_t i = 0; i < w->count; i++) {
            for (int tries = 0; tries < 8; tries++) { /* a few redraws for taken pairs */
                uint32_t j = (uint32_t)tc_rng_below(&rng, w->count);
                if (j != i && conn_get(w, i, j) == 0) {
                    w_connect_now(w, i, j);
                    break;
                }
            }
        }
    }
}

static void connect_mesh(tc_world *w)
{
    uint32_t per_node = w->genesis.profile.outbound_max;
    if (w->count <= 2 * per_node + 1 || per_node == 0)
        connect_full(w);
    else
        connect_random(w, per_node);
}

static void schedule_timeline(tc_world *w)
{
    const tc_scn *s = &w->scn;
    for (uint32_t k = 0; k < s->event_count; k++) {
        if (s->events[k].at_ms > w->end_ms)
            break;
        tc_evq_event ev = {.time_ms = s->events[k].at_ms, .kind = TC_EVQ_SCENARIO, .arg = k};
        w_push(w, &ev);
    }
    w->liveness_from_ms = w_last_fault_end(s);
    for (uint32_t k = 0; k < s->expect_count; k++) {
        const tc_scn_expect *x = &s->expects[k];
        if (x->kind != TC_SCN_EXP_LIVENESS)
            continue;
        uint64_t from = x->after_heal ? w->liveness_from_ms : x->after_ms;
        tc_evq_event open = {.time_ms = from, .kind = W_EV_PROBE, .arg = 2ull * k};
        tc_evq_event close = {
            .time_ms = from + x->within_ms, .kind = W_EV_PROBE, .arg = 2ull * k + 1};
        if (open.time_ms <= w->end_ms)
            w_push(w, &open);
        if (close.time_ms <= w->end_ms)
            w_push(w, &close);
    }
}

static int start_all(tc_world *w)
{
    const tc_scn *s = &w->scn;
    for (uint32_t e = 0; e < w->count; e++)
        if (w_store_open(w, e) != 0)
            return TC_ESTORE_IO;
    for (uint32_t e = 0; e < w->count; e++)
        w_node_start(w, e);
    for (uint32_t k = 0; k < s->byz_count; k++) {
        uint32_t e;
        if (s->byz[k].kind != TC_SCN_BYZ_TWIN && tc_scn_endpoint(s, s->byz[k].node, &e) == 0 &&
            w_adv_make(w, e, s->byz[k].kind, s->byz[k].flood_per_s) != 0)
            return TC_ENOMEM;
    }
    connect_mesh(w);
    return 0;
}

int tc_world_new(const tc_scn *s, const tc_world_opts *opts, tc_world **out, char *err,
                 size_t err_len)
{
    TC_ASSERT(s != NULL && opts != NULL && out != NULL);
    *out = NULL;
    if (err_len > 0)
        err[0] = 0;
    if (s->chaos_faults > 0) {
        /* Chaos mode draws faults from the seed; this world runs scripted timelines only, and
         * a chaos scenario run without its faults would pass for the wrong reason. */
        snprintf(err, err_len, "chaos mode is not supported by this simulator yet");
        return TC_EINVAL;
    }
    tc_world *w = calloc(1, sizeof(*w));
    if (w == NULL || tc_scn_copy(&w->scn, s) != 0) {
        free(w);
        return TC_ENOMEM;
    }
    w->opts = *opts;
    w->seed = opts->seed;
    tc_seed_from_u64(w->master, w->seed);
    w->scheme = s->crypto == TC_SCN_CRYPTO_FAST ? TC_SIG_FAST : TC_SIG_ED25519;
    w->end_ms = opts->until_ms != 0 ? opts->until_ms : s->run_ms;
    w->count = tc_scn_endpoint_count(s);
    w->next_progress_ms = 10000;
    tc_hasher_init(&w->fp, "tc/sim/trace");
    int rc = make_genesis(w, err, err_len);
    if (rc == 0)
        rc = make_nodes(w);
    if (rc == 0) {
        mark_byzantine(w);
        rc = make_network(w);
    }
    if (rc == 0)
        rc = w_checks_init(w);
    if (rc == 0)
        rc = start_all(w);
    if (rc == 0) {
        schedule_timeline(w);
        w_load_start(w);
    }
    if (rc != 0) {
        if (err_len > 0 && err[0] == 0)
            snprintf(err, err_len, "cannot build the world: %s", tc_strerror(rc));
        tc_world_free(w);
        return rc;
    }
    w_trace_flush(w); /* the start's lines: a result read now sees them too */
    *out = w;
    return 0;
}

void tc_world_free(tc_world *w)
{
    if (w == NULL)
        return;
    tc_evq_free(w->evq);
    frame_table_clear(w);
    for (uint32_t e = 0; w->nodes != NULL && e < w->count; e++) {
        tc_node_free(w->nodes[e].node);
        tc_adv_free(w->nodes[e].adv);
        if (w->nodes[e].store != NULL || w->nodes[e].lmdb_dir[0] != 0)
            store_remove(&w->nodes[e]);
    }
    w_load_free(w);
    w_checks_free(w);
    tc_net_free(w->net);
    tc_verify_cache_free(w->cache);
    tc_lthash_cache_free(w->elements);
    tc_sim_memo_free(w->hashes);
    tc_input_memo_free(w->inputs);
    tc_genesis_deinit(&w->genesis);
    tc_scn_free(&w->scn);
    free(w->expects);
    free(w->nodes);
    free(w->seeds);
    free(w->conn);
    free(w->ready);
    free(w->peer_scratch);
    free(w);
}

/* ---- the event loop ---- */

/* The rule breakers act on what their node relays (adversary.h: "per proposal relayed", "after
 * relaying a transfer"), but an honest core now announces transactions, vote batches and
 * proposals instead of pushing them on (PROTOCOL 10.9). A node with an adversary therefore pushes
 * each such frame it was handed on to its other peers through the adversary, as every node did
 * before: a Byzantine node may push what it likes, and its peers drop the copies. */
static void adv_relay(tc_world *w, uint32_t e, uint32_t from, const uint8_t *frame, uint32_t len)
{
    w_node *n = &w->nodes[e];
    uint8_t type = len > TC_MSG_LEN_SIZE ? frame[TC_MSG_LEN_SIZE] : 0;
    if (n->adv == NULL || n->node == NULL || !tc_msg_inv_type_ok(type))
        return;
    uint32_t peer_count = w_ready_peers_of(w, e, w->peer_scratch);
    emit_ctx c = {w, e};
    for (uint32_t i = 0; i < peer_count; i++)
        if (w->peer_scratch[i] != from)
            tc_adv_on_send(n->adv, w_local(w, e), w->peer_scratch[i], w->peer_scratch, peer_count,
                           frame, len, adv_emit, &c);
}

static void on_deliver(tc_world *w, tc_evq_event *ev)
{
    TC_ASSERT(ev->node < w->count && ev->from < w->count && ev->payload != NULL);
    w_node *n = &w->nodes[ev->node];
    w_frame *f = ev->payload;
    TC_ASSERT(f->refs > 0 && f->len == ev->len);
    if (n->node == NULL || conn_get(w, ev->from, ev->node) != ev->arg) {
        frame_release(f);
        return; /* the connection it rode on is gone */
    }
    if (n->paused) {
        ev->time_ms = n->resume_ms; /* waits in the socket buffer; order kept by seq */
        w_push(w, ev);
        return;
    }
    w_trace_recv(w, ev->node, ev->from, f->bytes, f->len, f->digest);
    int rc = tc_node_recv(n->node, w_local(w, ev->node), ev->from, f->bytes, f->len);
    w->frames_delivered++;
    w->frames_bytes += f->len;
    if (rc == TC_EPEER_DUPLICATE) {
        w->frames_duplicate++;
        w->frames_duplicate_bytes += f->len;
    }
    after_recv(w, ev->node, rc);
    if (rc == 0)
        adv_relay(w, ev->node, ev->from, f->bytes, f->len);
    frame_release(f);
}

static void on_timer(tc_world *w, const tc_evq_event *ev)
{
    TC_ASSERT(ev->node < w->count && ev->arg <= w->nodes[ev->node].timer_gen);
    w_node *n = &w->nodes[ev->node];
    if (n->node == NULL || n->paused || ev->arg != n->timer_gen)
        return;
    n->timer_at = UINT64_MAX;
    uint64_t local = w_local(w, ev->node);
    w_trace_tick(w, ev->node, local);
    tc_node_tick(n->node, local);
    w_after_call(w, ev->node);
}

static void on_adv_timer(tc_world *w, const tc_evq_event *ev)
{
    w_node *n = &w->nodes[ev->node];
    if (n->node == NULL || n->adv == NULL || n->paused || ev->arg != n->adv_gen)
        return;
    n->adv_at = UINT64_MAX;
    uint32_t peer_count = w_ready_peers_of(w, ev->node, w->peer_scratch);
    emit_ctx c = {w, ev->node};
    tc_adv_tick(n->adv, w_local(w, ev->node), w->peer_scratch, peer_count, adv_emit, &c);
    w_schedule_adv(w, ev->node);
}

static void dispatch(tc_world *w, tc_evq_event *ev)
{
    switch (ev->kind) {
    case TC_EVQ_DELIVER:
        on_deliver(w, ev);
        break;
    case TC_EVQ_TIMER:
        on_timer(w, ev);
        break;
    case TC_EVQ_SCENARIO:
        w_fault_apply(w, &w->scn.events[ev->arg]);
        break;
    case TC_EVQ_CLIENT:
        w_load_client(w, (uint32_t)ev->arg);
        break;
    case TC_EVQ_RESUME:
        w_fault_resume(w, ev->node);
        break;
    case TC_EVQ_CONNECT:
        on_connect_event(w, ev);
        break;
    case W_EV_ADV_TIMER:
        on_adv_timer(w, ev);
        break;
    case W_EV_PROBE:
        w_check_probe(w, (uint32_t)(ev->arg / 2), (ev->arg & 1) != 0);
        break;
    case W_EV_DIE:
        w_fault_die(w, ev->node);
        break;
    default:
        TC_ASSERT(false && "unknown event kind");
    }
}

static void progress(tc_world *w)
{
    if (w->now_ms < w->next_progress_ms)
        return;
    w->next_progress_ms += 10000;
    if (w->opts.progress == NULL)
        return;
    uint64_t lo = UINT64_MAX, hi = 0, views = 0;
    for (uint32_t e = 0; e < w->count; e++) {
        const w_node *n = &w->nodes[e];
        if (n->byzantine)
            continue;
        lo = n->height < lo ? n->height : lo;
        hi = n->height > hi ? n->height : hi;
        views += n->view_changes;
    }
    fprintf(w->opts.progress,
            "timesim: %s t=%llus heights %llu..%llu view-changes %llu txs %llu/%llu final "
            "violations %llu events %llu\n",
            w->scn.name[0] ? w->scn.name : "run", (unsigned long long)(w->now_ms / 1000),
            (unsigned long long)(lo == UINT64_MAX ? 0 : lo), (unsigned long long)hi,
            (unsigned long long)views, (unsigned long long)w->load.finalized,
            (unsigned long long)w->load.accepted, (unsigned long long)w->checks.violation_count,
            (unsigned long long)w->events);
}

int tc_world_run(tc_world *w)
{
    TC_ASSERT(w != NULL);
    while (!w->harness_failed) {
        tc_evq_event ev;
        if (tc_evq_pop_until(w->evq, w->end_ms, &ev) != 0)
            break; /* nothing left, or nothing due before the end */
        TC_ASSERT(ev.time_ms >= w->now_ms && ev.time_ms <= w->end_ms);
        w->now_ms = ev.time_ms;
        w->events++;
        dispatch(w, &ev);
        progress(w);
    }
    if (!w->harness_failed)
        w->now_ms = w->end_ms;
    w_trace_flush(w); /* the fingerprint and the trace file are whole from here on */
    w_check_end(w);
    return w->harness_failed ? TC_EFAILED : 0;
}

uint32_t tc_world_node_count(const tc_world *w)
{
    return w->count;
}

void tc_world_node_info_get(const tc_world *w, uint32_t e, tc_world_node_info *out)
{
    TC_ASSERT(e < w->count);
    const w_node *n = &w->nodes[e];
    memset(out, 0, sizeof(*out));
    memcpy(out->name, n->name, sizeof(out->name));
    out->up = n->node != NULL;
    out->honest = !n->byzantine;
    out->height = n->height;
    out->view_changes = n->view_changes;
    out->state_syncs = n->state_syncs;
    out->snapshot_refused = n->snapshot_refused;
    out->failure = n->failure.failure;
    out->failure_code = n->failure.failure_code;
    out->failure_cause = n->failure.failure != TC_NODE_FAIL_NONE ? n->failure.failure_cause : "";
    out->failure_sim_ms = n->failure_sim_ms;
    out->validator = UINT32_MAX;
    if (n->node != NULL) { /* read here, not after every call: only the summary shows it */
        tc_node_status st;
        tc_node_status_get(n->node, &st);
        out->validator = st.validator;
        out->bans = st.bans;
        out->quorum_lost = st.quorum_lost;
    }
}
