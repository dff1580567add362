/* test_hashmemo.c — the simulator's shared memo of tagged hashes: a hit answers what
 * tc_hash_tagged computes, only equal bytes under an equal tag hit (even when every digest
 * collides), memory stays within its two bounds, and a node's batch key is the same with the
 * memo as without it. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "hashmemo.h"
#include "msg.h"

#define TAG "tc/test-memo"

static void fill(uint8_t *b, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(seed * 31u + i * 7u);
}

/* A miss computes and stores; the same bytes in another buffer then hit, and both answers are
 * tc_hash_tagged's. */
Test(hashmemo, a_hit_answers_what_a_miss_computes)
{
    tc_sim_memo *m = tc_sim_memo_new(64, 1 << 16);
    cr_assert_not_null(m);
    const tc_hash_memo *iface = tc_sim_memo_iface(m);
    uint8_t a[300], b[300];
    fill(a, sizeof(a), 1);
    memcpy(b, a, sizeof(b));
    tc_hash want, got1, got2;
    tc_hash_tagged(&want, TAG, a, sizeof(a));
    tc_hash_tagged_memo(iface, &got1, TAG, a, sizeof(a));
    tc_hash_tagged_memo(iface, &got2, TAG, b, sizeof(b));
    cr_assert_arr_eq(got1.b, want.b, TC_HASH_SIZE, "a miss: computed");
    cr_assert_arr_eq(got2.b, want.b, TC_HASH_SIZE, "a hit: the same hash");
    tc_sim_memo_stats st;
    tc_sim_memo_stats_get(m, &st);
    cr_assert_eq(st.misses, 1, "misses %llu", (unsigned long long)st.misses);
    cr_assert_eq(st.hits, 1, "hits %llu", (unsigned long long)st.hits);
    cr_assert_eq(st.stores, 1);
    cr_assert_eq(st.entries, 1);
    cr_assert_eq(st.bytes, sizeof(a), "one copy of 300 bytes held");
    tc_hash_tagged_memo(NULL, &got1, TAG, a, sizeof(a));
    cr_assert_arr_eq(got1.b, want.b, TC_HASH_SIZE, "without a memo: the same hash");
    tc_sim_memo_free(m);
}

static uint64_t one_digest(const char *tag, const uint8_t *bytes, size_t len)
{
    (void)tag;
    (void)bytes;
    (void)len;
    return 7; /* every string in one slot under one digest: only the compare tells them apart */
}

/* With every digest equal, a string differing in one byte, its length or its tag (a forged or
 * corrupted frame) still misses and gets its own hash, never the stored one. */
Test(hashmemo, only_equal_bytes_under_an_equal_tag_hit)
{
    tc_sim_memo *m = tc_sim_memo_new_digest(16, 1 << 16, one_digest);
    cr_assert_not_null(m);
    const tc_hash_memo *iface = tc_sim_memo_iface(m);
    uint8_t a[200];
    fill(a, sizeof(a), 2);
    tc_hash ha, got, want;
    tc_hash_tagged_memo(iface, &ha, TAG, a, sizeof(a));
    for (size_t i = 0; i < sizeof(a); i += 13) {
        a[i] ^= 0x01;
        cr_assert_not(iface->get(iface->ctx, TAG, a, sizeof(a), &got), "byte %zu changed", i);
        tc_hash_tagged(&want, TAG, a, sizeof(a));
        a[i] ^= 0x01;
        cr_assert(memcmp(want.b, ha.b, TC_HASH_SIZE) != 0, "a different string, a different hash");
    }
    cr_assert_not(iface->get(iface->ctx, TAG, a, sizeof(a) - 1, &got), "shorter");
    cr_assert_not(iface->get(iface->ctx, "tc/other-tag", a, sizeof(a), &got), "another tag");
    cr_assert(iface->get(iface->ctx, TAG, a, sizeof(a), &got), "the very string hits");
    cr_assert_arr_eq(got.b, ha.b, TC_HASH_SIZE);
    /* A forged string offered next replaces the entry (one slot); the original then misses and
     * is computed again, right. */
    a[0] ^= 0x80;
    tc_hash_tagged_memo(iface, &got, TAG, a, sizeof(a));
    a[0] ^= 0x80;
    tc_hash_tagged_memo(iface, &got, TAG, a, sizeof(a));
    cr_assert_arr_eq(got.b, ha.b, TC_HASH_SIZE, "the original's own hash after an eviction");
    tc_sim_memo_stats st;
    tc_sim_memo_stats_get(m, &st);
    cr_assert_eq(st.evictions, 2, "the forged string evicted, then the original back");
    cr_assert_eq(st.entries, 1);
    tc_sim_memo_free(m);
}

/* However many strings pass, the memo holds at most capacity entries and bytes_max bytes of
 * copies; a string over the budget is refused, not kept. */
Test(hashmemo, entries_and_bytes_stay_within_their_bounds)
{
    const size_t budget = 4096;
    tc_sim_memo *m = tc_sim_memo_new(10, budget); /* rounded up to 16 */
    cr_assert_not_null(m);
    const tc_hash_memo *iface = tc_sim_memo_iface(m);
    uint8_t buf[1024];
    tc_sim_memo_stats st;
    for (uint32_t k = 0; k < 2000; k++) {
        size_t len = 1 + (k * 37u) % sizeof(buf);
        fill(buf, len, (uint8_t)k);
        buf[0] = (uint8_t)(k >> 8);
        tc_hash h;
        tc_hash_tagged_memo(iface, &h, TAG, buf, len);
        tc_sim_memo_stats_get(m, &st);
        cr_assert_leq(st.entries, 16, "entries %u after %u strings", st.entries, k);
        cr_assert_leq(st.bytes, budget, "bytes %zu after %u strings", st.bytes, k);
    }
    cr_assert_gt(st.refused, 0, "the byte budget refused some strings");
    cr_assert_gt(st.evictions, 0, "slots were reused");
    cr_assert_geq(st.entries, 4, "yet it holds entries: %u", st.entries);
    uint8_t big[5000];
    fill(big, sizeof(big), 9);
    uint64_t refused = st.refused;
    tc_hash h, want;
    tc_hash_tagged_memo(iface, &h, TAG, big, sizeof(big));
    tc_hash_tagged(&want, TAG, big, sizeof(big));
    cr_assert_arr_eq(h.b, want.b, TC_HASH_SIZE, "a string over the whole budget is hashed");
    tc_sim_memo_stats_get(m, &st);
    cr_assert_eq(st.refused, refused + 1, "and not kept");
    tc_sim_memo_free(m);
}

/* The seen filter's key of a VOTE_BATCH frame, through the memo (miss, then hit) and without:
 * the signed hash of the decoded batch each time; a frame whose txid was altered gets its own. */
Test(hashmemo, a_batch_frame_hashes_the_same_with_or_without_the_memo)
{
    tc_sim_memo *m = tc_sim_memo_new(64, 1 << 16);
    const tc_hash_memo *iface = tc_sim_memo_iface(m);
    tc_hash txids[3];
    for (uint8_t i = 0; i < 3; i++)
        tc_hash_tagged(&txids[i], "test/id", &i, 1);
    if (memcmp(txids[0].b, txids[1].b, TC_HASH_SIZE) > 0) { /* strictly increasing, as sent */
        txids[2] = txids[0];
        txids[0] = txids[1];
        txids[1] = txids[2];
    }
    tc_msg msg = {.type = TC_MSG_VOTE_BATCH};
    msg.vote_batch.epoch = 0;
    msg.vote_batch.validator = 3;
    msg.vote_batch.seq = 11;
    msg.vote_batch.txid_count = 2;
    msg.vote_batch.txids = txids;
    uint8_t *f = NULL;
    size_t len = 0;
    cr_assert_eq(tc_msg_encode_alloc(&msg, &f, &len), 0);
    tc_hash want, plain, miss, hit, forged;
    tc_msg_vote_batch_sign_hash(&msg.vote_batch, &want);
    cr_assert_eq(tc_msg_frame_batch_hash(f, len, &plain), 0);
    cr_assert_eq(tc_msg_frame_batch_hash_memo(iface, f, len, &miss), 0);
    cr_assert_eq(tc_msg_frame_batch_hash_memo(iface, f, len, &hit), 0);
    cr_assert_arr_eq(plain.b, want.b, TC_HASH_SIZE, "without the memo");
    cr_assert_arr_eq(miss.b, want.b, TC_HASH_SIZE, "a miss");
    cr_assert_arr_eq(hit.b, want.b, TC_HASH_SIZE, "a hit");
    f[TC_MSG_HEADER_SIZE + 20 + 5] ^= 1; /* a byte of the first txid */
    cr_assert_eq(tc_msg_frame_batch_hash_memo(iface, f, len, &forged), 0);
    cr_assert(memcmp(forged.b, want.b, TC_HASH_SIZE) != 0, "an altered frame: its own hash");
    tc_sim_memo_stats st;
    tc_sim_memo_stats_get(m, &st);
    cr_assert_eq(st.hits, 1);
    cr_assert_eq(st.misses, 2);
    free(f);
    tc_sim_memo_free(m);
}

/* A `fast` signature checked through the memo: the verdicts of tc_verify_raw, for a good
 * signature (a miss, then a hit), a forged one, and the good one under another key. */
Test(hashmemo, fast_signature_verdicts_are_the_same_with_the_memo)
{
    tc_sim_memo *m = tc_sim_memo_new(64, 1 << 16);
    tc_verifier plain = {.scheme = TC_SIG_FAST};
    tc_verifier memo = {.scheme = TC_SIG_FAST, .hashes = tc_sim_memo_iface(m)};
    uint8_t seed_a[TC_SEED_SIZE] = {1}, seed_b[TC_SEED_SIZE] = {2};
    tc_keypair a, b;
    tc_keypair_from_seed(&a, seed_a);
    tc_keypair_from_seed(&b, seed_b);
    tc_hash msg;
    tc_hash_tagged(&msg, "test/msg", "m", 1);
    tc_sig sig;
    tc_sign(TC_SIG_FAST, &a, &msg, &sig);
    for (int pass = 0; pass < 2; pass++) {
        cr_assert_eq(tc_verify(&plain, &a.pub, &msg, &sig), 0);
        cr_assert_eq(tc_verify(&memo, &a.pub, &msg, &sig), 0, "pass %d: good", pass);
        cr_assert_eq(tc_verify(&memo, &b.pub, &msg, &sig), TC_EBADSIG, "pass %d: other key", pass);
        sig.b[40] ^= 1; /* past the hash: the zero half of a fast signature */
        cr_assert_eq(tc_verify(&memo, &a.pub, &msg, &sig), TC_EBADSIG, "pass %d: forged", pass);
        cr_assert_eq(tc_verify(&plain, &a.pub, &msg, &sig), TC_EBADSIG);
        sig.b[40] ^= 1;
        sig.b[3] ^= 1;
        cr_assert_eq(tc_verify(&memo, &a.pub, &msg, &sig), TC_EBADSIG, "pass %d: forged", pass);
        sig.b[3] ^= 1;
    }
    tc_sim_memo_stats st;
    tc_sim_memo_stats_get(m, &st);
    cr_assert_eq(st.misses, 2, "a and b once each: %llu", (unsigned long long)st.misses);
    cr_assert_eq(st.hits, 6, "the rest: %llu", (unsigned long long)st.hits);
    tc_sim_memo_free(m);
}
