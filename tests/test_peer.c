/* test_peer.c — peer policy: handshakes (accepted, and every refusal), token buckets with exact
 * refill arithmetic, misbehaviour and bans (threshold, doubling, cap, expiry, by host, bounded
 * table), idle timeout, ping/pong round trips, the seen filter (bound, FIFO order, against a
 * model), connection limits, the address book and CONNECT proposals, and next_deadline. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "msg_samples.h"
#include "peer.h"

/* ---- harness ---- */

#define LOG_MAX 512

typedef struct {
    tc_peer_action a;
    uint8_t frame[TC_MSG_PEERS_SIZE_MAX + 64];
} rec;

typedef struct {
    rec v[LOG_MAX];
    int n;
} act_log;

static act_log *L;      /* actions of the last drain */
static tc_msg *M;       /* message buffer for tc_peer_recv */
static tc_profile P;    /* the profile tables are made with */
static tc_keypair ME;   /* the table's identity */
static tc_hash GENESIS; /* matches ms_hello's genesis */
static const tc_verifier ED = {.scheme = TC_SIG_ED25519};

static void init(void)
{
    cr_assert_eq(tc_crypto_init(), 0);
    L = calloc(1, sizeof(*L));
    M = calloc(1, sizeof(*M));
    tc_profile_get(&P, TC_NET_TESTNET);
    ms_keypair(&ME, 100);
    memset(GENESIS.b, 0x99, TC_HASH_SIZE);
}

static void fini(void)
{
    free(L);
    free(M);
}

TestSuite(peer, .init = init, .fini = fini);

static void cfg_default(tc_peer_config *c)
{
    memset(c, 0, sizeof(*c));
    c->profile = &P;
    c->genesis_hash = GENESIS;
    c->identity = &ME;
    c->verifier = ED;
    memset(c->rng_seed, 0x31, sizeof(c->rng_seed));
    c->listen_port = 24100;
    c->validator_count = 4;
}

static tc_peer_table *mk_with(const tc_peer_config *c, uint64_t now_ms)
{
    tc_peer_table *t = NULL;
    cr_assert_eq(tc_peer_table_new(c, now_ms, &t), 0);
    return t;
}

static tc_peer_table *mk(uint64_t now_ms)
{
    tc_peer_config c;
    cfg_default(&c);
    return mk_with(&c, now_ms);
}

static void drain(tc_peer_table *t)
{
    L->n = 0;
    tc_peer_action a;
    while (tc_peer_next_action(t, &a)) {
        cr_assert_lt(L->n, LOG_MAX);
        rec *r = &L->v[L->n++];
        r->a = a;
        if (a.kind == TC_PEER_ACT_SEND) {
            cr_assert_leq(a.frame_len, sizeof(r->frame));
            memcpy(r->frame, a.frame, a.frame_len);
            r->a.frame = r->frame;
        }
    }
}

/* The index-th action of kind in the log (for peer, or any peer when peer is UINT32_MAX). */
static const rec *find(tc_peer_action_kind kind, tc_peer_id peer, int index)
{
    for (int i = 0; i < L->n; i++)
        if (L->v[i].a.kind == kind && (peer == UINT32_MAX || L->v[i].a.peer == peer) &&
            index-- == 0)
            return &L->v[i];
    return NULL;
}

static int count(tc_peer_action_kind kind)
{
    int n = 0;
    for (int i = 0; i < L->n; i++)
        n += L->v[i].a.kind == kind;
    return n;
}

/* The message of a SEND of type to peer in the log, decoded into *out; false if none. */
static bool sent(tc_peer_id peer, uint8_t type, tc_msg *out)
{
    for (int i = 0; i < L->n; i++) {
        const rec *r = &L->v[i];
        if (r->a.kind == TC_PEER_ACT_SEND && r->a.peer == peer && r->frame[4] == type) {
            cr_assert_eq(tc_msg_decode(r->frame, r->a.frame_len, out), 0);
            return true;
        }
    }
    return false;
}

static void expect_disconnect(tc_peer_id peer, int reason, uint64_t ban_until_ms)
{
    const rec *r = find(TC_PEER_ACT_DISCONNECT, peer, 0);
    cr_assert_not_null(r, "peer %u disconnected", peer);
    cr_assert_eq(r->a.reason, reason, "reason %d (%s), want %d (%s)", r->a.reason,
                 tc_strerror(r->a.reason), reason, tc_strerror(reason));
    cr_assert_eq(r->a.ban_until_ms, ban_until_ms, "ban until %lu, want %lu",
                 (unsigned long)r->a.ban_until_ms, (unsigned long)ban_until_ms);
}

/* Feeds a message (encoded here) to the table; deinits whatever was delivered. */
static int feed_msg(tc_peer_table *t, uint64_t now_ms, tc_peer_id peer, const tc_msg *m,
                    bool *deliver)
{
    size_t len = 0;
    uint8_t *f = ms_encode(m, &len);
    bool d = false;
    int rc = tc_peer_recv(t, now_ms, peer, f, len, M, &d);
    free(f);
    if (deliver != NULL)
        *deliver = d;
    cr_assert(d ? rc == 0 && M->type == m->type : M->type == 0);
    tc_msg_deinit(M);
    return rc;
}

static int feed_raw(tc_peer_table *t, uint64_t now_ms, tc_peer_id peer, const uint8_t *f,
                    size_t len)
{
    bool d = false;
    int rc = tc_peer_recv(t, now_ms, peer, f, len, M, &d);
    tc_msg_deinit(M);
    return rc;
}

/* What the node does with gossip it accepted: enters the key of the frame just delivered in the
 * seen filter. Returns whether the last call delivered gossip. */
static bool accept_last(tc_peer_table *t)
{
    tc_hash key, oid;
    bool has_oid = false;
    if (!tc_peer_recv_key(t, &key, &oid, &has_oid))
        return false;
    cr_assert(!tc_peer_seen_check_and_add(t, &key), "the delivered frame was not seen yet");
    return true;
}

/* ---- a scripted remote peer ---- */

typedef struct {
    tc_peer_id id;
    tc_keypair kp;
    uint8_t nonce[TC_MSG_NONCE_SIZE];       /* the remote's */
    uint8_t table_nonce[TC_MSG_NONCE_SIZE]; /* the table's, from its HELLO */
} remote;

static void remote_init(remote *r, tc_peer_id id, uint64_t key)
{
    memset(r, 0, sizeof(*r));
    r->id = id;
    ms_keypair(&r->kp, key);
    memset(r->nonce, (int)(0x10 + id), sizeof(r->nonce));
    r->nonce[31] = (uint8_t)key;
}

static void remote_hello(const remote *r, tc_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->type = TC_MSG_HELLO;
    ms_hello(&m->hello);
    m->hello.magic = P.magic;
    m->hello.version = P.protocol_version;
    m->hello.genesis = GENESIS;
    m->hello.pubkey = r->kp.pub;
    m->hello.listen_port = 7000;
    memcpy(m->hello.nonce, r->nonce, TC_MSG_NONCE_SIZE);
}

static void remote_auth(const remote *r, tc_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->type = TC_MSG_AUTH;
    tc_hash h;
    tc_msg_auth_hash(r->table_nonce, &r->kp.pub, &h);
    tc_sign(TC_SIG_ED25519, &r->kp, &h, &m->auth.sig);
}

/* tc_peer_up, and the table's HELLO captured. */
static void remote_up(tc_peer_table *t, remote *r, const char *addr, bool inbound, uint64_t now)
{
    cr_assert_eq(tc_peer_up(t, now, r->id, addr, inbound), 0);
    drain(t);
    tc_msg m;
    cr_assert(sent(r->id, TC_MSG_HELLO, &m), "HELLO sent on peer_up");
    cr_assert_eq(m.hello.magic, P.magic);
    cr_assert_arr_eq(m.hello.pubkey.b, ME.pub.b, TC_PUBKEY_SIZE);
    cr_assert_eq(m.hello.listen_port, 24100);
    cr_assert_str_eq(m.hello.user_agent, TC_PEER_USER_AGENT_DEFAULT);
    memcpy(r->table_nonce, m.hello.nonce, TC_MSG_NONCE_SIZE);
    tc_msg_deinit(&m);
}

/* The full handshake with a remote; the table ends READY. */
static void remote_ready(tc_peer_table *t, remote *r, const char *addr, bool inbound, uint64_t now)
{
    tc_msg m;
    remote_up(t, r, addr, inbound, now);
    remote_hello(r, &m);
    cr_assert_eq(feed_msg(t, now, r->id, &m, NULL), 0);
    drain(t);
    cr_assert(sent(r->id, TC_MSG_AUTH, &m), "AUTH answers HELLO");
    tc_hash h;
    tc_msg_auth_hash(r->nonce, &ME.pub, &h);
    cr_assert_eq(tc_verify(&ED, &ME.pub, &h, &m.auth.sig), 0, "AUTH signs our nonce and key");
    remote_auth(r, &m);
    cr_assert_eq(feed_msg(t, now, r->id, &m, NULL), 0);
    drain(t);
    cr_assert_not_null(find(TC_PEER_ACT_READY, r->id, 0));
}

static void sample(tc_msg *m, uint8_t type)
{
    ms_msg(m, type);
}

/* ---- handshake ---- */

Test(peer, handshake_between_two_tables)
{
    tc_keypair other;
    ms_keypair(&other, 101);
    tc_peer_config c;
    cfg_default(&c);
    tc_peer_table *a = mk_with(&c, 0);
    c.identity = &other;
    c.rng_seed[0] = 0x77;
    c.listen_port = 24200;
    tc_peer_table *b = mk_with(&c, 0);
    cr_assert_eq(tc_peer_up(a, 10, 1, "10.0.0.2:24200", false), 0);
    cr_assert_eq(tc_peer_up(b, 10, 9, "10.0.0.1:50000", true), 0);
    /* Pump frames both ways until neither has anything to send. */
    int ready_a = 0;
    int ready_b = 0;
    for (int round = 0; round < 10; round++) {
        tc_peer_table *from = round % 2 == 0 ? a : b;
        tc_peer_table *to = round % 2 == 0 ? b : a;
        tc_peer_id to_id = round % 2 == 0 ? 9 : 1;
        drain(from);
        ready_a += from == a ? count(TC_PEER_ACT_READY) : 0;
        ready_b += from == b ? count(TC_PEER_ACT_READY) : 0;
        cr_assert_eq(count(TC_PEER_ACT_DISCONNECT), 0);
        act_log copy = *L;
        for (int i = 0; i < copy.n; i++)
            if (copy.v[i].a.kind == TC_PEER_ACT_SEND)
                cr_assert_eq(feed_raw(to, 20, to_id, copy.v[i].frame, copy.v[i].a.frame_len), 0);
    }
    cr_assert_eq(ready_a, 1);
    cr_assert_eq(ready_b, 1);
    tc_peer_info ia;
    tc_peer_info ib;
    cr_assert_eq(tc_peer_info_get(a, 1, &ia), 0);
    cr_assert_eq(tc_peer_info_get(b, 9, &ib), 0);
    cr_assert(ia.ready && ib.ready);
    cr_assert_arr_eq(ia.pubkey.b, other.pub.b, TC_PUBKEY_SIZE);
    cr_assert_arr_eq(ib.pubkey.b, ME.pub.b, TC_PUBKEY_SIZE);
    cr_assert_str_eq(ib.listen_addr, "10.0.0.1:24100", "inbound peer's dialable address");
    /* a (outbound) asked b for peers; b answered and learnt a's listening address. */
    char addr[TC_PEER_ADDR_MAX];
    cr_assert_eq(tc_peer_book_get(b, 0, addr), 0);
    cr_assert_str_eq(addr, "10.0.0.1:24100");
    cr_assert_eq(tc_peer_book_get(a, 0, addr), 0);
    cr_assert_str_eq(addr, "10.0.0.2:24200");
    tc_peer_id ids[4];
    cr_assert_eq(tc_peer_ready_ids(a, ids, 4), 1);
    cr_assert_eq(ids[0], 1);
    tc_peer_table_free(a);
    tc_peer_table_free(b);
}

/* A HELLO from remote r with one field changed must close the connection with code. */
static void hello_refused(void (*tweak)(tc_msg_hello *), int code)
{
    tc_peer_table *t = mk(0);
    remote r;
    remote_init(&r, 5, 200);
    remote_up(t, &r, "10.1.1.1:9000", true, 0);
    tc_msg m;
    remote_hello(&r, &m);
    tweak(&m.hello);
    cr_assert_eq(feed_msg(t, 5, r.id, &m, NULL), code);
    drain(t);
    expect_disconnect(r.id, code, 0);
    cr_assert_null(find(TC_PEER_ACT_SEND, r.id, 0), "no AUTH for a refused HELLO");
    cr_assert_eq(feed_msg(t, 6, r.id, &m, NULL), TC_ENOTFOUND, "a closing peer is ignored");
    cr_assert(!tc_peer_is_banned(t, "10.1.1.1", 6, NULL), "no ban for a wrong network");
    tc_peer_table_free(t);
}

static void bad_magic(tc_msg_hello *h)
{
    h->magic ^= 1;
}
static void bad_version(tc_msg_hello *h)
{
    h->version++;
}
static void bad_genesis(tc_msg_hello *h)
{
    h->genesis.b[7] ^= 1;
}
static void own_key(tc_msg_hello *h)
{
    h->pubkey = ME.pub;
}

Test(peer, hello_with_wrong_magic_version_or_genesis_is_refused)
{
    hello_refused(bad_magic, TC_EPEER_MAGIC);
    hello_refused(bad_version, TC_EPEER_VERSION);
    hello_refused(bad_genesis, TC_EPEER_GENESIS);
    hello_refused(own_key, TC_EPEER_SELF);
}

Test(peer, auth_with_a_bad_signature_is_refused)
{
    tc_peer_table *t = mk(0);
    remote r;
    remote_init(&r, 5, 200);
    remote_up(t, &r, "10.1.1.1:9000", true, 0);
    tc_msg m;
    remote_hello(&r, &m);
    cr_assert_eq(feed_msg(t, 1, r.id, &m, NULL), 0);
    drain(t);
    remote_auth(&r, &m);
    m.auth.sig.b[3] ^= 1;
    cr_assert_eq(feed_msg(t, 2, r.id, &m, NULL), TC_EBADSIG);
    drain(t);
    expect_disconnect(r.id, TC_EBADSIG, 0);
    cr_assert_null(find(TC_PEER_ACT_READY, r.id, 0));
    /* An AUTH signed over someone else's nonce (a replay) fails the same way. */
    remote s;
    remote_init(&s, 6, 201);
    remote_up(t, &s, "10.1.1.2:9000", true, 3);
    remote_hello(&s, &m);
    cr_assert_eq(feed_msg(t, 3, s.id, &m, NULL), 0);
    memcpy(s.table_nonce, r.table_nonce, TC_MSG_NONCE_SIZE);
    remote_auth(&s, &m);
    cr_assert_eq(feed_msg(t, 4, s.id, &m, NULL), TC_EBADSIG);
    tc_peer_table_free(t);
}

Test(peer, a_reused_nonce_is_refused)
{
    tc_peer_table *t = mk(0);
    remote r;
    remote s;
    remote_init(&r, 5, 200);
    remote_init(&s, 6, 201);
    memcpy(s.nonce, r.nonce, TC_MSG_NONCE_SIZE); /* a replayed HELLO */
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    remote_up(t, &s, "10.1.1.2:9000", true, 1);
    tc_msg m;
    remote_hello(&s, &m);
    cr_assert_eq(feed_msg(t, 2, s.id, &m, NULL), TC_EPEER_NONCE);
    drain(t);
    expect_disconnect(s.id, TC_EPEER_NONCE, 0);
    tc_peer_table_free(t);
}

Test(peer, self_connection_is_detected_and_never_dialled_again)
{
    tc_peer_config c;
    cfg_default(&c);
    const char *seeds[] = {"127.0.0.1:24100"};
    c.seeds = seeds;
    c.seed_count = 1;
    tc_peer_table *t = mk_with(&c, 0);
    tc_peer_tick(t, 0);
    drain(t);
    const rec *conn = find(TC_PEER_ACT_CONNECT, UINT32_MAX, 0);
    cr_assert_not_null(conn);
    cr_assert_str_eq(conn->a.addr, "127.0.0.1:24100");
    /* The dial reaches ourselves: an outbound and an inbound connection of one table. */
    cr_assert_eq(tc_peer_up(t, 1, 1, "127.0.0.1:24100", false), 0);
    cr_assert_eq(tc_peer_up(t, 1, 2, "127.0.0.1:51000", true), 0);
    drain(t);
    uint8_t out_hello[256];
    const rec *h1 = find(TC_PEER_ACT_SEND, 1, 0);
    size_t n1 = h1->a.frame_len;
    memcpy(out_hello, h1->frame, n1);
    const rec *h2 = find(TC_PEER_ACT_SEND, 2, 0);
    cr_assert_eq(feed_raw(t, 2, 1, h2->frame, h2->a.frame_len), TC_EPEER_SELF);
    cr_assert_eq(feed_raw(t, 2, 2, out_hello, n1), TC_EPEER_SELF);
    drain(t);
    expect_disconnect(1, TC_EPEER_SELF, 0);
    expect_disconnect(2, TC_EPEER_SELF, 0);
    tc_peer_down(t, 3, 1);
    tc_peer_down(t, 3, 2);
    tc_peer_tick(t, 100000);
    drain(t);
    cr_assert_eq(count(TC_PEER_ACT_CONNECT), 0, "our own address is not dialled again");
    cr_assert_eq(tc_peer_next_deadline(t), UINT64_MAX);
    tc_peer_table_free(t);
}

Test(peer, handshake_timeout)
{
    tc_peer_table *t = mk(1000);
    tc_peer_tick(t, 1000); /* the creation-time discovery pass: an empty book */
    remote r;
    remote_init(&r, 5, 200);
    remote_up(t, &r, "10.1.1.1:9000", true, 1000);
    tc_msg m;
    remote_hello(&r, &m);
    cr_assert_eq(feed_msg(t, 5000, r.id, &m, NULL), 0); /* HELLO, but never AUTH */
    drain(t);
    cr_assert_eq(tc_peer_next_deadline(t), 1000 + P.handshake_timeout_ms);
    tc_peer_tick(t, 1000 + P.handshake_timeout_ms - 1);
    drain(t);
    cr_assert_eq(L->n, 0);
    tc_peer_tick(t, 1000 + P.handshake_timeout_ms);
    drain(t);
    expect_disconnect(r.id, TC_EPEER_HANDSHAKE_TIMEOUT, 0);
    tc_peer_info info;
    cr_assert_eq(tc_peer_info_get(t, r.id, &info), 0);
    cr_assert(info.closing && !info.ready);
    tc_peer_table_free(t);
}

Test(peer, messages_out_of_handshake_order_close_the_connection)
{
    tc_peer_table *t = mk(0);
    remote r;
    remote_init(&r, 5, 200);
    tc_msg m;
    /* PING before anything. */
    remote_up(t, &r, "10.1.1.1:9000", true, 0);
    sample(&m, TC_MSG_PING);
    cr_assert_eq(feed_msg(t, 1, r.id, &m, NULL), TC_EPEER_PROTOCOL);
    drain(t);
    expect_disconnect(r.id, TC_EPEER_PROTOCOL, 0);
    tc_peer_down(t, 2, r.id);
    /* AUTH before HELLO. */
    remote_up(t, &r, "10.1.1.1:9000", true, 3);
    remote_auth(&r, &m);
    cr_assert_eq(feed_msg(t, 4, r.id, &m, NULL), TC_EPEER_PROTOCOL);
    drain(t);
    expect_disconnect(r.id, TC_EPEER_PROTOCOL, 0);
    tc_peer_down(t, 5, r.id);
    /* HELLO twice. */
    r.nonce[0]++;
    remote_up(t, &r, "10.1.1.1:9000", true, 6);
    remote_hello(&r, &m);
    cr_assert_eq(feed_msg(t, 7, r.id, &m, NULL), 0);
    r.nonce[0]++;
    remote_hello(&r, &m);
    cr_assert_eq(feed_msg(t, 8, r.id, &m, NULL), TC_EPEER_PROTOCOL);
    drain(t);
    expect_disconnect(r.id, TC_EPEER_PROTOCOL, 0);
    tc_peer_down(t, 9, r.id);
    /* A malformed HELLO: the decode code is the reason. */
    uint8_t junk[] = {0, 0, 0, 3, TC_MSG_HELLO, 1, 2};
    remote_up(t, &r, "10.1.1.1:9000", true, 10);
    cr_assert_eq(feed_raw(t, 11, r.id, junk, sizeof(junk)), TC_ESHORT);
    drain(t);
    expect_disconnect(r.id, TC_ESHORT, 0);
    tc_peer_table_free(t);
}

Test(peer, handshake_messages_after_ready_are_protocol_offences)
{
    tc_peer_table *t = mk(0);
    remote r;
    remote_init(&r, 5, 200);
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    tc_msg m;
    remote_hello(&r, &m);
    cr_assert_eq(feed_msg(t, 1, r.id, &m, NULL), TC_EPEER_PROTOCOL);
    tc_peer_info info;
    tc_peer_info_get(t, r.id, &info);
    cr_assert_eq(info.points, TC_PEER_POINTS_PROTOCOL);
    cr_assert(info.ready, "one offence does not close the connection");
    tc_peer_table_free(t);
}

/* ---- token buckets ---- */

Test(peer, bucket_refill_is_exact)
{
    cr_assert_eq(tc_profile_set(&P, "rate_sync_per_s", 10), 0);
    cr_assert_eq(tc_profile_set(&P, "burst_sync", 5), 0);
    tc_peer_table *t = mk(0);
    remote r;
    remote_init(&r, 5, 200);
    remote_ready(t, &r, "10.1.1.1:9000", true, 1000);
    tc_msg m;
    sample(&m, TC_MSG_STATUS);
    bool d = false;
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(feed_msg(t, 1000, r.id, &m, &d), 0, "burst message %d", i);
        cr_assert(d, "STATUS is delivered to the node");
    }
    cr_assert_eq(feed_msg(t, 1000, r.id, &m, &d), TC_EPEER_RATE);
    cr_assert(!d);
    /* 10 messages/s = 10 millitokens per ms: 99 ms bring 990, one short of a message. */
    cr_assert_eq(feed_msg(t, 1099, r.id, &m, NULL), TC_EPEER_RATE);
    cr_assert_eq(feed_msg(t, 1100, r.id, &m, NULL), 0, "1000 millitokens after 100 ms");
    cr_assert_eq(feed_msg(t, 1100, r.id, &m, NULL), TC_EPEER_RATE);
    /* A long pause refills to the burst, no further. */
    for (int i = 0; i < 5; i++)
        cr_assert_eq(feed_msg(t, 100000, r.id, &m, NULL), 0);
    cr_assert_eq(feed_msg(t, 100000, r.id, &m, NULL), TC_EPEER_RATE);
    tc_peer_info info;
    tc_peer_info_get(t, r.id, &info);
    cr_assert_eq(info.drops[TC_PEER_CAT_SYNC], 4);
    cr_assert_eq(info.drops[TC_PEER_CAT_TX], 0);
    cr_assert_eq(info.points, 0, "drops alone are no offence");
    /* Categories are independent: PING still has its own budget. */
    sample(&m, TC_MSG_PING);
    cr_assert_eq(feed_msg(t, 100000, r.id, &m, NULL), 0);
    drain(t);
    tc_msg pong;
    cr_assert(sent(r.id, TC_MSG_PONG, &pong));
    cr_assert_eq(pong.pong.nonce, m.ping.nonce, "PONG echoes the nonce");
    tc_peer_table_free(t);
    tc_profile_get(&P, TC_NET_TESTNET);
}

/* A finality bucket of one token (1/s, burst 1, nothing per validator). */
static void finality_budget_one(void)
{
    cr_assert_eq(tc_profile_set(&P, "rate_finality_per_s", 1), 0);
    cr_assert_eq(tc_profile_set(&P, "rate_finality_per_validator_per_s", 0), 0);
    cr_assert_eq(tc_profile_set(&P, "burst_finality", 1), 0);
    cr_assert_eq(tc_profile_set(&P, "burst_finality_per_validator", 0), 0);
}

Test(peer, consensus_budget_scales_with_validators)
{
    finality_budget_one();
    cr_assert_eq(tc_profile_set(&P, "rate_consensus_per_s", 1), 0);
    cr_assert_eq(tc_profile_set(&P, "rate_consensus_per_validator_per_s", 1), 0);
    cr_assert_eq(tc_profile_set(&P, "burst_consensus", 2), 0);
    cr_assert_eq(tc_profile_set(&P, "burst_consensus_per_validator", 1), 0);
    tc_peer_config c;
    cfg_default(&c);
    c.validator_count = 3; /* rate 1 + 3 = 4/s, burst 2 + 3 = 5 */
    tc_peer_table *t = mk_with(&c, 0);
    remote r;
    remote_init(&r, 5, 200);
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    tc_msg batch;
    sample(&batch, TC_MSG_VOTE_BATCH);
    cr_assert_eq(feed_msg(t, 0, r.id, &batch, NULL), 0, "the finality bucket's one token");
    tc_msg_deinit(&batch);
    tc_msg m;
    uint64_t h = 1;
    for (int i = 0; i < 5; i++, h++) {
        ms_vote(&m.vote, TC_VOTE_PREVOTE, h, 0, 1, 2);
        m.type = TC_MSG_PREVOTE;
        cr_assert_eq(feed_msg(t, 0, r.id, &m, NULL), 0, "vote %d within the burst", i);
    }
    ms_vote(&m.vote, TC_VOTE_PREVOTE, h++, 0, 1, 2);
    cr_assert_eq(feed_msg(t, 0, r.id, &m, NULL), TC_EPEER_RATE);
    /* 4/s: 249 ms bring 996 millitokens, 250 ms a whole message. */
    ms_vote(&m.vote, TC_VOTE_PREVOTE, h++, 0, 1, 2);
    cr_assert_eq(feed_msg(t, 249, r.id, &m, NULL), TC_EPEER_RATE);
    cr_assert_eq(feed_msg(t, 250, r.id, &m, NULL), 0);
    /* Fewer validators, smaller burst: after a long pause only 2 + 1 = 3 pass (the finality
     * bucket, which a vote over budget may borrow from, is emptied first). */
    tc_peer_set_validator_count(t, 1);
    sample(&batch, TC_MSG_VOTE_BATCH);
    batch.vote_batch.seq++; /* a new frame for the seen filter */
    cr_assert_eq(feed_msg(t, 60000, r.id, &batch, NULL), 0, "the finality bucket's one token");
    tc_msg_deinit(&batch);
    for (int i = 0; i < 4; i++, h++) {
        ms_vote(&m.vote, TC_VOTE_PREVOTE, h, 0, 1, 2);
        cr_assert_eq(feed_msg(t, 60000, r.id, &m, NULL), i < 3 ? 0 : TC_EPEER_RATE, "vote %d", i);
    }
    tc_peer_table_free(t);
    tc_profile_get(&P, TC_NET_TESTNET);
}

/* The vote batch with seq, so that each fed batch is a new frame for the seen filter. */
static int feed_batch(tc_peer_table *t, uint64_t now_ms, tc_peer_id peer, uint64_t seq)
{
    tc_msg m;
    sample(&m, TC_MSG_VOTE_BATCH);
    m.vote_batch.seq = seq;
    int rc = feed_msg(t, now_ms, peer, &m, NULL);
    tc_msg_deinit(&m);
    return rc;
}

static int feed_vote(tc_peer_table *t, uint64_t now_ms, tc_peer_id peer, uint8_t type, uint64_t h)
{
    tc_msg m;
    ms_vote(&m.vote, type == TC_MSG_PREVOTE ? TC_VOTE_PREVOTE : TC_VOTE_PRECOMMIT, h, 0, 1, 2);
    m.type = type;
    return feed_msg(t, now_ms, peer, &m, NULL);
}

/* Vote batches over their budget are dropped in their own category; proposals, prevotes and
 * precommits of the same peer still pass on the consensus budget (SPEC 7: finality traffic can
 * never starve block consensus). Before the split, 128 validators under load shared one bucket. */
Test(peer, finality_traffic_never_starves_consensus)
{
    cr_assert_eq(tc_profile_set(&P, "rate_finality_per_s", 10), 0);
    cr_assert_eq(tc_profile_set(&P, "rate_finality_per_validator_per_s", 0), 0);
    cr_assert_eq(tc_profile_set(&P, "burst_finality", 20), 0);
    cr_assert_eq(tc_profile_set(&P, "burst_finality_per_validator", 0), 0);
    tc_peer_table *t = mk(0); /* 4 validators: consensus 100 + 800 = 900/s, burst 600 */
    remote r;
    remote_init(&r, 5, 200);
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    uint64_t seq = 1;
    for (int i = 0; i < 20; i++)
        cr_assert_eq(feed_batch(t, 0, r.id, seq++), 0, "batch %d within the finality burst", i);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(feed_batch(t, 0, r.id, seq++), TC_EPEER_RATE, "batch %d over budget", i);
    for (uint64_t h = 1; h <= 250; h++) { /* 500 of the 600-vote burst */
        cr_assert_eq(feed_vote(t, 0, r.id, TC_MSG_PREVOTE, h), 0, "prevote at height %lu",
                     (unsigned long)h);
        cr_assert_eq(feed_vote(t, 0, r.id, TC_MSG_PRECOMMIT, h), 0, "precommit at height %lu",
                     (unsigned long)h);
    }
    tc_msg m;
    sample(&m, TC_MSG_PROPOSAL);
    int rc = feed_msg(t, 0, r.id, &m, NULL);
    cr_assert_eq(rc, 0, "a proposal after 1000 dropped batches (%d)", rc);
    tc_msg_deinit(&m);
    tc_peer_info info;
    tc_peer_info_get(t, r.id, &info);
    cr_assert_eq(info.drops[TC_PEER_CAT_FINALITY], 1000);
    cr_assert_eq(info.drops[TC_PEER_CAT_CONSENSUS], 0);
    tc_peer_stats st;
    tc_peer_stats_get(t, &st);
    cr_assert_eq(st.drops[TC_PEER_CAT_FINALITY], 1000, "the table counts drops by category");
    cr_assert_eq(st.drops[TC_PEER_CAT_CONSENSUS], 0);
    cr_assert_eq(st.rate_drops, 1000);
    /* Refill is the finality rate's: 10/s, one batch per 100 ms. */
    cr_assert_eq(feed_batch(t, 99, r.id, seq++), TC_EPEER_RATE);
    cr_assert_eq(feed_batch(t, 100, r.id, seq++), 0);
    tc_peer_table_free(t);
    tc_profile_get(&P, TC_NET_TESTNET);
}

/* Priority: a consensus message over its budget takes a spare finality token; finality traffic
 * over its budget never takes a consensus token. */
Test(peer, consensus_borrows_spare_finality_tokens_never_the_reverse)
{
    cr_assert_eq(tc_profile_set(&P, "rate_consensus_per_s", 1), 0);
    cr_assert_eq(tc_profile_set(&P, "rate_consensus_per_validator_per_s", 0), 0);
    cr_assert_eq(tc_profile_set(&P, "burst_consensus", 1), 0);
    cr_assert_eq(tc_profile_set(&P, "burst_consensus_per_validator", 0), 0);
    cr_assert_eq(tc_profile_set(&P, "rate_finality_per_s", 1), 0);
    cr_assert_eq(tc_profile_set(&P, "rate_finality_per_validator_per_s", 0), 0);
    cr_assert_eq(tc_profile_set(&P, "burst_finality", 3), 0);
    cr_assert_eq(tc_profile_set(&P, "burst_finality_per_validator", 0), 0);
    tc_peer_table *t = mk(0);
    remote r;
    remote_init(&r, 5, 200);
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    /* One consensus token, then the three finality ones, then nothing. */
    for (uint64_t h = 1; h <= 4; h++)
        cr_assert_eq(feed_vote(t, 0, r.id, TC_MSG_PREVOTE, h), 0, "prevote %lu", (unsigned long)h);
    cr_assert_eq(feed_vote(t, 0, r.id, TC_MSG_PREVOTE, 5), TC_EPEER_RATE);
    cr_assert_eq(feed_batch(t, 0, r.id, 1), TC_EPEER_RATE, "the votes took finality's tokens");
    /* After 1 s each bucket holds one token: two batches find one, and leave consensus's. */
    cr_assert_eq(feed_batch(t, 1000, r.id, 2), 0);
    cr_assert_eq(feed_batch(t, 1000, r.id, 3), TC_EPEER_RATE, "no consensus token for a batch");
    cr_assert_eq(feed_vote(t, 1000, r.id, TC_MSG_PRECOMMIT, 6), 0, "the consensus token is left");
    cr_assert_eq(feed_vote(t, 1000, r.id, TC_MSG_PRECOMMIT, 7), TC_EPEER_RATE);
    tc_peer_info info;
    tc_peer_info_get(t, r.id, &info);
    cr_assert_eq(info.drops[TC_PEER_CAT_CONSENSUS], 2, "prevote 5 and precommit 7");
    cr_assert_eq(info.drops[TC_PEER_CAT_FINALITY], 2, "batches 1 and 3");
    tc_peer_table_free(t);
    tc_profile_get(&P, TC_NET_TESTNET);
}

/* A burst of any size within one window is what an honest peer sends after this node resumes
 * from a pause: dropped and counted, never scored. */
Test(peer, a_burst_of_drops_is_no_offence)
{
    cr_assert_eq(tc_profile_set(&P, "rate_sync_per_s", 1), 0);
    cr_assert_eq(tc_profile_set(&P, "burst_sync", 1), 0);
    tc_peer_table *t = mk(0);
    remote r;
    remote_init(&r, 5, 200);
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    tc_msg m;
    sample(&m, TC_MSG_STATUS);
    cr_assert_eq(feed_msg(t, 0, r.id, &m, NULL), 0);
    for (uint32_t i = 0; i < 100 * TC_PEER_FLOOD_DROPS; i++)
        cr_assert_eq(feed_msg(t, 500, r.id, &m, NULL), TC_EPEER_RATE);
    tc_peer_info info;
    tc_peer_info_get(t, r.id, &info);
    cr_assert_eq(info.points, 0);
    cr_assert(!info.closing);
    tc_peer_stats st;
    tc_peer_stats_get(t, &st);
    cr_assert_eq(st.rate_drops, 100 * TC_PEER_FLOOD_DROPS);
    tc_peer_table_free(t);
    tc_profile_get(&P, TC_NET_TESTNET);
}

/* Flooded windows in a row: the first TC_PEER_FLOOD_GRACE are forgiven, each further one is a
 * FLOOD offence, so ten more reach the threshold; a quiet window starts the count again. */
Test(peer, a_sustained_flood_becomes_an_offence)
{
    cr_assert_eq(tc_profile_set(&P, "rate_sync_per_s", 1), 0);
    cr_assert_eq(tc_profile_set(&P, "burst_sync", 1), 0);
    tc_peer_table *t = mk(0);
    remote r;
    remote_init(&r, 5, 200);
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    tc_msg m;
    sample(&m, TC_MSG_STATUS);
    cr_assert_eq(feed_msg(t, 0, r.id, &m, NULL), 0);
    tc_peer_info info;
    /* Four flooded windows, one quiet one: the run starts again. */
    uint64_t now = 0;
    for (uint32_t w = 0; w < 5; w++, now += TC_PEER_FLOOD_WINDOW_MS)
        for (uint32_t i = 0; w != 4 && i < 2 * TC_PEER_FLOOD_DROPS; i++)
            (void)feed_msg(t, now + i, r.id, &m, NULL);
    tc_peer_info_get(t, r.id, &info);
    cr_assert_eq(info.points, 0);
    uint32_t windows = 0;
    while (!info.closing && windows < TC_PEER_FLOOD_GRACE + 20) {
        windows++;
        for (uint32_t i = 0; i < 2 * TC_PEER_FLOOD_DROPS; i++)
            (void)feed_msg(t, now + i, r.id, &m, NULL);
        now += TC_PEER_FLOOD_WINDOW_MS;
        tc_peer_info_get(t, r.id, &info);
        uint32_t scored = windows > TC_PEER_FLOOD_GRACE ? windows - TC_PEER_FLOOD_GRACE : 0;
        cr_assert(info.closing || info.points == scored * TC_PEER_POINTS_FLOOD,
                  "window %u: %u points", windows, info.points);
    }
    /* Ten scored windows = 100 points = the threshold. */
    cr_assert_eq(windows, TC_PEER_FLOOD_GRACE + 10);
    cr_assert(info.closing);
    drain(t);
    /* In the last window the first message had a token; the ban came with the 100th drop. */
    uint64_t banned_at = now - TC_PEER_FLOOD_WINDOW_MS + TC_PEER_FLOOD_DROPS;
    expect_disconnect(r.id, TC_EPEER_MISBEHAVIOUR, banned_at + P.ban_base_ms);
    tc_peer_table_free(t);
    tc_profile_get(&P, TC_NET_TESTNET);
}

/* ---- misbehaviour and bans ---- */

Test(peer, threshold_disconnects_and_bans_the_host)
{
    tc_peer_table *t = mk(0);
    remote r;
    remote s;
    remote_init(&r, 5, 200);
    remote_init(&s, 6, 201);
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    remote_ready(t, &s, "10.1.1.1:9001", true, 0); /* same host, another port */
    uint8_t junk[] = {0, 0, 0, 2, TC_MSG_STATUS, 1};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(feed_raw(t, 1000, r.id, junk, sizeof(junk)), TC_ESHORT);
    drain(t);
    cr_assert_eq(count(TC_PEER_ACT_DISCONNECT), 0, "75 points: still connected");
    cr_assert_eq(feed_raw(t, 1000, r.id, junk, sizeof(junk)), TC_ESHORT);
    drain(t);
    uint64_t until = 1000 + P.ban_base_ms;
    expect_disconnect(r.id, TC_EPEER_MISBEHAVIOUR, until);
    expect_disconnect(s.id, TC_EPEER_BANNED, until);
    uint64_t got = 0;
    cr_assert(tc_peer_is_banned(t, "10.1.1.1", 1000, &got));
    cr_assert_eq(got, until);
    cr_assert(!tc_peer_is_banned(t, "10.1.1.2", 1000, NULL));
    /* A new connection from the host, any port, is refused until the ban ends. */
    cr_assert_eq(tc_peer_up(t, 2000, 7, "10.1.1.1:12345", true), TC_EPEER_BANNED);
    drain(t);
    expect_disconnect(7, TC_EPEER_BANNED, until);
    cr_assert(tc_peer_is_banned(t, "10.1.1.1", until - 1, NULL));
    cr_assert(!tc_peer_is_banned(t, "10.1.1.1", until, NULL), "bans expire");
    cr_assert_eq(tc_peer_up(t, until, 7, "10.1.1.1:12345", true), 0);
    /* Node-reported offences count the same way. */
    tc_peer_down(t, until, r.id);
    tc_peer_down(t, until, s.id);
    remote_init(&r, 8, 202);
    remote_ready(t, &r, "10.2.2.2:9000", true, until);
    cr_assert_eq(tc_peer_offence(t, until, r.id, TC_PEER_OFFENCE_BAD_SIG), 0);
    cr_assert_eq(tc_peer_offence(t, until, r.id, TC_PEER_OFFENCE_BAD_SIG), TC_EPEER_MISBEHAVIOUR);
    cr_assert_eq(tc_peer_offence(t, until, r.id, TC_PEER_OFFENCE_BAD_SIG), TC_ENOTFOUND);
    tc_peer_stats st;
    tc_peer_stats_get(t, &st);
    cr_assert_eq(st.bans, 2);
    cr_assert_eq(st.offences, 6);
    tc_peer_table_free(t);
}

Test(peer, points_decay_over_time)
{
    tc_peer_table *t = mk(0);
    remote r;
    remote_init(&r, 5, 200);
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    cr_assert_eq(tc_peer_offence(t, 0, r.id, TC_PEER_OFFENCE_MALFORMED), 0);
    cr_assert_eq(tc_peer_offence(t, 0, r.id, TC_PEER_OFFENCE_MALFORMED), 0);
    cr_assert_eq(tc_peer_offence(t, 0, r.id, TC_PEER_OFFENCE_MALFORMED), 0); /* 75 */
    /* 30.5 decay periods later 30 points are forgiven: 45 + 25 = 70, still below 100. */
    uint64_t later = 30 * (uint64_t)P.misbehaviour_decay_ms + P.misbehaviour_decay_ms / 2;
    cr_assert_eq(tc_peer_offence(t, later, r.id, TC_PEER_OFFENCE_MALFORMED), 0);
    tc_peer_info info;
    tc_peer_info_get(t, r.id, &info);
    cr_assert_eq(info.points, 70);
    tc_peer_table_free(t);
}

Test(peer, ban_doubles_per_repeat_up_to_the_cap_and_is_forgiven)
{
    tc_peer_table *t = mk(0);
    uint64_t now = 0;
    uint64_t until = 0;
    uint64_t want = P.ban_base_ms;
    uint64_t last = 0;
    for (int i = 0; i < 14; i++) {
        cr_assert_eq(tc_peer_ban_host(t, now, "10.9.9.9", &until), 0);
        last = until - now;
        cr_assert_eq(last, want, "ban %d lasts %lu", i, (unsigned long)last);
        cr_assert(tc_peer_is_banned(t, "10.9.9.9", until - 1, NULL));
        cr_assert(!tc_peer_is_banned(t, "10.9.9.9", until, NULL));
        now = until; /* the next offence right after the ban ends */
        want = want * 2 < P.ban_max_ms ? want * 2 : P.ban_max_ms;
    }
    cr_assert_eq(last, P.ban_max_ms, "capped at 24 h");
    cr_assert_eq(P.ban_base_ms << 10, 61440000u, "the 11th ban is the last doubling");
    /* Quiet for longer than the longest ban: back to the base. */
    now = until + P.ban_max_ms;
    cr_assert_eq(tc_peer_ban_host(t, now, "10.9.9.9", &until), 0);
    cr_assert_eq(until - now, P.ban_base_ms);
    cr_assert_eq(tc_peer_ban_host(t, now, "", &until), TC_EINVAL);
    tc_peer_table_free(t);
}

Test(peer, ban_table_is_bounded_and_evicts_deterministically)
{
    tc_peer_config c;
    cfg_default(&c);
    c.bans_max = 3;
    tc_peer_table *t = mk_with(&c, 0);
    uint64_t u = 0;
    tc_peer_ban_host(t, 0, "h1", &u);  /* until 60000 */
    tc_peer_ban_host(t, 10, "h2", &u); /* until 60010 */
    tc_peer_ban_host(t, 20, "h3", &u); /* until 60020 */
    tc_peer_ban_host(t, 20, "h3", &u); /* h3 again: until 20 + 120000 */
    cr_assert_eq(u, 120020);
    /* Full and none expired: the entry expiring first (h1) goes. */
    tc_peer_ban_host(t, 30, "h4", &u);
    cr_assert(!tc_peer_is_banned(t, "h1", 30, NULL));
    cr_assert(tc_peer_is_banned(t, "h2", 30, NULL) && tc_peer_is_banned(t, "h3", 30, NULL));
    /* At 70000 h2 and h4 expired: h2 expired first and goes; h3 (banned) and h4 stay. */
    tc_peer_ban_host(t, 70000, "h5", &u);
    tc_peer_stats st;
    tc_peer_stats_get(t, &st);
    cr_assert_eq(st.ban_entries, 3);
    cr_assert(tc_peer_is_banned(t, "h3", 70000, NULL));
    /* h4 kept its strike: banned again, it doubles. */
    tc_peer_ban_host(t, 70000, "h4", &u);
    cr_assert_eq(u, 70000 + 2 * (uint64_t)P.ban_base_ms);
    /* h2 was evicted with its strike: back at the base. None is expired now, so the entry
     * expiring first goes: h3 (120020, before h5's 130000 and h4's 190000). */
    tc_peer_ban_host(t, 70000, "h2", &u);
    cr_assert_eq(u, 70000 + (uint64_t)P.ban_base_ms);
    cr_assert(!tc_peer_is_banned(t, "h3", 70000, NULL));
    cr_assert(tc_peer_is_banned(t, "h5", 70000, NULL));
    cr_assert(tc_peer_is_banned(t, "h4", 70000, NULL));
    tc_peer_table_free(t);
}

/* ---- liveness ---- */

/* The READY list is cached: it follows peers becoming READY, closing and going down, in id
 * order whatever the slots' order. */
Test(peer, ready_ids_follow_every_state_change)
{
    tc_peer_table *t = mk(0);
    remote a, b, c;
    remote_init(&a, 9, 200);
    remote_init(&b, 4, 201);
    remote_init(&c, 7, 202);
    tc_peer_id ids[4];
    remote_ready(t, &a, "10.1.1.1:9000", true, 1000);
    remote_up(t, &b, "10.1.1.2:9000", true, 1000);
    cr_assert_eq(tc_peer_ready_ids(t, ids, 4), 1, "b is still in its handshake");
    cr_assert_eq(ids[0], 9);
    remote_ready(t, &c, "10.1.1.3:9000", true, 1000);
    cr_assert_eq(tc_peer_ready_ids(t, ids, 4), 2);
    cr_assert(ids[0] == 7 && ids[1] == 9, "id order");
    cr_assert_eq(tc_peer_ready_ids(t, ids, 1), 2, "the count is all of them");
    cr_assert_eq(ids[0], 7, "the smallest first");
    tc_peer_down(t, 2000, c.id);
    cr_assert_eq(tc_peer_ready_ids(t, ids, 4), 1, "c went down");
    cr_assert_eq(ids[0], 9);
    tc_peer_down(t, 2000, b.id);
    tc_peer_down(t, 2000, a.id);
    cr_assert_eq(tc_peer_ready_ids(t, ids, 4), 0);
    tc_peer_table_free(t);
}

/* The next deadline is cached: a slot whose deadline held the minimum and moves later (a
 * handshake completing, a PING sent, a peer gone) hands it to the next slot. */
Test(peer, next_deadline_follows_the_earliest_slot)
{
    tc_peer_table *t = mk(0);
    tc_peer_tick(t, 0);
    remote a, b;
    remote_init(&a, 5, 200);
    remote_init(&b, 6, 201);
    remote_ready(t, &a, "10.1.1.1:9000", true, 1000);
    tc_peer_tick(t, 1000); /* discovery ran: only the slots' deadlines are left */
    drain(t);
    cr_assert_eq(tc_peer_next_deadline(t), 1000 + P.ping_interval_ms, "a's PING");
    remote_up(t, &b, "10.1.1.2:9000", true, 2000);
    cr_assert_eq(tc_peer_next_deadline(t), 2000 + P.handshake_timeout_ms, "b's handshake first");
    tc_msg m;
    remote_hello(&b, &m);
    cr_assert_eq(feed_msg(t, 3000, b.id, &m, NULL), 0);
    drain(t);
    remote_auth(&b, &m);
    cr_assert_eq(feed_msg(t, 3000, b.id, &m, NULL), 0);
    drain(t);
    cr_assert_eq(tc_peer_next_deadline(t), 3000, "b's address in the book: discovery is due");
    tc_peer_tick(t, 3000);
    drain(t);
    cr_assert_eq(tc_peer_next_deadline(t), 1000 + P.ping_interval_ms, "b is READY: a's PING again");
    tc_peer_tick(t, 1000 + P.ping_interval_ms);
    drain(t);
    cr_assert_eq(tc_peer_next_deadline(t), 3000 + P.ping_interval_ms, "a pinged: b's PING next");
    tc_peer_down(t, 3500 + P.ping_interval_ms, b.id);
    cr_assert_eq(tc_peer_next_deadline(t), 1000 + 2 * P.ping_interval_ms, "b gone: a's next PING");
    tc_peer_table_free(t);
}

Test(peer, idle_timeout_and_ping_schedule)
{
    tc_peer_table *t = mk(0);
    tc_peer_tick(t, 0);
    remote r;
    remote_init(&r, 5, 200);
    remote_ready(t, &r, "10.1.1.1:9000", true, 1000);
    /* READY put the peer's listening address in the book, so discovery is due now; it finds
     * the address connected already and proposes nothing. */
    cr_assert_eq(tc_peer_next_deadline(t), 1000);
    tc_peer_tick(t, 1000);
    drain(t);
    cr_assert_eq(L->n, 0);
    cr_assert_eq(tc_peer_next_deadline(t), 1000 + P.ping_interval_ms);
    int pings = 0;
    for (uint64_t now = 1000; now < 1000 + P.idle_timeout_ms; now += 1000) {
        tc_peer_tick(t, now);
        drain(t);
        pings += count(TC_PEER_ACT_SEND);
        cr_assert_eq(count(TC_PEER_ACT_DISCONNECT), 0, "at %lu", (unsigned long)now);
    }
    cr_assert_eq(pings, (int)(P.idle_timeout_ms / P.ping_interval_ms) - 1, "a PING every 30 s");
    cr_assert_eq(tc_peer_next_deadline(t), 1000 + P.idle_timeout_ms);
    tc_peer_tick(t, 1000 + P.idle_timeout_ms);
    drain(t);
    expect_disconnect(r.id, TC_EPEER_IDLE, 0);
    tc_peer_table_free(t);
}

Test(peer, a_frame_resets_the_idle_clock)
{
    tc_peer_table *t = mk(0);
    remote r;
    remote_init(&r, 5, 200);
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    tc_msg m;
    sample(&m, TC_MSG_STATUS);
    cr_assert_eq(feed_msg(t, 200000, r.id, &m, NULL), 0);
    tc_peer_tick(t, P.idle_timeout_ms);
    drain(t);
    cr_assert_eq(count(TC_PEER_ACT_DISCONNECT), 0);
    tc_peer_tick(t, 200000 + P.idle_timeout_ms);
    drain(t);
    expect_disconnect(r.id, TC_EPEER_IDLE, 0);
    tc_peer_table_free(t);
}

Test(peer, pong_gives_round_trip_times)
{
    tc_peer_table *t = mk(0);
    remote r;
    remote_init(&r, 5, 200);
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    uint64_t at = P.ping_interval_ms;
    tc_msg ping;
    tc_msg pong;
    memset(&pong, 0, sizeof(pong));
    pong.type = TC_MSG_PONG;
    uint64_t rtts[] = {40, 120, 0};
    uint64_t srtts[] = {40, 50, 43}; /* (7 * 40 + 120) / 8 = 50; (7 * 50 + 0) / 8 = 43 */
    for (int i = 0; i < 3; i++, at += P.ping_interval_ms) {
        tc_peer_tick(t, at);
        drain(t);
        cr_assert(sent(r.id, TC_MSG_PING, &ping), "PING %d", i);
        pong.pong.nonce = ping.ping.nonce;
        cr_assert_eq(feed_msg(t, at + rtts[i], r.id, &pong, NULL), 0);
        tc_peer_info info;
        tc_peer_info_get(t, r.id, &info);
        cr_assert(info.has_rtt);
        cr_assert_eq(info.rtt_ms, rtts[i]);
        cr_assert_eq(info.srtt_ms, srtts[i], "srtt %lu", (unsigned long)info.srtt_ms);
    }
    /* The same PONG again, or a wrong nonce, is unsolicited: counted, never scored (a late
     * answer to a replaced PING is honest). */
    cr_assert_eq(feed_msg(t, at, r.id, &pong, NULL), 0);
    tc_peer_info info;
    tc_peer_info_get(t, r.id, &info);
    cr_assert_eq(info.points, 0);
    cr_assert_eq(info.rtt_ms, 0, "unchanged");
    tc_peer_stats st;
    tc_peer_stats_get(t, &st);
    cr_assert_eq(st.pongs_unsolicited, 1);
    tc_peer_table_free(t);
}

/* ---- seen filter ---- */

static tc_hash id_of(uint32_t v)
{
    tc_hash h;
    memset(&h, 0, sizeof(h));
    /* Only two low bits differ in the first 8 bytes: most ids share a home slot, so probe
     * chains and backward-shift deletion get exercised. */
    h.b[0] = (uint8_t)(v & 3);
    h.b[8] = (uint8_t)v;
    h.b[9] = (uint8_t)(v >> 8);
    h.b[10] = (uint8_t)(v >> 16);
    return h;
}

Test(peer, seen_filter_is_a_bounded_fifo)
{
    tc_peer_config c;
    cfg_default(&c);
    c.seen_max = 4;
    tc_peer_table *t = mk_with(&c, 0);
    tc_hash h[8];
    for (uint32_t i = 0; i < 8; i++)
        h[i] = id_of(i + 1);
    for (int i = 0; i < 4; i++)
        cr_assert(!tc_peer_seen_check_and_add(t, &h[i]), "new id %d", i);
    cr_assert(tc_peer_seen_check_and_add(t, &h[0]), "seen id 0");
    cr_assert(!tc_peer_seen_check_and_add(t, &h[4]), "id 4 evicts id 0, the oldest");
    cr_assert(tc_peer_seen_check_and_add(t, &h[1]));
    cr_assert(!tc_peer_seen_check_and_add(t, &h[0]), "id 0 is new again, evicting id 1");
    cr_assert(!tc_peer_seen_check_and_add(t, &h[1]), "id 1 was evicted; now evicts id 2");
    cr_assert(tc_peer_seen_check_and_add(t, &h[3]));
    cr_assert(tc_peer_seen_check_and_add(t, &h[4]));
    cr_assert(!tc_peer_seen_check_and_add(t, &h[2]));
    tc_peer_stats st;
    tc_peer_stats_get(t, &st);
    cr_assert_eq(st.seen_entries, 4);
    tc_peer_table_free(t);
}

/* Keys are keyed: one message has one key in a table, another in a table with another key. A
 * small message is keyed by its type and payload, so any changed byte changes the key. */
Test(peer, gossip_ids_are_keyed_per_table)
{
    tc_peer_config c;
    cfg_default(&c);
    tc_peer_table *a = mk_with(&c, 0);
    c.rng_seed[0] ^= 1;
    tc_peer_table *b = mk_with(&c, 0);
    tc_msg m;
    sample(&m, TC_MSG_HEARTBEAT);
    size_t len = 0;
    uint8_t *frame = ms_encode(&m, &len);
    tc_hash ia, ia2, ib;
    tc_peer_gossip_id(a, &m, frame, len, &ia);
    tc_peer_gossip_id(a, &m, frame, len, &ia2);
    tc_peer_gossip_id(b, &m, frame, len, &ib);
    cr_assert_arr_eq(ia.b, ia2.b, TC_HASH_SIZE);
    cr_assert(memcmp(ia.b, ib.b, TC_HASH_SIZE) != 0, "another key, another id");
    static const uint8_t zero[TC_HASH_SIZE - TC_SHORTHASH_SIZE];
    cr_assert_arr_eq(ia.b + TC_SHORTHASH_SIZE, zero, sizeof(zero));
    uint8_t want[TC_SHORTHASH_SIZE];
    tc_hash key;
    cfg_default(&c);
    tc_hash_tagged(&key, TC_TAG_GOSSIPKEY, c.rng_seed, sizeof(c.rng_seed));
    tc_shorthash(want, frame + 4, len - 4, key.b);
    cr_assert_arr_eq(ia.b, want, TC_SHORTHASH_SIZE, "the documented construction");
    for (size_t i = 5; i < len; i += 7) {
        frame[i] ^= 0x10;
        tc_peer_gossip_id(a, &m, frame, len, &ia2);
        cr_assert(memcmp(ia.b, ia2.b, TC_HASH_SIZE) != 0, "byte %zu", i);
        frame[i] ^= 0x10;
    }
    free(frame);
    tc_peer_table_free(a);
    tc_peer_table_free(b);
}

/* An object's key is its id's first 16 bytes under the table's secret salt (bytes 16..31 of the
 * hash that also gives the SipHash key): the first word through splitmix64's finalizer, the
 * second with the type folded in. Another table (another seed) has other keys; bytes past the
 * 16th are not part of the key. */
static uint64_t ref_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

Test(peer, object_keys_are_a_salted_mix_of_the_id)
{
    tc_peer_config c;
    cfg_default(&c);
    tc_peer_table *a = mk_with(&c, 0);
    tc_hash secret;
    tc_hash_tagged(&secret, TC_TAG_GOSSIPKEY, c.rng_seed, sizeof(c.rng_seed));
    c.rng_seed[0] ^= 1;
    tc_peer_table *b = mk_with(&c, 0);
    tc_hash id, ka, kb, k2;
    tc_hash_tagged(&id, "test/id", "x", 1);
    tc_peer_object_key(a, TC_MSG_VOTE_BATCH, &id, &ka);
    uint64_t w0 = ref_mix(tc_load_u64(id.b) ^ tc_load_u64(secret.b + 16));
    uint64_t w1 = tc_load_u64(id.b + 8) ^ tc_load_u64(secret.b + 24) ^
                  (uint64_t)TC_MSG_VOTE_BATCH * UINT64_C(0x9e3779b97f4a7c15);
    cr_assert_eq(tc_load_u64(ka.b), w0, "the first word: %016llx", (unsigned long long)w0);
    cr_assert_eq(tc_load_u64(ka.b + 8), w1, "the second word: %016llx", (unsigned long long)w1);
    static const uint8_t zero[TC_HASH_SIZE - 16];
    cr_assert_arr_eq(ka.b + 16, zero, sizeof(zero), "the rest of the key is zero");
    tc_peer_object_key(b, TC_MSG_VOTE_BATCH, &id, &kb);
    cr_assert(memcmp(ka.b, kb.b, 16) != 0, "another table's salt, another key");
    tc_peer_object_key(a, TC_MSG_TX, &id, &k2);
    cr_assert(memcmp(ka.b, k2.b, 16) != 0, "another type, another key");
    for (size_t i = 0; i < TC_HASH_SIZE; i++) {
        id.b[i] ^= 0x40;
        tc_peer_object_key(a, TC_MSG_VOTE_BATCH, &id, &k2);
        if (i < 16)
            cr_assert(memcmp(ka.b, k2.b, 16) != 0, "byte %zu is in the key", i);
        else
            cr_assert_arr_eq(ka.b, k2.b, 16, "byte %zu is not", i);
        id.b[i] ^= 0x40;
    }
    tc_peer_table_free(a);
    tc_peer_table_free(b);
}

/* The protocol ids (PROTOCOL 10.9): a TX is keyed by its txid, a VOTE_BATCH by its signed hash
 * and a PROPOSAL by (height, round, pol_round, signature) whatever its block's bytes, each equal
 * to the key of the object an IHAVE names. */
Test(peer, gossip_keys_are_protocol_ids)
{
    tc_peer_table *t = mk(0);
    tc_msg m;
    size_t len = 0;
    tc_hash k, want, id;
    sample(&m, TC_MSG_TX);
    uint8_t *f = ms_encode(&m, &len);
    tc_peer_gossip_id(t, &m, f, len, &k);
    tc_tx_id(&m.tx, &id);
    tc_peer_object_key(t, TC_MSG_TX, &id, &want);
    cr_assert_arr_eq(k.b, want.b, TC_HASH_SIZE, "a TX by its txid");
    tc_peer_object_key(t, TC_MSG_VOTE_BATCH, &id, &want);
    cr_assert(memcmp(k.b, want.b, TC_HASH_SIZE) != 0, "the type is part of the key");
    free(f);
    tc_msg_deinit(&m);
    sample(&m, TC_MSG_VOTE_BATCH);
    f = ms_encode(&m, &len);
    tc_peer_gossip_id(t, &m, f, len, &k);
    tc_msg_vote_batch_sign_hash(&m.vote_batch, &id);
    tc_peer_object_key(t, TC_MSG_VOTE_BATCH, &id, &want);
    cr_assert_arr_eq(k.b, want.b, TC_HASH_SIZE, "a VOTE_BATCH by its signed hash");
    free(f);
    tc_msg_deinit(&m);
    sample(&m, TC_MSG_PROPOSAL);
    f = ms_encode(&m, &len);
    tc_peer_gossip_id(t, &m, f, len, &k);
    cr_assert_eq(tc_msg_frame_proposal_id(f, len, &id), 0);
    tc_peer_object_key(t, TC_MSG_PROPOSAL, &id, &want);
    cr_assert_arr_eq(k.b, want.b, TC_HASH_SIZE, "a PROPOSAL by its proposal id");
    f[len - TC_SIG_SIZE - 1] ^= 1; /* a byte of the block: the key leaves it out */
    tc_peer_gossip_id(t, &m, f, len, &want);
    cr_assert_arr_eq(k.b, want.b, TC_HASH_SIZE, "a PROPOSAL's block is not hashed");
    f[len - 1] ^= 1; /* a byte of the signature */
    tc_peer_gossip_id(t, &m, f, len, &want);
    cr_assert(memcmp(k.b, want.b, TC_HASH_SIZE) != 0, "its signature is");
    f[TC_MSG_HEADER_SIZE + 8] ^= 1; /* its round */
    f[len - 1] ^= 1;
    tc_peer_gossip_id(t, &m, f, len, &want);
    cr_assert(memcmp(k.b, want.b, TC_HASH_SIZE) != 0, "and its round");
    free(f);
    tc_msg_deinit(&m);
    tc_peer_table_free(t);
}

Test(peer, seen_filter_matches_a_model)
{
    enum { CAP = 64, OPS = 20000, SPACE = 200 };
    tc_peer_config c;
    cfg_default(&c);
    c.seen_max = CAP;
    tc_peer_table *t = mk_with(&c, 0);
    uint32_t ring[CAP];
    uint32_t n = 0;
    uint32_t head = 0;
    tc_rng rng;
    tc_rng_init_u64(&rng, 42);
    for (int op = 0; op < OPS; op++) {
        uint32_t v = (uint32_t)tc_rng_below(&rng, SPACE);
        bool in = false;
        for (uint32_t i = 0; i < n; i++)
            in = in || ring[i] == v;
        tc_hash id = id_of(v);
        cr_assert_eq(tc_peer_seen_check_and_add(t, &id), in, "op %d value %u", op, v);
        if (!in) {
            ring[head] = v;
            head = (head + 1) % CAP;
            n += n < CAP;
        }
    }
    tc_peer_table_free(t);
}

/* A gossip id whose first four bytes (the index tag, hence the home slot) take only tags
 * values, spread over the index, and whose other meaningful bytes spread v over bytes 4..15:
 * ids crowd into a few probe chains apart from one another (so a deletion that broke a chain
 * would not be healed by the next insertion), and most share a tag and differ only where the
 * index cannot see, so every match must be confirmed on the ring. */
static tc_hash id_tagged(uint32_t v, uint32_t tags)
{
    tc_hash h;
    memset(&h, 0, sizeof(h));
    uint32_t tag = (v % tags) * 97;
    h.b[0] = (uint8_t)tag;
    h.b[1] = (uint8_t)(tag >> 8);
    h.b[4] = (uint8_t)v;
    h.b[9] = (uint8_t)(v >> 8);
    h.b[15] = (uint8_t)(v >> 16);
    return h;
}

/* Ids that agree on their tag and differ in one byte anywhere in the 16 meaningful ones are
 * distinct; each is found again once entered. */
Test(peer, seen_filter_compares_every_meaningful_byte)
{
    tc_peer_config c;
    cfg_default(&c);
    c.seen_max = 64;
    tc_peer_table *t = mk_with(&c, 0);
    tc_hash base;
    memset(&base, 0, sizeof(base));
    memset(base.b, 0x5a, TC_SHORTHASH_SIZE);
    cr_assert(!tc_peer_seen_check_and_add(t, &base), "the base id is new");
    for (int i = 0; i < TC_SHORTHASH_SIZE; i++) {
        tc_hash v = base;
        v.b[i] ^= 0x80;
        cr_assert(!tc_peer_seen_check_and_add(t, &v), "differs in byte %d: new", i);
        cr_assert(tc_peer_seen_check_and_add(t, &v), "byte %d variant: seen", i);
    }
    cr_assert(tc_peer_seen_check_and_add(t, &base), "the base id is still there");
    tc_peer_stats st;
    tc_peer_stats_get(t, &st);
    cr_assert_eq(st.seen_entries, 1 + TC_SHORTHASH_SIZE);
    tc_peer_table_free(t);
}

/* Long after the ring wrapped (many evictions through crowded probe chains), it holds exactly
 * the last seen_max distinct ids: each is found, and each evicted one is new again, in FIFO
 * order. */
Test(peer, seen_filter_finds_every_id_after_evictions)
{
    enum { CAP = 300, IDS = 5000, TAGS = 16 };
    tc_peer_config c;
    cfg_default(&c);
    c.seen_max = CAP;
    tc_peer_table *t = mk_with(&c, 0);
    for (uint32_t v = 0; v < IDS; v++) {
        tc_hash id = id_tagged(v, TAGS);
        cr_assert(!tc_peer_seen_check_and_add(t, &id), "id %u is new", v);
    }
    for (uint32_t v = IDS - CAP; v < IDS; v++) {
        tc_hash id = id_tagged(v, TAGS);
        cr_assert(tc_peer_seen_check_and_add(t, &id), "id %u is among the last %d", v, CAP);
    }
    tc_peer_stats st;
    tc_peer_stats_get(t, &st);
    cr_assert_eq(st.seen_entries, CAP);
    /* The oldest goes first: each new id evicts the window's oldest and keeps the next. */
    for (uint32_t k = 0; k < 10; k++) {
        tc_hash fresh = id_tagged(IDS + k, TAGS);
        cr_assert(!tc_peer_seen_check_and_add(t, &fresh), "id %u is new", IDS + k);
        tc_hash next = id_tagged(IDS - CAP + k + 1, TAGS);
        cr_assert(tc_peer_seen_check_and_add(t, &next), "id %u, now the oldest, stays",
                  IDS - CAP + k + 1);
    }
    for (uint32_t v = IDS - CAP + 10; v < IDS + 10; v++) {
        tc_hash id = id_tagged(v, TAGS);
        cr_assert(tc_peer_seen_check_and_add(t, &id), "id %u is in the window", v);
    }
    tc_hash evicted = id_tagged(IDS - CAP + 9, TAGS);
    cr_assert(!tc_peer_seen_check_and_add(t, &evicted), "the last evicted id is new again");
    tc_peer_stats_get(t, &st);
    cr_assert_eq(st.seen_entries, CAP);
    tc_peer_table_free(t);
}

/* An id with bytes past the shorthash set is no gossip id: a caller's bug, asserted. */
Test(peer, seen_filter_refuses_an_id_that_is_not_a_gossip_id, .signal = SIGABRT)
{
    tc_peer_table *t = mk(0);
    tc_hash id;
    memset(&id, 0, sizeof(id));
    id.b[TC_HASH_SIZE - 1] = 1;
    (void)tc_peer_seen_check_and_add(t, &id);
}

/* The receive path needs no cleared message: a dropped frame leaves it empty (type 0), and a
 * delivered one decodes fully into a buffer that held garbage. */
Test(peer, recv_needs_no_cleared_message)
{
    tc_peer_table *t = mk(0);
    remote r;
    remote_init(&r, 5, 200);
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    tc_msg m;
    sample(&m, TC_MSG_TX);
    size_t len = 0;
    uint8_t *f = ms_encode(&m, &len);
    memset(M, 0xee, sizeof(*M));
    bool d = false;
    cr_assert_eq(tc_peer_recv(t, 1, r.id, f, len, M, &d), 0);
    cr_assert(d);
    size_t len2 = 0;
    uint8_t *f2 = ms_encode(M, &len2);
    cr_assert_eq(len2, len);
    cr_assert_arr_eq(f2, f, len, "the delivered TX is the frame's, byte for byte");
    tc_msg_deinit(M);
    cr_assert_eq(M->type, 0);
    cr_assert(accept_last(t), "the node accepts it");
    memset(M, 0xee, sizeof(*M));
    cr_assert_eq(tc_peer_recv(t, 1, r.id, f, len, M, &d), TC_EPEER_DUPLICATE);
    cr_assert(!d);
    cr_assert_eq(M->type, 0, "a dropped frame leaves the message empty");
    tc_msg_deinit(M); /* and safe to deinit */
    memset(M, 0xee, sizeof(*M));
    cr_assert_eq(tc_peer_recv(t, 1, 99, f, len, M, &d), TC_ENOTFOUND);
    cr_assert_eq(M->type, 0, "an unknown peer leaves it empty too");
    free(f);
    free(f2);
    tc_msg_deinit(&m);
    tc_peer_table_free(t);
}

Test(peer, gossip_seen_twice_is_dropped)
{
    tc_peer_table *t = mk(0);
    remote r;
    remote s;
    remote_init(&r, 5, 200);
    remote_init(&s, 6, 201);
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    remote_ready(t, &s, "10.1.1.2:9000", true, 0);
    tc_msg m;
    sample(&m, TC_MSG_TX);
    bool d = false;
    cr_assert_eq(feed_msg(t, 1, r.id, &m, &d), 0);
    cr_assert(d);
    cr_assert(accept_last(t));
    cr_assert_eq(feed_msg(t, 1, s.id, &m, &d), TC_EPEER_DUPLICATE, "relayed by another peer");
    cr_assert(!d);
    tc_msg_deinit(&m);
    /* What the node originates it enters itself, so an echo is dropped. */
    sample(&m, TC_MSG_HEARTBEAT);
    size_t len = 0;
    uint8_t *f = ms_encode(&m, &len);
    tc_hash id;
    tc_peer_gossip_id(t, &m, f, len, &id);
    cr_assert(!tc_peer_seen_check_and_add(t, &id));
    cr_assert_eq(feed_raw(t, 2, r.id, f, len), TC_EPEER_DUPLICATE);
    free(f);
    /* STATUS is not gossip: repeats are delivered. */
    sample(&m, TC_MSG_STATUS);
    cr_assert_eq(feed_msg(t, 3, r.id, &m, &d), 0);
    cr_assert_eq(feed_msg(t, 3, r.id, &m, &d), 0);
    cr_assert(d);
    tc_peer_stats st;
    tc_peer_stats_get(t, &st);
    cr_assert_eq(st.duplicate_drops, 2);
    tc_peer_table_free(t);
}

Test(peer, oversized_frames_close_the_connection)
{
    tc_peer_table *t = mk(0);
    remote r;
    remote_init(&r, 5, 200);
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    size_t big = (size_t)P.frame_size_max + 1;
    uint8_t *f = calloc(1, big);
    cr_assert_eq(feed_raw(t, 1, r.id, f, big), TC_ETOOLONG);
    free(f);
    drain(t);
    expect_disconnect(r.id, TC_ETOOLONG, 0);
    tc_peer_table_free(t);
}

/* ---- connection limits ---- */

Test(peer, inbound_and_outbound_limits)
{
    cr_assert_eq(tc_profile_set(&P, "inbound_max", 2), 0);
    cr_assert_eq(tc_profile_set(&P, "outbound_max", 1), 0);
    tc_peer_table *t = mk(0);
    cr_assert_eq(tc_peer_up(t, 0, 1, "10.0.0.1:1", true), 0);
    cr_assert_eq(tc_peer_up(t, 0, 2, "10.0.0.2:1", true), 0);
    cr_assert_eq(tc_peer_up(t, 0, 3, "10.0.0.3:1", true), TC_EPEER_LIMIT);
    cr_assert_eq(tc_peer_up(t, 0, 4, "10.0.0.4:1", false), 0);
    cr_assert_eq(tc_peer_up(t, 0, 5, "10.0.0.5:1", false), TC_EPEER_LIMIT);
    cr_assert_eq(tc_peer_up(t, 0, 1, "10.0.0.9:1", true), TC_EEXIST);
    drain(t);
    expect_disconnect(3, TC_EPEER_LIMIT, 0);
    expect_disconnect(5, TC_EPEER_LIMIT, 0);
    tc_peer_stats st;
    tc_peer_stats_get(t, &st);
    cr_assert_eq(st.inbound, 2);
    cr_assert_eq(st.outbound, 1);
    tc_peer_down(t, 1, 2);
    cr_assert_eq(tc_peer_up(t, 1, 3, "10.0.0.3:1", true), 0, "room again");
    cr_assert_eq(tc_peer_up(t, 1, 7, ":1", true), TC_EINVAL, "no host");
    cr_assert_eq(tc_peer_up(t, 1, 8, NULL, true), TC_EINVAL);
    char longest[TC_PEER_ADDR_MAX + 1];
    memset(longest, 'h', TC_PEER_ADDR_MAX);
    memcpy(longest + TC_PEER_ADDR_MAX - 2, ":1", 3); /* 64 bytes: one too many */
    cr_assert_eq(tc_peer_up(t, 1, 9, longest, true), TC_EINVAL);
    drain(t);
    expect_disconnect(9, TC_EINVAL, 0);
    tc_peer_table_free(t);
    tc_profile_get(&P, TC_NET_TESTNET);
}

/* ---- discovery ---- */

Test(peer, book_validates_and_bounds_its_entries)
{
    tc_peer_config c;
    cfg_default(&c);
    const char *seeds[] = {"seed.example:24100"};
    c.seeds = seeds;
    c.seed_count = 1;
    c.book_max = 3;
    tc_peer_table *t = mk_with(&c, 0);
    const char *bad[] = {"nohost", ":24100", "h:0",   "h:65536", "h:024100",
                         "h:",     "h:12a",  "a b:1", "h:123456"};
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++)
        cr_assert_eq(tc_peer_book_add(t, 0, bad[i]), TC_EINVAL, "%s", bad[i]);
    cr_assert_eq(tc_peer_book_add(t, 0, "a:1"), 0);
    cr_assert_eq(tc_peer_book_add(t, 0, "a:1"), TC_EEXIST);
    cr_assert_eq(tc_peer_book_add(t, 0, "[::1]:65535"), 0);
    cr_assert_eq(tc_peer_book_add(t, 0, "c:3"), 0, "full: the oldest unpinned entry goes");
    char addr[TC_PEER_ADDR_MAX];
    const char *want[] = {"seed.example:24100", "[::1]:65535", "c:3"};
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert_eq(tc_peer_book_get(t, i, addr), 0);
        cr_assert_str_eq(addr, want[i]);
    }
    cr_assert_eq(tc_peer_book_get(t, 3, addr), TC_ENOTFOUND);
    tc_peer_table_free(t);
    /* A book of seeds only cannot take more. */
    c.book_max = 1;
    t = mk_with(&c, 0);
    cr_assert_eq(tc_peer_book_add(t, 0, "a:1"), TC_EFULL);
    tc_peer_table_free(t);
    c.book_max = 0;
    const char *bad_seed[] = {"noport"};
    c.seeds = bad_seed;
    tc_peer_table *u = NULL;
    cr_assert_eq(tc_peer_table_new(&c, 0, &u), TC_EINVAL);
    cr_assert_null(u);
}

Test(peer, connect_proposals_skip_banned_hosts_and_retry_later)
{
    cr_assert_eq(tc_profile_set(&P, "outbound_max", 2), 0);
    tc_peer_config c;
    cfg_default(&c);
    const char *seeds[] = {"1.1.1.1:1", "2.2.2.2:2", "3.3.3.3:3"};
    c.seeds = seeds;
    c.seed_count = 3;
    tc_peer_table *t = mk_with(&c, 0);
    uint64_t until = 0;
    tc_peer_ban_host(t, 0, "2.2.2.2", &until);
    cr_assert_eq(tc_peer_next_deadline(t), 0, "discovery is due at creation");
    tc_peer_tick(t, 0);
    drain(t);
    cr_assert_eq(count(TC_PEER_ACT_CONNECT), 2);
    cr_assert_str_eq(find(TC_PEER_ACT_CONNECT, UINT32_MAX, 0)->a.addr, "1.1.1.1:1");
    cr_assert_str_eq(find(TC_PEER_ACT_CONNECT, UINT32_MAX, 1)->a.addr, "3.3.3.3:3");
    cr_assert_eq(tc_peer_next_deadline(t), P.handshake_timeout_ms, "pending CONNECTs expire");
    /* 1.1.1.1 connects; 3.3.3.3 never does. */
    cr_assert_eq(tc_peer_up(t, 100, 1, "1.1.1.1:1", false), 0);
    drain(t);
    tc_peer_tick(t, 5000);
    drain(t);
    cr_assert_eq(count(TC_PEER_ACT_CONNECT), 0, "still pending: nothing to add");
    tc_peer_tick(t, P.handshake_timeout_ms);
    drain(t);
    cr_assert_eq(count(TC_PEER_ACT_CONNECT), 0, "3.3.3.3 waits its retry, 2.2.2.2 its ban");
    cr_assert_eq(tc_peer_next_deadline(t), 100 + P.handshake_timeout_ms,
                 "the handshake deadline of peer 1 comes first");
    remote r;
    remote_init(&r, 1, 200);
    tc_peer_down(t, 200, 1);
    remote_ready(t, &r, "1.1.1.1:1", false, 300);
    tc_peer_tick(t, 400);
    drain(t);
    cr_assert_eq(count(TC_PEER_ACT_CONNECT), 0);
    uint64_t d = tc_peer_next_deadline(t);
    cr_assert_eq(d, P.connect_retry_ms, "the retry of 3.3.3.3 (%lu)", (unsigned long)d);
    tc_peer_tick(t, P.connect_retry_ms);
    drain(t);
    cr_assert_eq(count(TC_PEER_ACT_CONNECT), 1);
    cr_assert_str_eq(find(TC_PEER_ACT_CONNECT, UINT32_MAX, 0)->a.addr, "3.3.3.3:3");
    tc_peer_table_free(t);
    tc_profile_get(&P, TC_NET_TESTNET);
}

Test(peer, get_peers_and_peers)
{
    tc_peer_config c;
    cfg_default(&c);
    const char *seeds[] = {"1.1.1.1:1", "2.2.2.2:2", "3.3.3.3:3"};
    c.seeds = seeds;
    c.seed_count = 3;
    tc_peer_table *t = mk_with(&c, 0);
    tc_peer_tick(t, 0);
    drain(t);
    uint64_t until = 0;
    tc_peer_ban_host(t, 0, "2.2.2.2", &until);
    remote r;
    remote_init(&r, 9, 200);
    remote_ready(t, &r, "3.3.3.3:3", false, 10);
    tc_msg m;
    cr_assert(sent(r.id, TC_MSG_GET_PEERS, &m), "outbound peers are asked for addresses");
    /* It asks us: banned hosts and its own address are left out. */
    memset(&m, 0, sizeof(m));
    m.type = TC_MSG_GET_PEERS;
    cr_assert_eq(feed_msg(t, 20, r.id, &m, NULL), 0);
    drain(t);
    tc_msg reply;
    cr_assert(sent(r.id, TC_MSG_PEERS, &reply));
    cr_assert_eq(reply.peers.addr_count, 1);
    cr_assert_str_eq(reply.peers.addrs[0], "1.1.1.1:1");
    /* Its answer fills our book (bad addresses skipped); a second, unasked one is an offence. */
    sample(&m, TC_MSG_PEERS);
    cr_assert_eq(feed_msg(t, 30, r.id, &m, NULL), 0);
    tc_peer_stats st;
    tc_peer_stats_get(t, &st);
    cr_assert_eq(st.book_entries, 6);
    cr_assert_eq(feed_msg(t, 30, r.id, &m, NULL), 0);
    tc_peer_info info;
    tc_peer_info_get(t, r.id, &info);
    cr_assert_eq(info.points, TC_PEER_POINTS_UNSOLICITED);
    tc_peer_table_free(t);
}

/* ---- deadlines and helpers ---- */

Test(peer, next_deadline_values)
{
    tc_peer_table *t = mk(500);
    cr_assert_eq(tc_peer_next_deadline(t), 500, "discovery due at creation");
    tc_peer_tick(t, 500);
    drain(t);
    cr_assert_eq(tc_peer_next_deadline(t), UINT64_MAX, "empty book, no peers: nothing to do");
    remote r;
    remote_init(&r, 5, 200);
    remote_up(t, &r, "10.1.1.1:9000", true, 1000);
    cr_assert_eq(tc_peer_next_deadline(t), 1000 + P.handshake_timeout_ms);
    remote s;
    remote_init(&s, 6, 201);
    remote_ready(t, &s, "10.1.1.2:9000", true, 2000);
    cr_assert_eq(tc_peer_next_deadline(t), 2000, "a new book entry makes discovery due");
    tc_peer_tick(t, 2000);
    cr_assert_eq(tc_peer_next_deadline(t), 1000 + P.handshake_timeout_ms);
    tc_peer_down(t, 3000, r.id);
    cr_assert_eq(tc_peer_next_deadline(t), 2000 + P.ping_interval_ms, "ping before idle");
    tc_peer_table_free(t);
}

/* Every type byte's category, as peer.h lists them. */
Test(peer, categories_of_every_type_byte)
{
    static const struct {
        uint8_t type;
        tc_peer_category cat;
    } want[] = {
        {TC_MSG_HELLO, TC_PEER_CAT_COUNT},
        {TC_MSG_AUTH, TC_PEER_CAT_COUNT},
        {TC_MSG_PING, TC_PEER_CAT_PING},
        {TC_MSG_PONG, TC_PEER_CAT_PING},
        {TC_MSG_GET_PEERS, TC_PEER_CAT_DISCOVERY},
        {TC_MSG_PEERS, TC_PEER_CAT_DISCOVERY},
        {TC_MSG_STATUS, TC_PEER_CAT_SYNC},
        {TC_MSG_TX, TC_PEER_CAT_TX},
        {TC_MSG_VOTE_BATCH, TC_PEER_CAT_FINALITY},
        {TC_MSG_GET_VOTE_BATCHES, TC_PEER_CAT_SYNC},
        {TC_MSG_PROPOSAL, TC_PEER_CAT_CONSENSUS},
        {TC_MSG_PREVOTE, TC_PEER_CAT_CONSENSUS},
        {TC_MSG_PRECOMMIT, TC_PEER_CAT_CONSENSUS},
        {TC_MSG_GET_BLOCKS, TC_PEER_CAT_SYNC},
        {TC_MSG_BLOCKS, TC_PEER_CAT_SYNC},
        {TC_MSG_HEARTBEAT, TC_PEER_CAT_FINALITY},
        {TC_MSG_HANDOFF, TC_PEER_CAT_FINALITY},
        {TC_MSG_EVIDENCE, TC_PEER_CAT_FINALITY},
        {TC_MSG_REJECT, TC_PEER_CAT_PING},
        {TC_MSG_GET_VOTES, TC_PEER_CAT_SYNC},
        {TC_MSG_VOTES, TC_PEER_CAT_SYNC},
        {TC_MSG_GET_TXS, TC_PEER_CAT_SYNC},
        {TC_MSG_TXS, TC_PEER_CAT_SYNC},
        {TC_MSG_GET_SNAPSHOT, TC_PEER_CAT_SYNC},
        {TC_MSG_SNAPSHOT, TC_PEER_CAT_SYNC},
        {TC_MSG_IHAVE, TC_PEER_CAT_TX},
        {TC_MSG_IWANT, TC_PEER_CAT_TX},
        /* The votes' announcements share the consensus budget (PROTOCOL 10.9). */
        {TC_MSG_VOTE_BITS, TC_PEER_CAT_CONSENSUS},
        {TC_MSG_VOTE_WANT, TC_PEER_CAT_CONSENSUS},
        /* A bundle's members take their own types' tokens (PROTOCOL 10.9). */
        {TC_MSG_BUNDLE, TC_PEER_CAT_COUNT},
    };
    cr_assert_eq(TC_ARRAY_LEN(want), ms_known_type_count(), "every type is listed");
    for (size_t i = 0; i < TC_ARRAY_LEN(want); i++)
        cr_assert_eq(tc_peer_category_of(want[i].type), want[i].cat, "%s",
                     tc_msg_type_name(want[i].type));
    cr_assert_eq(tc_peer_category_of(0), TC_PEER_CAT_COUNT);
    for (unsigned b = 1; b < TC_MSG_TYPE_COUNT; b++)
        if (!tc_msg_type_known((uint8_t)b))
            cr_assert_eq(tc_peer_category_of((uint8_t)b), TC_PEER_CAT_COUNT, "reserved %u", b);
    for (unsigned b = TC_MSG_TYPE_COUNT; b <= UINT8_MAX; b++)
        cr_assert_eq(tc_peer_category_of((uint8_t)b), TC_PEER_CAT_COUNT, "unknown type %u", b);
}

/* Exactly the relayed types go through the seen filter: a repeat of one of them is dropped,
 * a repeat of a sync request or a REJECT is delivered again. */
Test(peer, gossip_types_are_exactly_the_relayed_ones)
{
    static const struct {
        uint8_t type;
        bool gossip;
    } cases[] = {
        {TC_MSG_TX, true},          {TC_MSG_VOTE_BATCH, true},
        {TC_MSG_PROPOSAL, true},    {TC_MSG_PREVOTE, true},
        {TC_MSG_PRECOMMIT, true},   {TC_MSG_HEARTBEAT, true},
        {TC_MSG_HANDOFF, true},     {TC_MSG_EVIDENCE, true},
        {TC_MSG_STATUS, false},     {TC_MSG_GET_VOTE_BATCHES, false},
        {TC_MSG_GET_BLOCKS, false}, {TC_MSG_BLOCKS, false},
        {TC_MSG_REJECT, false},     {TC_MSG_GET_VOTES, false},
        {TC_MSG_VOTES, false},      {TC_MSG_GET_SNAPSHOT, false},
        {TC_MSG_SNAPSHOT, false},   {TC_MSG_IHAVE, false},
        {TC_MSG_IWANT, false},      {TC_MSG_VOTE_BITS, false},
        {TC_MSG_VOTE_WANT, false},  {TC_MSG_BUNDLE, false},
    };
    tc_peer_table *t = mk(0);
    remote r;
    remote_init(&r, 5, 200);
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        tc_msg m;
        sample(&m, cases[i].type);
        bool d = false;
        const char *name = tc_msg_type_name(cases[i].type);
        cr_assert_eq(feed_msg(t, 1, r.id, &m, &d), 0, "%s: first delivered", name);
        cr_assert(d, "%s", name);
        cr_assert_eq(accept_last(t), cases[i].gossip, "%s: a gossip key", name);
        int want = cases[i].gossip ? TC_EPEER_DUPLICATE : 0;
        cr_assert_eq(feed_msg(t, 1, r.id, &m, &d), want, "%s: repeat", name);
        cr_assert_eq(d, !cases[i].gossip, "%s: repeat delivered", name);
        tc_msg_deinit(&m);
    }
    tc_peer_stats st;
    tc_peer_stats_get(t, &st);
    cr_assert_eq(st.duplicate_drops, 8);
    cr_assert_eq(st.seen_entries, 8);
    tc_peer_table_free(t);
}

/* Nothing enters the filter unless the node enters it: a frame the node could not take yet (a
 * proposal for a later height) is delivered again when it is sent again, and only once it was
 * taken are copies dropped (the gap: an early proposal's resend was dropped as seen). */
Test(peer, a_refused_frame_is_taken_again)
{
    tc_peer_table *t = mk(0);
    remote r;
    remote_init(&r, 5, 200);
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    tc_msg m;
    sample(&m, TC_MSG_PROPOSAL);
    bool d = false;
    cr_assert_eq(feed_msg(t, 1, r.id, &m, &d), 0, "delivered");
    cr_assert(d);
    cr_assert_eq(feed_msg(t, 2, r.id, &m, &d), 0, "refused by the node: delivered again");
    cr_assert(d);
    cr_assert(accept_last(t), "taken this time");
    cr_assert_eq(feed_msg(t, 3, r.id, &m, &d), TC_EPEER_DUPLICATE, "a copy after that");
    cr_assert(!d);
    tc_peer_stats st;
    tc_peer_stats_get(t, &st);
    cr_assert_eq(st.duplicate_drops, 1);
    cr_assert_eq(st.seen_entries, 1);
    tc_msg_deinit(&m);
    tc_peer_table_free(t);
}

/* A transaction's key is its txid, which leaves the input signatures out: a copy with another
 * signature is a copy (the node entered the good one), and a bad copy the node did not enter
 * leaves the good one admissible. */
Test(peer, a_transaction_is_keyed_without_its_signatures)
{
    tc_peer_table *t = mk(0);
    remote r;
    remote_init(&r, 5, 200);
    remote_ready(t, &r, "10.1.1.1:9000", true, 0);
    tc_msg good, bad;
    sample(&good, TC_MSG_TX);
    sample(&bad, TC_MSG_TX);
    cr_assert(bad.tx.input_count > 0);
    bad.tx.inputs[0].sig.b[0] ^= 1;
    bool d = false;
    cr_assert_eq(feed_msg(t, 1, r.id, &bad, &d), 0);
    cr_assert(d, "the bad copy is delivered (the node finds the bad signature)");
    cr_assert_eq(feed_msg(t, 1, r.id, &good, &d), 0);
    cr_assert(d, "so is the good one: the bad one was not entered");
    cr_assert(accept_last(t));
    cr_assert_eq(feed_msg(t, 2, r.id, &bad, &d), TC_EPEER_DUPLICATE, "same txid");
    tc_msg_deinit(&good);
    tc_msg_deinit(&bad);
    tc_peer_table_free(t);
}

Test(peer, categories_and_host_parsing)
{
    char h[TC_PEER_ADDR_MAX];
    cr_assert_eq(tc_peer_addr_host("10.0.0.1:24100", h, sizeof(h)), 0);
    cr_assert_str_eq(h, "10.0.0.1");
    cr_assert_eq(tc_peer_addr_host("[::1]:24100", h, sizeof(h)), 0);
    cr_assert_str_eq(h, "[::1]", "IPv6: up to the last colon");
    cr_assert_eq(tc_peer_addr_host("sim-node-3", h, sizeof(h)), 0);
    cr_assert_str_eq(h, "sim-node-3");
    cr_assert_eq(tc_peer_addr_host(":1", h, sizeof(h)), TC_EINVAL);
    cr_assert_eq(tc_peer_addr_host("abcdef:1", h, 4), TC_EINVAL);
}

Test(peer, config_is_checked)
{
    tc_peer_config c;
    cfg_default(&c);
    tc_peer_table *t = NULL;
    c.user_agent = "bad\nagent";
    cr_assert_eq(tc_peer_table_new(&c, 0, &t), TC_EINVAL);
    c.user_agent = "0123456789012345678901234567890123456789012345678901234567890123";
    cr_assert_eq(tc_peer_table_new(&c, 0, &t), TC_EINVAL, "64 bytes");
    c.user_agent = "mine/1";
    c.seen_max = TC_PEER_CONTAINER_MAX + 1;
    cr_assert_eq(tc_peer_table_new(&c, 0, &t), TC_EINVAL);
    c.seen_max = 0;
    cr_assert_eq(tc_peer_table_new(&c, 0, &t), 0);
    remote r;
    remote_init(&r, 5, 200);
    cr_assert_eq(tc_peer_up(t, 0, 5, "1.2.3.4:5", true), 0);
    drain(t);
    tc_msg m;
    cr_assert(sent(5, TC_MSG_HELLO, &m));
    cr_assert_str_eq(m.hello.user_agent, "mine/1");
    tc_peer_table_free(t);
}
