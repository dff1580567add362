/* test_adversary.c — the Byzantine behaviours of sim/adversary.h on real frames: what leaves,
 * to whom, and that the conflicting copies are validly signed (or, for invalid-sig, are not);
 * silence, garbage, floods and replays; bounds; and byte-for-byte determinism per seed. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "adversary.h"
#include "block.h"
#include "msg.h"
#include "msg_samples.h"
#include "support.h"

static void init(void)
{
    cr_assert_eq(tc_crypto_init(), 0);
}

TestSuite(adversary, .init = init);

#define KEY_OWN   3 /* ts_keypair index of the adversary's key */
#define KEY_OTHER 4

static const uint32_t PEERS4[4] = {10, 11, 12, 13};

/* ---- capture of emitted frames ---- */

typedef struct {
    uint32_t to;
    uint8_t *bytes;
    size_t len;
} sent;

typedef struct {
    sent *items;
    size_t count;
    size_t capacity;
    tc_hasher seq; /* over (to, len, bytes) of every frame, in order */
} capture;

static void cap_init(capture *c)
{
    memset(c, 0, sizeof(*c));
    tc_hasher_init(&c->seq, "test/adv");
}

static void cap_emit(void *ctx, uint32_t to, const uint8_t *frame, size_t len)
{
    capture *c = ctx;
    if (c->count == c->capacity) {
        c->capacity = c->capacity == 0 ? 64 : 2 * c->capacity;
        c->items = realloc(c->items, c->capacity * sizeof(*c->items));
        cr_assert_not_null(c->items);
    }
    sent *s = &c->items[c->count++];
    s->to = to;
    s->len = len;
    s->bytes = malloc(len == 0 ? 1 : len);
    cr_assert_not_null(s->bytes);
    if (len > 0)
        memcpy(s->bytes, frame, len);
    uint8_t hdr[12];
    for (int i = 0; i < 4; i++)
        hdr[i] = (uint8_t)(to >> (8 * i));
    for (int i = 0; i < 8; i++)
        hdr[4 + i] = (uint8_t)((uint64_t)len >> (8 * i));
    tc_hasher_update(&c->seq, hdr, sizeof(hdr));
    tc_hasher_update(&c->seq, frame, len);
}

static void cap_free(capture *c)
{
    for (size_t i = 0; i < c->count; i++)
        free(c->items[i].bytes);
    free(c->items);
    memset(c, 0, sizeof(*c));
}

static bool same_bytes(const sent *s, const uint8_t *frame, size_t len)
{
    return s->len == len && memcmp(s->bytes, frame, len) == 0;
}

/* ---- adversaries and frames ---- */

static tc_profile g_profile;

static tc_adv *adv_new(tc_adv_kind kind, uint8_t seed, uint32_t rate, tc_sig_scheme scheme)
{
    tc_profile_get(&g_profile, TC_NET_TESTNET);
    tc_adv_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.kind = kind;
    ts_keypair(&cfg.key, KEY_OWN);
    cfg.scheme = scheme;
    cfg.profile = &g_profile;
    memset(cfg.rng_seed, seed, sizeof(cfg.rng_seed));
    cfg.rate_per_s = rate;
    tc_adv *a = NULL;
    cr_assert_eq(tc_adv_new(&cfg, &a), 0);
    cr_assert_not_null(a);
    return a;
}

static uint8_t *encode(const tc_msg *m, size_t *len)
{
    uint8_t *buf = NULL;
    cr_assert_eq(tc_msg_encode_alloc(m, &buf, len), 0);
    return buf;
}

static uint8_t *proposal_frame(uint64_t key_i, uint64_t height, uint32_t round, size_t *len)
{
    tc_keypair kp;
    ts_keypair(&kp, key_i);
    tc_msg m;
    memset(&m, 0, sizeof(m));
    m.type = TC_MSG_PROPOSAL;
    ms_block(&m.proposal.block, height);
    m.proposal.block.header.round = round;
    m.proposal.height = height;
    m.proposal.round = round;
    m.proposal.pol_round = TC_MSG_POL_NONE;
    tc_msg_proposal_sign(&m.proposal, TC_SIG_ED25519, &kp);
    uint8_t *buf = encode(&m, len);
    tc_msg_deinit(&m);
    return buf;
}

static tc_vote make_vote(uint64_t key_i, uint8_t type, uint64_t height, uint32_t round,
                         const tc_hash *block)
{
    tc_keypair kp;
    ts_keypair(&kp, key_i);
    tc_vote v;
    memset(&v, 0, sizeof(v));
    v.type = type;
    v.height = height;
    v.round = round;
    v.pol_round = TC_ROUND_NONE;
    v.block = *block;
    v.validator = 7;
    tc_vote_sign(&v, TC_SIG_ED25519, &kp);
    return v;
}

static uint8_t *vote_frame(const tc_vote *v, size_t *len)
{
    tc_msg m;
    memset(&m, 0, sizeof(m));
    m.type = v->type == TC_VOTE_PREVOTE ? TC_MSG_PREVOTE : TC_MSG_PRECOMMIT;
    m.vote = *v;
    return encode(&m, len);
}

static uint8_t *sample_frame(uint8_t type, size_t *len)
{
    tc_msg m;
    ms_msg(&m, type);
    uint8_t *buf = encode(&m, len);
    tc_msg_deinit(&m);
    return buf;
}

static void send_all(tc_adv *a, const uint32_t *peers, uint32_t n, const uint8_t *frame, size_t len,
                     capture *c)
{
    for (uint32_t i = 0; i < n; i++)
        tc_adv_on_send(a, 1000, peers[i], peers, n, frame, len, cap_emit, c);
}

static tc_vote decode_vote(const sent *s)
{
    tc_msg m;
    cr_assert_eq(tc_msg_decode(s->bytes, s->len, &m), 0);
    cr_assert(m.type == TC_MSG_PREVOTE || m.type == TC_MSG_PRECOMMIT, "type %u", m.type);
    tc_vote v = m.vote;
    tc_msg_deinit(&m);
    return v;
}

static int verify_vote(const tc_vote *v, uint64_t key_i)
{
    tc_keypair kp;
    ts_keypair(&kp, key_i);
    tc_verifier ver = {.scheme = TC_SIG_ED25519, .cache = NULL};
    return tc_vote_verify(v, &ver, &kp.pub);
}

/* Decodes a PROPOSAL, checks its signature under key_i, returns its block hash. */
static tc_hash proposal_hash(const sent *s, uint64_t key_i, int *verify_rc)
{
    tc_keypair kp;
    ts_keypair(&kp, key_i);
    tc_msg m;
    cr_assert_eq(tc_msg_decode(s->bytes, s->len, &m), 0);
    cr_assert_eq(m.type, TC_MSG_PROPOSAL);
    tc_hash msg;
    tc_msg_proposal_sign_hash(&m.proposal, &msg);
    *verify_rc = tc_verify_raw(TC_SIG_ED25519, &kp.pub, &msg, &m.proposal.sig);
    tc_hash h;
    tc_block_hash(&m.proposal.block.header, &h);
    tc_msg_deinit(&m);
    return h;
}

/* ---- configuration ---- */

Test(adversary, kind_names_and_bad_configs)
{
    cr_assert_str_eq(tc_adv_kind_name(TC_ADV_EQUIVOCATE), "equivocate");
    cr_assert_str_eq(tc_adv_kind_name(TC_ADV_DOUBLE_VOTE), "double-vote");
    cr_assert_str_eq(tc_adv_kind_name(TC_ADV_INVALID_SIG), "invalid-sig");
    cr_assert_str_eq(tc_adv_kind_name(TC_ADV_FLOOD), "flood");
    cr_assert_str_eq(tc_adv_kind_name(TC_ADV_KIND_COUNT), "?");
    tc_profile p;
    tc_profile_get(&p, TC_NET_TESTNET);
    tc_adv_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.profile = &p;
    cfg.kind = TC_ADV_KIND_COUNT;
    tc_adv *a = (tc_adv *)&cfg; /* must be reset to NULL on failure */
    cr_assert_eq(tc_adv_new(&cfg, &a), TC_EINVAL);
    cr_assert_null(a);
    cfg.kind = TC_ADV_SILENT;
    cfg.scheme = (tc_sig_scheme)2;
    cr_assert_eq(tc_adv_new(&cfg, &a), TC_EINVAL);
    cfg.scheme = TC_SIG_FAST;
    cr_assert_eq(tc_adv_new(&cfg, &a), 0);
    cr_assert_eq(tc_adv_kind_of(a), TC_ADV_SILENT);
    tc_adv_free(a);
    tc_adv_free(NULL);
}

Test(adversary, deadlines_of_timed_and_untimed_kinds)
{
    capture c;
    cap_init(&c);
    tc_adv *untimed = adv_new(TC_ADV_DOUBLE_VOTE, 1, 0, TC_SIG_ED25519);
    cr_assert_eq(tc_adv_next_deadline(untimed), UINT64_MAX);
    tc_adv_tick(untimed, 5000, PEERS4, 4, cap_emit, &c);
    cr_assert_eq(tc_adv_next_deadline(untimed), UINT64_MAX);
    tc_adv *still = adv_new(TC_ADV_FLOOD, 1, 0, TC_SIG_ED25519);
    cr_assert_eq(tc_adv_next_deadline(still), UINT64_MAX, "a zero-rate flood never ticks");
    tc_adv *g = adv_new(TC_ADV_GARBAGE, 1, 0, TC_SIG_ED25519);
    cr_assert_eq(tc_adv_next_deadline(g), 0, "before the first tick: tick now");
    tc_adv_tick(g, 40000, PEERS4, 4, cap_emit, &c);
    uint64_t d = tc_adv_next_deadline(g);
    cr_assert(d >= 40000 + TC_ADV_GARBAGE_MEAN_MS / 2 &&
                  d <= 40000 + 3 * TC_ADV_GARBAGE_MEAN_MS / 2,
              "anchored at the first tick: %llu", (unsigned long long)d);
    cr_assert_eq(c.count, 0, "nothing is due at the anchoring tick");
    tc_adv_free(untimed);
    tc_adv_free(still);
    tc_adv_free(g);
    cap_free(&c);
}

Test(adversary, none_passes_every_type_unchanged)
{
    tc_adv *a = adv_new(TC_ADV_NONE, 1, 0, TC_SIG_ED25519);
    for (uint8_t t = 1; t < TC_MSG_TYPE_COUNT; t++) {
        if (!tc_msg_type_known(t))
            continue;
        capture c;
        cap_init(&c);
        size_t len = 0;
        uint8_t *f = sample_frame(t, &len);
        tc_adv_on_send(a, 0, 12, PEERS4, 4, f, len, cap_emit, &c);
        cr_assert_eq(c.count, 1, "type %u", t);
        cr_assert_eq(c.items[0].to, 12);
        cr_assert(same_bytes(&c.items[0], f, len), "type %u unchanged", t);
        free(f);
        cap_free(&c);
    }
    tc_adv_stats st;
    tc_adv_stats_get(a, &st);
    cr_assert_eq(st.frames_seen, ms_known_type_count());
    cr_assert_eq(st.frames_dropped + st.frames_rewritten + st.frames_extra, 0);
    tc_adv_free(a);
}

/* ---- EQUIVOCATE ---- */

Test(adversary, equivocate_splits_a_proposal_between_two_signed_blocks)
{
    tc_adv *a = adv_new(TC_ADV_EQUIVOCATE, 1, 0, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    size_t len = 0;
    uint8_t *f = proposal_frame(KEY_OWN, 10, 2, &len);
    send_all(a, PEERS4, 4, f, len, &c);
    cr_assert_eq(c.count, 4, "one frame per send");
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(c.items[i].to, PEERS4[i]);
    cr_assert(same_bytes(&c.items[0], f, len) && same_bytes(&c.items[1], f, len),
              "the first half gets the original");
    cr_assert(!same_bytes(&c.items[2], f, len), "the second half gets another proposal");
    cr_assert(same_bytes(&c.items[3], c.items[2].bytes, c.items[2].len),
              "the whole second half gets the same conflicting proposal");
    int rc0 = -1;
    int rc1 = -1;
    tc_hash b = proposal_hash(&c.items[0], KEY_OWN, &rc0);
    tc_hash b2 = proposal_hash(&c.items[2], KEY_OWN, &rc1);
    cr_assert_eq(rc0, 0, "the original verifies");
    cr_assert_eq(rc1, 0, "the conflicting proposal verifies under the same key");
    cr_assert_neq(memcmp(b.b, b2.b, TC_HASH_SIZE), 0, "the two blocks differ");
    tc_msg m;
    cr_assert_eq(tc_msg_decode(c.items[2].bytes, c.items[2].len, &m), 0);
    cr_assert_eq(m.proposal.height, 10);
    cr_assert_eq(m.proposal.round, 2, "same (height, round): an equivocation");
    tc_msg_deinit(&m);
    tc_adv_stats st;
    tc_adv_stats_get(a, &st);
    cr_assert_eq(st.frames_seen, 4);
    cr_assert_eq(st.frames_rewritten, 2);
    cr_assert_eq(st.frames_extra + st.frames_dropped, 0);
    free(f);
    cap_free(&c);
    tc_adv_free(a);
}

Test(adversary, equivocate_splits_an_odd_peer_list_with_the_larger_first_half)
{
    static const uint32_t peers[5] = {40, 41, 42, 43, 44};
    tc_adv *a = adv_new(TC_ADV_EQUIVOCATE, 1, 0, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    size_t len = 0;
    uint8_t *f = proposal_frame(KEY_OWN, 10, 0, &len);
    send_all(a, peers, 5, f, len, &c);
    tc_adv_on_send(a, 1000, 99, peers, 5, f, len, cap_emit, &c); /* not in the list */
    cr_assert_eq(c.count, 6);
    for (size_t i = 0; i < 6; i++) {
        bool original = i < 3 || i == 5;
        cr_assert_eq(same_bytes(&c.items[i], f, len), original, "frame %zu", i);
    }
    free(f);
    cap_free(&c);
    tc_adv_free(a);
}

Test(adversary, equivocate_votes_follow_the_proposal_split)
{
    tc_adv *a = adv_new(TC_ADV_EQUIVOCATE, 1, 0, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    size_t plen = 0;
    uint8_t *pf = proposal_frame(KEY_OWN, 10, 2, &plen);
    send_all(a, PEERS4, 4, pf, plen, &c);
    int rc = -1;
    tc_hash b = proposal_hash(&c.items[0], KEY_OWN, &rc);
    tc_hash b2 = proposal_hash(&c.items[2], KEY_OWN, &rc);
    const uint8_t types[2] = {TC_VOTE_PREVOTE, TC_VOTE_PRECOMMIT};
    for (int t = 0; t < 2; t++) {
        size_t base = c.count;
        tc_vote v = make_vote(KEY_OWN, types[t], 10, 2, &b);
        size_t vlen = 0;
        uint8_t *vf = vote_frame(&v, &vlen);
        send_all(a, PEERS4, 4, vf, vlen, &c);
        cr_assert_eq(c.count, base + 4);
        cr_assert(same_bytes(&c.items[base], vf, vlen) && same_bytes(&c.items[base + 1], vf, vlen));
        for (size_t i = 2; i < 4; i++) {
            tc_vote w = decode_vote(&c.items[base + i]);
            cr_assert_eq(verify_vote(&w, KEY_OWN), 0, "the conflicting vote is signed");
            cr_assert_eq(memcmp(w.block.b, b2.b, TC_HASH_SIZE), 0, "it votes for B'");
            cr_assert(w.type == v.type && w.height == 10 && w.round == 2 && w.validator == 7);
        }
        free(vf);
    }
    /* A vote for a block it did not propose conflicts with a derived hash. */
    tc_hash x;
    memset(x.b, 0x42, TC_HASH_SIZE);
    tc_vote v = make_vote(KEY_OWN, TC_VOTE_PREVOTE, 11, 0, &x);
    size_t vlen = 0;
    uint8_t *vf = vote_frame(&v, &vlen);
    size_t base = c.count;
    send_all(a, PEERS4, 4, vf, vlen, &c);
    tc_vote w = decode_vote(&c.items[base + 3]);
    cr_assert_eq(verify_vote(&w, KEY_OWN), 0);
    cr_assert_neq(memcmp(w.block.b, x.b, TC_HASH_SIZE), 0);
    cr_assert_neq(memcmp(w.block.b, b2.b, TC_HASH_SIZE), 0);
    cr_assert(!tc_vote_is_nil(&w));
    tc_adv_stats st;
    tc_adv_stats_get(a, &st);
    cr_assert_eq(st.frames_rewritten, 2 + 2 + 2 + 2);
    free(vf);
    free(pf);
    cap_free(&c);
    tc_adv_free(a);
}

Test(adversary, equivocate_leaves_relayed_nil_and_other_frames_alone)
{
    tc_adv *a = adv_new(TC_ADV_EQUIVOCATE, 1, 0, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    size_t len[4] = {0};
    uint8_t *frames[4];
    tc_hash nil;
    memset(&nil, 0, sizeof(nil));
    tc_hash x;
    memset(x.b, 0x42, TC_HASH_SIZE);
    tc_vote vnil = make_vote(KEY_OWN, TC_VOTE_PRECOMMIT, 10, 0, &nil);
    tc_vote vother = make_vote(KEY_OTHER, TC_VOTE_PREVOTE, 10, 0, &x);
    frames[0] = proposal_frame(KEY_OTHER, 10, 0, &len[0]); /* relayed */
    frames[1] = vote_frame(&vnil, &len[1]);
    frames[2] = vote_frame(&vother, &len[2]);
    frames[3] = sample_frame(TC_MSG_VOTE_BATCH, &len[3]);
    for (int k = 0; k < 4; k++) {
        size_t base = c.count;
        send_all(a, PEERS4, 4, frames[k], len[k], &c);
        cr_assert_eq(c.count, base + 4);
        for (size_t i = 0; i < 4; i++)
            cr_assert(same_bytes(&c.items[base + i], frames[k], len[k]), "frame %d unchanged", k);
        free(frames[k]);
    }
    tc_adv_stats st;
    tc_adv_stats_get(a, &st);
    cr_assert_eq(st.frames_rewritten, 0);
    cap_free(&c);
    tc_adv_free(a);
}

/* ---- DOUBLE_VOTE ---- */

Test(adversary, double_vote_sends_two_signed_conflicting_votes_to_everyone)
{
    tc_adv *a = adv_new(TC_ADV_DOUBLE_VOTE, 1, 0, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    tc_hash x;
    memset(x.b, 0x61, TC_HASH_SIZE);
    const uint8_t types[2] = {TC_VOTE_PREVOTE, TC_VOTE_PRECOMMIT};
    for (int t = 0; t < 2; t++) {
        tc_vote v = make_vote(KEY_OWN, types[t], 20, 1, &x);
        size_t len = 0;
        uint8_t *f = vote_frame(&v, &len);
        size_t base = c.count;
        send_all(a, PEERS4, 4, f, len, &c);
        cr_assert_eq(c.count, base + 8, "two votes per send");
        tc_vote first = decode_vote(&c.items[base + 1]);
        for (size_t i = 0; i < 4; i++) {
            const sent *orig = &c.items[base + 2 * i];
            const sent *dup = &c.items[base + 2 * i + 1];
            cr_assert_eq(orig->to, PEERS4[i]);
            cr_assert_eq(dup->to, PEERS4[i], "the conflicting vote goes to the same peer");
            cr_assert(same_bytes(orig, f, len), "the original leaves first, unchanged");
            cr_assert(same_bytes(dup, c.items[base + 1].bytes, c.items[base + 1].len),
                      "every peer gets the same conflicting vote");
        }
        cr_assert_eq(verify_vote(&v, KEY_OWN), 0);
        cr_assert_eq(verify_vote(&first, KEY_OWN), 0, "the conflicting vote verifies");
        cr_assert_neq(memcmp(first.block.b, v.block.b, TC_HASH_SIZE), 0);
        cr_assert(first.type == v.type && first.height == 20 && first.round == 1 &&
                  first.validator == v.validator);
        tc_evidence e;
        tc_evidence_from_votes(&e, &v, &first);
        cr_assert_eq(tc_evidence_check_shape(&e), 0, "the pair is equivocation evidence");
        free(f);
    }
    tc_adv_stats st;
    tc_adv_stats_get(a, &st);
    cr_assert_eq(st.frames_seen, 8);
    cr_assert_eq(st.frames_extra, 8);
    cr_assert_eq(st.frames_rewritten + st.frames_dropped, 0);
    cap_free(&c);
    tc_adv_free(a);
}

Test(adversary, double_vote_passes_nil_votes_and_other_types_once)
{
    tc_adv *a = adv_new(TC_ADV_DOUBLE_VOTE, 1, 0, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    tc_hash nil;
    memset(&nil, 0, sizeof(nil));
    tc_vote v = make_vote(KEY_OWN, TC_VOTE_PREVOTE, 20, 1, &nil);
    size_t len = 0;
    uint8_t *f = vote_frame(&v, &len);
    send_all(a, PEERS4, 4, f, len, &c);
    cr_assert_eq(c.count, 4, "a nil vote is not doubled");
    free(f);
    f = proposal_frame(KEY_OWN, 20, 1, &len);
    send_all(a, PEERS4, 4, f, len, &c);
    cr_assert_eq(c.count, 8, "a proposal is not doubled");
    cr_assert(same_bytes(&c.items[7], f, len));
    free(f);
    cap_free(&c);
    tc_adv_free(a);
}

/* ---- SILENT ---- */

Test(adversary, silent_drops_exactly_the_consensus_types)
{
    tc_adv *a = adv_new(TC_ADV_SILENT, 1, 0, TC_SIG_ED25519);
    uint32_t dropped = 0;
    for (uint8_t t = 1; t < TC_MSG_TYPE_COUNT; t++) {
        if (!tc_msg_type_known(t) || t == TC_MSG_BUNDLE) /* opened: the bundle tests below */
            continue;
        capture c;
        cap_init(&c);
        size_t len = 0;
        uint8_t *f = sample_frame(t, &len);
        tc_adv_on_send(a, 0, 11, PEERS4, 4, f, len, cap_emit, &c);
        bool consensus = t == TC_MSG_PROPOSAL || t == TC_MSG_PREVOTE || t == TC_MSG_PRECOMMIT ||
                         t == TC_MSG_VOTE_BATCH;
        cr_assert_eq(c.count, consensus ? 0u : 1u, "type %s", tc_msg_type_name(t));
        if (!consensus)
            cr_assert(same_bytes(&c.items[0], f, len) && c.items[0].to == 11);
        dropped += consensus;
        free(f);
        cap_free(&c);
    }
    cr_assert_eq(dropped, 4);
    tc_adv_stats st;
    tc_adv_stats_get(a, &st);
    cr_assert_eq(st.frames_dropped, 4);
    cr_assert_eq(st.frames_seen, ms_known_type_count() - 1);
    tc_adv_free(a);
}

/* ---- INVALID_SIG ---- */

/* Verifies the signature of a decoded sample frame under the key msg_samples.h signed it with. */
static int verify_sample(const tc_msg *m)
{
    tc_keypair kp;
    tc_hash h;
    const tc_sig *sig = NULL;
    switch (m->type) {
    case TC_MSG_PROPOSAL:
        ms_keypair(&kp, 1);
        tc_msg_proposal_sign_hash(&m->proposal, &h);
        sig = &m->proposal.sig;
        break;
    case TC_MSG_PREVOTE:
    case TC_MSG_PRECOMMIT:
        ms_keypair(&kp, m->vote.validator);
        tc_vote_sign_hash(&m->vote, &h);
        sig = &m->vote.sig;
        break;
    case TC_MSG_VOTE_BATCH:
        ms_keypair(&kp, m->vote_batch.validator);
        tc_msg_vote_batch_sign_hash(&m->vote_batch, &h);
        sig = &m->vote_batch.sig;
        break;
    default:
        cr_assert_fail("type %u has no signature here", m->type);
    }
    return tc_verify_raw(TC_SIG_ED25519, &kp.pub, &h, sig);
}

static uint32_t bits_differing(const uint8_t *x, const uint8_t *y, size_t n)
{
    uint32_t d = 0;
    for (size_t i = 0; i < n; i++)
        for (uint8_t b = (uint8_t)(x[i] ^ y[i]); b != 0; b &= (uint8_t)(b - 1))
            d++;
    return d;
}

Test(adversary, invalid_sig_frames_decode_but_fail_verification)
{
    tc_adv *a = adv_new(TC_ADV_INVALID_SIG, 1, 0, TC_SIG_ED25519);
    uint32_t rewritten = 0;
    for (uint8_t t = 1; t < TC_MSG_TYPE_COUNT; t++) {
        if (!tc_msg_type_known(t) || t == TC_MSG_BUNDLE) /* opened: the bundle tests below */
            continue;
        capture c;
        cap_init(&c);
        size_t len = 0;
        uint8_t *f = sample_frame(t, &len);
        send_all(a, PEERS4, 4, f, len, &c);
        cr_assert_eq(c.count, 4, "type %s", tc_msg_type_name(t));
        bool signed_type = t == TC_MSG_PROPOSAL || t == TC_MSG_PREVOTE || t == TC_MSG_PRECOMMIT ||
                           t == TC_MSG_VOTE_BATCH;
        if (!signed_type) {
            for (size_t i = 0; i < 4; i++)
                cr_assert(same_bytes(&c.items[i], f, len), "type %s passes", tc_msg_type_name(t));
        } else {
            tc_msg orig;
            cr_assert_eq(tc_msg_decode(f, len, &orig), 0);
            cr_assert_eq(verify_sample(&orig), 0, "the sample verifies before");
            tc_msg_deinit(&orig);
            for (size_t i = 0; i < 4; i++) {
                const sent *s = &c.items[i];
                cr_assert_eq(s->len, len);
                cr_assert_eq(bits_differing(s->bytes, f, len), 1, "exactly one bit flipped");
                cr_assert_eq(bits_differing(s->bytes, f, len - TC_SIG_SIZE), 0,
                             "and it is in the signature (the last 64 bytes)");
                tc_msg m;
                cr_assert_eq(tc_msg_decode(s->bytes, s->len, &m), 0, "it still decodes");
                cr_assert_eq(verify_sample(&m), TC_EBADSIG, "type %s fails verification",
                             tc_msg_type_name(t));
                tc_msg_deinit(&m);
            }
            rewritten += 4;
        }
        free(f);
        cap_free(&c);
    }
    tc_adv_stats st;
    tc_adv_stats_get(a, &st);
    cr_assert_eq(st.frames_rewritten, rewritten);
    cr_assert_eq(rewritten, 16);
    tc_adv_free(a);
}

/* ---- bundles ---- */

/* A BUNDLE of a sample TX and a sample VOTE_BATCH (signed by msg_samples.h's keys), with the
 * two member frames kept apart to compare with what comes out. */
typedef struct {
    uint8_t *frame;
    size_t len;
    uint8_t *member[2];
    size_t member_len[2];
} bundle_sample;

static void bundle_make(bundle_sample *b)
{
    b->member[0] = sample_frame(TC_MSG_TX, &b->member_len[0]);
    b->member[1] = sample_frame(TC_MSG_VOTE_BATCH, &b->member_len[1]);
    tc_msg_bundle_member parts[2] = {{b->member[0], (uint32_t)b->member_len[0]},
                                     {b->member[1], (uint32_t)b->member_len[1]}};
    tc_msg m;
    memset(&m, 0, sizeof(m));
    m.type = TC_MSG_BUNDLE;
    m.bundle.count = 2;
    m.bundle.members = parts;
    b->frame = encode(&m, &b->len);
}

static void bundle_free(bundle_sample *b)
{
    free(b->frame);
    free(b->member[0]);
    free(b->member[1]);
}

/* What an adversary of this kind sends to peer `to` for the sample bundle. */
static tc_adv *send_bundle(tc_adv_kind kind, uint32_t to, bundle_sample *b, capture *c)
{
    tc_adv *a = adv_new(kind, 1, 0, TC_SIG_ED25519);
    bundle_make(b);
    cap_init(c);
    tc_adv_on_send(a, 0, to, PEERS4, 4, b->frame, b->len, cap_emit, c);
    return a;
}

Test(adversary, silent_opens_a_bundle_and_drops_its_vote_batch)
{
    bundle_sample b;
    capture c;
    tc_adv *a = send_bundle(TC_ADV_SILENT, 11, &b, &c);
    cr_assert_eq(c.count, 1, "only the transaction goes out, got %zu frames", c.count);
    cr_assert(same_bytes(&c.items[0], b.member[0], b.member_len[0]) && c.items[0].to == 11,
              "as a frame of its own, unchanged");
    tc_adv_stats st;
    tc_adv_stats_get(a, &st);
    cr_assert_eq(st.frames_seen, 2, "each member counts as a frame seen");
    cr_assert_eq(st.frames_dropped, 1, "the vote batch is dropped");
    cap_free(&c);
    bundle_free(&b);
    tc_adv_free(a);
}

Test(adversary, invalid_sig_corrupts_a_vote_batch_inside_a_bundle)
{
    bundle_sample b;
    capture c;
    tc_adv *a = send_bundle(TC_ADV_INVALID_SIG, 12, &b, &c);
    cr_assert_eq(c.count, 2, "the two members, each alone: got %zu frames", c.count);
    cr_assert(same_bytes(&c.items[0], b.member[0], b.member_len[0]), "the transaction unchanged");
    const sent *s = &c.items[1];
    cr_assert_eq(s->len, b.member_len[1]);
    cr_assert_eq(bits_differing(s->bytes, b.member[1], s->len), 1, "one bit of the batch flipped");
    tc_msg m;
    cr_assert_eq(tc_msg_decode(s->bytes, s->len, &m), 0, "the batch still decodes");
    cr_assert_eq(verify_sample(&m), TC_EBADSIG, "and fails verification");
    tc_msg_deinit(&m);
    cap_free(&c);
    bundle_free(&b);
    tc_adv_free(a);
}

Test(adversary, kinds_that_touch_no_batch_or_transaction_pass_a_bundle_whole)
{
    const tc_adv_kind kinds[] = {TC_ADV_NONE, TC_ADV_EQUIVOCATE, TC_ADV_DOUBLE_VOTE,
                                 TC_ADV_WRONG_PROPOSER};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        bundle_sample b;
        capture c;
        tc_adv *a = send_bundle(kinds[k], 13, &b, &c);
        const char *name = tc_adv_kind_name(kinds[k]);
        cr_assert_eq(c.count, 1, "kind %s: one frame", name);
        cr_assert(same_bytes(&c.items[0], b.frame, b.len), "kind %s: the bundle as it was", name);
        cap_free(&c);
        bundle_free(&b);
        tc_adv_free(a);
    }
}

/* ---- GARBAGE ---- */

Test(adversary, garbage_frames_never_decode)
{
    tc_adv *a = adv_new(TC_ADV_GARBAGE, 9, 0, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    for (uint64_t now = 0; now <= 2000000; now = tc_adv_next_deadline(a))
        tc_adv_tick(a, now, PEERS4, 4, cap_emit, &c);
    /* 2000 s at intervals drawn in [100, 300] ms: ~10000 frames, enough that some random draws
     * would have decoded (an empty GET_PEERS, a PING of 8 bytes) had they not been demoted. */
    cr_assert(c.count >= 9000 && c.count <= 11000, "count %zu", c.count);
    uint32_t per_peer[4] = {0};
    uint32_t valid_types = 0;
    for (size_t i = 0; i < c.count; i++) {
        const sent *s = &c.items[i];
        cr_assert(s->len >= TC_MSG_HEADER_SIZE &&
                  s->len <= TC_MSG_HEADER_SIZE + TC_ADV_GARBAGE_PAYLOAD_MAX);
        size_t flen = 0;
        cr_assert_eq(tc_msg_frame_check(s->bytes, &g_profile, &flen), 0, "a valid prefix");
        cr_assert_eq(flen, s->len, "the prefix gives the frame's real length");
        tc_msg m;
        cr_assert_neq(tc_msg_decode(s->bytes, s->len, &m), 0, "frame %zu does not decode", i);
        cr_assert(s->to >= 10 && s->to <= 13);
        per_peer[s->to - 10]++;
        valid_types += tc_msg_type_known(s->bytes[4]);
    }
    for (int p = 0; p < 4; p++)
        cr_assert_gt(per_peer[p], 0, "peer %d gets garbage too", p);
    cr_assert_gt(valid_types, c.count / 2, "most frames reach a real decoder: %u", valid_types);
    tc_adv_stats st;
    tc_adv_stats_get(a, &st);
    cr_assert_eq(st.frames_extra, c.count);
    cap_free(&c);
    tc_adv_free(a);
}

/* ---- FLOOD ---- */

static size_t flood_run(uint32_t rate, uint64_t until_ms, uint8_t seed, bool decode_all)
{
    tc_adv *a = adv_new(TC_ADV_FLOOD, seed, rate, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    uint64_t now = 0;
    while (now <= until_ms) {
        tc_adv_tick(a, now, PEERS4, 4, cap_emit, &c);
        uint64_t next = tc_adv_next_deadline(a);
        cr_assert_gt(next, now, "the deadline moves forward");
        now = next;
    }
    size_t step = decode_all ? 1 : 97;
    for (size_t i = 0; i < c.count; i += step) {
        tc_msg m;
        cr_assert_eq(tc_msg_decode(c.items[i].bytes, c.items[i].len, &m), 0, "frame %zu", i);
        cr_assert_eq(m.type, TC_MSG_TX);
        cr_assert_eq(tc_tx_check_form(&m.tx, &g_profile), 0,
                     "junk passes the stateless checks, so the receiver looks it up");
        tc_msg_deinit(&m);
    }
    tc_adv_stats st;
    tc_adv_stats_get(a, &st);
    cr_assert_eq(st.frames_extra, c.count);
    size_t n = c.count;
    cap_free(&c);
    tc_adv_free(a);
    return n;
}

Test(adversary, flood_rate_over_ten_simulated_seconds)
{
    static const uint32_t rates[] = {1, 3, 7, 999, 1000, 1001, 5000};
    for (size_t i = 0; i < TC_ARRAY_LEN(rates); i++) {
        size_t n = flood_run(rates[i], 10000, 2, rates[i] <= 1000);
        size_t want = (size_t)rates[i] * 10;
        cr_assert(n + 1 >= want && n <= want + 1, "rate %u: %zu frames, want %zu +- 1", rates[i], n,
                  want);
    }
}

Test(adversary, flood_skips_a_backlog_instead_of_bursting)
{
    tc_adv *a = adv_new(TC_ADV_FLOOD, 2, 5000, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    tc_adv_tick(a, 0, PEERS4, 4, cap_emit, &c);
    tc_adv_tick(a, 2000, PEERS4, 4, cap_emit, &c); /* 10000 due after a 2 s stall */
    cr_assert_eq(c.count, TC_ADV_FLOOD_TICK_MAX);
    tc_adv_tick(a, 2000, PEERS4, 4, cap_emit, &c);
    cr_assert_eq(c.count, TC_ADV_FLOOD_TICK_MAX, "the backlog is gone, not deferred");
    tc_adv_tick(a, 2010, PEERS4, 4, cap_emit, &c);
    cr_assert_eq(c.count, TC_ADV_FLOOD_TICK_MAX + 50, "then the rate resumes: 5 per ms");
    tc_adv_tick(a, 3000, NULL, 0, cap_emit, &c);
    cr_assert_eq(c.count, TC_ADV_FLOOD_TICK_MAX + 50, "nothing without peers");
    tc_adv_tick(a, 3001, PEERS4, 4, cap_emit, &c);
    cr_assert_eq(c.count, TC_ADV_FLOOD_TICK_MAX + 55);
    cap_free(&c);
    tc_adv_free(a);
}

/* ---- REPLAY ---- */

/* Sends count distinct own prevotes (block byte = index) to every peer, at time now_ms. */
static void send_votes(tc_adv *a, uint32_t first, uint32_t count, capture *c, uint8_t **frames,
                       size_t *lens)
{
    for (uint32_t i = first; i < first + count; i++) {
        tc_hash x;
        memset(x.b, 0, TC_HASH_SIZE);
        x.b[0] = (uint8_t)(i + 1);
        x.b[1] = (uint8_t)((i + 1) >> 8);
        tc_vote v = make_vote(KEY_OWN, TC_VOTE_PREVOTE, 30 + i, 0, &x);
        frames[i] = vote_frame(&v, &lens[i]);
        send_all(a, PEERS4, 4, frames[i], lens[i], c);
    }
}

/* Index of the frame among frames[0..n) equal to s, or -1. */
static int find_frame(const sent *s, uint8_t **frames, const size_t *lens, int n)
{
    for (int i = 0; i < n; i++)
        if (same_bytes(s, frames[i], lens[i]))
            return i;
    return -1;
}

Test(adversary, replay_resends_frames_identical_to_earlier_ones)
{
    tc_adv *a = adv_new(TC_ADV_REPLAY, 5, 0, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    uint8_t *frames[10];
    size_t lens[10];
    send_votes(a, 0, 8, &c, frames, lens);
    size_t ping_len = 0;
    uint8_t *ping = sample_frame(TC_MSG_PING, &ping_len);
    send_all(a, PEERS4, 4, ping, ping_len, &c);
    frames[8] = proposal_frame(KEY_OWN, 50, 0, &lens[8]);
    send_all(a, PEERS4, 4, frames[8], lens[8], &c);
    cr_assert_eq(c.count, 9 * 4 + 4, "everything passes");
    size_t base = c.count;
    for (uint64_t now = 0; now <= 30000; now = tc_adv_next_deadline(a))
        tc_adv_tick(a, now, PEERS4, 4, cap_emit, &c);
    size_t replays = c.count - base;
    /* 30 s at intervals in [250, 750] ms: 40 to 120 replays, ~60 expected. */
    cr_assert(replays >= 40 && replays <= 120, "replays %zu", replays);
    bool seen[9] = {false};
    for (size_t i = base; i < c.count; i++) {
        int k = find_frame(&c.items[i], frames, lens, 9);
        cr_assert_geq(k, 0, "replay %zu is a frame sent before", i);
        cr_assert(!same_bytes(&c.items[i], ping, ping_len), "pings are not replayed");
        cr_assert(c.items[i].to >= 10 && c.items[i].to <= 13);
        seen[k] = true;
    }
    uint32_t distinct = 0;
    for (int k = 0; k < 9; k++)
        distinct += seen[k];
    cr_assert_geq(distinct, 6, "replays draw from the whole ring: %u of 9", distinct);
    tc_adv_stats st;
    tc_adv_stats_get(a, &st);
    cr_assert_eq(st.frames_extra, replays);
    for (int k = 0; k < 9; k++)
        free(frames[k]);
    free(ping);
    cap_free(&c);
    tc_adv_free(a);
}

Test(adversary, replay_keeps_only_the_newest_frames)
{
    enum { N = TC_ADV_REPLAY_SLOTS + 44 };
    tc_adv *a = adv_new(TC_ADV_REPLAY, 5, 0, TC_SIG_FAST);
    capture c;
    cap_init(&c);
    uint8_t **frames = calloc(N, sizeof(*frames));
    size_t *lens = calloc(N, sizeof(*lens));
    cr_assert(frames != NULL && lens != NULL);
    send_votes(a, 0, N, &c, frames, lens);
    size_t base = c.count;
    for (uint64_t now = 0; now <= 600000; now = tc_adv_next_deadline(a))
        tc_adv_tick(a, now, PEERS4, 4, cap_emit, &c);
    cr_assert_gt(c.count - base, 800);
    for (size_t i = base; i < c.count; i++) {
        int k = find_frame(&c.items[i], frames, lens, N);
        cr_assert_geq(k, N - TC_ADV_REPLAY_SLOTS, "replay of frame %d, older than the ring", k);
    }
    for (int k = 0; k < N; k++)
        free(frames[k]);
    free(frames);
    free(lens);
    cap_free(&c);
    tc_adv_free(a);
}

/* ---- robustness and determinism ---- */

Test(adversary, undecodable_frames_pass_unchanged_in_every_kind)
{
    tc_rng rng;
    tc_rng_init_u64(&rng, 77);
    uint8_t buf[600];
    for (int k = 0; k < TC_ADV_KIND_COUNT; k++) {
        tc_adv_kind kind = (tc_adv_kind)k;
        tc_adv *a = adv_new(kind, 3, 100, TC_SIG_ED25519);
        for (int i = 0; i < 400; i++) {
            size_t len = (size_t)tc_rng_below(&rng, i < 40 ? 6 : sizeof(buf));
            tc_rng_bytes(&rng, buf, len);
            if (len >= TC_MSG_HEADER_SIZE) {
                uint32_t l = (uint32_t)(len - 4);
                buf[0] = (uint8_t)(l >> 24);
                buf[1] = (uint8_t)(l >> 16);
                buf[2] = (uint8_t)(l >> 8);
                buf[3] = (uint8_t)l;
                buf[4] = (uint8_t)(TC_MSG_PROPOSAL + tc_rng_below(&rng, 3)); /* consensus */
            }
            tc_msg m;
            if (tc_msg_decode(buf, len, &m) == 0) {
                tc_msg_deinit(&m);
                continue;
            }
            capture c;
            cap_init(&c);
            tc_adv_on_send(a, 0, 12, PEERS4, 4, buf, len, cap_emit, &c);
            bool dropped = k == TC_ADV_SILENT && len >= TC_MSG_HEADER_SIZE;
            cr_assert_eq(c.count, dropped ? 0u : 1u, "kind %s, frame %d", tc_adv_kind_name(kind),
                         i);
            if (!dropped)
                cr_assert(same_bytes(&c.items[0], buf, len), "kind %s, frame %d unchanged",
                          tc_adv_kind_name(kind), i);
            cap_free(&c);
        }
        tc_adv_free(a);
    }
}

/* One fixed script: signed frames sent to every peer and ticks every 7 ms for 5 s. Returns the
 * hash of the emitted sequence. */
static tc_hash script_digest(tc_adv_kind kind, uint8_t seed)
{
    tc_adv *a = adv_new(kind, seed, 300, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    for (uint64_t now = 0; now <= 5000; now += 7) {
        if (now % 140 == 0) {
            tc_hash x;
            memset(x.b, (int)(now / 140 + 1), TC_HASH_SIZE);
            tc_vote v = make_vote(KEY_OWN, TC_VOTE_PRECOMMIT, 40 + now, 0, &x);
            size_t len = 0;
            uint8_t *f = vote_frame(&v, &len);
            for (uint32_t p = 0; p < 4; p++)
                tc_adv_on_send(a, now, PEERS4[p], PEERS4, 4, f, len, cap_emit, &c);
            free(f);
        }
        tc_adv_tick(a, now, PEERS4, 4, cap_emit, &c);
    }
    tc_hash h;
    tc_hasher_final(&c.seq, &h);
    cr_assert_gt(c.count, 100, "kind %s emits", tc_adv_kind_name(kind));
    cap_free(&c);
    tc_adv_free(a);
    return h;
}

Test(adversary, same_seed_same_bytes_other_seed_other_bytes)
{
    static const tc_adv_kind random_kinds[] = {TC_ADV_INVALID_SIG, TC_ADV_REPLAY, TC_ADV_GARBAGE,
                                               TC_ADV_FLOOD};
    for (size_t i = 0; i < TC_ARRAY_LEN(random_kinds); i++) {
        tc_adv_kind k = random_kinds[i];
        tc_hash x = script_digest(k, 1);
        tc_hash y = script_digest(k, 1);
        tc_hash z = script_digest(k, 2);
        cr_assert_eq(memcmp(x.b, y.b, TC_HASH_SIZE), 0, "%s replays", tc_adv_kind_name(k));
        cr_assert_neq(memcmp(x.b, z.b, TC_HASH_SIZE), 0, "%s depends on the seed",
                      tc_adv_kind_name(k));
    }
    static const tc_adv_kind fixed_kinds[] = {TC_ADV_EQUIVOCATE, TC_ADV_DOUBLE_VOTE};
    for (size_t i = 0; i < TC_ARRAY_LEN(fixed_kinds); i++) {
        tc_hash x = script_digest(fixed_kinds[i], 1);
        tc_hash z = script_digest(fixed_kinds[i], 2);
        cr_assert_eq(memcmp(x.b, z.b, TC_HASH_SIZE), 0, "%s draws nothing random",
                     tc_adv_kind_name(fixed_kinds[i]));
    }
}

/* ---- rule breakers ---- */

/* Sends frame once to peer 11 of PEERS4 at now_ms. */
static void send_one(tc_adv *a, uint64_t now_ms, const uint8_t *frame, size_t len, capture *c)
{
    tc_adv_on_send(a, now_ms, 11, PEERS4, 4, frame, len, cap_emit, c);
}

static tc_msg decode_sent(const sent *s, uint8_t type)
{
    tc_msg m;
    cr_assert_eq(tc_msg_decode(s->bytes, s->len, &m), 0);
    cr_assert_eq(m.type, type, "type %u, want %u", m.type, type);
    return m;
}

Test(adversary, forged_votes_come_first_in_the_signers_name_and_fail_its_key)
{
    static const struct {
        tc_adv_kind kind;
        uint8_t type;
    } cases[] = {{TC_ADV_FORGE_PREVOTE, TC_VOTE_PREVOTE},
                 {TC_ADV_FORGE_PRECOMMIT, TC_VOTE_PRECOMMIT}};
    for (size_t k = 0; k < TC_ARRAY_LEN(cases); k++) {
        for (uint64_t signer = KEY_OWN; signer <= KEY_OTHER; signer++) {
            tc_adv *a = adv_new(cases[k].kind, 1, 0, TC_SIG_ED25519);
            tc_hash x;
            memset(x.b, 0x31, TC_HASH_SIZE);
            tc_vote v = make_vote(signer, cases[k].type, 50, 2, &x);
            size_t len = 0;
            uint8_t *f = vote_frame(&v, &len);
            capture c;
            cap_init(&c);
            send_one(a, 1000, f, len, &c);
            cr_assert_eq(c.count, 2u, "the forgery, then the original");
            cr_assert(same_bytes(&c.items[1], f, len), "the original second");
            tc_vote w = decode_vote(&c.items[0]);
            cr_assert_eq(w.type, cases[k].type);
            cr_assert_eq(w.height, 50u);
            cr_assert_eq(w.round, 2u);
            cr_assert_eq(w.validator, 7u, "in the signer's name");
            cr_assert_neq(memcmp(w.block.b, x.b, TC_HASH_SIZE), 0, "for another block");
            cr_assert_neq(verify_vote(&w, signer), 0, "fails the signer's key");
            /* Another signer's vote carries our (foreign) signature; ours a flipped one. */
            cr_assert_eq(verify_vote(&w, KEY_OWN) == 0, signer != KEY_OWN);
            /* The other vote type passes alone and unchanged. */
            tc_vote o = make_vote(
                signer, cases[k].type == TC_VOTE_PREVOTE ? TC_VOTE_PRECOMMIT : TC_VOTE_PREVOTE, 50,
                2, &x);
            size_t olen = 0;
            uint8_t *of = vote_frame(&o, &olen);
            send_one(a, 1000, of, olen, &c);
            cr_assert_eq(c.count, 3u, "one frame for the other type");
            cr_assert(same_bytes(&c.items[2], of, olen));
            free(of);
            free(f);
            cap_free(&c);
            tc_adv_free(a);
        }
    }
}

Test(adversary, out_of_turn_proposes_in_its_own_name_once_it_knows_its_index)
{
    tc_adv *a = adv_new(TC_ADV_OUT_OF_TURN, 1, 0, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    size_t plen = 0;
    uint8_t *p = proposal_frame(KEY_OTHER, 30, 1, &plen);
    send_one(a, 1000, p, plen, &c);
    cr_assert_eq(c.count, 1u, "index unknown: the proposal passes alone");
    tc_hash x;
    memset(x.b, 0x22, TC_HASH_SIZE);
    tc_vote v = make_vote(KEY_OWN, TC_VOTE_PREVOTE, 30, 0, &x); /* validator 7 */
    size_t vlen = 0;
    uint8_t *vf = vote_frame(&v, &vlen);
    send_one(a, 1000, vf, vlen, &c);
    cr_assert_eq(c.count, 2u, "our vote passes");
    uint8_t *p2 = proposal_frame(KEY_OTHER, 31, 1, &plen); /* a relayed one */
    send_one(a, 1000, p2, plen, &c);
    cr_assert_eq(c.count, 4u, "the out-of-turn proposal, then the relayed one");
    cr_assert(same_bytes(&c.items[3], p2, plen));
    tc_msg m = decode_sent(&c.items[2], TC_MSG_PROPOSAL);
    cr_assert_eq(m.proposal.height, 31u);
    cr_assert_eq(m.proposal.round, 1u, "the relayed proposal's round");
    cr_assert_eq(m.proposal.pol_round, TC_MSG_POL_NONE);
    cr_assert_eq(m.proposal.block.header.proposer, 7u, "naming itself");
    cr_assert_eq(m.proposal.block.header.round, 1u);
    tc_msg_deinit(&m);
    int rc = -1;
    (void)proposal_hash(&c.items[2], KEY_OWN, &rc);
    cr_assert_eq(rc, 0, "signed with its own key");
    uint8_t *own = proposal_frame(KEY_OWN, 32, 0, &plen); /* its own turn */
    send_one(a, 1000, own, plen, &c);
    cr_assert_eq(c.count, 6u);
    m = decode_sent(&c.items[4], TC_MSG_PROPOSAL);
    cr_assert_eq(m.proposal.round, 1u, "its own proposal again, one round later");
    cr_assert_eq(m.proposal.block.header.round, 1u);
    tc_msg_deinit(&m);
    free(own);
    free(p2);
    free(vf);
    free(p);
    cap_free(&c);
    tc_adv_free(a);
}

Test(adversary, forged_proposal_keeps_the_header_and_fails_the_proposers_key)
{
    tc_adv *a = adv_new(TC_ADV_FORGE_PROPOSAL, 1, 0, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    size_t len = 0;
    uint8_t *p = proposal_frame(KEY_OTHER, 30, 1, &len);
    send_one(a, 1000, p, len, &c);
    cr_assert_eq(c.count, 2u);
    cr_assert(same_bytes(&c.items[1], p, len));
    tc_msg orig, forged;
    cr_assert_eq(tc_msg_decode(p, len, &orig), 0);
    forged = decode_sent(&c.items[0], TC_MSG_PROPOSAL);
    cr_assert_eq(forged.proposal.block.header.time_ms, orig.proposal.block.header.time_ms + 1);
    cr_assert_eq(forged.proposal.block.header.proposer, orig.proposal.block.header.proposer);
    cr_assert_eq(forged.proposal.round, orig.proposal.round);
    int rc_other = 0, rc_own = -1;
    (void)proposal_hash(&c.items[0], KEY_OTHER, &rc_other);
    (void)proposal_hash(&c.items[0], KEY_OWN, &rc_own);
    cr_assert_neq(rc_other, 0, "not the proposer's signature");
    cr_assert_eq(rc_own, 0, "a foreign one");
    tc_msg_deinit(&orig);
    tc_msg_deinit(&forged);
    free(p);
    cap_free(&c);
    tc_adv_free(a);
}

Test(adversary, time_shift_replaces_own_fresh_proposals_only)
{
    static const tc_adv_kind kinds[] = {TC_ADV_TIME_AHEAD, TC_ADV_TIME_BEHIND};
    for (size_t k = 0; k < TC_ARRAY_LEN(kinds); k++) {
        tc_adv *a = adv_new(kinds[k], 1, 0, TC_SIG_ED25519);
        capture c;
        cap_init(&c);
        size_t len = 0;
        uint8_t *other = proposal_frame(KEY_OTHER, 30, 0, &len);
        send_one(a, 1000, other, len, &c);
        cr_assert_eq(c.count, 1u);
        cr_assert(same_bytes(&c.items[0], other, len), "a relayed proposal passes");
        uint8_t *own = proposal_frame(KEY_OWN, 30, 0, &len);
        tc_msg orig;
        cr_assert_eq(tc_msg_decode(own, len, &orig), 0);
        send_one(a, 1000, own, len, &c);
        cr_assert_eq(c.count, 2u, "replaced, not followed");
        tc_msg m = decode_sent(&c.items[1], TC_MSG_PROPOSAL);
        uint64_t t = orig.proposal.block.header.time_ms;
        uint64_t want = kinds[k] == TC_ADV_TIME_AHEAD
                            ? t + TC_ADV_TIME_SHIFT_MS
                            : (t > TC_ADV_TIME_SHIFT_MS ? t - TC_ADV_TIME_SHIFT_MS : 1);
        cr_assert_eq(m.proposal.block.header.time_ms, want, "%s", tc_adv_kind_name(kinds[k]));
        int rc = -1;
        (void)proposal_hash(&c.items[1], KEY_OWN, &rc);
        cr_assert_eq(rc, 0, "validly signed");
        tc_msg_deinit(&m);
        tc_msg_deinit(&orig);
        free(own);
        free(other);
        cap_free(&c);
        tc_adv_free(a);
    }
}

Test(adversary, sync_breakers_replace_blocks_answers)
{
    static const tc_adv_kind kinds[] = {TC_ADV_SYNC_BAD_HASH, TC_ADV_SYNC_LOW_WEIGHT,
                                        TC_ADV_SYNC_NON_MEMBER, TC_ADV_SYNC_BAD_SIG};
    for (size_t k = 0; k < TC_ARRAY_LEN(kinds); k++) {
        tc_adv *a = adv_new(kinds[k], 1, 0, TC_SIG_ED25519);
        capture c;
        cap_init(&c);
        size_t len = 0;
        uint8_t *f = sample_frame(TC_MSG_BLOCKS, &len);
        tc_msg orig;
        cr_assert_eq(tc_msg_decode(f, len, &orig), 0);
        send_one(a, 1000, f, len, &c);
        cr_assert_eq(c.count, 1u, "%s replaces", tc_adv_kind_name(kinds[k]));
        tc_msg m = decode_sent(&c.items[0], TC_MSG_BLOCKS);
        cr_assert_eq(m.blocks.entry_count, orig.blocks.entry_count);
        cr_assert_gt(m.blocks.entry_count, 0u);
        for (uint32_t i = 0; i < m.blocks.entry_count; i++) {
            const tc_msg_block_entry *e = &m.blocks.entries[i], *o = &orig.blocks.entries[i];
            uint32_t n = o->commit.sig_count;
            cr_assert_gt(n, 1u, "the sample has several signers");
            if (kinds[k] == TC_ADV_SYNC_BAD_HASH) {
                cr_assert_eq(e->block.header.time_ms, o->block.header.time_ms + 1);
            } else if (kinds[k] == TC_ADV_SYNC_LOW_WEIGHT) {
                cr_assert_eq(e->commit.sig_count, 1u);
            } else if (kinds[k] == TC_ADV_SYNC_NON_MEMBER) {
                cr_assert_eq(e->commit.sigs[n - 1].validator,
                             o->commit.sigs[n - 1].validator + TC_ADV_NON_MEMBER_OFFSET);
            } else {
                cr_assert_neq(memcmp(e->commit.sigs[0].sig.b, o->commit.sigs[0].sig.b, TC_SIG_SIZE),
                              0, "the first signature forged");
                cr_assert_eq(memcmp(e->commit.sigs[1].sig.b, o->commit.sigs[1].sig.b, TC_SIG_SIZE),
                             0, "the others kept");
            }
        }
        tc_msg_deinit(&m);
        tc_msg_deinit(&orig);
        free(f);
        cap_free(&c);
        tc_adv_free(a);
    }
}

Test(adversary, stale_height_contradicts_its_previous_precommit)
{
    tc_adv *a = adv_new(TC_ADV_STALE_HEIGHT, 1, 0, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    tc_hash x, y;
    memset(x.b, 0x10, TC_HASH_SIZE);
    memset(y.b, 0x11, TC_HASH_SIZE);
    tc_vote v10 = make_vote(KEY_OWN, TC_VOTE_PRECOMMIT, 10, 3, &x);
    tc_vote v11 = make_vote(KEY_OWN, TC_VOTE_PRECOMMIT, 11, 0, &y);
    size_t l10 = 0, l11 = 0;
    uint8_t *f10 = vote_frame(&v10, &l10), *f11 = vote_frame(&v11, &l11);
    send_one(a, 1000, f10, l10, &c);
    cr_assert_eq(c.count, 1u, "nothing before it to contradict");
    send_one(a, 1000, f11, l11, &c);
    cr_assert_eq(c.count, 3u);
    cr_assert(same_bytes(&c.items[2], f11, l11));
    tc_vote s = decode_vote(&c.items[1]);
    cr_assert_eq(s.type, TC_VOTE_PRECOMMIT);
    cr_assert_eq(s.height, 10u, "the previous precommit's height");
    cr_assert_eq(s.round, 3u, "and round");
    cr_assert_neq(memcmp(s.block.b, x.b, TC_HASH_SIZE), 0, "another block");
    cr_assert_eq(verify_vote(&s, KEY_OWN), 0, "validly signed: real evidence");
    free(f10);
    free(f11);
    cap_free(&c);
    tc_adv_free(a);
}

Test(adversary, future_height_repeats_own_votes_far_ahead)
{
    tc_adv *a = adv_new(TC_ADV_FUTURE_HEIGHT, 1, 0, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    tc_hash x;
    memset(x.b, 0x12, TC_HASH_SIZE);
    tc_vote v = make_vote(KEY_OWN, TC_VOTE_PREVOTE, 10, 0, &x);
    tc_vote o = make_vote(KEY_OTHER, TC_VOTE_PREVOTE, 10, 0, &x);
    size_t lv = 0, lo = 0;
    uint8_t *fv = vote_frame(&v, &lv), *fo = vote_frame(&o, &lo);
    send_one(a, 1000, fo, lo, &c);
    cr_assert_eq(c.count, 1u, "another's vote passes alone");
    send_one(a, 1000, fv, lv, &c);
    cr_assert_eq(c.count, 3u);
    tc_vote w = decode_vote(&c.items[1]);
    cr_assert_eq(w.height, 10u + TC_ADV_FUTURE_HEIGHTS);
    cr_assert_eq(verify_vote(&w, KEY_OWN), 0);
    free(fv);
    free(fo);
    cap_free(&c);
    tc_adv_free(a);
}

Test(adversary, forged_evidence_pairs_a_vote_with_a_forgery)
{
    tc_adv *a = adv_new(TC_ADV_FORGE_EVIDENCE, 1, 0, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    tc_hash x;
    memset(x.b, 0x13, TC_HASH_SIZE);
    tc_vote v = make_vote(KEY_OTHER, TC_VOTE_PRECOMMIT, 10, 1, &x);
    size_t len = 0;
    uint8_t *f = vote_frame(&v, &len);
    send_one(a, 1000, f, len, &c);
    cr_assert_eq(c.count, 2u);
    cr_assert(same_bytes(&c.items[1], f, len));
    tc_msg m = decode_sent(&c.items[0], TC_MSG_EVIDENCE);
    cr_assert_eq(m.evidence.kind, TC_EVIDENCE_DOUBLE_VOTE);
    cr_assert_eq(tc_evidence_check_shape(&m.evidence), 0, "well formed");
    cr_assert_eq(tc_evidence_validator(&m.evidence), 7u, "against the vote's signer");
    bool a_real = verify_vote(&m.evidence.a, KEY_OTHER) == 0;
    bool b_real = verify_vote(&m.evidence.b, KEY_OTHER) == 0;
    cr_assert(a_real != b_real, "one real vote, one forged");
    tc_msg_deinit(&m);
    free(f);
    cap_free(&c);
    tc_adv_free(a);
}

Test(adversary, forged_tx_steals_the_change_later_to_every_peer)
{
    tc_adv *a = adv_new(TC_ADV_FORGE_TX, 1, 0, TC_SIG_ED25519);
    capture c;
    cap_init(&c);
    tc_adv_tick(a, 0, PEERS4, 4, cap_emit, &c); /* starts its timer */
    size_t len = 0;
    uint8_t *f = sample_frame(TC_MSG_TX, &len);
    tc_msg orig;
    cr_assert_eq(tc_msg_decode(f, len, &orig), 0);
    send_all(a, PEERS4, 4, f, len, &c);
    cr_assert_eq(c.count, 4u, "the transaction itself, to each peer");
    cr_assert_eq(tc_adv_next_deadline(a), 1000u + TC_ADV_FORGE_TX_DELAY_MS);
    tc_adv_tick(a, 1000 + TC_ADV_FORGE_TX_DELAY_MS - 1, PEERS4, 4, cap_emit, &c);
    cr_assert_eq(c.count, 4u, "not yet");
    tc_adv_tick(a, 1000 + TC_ADV_FORGE_TX_DELAY_MS, PEERS4, 4, cap_emit, &c);
    cr_assert_eq(c.count, 8u, "the theft, once to each peer");
    cr_assert_eq(tc_adv_next_deadline(a), UINT64_MAX);
    tc_hash txid;
    tc_tx_id(&orig.tx, &txid);
    for (uint32_t i = 4; i < 8; i++) {
        cr_assert_eq(c.items[i].to, PEERS4[i - 4]);
        tc_msg m = decode_sent(&c.items[i], TC_MSG_TX);
        cr_assert_eq(m.tx.input_count, 1u);
        cr_assert_eq(m.tx.output_count, 1u);
        cr_assert_eq(memcmp(m.tx.inputs[0].prev.txid.b, txid.b, TC_HASH_SIZE), 0);
        cr_assert_eq(m.tx.inputs[0].prev.index, 1u, "the change output");
        cr_assert_eq(memcmp(m.tx.inputs[0].pub.b, orig.tx.inputs[0].pub.b, TC_PUBKEY_SIZE), 0);
        cr_assert_eq(m.tx.outputs[0].amount, orig.tx.outputs[1].amount / 2);
        cr_assert_neq(memcmp(m.tx.outputs[0].addr.b, orig.tx.outputs[1].addr.b, TC_ADDR_HASH_SIZE),
                      0, "paid elsewhere");
        tc_msg_deinit(&m);
    }
    tc_msg_deinit(&orig);
    free(f);
    cap_free(&c);
    tc_adv_free(a);
}

Test(adversary, forged_batch_heartbeat_and_handoff_come_first_and_differ)
{
    static const struct {
        tc_adv_kind kind;
        uint8_t type;
    } cases[] = {{TC_ADV_FORGE_BATCH, TC_MSG_VOTE_BATCH},
                 {TC_ADV_FORGE_HEARTBEAT, TC_MSG_HEARTBEAT},
                 {TC_ADV_FORGE_HANDOFF, TC_MSG_HANDOFF}};
    for (size_t k = 0; k < TC_ARRAY_LEN(cases); k++) {
        tc_adv *a = adv_new(cases[k].kind, 1, 0, TC_SIG_ED25519);
        capture c;
        cap_init(&c);
        size_t len = 0;
        uint8_t *f = sample_frame(cases[k].type, &len);
        send_one(a, 1000, f, len, &c);
        cr_assert_eq(c.count, 2u, "%s: the forgery, then the original",
                     tc_adv_kind_name(cases[k].kind));
        cr_assert(same_bytes(&c.items[1], f, len));
        cr_assert(!same_bytes(&c.items[0], f, len), "a different frame");
        tc_msg m = decode_sent(&c.items[0], cases[k].type);
        tc_msg o;
        cr_assert_eq(tc_msg_decode(f, len, &o), 0);
        if (cases[k].type == TC_MSG_HEARTBEAT)
            cr_assert_eq(m.heartbeat.time_ms, o.heartbeat.time_ms + TC_ADV_HEARTBEAT_SHIFT_MS);
        else if (cases[k].type == TC_MSG_VOTE_BATCH)
            cr_assert_eq(m.vote_batch.txid_count + 1, o.vote_batch.txid_count);
        tc_msg_deinit(&m);
        tc_msg_deinit(&o);
        free(f);
        cap_free(&c);
        tc_adv_free(a);
    }
}

Test(adversary, wrong_header_replaces_own_fresh_proposals_with_misfit_copies)
{
    static const tc_adv_kind kinds[] = {TC_ADV_WRONG_PROPOSER, TC_ADV_WRONG_ROUND};
    for (size_t k = 0; k < TC_ARRAY_LEN(kinds); k++) {
        tc_adv *a = adv_new(kinds[k], 1, 0, TC_SIG_ED25519);
        capture c;
        cap_init(&c);
        size_t len = 0;
        uint8_t *other = proposal_frame(KEY_OTHER, 30, 2, &len);
        send_one(a, 1000, other, len, &c);
        cr_assert_eq(c.count, 1u);
        cr_assert(same_bytes(&c.items[0], other, len), "a relayed proposal passes");
        uint8_t *own = proposal_frame(KEY_OWN, 30, 2, &len);
        tc_msg orig;
        cr_assert_eq(tc_msg_decode(own, len, &orig), 0);
        send_one(a, 1000, own, len, &c);
        cr_assert_eq(c.count, 1u + TC_ADV_HEADER_COPIES, "%s: the copies instead (%zu)",
                     tc_adv_kind_name(kinds[k]), c.count);
        const tc_block_header *oh = &orig.proposal.block.header;
        for (uint32_t i = 0; i < TC_ADV_HEADER_COPIES; i++) {
            tc_msg m = decode_sent(&c.items[1 + i], TC_MSG_PROPOSAL);
            const tc_block_header *h = &m.proposal.block.header;
            cr_assert_eq(h->time_ms, oh->time_ms + i, "copy %u", i);
            cr_assert_eq(m.proposal.round, 2u);
            if (kinds[k] == TC_ADV_WRONG_PROPOSER) {
                cr_assert_neq(h->proposer, oh->proposer, "another proposer");
                cr_assert_eq(h->round, oh->round);
            } else {
                cr_assert_eq(h->round, 3u, "the next round");
                cr_assert_eq(h->proposer, oh->proposer);
            }
            int rc = -1;
            (void)proposal_hash(&c.items[1 + i], KEY_OWN, &rc);
            cr_assert_eq(rc, 0, "validly signed");
            tc_msg_deinit(&m);
        }
        tc_msg_deinit(&orig);
        free(own);
        free(other);
        cap_free(&c);
        tc_adv_free(a);
    }
}

/* EQUIVOCATE_BATCH: its own batch is preceded by another of the same (epoch, validator, seq)
 * with one txid less, validly signed by its key (evidence kind 3); others' batches pass. */
Test(adversary, equivocate_batch_signs_a_second_batch_under_its_own_seq)
{
    tc_adv *a = adv_new(TC_ADV_EQUIVOCATE_BATCH, 1, 0, TC_SIG_ED25519);
    tc_keypair own;
    ts_keypair(&own, KEY_OWN);
    tc_msg m;
    ms_msg(&m, TC_MSG_VOTE_BATCH);
    cr_assert_gt(m.vote_batch.txid_count, 1u, "the sample names several txids");
    tc_msg_vote_batch_sign(&m.vote_batch, TC_SIG_ED25519, &own);
    size_t len = 0;
    uint8_t *f = encode(&m, &len);
    capture c;
    cap_init(&c);
    send_one(a, 1000, f, len, &c);
    cr_assert_eq(c.count, 2u, "the second batch, then the original");
    cr_assert(same_bytes(&c.items[1], f, len));
    tc_msg x = decode_sent(&c.items[0], TC_MSG_VOTE_BATCH);
    cr_assert_eq(x.vote_batch.epoch, m.vote_batch.epoch);
    cr_assert_eq(x.vote_batch.validator, m.vote_batch.validator);
    cr_assert_eq(x.vote_batch.seq, m.vote_batch.seq, "the same seq");
    cr_assert_eq(x.vote_batch.txid_count + 1, m.vote_batch.txid_count, "one txid less");
    tc_hash h;
    tc_msg_vote_batch_sign_hash(&x.vote_batch, &h);
    tc_verifier v = {.scheme = TC_SIG_ED25519};
    cr_assert_eq(tc_verify(&v, &own.pub, &h, &x.vote_batch.sig), 0, "validly signed");
    tc_msg_deinit(&x);
    free(f);
    cap_free(&c);

    /* Another validator's batch (the sample's own signature) passes unchanged. */
    tc_msg_deinit(&m);
    f = sample_frame(TC_MSG_VOTE_BATCH, &len);
    cap_init(&c);
    send_one(a, 1000, f, len, &c);
    cr_assert_eq(c.count, 1u);
    cr_assert(same_bytes(&c.items[0], f, len), "relayed unchanged");
    free(f);
    cap_free(&c);
    tc_adv_free(a);
}

/* EQUIVOCATE_HANDOFF: its own handoff is preceded by another of the same epoch and validator
 * with another list, validly signed (evidence kind 4); an empty list gets one made-up txid. */
Test(adversary, equivocate_handoff_signs_a_second_handoff_for_its_epoch)
{
    tc_adv *a = adv_new(TC_ADV_EQUIVOCATE_HANDOFF, 1, 0, TC_SIG_ED25519);
    tc_keypair own;
    ts_keypair(&own, KEY_OWN);
    tc_verifier v = {.scheme = TC_SIG_ED25519};
    for (int empty = 0; empty < 2; empty++) {
        tc_msg m;
        ms_msg(&m, TC_MSG_HANDOFF);
        if (empty)
            m.handoff.txid_count = 0;
        uint32_t want = empty ? 1u : m.handoff.txid_count - 1;
        tc_handoff_sign(&m.handoff, TC_SIG_ED25519, &own);
        size_t len = 0;
        uint8_t *f = encode(&m, &len);
        capture c;
        cap_init(&c);
        send_one(a, 1000, f, len, &c);
        cr_assert_eq(c.count, 2u, "the second handoff, then the original (empty %d)", empty);
        cr_assert(same_bytes(&c.items[1], f, len));
        tc_msg x = decode_sent(&c.items[0], TC_MSG_HANDOFF);
        cr_assert_eq(x.handoff.epoch, m.handoff.epoch);
        cr_assert_eq(x.handoff.validator, m.handoff.validator);
        cr_assert_eq(x.handoff.txid_count, want, "another list (empty %d)", empty);
        tc_hash h;
        tc_handoff_sign_hash(&x.handoff, &h);
        cr_assert_eq(tc_verify(&v, &own.pub, &h, &x.handoff.sig), 0, "validly signed");
        tc_msg_deinit(&x);
        tc_msg_deinit(&m);
        free(f);
        cap_free(&c);
    }
    size_t len = 0;
    uint8_t *f = sample_frame(TC_MSG_HANDOFF, &len);
    capture c;
    cap_init(&c);
    send_one(a, 1000, f, len, &c);
    cr_assert_eq(c.count, 1u);
    cr_assert(same_bytes(&c.items[0], f, len), "another validator's handoff passes unchanged");
    free(f);
    cap_free(&c);
    tc_adv_free(a);
}
