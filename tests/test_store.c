/* test_store.c — the store interface's behaviour, one body run against both backends (suites
 * store_mem and store_lmdb), then what only one backend has: fault injection, crashes and
 * checksums for the in-memory one; reopening, kill -9 durability, the format record and a full
 * map for LMDB; and a differential run that drives both with the same random operations. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"

/* ---- helpers ---- */

#define RC(expr, want)                                                                             \
    do {                                                                                           \
        int rc_ = (expr), want_ = (want);                                                          \
        cr_assert_eq(rc_, want_, "%s returned %d (%s), want %d (%s)", #expr, rc_,                  \
                     tc_strerror(rc_), want_, tc_strerror(want_));                                 \
    } while (0)

static tc_store *g_store;
static char g_dir[64];

static void dir_make(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/tc-store-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir), "mkdtemp under /tmp gives a directory");
}

/* Removes the files LMDB made (data.mdb, lock.mdb) and the directory itself. */
static void dir_remove(void)
{
    DIR *d = opendir(g_dir);
    if (d == NULL)
        return;
    char path[sizeof(g_dir) + 1 + sizeof(((struct dirent *)0)->d_name)];
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", g_dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(g_dir);
}

static void mem_init(void)
{
    g_store = tc_store_mem_new();
    cr_assert_not_null(g_store, "tc_store_mem_new returns a store");
}

static void lmdb_init(void)
{
    dir_make();
    RC(tc_store_lmdb_open(g_dir, 0, &g_store), 0);
}

static void store_fini(void)
{
    tc_store_close(g_store);
    g_store = NULL;
}

static void lmdb_fini(void)
{
    store_fini();
    dir_remove();
}

/* One body, two tests: the same behaviour is required of both backends. */
#define BOTH(name)                                                                                 \
    static void body_##name(tc_store *s);                                                          \
    Test(store_mem, name, .init = mem_init, .fini = store_fini)                                    \
    {                                                                                              \
        body_##name(g_store);                                                                      \
    }                                                                                              \
    Test(store_lmdb, name, .init = lmdb_init, .fini = lmdb_fini)                                   \
    {                                                                                              \
        body_##name(g_store);                                                                      \
    }                                                                                              \
    static void body_##name(tc_store *s)

static void put_s(tc_store_txn *t, tc_table tb, const char *k, const char *v)
{
    RC(tc_store_put(t, tb, k, strlen(k), v, strlen(v)), 0);
}

/* want NULL: the key must be absent. */
static void expect_s(tc_store_txn *t, tc_table tb, const char *k, const char *want)
{
    const void *v;
    size_t n;
    int rc = tc_store_get(t, tb, k, strlen(k), &v, &n);
    if (want == NULL) {
        cr_assert_eq(rc, TC_ENOTFOUND, "get '%s' returned %d (%s), want TC_ENOTFOUND", k, rc,
                     tc_strerror(rc));
        return;
    }
    cr_assert_eq(rc, 0, "get '%s' returned %d (%s), want 0", k, rc, tc_strerror(rc));
    cr_assert(n == strlen(want) && memcmp(v, want, n) == 0, "get '%s' gave '%.*s', want '%s'", k,
              (int)n, (const char *)v, want);
}

static void commit_s(tc_store *s, tc_table tb, const char *k, const char *v)
{
    tc_store_txn *t;
    RC(tc_store_begin(s, true, &t), 0);
    put_s(t, tb, k, v);
    RC(tc_store_commit(t), 0);
}

static void read_expect(tc_store *s, tc_table tb, const char *k, const char *want)
{
    tc_store_txn *t;
    RC(tc_store_begin(s, false, &t), 0);
    expect_s(t, tb, k, want);
    RC(tc_store_commit(t), 0);
}

/* Appends bytes to out, printable ones as they are and others as \xNN. */
static size_t esc(char *out, size_t at, size_t cap, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int w = p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\'
                    ? snprintf(out + at, cap - at, "%c", p[i])
                    : snprintf(out + at, cap - at, "\\x%02x", p[i]);
        cr_assert(w > 0 && (size_t)w < cap - at, "scan buffer of %zu bytes holds the table", cap);
        at += (size_t)w;
    }
    return at;
}

/* Lists one table as "key=value;" in cursor order into out. */
static void scan(tc_store_txn *t, tc_table tb, char *out, size_t cap)
{
    tc_store_cursor *c;
    const void *k, *v;
    size_t kl, vl, at = 0;
    out[0] = 0;
    RC(tc_store_cursor_open(t, tb, &c), 0);
    int rc;
    while ((rc = tc_store_cursor_next(c, &k, &kl, &v, &vl)) == 0) {
        at = esc(out, at, cap, k, kl);
        at = esc(out, at, cap, (const uint8_t *)"=", 1);
        at = esc(out, at, cap, v, vl);
        at = esc(out, at, cap, (const uint8_t *)";", 1);
    }
    RC(rc, TC_ENOTFOUND);
    tc_store_cursor_close(c);
}

static void expect_scan(tc_store_txn *t, tc_table tb, const char *want)
{
    char got[4096];
    scan(t, tb, got, sizeof(got));
    cr_assert_str_eq(got, want, "table %d lists '%s', want '%s'", (int)tb, got, want);
}

/* Every table of the store as text, read in a fresh read-only transaction. */
static void snapshot(tc_store *s, char *out, size_t cap)
{
    tc_store_txn *t;
    char one[4096];
    size_t at = 0;
    RC(tc_store_begin(s, false, &t), 0);
    for (unsigned i = 0; i < TC_TABLE_COUNT; i++) {
        scan(t, (tc_table)i, one, sizeof(one));
        int w = snprintf(out + at, cap - at, "%u{%s}", i, one);
        cr_assert(w > 0 && (size_t)w < cap - at, "snapshot buffer of %zu bytes holds it", cap);
        at += (size_t)w;
    }
    RC(tc_store_commit(t), 0);
}

/* ---- behaviour both backends share ---- */

BOTH(put_get_del_overwrite)
{
    tc_store_txn *t;
    RC(tc_store_begin(s, true, &t), 0);
    put_s(t, TC_TABLE_UTXO, "k1", "v1");
    put_s(t, TC_TABLE_UTXO, "k2", "v2");
    RC(tc_store_commit(t), 0);
    read_expect(s, TC_TABLE_UTXO, "k1", "v1");

    RC(tc_store_begin(s, true, &t), 0);
    put_s(t, TC_TABLE_UTXO, "k1", "a longer replacement");
    RC(tc_store_del(t, TC_TABLE_UTXO, "k2", 2), 0);
    RC(tc_store_commit(t), 0);

    RC(tc_store_begin(s, false, &t), 0);
    expect_s(t, TC_TABLE_UTXO, "k1", "a longer replacement");
    expect_s(t, TC_TABLE_UTXO, "k2", NULL);
    expect_scan(t, TC_TABLE_UTXO, "k1=a longer replacement;");
    RC(tc_store_commit(t), 0);
}

BOTH(missing_key)
{
    tc_store_txn *t;
    const void *v = &v;
    size_t n = 99;
    RC(tc_store_begin(s, true, &t), 0);
    RC(tc_store_get(t, TC_TABLE_META, "nope", 4, &v, &n), TC_ENOTFOUND);
    cr_assert(v == NULL && n == 0, "a failed get clears its outputs (got %p, %zu)", v, n);
    RC(tc_store_del(t, TC_TABLE_META, "nope", 4), TC_ENOTFOUND);
    put_s(t, TC_TABLE_META, "yes", "1");
    RC(tc_store_commit(t), 0); /* a missing key does not poison the transaction */
    read_expect(s, TC_TABLE_META, "yes", "1");
}

BOTH(key_and_value_limits)
{
    uint8_t big[TC_STORE_KEY_MAX + 1];
    memset(big, 0xab, sizeof(big));
    const void *v;
    size_t n;
    tc_store_txn *t;
    tc_store_cursor *c;
    RC(tc_store_begin(s, true, &t), 0);
    RC(tc_store_put(t, TC_TABLE_UTXO, "", 0, "x", 1), TC_EINVAL);
    RC(tc_store_put(t, TC_TABLE_UTXO, NULL, 3, "x", 1), TC_EINVAL);
    RC(tc_store_put(t, TC_TABLE_UTXO, big, sizeof(big), "x", 1), TC_EINVAL);
    RC(tc_store_get(t, TC_TABLE_UTXO, big, sizeof(big), &v, &n), TC_EINVAL);
    RC(tc_store_del(t, TC_TABLE_UTXO, big, sizeof(big)), TC_EINVAL);
    RC(tc_store_put(t, TC_TABLE_UTXO, "k", 1, big, (size_t)TC_STORE_VALUE_MAX + 1), TC_EINVAL);
    RC(tc_store_put(t, TC_TABLE_UTXO, "k", 1, NULL, 1), TC_EINVAL);
    RC(tc_store_put(t, TC_TABLE_UTXO, big, TC_STORE_KEY_MAX, "max", 3), 0);
    RC(tc_store_put(t, TC_TABLE_UTXO, "empty", 5, NULL, 0), 0);
    RC(tc_store_cursor_open(t, TC_TABLE_UTXO, &c), 0);
    RC(tc_store_cursor_seek(c, big, sizeof(big)), TC_EINVAL);
    RC(tc_store_cursor_seek(c, "", 0), TC_EINVAL);
    tc_store_cursor_close(c);
    RC(tc_store_commit(t), 0); /* rejected arguments do not poison the transaction */

    RC(tc_store_begin(s, false, &t), 0);
    RC(tc_store_get(t, TC_TABLE_UTXO, big, TC_STORE_KEY_MAX, &v, &n), 0);
    cr_assert(n == 3 && memcmp(v, "max", 3) == 0, "the %d-byte key holds 'max'", TC_STORE_KEY_MAX);
    RC(tc_store_get(t, TC_TABLE_UTXO, "empty", 5, &v, &n), 0);
    cr_assert_eq(n, 0, "the empty value reads back with length %zu, want 0", n);
    RC(tc_store_commit(t), 0);
}

BOTH(abort_discards)
{
    commit_s(s, TC_TABLE_UTXO, "keep", "1");
    tc_store_txn *t;
    RC(tc_store_begin(s, true, &t), 0);
    put_s(t, TC_TABLE_UTXO, "new", "2");
    put_s(t, TC_TABLE_UTXO, "keep", "changed");
    RC(tc_store_del(t, TC_TABLE_UTXO, "keep", 4), 0);
    tc_store_abort(t);
    RC(tc_store_begin(s, false, &t), 0);
    expect_scan(t, TC_TABLE_UTXO, "keep=1;");
    RC(tc_store_commit(t), 0);
}

BOTH(commit_makes_visible)
{
    tc_store_txn *t;
    RC(tc_store_begin(s, false, &t), 0);
    expect_s(t, TC_TABLE_BLOCKS, "h", NULL);
    RC(tc_store_commit(t), 0);
    commit_s(s, TC_TABLE_BLOCKS, "h", "block");
    read_expect(s, TC_TABLE_BLOCKS, "h", "block");
    read_expect(s, TC_TABLE_BLOCKS, "h", "block"); /* a second read txn (LMDB: renewed) */
}

BOTH(read_your_writes)
{
    commit_s(s, TC_TABLE_UTXO, "old", "1");
    tc_store_txn *t;
    RC(tc_store_begin(s, true, &t), 0);
    put_s(t, TC_TABLE_UTXO, "new", "2");
    expect_s(t, TC_TABLE_UTXO, "new", "2");
    put_s(t, TC_TABLE_UTXO, "new", "3");
    expect_s(t, TC_TABLE_UTXO, "new", "3");
    RC(tc_store_del(t, TC_TABLE_UTXO, "old", 3), 0);
    expect_s(t, TC_TABLE_UTXO, "old", NULL);
    RC(tc_store_del(t, TC_TABLE_UTXO, "old", 3), TC_ENOTFOUND);
    put_s(t, TC_TABLE_UTXO, "old", "back");
    expect_s(t, TC_TABLE_UTXO, "old", "back");
    RC(tc_store_del(t, TC_TABLE_UTXO, "new", 3), 0);
    expect_s(t, TC_TABLE_UTXO, "new", NULL);
    RC(tc_store_commit(t), 0);
    RC(tc_store_begin(s, false, &t), 0);
    expect_scan(t, TC_TABLE_UTXO, "old=back;");
    RC(tc_store_commit(t), 0);
}

BOTH(cursor_order_merges_pending)
{
    tc_store_txn *t;
    RC(tc_store_begin(s, true, &t), 0);
    put_s(t, TC_TABLE_UTXO, "b", "1");
    put_s(t, TC_TABLE_UTXO, "d", "1");
    put_s(t, TC_TABLE_UTXO, "f", "1");
    RC(tc_store_put(t, TC_TABLE_UTXO, "\xff", 1, "hi", 2), 0);
    RC(tc_store_commit(t), 0);

    RC(tc_store_begin(s, true, &t), 0);
    put_s(t, TC_TABLE_UTXO, "a", "2");
    put_s(t, TC_TABLE_UTXO, "e", "2");
    put_s(t, TC_TABLE_UTXO, "f", "2");
    put_s(t, TC_TABLE_UTXO, "bb", "2");
    RC(tc_store_put(t, TC_TABLE_UTXO, "b\0", 2, "z", 1), 0);
    RC(tc_store_del(t, TC_TABLE_UTXO, "d", 1), 0);
    /* Unsigned bytes, shorter first: b < b\0 < bb, and \xff after every ASCII key. */
    expect_scan(t, TC_TABLE_UTXO, "a=2;b=1;b\\x00=z;bb=2;e=2;f=2;\\xff=hi;");
    RC(tc_store_del(t, TC_TABLE_UTXO, "a", 1), 0);
    RC(tc_store_del(t, TC_TABLE_UTXO, "\xff", 1), 0);
    expect_scan(t, TC_TABLE_UTXO, "b=1;b\\x00=z;bb=2;e=2;f=2;");
    RC(tc_store_commit(t), 0);
    RC(tc_store_begin(s, false, &t), 0);
    expect_scan(t, TC_TABLE_UTXO, "b=1;b\\x00=z;bb=2;e=2;f=2;");
    RC(tc_store_commit(t), 0);
}

static void expect_next(tc_store_cursor *c, const char *want_key)
{
    const void *k, *v;
    size_t kl, vl;
    int rc = tc_store_cursor_next(c, &k, &kl, &v, &vl);
    if (want_key == NULL) {
        cr_assert_eq(rc, TC_ENOTFOUND, "next returned %d (%s), want the end", rc, tc_strerror(rc));
        return;
    }
    cr_assert_eq(rc, 0, "next returned %d (%s), want key '%s'", rc, tc_strerror(rc), want_key);
    cr_assert(kl == strlen(want_key) && memcmp(k, want_key, kl) == 0,
              "next gave key '%.*s', want '%s'", (int)kl, (const char *)k, want_key);
}

BOTH(cursor_seek)
{
    tc_store_txn *t;
    tc_store_cursor *c;
    RC(tc_store_begin(s, true, &t), 0);
    put_s(t, TC_TABLE_BLOCKIDX, "b", "1");
    put_s(t, TC_TABLE_BLOCKIDX, "d", "1");
    RC(tc_store_commit(t), 0);
    RC(tc_store_begin(s, true, &t), 0);
    put_s(t, TC_TABLE_BLOCKIDX, "c", "pending");
    RC(tc_store_cursor_open(t, TC_TABLE_BLOCKIDX, &c), 0);
    RC(tc_store_cursor_seek(c, "bz", 2), 0);
    expect_next(c, "c");
    expect_next(c, "d");
    expect_next(c, NULL);
    expect_next(c, NULL); /* the end stays the end */
    RC(tc_store_cursor_seek(c, "b", 1), 0);
    expect_next(c, "b");
    RC(tc_store_cursor_seek(c, "a", 1), 0);
    expect_next(c, "b");
    expect_next(c, "c");
    RC(tc_store_cursor_seek(c, "e", 1), 0);
    expect_next(c, NULL);
    RC(tc_store_cursor_seek(c, "d", 1), 0);
    expect_next(c, "d");
    tc_store_cursor_close(c);
    tc_store_abort(t);
}

BOTH(tables_are_independent)
{
    tc_store_txn *t;
    RC(tc_store_begin(s, true, &t), 0);
    for (unsigned i = 0; i < TC_TABLE_COUNT; i++) {
        char v[8];
        snprintf(v, sizeof(v), "t%u", i);
        RC(tc_store_put(t, (tc_table)i, "same", 4, v, strlen(v)), 0);
    }
    RC(tc_store_del(t, TC_TABLE_SPENT, "same", 4), 0);
    RC(tc_store_commit(t), 0);
    RC(tc_store_begin(s, false, &t), 0);
    expect_s(t, TC_TABLE_UTXO, "same", "t1");
    expect_s(t, TC_TABLE_SPENT, "same", NULL);
    expect_s(t, TC_TABLE_EVIDENCE, "same", "t8");
    expect_scan(t, TC_TABLE_LOCKS, "same=t7;");
    expect_scan(t, TC_TABLE_SPENT, "");
    RC(tc_store_commit(t), 0);
}

BOTH(nested_begin_rejected)
{
    tc_store_txn *t, *u = NULL;
    RC(tc_store_begin(s, true, &t), 0);
    RC(tc_store_begin(s, true, &u), TC_ESTORE_TXN);
    RC(tc_store_begin(s, false, &u), TC_ESTORE_TXN);
    cr_assert_null(u, "a refused begin leaves *out NULL (got %p)", (void *)u);
    put_s(t, TC_TABLE_META, "k", "v"); /* the open transaction is unharmed */
    RC(tc_store_commit(t), 0);
    RC(tc_store_begin(s, false, &t), 0);
    RC(tc_store_begin(s, true, &u), TC_ESTORE_TXN);
    tc_store_abort(t);
    read_expect(s, TC_TABLE_META, "k", "v");
}

BOTH(write_in_read_txn_rejected)
{
    commit_s(s, TC_TABLE_MN, "k", "v");
    tc_store_txn *t;
    RC(tc_store_begin(s, false, &t), 0);
    RC(tc_store_put(t, TC_TABLE_MN, "x", 1, "y", 1), TC_ESTORE_TXN);
    RC(tc_store_del(t, TC_TABLE_MN, "k", 1), TC_ESTORE_TXN);
    expect_s(t, TC_TABLE_MN, "k", "v");
    RC(tc_store_commit(t), 0);
    read_expect(s, TC_TABLE_MN, "x", NULL);
}

BOTH(large_value)
{
    size_t n = (size_t)8 << 20;
    uint8_t *big = malloc(n);
    cr_assert_not_null(big, "malloc of %zu bytes", n);
    for (size_t i = 0; i < n; i++)
        big[i] = (uint8_t)(i * 131 + (i >> 13));
    tc_store_txn *t;
    const void *v;
    size_t vl;
    RC(tc_store_begin(s, true, &t), 0);
    RC(tc_store_put(t, TC_TABLE_BLOCKS, "big", 3, big, n), 0);
    RC(tc_store_commit(t), 0);
    RC(tc_store_begin(s, false, &t), 0);
    RC(tc_store_get(t, TC_TABLE_BLOCKS, "big", 3, &v, &vl), 0);
    cr_assert(vl == n && memcmp(v, big, n) == 0, "the value reads back whole: %zu bytes of %zu", vl,
              n);
    RC(tc_store_commit(t), 0);
    free(big);
}

static void key_of(uint8_t *k, uint32_t i)
{
    for (unsigned b = 0; b < 4; b++)
        k[b] = (uint8_t)(i >> (24 - 8 * b)); /* big-endian, so key order is number order */
}

/* Walks the table and checks it holds exactly the keys i < n with keep(i), in order. */
static void expect_numbered(tc_store_txn *t, uint32_t n, uint32_t drop_every)
{
    tc_store_cursor *c;
    const void *k, *v;
    size_t kl, vl;
    uint8_t want[4];
    RC(tc_store_cursor_open(t, TC_TABLE_TXIDX, &c), 0);
    for (uint32_t i = 0; i < n; i++) {
        if (drop_every != 0 && i % drop_every == 0)
            continue;
        key_of(want, i);
        RC(tc_store_cursor_next(c, &k, &kl, &v, &vl), 0);
        cr_assert(kl == 4 && memcmp(k, want, 4) == 0, "record for %u is next", i);
        cr_assert(vl == 4 && memcmp(v, want, 4) == 0, "record %u holds its own number", i);
    }
    RC(tc_store_cursor_next(c, &k, &kl, &v, &vl), TC_ENOTFOUND);
    tc_store_cursor_close(c);
}

BOTH(many_keys_stay_ordered)
{
    const uint32_t n = 5000; /* 7919 is prime and coprime with n: a permutation of 0..n-1 */
    uint8_t k[4];
    tc_store_txn *t;
    RC(tc_store_begin(s, true, &t), 0);
    for (uint32_t j = 0; j < n; j++) {
        key_of(k, (j * 7919u) % n);
        RC(tc_store_put(t, TC_TABLE_TXIDX, k, 4, k, 4), 0);
    }
    expect_numbered(t, n, 0);
    RC(tc_store_commit(t), 0);
    RC(tc_store_begin(s, true, &t), 0);
    for (uint32_t j = 0; j < n; j++) {
        uint32_t i = (j * 7919u) % n;
        key_of(k, i);
        if (i % 3 == 0)
            RC(tc_store_del(t, TC_TABLE_TXIDX, k, 4), 0);
    }
    expect_numbered(t, n, 3);
    RC(tc_store_commit(t), 0);
    RC(tc_store_begin(s, false, &t), 0);
    expect_numbered(t, n, 3);
    RC(tc_store_commit(t), 0);
}

/* Misuse that only a bug can cause is asserted: the process aborts. */
static void cursor_after_write(tc_store *s)
{
    tc_store_txn *t;
    tc_store_cursor *c;
    const void *k, *v;
    size_t kl, vl;
    RC(tc_store_begin(s, true, &t), 0);
    RC(tc_store_cursor_open(t, TC_TABLE_UTXO, &c), 0);
    put_s(t, TC_TABLE_UTXO, "a", "1");
    tc_store_cursor_next(c, &k, &kl, &v, &vl); /* the assertion aborts here */
    cr_assert_fail("a cursor used after a write must abort the process");
}

Test(store_mem, cursor_after_write_is_a_bug, .init = mem_init, .fini = store_fini,
     .signal = SIGABRT)
{
    cursor_after_write(g_store);
}

Test(store_lmdb, cursor_after_write_is_a_bug, .init = lmdb_init, .fini = lmdb_fini,
     .signal = SIGABRT)
{
    dir_remove(); /* the abort skips .fini; the open store works on unlinked files */
    cursor_after_write(g_store);
}

/* ---- in-memory backend only ---- */

static void mem_prestate(tc_store *s)
{
    tc_store_txn *t;
    RC(tc_store_begin(s, true, &t), 0);
    put_s(t, TC_TABLE_META, "tip", "1");
    put_s(t, TC_TABLE_UTXO, "a", "1");
    put_s(t, TC_TABLE_UTXO, "b", "2");
    put_s(t, TC_TABLE_UTXO, "c", "3");
    RC(tc_store_commit(t), 0);
}

/* A block's worth of writes: 8 puts and dels across tables. Each op's result must be 0 before
 * write fail_at, and TC_ESTORE_FAULT from it on (injected, then the transaction's first error). */
static void mem_script(tc_store_txn *t, uint64_t fail_at)
{
    static const struct {
        tc_table table;
        const char *key, *val; /* val NULL: delete */
    } ops[] = {
        {TC_TABLE_UTXO, "d", "4"},      {TC_TABLE_UTXO, "a", "10"}, {TC_TABLE_UTXO, "b", NULL},
        {TC_TABLE_BLOCKS, "h1", "blk"}, {TC_TABLE_UTXO, "c", NULL}, {TC_TABLE_META, "tip", "2"},
        {TC_TABLE_UTXO, "b", "20"},     {TC_TABLE_UTXO, "d", NULL},
    };
    for (uint64_t i = 1; i <= TC_ARRAY_LEN(ops); i++) {
        const char *k = ops[i - 1].key, *v = ops[i - 1].val;
        int rc = v != NULL ? tc_store_put(t, ops[i - 1].table, k, strlen(k), v, strlen(v))
                           : tc_store_del(t, ops[i - 1].table, k, strlen(k));
        int want = fail_at != 0 && i >= fail_at ? TC_ESTORE_FAULT : 0;
        cr_assert_eq(rc, want, "write %lu of the script (fail at %lu) returned %d (%s), want %d",
                     (unsigned long)i, (unsigned long)fail_at, rc, tc_strerror(rc), want);
    }
}

Test(store_mem, fail_nth_write_leaves_prestate, .init = mem_init, .fini = store_fini)
{
    tc_store *s = g_store;
    char pre[2048], got[2048];
    mem_prestate(s);
    snapshot(s, pre, sizeof(pre));

    tc_store_txn *t;
    uint64_t before = tc_store_mem_write_count(s);
    RC(tc_store_begin(s, true, &t), 0);
    mem_script(t, 0);
    tc_store_abort(t);
    uint64_t k = tc_store_mem_write_count(s) - before;
    cr_assert_eq(k, 8, "the script makes %lu writes, want 8", (unsigned long)k);

    for (uint64_t n = 1; n <= k; n++) {
        tc_store_mem_set_faults(s, &(tc_store_mem_faults){.fail_nth_write = n});
        RC(tc_store_begin(s, true, &t), 0);
        mem_script(t, n);
        if (n % 2 == 1) {
            RC(tc_store_commit(t), TC_ESTORE_FAULT); /* commit returns the first error */
        } else {
            tc_store_abort(t);
        }
        snapshot(s, got, sizeof(got));
        cr_assert_str_eq(got, pre, "after failing write %lu the store is '%s', want '%s'",
                         (unsigned long)n, got, pre);
    }
    tc_store_mem_set_faults(s, &(tc_store_mem_faults){0});
    RC(tc_store_begin(s, true, &t), 0);
    mem_script(t, 0);
    RC(tc_store_commit(t), 0);
    snapshot(s, got, sizeof(got));
    cr_assert_str_eq(got, "0{tip=2;}1{a=10;b=20;}2{}3{h1=blk;}4{}5{}6{}7{}8{}",
                     "the clean run's state is '%s'", got);
}

Test(store_mem, failed_write_poisons_txn, .init = mem_init, .fini = store_fini)
{
    tc_store *s = g_store;
    tc_store_txn *t;
    tc_store_cursor *c;
    const void *v;
    size_t n;
    tc_store_mem_set_faults(s, &(tc_store_mem_faults){.fail_nth_write = 2});
    RC(tc_store_begin(s, true, &t), 0);
    put_s(t, TC_TABLE_UTXO, "a", "1");
    RC(tc_store_put(t, TC_TABLE_UTXO, "b", 1, "2", 1), TC_ESTORE_FAULT);
    RC(tc_store_get(t, TC_TABLE_UTXO, "a", 1, &v, &n), TC_ESTORE_FAULT);
    RC(tc_store_del(t, TC_TABLE_UTXO, "a", 1), TC_ESTORE_FAULT);
    RC(tc_store_cursor_open(t, TC_TABLE_UTXO, &c), TC_ESTORE_FAULT);
    RC(tc_store_commit(t), TC_ESTORE_FAULT);
    uint64_t w = tc_store_mem_write_count(s);
    cr_assert_eq(w, 2, "writes counted: %lu, want 2 (calls on a failed txn do not count)",
                 (unsigned long)w);
    read_expect(s, TC_TABLE_UTXO, "a", NULL);
}

Test(store_mem, fail_sticky_fails_every_later_write, .init = mem_init, .fini = store_fini)
{
    tc_store *s = g_store;
    tc_store_txn *t;
    tc_store_mem_set_faults(s, &(tc_store_mem_faults){.fail_nth_write = 2, .fail_sticky = true});
    RC(tc_store_begin(s, true, &t), 0);
    put_s(t, TC_TABLE_UTXO, "a", "1");
    RC(tc_store_put(t, TC_TABLE_UTXO, "b", 1, "2", 1), TC_ESTORE_FAULT);
    tc_store_abort(t);
    RC(tc_store_begin(s, true, &t), 0);
    RC(tc_store_put(t, TC_TABLE_UTXO, "c", 1, "3", 1), TC_ESTORE_FAULT); /* write 3: sticky */
    tc_store_abort(t);

    tc_store_mem_set_faults(s, &(tc_store_mem_faults){.fail_nth_write = 1});
    RC(tc_store_begin(s, true, &t), 0);
    RC(tc_store_put(t, TC_TABLE_UTXO, "a", 1, "1", 1), TC_ESTORE_FAULT);
    tc_store_abort(t);
    RC(tc_store_begin(s, true, &t), 0);
    put_s(t, TC_TABLE_UTXO, "c", "3"); /* write 2: not sticky, so it succeeds */
    RC(tc_store_commit(t), 0);
    read_expect(s, TC_TABLE_UTXO, "c", "3");
}

Test(store_mem, fail_nth_commit_discards, .init = mem_init, .fini = store_fini)
{
    tc_store *s = g_store;
    tc_store_txn *t;
    tc_store_mem_set_faults(s, &(tc_store_mem_faults){.fail_nth_commit = 2});
    commit_s(s, TC_TABLE_UTXO, "x", "1");    /* commit 1 */
    read_expect(s, TC_TABLE_UTXO, "x", "1"); /* read-only commits are not counted */
    RC(tc_store_begin(s, true, &t), 0);
    put_s(t, TC_TABLE_UTXO, "y", "2");
    put_s(t, TC_TABLE_UTXO, "x", "changed");
    RC(tc_store_commit(t), TC_ESTORE_FAULT); /* commit 2 */
    RC(tc_store_begin(s, false, &t), 0);     /* the failed transaction has ended */
    expect_scan(t, TC_TABLE_UTXO, "x=1;");
    RC(tc_store_commit(t), 0);
    commit_s(s, TC_TABLE_UTXO, "z", "3"); /* commit 3: not sticky */
    read_expect(s, TC_TABLE_UTXO, "z", "3");
}

Test(store_mem, crash_drops_uncommitted_keeps_committed, .init = mem_init, .fini = store_fini)
{
    tc_store *s = g_store;
    tc_store_txn *t;
    tc_store_cursor *c;
    commit_s(s, TC_TABLE_LOCKS, "vote", "h5");
    tc_store_mem_crash(s); /* no transaction open: nothing to drop */
    RC(tc_store_begin(s, true, &t), 0);
    put_s(t, TC_TABLE_LOCKS, "vote", "h6");
    put_s(t, TC_TABLE_LOCKS, "lock", "tx");
    RC(tc_store_cursor_open(t, TC_TABLE_LOCKS, &c), 0); /* freed by the crash too */
    tc_store_mem_crash(s);                              /* t and c are gone */
    RC(tc_store_begin(s, false, &t), 0);
    expect_scan(t, TC_TABLE_LOCKS, "vote=h5;");
    tc_store_mem_crash(s); /* a read transaction can be dropped the same way */
    commit_s(s, TC_TABLE_LOCKS, "vote", "h7");
    read_expect(s, TC_TABLE_LOCKS, "vote", "h7");
}

Test(store_mem, corrupt_record_detected, .init = mem_init, .fini = store_fini)
{
    tc_store *s = g_store;
    tc_store_txn *t;
    tc_store_cursor *c;
    const void *k, *v;
    size_t kl, vl;
    commit_s(s, TC_TABLE_UTXO, "a", "fine");
    commit_s(s, TC_TABLE_UTXO, "b", "victim");
    commit_s(s, TC_TABLE_UTXO, "c", "");
    RC(tc_store_mem_corrupt(s, TC_TABLE_UTXO, "b", 1), 0);
    RC(tc_store_mem_corrupt(s, TC_TABLE_UTXO, "c", 1), 0); /* empty value: checksum flipped */
    RC(tc_store_mem_corrupt(s, TC_TABLE_UTXO, "zz", 2), TC_ENOTFOUND);
    RC(tc_store_begin(s, false, &t), 0);
    expect_s(t, TC_TABLE_UTXO, "a", "fine");
    RC(tc_store_get(t, TC_TABLE_UTXO, "b", 1, &v, &vl), TC_ESTORE_CORRUPT);
    RC(tc_store_get(t, TC_TABLE_UTXO, "c", 1, &v, &vl), TC_ESTORE_CORRUPT);
    RC(tc_store_cursor_open(t, TC_TABLE_UTXO, &c), 0);
    RC(tc_store_cursor_next(c, &k, &kl, &v, &vl), 0);
    RC(tc_store_cursor_next(c, &k, &kl, &v, &vl), TC_ESTORE_CORRUPT);
    RC(tc_store_cursor_next(c, &k, &kl, &v, &vl), TC_ESTORE_CORRUPT);
    RC(tc_store_cursor_next(c, &k, &kl, &v, &vl), TC_ENOTFOUND);
    tc_store_cursor_close(c);
    RC(tc_store_commit(t), 0);
    commit_s(s, TC_TABLE_UTXO, "b", "rewritten"); /* a fresh record has a fresh checksum */
    read_expect(s, TC_TABLE_UTXO, "b", "rewritten");
}

/* A record is summed when its transaction commits: the open transaction reads its own writes
 * (not summed yet) whatever became of the committed record under the key, and once committed
 * they verify; a corrupted record replaced in a transaction reads as the new value. */
Test(store_mem, pending_records_are_summed_at_commit, .init = mem_init, .fini = store_fini)
{
    tc_store *s = g_store;
    tc_store_txn *t;
    tc_store_cursor *c;
    const void *k, *v;
    size_t kl, vl;
    commit_s(s, TC_TABLE_UTXO, "b", "victim");
    RC(tc_store_mem_corrupt(s, TC_TABLE_UTXO, "b", 1), 0);
    RC(tc_store_begin(s, true, &t), 0);
    RC(tc_store_get(t, TC_TABLE_UTXO, "b", 1, &v, &vl), TC_ESTORE_CORRUPT);
    put_s(t, TC_TABLE_UTXO, "b", "first");
    put_s(t, TC_TABLE_UTXO, "b", "second"); /* the pending record replaced in place */
    put_s(t, TC_TABLE_UTXO, "d", "new");
    expect_s(t, TC_TABLE_UTXO, "b", "second");
    expect_s(t, TC_TABLE_UTXO, "d", "new");
    RC(tc_store_cursor_open(t, TC_TABLE_UTXO, &c), 0);
    RC(tc_store_cursor_next(c, &k, &kl, &v, &vl), 0);
    cr_assert(vl == 6 && memcmp(v, "second", 6) == 0, "the cursor reads the pending b");
    RC(tc_store_cursor_next(c, &k, &kl, &v, &vl), 0);
    cr_assert(vl == 3 && memcmp(v, "new", 3) == 0, "then the pending d");
    RC(tc_store_cursor_next(c, &k, &kl, &v, &vl), TC_ENOTFOUND);
    tc_store_cursor_close(c);
    RC(tc_store_commit(t), 0);
    read_expect(s, TC_TABLE_UTXO, "b", "second"); /* summed at the commit: it verifies */
    read_expect(s, TC_TABLE_UTXO, "d", "new");
    RC(tc_store_mem_corrupt(s, TC_TABLE_UTXO, "d", 1), 0);
    RC(tc_store_begin(s, false, &t), 0);
    /* The committed sum still catches a flipped byte. */
    RC(tc_store_get(t, TC_TABLE_UTXO, "d", 1, &v, &vl), TC_ESTORE_CORRUPT);
    tc_store_abort(t);
}

/* The in-memory backend against a plain model: arrays searched linearly and sorted with qsort.
 * Transactions of up to a few hundred operations (past the size where pending operations get an
 * index of their own), many keys sharing 32-byte prefixes (outpoints of one transaction) and
 * short keys that are prefixes of each other, cursor passes between writes in one transaction,
 * and commits, aborts and crashes. */

#define MODEL_MAX 256

typedef struct {
    uint8_t key[36], val[40];
    size_t klen, vlen;
} mrec;

typedef struct {
    mrec r[2][MODEL_MAX]; /* [0]: TC_TABLE_UTXO, [1]: TC_TABLE_LOCKS */
    size_t n[2];
} model;

static const tc_table model_tables[2] = {TC_TABLE_UTXO, TC_TABLE_LOCKS};

static uint32_t rnd(uint64_t *x, uint32_t n);

static size_t model_key(uint64_t *x, uint8_t *k)
{
    if (rnd(x, 2) == 0) {
        static const uint8_t abc[] = {0x00, 0x01, 'a', 0xff};
        size_t n = 1 + rnd(x, 3);
        for (size_t i = 0; i < n; i++)
            k[i] = abc[rnd(x, 4)];
        return n;
    }
    uint32_t txid = rnd(x, 4), index = rnd(x, 16);
    memset(k, (int)(0x10 + 0x31 * txid), 32);
    for (unsigned b = 0; b < 4; b++)
        k[32 + b] = (uint8_t)(index >> (24 - 8 * b));
    return 36;
}

static int mrec_cmp(const void *a_, const void *b_)
{
    const mrec *a = a_, *b = b_;
    int c = memcmp(a->key, b->key, a->klen < b->klen ? a->klen : b->klen);
    if (c != 0)
        return c;
    return a->klen < b->klen ? -1 : a->klen > b->klen ? 1 : 0;
}

static mrec *model_find(model *md, unsigned tb, const uint8_t *k, size_t kn)
{
    for (size_t i = 0; i < md->n[tb]; i++)
        if (md->r[tb][i].klen == kn && memcmp(md->r[tb][i].key, k, kn) == 0)
            return &md->r[tb][i];
    return NULL;
}

/* Walks one table from the start or from a seek, and checks it lists the model in key order. */
static void model_walk(tc_store_txn *t, const model *md, unsigned tb, const uint8_t *seek,
                       size_t sn)
{
    static mrec sorted[MODEL_MAX];
    size_t n = md->n[tb], at = 0;
    memcpy(sorted, md->r[tb], n * sizeof(sorted[0]));
    qsort(sorted, n, sizeof(sorted[0]), mrec_cmp);
    tc_store_cursor *c;
    RC(tc_store_cursor_open(t, model_tables[tb], &c), 0);
    if (seek != NULL) {
        mrec probe = {.klen = sn};
        memcpy(probe.key, seek, sn);
        while (at < n && mrec_cmp(&sorted[at], &probe) < 0)
            at++;
        RC(tc_store_cursor_seek(c, seek, sn), 0);
    }
    for (; at < n; at++) {
        const void *k, *v;
        size_t kl, vl;
        RC(tc_store_cursor_next(c, &k, &kl, &v, &vl), 0);
        cr_assert(kl == sorted[at].klen && memcmp(k, sorted[at].key, kl) == 0,
                  "table %u record %zu of %zu: the key differs from the model's", tb, at, n);
        cr_assert(vl == sorted[at].vlen && memcmp(v, sorted[at].val, vl) == 0,
                  "table %u record %zu of %zu: the value differs from the model's", tb, at, n);
    }
    const void *k, *v;
    size_t kl, vl;
    RC(tc_store_cursor_next(c, &k, &kl, &v, &vl), TC_ENOTFOUND);
    tc_store_cursor_close(c);
}

/* One random operation on the transaction and on the working model. */
static void model_op(tc_store_txn *t, model *md, bool writable, uint64_t *x)
{
    uint8_t k[36], v[40];
    size_t kn = model_key(x, k), vn = rnd(x, sizeof(v) + 1);
    unsigned tb = rnd(x, 2), kind = rnd(x, 20);
    for (size_t i = 0; i < vn; i++)
        v[i] = (uint8_t)rnd(x, 256);
    mrec *r = model_find(md, tb, k, kn);
    if (writable && kind < 9) {
        RC(tc_store_put(t, model_tables[tb], k, kn, v, vn), 0);
        if (r == NULL) {
            cr_assert(md->n[tb] < MODEL_MAX, "the model holds every key");
            r = &md->r[tb][md->n[tb]++];
        }
        *r = (mrec){.klen = kn, .vlen = vn};
        memcpy(r->key, k, kn);
        memcpy(r->val, v, vn);
    } else if (writable && kind < 14) {
        RC(tc_store_del(t, model_tables[tb], k, kn), r != NULL ? 0 : TC_ENOTFOUND);
        if (r != NULL)
            *r = md->r[tb][--md->n[tb]];
    } else if (kind < 18) {
        const void *got;
        size_t gn;
        RC(tc_store_get(t, model_tables[tb], k, kn, &got, &gn), r != NULL ? 0 : TC_ENOTFOUND);
        cr_assert(r == NULL || (gn == r->vlen && memcmp(got, r->val, gn) == 0),
                  "get: the value differs from the model's");
    } else {
        model_walk(t, md, tb, kind == 18 ? NULL : k, kn);
    }
}

Test(store_mem, agrees_with_model_on_random_ops, .init = mem_init, .fini = store_fini)
{
    static model committed, work;
    uint64_t x = 7;
    memset(&committed, 0, sizeof(committed));
    for (unsigned round = 0; round < 400; round++) {
        bool writable = rnd(&x, 10) != 0;
        uint32_t ops = 1 + rnd(&x, rnd(&x, 3) == 0 ? 300 : 12);
        tc_store_txn *t;
        work = committed;
        RC(tc_store_begin(g_store, writable, &t), 0);
        for (uint32_t i = 0; i < ops; i++)
            model_op(t, &work, writable, &x);
        uint32_t end = rnd(&x, 5);
        if (end < 3) {
            RC(tc_store_commit(t), 0);
            if (writable)
                committed = work;
        } else if (end == 3) {
            tc_store_abort(t);
        } else {
            tc_store_mem_crash(g_store); /* t is gone */
        }
        RC(tc_store_begin(g_store, false, &t), 0);
        model_walk(t, &committed, 0, NULL, 0);
        model_walk(t, &committed, 1, NULL, 0);
        RC(tc_store_commit(t), 0);
    }
}

/* Many small indexes, nearly half full, where runs of occupied slots often wrap from the last
 * slot to the first: deleting inside such a run must shift later entries back without leaving
 * any where a probe from its home slot cannot reach it. */
Test(store_mem, deletions_in_wrapping_runs)
{
    uint64_t x = 11;
    for (unsigned round = 0; round < 3000; round++) {
        tc_store *s = tc_store_mem_new();
        cr_assert_not_null(s, "tc_store_mem_new returns a store");
        uint8_t keys[7][2];
        bool live[7];
        tc_store_txn *t;
        RC(tc_store_begin(s, true, &t), 0);
        for (unsigned i = 0; i < 7; i++) {
            bool dup;
            do {
                keys[i][0] = (uint8_t)rnd(&x, 256);
                keys[i][1] = (uint8_t)rnd(&x, 256);
                dup = false;
                for (unsigned j = 0; j < i; j++)
                    dup = dup || memcmp(keys[i], keys[j], 2) == 0;
            } while (dup);
            RC(tc_store_put(t, TC_TABLE_TXIDX, keys[i], 2, keys[i], 2), 0);
            live[i] = true;
        }
        RC(tc_store_commit(t), 0);
        RC(tc_store_begin(s, true, &t), 0);
        for (unsigned i = 0; i < 7; i++) {
            if (rnd(&x, 2) == 0) {
                RC(tc_store_del(t, TC_TABLE_TXIDX, keys[i], 2), 0);
                live[i] = false;
            }
        }
        RC(tc_store_commit(t), 0);
        RC(tc_store_begin(s, false, &t), 0);
        for (unsigned i = 0; i < 7; i++) {
            const void *v;
            size_t n;
            int rc = tc_store_get(t, TC_TABLE_TXIDX, keys[i], 2, &v, &n);
            cr_assert_eq(rc, live[i] ? 0 : TC_ENOTFOUND,
                         "round %u key %u (%s): get returned %d (%s)", round, i,
                         live[i] ? "kept" : "deleted", rc, tc_strerror(rc));
        }
        RC(tc_store_commit(t), 0);
        tc_store_close(s);
    }
}

Test(store_mem, api_on_other_backend_is_a_bug, .init = lmdb_init, .fini = lmdb_fini,
     .signal = SIGABRT)
{
    dir_remove(); /* the abort skips .fini; the open store works on unlinked files */
    tc_store_mem_crash(g_store);
    cr_assert_fail("tc_store_mem_crash on an LMDB store must abort");
}

/* ---- LMDB backend only ---- */

Test(store_lmdb, reopen_keeps_data, .init = dir_make, .fini = dir_remove)
{
    tc_store *s;
    RC(tc_store_lmdb_open(g_dir, 0, &s), 0);
    commit_s(s, TC_TABLE_UTXO, "coin", "50");
    tc_store_close(s);
    RC(tc_store_lmdb_open(g_dir, 0, &s), 0);
    read_expect(s, TC_TABLE_UTXO, "coin", "50");
    tc_store_txn *t;
    RC(tc_store_begin(s, true, &t), 0);
    put_s(t, TC_TABLE_UTXO, "open", "at close");
    tc_store_close(s); /* an open transaction is aborted by close */
    RC(tc_store_lmdb_open(g_dir, 0, &s), 0);
    read_expect(s, TC_TABLE_UTXO, "open", NULL);
    tc_store_close(s);
}

/* In a child: opens the store, commits key=val, and when open_txn also begins a transaction
 * that puts "ghost"; then SIGKILLs itself. Exits 10+ on a failed step (no Criterion here). */
static void child_commit_and_die(const char *key, bool open_txn)
{
    tc_store *s;
    tc_store_txn *t;
    if (tc_store_lmdb_open(g_dir, 0, &s) != 0)
        _exit(10);
    if (tc_store_begin(s, true, &t) != 0 || tc_store_put(t, TC_TABLE_BLOCKS, key, 3, "v", 1))
        _exit(11);
    if (tc_store_commit(t) != 0)
        _exit(12);
    if (open_txn && (tc_store_begin(s, true, &t) != 0 ||
                     tc_store_put(t, TC_TABLE_BLOCKS, "ghost", 5, "boo", 3) != 0))
        _exit(13);
    kill(getpid(), SIGKILL);
    _exit(14);
}

static void run_killed_child(const char *key, bool open_txn)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork succeeds");
    if (pid == 0)
        child_commit_and_die(key, open_txn);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid reaps the child");
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
              "the child died of SIGKILL (status %#x; exit code %d names a failed step)", status,
              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

Test(store_lmdb, commit_survives_kill9, .init = dir_make, .fini = dir_remove)
{
    run_killed_child("h01", false);
    tc_store *s;
    RC(tc_store_lmdb_open(g_dir, 0, &s), 0);
    read_expect(s, TC_TABLE_BLOCKS, "h01", "v");
    tc_store_close(s);
}

Test(store_lmdb, kill9_in_open_txn_leaves_no_trace, .init = dir_make, .fini = dir_remove)
{
    run_killed_child("h01", false);
    run_killed_child("h02", true); /* dies holding LMDB's writer lock */
    tc_store *s;
    tc_store_txn *t;
    RC(tc_store_lmdb_open(g_dir, 0, &s), 0);
    RC(tc_store_begin(s, false, &t), 0);
    expect_scan(t, TC_TABLE_BLOCKS, "h01=v;h02=v;");
    RC(tc_store_commit(t), 0);
    commit_s(s, TC_TABLE_BLOCKS, "h03", "v"); /* the dead writer's lock was recovered */
    read_expect(s, TC_TABLE_BLOCKS, "h03", "v");
    tc_store_close(s);
}

Test(store_lmdb, format_mismatch_refused, .init = dir_make, .fini = dir_remove)
{
    tc_store *s;
    RC(tc_store_lmdb_open(g_dir, 0, &s), 0);
    tc_store_txn *t;
    const void *v;
    size_t n;
    RC(tc_store_begin(s, false, &t), 0);
    RC(tc_store_get(t, TC_TABLE_META, "format", 6, &v, &n), 0);
    cr_assert(n == 4 && memcmp(v, "\0\0\0\1", 4) == 0, "format record is u32 BE 1 (%zu bytes)", n);
    RC(tc_store_commit(t), 0);
    RC(tc_store_begin(s, true, &t), 0);
    RC(tc_store_put(t, TC_TABLE_META, "format", 6, "\0\0\0\2", 4), 0);
    RC(tc_store_commit(t), 0);
    tc_store_close(s);
    s = (tc_store *)&s;
    RC(tc_store_lmdb_open(g_dir, 0, &s), TC_ESTORE_CORRUPT);
    cr_assert_null(s, "a refused open leaves *out NULL (got %p)", (void *)s);
}

Test(store_lmdb, map_full_is_reported, .init = dir_make, .fini = dir_remove)
{
    tc_store *s;
    tc_store_txn *t;
    static uint8_t chunk[64 << 10];
    RC(tc_store_lmdb_open(g_dir, 256 << 10, &s), 0);
    commit_s(s, TC_TABLE_META, "before", "1");
    RC(tc_store_begin(s, true, &t), 0);
    int rc = 0;
    unsigned i;
    for (i = 0; i < 64 && rc == 0; i++) {
        char k[8];
        snprintf(k, sizeof(k), "c%u", i);
        rc = tc_store_put(t, TC_TABLE_BLOCKS, k, strlen(k), chunk, sizeof(chunk));
    }
    cr_assert_eq(rc, TC_ESTORE_MAPFULL, "put %u into a 256 KiB map returned %d (%s)", i, rc,
                 tc_strerror(rc));
    RC(tc_store_put(t, TC_TABLE_META, "x", 1, "y", 1), TC_ESTORE_MAPFULL);
    RC(tc_store_commit(t), TC_ESTORE_MAPFULL);
    read_expect(s, TC_TABLE_META, "before", "1");
    read_expect(s, TC_TABLE_BLOCKS, "c0", NULL);
    tc_store_close(s);
}

Test(store_lmdb, open_on_a_file_fails, .init = dir_make, .fini = dir_remove)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/file", g_dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "fopen %s", path);
    fclose(f);
    tc_store *s;
    RC(tc_store_lmdb_open(path, 0, &s), TC_ESTORE_IO);
    cr_assert_null(s, "a failed open leaves *out NULL (got %p)", (void *)s);
}

Test(store_lmdb, read_txns_reuse_one_handle, .init = lmdb_init, .fini = lmdb_fini)
{
    commit_s(g_store, TC_TABLE_META, "k", "v");
    for (int i = 0; i < 10000; i++)
        read_expect(g_store, TC_TABLE_META, "k", "v");
    tc_store_txn *t;
    RC(tc_store_begin(g_store, false, &t), 0);
    tc_store_abort(t); /* abort also keeps the handle for renewal */
    commit_s(g_store, TC_TABLE_META, "k", "w");
    read_expect(g_store, TC_TABLE_META, "k", "w"); /* a renewed txn sees the newest commit */
}

/* ---- both backends driven by the same random operations must agree ---- */

static uint32_t rnd(uint64_t *x, uint32_t n)
{
    *x = *x * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (uint32_t)((*x >> 33) % n);
}

/* A key of 1 to 3 bytes over {00, 'a', 'b', ff}: few keys, many prefixes and collisions. */
static size_t rnd_key(uint64_t *x, uint8_t *k)
{
    static const uint8_t alphabet[] = {0x00, 'a', 'b', 0xff};
    size_t n = 1 + rnd(x, 3);
    for (size_t i = 0; i < n; i++)
        k[i] = alphabet[rnd(x, 4)];
    return n;
}

/* Walks one table in both transactions in lockstep, from a seek when key is not NULL. */
static void same_walk(tc_store_txn *tm, tc_store_txn *tl, tc_table tb, const uint8_t *key,
                      size_t klen)
{
    tc_store_cursor *cm, *cl;
    RC(tc_store_cursor_open(tm, tb, &cm), 0);
    RC(tc_store_cursor_open(tl, tb, &cl), 0);
    if (key != NULL) {
        RC(tc_store_cursor_seek(cm, key, klen), 0);
        RC(tc_store_cursor_seek(cl, key, klen), 0);
    }
    for (unsigned i = 0;; i++) {
        const void *km, *kl, *vm, *vl;
        size_t kml, kll, vml, vll;
        int rm = tc_store_cursor_next(cm, &km, &kml, &vm, &vml);
        int rl = tc_store_cursor_next(cl, &kl, &kll, &vl, &vll);
        cr_assert_eq(rm, rl, "record %u: mem next %d, lmdb next %d", i, rm, rl);
        if (rm != 0)
            break;
        cr_assert(kml == kll && memcmp(km, kl, kml) == 0, "record %u: keys differ", i);
        cr_assert(vml == vll && memcmp(vm, vl, vml) == 0, "record %u: values differ", i);
    }
    tc_store_cursor_close(cm);
    tc_store_cursor_close(cl);
}

/* One random operation on both transactions; the results must match. */
static void same_op(tc_store_txn *tm, tc_store_txn *tl, uint64_t *x)
{
    uint8_t k[3], v[24];
    size_t kn = rnd_key(x, k), vn = rnd(x, sizeof(v) + 1);
    tc_table tb = rnd(x, 2) ? TC_TABLE_UTXO : TC_TABLE_SPENT;
    uint32_t kind = rnd(x, 10);
    for (size_t i = 0; i < vn; i++)
        v[i] = (uint8_t)rnd(x, 256);
    if (kind < 5) {
        RC(tc_store_put(tm, tb, k, kn, v, vn), 0);
        RC(tc_store_put(tl, tb, k, kn, v, vn), 0);
    } else if (kind < 8) {
        int rm = tc_store_del(tm, tb, k, kn), rl = tc_store_del(tl, tb, k, kn);
        cr_assert_eq(rm, rl, "del: mem %d, lmdb %d", rm, rl);
    } else {
        const void *pm, *pl;
        size_t nm, nl;
        int rm = tc_store_get(tm, tb, k, kn, &pm, &nm), rl = tc_store_get(tl, tb, k, kn, &pl, &nl);
        cr_assert_eq(rm, rl, "get: mem %d, lmdb %d", rm, rl);
        cr_assert(nm == nl && (nm == 0 || memcmp(pm, pl, nm) == 0), "get: values differ");
    }
}

Test(store_lmdb, agrees_with_mem_on_random_ops, .init = lmdb_init, .fini = lmdb_fini)
{
    tc_store *m = tc_store_mem_new();
    cr_assert_not_null(m, "tc_store_mem_new returns a store");
    uint64_t x = 42;
    for (unsigned round = 0; round < 400; round++) {
        tc_store_txn *tm, *tl;
        RC(tc_store_begin(m, true, &tm), 0);
        RC(tc_store_begin(g_store, true, &tl), 0);
        for (uint32_t n = 1 + rnd(&x, 30); n > 0; n--)
            same_op(tm, tl, &x);
        uint8_t k[3];
        size_t kn = rnd_key(&x, k);
        same_walk(tm, tl, TC_TABLE_UTXO, NULL, 0);
        same_walk(tm, tl, TC_TABLE_SPENT, k, kn);
        if (rnd(&x, 4) == 0) {
            tc_store_abort(tm);
            tc_store_abort(tl);
        } else {
            RC(tc_store_commit(tm), 0);
            RC(tc_store_commit(tl), 0);
        }
    }
    tc_store_txn *tm, *tl;
    RC(tc_store_begin(m, false, &tm), 0);
    RC(tc_store_begin(g_store, false, &tl), 0);
    same_walk(tm, tl, TC_TABLE_UTXO, NULL, 0);
    same_walk(tm, tl, TC_TABLE_SPENT, NULL, 0);
    RC(tc_store_commit(tm), 0);
    RC(tc_store_commit(tl), 0);
    tc_store_close(m);
}
