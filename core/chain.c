/* chain.c — block validation and atomic application (see chain.h for the rules).
 *
 * One function, apply_txn, runs a block through every rule inside an open store transaction.
 * It serves three callers: tc_chain_apply (commit at the end), tc_chain_check (abort at the end)
 * and tc_chain_build (fills rewards and roots instead of checking them, then aborts). So the
 * block a proposer builds is, by construction, the block every validator accepts.
 */
#include "chain.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "finality.h"
#include "ledger.h"
#include "utxo.h"

#define META_GENESIS    "chain/genesis"
#define META_TIP        "chain/tip"    /* u64 height | tip hash | u64 tip time_ms */
#define META_SUPPLY     "chain/supply" /* u64 genesis | u64 rewards | u64 burned | u64 fees */
#define META_CARRY      "chain/carry/" /* + u32 epoch BE -> u32 count | count x txid (chain.h) */
#define TIP_SIZE        (8 + TC_HASH_SIZE + 8)
#define SUPPLY_SIZE     (4 * 8)
#define CARRY_KEY_SIZE  (sizeof(META_CARRY) - 1 + 4)
#define VSET_CACHE_SIZE 4 /* > 2: room beyond the two pinned sets */

typedef struct {
    bool used;
    tc_vset set;
} vset_slot;

struct tc_chain {
    tc_store *store;
    tc_verifier verifier;
    tc_genesis genesis; /* deep copy */
    tc_hash genesis_hash;
    uint64_t height;
    tc_hash tip;
    uint64_t tip_time_ms;
    tc_chain_supply supply; /* as of the tip; utxo_* filled on demand */
    vset_slot vsets[VSET_CACHE_SIZE];
    uint32_t vset_next; /* round-robin victim */
    /* The sets the block being run points to (apply_ctx): never evicted while it runs, since
     * looking up another epoch's set (evidence, the parent's) must not change them under it. */
    const tc_vset *pinned[2];
    bool failed; /* sticky: supply accounting broke (STYLE rule 10) */
    /* The last block that passed every rule on the current tip (tc_chain_check, or built by
     * tc_chain_build), and its txids in body order. Applying that very block next (same parent,
     * same hash: the header's tx_root binds the body) skips the transactions' ledger checks
     * and id hashes, which depend only on the parent's chain state and the body, both
     * unchanged. Any apply forgets it, since the tip moves. */
    bool vetted;
    tc_hash vetted_parent;
    tc_hash vetted_block;
    tc_utxo_meta vetted_utxo;  /* the UTXO set's META after it: applying it folds nothing */
    tc_utxo_meta utxo_scratch; /* META after the block being run; vetted_utxo on success */
    tc_hash *vetted_txids;
    tc_hash *txid_scratch;    /* txids of the block being run; becomes vetted_txids on success */
    const tc_hash *tip_txids; /* the tip's, right after it was applied (one of the two above) */
    uint32_t txid_cap;        /* entries of both arrays */
    /* The vetted block's body encoding, vetted_body_len bytes when vetted_body_ok: running that
     * block again encodes its body and compares the bytes instead of hashing them, since equal
     * bytes hash to the tx_root its vetting checked (a BLAKE2b pass over every transaction and
     * certificate, about 2% of a small cluster's run). body_scratch holds the body being run
     * and becomes vetted_body on success; body_matched says the vetted body was found again in
     * this run, so storing the block copies body_scratch instead of encoding the body again. */
    uint8_t *vetted_body;
    uint8_t *body_scratch;
    size_t vetted_body_cap, vetted_body_len;
    size_t body_scratch_cap, body_scratch_len;
    bool vetted_body_ok, body_scratch_ok, body_matched;
    tc_chain_known_fn known; /* NULL: every transaction gets every check */
    void *known_ctx;
};

/* APPLY commits, CHECK and BUILD roll back; BUILD fills rewards and roots in instead of
 * checking them. */
typedef enum { MODE_APPLY, MODE_CHECK, MODE_BUILD } apply_mode;

/* ---- small encodings of the chain's META records ---- */

static void height_key(uint64_t height, uint8_t key[8])
{
    /* Big-endian, so the BLOCKS table iterates in height order. */
    for (int i = 0; i < 8; i++)
        key[i] = (uint8_t)(height >> (56 - 8 * i));
}

static int meta_put_tip(tc_store_txn *t, uint64_t height, const tc_hash *tip, uint64_t time_ms)
{
    uint8_t v[TIP_SIZE];
    tc_writer w;
    tc_writer_init(&w, v, sizeof(v));
    tc_put_u64(&w, height);
    TC_PUT_HASH(&w, tip);
    tc_put_u64(&w, time_ms);
    TC_ASSERT(w.err == 0 && w.len == sizeof(v));
    return tc_store_put(t, TC_TABLE_META, META_TIP, strlen(META_TIP), v, sizeof(v));
}

static int meta_put_supply(tc_store_txn *t, const tc_chain_supply *s)
{
    uint8_t v[SUPPLY_SIZE];
    tc_writer w;
    tc_writer_init(&w, v, sizeof(v));
    tc_put_u64(&w, s->genesis_supply);
    tc_put_u64(&w, s->rewards_total);
    tc_put_u64(&w, s->burned_total);
    tc_put_u64(&w, s->fees_total);
    TC_ASSERT(w.err == 0 && w.len == sizeof(v));
    return tc_store_put(t, TC_TABLE_META, META_SUPPLY, strlen(META_SUPPLY), v, sizeof(v));
}

static int meta_load(tc_chain *c, tc_store_txn *t)
{
    const void *v;
    size_t n;
    int rc = tc_store_get(t, TC_TABLE_META, META_TIP, strlen(META_TIP), &v, &n);
    if (rc != 0)
        return rc == TC_ENOTFOUND ? TC_ESTORE_CORRUPT : rc;
    tc_reader r;
    tc_reader_init(&r, v, n);
    c->height = tc_get_u64(&r);
    TC_GET_HASH(&r, &c->tip);
    c->tip_time_ms = tc_get_u64(&r);
    if (tc_reader_finish(&r) != 0)
        return TC_ESTORE_CORRUPT;

    rc = tc_store_get(t, TC_TABLE_META, META_SUPPLY, strlen(META_SUPPLY), &v, &n);
    if (rc != 0)
        return rc == TC_ENOTFOUND ? TC_ESTORE_CORRUPT : rc;
    tc_reader_init(&r, v, n);
    c->supply.genesis_supply = tc_get_u64(&r);
    c->supply.rewards_total = tc_get_u64(&r);
    c->supply.burned_total = tc_get_u64(&r);
    c->supply.fees_total = tc_get_u64(&r);
    return tc_reader_finish(&r) == 0 ? 0 : TC_ESTORE_CORRUPT;
}

/* ---- carry lists (chain.h: epoch handoff) ---- */

static void carry_key(uint32_t epoch, uint8_t key[CARRY_KEY_SIZE])
{
    const size_t prefix = sizeof(META_CARRY) - 1;
    memcpy(key, META_CARRY, prefix);
    for (size_t i = 0; i < 4; i++)
        key[prefix + i] = (uint8_t)(epoch >> (24 - 8 * i)); /* big-endian: epoch order */
}

static int carry_put(tc_store_txn *t, uint32_t epoch, const tc_hash *txids, uint32_t count)
{
    uint8_t key[CARRY_KEY_SIZE];
    size_t len = 4 + (size_t)count * TC_HASH_SIZE;
    uint8_t *v = tc_malloc(len);
    if (v == NULL)
        return TC_ENOMEM;
    tc_store_u32(v, count);
    if (count > 0)
        memcpy(v + 4, txids, (size_t)count * TC_HASH_SIZE);
    carry_key(epoch, key);
    int rc = tc_store_put(t, TC_TABLE_META, key, sizeof(key), v, len);
    free(v);
    return rc;
}

/* Decodes a stored carry list into a heap copy; anything but a strictly increasing list of the
 * stated length is corruption (the chain wrote it from tc_finality_carry_list's output). */
static int carry_decode(const uint8_t *v, size_t n, tc_hash **txids_out, uint32_t *count_out)
{
    if (n < 4)
        return TC_ESTORE_CORRUPT;
    uint32_t count = tc_load_u32(v);
    if ((n - 4) / TC_HASH_SIZE != count || (n - 4) % TC_HASH_SIZE != 0)
        return TC_ESTORE_CORRUPT;
    for (uint32_t i = 1; i < count; i++)
        if (memcmp(v + 4 + (size_t)(i - 1) * TC_HASH_SIZE, v + 4 + (size_t)i * TC_HASH_SIZE,
                   TC_HASH_SIZE) >= 0)
            return TC_ESTORE_CORRUPT;
    if (count == 0)
        return 0;
    tc_hash *txids = tc_malloc((size_t)count * TC_HASH_SIZE);
    if (txids == NULL)
        return TC_ENOMEM;
    memcpy(txids, v + 4, (size_t)count * TC_HASH_SIZE);
    *txids_out = txids;
    *count_out = count;
    return 0;
}

/* ---- genesis ---- */

/* Writes the genesis outputs, collaterals and masternodes into an empty store. */
static int genesis_apply(tc_chain *c, tc_store_txn *t)
{
    const tc_genesis *g = &c->genesis;
    uint32_t outpoints = tc_genesis_outpoint_count(g);
    tc_utxo_meta utxo;
    int rc = tc_utxo_meta_load(t, c->verifier.elements, &utxo);
    for (uint32_t i = 0; rc == 0 && i < outpoints; i++) {
        tc_outpoint op = {.txid = c->genesis_hash, .index = i};
        tc_txout out;
        rc = tc_genesis_outpoint_txout(g, i, &out);
        bool collateral = i >= g->output_count;
        if (rc == 0)
            rc = tc_utxo_add(t, &utxo, &op, &out, 0, collateral ? TC_UTXO_COLLATERAL : 0);
    }
    for (uint32_t k = 0; rc == 0 && k < g->mn_count; k++) {
        const tc_genesis_mn *m = &g->mns[k];
        tc_mn_record rec = {.key = m->key, .tier = m->tier, .owner = m->owner};
        rec.collateral = (tc_outpoint){.txid = c->genesis_hash, .index = g->output_count + k};
        rec.net_addr_len = (uint8_t)strlen(m->net_addr);
        memcpy(rec.net_addr, m->net_addr, rec.net_addr_len);
        rc = tc_mnreg_register_genesis(t, &g->profile, &rec);
    }
    if (rc == 0)
        rc = tc_utxo_meta_save(t, &utxo);
    c->supply = (tc_chain_supply){0};
    if (rc == 0)
        rc = tc_genesis_supply(g, &c->supply.genesis_supply);
    if (rc == 0)
        rc = meta_put_supply(t, &c->supply);
    if (rc == 0)
        rc = meta_put_tip(t, 0, &c->genesis_hash, g->time_ms);
    if (rc == 0)
        rc = tc_store_put(t, TC_TABLE_META, META_GENESIS, strlen(META_GENESIS), c->genesis_hash.b,
                          TC_HASH_SIZE);
    return rc;
}

static int open_existing_or_init(tc_chain *c)
{
    tc_store_txn *t = NULL;
    const void *v;
    size_t n;
    int rc = tc_store_begin(c->store, true, &t);
    if (rc != 0)
        return rc;
    rc = tc_store_get(t, TC_TABLE_META, META_GENESIS, strlen(META_GENESIS), &v, &n);
    if (rc == TC_ENOTFOUND) {
        rc = genesis_apply(c, t);
        if (rc == 0)
            rc = tc_store_commit(t);
        else
            tc_store_abort(t);
        if (rc == 0) {
            c->height = 0;
            c->tip = c->genesis_hash;
            c->tip_time_ms = c->genesis.time_ms;
        }
        return rc;
    }
    if (rc == 0 && (n != TC_HASH_SIZE || memcmp(v, c->genesis_hash.b, TC_HASH_SIZE) != 0))
        rc = TC_EGENESIS; /* this store holds another network's chain */
    if (rc == 0)
        rc = meta_load(c, t);
    tc_store_abort(t);
    return rc;
}

int tc_chain_open(tc_store *store, const tc_genesis *genesis, const tc_verifier *verifier,
                  tc_chain **out)
{
    TC_ASSERT(store != NULL && genesis != NULL && verifier != NULL && out != NULL);
    *out = NULL;
    tc_chain *c = tc_calloc(1, sizeof(*c));
    if (c == NULL)
        return TC_ENOMEM;
    c->store = store;
    c->verifier = *verifier;
    int rc = tc_genesis_copy(&c->genesis, genesis);
    if (rc == 0) {
        tc_genesis_hash(&c->genesis, &c->genesis_hash);
        rc = open_existing_or_init(c);
    }
    if (rc != 0) {
        tc_chain_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void tc_chain_free(tc_chain *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < VSET_CACHE_SIZE; i++)
        tc_vset_deinit(&c->vsets[i].set);
    tc_genesis_deinit(&c->genesis);
    free(c->vetted_txids);
    free(c->txid_scratch);
    free(c->vetted_body);
    free(c->body_scratch);
    free(c);
}

/* ---- accessors ---- */

void tc_chain_set_known(tc_chain *c, tc_chain_known_fn fn, void *ctx)
{
    TC_ASSERT(c != NULL);
    c->known = fn;
    c->known_ctx = ctx;
}

uint64_t tc_chain_height(const tc_chain *c)
{
    return c->height;
}

void tc_chain_tip(const tc_chain *c, tc_hash *out)
{
    *out = c->tip;
}

uint64_t tc_chain_tip_time_ms(const tc_chain *c)
{
    return c->tip_time_ms;
}

const tc_profile *tc_chain_profile(const tc_chain *c)
{
    return &c->genesis.profile;
}

const tc_genesis *tc_chain_genesis(const tc_chain *c)
{
    return &c->genesis;
}

void tc_chain_genesis_hash(const tc_chain *c, tc_hash *out)
{
    *out = c->genesis_hash;
}

uint32_t tc_chain_epoch_of(const tc_chain *c, uint64_t height)
{
    uint64_t e = tc_mnreg_epoch(&c->genesis.profile, height);
    TC_ASSERT(e < TC_MNREG_EPOCH_NONE);
    return (uint32_t)e;
}

/* ---- validator-set cache ----
 * The set of epoch e is fixed once every block before e's first height is applied: blocks of
 * epoch e only change sets of later epochs. So a cached set stays right until a block of an
 * earlier epoch is applied, and tc_chain_apply drops the sets of epochs after the block's. */

static int vset_in(tc_chain *c, tc_store_txn *t, uint32_t epoch, const tc_vset **out)
{
    for (int i = 0; i < VSET_CACHE_SIZE; i++) {
        if (c->vsets[i].used && c->vsets[i].set.epoch == epoch) {
            *out = &c->vsets[i].set;
            return 0;
        }
    }
    _Static_assert(VSET_CACHE_SIZE > TC_ARRAY_LEN(((tc_chain *)0)->pinned), "a free slot");
    vset_slot *slot = NULL;
    for (int tries = 0; slot == NULL; tries++) {
        TC_ASSERT(tries < VSET_CACHE_SIZE);
        vset_slot *s = &c->vsets[c->vset_next];
        c->vset_next = (c->vset_next + 1) % VSET_CACHE_SIZE;
        if (&s->set != c->pinned[0] && &s->set != c->pinned[1])
            slot = s;
    }
    tc_vset_deinit(&slot->set);
    slot->used = false;
    int rc = tc_vset_build(t, &c->genesis.profile, epoch, &slot->set);
    if (rc != 0)
        return rc;
    slot->used = true;
    *out = &slot->set;
    return 0;
}

static void vset_forget_after(tc_chain *c, uint32_t epoch)
{
    for (int i = 0; i < VSET_CACHE_SIZE; i++) {
        if (c->vsets[i].used && c->vsets[i].set.epoch > epoch) {
            tc_vset_deinit(&c->vsets[i].set);
            c->vsets[i].used = false;
        }
    }
}

int tc_chain_vset(tc_chain *c, uint32_t epoch, const tc_vset **out)
{
    TC_ASSERT(c != NULL && out != NULL);
    *out = NULL;
    tc_store_txn *t = NULL;
    int rc = tc_store_begin(c->store, false, &t);
    if (rc != 0)
        return rc;
    rc = vset_in(c, t, epoch, out);
    tc_store_abort(t);
    return rc;
}

/* ---- block rules ---- */

typedef struct {
    const tc_vset *vset;        /* epoch(height) */
    const tc_vset *parent_vset; /* epoch(height - 1): signers of last_commit */
    uint64_t fees;
    uint64_t burned;
    tc_utxo_meta utxo; /* the UTXO set's META, loaded once per block (utxo.h "Batching") */
    bool vetted;       /* applying the block vetted on this tip (tc_chain.vetted) */
} apply_ctx;

static int check_header(tc_chain *c, tc_store_txn *t, const tc_block_header *h, apply_ctx *x)
{
    if (h->version != TC_BLOCK_VERSION)
        return TC_ERANGE;
    if (h->height != c->height + 1)
        return TC_EBLK_HEIGHT;
    if (memcmp(h->parent.b, c->tip.b, TC_HASH_SIZE) != 0)
        return TC_EBLK_PARENT;
    if (h->time_ms <= c->tip_time_ms)
        return TC_EBLK_TIME;
    int rc = vset_in(c, t, tc_chain_epoch_of(c, h->height), &x->vset);
    c->pinned[0] = x->vset;
    if (rc == 0)
        rc = vset_in(c, t, tc_chain_epoch_of(c, h->height - 1), &x->parent_vset);
    c->pinned[1] = x->parent_vset;
    if (rc != 0)
        return rc;
    tc_hash vh;
    tc_vset_hash(x->vset, &vh);
    if (memcmp(vh.b, h->vset_hash.b, TC_HASH_SIZE) != 0)
        return TC_EBLK_VSET;
    if (h->proposer >= x->vset->count)
        return TC_EBLK_PROPOSER;
    if (h->height == 1) {
        /* The empty commit has every field zero (block.h); anything else would let a proposer
         * vary the hash of block 1 through fields nobody checks. */
        static const tc_hash zero;
        const tc_commit *lc = &h->last_commit;
        bool empty = lc->sig_count == 0 && lc->height == 0 && lc->round == 0 &&
                     memcmp(lc->block.b, zero.b, TC_HASH_SIZE) == 0;
        return empty ? 0 : TC_EBLK_COMMIT;
    }
    return tc_commit_verify(&h->last_commit, x->parent_vset, &c->verifier, h->height - 1, &c->tip);
}

/* Canonical form of the handoffs the chain accepts: strictly increasing validator index (so no
 * validator twice), each list of txids strictly increasing (as tc_finality_handoff signs it). */
static bool handoffs_canonical(const tc_block *b)
{
    for (uint32_t i = 0; i < b->handoff_count; i++) {
        const tc_handoff *h = &b->handoffs[i];
        if (i > 0 && b->handoffs[i - 1].validator >= h->validator)
            return false;
        for (uint32_t k = 1; k < h->txid_count; k++)
            if (memcmp(h->txids[k - 1].b, h->txids[k].b, TC_HASH_SIZE) >= 0)
                return false;
    }
    return true;
}

/* Drops from the sorted carry list the txids confirmed by this block or before (TXIDX, which
 * apply_tx filled for this block already): their lock ended with their confirmation. */
static int carry_drop_confirmed(tc_store_txn *t, tc_hash *txids, uint32_t *count)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < *count; i++) {
        const void *v;
        size_t n;
        int rc = tc_store_get(t, TC_TABLE_TXIDX, txids[i].b, TC_HASH_SIZE, &v, &n);
        if (rc == TC_ENOTFOUND)
            txids[kept++] = txids[i];
        else if (rc != 0)
            return rc;
    }
    *count = kept;
    return 0;
}

/* PROTOCOL 11.8: the closing block of epoch e carries handoffs of e's validators of weight >= Q,
 * and its carry list becomes chain data; every other block carries none. Runs after the block's
 * transactions, so the stored list leaves out what the block itself confirms. */
static int apply_handoffs(tc_chain *c, tc_store_txn *t, const tc_block *b, const apply_ctx *x)
{
    TC_ASSERT(x->vset != NULL && x->vset->epoch == tc_chain_epoch_of(c, b->header.height));
    uint32_t epoch = x->vset->epoch;
    if (b->header.height != tc_mnreg_epoch_last_height(&c->genesis.profile, epoch))
        return b->handoff_count == 0 ? 0 : TC_EBLK_HANDOFF;
    if (!handoffs_canonical(b))
        return TC_EBLK_HANDOFF;
    tc_hash *txids = NULL;
    uint32_t count = 0;
    int rc = tc_finality_carry_list(x->vset, &c->verifier, b->handoffs, b->handoff_count, &txids,
                                    &count);
    if (rc != 0)
        return rc == TC_ENOMEM ? rc : TC_EBLK_HANDOFF; /* epoch, index, signature, weight, size */
    rc = carry_drop_confirmed(t, txids, &count);
    if (rc == 0)
        rc = carry_put(t, epoch, txids, count);
    free(txids);
    return rc;
}

/* Releases the collateral of masternodes whose retirement takes effect at this block's epoch:
 * from now on their former collateral is an ordinary output. */
static int release_retired_collateral(tc_chain *c, tc_store_txn *t, uint64_t height, apply_ctx *x)
{
    const tc_profile *p = &c->genesis.profile;
    if (height % p->epoch_blocks != 0)
        return 0;
    uint32_t epoch = tc_chain_epoch_of(c, height);
    /* Collect first: writes invalidate cursors (store.h). Bounded by the registry's size. */
    tc_pubkey *keys = NULL;
    size_t count = 0, cap = 0;
    tc_store_cursor *cur = NULL;
    int rc = tc_store_cursor_open(t, TC_TABLE_MN, &cur);
    const void *k, *v;
    size_t kn, vn;
    while (rc == 0 && (rc = tc_store_cursor_next(cur, &k, &kn, &v, &vn)) == 0) {
        if (kn != TC_PUBKEY_SIZE) {
            rc = TC_ESTORE_CORRUPT;
            break;
        }
        if (count == cap) {
            cap = cap ? 2 * cap : 16;
            tc_pubkey *bigger = tc_realloc(keys, cap * sizeof(*keys));
            if (bigger == NULL) {
                rc = TC_ENOMEM;
                break;
            }
            keys = bigger;
        }
        memcpy(keys[count++].b, k, TC_PUBKEY_SIZE);
    }
    tc_store_cursor_close(cur);
    if (rc == TC_ENOTFOUND)
        rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        tc_mn_record rec;
        rc = tc_mnreg_get(t, &keys[i], &rec);
        if (rc != 0 || rec.retire_epoch != epoch || rec.burned)
            continue;
        tc_utxo_entry e;
        rc = tc_utxo_get(t, &rec.collateral, &e);
        if (rc == 0)
            rc = tc_utxo_set_flags(t, &x->utxo, &rec.collateral, 0);
        else if (rc == TC_ETX_SPENT_INPUT || rc == TC_ENOTFOUND)
            rc = 0; /* nothing left to release */
    }
    free(keys);
    return rc;
}

/* Registry side of a registration or retirement confirmed at height. */
static int apply_registry(tc_chain *c, tc_store_txn *t, const tc_tx *tx, const tc_hash *txid,
                          uint64_t height)
{
    if (tx->kind == TC_TX_MN_REGISTER) {
        tc_mn_record rec = {.key = tx->mn_key, .tier = tx->mn_tier};
        rec.collateral = (tc_outpoint){.txid = *txid, .index = 0};
        rec.owner = tx->outputs[0].addr;
        rec.net_addr_len = tx->net_addr_len;
        memcpy(rec.net_addr, tx->net_addr, tx->net_addr_len);
        return tc_mnreg_register(t, &c->genesis.profile, &rec, height);
    }
    if (tx->kind == TC_TX_MN_RETIRE) {
        /* The first input's key speaks for the owner: it signed, and its address must be the
         * collateral owner's. */
        tc_addr_hash by;
        tc_addr_from_pubkey(&tx->inputs[0].pub, &by);
        return tc_mnreg_retire(t, &c->genesis.profile, &tx->mn_key, &by, height);
    }
    return 0;
}

/* A vetted transaction passed tc_ledger_check_tx on this very state: only its effects remain,
 * and its fee is what its inputs held beyond its outputs. */
static int apply_vetted_spends(tc_store_txn *t, const tc_tx *tx, const tc_hash *txid,
                               uint64_t height, apply_ctx *x, uint64_t *fee)
{
    uint64_t in_total = 0, out_total = 0;
    for (uint32_t i = 0; i < tx->input_count; i++) {
        uint64_t amount = 0;
        int rc = tc_utxo_confirm_spend(t, &x->utxo, &tx->inputs[i].prev, txid, height, &amount);
        if (rc == 0)
            rc = tc_add_u64(&in_total, amount);
        if (rc != 0)
            return rc;
    }
    int rc = tc_tx_output_total(tx, &out_total);
    TC_ASSERT(rc == 0 && out_total <= in_total); /* what the vetting pass accepted */
    *fee = in_total - out_total;
    return 0;
}

/* known: the node vouched for tx (tc_chain_known_fn). */
static int apply_tx(tc_chain *c, tc_store_txn *t, const tc_tx *tx, const tc_hash *txid, bool known,
                    uint64_t height, apply_ctx *x)
{
    uint64_t fee = 0;
    int rc = 0;
    if (x->vetted) {
        /* The form check costs no hash; it keeps a struct the encoding cannot carry (a field
         * its kind has no room for) refused here as it was when vetted. */
        rc = tc_tx_check_form(tx, &c->genesis.profile);
        if (rc == 0)
            rc = apply_registry(c, t, tx, txid, height);
        if (rc == 0)
            rc = apply_vetted_spends(t, tx, txid, height, x, &fee);
    } else {
        if (known)
            rc =
                tc_ledger_check_known_tx(&c->genesis.profile, t, tx, txid, TC_LEDGER_CONFIRM, &fee);
        else
            rc = tc_ledger_check_tx(&c->genesis.profile, &c->verifier, t, tx, txid,
                                    TC_LEDGER_CONFIRM, &fee);
        if (rc == TC_ETX_SPENT_INPUT) {
            /* Spent at this very height means by an earlier transaction of this block. */
            for (uint32_t i = 0; i < tx->input_count; i++) {
                uint64_t spent_at = 0;
                if (tc_utxo_spent_get(t, &tx->inputs[i].prev, NULL, &spent_at) == 0 &&
                    spent_at == height)
                    return TC_EBLK_CONFLICT;
            }
        }
        if (rc == 0)
            rc = apply_registry(c, t, tx, txid, height);
        for (uint32_t i = 0; rc == 0 && i < tx->input_count; i++)
            rc = tc_utxo_confirm_spend(t, &x->utxo, &tx->inputs[i].prev, txid, height, NULL);
    }
    if (rc == 0)
        rc = tc_add_u64(&x->fees, fee);
    for (uint32_t i = 0; rc == 0 && i < tx->output_count; i++) {
        tc_outpoint op = {.txid = *txid, .index = i};
        bool collateral = tx->kind == TC_TX_MN_REGISTER && i == 0;
        rc = tc_utxo_add(t, &x->utxo, &op, &tx->outputs[i], height,
                         collateral ? TC_UTXO_COLLATERAL : 0);
    }
    uint8_t hk[8];
    height_key(height, hk);
    if (rc == 0)
        rc = tc_store_put(t, TC_TABLE_TXIDX, txid->b, TC_HASH_SIZE, hk, sizeof(hk));
    return rc;
}

static int apply_evidence(tc_chain *c, tc_store_txn *t, const tc_block_header *h, apply_ctx *x)
{
    if (h->evidence_count > c->genesis.profile.evidence_per_block_max)
        return TC_EBLK_EVIDENCE;
    for (uint32_t i = 0; i < h->evidence_count; i++) {
        const tc_evidence *e = &h->evidence[i];
        const tc_vset *vs;
        tc_hash eh;
        const void *v;
        size_t n;
        /* About a height or an epoch nobody has reached. */
        if (tc_evidence_has_height(e) && e->a.height > h->height)
            return TC_EBLK_EVIDENCE;
        uint64_t epoch = tc_evidence_epoch(e, &c->genesis.profile);
        if (epoch > tc_chain_epoch_of(c, h->height))
            return TC_EBLK_EVIDENCE;
        int rc = vset_in(c, t, (uint32_t)epoch, &vs);
        if (rc != 0)
            return rc;
        if (tc_evidence_verify(e, vs, &c->verifier) != 0)
            return TC_EBLK_EVIDENCE;
        tc_evidence_hash(e, &eh);
        rc = tc_store_get(t, TC_TABLE_EVIDENCE, eh.b, TC_HASH_SIZE, &v, &n);
        if (rc != TC_ENOTFOUND)
            return rc == 0 ? TC_EBLK_EVIDENCE : rc; /* included before */
        uint8_t hk[8];
        height_key(h->height, hk);
        rc = tc_store_put(t, TC_TABLE_EVIDENCE, eh.b, TC_HASH_SIZE, hk, sizeof(hk));
        tc_outpoint collateral;
        if (rc == 0)
            rc = tc_mnreg_burn(t, &c->genesis.profile, &vs->members[tc_evidence_validator(e)].key,
                               h->height, &collateral);
        if (rc == TC_EEXIST)
            return TC_EBLK_EVIDENCE; /* punished already: one collateral burns once */
        uint64_t amount = 0;
        if (rc == 0)
            rc = tc_utxo_burn(t, &x->utxo, &collateral, &eh, h->height, &amount);
        if (rc == TC_ETX_SPENT_INPUT || rc == TC_ENOTFOUND)
            rc = 0; /* released at its retirement epoch and spent since: nothing to burn */
        if (rc == 0)
            rc = tc_add_u64(&x->burned, amount);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The reward outputs the rules demand (chain.h); *count_out of them into rewards, which has
 * room for parent_vset->count + 1 entries. */
static int expected_rewards(tc_chain *c, const tc_block_header *h, const apply_ctx *x,
                            tc_txout *rewards, uint32_t *count_out)
{
    uint64_t amount = c->genesis.profile.block_reward, remainder = 0;
    *count_out = 0;
    int rc = tc_add_u64(&amount, x->fees);
    if (rc != 0)
        return rc;
    const tc_vset *pv = x->parent_vset;
    uint64_t *shares = tc_calloc(pv->count ? pv->count : 1, sizeof(*shares));
    if (shares == NULL)
        return TC_ENOMEM;
    rc = tc_reward_split_signers(pv, &h->last_commit, amount, shares, &remainder);
    uint32_t n = 0;
    for (uint32_t i = 0; rc == 0 && i < pv->count; i++) {
        if (shares[i] > 0)
            rewards[n++] = (tc_txout){.amount = shares[i], .addr = pv->members[i].owner};
    }
    if (rc == 0 && remainder > 0)
        rewards[n++] = (tc_txout){.amount = remainder, .addr = x->vset->members[h->proposer].owner};
    free(shares);
    *count_out = n;
    return rc;
}

static int apply_rewards(tc_chain *c, tc_store_txn *t, const tc_block *b, apply_ctx *x,
                         tc_block *fill)
{
    uint32_t n = 0;
    tc_txout *want = tc_calloc(x->parent_vset->count + 1, sizeof(*want));
    if (want == NULL)
        return TC_ENOMEM;
    int rc = expected_rewards(c, &b->header, x, want, &n);
    if (rc == 0 && fill != NULL) {
        free(fill->rewards);
        fill->rewards = want;
        fill->reward_count = n;
        want = NULL;
    } else if (rc == 0 && (n != b->reward_count ||
                           (n > 0 && memcmp(want, b->rewards, n * sizeof(*want)) != 0))) {
        rc = TC_EBLK_REWARD;
    }
    free(want);
    tc_hash rtxid;
    tc_block_reward_txid(b->header.height, &rtxid);
    for (uint32_t i = 0; rc == 0 && i < b->reward_count; i++) {
        tc_outpoint op = {.txid = rtxid, .index = i};
        rc = tc_utxo_add(t, &x->utxo, &op, &b->rewards[i], b->header.height, 0);
    }
    return rc;
}

/* Checks the supply equation against the UTXO total; a mismatch is a bug (or a store damaged
 * under us), so the chain stops (STYLE rule 10). */
static int check_supply(tc_chain *c, uint64_t total, const tc_chain_supply *s)
{
    uint64_t want = s->genesis_supply;
    if (tc_add_u64(&want, s->rewards_total) != 0 || want < s->burned_total ||
        total != want - s->burned_total) {
        c->failed = true;
        return TC_EBLK_SUPPLY;
    }
    return 0;
}

/* Stores b, whose encoding takes size bytes (measured by the rules' size check). body: NULL,
 * or b's body encoding (body_len bytes), copied after the header instead of encoded again. */
static int store_block(tc_store_txn *t, const tc_block *b, const tc_hash *hash, size_t size,
                       const uint8_t *body, size_t body_len)
{
    uint8_t hk[8];
    height_key(b->header.height, hk);
    uint8_t *bytes = tc_malloc(size);
    if (bytes == NULL)
        return TC_ENOMEM;
    tc_writer w;
    size_t len = 0;
    tc_writer_init(&w, bytes, size);
    if (body != NULL) {
        tc_block_header_encode(&w, &b->header);
        tc_put_raw(&w, body, body_len);
    } else {
        tc_block_encode(&w, b);
    }
    TC_ASSERT(tc_writer_finish(&w, &len) == 0 && len == size);
    int rc = tc_store_put(t, TC_TABLE_BLOCKS, hk, sizeof(hk), bytes, len);
    if (rc == 0)
        rc = tc_store_put(t, TC_TABLE_BLOCKIDX, hash->b, TC_HASH_SIZE, hk, sizeof(hk));
    if (rc == 0)
        rc = meta_put_tip(t, b->header.height, hash, b->header.time_ms);
    free(bytes);
    return rc;
}

/* TC_ETX_SIZE when b's encoding (its header's, counted here, and body_len bytes of body)
 * exceeds block_size_max. *size_out gets the encoding's size. */
static int check_size(const tc_chain *c, const tc_block *b, size_t body_len, size_t *size_out)
{
    tc_writer w;
    size_t size;
    tc_writer_init(&w, NULL, 0); /* counts without writing */
    tc_block_header_encode(&w, &b->header);
    (void)tc_writer_finish(&w, &size);
    *size_out = size + body_len;
    return *size_out > c->genesis.profile.block_size_max ? TC_ETX_SIZE : 0;
}

/* Room for n bytes in body_scratch; false when it cannot be had (then nothing is kept). */
static bool body_scratch_reserve(tc_chain *c, size_t n)
{
    if (n <= c->body_scratch_cap)
        return true;
    size_t cap = n + n / 2; /* blocks grow with the load: few regrowths */
    uint8_t *p = tc_realloc(c->body_scratch, cap);
    if (p == NULL)
        return false;
    c->body_scratch = p;
    c->body_scratch_cap = cap;
    return true;
}

/* b's body digest and encoded length, and its encoding kept in body_scratch (see
 * tc_chain.vetted_body). Keeping nothing is no error: running b again then hashes again. */
static int body_digest_keep(tc_chain *c, const tc_block *b, tc_hash *root, size_t *len)
{
    c->body_scratch_ok = false;
    int rc = tc_block_body_digest_copy(b, root, len, c->body_scratch, c->body_scratch_cap);
    if (rc != 0)
        return rc;
    if (*len > c->body_scratch_cap) {
        /* The first body this large: the buffer grows and the body is encoded again, once. */
        if (!body_scratch_reserve(c, *len))
            return 0;
        tc_writer w;
        size_t got = 0;
        tc_writer_init(&w, c->body_scratch, *len);
        tc_block_body_encode(&w, b);
        TC_ASSERT(tc_writer_finish(&w, &got) == 0 && got == *len);
    }
    c->body_scratch_len = *len;
    c->body_scratch_ok = true;
    return 0;
}

/* Whether b's body encodes to exactly the vetted body's bytes (its encoding is then in
 * body_scratch). b's header is the vetted one, so its tx_root is the digest of those bytes. */
static bool body_is_vetted(tc_chain *c, const tc_block *b)
{
    size_t n = c->vetted_body_len;
    if (!c->vetted_body_ok || !body_scratch_reserve(c, n))
        return false;
    tc_writer w;
    size_t got = 0;
    tc_writer_init(&w, c->body_scratch, n); /* a longer body overflows it: err, not equal */
    tc_block_body_encode(&w, b);
    return tc_writer_finish(&w, &got) == 0 && got == n &&
           memcmp(c->body_scratch, c->vetted_body, n) == 0;
}

/* The body's shape, root and size; *size_out gets the block's encoded size (0 when building).
 * vetted: b's header is the vetted block's (is_vetted). */
static int check_body_shape(tc_chain *c, const tc_block *b, bool building, bool vetted,
                            size_t *size_out)
{
    *size_out = 0;
    const tc_profile *p = &c->genesis.profile;
    if (b->tx_count > p->block_txs_max)
        return TC_ETOOLONG;
    if (building)
        return 0; /* the roots and size are checked once the block is complete (build) */
    if (vetted && body_is_vetted(c, b)) {
        c->body_matched = true;
        return check_size(c, b, c->vetted_body_len, size_out);
    }
    tc_hash root;
    size_t body_len = 0;
    int rc = body_digest_keep(c, b, &root, &body_len);
    if (rc != 0)
        return rc;
    if (memcmp(root.b, b->header.tx_root.b, TC_HASH_SIZE) != 0)
        return TC_EBLK_TXROOT;
    return check_size(c, b, body_len, size_out);
}

/* Runs every rule of chain.h on b inside t. When fill is not NULL (it is b, being built), its
 * rewards and utxo_root are set from what the rules compute instead of being checked. On
 * success *supply_out holds the counters after b. */
static int apply_txn(tc_chain *c, tc_store_txn *t, const tc_block *b, tc_block *fill, bool vetted,
                     tc_chain_supply *supply_out, size_t *size_out)
{
    apply_ctx x = {.vetted = vetted};
    uint64_t height = b->header.height;
    int rc = tc_utxo_meta_load(t, c->verifier.elements, &x.utxo);
    x.utxo.replay = vetted; /* its accumulator is known: installed below */
    if (rc == 0)
        rc = check_header(c, t, &b->header, &x);
    if (rc == 0)
        rc = check_body_shape(c, b, fill != NULL, vetted, size_out);
    if (rc == 0)
        rc = release_retired_collateral(c, t, height, &x);
    for (uint32_t i = 0; rc == 0 && i < b->tx_count; i++) {
        const tc_tx *tx = &b->txs[i].tx;
        bool known = false;
        if (!vetted) {
            known = c->known != NULL && c->known(c->known_ctx, tx, &c->txid_scratch[i]);
            if (!known)
                tc_tx_id(tx, &c->txid_scratch[i]);
        }
        const tc_hash *txid = vetted ? &c->vetted_txids[i] : &c->txid_scratch[i];
        rc = apply_tx(c, t, tx, txid, known, height, &x);
    }
    if (rc == 0)
        rc = apply_evidence(c, t, &b->header, &x);
    if (rc == 0)
        rc = apply_handoffs(c, t, b, &x);
    if (rc == 0)
        rc = apply_rewards(c, t, b, &x, fill);
    if (rc != 0)
        return rc;

    tc_chain_supply s = c->supply;
    if (tc_add_u64(&s.rewards_total, c->genesis.profile.block_reward) != 0 ||
        tc_add_u64(&s.burned_total, x.burned) != 0 || tc_add_u64(&s.fees_total, x.fees) != 0)
        return TC_EOVERFLOW;
    if (vetted) {
        /* The same changes on the same state: the same totals, or the store changed under us. */
        if (x.utxo.total != c->vetted_utxo.total || x.utxo.count != c->vetted_utxo.count)
            return TC_ESTORE_CORRUPT;
        x.utxo.acc = c->vetted_utxo.acc;
        x.utxo.replay = false;
    }
    tc_hash root;
    tc_utxo_meta_root(&x.utxo, &root);
    if (fill != NULL)
        fill->header.utxo_root = root;
    else if (memcmp(root.b, b->header.utxo_root.b, TC_HASH_SIZE) != 0)
        rc = TC_EBLK_UTXOROOT;
    if (rc == 0)
        rc = check_supply(c, x.utxo.total, &s);
    if (rc == 0)
        rc = tc_utxo_meta_save(t, &x.utxo);
    if (rc == 0)
        rc = meta_put_supply(t, &s);
    if (rc == 0) {
        *supply_out = s;
        c->utxo_scratch = x.utxo; /* vet() keeps it if this run vets the block */
    }
    return rc;
}

/* Room for n txids in both of the chain's txid arrays. */
static int txids_reserve(tc_chain *c, uint32_t n)
{
    if (n <= c->txid_cap)
        return 0;
    tc_hash *a = tc_realloc(c->txid_scratch, (size_t)n * sizeof(*a));
    if (a == NULL)
        return TC_ENOMEM;
    c->txid_scratch = a;
    tc_hash *v = tc_realloc(c->vetted_txids, (size_t)n * sizeof(*v));
    if (v == NULL)
        return TC_ENOMEM;
    c->vetted_txids = v;
    c->txid_cap = n;
    return 0;
}

/* b passed every rule on the current tip: remember it and its txids (see tc_chain.vetted). */
static void vet(tc_chain *c, const tc_block *b)
{
    c->vetted = true;
    c->vetted_parent = c->tip;
    c->vetted_utxo = c->utxo_scratch;
    tc_block_hash(&b->header, &c->vetted_block);
    tc_hash *t = c->vetted_txids;
    c->vetted_txids = c->txid_scratch;
    c->txid_scratch = t;
    uint8_t *body = c->vetted_body;
    size_t cap = c->vetted_body_cap;
    c->vetted_body = c->body_scratch;
    c->vetted_body_cap = c->body_scratch_cap;
    c->vetted_body_len = c->body_scratch_len;
    c->vetted_body_ok = c->body_scratch_ok;
    c->body_scratch = body;
    c->body_scratch_cap = cap;
    c->body_scratch_ok = false;
}

/* The form of every transaction: what a vetted block is still checked for, since a struct can
 * hold fields its encoding has no room for (the hash cannot see them). */
static int check_forms(const tc_chain *c, const tc_block *b)
{
    for (uint32_t i = 0; i < b->tx_count; i++) {
        int rc = tc_tx_check_form(&b->txs[i].tx, &c->genesis.profile);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Whether the block with this hash is the one vetted on the current tip. */
static bool is_vetted_hash(const tc_chain *c, const tc_hash *hash)
{
    return c->vetted && memcmp(c->vetted_parent.b, c->tip.b, TC_HASH_SIZE) == 0 &&
           memcmp(hash->b, c->vetted_block.b, TC_HASH_SIZE) == 0;
}

static bool is_vetted(const tc_chain *c, const tc_block *b)
{
    if (!c->vetted)
        return false;
    tc_hash hash;
    tc_block_hash(&b->header, &hash);
    return is_vetted_hash(c, &hash);
}

static int run(tc_chain *c, const tc_block *b, tc_block *fill, apply_mode mode)
{
    TC_ASSERT(c != NULL && b != NULL);
    if (c->failed)
        return TC_EFAILED;
    tc_store_txn *t = NULL;
    tc_chain_supply s;
    bool vetted = mode != MODE_BUILD && is_vetted(c, b);
    c->tip_txids = NULL; /* what follows may overwrite the arrays */
    c->body_matched = false;
    if (vetted && mode == MODE_CHECK) {
        /* Judged again (a proposal waiting for its vote batches): the hash matched, so what
         * is left is the body against its root and the forms the encoding cannot carry. */
        size_t size;
        int rc = check_body_shape(c, b, false, true, &size);
        return rc == 0 ? check_forms(c, b) : rc;
    }
    int rc = txids_reserve(c, b->tx_count);
    if (rc == 0)
        rc = tc_store_begin(c->store, true, &t);
    if (rc != 0)
        return rc;
    size_t size = 0;
    rc = apply_txn(c, t, b, fill, vetted, &s, &size);
    c->pinned[0] = c->pinned[1] = NULL;
    if (rc != 0 || mode != MODE_APPLY) {
        tc_store_abort(t);
        if (rc == 0 && mode == MODE_CHECK)
            vet(c, b); /* tc_chain_build vets once the block is complete */
        return rc;
    }
    tc_hash hash;
    tc_block_hash(&b->header, &hash);
    if (c->body_matched)
        rc = store_block(t, b, &hash, size, c->body_scratch, c->vetted_body_len);
    else
        rc = store_block(t, b, &hash, size, NULL, 0);
    if (rc == 0)
        rc = tc_store_commit(t);
    else
        tc_store_abort(t);
    if (rc != 0)
        return rc;
    c->height = b->header.height;
    c->tip = hash;
    c->tip_time_ms = b->header.time_ms;
    c->supply = s;
    c->vetted = false;
    c->tip_txids = vetted ? c->vetted_txids : c->txid_scratch;
    vset_forget_after(c, tc_chain_epoch_of(c, c->height));
    return 0;
}

int tc_chain_apply(tc_chain *c, const tc_block *block)
{
    return run(c, block, NULL, MODE_APPLY);
}

int tc_chain_check(tc_chain *c, const tc_block *block)
{
    return run(c, block, NULL, MODE_CHECK);
}

static int handoffs_copy(tc_block *b, const tc_handoff *hs, uint32_t count)
{
    if (count == 0)
        return 0;
    b->handoffs = tc_calloc(count, sizeof(*b->handoffs));
    if (b->handoffs == NULL)
        return TC_ENOMEM;
    for (uint32_t i = 0; i < count; i++) {
        tc_handoff *h = &b->handoffs[i];
        *h = hs[i];
        h->txids = NULL;
        h->txid_count = 0;
        b->handoff_count = i + 1; /* what is counted is owned: tc_block_deinit frees it */
        if (hs[i].txid_count == 0)
            continue;
        h->txids = tc_malloc((size_t)hs[i].txid_count * TC_HASH_SIZE);
        if (h->txids == NULL)
            return TC_ENOMEM;
        memcpy(h->txids, hs[i].txids, (size_t)hs[i].txid_count * TC_HASH_SIZE);
        h->txid_count = hs[i].txid_count;
    }
    return 0;
}

static int build_fill(tc_chain *c, const tc_chain_build_args *a, tc_block *b)
{
    if (a->tx_count > 0) {
        b->txs = tc_calloc(a->tx_count, sizeof(*b->txs));
        if (b->txs == NULL)
            return TC_ENOMEM;
    }
    for (uint32_t i = 0; i < a->tx_count; i++) {
        int rc = tc_tx_copy(&b->txs[i].tx, &a->txs[i]);
        if (rc != 0)
            return rc;
        b->tx_count = i + 1;
    }
    int rc = handoffs_copy(b, a->handoffs, a->handoff_count);
    const tc_vset *vs;
    if (rc == 0)
        rc = tc_chain_vset(c, tc_chain_epoch_of(c, b->header.height), &vs);
    if (rc == 0)
        tc_vset_hash(vs, &b->header.vset_hash);
    return rc;
}

static int build_header(const tc_chain *c, const tc_chain_build_args *a, tc_block_header *h)
{
    h->version = TC_BLOCK_VERSION;
    h->height = c->height + 1;
    h->round = a->round;
    h->parent = c->tip;
    h->time_ms = a->time_ms;
    h->proposer = a->proposer;
    int rc = a->last_commit ? tc_commit_copy(&h->last_commit, a->last_commit) : 0;
    if (rc == 0 && a->evidence_count > 0) {
        h->evidence = tc_calloc(a->evidence_count, sizeof(*h->evidence));
        rc = h->evidence ? 0 : TC_ENOMEM;
        /* Deep copies: the block owns its evidence (kind 1 holds batches and transactions). */
        for (uint32_t i = 0; i < a->evidence_count && rc == 0; i++) {
            rc = tc_evidence_copy(&h->evidence[i], &a->evidence[i]);
            if (rc == 0)
                h->evidence_count = i + 1;
        }
    }
    return rc;
}

int tc_chain_build(tc_chain *c, const tc_chain_build_args *a, tc_block *block)
{
    TC_ASSERT(c != NULL && a != NULL && block != NULL);
    TC_ASSERT((a->txs != NULL || a->tx_count == 0) && (a->evidence != NULL || !a->evidence_count));
    TC_ASSERT(a->handoffs != NULL || a->handoff_count == 0);
    memset(block, 0, sizeof(*block));
    size_t body_len = 0, size = 0;
    int rc = build_header(c, a, &block->header);
    if (rc == 0)
        rc = build_fill(c, a, block);
    if (rc == 0)
        rc = run(c, block, block, MODE_BUILD);
    if (rc == 0 && a->certs != NULL) {
        for (uint32_t i = 0; i < a->tx_count; i++) {
            block->txs[i].cert = a->certs[i];
            memset(&a->certs[i], 0, sizeof(a->certs[i]));
        }
    }
    if (rc == 0)
        rc = body_digest_keep(c, block, &block->header.tx_root, &body_len);
    if (rc == 0)
        rc = check_size(c, block, body_len, &size); /* what the proposer builds, all accept */
    if (rc == 0)
        vet(c, block);
    if (rc != 0)
        tc_block_deinit(block);
    return rc;
}

int tc_chain_block_at(tc_chain *c, uint64_t height, tc_block *out)
{
    TC_ASSERT(c != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    if (height == 0 || height > c->height)
        return TC_ENOTFOUND;
    int rc = tc_chain_stored_block(c->store, height, out);
    return rc == TC_ENOTFOUND ? TC_ESTORE_CORRUPT : rc; /* below the tip, so it must be there */
}

/* The block stored at height, decoded whole or (header_only) its header alone. */
static int stored_block(tc_store *store, uint64_t height, bool header_only, tc_block *out)
{
    TC_ASSERT(store != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    tc_store_txn *t = NULL;
    const void *v;
    size_t n;
    uint8_t hk[8];
    height_key(height, hk);
    int rc = tc_store_begin(store, false, &t);
    if (rc != 0)
        return rc;
    rc = tc_store_get(t, TC_TABLE_BLOCKS, hk, sizeof(hk), &v, &n);
    if (rc == 0 &&
        (header_only ? tc_block_decode_header(out, v, n) : tc_block_decode(out, v, n)) != 0)
        rc = TC_ESTORE_CORRUPT;
    tc_store_abort(t);
    return rc;
}

int tc_chain_stored_block(tc_store *store, uint64_t height, tc_block *out)
{
    return stored_block(store, height, false, out);
}

int tc_chain_stored_header(tc_store *store, uint64_t height, tc_block *out)
{
    return stored_block(store, height, true, out);
}

const tc_hash *tc_chain_txids_of(const tc_chain *c, const tc_block *b)
{
    TC_ASSERT(c != NULL && b != NULL);
    if (!c->vetted && c->tip_txids == NULL)
        return NULL;
    tc_hash hash;
    tc_block_hash(&b->header, &hash);
    if (is_vetted_hash(c, &hash))
        return c->vetted_txids;
    if (c->tip_txids != NULL && memcmp(hash.b, c->tip.b, TC_HASH_SIZE) == 0)
        return c->tip_txids;
    return NULL;
}

int tc_chain_supply_get(tc_chain *c, tc_chain_supply *out)
{
    TC_ASSERT(c != NULL && out != NULL);
    *out = c->supply;
    tc_store_txn *t = NULL;
    int rc = tc_store_begin(c->store, false, &t);
    if (rc != 0)
        return rc;
    rc = tc_utxo_total(t, &out->utxo_total);
    if (rc == 0)
        rc = tc_utxo_count(t, &out->utxo_count);
    tc_store_abort(t);
    return rc;
}

int tc_chain_verify_integrity(tc_chain *c)
{
    TC_ASSERT(c != NULL);
    tc_store_txn *t = NULL;
    int rc = tc_store_begin(c->store, false, &t);
    if (rc != 0)
        return rc;
    uint64_t total = 0;
    rc = tc_utxo_verify(t, c->verifier.elements);
    if (rc == 0)
        rc = tc_utxo_total(t, &total);
    if (rc == 0)
        rc = check_supply(c, total, &c->supply);
    tc_store_abort(t);
    return rc;
}

int tc_chain_utxo_proof_get(tc_chain *c, tc_chain_utxo_proof *out)
{
    TC_ASSERT(c != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    tc_store_txn *t = NULL;
    int rc = tc_store_begin(c->store, false, &t);
    if (rc != 0)
        return rc;
    rc = tc_utxo_meta_load(t, NULL, &out->meta);
    if (rc == 0)
        rc = tc_utxo_content_digest(t, &out->digest);
    tc_store_abort(t);
    return rc;
}

int tc_chain_verify_integrity_against(tc_chain *c, const tc_chain_utxo_proof *proof)
{
    TC_ASSERT(c != NULL && proof != NULL);
    tc_chain_utxo_proof mine;
    int rc = tc_chain_utxo_proof_get(c, &mine);
    if (rc != 0)
        return rc;
    if (memcmp(&mine.meta.acc, &proof->meta.acc, sizeof(mine.meta.acc)) != 0 ||
        mine.meta.total != proof->meta.total || mine.meta.count != proof->meta.count ||
        memcmp(mine.digest.b, proof->digest.b, TC_HASH_SIZE) != 0)
        return TC_ENOTFOUND;
    return check_supply(c, mine.meta.total, &c->supply);
}

int tc_chain_carry_list(tc_chain *c, uint32_t epoch, tc_hash **txids_out, uint32_t *count_out)
{
    TC_ASSERT(c != NULL && txids_out != NULL && count_out != NULL);
    *txids_out = NULL;
    *count_out = 0;
    if (tc_mnreg_epoch_last_height(&c->genesis.profile, epoch) > c->height)
        return TC_ENOTFOUND; /* the epoch's closing block is not applied yet */
    tc_store_txn *t = NULL;
    uint8_t key[CARRY_KEY_SIZE];
    const void *v;
    size_t n;
    carry_key(epoch, key);
    int rc = tc_store_begin(c->store, false, &t);
    if (rc != 0)
        return rc;
    rc = tc_store_get(t, TC_TABLE_META, key, sizeof(key), &v, &n);
    if (rc == TC_ENOTFOUND)
        rc = TC_ESTORE_CORRUPT; /* every applied closing block wrote one */
    if (rc == 0)
        rc = carry_decode(v, n, txids_out, count_out);
    tc_store_abort(t);
    TC_ASSERT(rc == 0 || *txids_out == NULL);
    return rc;
}
