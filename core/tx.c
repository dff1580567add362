/* tx.c — transactions: value lifecycle, canonical encoding, txid, sighash, stateless checks
 * (see tx.h). */
#include "tx.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(TC_TX_NETADDR_MAX <= UINT8_MAX, "net_addr_len is a u8");
_Static_assert(TC_TX_INPUTS_HARD_MAX <= UINT32_MAX / TC_TX_INPUT_SIZE, "input bytes fit a u32");
_Static_assert(TC_TX_OUTPUTS_HARD_MAX <= UINT32_MAX / TC_TX_OUTPUT_SIZE, "output bytes fit");
_Static_assert(TC_TX_KIND_COUNT <= UINT8_MAX && TC_TIER_COUNT <= UINT8_MAX, "enums are u8");

/* ---- lifecycle ---- */

static void clear(tc_tx *tx)
{
    memset(tx, 0, sizeof(*tx));
    tx->inputs = NULL;
    tx->outputs = NULL;
}

/* Allocates the two arrays; a zero count leaves its array NULL (tc_calloc(0) may return NULL,
 * and a decoder must not confuse that with failure). */
static int alloc_arrays(tc_tx *tx, uint32_t input_count, uint32_t output_count)
{
    TC_ASSERT(tx->inputs == NULL && tx->outputs == NULL);
    TC_ASSERT(input_count <= TC_TX_INPUTS_HARD_MAX && output_count <= TC_TX_OUTPUTS_HARD_MAX);
    if (input_count > 0) {
        tx->inputs = tc_calloc(input_count, sizeof(tc_txin));
        if (tx->inputs == NULL)
            return TC_ENOMEM;
    }
    if (output_count > 0) {
        tx->outputs = tc_calloc(output_count, sizeof(tc_txout));
        if (tx->outputs == NULL) {
            free(tx->inputs);
            tx->inputs = NULL;
            return TC_ENOMEM;
        }
    }
    tx->input_count = input_count;
    tx->output_count = output_count;
    return 0;
}

int tc_tx_init_alloc(tc_tx *tx, tc_tx_kind kind, uint32_t input_count, uint32_t output_count)
{
    TC_ASSERT(tx != NULL);
    TC_ASSERT((unsigned)kind < TC_TX_KIND_COUNT);
    clear(tx);
    if (input_count > TC_TX_INPUTS_HARD_MAX || output_count > TC_TX_OUTPUTS_HARD_MAX)
        return TC_ETOOLONG;
    int rc = alloc_arrays(tx, input_count, output_count);
    if (rc != 0)
        return rc;
    tx->version = TC_TX_VERSION;
    tx->kind = (uint8_t)kind;
    return 0;
}

void tc_tx_deinit(tc_tx *tx)
{
    if (tx == NULL)
        return;
    free(tx->inputs);
    free(tx->outputs);
    clear(tx);
}

int tc_tx_copy(tc_tx *dst, const tc_tx *src)
{
    TC_ASSERT(dst != NULL && src != NULL && dst != src);
    TC_ASSERT(src->input_count <= TC_TX_INPUTS_HARD_MAX);
    clear(dst);
    tc_tx tmp = *src;
    tmp.inputs = NULL;
    tmp.outputs = NULL;
    int rc = alloc_arrays(&tmp, src->input_count, src->output_count);
    if (rc != 0)
        return rc;
    if (src->input_count > 0)
        memcpy(tmp.inputs, src->inputs, src->input_count * sizeof(tc_txin));
    if (src->output_count > 0)
        memcpy(tmp.outputs, src->outputs, src->output_count * sizeof(tc_txout));
    *dst = tmp;
    return 0;
}

static bool txin_equal(const tc_txin *a, const tc_txin *b)
{
    return a->prev.index == b->prev.index &&
           memcmp(a->prev.txid.b, b->prev.txid.b, TC_HASH_SIZE) == 0 &&
           memcmp(a->pub.b, b->pub.b, TC_PUBKEY_SIZE) == 0 &&
           memcmp(a->sig.b, b->sig.b, TC_SIG_SIZE) == 0;
}

bool tc_tx_equal(const tc_tx *a, const tc_tx *b)
{
    TC_ASSERT(a != NULL && b != NULL);
    if (a->version != b->version || a->kind != b->kind || a->input_count != b->input_count ||
        a->output_count != b->output_count || a->mn_tier != b->mn_tier ||
        a->net_addr_len != b->net_addr_len ||
        memcmp(a->mn_key.b, b->mn_key.b, TC_PUBKEY_SIZE) != 0 ||
        memcmp(a->mn_sig.b, b->mn_sig.b, TC_SIG_SIZE) != 0 ||
        memcmp(a->net_addr, b->net_addr, a->net_addr_len) != 0)
        return false;
    for (uint32_t i = 0; i < a->input_count; i++)
        if (!txin_equal(&a->inputs[i], &b->inputs[i]))
            return false;
    for (uint32_t i = 0; i < a->output_count; i++)
        if (a->outputs[i].amount != b->outputs[i].amount ||
            memcmp(a->outputs[i].addr.b, b->outputs[i].addr.b, TC_ADDR_HASH_SIZE) != 0)
            return false;
    return true;
}

/* ---- encoding ----
 * One emitter serves both the wire encoding (into the caller's tc_writer) and the txid (into a
 * writer over a chunk on the stack, fed to a hasher), so the two can never disagree on field
 * order. Each input, output and payload is written as one reserved record with plain stores:
 * a txid is taken of every transaction a node sees, and a call per field cost more than the
 * bytes. A transaction that fits the chunk (nearly all) is hashed in one update; a larger one
 * is hashed a chunk at a time, emptied between pieces (sink_step). */
#define TXID_CHUNK_SIZE 2048
/* The most emit_tx writes between two steps: a registration's payload, the largest piece. */
#define TX_PIECE_MAX (TC_PUBKEY_SIZE + 1 + 4 + TC_TX_NETADDR_MAX + TC_SIG_SIZE)

_Static_assert(TX_PIECE_MAX >= TC_TX_INPUT_SIZE && TX_PIECE_MAX >= TC_TX_OUTPUT_SIZE &&
                   TX_PIECE_MAX >= 2 + 1 + 4,
               "the payload is the largest piece");
_Static_assert(2 * TX_PIECE_MAX <= TXID_CHUNK_SIZE, "a step leaves room for the next piece");

typedef struct {
    tc_writer *w;
    tc_hasher *h; /* non-NULL: w is a stack chunk, hashed and emptied when a piece may not fit */
} sink;

static void sink_flush(sink *s)
{
    /* The chunk always had room for the piece (sink_step), so it cannot have failed. */
    TC_ASSERT(s->w->err == 0 && s->w->len <= TXID_CHUNK_SIZE);
    tc_hasher_update(s->h, s->w->buf, s->w->len);
    s->w->len = 0;
}

/* Called before each piece: makes room for the largest one. */
static inline void sink_step(sink *s)
{
    if (s->h != NULL && s->w->len > TXID_CHUNK_SIZE - TX_PIECE_MAX)
        sink_flush(s);
}

static void emit_inputs(sink *s, const tc_tx *tx, bool with_sigs)
{
    const size_t size = with_sigs ? TC_TX_INPUT_SIZE : TC_TX_INPUT_SIZE - TC_SIG_SIZE;
    for (uint32_t i = 0; i < tx->input_count; i++) {
        const tc_txin *in = &tx->inputs[i];
        sink_step(s);
        uint8_t *p = tc_put_reserve(s->w, size);
        if (p == NULL)
            continue; /* the writer failed: it still counts the size */
        memcpy(p, in->prev.txid.b, TC_HASH_SIZE);
        tc_store_u32(p + TC_HASH_SIZE, in->prev.index);
        memcpy(p + TC_HASH_SIZE + 4, in->pub.b, TC_PUBKEY_SIZE);
        if (with_sigs)
            memcpy(p + TC_HASH_SIZE + 4 + TC_PUBKEY_SIZE, in->sig.b, TC_SIG_SIZE);
    }
}

static void emit_outputs(sink *s, const tc_tx *tx)
{
    sink_step(s);
    tc_put_u32(s->w, tx->output_count);
    for (uint32_t i = 0; i < tx->output_count; i++) {
        sink_step(s);
        uint8_t *p = tc_put_reserve(s->w, TC_TX_OUTPUT_SIZE);
        if (p == NULL)
            continue;
        tc_store_u64(p, tx->outputs[i].amount);
        memcpy(p + 8, tx->outputs[i].addr.b, TC_ADDR_HASH_SIZE);
    }
}

/* Transfers encode no payload at all; their in-memory payload fields must stay zero, which
 * tc_tx_check_form enforces (TC_ETX_KIND), so a decoded value always equals the sent one. */
static void emit_payload(sink *s, const tc_tx *tx, bool with_sigs)
{
    sink_step(s);
    if (tx->kind == TC_TX_MN_REGISTER) {
        tc_put_raw(s->w, tx->mn_key.b, TC_PUBKEY_SIZE);
        tc_put_u8(s->w, tx->mn_tier);
        tc_put_bytes(s->w, tx->net_addr, tx->net_addr_len);
        if (with_sigs)
            tc_put_raw(s->w, tx->mn_sig.b, TC_SIG_SIZE);
    } else if (tx->kind == TC_TX_MN_RETIRE) {
        tc_put_raw(s->w, tx->mn_key.b, TC_PUBKEY_SIZE);
    }
}

static void emit_tx(sink *s, const tc_tx *tx, bool with_sigs)
{
    TC_ASSERT(tx->kind < TC_TX_KIND_COUNT);
    TC_ASSERT(tx->net_addr_len <= TC_TX_NETADDR_MAX);
    sink_step(s);
    uint8_t *p = tc_put_reserve(s->w, 2 + 1 + 4);
    if (p != NULL) {
        tc_store_u16(p, tx->version);
        p[2] = tx->kind;
        tc_store_u32(p + 3, tx->input_count);
    }
    emit_inputs(s, tx, with_sigs);
    emit_outputs(s, tx);
    emit_payload(s, tx, with_sigs);
}

void tc_tx_encode(tc_writer *w, const tc_tx *tx)
{
    TC_ASSERT(w != NULL && tx != NULL);
    sink s = {.w = w, .h = NULL};
    emit_tx(&s, tx, true);
}

size_t tc_tx_encoded_size(const tc_tx *tx)
{
    TC_ASSERT(tx != NULL);
    TC_ASSERT(tx->kind < TC_TX_KIND_COUNT);
    /* Arithmetic rather than a measuring pass: the ledger's hot path calls this per check. */
    size_t n = 2 + 1 + 4 + (size_t)tx->input_count * TC_TX_INPUT_SIZE + 4 +
               (size_t)tx->output_count * TC_TX_OUTPUT_SIZE;
    if (tx->kind == TC_TX_MN_REGISTER)
        n += TC_PUBKEY_SIZE + 1 + 4 + (size_t)tx->net_addr_len + TC_SIG_SIZE;
    else if (tx->kind == TC_TX_MN_RETIRE)
        n += TC_PUBKEY_SIZE;
    return n;
}

int tc_tx_encode_alloc(const tc_tx *tx, uint8_t **out, size_t *len_out)
{
    TC_ASSERT(tx != NULL && out != NULL && len_out != NULL);
    *out = NULL;
    *len_out = 0;
    size_t n = tc_tx_encoded_size(tx);
    uint8_t *buf = tc_malloc(n);
    if (buf == NULL)
        return TC_ENOMEM;
    tc_writer w;
    size_t len;
    tc_writer_init(&w, buf, n);
    tc_tx_encode(&w, tx);
    int rc = tc_writer_finish(&w, &len);
    TC_ASSERT(rc == 0 && len == n); /* tc_tx_encoded_size and emit_tx agree */
    *out = buf;
    *len_out = len;
    return 0;
}

/* ---- decoding ---- */

static void read_inputs(tc_reader *r, tc_tx *tx)
{
    for (uint32_t i = 0; i < tx->input_count; i++) {
        tc_txin *in = &tx->inputs[i];
        TC_GET_HASH(r, &in->prev.txid);
        in->prev.index = tc_get_u32(r);
        tc_get_raw(r, in->pub.b, TC_PUBKEY_SIZE);
        tc_get_raw(r, in->sig.b, TC_SIG_SIZE);
    }
}

static void read_payload(tc_reader *r, tc_tx *tx)
{
    if (tx->kind == TC_TX_MN_REGISTER) {
        uint32_t len;
        tc_get_raw(r, tx->mn_key.b, TC_PUBKEY_SIZE);
        tx->mn_tier = tc_get_enum(r, TC_TIER_COUNT);
        const uint8_t *addr = tc_get_bytes(r, TC_TX_NETADDR_MAX, &len);
        if (addr != NULL) {
            memcpy(tx->net_addr, addr, len);
            tx->net_addr_len = (uint8_t)len;
        }
        tc_get_raw(r, tx->mn_sig.b, TC_SIG_SIZE);
    } else if (tx->kind == TC_TX_MN_RETIRE) {
        tc_get_raw(r, tx->mn_key.b, TC_PUBKEY_SIZE);
    }
}

int tc_tx_read(tc_reader *r, tc_tx *tx)
{
    TC_ASSERT(r != NULL && tx != NULL);
    clear(tx);
    tx->version = tc_get_u16(r);
    if (r->err == 0 && tx->version != TC_TX_VERSION)
        tc_reader_fail(r, TC_ERANGE);
    tx->kind = tc_get_enum(r, TC_TX_KIND_COUNT);
    /* Each count is checked against the hard limit and the bytes left before allocation. */
    uint32_t nin = tc_get_count(r, TC_TX_INPUTS_HARD_MAX, TC_TX_INPUT_SIZE);
    if (r->err == 0 && alloc_arrays(tx, nin, 0) != 0)
        tc_reader_fail(r, TC_ENOMEM);
    read_inputs(r, tx);
    uint32_t nout = tc_get_count(r, TC_TX_OUTPUTS_HARD_MAX, TC_TX_OUTPUT_SIZE);
    if (r->err == 0 && nout > 0) {
        tx->outputs = tc_calloc(nout, sizeof(tc_txout));
        if (tx->outputs == NULL)
            tc_reader_fail(r, TC_ENOMEM);
        else
            tx->output_count = nout;
    }
    for (uint32_t i = 0; i < tx->output_count; i++) {
        tx->outputs[i].amount = tc_get_u64(r);
        tc_get_raw(r, tx->outputs[i].addr.b, TC_ADDR_HASH_SIZE);
    }
    read_payload(r, tx);
    int rc = r->err;
    if (rc != 0)
        tc_tx_deinit(tx);
    return rc;
}

int tc_tx_decode(tc_tx *tx, const uint8_t *bytes, size_t n)
{
    TC_ASSERT(tx != NULL);
    TC_ASSERT(bytes != NULL || n == 0);
    tc_reader r;
    tc_reader_init(&r, bytes, n);
    int rc = tc_tx_read(&r, tx);
    if (rc == 0)
        rc = tc_reader_finish(&r);
    if (rc != 0)
        tc_tx_deinit(tx);
    return rc;
}

/* ---- ids and signatures ---- */

void tc_tx_id(const tc_tx *tx, tc_hash *txid_out)
{
    TC_ASSERT(tx != NULL && txid_out != NULL);
    tc_hasher h;
    uint8_t chunk[TXID_CHUNK_SIZE]; /* not cleared: only written bytes are hashed */
    tc_writer w;
    tc_hasher_init(&h, TC_TAG_TX);
    tc_writer_init(&w, chunk, sizeof(chunk));
    sink s = {.w = &w, .h = &h};
    emit_tx(&s, tx, false);
    sink_flush(&s);
    tc_hasher_final(&h, txid_out);
}

void tc_tx_sighash(const tc_hash *txid, uint32_t input_index, tc_hash *out)
{
    TC_ASSERT(txid != NULL && out != NULL);
    uint8_t buf[TC_HASH_SIZE + 4];
    memcpy(buf, txid->b, TC_HASH_SIZE);
    for (int i = 0; i < 4; i++)
        buf[TC_HASH_SIZE + i] = (uint8_t)(input_index >> (8 * i));
    tc_hash_tagged(out, TC_TAG_SIGHASH, buf, sizeof(buf));
}

void tc_tx_sign_input(tc_tx *tx, const tc_hash *txid, uint32_t i, tc_sig_scheme scheme,
                      const tc_keypair *kp)
{
    TC_ASSERT(tx != NULL && txid != NULL && kp != NULL);
    TC_ASSERT(i < tx->input_count && i != TC_TX_SIGHASH_MN);
    TC_ASSERT(memcmp(tx->inputs[i].pub.b, kp->pub.b, TC_PUBKEY_SIZE) == 0);
    tc_hash msg;
    tc_tx_sighash(txid, i, &msg);
    tc_sign(scheme, kp, &msg, &tx->inputs[i].sig);
}

void tc_tx_sign_mn(tc_tx *tx, const tc_hash *txid, tc_sig_scheme scheme, const tc_keypair *mn_kp)
{
    TC_ASSERT(tx != NULL && txid != NULL && mn_kp != NULL);
    TC_ASSERT(tx->kind == TC_TX_MN_REGISTER);
    TC_ASSERT(memcmp(tx->mn_key.b, mn_kp->pub.b, TC_PUBKEY_SIZE) == 0);
    tc_hash msg;
    tc_tx_sighash(txid, TC_TX_SIGHASH_MN, &msg);
    tc_sign(scheme, mn_kp, &msg, &tx->mn_sig);
}

/* ---- stateless checks ---- */

/* Pairwise on purpose: no allocation, and the count is already bounded by tx_inputs_max, so
 * the quadratic cost stays far below the signature checks the same inputs will need. */
static bool has_dup_input(const tc_tx *tx)
{
    for (uint32_t i = 1; i < tx->input_count; i++)
        for (uint32_t j = 0; j < i; j++)
            if (tc_outpoint_cmp(&tx->inputs[i].prev, &tx->inputs[j].prev) == 0)
                return true;
    return false;
}

static bool is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

/* Kind rules. Fields a kind does not encode must be zero, so the in-memory value a node holds
 * is exactly the one it decodes from its own encoding. */
static int check_kind(const tc_tx *tx, const tc_profile *p)
{
    if (tx->kind == TC_TX_TRANSFER) {
        bool zero = is_zero(tx->mn_key.b, TC_PUBKEY_SIZE) && tx->mn_tier == 0 &&
                    tx->net_addr_len == 0 && is_zero(tx->mn_sig.b, TC_SIG_SIZE);
        return zero ? 0 : TC_ETX_KIND;
    }
    if (is_zero(tx->mn_key.b, TC_PUBKEY_SIZE))
        return TC_ETX_KIND;
    if (tx->kind == TC_TX_MN_RETIRE) {
        bool zero = tx->mn_tier == 0 && tx->net_addr_len == 0 && is_zero(tx->mn_sig.b, TC_SIG_SIZE);
        return zero ? 0 : TC_ETX_KIND;
    }
    if (tx->kind != TC_TX_MN_REGISTER || tx->mn_tier >= TC_TIER_COUNT ||
        tx->net_addr_len > TC_TX_NETADDR_MAX)
        return TC_ETX_KIND;
    /* outputs[0] is the collateral; tc_tx_check_form has checked that it exists. */
    return tx->outputs[0].amount == tc_tier_collateral(p, (tc_tier)tx->mn_tier) ? 0 : TC_ETX_KIND;
}

static int check_outputs(const tc_tx *tx, const tc_profile *p)
{
    for (uint32_t i = 0; i < tx->output_count; i++)
        if (tx->outputs[i].amount == 0)
            return TC_ETX_ZERO_AMOUNT;
    for (uint32_t i = 0; i < tx->output_count; i++)
        if (tx->outputs[i].amount < p->dust_limit)
            return TC_ETX_DUST;
    uint64_t total;
    return tc_tx_output_total(tx, &total);
}

int tc_tx_check_form(const tc_tx *tx, const tc_profile *p)
{
    TC_ASSERT(tx != NULL && p != NULL);
    TC_ASSERT(tx->input_count == 0 || tx->inputs != NULL);
    TC_ASSERT(tx->output_count == 0 || tx->outputs != NULL);
    if (tx->version != TC_TX_VERSION)
        return TC_ETX_VERSION;
    if (tx->input_count == 0)
        return TC_ETX_NO_INPUTS;
    if (tx->output_count == 0)
        return TC_ETX_NO_OUTPUTS;
    if (tx->input_count > p->tx_inputs_max)
        return TC_ETX_TOO_MANY_INPUTS;
    if (tx->output_count > p->tx_outputs_max)
        return TC_ETX_TOO_MANY_OUTPUTS;
    if (tx->kind >= TC_TX_KIND_COUNT)
        return TC_ETX_KIND; /* before the size, which depends on the kind */
    if (tc_tx_encoded_size(tx) > p->tx_size_max)
        return TC_ETX_SIZE;
    if (has_dup_input(tx))
        return TC_ETX_DUP_INPUT;
    int rc = check_outputs(tx, p);
    if (rc != 0)
        return rc;
    return check_kind(tx, p);
}

int tc_tx_output_total(const tc_tx *tx, uint64_t *out)
{
    TC_ASSERT(tx != NULL && out != NULL);
    TC_ASSERT(tx->output_count == 0 || tx->outputs != NULL);
    uint64_t total = 0;
    *out = 0;
    for (uint32_t i = 0; i < tx->output_count; i++)
        if (tc_add_u64(&total, tx->outputs[i].amount) != 0)
            return TC_EOVERFLOW;
    *out = total;
    return 0;
}

int tc_tx_min_fee(const tc_profile *p, uint64_t output_total, uint64_t *out)
{
    TC_ASSERT(p != NULL && out != NULL);
    *out = 0;
    /* floor(total * pm / 1000) without a 128-bit product: total = 1000 q + r, so the product
     * is q * pm + floor(r * pm / 1000), where r * pm < 1000 * 2^32 cannot overflow. */
    uint64_t q = output_total / 1000, r = output_total % 1000;
    uint64_t pm = p->min_fee_per_mille;
    if (pm != 0 && q > UINT64_MAX / pm)
        return TC_EOVERFLOW;
    uint64_t fee = q * pm;
    if (tc_add_u64(&fee, r * pm / 1000) != 0 || tc_add_u64(&fee, p->min_fee_base) != 0)
        return TC_EOVERFLOW;
    *out = fee;
    return 0;
}

/* ---- addresses, outpoints, tiers ---- */

void tc_addr_from_pubkey(const tc_pubkey *pub, tc_addr_hash *out)
{
    TC_ASSERT(pub != NULL && out != NULL);
    tc_hash h;
    tc_hash_tagged(&h, TC_TAG_ADDR, pub->b, TC_PUBKEY_SIZE);
    memcpy(out->b, h.b, TC_ADDR_HASH_SIZE);
}

void tc_outpoint_key(const tc_outpoint *op, uint8_t out[TC_OUTPOINT_SIZE])
{
    TC_ASSERT(op != NULL && out != NULL);
    memcpy(out, op->txid.b, TC_HASH_SIZE);
    for (int i = 0; i < 4; i++)
        out[TC_HASH_SIZE + i] = (uint8_t)(op->index >> (8 * (3 - i)));
}

int tc_outpoint_cmp(const tc_outpoint *a, const tc_outpoint *b)
{
    TC_ASSERT(a != NULL && b != NULL);
    int c = memcmp(a->txid.b, b->txid.b, TC_HASH_SIZE);
    if (c != 0)
        return c < 0 ? -1 : 1;
    if (a->index != b->index)
        return a->index < b->index ? -1 : 1;
    return 0;
}

uint64_t tc_tier_collateral(const tc_profile *p, tc_tier t)
{
    TC_ASSERT(p != NULL);
    TC_ASSERT((unsigned)t < TC_TIER_COUNT);
    const uint64_t by_tier[TC_TIER_COUNT] = {p->collateral_bronze, p->collateral_silver,
                                             p->collateral_gold};
    return by_tier[t];
}

uint32_t tc_tier_weight(const tc_profile *p, tc_tier t)
{
    TC_ASSERT(p != NULL);
    TC_ASSERT((unsigned)t < TC_TIER_COUNT);
    const uint32_t by_tier[TC_TIER_COUNT] = {p->weight_bronze, p->weight_silver, p->weight_gold};
    return by_tier[t];
}

static const char *const tier_names[TC_TIER_COUNT] = {"bronze", "silver", "gold"};

const char *tc_tier_name(tc_tier t)
{
    TC_ASSERT((unsigned)t < TC_TIER_COUNT);
    return tier_names[t];
}

int tc_tier_parse(const char *name, tc_tier *out)
{
    TC_ASSERT(name != NULL && out != NULL);
    for (unsigned t = 0; t < TC_TIER_COUNT; t++) {
        if (strcmp(name, tier_names[t]) == 0) {
            *out = (tc_tier)t;
            return 0;
        }
    }
    *out = TC_TIER_BRONZE;
    return TC_EINVAL;
}

/* ---- the input memo ---- */

#define MEMO_WAYS 4

typedef struct {
    tc_hash txid;
    tc_pubkey pub;
    tc_sig sig;
    tc_addr_hash owner;
    uint32_t index;
    uint8_t scheme;
    bool used;
} memo_entry;

struct tc_input_memo {
    size_t set_count; /* a power of two */
    memo_entry *entries;
    uint8_t *next_victim;
    tc_verify_cache_stats stats;
};

tc_input_memo *tc_input_memo_new(size_t capacity)
{
    size_t sets = 4;
    while (sets * MEMO_WAYS < capacity && sets < ((size_t)1 << 32))
        sets <<= 1;
    tc_input_memo *m = tc_calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->set_count = sets;
    m->entries = tc_calloc(sets * MEMO_WAYS, sizeof(*m->entries));
    m->next_victim = tc_calloc(sets, 1);
    if (m->entries == NULL || m->next_victim == NULL) {
        tc_input_memo_free(m);
        return NULL;
    }
    return m;
}

void tc_input_memo_free(tc_input_memo *m)
{
    if (m == NULL)
        return;
    free(m->entries);
    free(m->next_victim);
    free(m);
}

void tc_input_memo_stats_get(const tc_input_memo *m, tc_verify_cache_stats *out)
{
    TC_ASSERT(m != NULL && out != NULL);
    *out = m->stats;
}

/* The set: eight bytes of the txid (a BLAKE2b output) mixed with the index. Whoever grinds txids
 * into one set only causes misses, since entries are compared whole. */
static memo_entry *memo_row(const tc_input_memo *m, const tc_hash *txid, uint32_t index)
{
    uint64_t h;
    memcpy(&h, txid->b, sizeof(h));
    h = (h ^ index) * UINT64_C(0x9e3779b97f4a7c15);
    size_t set = (size_t)(h ^ (h >> 32)) & (m->set_count - 1);
    return &m->entries[set * MEMO_WAYS];
}

static bool memo_is(const memo_entry *e, tc_sig_scheme scheme, const tc_hash *txid, uint32_t index,
                    const tc_pubkey *pub, const tc_sig *sig)
{
    return e->used && e->index == index && e->scheme == (uint8_t)scheme &&
           memcmp(e->txid.b, txid->b, TC_HASH_SIZE) == 0 &&
           memcmp(e->pub.b, pub->b, TC_PUBKEY_SIZE) == 0 &&
           memcmp(e->sig.b, sig->b, TC_SIG_SIZE) == 0;
}

bool tc_input_memo_get(tc_input_memo *m, tc_sig_scheme scheme, const tc_hash *txid, uint32_t index,
                       const tc_pubkey *pub, const tc_sig *sig, tc_addr_hash *owner_out)
{
    TC_ASSERT(m != NULL && txid != NULL && pub != NULL && sig != NULL && owner_out != NULL);
    const memo_entry *row = memo_row(m, txid, index);
    for (int i = 0; i < MEMO_WAYS; i++) {
        if (memo_is(&row[i], scheme, txid, index, pub, sig)) {
            m->stats.hits++;
            *owner_out = row[i].owner;
            return true;
        }
    }
    m->stats.misses++;
    return false;
}

void tc_input_memo_put(tc_input_memo *m, tc_sig_scheme scheme, const tc_hash *txid, uint32_t index,
                       const tc_pubkey *pub, const tc_sig *sig, const tc_addr_hash *owner)
{
    TC_ASSERT(m != NULL && txid != NULL && pub != NULL && sig != NULL && owner != NULL);
    memo_entry *row = memo_row(m, txid, index);
    for (int i = 0; i < MEMO_WAYS; i++)
        if (memo_is(&row[i], scheme, txid, index, pub, sig))
            return; /* put twice (two nodes missed before either put): nothing new */
    size_t set = (size_t)(row - m->entries) / MEMO_WAYS;
    uint8_t victim = m->next_victim[set];
    memo_entry *e = &row[victim];
    if (e->used)
        m->stats.evictions++;
    *e = (memo_entry){.txid = *txid,
                      .pub = *pub,
                      .sig = *sig,
                      .owner = *owner,
                      .index = index,
                      .scheme = (uint8_t)scheme,
                      .used = true};
    m->next_victim[set] = (uint8_t)((victim + 1) % MEMO_WAYS);
}
