/* support.c — helpers shared by the Criterion suites. */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#define TS_GENESIS_TIME_MS UINT64_C(1767225600000)

void ts_keypair(tc_keypair *kp, uint64_t i)
{
    uint8_t master[TC_SEED_SIZE];
    uint8_t seed[TC_SEED_SIZE];
    memset(master, 0x5a, sizeof(master));
    tc_seed_derive(seed, master, "test", i);
    tc_keypair_from_seed(kp, seed);
}

int ts_tx_transfer(tc_tx *tx, tc_sig_scheme scheme, const tc_keypair *from, const tc_outpoint *prev,
                   uint64_t in_amount, const tc_addr_hash *to, uint64_t pay, uint64_t fee)
{
    memset(tx, 0, sizeof(*tx));
    if (pay > in_amount || fee > in_amount - pay)
        return TC_EINVAL;
    uint64_t change = in_amount - pay - fee;
    int rc = tc_tx_init_alloc(tx, TC_TX_TRANSFER, 1, change > 0 ? 2 : 1);
    if (rc != 0)
        return rc;
    tx->inputs[0] = (tc_txin){.prev = *prev, .pub = from->pub};
    tx->outputs[0] = (tc_txout){.amount = pay, .addr = *to};
    if (change > 0) {
        tx->outputs[1].amount = change;
        tc_addr_from_pubkey(&from->pub, &tx->outputs[1].addr);
    }
    tc_hash txid;
    tc_tx_id(tx, &txid);
    tc_tx_sign_input(tx, &txid, 0, scheme, from);
    return 0;
}

/* ---- test chain ---- */

static int make_genesis(ts_chain *f)
{
    const ts_chain_opts *o = &f->opts;
    uint8_t le[8];
    tc_hash h;
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(o->seed >> (8 * i));
    tc_hash_tagged(&h, TC_TAG_SEED, le, sizeof(le));
    memcpy(f->master, h.b, sizeof(f->master));
    uint64_t amount = o->wallet_amount ? o->wallet_amount : 100000 * TC_UNITS_PER_TIME;
    int rc = tc_genesis_create(&f->genesis, TC_NET_TESTNET, f->master, o->validators, o->tiers,
                               o->wallets, amount, TS_GENESIS_TIME_MS);
    tc_profile *p = &f->genesis.profile;
    if (rc == 0)
        rc = tc_profile_set(p, "epoch_blocks", o->epoch_blocks ? o->epoch_blocks : 8);
    if (rc == 0 && o->block_txs_max)
        rc = tc_profile_set(p, "block_txs_max", o->block_txs_max);
    /* A block must hold one largest transaction (tc_profile_check), so a small block limit
     * brings the transaction limit down with it. */
    if (rc == 0 && o->block_size_max && o->block_size_max < p->tx_size_max)
        rc = tc_profile_set(p, "tx_size_max", o->block_size_max);
    if (rc == 0 && o->block_size_max)
        rc = tc_profile_set(p, "block_size_max", o->block_size_max);
    if (rc == 0 && o->evidence_per_block_max)
        rc = tc_profile_set(p, "evidence_per_block_max", o->evidence_per_block_max);
    if (rc == 0)
        rc = tc_genesis_check(&f->genesis, NULL, 0);
    return rc;
}

static int open_store(ts_chain *f)
{
    if (f->opts.lmdb_dir != NULL)
        return tc_store_lmdb_open(f->opts.lmdb_dir, (size_t)64 << 20, &f->store);
    f->store = tc_store_mem_new();
    return f->store != NULL ? 0 : TC_ENOMEM;
}

int ts_chain_open(ts_chain *f, const ts_chain_opts *o)
{
    TC_ASSERT(f != NULL && o != NULL);
    TC_ASSERT(o->validators >= 1 && o->validators <= TS_CHAIN_KEYS);
    memset(f, 0, sizeof(*f));
    f->opts = *o;
    f->verifier = (tc_verifier){.scheme = o->scheme, .cache = NULL};
    int rc = tc_crypto_init();
    if (rc == 0)
        rc = make_genesis(f);
    for (uint32_t i = 0; rc == 0 && i < TS_CHAIN_KEYS; i++)
        rc = tc_genesis_key(f->master, "validator", i, &f->vkeys[i]);
    if (rc == 0)
        rc = open_store(f);
    if (rc == 0)
        rc = tc_chain_open(f->store, &f->genesis, &f->verifier, &f->chain);
    return rc;
}

void ts_chain_close(ts_chain *f)
{
    tc_chain_free(f->chain);
    f->chain = NULL;
    if (f->store != NULL)
        tc_store_close(f->store);
    f->store = NULL;
    tc_commit_deinit(&f->commit);
    tc_genesis_deinit(&f->genesis);
}

int ts_chain_restart(ts_chain *f)
{
    tc_chain_free(f->chain);
    f->chain = NULL;
    if (f->opts.lmdb_dir != NULL) {
        tc_store_close(f->store);
        f->store = NULL;
        int rc = open_store(f);
        if (rc != 0)
            return rc;
    } else {
        tc_store_mem_crash(f->store);
    }
    return tc_chain_open(f->store, &f->genesis, &f->verifier, &f->chain);
}

void ts_chain_addr(const ts_chain *f, const char *kind, uint32_t i, tc_addr_hash *out)
{
    tc_keypair kp;
    int rc = tc_genesis_key(f->master, kind, i, &kp);
    TC_ASSERT(rc == 0);
    tc_addr_from_pubkey(&kp.pub, out);
}

void ts_chain_genesis_outpoint(const ts_chain *f, uint32_t index, tc_outpoint *out)
{
    tc_chain_genesis_hash(f->chain, &out->txid);
    out->index = index;
}

const tc_keypair *ts_chain_vkey(const ts_chain *f, const tc_pubkey *key)
{
    for (uint32_t i = 0; i < TS_CHAIN_KEYS; i++)
        if (memcmp(f->vkeys[i].pub.b, key->b, TC_PUBKEY_SIZE) == 0)
            return &f->vkeys[i];
    return NULL;
}

int ts_chain_sign_commit(ts_chain *f, uint64_t height, uint32_t round, const tc_hash *block,
                         uint64_t signers, tc_commit *out)
{
    const tc_vset *vs;
    memset(out, 0, sizeof(*out));
    int rc = tc_chain_vset(f->chain, tc_chain_epoch_of(f->chain, height), &vs);
    if (rc != 0)
        return rc;
    TC_ASSERT(vs->count <= 64);
    *out = (tc_commit){.height = height, .round = round, .block = *block};
    out->sigs = calloc(vs->count ? vs->count : 1, sizeof(*out->sigs));
    if (out->sigs == NULL)
        return TC_ENOMEM;
    for (uint32_t i = 0; i < vs->count; i++) {
        if ((signers >> i & 1) == 0)
            continue;
        const tc_keypair *kp = ts_chain_vkey(f, &vs->members[i].key);
        if (kp == NULL) {
            tc_commit_deinit(out);
            return TC_ENOTFOUND;
        }
        tc_vote v = {.type = TC_VOTE_PRECOMMIT,
                     .height = height,
                     .round = round,
                     .pol_round = TC_ROUND_NONE,
                     .block = *block,
                     .validator = i};
        tc_vote_sign(&v, f->opts.scheme, kp);
        out->sigs[out->sig_count++] = (tc_commit_sig){.validator = i, .sig = v.sig};
    }
    return 0;
}

int ts_chain_evidence(ts_chain *f, uint64_t height, uint32_t validator, tc_evidence *out)
{
    const tc_vset *vs;
    memset(out, 0, sizeof(*out));
    int rc = tc_chain_vset(f->chain, tc_chain_epoch_of(f->chain, height), &vs);
    if (rc != 0)
        return rc;
    if (validator >= vs->count)
        return TC_EINVAL;
    const tc_keypair *kp = ts_chain_vkey(f, &vs->members[validator].key);
    if (kp == NULL)
        return TC_ENOTFOUND;
    tc_vote a = {.type = TC_VOTE_PRECOMMIT,
                 .height = height,
                 .pol_round = TC_ROUND_NONE,
                 .validator = validator};
    tc_vote b = a;
    tc_hash_tagged(&a.block, "ts/evidence-a", &height, sizeof(height));
    tc_hash_tagged(&b.block, "ts/evidence-b", &height, sizeof(height));
    tc_vote_sign(&a, f->opts.scheme, kp);
    tc_vote_sign(&b, f->opts.scheme, kp);
    tc_evidence_from_votes(out, &a, &b);
    return 0;
}

int ts_chain_amnesia(ts_chain *f, uint64_t height, uint32_t validator, uint32_t pol_round,
                     tc_evidence *out)
{
    const tc_vset *vs;
    memset(out, 0, sizeof(*out));
    int rc = tc_chain_vset(f->chain, tc_chain_epoch_of(f->chain, height), &vs);
    if (rc != 0)
        return rc;
    if (validator >= vs->count)
        return TC_EINVAL;
    const tc_keypair *kp = ts_chain_vkey(f, &vs->members[validator].key);
    if (kp == NULL)
        return TC_ENOTFOUND;
    tc_vote pc = {.type = TC_VOTE_PRECOMMIT,
                  .height = height,
                  .round = 1,
                  .pol_round = TC_ROUND_NONE,
                  .validator = validator};
    tc_vote pv = pc;
    pv.type = TC_VOTE_PREVOTE;
    pv.round = 2;
    pv.pol_round = pol_round;
    tc_hash_tagged(&pc.block, "ts/amnesia-a", &height, sizeof(height));
    tc_hash_tagged(&pv.block, "ts/amnesia-b", &height, sizeof(height));
    tc_vote_sign(&pc, f->opts.scheme, kp);
    tc_vote_sign(&pv, f->opts.scheme, kp);
    out->kind = TC_EVIDENCE_AMNESIA;
    out->a = pc;
    out->b = pv;
    return 0;
}

int ts_chain_handoff(ts_chain *f, uint32_t epoch, uint32_t validator, const tc_hash *txids,
                     uint32_t txid_count, tc_handoff *out)
{
    const tc_vset *vs;
    memset(out, 0, sizeof(*out));
    int rc = tc_chain_vset(f->chain, epoch, &vs);
    if (rc != 0)
        return rc;
    if (validator >= vs->count)
        return TC_EINVAL;
    const tc_keypair *kp = ts_chain_vkey(f, &vs->members[validator].key);
    if (kp == NULL)
        return TC_ENOTFOUND;
    out->txids = malloc(txid_count ? (size_t)txid_count * TC_HASH_SIZE : 1);
    if (out->txids == NULL)
        return TC_ENOMEM;
    if (txid_count > 0)
        memcpy(out->txids, txids, (size_t)txid_count * TC_HASH_SIZE);
    out->txid_count = txid_count;
    out->epoch = epoch;
    out->validator = validator;
    tc_handoff_sign(out, f->opts.scheme, kp);
    return 0;
}

void ts_handoffs_free(tc_handoff *hs, uint32_t count)
{
    for (uint32_t i = 0; hs != NULL && i < count; i++)
        tc_handoff_deinit(&hs[i]);
    free(hs);
}

int ts_chain_handoffs(ts_chain *f, uint32_t epoch, uint64_t signers, tc_handoff **out,
                      uint32_t *count_out)
{
    const tc_vset *vs;
    *out = NULL;
    *count_out = 0;
    int rc = tc_chain_vset(f->chain, epoch, &vs);
    if (rc != 0)
        return rc;
    TC_ASSERT(vs->count <= 64);
    uint32_t count = vs->count; /* the set moves on in ts_chain_handoff's look-ups: keep it */
    tc_handoff *hs = calloc(count ? count : 1, sizeof(*hs));
    if (hs == NULL)
        return TC_ENOMEM;
    uint32_t n = 0;
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        if ((signers >> i & 1) == 0)
            continue;
        rc = ts_chain_handoff(f, epoch, i, NULL, 0, &hs[n]);
        n += rc == 0;
    }
    if (rc != 0) {
        ts_handoffs_free(hs, n);
        return rc;
    }
    *out = hs;
    *count_out = n;
    return 0;
}

int ts_chain_build_handoffs(ts_chain *f, const tc_tx *txs, uint32_t tx_count, const tc_evidence *ev,
                            uint32_t ev_count, const tc_handoff *hs, uint32_t h_count,
                            tc_block *out)
{
    uint64_t height = tc_chain_height(f->chain) + 1;
    const tc_vset *vs;
    int rc = tc_chain_vset(f->chain, tc_chain_epoch_of(f->chain, height), &vs);
    if (rc != 0)
        return rc;
    TC_ASSERT(vs->count > 0);
    tc_chain_build_args a = {.txs = txs,
                             .tx_count = tx_count,
                             .time_ms = tc_chain_tip_time_ms(f->chain) + TS_BLOCK_STEP_MS,
                             .proposer = (uint32_t)(height % vs->count),
                             .last_commit = &f->commit,
                             .evidence = ev,
                             .evidence_count = ev_count,
                             .handoffs = hs,
                             .handoff_count = h_count};
    return tc_chain_build(f->chain, &a, out);
}

int ts_chain_build(ts_chain *f, const tc_tx *txs, uint32_t tx_count, const tc_evidence *ev,
                   uint32_t ev_count, tc_block *out)
{
    uint64_t height = tc_chain_height(f->chain) + 1;
    uint32_t epoch = tc_chain_epoch_of(f->chain, height);
    tc_handoff *hs = NULL;
    uint32_t h_count = 0;
    int rc = 0;
    if (height == tc_mnreg_epoch_last_height(tc_chain_profile(f->chain), epoch))
        rc = ts_chain_handoffs(f, epoch, TS_ALL_SIGNERS, &hs, &h_count);
    if (rc == 0)
        rc = ts_chain_build_handoffs(f, txs, tx_count, ev, ev_count, hs, h_count, out);
    ts_handoffs_free(hs, h_count);
    return rc;
}

int ts_chain_accept(ts_chain *f, const tc_block *b)
{
    int rc = tc_chain_apply(f->chain, b);
    if (rc != 0)
        return rc;
    tc_hash hash;
    tc_commit next;
    tc_block_hash(&b->header, &hash);
    rc = ts_chain_sign_commit(f, b->header.height, b->header.round, &hash, TS_ALL_SIGNERS, &next);
    if (rc != 0)
        return rc;
    tc_commit_deinit(&f->commit);
    f->commit = next;
    return 0;
}

int ts_chain_advance(ts_chain *f, const tc_tx *txs, uint32_t tx_count, const tc_evidence *ev,
                     uint32_t ev_count)
{
    tc_block b;
    int rc = ts_chain_build(f, txs, tx_count, ev, ev_count, &b);
    if (rc != 0)
        return rc;
    rc = ts_chain_accept(f, &b);
    tc_block_deinit(&b);
    return rc;
}
