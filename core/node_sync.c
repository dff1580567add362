/* node_sync.c — catching up inside the node (node_internal.h; PROTOCOL 13): STATUS out and in,
 * GET_BLOCKS served from the store, BLOCKS checked and applied, and the timers that move an
 * unanswered request to another peer.
 */
#include "node_internal.h"

#include <string.h>

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
    if (fetch && !n->sync.active)
        sync_request(n, peer);
}

void node_sync_on_status(tc_node *n, tc_peer_id peer, const tc_msg_status *s)
{
    uint64_t tip = tc_chain_height(n->chain);
    if (s->height > n->sync.best_seen_height)
        n->sync.best_seen_height = s->height;
    if (s->height > tip && !n->sync.active && !n->fail.failed) {
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
        else if (node_commit_apply(n, &e->block, &e->commit, true) == 0)
            node_consensus_committed(n);
        else
            break;
    }
    if (n->fail.failed)
        return;
    if (n->sync.best_seen_height > tc_chain_height(n->chain) && n->sync.active) {
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
}

void node_sync_tick(tc_node *n)
{
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
    return d;
}

void node_sync_assert(const tc_node *n)
{
    /* A running sync has a deadline: the tick moves it to another peer when it passes. */
    TC_ASSERT(!n->sync.active || n->sync.deadline_ms != 0);
}
