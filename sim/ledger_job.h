/* ledger_job.h — `timesim ledger`: a deterministic run of the whole ledger core without a
 * network. It is the flagship job until the consensus simulator lands, and an end-to-end test of
 * every ledger module together.
 *
 * What a run does, all drawn from one seed:
 *   - creates a genesis for V masternodes and W wallets (keys derived from the seed);
 *   - every block, wallets send transfers through the real admission path (ledger check in
 *     vote mode, then the mempool), among them deliberately bad ones — forged signatures,
 *     overspends, low fees, dust, double spends — each of which must be rejected with its
 *     own code (an acceptance is a failed expectation);
 *   - a wallet registers a new masternode, which joins the validator set at the next epoch and
 *     signs commits from then on, and later retires it; one validator double-votes and the
 *     evidence burns its collateral;
 *   - a proposer builds each block (tc_chain_build) with a last_commit signed by a random
 *     quorum of the parent's validators, and the chain applies it (tc_chain_apply), which
 *     checks every block rule, pays rewards and checks supply; an epoch's closing block
 *     carries the validators' signed handoffs (empty: this job runs no finality votes);
 *   - halfway through, the node "restarts": the chain is closed, the store crashes (memory) or
 *     is closed and reopened (LMDB), the chain reopens from the store and its integrity is
 *     checked before the run goes on.
 * The fingerprint is a hash of every block hash, the final UTXO-set root and the rejection
 * counts: the same options give the same fingerprint on every run.
 */
#ifndef TC_LEDGER_JOB_H
#define TC_LEDGER_JOB_H

#include <stdio.h>

#include "crypto.h"

typedef struct {
    uint64_t seed;
    uint32_t blocks;
    uint32_t validators;
    uint32_t wallets;
    uint32_t txs_per_block;
    uint32_t epoch_blocks;
    bool lmdb;            /* LMDB in a temporary folder instead of the in-memory store */
    tc_sig_scheme scheme; /* ed25519 or fast */
    bool restart;         /* restart the node halfway */
} tc_ledger_job_opts;

/* Rejection reasons counted by error code; index = -code, bounded by TC_JOB_CODES. */
#define TC_JOB_CODES 160

typedef struct {
    tc_hash fingerprint;
    tc_hash utxo_root;
    uint64_t height;
    uint64_t txs_submitted;
    uint64_t txs_confirmed;
    uint64_t rejected[TC_JOB_CODES];
    uint32_t registrations, retirements, evidence, restarts;
    uint64_t genesis_supply, rewards_total, burned_total, fees_total, utxo_total, utxo_count;
    uint32_t failures; /* expectations that did not hold */
    char failure[256]; /* the first one, in words */
} tc_ledger_job_result;

/* Fills opts with the defaults (seed 42, 300 blocks, 4 validators, 16 wallets, 20 txs per block,
 * epochs of 20 blocks, memory store, Ed25519, restart on). */
void tc_ledger_job_defaults(tc_ledger_job_opts *opts);

/* Runs the job. progress (may be NULL) gets a line every 50 blocks; csv (may be NULL) gets one
 * row per block. Returns 0 when the run completed (result->failures says whether every
 * expectation held), or a negative TC_E* code when the harness itself could not run (out of
 * memory, storage could not be created), with a message in result->failure. */
int tc_ledger_job_run(const tc_ledger_job_opts *opts, FILE *progress, FILE *csv,
                      tc_ledger_job_result *result);

#endif
