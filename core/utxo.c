/* utxo.c — the UTXO set over the store: records, state machine, LtHash16 root (see utxo.h). */
#include "utxo.h"

#include <string.h>

#include "codec.h"

_Static_assert(TC_UTXO_ACC_SIZE == 2048, "LtHash16 accumulator is 1024 u16 lanes");
_Static_assert(TC_UTXO_STATE_COUNT <= UINT8_MAX, "state is a u8");

static bool hash_eq(const tc_hash *a, const tc_hash *b)
{
    return memcmp(a->b, b->b, TC_HASH_SIZE) == 0;
}

static bool hash_is_zero(const tc_hash *h)
{
    static const tc_hash zero;
    return hash_eq(h, &zero);
}

/* ---- records ---- */

static void entry_encode(const tc_utxo_entry *e, uint8_t buf[TC_UTXO_ENTRY_SIZE])
{
    TC_ASSERT(e->state < TC_UTXO_STATE_COUNT && (e->flags & ~TC_UTXO_FLAGS_KNOWN) == 0);
    TC_ASSERT((e->state == TC_UTXO_UNSPENT) == hash_is_zero(&e->txid));
    tc_store_u64(buf, e->amount);
    memcpy(buf + 8, e->addr.b, TC_ADDR_HASH_SIZE);
    tc_store_u64(buf + 28, e->height);
    buf[36] = e->flags;
    buf[37] = e->state;
    memcpy(buf + 38, e->txid.b, TC_HASH_SIZE);
}

/* Disk contents: anything malformed is corruption, reported, never asserted. */
static int entry_decode(const uint8_t *buf, size_t n, tc_utxo_entry *e)
{
    memset(e, 0, sizeof(*e));
    if (n != TC_UTXO_ENTRY_SIZE)
        return TC_ESTORE_CORRUPT;
    e->amount = tc_load_u64(buf);
    memcpy(e->addr.b, buf + 8, TC_ADDR_HASH_SIZE);
    e->height = tc_load_u64(buf + 28);
    e->flags = buf[36];
    e->state = buf[37];
    memcpy(e->txid.b, buf + 38, TC_HASH_SIZE);
    bool ok = (e->flags & ~TC_UTXO_FLAGS_KNOWN) == 0 && e->state < TC_UTXO_STATE_COUNT &&
              (e->state == TC_UTXO_UNSPENT) == hash_is_zero(&e->txid);
    if (!ok) {
        memset(e, 0, sizeof(*e));
        return TC_ESTORE_CORRUPT;
    }
    return 0;
}

/* Loads the entry under key; an absent one is told apart from a spent one via SPENT. */
static int entry_load(tc_store_txn *t, const uint8_t key[TC_OUTPOINT_SIZE], tc_utxo_entry *e)
{
    const void *val;
    size_t vlen;
    memset(e, 0, sizeof(*e));
    int rc = tc_store_get(t, TC_TABLE_UTXO, key, TC_OUTPOINT_SIZE, &val, &vlen);
    if (rc == 0)
        return entry_decode(val, vlen, e);
    if (rc != TC_ENOTFOUND)
        return rc;
    rc = tc_store_get(t, TC_TABLE_SPENT, key, TC_OUTPOINT_SIZE, &val, &vlen);
    if (rc == 0)
        return TC_ETX_SPENT_INPUT;
    return rc;
}

static int entry_store(tc_store_txn *t, const uint8_t key[TC_OUTPOINT_SIZE], const tc_utxo_entry *e)
{
    uint8_t buf[TC_UTXO_ENTRY_SIZE];
    entry_encode(e, buf);
    return tc_store_put(t, TC_TABLE_UTXO, key, TC_OUTPOINT_SIZE, buf, sizeof(buf));
}

/* ---- accumulator ---- */

int tc_utxo_meta_load(tc_store_txn *t, tc_lthash_cache *elements, tc_utxo_meta *m)
{
    TC_ASSERT(t != NULL && m != NULL);
    const void *val;
    size_t vlen;
    memset(m, 0, sizeof(*m));
    m->elements = elements;
    int rc =
        tc_store_get(t, TC_TABLE_META, TC_UTXO_META_KEY, strlen(TC_UTXO_META_KEY), &val, &vlen);
    if (rc == TC_ENOTFOUND)
        return 0; /* the empty set */
    if (rc != 0)
        return rc;
    if (vlen != TC_UTXO_META_SIZE) {
        memset(m, 0, sizeof(*m));
        return TC_ESTORE_CORRUPT;
    }
    const uint8_t *p = val;
    for (size_t i = 0; i < TC_UTXO_LANES; i++)
        m->acc.lanes[i] = tc_load_u16(p + 2 * i);
    m->total = tc_load_u64(p + TC_UTXO_ACC_SIZE);
    m->count = tc_load_u64(p + TC_UTXO_ACC_SIZE + 8);
    return 0;
}

static void meta_encode(const tc_utxo_meta *m, uint8_t buf[TC_UTXO_META_SIZE])
{
    for (size_t i = 0; i < TC_UTXO_LANES; i++)
        tc_store_u16(buf + 2 * i, m->acc.lanes[i]);
    tc_store_u64(buf + TC_UTXO_ACC_SIZE, m->total);
    tc_store_u64(buf + TC_UTXO_ACC_SIZE + 8, m->count);
}

int tc_utxo_meta_save(tc_store_txn *t, const tc_utxo_meta *m)
{
    TC_ASSERT(t != NULL && m != NULL);
    uint8_t buf[TC_UTXO_META_SIZE];
    meta_encode(m, buf);
    return tc_store_put(t, TC_TABLE_META, TC_UTXO_META_KEY, strlen(TC_UTXO_META_KEY), buf,
                        sizeof(buf));
}

void tc_utxo_meta_root(const tc_utxo_meta *m, tc_hash *root)
{
    TC_ASSERT(m != NULL && root != NULL);
    uint8_t buf[TC_UTXO_META_SIZE];
    meta_encode(m, buf);
    /* root = H(tc/utxoroot, accumulator | u64 count): the total is implied by the entries. */
    memmove(buf + TC_UTXO_ACC_SIZE, buf + TC_UTXO_ACC_SIZE + 8, 8);
    tc_hash_tagged(root, TC_TAG_UTXOROOT, buf, TC_UTXO_ACC_SIZE + 8);
}

/* The chain data an entry's element is computed from (utxo.h, "Root"). */
#define PREIMAGE_SIZE (TC_OUTPOINT_SIZE + 8 + TC_ADDR_HASH_SIZE + 8 + 1)

static void preimage(const uint8_t key[TC_OUTPOINT_SIZE], const tc_utxo_entry *e,
                     uint8_t pre[PREIMAGE_SIZE])
{
    memcpy(pre, key, TC_OUTPOINT_SIZE);
    tc_store_u64(pre + TC_OUTPOINT_SIZE, e->amount);
    memcpy(pre + TC_OUTPOINT_SIZE + 8, e->addr.b, TC_ADDR_HASH_SIZE);
    tc_store_u64(pre + TC_OUTPOINT_SIZE + 8 + TC_ADDR_HASH_SIZE, e->height);
    pre[PREIMAGE_SIZE - 1] = e->flags;
}

/* Adds (sign = +1) or subtracts (sign = -1) the entry's element. Only chain data goes into the
 * element, never the lock state. */
static void acc_apply(tc_utxo_meta *m, const uint8_t key[TC_OUTPOINT_SIZE], const tc_utxo_entry *e,
                      int sign)
{
    uint8_t pre[PREIMAGE_SIZE];
    preimage(key, e, pre);
    tc_lthash_fold(&m->acc, TC_TAG_UTXO, pre, sizeof(pre), sign, m->elements);
}

/* Folds one entry into (sign = +1) or out of (sign = -1) *m. */
static int meta_change(tc_utxo_meta *m, const uint8_t key[TC_OUTPOINT_SIZE], const tc_utxo_entry *e,
                       int sign)
{
    if (sign > 0) {
        if (tc_add_u64(&m->total, e->amount) != 0)
            return TC_EOVERFLOW;
        m->count++;
    } else {
        /* The entry was in the set, so its amount is in the total: otherwise META is corrupt. */
        if (m->total < e->amount || m->count == 0)
            return TC_ESTORE_CORRUPT;
        m->total -= e->amount;
        m->count--;
    }
    if (!m->replay)
        acc_apply(m, key, e, sign);
    return 0;
}

/* meta_change on the caller's batch, or (m NULL) on META loaded and saved around it. */
static int meta_update(tc_store_txn *t, tc_utxo_meta *m, const uint8_t key[TC_OUTPOINT_SIZE],
                       const tc_utxo_entry *e, int sign)
{
    if (m != NULL)
        return meta_change(m, key, e, sign);
    tc_utxo_meta own;
    int rc = tc_utxo_meta_load(t, NULL, &own);
    if (rc == 0)
        rc = meta_change(&own, key, e, sign);
    if (rc == 0)
        rc = tc_utxo_meta_save(t, &own);
    return rc;
}

/* ---- operations ---- */

int tc_utxo_add(tc_store_txn *t, tc_utxo_meta *m, const tc_outpoint *op, const tc_txout *out,
                uint64_t height, uint8_t flags)
{
    TC_ASSERT(t != NULL && op != NULL && out != NULL);
    TC_ASSERT((flags & ~TC_UTXO_FLAGS_KNOWN) == 0);
    uint8_t key[TC_OUTPOINT_SIZE];
    tc_outpoint_key(op, key);
    tc_utxo_entry e;
    if (m == NULL || !m->replay) {
        int rc = entry_load(t, key, &e);
        if (rc == 0 || rc == TC_ETX_SPENT_INPUT)
            return TC_EEXIST;
        if (rc != TC_ENOTFOUND)
            return rc;
    }
    memset(&e, 0, sizeof(e));
    e.amount = out->amount;
    e.addr = out->addr;
    e.height = height;
    e.flags = flags;
    e.state = TC_UTXO_UNSPENT;
    int rc = meta_update(t, m, key, &e, 1);
    if (rc != 0)
        return rc;
    return entry_store(t, key, &e);
}

int tc_utxo_get(tc_store_txn *t, const tc_outpoint *op, tc_utxo_entry *out)
{
    TC_ASSERT(t != NULL && op != NULL && out != NULL);
    uint8_t key[TC_OUTPOINT_SIZE];
    tc_outpoint_key(op, key);
    int rc = entry_load(t, key, out);
    TC_ASSERT(rc == 0 || hash_is_zero(&out->txid));
    return rc;
}

int tc_utxo_spent_get(tc_store_txn *t, const tc_outpoint *op, tc_hash *txid_out,
                      uint64_t *height_out)
{
    TC_ASSERT(t != NULL && op != NULL);
    uint8_t key[TC_OUTPOINT_SIZE];
    const void *val;
    size_t vlen;
    tc_outpoint_key(op, key);
    if (txid_out != NULL)
        memset(txid_out, 0, sizeof(*txid_out));
    if (height_out != NULL)
        *height_out = 0;
    int rc = tc_store_get(t, TC_TABLE_SPENT, key, sizeof(key), &val, &vlen);
    if (rc != 0)
        return rc;
    if (vlen != TC_UTXO_SPENT_SIZE)
        return TC_ESTORE_CORRUPT;
    const uint8_t *p = val;
    if (height_out != NULL)
        *height_out = tc_load_u64(p);
    if (txid_out != NULL)
        memcpy(txid_out->b, p + 8, TC_HASH_SIZE);
    return 0;
}

int tc_utxo_lock(tc_store_txn *t, const tc_outpoint *op, const tc_hash *txid)
{
    TC_ASSERT(t != NULL && op != NULL && txid != NULL);
    TC_ASSERT(!hash_is_zero(txid)); /* zero marks "no lock" in the record */
    uint8_t key[TC_OUTPOINT_SIZE];
    tc_utxo_entry e;
    tc_outpoint_key(op, key);
    int rc = entry_load(t, key, &e);
    if (rc != 0)
        return rc;
    if (e.state == TC_UTXO_LOCKED && hash_eq(&e.txid, txid))
        return 0;
    TC_ASSERT(e.state == TC_UTXO_UNSPENT); /* Locked(other) and SpentFinalized are final */
    e.state = TC_UTXO_LOCKED;
    e.txid = *txid;
    return entry_store(t, key, &e);
}

int tc_utxo_release(tc_store_txn *t, const tc_outpoint *op)
{
    TC_ASSERT(t != NULL && op != NULL);
    uint8_t key[TC_OUTPOINT_SIZE];
    tc_utxo_entry e;
    tc_outpoint_key(op, key);
    int rc = entry_load(t, key, &e);
    if (rc != 0)
        return rc;
    TC_ASSERT(e.state == TC_UTXO_LOCKED); /* only a lock can be released, never a finality */
    e.state = TC_UTXO_UNSPENT;
    memset(e.txid.b, 0, TC_HASH_SIZE);
    return entry_store(t, key, &e);
}

int tc_utxo_release_tx(tc_store_txn *t, const tc_tx *tx, const tc_hash *txid,
                       uint32_t *released_out)
{
    TC_ASSERT(t != NULL && tx != NULL && txid != NULL);
    TC_ASSERT(tx->input_count == 0 || tx->inputs != NULL);
    uint32_t released = 0;
    if (released_out != NULL)
        *released_out = 0;
    for (uint32_t i = 0; i < tx->input_count; i++) {
        tc_utxo_entry e;
        int rc = tc_utxo_get(t, &tx->inputs[i].prev, &e);
        if (rc == TC_ENOTFOUND || rc == TC_ETX_SPENT_INPUT)
            continue;
        if (rc != 0)
            return rc;
        if (e.state != TC_UTXO_LOCKED || !hash_eq(&e.txid, txid))
            continue;
        rc = tc_utxo_release(t, &tx->inputs[i].prev);
        if (rc != 0)
            return rc;
        released++;
    }
    if (released_out != NULL)
        *released_out = released;
    return 0;
}

int tc_utxo_finalize(tc_store_txn *t, const tc_outpoint *op, const tc_hash *txid)
{
    TC_ASSERT(t != NULL && op != NULL && txid != NULL);
    uint8_t key[TC_OUTPOINT_SIZE];
    tc_utxo_entry e;
    tc_outpoint_key(op, key);
    int rc = entry_load(t, key, &e);
    if (rc != 0)
        return rc;
    TC_ASSERT(e.state != TC_UTXO_UNSPENT && hash_eq(&e.txid, txid));
    if (e.state == TC_UTXO_FINALIZED)
        return 0;
    e.state = TC_UTXO_FINALIZED;
    return entry_store(t, key, &e);
}

/* Removes the entry under key (decoded as e) and records (height, by) as its spend. */
static int remove_as_spent(tc_store_txn *t, tc_utxo_meta *m, const uint8_t key[TC_OUTPOINT_SIZE],
                           const tc_utxo_entry *e, const tc_hash *by, uint64_t height)
{
    uint8_t spent[TC_UTXO_SPENT_SIZE];
    tc_store_u64(spent, height);
    memcpy(spent + 8, by->b, TC_HASH_SIZE);
    int rc = meta_update(t, m, key, e, -1);
    if (rc == 0)
        rc = tc_store_del(t, TC_TABLE_UTXO, key, TC_OUTPOINT_SIZE);
    if (rc == 0)
        rc = tc_store_put(t, TC_TABLE_SPENT, key, TC_OUTPOINT_SIZE, spent, sizeof(spent));
    return rc;
}

int tc_utxo_confirm(tc_store_txn *t, tc_utxo_meta *m, const tc_outpoint *op, const tc_hash *txid,
                    uint64_t height)
{
    TC_ASSERT(t != NULL && op != NULL && txid != NULL);
    uint8_t key[TC_OUTPOINT_SIZE];
    tc_utxo_entry e;
    tc_outpoint_key(op, key);
    int rc = entry_load(t, key, &e);
    if (rc != 0)
        return rc;
    TC_ASSERT(e.state == TC_UTXO_FINALIZED && hash_eq(&e.txid, txid));
    return remove_as_spent(t, m, key, &e, txid, height);
}

int tc_utxo_confirm_spend(tc_store_txn *t, tc_utxo_meta *m, const tc_outpoint *op,
                          const tc_hash *txid, uint64_t height, uint64_t *amount_out)
{
    TC_ASSERT(t != NULL && op != NULL && txid != NULL);
    TC_ASSERT(!hash_is_zero(txid));
    uint8_t key[TC_OUTPOINT_SIZE];
    tc_utxo_entry e;
    tc_outpoint_key(op, key);
    if (amount_out != NULL)
        *amount_out = 0;
    int rc = entry_load(t, key, &e);
    if (rc != 0)
        return rc;
    /* The legal walk is Locked(other) -> Unspent (release) -> Locked(txid) -> SpentFinalized(txid)
     * -> Confirmed; every state but SpentFinalized(other) starts a step of it. The entry leaves
     * the table in this transaction, so the intermediate records would never be seen: only the
     * last step is written. */
    if (e.state == TC_UTXO_FINALIZED && !hash_eq(&e.txid, txid))
        return TC_ETX_LOCKED;
    rc = remove_as_spent(t, m, key, &e, txid, height);
    if (rc == 0 && amount_out != NULL)
        *amount_out = e.amount;
    return rc;
}

int tc_utxo_burn(tc_store_txn *t, tc_utxo_meta *m, const tc_outpoint *op, const tc_hash *reason,
                 uint64_t height, uint64_t *amount_out)
{
    TC_ASSERT(t != NULL && op != NULL && reason != NULL);
    uint8_t key[TC_OUTPOINT_SIZE];
    tc_utxo_entry e;
    tc_outpoint_key(op, key);
    if (amount_out != NULL)
        *amount_out = 0;
    int rc = entry_load(t, key, &e);
    if (rc == 0)
        rc = remove_as_spent(t, m, key, &e, reason, height);
    if (rc == 0 && amount_out != NULL)
        *amount_out = e.amount;
    return rc;
}

int tc_utxo_set_flags(tc_store_txn *t, tc_utxo_meta *m, const tc_outpoint *op, uint8_t flags)
{
    TC_ASSERT(t != NULL && op != NULL);
    TC_ASSERT((flags & ~TC_UTXO_FLAGS_KNOWN) == 0);
    uint8_t key[TC_OUTPOINT_SIZE];
    tc_utxo_entry e;
    tc_outpoint_key(op, key);
    int rc = entry_load(t, key, &e);
    if (rc != 0 || e.flags == flags)
        return rc;
    /* Flags are chain data inside the element: swap the old element for the new one. */
    rc = meta_update(t, m, key, &e, -1);
    e.flags = flags;
    if (rc == 0)
        rc = meta_update(t, m, key, &e, 1);
    if (rc == 0)
        rc = entry_store(t, key, &e);
    return rc;
}

/* ---- root, total, integrity ---- */

int tc_utxo_root(tc_store_txn *t, tc_hash *root_out)
{
    TC_ASSERT(t != NULL && root_out != NULL);
    tc_utxo_meta m;
    memset(root_out, 0, sizeof(*root_out));
    int rc = tc_utxo_meta_load(t, NULL, &m);
    if (rc == 0)
        tc_utxo_meta_root(&m, root_out);
    return rc;
}

int tc_utxo_total(tc_store_txn *t, uint64_t *total_out)
{
    TC_ASSERT(t != NULL && total_out != NULL);
    tc_utxo_meta m;
    int rc = tc_utxo_meta_load(t, NULL, &m);
    *total_out = rc == 0 ? m.total : 0;
    return rc;
}

int tc_utxo_count(tc_store_txn *t, uint64_t *count_out)
{
    TC_ASSERT(t != NULL && count_out != NULL);
    tc_utxo_meta m;
    int rc = tc_utxo_meta_load(t, NULL, &m);
    *count_out = rc == 0 ? m.count : 0;
    return rc;
}

/* The next record of a TC_TABLE_UTXO cursor: 0, TC_ENOTFOUND at the end, TC_ESTORE_CORRUPT for
 * a key or record that does not decode, store errors. */
static int cursor_entry(tc_store_cursor *c, uint8_t key[TC_OUTPOINT_SIZE], tc_utxo_entry *e)
{
    const void *k, *v;
    size_t klen, vlen;
    int rc = tc_store_cursor_next(c, &k, &klen, &v, &vlen);
    if (rc != 0)
        return rc;
    if (klen != TC_OUTPOINT_SIZE)
        return TC_ESTORE_CORRUPT;
    memcpy(key, k, TC_OUTPOINT_SIZE);
    return entry_decode(v, vlen, e);
}

/* Folds every record of TC_TABLE_UTXO into m. */
static int scan(tc_store_cursor *c, tc_utxo_meta *m)
{
    for (;;) {
        tc_utxo_entry e;
        uint8_t key[TC_OUTPOINT_SIZE];
        int rc = cursor_entry(c, key, &e);
        if (rc == TC_ENOTFOUND)
            return 0;
        if (rc != 0)
            return rc;
        if (tc_add_u64(&m->total, e.amount) != 0)
            return TC_ESTORE_CORRUPT; /* tc_utxo_add never lets the total overflow */
        m->count++;
        acc_apply(m, key, &e, 1);
    }
}

int tc_utxo_recompute(tc_store_txn *t, tc_lthash_cache *elements, tc_hash *root_out,
                      uint64_t *total_out)
{
    TC_ASSERT(t != NULL);
    tc_utxo_meta m;
    tc_store_cursor *c;
    memset(&m, 0, sizeof(m));
    m.elements = elements;
    if (root_out != NULL)
        memset(root_out, 0, sizeof(*root_out));
    if (total_out != NULL)
        *total_out = 0;
    int rc = tc_store_cursor_open(t, TC_TABLE_UTXO, &c);
    if (rc != 0)
        return rc;
    rc = scan(c, &m);
    tc_store_cursor_close(c);
    if (rc != 0)
        return rc;
    if (root_out != NULL)
        tc_utxo_meta_root(&m, root_out);
    if (total_out != NULL)
        *total_out = m.total;
    return 0;
}

int tc_utxo_content_digest(tc_store_txn *t, tc_hash *out)
{
    TC_ASSERT(t != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    tc_store_cursor *c;
    int rc = tc_store_cursor_open(t, TC_TABLE_UTXO, &c);
    if (rc != 0)
        return rc;
    tc_hasher h;
    tc_hasher_init(&h, TC_TAG_UTXOSET);
    tc_utxo_entry e;
    uint8_t key[TC_OUTPOINT_SIZE];
    while ((rc = cursor_entry(c, key, &e)) == 0) {
        uint8_t pre[PREIMAGE_SIZE];
        preimage(key, &e, pre);
        tc_hasher_update(&h, pre, sizeof(pre));
    }
    tc_store_cursor_close(c);
    if (rc != TC_ENOTFOUND)
        return rc;
    tc_hasher_final(&h, out);
    return 0;
}

int tc_utxo_verify(tc_store_txn *t, tc_lthash_cache *elements)
{
    TC_ASSERT(t != NULL);
    tc_hash stored, rebuilt;
    uint64_t stored_total, rebuilt_total;
    int rc = tc_utxo_root(t, &stored);
    if (rc == 0)
        rc = tc_utxo_total(t, &stored_total);
    if (rc == 0)
        rc = tc_utxo_recompute(t, elements, &rebuilt, &rebuilt_total);
    if (rc != 0)
        return rc;
    if (!hash_eq(&stored, &rebuilt) || stored_total != rebuilt_total)
        return TC_ESTORE_CORRUPT;
    return 0;
}
