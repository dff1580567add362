/* store_timed.c — a store that times its inner store's commits (store_timed.h). */
#include "store_timed.h"

#include <stdlib.h>
#include <time.h>

const uint64_t td_commit_bounds_us[TD_COMMIT_BUCKETS - 1] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 1000000};

typedef struct {
    tc_store base; /* first: a tc_store * is this */
    tc_store *inner;
    td_store_timing timing;
} timed_store;

/* A transaction or cursor begins with its store (store.h); the wrapper's hold the inner one. */
typedef struct {
    tc_store *store;
    tc_store_txn *inner;
    bool writable;
} timed_txn;

typedef struct {
    tc_store *store;
    tc_store_cursor *inner;
} timed_cursor;

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static timed_store *of(tc_store *s)
{
    return (timed_store *)s;
}

static int t_begin(tc_store *s, bool writable, tc_store_txn **out)
{
    timed_txn *t = malloc(sizeof(*t));
    if (t == NULL)
        return TC_ENOMEM;
    int rc = tc_store_begin(of(s)->inner, writable, &t->inner);
    if (rc != 0) {
        free(t);
        return rc;
    }
    t->store = s;
    t->writable = writable;
    *out = (tc_store_txn *)t;
    return 0;
}

static int t_get(tc_store_txn *t, tc_table table, const void *key, size_t klen, const void **val,
                 size_t *vlen)
{
    return tc_store_get(((timed_txn *)t)->inner, table, key, klen, val, vlen);
}

static int t_put(tc_store_txn *t, tc_table table, const void *key, size_t klen, const void *val,
                 size_t vlen)
{
    return tc_store_put(((timed_txn *)t)->inner, table, key, klen, val, vlen);
}

static int t_del(tc_store_txn *t, tc_table table, const void *key, size_t klen)
{
    return tc_store_del(((timed_txn *)t)->inner, table, key, klen);
}

static void record(td_store_timing *m, uint64_t us, bool failed)
{
    m->commits++;
    m->failures += failed;
    m->sum_us += us;
    for (int k = 0; k < TD_COMMIT_BUCKETS; k++)
        m->buckets[k] += k == TD_COMMIT_BUCKETS - 1 || us <= td_commit_bounds_us[k];
}

static int t_commit(tc_store_txn *txn)
{
    timed_txn *t = (timed_txn *)txn;
    timed_store *s = of(t->store);
    uint64_t start = t->writable ? mono_us() : 0;
    int rc = tc_store_commit(t->inner);
    if (t->writable)
        record(&s->timing, mono_us() - start, rc != 0);
    free(t);
    return rc;
}

static void t_abort(tc_store_txn *txn)
{
    timed_txn *t = (timed_txn *)txn;
    tc_store_abort(t->inner);
    free(t);
}

static int t_cursor_open(tc_store_txn *txn, tc_table table, tc_store_cursor **out)
{
    timed_cursor *c = malloc(sizeof(*c));
    if (c == NULL)
        return TC_ENOMEM;
    int rc = tc_store_cursor_open(((timed_txn *)txn)->inner, table, &c->inner);
    if (rc != 0) {
        free(c);
        return rc;
    }
    c->store = ((timed_txn *)txn)->store;
    *out = (tc_store_cursor *)c;
    return 0;
}

static int t_cursor_seek(tc_store_cursor *c, const void *key, size_t klen)
{
    return tc_store_cursor_seek(((timed_cursor *)c)->inner, key, klen);
}

static int t_cursor_next(tc_store_cursor *c, const void **key, size_t *klen, const void **val,
                         size_t *vlen)
{
    return tc_store_cursor_next(((timed_cursor *)c)->inner, key, klen, val, vlen);
}

static void t_cursor_close(tc_store_cursor *c)
{
    tc_store_cursor_close(((timed_cursor *)c)->inner);
    free(c);
}

static void t_close(tc_store *s)
{
    tc_store_close(of(s)->inner);
    free(s);
}

static const tc_store_ops timed_ops = {
    .begin = t_begin,
    .get = t_get,
    .put = t_put,
    .del = t_del,
    .commit = t_commit,
    .abort = t_abort,
    .cursor_open = t_cursor_open,
    .cursor_seek = t_cursor_seek,
    .cursor_next = t_cursor_next,
    .cursor_close = t_cursor_close,
    .close = t_close,
};

int td_store_timed_wrap(tc_store *inner, tc_store **out)
{
    TC_ASSERT(inner != NULL && out != NULL);
    timed_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return TC_ENOMEM;
    s->base.ops = &timed_ops;
    s->inner = inner;
    *out = &s->base;
    return 0;
}

bool td_store_is_timed(const tc_store *s)
{
    return s != NULL && s->ops == &timed_ops;
}

void td_store_timing_get(const tc_store *s, td_store_timing *out)
{
    TC_ASSERT(td_store_is_timed(s) && out != NULL);
    *out = ((const timed_store *)s)->timing;
}
