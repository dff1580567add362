/* test_msg.c — the wire protocol: frame layout, a round trip of every message type, every
 * decode error (short, truncated, trailing, wrong length, unknown type, vote type mismatch,
 * over-limit counts, out-of-range fields), the frame-size pre-check, encode-side checks, and
 * the signed-object hashes. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "msg_samples.h"
#include "peer.h"
#include "snapshot.h"

static void init(void)
{
    cr_assert_eq(tc_crypto_init(), 0);
}

TestSuite(msg, .init = init);

/* ---- helpers ---- */

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Decodes and expects code; on failure the output must be zeroed. */
static void expect_decode(const uint8_t *frame, size_t len, int code)
{
    tc_msg m;
    memset(&m, 0xee, sizeof(m));
    int rc = tc_msg_decode(frame, len, &m);
    cr_assert_eq(rc, code, "decode of %zu bytes (type %u): got %d (%s), want %d (%s)", len,
                 len > 4 ? frame[4] : 0, rc, tc_strerror(rc), code, tc_strerror(code));
    if (rc != 0)
        cr_assert(all_zero(&m, sizeof(m)), "a failed decode leaves the message zeroed");
    tc_msg_deinit(&m);
}

/* Bytes from the start of a message to the end of type's union member: what decode clears and
 * deinit empties (msg.h, Ownership). Written out here, apart from msg.c's table. */
static size_t cleared_size(uint8_t type)
{
    const tc_msg *m = NULL;
    size_t member = 0;
    switch (type) {
    case TC_MSG_HELLO:
        member = sizeof(m->hello);
        break;
    case TC_MSG_AUTH:
        member = sizeof(m->auth);
        break;
    case TC_MSG_PING:
    case TC_MSG_PONG:
        member = sizeof(m->ping);
        break;
    case TC_MSG_PEERS:
        member = sizeof(m->peers);
        break;
    case TC_MSG_STATUS:
        member = sizeof(m->status);
        break;
    case TC_MSG_TX:
        member = sizeof(m->tx);
        break;
    case TC_MSG_VOTE_BATCH:
        member = sizeof(m->vote_batch);
        break;
    case TC_MSG_GET_VOTE_BATCHES:
        member = sizeof(m->get_vote_batches);
        break;
    case TC_MSG_PROPOSAL:
        member = sizeof(m->proposal);
        break;
    case TC_MSG_PREVOTE:
    case TC_MSG_PRECOMMIT:
        member = sizeof(m->vote);
        break;
    case TC_MSG_GET_BLOCKS:
        member = sizeof(m->get_blocks);
        break;
    case TC_MSG_BLOCKS:
        member = sizeof(m->blocks);
        break;
    case TC_MSG_HEARTBEAT:
        member = sizeof(m->heartbeat);
        break;
    case TC_MSG_HANDOFF:
        member = sizeof(m->handoff);
        break;
    case TC_MSG_EVIDENCE:
        member = sizeof(m->evidence);
        break;
    case TC_MSG_REJECT:
        member = sizeof(m->reject);
        break;
    case TC_MSG_GET_VOTES:
        member = sizeof(m->get_votes);
        break;
    case TC_MSG_VOTES:
        member = sizeof(m->votes);
        break;
    case TC_MSG_GET_TXS:
        member = sizeof(m->get_txs);
        break;
    case TC_MSG_TXS:
        member = sizeof(m->txs);
        break;
    case TC_MSG_IHAVE:
    case TC_MSG_IWANT:
        member = sizeof(m->invs);
        break;
    case TC_MSG_VOTE_BITS:
    case TC_MSG_VOTE_WANT:
        member = sizeof(m->vote_bits);
        break;
    case TC_MSG_GET_SNAPSHOT:
        member = sizeof(m->get_snapshot);
        break;
    case TC_MSG_SNAPSHOT:
        member = sizeof(m->snapshot);
        break;
    case TC_MSG_BUNDLE:
        member = sizeof(m->bundle);
        break;
    default:
        break; /* GET_PEERS has no payload */
    }
    return offsetof(tc_msg, hello) + member;
}

/* A frame of type with payload bytes (n of them), length prefix set to match. */
static uint8_t *frame_of(uint8_t type, const uint8_t *payload, size_t n, size_t *len_out)
{
    uint8_t *f = malloc(n + TC_MSG_HEADER_SIZE + 1);
    cr_assert_not_null(f);
    be32(f, (uint32_t)(n + 1));
    f[4] = type;
    if (n > 0)
        memcpy(f + TC_MSG_HEADER_SIZE, payload, n);
    *len_out = n + TC_MSG_HEADER_SIZE;
    return f;
}

static uint8_t *sample_frame(uint8_t type, size_t *len_out)
{
    tc_msg m;
    ms_msg(&m, type);
    uint8_t *f = ms_encode(&m, len_out);
    tc_msg_deinit(&m);
    return f;
}

/* ---- frame layout and round trips ---- */

Test(msg, ping_frame_golden_bytes)
{
    tc_msg m;
    ms_msg(&m, TC_MSG_PING);
    size_t len = 0;
    uint8_t *f = ms_encode(&m, &len);
    /* Big-endian length 9 (type + u64), type 3, then the nonce little-endian. */
    static const uint8_t want[] = {0, 0, 0, 9, 3, 8, 7, 6, 5, 4, 3, 2, 1};
    cr_assert_eq(len, sizeof(want));
    cr_assert_arr_eq(f, want, sizeof(want));
    free(f);
}

static void check_fields(uint8_t type, const tc_msg *d)
{
    switch (type) {
    case TC_MSG_HELLO:
        cr_assert_str_eq(d->hello.user_agent, "timecoin/test");
        cr_assert_eq(d->hello.user_agent_len, 13);
        cr_assert_eq(d->hello.best_height, 12345);
        cr_assert_eq(d->hello.listen_port, 24100);
        break;
    case TC_MSG_PEERS:
        cr_assert_eq(d->peers.addr_count, 3);
        cr_assert_str_eq(d->peers.addrs[1], "[::1]:24100");
        break;
    case TC_MSG_VOTE_BATCH:
        cr_assert_eq(d->vote_batch.txid_count, 4);
        cr_assert_eq(d->vote_batch.seq, 77);
        cr_assert_eq(d->vote_batch.txids[3].b[0], 4);
        break;
    case TC_MSG_PROPOSAL:
        cr_assert_eq(d->proposal.pol_round, 1);
        cr_assert_eq(d->proposal.block.header.height, 10);
        cr_assert_eq(d->proposal.block.tx_count, 1);
        break;
    case TC_MSG_BLOCKS:
        cr_assert_eq(d->blocks.entry_count, 2);
        cr_assert_eq(d->blocks.entries[1].commit.height, 21);
        cr_assert_eq(d->blocks.entries[1].commit.sig_count, 3);
        break;
    case TC_MSG_PREVOTE:
    case TC_MSG_PRECOMMIT:
        cr_assert_eq(d->vote.type, type == TC_MSG_PREVOTE ? TC_VOTE_PREVOTE : TC_VOTE_PRECOMMIT);
        break;
    case TC_MSG_REJECT:
        cr_assert_eq(d->reject.code, TC_ETX_LOW_FEE);
        cr_assert_str_eq(d->reject.reason, "fee below min_fee");
        break;
    case TC_MSG_GET_BLOCKS:
        cr_assert_eq(d->get_blocks.count, 2);
        break;
    case TC_MSG_BUNDLE:
        cr_assert_eq(d->bundle.count, 2);
        cr_assert_eq(d->bundle.members[0].len, 7, "a TX member of 7 bytes");
        cr_assert_eq(d->bundle.members[1].len, 6, "a VOTE_BATCH member of 6 bytes");
        cr_assert_eq(d->bundle.members[1].frame[4], TC_MSG_VOTE_BATCH);
        break;
    default:
        break;
    }
}

Test(msg, every_type_round_trips_byte_for_byte)
{
    for (uint8_t type = 1; type < TC_MSG_TYPE_COUNT; type++) {
        if (!tc_msg_type_known(type))
            continue;
        tc_msg m;
        ms_msg(&m, type);
        size_t len = 0;
        uint8_t *f = ms_encode(&m, &len);
        cr_assert_eq(tc_msg_encoded_size(&m), len, "%s", tc_msg_type_name(type));
        cr_assert_eq((uint32_t)f[0] << 24 | (uint32_t)f[1] << 16 | (uint32_t)f[2] << 8 | f[3],
                     len - 4);
        cr_assert_eq(f[4], type);
        cr_assert_eq(tc_msg_frame_type(f, len), type);
        /* Decoding needs no cleared buffer: it zeroes what the type uses before filling it. */
        tc_msg d;
        memset(&d, 0xee, sizeof(d));
        cr_assert_eq(tc_msg_decode(f, len, &d), 0, "%s", tc_msg_type_name(type));
        cr_assert_eq(d.type, type);
        check_fields(type, &d);
        size_t len2 = 0;
        uint8_t *f2 = ms_encode(&d, &len2);
        cr_assert_eq(len2, len, "%s", tc_msg_type_name(type));
        cr_assert_arr_eq(f2, f, len, "%s re-encodes to the same bytes", tc_msg_type_name(type));
        tc_msg_deinit(&d);
        size_t cleared = cleared_size(type);
        cr_assert_eq(d.type, 0, "deinit empties");
        cr_assert(all_zero(&d, cleared), "%s: deinit zeroes the type's member",
                  tc_msg_type_name(type));
        if (cleared < sizeof(d))
            cr_assert_eq(((const uint8_t *)&d)[cleared], 0xee,
                         "%s: and leaves the bytes past it alone", tc_msg_type_name(type));
        tc_msg_deinit(&m);
        free(f);
        free(f2);
    }
}

Test(msg, empty_and_full_lists_round_trip)
{
    tc_msg m[6];
    memset(m, 0, sizeof(m));
    m[0].type = TC_MSG_PEERS; /* no addresses */
    m[1].type = TC_MSG_VOTE_BATCH;
    ms_vote_batch(&m[1].vote_batch, TC_MSG_VOTE_TXIDS_MAX);
    m[2].type = TC_MSG_BLOCKS; /* no blocks: "I have none" */
    m[3].type = TC_MSG_PEERS;
    m[3].peers.addr_count = TC_MSG_PEERS_MAX;
    for (uint32_t i = 0; i < TC_MSG_PEERS_MAX; i++) {
        memset(m[3].peers.addrs[i], 'a' + (int)(i % 26), TC_MSG_ADDR_MAX);
        m[3].peers.addrs[i][TC_MSG_ADDR_MAX] = 0;
    }
    m[4].type = TC_MSG_GET_VOTE_BATCHES;
    m[4].get_vote_batches.ref_count = TC_MSG_BATCH_REFS_MAX;
    ms_msg(&m[5], TC_MSG_PROPOSAL);
    m[5].proposal.pol_round = TC_MSG_POL_NONE;
    size_t want[6] = {5 + 4,
                      TC_MSG_VOTE_BATCH_SIZE_MAX,
                      5 + 4,
                      TC_MSG_PEERS_SIZE_MAX,
                      TC_MSG_GET_VOTE_BATCHES_SIZE_MAX,
                      0};
    for (int i = 0; i < 6; i++) {
        size_t len = 0;
        uint8_t *f = ms_encode(&m[i], &len);
        if (want[i] != 0)
            cr_assert_eq(len, want[i], "case %d: %zu bytes", i, len);
        tc_msg d;
        cr_assert_eq(tc_msg_decode(f, len, &d), 0, "case %d", i);
        uint8_t *f2 = ms_encode(&d, &len);
        cr_assert_arr_eq(f2, f, len, "case %d", i);
        tc_msg_deinit(&d);
        tc_msg_deinit(&m[i]);
        free(f);
        free(f2);
    }
}

/* ---- decode errors ---- */

Test(msg, frames_shorter_than_a_header_are_short)
{
    uint8_t f[5] = {0, 0, 0, 1, TC_MSG_GET_PEERS};
    for (size_t n = 0; n < 5; n++)
        expect_decode(f, n, TC_ESHORT);
    expect_decode(f, 5, 0); /* GET_PEERS: the smallest whole frame */
    expect_decode(NULL, 0, TC_ESHORT);
}

Test(msg, truncation_at_every_length)
{
    static const uint8_t types[] = {TC_MSG_HELLO,      TC_MSG_PEERS,           TC_MSG_TX,
                                    TC_MSG_VOTE_BATCH, TC_MSG_PROPOSAL,        TC_MSG_BLOCKS,
                                    TC_MSG_HEARTBEAT,  TC_MSG_HANDOFF,         TC_MSG_REJECT,
                                    TC_MSG_PRECOMMIT,  TC_MSG_GET_VOTE_BATCHES};
    for (size_t t = 0; t < sizeof(types); t++) {
        size_t len = 0;
        uint8_t *f = sample_frame(types[t], &len);
        uint8_t *cut = malloc(len);
        for (size_t k = TC_MSG_HEADER_SIZE; k < len; k++) {
            memcpy(cut, f, k);
            /* As received: the length field no longer matches the bytes. */
            expect_decode(cut, k, TC_ERANGE);
            /* With the length field fixed up, the payload itself ends early. */
            be32(cut, (uint32_t)(k - 4));
            expect_decode(cut, k, TC_ESHORT);
        }
        free(cut);
        free(f);
    }
}

Test(msg, a_trailing_byte_is_rejected_for_every_type)
{
    for (uint8_t type = 1; type < TC_MSG_TYPE_COUNT; type++) {
        if (!tc_msg_type_known(type))
            continue;
        size_t len = 0;
        uint8_t *f = sample_frame(type, &len);
        uint8_t *g = malloc(len + 1);
        memcpy(g, f, len);
        g[len] = 0;
        be32(g, (uint32_t)(len + 1 - 4));
        expect_decode(g, len + 1, TC_ETRAILING);
        free(g);
        free(f);
    }
}

Test(msg, a_length_field_that_disagrees_is_rejected)
{
    size_t len = 0;
    uint8_t *f = sample_frame(TC_MSG_STATUS, &len);
    const uint32_t wrong[] = {(uint32_t)len - 4 + 1, (uint32_t)len - 4 - 1, 0, UINT32_MAX,
                              (uint32_t)len};
    for (size_t i = 0; i < TC_ARRAY_LEN(wrong); i++) {
        be32(f, wrong[i]);
        expect_decode(f, len, TC_ERANGE);
    }
    be32(f, (uint32_t)len - 4);
    expect_decode(f, len, 0);
    free(f);
}

Test(msg, unknown_types_are_rejected)
{
    const uint8_t types[] = {0, TC_MSG_TYPE_COUNT, 0x80, 0xff};
    uint8_t payload[8] = {0};
    for (size_t i = 0; i < sizeof(types); i++) {
        size_t len = 0;
        uint8_t *f = frame_of(types[i], payload, sizeof(payload), &len);
        expect_decode(f, len, TC_ERANGE);
        free(f);
    }
    cr_assert_str_eq(tc_msg_type_name(0), "?");
    cr_assert_str_eq(tc_msg_type_name(TC_MSG_TYPE_COUNT), "?");
    cr_assert_str_eq(tc_msg_type_name(TC_MSG_GET_VOTE_BATCHES), "GET_VOTE_BATCHES");
    cr_assert_str_eq(tc_msg_type_name(TC_MSG_REJECT), "REJECT");
    cr_assert_str_eq(tc_msg_type_name(TC_MSG_GET_VOTES), "GET_VOTES");
    cr_assert_str_eq(tc_msg_type_name(TC_MSG_VOTES), "VOTES");
    cr_assert_str_eq(tc_msg_type_name(TC_MSG_GET_TXS), "GET_TXS");
    cr_assert_str_eq(tc_msg_type_name(TC_MSG_TXS), "TXS");
    cr_assert_str_eq(tc_msg_type_name(TC_MSG_GET_SNAPSHOT), "GET_SNAPSHOT");
    cr_assert_str_eq(tc_msg_type_name(TC_MSG_SNAPSHOT), "SNAPSHOT");
}

/* SNAPSHOT's data is copied out of the frame, and an empty one ("not served") decodes with no
 * data at all. */
Test(msg, snapshot_data_is_owned_and_may_be_empty)
{
    tc_msg m, d;
    size_t len = 0;
    ms_msg(&m, TC_MSG_SNAPSHOT);
    uint8_t *f = ms_encode(&m, &len);
    cr_assert_eq(tc_msg_decode(f, len, &d), 0);
    cr_assert_eq(d.snapshot.len, 5);
    cr_assert(d.snapshot.data != NULL && (d.snapshot.data < f || d.snapshot.data >= f + len),
              "the data is a copy, not a view into the frame");
    cr_assert_arr_eq(d.snapshot.data, "chunk", 5);
    tc_msg_deinit(&d);
    tc_msg_deinit(&m);
    free(f);
    tc_msg e = {.type = TC_MSG_SNAPSHOT};
    e.snapshot.height = 4;
    e.snapshot.chunk = TC_SNAPSHOT_MANIFEST;
    f = ms_encode(&e, &len);
    cr_assert_eq(len, TC_MSG_HEADER_SIZE + 8 + 4 + 4, "an empty SNAPSHOT is %zu bytes", len);
    cr_assert_eq(tc_msg_decode(f, len, &d), 0);
    cr_assert_eq(d.snapshot.len, 0);
    cr_assert_null(d.snapshot.data);
    cr_assert_eq(d.snapshot.chunk, TC_SNAPSHOT_MANIFEST);
    tc_msg_deinit(&d);
    free(f);
}

/* GET_VOTES names a height >= 1; VOTES holds 1..TC_MSG_VOTES_MAX votes, each of its height and
 * each valid as a vote (type, pol_round). */
Test(msg, votes_and_get_votes_strict_decode)
{
    uint8_t h0[8] = {0};
    size_t len = 0;
    uint8_t *f = frame_of(TC_MSG_GET_VOTES, h0, sizeof(h0), &len);
    expect_decode(f, len, TC_ERANGE); /* height 0 */
    free(f);
    f = sample_frame(TC_MSG_VOTES, &len);
    expect_decode(f, len, 0);
    /* Payload: u64 height @5, u32 count @13, votes @17 (each TC_VOTE_SIZE). */
    size_t v0 = TC_MSG_HEADER_SIZE + 12, v1 = v0 + TC_VOTE_SIZE;
    cr_assert_eq(len, v1 + TC_VOTE_SIZE, "two votes: %zu bytes", len);
    f[v1 + 1] ^= 1; /* the second vote's height differs from the message's */
    expect_decode(f, len, TC_ERANGE);
    f[v1 + 1] ^= 1;
    le32(f + v1 + 13, 2); /* the prevote's pol_round = its round */
    expect_decode(f, len, TC_ERANGE);
    le32(f + v1 + 13, 0);
    f[v0] = 3; /* not a vote type */
    expect_decode(f, len, TC_ERANGE);
    f[v0] = TC_VOTE_PRECOMMIT;
    le32(f + TC_MSG_HEADER_SIZE + 8, 3); /* a count beyond the bytes */
    expect_decode(f, len, TC_ESHORT);
    le32(f + TC_MSG_HEADER_SIZE + 8, TC_MSG_VOTES_MAX + 1);
    expect_decode(f, len, TC_ETOOLONG);
    free(f);
    uint8_t empty[12] = {12};
    f = frame_of(TC_MSG_VOTES, empty, sizeof(empty), &len);
    expect_decode(f, len, TC_ERANGE); /* no votes */
    free(f);
    /* tc_msg_check refuses what the decoder would. */
    tc_msg m;
    ms_msg(&m, TC_MSG_VOTES);
    cr_assert_eq(tc_msg_check(&m), 0);
    m.votes.votes[0].height = 13;
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE, "another height");
    m.votes.votes[0].height = 12;
    m.votes.votes[0].pol_round = 0;
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE, "a precommit with a pol_round");
    m.votes.votes[0].pol_round = TC_ROUND_NONE;
    uint32_t count = m.votes.vote_count;
    m.votes.vote_count = 0;
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE, "no votes");
    m.votes.vote_count = TC_MSG_VOTES_MAX + 1;
    cr_assert_eq(tc_msg_check(&m), TC_ETOOLONG);
    m.votes.vote_count = count;
    tc_msg_deinit(&m);
    ms_msg(&m, TC_MSG_GET_VOTES);
    m.get_votes.height = 0;
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE);
}

Test(msg, vote_type_must_match_the_frame_type)
{
    size_t len = 0;
    uint8_t *f = sample_frame(TC_MSG_PRECOMMIT, &len);
    f[4] = TC_MSG_PREVOTE; /* a precommit inside a PREVOTE frame */
    expect_decode(f, len, TC_ERANGE);
    free(f);
    f = sample_frame(TC_MSG_PREVOTE, &len);
    f[4] = TC_MSG_PRECOMMIT;
    expect_decode(f, len, TC_ERANGE);
    f[4] = TC_MSG_PREVOTE;
    expect_decode(f, len, 0);
    free(f);

    /* The encoder refuses the mismatch and writes nothing. */
    tc_msg m;
    ms_msg(&m, TC_MSG_PREVOTE);
    m.type = TC_MSG_PRECOMMIT;
    uint8_t buf[256];
    tc_writer w;
    tc_writer_init(&w, buf, sizeof(buf));
    cr_assert_eq(tc_msg_encode(&w, &m), TC_ERANGE);
    cr_assert_eq(w.len, 0);
    cr_assert_eq(w.err, 0);
}

/* Payload builders for over-limit and out-of-range cases. */
typedef struct {
    uint8_t b[512];
    size_t n;
} payload;

static void p_u32(payload *p, uint32_t v)
{
    le32(p->b + p->n, v);
    p->n += 4;
}

static void p_u64(payload *p, uint64_t v)
{
    le64(p->b + p->n, v);
    p->n += 8;
}

static void p_bytes(payload *p, uint8_t fill, size_t n)
{
    memset(p->b + p->n, fill, n);
    p->n += n;
}

static void expect_payload(uint8_t type, const payload *p, int code)
{
    size_t len = 0;
    uint8_t *f = frame_of(type, p->b, p->n, &len);
    expect_decode(f, len, code);
    free(f);
}

Test(msg, counts_over_their_limits_are_too_long)
{
    payload p = {0};
    p_u32(&p, TC_MSG_PEERS_MAX + 1);
    expect_payload(TC_MSG_PEERS, &p, TC_ETOOLONG);

    p = (payload){0};
    p_u32(&p, 1);
    p_u32(&p, TC_MSG_ADDR_MAX + 1);
    p_bytes(&p, 'a', TC_MSG_ADDR_MAX + 1);
    expect_payload(TC_MSG_PEERS, &p, TC_ETOOLONG);

    p = (payload){0};
    p_u32(&p, 3);
    p_u32(&p, 5);
    p_u64(&p, 1);
    p_u32(&p, TC_MSG_VOTE_TXIDS_MAX + 1);
    expect_payload(TC_MSG_VOTE_BATCH, &p, TC_ETOOLONG);
    /* Within the limit but more than the bytes left: short, and nothing allocated. */
    p.n -= 4;
    p_u32(&p, TC_MSG_VOTE_TXIDS_MAX);
    expect_payload(TC_MSG_VOTE_BATCH, &p, TC_ESHORT);

    p = (payload){0};
    p_u32(&p, TC_MSG_BATCH_REFS_MAX + 1);
    expect_payload(TC_MSG_GET_VOTE_BATCHES, &p, TC_ETOOLONG);

    p = (payload){0};
    p_u32(&p, TC_MSG_BLOCKS_MAX + 1);
    expect_payload(TC_MSG_BLOCKS, &p, TC_ETOOLONG);

    p = (payload){0};
    p_u64(&p, 1);
    p_u32(&p, TC_MSG_BLOCKS_MAX + 1);
    expect_payload(TC_MSG_GET_BLOCKS, &p, TC_ETOOLONG);
    p.n -= 4;
    p_u32(&p, TC_MSG_BLOCKS_MAX);
    expect_payload(TC_MSG_GET_BLOCKS, &p, 0);

    p = (payload){0};
    p.b[p.n++] = TC_MSG_TX;
    p_u32(&p, (uint32_t)TC_ETX_DUST);
    p_u32(&p, TC_MSG_REASON_MAX + 1);
    p_bytes(&p, 'r', TC_MSG_REASON_MAX + 1);
    expect_payload(TC_MSG_REJECT, &p, TC_ETOOLONG);
}

Test(msg, hello_user_agent_limit)
{
    size_t len = 0;
    uint8_t *f = sample_frame(TC_MSG_HELLO, &len);
    size_t fixed = len - 13; /* everything before the user agent's bytes */
    uint8_t *g = malloc(fixed + TC_MSG_USER_AGENT_MAX + 1);
    memcpy(g, f, fixed);
    for (uint32_t n = TC_MSG_USER_AGENT_MAX; n <= TC_MSG_USER_AGENT_MAX + 1; n++) {
        le32(g + fixed - 4, n);
        memset(g + fixed, 'u', n);
        be32(g, (uint32_t)(fixed + n - 4));
        expect_decode(g, fixed + n, n <= TC_MSG_USER_AGENT_MAX ? 0 : TC_ETOOLONG);
    }
    free(g);
    free(f);
}

Test(msg, fields_outside_their_sets_are_out_of_range)
{
    size_t len = 0;
    uint8_t *f = sample_frame(TC_MSG_PROPOSAL, &len); /* height 10, round 3, pol_round 1 */
    le32(f + 5 + 8 + 4, 3);                           /* pol_round == round */
    expect_decode(f, len, TC_ERANGE);
    le32(f + 5 + 8 + 4, 7); /* pol_round > round */
    expect_decode(f, len, TC_ERANGE);
    le32(f + 5 + 8 + 4, TC_MSG_POL_NONE);
    expect_decode(f, len, 0);
    le64(f + 5, 11); /* proposal height != block height */
    expect_decode(f, len, TC_ERANGE);
    free(f);

    f = sample_frame(TC_MSG_REJECT, &len);
    f[5] = 0; /* rejected type */
    expect_decode(f, len, TC_ERANGE);
    f[5] = TC_MSG_TYPE_COUNT;
    expect_decode(f, len, TC_ERANGE);
    f[5] = TC_MSG_TX;
    le32(f + 6, 0); /* code must be negative */
    expect_decode(f, len, TC_ERANGE);
    le32(f + 6, 5);
    expect_decode(f, len, TC_ERANGE);
    le32(f + 6, (uint32_t)TC_EBADSIG);
    expect_decode(f, len, 0);
    f[len - 1] = '\n'; /* reason must be printable */
    expect_decode(f, len, TC_ERANGE);
    free(f);

    f = sample_frame(TC_MSG_HELLO, &len);
    f[len - 1] = 0x07;
    expect_decode(f, len, TC_ERANGE);
    free(f);

    f = sample_frame(TC_MSG_PEERS, &len);
    f[5 + 4 + 4] = ' '; /* addresses exclude spaces */
    expect_decode(f, len, TC_ERANGE);
    free(f);
    payload p = {0};
    p_u32(&p, 1);
    p_u32(&p, 0);        /* an empty address, */
    p_bytes(&p, 'x', 8); /* with bytes after it so the count passes its size check */
    expect_payload(TC_MSG_PEERS, &p, TC_ERANGE);

    p = (payload){0};
    p_u64(&p, 5);
    p_u32(&p, 0); /* asks for no blocks */
    expect_payload(TC_MSG_GET_BLOCKS, &p, TC_ERANGE);
}

Test(msg, blocks_certificate_height_must_match_its_block)
{
    tc_msg m;
    ms_msg(&m, TC_MSG_BLOCKS);
    size_t len = 0;
    uint8_t *f = ms_encode(&m, &len);
    tc_writer w;
    tc_writer_init(&w, NULL, 0);
    tc_block_encode(&w, &m.blocks.entries[0].block);
    size_t at = TC_MSG_HEADER_SIZE + 4 + w.len; /* first certificate's height */
    le64(f + at, 999);
    expect_decode(f, len, TC_ERANGE);
    le64(f + at, 20);
    expect_decode(f, len, 0);
    free(f);

    m.blocks.entries[1].commit.height = 5; /* the encoder refuses it too */
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE);
    tc_msg_deinit(&m);
}

Test(msg, encoder_checks_mirror_the_decoder)
{
    tc_msg m;
    memset(&m, 0, sizeof(m));
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE, "type 0");
    m.type = TC_MSG_TYPE_COUNT;
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE);
    ms_msg(&m, TC_MSG_PEERS);
    m.peers.addr_count = TC_MSG_PEERS_MAX + 1;
    cr_assert_eq(tc_msg_check(&m), TC_ETOOLONG);
    m.peers.addr_count = 1;
    m.peers.addrs[0][0] = 0;
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE, "empty address");
    ms_msg(&m, TC_MSG_HELLO);
    m.hello.user_agent_len = TC_MSG_USER_AGENT_MAX + 1;
    cr_assert_eq(tc_msg_check(&m), TC_ETOOLONG);
    ms_msg(&m, TC_MSG_GET_BLOCKS);
    m.get_blocks.count = 0;
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE);
    m.get_blocks.count = TC_MSG_BLOCKS_MAX + 1;
    cr_assert_eq(tc_msg_check(&m), TC_ETOOLONG);
    ms_msg(&m, TC_MSG_REJECT);
    m.reject.code = 0;
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE);
    uint8_t *out = (uint8_t *)&m;
    size_t n = 1;
    cr_assert_eq(tc_msg_encode_alloc(&m, &out, &n), TC_ERANGE);
    cr_assert_null(out);
    cr_assert_eq(n, 0);
    ms_msg(&m, TC_MSG_VOTE_BATCH);
    m.vote_batch.txid_count = TC_MSG_VOTE_TXIDS_MAX + 1;
    cr_assert_eq(tc_msg_check(&m), TC_ETOOLONG);
    m.vote_batch.txid_count = 4;
    tc_msg_deinit(&m);
}

Test(msg, encode_into_a_small_buffer_fails_sticky)
{
    tc_msg m;
    ms_msg(&m, TC_MSG_HELLO);
    size_t need = tc_msg_encoded_size(&m);
    cr_assert_eq(need, TC_MSG_HELLO_SIZE_MAX - TC_MSG_USER_AGENT_MAX + 13);
    uint8_t *buf = malloc(need);
    tc_writer w;
    tc_writer_init(&w, buf, need - 1);
    cr_assert_eq(tc_msg_encode(&w, &m), TC_EENCODE);
    cr_assert_eq(w.err, TC_EENCODE);
    cr_assert_eq(w.len, need, "the writer still counts the room needed");
    tc_writer_init(&w, buf, need);
    cr_assert_eq(tc_msg_encode(&w, &m), 0);
    cr_assert_eq(w.len, need);
    expect_decode(buf, need, 0);
    free(buf);
}

Test(msg, two_frames_append_to_one_writer)
{
    tc_msg a;
    tc_msg b;
    ms_msg(&a, TC_MSG_PING);
    ms_msg(&b, TC_MSG_STATUS);
    uint8_t buf[128];
    tc_writer w;
    tc_writer_init(&w, buf, sizeof(buf));
    cr_assert_eq(tc_msg_encode(&w, &a), 0);
    size_t first = w.len;
    cr_assert_eq(tc_msg_encode(&w, &b), 0);
    expect_decode(buf, first, 0);
    expect_decode(buf + first, w.len - first, 0);
    cr_assert_eq(buf[first + 3], 8 + 32 + 4 + 1, "the second prefix was patched in place");
}

/* ---- frame-size pre-check ---- */

Test(msg, frame_check_before_allocation)
{
    tc_profile p;
    tc_profile_get(&p, TC_NET_TESTNET);
    cr_assert_eq(p.frame_size_max, TC_MSG_FRAME_SPEC_MAX);
    uint8_t h[4];
    size_t n = 123;
    be32(h, p.frame_size_max - 4); /* exactly the largest frame */
    cr_assert_eq(tc_msg_frame_check(h, &p, &n), 0);
    cr_assert_eq(n, p.frame_size_max);
    be32(h, p.frame_size_max - 3);
    cr_assert_eq(tc_msg_frame_check(h, &p, &n), TC_ETOOLONG);
    cr_assert_eq(n, 0);
    be32(h, UINT32_MAX); /* would overflow a 32-bit "+ 4" */
    cr_assert_eq(tc_msg_frame_check(h, &p, &n), TC_ETOOLONG);
    be32(h, 0);
    cr_assert_eq(tc_msg_frame_check(h, &p, &n), TC_ESHORT);
    be32(h, 1);
    cr_assert_eq(tc_msg_frame_check(h, &p, &n), 0);
    cr_assert_eq(n, 5);
    p.frame_size_max = 4096; /* the bound is the profile's, not TC_MSG_FRAME_SPEC_MAX */
    be32(h, 4092);
    cr_assert_eq(tc_msg_frame_check(h, &p, &n), 0);
    be32(h, 4093);
    cr_assert_eq(tc_msg_frame_check(h, &p, &n), TC_ETOOLONG);
}

/* ---- signed objects and ids ---- */

Test(msg, auth_hash_is_hello_tag_over_nonce_and_key)
{
    uint8_t nonce[TC_MSG_NONCE_SIZE];
    memset(nonce, 0x42, sizeof(nonce));
    tc_keypair kp;
    ms_keypair(&kp, 1);
    uint8_t buf[64];
    memcpy(buf, nonce, 32);
    memcpy(buf + 32, kp.pub.b, 32);
    tc_hash want;
    tc_hash got;
    tc_hash_tagged(&want, TC_TAG_HELLO, buf, sizeof(buf));
    tc_msg_auth_hash(nonce, &kp.pub, &got);
    cr_assert_arr_eq(got.b, want.b, TC_HASH_SIZE);
    tc_sig sig;
    tc_sign(TC_SIG_ED25519, &kp, &got, &sig);
    tc_verifier v = {.scheme = TC_SIG_ED25519};
    cr_assert_eq(tc_verify(&v, &kp.pub, &got, &sig), 0);
    nonce[0] ^= 1; /* another peer's nonce: the signature does not carry over */
    tc_msg_auth_hash(nonce, &kp.pub, &got);
    cr_assert_eq(tc_verify(&v, &kp.pub, &got, &sig), TC_EBADSIG);
}

Test(msg, vote_batch_signature_covers_everything_but_itself)
{
    tc_msg m;
    ms_msg(&m, TC_MSG_VOTE_BATCH);
    tc_keypair kp;
    ms_keypair(&kp, 5);
    tc_verifier v = {.scheme = TC_SIG_ED25519};
    tc_hash h0;
    tc_hash h1;
    tc_msg_vote_batch_sign_hash(&m.vote_batch, &h0);
    cr_assert_eq(tc_verify(&v, &kp.pub, &h0, &m.vote_batch.sig), 0);
    /* The hash is H(tc/votebatch, frame payload without the signature). */
    size_t len = 0;
    uint8_t *f = ms_encode(&m, &len);
    tc_hash want;
    tc_hash_tagged(&want, TC_TAG_VOTEBATCH, f + 5, len - 5 - TC_SIG_SIZE);
    cr_assert_arr_eq(h0.b, want.b, TC_HASH_SIZE);
    free(f);
    m.vote_batch.sig.b[0] ^= 1;
    tc_msg_vote_batch_sign_hash(&m.vote_batch, &h1);
    cr_assert_arr_eq(h1.b, h0.b, TC_HASH_SIZE, "the signature is not signed");
    m.vote_batch.txids[2].b[5] ^= 1;
    tc_msg_vote_batch_sign_hash(&m.vote_batch, &h1);
    cr_assert(memcmp(h1.b, h0.b, TC_HASH_SIZE) != 0, "a txid is signed");
    m.vote_batch.txids[2].b[5] ^= 1;
    m.vote_batch.seq++;
    tc_msg_vote_batch_sign_hash(&m.vote_batch, &h1);
    cr_assert(memcmp(h1.b, h0.b, TC_HASH_SIZE) != 0, "the sequence number is signed");
    tc_msg_deinit(&m);
}

Test(msg, proposal_signature_binds_height_round_pol_and_block)
{
    tc_msg m;
    ms_msg(&m, TC_MSG_PROPOSAL);
    tc_keypair kp;
    ms_keypair(&kp, 1);
    tc_verifier v = {.scheme = TC_SIG_ED25519};
    tc_hash h0;
    tc_hash h1;
    tc_msg_proposal_sign_hash(&m.proposal, &h0);
    cr_assert_eq(tc_verify(&v, &kp.pub, &h0, &m.proposal.sig), 0);
    uint8_t buf[48];
    tc_hash block;
    tc_block_hash(&m.proposal.block.header, &block);
    le64(buf, 10);
    le32(buf + 8, 3);
    le32(buf + 12, 1);
    memcpy(buf + 16, block.b, 32);
    tc_hash want;
    tc_hash_tagged(&want, TC_TAG_PROPOSAL, buf, sizeof(buf));
    cr_assert_arr_eq(h0.b, want.b, TC_HASH_SIZE);
    m.proposal.pol_round = TC_MSG_POL_NONE;
    tc_msg_proposal_sign_hash(&m.proposal, &h1);
    cr_assert(memcmp(h1.b, h0.b, TC_HASH_SIZE) != 0);
    m.proposal.pol_round = 1;
    m.proposal.block.header.time_ms++;
    tc_msg_proposal_sign_hash(&m.proposal, &h1);
    cr_assert(memcmp(h1.b, h0.b, TC_HASH_SIZE) != 0, "the block hash is signed");
    tc_msg_deinit(&m);
}

Test(msg, heartbeat_signature)
{
    tc_msg m;
    ms_msg(&m, TC_MSG_HEARTBEAT);
    tc_verifier v = {.scheme = TC_SIG_ED25519};
    tc_hash h;
    tc_msg_heartbeat_sign_hash(&m.heartbeat, &h);
    cr_assert_eq(tc_verify(&v, &m.heartbeat.pubkey, &h, &m.heartbeat.sig), 0);
    size_t len = 0;
    uint8_t *f = ms_encode(&m, &len);
    tc_hash want;
    tc_hash_tagged(&want, TC_TAG_HEARTBEAT, f + 5, len - 5 - TC_SIG_SIZE);
    cr_assert_arr_eq(h.b, want.b, TC_HASH_SIZE);
    free(f);
    m.heartbeat.time_ms++;
    tc_msg_heartbeat_sign_hash(&m.heartbeat, &h);
    cr_assert_eq(tc_verify(&v, &m.heartbeat.pubkey, &h, &m.heartbeat.sig), TC_EBADSIG);
}

Test(msg, frame_type_needs_the_type_byte)
{
    size_t len = 0;
    uint8_t *f = sample_frame(TC_MSG_TX, &len);
    cr_assert_eq(tc_msg_frame_type(f, len), TC_MSG_TX);
    cr_assert_eq(tc_msg_frame_type(f, 4), 0, "no type byte yet");
    free(f);
}

/* IHAVE / IWANT (PROTOCOL 10.2): at least one id, at most TC_MSG_INV_MAX, each of a type that
 * can be announced. */
Test(msg, announcements_are_checked)
{
    for (uint8_t type = TC_MSG_IHAVE; type <= TC_MSG_IWANT; type++) {
        uint8_t empty[4] = {0, 0, 0, 0};
        size_t len = 0;
        uint8_t *f = frame_of(type, empty, sizeof(empty), &len);
        expect_decode(f, len, TC_ERANGE);
        free(f);
        uint8_t bad[4 + TC_MSG_INV_SIZE] = {1, 0, 0, 0, TC_MSG_PREVOTE};
        f = frame_of(type, bad, sizeof(bad), &len);
        expect_decode(f, len, TC_ERANGE);
        free(f);
        uint8_t ok[4 + TC_MSG_INV_SIZE] = {1, 0, 0, 0, TC_MSG_PROPOSAL};
        f = frame_of(type, ok, sizeof(ok), &len);
        expect_decode(f, len, 0);
        free(f);
        uint8_t many[4] = {(TC_MSG_INV_MAX + 1) & 0xff, (TC_MSG_INV_MAX + 1) >> 8, 0, 0};
        f = frame_of(type, many, sizeof(many), &len);
        expect_decode(f, len, TC_ETOOLONG);
        free(f);
        tc_msg m = {.type = type};
        cr_assert_eq(tc_msg_check(&m), TC_ERANGE, "no id");
        m.invs.count = TC_MSG_INV_MAX + 1;
        cr_assert_eq(tc_msg_check(&m), TC_ETOOLONG);
    }
    cr_assert(!tc_msg_inv_type_ok(TC_MSG_GET_TXS) && !tc_msg_inv_type_ok(TC_MSG_TXS),
              "carried bodies are asked for, not announced");
    cr_assert(tc_msg_inv_type_ok(TC_MSG_TX) && tc_msg_inv_type_ok(TC_MSG_VOTE_BATCH) &&
              tc_msg_inv_type_ok(TC_MSG_PROPOSAL));
    cr_assert(!tc_msg_inv_type_ok(TC_MSG_PREVOTE) && !tc_msg_inv_type_ok(0));
}

/* The ids read from a frame's bytes equal the ids of the decoded message. */
Test(msg, frame_ids_match_the_decoded_messages)
{
    tc_msg m;
    ms_msg(&m, TC_MSG_VOTE_BATCH);
    size_t len = 0;
    uint8_t *f = ms_encode(&m, &len);
    tc_hash a, b;
    cr_assert_eq(tc_msg_frame_batch_hash(f, len, &a), 0);
    tc_msg_vote_batch_sign_hash(&m.vote_batch, &b);
    cr_assert_arr_eq(a.b, b.b, TC_HASH_SIZE, "a batch's id is its signed hash");
    cr_assert_eq(tc_msg_frame_proposal_id(f, len, &a), TC_ERANGE, "not a proposal");
    cr_assert_eq(tc_msg_frame_batch_hash(f, 20, &a), TC_ERANGE, "too short");
    free(f);
    tc_msg_deinit(&m);
    ms_msg(&m, TC_MSG_PROPOSAL);
    f = ms_encode(&m, &len);
    cr_assert_eq(tc_msg_frame_proposal_id(f, len, &a), 0);
    uint8_t buf[8 + 4 + 4 + TC_SIG_SIZE];
    tc_writer w;
    tc_writer_init(&w, buf, sizeof(buf));
    tc_put_u64(&w, m.proposal.height);
    tc_put_u32(&w, m.proposal.round);
    tc_put_u32(&w, m.proposal.pol_round);
    tc_put_raw(&w, m.proposal.sig.b, TC_SIG_SIZE);
    cr_assert_eq(w.len, sizeof(buf));
    tc_hash_tagged(&b, TC_TAG_PROPOSAL_ID, buf, sizeof(buf));
    cr_assert_arr_eq(a.b, b.b, TC_HASH_SIZE, "the documented construction");
    cr_assert_eq(tc_msg_frame_batch_hash(f, len, &a), TC_ERANGE, "not a batch");
    free(f);
    tc_msg_deinit(&m);
}

/* GET_TXS (PROTOCOL 10.2): 1..TC_MSG_GET_TXS_MAX txids; every error path of the decoder and the
 * same rules in tc_msg_check. */
Test(msg, get_txs_is_checked)
{
    uint8_t empty[4] = {0, 0, 0, 0};
    size_t len = 0;
    uint8_t *f = frame_of(TC_MSG_GET_TXS, empty, sizeof(empty), &len);
    expect_decode(f, len, TC_ERANGE); /* asks for nothing */
    free(f);
    uint8_t many[4] = {(TC_MSG_GET_TXS_MAX + 1) & 0xff, (TC_MSG_GET_TXS_MAX + 1) >> 8, 0, 0};
    f = frame_of(TC_MSG_GET_TXS, many, sizeof(many), &len);
    expect_decode(f, len, TC_ETOOLONG);
    free(f);
    uint8_t cut[4 + TC_HASH_SIZE + 5] = {2, 0, 0, 0}; /* two txids announced, one and a bit sent */
    f = frame_of(TC_MSG_GET_TXS, cut, sizeof(cut), &len);
    expect_decode(f, len, TC_ESHORT);
    free(f);
    uint8_t extra[4 + TC_HASH_SIZE + 1] = {1, 0, 0, 0};
    f = frame_of(TC_MSG_GET_TXS, extra, sizeof(extra), &len);
    expect_decode(f, len, TC_ETRAILING);
    free(f);
    uint8_t one[4 + TC_HASH_SIZE] = {1, 0, 0, 0, 0x77};
    f = frame_of(TC_MSG_GET_TXS, one, sizeof(one), &len);
    tc_msg d;
    cr_assert_eq(tc_msg_decode(f, len, &d), 0);
    cr_assert_eq(d.get_txs.count, 1, "one txid, got %u", d.get_txs.count);
    cr_assert_eq(d.get_txs.txids[0].b[0], 0x77, "the txid's first byte is 0x77");
    tc_msg_deinit(&d);
    cr_assert_eq(d.type, 0, "deinit empties the message");
    free(f);
    tc_msg m = {.type = TC_MSG_GET_TXS};
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE, "no txid");
    m.get_txs.count = TC_MSG_GET_TXS_MAX + 1;
    cr_assert_eq(tc_msg_check(&m), TC_ETOOLONG);
    cr_assert_eq(tc_peer_category_of(TC_MSG_GET_TXS), TC_PEER_CAT_SYNC);
}

/* TXS: a last flag of 0 or 1, then 0..TC_MSG_TXS_MAX transactions, each decoded by tc_tx_read;
 * an empty answer (the sender holds none) is valid. */
Test(msg, txs_is_checked)
{
    uint8_t none[5] = {1, 0, 0, 0, 0};
    size_t len = 0;
    uint8_t *f = frame_of(TC_MSG_TXS, none, sizeof(none), &len);
    tc_msg d;
    cr_assert_eq(tc_msg_decode(f, len, &d), 0, "an empty answer decodes");
    cr_assert_eq(d.txs.last, 1);
    cr_assert_eq(d.txs.count, 0);
    cr_assert_null(d.txs.txs);
    tc_msg_deinit(&d);
    free(f);
    uint8_t flag[5] = {2, 0, 0, 0, 0};
    f = frame_of(TC_MSG_TXS, flag, sizeof(flag), &len);
    expect_decode(f, len, TC_ERANGE); /* last is 0 or 1 */
    free(f);
    uint8_t many[5] = {0, (TC_MSG_TXS_MAX + 1) & 0xff, (TC_MSG_TXS_MAX + 1) >> 8, 0, 0};
    f = frame_of(TC_MSG_TXS, many, sizeof(many), &len);
    expect_decode(f, len, TC_ETOOLONG);
    free(f);
    /* A count the bytes left cannot hold is refused before anything is allocated. */
    uint8_t big[5 + TC_MSG_TX_MIN_SIZE] = {0, 2, 0, 0, 0};
    f = frame_of(TC_MSG_TXS, big, sizeof(big), &len);
    expect_decode(f, len, TC_ESHORT);
    free(f);
    uint8_t short_flag[1] = {1};
    f = frame_of(TC_MSG_TXS, short_flag, sizeof(short_flag), &len);
    expect_decode(f, len, TC_ESHORT);
    free(f);
    /* A body that does not decode fails the frame with the transaction decoder's code. */
    tc_msg m;
    ms_msg(&m, TC_MSG_TXS);
    f = ms_encode(&m, &len);
    f[TC_MSG_HEADER_SIZE + 1 + 4] = 9; /* the first body's version */
    cr_assert_neq(tc_msg_decode(f, len, &d), 0, "a bad version fails the frame");
    cr_assert_eq(d.type, 0, "a refused frame leaves the message empty");
    f[TC_MSG_HEADER_SIZE + 1 + 4] = 1;
    cr_assert_eq(tc_msg_decode(f, len, &d), 0);
    cr_assert_eq(d.txs.count, 2, "two bodies, got %u", d.txs.count);
    cr_assert(tc_tx_equal(&d.txs.txs[1], &m.txs.txs[1]), "the second body round-trips");
    tc_msg_deinit(&d);
    uint8_t *g = tc_malloc(len + 1);
    memcpy(g, f, len);
    g[len] = 0;
    g[0] = 0, g[1] = 0, g[2] = (uint8_t)((len - 3) >> 8), g[3] = (uint8_t)(len - 3);
    expect_decode(g, len + 1, TC_ETRAILING);
    free(g);
    free(f);
    m.txs.last = 2;
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE, "last 2");
    m.txs.last = 0;
    m.txs.count = TC_MSG_TXS_MAX + 1;
    cr_assert_eq(tc_msg_check(&m), TC_ETOOLONG);
    m.txs.count = 2;
    tc_msg_deinit(&m);
    tc_msg e = {.type = TC_MSG_TXS};
    e.txs.count = 1;
    cr_assert_eq(tc_msg_check(&e), TC_ERANGE, "a count without bodies");
    cr_assert_eq(tc_peer_category_of(TC_MSG_TXS), TC_PEER_CAT_SYNC);
}

/* ---- BUNDLE (PROTOCOL 10.9) ---- */

/* Appends one member frame (prefix, type, n payload bytes of value fill) at p; returns its size. */
static size_t put_member(uint8_t *p, uint8_t type, size_t n, uint8_t fill)
{
    be32(p, (uint32_t)(n + 1));
    p[4] = type;
    memset(p + TC_MSG_HEADER_SIZE, fill, n);
    return n + TC_MSG_HEADER_SIZE;
}

/* The bundle's layout, byte for byte: u32 count, then the members as whole frames, which the
 * decoded message points into (they are not copied). */
Test(msg, bundle_golden_bytes_and_members_point_into_the_frame)
{
    tc_msg m;
    ms_msg(&m, TC_MSG_BUNDLE);
    size_t len = 0;
    uint8_t *f = ms_encode(&m, &len);
    static const uint8_t want[] = {
        0, 0, 0, 18, TC_MSG_BUNDLE,     2,   0, 0, 0, 0, 0, 0, 3, TC_MSG_TX, 0xaa, 0xbb,
        0, 0, 0, 2,  TC_MSG_VOTE_BATCH, 0xcc};
    cr_assert_eq(len, sizeof(want), "a 22-byte frame, got %zu", len);
    cr_assert_arr_eq(f, want, sizeof(want));
    tc_msg d;
    cr_assert_eq(tc_msg_decode(f, len, &d), 0);
    cr_assert_eq(d.bundle.members[0].frame, f + 9, "the first member starts after the count");
    cr_assert_eq(d.bundle.members[1].frame, f + 16, "the second after the first");
    tc_msg_deinit(&d);
    cr_assert_eq(d.type, 0, "deinit empties");
    tc_msg_deinit(&m);
    free(f);
}

/* A full bundle: TC_MSG_BUNDLE_MAX members whose bytes reach TC_MSG_BUNDLE_BYTES_MAX exactly. */
Test(msg, a_full_bundle_round_trips)
{
    size_t each = TC_MSG_BUNDLE_BYTES_MAX / TC_MSG_BUNDLE_MAX;
    uint8_t *bytes = malloc(TC_MSG_BUNDLE_BYTES_MAX);
    cr_assert_not_null(bytes);
    tc_msg m = {.type = TC_MSG_BUNDLE};
    m.bundle.count = TC_MSG_BUNDLE_MAX;
    m.bundle.members = calloc(TC_MSG_BUNDLE_MAX, sizeof(tc_msg_bundle_member));
    cr_assert_not_null(m.bundle.members);
    for (uint32_t i = 0; i < TC_MSG_BUNDLE_MAX; i++) {
        uint8_t type = i % 2 == 0 ? TC_MSG_TX : TC_MSG_VOTE_BATCH;
        uint8_t *p = bytes + i * each;
        cr_assert_eq(put_member(p, type, each - TC_MSG_HEADER_SIZE, (uint8_t)i), each);
        m.bundle.members[i] = (tc_msg_bundle_member){.frame = p, .len = (uint32_t)each};
    }
    uint8_t *f = NULL;
    size_t len = 0;
    cr_assert_eq(tc_msg_encode_alloc(&m, &f, &len), 0);
    cr_assert_eq(len, TC_MSG_HEADER_SIZE + 4 + TC_MSG_BUNDLE_BYTES_MAX);
    tc_msg d;
    cr_assert_eq(tc_msg_decode(f, len, &d), 0);
    cr_assert_eq(d.bundle.count, TC_MSG_BUNDLE_MAX);
    cr_assert_eq(d.bundle.members[255].len, each);
    cr_assert_eq(d.bundle.members[255].frame[TC_MSG_HEADER_SIZE], 255, "the last member's fill");
    tc_msg_deinit(&d);
    /* One byte more in the last member passes the byte bound: the encoder refuses it. */
    m.bundle.members[255].len = (uint32_t)each + 1;
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE, "its prefix no longer matches its length");
    free(f);
    free(m.bundle.members);
    free(bytes);
}

/* Every way a bundle's own framing is wrong, each with its code. */
Test(msg, bundle_decode_errors)
{
    uint8_t *pay = calloc(1, TC_MSG_BUNDLE_BYTES_MAX + 64);
    cr_assert_not_null(pay);
    size_t len = 0;
    uint8_t *f;
    /* No member. */
    f = frame_of(TC_MSG_BUNDLE, pay, 4, &len);
    expect_decode(f, len, TC_ERANGE);
    free(f);
    /* More members than allowed. */
    le32(pay, TC_MSG_BUNDLE_MAX + 1);
    f = frame_of(TC_MSG_BUNDLE, pay, 4 + (TC_MSG_BUNDLE_MAX + 1) * 6, &len);
    expect_decode(f, len, TC_ETOOLONG);
    free(f);
    /* A count the bytes cannot hold (each member takes at least a header). */
    le32(pay, 3);
    size_t n = 4 + put_member(pay + 4, TC_MSG_TX, 0, 0);
    f = frame_of(TC_MSG_BUNDLE, pay, n, &len);
    expect_decode(f, len, TC_ESHORT);
    free(f);
    /* A member whose length prefix is zero: it has no type. */
    le32(pay, 1);
    memset(pay + 4, 0, 8);
    f = frame_of(TC_MSG_BUNDLE, pay, 4 + 8, &len);
    expect_decode(f, len, TC_ERANGE);
    free(f);
    /* A member whose prefix runs past the bundle. */
    n = 4 + put_member(pay + 4, TC_MSG_TX, 3, 1);
    be32(pay + 4, 9);
    f = frame_of(TC_MSG_BUNDLE, pay, n, &len);
    expect_decode(f, len, TC_ESHORT);
    free(f);
    /* Members of types that may not be bundled, a bundle among them. */
    static const uint8_t refused[] = {TC_MSG_PROPOSAL, TC_MSG_PREVOTE, TC_MSG_BUNDLE, 0, 200};
    for (size_t i = 0; i < TC_ARRAY_LEN(refused); i++) {
        n = 4 + put_member(pay + 4, refused[i], 2, 1);
        f = frame_of(TC_MSG_BUNDLE, pay, n, &len);
        expect_decode(f, len, TC_ERANGE);
        free(f);
    }
    /* A byte after the last member. */
    n = 4 + put_member(pay + 4, TC_MSG_VOTE_BATCH, 2, 1);
    f = frame_of(TC_MSG_BUNDLE, pay, n + 1, &len);
    expect_decode(f, len, TC_ETRAILING);
    free(f);
    f = frame_of(TC_MSG_BUNDLE, pay, n, &len);
    expect_decode(f, len, 0);
    free(f);
    /* Two members one byte over the byte bound together. */
    le32(pay, 2);
    size_t half = TC_MSG_BUNDLE_BYTES_MAX / 2;
    n = 4 + put_member(pay + 4, TC_MSG_TX, half - TC_MSG_HEADER_SIZE, 1);
    n += put_member(pay + n, TC_MSG_TX, half - TC_MSG_HEADER_SIZE + 1, 2);
    f = frame_of(TC_MSG_BUNDLE, pay, n, &len);
    expect_decode(f, len, TC_ETOOLONG);
    free(f);
    f = frame_of(TC_MSG_BUNDLE, pay, n - 1, &len);
    expect_decode(f, len, TC_ESHORT);
    free(f);
    free(pay);
    cr_assert(tc_msg_bundle_type_ok(TC_MSG_TX) && tc_msg_bundle_type_ok(TC_MSG_VOTE_BATCH));
    cr_assert(!tc_msg_bundle_type_ok(TC_MSG_PROPOSAL) && !tc_msg_bundle_type_ok(TC_MSG_BUNDLE) &&
              !tc_msg_bundle_type_ok(0));
}

/* The encoder refuses what the decoder would. */
Test(msg, bundle_encode_checks)
{
    uint8_t bytes[32];
    tc_msg_bundle_member one = {.frame = bytes,
                                .len = (uint32_t)put_member(bytes, TC_MSG_TX, 2, 0)};
    tc_msg m = {.type = TC_MSG_BUNDLE};
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE, "no member");
    m.bundle.count = TC_MSG_BUNDLE_MAX + 1;
    cr_assert_eq(tc_msg_check(&m), TC_ETOOLONG, "too many members");
    m.bundle.count = 1;
    m.bundle.members = &one;
    cr_assert_eq(tc_msg_check(&m), 0, "one TX member");
    one.len = 4;
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE, "shorter than a header");
    one.len = 8;
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE, "its prefix says 7");
    one.len = 7;
    bytes[4] = TC_MSG_PROPOSAL;
    cr_assert_eq(tc_msg_check(&m), TC_ERANGE, "a proposal travels alone");
    bytes[4] = TC_MSG_VOTE_BATCH;
    cr_assert_eq(tc_msg_check(&m), 0, "a VOTE_BATCH member");
    cr_assert_str_eq(tc_msg_type_name(TC_MSG_BUNDLE), "BUNDLE");
}
