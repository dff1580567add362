/* store.h — the small synchronous storage interface the core runs on (DESIGN.md), and its two
 * backends: LMDB for real nodes (and `storage lmdb` in the simulator), and an in-memory backend
 * for the simulator that can lose uncommitted writes at a simulated crash and inject faults.
 *
 * Model: a store holds a fixed set of tables (tc_table), each an ordered map from byte-string
 * keys to byte-string values, compared as unsigned bytes (memcmp, shorter first on a tie) like
 * LMDB's default. All access happens inside a transaction. At most one transaction is open on a
 * store at a time (the core is single-threaded); a read-write transaction either commits whole
 * or leaves no trace (atomicity), and a committed transaction survives a crash (durability: LMDB
 * syncs on commit; the in-memory backend models a crash as "keep what was committed").
 *
 * Pointer lifetimes: a value returned by tc_store_get or by a cursor points into the backend's
 * memory and stays valid until the next put, del, commit or abort on the same store. Callers that
 * keep a value copy it.
 *
 * Errors: every function returns 0 or a negative code. TC_ENOTFOUND for a missing key;
 * TC_ESTORE_TXN for misuse (put in a read-only transaction, begin while one is open);
 * TC_ESTORE_IO, TC_ESTORE_MAPFULL, TC_ESTORE_CORRUPT, TC_ESTORE_FAULT for backend failures.
 * After a failed put or del the transaction can only be aborted: commit returns the first error.
 */
#ifndef TC_STORE_H
#define TC_STORE_H

#include "base.h"

/* The tables. Adding one is a format change: bump TC_STORE_FORMAT_VERSION. */
typedef enum {
    TC_TABLE_META = 0,     /* chain tip, supply counters, format version, node state */
    TC_TABLE_UTXO = 1,     /* outpoint -> unspent output and its lock state */
    TC_TABLE_SPENT = 2,    /* outpoint -> (txid, height) of the confirmed spend */
    TC_TABLE_BLOCKS = 3,   /* height (u64 big-endian) -> encoded block */
    TC_TABLE_BLOCKIDX = 4, /* block hash -> height */
    TC_TABLE_TXIDX = 5,    /* txid -> height of the confirming block */
    TC_TABLE_MN = 6,       /* masternode key -> registry record */
    TC_TABLE_LOCKS = 7,    /* consensus-side durable state: input locks, last-signed votes */
    TC_TABLE_EVIDENCE = 8, /* evidence seen, keyed by its hash */
    TC_TABLE_COUNT = 9,
} tc_table;

#define TC_STORE_FORMAT_VERSION 1
#define TC_STORE_KEY_MAX        511         /* LMDB's default key limit */
#define TC_STORE_VALUE_MAX      (64u << 20) /* no single record may exceed 64 MiB */

typedef struct tc_store tc_store;
typedef struct tc_store_txn tc_store_txn;
typedef struct tc_store_cursor tc_store_cursor;

/* Backend operations; a store is a vtable plus the backend's state. Drivers and tests use the
 * tc_store_* functions below, never these directly. */
typedef struct {
    int (*begin)(tc_store *s, bool writable, tc_store_txn **out);
    int (*get)(tc_store_txn *t, tc_table table, const void *key, size_t klen, const void **val,
               size_t *vlen);
    int (*put)(tc_store_txn *t, tc_table table, const void *key, size_t klen, const void *val,
               size_t vlen);
    int (*del)(tc_store_txn *t, tc_table table, const void *key, size_t klen);
    int (*commit)(tc_store_txn *t);
    void (*abort)(tc_store_txn *t);
    int (*cursor_open)(tc_store_txn *t, tc_table table, tc_store_cursor **out);
    int (*cursor_seek)(tc_store_cursor *c, const void *key, size_t klen);
    int (*cursor_next)(tc_store_cursor *c, const void **key, size_t *klen, const void **val,
                       size_t *vlen);
    void (*cursor_close)(tc_store_cursor *c);
    void (*close)(tc_store *s);
} tc_store_ops;

struct tc_store {
    const tc_store_ops *ops;
};

/* Begins a transaction. writable = false gives a read-only snapshot. */
int tc_store_begin(tc_store *s, bool writable, tc_store_txn **out);
/* TC_ENOTFOUND when the key is absent. *val is valid until the next write or the txn's end. */
int tc_store_get(tc_store_txn *t, tc_table table, const void *key, size_t klen, const void **val,
                 size_t *vlen);
/* Inserts or replaces. TC_EINVAL for an empty or over-long key or an over-long value. */
int tc_store_put(tc_store_txn *t, tc_table table, const void *key, size_t klen, const void *val,
                 size_t vlen);
/* Deletes; TC_ENOTFOUND when the key is absent. */
int tc_store_del(tc_store_txn *t, tc_table table, const void *key, size_t klen);
/* Commits and ends the transaction (it is freed whatever the result). A read-only transaction
 * commits trivially. On failure nothing of the transaction is visible. */
int tc_store_commit(tc_store_txn *t);
/* Discards and ends the transaction. */
void tc_store_abort(tc_store_txn *t);

/* Cursors iterate one table in key order within a transaction. After open, the cursor stands
 * before the first key; seek moves it before the first key >= the given one. next returns
 * TC_ENOTFOUND at the end. A cursor must be closed before its transaction ends, and a write to
 * the transaction invalidates it (reopen after writing). */
int tc_store_cursor_open(tc_store_txn *t, tc_table table, tc_store_cursor **out);
int tc_store_cursor_seek(tc_store_cursor *c, const void *key, size_t klen);
int tc_store_cursor_next(tc_store_cursor *c, const void **key, size_t *klen, const void **val,
                         size_t *vlen);
void tc_store_cursor_close(tc_store_cursor *c);

/* Closes the store; an open transaction is aborted first. */
void tc_store_close(tc_store *s);

/* ---- In-memory backend (simulator) ---- */

typedef struct {
    /* Fault injection. Counting starts at 1: fail_nth_write = 3 makes the third put/del after the
     * setting fail with TC_ESTORE_FAULT (and every write after it while fail_sticky is set).
     * 0 disables. fail_nth_commit likewise fails a commit (and discards the transaction). */
    uint64_t fail_nth_write;
    uint64_t fail_nth_commit;
    bool fail_sticky;
} tc_store_mem_faults;

/* Returns NULL on allocation failure. */
tc_store *tc_store_mem_new(void);
/* Replaces the fault settings and restarts their counters. */
void tc_store_mem_set_faults(tc_store *s, const tc_store_mem_faults *f);
/* Simulated crash: an open transaction is lost as if the process died; committed data stays. */
void tc_store_mem_crash(tc_store *s);
/* Flips one byte of the stored value under (table, key) so that the next read of it fails its
 * checksum with TC_ESTORE_CORRUPT. Returns TC_ENOTFOUND if absent. */
int tc_store_mem_corrupt(tc_store *s, tc_table table, const void *key, size_t klen);
/* Writes counted so far (puts + dels), for "fail the Nth write" loops. */
uint64_t tc_store_mem_write_count(const tc_store *s);

/* ---- LMDB backend (real nodes) ---- */

/* Opens (creating if needed) an LMDB environment in directory path, with map_size bytes of
 * address space (0: 1 GiB). Returns 0, TC_ESTORE_IO, TC_ENOMEM, TC_ESTORE_MAPFULL, or
 * TC_ESTORE_CORRUPT (another format version, or LMDB found the file damaged); *out is NULL on
 * failure. */
int tc_store_lmdb_open(const char *path, size_t map_size, tc_store **out);

#endif
