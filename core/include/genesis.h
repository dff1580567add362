/* genesis.h — the genesis document (PROTOCOL 7): parsing and checking its JSON, writing it back,
 * hashing it, and creating one from a master seed.
 *
 * JSON shape (canonical key order, as tc_genesis_to_json writes it):
 *   {
 *     "network": "testnet" | "mainnet",
 *     "time_ms": N,
 *     "outputs": [ {"address": "TIME0...", "amount": N}, ... ],
 *     "masternodes": [ {"key": "<64 hex>", "tier": "bronze" | "silver" | "gold",
 *                       "address": "TIME0...", "net_address": "host:port"}, ... ],
 *     "profile": { "<tc_profile_set name>": N, ... }      (optional; overrides only)
 *   }
 * Every key except "profile" is required; unknown or duplicate keys are errors. Integers are
 * JSON integers in [0, 2^63 - 1] (what JSON tools represent exactly). Masternode "address" is the
 * collateral owner; "key" is the voting key. Profile overrides apply to the network's defaults
 * in an order-independent way (a set of overrides that is valid together is accepted in any key
 * order); the result must pass tc_profile_check.
 *
 * Genesis outpoints. The genesis document acts as one transaction whose txid is the genesis hash.
 * Its outputs, in this order, are:
 *   index i in [0, output_count):               outputs[i];
 *   index output_count + k, k in [0, mn_count):  the collateral of mns[k], paying
 *                                                 tc_tier_collateral(profile, mns[k].tier) to
 *                                                 mns[k].owner.
 * The ledger applies them to the UTXO set (tc_genesis_outpoint_txout); total supply at height 0
 * is tc_genesis_supply.
 *
 * Hash. tc_genesis_hash = H(tc/genesis, encoding) with the encoding (codec.h conventions)
 *   u8 network | u32 magic | u16 protocol_version | u64 time_ms
 *   u32 field_count | field_count x (bytes name | u64 value)      every field, tc_profile_each
 *   u32 output_count | output_count x (u64 amount | addr 20)
 *   u32 mn_count | mn_count x (key 32 | u8 tier | owner 20 | bytes net_addr)
 * so whitespace and key order in the JSON never change it, and every value does.
 *
 * Ownership: a tc_genesis owns its outputs and mns arrays (heap); tc_genesis_deinit frees them
 * and leaves the struct zeroed. A zeroed tc_genesis is a valid argument to tc_genesis_deinit.
 */
#ifndef TC_GENESIS_H
#define TC_GENESIS_H

#include "base.h"
#include "crypto.h"
#include "profile.h"
#include "tx.h"

/* Hard bound on initial outputs, so a document cannot make the ledger load without limit. */
#define TC_GENESIS_OUTPUTS_MAX 1000000u
/* Largest integer a document holds: what a JSON integer carries exactly (jansson's json_int_t). */
#define TC_GENESIS_INT_MAX ((uint64_t)INT64_MAX)

typedef struct {
    tc_pubkey key;                        /* voting key */
    uint8_t tier;                         /* tc_tier */
    tc_addr_hash owner;                   /* collateral owner address */
    char net_addr[TC_TX_NETADDR_MAX + 1]; /* "host:port", NUL-terminated */
} tc_genesis_mn;

typedef struct {
    tc_network network;
    uint64_t time_ms;
    tc_profile profile; /* defaults of network with the document's overrides applied */
    uint32_t output_count;
    tc_txout *outputs;
    uint32_t mn_count;
    tc_genesis_mn *mns;
} tc_genesis;

/* Parses and checks a document of len bytes (need not be NUL-terminated) into *out. Returns 0,
 * TC_EGENESIS with a message in err (always NUL-terminated when err_len > 0; err may be NULL) or
 * TC_ENOMEM. A syntax error reads "LINE:COLUMN: what jansson expected"; a semantic one names the
 * JSON path first, e.g. "masternodes[2].tier: expected one of bronze, silver, gold". *out is
 * zeroed on failure. */
int tc_genesis_parse(const char *json, size_t len, tc_genesis *out, char *err, size_t err_len);

/* Checks a genesis built in memory by the rules tc_genesis_parse applies after reading: at least
 * one and at most profile.validators_max masternodes, no duplicate masternode key, known tiers,
 * well-formed net addresses, non-zero amounts, integers within TC_GENESIS_INT_MAX, supply within
 * u64, a profile of this network passing tc_profile_check. 0 or TC_EGENESIS (+ message). */
int tc_genesis_check(const tc_genesis *g, char *err, size_t err_len);

void tc_genesis_deinit(tc_genesis *g);
/* Deep copy of src into dst (overwritten, not freed first). 0 or TC_ENOMEM (dst zeroed). */
int tc_genesis_copy(tc_genesis *dst, const tc_genesis *src);

/* Writes the canonical JSON (2-space indent, key order above, profile fields that differ from
 * the network defaults in tc_profile_each order). *json_out is NUL-terminated; free it with
 * free(). tc_genesis_parse(*json_out) yields a genesis equal to g. Returns 0, TC_EGENESIS (g fails
 * tc_genesis_check, so it could not be read back) or TC_ENOMEM; *json_out is NULL on failure. */
int tc_genesis_to_json(const tc_genesis *g, char **json_out);

/* The network identifier of the handshake (see Hash above). */
void tc_genesis_hash(const tc_genesis *g, tc_hash *out);

/* Number of genesis outpoints: output_count + mn_count. */
uint32_t tc_genesis_outpoint_count(const tc_genesis *g);
/* The output at genesis outpoint (genesis hash, index). 0 or TC_ENOTFOUND (index out of range;
 * *out zeroed). */
int tc_genesis_outpoint_txout(const tc_genesis *g, uint32_t index, tc_txout *out);
/* Sum of all genesis outpoints. 0 or TC_EOVERFLOW (never for a checked genesis). */
int tc_genesis_supply(const tc_genesis *g, uint64_t *total_out);

/* Key derivation used by tc_genesis_create, so tools and the simulator re-derive every key from
 * the master seed: kp = keypair of tc_seed_derive(master, kind, index) with kind "validator"
 * (voting key), "owner" (collateral owner) or "wallet" (initial output owner).
 * 0 or TC_EINVAL (unknown kind; kp zeroed). */
int tc_genesis_key(const uint8_t master[TC_SEED_SIZE], const char *kind, uint32_t index,
                   tc_keypair *kp);

/* Builds a genesis on network net with the network's default profile:
 *  - masternode i (i < validator_count): key of ("validator", i), tier tiers[i] (tiers NULL: all
 *    bronze), owner = address of ("owner", i), net_addr "127.0.0.1:<p2p_port + i>";
 *  - output j (j < wallet_count): wallet_amount units to the address of ("wallet", j).
 * A caller wanting other profile values sets them on out->profile afterwards (tc_profile_set)
 * and re-runs tc_genesis_check. Returns 0, TC_EINVAL (the arguments make a genesis that fails
 * tc_genesis_check: no validators, too many, a bad tier, wallet_amount 0 or too large, supply
 * overflow, ports past 65535) or TC_ENOMEM; *out zeroed on failure. */
int tc_genesis_create(tc_genesis *out, tc_network net, const uint8_t master_seed[TC_SEED_SIZE],
                      uint32_t validator_count, const uint8_t *tiers, uint32_t wallet_count,
                      uint64_t wallet_amount, uint64_t time_ms);

#endif
