/* test_chain.c — the certified chain (chain.h): every block rule with its code, and "nothing
 * changed" after each refusal; rewards and the supply equation; registrations, retirements and
 * evidence burns across epochs; store faults, crash recovery, LMDB; the read side.
 *
 * Most tests sign with TC_SIG_FAST for speed; ed25519_chain runs the same path with Ed25519.
 * A rule test builds a valid block with tc_chain_build, breaks exactly one thing, expects the
 * rule's code from tc_chain_check and tc_chain_apply with the chain unchanged, and then applies
 * the valid block. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "ledger.h"
#include "mnreg.h"
#include "support.h"
#include "utxo.h"

__extension__ typedef unsigned __int128 u128;

static ts_chain F;        /* the chain under test; each test opens it with its options */
static char lmdb_dir[64]; /* an LMDB test's folder, removed at teardown if the test failed */

static bool remove_lmdb_dir(void)
{
    static const char *files[] = {"data.mdb", "lock.mdb"};
    char path[128];
    for (size_t i = 0; i < TC_ARRAY_LEN(files); i++) {
        snprintf(path, sizeof(path), "%s/%s", lmdb_dir, files[i]);
        (void)unlink(path);
    }
    bool removed = rmdir(lmdb_dir) == 0;
    lmdb_dir[0] = 0;
    return removed;
}

static void teardown(void)
{
    ts_chain_close(&F);
    if (lmdb_dir[0] != 0)
        (void)remove_lmdb_dir();
}

TestSuite(chain, .fini = teardown);

static ts_chain_opts default_opts(void)
{
    return (ts_chain_opts){.validators = 4,
                           .wallets = 8,
                           .evidence_per_block_max = 2,
                           .scheme = TC_SIG_FAST,
                           .seed = 1};
}

static void open_chain(const ts_chain_opts *o)
{
    cr_assert_eq(ts_chain_open(&F, o), 0, "the test chain opens");
    cr_assert_eq(tc_chain_height(F.chain), 0, "a new chain is at height 0");
}

static void open_default(void)
{
    ts_chain_opts o = default_opts();
    open_chain(&o);
}

static const tc_profile *prof(void)
{
    return tc_chain_profile(F.chain);
}

/* ---- state snapshots: "nothing changed" ---- */

typedef struct {
    uint64_t height;
    tc_hash tip;
    tc_chain_supply supply;
    tc_hash root;
} snap;

static void snap_take(snap *s)
{
    tc_store_txn *t = NULL;
    memset(s, 0, sizeof(*s));
    s->height = tc_chain_height(F.chain);
    tc_chain_tip(F.chain, &s->tip);
    cr_assert_eq(tc_chain_supply_get(F.chain, &s->supply), 0, "the supply is readable");
    cr_assert_eq(tc_store_begin(F.store, false, &t), 0, "a read transaction opens");
    cr_assert_eq(tc_utxo_root(t, &s->root), 0, "the UTXO root is readable");
    tc_store_abort(t);
}

static void expect_unchanged(const snap *b, const char *what)
{
    snap n;
    snap_take(&n);
    cr_assert_eq(n.height, b->height, "%s: height stays %llu", what, (unsigned long long)b->height);
    cr_assert_arr_eq(n.tip.b, b->tip.b, TC_HASH_SIZE, "%s: tip hash unchanged", what);
    cr_assert_eq(n.supply.utxo_total, b->supply.utxo_total, "%s: utxo_total stays %llu", what,
                 (unsigned long long)b->supply.utxo_total);
    cr_assert_eq(n.supply.utxo_count, b->supply.utxo_count, "%s: utxo_count unchanged", what);
    cr_assert_eq(n.supply.rewards_total, b->supply.rewards_total, "%s: rewards unchanged", what);
    cr_assert_eq(n.supply.burned_total, b->supply.burned_total, "%s: burned unchanged", what);
    cr_assert_eq(n.supply.fees_total, b->supply.fees_total, "%s: fees unchanged", what);
    cr_assert_arr_eq(n.root.b, b->root.b, TC_HASH_SIZE, "%s: UTXO root unchanged", what);
    cr_assert_eq(tc_chain_verify_integrity(F.chain), 0, "%s: integrity check passes", what);
}

/* PROTOCOL 8: utxo_total == genesis + rewards - burned, after every block. */
static void expect_balanced(void)
{
    tc_chain_supply s;
    cr_assert_eq(tc_chain_supply_get(F.chain, &s), 0, "the supply is readable");
    cr_assert_eq(s.utxo_total, s.genesis_supply + s.rewards_total - s.burned_total,
                 "height %llu: utxo_total %llu == genesis + rewards - burned",
                 (unsigned long long)tc_chain_height(F.chain), (unsigned long long)s.utxo_total);
    cr_assert_eq(s.rewards_total, tc_chain_height(F.chain) * prof()->block_reward,
                 "rewards_total is height x block_reward");
    cr_assert_eq(tc_chain_verify_integrity(F.chain), 0, "the integrity check passes");
}

/* ---- blocks ---- */

static void build(const tc_tx *txs, uint32_t n, const tc_evidence *ev, uint32_t ev_n, tc_block *b)
{
    int rc = ts_chain_build(&F, txs, n, ev, ev_n, b);
    cr_assert_eq(rc, 0, "building block %llu returns 0 (got %d)",
                 (unsigned long long)tc_chain_height(F.chain) + 1, rc);
}

static void accept(const tc_block *b)
{
    int rc = ts_chain_accept(&F, b);
    cr_assert_eq(rc, 0, "block %llu applies (got %d)", (unsigned long long)b->header.height, rc);
    cr_assert_eq(tc_chain_height(F.chain), b->header.height, "the tip is the new block");
    expect_balanced();
}

static void advance(const tc_tx *txs, uint32_t n, const tc_evidence *ev, uint32_t ev_n)
{
    tc_block b;
    build(txs, n, ev, ev_n, &b);
    accept(&b);
    tc_block_deinit(&b);
}

static void advance_to(uint64_t height)
{
    while (tc_chain_height(F.chain) < height)
        advance(NULL, 0, NULL, 0);
}

static void block_copy(tc_block *dst, const tc_block *src)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    cr_assert_eq(tc_block_encode_alloc(src, &bytes, &len), 0, "the block encodes");
    cr_assert_eq(tc_block_decode(dst, bytes, len), 0, "the block decodes back");
    free(bytes);
}

static void reroot(tc_block *b)
{
    cr_assert_eq(tc_block_tx_root(b, &b->header.tx_root), 0, "the tx root recomputes");
}

/* Appends a copy of tx to b's body and recomputes the tx root. */
static void append_tx(tc_block *b, const tc_tx *tx)
{
    tc_block_tx *bigger = realloc(b->txs, (b->tx_count + 1) * sizeof(*bigger));
    cr_assert_not_null(bigger, "the allocation succeeds");
    b->txs = bigger;
    memset(&b->txs[b->tx_count], 0, sizeof(*b->txs));
    cr_assert_eq(tc_tx_copy(&b->txs[b->tx_count].tx, tx), 0, "the tx copies");
    b->tx_count++;
    reroot(b);
}

/* b must be refused with code by check and by apply, leaving the chain as it was. */
static void expect_refused(const tc_block *b, int code, const char *what)
{
    snap before;
    snap_take(&before);
    int rc = tc_chain_check(F.chain, b);
    cr_assert_eq(rc, code, "%s: check returns %d (got %d)", what, code, rc);
    expect_unchanged(&before, what);
    rc = tc_chain_apply(F.chain, b);
    cr_assert_eq(rc, code, "%s: apply returns %d (got %d)", what, code, rc);
    expect_unchanged(&before, what);
}

/* The next block with tx appended must be refused with code, and tc_chain_build must fail
 * with the same code. */
static void expect_tx_refused(const tc_tx *tx, int code, const char *what)
{
    tc_block good, bad;
    snap before;
    snap_take(&before);
    int rc = ts_chain_build(&F, tx, 1, NULL, 0, &bad);
    cr_assert_eq(rc, code, "%s: build returns %d (got %d)", what, code, rc);
    expect_unchanged(&before, what);
    build(NULL, 0, NULL, 0, &good);
    block_copy(&bad, &good);
    append_tx(&bad, tx);
    expect_refused(&bad, code, what);
    tc_block_deinit(&bad);
    tc_block_deinit(&good);
}

/* ---- coins, transactions, look-ups ---- */

typedef struct {
    tc_keypair kp;
    tc_outpoint op;
    uint64_t amount;
} coin;

static coin wallet_coin(uint32_t j)
{
    coin c;
    cr_assert_eq(tc_genesis_key(F.master, "wallet", j, &c.kp), 0, "wallet key %u", j);
    ts_chain_genesis_outpoint(&F, j, &c.op);
    c.amount = F.genesis.outputs[j].amount;
    return c;
}

static void addr_of(const tc_keypair *kp, tc_addr_hash *out)
{
    tc_addr_from_pubkey(&kp->pub, out);
}

static uint64_t fee_of(uint64_t amount)
{
    return prof()->min_fee_base + amount / 1000;
}

/* A transfer of amount from c to `to`; c moves on to the change output, which exists once a
 * block confirms tx (tests that expect a refusal spend a copy of the coin). */
static void pay(coin *c, const tc_addr_hash *to, uint64_t amount, tc_tx *tx)
{
    uint64_t fee = fee_of(c->amount);
    int rc = ts_tx_transfer(tx, F.opts.scheme, &c->kp, &c->op, c->amount, to, amount, fee);
    cr_assert_eq(rc, 0, "the transfer builds");
    cr_assert_eq(tx->output_count, 2, "the transfer has change");
    tc_tx_id(tx, &c->op.txid);
    c->op.index = 1;
    c->amount -= amount + fee;
}

static uint64_t tx_fee(const tc_tx *tx, uint64_t in_amount)
{
    uint64_t out = 0;
    cr_assert_eq(tc_tx_output_total(tx, &out), 0, "tc_tx_output_total returns 0");
    return in_amount - out;
}

/* A bronze registration of key vkeys[key_index], paid by c (collateral and change to c's
 * owner); c moves on to the change. */
static void make_register(coin *c, uint32_t key_index, tc_tx *tx)
{
    uint64_t collateral = prof()->collateral_bronze, fee = fee_of(c->amount);
    tc_addr_hash own;
    tc_hash txid;
    addr_of(&c->kp, &own);
    cr_assert_eq(tc_tx_init_alloc(tx, TC_TX_MN_REGISTER, 1, 2), 0, "tc_tx_init_alloc returns 0");
    tx->inputs[0] = (tc_txin){.prev = c->op, .pub = c->kp.pub};
    tx->outputs[0] = (tc_txout){.amount = collateral, .addr = own};
    tx->outputs[1] = (tc_txout){.amount = c->amount - collateral - fee, .addr = own};
    tx->mn_key = F.vkeys[key_index].pub;
    tx->mn_tier = TC_TIER_BRONZE;
    tx->net_addr_len =
        (uint8_t)snprintf(tx->net_addr, sizeof(tx->net_addr), "127.0.0.1:%u", 25000 + key_index);
    tc_tx_id(tx, &txid);
    tc_tx_sign_input(tx, &txid, 0, F.opts.scheme, &c->kp);
    tc_tx_sign_mn(tx, &txid, F.opts.scheme, &F.vkeys[key_index]);
    c->op = (tc_outpoint){.txid = txid, .index = 1};
    c->amount = tx->outputs[1].amount;
}

/* A retirement of mn_key paid by c, whose key speaks for the owner; c moves on. */
static void make_retire(coin *c, const tc_pubkey *mn_key, tc_tx *tx)
{
    tc_hash txid;
    cr_assert_eq(tc_tx_init_alloc(tx, TC_TX_MN_RETIRE, 1, 1), 0, "tc_tx_init_alloc returns 0");
    tx->inputs[0] = (tc_txin){.prev = c->op, .pub = c->kp.pub};
    tx->outputs[0].amount = c->amount - fee_of(c->amount);
    addr_of(&c->kp, &tx->outputs[0].addr);
    tx->mn_key = *mn_key;
    tc_tx_id(tx, &txid);
    tc_tx_sign_input(tx, &txid, 0, F.opts.scheme, &c->kp);
    c->op = (tc_outpoint){.txid = txid, .index = 0};
    c->amount = tx->outputs[0].amount;
}

static int utxo_get(const tc_outpoint *op, tc_utxo_entry *e)
{
    tc_store_txn *t = NULL;
    cr_assert_eq(tc_store_begin(F.store, false, &t), 0, "tc_store_begin returns 0");
    int rc = tc_utxo_get(t, op, e);
    tc_store_abort(t);
    return rc;
}

static tc_mn_record mn_get(const tc_pubkey *key)
{
    tc_store_txn *t = NULL;
    tc_mn_record rec;
    cr_assert_eq(tc_store_begin(F.store, false, &t), 0, "tc_store_begin returns 0");
    cr_assert_eq(tc_mnreg_get(t, key, &rec), 0, "the masternode has a record");
    tc_store_abort(t);
    return rec;
}

static bool vset_has(uint32_t epoch, const tc_pubkey *key)
{
    const tc_vset *vs;
    uint32_t index;
    cr_assert_eq(tc_chain_vset(F.chain, epoch, &vs), 0, "the set of epoch %u builds", epoch);
    return tc_vset_find(vs, key, &index) == 0;
}

static uint32_t vset_count(uint32_t epoch)
{
    const tc_vset *vs;
    cr_assert_eq(tc_chain_vset(F.chain, epoch, &vs), 0, "the set of epoch %u builds", epoch);
    return vs->count;
}

/* Genesis index of a genesis validator key. */
static uint32_t genesis_index(const tc_pubkey *key)
{
    for (uint32_t i = 0; i < F.genesis.mn_count; i++)
        if (memcmp(F.genesis.mns[i].key.b, key->b, TC_PUBKEY_SIZE) == 0)
            return i;
    cr_assert_fail("not a genesis validator");
    return 0;
}

/* The validator at index of epoch's set, as its genesis index. */
static uint32_t member_genesis_index(uint32_t epoch, uint32_t index)
{
    const tc_vset *vs;
    cr_assert_eq(tc_chain_vset(F.chain, epoch, &vs), 0, "tc_chain_vset returns 0");
    cr_assert_lt(index, vs->count, "index %u is in the set", index);
    tc_pubkey key = vs->members[index].key;
    return genesis_index(&key);
}

static void collateral_of(uint32_t genesis_mn, tc_outpoint *op)
{
    ts_chain_genesis_outpoint(&F, F.genesis.output_count + genesis_mn, op);
}

/* Two blocks of transfers (wallets 0..3 pay wallets 4..7), so the tip has a commit and fees. */
static void two_blocks_of_transfers(coin coins[4])
{
    for (uint32_t j = 0; j < 4; j++)
        coins[j] = wallet_coin(j);
    for (int k = 0; k < 2; k++) {
        tc_tx txs[4];
        for (uint32_t j = 0; j < 4; j++) {
            tc_addr_hash to;
            ts_chain_addr(&F, "wallet", 4 + j, &to);
            pay(&coins[j], &to, 1000 * TC_UNITS_PER_TIME, &txs[j]);
        }
        advance(txs, 4, NULL, 0);
        for (uint32_t j = 0; j < 4; j++)
            tc_tx_deinit(&txs[j]);
    }
}

/* ---- header and body rules, one broken thing at a time ---- */

typedef void (*block_mutation)(tc_block *b);

typedef struct {
    const char *name;
    block_mutation mutate;
    int code;
} block_case;

static void resign_commit(tc_block *b, uint64_t height, const tc_hash *block, uint64_t signers)
{
    tc_commit c;
    cr_assert_eq(ts_chain_sign_commit(&F, height, 0, block, signers, &c), 0, "commit signs");
    tc_commit_deinit(&b->header.last_commit);
    b->header.last_commit = c;
}

static void set_evidence(tc_block *b, const tc_evidence *ev, uint32_t n)
{
    free(b->header.evidence);
    b->header.evidence = calloc(n, sizeof(*ev));
    cr_assert_not_null(b->header.evidence, "the allocation succeeds");
    memcpy(b->header.evidence, ev, n * sizeof(*ev));
    b->header.evidence_count = n;
}

static tc_evidence evidence_at(uint64_t height, uint32_t validator)
{
    tc_evidence e;
    cr_assert_eq(ts_chain_evidence(&F, height, validator, &e), 0, "evidence signs");
    return e;
}

static uint64_t tip_height(void)
{
    return tc_chain_height(F.chain);
}

static tc_hash tip_hash(void)
{
    tc_hash h;
    tc_chain_tip(F.chain, &h);
    return h;
}

static void m_version_2(tc_block *b)
{
    b->header.version = TC_BLOCK_VERSION + 1;
}
static void m_version_0(tc_block *b)
{
    b->header.version = 0;
}
static void m_height_ahead(tc_block *b)
{
    b->header.height++;
}
static void m_height_tip(tc_block *b)
{
    b->header.height--;
}
static void m_parent_flip(tc_block *b)
{
    b->header.parent.b[5] ^= 1;
}
static void m_parent_genesis(tc_block *b)
{
    tc_chain_genesis_hash(F.chain, &b->header.parent);
}
static void m_time_equal(tc_block *b)
{
    b->header.time_ms = tc_chain_tip_time_ms(F.chain);
}
static void m_time_before(tc_block *b)
{
    b->header.time_ms = tc_chain_tip_time_ms(F.chain) - 1;
}
static void m_vset_flip(tc_block *b)
{
    b->header.vset_hash.b[0] ^= 1;
}
static void m_proposer_count(tc_block *b)
{
    b->header.proposer = vset_count(tc_chain_epoch_of(F.chain, b->header.height));
}
static void m_proposer_max(tc_block *b)
{
    b->header.proposer = UINT32_MAX;
}
static void m_commit_below_quorum(tc_block *b)
{
    tc_hash tip = tip_hash();
    resign_commit(b, tip_height(), &tip, 0x3); /* 2 of 4 bronze: W 4, Q 3 */
}
static void m_commit_bad_sig(tc_block *b)
{
    b->header.last_commit.sigs[1].sig.b[3] ^= 1;
}
static void m_commit_other_block(tc_block *b)
{
    tc_hash other = tip_hash();
    other.b[0] ^= 1;
    resign_commit(b, tip_height(), &other, TS_ALL_SIGNERS);
}
static void m_commit_other_height(tc_block *b)
{
    tc_hash tip = tip_hash();
    resign_commit(b, tip_height() - 1, &tip, TS_ALL_SIGNERS);
}
static void m_commit_index_out(tc_block *b)
{
    tc_commit *c = &b->header.last_commit;
    c->sigs[c->sig_count - 1].validator = 4; /* the set has 4 members */
}
static void m_commit_empty(tc_block *b)
{
    tc_commit_deinit(&b->header.last_commit);
}
static void m_ev_bad_sig(tc_block *b)
{
    tc_evidence e = evidence_at(tip_height(), 1);
    e.b.sig.b[9] ^= 1;
    set_evidence(b, &e, 1);
}
static void m_ev_future(tc_block *b)
{
    tc_evidence e = evidence_at(tip_height() + 2, 1);
    set_evidence(b, &e, 1);
}
static void m_ev_not_member(tc_block *b)
{
    tc_evidence e = evidence_at(tip_height(), 1);
    e.a.validator = e.b.validator = 4;
    set_evidence(b, &e, 1);
}
static void m_ev_one_vote(tc_block *b)
{
    tc_evidence e = evidence_at(tip_height(), 1);
    e.b = e.a;
    set_evidence(b, &e, 1);
}
static void m_ev_twice(tc_block *b)
{
    tc_evidence e[2] = {evidence_at(tip_height(), 1), evidence_at(tip_height(), 1)};
    set_evidence(b, e, 2);
}
static void m_ev_same_culprit(tc_block *b)
{
    tc_evidence e[2] = {evidence_at(tip_height(), 1), evidence_at(tip_height() - 1, 1)};
    set_evidence(b, e, 2);
}
static tc_evidence amnesia_at(uint64_t height, uint32_t validator, uint32_t pol_round)
{
    tc_evidence e;
    cr_assert_eq(ts_chain_amnesia(&F, height, validator, pol_round, &e), 0, "amnesia signs");
    return e;
}
static void m_am_bad_sig(tc_block *b)
{
    tc_evidence e = amnesia_at(tip_height(), 1, TC_ROUND_NONE);
    e.b.sig.b[9] ^= 1;
    set_evidence(b, &e, 1);
}
static void m_am_future(tc_block *b)
{
    tc_evidence e = amnesia_at(tip_height() + 2, 1, TC_ROUND_NONE);
    set_evidence(b, &e, 1);
}
static void m_am_newer_pol(tc_block *b)
{
    tc_evidence e = amnesia_at(tip_height(), 1, 1); /* a proof-of-lock from round 1: honest */
    set_evidence(b, &e, 1);
}
static void m_am_and_double_vote(tc_block *b)
{
    tc_evidence e[2] = {evidence_at(tip_height(), 1), amnesia_at(tip_height(), 1, 0)};
    set_evidence(b, e, 2);
}
static void m_ev_too_many(tc_block *b)
{
    tc_evidence e[3] = {evidence_at(tip_height(), 0), evidence_at(tip_height(), 1),
                        evidence_at(tip_height(), 2)}; /* evidence_per_block_max = 2 */
    set_evidence(b, e, 3);
}
static void m_txroot_flip(tc_block *b)
{
    b->header.tx_root.b[0] ^= 1;
}
static void m_body_without_reroot(tc_block *b)
{
    b->rewards[0].amount++;
}
static void m_reward_up(tc_block *b)
{
    b->rewards[0].amount++;
    reroot(b);
}
static void m_reward_shift(tc_block *b)
{
    b->rewards[0].amount--; /* the total stays right, one share does not */
    b->rewards[b->reward_count - 1].amount++;
    reroot(b);
}
static void m_reward_addr(tc_block *b)
{
    b->rewards[0].addr.b[0] ^= 1;
    reroot(b);
}
static void m_reward_drop(tc_block *b)
{
    b->reward_count--;
    reroot(b);
}
static void m_reward_extra(tc_block *b)
{
    tc_txout *bigger = realloc(b->rewards, (b->reward_count + 1) * sizeof(*bigger));
    cr_assert_not_null(bigger, "the allocation succeeds");
    b->rewards = bigger;
    b->rewards[b->reward_count++] = b->rewards[0];
    reroot(b);
}
static void m_reward_swap(tc_block *b)
{
    tc_txout first = b->rewards[0];
    b->rewards[0] = b->rewards[1];
    b->rewards[1] = first;
    reroot(b);
}
static void m_reward_none(tc_block *b)
{
    b->reward_count = 0;
    reroot(b);
}
static void m_utxo_root_flip(tc_block *b)
{
    b->header.utxo_root.b[31] ^= 1;
}
static void m_same_tx_twice(tc_block *b)
{
    tc_tx copy;
    cr_assert_eq(tc_tx_copy(&copy, &b->txs[0].tx), 0, "tc_tx_copy returns 0");
    append_tx(b, &copy);
    tc_tx_deinit(&copy);
}

static const block_case block_cases[] = {
    {"version above", m_version_2, TC_ERANGE},
    {"version zero", m_version_0, TC_ERANGE},
    {"height tip + 2", m_height_ahead, TC_EBLK_HEIGHT},
    {"height of the tip", m_height_tip, TC_EBLK_HEIGHT},
    {"parent flipped", m_parent_flip, TC_EBLK_PARENT},
    {"parent is genesis", m_parent_genesis, TC_EBLK_PARENT},
    {"time equal to the parent's", m_time_equal, TC_EBLK_TIME},
    {"time before the parent's", m_time_before, TC_EBLK_TIME},
    {"vset hash flipped", m_vset_flip, TC_EBLK_VSET},
    {"proposer = count", m_proposer_count, TC_EBLK_PROPOSER},
    {"proposer = UINT32_MAX", m_proposer_max, TC_EBLK_PROPOSER},
    {"commit below quorum", m_commit_below_quorum, TC_EBLK_COMMIT},
    {"commit with a bad signature", m_commit_bad_sig, TC_EBLK_COMMIT},
    {"commit for another block", m_commit_other_block, TC_EBLK_COMMIT},
    {"commit for another height", m_commit_other_height, TC_EBLK_COMMIT},
    {"commit index out of the set", m_commit_index_out, TC_EBLK_COMMIT},
    {"commit empty above height 1", m_commit_empty, TC_EBLK_COMMIT},
    {"evidence with a bad signature", m_ev_bad_sig, TC_EBLK_EVIDENCE},
    {"evidence about a future height", m_ev_future, TC_EBLK_EVIDENCE},
    {"evidence by a non-member index", m_ev_not_member, TC_EBLK_EVIDENCE},
    {"evidence of one vote twice", m_ev_one_vote, TC_EBLK_EVIDENCE},
    {"evidence repeated in a block", m_ev_twice, TC_EBLK_EVIDENCE},
    {"two evidence, one culprit", m_ev_same_culprit, TC_EBLK_EVIDENCE},
    {"evidence over the limit", m_ev_too_many, TC_EBLK_EVIDENCE},
    {"amnesia with a bad signature", m_am_bad_sig, TC_EBLK_EVIDENCE},
    {"amnesia about a future height", m_am_future, TC_EBLK_EVIDENCE},
    {"amnesia with a newer proof-of-lock", m_am_newer_pol, TC_EBLK_EVIDENCE},
    {"amnesia and a double vote, one culprit", m_am_and_double_vote, TC_EBLK_EVIDENCE},
    {"tx root flipped", m_txroot_flip, TC_EBLK_TXROOT},
    {"body changed, root kept", m_body_without_reroot, TC_EBLK_TXROOT},
    {"reward amount + 1", m_reward_up, TC_EBLK_REWARD},
    {"reward moved between outputs", m_reward_shift, TC_EBLK_REWARD},
    {"reward address changed", m_reward_addr, TC_EBLK_REWARD},
    {"reward output dropped", m_reward_drop, TC_EBLK_REWARD},
    {"reward output added", m_reward_extra, TC_EBLK_REWARD},
    {"reward outputs swapped", m_reward_swap, TC_EBLK_REWARD},
    {"no reward outputs", m_reward_none, TC_EBLK_REWARD},
    {"utxo root flipped", m_utxo_root_flip, TC_EBLK_UTXOROOT},
    {"one transaction twice", m_same_tx_twice, TC_EBLK_CONFLICT},
};

Test(chain, every_block_rule_refuses_one_broken_thing)
{
    coin coins[4];
    tc_tx txs[4];
    tc_block valid;
    open_default();
    two_blocks_of_transfers(coins);
    for (uint32_t j = 0; j < 4; j++) {
        tc_addr_hash to;
        ts_chain_addr(&F, "wallet", j, &to);
        pay(&coins[j], &to, 10 * TC_UNITS_PER_TIME, &txs[j]);
    }
    build(txs, 4, NULL, 0, &valid);
    cr_assert_geq(valid.reward_count, 4, "four signers share the reward");
    cr_assert_eq(valid.header.last_commit.sig_count, 4, "all four signed the parent");
    for (size_t i = 0; i < TC_ARRAY_LEN(block_cases); i++) {
        tc_block bad;
        block_copy(&bad, &valid);
        block_cases[i].mutate(&bad);
        expect_refused(&bad, block_cases[i].code, block_cases[i].name);
        tc_block_deinit(&bad);
    }
    cr_assert_eq(tc_chain_check(F.chain, &valid), 0, "the valid block passes check");
    accept(&valid);
    tc_block_deinit(&valid);
    for (uint32_t j = 0; j < 4; j++)
        tc_tx_deinit(&txs[j]);
}

/* Height 1: last_commit must be the empty commit (all fields zero); the proposer takes all. */
Test(chain, height_one_commit_is_empty_and_proposer_takes_all)
{
    coin c;
    tc_tx tx;
    tc_block valid;
    tc_hash genesis;
    tc_addr_hash to, proposer_owner;
    open_default();
    c = wallet_coin(0);
    uint64_t in = c.amount;
    ts_chain_addr(&F, "wallet", 1, &to);
    pay(&c, &to, 5 * TC_UNITS_PER_TIME, &tx);
    build(&tx, 1, NULL, 0, &valid);
    tc_chain_genesis_hash(F.chain, &genesis);
    for (int k = 0; k < 4; k++) {
        static const char *what[] = {"one signature", "height 1", "round 1", "block hash set"};
        tc_block bad;
        block_copy(&bad, &valid);
        if (k == 0)
            resign_commit(&bad, 0, &genesis, 0x1);
        if (k == 1)
            bad.header.last_commit.height = 1;
        if (k == 2)
            bad.header.last_commit.round = 1;
        if (k == 3)
            bad.header.last_commit.block = genesis;
        expect_refused(&bad, TC_EBLK_COMMIT, what[k]);
        tc_block_deinit(&bad);
    }
    uint32_t proposer = valid.header.proposer;
    ts_chain_addr(&F, "owner", member_genesis_index(0, proposer), &proposer_owner);
    cr_assert_eq(valid.reward_count, 1, "one reward output at height 1");
    cr_assert_eq(valid.rewards[0].amount, prof()->block_reward + tx_fee(&tx, in),
                 "the proposer gets block_reward + the fee");
    cr_assert_arr_eq(valid.rewards[0].addr.b, proposer_owner.b, TC_ADDR_HASH_SIZE,
                     "paid to the proposer's owner address");
    accept(&valid);
    tc_block_deinit(&valid);
    tc_tx_deinit(&tx);
}

/* ---- an invalid transaction inside a block: the ledger's code ---- */

typedef void (*tx_mutation)(tc_tx *tx, const coin *spent);

typedef struct {
    const char *name;
    tx_mutation mutate;
    int code;
} tx_case;

static void resign_tx(tc_tx *tx, const tc_keypair *kp)
{
    tc_hash txid;
    tc_tx_id(tx, &txid);
    tc_tx_sign_input(tx, &txid, 0, F.opts.scheme, kp);
}

static void t_bad_sig(tc_tx *tx, const coin *spent)
{
    (void)spent;
    tx->inputs[0].sig.b[0] ^= 1;
}
static void t_overspend(tc_tx *tx, const coin *spent)
{
    tx->outputs[1].amount += tx_fee(tx, spent->amount) + 1;
    resign_tx(tx, &spent->kp);
}
static void t_low_fee(tc_tx *tx, const coin *spent)
{
    tx->outputs[1].amount += tx_fee(tx, spent->amount) - 1; /* a fee of one unit */
    resign_tx(tx, &spent->kp);
}
static void t_missing_input(tc_tx *tx, const coin *spent)
{
    tx->inputs[0].prev.index = 7;
    resign_tx(tx, &spent->kp);
}
static void t_spent_input(tc_tx *tx, const coin *spent)
{
    ts_chain_genesis_outpoint(&F, 0, &tx->inputs[0].prev); /* spent at height 1 */
    resign_tx(tx, &spent->kp);
}
static void t_wrong_owner(tc_tx *tx, const coin *spent)
{
    tc_keypair other;
    (void)spent;
    cr_assert_eq(tc_genesis_key(F.master, "wallet", 6, &other), 0, "tc_genesis_key returns 0");
    tx->inputs[0].pub = other.pub;
    resign_tx(tx, &other);
}
static void t_dust(tc_tx *tx, const coin *spent)
{
    uint64_t cut = tx->outputs[0].amount - (prof()->dust_limit - 1);
    tx->outputs[0].amount -= cut;
    tx->outputs[1].amount += cut;
    resign_tx(tx, &spent->kp);
}
static void t_zero_amount(tc_tx *tx, const coin *spent)
{
    tx->outputs[1].amount += tx->outputs[0].amount;
    tx->outputs[0].amount = 0;
    resign_tx(tx, &spent->kp);
}
static void t_version(tc_tx *tx, const coin *spent)
{
    tx->version = TC_TX_VERSION + 1;
    resign_tx(tx, &spent->kp);
}
static void t_kind_payload(tc_tx *tx, const coin *spent)
{
    tx->mn_key = F.vkeys[9].pub; /* a transfer carries no masternode payload */
    resign_tx(tx, &spent->kp);
}
static void t_collateral(tc_tx *tx, const coin *spent)
{
    tc_keypair owner;
    (void)spent;
    cr_assert_eq(tc_genesis_key(F.master, "owner", 0, &owner), 0, "tc_genesis_key returns 0");
    collateral_of(0, &tx->inputs[0].prev);
    tx->inputs[0].pub = owner.pub;
    uint64_t in = prof()->collateral_bronze;
    tx->outputs[1].amount = in - tx->outputs[0].amount - fee_of(in);
    resign_tx(tx, &owner);
}

static const tx_case tx_cases[] = {
    {"bad input signature", t_bad_sig, TC_ETX_BAD_SIG},
    {"outputs exceed inputs", t_overspend, TC_ETX_OVERSPEND},
    {"fee below the minimum", t_low_fee, TC_ETX_LOW_FEE},
    {"input does not exist", t_missing_input, TC_ETX_MISSING_INPUT},
    {"input spent by an earlier block", t_spent_input, TC_ETX_SPENT_INPUT},
    {"input owned by another key", t_wrong_owner, TC_ETX_WRONG_OWNER},
    {"dust output", t_dust, TC_ETX_DUST},
    {"zero output", t_zero_amount, TC_ETX_ZERO_AMOUNT},
    {"unknown tx version", t_version, TC_ETX_VERSION},
    {"transfer with a payload", t_kind_payload, TC_ETX_KIND},
    {"transfer spends collateral", t_collateral, TC_ETX_COLLATERAL},
};

Test(chain, an_invalid_transaction_refuses_the_block_with_its_code)
{
    coin coins[4];
    tc_tx txs[2];
    tc_block valid;
    open_default();
    two_blocks_of_transfers(coins);
    coin spent = coins[0];
    for (uint32_t j = 0; j < 2; j++) {
        tc_addr_hash to;
        ts_chain_addr(&F, "wallet", 5, &to);
        pay(&coins[j], &to, 10 * TC_UNITS_PER_TIME, &txs[j]);
    }
    build(txs, 2, NULL, 0, &valid);
    for (size_t i = 0; i < TC_ARRAY_LEN(tx_cases); i++) {
        tc_block bad;
        block_copy(&bad, &valid);
        tx_cases[i].mutate(&bad.txs[0].tx, &spent);
        reroot(&bad);
        expect_refused(&bad, tx_cases[i].code, tx_cases[i].name);
        tc_block_deinit(&bad);
    }
    accept(&valid);
    tc_block_deinit(&valid);
    tc_tx_deinit(&txs[0]);
    tc_tx_deinit(&txs[1]);
}

Test(chain, two_transactions_spending_one_outpoint_conflict)
{
    coin coins[4];
    tc_tx tx, twin;
    tc_block valid, bad;
    tc_addr_hash to, other;
    open_default();
    two_blocks_of_transfers(coins);
    coin copy = coins[0];
    ts_chain_addr(&F, "wallet", 5, &to);
    ts_chain_addr(&F, "wallet", 6, &other);
    pay(&coins[0], &to, 10 * TC_UNITS_PER_TIME, &tx);
    pay(&copy, &other, 20 * TC_UNITS_PER_TIME, &twin);
    build(&twin, 1, NULL, 0, &bad);
    tc_block_deinit(&bad); /* control: the twin alone is a valid block */
    build(&tx, 1, NULL, 0, &valid);
    block_copy(&bad, &valid);
    append_tx(&bad, &twin);
    expect_refused(&bad, TC_EBLK_CONFLICT, "a second spend of one outpoint");
    tc_block_deinit(&bad);
    snap before;
    snap_take(&before);
    tc_tx pair[2] = {tx, twin};
    cr_assert_eq(ts_chain_build(&F, pair, 2, NULL, 0, &bad), TC_EBLK_CONFLICT,
                 "build refuses the pair with TC_EBLK_CONFLICT");
    expect_unchanged(&before, "conflicting build");
    accept(&valid);
    tc_block_deinit(&valid);
    tc_tx_deinit(&tx);
    tc_tx_deinit(&twin);
}

Test(chain, a_transaction_may_spend_an_output_of_an_earlier_one_in_its_block)
{
    tc_tx first, second;
    tc_keypair w4;
    tc_addr_hash a4, a5;
    tc_utxo_entry e;
    open_default();
    coin c = wallet_coin(0);
    cr_assert_eq(tc_genesis_key(F.master, "wallet", 4, &w4), 0, "tc_genesis_key returns 0");
    addr_of(&w4, &a4);
    ts_chain_addr(&F, "wallet", 5, &a5);
    pay(&c, &a4, 50 * TC_UNITS_PER_TIME, &first);
    coin mid = {.kp = w4, .amount = 50 * TC_UNITS_PER_TIME};
    tc_tx_id(&first, &mid.op.txid);
    pay(&mid, &a5, 20 * TC_UNITS_PER_TIME, &second);
    snap before;
    snap_take(&before);
    tc_block bad;
    tc_tx reversed[2] = {second, first};
    cr_assert_eq(ts_chain_build(&F, reversed, 2, NULL, 0, &bad), TC_ETX_MISSING_INPUT,
                 "spending an output before it exists: TC_ETX_MISSING_INPUT");
    expect_unchanged(&before, "reversed order");
    tc_tx both[2] = {first, second};
    advance(both, 2, NULL, 0);
    tc_outpoint spent = {.index = 0};
    tc_tx_id(&first, &spent.txid);
    cr_assert_eq(utxo_get(&spent, &e), TC_ETX_SPENT_INPUT, "the intermediate output is spent");
    cr_assert_eq(utxo_get(&mid.op, &e), 0, "the second transaction's change exists");
    cr_assert_eq(e.amount, mid.amount, "with the change amount");
    tc_tx_deinit(&first);
    tc_tx_deinit(&second);
}

Test(chain, too_many_transactions)
{
    ts_chain_opts o = default_opts();
    o.block_txs_max = 3;
    open_chain(&o);
    tc_tx txs[4];
    tc_block valid, bad;
    for (uint32_t j = 0; j < 4; j++) {
        coin c = wallet_coin(j);
        tc_addr_hash to;
        ts_chain_addr(&F, "wallet", 7, &to);
        pay(&c, &to, 10 * TC_UNITS_PER_TIME, &txs[j]);
    }
    snap before;
    snap_take(&before);
    cr_assert_eq(ts_chain_build(&F, txs, 4, NULL, 0, &bad), TC_ETOOLONG,
                 "build refuses 4 transactions over block_txs_max 3");
    expect_unchanged(&before, "oversized build");
    build(txs, 3, NULL, 0, &valid);
    block_copy(&bad, &valid);
    append_tx(&bad, &txs[3]);
    expect_refused(&bad, TC_ETOOLONG, "4 transactions, block_txs_max 3");
    tc_block_deinit(&bad);
    accept(&valid);
    cr_assert_eq(valid.tx_count, 3, "exactly block_txs_max transactions apply");
    tc_block_deinit(&valid);
    for (uint32_t j = 0; j < 4; j++)
        tc_tx_deinit(&txs[j]);
}

/* ---- block size ---- */

static size_t encoded_size(const tc_block *b)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    cr_assert_eq(tc_block_encode_alloc(b, &bytes, &len), 0, "the block encodes");
    free(bytes);
    return len;
}

/* Grows b by exactly extra bytes (>= 76) with filler the chain does not read yet: one handoff
 * of zero txids (76 + 32 per txid) and bytes of the first transaction's fincert bitmap. */
static void pad_block(tc_block *b, size_t extra)
{
    const size_t handoff_base = 4 + 4 + 4 + TC_SIG_SIZE;
    cr_assert_geq(extra, handoff_base, "padding needs at least %zu bytes", handoff_base);
    size_t txids = (extra - handoff_base) / TC_HASH_SIZE;
    size_t bitmap = (extra - handoff_base) % TC_HASH_SIZE;
    cr_assert_eq(b->handoff_count, 0, "the block carries no handoff yet");
    b->handoffs = calloc(1, sizeof(*b->handoffs));
    cr_assert_not_null(b->handoffs, "the allocation succeeds");
    b->handoff_count = 1;
    b->handoffs[0].txid_count = (uint32_t)txids;
    b->handoffs[0].txids = calloc(txids ? txids : 1, TC_HASH_SIZE);
    cr_assert_not_null(b->handoffs[0].txids, "the allocation succeeds");
    cr_assert_gt(b->tx_count, 0, "the block has a transaction to carry the bitmap");
    tc_fincert *cert = &b->txs[0].cert;
    cr_assert_eq(cert->bitmap_len, 0, "the bitmap is empty yet");
    cert->bitmap = calloc(bitmap ? bitmap : 1, 1);
    cr_assert_not_null(cert->bitmap, "the allocation succeeds");
    cert->bitmap_len = (uint32_t)bitmap;
    reroot(b);
}

static void pay_two(tc_tx txs[2])
{
    for (uint32_t j = 0; j < 2; j++) {
        coin c = wallet_coin(j);
        tc_addr_hash to;
        ts_chain_addr(&F, "wallet", 3, &to);
        pay(&c, &to, 10 * TC_UNITS_PER_TIME, &txs[j]);
    }
}

Test(chain, a_block_over_block_size_max_is_refused)
{
    const uint32_t limit = 8192;
    ts_chain_opts o = default_opts();
    o.block_size_max = limit;
    open_chain(&o);
    advance_to(2);
    tc_tx txs[2];
    tc_block valid, bad;
    pay_two(txs);
    build(txs, 2, NULL, 0, &valid);
    size_t size = encoded_size(&valid);
    cr_assert_lt(size + 76, limit, "the valid block (%zu bytes) leaves room to pad", size);
    block_copy(&bad, &valid);
    pad_block(&bad, limit + 1 - size);
    cr_assert_eq(encoded_size(&bad), limit + 1, "the padded block is one byte over the limit");
    expect_refused(&bad, TC_ETX_SIZE, "one byte over block_size_max");
    tc_block_deinit(&bad);
    accept(&valid);
    tc_block_deinit(&valid);
    tc_tx_deinit(&txs[0]);
    tc_tx_deinit(&txs[1]);
}

/* Builds block 3 (two transfers) on a fresh chain whose block_size_max is limit (0: default):
 * returns tc_chain_build's code and, on success, the block's size. */
static int build_third_block(uint32_t limit, size_t *size_out)
{
    ts_chain_opts o = default_opts();
    o.block_size_max = limit;
    open_chain(&o);
    advance_to(2);
    tc_tx txs[2];
    tc_block b;
    pay_two(txs);
    int rc = ts_chain_build(&F, txs, 2, NULL, 0, &b);
    if (rc == 0) {
        *size_out = encoded_size(&b);
        accept(&b);
        tc_block_deinit(&b);
    }
    tc_tx_deinit(&txs[0]);
    tc_tx_deinit(&txs[1]);
    ts_chain_close(&F);
    return rc;
}

/* The builder honours the size rule too, so what a proposer builds its peers accept. */
Test(chain, build_stops_at_block_size_max_exactly)
{
    size_t size = 0, again = 0;
    cr_assert_eq(build_third_block(0, &size), 0, "block 3 builds under the default limit");
    cr_assert_eq(build_third_block((uint32_t)size, &again), 0,
                 "a block of exactly block_size_max (%zu) builds and applies", size);
    cr_assert_eq(again, size, "the same block has the same size under another genesis");
    cr_assert_eq(build_third_block((uint32_t)size - 1, &again), TC_ETX_SIZE,
                 "one byte over block_size_max: build returns TC_ETX_SIZE");
}

/* ---- rewards ---- */

/* The reward outputs of PROTOCOL 8 computed here independently: signers of c (indexes into the
 * parent's set) by weight, in index order, then the remainder to the proposer's owner. */
static uint32_t expected_rewards(const tc_commit *c, uint32_t parent_epoch, uint32_t epoch,
                                 uint32_t proposer, uint64_t amount, tc_txout *out)
{
    const tc_vset *pv;
    uint64_t signed_weight = 0, paid = 0;
    uint32_t n = 0;
    cr_assert_eq(tc_chain_vset(F.chain, parent_epoch, &pv), 0, "tc_chain_vset returns 0");
    for (uint32_t i = 0; i < c->sig_count; i++)
        signed_weight += pv->members[c->sigs[i].validator].weight;
    for (uint32_t i = 0; i < c->sig_count; i++) {
        const tc_vset_member *m = &pv->members[c->sigs[i].validator];
        uint64_t share = (uint64_t)((u128)amount * m->weight / signed_weight);
        if (share == 0)
            continue; /* no output for a zero share */
        uint32_t g = genesis_index(&m->key);
        paid += share;
        out[n].amount = share;
        ts_chain_addr(&F, "owner", g, &out[n++].addr);
    }
    if (amount > paid) {
        out[n].amount = amount - paid;
        ts_chain_addr(&F, "owner", member_genesis_index(epoch, proposer), &out[n++].addr);
    }
    return n;
}

static void expect_rewards(const tc_block *b, const tc_txout *want, uint32_t n, uint64_t amount)
{
    uint64_t sum = 0;
    cr_assert_eq(b->reward_count, n, "block %llu has %u reward outputs",
                 (unsigned long long)b->header.height, n);
    for (uint32_t i = 0; i < n; i++) {
        cr_assert_eq(b->rewards[i].amount, want[i].amount, "reward %u is %llu units", i,
                     (unsigned long long)want[i].amount);
        cr_assert_arr_eq(b->rewards[i].addr.b, want[i].addr.b, TC_ADDR_HASH_SIZE,
                         "reward %u goes to the expected owner", i);
        sum += b->rewards[i].amount;
    }
    cr_assert_eq(sum, amount, "the rewards sum to block_reward + fees = %llu",
                 (unsigned long long)amount);
}

static uint64_t signers_mask(const tc_vset *vs, uint8_t tier, uint32_t count)
{
    uint64_t mask = 0;
    for (uint32_t i = 0; i < vs->count && count > 0; i++) {
        if (vs->members[i].tier == tier) {
            mask |= UINT64_C(1) << i;
            count--;
        }
    }
    cr_assert_eq(count, 0, "enough members of tier %u", tier);
    return mask;
}

static void use_commit(uint64_t signers)
{
    tc_hash tip = tip_hash();
    tc_commit c;
    cr_assert_eq(ts_chain_sign_commit(&F, tip_height(), 0, &tip, signers, &c), 0,
                 "ts_chain_sign_commit returns 0");
    tc_commit_deinit(&F.commit);
    F.commit = c;
}

/* One gold (weight 100) and three bronze (1): W 103, Q 69. */
Test(chain, rewards_split_by_signer_weight_with_the_remainder_to_the_proposer)
{
    static const uint8_t tiers[] = {TC_TIER_GOLD, TC_TIER_BRONZE, TC_TIER_BRONZE, TC_TIER_BRONZE};
    ts_chain_opts o = default_opts();
    o.tiers = tiers;
    open_chain(&o);
    const tc_vset *vs;
    cr_assert_eq(tc_chain_vset(F.chain, 0, &vs), 0, "tc_chain_vset returns 0");
    cr_assert_eq(vs->weight_total, 103, "W = 100 + 3 x 1");
    cr_assert_eq(tc_vset_quorum(vs), 69, "Q = floor(2W/3) + 1 = 69");
    uint64_t gold = signers_mask(vs, TC_TIER_GOLD, 1), bronze = signers_mask(vs, TC_TIER_BRONZE, 3);
    uint64_t two_bronze = signers_mask(vs, TC_TIER_BRONZE, 2);
    advance_to(1);

    use_commit(bronze); /* weight 3 < Q */
    snap before;
    snap_take(&before);
    tc_block b;
    cr_assert_eq(ts_chain_build(&F, NULL, 0, NULL, 0, &b), TC_EBLK_COMMIT,
                 "three bronze signers (weight 3) are below Q 69");
    expect_unchanged(&before, "bronze-only commit");

    use_commit(gold | two_bronze); /* weight 102 */
    tc_tx txs[2];
    pay_two(txs);
    uint64_t amount = prof()->block_reward + tx_fee(&txs[0], F.genesis.outputs[0].amount) +
                      tx_fee(&txs[1], F.genesis.outputs[1].amount);
    build(txs, 2, NULL, 0, &b);
    tc_txout want[8];
    uint32_t n = expected_rewards(&F.commit, 0, 0, b.header.proposer, amount, want);
    cr_assert_eq(n, 4, "three signer outputs and a non-zero remainder");
    expect_rewards(&b, want, n, amount);
    cr_assert_gt(b.rewards[n - 1].amount, 0, "the proposer's remainder is positive");
    accept(&b);
    tc_chain_supply s;
    cr_assert_eq(tc_chain_supply_get(F.chain, &s), 0, "tc_chain_supply_get returns 0");
    cr_assert_eq(s.fees_total, amount - prof()->block_reward, "fees_total counts both fees");
    tc_block_deinit(&b);
    tc_tx_deinit(&txs[0]);
    tc_tx_deinit(&txs[1]);

    use_commit(gold); /* weight 100 >= Q: the gold takes all, no remainder */
    build(NULL, 0, NULL, 0, &b);
    n = expected_rewards(&F.commit, 0, 0, b.header.proposer, prof()->block_reward, want);
    cr_assert_eq(n, 1, "a single signer leaves no remainder");
    expect_rewards(&b, want, n, prof()->block_reward);
    accept(&b);
    tc_block_deinit(&b);
}

/* A reward output is an ordinary output its owner can spend. */
Test(chain, reward_outputs_are_spendable_by_their_owner)
{
    open_default();
    advance_to(2);
    tc_block b2;
    cr_assert_eq(tc_chain_block_at(F.chain, 2, &b2), 0, "block 2 reads back");
    const tc_vset *vs;
    cr_assert_eq(tc_chain_vset(F.chain, 0, &vs), 0, "tc_chain_vset returns 0");
    tc_pubkey key0 = vs->members[0].key;
    coin c = {.amount = b2.rewards[0].amount};
    cr_assert_eq(tc_genesis_key(F.master, "owner", genesis_index(&key0), &c.kp), 0,
                 "tc_genesis_key returns 0");
    tc_block_reward_txid(2, &c.op.txid);
    c.op.index = 0;
    tc_addr_hash to;
    tc_tx tx;
    ts_chain_addr(&F, "wallet", 0, &to);
    pay(&c, &to, 1 * TC_UNITS_PER_TIME, &tx);
    advance(&tx, 1, NULL, 0);
    tc_utxo_entry e;
    cr_assert_eq(utxo_get(&c.op, &e), 0, "the owner's change exists");
    cr_assert_eq(e.amount, c.amount, "holding the reward less payment and fee");
    tc_tx_deinit(&tx);
    tc_block_deinit(&b2);
}

Test(chain, supply_balances_after_every_block)
{
    open_default();
    coin coins[4];
    two_blocks_of_transfers(coins); /* advance() checks the equation after each block */
    for (int k = 0; k < 10; k++) {
        tc_tx tx;
        tc_addr_hash to;
        ts_chain_addr(&F, "wallet", (uint32_t)k % 8, &to);
        pay(&coins[k % 4], &to, 3 * TC_UNITS_PER_TIME, &tx);
        advance(&tx, 1, NULL, 0);
        tc_tx_deinit(&tx);
    }
    tc_chain_supply s;
    cr_assert_eq(tc_chain_supply_get(F.chain, &s), 0, "tc_chain_supply_get returns 0");
    cr_assert_eq(s.genesis_supply, 8 * F.genesis.outputs[0].amount + 4 * prof()->collateral_bronze,
                 "genesis supply is the wallets plus the collateral");
    cr_assert_eq(s.rewards_total, 12 * prof()->block_reward, "twelve block rewards");
    cr_assert_eq(s.burned_total, 0, "nothing burned");
}

/* ---- registrations and retirements ---- */

Test(chain, a_registration_joins_the_set_of_the_next_epoch)
{
    open_default();
    cr_assert_eq(vset_count(1), 4, "before the registration, epoch 1 would have 4 validators");
    coin c = wallet_coin(0);
    tc_tx reg;
    make_register(&c, 4, &reg);
    tc_outpoint collateral = {.index = 0};
    tc_tx_id(&reg, &collateral.txid);
    advance(&reg, 1, NULL, 0);
    const tc_pubkey *key = &F.vkeys[4].pub;
    cr_assert(!vset_has(0, key), "not in the set of epoch 0, where it registered");
    cr_assert(vset_has(1, key), "in the set of epoch 1");
    cr_assert_eq(vset_count(1), 5, "epoch 1 has 5 validators");
    tc_utxo_entry e;
    cr_assert_eq(utxo_get(&collateral, &e), 0, "the collateral is unspent");
    cr_assert_eq(e.flags, TC_UTXO_COLLATERAL, "and flagged as collateral");
    cr_assert_eq(e.amount, prof()->collateral_bronze, "worth the bronze collateral");

    coin dup = wallet_coin(1), again = wallet_coin(2);
    tc_tx dup_genesis, dup_new;
    make_register(&dup, 0, &dup_genesis);
    make_register(&again, 4, &dup_new);
    expect_tx_refused(&dup_genesis, TC_EMN_DUPLICATE, "a genesis key registered again");
    expect_tx_refused(&dup_new, TC_EMN_DUPLICATE, "a registered key registered again");

    coin locked = {.kp = c.kp, .op = collateral, .amount = prof()->collateral_bronze};
    tc_tx spend;
    tc_addr_hash to;
    ts_chain_addr(&F, "wallet", 5, &to);
    pay(&locked, &to, 10 * TC_UNITS_PER_TIME, &spend);
    expect_tx_refused(&spend, TC_ETX_COLLATERAL, "a transfer of fresh collateral");

    /* From epoch 1 on it signs commits and earns its share. */
    advance_to(10);
    tc_block b10;
    tc_addr_hash owner;
    addr_of(&c.kp, &owner);
    cr_assert_eq(tc_chain_block_at(F.chain, 10, &b10), 0, "tc_chain_block_at returns 0");
    cr_assert_eq(b10.header.last_commit.sig_count, 5, "five signers certify block 9");
    bool paid = false;
    for (uint32_t i = 0; i < b10.reward_count; i++)
        paid |= memcmp(b10.rewards[i].addr.b, owner.b, TC_ADDR_HASH_SIZE) == 0;
    cr_assert(paid, "block 10 pays the new masternode's owner");
    tc_block_deinit(&b10);
    tc_tx_deinit(&spend);
    tc_tx_deinit(&dup_genesis);
    tc_tx_deinit(&dup_new);
    tc_tx_deinit(&reg);
}

/* Gives owner `mn` a coin of 10 TIME from wallet 7 in a block of its own. */
static coin fund_owner(uint32_t mn)
{
    coin w = wallet_coin(7), c;
    tc_tx tx;
    tc_addr_hash to;
    cr_assert_eq(tc_genesis_key(F.master, "owner", mn, &c.kp), 0, "tc_genesis_key returns 0");
    addr_of(&c.kp, &to);
    pay(&w, &to, 10 * TC_UNITS_PER_TIME, &tx);
    tc_tx_id(&tx, &c.op.txid);
    c.op.index = 0;
    c.amount = 10 * TC_UNITS_PER_TIME;
    advance(&tx, 1, NULL, 0);
    tc_tx_deinit(&tx);
    return c;
}

Test(chain, retirement_leaves_at_the_next_epoch_and_releases_collateral_there)
{
    open_default();
    coin owner = fund_owner(3); /* block 1 */
    const tc_pubkey *key = &F.genesis.mns[3].key;
    coin stranger = wallet_coin(1);
    tc_tx by_stranger, unknown, retire, again;
    make_retire(&stranger, key, &by_stranger);
    expect_tx_refused(&by_stranger, TC_EMN_NOT_OWNER, "retired by a non-owner");
    stranger = wallet_coin(1);
    make_retire(&stranger, &F.vkeys[20].pub, &unknown);
    expect_tx_refused(&unknown, TC_EMN_UNKNOWN, "retirement of an unknown key");
    make_retire(&owner, key, &retire);
    cr_assert_eq(vset_count(1), 4, "before the retirement, epoch 1 would have 4 validators");
    advance(&retire, 1, NULL, 0); /* block 2, epoch 0 */
    cr_assert_eq(vset_count(1), 3, "after it, 3");
    cr_assert_eq(mn_get(key).retire_epoch, 1, "retire_epoch = epoch(2) + 1 = 1");
    coin twice = owner;
    make_retire(&twice, key, &again);
    expect_tx_refused(&again, TC_EMN_UNKNOWN, "a second retirement");
    cr_assert(vset_has(0, key), "still a validator in epoch 0");
    cr_assert(!vset_has(1, key), "gone from the set of epoch 1");

    tc_outpoint collateral;
    collateral_of(3, &collateral);
    coin locked = {.op = collateral, .amount = prof()->collateral_bronze};
    cr_assert_eq(tc_genesis_key(F.master, "owner", 3, &locked.kp), 0, "tc_genesis_key returns 0");
    tc_tx spend;
    tc_addr_hash to;
    ts_chain_addr(&F, "wallet", 0, &to);
    pay(&locked, &to, 10 * TC_UNITS_PER_TIME, &spend);
    advance_to(6);
    expect_tx_refused(&spend, TC_ETX_COLLATERAL, "collateral at height 7, last of epoch 0");
    advance_to(7);
    tc_utxo_entry e;
    cr_assert_eq(utxo_get(&collateral, &e), 0, "utxo_get returns 0");
    cr_assert_eq(e.flags, TC_UTXO_COLLATERAL, "still locked at the end of epoch 0");
    tc_block b8;
    build(&spend, 1, NULL, 0, &b8); /* height 8: the first block of epoch 1 */
    accept(&b8);
    cr_assert_eq(utxo_get(&collateral, &e), TC_ETX_SPENT_INPUT, "spent at height 8");
    tc_addr_hash owner3;
    addr_of(&owner.kp, &owner3);
    bool paid = false;
    for (uint32_t i = 0; i < b8.reward_count; i++)
        paid |= memcmp(b8.rewards[i].addr.b, owner3.b, TC_ADDR_HASH_SIZE) == 0;
    cr_assert(paid, "its signature on block 7 still earns a share in block 8");
    tc_block_deinit(&b8);
    advance_to(9);
    cr_assert_eq(F.commit.sig_count, 3, "three validators sign in epoch 1");
    tc_tx_deinit(&by_stranger);
    tc_tx_deinit(&unknown);
    tc_tx_deinit(&retire);
    tc_tx_deinit(&again);
    tc_tx_deinit(&spend);
}

/* ---- evidence ---- */

Test(chain, evidence_burns_the_culprits_collateral)
{
    open_default();
    advance_to(2);
    const tc_vset *vs;
    cr_assert_eq(tc_chain_vset(F.chain, 0, &vs), 0, "tc_chain_vset returns 0");
    tc_pubkey key = vs->members[1].key;
    tc_outpoint collateral;
    collateral_of(genesis_index(&key), &collateral);
    tc_evidence ev = evidence_at(2, 1), other = evidence_at(1, 1);
    snap before;
    snap_take(&before);
    advance(NULL, 0, &ev, 1); /* block 3 */
    tc_chain_supply s;
    cr_assert_eq(tc_chain_supply_get(F.chain, &s), 0, "tc_chain_supply_get returns 0");
    cr_assert_eq(s.burned_total, prof()->collateral_bronze, "burned_total = one bronze collateral");
    cr_assert_eq(s.utxo_total,
                 before.supply.utxo_total + prof()->block_reward - prof()->collateral_bronze,
                 "the UTXO total lost the collateral and gained the reward");
    tc_utxo_entry e;
    cr_assert_eq(utxo_get(&collateral, &e), TC_ETX_SPENT_INPUT, "the collateral is spent");
    tc_mn_record rec = mn_get(&key);
    cr_assert(rec.burned, "the record is marked burned");
    cr_assert_eq(rec.retire_epoch, 1, "and retires at epoch 1");
    cr_assert(vset_has(0, &key), "its epoch-0 signatures still count");
    cr_assert(!vset_has(1, &key), "absent from the set of epoch 1");

    tc_block valid, bad;
    snap_take(&before);
    cr_assert_eq(ts_chain_build(&F, NULL, 0, &ev, 1, &bad), TC_EBLK_EVIDENCE,
                 "build refuses evidence included before");
    expect_unchanged(&before, "repeated evidence build");
    build(NULL, 0, NULL, 0, &valid);
    block_copy(&bad, &valid);
    set_evidence(&bad, &ev, 1);
    expect_refused(&bad, TC_EBLK_EVIDENCE, "evidence included in an earlier block");
    tc_block_deinit(&bad);
    block_copy(&bad, &valid);
    set_evidence(&bad, &other, 1);
    expect_refused(&bad, TC_EBLK_EVIDENCE, "new evidence against a burned masternode");
    tc_block_deinit(&bad);
    accept(&valid);
    tc_block_deinit(&valid);
    advance_to(9);
    cr_assert_eq(F.commit.sig_count, 3, "three validators sign in epoch 1");
}

/* Amnesia evidence (a precommit, then a later prevote for another block without a newer
 * proof-of-lock) burns and retires like a double vote. */
Test(chain, amnesia_evidence_burns_the_culprits_collateral)
{
    open_default();
    advance_to(2);
    const tc_vset *vs;
    cr_assert_eq(tc_chain_vset(F.chain, 0, &vs), 0, "tc_chain_vset returns 0");
    tc_pubkey key = vs->members[2].key;
    tc_outpoint collateral;
    collateral_of(genesis_index(&key), &collateral);
    tc_evidence ev = amnesia_at(2, 2, TC_ROUND_NONE), other = amnesia_at(1, 2, 0);
    advance(NULL, 0, &ev, 1); /* block 3 */
    tc_chain_supply s;
    cr_assert_eq(tc_chain_supply_get(F.chain, &s), 0, "tc_chain_supply_get returns 0");
    cr_assert_eq(s.burned_total, prof()->collateral_bronze, "burned_total = one bronze collateral");
    tc_utxo_entry e;
    cr_assert_eq(utxo_get(&collateral, &e), TC_ETX_SPENT_INPUT, "the collateral is spent");
    tc_mn_record rec = mn_get(&key);
    cr_assert(rec.burned, "the record is marked burned");
    cr_assert_eq(rec.retire_epoch, 1, "and retires at epoch 1");
    cr_assert(!vset_has(1, &key), "absent from the set of epoch 1");
    tc_block valid, bad;
    build(NULL, 0, NULL, 0, &valid);
    block_copy(&bad, &valid);
    set_evidence(&bad, &ev, 1);
    expect_refused(&bad, TC_EBLK_EVIDENCE, "amnesia included in an earlier block");
    tc_block_deinit(&bad);
    block_copy(&bad, &valid);
    set_evidence(&bad, &other, 1);
    expect_refused(&bad, TC_EBLK_EVIDENCE, "new amnesia against a burned masternode");
    tc_block_deinit(&bad);
    accept(&valid);
    tc_block_deinit(&valid);
}

/* A retiring masternode equivocates in its last epoch; its collateral is released at the next
 * epoch's first block and spent there before the evidence lands. The evidence is still valid
 * and marks the record burned, burning nothing (mnreg.h: the caller burns the collateral "if
 * still there"). */
Test(chain, evidence_after_the_collateral_was_released_and_spent)
{
    open_default();
    coin owner = fund_owner(3); /* block 1 */
    const tc_pubkey *key = &F.genesis.mns[3].key;
    tc_tx retire, spend;
    make_retire(&owner, key, &retire);
    advance(&retire, 1, NULL, 0); /* block 2 */
    advance_to(7);
    const tc_vset *vs;
    uint32_t index;
    cr_assert_eq(tc_chain_vset(F.chain, 0, &vs), 0, "tc_chain_vset returns 0");
    cr_assert_eq(tc_vset_find(vs, key, &index), 0, "the retiring validator is in epoch 0");
    tc_evidence ev = evidence_at(7, index);
    coin locked = {.amount = prof()->collateral_bronze};
    collateral_of(3, &locked.op);
    cr_assert_eq(tc_genesis_key(F.master, "owner", 3, &locked.kp), 0, "tc_genesis_key returns 0");
    tc_addr_hash to;
    ts_chain_addr(&F, "wallet", 0, &to);
    pay(&locked, &to, 10 * TC_UNITS_PER_TIME, &spend);
    advance(&spend, 1, NULL, 0); /* block 8 releases and spends it */
    advance(NULL, 0, &ev, 1);    /* block 9 */
    tc_chain_supply s;
    cr_assert_eq(tc_chain_supply_get(F.chain, &s), 0, "tc_chain_supply_get returns 0");
    cr_assert_eq(s.burned_total, 0, "nothing was left to burn");
    cr_assert(mn_get(key).burned, "the record is marked burned");
    tc_tx_deinit(&retire);
    tc_tx_deinit(&spend);
}

/* Looks up `count` sets of epochs nobody asked for yet (from *next on), which pushes earlier
 * sets out of the chain's small cache. */
static void churn_vset_cache(uint32_t *next, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        vset_count((*next)++);
}

/* Whatever the validator-set cache holds, the sets a block is checked against (its epoch's and
 * its parent's) stay put while the sets of other epochs are looked up: the parent's at an
 * epoch's first block, and an earlier epoch's for evidence. The churn puts the block's sets
 * at every position of the cache's replacement order. */
Test(chain, validator_sets_stay_put_while_a_block_is_checked)
{
    open_default();
    coin c = wallet_coin(0);
    tc_tx reg;
    make_register(&c, 4, &reg);
    advance(&reg, 1, NULL, 0); /* epoch 1 has 5 validators, epoch 0 has 4 */
    advance_to(9);
    tc_evidence ev = evidence_at(5, 1);
    tc_block b;
    uint32_t next = 100;
    build(NULL, 0, &ev, 1, &b);
    for (uint32_t m = 0; m <= 8; m++) {
        churn_vset_cache(&next, 8);
        vset_count(1);
        churn_vset_cache(&next, m);
        int rc = tc_chain_check(F.chain, &b);
        cr_assert_eq(rc, 0, "evidence of epoch 0 in block 10 checks, churn %u (got %d)", m, rc);
    }
    accept(&b);
    tc_block_deinit(&b);
    advance_to(15);
    ev = evidence_at(6, 2);
    build(NULL, 0, &ev, 1, &b); /* height 16: epoch 2, parent in epoch 1, evidence of 0 */
    for (uint32_t m = 0; m <= 16; m++) {
        churn_vset_cache(&next, 8);
        vset_count(2);
        if (m % 2 == 1)
            vset_count(1);
        churn_vset_cache(&next, m / 2);
        int rc = tc_chain_check(F.chain, &b);
        cr_assert_eq(rc, 0, "the first block of epoch 2 checks, churn %u (got %d)", m, rc);
    }
    accept(&b);
    tc_block_deinit(&b);
    tc_tx_deinit(&reg);
}

/* ---- store faults, crashes, LMDB ---- */

/* A rich block 8 (first of epoch 1): it releases a retired collateral and spends it, carries
 * three transfers, a registration and evidence. Blocks 1..7 fund, retire and register. */
static void build_rich_block(tc_block *b8, tc_tx txs[5])
{
    coin owner = fund_owner(3); /* block 1 */
    const tc_pubkey *key3 = &F.genesis.mns[3].key;
    tc_tx retire, reg;
    make_retire(&owner, key3, &retire);
    advance(&retire, 1, NULL, 0); /* block 2 */
    coin w0 = wallet_coin(0);
    make_register(&w0, 4, &reg);
    advance(&reg, 1, NULL, 0); /* block 3 */
    advance_to(7);
    coin locked = {.amount = prof()->collateral_bronze};
    collateral_of(3, &locked.op);
    cr_assert_eq(tc_genesis_key(F.master, "owner", 3, &locked.kp), 0, "tc_genesis_key returns 0");
    tc_addr_hash to;
    ts_chain_addr(&F, "wallet", 6, &to);
    pay(&locked, &to, 10 * TC_UNITS_PER_TIME, &txs[0]);
    for (uint32_t j = 1; j <= 3; j++) {
        coin c = wallet_coin(j);
        pay(&c, &to, j * TC_UNITS_PER_TIME, &txs[j]);
    }
    coin w5 = wallet_coin(5);
    make_register(&w5, 5, &txs[4]);
    uint32_t culprit = 0; /* any epoch-0 member but the retiree */
    while (member_genesis_index(0, culprit) == 3)
        culprit++;
    tc_evidence ev = evidence_at(7, culprit);
    build(txs, 5, &ev, 1, b8);
    tc_tx_deinit(&retire);
    tc_tx_deinit(&reg);
}

Test(chain, failing_the_nth_store_write_leaves_the_chain_unchanged)
{
    open_default();
    tc_tx txs[5];
    tc_block b8, b9;
    build_rich_block(&b8, txs);
    snap before;
    snap_take(&before);
    const tc_store_mem_faults none = {0};
    uint64_t n = 1;
    for (;; n++) {
        cr_assert_lt(n, 100000, "the apply ends within 100000 writes");
        const tc_store_mem_faults f = {.fail_nth_write = n};
        tc_store_mem_set_faults(F.store, &f);
        int rc = tc_chain_apply(F.chain, &b8);
        tc_store_mem_set_faults(F.store, &none);
        if (rc == 0)
            break;
        cr_assert_eq(rc, TC_ESTORE_FAULT, "write %llu failed: apply returns TC_ESTORE_FAULT (%d)",
                     (unsigned long long)n, rc);
        expect_unchanged(&before, "after a failed write");
    }
    cr_assert_gt(n, 20, "the block took %llu writes, so the loop covered many paths",
                 (unsigned long long)n);
    cr_assert_eq(tc_chain_height(F.chain), 8, "the block applied once the faults ran out");
    expect_balanced();
    use_commit(TS_ALL_SIGNERS);

    build(NULL, 0, NULL, 0, &b9);
    snap_take(&before);
    const tc_store_mem_faults commit_fault = {.fail_nth_commit = 1};
    tc_store_mem_set_faults(F.store, &commit_fault);
    cr_assert_eq(tc_chain_apply(F.chain, &b9), TC_ESTORE_FAULT, "a failed commit is reported");
    tc_store_mem_set_faults(F.store, &none);
    expect_unchanged(&before, "after a failed commit");
    accept(&b9);
    tc_block_deinit(&b8);
    tc_block_deinit(&b9);
    for (int i = 0; i < 5; i++)
        tc_tx_deinit(&txs[i]);
}

Test(chain, a_crash_between_blocks_or_in_a_commit_resumes_at_the_tip)
{
    open_default();
    tc_tx txs[5];
    tc_block b8, b9;
    build_rich_block(&b8, txs);
    snap before;
    snap_take(&before);
    const tc_store_mem_faults commit_fault = {.fail_nth_commit = 1}, none = {0};
    tc_store_mem_set_faults(F.store, &commit_fault);
    cr_assert_eq(tc_chain_apply(F.chain, &b8), TC_ESTORE_FAULT, "the commit fails");
    tc_store_mem_set_faults(F.store, &none);
    cr_assert_eq(ts_chain_restart(&F), 0, "the chain reopens after the crash");
    expect_unchanged(&before, "crash in a commit");
    accept(&b8);
    snap_take(&before);
    uint64_t tip_time = tc_chain_tip_time_ms(F.chain);
    cr_assert_eq(ts_chain_restart(&F), 0, "the chain reopens after a crash between blocks");
    expect_unchanged(&before, "crash between blocks");
    cr_assert_eq(tc_chain_tip_time_ms(F.chain), tip_time, "the tip time survives");
    cr_assert(vset_has(1, &F.vkeys[4].pub), "the registry survives");
    build(NULL, 0, NULL, 0, &b9);
    accept(&b9);
    cr_assert_eq(tc_chain_height(F.chain), 9, "the chain continues at height 9");
    tc_block_deinit(&b8);
    tc_block_deinit(&b9);
    for (int i = 0; i < 5; i++)
        tc_tx_deinit(&txs[i]);
}

Test(chain, lmdb_store_resumes_at_the_tip_after_reopening)
{
    snprintf(lmdb_dir, sizeof(lmdb_dir), "/tmp/tc-test-chain-XXXXXX");
    cr_assert_not_null(mkdtemp(lmdb_dir), "a temporary folder is made");
    ts_chain_opts o = default_opts();
    o.lmdb_dir = lmdb_dir;
    open_chain(&o);
    tc_tx txs[5];
    tc_block b8;
    build_rich_block(&b8, txs);
    accept(&b8);
    snap before;
    snap_take(&before);
    cr_assert_eq(ts_chain_restart(&F), 0, "the LMDB store and the chain reopen");
    expect_unchanged(&before, "LMDB reopen");
    tc_block back;
    cr_assert_eq(tc_chain_block_at(F.chain, 8, &back), 0, "block 8 reads back from LMDB");
    cr_assert_eq(encoded_size(&back), encoded_size(&b8), "with its full size");
    advance_to(10);
    cr_assert_eq(tc_chain_height(F.chain), 10, "the chain continues on LMDB");
    ts_chain_close(&F);
    cr_assert(remove_lmdb_dir(), "the LMDB folder is removed");
    tc_block_deinit(&back);
    tc_block_deinit(&b8);
    for (int i = 0; i < 5; i++)
        tc_tx_deinit(&txs[i]);
}

Test(chain, a_store_of_another_genesis_refuses_to_open)
{
    open_default();
    advance_to(2);
    tc_chain *other = NULL;
    tc_genesis g;
    uint8_t master[TC_SEED_SIZE];
    memcpy(master, F.master, sizeof(master));
    master[0] ^= 1;
    cr_assert_eq(tc_genesis_create(&g, TC_NET_TESTNET, master, 4, NULL, 8,
                                   F.genesis.outputs[0].amount, F.genesis.time_ms),
                 0, "the other genesis is created");
    cr_assert_eq(tc_chain_open(F.store, &g, &F.verifier, &other), TC_EGENESIS,
                 "another seed: TC_EGENESIS");
    cr_assert_null(other, "no chain handle on failure");
    tc_genesis_deinit(&g);
    cr_assert_eq(tc_genesis_create(&g, TC_NET_TESTNET, F.master, 4, NULL, 8,
                                   F.genesis.outputs[0].amount, F.genesis.time_ms),
                 0, "the other genesis is created");
    cr_assert_eq(tc_profile_set(&g.profile, "epoch_blocks", 9), 0, "tc_profile_set returns 0");
    cr_assert_eq(tc_chain_open(F.store, &g, &F.verifier, &other), TC_EGENESIS,
                 "same keys, another epoch length: TC_EGENESIS");
    tc_genesis_deinit(&g);
    cr_assert_eq(tc_chain_open(F.store, &F.genesis, &F.verifier, &other), 0,
                 "its own genesis opens");
    cr_assert_eq(tc_chain_height(other), 2, "at the stored tip, height 2");
    tc_chain_free(other);
}

/* ---- the read side, check, Ed25519, the sticky failed state ---- */

Test(chain, block_at_returns_the_stored_blocks)
{
    open_default();
    coin coins[4];
    uint8_t *want[3] = {NULL, NULL, NULL};
    size_t want_len[3];
    tc_hash hashes[3];
    for (uint32_t j = 0; j < 4; j++)
        coins[j] = wallet_coin(j);
    for (uint32_t h = 0; h < 3; h++) {
        tc_tx tx;
        tc_block b;
        tc_addr_hash to;
        ts_chain_addr(&F, "wallet", 5, &to);
        pay(&coins[h], &to, 7 * TC_UNITS_PER_TIME, &tx);
        build(&tx, 1, NULL, 0, &b);
        cr_assert_eq(tc_block_encode_alloc(&b, &want[h], &want_len[h]), 0,
                     "tc_block_encode_alloc returns 0");
        tc_block_hash(&b.header, &hashes[h]);
        accept(&b);
        tc_block_deinit(&b);
        tc_tx_deinit(&tx);
    }
    for (uint64_t h = 1; h <= 3; h++) {
        tc_block b;
        uint8_t *got = NULL;
        size_t len = 0;
        tc_hash hash;
        cr_assert_eq(tc_chain_block_at(F.chain, h, &b), 0, "block %llu reads",
                     (unsigned long long)h);
        cr_assert_eq(tc_block_encode_alloc(&b, &got, &len), 0, "tc_block_encode_alloc returns 0");
        cr_assert_eq(len, want_len[h - 1], "block %llu has its applied size",
                     (unsigned long long)h);
        cr_assert_arr_eq(got, want[h - 1], len, "block %llu has its applied bytes",
                         (unsigned long long)h);
        tc_block_hash(&b.header, &hash);
        cr_assert_arr_eq(hash.b, hashes[h - 1].b, TC_HASH_SIZE, "and its hash");
        free(got);
        free(want[h - 1]);
        tc_block_deinit(&b);
    }
    tc_hash tip = tip_hash();
    cr_assert_arr_eq(tip.b, hashes[2].b, TC_HASH_SIZE, "the tip is block 3's hash");
    tc_block none;
    cr_assert_eq(tc_chain_block_at(F.chain, 0, &none), TC_ENOTFOUND, "height 0: TC_ENOTFOUND");
    cr_assert_eq(tc_chain_block_at(F.chain, 4, &none), TC_ENOTFOUND,
                 "beyond the tip: TC_ENOTFOUND");
    cr_assert_eq(none.tx_count, 0, "the output is left empty");
}

Test(chain, check_validates_without_applying)
{
    open_default();
    coin coins[4];
    two_blocks_of_transfers(coins);
    tc_tx tx;
    tc_block b;
    tc_addr_hash to;
    ts_chain_addr(&F, "wallet", 5, &to);
    pay(&coins[0], &to, 7 * TC_UNITS_PER_TIME, &tx);
    build(&tx, 1, NULL, 0, &b);
    snap before;
    snap_take(&before);
    cr_assert_eq(tc_chain_check(F.chain, &b), 0, "the valid block checks");
    expect_unchanged(&before, "after check");
    cr_assert_eq(tc_chain_check(F.chain, &b), 0, "and checks again: nothing was spent");
    expect_unchanged(&before, "after a second check");
    accept(&b);
    cr_assert_eq(tc_chain_check(F.chain, &b), TC_EBLK_HEIGHT, "once applied it is not next");
    tc_block_deinit(&b);
    tc_tx_deinit(&tx);
}

/* The whole path with real signatures: transfers, commits, evidence, and refusals of bad or
 * "fast" signatures. */
Test(chain, ed25519_chain)
{
    ts_chain_opts o = default_opts();
    o.scheme = TC_SIG_ED25519;
    open_chain(&o);
    coin coins[4];
    two_blocks_of_transfers(coins);
    tc_tx tx;
    tc_block valid, bad;
    tc_addr_hash to;
    ts_chain_addr(&F, "wallet", 5, &to);
    pay(&coins[0], &to, 7 * TC_UNITS_PER_TIME, &tx);
    tc_evidence ev = evidence_at(2, 2);
    build(&tx, 1, &ev, 1, &valid);
    block_copy(&bad, &valid);
    m_commit_bad_sig(&bad);
    expect_refused(&bad, TC_EBLK_COMMIT, "Ed25519 commit with a flipped byte");
    tc_block_deinit(&bad);
    block_copy(&bad, &valid);
    F.opts.scheme = TC_SIG_FAST; /* sign the commit with the wrong scheme */
    tc_hash tip = tip_hash();
    resign_commit(&bad, tip_height(), &tip, TS_ALL_SIGNERS);
    F.opts.scheme = TC_SIG_ED25519;
    expect_refused(&bad, TC_EBLK_COMMIT, "fast signatures on an Ed25519 chain");
    tc_block_deinit(&bad);
    block_copy(&bad, &valid);
    bad.txs[0].tx.inputs[0].sig.b[10] ^= 1;
    reroot(&bad);
    expect_refused(&bad, TC_ETX_BAD_SIG, "Ed25519 input signature with a flipped byte");
    tc_block_deinit(&bad);
    block_copy(&bad, &valid);
    bad.header.evidence[0].a.sig.b[1] ^= 1;
    expect_refused(&bad, TC_EBLK_EVIDENCE, "Ed25519 evidence with a flipped byte");
    tc_block_deinit(&bad);
    accept(&valid);
    tc_chain_supply s;
    cr_assert_eq(tc_chain_supply_get(F.chain, &s), 0, "tc_chain_supply_get returns 0");
    cr_assert_eq(s.burned_total, prof()->collateral_bronze, "the evidence burned a collateral");
    advance_to(9);
    cr_assert_eq(F.commit.sig_count, 3, "three Ed25519 signers in epoch 1");
    tc_block_deinit(&valid);
    tc_tx_deinit(&tx);
}

/* Money from nowhere (an output written behind the chain's back) breaks the supply equation:
 * the chain refuses to build on it and stays failed (STYLE rule 10). */
Test(chain, a_supply_mismatch_makes_the_chain_sticky_failed)
{
    open_default();
    advance_to(2);
    tc_block b;
    build(NULL, 0, NULL, 0, &b);
    tc_store_txn *t = NULL;
    tc_outpoint op = {.index = 0};
    tc_txout out = {.amount = TC_UNITS_PER_TIME};
    memset(op.txid.b, 0xee, TC_HASH_SIZE);
    cr_assert_eq(tc_store_begin(F.store, true, &t), 0, "tc_store_begin returns 0");
    cr_assert_eq(tc_utxo_add(t, NULL, &op, &out, 2, 0), 0, "tc_utxo_add returns 0");
    cr_assert_eq(tc_store_commit(t), 0, "tc_store_commit returns 0");
    tc_block again;
    cr_assert_eq(ts_chain_build(&F, NULL, 0, NULL, 0, &again), TC_EBLK_SUPPLY,
                 "building on an unbalanced set: TC_EBLK_SUPPLY");
    cr_assert_eq(tc_chain_apply(F.chain, &b), TC_EFAILED, "then every apply is TC_EFAILED");
    cr_assert_eq(tc_chain_check(F.chain, &b), TC_EFAILED, "and every check");
    cr_assert_eq(tc_chain_verify_integrity(F.chain), TC_EBLK_SUPPLY,
                 "the integrity check names the supply");
    cr_assert_eq(tc_chain_height(F.chain), 2, "the tip stays at 2");
    tc_block_deinit(&b);
}

/* ---- epoch handoff (PROTOCOL 11.8) ---- */

#define CLOSING_0 7 /* closing height of epoch 0 with the fixture's 8-block epochs */

static int hash_cmp(const void *a, const void *b)
{
    return memcmp(a, b, TC_HASH_SIZE);
}

/* n distinct txids nobody confirms, sorted. */
static void fake_txids(tc_hash *out, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        tc_hash_tagged(&out[i], "ts/carry", &i, sizeof(i));
    qsort(out, n, TC_HASH_SIZE, hash_cmp);
}

static tc_handoff handoff_of(uint32_t epoch, uint32_t validator, const tc_hash *txids, uint32_t n)
{
    tc_handoff h;
    int rc = ts_chain_handoff(&F, epoch, validator, txids, n, &h);
    cr_assert_eq(rc, 0, "validator %u's handoff of epoch %u signs (got %d)", validator, epoch, rc);
    return h;
}

/* Replaces b's handoffs with copies of hs (the body changes, so the tx root is recomputed). */
static void put_handoffs(tc_block *b, const tc_handoff *hs, uint32_t n)
{
    for (uint32_t i = 0; i < b->handoff_count; i++)
        tc_handoff_deinit(&b->handoffs[i]);
    free(b->handoffs);
    b->handoffs = calloc(n ? n : 1, sizeof(*b->handoffs));
    cr_assert_not_null(b->handoffs, "the allocation succeeds");
    for (uint32_t i = 0; i < n; i++) {
        b->handoffs[i] = hs[i];
        b->handoffs[i].txids = calloc(hs[i].txid_count ? hs[i].txid_count : 1, TC_HASH_SIZE);
        cr_assert_not_null(b->handoffs[i].txids, "the allocation succeeds");
        if (hs[i].txid_count > 0)
            memcpy(b->handoffs[i].txids, hs[i].txids, hs[i].txid_count * TC_HASH_SIZE);
    }
    b->handoff_count = n;
    reroot(b);
}

/* A copy of valid with handoffs hs must be refused with TC_EBLK_HANDOFF. */
static void expect_handoffs_refused(const tc_block *valid, const tc_handoff *hs, uint32_t n,
                                    const char *what)
{
    tc_block bad;
    block_copy(&bad, valid);
    put_handoffs(&bad, hs, n);
    expect_refused(&bad, TC_EBLK_HANDOFF, what);
    tc_block_deinit(&bad);
}

static void expect_carry(uint32_t epoch, const tc_hash *want, uint32_t want_count)
{
    tc_hash *txids = NULL;
    uint32_t n = 0;
    int rc = tc_chain_carry_list(F.chain, epoch, &txids, &n);
    cr_assert_eq(rc, 0, "the carry list of epoch %u reads (got %d)", epoch, rc);
    cr_assert_eq(n, want_count, "epoch %u carries %u txids (got %u)", epoch, want_count, n);
    for (uint32_t i = 0; i < n; i++)
        cr_assert_arr_eq(txids[i].b, want[i].b, TC_HASH_SIZE, "carried txid %u is the expected", i);
    free(txids);
}

Test(chain, a_closing_block_refuses_missing_short_or_invalid_handoffs)
{
    open_default();
    advance_to(CLOSING_0 - 1);
    tc_block valid;
    build(NULL, 0, NULL, 0, &valid);
    cr_assert_eq(valid.handoff_count, 4, "the fixture's closing block carries all four handoffs");
    tc_hash t[3];
    fake_txids(t, 3);
    tc_handoff h[4], dup[4], order[3], lone[3];
    for (uint32_t i = 0; i < 4; i++)
        h[i] = handoff_of(0, i, NULL, 0);
    expect_handoffs_refused(&valid, NULL, 0, "a closing block without handoffs");
    expect_handoffs_refused(&valid, h, 2, "handoffs of weight 2 < Q 3");
    tc_handoff forged[4] = {h[0], h[1], h[2], h[3]};
    forged[2].sig.b[7] ^= 1;
    expect_handoffs_refused(&valid, forged, 4, "a handoff with a bad signature");
    dup[0] = h[0], dup[1] = h[1], dup[2] = h[1], dup[3] = h[2];
    expect_handoffs_refused(&valid, dup, 4, "one validator twice");
    order[0] = h[1], order[1] = h[0], order[2] = h[2];
    expect_handoffs_refused(&valid, order, 3, "handoffs out of validator order");
    lone[0] = h[0], lone[1] = h[1], lone[2] = h[3];
    lone[2].validator = 4; /* past the set */
    expect_handoffs_refused(&valid, lone, 3, "a validator index outside the set");
    tc_handoff later = handoff_of(1, 3, NULL, 0);
    lone[2] = later;
    expect_handoffs_refused(&valid, lone, 3, "a handoff of the next epoch");
    tc_hash unsorted[2] = {t[1], t[0]}, twice[2] = {t[2], t[2]};
    tc_handoff u = handoff_of(0, 3, unsorted, 2), w = handoff_of(0, 3, twice, 2);
    lone[2] = u;
    expect_handoffs_refused(&valid, lone, 3, "txids out of order (signed as such)");
    lone[2] = w;
    expect_handoffs_refused(&valid, lone, 3, "one txid twice in a handoff");

    tc_block none;
    snap before;
    snap_take(&before);
    int rc = ts_chain_build_handoffs(&F, NULL, 0, NULL, 0, h, 2, &none);
    cr_assert_eq(rc, TC_EBLK_HANDOFF, "building with weight 2 < Q: TC_EBLK_HANDOFF (got %d)", rc);
    rc = ts_chain_build_handoffs(&F, NULL, 0, NULL, 0, NULL, 0, &none);
    cr_assert_eq(rc, TC_EBLK_HANDOFF, "building without handoffs: TC_EBLK_HANDOFF (got %d)", rc);
    expect_unchanged(&before, "failed builds");
    accept(&valid);
    expect_carry(0, NULL, 0);
    tc_block_deinit(&valid);
    for (uint32_t i = 0; i < 4; i++)
        tc_handoff_deinit(&h[i]);
    tc_handoff_deinit(&later);
    tc_handoff_deinit(&u);
    tc_handoff_deinit(&w);
}

/* Handoffs belong to closing blocks only: elsewhere even a valid quorum of them is refused. */
Test(chain, a_block_other_than_the_closing_one_carries_no_handoff)
{
    open_default();
    advance_to(2);
    tc_handoff h[4];
    for (uint32_t i = 0; i < 4; i++)
        h[i] = handoff_of(0, i, NULL, 0);
    tc_block b3;
    build(NULL, 0, NULL, 0, &b3);
    cr_assert_eq(b3.handoff_count, 0, "block 3 carries none");
    expect_handoffs_refused(&b3, h, 1, "block 3 with one handoff");
    expect_handoffs_refused(&b3, h, 4, "block 3 with a quorum of handoffs");
    tc_block again;
    int rc = ts_chain_build_handoffs(&F, NULL, 0, NULL, 0, h, 4, &again);
    cr_assert_eq(rc, TC_EBLK_HANDOFF, "building block 3 with handoffs fails (got %d)", rc);
    accept(&b3);
    tc_block_deinit(&b3);
    advance_to(CLOSING_0 - 2);
    tc_block b6; /* the block before the closing one: handoffs are signed after it, not in it */
    build(NULL, 0, NULL, 0, &b6);
    expect_handoffs_refused(&b6, h, 4, "the block before the closing one with handoffs");
    accept(&b6);
    tc_block_deinit(&b6);
    advance_to(CLOSING_0);
    tc_block b8;
    build(NULL, 0, NULL, 0, &b8);
    expect_handoffs_refused(&b8, h, 4, "the first block of epoch 1 with epoch 0's handoffs");
    accept(&b8);
    tc_block_deinit(&b8);
    for (uint32_t i = 0; i < 4; i++)
        tc_handoff_deinit(&h[i]);
}

/* Weight, not heads: one gold (100) of W 103 reaches Q 69 alone, three bronze (3) do not. */
Test(chain, handoff_quorum_is_by_weight)
{
    static const uint8_t tiers[4] = {TC_TIER_GOLD, TC_TIER_BRONZE, TC_TIER_BRONZE, TC_TIER_BRONZE};
    ts_chain_opts o = default_opts();
    o.tiers = tiers;
    open_chain(&o);
    advance_to(CLOSING_0 - 1);
    const tc_vset *vs;
    cr_assert_eq(tc_chain_vset(F.chain, 0, &vs), 0, "the set of epoch 0 builds");
    uint32_t gold = UINT32_MAX;
    for (uint32_t i = 0; i < vs->count; i++)
        gold = vs->members[i].weight == 100 ? i : gold;
    cr_assert_lt(gold, 4, "the gold validator is in the set");
    tc_handoff g = handoff_of(0, gold, NULL, 0), bronze[3];
    for (uint32_t i = 0, k = 0; i < 4; i++)
        if (i != gold)
            bronze[k++] = handoff_of(0, i, NULL, 0);
    tc_block valid, solo;
    build(NULL, 0, NULL, 0, &valid);
    expect_handoffs_refused(&valid, bronze, 3, "three bronze handoffs: weight 3 < Q 69");
    int rc = ts_chain_build_handoffs(&F, NULL, 0, NULL, 0, &g, 1, &solo);
    cr_assert_eq(rc, 0, "the gold handoff alone builds (got %d)", rc);
    cr_assert_eq(solo.handoff_count, 1, "the block carries the one handoff");
    accept(&solo);
    expect_carry(0, NULL, 0);
    tc_block_deinit(&valid);
    tc_block_deinit(&solo);
    tc_handoff_deinit(&g);
    for (uint32_t i = 0; i < 3; i++)
        tc_handoff_deinit(&bronze[i]);
}

/* The carry list is the union of the handoffs' txids, sorted, without the ones the closing block
 * or an earlier one confirmed; it is chain data: atomic with the block, and kept across a
 * restart. */
Test(chain, the_closing_block_stores_the_union_of_its_handoffs_as_the_carry_list)
{
    open_default();
    coin c = wallet_coin(0);
    tc_addr_hash to;
    tc_tx early, late;
    tc_hash *none = NULL, early_id, late_id, t[4];
    uint32_t n = 0;
    ts_chain_addr(&F, "wallet", 5, &to);
    pay(&c, &to, 10 * TC_UNITS_PER_TIME, &early);
    tc_tx_id(&early, &early_id);
    advance(&early, 1, NULL, 0);
    advance_to(CLOSING_0 - 1);
    cr_assert_eq(tc_chain_carry_list(F.chain, 0, &none, &n), TC_ENOTFOUND,
                 "before the closing block, epoch 0 has no carry list");
    cr_assert(none == NULL && n == 0, "outputs are NULL/0 on failure");
    pay(&c, &to, 10 * TC_UNITS_PER_TIME, &late);
    tc_tx_id(&late, &late_id);
    fake_txids(t, 4);
    tc_hash l0[4] = {t[0], t[2], early_id, late_id}, l1[2] = {t[1], t[2]}, l3[1] = {t[3]};
    qsort(l0, 4, TC_HASH_SIZE, hash_cmp);
    tc_handoff h[4] = {handoff_of(0, 0, l0, 4), handoff_of(0, 1, l1, 2), handoff_of(0, 2, NULL, 0),
                       handoff_of(0, 3, l3, 1)};
    tc_block b;
    int rc = ts_chain_build_handoffs(&F, &late, 1, NULL, 0, h, 4, &b);
    cr_assert_eq(rc, 0, "the closing block builds (got %d)", rc);
    snap before;
    snap_take(&before);
    const tc_store_mem_faults none_faults = {0}, first = {.fail_nth_write = 1};
    tc_store_mem_set_faults(F.store, &first);
    cr_assert_eq(tc_chain_apply(F.chain, &b), TC_ESTORE_FAULT, "a failed write fails the apply");
    tc_store_mem_set_faults(F.store, &none_faults);
    expect_unchanged(&before, "a failed closing block");
    cr_assert_eq(tc_chain_carry_list(F.chain, 0, &none, &n), TC_ENOTFOUND,
                 "and no carry list was left behind");
    accept(&b);
    expect_carry(0, t, 4); /* early (block 1) and late (this block) are confirmed: not carried */
    cr_assert_eq(tc_chain_carry_list(F.chain, 1, &none, &n), TC_ENOTFOUND,
                 "epoch 1 is not closed yet");
    cr_assert_eq(ts_chain_restart(&F), 0, "the chain restarts from its store");
    expect_carry(0, t, 4);
    advance_to(2 * 8 - 1); /* the fixture hands off epoch 1 with empty lists */
    expect_carry(1, NULL, 0);
    expect_carry(0, t, 4);
    tc_block_deinit(&b);
    for (uint32_t i = 0; i < 4; i++)
        tc_handoff_deinit(&h[i]);
    tc_tx_deinit(&early);
    tc_tx_deinit(&late);
}

/* PROTOCOL 11.9: a validator whose vote batches name two transactions spending one outpoint has
 * equivocated on an input lock; the evidence burns its collateral like a double vote, and
 * evidence that does not prove it is refused. */
static void lock_batch(tc_vote_batch *b, uint32_t validator, uint64_t seq, const tc_hash *txid,
                       const tc_keypair *kp)
{
    memset(b, 0, sizeof(*b));
    b->epoch = 0;
    b->validator = validator;
    b->seq = seq;
    b->txid_count = 1;
    b->txids = malloc(sizeof(*b->txids));
    cr_assert_not_null(b->txids);
    b->txids[0] = *txid;
    tc_hash h;
    tc_vote_batch_sign_hash(b, &h);
    tc_sign(F.opts.scheme, kp, &h, &b->sig);
}

Test(chain, double_lock_evidence_burns_the_culprits_collateral)
{
    open_default();
    advance_to(2);
    const tc_vset *vs;
    cr_assert_eq(tc_chain_vset(F.chain, 0, &vs), 0, "tc_chain_vset returns 0");
    uint32_t culprit = 2;
    tc_keypair kp;
    uint32_t gi = genesis_index(&vs->members[culprit].key);
    cr_assert_eq(tc_genesis_key(F.master, "validator", gi, &kp), 0, "the culprit's key");
    /* Two transfers of one coin to different payees. */
    coin c1 = wallet_coin(0), c2 = wallet_coin(0);
    coin w1 = wallet_coin(1), w2 = wallet_coin(2);
    tc_addr_hash to1, to2;
    addr_of(&w1.kp, &to1);
    addr_of(&w2.kp, &to2);
    tc_tx tx1, tx2;
    pay(&c1, &to1, 5 * TC_UNITS_PER_TIME, &tx1);
    pay(&c2, &to2, 7 * TC_UNITS_PER_TIME, &tx2);
    tc_hash id1, id2;
    tc_tx_id(&tx1, &id1);
    tc_tx_id(&tx2, &id2);
    tc_vote_batch b1, b2;
    lock_batch(&b1, culprit, 10, &id1, &kp);
    lock_batch(&b2, culprit, 11, &id2, &kp);
    tc_evidence ev;
    cr_assert_eq(tc_evidence_from_locks(&ev, &b1, &tx1, &b2, &tx2), 0, "the evidence builds");

    /* Forged: the second batch signed by another key does not prove anything. */
    tc_vote_batch forged;
    tc_keypair other;
    cr_assert_eq(tc_genesis_key(F.master, "validator", (gi + 1) % 4, &other), 0, "other key");
    lock_batch(&forged, culprit, 11, &id2, &other);
    tc_evidence bad_ev;
    cr_assert_eq(tc_evidence_from_locks(&bad_ev, &b1, &tx1, &forged, &tx2), 0,
                 "a forged pair still has the right shape");
    snap before;
    snap_take(&before);
    tc_block bad;
    cr_assert_eq(ts_chain_build(&F, NULL, 0, &bad_ev, 1, &bad), TC_EBLK_EVIDENCE,
                 "a batch the culprit did not sign is refused");
    expect_unchanged(&before, "forged double-lock evidence");

    advance(NULL, 0, &ev, 1); /* block 3 */
    tc_chain_supply s;
    cr_assert_eq(tc_chain_supply_get(F.chain, &s), 0, "tc_chain_supply_get returns 0");
    cr_assert_eq(s.burned_total, prof()->collateral_bronze, "one bronze collateral burned");
    tc_mn_record rec = mn_get(&vs->members[culprit].key);
    cr_assert(rec.burned, "the double-locking validator is marked burned");
    cr_assert(!vset_has(1, &rec.key), "and leaves the set at epoch 1");
    tc_evidence_deinit(&ev);
    tc_evidence_deinit(&bad_ev);
    tc_vote_batch_deinit(&b1);
    tc_vote_batch_deinit(&b2);
    tc_vote_batch_deinit(&forged);
    tc_tx_deinit(&tx1);
    tc_tx_deinit(&tx2);
}

/* Kinds 3 and 4: a batch seq or an epoch's handoff signed twice with other content burns like
 * a double vote; the same proof again, or a second proof against the burned culprit, is
 * refused. */
Test(chain, batch_and_handoff_equivocation_burn_the_culprits_collateral)
{
    open_default();
    advance_to(2);
    const tc_vset *vs;
    cr_assert_eq(tc_chain_vset(F.chain, 0, &vs), 0, "tc_chain_vset returns 0");
    tc_keypair kp1, kp2;
    cr_assert_eq(tc_genesis_key(F.master, "validator", genesis_index(&vs->members[1].key), &kp1), 0,
                 "validator 1's key");
    cr_assert_eq(tc_genesis_key(F.master, "validator", genesis_index(&vs->members[2].key), &kp2), 0,
                 "validator 2's key");
    tc_hash x, y;
    memset(x.b, 0x41, TC_HASH_SIZE);
    memset(y.b, 0x42, TC_HASH_SIZE);
    tc_vote_batch b1, b2;
    lock_batch(&b1, 1, 5, &x, &kp1);
    lock_batch(&b2, 1, 5, &y, &kp1); /* seq 5 again, other content */
    tc_evidence ev3, ev4, again;
    cr_assert_eq(tc_evidence_from_batches(&ev3, &b1, &b2), 0, "kind 3 builds");
    tc_handoff h1 = {.epoch = 0, .validator = 2, .txid_count = 1, .txids = &x};
    tc_handoff h2 = {.epoch = 0, .validator = 2, .txid_count = 0, .txids = NULL};
    tc_handoff_sign(&h1, F.opts.scheme, &kp2);
    tc_handoff_sign(&h2, F.opts.scheme, &kp2);
    cr_assert_eq(tc_evidence_from_handoffs(&ev4, &h1, &h2), 0, "kind 4 builds");
    tc_evidence both[2] = {ev3, ev4};
    advance(NULL, 0, both, 2); /* block 3 */
    tc_chain_supply s;
    cr_assert_eq(tc_chain_supply_get(F.chain, &s), 0, "tc_chain_supply_get returns 0");
    cr_assert_eq(s.burned_total, 2 * prof()->collateral_bronze, "two bronze collaterals burned");
    cr_assert(mn_get(&vs->members[1].key).burned, "the batch equivocator is burned");
    cr_assert(mn_get(&vs->members[2].key).burned, "the handoff equivocator is burned");
    cr_assert(!vset_has(1, &vs->members[1].key), "and leaves the set at epoch 1");
    snap before;
    snap_take(&before);
    tc_block bad;
    cr_assert_eq(ts_chain_build(&F, NULL, 0, &ev3, 1, &bad), TC_EBLK_EVIDENCE, "included before");
    expect_unchanged(&before, "kind 3 again");
    /* Another seq's equivocation by the same validator: one collateral burns once. */
    tc_vote_batch b3, b4;
    lock_batch(&b3, 1, 6, &x, &kp1);
    lock_batch(&b4, 1, 6, &y, &kp1);
    cr_assert_eq(tc_evidence_from_batches(&again, &b3, &b4), 0, "kind 3 builds");
    cr_assert_eq(ts_chain_build(&F, NULL, 0, &again, 1, &bad), TC_EBLK_EVIDENCE,
                 "the culprit is burned already");
    expect_unchanged(&before, "a second proof");
    tc_evidence_deinit(&again);
    /* Handoffs of validator 3 signed by another key prove nothing (3 is not burned). */
    h1.validator = h2.validator = 3;
    tc_handoff_sign(&h1, F.opts.scheme, &kp1);
    tc_handoff_sign(&h2, F.opts.scheme, &kp1);
    cr_assert_eq(tc_evidence_from_handoffs(&again, &h1, &h2), 0, "well shaped");
    cr_assert_eq(ts_chain_build(&F, NULL, 0, &again, 1, &bad), TC_EBLK_EVIDENCE,
                 "a handoff the culprit did not sign");
    expect_unchanged(&before, "forged kind 4");
    tc_evidence_deinit(&again);
    tc_evidence_deinit(&ev3);
    tc_evidence_deinit(&ev4);
    tc_vote_batch_deinit(&b1);
    tc_vote_batch_deinit(&b2);
    tc_vote_batch_deinit(&b3);
    tc_vote_batch_deinit(&b4);
}

/* ---- the vetted block ---- */

static uint64_t cache_lookups(const tc_verify_cache *c)
{
    tc_verify_cache_stats st;
    tc_verify_cache_stats_get(c, &st);
    return st.hits + st.misses;
}

/* Applying the block last checked (or built) on this tip repeats none of its transactions'
 * ledger checks; a block other than the vetted one is checked in full, and both apply alike. */
Test(chain, applying_the_vetted_block_repeats_no_signature_check)
{
    ts_chain_opts o = default_opts();
    o.scheme = TC_SIG_ED25519;
    open_chain(&o);
    tc_verify_cache *cache = tc_verify_cache_new(256, TS_CACHE_KEY);
    cr_assert_not_null(cache);
    F.verifier.cache = cache;
    cr_assert_eq(ts_chain_restart(&F), 0, "the chain reopens with the cache");
    advance(NULL, 0, NULL, 0); /* from here on every block carries a last_commit to verify */
    tc_tx txs[2];
    tc_block vetted, other;
    pay_two(txs);
    build(txs, 2, NULL, 0, &vetted);
    cr_assert_eq(tc_chain_check(F.chain, &vetted), 0);
    uint64_t before = cache_lookups(cache);
    accept(&vetted);
    /* What remains is the last_commit's precommits, which every apply verifies. */
    uint64_t commit_only = cache_lookups(cache) - before;
    cr_assert_eq(tc_chain_verify_integrity(F.chain), 0,
                 "the accumulator installed from the vetting pass is the set's");

    /* Vet one block, apply another: the other one gets every check. */
    tc_tx more[2];
    coin c0 = wallet_coin(4), c1 = wallet_coin(5);
    tc_addr_hash to;
    ts_chain_addr(&F, "wallet", 7, &to);
    pay(&c0, &to, 10 * TC_UNITS_PER_TIME, &more[0]);
    pay(&c1, &to, 10 * TC_UNITS_PER_TIME, &more[1]);
    build(more, 2, NULL, 0, &other);
    tc_block empty;
    build(NULL, 0, NULL, 0, &empty); /* now the empty block is the vetted one */
    before = cache_lookups(cache);
    accept(&other);
    cr_assert_eq(cache_lookups(cache) - before, commit_only + 2,
                 "an unvetted block's two inputs are verified, the vetted one's were not");
    tc_block_deinit(&vetted);
    tc_block_deinit(&other);
    tc_block_deinit(&empty);
    for (int i = 0; i < 2; i++) {
        tc_tx_deinit(&txs[i]);
        tc_tx_deinit(&more[i]);
    }
    F.verifier.cache = NULL;
    tc_verify_cache_free(cache);
}

/* The vetted block is run again by comparing its body's bytes with those vetted: a body
 * changed under the vetted header is refused by the check and the apply alike, and the same
 * body, restored, passes both. */
Test(chain, a_changed_body_under_the_vetted_header_is_refused)
{
    open_default();
    tc_tx txs[2];
    tc_block b;
    pay_two(txs);
    build(txs, 2, NULL, 0, &b);
    cr_assert_eq(tc_chain_check(F.chain, &b), 0, "the built block is vetted and passes");
    uint64_t height = tc_chain_height(F.chain);
    b.txs[1].tx.outputs[0].amount--;
    cr_assert_eq(tc_chain_check(F.chain, &b), TC_EBLK_TXROOT, "judged again: the root fails");
    cr_assert_eq(tc_chain_apply(F.chain, &b), TC_EBLK_TXROOT, "applied: the root fails");
    cr_assert_eq(tc_chain_height(F.chain), height, "nothing was applied");
    b.txs[1].tx.outputs[0].amount++;
    cr_assert_eq(tc_chain_check(F.chain, &b), 0, "the vetted body passes again");
    cr_assert_not_null(tc_chain_txids_of(F.chain, &b), "and is still the vetted block");
    accept(&b);
    cr_assert_eq(tc_chain_height(F.chain), height + 1, "the vetted block applied");
    tc_block stored;
    cr_assert_eq(tc_chain_block_at(F.chain, height + 1, &stored), 0);
    uint8_t *want = NULL, *got = NULL;
    size_t want_len = 0, got_len = 0;
    cr_assert_eq(tc_block_encode_alloc(&b, &want, &want_len), 0);
    cr_assert_eq(tc_block_encode_alloc(&stored, &got, &got_len), 0);
    cr_assert_eq(got_len, want_len, "the stored block is %zu bytes", want_len);
    cr_assert_eq(memcmp(got, want, want_len), 0, "the stored block is the applied one");
    free(want);
    free(got);
    tc_block_deinit(&stored);
    tc_block_deinit(&b);
    tc_tx_deinit(&txs[0]);
    tc_tx_deinit(&txs[1]);
}

/* A proof from a verified store vouches for an equal set and no other. */
Test(chain, integrity_against_a_proof_passes_only_for_the_same_set)
{
    open_default();
    cr_assert_eq(tc_chain_verify_integrity(F.chain), 0);
    tc_chain_utxo_proof proof;
    cr_assert_eq(tc_chain_utxo_proof_get(F.chain, &proof), 0);
    cr_assert_eq(tc_chain_verify_integrity_against(F.chain, &proof), 0);
    tc_tx txs[2];
    pay_two(txs);
    advance(txs, 2, NULL, 0);
    cr_assert_eq(tc_chain_verify_integrity_against(F.chain, &proof), TC_ENOTFOUND,
                 "another set: the full check must run");
    cr_assert_eq(tc_chain_utxo_proof_get(F.chain, &proof), 0);
    cr_assert_eq(tc_chain_verify_integrity_against(F.chain, &proof), 0);
    proof.digest.b[0] ^= 1;
    cr_assert_eq(tc_chain_verify_integrity_against(F.chain, &proof), TC_ENOTFOUND,
                 "same META, other entries");
    tc_tx_deinit(&txs[0]);
    tc_tx_deinit(&txs[1]);
}

/* The chain hands out the txids it hashed for the block it vetted or last applied, and for no
 * other block. */
Test(chain, txids_of_the_vetted_and_the_applied_block)
{
    open_default();
    tc_tx txs[2];
    tc_block b, other;
    pay_two(txs);
    build(txs, 2, NULL, 0, &b);
    const tc_hash *ids = tc_chain_txids_of(F.chain, &b);
    cr_assert_not_null(ids, "the block just built is vetted");
    for (uint32_t i = 0; i < 2; i++) {
        tc_hash want;
        tc_tx_id(&b.txs[i].tx, &want);
        cr_assert_arr_eq(ids[i].b, want.b, TC_HASH_SIZE, "txid %u", i);
    }
    accept(&b);
    ids = tc_chain_txids_of(F.chain, &b);
    cr_assert_not_null(ids, "the tip just applied");
    tc_hash want;
    tc_tx_id(&b.txs[1].tx, &want);
    cr_assert_arr_eq(ids[1].b, want.b, TC_HASH_SIZE);
    build(NULL, 0, NULL, 0, &other);
    cr_assert_null(tc_chain_txids_of(F.chain, &b), "forgotten once another block was run");
    cr_assert_not_null(tc_chain_txids_of(F.chain, &other));
    tc_block_deinit(&b);
    tc_block_deinit(&other);
    tc_tx_deinit(&txs[0]);
    tc_tx_deinit(&txs[1]);
}

/* Certificates given to the build are moved into the block before it is vetted, so the block
 * the proposer applies is the vetted one and its tx_root covers them. */
Test(chain, build_moves_certificates_in_and_vets_the_complete_block)
{
    open_default();
    tc_tx txs[2];
    pay_two(txs);
    tc_fincert certs[2] = {{0}};
    for (uint32_t i = 0; i < 2; i++) {
        certs[i].bitmap = calloc(1, 1);
        cr_assert_not_null(certs[i].bitmap);
        certs[i].bitmap[0] = (uint8_t)(0x0f >> i);
        certs[i].bitmap_len = 1;
    }
    const tc_vset *vs;
    uint64_t height = tc_chain_height(F.chain) + 1;
    cr_assert_eq(tc_chain_vset(F.chain, tc_chain_epoch_of(F.chain, height), &vs), 0);
    tc_chain_build_args a = {.txs = txs,
                             .tx_count = 2,
                             .certs = certs,
                             .time_ms = tc_chain_tip_time_ms(F.chain) + TS_BLOCK_STEP_MS,
                             .proposer = (uint32_t)(height % vs->count),
                             .last_commit = &F.commit};
    tc_block b;
    cr_assert_eq(tc_chain_build(F.chain, &a, &b), 0);
    for (uint32_t i = 0; i < 2; i++) {
        cr_assert_null(certs[i].bitmap, "certificate %u moved out of the arguments", i);
        cr_assert_eq(b.txs[i].cert.bitmap_len, 1);
        cr_assert_eq(b.txs[i].cert.bitmap[0], (uint8_t)(0x0f >> i), "certificate %u in place", i);
    }
    tc_hash root;
    cr_assert_eq(tc_block_tx_root(&b, &root), 0);
    cr_assert_arr_eq(root.b, b.header.tx_root.b, TC_HASH_SIZE, "tx_root covers the certificates");
    cr_assert_not_null(tc_chain_txids_of(F.chain, &b), "the complete block is the vetted one");
    accept(&b);
    tc_block_deinit(&b);
    tc_tx_deinit(&txs[0]);
    tc_tx_deinit(&txs[1]);
}

static uint32_t known_calls;

static bool known_all(void *ctx, const tc_tx *tx, tc_hash *txid_out)
{
    (void)ctx;
    tc_tx_id(tx, txid_out);
    known_calls++;
    return true;
}

/* Vouches for everything but hands out made-up txids (0x5a, then a counter): the chain must
 * use the hook's ids. */
static bool known_wrong_id(void *ctx, const tc_tx *tx, tc_hash *txid_out)
{
    (void)ctx;
    (void)tx;
    memset(txid_out->b, 0x5a, TC_HASH_SIZE);
    txid_out->b[1] = (uint8_t)known_calls++;
    return true;
}

/* A transaction the known hook vouches for skips its signature check in blocks; without the
 * hook the same block is refused. */
Test(chain, known_hook_decides_the_signature_check)
{
    open_default();
    tc_tx txs[2];
    pay_two(txs);
    txs[0].inputs[0].sig.b[3] ^= 1;
    tc_block b;
    cr_assert_eq(ts_chain_build(&F, txs, 2, NULL, 0, &b), TC_ETX_BAD_SIG, "control: no hook");
    known_calls = 0;
    tc_chain_set_known(F.chain, known_all, NULL);
    build(txs, 2, NULL, 0, &b);
    cr_assert_eq(known_calls, 2, "asked once per transaction");
    tc_chain_set_known(F.chain, NULL, NULL);
    tc_block empty;
    build(NULL, 0, NULL, 0, &empty); /* b is no longer the vetted block: it is checked again */
    cr_assert_eq(tc_chain_check(F.chain, &b), TC_ETX_BAD_SIG, "the hook removed");
    tc_chain_set_known(F.chain, known_wrong_id, NULL);
    tc_block wrong;
    build(txs, 2, NULL, 0, &wrong);
    const tc_hash *ids = tc_chain_txids_of(F.chain, &wrong);
    cr_assert_not_null(ids);
    cr_assert_eq(ids[0].b[0], 0x5a, "the txid is the hook's, not hashed again");
    tc_chain_set_known(F.chain, NULL, NULL);
    tc_block_deinit(&wrong);
    tc_block_deinit(&b);
    tc_block_deinit(&empty);
    tc_tx_deinit(&txs[0]);
    tc_tx_deinit(&txs[1]);
}
