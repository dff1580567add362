/* store.c — argument checks shared by every backend, then dispatch through the vtable. */
#include "store.h"

/* Transactions and cursors of every backend begin with a pointer to their store, so the
 * dispatch needs no per-backend knowledge. */
struct tc_store_txn {
    tc_store *store;
};
struct tc_store_cursor {
    tc_store *store;
};

static bool key_ok(const void *key, size_t klen)
{
    return key != NULL && klen > 0 && klen <= TC_STORE_KEY_MAX;
}

int tc_store_begin(tc_store *s, bool writable, tc_store_txn **out)
{
    TC_ASSERT(s != NULL && out != NULL);
    *out = NULL;
    return s->ops->begin(s, writable, out);
}

int tc_store_get(tc_store_txn *t, tc_table table, const void *key, size_t klen, const void **val,
                 size_t *vlen)
{
    TC_ASSERT(t != NULL && val != NULL && vlen != NULL);
    TC_ASSERT((unsigned)table < TC_TABLE_COUNT);
    *val = NULL;
    *vlen = 0;
    if (!key_ok(key, klen))
        return TC_EINVAL;
    return t->store->ops->get(t, table, key, klen, val, vlen);
}

int tc_store_put(tc_store_txn *t, tc_table table, const void *key, size_t klen, const void *val,
                 size_t vlen)
{
    TC_ASSERT(t != NULL);
    TC_ASSERT((unsigned)table < TC_TABLE_COUNT);
    if (!key_ok(key, klen) || vlen > TC_STORE_VALUE_MAX || (val == NULL && vlen > 0))
        return TC_EINVAL;
    return t->store->ops->put(t, table, key, klen, val, vlen);
}

int tc_store_del(tc_store_txn *t, tc_table table, const void *key, size_t klen)
{
    TC_ASSERT(t != NULL);
    TC_ASSERT((unsigned)table < TC_TABLE_COUNT);
    if (!key_ok(key, klen))
        return TC_EINVAL;
    return t->store->ops->del(t, table, key, klen);
}

int tc_store_commit(tc_store_txn *t)
{
    TC_ASSERT(t != NULL);
    return t->store->ops->commit(t);
}

void tc_store_abort(tc_store_txn *t)
{
    if (t != NULL)
        t->store->ops->abort(t);
}

int tc_store_cursor_open(tc_store_txn *t, tc_table table, tc_store_cursor **out)
{
    TC_ASSERT(t != NULL && out != NULL);
    TC_ASSERT((unsigned)table < TC_TABLE_COUNT);
    *out = NULL;
    return t->store->ops->cursor_open(t, table, out);
}

int tc_store_cursor_seek(tc_store_cursor *c, const void *key, size_t klen)
{
    TC_ASSERT(c != NULL);
    if (!key_ok(key, klen))
        return TC_EINVAL;
    return c->store->ops->cursor_seek(c, key, klen);
}

int tc_store_cursor_next(tc_store_cursor *c, const void **key, size_t *klen, const void **val,
                         size_t *vlen)
{
    TC_ASSERT(c != NULL && key != NULL && klen != NULL && val != NULL && vlen != NULL);
    return c->store->ops->cursor_next(c, key, klen, val, vlen);
}

void tc_store_cursor_close(tc_store_cursor *c)
{
    if (c != NULL)
        c->store->ops->cursor_close(c);
}

void tc_store_close(tc_store *s)
{
    if (s != NULL)
        s->ops->close(s);
}
