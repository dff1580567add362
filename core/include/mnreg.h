/* mnreg.h — the masternode registry, epochs and validator sets (PROTOCOL 6), and the checks that
 * need a validator set: commit certificates, equivocation evidence, the reward split.
 *
 * Registry. One record per masternode in TC_TABLE_MN, keyed by its 32-byte voting public key.
 * A key is registered once and never reused: records are never deleted, a retired or burned
 * masternode keeps its record (so a second registration of the key fails with
 * TC_EMN_DUPLICATE, and evidence against it can still be checked). All writes happen inside the
 * caller's read-write store transaction, so a block applies its registry changes atomically
 * with everything else.
 *
 * Epochs. epoch(h) = h / epoch_blocks (profile). A registration or retirement confirmed at
 * height h takes effect at epoch(h) + 1: the record is a member of the validator set of epoch e
 * exactly when active_from_epoch <= e < retire_epoch (retire_epoch = TC_MNREG_EPOCH_NONE while
 * not retiring). Genesis masternodes are active from epoch 0 (tc_mnreg_register_genesis).
 * Epoch numbers are u32; a height whose epoch + 1 does not fit below TC_MNREG_EPOCH_NONE is
 * refused with TC_EOVERFLOW (unreachable at any real block rate).
 *
 * Capacity. No validator set may exceed profile.validators_max members. The registry enforces
 * it when registering: a registration that would make the set of its first epoch
 * (epoch(h) + 1) larger than validators_max fails with TC_EFULL. Later epochs can only hold
 * fewer of today's records (retirements only remove) plus registrations that passed the same
 * check, so every set built stays within the cap. Registration scans the table (O(records)).
 *
 * Weights. A member's weight is tc_tier_weight(profile, tier): testnet Bronze 1, Silver 10,
 * Gold 100 (profile fields weight_bronze/silver/gold). W = the sum over the set (u64).
 * Quorum Q = floor(2W/3) + 1; skip threshold floor(W/3) + 1 (PROTOCOL 6, 12.1), both computed
 * without forming 2W, so any u64 W is exact.
 *
 * Validator sets. tc_vset_build reads the records active in an epoch into members sorted by
 * public key bytes (memcmp order); a member's index is its position, which is what votes,
 * commit entries, bitmaps and handoffs call "validator". The set hash is
 *   H(tc/vset, u32 epoch | u32 count | count x (pubkey 32 | u8 tier | u32 weight))
 * and does not depend on registration order (the order is the key order).
 *
 * Record encoding in the store (value; the key is the pubkey):
 *   u8 tier | collateral txid 32 | u32 collateral index | owner 20 | bytes net_addr (<= 64) |
 *   u64 reg_height | u32 active_from_epoch | u32 retire_epoch | u8 burned (0/1)
 * A value that does not decode exactly is TC_ESTORE_CORRUPT.
 */
#ifndef TC_MNREG_H
#define TC_MNREG_H

#include "base.h"
#include "block.h"
#include "crypto.h"
#include "profile.h"
#include "store.h"
#include "tx.h"

#define TC_MNREG_EPOCH_NONE UINT32_MAX /* retire_epoch of a masternode not retiring */

typedef struct {
    tc_pubkey key; /* voting key; the record's store key */
    uint8_t tier;  /* tc_tier */
    tc_outpoint collateral;
    tc_addr_hash owner; /* address of the collateral owner: who may retire it, who is paid */
    uint8_t net_addr_len;
    char net_addr[TC_TX_NETADDR_MAX]; /* not NUL-terminated */
    uint64_t reg_height;              /* height of the confirming block; 0 for genesis */
    uint32_t active_from_epoch;
    uint32_t retire_epoch; /* TC_MNREG_EPOCH_NONE while not retiring */
    bool burned;           /* retired by evidence; its collateral was burned */
} tc_mn_record;

/* epoch(h) = h / epoch_blocks. */
uint64_t tc_mnreg_epoch(const tc_profile *p, uint64_t height);
/* First height of epoch e (e * epoch_blocks) and its closing height ((e + 1) * epoch_blocks - 1),
 * the height whose block carries the epoch's handoffs. */
uint64_t tc_mnreg_epoch_first_height(const tc_profile *p, uint32_t epoch);
uint64_t tc_mnreg_epoch_last_height(const tc_profile *p, uint32_t epoch);

/* Registers rec->key, confirmed at height: copies key, tier, collateral, owner and net_addr from
 * rec and sets reg_height = height, active_from_epoch = epoch(height) + 1, not retiring, not
 * burned. Codes: TC_EMN_TIER (tier out of range), TC_EINVAL (net_addr_len over the limit),
 * TC_EMN_DUPLICATE (the key has a record in any state), TC_EFULL (the set of the first epoch
 * would exceed validators_max), TC_EOVERFLOW, TC_ESTORE_CORRUPT, store codes. */
int tc_mnreg_register(tc_store_txn *txn, const tc_profile *p, const tc_mn_record *rec,
                      uint64_t height);
/* Same, for a masternode of the genesis document: reg_height 0, active from epoch 0. The set
 * is not counted against validators_max: tc_genesis_check bounds the document's masternodes
 * (TC_EFULL is not returned here). */
int tc_mnreg_register_genesis(tc_store_txn *txn, const tc_profile *p, const tc_mn_record *rec);

/* Retires key, confirmed at height, on behalf of the address by: retire_epoch =
 * epoch(height) + 1. Codes: TC_EMN_UNKNOWN (no record, or it is retiring or retired already),
 * TC_EMN_NOT_OWNER (by is not the record's owner), TC_EOVERFLOW, TC_ESTORE_CORRUPT, store codes. */
int tc_mnreg_retire(tc_store_txn *txn, const tc_profile *p, const tc_pubkey *key,
                    const tc_addr_hash *by, uint64_t height);

/* Punishes key for evidence confirmed at height: retire_epoch becomes
 * min(retire_epoch, epoch(height) + 1), burned is set, and *collateral_out names the collateral
 * outpoint, which the caller removes from the UTXO set (if still there) and counts as burned.
 * Codes: TC_EMN_UNKNOWN, TC_EEXIST (burned already: one collateral burns once), TC_EOVERFLOW,
 * TC_ESTORE_CORRUPT, store codes. *collateral_out is zeroed on failure. */
int tc_mnreg_burn(tc_store_txn *txn, const tc_profile *p, const tc_pubkey *key, uint64_t height,
                  tc_outpoint *collateral_out);

/* Reads key's record. Codes: TC_EMN_UNKNOWN, TC_ESTORE_CORRUPT, store codes; *out zeroed on
 * failure. Works in read-only transactions. */
int tc_mnreg_get(tc_store_txn *txn, const tc_pubkey *key, tc_mn_record *out);

/* True when rec is a member of epoch's validator set. */
bool tc_mnreg_active(const tc_mn_record *rec, uint32_t epoch);

/* ---- validator sets ---- */

typedef struct {
    tc_pubkey key;
    uint8_t tier;       /* tc_tier */
    uint32_t weight;    /* tc_tier_weight(profile, tier) */
    tc_addr_hash owner; /* the record's owner (rewards); not part of the set hash */
} tc_vset_member;

typedef struct {
    uint32_t epoch;
    uint32_t count;
    tc_vset_member *members; /* sorted by key bytes, no key twice; index = position; owned */
    uint64_t weight_total;   /* W */
} tc_vset;

/* Builds the validator set of epoch from the registry (one scan of the table per call: callers
 * cache the set for the epoch). An epoch with no active record gives an empty set (count 0,
 * W 0), which can certify nothing. Codes: TC_EFULL (more active records than validators_max or
 * TC_COMMIT_SIGS_MAX: a store written under another profile), TC_ENOMEM, TC_ESTORE_CORRUPT,
 * store codes. *out is empty on failure. */
int tc_vset_build(tc_store_txn *txn, const tc_profile *p, uint32_t epoch, tc_vset *out);
/* Builds a set from members given in any order (genesis tools, tests): sorts them, computes W.
 * TC_EEXIST (a key twice), TC_ENOMEM, TC_EFULL (over TC_COMMIT_SIGS_MAX). */
int tc_vset_from_members(uint32_t epoch, const tc_vset_member *members, uint32_t count,
                         tc_vset *out);
void tc_vset_deinit(tc_vset *v);
/* Deep copy; dst is overwritten. TC_ENOMEM (dst left empty). */
int tc_vset_copy(tc_vset *dst, const tc_vset *src);
void tc_vset_hash(const tc_vset *v, tc_hash *out);

/* floor(2W/3) + 1 and floor(W/3) + 1. */
uint64_t tc_quorum_weight(uint64_t weight_total);
uint64_t tc_skip_weight(uint64_t weight_total);
uint64_t tc_vset_quorum(const tc_vset *v);
uint64_t tc_vset_skip_threshold(const tc_vset *v);

/* Index of key in v. 0 or TC_ENOTFOUND (*index_out = UINT32_MAX). */
int tc_vset_find(const tc_vset *v, const tc_pubkey *key, uint32_t *index_out);
/* Total weight of the validators whose bits are set (bit i = byte i/8, LSB first). A bitmap may
 * be shorter than the set (missing bits are clear) or longer with zero padding. Codes:
 * TC_ERANGE (a bit set at an index >= count); *weight_out is 0 on failure. */
int tc_vset_weight_of_bitmap(const tc_vset *v, const uint8_t *bitmap, uint32_t bitmap_len,
                             uint64_t *weight_out);

/* Checks that c certifies block at height under v: c->height == height, c->block == *block,
 * every index < count and strictly increasing, weight of signers >= Q, every signature a valid
 * PRECOMMIT of its member (checked last, after the cheap checks). Returns 0 or TC_EBLK_COMMIT. */
int tc_commit_verify(const tc_commit *c, const tc_vset *v, const tc_verifier *verifier,
                     uint64_t height, const tc_hash *block);

/* Checks that e proves an equivocation by a member of v, the set of tc_evidence_epoch(e): the
 * shape is right (tc_evidence_check_shape), the validator index is in v, and both votes' (kinds
 * 0 and 2), both batches' (kinds 1 and 3) or both handoffs' (kind 4) signatures verify under
 * that member's key. Returns 0 or TC_EBLK_EVIDENCE. */
int tc_evidence_verify(const tc_evidence *e, const tc_vset *v, const tc_verifier *verifier);
/* The epoch whose validator set judges e: the epoch of the votes' height (kinds 0 and 2), the
 * batches' epoch (kinds 1 and 3) or the handoffs' (kind 4). */
uint64_t tc_evidence_epoch(const tc_evidence *e, const tc_profile *p);

/* ---- rewards ---- */

/* Splits amount over the signers of last_commit, which are indexes into v (the parent's set):
 * shares[i] = floor(amount * weight_i / S), S = the signers' total weight (exact 128-bit
 * arithmetic), shares of non-signers 0; *remainder_out = amount - sum(shares), which the
 * proposer receives. With an empty last_commit every share is 0 and the remainder is amount.
 * shares has v->count entries. Codes: TC_EBLK_COMMIT (an index >= count or not strictly
 * increasing: the caller should have verified the commit); shares and remainder zeroed then. */
int tc_reward_split_signers(const tc_vset *v, const tc_commit *last_commit, uint64_t amount,
                            uint64_t *shares, uint64_t *remainder_out);

/* The same for a proposer in the same set (the parent is in the block's epoch):
 * shares[proposer_index] also receives the remainder, so sum(shares) == amount exactly.
 * At an epoch's first block the proposer belongs to another set: use tc_reward_split_signers.
 * Codes: TC_EBLK_PROPOSER (proposer_index >= count), TC_EBLK_COMMIT; shares zeroed on failure. */
int tc_reward_split(const tc_vset *v, const tc_commit *last_commit, uint64_t amount,
                    uint32_t proposer_index, uint64_t *shares);

#endif
