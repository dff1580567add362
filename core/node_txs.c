/* node_txs.c — transactions and instant finality inside the node: admission of submitted and
 * gossiped transactions (ledger check, pool, vote), vote batches in and out, finality events,
 * certificates for blocks, and the bookkeeping when blocks confirm transactions.
 */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

#include "ledger.h"

/* ---- finality instance ---- */

int node_txs_open(tc_node *n)
{
    const tc_vset *vs;
    tc_store_txn *t = NULL;
    int rc = tc_chain_vset(n->chain, n->epoch, &vs);
    if (rc != 0)
        return rc;
    /* The key goes in even when this node is no member now: finality works out membership per
     * epoch, and a masternode registered later starts voting at its first epoch. */
    tc_finality_config cfg = {.profile = tc_chain_profile(n->chain),
                              .verifier = &n->verifier,
                              .vset = vs,
                              .key = &n->key};
    tc_finality_limits_default(cfg.profile, &cfg.limits);
    /* Read-write: recovery may finalize recovered votes and drop stale own-vote records. */
    rc = tc_store_begin(n->store, true, &t);
    if (rc == 0)
        rc = tc_finality_new(&cfg, t, n->now_ms, &n->fin);
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    if (rc == 0)
        n->my_index = tc_finality_validator(n->fin);
    return rc;
}

void node_txs_close(tc_node *n)
{
    tc_finality_free(n->fin);
    n->fin = NULL;
}

/* A finality call failed after writing into an aborted transaction: finality is ahead of the
 * store (finality.h, durability contract), so it is rebuilt from the store. */
static void reload(tc_node *n)
{
    node_txs_close(n);
    if (node_txs_open(n) != 0) {
        (void)TC_NEVER(true);
        n->failed = true;
    }
}

static void remember_first_seen(tc_node *n, const tc_hash *txid)
{
    node_seen_tx *s = &n->seen_txs[n->seen_next];
    s->txid = *txid;
    s->first_seen_ms = n->now_ms;
    n->seen_next = (n->seen_next + 1) % NODE_SEEN_TX_MAX;
}

static uint64_t latency_of(const tc_node *n, const tc_hash *txid)
{
    for (uint32_t i = 0; i < NODE_SEEN_TX_MAX; i++)
        if (memcmp(n->seen_txs[i].txid.b, txid->b, TC_HASH_SIZE) == 0)
            return n->now_ms - n->seen_txs[i].first_seen_ms;
    return 0;
}

/* ---- admission ---- */

static void reject_notify(tc_node *n, const tc_hash *txid, int code)
{
    tc_notify note = {.kind = TC_NOTIFY_TX_REJECTED, .hash = *txid, .code = code};
    node_notify(n, &note);
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
         * track it, so a quorum of others' votes can still make it final here. */
        (void)tc_finality_add_tx(n->fin, t, n->now_ms, tx, txid);
        return rc;
    }
    if (rc == 0)
        rc = tc_mempool_add(n->pool, tx, txid, fee, peer_for_pool, NULL);
    if (rc != 0)
        return rc;
    rc = tc_finality_vote_tx(n->fin, t, n->now_ms, tx, txid, &vr);
    if (rc == 0 && (vr == TC_FINALITY_VOTED || vr == TC_FINALITY_VOTED_BEFORE))
        (void)tc_mempool_mark_voted(n->pool, txid);
    if (rc != 0)
        (void)tc_mempool_remove(n->pool, txid);
    return rc;
}

int node_txs_submit(tc_node *n, const tc_tx *tx, bool from_peer, tc_peer_id peer)
{
    tc_hash txid;
    tc_store_txn *t = NULL;
    tc_tx_id(tx, &txid);
    if (tc_mempool_contains(n->pool, &txid))
        return TC_EMP_DUPLICATE;
    int rc = tc_store_begin(n->store, true, &t);
    if (rc != 0)
        return rc;
    rc = admit(n, t, tx, &txid, from_peer ? peer : TC_MEMPOOL_PEER_LOCAL);
    bool finality_touched = rc == 0 || rc == TC_ETX_LOCKED;
    if (rc == 0 || rc == TC_ETX_LOCKED) {
        int crc = tc_store_commit(t);
        rc = crc != 0 ? crc : rc;
    } else {
        tc_store_abort(t);
    }
    if (rc != 0 && rc != TC_ETX_LOCKED && finality_touched)
        reload(n);
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

int node_txs_on_batch(tc_node *n, tc_peer_id peer, const tc_msg_vote_batch *mb)
{
    tc_vote_batch b;
    tc_store_txn *t = NULL;
    batch_view(mb, &b);
    int rc = tc_store_begin(n->store, true, &t);
    if (rc != 0)
        return rc;
    rc = tc_finality_on_batch(n->fin, t, n->now_ms, &b);
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    if (rc == TC_EBADSIG)
        node_offence(n, peer, TC_PEER_OFFENCE_BAD_SIG);
    if (rc == 0)
        node_chain_recheck_pending(n); /* a held proposal may now be judged */
    return rc;
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
        if (tc_finality_batch_get(n->fin, g->refs[i].validator, g->refs[i].seq, &b) == 0)
            send_batch(n, false, peer, b);
    }
}

void node_txs_tick(tc_node *n)
{
    tc_store_txn *t = NULL;
    if (tc_finality_next_deadline(n->fin) > n->now_ms)
        return;
    int rc = tc_store_begin(n->store, true, &t);
    if (rc != 0)
        return;
    rc = tc_finality_tick(n->fin, t, n->now_ms);
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    if (rc != 0)
        reload(n);
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
    if (tc_mempool_get(n->pool, txid, &item) != 0 || tc_store_begin(n->store, true, &t) != 0)
        return;
    int rc = tc_ledger_check_tx(tc_chain_profile(n->chain), &n->verifier, t, item.tx, txid,
                                TC_LEDGER_VOTE, NULL);
    bool touched = rc == 0;
    if (rc == 0)
        rc = tc_finality_vote_tx(n->fin, t, n->now_ms, item.tx, txid, &vr);
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    if (rc != 0 && touched)
        reload(n);
}

static void on_event(tc_node *n, const tc_finality_event *e)
{
    tc_notify note = {0};
    switch (e->kind) {
    case TC_FINALITY_EV_BATCH:
    case TC_FINALITY_EV_REGOSSIP_BATCH:
        send_batch(n, true, 0, e->batch);
        break;
    case TC_FINALITY_EV_FINALIZED:
        n->txs_finalized++;
        note = (tc_notify){
            .kind = TC_NOTIFY_TX_FINALIZED, .hash = e->txid, .latency_ms = latency_of(n, &e->txid)};
        node_notify(n, &note);
        break;
    case TC_FINALITY_EV_EQUIVOCATION: /* one seq signed twice: hash2 is the other's */
        note =
            (tc_notify){.kind = TC_NOTIFY_EVIDENCE, .validator = e->validator, .hash2 = e->hash2};
        if (e->batch != NULL)
            tc_vote_batch_sign_hash(e->batch, &note.hash);
        node_notify(n, &note);
        break;
    case TC_FINALITY_EV_LOCK_EQUIVOCATION: /* two txids on one outpoint */
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

void node_txs_drain(tc_node *n)
{
    tc_finality_event e;
    if (n->fin == NULL)
        return;
    while (tc_finality_next_event(n->fin, &e))
        on_event(n, &e);
}

/* ---- blocks ---- */

int node_txs_collect(tc_node *n, uint32_t max_count, tc_tx **txs_out, tc_fincert **certs_out,
                     uint32_t *count_out)
{
    uint32_t cap = tc_mempool_count(n->pool), count = 0;
    if (cap > max_count)
        cap = max_count;
    tc_tx *txs = calloc(cap ? cap : 1, sizeof(*txs));
    tc_fincert *certs = calloc(cap ? cap : 1, sizeof(*certs));
    if (txs == NULL || certs == NULL) {
        free(txs);
        free(certs);
        return TC_ENOMEM;
    }
    tc_mempool_iter it;
    tc_mempool_item item;
    tc_mempool_iter_init(n->pool, &it);
    while (count < cap && tc_mempool_iter_next(n->pool, &it, &item)) {
        if (!tc_finality_is_final(n->fin, &item.txid))
            continue; /* SPEC 5: only transactions final in the proposer's view */
        if (tc_finality_cert_build(n->fin, &item.txid, &certs[count]) != 0)
            continue;
        txs[count++] = *item.tx; /* shallow: the pool owns it until the block is applied */
    }
    *txs_out = txs;
    *certs_out = certs;
    *count_out = count;
    return 0;
}

int node_txs_check_certs(tc_node *n, tc_peer_id peer, const tc_block *b)
{
    tc_msg req = {.type = TC_MSG_GET_VOTE_BATCHES};
    bool missing_any = false;
    for (uint32_t i = 0; i < b->tx_count; i++) {
        tc_hash txid;
        uint32_t missing = 0, room = TC_MSG_BATCH_REFS_MAX - req.get_vote_batches.ref_count;
        tc_tx_id(&b->txs[i].tx, &txid);
        int rc = tc_finality_cert_check(n->fin, &txid, &b->txs[i].cert,
                                        req.get_vote_batches.refs + req.get_vote_batches.ref_count,
                                        room, &missing);
        if (rc == TC_ENOTFOUND) {
            missing_any = true;
            req.get_vote_batches.ref_count += missing < room ? missing : room;
        } else if (rc != 0) {
            return TC_EBLK_CERT;
        }
    }
    if (!missing_any)
        return 0;
    (void)node_send(n, peer, &req);
    return TC_ENOTFOUND;
}

/* The epoch of the next height differs from finality's. Handoffs are not yet carried in
 * closing blocks (future work), so this node carries what it can vouch for itself: its own
 * unconfirmed votes (its handoff) stay locked into the new epoch, and nothing it voted for is
 * released — no double vote is possible across the boundary. */
static int change_epoch(tc_node *n, uint32_t epoch)
{
    const tc_vset *vs;
    tc_store_txn *t = NULL;
    tc_handoff h = {0};
    node_txs_drain(n); /* finality.h: events of the old epoch go out before the change */
    int rc = tc_chain_vset(n->chain, epoch, &vs);
    if (rc == 0)
        rc = tc_store_begin(n->store, true, &t);
    if (rc != 0)
        return rc;
    int hrc = tc_finality_handoff(n->fin, t, n->now_ms, &h);
    rc = hrc == TC_EINVAL ? 0 : hrc; /* EINVAL: not a validator of the old epoch */
    if (rc == 0)
        rc = tc_finality_epoch_change(n->fin, t, n->now_ms, vs, h.txids, h.txid_count);
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    tc_handoff_deinit(&h);
    n->epoch = epoch;
    tc_peer_set_validator_count(n->peers, vs->count);
    if (rc != 0)
        reload(n);
    n->my_index = tc_finality_validator(n->fin);
    return 0;
}

int node_txs_on_block(tc_node *n, const tc_block *b)
{
    tc_store_txn *t = NULL;
    int rc = tc_store_begin(n->store, true, &t);
    if (rc != 0)
        return rc;
    for (uint32_t i = 0; rc == 0 && i < b->tx_count; i++) {
        tc_hash txid;
        tc_tx_id(&b->txs[i].tx, &txid);
        tc_mempool_remove_confirmed(n->pool, &b->txs[i].tx, &txid, NULL);
        rc = tc_finality_on_confirmed(n->fin, t, &b->txs[i].tx, &txid);
    }
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    if (rc != 0) {
        reload(n);
        return rc;
    }
    uint32_t epoch = tc_chain_epoch_of(n->chain, tc_chain_height(n->chain) + 1);
    return epoch == n->epoch ? 0 : change_epoch(n, epoch);
}
