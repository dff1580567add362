/* node_consensus.c — block consensus inside the node (node_internal.h; PROTOCOL 12-13): bft's
 * outputs (build, propose, vote, persist, commit), proposals and votes from peers, the own
 * proposals and votes kept for resending, the lock's proof and its durable copy, and the start of
 * each height.
 */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

#define META_BFT_SIGNED "bft/signed"
#define META_BFT_POL    "bft/pol2"         /* the prevotes behind the lock: u32 count | votes */
#define META_BFT_LOCKED "bft/locked-block" /* the locked block's body */

/* ---- proposals of the current (and next) height ---- */

static void proposal_clear(node_proposal *p)
{
    tc_block_deinit(&p->block);
    memset(p, 0, sizeof(*p));
}

static node_proposal *proposal_find(tc_node *n, const tc_hash *hash)
{
    for (int i = 0; i < NODE_PROPOSALS_MAX; i++)
        if (n->cons.proposals[i].used &&
            memcmp(n->cons.proposals[i].hash.b, hash->b, TC_HASH_SIZE) == 0)
            return &n->cons.proposals[i];
    return NULL;
}

/* A free slot, or the slot of the oldest round of another height (deterministic: lowest
 * index among equals). */
static node_proposal *proposal_slot(tc_node *n)
{
    uint64_t height = tc_chain_height(n->chain) + 1;
    for (int i = 0; i < NODE_PROPOSALS_MAX; i++)
        if (!n->cons.proposals[i].used)
            return &n->cons.proposals[i];
    for (int i = 0; i < NODE_PROPOSALS_MAX; i++)
        if (n->cons.proposals[i].block.header.height != height) {
            proposal_clear(&n->cons.proposals[i]);
            return &n->cons.proposals[i];
        }
    node_proposal *oldest = &n->cons.proposals[0];
    for (int i = 1; i < NODE_PROPOSALS_MAX; i++)
        if (n->cons.proposals[i].round < oldest->round)
            oldest = &n->cons.proposals[i];
    proposal_clear(oldest);
    return oldest;
}

static void own_frames_clear(tc_node *n)
{
    for (int i = 0; i < NODE_OWN_FRAMES_MAX; i++) {
        free(n->cons.own_frames[i]);
        n->cons.own_frames[i] = NULL;
        n->cons.own_lens[i] = 0;
    }
    n->cons.own_next = 0;
}

/* Broadcasts a proposal or vote this node signed at the current height and keeps a copy of its
 * frame, replacing the oldest: the latest rounds are what peers still need. While the clock
 * sanity check stops this validator (PROTOCOL 15) the frame is only kept: bft signed and
 * persisted it, so dropping it would leave peers waiting for a vote that never comes (a
 * round's timers need a quorum of votes), and it leaves with the first resend once the clock
 * is back. */
static void own_frame_send(tc_node *n, const tc_msg *m)
{
    size_t len = 0;
    const uint8_t *frame =
        node_clock_stopped(n) ? node_encode_own(n, m, &len) : node_broadcast_own(n, m, &len);
    /* Announced with the rest (VOTE_BITS) and served to VOTE_WANT, but not while the clock
     * stops this validator: the vote must not leave by that path either. */
    if (frame != NULL && !node_clock_stopped(n) &&
        (m->type == TC_MSG_PREVOTE || m->type == TC_MSG_PRECOMMIT))
        node_votes_accepted(n, &m->vote, frame, len, false, 0);
    uint8_t *bytes = frame != NULL ? tc_malloc(len) : NULL;
    if (bytes == NULL)
        return;
    memcpy(bytes, frame, len);
    free(n->cons.own_frames[n->cons.own_next]);
    n->cons.own_frames[n->cons.own_next] = bytes;
    n->cons.own_lens[n->cons.own_next] = len;
    n->cons.own_next = (n->cons.own_next + 1) % NODE_OWN_FRAMES_MAX;
}

/* Broadcasts the prevotes that prove this node's valid value (tc_bft_pol_vote) while its height
 * lasts undecided, from one resend interval after it locked: a peer that never saw them cannot
 * accept the re-proposal of the value its locked peers insist on, nor even time out of the
 * lock's own round (its prevote timer waits for a quorum of prevotes), and their signers may
 * have restarted or dropped their own copies (PROTOCOL 12.3). */
static void pol_send(tc_node *n, bool at_once)
{
    tc_bft_status st;
    tc_bft_status_get(n->bft, &st);
    if (st.valid_round == TC_BFT_ROUND_NONE || st.step == TC_BFT_STEP_COMMITTED ||
        (!at_once && n->now_ms < n->cons.locked_ms + NODE_RESEND_MS))
        return;
    tc_msg m = {.type = TC_MSG_PREVOTE};
    for (uint32_t v = 0;; v++) {
        int rc = tc_bft_pol_vote(n->bft, v, &m.vote);
        if (rc == TC_ERANGE)
            break;
        if (rc == 0)
            (void)node_broadcast(n, &m, false, 0);
    }
}

static void own_frames_resend(tc_node *n)
{
    if (n->now_ms < n->cons.next_resend_ms)
        return;
    n->cons.next_resend_ms = n->now_ms + NODE_RESEND_MS;
    if (node_clock_stopped(n))
        return; /* kept until the clock is back (own_frame_send) */
    for (int i = 0; i < NODE_OWN_FRAMES_MAX; i++)
        if (n->cons.own_frames[i] != NULL)
            node_send_frame(n, n->cons.own_frames[i], n->cons.own_lens[i], false, 0, UINT32_MAX);
    pol_send(n, false);
}

void node_consensus_deinit(tc_node *n)
{
    own_frames_clear(n);
    for (int i = 0; i < NODE_PROPOSALS_MAX; i++)
        proposal_clear(&n->cons.proposals[i]);
}

void node_consensus_reset(tc_node *n)
{
    node_consensus_deinit(n);
    n->cons.awaiting_block = false;
    memset(&n->cons.awaiting_hash, 0, sizeof(n->cons.awaiting_hash));
}

/* ---- durable last-signed state and the lock's proof ---- */

static int persist_signed(tc_node *n, const tc_bft_signed_state *s)
{
    uint8_t buf[TC_BFT_SIGNED_SIZE];
    tc_writer w;
    tc_store_txn *t = NULL;
    tc_writer_init(&w, buf, sizeof(buf));
    tc_bft_signed_encode(&w, s);
    int rc = tc_store_begin(n->store, true, &t);
    if (rc == 0)
        rc = tc_store_put(t, TC_TABLE_LOCKS, META_BFT_SIGNED, strlen(META_BFT_SIGNED), buf,
                          sizeof(buf));
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    return rc;
}

static int restore_signed(tc_node *n)
{
    tc_store_txn *t = NULL;
    const void *v;
    size_t len;
    tc_bft_signed_state s;
    int rc = tc_store_begin(n->store, false, &t);
    if (rc != 0)
        return rc;
    rc = tc_store_get(t, TC_TABLE_LOCKS, META_BFT_SIGNED, strlen(META_BFT_SIGNED), &v, &len);
    if (rc == 0)
        rc = tc_bft_signed_decode(&s, v, len) == 0 ? 0 : TC_ESTORE_CORRUPT;
    tc_store_abort(t);
    if (rc == TC_ENOTFOUND)
        return 0; /* never signed anything */
    return rc == 0 ? tc_bft_restore(n->bft, &s) : rc;
}

/* The proof-of-lock and the locked block are kept with the lock. A restarted validator restores
 * its lock (bft's last-signed record) and prevotes only that block, but the others accept a
 * re-proposal of it only with the Q prevotes that made the lock, and only a node holding the
 * block's body can re-propose it; if every holder of the lock restarts without them, nobody can
 * ever show the proof or the block, and every round splits between the locked and the unlocked
 * for ever (PROTOCOL 12.3). So when bft locks, the node stores the prevotes (tc_bft_pol_vote) as
 * whole votes (u32 count, then each vote's encoding: a prevote signs its pol_round, so only the
 * whole vote can be resent) and the block's body, and feeds both back after a restart. The
 * record's key changed with the vote's encoding ("bft/pol" held tc_commit's), so an old record
 * is simply not found. Best effort: they serve liveness only,
 * so a write that memory cuts short loses nothing a restart needs for safety; a store that
 * refuses the write is failing, and stops the node like any other (node.h). */
static void pol_encode(tc_writer *w, const tc_vote *votes, uint32_t count)
{
    tc_put_u32(w, count);
    for (uint32_t i = 0; i < count; i++)
        tc_vote_encode(w, &votes[i]);
}

/* Writes the proof-of-lock (count prevotes for block) and the locked block's body in one store
 * transaction. */
static void put_lock_records(tc_node *n, const tc_hash *block_hash, const tc_vote *votes,
                             uint32_t count)
{
    node_proposal *p = proposal_find(n, block_hash);
    uint8_t *block = NULL, *pol = NULL;
    size_t block_len = 0, pol_len = (size_t)count * TC_VOTE_SIZE + 4;
    tc_writer w;
    pol = tc_malloc(pol_len);
    if (pol == NULL || p == NULL || tc_block_encode_alloc(&p->block, &block, &block_len) != 0)
        goto out;
    tc_writer_init(&w, pol, pol_len);
    pol_encode(&w, votes, count);
    tc_store_txn *t = NULL;
    TC_ASSERT(tc_writer_finish(&w, &pol_len) == 0); /* sized above */
    int rc = tc_store_begin(n->store, true, &t);
    if (rc == 0)
        rc = tc_store_put(t, TC_TABLE_LOCKS, META_BFT_POL, strlen(META_BFT_POL), pol, pol_len);
    if (rc == 0)
        rc = tc_store_put(t, TC_TABLE_LOCKS, META_BFT_LOCKED, strlen(META_BFT_LOCKED), block,
                          block_len);
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    (void)node_fail_local(n, rc, "store the proof-of-lock");
out:
    free(block);
    free(pol);
}

static void save_pol(tc_node *n, const tc_bft_output *o)
{
    const tc_vset *vs;
    if (tc_chain_vset(n->chain, tc_chain_epoch_of(n->chain, o->height), &vs) != 0)
        return;
    tc_vote *votes = tc_malloc((size_t)vs->count * sizeof(*votes));
    uint32_t count = 0;
    if (votes == NULL)
        return;
    tc_vote v;
    for (uint32_t i = 0; i < vs->count && tc_bft_pol_vote(n->bft, i, &v) != TC_ERANGE; i++)
        if (v.type != 0 && v.round == o->round && memcmp(v.block.b, o->block.b, TC_HASH_SIZE) == 0)
            votes[count++] = v;
    if (count > 0)
        put_lock_records(n, &o->block, votes, count);
    free(votes);
}

/* After a restart: the locked block of this height goes back among the proposals, valid (it was
 * judged valid on this very parent before the crash), so bft can propose it again. pol is one of
 * the proof-of-lock's prevotes (the lock's round and block). */
static void restore_locked_block(tc_node *n, uint64_t height, const tc_vote *pol)
{
    tc_store_txn *t = NULL;
    const void *val;
    size_t len;
    tc_block b;
    tc_hash hash;
    if (tc_store_begin(n->store, false, &t) != 0)
        return;
    int rc = tc_store_get(t, TC_TABLE_LOCKS, META_BFT_LOCKED, strlen(META_BFT_LOCKED), &val, &len);
    if (rc == 0)
        rc = tc_block_decode(&b, val, len);
    tc_store_abort(t);
    if (rc != 0)
        return;
    tc_block_hash(&b.header, &hash);
    if (b.header.height != height || memcmp(hash.b, pol->block.b, TC_HASH_SIZE) != 0 ||
        proposal_find(n, &hash) != NULL) {
        tc_block_deinit(&b);
        return;
    }
    node_proposal *p = proposal_slot(n);
    p->used = p->valid = p->from_network = true;
    p->round = pol->round;
    p->pol_round = TC_BFT_ROUND_NONE;
    p->hash = hash;
    p->block = b;
    (void)tc_bft_on_proposal(n->bft, n->now_ms, height, p->round, p->pol_round, &p->hash, true);
}

/* After a restart: the stored proof-of-lock of this height, checked vote by vote, goes back into
 * bft (the locked round's table is protected), so this node can resend it, and with it the
 * locked block. */
static void restore_pol(tc_node *n, uint64_t height, const tc_vset *vs)
{
    tc_store_txn *t = NULL;
    const void *val;
    size_t len;
    tc_vote first;
    bool any = false;
    if (tc_store_begin(n->store, false, &t) != 0)
        return;
    int rc = tc_store_get(t, TC_TABLE_LOCKS, META_BFT_POL, strlen(META_BFT_POL), &val, &len);
    if (rc != 0) {
        tc_store_abort(t);
        return;
    }
    /* The record is our own, but it is read like a peer's message: a corrupt one is ignored. */
    tc_reader r;
    tc_reader_init(&r, val, len);
    uint32_t count = tc_get_count(&r, TC_COMMIT_SIGS_MAX, TC_VOTE_SIZE);
    for (uint32_t i = 0; i < count && r.err == 0; i++) {
        tc_vote v;
        if (tc_vote_read(&r, &v) != 0 || v.type != TC_VOTE_PREVOTE || v.height != height ||
            tc_vote_is_nil(&v) || v.validator >= vs->count ||
            tc_vote_verify(&v, &n->verifier, &vs->members[v.validator].key) != 0)
            continue;
        if (!any)
            first = v;
        any = true;
        (void)tc_bft_on_vote(n->bft, n->now_ms, &v);
    }
    tc_store_abort(t); /* val is read above, inside the transaction */
    if (any)
        restore_locked_block(n, height, &first);
}

/* ---- heights ---- */

/* bft's codes other than TC_EFAILED are about the input (another height, a duplicate, a full
 * table: dropped, as peers' messages are). TC_EFAILED is bft's own sticky failure, a bound it
 * believed could not be reached: the node stops with it (node.h, corruption). */
static void bft_result(tc_node *n, int rc)
{
    if (rc == TC_EFAILED)
        node_fail(n, TC_NODE_FAIL_CORRUPTION, rc, "consensus state (bft) failed");
}

int node_consensus_start_height(tc_node *n)
{
    static const tc_hash zero;
    own_frames_clear(n); /* a new height: what we signed for the last one is moot */
    tc_bft_status bs;
    tc_bft_status_get(n->bft, &bs);
    bool restarted = bs.step == TC_BFT_STEP_IDLE;
    if (restarted) {
        int rc = restore_signed(n);
        if (rc == 0)
            rc = node_commit_load(n);
        if (rc != 0)
            return rc;
        tc_peer_set_best_height(n->peers, tc_chain_height(n->chain));
    }
    uint64_t height = tc_chain_height(n->chain) + 1;
    const tc_vset *vs;
    int rc = tc_chain_vset(n->chain, tc_chain_epoch_of(n->chain, height), &vs);
    if (rc != 0)
        return rc;
    uint32_t index = TC_BFT_INDEX_NONE;
    (void)tc_vset_find(vs, &n->key.pub, &index);
    node_votes_height(n, height, vs->count); /* the last height's votes are moot */
    rc = tc_bft_start_height(n->bft, n->now_ms, height, vs, index, n->commit.time_ms);
    if (rc != 0)
        return rc;
    if (restarted) {
        n->cons.locked_ms = n->now_ms;
        restore_pol(n, height, vs);
    }
    /* Proposals that arrived early for this height are judged now. */
    for (int i = 0; i < NODE_PROPOSALS_MAX; i++) {
        node_proposal *p = &n->cons.proposals[i];
        if (p->used && p->block.header.height < height) {
            proposal_clear(p);
        } else if (p->used && !p->pending && !p->from_network) {
            p->from_network = true;
            bft_result(n, tc_bft_on_proposal(n->bft, n->now_ms, height, p->round, p->pol_round,
                                             &p->hash, p->valid));
        }
    }
    n->cons.awaiting_block = false;
    n->cons.awaiting_hash = zero;
    return 0;
}

void node_consensus_committed(tc_node *n)
{
    int rc = node_consensus_start_height(n);
    if (rc != 0)
        node_fail_code(n, rc, "start the next height");
}

/* ---- bft outputs ---- */

/* Builds the proposal for (height, round): the transactions final here with their
 * certificates, pending evidence and, on the epoch's closing height, a quorum of pooled
 * handoffs (without them the build fails: TC_EBLK_HANDOFF, and the round times out while the
 * validators' handoffs arrive). */
static int build_block(tc_node *n, uint64_t height, uint32_t round, tc_block *b)
{
    tc_tx *txs = NULL;
    tc_fincert *certs = NULL;
    tc_handoff *hs = NULL;
    uint32_t count = 0, h_count = 0;
    uint32_t ev_max = tc_chain_profile(n->chain)->evidence_per_block_max;
    tc_chain_build_args a = {.time_ms = n->now_ms,
                             .round = round,
                             .proposer = n->my_index,
                             .last_commit = height > 1 ? &n->commit.tip_commit : NULL,
                             .evidence = n->ev.list,
                             .evidence_count = n->ev.count < ev_max ? n->ev.count : ev_max};
    if (a.time_ms <= tc_chain_tip_time_ms(n->chain))
        a.time_ms = tc_chain_tip_time_ms(n->chain) + 1;
    int rc = node_txs_block_handoffs(n, height, &hs, &h_count);
    if (rc == 0)
        rc = node_txs_collect(n, tc_chain_profile(n->chain)->block_txs_max, &txs, &certs, &count);
    if (rc != 0) {
        free(hs);
        return rc;
    }
    a.txs = txs;
    a.tx_count = count;
    a.certs = certs;
    a.handoffs = hs;
    a.handoff_count = h_count;
    rc = tc_chain_build(n->chain, &a, b);
    /* The retries below are for blocks the rules refuse; the node's own failures (store,
     * memory) are no reason to propose less. */
    bool rule = node_failure_kind_of(rc) == TC_NODE_FAIL_NONE;
    if (rc != 0 && rule && a.evidence_count > 0) {
        /* Evidence the chain refuses is stale (included already, or its culprit burned by
         * other evidence): drop it all rather than let it keep transactions out of blocks.
         * Fresh equivocations are reported again by bft and peers. */
        node_evidence_clear(n);
        a.evidence = NULL;
        a.evidence_count = 0;
        rc = tc_chain_build(n->chain, &a, b);
        rule = node_failure_kind_of(rc) == TC_NODE_FAIL_NONE;
    }
    if (rc != 0 && rule) { /* a pending transaction no longer fits: propose an empty block */
        a.txs = NULL;
        a.tx_count = 0;
        a.certs = NULL;
        rc = tc_chain_build(n->chain, &a, b);
    }
    for (uint32_t i = 0; i < count; i++)
        tc_fincert_deinit(&certs[i]); /* the ones the block did not take */
    free(txs);
    free(certs);
    free(hs); /* views only: the pool keeps the handoffs */
    return rc;
}

static void on_build(tc_node *n, const tc_bft_output *o)
{
    node_proposal *p = proposal_slot(n);
    int rc = build_block(n, o->height, o->round, &p->block);
    if (rc != 0) {
        memset(p, 0, sizeof(*p));
        /* A store that cannot be read stops the node; short of memory, or of handoffs, bft's
         * propose timeout moves the round on. */
        (void)node_fail_local(n, rc, "build a block");
        return;
    }
    p->used = p->valid = p->from_network = true;
    p->round = o->round;
    p->pol_round = TC_BFT_ROUND_NONE;
    tc_block_hash(&p->block.header, &p->hash);
    bft_result(n, tc_bft_on_block_built(n->bft, n->now_ms, o->height, o->round, &p->hash));
}

static void on_propose(tc_node *n, const tc_bft_output *o)
{
    node_proposal *p = proposal_find(n, &o->block);
    if (p == NULL)
        return; /* a valid value we no longer hold (evicted): the round times out */
    tc_msg m = {.type = TC_MSG_PROPOSAL};
    m.proposal.height = o->height;
    m.proposal.round = o->round;
    m.proposal.pol_round = o->pol_round;
    m.proposal.block = p->block; /* lent, not owned: never deinit'ed through m */
    tc_msg_proposal_sign(&m.proposal, n->scheme, &n->key);
    own_frame_send(n, &m);
    if (o->pol_round != TC_BFT_ROUND_NONE)
        pol_send(n, true); /* the re-proposal is accepted only with its proof in hand */
}

static void on_vote_out(tc_node *n, const tc_vote *v)
{
    tc_msg m = {.type = v->type == TC_VOTE_PREVOTE ? TC_MSG_PREVOTE : TC_MSG_PRECOMMIT};
    node_evidence_journal(n, v);
    m.vote = *v;
    own_frame_send(n, &m);
}

static void on_commit(tc_node *n, const tc_bft_output *o)
{
    node_proposal *p = proposal_find(n, &o->block);
    if (p != NULL) {
        tc_block b = p->block;
        memset(&p->block, 0, sizeof(p->block)); /* take it: the slot is cleared on apply */
        if (node_commit_apply(n, &b, &o->commit, false) == 0) /* else it failed the node */
            node_consensus_committed(n);
        tc_block_deinit(&b);
        return;
    }
    /* Decided without holding the block: fetch it (a BLOCKS entry brings its certificate); sync
     * asks again while it does not come (node_sync_tick). */
    n->cons.awaiting_block = true;
    n->cons.awaiting_hash = o->block;
    node_commit_request(n, o->height);
}

/* Whether an output of bft is about a height the chain has left: bft queued it, then the same
 * call applied more blocks (a BLOCKS message during sync applies several, each starting the
 * next height). Building, proposing or committing at it would act on the wrong tip. */
static bool stale_height(tc_node *n, uint64_t height)
{
    return height != tc_chain_height(n->chain) + 1;
}

static void on_output(tc_node *n, const tc_bft_output *o)
{
    tc_notify note = {.height = o->height, .round = o->round, .hash = o->block};
    tc_evidence e;
    switch (o->kind) {
    case TC_BFT_OUT_BUILD:
        if (!stale_height(n, o->height))
            on_build(n, o);
        break;
    case TC_BFT_OUT_PROPOSE:
        if (!stale_height(n, o->height))
            on_propose(n, o);
        break;
    case TC_BFT_OUT_VOTE:
        on_vote_out(n, &o->vote);
        break;
    case TC_BFT_OUT_PERSIST: {
        /* Nothing may be signed that is not durable first: the outputs after it never leave. */
        int rc = persist_signed(n, &o->signed_state);
        if (rc != 0)
            node_fail_code(n, rc, "persist the last-signed vote");
        break;
    }
    case TC_BFT_OUT_COMMIT:
        if (!stale_height(n, o->height))
            on_commit(n, o);
        break;
    case TC_BFT_OUT_VIEW_CHANGE:
        n->cons.view_changes++;
        note.kind = TC_NOTIFY_VIEW_CHANGE;
        note.round_to = o->round_to;
        note.cause = o->cause;
        node_notify(n, &note);
        break;
    case TC_BFT_OUT_LOCK:
        n->cons.locked_ms = n->now_ms;
        save_pol(n, o);
        /* fall through */
    case TC_BFT_OUT_UNLOCK:
        note.kind = o->kind == TC_BFT_OUT_LOCK ? TC_NOTIFY_LOCK : TC_NOTIFY_UNLOCK;
        node_notify(n, &note);
        break;
    case TC_BFT_OUT_EQUIVOCATION:
        tc_evidence_from_votes(&e, &o->vote, &o->vote2);
        node_evidence_add(n, &e, true);
        break;
    }
}

void node_consensus_drain(tc_node *n)
{
    tc_bft_output o;
    /* Stop at a failure: once PERSIST failed, the outputs after it must never leave. A validator
     * whose clock is out of bounds builds no block (its time would be wrong); what bft signs
     * meanwhile is persisted and kept, and leaves once the clock is back (own_frame_send). */
    while (!n->fail.failed && tc_bft_next_output(n->bft, &o))
        if (!(node_clock_stopped(n) && o.kind == TC_BFT_OUT_BUILD))
            on_output(n, &o);
}

/* ---- messages from peers ---- */

/* 0 when p comes from the proposer of (height, round) and carries a block that round may carry;
 * TC_EINVAL for a block that does not fit the proposal, TC_EBADSIG for a bad signature,
 * TC_ENOTFOUND when this node has begun no height to judge it by. A fresh
 * proposal carries the block its proposer built in this very round. A re-proposal (pol_round
 * set: Tendermint's valid value) carries a block built in an earlier round, no later than the
 * proof-of-lock round, by that round's proposer: its header keeps that round and proposer, and
 * only the proposal's signature is the current proposer's. */
static int proposal_check(tc_node *n, const tc_msg_proposal *p)
{
    const tc_vset *vs;
    const tc_block_header *h = &p->block.header;
    uint32_t proposer = tc_bft_proposer_at(n->bft, p->height, p->round);
    if (proposer == TC_BFT_INDEX_NONE)
        return TC_ENOTFOUND; /* no height begun here yet: nothing to hold against the peer */
    if (h->height != p->height)
        return TC_EINVAL;
    if (p->pol_round == TC_MSG_POL_NONE) {
        if (h->round != p->round || h->proposer != proposer)
            return TC_EINVAL;
    } else if (h->round > p->pol_round ||
               h->proposer != tc_bft_proposer_at(n->bft, p->height, h->round)) {
        return TC_EINVAL;
    }
    if (tc_chain_vset(n->chain, tc_chain_epoch_of(n->chain, p->height), &vs) != 0)
        return TC_EINVAL;
    tc_hash m;
    tc_msg_proposal_sign_hash(p, &m);
    return tc_verify(&n->verifier, &vs->members[proposer].key, &m, &p->sig) == 0 ? 0 : TC_EBADSIG;
}

/* The batches proposal slot p awaits (node_consensus.awaiting). */
static tc_batch_ref *awaiting_of(tc_node *n, const node_proposal *p)
{
    ptrdiff_t i = p - n->cons.proposals;
    TC_ASSERT(i >= 0 && i < NODE_PROPOSALS_MAX);
    return n->cons.awaiting[i];
}

/* Judges a held proposal: the chain's rules, the clock bound, the certificates. */
static void judge(tc_node *n, node_proposal *p, tc_peer_id peer)
{
    const tc_profile *prof = tc_chain_profile(n->chain);
    int rc = tc_chain_check(n->chain, &p->block);
    if (rc == 0 && p->block.header.time_ms > n->clock_ms + prof->block_time_future_max_ms)
        rc = TC_EBLK_TIME;
    p->awaiting_count = 0;
    p->judged_ms = n->now_ms;
    if (rc == 0)
        rc = node_txs_check_certs(n, peer, &p->block, awaiting_of(n, p), &p->awaiting_count);
    if (node_fail_local(n, rc, "judge a proposal"))
        return;
    /* Short of memory, the block is no more invalid than it was: judged again after
     * NODE_PENDING_RETRY_MS, like one waiting for batches. */
    p->pending = rc == TC_ENOTFOUND || rc == TC_ENOMEM;
    p->valid = rc == 0;
    if (p->pending)
        return;
    p->from_network = true;
    bft_result(n, tc_bft_on_proposal(n->bft, n->now_ms, p->block.header.height, p->round,
                                     p->pol_round, &p->hash, p->valid));
}

node_verdict node_consensus_check_proposal(tc_node *n, tc_peer_id peer, const tc_msg_proposal *p)
{
    uint64_t next = tc_chain_height(n->chain) + 1;
    if (p->height > next)
        return NODE_AHEAD;
    if (p->height < next)
        return NODE_DROP;
    int prc = proposal_check(n, p);
    if (prc == TC_EBADSIG || prc == TC_EINVAL)
        node_offence(n, peer,
                     prc == TC_EBADSIG ? TC_PEER_OFFENCE_BAD_SIG : TC_PEER_OFFENCE_INVALID);
    if (prc != 0)
        return NODE_DROP;
    tc_hash hash;
    tc_block_hash(&p->block.header, &hash);
    const node_proposal *known = proposal_find(n, &hash);
    /* The same block again is news only as a re-proposal in a later round (its valid value),
     * which bft judges by round; the block itself was judged once already. */
    return known == NULL || p->round > known->round ? NODE_NEWS : NODE_DROP;
}

void node_consensus_take_proposal(tc_node *n, tc_peer_id peer, tc_msg_proposal *p)
{
    tc_hash hash;
    tc_block_hash(&p->block.header, &hash);
    node_proposal *known = proposal_find(n, &hash);
    if (known != NULL) {
        TC_ASSERT(p->round > known->round); /* node_consensus_check_proposal said news */
        known->round = p->round;
        known->pol_round = p->pol_round;
        if (!known->pending)
            bft_result(n, tc_bft_on_proposal(n->bft, n->now_ms, p->height, p->round, p->pol_round,
                                             &hash, known->valid));
        return;
    }
    node_proposal *slot = proposal_slot(n);
    slot->used = true;
    slot->peer = peer;
    slot->round = p->round;
    slot->pol_round = p->pol_round;
    slot->hash = hash;
    slot->block = p->block;
    memset(&p->block, 0, sizeof(p->block)); /* moved into the slot */
    judge(n, slot, peer);
}

/* A held proposal for the next height that waits for vote batches. */
static bool pending_next(const tc_node *n, const node_proposal *p)
{
    return p->used && p->pending && p->block.header.height == tc_chain_height(n->chain) + 1;
}

void node_consensus_on_batch_arrived(tc_node *n, uint32_t validator, uint64_t seq)
{
    for (int i = 0; i < NODE_PROPOSALS_MAX; i++) {
        node_proposal *p = &n->cons.proposals[i];
        if (!pending_next(n, p))
            continue;
        tc_batch_ref *awaiting = awaiting_of(n, p);
        for (uint32_t k = 0; k < p->awaiting_count; k++) {
            if (awaiting[k].validator != validator || awaiting[k].seq != seq)
                continue;
            awaiting[k] = awaiting[--p->awaiting_count];
            if (p->awaiting_count == 0)
                judge(n, p, p->peer);
            break;
        }
    }
}

/* Pending proposals whose batches have not all come within NODE_PENDING_RETRY_MS are judged
 * again, which asks again for the missing ones. */
static void pending_retry(tc_node *n)
{
    for (int i = 0; i < NODE_PROPOSALS_MAX; i++) {
        node_proposal *p = &n->cons.proposals[i];
        if (pending_next(n, p) && n->now_ms >= p->judged_ms + NODE_PENDING_RETRY_MS)
            judge(n, p, p->peer);
    }
}

node_verdict node_consensus_on_vote(tc_node *n, tc_peer_id peer, const tc_vote *v)
{
    uint64_t tip = tc_chain_height(n->chain);
    const tc_vset *vs;
    if (v->height == 0)
        return NODE_DROP;
    if (v->height > tip + 2)
        return NODE_AHEAD;
    if (tc_chain_vset(n->chain, tc_chain_epoch_of(n->chain, v->height), &vs) != 0)
        return NODE_DROP;
    if (v->validator >= vs->count) {
        node_offence(n, peer, TC_PEER_OFFENCE_INVALID);
        return NODE_DROP;
    }
    if (tc_vote_verify(v, &n->verifier, &vs->members[v->validator].key) != 0) {
        node_offence(n, peer, TC_PEER_OFFENCE_BAD_SIG);
        return NODE_DROP;
    }
    node_evidence_journal(n, v); /* every signed vote is kept for forensics (PROTOCOL 14.5) */
    if (v->height <= tip) {
        node_commit_check_past_vote(n, v);
        return NODE_DROP;
    }
    int rc = tc_bft_on_vote(n->bft, n->now_ms, v);
    bft_result(n, rc);
    return rc == 0 ? NODE_NEWS : NODE_DROP;
}

/* ---- time ---- */

void node_consensus_tick_bft(tc_node *n)
{
    bft_result(n, tc_bft_tick(n->bft, n->now_ms));
}

void node_consensus_tick_resend(tc_node *n)
{
    own_frames_resend(n);
    pending_retry(n);
}

void node_consensus_resend_soon(tc_node *n)
{
    n->cons.next_resend_ms = n->now_ms;
}

bool node_consensus_awaiting(const tc_node *n)
{
    return n->cons.awaiting_block;
}

uint64_t node_consensus_next_deadline(const tc_node *n)
{
    uint64_t d = tc_bft_next_deadline(n->bft);
    if (n->cons.own_frames[0] != NULL && n->cons.next_resend_ms < d)
        d = n->cons.next_resend_ms;
    for (int i = 0; i < NODE_PROPOSALS_MAX; i++) {
        const node_proposal *p = &n->cons.proposals[i];
        if (pending_next(n, p) && p->judged_ms + NODE_PENDING_RETRY_MS < d)
            d = p->judged_ms + NODE_PENDING_RETRY_MS;
    }
    return d;
}

void node_consensus_assert(const tc_node *n)
{
    TC_ASSERT(n->cons.own_next < NODE_OWN_FRAMES_MAX);
    for (int i = 0; i < NODE_OWN_FRAMES_MAX; i++)
        TC_ASSERT((n->cons.own_frames[i] == NULL) == (n->cons.own_lens[i] == 0));
    for (int i = 0; i < NODE_PROPOSALS_MAX; i++) {
        const node_proposal *p = &n->cons.proposals[i];
        TC_ASSERT(p->used || (!p->valid && !p->pending && p->awaiting_count == 0));
        TC_ASSERT(!(p->valid && p->pending) && p->awaiting_count <= TC_MSG_BATCH_REFS_MAX);
    }
}
