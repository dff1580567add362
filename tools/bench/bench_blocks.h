/* bench_blocks.h — the LMDB half of `tc-bench ledger`: certified blocks of transfers applied to
 * a chain on an LMDB store, timing tc_chain_apply alone (validation of every transaction and
 * signature, the last_commit quorum, UTXO-set and root updates, the commit with its fsync).
 *
 * The genesis funds one wallet per transaction, so each block's transfers spend distinct
 * genesis outputs. A second chain on an in-memory store plays the proposer: it builds each block
 * (tc_chain_build's trial application verifies every signature) and applies it, untimed, with
 * its own verification cache. The measured LMDB node has a cache of its own that has never seen
 * the blocks' signatures, so every signature its apply meets is verified for real, as on a node
 * that did not see the transactions before the block. (tc_chain_open copies the verifier, so
 * one chain cannot detach its cache for a build and re-attach it for the apply.)
 */
#ifndef TC_BENCH_BLOCKS_H
#define TC_BENCH_BLOCKS_H

#include <stdint.h>

/* Blocks stay in epoch 0 of the testnet profile (100 blocks), so no epoch rule interferes. */
#define BENCH_BLOCKS_MAX 99
#define BENCH_BLOCK_TXS  1000
#define BENCH_VALIDATORS 4

typedef struct {
    uint32_t blocks;
    uint32_t block_txs;
    double apply_s_total; /* sum over blocks of the time in tc_chain_apply */
    double apply_s_best;
    uint64_t cache_hits; /* of the verifier tc_chain_apply used; 0 proves nothing was cached */
    uint64_t cache_misses;
} bench_blocks_result;

/* Builds and applies `blocks` blocks of BENCH_BLOCK_TXS transfers in a fresh LMDB folder under
 * /tmp (removed afterwards). Returns 0, TC_ENOMEM, TC_ESTORE_IO (folder), or the chain's code
 * when it refused a block the benchmark built (a bug). Progress goes to stderr. */
int bench_blocks_run(uint64_t seed, uint32_t blocks, bench_blocks_result *out);

#endif
