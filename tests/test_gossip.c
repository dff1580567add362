/* test_gossip.c — announce-then-fetch state (gossip.h): the frame cache (bounds by count, by
 * bytes and by age, FIFO eviction, lookups after evictions), the announcement queue (bound,
 * exclusion of the sender), and fetches: one ask per id, further announcers remembered (bounded,
 * never twice), a peer announcing and never delivering replaced by the next one, a fetch given up
 * after its last announcer, a flood of announcements bounded by the table, and arrivals ending
 * fetches. The vote tables (PROTOCOL 10.9): frames kept per (round, type, validator) of one height,
 * bitmaps of what changed, wants only after a grace interval and again only after the retry
 * interval, replacement of the emptiest table, and a new height dropping everything. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "gossip.h"

static tc_msg_inv inv_of(uint8_t type, uint32_t v)
{
    tc_msg_inv inv = {.type = type};
    for (size_t i = 0; i < TC_HASH_SIZE; i++)
        inv.id.b[i] = (uint8_t)(v >> (8 * (i % 4))) ^ (uint8_t)(i * 13);
    return inv;
}

static tc_gossip *mk(uint32_t cache_max, uint64_t cache_bytes, uint32_t fetch_max,
                     uint32_t announce_max)
{
    tc_gossip_config c = {.cache_max = cache_max,
                          .cache_bytes_max = cache_bytes,
                          .fetch_max = fetch_max,
                          .announce_max = announce_max,
                          .fetch_timeout_ms = 100};
    tc_gossip *g = NULL;
    cr_assert_eq(tc_gossip_new(&c, 0x1234, &g), 0);
    cr_assert_not_null(g);
    return g;
}

/* A recorder for the retries tick asks for. */
typedef struct {
    uint32_t n;
    uint32_t peers[64];
    tc_msg_inv invs[64];
} asks;

static void record(void *ctx, uint32_t peer, const tc_msg_inv *inv)
{
    asks *a = ctx;
    cr_assert_lt(a->n, 64);
    a->peers[a->n] = peer;
    a->invs[a->n] = *inv;
    a->n++;
}

Test(gossip, config_is_checked)
{
    tc_gossip_config c = {.cache_max = TC_GOSSIP_CONTAINER_MAX + 1};
    tc_gossip *g = (tc_gossip *)1;
    cr_assert_eq(tc_gossip_new(&c, 1, &g), TC_EINVAL);
    cr_assert_null(g, "nothing made on error");
    c = (tc_gossip_config){.fetch_max = TC_GOSSIP_CONTAINER_MAX + 1};
    cr_assert_eq(tc_gossip_new(&c, 1, &g), TC_EINVAL);
    c = (tc_gossip_config){0};
    cr_assert_eq(tc_gossip_new(&c, 1, &g), 0, "zeros select the defaults");
    tc_gossip_stats st;
    tc_gossip_stats_get(g, &st);
    cr_assert_eq(st.cache_count + st.fetch_count + st.announce_count, 0);
    cr_assert_eq(tc_gossip_next_deadline(g), UINT64_MAX, "nothing due");
    cr_assert_eq(tc_gossip_announce_since(g), UINT64_MAX);
    tc_gossip_free(g);
    tc_gossip_free(NULL);
}

/* A kept frame is served byte for byte; an unknown id (an IWANT for something never kept, or a
 * type the id was not kept under) finds nothing. */
Test(gossip, offer_keeps_and_serves_frames)
{
    tc_gossip *g = mk(8, 1 << 20, 8, 8);
    uint8_t frame[100];
    for (size_t i = 0; i < sizeof(frame); i++)
        frame[i] = (uint8_t)(i * 3);
    tc_msg_inv a = inv_of(TC_MSG_TX, 1);
    cr_assert_eq(tc_gossip_offer(g, 10, &a, frame, sizeof(frame), true, 7), 0);
    cr_assert_eq(tc_gossip_offer(g, 11, &a, frame, sizeof(frame), true, 8), TC_EEXIST);
    size_t len = 0;
    const uint8_t *f = tc_gossip_frame(g, &a, &len);
    cr_assert_not_null(f);
    cr_assert_eq(len, sizeof(frame));
    cr_assert_arr_eq(f, frame, sizeof(frame), "a copy of the frame");
    tc_msg_inv unknown = inv_of(TC_MSG_TX, 2);
    cr_assert_null(tc_gossip_frame(g, &unknown, &len), "an id never kept");
    cr_assert_eq(len, 0);
    tc_msg_inv other_type = a;
    other_type.type = TC_MSG_VOTE_BATCH;
    cr_assert_null(tc_gossip_frame(g, &other_type, &len), "the type is part of the id");
    cr_assert_eq(tc_gossip_announce_count(g), 1, "announced once");
    cr_assert_eq(tc_gossip_announce_since(g), 10);
    tc_msg_inv got;
    bool has_from = false;
    uint32_t from = 0;
    tc_gossip_announce_get(g, 0, &got, &has_from, &from);
    cr_assert(has_from);
    cr_assert_eq(from, 7, "not announced back to its sender");
    cr_assert_arr_eq(got.id.b, a.id.b, TC_HASH_SIZE);
    tc_gossip_announce_clear(g);
    cr_assert_eq(tc_gossip_announce_count(g), 0);
    cr_assert_eq(tc_gossip_announce_since(g), UINT64_MAX);
    /* keep: cached, not queued. */
    tc_msg_inv p = inv_of(TC_MSG_PROPOSAL, 3);
    cr_assert_eq(tc_gossip_keep(g, &p, frame, 10), 0);
    cr_assert_eq(tc_gossip_announce_count(g), 0);
    cr_assert_not_null(tc_gossip_frame(g, &p, &len));
    cr_assert_eq(len, 10);
    tc_gossip_free(g);
}

/* The cache keeps at most cache_max frames and cache_bytes_max bytes, evicting the oldest. */
Test(gossip, cache_is_bounded_by_count_and_bytes)
{
    tc_gossip *g = mk(4, 250, 8, 64);
    uint8_t frame[100] = {0};
    for (uint32_t v = 0; v < 6; v++) {
        tc_msg_inv a = inv_of(TC_MSG_VOTE_BATCH, v);
        cr_assert_eq(tc_gossip_offer(g, v, &a, frame, 50, false, 0), 0);
    }
    tc_gossip_stats st;
    tc_gossip_stats_get(g, &st);
    cr_assert_eq(st.cache_count, 4, "count bound");
    cr_assert_eq(st.evicted, 2);
    size_t len;
    for (uint32_t v = 0; v < 6; v++) {
        tc_msg_inv a = inv_of(TC_MSG_VOTE_BATCH, v);
        cr_assert_eq(tc_gossip_frame(g, &a, &len) != NULL, v >= 2, "id %u", v);
    }
    tc_msg_inv big = inv_of(TC_MSG_VOTE_BATCH, 100);
    cr_assert_eq(tc_gossip_offer(g, 9, &big, frame, 100, false, 0), 0);
    tc_gossip_stats_get(g, &st);
    cr_assert_leq(st.cache_bytes, 250);
    cr_assert_eq(st.cache_bytes, 250, "one of 50 evicted for the count: 150 + 100 fit in 250");
    cr_assert_eq(st.cache_count, 4);
    tc_msg_inv big2 = inv_of(TC_MSG_VOTE_BATCH, 102);
    cr_assert_eq(tc_gossip_offer(g, 9, &big2, frame, 100, false, 0), 0);
    tc_gossip_stats_get(g, &st);
    cr_assert_eq(st.cache_bytes, 250, "two of 50 evicted (count, then bytes): 50 + 100 + 100");
    cr_assert_eq(st.cache_count, 3);
    cr_assert_eq(st.evicted, 5, "2 + 1 + 2");
    tc_msg_inv huge = inv_of(TC_MSG_VOTE_BATCH, 101);
    uint8_t *h = calloc(1, 300);
    cr_assert_eq(tc_gossip_offer(g, 9, &huge, h, 300, false, 0), TC_ETOOLONG);
    cr_assert_null(tc_gossip_frame(g, &huge, &len), "larger than the cache: not kept");
    free(h);
    tc_gossip_free(g);
}

/* A frame is served for cache_age_ms after it is kept: (TC_GOSSIP_ALTS_MAX + 1) x
 * fetch_timeout_ms by default (500 ms here), the longest a peer can take to ask its last
 * announcer. Older frames leave, oldest first, when the next one is kept (keep takes the clock of
 * the latest call), and count as expired, not as evicted for room. */
Test(gossip, cache_expires_frames_older_than_its_age)
{
    tc_gossip *g = mk(16, 1 << 20, 8, 64);
    uint8_t frame[10] = {0};
    size_t len;
    tc_msg_inv a = inv_of(TC_MSG_VOTE_BATCH, 1), b = inv_of(TC_MSG_TX, 2),
               p = inv_of(TC_MSG_PROPOSAL, 3), c = inv_of(TC_MSG_TX, 4), d = inv_of(TC_MSG_TX, 5);
    cr_assert_eq(tc_gossip_offer(g, 0, &a, frame, sizeof(frame), false, 0), 0);
    cr_assert_eq(tc_gossip_offer(g, 300, &b, frame, sizeof(frame), false, 0), 0);
    cr_assert_eq(tc_gossip_keep(g, &p, frame, sizeof(frame)), 0, "kept at 300, the last call's");
    cr_assert_eq(tc_gossip_offer(g, 500, &c, frame, sizeof(frame), false, 0), 0);
    cr_assert_not_null(tc_gossip_frame(g, &a, &len), "500 ms old: still served");
    cr_assert_eq(tc_gossip_offer(g, 801, &d, frame, sizeof(frame), false, 0), 0);
    tc_gossip_stats st;
    tc_gossip_stats_get(g, &st);
    cr_assert_null(tc_gossip_frame(g, &a, &len), "801 ms old: expired");
    cr_assert_null(tc_gossip_frame(g, &b, &len), "501 ms old: expired");
    cr_assert_null(tc_gossip_frame(g, &p, &len), "a kept frame ages like an offered one");
    cr_assert_not_null(tc_gossip_frame(g, &c, &len));
    cr_assert_not_null(tc_gossip_frame(g, &d, &len));
    cr_assert_eq(st.expired, 3, "a, b and p: %llu", (unsigned long long)st.expired);
    cr_assert_eq(st.evicted, 0, "none for room: %llu", (unsigned long long)st.evicted);
    cr_assert_eq(st.cache_count, 2);
    cr_assert_eq(st.cache_bytes, 2 * sizeof(frame));
    tc_gossip_free(g);
    /* An explicit age replaces the default. */
    tc_gossip_config cfg = {.cache_age_ms = 50};
    cr_assert_eq(tc_gossip_new(&cfg, 1, &g), 0);
    cr_assert_eq(tc_gossip_offer(g, 1000, &a, frame, sizeof(frame), false, 0), 0);
    cr_assert_eq(tc_gossip_offer(g, 1050, &b, frame, sizeof(frame), false, 0), 0);
    cr_assert_not_null(tc_gossip_frame(g, &a, &len), "50 ms old: served");
    cr_assert_eq(tc_gossip_offer(g, 1051, &c, frame, sizeof(frame), false, 0), 0);
    cr_assert_null(tc_gossip_frame(g, &a, &len), "51 ms old: expired");
    cr_assert_not_null(tc_gossip_frame(g, &b, &len));
    tc_gossip_free(g);
}

/* The queue holds announce_max ids; more are counted and not announced, but still served. */
Test(gossip, announcement_queue_is_bounded)
{
    tc_gossip *g = mk(16, 1 << 20, 8, 3);
    uint8_t frame[10] = {0};
    for (uint32_t v = 0; v < 5; v++) {
        tc_msg_inv a = inv_of(TC_MSG_TX, v);
        cr_assert_eq(tc_gossip_offer(g, 20 + v, &a, frame, sizeof(frame), false, 0), 0);
    }
    tc_gossip_stats st;
    tc_gossip_stats_get(g, &st);
    cr_assert_eq(st.announce_count, 3);
    cr_assert_eq(st.announce_full, 2);
    cr_assert_eq(st.announced, 3);
    cr_assert_eq(tc_gossip_announce_since(g), 20, "the oldest queued");
    size_t len;
    tc_msg_inv last = inv_of(TC_MSG_TX, 4);
    cr_assert_not_null(tc_gossip_frame(g, &last, &len), "kept though not announced");
    tc_gossip_free(g);
}

/* One ask per id: a second announcer is remembered, the same one or more than
 * TC_GOSSIP_ALTS_MAX are not. */
Test(gossip, an_id_is_asked_once)
{
    tc_gossip *g = mk(8, 1 << 20, 8, 8);
    tc_msg_inv a = inv_of(TC_MSG_TX, 9);
    cr_assert_eq(tc_gossip_want(g, 100, 1, &a), 1, "asked of the first announcer");
    cr_assert_eq(tc_gossip_want(g, 101, 1, &a), 0, "the same announcer again: nothing");
    for (uint32_t p = 2; p < 2 + TC_GOSSIP_ALTS_MAX + 2; p++)
        cr_assert_eq(tc_gossip_want(g, 102, p, &a), 0, "peer %u waits", p);
    cr_assert_eq(tc_gossip_next_deadline(g), 200, "due back by the timeout");
    tc_gossip_stats st;
    tc_gossip_stats_get(g, &st);
    cr_assert_eq(st.fetches, 1);
    cr_assert_eq(st.fetch_count, 1);
    /* A peer announcing and never delivering: each further announcer is asked in turn. */
    asks rec = {0};
    tc_gossip_tick(g, 199, record, &rec);
    cr_assert_eq(rec.n, 0, "not due yet");
    for (uint32_t k = 0; k < TC_GOSSIP_ALTS_MAX; k++) {
        tc_gossip_tick(g, 200 + 100 * k, record, &rec);
        cr_assert_eq(rec.n, k + 1);
        cr_assert_eq(rec.peers[k], 2 + k, "the next announcer, in order");
        cr_assert_arr_eq(rec.invs[k].id.b, a.id.b, TC_HASH_SIZE);
        cr_assert_eq(tc_gossip_next_deadline(g), 300 + 100 * k);
    }
    tc_gossip_tick(g, 200 + 100 * TC_GOSSIP_ALTS_MAX, record, &rec);
    cr_assert_eq(rec.n, TC_GOSSIP_ALTS_MAX, "none left: given up, nothing asked");
    tc_gossip_stats_get(g, &st);
    cr_assert_eq(st.retries, TC_GOSSIP_ALTS_MAX);
    cr_assert_eq(st.given_up, 1);
    cr_assert_eq(st.fetch_count, 0);
    cr_assert_eq(tc_gossip_next_deadline(g), UINT64_MAX);
    cr_assert_eq(tc_gossip_want(g, 700, 1, &a), 1, "a later announcement asks again");
    tc_gossip_free(g);
}

/* What arrives, by any path, ends its fetch: no retry is asked. Offering it ends it too. */
Test(gossip, arrival_ends_a_fetch)
{
    tc_gossip *g = mk(8, 1 << 20, 8, 8);
    tc_msg_inv a = inv_of(TC_MSG_VOTE_BATCH, 1);
    tc_msg_inv b = inv_of(TC_MSG_VOTE_BATCH, 2);
    cr_assert_eq(tc_gossip_want(g, 0, 1, &a), 1);
    cr_assert_eq(tc_gossip_want(g, 0, 2, &a), 0);
    cr_assert_eq(tc_gossip_want(g, 0, 1, &b), 1);
    cr_assert_eq(tc_gossip_want(g, 0, 3, &b), 0);
    tc_gossip_arrived(g, &a);
    uint8_t frame[4] = {1, 2, 3, 4};
    cr_assert_eq(tc_gossip_offer(g, 1, &b, frame, sizeof(frame), true, 1), 0);
    tc_gossip_arrived(g, &a); /* twice: nothing */
    asks rec = {0};
    tc_gossip_tick(g, 1000, record, &rec);
    cr_assert_eq(rec.n, 0, "no retry of what arrived");
    tc_gossip_stats st;
    tc_gossip_stats_get(g, &st);
    cr_assert_eq(st.fetch_count, 0);
    cr_assert_eq(st.given_up, 0);
    tc_gossip_free(g);
}

/* A flood of announcements of ids never delivered fills the table and no more: beyond it nothing
 * is asked (counted), and after the timeouts the table is free again. */
Test(gossip, a_flood_of_announcements_is_bounded)
{
    enum { CAP = 16, IDS = 1000 };
    tc_gossip *g = mk(8, 1 << 20, CAP, 8);
    uint32_t asked = 0;
    for (uint32_t v = 0; v < IDS; v++) {
        tc_msg_inv a = inv_of(TC_MSG_TX, v);
        int rc = tc_gossip_want(g, 5, 1, &a);
        cr_assert(rc == 1 || rc == TC_EFULL, "id %u: %d", v, rc);
        asked += rc == 1;
    }
    cr_assert_eq(asked, CAP, "at most the table's bound asked");
    tc_gossip_stats st;
    tc_gossip_stats_get(g, &st);
    cr_assert_eq(st.fetch_full, IDS - CAP);
    cr_assert_eq(st.fetch_count, CAP);
    asks rec = {0};
    tc_gossip_tick(g, 105, record, &rec);
    cr_assert_eq(rec.n, 0, "the flooder was the only announcer");
    tc_gossip_stats_get(g, &st);
    cr_assert_eq(st.given_up, CAP);
    cr_assert_eq(st.fetch_count, 0);
    tc_msg_inv fresh = inv_of(TC_MSG_TX, IDS + 1);
    cr_assert_eq(tc_gossip_want(g, 200, 2, &fresh), 1, "room again");
    tc_gossip_free(g);
}

/* The indexes stay exact through many insertions and deletions (backward-shift deletion),
 * checked against the simplest model: the last cache_max ids kept. */
Test(gossip, cache_finds_every_id_after_evictions)
{
    enum { CAP = 64, IDS = 2000 };
    tc_gossip *g = mk(CAP, 1 << 20, CAP, 4);
    uint8_t frame[8] = {0};
    for (uint32_t v = 0; v < IDS; v++) {
        tc_msg_inv a = inv_of(v % 3 == 0 ? TC_MSG_TX : TC_MSG_VOTE_BATCH, v);
        memcpy(frame, &v, sizeof(v));
        cr_assert_eq(tc_gossip_keep(g, &a, frame, sizeof(frame)), 0);
    }
    size_t len;
    for (uint32_t v = 0; v < IDS; v++) {
        tc_msg_inv a = inv_of(v % 3 == 0 ? TC_MSG_TX : TC_MSG_VOTE_BATCH, v);
        const uint8_t *f = tc_gossip_frame(g, &a, &len);
        bool kept = v >= IDS - CAP;
        cr_assert_eq(f != NULL, kept, "id %u", v);
        if (kept) {
            uint32_t w;
            memcpy(&w, f, sizeof(w));
            cr_assert_eq(w, v, "id %u has its own frame", v);
        }
    }
    tc_gossip_free(g);
}

/* ---- consensus votes ---- */

static tc_vote vote_of(uint8_t type, uint64_t height, uint32_t round, uint32_t validator)
{
    tc_vote v = {.type = type, .height = height, .round = round, .validator = validator};
    return v;
}

/* A stand-in frame: its first byte tells the votes apart. */
static void frame_of(const tc_vote *v, uint8_t f[8])
{
    memset(f, 0, 8);
    f[0] = (uint8_t)(v->validator + 16u * v->round + 64u * (uint32_t)(v->type - 1u));
}

static void add_ok(tc_voteg *g, uint8_t type, uint64_t height, uint32_t round, uint32_t validator)
{
    tc_vote v = vote_of(type, height, round, validator);
    uint8_t f[8];
    frame_of(&v, f);
    cr_assert_eq(tc_voteg_add(g, &v, f, sizeof(f)), 0, "validator %u kept", validator);
}

static bool bit(const tc_msg_vote_bits *m, uint32_t v)
{
    return ((unsigned)m->bits[v / 8] >> (v % 8)) & 1u;
}

typedef struct {
    uint32_t n;
    uint32_t peers[16];
    tc_msg_vote_bits wants[16];
} vwants;

static void vrecord(void *ctx, uint32_t peer, const tc_msg_vote_bits *want)
{
    vwants *w = ctx;
    cr_assert_lt(w->n, 16);
    w->peers[w->n] = peer;
    w->wants[w->n] = *want;
    w->n++;
}

Test(gossip, votes_are_kept_per_height_round_and_type)
{
    tc_voteg *g = NULL;
    cr_assert_eq(tc_voteg_new(&g), 0);
    tc_vote v = vote_of(TC_VOTE_PREVOTE, 5, 0, 2);
    uint8_t f[8];
    frame_of(&v, f);
    cr_assert_eq(tc_voteg_add(g, &v, f, sizeof(f)), TC_ERANGE, "no height set: not kept");
    tc_voteg_height(g, 5, 4);
    cr_assert_eq(tc_voteg_add(g, &v, f, sizeof(f)), 0);
    cr_assert_eq(tc_voteg_add(g, &v, f, sizeof(f)), TC_EEXIST, "held already");
    tc_vote other = vote_of(TC_VOTE_PREVOTE, 6, 0, 2);
    cr_assert_eq(tc_voteg_add(g, &other, f, sizeof(f)), TC_ERANGE, "height 6: not kept");
    tc_vote beyond = vote_of(TC_VOTE_PREVOTE, 5, 0, 4);
    cr_assert_eq(tc_voteg_add(g, &beyond, f, sizeof(f)), TC_ERANGE, "validator 4 of 4");
    add_ok(g, TC_VOTE_PRECOMMIT, 5, 0, 2);
    size_t len = 0;
    const uint8_t *got = tc_voteg_frame(g, 0, TC_VOTE_PREVOTE, 2, &len);
    cr_assert_not_null(got);
    cr_assert_eq(len, 8);
    cr_assert_eq(got[0], 2, "the prevote's frame");
    got = tc_voteg_frame(g, 0, TC_VOTE_PRECOMMIT, 2, &len);
    cr_assert_not_null(got);
    cr_assert_eq(got[0], 2 + 64, "the precommit's frame");
    cr_assert_null(tc_voteg_frame(g, 1, TC_VOTE_PREVOTE, 2, &len), "round 1: none");
    cr_assert_eq(len, 0);
    tc_voteg_stats st;
    tc_voteg_stats_get(g, &st);
    cr_assert_eq(st.tables, 2);
    cr_assert_eq(st.kept, 2);
    /* A new height drops every table. */
    tc_voteg_height(g, 6, 4);
    cr_assert_null(tc_voteg_frame(g, 0, TC_VOTE_PREVOTE, 2, &len), "height 5 dropped");
    tc_voteg_stats_get(g, &st);
    cr_assert_eq(st.tables, 0);
    cr_assert_eq(st.height, 6);
    tc_voteg_free(g);
}

Test(gossip, vote_bits_tell_what_changed)
{
    tc_voteg *g = NULL;
    cr_assert_eq(tc_voteg_new(&g), 0);
    tc_voteg_height(g, 9, 11);
    add_ok(g, TC_VOTE_PREVOTE, 9, 1, 0);
    add_ok(g, TC_VOTE_PREVOTE, 9, 1, 10);
    add_ok(g, TC_VOTE_PRECOMMIT, 9, 1, 3);
    cr_assert(tc_voteg_busy(g), "two tables gained votes");
    tc_msg_vote_bits out[TC_VOTEG_ENTRIES_MAX];
    cr_assert_eq(tc_voteg_take_bits(g, false, out, TC_VOTEG_ENTRIES_MAX), 2);
    cr_assert_eq(out[0].height, 9);
    cr_assert_eq(out[0].round, 1);
    cr_assert_eq(out[0].vote_type, TC_VOTE_PREVOTE);
    cr_assert_eq(out[0].count, 11);
    cr_assert(bit(&out[0], 0) && bit(&out[0], 10) && !bit(&out[0], 3), "prevotes 0 and 10");
    cr_assert_eq(tc_msg_vote_bits_check(&out[0]), 0, "a valid VOTE_BITS payload");
    cr_assert(bit(&out[1], 3) && !bit(&out[1], 0), "precommit 3");
    cr_assert_not(tc_voteg_busy(g), "nothing new, nothing lacking");
    cr_assert_eq(tc_voteg_take_bits(g, false, out, TC_VOTEG_ENTRIES_MAX), 0, "nothing new");
    add_ok(g, TC_VOTE_PRECOMMIT, 9, 1, 4);
    cr_assert_eq(tc_voteg_take_bits(g, false, out, TC_VOTEG_ENTRIES_MAX), 1, "precommits only");
    cr_assert_eq(out[0].vote_type, TC_VOTE_PRECOMMIT);
    cr_assert_eq(tc_voteg_take_bits(g, true, out, TC_VOTEG_ENTRIES_MAX), 2, "all on demand");
    cr_assert_eq(tc_voteg_take_bits(g, true, out, 1), 1, "at most max");
    tc_voteg_free(g);
}

Test(gossip, a_lacking_vote_is_wanted_after_grace_and_retried)
{
    tc_voteg *g = NULL;
    cr_assert_eq(tc_voteg_new(&g), 0);
    tc_voteg_height(g, 3, 8);
    add_ok(g, TC_VOTE_PREVOTE, 3, 0, 0);
    tc_msg_vote_bits peer_bits = {
        .height = 3, .round = 0, .vote_type = TC_VOTE_PREVOTE, .count = 8};
    peer_bits.bits[0] = 0x0d; /* validators 0, 2, 3 */
    tc_voteg_on_bits(g, 1000, 7, &peer_bits);
    cr_assert(tc_voteg_busy(g), "2 and 3 are lacking");
    vwants w = {0};
    tc_voteg_tick(g, 1010, 30, 200, vrecord, &w);
    cr_assert_eq(w.n, 0, "within the grace interval the votes may be in flight");
    /* Vote 3 arrives meanwhile; 2 does not. */
    add_ok(g, TC_VOTE_PREVOTE, 3, 0, 3);
    tc_voteg_on_bits(g, 1020, 9, &peer_bits); /* a later announcer becomes the holder */
    tc_voteg_tick(g, 1030, 30, 200, vrecord, &w);
    cr_assert_eq(w.n, 1);
    cr_assert_eq(w.peers[0], 9, "asked of the latest announcer");
    cr_assert(bit(&w.wants[0], 2) && !bit(&w.wants[0], 3) && !bit(&w.wants[0], 0),
              "only vote 2 is wanted");
    cr_assert_eq(w.wants[0].height, 3);
    cr_assert_eq(tc_msg_vote_bits_check(&w.wants[0]), 0, "a valid VOTE_WANT payload");
    tc_voteg_tick(g, 1100, 30, 200, vrecord, &w);
    cr_assert_eq(w.n, 1, "not asked again before the retry interval");
    tc_voteg_tick(g, 1230, 30, 200, vrecord, &w);
    cr_assert_eq(w.n, 2, "asked again after it");
    add_ok(g, TC_VOTE_PREVOTE, 3, 0, 2);
    tc_msg_vote_bits out[TC_VOTEG_ENTRIES_MAX];
    cr_assert_eq(tc_voteg_take_bits(g, false, out, TC_VOTEG_ENTRIES_MAX), 1);
    cr_assert_not(tc_voteg_busy(g), "nothing new, nothing lacking");
    tc_voteg_tick(g, 2000, 30, 200, vrecord, &w);
    cr_assert_eq(w.n, 2, "a vote held is never wanted");
    /* Bits of another height, or of a (round, type) without a table, are ignored. */
    peer_bits.height = 4;
    tc_voteg_on_bits(g, 2000, 7, &peer_bits);
    peer_bits.height = 3;
    peer_bits.round = 5;
    tc_voteg_on_bits(g, 2000, 7, &peer_bits);
    cr_assert_not(tc_voteg_busy(g), "nothing recorded");
    tc_voteg_stats st;
    tc_voteg_stats_get(g, &st);
    cr_assert_eq(st.wanted, 2);
    tc_voteg_free(g);
}

Test(gossip, the_emptiest_vote_table_is_replaced)
{
    tc_voteg *g = NULL;
    cr_assert_eq(tc_voteg_new(&g), 0);
    tc_voteg_height(g, 2, 16);
    /* Round 0 holds many votes; rounds 1..7 (prevotes) one each, as a Byzantine far-round
     * flood would. */
    for (uint32_t v = 0; v < 10; v++)
        add_ok(g, TC_VOTE_PREVOTE, 2, 0, v);
    for (uint32_t r = 1; r < TC_VOTEG_ENTRIES_MAX; r++)
        add_ok(g, TC_VOTE_PREVOTE, 2, r, 0);
    add_ok(g, TC_VOTE_PREVOTE, 2, 9, 0);
    size_t len;
    cr_assert_not_null(tc_voteg_frame(g, 0, TC_VOTE_PREVOTE, 9, &len), "round 0 stays");
    cr_assert_null(tc_voteg_frame(g, 1, TC_VOTE_PREVOTE, 0, &len), "round 1 replaced");
    cr_assert_not_null(tc_voteg_frame(g, 9, TC_VOTE_PREVOTE, 0, &len), "round 9 kept");
    tc_voteg_stats st;
    tc_voteg_stats_get(g, &st);
    cr_assert_eq(st.tables, TC_VOTEG_ENTRIES_MAX);
    cr_assert_eq(st.replaced, 1);
    tc_voteg_free(g);
}
