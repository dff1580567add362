/* msg_samples.h — one filled-in sample message of every wire type, for the msg and peer suites
 * and for regenerating the fuzz corpus. Header-only (static inline) so a fuzz target or a
 * one-off generator can use it without the Criterion support library.
 *
 * Every array is calloc'ed exactly as the decoders do, so tc_msg_deinit frees a sample. Samples
 * are signed with Ed25519 keys derived from a fixed master seed (call tc_crypto_init first).
 */
#ifndef TC_TEST_MSG_SAMPLES_H
#define TC_TEST_MSG_SAMPLES_H

#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "crypto.h"
#include "msg.h"
#include "tx.h"

static inline void ms_abort_if(bool bad)
{
    if (bad)
        abort();
}

static inline void *ms_calloc(size_t n, size_t size)
{
    void *p = calloc(n == 0 ? 1 : n, size);
    ms_abort_if(p == NULL);
    return p;
}

static inline void ms_keypair(tc_keypair *kp, uint64_t i)
{
    uint8_t master[TC_SEED_SIZE];
    uint8_t seed[TC_SEED_SIZE];
    memset(master, 0x6d, sizeof(master));
    tc_seed_derive(seed, master, "msg", i);
    tc_keypair_from_seed(kp, seed);
}

static inline void ms_vote(tc_vote *v, uint8_t type, uint64_t height, uint32_t round, uint8_t block,
                           uint32_t validator)
{
    tc_keypair kp;
    memset(v, 0, sizeof(*v));
    v->type = type;
    v->height = height;
    v->round = round;
    v->pol_round = TC_ROUND_NONE;
    memset(v->block.b, block, TC_HASH_SIZE);
    v->validator = validator;
    ms_keypair(&kp, validator);
    tc_vote_sign(v, TC_SIG_ED25519, &kp);
}

/* Signs v again after a field changed (its validator's sample key). */
static inline void ms_vote_resign(tc_vote *v)
{
    tc_keypair kp;
    ms_keypair(&kp, v->validator);
    tc_vote_sign(v, TC_SIG_ED25519, &kp);
}

static inline void ms_commit(tc_commit *c, uint64_t height, uint32_t n)
{
    memset(c, 0, sizeof(*c));
    c->height = height;
    c->round = 1;
    memset(c->block.b, 0x77, TC_HASH_SIZE);
    c->sig_count = n;
    c->sigs = n > 0 ? ms_calloc(n, sizeof(*c->sigs)) : NULL;
    for (uint32_t i = 0; i < n; i++) {
        c->sigs[i].validator = 3 * i;
        memset(c->sigs[i].sig.b, (int)(0x80 + i), TC_SIG_SIZE);
    }
}

static inline void ms_tx(tc_tx *tx, uint8_t salt)
{
    ms_abort_if(tc_tx_init_alloc(tx, TC_TX_TRANSFER, 1, 2) != 0);
    memset(tx->inputs[0].prev.txid.b, salt, TC_HASH_SIZE);
    tx->inputs[0].prev.index = 1;
    memset(tx->inputs[0].pub.b, salt + 1, TC_PUBKEY_SIZE);
    memset(tx->inputs[0].sig.b, salt + 2, TC_SIG_SIZE);
    for (uint32_t i = 0; i < 2; i++) {
        tx->outputs[i].amount = 100000u + i + salt;
        memset(tx->outputs[i].addr.b, salt + 3 + (int)i, TC_ADDR_HASH_SIZE);
    }
}

static inline void ms_handoff(tc_handoff *h, uint32_t txids)
{
    tc_keypair kp;
    memset(h, 0, sizeof(*h));
    h->epoch = 3;
    h->validator = 2;
    h->txid_count = txids;
    h->txids = txids > 0 ? ms_calloc(txids, sizeof(*h->txids)) : NULL;
    for (uint32_t i = 0; i < txids; i++)
        memset(h->txids[i].b, (int)(0x40 + i), TC_HASH_SIZE);
    ms_keypair(&kp, 2);
    tc_handoff_sign(h, TC_SIG_ED25519, &kp);
}

/* A block at height with something in every list. */
static inline void ms_block(tc_block *b, uint64_t height)
{
    memset(b, 0, sizeof(*b));
    tc_block_header *h = &b->header;
    h->version = TC_BLOCK_VERSION;
    h->height = height;
    h->round = 1;
    memset(h->parent.b, 0x11, TC_HASH_SIZE);
    h->time_ms = 1700000000000u + height;
    memset(h->tx_root.b, 0x12, TC_HASH_SIZE);
    memset(h->utxo_root.b, 0x13, TC_HASH_SIZE);
    memset(h->vset_hash.b, 0x14, TC_HASH_SIZE);
    h->proposer = 1;
    ms_commit(&h->last_commit, height - 1, 2);
    tc_vote x;
    tc_vote y;
    ms_vote(&x, TC_VOTE_PREVOTE, height - 1, 0, 0xa1, 4);
    ms_vote(&y, TC_VOTE_PREVOTE, height - 1, 0, 0xa2, 4);
    h->evidence_count = 1;
    h->evidence = ms_calloc(1, sizeof(*h->evidence));
    tc_evidence_from_votes(&h->evidence[0], &x, &y);
    b->tx_count = 1;
    b->txs = ms_calloc(1, sizeof(*b->txs));
    ms_tx(&b->txs[0].tx, 0x20);
    b->txs[0].cert.epoch = 3;
    b->txs[0].cert.bitmap_len = 1;
    b->txs[0].cert.bitmap = ms_calloc(1, 1);
    b->txs[0].cert.bitmap[0] = 0x07;
    b->txs[0].cert.ref_count = 1;
    b->txs[0].cert.refs = ms_calloc(1, sizeof(tc_batch_ref));
    b->txs[0].cert.refs[0] = (tc_batch_ref){.validator = 1, .seq = 9};
    b->reward_count = 1;
    b->rewards = ms_calloc(1, sizeof(*b->rewards));
    b->rewards[0].amount = 5000;
    memset(b->rewards[0].addr.b, 0x55, TC_ADDR_HASH_SIZE);
    b->handoff_count = 1;
    b->handoffs = ms_calloc(1, sizeof(*b->handoffs));
    ms_handoff(&b->handoffs[0], 2);
}

static inline void ms_text(char *dst, uint8_t *len_out, const char *src)
{
    size_t n = strlen(src);
    memcpy(dst, src, n + 1);
    if (len_out != NULL)
        *len_out = (uint8_t)n;
}

static inline void ms_hello(tc_msg_hello *h)
{
    tc_keypair kp;
    ms_keypair(&kp, 7);
    h->magic = 0x54434e54u;
    h->version = 1;
    memset(h->genesis.b, 0x99, TC_HASH_SIZE);
    h->pubkey = kp.pub;
    memset(h->nonce, 0x42, TC_MSG_NONCE_SIZE);
    h->best_height = 12345;
    h->listen_port = 24100;
    ms_text(h->user_agent, &h->user_agent_len, "timecoin/test");
}

static inline void ms_vote_batch(tc_msg_vote_batch *b, uint32_t txids)
{
    tc_keypair kp;
    b->epoch = 3;
    b->validator = 5;
    b->seq = 77;
    b->txid_count = txids;
    b->txids = txids > 0 ? ms_calloc(txids, sizeof(*b->txids)) : NULL;
    for (uint32_t i = 0; i < txids; i++)
        memset(b->txids[i].b, (int)(i + 1), TC_HASH_SIZE);
    ms_keypair(&kp, 5);
    tc_msg_vote_batch_sign(b, TC_SIG_ED25519, &kp);
}

static inline void ms_heartbeat(tc_msg_heartbeat *h)
{
    tc_keypair kp;
    ms_keypair(&kp, 6);
    h->epoch = 3;
    h->height = 321;
    memset(h->tip.b, 0x7e, TC_HASH_SIZE);
    h->time_ms = 1700000005000u;
    h->pubkey = kp.pub;
    tc_msg_heartbeat_sign(h, TC_SIG_ED25519, &kp);
}

static inline void ms_proposal(tc_msg_proposal *p)
{
    tc_keypair kp;
    ms_block(&p->block, 10);
    p->height = 10;
    p->round = 3;
    p->pol_round = 1;
    ms_keypair(&kp, 1);
    tc_msg_proposal_sign(p, TC_SIG_ED25519, &kp);
}

static inline void ms_blocks(tc_msg_blocks *b, uint32_t n)
{
    b->entry_count = n;
    b->entries = n > 0 ? ms_calloc(n, sizeof(*b->entries)) : NULL;
    for (uint32_t i = 0; i < n; i++) {
        ms_block(&b->entries[i].block, 20 + i);
        ms_commit(&b->entries[i].commit, 20 + i, 3);
    }
}

/* Fills *m with the sample of type (a valid tc_msg_type). */
static inline void ms_msg(tc_msg *m, uint8_t type)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    switch (type) {
    case TC_MSG_HELLO:
        ms_hello(&m->hello);
        break;
    case TC_MSG_AUTH:
        memset(m->auth.sig.b, 0xa5, TC_SIG_SIZE);
        break;
    case TC_MSG_PING:
        m->ping.nonce = 0x0102030405060708u;
        break;
    case TC_MSG_PONG:
        m->pong.nonce = 0x1112131415161718u;
        break;
    case TC_MSG_GET_PEERS:
        break;
    case TC_MSG_PEERS:
        m->peers.addr_count = 3;
        ms_text(m->peers.addrs[0], NULL, "10.0.0.1:24100");
        ms_text(m->peers.addrs[1], NULL, "[::1]:24100");
        ms_text(m->peers.addrs[2], NULL, "node.example.org:24000");
        break;
    case TC_MSG_STATUS:
        m->status.height = 999;
        memset(m->status.tip.b, 0x3c, TC_HASH_SIZE);
        m->status.round = 2;
        break;
    case TC_MSG_TX:
        ms_tx(&m->tx, 0x30);
        break;
    case TC_MSG_VOTE_BATCH:
        ms_vote_batch(&m->vote_batch, 4);
        break;
    case TC_MSG_GET_VOTE_BATCHES:
        m->get_vote_batches.ref_count = 2;
        m->get_vote_batches.refs[0] = (tc_batch_ref){.validator = 1, .seq = 10};
        m->get_vote_batches.refs[1] = (tc_batch_ref){.validator = 4, .seq = 11};
        break;
    case TC_MSG_PROPOSAL:
        ms_proposal(&m->proposal);
        break;
    case TC_MSG_PREVOTE:
        ms_vote(&m->vote, TC_VOTE_PREVOTE, 10, 3, 0x61, 2);
        break;
    case TC_MSG_PRECOMMIT:
        ms_vote(&m->vote, TC_VOTE_PRECOMMIT, 10, 3, 0x61, 2);
        break;
    case TC_MSG_GET_BLOCKS:
        m->get_blocks.from_height = 20;
        m->get_blocks.count = 2;
        break;
    case TC_MSG_BLOCKS:
        ms_blocks(&m->blocks, 2);
        break;
    case TC_MSG_HEARTBEAT:
        ms_heartbeat(&m->heartbeat);
        break;
    case TC_MSG_HANDOFF:
        ms_handoff(&m->handoff, 3);
        break;
    case TC_MSG_EVIDENCE: {
        tc_vote x;
        tc_vote y;
        ms_vote(&x, TC_VOTE_PRECOMMIT, 8, 1, 0x01, 3);
        ms_vote(&y, TC_VOTE_PRECOMMIT, 8, 1, 0x02, 3);
        tc_evidence_from_votes(&m->evidence, &x, &y);
        break;
    }
    case TC_MSG_REJECT:
        m->reject.type = TC_MSG_TX;
        m->reject.code = TC_ETX_LOW_FEE;
        ms_text(m->reject.reason, &m->reject.reason_len, "fee below min_fee");
        break;
    case TC_MSG_GET_VOTES:
        m->get_votes.height = 12;
        break;
    case TC_MSG_VOTES:
        m->votes.height = 12;
        m->votes.vote_count = 2;
        m->votes.votes = ms_calloc(2, sizeof(tc_vote));
        ms_vote(&m->votes.votes[0], TC_VOTE_PRECOMMIT, 12, 1, 0x41, 3);
        ms_vote(&m->votes.votes[1], TC_VOTE_PREVOTE, 12, 2, 0x42, 3);
        m->votes.votes[1].pol_round = 0;
        ms_vote_resign(&m->votes.votes[1]);
        break;
    case TC_MSG_GET_TXS:
        m->get_txs.count = 2;
        m->get_txs.txids = ms_calloc(2, sizeof(tc_hash));
        memset(m->get_txs.txids[0].b, 0x61, TC_HASH_SIZE);
        memset(m->get_txs.txids[1].b, 0x62, TC_HASH_SIZE);
        break;
    case TC_MSG_TXS:
        m->txs.last = 1;
        m->txs.count = 2;
        m->txs.txs = ms_calloc(2, sizeof(tc_tx));
        ms_tx(&m->txs.txs[0], 0x63);
        ms_tx(&m->txs.txs[1], 0x64);
        break;
    case TC_MSG_IHAVE:
    case TC_MSG_IWANT:
        m->invs.count = 2;
        m->invs.items = ms_calloc(2, sizeof(tc_msg_inv));
        m->invs.items[0].type = TC_MSG_TX;
        memset(m->invs.items[0].id.b, 0x51, TC_HASH_SIZE);
        m->invs.items[1].type = TC_MSG_VOTE_BATCH;
        memset(m->invs.items[1].id.b, 0x52, TC_HASH_SIZE);
        break;
    case TC_MSG_VOTE_BITS:
    case TC_MSG_VOTE_WANT:
        m->vote_bits.height = 12;
        m->vote_bits.round = 1;
        m->vote_bits.vote_type = TC_VOTE_PRECOMMIT;
        m->vote_bits.count = 11;
        m->vote_bits.bits[0] = 0x85;
        m->vote_bits.bits[1] = 0x04;
        break;
    case TC_MSG_GET_SNAPSHOT:
        m->get_snapshot.height = 300;
        memset(m->get_snapshot.manifest.b, 0x5a, TC_HASH_SIZE);
        m->get_snapshot.chunk = 7;
        break;
    case TC_MSG_SNAPSHOT:
        m->snapshot.height = 300;
        m->snapshot.chunk = 7;
        m->snapshot.len = 5;
        m->snapshot.data = ms_calloc(5, 1);
        memcpy(m->snapshot.data, "chunk", 5);
        break;
    case TC_MSG_BUNDLE: {
        /* Two members whose framing is right; their payloads are the members' own business
         * (a bundle decodes whatever they say), so short ones do. */
        static const uint8_t members[] = {0, 0, 0, 3, TC_MSG_TX,         0xaa, 0xbb,
                                          0, 0, 0, 2, TC_MSG_VOTE_BATCH, 0xcc};
        m->bundle.count = 2;
        m->bundle.members = ms_calloc(2, sizeof(tc_msg_bundle_member));
        m->bundle.members[0].frame = members;
        m->bundle.members[0].len = 7;
        m->bundle.members[1].frame = members + 7;
        m->bundle.members[1].len = 6;
        break;
    }
    default:
        abort();
    }
}

/* How many type numbers below TC_MSG_TYPE_COUNT are known types (reserved ones are not). */
static inline uint32_t ms_known_type_count(void)
{
    uint32_t k = 0;
    for (unsigned t = 1; t < TC_MSG_TYPE_COUNT; t++)
        k += tc_msg_type_known((uint8_t)t);
    return k;
}

/* Encodes *m into a fresh buffer; aborts if it does not encode. */
static inline uint8_t *ms_encode(const tc_msg *m, size_t *len_out)
{
    uint8_t *buf = NULL;
    ms_abort_if(tc_msg_encode_alloc(m, &buf, len_out) != 0);
    return buf;
}

#endif
