/* node_txs.c — transactions and instant finality inside the node: admission of submitted and
 * gossiped transactions (ledger check, pool, vote), vote batches in and out, finality events,
 * certificates for blocks, the bookkeeping when blocks confirm transactions, and the epoch
 * handoff (PROTOCOL 11.8: own handoff, the pool of verified handoffs, the carry list at the
 * change).
 */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "mnreg.h"

/* ---- finality instance and handoff pool ---- */

static void pool_free(tc_node *n)
{
    for (uint32_t i = 0; i < n->txs.handoff_count; i++)
        tc_handoff_deinit(&n->txs.handoffs[i].h);
    free(n->txs.handoffs);
    n->txs.handoffs = NULL;
    n->txs.handoff_count = 0;
}

/* An empty pool for a set of `validators`; the own handoff is due as soon as tip + 1 is the
 * closing height (node_txs_next_deadline). */
static int pool_reset(tc_node *n, uint32_t validators)
{
    pool_free(n);
    n->txs.handoff_next_ms = 0;
    n->txs.handoffs = tc_calloc(validators ? validators : 1, sizeof(*n->txs.handoffs));
    if (n->txs.handoffs == NULL)
        return TC_ENOMEM;
    n->txs.handoff_count = validators;
    return 0;
}

uint32_t node_txs_batch_interval_ms(const tc_profile *p, uint32_t validators)
{
    /* Every validator sends a batch per interval under load and every node receives each one:
     * a fixed interval made each node's vote traffic grow with the validator count. Stretched
     * in steps of NODE_BATCH_VALIDATORS_REF validators, the network's batches per second stay
     * at most NODE_BATCH_VALIDATORS_REF per interval of the profile (1,600/s by default), each
     * batch naming more transactions; finality waits up to one interval longer. */
    uint64_t steps =
        ((uint64_t)validators + NODE_BATCH_VALIDATORS_REF - 1) / NODE_BATCH_VALIDATORS_REF;
    uint64_t ms = (uint64_t)p->vote_batch_interval_ms * (steps > 0 ? steps : 1);
    if (ms > p->regossip_interval_ms)
        ms = p->regossip_interval_ms; /* the profile's own rule: batches leave before re-gossip */
    TC_ASSERT(ms >= p->vote_batch_interval_ms || ms == p->regossip_interval_ms);
    return (uint32_t)ms;
}

static void bodies_start(tc_node *n);

int node_txs_open(tc_node *n)
{
    const tc_vset *vs;
    tc_vset prev = {0};
    bool has_prev = false;
    tc_store_txn *t = NULL;
    tc_hash *carry = NULL;
    uint32_t carry_count = 0;
    /* A node (re)started inside epoch e + 1 keeps e's carried outpoints reserved: the carry
     * list is chain data, so every node restores the same reservations. It also takes e's set
     * (a copy: the chain's cache holds one set at a time), against which the carried
     * transactions' old-epoch certificates are checked (PROTOCOL 11.8). */
    int rc = n->epoch > 0 ? tc_chain_carry_list(n->chain, n->epoch - 1, &carry, &carry_count) : 0;
    if (rc == 0 && carry_count > 0) {
        /* A node that state-synced into this epoch may lack the previous set: it then refuses
         * old-epoch certificates (PROTOCOL 11.8) and does not prevote for a block carrying
         * one; the other validators can still commit it. */
        has_prev = tc_chain_vset(n->chain, n->epoch - 1, &vs) == 0;
        if (has_prev && tc_vset_copy(&prev, vs) != 0) {
            has_prev = false;
            rc = TC_ENOMEM;
        }
    }
    if (rc == 0)
        rc = tc_chain_vset(n->chain, n->epoch, &vs);
    if (rc == 0)
        rc = pool_reset(n, vs->count);
    if (rc != 0) {
        if (has_prev)
            tc_vset_deinit(&prev);
        free(carry);
        return rc;
    }
    /* The key goes in even when this node is no member now: finality works out membership per
     * epoch, and a masternode registered later starts voting at its first epoch. */
    tc_profile fp = *tc_chain_profile(n->chain);
    fp.vote_batch_interval_ms = node_txs_batch_interval_ms(&fp, vs->count);
    tc_finality_config cfg = {.profile = &fp,
                              .verifier = &n->verifier,
                              .vset = vs,
                              .key = &n->key,
                              .carry = carry,
                              .carry_count = carry_count,
                              .prev_vset = has_prev ? &prev : NULL};
    tc_finality_limits_default(cfg.profile, &cfg.limits);
    /* Read-write: recovery may finalize recovered votes and drop stale own-vote records. */
    rc = tc_store_begin(n->store, true, &t);
    if (rc == 0)
        rc = tc_finality_new(&cfg, t, n->now_ms, &n->txs.fin);
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    free(carry);
    if (has_prev)
        tc_vset_deinit(&prev);
    if (rc == 0) {
        n->my_index = tc_finality_validator(n->txs.fin);
        bodies_start(n); /* carried bodies a restart (or a rebuild) left unknown */
    }
    return rc;
}

void node_txs_close(tc_node *n)
{
    tc_finality_free(n->txs.fin);
    n->txs.fin = NULL;
    pool_free(n);
    for (uint32_t i = 0; i < NODE_RIVAL_TXS_MAX; i++)
        tc_tx_deinit(&n->txs.rivals[i]);
    n->txs.rival_next = 0;
}

/* A finality call failed after writing into an aborted transaction: finality is ahead of the
 * store (finality.h, durability contract). Short of memory (or refused for a reason of its own),
 * finality is rebuilt from the store, as after a crash, and the node goes on; a store that
 * failed or was found corrupt (or a rebuild that fails) stops the node with the failure's kind
 * (node.h): it is rebuilt by a restart on the repaired store. */
static void reload(tc_node *n, int code, const char *cause)
{
    TC_ASSERT(code != 0);
    if (node_fail_local(n, code, cause))
        return;
    node_txs_close(n);
    int rc = node_txs_open(n);
    if (rc != 0)
        node_fail_code(n, rc, "rebuild finality from the store");
    TC_ASSERT(rc != 0 || n->txs.fin != NULL);
}

/* Opens a read-write transaction; a store that refuses one stops the node (node.h). */
static int begin_write(tc_node *n, tc_store_txn **t, const char *cause)
{
    int rc = tc_store_begin(n->store, true, t);
    if (rc != 0)
        node_fail_code(n, rc, cause);
    return rc;
}

static void handoff_tick(tc_node *n);

static void remember_first_seen(tc_node *n, const tc_hash *txid)
{
    node_seen_tx *s = &n->txs.seen[n->txs.seen_next];
    s->txid = *txid;
    s->first_seen_ms = n->now_ms;
    n->txs.seen_next = (n->txs.seen_next + 1) % NODE_SEEN_TX_MAX;
}

static uint64_t latency_of(const tc_node *n, const tc_hash *txid)
{
    /* Newest first: a transaction is final within a few hundred ms of being seen, so the
     * search usually stops after a few dozen entries instead of walking all 8192. */
    for (uint32_t k = 1; k <= NODE_SEEN_TX_MAX; k++) {
        const node_seen_tx *s =
            &n->txs.seen[(n->txs.seen_next + NODE_SEEN_TX_MAX - k) % NODE_SEEN_TX_MAX];
        if (memcmp(s->txid.b, txid->b, TC_HASH_SIZE) == 0)
            return n->now_ms - s->first_seen_ms;
    }
    return 0;
}

/* ---- admission ---- */

static void reject_notify(tc_node *n, const tc_hash *txid, int code)
{
    tc_notify note = {.kind = TC_NOTIFY_TX_REJECTED, .hash = *txid, .code = code};
    node_notify(n, &note);
}

static void rival_remember(tc_node *n, const tc_tx *tx)
{
    TC_ASSERT(n->txs.rival_next < NODE_RIVAL_TXS_MAX);
    tc_tx *slot = &n->txs.rivals[n->txs.rival_next];
    tc_tx_deinit(slot);
    if (tc_tx_copy(slot, tx) != 0)
        return; /* out of memory: the slot stays empty and the event only notifies */
    n->txs.rival_next = (n->txs.rival_next + 1) % NODE_RIVAL_TXS_MAX;
}

/* The body of txid from the pool or the rival ring; NULL if this node holds none. Valid until
 * the pool or the ring changes. */
static const tc_tx *body_find(const tc_node *n, const tc_hash *txid)
{
    tc_mempool_item it;
    if (tc_mempool_get(n->pool, txid, &it) == 0)
        return it.tx;
    for (uint32_t i = 0; i < NODE_RIVAL_TXS_MAX; i++) {
        tc_hash h;
        if (n->txs.rivals[i].version == 0)
            continue; /* empty slot */
        tc_tx_id(&n->txs.rivals[i], &h);
        if (memcmp(h.b, txid->b, TC_HASH_SIZE) == 0)
            return &n->txs.rivals[i];
    }
    return NULL;
}

/* A transaction final here whose body sits in the rival ring (this node pooled a rival first
 * and refused it): the rival can no longer be final, so the pool swaps it for the final one,
 * which this node's blocks can then confirm (a proposer picks from its pool, PROTOCOL 12.7).
 * Without it, a transaction final only here, at the end of an epoch, was never proposed: in the
 * next epoch nobody votes for it, so only this node holds its (old-epoch) certificate. */
static void pool_take_final(tc_node *n, const tc_hash *txid)
{
    const tc_tx *tx = tc_mempool_contains(n->pool, txid) ? NULL : body_find(n, txid);
    tc_store_txn *t = NULL;
    if (tx == NULL || tc_store_begin(n->store, false, &t) != 0)
        return;
    uint64_t fee = 0;
    int rc = tc_ledger_check_tx(tc_chain_profile(n->chain), &n->verifier, t, tx, txid,
                                TC_LEDGER_CONFIRM, &fee);
    tc_store_abort(t);
    if (rc != 0)
        return;
    for (uint32_t i = 0; i < tx->input_count; i++) {
        tc_hash other;
        if (tc_mempool_spender(n->pool, &tx->inputs[i].prev, &other) == 0)
            (void)tc_mempool_remove(n->pool, &other);
    }
    (void)tc_mempool_add(n->pool, tx, txid, fee, TC_MEMPOOL_PEER_LOCAL, NULL);
}

/* Ledger check in vote mode, the pool, then this validator's vote (durable locks) — all in one
 * store transaction, committed before anything it protects can be sent. */
static int admit(tc_node *n, tc_store_txn *t, const tc_tx *tx, const tc_hash *txid,
                 uint32_t peer_for_pool)
{
    uint64_t fee = 0;
    tc_finality_vote_result vr;
    const tc_profile *p = tc_chain_profile(n->chain);
    int rc = tc_ledger_check_tx(p, &n->verifier, t, tx, txid, TC_LEDGER_VOTE, &fee);
    if (rc == TC_ETX_LOCKED &&
        tc_ledger_check_tx(p, &n->verifier, t, tx, txid, TC_LEDGER_CONFIRM, NULL) == 0) {
        /* Valid, but its inputs are locked to a rival in our view: we never vote for it, yet
         * track it, so a quorum of others' votes can still make it final here. A full table
         * only leaves it untracked; memory or the store leave finality ahead of t. */
        int arc = tc_finality_add_tx(n->txs.fin, t, n->now_ms, tx, txid);
        if (arc != 0 && arc != TC_EFULL)
            return arc;
        rival_remember(n, tx);
        return rc;
    }
    if (rc == 0)
        rc = tc_mempool_add(n->pool, tx, txid, fee, peer_for_pool, NULL);
    if (rc != 0)
        return rc;
    rc = tc_finality_vote_tx(n->txs.fin, t, n->now_ms, tx, txid, &vr);
    if (rc == 0 &&
        (vr == TC_FINALITY_VOTED || vr == TC_FINALITY_VOTED_BEFORE || vr == TC_FINALITY_FINAL))
        (void)tc_mempool_mark_voted(n->pool, txid);
    if (rc != 0)
        (void)tc_mempool_remove(n->pool, txid);
    return rc;
}

bool node_txs_known(void *ctx, const tc_tx *tx, tc_hash *txid_out)
{
    const tc_node *n = ctx;
    tc_mempool_item it;
    tc_hash txid;
    /* Every pooled transaction has inputs, and the pool spends an outpoint at most once. */
    if (tx->input_count == 0 || tc_mempool_spender(n->pool, &tx->inputs[0].prev, &txid) != 0 ||
        tc_mempool_get(n->pool, &txid, &it) != 0 || !tc_tx_equal(it.tx, tx))
        return false;
    *txid_out = txid;
    return true;
}

/* Whether finality may have changed in an admission that returned rc: it did for 0 and
 * TC_ETX_LOCKED (then t is committed), and it may have for memory and store codes (the
 * voting or tracking call's own failures, finality.h: abort t and rebuild). A rule's code
 * (the ledger's, the pool's) comes before finality is called. */
static bool finality_touched(int rc)
{
    return rc == 0 || rc == TC_ETX_LOCKED || node_failure_kind_of(rc) != TC_NODE_FAIL_NONE;
}

int node_txs_submit(tc_node *n, const tc_tx *tx, bool from_peer, tc_peer_id peer)
{
    tc_hash txid;
    tc_tx_id(tx, &txid);
    return node_txs_submit_id(n, tx, &txid, from_peer, peer);
}

int node_txs_submit_id(tc_node *n, const tc_tx *tx, const tc_hash *id, bool from_peer,
                       tc_peer_id peer)
{
    const tc_hash txid = *id;
    tc_store_txn *t = NULL;
    if (tc_mempool_contains(n->pool, &txid))
        return TC_EMP_DUPLICATE;
    int rc = begin_write(n, &t, "admit a transaction");
    if (rc != 0)
        return rc;
    rc = admit(n, t, tx, &txid, from_peer ? peer : TC_MEMPOOL_PEER_LOCAL);
    bool touched = finality_touched(rc);
    if (rc == 0 || rc == TC_ETX_LOCKED) {
        int crc = tc_store_commit(t);
        rc = crc != 0 ? crc : rc;
    } else {
        tc_store_abort(t);
    }
    if (rc != 0 && rc != TC_ETX_LOCKED && touched) {
        (void)tc_mempool_remove(n->pool, &txid); /* the pool must not hold what t lost */
        reload(n, rc, "admit a transaction");
    }
    if (rc == 0) {
        remember_first_seen(n, &txid);
    } else {
        if (from_peer && rc == TC_ETX_BAD_SIG)
            node_offence(n, peer, TC_PEER_OFFENCE_BAD_SIG);
        if (!from_peer)
            reject_notify(n, &txid, rc);
    }
    return rc;
}

/* ---- vote batches ---- */

static void batch_view(const tc_msg_vote_batch *mb, tc_vote_batch *b)
{
    /* The same fields: a view, no copy (the txids stay the message's). */
    b->epoch = mb->epoch;
    b->validator = mb->validator;
    b->seq = mb->seq;
    b->txid_count = mb->txid_count;
    b->txids = mb->txids;
    b->sig = mb->sig;
}

/* b, whose signature finality checked, and the stored batch under its (validator, seq) differ:
 * batch-equivocation evidence (block.h kind 3) for the next block and the peers. Built once
 * per culprit while one is pending: an equivocator may do it with every batch, and each proof
 * is two batches of up to 512 txids. Finality's EQUIVOCATION event is then not notified again
 * (on_event). */
static void batch_evidence(tc_node *n, const tc_vote_batch *b)
{
    const tc_vote_batch *stored = NULL;
    if (node_evidence_against(n, b->validator, b->epoch) ||
        tc_finality_batch_get(n->txs.fin, b->validator, b->seq, &stored) != 0)
        return;
    tc_evidence ev;
    if (tc_evidence_from_batches(&ev, stored, b) != 0)
        return; /* the same content (a duplicate), or out of memory: the event still notifies */
    node_evidence_add(n, &ev, true);
    tc_evidence_deinit(&ev);
}

node_verdict node_txs_on_batch(tc_node *n, tc_peer_id peer, const tc_msg_vote_batch *mb,
                               const tc_hash *sign_hash)
{
    tc_vote_batch b;
    tc_store_txn *t = NULL;
    batch_view(mb, &b);
    int rc = begin_write(n, &t, "take a vote batch");
    if (rc != 0)
        return NODE_DROP;
    rc = sign_hash != NULL ? tc_finality_on_batch_signed(n->txs.fin, t, n->now_ms, &b, sign_hash)
                           : tc_finality_on_batch(n->txs.fin, t, n->now_ms, &b);
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    /* The batch's own faults (finality.h) leave finality unchanged; memory and the store may
     * have left it ahead of the aborted transaction. */
    if (node_failure_kind_of(rc) != TC_NODE_FAIL_NONE)
        reload(n, rc, "take a vote batch");
    if (rc == TC_EBADSIG)
        node_offence(n, peer, TC_PEER_OFFENCE_BAD_SIG);
    /* TC_EEXIST is a duplicate (same sign hash, not checked again) or an equivocation (other
     * content under a verified signature); tc_evidence_from_batches tells them apart. */
    if (rc == TC_EEXIST && n->txs.fin != NULL)
        batch_evidence(n, &b);
    return rc == 0 ? NODE_NEWS : NODE_DROP;
}

static void send_batch(tc_node *n, bool broadcast, tc_peer_id peer, const tc_vote_batch *b)
{
    tc_msg m = {.type = TC_MSG_VOTE_BATCH};
    m.vote_batch.epoch = b->epoch;
    m.vote_batch.validator = b->validator;
    m.vote_batch.seq = b->seq;
    m.vote_batch.txid_count = b->txid_count;
    m.vote_batch.txids = b->txids;
    m.vote_batch.sig = b->sig;
    if (broadcast)
        (void)node_broadcast(n, &m, false, 0);
    else
        (void)node_send(n, peer, &m);
}

void node_txs_on_get_batches(tc_node *n, tc_peer_id peer, const tc_msg_get_vote_batches *g)
{
    for (uint32_t i = 0; i < g->ref_count; i++) {
        const tc_vote_batch *b;
        if (tc_finality_batch_get(n->txs.fin, g->refs[i].validator, g->refs[i].seq, &b) == 0)
            send_batch(n, false, peer, b);
        /* A reference names no epoch: a carried transaction's old-epoch certificate names a
         * batch of the previous one (PROTOCOL 11.8), maybe under the same (index, seq). */
        if (tc_finality_prev_batch_get(n->txs.fin, g->refs[i].validator, g->refs[i].seq, &b) == 0)
            send_batch(n, false, peer, b);
    }
}

static void bodies_tick(tc_node *n);

void node_txs_tick(tc_node *n)
{
    tc_store_txn *t = NULL;
    handoff_tick(n);
    bodies_tick(n);
    if (n->fail.failed || tc_finality_next_deadline(n->txs.fin) > n->now_ms)
        return;
    int rc = begin_write(n, &t, "finality's timers");
    if (rc != 0)
        return;
    rc = tc_finality_tick(n->txs.fin, t, n->now_ms);
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    if (rc != 0)
        reload(n, rc, "finality's timers");
}

static void regossip_tx(tc_node *n, const tc_hash *txid)
{
    tc_mempool_item item;
    if (tc_mempool_get(n->pool, txid, &item) != 0)
        return;
    tc_msg m = {.type = TC_MSG_TX};
    m.tx = *item.tx;
    (void)node_broadcast(n, &m, false, 0);
}

/* A new epoch: check a pending transaction again in vote mode and vote for it. */
static void revote(tc_node *n, const tc_hash *txid)
{
    tc_mempool_item item;
    tc_store_txn *t = NULL;
    tc_finality_vote_result vr;
    if (n->fail.failed || tc_mempool_get(n->pool, txid, &item) != 0 ||
        begin_write(n, &t, "vote again in a new epoch") != 0)
        return;
    int rc = tc_ledger_check_tx(tc_chain_profile(n->chain), &n->verifier, t, item.tx, txid,
                                TC_LEDGER_VOTE, NULL);
    /* A refused vote (TC_ETX_LOCKED: a rival is carried too; TC_EFULL) leaves finality and t
     * unchanged (finality.h); only a vote cast, or memory and store codes, can leave finality
     * ahead of an aborted t. Rebuilding it after a refusal, as this once did, threw away at
     * every epoch change with a carried pair what only memory holds: which transactions are
     * final here, the old-epoch certificates, and the rest of the revote pass (PROTOCOL 18.2,
     * scenarios/lossy-epochs.scn). */
    bool voted = false;
    if (rc == 0) {
        rc = tc_finality_vote_tx(n->txs.fin, t, n->now_ms, item.tx, txid, &vr);
        voted = rc == 0;
    }
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    if (rc != 0 && (voted || node_failure_kind_of(rc) != TC_NODE_FAIL_NONE))
        reload(n, rc, "vote again in a new epoch");
}

/* Turns a lock equivocation into double-lock evidence (block.h) for the next block and the
 * peers. TC_ENOTFOUND when a batch or a body is gone, or the codes of tc_evidence_from_locks. */
static int lock_evidence(tc_node *n, const tc_finality_event *e)
{
    const tc_vote_batch *ba = NULL;
    const tc_vote_batch *bb = NULL;
    const tc_tx *ta = body_find(n, &e->txid);
    const tc_tx *tb = body_find(n, &e->txid2);
    if (ta == NULL || tb == NULL)
        return TC_ENOTFOUND;
    if (tc_finality_batch_get(n->txs.fin, e->validator, e->seq, &ba) != 0 ||
        tc_finality_batch_get(n->txs.fin, e->validator, e->seq2, &bb) != 0)
        return TC_ENOTFOUND;
    tc_evidence ev;
    int rc = tc_evidence_from_locks(&ev, ba, ta, bb, tb);
    if (rc != 0)
        return rc;
    node_evidence_add(n, &ev, true);
    tc_evidence_deinit(&ev);
    return 0;
}

static void on_event(tc_node *n, const tc_finality_event *e)
{
    tc_notify note = {0};
    switch (e->kind) {
    case TC_FINALITY_EV_BATCH:
    case TC_FINALITY_EV_REGOSSIP_BATCH:
        /* Each validator re-announces only its own batches: every live signer covers its
         * own, and relaying everybody's every pass multiplies the traffic by the validator
         * count, enough to trip honest peers' rate limits after a partition heals. */
        if (e->batch->validator == n->my_index)
            send_batch(n, true, 0, e->batch);
        break;
    case TC_FINALITY_EV_FINALIZED:
        pool_take_final(n, &e->txid);
        n->txs.finalized++;
        note = (tc_notify){
            .kind = TC_NOTIFY_TX_FINALIZED, .hash = e->txid, .latency_ms = latency_of(n, &e->txid)};
        node_notify(n, &note);
        break;
    case TC_FINALITY_EV_EQUIVOCATION: /* one seq signed twice: hash2 is the other's */
        if (node_evidence_against(n, e->validator, tc_finality_epoch(n->txs.fin)))
            break; /* proven (batch_evidence) and notified by node_evidence_add */
        note =
            (tc_notify){.kind = TC_NOTIFY_EVIDENCE, .validator = e->validator, .hash2 = e->hash2};
        if (e->batch != NULL)
            tc_vote_batch_sign_hash(e->batch, &note.hash);
        node_notify(n, &note);
        break;
    case TC_FINALITY_EV_LOCK_EQUIVOCATION: /* two txids on one outpoint */
        if (lock_evidence(n, e) == 0)
            break; /* pending and gossiped; node_evidence_add notified it */
        note = (tc_notify){.kind = TC_NOTIFY_EVIDENCE,
                           .validator = e->validator,
                           .hash = e->txid,
                           .hash2 = e->txid2};
        node_notify(n, &note);
        break;
    case TC_FINALITY_EV_CONFLICT:
        note = (tc_notify){
            .kind = TC_NOTIFY_FORK, .hash = e->txid, .hash2 = e->txid2, .code = TC_ETX_LOCKED};
        node_notify(n, &note);
        break;
    case TC_FINALITY_EV_REGOSSIP_TX:
        regossip_tx(n, &e->txid);
        break;
    case TC_FINALITY_EV_REVOTE:
        revote(n, &e->txid);
        break;
    }
}

/* Whether finality's queued events may be acted on: not when a rebuild failed (there is no
 * finality), nor after a store, memory or corruption failure, when finality may be ahead of the
 * store (finality.h, durability contract) and an own batch could leave before its locks and seq
 * are durable. A fork alarm leaves finality consistent with the store. */
static bool events_trusted(const tc_node *n)
{
    return n->txs.fin != NULL && (!n->fail.failed || n->fail.kind == TC_NODE_FAIL_FORK);
}

void node_txs_drain(tc_node *n)
{
    tc_finality_event e;
    /* An event's handler may rebuild finality (reload) or fail the node: checked every time. */
    while (events_trusted(n) && tc_finality_next_event(n->txs.fin, &e))
        on_event(n, &e);
}

/* ---- blocks ---- */

int node_txs_collect(tc_node *n, uint32_t max_count, tc_tx **txs_out, tc_fincert **certs_out,
                     uint32_t *count_out)
{
    uint32_t cap = tc_mempool_count(n->pool), count = 0;
    if (cap > max_count)
        cap = max_count;
    tc_tx *txs = tc_calloc(cap ? cap : 1, sizeof(*txs));
    tc_fincert *certs = tc_calloc(cap ? cap : 1, sizeof(*certs));
    if (txs == NULL || certs == NULL) {
        free(txs);
        free(certs);
        return TC_ENOMEM;
    }
    tc_mempool_iter it;
    tc_mempool_item item;
    tc_mempool_iter_init(n->pool, &it);
    while (count < cap && tc_mempool_iter_next(n->pool, &it, &item)) {
        if (!tc_finality_is_final(n->txs.fin, &item.txid))
            continue; /* PROTOCOL 12.7: only transactions final in the proposer's view */
        if (tc_finality_cert_build(n->txs.fin, &item.txid, &certs[count]) != 0)
            continue;
        txs[count++] = *item.tx; /* shallow: the pool owns it until the block is applied */
    }
    *txs_out = txs;
    *certs_out = certs;
    *count_out = count;
    return 0;
}

/* The txid of b's transaction i: from the chain's (tc_chain_txids_of) when it has them. */
static void block_txid(const tc_hash *ids, const tc_block *b, uint32_t i, tc_hash *out)
{
    if (ids != NULL)
        *out = ids[i];
    else
        tc_tx_id(&b->txs[i].tx, out);
}

/* GET_VOTE_BATCHES one judgement may send: a proposal at 128 validators under load names a few
 * thousand batches, of which a node two hops from the proposer missed hundreds. */
#define FETCH_REQUESTS_MAX 4
#define FETCH_REFS_MAX     (FETCH_REQUESTS_MAX * TC_MSG_BATCH_REFS_MAX)

/* The distinct missing references of a judgement. One batch names several of a block's
 * transactions, so their certificates share references: listed once per transaction, they
 * filled a request with copies, and the held proposal, which waits until every reference it
 * asked for has arrived, waited for the copies in vain until its 500 ms retry. At 128
 * validators and 100 tx/s, 47 of 128 nodes were still waiting at the propose timeout and
 * prevoted nil: no block. An open-addressed set of twice the capacity. */
typedef struct {
    uint32_t count;
    tc_batch_ref refs[FETCH_REFS_MAX];
    uint16_t slot[2 * FETCH_REFS_MAX]; /* 1 + position in refs; 0: empty */
} ref_set;
_Static_assert(FETCH_REFS_MAX < UINT16_MAX, "a slot holds a position");

static void ref_set_add(ref_set *r, const tc_batch_ref *x)
{
    uint64_t h = (x->seq * 0x9e3779b97f4a7c15u) ^ ((uint64_t)x->validator * 0xc2b2ae3d27d4eb4fu);
    uint32_t i = (uint32_t)(h >> 40) % TC_ARRAY_LEN(r->slot);
    while (r->slot[i] != 0) {
        const tc_batch_ref *y = &r->refs[r->slot[i] - 1];
        if (y->validator == x->validator && y->seq == x->seq)
            return;
        i = (i + 1) % TC_ARRAY_LEN(r->slot);
    }
    TC_ASSERT(r->count < FETCH_REFS_MAX);
    r->refs[r->count++] = *x;
    r->slot[i] = (uint16_t)r->count;
}

/* Asks peer for every reference of set, TC_MSG_BATCH_REFS_MAX a message, and hands the last
 * message's references to the caller to wait for: the peer answers in order, so by the time
 * they have all arrived the earlier ones have too (what a lossy link loses is asked again at
 * the retry). */
static void fetch_refs(tc_node *n, tc_peer_id peer, const ref_set *set, tc_batch_ref *asked,
                       uint32_t *asked_count)
{
    tc_msg req = {.type = TC_MSG_GET_VOTE_BATCHES};
    for (uint32_t at = 0; at < set->count; at += TC_MSG_BATCH_REFS_MAX) {
        uint32_t k =
            set->count - at < TC_MSG_BATCH_REFS_MAX ? set->count - at : TC_MSG_BATCH_REFS_MAX;
        req.get_vote_batches.ref_count = k;
        memcpy(req.get_vote_batches.refs, &set->refs[at], k * sizeof(*asked));
        (void)node_send(n, peer, &req);
        memcpy(asked, &set->refs[at], k * sizeof(*asked));
        *asked_count = k;
    }
}

int node_txs_check_certs(tc_node *n, tc_peer_id peer, const tc_block *b, tc_batch_ref *asked,
                         uint32_t *asked_count)
{
    ref_set *set = tc_malloc(sizeof(*set));
    if (set == NULL)
        return TC_ENOMEM; /* no verdict: judged again later */
    memset(set->slot, 0, sizeof(set->slot));
    set->count = 0;
    tc_batch_ref missing[TC_MSG_BATCH_REFS_MAX];
    bool missing_any = false;
    int rc = 0;
    *asked_count = 0;
    const tc_hash *ids = tc_chain_txids_of(n->chain, b); /* hashed when it was judged */
    for (uint32_t i = 0; i < b->tx_count && rc == 0; i++) {
        tc_hash txid;
        uint32_t count = 0, room = FETCH_REFS_MAX - set->count;
        if (room > TC_MSG_BATCH_REFS_MAX)
            room = TC_MSG_BATCH_REFS_MAX;
        block_txid(ids, b, i, &txid);
        rc = tc_finality_cert_check(n->txs.fin, &txid, &b->txs[i].cert, missing, room, &count);
        if (rc == TC_ENOTFOUND) {
            missing_any = true;
            for (uint32_t k = 0; k < count && k < room; k++)
                ref_set_add(set, &missing[k]);
            rc = 0;
        } else if (rc != 0 && rc != TC_ENOMEM) {
            rc = TC_EBLK_CERT;
        }
    }
    if (rc == 0 && missing_any) {
        fetch_refs(n, peer, set, asked, asked_count);
        rc = TC_ENOTFOUND;
    }
    free(set);
    return rc;
}

/* ---- carried bodies (PROTOCOL 11.8 step 8) ---- */

void node_txs_bodies_hint(tc_node *n, bool has, tc_peer_id peer)
{
    n->txs.bodies.has_hint = has;
    n->txs.bodies.hint = peer;
}

/* Starts (or restarts, at each epoch change) the fetch of the carried bodies finality misses;
 * the first attempt goes out at the next tick, to the peer whose BLOCKS brought the change
 * when there is one. */
static void bodies_start(tc_node *n)
{
    node_bodies *b = &n->txs.bodies;
    b->active = tc_finality_carried_missing(n->txs.fin, NULL, 0) > 0;
    b->asked = false;
    b->asked_count = 0;
    b->tries = 0;
    b->progress = false;
    b->first_valid = b->has_hint;
    b->first = b->hint;
    b->deadline_ms = n->now_ms;
}

/* The peer of the next attempt: the hinted one first if it is ready, then the ready peers in
 * turn. False if no peer is ready. */
static bool bodies_pick(tc_node *n, tc_peer_id *out)
{
    node_bodies *b = &n->txs.bodies;
    tc_peer_id ids[64];
    uint32_t count = tc_peer_ready_ids(n->peers, ids, TC_ARRAY_LEN(ids));
    if (count > TC_ARRAY_LEN(ids))
        count = TC_ARRAY_LEN(ids);
    bool first = b->first_valid;
    b->first_valid = false;
    for (uint32_t i = 0; first && i < count; i++) {
        if (ids[i] == b->first) {
            *out = ids[i];
            return true;
        }
    }
    if (count == 0)
        return false;
    *out = ids[b->turn++ % count];
    return true;
}

/* Asks the next peer for what is still missing, or ends the fetch: every body known, or
 * NODE_BODIES_TRIES attempts brought nothing (then finality stops waiting: a Byzantine handoff
 * may name txids nobody holds, and honest validators must not wait for them for good). */
static void bodies_attempt(tc_node *n)
{
    node_bodies *b = &n->txs.bodies;
    uint32_t missing = tc_finality_carried_missing(n->txs.fin, b->asked_txids, TC_MSG_GET_TXS_MAX);
    b->asked = false;
    b->progress = false;
    b->asked_count = missing < TC_MSG_GET_TXS_MAX ? missing : TC_MSG_GET_TXS_MAX;
    if (missing == 0 || b->tries >= NODE_BODIES_TRIES) {
        if (missing > 0)
            tc_finality_bodies_give_up(n->txs.fin);
        b->active = false;
        b->asked_count = 0;
        return;
    }
    b->deadline_ms = n->now_ms + NODE_BODIES_TIMEOUT_MS;
    if (!bodies_pick(n, &b->peer)) {
        b->tries++; /* nobody to ask: try again at the deadline */
        return;
    }
    tc_msg m = {.type = TC_MSG_GET_TXS};
    m.get_txs.count = b->asked_count;
    m.get_txs.txids = b->asked_txids; /* lent */
    (void)node_send(n, b->peer, &m);
    b->asked = true;
}

static void bodies_tick(tc_node *n)
{
    node_bodies *b = &n->txs.bodies;
    if (!b->active || n->fail.failed || n->now_ms < b->deadline_ms)
        return;
    if (b->asked && !b->progress)
        b->tries++; /* the peer did not answer in time, or answered nothing */
    bodies_attempt(n);
}

static bool bodies_asked(const node_bodies *b, const tc_hash *txid)
{
    for (uint32_t i = 0; i < b->asked_count; i++)
        if (memcmp(b->asked_txids[i].b, txid->b, TC_HASH_SIZE) == 0)
            return true;
    return false;
}

/* Pools a fetched carried body, from which this node re-gossips, revotes and proposes it. A
 * pooled rival that is not final and not carried itself gives way (nobody who knows the carried
 * one votes for it; it goes to the rival ring, for a double lock's proof); a carried rival
 * stays, since this node may be the only one holding its body, which another node's fetch may
 * need (PROTOCOL 11.8: neither of two conflicting carried transactions is voted for). */
static void pool_take_carried(tc_node *n, const tc_tx *tx, const tc_hash *txid, uint64_t fee)
{
    for (int pass = 0; pass < 2; pass++) { /* check every rival first, then remove them */
        for (uint32_t i = 0; i < tx->input_count; i++) {
            tc_hash other;
            tc_mempool_item it;
            if (tc_mempool_spender(n->pool, &tx->inputs[i].prev, &other) != 0 ||
                memcmp(other.b, txid->b, TC_HASH_SIZE) == 0)
                continue;
            if (tc_finality_is_final(n->txs.fin, &other) ||
                tc_finality_is_carried(n->txs.fin, &other) ||
                tc_mempool_get(n->pool, &other, &it) != 0)
                return;
            if (pass == 1) {
                rival_remember(n, it.tx);
                (void)tc_mempool_remove(n->pool, &other);
            }
        }
    }
    if (!tc_mempool_contains(n->pool, txid))
        (void)tc_mempool_add(n->pool, tx, txid, fee, TC_MEMPOOL_PEER_LOCAL, NULL);
}

/* A body whose txid the fetch asked for: finality learns its inputs (its outpoints are reserved
 * from now on). A valid one is also pooled. A body with a bad signature (the txid leaves
 * signatures out, so a liar can keep it) or a bad form is the peer's offence; one whose inputs are
 * gone (a rival was confirmed) is still recorded, so the fetch stops asking for it. True when
 * finality took it. */
static bool body_take(tc_node *n, tc_peer_id peer, const tc_tx *tx, const tc_hash *txid)
{
    const tc_profile *p = tc_chain_profile(n->chain);
    if (tc_tx_check_form(tx, p) != 0) {
        node_offence(n, peer, TC_PEER_OFFENCE_INVALID);
        return false;
    }
    tc_store_txn *t = NULL;
    if (begin_write(n, &t, "take a carried body") != 0)
        return false;
    uint64_t fee = 0;
    int lrc = tc_ledger_check_tx(p, &n->verifier, t, tx, txid, TC_LEDGER_CONFIRM, &fee);
    int rc = node_failure_kind_of(lrc) != TC_NODE_FAIL_NONE ? lrc : 0;
    if (rc == 0 && lrc == TC_ETX_BAD_SIG) {
        tc_store_abort(t);
        node_offence(n, peer, TC_PEER_OFFENCE_BAD_SIG);
        return false;
    }
    bool touched = rc == 0;
    if (rc == 0)
        rc = tc_finality_add_tx(n->txs.fin, t, n->now_ms, tx, txid);
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    if (rc != 0) {
        if (rc != TC_EFULL && (touched || node_failure_kind_of(rc) != TC_NODE_FAIL_NONE))
            reload(n, rc, "take a carried body");
        return false;
    }
    if (lrc == 0)
        pool_take_carried(n, tx, txid, fee);
    return true;
}

void node_txs_on_txs(tc_node *n, tc_peer_id peer, const tc_msg_txs *m)
{
    node_bodies *b = &n->txs.bodies;
    if (!b->active || !b->asked || peer != b->peer)
        return; /* not the answer the fetch waits for (late, or unasked): dropped */
    for (uint32_t i = 0; i < m->count; i++) {
        tc_hash txid;
        tc_tx_id(&m->txs[i], &txid);
        if (!bodies_asked(b, &txid) && !tc_finality_is_carried(n->txs.fin, &txid)) {
            /* A body that matches no asked txid (nor a carried one, which a late answer to an
             * earlier attempt may hold): the peer lies, or sends garbage. */
            node_offence(n, peer, TC_PEER_OFFENCE_INVALID);
            b->asked = false;
            b->tries++;
            b->deadline_ms = n->now_ms; /* the next peer at the next tick */
            return;
        }
        if (tc_finality_carried_missing(n->txs.fin, NULL, 0) > 0 &&
            body_take(n, peer, &m->txs[i], &txid))
            b->progress = true;
        if (n->fail.failed || n->txs.fin == NULL || !b->asked)
            return;
    }
    if (m->last == 0)
        return;
    if (!b->progress)
        b->tries++;
    bodies_attempt(n); /* what this peer lacks is asked of the next one */
}

/* Sends one TXS frame of count bodies (lent). */
static void send_txs(tc_node *n, tc_peer_id peer, tc_tx *txs, uint32_t count, bool last)
{
    tc_msg m = {.type = TC_MSG_TXS};
    m.txs.last = last ? 1 : 0;
    m.txs.count = count;
    m.txs.txs = count > 0 ? txs : NULL;
    (void)node_send(n, peer, &m);
}

void node_txs_on_get_txs(tc_node *n, tc_peer_id peer, const tc_msg_get_txs *g)
{
    tc_tx *txs = tc_calloc(TC_MSG_TXS_MAX, sizeof(*txs));
    if (txs == NULL)
        return; /* the asker tries another peer at its timeout */
    /* As many frames as the frame budget needs, the last one flagged: the asker moves on to
     * another peer once it has it. */
    size_t budget = tc_chain_profile(n->chain)->frame_size_max, size = TC_MSG_TXS_OVERHEAD;
    uint32_t count = 0;
    for (uint32_t i = 0; i < g->count; i++) {
        const tc_tx *body = body_find(n, &g->txids[i]);
        if (body == NULL)
            continue;
        size_t sz = tc_tx_encoded_size(body);
        if (count > 0 && (count == TC_MSG_TXS_MAX || size + sz > budget)) {
            send_txs(n, peer, txs, count, false);
            count = 0;
            size = TC_MSG_TXS_OVERHEAD;
        }
        txs[count++] = *body; /* shallow: the pool or the ring keeps it meanwhile */
        size += sz;
    }
    send_txs(n, peer, txs, count, true);
    free(txs); /* the bodies were lent */
}

/* ---- epoch handoff (PROTOCOL 11.8) ---- */

static bool closing_next(const tc_node *n)
{
    uint64_t next = tc_chain_height(n->chain) + 1;
    return next == tc_mnreg_epoch_last_height(tc_chain_profile(n->chain), n->epoch);
}

static void send_handoff(tc_node *n, const tc_handoff *h)
{
    tc_msg m = {.type = TC_MSG_HANDOFF};
    m.handoff = *h; /* lent, not owned: never deinit'ed through m */
    (void)node_broadcast(n, &m, false, 0);
}

/* Signs this validator's handoff into out, durable before it can leave (finality.h's contract:
 * "fin/handoff" stops voting in the epoch, even across a crash). */
static int handoff_make(tc_node *n, tc_handoff *out)
{
    tc_store_txn *t = NULL;
    int rc = begin_write(n, &t, "hand off the epoch");
    if (rc != 0)
        return rc;
    rc = tc_finality_handoff(n->txs.fin, t, n->now_ms, out);
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    if (rc != 0) {
        tc_handoff_deinit(out);
        reload(n, rc, "hand off the epoch"); /* frees the pool out lives in */
    }
    return rc;
}

/* Once this validator committed the block before its epoch's closing height, it hands off and
 * broadcasts at once, so the closing block's proposer holds a quorum of handoffs by its build
 * time; then, until the closing block commits, it re-broadcasts every regossip_interval_ms for
 * peers that missed it (lost frames, late connections, restarts). */
static void handoff_tick(tc_node *n)
{
    if (n->fail.failed || n->my_index == UINT32_MAX || !closing_next(n) ||
        n->now_ms < n->txs.handoff_next_ms)
        return;
    TC_ASSERT(n->my_index < n->txs.handoff_count);
    /* Set first: a failing store must not make every tick try again at once. */
    n->txs.handoff_next_ms = n->now_ms + tc_chain_profile(n->chain)->regossip_interval_ms;
    node_handoff *own = &n->txs.handoffs[n->my_index];
    if (!own->used) {
        if (handoff_make(n, &own->h) != 0)
            return;
        own->used = true;
        node_txs_drain(n); /* the epoch's last own batch leaves before the handoff */
    }
    send_handoff(n, &own->h);
}

uint64_t node_txs_next_deadline(const tc_node *n)
{
    uint64_t d = tc_finality_next_deadline(n->txs.fin);
    if (n->txs.bodies.active && n->txs.bodies.deadline_ms < d)
        d = n->txs.bodies.deadline_ms;
    if (n->my_index != UINT32_MAX && closing_next(n) && n->txs.handoff_next_ms < d)
        d = n->txs.handoff_next_ms;
    return d;
}

/* What a handoff must look like before its signature is worth checking. */
static bool handoff_shape_ok(const tc_node *n, const tc_handoff *h, uint32_t validators)
{
    tc_finality_limits lim;
    tc_finality_limits_default(tc_chain_profile(n->chain), &lim);
    if (h->validator >= validators || h->txid_count > lim.tx_max)
        return false;
    for (uint32_t k = 1; k < h->txid_count; k++)
        if (memcmp(h->txids[k - 1].b, h->txids[k].b, TC_HASH_SIZE) >= 0)
            return false;
    return true;
}

/* Two validly signed, different handoffs of one validator for one epoch: an honest validator
 * signs one and re-sends those bytes (finality.h), so this is evidence (block.h kind 4), built
 * once per culprit while one is pending. */
static void handoff_evidence(tc_node *n, const tc_handoff *pooled, const tc_handoff *h)
{
    if (node_evidence_against(n, h->validator, h->epoch))
        return;
    tc_evidence ev;
    if (tc_evidence_from_handoffs(&ev, pooled, h) != 0)
        return; /* out of memory: the culprit goes unproven here; peers prove it too */
    node_evidence_add(n, &ev, true);
    tc_evidence_deinit(&ev);
}

node_verdict node_txs_on_handoff(tc_node *n, tc_peer_id peer, tc_handoff *h)
{
    const tc_vset *vs;
    tc_hash sh;
    if (h->epoch != n->epoch || tc_chain_vset(n->chain, n->epoch, &vs) != 0)
        return NODE_DROP; /* another epoch's: late or early, no offence */
    TC_ASSERT(vs->count == n->txs.handoff_count);
    if (!handoff_shape_ok(n, h, vs->count)) {
        node_offence(n, peer, TC_PEER_OFFENCE_INVALID);
        return NODE_DROP;
    }
    /* Our own slot is filled only by handoff_tick, which is what stops our voting. */
    node_handoff *slot = &n->txs.handoffs[h->validator];
    if (h->validator == n->my_index && !slot->used)
        return NODE_DROP;
    tc_handoff_sign_hash(h, &sh);
    if (slot->used) {
        tc_hash pooled;
        tc_handoff_sign_hash(&slot->h, &pooled);
        if (memcmp(pooled.b, sh.b, TC_HASH_SIZE) == 0)
            return NODE_DROP; /* the pooled one again: its signature was checked */
    }
    if (tc_verify(&n->verifier, &vs->members[h->validator].key, &sh, &h->sig) != 0) {
        node_offence(n, peer, TC_PEER_OFFENCE_BAD_SIG);
        return NODE_DROP;
    }
    if (slot->used) {
        handoff_evidence(n, &slot->h, h);
        return NODE_DROP; /* the first stays pooled; the evidence is gossiped instead */
    }
    n->txs.handoffs[h->validator].h = *h;
    n->txs.handoffs[h->validator].used = true;
    memset(h, 0, sizeof(*h)); /* moved into the pool */
    return NODE_NEWS;
}

int node_txs_block_handoffs(tc_node *n, uint64_t height, tc_handoff **out, uint32_t *count_out)
{
    const tc_vset *vs;
    uint32_t epoch = tc_chain_epoch_of(n->chain, height);
    *out = NULL;
    *count_out = 0;
    if (height != tc_mnreg_epoch_last_height(tc_chain_profile(n->chain), epoch))
        return 0;
    TC_ASSERT(epoch == n->epoch);
    int rc = tc_chain_vset(n->chain, epoch, &vs);
    if (rc != 0)
        return rc;
    TC_ASSERT(vs->count == n->txs.handoff_count);
    tc_handoff *hs = tc_calloc(vs->count ? vs->count : 1, sizeof(*hs));
    if (hs == NULL)
        return TC_ENOMEM;
    /* Q is enough (any Q-weight set holds an honest voter of every final transaction), and
     * stopping there keeps the closing block small. */
    uint64_t weight = 0, quorum = tc_vset_quorum(vs);
    uint32_t k = 0;
    for (uint32_t i = 0; i < vs->count && weight < quorum; i++) {
        if (!n->txs.handoffs[i].used)
            continue;
        hs[k++] = n->txs.handoffs[i].h; /* a view: the pool keeps ownership */
        weight += vs->members[i].weight;
    }
    if (weight < quorum) {
        free(hs);
        return TC_EBLK_HANDOFF; /* not yet: the round times out and handoffs keep arriving */
    }
    *out = hs;
    *count_out = k;
    return 0;
}

/* The epoch of the next height differs from finality's: the closing block of n->epoch was
 * applied. Finality moves on with that block's carry list (chain data, the same on every
 * node): own votes not carried release their locks, carried transactions keep their
 * outpoints reserved, and the handoff pool starts empty for the new set. Codes: the carry
 * list's (it must exist now: a failure is corruption or memory), vset and store codes. */
static int change_epoch(tc_node *n, uint32_t epoch)
{
    const tc_vset *vs;
    tc_store_txn *t = NULL;
    tc_hash *carry = NULL;
    uint32_t carry_count = 0;
    TC_ASSERT(epoch == n->epoch + 1);
    node_txs_drain(n); /* finality.h: events of the old epoch go out before the change */
    int rc = tc_chain_carry_list(n->chain, n->epoch, &carry, &carry_count);
    if (rc == 0)
        rc = tc_chain_vset(n->chain, epoch, &vs);
    if (rc == 0)
        rc = pool_reset(n, vs->count);
    if (rc == 0)
        rc = begin_write(n, &t, "change the epoch");
    if (rc != 0) {
        free(carry);
        return rc;
    }
    rc = tc_finality_epoch_change(n->txs.fin, t, n->now_ms, vs, carry, carry_count);
    if (rc == 0) /* the interval follows the new set's size (PROTOCOL 11.3) */
        rc = tc_finality_set_batch_interval(
            n->txs.fin, n->now_ms,
            node_txs_batch_interval_ms(tc_chain_profile(n->chain), vs->count));
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    free(carry);
    n->epoch = epoch;
    tc_peer_set_validator_count(n->peers, vs->count);
    if (rc != 0)
        reload(n, rc, "change the epoch"); /* node_txs_open starts the fetch */
    else
        bodies_start(n);
    if (!n->fail.failed)
        n->my_index = tc_finality_validator(n->txs.fin);
    return 0;
}

int node_txs_on_block(tc_node *n, const tc_block *b)
{
    tc_store_txn *t = NULL;
    int rc = begin_write(n, &t, "update finality after a block");
    if (rc != 0)
        return rc;
    const tc_hash *ids = tc_chain_txids_of(n->chain, b); /* hashed when it was applied */
    for (uint32_t i = 0; rc == 0 && i < b->tx_count; i++) {
        tc_hash txid;
        block_txid(ids, b, i, &txid);
        tc_mempool_remove_confirmed(n->pool, &b->txs[i].tx, &txid, NULL);
        rc = tc_finality_on_confirmed(n->txs.fin, t, &b->txs[i].tx, &txid);
    }
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    if (rc != 0)
        return rc; /* the caller stops the node: finality is ahead of the aborted t */
    uint32_t epoch = tc_chain_epoch_of(n->chain, tc_chain_height(n->chain) + 1);
    if (epoch != n->epoch)
        rc = change_epoch(n, epoch);
    if (rc == 0)
        handoff_tick(n); /* the next height may close the epoch */
    return rc;
}

void node_txs_assert(const tc_node *n)
{
    /* Finality exists unless a failed rebuild stopped the node (reload). */
    TC_ASSERT(n->txs.fin != NULL || n->fail.failed);
    TC_ASSERT(n->txs.rival_next < NODE_RIVAL_TXS_MAX && n->txs.seen_next < NODE_SEEN_TX_MAX);
    TC_ASSERT(n->txs.handoffs != NULL || n->txs.handoff_count == 0);
    TC_ASSERT(n->my_index == UINT32_MAX || n->my_index < n->txs.handoff_count || n->fail.failed);
}
