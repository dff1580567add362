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
#include "snapshot.h"
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
    /* Rule breakers: this node's index in the current set, learned from its own votes
     * (OUT_OF_TURN), and its latest non-nil precommit (STALE_HEIGHT). */
    bool own_index_known;
    uint32_t own_index;
    bool precommit_known;
    tc_vote precommit;
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
    uint64_t ring_due[TC_ADV_REPLAY_SLOTS]; /* FORGE_TX: when each kept frame leaves */
    /* STALE_HEARTBEAT: the first heartbeat frame of each signer, in arrival order. */
    tc_pubkey stale_key[TC_ADV_STALE_SIGNERS_MAX];
    uint8_t stale_frame[TC_ADV_STALE_SIGNERS_MAX][TC_MSG_HEARTBEAT_SIZE];
    uint32_t stale_count;
};

/* ---- small helpers ---- */

static bool is_consensus(uint8_t type)
{
    return type == TC_MSG_PROPOSAL || type == TC_MSG_PREVOTE || type == TC_MSG_PRECOMMIT ||
           type == TC_MSG_VOTE_BATCH;
}

static bool is_timed(tc_adv_kind kind)
{
    return kind == TC_ADV_REPLAY || kind == TC_ADV_GARBAGE || kind == TC_ADV_FLOOD ||
           kind == TC_ADV_FORGE_TX || kind == TC_ADV_STALE_HEARTBEAT;
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

/* ---- rule breakers (docs/RULES.md) ---- */

/* One bit of sig flipped, drawn from the rng (as INVALID_SIG does). */
static void flip_bit(tc_adv *a, tc_sig *sig)
{
    uint64_t bit = tc_rng_below(&a->rng, TC_SIG_SIZE * 8);
    sig->b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

static bool signed_by_us(tc_adv *a, const tc_hash *msg, const tc_sig *sig)
{
    return tc_verify(&a->verifier, &a->config.key.pub, msg, sig) == 0;
}

/* Another list of txids from a sorted one, still sorted: the last one dropped, or a lone one
 * replaced. False for an empty list (the caller then forges the signature alone). */
static bool alter_txids(tc_hash *txids, uint32_t *count)
{
    if (*count == 0)
        return false;
    if (*count > 1) {
        (*count)--;
        return true;
    }
    tc_hash x = txids[0];
    derive_conflict(&x, &txids[0]);
    return true;
}

/* OUT_OF_TURN: a relayed proposal of (h, r) becomes this node's own fresh proposal of (h, r),
 * its header naming this node and signed with its key; our own proposal of (h, r) is proposed
 * again for (h, r + 1), a round of another proposer. Both the header's proposer and the signer
 * are wrong for the round. */
static bool out_of_turn(tc_adv *a, tc_msg_proposal *p)
{
    tc_hash msg;
    tc_msg_proposal_sign_hash(p, &msg);
    if (!a->own_index_known)
        return false;
    if (signed_by_us(a, &msg, &p->sig)) {
        if (p->round >= TC_ROUND_MAX)
            return false;
        p->round++;
    } else if (p->block.header.proposer == a->own_index) {
        return false; /* a re-proposal of our block: not ours to sign */
    }
    p->block.header.proposer = a->own_index;
    p->block.header.round = p->round;
    p->block.header.time_ms++;
    p->pol_round = TC_MSG_POL_NONE;
    tc_msg_proposal_sign(p, a->config.scheme, &a->config.key);
    return true;
}

/* FORGE_PROPOSAL: the same (height, round, proposer) with another block time, signed by us:
 * a foreign signature on a relayed proposal, a bit-flipped one on our own. Only the signature
 * check can refuse it. */
static bool forge_proposal(tc_adv *a, tc_msg_proposal *p)
{
    tc_hash msg;
    tc_msg_proposal_sign_hash(p, &msg);
    bool own = signed_by_us(a, &msg, &p->sig);
    p->block.header.time_ms++;
    tc_msg_proposal_sign(p, a->config.scheme, &a->config.key);
    if (own)
        flip_bit(a, &p->sig);
    return true;
}

/* FORGE_PREVOTE / FORGE_PRECOMMIT: the vote's signer for another block (nil becomes a block). */
static bool forge_vote(tc_adv *a, tc_vote *v)
{
    bool own = tc_vote_verify(v, &a->verifier, &a->config.key.pub) == 0;
    tc_hash x = v->block;
    derive_conflict(&x, &v->block);
    tc_vote_sign(v, a->config.scheme, &a->config.key);
    if (own)
        flip_bit(a, &v->sig);
    return true;
}

static bool forge_batch(tc_adv *a, tc_msg_vote_batch *b)
{
    tc_hash msg;
    tc_msg_vote_batch_sign_hash(b, &msg);
    bool own = signed_by_us(a, &msg, &b->sig);
    (void)alter_txids(b->txids, &b->txid_count);
    tc_msg_vote_batch_sign(b, a->config.scheme, &a->config.key);
    if (own)
        flip_bit(a, &b->sig);
    return true;
}

/* EQUIVOCATE_BATCH: our own batch again under its seq with other content, validly signed by
 * us; others' batches pass unchanged. */
static bool equivocate_batch(tc_adv *a, tc_msg_vote_batch *b)
{
    tc_hash msg;
    tc_msg_vote_batch_sign_hash(b, &msg);
    if (!signed_by_us(a, &msg, &b->sig) || !alter_txids(b->txids, &b->txid_count))
        return false;
    tc_msg_vote_batch_sign(b, a->config.scheme, &a->config.key);
    return true;
}

/* EQUIVOCATE_HANDOFF: our own handoff again with another list, validly signed by us; an empty
 * list gets one made-up txid (owned by the message, freed with it). */
static bool equivocate_handoff(tc_adv *a, tc_handoff *h)
{
    tc_hash msg;
    tc_handoff_sign_hash(h, &msg);
    if (!signed_by_us(a, &msg, &h->sig))
        return false;
    if (h->txid_count == 0) {
        tc_hash *one = malloc(sizeof(*one));
        if (one == NULL)
            return false;
        tc_hash seed;
        memcpy(seed.b, msg.b, TC_HASH_SIZE);
        derive_conflict(&seed, one);
        free(h->txids);
        h->txids = one;
        h->txid_count = 1;
    } else {
        (void)alter_txids(h->txids, &h->txid_count);
    }
    tc_handoff_sign(h, a->config.scheme, &a->config.key);
    return true;
}

static bool forge_heartbeat(tc_adv *a, tc_msg_heartbeat *h)
{
    bool own = memcmp(h->pubkey.b, a->config.key.pub.b, TC_PUBKEY_SIZE) == 0;
    h->time_ms += TC_ADV_HEARTBEAT_SHIFT_MS;
    tc_msg_heartbeat_sign(h, a->config.scheme, &a->config.key);
    if (own)
        flip_bit(a, &h->sig);
    return true;
}

static bool forge_handoff(tc_adv *a, tc_handoff *h)
{
    tc_hash msg;
    tc_handoff_sign_hash(h, &msg);
    bool own = signed_by_us(a, &msg, &h->sig);
    (void)alter_txids(h->txids, &h->txid_count);
    tc_handoff_sign(h, a->config.scheme, &a->config.key);
    if (own)
        flip_bit(a, &h->sig);
    return true;
}

/* FORGE_EVIDENCE: a vote and a forged second vote of its signer make "evidence" (on our own
 * votes, the second signature is ours with a bit flipped: valid evidence against ourselves
 * would be no forgery). The message becomes an EVIDENCE (nothing in it is heap-allocated). */
static bool forge_evidence(tc_adv *a, tc_msg *m)
{
    tc_vote v = m->vote;
    tc_vote forged = v;
    (void)forge_vote(a, &forged);
    tc_msg_deinit(m);
    memset(m, 0, sizeof(*m));
    m->type = TC_MSG_EVIDENCE;
    tc_evidence_from_votes(&m->evidence, &v, &forged);
    return true;
}

/* FORGE_TX: a transfer of the change output of tx (output 1, paid back to the key of input 0)
 * to another address, in that key's name, with tx's input signature reused: a theft that only
 * the signature check stops. The message becomes that transfer. */
static bool forge_tx(tc_msg *m)
{
    tc_tx *tx = &m->tx;
    if (tx->kind != TC_TX_TRANSFER || tx->input_count == 0 || tx->output_count < 2)
        return false;
    tc_txin in = tx->inputs[0];
    tc_txout out = tx->outputs[1];
    tc_tx_id(tx, &in.prev.txid);
    in.prev.index = 1;
    out.amount /= 2; /* the rest is a fee far above the minimum */
    tc_hash thief;
    tc_hash_tagged(&thief, TAG_CONFLICT, out.addr.b, TC_ADDR_HASH_SIZE);
    memcpy(out.addr.b, thief.b, TC_ADDR_HASH_SIZE);
    tc_msg_deinit(m);
    memset(m, 0, sizeof(*m));
    m->type = TC_MSG_TX;
    if (tc_tx_init_alloc(&m->tx, TC_TX_TRANSFER, 1, 1) != 0)
        return false;
    m->tx.inputs[0] = in;
    m->tx.outputs[0] = out;
    return true;
}

/* The first signature of c forged: our key signing its signer's precommit (or, when the signer
 * is us, our signature with a bit flipped). */
static void forge_commit_sig(tc_adv *a, tc_commit *c)
{
    tc_vote v;
    tc_commit_vote(c, 0, &v);
    bool own = tc_vote_verify(&v, &a->verifier, &a->config.key.pub) == 0;
    tc_vote_sign(&v, a->config.scheme, &a->config.key);
    c->sigs[0].sig = v.sig;
    if (own)
        flip_bit(a, &c->sigs[0].sig);
}

/* SYNC_*: every entry of a BLOCKS answer broken one way. */
static bool forge_blocks(tc_adv *a, tc_msg_blocks *b)
{
    bool changed = false;
    for (uint32_t i = 0; i < b->entry_count; i++) {
        tc_msg_block_entry *e = &b->entries[i];
        if (e->commit.sig_count == 0)
            continue;
        changed = true;
        if (a->config.kind == TC_ADV_SYNC_BAD_HASH)
            e->block.header.time_ms++;
        else if (a->config.kind == TC_ADV_SYNC_LOW_WEIGHT)
            e->commit.sig_count = 1;
        else if (a->config.kind == TC_ADV_SYNC_NON_MEMBER)
            e->commit.sigs[e->commit.sig_count - 1].validator += TC_ADV_NON_MEMBER_OFFSET;
        else
            forge_commit_sig(a, &e->commit);
    }
    return changed;
}

/* SNAPSHOT_CORRUPT: one byte of a chunk's data flipped (its middle: inside a record), the
 * manifest and empty answers left alone, so the liar looks like an honest server until its
 * chunks are checked. */
static bool corrupt_chunk(tc_msg_snapshot *s)
{
    if (s->chunk == TC_SNAPSHOT_MANIFEST || s->len == 0)
        return false;
    s->data[s->len / 2] ^= 0x01;
    return true;
}

/* TIME_AHEAD / TIME_BEHIND: our fresh proposal's block moved by an hour, validly signed. */
static bool shift_time(tc_adv *a, tc_msg_proposal *p)
{
    tc_hash msg;
    tc_msg_proposal_sign_hash(p, &msg);
    if (p->pol_round != TC_MSG_POL_NONE || !signed_by_us(a, &msg, &p->sig))
        return false;
    uint64_t t = p->block.header.time_ms;
    if (a->config.kind == TC_ADV_TIME_AHEAD)
        p->block.header.time_ms = t + TC_ADV_TIME_SHIFT_MS;
    else
        p->block.header.time_ms = t > TC_ADV_TIME_SHIFT_MS ? t - TC_ADV_TIME_SHIFT_MS : 1;
    tc_msg_proposal_sign(p, a->config.scheme, &a->config.key);
    return true;
}

/* STALE_HEIGHT: our precommit of a new height brings back the previous one's (height, round)
 * with another block, validly signed: a double vote below the receivers' tip. */
static bool stale_precommit(tc_adv *a, tc_vote *v)
{
    if (tc_vote_is_nil(v) || tc_vote_verify(v, &a->verifier, &a->config.key.pub) != 0)
        return false;
    tc_vote prev = a->precommit;
    bool have = a->precommit_known && prev.height < v->height;
    if (!a->precommit_known || prev.height < v->height) {
        a->precommit = *v;
        a->precommit_known = true;
    }
    if (!have)
        return false;
    tc_hash x = prev.block;
    derive_conflict(&x, &prev.block);
    tc_vote_sign(&prev, a->config.scheme, &a->config.key);
    *v = prev;
    return true;
}

/* FUTURE_HEIGHT: our own proposal or vote again, TC_ADV_FUTURE_HEIGHTS heights ahead. */
static bool future_height(tc_adv *a, tc_msg *m)
{
    if (m->type == TC_MSG_PROPOSAL) {
        tc_msg_proposal *p = &m->proposal;
        tc_hash msg;
        tc_msg_proposal_sign_hash(p, &msg);
        if (!signed_by_us(a, &msg, &p->sig))
            return false;
        p->height += TC_ADV_FUTURE_HEIGHTS;
        p->block.header.height = p->height;
        tc_msg_proposal_sign(p, a->config.scheme, &a->config.key);
        return true;
    }
    if (tc_vote_verify(&m->vote, &a->verifier, &a->config.key.pub) != 0)
        return false;
    m->vote.height += TC_ADV_FUTURE_HEIGHTS;
    tc_vote_sign(&m->vote, a->config.scheme, &a->config.key);
    return true;
}

/* Our own votes tell our index in the current set (OUT_OF_TURN). */
static void learn_index(tc_adv *a, const tc_vote *v)
{
    if (tc_vote_verify(v, &a->verifier, &a->config.key.pub) != 0)
        return;
    a->own_index = v->validator;
    a->own_index_known = true;
}

/* The rule breakers' rewriting of one decoded message; false: nothing to send for it. */
static bool break_rule(tc_adv *a, tc_msg *m)
{
    bool vote = m->type == TC_MSG_PREVOTE || m->type == TC_MSG_PRECOMMIT;
    switch (a->config.kind) {
    case TC_ADV_OUT_OF_TURN:
        if (vote)
            learn_index(a, &m->vote);
        return m->type == TC_MSG_PROPOSAL && out_of_turn(a, &m->proposal);
    case TC_ADV_FORGE_PROPOSAL:
        return m->type == TC_MSG_PROPOSAL && forge_proposal(a, &m->proposal);
    case TC_ADV_FORGE_PREVOTE:
        return m->type == TC_MSG_PREVOTE && forge_vote(a, &m->vote);
    case TC_ADV_FORGE_PRECOMMIT:
        return m->type == TC_MSG_PRECOMMIT && forge_vote(a, &m->vote);
    case TC_ADV_FORGE_BATCH:
        return m->type == TC_MSG_VOTE_BATCH && forge_batch(a, &m->vote_batch);
    case TC_ADV_FORGE_HEARTBEAT:
        return m->type == TC_MSG_HEARTBEAT && forge_heartbeat(a, &m->heartbeat);
    case TC_ADV_FORGE_HANDOFF:
        return m->type == TC_MSG_HANDOFF && forge_handoff(a, &m->handoff);
    case TC_ADV_FORGE_EVIDENCE:
        return vote && forge_evidence(a, m);
    case TC_ADV_FORGE_TX:
        return m->type == TC_MSG_TX && forge_tx(m);
    case TC_ADV_SYNC_BAD_HASH:
    case TC_ADV_SYNC_LOW_WEIGHT:
    case TC_ADV_SYNC_NON_MEMBER:
    case TC_ADV_SYNC_BAD_SIG:
        return m->type == TC_MSG_BLOCKS && forge_blocks(a, &m->blocks);
    case TC_ADV_TIME_AHEAD:
    case TC_ADV_TIME_BEHIND:
        return m->type == TC_MSG_PROPOSAL && shift_time(a, &m->proposal);
    case TC_ADV_STALE_HEIGHT:
        return m->type == TC_MSG_PRECOMMIT && stale_precommit(a, &m->vote);
    case TC_ADV_FUTURE_HEIGHT:
        return (m->type == TC_MSG_PROPOSAL || vote) && future_height(a, m);
    case TC_ADV_EQUIVOCATE_BATCH:
        return m->type == TC_MSG_VOTE_BATCH && equivocate_batch(a, &m->vote_batch);
    case TC_ADV_EQUIVOCATE_HANDOFF:
        return m->type == TC_MSG_HANDOFF && equivocate_handoff(a, &m->handoff);
    case TC_ADV_SNAPSHOT_CORRUPT:
        return m->type == TC_MSG_SNAPSHOT && corrupt_chunk(&m->snapshot);
    default:
        return false;
    }
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
        if (a->config.kind >= TC_ADV_OUT_OF_TURN)
            changed = break_rule(a, &m);
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

/* ---- STALE_HEARTBEAT ---- */

/* Keeps the frame when it is the first heartbeat of its signer seen here. */
static void stale_keep(tc_adv *a, const uint8_t *frame, size_t len)
{
    tc_msg m;
    if (a->stale_count == TC_ADV_STALE_SIGNERS_MAX || len != TC_MSG_HEARTBEAT_SIZE ||
        tc_msg_decode(frame, len, &m) != 0)
        return;
    TC_ASSERT(m.type == TC_MSG_HEARTBEAT); /* it owns nothing: no tc_msg_deinit (it would
                                              empty the key read below) */
    for (uint32_t i = 0; i < a->stale_count; i++)
        if (memcmp(a->stale_key[i].b, m.heartbeat.pubkey.b, TC_PUBKEY_SIZE) == 0)
            return;
    a->stale_key[a->stale_count] = m.heartbeat.pubkey;
    memcpy(a->stale_frame[a->stale_count], frame, len);
    a->stale_count++;
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
        "none",
        "equivocate",
        "double-vote",
        "silent",
        "invalid-sig",
        "replay",
        "garbage",
        "flood",
        "out-of-turn",
        "forge-proposal",
        "forge-prevote",
        "forge-precommit",
        "forge-batch",
        "forge-heartbeat",
        "forge-handoff",
        "forge-evidence",
        "forge-tx",
        "sync-bad-hash",
        "sync-low-weight",
        "sync-non-member",
        "sync-bad-sig",
        "time-ahead",
        "time-behind",
        "stale-height",
        "future-height",
        "wrong-proposer",
        "wrong-round",
        "stale-heartbeat",
        "equivocate-batch",
        "equivocate-handoff",
        "snapshot-corrupt",
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

/* Rule breakers: replacing kinds send the rewritten frame instead of the original, the others
 * after it. Frames with nothing to rewrite pass unchanged. */
static bool is_replacing(tc_adv_kind kind)
{
    return (kind >= TC_ADV_SYNC_BAD_HASH && kind <= TC_ADV_SYNC_BAD_SIG) ||
           kind == TC_ADV_TIME_AHEAD || kind == TC_ADV_TIME_BEHIND ||
           kind == TC_ADV_SNAPSHOT_CORRUPT;
}

/* Frame types a rule breaker decodes (the others pass without a decode). */
static bool breaker_reads(tc_adv_kind kind, uint8_t type)
{
    if (kind >= TC_ADV_SYNC_BAD_HASH && kind <= TC_ADV_SYNC_BAD_SIG)
        return type == TC_MSG_BLOCKS;
    if (kind == TC_ADV_FORGE_TX)
        return type == TC_MSG_TX;
    if (kind == TC_ADV_SNAPSHOT_CORRUPT)
        return type == TC_MSG_SNAPSHOT;
    return is_consensus(type) || type == TC_MSG_HEARTBEAT || type == TC_MSG_HANDOFF;
}

/* FORGE_TX: the theft made from a relayed transaction waits in the ring for its due time
 * (made once per transaction: the memo remembers the frames seen). */
static void queue_forged_tx(tc_adv *a, uint64_t now_ms, const uint8_t *frame, size_t len)
{
    if (memo_find(a, frame, len) != NULL)
        return;
    size_t out_len = 0;
    uint8_t *out = compute(a, frame, len, &out_len);
    if (!memo_put(a, frame, len, NULL, 0)) {
        free(out);
        return;
    }
    if (out == NULL)
        return;
    uint32_t before = a->ring_count;
    ring_push(a, out, out_len);
    free(out);
    if (a->ring_count == 0 || (a->ring_count == before && before < TC_ADV_REPLAY_SLOTS))
        return; /* not kept */
    uint64_t due = now_ms + TC_ADV_FORGE_TX_DELAY_MS;
    a->ring_due[(a->ring_head + a->ring_count - 1) % TC_ADV_REPLAY_SLOTS] = due;
    if (a->started && due < a->next_ms)
        a->next_ms = due;
}

/* WRONG_PROPOSER / WRONG_ROUND: our fresh proposal of (h, r), validly signed, with a header
 * that does not fit the round: another proposer (our index - 1, or 1 for index 0: a member as
 * long as the set has two), or round r + 1. Copy i has block time + i, so every copy is news
 * (an offence) to the receiver. False: the frame is not ours to rewrite. */
static bool wrong_header(tc_adv *a, const uint8_t *frame, size_t len, uint32_t copy, uint8_t **out,
                         size_t *out_len)
{
    tc_msg m;
    *out = NULL;
    if (tc_msg_decode(frame, len, &m) != 0)
        return false;
    tc_msg_proposal *p = &m.proposal;
    tc_hash msg;
    tc_msg_proposal_sign_hash(p, &msg);
    bool ours = m.type == TC_MSG_PROPOSAL && p->pol_round == TC_MSG_POL_NONE &&
                signed_by_us(a, &msg, &p->sig) && p->round < TC_ROUND_MAX;
    if (ours) {
        tc_block_header *h = &p->block.header;
        if (a->config.kind == TC_ADV_WRONG_PROPOSER)
            h->proposer = h->proposer > 0 ? h->proposer - 1 : 1;
        else
            h->round = p->round + 1;
        h->time_ms += copy;
        tc_msg_proposal_sign(p, a->config.scheme, &a->config.key);
        if (tc_msg_encode_alloc(&m, out, out_len) != 0)
            *out = NULL;
    }
    tc_msg_deinit(&m);
    return ours;
}

static void send_wrong_header(tc_adv *a, uint32_t to, const uint8_t *frame, size_t len,
                              tc_adv_emit_fn emit, void *ctx)
{
    if (tc_msg_frame_type(frame, len) != TC_MSG_PROPOSAL) {
        pass(emit, ctx, to, frame, len);
        return;
    }
    for (uint32_t i = 0; i < TC_ADV_HEADER_COPIES; i++) {
        uint8_t *out = NULL;
        size_t out_len = 0;
        if (!wrong_header(a, frame, len, i, &out, &out_len)) {
            pass(emit, ctx, to, frame, len);
            return;
        }
        if (out != NULL) {
            out_frame(emit, ctx, to, out, out_len);
            a->stats.frames_rewritten++;
        }
        free(out);
    }
}

static void send_breaker(tc_adv *a, uint64_t now_ms, uint32_t to, const uint8_t *frame, size_t len,
                         tc_adv_emit_fn emit, void *ctx)
{
    if (a->config.kind == TC_ADV_WRONG_PROPOSER || a->config.kind == TC_ADV_WRONG_ROUND) {
        send_wrong_header(a, to, frame, len, emit, ctx);
        return;
    }
    bool replacing = is_replacing(a->config.kind);
    if (!breaker_reads(a->config.kind, tc_msg_frame_type(frame, len))) {
        pass(emit, ctx, to, frame, len);
        return;
    }
    if (a->config.kind == TC_ADV_FORGE_TX) {
        queue_forged_tx(a, now_ms, frame, len);
        pass(emit, ctx, to, frame, len);
        return;
    }
    size_t out_len = 0;
    uint8_t *owned = NULL;
    const uint8_t *out = rewritten(a, frame, len, &out_len, &owned);
    if (out != NULL) {
        out_frame(emit, ctx, to, out, out_len);
        if (replacing)
            a->stats.frames_rewritten++;
        else
            a->stats.frames_extra++;
    }
    if (out == NULL || !replacing)
        pass(emit, ctx, to, frame, len);
    free(owned);
}

/* Whether this kind does something to a transaction or a vote batch. Such an adversary opens
 * a BUNDLE (PROTOCOL 10.9) and sends its members one by one, so an object it relays meets the
 * same treatment whether it answers an IWANT inside a bundle or goes alone; the others send a
 * bundle as it is, as an honest node would. */
static bool reads_members(tc_adv_kind kind)
{
    if (kind == TC_ADV_SILENT || kind == TC_ADV_INVALID_SIG || kind == TC_ADV_REPLAY)
        return true;
    if (kind < TC_ADV_OUT_OF_TURN || kind == TC_ADV_WRONG_PROPOSER || kind == TC_ADV_WRONG_ROUND)
        return false;
    return breaker_reads(kind, TC_MSG_TX) || breaker_reads(kind, TC_MSG_VOTE_BATCH);
}

/* A bundle's members through tc_adv_on_send, each as a frame of its own. False: the frame is
 * not a bundle this kind opens, or it does not decode (then it passes as it is). */
static bool send_members(tc_adv *a, uint64_t now_ms, uint32_t to, const uint32_t *peers,
                         uint32_t peer_count, const uint8_t *frame, size_t len, tc_adv_emit_fn emit,
                         void *ctx)
{
    if (tc_msg_frame_type(frame, len) != TC_MSG_BUNDLE || !reads_members(a->config.kind))
        return false;
    tc_msg m;
    if (tc_msg_decode(frame, len, &m) != 0)
        return false;
    /* Members are never bundles themselves (the decoder refuses nesting): one level deep. */
    for (uint32_t i = 0; i < m.bundle.count; i++)
        tc_adv_on_send(a, now_ms, to, peers, peer_count, m.bundle.members[i].frame,
                       m.bundle.members[i].len, emit, ctx);
    tc_msg_deinit(&m);
    return true;
}

void tc_adv_on_send(tc_adv *a, uint64_t now_ms, uint32_t to, const uint32_t *peers,
                    uint32_t peer_count, const uint8_t *frame, size_t len, tc_adv_emit_fn emit,
                    void *ctx)
{
    TC_ASSERT(a != NULL && emit != NULL);
    TC_ASSERT(frame != NULL || len == 0);
    TC_ASSERT(peers != NULL || peer_count == 0);
    if (send_members(a, now_ms, to, peers, peer_count, frame, len, emit, ctx))
        return;
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
    case TC_ADV_STALE_HEARTBEAT:
        pass(emit, ctx, to, frame, len);
        if (tc_msg_frame_type(frame, len) == TC_MSG_HEARTBEAT)
            stale_keep(a, frame, len);
        break;
    default:
        if (a->config.kind >= TC_ADV_OUT_OF_TURN)
            send_breaker(a, now_ms, to, frame, len, emit, ctx);
        else
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
    else if (a->config.kind == TC_ADV_STALE_HEARTBEAT)
        a->next_ms = now_ms + draw_interval(a, TC_ADV_STALE_HEARTBEAT_MEAN_MS);
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

/* STALE_HEARTBEAT: every kept heartbeat to every peer. */
static void tick_stale_heartbeat(tc_adv *a, uint64_t now_ms, const uint32_t *peers,
                                 uint32_t peer_count, tc_adv_emit_fn emit, void *ctx)
{
    if (now_ms < a->next_ms)
        return;
    for (uint32_t k = 0; k < a->stale_count; k++)
        for (uint32_t i = 0; i < peer_count; i++) {
            out_frame(emit, ctx, peers[i], a->stale_frame[k], TC_MSG_HEARTBEAT_SIZE);
            a->stats.frames_extra++;
        }
    a->next_ms = now_ms + draw_interval(a, TC_ADV_STALE_HEARTBEAT_MEAN_MS);
}

/* FORGE_TX: every theft due goes to every peer, oldest first. */
static void tick_forged_tx(tc_adv *a, uint64_t now_ms, const uint32_t *peers, uint32_t peer_count,
                           tc_adv_emit_fn emit, void *ctx)
{
    while (a->ring_count > 0 && a->ring_due[a->ring_head] <= now_ms) {
        const slot *s = &a->ring[a->ring_head];
        for (uint32_t i = 0; i < peer_count; i++) {
            out_frame(emit, ctx, peers[i], s->bytes, s->len);
            a->stats.frames_extra++;
        }
        ring_pop(a);
    }
    a->next_ms = a->ring_count > 0 ? a->ring_due[a->ring_head] : UINT64_MAX;
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
    else if (a->config.kind == TC_ADV_FORGE_TX)
        tick_forged_tx(a, now_ms, peers, peer_count, emit, ctx);
    else if (a->config.kind == TC_ADV_STALE_HEARTBEAT)
        tick_stale_heartbeat(a, now_ms, peers, peer_count, emit, ctx);
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
