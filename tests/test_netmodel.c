/* test_netmodel.c — the simulated network: latency bounds, loss and duplication rates over many
 * samples (exact, since the seed is fixed), same seed same verdicts, FIFO with and without
 * reordering, partitions (symmetric, one-way, heal), bandwidth, flapping, per-pair overrides
 * and counters. */
#include <criterion/criterion.h>
#include <string.h>

#include "crypto.h"
#include "netmodel.h"

static tc_net *make(uint32_t n, const tc_net_link *l, uint64_t seed)
{
    uint8_t s[TC_SEED_SIZE];
    tc_seed_from_u64(s, seed);
    tc_net *net = NULL;
    cr_assert_eq(tc_net_new(n, l, s, &net), 0);
    return net;
}

static tc_net_link plain(uint32_t latency_ms, uint32_t jitter_ms)
{
    tc_net_link l;
    memset(&l, 0, sizeof(l));
    l.latency_ms = latency_ms;
    l.jitter_ms = jitter_ms;
    return l;
}

Test(netmodel, defaults_and_checks)
{
    tc_net_link l;
    tc_net_link_defaults(&l);
    cr_assert_eq(l.latency_ms, 50);
    cr_assert_eq(l.jitter_ms, 10);
    cr_assert_eq(l.loss_ppm + l.dup_ppm + l.reorder_ppm + l.flap_down_ms, 0);
    cr_assert_eq(tc_net_link_check(&l), 0);
    tc_net_link bad = l;
    bad.loss_ppm = TC_NET_PPM + 1;
    cr_assert_eq(tc_net_link_check(&bad), TC_ERANGE);
    bad = l;
    bad.flap_down_ms = 10; /* down without up */
    cr_assert_eq(tc_net_link_check(&bad), TC_ERANGE);
    bad = l;
    bad.latency_ms = TC_NET_DELAY_MAX_MS + 1;
    cr_assert_eq(tc_net_link_check(&bad), TC_ERANGE);
    uint8_t seed[TC_SEED_SIZE] = {0};
    tc_net *net = NULL;
    cr_assert_eq(tc_net_new(0, &l, seed, &net), TC_EINVAL);
    cr_assert_eq(tc_net_new(TC_NET_ENDPOINTS_MAX + 1, &l, seed, &net), TC_EINVAL);
    bad.latency_ms = TC_NET_DELAY_MAX_MS + 1;
    cr_assert_eq(tc_net_new(4, &bad, seed, &net), TC_ERANGE);
    cr_assert_null(net);
}

Test(netmodel, latency_within_bounds)
{
    tc_net_link l = plain(50, 10);
    tc_net *net = make(3, &l, 1);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint64_t now = 0; now < 5000; now++) {
        tc_net_verdict v;
        tc_net_send(net, 0, 1, now, 100, &v);
        cr_assert_eq(v.fate, TC_NET_DELIVERED);
        cr_assert_eq(v.copies, 1);
        uint64_t d = v.deliver_ms[0] - now;
        cr_assert(d >= 50 && d <= 60, "delay %llu at %llu", (unsigned long long)d,
                  (unsigned long long)now);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    cr_assert_eq(lo, 50, "the low end of the jitter is reached");
    cr_assert_eq(hi, 60, "the high end of the jitter is reached");
    tc_net_free(net);
}

Test(netmodel, loss_rate_matches_probability)
{
    tc_net_link l = plain(10, 0);
    l.loss_ppm = 100000; /* 10% */
    tc_net *net = make(2, &l, 42);
    uint32_t lost = 0;
    for (uint64_t k = 0; k < 100000; k++) {
        tc_net_verdict v;
        tc_net_send(net, 0, 1, k, 10, &v);
        lost += v.fate == TC_NET_LOST;
        cr_assert_eq(v.copies, v.fate == TC_NET_LOST ? 0 : 1);
    }
    cr_assert(lost >= 9500 && lost <= 10500, "lost %u of 100000 at 10%%", lost);
    tc_net_counters c;
    tc_net_counters_get(net, 0, 1, &c);
    cr_assert_eq(c.sent, 100000);
    cr_assert_eq(c.lost, lost);
    cr_assert_eq(c.delivered, 100000 - lost);
    tc_net_free(net);
}

Test(netmodel, certain_outcomes_draw_nothing)
{
    tc_net_link l = plain(10, 0);
    l.loss_ppm = TC_NET_PPM;
    tc_net *net = make(2, &l, 3);
    for (uint64_t k = 0; k < 1000; k++) {
        tc_net_verdict v;
        tc_net_send(net, 0, 1, k, 10, &v);
        cr_assert_eq(v.fate, TC_NET_LOST);
    }
    tc_net_free(net);
}

/* Sends a fixed pattern over every link of a 5-node model and hashes every verdict. */
static void run_pattern(uint64_t seed, tc_hash *out)
{
    tc_net_link l = plain(30, 25);
    l.loss_ppm = 50000;
    l.dup_ppm = 30000;
    l.reorder_ppm = 40000;
    tc_net *net = make(5, &l, seed);
    tc_hasher h;
    tc_hasher_init(&h, "test/net");
    for (uint64_t now = 0; now < 3000; now++) {
        uint32_t from = (uint32_t)(now % 5), to = (uint32_t)((now / 5 + 1 + now) % 5);
        if (from == to)
            to = (to + 1) % 5;
        tc_net_verdict v;
        tc_net_send(net, from, to, now, 200, &v);
        uint64_t words[4] = {v.fate, v.copies, v.deliver_ms[0], v.deliver_ms[1]};
        tc_hasher_update(&h, words, sizeof(words));
    }
    tc_hasher_final(&h, out);
    tc_net_free(net);
}

Test(netmodel, same_seed_same_decisions)
{
    tc_hash a, b, c;
    run_pattern(11, &a);
    run_pattern(11, &b);
    run_pattern(12, &c);
    cr_assert_eq(memcmp(a.b, b.b, TC_HASH_SIZE), 0, "same seed, same verdicts");
    cr_assert_neq(memcmp(a.b, c.b, TC_HASH_SIZE), 0, "another seed, other verdicts");
}

Test(netmodel, fifo_without_reorder)
{
    tc_net_link l = plain(10, 100); /* jitter far above the send spacing */
    tc_net *net = make(2, &l, 5);
    uint64_t last = 0;
    uint32_t raised = 0;
    for (uint64_t now = 0; now < 2000; now++) {
        tc_net_verdict v;
        tc_net_send(net, 0, 1, now, 10, &v);
        cr_assert_geq(v.deliver_ms[0], last, "message %llu overtook", (unsigned long long)now);
        raised += v.deliver_ms[0] == last;
        last = v.deliver_ms[0];
    }
    cr_assert_gt(raised, 0, "the FIFO clamp was exercised");
    tc_net_free(net);
}

Test(netmodel, reorder_lets_messages_overtake)
{
    tc_net_link l = plain(20, 5);
    l.reorder_ppm = 200000;
    tc_net *net = make(2, &l, 6);
    uint64_t max_seen = 0;
    uint32_t overtaken = 0, reordered = 0;
    for (uint64_t now = 0; now < 2000; now++) {
        tc_net_verdict v;
        tc_net_send(net, 0, 1, now, 10, &v);
        reordered += v.reordered;
        overtaken += v.deliver_ms[0] < max_seen;
        max_seen = v.deliver_ms[0] > max_seen ? v.deliver_ms[0] : max_seen;
        cr_assert_leq(v.deliver_ms[0] - now, 20 + 5 + 25, "extra delay at most latency+jitter");
    }
    cr_assert(reordered > 300 && reordered < 500, "reordered %u of 2000 at 20%%", reordered);
    cr_assert_gt(overtaken, 0);
    tc_net_counters c;
    tc_net_counters_get(net, 0, 1, &c);
    cr_assert_eq(c.reordered, reordered);
    tc_net_free(net);
}

Test(netmodel, duplication_count)
{
    tc_net_link l = plain(10, 10);
    l.dup_ppm = 200000; /* 20% */
    tc_net *net = make(2, &l, 8);
    uint32_t dups = 0;
    for (uint64_t now = 0; now < 50000; now++) {
        tc_net_verdict v;
        tc_net_send(net, 1, 0, now, 10, &v);
        cr_assert_eq(v.fate, TC_NET_DELIVERED);
        if (v.copies == 2) {
            dups++;
            cr_assert_geq(v.deliver_ms[1], v.deliver_ms[0]);
            cr_assert_leq(v.deliver_ms[1] - v.deliver_ms[0], 20);
        }
    }
    cr_assert(dups >= 9500 && dups <= 10500, "duplicated %u of 50000 at 20%%", dups);
    tc_net_counters c;
    tc_net_counters_get(net, 1, 0, &c);
    cr_assert_eq(c.duplicated, dups);
    cr_assert_eq(c.delivered, 50000 + dups);
    tc_net_free(net);
}

static void expect_fate(tc_net *net, uint32_t from, uint32_t to, uint64_t now, tc_net_fate fate)
{
    tc_net_verdict v;
    tc_net_send(net, from, to, now, 10, &v);
    cr_assert_eq(v.fate, fate, "%u -> %u at %llu: fate %d, expected %d", from, to,
                 (unsigned long long)now, v.fate, fate);
}

Test(netmodel, partitions_one_way_and_heal)
{
    tc_net_link l = plain(5, 0);
    tc_net *net = make(5, &l, 9);
    const uint32_t groups[5] = {0, 0, 1, 1, TC_NET_GROUP_NONE};
    tc_net_partition(net, groups);
    for (uint32_t a = 0; a < 5; a++) {
        for (uint32_t b = 0; b < 5; b++) {
            if (a == b)
                continue;
            bool cut = a != 4 && b != 4 && groups[a] != groups[b];
            cr_assert_eq(tc_net_is_cut(net, a, b), cut, "%u -> %u", a, b);
            expect_fate(net, a, b, 1, cut ? TC_NET_PARTITIONED : TC_NET_DELIVERED);
        }
    }
    tc_net_heal(net);
    tc_net_cut(net, 0, 1); /* one way: 0's messages to 1 are lost, 1's to 0 are not */
    expect_fate(net, 0, 1, 2, TC_NET_PARTITIONED);
    expect_fate(net, 1, 0, 2, TC_NET_DELIVERED);
    tc_net_partition(net, groups); /* cuts accumulate */
    cr_assert(tc_net_is_cut(net, 0, 1) && tc_net_is_cut(net, 0, 2) && !tc_net_is_cut(net, 1, 0));
    tc_net_heal(net);
    for (uint32_t a = 0; a < 5; a++)
        for (uint32_t b = 0; b < 5; b++)
            cr_assert(a == b || !tc_net_is_cut(net, a, b));
    expect_fate(net, 0, 1, 3, TC_NET_DELIVERED);
    tc_net_counters c;
    tc_net_counters_get(net, 0, 1, &c);
    cr_assert_eq(c.partitioned, 1);
    tc_net_counters_get(net, 0, 2, &c);
    cr_assert_eq(c.partitioned, 1);
    tc_net_free(net);
}

Test(netmodel, bandwidth_serializes_the_wire)
{
    tc_net_link l = plain(10, 0);
    l.bandwidth_Bps = 1000; /* 100 bytes take 100 ms */
    tc_net *net = make(2, &l, 10);
    for (uint64_t k = 1; k <= 5; k++) {
        tc_net_verdict v;
        tc_net_send(net, 0, 1, 0, 100, &v);
        cr_assert_eq(v.deliver_ms[0], k * 100 + 10, "message %llu", (unsigned long long)k);
    }
    tc_net_verdict v;
    tc_net_send(net, 0, 1, 2000, 1, &v); /* idle wire: 1 ms, rounded up */
    cr_assert_eq(v.deliver_ms[0], 2000 + 1 + 10);
    tc_net_free(net);
}

Test(netmodel, flapping_link)
{
    tc_net_link l = plain(1, 0);
    l.flap_up_ms = 100;
    l.flap_down_ms = 50; /* up [0,100), down [100,150), up [150,250), ... */
    tc_net *net = make(2, &l, 12);
    expect_fate(net, 0, 1, 0, TC_NET_DELIVERED);
    expect_fate(net, 0, 1, 99, TC_NET_DELIVERED);
    expect_fate(net, 0, 1, 100, TC_NET_DOWN);
    expect_fate(net, 0, 1, 149, TC_NET_DOWN);
    expect_fate(net, 0, 1, 150, TC_NET_DELIVERED);
    expect_fate(net, 0, 1, 260, TC_NET_DOWN);
    tc_net_counters c;
    tc_net_counters_get(net, 0, 1, &c);
    cr_assert_eq(c.down, 3);
    tc_net_free(net);
}

Test(netmodel, per_pair_overrides_and_totals)
{
    tc_net_link l = plain(10, 0);
    tc_net *net = make(3, &l, 13);
    tc_net_link slow = plain(300, 0);
    cr_assert_eq(tc_net_link_set(net, 0, 2, &slow), 0);
    tc_net_link got;
    tc_net_link_get(net, 0, 2, &got);
    cr_assert_eq(got.latency_ms, 300);
    tc_net_link_get(net, 2, 0, &got);
    cr_assert_eq(got.latency_ms, 10, "overrides are directed");
    tc_net_verdict v;
    tc_net_send(net, 0, 2, 0, 10, &v);
    cr_assert_eq(v.deliver_ms[0], 300);
    tc_net_send(net, 2, 0, 0, 10, &v);
    cr_assert_eq(v.deliver_ms[0], 10);
    tc_net_link bad = slow;
    bad.dup_ppm = TC_NET_PPM + 1;
    cr_assert_eq(tc_net_link_set(net, 0, 1, &bad), TC_ERANGE);
    tc_net_counters t;
    tc_net_totals(net, &t);
    cr_assert_eq(t.sent, 2);
    cr_assert_eq(t.delivered, 2);
    tc_net_free(net);
}

Test(netmodel, parameter_table_is_bounded)
{
    tc_net_link l = plain(0, 0);
    tc_net *net = make(2, &l, 14);
    int rc = 0;
    uint32_t k = 1;
    for (; k <= TC_NET_PARAMS_MAX && rc == 0; k++) {
        tc_net_link p = plain(k, 0);
        rc = tc_net_link_set(net, 0, 1, &p);
    }
    cr_assert_eq(rc, TC_EFULL);
    cr_assert_eq(k - 1, TC_NET_PARAMS_MAX, "the default plus %u distinct sets fit",
                 TC_NET_PARAMS_MAX - 1);
    tc_net_link again = plain(5, 0); /* already in the table: no new entry needed */
    cr_assert_eq(tc_net_link_set(net, 1, 0, &again), 0);
    tc_net_free(net);
}
