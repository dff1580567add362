/* store_mem.c — the in-memory store backend the simulator runs on, with fault injection.
 *
 * Owns: per table, an AVL tree of committed records; for the one open transaction, per table,
 * an AVL tree of pending operations (a put's new record, or a tombstone for a del); the open
 * transaction's list of cursors; the fault settings and their counters.
 *
 * Invariants:
 * - Every tree is ordered by key (unsigned bytes, shorter first on a tie, as LMDB) and holds at
 *   most one node per key; a node's height is one more than its taller child's and the heights
 *   of two siblings differ by at most one, so every search is O(log n). Order never depends on
 *   addresses or hash seeds (DESIGN.md determinism rule 2).
 * - Every node carries a checksum over its lengths, key and value, set when it is made and
 *   verified on every read, so a flipped byte (tc_store_mem_corrupt) reads as TC_ESTORE_CORRUPT.
 * - Committed trees change only inside a commit that passed its fault check, and that commit
 *   allocates nothing: each pending put node is relinked into the committed tree as it is. So a
 *   commit applies every operation of its transaction or none (atomicity), and the memory held
 *   is the committed records plus the open transaction's pending ones (nothing else grows).
 * - At most one transaction is open: the store points to it and it to its open cursors, so a
 *   simulated crash can free everything the dead process held.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(TC_STORE_KEY_MAX <= UINT32_MAX, "a key length fits a node's u32");
_Static_assert(TC_STORE_VALUE_MAX <= UINT32_MAX, "a value length fits a node's u32");

typedef struct node {
    struct node *kid[2]; /* smaller keys left, larger right */
    uint64_t sum;        /* checksum over lengths, key and value */
    uint32_t klen;
    uint32_t vlen;
    int32_t height; /* 1 for a leaf */
    bool tomb;      /* pending trees only: the transaction deletes this key */
    uint8_t data[]; /* the key, then the value */
} node;

typedef struct mtxn mtxn;
typedef struct mcur mcur;

struct mcur {
    tc_store *store; /* first: store.c dispatches through it */
    mtxn *txn;
    mcur *prev;
    mcur *next;
    tc_table table;
    uint64_t gen;   /* the transaction's write count at open: a later write is a caller bug */
    bool has_pos;   /* false: before the first key */
    bool inclusive; /* true after a seek: the next key may equal pos */
    uint32_t pos_len;
    uint8_t pos[TC_STORE_KEY_MAX]; /* a copy, so the position survives nothing but itself */
};

struct mtxn {
    tc_store *store; /* first: store.c dispatches through it */
    bool writable;
    int err;           /* the first failed write: the transaction can then only end */
    uint64_t gen;      /* put and del calls so far, to catch cursors used across one */
    size_t pend_count; /* nodes in the pending trees, which bounds a cursor's skips */
    node *pend[TC_TABLE_COUNT];
    mcur *cursors;
    size_t cursor_count;
};

typedef struct {
    tc_store base; /* first: a tc_store * converts to this */
    node *root[TC_TABLE_COUNT];
    mtxn *txn; /* the open transaction or NULL */
    tc_store_mem_faults faults;
    uint64_t write_seq;  /* puts and dels since the faults were set */
    uint64_t commit_seq; /* read-write commits since the faults were set */
    uint64_t write_total;
} mem;

static const tc_store_ops mem_ops;

/* ---- nodes and trees ---- */

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    /* FNV-1a over 8-byte words, then the tail byte by byte. Each step is a bijection of h for
     * a fixed word and of the word for a fixed h (xor, then a multiplication by an odd
     * constant), so any single changed byte changes the result. A checksum, not a defence
     * against attack; word steps make it cheap on the 2 KiB records the UTXO root rewrites. */
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, sizeof(w));
        h ^= w;
        h *= UINT64_C(0x100000001b3);
        h ^= h >> 32; /* carries high bits down, so later words mix with all of them */
    }
    for (; i < n; i++) {
        h ^= (uint64_t)p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static uint64_t checksum(const node *n)
{
    uint8_t lens[8];
    for (unsigned i = 0; i < 4; i++) {
        lens[i] = (uint8_t)(n->klen >> (8 * i));
        lens[4 + i] = (uint8_t)(n->vlen >> (8 * i));
    }
    uint64_t h = fnv(UINT64_C(0xcbf29ce484222325), lens, sizeof(lens));
    return fnv(h, n->data, (size_t)n->klen + n->vlen);
}

static bool intact(const node *n)
{
    return n->sum == checksum(n);
}

static int cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static node *node_new(const void *key, size_t klen, const void *val, size_t vlen, bool tomb)
{
    TC_ASSERT(key != NULL && klen > 0 && klen <= TC_STORE_KEY_MAX);
    TC_ASSERT(vlen <= TC_STORE_VALUE_MAX && (val != NULL || vlen == 0));
    node *n = malloc(sizeof(*n) + klen + vlen);
    if (n == NULL)
        return NULL;
    n->kid[0] = n->kid[1] = NULL;
    n->height = 1;
    n->tomb = tomb;
    n->klen = (uint32_t)klen;
    n->vlen = (uint32_t)vlen;
    memcpy(n->data, key, klen);
    if (vlen > 0)
        memcpy(n->data + klen, val, vlen);
    n->sum = checksum(n);
    return n;
}

static void tree_free(node *n)
{
    /* Recursion depth is the tree's height, O(log n) by the balance invariant. */
    if (n == NULL)
        return;
    tree_free(n->kid[0]);
    tree_free(n->kid[1]);
    free(n);
}

static node *find(node *n, const void *key, size_t klen)
{
    while (n != NULL) {
        int c = cmp(key, klen, n->data, n->klen);
        if (c == 0)
            return n;
        n = n->kid[c > 0];
    }
    return NULL;
}

/* The first node whose key is > key (>= key when inclusive); key NULL: the first node. */
static node *lower(node *n, const uint8_t *key, size_t klen, bool inclusive)
{
    node *best = NULL;
    while (n != NULL) {
        int c = key == NULL ? 1 : cmp(n->data, n->klen, key, klen);
        if (c > 0 || (c == 0 && inclusive)) {
            best = n;
            n = n->kid[0];
        } else {
            n = n->kid[1];
        }
    }
    return best;
}

static int32_t height(const node *n)
{
    return n == NULL ? 0 : n->height;
}

static void fix_height(node *n)
{
    int32_t l = height(n->kid[0]), r = height(n->kid[1]);
    n->height = 1 + (l > r ? l : r);
}

/* The child on side !dir rises; n moves down to side dir. */
static node *rotate(node *n, int dir)
{
    node *r = n->kid[!dir];
    TC_ASSERT(r != NULL);
    n->kid[!dir] = r->kid[dir];
    r->kid[dir] = n;
    fix_height(n);
    fix_height(r);
    return r;
}

static node *balance(node *n)
{
    fix_height(n);
    int32_t d = height(n->kid[0]) - height(n->kid[1]);
    if (d >= -1 && d <= 1)
        return n;
    TC_ASSERT(d == 2 || d == -2);
    int s = d > 0 ? 0 : 1; /* the heavy side */
    node *k = n->kid[s];
    if (height(k->kid[!s]) > height(k->kid[s]))
        n->kid[s] = rotate(k, s);
    return rotate(n, !s);
}

/* Inserts the lone node n. A node with an equal key is unlinked, n takes its place and *old
 * receives it (the caller frees it). */
static node *insert(node *root, node *n, node **old)
{
    if (root == NULL)
        return n;
    int c = cmp(n->data, n->klen, root->data, root->klen);
    if (c == 0) {
        n->kid[0] = root->kid[0];
        n->kid[1] = root->kid[1];
        n->height = root->height;
        *old = root;
        return n;
    }
    root->kid[c > 0] = insert(root->kid[c > 0], n, old);
    return balance(root);
}

static node *take_min(node *root, node **min)
{
    if (root->kid[0] == NULL) {
        *min = root;
        return root->kid[1];
    }
    root->kid[0] = take_min(root->kid[0], min);
    return balance(root);
}

/* Unlinks the node with this key, if any, into *gone (the caller frees it). */
static node *unlink_key(node *root, const uint8_t *key, size_t klen, node **gone)
{
    if (root == NULL)
        return NULL;
    int c = cmp(key, klen, root->data, root->klen);
    if (c != 0) {
        root->kid[c > 0] = unlink_key(root->kid[c > 0], key, klen, gone);
        return balance(root);
    }
    *gone = root;
    if (root->kid[1] == NULL)
        return root->kid[0];
    node *m = NULL;
    node *rest = take_min(root->kid[1], &m);
    m->kid[0] = root->kid[0];
    m->kid[1] = rest;
    return balance(m);
}

/* ---- transactions ---- */

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

static bool hits(uint64_t nth, bool sticky, uint64_t seq)
{
    return nth != 0 && (seq == nth || (sticky && seq > nth));
}

/* Frees the open transaction: its pending writes, and its cursors when a crash or close ends it
 * behind the caller's back (commit and abort require them closed already). */
static void txn_end(mem *m)
{
    mtxn *t = m->txn;
    TC_ASSERT(t != NULL);
    while (t->cursors != NULL) {
        mcur *c = t->cursors;
        t->cursors = c->next;
        free(c);
    }
    for (unsigned i = 0; i < TC_TABLE_COUNT; i++)
        tree_free(t->pend[i]);
    free(t);
    m->txn = NULL;
}

static int mem_begin(tc_store *s, bool writable, tc_store_txn **out)
{
    mem *m = mem_of(s);
    TC_ASSERT(out != NULL);
    if (m->txn != NULL)
        return TC_ESTORE_TXN;
    mtxn *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return TC_ENOMEM;
    t->store = s;
    t->writable = writable;
    m->txn = t;
    *out = (tc_store_txn *)t;
    return 0;
}

/* What the transaction sees under a key: its own pending node (maybe a tombstone) first. */
static node *visible(mtxn *t, tc_table table, const void *key, size_t klen)
{
    node *n = find(t->pend[table], key, klen);
    return n != NULL ? n : find(mem_of(t->store)->root[table], key, klen);
}

static int mem_get(tc_store_txn *t_, tc_table table, const void *key, size_t klen, const void **val,
                   size_t *vlen)
{
    mtxn *t = txn_of(t_);
    TC_ASSERT(val != NULL && vlen != NULL);
    if (t->err != 0)
        return t->err;
    const node *n = visible(t, table, key, klen);
    if (n == NULL || n->tomb)
        return TC_ENOTFOUND;
    if (!intact(n))
        return TC_ESTORE_CORRUPT;
    *val = n->data + n->klen;
    *vlen = n->vlen;
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
    t->gen++;
    m->write_total++;
    m->write_seq++;
    if (hits(m->faults.fail_nth_write, m->faults.fail_sticky, m->write_seq))
        t->err = TC_ESTORE_FAULT;
    return t->err;
}

static void pend_insert(mtxn *t, tc_table table, node *n)
{
    node *old = NULL;
    t->pend[table] = insert(t->pend[table], n, &old);
    if (old != NULL)
        free(old);
    else
        t->pend_count++;
    TC_ASSERT(find(t->pend[table], n->data, n->klen) == n);
}

static int mem_put(tc_store_txn *t_, tc_table table, const void *key, size_t klen, const void *val,
                   size_t vlen)
{
    mtxn *t = txn_of(t_);
    int rc = write_gate(t);
    if (rc != 0)
        return rc;
    node *n = node_new(key, klen, val, vlen, false);
    if (n == NULL)
        return t->err = TC_ENOMEM;
    pend_insert(t, table, n);
    return 0;
}

static int mem_del(tc_store_txn *t_, tc_table table, const void *key, size_t klen)
{
    mtxn *t = txn_of(t_);
    int rc = write_gate(t);
    if (rc != 0)
        return rc;
    node *p = find(t->pend[table], key, klen);
    if (p != NULL) {
        if (p->tomb)
            return TC_ENOTFOUND;
        /* Turning the pending put into a tombstone needs no allocation; its value bytes stay
         * allocated until the transaction ends, bounded by what the transaction wrote. */
        p->tomb = true;
        p->vlen = 0;
        p->sum = checksum(p);
        return 0;
    }
    if (find(mem_of(t->store)->root[table], key, klen) == NULL)
        return TC_ENOTFOUND;
    node *n = node_new(key, klen, NULL, 0, true);
    if (n == NULL)
        return t->err = TC_ENOMEM;
    pend_insert(t, table, n);
    return 0;
}

/* Moves every pending operation of one table into the committed tree. Allocates nothing and
 * cannot fail. Post-order, so a node's links are read before it is relinked. */
static void apply(mem *m, tc_table table, node *op)
{
    if (op == NULL)
        return;
    apply(m, table, op->kid[0]);
    apply(m, table, op->kid[1]);
    op->kid[0] = op->kid[1] = NULL;
    op->height = 1;
    node *old = NULL;
    if (op->tomb) {
        m->root[table] = unlink_key(m->root[table], op->data, op->klen, &old);
        free(op);
    } else {
        m->root[table] = insert(m->root[table], op, &old);
    }
    free(old);
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
        for (unsigned i = 0; i < TC_TABLE_COUNT; i++) {
            apply(m, (tc_table)i, t->pend[i]);
            t->pend[i] = NULL;
        }
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

static mcur *cur_of(tc_store_cursor *c_)
{
    mcur *c = (mcur *)c_;
    TC_ASSERT(c != NULL && txn_of((tc_store_txn *)c->txn) == c->txn);
    TC_ASSERT(c->gen == c->txn->gen); /* a write since open invalidated the cursor */
    return c;
}

static int mem_cursor_open(tc_store_txn *t_, tc_table table, tc_store_cursor **out)
{
    mtxn *t = txn_of(t_);
    TC_ASSERT(out != NULL);
    if (t->err != 0)
        return t->err;
    mcur *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return TC_ENOMEM;
    c->store = t->store;
    c->txn = t;
    c->table = table;
    c->gen = t->gen;
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
    TC_ASSERT(key != NULL && klen > 0 && klen <= TC_STORE_KEY_MAX);
    if (c->txn->err != 0)
        return c->txn->err;
    memcpy(c->pos, key, klen);
    c->pos_len = (uint32_t)klen;
    c->has_pos = true;
    c->inclusive = true;
    return 0;
}

/* The next record the transaction sees after the cursor's position: the smaller of the next
 * committed and the next pending key, the pending one winning a tie. Advances the position past
 * it. Returns NULL at the end. */
static node *step(mcur *c)
{
    mem *m = mem_of(c->store);
    const uint8_t *at = c->has_pos ? c->pos : NULL;
    node *a = lower(m->root[c->table], at, c->pos_len, c->inclusive);
    node *b = lower(c->txn->pend[c->table], at, c->pos_len, c->inclusive);
    node *n = b;
    if (b == NULL || (a != NULL && cmp(a->data, a->klen, b->data, b->klen) < 0))
        n = a;
    if (n == NULL)
        return NULL;
    memcpy(c->pos, n->data, n->klen);
    c->pos_len = n->klen;
    c->has_pos = true;
    c->inclusive = false;
    return n;
}

static int mem_cursor_next(tc_store_cursor *c_, const void **key, size_t *klen, const void **val,
                           size_t *vlen)
{
    mcur *c = cur_of(c_);
    *key = *val = NULL;
    *klen = *vlen = 0;
    if (c->txn->err != 0)
        return c->txn->err;
    /* Each pass skips one tombstone, so the loop is bounded by the pending node count. */
    for (size_t skipped = 0;; skipped++) {
        TC_ASSERT(skipped <= c->txn->pend_count);
        node *n = step(c);
        if (n == NULL)
            return TC_ENOTFOUND;
        if (n->tomb)
            continue;
        if (!intact(n))
            return TC_ESTORE_CORRUPT; /* the position is past it: next goes on after it */
        *key = n->data;
        *klen = n->klen;
        *val = n->data + n->klen;
        *vlen = n->vlen;
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
    for (unsigned i = 0; i < TC_TABLE_COUNT; i++)
        tree_free(m->root[i]);
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
    mem *m = calloc(1, sizeof(*m));
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
    /* The dead process's transaction, pending writes and cursors vanish; committed trees are
     * untouched because only a commit changes them. */
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
    node *n = find(m->root[table], key, klen);
    if (n == NULL)
        return TC_ENOTFOUND;
    /* Flip the first value byte; an empty value has none, so its stored checksum is flipped. */
    if (n->vlen > 0)
        n->data[n->klen] ^= 0xff;
    else
        n->sum ^= 0xff;
    TC_ASSERT(!intact(n));
    return 0;
}

uint64_t tc_store_mem_write_count(const tc_store *s)
{
    TC_ASSERT(s != NULL && s->ops == &mem_ops);
    const mem *m = (const mem *)s;
    TC_ASSERT(m->write_seq <= m->write_total);
    return m->write_total;
}
