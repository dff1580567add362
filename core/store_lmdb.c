/* store_lmdb.c — the LMDB store backend real nodes run on (and the simulator's `storage lmdb`).
 *
 * Owns: one LMDB environment (a directory holding data.mdb and lock.mdb); one named database per
 * tc_table, opened (created if missing) in one write transaction at open; the one open
 * transaction, embedded in the store because at most one is open; one reset read-only MDB
 * transaction kept for renewal, so that read transactions allocate nothing after the first.
 *
 * Invariants:
 * - Write transactions commit with LMDB's default flags (no MDB_NOSYNC, no MDB_NOMETASYNC): when
 *   commit returns 0 the data is on disk and survives kill -9 and power loss.
 * - TC_TABLE_META holds the key "format" with TC_STORE_FORMAT_VERSION as 4 bytes big-endian from
 *   the store's creation on; a store holding anything else is refused at open.
 * - get, put, del and cursor steps allocate nothing: values point into LMDB's map (valid until the
 *   next write or the transaction's end, as store.h promises).
 * - After a put or del fails with anything but TC_ENOTFOUND, the transaction keeps that error and
 *   every later call on it but abort returns it; commit returns it and aborts.
 * This is the only file in the tree that includes <lmdb.h> (STYLE.md rule 3).
 */
#include "store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_MAP_SIZE ((size_t)1 << 30)

static const char *const table_names[] = {
    "meta", "utxo", "spent", "blocks", "blockidx", "txidx", "mn", "locks", "evidence",
};
_Static_assert(TC_ARRAY_LEN(table_names) == TC_TABLE_COUNT, "one database name per tc_table");

typedef struct lcur lcur;

typedef struct {
    tc_store *store; /* first: store.c dispatches through it */
    MDB_txn *mt;     /* NULL when no transaction is open */
    bool writable;
    int err;      /* the first failed write: the transaction can then only end */
    uint64_t gen; /* put and del calls so far, to catch cursors used across one */
    lcur *cursors;
    size_t cursor_count;
} ltxn;

struct lcur {
    tc_store *store; /* first: store.c dispatches through it */
    ltxn *txn;
    lcur *prev;
    lcur *next;
    MDB_cursor *mc;
    uint64_t gen; /* the transaction's write count at open */
    enum { AT_START, AT_SEEK, AT_RECORD, AT_END } state;
};

typedef struct {
    tc_store base; /* first: a tc_store * converts to this */
    MDB_env *env;
    MDB_dbi dbi[TC_TABLE_COUNT];
    MDB_txn *idle_rd; /* a reset read-only transaction waiting for renewal, or NULL */
    ltxn txn;
} lstore;

static const tc_store_ops lmdb_ops;

static int map_rc(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return TC_ENOTFOUND;
    case MDB_MAP_FULL:
        return TC_ESTORE_MAPFULL;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
        /* LMDB found its own file damaged: that is corruption, not a failed read. */
        return TC_ESTORE_CORRUPT;
    case ENOMEM:
        return TC_ENOMEM;
    default:
        return TC_ESTORE_IO;
    }
}

/* For calls that cannot miss a key: a NOTFOUND there is an LMDB failure like any other. */
static int fail_rc(int rc)
{
    return rc == MDB_NOTFOUND ? TC_ESTORE_IO : map_rc(rc);
}

static MDB_val val_of(const void *p, size_t n)
{
    /* LMDB takes non-const pointers but never writes through them for keys and put data. An
     * empty value still gets a valid address, so LMDB never copies from NULL. */
    static const uint8_t none = 0;
    MDB_val v = {.mv_size = n, .mv_data = (void *)(n > 0 ? p : &none)};
    return v;
}

static lstore *store_of(tc_store *s)
{
    TC_ASSERT(s != NULL && s->ops == &lmdb_ops);
    return (lstore *)s;
}

static ltxn *txn_of(tc_store_txn *t_)
{
    ltxn *t = (ltxn *)t_;
    TC_ASSERT(t != NULL && t == &store_of(t->store)->txn);
    TC_ASSERT(t->mt != NULL); /* a handle used after its commit or abort is a caller bug */
    return t;
}

/* ---- open ---- */

static int env_open(lstore *s, const char *path, size_t map_size)
{
    int rc = mdb_env_create(&s->env);
    if (rc != 0) {
        s->env = NULL;
        return fail_rc(rc);
    }
    rc = mdb_env_set_maxdbs(s->env, TC_TABLE_COUNT);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, map_size);
    /* MDB_NOTLS ties reader slots to transaction handles, not threads, so the reset read
     * transaction may be renewed from whichever thread the driver calls from. */
    if (rc == 0)
        rc = mdb_env_open(s->env, path, MDB_NOTLS, 0600);
    /* A process killed with a read transaction open leaves its reader slot behind; clear
     * those so they do not pin old pages for ever. */
    if (rc == 0)
        rc = mdb_reader_check(s->env, NULL);
    if (rc != 0)
        return fail_rc(rc);
    if (mdb_env_get_maxkeysize(s->env) < TC_STORE_KEY_MAX)
        return TC_ESTORE_IO; /* an LMDB built with a smaller key limit than the interface's */
    return 0;
}

/* Checks the format record in a fresh write transaction, writing it when the store is new. */
static int format_check(lstore *s, MDB_txn *mt)
{
    const uint8_t want[4] = {
        (uint8_t)(TC_STORE_FORMAT_VERSION >> 24), (uint8_t)(TC_STORE_FORMAT_VERSION >> 16),
        (uint8_t)(TC_STORE_FORMAT_VERSION >> 8), (uint8_t)TC_STORE_FORMAT_VERSION};
    MDB_dbi meta = s->dbi[TC_TABLE_META];
    MDB_val k = val_of("format", 6), v;
    int rc = mdb_get(mt, meta, &k, &v);
    if (rc == 0)
        return v.mv_size == sizeof(want) && memcmp(v.mv_data, want, sizeof(want)) == 0
                   ? 0
                   : TC_ESTORE_CORRUPT;
    if (rc != MDB_NOTFOUND)
        return map_rc(rc);
    MDB_stat st;
    rc = mdb_stat(mt, meta, &st);
    if (rc != 0)
        return fail_rc(rc);
    if (st.ms_entries != 0)
        return TC_ESTORE_CORRUPT; /* metadata without a format record: not a store we made */
    v = val_of(want, sizeof(want));
    return fail_rc(mdb_put(mt, meta, &k, &v, 0));
}

static int tables_open(lstore *s)
{
    MDB_txn *mt = NULL;
    int rc = mdb_txn_begin(s->env, NULL, 0, &mt);
    if (rc != 0)
        return fail_rc(rc);
    for (unsigned i = 0; i < TC_TABLE_COUNT && rc == 0; i++)
        rc = mdb_dbi_open(mt, table_names[i], MDB_CREATE, &s->dbi[i]);
    rc = rc == 0 ? format_check(s, mt) : fail_rc(rc);
    if (rc != 0) {
        mdb_txn_abort(mt);
        return rc;
    }
    return fail_rc(mdb_txn_commit(mt));
}

int tc_store_lmdb_open(const char *path, size_t map_size, tc_store **out)
{
    TC_ASSERT(path != NULL && out != NULL);
    *out = NULL;
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return TC_ESTORE_IO;
    lstore *s = tc_calloc(1, sizeof(*s));
    if (s == NULL)
        return TC_ENOMEM;
    s->base.ops = &lmdb_ops;
    s->txn.store = &s->base;
    int rc = env_open(s, path, map_size != 0 ? map_size : DEFAULT_MAP_SIZE);
    if (rc == 0)
        rc = tables_open(s);
    if (rc != 0) {
        if (s->env != NULL)
            mdb_env_close(s->env);
        free(s);
        return rc;
    }
    TC_ASSERT(s->txn.mt == NULL && s->idle_rd == NULL);
    *out = &s->base;
    return 0;
}

/* ---- transactions ---- */

static int lm_begin(tc_store *s_, bool writable, tc_store_txn **out)
{
    lstore *s = store_of(s_);
    TC_ASSERT(out != NULL);
    if (s->txn.mt != NULL)
        return TC_ESTORE_TXN;
    MDB_txn *mt = NULL;
    int rc;
    if (!writable && s->idle_rd != NULL) {
        mt = s->idle_rd;
        s->idle_rd = NULL;
        rc = mdb_txn_renew(mt);
        if (rc != 0)
            mdb_txn_abort(mt);
    } else {
        rc = mdb_txn_begin(s->env, NULL, writable ? 0 : MDB_RDONLY, &mt);
    }
    if (rc != 0)
        return fail_rc(rc);
    s->txn = (ltxn){.store = s_, .mt = mt, .writable = writable};
    *out = (tc_store_txn *)&s->txn;
    return 0;
}

/* Ends the open transaction without committing: a read-only one is reset and kept for renewal. */
static void release(lstore *s)
{
    ltxn *t = &s->txn;
    TC_ASSERT(t->mt != NULL && t->cursor_count == 0);
    if (!t->writable && s->idle_rd == NULL) {
        mdb_txn_reset(t->mt);
        s->idle_rd = t->mt;
    } else {
        mdb_txn_abort(t->mt);
    }
    t->mt = NULL;
}

static int lm_commit(tc_store_txn *t_)
{
    ltxn *t = txn_of(t_);
    TC_ASSERT(t->cursor_count == 0); /* cursors are closed before their transaction ends */
    if (!t->writable || t->err != 0) {
        int rc = t->err;
        release(store_of(t->store));
        return rc;
    }
    /* mdb_txn_commit frees the transaction whatever it returns; on failure nothing is visible. */
    int rc = mdb_txn_commit(t->mt);
    t->mt = NULL;
    return fail_rc(rc);
}

static void lm_abort(tc_store_txn *t_)
{
    ltxn *t = txn_of(t_);
    TC_ASSERT(t->cursor_count == 0);
    release(store_of(t->store));
}

static int lm_get(tc_store_txn *t_, tc_table table, const void *key, size_t klen, const void **val,
                  size_t *vlen)
{
    ltxn *t = txn_of(t_);
    TC_ASSERT(val != NULL && vlen != NULL);
    if (t->err != 0)
        return t->err;
    MDB_val k = val_of(key, klen), v;
    int rc = mdb_get(t->mt, store_of(t->store)->dbi[table], &k, &v);
    if (rc != 0)
        return map_rc(rc);
    *val = v.mv_data;
    *vlen = v.mv_size;
    return 0;
}

static int write_gate(ltxn *t)
{
    if (!t->writable)
        return TC_ESTORE_TXN;
    t->gen++;
    return t->err;
}

static int lm_put(tc_store_txn *t_, tc_table table, const void *key, size_t klen, const void *val,
                  size_t vlen)
{
    ltxn *t = txn_of(t_);
    int rc = write_gate(t);
    if (rc != 0)
        return rc;
    MDB_val k = val_of(key, klen), v = val_of(val, vlen);
    rc = mdb_put(t->mt, store_of(t->store)->dbi[table], &k, &v, 0);
    if (rc != 0)
        t->err = fail_rc(rc);
    return t->err;
}

static int lm_del(tc_store_txn *t_, tc_table table, const void *key, size_t klen)
{
    ltxn *t = txn_of(t_);
    int rc = write_gate(t);
    if (rc != 0)
        return rc;
    MDB_val k = val_of(key, klen);
    rc = map_rc(mdb_del(t->mt, store_of(t->store)->dbi[table], &k, NULL));
    if (rc != 0 && rc != TC_ENOTFOUND)
        t->err = rc; /* a missing key leaves the transaction usable; a failure does not */
    return rc;
}

/* ---- cursors ---- */

static lcur *cur_of(tc_store_cursor *c_)
{
    lcur *c = (lcur *)c_;
    TC_ASSERT(c != NULL && txn_of((tc_store_txn *)c->txn) == c->txn);
    TC_ASSERT(c->gen == c->txn->gen); /* a write since open invalidated the cursor */
    return c;
}

static int lm_cursor_open(tc_store_txn *t_, tc_table table, tc_store_cursor **out)
{
    ltxn *t = txn_of(t_);
    TC_ASSERT(out != NULL);
    if (t->err != 0)
        return t->err;
    lcur *c = tc_calloc(1, sizeof(*c));
    if (c == NULL)
        return TC_ENOMEM;
    int rc = mdb_cursor_open(t->mt, store_of(t->store)->dbi[table], &c->mc);
    if (rc != 0) {
        free(c);
        return fail_rc(rc);
    }
    c->store = t->store;
    c->txn = t;
    c->gen = t->gen;
    c->state = AT_START;
    c->next = t->cursors;
    if (t->cursors != NULL)
        t->cursors->prev = c;
    t->cursors = c;
    t->cursor_count++;
    *out = (tc_store_cursor *)c;
    return 0;
}

static int lm_cursor_seek(tc_store_cursor *c_, const void *key, size_t klen)
{
    lcur *c = cur_of(c_);
    TC_ASSERT(key != NULL && klen > 0);
    if (c->txn->err != 0)
        return c->txn->err;
    MDB_val k = val_of(key, klen), v;
    int rc = mdb_cursor_get(c->mc, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND) {
        c->state = AT_END; /* no key >= the sought one: next reports the end */
        return 0;
    }
    if (rc != 0)
        return map_rc(rc);
    c->state = AT_SEEK;
    return 0;
}

static int lm_cursor_next(tc_store_cursor *c_, const void **key, size_t *klen, const void **val,
                          size_t *vlen)
{
    lcur *c = cur_of(c_);
    *key = *val = NULL;
    *klen = *vlen = 0;
    if (c->txn->err != 0)
        return c->txn->err;
    if (c->state == AT_END)
        return TC_ENOTFOUND;
    /* After a seek the MDB cursor already stands on the record next must return. */
    MDB_cursor_op op = c->state == AT_START  ? MDB_FIRST
                       : c->state == AT_SEEK ? MDB_GET_CURRENT
                                             : MDB_NEXT;
    MDB_val k, v;
    int rc = mdb_cursor_get(c->mc, &k, &v, op);
    if (rc == MDB_NOTFOUND)
        c->state = AT_END;
    if (rc != 0)
        return map_rc(rc);
    c->state = AT_RECORD;
    *key = k.mv_data;
    *klen = k.mv_size;
    *val = v.mv_data;
    *vlen = v.mv_size;
    return 0;
}

static void cursor_free(lcur *c)
{
    ltxn *t = c->txn;
    TC_ASSERT(t->cursor_count > 0);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        t->cursors = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    t->cursor_count--;
    mdb_cursor_close(c->mc);
    free(c);
}

static void lm_cursor_close(tc_store_cursor *c_)
{
    lcur *c = (lcur *)c_;
    TC_ASSERT(c != NULL && txn_of((tc_store_txn *)c->txn) == c->txn);
    cursor_free(c);
}

/* ---- the store ---- */

static void lm_close(tc_store *s_)
{
    lstore *s = store_of(s_);
    if (s->txn.mt != NULL) {
        while (s->txn.cursors != NULL)
            cursor_free(s->txn.cursors);
        release(s);
    }
    if (s->idle_rd != NULL)
        mdb_txn_abort(s->idle_rd);
    mdb_env_close(s->env);
    free(s);
}

static const tc_store_ops lmdb_ops = {
    .begin = lm_begin,
    .get = lm_get,
    .put = lm_put,
    .del = lm_del,
    .commit = lm_commit,
    .abort = lm_abort,
    .cursor_open = lm_cursor_open,
    .cursor_seek = lm_cursor_seek,
    .cursor_next = lm_cursor_next,
    .cursor_close = lm_cursor_close,
    .close = lm_close,
};
