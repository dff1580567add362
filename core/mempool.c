/* mempool.c — the bounded transaction pool (see mempool.h).
 *
 * Layout: entries live in a slab (array + free list) and are named by their index. Two
 * open-addressing tables (linear probing, backward-shift deletion) map txids and spent
 * outpoints to slots "entry << 32 | input"; their hash is a fixed mix of the key bytes, so
 * probing is deterministic, and no output ever depends on table order. The evictable entries
 * sit in an array sorted by eviction order; peers in an array sorted by id; the arrival order
 * is a doubly linked list through the slab.
 */
#include "mempool.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"

#define NONE  UINT32_MAX
#define EMPTY UINT64_MAX

typedef struct {
    tc_tx tx; /* the pool's deep copy */
    tc_hash txid;
    uint64_t fee;
    uint64_t seq;
    uint32_t size;
    uint32_t peer;
    uint32_t prev; /* arrival list */
    uint32_t next; /* arrival list, or the free list when unused */
    bool voted;
    bool used;
} entry;

typedef struct {
    uint64_t *slots; /* entry << 32 | input index; EMPTY when free */
    size_t cap;      /* a power of two, or 0 */
    size_t live;
} table;

typedef struct {
    uint32_t peer;
    uint32_t count;
    uint64_t bytes;
} peer_use;

struct tc_mempool {
    uint32_t count_max;
    uint64_t bytes_max;
    uint32_t share_count;
    uint64_t share_bytes;
    tc_mempool_drop_fn on_drop;
    void *ctx;
    bool busy; /* inside on_drop: re-entry is a bug */

    entry *entries;
    uint32_t entry_cap; /* at most count_max + 1 */
    uint32_t free_head;
    uint32_t head, tail; /* arrival list */
    uint32_t count;
    uint64_t bytes;
    uint64_t next_seq;
    uint64_t mutations;

    table by_txid;
    table by_op;
    uint32_t *evict; /* evictable entries in eviction order; capacity entry_cap */
    uint32_t evict_len;
    peer_use *peers; /* sorted by peer id; capacity entry_cap */
    uint32_t peer_len;
};

/* ---- fee rates ---- */

/* a * b as a 128-bit (hi, lo) pair, without compiler extensions. */
static void mul_u64_u32(uint64_t a, uint32_t b, uint64_t *hi, uint64_t *lo)
{
    uint64_t p_lo = (a & 0xffffffffu) * b;
    uint64_t p_hi = (a >> 32) * b;
    *lo = p_lo + (p_hi << 32);
    *hi = (p_hi >> 32) + (*lo < p_lo ? 1u : 0u);
}

int tc_mempool_feerate_cmp(uint64_t fee_a, uint32_t size_a, uint64_t fee_b, uint32_t size_b)
{
    TC_ASSERT(size_a > 0 && size_b > 0);
    uint64_t ah, al, bh, bl;
    mul_u64_u32(fee_a, size_b, &ah, &al); /* fee_a / size_a vs fee_b / size_b */
    mul_u64_u32(fee_b, size_a, &bh, &bl);
    if (ah != bh)
        return ah < bh ? -1 : 1;
    if (al != bl)
        return al < bl ? -1 : 1;
    return 0;
}

/* Eviction order: lower fee rate first; at equal rates the newest first, so older
 * transactions keep their place. seq is unique, so this is a strict total order. */
static int evict_cmp(const tc_mempool *mp, uint32_t a, uint32_t b)
{
    const entry *ea = &mp->entries[a], *eb = &mp->entries[b];
    int c = tc_mempool_feerate_cmp(ea->fee, ea->size, eb->fee, eb->size);
    if (c != 0)
        return c;
    return ea->seq > eb->seq ? -1 : (ea->seq < eb->seq ? 1 : 0);
}

/* ---- hash tables ---- */

static uint64_t mix(uint64_t x)
{
    /* splitmix64's finalizer: a fixed bijection, no seed (DESIGN.md determinism rule 2). */
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static uint64_t hash_txid(const tc_hash *h)
{
    return mix(tc_load_u64(h->b));
}

static uint64_t hash_op(const tc_outpoint *op)
{
    return mix(tc_load_u64(op->txid.b) ^ ((uint64_t)op->index * UINT64_C(0x9e3779b97f4a7c15)));
}

static uint32_t slot_entry(uint64_t slot)
{
    return (uint32_t)(slot >> 32);
}

static uint32_t slot_input(uint64_t slot)
{
    return (uint32_t)(slot & 0xffffffffu);
}

static uint64_t slot_hash(const tc_mempool *mp, const table *t, uint64_t slot)
{
    const entry *e = &mp->entries[slot_entry(slot)];
    if (t == &mp->by_txid)
        return hash_txid(&e->txid);
    return hash_op(&e->tx.inputs[slot_input(slot)].prev);
}

static void table_put(const tc_mempool *mp, table *t, uint64_t slot)
{
    TC_ASSERT(t->cap > 0 && 2 * (t->live + 1) <= t->cap);
    size_t mask = t->cap - 1;
    size_t pos = (size_t)slot_hash(mp, t, slot) & mask;
    while (t->slots[pos] != EMPTY)
        pos = (pos + 1) & mask;
    t->slots[pos] = slot;
    t->live++;
}

/* Makes room for extra more slots at a load of at most one half. TC_ENOMEM, table unchanged. */
static int table_reserve(const tc_mempool *mp, table *t, size_t extra)
{
    size_t need = 2 * (t->live + extra);
    if (need <= t->cap)
        return 0;
    size_t cap = t->cap > 0 ? t->cap : 64;
    while (cap < need)
        cap *= 2;
    uint64_t *slots = tc_malloc(cap * sizeof(uint64_t));
    if (slots == NULL)
        return TC_ENOMEM;
    memset(slots, 0xff, cap * sizeof(uint64_t));
    table old = *t;
    t->slots = slots;
    t->cap = cap;
    t->live = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i] != EMPTY)
            table_put(mp, t, old.slots[i]);
    TC_ASSERT(t->live == old.live);
    free(old.slots);
    return 0;
}

/* Removes the slot with exactly this value (it must be present). */
static void table_del(const tc_mempool *mp, table *t, uint64_t slot)
{
    TC_ASSERT(t->live > 0);
    size_t mask = t->cap - 1;
    size_t i = (size_t)slot_hash(mp, t, slot) & mask;
    while (t->slots[i] != slot) {
        TC_ASSERT(t->slots[i] != EMPTY);
        i = (i + 1) & mask;
    }
    /* Backward-shift deletion: pull later members of the probe run into the hole unless their
     * home position lies cyclically in (hole, j]. */
    for (size_t j = i;;) {
        j = (j + 1) & mask;
        if (t->slots[j] == EMPTY)
            break;
        size_t k = (size_t)slot_hash(mp, t, t->slots[j]) & mask;
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        t->slots[i] = t->slots[j];
        i = j;
    }
    t->slots[i] = EMPTY;
    t->live--;
}

static uint32_t find_txid(const tc_mempool *mp, const tc_hash *txid)
{
    const table *t = &mp->by_txid;
    if (t->cap == 0)
        return NONE;
    size_t mask = t->cap - 1;
    for (size_t pos = (size_t)hash_txid(txid) & mask; t->slots[pos] != EMPTY;
         pos = (pos + 1) & mask) {
        uint32_t e = slot_entry(t->slots[pos]);
        if (memcmp(mp->entries[e].txid.b, txid->b, TC_HASH_SIZE) == 0)
            return e;
    }
    return NONE;
}

static uint32_t find_spender(const tc_mempool *mp, const tc_outpoint *op)
{
    const table *t = &mp->by_op;
    if (t->cap == 0)
        return NONE;
    size_t mask = t->cap - 1;
    for (size_t pos = (size_t)hash_op(op) & mask; t->slots[pos] != EMPTY; pos = (pos + 1) & mask) {
        uint64_t s = t->slots[pos];
        const entry *e = &mp->entries[slot_entry(s)];
        if (tc_outpoint_cmp(&e->tx.inputs[slot_input(s)].prev, op) == 0)
            return slot_entry(s);
    }
    return NONE;
}

/* ---- sorted arrays: eviction order and peers ---- */

/* First position whose entry does not come before e in eviction order. */
static uint32_t evict_lower_bound(const tc_mempool *mp, uint32_t e)
{
    uint32_t lo = 0, hi = mp->evict_len;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (evict_cmp(mp, mp->evict[mid], e) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void evict_insert(tc_mempool *mp, uint32_t e)
{
    TC_ASSERT(mp->evict_len < mp->entry_cap && !mp->entries[e].voted);
    uint32_t pos = evict_lower_bound(mp, e);
    memmove(&mp->evict[pos + 1], &mp->evict[pos], (mp->evict_len - pos) * sizeof(uint32_t));
    mp->evict[pos] = e;
    mp->evict_len++;
}

static void evict_remove(tc_mempool *mp, uint32_t e)
{
    uint32_t pos = evict_lower_bound(mp, e);
    TC_ASSERT(pos < mp->evict_len && mp->evict[pos] == e);
    memmove(&mp->evict[pos], &mp->evict[pos + 1], (mp->evict_len - pos - 1) * sizeof(uint32_t));
    mp->evict_len--;
}

/* Position of peer in the sorted peer array, or where it would go. */
static uint32_t peer_pos(const tc_mempool *mp, uint32_t peer)
{
    uint32_t lo = 0, hi = mp->peer_len;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (mp->peers[mid].peer < peer)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void peer_add(tc_mempool *mp, uint32_t peer, uint32_t size)
{
    uint32_t pos = peer_pos(mp, peer);
    if (pos == mp->peer_len || mp->peers[pos].peer != peer) {
        TC_ASSERT(mp->peer_len < mp->entry_cap);
        memmove(&mp->peers[pos + 1], &mp->peers[pos], (mp->peer_len - pos) * sizeof(peer_use));
        mp->peers[pos] = (peer_use){.peer = peer, .count = 0, .bytes = 0};
        mp->peer_len++;
    }
    mp->peers[pos].count++;
    mp->peers[pos].bytes += size;
}

static void peer_sub(tc_mempool *mp, uint32_t peer, uint32_t size)
{
    uint32_t pos = peer_pos(mp, peer);
    TC_ASSERT(pos < mp->peer_len && mp->peers[pos].peer == peer);
    TC_ASSERT(mp->peers[pos].count > 0 && mp->peers[pos].bytes >= size);
    mp->peers[pos].count--;
    mp->peers[pos].bytes -= size;
    if (mp->peers[pos].count == 0) {
        memmove(&mp->peers[pos], &mp->peers[pos + 1], (mp->peer_len - pos - 1) * sizeof(peer_use));
        mp->peer_len--;
    }
}

/* ---- lifecycle ---- */

tc_mempool *tc_mempool_new(const tc_profile *p, tc_mempool_drop_fn on_drop, void *ctx)
{
    TC_ASSERT(p != NULL);
    /* Entry indices up to count_max must stay below NONE; a profile asking for more is
     * refused like an allocation that cannot be made. */
    if (p->mempool_count_max == 0 || p->mempool_count_max >= NONE - 1)
        return NULL;
    tc_mempool *mp = tc_calloc(1, sizeof(*mp));
    if (mp == NULL)
        return NULL;
    mp->count_max = p->mempool_count_max;
    mp->bytes_max = p->mempool_bytes_max;
    uint64_t pct = p->mempool_peer_share_pct;
    uint64_t share_count = (uint64_t)mp->count_max * pct / 100;
    uint64_t share_bytes = mp->bytes_max / 100 * pct + mp->bytes_max % 100 * pct / 100;
    mp->share_count = share_count > 0 ? (uint32_t)share_count : 1;
    mp->share_bytes = share_bytes > 0 ? share_bytes : 1;
    mp->on_drop = on_drop;
    mp->ctx = ctx;
    mp->free_head = NONE;
    mp->head = mp->tail = NONE;
    return mp;
}

void tc_mempool_free(tc_mempool *mp)
{
    if (mp == NULL)
        return;
    for (uint32_t i = 0; i < mp->entry_cap; i++)
        if (mp->entries[i].used)
            tc_tx_deinit(&mp->entries[i].tx);
    free(mp->entries);
    free(mp->evict);
    free(mp->peers);
    free(mp->by_txid.slots);
    free(mp->by_op.slots);
    free(mp);
}

/* Grows the slab (and the arrays sized by it) so one more entry fits. TC_ENOMEM. */
static int slab_reserve(tc_mempool *mp)
{
    if (mp->free_head != NONE)
        return 0;
    TC_ASSERT(mp->entry_cap <= mp->count_max); /* count <= count_max, so at most +1 */
    uint32_t cap = mp->entry_cap < 8 ? 16 : mp->entry_cap * 2;
    if (cap > mp->count_max + 1)
        cap = mp->count_max + 1;
    entry *entries = tc_realloc(mp->entries, cap * sizeof(entry));
    if (entries == NULL)
        return TC_ENOMEM;
    mp->entries = entries;
    uint32_t *evict = tc_realloc(mp->evict, cap * sizeof(uint32_t));
    if (evict == NULL)
        return TC_ENOMEM;
    mp->evict = evict;
    peer_use *peers = tc_realloc(mp->peers, cap * sizeof(peer_use));
    if (peers == NULL)
        return TC_ENOMEM;
    mp->peers = peers;
    for (uint32_t i = cap; i-- > mp->entry_cap;) {
        memset(&mp->entries[i], 0, sizeof(entry));
        mp->entries[i].next = mp->free_head;
        mp->free_head = i;
    }
    mp->entry_cap = cap;
    return 0;
}

/* ---- removal ---- */

/* Unlinks entry e from every index and frees it; reports it first if reason >= 0. */
static void drop(tc_mempool *mp, uint32_t e, int reason)
{
    entry *en = &mp->entries[e];
    TC_ASSERT(en->used && mp->count > 0);
    if (reason >= 0 && mp->on_drop != NULL) {
        mp->busy = true;
        mp->on_drop(mp->ctx, &en->tx, &en->txid, en->voted, (tc_mempool_drop_reason)reason);
        mp->busy = false;
    }
    table_del(mp, &mp->by_txid, (uint64_t)e << 32);
    for (uint32_t i = 0; i < en->tx.input_count; i++)
        table_del(mp, &mp->by_op, (uint64_t)e << 32 | i);
    if (!en->voted)
        evict_remove(mp, e);
    if (en->prev != NONE)
        mp->entries[en->prev].next = en->next;
    else
        mp->head = en->next;
    if (en->next != NONE)
        mp->entries[en->next].prev = en->prev;
    else
        mp->tail = en->prev;
    peer_sub(mp, en->peer, en->size);
    mp->count--;
    mp->bytes -= en->size;
    tc_tx_deinit(&en->tx);
    memset(en, 0, sizeof(*en));
    en->next = mp->free_head;
    mp->free_head = e;
    mp->mutations++;
}

void tc_mempool_remove_confirmed(tc_mempool *mp, const tc_tx *tx, const tc_hash *txid,
                                 uint32_t *conflicts_out)
{
    TC_ASSERT(mp != NULL && tx != NULL && txid != NULL);
    TC_ASSERT(!mp->busy);
    uint32_t conflicts = 0;
    uint32_t e = find_txid(mp, txid);
    if (e != NONE)
        drop(mp, e, TC_MEMPOOL_DROP_CONFIRMED);
    for (uint32_t i = 0; i < tx->input_count; i++) {
        e = find_spender(mp, &tx->inputs[i].prev);
        if (e == NONE)
            continue;
        drop(mp, e, TC_MEMPOOL_DROP_CONFLICT);
        conflicts++;
    }
    if (conflicts_out != NULL)
        *conflicts_out = conflicts;
}

int tc_mempool_remove(tc_mempool *mp, const tc_hash *txid)
{
    TC_ASSERT(mp != NULL && txid != NULL);
    TC_ASSERT(!mp->busy);
    uint32_t e = find_txid(mp, txid);
    if (e == NONE)
        return TC_ENOTFOUND;
    drop(mp, e, -1);
    return 0;
}

/* ---- admission ---- */

/* Rules that need no room: duplicate, conflict, absolute size, peer share. */
static int admissible(const tc_mempool *mp, const tc_tx *tx, const tc_hash *txid, size_t size,
                      uint32_t peer, tc_hash *conflict_out)
{
    if (find_txid(mp, txid) != NONE)
        return TC_EMP_DUPLICATE;
    for (uint32_t i = 0; i < tx->input_count; i++) {
        uint32_t e = find_spender(mp, &tx->inputs[i].prev);
        if (e != NONE) {
            if (conflict_out != NULL)
                *conflict_out = mp->entries[e].txid;
            return TC_EMP_CONFLICT;
        }
    }
    if (size > mp->bytes_max || size > UINT32_MAX)
        return TC_EINVAL;
    if (peer == TC_MEMPOOL_PEER_LOCAL)
        return 0;
    uint32_t held_count;
    uint64_t held_bytes;
    tc_mempool_peer_usage(mp, peer, &held_count, &held_bytes);
    if (held_count + 1 > mp->share_count || held_bytes + size > mp->share_bytes)
        return TC_EMP_PEER_SHARE;
    return 0;
}

/* How many entries from the front of the eviction order must go for a newcomer of this fee and
 * size to fit; TC_EMP_LOW_FEERATE or TC_EMP_FULL if that cannot be done. */
static int plan_eviction(const tc_mempool *mp, uint64_t fee, uint32_t size, uint32_t *n_out)
{
    uint32_t n = 0, count = mp->count;
    uint64_t bytes = mp->bytes;
    *n_out = 0;
    while (count + 1 > mp->count_max || bytes + size > mp->bytes_max) {
        if (n == mp->evict_len)
            return TC_EMP_FULL; /* the rest is voted: back-pressure */
        const entry *victim = &mp->entries[mp->evict[n]];
        if (tc_mempool_feerate_cmp(victim->fee, victim->size, fee, size) >= 0)
            return TC_EMP_LOW_FEERATE;
        count--;
        bytes -= victim->size;
        n++;
    }
    *n_out = n;
    return 0;
}

static int reserve_all(tc_mempool *mp, const tc_tx *tx)
{
    int rc = slab_reserve(mp);
    if (rc == 0)
        rc = table_reserve(mp, &mp->by_txid, 1);
    if (rc == 0)
        rc = table_reserve(mp, &mp->by_op, tx->input_count);
    return rc;
}

/* Links a filled entry into every index. */
static void link_entry(tc_mempool *mp, uint32_t e)
{
    entry *en = &mp->entries[e];
    table_put(mp, &mp->by_txid, (uint64_t)e << 32);
    for (uint32_t i = 0; i < en->tx.input_count; i++)
        table_put(mp, &mp->by_op, (uint64_t)e << 32 | i);
    evict_insert(mp, e);
    en->prev = mp->tail;
    en->next = NONE;
    if (mp->tail != NONE)
        mp->entries[mp->tail].next = e;
    else
        mp->head = e;
    mp->tail = e;
    peer_add(mp, en->peer, en->size);
    mp->count++;
    mp->bytes += en->size;
    mp->mutations++;
}

int tc_mempool_add(tc_mempool *mp, const tc_tx *tx, const tc_hash *txid, uint64_t fee,
                   uint32_t peer, tc_hash *conflict_out)
{
    TC_ASSERT(mp != NULL && tx != NULL && txid != NULL);
    TC_ASSERT(!mp->busy);
    if (conflict_out != NULL)
        memset(conflict_out, 0, sizeof(*conflict_out));
    size_t size = tc_tx_encoded_size(tx);
    int rc = admissible(mp, tx, txid, size, peer, conflict_out);
    uint32_t victims = 0;
    if (rc == 0)
        rc = plan_eviction(mp, fee, (uint32_t)size, &victims);
    if (rc == 0)
        rc = reserve_all(mp, tx);
    tc_tx copy;
    if (rc == 0)
        rc = tc_tx_copy(&copy, tx);
    if (rc != 0)
        return rc;
    /* From here nothing can fail: evict, then insert. */
    for (uint32_t i = 0; i < victims; i++)
        drop(mp, mp->evict[0], TC_MEMPOOL_DROP_EVICTED);
    uint32_t e = mp->free_head;
    TC_ASSERT(e != NONE);
    entry *en = &mp->entries[e];
    mp->free_head = en->next;
    *en = (entry){.tx = copy,
                  .txid = *txid,
                  .fee = fee,
                  .seq = mp->next_seq++,
                  .size = (uint32_t)size,
                  .peer = peer,
                  .voted = false,
                  .used = true};
    link_entry(mp, e);
    TC_ASSERT(mp->count <= mp->count_max && mp->bytes <= mp->bytes_max);
    return 0;
}

int tc_mempool_mark_voted(tc_mempool *mp, const tc_hash *txid)
{
    TC_ASSERT(mp != NULL && txid != NULL);
    TC_ASSERT(!mp->busy);
    uint32_t e = find_txid(mp, txid);
    if (e == NONE)
        return TC_ENOTFOUND;
    if (!mp->entries[e].voted) {
        evict_remove(mp, e);
        mp->entries[e].voted = true;
        mp->mutations++;
    }
    return 0;
}

/* ---- queries ---- */

bool tc_mempool_contains(const tc_mempool *mp, const tc_hash *txid)
{
    TC_ASSERT(mp != NULL && txid != NULL);
    return find_txid(mp, txid) != NONE;
}

static void fill_item(const tc_mempool *mp, uint32_t e, tc_mempool_item *out)
{
    const entry *en = &mp->entries[e];
    TC_ASSERT(en->used);
    *out = (tc_mempool_item){.tx = &en->tx,
                             .txid = en->txid,
                             .fee = en->fee,
                             .size_bytes = en->size,
                             .peer = en->peer,
                             .seq = en->seq,
                             .voted = en->voted};
}

int tc_mempool_get(const tc_mempool *mp, const tc_hash *txid, tc_mempool_item *out)
{
    TC_ASSERT(mp != NULL && txid != NULL && out != NULL);
    uint32_t e = find_txid(mp, txid);
    memset(out, 0, sizeof(*out));
    if (e == NONE)
        return TC_ENOTFOUND;
    fill_item(mp, e, out);
    return 0;
}

int tc_mempool_spender(const tc_mempool *mp, const tc_outpoint *op, tc_hash *txid_out)
{
    TC_ASSERT(mp != NULL && op != NULL && txid_out != NULL);
    uint32_t e = find_spender(mp, op);
    memset(txid_out, 0, sizeof(*txid_out));
    if (e == NONE)
        return TC_ENOTFOUND;
    *txid_out = mp->entries[e].txid;
    return 0;
}

uint32_t tc_mempool_count(const tc_mempool *mp)
{
    TC_ASSERT(mp != NULL);
    return mp->count;
}

uint64_t tc_mempool_bytes(const tc_mempool *mp)
{
    TC_ASSERT(mp != NULL);
    return mp->bytes;
}

void tc_mempool_peer_usage(const tc_mempool *mp, uint32_t peer, uint32_t *count_out,
                           uint64_t *bytes_out)
{
    TC_ASSERT(mp != NULL && count_out != NULL && bytes_out != NULL);
    uint32_t pos = peer_pos(mp, peer);
    bool found = pos < mp->peer_len && mp->peers[pos].peer == peer;
    *count_out = found ? mp->peers[pos].count : 0;
    *bytes_out = found ? mp->peers[pos].bytes : 0;
}

void tc_mempool_iter_init(const tc_mempool *mp, tc_mempool_iter *it)
{
    TC_ASSERT(mp != NULL && it != NULL);
    it->next = mp->head;
    it->mutations = mp->mutations;
}

bool tc_mempool_iter_next(const tc_mempool *mp, tc_mempool_iter *it, tc_mempool_item *out)
{
    TC_ASSERT(mp != NULL && it != NULL && out != NULL);
    TC_ASSERT(it->mutations == mp->mutations); /* the pool changed under the iterator */
    if (it->next == NONE)
        return false;
    fill_item(mp, it->next, out);
    it->next = mp->entries[it->next].next;
    return true;
}

/* ---- invariant checker ---- */

static bool check_entries(const tc_mempool *mp, uint32_t *evictable, uint64_t *bytes)
{
    uint32_t n = 0, evict_n = 0;
    uint64_t sum = 0, last_seq = 0;
    for (uint32_t e = mp->head, prev = NONE; e != NONE; prev = e, e = mp->entries[e].next) {
        const entry *en = &mp->entries[e];
        if (!en->used || en->prev != prev || n++ > mp->count || (n > 1 && en->seq <= last_seq))
            return false;
        if (find_txid(mp, &en->txid) != e)
            return false;
        for (uint32_t i = 0; i < en->tx.input_count; i++)
            if (find_spender(mp, &en->tx.inputs[i].prev) != e)
                return false;
        last_seq = en->seq;
        sum += en->size;
        evict_n += en->voted ? 0 : 1;
    }
    *evictable = evict_n;
    *bytes = sum;
    return n == mp->count;
}

int tc_mempool_check(const tc_mempool *mp)
{
    TC_ASSERT(mp != NULL);
    uint32_t evictable;
    uint64_t bytes;
    bool ok = check_entries(mp, &evictable, &bytes) && bytes == mp->bytes &&
              evictable == mp->evict_len && mp->count <= mp->count_max &&
              mp->bytes <= mp->bytes_max && mp->by_txid.live == mp->count;
    for (uint32_t i = 1; ok && i < mp->evict_len; i++)
        ok = evict_cmp(mp, mp->evict[i - 1], mp->evict[i]) < 0;
    uint32_t peer_total = 0;
    for (uint32_t i = 0; ok && i < mp->peer_len; i++) {
        ok = (i == 0 || mp->peers[i - 1].peer < mp->peers[i].peer) && mp->peers[i].count > 0;
        peer_total += mp->peers[i].count;
        if (mp->peers[i].peer != TC_MEMPOOL_PEER_LOCAL)
            ok = ok && mp->peers[i].count <= mp->share_count &&
                 mp->peers[i].bytes <= mp->share_bytes;
    }
    return ok && peer_total == mp->count ? 0 : TC_EFAILED;
}
