/* node_evidence.c — proof of misbehaviour inside the node (node_internal.h): evidence waiting for
 * a block this node proposes, the vote journal, forensics after a fork (the two certificates and
 * the votes peers hold for the forked height), and the fork alarm (PROTOCOL 14).
 */
#include "node_internal.h"

#include <stdlib.h>
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
    free(n->ev.journal);
    n->ev.journal = NULL;
    n->ev.journal_count = n->ev.journal_cap = 0;
    tc_commit_deinit(&n->ev.fork_certs[0]);
    tc_commit_deinit(&n->ev.fork_certs[1]);
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

bool node_evidence_against(const tc_node *n, uint32_t validator, uint64_t epoch)
{
    const tc_profile *p = tc_chain_profile(n->chain);
    for (uint32_t k = 0; k < n->ev.count; k++)
        if (tc_evidence_validator(&n->ev.list[k]) == validator &&
            tc_evidence_epoch(&n->ev.list[k], p) == epoch)
            return true;
    return false;
}

/* One collateral burns once: a block with two proofs against one validator of one epoch is
 * invalid (chain.h), so only the first is kept for a block. */
static bool culprit_pending(const tc_node *n, const tc_evidence *e)
{
    return node_evidence_against(n, tc_evidence_validator(e),
                                 tc_evidence_epoch(e, tc_chain_profile(n->chain)));
}

void node_evidence_add(tc_node *n, const tc_evidence *e, bool broadcast)
{
    TC_ASSERT(n != NULL && e != NULL);
    tc_hash eh;
    tc_evidence_hash(e, &eh);
    if (evidence_in(n->ev.list, n->ev.count, &eh))
        return;
    /* Out of memory loses the proposal copy only: the culprit is still notified and gossiped. */
    if (n->ev.count < NODE_EVIDENCE_MAX && !culprit_pending(n, e) &&
        tc_evidence_copy(&n->ev.list[n->ev.count], e) == 0)
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
    if (tc_evidence_has_height(e) && e->a.height > tc_chain_height(n->chain) + 1)
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

/* ---- the vote journal ---- */

static bool journal_keeps(const tc_node *n, uint64_t height, uint64_t tip)
{
    return height + NODE_JOURNAL_HEIGHTS > tip || (n->ev.forked && height == n->ev.fork_height);
}

/* Drops the votes of heights the journal no longer keeps (order is not kept: it has none). */
static void journal_prune(tc_node *n)
{
    uint64_t tip = tc_chain_height(n->chain);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n->ev.journal_count; i++)
        if (journal_keeps(n, n->ev.journal[i].height, tip))
            n->ev.journal[kept++] = n->ev.journal[i];
    n->ev.journal_count = kept;
    n->ev.journal_tip = tip;
}

void node_evidence_journal(tc_node *n, const tc_vote *v)
{
    TC_ASSERT(n != NULL && v != NULL);
    TC_ASSERT(v->type == TC_VOTE_PREVOTE || v->type == TC_VOTE_PRECOMMIT);
    uint64_t tip = tc_chain_height(n->chain);
    if (!journal_keeps(n, v->height, tip))
        return;
    if (n->ev.journal_tip != tip)
        journal_prune(n);
    if (n->ev.journal_count == n->ev.journal_cap) {
        uint32_t cap = n->ev.journal_cap == 0 ? 64 : 2 * n->ev.journal_cap;
        if (cap > NODE_JOURNAL_MAX)
            cap = NODE_JOURNAL_MAX;
        tc_vote *grown = cap > n->ev.journal_cap
                             ? tc_realloc(n->ev.journal, (size_t)cap * sizeof(*grown))
                             : NULL;
        if (grown == NULL) {
            /* Full, or no memory: forensics may miss this vote, nothing else needs it. */
            n->ev.journal_dropped++;
            return;
        }
        n->ev.journal = grown;
        n->ev.journal_cap = cap;
    }
    n->ev.journal[n->ev.journal_count++] = *v;
    TC_ASSERT(n->ev.journal_count <= NODE_JOURNAL_MAX);
}

/* ---- forensics ---- */

static bool named(const tc_node *n, uint32_t validator)
{
    return (n->ev.named[validator / 8] >> (validator % 8) & 1) != 0;
}

/* Names validator as a culprit of the fork (once) with its proof e. */
static void name_culprit(tc_node *n, uint32_t validator, uint32_t round, const tc_evidence *e)
{
    TC_ASSERT(validator < NODE_NAMED_MAX && !named(n, validator));
    n->ev.named[validator / 8] = (uint8_t)(n->ev.named[validator / 8] | 1u << (validator % 8));
    tc_notify note = {.kind = TC_NOTIFY_CULPRIT,
                      .height = n->ev.fork_height,
                      .round = round,
                      .validator = validator};
    node_notify(n, &note);
    node_evidence_add(n, e, true);
}

/* Order of the analysis: by validator, then type, round and block, so each validator's votes
 * are one run and the first proof found is the same on every node holding the same votes. */
static int vote_order(const void *pa, const void *pb)
{
    const tc_vote *a = pa, *b = pb;
    if (a->validator != b->validator)
        return a->validator < b->validator ? -1 : 1;
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    if (a->round != b->round)
        return a->round < b->round ? -1 : 1;
    int c = memcmp(a->block.b, b->block.b, TC_HASH_SIZE);
    if (c != 0)
        return c;
    return a->pol_round < b->pol_round ? -1 : a->pol_round > b->pol_round;
}

/* A proof against the validator of votes[0..count) (all its votes at the forked height): two
 * votes of one (type, round) for different blocks, or a precommit and a later prevote that is
 * amnesia. Every vote here was checked against the height's set, so the proof verifies. */
static bool find_proof(const tc_vote *votes, uint32_t count, tc_evidence *e, uint32_t *round)
{
    for (uint32_t i = 0; i < count; i++) {
        for (uint32_t k = i + 1; k < count; k++) {
            const tc_vote *x = &votes[i], *y = &votes[k];
            if (x->type == y->type && x->round == y->round &&
                memcmp(x->block.b, y->block.b, TC_HASH_SIZE) != 0) {
                tc_evidence_from_votes(e, x, y);
                *round = x->round;
                return true;
            }
            /* Sorted by type: a prevote (1) comes before a precommit (2). */
            if (tc_votes_amnesia(y, x)) {
                tc_evidence_from_amnesia(e, y, x);
                *round = y->round;
                return true;
            }
        }
    }
    return false;
}

/* The analysis of PROTOCOL 14.5 over the two certificates and the journal's votes of the forked
 * height. What it names is proven: an honest validator never signs either pattern. */
static void analyse(tc_node *n)
{
    const tc_commit *c0 = &n->ev.fork_certs[0], *c1 = &n->ev.fork_certs[1];
    uint64_t h = n->ev.fork_height;
    size_t cap = (size_t)c0->sig_count + c1->sig_count + n->ev.journal_count;
    tc_vote *all = cap > 0 ? tc_malloc(cap * sizeof(*all)) : NULL;
    uint32_t count = 0;
    if (all == NULL)
        return; /* no memory: the next VOTES runs it again */
    for (uint32_t i = 0; i < c0->sig_count; i++)
        tc_commit_vote(c0, i, &all[count++]);
    for (uint32_t i = 0; i < c1->sig_count; i++)
        tc_commit_vote(c1, i, &all[count++]);
    for (uint32_t i = 0; i < n->ev.journal_count; i++)
        if (n->ev.journal[i].height == h)
            all[count++] = n->ev.journal[i];
    qsort(all, count, sizeof(*all), vote_order);
    /* One copy of each vote (the certificates and every peer's answer repeat them), so each
     * validator's run is as short as its distinct votes: the pairs below are quadratic in it. */
    uint32_t unique = 0;
    for (uint32_t i = 0; i < count; i++)
        if (unique == 0 || vote_order(&all[unique - 1], &all[i]) != 0)
            all[unique++] = all[i];
    count = unique;
    for (uint32_t i = 0; i < count;) {
        uint32_t k = i;
        while (k < count && all[k].validator == all[i].validator)
            k++;
        tc_evidence e;
        uint32_t round = 0;
        uint32_t v = all[i].validator;
        if (v < NODE_NAMED_MAX && !named(n, v) && find_proof(&all[i], k - i, &e, &round))
            name_culprit(n, v, round, &e);
        i = k;
    }
    free(all);
}

static void ask_votes(tc_node *n)
{
    tc_msg m = {.type = TC_MSG_GET_VOTES};
    m.get_votes.height = n->ev.fork_height;
    (void)node_broadcast(n, &m, false, 0);
    n->ev.asks_left--;
    n->ev.next_ask_ms = n->now_ms + NODE_VOTES_ASK_MS;
}

void node_evidence_forensics(tc_node *n, const tc_commit *ours, const tc_commit *theirs)
{
    TC_ASSERT(ours->height == theirs->height);
    if (n->ev.forked)
        return; /* the first fork's analysis goes on; a node stops at its first alarm anyway */
    if (tc_commit_copy(&n->ev.fork_certs[0], ours) != 0)
        return;
    if (tc_commit_copy(&n->ev.fork_certs[1], theirs) != 0) {
        tc_commit_deinit(&n->ev.fork_certs[0]);
        return;
    }
    n->ev.forked = true;
    n->ev.fork_height = ours->height;
    n->ev.asks_left = NODE_VOTES_ASKS;
    analyse(n);
    ask_votes(n);
}

void node_evidence_on_get_votes(tc_node *n, tc_peer_id peer, const tc_msg_get_votes *g)
{
    /* As many votes per frame as the profile's frame size allows. */
    size_t room =
        (tc_chain_profile(n->chain)->frame_size_max - TC_MSG_VOTES_OVERHEAD) / TC_VOTE_SIZE;
    uint32_t per_frame = room < TC_MSG_VOTES_MAX ? (uint32_t)room : TC_MSG_VOTES_MAX;
    tc_vote batch[TC_MSG_VOTES_MAX];
    tc_msg m = {.type = TC_MSG_VOTES};
    m.votes.height = g->height;
    m.votes.votes = batch;
    TC_ASSERT(per_frame >= 1);
    for (uint32_t i = 0; i < n->ev.journal_count; i++) {
        if (n->ev.journal[i].height != g->height)
            continue;
        batch[m.votes.vote_count++] = n->ev.journal[i];
        if (m.votes.vote_count == per_frame) {
            (void)node_send(n, peer, &m);
            m.votes.vote_count = 0;
        }
    }
    if (m.votes.vote_count > 0)
        (void)node_send(n, peer, &m);
}

static bool journal_has(const tc_node *n, const tc_vote *v)
{
    for (uint32_t i = 0; i < n->ev.journal_count; i++)
        if (n->ev.journal[i].height == v->height && vote_order(&n->ev.journal[i], v) == 0)
            return true;
    return false;
}

void node_evidence_on_votes(tc_node *n, tc_peer_id peer, const tc_msg_votes *m)
{
    const tc_vset *vs;
    if (!n->ev.forked || m->height != n->ev.fork_height ||
        tc_chain_vset(n->chain, tc_chain_epoch_of(n->chain, m->height), &vs) != 0)
        return;
    for (uint32_t i = 0; i < m->vote_count; i++) {
        const tc_vote *v = &m->votes[i];
        if (v->validator >= vs->count ||
            tc_vote_verify(v, &n->verifier, &vs->members[v->validator].key) != 0) {
            node_offence(n, peer, TC_PEER_OFFENCE_BAD_SIG);
            break;
        }
        /* Every peer answers with much the same votes: one copy each is enough. */
        if (!journal_has(n, v))
            node_evidence_journal(n, v);
    }
    analyse(n);
}

void node_evidence_tick(tc_node *n)
{
    if (n->ev.forked && n->ev.asks_left > 0 && n->now_ms >= n->ev.next_ask_ms)
        ask_votes(n);
}

uint64_t node_evidence_next_deadline(const tc_node *n)
{
    return n->ev.forked && n->ev.asks_left > 0 ? n->ev.next_ask_ms : UINT64_MAX;
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

void node_evidence_assert(const tc_node *n)
{
    TC_ASSERT(n->ev.count <= NODE_EVIDENCE_MAX);
}
