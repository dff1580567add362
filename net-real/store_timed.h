/* store_timed.h — a store that times its inner store's commits (the live node's /metrics:
 * timecoin_store_commit_latency_us). It is a tc_store like any other (store.h: a vtable, and
 * transactions and cursors that begin with their store), forwarding every call to the inner
 * store; only write commits are timed, on the monotonic clock, which the core never reads.
 *
 * Lifetimes: the wrapper owns the inner store: tc_store_close on the wrapper closes both.
 * Single-threaded like every store user (the loop's thread).
 */
#ifndef TD_STORE_TIMED_H
#define TD_STORE_TIMED_H

#include "store.h"

#define TD_COMMIT_BUCKETS 12 /* bounds in TD_COMMIT_BOUNDS_US, then +Inf */

typedef struct {
    uint64_t commits;                    /* write commits, successful or not */
    uint64_t failures;                   /* of which failed */
    uint64_t sum_us;                     /* their total time */
    uint64_t buckets[TD_COMMIT_BUCKETS]; /* cumulative: commits <= each bound */
} td_store_timing;

/* The bucket bounds in microseconds (TD_COMMIT_BUCKETS - 1 of them; the last bucket is +Inf). */
extern const uint64_t td_commit_bounds_us[TD_COMMIT_BUCKETS - 1];

/* Wraps inner. 0, or TC_ENOMEM (inner is then left to the caller). */
int td_store_timed_wrap(tc_store *inner, tc_store **out);
/* The commit timings so far of a store made by td_store_timed_wrap. */
void td_store_timing_get(const tc_store *s, td_store_timing *out);
/* Whether s was made by td_store_timed_wrap. */
bool td_store_is_timed(const tc_store *s);

#endif
