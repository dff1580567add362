/* node.c — the node's lifecycle, its event entry points, the action queue and the dispatch of
 * delivered messages (see node.h for the interface, node_internal.h for the layout).
 */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- actions and frames ---- */

static void arena_reset(tc_node *n)
{
    for (uint32_t i = 0; i < n->arena_count; i++)
        free(n->arena[i]);
    n->arena_count = 0;
}

/* Every call starts here: the frames of the previous call's actions are released (node.h:
 * valid until the next call), and undrained actions are dropped and counted. */
static void begin_call(tc_node *n, uint64_t now_ms)
{
    arena_reset(n);
    n->actions_dropped += n->action_count;
    n->action_head = 0;
    n->action_count = 0;
    /* The node's own time advances by what the driver's clock advanced, never back: a clock
     * stepped back freezes nothing (rate buckets keep refilling, timers keep their spacing),
     * and a step forward fires what is due. next_deadline converts back to the driver's clock. */
    if (now_ms >= n->clock_ms)
        n->now_ms += now_ms - n->clock_ms;
    n->clock_ms = now_ms;
}

static tc_action *action_push(tc_node *n)
{
    if (n->action_count == NODE_ACTIONS_MAX) {
        n->actions_dropped++;
        return NULL;
    }
    tc_action *a = &n->actions[(n->action_head + n->action_count) % NODE_ACTIONS_MAX];
    n->action_count++;
    memset(a, 0, sizeof(*a));
    return a;
}

/* Keeps a copy of a frame in the arena; NULL when the arena is full or memory ran out. */
static const uint8_t *arena_keep(tc_node *n, const uint8_t *frame, size_t len)
{
    if (n->arena_count == NODE_ARENA_MAX)
        return NULL;
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        return NULL;
    memcpy(copy, frame, len);
    n->arena[n->arena_count++] = copy;
    return copy;
}

static void queue_send(tc_node *n, tc_peer_id peer, const uint8_t *frame, size_t len)
{
    tc_action *a = action_push(n);
    if (a == NULL)
        return;
    a->kind = TC_ACTION_SEND;
    a->peer = peer;
    a->frame = frame;
    a->frame_len = len;
}

void node_notify(tc_node *n, const tc_notify *note)
{
    tc_action *a = action_push(n);
    if (a == NULL)
        return;
    a->kind = TC_ACTION_NOTIFY;
    a->notify = *note;
}

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
            const uint8_t *f = arena_keep(n, pa.frame, pa.frame_len);
            if (f != NULL)
                queue_send(n, pa.peer, f, pa.frame_len);
        } else if (pa.kind == TC_PEER_ACT_CONNECT) {
            tc_action *a = action_push(n);
            if (a != NULL) {
                a->kind = TC_ACTION_CONNECT;
                memcpy(a->addr, pa.addr, sizeof(a->addr));
            }
        } else if (pa.kind == TC_PEER_ACT_DISCONNECT) {
            tc_action *a = action_push(n);
            if (a != NULL) {
                a->kind = TC_ACTION_DISCONNECT;
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

static const uint8_t *encode_frame(tc_node *n, const tc_msg *m, size_t *len_out)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (tc_msg_encode_alloc(m, &bytes, &len) != 0)
        return NULL;
    if (len > tc_chain_profile(n->chain)->frame_size_max || n->arena_count == NODE_ARENA_MAX) {
        free(bytes);
        return NULL;
    }
    n->arena[n->arena_count++] = bytes;
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

static void send_to_ready(tc_node *n, const uint8_t *f, size_t len, bool has_except,
                          tc_peer_id except)
{
    tc_peer_id ids[READY_IDS_MAX];
    uint32_t count = ready_peers(n, has_except, except, ids);
    for (uint32_t i = 0; i < count; i++)
        queue_send(n, ids[i], f, len);
}

static const uint8_t *broadcast(tc_node *n, const tc_msg *m, bool has_except, tc_peer_id except,
                                size_t *len_out)
{
    const uint8_t *f = encode_frame(n, m, len_out);
    if (f == NULL)
        return NULL;
    if (is_gossip(m->type)) {
        /* Our own gossip must not come back to us as news. */
        tc_hash id;
        tc_peer_gossip_id(n->peers, f, *len_out, &id);
        (void)tc_peer_seen_check_and_add(n->peers, &id);
    }
    send_to_ready(n, f, *len_out, has_except, except);
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

void node_broadcast_frame(tc_node *n, const uint8_t *frame, size_t len)
{
    const uint8_t *f = arena_keep(n, frame, len);
    if (f != NULL)
        send_to_ready(n, f, len, false, 0);
}

/* Gossip from a peer goes on to every other READY peer, except the two high-volume kinds,
 * transactions and vote batches, which go to at most NODE_RELAY_FANOUT of them, drawn from the
 * node's generator. Their originator sent them to all of its own peers; flooding every relay to
 * every peer as well would deliver each frame about N^2 times in a mesh of N nodes (each vote
 * batch round, N^3 deliveries). A random fan-out of 6 still reaches every node of a mesh of
 * hundreds with overwhelming probability, and what it misses is repaired by re-gossip and the
 * fetch of missing batches. Consensus messages are few (a proposal and 2N votes per round) and
 * a vote that misses a validator delays the round until it is resent: they still flood. */
void node_relay(tc_node *n, tc_peer_id from, const uint8_t *frame, size_t len)
{
    const uint8_t *f = arena_keep(n, frame, len);
    if (f == NULL)
        return;
    uint8_t type = tc_msg_frame_type(frame, len);
    if (type != TC_MSG_TX && type != TC_MSG_VOTE_BATCH) {
        send_to_ready(n, f, len, true, from);
        return;
    }
    tc_peer_id ids[READY_IDS_MAX];
    uint32_t others = ready_peers(n, true, from, ids);
    /* A partial Fisher-Yates shuffle picks the fan-out; small meshes draw nothing. */
    uint32_t pick = others < NODE_RELAY_FANOUT ? others : NODE_RELAY_FANOUT;
    for (uint32_t i = 0; pick < others && i < pick; i++) {
        uint32_t j = i + (uint32_t)tc_rng_below(&n->rng, others - i);
        tc_peer_id t = ids[i];
        ids[i] = ids[j];
        ids[j] = t;
    }
    for (uint32_t i = 0; i < pick; i++)
        queue_send(n, ids[i], f, len);
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

void node_offence(tc_node *n, tc_peer_id peer, tc_peer_offence_kind kind)
{
    (void)tc_peer_offence(n->peers, n->now_ms, peer, kind);
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
    n->verifier = (tc_verifier){.scheme = c->scheme, .cache = cache, .elements = c->elements};
    n->my_index = UINT32_MAX;
    /* The driver's genesis is checked, not trusted, before the node takes a copy. */
    int rc = tc_genesis_check(c->genesis, NULL, 0);
    if (rc == 0)
        rc = tc_genesis_copy(&n->genesis, c->genesis);
    if (rc != 0)
        return TC_EGENESIS;
    tc_genesis_hash(&n->genesis, &n->genesis_hash);
    n->actions = calloc(NODE_ACTIONS_MAX, sizeof(*n->actions));
    n->arena = calloc(NODE_ARENA_MAX, sizeof(*n->arena));
    if (n->actions == NULL || n->arena == NULL)
        return TC_ENOMEM;
    rc = tc_chain_open(store, &n->genesis, &n->verifier, &n->chain);
    if (rc != 0)
        return rc;
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
        rc = node_chain_start_height(n);
    return rc;
}

int tc_node_new(const tc_node_config *config, tc_store *store, tc_verify_cache *cache,
                uint64_t now_ms, tc_node **out)
{
    TC_ASSERT(config != NULL && store != NULL && out != NULL);
    *out = NULL;
    if (config->genesis == NULL || (config->seed_count > 0 && config->seeds == NULL))
        return TC_EINVAL;
    tc_node *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return TC_ENOMEM;
    n->now_ms = now_ms;
    n->clock_ms = now_ms;
    n->commit_time_ms = now_ms;
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
    arena_reset(n);
    node_chain_free(n);
    tc_bft_free(n->bft);
    node_txs_close(n);
    tc_peer_table_free(n->peers);
    tc_mempool_free(n->pool);
    tc_chain_free(n->chain);
    tc_genesis_deinit(&n->genesis);
    free(n->arena);
    free(n->actions);
    free(n);
}

/* ---- events ---- */

int tc_node_peer_up(tc_node *n, uint64_t now_ms, tc_peer_id peer, const char *addr, bool inbound)
{
    TC_ASSERT(n != NULL);
    begin_call(n, now_ms);
    int rc = tc_peer_up(n->peers, n->now_ms, peer, addr, inbound);
    drain_peers(n);
    return rc;
}

void tc_node_peer_down(tc_node *n, uint64_t now_ms, tc_peer_id peer)
{
    TC_ASSERT(n != NULL);
    begin_call(n, now_ms);
    tc_peer_down(n->peers, n->now_ms, peer);
    if (n->sync_active && n->sync_peer == peer)
        n->sync_active = false; /* tick picks another peer */
    drain_peers(n);
}

static void dispatch(tc_node *n, tc_peer_id peer, const uint8_t *frame, size_t len, tc_msg *m)
{
    switch (m->type) {
    case TC_MSG_TX:
        if (node_txs_submit(n, &m->tx, true, peer) == 0)
            node_relay(n, peer, frame, len);
        break;
    case TC_MSG_VOTE_BATCH:
        if (node_txs_on_batch(n, peer, &m->vote_batch) == 0)
            node_relay(n, peer, frame, len);
        break;
    case TC_MSG_GET_VOTE_BATCHES:
        node_txs_on_get_batches(n, peer, &m->get_vote_batches);
        break;
    case TC_MSG_PROPOSAL:
        node_chain_on_proposal(n, peer, frame, len, &m->proposal);
        break;
    case TC_MSG_PREVOTE:
    case TC_MSG_PRECOMMIT:
        node_chain_on_vote(n, peer, frame, len, &m->vote);
        break;
    case TC_MSG_STATUS:
        node_chain_on_status(n, peer, &m->status);
        break;
    case TC_MSG_GET_BLOCKS:
        node_chain_on_get_blocks(n, peer, &m->get_blocks);
        break;
    case TC_MSG_BLOCKS:
        node_chain_on_blocks(n, peer, &m->blocks);
        break;
    case TC_MSG_EVIDENCE:
        node_chain_on_evidence(n, peer, frame, len, &m->evidence);
        break;
    case TC_MSG_HEARTBEAT:
        node_chain_on_heartbeat(n, peer, frame, len, &m->heartbeat);
        break;
    case TC_MSG_HANDOFF:
        node_txs_on_handoff(n, peer, frame, len, &m->handoff);
        break;
    default:
        /* REJECT: accepted and counted by the peer table; the node takes no decision on it. */
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
     * peers can see the fork that stopped it. */
    bool serves = m.type == TC_MSG_STATUS || m.type == TC_MSG_GET_BLOCKS;
    if (rc == 0 && deliver && (!n->failed || serves))
        dispatch(n, peer, frame, len, &m);
    if (deliver)
        tc_msg_deinit(&m);
    node_txs_drain(n);
    node_chain_drain_bft(n);
    drain_peers(n);
    return n->failed ? TC_EFAILED : rc;
}

int tc_node_submit_tx(tc_node *n, uint64_t now_ms, const uint8_t *bytes, size_t len)
{
    TC_ASSERT(n != NULL && (bytes != NULL || len == 0));
    begin_call(n, now_ms);
    if (n->failed)
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
    node_chain_drain_bft(n);
    drain_peers(n);
    return rc;
}

void tc_node_tick(tc_node *n, uint64_t now_ms)
{
    TC_ASSERT(n != NULL);
    begin_call(n, now_ms);
    tc_peer_tick(n->peers, n->now_ms);
    if (!n->failed) {
        node_txs_tick(n);
        node_chain_tick(n);
    } else {
        node_chain_status_tick(n);
    }
    node_txs_drain(n);
    node_chain_drain_bft(n);
    drain_peers(n);
}

uint64_t tc_node_next_deadline(const tc_node *n)
{
    TC_ASSERT(n != NULL);
    uint64_t d = tc_peer_next_deadline(n->peers);
    if (n->failed && n->next_status_ms < d)
        d = n->next_status_ms;
    if (!n->failed) {
        uint64_t f = node_txs_next_deadline(n);
        uint64_t c = node_chain_next_deadline(n);
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
    if (n->action_count == 0)
        return false;
    *out = n->actions[n->action_head];
    n->action_head = (n->action_head + 1) % NODE_ACTIONS_MAX;
    n->action_count--;
    return true;
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
    out->mempool_txs = tc_mempool_count(n->pool);
    out->txs_finalized = n->txs_finalized;
    out->view_changes = n->view_changes;
    out->rate_drops = ps.rate_drops;
    out->bans = ps.bans;
    out->quorum_lost = n->quorum_lost;
    out->failed = n->failed;
    out->fork = n->fork;
}

void tc_node_pubkey(const tc_node *n, tc_pubkey *out)
{
    *out = n->key.pub;
}
