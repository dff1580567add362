/* verify_pool.c — which signatures a frame carries, and their checks (verify_pool.h). */
#include "verify_pool.h"

#include <stdlib.h>
#include <string.h>

#include "msg.h"

typedef struct {
    td_sig_check *v;
    size_t count, cap;
    bool full;
} check_list;

static void add(check_list *l, const tc_pubkey *pub, const tc_hash *msg, const tc_sig *sig)
{
    if (l->full)
        return;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        td_sig_check *bigger =
            cap <= TD_SIG_CHECKS_MAX ? realloc(l->v, cap * sizeof(*bigger)) : NULL;
        if (bigger == NULL) {
            l->full = true; /* the core checks the rest itself */
            return;
        }
        l->v = bigger;
        l->cap = cap;
    }
    l->v[l->count++] = (td_sig_check){.pub = *pub, .msg = *msg, .sig = *sig};
}

static void add_tx(check_list *l, const tc_tx *tx)
{
    tc_hash txid, h;
    tc_tx_id(tx, &txid);
    for (uint32_t i = 0; i < tx->input_count; i++) {
        tc_tx_sighash(&txid, i, &h);
        add(l, &tx->inputs[i].pub, &h, &tx->inputs[i].sig);
    }
}

static void add_block_txs(check_list *l, const tc_block *b)
{
    for (uint32_t k = 0; k < b->tx_count && !l->full; k++)
        add_tx(l, &b->txs[k].tx);
}

bool td_sig_checks_wanted(uint8_t type)
{
    return type == TC_MSG_TX || type == TC_MSG_HEARTBEAT || type == TC_MSG_PREVOTE ||
           type == TC_MSG_PRECOMMIT || type == TC_MSG_VOTE_BATCH || type == TC_MSG_PROPOSAL ||
           type == TC_MSG_BLOCKS;
}

int td_sig_checks_of(const uint8_t *frame, size_t len, const tc_pubkey *keys, uint32_t key_count,
                     td_sig_check **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    tc_msg m;
    int rc = tc_msg_decode(frame, len, &m);
    if (rc != 0)
        return rc;
    check_list l = {0};
    tc_hash h;
    switch (m.type) {
    case TC_MSG_TX:
        add_tx(&l, &m.tx);
        break;
    case TC_MSG_HEARTBEAT:
        tc_msg_heartbeat_sign_hash(&m.heartbeat, &h);
        add(&l, &m.heartbeat.pubkey, &h, &m.heartbeat.sig);
        break;
    case TC_MSG_PREVOTE:
    case TC_MSG_PRECOMMIT:
        if (m.vote.validator < key_count) {
            tc_vote_sign_hash(&m.vote, &h);
            add(&l, &keys[m.vote.validator], &h, &m.vote.sig);
        }
        break;
    case TC_MSG_VOTE_BATCH:
        if (m.vote_batch.validator < key_count) {
            tc_msg_vote_batch_sign_hash(&m.vote_batch, &h);
            add(&l, &keys[m.vote_batch.validator], &h, &m.vote_batch.sig);
        }
        break;
    case TC_MSG_PROPOSAL:
        if (m.proposal.block.header.proposer < key_count) {
            tc_msg_proposal_sign_hash(&m.proposal, &h);
            add(&l, &keys[m.proposal.block.header.proposer], &h, &m.proposal.sig);
        }
        add_block_txs(&l, &m.proposal.block);
        break;
    case TC_MSG_BLOCKS:
        for (uint32_t k = 0; k < m.blocks.entry_count; k++)
            add_block_txs(&l, &m.blocks.entries[k].block);
        break;
    default:
        break;
    }
    tc_msg_deinit(&m);
    *out = l.v;
    *count = l.count;
    return 0;
}

void td_sig_checks_run(td_sig_check *checks, size_t count)
{
    for (size_t k = 0; k < count; k++)
        checks[k].valid =
            tc_verify_raw(TC_SIG_ED25519, &checks[k].pub, &checks[k].msg, &checks[k].sig) == 0;
}
