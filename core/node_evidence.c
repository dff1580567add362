/* node_evidence.c — proof of misbehaviour inside the node (node_internal.h): evidence waiting for
 * a block this node proposes, forensics on two certificates of one height, and the fork alarm
 * (PROTOCOL 14).
 */
#include "node_internal.h"

#include <string.h>

void node_evidence_clear(tc_node *n)
{
    for (uint32_t i = 0; i < n->ev.count; i++)
        tc_evidence_deinit(&n->ev.list[i]);
    n->ev.count = 0;
}

void node_evidence_deinit(tc_node *n)
{
    node_evidence_clear(n);
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

void node_evidence_included(tc_node *n, const tc_block *b)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n->ev.count; i++) {
        tc_hash eh;
        tc_evidence_hash(&n->ev.list[i], &eh);
        if (evidence_in(b->header.evidence, b->header.evidence_count, &eh))
            tc_evidence_deinit(&n->ev.list[i]);
        else
            n->ev.list[kept++] = n->ev.list[i]; /* moved: ownership goes along */
    }
    n->ev.count = kept;
    TC_ASSERT(n->ev.count <= NODE_EVIDENCE_MAX);
}

void node_evidence_add(tc_node *n, const tc_evidence *e, bool broadcast)
{
    TC_ASSERT(n != NULL && e != NULL);
    tc_hash eh;
    tc_evidence_hash(e, &eh);
    if (evidence_in(n->ev.list, n->ev.count, &eh))
        return;
    /* Out of memory loses the proposal copy only: the culprit is still notified and gossiped. */
    if (n->ev.count < NODE_EVIDENCE_MAX && tc_evidence_copy(&n->ev.list[n->ev.count], e) == 0)
        n->ev.count++;
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

node_verdict node_evidence_check(tc_node *n, tc_peer_id peer, const tc_evidence *e)
{
    const tc_vset *vs;
    uint64_t epoch = tc_evidence_epoch(e, tc_chain_profile(n->chain));
    if (e->kind != TC_EVIDENCE_DOUBLE_LOCK && e->a.height > tc_chain_height(n->chain) + 1)
        return NODE_DROP;
    if (epoch > tc_chain_epoch_of(n->chain, tc_chain_height(n->chain) + 1) ||
        tc_chain_vset(n->chain, (uint32_t)epoch, &vs) != 0)
        return NODE_DROP;
    if (tc_evidence_verify(e, vs, &n->verifier) != 0) {
        node_offence(n, peer, TC_PEER_OFFENCE_INVALID);
        return NODE_DROP;
    }
    return NODE_NEWS;
}

/* Precommits in different rounds are not proof on their own (an honest validator may change its
 * lock on a newer proof-of-lock), so only same-round pairs are named. */
void node_evidence_forensics(tc_node *n, const tc_commit *ours, const tc_commit *theirs)
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
            node_evidence_add(n, &e, true);
        }
    }
}

void node_evidence_fork(tc_node *n, uint64_t height, const tc_hash *ours, const tc_hash *theirs,
                        int code)
{
    tc_notify note = {
        .kind = TC_NOTIFY_FORK, .height = height, .hash = *ours, .hash2 = *theirs, .code = code};
    TC_ASSERT(node_failure_kind_of(code) == TC_NODE_FAIL_NONE); /* a rule's code, never a disk's */
    if (n->fail.failed)
        return;
    node_notify(n, &note);
    node_fail(n, TC_NODE_FAIL_FORK, code, "fork alarm"); /* PROTOCOL 14.4: it stops committing */
}
