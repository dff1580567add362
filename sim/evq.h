/* evq.h — the simulator's event queue: every future happening of a run, in the order it happens.
 *
 * The queue owns a fixed array of events allocated once at tc_evq_new (a bound, STYLE rule 4:
 * a run that outgrows it fails with TC_EFULL, it never grows silently), arranged as a timing
 * wheel of one FIFO bucket per millisecond for the next few seconds, and a min-heap for events
 * due later (evq.c). Order is (time_ms, seq): seq is a 64-bit counter the queue stamps on every
 * push, so two events due at the same millisecond pop in the order they were pushed, never in an
 * order that depends on the queue's layout (DESIGN.md, determinism rule 5).
 *
 * Invariants:
 *   - every queued event has time_ms >= now_ms (the time of the last event popped): virtual time
 *     never runs backwards; pushing into the past is a driver bug and asserts;
 *   - seq values are unique and increase with every push, across the queue's whole life;
 *   - count <= capacity.
 *
 * Payload ownership: the queue never reads, copies or frees what `payload` points to. Ownership
 * travels with the event: the pusher hands it to the queue, tc_evq_pop hands it to the caller.
 * Events still queued when they are removed by tc_evq_remove_if or left at tc_evq_free go to the
 * drop callback given at tc_evq_new (if any), in (time_ms, seq) order, which frees them.
 *
 * The event kinds are the driver's vocabulary; the queue only requires kind != 0.
 */
#ifndef TC_EVQ_H
#define TC_EVQ_H

#include "base.h"

#define TC_EVQ_CAPACITY_MAX (1u << 24) /* 16 M events: ~1 GiB, far above any sane run */

typedef enum {
    TC_EVQ_DELIVER = 1,   /* a frame reaches `node` from `from`; payload: the frame, len bytes */
    TC_EVQ_TIMER = 2,     /* `node`'s deadline; arg: the timer generation (stale ones ignored) */
    TC_EVQ_SCENARIO = 3,  /* scenario timeline event; arg: its index in tc_scn.events */
    TC_EVQ_CLIENT = 4,    /* a simulated wallet acts; arg: client number */
    TC_EVQ_RESUME = 5,    /* a paused node resumes */
    TC_EVQ_CONNECT = 6,   /* a connection attempt completes or fails; arg: driver-defined */
    TC_EVQ_CHAOS = 7,     /* a chaos-mode fault fires; arg: fault number */
    TC_EVQ_KIND_USER = 64 /* first kind free for other drivers */
} tc_evq_kind;

typedef struct {
    uint64_t time_ms; /* global virtual time the event is due */
    uint64_t seq;     /* stamped by tc_evq_push; ignored on input */
    uint32_t kind;    /* tc_evq_kind or a driver's own, never 0 */
    uint32_t node;    /* target endpoint */
    uint32_t from;    /* DELIVER: sending endpoint */
    uint32_t len;     /* bytes at payload, when payload is a buffer */
    uint64_t arg;     /* kind-specific */
    void *payload;    /* see "Payload ownership" above; may be NULL */
} tc_evq_event;

typedef struct {
    uint64_t pushed;
    uint64_t popped;
    uint64_t removed;    /* by tc_evq_remove_if */
    uint64_t rejected;   /* pushes refused with TC_EFULL */
    uint32_t high_water; /* largest count seen */
    uint32_t allocated;  /* entries allocated: 4,096 (or capacity) doubled as the high water
                          * needs, never above capacity */
} tc_evq_stats;

typedef struct tc_evq tc_evq;

/* Called for every event the queue discards, payload or not (see ownership above). */
typedef void (*tc_evq_drop_fn)(void *ctx, tc_evq_event *ev);

/* Creates a queue holding at most capacity events (1..TC_EVQ_CAPACITY_MAX), virtual time 0.
 * drop may be NULL when payloads need no freeing. Codes: TC_EINVAL (capacity), TC_ENOMEM. */
int tc_evq_new(uint32_t capacity, tc_evq_drop_fn drop, void *drop_ctx, tc_evq **out);
/* Drops every queued event (drop callback, in order) and frees the queue. NULL is fine. */
void tc_evq_free(tc_evq *q);

/* Queues a copy of *ev (ev->seq is ignored and stamped); *seq_out (may be NULL) receives the
 * stamp. ev->time_ms must be >= tc_evq_now (asserted). Codes: TC_EFULL when count == capacity:
 * the event is not queued and its payload stays the caller's. */
int tc_evq_push(tc_evq *q, const tc_evq_event *ev, uint64_t *seq_out);
/* Removes the earliest event into *out and advances now to its time. TC_ENOTFOUND if empty. */
int tc_evq_pop(tc_evq *q, tc_evq_event *out);
/* tc_evq_pop when the earliest event is due at until_ms or before; TC_ENOTFOUND (and nothing
 * changes) when the queue is empty or its earliest event is due later. One look for the earliest
 * event where a peek and a pop take two (the event loop's step). */
int tc_evq_pop_until(tc_evq *q, uint64_t until_ms, tc_evq_event *out);
/* The earliest event without removing it; NULL if empty. Valid until the next push/pop/remove. */
const tc_evq_event *tc_evq_peek(const tc_evq *q);
/* Removes every event for which pred(ctx, ev) is true, passing each to the drop callback in
 * (time_ms, seq) order; the rest keep their order. Returns how many were removed. O(n log n)
 * plus a pass over the wheel's buckets. */
uint32_t tc_evq_remove_if(tc_evq *q, bool (*pred)(void *ctx, const tc_evq_event *ev), void *ctx);

uint32_t tc_evq_count(const tc_evq *q);
uint32_t tc_evq_capacity(const tc_evq *q);
/* Time of the last popped event (0 before the first pop). */
uint64_t tc_evq_now(const tc_evq *q);
void tc_evq_stats_get(const tc_evq *q, tc_evq_stats *out);

#endif
