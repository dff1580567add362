/* peer.c — peer policy: handshake, buckets, offences and bans, liveness, seen filter, discovery
 * (see peer.h for the rules and their reasons). */
#include "peer.h"

#include <stdio.h> /* snprintf only */
#include <stdlib.h>
#include <string.h>

enum { SLOT_FREE = 0, SLOT_HANDSHAKE = 1, SLOT_READY = 2, SLOT_CLOSING = 3 };

typedef struct {
    uint64_t milli; /* millitokens available */
    uint64_t last_ms;
} bucket;

typedef struct {
    uint8_t state;
    bool inbound;
    bool got_hello;
    bool got_auth;
    bool asked_peers; /* a GET_PEERS of ours awaits its PEERS */
    bool ping_out;    /* a PING of ours awaits its PONG */
    bool has_rtt;
    tc_peer_id id;
    char addr[TC_PEER_ADDR_MAX];
    char listen_addr[TC_PEER_ADDR_MAX];
    char user_agent[TC_MSG_USER_AGENT_MAX + 1];
    uint8_t our_nonce[TC_MSG_NONCE_SIZE];
    tc_pubkey key;
    uint64_t best_height;
    uint64_t up_ms;
    uint64_t last_recv_ms;
    uint64_t next_ping_ms;
    uint64_t ping_sent_ms;
    uint64_t ping_nonce;
    uint64_t rtt_ms;
    uint64_t srtt_ms;
    uint32_t points;
    uint64_t points_ms; /* decay is counted from here */
    /* Sustained-flood detection (drop_count): the current one-second window of rate-limit
     * drops, and how many flooded windows in a row ended with it. */
    uint64_t flood_window_ms;
    uint32_t flood_window_drops;
    uint32_t flood_run;
    uint64_t frames;
    bucket buckets[TC_PEER_CAT_COUNT];
    uint64_t drops[TC_PEER_CAT_COUNT];
} slot;

/* A gossip id as the seen filter keeps it: the TC_SHORTHASH_SIZE bytes tc_peer_gossip_id fills
 * (the rest of its tc_hash is zero by construction, so comparing these is comparing ids). */
typedef struct {
    uint8_t b[TC_SHORTHASH_SIZE];
} seen_id;

/* One slot of the seen index. The tag is the id's first four bytes: its home slot is
 * tag & seen_mask, and a probe reads the ring entry (a likely cache miss: the ring is large and
 * accessed at random) only when the tag matches, so a new id costs no access outside the index
 * and deletion recomputes homes without touching the ring. */
typedef struct {
    uint32_t tag;
    uint32_t pos; /* ring position + 1; 0: empty */
} seen_slot;

typedef struct {
    char host[TC_PEER_ADDR_MAX];
    uint64_t until_ms;
    uint32_t strikes; /* bans so far: the next lasts ban_base_ms << strikes */
} ban_entry;

typedef struct {
    char addr[TC_PEER_ADDR_MAX];
    bool pinned;               /* a configured seed: never evicted */
    bool self;                 /* dialling it reached ourselves */
    uint64_t next_try_ms;      /* not dialled again before */
    uint64_t pending_until_ms; /* a CONNECT is outstanding until then; 0: none */
} book_entry;

struct tc_peer_table {
    tc_profile profile;
    tc_hash genesis;
    tc_keypair identity;
    tc_verifier verifier;
    tc_rng rng;
    uint16_t listen_port;
    uint8_t user_agent_len;
    char user_agent[TC_MSG_USER_AGENT_MAX + 1];
    uint64_t best_height;
    uint32_t validator_count;
    /* Each category's refill rate (messages/s) and capacity (millitokens), from the profile and
     * validator_count (budgets_update), so a received frame does not recompute them. */
    uint64_t bucket_rate[TC_PEER_CAT_COUNT];
    uint64_t bucket_cap_milli[TC_PEER_CAT_COUNT];

    uint32_t slot_cap;
    uint32_t slot_hi; /* every slot at this index or above is free: scans stop here */
    uint32_t inbound;
    uint32_t outbound;
    slot *slots;

    uint32_t nonce_cap;
    uint32_t nonce_count;
    uint32_t nonce_head;
    uint8_t (*nonces)[TC_MSG_NONCE_SIZE];

    uint32_t seen_cap;
    uint32_t seen_count;
    uint32_t seen_head; /* next ring position written: the oldest once full */
    uint32_t seen_mask;
    seen_id *seen;
    seen_slot *seen_index; /* open addressing, linear probing, at most half full */
    uint8_t gossip_key[TC_SHORTHASH_KEY_SIZE]; /* keys of the seen filter (whole frames) */
    uint64_t gossip_salt[2];                   /* keys of the seen filter (protocol ids) */
    /* The last gossip frame tc_peer_recv delivered: its key and protocol id (tc_peer_recv_key). */
    bool last_gossip;
    bool last_has_oid;
    seen_id last_key;
    tc_hash last_oid;

    uint32_t ban_cap;
    uint32_t ban_count;
    ban_entry *bans;

    uint32_t book_cap;
    uint32_t book_count;
    uint32_t book_cursor;
    uint32_t serve_cursor;
    book_entry *book;
    uint64_t discovery_due_ms; /* UINT64_MAX: nothing can change until an event */
    /* The earliest slot deadline (slot_deadline), kept so tc_peer_next_deadline, asked after
     * every call of the node, does not scan every slot: exact unless slots_due_stale, which
     * any change that may move it later sets (tc_peer_next_deadline then scans once). */
    uint64_t slots_due_ms;
    bool slots_due_stale;
    /* The READY peers' ids in increasing order (slot_cap entries), kept for
     * tc_peer_ready_ids, which every broadcast and relay asks for: rebuilt after a peer
     * becomes READY or stops being READY (ready_stale). */
    tc_peer_id *ready;
    uint32_t ready_n;
    bool ready_stale;

    uint32_t act_cap;
    uint32_t act_head;
    uint32_t act_count;
    tc_peer_action *acts;
    size_t arena_cap;
    size_t arena_len;
    uint8_t *arena;

    uint64_t rate_drops;
    uint64_t drops[TC_PEER_CAT_COUNT]; /* rate_drops by category */
    uint64_t duplicate_drops;
    uint64_t offences;
    uint64_t pongs_unsolicited;
    uint64_t bans_imposed;
};

static const uint32_t offence_points[TC_PEER_OFFENCE_COUNT] = {
    [TC_PEER_OFFENCE_MALFORMED] = TC_PEER_POINTS_MALFORMED,
    [TC_PEER_OFFENCE_BAD_SIG] = TC_PEER_POINTS_BAD_SIG,
    [TC_PEER_OFFENCE_PROTOCOL] = TC_PEER_POINTS_PROTOCOL,
    [TC_PEER_OFFENCE_UNSOLICITED] = TC_PEER_POINTS_UNSOLICITED,
    [TC_PEER_OFFENCE_INVALID] = TC_PEER_POINTS_INVALID,
    [TC_PEER_OFFENCE_FLOOD] = TC_PEER_POINTS_FLOOD,
};

/* ---- small helpers ---- */

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Copies a NUL-terminated string that is known to fit. */
static void str_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    TC_ASSERT(n < cap);
    memcpy(dst, src, n + 1);
}

/* What the receive path needs to know of a message type, looked up once per frame. Every type
 * is listed, so no entry defaults to category 0 (TX) by omission. */
typedef struct {
    uint8_t category; /* tc_peer_category; TC_PEER_CAT_COUNT: none */
    bool gossip;      /* relayed, so deduplicated by the seen filter */
} type_policy;

static const type_policy type_policies[TC_MSG_TYPE_COUNT] = {
    [0] = {TC_PEER_CAT_COUNT, false},
    [TC_MSG_HELLO] = {TC_PEER_CAT_COUNT, false},
    [TC_MSG_AUTH] = {TC_PEER_CAT_COUNT, false},
    [TC_MSG_PING] = {TC_PEER_CAT_PING, false},
    [TC_MSG_PONG] = {TC_PEER_CAT_PING, false},
    [TC_MSG_GET_PEERS] = {TC_PEER_CAT_DISCOVERY, false},
    [TC_MSG_PEERS] = {TC_PEER_CAT_DISCOVERY, false},
    [TC_MSG_STATUS] = {TC_PEER_CAT_SYNC, false},
    [TC_MSG_TX] = {TC_PEER_CAT_TX, true},
    [TC_MSG_VOTE_BATCH] = {TC_PEER_CAT_FINALITY, true},
    [TC_MSG_GET_VOTE_BATCHES] = {TC_PEER_CAT_SYNC, false},
    [TC_MSG_PROPOSAL] = {TC_PEER_CAT_CONSENSUS, true},
    [TC_MSG_PREVOTE] = {TC_PEER_CAT_CONSENSUS, true},
    [TC_MSG_PRECOMMIT] = {TC_PEER_CAT_CONSENSUS, true},
    [TC_MSG_GET_BLOCKS] = {TC_PEER_CAT_SYNC, false},
    [TC_MSG_BLOCKS] = {TC_PEER_CAT_SYNC, false},
    [TC_MSG_HEARTBEAT] = {TC_PEER_CAT_FINALITY, true},
    [TC_MSG_HANDOFF] = {TC_PEER_CAT_FINALITY, true},
    [TC_MSG_EVIDENCE] = {TC_PEER_CAT_FINALITY, true},
    [TC_MSG_REJECT] = {TC_PEER_CAT_PING, false},
    [TC_MSG_GET_VOTES] = {TC_PEER_CAT_SYNC, false},
    [TC_MSG_VOTES] = {TC_PEER_CAT_SYNC, false},
    [TC_MSG_GET_TXS] = {TC_PEER_CAT_SYNC, false},
    [TC_MSG_TXS] = {TC_PEER_CAT_SYNC, false},
    [TC_MSG_GET_SNAPSHOT] = {TC_PEER_CAT_SYNC, false},
    [TC_MSG_SNAPSHOT] = {TC_PEER_CAT_SYNC, false},
    /* Announcements ride with the transactions they mostly announce: one IHAVE or IWANT frame
     * lists up to TC_MSG_INV_MAX ids, so they are few next to the frames they replace. */
    [TC_MSG_IHAVE] = {TC_PEER_CAT_TX, false},
    [TC_MSG_IWANT] = {TC_PEER_CAT_TX, false},
    /* The votes' own announcements and requests are consensus traffic: they share its budget
     * and its priority over finality (PROTOCOL 10.9), so a flood of batches never delays them. */
    [TC_MSG_VOTE_BITS] = {TC_PEER_CAT_CONSENSUS, false},
    [TC_MSG_VOTE_WANT] = {TC_PEER_CAT_CONSENSUS, false},
    /* A bundle has no budget of its own: each member it carries is received as a frame of its
     * own type and takes that type's token (PROTOCOL 10.9). */
    [TC_MSG_BUNDLE] = {TC_PEER_CAT_COUNT, false},
};
_Static_assert(TC_MSG_BUNDLE == TC_MSG_TYPE_COUNT - 1, "a new type gets a row above");

/* The policy of any type byte; an unknown one has no category and is not gossip. */
static type_policy policy_of(uint8_t type)
{
    static const type_policy none = {TC_PEER_CAT_COUNT, false};
    return tc_msg_type_known(type) ? type_policies[type] : none;
}

tc_peer_category tc_peer_category_of(uint8_t msg_type)
{
    return (tc_peer_category)policy_of(msg_type).category;
}

int tc_peer_addr_host(const char *addr, char *host, size_t cap)
{
    TC_ASSERT(addr != NULL && host != NULL);
    TC_ASSERT(cap > 0);
    const char *colon = strrchr(addr, ':');
    size_t n = colon != NULL ? (size_t)(colon - addr) : strlen(addr);
    if (n == 0 || n >= cap)
        return TC_EINVAL;
    memcpy(host, addr, n);
    host[n] = 0;
    return 0;
}

/* A book address: printable "host:port", port in 1..65535 written without leading zeros (so
 * one address has one spelling and the book holds it once). */
static bool book_addr_ok(const char *addr)
{
    size_t n = strnlen(addr, TC_PEER_ADDR_MAX);
    const char *colon = n < TC_PEER_ADDR_MAX ? strrchr(addr, ':') : NULL;
    if (colon == NULL || colon == addr)
        return false;
    for (size_t i = 0; i < n; i++)
        if (addr[i] < 0x21 || addr[i] > 0x7e)
            return false;
    const char *p = colon + 1;
    size_t digits = strlen(p);
    if (digits == 0 || digits > 5 || p[0] == '0')
        return false;
    uint32_t port = 0;
    for (size_t i = 0; i < digits; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        port = port * 10 + (uint32_t)(p[i] - '0');
    }
    return port <= 65535;
}

/* ---- actions and frames ---- */

static tc_peer_action *act_push(tc_peer_table *t, tc_peer_action_kind kind, tc_peer_id peer)
{
    TC_ASSERT(t->act_head <= t->act_count && t->act_count <= t->act_cap);
    if (TC_NEVER(t->act_count == t->act_cap))
        return NULL; /* sized for several calls' worth: the node stopped draining */
    tc_peer_action *a = &t->acts[t->act_count++];
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    a->peer = peer;
    return a;
}

static void send_msg(tc_peer_table *t, tc_peer_id peer, const tc_msg *m)
{
    size_t n = tc_msg_encoded_size(m);
    TC_ASSERT(n <= t->profile.frame_size_max);
    if (TC_NEVER(n > t->arena_cap - t->arena_len))
        return;
    tc_writer w;
    tc_writer_init(&w, t->arena + t->arena_len, n);
    int rc = tc_msg_encode(&w, m);
    TC_ASSERT(rc == 0 && w.len == n);
    tc_peer_action *a = act_push(t, TC_PEER_ACT_SEND, peer);
    if (a == NULL)
        return;
    a->frame = t->arena + t->arena_len;
    a->frame_len = n;
    t->arena_len += n;
}

/* When s's timers next need a tick: its handshake timeout, or once READY its idle timeout and
 * its next PING; UINT64_MAX for a free or closing slot. */
static uint64_t slot_deadline(const tc_peer_table *t, const slot *s)
{
    const tc_profile *p = &t->profile;
    if (s->state == SLOT_HANDSHAKE)
        return add_sat(s->up_ms, p->handshake_timeout_ms);
    if (s->state == SLOT_READY)
        return min_u64(add_sat(s->last_recv_ms, p->idle_timeout_ms), s->next_ping_ms);
    return UINT64_MAX;
}

/* s's deadline moved from before to its current value: an earlier one lowers the cache at
 * once, a later one of the slot that held the minimum makes it stale. */
static void slot_deadline_moved(tc_peer_table *t, const slot *s, uint64_t before)
{
    uint64_t after = slot_deadline(t, s);
    if (after < t->slots_due_ms)
        t->slots_due_ms = after;
    else if (after > before && before == t->slots_due_ms)
        t->slots_due_stale = true;
}

static void disconnect(tc_peer_table *t, slot *s, int reason, uint64_t ban_until_ms)
{
    TC_ASSERT(reason < 0);
    if (s->state == SLOT_CLOSING)
        return;
    t->slots_due_stale = true; /* its deadline goes */
    t->ready_stale |= s->state == SLOT_READY;
    s->state = SLOT_CLOSING;
    tc_peer_action *a = act_push(t, TC_PEER_ACT_DISCONNECT, s->id);
    if (a == NULL)
        return;
    a->reason = reason;
    a->ban_until_ms = ban_until_ms;
}

bool tc_peer_next_action(tc_peer_table *t, tc_peer_action *out)
{
    TC_ASSERT(t != NULL && out != NULL);
    if (t->act_head == t->act_count)
        return false;
    *out = t->acts[t->act_head++];
    /* Drained: start over. The frame just returned stays in the arena, untouched until the
     * next call that encodes one (peer.h: valid until the next call). */
    if (t->act_head == t->act_count) {
        t->act_head = t->act_count = 0;
        t->arena_len = 0;
    }
    return true;
}

/* ---- slots ---- */

static slot *slot_find(const tc_peer_table *t, tc_peer_id id)
{
    TC_ASSERT(t->inbound + t->outbound <= t->slot_cap);
    for (uint32_t i = 0; i < t->slot_hi; i++)
        if (t->slots[i].state != SLOT_FREE && t->slots[i].id == id)
            return &t->slots[i];
    return NULL;
}

/* The lowest free slot, so used slots stay packed below slot_hi. */
static slot *slot_free(tc_peer_table *t)
{
    for (uint32_t i = 0; i < t->slot_cap; i++) {
        if (t->slots[i].state == SLOT_FREE) {
            t->slot_hi = i + 1 > t->slot_hi ? i + 1 : t->slot_hi;
            return &t->slots[i];
        }
    }
    return NULL;
}

/* Whether a used slot (closing or not) connects to host. */
static bool slot_on_host(const slot *s, const char *host)
{
    char h[TC_PEER_ADDR_MAX];
    return tc_peer_addr_host(s->addr, h, sizeof(h)) == 0 && strcmp(h, host) == 0;
}

/* ---- seen nonces: a FIFO ring, scanned linearly (handshakes are rare) ---- */

static bool nonce_seen(const tc_peer_table *t, const uint8_t nonce[TC_MSG_NONCE_SIZE])
{
    TC_ASSERT(t->nonce_count <= t->nonce_cap);
    for (uint32_t i = 0; i < t->nonce_count; i++)
        if (memcmp(t->nonces[i], nonce, TC_MSG_NONCE_SIZE) == 0)
            return true;
    return false;
}

static void nonce_add(tc_peer_table *t, const uint8_t nonce[TC_MSG_NONCE_SIZE])
{
    TC_ASSERT(t->nonce_head < t->nonce_cap);
    memcpy(t->nonces[t->nonce_head], nonce, TC_MSG_NONCE_SIZE);
    t->nonce_head = (t->nonce_head + 1) % t->nonce_cap;
    if (t->nonce_count < t->nonce_cap)
        t->nonce_count++;
}

/* ---- seen filter: FIFO ring of ids plus an exact open-addressing index ---- */

/* The first four bytes of id, little-endian. Ids are outputs of a keyed PRF (SipHash) or, for
 * objects known by a protocol id, a secretly salted mix of a BLAKE2b output (key_of_object), so
 * these are uniform and unknown to peers: no further mixing is needed to spread them over the
 * index, and a peer cannot aim frames at one probe chain. The layout depends on the ids alone
 * (deterministic). */
static uint32_t seen_tag(const seen_id *id)
{
    return (uint32_t)id->b[0] | (uint32_t)id->b[1] << 8 | (uint32_t)id->b[2] << 16 |
           (uint32_t)id->b[3] << 24;
}

/* Index slot holding id, or UINT32_MAX. */
static uint32_t seen_lookup(const tc_peer_table *t, const seen_id *id)
{
    uint32_t tag = seen_tag(id);
    uint32_t i = tag & t->seen_mask;
    for (uint32_t probes = 0; t->seen_index[i].pos != 0; probes++) {
        TC_ASSERT(probes <= t->seen_mask); /* at most half full: a probe meets an empty slot */
        const seen_slot *e = &t->seen_index[i];
        if (e->tag == tag && memcmp(t->seen[e->pos - 1].b, id->b, sizeof(id->b)) == 0)
            return i;
        i = (i + 1) & t->seen_mask;
    }
    return UINT32_MAX;
}

/* Index slot of ring position pos, found by position: the ring entry is read once (the oldest,
 * in ring order) and no other is compared. */
static uint32_t seen_slot_of(const tc_peer_table *t, uint32_t pos)
{
    TC_ASSERT(pos < t->seen_count);
    uint32_t i = seen_tag(&t->seen[pos]) & t->seen_mask;
    for (uint32_t probes = 0; t->seen_index[i].pos != pos + 1; probes++) {
        TC_ASSERT(t->seen_index[i].pos != 0); /* every ring entry is indexed */
        TC_ASSERT(probes <= t->seen_mask);
        i = (i + 1) & t->seen_mask;
    }
    return i;
}

/* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
static void seen_index_delete(tc_peer_table *t, uint32_t i)
{
    TC_ASSERT(t->seen_index[i].pos != 0);
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & t->seen_mask;
        if (t->seen_index[j].pos == 0)
            break;
        uint32_t k = t->seen_index[j].tag & t->seen_mask;
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            t->seen_index[i] = t->seen_index[j];
            i = j;
        }
    }
    t->seen_index[i].pos = 0;
    t->seen_index[i].tag = 0;
}

/* Enters an id known to be absent (the caller just looked it up), evicting the oldest when the
 * ring is full. */
static void seen_insert(tc_peer_table *t, const seen_id *id)
{
    TC_ASSERT(t->seen_count <= t->seen_cap && t->seen_head < t->seen_cap);
    uint32_t pos = t->seen_head;
    if (t->seen_count == t->seen_cap)
        seen_index_delete(t, seen_slot_of(t, pos));
    else
        t->seen_count++;
    t->seen[pos] = *id;
    uint32_t tag = seen_tag(id);
    uint32_t i = tag & t->seen_mask;
    while (t->seen_index[i].pos != 0)
        i = (i + 1) & t->seen_mask; /* ends: the index is at most half full */
    t->seen_index[i].tag = tag;
    t->seen_index[i].pos = pos + 1;
    t->seen_head = (pos + 1) % t->seen_cap;
}

/* ---- gossip keys: the seen filter's key of each gossip object (PROTOCOL 10.9) ---- */

/* splitmix64's finalizer: a bijection of 64-bit words in which every output bit depends on
 * every input bit. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* The key of an object known by its protocol id (a txid, a vote batch's signed hash, a
 * proposal id): its first 16 bytes under the table's secret salt, the first word mixed (it holds
 * the index's tag, seen_tag), the second with the type folded in. Nearly every IHAVE item and
 * every batch probes the filter, and a keyed SipHash per probe was 8.6% of a 64-validator run;
 * this is a few instructions.
 *
 * Why this protects the filter as the SipHash did. Identity: for a fixed type the map from the
 * id's 16 bytes to the key is a bijection (an xor, mix64, an xor), so two objects share a key
 * only if their BLAKE2b ids share 128 bits (2^64 work by birthday), and objects of two types
 * only if besides the ids' second words differ by a constant and the first words agree.
 * Probe chains: only accepted objects enter the filter, and their ids are BLAKE2b outputs, so
 * a peer cannot choose their bits, only sift random ones at 2^k hashes (signed objects) for k
 * chosen bits; their home slot is mix64(word ^ salt), with a 64-bit salt drawn from the node's
 * secret seed that peers never see, so the peer does not know which of its ids land together.
 * A difference between two words survives the xor with the salt, but making one costs a
 * 64-bit partial collision of BLAKE2b per pair. IHAVE ids are free for a peer to choose, but
 * they only probe (tc_peer_seen_has) and cannot lengthen a chain. */
static void key_of_object(const tc_peer_table *t, uint8_t type, const tc_hash *oid, seen_id *out)
{
    _Static_assert(sizeof(seen_id) == 16, "a seen id is two words");
    uint64_t w0 = mix64(tc_load_u64(oid->b) ^ t->gossip_salt[0]);
    uint64_t w1 =
        tc_load_u64(oid->b + 8) ^ t->gossip_salt[1] ^ (uint64_t)type * UINT64_C(0x9e3779b97f4a7c15);
    tc_store_u64(out->b, w0);
    tc_store_u64(out->b + 8, w1);
}

/* The key of a gossip frame other than TX, from its bytes, without decoding: a VOTE_BATCH by its
 * signed hash and a PROPOSAL by tc_msg_frame_proposal_id (their protocol ids, *oid_out, *has_oid
 * true), so a 50-240 KB block is never hashed to find a copy; every other gossip (votes,
 * heartbeats, handoffs, evidence: small or rare) by its type and payload. A frame too short for
 * its type is keyed whole: it does not decode anyway. */
static void key_of_frame(const tc_peer_table *t, const uint8_t *frame, size_t len, seen_id *out,
                         tc_hash *oid_out, bool *has_oid)
{
    TC_ASSERT(len >= TC_MSG_HEADER_SIZE);
    uint8_t type = frame[TC_MSG_LEN_SIZE];
    *has_oid = (type == TC_MSG_VOTE_BATCH &&
                tc_msg_frame_batch_hash_memo(t->verifier.hashes, frame, len, oid_out) == 0) ||
               (type == TC_MSG_PROPOSAL && tc_msg_frame_proposal_id(frame, len, oid_out) == 0);
    if (*has_oid)
        key_of_object(t, type, oid_out, out);
    else
        tc_shorthash(out->b, frame + TC_MSG_LEN_SIZE, len - TC_MSG_LEN_SIZE, t->gossip_key);
}

static void key_to_hash(const seen_id *k, tc_hash *out)
{
    _Static_assert(TC_SHORTHASH_SIZE <= TC_HASH_SIZE, "a key fits a tc_hash");
    memset(out, 0, sizeof(*out));
    memcpy(out->b, k->b, sizeof(k->b));
}

static void key_from_hash(const tc_hash *h, seen_id *out)
{
    /* Only keys come here: the filter keeps their meaningful bytes, so any other hash would be
     * compared on part of itself. */
    static const uint8_t zero[TC_HASH_SIZE - sizeof(seen_id)];
    TC_ASSERT(memcmp(h->b + sizeof(seen_id), zero, sizeof(zero)) == 0);
    memcpy(out->b, h->b, sizeof(out->b));
}

void tc_peer_gossip_id(const tc_peer_table *t, const tc_msg *m, const uint8_t *frame, size_t len,
                       tc_hash *out)
{
    TC_ASSERT(t != NULL && m != NULL && frame != NULL && out != NULL);
    TC_ASSERT(len >= TC_MSG_HEADER_SIZE && frame[TC_MSG_LEN_SIZE] == m->type);
    seen_id k;
    if (m->type == TC_MSG_TX) {
        tc_hash txid;
        tc_tx_id(&m->tx, &txid);
        key_of_object(t, m->type, &txid, &k);
    } else {
        tc_hash oid;
        bool has_oid;
        key_of_frame(t, frame, len, &k, &oid, &has_oid);
    }
    key_to_hash(&k, out);
}

void tc_peer_object_key(const tc_peer_table *t, uint8_t type, const tc_hash *id, tc_hash *out)
{
    TC_ASSERT(t != NULL && id != NULL && out != NULL);
    seen_id k;
    key_of_object(t, type, id, &k);
    key_to_hash(&k, out);
}

bool tc_peer_recv_key(const tc_peer_table *t, tc_hash *key_out, tc_hash *oid_out, bool *has_oid)
{
    TC_ASSERT(t != NULL && key_out != NULL && oid_out != NULL && has_oid != NULL);
    *has_oid = false;
    if (!t->last_gossip)
        return false;
    key_to_hash(&t->last_key, key_out);
    *oid_out = t->last_oid;
    *has_oid = t->last_has_oid;
    return true;
}

bool tc_peer_seen_has(const tc_peer_table *t, const tc_hash *key)
{
    TC_ASSERT(t != NULL && key != NULL);
    seen_id k;
    key_from_hash(key, &k);
    return seen_lookup(t, &k) != UINT32_MAX;
}

bool tc_peer_seen_check_and_add(tc_peer_table *t, const tc_hash *id)
{
    TC_ASSERT(t != NULL && id != NULL);
    seen_id short_id;
    key_from_hash(id, &short_id);
    if (seen_lookup(t, &short_id) != UINT32_MAX)
        return true;
    seen_insert(t, &short_id);
    return false;
}

/* ---- bans ---- */

static ban_entry *ban_find(const tc_peer_table *t, const char *host)
{
    TC_ASSERT(t->ban_count <= t->ban_cap);
    for (uint32_t i = 0; i < t->ban_count; i++)
        if (strcmp(t->bans[i].host, host) == 0)
            return &t->bans[i];
    return NULL;
}

/* A slot for a new host: a free one, else the entry that expired first, else the one that
 * expires first (lowest index on ties), so eviction is deterministic. */
static ban_entry *ban_slot(tc_peer_table *t, uint64_t now_ms)
{
    if (t->ban_count < t->ban_cap)
        return &t->bans[t->ban_count++];
    ban_entry *expired = NULL;
    ban_entry *soonest = &t->bans[0];
    for (uint32_t i = 0; i < t->ban_count; i++) {
        ban_entry *b = &t->bans[i];
        if (b->until_ms <= now_ms && (expired == NULL || b->until_ms < expired->until_ms))
            expired = b;
        if (b->until_ms < soonest->until_ms)
            soonest = b;
    }
    return expired != NULL ? expired : soonest;
}

static uint64_t ban_duration(const tc_profile *p, uint32_t strikes)
{
    uint64_t d = p->ban_base_ms;
    for (uint32_t i = 0; i < strikes && d < p->ban_max_ms; i++)
        d *= 2;
    return min_u64(d, p->ban_max_ms);
}

/* Bans host from now on and returns the expiry. */
static uint64_t ban_impose(tc_peer_table *t, uint64_t now_ms, const char *host)
{
    ban_entry *b = ban_find(t, host);
    if (b == NULL) {
        b = ban_slot(t, now_ms);
        memset(b, 0, sizeof(*b));
        str_copy(b->host, sizeof(b->host), host);
    } else if (add_sat(b->until_ms, t->profile.ban_max_ms) <= now_ms) {
        b->strikes = 0; /* quiet for longer than the longest ban: forgiven */
    }
    b->until_ms = add_sat(now_ms, ban_duration(&t->profile, b->strikes));
    if (b->strikes < UINT32_MAX)
        b->strikes++;
    t->bans_imposed++;
    TC_ASSERT(t->ban_count <= t->ban_cap);
    return b->until_ms;
}

/* Closes every live connection from host (they share its ban). */
static void close_host(tc_peer_table *t, const char *host, int reason, uint64_t until_ms)
{
    for (uint32_t i = 0; i < t->slot_hi; i++) {
        slot *s = &t->slots[i];
        if (s->state != SLOT_FREE && s->state != SLOT_CLOSING && slot_on_host(s, host))
            disconnect(t, s, reason, until_ms);
    }
}

bool tc_peer_is_banned(const tc_peer_table *t, const char *host, uint64_t now_ms,
                       uint64_t *until_ms_out)
{
    TC_ASSERT(t != NULL && host != NULL);
    const ban_entry *b = ban_find(t, host);
    bool banned = b != NULL && b->until_ms > now_ms;
    if (until_ms_out != NULL)
        *until_ms_out = banned ? b->until_ms : 0;
    return banned;
}

int tc_peer_ban_host(tc_peer_table *t, uint64_t now_ms, const char *host, uint64_t *until_ms_out)
{
    TC_ASSERT(t != NULL && host != NULL);
    size_t n = strnlen(host, TC_PEER_ADDR_MAX);
    if (n == 0 || n >= TC_PEER_ADDR_MAX)
        return TC_EINVAL;
    uint64_t until = ban_impose(t, now_ms, host);
    close_host(t, host, TC_EPEER_BANNED, until);
    if (until_ms_out != NULL)
        *until_ms_out = until;
    return 0;
}

/* ---- misbehaviour ---- */

static void points_decay(const tc_peer_table *t, slot *s, uint64_t now_ms)
{
    uint64_t step = t->profile.misbehaviour_decay_ms;
    TC_ASSERT(step > 0);
    if (s->points == 0 || now_ms <= s->points_ms) {
        if (s->points == 0)
            s->points_ms = now_ms;
        return;
    }
    uint64_t forgiven = (now_ms - s->points_ms) / step;
    if (forgiven >= s->points) {
        s->points = 0;
        s->points_ms = now_ms;
        return;
    }
    s->points -= (uint32_t)forgiven;
    s->points_ms += forgiven * step; /* keep the remainder towards the next point */
}

static int offence(tc_peer_table *t, uint64_t now_ms, slot *s, tc_peer_offence_kind kind)
{
    TC_ASSERT(kind < TC_PEER_OFFENCE_COUNT);
    TC_ASSERT(s->state == SLOT_READY || s->state == SLOT_HANDSHAKE);
    points_decay(t, s, now_ms);
    uint32_t add = offence_points[kind];
    s->points = s->points > UINT32_MAX - add ? UINT32_MAX : s->points + add;
    t->offences++;
    if (s->points < t->profile.misbehaviour_threshold)
        return 0;
    char host[TC_PEER_ADDR_MAX];
    int rc = tc_peer_addr_host(s->addr, host, sizeof(host));
    TC_ASSERT(rc == 0); /* checked at tc_peer_up */
    uint64_t until = ban_impose(t, now_ms, host);
    disconnect(t, s, TC_EPEER_MISBEHAVIOUR, until);
    close_host(t, host, TC_EPEER_BANNED, until);
    return TC_EPEER_MISBEHAVIOUR;
}

int tc_peer_offence(tc_peer_table *t, uint64_t now_ms, tc_peer_id peer, tc_peer_offence_kind kind)
{
    TC_ASSERT(t != NULL);
    TC_ASSERT(kind < TC_PEER_OFFENCE_COUNT);
    slot *s = slot_find(t, peer);
    if (s == NULL || s->state == SLOT_CLOSING)
        return TC_ENOTFOUND;
    return offence(t, now_ms, s, kind);
}

/* ---- token buckets ---- */

static void bucket_params(const tc_peer_table *t, tc_peer_category c, uint64_t *rate,
                          uint64_t *cap_milli)
{
    const tc_profile *p = &t->profile;
    uint64_t r = 0;
    uint64_t b = 0;
    switch (c) {
    case TC_PEER_CAT_TX:
        r = p->rate_tx_per_s, b = p->burst_tx;
        break;
    case TC_PEER_CAT_CONSENSUS:
        r = p->rate_consensus_per_s +
            (uint64_t)p->rate_consensus_per_validator_per_s * t->validator_count;
        b = p->burst_consensus + (uint64_t)p->burst_consensus_per_validator * t->validator_count;
        break;
    case TC_PEER_CAT_FINALITY:
        r = p->rate_finality_per_s +
            (uint64_t)p->rate_finality_per_validator_per_s * t->validator_count;
        b = p->burst_finality + (uint64_t)p->burst_finality_per_validator * t->validator_count;
        break;
    case TC_PEER_CAT_SYNC:
        r = p->rate_sync_per_s, b = p->burst_sync;
        break;
    case TC_PEER_CAT_DISCOVERY:
        r = p->rate_discovery_per_s, b = p->burst_discovery;
        break;
    default:
        TC_ASSERT(c == TC_PEER_CAT_PING);
        r = p->rate_ping_per_s, b = p->burst_ping;
        break;
    }
    TC_ASSERT(r > 0 && b > 0); /* tc_profile_check */
    *rate = r;
    *cap_milli = b * TC_PEER_MILLI;
}

/* Recomputes every category's budget: at creation and whenever validator_count changes. */
static void budgets_update(tc_peer_table *t)
{
    for (int c = 0; c < TC_PEER_CAT_COUNT; c++)
        bucket_params(t, (tc_peer_category)c, &t->bucket_rate[c], &t->bucket_cap_milli[c]);
    TC_ASSERT(t->bucket_rate[TC_PEER_CAT_CONSENSUS] > 0 &&
              t->bucket_rate[TC_PEER_CAT_FINALITY] > 0);
}

/* Refills a bucket of rate messages/s: dt ms bring dt * rate millitokens, up to cap. */
static void bucket_refill(bucket *k, uint64_t now_ms, uint64_t rate, uint64_t cap_milli)
{
    if (now_ms > k->last_ms) {
        uint64_t dt = now_ms - k->last_ms;
        uint64_t room = k->milli < cap_milli ? cap_milli - k->milli : 0;
        /* dt * rate cannot overflow: dt is bounded by the time needed to fill the room. */
        k->milli = dt > room / rate ? cap_milli : k->milli + dt * rate;
    }
    /* A clock that stepped back restarts the refill from now, granting nothing. */
    k->last_ms = now_ms;
    k->milli = min_u64(k->milli, cap_milli); /* the cap shrinks if the validator count fell */
}

static bool bucket_take_one(const tc_peer_table *t, slot *s, tc_peer_category c, uint64_t now_ms)
{
    TC_ASSERT(c < TC_PEER_CAT_COUNT);
    bucket *k = &s->buckets[c];
    bucket_refill(k, now_ms, t->bucket_rate[c], t->bucket_cap_milli[c]);
    if (k->milli < TC_PEER_MILLI)
        return false;
    k->milli -= TC_PEER_MILLI;
    return true;
}

/* Takes a token for a message of category c. Block consensus has priority over finality: a
 * proposal or vote over its own budget may spend the finality bucket's spare tokens, while
 * finality traffic never touches the consensus bucket. A round stalls for want of one prevote;
 * a vote batch that is dropped is fetched again (GET_VOTE_BATCHES) or re-gossiped. */
static bool bucket_take(const tc_peer_table *t, slot *s, tc_peer_category c, uint64_t now_ms)
{
    if (bucket_take_one(t, s, c, now_ms))
        return true;
    return c == TC_PEER_CAT_CONSENSUS && bucket_take_one(t, s, TC_PEER_CAT_FINALITY, now_ms);
}

/* Counts a rate-limit drop. Drops are no offence by themselves: traffic that piled up while this
 * node was stopped (a GC pause, a VM migration) or while a partition lasted arrives as one burst
 * from honest peers. Only a peer that stays over its budget, window after window, is flooding:
 * a window of TC_PEER_FLOOD_WINDOW_MS with at least TC_PEER_FLOOD_DROPS drops is flooded, and
 * every flooded window beyond TC_PEER_FLOOD_GRACE consecutive ones is one FLOOD offence. */
static void drop_count(tc_peer_table *t, uint64_t now_ms, slot *s, tc_peer_category c)
{
    s->drops[c]++;
    t->drops[c]++;
    t->rate_drops++;
    if (now_ms >= s->flood_window_ms + TC_PEER_FLOOD_WINDOW_MS) {
        bool flooded = s->flood_window_drops >= TC_PEER_FLOOD_DROPS;
        bool adjacent = now_ms < s->flood_window_ms + 2 * TC_PEER_FLOOD_WINDOW_MS;
        if (!flooded || !adjacent)
            s->flood_run = 0;
        s->flood_window_ms = now_ms;
        s->flood_window_drops = 0;
    }
    if (++s->flood_window_drops != TC_PEER_FLOOD_DROPS)
        return;
    if (++s->flood_run > TC_PEER_FLOOD_GRACE)
        (void)offence(t, now_ms, s, TC_PEER_OFFENCE_FLOOD);
}

/* ---- address book ---- */

static book_entry *book_find(const tc_peer_table *t, const char *addr)
{
    TC_ASSERT(t->book_count <= t->book_cap);
    for (uint32_t i = 0; i < t->book_count; i++)
        if (strcmp(t->book[i].addr, addr) == 0)
            return &t->book[i];
    return NULL;
}

static int book_insert(tc_peer_table *t, uint64_t now_ms, const char *addr, bool pinned)
{
    if (!book_addr_ok(addr))
        return TC_EINVAL;
    if (book_find(t, addr) != NULL)
        return TC_EEXIST;
    if (t->book_count == t->book_cap) {
        uint32_t i = 0;
        while (i < t->book_count && t->book[i].pinned)
            i++;
        if (i == t->book_count)
            return TC_EFULL;
        memmove(&t->book[i], &t->book[i + 1], (t->book_count - i - 1) * sizeof(book_entry));
        t->book_count--;
    }
    book_entry *e = &t->book[t->book_count++];
    memset(e, 0, sizeof(*e));
    str_copy(e->addr, sizeof(e->addr), addr);
    e->pinned = pinned;
    t->discovery_due_ms = min_u64(t->discovery_due_ms, now_ms);
    TC_ASSERT(t->book_count <= t->book_cap);
    return 0;
}

int tc_peer_book_add(tc_peer_table *t, uint64_t now_ms, const char *addr)
{
    TC_ASSERT(t != NULL && addr != NULL);
    return book_insert(t, now_ms, addr, false);
}

int tc_peer_book_get(const tc_peer_table *t, uint32_t i, char addr_out[TC_PEER_ADDR_MAX])
{
    TC_ASSERT(t != NULL && addr_out != NULL);
    if (i >= t->book_count)
        return TC_ENOTFOUND;
    str_copy(addr_out, TC_PEER_ADDR_MAX, t->book[i].addr);
    return 0;
}

static bool book_connected(const tc_peer_table *t, const char *addr)
{
    for (uint32_t i = 0; i < t->slot_hi; i++) {
        const slot *s = &t->slots[i];
        if (s->state != SLOT_FREE &&
            (strcmp(s->addr, addr) == 0 || strcmp(s->listen_addr, addr) == 0))
            return true;
    }
    return false;
}

/* Whether e may be dialled now; otherwise lowers *due to when that may change. */
static bool book_eligible(const tc_peer_table *t, const book_entry *e, uint64_t now_ms,
                          uint64_t *due)
{
    char host[TC_PEER_ADDR_MAX];
    uint64_t until = 0;
    if (e->self || book_connected(t, e->addr))
        return false;
    if (tc_peer_addr_host(e->addr, host, sizeof(host)) == 0 &&
        tc_peer_is_banned(t, host, now_ms, &until)) {
        *due = min_u64(*due, until);
        return false;
    }
    if (e->next_try_ms > now_ms) {
        *due = min_u64(*due, e->next_try_ms);
        return false;
    }
    return true;
}

/* Outbound connections plus live CONNECT proposals; expired proposals are cleared, live ones
 * lower *due to their expiry. */
static uint32_t outbound_in_use(tc_peer_table *t, uint64_t now_ms, uint64_t *due)
{
    uint32_t n = t->outbound;
    for (uint32_t i = 0; i < t->book_count; i++) {
        book_entry *e = &t->book[i];
        if (e->pending_until_ms != 0 && e->pending_until_ms <= now_ms)
            e->pending_until_ms = 0;
        if (e->pending_until_ms != 0) {
            n++;
            *due = min_u64(*due, e->pending_until_ms);
        }
    }
    return n;
}

static void discover(tc_peer_table *t, uint64_t now_ms)
{
    uint64_t due = UINT64_MAX;
    uint32_t used = outbound_in_use(t, now_ms, &due);
    uint32_t count = t->book_count;
    for (uint32_t k = 0; k < count && used < t->profile.outbound_max; k++) {
        uint32_t i = (t->book_cursor + k) % count;
        book_entry *e = &t->book[i];
        if (e->pending_until_ms != 0 || !book_eligible(t, e, now_ms, &due))
            continue;
        tc_peer_action *a = act_push(t, TC_PEER_ACT_CONNECT, 0);
        if (a == NULL)
            break;
        str_copy(a->addr, sizeof(a->addr), e->addr);
        e->pending_until_ms = add_sat(now_ms, t->profile.handshake_timeout_ms);
        e->next_try_ms = add_sat(now_ms, t->profile.connect_retry_ms);
        due = min_u64(due, e->pending_until_ms);
        used++;
        t->book_cursor = (i + 1) % count;
    }
    TC_ASSERT(t->book_cursor <= t->book_count);
    t->discovery_due_ms = due;
}

static void serve_peers(tc_peer_table *t, uint64_t now_ms, const slot *to)
{
    TC_ASSERT(to->state == SLOT_READY);
    tc_msg m;
    memset(&m, 0, sizeof(m));
    m.type = TC_MSG_PEERS;
    uint32_t count = t->book_count;
    uint32_t k = 0;
    for (; k < count && m.peers.addr_count < TC_MSG_PEERS_MAX; k++) {
        const book_entry *e = &t->book[(t->serve_cursor + k) % count];
        char host[TC_PEER_ADDR_MAX];
        if (e->self || strcmp(e->addr, to->addr) == 0 || strcmp(e->addr, to->listen_addr) == 0)
            continue;
        if (tc_peer_addr_host(e->addr, host, sizeof(host)) == 0 &&
            tc_peer_is_banned(t, host, now_ms, NULL))
            continue;
        str_copy(m.peers.addrs[m.peers.addr_count++], TC_MSG_ADDR_MAX + 1, e->addr);
    }
    t->serve_cursor = count > 0 ? (t->serve_cursor + k) % count : 0;
    TC_ASSERT(m.peers.addr_count <= TC_MSG_PEERS_MAX);
    send_msg(t, to->id, &m);
}

/* ---- handshake ---- */

static void send_hello(tc_peer_table *t, const slot *s)
{
    tc_msg m;
    memset(&m, 0, sizeof(m));
    m.type = TC_MSG_HELLO;
    tc_msg_hello *h = &m.hello;
    h->magic = t->profile.magic;
    h->version = t->profile.protocol_version;
    h->genesis = t->genesis;
    h->pubkey = t->identity.pub;
    memcpy(h->nonce, s->our_nonce, TC_MSG_NONCE_SIZE);
    h->best_height = t->best_height;
    h->listen_port = t->listen_port;
    h->user_agent_len = t->user_agent_len;
    memcpy(h->user_agent, t->user_agent, t->user_agent_len);
    send_msg(t, s->id, &m);
}

static void send_simple(tc_peer_table *t, tc_peer_id peer, uint8_t type, uint64_t nonce)
{
    tc_msg m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    if (type == TC_MSG_PING)
        m.ping.nonce = nonce;
    else if (type == TC_MSG_PONG)
        m.pong.nonce = nonce;
    else
        TC_ASSERT(type == TC_MSG_GET_PEERS);
    send_msg(t, peer, &m);
}

/* Whether nonce is one of ours: a HELLO carrying it is our own, come back. */
static bool nonce_ours(const tc_peer_table *t, const uint8_t nonce[TC_MSG_NONCE_SIZE])
{
    for (uint32_t i = 0; i < t->slot_hi; i++)
        if (t->slots[i].state != SLOT_FREE &&
            memcmp(t->slots[i].our_nonce, nonce, TC_MSG_NONCE_SIZE) == 0)
            return true;
    return false;
}

static int hello_check(const tc_peer_table *t, const tc_msg_hello *h)
{
    if (h->magic != t->profile.magic)
        return TC_EPEER_MAGIC;
    if (h->version != t->profile.protocol_version)
        return TC_EPEER_VERSION;
    if (memcmp(h->genesis.b, t->genesis.b, TC_HASH_SIZE) != 0)
        return TC_EPEER_GENESIS;
    if (memcmp(h->pubkey.b, t->identity.pub.b, TC_PUBKEY_SIZE) == 0 || nonce_ours(t, h->nonce))
        return TC_EPEER_SELF;
    if (nonce_seen(t, h->nonce))
        return TC_EPEER_NONCE;
    return 0;
}

/* Where an inbound peer can be dialled: its connection's host and the port its HELLO names. */
static void listen_addr_set(slot *s, uint16_t port)
{
    char host[TC_PEER_ADDR_MAX];
    int rc = tc_peer_addr_host(s->addr, host, sizeof(host));
    TC_ASSERT(rc == 0); /* checked at tc_peer_up */
    s->listen_addr[0] = 0;
    if (port == 0)
        return;
    int n = snprintf(s->listen_addr, sizeof(s->listen_addr), "%s:%u", host, (unsigned)port);
    if (n < 0 || (size_t)n >= sizeof(s->listen_addr))
        s->listen_addr[0] = 0; /* a host too long to carry a port: not dialable */
}

static int on_hello(tc_peer_table *t, slot *s, const tc_msg_hello *h)
{
    if (s->got_hello)
        return TC_EPEER_PROTOCOL;
    int rc = hello_check(t, h);
    if (rc == TC_EPEER_SELF && !s->inbound) {
        book_entry *e = book_find(t, s->addr);
        if (e != NULL)
            e->self = true; /* our own listening address: never dial it again */
    }
    if (rc != 0)
        return rc;
    nonce_add(t, h->nonce);
    s->got_hello = true;
    s->key = h->pubkey;
    s->best_height = h->best_height;
    memcpy(s->user_agent, h->user_agent, h->user_agent_len);
    s->user_agent[h->user_agent_len] = 0;
    listen_addr_set(s, h->listen_port);
    tc_msg m;
    memset(&m, 0, sizeof(m));
    m.type = TC_MSG_AUTH;
    tc_hash digest;
    tc_msg_auth_hash(h->nonce, &t->identity.pub, &digest);
    tc_sign(t->verifier.scheme, &t->identity, &digest, &m.auth.sig);
    send_msg(t, s->id, &m);
    return 0;
}

static void become_ready(tc_peer_table *t, uint64_t now_ms, slot *s)
{
    TC_ASSERT(s->state == SLOT_HANDSHAKE && s->got_hello && s->got_auth);
    s->state = SLOT_READY;
    t->ready_stale = true;
    s->next_ping_ms = add_sat(now_ms, t->profile.ping_interval_ms);
    s->points_ms = now_ms;
    for (int c = 0; c < TC_PEER_CAT_COUNT; c++) {
        s->buckets[c].milli = t->bucket_cap_milli[c]; /* buckets start full */
        s->buckets[c].last_ms = now_ms;
    }
    (void)act_push(t, TC_PEER_ACT_READY, s->id);
    /* Learn where the peer listens; ask outbound peers (ones we chose) for more addresses. */
    if (s->inbound && s->listen_addr[0] != 0)
        (void)book_insert(t, now_ms, s->listen_addr, false);
    if (!s->inbound) {
        (void)book_insert(t, now_ms, s->addr, false);
        send_simple(t, s->id, TC_MSG_GET_PEERS, 0);
        s->asked_peers = true;
    }
}

static int on_auth(tc_peer_table *t, uint64_t now_ms, slot *s, const tc_msg_auth *a)
{
    if (!s->got_hello || s->got_auth)
        return TC_EPEER_PROTOCOL;
    tc_hash digest;
    tc_msg_auth_hash(s->our_nonce, &s->key, &digest);
    if (tc_verify(&t->verifier, &s->key, &digest, &a->sig) != 0)
        return TC_EBADSIG;
    s->got_auth = true;
    become_ready(t, now_ms, s);
    return 0;
}

static int recv_handshake(tc_peer_table *t, uint64_t now_ms, slot *s, const uint8_t *frame,
                          size_t len, tc_msg *msg)
{
    uint8_t type = tc_msg_frame_type(frame, len);
    if (type != TC_MSG_HELLO && type != TC_MSG_AUTH) {
        disconnect(t, s, TC_EPEER_PROTOCOL, 0);
        return TC_EPEER_PROTOCOL;
    }
    int rc = tc_msg_decode(frame, len, msg);
    if (rc == 0) {
        rc = type == TC_MSG_HELLO ? on_hello(t, s, &msg->hello) : on_auth(t, now_ms, s, &msg->auth);
        tc_msg_deinit(msg);
    }
    if (rc != 0)
        disconnect(t, s, rc, 0);
    TC_ASSERT(msg->type == 0);
    return rc;
}

/* ---- messages after the handshake ---- */

static void on_pong(tc_peer_table *t, uint64_t now_ms, slot *s, uint64_t nonce)
{
    TC_ASSERT(s->state == SLOT_READY);
    if (!s->ping_out || nonce != s->ping_nonce) {
        /* Counted, not scored: the answer to a PING that a newer one replaced arrives late
         * from an honest peer (after a pause here, or a slow link), and PONGs are rate
         * limited like every message. */
        t->pongs_unsolicited++;
        return;
    }
    s->ping_out = false;
    s->rtt_ms = now_ms > s->ping_sent_ms ? now_ms - s->ping_sent_ms : 0;
    s->srtt_ms = s->has_rtt ? (7 * s->srtt_ms + s->rtt_ms) / 8 : s->rtt_ms;
    s->has_rtt = true;
}

static void on_peers(tc_peer_table *t, uint64_t now_ms, slot *s, const tc_msg_peers *p)
{
    if (!s->asked_peers) {
        (void)offence(t, now_ms, s, TC_PEER_OFFENCE_UNSOLICITED);
        return;
    }
    s->asked_peers = false;
    TC_ASSERT(p->addr_count <= TC_MSG_PEERS_MAX);
    for (uint32_t i = 0; i < p->addr_count; i++)
        (void)book_insert(t, now_ms, p->addrs[i], false); /* bad or known ones are skipped */
}

/* Handles the messages peer policy owns; false for the node's. */
static bool on_control(tc_peer_table *t, uint64_t now_ms, slot *s, const tc_msg *m)
{
    switch (m->type) {
    case TC_MSG_PING:
        send_simple(t, s->id, TC_MSG_PONG, m->ping.nonce);
        return true;
    case TC_MSG_PONG:
        on_pong(t, now_ms, s, m->pong.nonce);
        return true;
    case TC_MSG_GET_PEERS:
        serve_peers(t, now_ms, s);
        return true;
    case TC_MSG_PEERS:
        on_peers(t, now_ms, s, &m->peers);
        return true;
    default:
        return false;
    }
}

static int recv_ready(tc_peer_table *t, uint64_t now_ms, slot *s, const uint8_t *frame, size_t len,
                      tc_msg *msg, bool *deliver)
{
    uint8_t type = tc_msg_frame_type(frame, len);
    if (type == TC_MSG_HELLO || type == TC_MSG_AUTH) {
        (void)offence(t, now_ms, s, TC_PEER_OFFENCE_PROTOCOL);
        return TC_EPEER_PROTOCOL;
    }
    type_policy policy = policy_of(type);
    tc_peer_category c = (tc_peer_category)policy.category;
    if (c != TC_PEER_CAT_COUNT && !bucket_take(t, s, c, now_ms)) {
        drop_count(t, now_ms, s, c);
        return TC_EPEER_RATE;
    }
    /* Most gossip arrives more than once (once per peer that relays or re-sends it): the key
     * is checked before decoding, so a copy costs a hash of a few fields and one index probe. A
     * transaction's key is its txid, which needs the decoded body (the txid leaves the input
     * signatures out). Nothing enters the filter here: the node enters what it accepted
     * (tc_peer_seen_check_and_add), so a frame refused for now (a proposal for a height not
     * reached yet) is taken when it comes again. */
    bool gossip = policy.gossip && len >= TC_MSG_HEADER_SIZE;
    seen_id key = {{0}};
    tc_hash oid = {{0}};
    bool has_oid = false;
    if (gossip && type != TC_MSG_TX) {
        key_of_frame(t, frame, len, &key, &oid, &has_oid);
        if (seen_lookup(t, &key) != UINT32_MAX) {
            t->duplicate_drops++;
            return TC_EPEER_DUPLICATE;
        }
    }
    int rc = tc_msg_decode(frame, len, msg);
    if (rc != 0) {
        if (rc != TC_ENOMEM) /* our memory, not the peer's fault */
            (void)offence(t, now_ms, s, TC_PEER_OFFENCE_MALFORMED);
        return rc;
    }
    if (gossip && type == TC_MSG_TX) {
        tc_tx_id(&msg->tx, &oid);
        has_oid = true;
        key_of_object(t, type, &oid, &key);
        if (seen_lookup(t, &key) != UINT32_MAX) {
            tc_msg_deinit(msg);
            t->duplicate_drops++;
            return TC_EPEER_DUPLICATE;
        }
    }
    if (gossip) {
        t->last_gossip = true;
        t->last_key = key;
        t->last_oid = oid;
        t->last_has_oid = has_oid;
    }
    if (on_control(t, now_ms, s, msg)) {
        tc_msg_deinit(msg);
        return 0;
    }
    *deliver = true;
    return 0;
}

int tc_peer_recv(tc_peer_table *t, uint64_t now_ms, tc_peer_id peer, const uint8_t *frame,
                 size_t len, tc_msg *msg, bool *deliver)
{
    TC_ASSERT(t != NULL && msg != NULL && deliver != NULL);
    TC_ASSERT(frame != NULL || len == 0);
    *deliver = false;
    t->last_gossip = false;
    /* Empty, not zeroed: a tc_msg is 4 KiB (PEERS and GET_VOTE_BATCHES live inline), and most
     * frames (duplicates) never reach the decoder; tc_msg_decode clears what it fills. */
    msg->type = 0;
    slot *s = slot_find(t, peer);
    if (s == NULL || s->state == SLOT_CLOSING)
        return TC_ENOTFOUND;
    uint64_t before = slot_deadline(t, s);
    s->last_recv_ms = now_ms;
    s->frames++;
    int rc;
    /* The driver checks the prefix before reading (tc_msg_frame_check); a simulator hands
     * frames over whole, so the bound is enforced here as well. */
    if (len > t->profile.frame_size_max) {
        disconnect(t, s, TC_ETOOLONG, 0);
        rc = TC_ETOOLONG;
    } else if (s->state == SLOT_HANDSHAKE) {
        rc = recv_handshake(t, now_ms, s, frame, len, msg);
    } else {
        rc = recv_ready(t, now_ms, s, frame, len, msg, deliver);
    }
    slot_deadline_moved(t, s, before);
    return rc;
}

/* ---- connections ---- */

/* Checks a new connection; 0 or the refusal code (and the ban expiry for TC_EPEER_BANNED). */
static int up_admit(const tc_peer_table *t, uint64_t now_ms, const char *addr, bool inbound,
                    uint64_t *ban_until)
{
    char host[TC_PEER_ADDR_MAX];
    *ban_until = 0;
    if (addr == NULL || strnlen(addr, TC_PEER_ADDR_MAX) >= TC_PEER_ADDR_MAX ||
        tc_peer_addr_host(addr, host, sizeof(host)) != 0)
        return TC_EINVAL;
    if (tc_peer_is_banned(t, host, now_ms, ban_until))
        return TC_EPEER_BANNED;
    if (inbound ? t->inbound >= t->profile.inbound_max : t->outbound >= t->profile.outbound_max)
        return TC_EPEER_LIMIT;
    return 0;
}

int tc_peer_up(tc_peer_table *t, uint64_t now_ms, tc_peer_id peer, const char *addr, bool inbound)
{
    TC_ASSERT(t != NULL);
    if (slot_find(t, peer) != NULL)
        return TC_EEXIST;
    uint64_t until = 0;
    int rc = up_admit(t, now_ms, addr, inbound, &until);
    slot *s = rc == 0 ? slot_free(t) : NULL;
    if (rc == 0 && TC_NEVER(s == NULL))
        rc = TC_EPEER_LIMIT; /* slots = inbound_max + outbound_max, and both are checked */
    if (rc != 0) {
        tc_peer_action *a = act_push(t, TC_PEER_ACT_DISCONNECT, peer);
        if (a != NULL) {
            a->reason = rc;
            a->ban_until_ms = until;
        }
        return rc;
    }
    memset(s, 0, sizeof(*s));
    s->state = SLOT_HANDSHAKE;
    s->id = peer;
    s->inbound = inbound;
    str_copy(s->addr, sizeof(s->addr), addr);
    tc_rng_bytes(&t->rng, s->our_nonce, TC_MSG_NONCE_SIZE);
    s->up_ms = s->last_recv_ms = s->points_ms = now_ms;
    slot_deadline_moved(t, s, UINT64_MAX);
    if (inbound)
        t->inbound++;
    else
        t->outbound++;
    book_entry *e = inbound ? NULL : book_find(t, addr);
    if (e != NULL)
        e->pending_until_ms = 0; /* the proposal came true */
    send_hello(t, s);
    TC_ASSERT(t->inbound <= t->profile.inbound_max && t->outbound <= t->profile.outbound_max);
    return 0;
}

void tc_peer_down(tc_peer_table *t, uint64_t now_ms, tc_peer_id peer)
{
    TC_ASSERT(t != NULL);
    slot *s = slot_find(t, peer);
    if (s == NULL)
        return;
    if (s->inbound) {
        TC_ASSERT(t->inbound > 0);
        t->inbound--;
    } else {
        TC_ASSERT(t->outbound > 0);
        t->outbound--;
        t->discovery_due_ms = min_u64(t->discovery_due_ms, now_ms); /* room to dial */
    }
    t->ready_stale |= s->state == SLOT_READY;
    memset(s, 0, sizeof(*s));
    t->slots_due_stale = true;
}

/* ---- time ---- */

static void tick_slot(tc_peer_table *t, uint64_t now_ms, slot *s)
{
    const tc_profile *p = &t->profile;
    TC_ASSERT(s->state <= SLOT_CLOSING);
    if (s->state == SLOT_HANDSHAKE) {
        if (now_ms >= add_sat(s->up_ms, p->handshake_timeout_ms))
            disconnect(t, s, TC_EPEER_HANDSHAKE_TIMEOUT, 0);
        return;
    }
    if (s->state != SLOT_READY)
        return;
    if (now_ms >= add_sat(s->last_recv_ms, p->idle_timeout_ms)) {
        disconnect(t, s, TC_EPEER_IDLE, 0);
        return;
    }
    if (now_ms >= s->next_ping_ms) {
        /* A PING still unanswered is replaced: its PONG, if late, counts as unsolicited, and a
         * peer that answers nothing falls to the idle timeout. */
        s->ping_nonce = tc_rng_u64(&t->rng);
        s->ping_out = true;
        s->ping_sent_ms = now_ms;
        s->next_ping_ms = add_sat(now_ms, p->ping_interval_ms);
        send_simple(t, s->id, TC_MSG_PING, s->ping_nonce);
    }
}

void tc_peer_tick(tc_peer_table *t, uint64_t now_ms)
{
    TC_ASSERT(t != NULL);
    for (uint32_t i = 0; i < t->slot_hi; i++)
        tick_slot(t, now_ms, &t->slots[i]);
    t->slots_due_stale = true; /* PINGs sent move their slots' deadlines */
    if (now_ms >= t->discovery_due_ms)
        discover(t, now_ms);
    TC_ASSERT(t->act_count <= t->act_cap);
}

uint64_t tc_peer_next_deadline(tc_peer_table *t)
{
    TC_ASSERT(t != NULL);
    if (t->slots_due_stale) {
        uint64_t d = UINT64_MAX;
        for (uint32_t i = 0; i < t->slot_hi; i++)
            d = min_u64(d, slot_deadline(t, &t->slots[i]));
        t->slots_due_ms = d;
        t->slots_due_stale = false;
    }
    return min_u64(t->discovery_due_ms, t->slots_due_ms);
}

/* ---- settings and observers ---- */

void tc_peer_set_best_height(tc_peer_table *t, uint64_t height)
{
    TC_ASSERT(t != NULL);
    t->best_height = height;
}

void tc_peer_set_validator_count(tc_peer_table *t, uint32_t count)
{
    TC_ASSERT(t != NULL);
    t->validator_count = count;
    budgets_update(t);
}

int tc_peer_info_get(const tc_peer_table *t, tc_peer_id peer, tc_peer_info *out)
{
    TC_ASSERT(t != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    const slot *s = slot_find(t, peer);
    if (s == NULL)
        return TC_ENOTFOUND;
    str_copy(out->addr, sizeof(out->addr), s->addr);
    str_copy(out->listen_addr, sizeof(out->listen_addr), s->listen_addr);
    str_copy(out->user_agent, sizeof(out->user_agent), s->user_agent);
    out->inbound = s->inbound;
    out->ready = s->state == SLOT_READY;
    out->closing = s->state == SLOT_CLOSING;
    out->pubkey = s->key;
    out->best_height = s->best_height;
    out->has_rtt = s->has_rtt;
    out->rtt_ms = s->rtt_ms;
    out->srtt_ms = s->srtt_ms;
    out->points = s->points;
    out->frames = s->frames;
    memcpy(out->drops, s->drops, sizeof(out->drops));
    return 0;
}

uint32_t tc_peer_ready_ids(tc_peer_table *t, tc_peer_id *out, uint32_t cap)
{
    TC_ASSERT(t != NULL);
    TC_ASSERT(out != NULL || cap == 0);
    if (t->ready_stale) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < t->slot_hi; i++) {
            if (t->slots[i].state != SLOT_READY)
                continue;
            /* Insertion into the sorted prefix: slot order depends on reuse, id order does not. */
            tc_peer_id id = t->slots[i].id;
            uint32_t j = n;
            while (j > 0 && t->ready[j - 1] > id) {
                t->ready[j] = t->ready[j - 1];
                j--;
            }
            t->ready[j] = id;
            n++;
        }
        t->ready_n = n;
        t->ready_stale = false;
    }
    uint32_t k = t->ready_n < cap ? t->ready_n : cap;
    if (k > 0)
        memcpy(out, t->ready, k * sizeof(*out));
    return t->ready_n;
}

void tc_peer_stats_get(const tc_peer_table *t, tc_peer_stats *out)
{
    TC_ASSERT(t != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    for (uint32_t i = 0; i < t->slot_hi; i++) {
        out->peers += t->slots[i].state != SLOT_FREE;
        out->ready += t->slots[i].state == SLOT_READY;
    }
    out->inbound = t->inbound;
    out->outbound = t->outbound;
    out->rate_drops = t->rate_drops;
    memcpy(out->drops, t->drops, sizeof(out->drops));
    out->duplicate_drops = t->duplicate_drops;
    out->offences = t->offences;
    out->pongs_unsolicited = t->pongs_unsolicited;
    out->bans = t->bans_imposed;
    out->ban_entries = t->ban_count;
    out->book_entries = t->book_count;
    out->seen_entries = t->seen_count;
    TC_ASSERT(out->peers == t->inbound + t->outbound);
}

/* ---- lifecycle ---- */

static uint32_t bound_or(uint32_t v, uint32_t dflt)
{
    return v == 0 ? dflt : v;
}

static int config_check(const tc_peer_config *c)
{
    if (tc_profile_check(c->profile) != 0)
        return TC_EINVAL;
    if (c->profile->inbound_max > TC_PEER_CONTAINER_MAX ||
        c->profile->outbound_max > TC_PEER_CONTAINER_MAX ||
        c->profile->inbound_max + c->profile->outbound_max == 0)
        return TC_EINVAL;
    if (c->seen_max > TC_PEER_CONTAINER_MAX || c->book_max > TC_PEER_CONTAINER_MAX ||
        c->bans_max > TC_PEER_CONTAINER_MAX || c->nonces_max > TC_PEER_CONTAINER_MAX)
        return TC_EINVAL;
    if (c->seed_count > bound_or(c->book_max, TC_PEER_BOOK_MAX_DEFAULT) ||
        (c->seed_count > 0 && c->seeds == NULL))
        return TC_EINVAL;
    for (uint32_t i = 0; i < c->seed_count; i++)
        if (c->seeds[i] == NULL || !book_addr_ok(c->seeds[i]))
            return TC_EINVAL;
    if (c->user_agent != NULL) {
        size_t n = strnlen(c->user_agent, TC_MSG_USER_AGENT_MAX + 1);
        if (n > TC_MSG_USER_AGENT_MAX)
            return TC_EINVAL;
        for (size_t i = 0; i < n; i++)
            if (c->user_agent[i] < 0x20 || c->user_agent[i] > 0x7e)
                return TC_EINVAL;
    }
    return 0;
}

static int table_alloc(tc_peer_table *t)
{
    const tc_profile *p = &t->profile;
    t->slot_cap = p->inbound_max + p->outbound_max;
    _Static_assert(2ull * TC_PEER_CONTAINER_MAX <= (1ull << 32),
                   "every index slot is reachable from a 32-bit tag");
    uint32_t index_size = 2;
    while (index_size < 2 * t->seen_cap)
        index_size *= 2;
    t->seen_mask = index_size - 1;
    /* Enough for a few calls between drains: one call yields at most one action per slot (a
     * PING or a DISCONNECT) plus outbound_max CONNECTs plus a reply. */
    t->act_cap = 4 * (t->slot_cap + p->outbound_max + 4);
    t->arena_cap =
        4 * ((size_t)TC_MSG_PEERS_SIZE_MAX + (size_t)(t->slot_cap + 4) * TC_MSG_HELLO_SIZE_MAX);
    t->slots = tc_calloc(t->slot_cap, sizeof(*t->slots));
    t->ready = tc_calloc(t->slot_cap, sizeof(*t->ready));
    t->nonces = tc_calloc(t->nonce_cap, sizeof(*t->nonces));
    t->seen = tc_calloc(t->seen_cap, sizeof(*t->seen));
    t->seen_index = tc_calloc(index_size, sizeof(*t->seen_index));
    t->bans = tc_calloc(t->ban_cap, sizeof(*t->bans));
    t->book = tc_calloc(t->book_cap, sizeof(*t->book));
    t->acts = tc_calloc(t->act_cap, sizeof(*t->acts));
    t->arena = tc_malloc(t->arena_cap);
    bool ok = t->slots && t->ready && t->nonces && t->seen && t->seen_index && t->bans && t->book &&
              t->acts && t->arena;
    return ok ? 0 : TC_ENOMEM;
}

int tc_peer_table_new(const tc_peer_config *config, uint64_t now_ms, tc_peer_table **out)
{
    TC_ASSERT(config != NULL && config->profile != NULL && config->identity != NULL);
    TC_ASSERT(out != NULL);
    *out = NULL;
    int rc = config_check(config);
    if (rc != 0)
        return rc;
    tc_peer_table *t = tc_calloc(1, sizeof(*t));
    if (t == NULL)
        return TC_ENOMEM;
    t->profile = *config->profile;
    t->genesis = config->genesis_hash;
    t->identity = *config->identity;
    t->verifier = config->verifier;
    tc_rng_init(&t->rng, config->rng_seed);
    tc_hash key;
    tc_hash_tagged(&key, TC_TAG_GOSSIPKEY, config->rng_seed, sizeof(config->rng_seed));
    memcpy(t->gossip_key, key.b, sizeof(t->gossip_key));
    _Static_assert(sizeof(t->gossip_key) + sizeof(t->gossip_salt) <= TC_HASH_SIZE,
                   "the key and the salt are distinct bytes of one secret hash");
    t->gossip_salt[0] = tc_load_u64(key.b + sizeof(t->gossip_key));
    t->gossip_salt[1] = tc_load_u64(key.b + sizeof(t->gossip_key) + 8);
    t->listen_port = config->listen_port;
    const char *ua = config->user_agent != NULL ? config->user_agent : TC_PEER_USER_AGENT_DEFAULT;
    t->user_agent_len = (uint8_t)strlen(ua);
    memcpy(t->user_agent, ua, t->user_agent_len);
    t->validator_count = config->validator_count;
    budgets_update(t);
    t->seen_cap = bound_or(config->seen_max, TC_PEER_SEEN_MAX_DEFAULT);
    t->book_cap = bound_or(config->book_max, TC_PEER_BOOK_MAX_DEFAULT);
    t->ban_cap = bound_or(config->bans_max, TC_PEER_BANS_MAX_DEFAULT);
    t->nonce_cap = bound_or(config->nonces_max, TC_PEER_NONCES_MAX_DEFAULT);
    t->discovery_due_ms = now_ms;
    t->slots_due_stale = true;
    rc = table_alloc(t);
    for (uint32_t i = 0; rc == 0 && i < config->seed_count; i++) {
        int r = book_insert(t, now_ms, config->seeds[i], true);
        TC_ASSERT(r == 0 || r == TC_EEXIST); /* checked by config_check; duplicates are fine */
    }
    if (rc != 0) {
        tc_peer_table_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void tc_peer_table_free(tc_peer_table *t)
{
    if (t == NULL)
        return;
    free(t->slots);
    free(t->ready);
    free(t->nonces);
    free(t->seen);
    free(t->seen_index);
    free(t->bans);
    free(t->book);
    free(t->acts);
    free(t->arena);
    memset(&t->identity, 0, sizeof(t->identity));
    free(t);
}
