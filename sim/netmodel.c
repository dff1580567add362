/* netmodel.c — per-link delay, loss, duplication, reordering, bandwidth, flapping, partitions. */
#include "netmodel.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"

typedef struct {
    uint64_t fifo_ms;      /* latest in-order arrival on this link */
    uint64_t busy_us;      /* the wire is busy until then (bandwidth) */
    uint64_t last_send_ms; /* sends on one link never go back in time */
    tc_net_counters c;
    uint16_t params; /* index into tc_net.params */
    uint8_t cut;
} link;

struct tc_net {
    uint32_t n;
    link *links; /* n * n, row = sender; the diagonal is unused */
    tc_net_link *params;
    uint32_t param_count;
    tc_rng rng;
};

_Static_assert(TC_NET_PARAMS_MAX <= UINT16_MAX + 1u, "parameter index fits link.params");
_Static_assert((uint64_t)TC_NET_ENDPOINTS_MAX *TC_NET_ENDPOINTS_MAX <= UINT32_MAX,
               "link index fits 32 bits");

void tc_net_link_defaults(tc_net_link *out)
{
    TC_ASSERT(out != NULL);
    memset(out, 0, sizeof(*out));
    out->latency_ms = 50;
    out->jitter_ms = 10;
}

int tc_net_link_check(const tc_net_link *p)
{
    TC_ASSERT(p != NULL);
    bool ok = p->loss_ppm <= TC_NET_PPM && p->dup_ppm <= TC_NET_PPM &&
              p->reorder_ppm <= TC_NET_PPM && p->latency_ms <= TC_NET_DELAY_MAX_MS &&
              p->jitter_ms <= TC_NET_DELAY_MAX_MS && p->flap_up_ms <= TC_NET_DELAY_MAX_MS &&
              p->flap_down_ms <= TC_NET_DELAY_MAX_MS && p->bandwidth_Bps <= TC_NET_BANDWIDTH_MAX &&
              (p->flap_down_ms == 0 || p->flap_up_ms > 0) && p->reserved == 0;
    return ok ? 0 : TC_ERANGE;
}

static link *at(const tc_net *net, uint32_t from, uint32_t to)
{
    TC_ASSERT(from < net->n && to < net->n);
    TC_ASSERT(from != to);
    return &net->links[(size_t)from * net->n + to];
}

int tc_net_new(uint32_t endpoints, const tc_net_link *defaults, const uint8_t seed[TC_SEED_SIZE],
               tc_net **out)
{
    TC_ASSERT(defaults != NULL && seed != NULL && out != NULL);
    *out = NULL;
    if (endpoints == 0 || endpoints > TC_NET_ENDPOINTS_MAX)
        return TC_EINVAL;
    if (tc_net_link_check(defaults) != 0)
        return TC_ERANGE;
    tc_net *net = calloc(1, sizeof(*net));
    if (net == NULL)
        return TC_ENOMEM;
    net->links = calloc((size_t)endpoints * endpoints, sizeof(*net->links));
    net->params = calloc(TC_NET_PARAMS_MAX, sizeof(*net->params));
    if (net->links == NULL || net->params == NULL) {
        tc_net_free(net);
        return TC_ENOMEM;
    }
    net->n = endpoints;
    net->params[0] = *defaults; /* every link starts at index 0 (calloc) */
    net->param_count = 1;
    tc_rng_init(&net->rng, seed);
    *out = net;
    return 0;
}

void tc_net_free(tc_net *net)
{
    if (net == NULL)
        return;
    free(net->links);
    free(net->params);
    free(net);
}

uint32_t tc_net_endpoint_count(const tc_net *net)
{
    TC_ASSERT(net != NULL);
    return net->n;
}

/* Index of an entry equal to *p, appended when new. Linear: the table is small and only
 * scenario setup and link events touch it. */
static int param_index(tc_net *net, const tc_net_link *p, uint16_t *out)
{
    for (uint32_t i = 0; i < net->param_count; i++) {
        if (memcmp(&net->params[i], p, sizeof(*p)) == 0) {
            *out = (uint16_t)i;
            return 0;
        }
    }
    if (net->param_count == TC_NET_PARAMS_MAX)
        return TC_EFULL;
    net->params[net->param_count] = *p;
    *out = (uint16_t)net->param_count++;
    return 0;
}

int tc_net_link_set(tc_net *net, uint32_t from, uint32_t to, const tc_net_link *p)
{
    TC_ASSERT(net != NULL && p != NULL);
    link *l = at(net, from, to);
    if (tc_net_link_check(p) != 0)
        return TC_ERANGE;
    uint16_t index = 0;
    int rc = param_index(net, p, &index);
    if (rc != 0)
        return rc;
    l->params = index;
    return 0;
}

void tc_net_link_get(const tc_net *net, uint32_t from, uint32_t to, tc_net_link *out)
{
    TC_ASSERT(net != NULL && out != NULL);
    const link *l = at(net, from, to);
    TC_ASSERT(l->params < net->param_count);
    *out = net->params[l->params];
}

void tc_net_partition(tc_net *net, const uint32_t *group)
{
    TC_ASSERT(net != NULL && group != NULL);
    for (uint32_t a = 0; a < net->n; a++) {
        for (uint32_t b = 0; b < net->n; b++) {
            if (a == b || group[a] == TC_NET_GROUP_NONE || group[b] == TC_NET_GROUP_NONE)
                continue;
            if (group[a] != group[b])
                at(net, a, b)->cut = 1;
        }
    }
}

void tc_net_cut(tc_net *net, uint32_t from, uint32_t to)
{
    TC_ASSERT(net != NULL);
    at(net, from, to)->cut = 1;
}

void tc_net_heal(tc_net *net)
{
    TC_ASSERT(net != NULL);
    for (size_t i = 0; i < (size_t)net->n * net->n; i++)
        net->links[i].cut = 0;
}

bool tc_net_is_cut(const tc_net *net, uint32_t from, uint32_t to)
{
    TC_ASSERT(net != NULL);
    return at(net, from, to)->cut != 0;
}

/* True with probability ppm / 10^6; draws only when the outcome is not certain. */
static bool chance(tc_rng *rng, uint32_t ppm)
{
    TC_ASSERT(ppm <= TC_NET_PPM);
    if (ppm == 0)
        return false;
    if (ppm == TC_NET_PPM)
        return true;
    return tc_rng_below(rng, TC_NET_PPM) < ppm;
}

/* Uniform in [0, max]; no draw when max is 0. */
static uint64_t uniform(tc_rng *rng, uint64_t max)
{
    return max == 0 ? 0 : tc_rng_below(rng, max + 1);
}

static bool flap_down(const tc_net_link *p, uint64_t now_ms)
{
    if (p->flap_down_ms == 0)
        return false;
    uint64_t period = (uint64_t)p->flap_up_ms + p->flap_down_ms;
    return now_ms % period >= p->flap_up_ms;
}

/* Time (ms, rounded up) the message has left the sender: after the wire carried it. */
static uint64_t wire(link *l, const tc_net_link *p, uint64_t now_ms, uint32_t size_bytes)
{
    if (p->bandwidth_Bps == 0)
        return now_ms;
    uint64_t now_us = now_ms * 1000;
    uint64_t start_us = l->busy_us > now_us ? l->busy_us : now_us;
    uint64_t tx_us = ((uint64_t)size_bytes * 1000000 + p->bandwidth_Bps - 1) / p->bandwidth_Bps;
    l->busy_us = start_us + tx_us;
    return (l->busy_us + 999) / 1000;
}

static void deliver(tc_net *net, link *l, const tc_net_link *p, uint64_t left_ms,
                    tc_net_verdict *out)
{
    uint64_t spread = (uint64_t)p->latency_ms + p->jitter_ms;
    uint64_t arrive = left_ms + p->latency_ms + uniform(&net->rng, p->jitter_ms);
    if (chance(&net->rng, p->reorder_ppm)) {
        arrive += uniform(&net->rng, spread);
        out->reordered = true;
        l->c.reordered++;
    } else {
        if (arrive < l->fifo_ms)
            arrive = l->fifo_ms;
        l->fifo_ms = arrive;
    }
    out->fate = TC_NET_DELIVERED;
    out->copies = 1;
    out->deliver_ms[0] = arrive;
    if (chance(&net->rng, p->dup_ppm)) {
        out->copies = 2;
        out->deliver_ms[1] = arrive + uniform(&net->rng, spread);
        l->c.duplicated++;
    }
    l->c.delivered += out->copies;
}

void tc_net_send(tc_net *net, uint32_t from, uint32_t to, uint64_t now_ms, uint32_t size_bytes,
                 tc_net_verdict *out)
{
    TC_ASSERT(net != NULL && out != NULL);
    link *l = at(net, from, to);
    TC_ASSERT(now_ms >= l->last_send_ms);
    TC_ASSERT(l->params < net->param_count);
    const tc_net_link *p = &net->params[l->params];
    memset(out, 0, sizeof(*out));
    l->last_send_ms = now_ms;
    l->c.sent++;
    if (l->cut) {
        out->fate = TC_NET_PARTITIONED;
        l->c.partitioned++;
        return;
    }
    if (flap_down(p, now_ms)) {
        out->fate = TC_NET_DOWN;
        l->c.down++;
        return;
    }
    uint64_t left_ms = wire(l, p, now_ms, size_bytes);
    if (chance(&net->rng, p->loss_ppm)) {
        out->fate = TC_NET_LOST;
        l->c.lost++;
        return;
    }
    deliver(net, l, p, left_ms, out);
    TC_ASSERT(out->deliver_ms[0] >= now_ms);
}

void tc_net_counters_get(const tc_net *net, uint32_t from, uint32_t to, tc_net_counters *out)
{
    TC_ASSERT(net != NULL && out != NULL);
    *out = at(net, from, to)->c;
}

void tc_net_totals(const tc_net *net, tc_net_counters *out)
{
    TC_ASSERT(net != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < (size_t)net->n * net->n; i++) {
        const tc_net_counters *c = &net->links[i].c;
        out->sent += c->sent;
        out->delivered += c->delivered;
        out->lost += c->lost;
        out->duplicated += c->duplicated;
        out->partitioned += c->partitioned;
        out->down += c->down;
        out->reordered += c->reordered;
    }
}
