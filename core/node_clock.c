/* node_clock.c — clock sanity inside the node (node_internal.h; PROTOCOL 15): this masternode's
 * heartbeat out, the masternodes' heartbeats in, and the median offset that warns or stops
 * voting.
 */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Re-evaluates our clock against the median of the masternodes': more than clock_warn_ms off
 * warns, more than clock_stop_ms off stops voting until it is back. The median is taken over
 * this node's own clock (offset 0) and the fresh offsets (heard within
 * NODE_CLOCK_FRESH_HEARTBEATS heartbeat intervals), and only once they number a quorum of the
 * set by count: one validator whose clock jumped must not stop every peer that has not yet
 * heard a second heartbeat (after a start or a restart, that is every peer). True when the
 * clock just came back from a stop. */
static bool clock_evaluate(tc_node *n)
{
    int64_t offsets[NODE_CLOCK_PEERS_MAX + 1];
    const tc_profile *p = tc_chain_profile(n->chain);
    const tc_vset *vs;
    if (tc_chain_vset(n->chain, n->epoch, &vs) != 0)
        return false;
    uint64_t fresh_ms = (uint64_t)NODE_CLOCK_FRESH_HEARTBEATS * p->heartbeat_interval_ms;
    uint32_t count = 0;
    offsets[count++] = 0;
    for (uint32_t i = 0; i < n->clk.count; i++)
        if (n->clk.peers[i].seen_ms + fresh_ms >= n->now_ms &&
            memcmp(n->clk.peers[i].key.b, n->key.pub.b, TC_PUBKEY_SIZE) != 0)
            offsets[count++] = n->clk.peers[i].offset_ms;
    if (count < vs->count - vs->count / 3)
        return false; /* too few samples to tell whose clock is off */
    qsort(offsets, count, sizeof(offsets[0]), cmp_i64);
    int64_t median = offsets[count / 2];
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

node_verdict node_clock_check(tc_node *n, tc_peer_id peer, const tc_msg_heartbeat *h)
{
    const tc_vset *vs;
    uint32_t index;
    tc_hash m;
    if (tc_chain_vset(n->chain, n->epoch, &vs) != 0 || tc_vset_find(vs, &h->pubkey, &index) != 0)
        return NODE_DROP; /* only masternodes' clocks count */
    tc_msg_heartbeat_sign_hash(h, &m);
    if (tc_verify(&n->verifier, &h->pubkey, &m, &h->sig) != 0) {
        node_offence(n, peer, TC_PEER_OFFENCE_BAD_SIG);
        return NODE_DROP;
    }
    return NODE_NEWS;
}

bool node_clock_take(tc_node *n, const tc_msg_heartbeat *h)
{
    node_clock_peer *slot = NULL;
    for (uint32_t i = 0; i < n->clk.count && slot == NULL; i++)
        if (memcmp(n->clk.peers[i].key.b, h->pubkey.b, TC_PUBKEY_SIZE) == 0)
            slot = &n->clk.peers[i];
    if (slot == NULL && n->clk.count < NODE_CLOCK_PEERS_MAX)
        slot = &n->clk.peers[n->clk.count++];
    if (slot == NULL)
        return false;
    slot->key = h->pubkey;
    slot->offset_ms = (int64_t)h->time_ms - (int64_t)n->clock_ms;
    slot->seen_ms = n->now_ms;
    return clock_evaluate(n);
}

/* Masternodes sign a heartbeat every heartbeat_interval_ms. */
void node_clock_tick(tc_node *n)
{
    if (n->now_ms < n->clk.next_heartbeat_ms)
        return;
    n->clk.next_heartbeat_ms = n->now_ms + tc_chain_profile(n->chain)->heartbeat_interval_ms;
    if (n->my_index == UINT32_MAX)
        return;
    tc_msg m = {.type = TC_MSG_HEARTBEAT};
    m.heartbeat.epoch = n->epoch;
    m.heartbeat.height = tc_chain_height(n->chain);
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
    return n->my_index != UINT32_MAX ? n->clk.next_heartbeat_ms : UINT64_MAX;
}

void node_clock_assert(const tc_node *n)
{
    TC_ASSERT(n->clk.count <= NODE_CLOCK_PEERS_MAX);
    TC_ASSERT(n->clk.state == NODE_CLOCK_OK || n->clk.state == NODE_CLOCK_WARN ||
              n->clk.state == NODE_CLOCK_STOP);
}
