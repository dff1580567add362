/* evq.c — a timing wheel of per-millisecond FIFO buckets, with a min-heap for far events.
 *
 * Why not one heap: a run pops and pushes an event or two per node call, and the heap's sift
 * (log4 n levels of comparisons and 48-byte moves) was the simulator's largest own cost once
 * the trace was cheap, and grows with the number of events in flight (a few hundred thousand
 * with 64 validators). Nearly every event is due within a few seconds (link latencies, the
 * nodes' round and ping timers), so most of them go to a wheel instead: an array of
 * WHEEL_SLOTS buckets, bucket t % WHEEL_SLOTS holding the events due at ms t, where push
 * appends and pop takes the head in O(1), and a bitmap of non-empty buckets finds the next one.
 *
 * Order: the queue is still exactly (time_ms, seq). The wheel holds the events due before
 * now + WHEEL_SLOTS, so one bucket only ever holds one time; within a bucket, events are in
 * push order, which is seq order. Events due later wait in the far heap (ordered by (time,
 * seq)) and move to their bucket as soon as `now` brings them within the wheel — in heap
 * order, and before any later push can reach that bucket directly (pushes target
 * time >= now, and only a pop moves now), so a bucket stays in seq order. Every wheel event is
 * due before every far event, so the earliest event is the first wheel event, or the far
 * heap's top when the wheel is empty.
 *
 * Storage: every queued event lives in one entry of an array that grows by doubling (from
 * EVQ_ALLOC_MIN) up to `capacity` entries as the high-water mark needs it, the far heap's index
 * array beside it: a capacity sized for the worst case (16,384 events a node, 16 M at 1,024
 * nodes, 940 MB) is then address space only when used; buckets are singly linked lists of entry
 * indices; freed entries are reused last in, first out (warm in the cache), and never-used ones are
 * taken in order, so a queue touches only as much of its array as its high-water mark needs.
 */
#include "evq.h"

#include <stdlib.h>
#include <string.h>

#define WHEEL_BITS  12u
#define WHEEL_SLOTS (1u << WHEEL_BITS) /* ms the wheel spans from now */
#define WHEEL_WORDS (WHEEL_SLOTS / 64u)
#define NONE        UINT32_MAX

_Static_assert(TC_EVQ_CAPACITY_MAX < NONE, "entry indices fit in 32 bits, NONE apart");

typedef struct {
    tc_evq_event ev;
    uint32_t next; /* next entry of its bucket or of the free list; NONE: the last */
} entry;

#define EVQ_ALLOC_MIN 4096u

struct tc_evq {
    entry *entries; /* alloc of them */
    uint32_t alloc; /* entries and far hold alloc each; fresh <= alloc <= capacity */
    uint32_t fresh; /* entries[fresh..] were never used */
    uint32_t free_head;
    struct {
        uint32_t head, tail; /* entry indices; head NONE: empty (tail is then meaningless) */
    } bucket[WHEEL_SLOTS];
    uint64_t bits[WHEEL_WORDS]; /* bit b: bucket b is not empty */
    uint32_t wheel_count;
    uint32_t *far; /* min-heap of entry indices by (time_ms, seq): due at now + WHEEL_SLOTS or
                      later */
    uint32_t far_count;
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

/* Whether an event due at time_ms belongs to the wheel (time_ms >= now_ms, asserted by the
 * callers); the subtraction cannot overflow. */
static bool in_wheel(const tc_evq *q, uint64_t time_ms)
{
    return time_ms - q->now_ms < WHEEL_SLOTS;
}

/* ---- entries ---- */

static uint32_t entry_take(tc_evq *q)
{
    TC_ASSERT(q->count < q->capacity);
    if (q->free_head != NONE) {
        uint32_t i = q->free_head;
        q->free_head = q->entries[i].next;
        return i;
    }
    TC_ASSERT(q->fresh < q->alloc);
    return q->fresh++;
}

/* Makes room for one more never-used entry when the free list is empty: false when the
 * arrays cannot grow (out of memory; count < capacity is the caller's check). Moving the
 * arrays changes no index, so the order of events is untouched. */
static bool entry_room(tc_evq *q)
{
    if (q->free_head != NONE || q->fresh < q->alloc)
        return true;
    TC_ASSERT(q->alloc < q->capacity);
    uint32_t alloc = q->alloc > q->capacity / 2 ? q->capacity : q->alloc * 2;
    entry *entries = realloc(q->entries, (size_t)alloc * sizeof(*entries));
    if (entries == NULL)
        return false;
    q->entries = entries;
    uint32_t *far = realloc(q->far, (size_t)alloc * sizeof(*far));
    if (far == NULL)
        return false; /* entries grew; alloc grows with both on the next try */
    q->far = far;
    q->alloc = alloc;
    return true;
}

static void entry_give(tc_evq *q, uint32_t i)
{
    q->entries[i].next = q->free_head;
    q->free_head = i;
}

/* ---- the wheel ---- */

static void bucket_append(tc_evq *q, uint32_t i)
{
    uint32_t b = (uint32_t)(q->entries[i].ev.time_ms & (WHEEL_SLOTS - 1));
    q->entries[i].next = NONE;
    if (q->bucket[b].head == NONE) {
        q->bucket[b].head = i;
        q->bits[b / 64] |= 1ull << (b % 64);
    } else {
        TC_ASSERT(q->entries[q->bucket[b].tail].ev.time_ms == q->entries[i].ev.time_ms);
        q->entries[q->bucket[b].tail].next = i;
    }
    q->bucket[b].tail = i;
    q->wheel_count++;
}

/* The bucket of the earliest wheel event: the first non-empty one from now's bucket on, going
 * round once (bucket order from there is time order). The wheel must not be empty. */
static uint32_t first_bucket(const tc_evq *q)
{
    TC_ASSERT(q->wheel_count > 0);
    uint32_t start = (uint32_t)(q->now_ms & (WHEEL_SLOTS - 1));
    uint32_t w = start / 64;
    uint64_t word = q->bits[w] & (~0ull << (start % 64)); /* buckets before start: later */
    for (uint32_t k = 0; k <= WHEEL_WORDS; k++) {
        if (word != 0)
            return w * 64 + (uint32_t)__builtin_ctzll(word);
        w = (w + 1) % WHEEL_WORDS;
        word = q->bits[w];
    }
    TC_ASSERT(false && "a non-empty wheel has a non-empty bucket");
    return NONE;
}

/* ---- the far heap ---- */

static bool far_before(const tc_evq *q, uint32_t a, uint32_t b)
{
    return before(&q->entries[a].ev, &q->entries[b].ev);
}

static void far_sift_up(tc_evq *q, uint32_t i)
{
    uint32_t moving = q->far[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!far_before(q, moving, q->far[parent]))
            break;
        q->far[i] = q->far[parent];
        i = parent;
    }
    q->far[i] = moving;
}

/* Sifts far[i] down within the first n elements. */
static void far_sift_down(tc_evq *q, uint32_t i, uint32_t n)
{
    uint32_t moving = q->far[i];
    for (;;) {
        uint64_t child = 2 * (uint64_t)i + 1;
        if (child >= n)
            break;
        uint32_t c = (uint32_t)child;
        if (c + 1 < n && far_before(q, q->far[c + 1], q->far[c]))
            c++;
        if (!far_before(q, q->far[c], moving))
            break;
        q->far[i] = q->far[c];
        i = c;
    }
    q->far[i] = moving;
}

static uint32_t far_pop(tc_evq *q)
{
    TC_ASSERT(q->far_count > 0);
    uint32_t top = q->far[0];
    q->far[0] = q->far[--q->far_count];
    if (q->far_count > 0)
        far_sift_down(q, 0, q->far_count);
    return top;
}

/* Moves the far events that `now` brought within the wheel to their buckets, earliest first. */
static void far_migrate(tc_evq *q)
{
    while (q->far_count > 0 && in_wheel(q, q->entries[q->far[0]].ev.time_ms))
        bucket_append(q, far_pop(q));
}

/* ---- the interface ---- */

int tc_evq_new(uint32_t capacity, tc_evq_drop_fn drop, void *drop_ctx, tc_evq **out)
{
    TC_ASSERT(out != NULL);
    *out = NULL;
    if (capacity == 0 || capacity > TC_EVQ_CAPACITY_MAX)
        return TC_EINVAL;
    tc_evq *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return TC_ENOMEM;
    q->alloc = capacity < EVQ_ALLOC_MIN ? capacity : EVQ_ALLOC_MIN;
    q->entries = calloc(q->alloc, sizeof(*q->entries));
    q->far = calloc(q->alloc, sizeof(*q->far));
    if (q->entries == NULL || q->far == NULL) {
        free(q->entries);
        free(q->far);
        free(q);
        return TC_ENOMEM;
    }
    for (uint32_t b = 0; b < WHEEL_SLOTS; b++)
        q->bucket[b].head = NONE;
    q->free_head = NONE;
    q->capacity = capacity;
    q->drop = drop;
    q->drop_ctx = drop_ctx;
    *out = q;
    return 0;
}

/* Sorts the far heap into ascending (time, seq) order, which is itself a valid heap: a heap
 * sort (its minimum goes to the end, so the array ends descending), then a reversal. */
static void far_sort(tc_evq *q)
{
    for (uint32_t n = q->far_count; n > 1; n--) {
        uint32_t top = q->far[0];
        q->far[0] = q->far[n - 1];
        q->far[n - 1] = top;
        far_sift_down(q, 0, n - 1);
    }
    for (uint32_t i = 0, j = q->far_count; i + 1 < j; i++, j--) {
        uint32_t t = q->far[i];
        q->far[i] = q->far[j - 1];
        q->far[j - 1] = t;
    }
}

/* Hands one removed entry to the drop callback and frees it. */
static void drop_entry(tc_evq *q, uint32_t i)
{
    if (q->drop != NULL)
        q->drop(q->drop_ctx, &q->entries[i].ev);
    entry_give(q, i);
    q->count--;
}

/* Removes the events pred accepts (every event when pred is NULL), handing them to the drop
 * callback in (time_ms, seq) order: the wheel's buckets from now's on, each in its own order,
 * then the far events sorted. The rest keep their order. Returns how many went. */
static uint32_t remove_matching(tc_evq *q, bool (*pred)(void *ctx, const tc_evq_event *ev),
                                void *ctx)
{
    uint32_t before_count = q->count;
    uint32_t start = (uint32_t)(q->now_ms & (WHEEL_SLOTS - 1));
    for (uint32_t k = 0; k < WHEEL_SLOTS && q->wheel_count > 0; k++) {
        uint32_t b = (start + k) & (WHEEL_SLOTS - 1);
        uint32_t kept_head = NONE, kept_tail = NONE;
        for (uint32_t i = q->bucket[b].head, next; i != NONE; i = next) {
            next = q->entries[i].next;
            if (pred == NULL || pred(ctx, &q->entries[i].ev)) {
                q->wheel_count--;
                drop_entry(q, i);
                continue;
            }
            q->entries[i].next = NONE;
            if (kept_head == NONE)
                kept_head = i;
            else
                q->entries[kept_tail].next = i;
            kept_tail = i;
        }
        q->bucket[b].head = kept_head;
        q->bucket[b].tail = kept_tail;
        if (kept_head == NONE)
            q->bits[b / 64] &= ~(1ull << (b % 64));
    }
    far_sort(q);
    uint32_t kept = 0;
    for (uint32_t k = 0; k < q->far_count; k++) {
        uint32_t i = q->far[k];
        if (pred == NULL || pred(ctx, &q->entries[i].ev))
            drop_entry(q, i);
        else
            q->far[kept++] = i; /* still ascending: still a heap */
    }
    q->far_count = kept;
    TC_ASSERT(q->count == q->wheel_count + q->far_count);
    return before_count - q->count;
}

void tc_evq_free(tc_evq *q)
{
    if (q == NULL)
        return;
    TC_ASSERT(q->count <= q->capacity);
    (void)remove_matching(q, NULL, NULL);
    TC_ASSERT(q->count == 0);
    free(q->entries);
    free(q->far);
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
    if (!entry_room(q))
        return TC_ENOMEM;
    uint32_t i = entry_take(q);
    q->entries[i].ev = *ev;
    q->entries[i].ev.seq = q->next_seq++;
    if (seq_out != NULL)
        *seq_out = q->entries[i].ev.seq;
    if (in_wheel(q, ev->time_ms)) {
        bucket_append(q, i);
    } else {
        q->far[q->far_count] = i;
        far_sift_up(q, q->far_count++);
    }
    q->count++;
    q->stats.pushed++;
    if (q->count > q->stats.high_water)
        q->stats.high_water = q->count;
    return 0;
}

int tc_evq_pop_until(tc_evq *q, uint64_t until_ms, tc_evq_event *out)
{
    TC_ASSERT(q != NULL && out != NULL);
    if (q->count == 0)
        return TC_ENOTFOUND;
    uint32_t i;
    if (q->wheel_count > 0) {
        uint32_t b = first_bucket(q);
        i = q->bucket[b].head;
        if (q->entries[i].ev.time_ms > until_ms)
            return TC_ENOTFOUND;
        q->bucket[b].head = q->entries[i].next;
        if (q->bucket[b].head == NONE)
            q->bits[b / 64] &= ~(1ull << (b % 64));
        q->wheel_count--;
    } else {
        if (q->entries[q->far[0]].ev.time_ms > until_ms)
            return TC_ENOTFOUND;
        i = far_pop(q);
    }
    *out = q->entries[i].ev;
    entry_give(q, i);
    q->count--;
    TC_ASSERT(out->time_ms >= q->now_ms && out->time_ms <= until_ms);
    q->now_ms = out->time_ms;
    far_migrate(q); /* before any push can reach the buckets that came within the wheel */
    q->stats.popped++;
    return 0;
}

int tc_evq_pop(tc_evq *q, tc_evq_event *out)
{
    return tc_evq_pop_until(q, UINT64_MAX, out);
}

const tc_evq_event *tc_evq_peek(const tc_evq *q)
{
    TC_ASSERT(q != NULL);
    if (q->wheel_count > 0)
        return &q->entries[q->bucket[first_bucket(q)].head].ev;
    return q->far_count == 0 ? NULL : &q->entries[q->far[0]].ev;
}

uint32_t tc_evq_remove_if(tc_evq *q, bool (*pred)(void *ctx, const tc_evq_event *ev), void *ctx)
{
    TC_ASSERT(q != NULL && pred != NULL);
    uint32_t removed = remove_matching(q, pred, ctx);
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
    out->allocated = q->alloc;
}
