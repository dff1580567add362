/* evq.c — 4-ary min-heap of events keyed by (time_ms, seq). */
#include "evq.h"

#include <stdlib.h>
#include <string.h>

struct tc_evq {
    tc_evq_event *heap; /* heap[0] is the earliest; children of i at 2i+1, 2i+2 */
    uint32_t count;
    uint32_t capacity;
    uint64_t now_ms;
    uint64_t next_seq;
    tc_evq_drop_fn drop;
    void *drop_ctx;
    tc_evq_stats stats;
};

/* The one ordering of the queue. seq is unique, so this is a strict total order and the pop
 * sequence is fully determined by the push sequence. */
static bool before(const tc_evq_event *a, const tc_evq_event *b)
{
    if (a->time_ms != b->time_ms)
        return a->time_ms < b->time_ms;
    TC_ASSERT(a->seq != b->seq || a == b);
    return a->seq < b->seq;
}

static int cmp_events(const void *pa, const void *pb)
{
    const tc_evq_event *a = pa;
    const tc_evq_event *b = pb;
    if (a == b)
        return 0;
    return before(a, b) ? -1 : 1;
}

static void swap(tc_evq_event *a, tc_evq_event *b)
{
    tc_evq_event t = *a;
    *a = *b;
    *b = t;
}

/* The heap is 4-ary (children of i at 4i+1 .. 4i+4) and sifts move a hole rather than swap.
 * Why: with 64 validators a run keeps a few hundred thousand frames in flight, and popping
 * them was the simulator's largest own cost (sift_down, about 14% of the run in perf), nearly
 * all of it cache misses on the children's keys. Four children share about three cache lines
 * and the heap is half as deep. The pop order is the same: (time_ms, seq) is a strict total
 * order, so any valid heap pops the same sequence (fingerprints are unchanged). */
#define ARITY 4u

static void sift_up(tc_evq *q, uint32_t i)
{
    tc_evq_event moving = q->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / ARITY;
        if (!before(&moving, &q->heap[parent]))
            break;
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = moving;
}

static void sift_down(tc_evq *q, uint32_t i)
{
    tc_evq_event moving = q->heap[i];
    for (;;) {
        uint64_t first = (uint64_t)i * ARITY + 1;
        if (first >= q->count)
            break;
        uint32_t least = (uint32_t)first;
        uint32_t end = first + ARITY < q->count ? (uint32_t)first + ARITY : q->count;
        for (uint32_t c = least + 1; c < end; c++)
            if (before(&q->heap[c], &q->heap[least]))
                least = c;
        if (!before(&q->heap[least], &moving))
            break;
        q->heap[i] = q->heap[least];
        i = least;
    }
    q->heap[i] = moving;
}

int tc_evq_new(uint32_t capacity, tc_evq_drop_fn drop, void *drop_ctx, tc_evq **out)
{
    TC_ASSERT(out != NULL);
    *out = NULL;
    if (capacity == 0 || capacity > TC_EVQ_CAPACITY_MAX)
        return TC_EINVAL;
    tc_evq *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return TC_ENOMEM;
    q->heap = calloc(capacity, sizeof(*q->heap));
    if (q->heap == NULL) {
        free(q);
        return TC_ENOMEM;
    }
    q->capacity = capacity;
    q->drop = drop;
    q->drop_ctx = drop_ctx;
    *out = q;
    return 0;
}

/* Hands events to the drop callback in queue order. */
static void drop_sorted(tc_evq *q, tc_evq_event *evs, uint32_t n)
{
    if (n > 1)
        qsort(evs, n, sizeof(*evs), cmp_events);
    for (uint32_t i = 0; i < n; i++) {
        if (q->drop != NULL)
            q->drop(q->drop_ctx, &evs[i]);
    }
}

void tc_evq_free(tc_evq *q)
{
    if (q == NULL)
        return;
    TC_ASSERT(q->count <= q->capacity);
    drop_sorted(q, q->heap, q->count);
    free(q->heap);
    free(q);
}

int tc_evq_push(tc_evq *q, const tc_evq_event *ev, uint64_t *seq_out)
{
    TC_ASSERT(q != NULL && ev != NULL);
    TC_ASSERT(ev->kind != 0);
    TC_ASSERT(ev->time_ms >= q->now_ms); /* virtual time never runs backwards */
    if (q->count == q->capacity) {
        q->stats.rejected++;
        return TC_EFULL;
    }
    uint32_t i = q->count++;
    q->heap[i] = *ev;
    q->heap[i].seq = q->next_seq++;
    if (seq_out != NULL)
        *seq_out = q->heap[i].seq;
    sift_up(q, i);
    q->stats.pushed++;
    if (q->count > q->stats.high_water)
        q->stats.high_water = q->count;
    return 0;
}

int tc_evq_pop(tc_evq *q, tc_evq_event *out)
{
    TC_ASSERT(q != NULL && out != NULL);
    if (q->count == 0)
        return TC_ENOTFOUND;
    *out = q->heap[0];
    q->count--;
    if (q->count > 0) {
        q->heap[0] = q->heap[q->count];
        sift_down(q, 0);
    }
    TC_ASSERT(out->time_ms >= q->now_ms);
    q->now_ms = out->time_ms;
    q->stats.popped++;
    return 0;
}

const tc_evq_event *tc_evq_peek(const tc_evq *q)
{
    TC_ASSERT(q != NULL);
    return q->count == 0 ? NULL : &q->heap[0];
}

uint32_t tc_evq_remove_if(tc_evq *q, bool (*pred)(void *ctx, const tc_evq_event *ev), void *ctx)
{
    TC_ASSERT(q != NULL && pred != NULL);
    /* Partition in place: kept events to the front, removed ones to the back. Heap order is
     * lost, and rebuilt below; the pop order is unaffected because it depends on (time, seq)
     * alone. */
    uint32_t kept = 0;
    uint32_t end = q->count;
    while (kept < end) {
        if (pred(ctx, &q->heap[kept]))
            swap(&q->heap[kept], &q->heap[--end]);
        else
            kept++;
    }
    uint32_t removed = q->count - kept;
    q->count = kept;
    drop_sorted(q, q->heap + kept, removed);
    for (uint32_t i = kept / ARITY + 1; i-- > 0;)
        if (i < kept)
            sift_down(q, i);
    q->stats.removed += removed;
    return removed;
}

uint32_t tc_evq_count(const tc_evq *q)
{
    TC_ASSERT(q != NULL);
    return q->count;
}

uint32_t tc_evq_capacity(const tc_evq *q)
{
    TC_ASSERT(q != NULL);
    return q->capacity;
}

uint64_t tc_evq_now(const tc_evq *q)
{
    TC_ASSERT(q != NULL);
    return q->now_ms;
}

void tc_evq_stats_get(const tc_evq *q, tc_evq_stats *out)
{
    TC_ASSERT(q != NULL && out != NULL);
    *out = q->stats;
}
