/* finality.c — instant finality (PROTOCOL 11): own votes, vote batches, tally, certificates,
 * re-gossip and the epoch handoff (see finality.h). */
#include "finality.h"

#include <stdlib.h>
#include <string.h>

#include "utxo.h"

#define NONE    UINT32_MAX
#define KEY_LEN (TC_HASH_SIZE + 4) /* map keys: a txid, or an outpoint */

_Static_assert(sizeof(tc_hash) == TC_HASH_SIZE, "txid arrays are contiguous bytes");
_Static_assert(TC_VOTE_BATCH_TXIDS_HARD_MAX <= UINT32_MAX / TC_HASH_SIZE, "count fits");

/* Store keys (TC_TABLE_LOCKS). */
#define KEY_SEQ        "fin/seq"
#define KEY_HANDOFF    "fin/handoff"
#define KEY_HLIST      "fin/hlist" /* u32 epoch LE | txids: the signed handoff's list */
#define KEY_VOTE       "fin/vote/"
#define KEY_VOTE_LEN   9
#define VOTE_KEY_SIZE  (KEY_VOTE_LEN + 4 + TC_HASH_SIZE)
#define DELETE_CHUNK   64 /* vote records deleted per cursor pass */
#define MAP_CAP_MIN    64u
#define VOTE_REC_FIXED (8 + 4)
_Static_assert(TC_OUTPOINT_SIZE == TC_HASH_SIZE + 4, "a vote record input is txid | u32 index");

/* Entry flags. */
enum {
    F_HAVE = 1,        /* inputs known (the body arrived, or an own-vote record gave them) */
    F_FINALIZED = 2,   /* inputs SpentFinalized here, FINALIZED queued: sticky */
    F_CONFLICT = 4,    /* CONFLICT reported for it: once */
    F_CARRIED = 8,     /* in the carry list of the current epoch */
    F_QUEUED = 16,     /* voted on after the handoff: waits for the next epoch */
    F_DUP_INPUTS = 32, /* lists an outpoint twice (a form check refuses that; records could not) */
};

typedef struct {
    uint8_t k[KEY_LEN];
    uint32_t v; /* NONE: empty slot */
} mslot;

/* Open addressing with linear probing and backward-shift deletion: no tombstones, so probe
 * lengths stay short however many deletions happen. Lookups never reach an output's order. */
typedef struct {
    mslot *s;
    uint32_t cap; /* power of two */
    uint32_t n;
} map;

typedef struct {
    tc_hash txid;
    uint32_t prev, next; /* arrival list; next doubles as the free-list link */
    uint32_t input_count;
    tc_outpoint *inputs; /* owns one block that also holds in_set */
    uint32_t *in_set;    /* per input, its spender set in f->sp: no outpoint index lookups */
    tc_batch_ref *votes; /* sorted by validator: the first stored batch of each naming txid */
    uint32_t vote_count, vote_cap;
    uint64_t weight;
    uint64_t own_seq; /* the own batch naming it in this epoch; 0: not voted */
    uint32_t mark;
    uint32_t born_pass; /* f->rg_passes when it was first tracked */
    uint8_t flags;
    bool used;
} txe;

typedef struct {
    uint32_t tx[TC_FINALITY_SPENDERS_MAX];
    uint32_t n; /* NONE: free, tx[0] links the free list */
} spset;

typedef struct {
    tc_vote_batch b; /* owns txids */
    tc_hash sign_hash;
    uint32_t live; /* vote refs of tracked transactions pointing at this batch */
    uint32_t next_free;
    uint32_t born_pass; /* f->rg_passes when it was stored */
    bool used;
} bslot;

/* A validator's stored batches in seq order. The seqs sit in their own array, beside the slot
 * indices, so a lookup's binary search reads a few contiguous cache lines instead of one bslot
 * per probe. Both arrays live in one allocation that starts at seq (vb_ready). The capacity
 * grows by doubling up to batch_window: every node keeps such a pair for every validator, so a
 * full window allocated up front cost 12 KiB per validator per node, 12 GiB at 1,024 validators
 * (results/reference/README.md, "Where the memory goes"), while a validator has a few batches
 * stored at a time. */
typedef struct {
    uint64_t *seq;  /* seq[i] == f->bs[slot[i]].b.seq, increasing; capacity cap */
    uint32_t *slot; /* slot indices, same order */
    uint32_t n;
    uint32_t cap;     /* n <= cap <= batch_window */
    bool equivocated; /* signed two batches with one seq this epoch: left out of certificates */
} vbatches;

typedef struct {
    uint8_t kind;
    uint32_t validator;
    uint64_t seq, seq2;
    tc_hash txid, txid2, hash2;
    tc_outpoint outpoint;
} evrec;

struct tc_finality {
    tc_profile p;
    const tc_verifier *verifier;
    tc_finality_limits lim;
    tc_vset vset;
    uint64_t quorum;
    bool has_key;
    tc_keypair key;
    uint32_t me; /* index in vset, NONE if not a member */
    bool handed_off;
    uint64_t next_seq;

    tc_hash *pend; /* own pending batch, capacity vote_batch_txids_max */
    uint32_t pend_n;
    uint64_t pend_seq;
    uint64_t pend_deadline;

    txe *tx;
    uint32_t tx_cap, tx_hw, tx_free; /* slab capacity, high-water mark, free list */
    uint32_t tx_count, orphans, queued, have_count;
    uint32_t head, tail; /* arrival list */
    map txmap;

    map opmap; /* outpoint -> spset index */
    spset *sp;
    uint32_t sp_cap, sp_hw, sp_free;
    uint32_t inputs;

    bslot *bs;
    uint32_t bs_cap, bs_hw, bs_free;
    uint32_t batches, batch_txids;
    vbatches *vb; /* one per member of vset */

    evrec *ev; /* ring of ev_cap, doubled from EV_CAP_MIN up to lim.event_max as needed */
    uint32_t ev_head, ev_n, ev_cap;

    uint8_t rg_phase;   /* 0 idle, 1 transactions, 2 batches */
    uint32_t rg_passes; /* passes started, plus one once the store is recovered */
    uint32_t rg_tx, rg_v;
    uint64_t rg_seq;
    bool rv_active;
    uint32_t rv_tx;
    /* Some carried transaction's body is unknown here, so its outpoints are not reserved: this
     * validator defers every vote (TC_FINALITY_DEFERRED) until the bodies are known or the
     * node gives up fetching them (PROTOCOL 11.8 step 8); the REVOTE pass runs then. */
    bool bodies_wait;
    uint64_t regossip_at;
    uint32_t mark_gen;
    /* Spender sets with two or more members (a transaction listing an outpoint twice counts):
     * while there is none, no transaction shares an input with another and lockeq_check has
     * nothing to report, so a vote skips it. */
    uint32_t shared_sets;

    uint8_t *scratch;
    size_t scratch_cap;

    uint64_t votes_dropped, batches_evicted, events_dropped;

    /* The previous epoch, kept for the transactions it carried into this one (PROTOCOL
     * 11.8): its set, the certificates of the carried transactions that were final here in
     * it (pc), and its batches that those or a peer's certificates reference (pb). A carried
     * transaction final in the old epoch may get no fresh quorum (a rival is carried too:
     * nobody votes for either), so its old certificate is what confirms it. */
    bool has_prev;
    tc_vset prev;
    uint64_t prev_quorum;
    tc_hash *pc_txid;
    tc_fincert *pc;
    uint32_t pc_n;
    tc_vote_batch *pb;
    tc_hash *pb_hash; /* sign hashes of pb */
    uint32_t pb_n;
};

/* ---- vote batch value type ---- */

static int hash_cmp(const void *a, const void *b)
{
    return memcmp(a, b, TC_HASH_SIZE);
}

static bool hash_eq(const tc_hash *a, const tc_hash *b)
{
    return memcmp(a->b, b->b, TC_HASH_SIZE) == 0;
}

/* ---- map ---- */

static uint32_t map_home(const map *m, const uint8_t *k)
{
    uint64_t a, b;
    uint32_t c;
    memcpy(&a, k, 8);
    memcpy(&b, k + 8, 8);
    memcpy(&c, k + TC_HASH_SIZE, 4);
    uint64_t h = (a ^ (b * UINT64_C(0x9e3779b97f4a7c15)) ^ c) * UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 32;
    return (uint32_t)h & (m->cap - 1);
}

static uint32_t map_find(const map *m, const uint8_t *k)
{
    if (m->cap == 0)
        return NONE;
    for (uint32_t i = map_home(m, k);; i = (i + 1) & (m->cap - 1)) {
        if (m->s[i].v == NONE)
            return NONE;
        if (memcmp(m->s[i].k, k, KEY_LEN) == 0)
            return m->s[i].v;
    }
}

static void map_insert_raw(map *m, const uint8_t *k, uint32_t v)
{
    uint32_t i = map_home(m, k);
    while (m->s[i].v != NONE)
        i = (i + 1) & (m->cap - 1);
    memcpy(m->s[i].k, k, KEY_LEN);
    m->s[i].v = v;
    m->n++;
}

/* Grows at half load, so a probe meets an empty slot quickly. */
static int map_reserve(map *m)
{
    if (m->cap != 0 && (uint64_t)(m->n + 1) * 2 <= m->cap)
        return 0;
    uint32_t cap = m->cap == 0 ? MAP_CAP_MIN : m->cap * 2;
    if (cap == 0 || cap > (UINT32_MAX >> 1))
        return TC_EFULL;
    mslot *s = tc_malloc((size_t)cap * sizeof(*s));
    if (s == NULL)
        return TC_ENOMEM;
    for (uint32_t i = 0; i < cap; i++)
        s[i].v = NONE;
    map old = *m;
    m->s = s;
    m->cap = cap;
    m->n = 0;
    for (uint32_t i = 0; i < old.cap; i++)
        if (old.s[i].v != NONE)
            map_insert_raw(m, old.s[i].k, old.s[i].v);
    free(old.s);
    return 0;
}

static int map_put(map *m, const uint8_t *k, uint32_t v)
{
    TC_ASSERT(v != NONE);
    int rc = map_reserve(m);
    if (rc != 0)
        return rc;
    /* One probe both checks that k is absent and finds the empty slot it goes to. */
    uint32_t i = map_home(m, k);
    for (; m->s[i].v != NONE; i = (i + 1) & (m->cap - 1))
        TC_ASSERT(memcmp(m->s[i].k, k, KEY_LEN) != 0);
    memcpy(m->s[i].k, k, KEY_LEN);
    m->s[i].v = v;
    m->n++;
    return 0;
}

static void map_del(map *m, const uint8_t *k)
{
    TC_ASSERT(m->cap != 0);
    uint32_t mask = m->cap - 1, i = map_home(m, k);
    while (memcmp(m->s[i].k, k, KEY_LEN) != 0 || m->s[i].v == NONE) {
        TC_ASSERT(m->s[i].v != NONE);
        i = (i + 1) & mask;
    }
    m->s[i].v = NONE;
    m->n--;
    for (uint32_t j = (i + 1) & mask; m->s[j].v != NONE; j = (j + 1) & mask) {
        uint32_t h = map_home(m, m->s[j].k);
        /* Move j back into the hole unless its home lies cyclically in (i, j]. */
        if (((j - h) & mask) >= ((j - i) & mask)) {
            m->s[i] = m->s[j];
            m->s[j].v = NONE;
            i = j;
        }
    }
}

static void key_txid(uint8_t k[KEY_LEN], const tc_hash *txid)
{
    memcpy(k, txid->b, TC_HASH_SIZE);
    memset(k + TC_HASH_SIZE, 0, 4);
}

static void key_op(uint8_t k[KEY_LEN], const tc_outpoint *op)
{
    tc_outpoint_key(op, k);
}

/* ---- events ---- */

/* Doubles the event ring, its events moved in order to the front: a call queues a few events,
 * while the bound (8 x vote_batch_txids_max + 1,024) allocated up front was 819 KB a node, 840 MB
 * at 1,024 nodes. false at the bound or out of memory (the event is then dropped and counted). */
#define EV_CAP_MIN 64u
static bool ev_grow(tc_finality *f)
{
    if (f->ev_cap == f->lim.event_max)
        return false;
    uint32_t cap = f->ev_cap > f->lim.event_max / 2 ? f->lim.event_max : f->ev_cap * 2;
    evrec *ev = tc_malloc((size_t)cap * sizeof(*ev));
    if (ev == NULL)
        return false;
    for (uint32_t i = 0; i < f->ev_n; i++)
        ev[i] = f->ev[(f->ev_head + i) % f->ev_cap];
    free(f->ev);
    f->ev = ev;
    f->ev_head = 0;
    f->ev_cap = cap;
    return true;
}

static void ev_push(tc_finality *f, const evrec *e)
{
    TC_ASSERT(f->ev_n <= f->ev_cap && f->ev_cap <= f->lim.event_max);
    if (f->ev_n == f->ev_cap && !ev_grow(f)) {
        f->events_dropped++;
        return;
    }
    f->ev[(f->ev_head + f->ev_n) % f->ev_cap] = *e;
    f->ev_n++;
}

static void ev_simple(tc_finality *f, tc_finality_event_kind kind, uint32_t validator, uint64_t seq,
                      const tc_hash *txid)
{
    evrec e;
    memset(&e, 0, sizeof(e));
    e.kind = (uint8_t)kind;
    e.validator = validator;
    e.seq = seq;
    if (txid != NULL)
        e.txid = *txid;
    ev_push(f, &e);
}

/* ---- tracked transactions ---- */

static uint32_t tx_find(const tc_finality *f, const tc_hash *txid)
{
    uint8_t k[KEY_LEN];
    key_txid(k, txid);
    return map_find(&f->txmap, k);
}

static bool prunable(const txe *e)
{
    return (e->flags & (F_HAVE | F_CARRIED)) == 0 && e->vote_count == 0 && e->own_seq == 0;
}

/* Takes a slot from the free list or grows the slab (doubling, up to tx_max). Entry pointers
 * are invalidated by growth, so callers hold indices. */
static int tx_slot(tc_finality *f, uint32_t *idx_out)
{
    if (f->tx_free != NONE) {
        *idx_out = f->tx_free;
        f->tx_free = f->tx[*idx_out].next;
        return 0;
    }
    if (f->tx_hw == f->tx_cap) {
        uint32_t cap = f->tx_cap == 0 ? 64 : f->tx_cap * 2;
        if (cap > f->lim.tx_max)
            cap = f->lim.tx_max;
        TC_ASSERT(cap > f->tx_cap);
        txe *t = tc_realloc(f->tx, (size_t)cap * sizeof(*t));
        if (t == NULL)
            return TC_ENOMEM;
        f->tx = t;
        f->tx_cap = cap;
    }
    *idx_out = f->tx_hw++;
    return 0;
}

/* Starts tracking txid (no body, no votes): an orphan until tx_set_inputs. */
static int tx_new(tc_finality *f, const tc_hash *txid, uint32_t *idx_out)
{
    *idx_out = NONE;
    if (f->tx_count >= f->lim.tx_max)
        return TC_EFULL;
    uint8_t k[KEY_LEN];
    key_txid(k, txid);
    int rc = map_reserve(&f->txmap);
    if (rc != 0)
        return rc;
    uint32_t idx;
    rc = tx_slot(f, &idx);
    if (rc != 0)
        return rc;
    txe *e = &f->tx[idx];
    memset(e, 0, sizeof(*e));
    e->txid = *txid;
    e->used = true;
    e->born_pass = f->rg_passes;
    e->prev = f->tail;
    e->next = NONE;
    if (f->tail != NONE)
        f->tx[f->tail].next = idx;
    else
        f->head = idx;
    f->tail = idx;
    map_put(&f->txmap, k, idx); /* reserved above: cannot fail */
    f->tx_count++;
    f->orphans++;
    *idx_out = idx;
    return 0;
}

static spset *sp_of(const tc_finality *f, const tc_outpoint *op)
{
    uint8_t k[KEY_LEN];
    key_op(k, op);
    uint32_t s = map_find(&f->opmap, k);
    return s == NONE ? NULL : &f->sp[s];
}

/* Takes idx out of spender set s (op's); an input listed twice was added twice, and goes once
 * per listing. The set is freed with its last spender. */
static void sp_remove(tc_finality *f, uint32_t s, const tc_outpoint *op, uint32_t idx)
{
    TC_ASSERT(s < f->sp_hw);
    spset *set = &f->sp[s];
    TC_ASSERT(set->n != NONE && set->n > 0);
    uint32_t at = 0;
    while (at < set->n && set->tx[at] != idx)
        at++;
    TC_ASSERT(at < set->n);
    memmove(&set->tx[at], &set->tx[at + 1], (set->n - at - 1) * sizeof(uint32_t));
    if (set->n == 2) {
        TC_ASSERT(f->shared_sets > 0);
        f->shared_sets--;
    }
    set->n--;
    if (set->n == 0) {
        uint8_t k[KEY_LEN];
        key_op(k, op);
        map_del(&f->opmap, k);
        set->n = NONE;
        set->tx[0] = f->sp_free;
        f->sp_free = s;
    }
}

static int sp_new(tc_finality *f, uint32_t *s_out)
{
    if (f->sp_free != NONE) {
        *s_out = f->sp_free;
        f->sp_free = f->sp[*s_out].tx[0];
        return 0;
    }
    if (f->sp_hw == f->sp_cap) {
        uint32_t cap = f->sp_cap == 0 ? 64 : f->sp_cap * 2;
        if (cap > f->lim.inputs_max)
            cap = f->lim.inputs_max;
        if (cap <= f->sp_cap)
            return TC_EFULL;
        spset *s = tc_realloc(f->sp, (size_t)cap * sizeof(*s));
        if (s == NULL)
            return TC_ENOMEM;
        f->sp = s;
        f->sp_cap = cap;
    }
    *s_out = f->sp_hw++;
    return 0;
}

/* Adds idx to op's spender set (made on first use); *s_out gets the set, *dup is set when idx
 * was in it already (the transaction lists op twice). */
static int sp_add(tc_finality *f, const tc_outpoint *op, uint32_t idx, uint32_t *s_out, bool *dup)
{
    uint8_t k[KEY_LEN];
    key_op(k, op);
    uint32_t s = map_find(&f->opmap, k);
    if (s == NONE) {
        int rc = map_reserve(&f->opmap);
        if (rc == 0)
            rc = sp_new(f, &s);
        if (rc != 0)
            return rc;
        f->sp[s].n = 0;
        map_put(&f->opmap, k, s);
    }
    spset *set = &f->sp[s];
    if (set->n == TC_FINALITY_SPENDERS_MAX)
        return TC_EFULL;
    for (uint32_t i = 0; i < set->n; i++)
        *dup = *dup || set->tx[i] == idx;
    set->tx[set->n++] = idx;
    if (set->n == 2)
        f->shared_sets++;
    *s_out = s;
    return 0;
}

/* Records the inputs of a tracked transaction and indexes them. On failure nothing changes.
 * The outpoints and their spender sets share one allocation (e->inputs). */
static int tx_set_inputs(tc_finality *f, uint32_t idx, const tc_outpoint *ops, uint32_t n)
{
    TC_ASSERT((f->tx[idx].flags & F_HAVE) == 0);
    TC_ASSERT(n > 0);
    _Static_assert(sizeof(tc_outpoint) % _Alignof(uint32_t) == 0, "in_set follows the inputs");
    if (f->inputs + n > f->lim.inputs_max || f->inputs + n < f->inputs)
        return TC_EFULL;
    for (uint32_t i = 0; i < n; i++) {
        const spset *set = sp_of(f, &ops[i]);
        if (set != NULL && set->n == TC_FINALITY_SPENDERS_MAX)
            return TC_EFULL;
    }
    tc_outpoint *copy = tc_malloc((size_t)n * (sizeof(*copy) + sizeof(uint32_t)));
    if (copy == NULL)
        return TC_ENOMEM;
    memcpy(copy, ops, (size_t)n * sizeof(*copy));
    uint32_t *sets = (uint32_t *)(void *)(copy + n);
    bool dup = false;
    for (uint32_t i = 0; i < n; i++) {
        int rc = sp_add(f, &ops[i], idx, &sets[i], &dup);
        if (rc != 0) {
            for (uint32_t j = 0; j < i; j++)
                sp_remove(f, sets[j], &ops[j], idx);
            free(copy);
            return rc;
        }
    }
    txe *e = &f->tx[idx];
    e->inputs = copy;
    e->in_set = sets;
    e->input_count = n;
    e->flags |= F_HAVE | (dup ? F_DUP_INPUTS : 0);
    f->inputs += n;
    f->orphans--;
    f->have_count++;
    return 0;
}

/* Position of the first vote of a validator >= v: where v's vote is, or goes. */
static uint32_t vote_lower(const txe *e, uint32_t v)
{
    uint32_t lo = 0, hi = e->vote_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (e->votes[mid].validator < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint32_t vote_find(const txe *e, uint32_t v)
{
    uint32_t lo = vote_lower(e, v);
    return lo < e->vote_count && e->votes[lo].validator == v ? lo : NONE;
}

/* Inserts v's vote at pos, which vote_lower gave: the search tally made already places it,
 * so no second scan of the votes runs per vote reference. */
static int vote_add(tc_finality *f, uint32_t idx, uint32_t pos, uint32_t v, uint64_t seq)
{
    txe *e = &f->tx[idx];
    TC_ASSERT(v < f->vset.count && pos <= e->vote_count);
    TC_ASSERT(pos == e->vote_count || e->votes[pos].validator > v);
    TC_ASSERT(pos == 0 || e->votes[pos - 1].validator < v);
    if (e->vote_count == e->vote_cap) {
        /* From 16 refs (256 bytes): a tracked transaction collects votes from most of the
         * validators, and starting at 4 took five reallocations to reach 64. */
        uint32_t cap = e->vote_cap == 0 ? 16 : e->vote_cap * 2;
        if (cap > f->vset.count)
            cap = f->vset.count;
        tc_batch_ref *r = tc_realloc(e->votes, (size_t)cap * sizeof(*r));
        if (r == NULL)
            return TC_ENOMEM;
        e->votes = r;
        e->vote_cap = cap;
    }
    /* Out-of-line memmove costs more than the insertion itself when nothing moves (the vote
     * of the highest validator index so far). */
    if (pos < e->vote_count)
        memmove(&e->votes[pos + 1], &e->votes[pos], (e->vote_count - pos) * sizeof(tc_batch_ref));
    e->votes[pos].validator = v;
    e->votes[pos].seq = seq;
    e->vote_count++;
    e->weight += f->vset.members[v].weight;
    return 0;
}

static void vote_remove(tc_finality *f, txe *e, uint32_t pos)
{
    TC_ASSERT(pos < e->vote_count);
    uint32_t w = f->vset.members[e->votes[pos].validator].weight;
    TC_ASSERT(e->weight >= w);
    e->weight -= w;
    memmove(&e->votes[pos], &e->votes[pos + 1], (e->vote_count - pos - 1) * sizeof(tc_batch_ref));
    e->vote_count--;
}

/* ---- stored batches ---- */

/* Position of the first batch of v with seq >= seq. The stored seqs are distinct (a
 * (validator, seq) names at most one stored batch: batch_insert), so they are integers in
 * increasing order, seq[i] >= seq[0] + i and
 * seq[n-1] - seq[i] >= n-1 - i: that narrows the answer to one position when v's stored seqs
 * have no gaps (the usual case: a validator's batches take consecutive seqs), and the binary
 * search runs over the gaps' width only. */
static uint32_t vb_lower(const tc_finality *f, uint32_t v, uint64_t seq)
{
    const vbatches *vb = &f->vb[v];
    if (vb->n == 0 || seq <= vb->seq[0])
        return 0;
    uint32_t last = vb->n - 1;
    if (seq > vb->seq[last])
        return vb->n;
    /* seq[0] < seq <= seq[last]: the answer lies in [lo, hi], since seq[above] >= seq when
     * above <= last, and seq[i] < seq for every i < last - below. */
    uint64_t above = seq - vb->seq[0], below = vb->seq[last] - seq;
    uint32_t hi = above < last ? (uint32_t)above : last;
    uint32_t lo = below < last ? last - (uint32_t)below : 0;
    TC_ASSERT(lo <= hi);
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (vb->seq[mid] < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint32_t vb_find(const tc_finality *f, uint32_t v, uint64_t seq)
{
    if (v >= f->vset.count)
        return NONE;
    uint32_t pos = vb_lower(f, v, seq);
    const vbatches *vb = &f->vb[v];
    if (pos == vb->n || vb->seq[pos] != seq)
        return NONE;
    TC_ASSERT(f->bs[vb->slot[pos]].used && f->bs[vb->slot[pos]].b.seq == seq);
    return vb->slot[pos];
}

static bool batch_has(const tc_vote_batch *b, const tc_hash *txid)
{
    return bsearch(txid, b->txids, b->txid_count, TC_HASH_SIZE, hash_cmp) != NULL;
}

/* Frees a stored batch that no vote ref points at any more. */
static void batch_remove(tc_finality *f, uint32_t slot)
{
    bslot *s = &f->bs[slot];
    TC_ASSERT(s->used);
    uint32_t v = s->b.validator, pos = vb_lower(f, v, s->b.seq);
    vbatches *vb = &f->vb[v];
    TC_ASSERT(pos < vb->n && vb->slot[pos] == slot);
    memmove(&vb->seq[pos], &vb->seq[pos + 1], (vb->n - pos - 1) * sizeof(uint64_t));
    memmove(&vb->slot[pos], &vb->slot[pos + 1], (vb->n - pos - 1) * sizeof(uint32_t));
    vb->n--;
    TC_ASSERT(f->batches > 0 && f->batch_txids >= s->b.txid_count);
    f->batches--;
    f->batch_txids -= s->b.txid_count;
    tc_vote_batch_deinit(&s->b);
    s->used = false;
    s->next_free = f->bs_free;
    f->bs_free = slot;
}

static void cursor_skip(tc_finality *f, uint32_t idx)
{
    if (f->rg_phase == 1 && f->rg_tx == idx)
        f->rg_tx = f->tx[idx].next;
    if (f->rv_active && f->rv_tx == idx)
        f->rv_tx = f->tx[idx].next;
}

/* Forgets a tracked transaction: its votes (dropping batches left with nothing pending), its
 * inputs' index, its list links. */
static void tx_free(tc_finality *f, uint32_t idx)
{
    txe *e = &f->tx[idx];
    TC_ASSERT(e->used);
    for (uint32_t i = 0; i < e->vote_count; i++) {
        uint32_t slot = vb_find(f, e->votes[i].validator, e->votes[i].seq);
        TC_ASSERT(slot != NONE && f->bs[slot].live > 0);
        if (--f->bs[slot].live == 0)
            batch_remove(f, slot);
    }
    for (uint32_t i = 0; i < e->input_count; i++)
        sp_remove(f, e->in_set[i], &e->inputs[i], idx);
    cursor_skip(f, idx);
    if (e->prev != NONE)
        f->tx[e->prev].next = e->next;
    else
        f->head = e->next;
    if (e->next != NONE)
        f->tx[e->next].prev = e->prev;
    else
        f->tail = e->prev;
    uint8_t k[KEY_LEN];
    key_txid(k, &e->txid);
    map_del(&f->txmap, k);
    if (e->flags & F_HAVE) {
        f->have_count--;
        f->inputs -= e->input_count;
    } else {
        f->orphans--;
    }
    if (e->flags & F_QUEUED)
        f->queued--;
    free(e->inputs);
    free(e->votes);
    memset(e, 0, sizeof(*e));
    e->next = f->tx_free;
    f->tx_free = idx;
    f->tx_count--;
}

/* Evicts a stored batch for room: its votes leave the tally. */
static void batch_evict(tc_finality *f, uint32_t slot)
{
    bslot *s = &f->bs[slot];
    uint32_t v = s->b.validator;
    for (uint32_t i = 0; i < s->b.txid_count && s->live > 0; i++) {
        uint32_t idx = tx_find(f, &s->b.txids[i]);
        if (idx == NONE)
            continue;
        txe *e = &f->tx[idx];
        uint32_t pos = vote_find(e, v);
        if (pos == NONE || e->votes[pos].seq != s->b.seq)
            continue;
        vote_remove(f, e, pos);
        s->live--;
        if (prunable(e))
            tx_free(f, idx);
    }
    TC_ASSERT(s->live == 0);
    f->batches_evicted++;
    batch_remove(f, slot);
}

/* Makes room for a batch of v with seq and n txids: v's oldest batch goes when v's window is
 * full (unless the newcomer is older still: TC_EFULL), and the oldest batch of the validator
 * holding most goes while a total bound is exceeded. Deterministic: index order breaks ties. */
static int make_room(tc_finality *f, uint32_t v, uint64_t seq, uint32_t n)
{
    vbatches *vb = &f->vb[v];
    if (vb->n >= f->lim.batch_window) {
        if (seq < vb->seq[0])
            return TC_EFULL;
        batch_evict(f, vb->slot[0]);
    }
    while (f->batches + 1 > f->lim.batch_max || f->batch_txids + n > f->lim.batch_txids_max) {
        uint32_t best = NONE;
        for (uint32_t i = 0; i < f->vset.count; i++)
            if (f->vb[i].n > 0 && (best == NONE || f->vb[i].n > f->vb[best].n))
                best = i;
        if (best == NONE)
            return TC_EFULL;
        batch_evict(f, f->vb[best].slot[0]);
    }
    return 0;
}

/* Copies b into a free slot linked into v's ordered list; the caller tallies it. */
static int batch_insert(tc_finality *f, const tc_vote_batch *b, const tc_hash *sign_hash,
                        uint32_t *slot_out)
{
    tc_hash *txids = tc_malloc((size_t)b->txid_count * TC_HASH_SIZE);
    if (txids == NULL)
        return TC_ENOMEM;
    uint32_t slot = f->bs_free;
    if (slot != NONE) {
        f->bs_free = f->bs[slot].next_free;
    } else {
        if (f->bs_hw == f->bs_cap) {
            uint32_t cap = f->bs_cap == 0 ? 64 : f->bs_cap * 2;
            if (cap > f->lim.batch_max)
                cap = f->lim.batch_max;
            TC_ASSERT(cap > f->bs_cap);
            bslot *s = tc_realloc(f->bs, (size_t)cap * sizeof(*s));
            if (s == NULL) {
                free(txids);
                return TC_ENOMEM;
            }
            f->bs = s;
            f->bs_cap = cap;
        }
        slot = f->bs_hw++;
    }
    bslot *s = &f->bs[slot];
    memset(s, 0, sizeof(*s));
    s->b = *b;
    s->b.txids = txids;
    memcpy(txids, b->txids, (size_t)b->txid_count * TC_HASH_SIZE);
    s->sign_hash = *sign_hash;
    s->used = true;
    s->born_pass = f->rg_passes;
    uint32_t pos = vb_lower(f, b->validator, b->seq);
    vbatches *vb = &f->vb[b->validator];
    TC_ASSERT(vb->n < vb->cap && vb->cap <= f->lim.batch_window);
    /* Votes name a batch by (validator, seq): two stored batches with one seq would make every
     * reference to it ambiguous. Callers check (on_batch, flush; recovery starts empty). */
    TC_ASSERT(pos == vb->n || vb->seq[pos] > b->seq);
    memmove(&vb->seq[pos + 1], &vb->seq[pos], (vb->n - pos) * sizeof(uint64_t));
    memmove(&vb->slot[pos + 1], &vb->slot[pos], (vb->n - pos) * sizeof(uint32_t));
    vb->seq[pos] = b->seq;
    vb->slot[pos] = slot;
    vb->n++;
    f->batches++;
    f->batch_txids += b->txid_count;
    *slot_out = slot;
    return 0;
}

/* Grows v's seq and slot arrays so that one more batch fits (n < cap), doubling from
 * VB_CAP_MIN up to batch_window. Moving to a new block keeps seq first (8-aligned). */
#define VB_CAP_MIN 4u
static int vb_ready(tc_finality *f, uint32_t v)
{
    vbatches *vb = &f->vb[v];
    TC_ASSERT(vb->n <= vb->cap && vb->cap <= f->lim.batch_window);
    if (vb->n < vb->cap)
        return 0;
    TC_ASSERT(vb->cap < f->lim.batch_window); /* make_room evicts at a full window */
    uint32_t cap = vb->cap == 0 ? VB_CAP_MIN : vb->cap * 2;
    if (cap > f->lim.batch_window)
        cap = f->lim.batch_window;
    uint64_t *seq = tc_malloc((size_t)cap * (sizeof(uint64_t) + sizeof(uint32_t)));
    if (seq == NULL)
        return TC_ENOMEM;
    uint32_t *slot = (uint32_t *)(void *)(seq + cap);
    if (vb->n > 0) {
        memcpy(seq, vb->seq, vb->n * sizeof(uint64_t));
        memcpy(slot, vb->slot, vb->n * sizeof(uint32_t));
    }
    free(vb->seq); /* the slot array shares its block */
    vb->seq = seq;
    vb->slot = slot;
    vb->cap = cap;
    return 0;
}

/* ---- finalization and equivocation ---- */

static int is_confirmed(tc_store_txn *txn, const tc_hash *txid, bool *out)
{
    const void *v = NULL;
    size_t n = 0;
    int rc = tc_store_get(txn, TC_TABLE_TXIDX, txid->b, TC_HASH_SIZE, &v, &n);
    *out = rc == 0;
    return rc == TC_ENOTFOUND ? 0 : rc;
}

/* An input's state in this node's view, relative to the transaction spending it (txid). */
enum {
    IN_GONE = 0,         /* confirmed spent, or unknown here */
    IN_UNSPENT = 1,      /* Unspent */
    IN_LOCKED = 2,       /* Locked(txid) */
    IN_LOCKED_OTHER = 3, /* Locked(another transaction) */
    IN_FINAL = 4,        /* SpentFinalized(txid) */
    IN_FINAL_OTHER = 5,  /* SpentFinalized(another transaction) */
};

/* A store read of an input costs more than the state change that follows it, so the passes
 * that read every input before writing any (finalization, a vote) remember what they read for
 * the first INPUT_VIEW_MAX inputs and act on that instead of reading each entry again; later
 * inputs are read again. The remembered state is the store's until the write pass reaches the
 * input, since that pass writes each outpoint only when it reaches it — unless the transaction
 * lists an outpoint twice (F_DUP_INPUTS), when it reads everything again. */
#define INPUT_VIEW_MAX 64

/* Reads op's state relative to txid into *st (*holder: the locking or finalized transaction,
 * may be NULL). Codes as tc_utxo_get; *st is IN_GONE on failure. */
static int input_read(tc_store_txn *txn, const tc_outpoint *op, const tc_hash *txid, uint8_t *st,
                      tc_hash *holder)
{
    tc_utxo_entry u;
    int rc = tc_utxo_get(txn, op, &u);
    *st = IN_GONE;
    if (rc != 0)
        return rc;
    bool mine = hash_eq(&u.txid, txid);
    if (u.state == TC_UTXO_UNSPENT)
        *st = IN_UNSPENT;
    else if (u.state == TC_UTXO_LOCKED)
        *st = mine ? IN_LOCKED : IN_LOCKED_OTHER;
    else
        *st = mine ? IN_FINAL : IN_FINAL_OTHER;
    if (holder != NULL)
        *holder = u.txid;
    return 0;
}

/* input_read for finalization: an input already confirmed spent (or unknown here) is IN_GONE,
 * not an error. */
static int input_read_final(tc_store_txn *txn, const txe *e, uint32_t i, uint8_t *st,
                            tc_hash *holder)
{
    int rc = input_read(txn, &e->inputs[i], &e->txid, st, holder);
    return rc == TC_ENOTFOUND || rc == TC_ETX_SPENT_INPUT ? 0 : rc;
}

/* Reads the state of every input into view (the first INPUT_VIEW_MAX). *conflict_at gets the
 * first input SpentFinalized for another transaction, or NONE. */
static int inputs_scan(tc_store_txn *txn, const txe *e, uint8_t view[INPUT_VIEW_MAX],
                       uint32_t *conflict_at, tc_hash *other)
{
    *conflict_at = NONE;
    for (uint32_t i = 0; i < e->input_count; i++) {
        uint8_t st = IN_GONE;
        int rc = input_read_final(txn, e, i, &st, other);
        if (rc != 0)
            return rc;
        if (i < INPUT_VIEW_MAX)
            view[i] = st;
        if (st == IN_FINAL_OTHER) {
            *conflict_at = i;
            return 0;
        }
    }
    return 0;
}

/* Walks each input to SpentFinalized(txid) along legal transitions (see the header), from the
 * states inputs_scan saw. A transition the state already passed is not requested: locking
 * Locked(txid) or finalizing SpentFinalized(txid) would only read the entry again. */
static int inputs_finalize(tc_store_txn *txn, const txe *e, const uint8_t view[INPUT_VIEW_MAX])
{
    bool fresh = (e->flags & F_DUP_INPUTS) == 0;
    for (uint32_t i = 0; i < e->input_count; i++) {
        const tc_outpoint *op = &e->inputs[i];
        uint8_t st = IN_GONE;
        int rc = 0;
        if (fresh && i < INPUT_VIEW_MAX)
            st = view[i];
        else
            rc = input_read_final(txn, e, i, &st, NULL);
        TC_ASSERT(rc != 0 || st != IN_FINAL_OTHER); /* inputs_scan stops at a conflict */
        if (rc == 0 && st == IN_LOCKED_OTHER)
            rc = tc_utxo_release(txn, op);
        if (rc == 0 && (st == IN_UNSPENT || st == IN_LOCKED_OTHER))
            rc = tc_utxo_lock(txn, op, &e->txid);
        if (rc == 0 && st != IN_GONE && st != IN_FINAL)
            rc = tc_utxo_finalize(txn, op, &e->txid);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int maybe_finalize(tc_finality *f, tc_store_txn *txn, uint32_t idx)
{
    txe *e = &f->tx[idx];
    if ((e->flags & F_HAVE) == 0 || (e->flags & F_FINALIZED) || e->weight < f->quorum)
        return 0;
    uint32_t at = NONE;
    tc_hash other;
    uint8_t view[INPUT_VIEW_MAX];
    int rc = inputs_scan(txn, e, view, &at, &other);
    if (rc != 0)
        return rc;
    if (at != NONE) {
        if ((e->flags & F_CONFLICT) == 0) {
            e->flags |= F_CONFLICT;
            evrec ev;
            memset(&ev, 0, sizeof(ev));
            ev.kind = TC_FINALITY_EV_CONFLICT;
            ev.validator = NONE;
            ev.txid = e->txid;
            ev.txid2 = other;
            ev.outpoint = e->inputs[at];
            ev_push(f, &ev);
        }
        return 0;
    }
    rc = inputs_finalize(txn, e, view);
    if (rc != 0)
        return rc;
    e->flags |= F_FINALIZED;
    ev_simple(f, TC_FINALITY_EV_FINALIZED, NONE, 0, &e->txid);
    return 0;
}

static uint32_t mark_next(tc_finality *f)
{
    if (++f->mark_gen == 0)
        f->mark_gen = 1; /* 0 is what a fresh entry holds */
    return f->mark_gen;
}

/* Validator v voted for a (batch seq_a): reports each other known transaction spending one of
 * a's inputs that v voted for too, once per pair. */
static void lockeq_check(tc_finality *f, uint32_t a, uint32_t v, uint64_t seq_a)
{
    if (f->shared_sets == 0)
        return; /* every input's only spender is a itself */
    uint32_t gen = mark_next(f);
    f->tx[a].mark = gen;
    for (uint32_t i = 0; i < f->tx[a].input_count; i++) {
        const tc_outpoint *op = &f->tx[a].inputs[i];
        const spset *set = &f->sp[f->tx[a].in_set[i]];
        TC_ASSERT(set->n != NONE && set->n > 0);
        for (uint32_t j = 0; j < set->n; j++) {
            txe *b = &f->tx[set->tx[j]];
            if (b->mark == gen)
                continue;
            b->mark = gen;
            uint32_t pos = vote_find(b, v);
            if (pos == NONE)
                continue;
            evrec ev;
            memset(&ev, 0, sizeof(ev));
            ev.kind = TC_FINALITY_EV_LOCK_EQUIVOCATION;
            ev.validator = v;
            ev.txid = f->tx[a].txid;
            ev.seq = seq_a;
            ev.txid2 = b->txid;
            ev.seq2 = b->votes[pos].seq;
            ev.outpoint = *op;
            ev_push(f, &ev);
        }
    }
}

/* Counts v's vote (batch seq) for txid; *counted: the batch now holds the vote ref. */
static int tally(tc_finality *f, tc_store_txn *txn, const tc_hash *txid, uint32_t v, uint64_t seq,
                 bool *counted)
{
    *counted = false;
    uint32_t idx = tx_find(f, txid);
    if (idx == NONE) {
        bool confirmed = false;
        int rc = is_confirmed(txn, txid, &confirmed);
        if (rc != 0 || confirmed)
            return rc;
        rc = f->orphans >= f->lim.orphan_max ? TC_EFULL : tx_new(f, txid, &idx);
        if (rc == TC_EFULL) {
            f->votes_dropped++;
            return 0;
        }
        if (rc != 0)
            return rc;
    }
    const txe *e = &f->tx[idx];
    uint32_t pos = vote_lower(e, v);
    if (pos < e->vote_count && e->votes[pos].validator == v)
        return 0;
    int rc = vote_add(f, idx, pos, v, seq);
    if (rc != 0) {
        if (prunable(&f->tx[idx]))
            tx_free(f, idx);
        return rc;
    }
    *counted = true;
    if ((f->tx[idx].flags & F_HAVE) == 0)
        return 0; /* neither lockeq_check nor maybe_finalize acts without the inputs */
    lockeq_check(f, idx, v, seq);
    /* maybe_finalize's own first test, made here so that a vote below quorum or for a
     * finalized transaction (most of them) does not call it. */
    if ((f->tx[idx].flags & F_FINALIZED) || f->tx[idx].weight < f->quorum)
        return 0;
    return maybe_finalize(f, txn, idx);
}

/* Stores a verified batch and tallies it; a batch that carries no vote ref is not kept. skip
 * (NULL: none) flags txids, parallel to b's, that are not tallied: a recovered own batch's dead
 * votes (record_dead). */
static int batch_accept(tc_finality *f, tc_store_txn *txn, const tc_vote_batch *b,
                        const tc_hash *sign_hash, const bool *skip)
{
    int rc = make_room(f, b->validator, b->seq, b->txid_count);
    if (rc == 0)
        rc = vb_ready(f, b->validator);
    uint32_t slot = NONE;
    if (rc == 0)
        rc = batch_insert(f, b, sign_hash, &slot);
    if (rc != 0)
        return rc;
    for (uint32_t i = 0; i < b->txid_count && rc == 0; i++) {
        bool counted = false;
        if (skip != NULL && skip[i])
            continue;
        rc = tally(f, txn, &b->txids[i], b->validator, b->seq, &counted);
        /* Tallying never evicts, so slot stays put while the loop runs. */
        if (counted)
            f->bs[slot].live++;
    }
    if (f->bs[slot].live == 0)
        batch_remove(f, slot);
    return rc;
}

/* ---- persistence ---- */

static void put_le(uint8_t *p, uint64_t v, size_t width)
{
    for (size_t i = 0; i < width; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, size_t width)
{
    uint64_t v = 0;
    for (size_t i = 0; i < width; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void vote_prefix(uint8_t k[KEY_VOTE_LEN + 4], uint32_t epoch)
{
    memcpy(k, KEY_VOTE, KEY_VOTE_LEN);
    for (int i = 0; i < 4; i++)
        k[KEY_VOTE_LEN + i] = (uint8_t)(epoch >> (8 * (3 - i))); /* big-endian: epoch order */
}

static void vote_key(uint8_t k[VOTE_KEY_SIZE], uint32_t epoch, const tc_hash *txid)
{
    vote_prefix(k, epoch);
    memcpy(k + KEY_VOTE_LEN + 4, txid->b, TC_HASH_SIZE);
}

static int scratch_reserve(tc_finality *f, size_t n)
{
    if (n <= f->scratch_cap)
        return 0;
    uint8_t *p = tc_realloc(f->scratch, n);
    if (p == NULL)
        return TC_ENOMEM;
    f->scratch = p;
    f->scratch_cap = n;
    return 0;
}

/* Own-vote record: u64 seq | u32 input_count | input_count x (txid 32 | u32 index), LE. The
 * inputs let a restarted node release or finalize without the transaction's body. */
static int vote_record_put(tc_finality *f, tc_store_txn *txn, const tc_hash *txid, uint64_t seq,
                           const tc_tx *tx)
{
    size_t n = VOTE_REC_FIXED + (size_t)tx->input_count * TC_OUTPOINT_SIZE;
    int rc = scratch_reserve(f, n);
    if (rc != 0)
        return rc;
    /* A fixed layout of n bytes in a buffer reserved to fit: written directly, without a
     * writer's room check per field. vrec_decode reads it back. */
    uint8_t *p = f->scratch;
    put_le(p, seq, 8);
    put_le(p + 8, tx->input_count, 4);
    for (uint32_t i = 0; i < tx->input_count; i++) {
        uint8_t *q = p + VOTE_REC_FIXED + (size_t)i * TC_OUTPOINT_SIZE;
        memcpy(q, tx->inputs[i].prev.txid.b, TC_HASH_SIZE);
        put_le(q + TC_HASH_SIZE, tx->inputs[i].prev.index, 4);
    }
    TC_ASSERT(n <= f->scratch_cap);
    uint8_t k[VOTE_KEY_SIZE];
    vote_key(k, f->vset.epoch, txid);
    return tc_store_put(txn, TC_TABLE_LOCKS, k, sizeof(k), f->scratch, n);
}

static int u64_record_put(tc_store_txn *txn, const char *key, uint64_t v, size_t width)
{
    uint8_t buf[8];
    put_le(buf, v, width);
    return tc_store_put(txn, TC_TABLE_LOCKS, key, strlen(key), buf, width);
}

/* *out = the record's value, or dflt when absent. */
static int u64_record_get(tc_store_txn *txn, const char *key, size_t width, uint64_t dflt,
                          uint64_t *out)
{
    const void *v = NULL;
    size_t n = 0;
    int rc = tc_store_get(txn, TC_TABLE_LOCKS, key, strlen(key), &v, &n);
    *out = dflt;
    if (rc == TC_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (n != width)
        return TC_ESTORE_CORRUPT;
    *out = get_le(v, width);
    return 0;
}

/* v signed a second batch with seq (sign hash hash2) besides the stored one: reported, and
 * since nodes may hold either batch, a certificate naming (v, seq) would mean different things
 * to different nodes, so certificates leave v out from now on (tc_finality_cert_build). */
static void equivocated(tc_finality *f, uint32_t v, uint64_t seq, const tc_hash *hash2)
{
    evrec ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = TC_FINALITY_EV_EQUIVOCATION;
    ev.validator = v;
    ev.seq = seq;
    ev.hash2 = *hash2;
    ev_push(f, &ev);
    f->vb[v].equivocated = true;
}

/* ---- own votes ---- */

static void sign_own(const tc_finality *f, tc_vote_batch *b, tc_hash *sign_hash)
{
    tc_vote_batch_sign_hash(b, sign_hash);
    tc_sign(f->verifier->scheme, &f->key, sign_hash, &b->sig);
}

/* Closes the pending batch: sorted, signed, stored and tallied like anybody's, announced. */
static int flush(tc_finality *f, tc_store_txn *txn)
{
    if (f->pend_n == 0)
        return 0;
    TC_ASSERT(f->me != NONE && f->pend_seq != 0);
    qsort(f->pend, f->pend_n, TC_HASH_SIZE, hash_cmp);
    tc_vote_batch b;
    memset(&b, 0, sizeof(b));
    b.epoch = f->vset.epoch;
    b.validator = f->me;
    b.seq = f->pend_seq;
    b.txid_count = f->pend_n;
    b.txids = f->pend;
    tc_hash h;
    sign_own(f, &b, &h);
    f->pend_n = 0;
    f->pend_deadline = UINT64_MAX;
    uint32_t taken = vb_find(f, b.validator, b.seq);
    if (taken != NONE) {
        /* Another core signs with our key (twins) and its batch with this seq came first: our
         * key has signed two batches with one seq. Ours is neither stored nor sent, so here
         * (validator, seq) keeps one meaning; the equivocation is reported, and certificates
         * leave this validator out as they would for anyone's. */
        equivocated(f, b.validator, b.seq, &h);
        return 0;
    }
    int rc = batch_accept(f, txn, &b, &h, NULL);
    ev_simple(f, TC_FINALITY_EV_BATCH, b.validator, b.seq, NULL);
    return rc;
}

/* TC_ETX_LOCKED when an input is reserved for another carried transaction, or this carried
 * transaction conflicts with another carried one (PROTOCOL 11.8: those stay locked). */
static int carried_check(const tc_finality *f, const tc_tx *tx, const tc_hash *txid)
{
    for (uint32_t i = 0; i < tx->input_count; i++) {
        const spset *set = sp_of(f, &tx->inputs[i].prev);
        for (uint32_t j = 0; set != NULL && j < set->n; j++) {
            const txe *other = &f->tx[set->tx[j]];
            if ((other->flags & F_CARRIED) && !hash_eq(&other->txid, txid))
                return TC_ETX_LOCKED;
        }
    }
    return 0;
}

/* Whether this validator voted, in this epoch, for another transaction spending one of tx's
 * inputs. Own votes of the epoch stay tracked (a restart recovers them), so the answer survives
 * what the store forgets: a quorum finalizing a rival over the own lock overwrites it. */
static bool own_rival(const tc_finality *f, const tc_tx *tx, const tc_hash *txid)
{
    for (uint32_t i = 0; i < tx->input_count; i++) {
        const spset *set = sp_of(f, &tx->inputs[i].prev);
        for (uint32_t j = 0; set != NULL && j < set->n; j++) {
            const txe *other = &f->tx[set->tx[j]];
            if (other->own_seq != 0 && !hash_eq(&other->txid, txid))
                return true;
        }
    }
    return false;
}

/* Every input must be Unspent or already this transaction's in this node's view. The states
 * read go to view (the first INPUT_VIEW_MAX), for locks_take. *final_out: the transaction is
 * SpentFinalized here already (finalization writes every input at once, so one input says it). */
static int locks_check(tc_store_txn *txn, const tc_tx *tx, const tc_hash *txid,
                       uint8_t view[INPUT_VIEW_MAX], bool *final_out)
{
    *final_out = false;
    for (uint32_t i = 0; i < tx->input_count; i++) {
        uint8_t st = IN_GONE;
        int rc = input_read(txn, &tx->inputs[i].prev, txid, &st, NULL);
        if (rc != 0)
            return rc;
        if (i < INPUT_VIEW_MAX)
            view[i] = st;
        if (st == IN_LOCKED_OTHER || st == IN_FINAL_OTHER)
            return TC_ETX_LOCKED;
        *final_out |= st == IN_FINAL;
    }
    return 0;
}

/* Locks every Unspent input, from the states locks_check saw (view), or read again when view
 * is NULL. An input listed twice is locked twice, the second time a no-op (tc_utxo_lock). */
static int locks_take(tc_store_txn *txn, const tc_tx *tx, const tc_hash *txid, const uint8_t *view)
{
    for (uint32_t i = 0; i < tx->input_count; i++) {
        uint8_t st = IN_GONE;
        int rc = 0;
        if (view != NULL && i < INPUT_VIEW_MAX)
            st = view[i];
        else
            rc = input_read(txn, &tx->inputs[i].prev, txid, &st, NULL);
        if (rc == 0 && st == IN_UNSPENT)
            rc = tc_utxo_lock(txn, &tx->inputs[i].prev, txid);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Opens a batch when none is pending: its seq is persisted first, so it is never reused. */
static int pend_open(tc_finality *f, tc_store_txn *txn, uint64_t now_ms)
{
    if (f->pend_n > 0)
        return 0;
    TC_ASSERT(f->next_seq < UINT64_MAX);
    int rc = u64_record_put(txn, KEY_SEQ, f->next_seq + 1, 8);
    if (rc != 0)
        return rc;
    f->pend_seq = f->next_seq++;
    f->pend_deadline = now_ms + f->p.vote_batch_interval_ms;
    return 0;
}

/* The vote itself; vote_check passed and read the inputs' states into view. Tracking the
 * transaction since then wrote its inputs only if it finalized them: then they are read again. */
static int own_vote(tc_finality *f, tc_store_txn *txn, uint64_t now_ms, uint32_t idx,
                    const tc_tx *tx, const tc_hash *txid, const uint8_t view[INPUT_VIEW_MAX])
{
    TC_ASSERT(f->me != NONE && !f->handed_off && f->tx[idx].own_seq == 0);
    bool fresh = (f->tx[idx].flags & F_FINALIZED) == 0;
    int rc = pend_open(f, txn, now_ms);
    if (rc == 0)
        rc = locks_take(txn, tx, txid, fresh ? view : NULL);
    if (rc == 0)
        rc = vote_record_put(f, txn, txid, f->pend_seq, tx);
    if (rc != 0)
        return rc;
    f->pend[f->pend_n++] = *txid;
    f->tx[idx].own_seq = f->pend_seq;
    if (f->pend_n == f->p.vote_batch_txids_max)
        return flush(f, txn);
    return 0;
}

/* ---- carried bodies (PROTOCOL 11.8 step 8) ---- */

static bool carried(const tc_finality *f, const tc_hash *txid);

/* Carried transactions whose body is unknown here, in arrival order: the first cap into out
 * (may be NULL when cap is 0); returns how many there are. */
static uint32_t carried_missing(const tc_finality *f, tc_hash *out, uint32_t cap)
{
    uint32_t n = 0;
    for (uint32_t i = f->head; i != NONE; i = f->tx[i].next) {
        if ((f->tx[i].flags & (F_CARRIED | F_HAVE)) != F_CARRIED)
            continue;
        if (n < cap)
            out[n] = f->tx[i].txid;
        n++;
    }
    return n;
}

/* Ends the wait for carried bodies: a member that has not handed off votes again, starting with
 * a REVOTE pass over every pending transaction (those deferred meanwhile included). */
static void bodies_wait_end(tc_finality *f)
{
    f->bodies_wait = false;
    if (f->me != NONE && !f->handed_off) {
        f->rv_active = true;
        f->rv_tx = f->head;
    }
}

/* After a carried body arrived or a carried transaction left: the wait ends with the last
 * missing body. */
static void bodies_wait_check(tc_finality *f)
{
    if (f->bodies_wait && carried_missing(f, NULL, 0) == 0)
        bodies_wait_end(f);
}

uint32_t tc_finality_carried_missing(const tc_finality *f, tc_hash *out, uint32_t cap)
{
    TC_ASSERT(f != NULL && (out != NULL || cap == 0));
    return carried_missing(f, out, cap);
}

bool tc_finality_is_carried(const tc_finality *f, const tc_hash *txid)
{
    TC_ASSERT(f != NULL && txid != NULL);
    return carried(f, txid);
}

bool tc_finality_bodies_waiting(const tc_finality *f)
{
    TC_ASSERT(f != NULL);
    return f->bodies_wait;
}

void tc_finality_bodies_give_up(tc_finality *f)
{
    TC_ASSERT(f != NULL);
    if (f->bodies_wait)
        bodies_wait_end(f);
}

/* ---- public: transactions, batches, time ---- */

static bool has_work(const tc_finality *f)
{
    return f->have_count > 0 || f->batches > 0;
}

/* Re-gossip runs while something is pending; the first pass comes one interval after work
 * appears, so a fresh transaction is not announced twice at once. */
static void regossip_arm(tc_finality *f, uint64_t now_ms)
{
    if (!has_work(f))
        f->regossip_at = UINT64_MAX;
    else if (f->regossip_at == UINT64_MAX)
        f->regossip_at = now_ms + f->p.regossip_interval_ms;
}

/* Tracks tx (idx: its entry, NONE if untracked) with its inputs; *idx_out gets its entry. */
static int add_tx(tc_finality *f, tc_store_txn *txn, const tc_tx *tx, const tc_hash *txid,
                  uint32_t idx, uint32_t *idx_out)
{
    TC_ASSERT(tx->input_count > 0 && tx->inputs != NULL);
    TC_ASSERT(idx == NONE || hash_eq(&f->tx[idx].txid, txid));
    bool fresh = idx == NONE;
    if (fresh) {
        int rc = tx_new(f, txid, &idx);
        if (rc != 0)
            return rc;
    }
    *idx_out = idx;
    if (f->tx[idx].flags & F_HAVE)
        return 0;
    /* The index wants outpoints only: copy them out of the inputs. */
    int rc = scratch_reserve(f, (size_t)tx->input_count * sizeof(tc_outpoint));
    if (rc == 0) {
        tc_outpoint *ops = (tc_outpoint *)(void *)f->scratch;
        for (uint32_t i = 0; i < tx->input_count; i++)
            ops[i] = tx->inputs[i].prev;
        rc = tx_set_inputs(f, idx, ops, tx->input_count);
    }
    if (rc != 0) {
        if (fresh)
            tx_free(f, idx);
        *idx_out = NONE;
        return rc;
    }
    for (uint32_t i = 0; i < f->tx[idx].vote_count; i++)
        lockeq_check(f, idx, f->tx[idx].votes[i].validator, f->tx[idx].votes[i].seq);
    if (f->tx[idx].flags & F_CARRIED)
        bodies_wait_check(f); /* its outpoints are reserved from now on */
    return maybe_finalize(f, txn, idx);
}

int tc_finality_add_tx(tc_finality *f, tc_store_txn *txn, uint64_t now_ms, const tc_tx *tx,
                       const tc_hash *txid)
{
    TC_ASSERT(f != NULL && txn != NULL && tx != NULL && txid != NULL);
    uint32_t idx = NONE;
    int rc = add_tx(f, txn, tx, txid, tx_find(f, txid), &idx);
    regossip_arm(f, now_ms);
    return rc;
}

/* What decides a vote before anything changes, so a refusal leaves f and txn untouched. idx:
 * the transaction's entry, NONE if untracked; view: see locks_check. */
static int vote_check(const tc_finality *f, tc_store_txn *txn, const tc_tx *tx, const tc_hash *txid,
                      uint32_t idx, uint8_t view[INPUT_VIEW_MAX],
                      tc_finality_vote_result *result_out)
{
    if (f->me == NONE) {
        *result_out = TC_FINALITY_NOT_VALIDATOR;
        return 0;
    }
    if (idx != NONE && f->tx[idx].own_seq != 0) {
        *result_out = TC_FINALITY_VOTED_BEFORE;
        return 0;
    }
    if (f->handed_off) {
        *result_out = TC_FINALITY_QUEUED;
        bool queued = idx != NONE && (f->tx[idx].flags & F_QUEUED);
        return queued || f->queued < f->lim.queued_max ? 0 : TC_EFULL;
    }
    /* A carried transaction's outpoints are unknown until its body arrives, so any vote now
     * could spend one of them (PROTOCOL 11.8 step 8): the REVOTE pass that ends the wait
     * brings this transaction back. */
    if (f->bodies_wait) {
        *result_out = TC_FINALITY_DEFERRED;
        return 0;
    }
    /* A quorum of others may finalize a transaction over this validator's own lock on a rival
     * (finalization outranks it): the store then shows the transaction's own SpentFinalized
     * state, not the lock, yet a vote now would name two transactions spending one outpoint in
     * one epoch, which is double-lock evidence (PROTOCOL 11.9). It is final here and needs no
     * vote. A transaction final in an earlier epoch is voted for again (its certificate must
     * be of this epoch). */
    *result_out = TC_FINALITY_VOTED;
    bool final = false;
    int rc = carried_check(f, tx, txid);
    if (rc == 0)
        rc = locks_check(txn, tx, txid, view, &final);
    if (rc == 0 && own_rival(f, tx, txid)) {
        if (!final)
            return TC_ETX_LOCKED; /* the rival's lock stands until the epoch ends */
        *result_out = TC_FINALITY_FINAL;
    }
    return rc;
}

int tc_finality_vote_tx(tc_finality *f, tc_store_txn *txn, uint64_t now_ms, const tc_tx *tx,
                        const tc_hash *txid, tc_finality_vote_result *result_out)
{
    TC_ASSERT(f != NULL && txn != NULL && tx != NULL && txid != NULL && result_out != NULL);
    tc_finality_vote_result res = TC_FINALITY_NOT_VALIDATOR;
    uint8_t view[INPUT_VIEW_MAX];
    uint32_t idx = tx_find(f, txid);
    int rc = vote_check(f, txn, tx, txid, idx, view, &res);
    *result_out = TC_FINALITY_NOT_VALIDATOR;
    if (rc == 0)
        rc = add_tx(f, txn, tx, txid, idx, &idx);
    regossip_arm(f, now_ms);
    if (rc != 0)
        return rc;
    if (res == TC_FINALITY_QUEUED && (f->tx[idx].flags & F_QUEUED) == 0) {
        f->tx[idx].flags |= F_QUEUED;
        f->queued++;
    }
    if (res == TC_FINALITY_VOTED)
        rc = own_vote(f, txn, now_ms, idx, tx, txid, view);
    if (rc == 0)
        *result_out = res;
    return rc;
}

/* ---- the previous epoch (carried transactions' certificates, PROTOCOL 11.8) ---- */

static void prev_clear(tc_finality *f)
{
    for (uint32_t i = 0; i < f->pc_n; i++)
        tc_fincert_deinit(&f->pc[i]);
    for (uint32_t i = 0; i < f->pb_n; i++)
        tc_vote_batch_deinit(&f->pb[i]);
    free(f->pc_txid);
    free(f->pc);
    free(f->pb);
    free(f->pb_hash);
    f->pc_txid = NULL;
    f->pc = NULL;
    f->pb = NULL;
    f->pb_hash = NULL;
    f->pc_n = f->pb_n = 0;
    if (f->has_prev)
        tc_vset_deinit(&f->prev);
    f->has_prev = false;
}

/* Allocates the old certificates' and batches' arrays (pc for up to carry_n, pb for
 * batch_window) and takes a copy of v as the previous set. */
static int prev_open(tc_finality *f, const tc_vset *v, uint32_t carry_n)
{
    prev_clear(f);
    int rc = tc_vset_copy(&f->prev, v);
    if (rc != 0)
        return rc;
    f->has_prev = true;
    f->prev_quorum = tc_vset_quorum(&f->prev);
    uint32_t n = carry_n == 0 ? 1 : carry_n;
    f->pc_txid = tc_malloc((size_t)n * sizeof(*f->pc_txid));
    f->pc = tc_calloc(n, sizeof(*f->pc));
    f->pb = tc_calloc(f->lim.batch_window, sizeof(*f->pb));
    f->pb_hash = tc_malloc((size_t)f->lim.batch_window * sizeof(*f->pb_hash));
    if (f->pc_txid == NULL || f->pc == NULL || f->pb == NULL || f->pb_hash == NULL) {
        prev_clear(f);
        return TC_ENOMEM;
    }
    return 0;
}

/* Linear: the old store holds only what carried transactions' certificates name. */
static uint32_t prev_batch_find(const tc_finality *f, uint32_t v, uint64_t seq)
{
    for (uint32_t i = 0; i < f->pb_n; i++)
        if (f->pb[i].validator == v && f->pb[i].seq == seq)
            return i;
    return NONE;
}

static int prev_batch_add(tc_finality *f, const tc_vote_batch *b, const tc_hash *sign_hash)
{
    if (prev_batch_find(f, b->validator, b->seq) != NONE)
        return 0;
    if (f->pb_n >= f->lim.batch_window)
        return TC_EFULL;
    int rc = tc_vote_batch_copy(&f->pb[f->pb_n], b);
    if (rc != 0)
        return rc;
    f->pb_hash[f->pb_n++] = *sign_hash;
    return 0;
}

static uint32_t prev_cert_find(const tc_finality *f, const tc_hash *txid)
{
    if (f->pc_n == 0)
        return NONE;
    const tc_hash *p = bsearch(txid, f->pc_txid, f->pc_n, TC_HASH_SIZE, hash_cmp);
    return p == NULL ? NONE : (uint32_t)(p - f->pc_txid);
}

static int fincert_copy(tc_fincert *dst, const tc_fincert *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->bitmap = tc_malloc(src->bitmap_len ? src->bitmap_len : 1);
    dst->refs = tc_malloc((size_t)(src->ref_count ? src->ref_count : 1) * sizeof(*dst->refs));
    if (dst->bitmap == NULL || dst->refs == NULL) {
        tc_fincert_deinit(dst);
        return TC_ENOMEM;
    }
    dst->epoch = src->epoch;
    dst->bitmap_len = src->bitmap_len;
    dst->ref_count = src->ref_count;
    memcpy(dst->bitmap, src->bitmap, src->bitmap_len);
    memcpy(dst->refs, src->refs, (size_t)src->ref_count * sizeof(*dst->refs));
    return 0;
}

static bool carried(const tc_finality *f, const tc_hash *txid)
{
    uint32_t idx = tx_find(f, txid);
    return idx != NONE && (f->tx[idx].flags & F_CARRIED) != 0;
}

/* A batch of the previous epoch (a fetched reference of a carried transaction's certificate):
 * checked against the previous set like one of the current epoch, kept only if it names a
 * carried transaction; it is not tallied (votes of a closed epoch make nothing final). An
 * equivocation is answered TC_EEXIST without evidence: the old epoch's batches were checked
 * for that while it ran. */
static int prev_on_batch(tc_finality *f, const tc_vote_batch *b, const tc_hash *sign_hash)
{
    if (b->validator >= f->prev.count || b->txid_count == 0 ||
        b->txid_count > f->p.vote_batch_txids_max || b->txids == NULL || b->seq == UINT64_MAX)
        return TC_ERANGE;
    for (uint32_t i = 1; i < b->txid_count; i++)
        if (hash_cmp(&b->txids[i - 1], &b->txids[i]) >= 0)
            return TC_ERANGE;
    tc_hash h = *sign_hash;
    uint32_t at = prev_batch_find(f, b->validator, b->seq);
    if (at != NONE && hash_eq(&h, &f->pb_hash[at]))
        return TC_EEXIST;
    if (tc_verify(f->verifier, &f->prev.members[b->validator].key, &h, &b->sig) != 0)
        return TC_EBADSIG;
    if (at != NONE)
        return TC_EEXIST;
    bool names_carried = false;
    for (uint32_t i = 0; i < b->txid_count && !names_carried; i++)
        names_carried = carried(f, &b->txids[i]);
    return names_carried ? prev_batch_add(f, b, &h) : TC_ERANGE;
}

/* Copies every stored batch naming a carried transaction into the old store, as far as it
 * has room (certificates' batches went first). Another node's old certificate references
 * batches this node may have received while the epoch ran: asked for again in the next one,
 * they come back as frames its seen filter has already passed and drops, so they never
 * arrive, and the block carrying that certificate is held until its propose timeout
 * (lossy-epochs, seed 8). Kept here, they need no fetch. */
static int prev_keep_votes(tc_finality *f, const tc_hash *carry, uint32_t carry_n)
{
    for (uint32_t i = 0; i < carry_n; i++) {
        uint32_t idx = tx_find(f, &carry[i]);
        for (uint32_t k = 0; idx != NONE && k < f->tx[idx].vote_count; k++) {
            const tc_batch_ref *r = &f->tx[idx].votes[k];
            uint32_t slot = vb_find(f, r->validator, r->seq);
            TC_ASSERT(slot != NONE); /* a vote ref names a stored batch */
            int rc = prev_batch_add(f, &f->bs[slot].b, &f->bs[slot].sign_hash);
            if (rc != 0)
                return rc == TC_EFULL ? 0 : rc;
        }
    }
    return 0;
}

/* Before the change leaves epoch f->vset: the certificate of every carried transaction final
 * here, and copies of the batches it references (carry is sorted, so pc is too), then the
 * other batches naming carried transactions (prev_keep_votes). A certificate that cannot be
 * built (equivocators left out) or whose batches do not fit is skipped: fresh votes of the
 * new epoch remain its way to a block. */
static int prev_keep(tc_finality *f, const tc_hash *carry, uint32_t carry_n)
{
    int rc = prev_open(f, &f->vset, carry_n);
    for (uint32_t i = 0; rc == 0 && i < carry_n; i++) {
        uint32_t idx = tx_find(f, &carry[i]);
        if (idx == NONE || (f->tx[idx].flags & F_FINALIZED) == 0)
            continue;
        tc_fincert *c = &f->pc[f->pc_n];
        rc = tc_finality_cert_build(f, &carry[i], c);
        if (rc == TC_ENOTFOUND) {
            rc = 0;
            continue;
        }
        for (uint32_t r = 0; rc == 0 && r < c->ref_count; r++) {
            uint32_t slot = vb_find(f, c->refs[r].validator, c->refs[r].seq);
            TC_ASSERT(slot != NONE); /* a vote ref names a stored batch */
            rc = prev_batch_add(f, &f->bs[slot].b, &f->bs[slot].sign_hash);
        }
        if (rc == 0) {
            f->pc_txid[f->pc_n++] = carry[i];
        } else {
            tc_fincert_deinit(c);
            rc = rc == TC_EFULL ? 0 : rc;
        }
    }
    return rc == 0 ? prev_keep_votes(f, carry, carry_n) : rc;
}

static int batch_shape(const tc_finality *f, const tc_vote_batch *b)
{
    if (b->epoch != f->vset.epoch || b->validator >= f->vset.count)
        return TC_ERANGE;
    if (b->txid_count == 0 || b->txid_count > f->p.vote_batch_txids_max || b->txids == NULL ||
        b->seq == UINT64_MAX)
        return TC_ERANGE;
    for (uint32_t i = 1; i < b->txid_count; i++)
        if (hash_cmp(&b->txids[i - 1], &b->txids[i]) >= 0)
            return TC_ERANGE;
    return 0;
}

int tc_finality_on_batch(tc_finality *f, tc_store_txn *txn, uint64_t now_ms, const tc_vote_batch *b)
{
    TC_ASSERT(f != NULL && txn != NULL && b != NULL);
    TC_ASSERT(b->txid_count == 0 || b->txids != NULL);
    tc_hash h;
    tc_vote_batch_sign_hash(b, &h);
    return tc_finality_on_batch_signed(f, txn, now_ms, b, &h);
}

int tc_finality_on_batch_signed(tc_finality *f, tc_store_txn *txn, uint64_t now_ms,
                                const tc_vote_batch *b, const tc_hash *sign_hash)
{
    TC_ASSERT(f != NULL && txn != NULL && b != NULL && sign_hash != NULL);
    if (f->has_prev && b->epoch == f->prev.epoch && b->epoch != f->vset.epoch)
        return prev_on_batch(f, b, sign_hash);
    int rc = batch_shape(f, b);
    if (rc != 0)
        return rc;
    tc_hash h = *sign_hash;
    uint32_t slot = vb_find(f, b->validator, b->seq);
    if (slot != NONE && hash_eq(&h, &f->bs[slot].sign_hash))
        return TC_EEXIST; /* the stored copy's signature was checked already */
    rc = tc_verify(f->verifier, &f->vset.members[b->validator].key, &h, &b->sig);
    if (rc != 0)
        return TC_EBADSIG;
    if (slot != NONE) {
        equivocated(f, b->validator, b->seq, &h);
        return TC_EEXIST;
    }
    rc = batch_accept(f, txn, b, &h, NULL);
    regossip_arm(f, now_ms);
    return rc;
}

int tc_finality_tick(tc_finality *f, tc_store_txn *txn, uint64_t now_ms)
{
    TC_ASSERT(f != NULL && txn != NULL);
    int rc = 0;
    if (f->pend_n > 0 && now_ms >= f->pend_deadline)
        rc = flush(f, txn);
    regossip_arm(f, now_ms);
    if (f->regossip_at != UINT64_MAX && now_ms >= f->regossip_at) {
        f->rg_phase = 1;
        f->rg_passes++;
        f->rg_tx = f->head;
        f->regossip_at = now_ms + f->p.regossip_interval_ms;
    }
    return rc;
}

uint64_t tc_finality_next_deadline(const tc_finality *f)
{
    TC_ASSERT(f != NULL);
    uint64_t d = f->pend_n > 0 ? f->pend_deadline : UINT64_MAX;
    if (has_work(f) && f->regossip_at < d)
        d = f->regossip_at;
    return d;
}

/* Releases those of ops that are Locked to txid in this node's view. */
static int release_ops(tc_store_txn *txn, const tc_hash *txid, const tc_outpoint *ops, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        tc_utxo_entry u;
        int rc = tc_utxo_get(txn, &ops[i], &u);
        if (rc == TC_ENOTFOUND || rc == TC_ETX_SPENT_INPUT)
            continue;
        if (rc == 0 && u.state == TC_UTXO_LOCKED && hash_eq(&u.txid, txid))
            rc = tc_utxo_release(txn, &ops[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int tc_finality_on_confirmed(tc_finality *f, tc_store_txn *txn, const tc_tx *tx,
                             const tc_hash *txid)
{
    TC_ASSERT(f != NULL && txn != NULL && tx != NULL && txid != NULL);
    uint32_t idx = tx_find(f, txid);
    /* Losers first: every other tracked spender of an input. Each pass removes one, so the
     * loop ends. A loser this validator voted for in this epoch keeps its locks on its other
     * inputs until the epoch ends (the change releases them from the vote records): released
     * now, they would let it vote for a second transaction spending one of them in the same
     * epoch, which is the double-lock equivocation its peers would prove against it (PROTOCOL
     * 11.9). A loser it voted for only in an earlier epoch (carried here) has no record left
     * to release them, and no vote of this epoch to protect: its locks go now, or they would
     * outlive it for good (SPEC 2: Locked returns to Unspent when a block confirms a
     * conflicting transaction). */
    for (uint32_t i = 0; i < tx->input_count; i++) {
        for (;;) {
            const spset *set = sp_of(f, &tx->inputs[i].prev);
            uint32_t loser = NONE;
            for (uint32_t j = 0; set != NULL && j < set->n && loser == NONE; j++)
                if (set->tx[j] != idx)
                    loser = set->tx[j];
            if (loser == NONE)
                break;
            const txe *e = &f->tx[loser];
            if (e->own_seq == 0) {
                int rc = release_ops(txn, &e->txid, e->inputs, e->input_count);
                if (rc != 0)
                    return rc;
            }
            tx_free(f, loser);
        }
    }
    if (idx != NONE)
        tx_free(f, idx);
    bodies_wait_check(f); /* a confirmed carried transaction needs no body any more */
    if (!has_work(f))
        f->regossip_at = UINT64_MAX;
    return 0;
}

/* ---- events ---- */

static bool ev_from_queue(tc_finality *f, tc_finality_event *out)
{
    while (f->ev_n > 0) {
        const evrec *e = &f->ev[f->ev_head];
        f->ev_head = (f->ev_head + 1) % f->ev_cap;
        f->ev_n--;
        memset(out, 0, sizeof(*out));
        out->kind = (tc_finality_event_kind)e->kind;
        out->validator = e->validator;
        out->seq = e->seq;
        out->seq2 = e->seq2;
        out->txid = e->txid;
        out->txid2 = e->txid2;
        out->hash2 = e->hash2;
        out->outpoint = e->outpoint;
        if (e->kind != TC_FINALITY_EV_BATCH && e->kind != TC_FINALITY_EV_EQUIVOCATION)
            return true;
        /* The batch may have been evicted or emptied by confirmations since: then the event
         * has nothing left to say. */
        uint32_t slot = vb_find(f, e->validator, e->seq);
        if (slot != NONE) {
            out->batch = &f->bs[slot].b;
            return true;
        }
    }
    return false;
}

static bool ev_from_revote(tc_finality *f, tc_finality_event *out)
{
    while (f->rv_active) {
        uint32_t idx = f->rv_tx;
        if (idx == NONE) {
            f->rv_active = false;
            return false;
        }
        f->rv_tx = f->tx[idx].next;
        if ((f->tx[idx].flags & F_HAVE) && f->tx[idx].own_seq == 0) {
            memset(out, 0, sizeof(*out));
            out->kind = TC_FINALITY_EV_REVOTE;
            out->validator = NONE;
            out->txid = f->tx[idx].txid;
            return true;
        }
    }
    return false;
}

static bool ev_from_regossip(tc_finality *f, tc_finality_event *out)
{
    memset(out, 0, sizeof(*out));
    out->validator = NONE;
    while (f->rg_phase == 1) {
        uint32_t idx = f->rg_tx;
        if (idx == NONE) {
            f->rg_phase = 2;
            f->rg_v = 0;
            f->rg_seq = 0;
            break;
        }
        f->rg_tx = f->tx[idx].next;
        /* Only what was pending at the previous pass already: a transaction a block confirms
         * within one interval, the usual case, never goes out twice. What a restarted node
         * recovered counts as old (tc_finality_new). */
        if ((f->tx[idx].flags & F_HAVE) && f->tx[idx].born_pass + 1 < f->rg_passes) {
            out->kind = TC_FINALITY_EV_REGOSSIP_TX;
            out->txid = f->tx[idx].txid;
            return true;
        }
    }
    while (f->rg_phase == 2 && f->rg_v < f->vset.count) {
        uint32_t pos = vb_lower(f, f->rg_v, f->rg_seq);
        if (pos == f->vb[f->rg_v].n) {
            f->rg_v++;
            f->rg_seq = 0;
            continue;
        }
        const bslot *s = &f->bs[f->vb[f->rg_v].slot[pos]];
        f->rg_seq = s->b.seq + 1; /* stored seqs are < UINT64_MAX (batch_shape) */
        if (s->born_pass + 1 >= f->rg_passes)
            continue; /* stored since the previous pass: like a transaction, not yet */
        out->kind = TC_FINALITY_EV_REGOSSIP_BATCH;
        out->validator = s->b.validator;
        out->seq = s->b.seq;
        out->batch = &s->b;
        return true;
    }
    f->rg_phase = 0;
    return false;
}

bool tc_finality_next_event(tc_finality *f, tc_finality_event *out)
{
    TC_ASSERT(f != NULL && out != NULL);
    return ev_from_queue(f, out) || ev_from_revote(f, out) || ev_from_regossip(f, out);
}

int tc_finality_batch_get(const tc_finality *f, uint32_t validator, uint64_t seq,
                          const tc_vote_batch **out)
{
    TC_ASSERT(f != NULL && out != NULL);
    uint32_t slot = vb_find(f, validator, seq);
    *out = slot == NONE ? NULL : &f->bs[slot].b;
    return slot == NONE ? TC_ENOTFOUND : 0;
}

int tc_finality_prev_batch_get(const tc_finality *f, uint32_t validator, uint64_t seq,
                               const tc_vote_batch **out)
{
    TC_ASSERT(f != NULL && out != NULL);
    uint32_t at = prev_batch_find(f, validator, seq);
    *out = at == NONE ? NULL : &f->pb[at];
    return at == NONE ? TC_ENOTFOUND : 0;
}

bool tc_finality_is_final(const tc_finality *f, const tc_hash *txid)
{
    TC_ASSERT(f != NULL && txid != NULL);
    uint32_t idx = tx_find(f, txid);
    return idx != NONE && (f->tx[idx].flags & F_FINALIZED) != 0;
}

uint64_t tc_finality_weight(const tc_finality *f, const tc_hash *txid)
{
    TC_ASSERT(f != NULL && txid != NULL);
    uint32_t idx = tx_find(f, txid);
    return idx == NONE ? 0 : f->tx[idx].weight;
}

uint32_t tc_finality_epoch(const tc_finality *f)
{
    TC_ASSERT(f != NULL);
    return f->vset.epoch;
}

uint32_t tc_finality_validator(const tc_finality *f)
{
    TC_ASSERT(f != NULL);
    return f->me;
}

int tc_finality_set_batch_interval(tc_finality *f, uint64_t now_ms, uint32_t interval_ms)
{
    TC_ASSERT(f != NULL);
    if (interval_ms == 0 || interval_ms > f->p.regossip_interval_ms)
        return TC_EINVAL;
    f->p.vote_batch_interval_ms = interval_ms;
    /* A batch open now leaves no later than the new interval allows: shortening the interval
     * must not leave it waiting for the old, longer one. */
    if (f->pend_n > 0 && f->pend_deadline > now_ms + interval_ms)
        f->pend_deadline = now_ms + interval_ms;
    return 0;
}

uint32_t tc_finality_batch_interval(const tc_finality *f)
{
    TC_ASSERT(f != NULL);
    return f->p.vote_batch_interval_ms;
}

void tc_finality_stats_get(const tc_finality *f, tc_finality_stats *out)
{
    TC_ASSERT(f != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    out->txs = f->tx_count;
    out->orphans = f->orphans;
    out->inputs = f->inputs;
    out->batches = f->batches;
    out->batch_txids = f->batch_txids;
    out->events = f->ev_n;
    out->event_ring = f->ev_cap;
    out->pending_txids = f->pend_n;
    for (uint32_t v = 0; v < f->vset.count; v++)
        out->batch_index += f->vb[v].cap;
    out->votes_dropped = f->votes_dropped;
    out->batches_evicted = f->batches_evicted;
    out->events_dropped = f->events_dropped;
}

/* ---- certificates ---- */

int tc_finality_cert_build(const tc_finality *f, const tc_hash *txid, tc_fincert *out)
{
    TC_ASSERT(f != NULL && txid != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    uint32_t idx = tx_find(f, txid);
    if (idx == NONE || f->tx[idx].weight < f->quorum) {
        /* A carried transaction final in the previous epoch: its certificate from there. */
        uint32_t at = prev_cert_find(f, txid);
        return at == NONE || !carried(f, txid) ? TC_ENOTFOUND : fincert_copy(out, &f->pc[at]);
    }
    const txe *e = &f->tx[idx];
    /* Voters in index order until Q, leaving out known equivocators (see on_batch): with
     * Byzantine weight below a third, the honest voters of a final transaction reach Q. */
    uint32_t n = 0, end = 0;
    uint64_t w = 0;
    for (; end < e->vote_count && w < f->quorum; end++) {
        uint32_t v = e->votes[end].validator;
        if (!f->vb[v].equivocated) {
            w += f->vset.members[v].weight;
            n++;
        }
    }
    if (w < f->quorum)
        return TC_ENOTFOUND;
    out->bitmap_len = (f->vset.count + 7) / 8;
    out->bitmap = tc_calloc(out->bitmap_len, 1);
    out->refs = tc_malloc((size_t)n * sizeof(*out->refs));
    if (out->bitmap == NULL || out->refs == NULL) {
        tc_fincert_deinit(out);
        return TC_ENOMEM;
    }
    out->epoch = f->vset.epoch;
    for (uint32_t i = 0; i < end; i++) {
        uint32_t v = e->votes[i].validator;
        if (f->vb[v].equivocated)
            continue;
        out->refs[out->ref_count++] = e->votes[i];
        out->bitmap[v / 8] = (uint8_t)(out->bitmap[v / 8] | (1u << (v % 8)));
    }
    TC_ASSERT(out->ref_count == n);
    return 0;
}

/* The bitmap names exactly the refs' validators, refs strictly increasing, weight >= Q. */
static int cert_shape(const tc_vset *vs, uint64_t quorum, const tc_fincert *c)
{
    if (c->ref_count == 0 || c->ref_count > vs->count || c->refs == NULL ||
        c->bitmap_len > TC_FINCERT_BITMAP_HARD_MAX || (c->bitmap_len > 0 && c->bitmap == NULL))
        return TC_EBLK_CERT;
    uint32_t bits = 0;
    for (uint32_t i = 0; i < c->bitmap_len; i++)
        for (uint8_t x = c->bitmap[i]; x != 0; x &= (uint8_t)(x - 1))
            bits++;
    if (bits != c->ref_count)
        return TC_EBLK_CERT;
    for (uint32_t i = 0; i < c->ref_count; i++) {
        uint32_t v = c->refs[i].validator;
        if (v >= vs->count || (i > 0 && v <= c->refs[i - 1].validator) || v / 8 >= c->bitmap_len ||
            (c->bitmap[v / 8] & (1u << (v % 8))) == 0)
            return TC_EBLK_CERT;
    }
    uint64_t w = 0;
    if (tc_vset_weight_of_bitmap(vs, c->bitmap, c->bitmap_len, &w) != 0 || w < quorum)
        return TC_EBLK_CERT;
    return 0;
}

int tc_finality_cert_check(const tc_finality *f, const tc_hash *txid, const tc_fincert *c,
                           tc_batch_ref *missing, uint32_t missing_cap, uint32_t *missing_count_out)
{
    TC_ASSERT(f != NULL && txid != NULL && c != NULL);
    TC_ASSERT(missing != NULL || missing_cap == 0);
    if (missing_count_out != NULL)
        *missing_count_out = 0;
    /* A certificate of the previous epoch counts for a carried transaction only (PROTOCOL
     * 11.8): checked against that epoch's set and batches. */
    bool old = f->has_prev && c->epoch == f->prev.epoch && c->epoch != f->vset.epoch;
    if (c->epoch != f->vset.epoch && !(old && carried(f, txid)))
        return TC_ERANGE;
    int rc = old ? cert_shape(&f->prev, f->prev_quorum, c) : cert_shape(&f->vset, f->quorum, c);
    if (rc != 0)
        return rc;
    uint32_t absent = 0;
    for (uint32_t i = 0; i < c->ref_count; i++) {
        const tc_vote_batch *b = NULL;
        if (old) {
            uint32_t at = prev_batch_find(f, c->refs[i].validator, c->refs[i].seq);
            b = at == NONE ? NULL : &f->pb[at];
        } else {
            uint32_t slot = vb_find(f, c->refs[i].validator, c->refs[i].seq);
            b = slot == NONE ? NULL : &f->bs[slot].b;
        }
        if (b == NULL) {
            if (absent < missing_cap)
                missing[absent] = c->refs[i];
            absent++;
        } else if (!batch_has(b, txid)) {
            return TC_EBLK_CERT;
        }
    }
    if (missing_count_out != NULL)
        *missing_count_out = absent;
    return absent > 0 ? TC_ENOTFOUND : 0;
}

/* ---- epoch handoff ---- */

/* The txids of this validator's handoff of the epoch into out->txids. The first call computes
 * them (every own vote of the epoch not confirmed, sorted) and records them durably in txn;
 * every later call of the epoch, a restarted node's included, returns the recorded list, so this
 * validator never signs two different handoffs for one epoch: that is evidence (kind 4). */
static int handoff_list(tc_finality *f, tc_store_txn *txn, tc_handoff *out)
{
    const void *v = NULL;
    size_t len = 0;
    int rc = tc_store_get(txn, TC_TABLE_LOCKS, KEY_HLIST, strlen(KEY_HLIST), &v, &len);
    if (rc != 0 && rc != TC_ENOTFOUND)
        return rc;
    if (rc == 0 && (len < 4 || (len - 4) % TC_HASH_SIZE != 0))
        return TC_ESTORE_CORRUPT;
    if (rc == 0 && get_le(v, 4) == f->vset.epoch) {
        uint32_t n = (uint32_t)((len - 4) / TC_HASH_SIZE);
        out->txids = tc_malloc((size_t)(n == 0 ? 1 : n) * TC_HASH_SIZE);
        if (out->txids == NULL)
            return TC_ENOMEM;
        memcpy(out->txids, (const uint8_t *)v + 4, (size_t)n * TC_HASH_SIZE);
        out->txid_count = n;
        return 0;
    }
    uint32_t n = 0;
    for (uint32_t i = f->head; i != NONE; i = f->tx[i].next)
        n += f->tx[i].own_seq != 0;
    uint8_t *rec = tc_malloc(4 + (size_t)n * TC_HASH_SIZE);
    out->txids = tc_malloc((size_t)(n == 0 ? 1 : n) * TC_HASH_SIZE);
    if (rec == NULL || out->txids == NULL) {
        free(rec);
        return TC_ENOMEM;
    }
    for (uint32_t i = f->head; i != NONE; i = f->tx[i].next)
        if (f->tx[i].own_seq != 0)
            out->txids[out->txid_count++] = f->tx[i].txid;
    TC_ASSERT(out->txid_count == n);
    qsort(out->txids, n, TC_HASH_SIZE, hash_cmp);
    put_le(rec, f->vset.epoch, 4);
    memcpy(rec + 4, out->txids, (size_t)n * TC_HASH_SIZE);
    rc = tc_store_put(txn, TC_TABLE_LOCKS, KEY_HLIST, strlen(KEY_HLIST), rec,
                      4 + (size_t)n * TC_HASH_SIZE);
    free(rec);
    return rc;
}

int tc_finality_handoff(tc_finality *f, tc_store_txn *txn, uint64_t now_ms, tc_handoff *out)
{
    TC_ASSERT(f != NULL && txn != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    if (f->me == NONE)
        return TC_EINVAL;
    int rc = 0;
    if (!f->handed_off) {
        /* The batch being filled holds votes already cast: they leave before the handoff. */
        rc = flush(f, txn);
        if (rc == 0)
            rc = u64_record_put(txn, KEY_HANDOFF, f->vset.epoch, 4);
        if (rc != 0)
            return rc;
        f->handed_off = true;
    }
    regossip_arm(f, now_ms);
    rc = handoff_list(f, txn, out);
    if (rc != 0) {
        tc_handoff_deinit(out);
        return rc;
    }
    out->epoch = f->vset.epoch;
    out->validator = f->me;
    tc_handoff_sign(out, f->verifier->scheme, &f->key);
    return 0;
}

static int handoffs_check(const tc_vset *v, const tc_verifier *verifier, const tc_handoff *hs,
                          uint32_t n, uint64_t *total_out)
{
    uint8_t *seen = tc_calloc(v->count / 8 + 1, 1);
    if (seen == NULL)
        return TC_ENOMEM;
    uint64_t weight = 0, total = 0;
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        const tc_handoff *h = &hs[i];
        uint32_t x = h->validator;
        if (h->epoch != v->epoch || x >= v->count || h->txid_count > TC_HANDOFF_TXIDS_HARD_MAX ||
            (h->txid_count > 0 && h->txids == NULL)) {
            rc = TC_ERANGE;
            break;
        }
        if (seen[x / 8] & (1u << (x % 8))) {
            rc = TC_EEXIST;
            break;
        }
        seen[x / 8] = (uint8_t)(seen[x / 8] | (1u << (x % 8)));
        tc_hash sh;
        tc_handoff_sign_hash(h, &sh);
        if (tc_verify(verifier, &v->members[x].key, &sh, &h->sig) != 0)
            rc = TC_EBADSIG;
        weight += v->members[x].weight;
        total += h->txid_count;
    }
    free(seen);
    if (rc == 0 && weight < tc_vset_quorum(v))
        rc = TC_EBLK_CERT;
    *total_out = total;
    return rc;
}

int tc_finality_carry_list(const tc_vset *v, const tc_verifier *verifier,
                           const tc_handoff *handoffs, uint32_t handoff_count, tc_hash **txids_out,
                           uint32_t *count_out)
{
    TC_ASSERT(v != NULL && verifier != NULL && txids_out != NULL && count_out != NULL);
    TC_ASSERT(handoffs != NULL || handoff_count == 0);
    *txids_out = NULL;
    *count_out = 0;
    uint64_t total = 0;
    int rc = handoffs_check(v, verifier, handoffs, handoff_count, &total);
    if (rc != 0)
        return rc;
    if (total > SIZE_MAX / TC_HASH_SIZE)
        return TC_ETOOLONG;
    tc_hash *all = tc_malloc((size_t)(total == 0 ? 1 : total) * TC_HASH_SIZE);
    if (all == NULL)
        return TC_ENOMEM;
    size_t k = 0;
    for (uint32_t i = 0; i < handoff_count; i++) {
        if (handoffs[i].txid_count > 0)
            memcpy(&all[k], handoffs[i].txids, (size_t)handoffs[i].txid_count * TC_HASH_SIZE);
        k += handoffs[i].txid_count;
    }
    qsort(all, k, TC_HASH_SIZE, hash_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || !hash_eq(&all[u - 1], &all[i]))
            all[u++] = all[i];
    if (u > TC_HANDOFF_TXIDS_HARD_MAX) {
        free(all);
        return TC_ETOOLONG;
    }
    *txids_out = all;
    *count_out = (uint32_t)u;
    return 0;
}

static bool in_sorted(const tc_hash *list, uint32_t n, const tc_hash *txid)
{
    return n > 0 && bsearch(txid, list, n, TC_HASH_SIZE, hash_cmp) != NULL;
}

/* Deletes every own-vote record of epoch, a chunk per cursor pass (writes invalidate it). */
static int vote_records_delete(tc_store_txn *txn, uint32_t epoch)
{
    uint8_t prefix[KEY_VOTE_LEN + 4];
    vote_prefix(prefix, epoch);
    /* Each pass seeks past the last key the previous one deleted: seeking to the prefix again
     * would walk over every record deleted so far, quadratic in an epoch's votes. */
    uint8_t from[VOTE_KEY_SIZE];
    size_t from_len = sizeof(prefix);
    memcpy(from, prefix, sizeof(prefix));
    for (;;) {
        uint8_t keys[DELETE_CHUNK][VOTE_KEY_SIZE];
        uint32_t n = 0;
        tc_store_cursor *c = NULL;
        int rc = tc_store_cursor_open(txn, TC_TABLE_LOCKS, &c);
        if (rc == 0)
            rc = tc_store_cursor_seek(c, from, from_len);
        while (rc == 0 && n < DELETE_CHUNK) {
            const void *k = NULL, *v = NULL;
            size_t kl = 0, vl = 0;
            rc = tc_store_cursor_next(c, &k, &kl, &v, &vl);
            if (rc != 0 || kl != VOTE_KEY_SIZE || memcmp(k, prefix, sizeof(prefix)) != 0)
                break;
            memcpy(keys[n++], k, VOTE_KEY_SIZE);
        }
        if (c != NULL)
            tc_store_cursor_close(c);
        if (rc != 0 && rc != TC_ENOTFOUND)
            return rc;
        for (uint32_t i = 0; i < n; i++) {
            rc = tc_store_del(txn, TC_TABLE_LOCKS, keys[i], VOTE_KEY_SIZE);
            if (rc != 0)
                return rc;
        }
        if (n < DELETE_CHUNK)
            return 0;
        memcpy(from, keys[n - 1], VOTE_KEY_SIZE); /* deleted: the seek lands after it */
        from_len = VOTE_KEY_SIZE;
    }
}

static int carry_mark(tc_finality *f, const tc_hash *carry, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++)
        if (hash_cmp(&carry[i - 1], &carry[i]) >= 0)
            return TC_EINVAL;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t idx = tx_find(f, &carry[i]);
        if (idx == NONE) {
            /* Without room the reservation is lost for a body never seen: counted. */
            int rc = f->orphans >= f->lim.orphan_max ? TC_EFULL : tx_new(f, &carry[i], &idx);
            if (rc == TC_EFULL) {
                f->votes_dropped++;
                continue;
            }
            if (rc != 0)
                return rc;
        }
        f->tx[idx].flags |= F_CARRIED;
    }
    return 0;
}

/* Forgets every batch and vote of the epoch ending; tracked transactions stay. */
static void epoch_drop(tc_finality *f)
{
    for (uint32_t i = f->head; i != NONE; i = f->tx[i].next) {
        txe *e = &f->tx[i];
        e->vote_count = 0;
        e->weight = 0;
        e->own_seq = 0;
        e->flags &= (uint8_t) ~(F_QUEUED | F_CARRIED);
    }
    f->queued = 0;
    for (uint32_t s = 0; s < f->bs_hw; s++)
        if (f->bs[s].used)
            tc_vote_batch_deinit(&f->bs[s].b);
    f->bs_hw = 0;
    f->bs_free = NONE;
    f->batches = 0;
    f->batch_txids = 0;
    for (uint32_t v = 0; v < f->vset.count; v++)
        free(f->vb[v].seq); /* the slot array shares its block */
    free(f->vb);
    f->vb = NULL;
    for (uint32_t i = f->head; i != NONE;) {
        uint32_t next = f->tx[i].next;
        if (prunable(&f->tx[i]))
            tx_free(f, i);
        i = next;
    }
    f->ev_n = 0; /* what is queued speaks of the old epoch */
    f->rg_phase = 0;
    f->rv_active = false;
    f->bodies_wait = false;
}

static int records_release(tc_store_txn *txn, uint32_t epoch, const tc_hash *carry, uint32_t n);

static void epoch_install(tc_finality *f, tc_vset *vset, vbatches *vb)
{
    tc_vset_deinit(&f->vset);
    f->vset = *vset;
    f->vb = vb;
    f->quorum = tc_vset_quorum(&f->vset);
    f->me = NONE;
    if (f->has_key && tc_vset_find(&f->vset, &f->key.pub, &f->me) != 0)
        f->me = NONE;
    f->handed_off = false;
    f->pend_n = 0;
    f->pend_deadline = UINT64_MAX;
}

int tc_finality_epoch_change(tc_finality *f, tc_store_txn *txn, uint64_t now_ms,
                             const tc_vset *next, const tc_hash *carry, uint32_t carry_count)
{
    TC_ASSERT(f != NULL && txn != NULL && next != NULL);
    TC_ASSERT(carry != NULL || carry_count == 0);
    if (next->epoch <= f->vset.epoch)
        return TC_EINVAL;
    for (uint32_t i = 1; i < carry_count; i++)
        if (hash_cmp(&carry[i - 1], &carry[i]) >= 0)
            return TC_EINVAL;
    tc_vset copy;
    int rc = tc_vset_copy(&copy, next);
    if (rc != 0)
        return rc;
    vbatches *vb = tc_calloc(copy.count == 0 ? 1 : copy.count, sizeof(*vb));
    if (vb == NULL || (rc = prev_keep(f, carry, carry_count)) != 0) {
        free(vb);
        tc_vset_deinit(&copy);
        return vb == NULL ? TC_ENOMEM : rc;
    }
    /* A pending batch is dropped, not sent: the closing block is final, so votes of the old
     * epoch can no longer matter, and its seq (persisted) is simply never used. The locks of
     * own votes not carried are released from the vote records, not from the tracked
     * transactions: a loser of a confirmed rival is no longer tracked, yet keeps its locks on
     * its other inputs until now (tc_finality_on_confirmed). */
    rc = records_release(txn, f->vset.epoch, carry, carry_count);
    if (rc == 0)
        rc = vote_records_delete(txn, f->vset.epoch);
    if (rc != 0) {
        free(vb);
        tc_vset_deinit(&copy);
        return rc;
    }
    epoch_drop(f);
    epoch_install(f, &copy, vb);
    rc = carry_mark(f, carry, carry_count);
    /* Without every carried body the REVOTE pass waits (bodies_wait_end starts it). */
    f->bodies_wait = carried_missing(f, NULL, 0) > 0;
    if (f->me != NONE && !f->bodies_wait) {
        f->rv_active = true;
        f->rv_tx = f->head;
    }
    f->regossip_at = UINT64_MAX;
    regossip_arm(f, now_ms);
    return rc;
}

/* ---- creation and recovery ---- */

typedef struct {
    tc_hash txid;
    uint64_t seq;
    uint32_t op_first, op_count; /* into the outpoint array */
    bool dead;                   /* set by recover_votes (record_dead) */
} vrec;

typedef struct {
    vrec *r;
    uint32_t n, cap;
    tc_outpoint *ops;
    uint32_t ops_n, ops_cap;
} vrecs;

static void vrecs_free(vrecs *rs)
{
    free(rs->r);
    free(rs->ops);
    memset(rs, 0, sizeof(*rs));
}

static int grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    uint32_t c = *cap == 0 ? 64 : *cap;
    while (c < need) {
        if (c > UINT32_MAX / 2)
            return TC_ENOMEM;
        c *= 2;
    }
    void *q = tc_realloc(*p, (size_t)c * elem);
    if (q == NULL)
        return TC_ENOMEM;
    *p = q;
    *cap = c;
    return 0;
}

/* Decodes one own-vote record (key already matched) onto rs. */
static int vrec_decode(vrecs *rs, const uint8_t *key, const uint8_t *val, size_t vlen)
{
    if (vlen < VOTE_REC_FIXED)
        return TC_ESTORE_CORRUPT;
    uint64_t n = get_le(val + 8, 4);
    if (n == 0 || n > TC_TX_INPUTS_HARD_MAX || vlen != VOTE_REC_FIXED + n * TC_OUTPOINT_SIZE)
        return TC_ESTORE_CORRUPT;
    int rc = grow((void **)&rs->r, &rs->cap, rs->n + 1, sizeof(vrec));
    if (rc == 0)
        rc = grow((void **)&rs->ops, &rs->ops_cap, rs->ops_n + (uint32_t)n, sizeof(tc_outpoint));
    if (rc != 0)
        return rc;
    vrec *r = &rs->r[rs->n++];
    memcpy(r->txid.b, key + KEY_VOTE_LEN + 4, TC_HASH_SIZE);
    r->seq = get_le(val, 8);
    r->op_first = rs->ops_n;
    r->op_count = (uint32_t)n;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = val + VOTE_REC_FIXED + (size_t)i * TC_OUTPOINT_SIZE;
        tc_outpoint *op = &rs->ops[rs->ops_n++];
        memcpy(op->txid.b, p, TC_HASH_SIZE);
        op->index = (uint32_t)get_le(p + TC_HASH_SIZE, 4);
    }
    return 0;
}

static uint32_t key_epoch(const uint8_t *k)
{
    uint32_t e = 0;
    for (int i = 0; i < 4; i++)
        e = (e << 8) | k[KEY_VOTE_LEN + i];
    return e;
}

/* Reads the own-vote records whose epoch is >= from_epoch, in key order, stopping after the
 * first record of an epoch other than the first one read when only_one is set. */
static int vrecs_load(tc_store_txn *txn, uint32_t from_epoch, bool first_only, vrecs *rs,
                      uint32_t *epoch_out)
{
    uint8_t prefix[KEY_VOTE_LEN + 4];
    vote_prefix(prefix, from_epoch);
    tc_store_cursor *c = NULL;
    int rc = tc_store_cursor_open(txn, TC_TABLE_LOCKS, &c);
    if (rc != 0)
        return rc;
    rc = tc_store_cursor_seek(c, prefix, sizeof(prefix));
    *epoch_out = NONE;
    while (rc == 0) {
        const void *k = NULL, *v = NULL;
        size_t kl = 0, vl = 0;
        rc = tc_store_cursor_next(c, &k, &kl, &v, &vl);
        if (rc != 0 || kl < KEY_VOTE_LEN || memcmp(k, KEY_VOTE, KEY_VOTE_LEN) != 0)
            break;
        if (kl != VOTE_KEY_SIZE) {
            rc = TC_ESTORE_CORRUPT;
            break;
        }
        uint32_t e = key_epoch(k);
        if (*epoch_out != NONE && e != *epoch_out)
            break;
        *epoch_out = e;
        rc = vrec_decode(rs, k, v, vl);
        if (first_only)
            break;
    }
    tc_store_cursor_close(c);
    return rc == TC_ENOTFOUND ? 0 : rc;
}

/* Releases the locks of every own vote of epoch whose transaction carry (sorted) does not list. */
static int records_release(tc_store_txn *txn, uint32_t epoch, const tc_hash *carry, uint32_t n)
{
    vrecs rs;
    memset(&rs, 0, sizeof(rs));
    uint32_t e = NONE;
    int rc = vrecs_load(txn, epoch, false, &rs, &e);
    for (uint32_t i = 0; rc == 0 && e == epoch && i < rs.n; i++)
        if (!in_sorted(carry, n, &rs.r[i].txid))
            rc = release_ops(txn, &rs.r[i].txid, &rs.ops[rs.r[i].op_first], rs.r[i].op_count);
    vrecs_free(&rs);
    return rc;
}

/* Votes of an epoch before the config's are left over from an epoch change that never
 * committed: finish it (release what the carry list does not keep, delete the record). */
static int stale_cleanup(tc_finality *f, tc_store_txn *txn, const tc_hash *carry, uint32_t n)
{
    for (;;) {
        vrecs rs;
        memset(&rs, 0, sizeof(rs));
        uint32_t e = NONE;
        int rc = vrecs_load(txn, 0, true, &rs, &e);
        if (rc == 0 && (e == NONE || e >= f->vset.epoch)) {
            vrecs_free(&rs);
            return 0;
        }
        if (rc == 0 && !in_sorted(carry, n, &rs.r[0].txid))
            rc = release_ops(txn, &rs.r[0].txid, rs.ops, rs.r[0].op_count);
        if (rc == 0) {
            uint8_t k[VOTE_KEY_SIZE];
            vote_key(k, e, &rs.r[0].txid);
            rc = tc_store_del(txn, TC_TABLE_LOCKS, k, sizeof(k));
        }
        vrecs_free(&rs);
        if (rc != 0)
            return rc;
    }
}

static int vrec_cmp(const void *a, const void *b)
{
    const vrec *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return hash_cmp(&x->txid, &y->txid);
}

/* An unconfirmed own vote is dead when one of its inputs is gone: a block confirmed a rival.
 * It can never be confirmed, so it is neither tracked nor handed off (a carried dead
 * transaction would keep its other inputs reserved for ever); its locks wait for the epoch
 * change like every other record's. */
static int record_dead(tc_store_txn *txn, const vrecs *rs, const vrec *r, bool *dead_out)
{
    *dead_out = false;
    for (uint32_t i = 0; i < r->op_count && !*dead_out; i++) {
        uint8_t st = IN_GONE;
        int rc = input_read(txn, &rs->ops[r->op_first + i], &r->txid, &st, NULL);
        if (rc == TC_ENOTFOUND || rc == TC_ETX_SPENT_INPUT)
            *dead_out = true;
        else if (rc != 0)
            return rc;
    }
    return 0;
}

/* Tracks the unconfirmed, live own votes of rs (inputs known from the records) and flags the
 * dead ones. */
static int recover_votes(tc_finality *f, tc_store_txn *txn, vrecs *rs)
{
    for (uint32_t i = 0; i < rs->n; i++) {
        vrec *r = &rs->r[i];
        if (r->seq == 0 || r->seq >= f->next_seq || tx_find(f, &r->txid) != NONE)
            return TC_ESTORE_CORRUPT;
        bool confirmed = false, dead = false;
        int rc = is_confirmed(txn, &r->txid, &confirmed);
        if (rc == 0 && !confirmed)
            rc = record_dead(txn, rs, r, &dead);
        if (rc != 0)
            return rc;
        r->dead = dead;
        if (confirmed || dead)
            continue;
        uint32_t idx = NONE;
        rc = tx_new(f, &r->txid, &idx);
        if (rc == 0)
            rc = tx_set_inputs(f, idx, &rs->ops[r->op_first], r->op_count);
        if (rc != 0)
            return rc;
        f->tx[idx].own_seq = r->seq;
    }
    return 0;
}

/* Signs the own batches of rs again: same seq, same txids, so the same bytes as any copy that
 * left before the crash (both signature schemes are deterministic). rs is sorted by seq. */
static int recover_batches(tc_finality *f, tc_store_txn *txn, const vrecs *rs)
{
    tc_hash *txids = tc_malloc((size_t)TC_VOTE_BATCH_TXIDS_HARD_MAX * TC_HASH_SIZE);
    bool *dead = tc_malloc(TC_VOTE_BATCH_TXIDS_HARD_MAX * sizeof(bool));
    int rc = txids == NULL || dead == NULL ? TC_ENOMEM : 0;
    for (uint32_t i = 0; i < rs->n && rc == 0;) {
        uint32_t j = i;
        while (j < rs->n && rs->r[j].seq == rs->r[i].seq && rc == 0) {
            if (j - i == TC_VOTE_BATCH_TXIDS_HARD_MAX) {
                rc = TC_ESTORE_CORRUPT;
                break;
            }
            txids[j - i] = rs->r[j].txid;
            dead[j - i] = rs->r[j].dead;
            j++;
        }
        if (rc != 0)
            break;
        tc_vote_batch b;
        memset(&b, 0, sizeof(b));
        b.epoch = f->vset.epoch;
        b.validator = f->me;
        b.seq = rs->r[i].seq;
        b.txid_count = j - i;
        b.txids = txids;
        tc_hash h;
        sign_own(f, &b, &h);
        rc = batch_accept(f, txn, &b, &h, dead);
        i = j;
    }
    free(dead);
    free(txids);
    return rc;
}

static int recover(tc_finality *f, tc_store_txn *txn, const tc_finality_config *cfg,
                   uint64_t now_ms)
{
    uint64_t handoff = 0;
    int rc = u64_record_get(txn, KEY_SEQ, 8, 1, &f->next_seq);
    if (rc == 0 && (f->next_seq == 0 || f->next_seq == UINT64_MAX))
        rc = TC_ESTORE_CORRUPT;
    if (rc == 0)
        rc = u64_record_get(txn, KEY_HANDOFF, 4, NONE, &handoff);
    if (rc == 0)
        rc = stale_cleanup(f, txn, cfg->carry, cfg->carry_count);
    if (rc != 0)
        return rc;
    f->handed_off = f->me != NONE && handoff == f->vset.epoch;
    vrecs rs;
    memset(&rs, 0, sizeof(rs));
    uint32_t e = NONE;
    rc = vrecs_load(txn, f->vset.epoch, false, &rs, &e);
    if (rc == 0 && e != NONE && e != f->vset.epoch)
        rc = TC_EINVAL; /* the store voted in a later epoch than the config names */
    if (rc == 0 && rs.n > 0 && f->me == NONE)
        rc = TC_EINVAL; /* own votes, but the key is not a member: another key or set */
    if (rc == 0 && rs.n > 0)
        qsort(rs.r, rs.n, sizeof(vrec), vrec_cmp);
    if (rc == 0)
        rc = recover_votes(f, txn, &rs);
    if (rc == 0)
        rc = recover_batches(f, txn, &rs);
    vrecs_free(&rs);
    if (rc == 0)
        rc = carry_mark(f, cfg->carry, cfg->carry_count);
    /* Restarted inside the epoch, the node knows carried bodies only from its pool, which the
     * restart emptied: it votes again once it fetched them (PROTOCOL 11.8 step 8). */
    f->bodies_wait = carried_missing(f, NULL, 0) > 0;
    f->regossip_at = has_work(f) ? now_ms : UINT64_MAX;
    f->rg_passes = 1; /* what was recovered above is one pass old: the first pass resends it */
    return rc;
}

void tc_finality_limits_default(const tc_profile *p, tc_finality_limits *out)
{
    TC_ASSERT(p != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    /* The pool bounds what this node votes for; twice that leaves room for transactions known
     * only from blocks and batches, and for conflicting ones. */
    uint64_t tx = (uint64_t)p->mempool_count_max * 2;
    out->tx_max = tx > TC_HANDOFF_TXIDS_HARD_MAX ? TC_HANDOFF_TXIDS_HARD_MAX : (uint32_t)tx;
    out->orphan_max = out->tx_max / 2;
    out->queued_max = p->mempool_count_max;
    uint64_t inputs = p->mempool_bytes_max / TC_TX_INPUT_SIZE * 2;
    out->inputs_max = inputs > UINT32_MAX / 4 ? UINT32_MAX / 4 : (uint32_t)inputs;
    if (out->inputs_max < out->tx_max)
        out->inputs_max = out->tx_max;
    /* Ten seconds of batches at one per 10 ms: a transaction usually confirms well before. */
    out->batch_window = 1024;
    out->batch_max = 16384;
    out->batch_txids_max = 1u << 21; /* 64 MiB of txids at most */
    out->event_max = 8 * p->vote_batch_txids_max + 1024;
}

static int config_check(const tc_finality_config *cfg)
{
    const tc_finality_limits *l = &cfg->limits;
    if (cfg->profile->vote_batch_txids_max > TC_VOTE_BATCH_TXIDS_HARD_MAX ||
        tc_profile_check(cfg->profile) != 0)
        return TC_EINVAL;
    if (l->tx_max == 0 || l->tx_max > TC_HANDOFF_TXIDS_HARD_MAX || l->orphan_max > l->tx_max ||
        l->queued_max > l->tx_max || l->inputs_max == 0 || l->inputs_max > UINT32_MAX / 4 ||
        l->batch_window == 0 || l->batch_max == 0 || l->event_max == 0 ||
        l->batch_txids_max < cfg->profile->vote_batch_txids_max)
        return TC_EINVAL;
    if (cfg->carry_count > 0 && cfg->carry == NULL)
        return TC_EINVAL;
    return 0;
}

static int alloc_parts(tc_finality *f, const tc_finality_config *cfg)
{
    int rc = tc_vset_copy(&f->vset, cfg->vset);
    if (rc != 0)
        return rc;
    f->vb = tc_calloc(f->vset.count == 0 ? 1 : f->vset.count, sizeof(*f->vb));
    f->ev_cap = f->lim.event_max < EV_CAP_MIN ? f->lim.event_max : EV_CAP_MIN;
    f->ev = tc_malloc((size_t)f->ev_cap * sizeof(*f->ev));
    f->pend = tc_malloc((size_t)f->p.vote_batch_txids_max * TC_HASH_SIZE);
    /* Restarted inside an epoch that carried transactions: the previous set, so peers'
     * old-epoch certificates and batches can be checked (its batches are fetched). */
    if (cfg->prev_vset != NULL && (rc = prev_open(f, cfg->prev_vset, 0)) != 0)
        return rc;
    return f->vb == NULL || f->ev == NULL || f->pend == NULL ? TC_ENOMEM : 0;
}

int tc_finality_new(const tc_finality_config *cfg, tc_store_txn *txn, uint64_t now_ms,
                    tc_finality **out)
{
    TC_ASSERT(cfg != NULL && cfg->profile != NULL && cfg->verifier != NULL);
    TC_ASSERT(cfg->vset != NULL && txn != NULL && out != NULL);
    *out = NULL;
    int rc = config_check(cfg);
    if (rc != 0)
        return rc;
    tc_finality *f = tc_calloc(1, sizeof(*f));
    if (f == NULL)
        return TC_ENOMEM;
    f->p = *cfg->profile;
    f->verifier = cfg->verifier;
    f->lim = cfg->limits;
    f->head = f->tail = f->tx_free = f->sp_free = f->bs_free = NONE;
    f->pend_deadline = f->regossip_at = UINT64_MAX;
    f->me = NONE;
    rc = alloc_parts(f, cfg);
    if (rc == 0) {
        f->quorum = tc_vset_quorum(&f->vset);
        f->has_key = cfg->key != NULL;
        if (f->has_key) {
            f->key = *cfg->key;
            if (tc_vset_find(&f->vset, &f->key.pub, &f->me) != 0)
                f->me = NONE;
        }
        rc = recover(f, txn, cfg, now_ms);
    }
    if (rc != 0) {
        tc_finality_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void tc_finality_free(tc_finality *f)
{
    if (f == NULL)
        return;
    for (uint32_t i = 0; i < f->tx_hw; i++) {
        if (f->tx[i].used) {
            free(f->tx[i].inputs);
            free(f->tx[i].votes);
        }
    }
    for (uint32_t s = 0; s < f->bs_hw; s++)
        if (f->bs[s].used)
            tc_vote_batch_deinit(&f->bs[s].b);
    if (f->vb != NULL)
        for (uint32_t v = 0; v < f->vset.count; v++)
            free(f->vb[v].seq); /* the slot array shares its block */
    free(f->vb);
    free(f->tx);
    free(f->sp);
    free(f->bs);
    free(f->ev);
    free(f->pend);
    free(f->scratch);
    free(f->txmap.s);
    free(f->opmap.s);
    tc_vset_deinit(&f->vset);
    prev_clear(f);
    /* The secret key does not outlive f in freed memory. */
    volatile uint8_t *k = (volatile uint8_t *)&f->key;
    for (size_t i = 0; i < sizeof(f->key); i++)
        k[i] = 0;
    free(f);
}
