/* ledger_job.c — `timesim ledger` (see ledger_job.h). The job plays three roles around one
 * chain: wallets that submit transactions, a validator that admits and locks them, and a
 * proposer with a quorum of signers that builds and commits blocks. Every random choice comes
 * from the job's seeded generator, so a run is a function of its options.
 */
#include "ledger_job.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block.h"
#include "chain.h"
#include "genesis.h"
#include "ledger.h"
#include "mempool.h"
#include "mnreg.h"
#include "store.h"
#include "utxo.h"

typedef struct {
    tc_outpoint op;
    uint64_t amount;
} coin;

typedef struct {
    tc_keypair kp;
    tc_addr_hash addr;
    coin *coins;
    uint32_t coin_count, coin_cap;
} wallet;

/* The planned events of a run, as heights (0: not planned). */
typedef struct {
    uint64_t register_at, collateral_probe_at, retire_at, spend_collateral_at, evidence_at;
} plan;

typedef struct {
    const tc_ledger_job_opts *o;
    tc_ledger_job_result *res;
    tc_rng rng;
    uint8_t master[TC_SEED_SIZE];
    tc_genesis genesis;
    char dir[64]; /* LMDB folder */
    tc_store *store;
    tc_chain *chain;
    tc_mempool *pool;
    tc_verify_cache *cache;
    tc_verifier verifier;
    wallet *wallets;
    tc_keypair *vkeys; /* every validator key the job knows: genesis ones, then registered */
    uint32_t vkey_count;
    tc_commit last_commit; /* certifies the tip, for the next block's header */
    uint32_t tip_round;
    tc_hasher fingerprint;
    plan plan;
    tc_pubkey registered_key;
    tc_outpoint registered_collateral;
    tc_evidence pending_evidence;
    bool has_pending_evidence;
} job;

static void fail(job *j, const char *what, int code)
{
    if (j->res->failures++ == 0)
        snprintf(j->res->failure, sizeof(j->res->failure), "height %llu: %s (%s)",
                 (unsigned long long)tc_chain_height(j->chain), what, tc_strerror(code));
}

static uint64_t pick(job *j, uint64_t bound)
{
    return tc_rng_below(&j->rng, bound);
}

/* ---- wallets ---- */

static int wallet_add_coin(wallet *w, const tc_outpoint *op, uint64_t amount)
{
    if (w->coin_count == w->coin_cap) {
        uint32_t cap = w->coin_cap ? 2 * w->coin_cap : 8;
        coin *bigger = realloc(w->coins, cap * sizeof(*bigger));
        if (bigger == NULL)
            return TC_ENOMEM;
        w->coins = bigger;
        w->coin_cap = cap;
    }
    w->coins[w->coin_count++] = (coin){.op = *op, .amount = amount};
    return 0;
}

/* Takes the wallet's largest coin out of it (the job then spends it or puts it back). */
static bool wallet_take_largest(wallet *w, coin *out)
{
    if (w->coin_count == 0)
        return false;
    uint32_t best = 0;
    for (uint32_t i = 1; i < w->coin_count; i++)
        if (w->coins[i].amount > w->coins[best].amount)
            best = i;
    *out = w->coins[best];
    w->coins[best] = w->coins[--w->coin_count];
    return true;
}

static wallet *wallet_of(job *j, const tc_addr_hash *addr)
{
    for (uint32_t i = 0; i < j->o->wallets; i++)
        if (memcmp(j->wallets[i].addr.b, addr->b, TC_ADDR_HASH_SIZE) == 0)
            return &j->wallets[i];
    return NULL;
}

/* Credits the outputs of a confirmed transaction to the wallets that own them. Collateral is
 * credited only once released (the plan knows when). */
static int credit_outputs(job *j, const tc_tx *tx, const tc_hash *txid)
{
    for (uint32_t i = 0; i < tx->output_count; i++) {
        wallet *w = wallet_of(j, &tx->outputs[i].addr);
        bool collateral = tx->kind == TC_TX_MN_REGISTER && i == 0;
        tc_outpoint op = {.txid = *txid, .index = i};
        if (collateral)
            j->registered_collateral = op;
        else if (w != NULL && wallet_add_coin(w, &op, tx->outputs[i].amount) != 0)
            return TC_ENOMEM;
    }
    return 0;
}

/* ---- transactions ---- */

typedef enum {
    BAD_NONE,
    BAD_SIG,
    BAD_OVERSPEND,
    BAD_LOW_FEE,
    BAD_DUST,
    BAD_OWNER,
    BAD_KIND_COUNT
} bad_kind;

static const int bad_expect[BAD_KIND_COUNT] = {
    [BAD_NONE] = 0,
    [BAD_SIG] = TC_ETX_BAD_SIG,
    [BAD_OVERSPEND] = TC_ETX_OVERSPEND,
    [BAD_LOW_FEE] = TC_ETX_LOW_FEE,
    [BAD_DUST] = TC_ETX_DUST,
    [BAD_OWNER] = TC_ETX_WRONG_OWNER,
};

/* A 1-input, 2-output transfer of part of c from w to to, broken as bad says. */
static int make_transfer(job *j, const wallet *w, const coin *c, const tc_addr_hash *to,
                         bad_kind bad, tc_tx *tx)
{
    const tc_profile *p = tc_chain_profile(j->chain);
    uint64_t fee = p->min_fee_base + c->amount / 1000 + pick(j, 1000);
    if (c->amount < fee + 2 * p->dust_limit)
        return TC_EINVAL; /* too small to split */
    uint64_t rest = c->amount - fee;
    uint64_t pay = p->dust_limit + pick(j, rest - 2 * p->dust_limit + 1);
    int rc = tc_tx_init_alloc(tx, TC_TX_TRANSFER, 1, 2);
    if (rc != 0)
        return rc;
    tx->inputs[0].prev = c->op;
    tx->inputs[0].pub = w->kp.pub;
    tx->outputs[0] = (tc_txout){.amount = pay, .addr = *to};
    tx->outputs[1] = (tc_txout){.amount = rest - pay, .addr = w->addr};
    if (bad == BAD_OVERSPEND)
        tx->outputs[1].amount += fee + 1;
    if (bad == BAD_LOW_FEE) /* a fee below the base alone is below min_fee for any outputs */
        tx->outputs[1].amount = c->amount - pay - (p->min_fee_base - 1);
    if (bad == BAD_DUST)
        tx->outputs[0].amount = p->dust_limit - 1;
    const tc_keypair *signer = &w->kp;
    if (bad == BAD_OWNER) {
        signer = &j->wallets[(w - j->wallets + 1) % j->o->wallets].kp;
        tx->inputs[0].pub = signer->pub;
    }
    tc_hash txid;
    tc_tx_id(tx, &txid);
    tc_tx_sign_input(tx, &txid, 0, j->o->scheme, signer);
    if (bad == BAD_SIG)
        tx->inputs[0].sig.b[7] ^= 0x20;
    return 0;
}

/* The validator's admission path: ledger check in vote mode, pool, then durable locks on the
 * inputs before the (notional) vote. Returns the ledger's or pool's code. */
static int admit(job *j, const tc_tx *tx)
{
    tc_hash txid;
    uint64_t fee = 0;
    tc_store_txn *t = NULL;
    tc_tx_id(tx, &txid);
    j->res->txs_submitted++;
    int rc = tc_store_begin(j->store, true, &t);
    if (rc != 0)
        return rc;
    rc = tc_ledger_check_tx(tc_chain_profile(j->chain), &j->verifier, t, tx, &txid, TC_LEDGER_VOTE,
                            &fee);
    if (rc == 0)
        rc = tc_mempool_add(j->pool, tx, &txid, fee, TC_MEMPOOL_PEER_LOCAL, NULL);
    for (uint32_t i = 0; rc == 0 && i < tx->input_count; i++)
        rc = tc_utxo_lock(t, &tx->inputs[i].prev, &txid);
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    if (rc == 0)
        rc = tc_mempool_mark_voted(j->pool, &txid);
    else if (tc_mempool_contains(j->pool, &txid))
        (void)tc_mempool_remove(j->pool, &txid);
    if (rc < 0 && -rc < TC_JOB_CODES)
        j->res->rejected[-rc]++;
    return rc;
}

/* One submission: a good transfer, or a broken one that must be rejected with its code. */
static int submit_one(job *j)
{
    wallet *w = &j->wallets[pick(j, j->o->wallets)];
    const tc_addr_hash *to = &j->wallets[pick(j, j->o->wallets)].addr;
    coin c;
    if (!wallet_take_largest(w, &c))
        return 0;
    bad_kind bad = pick(j, 10) == 0 ? (bad_kind)(1 + pick(j, BAD_KIND_COUNT - 1)) : BAD_NONE;
    tc_tx tx;
    int rc = make_transfer(j, w, &c, to, bad, &tx);
    if (rc == TC_EINVAL)
        return 0; /* dust-sized coin: the wallet forgets it */
    if (rc != 0)
        return rc;
    rc = admit(j, &tx);
    if (rc != bad_expect[bad])
        fail(j,
             bad == BAD_NONE ? "a valid transfer was rejected"
                             : "a broken transfer was not rejected with its code",
             rc);
    if (rc == 0 && pick(j, 8) == 0) {
        /* The same coin again, to someone else: a double spend the lock must stop. */
        tc_tx twin;
        wallet *other = &j->wallets[pick(j, j->o->wallets)];
        if (make_transfer(j, w, &c, &other->addr, BAD_NONE, &twin) == 0) {
            int twin_rc = admit(j, &twin);
            if (twin_rc != TC_ETX_LOCKED)
                fail(j, "a double spend was not refused by the input lock", twin_rc);
            tc_tx_deinit(&twin);
        }
    }
    if (rc != 0 && wallet_add_coin(w, &c.op, c.amount) != 0)
        rc = TC_ENOMEM;
    else if (rc != 0)
        rc = 0; /* rejected as expected (or counted as a failure): the coin stays */
    tc_tx_deinit(&tx);
    return rc;
}

/* ---- validator keys ---- */

static const tc_keypair *find_vkey(const job *j, const tc_pubkey *key)
{
    for (uint32_t i = 0; i < j->vkey_count; i++)
        if (memcmp(j->vkeys[i].pub.b, key->b, TC_PUBKEY_SIZE) == 0)
            return &j->vkeys[i];
    return NULL;
}

/* ---- planned events: registration, collateral rules, retirement, evidence ---- */

/* Wallet 0 registers a new bronze masternode whose key the job derives, so it can sign once
 * it joins the validator set at the next epoch. */
static int event_register(job *j)
{
    const tc_profile *p = tc_chain_profile(j->chain);
    wallet *w = &j->wallets[0];
    coin c;
    tc_tx tx;
    if (!wallet_take_largest(w, &c))
        return 0;
    uint64_t collateral = tc_tier_collateral(p, TC_TIER_BRONZE), fee = 0;
    int rc = tc_tx_min_fee(p, c.amount, &fee);
    if (rc != 0 || c.amount < collateral + fee + p->dust_limit) {
        fail(j, "wallet 0 cannot afford a registration", rc);
        return wallet_add_coin(w, &c.op, c.amount);
    }
    tc_keypair *kp = &j->vkeys[j->vkey_count];
    (void)tc_genesis_key(j->master, "validator", j->vkey_count, kp);
    rc = tc_tx_init_alloc(&tx, TC_TX_MN_REGISTER, 1, 2);
    if (rc != 0)
        return rc;
    tx.inputs[0] = (tc_txin){.prev = c.op, .pub = w->kp.pub};
    tx.outputs[0] = (tc_txout){.amount = collateral, .addr = w->addr};
    tx.outputs[1] = (tc_txout){.amount = c.amount - collateral - fee, .addr = w->addr};
    tx.mn_key = kp->pub;
    tx.mn_tier = TC_TIER_BRONZE;
    tx.net_addr_len =
        (uint8_t)snprintf(tx.net_addr, sizeof(tx.net_addr), "127.0.0.1:%u", 24100 + j->vkey_count);
    tc_hash txid;
    tc_tx_id(&tx, &txid);
    tc_tx_sign_input(&tx, &txid, 0, j->o->scheme, &w->kp);
    tc_tx_sign_mn(&tx, &txid, j->o->scheme, kp);
    rc = admit(j, &tx);
    if (rc == 0) {
        j->registered_key = kp->pub;
        j->vkey_count++;
        j->res->registrations++;
    } else {
        fail(j, "the registration was rejected", rc);
        rc = wallet_add_coin(w, &c.op, c.amount);
    }
    tc_tx_deinit(&tx);
    return rc;
}

/* Wallet 0 tries to spend its locked collateral: a transfer may not (TC_ETX_COLLATERAL). */
static int event_collateral_probe(job *j)
{
    coin c = {.op = j->registered_collateral};
    tc_tx tx;
    tc_store_txn *t = NULL;
    tc_utxo_entry e;
    int rc = tc_store_begin(j->store, false, &t);
    if (rc == 0)
        rc = tc_utxo_get(t, &c.op, &e);
    tc_store_abort(t);
    if (rc != 0) {
        fail(j, "the registration's collateral is not in the UTXO set", rc);
        return 0;
    }
    c.amount = e.amount;
    rc = make_transfer(j, &j->wallets[0], &c, &j->wallets[1].addr, BAD_NONE, &tx);
    if (rc != 0)
        return rc;
    rc = admit(j, &tx);
    if (rc != TC_ETX_COLLATERAL)
        fail(j, "spending locked collateral was not refused", rc);
    tc_tx_deinit(&tx);
    return 0;
}

static int event_retire(job *j)
{
    wallet *w = &j->wallets[0];
    coin c;
    tc_tx tx;
    if (!wallet_take_largest(w, &c))
        return 0;
    uint64_t fee = tc_chain_profile(j->chain)->min_fee_base + c.amount / 1000;
    int rc = tc_tx_init_alloc(&tx, TC_TX_MN_RETIRE, 1, 1);
    if (rc != 0)
        return rc;
    tx.inputs[0] = (tc_txin){.prev = c.op, .pub = w->kp.pub};
    tx.outputs[0] = (tc_txout){.amount = c.amount - fee, .addr = w->addr};
    tx.mn_key = j->registered_key;
    tc_hash txid;
    tc_tx_id(&tx, &txid);
    tc_tx_sign_input(&tx, &txid, 0, j->o->scheme, &w->kp);
    rc = admit(j, &tx);
    if (rc == 0) {
        j->res->retirements++;
    } else {
        fail(j, "the retirement was rejected", rc);
        rc = wallet_add_coin(w, &c.op, c.amount);
    }
    tc_tx_deinit(&tx);
    return rc;
}

/* Once the retirement epoch began, the former collateral is an ordinary coin of wallet 0. */
static int event_spend_collateral(job *j)
{
    tc_store_txn *t = NULL;
    tc_utxo_entry e;
    int rc = tc_store_begin(j->store, false, &t);
    if (rc == 0)
        rc = tc_utxo_get(t, &j->registered_collateral, &e);
    tc_store_abort(t);
    if (rc != 0 || e.flags != 0) {
        fail(j, "the retired masternode's collateral was not released", rc);
        return 0;
    }
    return wallet_add_coin(&j->wallets[0], &j->registered_collateral, e.amount);
}

/* Validator 1 of the tip's set signs two different precommits for the tip's height; the next
 * block carries the evidence and burns its collateral. */
static int event_evidence(job *j)
{
    uint64_t height = tc_chain_height(j->chain);
    const tc_vset *vs;
    int rc = tc_chain_vset(j->chain, tc_chain_epoch_of(j->chain, height), &vs);
    if (rc != 0 || vs->count < 4)
        return rc;
    const tc_keypair *kp = find_vkey(j, &vs->members[1].key);
    TC_ASSERT(kp != NULL);
    tc_vote a = {.type = TC_VOTE_PRECOMMIT,
                 .height = height,
                 .round = j->tip_round,
                 .pol_round = TC_ROUND_NONE,
                 .validator = 1};
    tc_vote b = a;
    tc_chain_tip(j->chain, &a.block);
    tc_hash_tagged(&b.block, "tc/job-fake-block", &height, sizeof(height));
    tc_vote_sign(&a, j->o->scheme, kp);
    tc_vote_sign(&b, j->o->scheme, kp);
    tc_evidence_from_votes(&j->pending_evidence, &a, &b);
    j->has_pending_evidence = true;
    return 0;
}

static int run_events(job *j, uint64_t next_height)
{
    const plan *pl = &j->plan;
    int rc = 0;
    if (next_height == pl->register_at)
        rc = event_register(j);
    if (rc == 0 && next_height == pl->collateral_probe_at && j->res->registrations > 0)
        rc = event_collateral_probe(j);
    if (rc == 0 && next_height == pl->retire_at && j->res->registrations > 0)
        rc = event_retire(j);
    if (rc == 0 && next_height == pl->spend_collateral_at && j->res->retirements > 0)
        rc = event_spend_collateral(j);
    if (rc == 0 && next_height == pl->evidence_at)
        rc = event_evidence(j);
    return rc;
}

/* ---- blocks ---- */

/* Signs the tip's commit certificate with a random quorum (plus some extra signers) of the
 * tip's validator set, for the next block's last_commit. */
static int sign_commit(job *j, const tc_hash *block_hash, uint64_t height, uint32_t round)
{
    const tc_vset *vs;
    int rc = tc_chain_vset(j->chain, tc_chain_epoch_of(j->chain, height), &vs);
    if (rc != 0)
        return rc;
    bool *chosen = calloc(vs->count, sizeof(*chosen));
    tc_commit_sig *sigs = calloc(vs->count, sizeof(*sigs));
    if (chosen == NULL || sigs == NULL) {
        free(chosen);
        free(sigs);
        return TC_ENOMEM;
    }
    uint64_t weight = 0, quorum = tc_vset_quorum(vs);
    while (weight < quorum) {
        uint32_t i = (uint32_t)pick(j, vs->count);
        if (!chosen[i]) {
            chosen[i] = true;
            weight += vs->members[i].weight;
        }
    }
    tc_commit_deinit(&j->last_commit);
    j->last_commit = (tc_commit){.height = height, .round = round, .block = *block_hash};
    j->last_commit.sigs = sigs;
    for (uint32_t i = 0; i < vs->count; i++) {
        if (!chosen[i] && pick(j, 2) == 0)
            continue;
        const tc_keypair *kp = find_vkey(j, &vs->members[i].key);
        TC_ASSERT(kp != NULL); /* the job derived every validator key it registered */
        tc_vote v = {.type = TC_VOTE_PRECOMMIT,
                     .height = height,
                     .round = round,
                     .pol_round = TC_ROUND_NONE,
                     .block = *block_hash,
                     .validator = i};
        tc_vote_sign(&v, j->o->scheme, kp);
        sigs[j->last_commit.sig_count++] = (tc_commit_sig){.validator = i, .sig = v.sig};
    }
    free(chosen);
    return 0;
}

static void handoffs_free(tc_handoff *hs, uint32_t count)
{
    for (uint32_t i = 0; hs != NULL && i < count; i++)
        tc_handoff_deinit(&hs[i]);
    free(hs);
}

/* The closing block of an epoch carries handoffs (PROTOCOL 11.8) of a random quorum (plus some
 * extra validators) of the epoch's set, in index order. The job runs no finality, so no validator
 * holds an unconfirmed vote: each honest handoff names no transaction. Other heights: none. */
static int sign_handoffs(job *j, uint64_t height, tc_handoff **out, uint32_t *count_out)
{
    uint32_t epoch = tc_chain_epoch_of(j->chain, height);
    const tc_vset *vs;
    *out = NULL;
    *count_out = 0;
    if (height != tc_mnreg_epoch_last_height(tc_chain_profile(j->chain), epoch))
        return 0;
    int rc = tc_chain_vset(j->chain, epoch, &vs);
    if (rc != 0)
        return rc;
    bool *chosen = calloc(vs->count, sizeof(*chosen));
    tc_handoff *hs = calloc(vs->count, sizeof(*hs));
    if (chosen == NULL || hs == NULL) {
        free(chosen);
        free(hs);
        return TC_ENOMEM;
    }
    uint64_t weight = 0, quorum = tc_vset_quorum(vs);
    while (weight < quorum) {
        uint32_t i = (uint32_t)pick(j, vs->count);
        weight += chosen[i] ? 0 : vs->members[i].weight;
        chosen[i] = true;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < vs->count; i++) {
        if (!chosen[i] && pick(j, 2) == 0)
            continue;
        const tc_keypair *kp = find_vkey(j, &vs->members[i].key);
        TC_ASSERT(kp != NULL); /* the job derived every validator key it registered */
        hs[n] = (tc_handoff){.epoch = epoch, .validator = i}; /* no txids */
        tc_handoff_sign(&hs[n++], j->o->scheme, kp);
    }
    free(chosen);
    TC_ASSERT(n > 0 && n <= vs->count);
    *out = hs;
    *count_out = n;
    return 0;
}

/* After a closing block: its carry list is chain data, empty since every handoff was. */
static void check_carry_list(job *j, uint64_t height)
{
    uint32_t epoch = tc_chain_epoch_of(j->chain, height);
    tc_hash *txids = NULL;
    uint32_t count = 0;
    if (height != tc_mnreg_epoch_last_height(tc_chain_profile(j->chain), epoch))
        return;
    int rc = tc_chain_carry_list(j->chain, epoch, &txids, &count);
    if (rc != 0 || count != 0)
        fail(j, "the closing block's carry list is not the empty union of its handoffs", rc);
    free(txids);
}

static int collect_block_txs(job *j, tc_tx **txs_out, uint32_t *count_out)
{
    uint32_t cap = tc_mempool_count(j->pool), n = 0;
    const tc_profile *p = tc_chain_profile(j->chain);
    if (cap > p->block_txs_max)
        cap = p->block_txs_max;
    tc_tx *txs = calloc(cap ? cap : 1, sizeof(*txs));
    if (txs == NULL)
        return TC_ENOMEM;
    tc_mempool_iter it;
    tc_mempool_item item;
    tc_mempool_iter_init(j->pool, &it);
    while (n < cap && tc_mempool_iter_next(j->pool, &it, &item))
        txs[n++] = *item.tx; /* shallow: the pool keeps ownership until the block is applied */
    *txs_out = txs;
    *count_out = n;
    return 0;
}

static void csv_row(job *j, FILE *csv, const tc_block *b)
{
    tc_chain_supply s;
    if (csv == NULL || tc_chain_supply_get(j->chain, &s) != 0)
        return;
    fprintf(csv, "%llu,%llu,%u,%u,%u,%u,%u,%llu,%llu,%llu,%llu\n",
            (unsigned long long)b->header.height, (unsigned long long)b->header.time_ms,
            b->header.round, b->header.proposer, b->tx_count, b->header.last_commit.sig_count,
            b->reward_count, (unsigned long long)s.fees_total, (unsigned long long)s.utxo_count,
            (unsigned long long)s.utxo_total, (unsigned long long)s.burned_total);
}

/* Builds, applies and books the next block. */
static int next_block(job *j, FILE *csv)
{
    uint64_t height = tc_chain_height(j->chain) + 1;
    const tc_vset *vs;
    tc_tx *txs = NULL;
    tc_handoff *hs = NULL;
    uint32_t n = 0, h_count = 0, round = (uint32_t)(pick(j, 4) == 0 ? 1 + pick(j, 2) : 0);
    int rc = tc_chain_vset(j->chain, tc_chain_epoch_of(j->chain, height), &vs);
    uint32_t proposer = rc == 0 ? (uint32_t)pick(j, vs->count) : 0;
    if (rc == 0)
        rc = collect_block_txs(j, &txs, &n);
    if (rc == 0)
        rc = sign_handoffs(j, height, &hs, &h_count);
    if (rc != 0) {
        free(txs);
        return rc;
    }
    tc_block b;
    tc_chain_build_args a = {.txs = txs,
                             .tx_count = n,
                             .time_ms = j->genesis.time_ms +
                                        height * tc_chain_profile(j->chain)->block_interval_ms,
                             .round = round,
                             .proposer = proposer,
                             .last_commit = &j->last_commit,
                             .evidence = j->has_pending_evidence ? &j->pending_evidence : NULL,
                             .evidence_count = j->has_pending_evidence ? 1 : 0,
                             .handoffs = hs,
                             .handoff_count = h_count};
    rc = tc_chain_build(j->chain, &a, &b);
    free(txs);
    handoffs_free(hs, h_count);
    if (rc != 0) {
        fail(j, "the proposer could not build a block", rc);
        return rc;
    }
    rc = tc_chain_apply(j->chain, &b);
    if (rc != 0) {
        fail(j, "the chain refused the block its proposer built", rc);
        tc_block_deinit(&b);
        return rc;
    }
    j->res->evidence += b.header.evidence_count;
    j->has_pending_evidence = false;
    tc_hash hash;
    tc_block_hash(&b.header, &hash);
    tc_hasher_update(&j->fingerprint, hash.b, TC_HASH_SIZE);
    for (uint32_t i = 0; rc == 0 && i < b.tx_count; i++) {
        tc_hash txid;
        tc_tx_id(&b.txs[i].tx, &txid);
        tc_mempool_remove_confirmed(j->pool, &b.txs[i].tx, &txid, NULL);
        rc = credit_outputs(j, &b.txs[i].tx, &txid);
        j->res->txs_confirmed++;
    }
    csv_row(j, csv, &b);
    check_carry_list(j, height);
    if (rc == 0)
        rc = sign_commit(j, &hash, height, round);
    tc_block_deinit(&b);
    return rc;
}

/* ---- set-up, restart, teardown ---- */

static int open_store(job *j)
{
    if (!j->o->lmdb) {
        j->store = tc_store_mem_new();
        return j->store ? 0 : TC_ENOMEM;
    }
    if (j->dir[0] == 0) {
        strcpy(j->dir, "/tmp/timesim-ledger-XXXXXX");
        if (mkdtemp(j->dir) == NULL) {
            j->dir[0] = 0;
            return TC_ESTORE_IO;
        }
    }
    return tc_store_lmdb_open(j->dir, (size_t)1 << 30, &j->store);
}

static void remove_store_dir(job *j)
{
    static const char *files[] = {"data.mdb", "lock.mdb"};
    char path[128];
    if (j->dir[0] == 0)
        return;
    for (size_t i = 0; i < TC_ARRAY_LEN(files); i++) {
        snprintf(path, sizeof(path), "%s/%s", j->dir, files[i]);
        unlink(path);
    }
    rmdir(j->dir);
}

static int make_genesis(job *j)
{
    const tc_ledger_job_opts *o = j->o;
    tc_seed_from_u64(j->master, o->seed);
    int rc = tc_genesis_create(&j->genesis, TC_NET_TESTNET, j->master, o->validators, NULL,
                               o->wallets, 1000000 * TC_UNITS_PER_TIME, UINT64_C(1767225600000));
    if (rc == 0)
        rc = tc_profile_set(&j->genesis.profile, "epoch_blocks", o->epoch_blocks);
    if (rc == 0)
        rc = tc_genesis_check(&j->genesis, NULL, 0);
    return rc;
}

static int setup(job *j)
{
    const tc_ledger_job_opts *o = j->o;
    tc_rng_init_u64(&j->rng, o->seed);
    tc_hasher_init(&j->fingerprint, "tc/job-fingerprint");
    int rc = make_genesis(j);
    uint8_t master[TC_SEED_SIZE], cache_key[TC_SEED_SIZE];
    tc_seed_from_u64(master, o->seed);
    tc_seed_derive(cache_key, master, "verify-cache", 0);
    j->cache = tc_verify_cache_new(1 << 16, cache_key);
    j->verifier = (tc_verifier){.scheme = o->scheme, .cache = j->cache};
    j->wallets = calloc(o->wallets, sizeof(*j->wallets));
    j->vkeys = calloc(o->validators + 1, sizeof(*j->vkeys));
    j->pool = tc_mempool_new(&j->genesis.profile, NULL, NULL);
    if (rc == 0 && (!j->cache || !j->wallets || !j->vkeys || !j->pool))
        rc = TC_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < o->validators; i++)
        rc = tc_genesis_key(j->master, "validator", i, &j->vkeys[j->vkey_count++]);
    for (uint32_t w = 0; rc == 0 && w < o->wallets; w++) {
        rc = tc_genesis_key(j->master, "wallet", w, &j->wallets[w].kp);
        tc_addr_from_pubkey(&j->wallets[w].kp.pub, &j->wallets[w].addr);
        tc_hash gh;
        tc_genesis_hash(&j->genesis, &gh);
        tc_outpoint op = {.txid = gh, .index = w};
        if (rc == 0)
            rc = wallet_add_coin(&j->wallets[w], &op, j->genesis.outputs[w].amount);
    }
    if (rc == 0)
        rc = open_store(j);
    if (rc == 0)
        rc = tc_chain_open(j->store, &j->genesis, &j->verifier, &j->chain);
    return rc;
}

/* The node stops between two blocks and comes back from its store alone. */
static int restart(job *j)
{
    tc_chain_free(j->chain);
    j->chain = NULL;
    if (j->o->lmdb) {
        tc_store_close(j->store);
        j->store = NULL;
        int rc = open_store(j);
        if (rc != 0)
            return rc;
    } else {
        tc_store_mem_crash(j->store);
    }
    int rc = tc_chain_open(j->store, &j->genesis, &j->verifier, &j->chain);
    if (rc == 0)
        rc = tc_chain_verify_integrity(j->chain);
    if (rc == 0)
        j->res->restarts++;
    else
        fail(j, "the node did not recover from its store", rc);
    return rc;
}

static void teardown(job *j)
{
    tc_chain_free(j->chain);
    tc_store_close(j->store);
    remove_store_dir(j);
    tc_mempool_free(j->pool);
    for (uint32_t w = 0; j->wallets && w < j->o->wallets; w++)
        free(j->wallets[w].coins);
    free(j->wallets);
    free(j->vkeys);
    tc_verify_cache_free(j->cache);
    tc_commit_deinit(&j->last_commit);
    tc_genesis_deinit(&j->genesis);
}

/* ---- the run ---- */

void tc_ledger_job_defaults(tc_ledger_job_opts *o)
{
    *o = (tc_ledger_job_opts){.seed = 42,
                              .blocks = 300,
                              .validators = 4,
                              .wallets = 16,
                              .txs_per_block = 20,
                              .epoch_blocks = 20,
                              .lmdb = false,
                              .scheme = TC_SIG_ED25519,
                              .restart = true};
}

static void make_plan(job *j)
{
    uint64_t e = j->o->epoch_blocks;
    /* Register in epoch 0, probe the collateral lock in epoch 1, retire in epoch 2 (effective at
     * epoch 3), spend the released collateral in epoch 3, and catch an equivocation in epoch 1. */
    j->plan = (plan){.register_at = e / 2,
                     .collateral_probe_at = e + e / 4,
                     .retire_at = 2 * e + e / 2,
                     .spend_collateral_at = 3 * e + 2,
                     .evidence_at = e + e / 2};
}

static void finish(job *j)
{
    tc_ledger_job_result *r = j->res;
    tc_chain_supply s;
    tc_store_txn *t = NULL;
    int rc = tc_chain_verify_integrity(j->chain);
    if (rc != 0)
        fail(j, "the final integrity check failed", rc);
    if (tc_chain_supply_get(j->chain, &s) == 0) {
        r->genesis_supply = s.genesis_supply;
        r->rewards_total = s.rewards_total;
        r->burned_total = s.burned_total;
        r->fees_total = s.fees_total;
        r->utxo_total = s.utxo_total;
        r->utxo_count = s.utxo_count;
    }
    if (tc_store_begin(j->store, false, &t) == 0) {
        (void)tc_utxo_root(t, &r->utxo_root);
        tc_store_abort(t);
    }
    r->height = tc_chain_height(j->chain);
    tc_hasher_update(&j->fingerprint, r->utxo_root.b, TC_HASH_SIZE);
    for (int i = 0; i < TC_JOB_CODES; i++) {
        uint8_t le[8];
        for (int b = 0; b < 8; b++)
            le[b] = (uint8_t)(r->rejected[i] >> (8 * b));
        tc_hasher_update(&j->fingerprint, le, sizeof(le));
    }
    tc_hasher_final(&j->fingerprint, &r->fingerprint);
}

static void progress_line(job *j, FILE *progress)
{
    uint64_t rejected = 0;
    for (int i = 0; i < TC_JOB_CODES; i++)
        rejected += j->res->rejected[i];
    fprintf(progress,
            "ledger: height %llu/%u  txs confirmed %llu  rejected %llu  pool %u  failures %u\n",
            (unsigned long long)tc_chain_height(j->chain), j->o->blocks,
            (unsigned long long)j->res->txs_confirmed, (unsigned long long)rejected,
            tc_mempool_count(j->pool), j->res->failures);
    fflush(progress);
}

int tc_ledger_job_run(const tc_ledger_job_opts *o, FILE *progress, FILE *csv,
                      tc_ledger_job_result *result)
{
    TC_ASSERT(o != NULL && result != NULL);
    TC_ASSERT(o->validators >= 1 && o->wallets >= 2 && o->epoch_blocks >= 8);
    job j = {.o = o, .res = result};
    memset(result, 0, sizeof(*result));
    make_plan(&j);
    int rc = setup(&j);
    if (rc != 0)
        snprintf(result->failure, sizeof(result->failure), "set-up failed: %s", tc_strerror(rc));
    if (csv != NULL && rc == 0)
        fprintf(csv, "height,time_ms,round,proposer,txs,signers,reward_outputs,fees_total,"
                     "utxo_count,utxo_total,burned_total\n");
    while (rc == 0 && tc_chain_height(j.chain) < o->blocks) {
        uint64_t next = tc_chain_height(j.chain) + 1;
        if (o->restart && next == o->blocks / 2 + 1)
            rc = restart(&j);
        if (rc == 0)
            rc = run_events(&j, next);
        for (uint32_t k = 0; rc == 0 && k < o->txs_per_block; k++)
            rc = submit_one(&j);
        if (rc == 0)
            rc = next_block(&j, csv);
        if (rc == 0)
            j.tip_round = j.last_commit.round;
        if (progress != NULL && (tc_chain_height(j.chain) % 50 == 0 || rc != 0))
            progress_line(&j, progress);
    }
    if (j.chain != NULL)
        finish(&j);
    if (rc != 0 && result->failures == 0)
        fail(&j, "the run stopped", rc);
    teardown(&j);
    return rc == TC_ENOMEM || rc == TC_ESTORE_IO ? rc : 0;
}
