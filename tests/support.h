/* support.h — helpers shared by the Criterion suites: deterministic keys, funded ledgers, and a
 * test chain that can sign its own commit certificates. */
#ifndef TC_TEST_SUPPORT_H
#define TC_TEST_SUPPORT_H

#include "base.h"
#include "block.h"
#include "chain.h"
#include "crypto.h"
#include "genesis.h"
#include "store.h"
#include "tx.h"

/* Deterministic key number i of a test (seed = H(tc/seed, "test" || i)). */
void ts_keypair(tc_keypair *kp, uint64_t i);

/* A transfer of one input (prev, worth in_amount, owned by from) paying pay to `to` and the
 * change in_amount - pay - fee back to from (a second output, left out when it is zero), signed
 * with scheme. TC_EINVAL when pay + fee exceeds in_amount, TC_ENOMEM. */
int ts_tx_transfer(tc_tx *tx, tc_sig_scheme scheme, const tc_keypair *from, const tc_outpoint *prev,
                   uint64_t in_amount, const tc_addr_hash *to, uint64_t pay, uint64_t fee);

/* ---- test chain ----
 * A genesis of `validators` masternodes and `wallets` funded wallets, all keys derived from a
 * master seed fixed by `seed` (tc_genesis_key kinds "validator", "owner", "wallet"), with a
 * small epoch; a store (in memory, or LMDB in a caller's folder); the chain on it; and the
 * validator keys, so a test signs the commit certificate of every block it appends. Blocks are
 * timed one second apart and proposed by validator height % count. */

#define TS_CHAIN_KEYS    32 /* validator keys derived: the genesis ones, then spares to register */
#define TS_ALL_SIGNERS   UINT64_MAX
#define TS_BLOCK_STEP_MS 1000 /* block times of the chain fixture */
/* The verification caches' key in tests: any fixed 16 bytes. */
#define TS_CACHE_KEY ((const uint8_t *)"test cache key!!")

typedef struct {
    uint32_t validators;    /* genesis masternodes, 1..TS_CHAIN_KEYS */
    const uint8_t *tiers;   /* tc_tier of each; NULL: all bronze */
    uint32_t wallets;       /* genesis outputs: output j pays wallet j */
    uint64_t wallet_amount; /* units per wallet; 0: 100,000 TIME */
    uint32_t epoch_blocks;  /* 0: 8 */
    uint32_t block_txs_max; /* 0 keeps the testnet default, likewise the next two */
    uint32_t block_size_max;
    uint32_t evidence_per_block_max;
    tc_sig_scheme scheme; /* of every signature made and checked */
    uint64_t seed;        /* another seed, another genesis */
    const char *lmdb_dir; /* NULL: an in-memory store; else an LMDB store in this folder */
} ts_chain_opts;

typedef struct {
    ts_chain_opts opts;
    uint8_t master[TC_SEED_SIZE];
    tc_genesis genesis;
    tc_verifier verifier;
    tc_store *store;
    tc_chain *chain;
    tc_keypair vkeys[TS_CHAIN_KEYS]; /* vkeys[i] = ("validator", i) */
    tc_commit commit; /* certifies the tip (empty at height 0): the next block's last_commit */
} ts_chain;

/* Creates the genesis, the store and the chain. Codes: those of tc_genesis_create,
 * tc_profile_set, tc_store_lmdb_open, tc_chain_open. ts_chain_close is safe either way. */
int ts_chain_open(ts_chain *f, const ts_chain_opts *o);
void ts_chain_close(ts_chain *f);
/* The node stops and comes back from its store alone: the in-memory store crashes (an open
 * transaction is lost), an LMDB store is closed and reopened; then the chain is reopened.
 * f->commit survives, as a peer would send it again. */
int ts_chain_restart(ts_chain *f);

/* Address of key (kind, i) of the fixture's seed. */
void ts_chain_addr(const ts_chain *f, const char *kind, uint32_t i, tc_addr_hash *out);
/* Genesis outpoint index (output j is wallet j's coin, then one collateral per masternode). */
void ts_chain_genesis_outpoint(const ts_chain *f, uint32_t index, tc_outpoint *out);
/* The fixture's key for a validator public key; NULL when it is not one of vkeys. */
const tc_keypair *ts_chain_vkey(const ts_chain *f, const tc_pubkey *key);

/* Signs the PRECOMMITs of (height, round, block) by the members of epoch(height)'s set whose
 * index bit is set in signers (bit i = validator i), into *out (the caller deinits it).
 * TC_ENOTFOUND (a member without a fixture key), TC_ENOMEM, tc_chain_vset's codes. */
int ts_chain_sign_commit(ts_chain *f, uint64_t height, uint32_t round, const tc_hash *block,
                         uint64_t signers, tc_commit *out);
/* Evidence that validator (an index of epoch(height)'s set) precommitted two different blocks
 * at (height, round 0). Codes as ts_chain_sign_commit, TC_EINVAL (no such index). */
int ts_chain_evidence(ts_chain *f, uint64_t height, uint32_t validator, tc_evidence *out);
/* Amnesia evidence (block.h kind 2) against member validator of height's set: its precommit for
 * one block in round 1 and its prevote for another in round 2 with the given pol_round (0 or
 * TC_ROUND_NONE make valid evidence; 1 does not). Codes as ts_chain_evidence. */
int ts_chain_amnesia(ts_chain *f, uint64_t height, uint32_t validator, uint32_t pol_round,
                     tc_evidence *out);

/* The handoff (block.h) of member `validator` of epoch's set naming txids (copied; strictly
 * increasing, as tc_finality_handoff signs them), signed with its fixture key into *out (the
 * caller deinits it). Codes: TC_EINVAL (no such index), TC_ENOTFOUND (no fixture key),
 * TC_ENOMEM, tc_chain_vset's codes. */
int ts_chain_handoff(ts_chain *f, uint32_t epoch, uint32_t validator, const tc_hash *txids,
                     uint32_t txid_count, tc_handoff *out);
/* The handoffs of the members of epoch's set whose bit is set in signers, in index order, each
 * naming no transaction: the honest handoff of a validator that voted for nothing still
 * unconfirmed, which is every validator of a driver that runs no finality. A heap array of
 * *count_out (ts_handoffs_free). Codes as ts_chain_handoff. */
int ts_chain_handoffs(ts_chain *f, uint32_t epoch, uint64_t signers, tc_handoff **out,
                      uint32_t *count_out);
void ts_handoffs_free(tc_handoff *hs, uint32_t count);

/* tc_chain_build of the next block with last_commit = f->commit; on an epoch's closing height
 * it carries the handoffs of every member (ts_chain_handoffs), elsewhere none. */
int ts_chain_build(ts_chain *f, const tc_tx *txs, uint32_t tx_count, const tc_evidence *ev,
                   uint32_t ev_count, tc_block *out);
/* The same with exactly the handoffs given (none: NULL, 0), closing height or not. */
int ts_chain_build_handoffs(ts_chain *f, const tc_tx *txs, uint32_t tx_count, const tc_evidence *ev,
                            uint32_t ev_count, const tc_handoff *hs, uint32_t h_count,
                            tc_block *out);
/* Applies b, then has every member of its epoch's set precommit it into f->commit. */
int ts_chain_accept(ts_chain *f, const tc_block *b);
/* Build and accept. */
int ts_chain_advance(ts_chain *f, const tc_tx *txs, uint32_t tx_count, const tc_evidence *ev,
                     uint32_t ev_count);

#endif
