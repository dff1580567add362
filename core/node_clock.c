/* node_clock.c — clock sanity and masternodes' presence inside the node (node_internal.h;
 * PROTOCOL 15): this masternode's heartbeat out, the masternodes' heartbeats in, the median
 * offset that warns or stops voting, and which masternodes are online.
 *
 * A heartbeat is bound to the present three ways, so that an old one, replayed once it has left
 * every seen filter, can neither set its signer's clock nor make it look online: it names a
 * recent block of our chain (height and hash, within a few blocks or NODE_CLOCK_PRESENT_MS of
 * our tip), its (height, time) must be above the last one accepted from its key, and after a
 * (re)start the clock gives no verdict for NODE_CLOCK_WARMUP_HEARTBEATS intervals, by which time
 * every live masternode's fresh heartbeat has replaced whatever a replayer sent first.
 */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t interval_ms(const tc_node *n)
{
    return tc_chain_profile(n->chain)->heartbeat_interval_ms;
}

void node_clock_init(tc_node *n)
{
    memset(&n->clk, 0, sizeof(n->clk));
    n->clk.started_ms = n->now_ms;
    tc_hash tip;
    tc_chain_tip(n->chain, &tip);
    node_clock_on_block(n, tc_chain_height(n->chain), &tip);
}

void node_clock_deinit(tc_node *n)
{
    free(n->clk.peers);
    n->clk.peers = NULL;
    n->clk.count = n->clk.cap = 0;
}

void node_clock_on_block(tc_node *n, uint64_t height, const tc_hash *hash)
{
    node_clock_block *b = &n->clk.recent[height % NODE_CLOCK_RECENT_BLOCKS];
    b->height = height;
    b->hash = *hash;
}

/* How far below our tip a heartbeat's block may be: NODE_CLOCK_PRESENT_MS of blocks, at least
 * NODE_CLOCK_PRESENT_BLOCKS_MIN (a sender one block behind us is honest), at most what the ring
 * remembers. At 1 s blocks a replay is at most about 10 s old; at 10 min blocks, a block or
 * two (and then the (height, time) order and the warm-up do the rest). */
static uint64_t present_blocks(const tc_node *n)
{
    uint64_t blocks = NODE_CLOCK_PRESENT_MS / tc_chain_profile(n->chain)->block_interval_ms;
    if (blocks < NODE_CLOCK_PRESENT_BLOCKS_MIN)
        blocks = NODE_CLOCK_PRESENT_BLOCKS_MIN;
    return blocks < NODE_CLOCK_RECENT_BLOCKS ? blocks : NODE_CLOCK_RECENT_BLOCKS - 1;
}

/* True when h names a block of our chain within present_blocks() of the tip, or a height above
 * our tip (we are behind; an old heartbeat cannot name a height we have not reached). */
static bool names_present(const tc_node *n, const tc_msg_heartbeat *h)
{
    uint64_t tip = tc_chain_height(n->chain);
    if (h->height > tip)
        return true;
    if (tip - h->height > present_blocks(n))
        return false;
    const node_clock_block *b = &n->clk.recent[h->height % NODE_CLOCK_RECENT_BLOCKS];
    /* Not remembered (just restarted below it): not provably present, so not taken. */
    return b->height == h->height && memcmp(b->hash.b, h->tip.b, TC_HASH_SIZE) == 0;
}

static node_clock_peer *find_peer(tc_node *n, const tc_pubkey *key)
{
    for (uint32_t i = 0; i < n->clk.count; i++)
        if (memcmp(n->clk.peers[i].key.b, key->b, TC_PUBKEY_SIZE) == 0)
            return &n->clk.peers[i];
    return NULL;
}

/* A later heartbeat of one key has a greater (height, time): a replay of an older one, or a copy
 * of the last, is not news. Equal heights with a smaller time are a replay too (a sender whose
 * clock stepped back shows again at its next height). */
static bool is_newer(const node_clock_peer *p, const tc_msg_heartbeat *h)
{
    return p == NULL || h->height > p->height ||
           (h->height == p->height && h->time_ms > p->time_ms);
}

/* Re-evaluates our clock against the median of the masternodes': more than clock_warn_ms off
 * warns, more than clock_stop_ms off stops voting until it is back. The median is taken over
 * this node's own clock (offset 0) and the fresh offsets (heard within
 * NODE_CLOCK_FRESH_HEARTBEATS heartbeat intervals), and only once they number a quorum of the
 * set by count: one validator whose clock jumped must not stop every peer that has not yet
 * heard a second heartbeat (after a start or a restart, that is every peer); and only after the
 * warm-up. True when the clock just came back from a stop. */
static bool clock_evaluate(tc_node *n)
{
    const tc_profile *p = tc_chain_profile(n->chain);
    const tc_vset *vs;
    if (n->now_ms < n->clk.started_ms + NODE_CLOCK_WARMUP_HEARTBEATS * interval_ms(n))
        return false;
    if (tc_chain_vset(n->chain, n->epoch, &vs) != 0)
        return false;
    int64_t *offsets = tc_malloc(((size_t)n->clk.count + 1) * sizeof(*offsets));
    if (offsets == NULL)
        return false; /* no verdict without memory: the state stays as it is */
    uint64_t fresh_ms = (uint64_t)NODE_CLOCK_FRESH_HEARTBEATS * p->heartbeat_interval_ms;
    uint32_t count = 0;
    offsets[count++] = 0;
    for (uint32_t i = 0; i < n->clk.count; i++)
        if (n->clk.peers[i].seen_ms + fresh_ms >= n->now_ms &&
            memcmp(n->clk.peers[i].key.b, n->key.pub.b, TC_PUBKEY_SIZE) != 0)
            offsets[count++] = n->clk.peers[i].offset_ms;
    if (count < vs->count - vs->count / 3) {
        free(offsets);
        return false; /* too few samples to tell whose clock is off */
    }
    qsort(offsets, count, sizeof(offsets[0]), cmp_i64);
    int64_t median = offsets[count / 2];
    free(offsets);
    uint64_t skew = (uint64_t)(median < 0 ? -median : median);
    node_clock_state s = skew > p->clock_stop_ms   ? NODE_CLOCK_STOP
                         : skew > p->clock_warn_ms ? NODE_CLOCK_WARN
                                                   : NODE_CLOCK_OK;
    if (s == n->clk.state)
        return false;
    bool resumed = n->clk.state == NODE_CLOCK_STOP;
    n->clk.state = s;
    tc_notify note = {.kind = TC_NOTIFY_CLOCK,
                      .code = s == NODE_CLOCK_OK ? 0 : TC_EBLK_TIME,
                      .cause = (uint32_t)s,
                      .latency_ms = skew};
    node_notify(n, &note);
    return resumed;
}

static void notify_presence(tc_node *n, const node_clock_peer *p)
{
    const tc_vset *vs;
    uint32_t index = UINT32_MAX;
    if (tc_chain_vset(n->chain, n->epoch, &vs) == 0)
        (void)tc_vset_find(vs, &p->key, &index);
    tc_notify note = {.kind = TC_NOTIFY_MASTERNODE,
                      .validator = index,
                      .code = p->online ? 1 : 0,
                      .latency_ms = p->seen_ms};
    node_notify(n, &note);
}

node_verdict node_clock_check(tc_node *n, tc_peer_id peer, const tc_msg_heartbeat *h)
{
    const tc_vset *vs;
    uint32_t index;
    tc_hash m;
    if (tc_chain_vset(n->chain, n->epoch, &vs) != 0 || tc_vset_find(vs, &h->pubkey, &index) != 0)
        return NODE_DROP; /* only masternodes' clocks count */
    if (h->epoch != n->epoch || !names_present(n, h) || !is_newer(find_peer(n, &h->pubkey), h))
        return NODE_DROP; /* stale or from another chain: signed, but not of the present */
    tc_msg_heartbeat_sign_hash(h, &m);
    if (tc_verify(&n->verifier, &h->pubkey, &m, &h->sig) != 0) {
        node_offence(n, peer, TC_PEER_OFFENCE_BAD_SIG);
        return NODE_DROP;
    }
    return NODE_NEWS;
}

static node_clock_peer *add_peer(tc_node *n, const tc_pubkey *key)
{
    if (n->clk.count == n->clk.cap) {
        if (n->clk.cap == NODE_CLOCK_PEERS_MAX)
            return NULL;
        uint32_t cap = n->clk.cap == 0 ? 16 : n->clk.cap * 2;
        if (cap > NODE_CLOCK_PEERS_MAX)
            cap = NODE_CLOCK_PEERS_MAX;
        node_clock_peer *grown = tc_realloc(n->clk.peers, (size_t)cap * sizeof(*grown));
        if (grown == NULL)
            return NULL; /* this masternode's clock goes untracked; nothing else changes */
        n->clk.peers = grown;
        n->clk.cap = cap;
    }
    node_clock_peer *p = &n->clk.peers[n->clk.count++];
    memset(p, 0, sizeof(*p));
    p->key = *key;
    return p;
}

bool node_clock_take(tc_node *n, const tc_msg_heartbeat *h)
{
    node_clock_peer *slot = find_peer(n, &h->pubkey);
    bool known = slot != NULL;
    if (slot == NULL)
        slot = add_peer(n, &h->pubkey);
    if (slot == NULL)
        return false;
    slot->offset_ms = (int64_t)h->time_ms - (int64_t)n->clock_ms;
    slot->seen_ms = n->now_ms;
    slot->height = h->height;
    slot->time_ms = h->time_ms;
    if (!slot->online) {
        slot->online = true;
        if (known) /* back after being offline; a first sighting is not news to operators */
            notify_presence(n, slot);
    }
    return clock_evaluate(n);
}

/* Marks masternodes silent for NODE_CLOCK_OFFLINE_HEARTBEATS intervals offline, and forgets
 * those silent for NODE_CLOCK_FORGET_HEARTBEATS or no longer in the epoch's set (retired), so
 * the table holds the present set only. */
static void presence_tick(tc_node *n)
{
    const tc_vset *vs = NULL;
    if (tc_chain_vset(n->chain, n->epoch, &vs) != 0)
        vs = NULL;
    uint64_t offline_ms = (uint64_t)NODE_CLOCK_OFFLINE_HEARTBEATS * interval_ms(n);
    uint64_t forget_ms = (uint64_t)NODE_CLOCK_FORGET_HEARTBEATS * interval_ms(n);
    for (uint32_t i = 0; i < n->clk.count;) {
        node_clock_peer *p = &n->clk.peers[i];
        uint32_t index;
        if (p->online && p->seen_ms + offline_ms < n->now_ms) {
            p->online = false;
            notify_presence(n, p);
        }
        if (p->seen_ms + forget_ms < n->now_ms ||
            (vs != NULL && tc_vset_find(vs, &p->key, &index) != 0)) {
            n->clk.peers[i] = n->clk.peers[--n->clk.count]; /* order carries no meaning */
            continue;
        }
        i++;
    }
}

/* Masternodes sign a heartbeat every heartbeat_interval_ms; every node checks presence then. */
void node_clock_tick(tc_node *n)
{
    if (n->now_ms < n->clk.next_heartbeat_ms)
        return;
    n->clk.next_heartbeat_ms = n->now_ms + interval_ms(n);
    presence_tick(n);
    if (n->my_index == UINT32_MAX)
        return;
    tc_msg m = {.type = TC_MSG_HEARTBEAT};
    m.heartbeat.epoch = n->epoch;
    m.heartbeat.height = tc_chain_height(n->chain);
    tc_chain_tip(n->chain, &m.heartbeat.tip);
    m.heartbeat.time_ms = n->clock_ms;
    m.heartbeat.pubkey = n->key.pub;
    tc_msg_heartbeat_sign(&m.heartbeat, n->scheme, &n->key);
    (void)node_broadcast(n, &m, false, 0);
}

/* A validator whose clock is out of bounds may not build a block (its time would be wrong);
 * what bft signs meanwhile is kept and leaves once the clock is back (node_consensus.c). */
bool node_clock_stopped(const tc_node *n)
{
    return n->clk.state == NODE_CLOCK_STOP;
}

uint64_t node_clock_next_deadline(const tc_node *n)
{
    return n->clk.next_heartbeat_ms;
}

int node_clock_masternode(const tc_node *n, const tc_pubkey *key, tc_masternode_presence *out)
{
    memset(out, 0, sizeof(*out));
    for (uint32_t i = 0; i < n->clk.count; i++)
        if (memcmp(n->clk.peers[i].key.b, key->b, TC_PUBKEY_SIZE) == 0) {
            out->known = true;
            out->online = n->clk.peers[i].online;
            out->last_seen_ms = n->clk.peers[i].seen_ms;
            out->offset_ms = n->clk.peers[i].offset_ms;
            return 0;
        }
    return TC_ENOTFOUND;
}

void node_clock_assert(const tc_node *n)
{
    TC_ASSERT(n->clk.count <= n->clk.cap && n->clk.cap <= NODE_CLOCK_PEERS_MAX);
    TC_ASSERT(n->clk.cap == 0 || n->clk.peers != NULL);
    TC_ASSERT(n->clk.state == NODE_CLOCK_OK || n->clk.state == NODE_CLOCK_WARN ||
              n->clk.state == NODE_CLOCK_STOP);
}
