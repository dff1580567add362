/* tx.h — transactions (PROTOCOL 3): the value type, its canonical encoding, its id, and the checks
 * that need nothing but the transaction itself.
 *
 * Encoding (all integers little-endian, see codec.h):
 *   u16 version (= 1) | u8 kind
 *   u32 input_count  | input_count  x (txid 32 | u32 index | pubkey 32 | sig 64)
 *   u32 output_count | output_count x (u64 amount | address hash 20)
 *   kind payload:
 *     transfer:  nothing
 *     register:  mn_key 32 | u8 tier | bytes net_addr (<= TC_TX_NETADDR_MAX) | mn_sig 64
 *     retire:    mn_key 32
 *
 * txid = H(tc/tx, encoding with every signature field left out): the input signatures and the
 * registration's mn_sig. So signing cannot change a txid (PROTOCOL 3), and a txid can be signed.
 * Input i signs H(tc/sighash, txid || u32 i). A registration also proves possession of the
 * masternode key: mn_sig signs H(tc/sighash, txid || u32 0xFFFFFFFF) with mn_key, so nobody can
 * register somebody else's key.
 *
 * Ownership: a tc_tx owns its input and output arrays (heap). tc_tx_decode allocates them;
 * tc_tx_deinit frees them. tc_tx_init_alloc sizes a fresh transaction for a builder.
 */
#ifndef TC_TX_H
#define TC_TX_H

#include "base.h"
#include "codec.h"
#include "crypto.h"
#include "profile.h"

#define TC_TX_VERSION     1
#define TC_TX_NETADDR_MAX 64
#define TC_TX_INPUT_SIZE  (TC_HASH_SIZE + 4 + TC_PUBKEY_SIZE + TC_SIG_SIZE)
#define TC_TX_OUTPUT_SIZE (8 + TC_ADDR_HASH_SIZE)
/* Hard decode limits, independent of the profile so a decoder never allocates more than this;
 * profile limits (tx_inputs_max, ...) are checked on top by tc_tx_check_form. */
#define TC_TX_INPUTS_HARD_MAX  4096
#define TC_TX_OUTPUTS_HARD_MAX 4096
#define TC_TX_SIGHASH_MN       UINT32_C(0xFFFFFFFF)

typedef enum {
    TC_TX_TRANSFER = 0,
    TC_TX_MN_REGISTER = 1,
    TC_TX_MN_RETIRE = 2,
    TC_TX_KIND_COUNT = 3,
} tc_tx_kind;

typedef enum {
    TC_TIER_BRONZE = 0,
    TC_TIER_SILVER = 1,
    TC_TIER_GOLD = 2,
    TC_TIER_COUNT = 3,
} tc_tier;

typedef struct {
    tc_hash txid;
    uint32_t index;
} tc_outpoint;

#define TC_OUTPOINT_SIZE (TC_HASH_SIZE + 4)

typedef struct {
    uint64_t amount; /* units */
    tc_addr_hash addr;
} tc_txout;

typedef struct {
    tc_outpoint prev;
    tc_pubkey pub;
    tc_sig sig;
} tc_txin;

typedef struct {
    uint16_t version;
    uint8_t kind; /* tc_tx_kind */
    uint32_t input_count;
    uint32_t output_count;
    tc_txin *inputs;
    tc_txout *outputs;
    /* Registration and retirement payload; zero for transfers. */
    tc_pubkey mn_key;
    uint8_t mn_tier; /* tc_tier, registration only */
    uint8_t net_addr_len;
    char net_addr[TC_TX_NETADDR_MAX]; /* not NUL-terminated */
    tc_sig mn_sig;
} tc_tx;

/* Allocates zeroed arrays for a builder. TC_ENOMEM or TC_ETOOLONG (over the hard limits). */
int tc_tx_init_alloc(tc_tx *tx, tc_tx_kind kind, uint32_t input_count, uint32_t output_count);
void tc_tx_deinit(tc_tx *tx);
/* Deep copy. TC_ENOMEM. */
int tc_tx_copy(tc_tx *dst, const tc_tx *src);
/* Whether a and b hold the same transaction, signatures included (field by field: the txid
 * leaves the signatures out, so equal txids do not make equal transactions). */
bool tc_tx_equal(const tc_tx *a, const tc_tx *b);

/* Appends the full encoding (signatures included). */
void tc_tx_encode(tc_writer *w, const tc_tx *tx);
/* Encodes into a fresh heap buffer the caller frees. TC_ENOMEM. */
int tc_tx_encode_alloc(const tc_tx *tx, uint8_t **out, size_t *len_out);
/* Exact encoded size in bytes. */
size_t tc_tx_encoded_size(const tc_tx *tx);
/* Decodes exactly one transaction from bytes (trailing bytes: TC_ETRAILING). Errors: TC_ESHORT,
 * TC_ETOOLONG, TC_ERANGE, TC_ETRAILING, TC_ENOMEM. On error tx is left empty (deinit is safe). */
int tc_tx_decode(tc_tx *tx, const uint8_t *bytes, size_t n);
/* Decodes one transaction from a reader (used inside blocks); leaves trailing bytes alone. */
int tc_tx_read(tc_reader *r, tc_tx *tx);

void tc_tx_id(const tc_tx *tx, tc_hash *txid_out);
void tc_tx_sighash(const tc_hash *txid, uint32_t input_index, tc_hash *out);
/* Signs input i with kp (the key must be the input's pub); txid must be tc_tx_id(tx). */
void tc_tx_sign_input(tc_tx *tx, const tc_hash *txid, uint32_t i, tc_sig_scheme scheme,
                      const tc_keypair *kp);
/* Registration only: sets mn_sig, signing H(tc/sighash, txid || u32 TC_TX_SIGHASH_MN) with the
 * masternode key (mn_kp->pub must equal tx->mn_key). */
void tc_tx_sign_mn(tc_tx *tx, const tc_hash *txid, tc_sig_scheme scheme, const tc_keypair *mn_kp);

/* Stateless checks of PROTOCOL 3 in a fixed order, returning the first rule broken:
 * TC_ETX_VERSION, TC_ETX_NO_INPUTS, TC_ETX_NO_OUTPUTS, TC_ETX_TOO_MANY_INPUTS,
 * TC_ETX_TOO_MANY_OUTPUTS, TC_ETX_SIZE, TC_ETX_DUP_INPUT, TC_ETX_ZERO_AMOUNT, TC_ETX_DUST,
 * TC_EOVERFLOW (output sum), TC_ETX_KIND (payload rules: tier range, net_addr length).
 * An unknown kind value is TC_ETX_KIND too, reported just before TC_ETX_SIZE (the size depends
 * on the kind). The kind rules: a transfer's payload fields are all zero; a retirement has a
 * non-zero mn_key and zero tier, net_addr and mn_sig; a registration has a non-zero mn_key, a
 * tier in range, net_addr_len <= TC_TX_NETADDR_MAX and outputs[0].amount equal to the tier's
 * collateral. Registry rules (key already registered, ...) belong to the masternode registry.
 * Signatures, ownership and sums against inputs need the UTXO set: see ledger.h. */
int tc_tx_check_form(const tc_tx *tx, const tc_profile *p);

/* Sum of outputs, overflow-checked: TC_EOVERFLOW. */
int tc_tx_output_total(const tc_tx *tx, uint64_t *out);
/* min_fee = min_fee_base + floor(output_total * min_fee_per_mille / 1000) (PROTOCOL 3), computed
 * exactly without a 128-bit product. TC_EOVERFLOW (and *out = 0) if it exceeds u64. */
int tc_tx_min_fee(const tc_profile *p, uint64_t output_total, uint64_t *out);

/* Address hash of a public key: first 20 bytes of H(tc/addr, pubkey). */
void tc_addr_from_pubkey(const tc_pubkey *pub, tc_addr_hash *out);

/* A memo of transaction inputs whose signature verified, shared by the simulator's nodes like the
 * verification cache: keyed by (scheme, txid, input index, public key, signature), an entry holds
 * the key's address hash. Every node admits every transaction, and each recomputed the sighash,
 * the owner hash and the signature check of each input (three BLAKE2b calls); the txid, already
 * a hash, places the entry, so a lookup hashes nothing. Entries are compared whole, so a hit
 * means the very input was checked: results never change, only speed. Set-associative, at least
 * capacity entries, a round-robin victim per set; one memo serves one thread. */
typedef struct tc_input_memo tc_input_memo;
/* NULL on TC_ENOMEM. */
tc_input_memo *tc_input_memo_new(size_t capacity);
void tc_input_memo_free(tc_input_memo *m);
/* The owner hash of input `index` of txid with (pub, sig) under scheme, if it was put. */
bool tc_input_memo_get(tc_input_memo *m, tc_sig_scheme scheme, const tc_hash *txid, uint32_t index,
                       const tc_pubkey *pub, const tc_sig *sig, tc_addr_hash *owner_out);
/* Records that the input verified and that owner = tc_addr_from_pubkey(pub). */
void tc_input_memo_put(tc_input_memo *m, tc_sig_scheme scheme, const tc_hash *txid, uint32_t index,
                       const tc_pubkey *pub, const tc_sig *sig, const tc_addr_hash *owner);
/* hits and misses of tc_input_memo_get; evictions by tc_input_memo_put. */
void tc_input_memo_stats_get(const tc_input_memo *m, tc_verify_cache_stats *out);

/* Outpoint key encoding for stores and sets: txid 32 | u32 index big-endian (so store order
 * groups a transaction's outputs in index order). */
void tc_outpoint_key(const tc_outpoint *op, uint8_t out[TC_OUTPOINT_SIZE]);
int tc_outpoint_cmp(const tc_outpoint *a, const tc_outpoint *b);

/* Collateral and weight of a tier in a profile. */
uint64_t tc_tier_collateral(const tc_profile *p, tc_tier t);
uint32_t tc_tier_weight(const tc_profile *p, tc_tier t);
const char *tc_tier_name(tc_tier t);
int tc_tier_parse(const char *name, tc_tier *out); /* TC_EINVAL */

#endif
