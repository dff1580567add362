/* live.c — the live driver (live.h): sockets, frames, the timer, and the node's actions. */
#include "live.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "msg.h"
#include "verify_pool.h"

#define READ_BUF_SIZE  (64u << 10)
#define SWEEP_MS       1000
#define DEPTH_MAX      8 /* nested calls into the node from closes inside a drain */
#define DIAL_BOOK_MAX  256
#define BAN_TABLE_MAX  1024
#define CLOSE_LIST_MAX 256
#define JOB_QUEUE_MAX  512 /* a peer's frames waiting for their checks; reading pauses past it */
#define TD_MIN(a, b)   ((a) < (b) ? (a) : (b))

typedef struct td_peer td_peer;
struct td_peer {
    uv_tcp_t tcp; /* first: the handle's address is the peer's */
    td_live *live;
    td_peer *next;
    tc_peer_id id;
    char addr[TC_NODE_ADDR_MAX];
    bool inbound, up, ready, closing;
    uint64_t opened_ms;
    uint8_t hdr[4];
    uint32_t hdr_got;
    uint8_t *frame; /* allocated once the length passed the limit */
    size_t frame_len, frame_got;
    uint8_t *out; /* this loop pass's batch */
    size_t out_len, out_cap;
    size_t inflight; /* bytes handed to uv_write, not yet written */
    /* Frames in arrival order, each waiting for its signature checks (verify pool) or ready. */
    struct td_job *jobs_head, *jobs_tail;
    uint32_t jobs_queued;  /* in the queue */
    uint32_t jobs_running; /* handed to a worker, this peer's struct must outlive them */
    bool handle_closed;    /* uv's close callback ran; freed when no job runs */
    bool read_paused;
};

typedef struct td_job {
    uv_work_t work;
    td_peer *peer;
    struct td_job *next;
    uint8_t *frame;
    size_t len;
    td_sig_check *checks;
    size_t check_count;
    bool done;
    bool orphan; /* its peer closed: dropped when the worker finishes */
} td_job;

typedef struct {
    char addr[TC_NODE_ADDR_MAX];
    uint32_t failures;
    uint64_t next_ms;
} dial_entry;

typedef struct {
    char host[16];
    uint64_t until_ms;
} ban_entry;

typedef struct {
    tc_peer_id id;
    const char *reason;
} close_req;

struct td_live {
    uv_loop_t *loop;
    tc_node *node;
    td_config cfg;
    void (*on_notify)(void *ctx, const tc_notify *notify);
    void *ctx;
    uv_tcp_t listener;
    bool listening, stopping, failed;
    uv_timer_t timer, sweep;
    uv_check_t flush;
    td_peer *peers;
    tc_peer_id next_id;
    uint32_t inbound, outbound;
    uint32_t depth;
    dial_entry dials[DIAL_BOOK_MAX];
    uint32_t dial_count;
    ban_entry bans[BAN_TABLE_MAX];
    uint32_t ban_count;
    uint32_t handles_open; /* timer, sweep, flush, listener: closed by td_live_stop */
    td_live_stats stats;
    tc_verify_cache *cache; /* NULL: no verify pool */
    tc_pubkey *keys;        /* the pool's validator key hints (verify_pool.h) */
    uint32_t key_count;
};

typedef struct {
    uv_write_t req;
    td_peer *peer;
    size_t len;
    uint8_t *data;
} write_req;

static uint8_t read_buf[READ_BUF_SIZE]; /* one loop, one thread: reads never overlap */

uint64_t td_now_ms(void)
{
    static uint64_t last;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if (now < last)
        now = last; /* a clock stepped back: the node's time never does */
    last = now;
    return now;
}

static td_peer *peer_find(td_live *l, tc_peer_id id)
{
    for (td_peer *p = l->peers; p != NULL; p = p->next)
        if (p->id == id)
            return p;
    return NULL;
}

static void host_of(const char *addr, char host[16])
{
    const char *colon = strrchr(addr, ':');
    size_t n = colon ? (size_t)(colon - addr) : strlen(addr);
    n = n < 15 ? n : 15;
    memcpy(host, addr, n);
    host[n] = 0;
}

static bool host_banned(td_live *l, const char *host, uint64_t now)
{
    for (uint32_t k = 0; k < l->ban_count; k++)
        if (strcmp(l->bans[k].host, host) == 0 && l->bans[k].until_ms > now)
            return true;
    return false;
}

static void ban_host(td_live *l, const char *addr, uint64_t until_ms)
{
    char host[16];
    host_of(addr, host);
    for (uint32_t k = 0; k < l->ban_count; k++) {
        if (strcmp(l->bans[k].host, host) == 0) {
            l->bans[k].until_ms = until_ms > l->bans[k].until_ms ? until_ms : l->bans[k].until_ms;
            return;
        }
    }
    uint32_t slot = l->ban_count < BAN_TABLE_MAX ? l->ban_count++ : 0; /* full: replace one */
    snprintf(l->bans[slot].host, sizeof(l->bans[slot].host), "%s", host);
    l->bans[slot].until_ms = until_ms;
}

/* ---- calls into the node and its actions ---- */

static void after_call(td_live *l);
static void peer_close(td_peer *p, const char *reason);

static void log_notify(const tc_notify *nt)
{
    char h[2 * TC_HASH_SIZE + 1], h2[2 * TC_HASH_SIZE + 1];
    tc_hex(h, nt->hash.b, TC_HASH_SIZE);
    tc_hex(h2, nt->hash2.b, TC_HASH_SIZE);
    unsigned long long height = (unsigned long long)nt->height;
    switch (nt->kind) {
    case TC_NOTIFY_BLOCK_COMMITTED:
        td_logf(TD_LOG_INFO, "block_committed", "height=%llu round=%u proposer=%u txs=%u hash=%s",
                height, nt->round, nt->proposer, nt->txs, h);
        break;
    case TC_NOTIFY_TX_FINALIZED:
        td_logf(TD_LOG_INFO, "tx_finalized", "txid=%s latency_ms=%llu", h,
                (unsigned long long)nt->latency_ms);
        break;
    case TC_NOTIFY_TX_REJECTED:
        td_logf(TD_LOG_INFO, "tx_rejected", "txid=%s code=%d", h, nt->code);
        break;
    case TC_NOTIFY_VIEW_CHANGE:
        td_logf(TD_LOG_INFO, "view_change", "height=%llu round=%u round_to=%u cause=%u", height,
                nt->round, nt->round_to, nt->cause);
        break;
    case TC_NOTIFY_LOCK:
    case TC_NOTIFY_UNLOCK:
        td_logf(TD_LOG_DEBUG, nt->kind == TC_NOTIFY_LOCK ? "lock" : "unlock",
                "height=%llu round=%u hash=%s", height, nt->round, h);
        break;
    case TC_NOTIFY_EVIDENCE:
        td_logf(TD_LOG_WARN, "evidence", "height=%llu round=%u validator=%u hash=%s", height,
                nt->round, nt->validator, h);
        break;
    case TC_NOTIFY_FORK:
        td_logf(TD_LOG_ERROR, "fork", "height=%llu ours=%s theirs=%s", height, h, h2);
        break;
    case TC_NOTIFY_CULPRIT:
        td_logf(TD_LOG_ERROR, "culprit", "validator=%u height=%llu", nt->validator, height);
        break;
    case TC_NOTIFY_PEER_BANNED:
        td_logf(TD_LOG_WARN, "peer_banned", "peer=%u code=%d until_ms=%llu", nt->peer, nt->code,
                (unsigned long long)nt->ban_until_ms);
        break;
    case TC_NOTIFY_PEER_READY:
        td_logf(TD_LOG_INFO, "peer_ready", "peer=%u validator=%d", nt->peer,
                nt->validator == UINT32_MAX ? -1 : (int)nt->validator);
        break;
    case TC_NOTIFY_CLOCK:
        td_logf(nt->code == 0 ? TD_LOG_INFO : TD_LOG_WARN, "clock", "code=%d", nt->code);
        break;
    case TC_NOTIFY_SYNC:
        td_logf(TD_LOG_INFO, "sync", "height=%llu", height);
        break;
    case TC_NOTIFY_MASTERNODE:
        td_logf(nt->code ? TD_LOG_INFO : TD_LOG_WARN,
                nt->code ? "masternode_online" : "masternode_offline",
                "validator=%d last_seen_ms=%llu",
                nt->validator == UINT32_MAX ? -1 : (int)nt->validator,
                (unsigned long long)nt->latency_ms);
        break;
    case TC_NOTIFY_QUORUM_LOST:
        td_logf(TD_LOG_WARN, "quorum_lost", "weight=%llu quorum=%llu",
                (unsigned long long)nt->weight, (unsigned long long)nt->quorum);
        break;
    case TC_NOTIFY_STATE_SYNC:
        td_logf(TD_LOG_INFO, "state_sync", "height=%llu chunks=%u peers=%u", height, nt->txs,
                nt->round);
        break;
    case TC_NOTIFY_SNAPSHOT_REFUSED:
        td_logf(TD_LOG_WARN, "snapshot_refused", "peer=%u height=%llu code=%d", nt->peer, height,
                nt->code);
        break;
    case TC_NOTIFY_FAILED:
        td_log(TD_LOG_ERROR, "node_failed", "failure",
               tc_node_failure_name((tc_node_failure_kind)nt->cause), "code", tc_strerror(nt->code),
               "cause", nt->text ? nt->text : "", NULL);
        break;
    }
}

/* Counts a whole frame (u32 length | u8 type | payload) under its type, for /metrics. */
static void count_type(uint64_t *frames, uint64_t *bytes, const uint8_t *frame, size_t len)
{
    uint8_t type = len > 4 && frame[4] < TD_LIVE_TYPES ? frame[4] : 0;
    frames[type]++;
    bytes[type] += len;
}

/* Appends a frame to the peer's batch; false when the peer is over its output bound. */
static bool peer_queue(td_live *l, td_peer *p, const uint8_t *frame, size_t len)
{
    if (p->out_len + p->inflight + len > l->cfg.output_buffer_max)
        return false;
    if (p->out_len + len > p->out_cap) {
        size_t cap = p->out_cap ? p->out_cap : 4096;
        while (cap < p->out_len + len)
            cap *= 2;
        uint8_t *bigger = realloc(p->out, cap);
        if (bigger == NULL)
            return false;
        p->out = bigger;
        p->out_cap = cap;
    }
    memcpy(p->out + p->out_len, frame, len);
    p->out_len += len;
    l->stats.frames_out++;
    count_type(l->stats.frames_out_by_type, l->stats.bytes_out_by_type, frame, len);
    return true;
}

static void dial(td_live *l, const char *addr);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static dial_entry *dial_entry_get(td_live *l, const char *addr);

/* Drains the node's actions; closes are carried out after the drain (a call into the node ends
 * the life of the actions' frames, node.h). */
static void drain(td_live *l)
{
    tc_action a;
    close_req closes[CLOSE_LIST_MAX];
    uint32_t close_count = 0;
    while (tc_node_next_action(l->node, &a)) {
        td_peer *p = NULL;
        switch (a.kind) {
        case TC_ACTION_SEND:
            p = peer_find(l, a.peer);
            if (p != NULL && !p->closing && !peer_queue(l, p, a.frame, a.frame_len) &&
                close_count < CLOSE_LIST_MAX) {
                l->stats.output_drops++;
                closes[close_count++] = (close_req){a.peer, "output_buffer_full"};
            }
            break;
        case TC_ACTION_CONNECT:
            dial(l, a.addr);
            break;
        case TC_ACTION_DISCONNECT:
            p = peer_find(l, a.peer);
            if (p != NULL && a.ban_until_ms != 0)
                ban_host(l, p->addr, a.ban_until_ms);
            if (p != NULL)
                td_log(TD_LOG_INFO, "peer_disconnect", "addr", p->addr, "reason",
                       tc_strerror(a.reason), NULL);
            if (close_count < CLOSE_LIST_MAX)
                closes[close_count++] = (close_req){a.peer, "disconnect"};
            break;
        case TC_ACTION_NOTIFY:
            if (a.notify.kind == TC_NOTIFY_PEER_READY && (p = peer_find(l, a.notify.peer))) {
                p->ready = true;
                if (!p->inbound) {
                    dial_entry *d = dial_entry_get(l, p->addr);
                    d->failures = 0;
                    d->next_ms = 0;
                }
            }
            if (a.notify.kind == TC_NOTIFY_FAILED && !l->failed) {
                l->failed = true;
                uv_stop(l->loop);
            }
            log_notify(&a.notify);
            if (l->on_notify != NULL)
                l->on_notify(l->ctx, &a.notify);
            break;
        }
    }
    for (uint32_t k = 0; k < close_count; k++) {
        td_peer *p = peer_find(l, closes[k].id);
        if (p != NULL && !p->closing && strcmp(closes[k].reason, "output_buffer_full") == 0)
            td_logf(TD_LOG_WARN, "peer_dropped", "addr=%s reason=%s unwritten=%zu", p->addr,
                    closes[k].reason, p->out_len + p->inflight);
        if (p != NULL && !p->closing)
            peer_close(p, closes[k].reason);
    }
}

static void on_timer(uv_timer_t *t)
{
    td_live *l = t->data;
    tc_node_tick(l->node, td_now_ms());
    after_call(l);
}

static void after_call(td_live *l)
{
    if (l->depth >= DEPTH_MAX)
        return; /* the outer drain picks the actions up */
    l->depth++;
    drain(l);
    l->depth--;
    if (l->stopping)
        return;
    uint64_t now = td_now_ms(), at = tc_node_next_deadline(l->node);
    uint64_t delay = at > now ? at - now : 0;
    if (delay > 60000)
        delay = 60000;
    uv_timer_start(&l->timer, on_timer, delay, 0);
}

/* ---- peers ---- */

static void peer_free(td_peer *p)
{
    free(p->frame);
    free(p->out);
    free(p);
}

/* The struct outlives its handle while a worker still checks one of its frames. */
static void on_peer_closed(uv_handle_t *h)
{
    td_peer *p = (td_peer *)h;
    p->handle_closed = true;
    if (p->jobs_running == 0)
        peer_free(p);
}

static void job_free(td_job *j)
{
    free(j->frame);
    free(j->checks);
    free(j);
}

/* Drops the peer's queue: jobs a worker holds become orphans, freed when it finishes. */
static void jobs_drop(td_peer *p)
{
    for (td_job *j = p->jobs_head, *next; j != NULL; j = next) {
        next = j->next;
        if (j->done)
            job_free(j);
        else
            j->orphan = true;
    }
    p->jobs_head = p->jobs_tail = NULL;
    p->jobs_queued = 0;
}

/* Closes the connection (the node learns it is down), after a last try to write what is
 * batched for it (a REJECT with the reason, say). */
static void peer_close(td_peer *p, const char *reason)
{
    td_live *l = p->live;
    if (p->closing)
        return;
    p->closing = true;
    jobs_drop(p);
    if (p->out_len > 0) {
        uv_buf_t b = uv_buf_init((char *)p->out, (unsigned)p->out_len);
        (void)uv_try_write((uv_stream_t *)&p->tcp, &b, 1);
    }
    for (td_peer **pp = &l->peers; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    if (p->inbound)
        l->inbound--;
    else
        l->outbound--;
    td_log(TD_LOG_DEBUG, "peer_closed", "addr", p->addr, "reason", reason, NULL);
    uv_close((uv_handle_t *)&p->tcp, on_peer_closed);
    if (p->up) {
        tc_node_peer_down(l->node, td_now_ms(), p->id);
        after_call(l);
    }
}

static void on_write(uv_write_t *req, int status)
{
    write_req *w = (write_req *)req;
    (void)status; /* a failed write shows as a read error or EOF, which closes the peer */
    TC_ASSERT(w->peer->inflight >= w->len);
    w->peer->inflight -= w->len;
    free(w->data);
    free(w);
}

/* Once per loop pass: each peer's batch goes out in one write. */
static void on_flush(uv_check_t *h)
{
    td_live *l = h->data;
    for (td_peer *p = l->peers; p != NULL; p = p->next) {
        if (p->out_len == 0 || p->closing)
            continue;
        write_req *w = malloc(sizeof(*w));
        if (w == NULL)
            continue; /* try again next pass */
        w->peer = p;
        w->len = p->out_len;
        w->data = p->out;
        p->out = NULL;
        p->out_len = p->out_cap = 0;
        uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
        p->inflight += w->len;
        l->stats.bytes_out += w->len;
        if (uv_write(&w->req, (uv_stream_t *)&p->tcp, &b, 1, on_write) != 0) {
            p->inflight -= w->len;
            free(w->data);
            free(w);
        }
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init((char *)read_buf, READ_BUF_SIZE);
}

/* Hands the frames at the head of the peer's queue whose checks are done to the node, in
 * arrival order; resumes reading once the queue is short again. */
static void deliver_ready(td_peer *p)
{
    td_live *l = p->live;
    while (!p->closing && p->jobs_head != NULL && p->jobs_head->done) {
        td_job *j = p->jobs_head;
        p->jobs_head = j->next;
        if (p->jobs_head == NULL)
            p->jobs_tail = NULL;
        p->jobs_queued--;
        tc_node_recv(l->node, td_now_ms(), p->id, j->frame, j->len);
        job_free(j);
        after_call(l); /* may close p */
    }
    if (!p->closing && p->read_paused && p->jobs_queued < JOB_QUEUE_MAX / 2) {
        p->read_paused = false;
        uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
    }
}

/* Worker thread: decode the frame and verify its signatures (verify_pool.h). */
static void job_work(uv_work_t *w)
{
    td_job *j = (td_job *)w;
    const td_live *l = j->peer->live;
    if (td_sig_checks_of(j->frame, j->len, l->keys, l->key_count, &j->checks, &j->check_count) == 0)
        td_sig_checks_run(j->checks, j->check_count);
}

/* Loop thread: the results go into the cache, then the frame is ready. */
static void job_done(uv_work_t *w, int status)
{
    td_job *j = (td_job *)w;
    td_peer *p = j->peer;
    td_live *l = p->live;
    p->jobs_running--;
    j->done = true;
    if (status == 0 && !j->orphan && l->cache != NULL) {
        for (size_t k = 0; k < j->check_count; k++)
            tc_verify_cache_put(l->cache, &j->checks[k].pub, &j->checks[k].msg, &j->checks[k].sig,
                                j->checks[k].valid);
        l->stats.pool_sigs += j->check_count;
    }
    if (j->orphan) {
        job_free(j);
        if (p->handle_closed && p->jobs_running == 0)
            peer_free(p);
        return;
    }
    deliver_ready(p);
}

/* A whole frame arrived: straight to the node when nothing waits before it and it carries no
 * signature for the pool; otherwise queued behind the others (arrival order is kept). */
static void peer_frame(td_peer *p, uint8_t *frame, size_t len)
{
    td_live *l = p->live;
    bool wanted = l->cache != NULL && td_sig_checks_wanted(tc_msg_frame_type(frame, len));
    if (!wanted && p->jobs_head == NULL) {
        tc_node_recv(l->node, td_now_ms(), p->id, frame, len);
        free(frame);
        after_call(l);
        return;
    }
    td_job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        free(frame);
        peer_close(p, "out_of_memory");
        return;
    }
    *j = (td_job){.peer = p, .frame = frame, .len = len, .done = !wanted};
    if (p->jobs_tail != NULL)
        p->jobs_tail->next = j;
    else
        p->jobs_head = j;
    p->jobs_tail = j;
    p->jobs_queued++;
    if (wanted) {
        p->jobs_running++;
        l->stats.pool_jobs++;
        if (uv_queue_work(l->loop, &j->work, job_work, job_done) != 0) {
            p->jobs_running--;
            j->done = true; /* the core checks it itself */
        }
    }
    if (p->jobs_queued >= JOB_QUEUE_MAX && !p->read_paused) {
        p->read_paused = true; /* back-pressure: the peer's bytes wait in the socket */
        uv_read_stop((uv_stream_t *)&p->tcp);
    }
    deliver_ready(p);
}

/* Consumes bytes of the stream; returns false once the peer is closed. */
static bool peer_consume(td_peer *p, const uint8_t *data, size_t n)
{
    td_live *l = p->live;
    while (n > 0 && !p->closing) {
        if (p->frame == NULL) {
            size_t take = TD_MIN((size_t)4 - p->hdr_got, n);
            memcpy(p->hdr + p->hdr_got, data, take);
            p->hdr_got += (uint32_t)take;
            data += take;
            n -= take;
            if (p->hdr_got < 4)
                break;
            uint32_t body = (uint32_t)p->hdr[0] << 24 | (uint32_t)p->hdr[1] << 16 |
                            (uint32_t)p->hdr[2] << 8 | p->hdr[3];
            /* The limit is checked on the prefix alone: nothing is allocated for a frame that
             * could not be taken (SPEC 7). */
            if (body == 0 || (uint64_t)body + 4 > l->cfg.frame_size_max) {
                l->stats.oversize_closes++;
                td_logf(TD_LOG_WARN, "frame_refused", "addr=%s length=%u limit=%llu", p->addr, body,
                        (unsigned long long)l->cfg.frame_size_max);
                peer_close(p, "frame_size");
                return false;
            }
            p->frame_len = (size_t)body + 4;
            p->frame = malloc(p->frame_len);
            if (p->frame == NULL) {
                peer_close(p, "out_of_memory");
                return false;
            }
            memcpy(p->frame, p->hdr, 4);
            p->frame_got = 4;
        }
        size_t take = TD_MIN(p->frame_len - p->frame_got, n);
        memcpy(p->frame + p->frame_got, data, take);
        p->frame_got += take;
        data += take;
        n -= take;
        if (p->frame_got < p->frame_len)
            break;
        uint8_t *frame = p->frame;
        size_t len = p->frame_len;
        p->frame = NULL;
        p->hdr_got = 0;
        l->stats.frames_in++;
        count_type(l->stats.frames_in_by_type, l->stats.bytes_in_by_type, frame, len);
        peer_frame(p, frame, len); /* may close p: its struct lives until the close callback */
    }
    return !p->closing;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    td_peer *p = (td_peer *)s;
    (void)buf;
    if (p->closing)
        return;
    if (nread < 0) {
        peer_close(p, nread == UV_EOF ? "eof" : uv_err_name((int)nread));
        return;
    }
    p->live->stats.bytes_in += (uint64_t)nread;
    peer_consume(p, read_buf, (size_t)nread);
}

static td_peer *peer_new(td_live *l, bool inbound)
{
    td_peer *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->live = l;
    p->inbound = inbound;
    p->id = ++l->next_id;
    p->opened_ms = td_now_ms();
    uv_tcp_init(l->loop, &p->tcp);
    uv_tcp_nodelay(&p->tcp, 1);
    p->next = l->peers;
    l->peers = p;
    if (inbound)
        l->inbound++;
    else
        l->outbound++;
    return p;
}

/* The connection is up: the node starts its handshake. */
static void peer_up(td_peer *p)
{
    td_live *l = p->live;
    p->up = true;
    uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
    tc_node_peer_up(l->node, td_now_ms(), p->id, p->addr, p->inbound);
    after_call(l);
}

static void on_accept(uv_stream_t *server, int status)
{
    td_live *l = server->data;
    if (status != 0 || l->stopping)
        return;
    td_peer *p = peer_new(l, true);
    if (p == NULL)
        return;
    if (uv_accept(server, (uv_stream_t *)&p->tcp) != 0) {
        peer_close(p, "accept");
        return;
    }
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char host[16] = "?";
    uint16_t port = 0;
    if (uv_tcp_getpeername(&p->tcp, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        uv_ip4_name(in, host, sizeof(host));
        port = ntohs(in->sin_port);
    }
    snprintf(p->addr, sizeof(p->addr), "%s:%u", host, port);
    l->stats.accepted++;
    if (host_banned(l, host, td_now_ms())) {
        l->stats.ban_refusals++;
        peer_close(p, "banned");
        return;
    }
    if (l->inbound > l->cfg.max_inbound) {
        l->stats.refused_inbound++;
        peer_close(p, "max_inbound");
        return;
    }
    /* One host's handshakes in progress are few: a host opening connections it never completes
     * cannot take the inbound slots honest peers need. */
    uint32_t pending = 0;
    for (td_peer *q = l->peers; q != NULL; q = q->next)
        pending += q != p && q->inbound && !q->ready && strncmp(q->addr, host, strlen(host)) == 0 &&
                   q->addr[strlen(host)] == ':';
    if (pending >= l->cfg.pending_per_host) {
        l->stats.refused_inbound++;
        peer_close(p, "pending_per_host");
        return;
    }
    peer_up(p);
}

static dial_entry *dial_entry_get(td_live *l, const char *addr)
{
    for (uint32_t k = 0; k < l->dial_count; k++)
        if (strcmp(l->dials[k].addr, addr) == 0)
            return &l->dials[k];
    uint32_t slot =
        l->dial_count < DIAL_BOOK_MAX ? l->dial_count++ : randombytes_uniform(DIAL_BOOK_MAX);
    dial_entry *d = &l->dials[slot];
    memset(d, 0, sizeof(*d));
    snprintf(d->addr, sizeof(d->addr), "%s", addr);
    return d;
}

/* Next try after `failures` failed attempts: min * 2^(failures-1), capped, jittered +-50% so
 * that nodes restarted together do not dial in lockstep. */
static uint64_t backoff_ms(const td_live *l, uint32_t failures)
{
    uint64_t b = l->cfg.reconnect_min_ms;
    for (uint32_t k = 1; k < failures && b < l->cfg.reconnect_max_ms; k++)
        b *= 2;
    b = TD_MIN(b, l->cfg.reconnect_max_ms);
    return b / 2 + randombytes_uniform((uint32_t)TD_MIN(b, UINT32_MAX - 1) + 1);
}

typedef struct {
    uv_connect_t req;
    td_peer *peer;
} connect_req;

static void on_connect(uv_connect_t *req, int status)
{
    connect_req *c = (connect_req *)req;
    td_peer *p = c->peer;
    td_live *l = p->live;
    free(c);
    if (p->closing)
        return;
    dial_entry *d = dial_entry_get(l, p->addr);
    if (status != 0) {
        l->stats.dial_failures++;
        d->failures++;
        d->next_ms = td_now_ms() + backoff_ms(l, d->failures);
        td_logf(TD_LOG_DEBUG, "dial_failed", "addr=%s error=%s failures=%u", p->addr,
                uv_err_name(status), d->failures);
        peer_close(p, "dial_failed");
        return;
    }
    peer_up(p);
}

static void dial(td_live *l, const char *addr)
{
    char host[16];
    uint16_t port;
    uint64_t now = td_now_ms();
    if (l->stopping || td_addr_split(addr, host, &port) != 0 || host_banned(l, host, now) ||
        l->outbound >= l->cfg.max_outbound)
        return;
    for (td_peer *p = l->peers; p != NULL; p = p->next)
        if (!p->inbound && strcmp(p->addr, addr) == 0)
            return;
    dial_entry *d = dial_entry_get(l, addr);
    if (d->next_ms > now)
        return; /* in backoff: the node proposes it again after connect_retry_ms */
    struct sockaddr_in sa;
    connect_req *c = malloc(sizeof(*c));
    td_peer *p = c ? peer_new(l, false) : NULL;
    if (p == NULL) {
        free(c);
        return;
    }
    snprintf(p->addr, sizeof(p->addr), "%s", addr);
    c->peer = p;
    uv_ip4_addr(host, port, &sa);
    l->stats.dials++;
    /* A failed attempt counts until a handshake completes; a success resets it (PEER_READY). */
    d->next_ms = now + backoff_ms(l, d->failures + 1) / 4;
    if (uv_tcp_connect(&c->req, &p->tcp, (const struct sockaddr *)&sa, on_connect) != 0) {
        free(c);
        peer_close(p, "dial_failed");
    }
}

/* Every second: handshakes that take too long are closed. */
static void on_sweep(uv_timer_t *t)
{
    td_live *l = t->data;
    uint64_t now = td_now_ms();
    td_peer *late[CLOSE_LIST_MAX];
    uint32_t n = 0;
    for (td_peer *p = l->peers; p != NULL && n < CLOSE_LIST_MAX; p = p->next)
        if (p->up && !p->ready && now - p->opened_ms > l->cfg.handshake_timeout_ms)
            late[n++] = p;
    for (uint32_t k = 0; k < n; k++) {
        l->stats.handshake_timeouts++;
        td_log(TD_LOG_INFO, "handshake_timeout", "addr", late[k]->addr, NULL);
        peer_close(late[k], "handshake_timeout");
    }
}

/* ---- the driver's life ---- */

static int listen_on(td_live *l)
{
    char host[16];
    uint16_t port;
    struct sockaddr_in sa;
    if (l->cfg.p2p_listen[0] == 0)
        return 0;
    if (td_addr_split(l->cfg.p2p_listen, host, &port) != 0)
        return UV_EINVAL;
    uv_ip4_addr(host, port, &sa);
    uv_tcp_init(l->loop, &l->listener);
    l->listener.data = l;
    l->listening = true;
    l->handles_open++;
    int rc = uv_tcp_bind(&l->listener, (const struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&l->listener, 128, on_accept);
    return rc;
}

static int key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, TC_PUBKEY_SIZE);
}

int td_live_start(uv_loop_t *loop, tc_node *node, const td_live_opts *opts, td_live **out)
{
    td_live *l = calloc(1, sizeof(*l));
    *out = NULL;
    if (l == NULL)
        return UV_ENOMEM;
    l->loop = loop;
    l->node = node;
    l->cfg = *opts->config;
    l->on_notify = opts->on_notify;
    l->ctx = opts->ctx;
    l->cache = opts->verify_cache;
    if (l->cache != NULL && opts->genesis != NULL && opts->genesis->mn_count > 0 &&
        (l->keys = calloc(opts->genesis->mn_count, sizeof(*l->keys))) != NULL) {
        l->key_count = opts->genesis->mn_count;
        for (uint32_t k = 0; k < l->key_count; k++)
            l->keys[k] = opts->genesis->mns[k].key;
        qsort(l->keys, l->key_count, sizeof(*l->keys), key_cmp);
    }
    uv_timer_init(loop, &l->timer);
    uv_timer_init(loop, &l->sweep);
    uv_check_init(loop, &l->flush);
    l->timer.data = l->sweep.data = l->flush.data = l;
    l->handles_open = 3;
    uv_check_start(&l->flush, on_flush);
    uv_timer_start(&l->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    int rc = listen_on(l);
    if (rc != 0) {
        td_log(TD_LOG_ERROR, "listen_failed", "addr", l->cfg.p2p_listen, "error", uv_strerror(rc),
               NULL);
        td_live_stop(l);
        *out = l; /* the caller runs the loop for the closes, then frees */
        return rc;
    }
    if (l->cfg.p2p_listen[0] != 0)
        td_log(TD_LOG_INFO, "listening", "addr", l->cfg.p2p_listen, NULL);
    after_call(l);
    *out = l;
    return 0;
}

int td_live_submit_tx(td_live *l, const uint8_t *tx, size_t len)
{
    int rc = tc_node_submit_tx(l->node, td_now_ms(), tx, len);
    after_call(l);
    return rc;
}

static void on_handle_closed(uv_handle_t *h)
{
    td_live *l = h->data;
    TC_ASSERT(l->handles_open > 0);
    l->handles_open--;
}

void td_live_stop(td_live *l)
{
    if (l->stopping)
        return;
    l->stopping = true;
    if (l->listening)
        uv_close((uv_handle_t *)&l->listener, on_handle_closed);
    l->listening = false;
    while (l->peers != NULL) {
        on_flush(&l->flush); /* what the node said last goes out if the socket takes it */
        peer_close(l->peers, "shutdown");
    }
    uv_close((uv_handle_t *)&l->timer, on_handle_closed);
    uv_close((uv_handle_t *)&l->sweep, on_handle_closed);
    uv_close((uv_handle_t *)&l->flush, on_handle_closed);
}

void td_live_free(td_live *l)
{
    if (l == NULL)
        return;
    TC_ASSERT(l->stopping && l->handles_open == 0 && l->peers == NULL);
    free(l->keys);
    free(l);
}

bool td_live_failed(const td_live *l)
{
    return l->failed;
}

void td_live_stats_get(const td_live *l, td_live_stats *out)
{
    *out = l->stats;
    out->peers = l->inbound + l->outbound;
    out->pool_queued = 0;
    for (const td_peer *p = l->peers; p != NULL; p = p->next)
        out->pool_queued += p->jobs_queued;
}

/* ---- the operator's bans (RPC listbanned, setban) ---- */

uint32_t td_live_bans_get(const td_live *l, td_live_ban *out, uint32_t cap)
{
    TC_ASSERT(l != NULL && (out != NULL || cap == 0));
    uint64_t now = td_now_ms();
    uint32_t w = 0;
    for (uint32_t k = 0; k < l->ban_count && w < cap; k++) {
        if (l->bans[k].until_ms <= now)
            continue;
        memcpy(out[w].host, l->bans[k].host, sizeof(out[w].host));
        out[w++].until_ms = l->bans[k].until_ms;
    }
    return w;
}

int td_live_ban_set(td_live *l, const char *host, uint64_t until_ms)
{
    TC_ASSERT(l != NULL && host != NULL && strlen(host) < 16);
    if (until_ms == 0) {
        for (uint32_t k = 0; k < l->ban_count; k++) {
            if (strcmp(l->bans[k].host, host) != 0)
                continue;
            l->bans[k] = l->bans[--l->ban_count];
            return 0;
        }
        return -1;
    }
    ban_host(l, host, until_ms);
    for (td_peer *p = l->peers, *next = NULL; p != NULL; p = next) {
        char h[16];
        next = p->next;
        host_of(p->addr, h);
        if (strcmp(h, host) == 0 && !p->closing)
            peer_close(p, "banned");
    }
    return 0;
}
