/* bench_blocks.c — see bench_blocks.h. */
#include "bench_blocks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "block.h"
#include "chain.h"
#include "genesis.h"
#include "mnreg.h"
#include "store.h"

#define WALLET_UNITS (1000 * TC_UNITS_PER_TIME)
#define LMDB_MAP     ((size_t)1 << 30)
/* The simulator's cache size (sim/ledger_job.c). */
#define CACHE_CAPACITY (1u << 16)
/* 2026-01-01T00:00:00Z: any fixed time works, the chain only compares block times. */
#define GENESIS_TIME_MS UINT64_C(1767225600000)

typedef struct {
    uint8_t master[TC_SEED_SIZE];
    tc_genesis genesis;
    tc_hash genesis_hash;
    tc_keypair vkeys[BENCH_VALIDATORS];
    /* The proposer: another node, in memory, that builds each block and applies it untimed. */
    tc_store *prop_store;
    tc_chain *prop;
    tc_verify_cache *prop_cache;
    tc_verifier prop_verifier;
    /* The measured node: LMDB, with a cache that has never seen the blocks' signatures. */
    char dir[64];
    tc_store *store;
    tc_chain *chain;
    tc_verify_cache *cache;
    tc_verifier verifier; /* in the struct: it outlives the chain whether it copies or points */
    tc_commit last_commit;
    uint32_t spent; /* genesis wallet outputs spent so far */
} cbench;

/* Opens the measured node's chain on LMDB in a fresh folder under /tmp. */
static int open_node(cbench *cb)
{
    cb->cache = tc_verify_cache_new(CACHE_CAPACITY, BENCH_CACHE_KEY);
    if (cb->cache == NULL)
        return TC_ENOMEM;
    cb->verifier = (tc_verifier){.scheme = TC_SIG_ED25519, .cache = cb->cache};
    snprintf(cb->dir, sizeof(cb->dir), "/tmp/tc-bench-XXXXXX");
    if (mkdtemp(cb->dir) == NULL) {
        cb->dir[0] = 0;
        return TC_ESTORE_IO;
    }
    int rc = tc_store_lmdb_open(cb->dir, LMDB_MAP, &cb->store);
    if (rc == 0)
        rc = tc_chain_open(cb->store, &cb->genesis, &cb->verifier, &cb->chain);
    return rc;
}

/* The proposer has its own cache: its build fills it and its own apply then hits, which
 * keeps the untimed part short and never touches the measured node's cache. */
static int open_proposer(cbench *cb)
{
    cb->prop_cache = tc_verify_cache_new(CACHE_CAPACITY, BENCH_CACHE_KEY);
    cb->prop_store = tc_store_mem_new();
    if (cb->prop_cache == NULL || cb->prop_store == NULL)
        return TC_ENOMEM;
    cb->prop_verifier = (tc_verifier){.scheme = TC_SIG_ED25519, .cache = cb->prop_cache};
    return tc_chain_open(cb->prop_store, &cb->genesis, &cb->prop_verifier, &cb->prop);
}

static int setup(cbench *cb, uint64_t seed, uint32_t blocks)
{
    bench_master_seed(cb->master, "bench/chain", seed);
    int rc = tc_genesis_create(&cb->genesis, TC_NET_TESTNET, cb->master, BENCH_VALIDATORS, NULL,
                               blocks * BENCH_BLOCK_TXS, WALLET_UNITS, GENESIS_TIME_MS);
    if (rc != 0)
        return rc;
    tc_genesis_hash(&cb->genesis, &cb->genesis_hash);
    for (uint32_t i = 0; rc == 0 && i < BENCH_VALIDATORS; i++)
        rc = tc_genesis_key(cb->master, "validator", i, &cb->vkeys[i]);
    if (rc == 0)
        rc = open_proposer(cb);
    if (rc == 0)
        rc = open_node(cb);
    return rc;
}

static void teardown(cbench *cb)
{
    static const char *files[] = {"data.mdb", "lock.mdb"};
    tc_chain_free(cb->chain);
    if (cb->store != NULL)
        tc_store_close(cb->store);
    for (size_t i = 0; cb->dir[0] != 0 && i < TC_ARRAY_LEN(files); i++) {
        char path[128];
        snprintf(path, sizeof(path), "%s/%s", cb->dir, files[i]);
        unlink(path);
    }
    if (cb->dir[0] != 0)
        rmdir(cb->dir);
    tc_verify_cache_free(cb->cache);
    tc_chain_free(cb->prop);
    if (cb->prop_store != NULL)
        tc_store_close(cb->prop_store);
    tc_verify_cache_free(cb->prop_cache);
    tc_commit_deinit(&cb->last_commit);
    tc_genesis_deinit(&cb->genesis);
}

static const tc_keypair *find_vkey(const cbench *cb, const tc_pubkey *key)
{
    for (uint32_t i = 0; i < BENCH_VALIDATORS; i++)
        if (memcmp(cb->vkeys[i].pub.b, key->b, TC_PUBKEY_SIZE) == 0)
            return &cb->vkeys[i];
    return NULL;
}

/* The tip's commit certificate for the next block: PRECOMMITs of the first validators (in set
 * order) until their weight reaches the quorum. */
static int sign_commit(cbench *cb, const tc_hash *block_hash, uint64_t height, uint32_t round)
{
    const tc_vset *vs;
    int rc = tc_chain_vset(cb->chain, tc_chain_epoch_of(cb->chain, height), &vs);
    if (rc != 0)
        return rc;
    tc_commit_sig *sigs = calloc(vs->count, sizeof(*sigs));
    if (sigs == NULL)
        return TC_ENOMEM;
    tc_commit_deinit(&cb->last_commit);
    cb->last_commit = (tc_commit){.height = height, .round = round, .block = *block_hash};
    cb->last_commit.sigs = sigs;
    uint64_t weight = 0, quorum = tc_vset_quorum(vs);
    for (uint32_t i = 0; i < vs->count && weight < quorum; i++) {
        const tc_keypair *kp = find_vkey(cb, &vs->members[i].key);
        TC_ASSERT(kp != NULL); /* the genesis set is exactly the derived validator keys */
        tc_vote v = {.type = TC_VOTE_PRECOMMIT,
                     .height = height,
                     .round = round,
                     .pol_round = TC_ROUND_NONE,
                     .block = *block_hash,
                     .validator = i};
        tc_vote_sign(&v, TC_SIG_ED25519, kp);
        sigs[cb->last_commit.sig_count++] = (tc_commit_sig){.validator = i, .sig = v.sig};
        weight += vs->members[i].weight;
    }
    TC_ASSERT(weight >= quorum);
    return 0;
}

/* n transfers, each spending the next unspent genesis wallet output to the following wallet. */
static int make_txs(cbench *cb, tc_tx *txs, uint32_t n)
{
    const tc_profile *p = tc_chain_profile(cb->prop);
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        uint32_t w = cb->spent++;
        TC_ASSERT(w < cb->genesis.output_count);
        tc_keypair kp;
        tc_addr_hash to = cb->genesis.outputs[(w + 1) % cb->genesis.output_count].addr;
        tc_outpoint op = {.txid = cb->genesis_hash, .index = w};
        tc_hash txid;
        rc = tc_genesis_key(cb->master, "wallet", w, &kp);
        if (rc == 0)
            rc = bench_make_transfer(&txs[i], p, &op, cb->genesis.outputs[w].amount, &kp, &to,
                                     &txid);
    }
    return rc;
}

/* The handoffs of an epoch's closing block (PROTOCOL 11.8): the first validators (in set order)
 * until their weight reaches the quorum, each naming no transaction — the honest handoff of a
 * validator with no unconfirmed vote, as nothing here runs finality. Other heights: none.
 * hs has room for BENCH_VALIDATORS entries. */
static uint32_t sign_handoffs(cbench *cb, uint64_t height, const tc_vset *vs, tc_handoff *hs)
{
    if (height != tc_mnreg_epoch_last_height(tc_chain_profile(cb->prop), vs->epoch))
        return 0;
    TC_ASSERT(vs->count <= BENCH_VALIDATORS);
    uint64_t weight = 0, quorum = tc_vset_quorum(vs);
    uint32_t n = 0;
    for (uint32_t i = 0; i < vs->count && weight < quorum; i++) {
        const tc_keypair *kp = find_vkey(cb, &vs->members[i].key);
        TC_ASSERT(kp != NULL); /* the genesis set is exactly the derived validator keys */
        hs[n] = (tc_handoff){.epoch = vs->epoch, .validator = i};
        tc_handoff_sign(&hs[n++], TC_SIG_ED25519, kp);
        weight += vs->members[i].weight;
    }
    TC_ASSERT(weight >= quorum);
    return n;
}

/* The proposer builds the next block and applies it to its own chain (both untimed). */
static int build_block(cbench *cb, tc_block *b)
{
    uint64_t height = tc_chain_height(cb->prop) + 1;
    const tc_vset *vs;
    tc_handoff hs[BENCH_VALIDATORS];
    int rc = tc_chain_vset(cb->prop, tc_chain_epoch_of(cb->prop, height), &vs);
    tc_tx *txs = calloc(BENCH_BLOCK_TXS, sizeof(*txs));
    if (rc == 0 && txs == NULL)
        rc = TC_ENOMEM;
    if (rc == 0)
        rc = make_txs(cb, txs, BENCH_BLOCK_TXS);
    tc_chain_build_args a = {.txs = txs,
                             .tx_count = BENCH_BLOCK_TXS,
                             .time_ms = cb->genesis.time_ms +
                                        height * tc_chain_profile(cb->prop)->block_interval_ms,
                             .last_commit = &cb->last_commit,
                             .handoffs = hs};
    if (rc == 0) {
        a.proposer = (uint32_t)(height % vs->count);
        a.handoff_count = sign_handoffs(cb, height, vs, hs); /* no txids: nothing to free */
        rc = tc_chain_build(cb->prop, &a, b);
    }
    if (rc == 0)
        rc = tc_chain_apply(cb->prop, b);
    for (uint32_t i = 0; txs != NULL && i < BENCH_BLOCK_TXS; i++)
        tc_tx_deinit(&txs[i]);
    free(txs);
    return rc;
}

/* The measured node gets the proposer's block (the value it would hold after decoding it) and
 * applies it: only tc_chain_apply is timed. */
static int one_block(cbench *cb, double *apply_s)
{
    tc_block b;
    memset(&b, 0, sizeof(b));
    int rc = build_block(cb, &b);
    if (rc == 0) {
        TC_ASSERT(tc_chain_height(cb->chain) + 1 == b.header.height);
        double t0 = bench_now_s();
        rc = tc_chain_apply(cb->chain, &b);
        *apply_s = bench_now_s() - t0;
    }
    if (rc == 0) {
        tc_hash hash;
        tc_block_hash(&b.header, &hash);
        rc = sign_commit(cb, &hash, b.header.height, b.header.round);
    }
    tc_block_deinit(&b);
    return rc;
}

int bench_blocks_run(uint64_t seed, uint32_t blocks, bench_blocks_result *out)
{
    TC_ASSERT(out != NULL && blocks > 0 && blocks <= BENCH_BLOCKS_MAX);
    memset(out, 0, sizeof(*out));
    cbench cb;
    memset(&cb, 0, sizeof(cb));
    fprintf(stderr, "ledger: LMDB chain with %u funded wallets\n", blocks * BENCH_BLOCK_TXS);
    int rc = setup(&cb, seed, blocks);
    for (uint32_t k = 0; rc == 0 && k < blocks; k++) {
        double s = 0;
        rc = one_block(&cb, &s);
        if (rc != 0)
            break;
        out->blocks++;
        out->apply_s_total += s;
        if (k == 0 || s < out->apply_s_best)
            out->apply_s_best = s;
        fprintf(stderr, "ledger: block %u applied in %.1f ms\n", k + 1, s * 1e3);
    }
    out->block_txs = BENCH_BLOCK_TXS;
    if (cb.cache != NULL) {
        tc_verify_cache_stats st;
        tc_verify_cache_stats_get(cb.cache, &st);
        out->cache_hits = st.hits;
        out->cache_misses = st.misses;
    }
    teardown(&cb);
    return rc;
}
