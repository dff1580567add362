/* mnreg.c — masternode registry, epochs, validator sets, certificate and evidence checks,
 * reward split (see mnreg.h). */
#include "mnreg.h"

#include <stdlib.h>
#include <string.h>

/* Exact a * b / c for the reward split; GCC and Clang on x86-64 both provide it. */
__extension__ typedef unsigned __int128 u128;

#define RECORD_SIZE_MAX                                                                            \
    (1 + TC_OUTPOINT_SIZE + TC_ADDR_HASH_SIZE + 4 + TC_TX_NETADDR_MAX + 8 + 4 + 4 + 1)

_Static_assert(TC_TX_NETADDR_MAX <= UINT8_MAX, "net_addr_len is a u8");
_Static_assert(TC_TIER_COUNT <= UINT8_MAX, "tier is a u8");

/* ---- epochs ---- */

uint64_t tc_mnreg_epoch(const tc_profile *p, uint64_t height)
{
    TC_ASSERT(p != NULL && p->epoch_blocks > 0);
    return height / p->epoch_blocks;
}

uint64_t tc_mnreg_epoch_first_height(const tc_profile *p, uint32_t epoch)
{
    TC_ASSERT(p != NULL && p->epoch_blocks > 0);
    return (uint64_t)epoch * p->epoch_blocks; /* < 2^64: both factors are u32 */
}

uint64_t tc_mnreg_epoch_last_height(const tc_profile *p, uint32_t epoch)
{
    TC_ASSERT(p != NULL && p->epoch_blocks > 0);
    return ((uint64_t)epoch + 1) * p->epoch_blocks - 1;
}

/* The epoch from which a change confirmed at height takes effect. */
static int next_epoch(const tc_profile *p, uint64_t height, uint32_t *out)
{
    uint64_t e = tc_mnreg_epoch(p, height);
    *out = 0;
    if (e + 1 >= TC_MNREG_EPOCH_NONE)
        return TC_EOVERFLOW;
    *out = (uint32_t)(e + 1);
    return 0;
}

bool tc_mnreg_active(const tc_mn_record *rec, uint32_t epoch)
{
    TC_ASSERT(rec != NULL);
    return rec->active_from_epoch <= epoch && epoch < rec->retire_epoch;
}

/* ---- records ---- */

static size_t record_encode(const tc_mn_record *rec, uint8_t buf[RECORD_SIZE_MAX])
{
    TC_ASSERT(rec->tier < TC_TIER_COUNT && rec->net_addr_len <= TC_TX_NETADDR_MAX);
    tc_writer w;
    size_t len = 0;
    tc_writer_init(&w, buf, RECORD_SIZE_MAX);
    tc_put_u8(&w, rec->tier);
    TC_PUT_HASH(&w, &rec->collateral.txid);
    tc_put_u32(&w, rec->collateral.index);
    tc_put_raw(&w, rec->owner.b, TC_ADDR_HASH_SIZE);
    tc_put_bytes(&w, rec->net_addr, rec->net_addr_len);
    tc_put_u64(&w, rec->reg_height);
    tc_put_u32(&w, rec->active_from_epoch);
    tc_put_u32(&w, rec->retire_epoch);
    tc_put_u8(&w, rec->burned ? 1 : 0);
    TC_ASSERT(tc_writer_finish(&w, &len) == 0);
    return len;
}

/* What the store returns is disk data: anything that does not decode is corruption. */
static int record_decode(const void *key, size_t klen, const void *val, size_t vlen,
                         tc_mn_record *out)
{
    memset(out, 0, sizeof(*out));
    if (klen != TC_PUBKEY_SIZE)
        return TC_ESTORE_CORRUPT;
    memcpy(out->key.b, key, TC_PUBKEY_SIZE);
    tc_reader r;
    uint32_t addr_len = 0;
    tc_reader_init(&r, val, vlen);
    out->tier = tc_get_enum(&r, TC_TIER_COUNT);
    TC_GET_HASH(&r, &out->collateral.txid);
    out->collateral.index = tc_get_u32(&r);
    tc_get_raw(&r, out->owner.b, TC_ADDR_HASH_SIZE);
    const uint8_t *addr = tc_get_bytes(&r, TC_TX_NETADDR_MAX, &addr_len);
    if (r.err == 0 && addr_len > 0)
        memcpy(out->net_addr, addr, addr_len);
    out->net_addr_len = (uint8_t)addr_len;
    out->reg_height = tc_get_u64(&r);
    out->active_from_epoch = tc_get_u32(&r);
    out->retire_epoch = tc_get_u32(&r);
    out->burned = tc_get_bool(&r);
    if (tc_reader_finish(&r) != 0) {
        memset(out, 0, sizeof(*out));
        return TC_ESTORE_CORRUPT;
    }
    return 0;
}

static int record_put(tc_store_txn *txn, const tc_mn_record *rec)
{
    uint8_t buf[RECORD_SIZE_MAX];
    size_t len = record_encode(rec, buf);
    return tc_store_put(txn, TC_TABLE_MN, rec->key.b, TC_PUBKEY_SIZE, buf, len);
}

int tc_mnreg_get(tc_store_txn *txn, const tc_pubkey *key, tc_mn_record *out)
{
    TC_ASSERT(txn != NULL && key != NULL && out != NULL);
    const void *val = NULL;
    size_t vlen = 0;
    memset(out, 0, sizeof(*out));
    int rc = tc_store_get(txn, TC_TABLE_MN, key->b, TC_PUBKEY_SIZE, &val, &vlen);
    if (rc == TC_ENOTFOUND)
        return TC_EMN_UNKNOWN;
    if (rc != 0)
        return rc;
    return record_decode(key->b, TC_PUBKEY_SIZE, val, vlen, out);
}

/* Walks the table in key order and collects the members of epoch into members (when not NULL,
 * room for cap) or just counts them. More than cap members is TC_EFULL. */
static int scan_active(tc_store_txn *txn, const tc_profile *p, uint32_t epoch, uint32_t cap,
                       tc_vset_member *members, uint32_t *count_out)
{
    tc_store_cursor *cur = NULL;
    uint32_t n = 0;
    *count_out = 0;
    int rc = tc_store_cursor_open(txn, TC_TABLE_MN, &cur);
    if (rc != 0)
        return rc;
    for (;;) {
        const void *key, *val;
        size_t klen, vlen;
        tc_mn_record rec;
        rc = tc_store_cursor_next(cur, &key, &klen, &val, &vlen);
        if (rc == TC_ENOTFOUND) {
            rc = 0;
            break;
        }
        if (rc == 0)
            rc = record_decode(key, klen, val, vlen, &rec);
        if (rc != 0)
            break;
        if (!tc_mnreg_active(&rec, epoch))
            continue;
        if (n >= cap) {
            rc = TC_EFULL;
            break;
        }
        if (members != NULL) {
            members[n].key = rec.key;
            members[n].tier = rec.tier;
            members[n].weight = tc_tier_weight(p, (tc_tier)rec.tier);
            members[n].owner = rec.owner;
        }
        n++;
    }
    tc_store_cursor_close(cur);
    if (rc == 0)
        *count_out = n;
    return rc;
}

/* count_set: count the first epoch's set against validators_max (see register_genesis). */
static int register_at(tc_store_txn *txn, const tc_profile *p, const tc_mn_record *rec,
                       uint64_t height, uint32_t active_from, bool count_set)
{
    if (rec->tier >= TC_TIER_COUNT)
        return TC_EMN_TIER;
    if (rec->net_addr_len > TC_TX_NETADDR_MAX)
        return TC_EINVAL;
    const void *val = NULL;
    size_t vlen = 0;
    int rc = tc_store_get(txn, TC_TABLE_MN, rec->key.b, TC_PUBKEY_SIZE, &val, &vlen);
    if (rc == 0)
        return TC_EMN_DUPLICATE;
    if (rc != TC_ENOTFOUND)
        return rc;
    uint32_t active = 0;
    rc = count_set ? scan_active(txn, p, active_from, UINT32_MAX, NULL, &active) : 0;
    if (rc != 0)
        return rc;
    if (active >= p->validators_max)
        return TC_EFULL;

    tc_mn_record r;
    memset(&r, 0, sizeof(r));
    r.key = rec->key;
    r.tier = rec->tier;
    r.collateral = rec->collateral;
    r.owner = rec->owner;
    r.net_addr_len = rec->net_addr_len;
    memcpy(r.net_addr, rec->net_addr, rec->net_addr_len);
    r.reg_height = height;
    r.active_from_epoch = active_from;
    r.retire_epoch = TC_MNREG_EPOCH_NONE;
    r.burned = false;
    return record_put(txn, &r);
}

int tc_mnreg_register(tc_store_txn *txn, const tc_profile *p, const tc_mn_record *rec,
                      uint64_t height)
{
    TC_ASSERT(txn != NULL && p != NULL && rec != NULL);
    uint32_t from = 0;
    int rc = next_epoch(p, height, &from);
    if (rc != 0)
        return rc;
    return register_at(txn, p, rec, height, from, true);
}

int tc_mnreg_register_genesis(tc_store_txn *txn, const tc_profile *p, const tc_mn_record *rec)
{
    TC_ASSERT(txn != NULL && p != NULL && rec != NULL);
    /* The genesis document's masternodes are at most validators_max (tc_genesis_check, which
     * every genesis passes before a chain opens on it), so the set is not counted again here:
     * counting it for each masternode made opening a chain quadratic in its validators, 70% of
     * the simulator's setup at 256 nodes and minutes at 1,024 (n^3 over the nodes). */
    return register_at(txn, p, rec, 0, 0, false);
}

int tc_mnreg_retire(tc_store_txn *txn, const tc_profile *p, const tc_pubkey *key,
                    const tc_addr_hash *by, uint64_t height)
{
    TC_ASSERT(txn != NULL && p != NULL && key != NULL && by != NULL);
    uint32_t from = 0;
    int rc = next_epoch(p, height, &from);
    if (rc != 0)
        return rc;
    tc_mn_record rec;
    rc = tc_mnreg_get(txn, key, &rec);
    if (rc != 0)
        return rc;
    if (memcmp(rec.owner.b, by->b, TC_ADDR_HASH_SIZE) != 0)
        return TC_EMN_NOT_OWNER;
    if (rec.retire_epoch != TC_MNREG_EPOCH_NONE)
        return TC_EMN_UNKNOWN; /* retiring already: no live masternode to retire */
    rec.retire_epoch = from;
    return record_put(txn, &rec);
}

int tc_mnreg_burn(tc_store_txn *txn, const tc_profile *p, const tc_pubkey *key, uint64_t height,
                  tc_outpoint *collateral_out)
{
    TC_ASSERT(txn != NULL && p != NULL && key != NULL && collateral_out != NULL);
    memset(collateral_out, 0, sizeof(*collateral_out));
    uint32_t from = 0;
    int rc = next_epoch(p, height, &from);
    if (rc != 0)
        return rc;
    tc_mn_record rec;
    rc = tc_mnreg_get(txn, key, &rec);
    if (rc != 0)
        return rc;
    if (rec.burned)
        return TC_EEXIST;
    if (from < rec.retire_epoch)
        rec.retire_epoch = from;
    rec.burned = true;
    rc = record_put(txn, &rec);
    if (rc == 0)
        *collateral_out = rec.collateral;
    return rc;
}

/* ---- validator sets ---- */

void tc_vset_deinit(tc_vset *v)
{
    if (v == NULL)
        return;
    free(v->members);
    memset(v, 0, sizeof(*v));
}

/* W and the sortedness invariant, shared by both constructors. */
static void vset_finish(tc_vset *v)
{
    uint64_t w = 0;
    for (uint32_t i = 0; i < v->count; i++) {
        if (i > 0)
            TC_ASSERT(memcmp(v->members[i - 1].key.b, v->members[i].key.b, TC_PUBKEY_SIZE) < 0);
        w += v->members[i].weight; /* <= 4096 * (2^32 - 1): cannot overflow */
    }
    v->weight_total = w;
}

int tc_vset_build(tc_store_txn *txn, const tc_profile *p, uint32_t epoch, tc_vset *out)
{
    TC_ASSERT(txn != NULL && p != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    out->epoch = epoch;
    uint32_t cap = p->validators_max < TC_COMMIT_SIGS_MAX ? p->validators_max : TC_COMMIT_SIGS_MAX;
    uint32_t n = 0;
    int rc = scan_active(txn, p, epoch, cap, NULL, &n);
    if (rc != 0) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    if (n == 0)
        return 0; /* an empty set: W = 0, certifies nothing */
    out->members = tc_calloc(n, sizeof(*out->members));
    if (out->members == NULL) {
        memset(out, 0, sizeof(*out));
        return TC_ENOMEM;
    }
    uint32_t filled = 0;
    rc = scan_active(txn, p, epoch, n, out->members, &filled);
    if (rc != 0) {
        tc_vset_deinit(out);
        return rc;
    }
    TC_ASSERT(filled == n); /* one transaction, no write in between: the same records */
    out->count = n;
    vset_finish(out);
    return 0;
}

static int member_cmp(const void *a, const void *b)
{
    const tc_vset_member *x = a;
    const tc_vset_member *y = b;
    return memcmp(x->key.b, y->key.b, TC_PUBKEY_SIZE);
}

int tc_vset_from_members(uint32_t epoch, const tc_vset_member *members, uint32_t count,
                         tc_vset *out)
{
    TC_ASSERT(out != NULL && (members != NULL || count == 0));
    memset(out, 0, sizeof(*out));
    if (count > TC_COMMIT_SIGS_MAX)
        return TC_EFULL;
    out->epoch = epoch;
    if (count == 0)
        return 0;
    out->members = tc_malloc(count * sizeof(*out->members));
    if (out->members == NULL) {
        memset(out, 0, sizeof(*out));
        return TC_ENOMEM;
    }
    memcpy(out->members, members, count * sizeof(*out->members));
    qsort(out->members, count, sizeof(*out->members), member_cmp);
    for (uint32_t i = 1; i < count; i++) {
        if (member_cmp(&out->members[i - 1], &out->members[i]) == 0) {
            tc_vset_deinit(out);
            return TC_EEXIST;
        }
    }
    out->count = count;
    vset_finish(out);
    return 0;
}

int tc_vset_copy(tc_vset *dst, const tc_vset *src)
{
    TC_ASSERT(dst != NULL && src != NULL && dst != src);
    TC_ASSERT(src->count == 0 || src->members != NULL);
    *dst = *src;
    dst->members = NULL;
    if (src->count == 0)
        return 0;
    dst->members = tc_malloc(src->count * sizeof(*dst->members));
    if (dst->members == NULL) {
        memset(dst, 0, sizeof(*dst));
        return TC_ENOMEM;
    }
    memcpy(dst->members, src->members, src->count * sizeof(*dst->members));
    return 0;
}

void tc_vset_hash(const tc_vset *v, tc_hash *out)
{
    TC_ASSERT(v != NULL && out != NULL);
    TC_ASSERT(v->count == 0 || v->members != NULL);
    tc_hasher h;
    uint8_t buf[TC_PUBKEY_SIZE + 1 + 4];
    tc_writer w;
    size_t len = 0;
    tc_hasher_init(&h, TC_TAG_VSET);
    tc_writer_init(&w, buf, sizeof(buf));
    tc_put_u32(&w, v->epoch);
    tc_put_u32(&w, v->count);
    TC_ASSERT(tc_writer_finish(&w, &len) == 0);
    tc_hasher_update(&h, buf, len);
    for (uint32_t i = 0; i < v->count; i++) {
        tc_writer_init(&w, buf, sizeof(buf));
        tc_put_raw(&w, v->members[i].key.b, TC_PUBKEY_SIZE);
        tc_put_u8(&w, v->members[i].tier);
        tc_put_u32(&w, v->members[i].weight);
        TC_ASSERT(tc_writer_finish(&w, &len) == 0 && len == sizeof(buf));
        tc_hasher_update(&h, buf, len);
    }
    tc_hasher_final(&h, out);
}

uint64_t tc_quorum_weight(uint64_t weight_total)
{
    /* floor(2W/3) = 2*floor(W/3) + floor(2*(W%3)/3), with no 2W that could overflow. */
    uint64_t q = weight_total / 3;
    uint64_t r = weight_total % 3;
    uint64_t two_thirds = 2 * q + (2 * r) / 3;
    TC_ASSERT(two_thirds < UINT64_MAX);
    return two_thirds + 1;
}

uint64_t tc_skip_weight(uint64_t weight_total)
{
    return weight_total / 3 + 1;
}

uint64_t tc_vset_quorum(const tc_vset *v)
{
    TC_ASSERT(v != NULL);
    return tc_quorum_weight(v->weight_total);
}

uint64_t tc_vset_skip_threshold(const tc_vset *v)
{
    TC_ASSERT(v != NULL);
    return tc_skip_weight(v->weight_total);
}

int tc_vset_find(const tc_vset *v, const tc_pubkey *key, uint32_t *index_out)
{
    TC_ASSERT(v != NULL && key != NULL && index_out != NULL);
    uint32_t lo = 0;
    uint32_t hi = v->count;
    *index_out = UINT32_MAX;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = memcmp(v->members[mid].key.b, key->b, TC_PUBKEY_SIZE);
        if (c == 0) {
            *index_out = mid;
            return 0;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return TC_ENOTFOUND;
}

int tc_vset_weight_of_bitmap(const tc_vset *v, const uint8_t *bitmap, uint32_t bitmap_len,
                             uint64_t *weight_out)
{
    TC_ASSERT(v != NULL && weight_out != NULL && (bitmap != NULL || bitmap_len == 0));
    uint64_t w = 0;
    *weight_out = 0;
    for (uint32_t i = 0; i < bitmap_len; i++) {
        for (uint32_t bit = 0; bit < 8; bit++) {
            if ((bitmap[i] >> bit & 1u) == 0)
                continue;
            uint64_t idx = (uint64_t)i * 8 + bit;
            if (idx >= v->count)
                return TC_ERANGE;
            w += v->members[idx].weight;
        }
    }
    *weight_out = w;
    return 0;
}

/* Indexes in range and strictly increasing; *weight_out = their total weight. */
static bool signers_ok(const tc_commit *c, const tc_vset *v, uint64_t *weight_out)
{
    uint64_t w = 0;
    *weight_out = 0;
    TC_ASSERT(c->sig_count == 0 || c->sigs != NULL);
    for (uint32_t i = 0; i < c->sig_count; i++) {
        uint32_t idx = c->sigs[i].validator;
        if (idx >= v->count || (i > 0 && idx <= c->sigs[i - 1].validator))
            return false;
        w += v->members[idx].weight;
    }
    *weight_out = w;
    return true;
}

int tc_commit_verify(const tc_commit *c, const tc_vset *v, const tc_verifier *verifier,
                     uint64_t height, const tc_hash *block)
{
    static const tc_hash nil;
    TC_ASSERT(c != NULL && v != NULL && verifier != NULL && block != NULL);
    TC_ASSERT(v->count == 0 || v->members != NULL);
    if (c->height != height || memcmp(c->block.b, block->b, TC_HASH_SIZE) != 0)
        return TC_EBLK_COMMIT;
    if (memcmp(block->b, nil.b, TC_HASH_SIZE) == 0)
        return TC_EBLK_COMMIT; /* precommits for nil commit nothing */
    uint64_t w = 0;
    if (!signers_ok(c, v, &w) || w < tc_vset_quorum(v))
        return TC_EBLK_COMMIT;
    /* Signatures last: a certificate that fails the cheap checks costs no verification. */
    for (uint32_t i = 0; i < c->sig_count; i++) {
        tc_vote vote;
        tc_commit_vote(c, i, &vote);
        if (tc_vote_verify(&vote, verifier, &v->members[vote.validator].key) != 0)
            return TC_EBLK_COMMIT;
    }
    return 0;
}

static int locks_verify(const tc_evidence *e, const tc_vset *v, const tc_verifier *verifier)
{
    const tc_pubkey *key = &v->members[e->batch_a.validator].key;
    const tc_vote_batch *batches[2] = {&e->batch_a, &e->batch_b};
    for (int i = 0; i < 2; i++) {
        tc_hash h;
        tc_vote_batch_sign_hash(batches[i], &h);
        if (tc_verify(verifier, key, &h, &batches[i]->sig) != 0)
            return TC_EBLK_EVIDENCE;
    }
    return 0;
}

static int handoffs_verify(const tc_evidence *e, const tc_vset *v, const tc_verifier *verifier)
{
    const tc_pubkey *key = &v->members[e->handoff_a.validator].key;
    const tc_handoff *handoffs[2] = {&e->handoff_a, &e->handoff_b};
    for (int i = 0; i < 2; i++) {
        tc_hash h;
        tc_handoff_sign_hash(handoffs[i], &h);
        if (tc_verify(verifier, key, &h, &handoffs[i]->sig) != 0)
            return TC_EBLK_EVIDENCE;
    }
    return 0;
}

int tc_evidence_verify(const tc_evidence *e, const tc_vset *v, const tc_verifier *verifier)
{
    TC_ASSERT(e != NULL && v != NULL && verifier != NULL);
    if (tc_evidence_check_shape(e) != 0 || tc_evidence_validator(e) >= v->count)
        return TC_EBLK_EVIDENCE;
    if (e->kind == TC_EVIDENCE_DOUBLE_LOCK || e->kind == TC_EVIDENCE_BATCH_EQUIVOCATION)
        return locks_verify(e, v, verifier);
    if (e->kind == TC_EVIDENCE_HANDOFF_EQUIVOCATION)
        return handoffs_verify(e, v, verifier);
    const tc_pubkey *key = &v->members[e->a.validator].key;
    if (tc_vote_verify(&e->a, verifier, key) != 0 || tc_vote_verify(&e->b, verifier, key) != 0)
        return TC_EBLK_EVIDENCE;
    return 0;
}

uint64_t tc_evidence_epoch(const tc_evidence *e, const tc_profile *p)
{
    TC_ASSERT(e != NULL && p != NULL);
    if (e->kind == TC_EVIDENCE_DOUBLE_LOCK || e->kind == TC_EVIDENCE_BATCH_EQUIVOCATION)
        return e->batch_a.epoch;
    if (e->kind == TC_EVIDENCE_HANDOFF_EQUIVOCATION)
        return e->handoff_a.epoch;
    return tc_mnreg_epoch(p, e->a.height);
}

/* ---- rewards ---- */

int tc_reward_split_signers(const tc_vset *v, const tc_commit *last_commit, uint64_t amount,
                            uint64_t *shares, uint64_t *remainder_out)
{
    TC_ASSERT(v != NULL && last_commit != NULL && remainder_out != NULL);
    TC_ASSERT(shares != NULL || v->count == 0);
    if (v->count > 0)
        memset(shares, 0, v->count * sizeof(*shares));
    *remainder_out = 0;
    uint64_t signer_weight = 0;
    if (!signers_ok(last_commit, v, &signer_weight))
        return TC_EBLK_COMMIT;
    if (signer_weight == 0) {
        *remainder_out = amount; /* no signers (height 1): the proposer takes all */
        return 0;
    }
    uint64_t paid = 0;
    for (uint32_t i = 0; i < last_commit->sig_count; i++) {
        uint32_t idx = last_commit->sigs[i].validator;
        u128 num = (u128)amount * v->members[idx].weight;
        shares[idx] = (uint64_t)(num / signer_weight); /* <= amount since weight <= S */
        paid += shares[idx];
    }
    /* sum floor(amount * w_i / S) <= amount * sum(w_i) / S = amount. */
    TC_ASSERT(paid <= amount);
    *remainder_out = amount - paid;
    return 0;
}

int tc_reward_split(const tc_vset *v, const tc_commit *last_commit, uint64_t amount,
                    uint32_t proposer_index, uint64_t *shares)
{
    TC_ASSERT(v != NULL && last_commit != NULL);
    TC_ASSERT(shares != NULL || v->count == 0);
    if (v->count > 0)
        memset(shares, 0, v->count * sizeof(*shares));
    if (proposer_index >= v->count)
        return TC_EBLK_PROPOSER;
    uint64_t rest = 0;
    int rc = tc_reward_split_signers(v, last_commit, amount, shares, &rest);
    if (rc != 0)
        return rc;
    shares[proposer_index] += rest; /* the total stays amount, so no overflow */
    return 0;
}
