/* node_sync.c — catching up inside the node (node_internal.h; PROTOCOL 13): STATUS out and in,
 * GET_BLOCKS served from the store, BLOCKS checked and applied, and the timers that move an
 * unanswered request to another peer.
 */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

/* The state sync (below), which the block sync starts and defers to. */
static bool snap_wanted(tc_node *n, uint64_t height);
static void snap_ask_manifest(tc_node *n, bool has_peer, tc_peer_id peer);
static void snap_tick(tc_node *n);
static uint64_t snap_next_deadline(const tc_node *n);

static void sync_request(tc_node *n, tc_peer_id peer)
{
    uint64_t tip = tc_chain_height(n->chain);
    uint64_t want = n->sync.best_seen_height > tip ? n->sync.best_seen_height - tip : 1;
    tc_msg m = {.type = TC_MSG_GET_BLOCKS};
    m.get_blocks.from_height = tip + 1;
    m.get_blocks.count = (uint32_t)(want < TC_MSG_BLOCKS_MAX ? want : TC_MSG_BLOCKS_MAX);
    n->sync.active = true;
    n->sync.peer = peer;
    n->sync.deadline_ms = n->now_ms + NODE_SYNC_TIMEOUT_MS;
    (void)node_send(n, peer, &m);
}

void node_sync_ahead(tc_node *n, tc_peer_id peer, uint64_t height, bool fetch)
{
    if (height > n->sync.best_seen_height)
        n->sync.best_seen_height = height;
    if (fetch && !n->sync.active && !n->sync.snap.active)
        sync_request(n, peer);
}

void node_sync_on_status(tc_node *n, tc_peer_id peer, const tc_msg_status *s)
{
    uint64_t tip = tc_chain_height(n->chain);
    if (s->height > n->sync.best_seen_height)
        n->sync.best_seen_height = s->height;
    if (snap_wanted(n, s->height)) {
        /* Far behind: the state at a recent certified height instead of every block. */
        n->sync.active = false;
        n->sync.snap.tries = 0;
        snap_ask_manifest(n, true, peer);
        return;
    }
    if (s->height > tip && !n->sync.active && !n->sync.snap.active && !n->fail.failed) {
        sync_request(n, peer);
        return;
    }
    if (s->height == 0 || s->height > tip)
        return;
    tc_hash ours;
    tc_block b;
    if (s->height == tip) {
        tc_chain_tip(n->chain, &ours);
    } else if (node_commit_read_block(n, s->height, &b) == 0) {
        tc_block_hash(&b.header, &ours);
        tc_block_deinit(&b);
    } else {
        return;
    }
    if (memcmp(ours.b, s->tip.b, TC_HASH_SIZE) != 0) {
        /* Another block at a height we hold: fetch it with its certificate to see whether it
         * is a fork (two certificates) or a lie (an invalid one, an offence). */
        tc_msg m = {.type = TC_MSG_GET_BLOCKS};
        m.get_blocks.from_height = s->height;
        m.get_blocks.count = 1;
        (void)node_send(n, peer, &m);
    }
}

void node_sync_on_get_blocks(tc_node *n, tc_peer_id peer, const tc_msg_get_blocks *g)
{
    uint64_t tip = tc_chain_height(n->chain);
    tc_msg m = {.type = TC_MSG_BLOCKS};
    tc_msg_block_entry entries[TC_MSG_BLOCKS_MAX];
    size_t budget = tc_chain_profile(n->chain)->frame_size_max / 2, used = 0;
    m.blocks.entries = entries;
    memset(entries, 0, sizeof(entries));
    for (uint64_t h = g->from_height; h >= 1 && h <= tip && h < g->from_height + g->count; h++) {
        tc_msg_block_entry *e = &entries[m.blocks.entry_count];
        tc_hash hash;
        if (node_commit_read_block(n, h, &e->block) != 0 ||
            node_commit_at(n, h, &e->commit, &hash) != 0) {
            tc_block_deinit(&e->block);
            break;
        }
        tc_writer w;
        tc_writer_init(&w, NULL, 0);
        tc_block_encode(&w, &e->block);
        tc_commit_encode(&w, &e->commit);
        if (m.blocks.entry_count > 0 && used + w.len > budget) {
            /* Over the frame budget: the rest in the next request (one block always fits:
             * block_size_max leaves room in a frame, msg.h). */
            tc_block_deinit(&e->block);
            tc_commit_deinit(&e->commit);
            break;
        }
        used += w.len;
        m.blocks.entry_count++;
    }
    if (m.blocks.entry_count > 0)
        (void)node_send(n, peer, &m);
    for (uint32_t i = 0; i < m.blocks.entry_count; i++) {
        tc_block_deinit(&entries[i].block);
        tc_commit_deinit(&entries[i].commit);
    }
}

/* Checks entry's certificate; 0, or TC_EBLK_COMMIT (an offence of the sender). */
static int verify_entry(tc_node *n, const tc_msg_block_entry *e, tc_hash *hash_out)
{
    const tc_vset *vs;
    uint64_t h = e->block.header.height;
    tc_block_hash(&e->block.header, hash_out);
    if (h == 0 || h > tc_chain_height(n->chain) + 1)
        return TC_ERANGE; /* beyond what we can check: the set of its epoch is not known */
    int rc = tc_chain_vset(n->chain, tc_chain_epoch_of(n->chain, h), &vs);
    if (rc != 0)
        return rc;
    return tc_commit_verify(&e->commit, vs, &n->verifier, h, hash_out);
}

/* Applies a synced block; an epoch change it brings asks its sender first for the carried
 * bodies this node lacks (PROTOCOL 11.8 step 8): that peer had the closing block. */
static int apply_synced(tc_node *n, tc_peer_id peer, const tc_msg_block_entry *e)
{
    node_txs_bodies_hint(n, true, peer);
    int rc = node_commit_apply(n, &e->block, &e->commit, true);
    node_txs_bodies_hint(n, false, peer);
    return rc;
}

void node_sync_on_blocks(tc_node *n, tc_peer_id peer, tc_msg_blocks *b)
{
    for (uint32_t i = 0; i < b->entry_count && !n->fail.failed; i++) {
        tc_msg_block_entry *e = &b->entries[i];
        tc_hash hash;
        int rc = verify_entry(n, e, &hash);
        if (rc == TC_EBLK_COMMIT) {
            node_offence(n, peer, TC_PEER_OFFENCE_INVALID);
            break;
        }
        if (rc != 0)
            break;
        if (e->block.header.height <= tc_chain_height(n->chain))
            node_commit_check_fork(n, &e->block, &e->commit, &hash);
        else if (apply_synced(n, peer, e) == 0)
            node_consensus_committed(n);
        else
            break;
    }
    if (n->fail.failed)
        return;
    if (n->sync.snap.active) {
        n->sync.active = false; /* the state sync goes first; blocks follow it */
    } else if (n->sync.best_seen_height > tc_chain_height(n->chain) && n->sync.active) {
        sync_request(n, peer);
    } else if (n->sync.active) {
        n->sync.active = false;
        tc_notify note = {.kind = TC_NOTIFY_SYNC, .height = tc_chain_height(n->chain)};
        node_notify(n, &note);
    }
}

static bool pick_other_peer(tc_node *n, tc_peer_id *out)
{
    tc_peer_id ids[64];
    uint32_t count = tc_peer_ready_ids(n->peers, ids, TC_ARRAY_LEN(ids));
    if (count > TC_ARRAY_LEN(ids))
        count = TC_ARRAY_LEN(ids);
    if (count == 0)
        return false;
    /* A random ready peer other than the one that let us down (unless it is the only one). */
    uint32_t start = (uint32_t)tc_rng_below(&n->rng, count);
    for (uint32_t k = 0; k < count; k++) {
        tc_peer_id id = ids[(start + k) % count];
        if (id != n->sync.peer || count == 1) {
            *out = id;
            return true;
        }
    }
    return false;
}

void node_sync_peer_down(tc_node *n, tc_peer_id peer)
{
    if (n->sync.active && n->sync.peer == peer)
        n->sync.active = false; /* the tick picks another peer */
    node_snap *s = &n->sync.snap;
    if (s->active && !s->have_manifest && s->manifest_peer == peer)
        s->deadline_ms = n->now_ms; /* the tick asks another peer */
    for (uint32_t i = 0; s->active && s->have_manifest && i < s->manifest.chunk_count; i++)
        if (s->state[i] == SNAP_ASKED && s->asked_peer[i] == peer)
            s->asked_deadline_ms[i] = n->now_ms;
}

void node_sync_tick(tc_node *n)
{
    snap_tick(n);
    if (n->sync.active && n->now_ms >= n->sync.deadline_ms) {
        tc_peer_id other;
        n->sync.active = false;
        if (pick_other_peer(n, &other))
            sync_request(n, other);
    }
    if (node_consensus_awaiting(n) && n->now_ms >= n->sync.deadline_ms) {
        n->sync.deadline_ms = n->now_ms + NODE_SYNC_TIMEOUT_MS;
        node_commit_request(n, tc_chain_height(n->chain) + 1);
    }
    node_sync_status_tick(n);
}

void node_sync_status_tick(tc_node *n)
{
    if (n->now_ms < n->sync.next_status_ms)
        return;
    n->sync.next_status_ms = n->now_ms + NODE_STATUS_INTERVAL_MS;
    tc_msg m;
    node_status_msg(n, &m);
    (void)node_broadcast(n, &m, false, 0);
}

uint64_t node_sync_next_deadline(const tc_node *n)
{
    uint64_t d = n->sync.next_status_ms;
    if ((n->sync.active || node_consensus_awaiting(n)) && n->sync.deadline_ms < d)
        d = n->sync.deadline_ms;
    uint64_t s = snap_next_deadline(n);
    return s < d ? s : d;
}

void node_sync_assert(const tc_node *n)
{
    /* A running sync has a deadline: the tick moves it to another peer when it passes. */
    TC_ASSERT(!n->sync.active || n->sync.deadline_ms != 0);
    /* A state sync runs alone, and holds no more chunks than its manifest names. */
    const node_snap *s = &n->sync.snap;
    TC_ASSERT(!s->active || !n->sync.active);
    TC_ASSERT(!s->have_manifest || (s->active && s->have_count < s->manifest.chunk_count));
}

/* ==== state sync by snapshot (PROTOCOL 13.2) ==== */

uint64_t node_sync_state_syncs(const tc_node *n)
{
    return n->sync.snap.syncs;
}

static void served_free(tc_node *n)
{
    for (int i = 0; i < NODE_SNAP_SERVED; i++) {
        tc_snapshot_free(n->sync.served[i]);
        n->sync.served[i] = NULL;
    }
}

/* Ends the state sync in progress (or none), freeing what it holds; the counters stay. */
static void snap_clear(tc_node *n)
{
    node_snap *s = &n->sync.snap;
    for (uint32_t i = 0; s->chunks != NULL && i < s->manifest.chunk_count; i++)
        free(s->chunks[i]);
    free(s->chunks);
    free(s->lens);
    free(s->state);
    free(s->asked_peer);
    free(s->asked_deadline_ms);
    tc_snapshot_manifest_deinit(&s->manifest);
    uint64_t syncs = s->syncs, backoff = s->backoff_until_ms;
    uint32_t tries = s->tries;
    memset(s, 0, sizeof(*s));
    s->syncs = syncs;
    s->backoff_until_ms = backoff;
    s->tries = tries;
}

void node_sync_deinit(tc_node *n)
{
    snap_clear(n);
    served_free(n);
}

void node_sync_capture(tc_node *n)
{
    const tc_profile *p = tc_chain_profile(n->chain);
    uint64_t tip = tc_chain_height(n->chain);
    if (p->snapshot_interval_blocks == 0 || tip == 0 || tip % p->snapshot_interval_blocks != 0 ||
        n->fail.failed || n->commit.tip_commit.height != tip)
        return;
    if (n->sync.served[0] != NULL && n->sync.served[0]->manifest.height == tip)
        return;
    tc_block b;
    tc_snapshot *snap = NULL;
    if (node_commit_read_block(n, tip, &b) != 0)
        return;
    int rc = tc_snapshot_capture(n->store, &b, &n->commit.tip_commit, &snap);
    tc_block_deinit(&b);
    if (rc != 0) {
        (void)node_fail_local(n, rc, "capture a state snapshot");
        return; /* memory or limits: nothing new to serve, which peers survive */
    }
    tc_snapshot_free(n->sync.served[NODE_SNAP_SERVED - 1]);
    for (int i = NODE_SNAP_SERVED - 1; i > 0; i--)
        n->sync.served[i] = n->sync.served[i - 1];
    n->sync.served[0] = snap;
}

static void send_snapshot(tc_node *n, tc_peer_id peer, uint64_t height, uint32_t chunk,
                          const uint8_t *data, size_t len)
{
    tc_msg m = {.type = TC_MSG_SNAPSHOT};
    m.snapshot.height = height;
    m.snapshot.chunk = chunk;
    m.snapshot.len = (uint32_t)len;
    m.snapshot.data = (uint8_t *)(uintptr_t)data; /* lent for the encoding only */
    (void)node_send(n, peer, &m);
}

/* Seals served snapshot i for its first request; false when it cannot be (memory). */
static bool served_sealed(tc_node *n, int i)
{
    tc_snapshot *s = n->sync.served[i];
    return s != NULL && tc_snapshot_seal(s, n->verifier.elements) == 0;
}

void node_sync_on_get_snapshot(tc_node *n, tc_peer_id peer, const tc_msg_get_snapshot *g)
{
    const tc_snapshot *latest = n->sync.served[0];
    if (g->chunk == TC_SNAPSHOT_MANIFEST) {
        if (!served_sealed(n, 0))
            send_snapshot(n, peer, 0, TC_SNAPSHOT_MANIFEST, NULL, 0);
        else
            send_snapshot(n, peer, latest->manifest.height, TC_SNAPSHOT_MANIFEST,
                          latest->manifest_bytes, latest->manifest_len);
        return;
    }
    for (int i = 0; i < NODE_SNAP_SERVED; i++) {
        const tc_snapshot *s = n->sync.served[i];
        if (s != NULL && s->manifest.height == g->height && served_sealed(n, i) &&
            g->chunk < s->manifest.chunk_count &&
            memcmp(s->manifest_id.b, g->manifest.b, TC_HASH_SIZE) == 0) {
            send_snapshot(n, peer, g->height, g->chunk, s->chunk_bytes[g->chunk],
                          s->chunk_lens[g->chunk]);
            return;
        }
    }
    send_snapshot(n, peer, g->height, g->chunk, NULL, 0); /* not served here (any more) */
}

static bool snap_is_bad(const tc_node *n, tc_peer_id peer)
{
    for (uint32_t i = 0; i < n->sync.snap.bad_count; i++)
        if (n->sync.snap.bad[i] == peer)
            return true;
    return false;
}

/* A peer's manifest or chunk failed verification: refused, scored, and the peer asked for
 * nothing more in this state sync. */
static void snap_liar(tc_node *n, tc_peer_id peer, int code)
{
    node_snap *s = &n->sync.snap;
    node_offence(n, peer, TC_PEER_OFFENCE_INVALID);
    if (!snap_is_bad(n, peer) && s->bad_count < NODE_SNAP_BAD_MAX)
        s->bad[s->bad_count++] = peer;
    tc_notify note = {.kind = TC_NOTIFY_SNAPSHOT_REFUSED,
                      .peer = peer,
                      .height = s->manifest.height,
                      .code = code};
    node_notify(n, &note);
}

/* The next ready peer, round robin, that has not lied in this state sync; false if none. */
static bool snap_pick(tc_node *n, tc_peer_id *out)
{
    tc_peer_id ids[64];
    uint32_t count = tc_peer_ready_ids(n->peers, ids, TC_ARRAY_LEN(ids));
    if (count > TC_ARRAY_LEN(ids))
        count = TC_ARRAY_LEN(ids);
    for (uint32_t k = 0; k < count; k++) {
        tc_peer_id id = ids[n->sync.snap.rr++ % count];
        if (!snap_is_bad(n, id)) {
            *out = id;
            return true;
        }
    }
    return false;
}

/* Gives the state sync up for NODE_SNAP_BACKOFF_MS and goes on with blocks. */
static void snap_give_up(tc_node *n)
{
    snap_clear(n);
    n->sync.snap.tries = 0;
    n->sync.snap.backoff_until_ms = n->now_ms + NODE_SNAP_BACKOFF_MS;
    tc_peer_id peer;
    if (!n->sync.active && n->sync.best_seen_height > tc_chain_height(n->chain) &&
        snap_pick(n, &peer))
        sync_request(n, peer);
}

/* Asks peer (or the next one) for a manifest: a new attempt, NODE_SNAP_TRIES at most. */
static void snap_ask_manifest(tc_node *n, bool has_peer, tc_peer_id peer)
{
    node_snap *s = &n->sync.snap;
    uint32_t tries = s->tries + 1;
    tc_peer_id bad[NODE_SNAP_BAD_MAX];
    uint32_t bad_count = s->bad_count;
    memcpy(bad, s->bad, sizeof(bad));
    snap_clear(n);
    memcpy(s->bad, bad, sizeof(bad)); /* a liar stays excluded across manifests */
    s->bad_count = bad_count;
    s->tries = tries;
    if (tries > NODE_SNAP_TRIES || (!has_peer && !snap_pick(n, &peer))) {
        snap_give_up(n);
        return;
    }
    s->active = true;
    s->manifest_peer = peer;
    s->deadline_ms = n->now_ms + NODE_SNAP_TIMEOUT_MS;
    tc_msg m = {.type = TC_MSG_GET_SNAPSHOT};
    m.get_snapshot.chunk = TC_SNAPSHOT_MANIFEST;
    (void)node_send(n, peer, &m);
}

/* Whether a peer at `height` is far enough ahead for a state sync. */
static bool snap_wanted(tc_node *n, uint64_t height)
{
    const tc_profile *p = tc_chain_profile(n->chain);
    uint64_t tip = tc_chain_height(n->chain);
    return p->snapshot_interval_blocks > 0 && height > tip &&
           height - tip > p->snapshot_sync_blocks && !n->sync.snap.active && !n->fail.failed &&
           n->now_ms >= n->sync.snap.backoff_until_ms;
}

/* Keeps NODE_SNAP_INFLIGHT chunk requests out, spread over the ready peers. */
static void snap_request_chunks(tc_node *n)
{
    node_snap *s = &n->sync.snap;
    uint32_t inflight = 0;
    for (uint32_t i = 0; i < s->manifest.chunk_count; i++)
        inflight += s->state[i] == SNAP_ASKED;
    for (uint32_t i = 0; i < s->manifest.chunk_count && inflight < NODE_SNAP_INFLIGHT; i++) {
        tc_peer_id peer;
        if (s->state[i] != SNAP_MISSING)
            continue;
        if (!snap_pick(n, &peer))
            return; /* the deadline tick tries again */
        s->state[i] = SNAP_ASKED;
        s->asked_peer[i] = peer;
        s->asked_deadline_ms[i] = n->now_ms + NODE_SNAP_TIMEOUT_MS;
        inflight++;
        tc_msg m = {.type = TC_MSG_GET_SNAPSHOT};
        m.get_snapshot.height = s->manifest.height;
        m.get_snapshot.manifest = s->manifest_id;
        m.get_snapshot.chunk = i;
        (void)node_send(n, peer, &m);
    }
}

static int snap_alloc(node_snap *s)
{
    uint32_t c = s->manifest.chunk_count;
    s->chunks = tc_calloc(c, sizeof(*s->chunks));
    s->lens = tc_calloc(c, sizeof(*s->lens));
    s->state = tc_calloc(c, sizeof(*s->state));
    s->asked_peer = tc_calloc(c, sizeof(*s->asked_peer));
    s->asked_deadline_ms = tc_calloc(c, sizeof(*s->asked_deadline_ms));
    bool ok = s->chunks && s->lens && s->state && s->asked_peer && s->asked_deadline_ms;
    return ok ? 0 : TC_ENOMEM;
}

static bool vset_matches(const tc_vset *vs, const tc_hash *want)
{
    tc_hash h;
    tc_vset_hash(vs, &h);
    return memcmp(h.b, want->b, TC_HASH_SIZE) == 0;
}

/* The manifest arrived from the peer asked for it: decoded, proven against the certificate
 * and the root, then the chunks are asked for. */
static void snap_on_manifest(tc_node *n, tc_peer_id peer, const tc_msg_snapshot *m)
{
    node_snap *s = &n->sync.snap;
    if (m->len == 0) { /* nothing served there: another peer */
        snap_ask_manifest(n, false, 0);
        return;
    }
    int rc = tc_snapshot_manifest_decode(&s->manifest, m->data, m->len);
    const tc_vset *vs = NULL;
    if (rc == 0 && s->manifest.height <= tc_chain_height(n->chain) + 1) {
        snap_give_up(n); /* nothing newer than blocks would bring */
        return;
    }
    if (rc == 0)
        rc = tc_chain_vset(n->chain, tc_chain_epoch_of(n->chain, s->manifest.height), &vs);
    if (rc == 0 && !vset_matches(vs, &s->manifest.block.header.vset_hash)) {
        /* The set changed while this node was away: its registry cannot judge the certificate,
         * and an honest sender must not be blamed for that. Blocks bring the changes. */
        snap_give_up(n);
        return;
    }
    if (rc == 0)
        rc = tc_snapshot_manifest_check(&s->manifest, vs, &n->verifier);
    if (rc == TC_ESNAPSHOT || rc == TC_EBLK_COMMIT) {
        snap_liar(n, peer, rc);
        snap_ask_manifest(n, false, 0);
        return;
    }
    if (rc == 0)
        rc = snap_alloc(s);
    if (rc != 0) { /* memory, or a set this node cannot know yet: blocks instead */
        snap_give_up(n);
        return;
    }
    s->have_manifest = true;
    s->deadline_ms = n->now_ms + NODE_SNAP_TIMEOUT_MS;
    tc_snapshot_manifest_id(&s->manifest, &s->manifest_id);
    snap_request_chunks(n);
}

/* A chunk of the manifest in progress; true when the snapshot is whole and applied. */
static bool snap_on_chunk(tc_node *n, tc_peer_id peer, tc_msg_snapshot *m)
{
    node_snap *s = &n->sync.snap;
    uint32_t i = m->chunk;
    if (m->height != s->manifest.height || i >= s->manifest.chunk_count ||
        s->state[i] != SNAP_ASKED || s->asked_peer[i] != peer)
        return false; /* late, or not asked of this peer: ignored */
    s->state[i] = SNAP_MISSING;
    if (m->len == 0) {
        /* Not served there: the peer moved on to newer snapshots. Once every ready peer has
         * said so, this manifest is stale and a new one is fetched. */
        tc_peer_id ids[64];
        uint32_t ready = tc_peer_ready_ids(n->peers, ids, TC_ARRAY_LEN(ids));
        if (++s->refusals >= ready + NODE_SNAP_INFLIGHT) {
            snap_ask_manifest(n, false, 0);
            return false;
        }
    } else if (tc_snapshot_chunk_check(&s->manifest, i, m->data, m->len, n->verifier.elements) !=
               0) {
        /* The peer answered for this manifest hash, so it vouched for this very chunk. */
        snap_liar(n, peer, TC_ESNAPSHOT);
    } else {
        s->chunks[i] = m->data;
        s->lens[i] = m->len;
        m->data = NULL;
        s->state[i] = SNAP_HAVE;
        s->have_count++;
    }
    if (s->have_count < s->manifest.chunk_count) {
        snap_request_chunks(n);
        return false;
    }
    return true;
}

/* Every chunk is here: the snapshot replaces the store's state in one transaction. */
static bool snap_apply(tc_node *n)
{
    node_snap *s = &n->sync.snap;
    if (s->manifest.height <= tc_chain_height(n->chain)) {
        snap_give_up(n); /* blocks got there first */
        return false;
    }
    int rc = tc_snapshot_apply(n->store, &s->manifest, s->chunks, s->lens,
                               tc_chain_profile(n->chain)->block_reward);
    if (rc == TC_ESNAPSHOT) {
        /* What spans chunks (their order, the supply record) is vouched for by the manifest's
         * sender alone. */
        snap_liar(n, s->manifest_peer, rc);
        snap_ask_manifest(n, false, 0);
        return false;
    }
    if (rc != 0) {
        if (node_fail_local(n, rc, "apply a state snapshot"))
            snap_clear(n);
        else
            snap_give_up(n);
        return false;
    }
    return true;
}

bool node_sync_on_snapshot(tc_node *n, tc_peer_id peer, tc_msg_snapshot *m)
{
    node_snap *s = &n->sync.snap;
    if (!s->active || n->fail.failed)
        return false; /* an answer nobody waits for (a late one): dropped */
    if (m->chunk == TC_SNAPSHOT_MANIFEST) {
        if (!s->have_manifest && peer == s->manifest_peer)
            snap_on_manifest(n, peer, m);
        return false;
    }
    if (!s->have_manifest || !snap_on_chunk(n, peer, m))
        return false;
    return snap_apply(n);
}

void node_sync_state_synced(tc_node *n)
{
    node_snap *s = &n->sync.snap;
    uint32_t peers = 0;
    for (uint32_t i = 0; i < s->manifest.chunk_count; i++) {
        bool first = true;
        for (uint32_t k = 0; k < i && first; k++)
            first = s->asked_peer[k] != s->asked_peer[i];
        peers += first;
    }
    tc_notify note = {.kind = TC_NOTIFY_STATE_SYNC,
                      .height = tc_chain_height(n->chain),
                      .txs = s->manifest.chunk_count,
                      .round = peers};
    for (uint32_t i = 0; i < s->manifest.chunk_count; i++)
        note.weight += s->manifest.chunks[i].utxo_count;
    tc_chain_tip(n->chain, &note.hash);
    s->syncs++;
    snap_clear(n);
    n->sync.snap.tries = 0;
    node_notify(n, &note);
    tc_peer_id peer;
    n->sync.active = false;
    if (n->sync.best_seen_height > tc_chain_height(n->chain) && snap_pick(n, &peer))
        sync_request(n, peer);
}

/* The state sync's timers: the manifest's and each asked chunk's deadline. */
static void snap_tick(tc_node *n)
{
    node_snap *s = &n->sync.snap;
    if (!s->active)
        return;
    if (!s->have_manifest) {
        if (n->now_ms >= s->deadline_ms)
            snap_ask_manifest(n, false, 0);
        return;
    }
    bool expired = false;
    for (uint32_t i = 0; i < s->manifest.chunk_count; i++) {
        if (s->state[i] == SNAP_ASKED && n->now_ms >= s->asked_deadline_ms[i]) {
            s->state[i] = SNAP_MISSING;
            expired = true;
        }
    }
    if (expired || n->now_ms >= s->deadline_ms) {
        s->deadline_ms = n->now_ms + NODE_SNAP_TIMEOUT_MS;
        snap_request_chunks(n);
    }
}

static uint64_t snap_next_deadline(const tc_node *n)
{
    const node_snap *s = &n->sync.snap;
    uint64_t d = UINT64_MAX;
    if (!s->active)
        return d;
    d = s->deadline_ms;
    for (uint32_t i = 0; s->have_manifest && i < s->manifest.chunk_count; i++)
        if (s->state[i] == SNAP_ASKED && s->asked_deadline_ms[i] < d)
            d = s->asked_deadline_ms[i];
    return d;
}
