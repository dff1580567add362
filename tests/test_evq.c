/* test_evq.c — the simulator's event queue: (time, seq) order, ties by insertion, the capacity
 * bound, payload hand-off to the drop callback, removal, and a randomized check against a
 * sorted reference. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "evq.h"

static tc_evq_event ev_at(uint64_t time_ms, uint64_t arg)
{
    tc_evq_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.time_ms = time_ms;
    ev.kind = TC_EVQ_TIMER;
    ev.arg = arg;
    return ev;
}

Test(evq, pops_in_time_order)
{
    tc_evq *q = NULL;
    cr_assert_eq(tc_evq_new(16, NULL, NULL, &q), 0);
    static const uint64_t times[] = {50, 10, 40, 20, 30, 0, 60};
    for (size_t k = 0; k < TC_ARRAY_LEN(times); k++) {
        tc_evq_event ev = ev_at(times[k], k);
        cr_assert_eq(tc_evq_push(q, &ev, NULL), 0);
    }
    cr_assert_eq(tc_evq_count(q), 7);
    cr_assert_eq(tc_evq_peek(q)->time_ms, 0);
    uint64_t last = 0;
    for (size_t k = 0; k < TC_ARRAY_LEN(times); k++) {
        tc_evq_event out;
        cr_assert_eq(tc_evq_pop(q, &out), 0);
        cr_assert_eq(out.time_ms, k * 10, "pop %zu: time %llu", k, (unsigned long long)out.time_ms);
        cr_assert_geq(out.time_ms, last);
        cr_assert_eq(tc_evq_now(q), out.time_ms);
        last = out.time_ms;
    }
    tc_evq_event out;
    cr_assert_eq(tc_evq_pop(q, &out), TC_ENOTFOUND);
    cr_assert_null(tc_evq_peek(q));
    tc_evq_free(q);
}

/* pop_until takes the earliest event only when it is due by the limit, from the wheel and from
 * the far heap alike, and changes nothing (count, now) when it is not. */
Test(evq, pop_until_stops_at_the_limit)
{
    tc_evq *q = NULL;
    cr_assert_eq(tc_evq_new(16, NULL, NULL, &q), 0);
    static const uint64_t times[] = {30, 10, 20000, 20}; /* 20000: beyond the wheel, far */
    for (size_t k = 0; k < TC_ARRAY_LEN(times); k++) {
        tc_evq_event ev = ev_at(times[k], k);
        cr_assert_eq(tc_evq_push(q, &ev, NULL), 0);
    }
    tc_evq_event out;
    cr_assert_eq(tc_evq_pop_until(q, 9, &out), TC_ENOTFOUND, "10 is after the limit 9");
    cr_assert_eq(tc_evq_count(q), 4, "nothing taken: 4 events");
    cr_assert_eq(tc_evq_now(q), 0, "now stays 0");
    cr_assert_eq(tc_evq_pop_until(q, 10, &out), 0);
    cr_assert_eq(out.time_ms, 10, "an event due at the limit is taken: %llu",
                 (unsigned long long)out.time_ms);
    cr_assert_eq(tc_evq_pop_until(q, 25, &out), 0);
    cr_assert_eq(out.time_ms, 20);
    cr_assert_eq(tc_evq_pop_until(q, 25, &out), TC_ENOTFOUND, "30 is after 25");
    cr_assert_eq(tc_evq_now(q), 20);
    cr_assert_eq(tc_evq_pop_until(q, 30, &out), 0);
    cr_assert_eq(out.time_ms, 30);
    cr_assert_eq(tc_evq_pop_until(q, 19999, &out), TC_ENOTFOUND, "the far event waits");
    cr_assert_eq(tc_evq_count(q), 1, "the far event is still queued");
    cr_assert_eq(tc_evq_pop_until(q, 20000, &out), 0);
    cr_assert_eq(out.time_ms, 20000, "and comes out at its limit: %llu",
                 (unsigned long long)out.time_ms);
    cr_assert_eq(tc_evq_pop_until(q, UINT64_MAX, &out), TC_ENOTFOUND, "empty");
    tc_evq_free(q);
}

Test(evq, ties_pop_in_insertion_order)
{
    tc_evq *q = NULL;
    cr_assert_eq(tc_evq_new(64, NULL, NULL, &q), 0);
    /* 40 events at one time, interleaved with others, must come out by push order. */
    uint64_t seqs[40];
    for (uint64_t k = 0; k < 40; k++) {
        tc_evq_event ev = ev_at(100, k);
        cr_assert_eq(tc_evq_push(q, &ev, &seqs[k]), 0);
        tc_evq_event other = ev_at(k % 2 == 0 ? 50 : 150, 1000 + k);
        if (k < 20)
            cr_assert_eq(tc_evq_push(q, &other, NULL), 0);
    }
    for (uint64_t k = 1; k < 40; k++)
        cr_assert_gt(seqs[k], seqs[k - 1]);
    tc_evq_event out;
    uint64_t at_100 = 0;
    while (tc_evq_pop(q, &out) == 0) {
        if (out.time_ms != 100)
            continue;
        cr_assert_eq(out.arg, at_100, "tie %llu popped as %llu", (unsigned long long)at_100,
                     (unsigned long long)out.arg);
        cr_assert_eq(out.seq, seqs[at_100]);
        at_100++;
    }
    cr_assert_eq(at_100, 40);
    tc_evq_free(q);
}

Test(evq, capacity_is_a_bound)
{
    tc_evq *q = NULL;
    cr_assert_eq(tc_evq_new(0, NULL, NULL, &q), TC_EINVAL);
    cr_assert_null(q);
    cr_assert_eq(tc_evq_new(TC_EVQ_CAPACITY_MAX + 1, NULL, NULL, &q), TC_EINVAL);
    cr_assert_eq(tc_evq_new(3, NULL, NULL, &q), 0);
    cr_assert_eq(tc_evq_capacity(q), 3);
    for (uint64_t k = 0; k < 3; k++) {
        tc_evq_event ev = ev_at(k, k);
        cr_assert_eq(tc_evq_push(q, &ev, NULL), 0);
    }
    tc_evq_event ev = ev_at(0, 99);
    cr_assert_eq(tc_evq_push(q, &ev, NULL), TC_EFULL);
    cr_assert_eq(tc_evq_count(q), 3);
    tc_evq_stats st;
    tc_evq_stats_get(q, &st);
    cr_assert_eq(st.rejected, 1);
    cr_assert_eq(st.pushed, 3);
    cr_assert_eq(st.high_water, 3);
    /* A refused event is not queued: the three pop, nothing else. */
    tc_evq_event out;
    cr_assert_eq(tc_evq_pop(q, &out), 0);
    cr_assert_eq(out.arg, 0);
    cr_assert_eq(tc_evq_push(q, &ev, NULL), 0); /* room again */
    cr_assert_eq(tc_evq_count(q), 3);
    tc_evq_free(q);
}

/* The entry array grows by doubling with the high water, from 4,096, up to the capacity and
 * no further; the events keep their order across the moves. */
Test(evq, storage_grows_with_the_high_water)
{
    tc_evq *q = NULL;
    cr_assert_eq(tc_evq_new(12000, NULL, NULL, &q), 0);
    tc_evq_stats st;
    tc_evq_stats_get(q, &st);
    cr_assert_eq(st.allocated, 4096);
    for (uint64_t k = 0; k < 12000; k++) {
        tc_evq_event ev = ev_at(12000 - k, k); /* latest first: every push reorders */
        cr_assert_eq(tc_evq_push(q, &ev, NULL), 0);
        tc_evq_stats_get(q, &st);
        uint32_t want = k < 4096 ? 4096 : k < 8192 ? 8192 : 12000;
        cr_assert_eq(st.allocated, want, "after %lu pushes: %u", (unsigned long)(k + 1), want);
    }
    tc_evq_event ev = ev_at(1, 0);
    cr_assert_eq(tc_evq_push(q, &ev, NULL), TC_EFULL);
    for (uint64_t k = 0; k < 12000; k++) {
        tc_evq_event out;
        cr_assert_eq(tc_evq_pop(q, &out), 0);
        cr_assert_eq(out.time_ms, k + 1);
        cr_assert_eq(out.arg, 11999 - k);
    }
    tc_evq_stats_get(q, &st);
    cr_assert_eq(st.allocated, 12000, "kept, not shrunk");
    tc_evq_free(q);

    cr_assert_eq(tc_evq_new(100, NULL, NULL, &q), 0);
    tc_evq_stats_get(q, &st);
    cr_assert_eq(st.allocated, 100, "a small queue takes its capacity");
    tc_evq_free(q);
}

typedef struct {
    uint64_t dropped[16];
    uint32_t count;
} drops;

static void record_drop(void *ctx, tc_evq_event *ev)
{
    drops *d = ctx;
    cr_assert_lt(d->count, 16);
    d->dropped[d->count++] = ev->arg;
    free(ev->payload);
}

Test(evq, free_drops_payloads_in_order)
{
    drops d = {{0}, 0};
    tc_evq *q = NULL;
    cr_assert_eq(tc_evq_new(8, record_drop, &d, &q), 0);
    static const uint64_t times[] = {30, 10, 20, 10};
    for (uint64_t k = 0; k < 4; k++) {
        tc_evq_event ev = ev_at(times[k], k);
        ev.kind = TC_EVQ_DELIVER;
        ev.payload = malloc(8); /* leaks unless the queue hands it to record_drop */
        ev.len = 8;
        cr_assert_eq(tc_evq_push(q, &ev, NULL), 0);
    }
    tc_evq_free(q);
    cr_assert_eq(d.count, 4);
    static const uint64_t want[] = {1, 3, 2, 0}; /* by (time, seq) */
    for (uint32_t k = 0; k < 4; k++)
        cr_assert_eq(d.dropped[k], want[k], "drop %u: arg %llu", k,
                     (unsigned long long)d.dropped[k]);
}

static bool odd_arg(void *ctx, const tc_evq_event *ev)
{
    (void)ctx;
    return ev->arg % 2 == 1;
}

Test(evq, remove_if_keeps_the_rest_in_order)
{
    drops d = {{0}, 0};
    tc_evq *q = NULL;
    cr_assert_eq(tc_evq_new(16, record_drop, &d, &q), 0);
    for (uint64_t k = 0; k < 12; k++) {
        tc_evq_event ev = ev_at((k * 7) % 5, k); /* times 0,2,4,1,3,0,2,... */
        cr_assert_eq(tc_evq_push(q, &ev, NULL), 0);
    }
    cr_assert_eq(tc_evq_remove_if(q, odd_arg, NULL), 6);
    cr_assert_eq(d.count, 6);
    for (uint32_t k = 1; k < d.count; k++) { /* dropped in queue order */
        uint64_t a = d.dropped[k - 1], b = d.dropped[k];
        cr_assert((a * 7) % 5 < (b * 7) % 5 || ((a * 7) % 5 == (b * 7) % 5 && a < b));
    }
    tc_evq_event out;
    tc_evq_event prev = ev_at(0, 0);
    bool first = true;
    uint32_t left = 0;
    while (tc_evq_pop(q, &out) == 0) {
        cr_assert_eq(out.arg % 2, 0);
        if (!first)
            cr_assert(prev.time_ms < out.time_ms ||
                      (prev.time_ms == out.time_ms && prev.seq < out.seq));
        prev = out;
        first = false;
        left++;
    }
    cr_assert_eq(left, 6);
    tc_evq_stats st;
    tc_evq_stats_get(q, &st);
    cr_assert_eq(st.removed, 6);
    tc_evq_free(q);
}

/* Reference: a plain array kept sorted by (time, seq). */
typedef struct {
    uint64_t time, seq;
} ref_ev;

static int ref_cmp(const void *a, const void *b)
{
    const ref_ev *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq ? 1 : 0;
}

Test(evq, randomized_against_sorted_reference)
{
    enum { CAP = 512, STEPS = 20000 };
    tc_rng rng;
    tc_rng_init_u64(&rng, 7);
    tc_evq *q = NULL;
    cr_assert_eq(tc_evq_new(CAP, NULL, NULL, &q), 0);
    ref_ev *ref = calloc(CAP, sizeof(*ref));
    uint32_t n = 0;
    for (int step = 0; step < STEPS; step++) {
        bool push = n == 0 || (n < CAP && tc_rng_below(&rng, 100) < 55);
        if (push) {
            /* Few distinct times, so ties are common. */
            tc_evq_event ev = ev_at(tc_evq_now(q) + tc_rng_below(&rng, 8), 0);
            uint64_t seq = 0;
            cr_assert_eq(tc_evq_push(q, &ev, &seq), 0);
            ref[n++] = (ref_ev){ev.time_ms, seq};
            qsort(ref, n, sizeof(*ref), ref_cmp);
        } else {
            tc_evq_event out;
            cr_assert_eq(tc_evq_pop(q, &out), 0);
            cr_assert_eq(out.time_ms, ref[0].time, "step %d", step);
            cr_assert_eq(out.seq, ref[0].seq, "step %d", step);
            memmove(ref, ref + 1, (n - 1) * sizeof(*ref));
            n--;
        }
        cr_assert_eq(tc_evq_count(q), n);
    }
    free(ref);
    tc_evq_free(q);
}
