/* node.c — the top of the node (node_internal.h): its lifecycle, the event entry points, the
 * peer table's decisions turned into actions, and the router that hands each delivered message to
 * the part that owns its type and relays it on that part's verdict (see node.h for the interface).
 */
#include "node_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The node's own time advances by what the driver's clock advanced, never back: a clock stepped
 * back freezes nothing (rate buckets keep refilling, timers keep their spacing), and a step
 * forward fires what is due. next_deadline converts back to the driver's clock. */
static void begin_call(tc_node *n, uint64_t now_ms)
{
    node_outbox_begin(n);
    if (now_ms >= n->clock_ms)
        n->now_ms += now_ms - n->clock_ms;
    n->clock_ms = now_ms;
}

/* Every event call ends here: each part checks its invariants, and a failed node answers
 * TC_EFAILED whatever the call's own result (node.h, Errors). */
static int end_call(tc_node *n, int rc)
{
    node_sync_capture(n); /* the tip may have reached a snapshot height */
    node_outbox_assert(n);
    node_evidence_assert(n);
    node_clock_assert(n);
    node_txs_assert(n);
    node_commit_assert(n);
    node_consensus_assert(n);
    node_sync_assert(n);
    return n->fail.failed ? TC_EFAILED : rc;
}

/* ---- the peer table's decisions ---- */

#define READY_IDS_MAX 256 /* READY peers one broadcast or check reaches */

/* The validator weight this node reaches: its own and that of the distinct validators among
 * its READY peers, in the current epoch's set. */
static uint64_t reached_weight(tc_node *n, const tc_vset *vs)
{
    tc_peer_id ids[READY_IDS_MAX];
    uint32_t idx[READY_IDS_MAX];
    uint32_t count = tc_peer_ready_ids(n->peers, ids, READY_IDS_MAX);
    if (count > READY_IDS_MAX)
        count = READY_IDS_MAX;
    uint64_t w = n->my_index < vs->count ? vs->members[n->my_index].weight : 0;
    uint32_t distinct = 0;
    for (uint32_t i = 0; i < count; i++) {
        tc_peer_info info;
        uint32_t v = UINT32_MAX;
        if (tc_peer_info_get(n->peers, ids[i], &info) != 0 ||
            tc_vset_find(vs, &info.pubkey, &v) != 0 || v == n->my_index)
            continue;
        bool seen = false;
        for (uint32_t k = 0; k < distinct && !seen; k++)
            seen = idx[k] == v;
        if (seen)
            continue;
        idx[distinct++] = v;
        w += vs->members[v].weight;
    }
    return w;
}

/* Bans are the node's own decision, so a node that bans its way out of a quorum says so loudly
 * (NOTIFY, status) instead of sitting silently cut off: an honest operator must learn that its
 * peer policy, not the network, isolated it. */
static void quorum_view_check(tc_node *n)
{
    const tc_vset *vs;
    if (tc_chain_vset(n->chain, n->epoch, &vs) != 0 || vs->count == 0)
        return;
    uint64_t w = reached_weight(n, vs);
    uint64_t q = tc_vset_quorum(vs);
    if (w >= q)
        return;
    n->quorum_lost++;
    tc_notify note = {.kind = TC_NOTIFY_QUORUM_LOST, .weight = w, .quorum = q};
    node_notify(n, &note);
}

/* Turns the peer table's decisions into actions. */
static void drain_peers(tc_node *n)
{
    tc_peer_action pa;
    bool banned = false;
    while (tc_peer_next_action(n->peers, &pa)) {
        if (pa.kind == TC_PEER_ACT_SEND) {
            node_send_bytes(n, pa.peer, pa.frame, pa.frame_len);
        } else if (pa.kind == TC_PEER_ACT_CONNECT) {
            tc_action *a = node_outbox_push(n, TC_ACTION_CONNECT);
            if (a != NULL) {
                memcpy(a->addr, pa.addr, sizeof(a->addr));
            }
        } else if (pa.kind == TC_PEER_ACT_DISCONNECT) {
            tc_action *a = node_outbox_push(n, TC_ACTION_DISCONNECT);
            if (a != NULL) {
                a->peer = pa.peer;
                a->reason = pa.reason;
                a->ban_until_ms = pa.ban_until_ms;
            }
            if (pa.ban_until_ms != 0) {
                banned = true;
                tc_notify note = {.kind = TC_NOTIFY_PEER_BANNED,
                                  .peer = pa.peer,
                                  .code = pa.reason,
                                  .ban_until_ms = pa.ban_until_ms};
                node_notify(n, &note);
            }
        } else if (pa.kind == TC_PEER_ACT_READY) {
            tc_peer_info info;
            uint32_t index = UINT32_MAX;
            const tc_vset *vs;
            if (tc_peer_info_get(n->peers, pa.peer, &info) == 0 &&
                tc_chain_vset(n->chain, n->epoch, &vs) == 0)
                (void)tc_vset_find(vs, &info.pubkey, &index);
            tc_notify note = {.kind = TC_NOTIFY_PEER_READY, .peer = pa.peer, .validator = index};
            node_notify(n, &note);
            tc_msg st;
            node_status_msg(n, &st);
            (void)node_send(n, pa.peer, &st);
        }
    }
    if (banned)
        quorum_view_check(n);
}

/* ---- lifecycle ---- */

static int open_peers(tc_node *n, const tc_node_config *c)
{
    tc_peer_config pc = {.profile = tc_chain_profile(n->chain),
                         .genesis_hash = n->genesis_hash,
                         .identity = &n->key,
                         .verifier = n->verifier,
                         .listen_port = c->listen_port,
                         .user_agent = c->user_agent,
                         .seed_count = c->seed_count,
                         .seeds = c->seeds};
    const tc_vset *vs;
    if (tc_chain_vset(n->chain, n->epoch, &vs) == 0)
        pc.validator_count = vs->count;
    tc_rng_bytes(&n->rng, pc.rng_seed, sizeof(pc.rng_seed));
    return tc_peer_table_new(&pc, n->now_ms, &n->peers);
}

static int node_open(tc_node *n, const tc_node_config *c, tc_store *store, tc_verify_cache *cache)
{
    uint8_t seed[TC_SEED_SIZE];
    memcpy(seed, c->identity_seed, sizeof(seed));
    tc_keypair_from_seed(&n->key, seed);
    tc_rng_init(&n->rng, c->rng_seed);
    n->scheme = c->scheme;
    n->store = store;
    n->verifier = (tc_verifier){.scheme = c->scheme,
                                .cache = cache,
                                .elements = c->elements,
                                .hashes = c->hashes,
                                .inputs = c->inputs};
    n->my_index = UINT32_MAX;
    /* The driver's genesis is checked, not trusted, before the node takes a copy. */
    int rc = tc_genesis_check(c->genesis, NULL, 0);
    if (rc == 0)
        rc = tc_genesis_copy(&n->genesis, c->genesis);
    if (rc != 0)
        return rc == TC_ENOMEM ? rc : TC_EGENESIS; /* memory is no verdict on the document */
    tc_genesis_hash(&n->genesis, &n->genesis_hash);
    rc = node_outbox_init(n);
    if (rc != 0)
        return rc;
    node_commit_init(n);
    rc = tc_chain_open(store, &n->genesis, &n->verifier, &n->chain);
    if (rc != 0)
        return rc;
    node_clock_init(n);
    n->epoch = tc_chain_epoch_of(n->chain, tc_chain_height(n->chain) + 1);
    n->pool = tc_mempool_new(tc_chain_profile(n->chain), NULL, NULL);
    if (n->pool == NULL)
        return TC_ENOMEM;
    tc_chain_set_known(n->chain, node_txs_known, n);
    rc = open_peers(n, c);
    if (rc == 0)
        rc = node_txs_open(n);
    if (rc == 0)
        rc = tc_bft_new(tc_chain_profile(n->chain), n->scheme, &n->key, &n->bft);
    if (rc == 0)
        rc = node_consensus_start_height(n);
    return rc;
}

int tc_node_new(const tc_node_config *config, tc_store *store, tc_verify_cache *cache,
                uint64_t now_ms, tc_node **out)
{
    TC_ASSERT(config != NULL && store != NULL && out != NULL);
    *out = NULL;
    if (config->genesis == NULL || (config->seed_count > 0 && config->seeds == NULL))
        return TC_EINVAL;
    tc_node *n = tc_calloc(1, sizeof(*n));
    if (n == NULL)
        return TC_ENOMEM;
    n->now_ms = now_ms;
    n->clock_ms = now_ms;
    int rc = node_open(n, config, store, cache);
    if (rc != 0) {
        tc_node_free(n);
        return rc;
    }
    drain_peers(n);
    *out = n;
    return 0;
}

void tc_node_free(tc_node *n)
{
    if (n == NULL)
        return;
    /* Top-down: each part lets go of what it owns before the parts below it. */
    node_sync_deinit(n);
    node_consensus_deinit(n);
    node_commit_deinit(n);
    tc_bft_free(n->bft);
    node_txs_close(n);
    node_clock_deinit(n);
    node_evidence_deinit(n);
    node_outbox_deinit(n);
    tc_peer_table_free(n->peers);
    tc_mempool_free(n->pool);
    tc_chain_free(n->chain);
    tc_genesis_deinit(&n->genesis);
    free(n);
}

/* ---- events ---- */

int tc_node_peer_up(tc_node *n, uint64_t now_ms, tc_peer_id peer, const char *addr, bool inbound)
{
    TC_ASSERT(n != NULL);
    begin_call(n, now_ms);
    int rc = tc_peer_up(n->peers, n->now_ms, peer, addr, inbound);
    drain_peers(n);
    return end_call(n, rc);
}

int tc_node_peer_down(tc_node *n, uint64_t now_ms, tc_peer_id peer)
{
    TC_ASSERT(n != NULL);
    begin_call(n, now_ms);
    tc_peer_down(n->peers, n->now_ms, peer);
    node_sync_peer_down(n, peer);
    drain_peers(n);
    return end_call(n, 0);
}

/* Relays a delivered gossip frame. Transactions, vote batches (the two high-volume kinds) and
 * proposals (the large one, 50-240 KB) are announced, not pushed (announce-then-fetch,
 * gossip.h): their originator sent them to all of its own peers, and pushing every relay to even
 * 6 peers delivered 85% of all frames to nodes that held them already (16 and 64 validators
 * under load). Consensus votes go to a bounded eager mesh and are completed by bitmaps
 * (PROTOCOL 10.9): flooded, each node received each vote about 30 times at 64 validators. The
 * rest is rare (heartbeats, handoffs, evidence) and floods to every other READY peer. */
static void relay(tc_node *n, uint8_t type, tc_peer_id from, const uint8_t *frame, size_t len,
                  const tc_hash *oid, const tc_vote *vote)
{
    if (tc_msg_inv_type_ok(type) && oid != NULL)
        node_gossip_offer(n, type, oid, frame, len, true, from);
    else if (vote != NULL)
        node_votes_accepted(n, vote, frame, len, true, from);
    else
        node_send_frame(n, frame, len, true, from, UINT32_MAX);
}

/* The seen filter learns what the node judged (PROTOCOL 10.9): what it accepted, and what it
 * refused for good when the key covers every byte of the frame (votes, heartbeats, handoffs,
 * evidence: a copy would be refused again). A transaction, vote batch or proposal refused is
 * not entered: its key leaves bytes out (input signatures, the batch's signature, the block),
 * so a peer's bad copy must not shut out the good one. What came early (NODE_AHEAD: a later
 * height) is never entered, so it is taken when it is sent again. A fetch of the object ends. */
static void judged(tc_node *n, uint8_t type, node_verdict v, tc_hash *oid, bool *has_oid)
{
    tc_hash key;
    if (!tc_peer_recv_key(n->peers, &key, oid, has_oid))
        return;
    bool whole = type != TC_MSG_TX && type != TC_MSG_VOTE_BATCH && type != TC_MSG_PROPOSAL;
    if (v == NODE_NEWS || (v == NODE_DROP && whole))
        (void)tc_peer_seen_check_and_add(n->peers, &key);
    if (*has_oid)
        node_gossip_arrived(n, type, oid);
}

/* Offers the transactions of the pool kept from before a state sync to the new state, in
 * arrival order; those the new state refuses (spent, unknown) are dropped. */
static void readmit(tc_node *n, const tc_mempool *old_pool)
{
    tc_mempool_iter it;
    tc_mempool_item item;
    tc_mempool_iter_init(old_pool, &it);
    while (!n->fail.failed && tc_mempool_iter_next(old_pool, &it, &item)) {
        bool local = item.peer == TC_MEMPOOL_PEER_LOCAL;
        (void)node_txs_submit(n, item.tx, !local, local ? 0 : item.peer);
    }
}

/* The store now holds a state snapshot (PROTOCOL 13.2): the chain, the mempool, finality and
 * consensus are opened again on it, as after a restart, with the peer table and the parts'
 * counters kept; then sync fetches the blocks above it. A failure to reopen is the node's
 * sticky failure (the store holds a whole snapshot either way). */
static void reopen_state(tc_node *n)
{
    /* The pool's transactions are offered to the new state afterwards: one a client handed
     * this node before its peers were ready exists nowhere else. */
    tc_mempool *old_pool = n->pool;
    n->pool = NULL;
    node_consensus_reset(n);
    tc_bft_free(n->bft);
    n->bft = NULL;
    node_txs_close(n);
    tc_chain_free(n->chain);
    n->chain = NULL;
    node_commit_init(n);
    int rc = tc_chain_open(n->store, &n->genesis, &n->verifier, &n->chain);
    if (rc == 0) {
        tc_hash tip; /* heartbeats may name the new tip (node_clock.c) */
        tc_chain_tip(n->chain, &tip);
        node_clock_on_block(n, tc_chain_height(n->chain), &tip);
        n->epoch = tc_chain_epoch_of(n->chain, tc_chain_height(n->chain) + 1);
        n->pool = tc_mempool_new(tc_chain_profile(n->chain), NULL, NULL);
        rc = n->pool == NULL ? TC_ENOMEM : 0;
    }
    if (rc == 0) {
        tc_chain_set_known(n->chain, node_txs_known, n);
        rc = node_txs_open(n);
    }
    if (rc == 0)
        rc = tc_bft_new(tc_chain_profile(n->chain), n->scheme, &n->key, &n->bft);
    if (rc == 0)
        rc = node_consensus_start_height(n);
    if (rc != 0) {
        tc_mempool_free(old_pool);
        node_fail_code(n, rc, "reopen the state after a state sync");
        return;
    }
    readmit(n, old_pool);
    tc_mempool_free(old_pool);
    node_sync_state_synced(n);
}

/* The protocol id of the gossip just delivered, which the seen filter computed to key it: a
 * TX's txid (of the decoded body), a vote batch's signed hash (tc_msg_frame_batch_hash over the
 * frame's signed bytes, which a decoded batch encodes back to byte for byte). The parts take it
 * instead of hashing the same bytes again. False when the filter has none. */
static bool recv_id(const tc_node *n, tc_hash *out)
{
    tc_hash key;
    bool has_oid = false;
    return tc_peer_recv_key(n->peers, &key, out, &has_oid) && has_oid;
}

/* Hands a delivered message to the part that owns its type, then acts on the part's verdict in
 * one place: news is relayed before the part takes it further (the consequences of a message,
 * such as judging a proposal, come after it is passed on), and a message from beyond our height
 * tells sync that the network is ahead. Messages that are not gossip get no verdict. */
static void route(tc_node *n, tc_peer_id peer, const uint8_t *frame, size_t len, tc_msg *m)
{
    node_verdict v = NODE_DROP;
    switch (m->type) {
    case TC_MSG_TX: {
        tc_hash id;
        int rc = recv_id(n, &id) ? node_txs_submit_id(n, &m->tx, &id, true, peer)
                                 : node_txs_submit(n, &m->tx, true, peer);
        v = rc == 0 ? NODE_NEWS : NODE_DROP;
        break;
    }
    case TC_MSG_VOTE_BATCH: {
        tc_hash id;
        v = node_txs_on_batch(n, peer, &m->vote_batch, recv_id(n, &id) ? &id : NULL);
        break;
    }
    case TC_MSG_PROPOSAL:
        v = node_consensus_check_proposal(n, peer, &m->proposal);
        if (v == NODE_AHEAD)
            node_sync_ahead(n, peer, m->proposal.height - 1, true);
        break;
    case TC_MSG_PREVOTE:
    case TC_MSG_PRECOMMIT:
        v = node_consensus_on_vote(n, peer, &m->vote);
        if (v == NODE_AHEAD)
            node_sync_ahead(n, peer, m->vote.height - 1, false);
        break;
    case TC_MSG_EVIDENCE:
        v = node_evidence_check(n, peer, &m->evidence);
        break;
    case TC_MSG_HEARTBEAT:
        v = node_clock_check(n, peer, &m->heartbeat);
        break;
    case TC_MSG_HANDOFF:
        v = node_txs_on_handoff(n, peer, &m->handoff);
        break;
    case TC_MSG_GET_VOTE_BATCHES:
        node_txs_on_get_batches(n, peer, &m->get_vote_batches);
        return;
    case TC_MSG_STATUS:
        node_sync_on_status(n, peer, &m->status);
        return;
    case TC_MSG_GET_BLOCKS:
        node_sync_on_get_blocks(n, peer, &m->get_blocks);
        return;
    case TC_MSG_BLOCKS:
        node_sync_on_blocks(n, peer, &m->blocks);
        return;
    case TC_MSG_GET_VOTES:
        node_evidence_on_get_votes(n, peer, &m->get_votes);
        return;
    case TC_MSG_GET_TXS:
        node_txs_on_get_txs(n, peer, &m->get_txs);
        return;
    case TC_MSG_TXS:
        node_txs_on_txs(n, peer, &m->txs);
        return;
    case TC_MSG_VOTES:
        node_evidence_on_votes(n, peer, &m->votes);
        return;
    case TC_MSG_IHAVE:
        node_gossip_on_ihave(n, peer, &m->invs);
        return;
    case TC_MSG_IWANT:
        node_gossip_on_iwant(n, peer, &m->invs);
        return;
    case TC_MSG_VOTE_BITS:
        node_votes_on_bits(n, peer, &m->vote_bits);
        return;
    case TC_MSG_VOTE_WANT:
        node_votes_on_want(n, peer, &m->vote_bits);
        return;
    case TC_MSG_GET_SNAPSHOT:
        node_sync_on_get_snapshot(n, peer, &m->get_snapshot);
        return;
    case TC_MSG_SNAPSHOT:
        if (node_sync_on_snapshot(n, peer, &m->snapshot))
            reopen_state(n);
        return;
    default:
        /* REJECT: accepted and counted by the peer table; the node takes no decision on it. */
        return;
    }
    tc_hash oid;
    bool has_oid = false;
    judged(n, m->type, v, &oid, &has_oid);
    if (v != NODE_NEWS)
        return;
    bool is_vote = m->type == TC_MSG_PREVOTE || m->type == TC_MSG_PRECOMMIT;
    relay(n, m->type, peer, frame, len, has_oid ? &oid : NULL, is_vote ? &m->vote : NULL);
    switch (m->type) {
    case TC_MSG_VOTE_BATCH: /* a held proposal may have waited for it */
        node_consensus_on_batch_arrived(n, m->vote_batch.validator, m->vote_batch.seq);
        break;
    case TC_MSG_PROPOSAL:
        node_consensus_take_proposal(n, peer, &m->proposal);
        break;
    case TC_MSG_EVIDENCE:
        node_evidence_add(n, &m->evidence, false);
        break;
    case TC_MSG_HEARTBEAT:
        if (node_clock_take(n, &m->heartbeat))
            node_consensus_resend_soon(n); /* what was signed while stopped leaves now */
        break;
    default:
        break;
    }
}

int tc_node_recv(tc_node *n, uint64_t now_ms, tc_peer_id peer, const uint8_t *frame, size_t len)
{
    TC_ASSERT(n != NULL && (frame != NULL || len == 0));
    begin_call(n, now_ms);
    tc_msg m;
    bool deliver = false;
    int rc = tc_peer_recv(n->peers, n->now_ms, peer, frame, len, &m, &deliver);
    /* A failed node takes no more decisions, but still answers STATUS and GET_BLOCKS so that
     * peers can see the fork that stopped it, and GET_VOTES and VOTES so that every node can
     * name the fork's culprits (PROTOCOL 14.5). */
    bool serves = m.type == TC_MSG_STATUS || m.type == TC_MSG_GET_BLOCKS ||
                  m.type == TC_MSG_GET_VOTES || m.type == TC_MSG_VOTES;
    if (rc == 0 && deliver && (!n->fail.failed || serves))
        route(n, peer, frame, len, &m);
    if (deliver)
        tc_msg_deinit(&m);
    node_txs_drain(n);
    node_consensus_drain(n);
    drain_peers(n);
    return end_call(n, rc);
}

int tc_node_submit_tx(tc_node *n, uint64_t now_ms, const uint8_t *bytes, size_t len)
{
    TC_ASSERT(n != NULL && (bytes != NULL || len == 0));
    begin_call(n, now_ms);
    if (n->fail.failed)
        return TC_EFAILED;
    tc_tx tx;
    int rc = tc_tx_decode(&tx, bytes, len);
    if (rc == 0) {
        rc = node_txs_submit(n, &tx, false, 0);
        if (rc == 0) {
            tc_msg m = {.type = TC_MSG_TX};
            m.tx = tx;
            (void)node_broadcast(n, &m, false, 0);
        }
        tc_tx_deinit(&tx);
    }
    node_txs_drain(n);
    node_consensus_drain(n);
    drain_peers(n);
    return end_call(n, rc);
}

/* The parts' timers, in an order that matters (actions leave in it): bft's timeouts, the
 * heartbeat, the resends of own frames and the judging of pending proposals, then sync. */
static void tick_parts(tc_node *n)
{
    node_consensus_tick_bft(n);
    node_clock_tick(n);
    node_consensus_tick_resend(n);
    node_sync_tick(n);
    node_evidence_tick(n);
}

int tc_node_tick(tc_node *n, uint64_t now_ms)
{
    TC_ASSERT(n != NULL);
    begin_call(n, now_ms);
    tc_peer_tick(n->peers, n->now_ms);
    if (!n->fail.failed)
        node_gossip_tick(n);
    if (!n->fail.failed)
        node_txs_tick(n);
    /* node_txs_tick may have failed the node: then it only tells its STATUS (node.h). */
    if (!n->fail.failed) {
        tick_parts(n);
    } else {
        node_sync_status_tick(n);
        node_evidence_tick(n); /* forensics goes on after the fork alarm */
    }
    node_txs_drain(n);
    node_consensus_drain(n);
    drain_peers(n);
    return end_call(n, 0);
}

uint64_t tc_node_next_deadline(const tc_node *n)
{
    TC_ASSERT(n != NULL);
    uint64_t d = tc_peer_next_deadline(n->peers);
    if (n->fail.failed && n->sync.next_status_ms < d)
        d = n->sync.next_status_ms; /* a failed node tells its STATUS ... */
    if (node_evidence_next_deadline(n) < d)
        d = node_evidence_next_deadline(n); /* ... and asks for a fork's votes */
    if (!n->fail.failed) {
        uint64_t f = node_txs_next_deadline(n);
        uint64_t g = node_gossip_next_deadline(n);
        uint64_t c = node_consensus_next_deadline(n);
        if (g < f)
            f = g;
        uint64_t k = node_clock_next_deadline(n);
        uint64_t y = node_sync_next_deadline(n);
        if (k < c)
            c = k;
        if (y < c)
            c = y;
        if (f < d)
            d = f;
        if (c < d)
            d = c;
    }
    if (d < n->now_ms)
        d = n->now_ms;
    /* From the node's own time back to the driver's clock (they differ after a step back). */
    uint64_t behind = n->now_ms - n->clock_ms;
    return d == UINT64_MAX ? d : d - behind;
}

bool tc_node_next_action(tc_node *n, tc_action *out)
{
    TC_ASSERT(n != NULL && out != NULL);
    return node_outbox_next(n, out);
}

void tc_node_status_get(const tc_node *n, tc_node_status *out)
{
    TC_ASSERT(n != NULL && out != NULL);
    tc_bft_status bs;
    tc_peer_stats ps;
    tc_bft_status_get(n->bft, &bs);
    tc_peer_stats_get(n->peers, &ps);
    memset(out, 0, sizeof(*out));
    out->height = tc_chain_height(n->chain);
    tc_chain_tip(n->chain, &out->tip);
    out->round = bs.round;
    out->validator = n->my_index;
    out->peers = ps.ready;
    out->actions_cap = n->out.cap;
    out->actions_dropped = n->out.dropped + n->out.count;
    out->mempool_txs = tc_mempool_count(n->pool);
    out->txs_finalized = n->txs.finalized;
    out->view_changes = n->cons.view_changes;
    out->rate_drops = ps.rate_drops;
    out->bans = ps.bans;
    out->quorum_lost = n->quorum_lost;
    out->failed = n->fail.failed;
    out->fork = n->fail.kind == TC_NODE_FAIL_FORK;
    out->failure = n->fail.kind;
    out->failure_code = n->fail.code;
    out->failure_cause = n->fail.failed ? n->fail.cause : "";
    out->failure_height = n->fail.height;
    out->failure_ms = n->fail.ms;
    TC_ASSERT(out->failed == (out->failure != TC_NODE_FAIL_NONE));
}

void tc_node_pubkey(const tc_node *n, tc_pubkey *out)
{
    *out = n->key.pub;
}

/* ---- Observers for the operator's RPC (node.h): read-only, between calls ---- */

tc_chain *tc_node_chain(tc_node *n)
{
    TC_ASSERT(n != NULL && n->chain != NULL);
    return n->chain;
}

const tc_mempool *tc_node_mempool(const tc_node *n)
{
    TC_ASSERT(n != NULL && n->pool != NULL);
    return n->pool;
}

bool tc_node_fork_certificates(const tc_node *n, const tc_commit **ours, const tc_commit **theirs)
{
    TC_ASSERT(n != NULL && ours != NULL && theirs != NULL);
    *ours = *theirs = NULL;
    if (!n->ev.forked)
        return false;
    *ours = &n->ev.fork_certs[0];
    *theirs = &n->ev.fork_certs[1];
    return true;
}

static const char *step_name(uint8_t step)
{
    static const char *const names[] = {"idle",    "wait",      "propose",
                                        "prevote", "precommit", "committed"};
    return step < TC_ARRAY_LEN(names) ? names[step] : "?";
}

void tc_node_consensus_get(const tc_node *n, tc_node_consensus *out)
{
    TC_ASSERT(n != NULL && out != NULL);
    tc_bft_status bs;
    tc_bft_status_get(n->bft, &bs);
    memset(out, 0, sizeof(*out));
    out->height = bs.height;
    out->round = bs.round;
    out->step = step_name(bs.step);
    out->proposer = bs.proposer;
    out->validator = n->my_index;
    out->locked = bs.locked_round != TC_BFT_ROUND_NONE;
    out->locked_round = bs.locked_round;
    out->locked_value = bs.locked_value;
    out->valid = bs.valid_round != TC_BFT_ROUND_NONE;
    out->valid_round = bs.valid_round;
    out->valid_value = bs.valid_value;
    out->view_changes = n->cons.view_changes;
    out->commits = bs.commits;
    out->equivocations = bs.equivocations;
    out->votes_counted = bs.votes_counted;
    out->epoch = n->epoch;
    TC_ASSERT(out->step != NULL);
}

uint32_t tc_node_peers_get(const tc_node *n, tc_node_peer *out, uint32_t cap)
{
    TC_ASSERT(n != NULL && (out != NULL || cap == 0));
    tc_peer_id ids[256];
    uint32_t count = tc_peer_ready_ids(n->peers, ids, TC_ARRAY_LEN(ids)), w = 0;
    for (uint32_t k = 0; k < count && w < cap; k++) {
        tc_peer_info pi;
        if (tc_peer_info_get(n->peers, ids[k], &pi) != 0)
            continue;
        tc_node_peer *p = &out[w++];
        memset(p, 0, sizeof(*p));
        p->id = ids[k];
        snprintf(p->addr, sizeof(p->addr), "%s", pi.addr);
        snprintf(p->listen_addr, sizeof(p->listen_addr), "%s", pi.listen_addr);
        snprintf(p->user_agent, sizeof(p->user_agent), "%s", pi.user_agent);
        p->inbound = pi.inbound;
        p->pubkey = pi.pubkey;
        p->best_height = pi.best_height;
        p->has_rtt = pi.has_rtt;
        p->rtt_ms = pi.rtt_ms;
        p->srtt_ms = pi.srtt_ms;
        p->points = pi.points;
        p->frames = pi.frames;
        for (uint32_t c = 0; c < TC_PEER_CAT_COUNT; c++)
            p->rate_drops += pi.drops[c];
    }
    TC_ASSERT(w <= cap);
    return w;
}

int tc_node_masternode_presence(const tc_node *n, const tc_pubkey *key, tc_masternode_presence *out)
{
    TC_ASSERT(n != NULL && key != NULL && out != NULL);
    return node_clock_masternode(n, key, out);
}

void tc_node_tx_finality_get(const tc_node *n, const tc_hash *txid, tc_node_tx_finality *out)
{
    TC_ASSERT(n != NULL && txid != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    out->in_mempool = tc_mempool_contains(n->pool, txid);
    bool final = n->txs.fin != NULL && tc_finality_is_final(n->txs.fin, txid);
    out->weight = n->txs.fin != NULL ? tc_finality_weight(n->txs.fin, txid) : 0;
    out->state = final                                ? TC_NODE_TX_FINAL
                 : out->in_mempool || out->weight > 0 ? TC_NODE_TX_PENDING
                                                      : TC_NODE_TX_UNKNOWN;
}
