/* test_block.c — blocks and consensus objects: encodings, decoders' error paths, hashes, vote
 * signatures, evidence shape. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "support.h"

static const tc_verifier ed = {.scheme = TC_SIG_ED25519};

static void init(void)
{
    cr_assert_eq(tc_crypto_init(), 0);
}

TestSuite(block, .init = init);

/* ---- builders ---- */

static void fill_hash(tc_hash *h, uint8_t v)
{
    memset(h->b, v, TC_HASH_SIZE);
}

static tc_vote make_vote(uint8_t type, uint64_t height, uint32_t round, uint8_t block,
                         uint32_t validator, uint64_t key);

/* A vote by validator (signed with key validator) with the given pol_round. */
static tc_vote make_pol_vote(uint8_t type, uint64_t height, uint32_t round, uint32_t pol,
                             uint8_t block, uint32_t validator)
{
    tc_vote v = make_vote(type, height, round, block, validator, validator);
    tc_keypair kp;
    v.pol_round = pol;
    ts_keypair(&kp, validator);
    tc_vote_sign(&v, TC_SIG_ED25519, &kp);
    return v;
}

static tc_vote make_vote(uint8_t type, uint64_t height, uint32_t round, uint8_t block,
                         uint32_t validator, uint64_t key)
{
    tc_vote v;
    tc_keypair kp;
    memset(&v, 0, sizeof(v));
    v.type = type;
    v.height = height;
    v.round = round;
    v.pol_round = TC_ROUND_NONE;
    fill_hash(&v.block, block);
    v.validator = validator;
    ts_keypair(&kp, key);
    tc_vote_sign(&v, TC_SIG_ED25519, &kp);
    return v;
}

static tc_evidence make_evidence(void)
{
    tc_evidence e;
    tc_vote x = make_vote(TC_VOTE_PREVOTE, 7, 1, 0xbb, 2, 2);
    tc_vote y = make_vote(TC_VOTE_PREVOTE, 7, 1, 0xaa, 2, 2);
    tc_evidence_from_votes(&e, &x, &y);
    return e;
}

/* A commit with n entries for validators 0, 2, 4, ... (unsigned: only shape matters here). */
static void make_commit(tc_commit *c, uint32_t n)
{
    memset(c, 0, sizeof(*c));
    c->height = 41;
    c->round = 3;
    fill_hash(&c->block, 0x41);
    c->sig_count = n;
    c->sigs = n ? calloc(n, sizeof(*c->sigs)) : NULL;
    for (uint32_t i = 0; i < n; i++) {
        c->sigs[i].validator = 2 * i;
        memset(c->sigs[i].sig.b, (int)(i + 1), TC_SIG_SIZE);
    }
}

static void make_transfer(tc_tx *tx, uint32_t inputs, uint8_t salt)
{
    cr_assert_eq(tc_tx_init_alloc(tx, TC_TX_TRANSFER, inputs, 2), 0);
    for (uint32_t i = 0; i < inputs; i++) {
        fill_hash(&tx->inputs[i].prev.txid, salt);
        tx->inputs[i].prev.index = i;
        memset(tx->inputs[i].pub.b, salt + 1, TC_PUBKEY_SIZE);
        memset(tx->inputs[i].sig.b, salt + 2, TC_SIG_SIZE);
    }
    for (uint32_t i = 0; i < 2; i++) {
        tx->outputs[i].amount = 1000u * (i + 1) + salt;
        memset(tx->outputs[i].addr.b, salt + 3, TC_ADDR_HASH_SIZE);
    }
}

static void make_register(tc_tx *tx)
{
    make_transfer(tx, 1, 0x30);
    tx->kind = TC_TX_MN_REGISTER;
    memset(tx->mn_key.b, 0x31, TC_PUBKEY_SIZE);
    tx->mn_tier = TC_TIER_SILVER;
    tx->net_addr_len = 9;
    memcpy(tx->net_addr, "1.2.3.4:5", 9);
    memset(tx->mn_sig.b, 0x32, TC_SIG_SIZE);
}

static void make_fincert(tc_fincert *c, uint32_t epoch, uint32_t refs)
{
    memset(c, 0, sizeof(*c));
    c->epoch = epoch;
    c->bitmap_len = 2;
    c->bitmap = calloc(2, 1);
    c->bitmap[0] = 0x0b;
    c->bitmap[1] = 0x01;
    c->ref_count = refs;
    c->refs = refs ? calloc(refs, sizeof(*c->refs)) : NULL;
    for (uint32_t i = 0; i < refs; i++) {
        c->refs[i].validator = i;
        c->refs[i].seq = 100 + i;
    }
}

static void make_handoff(tc_handoff *h, uint32_t txids)
{
    tc_keypair kp;
    memset(h, 0, sizeof(*h));
    h->epoch = 4;
    h->validator = 1;
    h->txid_count = txids;
    h->txids = txids ? calloc(txids, sizeof(*h->txids)) : NULL;
    for (uint32_t i = 0; i < txids; i++)
        fill_hash(&h->txids[i], (uint8_t)(0x60 + i));
    ts_keypair(&kp, 1);
    tc_handoff_sign(h, TC_SIG_ED25519, &kp);
}

/* A block with something in every field and list; big = large enough to exercise the hash
 * chunking (a transaction over 2 KiB, many commit entries and evidence). */
static void make_block(tc_block *b, bool big)
{
    memset(b, 0, sizeof(*b));
    tc_block_header *h = &b->header;
    h->version = TC_BLOCK_VERSION;
    h->height = 42;
    h->round = 2;
    fill_hash(&h->parent, 0x11);
    h->time_ms = 1700000000123u;
    fill_hash(&h->tx_root, 0x12);
    fill_hash(&h->utxo_root, 0x13);
    fill_hash(&h->vset_hash, 0x14);
    h->proposer = 5;
    make_commit(&h->last_commit, big ? 100 : 3);
    h->evidence_count = big ? 20 : 2;
    h->evidence = calloc(h->evidence_count, sizeof(*h->evidence));
    for (uint32_t i = 0; i < h->evidence_count; i++) {
        h->evidence[i] = make_evidence();
        h->evidence[i].a.round = i;
        h->evidence[i].b.round = i;
    }
    b->tx_count = 3;
    b->txs = calloc(3, sizeof(*b->txs));
    make_transfer(&b->txs[0].tx, big ? 40 : 1, 0x20);
    make_register(&b->txs[1].tx);
    make_transfer(&b->txs[2].tx, 2, 0x40);
    for (uint32_t i = 0; i < 3; i++)
        make_fincert(&b->txs[i].cert, 4, big ? 300 : 2);
    b->reward_count = 2;
    b->rewards = calloc(2, sizeof(*b->rewards));
    for (uint32_t i = 0; i < 2; i++) {
        b->rewards[i].amount = 5000 + i;
        memset(b->rewards[i].addr.b, (int)(0x50 + i), TC_ADDR_HASH_SIZE);
    }
    b->handoff_count = 2;
    b->handoffs = calloc(2, sizeof(*b->handoffs));
    make_handoff(&b->handoffs[0], big ? 200 : 3);
    make_handoff(&b->handoffs[1], 0);
}

/* ---- encoding helpers ---- */

typedef struct {
    uint8_t *p;
    size_t n;
} buf_t;

#define ENCODE(out, fn, obj)                                                                       \
    do {                                                                                           \
        tc_writer w_;                                                                              \
        tc_writer_init(&w_, NULL, 0);                                                              \
        fn(&w_, obj);                                                                              \
        (out).n = w_.len;                                                                          \
        (out).p = malloc((out).n + 1);                                                             \
        tc_writer_init(&w_, (out).p, (out).n);                                                     \
        fn(&w_, obj);                                                                              \
        cr_assert_eq(tc_writer_finish(&w_, NULL), 0);                                              \
    } while (0)

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

static uint32_t get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- votes ---- */

Test(block, vote_round_trip_and_size)
{
    tc_vote v = make_vote(TC_VOTE_PRECOMMIT, 9, 4, 0x77, 3, 3);
    tc_vote back;
    buf_t e;
    ENCODE(e, tc_vote_encode, &v);
    cr_assert_eq(e.n, TC_VOTE_SIZE, "vote takes %zu bytes", e.n);
    cr_assert_eq(e.n, 117);
    cr_assert_eq(tc_vote_decode(&back, e.p, e.n), 0);
    cr_assert_eq(memcmp(&back, &v, sizeof(v)), 0);
    cr_assert_eq(e.p[0], TC_VOTE_PRECOMMIT);
    cr_assert_eq(e.p[1], 9, "height little-endian at offset 1");
    cr_assert_eq(get_u32le(e.p + 13), TC_ROUND_NONE, "a precommit's pol_round is none");
    free(e.p);
    /* A prevote carries its proof-of-lock round after the round. */
    tc_vote p = make_pol_vote(TC_VOTE_PREVOTE, 9, 4, 2, 0x77, 3);
    ENCODE(e, tc_vote_encode, &p);
    cr_assert_eq(get_u32le(e.p + 9), 4, "round at offset 9");
    cr_assert_eq(get_u32le(e.p + 13), 2, "pol_round at offset 13");
    cr_assert_eq(tc_vote_decode(&back, e.p, e.n), 0);
    cr_assert_eq(back.pol_round, 2);
    cr_assert_eq(memcmp(&back, &p, sizeof(p)), 0);
    free(e.p);
}

Test(block, vote_pol_round_rules)
{
    /* Below the round or none on a prevote; none on a precommit; anything else is refused. */
    struct {
        uint8_t type;
        uint32_t round, pol;
        int want;
    } cases[] = {
        {TC_VOTE_PREVOTE, 4, 3, 0},
        {TC_VOTE_PREVOTE, 4, 0, 0},
        {TC_VOTE_PREVOTE, 4, TC_ROUND_NONE, 0},
        {TC_VOTE_PREVOTE, 4, 4, TC_ERANGE},
        {TC_VOTE_PREVOTE, 4, 5, TC_ERANGE},
        {TC_VOTE_PREVOTE, 0, 0, TC_ERANGE},
        {TC_VOTE_PRECOMMIT, 4, TC_ROUND_NONE, 0},
        {TC_VOTE_PRECOMMIT, 4, 0, TC_ERANGE},
        {TC_VOTE_PRECOMMIT, 4, 3, TC_ERANGE},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        tc_vote v = make_pol_vote(cases[i].type, 9, cases[i].round, TC_ROUND_NONE, 0x77, 3);
        tc_vote back;
        buf_t e;
        ENCODE(e, tc_vote_encode, &v);
        put_le32(e.p + 13, cases[i].pol);
        memset(&back, 0xee, sizeof(back));
        cr_assert_eq(tc_vote_decode(&back, e.p, e.n), cases[i].want, "case %zu", i);
        if (cases[i].want != 0)
            cr_assert(all_zero(&back, sizeof(back)), "case %zu: output cleared", i);
        else
            cr_assert_eq(back.pol_round, cases[i].pol, "case %zu", i);
        v.pol_round = cases[i].pol;
        cr_assert_eq(tc_vote_pol_ok(&v), cases[i].want == 0, "case %zu: tc_vote_pol_ok", i);
        free(e.p);
    }
}

Test(block, vote_truncated_trailing_and_bad_type)
{
    tc_vote v = make_vote(TC_VOTE_PREVOTE, 9, 4, 0x77, 3, 3);
    tc_vote back;
    buf_t e;
    ENCODE(e, tc_vote_encode, &v);
    for (size_t n = 0; n < e.n; n++) {
        memset(&back, 0xee, sizeof(back));
        cr_assert_eq(tc_vote_decode(&back, e.p, n), TC_ESHORT, "prefix %zu", n);
        cr_assert(all_zero(&back, sizeof(back)), "output cleared at prefix %zu", n);
    }
    e.p[e.n] = 0;
    cr_assert_eq(tc_vote_decode(&back, e.p, e.n + 1), TC_ETRAILING);
    cr_assert(all_zero(&back, sizeof(back)));
    const uint8_t bad[] = {0, 3, 4, 255};
    for (size_t i = 0; i < sizeof(bad); i++) {
        e.p[0] = bad[i];
        cr_assert_eq(tc_vote_decode(&back, e.p, e.n), TC_ERANGE, "type %u", bad[i]);
        cr_assert(all_zero(&back, sizeof(back)));
    }
    free(e.p);
}

Test(block, vote_sign_and_verify)
{
    tc_keypair kp, other;
    ts_keypair(&kp, 3);
    ts_keypair(&other, 4);
    tc_vote v = make_vote(TC_VOTE_PRECOMMIT, 9, 4, 0x77, 3, 3);
    cr_assert_eq(tc_vote_verify(&v, &ed, &kp.pub), 0);
    cr_assert_eq(tc_vote_verify(&v, &ed, &other.pub), TC_EBADSIG, "wrong key");
    for (int field = 0; field < 6; field++) {
        tc_vote t = v;
        switch (field) {
        case 4:
            t.pol_round = 1;
            break;
        case 0:
            t.type = TC_VOTE_PREVOTE;
            break;
        case 1:
            t.height++;
            break;
        case 2:
            t.round++;
            break;
        case 3:
            t.block.b[31] ^= 1;
            break;
        default:
            t.validator++;
            break;
        }
        cr_assert_eq(tc_vote_verify(&t, &ed, &kp.pub), TC_EBADSIG, "field %d is signed", field);
    }
    /* The signed message is H(tc/vote, encoding without the signature). */
    uint8_t raw[TC_VOTE_SIZE];
    tc_writer w;
    tc_hash want, got;
    tc_writer_init(&w, raw, sizeof(raw));
    tc_vote_encode(&w, &v);
    tc_hash_tagged(&want, TC_TAG_VOTE, raw, TC_VOTE_SIZE - TC_SIG_SIZE);
    tc_vote_sign_hash(&v, &got);
    cr_assert_eq(memcmp(want.b, got.b, TC_HASH_SIZE), 0);
    /* The fast scheme works through the same path. */
    tc_verifier fast = {.scheme = TC_SIG_FAST};
    tc_vote_sign(&v, TC_SIG_FAST, &kp);
    cr_assert_eq(tc_vote_verify(&v, &fast, &kp.pub), 0);
    cr_assert_eq(tc_vote_verify(&v, &ed, &kp.pub), TC_EBADSIG);
}

Test(block, vote_nil)
{
    tc_vote v = make_vote(TC_VOTE_PREVOTE, 1, 0, 0, 0, 0);
    cr_assert(tc_vote_is_nil(&v));
    v.block.b[5] = 1;
    cr_assert_not(tc_vote_is_nil(&v));
}

/* ---- commits ---- */

Test(block, commit_round_trip_empty_and_full)
{
    for (uint32_t n = 0; n < 4; n++) {
        tc_commit c, back;
        buf_t e;
        make_commit(&c, n);
        ENCODE(e, tc_commit_encode, &c);
        cr_assert_eq(e.n, (size_t)TC_COMMIT_MIN_SIZE + n * TC_COMMIT_SIG_SIZE);
        cr_assert_eq(tc_commit_decode(&back, e.p, e.n), 0, "n = %u", n);
        cr_assert_eq(back.height, 41);
        cr_assert_eq(back.round, 3);
        cr_assert_eq(back.sig_count, n);
        for (uint32_t i = 0; i < n; i++) {
            cr_assert_eq(back.sigs[i].validator, 2 * i);
            cr_assert_eq(memcmp(&back.sigs[i], &c.sigs[i], sizeof(c.sigs[i])), 0);
        }
        tc_commit copy;
        cr_assert_eq(tc_commit_copy(&copy, &back), 0);
        cr_assert_eq(copy.sig_count, n);
        cr_assert(n == 0 || copy.sigs != back.sigs, "a deep copy");
        tc_commit_deinit(&copy);
        tc_commit_deinit(&back);
        tc_commit_deinit(&c);
        free(e.p);
    }
}

Test(block, commit_decode_errors)
{
    tc_commit c, back;
    buf_t e;
    make_commit(&c, 3);
    ENCODE(e, tc_commit_encode, &c);
    for (size_t n = 0; n < e.n; n++) {
        memset(&back, 0xee, sizeof(back));
        cr_assert_eq(tc_commit_decode(&back, e.p, n), TC_ESHORT, "prefix %zu", n);
        cr_assert(all_zero(&back, sizeof(back)), "prefix %zu", n);
    }
    e.p[e.n] = 9;
    cr_assert_eq(tc_commit_decode(&back, e.p, e.n + 1), TC_ETRAILING);
    cr_assert(all_zero(&back, sizeof(back)));

    /* Non-canonical order: entries 1 and 2 swapped (4, 2), then a duplicate (2, 2). */
    size_t first = TC_COMMIT_MIN_SIZE;
    put_le32(e.p + first + TC_COMMIT_SIG_SIZE, 4);
    put_le32(e.p + first + 2 * TC_COMMIT_SIG_SIZE, 2);
    cr_assert_eq(tc_commit_decode(&back, e.p, e.n), TC_ERANGE, "unsorted");
    cr_assert(all_zero(&back, sizeof(back)));
    put_le32(e.p + first + TC_COMMIT_SIG_SIZE, 2);
    cr_assert_eq(tc_commit_decode(&back, e.p, e.n), TC_ERANGE, "duplicate index");

    /* A count over the hard limit fails before the bytes are even looked at. */
    put_le32(e.p + TC_COMMIT_MIN_SIZE - 4, TC_COMMIT_SIGS_MAX + 1);
    cr_assert_eq(tc_commit_decode(&back, e.p, e.n), TC_ETOOLONG);
    put_le32(e.p + TC_COMMIT_MIN_SIZE - 4, UINT32_MAX);
    cr_assert_eq(tc_commit_decode(&back, e.p, e.n), TC_ETOOLONG);
    /* Within the limit but more than the bytes hold: short, still before allocating. */
    put_le32(e.p + TC_COMMIT_MIN_SIZE - 4, 4);
    cr_assert_eq(tc_commit_decode(&back, e.p, e.n), TC_ESHORT);
    cr_assert(all_zero(&back, sizeof(back)));
    tc_commit_deinit(&c);
    free(e.p);
}

Test(block, commit_vote_is_the_precommit)
{
    tc_commit c;
    tc_vote v;
    make_commit(&c, 3);
    tc_commit_vote(&c, 2, &v);
    cr_assert_eq(v.type, TC_VOTE_PRECOMMIT);
    cr_assert_eq(v.height, 41);
    cr_assert_eq(v.round, 3);
    cr_assert_eq(v.pol_round, TC_ROUND_NONE, "a precommit relies on no proof-of-lock");
    cr_assert_eq(v.validator, 4);
    cr_assert_eq(memcmp(v.block.b, c.block.b, TC_HASH_SIZE), 0);
    cr_assert_eq(memcmp(v.sig.b, c.sigs[2].sig.b, TC_SIG_SIZE), 0);
    tc_commit_deinit(&c);
}

/* ---- evidence ---- */

Test(block, evidence_round_trip_and_hash)
{
    tc_evidence ev = make_evidence(), back;
    buf_t e;
    ENCODE(e, tc_evidence_encode, &ev);
    cr_assert_eq(e.n, TC_EVIDENCE_SIZE);
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), 0);
    cr_assert_eq(memcmp(&back, &ev, sizeof(ev)), 0);
    tc_hash h, want;
    tc_evidence_hash(&ev, &h);
    tc_hash_tagged(&want, TC_TAG_EVIDENCE, e.p, e.n);
    cr_assert_eq(memcmp(h.b, want.b, TC_HASH_SIZE), 0);
    free(e.p);
}

Test(block, evidence_decode_errors)
{
    tc_evidence ev = make_evidence(), back;
    buf_t e;
    ENCODE(e, tc_evidence_encode, &ev);
    for (size_t n = 0; n < e.n; n++) {
        memset(&back, 0xee, sizeof(back));
        cr_assert_eq(tc_evidence_decode(&back, e.p, n), TC_ESHORT, "prefix %zu", n);
        cr_assert(all_zero(&back, sizeof(back)));
    }
    e.p[e.n] = 0;
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n + 1), TC_ETRAILING);
    e.p[0] = TC_EVIDENCE_KIND_COUNT;
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), TC_ERANGE, "unknown kind");
    e.p[0] = TC_EVIDENCE_DOUBLE_VOTE;
    e.p[1] = 0;
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), TC_ERANGE, "bad type in vote a");
    e.p[1] = TC_VOTE_PREVOTE;
    e.p[1 + TC_VOTE_SIZE] = 9;
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), TC_ERANGE, "bad type in vote b");
    cr_assert(all_zero(&back, sizeof(back)));
    free(e.p);

    /* Votes in the wrong order, and the same block twice, are not canonical. */
    tc_evidence swapped = ev;
    swapped.a = ev.b;
    swapped.b = ev.a;
    ENCODE(e, tc_evidence_encode, &swapped);
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), TC_ERANGE, "b before a");
    free(e.p);
    swapped.b = swapped.a;
    ENCODE(e, tc_evidence_encode, &swapped);
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), TC_ERANGE, "one block twice");
    free(e.p);
}

Test(block, evidence_shape_rules)
{
    tc_evidence ok = make_evidence();
    cr_assert_eq(tc_evidence_check_shape(&ok), 0);
    cr_assert(memcmp(ok.a.block.b, ok.b.block.b, TC_HASH_SIZE) < 0, "from_votes orders a < b");
    for (int rule = 0; rule < 9; rule++) {
        tc_evidence e = ok;
        switch (rule) {
        case 0:
            e.kind = 1;
            break;
        case 1:
            e.b.type = TC_VOTE_PRECOMMIT;
            break;
        case 2:
            e.a.type = e.b.type = 7;
            break;
        case 3:
            e.b.validator++;
            break;
        case 4:
            e.b.height++;
            break;
        case 5:
            e.b.round++;
            break;
        case 6:
            e.b.block = e.a.block;
            break;
        case 7:
            e.a = ok.b;
            e.b = ok.a;
            break;
        default:
            e.a.type = e.b.type = 0;
            break;
        }
        cr_assert_eq(tc_evidence_check_shape(&e), TC_EBLK_EVIDENCE, "rule %d", rule);
    }
    /* A nil vote against a block vote in the same round is an equivocation too. */
    tc_vote nil = make_vote(TC_VOTE_PRECOMMIT, 7, 1, 0x00, 2, 2);
    tc_vote blk = make_vote(TC_VOTE_PRECOMMIT, 7, 1, 0x05, 2, 2);
    tc_evidence e;
    tc_evidence_from_votes(&e, &blk, &nil);
    cr_assert(tc_vote_is_nil(&e.a));
    cr_assert_eq(tc_evidence_check_shape(&e), 0);
}

/* Amnesia: validator 2 precommitted block 0x05 in round 1 of height 7, then prevoted block 0x06
 * in round 3 with the given pol_round. */
static tc_evidence make_amnesia(uint32_t pol)
{
    tc_vote pc = make_pol_vote(TC_VOTE_PRECOMMIT, 7, 1, TC_ROUND_NONE, 0x05, 2);
    tc_vote pv = make_pol_vote(TC_VOTE_PREVOTE, 7, 3, pol, 0x06, 2);
    tc_evidence e;
    cr_assert(tc_votes_amnesia(&pc, &pv), "pol %u", pol);
    tc_evidence_from_amnesia(&e, &pc, &pv);
    return e;
}

Test(block, amnesia_round_trip_and_decode_errors)
{
    tc_evidence ev = make_amnesia(TC_ROUND_NONE), back;
    buf_t e;
    cr_assert_eq(ev.kind, TC_EVIDENCE_AMNESIA);
    cr_assert_eq(ev.a.type, TC_VOTE_PRECOMMIT, "a is the precommit");
    cr_assert_eq(ev.b.type, TC_VOTE_PREVOTE, "b is the prevote");
    cr_assert_eq(tc_evidence_validator(&ev), 2);
    ENCODE(e, tc_evidence_encode, &ev);
    cr_assert_eq(e.n, TC_EVIDENCE_SIZE);
    cr_assert_eq(e.p[0], TC_EVIDENCE_AMNESIA);
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), 0);
    cr_assert_eq(memcmp(&back, &ev, sizeof(ev)), 0);
    tc_hash h, want;
    tc_evidence_hash(&ev, &h);
    tc_hash_tagged(&want, TC_TAG_EVIDENCE, e.p, e.n);
    cr_assert_eq(memcmp(h.b, want.b, TC_HASH_SIZE), 0);
    for (size_t n = 0; n < e.n; n++)
        cr_assert_eq(tc_evidence_decode(&back, e.p, n), TC_ESHORT, "prefix %zu", n);
    free(e.p);
    /* The order is fixed by the types: prevote first, or two of a kind, is refused. */
    tc_evidence swapped = ev;
    swapped.a = ev.b;
    swapped.b = ev.a;
    ENCODE(e, tc_evidence_encode, &swapped);
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), TC_ERANGE, "prevote first");
    cr_assert(all_zero(&back, sizeof(back)));
    free(e.p);
    swapped = ev;
    swapped.b = ev.a;
    swapped.b.round = 3;
    ENCODE(e, tc_evidence_encode, &swapped);
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), TC_ERANGE, "two precommits");
    free(e.p);
}

Test(block, amnesia_shape_rules)
{
    cr_assert_eq(tc_evidence_check_shape(&(tc_evidence){0}), TC_EBLK_EVIDENCE, "empty");
    tc_evidence ok = make_amnesia(TC_ROUND_NONE);
    cr_assert_eq(tc_evidence_check_shape(&ok), 0, "no proof-of-lock at all");
    tc_evidence old = make_amnesia(0);
    cr_assert_eq(tc_evidence_check_shape(&old), 0, "a proof-of-lock older than the precommit");
    for (int rule = 0; rule < 13; rule++) {
        tc_evidence e = ok;
        switch (rule) {
        case 0:
            e.kind = TC_EVIDENCE_DOUBLE_VOTE;
            break;
        case 1:
            e.a.type = TC_VOTE_PREVOTE;
            break;
        case 2:
            e.b.type = TC_VOTE_PRECOMMIT;
            break;
        case 3:
            e.b.validator++;
            break;
        case 4:
            e.b.height++;
            break;
        case 5:
            memset(e.a.block.b, 0, TC_HASH_SIZE); /* a nil precommit locks nothing */
            break;
        case 6:
            memset(e.b.block.b, 0, TC_HASH_SIZE); /* a nil prevote relies on nothing */
            break;
        case 7:
            e.b.block = e.a.block; /* the same block again: the lock kept */
            break;
        case 8:
            e.b.round = e.a.round; /* not later */
            break;
        case 9:
            e.b.round = 0;
            e.b.pol_round = TC_ROUND_NONE; /* earlier */
            break;
        case 10:
            e.b.pol_round = e.a.round; /* a proof-of-lock from the precommit's round */
            break;
        case 11:
            e.b.pol_round = 2; /* a newer proof-of-lock: an honest lock change */
            break;
        default:
            e.a.pol_round = 0; /* a precommit carries none */
            break;
        }
        cr_assert_eq(tc_evidence_check_shape(&e), TC_EBLK_EVIDENCE, "rule %d", rule);
    }
}

/* ---- handoffs and finality certificates ---- */

Test(block, handoff_round_trip_sign_and_errors)
{
    tc_handoff h, back;
    buf_t e;
    make_handoff(&h, 3);
    ENCODE(e, tc_handoff_encode, &h);
    cr_assert_eq(e.n, (size_t)TC_HANDOFF_MIN_SIZE + 3 * TC_HASH_SIZE);
    cr_assert_eq(tc_handoff_decode(&back, e.p, e.n), 0);
    cr_assert_eq(back.txid_count, 3);
    cr_assert_eq(memcmp(back.txids, h.txids, 3 * sizeof(tc_hash)), 0);
    cr_assert_eq(memcmp(back.sig.b, h.sig.b, TC_SIG_SIZE), 0);
    tc_handoff_deinit(&back);

    /* The signed message is H(tc/handoff, encoding without the signature). */
    tc_hash want, got;
    tc_keypair kp;
    ts_keypair(&kp, 1);
    tc_hash_tagged(&want, TC_TAG_HANDOFF, e.p, e.n - TC_SIG_SIZE);
    tc_handoff_sign_hash(&h, &got);
    cr_assert_eq(memcmp(want.b, got.b, TC_HASH_SIZE), 0);
    cr_assert_eq(tc_verify(&ed, &kp.pub, &got, &h.sig), 0);

    for (size_t n = 0; n < e.n; n++) {
        memset(&back, 0xee, sizeof(back));
        cr_assert_eq(tc_handoff_decode(&back, e.p, n), TC_ESHORT, "prefix %zu", n);
        cr_assert(all_zero(&back, sizeof(back)));
    }
    e.p[e.n] = 0;
    cr_assert_eq(tc_handoff_decode(&back, e.p, e.n + 1), TC_ETRAILING);
    put_le32(e.p + 8, TC_HANDOFF_TXIDS_HARD_MAX + 1);
    cr_assert_eq(tc_handoff_decode(&back, e.p, e.n), TC_ETOOLONG);
    cr_assert(all_zero(&back, sizeof(back)));
    tc_handoff_deinit(&h);
    free(e.p);
}

Test(block, handoff_sign_hash_covers_every_field)
{
    tc_handoff h;
    tc_hash base, t;
    make_handoff(&h, 2);
    tc_handoff_sign_hash(&h, &base);
    h.epoch++;
    tc_handoff_sign_hash(&h, &t);
    cr_assert_neq(memcmp(base.b, t.b, TC_HASH_SIZE), 0, "epoch");
    h.epoch--;
    h.validator++;
    tc_handoff_sign_hash(&h, &t);
    cr_assert_neq(memcmp(base.b, t.b, TC_HASH_SIZE), 0, "validator");
    h.validator--;
    h.txids[1].b[0] ^= 1;
    tc_handoff_sign_hash(&h, &t);
    cr_assert_neq(memcmp(base.b, t.b, TC_HASH_SIZE), 0, "txid");
    h.txids[1].b[0] ^= 1;
    h.txid_count = 1;
    tc_handoff_sign_hash(&h, &t);
    cr_assert_neq(memcmp(base.b, t.b, TC_HASH_SIZE), 0, "count");
    h.txid_count = 2;
    tc_handoff_deinit(&h);
}

Test(block, fincert_round_trip_and_limits)
{
    tc_fincert c, back;
    buf_t e;
    make_fincert(&c, 9, 3);
    ENCODE(e, tc_fincert_encode, &c);
    cr_assert_eq(e.n, (size_t)TC_FINCERT_MIN_SIZE + 2 + 3 * TC_BATCH_REF_SIZE);
    tc_reader r;
    tc_reader_init(&r, e.p, e.n);
    cr_assert_eq(tc_fincert_read(&r, &back), 0);
    cr_assert_eq(tc_reader_finish(&r), 0);
    cr_assert_eq(back.epoch, 9);
    cr_assert_eq(back.bitmap_len, 2);
    cr_assert_eq(back.bitmap[0], 0x0b);
    cr_assert_eq(back.ref_count, 3);
    cr_assert_eq(back.refs[2].validator, 2);
    cr_assert_eq(back.refs[2].seq, 102);
    tc_fincert_deinit(&back);
    cr_assert(all_zero(&back, sizeof(back)), "deinit zeroes");
    for (size_t n = 0; n < e.n; n++) {
        tc_reader_init(&r, e.p, n);
        cr_assert_eq(tc_fincert_read(&r, &back), TC_ESHORT, "prefix %zu", n);
        cr_assert(all_zero(&back, sizeof(back)));
    }
    put_le32(e.p + 4, TC_FINCERT_BITMAP_HARD_MAX + 1);
    tc_reader_init(&r, e.p, e.n);
    cr_assert_eq(tc_fincert_read(&r, &back), TC_ETOOLONG, "bitmap over the limit");
    put_le32(e.p + 4, 2);
    put_le32(e.p + 10, TC_FINCERT_REFS_HARD_MAX + 1);
    tc_reader_init(&r, e.p, e.n);
    cr_assert_eq(tc_fincert_read(&r, &back), TC_ETOOLONG, "refs over the limit");
    cr_assert(all_zero(&back, sizeof(back)));
    tc_fincert_deinit(&c);
    free(e.p);
}

Test(block, fincert_refs_encode_in_runs_without_seams)
{
    /* References are written in runs of up to 85 (SINK_FLUSH_AT / TC_BATCH_REF_SIZE): around
     * each run boundary the bytes are the documented layout, and tx_root hashes exactly them. */
    static const uint32_t counts[] = {0, 1, 84, 85, 86, 170, 171, 500};
    for (size_t k = 0; k < TC_ARRAY_LEN(counts); k++) {
        uint32_t n = counts[k];
        tc_fincert c;
        buf_t e;
        make_fincert(&c, 7, n);
        ENCODE(e, tc_fincert_encode, &c);
        cr_assert_eq(e.n, (size_t)TC_FINCERT_MIN_SIZE + 2 + n * TC_BATCH_REF_SIZE, "%u refs", n);
        uint8_t want[TC_FINCERT_MIN_SIZE + 2] = {7, 0, 0, 0, 2, 0, 0, 0, 0x0b, 0x01};
        put_le32(want + 10, n);
        cr_assert_eq(memcmp(e.p, want, sizeof(want)), 0, "%u refs: the head", n);
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *r = e.p + sizeof(want) + (size_t)i * TC_BATCH_REF_SIZE;
            uint64_t seq = 0;
            for (int j = 0; j < 8; j++)
                seq |= (uint64_t)r[4 + j] << (8 * j);
            cr_assert(r[0] == (uint8_t)i && r[1] == (uint8_t)(i >> 8) && r[2] == 0 && r[3] == 0,
                      "%u refs: validator of ref %u", n, i);
            cr_assert_eq(seq, 100u + i, "%u refs: seq of ref %u", n, i);
        }
        free(e.p);

        tc_block b;
        memset(&b, 0, sizeof(b));
        b.tx_count = 1;
        b.txs = calloc(1, sizeof(*b.txs));
        make_transfer(&b.txs[0].tx, 1, 0x20);
        b.txs[0].cert = c;
        buf_t body;
        tc_hash got, root;
        ENCODE(body, tc_block_body_encode, &b);
        tc_hash_tagged(&root, TC_TAG_TXROOT, body.p, body.n);
        cr_assert_eq(tc_block_tx_root(&b, &got), 0);
        cr_assert_eq(memcmp(got.b, root.b, TC_HASH_SIZE), 0, "%u refs: tx_root", n);
        free(body.p);
        tc_block_deinit(&b);
    }
}

/* ---- blocks ---- */

static void assert_blocks_equal(const tc_block *x, const tc_block *y)
{
    buf_t ex, ey;
    ENCODE(ex, tc_block_encode, x);
    ENCODE(ey, tc_block_encode, y);
    cr_assert_eq(ex.n, ey.n);
    cr_assert_eq(memcmp(ex.p, ey.p, ex.n), 0);
    free(ex.p);
    free(ey.p);
}

Test(block, block_round_trip)
{
    for (int big = 0; big < 2; big++) {
        tc_block b, back;
        make_block(&b, big);
        uint8_t *enc;
        size_t n;
        cr_assert_eq(tc_block_encode_alloc(&b, &enc, &n), 0);
        cr_assert_eq(tc_block_decode(&back, enc, n), 0, "big = %d", big);
        cr_assert_eq(back.header.height, 42);
        cr_assert_eq(back.header.time_ms, 1700000000123u);
        cr_assert_eq(back.header.last_commit.sig_count, big ? 100u : 3u);
        cr_assert_eq(back.header.evidence_count, big ? 20u : 2u);
        cr_assert_eq(back.tx_count, 3);
        cr_assert_eq(back.txs[1].tx.kind, TC_TX_MN_REGISTER);
        cr_assert_eq(back.txs[1].tx.net_addr_len, 9);
        cr_assert_eq(back.txs[2].cert.ref_count, big ? 300u : 2u);
        cr_assert_eq(back.reward_count, 2);
        cr_assert_eq(back.rewards[1].amount, 5001);
        cr_assert_eq(back.handoff_count, 2);
        cr_assert_eq(back.handoffs[1].txid_count, 0);
        assert_blocks_equal(&b, &back);

        /* Header then body, and the alloc form matches the writer form. */
        buf_t hdr, body, all;
        ENCODE(hdr, tc_block_header_encode, &b.header);
        ENCODE(body, tc_block_body_encode, &b);
        ENCODE(all, tc_block_encode, &b);
        cr_assert_eq(hdr.n + body.n, n);
        cr_assert_eq(all.n, n);
        cr_assert_eq(memcmp(all.p, enc, n), 0);
        cr_assert_eq(memcmp(hdr.p, enc, hdr.n), 0);
        cr_assert_eq(memcmp(body.p, enc + hdr.n, body.n), 0);
        free(hdr.p);
        free(body.p);
        free(all.p);
        free(enc);
        tc_block_deinit(&back);
        tc_block_deinit(&b);
        cr_assert(all_zero(&b, sizeof(b)), "deinit zeroes");
    }
}

Test(block, block_empty_body_round_trip)
{
    tc_block b, back;
    memset(&b, 0, sizeof(b));
    b.header.version = TC_BLOCK_VERSION;
    b.header.height = 1;
    uint8_t *enc;
    size_t n;
    cr_assert_eq(tc_block_encode_alloc(&b, &enc, &n), 0);
    cr_assert_eq(n, 154u + TC_COMMIT_MIN_SIZE + 4 + 12, "fixed header, empty commit, 4 counts");
    cr_assert_eq(tc_block_decode(&back, enc, n), 0);
    cr_assert(all_zero(&back.header.last_commit, sizeof(back.header.last_commit)));
    cr_assert_eq(back.tx_count, 0);
    cr_assert_null(back.txs);
    tc_block_deinit(&back);
    free(enc);
}

Test(block, block_truncated_at_every_prefix_and_trailing)
{
    tc_block b, back;
    make_block(&b, false);
    uint8_t *enc;
    size_t n;
    cr_assert_eq(tc_block_encode_alloc(&b, &enc, &n), 0);
    for (size_t k = 0; k < n; k++) {
        memset(&back, 0xee, sizeof(back));
        cr_assert_eq(tc_block_decode(&back, enc, k), TC_ESHORT, "prefix %zu of %zu", k, n);
        cr_assert(all_zero(&back, sizeof(back)), "output cleared at prefix %zu", k);
    }
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, enc, n);
    longer[n] = 0;
    cr_assert_eq(tc_block_decode(&back, longer, n + 1), TC_ETRAILING);
    cr_assert(all_zero(&back, sizeof(back)));
    free(longer);
    free(enc);
    tc_block_deinit(&b);
}

/* The header-only decode gives the full decode's header, leaves the body empty, reads nothing
 * past the header (a garbage body goes unnoticed) and fails on any prefix shorter than it. */
Test(block, block_header_decode_reads_the_header_alone)
{
    for (int big = 0; big < 2; big++) {
        tc_block b, full, head;
        make_block(&b, big);
        uint8_t *enc;
        size_t n;
        cr_assert_eq(tc_block_encode_alloc(&b, &enc, &n), 0);
        cr_assert_eq(tc_block_decode(&full, enc, n), 0);
        cr_assert_eq(tc_block_decode_header(&head, enc, n), 0, "big = %d", big);
        buf_t hf, hh;
        ENCODE(hf, tc_block_header_encode, &full.header);
        ENCODE(hh, tc_block_header_encode, &head.header);
        cr_assert_eq(hh.n, hf.n, "the same header length: %zu", hf.n);
        cr_assert_eq(memcmp(hh.p, hf.p, hf.n), 0, "the same header bytes");
        cr_assert_eq(head.header.evidence_count, big ? 20u : 2u);
        cr_assert_eq(head.tx_count, 0, "no transactions read");
        cr_assert_null(head.txs);
        cr_assert_eq(head.reward_count, 0);
        cr_assert_eq(head.handoff_count, 0);
        tc_block_deinit(&head);
        /* The body is not read: garbage after the header does not matter. */
        memset(enc + hf.n, 0xff, n - hf.n);
        cr_assert_neq(tc_block_decode(&head, enc, n), 0,
                      "the whole decode refuses a body of 0xff counts");
        cr_assert_eq(tc_block_decode_header(&head, enc, n), 0, "the header alone still reads");
        cr_assert_eq(head.header.height, 42);
        tc_block_deinit(&head);
        for (size_t k = 0; k < hf.n; k++) {
            memset(&head, 0xee, sizeof(head));
            cr_assert_eq(tc_block_decode_header(&head, enc, k), TC_ESHORT, "prefix %zu of %zu", k,
                         hf.n);
            cr_assert(all_zero(&head, sizeof(head)), "output cleared at prefix %zu", k);
        }
        free(hf.p);
        free(hh.p);
        free(enc);
        tc_block_deinit(&full);
        tc_block_deinit(&b);
    }
}

/* Offsets in a block made by make_block(false): the header's fixed part is 154 bytes. */
#define OFF_COMMIT_COUNT   (154 + TC_COMMIT_MIN_SIZE - 4)
#define OFF_EVIDENCE_COUNT (154 + TC_COMMIT_MIN_SIZE + 3 * TC_COMMIT_SIG_SIZE)
#define OFF_FIRST_VOTE     (OFF_EVIDENCE_COUNT + 4 + 1)
#define OFF_TX_COUNT       (OFF_EVIDENCE_COUNT + 4 + 2 * TC_EVIDENCE_SIZE)

static int decode_patched(const uint8_t *enc, size_t n, size_t off, uint32_t v)
{
    uint8_t *p = malloc(n);
    tc_block back;
    memcpy(p, enc, n);
    put_le32(p + off, v);
    int rc = tc_block_decode(&back, p, n);
    cr_assert(all_zero(&back, sizeof(back)) || rc == 0);
    if (rc == 0)
        tc_block_deinit(&back);
    free(p);
    return rc;
}

Test(block, block_counts_over_limits_and_bad_values)
{
    tc_block b;
    make_block(&b, false);
    uint8_t *enc;
    size_t n;
    cr_assert_eq(tc_block_encode_alloc(&b, &enc, &n), 0);
    cr_assert_eq(decode_patched(enc, n, OFF_COMMIT_COUNT, 3), 0, "offsets are right");
    cr_assert_eq(decode_patched(enc, n, OFF_COMMIT_COUNT, TC_COMMIT_SIGS_MAX + 1), TC_ETOOLONG);
    cr_assert_eq(decode_patched(enc, n, OFF_EVIDENCE_COUNT, 2), 0);
    cr_assert_eq(decode_patched(enc, n, OFF_EVIDENCE_COUNT, TC_EVIDENCE_HARD_MAX + 1), TC_ETOOLONG);
    cr_assert_eq(decode_patched(enc, n, OFF_TX_COUNT, 3), 0);
    cr_assert_eq(decode_patched(enc, n, OFF_TX_COUNT, TC_BLOCK_TXS_HARD_MAX + 1), TC_ETOOLONG);
    cr_assert_eq(decode_patched(enc, n, OFF_TX_COUNT, UINT32_MAX), TC_ETOOLONG);
    cr_assert_eq(decode_patched(enc, n, OFF_TX_COUNT, TC_BLOCK_TXS_HARD_MAX), TC_ESHORT,
                 "a count the bytes cannot hold is refused before allocating");

    /* The three body lists at the end: handoffs are last, rewards before them. */
    buf_t h0, h1;
    ENCODE(h0, tc_handoff_encode, &b.handoffs[0]);
    ENCODE(h1, tc_handoff_encode, &b.handoffs[1]);
    size_t off_handoffs = n - h0.n - h1.n - 4;
    size_t off_rewards = off_handoffs - 2 * TC_REWARD_SIZE - 4;
    cr_assert_eq(decode_patched(enc, n, off_handoffs, 2), 0);
    cr_assert_eq(decode_patched(enc, n, off_handoffs, TC_HANDOFFS_HARD_MAX + 1), TC_ETOOLONG);
    cr_assert_eq(decode_patched(enc, n, off_rewards, 2), 0);
    cr_assert_eq(decode_patched(enc, n, off_rewards, TC_BLOCK_REWARDS_HARD_MAX + 1), TC_ETOOLONG);
    cr_assert_eq(decode_patched(enc, n, off_handoffs + 12, TC_HANDOFF_TXIDS_HARD_MAX + 1),
                 TC_ETOOLONG, "txids of the first handoff");
    free(h0.p);
    free(h1.p);

    /* Version, vote type inside evidence, commit order. */
    uint8_t *p = malloc(n);
    tc_block back;
    memcpy(p, enc, n);
    p[0] = 2;
    cr_assert_eq(tc_block_decode(&back, p, n), TC_ERANGE, "unknown block version");
    memcpy(p, enc, n);
    p[OFF_FIRST_VOTE] = 3;
    cr_assert_eq(tc_block_decode(&back, p, n), TC_ERANGE, "vote type 3 in evidence");
    memcpy(p, enc, n);
    put_le32(p + OFF_COMMIT_COUNT + 4 + TC_COMMIT_SIG_SIZE, 0);
    cr_assert_eq(tc_block_decode(&back, p, n), TC_ERANGE, "commit entries 0, 0, 4");
    cr_assert(all_zero(&back, sizeof(back)));
    free(p);
    free(enc);
    tc_block_deinit(&b);
}

Test(block, block_bad_transaction_fails_whole_decode)
{
    tc_block b, back;
    make_block(&b, false);
    uint8_t *enc;
    size_t n;
    cr_assert_eq(tc_block_encode_alloc(&b, &enc, &n), 0);
    enc[OFF_TX_COUNT + 4] = 7; /* first transaction's version */
    int rc = tc_block_decode(&back, enc, n);
    cr_assert_eq(rc, TC_ERANGE, "got %d", rc);
    cr_assert(all_zero(&back, sizeof(back)));
    free(enc);
    tc_block_deinit(&b);
}

static void block_hash_of(const tc_block *b, tc_hash *out)
{
    tc_block_hash(&b->header, out);
}

Test(block, block_hash_is_tagged_header_encoding)
{
    for (int big = 0; big < 2; big++) {
        tc_block b;
        tc_hash got, want;
        buf_t hdr;
        make_block(&b, big);
        ENCODE(hdr, tc_block_header_encode, &b.header);
        tc_hash_tagged(&want, TC_TAG_BLOCK, hdr.p, hdr.n);
        tc_block_hash(&b.header, &got);
        cr_assert_eq(memcmp(got.b, want.b, TC_HASH_SIZE), 0, "big = %d", big);
        free(hdr.p);
        tc_block_deinit(&b);
    }
}

Test(block, block_hash_changes_with_every_header_field)
{
    tc_block b;
    tc_hash base, t;
    make_block(&b, false);
    block_hash_of(&b, &base);
    for (int field = 0; field < 14; field++) {
        tc_block_header h = b.header; /* shares arrays: modified fields are restored below */
        tc_commit_sig saved = b.header.last_commit.sigs[1];
        tc_evidence saved_ev = b.header.evidence[1];
        switch (field) {
        case 0:
            h.version++;
            break;
        case 1:
            h.height++;
            break;
        case 2:
            h.round++;
            break;
        case 3:
            h.parent.b[0] ^= 1;
            break;
        case 4:
            h.time_ms++;
            break;
        case 5:
            h.tx_root.b[31] ^= 1;
            break;
        case 6:
            h.utxo_root.b[7] ^= 1;
            break;
        case 7:
            h.vset_hash.b[1] ^= 1;
            break;
        case 8:
            h.proposer++;
            break;
        case 9:
            h.last_commit.round++;
            break;
        case 10:
            h.last_commit.sigs[1].sig.b[63] ^= 1;
            break;
        case 11:
            h.last_commit.sig_count--;
            break;
        case 12:
            h.evidence[1].b.sig.b[0] ^= 1;
            break;
        default:
            h.evidence_count--;
            break;
        }
        tc_block_hash(&h, &t);
        cr_assert_neq(memcmp(base.b, t.b, TC_HASH_SIZE), 0, "field %d is hashed", field);
        b.header.last_commit.sigs[1] = saved;
        b.header.evidence[1] = saved_ev;
    }
    block_hash_of(&b, &t);
    cr_assert_eq(memcmp(base.b, t.b, TC_HASH_SIZE), 0, "restored");
    /* The body is not in the header hash: it is committed through tx_root. */
    b.rewards[0].amount++;
    block_hash_of(&b, &t);
    cr_assert_eq(memcmp(base.b, t.b, TC_HASH_SIZE), 0);
    tc_block_deinit(&b);
}

Test(block, tx_root_is_tagged_body_encoding)
{
    for (int big = 0; big < 2; big++) {
        tc_block b;
        tc_hash got, want;
        buf_t body;
        make_block(&b, big);
        ENCODE(body, tc_block_body_encode, &b);
        tc_hash_tagged(&want, TC_TAG_TXROOT, body.p, body.n);
        cr_assert_eq(tc_block_tx_root(&b, &got), 0);
        cr_assert_eq(memcmp(got.b, want.b, TC_HASH_SIZE), 0, "big = %d", big);
        size_t len = 0;
        memset(got.b, 0, TC_HASH_SIZE);
        cr_assert_eq(tc_block_body_digest(&b, &got, &len), 0);
        cr_assert_eq(memcmp(got.b, want.b, TC_HASH_SIZE), 0, "the digest's root, big = %d", big);
        cr_assert_eq(len, body.n, "the digest counts the body's bytes, big = %d", big);
        if (big)
            cr_assert_gt(tc_tx_encoded_size(&b.txs[0].tx), 2048, "the heap path ran");
        free(body.p);
        tc_block_deinit(&b);
    }
}

/* The copying digest gives the same root and length, and the body's bytes when they fit. */
Test(block, body_digest_copy_keeps_the_encoding_that_fits)
{
    for (int big = 0; big < 2; big++) {
        tc_block b;
        tc_hash want, got;
        buf_t body;
        make_block(&b, big);
        ENCODE(body, tc_block_body_encode, &b);
        cr_assert_eq(tc_block_tx_root(&b, &want), 0);
        uint8_t *copy = malloc(body.n + 1);
        cr_assert_not_null(copy);
        memset(copy, 0xee, body.n + 1);
        size_t len = 0;
        cr_assert_eq(tc_block_body_digest_copy(&b, &got, &len, copy, body.n), 0);
        cr_assert_eq(memcmp(got.b, want.b, TC_HASH_SIZE), 0, "the same root, big = %d", big);
        cr_assert_eq(len, body.n, "the body's %zu bytes, big = %d", body.n, big);
        cr_assert_eq(memcmp(copy, body.p, body.n), 0, "the copy is the encoding, big = %d", big);
        cr_assert_eq(copy[body.n], 0xee, "nothing written past copy_cap, big = %d", big);
        memset(copy, 0xee, body.n + 1);
        cr_assert_eq(tc_block_body_digest_copy(&b, &got, &len, copy, body.n - 1), 0);
        cr_assert_eq(memcmp(got.b, want.b, TC_HASH_SIZE), 0, "a short copy keeps the root");
        cr_assert_eq(len, body.n, "and the length, which tells the copy is not whole");
        cr_assert_eq(copy[body.n - 1], 0xee, "nothing written past a short copy_cap");
        free(copy);
        free(body.p);
        tc_block_deinit(&b);
    }
}

Test(block, tx_root_changes_with_every_body_field)
{
    tc_block b;
    tc_hash base, t;
    make_block(&b, false);
    cr_assert_eq(tc_block_tx_root(&b, &base), 0);
    for (int field = 0; field < 14; field++) {
        tc_block c = b; /* shallow: each case flips one byte and flips it back after */
        uint8_t *byte = NULL;
        switch (field) {
        case 0:
            byte = &b.txs[0].tx.inputs[0].sig.b[5];
            break;
        case 1:
            byte = &b.txs[0].tx.outputs[1].addr.b[0];
            break;
        case 2:
            byte = (uint8_t *)&b.txs[2].tx.outputs[0].amount;
            break;
        case 3:
            byte = &b.txs[1].tx.mn_key.b[3];
            break;
        case 4:
            byte = (uint8_t *)&b.txs[1].tx.net_addr[2];
            break;
        case 5:
            byte = (uint8_t *)&b.txs[1].cert.epoch;
            break;
        case 6:
            byte = &b.txs[1].cert.bitmap[1];
            break;
        case 7:
            byte = (uint8_t *)&b.txs[2].cert.refs[1].seq;
            break;
        case 8:
            byte = (uint8_t *)&b.rewards[1].amount;
            break;
        case 9:
            byte = &b.rewards[0].addr.b[19];
            break;
        case 10:
            byte = &b.handoffs[0].txids[2].b[9];
            break;
        case 11:
            byte = &b.handoffs[0].sig.b[1];
            break;
        case 12:
            byte = (uint8_t *)&b.handoffs[1].epoch;
            break;
        default:
            c.reward_count = 1;
            break;
        }
        if (byte != NULL)
            *byte ^= 0x80;
        cr_assert_eq(tc_block_tx_root(&c, &t), 0);
        cr_assert_neq(memcmp(base.b, t.b, TC_HASH_SIZE), 0, "field %d is in tx_root", field);
        if (byte != NULL)
            *byte ^= 0x80;
    }
    cr_assert_eq(tc_block_tx_root(&b, &t), 0);
    cr_assert_eq(memcmp(base.b, t.b, TC_HASH_SIZE), 0, "restored");
    /* And the header is not part of it. */
    b.header.height++;
    cr_assert_eq(tc_block_tx_root(&b, &t), 0);
    cr_assert_eq(memcmp(base.b, t.b, TC_HASH_SIZE), 0);
    tc_block_deinit(&b);
}

Test(block, reward_txid)
{
    tc_hash a, b, want;
    uint8_t le[8] = {42, 0, 0, 0, 0, 0, 0, 0};
    tc_block_reward_txid(42, &a);
    tc_block_reward_txid(43, &b);
    tc_hash_tagged(&want, TC_TAG_REWARD, le, 8);
    cr_assert_eq(memcmp(a.b, want.b, TC_HASH_SIZE), 0);
    cr_assert_neq(memcmp(a.b, b.b, TC_HASH_SIZE), 0);
}

/* ---- double-lock evidence ---- */

typedef struct {
    tc_tx tx[2];
    tc_hash id[2];
    tc_vote_batch b[2];
    tc_evidence e; /* owned copy, canonical */
} locks_t;

/* Two transfers of one outpoint with `outputs` outputs each, named by batches 10 and 11 of
 * validator 2, epoch 3, signed with test key 2. */
static void make_locks(locks_t *l, uint32_t outputs)
{
    tc_keypair kp;
    ts_keypair(&kp, 2);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(tc_tx_init_alloc(&l->tx[i], TC_TX_TRANSFER, 1, outputs), 0);
        fill_hash(&l->tx[i].inputs[0].prev.txid, 0x77);
        l->tx[i].outputs[0].amount = 100u + (uint64_t)i;
        tc_tx_id(&l->tx[i], &l->id[i]);
        tc_vote_batch *b = &l->b[i];
        memset(b, 0, sizeof(*b));
        *b = (tc_vote_batch){.epoch = 3, .validator = 2, .seq = 10u + (uint64_t)i, .txid_count = 1};
        b->txids = &l->id[i];
        tc_hash h;
        tc_vote_batch_sign_hash(b, &h);
        tc_sign(TC_SIG_ED25519, &kp, &h, &b->sig);
    }
    cr_assert_eq(tc_evidence_from_locks(&l->e, &l->b[1], &l->tx[1], &l->b[0], &l->tx[0]), 0);
}

static void locks_deinit(locks_t *l)
{
    tc_tx_deinit(&l->tx[0]);
    tc_tx_deinit(&l->tx[1]);
    tc_evidence_deinit(&l->e);
}

/* Offsets in a kind-1 encoding whose batches name one txid each. */
#define LK_COUNT_A 17
#define LK_COUNT_B (LK_COUNT_A + 4 + TC_HASH_SIZE + TC_SIG_SIZE + 8)
#define LK_TX_A    (LK_COUNT_B + 4 + TC_HASH_SIZE + TC_SIG_SIZE)

Test(block, double_lock_round_trip_hash_copy)
{
    locks_t l;
    make_locks(&l, 1);
    cr_assert_eq(tc_evidence_check_shape(&l.e), 0);
    cr_assert(memcmp(l.e.batch_a.txids[0].b, l.e.batch_b.txids[0].b, TC_HASH_SIZE) < 0,
              "from_locks orders by txid");
    buf_t e, again;
    ENCODE(e, tc_evidence_encode, &l.e);
    cr_assert_eq(e.n, LK_TX_A + 2 * tc_tx_encoded_size(&l.tx[0]), "size %zu", e.n);
    tc_evidence back, copy;
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), 0);
    ENCODE(again, tc_evidence_encode, &back);
    cr_assert_eq(again.n, e.n);
    cr_assert_eq(memcmp(again.p, e.p, e.n), 0, "re-encodes to the same bytes");
    tc_hash h, want, hc;
    tc_evidence_hash(&l.e, &h);
    tc_hash_tagged(&want, TC_TAG_EVIDENCE, e.p, e.n);
    cr_assert_eq(memcmp(h.b, want.b, TC_HASH_SIZE), 0, "hash covers the encoding");
    cr_assert_eq(tc_evidence_copy(&copy, &back), 0);
    tc_evidence_deinit(&back);
    tc_evidence_hash(&copy, &hc);
    cr_assert_eq(memcmp(hc.b, h.b, TC_HASH_SIZE), 0, "a copy outlives its source");
    cr_assert_eq(tc_evidence_validator(&copy), 2u);
    tc_evidence_deinit(&copy);
    cr_assert(all_zero(&copy, sizeof(copy)), "deinit zeroes");
    free(e.p);
    free(again.p);
    locks_deinit(&l);
}

Test(block, double_lock_decode_errors)
{
    locks_t l;
    make_locks(&l, 1);
    buf_t e;
    tc_evidence back;
    ENCODE(e, tc_evidence_encode, &l.e);
    for (size_t n = 0; n < e.n; n++) {
        memset(&back, 0xee, sizeof(back));
        cr_assert_eq(tc_evidence_decode(&back, e.p, n), TC_ESHORT, "prefix %zu", n);
        cr_assert(all_zero(&back, sizeof(back)), "cleared at prefix %zu", n);
    }
    e.p[e.n] = 0;
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n + 1), TC_ETRAILING);
    put_le32(e.p + LK_COUNT_A, 0);
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), TC_ERANGE, "batch a names nothing");
    put_le32(e.p + LK_COUNT_A, TC_VOTE_BATCH_TXIDS_HARD_MAX + 1);
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), TC_ETOOLONG, "batch a over the cap");
    put_le32(e.p + LK_COUNT_A, 1);
    put_le32(e.p + LK_COUNT_B, 2);
    cr_assert_neq(tc_evidence_decode(&back, e.p, e.n), 0, "batch b count misframes the rest");
    cr_assert(all_zero(&back, sizeof(back)));
    put_le32(e.p + LK_COUNT_B, 1);
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), 0, "restored");
    tc_evidence_deinit(&back);
    free(e.p);

    /* Transactions out of txid order, or one twice, are not canonical. */
    tc_evidence swapped = l.e;
    swapped.batch_a = l.e.batch_b;
    swapped.batch_b = l.e.batch_a;
    swapped.tx_a = l.e.tx_b;
    swapped.tx_b = l.e.tx_a;
    ENCODE(e, tc_evidence_encode, &swapped);
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), TC_ERANGE, "b before a");
    cr_assert(all_zero(&back, sizeof(back)));
    free(e.p);
    swapped.tx_a = swapped.tx_b;
    ENCODE(e, tc_evidence_encode, &swapped);
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), TC_ERANGE, "one tx twice");
    free(e.p);
    locks_deinit(&l);
}

Test(block, double_lock_tx_size_cap)
{
    /* 300 outputs take more than TC_EVIDENCE_TX_SIZE_MAX bytes. */
    locks_t small, big;
    make_locks(&small, 1);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(tc_tx_init_alloc(&big.tx[i], TC_TX_TRANSFER, 1, 300), 0);
        big.tx[i].outputs[0].amount = (uint64_t)i;
    }
    cr_assert_gt(tc_tx_encoded_size(&big.tx[0]), TC_EVIDENCE_TX_SIZE_MAX);
    tc_evidence e;
    cr_assert_eq(tc_evidence_from_locks(&e, &small.b[0], &big.tx[0], &small.b[1], &big.tx[1]),
                 TC_ETOOLONG);
    cr_assert(all_zero(&e, sizeof(e)));
    /* The decoder refuses it too: splice the big tx in place of tx a by hand. */
    buf_t enc;
    ENCODE(enc, tc_evidence_encode, &small.e);
    size_t big_n = tc_tx_encoded_size(&big.tx[0]);
    size_t tail = enc.n - LK_TX_A;
    uint8_t *p = malloc(LK_TX_A + big_n + tail);
    memcpy(p, enc.p, LK_TX_A);
    tc_writer w;
    tc_writer_init(&w, p + LK_TX_A, big_n);
    tc_tx_encode(&w, &big.tx[0]);
    memcpy(p + LK_TX_A + big_n, enc.p + LK_TX_A, tail);
    cr_assert_eq(tc_evidence_decode(&e, p, LK_TX_A + big_n + tail), TC_ETOOLONG);
    cr_assert(all_zero(&e, sizeof(e)));
    free(p);
    free(enc.p);
    tc_tx_deinit(&big.tx[0]);
    tc_tx_deinit(&big.tx[1]);
    locks_deinit(&small);
}

Test(block, block_with_double_lock_round_trips)
{
    locks_t l;
    make_locks(&l, 1);
    tc_block b, back;
    memset(&b, 0, sizeof(b));
    b.header.version = TC_BLOCK_VERSION;
    b.header.height = 9;
    b.header.evidence_count = 2;
    b.header.evidence = calloc(2, sizeof(tc_evidence));
    b.header.evidence[0] = make_evidence();
    cr_assert_eq(tc_evidence_copy(&b.header.evidence[1], &l.e), 0);
    uint8_t *enc = NULL, *again = NULL;
    size_t n = 0, n2 = 0;
    cr_assert_eq(tc_block_encode_alloc(&b, &enc, &n), 0);
    cr_assert_eq(tc_block_decode(&back, enc, n), 0);
    cr_assert_eq(tc_block_encode_alloc(&back, &again, &n2), 0);
    cr_assert(n2 == n && memcmp(enc, again, n) == 0, "canonical");
    tc_hash h1, h2;
    tc_block_hash(&b.header, &h1);
    tc_block_hash(&back.header, &h2);
    cr_assert_eq(memcmp(h1.b, h2.b, TC_HASH_SIZE), 0);
    free(enc);
    free(again);
    tc_block_deinit(&back);
    tc_block_deinit(&b);
    locks_deinit(&l);
}

/* ---- batch-equivocation evidence (kind 3) ---- */

typedef struct {
    tc_hash ids[3];
    tc_vote_batch b[2]; /* seq 7 of validator 2, epoch 3: {ids 0, 1} and {ids 0, 2} */
    tc_evidence e;      /* owned copy, canonical */
} beq_t;

static void sign_batch(tc_vote_batch *b, uint64_t key)
{
    tc_keypair kp;
    tc_hash h;
    ts_keypair(&kp, key);
    tc_vote_batch_sign_hash(b, &h);
    tc_sign(TC_SIG_ED25519, &kp, &h, &b->sig);
}

static void make_beq(beq_t *q)
{
    for (int i = 0; i < 3; i++)
        fill_hash(&q->ids[i], (uint8_t)(0x10 + i));
    for (int i = 0; i < 2; i++) {
        q->b[i] = (tc_vote_batch){.epoch = 3, .validator = 2, .seq = 7, .txid_count = 2};
        q->b[i].txids = i == 0 ? &q->ids[0] : calloc(2, sizeof(tc_hash));
        if (i == 1) {
            q->b[1].txids[0] = q->ids[0];
            q->b[1].txids[1] = q->ids[2];
        }
        sign_batch(&q->b[i], 2);
    }
    cr_assert_eq(tc_evidence_from_batches(&q->e, &q->b[1], &q->b[0]), 0);
}

static void beq_deinit(beq_t *q)
{
    free(q->b[1].txids);
    tc_evidence_deinit(&q->e);
}

/* Offsets in a kind-3 encoding whose batches name two txids each. */
#define BQ_EPOCH   1
#define BQ_SEQ_A   9
#define BQ_COUNT_A 17
#define BQ_SEQ_B   (BQ_COUNT_A + 4 + 2 * TC_HASH_SIZE + TC_SIG_SIZE)
#define BQ_SIZE    (BQ_SEQ_B + 8 + 4 + 2 * TC_HASH_SIZE + TC_SIG_SIZE)

Test(block, batch_equivocation_round_trip_hash_copy)
{
    beq_t q;
    make_beq(&q);
    cr_assert_eq(q.e.kind, TC_EVIDENCE_BATCH_EQUIVOCATION);
    cr_assert_eq(tc_evidence_check_shape(&q.e), 0);
    cr_assert_eq(tc_evidence_validator(&q.e), 2u);
    cr_assert(!tc_evidence_has_height(&q.e), "kind 3 names an epoch, not a height");
    tc_hash ha, hb;
    tc_vote_batch_sign_hash(&q.e.batch_a, &ha);
    tc_vote_batch_sign_hash(&q.e.batch_b, &hb);
    cr_assert(memcmp(ha.b, hb.b, TC_HASH_SIZE) < 0, "from_batches orders by sign hash");
    buf_t e, again;
    ENCODE(e, tc_evidence_encode, &q.e);
    cr_assert_eq(e.n, (size_t)BQ_SIZE, "size %zu", e.n);
    cr_assert_eq(e.p[0], TC_EVIDENCE_BATCH_EQUIVOCATION);
    cr_assert_eq(get_u32le(e.p + BQ_EPOCH), 3u);
    tc_evidence back, copy;
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), 0);
    ENCODE(again, tc_evidence_encode, &back);
    cr_assert_eq(again.n, e.n);
    cr_assert_eq(memcmp(again.p, e.p, e.n), 0, "re-encodes to the same bytes");
    tc_hash h, want, hc;
    tc_evidence_hash(&q.e, &h);
    tc_hash_tagged(&want, TC_TAG_EVIDENCE, e.p, e.n);
    cr_assert_eq(memcmp(h.b, want.b, TC_HASH_SIZE), 0, "hash covers the encoding");
    cr_assert_eq(tc_evidence_copy(&copy, &back), 0);
    tc_evidence_deinit(&back);
    tc_evidence_hash(&copy, &hc);
    cr_assert_eq(memcmp(hc.b, h.b, TC_HASH_SIZE), 0, "a copy outlives its source");
    tc_evidence_deinit(&copy);
    cr_assert(all_zero(&copy, sizeof(copy)), "deinit zeroes");
    free(e.p);
    free(again.p);
    beq_deinit(&q);
}

Test(block, batch_equivocation_decode_errors)
{
    beq_t q;
    make_beq(&q);
    buf_t e;
    tc_evidence back;
    ENCODE(e, tc_evidence_encode, &q.e);
    for (size_t n = 0; n < e.n; n++) {
        memset(&back, 0xee, sizeof(back));
        cr_assert_eq(tc_evidence_decode(&back, e.p, n), TC_ESHORT, "prefix %zu", n);
        cr_assert(all_zero(&back, sizeof(back)), "cleared at prefix %zu", n);
    }
    e.p[e.n] = 0;
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n + 1), TC_ETRAILING);
    e.p[BQ_SEQ_B] ^= 1; /* seq 6 or 7 vs 7: two seqs prove nothing */
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), TC_ERANGE, "two seqs");
    cr_assert(all_zero(&back, sizeof(back)));
    e.p[BQ_SEQ_B] ^= 1;
    put_le32(e.p + BQ_COUNT_A, 0);
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), TC_ERANGE, "batch a names nothing");
    put_le32(e.p + BQ_COUNT_A, 2);
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), 0, "restored");
    tc_evidence_deinit(&back);
    free(e.p);

    /* Out of sign-hash order, or one batch twice, is not canonical. */
    tc_evidence swapped = q.e;
    swapped.batch_a = q.e.batch_b;
    swapped.batch_b = q.e.batch_a;
    ENCODE(e, tc_evidence_encode, &swapped);
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), TC_ERANGE, "b before a");
    free(e.p);
    swapped.batch_a = swapped.batch_b;
    ENCODE(e, tc_evidence_encode, &swapped);
    cr_assert_eq(tc_evidence_decode(&back, e.p, e.n), TC_ERANGE, "one batch twice");
    free(e.p);
    e.p = calloc(1, 8);
    e.p[0] = TC_EVIDENCE_KIND_COUNT;
    cr_assert_eq(tc_evidence_decode(&back, e.p, 8), TC_ERANGE, "kind past the last");
    free(e.p);
    beq_deinit(&q);
}

Test(block, batch_equivocation_shape_rules)
{
    beq_t q;
    make_beq(&q);
    tc_evidence e;
    cr_assert_eq(tc_evidence_from_batches(&e, &q.b[0], &q.b[0]), TC_EBLK_EVIDENCE, "same batch");
    cr_assert(all_zero(&e, sizeof(e)));
    tc_vote_batch other = q.b[0];
    other.seq = 8;
    sign_batch(&other, 2);
    cr_assert_eq(tc_evidence_from_batches(&e, &q.b[1], &other), TC_EBLK_EVIDENCE, "two seqs");
    other = q.b[0];
    other.validator = 1;
    cr_assert_eq(tc_evidence_from_batches(&e, &q.b[1], &other), TC_EBLK_EVIDENCE, "two validators");
    other = q.b[0];
    other.epoch = 4;
    cr_assert_eq(tc_evidence_from_batches(&e, &q.b[1], &other), TC_EBLK_EVIDENCE, "two epochs");
    /* The same content under another signature is one batch, not an equivocation. */
    other = q.b[0];
    other.sig.b[0] ^= 1;
    cr_assert_eq(tc_evidence_from_batches(&e, &q.b[0], &other), TC_EBLK_EVIDENCE,
                 "same content, other signature");
    tc_hash unsorted[2] = {q.ids[2], q.ids[0]};
    other = q.b[0];
    other.txids = unsorted;
    cr_assert_eq(tc_evidence_from_batches(&e, &q.b[0], &other), TC_EBLK_EVIDENCE,
                 "txids not increasing");
    tc_evidence bad = q.e;
    bad.batch_b.seq = 9;
    cr_assert_eq(tc_evidence_check_shape(&bad), TC_EBLK_EVIDENCE, "seq changed after build");
    beq_deinit(&q);
}

/* ---- handoff-equivocation evidence (kind 4) ---- */

Test(block, handoff_equivocation_round_trip_and_errors)
{
    tc_handoff h1, h2;
    make_handoff(&h1, 2);
    make_handoff(&h2, 1); /* one txid less, same epoch 4 and validator 1 */
    tc_evidence e;
    cr_assert_eq(tc_evidence_from_handoffs(&e, &h1, &h2), 0);
    cr_assert_eq(e.kind, TC_EVIDENCE_HANDOFF_EQUIVOCATION);
    cr_assert_eq(tc_evidence_validator(&e), 1u);
    cr_assert_eq(tc_evidence_check_shape(&e), 0);
    cr_assert(!tc_evidence_has_height(&e));
    buf_t enc, again;
    ENCODE(enc, tc_evidence_encode, &e);
    cr_assert_eq(enc.n, 1 + 2 * (size_t)TC_HANDOFF_MIN_SIZE + 3 * TC_HASH_SIZE, "size %zu", enc.n);
    tc_evidence back, copy;
    cr_assert_eq(tc_evidence_decode(&back, enc.p, enc.n), 0);
    ENCODE(again, tc_evidence_encode, &back);
    cr_assert_eq(memcmp(again.p, enc.p, enc.n), 0, "re-encodes to the same bytes");
    cr_assert_eq(tc_evidence_copy(&copy, &back), 0);
    tc_evidence_deinit(&back);
    tc_hash h, hc;
    tc_evidence_hash(&e, &h);
    tc_evidence_hash(&copy, &hc);
    cr_assert_eq(memcmp(hc.b, h.b, TC_HASH_SIZE), 0, "a copy outlives its source");
    tc_evidence_deinit(&copy);
    for (size_t n = 0; n < enc.n; n++)
        cr_assert_eq(tc_evidence_decode(&back, enc.p, n), TC_ESHORT, "prefix %zu", n);
    free(again.p);
    free(enc.p);

    tc_evidence swapped = e;
    swapped.handoff_a = e.handoff_b;
    swapped.handoff_b = e.handoff_a;
    ENCODE(enc, tc_evidence_encode, &swapped);
    cr_assert_eq(tc_evidence_decode(&back, enc.p, enc.n), TC_ERANGE, "b before a");
    cr_assert_eq(tc_evidence_check_shape(&swapped), TC_EBLK_EVIDENCE);
    free(enc.p);
    swapped.handoff_b = swapped.handoff_a;
    cr_assert_eq(tc_evidence_check_shape(&swapped), TC_EBLK_EVIDENCE, "one handoff twice");
    tc_evidence_deinit(&e);

    cr_assert_eq(tc_evidence_from_handoffs(&e, &h1, &h1), TC_EBLK_EVIDENCE, "same handoff");
    tc_handoff other = h2;
    other.epoch = 5;
    cr_assert_eq(tc_evidence_from_handoffs(&e, &h1, &other), TC_EBLK_EVIDENCE, "two epochs");
    /* A kind-4 encoding whose epochs differ, in sign-hash order so only the epochs are wrong. */
    tc_hash s1, s2;
    tc_handoff_sign_hash(&h1, &s1);
    tc_handoff_sign_hash(&other, &s2);
    bool h1_first = memcmp(s1.b, s2.b, TC_HASH_SIZE) < 0;
    buf_t a;
    ENCODE(a, tc_handoff_encode, h1_first ? &h1 : &other);
    ENCODE(enc, tc_handoff_encode, h1_first ? &other : &h1);
    uint8_t *raw = malloc(1 + a.n + enc.n);
    raw[0] = TC_EVIDENCE_HANDOFF_EQUIVOCATION;
    memcpy(raw + 1, a.p, a.n);
    memcpy(raw + 1 + a.n, enc.p, enc.n);
    cr_assert_eq(tc_evidence_decode(&back, raw, 1 + a.n + enc.n), TC_ERANGE, "two epochs");
    free(raw);
    free(a.p);
    free(enc.p);
    other = h2;
    other.validator = 2;
    cr_assert_eq(tc_evidence_from_handoffs(&e, &h1, &other), TC_EBLK_EVIDENCE, "two validators");
    tc_handoff empty = h2;
    empty.txid_count = 0;
    cr_assert_eq(tc_evidence_from_handoffs(&e, &h1, &empty), 0, "an empty handoff is one too");
    tc_evidence_deinit(&e);
    tc_handoff_deinit(&h1);
    tc_handoff_deinit(&h2);
}
