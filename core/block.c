/* block.c — blocks, votes, commit certificates, evidence, finality certificates and handoffs:
 * their canonical encodings, decoders and hashes (see block.h). */
#include "block.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(TC_FINCERT_BITMAP_HARD_MAX * 8 == TC_COMMIT_SIGS_MAX, "bitmap covers the cap");
_Static_assert(TC_REWARD_SIZE == 28, "reward output is amount + address hash");

/* ---- sinks ----
 * Every encoder writes through a sink: either straight into the caller's writer, or into a small
 * chunk on the stack that is flushed into a hasher between elements. So the block hash and the
 * tx root are computed from the very code that encodes, without the whole encoding in memory.
 * Between two steps an encoder appends at most SINK_FLUSH_AT bytes (the largest pieces are a
 * run of fincert references, 1020 bytes, and a fincert's head with its bitmap, 524 bytes);
 * transactions, which can be far larger, go through sink_tx. */
#define SINK_CHUNK_SIZE 8192
#define SINK_FLUSH_AT   1024

/* A fincert's references are written in runs of this many, a piece each. */
#define FINCERT_REFS_PER_STEP (SINK_FLUSH_AT / TC_BATCH_REF_SIZE)

_Static_assert(4 + 4 + TC_FINCERT_BITMAP_HARD_MAX + 4 <= SINK_FLUSH_AT && FINCERT_REFS_PER_STEP > 0,
               "largest pieces fit");
_Static_assert(SINK_FLUSH_AT * 2 <= SINK_CHUNK_SIZE, "a piece after the last flush fits");

typedef struct {
    tc_writer *w;
    tc_hasher *hasher; /* NULL: plain encoding into w */
    uint8_t *chunk;    /* w's buffer when hashing */
    int err;           /* TC_ENOMEM while hashing a large transaction */
    size_t hashed;     /* bytes fed to the hasher so far */
    uint8_t *copy;     /* NULL, or where the hashed bytes are copied while they fit copy_cap */
    size_t copy_cap;
} sink;

static void sink_plain(sink *s, tc_writer *w)
{
    s->w = w;
    s->hasher = NULL;
    s->chunk = NULL;
    s->err = 0;
}

static void sink_hashing(sink *s, tc_writer *w, tc_hasher *hasher, uint8_t *chunk)
{
    tc_writer_init(w, chunk, SINK_CHUNK_SIZE);
    s->w = w;
    s->hasher = hasher;
    s->chunk = chunk;
    s->err = 0;
    s->hashed = 0;
    s->copy = NULL;
    s->copy_cap = 0;
}

/* Feeds n bytes to the hasher, and to the copy while they fit it. */
static void sink_feed(sink *s, const uint8_t *p, size_t n)
{
    tc_hasher_update(s->hasher, p, n);
    if (s->copy != NULL && n <= s->copy_cap && s->hashed <= s->copy_cap - n)
        memcpy(s->copy + s->hashed, p, n);
    s->hashed += n;
}

static void sink_flush(sink *s)
{
    if (s->hasher == NULL)
        return;
    /* A piece never exceeds the room left after a step, so the chunk cannot overflow. */
    TC_ASSERT(s->w->err == 0 && s->w->len <= SINK_CHUNK_SIZE);
    sink_feed(s, s->chunk, s->w->len);
    tc_writer_init(s->w, s->chunk, SINK_CHUNK_SIZE);
}

/* Called after each piece: flushes when the chunk is half full. */
static void sink_step(sink *s)
{
    if (s->hasher != NULL && s->w->len >= SINK_FLUSH_AT)
        sink_flush(s);
}

static void sink_tx(sink *s, const tc_tx *tx)
{
    if (s->hasher == NULL) {
        tc_tx_encode(s->w, tx);
        return;
    }
    size_t size = tc_tx_encoded_size(tx);
    if (s->w->len + size <= SINK_CHUNK_SIZE) {
        tc_tx_encode(s->w, tx); /* fits the chunk: hashed with its neighbours */
        sink_step(s);
        return;
    }
    sink_flush(s);
    if (size <= SINK_CHUNK_SIZE) {
        tc_tx_encode(s->w, tx);
        sink_step(s);
        return;
    }
    uint8_t *buf = tc_malloc(size);
    if (buf == NULL) {
        s->err = TC_ENOMEM;
        return;
    }
    tc_writer big;
    size_t len = 0;
    tc_writer_init(&big, buf, size);
    tc_tx_encode(&big, tx);
    TC_ASSERT(tc_writer_finish(&big, &len) == 0 && len == size);
    sink_feed(s, buf, len);
    free(buf);
}

/* ---- votes ---- */

static bool vote_type_ok(uint8_t type)
{
    return type == TC_VOTE_PREVOTE || type == TC_VOTE_PRECOMMIT;
}

bool tc_vote_pol_ok(const tc_vote *v)
{
    TC_ASSERT(v != NULL);
    if (v->pol_round == TC_ROUND_NONE)
        return true;
    return v->type == TC_VOTE_PREVOTE && v->pol_round < v->round;
}

static void vote_put_unsigned(tc_writer *w, const tc_vote *v)
{
    tc_put_u8(w, v->type);
    tc_put_u64(w, v->height);
    tc_put_u32(w, v->round);
    tc_put_u32(w, v->pol_round);
    TC_PUT_HASH(w, &v->block);
    tc_put_u32(w, v->validator);
}

void tc_vote_sign_hash(const tc_vote *v, tc_hash *out)
{
    TC_ASSERT(v != NULL && out != NULL);
    uint8_t buf[TC_VOTE_SIZE - TC_SIG_SIZE];
    tc_writer w;
    size_t len = 0;
    tc_writer_init(&w, buf, sizeof(buf));
    vote_put_unsigned(&w, v);
    TC_ASSERT(tc_writer_finish(&w, &len) == 0 && len == sizeof(buf));
    tc_hash_tagged(out, TC_TAG_VOTE, buf, len);
}

void tc_vote_sign(tc_vote *v, tc_sig_scheme scheme, const tc_keypair *kp)
{
    TC_ASSERT(v != NULL && kp != NULL);
    TC_ASSERT(vote_type_ok(v->type) && tc_vote_pol_ok(v));
    tc_hash msg;
    tc_vote_sign_hash(v, &msg);
    tc_sign(scheme, kp, &msg, &v->sig);
}

int tc_vote_verify(const tc_vote *v, const tc_verifier *verifier, const tc_pubkey *pub)
{
    TC_ASSERT(v != NULL && verifier != NULL && pub != NULL);
    tc_hash msg;
    tc_vote_sign_hash(v, &msg);
    return tc_verify(verifier, pub, &msg, &v->sig);
}

void tc_vote_encode(tc_writer *w, const tc_vote *v)
{
    TC_ASSERT(w != NULL && v != NULL);
    vote_put_unsigned(w, v);
    tc_put_raw(w, v->sig.b, TC_SIG_SIZE);
}

int tc_vote_read(tc_reader *r, tc_vote *v)
{
    TC_ASSERT(r != NULL && v != NULL);
    memset(v, 0, sizeof(*v));
    v->type = tc_get_u8(r);
    if (r->err == 0 && !vote_type_ok(v->type))
        tc_reader_fail(r, TC_ERANGE);
    v->height = tc_get_u64(r);
    v->round = tc_get_u32(r);
    v->pol_round = tc_get_u32(r);
    if (r->err == 0 && !tc_vote_pol_ok(v))
        tc_reader_fail(r, TC_ERANGE);
    TC_GET_HASH(r, &v->block);
    v->validator = tc_get_u32(r);
    tc_get_raw(r, v->sig.b, TC_SIG_SIZE);
    if (r->err != 0) {
        memset(v, 0, sizeof(*v));
        return r->err;
    }
    return 0;
}

int tc_vote_decode(tc_vote *v, const uint8_t *bytes, size_t n)
{
    TC_ASSERT(v != NULL);
    tc_reader r;
    tc_reader_init(&r, bytes, n);
    (void)tc_vote_read(&r, v);
    int rc = tc_reader_finish(&r);
    if (rc != 0)
        memset(v, 0, sizeof(*v));
    return rc;
}

bool tc_vote_is_nil(const tc_vote *v)
{
    static const tc_hash zero;
    TC_ASSERT(v != NULL);
    return memcmp(v->block.b, zero.b, TC_HASH_SIZE) == 0;
}

/* ---- commit certificates ---- */

void tc_commit_deinit(tc_commit *c)
{
    if (c == NULL)
        return;
    free(c->sigs);
    memset(c, 0, sizeof(*c));
}

int tc_commit_copy(tc_commit *dst, const tc_commit *src)
{
    TC_ASSERT(dst != NULL && src != NULL && dst != src);
    TC_ASSERT(src->sig_count == 0 || src->sigs != NULL);
    *dst = *src;
    dst->sigs = NULL;
    if (src->sig_count == 0)
        return 0;
    dst->sigs = tc_malloc(src->sig_count * sizeof(*dst->sigs));
    if (dst->sigs == NULL) {
        memset(dst, 0, sizeof(*dst));
        return TC_ENOMEM;
    }
    memcpy(dst->sigs, src->sigs, src->sig_count * sizeof(*dst->sigs));
    return 0;
}

static void commit_put(sink *s, const tc_commit *c)
{
    TC_ASSERT(c->sig_count <= TC_COMMIT_SIGS_MAX);
    TC_ASSERT(c->sig_count == 0 || c->sigs != NULL);
    tc_put_u64(s->w, c->height);
    tc_put_u32(s->w, c->round);
    TC_PUT_HASH(s->w, &c->block);
    tc_put_u32(s->w, c->sig_count);
    sink_step(s);
    for (uint32_t i = 0; i < c->sig_count; i++) {
        tc_put_u32(s->w, c->sigs[i].validator);
        tc_put_raw(s->w, c->sigs[i].sig.b, TC_SIG_SIZE);
        sink_step(s);
    }
}

void tc_commit_encode(tc_writer *w, const tc_commit *c)
{
    TC_ASSERT(w != NULL && c != NULL);
    sink s;
    sink_plain(&s, w);
    commit_put(&s, c);
}

int tc_commit_read(tc_reader *r, tc_commit *c)
{
    TC_ASSERT(r != NULL && c != NULL);
    memset(c, 0, sizeof(*c));
    c->height = tc_get_u64(r);
    c->round = tc_get_u32(r);
    TC_GET_HASH(r, &c->block);
    uint32_t n = tc_get_count(r, TC_COMMIT_SIGS_MAX, TC_COMMIT_SIG_SIZE);
    if (r->err == 0 && n > 0) {
        c->sigs = tc_calloc(n, sizeof(*c->sigs));
        if (c->sigs == NULL)
            tc_reader_fail(r, TC_ENOMEM);
        else
            c->sig_count = n;
    }
    for (uint32_t i = 0; i < c->sig_count && r->err == 0; i++) {
        c->sigs[i].validator = tc_get_u32(r);
        tc_get_raw(r, c->sigs[i].sig.b, TC_SIG_SIZE);
        /* Strictly increasing indexes: one encoding per certificate and no signer twice. */
        if (r->err == 0 && i > 0 && c->sigs[i].validator <= c->sigs[i - 1].validator)
            tc_reader_fail(r, TC_ERANGE);
    }
    if (r->err != 0) {
        tc_commit_deinit(c);
        return r->err;
    }
    return 0;
}

int tc_commit_decode(tc_commit *c, const uint8_t *bytes, size_t n)
{
    TC_ASSERT(c != NULL);
    tc_reader r;
    tc_reader_init(&r, bytes, n);
    (void)tc_commit_read(&r, c);
    int rc = tc_reader_finish(&r);
    if (rc != 0)
        tc_commit_deinit(c);
    return rc;
}

void tc_commit_vote(const tc_commit *c, uint32_t i, tc_vote *out)
{
    TC_ASSERT(c != NULL && out != NULL);
    TC_ASSERT(i < c->sig_count);
    memset(out, 0, sizeof(*out));
    out->type = TC_VOTE_PRECOMMIT;
    out->height = c->height;
    out->round = c->round;
    out->pol_round = TC_ROUND_NONE;
    out->block = c->block;
    out->validator = c->sigs[i].validator;
    out->sig = c->sigs[i].sig;
}

/* ---- vote batches ---- */

void tc_vote_batch_deinit(tc_vote_batch *b)
{
    TC_ASSERT(b != NULL);
    free(b->txids);
    memset(b, 0, sizeof(*b));
}

int tc_vote_batch_copy(tc_vote_batch *dst, const tc_vote_batch *src)
{
    TC_ASSERT(dst != NULL && src != NULL);
    TC_ASSERT(src->txid_count == 0 || src->txids != NULL);
    *dst = *src;
    dst->txids = NULL;
    if (src->txid_count == 0)
        return 0;
    dst->txids = tc_malloc((size_t)src->txid_count * TC_HASH_SIZE);
    if (dst->txids == NULL) {
        memset(dst, 0, sizeof(*dst));
        return TC_ENOMEM;
    }
    memcpy(dst->txids, src->txids, (size_t)src->txid_count * TC_HASH_SIZE);
    return 0;
}

bool tc_vote_batch_has(const tc_vote_batch *b, const tc_hash *txid)
{
    TC_ASSERT(b != NULL && txid != NULL);
    /* txids are strictly increasing: binary search. */
    uint32_t lo = 0, hi = b->txid_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = memcmp(b->txids[mid].b, txid->b, TC_HASH_SIZE);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static void batch_prefix(tc_writer *w, const tc_vote_batch *b)
{
    tc_put_u32(w, b->epoch);
    tc_put_u32(w, b->validator);
    tc_put_u64(w, b->seq);
    tc_put_u32(w, b->txid_count);
}

void tc_vote_batch_sign_hash(const tc_vote_batch *b, tc_hash *out)
{
    TC_ASSERT(b != NULL && out != NULL);
    TC_ASSERT(b->txid_count == 0 || b->txids != NULL);
    uint8_t buf[20];
    tc_writer w;
    tc_writer_init(&w, buf, sizeof(buf));
    batch_prefix(&w, b);
    size_t len = 0;
    TC_ASSERT(tc_writer_finish(&w, &len) == 0 && len == sizeof(buf));
    tc_hasher h;
    tc_hasher_init(&h, TC_TAG_VOTEBATCH);
    tc_hasher_update(&h, buf, len);
    if (b->txid_count > 0)
        tc_hasher_update(&h, b->txids, (size_t)b->txid_count * TC_HASH_SIZE);
    tc_hasher_final(&h, out);
}

void tc_vote_batch_encode(tc_writer *w, const tc_vote_batch *b)
{
    TC_ASSERT(w != NULL && b != NULL);
    batch_prefix(w, b);
    for (uint32_t i = 0; i < b->txid_count; i++)
        TC_PUT_HASH(w, &b->txids[i]);
    tc_put_raw(w, b->sig.b, TC_SIG_SIZE);
}

/* Reads what follows epoch and validator (evidence shares those between its two batches). */
static int batch_body_read(tc_reader *r, tc_vote_batch *b)
{
    b->seq = tc_get_u64(r);
    uint32_t n = tc_get_count(r, TC_VOTE_BATCH_TXIDS_HARD_MAX, TC_HASH_SIZE);
    if (r->err == 0 && n == 0)
        tc_reader_fail(r, TC_ERANGE);
    if (r->err != 0)
        goto fail;
    b->txids = tc_malloc((size_t)n * TC_HASH_SIZE);
    if (b->txids == NULL) {
        tc_reader_fail(r, TC_ENOMEM);
        goto fail;
    }
    b->txid_count = n;
    for (uint32_t i = 0; i < n; i++) {
        TC_GET_HASH(r, &b->txids[i]);
        if (i > 0 && r->err == 0 && memcmp(b->txids[i - 1].b, b->txids[i].b, TC_HASH_SIZE) >= 0)
            tc_reader_fail(r, TC_ERANGE);
    }
    tc_get_raw(r, b->sig.b, TC_SIG_SIZE);
    if (r->err != 0)
        goto fail;
    return 0;
fail:;
    int rc = r->err;
    tc_vote_batch_deinit(b);
    return rc;
}

int tc_vote_batch_read(tc_reader *r, tc_vote_batch *b)
{
    TC_ASSERT(r != NULL && b != NULL);
    memset(b, 0, sizeof(*b));
    b->epoch = tc_get_u32(r);
    b->validator = tc_get_u32(r);
    return batch_body_read(r, b);
}

int tc_vote_batch_decode(tc_vote_batch *b, const uint8_t *bytes, size_t n)
{
    TC_ASSERT(b != NULL && (bytes != NULL || n == 0));
    tc_reader r;
    tc_reader_init(&r, bytes, n);
    int rc = tc_vote_batch_read(&r, b);
    if (rc == 0)
        rc = tc_reader_finish(&r);
    if (rc != 0)
        tc_vote_batch_deinit(b);
    return rc;
}

/* ---- evidence ---- */

_Static_assert(1 + 4 + 4 + 2 * (TC_VOTE_BATCH_MIN_SIZE - 8) + 2 * TC_TX_MIN_SIZE >=
                       TC_EVIDENCE_MIN_SIZE &&
                   TC_EVIDENCE_SIZE >= TC_EVIDENCE_MIN_SIZE &&
                   1 + 4 + 4 + 2 * (TC_VOTE_BATCH_MIN_SIZE - 8) >= TC_EVIDENCE_MIN_SIZE,
               "TC_EVIDENCE_MIN_SIZE is the least any evidence kind takes");
_Static_assert(TC_EVIDENCE_TX_SIZE_MAX <= SINK_CHUNK_SIZE, "an evidence tx fits one chunk");

void tc_evidence_deinit(tc_evidence *e)
{
    if (e == NULL)
        return;
    tc_vote_batch_deinit(&e->batch_a);
    tc_vote_batch_deinit(&e->batch_b);
    tc_tx_deinit(&e->tx_a);
    tc_tx_deinit(&e->tx_b);
    tc_handoff_deinit(&e->handoff_a);
    tc_handoff_deinit(&e->handoff_b);
    memset(e, 0, sizeof(*e));
}

/* Kinds whose proof is two signed vote batches. */
static bool kind_has_batches(uint8_t kind)
{
    return kind == TC_EVIDENCE_DOUBLE_LOCK || kind == TC_EVIDENCE_BATCH_EQUIVOCATION;
}

/* Kinds whose proof is two votes. */
static bool kind_has_votes(uint8_t kind)
{
    return kind == TC_EVIDENCE_DOUBLE_VOTE || kind == TC_EVIDENCE_AMNESIA;
}

int tc_evidence_copy(tc_evidence *dst, const tc_evidence *src)
{
    TC_ASSERT(dst != NULL && src != NULL && dst != src);
    memset(dst, 0, sizeof(*dst));
    dst->kind = src->kind;
    dst->a = src->a;
    dst->b = src->b;
    int rc = 0;
    if (kind_has_batches(src->kind)) {
        rc = tc_vote_batch_copy(&dst->batch_a, &src->batch_a);
        if (rc == 0)
            rc = tc_vote_batch_copy(&dst->batch_b, &src->batch_b);
    }
    if (rc == 0 && src->kind == TC_EVIDENCE_DOUBLE_LOCK) {
        rc = tc_tx_copy(&dst->tx_a, &src->tx_a);
        if (rc == 0)
            rc = tc_tx_copy(&dst->tx_b, &src->tx_b);
    }
    if (rc == 0 && src->kind == TC_EVIDENCE_HANDOFF_EQUIVOCATION) {
        rc = tc_handoff_copy(&dst->handoff_a, &src->handoff_a);
        if (rc == 0)
            rc = tc_handoff_copy(&dst->handoff_b, &src->handoff_b);
    }
    if (rc != 0)
        tc_evidence_deinit(dst);
    return rc;
}

/* A batch inside evidence without its epoch and validator, which the evidence states once. */
static void lock_put(sink *s, const tc_vote_batch *b)
{
    TC_ASSERT(b->txid_count > 0 && b->txids != NULL);
    tc_put_u64(s->w, b->seq);
    tc_put_u32(s->w, b->txid_count);
    for (uint32_t i = 0; i < b->txid_count; i++) {
        TC_PUT_HASH(s->w, &b->txids[i]);
        sink_step(s);
    }
    tc_put_raw(s->w, b->sig.b, TC_SIG_SIZE);
    sink_step(s);
}

static void handoff_put(sink *s, const tc_handoff *h);

static void evidence_put(sink *s, const tc_evidence *e)
{
    tc_put_u8(s->w, e->kind);
    if (kind_has_votes(e->kind)) { /* two votes: an equivocation or amnesia */
        tc_vote_encode(s->w, &e->a);
        tc_vote_encode(s->w, &e->b);
        sink_step(s);
        return;
    }
    if (e->kind == TC_EVIDENCE_HANDOFF_EQUIVOCATION) {
        handoff_put(s, &e->handoff_a);
        handoff_put(s, &e->handoff_b);
        return;
    }
    TC_ASSERT(kind_has_batches(e->kind));
    TC_ASSERT(e->batch_a.epoch == e->batch_b.epoch);
    TC_ASSERT(e->batch_a.validator == e->batch_b.validator);
    if (e->kind == TC_EVIDENCE_BATCH_EQUIVOCATION) {
        tc_put_u32(s->w, e->batch_a.epoch);
        tc_put_u32(s->w, e->batch_a.validator);
        lock_put(s, &e->batch_a);
        lock_put(s, &e->batch_b);
        return;
    }
    /* The bound keeps sink_tx on its chunk path: hashing a header never allocates. */
    TC_ASSERT(tc_tx_encoded_size(&e->tx_a) <= TC_EVIDENCE_TX_SIZE_MAX);
    TC_ASSERT(tc_tx_encoded_size(&e->tx_b) <= TC_EVIDENCE_TX_SIZE_MAX);
    tc_put_u32(s->w, e->batch_a.epoch);
    tc_put_u32(s->w, e->batch_a.validator);
    lock_put(s, &e->batch_a);
    lock_put(s, &e->batch_b);
    sink_tx(s, &e->tx_a);
    sink_tx(s, &e->tx_b);
}

void tc_evidence_encode(tc_writer *w, const tc_evidence *e)
{
    TC_ASSERT(w != NULL && e != NULL);
    sink s;
    sink_plain(&s, w);
    evidence_put(&s, e);
}

static void votes_read(tc_reader *r, tc_evidence *e)
{
    (void)tc_vote_read(r, &e->a);
    (void)tc_vote_read(r, &e->b);
    if (r->err != 0)
        return;
    if (e->kind == TC_EVIDENCE_AMNESIA) {
        /* The order is fixed by the types (precommit, then prevote): canonical too. */
        if (e->a.type != TC_VOTE_PRECOMMIT || e->b.type != TC_VOTE_PREVOTE)
            tc_reader_fail(r, TC_ERANGE);
        return;
    }
    /* Strict order by block hash makes the encoding canonical: one evidence, one hash. */
    if (memcmp(e->a.block.b, e->b.block.b, TC_HASH_SIZE) >= 0)
        tc_reader_fail(r, TC_ERANGE);
}

static void lock_tx_read(tc_reader *r, tc_tx *tx)
{
    if (r->err != 0 || tc_tx_read(r, tx) != 0)
        return;
    if (tc_tx_encoded_size(tx) > TC_EVIDENCE_TX_SIZE_MAX)
        tc_reader_fail(r, TC_ETOOLONG);
}

static void locks_read(tc_reader *r, tc_evidence *e)
{
    uint32_t epoch = tc_get_u32(r);
    uint32_t validator = tc_get_u32(r);
    e->batch_a.epoch = e->batch_b.epoch = epoch;
    e->batch_a.validator = e->batch_b.validator = validator;
    if (r->err != 0 || batch_body_read(r, &e->batch_a) != 0)
        return;
    if (batch_body_read(r, &e->batch_b) != 0)
        return;
    lock_tx_read(r, &e->tx_a);
    lock_tx_read(r, &e->tx_b);
    if (r->err != 0)
        return;
    /* Strict order by txid makes the encoding canonical and the transactions different. */
    tc_hash ta, tb;
    tc_tx_id(&e->tx_a, &ta);
    tc_tx_id(&e->tx_b, &tb);
    if (memcmp(ta.b, tb.b, TC_HASH_SIZE) >= 0)
        tc_reader_fail(r, TC_ERANGE);
}

/* Strict order by sign hash makes kinds 3 and 4 canonical and their two objects different. */
static void batches_read(tc_reader *r, tc_evidence *e)
{
    uint32_t epoch = tc_get_u32(r);
    uint32_t validator = tc_get_u32(r);
    e->batch_a.epoch = e->batch_b.epoch = epoch;
    e->batch_a.validator = e->batch_b.validator = validator;
    if (r->err != 0 || batch_body_read(r, &e->batch_a) != 0)
        return;
    if (batch_body_read(r, &e->batch_b) != 0)
        return;
    tc_hash ha, hb;
    tc_vote_batch_sign_hash(&e->batch_a, &ha);
    tc_vote_batch_sign_hash(&e->batch_b, &hb);
    if (e->batch_a.seq != e->batch_b.seq || memcmp(ha.b, hb.b, TC_HASH_SIZE) >= 0)
        tc_reader_fail(r, TC_ERANGE);
}

static void handoffs_ev_read(tc_reader *r, tc_evidence *e)
{
    if (tc_handoff_read(r, &e->handoff_a) != 0 || tc_handoff_read(r, &e->handoff_b) != 0)
        return;
    const tc_handoff *a = &e->handoff_a, *b = &e->handoff_b;
    tc_hash ha, hb;
    tc_handoff_sign_hash(a, &ha);
    tc_handoff_sign_hash(b, &hb);
    if (a->epoch != b->epoch || a->validator != b->validator ||
        memcmp(ha.b, hb.b, TC_HASH_SIZE) >= 0)
        tc_reader_fail(r, TC_ERANGE);
}

int tc_evidence_read(tc_reader *r, tc_evidence *e)
{
    TC_ASSERT(r != NULL && e != NULL);
    memset(e, 0, sizeof(*e));
    e->kind = tc_get_enum(r, TC_EVIDENCE_KIND_COUNT);
    if (r->err == 0 && e->kind == TC_EVIDENCE_DOUBLE_LOCK)
        locks_read(r, e);
    else if (r->err == 0 && e->kind == TC_EVIDENCE_BATCH_EQUIVOCATION)
        batches_read(r, e);
    else if (r->err == 0 && e->kind == TC_EVIDENCE_HANDOFF_EQUIVOCATION)
        handoffs_ev_read(r, e);
    else if (r->err == 0)
        votes_read(r, e);
    if (r->err != 0) {
        tc_evidence_deinit(e);
        return r->err;
    }
    return 0;
}

int tc_evidence_decode(tc_evidence *e, const uint8_t *bytes, size_t n)
{
    TC_ASSERT(e != NULL);
    tc_reader r;
    tc_reader_init(&r, bytes, n);
    (void)tc_evidence_read(&r, e);
    int rc = tc_reader_finish(&r);
    if (rc != 0)
        tc_evidence_deinit(e);
    return rc;
}

static bool share_input(const tc_tx *x, const tc_tx *y)
{
    for (uint32_t i = 0; i < x->input_count; i++)
        for (uint32_t k = 0; k < y->input_count; k++)
            if (tc_outpoint_cmp(&x->inputs[i].prev, &y->inputs[k].prev) == 0)
                return true;
    return false;
}

static int locks_shape(const tc_evidence *e)
{
    const tc_vote_batch *x = &e->batch_a;
    const tc_vote_batch *y = &e->batch_b;
    if (x->epoch != y->epoch || x->validator != y->validator)
        return TC_EBLK_EVIDENCE;
    if (tc_tx_encoded_size(&e->tx_a) > TC_EVIDENCE_TX_SIZE_MAX ||
        tc_tx_encoded_size(&e->tx_b) > TC_EVIDENCE_TX_SIZE_MAX)
        return TC_EBLK_EVIDENCE;
    tc_hash ta, tb;
    tc_tx_id(&e->tx_a, &ta);
    tc_tx_id(&e->tx_b, &tb);
    if (memcmp(ta.b, tb.b, TC_HASH_SIZE) >= 0)
        return TC_EBLK_EVIDENCE; /* one transaction twice is no conflict; order is canonical */
    if (!tc_vote_batch_has(x, &ta) || !tc_vote_batch_has(y, &tb))
        return TC_EBLK_EVIDENCE;
    /* The batches are bounded and the transactions small, so the quadratic scan is cheap. */
    return share_input(&e->tx_a, &e->tx_b) ? 0 : TC_EBLK_EVIDENCE;
}

static bool batch_txids_ok(const tc_vote_batch *b)
{
    if (b->txid_count == 0 || b->txid_count > TC_VOTE_BATCH_TXIDS_HARD_MAX || b->txids == NULL)
        return false;
    for (uint32_t i = 1; i < b->txid_count; i++)
        if (memcmp(b->txids[i - 1].b, b->txids[i].b, TC_HASH_SIZE) >= 0)
            return false;
    return true;
}

static int batches_shape(const tc_evidence *e)
{
    const tc_vote_batch *x = &e->batch_a;
    const tc_vote_batch *y = &e->batch_b;
    if (x->epoch != y->epoch || x->validator != y->validator || x->seq != y->seq)
        return TC_EBLK_EVIDENCE;
    if (!batch_txids_ok(x) || !batch_txids_ok(y))
        return TC_EBLK_EVIDENCE;
    tc_hash hx, hy;
    tc_vote_batch_sign_hash(x, &hx);
    tc_vote_batch_sign_hash(y, &hy);
    /* Equal sign hashes are one batch sent twice (its signature may even differ under a
     * randomized scheme): no fault. The order makes the evidence canonical. */
    return memcmp(hx.b, hy.b, TC_HASH_SIZE) < 0 ? 0 : TC_EBLK_EVIDENCE;
}

static int handoffs_shape(const tc_evidence *e)
{
    const tc_handoff *x = &e->handoff_a;
    const tc_handoff *y = &e->handoff_b;
    if (x->epoch != y->epoch || x->validator != y->validator)
        return TC_EBLK_EVIDENCE;
    if (x->txid_count > TC_HANDOFF_TXIDS_HARD_MAX || y->txid_count > TC_HANDOFF_TXIDS_HARD_MAX ||
        (x->txid_count > 0 && x->txids == NULL) || (y->txid_count > 0 && y->txids == NULL))
        return TC_EBLK_EVIDENCE;
    tc_hash hx, hy;
    tc_handoff_sign_hash(x, &hx);
    tc_handoff_sign_hash(y, &hy);
    return memcmp(hx.b, hy.b, TC_HASH_SIZE) < 0 ? 0 : TC_EBLK_EVIDENCE;
}

int tc_evidence_check_shape(const tc_evidence *e)
{
    TC_ASSERT(e != NULL);
    const tc_vote *a = &e->a;
    const tc_vote *b = &e->b;
    if (e->kind == TC_EVIDENCE_DOUBLE_LOCK)
        return locks_shape(e);
    if (e->kind == TC_EVIDENCE_BATCH_EQUIVOCATION)
        return batches_shape(e);
    if (e->kind == TC_EVIDENCE_HANDOFF_EQUIVOCATION)
        return handoffs_shape(e);
    if (e->kind == TC_EVIDENCE_AMNESIA)
        return tc_votes_amnesia(a, b) ? 0 : TC_EBLK_EVIDENCE;
    if (e->kind != TC_EVIDENCE_DOUBLE_VOTE)
        return TC_EBLK_EVIDENCE;
    if (!vote_type_ok(a->type) || a->type != b->type)
        return TC_EBLK_EVIDENCE;
    if (a->validator != b->validator || a->height != b->height || a->round != b->round)
        return TC_EBLK_EVIDENCE;
    /* Different blocks, canonical order: equal blocks are one vote sent twice, not a fault. */
    if (memcmp(a->block.b, b->block.b, TC_HASH_SIZE) >= 0)
        return TC_EBLK_EVIDENCE;
    return 0;
}

void tc_evidence_hash(const tc_evidence *e, tc_hash *out)
{
    TC_ASSERT(e != NULL && out != NULL);
    tc_hasher hasher;
    uint8_t chunk[SINK_CHUNK_SIZE];
    tc_writer w;
    sink s;
    tc_hasher_init(&hasher, TC_TAG_EVIDENCE);
    sink_hashing(&s, &w, &hasher, chunk);
    evidence_put(&s, e);
    sink_flush(&s);
    TC_ASSERT(s.err == 0); /* evidence transactions fit a chunk, so nothing was allocated */
    tc_hasher_final(&hasher, out);
}

uint32_t tc_evidence_validator(const tc_evidence *e)
{
    TC_ASSERT(e != NULL);
    if (kind_has_batches(e->kind))
        return e->batch_a.validator;
    if (e->kind == TC_EVIDENCE_HANDOFF_EQUIVOCATION)
        return e->handoff_a.validator;
    return e->a.validator;
}

bool tc_evidence_has_height(const tc_evidence *e)
{
    TC_ASSERT(e != NULL);
    return kind_has_votes(e->kind);
}

int tc_evidence_from_batches(tc_evidence *e, const tc_vote_batch *x, const tc_vote_batch *y)
{
    TC_ASSERT(e != NULL && x != NULL && y != NULL);
    memset(e, 0, sizeof(*e));
    tc_hash hx, hy;
    tc_vote_batch_sign_hash(x, &hx);
    tc_vote_batch_sign_hash(y, &hy);
    bool x_first = memcmp(hx.b, hy.b, TC_HASH_SIZE) < 0;
    /* A shallow view borrows the arguments; only the checked copy owns memory. */
    tc_evidence view = {.kind = TC_EVIDENCE_BATCH_EQUIVOCATION};
    view.batch_a = x_first ? *x : *y;
    view.batch_b = x_first ? *y : *x;
    if (batches_shape(&view) != 0)
        return TC_EBLK_EVIDENCE;
    return tc_evidence_copy(e, &view);
}

int tc_evidence_from_handoffs(tc_evidence *e, const tc_handoff *x, const tc_handoff *y)
{
    TC_ASSERT(e != NULL && x != NULL && y != NULL);
    memset(e, 0, sizeof(*e));
    tc_hash hx, hy;
    tc_handoff_sign_hash(x, &hx);
    tc_handoff_sign_hash(y, &hy);
    bool x_first = memcmp(hx.b, hy.b, TC_HASH_SIZE) < 0;
    tc_evidence view = {.kind = TC_EVIDENCE_HANDOFF_EQUIVOCATION};
    view.handoff_a = x_first ? *x : *y;
    view.handoff_b = x_first ? *y : *x;
    if (handoffs_shape(&view) != 0)
        return TC_EBLK_EVIDENCE;
    return tc_evidence_copy(e, &view);
}

int tc_evidence_from_locks(tc_evidence *e, const tc_vote_batch *x, const tc_tx *tx_x,
                           const tc_vote_batch *y, const tc_tx *tx_y)
{
    TC_ASSERT(e != NULL && x != NULL && tx_x != NULL && y != NULL && tx_y != NULL);
    memset(e, 0, sizeof(*e));
    if (tc_tx_encoded_size(tx_x) > TC_EVIDENCE_TX_SIZE_MAX ||
        tc_tx_encoded_size(tx_y) > TC_EVIDENCE_TX_SIZE_MAX)
        return TC_ETOOLONG;
    tc_hash hx, hy;
    tc_tx_id(tx_x, &hx);
    tc_tx_id(tx_y, &hy);
    bool x_first = memcmp(hx.b, hy.b, TC_HASH_SIZE) < 0;
    /* A shallow view borrows the arguments; only the checked copy owns memory. */
    tc_evidence view = {.kind = TC_EVIDENCE_DOUBLE_LOCK};
    view.batch_a = x_first ? *x : *y;
    view.batch_b = x_first ? *y : *x;
    view.tx_a = x_first ? *tx_x : *tx_y;
    view.tx_b = x_first ? *tx_y : *tx_x;
    if (locks_shape(&view) != 0)
        return TC_EBLK_EVIDENCE;
    return tc_evidence_copy(e, &view);
}

void tc_evidence_from_votes(tc_evidence *e, const tc_vote *x, const tc_vote *y)
{
    TC_ASSERT(e != NULL && x != NULL && y != NULL);
    memset(e, 0, sizeof(*e));
    e->kind = TC_EVIDENCE_DOUBLE_VOTE;
    bool x_first = memcmp(x->block.b, y->block.b, TC_HASH_SIZE) < 0;
    e->a = x_first ? *x : *y;
    e->b = x_first ? *y : *x;
}

bool tc_votes_amnesia(const tc_vote *pc, const tc_vote *pv)
{
    TC_ASSERT(pc != NULL && pv != NULL);
    if (pc->type != TC_VOTE_PRECOMMIT || pv->type != TC_VOTE_PREVOTE)
        return false;
    if (!tc_vote_pol_ok(pc) || !tc_vote_pol_ok(pv))
        return false;
    if (pc->validator != pv->validator || pc->height != pv->height)
        return false;
    /* A nil prevote relies on no lock, and a nil precommit locks nothing. */
    if (tc_vote_is_nil(pc) || tc_vote_is_nil(pv) ||
        memcmp(pc->block.b, pv->block.b, TC_HASH_SIZE) == 0)
        return false;
    /* Later round, and a proof-of-lock older than the precommit's round, or none: an honest
     * validator's lock is at least that round from its precommit on, and it prevotes another
     * block only on a proof-of-lock at or after its lock's round (PROTOCOL 14.5). */
    return pv->round > pc->round && (pv->pol_round == TC_ROUND_NONE || pv->pol_round < pc->round);
}

void tc_evidence_from_amnesia(tc_evidence *e, const tc_vote *pc, const tc_vote *pv)
{
    TC_ASSERT(e != NULL && tc_votes_amnesia(pc, pv));
    memset(e, 0, sizeof(*e));
    e->kind = TC_EVIDENCE_AMNESIA;
    e->a = *pc;
    e->b = *pv;
}

/* ---- finality certificates ---- */

void tc_fincert_deinit(tc_fincert *c)
{
    if (c == NULL)
        return;
    free(c->bitmap);
    free(c->refs);
    memset(c, 0, sizeof(*c));
}

static void fincert_put(sink *s, const tc_fincert *c)
{
    TC_ASSERT(c->bitmap_len <= TC_FINCERT_BITMAP_HARD_MAX);
    TC_ASSERT(c->ref_count <= TC_FINCERT_REFS_HARD_MAX);
    TC_ASSERT((c->bitmap_len == 0 || c->bitmap != NULL) && (c->ref_count == 0 || c->refs != NULL));
    /* Every transaction of a block carries one: written as a head record and runs of
     * references, one room check each rather than one per field. */
    uint8_t *p = tc_put_reserve(s->w, 4 + 4 + (size_t)c->bitmap_len + 4);
    if (p != NULL) {
        tc_store_u32(p, c->epoch);
        tc_store_u32(p + 4, c->bitmap_len);
        if (c->bitmap_len > 0)
            memcpy(p + 8, c->bitmap, c->bitmap_len);
        tc_store_u32(p + 8 + c->bitmap_len, c->ref_count);
    }
    sink_step(s);
    for (uint32_t i = 0; i < c->ref_count;) {
        uint32_t run =
            c->ref_count - i < FINCERT_REFS_PER_STEP ? c->ref_count - i : FINCERT_REFS_PER_STEP;
        p = tc_put_reserve(s->w, (size_t)run * TC_BATCH_REF_SIZE);
        for (uint32_t j = 0; p != NULL && j < run; j++, p += TC_BATCH_REF_SIZE) {
            tc_store_u32(p, c->refs[i + j].validator);
            tc_store_u64(p + 4, c->refs[i + j].seq);
        }
        i += run;
        sink_step(s);
    }
}

void tc_fincert_encode(tc_writer *w, const tc_fincert *c)
{
    TC_ASSERT(w != NULL && c != NULL);
    sink s;
    sink_plain(&s, w);
    fincert_put(&s, c);
}

int tc_fincert_read(tc_reader *r, tc_fincert *c)
{
    TC_ASSERT(r != NULL && c != NULL);
    memset(c, 0, sizeof(*c));
    c->epoch = tc_get_u32(r);
    uint32_t len = 0;
    const uint8_t *bits = tc_get_bytes(r, TC_FINCERT_BITMAP_HARD_MAX, &len);
    if (r->err == 0 && len > 0) {
        c->bitmap = tc_malloc(len);
        if (c->bitmap == NULL) {
            tc_reader_fail(r, TC_ENOMEM);
        } else {
            memcpy(c->bitmap, bits, len);
            c->bitmap_len = len;
        }
    }
    uint32_t n = tc_get_count(r, TC_FINCERT_REFS_HARD_MAX, TC_BATCH_REF_SIZE);
    if (r->err == 0 && n > 0) {
        c->refs = tc_calloc(n, sizeof(*c->refs));
        if (c->refs == NULL)
            tc_reader_fail(r, TC_ENOMEM);
        else
            c->ref_count = n;
    }
    for (uint32_t i = 0; i < c->ref_count && r->err == 0; i++) {
        c->refs[i].validator = tc_get_u32(r);
        c->refs[i].seq = tc_get_u64(r);
    }
    if (r->err != 0) {
        tc_fincert_deinit(c);
        return r->err;
    }
    return 0;
}

/* ---- handoffs ---- */

void tc_handoff_deinit(tc_handoff *h)
{
    if (h == NULL)
        return;
    free(h->txids);
    memset(h, 0, sizeof(*h));
}

int tc_handoff_copy(tc_handoff *dst, const tc_handoff *src)
{
    TC_ASSERT(dst != NULL && src != NULL && dst != src);
    TC_ASSERT(src->txid_count == 0 || src->txids != NULL);
    *dst = *src;
    dst->txids = NULL;
    if (src->txid_count == 0)
        return 0;
    dst->txids = tc_malloc((size_t)src->txid_count * TC_HASH_SIZE);
    if (dst->txids == NULL) {
        memset(dst, 0, sizeof(*dst));
        return TC_ENOMEM;
    }
    memcpy(dst->txids, src->txids, (size_t)src->txid_count * TC_HASH_SIZE);
    return 0;
}

static void handoff_put_unsigned(sink *s, const tc_handoff *h)
{
    TC_ASSERT(h->txid_count <= TC_HANDOFF_TXIDS_HARD_MAX);
    TC_ASSERT(h->txid_count == 0 || h->txids != NULL);
    tc_put_u32(s->w, h->epoch);
    tc_put_u32(s->w, h->validator);
    tc_put_u32(s->w, h->txid_count);
    sink_step(s);
    for (uint32_t i = 0; i < h->txid_count; i++) {
        TC_PUT_HASH(s->w, &h->txids[i]);
        sink_step(s);
    }
}

static void handoff_put(sink *s, const tc_handoff *h)
{
    handoff_put_unsigned(s, h);
    tc_put_raw(s->w, h->sig.b, TC_SIG_SIZE);
    sink_step(s);
}

void tc_handoff_sign_hash(const tc_handoff *h, tc_hash *out)
{
    TC_ASSERT(h != NULL && out != NULL);
    tc_hasher hasher;
    uint8_t chunk[SINK_CHUNK_SIZE];
    tc_writer w;
    sink s;
    tc_hasher_init(&hasher, TC_TAG_HANDOFF);
    sink_hashing(&s, &w, &hasher, chunk);
    handoff_put_unsigned(&s, h);
    sink_flush(&s);
    TC_ASSERT(s.err == 0);
    tc_hasher_final(&hasher, out);
}

void tc_handoff_sign(tc_handoff *h, tc_sig_scheme scheme, const tc_keypair *kp)
{
    TC_ASSERT(h != NULL && kp != NULL);
    tc_hash msg;
    tc_handoff_sign_hash(h, &msg);
    tc_sign(scheme, kp, &msg, &h->sig);
}

void tc_handoff_encode(tc_writer *w, const tc_handoff *h)
{
    TC_ASSERT(w != NULL && h != NULL);
    sink s;
    sink_plain(&s, w);
    handoff_put(&s, h);
}

int tc_handoff_read(tc_reader *r, tc_handoff *h)
{
    TC_ASSERT(r != NULL && h != NULL);
    memset(h, 0, sizeof(*h));
    h->epoch = tc_get_u32(r);
    h->validator = tc_get_u32(r);
    uint32_t n = tc_get_count(r, TC_HANDOFF_TXIDS_HARD_MAX, TC_HASH_SIZE);
    if (r->err == 0 && n > 0) {
        h->txids = tc_calloc(n, sizeof(*h->txids));
        if (h->txids == NULL)
            tc_reader_fail(r, TC_ENOMEM);
        else
            h->txid_count = n;
    }
    for (uint32_t i = 0; i < h->txid_count && r->err == 0; i++)
        TC_GET_HASH(r, &h->txids[i]);
    tc_get_raw(r, h->sig.b, TC_SIG_SIZE);
    if (r->err != 0) {
        tc_handoff_deinit(h);
        return r->err;
    }
    return 0;
}

int tc_handoff_decode(tc_handoff *h, const uint8_t *bytes, size_t n)
{
    TC_ASSERT(h != NULL);
    tc_reader r;
    tc_reader_init(&r, bytes, n);
    (void)tc_handoff_read(&r, h);
    int rc = tc_reader_finish(&r);
    if (rc != 0)
        tc_handoff_deinit(h);
    return rc;
}

/* ---- blocks: encoding and hashes ---- */

void tc_block_deinit(tc_block *b)
{
    if (b == NULL)
        return;
    for (uint32_t i = 0; i < b->tx_count; i++) {
        tc_tx_deinit(&b->txs[i].tx);
        tc_fincert_deinit(&b->txs[i].cert);
    }
    free(b->txs);
    free(b->rewards);
    for (uint32_t i = 0; i < b->handoff_count; i++)
        tc_handoff_deinit(&b->handoffs[i]);
    free(b->handoffs);
    tc_commit_deinit(&b->header.last_commit);
    for (uint32_t i = 0; i < b->header.evidence_count; i++)
        tc_evidence_deinit(&b->header.evidence[i]);
    free(b->header.evidence);
    memset(b, 0, sizeof(*b));
}

static void header_put(sink *s, const tc_block_header *h)
{
    TC_ASSERT(h->evidence_count <= TC_EVIDENCE_HARD_MAX);
    TC_ASSERT(h->evidence_count == 0 || h->evidence != NULL);
    tc_put_u16(s->w, h->version);
    tc_put_u64(s->w, h->height);
    tc_put_u32(s->w, h->round);
    TC_PUT_HASH(s->w, &h->parent);
    tc_put_u64(s->w, h->time_ms);
    TC_PUT_HASH(s->w, &h->tx_root);
    TC_PUT_HASH(s->w, &h->utxo_root);
    TC_PUT_HASH(s->w, &h->vset_hash);
    tc_put_u32(s->w, h->proposer);
    sink_step(s);
    commit_put(s, &h->last_commit);
    tc_put_u32(s->w, h->evidence_count);
    sink_step(s);
    for (uint32_t i = 0; i < h->evidence_count; i++) {
        evidence_put(s, &h->evidence[i]);
        sink_step(s);
    }
}

static void body_put(sink *s, const tc_block *b)
{
    TC_ASSERT(b->tx_count <= TC_BLOCK_TXS_HARD_MAX && (b->tx_count == 0 || b->txs != NULL));
    TC_ASSERT(b->reward_count <= TC_BLOCK_REWARDS_HARD_MAX);
    TC_ASSERT(b->reward_count == 0 || b->rewards != NULL);
    TC_ASSERT(b->handoff_count <= TC_HANDOFFS_HARD_MAX);
    TC_ASSERT(b->handoff_count == 0 || b->handoffs != NULL);
    tc_put_u32(s->w, b->tx_count);
    sink_step(s);
    for (uint32_t i = 0; i < b->tx_count; i++) {
        sink_tx(s, &b->txs[i].tx);
        fincert_put(s, &b->txs[i].cert);
    }
    tc_put_u32(s->w, b->reward_count);
    sink_step(s);
    for (uint32_t i = 0; i < b->reward_count; i++) {
        tc_put_u64(s->w, b->rewards[i].amount);
        tc_put_raw(s->w, b->rewards[i].addr.b, TC_ADDR_HASH_SIZE);
        sink_step(s);
    }
    tc_put_u32(s->w, b->handoff_count);
    sink_step(s);
    for (uint32_t i = 0; i < b->handoff_count; i++)
        handoff_put(s, &b->handoffs[i]);
}

void tc_block_header_encode(tc_writer *w, const tc_block_header *h)
{
    TC_ASSERT(w != NULL && h != NULL);
    sink s;
    sink_plain(&s, w);
    header_put(&s, h);
}

void tc_block_body_encode(tc_writer *w, const tc_block *b)
{
    TC_ASSERT(w != NULL && b != NULL);
    sink s;
    sink_plain(&s, w);
    body_put(&s, b);
}

void tc_block_encode(tc_writer *w, const tc_block *b)
{
    TC_ASSERT(w != NULL && b != NULL);
    tc_block_header_encode(w, &b->header);
    tc_block_body_encode(w, b);
}

int tc_block_encode_alloc(const tc_block *b, uint8_t **out, size_t *len_out)
{
    TC_ASSERT(b != NULL && out != NULL && len_out != NULL);
    *out = NULL;
    *len_out = 0;
    tc_writer w;
    size_t len = 0;
    tc_writer_init(&w, NULL, 0);
    tc_block_encode(&w, b);
    (void)tc_writer_finish(&w, &len); /* a measuring writer always reports TC_EENCODE */
    uint8_t *buf = tc_malloc(len);
    if (buf == NULL)
        return TC_ENOMEM;
    size_t got = 0;
    tc_writer_init(&w, buf, len);
    tc_block_encode(&w, b);
    TC_ASSERT(tc_writer_finish(&w, &got) == 0 && got == len);
    *out = buf;
    *len_out = len;
    return 0;
}

void tc_block_hash(const tc_block_header *h, tc_hash *out)
{
    TC_ASSERT(h != NULL && out != NULL);
    tc_hasher hasher;
    uint8_t chunk[SINK_CHUNK_SIZE];
    tc_writer w;
    sink s;
    tc_hasher_init(&hasher, TC_TAG_BLOCK);
    sink_hashing(&s, &w, &hasher, chunk);
    header_put(&s, h);
    sink_flush(&s);
    TC_ASSERT(s.err == 0); /* a header holds no transaction, so nothing was allocated */
    tc_hasher_final(&hasher, out);
}

int tc_block_tx_root(const tc_block *b, tc_hash *out)
{
    return tc_block_body_digest(b, out, NULL);
}

int tc_block_body_digest(const tc_block *b, tc_hash *out, size_t *len_out)
{
    return tc_block_body_digest_copy(b, out, len_out, NULL, 0);
}

int tc_block_body_digest_copy(const tc_block *b, tc_hash *out, size_t *len_out, uint8_t *copy,
                              size_t copy_cap)
{
    TC_ASSERT(b != NULL && out != NULL && (copy != NULL || copy_cap == 0));
    tc_hasher hasher;
    uint8_t chunk[SINK_CHUNK_SIZE];
    tc_writer w;
    sink s;
    tc_hasher_init(&hasher, TC_TAG_TXROOT);
    sink_hashing(&s, &w, &hasher, chunk);
    s.copy = copy;
    s.copy_cap = copy_cap;
    body_put(&s, b);
    sink_flush(&s);
    tc_hasher_final(&hasher, out);
    if (len_out != NULL)
        *len_out = s.err == 0 ? s.hashed : 0;
    if (s.err != 0) {
        memset(out, 0, sizeof(*out));
        return s.err;
    }
    return 0;
}

void tc_block_reward_txid(uint64_t height, tc_hash *out)
{
    TC_ASSERT(out != NULL);
    uint8_t le[8];
    for (size_t i = 0; i < sizeof(le); i++)
        le[i] = (uint8_t)(height >> (8 * i));
    tc_hash_tagged(out, TC_TAG_REWARD, le, sizeof(le));
}

/* ---- blocks: decoding ----
 * The readers below fill b in place and stop at the first error; tc_block_decode then frees
 * whatever was filled. Every array is calloc'ed and its count set only once allocated, so a
 * partly read block is always safe to deinit. */

static int header_read(tc_reader *r, tc_block_header *h)
{
    h->version = tc_get_u16(r);
    if (r->err == 0 && h->version != TC_BLOCK_VERSION)
        tc_reader_fail(r, TC_ERANGE);
    h->height = tc_get_u64(r);
    h->round = tc_get_u32(r);
    TC_GET_HASH(r, &h->parent);
    h->time_ms = tc_get_u64(r);
    TC_GET_HASH(r, &h->tx_root);
    TC_GET_HASH(r, &h->utxo_root);
    TC_GET_HASH(r, &h->vset_hash);
    h->proposer = tc_get_u32(r);
    if (r->err != 0 || tc_commit_read(r, &h->last_commit) != 0)
        return r->err;
    uint32_t n = tc_get_count(r, TC_EVIDENCE_HARD_MAX, TC_EVIDENCE_MIN_SIZE);
    if (r->err == 0 && n > 0) {
        h->evidence = tc_calloc(n, sizeof(*h->evidence));
        if (h->evidence == NULL)
            tc_reader_fail(r, TC_ENOMEM);
        else
            h->evidence_count = n;
    }
    for (uint32_t i = 0; i < h->evidence_count && r->err == 0; i++)
        (void)tc_evidence_read(r, &h->evidence[i]);
    return r->err;
}

static int txs_read(tc_reader *r, tc_block *b)
{
    uint32_t n = tc_get_count(r, TC_BLOCK_TXS_HARD_MAX, TC_BLOCK_TX_MIN_SIZE);
    if (r->err != 0 || n == 0)
        return r->err;
    b->txs = tc_calloc(n, sizeof(*b->txs));
    if (b->txs == NULL) {
        tc_reader_fail(r, TC_ENOMEM);
        return r->err;
    }
    b->tx_count = n;
    for (uint32_t i = 0; i < n && r->err == 0; i++) {
        /* Read into a local so that a transaction the tx decoder left half-built is freed here
         * and the block's slot stays zero. */
        tc_tx tx;
        memset(&tx, 0, sizeof(tx));
        int rc = tc_tx_read(r, &tx);
        if (rc != 0) {
            tc_tx_deinit(&tx);
            tc_reader_fail(r, rc);
            break;
        }
        b->txs[i].tx = tx;
        (void)tc_fincert_read(r, &b->txs[i].cert);
    }
    return r->err;
}

static int rewards_read(tc_reader *r, tc_block *b)
{
    uint32_t n = tc_get_count(r, TC_BLOCK_REWARDS_HARD_MAX, TC_REWARD_SIZE);
    if (r->err != 0 || n == 0)
        return r->err;
    b->rewards = tc_calloc(n, sizeof(*b->rewards));
    if (b->rewards == NULL) {
        tc_reader_fail(r, TC_ENOMEM);
        return r->err;
    }
    b->reward_count = n;
    for (uint32_t i = 0; i < n; i++) {
        b->rewards[i].amount = tc_get_u64(r);
        tc_get_raw(r, b->rewards[i].addr.b, TC_ADDR_HASH_SIZE);
    }
    return r->err;
}

static int handoffs_read(tc_reader *r, tc_block *b)
{
    uint32_t n = tc_get_count(r, TC_HANDOFFS_HARD_MAX, TC_HANDOFF_MIN_SIZE);
    if (r->err != 0 || n == 0)
        return r->err;
    b->handoffs = tc_calloc(n, sizeof(*b->handoffs));
    if (b->handoffs == NULL) {
        tc_reader_fail(r, TC_ENOMEM);
        return r->err;
    }
    b->handoff_count = n;
    for (uint32_t i = 0; i < n && r->err == 0; i++)
        (void)tc_handoff_read(r, &b->handoffs[i]);
    return r->err;
}

int tc_block_decode(tc_block *b, const uint8_t *bytes, size_t n)
{
    TC_ASSERT(b != NULL);
    memset(b, 0, sizeof(*b));
    tc_reader r;
    tc_reader_init(&r, bytes, n);
    if (header_read(&r, &b->header) == 0 && txs_read(&r, b) == 0 && rewards_read(&r, b) == 0)
        (void)handoffs_read(&r, b);
    int rc = tc_reader_finish(&r);
    if (rc != 0)
        tc_block_deinit(b);
    return rc;
}

int tc_block_decode_header(tc_block *b, const uint8_t *bytes, size_t n)
{
    TC_ASSERT(b != NULL);
    memset(b, 0, sizeof(*b));
    tc_reader r;
    tc_reader_init(&r, bytes, n);
    int rc = header_read(&r, &b->header);
    if (rc != 0)
        tc_block_deinit(b);
    TC_ASSERT(rc != 0 || (b->header.version == TC_BLOCK_VERSION && b->tx_count == 0));
    return rc;
}

int tc_block_read(tc_reader *r, tc_block *b)
{
    TC_ASSERT(r != NULL && b != NULL);
    memset(b, 0, sizeof(*b));
    if (r->err == 0 && header_read(r, &b->header) == 0 && txs_read(r, b) == 0 &&
        rewards_read(r, b) == 0)
        (void)handoffs_read(r, b);
    if (r->err != 0)
        tc_block_deinit(b);
    TC_ASSERT(r->err != 0 || b->header.version == TC_BLOCK_VERSION);
    return r->err;
}
