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
    uint64_t at_ms; /* kept at (the gossip's clock, now_ms below) */
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
    uint64_t now_ms;     /* the latest time a call passed: keep takes none */
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
}

/* Evicts the frames kept more than cache_age_ms ago; the ring is in keeping order, and the clock
 * never goes back, so they are the oldest ones. */
static void cache_expire(tc_gossip *g)
{
    while (g->cache_count > 0) {
        uint32_t pos = (g->cache_head + g->c.cache_max - g->cache_count) % g->c.cache_max;
        if (g->cache[pos].at_ms + g->c.cache_age_ms >= g->now_ms)
            return;
        cache_evict_oldest(g);
        g->st.expired++;
    }
}

static void clock_advance(tc_gossip *g, uint64_t now_ms)
{
    if (now_ms > g->now_ms)
        g->now_ms = now_ms;
}

static int cache_put(tc_gossip *g, const tc_msg_inv *inv, const uint8_t *frame, size_t len)
{
    cache_expire(g);
    if (len > g->c.cache_bytes_max)
        return TC_ETOOLONG;
    uint8_t *copy = tc_malloc(len);
    if (copy == NULL)
        return TC_ENOMEM;
    memcpy(copy, frame, len);
    while (g->cache_count > 0 &&
           (g->cache_count == g->c.cache_max || g->cache_bytes + len > g->c.cache_bytes_max)) {
        cache_evict_oldest(g);
        g->st.evicted++;
    }
    uint32_t pos = g->cache_head;
    TC_ASSERT(g->cache[pos].frame == NULL);
    g->cache[pos] = (cache_entry){.inv = *inv, .frame = copy, .len = len, .at_ms = g->now_ms};
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
    clock_advance(g, now_ms);
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
    clock_advance(g, now_ms);
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
    clock_advance(g, now_ms);
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
    uint64_t age = (uint64_t)(TC_GOSSIP_ALTS_MAX + 1) * c.fetch_timeout_ms;
    c.cache_age_ms = bound_or(c.cache_age_ms, age < UINT32_MAX ? (uint32_t)age : UINT32_MAX);
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

/* ---- consensus votes (gossip.h) ---- */

typedef struct {
    bool used;
    bool dirty; /* gained a vote since its bits were last taken */
    uint32_t round;
    uint8_t type;     /* tc_vote_type */
    uint32_t held;    /* frames held */
    uint32_t lacking; /* votes not held that have a holder: tc_voteg_busy in O(1) */
    uint8_t **frames; /* [count], heap copies */
    uint32_t *lens;
    uint32_t *holder;   /* [count]: latest announcer of a lacking vote, UINT32_MAX: none */
    uint64_t *known_ms; /* [count]: when a lacking vote was first announced */
    uint64_t *asked_ms; /* [count]: when it was last asked for, 0: never */
} voteg_table;

#define VOTEG_HOLDERS_MAX 64 /* distinct holders one tick asks, per table */

struct tc_voteg {
    uint64_t height; /* 0: none */
    uint32_t count;
    voteg_table t[TC_VOTEG_ENTRIES_MAX];
    tc_voteg_stats st;
};

int tc_voteg_new(tc_voteg **out)
{
    TC_ASSERT(out != NULL);
    *out = tc_calloc(1, sizeof(**out));
    return *out == NULL ? TC_ENOMEM : 0;
}

static void voteg_table_clear(voteg_table *t, uint32_t count)
{
    if (t->frames != NULL)
        for (uint32_t v = 0; v < count; v++)
            free(t->frames[v]);
    free(t->frames);
    free(t->lens);
    free(t->holder);
    free(t->known_ms);
    free(t->asked_ms);
    memset(t, 0, sizeof(*t));
}

void tc_voteg_free(tc_voteg *g)
{
    if (g == NULL)
        return;
    for (int i = 0; i < TC_VOTEG_ENTRIES_MAX; i++)
        voteg_table_clear(&g->t[i], g->count);
    free(g);
}

void tc_voteg_height(tc_voteg *g, uint64_t height, uint32_t count)
{
    TC_ASSERT(g != NULL && count > 0);
    if (count > TC_MSG_VOTE_BITS_MAX)
        count = TC_MSG_VOTE_BITS_MAX;
    if (height == g->height && count == g->count)
        return;
    for (int i = 0; i < TC_VOTEG_ENTRIES_MAX; i++)
        voteg_table_clear(&g->t[i], g->count);
    g->height = height;
    g->count = count;
}

static voteg_table *voteg_find(const tc_voteg *g, uint32_t round, uint8_t type)
{
    for (int i = 0; i < TC_VOTEG_ENTRIES_MAX; i++)
        if (g->t[i].used && g->t[i].round == round && g->t[i].type == type)
            return (voteg_table *)&g->t[i];
    return NULL;
}

/* A table for (round, type): a free one, or the one holding the fewest votes replaced. */
static voteg_table *voteg_make(tc_voteg *g, uint32_t round, uint8_t type)
{
    voteg_table *t = NULL;
    for (int i = 0; i < TC_VOTEG_ENTRIES_MAX && t == NULL; i++)
        if (!g->t[i].used)
            t = &g->t[i];
    if (t == NULL) {
        t = &g->t[0];
        for (int i = 1; i < TC_VOTEG_ENTRIES_MAX; i++) {
            const voteg_table *c = &g->t[i];
            if (c->held < t->held || (c->held == t->held && c->round < t->round))
                t = &g->t[i];
        }
        voteg_table_clear(t, g->count);
        g->st.replaced++;
    }
    t->frames = tc_calloc(g->count, sizeof(*t->frames));
    t->lens = tc_calloc(g->count, sizeof(*t->lens));
    t->holder = tc_calloc(g->count, sizeof(*t->holder));
    t->known_ms = tc_calloc(g->count, sizeof(*t->known_ms));
    t->asked_ms = tc_calloc(g->count, sizeof(*t->asked_ms));
    if (t->frames == NULL || t->lens == NULL || t->holder == NULL || t->known_ms == NULL ||
        t->asked_ms == NULL) {
        voteg_table_clear(t, g->count);
        return NULL;
    }
    for (uint32_t v = 0; v < g->count; v++)
        t->holder[v] = UINT32_MAX;
    t->used = true;
    t->round = round;
    t->type = type;
    return t;
}

int tc_voteg_add(tc_voteg *g, const tc_vote *v, const uint8_t *frame, size_t len)
{
    TC_ASSERT(g != NULL && v != NULL && frame != NULL && len > 0 && len <= UINT32_MAX);
    if (g->height == 0 || v->height != g->height || v->validator >= g->count)
        return TC_ERANGE;
    voteg_table *t = voteg_find(g, v->round, v->type);
    if (t == NULL && (t = voteg_make(g, v->round, v->type)) == NULL)
        return TC_ENOMEM;
    if (t->frames[v->validator] != NULL)
        return TC_EEXIST;
    uint8_t *copy = tc_malloc(len);
    if (copy == NULL)
        return TC_ENOMEM;
    memcpy(copy, frame, len);
    t->frames[v->validator] = copy;
    t->lens[v->validator] = (uint32_t)len;
    if (t->holder[v->validator] != UINT32_MAX) {
        TC_ASSERT(t->lacking > 0);
        t->lacking--;
    }
    t->holder[v->validator] = UINT32_MAX;
    t->held++;
    t->dirty = true;
    g->st.kept++;
    TC_ASSERT(t->held <= g->count);
    return 0;
}

const uint8_t *tc_voteg_frame(const tc_voteg *g, uint32_t round, uint8_t type, uint32_t validator,
                              size_t *len_out)
{
    TC_ASSERT(g != NULL && len_out != NULL);
    const voteg_table *t = voteg_find(g, round, type);
    *len_out = 0;
    if (t == NULL || validator >= g->count || t->frames[validator] == NULL)
        return NULL;
    *len_out = t->lens[validator];
    return t->frames[validator];
}

static void voteg_bits_init(const tc_voteg *g, const voteg_table *t, tc_msg_vote_bits *m)
{
    memset(m, 0, sizeof(*m));
    m->height = g->height;
    m->round = t->round;
    m->vote_type = t->type;
    m->count = g->count;
}

uint32_t tc_voteg_take_bits(tc_voteg *g, bool all, tc_msg_vote_bits *out, uint32_t max)
{
    TC_ASSERT(g != NULL && (out != NULL || max == 0));
    uint32_t k = 0;
    for (int i = 0; i < TC_VOTEG_ENTRIES_MAX && k < max; i++) {
        voteg_table *t = &g->t[i];
        if (!t->used || t->held == 0 || !(t->dirty || all))
            continue;
        voteg_bits_init(g, t, &out[k]);
        for (uint32_t v = 0; v < g->count; v++)
            if (t->frames[v] != NULL)
                out[k].bits[v / 8] |= (uint8_t)(1u << (v % 8));
        t->dirty = false;
        k++;
    }
    return k;
}

void tc_voteg_on_bits(tc_voteg *g, uint64_t now_ms, uint32_t peer, const tc_msg_vote_bits *m)
{
    TC_ASSERT(g != NULL && m != NULL && peer != UINT32_MAX);
    if (m->height != g->height || g->height == 0)
        return;
    voteg_table *t = voteg_find(g, m->round, m->vote_type);
    if (t == NULL)
        return;
    uint32_t count = m->count < g->count ? m->count : g->count;
    for (uint32_t v = 0; v < count; v++) {
        if (!(m->bits[v / 8] & (1u << (v % 8))) || t->frames[v] != NULL)
            continue;
        if (t->holder[v] == UINT32_MAX && t->known_ms[v] == 0)
            t->known_ms[v] = now_ms > 0 ? now_ms : 1; /* 0 means "never announced" */
        t->lacking += t->holder[v] == UINT32_MAX;
        t->holder[v] = peer;
    }
}

/* Asks holder for every vote of t it holds that is due (its first is at index first). */
static void voteg_want_from(tc_voteg *g, voteg_table *t, uint32_t first, uint64_t now_ms,
                            uint32_t grace_ms, uint32_t retry_ms, tc_voteg_want_fn want, void *ctx)
{
    uint32_t holder = t->holder[first];
    tc_msg_vote_bits m;
    voteg_bits_init(g, t, &m);
    uint32_t asked = 0;
    for (uint32_t v = first; v < g->count; v++) {
        if (t->frames[v] != NULL || t->holder[v] != holder)
            continue;
        bool learned = now_ms >= t->known_ms[v] + grace_ms;
        bool due = t->asked_ms[v] == 0 || now_ms >= t->asked_ms[v] + retry_ms;
        if (!learned || !due)
            continue;
        m.bits[v / 8] |= (uint8_t)(1u << (v % 8));
        t->asked_ms[v] = now_ms > 0 ? now_ms : 1;
        asked++;
    }
    if (asked > 0) {
        g->st.wanted += asked;
        want(ctx, holder, &m);
    }
}

void tc_voteg_tick(tc_voteg *g, uint64_t now_ms, uint32_t grace_ms, uint32_t retry_ms,
                   tc_voteg_want_fn want, void *ctx)
{
    TC_ASSERT(g != NULL && want != NULL);
    for (int i = 0; i < TC_VOTEG_ENTRIES_MAX; i++) {
        voteg_table *t = &g->t[i];
        if (!t->used)
            continue;
        if (t->lacking == 0)
            continue;
        /* One want per distinct holder, in the order of their first lacking vote; holders are
         * a node's peers, and past VOTEG_HOLDERS_MAX in one table the rest wait a tick. */
        uint32_t firsts[VOTEG_HOLDERS_MAX];
        uint32_t nh = 0;
        for (uint32_t v = 0; v < g->count && nh < VOTEG_HOLDERS_MAX; v++) {
            if (t->frames[v] != NULL || t->holder[v] == UINT32_MAX)
                continue;
            bool known = false;
            for (uint32_t k = 0; k < nh && !known; k++)
                known = t->holder[firsts[k]] == t->holder[v];
            if (!known)
                firsts[nh++] = v;
        }
        for (uint32_t k = 0; k < nh; k++)
            voteg_want_from(g, t, firsts[k], now_ms, grace_ms, retry_ms, want, ctx);
    }
}

bool tc_voteg_busy(const tc_voteg *g)
{
    TC_ASSERT(g != NULL);
    for (int i = 0; i < TC_VOTEG_ENTRIES_MAX; i++) {
        const voteg_table *t = &g->t[i];
        if (!t->used)
            continue;
        if (t->dirty || t->lacking > 0)
            return true;
    }
    return false;
}

void tc_voteg_stats_get(const tc_voteg *g, tc_voteg_stats *out)
{
    TC_ASSERT(g != NULL && out != NULL);
    *out = g->st;
    out->height = g->height;
    out->count = g->count;
    out->tables = 0;
    for (int i = 0; i < TC_VOTEG_ENTRIES_MAX; i++)
        out->tables += g->t[i].used;
}
