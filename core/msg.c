/* msg.c — the wire protocol: frames and payloads (see msg.h). */
#include "msg.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The least bytes a BLOCKS entry takes: an empty block (header with an empty last_commit and
 * no evidence, three empty body lists) and an empty certificate. Used only to bound the entry
 * count against the bytes left before allocating. */
#define BLOCK_MIN_SIZE                                                                             \
    (2 + 8 + 4 + TC_HASH_SIZE + 8 + 3 * TC_HASH_SIZE + 4 + TC_COMMIT_MIN_SIZE + 4 + 3 * 4)
#define BLOCK_ENTRY_MIN_SIZE (BLOCK_MIN_SIZE + TC_COMMIT_MIN_SIZE)
/* Printable ASCII: text fields may reach logs and terminals. Addresses also exclude space. */
#define TEXT_LO 0x20
#define ADDR_LO 0x21
#define TEXT_HI 0x7e

/* ---- small helpers ---- */

/* The bytes of each type's union member. Decoding clears, and tc_msg_deinit empties, the
 * message only up to the end of its type's member: all of a tc_msg is 4 KiB (PEERS and
 * GET_VOTE_BATCHES live inline), more than most frames take to decode. */
static const size_t member_size[TC_MSG_TYPE_COUNT] = {
    [0] = 0,
    [TC_MSG_HELLO] = sizeof(tc_msg_hello),
    [TC_MSG_AUTH] = sizeof(tc_msg_auth),
    [TC_MSG_PING] = sizeof(tc_msg_ping),
    [TC_MSG_PONG] = sizeof(tc_msg_ping),
    [TC_MSG_GET_PEERS] = 0,
    [TC_MSG_PEERS] = sizeof(tc_msg_peers),
    [TC_MSG_STATUS] = sizeof(tc_msg_status),
    [TC_MSG_TX] = sizeof(tc_tx),
    [TC_MSG_VOTE_BATCH] = sizeof(tc_msg_vote_batch),
    [TC_MSG_GET_VOTE_BATCHES] = sizeof(tc_msg_get_vote_batches),
    [TC_MSG_PROPOSAL] = sizeof(tc_msg_proposal),
    [TC_MSG_PREVOTE] = sizeof(tc_vote),
    [TC_MSG_PRECOMMIT] = sizeof(tc_vote),
    [TC_MSG_GET_BLOCKS] = sizeof(tc_msg_get_blocks),
    [TC_MSG_BLOCKS] = sizeof(tc_msg_blocks),
    [TC_MSG_HEARTBEAT] = sizeof(tc_msg_heartbeat),
    [TC_MSG_HANDOFF] = sizeof(tc_handoff),
    [TC_MSG_EVIDENCE] = sizeof(tc_evidence),
    [TC_MSG_REJECT] = sizeof(tc_msg_reject),
    [TC_MSG_GET_VOTES] = sizeof(tc_msg_get_votes),
    [TC_MSG_VOTES] = sizeof(tc_msg_votes),
    [TC_MSG_GET_TXS] = sizeof(tc_msg_get_txs),
    [TC_MSG_TXS] = sizeof(tc_msg_txs),
    [TC_MSG_GET_SNAPSHOT] = sizeof(tc_msg_get_snapshot),
    [TC_MSG_SNAPSHOT] = sizeof(tc_msg_snapshot),
    [TC_MSG_IHAVE] = sizeof(tc_msg_invs),
    [TC_MSG_IWANT] = sizeof(tc_msg_invs),
    [TC_MSG_VOTE_BITS] = sizeof(tc_msg_vote_bits),
    [TC_MSG_VOTE_WANT] = sizeof(tc_msg_vote_bits),
    [TC_MSG_BUNDLE] = sizeof(tc_msg_bundle),
};
_Static_assert(TC_MSG_BUNDLE == TC_MSG_TYPE_COUNT - 1, "a new type gets a row above");
_Static_assert(TC_MSG_HEADER_SIZE + 4 + TC_MSG_BUNDLE_BYTES_MAX <= TC_MSG_FRAME_SPEC_MAX,
               "a full BUNDLE fits a frame");

bool tc_msg_type_known(uint8_t type)
{
    return type > 0 && type < TC_MSG_TYPE_COUNT;
}

bool tc_msg_inv_type_ok(uint8_t type)
{
    return type == TC_MSG_TX || type == TC_MSG_VOTE_BATCH || type == TC_MSG_PROPOSAL;
}

/* Proposals are left out: they are large (a bundle would hold one or two) and a round waits
 * for them, so they travel alone. */
bool tc_msg_bundle_type_ok(uint8_t type)
{
    return type == TC_MSG_TX || type == TC_MSG_VOTE_BATCH;
}

/* Zeroes m from its start (the type) to the end of type's member; the rest is left as is. */
static void msg_clear(tc_msg *m, uint8_t type)
{
    TC_ASSERT(type < TC_MSG_TYPE_COUNT);
    size_t n = offsetof(tc_msg, hello) + member_size[type];
    TC_ASSERT(n <= sizeof(*m));
    memset(m, 0, n);
}

static uint32_t be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static bool text_ok(const void *bytes, size_t n, uint8_t lo)
{
    const uint8_t *p = bytes;
    for (size_t i = 0; i < n; i++)
        if (p[i] < lo || p[i] > TEXT_HI)
            return false;
    return true;
}

/* Length of a NUL-terminated string held in a buffer of cap bytes; cap if it has no NUL. */
static size_t str_len(const char *s, size_t cap)
{
    const char *nul = memchr(s, 0, cap);
    return nul == NULL ? cap : (size_t)(nul - s);
}

/* Reads a length-prefixed text of at most max bytes, each in [lo, 0x7e], into out
 * (NUL-terminated, max + 1 bytes). An empty text is refused when nonempty is set. */
static uint32_t text_read(tc_reader *r, uint32_t max, uint8_t lo, bool nonempty, char *out)
{
    uint32_t n = 0;
    const uint8_t *p = tc_get_bytes(r, max, &n);
    if (r->err != 0)
        return 0;
    if ((nonempty && n == 0) || !text_ok(p, n, lo)) {
        tc_reader_fail(r, TC_ERANGE);
        return 0;
    }
    TC_ASSERT(n <= max);
    memcpy(out, p, n);
    out[n] = 0;
    return n;
}

static void sig_read(tc_reader *r, tc_sig *s)
{
    tc_get_raw(r, s->b, TC_SIG_SIZE);
}

/* ---- payload readers: each reads its fields and checks their ranges; the first error sticks
 * in the reader. Arrays are allocated, and their counts set, only once the count passed the
 * reader's checks, so a partly read message is always safe to deinit. ---- */

static void hello_read(tc_reader *r, tc_msg_hello *h)
{
    h->magic = tc_get_u32(r);
    h->version = tc_get_u16(r);
    TC_GET_HASH(r, &h->genesis);
    tc_get_raw(r, h->pubkey.b, TC_PUBKEY_SIZE);
    tc_get_raw(r, h->nonce, TC_MSG_NONCE_SIZE);
    h->best_height = tc_get_u64(r);
    h->listen_port = tc_get_u16(r);
    uint32_t n = text_read(r, TC_MSG_USER_AGENT_MAX, TEXT_LO, false, h->user_agent);
    TC_ASSERT(n <= TC_MSG_USER_AGENT_MAX && (r->err == 0 || n == 0));
    h->user_agent_len = (uint8_t)n;
}

static void peers_read(tc_reader *r, tc_msg_peers *p)
{
    uint32_t n = tc_get_count(r, TC_MSG_PEERS_MAX, 4 + 1);
    TC_ASSERT(n <= TC_MSG_PEERS_MAX);
    for (uint32_t i = 0; i < n && r->err == 0; i++)
        (void)text_read(r, TC_MSG_ADDR_MAX, ADDR_LO, true, p->addrs[i]);
    if (r->err == 0)
        p->addr_count = n;
}

static void vote_batch_read(tc_reader *r, tc_msg_vote_batch *b)
{
    b->epoch = tc_get_u32(r);
    b->validator = tc_get_u32(r);
    b->seq = tc_get_u64(r);
    uint32_t n = tc_get_count(r, TC_MSG_VOTE_TXIDS_MAX, TC_HASH_SIZE);
    _Static_assert(sizeof(tc_hash) == TC_HASH_SIZE, "an array of txids is their wire bytes");
    if (r->err == 0 && n > 0) {
        /* Not calloc: the count passed the bytes left, so the read below fills every byte (and
         * a failed read zeroes them). */
        b->txids = tc_malloc((size_t)n * sizeof(*b->txids));
        if (b->txids == NULL)
            tc_reader_fail(r, TC_ENOMEM);
        else
            b->txid_count = n;
    }
    TC_ASSERT(b->txid_count <= TC_MSG_VOTE_TXIDS_MAX);
    if (b->txid_count > 0)
        tc_get_raw(r, b->txids, (size_t)b->txid_count * TC_HASH_SIZE); /* one copy */
    sig_read(r, &b->sig);
}

static void get_vote_batches_read(tc_reader *r, tc_msg_get_vote_batches *g)
{
    uint32_t n = tc_get_count(r, TC_MSG_BATCH_REFS_MAX, TC_BATCH_REF_SIZE);
    TC_ASSERT(n <= TC_MSG_BATCH_REFS_MAX);
    for (uint32_t i = 0; i < n; i++) {
        g->refs[i].validator = tc_get_u32(r);
        g->refs[i].seq = tc_get_u64(r);
    }
    if (r->err == 0)
        g->ref_count = n;
}

static void proposal_read(tc_reader *r, tc_msg_proposal *p)
{
    p->height = tc_get_u64(r);
    p->round = tc_get_u32(r);
    p->pol_round = tc_get_u32(r);
    /* A proof-of-lock names an earlier round of the same height (Tendermint's validRound). */
    if (r->err == 0 && p->pol_round != TC_MSG_POL_NONE && p->pol_round >= p->round)
        tc_reader_fail(r, TC_ERANGE);
    if (r->err != 0)
        return;
    (void)tc_block_read(r, &p->block);
    if (r->err == 0 && p->block.header.height != p->height)
        tc_reader_fail(r, TC_ERANGE);
    sig_read(r, &p->sig);
}

static void vote_read(tc_reader *r, uint8_t type, tc_vote *v)
{
    uint8_t want = type == TC_MSG_PREVOTE ? TC_VOTE_PREVOTE : TC_VOTE_PRECOMMIT;
    TC_ASSERT(type == TC_MSG_PREVOTE || type == TC_MSG_PRECOMMIT);
    if (tc_vote_read(r, v) == 0 && v->type != want)
        tc_reader_fail(r, TC_ERANGE);
}

static void get_votes_read(tc_reader *r, tc_msg_get_votes *g)
{
    g->height = tc_get_u64(r);
    if (r->err == 0 && g->height == 0)
        tc_reader_fail(r, TC_ERANGE);
}

/* Every vote is of the message's height, and there is at least one: nothing else is an
 * answer to GET_VOTES. */
static void votes_read(tc_reader *r, tc_msg_votes *m)
{
    m->height = tc_get_u64(r);
    uint32_t n = tc_get_count(r, TC_MSG_VOTES_MAX, TC_VOTE_SIZE);
    if (r->err == 0 && n == 0)
        tc_reader_fail(r, TC_ERANGE);
    if (r->err != 0)
        return;
    m->votes = tc_calloc(n, sizeof(*m->votes));
    if (m->votes == NULL) {
        tc_reader_fail(r, TC_ENOMEM);
        return;
    }
    m->vote_count = n;
    for (uint32_t i = 0; i < n && r->err == 0; i++)
        if (tc_vote_read(r, &m->votes[i]) == 0 && m->votes[i].height != m->height)
            tc_reader_fail(r, TC_ERANGE);
}

/* VOTE_BITS / VOTE_WANT: a vote type, a count within bounds, and no bit set past the count
 * (canonical). */
static void vote_bits_read(tc_reader *r, tc_msg_vote_bits *m)
{
    m->height = tc_get_u64(r);
    m->round = tc_get_u32(r);
    m->vote_type = tc_get_u8(r);
    m->count = tc_get_u32(r);
    if (r->err != 0)
        return;
    if (m->count > TC_MSG_VOTE_BITS_MAX) {
        tc_reader_fail(r, TC_ETOOLONG);
        return;
    }
    tc_get_raw(r, m->bits, (m->count + 7) / 8);
    if (r->err == 0 && tc_msg_vote_bits_check(m) != 0)
        tc_reader_fail(r, TC_ERANGE);
}

/* At least one txid: an empty request asks for nothing. */
static void get_txs_read(tc_reader *r, tc_msg_get_txs *m)
{
    uint32_t n = tc_get_count(r, TC_MSG_GET_TXS_MAX, TC_HASH_SIZE);
    if (r->err == 0 && n == 0)
        tc_reader_fail(r, TC_ERANGE);
    if (r->err != 0)
        return;
    m->txids = tc_malloc((size_t)n * sizeof(*m->txids));
    if (m->txids == NULL) {
        tc_reader_fail(r, TC_ENOMEM);
        return;
    }
    m->count = n;
    TC_ASSERT(n <= TC_MSG_GET_TXS_MAX);
    tc_get_raw(r, m->txids, (size_t)n * TC_HASH_SIZE); /* the count passed the bytes left */
}

/* The last flag is 0 or 1; the list may be empty (the sender holds none of what was asked). */
static void txs_read(tc_reader *r, tc_msg_txs *m)
{
    m->last = tc_get_u8(r);
    if (r->err == 0 && m->last > 1)
        tc_reader_fail(r, TC_ERANGE);
    uint32_t n = tc_get_count(r, TC_MSG_TXS_MAX, TC_MSG_TX_MIN_SIZE);
    if (r->err != 0 || n == 0)
        return;
    m->txs = tc_calloc(n, sizeof(*m->txs));
    if (m->txs == NULL) {
        tc_reader_fail(r, TC_ENOMEM);
        return;
    }
    m->count = n; /* every slot is zeroed, so a partly read list deinits safely */
    for (uint32_t i = 0; i < n && r->err == 0; i++)
        (void)tc_tx_read(r, &m->txs[i]);
}

/* IHAVE / IWANT: at least one entry, each of a type that can be announced. */
static void invs_read(tc_reader *r, tc_msg_invs *m)
{
    uint32_t n = tc_get_count(r, TC_MSG_INV_MAX, TC_MSG_INV_SIZE);
    if (r->err == 0 && n == 0)
        tc_reader_fail(r, TC_ERANGE);
    if (r->err != 0)
        return;
    m->items = tc_calloc(n, sizeof(*m->items));
    if (m->items == NULL) {
        tc_reader_fail(r, TC_ENOMEM);
        return;
    }
    m->count = n;
    for (uint32_t i = 0; i < n && r->err == 0; i++) {
        m->items[i].type = tc_get_u8(r);
        TC_GET_HASH(r, &m->items[i].id);
        if (r->err == 0 && !tc_msg_inv_type_ok(m->items[i].type))
            tc_reader_fail(r, TC_ERANGE);
    }
}

/* BUNDLE: its own framing only. Each member is a whole frame delimited by its own length
 * prefix, of a type that may be bundled, inside the byte bound; what the member's payload says
 * is checked when the member is received on its own. The members point into the frame. */
static void bundle_read(tc_reader *r, tc_msg_bundle *m)
{
    uint32_t n = tc_get_count(r, TC_MSG_BUNDLE_MAX, TC_MSG_HEADER_SIZE);
    if (r->err == 0 && n == 0)
        tc_reader_fail(r, TC_ERANGE);
    if (r->err != 0)
        return;
    m->members = tc_calloc(n, sizeof(*m->members));
    if (m->members == NULL) {
        tc_reader_fail(r, TC_ENOMEM);
        return;
    }
    m->count = n;
    size_t total = 0;
    for (uint32_t i = 0; i < n && r->err == 0; i++) {
        const uint8_t *prefix = tc_get_take(r, TC_MSG_LEN_SIZE);
        uint32_t body = prefix != NULL ? be32_get(prefix) : 0;
        if (r->err == 0 && body == 0)
            tc_reader_fail(r, TC_ERANGE); /* a frame has at least its type */
        const uint8_t *rest = tc_get_take(r, body);
        if (r->err != 0)
            return;
        total += TC_MSG_LEN_SIZE + (size_t)body;
        if (total > TC_MSG_BUNDLE_BYTES_MAX)
            tc_reader_fail(r, TC_ETOOLONG);
        else if (!tc_msg_bundle_type_ok(rest[0]))
            tc_reader_fail(r, TC_ERANGE);
        m->members[i].frame = prefix;
        m->members[i].len = TC_MSG_LEN_SIZE + body;
    }
}

/* The data is copied out of the frame: the node keeps chunks until the snapshot is whole. */
static void snapshot_read(tc_reader *r, tc_msg_snapshot *m)
{
    m->height = tc_get_u64(r);
    m->chunk = tc_get_u32(r);
    const uint8_t *p = tc_get_bytes(r, TC_MSG_FRAME_SPEC_MAX, &m->len);
    if (r->err != 0 || m->len == 0)
        return;
    m->data = tc_malloc(m->len);
    if (m->data == NULL) {
        tc_reader_fail(r, TC_ENOMEM);
        return;
    }
    memcpy(m->data, p, m->len);
}

static void get_blocks_read(tc_reader *r, tc_msg_get_blocks *g)
{
    g->from_height = tc_get_u64(r);
    g->count = tc_get_u32(r);
    if (r->err == 0 && g->count > TC_MSG_BLOCKS_MAX)
        tc_reader_fail(r, TC_ETOOLONG);
    if (r->err == 0 && g->count == 0)
        tc_reader_fail(r, TC_ERANGE);
}

static void blocks_read(tc_reader *r, tc_msg_blocks *b)
{
    uint32_t n = tc_get_count(r, TC_MSG_BLOCKS_MAX, BLOCK_ENTRY_MIN_SIZE);
    if (r->err != 0 || n == 0)
        return;
    b->entries = tc_calloc(n, sizeof(*b->entries));
    if (b->entries == NULL) {
        tc_reader_fail(r, TC_ENOMEM);
        return;
    }
    b->entry_count = n;
    TC_ASSERT(n <= TC_MSG_BLOCKS_MAX);
    for (uint32_t i = 0; i < n && r->err == 0; i++) {
        tc_msg_block_entry *e = &b->entries[i];
        if (tc_block_read(r, &e->block) != 0 || tc_commit_read(r, &e->commit) != 0)
            break;
        if (e->commit.height != e->block.header.height)
            tc_reader_fail(r, TC_ERANGE);
    }
}

static void heartbeat_read(tc_reader *r, tc_msg_heartbeat *h)
{
    h->epoch = tc_get_u32(r);
    h->height = tc_get_u64(r);
    tc_get_raw(r, h->tip.b, TC_HASH_SIZE);
    h->time_ms = tc_get_u64(r);
    tc_get_raw(r, h->pubkey.b, TC_PUBKEY_SIZE);
    sig_read(r, &h->sig);
}

static void reject_read(tc_reader *r, tc_msg_reject *j)
{
    j->type = tc_get_u8(r);
    if (r->err == 0 && !tc_msg_type_known(j->type))
        tc_reader_fail(r, TC_ERANGE);
    j->code = (int32_t)tc_get_u32(r); /* two's complement on every platform we build for */
    if (r->err == 0 && j->code >= 0)
        tc_reader_fail(r, TC_ERANGE);
    j->reason_len = (uint8_t)text_read(r, TC_MSG_REASON_MAX, TEXT_LO, false, j->reason);
    TC_ASSERT(j->reason_len <= TC_MSG_REASON_MAX);
}

static void payload_read(tc_reader *r, tc_msg *m)
{
    TC_ASSERT(r->err == 0 && m->type > 0 && m->type < TC_MSG_TYPE_COUNT);
    switch (m->type) {
    case TC_MSG_HELLO:
        hello_read(r, &m->hello);
        break;
    case TC_MSG_AUTH:
        sig_read(r, &m->auth.sig);
        break;
    case TC_MSG_PING:
        m->ping.nonce = tc_get_u64(r);
        break;
    case TC_MSG_PONG:
        m->pong.nonce = tc_get_u64(r);
        break;
    case TC_MSG_GET_PEERS:
        break;
    case TC_MSG_PEERS:
        peers_read(r, &m->peers);
        break;
    case TC_MSG_STATUS:
        m->status.height = tc_get_u64(r);
        TC_GET_HASH(r, &m->status.tip);
        m->status.round = tc_get_u32(r);
        break;
    case TC_MSG_TX:
        (void)tc_tx_read(r, &m->tx);
        break;
    case TC_MSG_VOTE_BATCH:
        vote_batch_read(r, &m->vote_batch);
        break;
    case TC_MSG_GET_VOTE_BATCHES:
        get_vote_batches_read(r, &m->get_vote_batches);
        break;
    case TC_MSG_PROPOSAL:
        proposal_read(r, &m->proposal);
        break;
    case TC_MSG_PREVOTE:
    case TC_MSG_PRECOMMIT:
        vote_read(r, m->type, &m->vote);
        break;
    case TC_MSG_GET_BLOCKS:
        get_blocks_read(r, &m->get_blocks);
        break;
    case TC_MSG_BLOCKS:
        blocks_read(r, &m->blocks);
        break;
    case TC_MSG_HEARTBEAT:
        heartbeat_read(r, &m->heartbeat);
        break;
    case TC_MSG_HANDOFF:
        (void)tc_handoff_read(r, &m->handoff);
        break;
    case TC_MSG_EVIDENCE:
        (void)tc_evidence_read(r, &m->evidence);
        break;
    case TC_MSG_REJECT:
        reject_read(r, &m->reject);
        break;
    case TC_MSG_GET_VOTES:
        get_votes_read(r, &m->get_votes);
        break;
    case TC_MSG_VOTES:
        votes_read(r, &m->votes);
        break;
    case TC_MSG_GET_TXS:
        get_txs_read(r, &m->get_txs);
        break;
    case TC_MSG_TXS:
        txs_read(r, &m->txs);
        break;
    case TC_MSG_IHAVE:
    case TC_MSG_IWANT:
        invs_read(r, &m->invs);
        break;
    case TC_MSG_VOTE_BITS:
    case TC_MSG_VOTE_WANT:
        vote_bits_read(r, &m->vote_bits);
        break;
    case TC_MSG_GET_SNAPSHOT:
        m->get_snapshot.height = tc_get_u64(r);
        TC_GET_HASH(r, &m->get_snapshot.manifest);
        m->get_snapshot.chunk = tc_get_u32(r);
        break;
    case TC_MSG_SNAPSHOT:
        snapshot_read(r, &m->snapshot);
        break;
    case TC_MSG_BUNDLE:
        bundle_read(r, &m->bundle);
        break;
    default:
        TC_ASSERT(false && "type checked by tc_msg_decode");
    }
}

int tc_msg_frame_check(const uint8_t header[TC_MSG_LEN_SIZE], const tc_profile *p,
                       size_t *frame_len_out)
{
    TC_ASSERT(header != NULL && p != NULL && frame_len_out != NULL);
    TC_ASSERT(p->frame_size_max >= TC_MSG_HEADER_SIZE);
    uint32_t body = be32_get(header);
    *frame_len_out = 0;
    if (body == 0)
        return TC_ESHORT;
    /* Compare in 64 bits: body + 4 overflows u32 for a hostile length near 4 GiB. */
    if ((uint64_t)body + TC_MSG_LEN_SIZE > p->frame_size_max)
        return TC_ETOOLONG;
    *frame_len_out = (size_t)body + TC_MSG_LEN_SIZE;
    return 0;
}

int tc_msg_decode(const uint8_t *frame, size_t len, tc_msg *out)
{
    TC_ASSERT(out != NULL);
    TC_ASSERT(frame != NULL || len == 0);
    int rc = 0;
    uint8_t type = 0;
    if (len < TC_MSG_HEADER_SIZE)
        rc = TC_ESHORT;
    else if ((uint64_t)be32_get(frame) != (uint64_t)len - TC_MSG_LEN_SIZE)
        rc = TC_ERANGE;
    else
        type = frame[TC_MSG_LEN_SIZE];
    if (rc == 0 && !tc_msg_type_known(type))
        rc = TC_ERANGE;
    if (rc == 0) {
        msg_clear(out, type); /* the readers count on zeroed fields (counts, pointers) */
        tc_reader r;
        tc_reader_init(&r, frame + TC_MSG_HEADER_SIZE, len - TC_MSG_HEADER_SIZE);
        out->type = type;
        payload_read(&r, out);
        rc = tc_reader_finish(&r);
        if (rc != 0)
            tc_msg_deinit(out);
    }
    if (rc != 0)
        memset(out, 0, sizeof(*out)); /* a rejected frame leaves all of it zeroed (msg.h) */
    TC_ASSERT(rc != 0 || out->type == type);
    return rc;
}

static void blocks_deinit(tc_msg_blocks *b)
{
    TC_ASSERT(b->entries != NULL || b->entry_count == 0);
    for (uint32_t i = 0; i < b->entry_count; i++) {
        tc_block_deinit(&b->entries[i].block);
        tc_commit_deinit(&b->entries[i].commit);
    }
    free(b->entries);
}

void tc_msg_deinit(tc_msg *m)
{
    TC_ASSERT(m != NULL);
    TC_ASSERT(m->type < TC_MSG_TYPE_COUNT); /* garbage here would free garbage */
    switch (m->type) {
    case TC_MSG_TX:
        tc_tx_deinit(&m->tx);
        break;
    case TC_MSG_VOTE_BATCH:
        free(m->vote_batch.txids);
        break;
    case TC_MSG_PROPOSAL:
        tc_block_deinit(&m->proposal.block);
        break;
    case TC_MSG_BLOCKS:
        blocks_deinit(&m->blocks);
        break;
    case TC_MSG_HANDOFF:
        tc_handoff_deinit(&m->handoff);
        break;
    case TC_MSG_EVIDENCE:
        tc_evidence_deinit(&m->evidence); /* double-lock evidence owns batches and txs */
        break;
    case TC_MSG_VOTES:
        free(m->votes.votes);
        break;
    case TC_MSG_GET_TXS:
        free(m->get_txs.txids);
        break;
    case TC_MSG_TXS:
        TC_ASSERT(m->txs.txs != NULL || m->txs.count == 0);
        for (uint32_t i = 0; i < m->txs.count; i++)
            tc_tx_deinit(&m->txs.txs[i]);
        free(m->txs.txs);
        break;
    case TC_MSG_IHAVE:
    case TC_MSG_IWANT:
        free(m->invs.items);
        break;
    case TC_MSG_SNAPSHOT:
        free(m->snapshot.data);
        break;
    case TC_MSG_BUNDLE:
        free(m->bundle.members); /* the member bytes are the frame's */
        break;
    default:
        break; /* the other messages own nothing */
    }
    msg_clear(m, m->type);
    TC_ASSERT(m->type == 0);
}

/* ---- checks before encoding: the decoder's rules, so we never send what a peer rejects ---- */

static int text_check(const char *s, size_t len, size_t max, uint8_t lo, bool nonempty)
{
    if (len > max)
        return TC_ETOOLONG;
    if ((nonempty && len == 0) || !text_ok(s, len, lo))
        return TC_ERANGE;
    return 0;
}

static int peers_check(const tc_msg_peers *p)
{
    if (p->addr_count > TC_MSG_PEERS_MAX)
        return TC_ETOOLONG;
    for (uint32_t i = 0; i < p->addr_count; i++) {
        size_t n = str_len(p->addrs[i], sizeof(p->addrs[i]));
        int rc = text_check(p->addrs[i], n, TC_MSG_ADDR_MAX, ADDR_LO, true);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int blocks_check(const tc_msg_blocks *b)
{
    if (b->entry_count > TC_MSG_BLOCKS_MAX)
        return TC_ETOOLONG;
    TC_ASSERT(b->entries != NULL || b->entry_count == 0);
    for (uint32_t i = 0; i < b->entry_count; i++)
        if (b->entries[i].commit.height != b->entries[i].block.header.height)
            return TC_ERANGE;
    return 0;
}

static int votes_check(const tc_msg_votes *m)
{
    if (m->vote_count > TC_MSG_VOTES_MAX)
        return TC_ETOOLONG;
    if (m->vote_count == 0)
        return TC_ERANGE;
    TC_ASSERT(m->votes != NULL);
    for (uint32_t i = 0; i < m->vote_count; i++) {
        const tc_vote *v = &m->votes[i];
        bool type_ok = v->type == TC_VOTE_PREVOTE || v->type == TC_VOTE_PRECOMMIT;
        if (v->height != m->height || !type_ok || !tc_vote_pol_ok(v))
            return TC_ERANGE;
    }
    return 0;
}

static int invs_check(const tc_msg_invs *m)
{
    if (m->count > TC_MSG_INV_MAX)
        return TC_ETOOLONG;
    if (m->count == 0)
        return TC_ERANGE;
    TC_ASSERT(m->items != NULL);
    for (uint32_t i = 0; i < m->count; i++)
        if (!tc_msg_inv_type_ok(m->items[i].type))
            return TC_ERANGE;
    return 0;
}

static int bundle_check(const tc_msg_bundle *m)
{
    if (m->count > TC_MSG_BUNDLE_MAX)
        return TC_ETOOLONG;
    if (m->count == 0)
        return TC_ERANGE;
    TC_ASSERT(m->members != NULL);
    size_t total = 0;
    for (uint32_t i = 0; i < m->count; i++) {
        const tc_msg_bundle_member *f = &m->members[i];
        TC_ASSERT(f->frame != NULL);
        if (f->len < TC_MSG_HEADER_SIZE || be32_get(f->frame) != f->len - TC_MSG_LEN_SIZE ||
            !tc_msg_bundle_type_ok(f->frame[TC_MSG_LEN_SIZE]))
            return TC_ERANGE;
        total += f->len;
        if (total > TC_MSG_BUNDLE_BYTES_MAX)
            return TC_ETOOLONG;
    }
    return 0;
}

int tc_msg_vote_bits_check(const tc_msg_vote_bits *m)
{
    TC_ASSERT(m != NULL);
    if (m->count > TC_MSG_VOTE_BITS_MAX)
        return TC_ETOOLONG;
    if (m->count == 0 || m->height == 0 ||
        (m->vote_type != TC_VOTE_PREVOTE && m->vote_type != TC_VOTE_PRECOMMIT))
        return TC_ERANGE;
    for (uint32_t v = m->count; v < (m->count + 7) / 8 * 8; v++)
        if (m->bits[v / 8] & (1u << (v % 8)))
            return TC_ERANGE;
    return 0;
}

static int vote_check(uint8_t type, const tc_vote *v)
{
    uint8_t want = type == TC_MSG_PREVOTE ? TC_VOTE_PREVOTE : TC_VOTE_PRECOMMIT;
    return v->type == want && tc_vote_pol_ok(v) ? 0 : TC_ERANGE;
}

int tc_msg_check(const tc_msg *m)
{
    TC_ASSERT(m != NULL);
    switch (m->type) {
    case TC_MSG_HELLO:
        return text_check(m->hello.user_agent, m->hello.user_agent_len, TC_MSG_USER_AGENT_MAX,
                          TEXT_LO, false);
    case TC_MSG_PEERS:
        return peers_check(&m->peers);
    case TC_MSG_VOTE_BATCH:
        return m->vote_batch.txid_count > TC_MSG_VOTE_TXIDS_MAX ? TC_ETOOLONG : 0;
    case TC_MSG_GET_VOTE_BATCHES:
        return m->get_vote_batches.ref_count > TC_MSG_BATCH_REFS_MAX ? TC_ETOOLONG : 0;
    case TC_MSG_PROPOSAL: {
        const tc_msg_proposal *p = &m->proposal;
        bool pol_ok = p->pol_round == TC_MSG_POL_NONE || p->pol_round < p->round;
        return pol_ok && p->block.header.height == p->height ? 0 : TC_ERANGE;
    }
    case TC_MSG_PREVOTE:
    case TC_MSG_PRECOMMIT:
        return vote_check(m->type, &m->vote);
    case TC_MSG_GET_BLOCKS:
        if (m->get_blocks.count > TC_MSG_BLOCKS_MAX)
            return TC_ETOOLONG;
        return m->get_blocks.count == 0 ? TC_ERANGE : 0;
    case TC_MSG_BLOCKS:
        return blocks_check(&m->blocks);
    case TC_MSG_GET_VOTES:
        return m->get_votes.height == 0 ? TC_ERANGE : 0;
    case TC_MSG_VOTES:
        return votes_check(&m->votes);
    case TC_MSG_IHAVE:
    case TC_MSG_IWANT:
        return invs_check(&m->invs);
    case TC_MSG_BUNDLE:
        return bundle_check(&m->bundle);
    case TC_MSG_VOTE_BITS:
    case TC_MSG_VOTE_WANT:
        return tc_msg_vote_bits_check(&m->vote_bits);
    case TC_MSG_GET_TXS:
        if (m->get_txs.count > TC_MSG_GET_TXS_MAX)
            return TC_ETOOLONG;
        return m->get_txs.count == 0 ? TC_ERANGE : 0;
    case TC_MSG_TXS:
        if (m->txs.count > TC_MSG_TXS_MAX)
            return TC_ETOOLONG;
        return m->txs.last > 1 || (m->txs.count > 0 && m->txs.txs == NULL) ? TC_ERANGE : 0;
    case TC_MSG_REJECT:
        if (!tc_msg_type_known(m->reject.type) || m->reject.code >= 0)
            return TC_ERANGE;
        return text_check(m->reject.reason, m->reject.reason_len, TC_MSG_REASON_MAX, TEXT_LO,
                          false);
    case TC_MSG_SNAPSHOT:
        return m->snapshot.len > 0 && m->snapshot.data == NULL ? TC_ERANGE : 0;
    default:
        return tc_msg_type_known(m->type) ? 0 : TC_ERANGE;
    }
}

/* ---- payload writers ---- */

static void hello_write(tc_writer *w, const tc_msg_hello *h)
{
    tc_put_u32(w, h->magic);
    tc_put_u16(w, h->version);
    TC_PUT_HASH(w, &h->genesis);
    tc_put_raw(w, h->pubkey.b, TC_PUBKEY_SIZE);
    tc_put_raw(w, h->nonce, TC_MSG_NONCE_SIZE);
    tc_put_u64(w, h->best_height);
    tc_put_u16(w, h->listen_port);
    tc_put_bytes(w, h->user_agent, h->user_agent_len);
}

static void peers_write(tc_writer *w, const tc_msg_peers *p)
{
    tc_put_u32(w, p->addr_count);
    for (uint32_t i = 0; i < p->addr_count; i++)
        tc_put_bytes(w, p->addrs[i], (uint32_t)str_len(p->addrs[i], sizeof(p->addrs[i])));
}

static void vote_batch_body_write(tc_writer *w, const tc_msg_vote_batch *b)
{
    tc_put_u32(w, b->epoch);
    tc_put_u32(w, b->validator);
    tc_put_u64(w, b->seq);
    tc_put_u32(w, b->txid_count);
    TC_ASSERT(b->txids != NULL || b->txid_count == 0);
    for (uint32_t i = 0; i < b->txid_count; i++)
        TC_PUT_HASH(w, &b->txids[i]);
}

static void get_vote_batches_write(tc_writer *w, const tc_msg_get_vote_batches *g)
{
    tc_put_u32(w, g->ref_count);
    for (uint32_t i = 0; i < g->ref_count; i++) {
        tc_put_u32(w, g->refs[i].validator);
        tc_put_u64(w, g->refs[i].seq);
    }
}

static void blocks_write(tc_writer *w, const tc_msg_blocks *b)
{
    tc_put_u32(w, b->entry_count);
    for (uint32_t i = 0; i < b->entry_count; i++) {
        tc_block_encode(w, &b->entries[i].block);
        tc_commit_encode(w, &b->entries[i].commit);
    }
}

static void heartbeat_body_write(tc_writer *w, const tc_msg_heartbeat *h)
{
    tc_put_u32(w, h->epoch);
    tc_put_u64(w, h->height);
    tc_put_raw(w, h->tip.b, TC_HASH_SIZE);
    tc_put_u64(w, h->time_ms);
    tc_put_raw(w, h->pubkey.b, TC_PUBKEY_SIZE);
}

static void payload_write(tc_writer *w, const tc_msg *m)
{
    TC_ASSERT(m->type > 0 && m->type < TC_MSG_TYPE_COUNT); /* tc_msg_check passed */
    switch (m->type) {
    case TC_MSG_HELLO:
        hello_write(w, &m->hello);
        break;
    case TC_MSG_AUTH:
        tc_put_raw(w, m->auth.sig.b, TC_SIG_SIZE);
        break;
    case TC_MSG_PING:
        tc_put_u64(w, m->ping.nonce);
        break;
    case TC_MSG_PONG:
        tc_put_u64(w, m->pong.nonce);
        break;
    case TC_MSG_GET_PEERS:
        break;
    case TC_MSG_PEERS:
        peers_write(w, &m->peers);
        break;
    case TC_MSG_STATUS:
        tc_put_u64(w, m->status.height);
        TC_PUT_HASH(w, &m->status.tip);
        tc_put_u32(w, m->status.round);
        break;
    case TC_MSG_TX:
        tc_tx_encode(w, &m->tx);
        break;
    case TC_MSG_VOTE_BATCH:
        vote_batch_body_write(w, &m->vote_batch);
        tc_put_raw(w, m->vote_batch.sig.b, TC_SIG_SIZE);
        break;
    case TC_MSG_GET_VOTE_BATCHES:
        get_vote_batches_write(w, &m->get_vote_batches);
        break;
    case TC_MSG_PROPOSAL:
        tc_put_u64(w, m->proposal.height);
        tc_put_u32(w, m->proposal.round);
        tc_put_u32(w, m->proposal.pol_round);
        tc_block_encode(w, &m->proposal.block);
        tc_put_raw(w, m->proposal.sig.b, TC_SIG_SIZE);
        break;
    case TC_MSG_PREVOTE:
    case TC_MSG_PRECOMMIT:
        tc_vote_encode(w, &m->vote);
        break;
    case TC_MSG_GET_BLOCKS:
        tc_put_u64(w, m->get_blocks.from_height);
        tc_put_u32(w, m->get_blocks.count);
        break;
    case TC_MSG_BLOCKS:
        blocks_write(w, &m->blocks);
        break;
    case TC_MSG_HEARTBEAT:
        heartbeat_body_write(w, &m->heartbeat);
        tc_put_raw(w, m->heartbeat.sig.b, TC_SIG_SIZE);
        break;
    case TC_MSG_HANDOFF:
        tc_handoff_encode(w, &m->handoff);
        break;
    case TC_MSG_EVIDENCE:
        tc_evidence_encode(w, &m->evidence);
        break;
    case TC_MSG_GET_VOTES:
        tc_put_u64(w, m->get_votes.height);
        break;
    case TC_MSG_VOTES:
        tc_put_u64(w, m->votes.height);
        tc_put_u32(w, m->votes.vote_count);
        for (uint32_t i = 0; i < m->votes.vote_count; i++)
            tc_vote_encode(w, &m->votes.votes[i]);
        break;
    case TC_MSG_GET_TXS:
        tc_put_u32(w, m->get_txs.count);
        TC_ASSERT(m->get_txs.txids != NULL);
        tc_put_raw(w, m->get_txs.txids, (size_t)m->get_txs.count * TC_HASH_SIZE);
        break;
    case TC_MSG_TXS:
        tc_put_u8(w, m->txs.last);
        tc_put_u32(w, m->txs.count);
        for (uint32_t i = 0; i < m->txs.count; i++)
            tc_tx_encode(w, &m->txs.txs[i]);
        break;
    case TC_MSG_GET_SNAPSHOT:
        tc_put_u64(w, m->get_snapshot.height);
        TC_PUT_HASH(w, &m->get_snapshot.manifest);
        tc_put_u32(w, m->get_snapshot.chunk);
        break;
    case TC_MSG_SNAPSHOT:
        tc_put_u64(w, m->snapshot.height);
        tc_put_u32(w, m->snapshot.chunk);
        tc_put_u32(w, m->snapshot.len);
        if (m->snapshot.len > 0)
            tc_put_raw(w, m->snapshot.data, m->snapshot.len);
        break;
    case TC_MSG_BUNDLE:
        tc_put_u32(w, m->bundle.count);
        for (uint32_t i = 0; i < m->bundle.count; i++)
            tc_put_raw(w, m->bundle.members[i].frame, m->bundle.members[i].len);
        break;
    case TC_MSG_REJECT:
        tc_put_u8(w, m->reject.type);
        tc_put_u32(w, (uint32_t)m->reject.code);
        tc_put_bytes(w, m->reject.reason, m->reject.reason_len);
        break;
    case TC_MSG_IHAVE:
    case TC_MSG_IWANT:
        tc_put_u32(w, m->invs.count);
        for (uint32_t i = 0; i < m->invs.count; i++) {
            tc_put_u8(w, m->invs.items[i].type);
            TC_PUT_HASH(w, &m->invs.items[i].id);
        }
        break;
    case TC_MSG_VOTE_BITS:
    case TC_MSG_VOTE_WANT:
        tc_put_u64(w, m->vote_bits.height);
        tc_put_u32(w, m->vote_bits.round);
        tc_put_u8(w, m->vote_bits.vote_type);
        tc_put_u32(w, m->vote_bits.count);
        tc_put_raw(w, m->vote_bits.bits, (m->vote_bits.count + 7) / 8);
        break;
    default:
        TC_ASSERT(false && "type checked by tc_msg_check");
    }
}

int tc_msg_encode(tc_writer *w, const tc_msg *m)
{
    TC_ASSERT(w != NULL && m != NULL);
    int rc = tc_msg_check(m);
    if (rc != 0)
        return rc;
    size_t start = w->len;
    uint8_t prefix[TC_MSG_LEN_SIZE] = {0};
    tc_put_raw(w, prefix, sizeof(prefix)); /* patched below once the body's length is known */
    tc_put_u8(w, m->type);
    payload_write(w, m);
    size_t body = w->len - start - TC_MSG_LEN_SIZE;
    if (body > UINT32_MAX)
        w->err = TC_EENCODE;
    if (w->err != 0)
        return TC_EENCODE;
    TC_ASSERT(w->buf != NULL && start + TC_MSG_LEN_SIZE <= w->cap);
    be32_put(w->buf + start, (uint32_t)body);
    return 0;
}

size_t tc_msg_encoded_size(const tc_msg *m)
{
    TC_ASSERT(m != NULL);
    tc_writer w;
    tc_writer_init(&w, NULL, 0);
    int rc = tc_msg_encode(&w, m);
    TC_ASSERT(rc == 0 || rc == TC_EENCODE); /* the caller checked m */
    TC_ASSERT(w.len >= TC_MSG_HEADER_SIZE);
    return w.len;
}

int tc_msg_encode_alloc(const tc_msg *m, uint8_t **out, size_t *len_out)
{
    TC_ASSERT(m != NULL && out != NULL && len_out != NULL);
    *out = NULL;
    *len_out = 0;
    int rc = tc_msg_check(m);
    if (rc != 0)
        return rc;
    size_t n = tc_msg_encoded_size(m);
    uint8_t *buf = tc_malloc(n);
    if (buf == NULL)
        return TC_ENOMEM;
    tc_writer w;
    tc_writer_init(&w, buf, n);
    rc = tc_msg_encode(&w, m);
    TC_ASSERT(rc == 0 && w.len == n); /* sized exactly above */
    *out = buf;
    *len_out = n;
    return 0;
}

/* ---- signed objects ---- */

void tc_msg_auth_hash(const uint8_t peer_nonce[TC_MSG_NONCE_SIZE], const tc_pubkey *own_key,
                      tc_hash *out)
{
    TC_ASSERT(peer_nonce != NULL && own_key != NULL && out != NULL);
    uint8_t buf[TC_MSG_NONCE_SIZE + TC_PUBKEY_SIZE];
    memcpy(buf, peer_nonce, TC_MSG_NONCE_SIZE);
    memcpy(buf + TC_MSG_NONCE_SIZE, own_key->b, TC_PUBKEY_SIZE);
    tc_hash_tagged(out, TC_TAG_HELLO, buf, sizeof(buf));
}

void tc_msg_vote_batch_sign_hash(const tc_msg_vote_batch *b, tc_hash *out)
{
    TC_ASSERT(b != NULL && out != NULL);
    TC_ASSERT(b->txids != NULL || b->txid_count == 0);
    uint8_t head[4 + 4 + 8 + 4];
    tc_writer w;
    tc_writer_init(&w, head, sizeof(head));
    tc_put_u32(&w, b->epoch);
    tc_put_u32(&w, b->validator);
    tc_put_u64(&w, b->seq);
    tc_put_u32(&w, b->txid_count);
    TC_ASSERT(w.err == 0 && w.len == sizeof(head));
    /* Hashed in pieces: a batch of 4096 txids is too large for a stack buffer. */
    tc_hasher h;
    tc_hasher_init(&h, TC_TAG_VOTEBATCH);
    tc_hasher_update(&h, head, sizeof(head));
    if (b->txid_count > 0)
        tc_hasher_update(&h, b->txids, (size_t)b->txid_count * TC_HASH_SIZE);
    tc_hasher_final(&h, out);
}

void tc_msg_vote_batch_sign(tc_msg_vote_batch *b, tc_sig_scheme scheme, const tc_keypair *kp)
{
    TC_ASSERT(b != NULL && kp != NULL);
    tc_hash m;
    tc_msg_vote_batch_sign_hash(b, &m);
    tc_sign(scheme, kp, &m, &b->sig);
}

int tc_msg_frame_batch_hash(const uint8_t *frame, size_t len, tc_hash *out)
{
    return tc_msg_frame_batch_hash_memo(NULL, frame, len, out);
}

int tc_msg_frame_batch_hash_memo(const tc_hash_memo *memo, const uint8_t *frame, size_t len,
                                 tc_hash *out)
{
    TC_ASSERT(frame != NULL && out != NULL);
    /* The signed bytes are the payload without its trailing signature, in one piece. */
    size_t min = TC_MSG_HEADER_SIZE + 4 + 4 + 8 + 4 + TC_SIG_SIZE;
    if (len < min || frame[TC_MSG_LEN_SIZE] != TC_MSG_VOTE_BATCH)
        return TC_ERANGE;
    tc_hash_tagged_memo(memo, out, TC_TAG_VOTEBATCH, frame + TC_MSG_HEADER_SIZE,
                        len - TC_MSG_HEADER_SIZE - TC_SIG_SIZE);
    return 0;
}

int tc_msg_frame_proposal_id(const uint8_t *frame, size_t len, tc_hash *out)
{
    TC_ASSERT(frame != NULL && out != NULL);
    const size_t head = 8 + 4 + 4; /* height, round, pol_round */
    if (len < TC_MSG_HEADER_SIZE + head + TC_SIG_SIZE || frame[TC_MSG_LEN_SIZE] != TC_MSG_PROPOSAL)
        return TC_ERANGE;
    uint8_t buf[8 + 4 + 4 + TC_SIG_SIZE];
    memcpy(buf, frame + TC_MSG_HEADER_SIZE, head);
    memcpy(buf + head, frame + len - TC_SIG_SIZE, TC_SIG_SIZE);
    tc_hash_tagged(out, TC_TAG_PROPOSAL_ID, buf, sizeof(buf));
    return 0;
}

void tc_msg_proposal_sign_hash(const tc_msg_proposal *p, tc_hash *out)
{
    TC_ASSERT(p != NULL && out != NULL);
    tc_hash block;
    tc_block_hash(&p->block.header, &block);
    uint8_t buf[8 + 4 + 4 + TC_HASH_SIZE];
    tc_writer w;
    tc_writer_init(&w, buf, sizeof(buf));
    tc_put_u64(&w, p->height);
    tc_put_u32(&w, p->round);
    tc_put_u32(&w, p->pol_round);
    TC_PUT_HASH(&w, &block);
    TC_ASSERT(w.err == 0 && w.len == sizeof(buf));
    tc_hash_tagged(out, TC_TAG_PROPOSAL, buf, sizeof(buf));
}

void tc_msg_proposal_sign(tc_msg_proposal *p, tc_sig_scheme scheme, const tc_keypair *kp)
{
    TC_ASSERT(p != NULL && kp != NULL);
    tc_hash m;
    tc_msg_proposal_sign_hash(p, &m);
    tc_sign(scheme, kp, &m, &p->sig);
}

void tc_msg_heartbeat_sign_hash(const tc_msg_heartbeat *h, tc_hash *out)
{
    TC_ASSERT(h != NULL && out != NULL);
    uint8_t buf[4 + 8 + TC_HASH_SIZE + 8 + TC_PUBKEY_SIZE];
    tc_writer w;
    tc_writer_init(&w, buf, sizeof(buf));
    heartbeat_body_write(&w, h);
    TC_ASSERT(w.err == 0 && w.len == sizeof(buf));
    tc_hash_tagged(out, TC_TAG_HEARTBEAT, buf, sizeof(buf));
}

void tc_msg_heartbeat_sign(tc_msg_heartbeat *h, tc_sig_scheme scheme, const tc_keypair *kp)
{
    TC_ASSERT(h != NULL && kp != NULL);
    tc_hash m;
    tc_msg_heartbeat_sign_hash(h, &m);
    tc_sign(scheme, kp, &m, &h->sig);
}

/* ---- identities and names ---- */

uint8_t tc_msg_frame_type(const uint8_t *frame, size_t len)
{
    TC_ASSERT(frame != NULL || len == 0);
    return len < TC_MSG_HEADER_SIZE ? 0 : frame[TC_MSG_LEN_SIZE];
}

const char *tc_msg_type_name(uint8_t type)
{
    static const char *const names[TC_MSG_TYPE_COUNT] = {
        [TC_MSG_HELLO] = "HELLO",
        [TC_MSG_AUTH] = "AUTH",
        [TC_MSG_PING] = "PING",
        [TC_MSG_PONG] = "PONG",
        [TC_MSG_GET_PEERS] = "GET_PEERS",
        [TC_MSG_PEERS] = "PEERS",
        [TC_MSG_STATUS] = "STATUS",
        [TC_MSG_TX] = "TX",
        [TC_MSG_VOTE_BATCH] = "VOTE_BATCH",
        [TC_MSG_GET_VOTE_BATCHES] = "GET_VOTE_BATCHES",
        [TC_MSG_PROPOSAL] = "PROPOSAL",
        [TC_MSG_PREVOTE] = "PREVOTE",
        [TC_MSG_PRECOMMIT] = "PRECOMMIT",
        [TC_MSG_GET_BLOCKS] = "GET_BLOCKS",
        [TC_MSG_BLOCKS] = "BLOCKS",
        [TC_MSG_HEARTBEAT] = "HEARTBEAT",
        [TC_MSG_HANDOFF] = "HANDOFF",
        [TC_MSG_EVIDENCE] = "EVIDENCE",
        [TC_MSG_REJECT] = "REJECT",
        [TC_MSG_GET_VOTES] = "GET_VOTES",
        [TC_MSG_VOTES] = "VOTES",
        [TC_MSG_GET_TXS] = "GET_TXS",
        [TC_MSG_TXS] = "TXS",
        [TC_MSG_IHAVE] = "IHAVE",
        [TC_MSG_IWANT] = "IWANT",
        [TC_MSG_VOTE_BITS] = "VOTE_BITS",
        [TC_MSG_VOTE_WANT] = "VOTE_WANT",
        [TC_MSG_GET_SNAPSHOT] = "GET_SNAPSHOT",
        [TC_MSG_SNAPSHOT] = "SNAPSHOT",
        [TC_MSG_BUNDLE] = "BUNDLE",
    };
    return tc_msg_type_known(type) ? names[type] : "?";
}
