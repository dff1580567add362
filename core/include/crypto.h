/* crypto.h — hashing, keys, signatures, the verification cache and the deterministic generator.
 *
 * Everything here wraps libsodium (DESIGN.md) and nothing else in core/ calls libsodium for
 * signatures: the signature provider below is the one seam through which the simulator swaps
 * Ed25519 for `fast` signatures.
 *
 * Hash: H(tag, bytes) = BLAKE2b-256(tag || bytes). Tags are short ASCII strings ("tc/tx"), one
 * per object type, so a signature over one kind of object is never valid as another (PROTOCOL 1).
 */
#ifndef TC_CRYPTO_H
#define TC_CRYPTO_H

#include "base.h"

/* Domain tags. Every hashed or signed object type has its own. */
#define TC_TAG_TX        "tc/tx"
#define TC_TAG_SIGHASH   "tc/sighash"
#define TC_TAG_ADDR      "tc/addr"
#define TC_TAG_BLOCK     "tc/block"
#define TC_TAG_TXROOT    "tc/txroot"
#define TC_TAG_VOTE      "tc/vote"
#define TC_TAG_VOTEBATCH "tc/votebatch"
#define TC_TAG_HANDOFF   "tc/handoff"
#define TC_TAG_HELLO     "tc/hello"
#define TC_TAG_HEARTBEAT "tc/heartbeat"
#define TC_TAG_VSET      "tc/vset"
#define TC_TAG_UTXO      "tc/utxo"
#define TC_TAG_UTXOROOT  "tc/utxoroot"
#define TC_TAG_UTXOSET   "tc/utxoset"
#define TC_TAG_GENESIS   "tc/genesis"
#define TC_TAG_REWARD    "tc/reward"
#define TC_TAG_SEED      "tc/seed"
#define TC_TAG_FAST      "tc/fastsig"
#define TC_TAG_GOSSIPKEY "tc/gossipkey"

/* Checks that libsodium initialised; call once per process before anything below. Returns 0 or
 * TC_EFAILED. Idempotent. */
int tc_crypto_init(void);

/* out = BLAKE2b-256(tag || bytes). tag is a NUL-terminated string; the NUL is not hashed. */
void tc_hash_tagged(tc_hash *out, const char *tag, const void *bytes, size_t n);

/* Keyed PRF for identifiers that never leave the node: SipHash-2-4 with a 128-bit output
 * (libsodium crypto_shorthash_siphashx24). A few times cheaper than H over a frame; safe where
 * the key is secret and 128 bits of collision resistance against someone without it suffice. */
#define TC_SHORTHASH_KEY_SIZE 16
#define TC_SHORTHASH_SIZE     16
void tc_shorthash(uint8_t out[TC_SHORTHASH_SIZE], const void *bytes, size_t n,
                  const uint8_t key[TC_SHORTHASH_KEY_SIZE]);

/* Incremental form for objects hashed from pieces. */
typedef struct {
    _Alignas(64) uint8_t opaque[384]; /* crypto_generichash_state, checked in crypto.c */
} tc_hasher;
void tc_hasher_init(tc_hasher *h, const char *tag);
void tc_hasher_update(tc_hasher *h, const void *bytes, size_t n);
void tc_hasher_final(tc_hasher *h, tc_hash *out);

/* An Ed25519 key pair derived from a 32-byte seed (PROTOCOL 1). secret is libsodium's 64-byte
 * form. */
typedef struct {
    tc_pubkey pub;
    uint8_t secret[64];
} tc_keypair;

void tc_keypair_from_seed(tc_keypair *kp, const uint8_t seed[TC_SEED_SIZE]);
/* Derives a child seed: BLAKE2b-256(tc/seed || master || label || u64 index LE). The simulator
 * and the genesis tool use it to give every node and wallet its own key from one seed. */
void tc_seed_derive(uint8_t out[TC_SEED_SIZE], const uint8_t master[TC_SEED_SIZE],
                    const char *label, uint64_t index);

/* Expands a user-facing u64 seed (--seed N) into a master seed: H(tc/seed, u64 LE). */
void tc_seed_from_u64(uint8_t out[TC_SEED_SIZE], uint64_t seed);

/* Signature provider: Ed25519 for real nodes; `fast` for the simulator only. A fast signature
 * is H(tc/fastsig, pubkey || msg) followed by 32 zero bytes: it binds key and message and costs
 * one hash, but anyone who knows the public key can forge it. A node configured with `fast` must
 * never face a real network; the live driver refuses it. */
typedef enum { TC_SIG_ED25519 = 0, TC_SIG_FAST = 1 } tc_sig_scheme;

/* Signs a 32-byte message hash. */
void tc_sign(tc_sig_scheme scheme, const tc_keypair *kp, const tc_hash *msg, tc_sig *out);
/* Verifies without any cache. Returns 0 or TC_EBADSIG. */
int tc_verify_raw(tc_sig_scheme scheme, const tc_pubkey *pub, const tc_hash *msg,
                  const tc_sig *sig);

/* Verification cache keyed by (public key, message hash, signature), storing both outcomes
 * (DESIGN.md). Fixed capacity, set-associative with deterministic replacement, so lookups are
 * O(1) and memory is bounded. Results never depend on the cache, only speed does. Not thread
 * safe: a real node that fills it from workers wraps it in its own lock. */
typedef struct tc_verify_cache tc_verify_cache;

/* capacity is rounded up to a power of two (>= 16). key keys the entries' digests and must be
 * secret from peers: random per process for a live node; the simulator derives it from the
 * run's seed (its adversaries do not attack the cache). Returns NULL on allocation failure. */
tc_verify_cache *tc_verify_cache_new(size_t capacity, const uint8_t key[TC_SHORTHASH_KEY_SIZE]);
void tc_verify_cache_free(tc_verify_cache *c);

typedef struct {
    uint64_t hits;
    uint64_t misses;
    uint64_t evictions;
} tc_verify_cache_stats;

void tc_verify_cache_stats_get(const tc_verify_cache *c, tc_verify_cache_stats *out);
/* Records the outcome of a verification made elsewhere: a live driver's worker threads call
 * tc_verify_raw (thread safe) before the core sees a frame, and the loop's thread records each
 * result here, so that the core's own tc_verify finds it (a hit). valid must be the worker's
 * tc_verify_raw(TC_SIG_ED25519, ...) == 0: the cache trusts it. A triple present already is left
 * as it is; a new one may evict another (counted). Neither a hit nor a miss. */
void tc_verify_cache_put(tc_verify_cache *c, const tc_pubkey *pub, const tc_hash *msg,
                         const tc_sig *sig, bool valid);

/* LtHash16 (Bellare-Micciancio / Lewi et al.), the homomorphic multiset hash of the UTXO-set
 * root: an accumulator of 1024 u16 lanes. The element of a preimage `pre` under a tag is 2048
 * bytes of ChaCha20 keystream (zero nonce) under the key H(tag, pre), read as 1024 u16 LE lanes.
 * Adding a member adds its element lane-wise mod 2^16; removing one subtracts it, so the
 * accumulator depends on the multiset only, never on the order of changes. */
#define TC_LTHASH_LANES   1024
#define TC_LTHASH_PRE_MAX 96 /* longest preimage tc_lthash_fold takes */
typedef struct {
    uint16_t lanes[TC_LTHASH_LANES];
} tc_lthash;

/* Memo of elements, keyed by (tag, preimage) compared byte for byte: computing an element (a
 * hash and 2 KiB of keystream) costs about ten times adding it, and a block's UTXO changes are
 * computed again when it is judged, when it is applied, and by every node of a simulation.
 * Fixed capacity, set-associative with deterministic replacement; results never depend on it,
 * only speed does. Not thread safe. */
typedef struct tc_lthash_cache tc_lthash_cache;

/* capacity (elements) is rounded up to a power of two (>= 16); each takes about 2.2 KiB.
 * Returns NULL on allocation failure. */
tc_lthash_cache *tc_lthash_cache_new(size_t capacity);
void tc_lthash_cache_free(tc_lthash_cache *c);
/* hits and misses of tc_lthash_fold; evictions of older elements. */
void tc_lthash_cache_stats_get(const tc_lthash_cache *c, tc_verify_cache_stats *out);

/* acc += element(tag, pre) (sign = +1) or acc -= it (sign = -1); len <= TC_LTHASH_PRE_MAX, tag
 * non-empty and shorter than 16 bytes (the TC_TAG_* strings). cache may be NULL. */
void tc_lthash_fold(tc_lthash *acc, const char *tag, const void *pre, size_t len, int sign,
                    tc_lthash_cache *cache);

/* A driver's memo of tagged hashes (tc_hash_tagged) that many nodes compute over the same bytes:
 * the simulator shares one among its nodes, where each of them hashes every vote batch frame it
 * receives. get returns true and fills *out only when it holds tc_hash_tagged(tag, bytes, len)
 * for these very bytes under this very tag, compared byte for byte (never by a digest alone, so
 * a forged or different string never finds another's entry); put offers a hash just computed,
 * which the memo may keep or not. Like the caches, it changes speed only, never a result. Not
 * thread safe. */
typedef struct {
    bool (*get)(void *ctx, const char *tag, const uint8_t *bytes, size_t len, tc_hash *out);
    void (*put)(void *ctx, const char *tag, const uint8_t *bytes, size_t len, const tc_hash *h);
    void *ctx;
} tc_hash_memo;

/* tc_hash_tagged, looked up in memo first and offered to it after (memo NULL: none). */
void tc_hash_tagged_memo(const tc_hash_memo *memo, tc_hash *out, const char *tag, const void *bytes,
                         size_t n);

/* The crypto services every core module uses: the signature scheme plus optional memo caches
 * (NULL: none), which change speed only, never a result. */
typedef struct tc_input_memo tc_input_memo; /* tx.h */

typedef struct {
    tc_sig_scheme scheme;
    tc_verify_cache *cache;     /* signature verifications; Ed25519 only (a `fast` check costs
                                   less than a lookup) */
    tc_lthash_cache *elements;  /* LtHash elements of the UTXO-set root */
    const tc_hash_memo *hashes; /* tagged hashes the nodes of a simulation share: a vote batch
                                   frame's signed hash, a `fast` signature's expected value */
    tc_input_memo *inputs;      /* transaction inputs whose owner hash and signature were
                                   computed and checked (ledger.c) */
} tc_verifier;

/* Returns 0 or TC_EBADSIG. */
int tc_verify(const tc_verifier *v, const tc_pubkey *pub, const tc_hash *msg, const tc_sig *sig);

/* Deterministic generator (DESIGN.md): ChaCha20 keystream under a 32-byte seed. Same seed, same
 * sequence, on every platform. */
#define TC_RNG_BUF_BYTES 256 /* four ChaCha20 blocks made at once: one call per 32 u64 draws */

typedef struct {
    uint8_t key[32];
    uint64_t counter; /* 64-byte ChaCha20 blocks made so far */
    uint8_t block[TC_RNG_BUF_BYTES];
    uint32_t used; /* bytes of block consumed; TC_RNG_BUF_BYTES means empty */
} tc_rng;

void tc_rng_init(tc_rng *rng, const uint8_t seed[32]);
void tc_rng_init_u64(tc_rng *rng, uint64_t seed); /* seeded with tc_seed_from_u64(seed) */
void tc_rng_bytes(tc_rng *rng, void *out, size_t n);
uint64_t tc_rng_u64(tc_rng *rng);
/* Uniform in [0, bound) without modulo bias; bound > 0. */
uint64_t tc_rng_below(tc_rng *rng, uint64_t bound);

#endif
