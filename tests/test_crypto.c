/* test_crypto.c — hashing, Ed25519, the fast scheme, the verification cache, the deterministic
 * generator and seed derivation, against published vectors where they exist. Every golden value
 * here was checked against an independent implementation (Python hashlib / cryptography). */
#include <criterion/criterion.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>

#include "crypto.h"
#include "support.h"

static void setup(void)
{
    cr_assert_eq(tc_crypto_init(), 0);
}

TestSuite(crypto, .init = setup);

/* Decodes a hex string into out; asserts the length. */
static void unhex(uint8_t *out, size_t n, const char *hex)
{
    size_t bin_len = 0;
    cr_assert_eq(strlen(hex), 2 * n, "vector %s has %zu bytes, wanted %zu", hex, strlen(hex) / 2,
                 n);
    cr_assert_eq(sodium_hex2bin(out, n, hex, strlen(hex), NULL, &bin_len, NULL), 0);
    cr_assert_eq(bin_len, n);
}

static void assert_hex(const uint8_t *got, size_t n, const char *want)
{
    char hex[2 * 64 + 1];
    cr_assert(n <= 64);
    tc_hex(hex, got, n);
    cr_assert_str_eq(hex, want);
}

/* ---- BLAKE2b ---- */

Test(crypto, blake2b_256_published_values_with_empty_tag)
{
    tc_hash h;
    tc_hash_tagged(&h, "", "abc", 3);
    assert_hex(h.b, TC_HASH_SIZE,
               "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
    tc_hash_tagged(&h, "", "", 0);
    assert_hex(h.b, TC_HASH_SIZE,
               "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

Test(crypto, rfc7693_appendix_a_blake2b_512_pins_the_library)
{
    uint8_t out[64];
    cr_assert_eq(crypto_generichash(out, sizeof(out), (const uint8_t *)"abc", 3, NULL, 0), 0);
    assert_hex(out, sizeof(out),
               "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
               "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
}

Test(crypto, tagged_hash_is_untagged_hash_of_tag_then_bytes)
{
    tc_hash tagged;
    tc_hash plain;
    tc_hash_tagged(&tagged, TC_TAG_TX, "abc", 3);
    tc_hash_tagged(&plain, "", "tc/txabc", 8);
    cr_assert_eq(memcmp(tagged.b, plain.b, TC_HASH_SIZE), 0);
    /* Independent value: hashlib.blake2b(b'tc/txabc', digest_size=32). */
    assert_hex(tagged.b, TC_HASH_SIZE,
               "1e888fa5a2ca3156d620e2488642383a4f44c97031d02f513f18a83eaef169d4");

    tc_hash other;
    tc_hash_tagged(&other, TC_TAG_BLOCK, "abc", 3);
    cr_assert_neq(memcmp(tagged.b, other.b, TC_HASH_SIZE), 0, "tags separate domains");
}

/* tc_hash_tagged hashes short inputs in one call and long ones by streaming: the same value
 * on both sides of the switch. */
Test(crypto, tagged_hash_equals_the_streaming_hasher_at_every_length)
{
    uint8_t bytes[400];
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (uint8_t)(i * 7 + 1);
    for (size_t n = 0; n <= sizeof(bytes); n++) {
        tc_hash tagged, streamed;
        tc_hash_tagged(&tagged, TC_TAG_TX, bytes, n);
        tc_hasher h;
        tc_hasher_init(&h, TC_TAG_TX);
        tc_hasher_update(&h, bytes, n);
        tc_hasher_final(&h, &streamed);
        cr_assert_arr_eq(tagged.b, streamed.b, TC_HASH_SIZE, "length %zu", n);
    }
}

Test(crypto, incremental_hasher_equals_one_shot_at_every_split)
{
    uint8_t msg[200];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 7 + 3);
    tc_hash want;
    tc_hash_tagged(&want, TC_TAG_VOTE, msg, sizeof(msg));
    for (size_t split = 0; split <= sizeof(msg); split++) {
        tc_hasher h;
        tc_hash got;
        tc_hasher_init(&h, TC_TAG_VOTE);
        tc_hasher_update(&h, msg, split);
        tc_hasher_update(&h, msg + split, sizeof(msg) - split);
        tc_hasher_final(&h, &got);
        cr_assert_eq(memcmp(got.b, want.b, TC_HASH_SIZE), 0, "split at %zu differs", split);
    }
}

/* ---- Ed25519: RFC 8032 section 7.1 ---- */

typedef struct {
    const char *seed;
    const char *pub;
    const char *msg;
    const char *sig;
} ed_vector;

static const ed_vector rfc8032[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
     "46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
     "d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc"
     "6594a7c15e9716ed28dc027beceea1ec40a"},
};

Test(crypto, rfc8032_tests_1_to_3)
{
    for (size_t v = 0; v < TC_ARRAY_LEN(rfc8032); v++) {
        uint8_t seed[TC_SEED_SIZE];
        uint8_t msg[2];
        size_t msg_len = strlen(rfc8032[v].msg) / 2;
        uint8_t sig[TC_SIG_SIZE];
        tc_keypair kp;
        unhex(seed, sizeof(seed), rfc8032[v].seed);
        if (msg_len > 0)
            unhex(msg, msg_len, rfc8032[v].msg);
        tc_keypair_from_seed(&kp, seed);
        assert_hex(kp.pub.b, TC_PUBKEY_SIZE, rfc8032[v].pub);
        /* tc_sign signs 32-byte hashes only, so the raw vectors go through libsodium with the
         * secret tc_keypair_from_seed produced. */
        cr_assert_eq(crypto_sign_detached(sig, NULL, msg, msg_len, kp.secret), 0);
        assert_hex(sig, TC_SIG_SIZE, rfc8032[v].sig);
        cr_assert_eq(crypto_sign_verify_detached(sig, msg, msg_len, kp.pub.b), 0,
                     "TEST %zu verifies", v + 1);
    }
}

Test(crypto, ed25519_sign_verify_round_trip_and_tamper_rejection)
{
    tc_keypair kp;
    tc_keypair other;
    tc_hash msg;
    tc_sig sig;
    ts_keypair(&kp, 1);
    ts_keypair(&other, 2);
    tc_hash_tagged(&msg, TC_TAG_VOTE, "vote", 4);
    tc_sign(TC_SIG_ED25519, &kp, &msg, &sig);
    cr_assert_eq(tc_verify_raw(TC_SIG_ED25519, &kp.pub, &msg, &sig), 0);
    cr_assert_eq(tc_verify_raw(TC_SIG_ED25519, &other.pub, &msg, &sig), TC_EBADSIG);
    for (size_t i = 0; i < TC_SIG_SIZE; i++) {
        tc_sig bad = sig;
        bad.b[i] ^= 0x01;
        cr_assert_eq(tc_verify_raw(TC_SIG_ED25519, &kp.pub, &msg, &bad), TC_EBADSIG,
                     "signature byte %zu flipped", i);
    }
    for (size_t i = 0; i < TC_HASH_SIZE; i++) {
        tc_hash bad = msg;
        bad.b[i] ^= 0x80;
        cr_assert_eq(tc_verify_raw(TC_SIG_ED25519, &kp.pub, &bad, &sig), TC_EBADSIG,
                     "message byte %zu flipped", i);
    }
    for (size_t i = 0; i < TC_PUBKEY_SIZE; i++) {
        tc_pubkey bad = kp.pub;
        bad.b[i] ^= 0x04;
        cr_assert_eq(tc_verify_raw(TC_SIG_ED25519, &bad, &msg, &sig), TC_EBADSIG,
                     "key byte %zu flipped", i);
    }
}

/* ---- fast scheme ---- */

Test(crypto, fast_scheme_binds_key_and_message_and_is_not_ed25519)
{
    tc_keypair a;
    tc_keypair b;
    tc_hash m1;
    tc_hash m2;
    tc_sig sig;
    tc_sig ed;
    ts_keypair(&a, 10);
    ts_keypair(&b, 11);
    tc_hash_tagged(&m1, TC_TAG_VOTE, "1", 1);
    tc_hash_tagged(&m2, TC_TAG_VOTE, "2", 1);
    tc_sign(TC_SIG_FAST, &a, &m1, &sig);
    cr_assert_eq(tc_verify_raw(TC_SIG_FAST, &a.pub, &m1, &sig), 0);
    cr_assert_eq(tc_verify_raw(TC_SIG_FAST, &b.pub, &m1, &sig), TC_EBADSIG, "bound to the key");
    cr_assert_eq(tc_verify_raw(TC_SIG_FAST, &a.pub, &m2, &sig), TC_EBADSIG, "bound to the msg");
    cr_assert_eq(tc_verify_raw(TC_SIG_ED25519, &a.pub, &m1, &sig), TC_EBADSIG,
                 "a fast signature never passes Ed25519 verification");
    tc_sign(TC_SIG_ED25519, &a, &m1, &ed);
    cr_assert_eq(tc_verify_raw(TC_SIG_FAST, &a.pub, &m1, &ed), TC_EBADSIG,
                 "and an Ed25519 signature is not a fast one");
    for (size_t i = TC_HASH_SIZE; i < TC_SIG_SIZE; i++)
        cr_assert_eq(sig.b[i], 0, "fast signature tail byte %zu is zero", i);
}

/* ---- verification cache ---- */

Test(crypto, cache_counts_hits_misses_and_caches_both_outcomes)
{
    tc_verify_cache *c = tc_verify_cache_new(64, TS_CACHE_KEY);
    cr_assert_not_null(c);
    tc_verifier v = {.scheme = TC_SIG_ED25519, .cache = c};
    tc_verify_cache_stats st;
    tc_keypair kp;
    tc_hash msg;
    tc_sig good;
    ts_keypair(&kp, 3);
    tc_hash_tagged(&msg, TC_TAG_VOTE, "x", 1);
    tc_sign(TC_SIG_ED25519, &kp, &msg, &good);
    tc_sig bad = good;
    bad.b[5] ^= 1;

    cr_assert_eq(tc_verify(&v, &kp.pub, &msg, &good), 0);
    cr_assert_eq(tc_verify(&v, &kp.pub, &msg, &bad), TC_EBADSIG);
    tc_verify_cache_stats_get(c, &st);
    cr_assert_eq(st.misses, 2);
    cr_assert_eq(st.hits, 0);
    cr_assert_eq(tc_verify(&v, &kp.pub, &msg, &good), 0, "a good signature stays good on a hit");
    cr_assert_eq(tc_verify(&v, &kp.pub, &msg, &bad), TC_EBADSIG,
                 "a bad signature stays bad on a hit");
    tc_verify_cache_stats_get(c, &st);
    cr_assert_eq(st.hits, 2);
    cr_assert_eq(st.misses, 2);
    cr_assert_eq(st.evictions, 0);
    tc_verify_cache_free(c);
}

Test(crypto, cache_capacity_is_bounded_and_evictions_counted)
{
    enum { CAP = 16, N = 300 };
    tc_verify_cache *c = tc_verify_cache_new(CAP, TS_CACHE_KEY);
    cr_assert_not_null(c);
    tc_verifier v = {.scheme = TC_SIG_ED25519, .cache = c};
    tc_keypair kp;
    ts_keypair(&kp, 4);
    for (int round = 0; round < 2; round++) {
        for (uint32_t i = 0; i < N; i++) {
            tc_hash msg;
            tc_sig sig;
            tc_hash_tagged(&msg, TC_TAG_VOTE, &i, sizeof(i));
            tc_sign(TC_SIG_ED25519, &kp, &msg, &sig);
            cr_assert_eq(tc_verify(&v, &kp.pub, &msg, &sig), 0);
        }
    }
    tc_verify_cache_stats st;
    tc_verify_cache_stats_get(c, &st);
    cr_assert_eq(st.hits + st.misses, 2 * N);
    /* 2N lookups of N distinct triples through CAP slots: at most CAP hits, and every miss
     * beyond the occupied slots evicted someone. */
    cr_assert_leq(st.hits, CAP, "hits %llu exceed the capacity", (unsigned long long)st.hits);
    cr_assert_geq(st.evictions, st.misses - CAP);
    cr_assert_leq(st.evictions, st.misses);
    tc_verify_cache_free(c);
}

/* A result recorded by tc_verify_cache_put is what tc_verify answers next, as a hit, without
 * verifying again: a recorded "invalid" for a good signature shows the cache was consulted. A
 * second put of a present triple changes nothing. */
Test(crypto, cache_put_records_a_result_found_by_verify)
{
    tc_verify_cache *c = tc_verify_cache_new(64, TS_CACHE_KEY);
    cr_assert_not_null(c);
    tc_verifier v = {.scheme = TC_SIG_ED25519, .cache = c};
    tc_keypair kp;
    tc_hash m1, m2;
    tc_sig s1, s2;
    ts_keypair(&kp, 6);
    tc_hash_tagged(&m1, TC_TAG_VOTE, "p", 1);
    tc_hash_tagged(&m2, TC_TAG_VOTE, "q", 1);
    tc_sign(TC_SIG_ED25519, &kp, &m1, &s1);
    tc_sign(TC_SIG_ED25519, &kp, &m2, &s2);
    tc_verify_cache_put(c, &kp.pub, &m1, &s1, true);
    tc_verify_cache_put(c, &kp.pub, &m2, &s2, false);
    tc_verify_cache_put(c, &kp.pub, &m2, &s2, true); /* present: left as it is */
    tc_verify_cache_stats st;
    tc_verify_cache_stats_get(c, &st);
    cr_assert_eq(st.hits + st.misses, 0, "a put is neither a hit nor a miss");
    cr_assert_eq(tc_verify(&v, &kp.pub, &m1, &s1), 0, "the recorded valid result");
    cr_assert_eq(tc_verify(&v, &kp.pub, &m2, &s2), TC_EBADSIG,
                 "the recorded (here deliberately wrong) invalid result, not a new check");
    tc_verify_cache_stats_get(c, &st);
    cr_assert_eq(st.hits, 2, "both answered from the cache, got %llu hits",
                 (unsigned long long)st.hits);
    cr_assert_eq(st.misses, 0);
    tc_verify_cache_free(c);
}

/* A fast check is one hash, cheaper than the cache's lookup key: it never goes through it. */
Test(crypto, fast_signatures_bypass_the_cache)
{
    tc_verify_cache *c = tc_verify_cache_new(16, TS_CACHE_KEY);
    cr_assert_not_null(c);
    tc_verifier v = {.scheme = TC_SIG_FAST, .cache = c};
    tc_keypair kp;
    ts_keypair(&kp, 5);
    tc_hash msg;
    tc_sig sig;
    tc_hash_tagged(&msg, TC_TAG_VOTE, "m", 1);
    tc_sign(TC_SIG_FAST, &kp, &msg, &sig);
    cr_assert_eq(tc_verify(&v, &kp.pub, &msg, &sig), 0);
    sig.b[0] ^= 1;
    cr_assert_eq(tc_verify(&v, &kp.pub, &msg, &sig), TC_EBADSIG);
    tc_verify_cache_stats st;
    tc_verify_cache_stats_get(c, &st);
    cr_assert_eq(st.hits + st.misses, 0);
    tc_verify_cache_free(c);
}

/* ---- LtHash16 ---- */

static bool lthash_eq(const tc_lthash *a, const tc_lthash *b)
{
    return memcmp(a->lanes, b->lanes, sizeof(a->lanes)) == 0;
}

/* The element is the documented construction: ChaCha20 keystream under H(tag, pre), LE lanes. */
Test(crypto, lthash_element_is_the_documented_construction)
{
    tc_lthash acc = {0};
    const uint8_t pre[5] = {1, 2, 3, 4, 5};
    tc_lthash_fold(&acc, TC_TAG_UTXO, pre, sizeof(pre), 1, NULL);
    tc_hash k;
    tc_hash_tagged(&k, TC_TAG_UTXO, pre, sizeof(pre));
    static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
    uint8_t ks[2 * TC_LTHASH_LANES];
    crypto_stream_chacha20(ks, sizeof(ks), nonce, k.b);
    for (size_t i = 0; i < TC_LTHASH_LANES; i++)
        cr_assert_eq(acc.lanes[i], (uint16_t)(ks[2 * i] | ks[2 * i + 1] << 8), "lane %zu", i);
}

/* The fold (whichever clone the CPU runs: AVX2 or the baseline) is lane-wise addition and
 * subtraction modulo 2^16, checked against scalar arithmetic from a random accumulator, so
 * lanes wrap both ways. */
Test(crypto, lthash_fold_is_lanewise_arithmetic_mod_2_16)
{
    tc_lthash acc, start;
    tc_rng rng;
    tc_rng_init_u64(&rng, 1616);
    tc_rng_bytes(&rng, (uint8_t *)start.lanes, sizeof(start.lanes));
    acc = start;
    const uint8_t pre[7] = {7, 6, 5, 4, 3, 2, 1};
    tc_lthash el = {0};
    tc_lthash_fold(&el, TC_TAG_UTXO, pre, sizeof(pre), 1, NULL); /* the element alone */
    tc_lthash_fold(&acc, TC_TAG_UTXO, pre, sizeof(pre), 1, NULL);
    size_t wrapped = 0;
    for (size_t i = 0; i < TC_LTHASH_LANES; i++) {
        uint16_t want = (uint16_t)(start.lanes[i] + el.lanes[i]);
        cr_assert_eq(acc.lanes[i], want, "lane %zu: %u + %u = %u mod 2^16", i, start.lanes[i],
                     el.lanes[i], want);
        wrapped += want < start.lanes[i];
    }
    cr_assert_gt(wrapped, 100, "about half the 1,024 lanes wrap: %zu", wrapped);
    tc_lthash_fold(&acc, TC_TAG_UTXO, pre, sizeof(pre), -1, NULL);
    cr_assert(lthash_eq(&acc, &start), "subtracting the element restores every lane");
    tc_lthash_fold(&acc, TC_TAG_UTXO, pre, sizeof(pre), -1, NULL);
    for (size_t i = 0; i < TC_LTHASH_LANES; i++)
        cr_assert_eq(acc.lanes[i], (uint16_t)(start.lanes[i] - el.lanes[i]), "lane %zu", i);
}

/* Adding then removing returns to zero; order does not matter; tags separate elements. */
Test(crypto, lthash_is_a_multiset_hash)
{
    tc_lthash ab = {0}, ba = {0}, zero = {0}, other = {0};
    tc_lthash_fold(&ab, TC_TAG_UTXO, "a", 1, 1, NULL);
    tc_lthash_fold(&ab, TC_TAG_UTXO, "b", 1, 1, NULL);
    tc_lthash_fold(&ba, TC_TAG_UTXO, "b", 1, 1, NULL);
    tc_lthash_fold(&ba, TC_TAG_UTXO, "a", 1, 1, NULL);
    cr_assert(lthash_eq(&ab, &ba));
    tc_lthash_fold(&ab, TC_TAG_UTXO, "a", 1, -1, NULL);
    tc_lthash_fold(&ab, TC_TAG_UTXO, "b", 1, -1, NULL);
    cr_assert(lthash_eq(&ab, &zero));
    tc_lthash_fold(&other, TC_TAG_TX, "a", 1, 1, NULL);
    tc_lthash_fold(&ba, TC_TAG_UTXO, "b", 1, -1, NULL);
    cr_assert_not(lthash_eq(&other, &ba), "the tag is part of the element");
}

/* Through a tiny cache, with collisions and evictions, every fold equals the uncached one. */
Test(crypto, lthash_cache_changes_nothing_but_speed)
{
    tc_lthash_cache *c = tc_lthash_cache_new(16);
    cr_assert_not_null(c);
    tc_lthash cached = {0}, plain = {0};
    tc_rng rng;
    tc_rng_init_u64(&rng, 77);
    for (int i = 0; i < 400; i++) {
        uint8_t pre[TC_LTHASH_PRE_MAX];
        uint32_t pick = (uint32_t)tc_rng_below(&rng, 40); /* few distinct preimages: hits */
        size_t len = sizeof(pick) + pick % (TC_LTHASH_PRE_MAX - sizeof(pick) + 1);
        memset(pre, 0, sizeof(pre));
        memcpy(pre, &pick, sizeof(pick));
        int sign = tc_rng_below(&rng, 2) ? 1 : -1;
        const char *tag = tc_rng_below(&rng, 4) == 0 ? TC_TAG_TX : TC_TAG_UTXO;
        tc_lthash_fold(&cached, tag, pre, len, sign, c);
        tc_lthash_fold(&plain, tag, pre, len, sign, NULL);
        cr_assert(lthash_eq(&cached, &plain), "fold %d", i);
    }
    tc_verify_cache_stats st;
    tc_lthash_cache_stats_get(c, &st);
    cr_assert_eq(st.hits + st.misses, 400);
    cr_assert_gt(st.hits, 0);
    cr_assert_gt(st.evictions, 0);
    cr_assert_leq(st.evictions, st.misses);
    tc_lthash_cache_free(c);
}

Test(crypto, lthash_preimage_longer_than_the_maximum_aborts, .signal = SIGABRT)
{
    tc_lthash acc = {0};
    uint8_t pre[TC_LTHASH_PRE_MAX + 1] = {0};
    tc_lthash_fold(&acc, TC_TAG_UTXO, pre, sizeof(pre), 1, NULL);
}

Test(crypto, cached_results_equal_uncached_for_random_triples)
{
    tc_verify_cache *c = tc_verify_cache_new(32, TS_CACHE_KEY);
    cr_assert_not_null(c);
    tc_rng rng;
    tc_rng_init_u64(&rng, 7);
    tc_keypair keys[4];
    for (uint64_t k = 0; k < 4; k++)
        ts_keypair(&keys[k], 20 + k);
    for (int scheme = 0; scheme < 2; scheme++) {
        tc_verifier v = {.scheme = (tc_sig_scheme)scheme, .cache = c};
        int rounds = scheme == TC_SIG_FAST ? 3000 : 300;
        for (int i = 0; i < rounds; i++) {
            tc_hash msg;
            tc_sig sig;
            const tc_keypair *kp = &keys[tc_rng_below(&rng, 4)];
            /* Few distinct messages, so triples repeat and hits happen. */
            uint64_t m = tc_rng_below(&rng, 24);
            tc_hash_tagged(&msg, TC_TAG_VOTE, &m, sizeof(m));
            tc_sign(v.scheme, kp, &msg, &sig);
            if (tc_rng_below(&rng, 3) == 0)
                sig.b[tc_rng_below(&rng, TC_SIG_SIZE)] ^= 0x10;
            const tc_pubkey *pub = &keys[tc_rng_below(&rng, 4)].pub;
            int want = tc_verify_raw(v.scheme, pub, &msg, &sig);
            cr_assert_eq(tc_verify(&v, pub, &msg, &sig), want, "round %d", i);
        }
    }
    tc_verify_cache_stats st;
    tc_verify_cache_stats_get(c, &st);
    cr_assert_gt(st.hits, 0, "the workload repeats triples, so some lookups hit");
    cr_assert_gt(st.evictions, 0, "and overflows the cache");
    tc_verify_cache_free(c);
}

/* ---- deterministic generator ---- */

Test(crypto, rng_golden_stream_for_seed_42)
{
    tc_rng rng;
    uint8_t out[80];
    tc_rng_init_u64(&rng, 42);
    tc_rng_bytes(&rng, out, sizeof(out));
    /* Python: ChaCha20(key = blake2b(b'tc/seed' + (42).to_bytes(8, 'little'), 32), nonce 0). */
    assert_hex(out, 16, "b466dfb4c11e614954cca1df17248312");
    assert_hex(out + 64, 16, "4b2b0a68708e216f222e0e5602d43993");
}

/* The generator is ChaCha20's keystream under the seed, byte for byte, whatever the draws:
 * bytes and u64s (little-endian) mixed, across the 256-byte buffer's refills and at offsets
 * where a u64 straddles one. */
Test(crypto, rng_draws_follow_the_chacha20_keystream_across_refills)
{
    uint8_t seed[32], stream[1024], nonce[crypto_stream_chacha20_NONCEBYTES] = {0};
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(i * 7 + 1);
    cr_assert_eq(crypto_stream_chacha20(stream, sizeof(stream), nonce, seed), 0);
    tc_rng rng;
    tc_rng_init(&rng, seed);
    size_t at = 0;
    uint8_t b[5];
    tc_rng_bytes(&rng, b, 3); /* from here on every u64 is unaligned to the buffer */
    cr_assert_eq(memcmp(b, stream, 3), 0, "the first 3 bytes");
    at = 3;
    while (at + 8 + sizeof(b) <= sizeof(stream)) {
        uint64_t v = tc_rng_u64(&rng), want = 0;
        for (int i = 0; i < 8; i++)
            want |= (uint64_t)stream[at + (size_t)i] << (8 * i);
        cr_assert_eq(v, want, "u64 at byte %zu: %016llx, keystream %016llx", at,
                     (unsigned long long)v, (unsigned long long)want);
        at += 8;
        if (at % 96 == 3) { /* now and then a few bytes, to move the straddle point */
            tc_rng_bytes(&rng, b, sizeof(b));
            cr_assert_eq(memcmp(b, stream + at, sizeof(b)), 0, "bytes at %zu", at);
            at += sizeof(b);
        }
    }
    cr_assert(at > 3 * TC_RNG_BUF_BYTES, "the draws crossed several refills: %zu bytes", at);
}

Test(crypto, rng_same_seed_same_stream_different_seeds_differ)
{
    tc_rng a;
    tc_rng b;
    tc_rng c;
    uint8_t xa[257];
    uint8_t xb[257];
    uint8_t xc[257];
    tc_rng_init_u64(&a, 1);
    tc_rng_init_u64(&b, 1);
    tc_rng_init_u64(&c, 2);
    /* Uneven chunk sizes for a, one read for b: the stream must not depend on read sizes. */
    for (size_t at = 0, step = 1; at < sizeof(xa); at += step, step = step * 2 + 1)
        tc_rng_bytes(&a, xa + at, at + step <= sizeof(xa) ? step : sizeof(xa) - at);
    tc_rng_bytes(&b, xb, sizeof(xb));
    tc_rng_bytes(&c, xc, sizeof(xc));
    cr_assert_eq(memcmp(xa, xb, sizeof(xa)), 0);
    cr_assert_neq(memcmp(xa, xc, sizeof(xa)), 0);
}

Test(crypto, rng_below_respects_bounds_and_is_roughly_uniform)
{
    enum { BUCKETS = 7, DRAWS = 70000 };
    tc_rng rng;
    uint32_t count[BUCKETS] = {0};
    tc_rng_init_u64(&rng, 99);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(tc_rng_below(&rng, 1), 0);
    for (int i = 0; i < DRAWS; i++) {
        uint64_t x = tc_rng_below(&rng, BUCKETS);
        cr_assert_lt(x, BUCKETS);
        count[x]++;
    }
    /* Expected 10000 each, standard deviation ~93: 600 is over six deviations. */
    for (int b = 0; b < BUCKETS; b++)
        cr_assert(count[b] > 9400 && count[b] < 10600, "bucket %d holds %u", b, count[b]);
    uint64_t big = (UINT64_C(1) << 63) + 1; /* rejects almost half the draws */
    for (int i = 0; i < 1000; i++)
        cr_assert_lt(tc_rng_below(&rng, big), big);
}

/* ---- seed derivation ---- */

Test(crypto, seed_derive_is_distinct_per_label_index_and_master)
{
    static const char *const labels[] = {"validator", "owner", "wallet", "a", "ab"};
    enum { PER = 64 };
    uint8_t seeds[TC_ARRAY_LEN(labels) * PER + 1][TC_SEED_SIZE];
    uint8_t master[TC_SEED_SIZE];
    uint8_t again[TC_SEED_SIZE];
    size_t n = 0;
    memset(master, 1, sizeof(master));
    for (size_t l = 0; l < TC_ARRAY_LEN(labels); l++)
        for (uint64_t i = 0; i < PER; i++)
            tc_seed_derive(seeds[n++], master, labels[l], i);
    master[0] ^= 1;
    tc_seed_derive(seeds[n++], master, "validator", 0);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            cr_assert_neq(memcmp(seeds[i], seeds[j], TC_SEED_SIZE), 0, "seeds %zu and %zu", i, j);
    tc_seed_derive(again, master, "validator", 0);
    cr_assert_eq(memcmp(again, seeds[n - 1], TC_SEED_SIZE), 0, "derivation is deterministic");
}
