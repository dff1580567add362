/* peer.h — peer policy (PROTOCOL 10.5-10.10): handshakes, rate limits, misbehaviour and bans,
 * liveness, the gossip seen-filter and peer discovery, as a pure state machine over a table of
 * peers.
 *
 * What it owns. A tc_peer_table holds one slot per connection, keyed by the driver's
 * tc_peer_id, plus four bounded, deterministic containers: recently seen HELLO nonces, the
 * seen-message filter, the ban table (by host) and the address book. Every container is
 * allocated once by tc_peer_table_new; no call after that allocates, so the steady state costs
 * no memory per message (STYLE rule 4). Nothing here reads a clock or draws ambient randomness:
 * time is the now_ms argument, and HELLO and PING nonces come from a generator seeded by the
 * config.
 *
 * How node.c drives it. Each connection event goes through the matching function:
 *   tc_node_peer_up   -> tc_peer_up    (sends HELLO, or refuses: banned host, over a limit)
 *   tc_node_recv      -> tc_peer_recv  (handshake, rate limits, seen-filter, decode, and the
 *                                       control messages PING/PONG/GET_PEERS/PEERS; the other
 *                                       messages come back decoded for the node: *deliver)
 *   tc_node_peer_down -> tc_peer_down
 *   tc_node_tick      -> tc_peer_tick  (handshake and idle timeouts, pings, CONNECT proposals)
 *   tc_node_next_deadline includes tc_peer_next_deadline.
 * The node reports what it finds wrong with a delivered message (bad signature, invalid object,
 * unsolicited data) with tc_peer_offence. Decisions come out as tc_peer_actions, which the node
 * drains with tc_peer_next_action after each of its own events and turns into tc_actions:
 *   SEND -> TC_ACTION_SEND, CONNECT -> TC_ACTION_CONNECT,
 *   DISCONNECT -> TC_ACTION_DISCONNECT (+ TC_NOTIFY_PEER_BANNED when ban_until_ms != 0),
 *   READY -> TC_NOTIFY_PEER_READY (the node may now send STATUS and gossip to the peer).
 *
 * Handshake (both directions, before anything else). On tc_peer_up we send HELLO with a fresh
 * nonce. Their HELLO must carry our magic, protocol version and genesis hash, a key other than
 * ours and a nonce other than any of ours (else we dialled ourselves), and a nonce not seen in
 * the last nonces_max handshakes; then we answer AUTH = sign(H(tc/hello, their nonce || our
 * key)). Their AUTH must come after their HELLO and verify over H(tc/hello, our nonce || their
 * key). Then the peer is READY. Any other message first, a second HELLO or AUTH, a failed check
 * or no completion within handshake_timeout_ms closes the connection with the reason
 * (TC_EPEER_*, TC_EBADSIG, or the decode code) and no ban: a wrong network is a
 * misconfiguration, not an attack, and an unfinished handshake cost us nothing.
 *
 * Rate limits. Per READY peer, one token bucket per category (tc_peer_category). Buckets count
 * millitokens (TC_PEER_MILLI per message) so refill is exact integer arithmetic: after dt ms a
 * bucket of rate R messages/s gains dt * R millitokens, up to burst * TC_PEER_MILLI. Buckets
 * start full. The consensus and finality buckets' rates and bursts are base + per_validator *
 * validator count. Block consensus (PROPOSAL, PREVOTE, PRECOMMIT) has a bucket of its own, apart
 * from finality's (VOTE_BATCH and the other validator gossip), and priority over it: a consensus
 * message that finds its bucket empty takes a token from the finality bucket, never the other
 * way round. Vote batches, hundreds a second under load, can thus never starve the few
 * messages that commit blocks, whatever budgets the operator sets.
 * A message over budget is dropped and counted (TC_EPEER_RATE). Drops alone are no offence —
 * an honest peer relaying a backlog after a partition heals, or everything that piled up while
 * this node was paused, overruns its budget in one burst — but a peer that keeps overrunning
 * it is flooding: a TC_PEER_FLOOD_WINDOW_MS window with TC_PEER_FLOOD_DROPS drops or more is
 * flooded, and each flooded window after TC_PEER_FLOOD_GRACE in a row is one
 * TC_PEER_OFFENCE_FLOOD, so only a flood sustained for seconds reaches the threshold. Handshake
 * messages are not rate limited (each is allowed once).
 *
 * Misbehaviour. Each offence adds its points (TC_PEER_POINTS_*); one point is forgiven per
 * misbehaviour_decay_ms. When a peer's points reach misbehaviour_threshold it is disconnected
 * (TC_EPEER_MISBEHAVIOUR) and its HOST (the address before the last ':') is banned: ban_base_ms
 * for a first ban, doubling with every further ban of that host up to ban_max_ms. All other
 * connections from the host are closed too (TC_EPEER_BANNED), and tc_peer_up refuses it until
 * the ban expires. A host whose last ban ended more than ban_max_ms ago starts again from
 * ban_base_ms. The ban table is bounded: a new host replaces the expired entry that expired
 * first, else the entry that expires first (ties: lowest slot), so it is deterministic.
 *
 * Liveness. No frame from a peer for idle_timeout_ms closes it (TC_EPEER_IDLE). Every
 * ping_interval_ms after READY we send PING with a fresh nonce; the matching PONG gives the
 * round-trip time (last, and smoothed: srtt = (7 srtt + rtt) / 8, first sample taken as is).
 * A PONG that matches no outstanding PING is unsolicited.
 *
 * Seen filter. A FIFO set of seen_max gossip keys (keyed hashes of protocol ids, see
 * tc_peer_seen_check_and_add) with an exact hash index. The ring keeps the TC_SHORTHASH_SIZE
 * meaningful bytes of each id; each index slot keeps the ring position and the id's first four
 * bytes, which give its home slot and let a probe skip the ring entry of every other id (the ring,
 * 512 KiB by default, is read only to confirm a match). Gossip (TX, VOTE_BATCH, PROPOSAL, PREVOTE,
 * PRECOMMIT, HEARTBEAT, HANDOFF, EVIDENCE) whose key is in the filter is dropped by tc_peer_recv
 * (TC_EPEER_DUPLICATE); the node enters what it accepted and the frames it originates with
 * tc_peer_seen_check_and_add, so they do not come back to it as news.
 *
 * Discovery. The address book holds up to book_max "host:port" entries in insertion order:
 * the config's seeds (pinned: never evicted) and addresses learnt from handshakes (a READY peer
 * with a listen port) and from PEERS answering our GET_PEERS (sent to each outbound peer when
 * it becomes READY; an unasked PEERS is unsolicited). A full book evicts its oldest unpinned
 * entry. While outbound connections plus CONNECTs still pending are below outbound_max, tick
 * proposes CONNECT for book entries in order (rotating), skipping addresses connected or
 * pending, banned hosts, addresses that led to ourselves, and addresses dialled within
 * connect_retry_ms. A CONNECT is pending until tc_peer_up arrives for that address or
 * handshake_timeout_ms passes. GET_PEERS is answered with up to TC_MSG_PEERS_MAX book entries
 * (rotating; banned and self entries left out).
 *
 * Invariants (asserted): slot ids are unique among used slots; inbound and outbound counts
 * never exceed the profile limits; every container's count is within its bound; the action
 * queue's frames live in the table's arena.
 *
 * Lifetimes: config contents are copied by tc_peer_table_new (profile, key, strings); the
 * verify cache inside config->verifier is borrowed and must outlive the table. A tc_peer_action
 * popped by tc_peer_next_action points its frame into the table; it stays valid until the next
 * call into the table other than tc_peer_next_action.
 */
#ifndef TC_PEER_H
#define TC_PEER_H

#include "base.h"
#include "crypto.h"
#include "msg.h"
#include "profile.h"

/* A connection as the driver names it (the same type as node.h's). */
typedef uint32_t tc_peer_id;

#define TC_PEER_ADDR_MAX           64 /* "host:port" with its NUL; equals node.h's TC_NODE_ADDR_MAX */
#define TC_PEER_MILLI              1000u /* millitokens per message */
#define TC_PEER_FLOOD_DROPS        100u  /* rate-limit drops that make a window flooded */
#define TC_PEER_FLOOD_WINDOW_MS    1000u /* the window of sustained-flood detection */
#define TC_PEER_FLOOD_GRACE        5u /* flooded windows in a row before each further is an offence */
#define TC_PEER_USER_AGENT_DEFAULT "timecoin/0.1"

/* Default container bounds (a config field of 0 selects them). */
#define TC_PEER_SEEN_MAX_DEFAULT   32768u
#define TC_PEER_BOOK_MAX_DEFAULT   1024u
#define TC_PEER_BANS_MAX_DEFAULT   1024u
#define TC_PEER_NONCES_MAX_DEFAULT 1024u
/* Upper bounds a config may ask for (the seen index is twice the ring, in 8-byte slots). */
#define TC_PEER_CONTAINER_MAX (1u << 22)

/* Misbehaviour points per offence kind. With the default threshold of 100: four malformed
 * frames, two bad signatures, four protocol violations, ten invalid objects, twenty unsolicited
 * messages or ten floods (1000 drops) without forgiveness in between. */
#define TC_PEER_POINTS_MALFORMED   25u
#define TC_PEER_POINTS_BAD_SIG     50u
#define TC_PEER_POINTS_PROTOCOL    25u
#define TC_PEER_POINTS_UNSOLICITED 5u
#define TC_PEER_POINTS_INVALID     10u
#define TC_PEER_POINTS_FLOOD       10u

_Static_assert(TC_PEER_ADDR_MAX == TC_MSG_ADDR_MAX + 1, "a PEERS address fills a book entry");
_Static_assert(sizeof(TC_PEER_USER_AGENT_DEFAULT) > 1 &&
                   sizeof(TC_PEER_USER_AGENT_DEFAULT) <= TC_MSG_USER_AGENT_MAX + 1,
               "the default user agent fits HELLO");

typedef enum {
    TC_PEER_CAT_TX = 0,        /* TX */
    TC_PEER_CAT_CONSENSUS = 1, /* PROPOSAL PREVOTE PRECOMMIT */
    TC_PEER_CAT_SYNC = 2,      /* STATUS GET_VOTE_BATCHES GET_BLOCKS BLOCKS GET_VOTES VOTES */
    TC_PEER_CAT_DISCOVERY = 3, /* GET_PEERS PEERS */
    TC_PEER_CAT_PING = 4,      /* PING PONG REJECT */
    TC_PEER_CAT_FINALITY = 5,  /* VOTE_BATCH HEARTBEAT HANDOFF EVIDENCE */
    TC_PEER_CAT_COUNT = 6,     /* also: no category (HELLO, AUTH, unknown types) */
} tc_peer_category;

typedef enum {
    TC_PEER_OFFENCE_MALFORMED = 0,   /* a frame that does not decode */
    TC_PEER_OFFENCE_BAD_SIG = 1,     /* a signature that does not verify */
    TC_PEER_OFFENCE_PROTOCOL = 2,    /* a message the protocol forbids here (HELLO again, ...) */
    TC_PEER_OFFENCE_UNSOLICITED = 3, /* data we did not ask for (PEERS) */
    TC_PEER_OFFENCE_INVALID = 4,     /* well-formed, but breaks a rule that needs no state the
                                      * peer may lack (e.g. a block failing its own checks) */
    TC_PEER_OFFENCE_FLOOD = 5,       /* TC_PEER_FLOOD_DROPS rate-limit drops */
    TC_PEER_OFFENCE_COUNT = 6,
} tc_peer_offence_kind;

typedef struct {
    const tc_profile *profile;  /* copied */
    tc_hash genesis_hash;       /* tc_genesis_hash of our network */
    const tc_keypair *identity; /* copied: the node key HELLO announces and AUTH signs with */
    tc_verifier verifier;       /* its cache is borrowed */
    uint8_t rng_seed[32];       /* nonces; derive it from the node's generator */
    uint16_t listen_port;       /* announced in HELLO; 0: we accept no connections */
    const char *user_agent;     /* <= TC_MSG_USER_AGENT_MAX printable bytes; NULL: default */
    uint32_t seed_count;        /* pinned book entries ("host:port") */
    const char *const *seeds;
    uint32_t validator_count; /* scales the consensus budget; see tc_peer_set_validator_count */
    uint32_t seen_max;        /* 0: TC_PEER_SEEN_MAX_DEFAULT, likewise the next three */
    uint32_t book_max;
    uint32_t bans_max;
    uint32_t nonces_max;
} tc_peer_config;

typedef struct tc_peer_table tc_peer_table;

typedef enum {
    TC_PEER_ACT_SEND = 1,       /* peer, frame, frame_len */
    TC_PEER_ACT_CONNECT = 2,    /* addr: dial it; tc_peer_up(outbound) follows on success */
    TC_PEER_ACT_DISCONNECT = 3, /* peer, reason, ban_until_ms (0: the host is not banned) */
    TC_PEER_ACT_READY = 4,      /* peer: handshake complete */
} tc_peer_action_kind;

typedef struct {
    tc_peer_action_kind kind;
    tc_peer_id peer;
    const uint8_t *frame; /* SEND: a whole frame inside the table; see lifetimes */
    size_t frame_len;
    char addr[TC_PEER_ADDR_MAX]; /* CONNECT */
    int reason;                  /* DISCONNECT: a TC_E* code */
    uint64_t ban_until_ms;       /* DISCONNECT */
} tc_peer_action;

typedef struct {
    char addr[TC_PEER_ADDR_MAX];
    char listen_addr[TC_PEER_ADDR_MAX]; /* host:listen_port from HELLO; "" if none */
    bool inbound;
    bool ready;
    bool closing;         /* a DISCONNECT was issued; waiting for tc_peer_down */
    tc_pubkey pubkey;     /* from HELLO; the peer's identity once ready */
    uint64_t best_height; /* from HELLO */
    char user_agent[TC_MSG_USER_AGENT_MAX + 1];
    bool has_rtt;
    uint64_t rtt_ms;  /* last round trip */
    uint64_t srtt_ms; /* smoothed */
    uint32_t points;  /* misbehaviour points (before decay since the last offence) */
    uint64_t frames;  /* frames received */
    uint64_t drops[TC_PEER_CAT_COUNT];
} tc_peer_info;

typedef struct {
    uint32_t peers; /* used slots, closing ones included */
    uint32_t inbound;
    uint32_t outbound;
    uint32_t ready;
    uint64_t rate_drops;
    uint64_t drops[TC_PEER_CAT_COUNT]; /* rate_drops by category, over every peer ever */
    uint64_t duplicate_drops;
    uint64_t offences;
    uint64_t pongs_unsolicited; /* late or unasked PONGs: counted, never scored */
    uint64_t bans;              /* bans imposed */
    uint32_t ban_entries;
    uint32_t book_entries;
    uint32_t seen_entries;
} tc_peer_stats;

/* Creates a table at local time now_ms; the first tick proposes CONNECTs to the seeds.
 * Codes: TC_EINVAL (a profile failing tc_profile_check, a bad seed address, more seeds than
 * book_max, a user agent too long or not printable, a container bound over
 * TC_PEER_CONTAINER_MAX), TC_ENOMEM. */
int tc_peer_table_new(const tc_peer_config *config, uint64_t now_ms, tc_peer_table **out);
void tc_peer_table_free(tc_peer_table *t);

/* A connection is up. Sends HELLO, or refuses with a DISCONNECT action and returns
 * TC_EPEER_BANNED (host banned), TC_EPEER_LIMIT (inbound_max / outbound_max reached).
 * TC_EEXIST: the id is in use (nothing done). TC_EINVAL: addr NULL, empty or too long
 * (DISCONNECT issued). */
int tc_peer_up(tc_peer_table *t, uint64_t now_ms, tc_peer_id peer, const char *addr, bool inbound);
/* The connection is gone; forgets the slot. Unknown ids are ignored. */
void tc_peer_down(tc_peer_table *t, uint64_t now_ms, tc_peer_id peer);

/* One whole frame from peer. Returns 0 with *deliver = true when *msg holds a decoded
 * message the node must handle (and then tc_msg_deinit), or with *deliver = false when the
 * frame was consumed here. Otherwise *deliver = false, *msg is empty (msg->type == 0: it owns
 * nothing; its other bytes are not cleared, see msg.h), and the code says why the frame went
 * nowhere: TC_ENOTFOUND (unknown or closing peer), TC_EPEER_RATE,
 * TC_EPEER_DUPLICATE, TC_EPEER_PROTOCOL, TC_ETOOLONG (over frame_size_max: disconnected), a
 * decode code (counted as MALFORMED), or a handshake code (disconnected). */
int tc_peer_recv(tc_peer_table *t, uint64_t now_ms, tc_peer_id peer, const uint8_t *frame,
                 size_t len, tc_msg *msg, bool *deliver);

/* Records an offence of peer. Returns 0, TC_ENOTFOUND (unknown or closing peer), or
 * TC_EPEER_MISBEHAVIOUR (the threshold was reached: disconnected and host banned). */
int tc_peer_offence(tc_peer_table *t, uint64_t now_ms, tc_peer_id peer, tc_peer_offence_kind kind);

/* Time passed: handshake and idle timeouts, pings, pending CONNECTs expiring, proposals. */
void tc_peer_tick(tc_peer_table *t, uint64_t now_ms);
/* The earliest time tick has work (UINT64_MAX: none). May equal the last now_ms when a CONNECT
 * proposal is due at once. Not const: it refreshes the table's cached earliest slot deadline. */
uint64_t tc_peer_next_deadline(tc_peer_table *t);
/* Pops the next action into *out; false when the queue is empty. Drain after every node event:
 * the queue holds what a few calls can produce, and overflowing it is a bug (TC_NEVER). */
bool tc_peer_next_action(tc_peer_table *t, tc_peer_action *out);

/* Our best height, announced in later HELLOs. */
void tc_peer_set_best_height(tc_peer_table *t, uint64_t height);
/* The validator count that scales the consensus budget (call at each epoch change). */
void tc_peer_set_validator_count(tc_peer_table *t, uint32_t count);

/* Seen filter (PROTOCOL 10.9). Keys are tc_hash values whose first TC_SHORTHASH_SIZE bytes are
 * meaningful and the rest zero (asserted): SipHash-2-4 under this table's secret key (the first
 * 16 bytes of H(tc/gossipkey, config rng_seed)) of the object's protocol identity, never of a
 * whole frame. Secret, so a peer can neither craft an object colliding with one we have not seen
 * (to have it dropped) nor aim objects at one slot of the index. Keys never leave the node.
 *
 * tc_peer_recv drops a gossip frame whose key is in the filter (TC_EPEER_DUPLICATE) but enters
 * nothing: the node enters what it accepted (or refused for good) with
 * tc_peer_seen_check_and_add, so a frame refused for now (a proposal for a later height, an
 * object fetched from a peer that sent a bad copy) is taken when it comes again.
 *
 * True if key was present (nothing changes); false if it was not, and it is now (evicting the
 * oldest key when full). */
bool tc_peer_seen_check_and_add(tc_peer_table *t, const tc_hash *key);
/* Whether key is in the filter (nothing changes). */
bool tc_peer_seen_has(const tc_peer_table *t, const tc_hash *key);

/* The key of a gossip message m encoded as frame (len bytes, m's own encoding): a TX by its txid,
 * a VOTE_BATCH by its signed hash, a PROPOSAL by tc_msg_frame_proposal_id (height, round,
 * pol_round, signature), any other gossip by its type and payload. */
void tc_peer_gossip_id(const tc_peer_table *t, const tc_msg *m, const uint8_t *frame, size_t len,
                       tc_hash *out);
/* The key of an object announced by its protocol id (IHAVE, IWANT): type TX with a txid,
 * VOTE_BATCH with a batch's signed hash, PROPOSAL with tc_msg_frame_proposal_id. Equal to
 * tc_peer_gossip_id of the object's frame. */
void tc_peer_object_key(const tc_peer_table *t, uint8_t type, const tc_hash *id, tc_hash *out);
/* The key of the gossip frame the last tc_peer_recv delivered, and for TX, VOTE_BATCH and
 * PROPOSAL its protocol id (*has_oid); false when that call delivered no gossip. */
bool tc_peer_recv_key(const tc_peer_table *t, tc_hash *key_out, tc_hash *oid_out, bool *has_oid);

/* Bans host ("a.b.c.d", "[::1]") now, as if its peer had reached the threshold, and closes its
 * connections. 0 and *until_ms_out, or TC_EINVAL (host empty or too long). */
int tc_peer_ban_host(tc_peer_table *t, uint64_t now_ms, const char *host, uint64_t *until_ms_out);
/* Whether host is banned at now_ms; *until_ms_out (may be NULL) gets the expiry, 0 if none. */
bool tc_peer_is_banned(const tc_peer_table *t, const char *host, uint64_t now_ms,
                       uint64_t *until_ms_out);

/* Adds a "host:port" to the address book (unpinned). 0, TC_EEXIST, TC_EINVAL (not a
 * host:port with a port in 1..65535 and printable characters), TC_EFULL (every entry pinned). */
int tc_peer_book_add(tc_peer_table *t, uint64_t now_ms, const char *addr);
/* Entry i of the book in its order (i < book count): 0 or TC_ENOTFOUND. */
int tc_peer_book_get(const tc_peer_table *t, uint32_t i, char addr_out[TC_PEER_ADDR_MAX]);

/* Observers. */
int tc_peer_info_get(const tc_peer_table *t, tc_peer_id peer, tc_peer_info *out); /* TC_ENOTFOUND */
/* Ids of READY, not closing, peers in increasing id order; returns how many (<= cap written,
 * the return value counts all). Not const: it refreshes the table's cached list. */
uint32_t tc_peer_ready_ids(tc_peer_table *t, tc_peer_id *out, uint32_t cap);
void tc_peer_stats_get(const tc_peer_table *t, tc_peer_stats *out);

/* Helpers. The category of a message type (TC_PEER_CAT_COUNT: none). */
tc_peer_category tc_peer_category_of(uint8_t msg_type);
/* Copies the host part of "host:port" (everything before the last ':'; all of addr if it has
 * no ':') into host (cap bytes with the NUL). 0 or TC_EINVAL (empty host or does not fit). */
int tc_peer_addr_host(const char *addr, char *host, size_t cap);

#endif
