/* crypto.c — libsodium behind the interface of crypto.h. */
#include "crypto.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(((tc_hasher *)0)->opaque) >= sizeof(crypto_generichash_state),
               "tc_hasher too small for libsodium's state");
_Static_assert(crypto_sign_PUBLICKEYBYTES == TC_PUBKEY_SIZE, "public key size");
_Static_assert(crypto_sign_BYTES == TC_SIG_SIZE, "signature size");
_Static_assert(crypto_sign_SEEDBYTES == TC_SEED_SIZE, "seed size");
_Static_assert(crypto_sign_SECRETKEYBYTES == 64, "secret key size");

int tc_crypto_init(void)
{
    return sodium_init() < 0 ? TC_EFAILED : 0;
}

void tc_hasher_init(tc_hasher *h, const char *tag)
{
    TC_ASSERT(h != NULL && tag != NULL);
    crypto_generichash_state *st = (crypto_generichash_state *)h->opaque;
    int rc = crypto_generichash_init(st, NULL, 0, TC_HASH_SIZE);
    TC_ASSERT(rc == 0);
    crypto_generichash_update(st, (const unsigned char *)tag, strlen(tag));
}

void tc_hasher_update(tc_hasher *h, const void *bytes, size_t n)
{
    TC_ASSERT(bytes != NULL || n == 0);
    crypto_generichash_update((crypto_generichash_state *)h->opaque, bytes, n);
}

void tc_hasher_final(tc_hasher *h, tc_hash *out)
{
    int rc = crypto_generichash_final((crypto_generichash_state *)h->opaque, out->b, TC_HASH_SIZE);
    TC_ASSERT(rc == 0);
}

/* Short inputs (addresses, sighashes, element keys: most calls) go through libsodium's
 * one-shot call on tag || bytes, the same bytes the streaming path hashes: it skips the
 * streaming state's set-up and wipe, which cost more than the hash of so few bytes. */
#define TAGGED_ONE_SHOT_MAX 256

void tc_hash_tagged(tc_hash *out, const char *tag, const void *bytes, size_t n)
{
    TC_ASSERT(out != NULL && tag != NULL && (bytes != NULL || n == 0));
    size_t tag_len = strlen(tag);
    if (tag_len <= TAGGED_ONE_SHOT_MAX && n <= TAGGED_ONE_SHOT_MAX - tag_len) {
        uint8_t buf[TAGGED_ONE_SHOT_MAX];
        memcpy(buf, tag, tag_len);
        if (n > 0)
            memcpy(buf + tag_len, bytes, n);
        int rc = crypto_generichash(out->b, TC_HASH_SIZE, buf, tag_len + n, NULL, 0);
        TC_ASSERT(rc == 0);
        return;
    }
    tc_hasher h;
    tc_hasher_init(&h, tag);
    tc_hasher_update(&h, bytes, n);
    tc_hasher_final(&h, out);
}

void tc_shorthash(uint8_t out[TC_SHORTHASH_SIZE], const void *bytes, size_t n,
                  const uint8_t key[TC_SHORTHASH_KEY_SIZE])
{
    _Static_assert(crypto_shorthash_siphashx24_BYTES == TC_SHORTHASH_SIZE, "128-bit output");
    _Static_assert(crypto_shorthash_siphashx24_KEYBYTES == TC_SHORTHASH_KEY_SIZE, "128-bit key");
    TC_ASSERT(out != NULL && (bytes != NULL || n == 0) && key != NULL);
    (void)crypto_shorthash_siphashx24(out, bytes, n, key);
}

void tc_keypair_from_seed(tc_keypair *kp, const uint8_t seed[TC_SEED_SIZE])
{
    TC_ASSERT(kp != NULL && seed != NULL);
    int rc = crypto_sign_seed_keypair(kp->pub.b, kp->secret, seed);
    TC_ASSERT(rc == 0);
}

void tc_seed_derive(uint8_t out[TC_SEED_SIZE], const uint8_t master[TC_SEED_SIZE],
                    const char *label, uint64_t index)
{
    TC_ASSERT(out != NULL && master != NULL && label != NULL);
    uint8_t idx[8];
    for (int i = 0; i < 8; i++)
        idx[i] = (uint8_t)(index >> (8 * i));
    /* The label's length goes in first so ("ab", x) and ("a", "b" || x) never collide. */
    uint8_t label_len = (uint8_t)strlen(label);
    TC_ASSERT(strlen(label) < 256);
    tc_hasher h;
    tc_hash digest;
    tc_hasher_init(&h, TC_TAG_SEED);
    tc_hasher_update(&h, master, TC_SEED_SIZE);
    tc_hasher_update(&h, &label_len, 1);
    tc_hasher_update(&h, label, label_len);
    tc_hasher_update(&h, idx, sizeof(idx));
    tc_hasher_final(&h, &digest);
    memcpy(out, digest.b, TC_SEED_SIZE);
}

static void fast_sig(const tc_pubkey *pub, const tc_hash *msg, tc_sig *out)
{
    tc_hasher h;
    tc_hash digest;
    tc_hasher_init(&h, TC_TAG_FAST);
    tc_hasher_update(&h, pub->b, TC_PUBKEY_SIZE);
    tc_hasher_update(&h, msg->b, TC_HASH_SIZE);
    tc_hasher_final(&h, &digest);
    memset(out->b, 0, TC_SIG_SIZE);
    memcpy(out->b, digest.b, TC_HASH_SIZE);
}

void tc_sign(tc_sig_scheme scheme, const tc_keypair *kp, const tc_hash *msg, tc_sig *out)
{
    TC_ASSERT(kp != NULL && msg != NULL && out != NULL);
    if (scheme == TC_SIG_FAST) {
        fast_sig(&kp->pub, msg, out);
        return;
    }
    TC_ASSERT(scheme == TC_SIG_ED25519);
    int rc = crypto_sign_detached(out->b, NULL, msg->b, TC_HASH_SIZE, kp->secret);
    TC_ASSERT(rc == 0);
}

int tc_verify_raw(tc_sig_scheme scheme, const tc_pubkey *pub, const tc_hash *msg, const tc_sig *sig)
{
    TC_ASSERT(pub != NULL && msg != NULL && sig != NULL);
    if (scheme == TC_SIG_FAST) {
        tc_sig want;
        fast_sig(pub, msg, &want);
        /* A plain compare: anybody can compute a fast signature from the public key, so a
         * constant-time one would protect no secret. */
        return memcmp(want.b, sig->b, TC_SIG_SIZE) == 0 ? 0 : TC_EBADSIG;
    }
    TC_ASSERT(scheme == TC_SIG_ED25519);
    return crypto_sign_verify_detached(sig->b, msg->b, TC_HASH_SIZE, pub->b) == 0 ? 0 : TC_EBADSIG;
}

void tc_hash_tagged_memo(const tc_hash_memo *memo, tc_hash *out, const char *tag, const void *bytes,
                         size_t n)
{
    TC_ASSERT(memo == NULL || (memo->get != NULL && memo->put != NULL));
    if (memo != NULL && memo->get(memo->ctx, tag, bytes, n, out))
        return;
    tc_hash_tagged(out, tag, bytes, n);
    if (memo != NULL)
        memo->put(memo->ctx, tag, bytes, n, out);
}

/* ---- verification cache ----
 * Entries are indexed by a digest of (key, message, signature) and grouped in sets of four; a
 * full set evicts round-robin. The digest is tc_shorthash (SipHash-2-4, 128 bits) of the triple
 * under the cache's secret key: nobody without the key can build an invalid triple whose digest
 * equals a valid one's, so a hit is a hit on the exact triple; and it costs a fraction of a
 * BLAKE2b, which mattered since every check of every node goes through here. */

#define WAYS 4

typedef struct {
    uint8_t id[TC_SHORTHASH_SIZE]; /* tc_shorthash(key, pub || msg || sig) */
    uint8_t valid;
    uint8_t used;
} cache_entry;

struct tc_verify_cache {
    uint8_t key[TC_SHORTHASH_KEY_SIZE];
    size_t set_count; /* power of two */
    uint8_t *next_victim;
    cache_entry *entries;
    tc_verify_cache_stats stats;
};

/* Both caches: sets of `ways` entries, a power of two of them (at least 4), enough for capacity. */
static size_t set_count_for(size_t capacity, size_t ways)
{
    size_t sets = 4;
    while (sets * ways < capacity && sets < ((size_t)1 << 40))
        sets <<= 1;
    return sets;
}

tc_verify_cache *tc_verify_cache_new(size_t capacity, const uint8_t key[TC_SHORTHASH_KEY_SIZE])
{
    TC_ASSERT(key != NULL);
    size_t sets = set_count_for(capacity, WAYS);
    tc_verify_cache *c = tc_calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    memcpy(c->key, key, sizeof(c->key));
    c->set_count = sets;
    c->entries = tc_calloc(sets * WAYS, sizeof(cache_entry));
    c->next_victim = tc_calloc(sets, 1);
    if (c->entries == NULL || c->next_victim == NULL) {
        tc_verify_cache_free(c);
        return NULL;
    }
    return c;
}

void tc_verify_cache_free(tc_verify_cache *c)
{
    if (c == NULL)
        return;
    free(c->entries);
    free(c->next_victim);
    free(c);
}

void tc_verify_cache_stats_get(const tc_verify_cache *c, tc_verify_cache_stats *out)
{
    TC_ASSERT(c != NULL && out != NULL);
    *out = c->stats;
}

static void triple_id(const tc_verify_cache *c, const tc_pubkey *pub, const tc_hash *msg,
                      const tc_sig *sig, uint8_t out[TC_SHORTHASH_SIZE])
{
    uint8_t buf[TC_PUBKEY_SIZE + TC_HASH_SIZE + TC_SIG_SIZE];
    memcpy(buf, pub->b, TC_PUBKEY_SIZE);
    memcpy(buf + TC_PUBKEY_SIZE, msg->b, TC_HASH_SIZE);
    memcpy(buf + TC_PUBKEY_SIZE + TC_HASH_SIZE, sig->b, TC_SIG_SIZE);
    tc_shorthash(out, buf, sizeof(buf), c->key);
}

/* The cache's slot for a (key, message, signature) triple: its id and its set's row of WAYS
 * entries; the entry that holds the id, or NULL. */
static cache_entry *cache_find(tc_verify_cache *c, const tc_pubkey *pub, const tc_hash *msg,
                               const tc_sig *sig, uint8_t id[TC_SHORTHASH_SIZE], size_t *set_out)
{
    triple_id(c, pub, msg, sig, id);
    uint64_t h;
    memcpy(&h, id, sizeof(h));
    size_t set = (size_t)h & (c->set_count - 1);
    cache_entry *row = &c->entries[set * WAYS];
    *set_out = set;
    for (int i = 0; i < WAYS; i++)
        if (row[i].used && memcmp(row[i].id, id, TC_SHORTHASH_SIZE) == 0)
            return &row[i];
    return NULL;
}

/* Records a result in its set, evicting round-robin. */
static void cache_insert(tc_verify_cache *c, size_t set, const uint8_t id[TC_SHORTHASH_SIZE],
                         bool valid)
{
    cache_entry *row = &c->entries[set * WAYS];
    uint8_t victim = c->next_victim[set];
    if (row[victim].used)
        c->stats.evictions++;
    memcpy(row[victim].id, id, TC_SHORTHASH_SIZE);
    row[victim].valid = valid;
    row[victim].used = 1;
    c->next_victim[set] = (uint8_t)((victim + 1) % WAYS);
}

void tc_verify_cache_put(tc_verify_cache *c, const tc_pubkey *pub, const tc_hash *msg,
                         const tc_sig *sig, bool valid)
{
    TC_ASSERT(c != NULL && pub != NULL && msg != NULL && sig != NULL);
    uint8_t id[TC_SHORTHASH_SIZE];
    size_t set;
    if (cache_find(c, pub, msg, sig, id, &set) == NULL)
        cache_insert(c, set, id, valid);
}

/* tc_verify_raw of a fast signature, its hash through the memo of tagged hashes: fast_sig is
 * the tagged hash of pub | msg, and the simulator's nodes check the same signatures (every
 * node every vote batch), where the memo answers for less than the hash costs. */
static int fast_verify_memo(const tc_hash_memo *memo, const tc_pubkey *pub, const tc_hash *msg,
                            const tc_sig *sig)
{
    uint8_t pre[TC_PUBKEY_SIZE + TC_HASH_SIZE];
    memcpy(pre, pub->b, TC_PUBKEY_SIZE);
    memcpy(pre + TC_PUBKEY_SIZE, msg->b, TC_HASH_SIZE);
    tc_hash digest;
    tc_hash_tagged_memo(memo, &digest, TC_TAG_FAST, pre, sizeof(pre));
    tc_sig want;
    memset(want.b, 0, TC_SIG_SIZE);
    memcpy(want.b, digest.b, TC_HASH_SIZE); /* fast_sig's layout */
    return memcmp(want.b, sig->b, TC_SIG_SIZE) == 0 ? 0 : TC_EBADSIG;
}

int tc_verify(const tc_verifier *v, const tc_pubkey *pub, const tc_hash *msg, const tc_sig *sig)
{
    TC_ASSERT(v != NULL);
    tc_verify_cache *c = v->cache;
    if (v->scheme == TC_SIG_FAST && v->hashes != NULL)
        return fast_verify_memo(v->hashes, pub, msg, sig);
    if (c == NULL || v->scheme == TC_SIG_FAST)
        return tc_verify_raw(v->scheme, pub, msg, sig); /* a fast check costs less than a lookup */
    uint8_t id[TC_SHORTHASH_SIZE];
    size_t set;
    const cache_entry *hit = cache_find(c, pub, msg, sig, id, &set);
    if (hit != NULL) {
        c->stats.hits++;
        return hit->valid ? 0 : TC_EBADSIG;
    }
    c->stats.misses++;
    int rc = tc_verify_raw(v->scheme, pub, msg, sig);
    cache_insert(c, set, id, rc == 0);
    return rc;
}

/* ---- deterministic generator ---- */

void tc_rng_init(tc_rng *rng, const uint8_t seed[32])
{
    TC_ASSERT(rng != NULL && seed != NULL);
    memcpy(rng->key, seed, 32);
    rng->counter = 0;
    rng->used = TC_RNG_BUF_BYTES;
}

void tc_seed_from_u64(uint8_t out[TC_SEED_SIZE], uint64_t seed)
{
    uint8_t le[8];
    tc_hash h;
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(seed >> (8 * i));
    tc_hash_tagged(&h, TC_TAG_SEED, le, sizeof(le));
    memcpy(out, h.b, TC_SEED_SIZE);
}

void tc_rng_init_u64(tc_rng *rng, uint64_t seed)
{
    uint8_t master[TC_SEED_SIZE];
    tc_seed_from_u64(master, seed);
    tc_rng_init(rng, master);
}

/* The next TC_RNG_BUF_BYTES of the keystream: blocks counter .. counter + 3, the same bytes
 * as four 64-byte steps (libsodium's block counter advances within one call). */
static void refill(tc_rng *rng)
{
    static const uint8_t zero[TC_RNG_BUF_BYTES];
    uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {0};
    /* The block counter is the IETF-less ChaCha20 block counter: one 64-byte block per step. */
    crypto_stream_chacha20_xor_ic(rng->block, zero, TC_RNG_BUF_BYTES, nonce, rng->counter,
                                  rng->key);
    rng->counter += TC_RNG_BUF_BYTES / 64;
    rng->used = 0;
}

void tc_rng_bytes(tc_rng *rng, void *out, size_t n)
{
    TC_ASSERT(rng != NULL && (out != NULL || n == 0));
    uint8_t *o = out;
    while (n > 0) {
        if (rng->used == TC_RNG_BUF_BYTES)
            refill(rng);
        size_t take = TC_RNG_BUF_BYTES - rng->used;
        if (take > n)
            take = n;
        memcpy(o, rng->block + rng->used, take);
        rng->used += (uint32_t)take;
        o += take;
        n -= take;
    }
}

uint64_t tc_rng_u64(tc_rng *rng)
{
    uint8_t b[8];
    TC_ASSERT(rng != NULL && rng->used <= TC_RNG_BUF_BYTES);
    const uint8_t *src = rng->block + rng->used;
    if (rng->used + sizeof(b) <= TC_RNG_BUF_BYTES) /* the common case: one read of the buffer */
        rng->used += (uint32_t)sizeof(b);
    else {
        tc_rng_bytes(rng, b, sizeof(b));
        src = b;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) /* little-endian, whatever the host: the same draws everywhere */
        v |= (uint64_t)src[i] << (8 * i);
    return v;
}

uint64_t tc_rng_below(tc_rng *rng, uint64_t bound)
{
    TC_ASSERT(bound > 0);
    /* Rejection sampling: draw until the value falls below the largest multiple of bound. */
    uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
    uint64_t v;
    do {
        v = tc_rng_u64(rng);
    } while (v >= limit);
    return v % bound;
}

/* ---- LtHash16 ---- */

#define LTHASH_WAYS 4

#define LTHASH_TAG_MAX 16

typedef struct {
    char tag[LTHASH_TAG_MAX]; /* "": empty slot */
    uint8_t len;
    uint8_t pre[TC_LTHASH_PRE_MAX];
    tc_lthash element;
} lthash_entry;

struct tc_lthash_cache {
    size_t set_count; /* power of two */
    uint8_t *next_victim;
    lthash_entry *entries;
    tc_verify_cache_stats stats;
};

tc_lthash_cache *tc_lthash_cache_new(size_t capacity)
{
    size_t sets = set_count_for(capacity, LTHASH_WAYS);
    tc_lthash_cache *c = tc_calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->set_count = sets;
    c->entries = tc_calloc(sets * LTHASH_WAYS, sizeof(lthash_entry));
    c->next_victim = tc_calloc(sets, 1);
    if (c->entries == NULL || c->next_victim == NULL) {
        tc_lthash_cache_free(c);
        return NULL;
    }
    return c;
}

void tc_lthash_cache_free(tc_lthash_cache *c)
{
    if (c == NULL)
        return;
    free(c->entries);
    free(c->next_victim);
    free(c);
}

void tc_lthash_cache_stats_get(const tc_lthash_cache *c, tc_verify_cache_stats *out)
{
    TC_ASSERT(c != NULL && out != NULL);
    *out = c->stats;
}

static void lthash_element(const char *tag, const void *pre, size_t len, tc_lthash *out)
{
    static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
    tc_hash k;
    tc_hash_tagged(&k, tag, pre, len);
    _Static_assert(sizeof(out->lanes) == TC_LTHASH_LANES * 2, "lanes are packed u16");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* The lanes are little-endian u16 already: the keystream goes straight into them. */
    crypto_stream_chacha20((uint8_t *)out->lanes, sizeof(out->lanes), nonce, k.b);
#else
    uint8_t ks[TC_LTHASH_LANES * 2];
    crypto_stream_chacha20(ks, sizeof(ks), nonce, k.b);
    for (size_t i = 0; i < TC_LTHASH_LANES; i++)
        out->lanes[i] = (uint16_t)(ks[2 * i] | ks[2 * i + 1] << 8);
#endif
}

/* Set index: a multiply-xorshift mix of the preimage. Not cryptographic: a colliding set only
 * costs a recomputation, since entries are compared byte for byte. */
static size_t lthash_set(const tc_lthash_cache *c, const uint8_t *pre, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15u ^ len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, pre + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    for (; i < len; i++)
        h = (h ^ pre[i]) * 0x100000001b3u;
    return (size_t)(h ^ h >> 32) & (c->set_count - 1);
}

static const tc_lthash *lthash_cached(tc_lthash_cache *c, const char *tag, const uint8_t *pre,
                                      size_t len)
{
    size_t set = lthash_set(c, pre, len);
    lthash_entry *row = &c->entries[set * LTHASH_WAYS];
    for (int i = 0; i < LTHASH_WAYS; i++) {
        if (row[i].len == len && memcmp(row[i].pre, pre, len) == 0 &&
            strcmp(row[i].tag, tag) == 0 && row[i].tag[0] != '\0') {
            c->stats.hits++;
            return &row[i].element;
        }
    }
    c->stats.misses++;
    uint8_t victim = c->next_victim[set];
    if (row[victim].tag[0] != '\0')
        c->stats.evictions++;
    lthash_entry *e = &row[victim];
    memcpy(e->tag, tag, strlen(tag) + 1);
    e->len = (uint8_t)len;
    memcpy(e->pre, pre, len);
    lthash_element(tag, pre, len, &e->element);
    c->next_victim[set] = (uint8_t)((victim + 1) % LTHASH_WAYS);
    return &e->element;
}

/* restrict, and a loop without a branch inside, let the compiler vectorise the 1024 lanes
 * (at -O2, GCC will not add the run-time overlap check it would otherwise need). On x86-64 the
 * fold is also built for AVX2 and the loader picks the clone the CPU runs (an ifunc): 32-byte
 * adds halve the instructions of the 16-byte baseline. Lane sums are exact modulo 2^16 either
 * way, so every clone gives the same accumulator. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute) && defined(__linux__)
#if __has_attribute(target_clones)
#define LANES_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef LANES_CLONES
#define LANES_CLONES
#endif

LANES_CLONES
static void lanes_fold(uint16_t *restrict acc, const uint16_t *restrict el, int sign)
{
    if (sign > 0)
        for (size_t i = 0; i < TC_LTHASH_LANES; i++)
            acc[i] = (uint16_t)(acc[i] + el[i]);
    else
        for (size_t i = 0; i < TC_LTHASH_LANES; i++)
            acc[i] = (uint16_t)(acc[i] - el[i]);
}

void tc_lthash_fold(tc_lthash *acc, const char *tag, const void *pre, size_t len, int sign,
                    tc_lthash_cache *cache)
{
    TC_ASSERT(acc != NULL && tag != NULL && pre != NULL && len <= TC_LTHASH_PRE_MAX);
    TC_ASSERT(tag[0] != '\0' && strlen(tag) < LTHASH_TAG_MAX);
    TC_ASSERT(sign == 1 || sign == -1);
    tc_lthash own;
    const tc_lthash *el = &own;
    if (cache != NULL)
        el = lthash_cached(cache, tag, pre, len);
    else
        lthash_element(tag, pre, len, &own);
    lanes_fold(acc->lanes, el->lanes, sign);
}
