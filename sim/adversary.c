/* adversary.c — Byzantine rewriting of what an honest core sends (adversary.h).
 *
 * The honest core sends one frame per destination, so one proposal or vote arrives here once per
 * peer. Rewriting it means decoding, re-signing and re-encoding, so the result is memoised per
 * distinct input frame (a few entries, replaced round-robin): every peer sees the same conflicting
 * copy, and the cost is paid once. The memo never changes what is emitted, only how fast: every
 * random draw happens on a miss, and misses happen in the same order in every run of a seed.
 */
#include "adversary.h"

#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "msg.h"
#include "tx.h"

#define MEMO_COUNT           4
#define TAG_CONFLICT         "tc/adv/conflict"
#define JUNK_INPUT_INDEX_MAX 4
#define JUNK_AMOUNT_SPREAD   (1000 * TC_UNITS_PER_TIME)
/* A junk TX frame: header, version, kind, one input, one output, no payload. */
#define JUNK_TX_FRAME_SIZE                                                                         \
    (TC_MSG_HEADER_SIZE + 2 + 1 + 4 + TC_TX_INPUT_SIZE + 4 + TC_TX_OUTPUT_SIZE)
#define GARBAGE_FRAME_MAX (TC_MSG_HEADER_SIZE + TC_ADV_GARBAGE_PAYLOAD_MAX)

_Static_assert(GARBAGE_FRAME_MAX <= 1024, "garbage fits the smallest frame_size_max");
_Static_assert(JUNK_TX_FRAME_SIZE <= 1024, "a junk transaction fits the smallest frame");
_Static_assert(TC_ADV_REPLAY_SLOTS > 0 && TC_ADV_REPLAY_SLOTS <= UINT32_MAX / 2, "ring index");

typedef struct {
    uint8_t *in; /* NULL: empty entry */
    size_t in_len;
    uint8_t *out; /* NULL: the frame passes unchanged */
    size_t out_len;
} memo;

typedef struct {
    uint8_t *bytes;
    size_t len;
} slot;

/* The last proposal this node equivocated, so its own votes for B get B' as the conflict. */
typedef struct {
    bool valid;
    uint64_t height;
    uint32_t round;
    tc_hash original;
    tc_hash conflict;
} proposal_record;

struct tc_adv {
    tc_adv_config config;
    tc_profile profile; /* config.profile points here */
    tc_verifier verifier;
    tc_rng rng;
    tc_adv_stats stats;
    memo memos[MEMO_COUNT];
    uint32_t memo_next;
    proposal_record proposal;
    /* Timers (REPLAY, GARBAGE, FLOOD): anchored at the first tick. */
    bool started;
    uint64_t next_ms;
    uint64_t flood_start_ms;
    uint64_t flood_sent;
    /* REPLAY ring: ring[(head + i) % SLOTS] for i < ring_count, oldest first. */
    slot ring[TC_ADV_REPLAY_SLOTS];
    uint32_t ring_head;
    uint32_t ring_count;
    size_t ring_bytes;
};

/* ---- small helpers ---- */

static bool is_consensus(uint8_t type)
{
    return type == TC_MSG_PROPOSAL || type == TC_MSG_PREVOTE || type == TC_MSG_PRECOMMIT ||
           type == TC_MSG_VOTE_BATCH;
}

static bool is_timed(tc_adv_kind kind)
{
    return kind == TC_ADV_REPLAY || kind == TC_ADV_GARBAGE || kind == TC_ADV_FLOOD;
}

static void out_frame(tc_adv_emit_fn emit, void *ctx, uint32_t to, const uint8_t *frame, size_t len)
{
    TC_ASSERT(emit != NULL);
    TC_ASSERT(frame != NULL || len == 0);
    emit(ctx, to, frame, len);
}

/* Uniform in [mean / 2, 3 * mean / 2]: the average rhythm is mean, never in lockstep. */
static uint64_t draw_interval(tc_adv *a, uint32_t mean_ms)
{
    TC_ASSERT(mean_ms >= 2);
    uint64_t v = mean_ms / 2 + tc_rng_below(&a->rng, (uint64_t)mean_ms + 1);
    TC_ASSERT(v >= mean_ms / 2 && v <= mean_ms + mean_ms / 2);
    return v;
}

static uint32_t pick_peer(tc_adv *a, const uint32_t *peers, uint32_t peer_count)
{
    TC_ASSERT(peers != NULL && peer_count > 0);
    return peers[tc_rng_below(&a->rng, peer_count)];
}

/* The first (n + 1) / 2 peers, by list order, are the "first half". */
static bool in_second_half(uint32_t to, const uint32_t *peers, uint32_t peer_count)
{
    TC_ASSERT(peers != NULL || peer_count == 0);
    for (uint32_t i = 0; i < peer_count; i++)
        if (peers[i] == to)
            return i >= (peer_count + 1) / 2;
    return false;
}

/* A block hash nobody proposed, derived from X alone so every peer gets the same conflict. */
static void derive_conflict(const tc_hash *x, tc_hash *out)
{
    TC_ASSERT(x != NULL && out != NULL);
    tc_hash_tagged(out, TAG_CONFLICT, x->b, TC_HASH_SIZE);
    TC_ASSERT(memcmp(out->b, x->b, TC_HASH_SIZE) != 0);
}

/* ---- memo of rewritten frames ---- */

static void memo_clear(memo *m)
{
    free(m->in);
    free(m->out);
    memset(m, 0, sizeof(*m));
}

static const memo *memo_find(const tc_adv *a, const uint8_t *frame, size_t len)
{
    for (uint32_t i = 0; i < MEMO_COUNT; i++) {
        const memo *m = &a->memos[i];
        if (m->in != NULL && m->in_len == len && memcmp(m->in, frame, len) == 0)
            return m;
    }
    return NULL;
}

/* Takes ownership of out (may be NULL) and returns true, or returns false without taking it
 * when the copy of the input could not be allocated (the caller frees out after using it). */
static bool memo_put(tc_adv *a, const uint8_t *frame, size_t len, uint8_t *out, size_t out_len)
{
    TC_ASSERT(a->memo_next < MEMO_COUNT);
    TC_ASSERT(frame != NULL && len > 0);
    memo *m = &a->memos[a->memo_next];
    memo_clear(m);
    m->in = malloc(len);
    if (m->in == NULL)
        return false;
    memcpy(m->in, frame, len);
    m->in_len = len;
    m->out = out;
    m->out_len = out == NULL ? 0 : out_len;
    a->memo_next = (a->memo_next + 1) % MEMO_COUNT;
    return true;
}

/* ---- rewriting one decoded message ---- */

/* EQUIVOCATE as proposer: B' differs from B in its time only, which changes the block hash
 * while tx_root and utxo_root stay right; whether validators accept B' does not matter, two
 * signed proposals for one (height, round) do. */
static bool equivocate_proposal(tc_adv *a, tc_msg_proposal *p)
{
    tc_hash msg;
    tc_msg_proposal_sign_hash(p, &msg);
    if (tc_verify(&a->verifier, &a->config.key.pub, &msg, &p->sig) != 0)
        return false; /* a relayed proposal: not ours to equivocate */
    proposal_record *r = &a->proposal;
    tc_block_hash(&p->block.header, &r->original);
    uint64_t t = p->block.header.time_ms;
    p->block.header.time_ms = t == UINT64_MAX ? t - 1 : t + 1;
    tc_msg_proposal_sign(p, a->config.scheme, &a->config.key);
    tc_block_hash(&p->block.header, &r->conflict);
    r->height = p->height;
    r->round = p->round;
    r->valid = true;
    TC_ASSERT(memcmp(r->original.b, r->conflict.b, TC_HASH_SIZE) != 0);
    return true;
}

/* A second vote of the same (height, round, type) for another block: B' when this node
 * equivocated the proposal of that round and votes for its B, else a derived hash. */
static bool conflict_vote(tc_adv *a, tc_vote *v)
{
    if (tc_vote_is_nil(v))
        return false;
    if (tc_vote_verify(v, &a->verifier, &a->config.key.pub) != 0)
        return false; /* a relayed vote: signing it with our key would only be noise */
    const proposal_record *r = &a->proposal;
    tc_hash conflict;
    if (a->config.kind == TC_ADV_EQUIVOCATE && r->valid && r->height == v->height &&
        r->round == v->round && memcmp(r->original.b, v->block.b, TC_HASH_SIZE) == 0)
        conflict = r->conflict;
    else
        derive_conflict(&v->block, &conflict);
    TC_ASSERT(memcmp(conflict.b, v->block.b, TC_HASH_SIZE) != 0);
    v->block = conflict;
    tc_vote_sign(v, a->config.scheme, &a->config.key);
    return true;
}

/* INVALID_SIG: one bit of the signature, drawn from the rng, flipped. Any flipped bit breaks
 * an Ed25519 signature (libsodium rejects a non-canonical S) and a fast one (compared whole). */
static bool corrupt_sig(tc_adv *a, tc_msg *m)
{
    tc_sig *sig = NULL;
    if (m->type == TC_MSG_PROPOSAL)
        sig = &m->proposal.sig;
    else if (m->type == TC_MSG_PREVOTE || m->type == TC_MSG_PRECOMMIT)
        sig = &m->vote.sig;
    else if (m->type == TC_MSG_VOTE_BATCH)
        sig = &m->vote_batch.sig;
    if (sig == NULL)
        return false;
    uint64_t bit = tc_rng_below(&a->rng, TC_SIG_SIZE * 8);
    sig->b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    return true;
}

/* The rewritten frame for this kind, freshly allocated, or NULL: the frame passes unchanged
 * (it does not decode, is not ours, is a nil vote, or memory ran out). */
static uint8_t *compute(tc_adv *a, const uint8_t *frame, size_t len, size_t *out_len)
{
    tc_msg m;
    if (tc_msg_decode(frame, len, &m) != 0)
        return NULL;
    bool vote = m.type == TC_MSG_PREVOTE || m.type == TC_MSG_PRECOMMIT;
    bool changed = false;
    switch (a->config.kind) {
    case TC_ADV_EQUIVOCATE:
        if (m.type == TC_MSG_PROPOSAL)
            changed = equivocate_proposal(a, &m.proposal);
        else if (vote)
            changed = conflict_vote(a, &m.vote);
        break;
    case TC_ADV_DOUBLE_VOTE:
        changed = vote && conflict_vote(a, &m.vote);
        break;
    case TC_ADV_INVALID_SIG:
        changed = corrupt_sig(a, &m);
        break;
    default:
        break;
    }
    uint8_t *out = NULL;
    *out_len = 0;
    if (changed && tc_msg_encode_alloc(&m, &out, out_len) != 0)
        out = NULL;
    TC_ASSERT(out == NULL || *out_len > TC_MSG_HEADER_SIZE);
    tc_msg_deinit(&m);
    return out;
}

/* Memoised compute. *to_free is set when the result could not be memoised and so is the
 * caller's to free after emitting it. */
static const uint8_t *rewritten(tc_adv *a, const uint8_t *frame, size_t len, size_t *out_len,
                                uint8_t **to_free)
{
    *to_free = NULL;
    const memo *m = memo_find(a, frame, len);
    if (m != NULL) {
        *out_len = m->out_len;
        return m->out;
    }
    uint8_t *out = compute(a, frame, len, out_len);
    if (!memo_put(a, frame, len, out, *out_len))
        *to_free = out;
    return out;
}

/* ---- REPLAY ring ---- */

static void ring_pop(tc_adv *a)
{
    TC_ASSERT(a->ring_count > 0);
    slot *s = &a->ring[a->ring_head];
    TC_ASSERT(a->ring_bytes >= s->len);
    a->ring_bytes -= s->len;
    free(s->bytes);
    memset(s, 0, sizeof(*s));
    a->ring_head = (a->ring_head + 1) % TC_ADV_REPLAY_SLOTS;
    a->ring_count--;
}

/* The core sends one frame to every peer in a row, so comparing with the newest entry keeps
 * one copy of each without a set. */
static void ring_push(tc_adv *a, const uint8_t *frame, size_t len)
{
    if (len == 0 || len > TC_ADV_REPLAY_BYTES_MAX)
        return;
    if (a->ring_count > 0) {
        const slot *last = &a->ring[(a->ring_head + a->ring_count - 1) % TC_ADV_REPLAY_SLOTS];
        if (last->len == len && memcmp(last->bytes, frame, len) == 0)
            return;
    }
    while (a->ring_count == TC_ADV_REPLAY_SLOTS || a->ring_bytes + len > TC_ADV_REPLAY_BYTES_MAX)
        ring_pop(a);
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        return; /* forgetting a frame only makes the replayer weaker */
    memcpy(copy, frame, len);
    slot *s = &a->ring[(a->ring_head + a->ring_count) % TC_ADV_REPLAY_SLOTS];
    TC_ASSERT(s->bytes == NULL);
    s->bytes = copy;
    s->len = len;
    a->ring_count++;
    a->ring_bytes += len;
    TC_ASSERT(a->ring_bytes <= TC_ADV_REPLAY_BYTES_MAX);
}

/* ---- generated frames ---- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A frame with a right length prefix that tc_msg_decode rejects. The type is mostly a valid
 * one, so the receiver's decoders run on the random payload; type 0 is no type at all, so a
 * draw that happens to decode (an empty GET_PEERS, a PING's 8 bytes) is demoted to it. */
static size_t make_garbage(tc_adv *a, uint8_t buf[GARBAGE_FRAME_MAX])
{
    size_t payload = (size_t)tc_rng_below(&a->rng, TC_ADV_GARBAGE_PAYLOAD_MAX + 1);
    size_t len = TC_MSG_HEADER_SIZE + payload;
    TC_ASSERT(len <= GARBAGE_FRAME_MAX);
    put_be32(buf, (uint32_t)(len - TC_MSG_LEN_SIZE));
    if (tc_rng_below(&a->rng, 4) != 0)
        buf[4] = (uint8_t)(1 + tc_rng_below(&a->rng, TC_MSG_TYPE_COUNT - 1));
    else
        buf[4] = (uint8_t)tc_rng_below(&a->rng, 256);
    tc_rng_bytes(&a->rng, buf + TC_MSG_HEADER_SIZE, payload);
    tc_msg m;
    if (tc_msg_decode(buf, len, &m) == 0) {
        tc_msg_deinit(&m);
        buf[4] = 0;
    }
    return len;
}

/* A transfer that decodes and passes the stateless checks but spends a random outpoint, so the
 * receiver pays a decode and a ledger lookup before it can reject it. */
static size_t make_junk_tx(tc_adv *a, uint8_t buf[JUNK_TX_FRAME_SIZE])
{
    tc_txin in;
    tc_txout out;
    memset(&in, 0, sizeof(in));
    memset(&out, 0, sizeof(out));
    tc_rng_bytes(&a->rng, in.prev.txid.b, TC_HASH_SIZE);
    in.prev.index = (uint32_t)tc_rng_below(&a->rng, JUNK_INPUT_INDEX_MAX);
    tc_rng_bytes(&a->rng, in.pub.b, TC_PUBKEY_SIZE);
    tc_rng_bytes(&a->rng, in.sig.b, TC_SIG_SIZE);
    uint64_t dust = a->profile.dust_limit;
    uint64_t spread = tc_rng_below(&a->rng, JUNK_AMOUNT_SPREAD) + 1;
    out.amount = dust > UINT64_MAX - spread ? dust : dust + spread;
    tc_rng_bytes(&a->rng, out.addr.b, TC_ADDR_HASH_SIZE);
    tc_msg m;
    memset(&m, 0, sizeof(m));
    m.type = TC_MSG_TX;
    m.tx.version = TC_TX_VERSION;
    m.tx.kind = TC_TX_TRANSFER;
    m.tx.input_count = 1;
    m.tx.inputs = &in;
    m.tx.output_count = 1;
    m.tx.outputs = &out;
    tc_writer w;
    tc_writer_init(&w, buf, JUNK_TX_FRAME_SIZE);
    int rc = tc_msg_encode(&w, &m);
    size_t len = 0;
    TC_ASSERT(rc == 0 && tc_writer_finish(&w, &len) == 0);
    TC_ASSERT(len == JUNK_TX_FRAME_SIZE);
    return len;
}

/* ---- FLOOD arithmetic: frames due after elapsed_ms at rate/s, floor(elapsed * rate / 1000),
 * split so the product cannot overflow for any simulated time of this century. ---- */

static uint64_t flood_due(uint64_t elapsed_ms, uint32_t rate)
{
    TC_ASSERT(rate > 0);
    TC_ASSERT(elapsed_ms / 1000 <= (UINT64_MAX / 2) / rate);
    return (elapsed_ms / 1000) * rate + (elapsed_ms % 1000) * rate / 1000;
}

/* The least elapsed time at which frame number n (1-based) is due. */
static uint64_t flood_elapsed_for(uint64_t n, uint32_t rate)
{
    TC_ASSERT(rate > 0 && n > 0);
    uint64_t rem = n % rate;
    uint64_t e = (n / rate) * 1000 + (rem * 1000 + rate - 1) / rate;
    TC_ASSERT(flood_due(e, rate) >= n && (e == 0 || flood_due(e - 1, rate) < n));
    return e;
}

/* ---- lifecycle ---- */

int tc_adv_new(const tc_adv_config *config, tc_adv **out)
{
    TC_ASSERT(config != NULL && out != NULL);
    TC_ASSERT(config->profile != NULL);
    *out = NULL;
    if ((int)config->kind < 0 || config->kind >= TC_ADV_KIND_COUNT)
        return TC_EINVAL;
    if (config->scheme != TC_SIG_ED25519 && config->scheme != TC_SIG_FAST)
        return TC_EINVAL;
    tc_adv *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return TC_ENOMEM;
    a->config = *config;
    a->profile = *config->profile;
    a->config.profile = &a->profile;
    a->verifier.scheme = config->scheme;
    a->verifier.cache = NULL;
    tc_rng_init(&a->rng, config->rng_seed);
    *out = a;
    return 0;
}

void tc_adv_free(tc_adv *a)
{
    if (a == NULL)
        return;
    for (uint32_t i = 0; i < MEMO_COUNT; i++)
        memo_clear(&a->memos[i]);
    while (a->ring_count > 0)
        ring_pop(a);
    TC_ASSERT(a->ring_bytes == 0);
    memset(a, 0, sizeof(*a)); /* the key goes with it */
    free(a);
}

tc_adv_kind tc_adv_kind_of(const tc_adv *a)
{
    TC_ASSERT(a != NULL);
    return a->config.kind;
}

/* The names of the scenario language (SCENARIOS.md, `byzantine nX <kind>`). */
const char *tc_adv_kind_name(tc_adv_kind kind)
{
    static const char *const names[TC_ADV_KIND_COUNT] = {
        "none", "equivocate", "double-vote", "silent", "invalid-sig", "replay", "garbage", "flood",
    };
    if ((int)kind < 0 || kind >= TC_ADV_KIND_COUNT)
        return "?";
    return names[kind];
}

void tc_adv_stats_get(const tc_adv *a, tc_adv_stats *out)
{
    TC_ASSERT(a != NULL && out != NULL);
    *out = a->stats;
}

/* ---- sending ---- */

static void pass(tc_adv_emit_fn emit, void *ctx, uint32_t to, const uint8_t *frame, size_t len)
{
    out_frame(emit, ctx, to, frame, len);
}

/* EQUIVOCATE: the second half of the peers gets the conflicting copy instead of the original. */
static void send_equivocate(tc_adv *a, uint32_t to, const uint32_t *peers, uint32_t peer_count,
                            const uint8_t *frame, size_t len, tc_adv_emit_fn emit, void *ctx)
{
    uint8_t type = tc_msg_frame_type(frame, len);
    if (type != TC_MSG_PROPOSAL && type != TC_MSG_PREVOTE && type != TC_MSG_PRECOMMIT) {
        pass(emit, ctx, to, frame, len);
        return;
    }
    /* Computed for every peer, not just the second half, so the proposal record that the
     * votes of the round need never depends on how the peers are ordered. */
    size_t out_len = 0;
    uint8_t *owned = NULL;
    const uint8_t *out = rewritten(a, frame, len, &out_len, &owned);
    if (out != NULL && in_second_half(to, peers, peer_count)) {
        out_frame(emit, ctx, to, out, out_len);
        a->stats.frames_rewritten++;
    } else {
        pass(emit, ctx, to, frame, len);
    }
    free(owned);
}

/* DOUBLE_VOTE: the original, then the conflicting vote, both to the same peer. */
static void send_double_vote(tc_adv *a, uint32_t to, const uint8_t *frame, size_t len,
                             tc_adv_emit_fn emit, void *ctx)
{
    pass(emit, ctx, to, frame, len);
    uint8_t type = tc_msg_frame_type(frame, len);
    if (type != TC_MSG_PREVOTE && type != TC_MSG_PRECOMMIT)
        return;
    size_t out_len = 0;
    uint8_t *owned = NULL;
    const uint8_t *out = rewritten(a, frame, len, &out_len, &owned);
    if (out != NULL) {
        out_frame(emit, ctx, to, out, out_len);
        a->stats.frames_extra++;
    }
    free(owned);
}

static void send_invalid_sig(tc_adv *a, uint32_t to, const uint8_t *frame, size_t len,
                             tc_adv_emit_fn emit, void *ctx)
{
    if (!is_consensus(tc_msg_frame_type(frame, len))) {
        pass(emit, ctx, to, frame, len);
        return;
    }
    size_t out_len = 0;
    uint8_t *owned = NULL;
    const uint8_t *out = rewritten(a, frame, len, &out_len, &owned);
    if (out != NULL) {
        out_frame(emit, ctx, to, out, out_len);
        a->stats.frames_rewritten++;
    } else {
        pass(emit, ctx, to, frame, len);
    }
    free(owned);
}

void tc_adv_on_send(tc_adv *a, uint64_t now_ms, uint32_t to, const uint32_t *peers,
                    uint32_t peer_count, const uint8_t *frame, size_t len, tc_adv_emit_fn emit,
                    void *ctx)
{
    TC_ASSERT(a != NULL && emit != NULL);
    TC_ASSERT(frame != NULL || len == 0);
    TC_ASSERT(peers != NULL || peer_count == 0);
    (void)now_ms; /* rewriting depends on what is sent, not when; timers run in tc_adv_tick */
    a->stats.frames_seen++;
    switch (a->config.kind) {
    case TC_ADV_EQUIVOCATE:
        send_equivocate(a, to, peers, peer_count, frame, len, emit, ctx);
        break;
    case TC_ADV_DOUBLE_VOTE:
        send_double_vote(a, to, frame, len, emit, ctx);
        break;
    case TC_ADV_SILENT:
        if (is_consensus(tc_msg_frame_type(frame, len)))
            a->stats.frames_dropped++;
        else
            pass(emit, ctx, to, frame, len);
        break;
    case TC_ADV_INVALID_SIG:
        send_invalid_sig(a, to, frame, len, emit, ctx);
        break;
    case TC_ADV_REPLAY:
        pass(emit, ctx, to, frame, len);
        if (is_consensus(tc_msg_frame_type(frame, len)))
            ring_push(a, frame, len);
        break;
    default:
        pass(emit, ctx, to, frame, len);
        break;
    }
}

/* ---- timers ---- */

static void start(tc_adv *a, uint64_t now_ms)
{
    TC_ASSERT(!a->started);
    a->started = true;
    a->flood_start_ms = now_ms;
    a->flood_sent = 0;
    a->next_ms = UINT64_MAX;
    if (a->config.kind == TC_ADV_REPLAY)
        a->next_ms = now_ms + draw_interval(a, TC_ADV_REPLAY_MEAN_MS);
    else if (a->config.kind == TC_ADV_GARBAGE)
        a->next_ms = now_ms + draw_interval(a, TC_ADV_GARBAGE_MEAN_MS);
    else if (a->config.kind == TC_ADV_FLOOD && a->config.rate_per_s > 0)
        a->next_ms = now_ms + flood_elapsed_for(1, a->config.rate_per_s);
}

static void tick_replay(tc_adv *a, uint64_t now_ms, const uint32_t *peers, uint32_t peer_count,
                        tc_adv_emit_fn emit, void *ctx)
{
    if (now_ms < a->next_ms)
        return;
    if (a->ring_count > 0 && peer_count > 0) {
        uint32_t i = (uint32_t)tc_rng_below(&a->rng, a->ring_count);
        const slot *s = &a->ring[(a->ring_head + i) % TC_ADV_REPLAY_SLOTS];
        TC_ASSERT(s->bytes != NULL && s->len > 0);
        out_frame(emit, ctx, pick_peer(a, peers, peer_count), s->bytes, s->len);
        a->stats.frames_extra++;
    }
    a->next_ms = now_ms + draw_interval(a, TC_ADV_REPLAY_MEAN_MS);
}

static void tick_garbage(tc_adv *a, uint64_t now_ms, const uint32_t *peers, uint32_t peer_count,
                         tc_adv_emit_fn emit, void *ctx)
{
    if (now_ms < a->next_ms)
        return;
    if (peer_count > 0) {
        uint8_t buf[GARBAGE_FRAME_MAX];
        size_t len = make_garbage(a, buf);
        out_frame(emit, ctx, pick_peer(a, peers, peer_count), buf, len);
        a->stats.frames_extra++;
    }
    a->next_ms = now_ms + draw_interval(a, TC_ADV_GARBAGE_MEAN_MS);
}

/* Sends what is due since the last tick, at most TC_ADV_FLOOD_TICK_MAX; the rest of a backlog
 * (a late tick, no peers) is skipped so the flood keeps its rate instead of bursting. */
static void tick_flood(tc_adv *a, uint64_t now_ms, const uint32_t *peers, uint32_t peer_count,
                       tc_adv_emit_fn emit, void *ctx)
{
    uint32_t rate = a->config.rate_per_s;
    if (rate == 0)
        return;
    uint64_t elapsed = now_ms > a->flood_start_ms ? now_ms - a->flood_start_ms : 0;
    uint64_t due = flood_due(elapsed, rate);
    if (due > a->flood_sent && peer_count > 0) {
        uint64_t n = due - a->flood_sent;
        if (n > TC_ADV_FLOOD_TICK_MAX)
            n = TC_ADV_FLOOD_TICK_MAX;
        for (uint64_t i = 0; i < n; i++) {
            uint8_t buf[JUNK_TX_FRAME_SIZE];
            size_t len = make_junk_tx(a, buf);
            out_frame(emit, ctx, pick_peer(a, peers, peer_count), buf, len);
            a->stats.frames_extra++;
        }
    }
    if (due > a->flood_sent)
        a->flood_sent = due;
    a->next_ms = a->flood_start_ms + flood_elapsed_for(a->flood_sent + 1, rate);
    TC_ASSERT(a->next_ms > now_ms);
}

void tc_adv_tick(tc_adv *a, uint64_t now_ms, const uint32_t *peers, uint32_t peer_count,
                 tc_adv_emit_fn emit, void *ctx)
{
    TC_ASSERT(a != NULL && emit != NULL);
    TC_ASSERT(peers != NULL || peer_count == 0);
    if (!is_timed(a->config.kind))
        return;
    if (!a->started)
        start(a, now_ms);
    if (a->config.kind == TC_ADV_REPLAY)
        tick_replay(a, now_ms, peers, peer_count, emit, ctx);
    else if (a->config.kind == TC_ADV_GARBAGE)
        tick_garbage(a, now_ms, peers, peer_count, emit, ctx);
    else
        tick_flood(a, now_ms, peers, peer_count, emit, ctx);
}

uint64_t tc_adv_next_deadline(const tc_adv *a)
{
    TC_ASSERT(a != NULL);
    if (!is_timed(a->config.kind))
        return UINT64_MAX;
    if (!a->started)
        return a->config.kind == TC_ADV_FLOOD && a->config.rate_per_s == 0 ? UINT64_MAX : 0;
    return a->next_ms;
}
