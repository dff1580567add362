/* msg.h — the wire protocol (PROTOCOL 10.1, 10.2): frames, message types, their payloads, encode
 * and decode.
 *
 * Frame: u32 BIG-endian length of (type + payload) | u8 type | payload. The length prefix is the
 * one big-endian integer of the protocol (it is read by the transport, before the codec); every
 * integer inside a payload is little-endian as in codec.h. A whole frame, prefix included, is at
 * most profile.frame_size_max bytes: a driver reads the 4-byte prefix, asks tc_msg_frame_check,
 * and only then allocates and reads the rest (PROTOCOL 10.1: a larger length closes the connection
 * before anything is allocated).
 *
 * Payloads ("list" = u32 count then elements; "bytes" = u32 length then bytes):
 *   HELLO            u32 magic | u16 version | genesis hash 32 | node pubkey 32 | nonce 32 |
 *                    u64 best_height | u16 listen_port | bytes user_agent (<= 63, printable
 *                    ASCII 0x20..0x7e)
 *   AUTH             sig 64 over tc_msg_auth_hash(peer's HELLO nonce, own pubkey)
 *                    = H(tc/hello, peer's nonce 32 || own pubkey 32)
 *   PING, PONG       u64 nonce (a PONG echoes the PING's nonce)
 *   GET_PEERS        (empty)
 *   PEERS            list (<= 64) of bytes addr ("host:port", 1..63 bytes, ASCII 0x21..0x7e)
 *   STATUS           u64 height | tip hash 32 | u32 round
 *   TX               transaction (tx.h encoding, read with tc_tx_read)
 *   VOTE_BATCH       u32 epoch | u32 validator | u64 seq | list (<= 4096) of txid 32 | sig 64
 *                    sig over H(tc/votebatch, the encoding without sig)
 *   GET_VOTE_BATCHES list (<= 256) of (u32 validator | u64 seq)
 *   PROPOSAL         u64 height | u32 round | u32 pol_round | block (block.h) | sig 64
 *                    sig over H(tc/proposal, u64 height | u32 round | u32 pol_round |
 *                    block hash 32); pol_round is UINT32_MAX (no proof-of-lock) or < round;
 *                    height equals the block header's height
 *   PREVOTE          vote (block.h) whose type is TC_VOTE_PREVOTE
 *   PRECOMMIT        vote (block.h) whose type is TC_VOTE_PRECOMMIT
 *   GET_BLOCKS       u64 from_height | u32 count (1..64)
 *   BLOCKS           list (<= 64) of (block | commit certificate of that block); the
 *                    certificate's height equals the block's (checking that it certifies the
 *                    block's hash, and its signatures, is the sync module's job)
 *   HEARTBEAT        u32 epoch | u64 height | hash 32 tip | u64 time_ms | pubkey 32 | sig 64
 *                    sig over H(tc/heartbeat, the encoding without sig); tip is the hash of
 *                    the sender's block at height, binding the heartbeat to the present
 *   HANDOFF          handoff (block.h)
 *   EVIDENCE         evidence (block.h)
 *   REJECT           u8 type of the rejected message (a valid type) | i32 code (negative TC_E*,
 *                    as u32 two's complement) | bytes reason (<= 127, printable ASCII)
 *   GET_VOTES        u64 height (>= 1): the signed prevotes and precommits the peer holds for
 *                    that height, every round (forensics after a fork alarm, PROTOCOL 14.5)
 *   VOTES            u64 height | list (1..256) of vote (block.h), each of that height
 *   GET_TXS          list (1..256) of txid 32: the bodies of carried transactions a node lacks
 *                    (PROTOCOL 11.8 step 8)
 *   TXS              u8 last (0 or 1) | list (<= 256) of transaction: the bodies of asked txids
 *                    the sender holds, in as many frames as the frame budget needs; last is 1
 *                    on the answer's final frame (an answer holding none is one empty frame)
 *   IHAVE            list (1..1024) of (u8 type | id 32): gossip this node holds and offers;
 *                    type is TX (id: txid), VOTE_BATCH (id: the batch's signed hash) or
 *                    PROPOSAL (id: tc_msg_frame_proposal_id)
 *   IWANT            list (1..1024) of (u8 type | id 32): what the sender asks for, by the
 *                    ids an IHAVE offered; answered with the frames themselves
 *   VOTE_BITS        u64 height | u32 round | u8 vote type (1 prevote, 2 precommit) | u32 count
 *                    (1..4096, the height's validators) | ceil(count / 8) bytes: bit v
 *                    (byte v / 8, bit v % 8) set when the sender holds validator v's vote of
 *                    that (height, round, type); the bits past count are zero (PROTOCOL 10.9)
 *   VOTE_WANT        the same fields: the votes the sender asks for, answered with their
 *                    PREVOTE / PRECOMMIT frames
 *   GET_SNAPSHOT     u64 height | manifest hash 32 | u32 chunk: chunk TC_SNAPSHOT_MANIFEST asks
 *                    for the manifest of the peer's latest snapshot (height and hash zero);
 *                    another index asks for that chunk of the snapshot at height whose
 *                    id (tc_snapshot_manifest_id) is the given hash (snapshot.h, PROTOCOL 13.2)
 *   SNAPSHOT         u64 height | u32 chunk | bytes data (<= frame): the manifest, the chunk,
 *                    or empty: "I do not serve that snapshot"
 *   BUNDLE           u32 count (1..TC_MSG_BUNDLE_MAX) | count whole frames, each its own u32
 *                    big-endian length prefix, type TX or VOTE_BATCH, and payload; together at
 *                    most TC_MSG_BUNDLE_BYTES_MAX bytes: the answer to one IWANT (PROTOCOL 10.9).
 *                    Only the members' framing is the bundle's: each member is received as if it
 *                    had come alone (decoded, deduplicated and judged on its own)
 *
 * Decoding is strict and canonical: a frame that decodes re-encodes to exactly its bytes.
 * tc_msg_decode rejects a length field other than len - 4 (TC_ERANGE), an unknown type
 * (TC_ERANGE), a payload that ends early (TC_ESHORT) or leaves bytes (TC_ETRAILING), a count or
 * length over its limit (TC_ETOOLONG), and any field outside its set (TC_ERANGE). It does not
 * check signatures, profile limits or anything that needs chain state: that is the node's job.
 * The hard limits below are independent of the profile, so a decoder's allocations stay
 * bounded and proportional to the input whatever the profile says.
 *
 * Ownership: a tc_msg filled by tc_msg_decode owns its arrays (the tx's, the block(s)', the
 * vote batch txids, the handoff txids, the VOTES votes, the GET_TXS txids, the TXS bodies, the
 * BUNDLE member array but not the member bytes, which stay the frame's);
 * tc_msg_deinit frees them and empties the message. An empty message has type 0 and owns nothing;
 * tc_msg_deinit on it does nothing else. Only the type and the member of its type are meaningful:
 * decode zeroes those before filling them (a field the payload leaves unset reads 0) and deinit
 * zeroes them again, but neither clears the bytes past that member (all of a tc_msg is 4 KiB, most
 * of it the inline PEERS and GET_VOTE_BATCHES arrays; clearing it cost more than decoding most
 * frames). On a decode error the whole message is left zeroed and owns nothing. A message built by
 * a caller for tc_msg_encode only lends its pointers: encoding never frees or keeps them, and such
 * a message must not be passed to tc_msg_deinit unless its arrays were heap-allocated the same way.
 * PEERS and GET_VOTE_BATCHES are small and bounded, so their arrays live inline (no allocation).
 */
#ifndef TC_MSG_H
#define TC_MSG_H

#include "base.h"
#include "block.h"
#include "codec.h"
#include "crypto.h"
#include "profile.h"
#include "tx.h"

/* Domain tags of the signed or hashed objects this module defines (crypto.h lists the rest). */
#define TC_TAG_PROPOSAL    "tc/proposal"
#define TC_TAG_PROPOSAL_ID "tc/proposalid"

/* Stable type numbers: they are on the wire; never renumber, only append. 0 is not a type. */
typedef enum {
    TC_MSG_HELLO = 1,
    TC_MSG_AUTH = 2,
    TC_MSG_PING = 3,
    TC_MSG_PONG = 4,
    TC_MSG_GET_PEERS = 5,
    TC_MSG_PEERS = 6,
    TC_MSG_STATUS = 7,
    TC_MSG_TX = 8,
    TC_MSG_VOTE_BATCH = 9,
    TC_MSG_GET_VOTE_BATCHES = 10,
    TC_MSG_PROPOSAL = 11,
    TC_MSG_PREVOTE = 12,
    TC_MSG_PRECOMMIT = 13,
    TC_MSG_GET_BLOCKS = 14,
    TC_MSG_BLOCKS = 15,
    TC_MSG_HEARTBEAT = 16,
    TC_MSG_HANDOFF = 17,
    TC_MSG_EVIDENCE = 18,
    TC_MSG_REJECT = 19,
    TC_MSG_GET_VOTES = 20,
    TC_MSG_VOTES = 21,
    TC_MSG_GET_TXS = 22,
    TC_MSG_TXS = 23,
    TC_MSG_GET_SNAPSHOT = 24,
    TC_MSG_SNAPSHOT = 25,
    TC_MSG_IHAVE = 26,
    TC_MSG_IWANT = 27,
    TC_MSG_VOTE_BITS = 28,
    TC_MSG_VOTE_WANT = 29,
    TC_MSG_BUNDLE = 30,
    TC_MSG_TYPE_COUNT = 31, /* one past the last type */
} tc_msg_type;

/* Sizes and hard limits. */
#define TC_MSG_LEN_SIZE       4  /* the big-endian length prefix */
#define TC_MSG_HEADER_SIZE    5  /* prefix + type byte */
#define TC_MSG_NONCE_SIZE     32 /* HELLO nonce */
#define TC_MSG_USER_AGENT_MAX 63 /* bytes, without a terminator */
#define TC_MSG_ADDR_MAX       63 /* bytes of a "host:port" in PEERS, without a terminator */
#define TC_MSG_PEERS_MAX      64 /* addresses in one PEERS */
#define TC_MSG_VOTE_TXIDS_MAX 4096
#define TC_MSG_BATCH_REFS_MAX 256  /* (validator, seq) pairs in one GET_VOTE_BATCHES */
#define TC_MSG_BLOCKS_MAX     64   /* blocks asked for in GET_BLOCKS, sent in one BLOCKS */
#define TC_MSG_REASON_MAX     127  /* bytes of a REJECT reason */
#define TC_MSG_VOTES_MAX      256  /* votes in one VOTES */
#define TC_MSG_INV_MAX        1024 /* ids in one IHAVE or IWANT */
#define TC_MSG_VOTE_BITS_MAX  4096 /* validators one VOTE_BITS or VOTE_WANT covers */
#define TC_MSG_INV_SIZE       (1 + TC_HASH_SIZE) /* one (type, id) entry */
#define TC_MSG_GET_TXS_MAX    256                /* txids asked for in one GET_TXS */
#define TC_MSG_TXS_MAX        256                /* transactions in one TXS */
/* A BUNDLE's bounds: member frames, and their bytes together (prefixes included). */
#define TC_MSG_BUNDLE_MAX       256
#define TC_MSG_BUNDLE_BYTES_MAX (1u << 20)
/* The least bytes a transaction takes on the wire (version, kind, two empty lists): bounds a
 * TXS count against the bytes left before anything is allocated. */
#define TC_MSG_TX_MIN_SIZE (2 + 1 + 4 + 4)
#define TC_MSG_POL_NONE    UINT32_MAX
/* The largest frame of PROTOCOL 10.1 (4 MiB), the default of profile.frame_size_max. The static
 * asserts below check that every message whose size the hard limits bound fits in it; messages that
 * carry blocks are bounded by profile.block_size_max at run time (tc_msg_encoded_size). */
#define TC_MSG_FRAME_SPEC_MAX (4u << 20)

/* Largest encodings of the messages with fixed bounds (whole frames). */
#define TC_MSG_HELLO_SIZE_MAX                                                                      \
    (TC_MSG_HEADER_SIZE + 4 + 2 + TC_HASH_SIZE + TC_PUBKEY_SIZE + TC_MSG_NONCE_SIZE + 8 + 2 + 4 +  \
     TC_MSG_USER_AGENT_MAX)
#define TC_MSG_PEERS_SIZE_MAX (TC_MSG_HEADER_SIZE + 4 + TC_MSG_PEERS_MAX * (4 + TC_MSG_ADDR_MAX))
#define TC_MSG_VOTE_BATCH_SIZE_MAX                                                                 \
    (TC_MSG_HEADER_SIZE + 4 + 4 + 8 + 4 + TC_MSG_VOTE_TXIDS_MAX * TC_HASH_SIZE + TC_SIG_SIZE)
#define TC_MSG_GET_VOTE_BATCHES_SIZE_MAX                                                           \
    (TC_MSG_HEADER_SIZE + 4 + TC_MSG_BATCH_REFS_MAX * TC_BATCH_REF_SIZE)
#define TC_MSG_HEARTBEAT_SIZE                                                                      \
    (TC_MSG_HEADER_SIZE + 4 + 8 + TC_HASH_SIZE + 8 + TC_PUBKEY_SIZE + TC_SIG_SIZE)
#define TC_MSG_REJECT_SIZE_MAX  (TC_MSG_HEADER_SIZE + 1 + 4 + 4 + TC_MSG_REASON_MAX)
#define TC_MSG_VOTES_OVERHEAD   (TC_MSG_HEADER_SIZE + 8 + 4) /* a VOTES frame without its votes */
#define TC_MSG_VOTES_SIZE_MAX   (TC_MSG_VOTES_OVERHEAD + TC_MSG_VOTES_MAX * TC_VOTE_SIZE)
#define TC_MSG_GET_TXS_SIZE_MAX (TC_MSG_HEADER_SIZE + 4 + TC_MSG_GET_TXS_MAX * TC_HASH_SIZE)
#define TC_MSG_TXS_OVERHEAD     (TC_MSG_HEADER_SIZE + 1 + 4) /* a TXS frame without its bodies */
/* What a PROPOSAL adds around its block; what a BLOCKS entry adds around its block, for a
 * certificate of n signatures. */
#define TC_MSG_PROPOSAL_OVERHEAD        (TC_MSG_HEADER_SIZE + 8 + 4 + 4 + TC_SIG_SIZE)
#define TC_MSG_BLOCKS_ENTRY_OVERHEAD(n) (TC_COMMIT_MIN_SIZE + (size_t)(n)*TC_COMMIT_SIG_SIZE)

_Static_assert(TC_MSG_VOTE_TXIDS_MAX >= 512, "a vote batch carries the default 512 txids");
_Static_assert(TC_MSG_VOTE_BATCH_SIZE_MAX <= TC_MSG_FRAME_SPEC_MAX, "vote batch fits a frame");
_Static_assert(TC_MSG_PEERS_SIZE_MAX <= 8192, "PEERS stays small: it is decoded inline");
_Static_assert(TC_MSG_GET_VOTE_BATCHES_SIZE_MAX <= 8192, "GET_VOTE_BATCHES stays small");
_Static_assert(TC_MSG_VOTES_SIZE_MAX <= TC_MSG_FRAME_SPEC_MAX, "a full VOTES fits a frame");
_Static_assert(TC_MSG_GET_TXS_SIZE_MAX <= 1024 * 9, "a full GET_TXS is small");
_Static_assert(TC_MSG_VOTES_OVERHEAD + TC_VOTE_SIZE <= 1024,
               "one vote per VOTES fits the smallest frame_size_max a profile allows");
_Static_assert(TC_MSG_ADDR_MAX < TC_TX_NETADDR_MAX + 1, "a PEERS address fits a genesis one");
_Static_assert(TC_MSG_HELLO_SIZE_MAX <= 1024 && TC_MSG_REJECT_SIZE_MAX <= 1024 &&
                   TC_MSG_HEARTBEAT_SIZE <= 1024,
               "handshake and control frames fit the smallest frame_size_max a profile allows");
_Static_assert((3u << 20) + TC_MSG_BLOCKS_ENTRY_OVERHEAD(TC_COMMIT_SIGS_MAX) + 4 +
                       TC_MSG_HEADER_SIZE <=
                   TC_MSG_FRAME_SPEC_MAX,
               "one default-size block with a full certificate fits one BLOCKS frame");
_Static_assert((3u << 20) + TC_MSG_PROPOSAL_OVERHEAD <= TC_MSG_FRAME_SPEC_MAX,
               "a default-size block fits one PROPOSAL frame");

typedef struct {
    uint32_t magic;                   /* profile.magic of the network */
    uint16_t version;                 /* profile.protocol_version */
    tc_hash genesis;                  /* tc_genesis_hash */
    tc_pubkey pubkey;                 /* the node's identity (a masternode's voting key) */
    uint8_t nonce[TC_MSG_NONCE_SIZE]; /* fresh per connection; the peer's AUTH signs it */
    uint64_t best_height;
    uint16_t listen_port; /* 0: does not accept connections */
    uint8_t user_agent_len;
    char user_agent[TC_MSG_USER_AGENT_MAX + 1]; /* NUL-terminated after decode */
} tc_msg_hello;

typedef struct {
    tc_sig sig;
} tc_msg_auth;

typedef struct {
    uint64_t nonce;
} tc_msg_ping; /* PING and PONG */

typedef struct {
    uint32_t addr_count;
    char addrs[TC_MSG_PEERS_MAX][TC_MSG_ADDR_MAX + 1]; /* NUL-terminated */
} tc_msg_peers;

typedef struct {
    uint64_t height;
    tc_hash tip;
    uint32_t round;
} tc_msg_status;

typedef struct {
    uint32_t epoch;
    uint32_t validator;
    uint64_t seq;
    uint32_t txid_count;
    tc_hash *txids; /* owned after decode */
    tc_sig sig;
} tc_msg_vote_batch;

typedef struct {
    uint32_t ref_count;
    tc_batch_ref refs[TC_MSG_BATCH_REFS_MAX];
} tc_msg_get_vote_batches;

typedef struct {
    uint64_t height;
    uint32_t round;
    uint32_t pol_round; /* TC_MSG_POL_NONE or < round */
    tc_block block;     /* owned after decode */
    tc_sig sig;         /* by the proposer of (height, round) */
} tc_msg_proposal;

typedef struct {
    uint64_t from_height;
    uint32_t count; /* 1..TC_MSG_BLOCKS_MAX */
} tc_msg_get_blocks;

typedef struct {
    tc_block block;
    tc_commit commit; /* certifies block; commit.height == block.header.height */
} tc_msg_block_entry;

typedef struct {
    uint32_t entry_count;
    tc_msg_block_entry *entries; /* owned after decode */
} tc_msg_blocks;

typedef struct {
    uint32_t epoch;
    uint64_t height;
    tc_hash tip; /* the sender's block at height (the genesis hash at height 0) */
    uint64_t time_ms;
    tc_pubkey pubkey; /* the masternode's voting key */
    tc_sig sig;
} tc_msg_heartbeat;

typedef struct {
    uint64_t height;
} tc_msg_get_votes;

typedef struct {
    uint32_t count; /* 1..TC_MSG_GET_TXS_MAX */
    tc_hash *txids; /* owned after decode */
} tc_msg_get_txs;

typedef struct {
    uint8_t last;   /* 1: the answer's final frame; 0: more frames follow */
    uint32_t count; /* 0..TC_MSG_TXS_MAX */
    tc_tx *txs;     /* owned after decode */
} tc_msg_txs;

typedef struct {
    uint64_t height;
    uint32_t vote_count; /* 1..TC_MSG_VOTES_MAX */
    tc_vote *votes;      /* owned after decode; each vote's height is height */
} tc_msg_votes;

/* One announced or wanted object: its message type (TX, VOTE_BATCH, PROPOSAL) and its protocol
 * id (txid, the vote batch's signed hash, tc_msg_frame_proposal_id). */
typedef struct {
    uint8_t type;
    tc_hash id;
} tc_msg_inv;

/* IHAVE and IWANT. */
typedef struct {
    uint32_t count;    /* 1..TC_MSG_INV_MAX */
    tc_msg_inv *items; /* owned after decode */
} tc_msg_invs;

/* VOTE_BITS and VOTE_WANT: a set of validators' votes of one (height, round, type). */
typedef struct {
    uint64_t height;
    uint32_t round;
    uint8_t vote_type; /* tc_vote_type */
    uint32_t count;    /* 1..TC_MSG_VOTE_BITS_MAX */
    uint8_t bits[TC_MSG_VOTE_BITS_MAX / 8];
} tc_msg_vote_bits;

typedef struct {
    uint64_t height;
    tc_hash manifest; /* the snapshot's id; zero when chunk is TC_SNAPSHOT_MANIFEST */
    uint32_t chunk;
} tc_msg_get_snapshot;

typedef struct {
    uint64_t height;
    uint32_t chunk;
    uint32_t len;
    uint8_t *data; /* owned after decode; NULL when len is 0 */
} tc_msg_snapshot;

typedef struct {
    uint8_t type; /* tc_msg_type of the rejected message */
    int32_t code; /* negative TC_E* */
    uint8_t reason_len;
    char reason[TC_MSG_REASON_MAX + 1]; /* NUL-terminated after decode */
} tc_msg_reject;

/* One member of a BUNDLE: a whole frame (prefix included) inside the bundle's bytes. */
typedef struct {
    const uint8_t *frame; /* borrowed: points into the decoded frame, or the caller's bytes */
    uint32_t len;
} tc_msg_bundle_member;

/* BUNDLE. After decode the array is owned but the frames it points to are the decoded frame's:
 * they are valid as long as those bytes are. */
typedef struct {
    uint32_t count;                /* 1..TC_MSG_BUNDLE_MAX */
    tc_msg_bundle_member *members; /* owned after decode */
} tc_msg_bundle;

/* One message: type says which member is valid. */
typedef struct {
    uint8_t type; /* tc_msg_type */
    union {
        tc_msg_hello hello;
        tc_msg_auth auth;
        tc_msg_ping ping; /* PING */
        tc_msg_ping pong; /* PONG */
        tc_msg_peers peers;
        tc_msg_status status;
        tc_tx tx;
        tc_msg_vote_batch vote_batch;
        tc_msg_get_vote_batches get_vote_batches;
        tc_msg_proposal proposal;
        tc_vote vote; /* PREVOTE, PRECOMMIT */
        tc_msg_get_blocks get_blocks;
        tc_msg_blocks blocks;
        tc_msg_heartbeat heartbeat;
        tc_handoff handoff;
        tc_evidence evidence;
        tc_msg_reject reject;
        tc_msg_get_votes get_votes;
        tc_msg_votes votes;
        tc_msg_get_txs get_txs;
        tc_msg_txs txs;
        tc_msg_invs invs;           /* IHAVE, IWANT */
        tc_msg_vote_bits vote_bits; /* VOTE_BITS, VOTE_WANT */
        tc_msg_get_snapshot get_snapshot;
        tc_msg_snapshot snapshot;
        tc_msg_bundle bundle;
    };
} tc_msg;

/* Checks a frame's 4-byte length prefix before the rest is read: 0 and *frame_len_out = the
 * whole frame's size (prefix included), TC_ETOOLONG if that exceeds p->frame_size_max (close the
 * connection, allocate nothing), TC_ESHORT if the length is 0 (a frame has at least a type). */
int tc_msg_frame_check(const uint8_t header[TC_MSG_LEN_SIZE], const tc_profile *p,
                       size_t *frame_len_out);

/* Decodes one whole frame of len bytes into *out (see the header comment for the rules).
 * Codes: TC_ESHORT (len < 5, or a payload cut short), TC_ERANGE (length field != len - 4,
 * unknown type, a field outside its set, a vote type not matching PREVOTE/PRECOMMIT),
 * TC_ETRAILING, TC_ETOOLONG, TC_ENOMEM, and the codes of tc_tx_read. *out is zeroed on error. */
int tc_msg_decode(const uint8_t *frame, size_t len, tc_msg *out);
/* Frees what a decoded message owns and empties it: its type and that type's member are zeroed
 * (the bytes past the member are left as they were). Safe on an empty or zeroed message. */
void tc_msg_deinit(tc_msg *m);

/* Checks m against the decode rules, so nothing is sent that a peer would reject: 0,
 * TC_ERANGE (unknown type, a field outside its set) or TC_ETOOLONG (a count or string over its
 * limit). */
int tc_msg_check(const tc_msg *m);
/* Appends m's whole frame to w. Returns 0, the code of tc_msg_check (nothing written), or
 * TC_EENCODE (the frame does not fit w; w is then sticky-failed as codec.h describes). A writer
 * with a NULL buffer measures. */
int tc_msg_encode(tc_writer *w, const tc_msg *m);
/* Size of m's whole frame in bytes (m must pass tc_msg_check). Compare it with
 * profile.frame_size_max before sending (BLOCKS, PROPOSAL, HANDOFF grow with blocks). */
size_t tc_msg_encoded_size(const tc_msg *m);
/* Encodes into a fresh heap buffer the caller frees. Codes of tc_msg_check, TC_ENOMEM;
 * *out NULL and *len_out 0 on error. */
int tc_msg_encode_alloc(const tc_msg *m, uint8_t **out, size_t *len_out);

/* Signed objects. Each *_hash is what the signer signs and a receiver checks with tc_verify. */
void tc_msg_auth_hash(const uint8_t peer_nonce[TC_MSG_NONCE_SIZE], const tc_pubkey *own_key,
                      tc_hash *out);
void tc_msg_vote_batch_sign_hash(const tc_msg_vote_batch *b, tc_hash *out);
void tc_msg_vote_batch_sign(tc_msg_vote_batch *b, tc_sig_scheme scheme, const tc_keypair *kp);
/* The signed hash of the VOTE_BATCH in a whole frame, from its bytes without decoding (equal to
 * tc_msg_vote_batch_sign_hash of the decoded batch when the frame decodes): the batch's protocol
 * id for the seen filter and for IHAVE / IWANT. 0, or TC_ERANGE (not a VOTE_BATCH frame, or too
 * short to be one). */
int tc_msg_frame_batch_hash(const uint8_t *frame, size_t len, tc_hash *out);
/* The same through a memo of tagged hashes (crypto.h; NULL: none), which a simulator shares
 * among its nodes: every node receives every batch. */
int tc_msg_frame_batch_hash_memo(const tc_hash_memo *memo, const uint8_t *frame, size_t len,
                                 tc_hash *out);
/* The protocol id of the PROPOSAL in a whole frame, for the seen filter and IHAVE / IWANT:
 * H(tc/proposalid, u64 height | u32 round | u32 pol_round | sig 64), read from the frame's bytes
 * without decoding. The signature commits to the block hash (both schemes sign
 * deterministically, and a proposal whose signature does not verify is never taken), so the
 * block, 50-240 KB, is not hashed. 0, or TC_ERANGE (not a PROPOSAL frame, or too short). */
int tc_msg_frame_proposal_id(const uint8_t *frame, size_t len, tc_hash *out);
void tc_msg_proposal_sign_hash(const tc_msg_proposal *p, tc_hash *out);
void tc_msg_proposal_sign(tc_msg_proposal *p, tc_sig_scheme scheme, const tc_keypair *kp);
void tc_msg_heartbeat_sign_hash(const tc_msg_heartbeat *h, tc_hash *out);
void tc_msg_heartbeat_sign(tc_msg_heartbeat *h, tc_sig_scheme scheme, const tc_keypair *kp);

/* Whether type is a message type this decoder knows (1..TC_MSG_TYPE_COUNT - 1). */
bool tc_msg_type_known(uint8_t type);
/* Whether a type may be announced by IHAVE and fetched by IWANT. */
bool tc_msg_inv_type_ok(uint8_t type);
/* Whether a frame of this type may travel inside a BUNDLE (TX, VOTE_BATCH). */
bool tc_msg_bundle_type_ok(uint8_t type);
/* The rules of a VOTE_BITS / VOTE_WANT payload (msg.h's list): 0, TC_ETOOLONG, TC_ERANGE. */
int tc_msg_vote_bits_check(const tc_msg_vote_bits *m);

/* The type byte of a frame that passed tc_msg_frame_check, without decoding (0 if len < 5). */
uint8_t tc_msg_frame_type(const uint8_t *frame, size_t len);
/* "HELLO", "VOTE_BATCH", ...; "?" for an unknown type. Static strings. */
const char *tc_msg_type_name(uint8_t type);

#endif
