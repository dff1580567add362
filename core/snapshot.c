/* snapshot.c — state snapshots: capture from a store, the manifest and chunk codecs, their
 * verification against a certified block, and the atomic apply (snapshot.h, PROTOCOL 13.2).
 */
#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "utxo.h"

#define TAG_CHUNK    "tc/snapchunk"
#define TAG_MANIFEST "tc/snapmanifest"
#define META_TIP     "chain/tip"
#define META_SUPPLY  "chain/supply"
#define META_CARRY   "chain/carry/"
#define SUPPLY_SIZE  (4 * 8)

/* The tables a snapshot carries, in stream order (table id order). */
static const tc_table snap_tables[] = {TC_TABLE_META, TC_TABLE_UTXO, TC_TABLE_TXIDX, TC_TABLE_MN,
                                       TC_TABLE_EVIDENCE};
/* The tables tc_snapshot_apply empties (the chain's, not the node's LOCKS). */
static const tc_table wiped_tables[] = {TC_TABLE_UTXO,     TC_TABLE_SPENT, TC_TABLE_BLOCKS,
                                        TC_TABLE_BLOCKIDX, TC_TABLE_TXIDX, TC_TABLE_MN,
                                        TC_TABLE_EVIDENCE};

static bool meta_key_carried(const uint8_t *k, size_t n)
{
    size_t pre = strlen(META_CARRY);
    if (n == strlen(META_SUPPLY) && memcmp(k, META_SUPPLY, n) == 0)
        return true;
    return n == pre + 4 && memcmp(k, META_CARRY, pre) == 0;
}

/* Whether (table, key) may appear in a snapshot; the value's shape for UTXO records. */
static bool record_allowed(uint8_t table, const uint8_t *k, uint32_t kn, uint32_t vn)
{
    switch (table) {
    case TC_TABLE_META:
        return meta_key_carried(k, kn);
    case TC_TABLE_UTXO:
        return kn == TC_OUTPOINT_SIZE && vn == TC_SNAPSHOT_UTXO_VALUE_SIZE;
    case TC_TABLE_TXIDX:
    case TC_TABLE_MN:
    case TC_TABLE_EVIDENCE:
        return kn == TC_HASH_SIZE;
    default:
        return false;
    }
}

/* (table, key) order: table id first, then the store's key order (memcmp, shorter first). */
static int record_cmp(uint8_t ta, const uint8_t *ka, size_t na, uint8_t tb, const uint8_t *kb,
                      size_t nb)
{
    if (ta != tb)
        return ta < tb ? -1 : 1;
    int c = memcmp(ka, kb, na < nb ? na : nb);
    if (c != 0)
        return c;
    return na == nb ? 0 : (na < nb ? -1 : 1);
}

/* ---- chunk parsing (shared by check and apply) ---- */

typedef struct {
    uint8_t table;
    const uint8_t *key;
    uint32_t klen;
    const uint8_t *val;
    uint32_t vlen;
} record;

/* Reads the next record of r; false at a malformed one (r failed). */
static bool record_read(tc_reader *r, record *out)
{
    out->table = tc_get_u8(r);
    out->key = tc_get_bytes(r, TC_SNAPSHOT_KEY_MAX, &out->klen);
    out->val = tc_get_bytes(r, TC_SNAPSHOT_VALUE_MAX, &out->vlen);
    if (r->err != 0 || out->klen == 0 ||
        !record_allowed(out->table, out->key, out->klen, out->vlen)) {
        tc_reader_fail(r, TC_ESNAPSHOT);
        return false;
    }
    return true;
}

/* The UTXO element preimage of a record: key 36 | chain data 37 (utxo.h, "Root"). */
static void utxo_fold(tc_lthash *acc, const record *rec, tc_lthash_cache *elements)
{
    uint8_t pre[TC_OUTPOINT_SIZE + TC_SNAPSHOT_UTXO_VALUE_SIZE];
    memcpy(pre, rec->key, TC_OUTPOINT_SIZE);
    memcpy(pre + TC_OUTPOINT_SIZE, rec->val, TC_SNAPSHOT_UTXO_VALUE_SIZE);
    tc_lthash_fold(acc, TC_TAG_UTXO, pre, sizeof(pre), 1, elements);
}

static bool utxo_flags_ok(const record *rec)
{
    return (rec->val[36] & ~TC_UTXO_FLAGS_KNOWN) == 0;
}

/* Computes a chunk's info from its bytes: TC_ESNAPSHOT when they do not parse, are out of
 * order, or exceed the limits. */
static int chunk_info(const uint8_t *bytes, size_t n, tc_lthash_cache *elements,
                      tc_snapshot_chunk_info *info)
{
    tc_reader r;
    record prev = {0}, rec;
    memset(info, 0, sizeof(*info));
    if (n > TC_SNAPSHOT_CHUNK_BYTES_MAX)
        return TC_ESNAPSHOT;
    tc_hash_tagged(&info->hash, TAG_CHUNK, bytes, n);
    tc_reader_init(&r, bytes, n);
    uint32_t count = tc_get_u32(&r);
    if (r.err != 0 || count == 0 || count > TC_SNAPSHOT_CHUNK_RECORDS_MAX)
        return TC_ESNAPSHOT;
    for (uint32_t i = 0; i < count; i++) {
        if (!record_read(&r, &rec))
            return TC_ESNAPSHOT;
        if (i > 0 && record_cmp(prev.table, prev.key, prev.klen, rec.table, rec.key, rec.klen) >= 0)
            return TC_ESNAPSHOT;
        if (rec.table == TC_TABLE_UTXO) {
            if (!utxo_flags_ok(&rec) || tc_add_u64(&info->utxo_total, tc_load_u64(rec.val)) != 0)
                return TC_ESNAPSHOT;
            info->utxo_count++;
            utxo_fold(&info->acc, &rec, elements);
        }
        prev = rec;
    }
    if (tc_reader_finish(&r) != 0)
        return TC_ESNAPSHOT;
    info->record_count = count;
    return 0;
}

/* ---- capture ---- */

typedef struct {
    uint8_t *buf; /* the whole stream: records back to back */
    size_t len, cap;
    size_t *offsets; /* start of each record */
    uint32_t count, offsets_cap;
} stream;

static int stream_add(stream *s, uint8_t table, const void *k, size_t kn, const void *v, size_t vn)
{
    if (kn > TC_SNAPSHOT_KEY_MAX || vn > TC_SNAPSHOT_VALUE_MAX)
        return TC_ETOOLONG;
    size_t need = 1 + 4 + kn + 4 + vn;
    if (s->len + need > s->cap) {
        size_t cap = s->cap == 0 ? 1u << 16 : s->cap;
        while (cap < s->len + need)
            cap *= 2;
        uint8_t *b = realloc(s->buf, cap);
        if (b == NULL)
            return TC_ENOMEM;
        s->buf = b;
        s->cap = cap;
    }
    if (s->count == s->offsets_cap) {
        uint32_t cap = s->offsets_cap == 0 ? 1024 : s->offsets_cap * 2;
        size_t *o = realloc(s->offsets, cap * sizeof(*o));
        if (o == NULL)
            return TC_ENOMEM;
        s->offsets = o;
        s->offsets_cap = cap;
    }
    s->offsets[s->count++] = s->len;
    tc_writer w;
    tc_writer_init(&w, s->buf + s->len, need);
    tc_put_u8(&w, table);
    tc_put_bytes(&w, k, (uint32_t)kn);
    tc_put_bytes(&w, v, (uint32_t)vn);
    TC_ASSERT(w.err == 0 && w.len == need);
    s->len += need;
    return 0;
}

static int stream_table(stream *s, tc_store_txn *t, tc_table table)
{
    tc_store_cursor *c = NULL;
    const void *k, *v;
    size_t kn, vn;
    int rc = tc_store_cursor_open(t, table, &c);
    while (rc == 0 && (rc = tc_store_cursor_next(c, &k, &kn, &v, &vn)) == 0) {
        if (table == TC_TABLE_META && !meta_key_carried(k, kn))
            continue;
        if (table == TC_TABLE_UTXO && vn < TC_SNAPSHOT_UTXO_VALUE_SIZE)
            rc = TC_ESTORE_CORRUPT;
        else
            rc = stream_add(s, (uint8_t)table, k, kn, v,
                            table == TC_TABLE_UTXO ? TC_SNAPSHOT_UTXO_VALUE_SIZE : vn);
    }
    if (c != NULL)
        tc_store_cursor_close(c);
    return rc == TC_ENOTFOUND ? 0 : rc;
}

/* Records per chunk: a function of the record count alone, so honest nodes cut alike. */
static uint32_t per_chunk_of(uint32_t count)
{
    uint32_t per = (count + TC_SNAPSHOT_CHUNKS_MAX - 1) / TC_SNAPSHOT_CHUNKS_MAX;
    return per < TC_SNAPSHOT_CHUNK_RECORDS_MIN ? TC_SNAPSHOT_CHUNK_RECORDS_MIN : per;
}

/* Cuts s into chunks (their infos come with the seal). */
static int cut_chunks(tc_snapshot *snap, const stream *s)
{
    tc_snapshot_manifest *m = &snap->manifest;
    m->per_chunk = per_chunk_of(s->count);
    if (m->per_chunk > TC_SNAPSHOT_CHUNK_RECORDS_MAX)
        return TC_ETOOLONG;
    m->chunk_count = s->count == 0 ? 0 : (s->count + m->per_chunk - 1) / m->per_chunk;
    TC_ASSERT(m->chunk_count <= TC_SNAPSHOT_CHUNKS_MAX);
    m->chunks = tc_calloc(m->chunk_count + 1, sizeof(*m->chunks));
    snap->chunk_bytes = tc_calloc(m->chunk_count + 1, sizeof(*snap->chunk_bytes));
    snap->chunk_lens = tc_calloc(m->chunk_count + 1, sizeof(*snap->chunk_lens));
    if (m->chunks == NULL || snap->chunk_bytes == NULL || snap->chunk_lens == NULL)
        return TC_ENOMEM;
    for (uint32_t i = 0; i < m->chunk_count; i++) {
        uint32_t first = i * m->per_chunk;
        uint32_t last = first + m->per_chunk < s->count ? first + m->per_chunk : s->count;
        size_t from = s->offsets[first], to = last < s->count ? s->offsets[last] : s->len;
        size_t len = 4 + (to - from);
        if (len > TC_SNAPSHOT_CHUNK_BYTES_MAX)
            return TC_ETOOLONG;
        uint8_t *b = tc_malloc(len);
        if (b == NULL)
            return TC_ENOMEM;
        tc_store_u32(b, last - first);
        memcpy(b + 4, s->buf + from, to - from);
        snap->chunk_bytes[i] = b;
        snap->chunk_lens[i] = len;
    }
    return 0;
}

int tc_snapshot_seal(tc_snapshot *s, tc_lthash_cache *elements)
{
    TC_ASSERT(s != NULL);
    if (s->sealed)
        return 0;
    tc_snapshot_manifest *m = &s->manifest;
    for (uint32_t i = 0; i < m->chunk_count; i++) {
        int rc = chunk_info(s->chunk_bytes[i], s->chunk_lens[i], elements, &m->chunks[i]);
        TC_ASSERT(rc == 0); /* a store's own records, encoded by capture */
    }
    int rc = tc_snapshot_manifest_encode(m, &s->manifest_bytes, &s->manifest_len);
    if (rc != 0)
        return rc;
    tc_snapshot_manifest_id(m, &s->manifest_id);
    s->sealed = true;
    return 0;
}

/* A deep copy through the codec: blocks have no copy function of their own. */
static int block_copy(tc_block *dst, const tc_block *src)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = tc_block_encode_alloc(src, &bytes, &len);
    if (rc == 0)
        rc = tc_block_decode(dst, bytes, len);
    free(bytes);
    return rc == 0 || rc == TC_ENOMEM ? rc : TC_ESTORE_CORRUPT;
}

int tc_snapshot_capture(tc_store *store, const tc_block *tip, const tc_commit *commit,
                        tc_snapshot **out)
{
    TC_ASSERT(store != NULL && tip != NULL && commit != NULL && out != NULL);
    TC_ASSERT(commit->height == tip->header.height);
    *out = NULL;
    stream s = {0};
    tc_store_txn *t = NULL;
    tc_snapshot *snap = tc_calloc(1, sizeof(*snap));
    if (snap == NULL)
        return TC_ENOMEM;
    int rc = tc_store_begin(store, false, &t);
    for (size_t i = 0; rc == 0 && i < TC_ARRAY_LEN(snap_tables); i++)
        rc = stream_table(&s, t, snap_tables[i]);
    if (t != NULL)
        tc_store_abort(t);
    snap->manifest.height = tip->header.height;
    if (rc == 0)
        rc = block_copy(&snap->manifest.block, tip);
    if (rc == 0)
        rc = tc_commit_copy(&snap->manifest.commit, commit);
    if (rc == 0)
        rc = cut_chunks(snap, &s);
    free(s.buf);
    free(s.offsets);
    if (rc != 0) {
        tc_snapshot_free(snap);
        return rc;
    }
    *out = snap;
    return 0;
}

void tc_snapshot_free(tc_snapshot *s)
{
    if (s == NULL)
        return;
    for (uint32_t i = 0; s->chunk_bytes != NULL && i < s->manifest.chunk_count; i++)
        free(s->chunk_bytes[i]);
    free(s->chunk_bytes);
    free(s->chunk_lens);
    free(s->manifest_bytes);
    tc_snapshot_manifest_deinit(&s->manifest);
    free(s);
}

/* ---- manifest codec ---- */

static void manifest_write(tc_writer *w, const tc_snapshot_manifest *m)
{
    tc_put_u64(w, m->height);
    tc_block_encode(w, &m->block);
    tc_commit_encode(w, &m->commit);
    tc_put_u32(w, m->per_chunk);
    tc_put_u32(w, m->chunk_count);
    for (uint32_t i = 0; i < m->chunk_count; i++) {
        const tc_snapshot_chunk_info *c = &m->chunks[i];
        TC_PUT_HASH(w, &c->hash);
        tc_put_u32(w, c->record_count);
        tc_put_u32(w, c->utxo_count);
        tc_put_u64(w, c->utxo_total);
        for (size_t k = 0; k < TC_LTHASH_LANES; k++)
            tc_put_u16(w, c->acc.lanes[k]);
    }
}

int tc_snapshot_manifest_encode(const tc_snapshot_manifest *m, uint8_t **out, size_t *len_out)
{
    TC_ASSERT(m != NULL && out != NULL && len_out != NULL);
    tc_writer w;
    tc_writer_init(&w, NULL, 0);
    manifest_write(&w, m);
    *out = tc_malloc(w.len);
    if (*out == NULL)
        return TC_ENOMEM;
    size_t cap = w.len;
    tc_writer_init(&w, *out, cap);
    manifest_write(&w, m);
    TC_ASSERT(tc_writer_finish(&w, len_out) == 0 && *len_out == cap);
    return 0;
}

static void info_read(tc_reader *r, tc_snapshot_chunk_info *c)
{
    TC_GET_HASH(r, &c->hash);
    c->record_count = tc_get_u32(r);
    c->utxo_count = tc_get_u32(r);
    c->utxo_total = tc_get_u64(r);
    for (size_t k = 0; k < TC_LTHASH_LANES; k++)
        c->acc.lanes[k] = tc_get_u16(r);
}

int tc_snapshot_manifest_decode(tc_snapshot_manifest *m, const uint8_t *bytes, size_t n)
{
    TC_ASSERT(m != NULL && (bytes != NULL || n == 0));
    tc_reader r;
    memset(m, 0, sizeof(*m));
    tc_reader_init(&r, bytes, n);
    m->height = tc_get_u64(&r);
    int rc = tc_block_read(&r, &m->block);
    if (rc == 0)
        rc = tc_commit_read(&r, &m->commit);
    if (rc == TC_ENOMEM)
        goto fail;
    m->per_chunk = tc_get_u32(&r);
    uint32_t count = tc_get_count(&r, TC_SNAPSHOT_CHUNKS_MAX, TC_SNAPSHOT_INFO_SIZE);
    if (rc != 0 || r.err != 0 || count == 0 || m->per_chunk == 0 ||
        m->per_chunk > TC_SNAPSHOT_CHUNK_RECORDS_MAX) {
        rc = TC_ESNAPSHOT;
        goto fail;
    }
    m->chunks = tc_calloc(count, sizeof(*m->chunks));
    if (m->chunks == NULL) {
        rc = TC_ENOMEM;
        goto fail;
    }
    m->chunk_count = count;
    for (uint32_t i = 0; i < count; i++) {
        info_read(&r, &m->chunks[i]);
        const tc_snapshot_chunk_info *c = &m->chunks[i];
        /* Every chunk but the last is full; the last holds 1..per_chunk records. */
        bool shape = c->utxo_count <= c->record_count &&
                     (i + 1 < count ? c->record_count == m->per_chunk
                                    : c->record_count >= 1 && c->record_count <= m->per_chunk);
        if (!shape)
            tc_reader_fail(&r, TC_ESNAPSHOT);
    }
    if (tc_reader_finish(&r) == 0)
        return 0;
    rc = TC_ESNAPSHOT;
fail:
    tc_snapshot_manifest_deinit(m);
    return rc;
}

void tc_snapshot_manifest_deinit(tc_snapshot_manifest *m)
{
    if (m == NULL)
        return;
    tc_block_deinit(&m->block);
    tc_commit_deinit(&m->commit);
    free(m->chunks);
    memset(m, 0, sizeof(*m));
}

void tc_snapshot_manifest_id(const tc_snapshot_manifest *m, tc_hash *out)
{
    TC_ASSERT(m != NULL && out != NULL);
    uint8_t buf[8 + TC_HASH_SIZE + 4 + TC_SNAPSHOT_INFO_SIZE];
    tc_hash block;
    tc_hasher h;
    tc_writer w;
    tc_block_hash(&m->block.header, &block);
    tc_hasher_init(&h, TAG_MANIFEST);
    tc_writer_init(&w, buf, sizeof(buf));
    tc_put_u64(&w, m->height);
    TC_PUT_HASH(&w, &block);
    tc_put_u32(&w, m->per_chunk);
    tc_hasher_update(&h, buf, w.len);
    for (uint32_t i = 0; i < m->chunk_count; i++) {
        const tc_snapshot_chunk_info *c = &m->chunks[i];
        tc_writer_init(&w, buf, sizeof(buf));
        TC_PUT_HASH(&w, &c->hash);
        tc_put_u32(&w, c->record_count);
        tc_put_u32(&w, c->utxo_count);
        tc_put_u64(&w, c->utxo_total);
        for (size_t k = 0; k < TC_LTHASH_LANES; k++)
            tc_put_u16(&w, c->acc.lanes[k]);
        TC_ASSERT(w.err == 0 && w.len == TC_SNAPSHOT_INFO_SIZE);
        tc_hasher_update(&h, buf, w.len);
    }
    tc_hasher_final(&h, out);
}

/* ---- verification ---- */

/* The UTXO META the manifest's chunks add up to; TC_ESNAPSHOT on an overflowing total. */
static int manifest_sum(const tc_snapshot_manifest *m, tc_utxo_meta *sum)
{
    memset(sum, 0, sizeof(*sum));
    for (uint32_t i = 0; i < m->chunk_count; i++) {
        const tc_snapshot_chunk_info *c = &m->chunks[i];
        for (size_t k = 0; k < TC_LTHASH_LANES; k++)
            sum->acc.lanes[k] = (uint16_t)(sum->acc.lanes[k] + c->acc.lanes[k]);
        if (tc_add_u64(&sum->total, c->utxo_total) != 0)
            return TC_ESNAPSHOT;
        sum->count += c->utxo_count;
    }
    return 0;
}

int tc_snapshot_manifest_check(const tc_snapshot_manifest *m, const tc_vset *vs,
                               const tc_verifier *verifier)
{
    TC_ASSERT(m != NULL && vs != NULL && verifier != NULL);
    tc_hash hash, root;
    tc_utxo_meta sum;
    tc_block_hash(&m->block.header, &hash);
    if (m->height == 0 || m->block.header.height != m->height || m->commit.height != m->height ||
        memcmp(m->commit.block.b, hash.b, TC_HASH_SIZE) != 0)
        return TC_ESNAPSHOT;
    int rc = tc_commit_verify(&m->commit, vs, verifier, m->height, &hash);
    if (rc != 0)
        return rc;
    if (manifest_sum(m, &sum) != 0)
        return TC_ESNAPSHOT;
    tc_utxo_meta_root(&sum, &root);
    return memcmp(root.b, m->block.header.utxo_root.b, TC_HASH_SIZE) == 0 ? 0 : TC_ESNAPSHOT;
}

int tc_snapshot_chunk_check(const tc_snapshot_manifest *m, uint32_t index, const uint8_t *bytes,
                            size_t n, tc_lthash_cache *elements)
{
    TC_ASSERT(m != NULL && (bytes != NULL || n == 0));
    if (index >= m->chunk_count)
        return TC_ESNAPSHOT;
    const tc_snapshot_chunk_info *want = &m->chunks[index];
    tc_hash h;
    tc_hash_tagged(&h, TAG_CHUNK, bytes, n);
    if (memcmp(h.b, want->hash.b, TC_HASH_SIZE) != 0)
        return TC_ESNAPSHOT; /* cheap first: a corrupt chunk costs no element */
    tc_snapshot_chunk_info got;
    int rc = chunk_info(bytes, n, elements, &got);
    if (rc != 0)
        return rc;
    bool same = got.record_count == want->record_count && got.utxo_count == want->utxo_count &&
                got.utxo_total == want->utxo_total &&
                memcmp(&got.acc, &want->acc, sizeof(got.acc)) == 0;
    return same ? 0 : TC_ESNAPSHOT;
}

/* ---- apply ---- */

static void height_key(uint64_t height, uint8_t key[8])
{
    for (int i = 0; i < 8; i++)
        key[i] = (uint8_t)(height >> (56 - 8 * i));
}

/* Deletes every record of table (of META: the carry lists only; the other chain records are
 * overwritten). Re-seeks after each delete: a write invalidates the cursor (store.h). */
static int wipe_table(tc_store_txn *t, tc_table table)
{
    uint8_t key[TC_STORE_KEY_MAX];
    size_t klen = 0;
    for (;;) {
        tc_store_cursor *c = NULL;
        const void *k, *v;
        size_t kn, vn;
        int rc = tc_store_cursor_open(t, table, &c);
        if (rc != 0)
            return rc;
        rc = klen > 0 ? tc_store_cursor_seek(c, key, klen) : 0;
        while (rc == 0 && (rc = tc_store_cursor_next(c, &k, &kn, &v, &vn)) == 0 &&
               table == TC_TABLE_META && !(meta_key_carried(k, kn) && kn != strlen(META_SUPPLY)))
            ;
        if (rc == 0) {
            TC_ASSERT(kn <= sizeof(key));
            memcpy(key, k, kn);
            klen = kn;
        }
        tc_store_cursor_close(c);
        if (rc == TC_ENOTFOUND)
            return 0;
        if (rc == 0)
            rc = tc_store_del(t, table, key, klen);
        if (rc != 0)
            return rc;
    }
}

/* The chain's supply record among the records, checked against the sums and the height. */
static int supply_check(const record *rec, uint64_t genesis_supply, const tc_utxo_meta *sum,
                        uint64_t height, uint64_t block_reward)
{
    if (rec->vlen != SUPPLY_SIZE)
        return TC_ESNAPSHOT;
    uint64_t genesis = tc_load_u64(rec->val), rewards = tc_load_u64(rec->val + 8);
    uint64_t burned = tc_load_u64(rec->val + 16), want = genesis;
    /* rewards = height x block_reward, without a multiplication that could overflow */
    bool rewards_ok = block_reward == 0
                          ? rewards == 0
                          : rewards % block_reward == 0 && rewards / block_reward == height;
    if (genesis != genesis_supply || !rewards_ok || tc_add_u64(&want, rewards) != 0 ||
        want < burned || want - burned != sum->total)
        return TC_ESNAPSHOT;
    return 0;
}

typedef struct {
    uint8_t table;
    uint8_t key[TC_SNAPSHOT_KEY_MAX];
    uint32_t klen;
    bool any;
    bool supply_seen;
    uint64_t genesis_supply;
    const tc_utxo_meta *sum;
    uint64_t height, block_reward;
} apply_state;

static int put_record(tc_store_txn *t, apply_state *st, const record *rec)
{
    if (st->any && record_cmp(st->table, st->key, st->klen, rec->table, rec->key, rec->klen) >= 0)
        return TC_ESNAPSHOT; /* chunks out of order, or overlapping */
    st->any = true;
    st->table = rec->table;
    st->klen = rec->klen;
    memcpy(st->key, rec->key, rec->klen);
    if (rec->table == TC_TABLE_UTXO) {
        uint8_t entry[TC_UTXO_ENTRY_SIZE] = {0}; /* Unspent, no txid: locks are a node's own */
        memcpy(entry, rec->val, TC_SNAPSHOT_UTXO_VALUE_SIZE);
        return tc_store_put(t, TC_TABLE_UTXO, rec->key, rec->klen, entry, sizeof(entry));
    }
    if (rec->table == TC_TABLE_META && rec->klen == strlen(META_SUPPLY)) {
        int rc = supply_check(rec, st->genesis_supply, st->sum, st->height, st->block_reward);
        if (rc != 0)
            return rc;
        st->supply_seen = true;
    }
    return tc_store_put(t, (tc_table)rec->table, rec->key, rec->klen, rec->val, rec->vlen);
}

static int put_chunk(tc_store_txn *t, apply_state *st, const uint8_t *bytes, size_t n)
{
    tc_reader r;
    record rec;
    tc_reader_init(&r, bytes, n);
    uint32_t count = tc_get_u32(&r);
    for (uint32_t i = 0; i < count && r.err == 0; i++) {
        if (!record_read(&r, &rec))
            return TC_ESNAPSHOT;
        int rc = put_record(t, st, &rec);
        if (rc != 0)
            return rc;
    }
    return tc_reader_finish(&r) == 0 ? 0 : TC_ESNAPSHOT;
}

static int read_genesis_supply(tc_store_txn *t, uint64_t *out)
{
    const void *v;
    size_t n;
    int rc = tc_store_get(t, TC_TABLE_META, META_SUPPLY, strlen(META_SUPPLY), &v, &n);
    if (rc != 0)
        return rc == TC_ENOTFOUND ? TC_ESTORE_CORRUPT : rc;
    if (n != SUPPLY_SIZE)
        return TC_ESTORE_CORRUPT;
    *out = tc_load_u64(v);
    return 0;
}

/* The tip: its block (BLOCKS, BLOCKIDX), META tip, the UTXO META, and its certificate. */
static int put_tip(tc_store_txn *t, const tc_snapshot_manifest *m, const tc_utxo_meta *sum)
{
    uint8_t hk[8], tip[8 + TC_HASH_SIZE + 8], *bytes = NULL, *cbytes = NULL;
    size_t len = 0, clen = 0;
    tc_hash hash;
    tc_block_hash(&m->block.header, &hash);
    height_key(m->height, hk);
    tc_store_u64(tip, m->height);
    memcpy(tip + 8, hash.b, TC_HASH_SIZE);
    tc_store_u64(tip + 8 + TC_HASH_SIZE, m->block.header.time_ms);
    tc_writer w;
    tc_writer_init(&w, NULL, 0);
    tc_commit_encode(&w, &m->commit);
    cbytes = tc_malloc(w.len);
    int rc = cbytes == NULL ? TC_ENOMEM : tc_block_encode_alloc(&m->block, &bytes, &len);
    if (rc == 0) {
        size_t cap = w.len;
        tc_writer_init(&w, cbytes, cap);
        tc_commit_encode(&w, &m->commit);
        TC_ASSERT(tc_writer_finish(&w, &clen) == 0 && clen == cap);
        rc = tc_store_put(t, TC_TABLE_BLOCKS, hk, sizeof(hk), bytes, len);
    }
    if (rc == 0)
        rc = tc_store_put(t, TC_TABLE_BLOCKIDX, hash.b, TC_HASH_SIZE, hk, sizeof(hk));
    if (rc == 0)
        rc = tc_store_put(t, TC_TABLE_META, META_TIP, strlen(META_TIP), tip, sizeof(tip));
    if (rc == 0)
        rc = tc_utxo_meta_save(t, sum);
    if (rc == 0)
        rc = tc_store_put(t, TC_TABLE_LOCKS, TC_SNAPSHOT_TIP_COMMIT_KEY,
                          strlen(TC_SNAPSHOT_TIP_COMMIT_KEY), cbytes, clen);
    free(bytes);
    free(cbytes);
    return rc;
}

static int apply_txn(tc_store_txn *t, const tc_snapshot_manifest *m, uint8_t *const *chunks,
                     const size_t *lens, apply_state *st)
{
    int rc = read_genesis_supply(t, &st->genesis_supply);
    for (size_t i = 0; rc == 0 && i < TC_ARRAY_LEN(wiped_tables); i++)
        rc = wipe_table(t, wiped_tables[i]);
    if (rc == 0)
        rc = wipe_table(t, TC_TABLE_META);
    for (uint32_t i = 0; rc == 0 && i < m->chunk_count; i++)
        rc = put_chunk(t, st, chunks[i], lens[i]);
    if (rc == 0 && !st->supply_seen)
        rc = TC_ESNAPSHOT;
    if (rc == 0)
        rc = put_tip(t, m, st->sum);
    return rc;
}

int tc_snapshot_apply(tc_store *store, const tc_snapshot_manifest *m, uint8_t *const *chunks,
                      const size_t *lens, uint64_t block_reward)
{
    TC_ASSERT(store != NULL && m != NULL && chunks != NULL && lens != NULL);
    TC_ASSERT(m->chunk_count > 0 && m->height > 0);
    tc_utxo_meta sum;
    if (manifest_sum(m, &sum) != 0)
        return TC_ESNAPSHOT;
    apply_state st = {.sum = &sum, .height = m->height, .block_reward = block_reward};
    tc_store_txn *t = NULL;
    int rc = tc_store_begin(store, true, &t);
    if (rc != 0)
        return rc;
    rc = apply_txn(t, m, chunks, lens, &st);
    if (rc == 0)
        return tc_store_commit(t);
    tc_store_abort(t);
    return rc;
}
