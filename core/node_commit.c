/* node_commit.c — the committed tip inside the node (node_internal.h): applying a certified block
 * (from consensus or sync), the tip's certificate and its durable copy, our certificate at a past
 * height, and fork detection from what certified blocks claim (PROTOCOL 12.4, 14).
 */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

#define META_TIP_COMMIT "node/tip-commit" /* the tip's certificate: the next block needs it */

void node_commit_init(tc_node *n)
{
    n->commit.time_ms = n->now_ms;
}

void node_commit_deinit(tc_node *n)
{
    tc_commit_deinit(&n->commit.tip_commit);
}

/* The tip's commit certificate lives in no block until the next one is built, so the node keeps
 * it in the store: a restarted proposer needs it as last_commit, and sync serves it. It is
 * written right after the block's own transaction; a crash in between leaves the previous
 * certificate, which load_tip_commit then ignores (its height is not the tip's) — the node
 * still votes, and learns the certificate again from the next proposal or a peer. So a memory
 * failure here costs nothing but that (0); a store that refuses the write is failing, and its
 * code is returned. */
static int save_tip_commit(tc_node *n)
{
    size_t len = 0;
    tc_writer w;
    tc_store_txn *t = NULL;
    tc_writer_init(&w, NULL, 0);
    tc_commit_encode(&w, &n->commit.tip_commit);
    uint8_t *bytes = tc_malloc(w.len);
    if (bytes == NULL)
        return 0;
    tc_writer_init(&w, bytes, w.len);
    tc_commit_encode(&w, &n->commit.tip_commit);
    TC_ASSERT(tc_writer_finish(&w, &len) == 0); /* measured above */
    int rc = tc_store_begin(n->store, true, &t);
    if (rc == 0)
        rc = tc_store_put(t, TC_TABLE_LOCKS, META_TIP_COMMIT, strlen(META_TIP_COMMIT), bytes, len);
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    free(bytes);
    return rc;
}

int tc_node_stored_tip_commit(tc_store *store, tc_commit *out)
{
    TC_ASSERT(store != NULL && out != NULL);
    tc_store_txn *t = NULL;
    const void *v;
    size_t len;
    memset(out, 0, sizeof(*out));
    int rc = tc_store_begin(store, false, &t);
    if (rc != 0)
        return rc;
    rc = tc_store_get(t, TC_TABLE_LOCKS, META_TIP_COMMIT, strlen(META_TIP_COMMIT), &v, &len);
    if (rc == 0 && tc_commit_decode(out, v, len) != 0)
        rc = TC_ESTORE_CORRUPT;
    tc_store_abort(t);
    return rc;
}

/* A missing, stale or undecodable certificate is only a lost optimisation (see above); a store
 * that cannot be read is returned. */
int node_commit_load(tc_node *n)
{
    tc_commit c;
    int rc = tc_node_stored_tip_commit(n->store, &c);
    if (rc == 0 && c.height == tc_chain_height(n->chain) && c.height > 0) {
        tc_commit_deinit(&n->commit.tip_commit);
        n->commit.tip_commit = c;
    } else if (rc == 0) {
        tc_commit_deinit(&c);
    }
    return node_failure_kind_of(rc) == TC_NODE_FAIL_STORE ? rc : 0;
}

int node_commit_read_block(tc_node *n, uint64_t height, tc_block *out)
{
    int rc = tc_chain_block_at(n->chain, height, out);
    if (rc != 0)
        (void)node_fail_local(n, rc, "read a stored block");
    return rc;
}

int node_commit_at(tc_node *n, uint64_t height, tc_commit *out, tc_hash *hash_out)
{
    tc_block b;
    memset(out, 0, sizeof(*out));
    if (height == tc_chain_height(n->chain)) {
        tc_chain_tip(n->chain, hash_out);
        return tc_commit_copy(out, &n->commit.tip_commit);
    }
    int rc = node_commit_read_block(n, height + 1, &b);
    if (rc != 0)
        return rc;
    *hash_out = b.header.parent;
    rc = tc_commit_copy(out, &b.header.last_commit);
    tc_block_deinit(&b);
    return rc;
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
        node_evidence_fork(n, b->header.height, &block_hash, &block_hash, TC_EBLK_PARENT);
        return;
    }
    tc_chain_tip(n->chain, &our_hash);
    node_evidence_fork(n, tip, &our_hash, &b->header.parent, TC_EBLK_COMMIT);
    if (node_commit_at(n, tip, &ours, &our_hash) == 0) {
        node_evidence_forensics(n, &ours, theirs);
        tc_commit_deinit(&ours);
    }
}

/* synced: the block came by sync, so the peers committed it a while ago and their block interval
 * has run: round 0 of the next height starts now (PROTOCOL 12.4) rather than a whole interval
 * later, which would make a synced proposer's proposal late for every peer. The next height is
 * the caller's to start (node_consensus_start_height): consensus sits above this part. */
int node_commit_apply(tc_node *n, const tc_block *b, const tc_commit *commit, bool synced)
{
    tc_hash hash;
    tc_block_hash(&b->header, &hash);
    int rc = tc_chain_apply(n->chain, b);
    if (rc != 0 && node_failure_kind_of(rc) != TC_NODE_FAIL_NONE) {
        /* The node could not apply it (disk, memory, its own state): no verdict on the block,
         * and nothing changed (tc_chain_apply is atomic). Never a fork alarm. */
        node_fail_code(n, rc, "apply a committed block");
        return rc;
    }
    if (rc == TC_EBLK_PARENT) {
        fork_from_parent(n, b);
        return rc;
    }
    if (rc != 0) {
        /* A certificate of weight >= Q for a block the rules refuse: Byzantine weight >= W/3
         * signed it. */
        node_evidence_fork(n, b->header.height, &hash, &hash, rc);
        return rc;
    }
    /* Applied: from here on a failure leaves the block applied and the node behind it. */
    tc_commit_deinit(&n->commit.tip_commit);
    rc = tc_commit_copy(&n->commit.tip_commit, commit);
    if (rc != 0) {
        node_fail_code(n, rc, "keep the tip's certificate");
        return rc;
    }
    rc = save_tip_commit(n);
    if (rc != 0) {
        node_fail_code(n, rc, "store the tip's certificate");
        return rc;
    }
    uint64_t interval = tc_chain_profile(n->chain)->block_interval_ms;
    n->commit.time_ms = !synced ? n->now_ms : n->now_ms > interval ? n->now_ms - interval : 0;
    notify_committed(n, b, &hash);
    node_clock_on_block(n, b->header.height, &hash);
    node_evidence_included(n, b);
    tc_peer_set_best_height(n->peers, b->header.height);
    rc = node_txs_on_block(n, b);
    if (rc != 0) {
        node_fail_code(n, rc, "update finality after a block");
        return rc;
    }
    if (n->fail.failed)
        return TC_EFAILED; /* node_txs_on_block's own recovery failed: it said why */
    return 0;
}

void node_commit_check_fork(tc_node *n, const tc_block *b, const tc_commit *commit,
                            const tc_hash *theirs)
{
    tc_commit ours;
    tc_hash our_hash;
    uint64_t h = b->header.height;
    if (node_commit_at(n, h, &ours, &our_hash) != 0)
        return;
    if (memcmp(our_hash.b, theirs->b, TC_HASH_SIZE) != 0) {
        node_evidence_fork(n, h, &our_hash, theirs, TC_EBLK_COMMIT);
        node_evidence_forensics(n, &ours, commit);
    }
    tc_commit_deinit(&ours);
}

void node_commit_check_past_vote(tc_node *n, const tc_vote *v)
{
    tc_commit ours;
    tc_hash our_hash;
    if (v->type != TC_VOTE_PRECOMMIT || tc_vote_is_nil(v) ||
        node_commit_at(n, v->height, &ours, &our_hash) != 0)
        return;
    for (uint32_t i = 0; i < ours.sig_count; i++) {
        if (ours.sigs[i].validator != v->validator || ours.round != v->round ||
            memcmp(our_hash.b, v->block.b, TC_HASH_SIZE) == 0)
            continue;
        tc_vote a;
        tc_evidence e;
        tc_commit_vote(&ours, i, &a);
        tc_evidence_from_votes(&e, &a, v);
        node_evidence_add(n, &e, true);
    }
    tc_commit_deinit(&ours);
}

void node_commit_request(tc_node *n, uint64_t height)
{
    tc_msg m = {.type = TC_MSG_GET_BLOCKS};
    m.get_blocks.from_height = height;
    m.get_blocks.count = 1;
    (void)node_broadcast(n, &m, false, 0);
}

void node_commit_assert(const tc_node *n)
{
    /* The tip's certificate is the tip's, or empty (genesis, or lost to a crash: node_commit_load),
     * or the previous tip's while a failure stopped the node between the block and it. */
    uint64_t tip = tc_chain_height(n->chain);
    TC_ASSERT(n->commit.tip_commit.height == tip || n->commit.tip_commit.sig_count == 0 ||
              n->fail.failed);
    TC_ASSERT(n->commit.tip_commit.sigs != NULL || n->commit.tip_commit.sig_count == 0);
}
