/* netmodel.h — the simulated network: for every message a node sends, whether it arrives, how
 * many times, and when.
 *
 * The model owns N endpoints (nodes) and the N x N directed links between them: each link's
 * parameters (an entry of a small table of distinct parameter sets, so per-pair overrides cost
 * one index per link), its cut flag (partitions), its FIFO and bandwidth state, and its
 * counters. It also owns the generator that draws every random choice, seeded by the caller
 * from the run seed (derive it, e.g. tc_seed_derive(master, "net", 0), so the network's stream
 * is independent of the nodes' ones). The model never reads a clock: the sender's global
 * virtual time comes in as now_ms. All arithmetic is integer (determinism rule 3); the same
 * seed and the same sequence of calls give the same verdicts, bit for bit.
 *
 * What happens to one message sent from a to b at now_ms (tc_net_send), in this order:
 *   1. cut:    a -> b is cut by a partition: PARTITIONED, nothing drawn.
 *   2. flap:   the link flaps (flap_down_ms > 0) and now_ms falls in a down phase: DOWN. The
 *              phase is global: up during [k*P, k*P + up), down during [k*P + up, (k+1)*P),
 *              P = up + down, k = 0, 1, ...
 *   3. wire:   with a bandwidth, the message occupies the link for ceil(size * 10^6 / bw) us
 *              after the previous message left it (the link is a queue, tracked in
 *              microseconds); it leaves the sender at the end of that time.
 *   4. loss:   with probability loss_ppm / 10^6: LOST (it still used the wire).
 *   5. delay:  latency_ms + a uniform draw in [0, jitter_ms].
 *   6. order:  links are FIFO like TCP: the arrival is raised to the previous in-order arrival
 *              on the link, and equal times keep send order through the queue's sequence
 *              numbers. With reorder_ppm, each message is independently, with that
 *              probability, "reordered": it is held back an extra uniform [0, latency_ms +
 *              jitter_ms] ms and does not take part in FIFO (neither raised nor raising), so
 *              later messages may overtake it.
 *   7. dup:    with probability dup_ppm a second copy arrives at the first arrival plus a
 *              uniform [0, latency_ms + jitter_ms] ms; the copy does not take part in FIFO.
 * Random draws happen only where a probability or range is non-zero, in the order above.
 *
 * Partitions: tc_net_partition cuts both directions between endpoints of different groups,
 * tc_net_cut cuts one direction; cuts accumulate until tc_net_heal removes them all. A cut
 * link drops messages at send time; messages already in flight still arrive (they are in the
 * event queue, out of the model's reach).
 *
 * Invariants: endpoint count in 1..TC_NET_ENDPOINTS_MAX; every link's parameter index refers to
 * a checked entry of the table (tc_net_link_check); counters only grow; for a FIFO link the
 * in-order arrivals it returns never decrease.
 *
 * Memory: about 90 bytes per directed link (N^2 of them): 90 MiB at the 1024-endpoint bound.
 */
#ifndef TC_NETMODEL_H
#define TC_NETMODEL_H

#include "base.h"

#define TC_NET_ENDPOINTS_MAX 1024u
#define TC_NET_PARAMS_MAX    4096u               /* distinct parameter sets in one model */
#define TC_NET_PPM           1000000u            /* probabilities are parts per million */
#define TC_NET_DELAY_MAX_MS  3600000u            /* latency, jitter, flap phases: at most 1 h */
#define TC_NET_BANDWIDTH_MAX (UINT64_C(1) << 40) /* bytes per second */
#define TC_NET_GROUP_NONE    UINT32_MAX          /* tc_net_partition: not in any group */

/* Parameters of one directed link. */
typedef struct {
    uint32_t latency_ms;    /* base one-way delay */
    uint32_t jitter_ms;     /* extra delay, uniform in [0, jitter_ms] */
    uint32_t loss_ppm;      /* probability a message is lost */
    uint32_t dup_ppm;       /* probability a message arrives twice */
    uint32_t reorder_ppm;   /* probability a message leaves FIFO order (see above) */
    uint32_t flap_up_ms;    /* with flap_down_ms > 0: the link's up phase */
    uint32_t flap_down_ms;  /* 0: never flaps */
    uint32_t reserved;      /* zero; keeps the struct free of padding (it is compared) */
    uint64_t bandwidth_Bps; /* bytes per second; 0: unlimited */
} tc_net_link;

typedef enum {
    TC_NET_DELIVERED = 0,   /* copies >= 1 */
    TC_NET_LOST = 1,        /* random loss */
    TC_NET_PARTITIONED = 2, /* the link is cut */
    TC_NET_DOWN = 3,        /* the link is in a flap's down phase */
} tc_net_fate;

typedef struct {
    tc_net_fate fate;
    uint32_t copies;        /* 0 (not delivered), 1, or 2 (duplicated) */
    bool reordered;         /* the first copy skipped FIFO */
    uint64_t deliver_ms[2]; /* arrival times of the copies, global virtual time */
} tc_net_verdict;

typedef struct {
    uint64_t sent;        /* tc_net_send calls */
    uint64_t delivered;   /* copies scheduled (a duplicated message counts 2) */
    uint64_t lost;        /* random loss */
    uint64_t duplicated;  /* messages that got a second copy */
    uint64_t partitioned; /* dropped on a cut link */
    uint64_t down;        /* dropped in a flap's down phase */
    uint64_t reordered;   /* messages that skipped FIFO */
} tc_net_counters;

typedef struct tc_net tc_net;

/* The defaults a scenario starts from (docs/SCENARIOS.md, `network`): 50 ms latency, 10 ms
 * jitter, nothing else. */
void tc_net_link_defaults(tc_net_link *out);
/* 0, or TC_ERANGE: a probability above 10^6 ppm, a delay above TC_NET_DELAY_MAX_MS, a bandwidth
 * above TC_NET_BANDWIDTH_MAX, flap_up_ms == 0 with flap_down_ms > 0, reserved != 0. */
int tc_net_link_check(const tc_net_link *p);

/* A model of endpoints (1..TC_NET_ENDPOINTS_MAX) whose links all start with *defaults, uncut.
 * seed seeds the model's generator; it is copied. Codes: TC_EINVAL (endpoints), TC_ERANGE
 * (defaults fail tc_net_link_check), TC_ENOMEM. */
int tc_net_new(uint32_t endpoints, const tc_net_link *defaults, const uint8_t seed[TC_SEED_SIZE],
               tc_net **out);
void tc_net_free(tc_net *net); /* NULL is fine */
uint32_t tc_net_endpoint_count(const tc_net *net);

/* Sets the parameters of the directed link from -> to (from != to). The link's FIFO, bandwidth
 * and counters carry on. Codes: TC_ERANGE (tc_net_link_check), TC_EFULL (more than
 * TC_NET_PARAMS_MAX distinct parameter sets in this model). */
int tc_net_link_set(tc_net *net, uint32_t from, uint32_t to, const tc_net_link *p);
void tc_net_link_get(const tc_net *net, uint32_t from, uint32_t to, tc_net_link *out);

/* group[i] is endpoint i's group, or TC_NET_GROUP_NONE (its links stay as they are); group has
 * tc_net_endpoint_count entries. Cuts both directions between every two endpoints in different
 * groups. */
void tc_net_partition(tc_net *net, const uint32_t *group);
/* Cuts from -> to only: from's messages to `to` are lost, to's messages to `from` are not. */
void tc_net_cut(tc_net *net, uint32_t from, uint32_t to);
/* Removes every cut. */
void tc_net_heal(tc_net *net);
bool tc_net_is_cut(const tc_net *net, uint32_t from, uint32_t to);

/* Decides the fate of one message of size_bytes sent from -> to at global time now_ms (see the
 * steps above) and counts it. now_ms must not decrease between calls on one link (asserted). */
void tc_net_send(tc_net *net, uint32_t from, uint32_t to, uint64_t now_ms, uint32_t size_bytes,
                 tc_net_verdict *out);

void tc_net_counters_get(const tc_net *net, uint32_t from, uint32_t to, tc_net_counters *out);
/* Sum over all links. */
void tc_net_totals(const tc_net *net, tc_net_counters *out);

#endif
