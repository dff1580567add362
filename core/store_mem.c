/* store_mem.c — the in-memory store backend the simulator runs on, with fault injection.
 *
 * Owns: per table, the committed records in an open-addressing hash index, and a key-ordered
 * view of them built only when a cursor needs one; the open transaction's pending operations
 * (one per key written: a put's new record, or a tombstone for a del) in an array with a hash
 * index over it, and per table a key-ordered list of them built when a cursor needs one; the
 * open transaction's cursors; the fault settings and their counters.
 *
 * Why this shape: the simulator runs every node on this backend, and nearly all its traffic is
 * point gets and puts of 36-byte outpoints in transactions of a handful of operations; a cursor
 * is rare (integrity checks, an epoch's vote records, the registry). So a get, put, del and each
 * operation of a commit cost a hash probe or two, and only cursors pay for order.
 *
 * Invariants:
 * - Key order (unsigned bytes, shorter first on a tie, as LMDB) is the only order anything
 *   observable follows: cursors walk key-sorted views. The hash is a fixed function without a
 *   seed and only decides which slot holds a record, which nothing outside this file can see;
 *   nothing depends on addresses (DESIGN.md determinism rule 2).
 * - A committed index holds at most one record per key and is at most half full, so a probe
 *   meets an empty slot within a few steps. A deletion shifts the entries after it back, so there
 *   are no deleted-slot markers and chains stay as short as if the key had never been there.
 * - A table's view, while valid, lists exactly its committed records in key order. Only a commit
 *   changes committed records, and it frees the view of every table it touches; no cursor can be
 *   open across a commit, so no cursor sees a stale view.
 * - Committed indexes change only inside a commit that passed its fault check, and that commit
 *   allocates nothing: pending records become committed records as they are, and a put of a key
 *   absent from the committed index reserves its slot in advance, growing the index then, while
 *   a failure can still be returned. So a commit applies every operation of its transaction or
 *   none (atomicity). The memory held is the committed records and their indexes, the views
 *   cursors asked for since the last commit, the open transaction's operations, and what the
 *   record pool and the operation array kept from the largest state and transaction so far.
 * - At most one transaction is open: the store points to it and it to its open cursors, so a
 *   simulated crash can free everything the dead process held.
 *
 * Checksum: every committed record carries one, set when its transaction commits and verified
 * on every read of it (get and cursor), so a flipped byte (tc_store_mem_corrupt, which reaches
 * committed records only) reads as TC_ESTORE_CORRUPT. A pending record (the open transaction's
 * own write) has none yet and is read unchecked: it lives in this process's memory for one
 * transaction, and most transactions that write are checks and block builds that roll back, so
 * summing at the put was about half of the store's checksum work for nothing. keyhash() folds
 * the key's 8-byte words into a state by steps that are each a bijection of the state for a fixed
 * word and of the word for a fixed state, then applies a bijective finalizer; so two keys that
 * differ within one word hash differently. The record's checksum (valsum) starts four lanes from
 * that key hash and the two lengths, folds the value's words into them round-robin with the same
 * step, and finalizes the lanes' sum (a bijection of each lane while the others are fixed). So
 * any change confined to one 8-byte word of the key or the value, in particular any flipped byte,
 * changes the checksum. A get compares the stored key with the caller's byte for byte, so it
 * reuses the caller's key hash and only folds the value; a cursor recomputes both. A get that
 * meets a record under the right hash but with another key checks that record whole, so a flipped
 * key byte is reported rather than read as absence. The lengths are folded in too, but a flipped
 * length can send the check past the record's bytes, as it could before. A checksum, not a
 * defence against attack.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(TC_STORE_KEY_MAX <= UINT32_MAX, "a key length fits a record's u32");
_Static_assert(TC_STORE_VALUE_MAX <= UINT32_MAX, "a value length fits a record's u32");

#define NONE         SIZE_MAX
#define TAB_MIN      16 /* slots of a committed index when it first gets a record */
#define PEND_MIN     64 /* slots of the pending index when a transaction first writes */
#define OPS_MIN      16
#define FILTER_BITS  8192 /* the pending filter: 1 KiB */
#define SCAN_MAX     8    /* operations a transaction finds by scanning before it builds an index */
#define POOL_CLASSES 16   /* pooled record blocks: 16, 32, ..., 256 bytes */
#define SLAB_BYTES   (64u << 10)                  /* what a pool carves new blocks from */
#define MUL1         UINT64_C(0x9e3779b97f4a7c15) /* odd: multiplying by it is a bijection */
#define MUL2         UINT64_C(0xd6e8feb86659fd93) /* odd */

typedef struct {
    uint64_t sum; /* valsum(keyhash(key), lengths, value) once committed; 0 while pending */
    uint32_t klen;
    uint32_t vlen;
    uint8_t data[]; /* the key, then the value */
} rec;

/* A committed index slot, empty (all zero) when its tag is 0. h = keyhash(r's key), kept so a
 * probe skips other keys without touching their records and a rehash needs no record at all. */
typedef struct {
    uint64_t h;
    rec *r;
} slot;

/* One entry of a key-ordered view or pending list. */
typedef struct {
    uint64_t pre; /* the key's first 8 bytes big-endian, zero-padded: decides most comparisons */
    const rec *r; /* the record holding the key */
    size_t id;    /* pending lists: the operation's index */
} ent;

typedef struct {
    slot *slots;
    uint8_t *tags; /* per slot: 0 when empty, else tag_of(h); in the same allocation as slots */
    size_t cap;    /* 0 or a power of two */
    size_t count;  /* records held, at most cap / 2 */
    ent *view;     /* the records in key order while view_ok (NULL when there are none) */
    size_t view_count;
    bool view_ok;
} tab;

/* A pending operation: the open transaction's last word on one key. */
typedef struct {
    uint64_t h;
    rec *cur;  /* owned: the last put's record, kept after a later del for its key bytes; NULL
                * for a del of a committed key the transaction never put */
    rec *base; /* the committed record under the key, fixed for the transaction; NULL if none */
    tc_table table;
    bool tomb; /* the transaction deletes the key */
} op;

/* A pending index slot, 8 bytes so that a block's index touches few cache lines: the top half
 * of the key's hash (the bottom half picked the slot) and the operation's index plus one, 0
 * meaning empty. */
typedef struct {
    uint32_t hi;
    uint32_t id1;
} pslot;

/* A free record block in the pool. */
typedef struct blk {
    struct blk *next;
} blk;

/* A slab the pool carves blocks from; freed only when the store closes. */
typedef struct slab {
    struct slab *next;
    uint64_t align[]; /* the blocks, aligned as a record needs */
} slab;

typedef struct mtxn mtxn;
typedef struct mcur mcur;

struct mcur {
    tc_store *store; /* first: store.c dispatches through it */
    mtxn *txn;
    mcur *prev;
    mcur *next;
    tc_table table;
    uint64_t writes; /* the transaction's write count at open: a later write is a caller bug */
    size_t vi;       /* the next entry of the table's committed view */
    size_t pi;       /* the next entry of the transaction's pending list for the table */
};

struct mtxn {
    tc_store *store; /* first: store.c dispatches through it */
    bool writable;
    int err;         /* the first failed write: the transaction can then only end */
    uint64_t writes; /* put and del calls so far, to catch cursors used across one */
    mcur *cursors;
    size_t cursor_count;
    size_t reserved[TC_TABLE_COUNT]; /* committed slots held for keys new to each table */
    ent *plist[TC_TABLE_COUNT];      /* each table's pending operations in key order, */
    size_t plist_count[TC_TABLE_COUNT];
    size_t plist_upto[TC_TABLE_COUNT]; /* as of operation plist_upto (the last cursor open) */
};

typedef struct {
    tc_store base; /* first: a tc_store * converts to this */
    tab tabs[TC_TABLE_COUNT];
    /* Transactions alternate between two slots, so beginning one costs no allocation and a
     * handle to the one before still fails txn_of's check. */
    mtxn txn_slot[2];
    unsigned txn_next;
    mtxn *txn; /* the open transaction or NULL */
    /* The open transaction's operations, in the order first written, and their index. Kept
     * between transactions so that a small one allocates nothing. */
    op *ops;
    size_t op_count;
    size_t op_cap;
    pslot *pend;
    size_t pend_cap; /* 0 or a power of two, at least twice op_count while indexed */
    bool indexed;    /* the index holds the open transaction's operations (more than SCAN_MAX) */
    /* One bit per filter_bit(h) of every operation's key: a large transaction (a block) mostly
     * reads keys it has not written, and a clear bit answers that from 1 KiB that stays in
     * cache, where the index probe would miss. */
    uint64_t filter[FILTER_BITS / 64];
    /* Records of up to 256 bytes live in slabs: a free list per size class, refilled by
     * carving the newest slab. Commits free records by the thousand, more than the C library's
     * per-thread cache keeps, and the store grows by tens of thousands, and the library's slower
     * paths then cost more than the rest of a put; here either costs a few instructions. The
     * price: slab memory returns to the system only at close, so a store holds the most records
     * of each class it ever held at once. */
    blk *pool[POOL_CLASSES];
    slab *slabs;
    uint8_t *carve;    /* the unused end of the newest slab */
    size_t carve_size; /* bytes there */
    tc_store_mem_faults faults;
    uint64_t write_seq;  /* puts and dels since the faults were set */
    uint64_t commit_seq; /* read-write commits since the faults were set */
    uint64_t write_total;
} mem;

static const tc_store_ops mem_ops;

/* ---- hashing and checksums ---- */

static uint64_t step(uint64_t s, uint64_t w)
{
    /* An xor, a multiplication by an odd constant and an xor-shift are each a bijection, so the
     * step is one of s for a fixed w and of w for a fixed s; the shift carries high bits down,
     * which the multiplication alone never does. */
    s = (s ^ w) * MUL1;
    return s ^ (s >> 32);
}

static uint64_t finish(uint64_t s)
{
    /* Bijective as well; spreads every bit over the low bits that pick a slot. */
    s ^= s >> 31;
    s *= MUL2;
    s ^= s >> 29;
    s *= MUL1;
    return s ^ (s >> 32);
}

static uint64_t word(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    return w;
}

/* The last 1..7 bytes as a zero-padded word: a 4-, 2- and 1-byte piece, each present or not,
 * in disjoint bits, so the word still determines the bytes. (A memcpy of a variable length
 * would be a library call, a byte loop up to seven rounds, on the hottest path.) */
static uint64_t tail(const uint8_t *p, size_t n)
{
    TC_ASSERT(n > 0 && n < 8);
    uint64_t w = 0;
    unsigned at = 0;
    if (n & 4) {
        uint32_t x;
        memcpy(&x, p, sizeof(x));
        w = x;
        p += 4;
        at = 32;
    }
    if (n & 2) {
        uint16_t x;
        memcpy(&x, p, sizeof(x));
        w |= (uint64_t)x << at;
        p += 2;
        at += 16;
    }
    if (n & 1)
        w |= (uint64_t)p[0] << at;
    return w;
}

static uint64_t rotl(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t keyhash(const uint8_t *k, size_t n)
{
    uint64_t s = step(MUL2, n);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        s = step(s, word(k + i));
    if (i < n)
        s = step(s, tail(k + i, n - i));
    return finish(s);
}

/* The checksum of a record whose key hashes to h. Four independent lanes let the multiplications
 * overlap; which lane a word enters depends only on its position. */
static uint64_t valsum(uint64_t h, size_t klen, const uint8_t *v, size_t n)
{
    uint64_t a = h, b = step(MUL1, n), c = step(MUL2, klen), d = MUL1 ^ MUL2;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a = step(a, word(v + i));
        b = step(b, word(v + i + 8));
        c = step(c, word(v + i + 16));
        d = step(d, word(v + i + 24));
    }
    /* Under 32 bytes left: whole words to a, b, c in turn, then the tail to the next lane. */
    size_t r = n - i;
    uint64_t t = r % 8 != 0 ? tail(v + i + r / 8 * 8, r % 8) : 0;
    if (r >= 8)
        a = step(a, word(v + i));
    if (r >= 16)
        b = step(b, word(v + i + 8));
    if (r >= 24)
        c = step(c, word(v + i + 16));
    if (r % 8 != 0) {
        if (r < 8)
            a = step(a, t);
        else if (r < 16)
            b = step(b, t);
        else if (r < 24)
            c = step(c, t);
        else
            d = step(d, t);
    }
    return finish(a + rotl(b, 16) + rotl(c, 32) + rotl(d, 48));
}

static bool intact(const rec *r)
{
    uint64_t h = keyhash(r->data, r->klen);
    return r->sum == valsum(h, r->klen, r->data + r->klen, r->vlen);
}

/* ---- record memory ---- */

/* Under AddressSanitizer the pool is off, so a caller that keeps a value past its lifetime
 * (store.h) still reads freed memory and is caught, instead of reading a recycled record. */
#if defined(__SANITIZE_ADDRESS__)
#define POOLING 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOLING 0
#endif
#endif
#ifndef POOLING
#define POOLING 1
#endif

/* The pool class of a record of this size, or POOL_CLASSES when it is too big to pool. */
static size_t pool_class(size_t size)
{
    TC_ASSERT(size > 0);
    size_t c = (size - 1) / 16;
    return POOLING && c < POOL_CLASSES ? c : POOL_CLASSES;
}

static rec *rec_alloc(mem *m, size_t size)
{
    size_t c = pool_class(size), block = (c + 1) * 16;
    if (c == POOL_CLASSES)
        return tc_malloc(size);
    blk *b = m->pool[c];
    if (b != NULL) {
        m->pool[c] = b->next;
        return (rec *)(void *)b;
    }
    if (m->carve_size < block) {
        /* The rest of the old slab (under 256 bytes) is left unused. */
        slab *sl = tc_malloc(sizeof(*sl) + SLAB_BYTES);
        if (sl == NULL)
            return NULL;
        sl->next = m->slabs;
        m->slabs = sl;
        m->carve = (uint8_t *)sl->align;
        m->carve_size = SLAB_BYTES;
    }
    rec *r = (rec *)(void *)m->carve;
    m->carve += block;
    m->carve_size -= block;
    return r;
}

static void rec_free(mem *m, rec *r)
{
    if (r == NULL)
        return;
    size_t c = pool_class(sizeof(*r) + r->klen + r->vlen);
    if (c == POOL_CLASSES) {
        free(r);
        return;
    }
    blk *b = (blk *)(void *)r;
    b->next = m->pool[c];
    m->pool[c] = b;
}

/* Frees every slab, and with them every pooled record, free or not. */
static void pool_drain(mem *m)
{
    while (m->slabs != NULL) {
        slab *sl = m->slabs;
        m->slabs = sl->next;
        free(sl);
    }
    memset(m->pool, 0, sizeof(m->pool));
    m->carve = NULL;
    m->carve_size = 0;
}

static rec *rec_new(mem *m, uint64_t h, const void *key, size_t klen, const void *val, size_t vlen)
{
    TC_ASSERT(key != NULL && klen > 0 && klen <= TC_STORE_KEY_MAX);
    TC_ASSERT(vlen <= TC_STORE_VALUE_MAX && (val != NULL || vlen == 0));
    rec *r = rec_alloc(m, sizeof(*r) + klen + vlen);
    if (r == NULL)
        return NULL;
    r->klen = (uint32_t)klen;
    r->vlen = (uint32_t)vlen;
    (void)h;
    memcpy(r->data, key, klen);
    if (vlen > 0)
        memcpy(r->data + klen, val, vlen);
    r->sum = 0; /* summed when its transaction commits (op_apply) */
    return r;
}

static bool key_is(const rec *r, const void *key, size_t klen)
{
    return r->klen == klen && memcmp(r->data, key, klen) == 0;
}

/* ---- key order ---- */

static int cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Zero padding keeps prefix order consistent with cmp. At the first byte where two prefixes
 * differ, either both keys have that byte and memcmp decides the same way, or one key has ended
 * and its padding 0 is below the other's nonzero byte; then every byte before agreed, so the key
 * that ended is a prefix of the other and sorts first under cmp too. */
static uint64_t prefix(const uint8_t *k, size_t n)
{
    uint64_t p = 0;
    for (size_t i = 0; i < 8; i++)
        p = (p << 8) | (i < n ? k[i] : 0u);
    return p;
}

static ent ent_of(const rec *r, size_t id)
{
    return (ent){.pre = prefix(r->data, r->klen), .r = r, .id = id};
}

/* Orders an entry against a key whose prefix is pre. */
static int ent_cmp_key(const ent *e, uint64_t pre, const uint8_t *key, size_t klen)
{
    if (e->pre != pre)
        return e->pre < pre ? -1 : 1;
    return cmp(e->r->data, e->r->klen, key, klen);
}

static int ent_cmp(const ent *a, const ent *b)
{
    /* One record is one key. A cursor meets this tie at every tombstone of a committed key, whose
     * key is the committed record itself, and keys sharing their first 8 bytes (the LOCKS
     * table's) would otherwise cost a full comparison each time. */
    if (a->r == b->r)
        return 0;
    return ent_cmp_key(a, b->pre, b->r->data, b->r->klen);
}

/* Merges two sorted runs of distinct keys into out. */
static void merge(const ent *x, size_t xn, const ent *y, size_t yn, ent *out)
{
    size_t i = 0, j = 0, k = 0;
    while (i < xn && j < yn)
        out[k++] = ent_cmp(&y[j], &x[i]) < 0 ? y[j++] : x[i++];
    while (i < xn)
        out[k++] = x[i++];
    while (j < yn)
        out[k++] = y[j++];
}

/* Sorts a[0..n) by key, tmp being scratch of the same size: a bottom-up merge sort, so the time
 * is O(n log n) whatever the input and no recursion is needed. */
static void ent_sort(ent *a, ent *tmp, size_t n)
{
    ent *src = a, *dst = tmp;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            merge(src + lo, mid - lo, src + mid, hi - mid, dst + lo);
        }
        ent *swap = src;
        src = dst;
        dst = swap;
    }
    if (src != a)
        memcpy(a, src, n * sizeof(*a));
    for (size_t i = 1; i < n; i++)
        TC_ASSERT(ent_cmp(&a[i - 1], &a[i]) < 0); /* distinct keys, strictly ascending */
}

/* The first entry whose key is >= key. */
static size_t lower_bound(const ent *e, size_t n, const uint8_t *key, size_t klen)
{
    uint64_t pre = prefix(key, klen);
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ent_cmp_key(&e[mid], pre, key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- committed indexes ---- */

/* A slot's one-byte summary: 7 bits of the hash (not those that pick the slot) and a set top
 * bit, so 0 means empty. The tags are a sixteenth of the slots' size and stay in cache where the
 * slots do not: a probe reads a slot only when its tag matches, and a key that is absent, as
 * about half of all gets are, usually costs no slot read at all. */
static uint8_t tag_of(uint64_t h)
{
    return (uint8_t)((h >> 57) | 0x80);
}

/* Starts loading where a probe for h begins: the index is probed at random, so the loads miss
 * the cache, and the caller has other work to overlap them with. */
static void tab_prefetch(const tab *t, uint64_t h)
{
#if defined(__GNUC__) || defined(__clang__)
    if (t->cap > 0) {
        __builtin_prefetch(&t->tags[(size_t)h & (t->cap - 1)]);
        __builtin_prefetch(&t->slots[(size_t)h & (t->cap - 1)]);
    }
#else
    (void)t;
    (void)h;
#endif
}

/* The slot holding key, or NONE. When corrupt is not NULL, a record met under the same hash but
 * with another key is checked whole, and *corrupt is set if it fails: its key bytes may be what
 * was flipped, and the caller should not report the key absent. */
static size_t tab_find(const tab *t, uint64_t h, const void *key, size_t klen, bool *corrupt)
{
    if (t->count == 0)
        return NONE;
    uint8_t tag = tag_of(h);
    size_t mask = t->cap - 1, i = (size_t)h & mask;
    for (size_t n = 0;; n++, i = (i + 1) & mask) {
        TC_ASSERT(n < t->cap); /* at most half full: an empty slot comes first */
        if (t->tags[i] == 0)
            return NONE;
        if (t->tags[i] != tag || t->slots[i].h != h)
            continue;
        const rec *r = t->slots[i].r;
        if (key_is(r, key, klen))
            return i;
        if (corrupt != NULL && !intact(r))
            *corrupt = true;
    }
}

/* The slot holding record r, whose key hashes to h. */
static size_t tab_slot_of(const tab *t, uint64_t h, const rec *r)
{
    size_t mask = t->cap - 1, i = (size_t)h & mask;
    for (size_t n = 0; t->slots[i].r != r; n++, i = (i + 1) & mask)
        TC_ASSERT(n < t->cap && t->tags[i] != 0); /* r is in the index */
    return i;
}

static void tab_place(slot *slots, uint8_t *tags, size_t cap, uint64_t h, rec *r)
{
    size_t mask = cap - 1, i = (size_t)h & mask;
    while (tags[i] != 0)
        i = (i + 1) & mask;
    slots[i] = (slot){.h = h, .r = r};
    tags[i] = tag_of(h);
}

/* Makes room for need records within the half-full bound. The only place an index grows. */
static int tab_reserve(tab *t, size_t need)
{
    if (need <= t->cap / 2)
        return 0;
    size_t cap = t->cap == 0 ? TAB_MIN : t->cap;
    while (cap / 2 < need)
        cap *= 2;
    slot *slots = tc_calloc(cap, sizeof(*slots) + 1);
    if (slots == NULL)
        return TC_ENOMEM;
    uint8_t *tags = (uint8_t *)(slots + cap);
    for (size_t i = 0; i < t->cap; i++)
        if (t->tags[i] != 0)
            tab_place(slots, tags, cap, t->slots[i].h, t->slots[i].r);
    free(t->slots);
    t->slots = slots;
    t->tags = tags;
    t->cap = cap;
    TC_ASSERT(t->count <= cap / 2);
    return 0;
}

static void tab_insert(tab *t, uint64_t h, rec *r)
{
    TC_ASSERT(t->count + 1 <= t->cap / 2); /* the put that made r reserved the room */
    tab_place(t->slots, t->tags, t->cap, h, r);
    t->count++;
}

/* Empties slot i and shifts back every later entry of its run that may sit there: one whose
 * home slot is not cyclically within (i, j]. */
static void tab_remove(tab *t, size_t i)
{
    size_t mask = t->cap - 1;
    TC_ASSERT(t->count > 0 && t->tags[i] != 0);
    for (size_t j = (i + 1) & mask; t->tags[j] != 0; j = (j + 1) & mask) {
        size_t home = (size_t)t->slots[j].h & mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            t->slots[i] = t->slots[j];
            t->tags[i] = t->tags[j];
            i = j;
        }
    }
    t->slots[i] = (slot){0};
    t->tags[i] = 0;
    t->count--;
}

static void view_drop(tab *t)
{
    free(t->view);
    t->view = NULL;
    t->view_count = 0;
    t->view_ok = false;
}

/* Builds the table's key-ordered view unless it is valid already. */
static int view_build(tab *t)
{
    if (t->view_ok)
        return 0;
    TC_ASSERT(t->view == NULL);
    size_t n = t->count, j = 0;
    if (n > 0) {
        ent *v = tc_malloc(n * sizeof(*v)), *tmp = tc_malloc(n * sizeof(*tmp));
        if (v == NULL || tmp == NULL) {
            free(v);
            free(tmp);
            return TC_ENOMEM;
        }
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i].r != NULL)
                v[j++] = ent_of(t->slots[i].r, 0);
        TC_ASSERT(j == n);
        ent_sort(v, tmp, n);
        free(tmp);
        t->view = v;
    }
    t->view_count = n;
    t->view_ok = true;
    return 0;
}

/* ---- pending operations ---- */

static mem *mem_of(tc_store *s)
{
    TC_ASSERT(s != NULL && s->ops == &mem_ops); /* a tc_store_mem_* call on another backend */
    return (mem *)s;
}

static mtxn *txn_of(tc_store_txn *t_)
{
    mtxn *t = (mtxn *)t_;
    TC_ASSERT(t != NULL && mem_of(t->store)->txn == t); /* a stale handle is a caller bug */
    return t;
}

/* The record whose bytes hold an operation's key. */
static const rec *op_key(const op *o)
{
    TC_ASSERT(o->cur != NULL || o->base != NULL);
    return o->cur != NULL ? o->cur : o->base;
}

static size_t pend_home(uint64_t h, tc_table table)
{
    /* One index serves every table: the table moves the home slot, and a match needs it. */
    return (size_t)(h ^ ((uint64_t)table * MUL1));
}

/* Hash bits that neither pick a slot (low bits) nor make a tag (top bits). */
static size_t filter_bit(uint64_t h)
{
    return (size_t)(h >> 40) % FILTER_BITS;
}

static bool op_is(const op *o, tc_table table, uint64_t h, const void *key, size_t klen)
{
    return o->h == h && o->table == table && key_is(op_key(o), key, klen);
}

/* The index of the open transaction's operation on (table, key), or NONE. A transaction of a
 * few operations scans them: the array is hot in cache, where a probe of an index sized for the
 * largest transaction so far would miss. */
static size_t pend_find(const mem *m, tc_table table, uint64_t h, const void *key, size_t klen)
{
    if (!m->indexed) {
        TC_ASSERT(m->op_count <= SCAN_MAX);
        for (size_t id = 0; id < m->op_count; id++)
            if (op_is(&m->ops[id], table, h, key, klen))
                return id;
        return NONE;
    }
    size_t bit = filter_bit(h);
    if ((m->filter[bit / 64] >> (bit % 64) & 1) == 0)
        return NONE;
    size_t mask = m->pend_cap - 1, i = pend_home(h, table) & mask;
    for (size_t n = 0;; n++, i = (i + 1) & mask) {
        TC_ASSERT(n < m->pend_cap); /* at most half full: an empty slot comes first */
        const pslot *s = &m->pend[i];
        if (s->id1 == 0)
            return NONE;
        if (s->hi == (uint32_t)(h >> 32) && op_is(&m->ops[s->id1 - 1], table, h, key, klen))
            return s->id1 - 1;
    }
}

static void pend_place(mem *m, size_t id)
{
    const op *o = &m->ops[id];
    size_t mask = m->pend_cap - 1, i = pend_home(o->h, o->table) & mask;
    while (m->pend[i].id1 != 0)
        i = (i + 1) & mask;
    m->pend[i] = (pslot){.hi = (uint32_t)(o->h >> 32), .id1 = (uint32_t)(id + 1)};
}

/* Makes room for one more operation in the array and its index. */
static int ops_room(mem *m)
{
    TC_ASSERT(m->op_count + 1 < UINT32_MAX); /* a slot holds an operation's index + 1 as u32 */
    if (m->op_count == m->op_cap) {
        size_t cap = m->op_cap == 0 ? OPS_MIN : 2 * m->op_cap;
        op *ops = tc_realloc(m->ops, cap * sizeof(*ops));
        if (ops == NULL)
            return TC_ENOMEM;
        m->ops = ops;
        m->op_cap = cap;
    }
    if (m->op_count + 1 <= SCAN_MAX)
        return 0;
    if (m->op_count + 1 > m->pend_cap / 2) {
        size_t cap = m->pend_cap == 0 ? PEND_MIN : 2 * m->pend_cap;
        pslot *pend = tc_calloc(cap, sizeof(*pend));
        if (pend == NULL)
            return TC_ENOMEM;
        free(m->pend);
        m->pend = pend;
        m->pend_cap = cap;
        m->indexed = false;
    }
    if (!m->indexed) {
        for (size_t id = 0; id < m->op_count; id++)
            pend_place(m, id);
        m->indexed = true;
    }
    TC_ASSERT(m->op_count < m->op_cap && m->op_count + 1 <= m->pend_cap / 2);
    return 0;
}

/* Records the first operation of the transaction on a key: cur for a put, base for a del. */
static int op_add(mem *m, mtxn *t, tc_table table, uint64_t h, rec *cur, rec *base)
{
    tab *tb = &m->tabs[table];
    TC_ASSERT(cur != NULL || base != NULL);
    if (base == NULL) {
        int rc = tab_reserve(tb, tb->count + t->reserved[table] + 1);
        if (rc != 0)
            return rc;
    }
    int rc = ops_room(m);
    if (rc != 0)
        return rc;
    if (base == NULL)
        t->reserved[table]++;
    size_t id = m->op_count++, bit = filter_bit(h);
    m->ops[id] = (op){.h = h, .cur = cur, .base = base, .table = table, .tomb = cur == NULL};
    m->filter[bit / 64] |= UINT64_C(1) << (bit % 64);
    if (m->indexed)
        pend_place(m, id);
    return 0;
}

/* Moves one operation into the committed index, summing a put's record as it becomes committed.
 * Allocates nothing and cannot fail. */
static void op_apply(mem *m, op *o)
{
    tab *tb = &m->tabs[o->table];
    view_drop(tb);
    if (!o->tomb)
        o->cur->sum = valsum(o->h, o->cur->klen, o->cur->data + o->cur->klen, o->cur->vlen);
    if (o->base != NULL) {
        size_t i = tab_slot_of(tb, o->h, o->base);
        if (o->tomb) {
            tab_remove(tb, i);
        } else {
            tb->slots[i].r = o->cur;
            o->cur = NULL;
        }
        rec_free(m, o->base);
    } else if (!o->tomb) {
        tab_insert(tb, o->h, o->cur);
        o->cur = NULL;
    }
    rec_free(m, o->cur); /* what a tombstone kept of an earlier put */
    o->cur = NULL;
}

/* ---- transactions ---- */

static bool hits(uint64_t nth, bool sticky, uint64_t seq)
{
    return nth != 0 && (seq == nth || (sticky && seq > nth));
}

/* Ends the open transaction: frees its pending records and cursor lists, and its cursors when a
 * crash or close ends it behind the caller's back (commit and abort require them closed). */
static void txn_end(mem *m)
{
    mtxn *t = m->txn;
    TC_ASSERT(t != NULL);
    while (t->cursors != NULL) {
        mcur *c = t->cursors;
        t->cursors = c->next;
        free(c);
    }
    t->cursor_count = 0;
    size_t op_count = m->op_count;
    for (size_t i = 0; i < op_count; i++) {
        size_t bit = filter_bit(m->ops[i].h);
        m->filter[bit / 64] &= ~(UINT64_C(1) << (bit % 64)); /* so all of it ends clear */
        rec_free(m, m->ops[i].cur);
    }
    m->op_count = 0;
    if (m->indexed) {
        m->indexed = false;
        if (m->pend_cap > PEND_MIN && m->pend_cap > 8 * op_count) {
            /* An index sized for a far larger transaction than this one spreads its probes
             * over memory that misses the cache; the next large transaction grows a fresh
             * one by doubling, in amortized O(1) per operation. */
            free(m->pend);
            m->pend = NULL;
            m->pend_cap = 0;
        } else {
            /* Cleared whole: at most eight slots per operation the transaction made. */
            memset(m->pend, 0, m->pend_cap * sizeof(*m->pend));
        }
    }
    for (unsigned i = 0; i < TC_TABLE_COUNT; i++) {
        free(t->plist[i]);
        t->plist[i] = NULL;
        t->plist_count[i] = t->plist_upto[i] = t->reserved[i] = 0;
    }
    m->txn = NULL;
}

static int mem_begin(tc_store *s, bool writable, tc_store_txn **out)
{
    mem *m = mem_of(s);
    TC_ASSERT(out != NULL);
    if (m->txn != NULL)
        return TC_ESTORE_TXN;
    mtxn *t = &m->txn_slot[m->txn_next];
    m->txn_next ^= 1;
    TC_ASSERT(t->cursors == NULL && m->op_count == 0); /* txn_end left it clean */
    t->store = s;
    t->writable = writable;
    t->err = 0;
    t->writes = 0;
    m->txn = t;
    *out = (tc_store_txn *)t;
    return 0;
}

static int mem_get(tc_store_txn *t_, tc_table table, const void *key, size_t klen, const void **val,
                   size_t *vlen)
{
    mtxn *t = txn_of(t_);
    mem *m = mem_of(t->store);
    TC_ASSERT(val != NULL && vlen != NULL);
    if (t->err != 0)
        return t->err;
    uint64_t h = keyhash(key, klen);
    tab_prefetch(&m->tabs[table], h);
    const rec *r;
    size_t id = pend_find(m, table, h, key, klen);
    if (id != NONE) {
        const op *o = &m->ops[id];
        if (o->tomb)
            return TC_ENOTFOUND;
        r = o->cur;           /* pending: not summed yet (see Checksum above) */
        TC_ASSERT(r != NULL); /* a live operation holds its put's record */
    } else {
        const tab *tb = &m->tabs[table];
        bool corrupt = false;
        size_t i = tab_find(tb, h, key, klen, &corrupt);
        if (i == NONE)
            return corrupt ? TC_ESTORE_CORRUPT : TC_ENOTFOUND;
        r = tb->slots[i].r;
        /* The key bytes matched the caller's, so h is the stored key's hash: fold only the
         * value. */
        if (r->sum != valsum(h, r->klen, r->data + r->klen, r->vlen))
            return TC_ESTORE_CORRUPT;
    }
    *val = r->data + r->klen;
    *vlen = r->vlen;
    return 0;
}

/* The checks every put and del passes: counts the write and injects the configured fault. */
static int write_gate(mtxn *t)
{
    mem *m = mem_of(t->store);
    if (!t->writable)
        return TC_ESTORE_TXN;
    if (t->err != 0)
        return t->err;
    t->writes++;
    m->write_total++;
    m->write_seq++;
    if (hits(m->faults.fail_nth_write, m->faults.fail_sticky, m->write_seq))
        t->err = TC_ESTORE_FAULT;
    return t->err;
}

static int mem_put(tc_store_txn *t_, tc_table table, const void *key, size_t klen, const void *val,
                   size_t vlen)
{
    mtxn *t = txn_of(t_);
    mem *m = mem_of(t->store);
    int rc = write_gate(t);
    if (rc != 0)
        return rc;
    uint64_t h = keyhash(key, klen);
    tab_prefetch(&m->tabs[table], h);
    rec *r = rec_new(m, h, key, klen, val, vlen);
    if (r == NULL)
        return t->err = TC_ENOMEM;
    size_t id = pend_find(m, table, h, key, klen);
    if (id != NONE) {
        /* The earlier pending record goes now; the caller's pointers into it lapsed with this
         * write (store.h). */
        op *o = &m->ops[id];
        rec_free(m, o->cur);
        o->cur = r;
        o->tomb = false;
        return 0;
    }
    tab *tb = &m->tabs[table];
    size_t i = tab_find(tb, h, key, klen, NULL);
    rc = op_add(m, t, table, h, r, i == NONE ? NULL : tb->slots[i].r);
    if (rc != 0) {
        rec_free(m, r);
        return t->err = rc;
    }
    return 0;
}

static int mem_del(tc_store_txn *t_, tc_table table, const void *key, size_t klen)
{
    mtxn *t = txn_of(t_);
    mem *m = mem_of(t->store);
    int rc = write_gate(t);
    if (rc != 0)
        return rc;
    uint64_t h = keyhash(key, klen);
    size_t id = pend_find(m, table, h, key, klen);
    if (id != NONE) {
        op *o = &m->ops[id];
        if (o->tomb)
            return TC_ENOTFOUND;
        /* The pending record stays until the transaction ends: its key bytes are what finds
         * the operation, and keeping it needs no allocation. */
        o->tomb = true;
        return 0;
    }
    tab *tb = &m->tabs[table];
    size_t i = tab_find(tb, h, key, klen, NULL);
    if (i == NONE)
        return TC_ENOTFOUND;
    rc = op_add(m, t, table, h, NULL, tb->slots[i].r);
    if (rc != 0)
        return t->err = rc;
    return 0;
}

static int mem_commit(tc_store_txn *t_)
{
    mtxn *t = txn_of(t_);
    mem *m = mem_of(t->store);
    TC_ASSERT(t->cursor_count == 0); /* cursors are closed before their transaction ends */
    int rc = t->err;
    if (rc == 0 && t->writable) {
        m->commit_seq++;
        if (hits(m->faults.fail_nth_commit, m->faults.fail_sticky, m->commit_seq))
            rc = TC_ESTORE_FAULT;
    }
    if (rc == 0) {
        for (size_t i = 0; i < m->op_count; i++)
            op_apply(m, &m->ops[i]);
    }
    txn_end(m);
    return rc;
}

static void mem_abort(tc_store_txn *t_)
{
    mtxn *t = txn_of(t_);
    TC_ASSERT(t->cursor_count == 0);
    txn_end(mem_of(t->store));
}

/* ---- cursors ---- */

/* Brings the table's pending list up to date: the operations added since the last refresh are
 * sorted and merged in (O(p + a log a), so a loop of "open, read a chunk, delete it" stays
 * linear per pass), and every entry's record is looked up again, a put since may have replaced
 * the one holding its key. */
static int plist_refresh(mem *m, mtxn *t, tc_table table)
{
    ent *old = t->plist[table];
    size_t p = t->plist_count[table], a = 0;
    for (size_t i = 0; i < p; i++)
        old[i].r = op_key(&m->ops[old[i].id]);
    for (size_t i = t->plist_upto[table]; i < m->op_count; i++)
        if (m->ops[i].table == table)
            a++;
    if (a > 0) {
        ent *all = tc_malloc((p + a) * sizeof(*all)), *fresh = tc_malloc(2 * a * sizeof(*fresh));
        if (all == NULL || fresh == NULL) {
            free(all);
            free(fresh);
            return TC_ENOMEM;
        }
        size_t j = 0;
        for (size_t i = t->plist_upto[table]; i < m->op_count; i++)
            if (m->ops[i].table == table)
                fresh[j++] = ent_of(op_key(&m->ops[i]), i);
        TC_ASSERT(j == a);
        ent_sort(fresh, fresh + a, a);
        merge(old, p, fresh, a, all);
        free(fresh);
        free(old);
        t->plist[table] = all;
        t->plist_count[table] = p + a;
    }
    t->plist_upto[table] = m->op_count;
    return 0;
}

static mcur *cur_of(tc_store_cursor *c_)
{
    mcur *c = (mcur *)c_;
    TC_ASSERT(c != NULL && txn_of((tc_store_txn *)c->txn) == c->txn);
    TC_ASSERT(c->writes == c->txn->writes); /* a write since open invalidated the cursor */
    return c;
}

static int mem_cursor_open(tc_store_txn *t_, tc_table table, tc_store_cursor **out)
{
    mtxn *t = txn_of(t_);
    mem *m = mem_of(t->store);
    TC_ASSERT(out != NULL);
    if (t->err != 0)
        return t->err;
    /* Both lists stay valid while the cursor may be used: only a commit changes the view, and
     * only a write adds operations to the pending list, and both end the cursor's use. */
    int rc = view_build(&m->tabs[table]);
    if (rc == 0)
        rc = plist_refresh(m, t, table);
    if (rc != 0)
        return rc;
    mcur *c = tc_calloc(1, sizeof(*c));
    if (c == NULL)
        return TC_ENOMEM;
    c->store = t->store;
    c->txn = t;
    c->table = table;
    c->writes = t->writes;
    c->next = t->cursors;
    if (t->cursors != NULL)
        t->cursors->prev = c;
    t->cursors = c;
    t->cursor_count++;
    *out = (tc_store_cursor *)c;
    return 0;
}

static int mem_cursor_seek(tc_store_cursor *c_, const void *key, size_t klen)
{
    mcur *c = cur_of(c_);
    mem *m = mem_of(c->store);
    TC_ASSERT(key != NULL && klen > 0 && klen <= TC_STORE_KEY_MAX);
    if (c->txn->err != 0)
        return c->txn->err;
    const tab *tb = &m->tabs[c->table];
    TC_ASSERT(tb->view_ok);
    c->vi = lower_bound(tb->view, tb->view_count, key, klen);
    c->pi = lower_bound(c->txn->plist[c->table], c->txn->plist_count[c->table], key, klen);
    return 0;
}

/* The next record the transaction sees: the smaller of the next committed and the next pending
 * key, the pending one winning a tie (and a tombstone hiding the committed record). */
static int mem_cursor_next(tc_store_cursor *c_, const void **key, size_t *klen, const void **val,
                           size_t *vlen)
{
    mcur *c = cur_of(c_);
    const mem *m = mem_of(c->store);
    *key = *val = NULL;
    *klen = *vlen = 0;
    if (c->txn->err != 0)
        return c->txn->err;
    const tab *tb = &m->tabs[c->table];
    const ent *v = tb->view, *p = c->txn->plist[c->table];
    size_t vn = tb->view_count, pn = c->txn->plist_count[c->table];
    TC_ASSERT(tb->view_ok && c->vi <= vn && c->pi <= pn);
    for (;;) { /* each pass consumes an entry, so it ends within vn + pn passes */
        if (c->vi == vn && c->pi == pn)
            return TC_ENOTFOUND;
        int d = c->pi == pn ? -1 : c->vi == vn ? 1 : ent_cmp(&v[c->vi], &p[c->pi]);
        const rec *r;
        bool committed = d < 0;
        if (committed) {
            r = v[c->vi++].r;
        } else {
            const op *o = &m->ops[p[c->pi++].id];
            TC_ASSERT(d > 0 || v[c->vi].r == o->base); /* a tie is the key's committed record */
            if (d == 0)
                c->vi++;
            if (o->tomb)
                continue;
            r = o->cur; /* pending: not summed yet */
        }
        if (committed && !intact(r))
            return TC_ESTORE_CORRUPT; /* the position is past it: next goes on after it */
        *key = r->data;
        *klen = r->klen;
        *val = r->data + r->klen;
        *vlen = r->vlen;
        return 0;
    }
}

static void mem_cursor_close(tc_store_cursor *c_)
{
    mcur *c = (mcur *)c_;
    mtxn *t = txn_of((tc_store_txn *)c->txn);
    TC_ASSERT(t->cursor_count > 0);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        t->cursors = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    t->cursor_count--;
    free(c);
}

/* ---- the store ---- */

static void mem_close(tc_store *s)
{
    mem *m = mem_of(s);
    if (m->txn != NULL)
        txn_end(m);
    for (unsigned i = 0; i < TC_TABLE_COUNT; i++) {
        tab *tb = &m->tabs[i];
        for (size_t j = 0; j < tb->cap; j++) {
            rec *r = tb->slots[j].r;
            if (r != NULL && pool_class(sizeof(*r) + r->klen + r->vlen) == POOL_CLASSES)
                free(r); /* a pooled one goes with its slab */
        }
        free(tb->slots);
        view_drop(tb);
    }
    pool_drain(m);
    free(m->ops);
    free(m->pend);
    free(m);
}

static const tc_store_ops mem_ops = {
    .begin = mem_begin,
    .get = mem_get,
    .put = mem_put,
    .del = mem_del,
    .commit = mem_commit,
    .abort = mem_abort,
    .cursor_open = mem_cursor_open,
    .cursor_seek = mem_cursor_seek,
    .cursor_next = mem_cursor_next,
    .cursor_close = mem_cursor_close,
    .close = mem_close,
};

tc_store *tc_store_mem_new(void)
{
    mem *m = tc_calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->base.ops = &mem_ops;
    TC_ASSERT(m->txn == NULL && m->write_total == 0);
    return &m->base;
}

void tc_store_mem_set_faults(tc_store *s, const tc_store_mem_faults *f)
{
    mem *m = mem_of(s);
    TC_ASSERT(f != NULL);
    m->faults = *f;
    m->write_seq = 0;
    m->commit_seq = 0;
}

void tc_store_mem_crash(tc_store *s)
{
    mem *m = mem_of(s);
    /* The dead process's transaction, pending writes and cursors vanish; committed indexes are
     * untouched because only a commit changes what they hold. */
    if (m->txn != NULL)
        txn_end(m);
    TC_ASSERT(m->txn == NULL);
}

int tc_store_mem_corrupt(tc_store *s, tc_table table, const void *key, size_t klen)
{
    mem *m = mem_of(s);
    TC_ASSERT((unsigned)table < TC_TABLE_COUNT);
    if (key == NULL || klen == 0 || klen > TC_STORE_KEY_MAX)
        return TC_EINVAL;
    tab *tb = &m->tabs[table];
    size_t i = tab_find(tb, keyhash(key, klen), key, klen, NULL);
    if (i == NONE)
        return TC_ENOTFOUND;
    rec *r = tb->slots[i].r;
    /* Flip the first value byte; an empty value has none, so its stored checksum is flipped. */
    if (r->vlen > 0)
        r->data[r->klen] ^= 0xff;
    else
        r->sum ^= 0xff;
    TC_ASSERT(!intact(r));
    return 0;
}

uint64_t tc_store_mem_write_count(const tc_store *s)
{
    TC_ASSERT(s != NULL && s->ops == &mem_ops);
    const mem *m = (const mem *)s;
    TC_ASSERT(m->write_seq <= m->write_total);
    return m->write_total;
}
