/* test_mnreg.c — masternode registry, epochs, validator sets, quorum arithmetic, commit and
 * evidence verification, reward split. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "mnreg.h"
#include "support.h"

__extension__ typedef unsigned __int128 u128;

static const tc_verifier ed = {.scheme = TC_SIG_ED25519};
static tc_profile prof;
static tc_store *st;
static tc_store_txn *txn;

static void setup(void)
{
    cr_assert_eq(tc_crypto_init(), 0);
    tc_profile_get(&prof, TC_NET_TESTNET);
    cr_assert_eq(prof.epoch_blocks, 100, "the tests assume testnet epochs");
    st = tc_store_mem_new();
    cr_assert_not_null(st);
    cr_assert_eq(tc_store_begin(st, true, &txn), 0);
}

static void teardown(void)
{
    if (txn != NULL)
        tc_store_abort(txn);
    txn = NULL;
    tc_store_close(st);
}

TestSuite(mnreg, .init = setup, .fini = teardown);

/* ---- helpers ---- */

static tc_mn_record make_rec(uint64_t key, tc_tier tier)
{
    tc_mn_record r;
    tc_keypair kp;
    memset(&r, 0, sizeof(r));
    ts_keypair(&kp, key);
    r.key = kp.pub;
    r.tier = (uint8_t)tier;
    memset(r.collateral.txid.b, (int)(key + 1), TC_HASH_SIZE);
    r.collateral.index = (uint32_t)key;
    memset(r.owner.b, (int)(0x80 + key), TC_ADDR_HASH_SIZE);
    r.net_addr_len = 14;
    memcpy(r.net_addr, "10.0.0.1:24100", 14);
    return r;
}

static void reg(uint64_t key, tc_tier tier, uint64_t height)
{
    tc_mn_record r = make_rec(key, tier);
    cr_assert_eq(tc_mnreg_register(txn, &prof, &r, height), 0, "register key %lu",
                 (unsigned long)key);
}

static uint32_t vset_count(uint32_t epoch)
{
    tc_vset v;
    cr_assert_eq(tc_vset_build(txn, &prof, epoch, &v), 0);
    uint32_t n = v.count;
    tc_vset_deinit(&v);
    return n;
}

static bool in_vset(uint64_t key, uint32_t epoch)
{
    tc_vset v;
    tc_keypair kp;
    uint32_t idx;
    ts_keypair(&kp, key);
    cr_assert_eq(tc_vset_build(txn, &prof, epoch, &v), 0);
    bool found = tc_vset_find(&v, &kp.pub, &idx) == 0;
    tc_vset_deinit(&v);
    return found;
}

/* A set of count members with keys 0..count-1, tiers from the array (NULL: all Bronze). */
static void make_vset(tc_vset *v, uint32_t count, const tc_tier *tiers)
{
    tc_vset_member *m = calloc(count, sizeof(*m));
    for (uint32_t i = 0; i < count; i++) {
        tc_keypair kp;
        ts_keypair(&kp, i);
        m[i].key = kp.pub;
        m[i].tier = (uint8_t)(tiers ? tiers[i] : TC_TIER_BRONZE);
        m[i].weight = tc_tier_weight(&prof, (tc_tier)m[i].tier);
    }
    cr_assert_eq(tc_vset_from_members(3, m, count, v), 0);
    free(m);
}

/* The test key number of member idx of v (keys are 0..count-1 in make_vset). */
static uint64_t key_of(const tc_vset *v, uint32_t idx)
{
    for (uint64_t k = 0; k < v->count; k++) {
        tc_keypair kp;
        ts_keypair(&kp, k);
        if (memcmp(kp.pub.b, v->members[idx].key.b, TC_PUBKEY_SIZE) == 0)
            return k;
    }
    cr_assert_fail("member %u has no test key", idx);
    return 0;
}

static tc_hash the_block(void)
{
    tc_hash h;
    memset(h.b, 0xb1, TC_HASH_SIZE);
    return h;
}

/* A commit for the_block() at height 10, round 1, signed by the members at idx[0..n). */
static void make_signed_commit(tc_commit *c, const tc_vset *v, const uint32_t *idx, uint32_t n)
{
    memset(c, 0, sizeof(*c));
    c->height = 10;
    c->round = 1;
    c->block = the_block();
    c->sig_count = n;
    c->sigs = n ? calloc(n, sizeof(*c->sigs)) : NULL;
    for (uint32_t i = 0; i < n; i++) {
        tc_vote vote;
        tc_keypair kp;
        c->sigs[i].validator = idx[i];
        tc_commit_vote(c, i, &vote);
        ts_keypair(&kp, key_of(v, idx[i]));
        tc_vote_sign(&vote, TC_SIG_ED25519, &kp);
        c->sigs[i].sig = vote.sig;
    }
}

static uint32_t find_tier(const tc_vset *v, tc_tier tier, uint32_t nth)
{
    for (uint32_t i = 0; i < v->count; i++)
        if (v->members[i].tier == tier && nth-- == 0)
            return i;
    cr_assert_fail("no such member");
    return 0;
}

/* ---- registry ---- */

Test(mnreg, register_get_round_trip)
{
    tc_mn_record r = make_rec(1, TC_TIER_SILVER), got;
    cr_assert_eq(tc_mnreg_register(txn, &prof, &r, 250), 0);
    cr_assert_eq(tc_mnreg_get(txn, &r.key, &got), 0);
    cr_assert_eq(memcmp(got.key.b, r.key.b, TC_PUBKEY_SIZE), 0);
    cr_assert_eq(got.tier, TC_TIER_SILVER);
    cr_assert_eq(memcmp(&got.collateral, &r.collateral, sizeof(r.collateral)), 0);
    cr_assert_eq(memcmp(got.owner.b, r.owner.b, TC_ADDR_HASH_SIZE), 0);
    cr_assert_eq(got.net_addr_len, 14);
    cr_assert_eq(memcmp(got.net_addr, "10.0.0.1:24100", 14), 0);
    cr_assert_eq(got.reg_height, 250);
    cr_assert_eq(got.active_from_epoch, 3, "height 250 is in epoch 2: active from 3");
    cr_assert_eq(got.retire_epoch, TC_MNREG_EPOCH_NONE);
    cr_assert_not(got.burned);

    /* It survives a commit and reads back in a read-only transaction. */
    cr_assert_eq(tc_store_commit(txn), 0);
    cr_assert_eq(tc_store_begin(st, false, &txn), 0);
    cr_assert_eq(tc_mnreg_get(txn, &r.key, &got), 0);
    cr_assert_eq(got.reg_height, 250);
}

Test(mnreg, register_rejections)
{
    tc_mn_record r = make_rec(1, TC_TIER_GOLD), got;
    cr_assert_eq(tc_mnreg_get(txn, &r.key, &got), TC_EMN_UNKNOWN);
    cr_assert(got.reg_height == 0 && got.tier == 0, "output cleared");
    r.tier = TC_TIER_COUNT;
    cr_assert_eq(tc_mnreg_register(txn, &prof, &r, 1), TC_EMN_TIER);
    r.tier = TC_TIER_GOLD;
    r.net_addr_len = TC_TX_NETADDR_MAX + 1;
    cr_assert_eq(tc_mnreg_register(txn, &prof, &r, 1), TC_EINVAL);
    r.net_addr_len = 3;
    cr_assert_eq(tc_mnreg_register(txn, &prof, &r, 1), 0);
    cr_assert_eq(tc_mnreg_register(txn, &prof, &r, 2), TC_EMN_DUPLICATE);
    cr_assert_eq(tc_mnreg_register_genesis(txn, &prof, &r), TC_EMN_DUPLICATE);
    cr_assert_eq(tc_mnreg_register(txn, &prof, &r, UINT64_MAX), TC_EOVERFLOW);
}

Test(mnreg, keys_are_never_reused)
{
    tc_mn_record a = make_rec(1, TC_TIER_BRONZE), b = make_rec(2, TC_TIER_BRONZE);
    tc_outpoint col;
    cr_assert_eq(tc_mnreg_register(txn, &prof, &a, 10), 0);
    cr_assert_eq(tc_mnreg_register(txn, &prof, &b, 10), 0);
    cr_assert_eq(tc_mnreg_retire(txn, &prof, &a.key, &a.owner, 20), 0);
    cr_assert_eq(tc_mnreg_burn(txn, &prof, &b.key, 20, &col), 0);
    cr_assert_eq(tc_mnreg_register(txn, &prof, &a, 5000), TC_EMN_DUPLICATE, "retired key");
    cr_assert_eq(tc_mnreg_register(txn, &prof, &b, 5000), TC_EMN_DUPLICATE, "burned key");
}

Test(mnreg, retire)
{
    tc_mn_record r = make_rec(1, TC_TIER_BRONZE), got;
    tc_addr_hash stranger;
    memset(stranger.b, 0x01, TC_ADDR_HASH_SIZE);
    cr_assert_eq(tc_mnreg_retire(txn, &prof, &r.key, &r.owner, 10), TC_EMN_UNKNOWN);
    cr_assert_eq(tc_mnreg_register(txn, &prof, &r, 10), 0);
    cr_assert_eq(tc_mnreg_retire(txn, &prof, &r.key, &stranger, 150), TC_EMN_NOT_OWNER);
    cr_assert_eq(tc_mnreg_retire(txn, &prof, &r.key, &r.owner, 150), 0);
    cr_assert_eq(tc_mnreg_get(txn, &r.key, &got), 0);
    cr_assert_eq(got.retire_epoch, 2, "retired at height 150 (epoch 1): gone from epoch 2");
    cr_assert_not(got.burned);
    cr_assert_eq(tc_mnreg_retire(txn, &prof, &r.key, &r.owner, 160), TC_EMN_UNKNOWN,
                 "retiring already");
    cr_assert(in_vset(1, 1));
    cr_assert_not(in_vset(1, 2));
    cr_assert_not(in_vset(1, 0), "registered at height 10: not active in epoch 0");
}

Test(mnreg, burn)
{
    tc_mn_record r = make_rec(1, TC_TIER_GOLD), got;
    tc_outpoint col;
    memset(&col, 0xff, sizeof(col));
    cr_assert_eq(tc_mnreg_burn(txn, &prof, &r.key, 10, &col), TC_EMN_UNKNOWN);
    cr_assert(col.index == 0 && col.txid.b[0] == 0, "collateral cleared on failure");
    cr_assert_eq(tc_mnreg_register(txn, &prof, &r, 10), 0);
    /* A retirement scheduled for epoch 9 is brought forward by evidence at height 420. */
    cr_assert_eq(tc_mnreg_retire(txn, &prof, &r.key, &r.owner, 850), 0);
    cr_assert_eq(tc_mnreg_burn(txn, &prof, &r.key, 420, &col), 0);
    cr_assert_eq(memcmp(&col, &r.collateral, sizeof(col)), 0, "the collateral outpoint");
    cr_assert_eq(tc_mnreg_get(txn, &r.key, &got), 0);
    cr_assert(got.burned);
    cr_assert_eq(got.retire_epoch, 5);
    cr_assert_eq(tc_mnreg_burn(txn, &prof, &r.key, 430, &col), TC_EEXIST, "burns once");
    cr_assert(in_vset(1, 4));
    cr_assert_not(in_vset(1, 5));

    /* A burn never postpones an earlier retirement. */
    tc_mn_record s = make_rec(2, TC_TIER_BRONZE);
    cr_assert_eq(tc_mnreg_register(txn, &prof, &s, 10), 0);
    cr_assert_eq(tc_mnreg_retire(txn, &prof, &s.key, &s.owner, 150), 0);
    cr_assert_eq(tc_mnreg_burn(txn, &prof, &s.key, 700, &col), 0);
    cr_assert_eq(tc_mnreg_get(txn, &s.key, &got), 0);
    cr_assert_eq(got.retire_epoch, 2);
    cr_assert(got.burned);
}

Test(mnreg, epoch_arithmetic)
{
    cr_assert_eq(tc_mnreg_epoch(&prof, 0), 0);
    cr_assert_eq(tc_mnreg_epoch(&prof, 99), 0);
    cr_assert_eq(tc_mnreg_epoch(&prof, 100), 1);
    cr_assert_eq(tc_mnreg_epoch_first_height(&prof, 3), 300);
    cr_assert_eq(tc_mnreg_epoch_last_height(&prof, 3), 399);
    cr_assert_eq(tc_mnreg_epoch_last_height(&prof, 0), 99);
}

Test(mnreg, epoch_boundaries)
{
    reg(1, TC_TIER_BRONZE, 99);  /* last height of epoch 0 */
    reg(2, TC_TIER_BRONZE, 100); /* first height of epoch 1 */
    reg(3, TC_TIER_BRONZE, 199); /* last height of epoch 1 */
    cr_assert_not(in_vset(1, 0));
    cr_assert(in_vset(1, 1), "registered at the last height of epoch 0: active at 1");
    cr_assert_not(in_vset(2, 1));
    cr_assert(in_vset(2, 2));
    cr_assert_not(in_vset(3, 1));
    cr_assert(in_vset(3, 2));
    cr_assert_eq(vset_count(0), 0);
    cr_assert_eq(vset_count(1), 1);
    cr_assert_eq(vset_count(2), 3);

    tc_mn_record r = make_rec(1, TC_TIER_BRONZE);
    cr_assert_eq(tc_mnreg_retire(txn, &prof, &r.key, &r.owner, 299), 0);
    cr_assert(in_vset(1, 2), "retired at the last height of epoch 2: still in 2");
    cr_assert_not(in_vset(1, 3), "and gone from 3");
    cr_assert_eq(vset_count(3), 2);
}

Test(mnreg, genesis_masternodes_are_active_from_epoch_0)
{
    tc_mn_record r = make_rec(7, TC_TIER_SILVER), got;
    cr_assert_eq(tc_mnreg_register_genesis(txn, &prof, &r), 0);
    cr_assert_eq(tc_mnreg_get(txn, &r.key, &got), 0);
    cr_assert_eq(got.active_from_epoch, 0);
    cr_assert_eq(got.reg_height, 0);
    cr_assert(in_vset(7, 0));
    tc_vset v;
    cr_assert_eq(tc_vset_build(txn, &prof, 0, &v), 0);
    cr_assert_eq(v.weight_total, 10, "one Silver");
    cr_assert_eq(v.members[0].weight, 10);
    cr_assert_eq(memcmp(v.members[0].owner.b, r.owner.b, TC_ADDR_HASH_SIZE), 0);
    tc_vset_deinit(&v);
}

/* Genesis registration does not count the set (tc_genesis_check bounds it): all of a large
 * genesis registers and is active in epoch 0, and a further registration after it is still
 * refused once the set is full. */
Test(mnreg, genesis_registration_leaves_the_cap_to_the_genesis_check)
{
    prof.validators_max = 3;
    for (int k = 1; k <= 3; k++) {
        tc_mn_record r = make_rec((uint64_t)k, TC_TIER_BRONZE);
        cr_assert_eq(tc_mnreg_register_genesis(txn, &prof, &r), 0, "genesis masternode %d", k);
    }
    cr_assert_eq(vset_count(0), 3, "all three active in epoch 0");
    tc_mn_record extra = make_rec(9, TC_TIER_BRONZE);
    cr_assert_eq(tc_mnreg_register(txn, &prof, &extra, 5), TC_EFULL,
                 "an ordinary registration still counts the set: full at 3");
    cr_assert_eq(tc_mnreg_register_genesis(txn, &prof, &extra), 0,
                 "genesis registration does not count it (the genesis check does)");
    tc_vset v;
    cr_assert_eq(tc_vset_build(txn, &prof, 0, &v), TC_EFULL,
                 "so a genesis over the cap would register: 4 active, over 3");
}

Test(mnreg, capacity_is_enforced_at_registration)
{
    prof.validators_max = 3;
    reg(1, TC_TIER_BRONZE, 5);
    reg(2, TC_TIER_BRONZE, 5);
    reg(3, TC_TIER_BRONZE, 5);
    tc_mn_record d = make_rec(4, TC_TIER_BRONZE);
    cr_assert_eq(tc_mnreg_register(txn, &prof, &d, 5), TC_EFULL);
    cr_assert_eq(tc_mnreg_get(txn, &d.key, &(tc_mn_record){0}), TC_EMN_UNKNOWN, "nothing written");
    /* A retirement taking effect at the newcomer's first epoch frees the seat. */
    tc_mn_record a = make_rec(1, TC_TIER_BRONZE);
    cr_assert_eq(tc_mnreg_retire(txn, &prof, &a.key, &a.owner, 250), 0);
    cr_assert_eq(tc_mnreg_register(txn, &prof, &d, 120), TC_EFULL, "A still sits in epoch 2");
    cr_assert_eq(tc_mnreg_register(txn, &prof, &d, 250), 0, "epoch 3 has room");
    cr_assert_eq(vset_count(2), 3);
    cr_assert_eq(vset_count(3), 3);

    /* A store written under a larger cap is refused by a smaller one. */
    prof.validators_max = 2;
    tc_vset v;
    cr_assert_eq(tc_vset_build(txn, &prof, 3, &v), TC_EFULL);
    cr_assert(v.count == 0 && v.members == NULL && v.weight_total == 0);
}

static const tc_tier five_tiers[] = {TC_TIER_BRONZE, TC_TIER_SILVER, TC_TIER_GOLD,
                                     TC_TIER_BRONZE, TC_TIER_SILVER, TC_TIER_GOLD};

/* Registers keys 1..5 in the given order into t (tiers by key) and builds epoch 1's set. */
static void build_five(tc_store_txn *t, const uint64_t order[5], tc_vset *out)
{
    for (int i = 0; i < 5; i++) {
        tc_mn_record r = make_rec(order[i], five_tiers[order[i]]);
        cr_assert_eq(tc_mnreg_register(t, &prof, &r, 50 + (uint64_t)i), 0);
    }
    cr_assert_eq(tc_vset_build(t, &prof, 1, out), 0);
}

Test(mnreg, vset_sorted_hash_stable_and_order_independent)
{
    const uint64_t order_a[] = {5, 1, 4, 2, 3};
    const uint64_t order_b[] = {3, 2, 1, 5, 4};
    tc_hash ha, hb;
    tc_vset va, vb;
    build_five(txn, order_a, &va);
    tc_vset_hash(&va, &ha);
    tc_store *st2 = tc_store_mem_new();
    tc_store_txn *t2;
    cr_assert_eq(tc_store_begin(st2, true, &t2), 0);
    build_five(t2, order_b, &vb);
    tc_vset_hash(&vb, &hb);
    tc_store_abort(t2);
    tc_store_close(st2);

    cr_assert_eq(va.count, 5);
    cr_assert_eq(va.epoch, 1);
    cr_assert_eq(va.weight_total, 10 + 100 + 1 + 10 + 100, "keys 1..5: S G B S G");
    for (uint32_t i = 1; i < va.count; i++)
        cr_assert_lt(memcmp(va.members[i - 1].key.b, va.members[i].key.b, TC_PUBKEY_SIZE), 0);
    cr_assert_eq(memcmp(ha.b, hb.b, TC_HASH_SIZE), 0, "registration order does not matter");
    tc_vset_hash(&va, &hb);
    cr_assert_eq(memcmp(ha.b, hb.b, TC_HASH_SIZE), 0, "stable");

    /* The documented preimage. */
    size_t n = 8 + va.count * (TC_PUBKEY_SIZE + 5);
    uint8_t *pre = malloc(n);
    tc_writer w;
    tc_writer_init(&w, pre, n);
    tc_put_u32(&w, va.epoch);
    tc_put_u32(&w, va.count);
    for (uint32_t i = 0; i < va.count; i++) {
        tc_put_raw(&w, va.members[i].key.b, TC_PUBKEY_SIZE);
        tc_put_u8(&w, va.members[i].tier);
        tc_put_u32(&w, va.members[i].weight);
    }
    cr_assert_eq(tc_writer_finish(&w, NULL), 0);
    tc_hash_tagged(&hb, TC_TAG_VSET, pre, n);
    cr_assert_eq(memcmp(ha.b, hb.b, TC_HASH_SIZE), 0);
    free(pre);

    /* Epoch and tier are in the hash. */
    va.epoch = 2;
    tc_vset_hash(&va, &hb);
    cr_assert_neq(memcmp(ha.b, hb.b, TC_HASH_SIZE), 0);
    va.epoch = 1;
    va.members[2].tier ^= 1;
    tc_vset_hash(&va, &hb);
    cr_assert_neq(memcmp(ha.b, hb.b, TC_HASH_SIZE), 0);
    tc_vset_deinit(&va);
    tc_vset_deinit(&vb);
}

Test(mnreg, vset_from_members_copy_and_find)
{
    const uint64_t order[] = {4, 2, 5, 3, 1};
    tc_vset v, vc;
    tc_hash h, hc;
    build_five(txn, order, &v);
    tc_vset_hash(&v, &h);
    /* from_members sorts whatever order it gets and agrees with the registry. */
    tc_vset_member rev[5];
    for (uint32_t i = 0; i < 5; i++)
        rev[i] = v.members[4 - i];
    cr_assert_eq(tc_vset_from_members(1, rev, 5, &vc), 0);
    tc_vset_hash(&vc, &hc);
    cr_assert_eq(memcmp(h.b, hc.b, TC_HASH_SIZE), 0);
    cr_assert_eq(vc.weight_total, v.weight_total);
    tc_vset_deinit(&vc);
    rev[1] = rev[3];
    cr_assert_eq(tc_vset_from_members(1, rev, 5, &vc), TC_EEXIST, "a key twice");
    cr_assert(vc.count == 0 && vc.members == NULL);

    cr_assert_eq(tc_vset_copy(&vc, &v), 0);
    cr_assert(vc.members != v.members && vc.count == 5);
    tc_vset_hash(&vc, &hc);
    cr_assert_eq(memcmp(h.b, hc.b, TC_HASH_SIZE), 0);
    tc_vset_deinit(&vc);

    for (uint32_t i = 0; i < v.count; i++) {
        uint32_t idx;
        cr_assert_eq(tc_vset_find(&v, &v.members[i].key, &idx), 0);
        cr_assert_eq(idx, i);
    }
    tc_keypair stranger;
    uint32_t idx;
    ts_keypair(&stranger, 99);
    cr_assert_eq(tc_vset_find(&v, &stranger.pub, &idx), TC_ENOTFOUND);
    cr_assert_eq(idx, UINT32_MAX);
    tc_vset_deinit(&v);
}

Test(mnreg, corrupt_record_is_reported)
{
    reg(1, TC_TIER_BRONZE, 5);
    tc_mn_record r = make_rec(1, TC_TIER_BRONZE), got;
    const uint8_t junk[] = {9, 9, 9};
    cr_assert_eq(tc_store_put(txn, TC_TABLE_MN, r.key.b, TC_PUBKEY_SIZE, junk, sizeof(junk)), 0);
    cr_assert_eq(tc_mnreg_get(txn, &r.key, &got), TC_ESTORE_CORRUPT);
    tc_vset v;
    cr_assert_eq(tc_vset_build(txn, &prof, 1, &v), TC_ESTORE_CORRUPT);
    cr_assert(v.count == 0 && v.members == NULL);
    cr_assert_eq(tc_mnreg_retire(txn, &prof, &r.key, &r.owner, 9), TC_ESTORE_CORRUPT);
    const uint8_t short_key[] = {1, 2, 3};
    cr_assert_eq(tc_store_put(txn, TC_TABLE_MN, short_key, 3, junk, 0), 0);
    cr_assert_eq(tc_vset_build(txn, &prof, 1, &v), TC_ESTORE_CORRUPT, "a key of the wrong size");
}

Test(mnreg, failed_write_is_reported)
{
    tc_mn_record r = make_rec(1, TC_TIER_BRONZE);
    tc_store_mem_faults f = {.fail_nth_write = 1, .fail_nth_commit = 0, .fail_sticky = false};
    tc_store_mem_set_faults(st, &f);
    cr_assert_eq(tc_mnreg_register(txn, &prof, &r, 5), TC_ESTORE_FAULT);
    tc_store_abort(txn);
    f.fail_nth_write = 0;
    tc_store_mem_set_faults(st, &f);
    cr_assert_eq(tc_store_begin(st, true, &txn), 0);
    tc_mn_record got;
    cr_assert_eq(tc_mnreg_get(txn, &r.key, &got), TC_EMN_UNKNOWN, "nothing landed");
}

/* ---- quorum arithmetic ---- */

Test(mnreg, quorum_and_skip_thresholds)
{
    const uint64_t w[] = {1, 2, 3, 4, 100, 199};
    const uint64_t q[] = {1, 2, 3, 3, 67, 133};
    const uint64_t s[] = {1, 1, 2, 2, 34, 67};
    for (size_t i = 0; i < TC_ARRAY_LEN(w); i++) {
        cr_assert_eq(tc_quorum_weight(w[i]), q[i], "Q(%lu)", (unsigned long)w[i]);
        cr_assert_eq(tc_skip_weight(w[i]), s[i], "skip(%lu)", (unsigned long)w[i]);
    }
    /* No overflow at the top: 2^64 - 1 = 3k. */
    uint64_t k = UINT64_MAX / 3;
    cr_assert_eq(tc_quorum_weight(UINT64_MAX), 2 * k + 1);
    cr_assert_eq(tc_quorum_weight(UINT64_MAX - 1), 2 * (k - 1) + 1 + 1, "W = 3(k-1) + 2");
    cr_assert_eq(tc_skip_weight(UINT64_MAX), k + 1);
    /* Two quorums always overlap by more than a third; Q <= W for W >= 1. */
    for (uint64_t W = 1; W < 1000; W++) {
        uint64_t Q = tc_quorum_weight(W);
        cr_assert(Q <= W && 2 * Q > W + W / 3, "W = %lu", (unsigned long)W);
        cr_assert(3 * (Q - 1) <= 2 * W && 3 * Q > 2 * W);
    }
}

Test(mnreg, tier_weights_one_gold_outweighs_99_bronze)
{
    tc_tier tiers[100];
    for (int i = 0; i < 100; i++)
        tiers[i] = i == 37 ? TC_TIER_GOLD : TC_TIER_BRONZE;
    tc_vset v;
    make_vset(&v, 100, tiers);
    cr_assert_eq(v.weight_total, 199);
    cr_assert_eq(tc_vset_quorum(&v), 133);
    cr_assert_eq(tc_vset_skip_threshold(&v), 67);
    cr_assert_eq(tc_tier_weight(&prof, TC_TIER_GOLD), 100);
    cr_assert_eq(tc_tier_weight(&prof, TC_TIER_SILVER), 10);
    cr_assert_eq(tc_tier_weight(&prof, TC_TIER_BRONZE), 1);

    /* Bitmaps: the gold member alone against all 99 bronze ones. */
    uint8_t gold_bits[13] = {0}, bronze_bits[13] = {0};
    uint64_t wg, wb;
    uint32_t g = find_tier(&v, TC_TIER_GOLD, 0);
    for (uint32_t i = 0; i < 100; i++) {
        uint8_t *bits = i == g ? gold_bits : bronze_bits;
        bits[i / 8] = (uint8_t)(bits[i / 8] | 1u << (i % 8));
    }
    cr_assert_eq(tc_vset_weight_of_bitmap(&v, gold_bits, 13, &wg), 0);
    cr_assert_eq(tc_vset_weight_of_bitmap(&v, bronze_bits, 13, &wb), 0);
    cr_assert_eq(wg, 100);
    cr_assert_eq(wb, 99);
    cr_assert_gt(wg, wb);
    cr_assert_eq(tc_vset_weight_of_bitmap(&v, gold_bits, 0, &wg), 0);
    cr_assert_eq(wg, 0, "an empty bitmap weighs nothing");
    bronze_bits[12] = 0x10; /* bit 100: past the last member */
    cr_assert_eq(tc_vset_weight_of_bitmap(&v, bronze_bits, 13, &wb), TC_ERANGE);
    cr_assert_eq(wb, 0);
    tc_vset_deinit(&v);
}

/* ---- commit certificates ---- */

Test(mnreg, commit_verify_bronze_quorum)
{
    tc_vset v;
    tc_commit c;
    tc_hash blk = the_block();
    make_vset(&v, 4, NULL); /* W = 4, Q = 3 */
    const uint32_t three[] = {0, 1, 3};
    make_signed_commit(&c, &v, three, 3);
    cr_assert_eq(tc_commit_verify(&c, &v, &ed, 10, &blk), 0, "3 of 4 is a quorum");
    cr_assert_eq(tc_commit_verify(&c, &v, &ed, 11, &blk), TC_EBLK_COMMIT, "wrong height");
    tc_hash other = blk;
    other.b[0] ^= 1;
    cr_assert_eq(tc_commit_verify(&c, &v, &ed, 10, &other), TC_EBLK_COMMIT, "wrong block");
    c.sigs[1].sig.b[10] ^= 1;
    cr_assert_eq(tc_commit_verify(&c, &v, &ed, 10, &blk), TC_EBLK_COMMIT, "bad signature");
    c.sigs[1].sig.b[10] ^= 1;
    c.round++;
    cr_assert_eq(tc_commit_verify(&c, &v, &ed, 10, &blk), TC_EBLK_COMMIT, "round is signed");
    c.round--;
    cr_assert_eq(tc_commit_verify(&c, &v, &ed, 10, &blk), 0, "restored");
    tc_commit_deinit(&c);

    const uint32_t two[] = {0, 2};
    make_signed_commit(&c, &v, two, 2);
    cr_assert_eq(tc_commit_verify(&c, &v, &ed, 10, &blk), TC_EBLK_COMMIT, "Q-1 weight");
    tc_commit_deinit(&c);

    const uint32_t dup[] = {0, 2, 2};
    make_signed_commit(&c, &v, dup, 3);
    cr_assert_eq(tc_commit_verify(&c, &v, &ed, 10, &blk), TC_EBLK_COMMIT, "duplicate index");
    tc_commit_deinit(&c);

    const uint32_t unsorted[] = {2, 0, 1};
    make_signed_commit(&c, &v, unsorted, 3);
    cr_assert_eq(tc_commit_verify(&c, &v, &ed, 10, &blk), TC_EBLK_COMMIT, "unsorted");
    tc_commit_deinit(&c);

    make_signed_commit(&c, &v, three, 3);
    c.sigs[2].validator = 4;
    cr_assert_eq(tc_commit_verify(&c, &v, &ed, 10, &blk), TC_EBLK_COMMIT, "index out of range");
    tc_commit_deinit(&c);

    make_signed_commit(&c, &v, NULL, 0);
    cr_assert_eq(tc_commit_verify(&c, &v, &ed, 10, &blk), TC_EBLK_COMMIT, "empty");
    tc_commit_deinit(&c);
    tc_vset_deinit(&v);
}

/* Indexes of the gold member and the first `bronze` Bronze members, in increasing order. */
static uint32_t pick(const tc_vset *v, uint32_t bronze, uint32_t *out)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < v->count; i++) {
        if (v->members[i].tier == TC_TIER_GOLD) {
            out[n++] = i;
        } else if (bronze > 0) {
            out[n++] = i;
            bronze--;
        }
    }
    return n;
}

Test(mnreg, commit_verify_by_weight_not_count)
{
    tc_tier tiers[100];
    for (int i = 0; i < 100; i++)
        tiers[i] = i == 0 ? TC_TIER_GOLD : TC_TIER_BRONZE;
    tc_vset v;
    tc_commit c;
    tc_hash blk = the_block();
    uint32_t idx[100];
    make_vset(&v, 100, tiers); /* W = 199, Q = 133 */
    cr_assert_eq(tc_vset_quorum(&v), 133);

    uint32_t n = pick(&v, 33, idx);
    cr_assert_eq(n, 34);
    make_signed_commit(&c, &v, idx, n);
    cr_assert_eq(tc_commit_verify(&c, &v, &ed, 10, &blk), 0, "100 + 33 = 133 = Q");
    tc_commit_deinit(&c);

    n = pick(&v, 32, idx);
    make_signed_commit(&c, &v, idx, n);
    cr_assert_eq(tc_commit_verify(&c, &v, &ed, 10, &blk), TC_EBLK_COMMIT, "132 = Q - 1");
    tc_commit_deinit(&c);

    /* 99 Bronze signers are outnumbered by the one Gold they leave out. */
    n = 0;
    for (uint32_t i = 0; i < v.count; i++)
        if (v.members[i].tier == TC_TIER_BRONZE)
            idx[n++] = i;
    make_signed_commit(&c, &v, idx, n);
    cr_assert_eq(n, 99);
    cr_assert_eq(tc_commit_verify(&c, &v, &ed, 10, &blk), TC_EBLK_COMMIT, "99 < Q");
    tc_commit_deinit(&c);
    tc_vset_deinit(&v);
}

/* ---- evidence ---- */

Test(mnreg, evidence_verify)
{
    tc_vset v;
    make_vset(&v, 4, NULL);
    tc_keypair kp;
    ts_keypair(&kp, key_of(&v, 2));
    tc_vote x, y;
    memset(&x, 0, sizeof(x));
    x.type = TC_VOTE_PRECOMMIT;
    x.height = 10;
    x.round = 2;
    x.pol_round = TC_ROUND_NONE;
    x.validator = 2;
    y = x;
    memset(x.block.b, 0x01, TC_HASH_SIZE);
    memset(y.block.b, 0x02, TC_HASH_SIZE);
    tc_vote_sign(&x, TC_SIG_ED25519, &kp);
    tc_vote_sign(&y, TC_SIG_ED25519, &kp);
    tc_evidence e;
    tc_evidence_from_votes(&e, &y, &x);
    cr_assert_eq(tc_evidence_verify(&e, &v, &ed), 0);

    tc_evidence bad = e;
    bad.b.sig.b[3] ^= 1;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "bad signature b");
    bad = e;
    bad.a.sig.b[3] ^= 1;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "bad signature a");
    bad = e;
    bad.a.validator = bad.b.validator = 1;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "other member's key");
    bad.a.validator = bad.b.validator = 4;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "index out of range");
    bad = e;
    bad.b.round = 3;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "shape");

    /* Signed by another key altogether. */
    tc_keypair other;
    ts_keypair(&other, 50);
    tc_vote_sign(&x, TC_SIG_ED25519, &other);
    tc_vote_sign(&y, TC_SIG_ED25519, &other);
    tc_evidence_from_votes(&bad, &x, &y);
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "not the member's key");
    tc_vset_deinit(&v);
}

/* Member 2 precommitted block 0x01 in round 2 of height 10, then prevoted block 0x02 in round 4
 * claiming the proof-of-lock round pol, both signed with key. */
static void amnesia_votes(const tc_keypair *key, uint32_t pol, tc_vote *pc, tc_vote *pv)
{
    memset(pc, 0, sizeof(*pc));
    pc->type = TC_VOTE_PRECOMMIT;
    pc->height = 10;
    pc->round = 2;
    pc->pol_round = TC_ROUND_NONE;
    pc->validator = 2;
    *pv = *pc;
    pv->type = TC_VOTE_PREVOTE;
    pv->round = 4;
    pv->pol_round = pol;
    memset(pc->block.b, 0x01, TC_HASH_SIZE);
    memset(pv->block.b, 0x02, TC_HASH_SIZE);
    tc_vote_sign(pc, TC_SIG_ED25519, key);
    tc_vote_sign(pv, TC_SIG_ED25519, key);
}

Test(mnreg, amnesia_evidence_verify)
{
    tc_vset v;
    make_vset(&v, 4, NULL);
    tc_keypair kp, other;
    ts_keypair(&kp, key_of(&v, 2));
    ts_keypair(&other, 50);
    tc_vote pc, pv;
    tc_evidence e;
    /* Accepted: no proof-of-lock, and one older than the precommit. */
    uint32_t pols[] = {TC_ROUND_NONE, 0, 1};
    for (size_t i = 0; i < TC_ARRAY_LEN(pols); i++) {
        amnesia_votes(&kp, pols[i], &pc, &pv);
        tc_evidence_from_amnesia(&e, &pc, &pv);
        cr_assert_eq(tc_evidence_verify(&e, &v, &ed), 0, "pol_round %u", pols[i]);
        cr_assert_eq(tc_evidence_validator(&e), 2);
        cr_assert_eq(tc_evidence_epoch(&e, &prof), tc_mnreg_epoch(&prof, 10), "the votes' epoch");
    }
    amnesia_votes(&kp, TC_ROUND_NONE, &pc, &pv);
    tc_evidence_from_amnesia(&e, &pc, &pv);
    tc_evidence bad = e;
    bad.a.sig.b[3] ^= 1;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "bad precommit signature");
    bad = e;
    bad.b.sig.b[3] ^= 1;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "bad prevote signature");
    bad = e;
    bad.b.pol_round = 3; /* signed with none: a claimed newer proof-of-lock breaks the sig */
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "pol_round is signed");
    bad = e;
    bad.a.validator = bad.b.validator = 1;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "other member's key");
    bad.a.validator = bad.b.validator = 4;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "index out of range");
    /* Validly signed, but not amnesia: a proof-of-lock at or after the precommit's round. */
    uint32_t honest[] = {2, 3};
    for (size_t i = 0; i < TC_ARRAY_LEN(honest); i++) {
        amnesia_votes(&kp, honest[i], &pc, &pv);
        cr_assert_not(tc_votes_amnesia(&pc, &pv), "pol_round %u", honest[i]);
        bad = e;
        bad.b = pv;
        cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "pol_round %u",
                     honest[i]);
    }
    /* Signed by another key altogether. */
    amnesia_votes(&other, TC_ROUND_NONE, &pc, &pv);
    tc_evidence_from_amnesia(&bad, &pc, &pv);
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "not the member's key");
    tc_vset_deinit(&v);
}

/* ---- rewards ---- */

static uint64_t sum(const uint64_t *s, uint32_t n)
{
    uint64_t t = 0;
    for (uint32_t i = 0; i < n; i++)
        t += s[i];
    return t;
}

Test(mnreg, reward_split_proportional_remainder_to_proposer)
{
    const tc_tier tiers[] = {TC_TIER_BRONZE, TC_TIER_SILVER, TC_TIER_GOLD, TC_TIER_BRONZE};
    tc_vset v;
    tc_commit c;
    uint64_t shares[4];
    make_vset(&v, 4, tiers);
    uint32_t b0 = find_tier(&v, TC_TIER_BRONZE, 0), b1 = find_tier(&v, TC_TIER_BRONZE, 1);
    uint32_t s = find_tier(&v, TC_TIER_SILVER, 0), g = find_tier(&v, TC_TIER_GOLD, 0);
    uint32_t signers[3] = {b0, s, g};
    /* sort the three indexes */
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (signers[j] < signers[i]) {
                uint32_t t = signers[i];
                signers[i] = signers[j];
                signers[j] = t;
            }
    make_signed_commit(&c, &v, signers, 3); /* S = 111 */
    cr_assert_eq(tc_reward_split(&v, &c, 1000, b1, shares), 0);
    cr_assert_eq(shares[b0], 9, "floor(1000 * 1 / 111)");
    cr_assert_eq(shares[s], 90, "floor(1000 * 10 / 111)");
    cr_assert_eq(shares[g], 900, "floor(1000 * 100 / 111)");
    cr_assert_eq(shares[b1], 1, "the non-signing proposer gets the remainder");
    cr_assert_eq(sum(shares, 4), 1000);

    /* A signing proposer gets its share plus the remainder. */
    cr_assert_eq(tc_reward_split(&v, &c, 1000, g, shares), 0);
    cr_assert_eq(shares[g], 901);
    cr_assert_eq(shares[b1], 0);
    cr_assert_eq(sum(shares, 4), 1000);

    /* The two-output form for a proposer of another epoch. */
    uint64_t rest;
    cr_assert_eq(tc_reward_split_signers(&v, &c, 1000, shares, &rest), 0);
    cr_assert_eq(rest, 1);
    cr_assert_eq(sum(shares, 4) + rest, 1000);

    /* Large amounts are exact (128-bit products), and the sum is still exact. */
    cr_assert_eq(tc_reward_split(&v, &c, UINT64_MAX, b1, shares), 0);
    cr_assert_eq(sum(shares, 4), UINT64_MAX);
    cr_assert_eq(shares[g], (uint64_t)(((u128)UINT64_MAX * 100) / 111));
    tc_commit_deinit(&c);

    /* Empty commit: everything to the proposer. */
    make_signed_commit(&c, &v, NULL, 0);
    cr_assert_eq(tc_reward_split(&v, &c, 777, s, shares), 0);
    cr_assert_eq(shares[s], 777);
    cr_assert_eq(sum(shares, 4), 777);
    cr_assert_eq(tc_reward_split_signers(&v, &c, 777, shares, &rest), 0);
    cr_assert_eq(rest, 777);
    cr_assert_eq(sum(shares, 4), 0);

    /* Bad inputs. */
    cr_assert_eq(tc_reward_split(&v, &c, 777, 4, shares), TC_EBLK_PROPOSER);
    cr_assert_eq(sum(shares, 4), 0);
    tc_commit_deinit(&c);
    const uint32_t dup[] = {1, 1};
    make_signed_commit(&c, &v, dup, 2);
    cr_assert_eq(tc_reward_split(&v, &c, 777, 0, shares), TC_EBLK_COMMIT);
    cr_assert_eq(sum(shares, 4), 0);
    tc_commit_deinit(&c);
    tc_vset_deinit(&v);
}

Test(mnreg, reward_split_sums_exactly_for_many_amounts)
{
    tc_tier tiers[7] = {TC_TIER_BRONZE, TC_TIER_SILVER, TC_TIER_GOLD, TC_TIER_BRONZE,
                        TC_TIER_SILVER, TC_TIER_BRONZE, TC_TIER_GOLD};
    tc_vset v;
    tc_commit c;
    uint64_t shares[7];
    make_vset(&v, 7, tiers);
    const uint32_t idx[] = {0, 1, 2, 4, 6};
    make_signed_commit(&c, &v, idx, 5);
    uint64_t S = 0;
    for (int i = 0; i < 5; i++)
        S += v.members[idx[i]].weight;
    for (uint64_t amount = 0; amount < 3000; amount += 7) {
        cr_assert_eq(tc_reward_split(&v, &c, amount, 3, shares), 0);
        cr_assert_eq(sum(shares, 7), amount, "amount %lu", (unsigned long)amount);
        for (int i = 0; i < 5; i++)
            cr_assert_eq(shares[idx[i]], amount * v.members[idx[i]].weight / S);
        cr_assert_lt(shares[3], S, "the remainder is below the divisor");
    }
    tc_commit_deinit(&c);
    tc_vset_deinit(&v);
}

/* ---- double-lock evidence ---- */

/* A transfer spending (H(0x77), spend_index) to `amount`: two of them with one spend_index are
 * a double spend. */
static void make_spend(tc_tx *tx, uint32_t spend_index, uint64_t amount)
{
    cr_assert_eq(tc_tx_init_alloc(tx, TC_TX_TRANSFER, 1, 1), 0);
    memset(tx->inputs[0].prev.txid.b, 0x77, TC_HASH_SIZE);
    tx->inputs[0].prev.index = spend_index;
    tx->outputs[0].amount = amount;
}

/* A signed batch of validator in epoch 3 naming the one txid *id (b borrows id). */
static void make_batch(tc_vote_batch *b, uint32_t validator, uint64_t seq, tc_hash *id,
                       uint64_t key)
{
    tc_keypair kp;
    tc_hash h;
    memset(b, 0, sizeof(*b));
    b->epoch = 3;
    b->validator = validator;
    b->seq = seq;
    b->txid_count = 1;
    b->txids = id;
    ts_keypair(&kp, key);
    tc_vote_batch_sign_hash(b, &h);
    tc_sign(TC_SIG_ED25519, &kp, &h, &b->sig);
}

/* A shallow kind-1 evidence over borrowed parts, in the given order (no checks). */
static tc_evidence lock_view(const tc_vote_batch *ba, const tc_tx *ta, const tc_vote_batch *bb,
                             const tc_tx *tb)
{
    tc_evidence e;
    memset(&e, 0, sizeof(e));
    e.kind = TC_EVIDENCE_DOUBLE_LOCK;
    e.batch_a = *ba;
    e.batch_b = *bb;
    e.tx_a = *ta;
    e.tx_b = *tb;
    return e;
}

Test(mnreg, double_lock_evidence_verify)
{
    tc_vset v;
    make_vset(&v, 4, NULL);
    uint64_t key = key_of(&v, 2);
    tc_tx t1, t2, t3;
    make_spend(&t1, 0, 100);
    make_spend(&t2, 0, 200);
    make_spend(&t3, 1, 300); /* spends another outpoint */
    tc_hash id1, id2, id3, stranger;
    tc_tx_id(&t1, &id1);
    tc_tx_id(&t2, &id2);
    tc_tx_id(&t3, &id3);
    memset(stranger.b, 0x55, TC_HASH_SIZE);
    tc_vote_batch b1, b2, b3, bs;
    make_batch(&b1, 2, 10, &id1, key);
    make_batch(&b2, 2, 11, &id2, key);
    make_batch(&b3, 2, 12, &id3, key);
    make_batch(&bs, 2, 13, &stranger, key);

    tc_evidence e;
    cr_assert_eq(tc_evidence_from_locks(&e, &b2, &t2, &b1, &t1), 0, "valid, either order");
    cr_assert_eq(tc_evidence_validator(&e), 2u);
    cr_assert_eq(tc_evidence_epoch(&e, &prof), 3u, "the batches' epoch judges it");
    cr_assert_eq(tc_evidence_verify(&e, &v, &ed), 0);

    tc_evidence bad;
    cr_assert_eq(tc_evidence_copy(&bad, &e), 0);
    bad.batch_b.sig.b[5] ^= 1;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "bad signature b");
    bad.batch_b.sig.b[5] ^= 1;
    bad.batch_a.sig.b[5] ^= 1;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "bad signature a");
    bad.batch_a.sig.b[5] ^= 1;
    bad.batch_a.validator = bad.batch_b.validator = 1;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "other member's key");
    bad.batch_a.validator = bad.batch_b.validator = 4;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "index out of range");
    tc_evidence_deinit(&bad);

    /* txid(tx) not in its batch: a signed batch naming something else. */
    bool first1 = memcmp(id1.b, id2.b, TC_HASH_SIZE) < 0;
    bad = first1 ? lock_view(&b1, &t1, &bs, &t2) : lock_view(&bs, &t2, &b1, &t1);
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "txid not in batch");
    cr_assert_eq(tc_evidence_from_locks(&bad, &b1, &t1, &bs, &t2), TC_EBLK_EVIDENCE);
    /* No shared outpoint: two honest votes. */
    bool first1b = memcmp(id1.b, id3.b, TC_HASH_SIZE) < 0;
    bad = first1b ? lock_view(&b1, &t1, &b3, &t3) : lock_view(&b3, &t3, &b1, &t1);
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "no shared outpoint");
    cr_assert_eq(tc_evidence_from_locks(&bad, &b1, &t1, &b3, &t3), TC_EBLK_EVIDENCE);
    /* One transaction twice is no conflict. */
    bad = lock_view(&b1, &t1, &b1, &t1);
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "same tx twice");
    cr_assert_eq(tc_evidence_from_locks(&bad, &b1, &t1, &b1, &t1), TC_EBLK_EVIDENCE);
    /* Batches of two validators prove nothing about either. */
    tc_vote_batch other;
    make_batch(&other, 1, 11, &id2, key_of(&v, 1));
    cr_assert_eq(tc_evidence_from_locks(&bad, &b1, &t1, &other, &t2), TC_EBLK_EVIDENCE);

    tc_evidence_deinit(&e);
    tc_tx_deinit(&t1);
    tc_tx_deinit(&t2);
    tc_tx_deinit(&t3);
    tc_vset_deinit(&v);
}

Test(mnreg, batch_equivocation_evidence_verify)
{
    tc_vset v;
    make_vset(&v, 4, NULL);
    uint64_t key = key_of(&v, 2);
    tc_hash id1, id2;
    memset(id1.b, 0x21, TC_HASH_SIZE);
    memset(id2.b, 0x22, TC_HASH_SIZE);
    tc_vote_batch b1, b2, b3;
    make_batch(&b1, 2, 10, &id1, key);
    make_batch(&b2, 2, 10, &id2, key); /* seq 10 again, other content */
    make_batch(&b3, 2, 11, &id2, key);
    tc_evidence e;
    cr_assert_eq(tc_evidence_from_batches(&e, &b2, &b1), 0, "valid, either order");
    cr_assert_eq(tc_evidence_validator(&e), 2u);
    cr_assert_eq(tc_evidence_epoch(&e, &prof), 3u, "the batches' epoch judges it");
    cr_assert_eq(tc_evidence_verify(&e, &v, &ed), 0);

    tc_evidence bad;
    cr_assert_eq(tc_evidence_copy(&bad, &e), 0);
    bad.batch_b.sig.b[3] ^= 1;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "bad signature b");
    bad.batch_b.sig.b[3] ^= 1;
    bad.batch_a.sig.b[3] ^= 1;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "bad signature a");
    bad.batch_a.sig.b[3] ^= 1;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), 0, "restored");
    bad.batch_a.validator = bad.batch_b.validator = 1;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "other member's key");
    bad.batch_a.validator = bad.batch_b.validator = 4;
    cr_assert_eq(tc_evidence_verify(&bad, &v, &ed), TC_EBLK_EVIDENCE, "index out of range");
    tc_evidence_deinit(&bad);
    tc_evidence_deinit(&e);
    /* Two seqs are two honest batches; one signed by another key proves nothing of 2. */
    cr_assert_eq(tc_evidence_from_batches(&e, &b1, &b3), TC_EBLK_EVIDENCE, "two seqs");
    tc_vote_batch forged;
    make_batch(&forged, 2, 10, &id2, key_of(&v, 1));
    cr_assert_eq(tc_evidence_from_batches(&e, &b1, &forged), 0, "well shaped");
    cr_assert_eq(tc_evidence_verify(&e, &v, &ed), TC_EBLK_EVIDENCE, "signed by someone else");
    tc_evidence_deinit(&e);
    tc_vset_deinit(&v);
}

/* A handoff of validator in epoch 3 naming count txids 0x31.., signed with key. */
static void make_ho(tc_handoff *h, uint32_t validator, uint32_t count, uint64_t key)
{
    tc_keypair kp;
    memset(h, 0, sizeof(*h));
    h->epoch = 3;
    h->validator = validator;
    h->txid_count = count;
    h->txids = calloc(count ? count : 1, sizeof(tc_hash));
    for (uint32_t i = 0; i < count; i++)
        memset(h->txids[i].b, (int)(0x31 + i), TC_HASH_SIZE);
    ts_keypair(&kp, key);
    tc_handoff_sign(h, TC_SIG_ED25519, &kp);
}

Test(mnreg, handoff_equivocation_evidence_verify)
{
    tc_vset v;
    make_vset(&v, 4, NULL);
    tc_handoff h1, h2, forged;
    make_ho(&h1, 2, 2, key_of(&v, 2));
    make_ho(&h2, 2, 1, key_of(&v, 2));
    make_ho(&forged, 2, 0, key_of(&v, 3));
    tc_evidence e;
    cr_assert_eq(tc_evidence_from_handoffs(&e, &h2, &h1), 0);
    cr_assert_eq(tc_evidence_epoch(&e, &prof), 3u, "the handoffs' epoch judges it");
    cr_assert_eq(tc_evidence_validator(&e), 2u);
    cr_assert_eq(tc_evidence_verify(&e, &v, &ed), 0);
    e.handoff_a.sig.b[9] ^= 1;
    cr_assert_eq(tc_evidence_verify(&e, &v, &ed), TC_EBLK_EVIDENCE, "bad signature a");
    e.handoff_a.sig.b[9] ^= 1;
    e.handoff_b.sig.b[9] ^= 1;
    cr_assert_eq(tc_evidence_verify(&e, &v, &ed), TC_EBLK_EVIDENCE, "bad signature b");
    e.handoff_b.sig.b[9] ^= 1;
    e.handoff_a.validator = e.handoff_b.validator = 7;
    cr_assert_eq(tc_evidence_verify(&e, &v, &ed), TC_EBLK_EVIDENCE, "index out of range");
    tc_evidence_deinit(&e);
    cr_assert_eq(tc_evidence_from_handoffs(&e, &h1, &forged), 0, "well shaped");
    cr_assert_eq(tc_evidence_verify(&e, &v, &ed), TC_EBLK_EVIDENCE, "signed by someone else");
    tc_evidence_deinit(&e);
    tc_handoff_deinit(&h1);
    tc_handoff_deinit(&h2);
    tc_handoff_deinit(&forged);
    tc_vset_deinit(&v);
}
