/* The simulator's memo of tagged hashes: see hashmemo.h. */
#include "hashmemo.h"

#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "codec.h"

#define TAG_MAX 32 /* the core's TC_TAG_* strings are shorter */

typedef struct {
    uint64_t digest; /* digest_of(tag, bytes) */
    uint8_t *bytes;  /* copy of the string; NULL: the slot is empty */
    size_t len;
    size_t cap; /* bytes allocated at bytes (counted in the budget) */
    char tag[TAG_MAX];
    tc_hash hash;
} entry;

struct tc_sim_memo {
    tc_hash_memo iface;
    entry *slots;
    uint32_t mask;
    size_t bytes_max;
    tc_sim_memo_digest_fn digest;
    tc_sim_memo_stats stats;
};

/* Bytes the digest reads at each end of a string. */
#define DIGEST_EDGE 32

static uint64_t digest_words(uint64_t h, const uint8_t *bytes, size_t len)
{
    const uint64_t k = UINT64_C(0x9e3779b97f4a7c15);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        h = (h ^ tc_load_u64(bytes + i)) * k;
        h ^= h >> 32;
    }
    if (i < len) {
        uint8_t last[8] = {0};
        memcpy(last, bytes + i, len - i);
        h = (h ^ tc_load_u64(last)) * k;
    }
    return h;
}

/* A cheap digest to find a slot: the length and at most DIGEST_EDGE bytes at each end (a vote
 * batch's validator and seq, its last txid; a fast signature's key and message whole). It need
 * not resist anything nor read every byte (nor the tag), as an entry answers only after a full
 * compare: strings that agree on what it reads merely share a slot. */
static uint64_t digest_of(const char *tag, const uint8_t *bytes, size_t len)
{
    (void)tag;
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)len;
    if (len <= 2 * DIGEST_EDGE) {
        h = digest_words(h, bytes, len);
    } else {
        h = digest_words(h, bytes, DIGEST_EDGE);
        h = digest_words(h, bytes + len - DIGEST_EDGE, DIGEST_EDGE);
    }
    h ^= h >> 29;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    return h ^ (h >> 32);
}

/* strcmp(a, b) == 0 for the short tags, inline: the library's costs more than the whole
 * compare of a tag. */
static bool tag_eq(const char *a, const char *b)
{
    for (; *a == *b; a++, b++)
        if (*a == 0)
            return true;
    return false;
}

static bool entry_is(const entry *e, uint64_t digest, const char *tag, const uint8_t *bytes,
                     size_t len)
{
    return e->bytes != NULL && e->digest == digest && e->len == len && tag_eq(e->tag, tag) &&
           (len == 0 || memcmp(e->bytes, bytes, len) == 0);
}

static bool memo_get(void *ctx, const char *tag, const uint8_t *bytes, size_t len, tc_hash *out)
{
    tc_sim_memo *m = ctx;
    TC_ASSERT(m != NULL && tag != NULL && out != NULL && (bytes != NULL || len == 0));
    uint64_t d = m->digest(tag, bytes, len);
    const entry *e = &m->slots[d & m->mask];
    if (!entry_is(e, d, tag, bytes, len)) {
        m->stats.misses++;
        return false;
    }
    m->stats.hits++;
    *out = e->hash;
    return true;
}

static void entry_clear(tc_sim_memo *m, entry *e)
{
    TC_ASSERT(m->stats.bytes >= e->cap && (e->bytes == NULL || m->stats.entries > 0));
    if (e->bytes != NULL)
        m->stats.entries--;
    m->stats.bytes -= e->cap;
    free(e->bytes);
    memset(e, 0, sizeof(*e));
}

static void memo_put(void *ctx, const char *tag, const uint8_t *bytes, size_t len, const tc_hash *h)
{
    tc_sim_memo *m = ctx;
    TC_ASSERT(m != NULL && tag != NULL && h != NULL && (bytes != NULL || len == 0));
    uint64_t d = m->digest(tag, bytes, len);
    entry *e = &m->slots[d & m->mask];
    if (entry_is(e, d, tag, bytes, len))
        return;
    size_t need = len > 0 ? len : 1;
    if (strlen(tag) >= TAG_MAX || m->stats.bytes - e->cap + need > m->bytes_max) {
        m->stats.refused++;
        return; /* the slot keeps what it holds */
    }
    bool held = e->bytes != NULL;
    if (e->cap < need) {
        uint8_t *b = realloc(e->bytes, need);
        if (b == NULL) {
            entry_clear(m, e); /* a memo may forget: only speed depends on it */
            return;
        }
        m->stats.bytes += need - e->cap;
        e->bytes = b;
        e->cap = need;
    }
    if (held)
        m->stats.evictions++;
    else
        m->stats.entries++;
    if (len > 0)
        memcpy(e->bytes, bytes, len);
    e->len = len;
    e->digest = d;
    memcpy(e->tag, tag, strlen(tag) + 1);
    e->hash = *h;
    m->stats.stores++;
    TC_ASSERT(m->stats.bytes <= m->bytes_max && m->stats.entries <= m->mask + 1);
}

tc_sim_memo *tc_sim_memo_new(uint32_t capacity, size_t bytes_max)
{
    return tc_sim_memo_new_digest(capacity, bytes_max, NULL);
}

tc_sim_memo *tc_sim_memo_new_digest(uint32_t capacity, size_t bytes_max,
                                    tc_sim_memo_digest_fn digest)
{
    uint32_t cap = 16;
    while (cap < capacity && cap < (UINT32_C(1) << 30))
        cap <<= 1;
    tc_sim_memo *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->slots = calloc(cap, sizeof(*m->slots));
    if (m->slots == NULL) {
        free(m);
        return NULL;
    }
    m->mask = cap - 1;
    m->bytes_max = bytes_max;
    m->digest = digest != NULL ? digest : digest_of;
    m->iface = (tc_hash_memo){.get = memo_get, .put = memo_put, .ctx = m};
    return m;
}

void tc_sim_memo_free(tc_sim_memo *m)
{
    if (m == NULL)
        return;
    for (uint32_t i = 0; i <= m->mask; i++)
        free(m->slots[i].bytes);
    free(m->slots);
    free(m);
}

const tc_hash_memo *tc_sim_memo_iface(tc_sim_memo *m)
{
    TC_ASSERT(m != NULL);
    return &m->iface;
}

void tc_sim_memo_stats_get(const tc_sim_memo *m, tc_sim_memo_stats *out)
{
    TC_ASSERT(m != NULL && out != NULL);
    *out = m->stats;
}
