/* bench_verify.h — the transaction-validation half of `tc-bench ledger`: the full ledger path
 * for 1-input/2-output Ed25519 transfers against raw libsodium verification of the very same
 * signatures, interleaved round by round.
 *
 * What is prepared before the clock starts is only what a node holds when a transaction
 * arrives: the UTXO set with the inputs (in-memory store) and the encoded transaction bytes.
 * Each round validates its own transactions, so every signature is new to the verification
 * cache: the cache pays its lookup and insertion and never saves a verification. The two
 * measurements alternate in chunks of a few milliseconds within each round, so the noise of a
 * shared machine hits both alike.
 */
#ifndef TC_BENCH_VERIFY_H
#define TC_BENCH_VERIFY_H

#include <stdint.h>

#define BENCH_ROUNDS_MAX 100
#define BENCH_TXS_MAX    1000000u

typedef struct {
    uint32_t rounds;
    double ledger_tx_per_s[BENCH_ROUNDS_MAX]; /* per round */
    double ed25519_verify_per_s[BENCH_ROUNDS_MAX];
    uint64_t cache_hits;   /* over the measured rounds; 0: no signature was served from it */
    uint64_t cache_misses; /* over the measured rounds; = rounds * txs */
    uint64_t cache_evictions;
} bench_verify_result;

/* Runs an untimed warm-up round, then `rounds` rounds of `txs` transactions each (rounds * txs
 * <= BENCH_TXS_MAX, rounds <= BENCH_ROUNDS_MAX). Returns 0; TC_ENOMEM; a ledger code if a
 * transaction the benchmark built was rejected; TC_EBADSIG if raw verification failed (both bugs in
 * the benchmark or the core). Progress goes to stderr. */
int bench_verify_run(uint64_t seed, uint32_t txs, uint32_t rounds, bench_verify_result *out);

#endif
