/* node_chain.c — block consensus inside the node: bft's outputs (build, propose, vote, persist,
 * commit), proposals and votes from peers, commits, sync by block ranges with certificates,
 * evidence, and the fork alarm with its forensics (SPEC 5, 6).
 */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

#define META_BFT_SIGNED "bft/signed"
#define META_TIP_COMMIT "node/tip-commit" /* the tip's certificate: the next block needs it */

/* ---- proposals of the current (and next) height ---- */

static void proposal_clear(node_proposal *p)
{
    tc_block_deinit(&p->block);
    memset(p, 0, sizeof(*p));
}

static node_proposal *proposal_find(tc_node *n, const tc_hash *hash)
{
    for (int i = 0; i < NODE_PROPOSALS_MAX; i++)
        if (n->proposals[i].used && memcmp(n->proposals[i].hash.b, hash->b, TC_HASH_SIZE) == 0)
            return &n->proposals[i];
    return NULL;
}

/* A free slot, or the slot of the oldest round of another height (deterministic: lowest
 * index among equals). */
static node_proposal *proposal_slot(tc_node *n)
{
    uint64_t height = tc_chain_height(n->chain) + 1;
    for (int i = 0; i < NODE_PROPOSALS_MAX; i++)
        if (!n->proposals[i].used)
            return &n->proposals[i];
    for (int i = 0; i < NODE_PROPOSALS_MAX; i++)
        if (n->proposals[i].block.header.height != height) {
            proposal_clear(&n->proposals[i]);
            return &n->proposals[i];
        }
    node_proposal *oldest = &n->proposals[0];
    for (int i = 1; i < NODE_PROPOSALS_MAX; i++)
        if (n->proposals[i].round < oldest->round)
            oldest = &n->proposals[i];
    proposal_clear(oldest);
    return oldest;
}

static void own_frames_clear(tc_node *n)
{
    for (int i = 0; i < NODE_OWN_FRAMES_MAX; i++) {
        free(n->own_frames[i]);
        n->own_frames[i] = NULL;
        n->own_lens[i] = 0;
    }
    n->own_next = 0;
}

/* Broadcasts a proposal or vote this node signed at the current height and keeps a copy of its
 * frame, replacing the oldest: the latest rounds are what peers still need. */
static void own_frame_send(tc_node *n, const tc_msg *m)
{
    size_t len = 0;
    const uint8_t *frame = node_broadcast_own(n, m, &len);
    uint8_t *bytes = frame != NULL ? malloc(len) : NULL;
    if (bytes == NULL)
        return;
    memcpy(bytes, frame, len);
    free(n->own_frames[n->own_next]);
    n->own_frames[n->own_next] = bytes;
    n->own_lens[n->own_next] = len;
    n->own_next = (n->own_next + 1) % NODE_OWN_FRAMES_MAX;
}

/* Broadcasts the prevotes that prove this node's valid value (tc_bft_pol_vote), once the height
 * has gone past the valid round undecided: a peer that never saw them cannot accept the
 * re-proposal of the value its locked peers insist on, and their signers may have restarted or
 * dropped their own copies (PROTOCOL 12.3). */
static void pol_send(tc_node *n)
{
    tc_bft_status st;
    tc_bft_status_get(n->bft, &st);
    if (st.valid_round == TC_BFT_ROUND_NONE || st.round <= st.valid_round ||
        st.step == TC_BFT_STEP_COMMITTED)
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
    if (n->now_ms < n->next_resend_ms)
        return;
    n->next_resend_ms = n->now_ms + NODE_RESEND_MS;
    for (int i = 0; i < NODE_OWN_FRAMES_MAX; i++)
        if (n->own_frames[i] != NULL)
            node_broadcast_frame(n, n->own_frames[i], n->own_lens[i]);
    pol_send(n);
}

static void evidence_clear(tc_node *n)
{
    for (uint32_t i = 0; i < n->evidence_count; i++)
        tc_evidence_deinit(&n->evidence[i]);
    n->evidence_count = 0;
}

void node_chain_free(tc_node *n)
{
    own_frames_clear(n);
    for (int i = 0; i < NODE_PROPOSALS_MAX; i++)
        proposal_clear(&n->proposals[i]);
    tc_commit_deinit(&n->tip_commit);
    tc_commit_deinit(&n->awaiting_commit);
    evidence_clear(n);
}

/* ---- durable last-signed state ---- */

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

/* The tip's commit certificate lives in no block until the next one is built, so the node keeps
 * it in the store: a restarted proposer needs it as last_commit, and sync serves it. It is
 * written right after the block's own transaction; a crash in between leaves the previous
 * certificate, which load_tip_commit then ignores (its height is not the tip's) — the node
 * still votes, and learns the certificate again from the next proposal or a peer. */
static void save_tip_commit(tc_node *n)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    tc_writer w;
    tc_store_txn *t = NULL;
    tc_writer_init(&w, NULL, 0);
    tc_commit_encode(&w, &n->tip_commit);
    bytes = malloc(w.len);
    if (bytes == NULL)
        return;
    tc_writer_init(&w, bytes, w.len);
    tc_commit_encode(&w, &n->tip_commit);
    if (tc_writer_finish(&w, &len) == 0 && tc_store_begin(n->store, true, &t) == 0) {
        if (tc_store_put(t, TC_TABLE_LOCKS, META_TIP_COMMIT, strlen(META_TIP_COMMIT), bytes, len) ==
            0)
            (void)tc_store_commit(t);
        else
            tc_store_abort(t);
    }
    free(bytes);
}

static void load_tip_commit(tc_node *n)
{
    tc_store_txn *t = NULL;
    const void *v;
    size_t len;
    tc_commit c;
    if (tc_store_begin(n->store, false, &t) != 0)
        return;
    if (tc_store_get(t, TC_TABLE_LOCKS, META_TIP_COMMIT, strlen(META_TIP_COMMIT), &v, &len) == 0 &&
        tc_commit_decode(&c, v, len) == 0) {
        if (c.height == tc_chain_height(n->chain) && c.height > 0) {
            tc_commit_deinit(&n->tip_commit);
            n->tip_commit = c;
        } else {
            tc_commit_deinit(&c);
        }
    }
    tc_store_abort(t);
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

/* ---- heights ---- */

int node_chain_start_height(tc_node *n)
{
    static const tc_hash zero;
    own_frames_clear(n); /* a new height: what we signed for the last one is moot */
    tc_bft_status bs;
    tc_bft_status_get(n->bft, &bs);
    if (bs.step == TC_BFT_STEP_IDLE) {
        int rc = restore_signed(n);
        if (rc != 0)
            return rc;
        load_tip_commit(n);
        tc_peer_set_best_height(n->peers, tc_chain_height(n->chain));
    }
    uint64_t height = tc_chain_height(n->chain) + 1;
    const tc_vset *vs;
    int rc = tc_chain_vset(n->chain, tc_chain_epoch_of(n->chain, height), &vs);
    if (rc != 0)
        return rc;
    uint32_t index = TC_BFT_INDEX_NONE;
    (void)tc_vset_find(vs, &n->key.pub, &index);
    rc = tc_bft_start_height(n->bft, n->now_ms, height, vs, index, n->commit_time_ms);
    if (rc != 0)
        return rc;
    /* Proposals that arrived early for this height are judged now. */
    for (int i = 0; i < NODE_PROPOSALS_MAX; i++) {
        node_proposal *p = &n->proposals[i];
        if (p->used && p->block.header.height < height) {
            proposal_clear(p);
        } else if (p->used && !p->pending && !p->from_network) {
            p->from_network = true;
            (void)tc_bft_on_proposal(n->bft, n->now_ms, height, p->round, p->pol_round, &p->hash,
                                     p->valid);
        }
    }
    n->awaiting_block = false;
    n->awaiting_hash = zero;
    return 0;
}

static void notify_committed(tc_node *n, const tc_block *b, const tc_hash *hash)
{
    tc_notify note = {.kind = TC_NOTIFY_BLOCK_COMMITTED,
                      .height = b->header.height,
                      .round = b->header.round,
                      .proposer = b->header.proposer,
                      .hash = *hash,
                      .txs = b->tx_count};
    node_notify(n, &note);
}

/* Evidence is compared by hash: kind 1 owns memory, so its bytes are not its value. */
static bool evidence_in(const tc_evidence *list, uint32_t count, const tc_hash *eh)
{
    for (uint32_t k = 0; k < count; k++) {
        tc_hash h;
        tc_evidence_hash(&list[k], &h);
        if (memcmp(h.b, eh->b, TC_HASH_SIZE) == 0)
            return true;
    }
    return false;
}

static void drop_included_evidence(tc_node *n, const tc_block *b)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n->evidence_count; i++) {
        tc_hash eh;
        tc_evidence_hash(&n->evidence[i], &eh);
        if (evidence_in(b->header.evidence, b->header.evidence_count, &eh))
            tc_evidence_deinit(&n->evidence[i]);
        else
            n->evidence[kept++] = n->evidence[i]; /* moved: ownership goes along */
    }
    n->evidence_count = kept;
}

static void raise_fork(tc_node *n, uint64_t height, const tc_hash *ours, const tc_hash *theirs,
                       int code)
{
    tc_notify note = {
        .kind = TC_NOTIFY_FORK, .height = height, .hash = *ours, .hash2 = *theirs, .code = code};
    n->fork = true;
    n->failed = true; /* SPEC 6: a node that sees a fork stops committing */
    node_notify(n, &note);
}

static int our_commit_at(tc_node *n, uint64_t height, tc_commit *out, tc_hash *hash_out);
static void forensics(tc_node *n, const tc_commit *ours, const tc_commit *theirs);

/* A certified block b at tip + 1 whose parent is not our tip: its last_commit certifies another
 * block at our tip's height. If that certificate is valid, the network has two certified blocks
 * at one height: a fork, and the two certificates name the culprits. */
static void fork_from_parent(tc_node *n, const tc_block *b)
{
    uint64_t tip = tc_chain_height(n->chain);
    const tc_commit *theirs = &b->header.last_commit;
    const tc_vset *vs;
    tc_commit ours;
    tc_hash our_hash, block_hash;
    tc_block_hash(&b->header, &block_hash);
    if (tip == 0 || theirs->height != tip ||
        tc_chain_vset(n->chain, tc_chain_epoch_of(n->chain, tip), &vs) != 0 ||
        tc_commit_verify(theirs, vs, &n->verifier, tip, &b->header.parent) != 0) {
        raise_fork(n, b->header.height, &block_hash, &block_hash, TC_EBLK_PARENT);
        return;
    }
    tc_chain_tip(n->chain, &our_hash);
    raise_fork(n, tip, &our_hash, &b->header.parent, TC_EBLK_COMMIT);
    if (our_commit_at(n, tip, &ours, &our_hash) == 0) {
        forensics(n, &ours, theirs);
        tc_commit_deinit(&ours);
    }
}

/* Applies a certified block as the new tip and moves consensus to the next height. synced: it
 * came by sync, so the peers committed it a while ago and their block interval has run: round
 * 0 of the next height starts now (PROTOCOL 12.4) rather than a whole interval later, which
 * would make a synced proposer's proposal late for every peer. */
static int apply_committed(tc_node *n, const tc_block *b, const tc_commit *commit, bool synced)
{
    tc_hash hash;
    tc_block_hash(&b->header, &hash);
    int rc = tc_chain_apply(n->chain, b);
    if (rc == TC_EBLK_PARENT) {
        fork_from_parent(n, b);
        return rc;
    }
    if (rc != 0) {
        /* A certificate of weight >= Q for a block the rules refuse: Byzantine weight >= W/3
         * signed it. */
        raise_fork(n, b->header.height, &hash, &hash, rc);
        return rc;
    }
    tc_commit_deinit(&n->tip_commit);
    rc = tc_commit_copy(&n->tip_commit, commit);
    if (rc == 0)
        save_tip_commit(n);
    uint64_t interval = tc_chain_profile(n->chain)->block_interval_ms;
    n->commit_time_ms = !synced ? n->now_ms : n->now_ms > interval ? n->now_ms - interval : 0;
    notify_committed(n, b, &hash);
    drop_included_evidence(n, b);
    tc_peer_set_best_height(n->peers, b->header.height);
    if (rc == 0)
        rc = node_txs_on_block(n, b);
    if (rc == 0)
        rc = node_chain_start_height(n);
    if (rc != 0) {
        (void)TC_NEVER(true);
        n->failed = true;
    }
    return rc;
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
                             .last_commit = height > 1 ? &n->tip_commit : NULL,
                             .evidence = n->evidence,
                             .evidence_count =
                                 n->evidence_count < ev_max ? n->evidence_count : ev_max};
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
    if (rc != 0 && a.evidence_count > 0) {
        /* Evidence the chain refuses is stale (included already, or its culprit burned by
         * other evidence): drop it all rather than let it keep transactions out of blocks.
         * Fresh equivocations are reported again by bft and peers. */
        evidence_clear(n);
        a.evidence = NULL;
        a.evidence_count = 0;
        rc = tc_chain_build(n->chain, &a, b);
    }
    if (rc != 0) { /* a pending transaction no longer fits the chain: propose an empty block */
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
    if (build_block(n, o->height, o->round, &p->block) != 0) {
        memset(p, 0, sizeof(*p));
        return; /* bft's propose timeout moves the round on */
    }
    p->used = p->valid = p->from_network = true;
    p->round = o->round;
    p->pol_round = TC_BFT_ROUND_NONE;
    tc_block_hash(&p->block.header, &p->hash);
    (void)tc_bft_on_block_built(n->bft, n->now_ms, o->height, o->round, &p->hash);
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
        pol_send(n); /* the re-proposal is accepted only with its proof in hand */
}

static void on_vote_out(tc_node *n, const tc_vote *v)
{
    tc_msg m = {.type = v->type == TC_VOTE_PREVOTE ? TC_MSG_PREVOTE : TC_MSG_PRECOMMIT};
    m.vote = *v;
    own_frame_send(n, &m);
}

static void request_block(tc_node *n, uint64_t height)
{
    tc_msg m = {.type = TC_MSG_GET_BLOCKS};
    m.get_blocks.from_height = height;
    m.get_blocks.count = 1;
    (void)node_broadcast(n, &m, false, 0);
}

static void on_commit(tc_node *n, const tc_bft_output *o)
{
    node_proposal *p = proposal_find(n, &o->block);
    if (p != NULL) {
        tc_block b = p->block;
        memset(&p->block, 0, sizeof(p->block)); /* take it: the slot is cleared on apply */
        (void)apply_committed(n, &b, &o->commit, false);
        tc_block_deinit(&b);
        return;
    }
    /* Decided without holding the block: the certificate proves it; fetch it. */
    n->awaiting_block = true;
    n->awaiting_hash = o->block;
    tc_commit_deinit(&n->awaiting_commit);
    (void)tc_commit_copy(&n->awaiting_commit, &o->commit);
    request_block(n, o->height);
}

void node_add_evidence(tc_node *n, const tc_evidence *e, bool broadcast)
{
    TC_ASSERT(n != NULL && e != NULL);
    tc_hash eh;
    tc_evidence_hash(e, &eh);
    if (evidence_in(n->evidence, n->evidence_count, &eh))
        return;
    /* Out of memory loses the proposal copy only: the culprit is still notified and gossiped. */
    if (n->evidence_count < NODE_EVIDENCE_MAX &&
        tc_evidence_copy(&n->evidence[n->evidence_count], e) == 0)
        n->evidence_count++;
    tc_notify note = {.kind = TC_NOTIFY_EVIDENCE,
                      .height = e->a.height,
                      .round = e->a.round,
                      .validator = tc_evidence_validator(e),
                      .hash = eh};
    node_notify(n, &note);
    if (broadcast) {
        /* The message borrows e: it is encoded, never deinit'ed. */
        tc_msg m = {.type = TC_MSG_EVIDENCE};
        m.evidence = *e;
        (void)node_broadcast(n, &m, false, 0);
    }
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
    case TC_BFT_OUT_PERSIST:
        if (persist_signed(n, &o->signed_state) != 0)
            n->failed = true; /* nothing may be signed that is not durable first */
        break;
    case TC_BFT_OUT_COMMIT:
        if (!stale_height(n, o->height))
            on_commit(n, o);
        break;
    case TC_BFT_OUT_VIEW_CHANGE:
        n->view_changes++;
        note.kind = TC_NOTIFY_VIEW_CHANGE;
        note.round_to = o->round_to;
        note.cause = o->cause;
        node_notify(n, &note);
        break;
    case TC_BFT_OUT_LOCK:
    case TC_BFT_OUT_UNLOCK:
        note.kind = o->kind == TC_BFT_OUT_LOCK ? TC_NOTIFY_LOCK : TC_NOTIFY_UNLOCK;
        node_notify(n, &note);
        break;
    case TC_BFT_OUT_EQUIVOCATION:
        tc_evidence_from_votes(&e, &o->vote, &o->vote2);
        node_add_evidence(n, &e, true);
        break;
    }
}

/* ---- clock sanity ---- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Re-evaluates our clock against the median of the masternodes' (SPEC 5): more than
 * clock_warn_ms off warns, more than clock_stop_ms off stops voting until it is back. */
static void clock_evaluate(tc_node *n)
{
    int64_t offsets[NODE_CLOCK_PEERS_MAX];
    const tc_profile *p = tc_chain_profile(n->chain);
    if (n->clock_count == 0)
        return;
    for (uint32_t i = 0; i < n->clock_count; i++)
        offsets[i] = n->clocks[i].offset_ms;
    qsort(offsets, n->clock_count, sizeof(offsets[0]), cmp_i64);
    int64_t median = offsets[n->clock_count / 2];
    uint64_t skew = (uint64_t)(median < 0 ? -median : median);
    node_clock_state s = skew > p->clock_stop_ms   ? NODE_CLOCK_STOP
                         : skew > p->clock_warn_ms ? NODE_CLOCK_WARN
                                                   : NODE_CLOCK_OK;
    if (s == n->clock_state)
        return;
    n->clock_state = s;
    tc_notify note = {.kind = TC_NOTIFY_CLOCK,
                      .code = s == NODE_CLOCK_OK ? 0 : TC_EBLK_TIME,
                      .cause = (uint32_t)s,
                      .latency_ms = skew};
    node_notify(n, &note);
}

void node_chain_on_heartbeat(tc_node *n, tc_peer_id peer, const uint8_t *frame, size_t len,
                             const tc_msg_heartbeat *h)
{
    const tc_vset *vs;
    uint32_t index;
    tc_hash m;
    if (tc_chain_vset(n->chain, n->epoch, &vs) != 0 || tc_vset_find(vs, &h->pubkey, &index) != 0)
        return; /* only masternodes' clocks count */
    tc_msg_heartbeat_sign_hash(h, &m);
    if (tc_verify(&n->verifier, &h->pubkey, &m, &h->sig) != 0) {
        node_offence(n, peer, TC_PEER_OFFENCE_BAD_SIG);
        return;
    }
    node_relay(n, peer, frame, len);
    node_clock_peer *slot = NULL;
    for (uint32_t i = 0; i < n->clock_count && slot == NULL; i++)
        if (memcmp(n->clocks[i].key.b, h->pubkey.b, TC_PUBKEY_SIZE) == 0)
            slot = &n->clocks[i];
    if (slot == NULL && n->clock_count < NODE_CLOCK_PEERS_MAX)
        slot = &n->clocks[n->clock_count++];
    if (slot == NULL)
        return;
    slot->key = h->pubkey;
    slot->offset_ms = (int64_t)h->time_ms - (int64_t)n->clock_ms;
    slot->seen_ms = n->now_ms;
    clock_evaluate(n);
}

/* Masternodes sign a heartbeat every heartbeat_interval_ms (SPEC 3). */
static void heartbeat_tick(tc_node *n)
{
    if (n->now_ms < n->next_heartbeat_ms)
        return;
    n->next_heartbeat_ms = n->now_ms + tc_chain_profile(n->chain)->heartbeat_interval_ms;
    if (n->my_index == UINT32_MAX)
        return;
    tc_msg m = {.type = TC_MSG_HEARTBEAT};
    m.heartbeat.epoch = n->epoch;
    m.heartbeat.height = tc_chain_height(n->chain);
    m.heartbeat.time_ms = n->clock_ms;
    m.heartbeat.pubkey = n->key.pub;
    tc_msg_heartbeat_sign(&m.heartbeat, n->scheme, &n->key);
    (void)node_broadcast(n, &m, false, 0);
}

/* What a validator whose clock is out of bounds may not send: it keeps its state (and persists
 * what bft signed), but nothing it signs leaves until its clock is back. */
static bool clock_forbids(const tc_node *n, tc_bft_output_kind kind)
{
    return n->clock_state == NODE_CLOCK_STOP &&
           (kind == TC_BFT_OUT_BUILD || kind == TC_BFT_OUT_PROPOSE || kind == TC_BFT_OUT_VOTE);
}

void node_chain_drain_bft(tc_node *n)
{
    tc_bft_output o;
    /* Stop at a failure: once PERSIST failed, the outputs after it must never leave. */
    while (!n->failed && tc_bft_next_output(n->bft, &o))
        if (!clock_forbids(n, o.kind))
            on_output(n, &o);
}

/* ---- sync ---- */

static void sync_request(tc_node *n, tc_peer_id peer)
{
    uint64_t tip = tc_chain_height(n->chain);
    uint64_t want = n->best_seen_height > tip ? n->best_seen_height - tip : 1;
    tc_msg m = {.type = TC_MSG_GET_BLOCKS};
    m.get_blocks.from_height = tip + 1;
    m.get_blocks.count = (uint32_t)(want < TC_MSG_BLOCKS_MAX ? want : TC_MSG_BLOCKS_MAX);
    n->sync_active = true;
    n->sync_peer = peer;
    n->sync_deadline_ms = n->now_ms + NODE_SYNC_TIMEOUT_MS;
    (void)node_send(n, peer, &m);
}

void node_chain_on_status(tc_node *n, tc_peer_id peer, const tc_msg_status *s)
{
    uint64_t tip = tc_chain_height(n->chain);
    if (s->height > n->best_seen_height)
        n->best_seen_height = s->height;
    if (s->height > tip && !n->sync_active && !n->failed) {
        sync_request(n, peer);
        return;
    }
    if (s->height == 0 || s->height > tip)
        return;
    tc_hash ours;
    tc_block b;
    if (s->height == tip) {
        tc_chain_tip(n->chain, &ours);
    } else if (tc_chain_block_at(n->chain, s->height, &b) == 0) {
        tc_block_hash(&b.header, &ours);
        tc_block_deinit(&b);
    } else {
        return;
    }
    if (memcmp(ours.b, s->tip.b, TC_HASH_SIZE) != 0) {
        /* Another block at a height we hold: fetch it with its certificate to see whether it
         * is a fork (two certificates) or a lie (an invalid one, an offence). */
        tc_msg m = {.type = TC_MSG_GET_BLOCKS};
        m.get_blocks.from_height = s->height;
        m.get_blocks.count = 1;
        (void)node_send(n, peer, &m);
    }
}

/* The certificate of our block at height (<= tip): from the next block, or the tip's own. */
static int our_commit_at(tc_node *n, uint64_t height, tc_commit *out, tc_hash *hash_out)
{
    tc_block b;
    memset(out, 0, sizeof(*out));
    if (height == tc_chain_height(n->chain)) {
        tc_chain_tip(n->chain, hash_out);
        return tc_commit_copy(out, &n->tip_commit);
    }
    int rc = tc_chain_block_at(n->chain, height + 1, &b);
    if (rc != 0)
        return rc;
    *hash_out = b.header.parent;
    rc = tc_commit_copy(out, &b.header.last_commit);
    tc_block_deinit(&b);
    return rc;
}

void node_chain_on_get_blocks(tc_node *n, tc_peer_id peer, const tc_msg_get_blocks *g)
{
    uint64_t tip = tc_chain_height(n->chain);
    tc_msg m = {.type = TC_MSG_BLOCKS};
    tc_msg_block_entry entries[TC_MSG_BLOCKS_MAX];
    size_t budget = tc_chain_profile(n->chain)->frame_size_max / 2, used = 0;
    m.blocks.entries = entries;
    memset(entries, 0, sizeof(entries));
    for (uint64_t h = g->from_height; h >= 1 && h <= tip && h < g->from_height + g->count; h++) {
        tc_msg_block_entry *e = &entries[m.blocks.entry_count];
        tc_hash hash;
        if (tc_chain_block_at(n->chain, h, &e->block) != 0 ||
            our_commit_at(n, h, &e->commit, &hash) != 0) {
            tc_block_deinit(&e->block);
            break;
        }
        tc_writer w;
        tc_writer_init(&w, NULL, 0);
        tc_block_encode(&w, &e->block);
        tc_commit_encode(&w, &e->commit);
        if (m.blocks.entry_count > 0 && used + w.len > budget) {
            /* Over the frame budget: the rest in the next request (one block always fits:
             * block_size_max leaves room in a frame, msg.h). */
            tc_block_deinit(&e->block);
            tc_commit_deinit(&e->commit);
            break;
        }
        used += w.len;
        m.blocks.entry_count++;
    }
    if (m.blocks.entry_count > 0)
        (void)node_send(n, peer, &m);
    for (uint32_t i = 0; i < m.blocks.entry_count; i++) {
        tc_block_deinit(&entries[i].block);
        tc_commit_deinit(&entries[i].commit);
    }
}

/* Two valid certificates at one height: name every validator that precommitted both blocks in
 * one round — two signed precommits for (height, round) with different blocks are proof of
 * equivocation — and keep that proof as evidence. Precommits in different rounds are not proof
 * on their own (an honest validator may change its lock on a newer proof-of-lock), so they are
 * not named. */
static void forensics(tc_node *n, const tc_commit *ours, const tc_commit *theirs)
{
    if (ours->round != theirs->round)
        return;
    for (uint32_t i = 0; i < ours->sig_count; i++) {
        for (uint32_t k = 0; k < theirs->sig_count; k++) {
            if (ours->sigs[i].validator != theirs->sigs[k].validator)
                continue;
            tc_vote a, b;
            tc_evidence e;
            tc_commit_vote(ours, i, &a);
            tc_commit_vote(theirs, k, &b);
            tc_evidence_from_votes(&e, &a, &b);
            tc_notify note = {.kind = TC_NOTIFY_CULPRIT,
                              .height = ours->height,
                              .round = ours->round,
                              .validator = a.validator};
            node_notify(n, &note);
            node_add_evidence(n, &e, true);
        }
    }
}

static void check_fork(tc_node *n, const tc_msg_block_entry *e, const tc_hash *theirs)
{
    tc_commit ours;
    tc_hash our_hash;
    uint64_t h = e->block.header.height;
    if (our_commit_at(n, h, &ours, &our_hash) != 0)
        return;
    if (memcmp(our_hash.b, theirs->b, TC_HASH_SIZE) != 0) {
        raise_fork(n, h, &our_hash, theirs, TC_EBLK_COMMIT);
        forensics(n, &ours, &e->commit);
    }
    tc_commit_deinit(&ours);
}

/* Checks entry's certificate; 0, or TC_EBLK_COMMIT (an offence of the sender). */
static int verify_entry(tc_node *n, const tc_msg_block_entry *e, tc_hash *hash_out)
{
    const tc_vset *vs;
    uint64_t h = e->block.header.height;
    tc_block_hash(&e->block.header, hash_out);
    if (h == 0 || h > tc_chain_height(n->chain) + 1)
        return TC_ERANGE; /* beyond what we can check: the set of its epoch is not known */
    int rc = tc_chain_vset(n->chain, tc_chain_epoch_of(n->chain, h), &vs);
    if (rc != 0)
        return rc;
    return tc_commit_verify(&e->commit, vs, &n->verifier, h, hash_out);
}

void node_chain_on_blocks(tc_node *n, tc_peer_id peer, tc_msg_blocks *b)
{
    for (uint32_t i = 0; i < b->entry_count && !n->failed; i++) {
        tc_msg_block_entry *e = &b->entries[i];
        tc_hash hash;
        int rc = verify_entry(n, e, &hash);
        if (rc == TC_EBLK_COMMIT) {
            node_offence(n, peer, TC_PEER_OFFENCE_INVALID);
            break;
        }
        if (rc != 0)
            break;
        if (e->block.header.height <= tc_chain_height(n->chain))
            check_fork(n, e, &hash);
        else if (apply_committed(n, &e->block, &e->commit, true) != 0)
            break;
    }
    if (n->failed)
        return;
    if (n->best_seen_height > tc_chain_height(n->chain) && n->sync_active) {
        sync_request(n, peer);
    } else if (n->sync_active) {
        n->sync_active = false;
        tc_notify note = {.kind = TC_NOTIFY_SYNC, .height = tc_chain_height(n->chain)};
        node_notify(n, &note);
    }
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
        rc = node_txs_check_certs(n, peer, &p->block, p->awaiting, &p->awaiting_count);
    p->pending = rc == TC_ENOTFOUND;
    p->valid = rc == 0;
    if (p->pending)
        return;
    p->from_network = true;
    (void)tc_bft_on_proposal(n->bft, n->now_ms, p->block.header.height, p->round, p->pol_round,
                             &p->hash, p->valid);
}

void node_chain_on_proposal(tc_node *n, tc_peer_id peer, const uint8_t *frame, size_t len,
                            tc_msg_proposal *p)
{
    uint64_t next = tc_chain_height(n->chain) + 1;
    if (p->height > next) {
        if (p->height - 1 > n->best_seen_height)
            n->best_seen_height = p->height - 1;
        if (!n->sync_active)
            sync_request(n, peer);
        return;
    }
    if (p->height < next)
        return;
    int prc = proposal_check(n, p);
    if (prc == TC_EBADSIG || prc == TC_EINVAL)
        node_offence(n, peer,
                     prc == TC_EBADSIG ? TC_PEER_OFFENCE_BAD_SIG : TC_PEER_OFFENCE_INVALID);
    if (prc != 0)
        return;
    tc_hash hash;
    tc_block_hash(&p->block.header, &hash);
    node_proposal *known = proposal_find(n, &hash);
    if (known != NULL) {
        /* The same block again: a re-proposal in a later round (its valid value) is news for
         * bft, which judges proposals by round; the block was judged once already. */
        if (p->round <= known->round)
            return;
        node_relay(n, peer, frame, len);
        known->round = p->round;
        known->pol_round = p->pol_round;
        if (!known->pending)
            (void)tc_bft_on_proposal(n->bft, n->now_ms, p->height, p->round, p->pol_round, &hash,
                                     known->valid);
        return;
    }
    node_relay(n, peer, frame, len);
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

void node_chain_on_batch_arrived(tc_node *n, uint32_t validator, uint64_t seq)
{
    for (int i = 0; i < NODE_PROPOSALS_MAX; i++) {
        node_proposal *p = &n->proposals[i];
        if (!pending_next(n, p))
            continue;
        for (uint32_t k = 0; k < p->awaiting_count; k++) {
            if (p->awaiting[k].validator != validator || p->awaiting[k].seq != seq)
                continue;
            p->awaiting[k] = p->awaiting[--p->awaiting_count];
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
        node_proposal *p = &n->proposals[i];
        if (pending_next(n, p) && n->now_ms >= p->judged_ms + NODE_PENDING_RETRY_MS)
            judge(n, p, p->peer);
    }
}

/* A precommit for a height we committed: if its signer precommitted our block in the same
 * round, the two are proof of equivocation. */
static void check_past_vote(tc_node *n, const tc_vote *v)
{
    tc_commit ours;
    tc_hash our_hash;
    if (v->type != TC_VOTE_PRECOMMIT || tc_vote_is_nil(v) ||
        our_commit_at(n, v->height, &ours, &our_hash) != 0)
        return;
    for (uint32_t i = 0; i < ours.sig_count; i++) {
        if (ours.sigs[i].validator != v->validator || ours.round != v->round ||
            memcmp(our_hash.b, v->block.b, TC_HASH_SIZE) == 0)
            continue;
        tc_vote a;
        tc_evidence e;
        tc_commit_vote(&ours, i, &a);
        tc_evidence_from_votes(&e, &a, v);
        node_add_evidence(n, &e, true);
    }
    tc_commit_deinit(&ours);
}

void node_chain_on_vote(tc_node *n, tc_peer_id peer, const uint8_t *frame, size_t len,
                        const tc_vote *v)
{
    uint64_t tip = tc_chain_height(n->chain);
    const tc_vset *vs;
    if (v->height > tip + 2 || v->height == 0) {
        if (v->height > n->best_seen_height + 1 && v->height > 0)
            n->best_seen_height = v->height - 1;
        return;
    }
    if (tc_chain_vset(n->chain, tc_chain_epoch_of(n->chain, v->height), &vs) != 0)
        return;
    if (v->validator >= vs->count) {
        node_offence(n, peer, TC_PEER_OFFENCE_INVALID);
        return;
    }
    if (tc_vote_verify(v, &n->verifier, &vs->members[v->validator].key) != 0) {
        node_offence(n, peer, TC_PEER_OFFENCE_BAD_SIG);
        return;
    }
    if (v->height <= tip) {
        check_past_vote(n, v);
        return;
    }
    if (tc_bft_on_vote(n->bft, n->now_ms, v) == 0)
        node_relay(n, peer, frame, len);
}

void node_chain_on_evidence(tc_node *n, tc_peer_id peer, const uint8_t *frame, size_t len,
                            const tc_evidence *e)
{
    const tc_vset *vs;
    uint64_t epoch = tc_evidence_epoch(e, tc_chain_profile(n->chain));
    if (e->kind == TC_EVIDENCE_DOUBLE_VOTE && e->a.height > tc_chain_height(n->chain) + 1)
        return;
    if (epoch > tc_chain_epoch_of(n->chain, tc_chain_height(n->chain) + 1) ||
        tc_chain_vset(n->chain, (uint32_t)epoch, &vs) != 0)
        return;
    if (tc_evidence_verify(e, vs, &n->verifier) != 0) {
        node_offence(n, peer, TC_PEER_OFFENCE_INVALID);
        return;
    }
    node_relay(n, peer, frame, len);
    node_add_evidence(n, e, false);
}

/* ---- time ---- */

static bool pick_other_peer(tc_node *n, tc_peer_id *out)
{
    tc_peer_id ids[64];
    uint32_t count = tc_peer_ready_ids(n->peers, ids, TC_ARRAY_LEN(ids));
    if (count > TC_ARRAY_LEN(ids))
        count = TC_ARRAY_LEN(ids);
    if (count == 0)
        return false;
    /* A random ready peer other than the one that let us down (unless it is the only one). */
    uint32_t start = (uint32_t)tc_rng_below(&n->rng, count);
    for (uint32_t k = 0; k < count; k++) {
        tc_peer_id id = ids[(start + k) % count];
        if (id != n->sync_peer || count == 1) {
            *out = id;
            return true;
        }
    }
    return false;
}

void node_chain_tick(tc_node *n)
{
    (void)tc_bft_tick(n->bft, n->now_ms);
    heartbeat_tick(n);
    own_frames_resend(n);
    pending_retry(n);
    if (n->sync_active && n->now_ms >= n->sync_deadline_ms) {
        tc_peer_id other;
        n->sync_active = false;
        if (pick_other_peer(n, &other))
            sync_request(n, other);
    }
    if (n->awaiting_block && n->now_ms >= n->sync_deadline_ms) {
        n->sync_deadline_ms = n->now_ms + NODE_SYNC_TIMEOUT_MS;
        request_block(n, tc_chain_height(n->chain) + 1);
    }
    node_chain_status_tick(n);
}

void node_chain_status_tick(tc_node *n)
{
    if (n->now_ms < n->next_status_ms)
        return;
    n->next_status_ms = n->now_ms + NODE_STATUS_INTERVAL_MS;
    tc_msg m;
    node_status_msg(n, &m);
    (void)node_broadcast(n, &m, false, 0);
}

uint64_t node_chain_next_deadline(const tc_node *n)
{
    uint64_t d = tc_bft_next_deadline(n->bft);
    if ((n->sync_active || n->awaiting_block) && n->sync_deadline_ms < d)
        d = n->sync_deadline_ms;
    if (n->next_status_ms < d)
        d = n->next_status_ms;
    if (n->my_index != UINT32_MAX && n->next_heartbeat_ms < d)
        d = n->next_heartbeat_ms;
    if (n->own_frames[0] != NULL && n->next_resend_ms < d)
        d = n->next_resend_ms;
    for (int i = 0; i < NODE_PROPOSALS_MAX; i++) {
        const node_proposal *p = &n->proposals[i];
        if (pending_next(n, p) && p->judged_ms + NODE_PENDING_RETRY_MS < d)
            d = p->judged_ms + NODE_PENDING_RETRY_MS;
    }
    return d;
}
