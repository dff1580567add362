/* gossip.c — announce-then-fetch state: the frame cache, the announcement queue and the fetches
 * in flight (see gossip.h for the protocol and its reasons). */
#include "gossip.h"

#include <stdlib.h>
#include <string.h>

/* One slot of an index: the (type, id)'s tag and the entry's index + 1 (0: empty). A probe
 * compares the entry itself only when the tag matches. */
typedef struct {
    uint32_t tag;
    uint32_t val;
} map_slot;

typedef struct {
    map_slot *slots;
    uint32_t mask; /* slots - 1; at most half full */
} idmap;

typedef struct {
    tc_msg_inv inv;
    uint8_t *frame; /* heap copy */
    size_t len;
} cache_entry;

typedef struct {
    tc_msg_inv inv;
    bool used;
    uint8_t alt_count;
    uint32_t peer; /* asked last */
    uint64_t due_ms;
    uint32_t alts[TC_GOSSIP_ALTS_MAX]; /* further announcers, asked in order */
} fetch_entry;

typedef struct {
    tc_msg_inv inv;
    bool has_from;
    uint32_t from;
} announce_entry;

struct tc_gossip {
    tc_gossip_config c;
    uint64_t salt;
    cache_entry *cache;  /* a FIFO ring of c.cache_max */
    uint32_t cache_head; /* next position written */
    uint32_t cache_count;
    uint64_t cache_bytes;
    idmap cache_map;
    fetch_entry *fetch;
    uint32_t *fetch_free; /* a stack of free entry indexes */
    uint32_t fetch_free_count;
    uint32_t fetch_hi; /* every entry at this index or above is free: tick stops here */
    idmap fetch_map;
    uint64_t fetch_due_ms; /* never later than the earliest deadline (tick makes it exact) */
    announce_entry *ann;
    uint32_t ann_count;
    uint64_t ann_since;
    tc_gossip_stats st;
};

/* ---- indexes ---- */

static uint32_t inv_tag(const tc_gossip *g, const tc_msg_inv *inv)
{
    uint64_t x;
    memcpy(&x, inv->id.b, sizeof(x));
    /* Ids come from peers (an IHAVE names anything): the secret salt keeps a peer from aiming
     * them at one probe chain. */
    x = (x ^ g->salt ^ inv->type) * UINT64_C(0x9E3779B97F4A7C15);
    x ^= x >> 31;
    return (uint32_t)(x >> 32);
}

static bool inv_eq(const tc_msg_inv *a, const tc_msg_inv *b)
{
    return a->type == b->type && memcmp(a->id.b, b->id.b, TC_HASH_SIZE) == 0;
}

typedef const tc_msg_inv *(*inv_at_fn)(const tc_gossip *g, uint32_t idx);

static const tc_msg_inv *cache_inv_at(const tc_gossip *g, uint32_t idx)
{
    return &g->cache[idx].inv;
}

static const tc_msg_inv *fetch_inv_at(const tc_gossip *g, uint32_t idx)
{
    return &g->fetch[idx].inv;
}

/* The slot holding inv, or UINT32_MAX. */
static uint32_t map_find(const tc_gossip *g, const idmap *m, inv_at_fn at, const tc_msg_inv *inv)
{
    uint32_t tag = inv_tag(g, inv);
    uint32_t i = tag & m->mask;
    for (uint32_t probes = 0; m->slots[i].val != 0; probes++) {
        TC_ASSERT(probes <= m->mask);
        if (m->slots[i].tag == tag && inv_eq(at(g, m->slots[i].val - 1), inv))
            return i;
        i = (i + 1) & m->mask;
    }
    return UINT32_MAX;
}

static void map_put(const tc_gossip *g, idmap *m, const tc_msg_inv *inv, uint32_t idx)
{
    uint32_t tag = inv_tag(g, inv);
    uint32_t i = tag & m->mask;
    while (m->slots[i].val != 0)
        i = (i + 1) & m->mask; /* ends: the index is at most half full */
    m->slots[i].tag = tag;
    m->slots[i].val = idx + 1;
}

/* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
static void map_del(idmap *m, uint32_t i)
{
    TC_ASSERT(m->slots[i].val != 0);
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & m->mask;
        if (m->slots[j].val == 0)
            break;
        uint32_t k = m->slots[j].tag & m->mask;
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].val = 0;
    m->slots[i].tag = 0;
}

static int map_alloc(idmap *m, uint32_t entries)
{
    uint32_t size = 2;
    while (size < 2 * entries)
        size *= 2;
    m->mask = size - 1;
    m->slots = tc_calloc(size, sizeof(*m->slots));
    return m->slots != NULL ? 0 : TC_ENOMEM;
}

/* ---- the frame cache ---- */

static void cache_evict_oldest(tc_gossip *g)
{
    TC_ASSERT(g->cache_count > 0);
    uint32_t pos = (g->cache_head + g->c.cache_max - g->cache_count) % g->c.cache_max;
    cache_entry *e = &g->cache[pos];
    uint32_t slot = map_find(g, &g->cache_map, cache_inv_at, &e->inv);
    TC_ASSERT(slot != UINT32_MAX && g->cache_map.slots[slot].val == pos + 1);
    map_del(&g->cache_map, slot);
    TC_ASSERT(g->cache_bytes >= e->len);
    g->cache_bytes -= e->len;
    free(e->frame);
    memset(e, 0, sizeof(*e));
    g->cache_count--;
    g->st.evicted++;
}

static int cache_put(tc_gossip *g, const tc_msg_inv *inv, const uint8_t *frame, size_t len)
{
    if (len > g->c.cache_bytes_max)
        return TC_ETOOLONG;
    uint8_t *copy = tc_malloc(len);
    if (copy == NULL)
        return TC_ENOMEM;
    memcpy(copy, frame, len);
    while (g->cache_count > 0 &&
           (g->cache_count == g->c.cache_max || g->cache_bytes + len > g->c.cache_bytes_max))
        cache_evict_oldest(g);
    uint32_t pos = g->cache_head;
    TC_ASSERT(g->cache[pos].frame == NULL);
    g->cache[pos] = (cache_entry){.inv = *inv, .frame = copy, .len = len};
    map_put(g, &g->cache_map, inv, pos);
    g->cache_head = (pos + 1) % g->c.cache_max;
    g->cache_count++;
    g->cache_bytes += len;
    g->st.kept++;
    TC_ASSERT(g->cache_count <= g->c.cache_max && g->cache_bytes <= g->c.cache_bytes_max);
    return 0;
}

const uint8_t *tc_gossip_frame(const tc_gossip *g, const tc_msg_inv *inv, size_t *len_out)
{
    TC_ASSERT(g != NULL && inv != NULL && len_out != NULL);
    *len_out = 0;
    uint32_t slot = map_find(g, &g->cache_map, cache_inv_at, inv);
    if (slot == UINT32_MAX)
        return NULL;
    const cache_entry *e = &g->cache[g->cache_map.slots[slot].val - 1];
    *len_out = e->len;
    return e->frame;
}

/* ---- the announcement queue ---- */

int tc_gossip_keep(tc_gossip *g, const tc_msg_inv *inv, const uint8_t *frame, size_t len)
{
    TC_ASSERT(g != NULL && inv != NULL && frame != NULL);
    TC_ASSERT(tc_msg_inv_type_ok(inv->type));
    tc_gossip_arrived(g, inv);
    if (map_find(g, &g->cache_map, cache_inv_at, inv) != UINT32_MAX)
        return TC_EEXIST;
    return cache_put(g, inv, frame, len);
}

int tc_gossip_offer(tc_gossip *g, uint64_t now_ms, const tc_msg_inv *inv, const uint8_t *frame,
                    size_t len, bool has_from, uint32_t from)
{
    int rc = tc_gossip_keep(g, inv, frame, len);
    if (rc != 0)
        return rc;
    if (g->ann_count == g->c.announce_max) {
        g->st.announce_full++;
        return 0; /* kept, so still served to whoever asks */
    }
    if (g->ann_count == 0)
        g->ann_since = now_ms;
    g->ann[g->ann_count++] = (announce_entry){.inv = *inv, .has_from = has_from, .from = from};
    g->st.announced++;
    return 0;
}

uint64_t tc_gossip_announce_since(const tc_gossip *g)
{
    TC_ASSERT(g != NULL);
    return g->ann_count == 0 ? UINT64_MAX : g->ann_since;
}

uint32_t tc_gossip_announce_count(const tc_gossip *g)
{
    TC_ASSERT(g != NULL);
    return g->ann_count;
}

void tc_gossip_announce_get(const tc_gossip *g, uint32_t i, tc_msg_inv *inv, bool *has_from,
                            uint32_t *from)
{
    TC_ASSERT(g != NULL && i < g->ann_count && inv != NULL && has_from != NULL && from != NULL);
    *inv = g->ann[i].inv;
    *has_from = g->ann[i].has_from;
    *from = g->ann[i].from;
}

void tc_gossip_announce_clear(tc_gossip *g)
{
    TC_ASSERT(g != NULL);
    g->ann_count = 0;
}

/* ---- fetches ---- */

int tc_gossip_want(tc_gossip *g, uint64_t now_ms, uint32_t peer, const tc_msg_inv *inv)
{
    TC_ASSERT(g != NULL && inv != NULL);
    uint32_t slot = map_find(g, &g->fetch_map, fetch_inv_at, inv);
    if (slot != UINT32_MAX) {
        fetch_entry *f = &g->fetch[g->fetch_map.slots[slot].val - 1];
        bool known = f->peer == peer;
        for (uint32_t k = 0; k < f->alt_count && !known; k++)
            known = f->alts[k] == peer;
        if (!known && f->alt_count < TC_GOSSIP_ALTS_MAX)
            f->alts[f->alt_count++] = peer;
        return 0;
    }
    if (g->fetch_free_count == 0) {
        g->st.fetch_full++;
        return TC_EFULL;
    }
    uint32_t idx = g->fetch_free[--g->fetch_free_count];
    fetch_entry *f = &g->fetch[idx];
    TC_ASSERT(!f->used);
    *f = (fetch_entry){.inv = *inv, .used = true, .peer = peer};
    if (idx + 1 > g->fetch_hi)
        g->fetch_hi = idx + 1;
    f->due_ms = now_ms + g->c.fetch_timeout_ms;
    map_put(g, &g->fetch_map, inv, idx);
    if (f->due_ms < g->fetch_due_ms)
        g->fetch_due_ms = f->due_ms;
    g->st.fetches++;
    return 1;
}

static void fetch_drop(tc_gossip *g, uint32_t slot)
{
    uint32_t idx = g->fetch_map.slots[slot].val - 1;
    TC_ASSERT(g->fetch[idx].used && g->fetch_free_count < g->c.fetch_max);
    map_del(&g->fetch_map, slot);
    memset(&g->fetch[idx], 0, sizeof(g->fetch[idx]));
    g->fetch_free[g->fetch_free_count++] = idx;
}

void tc_gossip_arrived(tc_gossip *g, const tc_msg_inv *inv)
{
    TC_ASSERT(g != NULL && inv != NULL);
    uint32_t slot = map_find(g, &g->fetch_map, fetch_inv_at, inv);
    if (slot != UINT32_MAX)
        fetch_drop(g, slot); /* fetch_due_ms may now be early: tick makes it exact */
}

void tc_gossip_tick(tc_gossip *g, uint64_t now_ms, tc_gossip_ask_fn ask, void *ctx)
{
    TC_ASSERT(g != NULL && ask != NULL);
    if (now_ms < g->fetch_due_ms)
        return;
    uint64_t due = UINT64_MAX;
    uint32_t hi = 0;
    for (uint32_t idx = 0; idx < g->fetch_hi; idx++) {
        fetch_entry *f = &g->fetch[idx];
        if (!f->used)
            continue;
        if (f->due_ms <= now_ms && f->alt_count == 0) {
            uint32_t slot = map_find(g, &g->fetch_map, fetch_inv_at, &f->inv);
            TC_ASSERT(slot != UINT32_MAX);
            fetch_drop(g, slot);
            g->st.given_up++;
            continue;
        }
        if (f->due_ms <= now_ms) {
            /* The announcer that never delivered is not asked again: the next one is. */
            f->peer = f->alts[0];
            memmove(f->alts, f->alts + 1, (size_t)(f->alt_count - 1) * sizeof(f->alts[0]));
            f->alt_count--;
            f->due_ms = now_ms + g->c.fetch_timeout_ms;
            g->st.retries++;
            ask(ctx, f->peer, &f->inv);
        }
        if (f->due_ms < due)
            due = f->due_ms;
        hi = idx + 1;
    }
    g->fetch_due_ms = due;
    g->fetch_hi = hi;
}

uint64_t tc_gossip_next_deadline(const tc_gossip *g)
{
    TC_ASSERT(g != NULL);
    return g->fetch_due_ms;
}

/* ---- lifecycle and stats ---- */

void tc_gossip_stats_get(const tc_gossip *g, tc_gossip_stats *out)
{
    TC_ASSERT(g != NULL && out != NULL);
    *out = g->st;
    out->cache_count = g->cache_count;
    out->cache_bytes = g->cache_bytes;
    out->fetch_count = g->c.fetch_max - g->fetch_free_count;
    out->announce_count = g->ann_count;
    TC_ASSERT(out->cache_count <= g->c.cache_max && out->fetch_count <= g->c.fetch_max);
}

static uint32_t bound_or(uint32_t v, uint32_t dflt)
{
    return v == 0 ? dflt : v;
}

int tc_gossip_new(const tc_gossip_config *config, uint64_t salt, tc_gossip **out)
{
    TC_ASSERT(config != NULL && out != NULL);
    *out = NULL;
    tc_gossip_config c = *config;
    c.cache_max = bound_or(c.cache_max, TC_GOSSIP_CACHE_MAX_DEFAULT);
    c.fetch_max = bound_or(c.fetch_max, TC_GOSSIP_FETCH_MAX_DEFAULT);
    c.announce_max = bound_or(c.announce_max, TC_GOSSIP_ANNOUNCE_MAX_DEFAULT);
    c.fetch_timeout_ms = bound_or(c.fetch_timeout_ms, TC_GOSSIP_FETCH_TIMEOUT_MS);
    if (c.cache_bytes_max == 0)
        c.cache_bytes_max = TC_GOSSIP_CACHE_BYTES_MAX_DEFAULT;
    if (c.cache_max > TC_GOSSIP_CONTAINER_MAX || c.fetch_max > TC_GOSSIP_CONTAINER_MAX ||
        c.announce_max > TC_GOSSIP_CONTAINER_MAX)
        return TC_EINVAL;
    tc_gossip *g = tc_calloc(1, sizeof(*g));
    if (g == NULL)
        return TC_ENOMEM;
    g->c = c;
    g->salt = salt;
    g->fetch_due_ms = UINT64_MAX;
    g->cache = tc_calloc(c.cache_max, sizeof(*g->cache));
    g->fetch = tc_calloc(c.fetch_max, sizeof(*g->fetch));
    g->fetch_free = tc_calloc(c.fetch_max, sizeof(*g->fetch_free));
    g->ann = tc_calloc(c.announce_max, sizeof(*g->ann));
    int rc = g->cache && g->fetch && g->fetch_free && g->ann ? 0 : TC_ENOMEM;
    if (rc == 0)
        rc = map_alloc(&g->cache_map, c.cache_max);
    if (rc == 0)
        rc = map_alloc(&g->fetch_map, c.fetch_max);
    if (rc != 0) {
        tc_gossip_free(g);
        return rc;
    }
    /* Free entries are taken from the top: the lowest index first, so tick scans little. */
    for (uint32_t i = 0; i < c.fetch_max; i++)
        g->fetch_free[i] = c.fetch_max - 1 - i;
    g->fetch_free_count = c.fetch_max;
    *out = g;
    return 0;
}

void tc_gossip_free(tc_gossip *g)
{
    if (g == NULL)
        return;
    if (g->cache != NULL)
        for (uint32_t i = 0; i < g->c.cache_max; i++)
            free(g->cache[i].frame);
    free(g->cache);
    free(g->fetch);
    free(g->fetch_free);
    free(g->ann);
    free(g->cache_map.slots);
    free(g->fetch_map.slots);
    free(g);
}
