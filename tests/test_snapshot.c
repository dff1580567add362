/* test_snapshot.c — state snapshots (snapshot.h): capture, the manifest and chunk codecs, their
 * verification against the certified block, and the atomic apply into another store, after
 * which that store's chain applies the next block exactly as the source did. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "node.h"
#include "snapshot.h"
#include "support.h"
#include "utxo.h"

#define WALLETS 1200 /* genesis outputs: more records than one chunk holds */
#define BLOCKS  19   /* past two epoch boundaries of 8 (carry lists, collateral rules) */

static ts_chain SRC, DST;
static tc_snapshot *SNAP;

static ts_chain_opts opts(void)
{
    return (ts_chain_opts){.validators = 4, .wallets = WALLETS, .scheme = TC_SIG_FAST, .seed = 3};
}

static void setup(void)
{
    ts_chain_opts o = opts();
    cr_assert_eq(ts_chain_open(&SRC, &o), 0, "the source chain opens");
    cr_assert_eq(ts_chain_open(&DST, &o), 0, "the joining chain opens");
    for (int i = 0; i < BLOCKS; i++)
        cr_assert_eq(ts_chain_advance(&SRC, NULL, 0, NULL, 0), 0, "block %d applies", i + 1);
    tc_block tip;
    cr_assert_eq(tc_chain_block_at(SRC.chain, BLOCKS, &tip), 0);
    cr_assert_eq(tc_snapshot_capture(SRC.store, &tip, &SRC.commit, &SNAP), 0, "capture");
    tc_block_deinit(&tip);
    cr_assert_eq(tc_snapshot_seal(SNAP, NULL), 0, "seal");
}

static void teardown(void)
{
    tc_snapshot_free(SNAP);
    SNAP = NULL;
    ts_chain_close(&SRC);
    ts_chain_close(&DST);
}

TestSuite(snapshot, .init = setup, .fini = teardown);

static const tc_vset *vset_of(ts_chain *f, uint64_t height)
{
    const tc_vset *vs = NULL;
    cr_assert_eq(tc_chain_vset(f->chain, tc_chain_epoch_of(f->chain, height), &vs), 0);
    return vs;
}

static void root_of(tc_store *s, tc_hash *out)
{
    tc_store_txn *t = NULL;
    cr_assert_eq(tc_store_begin(s, false, &t), 0);
    cr_assert_eq(tc_utxo_root(t, out), 0);
    tc_store_abort(t);
}

static int apply_snap(void)
{
    return tc_snapshot_apply(DST.store, &SNAP->manifest, SNAP->chunk_bytes, SNAP->chunk_lens,
                             DST.genesis.profile.block_reward);
}

/* The joining store must still be at genesis, whole. */
static void expect_untouched(const char *why)
{
    cr_assert_eq(ts_chain_restart(&DST), 0, "%s: the chain reopens", why);
    cr_assert_eq(tc_chain_height(DST.chain), 0, "%s: still at height 0", why);
    cr_assert_eq(tc_chain_verify_integrity(DST.chain), 0, "%s: still whole", why);
}

Test(snapshot, capture_cuts_deterministic_chunks_that_verify)
{
    const tc_snapshot_manifest *m = &SNAP->manifest;
    cr_assert_eq(m->height, BLOCKS);
    cr_assert_eq(m->per_chunk, TC_SNAPSHOT_CHUNK_RECORDS_MIN, "per chunk %u", m->per_chunk);
    cr_assert_geq(m->chunk_count, 3, "%u chunks for %d wallets", m->chunk_count, WALLETS);
    uint64_t utxos = 0;
    for (uint32_t i = 0; i < m->chunk_count; i++) {
        cr_assert_eq(tc_snapshot_chunk_check(m, i, SNAP->chunk_bytes[i], SNAP->chunk_lens[i], NULL),
                     0, "chunk %u verifies", i);
        utxos += m->chunks[i].utxo_count;
    }
    tc_chain_supply sup;
    cr_assert_eq(tc_chain_supply_get(SRC.chain, &sup), 0);
    cr_assert_eq(utxos, sup.utxo_count, "the chunks hold all %llu entries",
                 (unsigned long long)sup.utxo_count);
    cr_assert_eq(tc_snapshot_manifest_check(m, vset_of(&SRC, BLOCKS), &SRC.verifier), 0);
    /* A second capture of the same state cuts the same chunks: the same id. */
    tc_snapshot *again = NULL;
    cr_assert_eq(tc_snapshot_capture(SRC.store, &m->block, &m->commit, &again), 0);
    cr_assert_eq(tc_snapshot_seal(again, NULL), 0);
    cr_assert_arr_eq(again->manifest_id.b, SNAP->manifest_id.b, TC_HASH_SIZE);
    tc_snapshot_free(again);
}

Test(snapshot, manifest_round_trips_and_its_id_ignores_the_certificate)
{
    tc_snapshot_manifest d;
    cr_assert_eq(tc_snapshot_manifest_decode(&d, SNAP->manifest_bytes, SNAP->manifest_len), 0);
    uint8_t *again = NULL;
    size_t len = 0;
    cr_assert_eq(tc_snapshot_manifest_encode(&d, &again, &len), 0);
    cr_assert_eq(len, SNAP->manifest_len);
    cr_assert_arr_eq(again, SNAP->manifest_bytes, len, "the manifest re-encodes to its bytes");
    free(again);
    /* Another quorum for the same block: other bytes, the same id. */
    tc_hash id, block;
    tc_block_hash(&d.block.header, &block);
    tc_commit_deinit(&d.commit);
    cr_assert_eq(ts_chain_sign_commit(&SRC, BLOCKS, 1, &block, 0x7, &d.commit), 0);
    tc_snapshot_manifest_id(&d, &id);
    cr_assert_arr_eq(id.b, SNAP->manifest_id.b, TC_HASH_SIZE);
    cr_assert_eq(tc_snapshot_manifest_check(&d, vset_of(&SRC, BLOCKS), &SRC.verifier), 0,
                 "three of four sign a quorum");
    tc_snapshot_manifest_deinit(&d);
}

Test(snapshot, a_truncated_or_padded_manifest_is_refused)
{
    tc_snapshot_manifest d;
    for (size_t cut = 0; cut < SNAP->manifest_len; cut += 97)
        cr_assert_eq(tc_snapshot_manifest_decode(&d, SNAP->manifest_bytes, cut), TC_ESNAPSHOT,
                     "cut at %zu", cut);
    uint8_t *longer = malloc(SNAP->manifest_len + 1);
    memcpy(longer, SNAP->manifest_bytes, SNAP->manifest_len);
    longer[SNAP->manifest_len] = 0;
    cr_assert_eq(tc_snapshot_manifest_decode(&d, longer, SNAP->manifest_len + 1), TC_ESNAPSHOT);
    free(longer);
}

Test(snapshot, a_manifest_that_does_not_make_the_root_or_the_certificate_is_refused)
{
    tc_snapshot_manifest d;
    const tc_vset *vs = vset_of(&SRC, BLOCKS);
    cr_assert_eq(tc_snapshot_manifest_decode(&d, SNAP->manifest_bytes, SNAP->manifest_len), 0);
    d.chunks[0].acc.lanes[5]++; /* a lane moved: another set */
    cr_assert_eq(tc_snapshot_manifest_check(&d, vs, &SRC.verifier), TC_ESNAPSHOT, "acc");
    d.chunks[0].acc.lanes[5]--;
    d.chunks[1].acc.lanes[5]++; /* moved between chunks: the sum holds, a chunk check fails */
    d.chunks[0].acc.lanes[5]--;
    cr_assert_eq(tc_snapshot_manifest_check(&d, vs, &SRC.verifier), 0, "the sum still holds");
    cr_assert_eq(tc_snapshot_chunk_check(&d, 0, SNAP->chunk_bytes[0], SNAP->chunk_lens[0], NULL),
                 TC_ESNAPSHOT, "but chunk 0 no longer matches its info");
    d.chunks[1].acc.lanes[5]--;
    d.chunks[0].acc.lanes[5]++;
    d.chunks[0].utxo_count++; /* one more entry claimed */
    cr_assert_eq(tc_snapshot_manifest_check(&d, vs, &SRC.verifier), TC_ESNAPSHOT, "count");
    d.chunks[0].utxo_count--;
    d.block.header.time_ms++; /* not the certified block */
    cr_assert_eq(tc_snapshot_manifest_check(&d, vs, &SRC.verifier), TC_ESNAPSHOT, "block");
    d.block.header.time_ms--;
    d.commit.sig_count = 1; /* below quorum */
    cr_assert_eq(tc_snapshot_manifest_check(&d, vs, &SRC.verifier), TC_EBLK_COMMIT, "quorum");
    d.commit.sig_count = 4;
    cr_assert_eq(tc_snapshot_manifest_check(&d, vs, &SRC.verifier), 0, "restored");
    tc_snapshot_manifest_deinit(&d);
}

Test(snapshot, a_corrupt_chunk_is_refused_whatever_byte_is_wrong)
{
    const tc_snapshot_manifest *m = &SNAP->manifest;
    size_t len = SNAP->chunk_lens[1];
    uint8_t *c = malloc(len);
    for (size_t at = 0; at < len; at += 61) {
        memcpy(c, SNAP->chunk_bytes[1], len);
        c[at] ^= 0x40;
        cr_assert_eq(tc_snapshot_chunk_check(m, 1, c, len, NULL), TC_ESNAPSHOT, "byte %zu", at);
    }
    free(c);
}

Test(snapshot, a_lie_that_fixes_its_hash_still_fails_the_root_sum)
{
    /* A liar controlling the manifest's chunk hash: the amount of one entry changed and the
     * hash made to match. The LtHash sum of the chunk no longer matches its info. */
    tc_snapshot_manifest d;
    cr_assert_eq(tc_snapshot_manifest_decode(&d, SNAP->manifest_bytes, SNAP->manifest_len), 0);
    size_t len = SNAP->chunk_lens[0];
    uint8_t *c = malloc(len);
    memcpy(c, SNAP->chunk_bytes[0], len);
    /* The first UTXO record of chunk 0 after the META records: find the table byte 1 with a
     * 36-byte key; its value's first byte is the amount's lowest. */
    size_t at = 4; /* records: u8 table | u32 klen | key | u32 vlen | value */
    while (c[at] != TC_TABLE_UTXO) {
        uint32_t klen = tc_load_u32(c + at + 1);
        at += 1 + 4 + klen + 4 + tc_load_u32(c + at + 5 + klen);
        cr_assert_lt(at, len, "chunk 0 holds a UTXO record");
    }
    c[at + 1 + 4 + TC_OUTPOINT_SIZE + 4] ^= 0x01; /* the amount's lowest byte */
    tc_hash_tagged(&d.chunks[0].hash, "tc/snapchunk", c, len);
    cr_assert_eq(tc_snapshot_chunk_check(&d, 0, c, len, NULL), TC_ESNAPSHOT);
    free(c);
    tc_snapshot_manifest_deinit(&d);
}

Test(snapshot, truncated_out_of_order_and_unknown_chunks_are_refused)
{
    const tc_snapshot_manifest *m = &SNAP->manifest;
    for (size_t cut = 0; cut < SNAP->chunk_lens[0]; cut += 113)
        cr_assert_eq(tc_snapshot_chunk_check(m, 0, SNAP->chunk_bytes[0], cut, NULL), TC_ESNAPSHOT,
                     "cut at %zu", cut);
    cr_assert_eq(tc_snapshot_chunk_check(m, 1, SNAP->chunk_bytes[0], SNAP->chunk_lens[0], NULL),
                 TC_ESNAPSHOT, "chunk 0 given as chunk 1");
    cr_assert_eq(
        tc_snapshot_chunk_check(m, m->chunk_count, SNAP->chunk_bytes[0], SNAP->chunk_lens[0], NULL),
        TC_ESNAPSHOT, "an index past the manifest");
}

Test(snapshot, the_applied_state_applies_the_next_block_like_the_source)
{
    cr_assert_eq(apply_snap(), 0, "the snapshot applies");
    cr_assert_eq(ts_chain_restart(&DST), 0, "the chain reopens on it");
    cr_assert_eq(tc_chain_height(DST.chain), BLOCKS);
    tc_hash a, b;
    tc_chain_tip(SRC.chain, &a);
    tc_chain_tip(DST.chain, &b);
    cr_assert_arr_eq(a.b, b.b, TC_HASH_SIZE, "the same tip");
    cr_assert_eq(tc_chain_verify_integrity(DST.chain), 0, "the applied set is whole");
    tc_commit tip;
    cr_assert_eq(tc_node_stored_tip_commit(DST.store, &tip), 0, "the tip's certificate is kept");
    cr_assert_eq(tip.height, BLOCKS);
    tc_commit_deinit(&tip);
    /* The next blocks, built on the source, apply on the joiner with the same result, through
     * the next epoch boundary (carry list, collateral release). */
    for (int i = 0; i < 6; i++) {
        tc_block next;
        cr_assert_eq(ts_chain_build(&SRC, NULL, 0, NULL, 0, &next), 0);
        cr_assert_eq(ts_chain_accept(&SRC, &next), 0);
        cr_assert_eq(tc_chain_apply(DST.chain, &next), 0, "block %d applies on the joiner",
                     BLOCKS + 1 + i);
        tc_block_deinit(&next);
        root_of(SRC.store, &a);
        root_of(DST.store, &b);
        cr_assert_arr_eq(a.b, b.b, TC_HASH_SIZE, "the same UTXO root after block %d",
                         BLOCKS + 1 + i);
    }
}

Test(snapshot, chunks_out_of_order_at_apply_change_nothing)
{
    uint8_t *swapped[TC_SNAPSHOT_CHUNKS_MAX];
    size_t lens[TC_SNAPSHOT_CHUNKS_MAX];
    uint32_t n = SNAP->manifest.chunk_count;
    memcpy(swapped, SNAP->chunk_bytes, n * sizeof(*swapped));
    memcpy(lens, SNAP->chunk_lens, n * sizeof(*lens));
    swapped[0] = SNAP->chunk_bytes[1];
    lens[0] = SNAP->chunk_lens[1];
    swapped[1] = SNAP->chunk_bytes[0];
    lens[1] = SNAP->chunk_lens[0];
    cr_assert_eq(tc_snapshot_apply(DST.store, &SNAP->manifest, swapped, lens,
                                   DST.genesis.profile.block_reward),
                 TC_ESNAPSHOT);
    expect_untouched("out of order");
}

Test(snapshot, a_failed_write_or_commit_leaves_the_store_as_it_was)
{
    /* Fail the Nth write of the apply, for N over its first writes and some later ones, then
     * the commit: every time nothing of the snapshot is visible. */
    static const uint64_t nth[] = {1, 2, 3, 5, 8, 40, 400, 1500};
    for (size_t k = 0; k < TC_ARRAY_LEN(nth); k++) {
        tc_store_mem_faults f = {.fail_nth_write = nth[k]};
        tc_store_mem_set_faults(DST.store, &f);
        cr_assert_eq(apply_snap(), TC_ESTORE_FAULT, "write %llu fails", (unsigned long long)nth[k]);
        tc_store_mem_faults none = {0};
        tc_store_mem_set_faults(DST.store, &none);
        expect_untouched("a failed write");
    }
    tc_store_mem_faults c = {.fail_nth_commit = 1};
    tc_store_mem_set_faults(DST.store, &c);
    cr_assert_eq(apply_snap(), TC_ESTORE_FAULT, "the commit fails");
    tc_store_mem_faults none = {0};
    tc_store_mem_set_faults(DST.store, &none);
    expect_untouched("a failed commit");
    cr_assert_eq(apply_snap(), 0, "and then it applies");
}
