/* bench_verify.c — see bench_verify.h. */
#include "bench_verify.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "crypto.h"
#include "ledger.h"
#include "store.h"
#include "tx.h"
#include "utxo.h"

/* Each input is worth 1,000 TIME: far above the fee and dust limits. */
#define FUND_UNITS (1000 * TC_UNITS_PER_TIME)
/* The simulator's cache size (sim/ledger_job.c), large enough that a round never evicts. */
#define CACHE_CAPACITY (1u << 16)
/* Transactions per interleaved chunk: about 2.5 ms of each measurement. */
#define CHUNK_TXS 50u
/* Transactions of the untimed warm-up round, set apart from the measured ones. */
#define WARM_TXS 500u

/* One transaction as it arrives, and the (key, message, signature) triple of its input for the
 * raw measurement. */
typedef struct {
    uint8_t *bytes;
    size_t len;
    tc_pubkey pub;
    tc_hash msg;
    tc_sig sig;
} sample;

typedef struct {
    tc_profile profile;
    tc_store *store;
    tc_verify_cache *cache;
    tc_verifier verifier;
    sample *samples;
    uint32_t count;
} vbench;

/* Funds input k in the UTXO set under its own key and outpoint, then builds its transfer. Every
 * transaction has its own key and funding txid, as transactions from many wallets would. */
static int make_sample(vbench *b, tc_store_txn *t, const uint8_t master[TC_SEED_SIZE], tc_rng *rng,
                       uint32_t k)
{
    TC_ASSERT(k < b->count);
    uint8_t seed[TC_SEED_SIZE],
        le[4] = {(uint8_t)k, (uint8_t)(k >> 8), (uint8_t)(k >> 16), (uint8_t)(k >> 24)};
    tc_keypair kp;
    tc_seed_derive(seed, master, "bench/wallet", k);
    tc_keypair_from_seed(&kp, seed);
    tc_txout funds = {.amount = FUND_UNITS};
    tc_addr_from_pubkey(&kp.pub, &funds.addr);
    tc_outpoint op = {.index = (uint32_t)tc_rng_below(rng, 4)};
    tc_hash_tagged(&op.txid, "tc/bench-fund", le, sizeof(le));
    int rc = tc_utxo_add(t, NULL, &op, &funds, 0, 0);
    if (rc != 0)
        return rc;
    tc_addr_hash to;
    tc_rng_bytes(rng, to.b, sizeof(to.b));
    tc_tx tx;
    tc_hash txid;
    sample *s = &b->samples[k];
    rc = bench_make_transfer(&tx, &b->profile, &op, FUND_UNITS, &kp, &to, &txid);
    if (rc == 0) {
        s->pub = kp.pub;
        s->sig = tx.inputs[0].sig;
        tc_tx_sighash(&txid, 0, &s->msg);
        rc = tc_tx_encode_alloc(&tx, &s->bytes, &s->len);
    }
    tc_tx_deinit(&tx);
    return rc;
}

static int setup(vbench *b, uint64_t seed, uint32_t count)
{
    tc_profile_get(&b->profile, TC_NET_TESTNET);
    b->count = count;
    b->samples = calloc(count, sizeof(*b->samples));
    b->store = tc_store_mem_new();
    b->cache = tc_verify_cache_new(CACHE_CAPACITY, BENCH_CACHE_KEY);
    b->verifier = (tc_verifier){.scheme = TC_SIG_ED25519, .cache = b->cache};
    if (b->samples == NULL || b->store == NULL || b->cache == NULL)
        return TC_ENOMEM;
    uint8_t master[TC_SEED_SIZE];
    bench_master_seed(master, "bench/verify", seed);
    tc_rng rng;
    tc_rng_init(&rng, master);
    tc_store_txn *t = NULL;
    int rc = tc_store_begin(b->store, true, &t);
    for (uint32_t k = 0; rc == 0 && k < count; k++)
        rc = make_sample(b, t, master, &rng, k);
    if (rc == 0)
        rc = tc_store_commit(t);
    else if (t != NULL)
        tc_store_abort(t);
    return rc;
}

static void teardown(vbench *b)
{
    for (uint32_t k = 0; b->samples != NULL && k < b->count; k++)
        free(b->samples[k].bytes);
    free(b->samples);
    if (b->store != NULL)
        tc_store_close(b->store);
    tc_verify_cache_free(b->cache);
}

/* What a node does with a transaction's bytes before it votes: decode, id, full check. */
static int ledger_one(vbench *b, tc_store_txn *t, const sample *s)
{
    tc_tx tx;
    tc_hash txid;
    uint64_t fee = 0;
    int rc = tc_tx_decode(&tx, s->bytes, s->len);
    if (rc == 0) {
        tc_tx_id(&tx, &txid);
        rc = tc_ledger_check_tx(&b->profile, &b->verifier, t, &tx, &txid, TC_LEDGER_VOTE, &fee);
    }
    tc_tx_deinit(&tx);
    return rc;
}

/* Adds the time of validating s[0..n) to *secs. */
static int ledger_chunk(vbench *b, tc_store_txn *t, const sample *s, uint32_t n, double *secs)
{
    TC_ASSERT(s != NULL && n > 0);
    int rc = 0;
    double t0 = bench_now_s();
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = ledger_one(b, t, &s[i]);
    *secs += bench_now_s() - t0;
    return rc;
}

/* Adds the time of raw-verifying the triples of s[0..n) to *secs. */
static int raw_chunk(const sample *s, uint32_t n, double *secs)
{
    TC_ASSERT(s != NULL && n > 0);
    uint32_t bad = 0;
    double t0 = bench_now_s();
    for (uint32_t i = 0; i < n; i++)
        bad += crypto_sign_verify_detached(s[i].sig.b, s[i].msg.b, TC_HASH_SIZE, s[i].pub.b) != 0;
    *secs += bench_now_s() - t0;
    return bad == 0 ? 0 : TC_EBADSIG;
}

/* Validates s[0..n) both ways, alternating in chunks of CHUNK_TXS (a few milliseconds) and
 * alternating which side goes first, so a burst of load from a neighbour on this shared machine
 * lands on both sides alike instead of on one whole pass. One read-only store transaction
 * serves the lot, as a node validating a burst would hold. Adds the times to the outputs. */
static int interleave(vbench *b, const sample *s, uint32_t n, uint32_t parity, double *ledger_s,
                      double *raw_s)
{
    TC_ASSERT(s != NULL && n > 0);
    tc_store_txn *t = NULL;
    int rc = tc_store_begin(b->store, false, &t);
    for (uint32_t i = 0; rc == 0 && i < n; i += CHUNK_TXS) {
        uint32_t k = n - i < CHUNK_TXS ? n - i : CHUNK_TXS;
        if ((i / CHUNK_TXS + parity) % 2 == 0) {
            rc = ledger_chunk(b, t, s + i, k, ledger_s);
            if (rc == 0)
                rc = raw_chunk(s + i, k, raw_s);
        } else {
            rc = raw_chunk(s + i, k, raw_s);
            if (rc == 0)
                rc = ledger_chunk(b, t, s + i, k, ledger_s);
        }
    }
    if (t != NULL)
        tc_store_abort(t);
    return rc;
}

/* Round r validates its own transactions, so no signature repeats across rounds. */
static int run_round(vbench *b, uint32_t r, uint32_t txs, bench_verify_result *out)
{
    const sample *s = &b->samples[WARM_TXS + (size_t)r * txs];
    double ledger_s = 0, raw_s = 0;
    int rc = interleave(b, s, txs, r, &ledger_s, &raw_s);
    if (rc != 0)
        return rc;
    double ledger = out->ledger_tx_per_s[r] = txs / ledger_s;
    double raw = out->ed25519_verify_per_s[r] = txs / raw_s;
    fprintf(stderr, "ledger: round %u  ledger %.0f tx/s  ed25519 %.0f verify/s  ratio %.3f\n",
            r + 1, ledger, raw, ledger / raw);
    return 0;
}

/* Cache counters, as deltas over the measured rounds when `since` is given. */
static void cache_stats(const vbench *b, const tc_verify_cache_stats *since,
                        bench_verify_result *out)
{
    tc_verify_cache_stats st;
    tc_verify_cache_stats_get(b->cache, &st);
    out->cache_hits = st.hits - since->hits;
    out->cache_misses = st.misses - since->misses;
    out->cache_evictions = st.evictions - since->evictions;
}

int bench_verify_run(uint64_t seed, uint32_t txs, uint32_t rounds, bench_verify_result *out)
{
    TC_ASSERT(out != NULL && txs > 0 && rounds > 0 && rounds <= BENCH_ROUNDS_MAX);
    TC_ASSERT((uint64_t)txs * rounds <= BENCH_TXS_MAX);
    memset(out, 0, sizeof(*out));
    out->rounds = rounds;
    vbench b = {0};
    fprintf(stderr, "ledger: preparing %u signed transfers and their UTXO set\n",
            WARM_TXS + txs * rounds);
    int rc = setup(&b, seed, WARM_TXS + txs * rounds);
    /* An untimed warm-up round on transactions of its own (clock ramp, code, tables, malloc
     * arenas); the cache counters below cover the measured rounds only. */
    double warm_ledger_s = 0, warm_raw_s = 0;
    if (rc == 0)
        rc = interleave(&b, b.samples, WARM_TXS, 0, &warm_ledger_s, &warm_raw_s);
    tc_verify_cache_stats since = {0};
    if (b.cache != NULL)
        tc_verify_cache_stats_get(b.cache, &since);
    for (uint32_t r = 0; rc == 0 && r < rounds; r++)
        rc = run_round(&b, r, txs, out);
    if (b.cache != NULL)
        cache_stats(&b, &since, out);
    teardown(&b);
    return rc;
}
