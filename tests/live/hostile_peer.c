/* hostile_peer.c — the live test's rule breakers that need the protocol's codec: each mode
 * connects to a node from a source address of its own (so that a ban it earns falls on that
 * address, not on the loopback testnet's 127.0.0.1) and checks the node's answer.
 *
 *   usage: hostile_peer MODE --genesis FILE --peer IP:PORT [--source IP] [--wallet KEY_FILE]
 *   modes:
 *     forged-auth   a valid HELLO, then an AUTH with a signature that does not verify:
 *                   expected closed (PROTOCOL 10.5, TC_EBADSIG);
 *     replay-hello  a full handshake, closed by us, then the same HELLO (same key, same nonce)
 *                   again: expected closed as a replay (TC_EPEER_NONCE);
 *     bad-sig-tx    a full handshake, then TX frames spending the genesis output of the
 *                   --wallet key (unspent) with a random signature until the node
 *                   disconnects (BAD_SIG, misbehaviour points past the threshold), then a new
 *                   connection from the same source: expected refused (the ban);
 *     malformed     the same with frames of an unknown type (MALFORMED offences);
 *     no-read       a full handshake, then GET_BLOCKS at the sync budget for 6 s without ever
 *                   reading, a 4 KiB receive buffer: the node must drop it (limits.
 *                   output_buffer_max), which its log shows (peer_dropped);
 *     flood         a full handshake, then 20,000 PINGs as fast as the socket takes them: the
 *                   node drops what passes its rate budget (counted, never scored); expected
 *                   still connected and answering a last PING with a PONG within 5 s.
 * Prints one JSON line ({"mode", "ok", "detail"}); exits 0 when the node answered as expected,
 * 1 when not, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "genesis.h"
#include "msg.h"

typedef struct {
    tc_genesis genesis;
    tc_hash genesis_hash;
    char host[16];
    uint16_t port;
    const char *source;
    tc_keypair kp;
    uint8_t nonce[TC_MSG_NONCE_SIZE];
    bool small_rcvbuf; /* no-read: a 4 KiB receive buffer, so the node's bytes pile up there */
    tc_pubkey owner;   /* --wallet: the public key owning a genesis output */
    bool have_owner;
} ctx;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int dial(const ctx *c)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    inet_pton(AF_INET, c->source, &src.sin_addr);
    int rcvbuf = 4096;
    if (fd >= 0 && c->small_rcvbuf)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    inet_pton(AF_INET, c->host, &dst.sin_addr);
    dst.sin_port = htons(c->port);
    if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
        connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int send_msg(int fd, const tc_msg *m)
{
    uint8_t *frame = NULL;
    size_t len = 0;
    int rc = tc_msg_encode_alloc(m, &frame, &len);
    if (rc == 0)
        rc = send_all(fd, frame, len);
    free(frame);
    return rc;
}

/* Reads exactly n bytes before deadline: 0, -1 closed or reset, -2 timeout. */
static int read_exact(int fd, uint8_t *p, size_t n, uint64_t deadline)
{
    while (n > 0) {
        uint64_t now = now_ms();
        if (now >= deadline)
            return -2;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, (int)(deadline - now)) <= 0)
            continue;
        ssize_t k = recv(fd, p, n, 0);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads frames until one of type `want`; decodes it into *out. 0, -1 closed, -2 timeout. */
static int read_until(int fd, uint8_t want, tc_msg *out, uint64_t deadline)
{
    for (;;) {
        uint8_t hdr[4];
        int rc = read_exact(fd, hdr, 4, deadline);
        if (rc != 0)
            return rc;
        size_t len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
        if (len == 0 || len > (4u << 20))
            return -1;
        uint8_t *frame = malloc(len + 4);
        memcpy(frame, hdr, 4);
        rc = read_exact(fd, frame + 4, len, deadline);
        if (rc == 0 && frame[4] == want) {
            rc = tc_msg_decode(frame, len + 4, out) == 0 ? 0 : -1;
            free(frame);
            return rc;
        }
        free(frame);
        if (rc != 0)
            return rc;
    }
}

/* Whether the node closes fd within ms (what it sends meanwhile is read and dropped). */
static bool closed_within(int fd, uint64_t ms)
{
    uint64_t deadline = now_ms() + ms;
    uint8_t buf[4096];
    while (now_ms() < deadline) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        ssize_t k = recv(fd, buf, sizeof(buf), 0);
        if (k <= 0)
            return true;
    }
    return false;
}

static int send_hello(int fd, const ctx *c)
{
    tc_msg m = {.type = TC_MSG_HELLO};
    m.hello.magic = c->genesis.profile.magic;
    m.hello.version = c->genesis.profile.protocol_version;
    m.hello.genesis = c->genesis_hash;
    m.hello.pubkey = c->kp.pub;
    memcpy(m.hello.nonce, c->nonce, TC_MSG_NONCE_SIZE);
    m.hello.user_agent_len = 7;
    memcpy(m.hello.user_agent, "hostile", 8);
    return send_msg(fd, &m);
}

/* HELLO out, the node's HELLO in, AUTH out (forged: a signature of garbage), the node's AUTH
 * in (not for a forged one). 0 when done. */
static int handshake(int fd, const ctx *c, bool forge)
{
    tc_msg theirs = {0}; /* empty: a failed read leaves it so (tc_msg_deinit is safe) */
    if (send_hello(fd, c) != 0 || read_until(fd, TC_MSG_HELLO, &theirs, now_ms() + 3000) != 0)
        return -1;
    tc_msg auth = {.type = TC_MSG_AUTH};
    tc_hash h;
    tc_msg_auth_hash(theirs.hello.nonce, &c->kp.pub, &h);
    tc_msg_deinit(&theirs);
    if (forge)
        randombytes_buf(auth.auth.sig.b, sizeof(auth.auth.sig.b));
    else
        tc_sign(TC_SIG_ED25519, &c->kp, &h, &auth.auth.sig);
    if (send_msg(fd, &auth) != 0)
        return -1;
    if (forge)
        return 0;
    tc_msg back = {0};
    int rc = read_until(fd, TC_MSG_AUTH, &back, now_ms() + 3000);
    tc_msg_deinit(&back);
    return rc;
}

static int report(const char *mode, bool ok, const char *detail)
{
    printf("{\"mode\": \"%s\", \"ok\": %s, \"detail\": \"%s\"}\n", mode, ok ? "true" : "false",
           detail);
    return ok ? 0 : 1;
}

static int mode_forged_auth(const ctx *c)
{
    int fd = dial(c);
    if (fd < 0 || handshake(fd, c, true) != 0)
        return report("forged-auth", false, "no handshake to forge");
    uint64_t t0 = now_ms();
    bool closed = closed_within(fd, 3000);
    char d[64];
    snprintf(d, sizeof(d), "closed=%d after_ms=%llu", closed, (unsigned long long)(now_ms() - t0));
    close(fd);
    return report("forged-auth", closed, d);
}

static int mode_replay_hello(const ctx *c)
{
    int fd = dial(c);
    bool first = fd >= 0 && handshake(fd, c, false) == 0 && !closed_within(fd, 300);
    if (fd >= 0)
        close(fd);
    fd = dial(c);
    bool refused = fd < 0 || handshake(fd, c, false) != 0 || closed_within(fd, 3000);
    if (fd >= 0)
        close(fd);
    char d[64];
    snprintf(d, sizeof(d), "first_ready=%d replay_closed=%d", first, refused);
    return report("replay-hello", first && refused, d);
}

/* A transfer of the --wallet key's (unspent) genesis output, naming its owner's key but with a
 * random signature: TC_ETX_BAD_SIG, a BAD_SIG offence (PROTOCOL 10.7). */
static int bad_tx(const ctx *c, tc_msg *m, uint32_t salt)
{
    tc_addr_hash owner;
    tc_addr_from_pubkey(&c->owner, &owner);
    uint32_t index = 0;
    while (index < c->genesis.output_count &&
           memcmp(c->genesis.outputs[index].addr.b, owner.b, sizeof(owner.b)) != 0)
        index++;
    if (index == c->genesis.output_count)
        return -1;
    m->type = TC_MSG_TX;
    if (tc_tx_init_alloc(&m->tx, TC_TX_TRANSFER, 1, 1) != 0)
        return -1;
    m->tx.inputs[0].prev = (tc_outpoint){.txid = c->genesis_hash, .index = index};
    m->tx.inputs[0].pub = c->owner;
    m->tx.outputs[0] =
        (tc_txout){.amount = c->genesis.outputs[index].amount / 2 + salt, .addr = owner};
    randombytes_buf(m->tx.inputs[0].sig.b, TC_SIG_SIZE);
    return 0;
}

/* Sends frames made by make (kind 0: a bad-signature TX; 1: an unknown type, MALFORMED) after a
 * handshake until the node disconnects, then checks that the source is banned. */
static int misbehave(const ctx *c, const char *mode, int kind)
{
    if (kind == 0 && !c->have_owner)
        return report(mode, false, "needs --wallet");
    int fd = dial(c);
    if (fd < 0 || handshake(fd, c, false) != 0)
        return report(mode, false, "no handshake");
    uint32_t sent = 0;
    bool closed = false;
    for (; sent < 500 && !closed; sent++) {
        tc_msg m;
        static const uint8_t unknown[] = {0, 0, 0, 3, 0x7f, 1, 2};
        if (kind == 0 && bad_tx(c, &m, sent) != 0)
            break;
        closed = kind == 0 ? send_msg(fd, &m) != 0 : send_all(fd, unknown, sizeof(unknown)) != 0;
        if (kind == 0)
            tc_tx_deinit(&m.tx);
        closed = closed || closed_within(fd, 20);
    }
    close(fd);
    /* Banned: the node closes a new connection from this source at once, before any HELLO. */
    fd = dial(c);
    bool refused = fd < 0 || closed_within(fd, 1000);
    if (fd >= 0)
        close(fd);
    char d[96];
    snprintf(d, sizeof(d), "disconnected=%d after_frames=%u reconnect_refused=%d", closed, sent,
             refused);
    return report(mode, closed && refused, d);
}

static int mode_flood(const ctx *c)
{
    int fd = dial(c);
    if (fd < 0 || handshake(fd, c, false) != 0)
        return report("flood", false, "no handshake");
    uint32_t sent = 0;
    for (; sent < 20000; sent++) {
        tc_msg m = {.type = TC_MSG_PING};
        m.ping.nonce = sent;
        if (send_msg(fd, &m) != 0)
            break;
    }
    /* Wait for the budget to refill, then a last PING must be answered. */
    struct timespec pause = {.tv_sec = 1, .tv_nsec = 500000000};
    nanosleep(&pause, NULL);
    tc_msg ping = {.type = TC_MSG_PING}, pong = {0};
    ping.ping.nonce = UINT64_C(0xfeedface);
    bool answered = false;
    uint64_t deadline = now_ms() + 5000;
    if (send_msg(fd, &ping) == 0) {
        while (!answered && read_until(fd, TC_MSG_PONG, &pong, deadline) == 0) {
            answered = pong.pong.nonce == ping.ping.nonce;
            tc_msg_deinit(&pong);
        }
    }
    close(fd);
    char d[64];
    snprintf(d, sizeof(d), "pings=%u last_answered=%d", sent, answered);
    return report("flood", sent == 20000 && answered, d);
}

/* The "public_key" of a key file of time-cli genesis. */
static int load_owner(ctx *c, const char *path)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    const char *hex = json_string_value(json_object_get(doc, "public_key"));
    size_t n = 0;
    int rc =
        hex && sodium_hex2bin(c->owner.b, TC_PUBKEY_SIZE, hex, strlen(hex), NULL, &n, NULL) == 0 &&
                n == TC_PUBKEY_SIZE
            ? 0
            : -1;
    json_decref(doc);
    return rc;
}

/* A peer that asks for blocks and never reads the answers (its receive buffer kept small): the
 * node must drop it once limits.output_buffer_max bytes wait for it, not buffer without limit.
 * The node's log says so (peer_dropped); this mode only makes the load, for `seconds`. */
static int mode_no_read(const ctx *c)
{
    int fd = dial(c);
    if (fd < 0 || handshake(fd, c, false) != 0)
        return report("no-read", false, "no handshake");
    uint32_t sent = 0;
    uint64_t end = now_ms() + 6000;
    while (now_ms() < end) {
        tc_msg m = {.type = TC_MSG_GET_BLOCKS};
        m.get_blocks = (tc_msg_get_blocks){.from_height = 1, .count = TC_MSG_BLOCKS_MAX};
        if (send_msg(fd, &m) != 0)
            break; /* reset: the node dropped us */
        sent++;
        struct timespec pause = {.tv_sec = 0, .tv_nsec = 10000000}; /* 100/s: the sync budget */
        nanosleep(&pause, NULL);
    }
    close(fd);
    char d[64];
    snprintf(d, sizeof(d), "get_blocks_sent=%u", sent);
    return report("no-read", sent > 0, d);
}

static int load_genesis(ctx *c, const char *path)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    char *text = doc ? json_dumps(doc, 0) : NULL, err[256];
    json_decref(doc);
    int rc = text ? tc_genesis_parse(text, strlen(text), &c->genesis, err, sizeof(err)) : -1;
    free(text);
    if (rc == 0)
        tc_genesis_hash(&c->genesis, &c->genesis_hash);
    return rc;
}

int main(int argc, char **argv)
{
    static ctx c;
    const char *genesis = NULL, *peer = NULL, *mode = argc > 1 ? argv[1] : "";
    c.source = "127.0.0.2";
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--genesis") == 0)
            genesis = argv[i + 1];
        else if (strcmp(argv[i], "--peer") == 0)
            peer = argv[i + 1];
        else if (strcmp(argv[i], "--source") == 0)
            c.source = argv[i + 1];
        else if (strcmp(argv[i], "--wallet") == 0)
            c.have_owner = load_owner(&c, argv[i + 1]) == 0;
    }
    if (genesis == NULL || peer == NULL || tc_crypto_init() != 0 ||
        load_genesis(&c, genesis) != 0 || td_addr_split(peer, c.host, &c.port) != 0) {
        fprintf(stderr,
                "usage: hostile_peer forged-auth|replay-hello|bad-sig-tx|malformed|flood|no-read "
                "--genesis FILE --peer IP:PORT [--source IP] [--wallet KEY_FILE]\n");
        return 2;
    }
    uint8_t seed[TC_SEED_SIZE];
    randombytes_buf(seed, sizeof(seed));
    tc_keypair_from_seed(&c.kp, seed);
    randombytes_buf(c.nonce, sizeof(c.nonce));
    int rc = 2;
    c.small_rcvbuf = strcmp(mode, "no-read") == 0;
    if (strcmp(mode, "forged-auth") == 0)
        rc = mode_forged_auth(&c);
    else if (strcmp(mode, "replay-hello") == 0)
        rc = mode_replay_hello(&c);
    else if (strcmp(mode, "bad-sig-tx") == 0)
        rc = misbehave(&c, mode, 0);
    else if (strcmp(mode, "malformed") == 0)
        rc = misbehave(&c, mode, 1);
    else if (strcmp(mode, "flood") == 0)
        rc = mode_flood(&c);
    else if (strcmp(mode, "no-read") == 0)
        rc = mode_no_read(&c);
    tc_genesis_deinit(&c.genesis);
    return rc;
}
