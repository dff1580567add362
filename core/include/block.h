/* block.h — blocks and the signed consensus objects they carry (PROTOCOL 8): votes, commit
 * certificates, equivocation evidence, finality certificates and epoch handoffs. Value types,
 * canonical encodings, hashes and the checks that need nothing but the object itself.
 * Applying a block to the ledger is chain.h's job.
 *
 * Encodings (integers little-endian; "list" = u32 count then elements):
 *   vote:      u8 type | u64 height | u32 round | u32 pol_round | block hash 32 | u32 validator |
 *              sig 64
 *              signed: H(tc/vote, the encoding without the signature)
 *              A zero block hash is a vote for nil. pol_round is the round of the proof-of-lock
 *              a prevote relies on (PROTOCOL 12.2): below round, or TC_ROUND_NONE ("-1": none);
 *              a precommit always carries TC_ROUND_NONE. It makes amnesia provable.
 *   commit:    u64 height | u32 round | block hash 32 | list of (u32 validator | sig 64)
 *              each entry is that validator's PRECOMMIT for (height, round, block hash); entries
 *              are sorted by validator index, no index twice.
 *   evidence:  u8 kind (0 = double vote) | vote a | vote b      (same signer, type, height and
 *              round, different block hash; a sorted before b by block hash so it is canonical)
 *           or u8 kind (2 = amnesia) | precommit a | prevote b    (same signer and height; both
 *              non-nil, different blocks; b.round > a.round and b.pol_round < a.round or none:
 *              the signer prevoted another block later without a proof-of-lock at or after the
 *              round of its precommit, which an honest validator never does, PROTOCOL 14.5)
 *           or u8 kind (1 = double lock) | u32 epoch | u32 validator | lock a | lock b |
 *              tx a | tx b
 *              lock = u64 seq | list of txid 32 | sig 64: the vote batch (epoch, validator,
 *              seq, txids) with its signature; txid(tx a) < txid(tx b) so it is canonical. It
 *              proves that the validator voted for two transactions spending one outpoint
 *              (PROTOCOL 11.9).
 *           or u8 kind (3 = batch equivocation) | u32 epoch | u32 validator | lock a | lock b
 *              two signed vote batches of one validator with one (epoch, seq) and different
 *              contents; sign hash of a < sign hash of b (canonical, and different). An honest
 *              validator never signs two batches under one seq (PROTOCOL 11.9).
 *           or u8 kind (4 = handoff equivocation) | handoff a | handoff b
 *              two signed handoffs of one validator for one epoch with different contents;
 *              sign hash of a < sign hash of b. An honest validator signs one handoff per
 *              epoch and re-sends those very bytes (PROTOCOL 11.8).
 *   votebatch: u32 epoch | u32 validator | u64 seq | list of txid 32 | sig 64
 *              signed: H(tc/votebatch, the encoding without the signature)
 *   fincert:   u32 epoch | bytes validator bitmap | list of (u32 validator | u64 batch seq)
 *   handoff:   u32 epoch | u32 validator | list of txid 32 | sig 64
 *              signed: H(tc/handoff, u32 epoch | u32 validator | u32 txid count | txids), i.e.
 *              the encoding without the signature
 *   header:    u16 version | u64 height | u32 round | parent 32 | u64 time_ms | tx_root 32 |
 *              utxo_root 32 | vset_hash 32 | u32 proposer | commit last_commit |
 *              list of evidence
 *   body:      list of (tx | fincert) | list of reward txout | list of handoff
 *   block:     header | body
 *
 * block hash = H(tc/block, header encoding); tx_root = H(tc/txroot, body encoding), so the block
 * hash commits to everything. Reward outputs are spent like any output; their outpoint is
 * (H(tc/reward, u64 height), i). evidence hash = H(tc/evidence, evidence encoding).
 *
 * Decoding (PROTOCOL 1): every decoder rejects input that ends early (TC_ESHORT), bytes left over
 * (TC_ETRAILING, for the *_decode forms; the *_read forms leave the rest to their caller), a
 * count over its TC_*_HARD_MAX or over what the bytes left can hold (TC_ETOOLONG / TC_ESHORT,
 * both checked before anything is allocated, so allocations stay proportional to the input),
 * and values outside their set (TC_ERANGE): a block version other than TC_BLOCK_VERSION, a vote
 * type other than PREVOTE/PRECOMMIT, a vote's pol_round not below its round and not
 * TC_ROUND_NONE or set on a precommit, an unknown evidence kind, amnesia evidence whose first vote
 * is not a precommit or whose second is not a prevote, commit entries not strictly
 * increasing by validator index, evidence votes not strictly ordered by block hash, batch txids
 * not strictly increasing or none, double-lock transactions not strictly ordered by txid. So a
 * value that decodes re-encodes to exactly the input bytes. Profile limits (block_txs_max, ...) and
 * rules that need the chain are checked by chain.h, not here. On any error the output is left
 * zeroed and owns nothing, so its deinit is safe either way; TC_ENOMEM is possible wherever an
 * array is allocated.
 *
 * Ownership: a tc_block, tc_commit, tc_fincert and tc_handoff own every array inside them; the
 * decoders allocate them and the matching deinit frees them (and zeroes the object). Votes are
 * plain values. Evidence of kinds 1, 3 and 4 owns its batches, transactions or handoffs: copy
 * it with tc_evidence_copy, compare it by tc_evidence_hash, free it with tc_evidence_deinit
 * (kinds 0 and 2 own nothing, so copying them by value stays correct).
 */
#ifndef TC_BLOCK_H
#define TC_BLOCK_H

#include "base.h"
#include "codec.h"
#include "crypto.h"
#include "profile.h"
#include "tx.h"

#define TC_BLOCK_VERSION             1
#define TC_COMMIT_SIGS_MAX           4096 /* hard decode limit; the validator count bounds it too */
#define TC_EVIDENCE_HARD_MAX         1024
#define TC_BLOCK_TXS_HARD_MAX        100000
#define TC_BLOCK_REWARDS_HARD_MAX    4096
#define TC_HANDOFFS_HARD_MAX         4096
#define TC_HANDOFF_TXIDS_HARD_MAX    1000000
#define TC_FINCERT_REFS_HARD_MAX     4096
#define TC_VOTE_BATCH_TXIDS_HARD_MAX 4096
#define TC_ROUND_MAX                 1000000 /* consensus refuses higher rounds (timeouts: days) */
#define TC_ROUND_NONE                UINT32_MAX /* "-1": a vote's pol_round when it has none */
/* Largest encoded transaction double-lock evidence carries: headers are hashed in fixed stack
 * chunks (tc_block_hash never allocates), so an evidence transaction must fit one chunk. */
#define TC_EVIDENCE_TX_SIZE_MAX 8192
/* A bitmap names at most TC_COMMIT_SIGS_MAX validators. */
#define TC_FINCERT_BITMAP_HARD_MAX (TC_COMMIT_SIGS_MAX / 8)

/* Fixed encoded sizes, and the least bytes a variable-size element takes (for count checks). */
#define TC_VOTE_SIZE           (1 + 8 + 4 + 4 + TC_HASH_SIZE + 4 + TC_SIG_SIZE)
#define TC_COMMIT_SIG_SIZE     (4 + TC_SIG_SIZE)
#define TC_COMMIT_MIN_SIZE     (8 + 4 + TC_HASH_SIZE + 4)
#define TC_EVIDENCE_SIZE       (1 + 2 * TC_VOTE_SIZE) /* kinds 0 and 2 */
#define TC_VOTE_BATCH_MIN_SIZE (4 + 4 + 8 + 4 + TC_HASH_SIZE + TC_SIG_SIZE)
#define TC_BATCH_REF_SIZE      (4 + 8)
#define TC_FINCERT_MIN_SIZE    (4 + 4 + 4)
#define TC_HANDOFF_MIN_SIZE    (4 + 4 + 4 + TC_SIG_SIZE)
#define TC_TX_MIN_SIZE         (2 + 1 + 4 + 4)               /* version, kind, two empty lists */
#define TC_EVIDENCE_MIN_SIZE   (1 + 2 * TC_HANDOFF_MIN_SIZE) /* kind 4; the least any takes */
#define TC_BLOCK_TX_MIN_SIZE   (TC_TX_MIN_SIZE + TC_FINCERT_MIN_SIZE)
#define TC_REWARD_SIZE         TC_TX_OUTPUT_SIZE

/* Domain tag of evidence hashes (crypto.h lists the others). */
#define TC_TAG_EVIDENCE "tc/evidence"

typedef enum { TC_VOTE_PREVOTE = 1, TC_VOTE_PRECOMMIT = 2 } tc_vote_type;

typedef struct {
    uint8_t type; /* tc_vote_type */
    uint64_t height;
    uint32_t round;
    uint32_t pol_round; /* TC_ROUND_NONE or below round; always TC_ROUND_NONE on a precommit */
    tc_hash block;      /* all zero: nil */
    uint32_t validator;
    tc_sig sig;
} tc_vote;

typedef struct {
    uint32_t validator;
    tc_sig sig;
} tc_commit_sig;

typedef struct {
    uint64_t height;
    uint32_t round;
    tc_hash block;
    uint32_t sig_count;
    tc_commit_sig *sigs;
} tc_commit;

/* A validator's signed list of transaction votes (PROTOCOL 11.3; finality.h runs the protocol).
 * txids are strictly increasing (memcmp): canonical, and no txid twice; at least one.
 * Ownership: a decoded batch owns txids (heap); tc_vote_batch_deinit frees and zeroes it. */
typedef struct {
    uint32_t epoch;
    uint32_t validator; /* index in the epoch's validator set */
    uint64_t seq;       /* per validator, strictly increasing, never reused */
    uint32_t txid_count;
    tc_hash *txids;
    tc_sig sig;
} tc_vote_batch;

typedef struct {
    uint32_t epoch;
    uint32_t validator;
    uint32_t txid_count;
    tc_hash *txids;
    tc_sig sig;
} tc_handoff;

typedef enum {
    TC_EVIDENCE_DOUBLE_VOTE = 0,
    TC_EVIDENCE_DOUBLE_LOCK = 1,
    TC_EVIDENCE_AMNESIA = 2,
    TC_EVIDENCE_BATCH_EQUIVOCATION = 3,
    TC_EVIDENCE_HANDOFF_EQUIVOCATION = 4,
    TC_EVIDENCE_KIND_COUNT = 5
} tc_evidence_kind;

typedef struct {
    uint8_t kind;
    tc_vote a; /* DOUBLE_VOTE; AMNESIA: the precommit */
    tc_vote b; /* AMNESIA: the later prevote */
    /* DOUBLE_LOCK: batch_a names tx_a, batch_b names tx_b (maybe one batch twice); both batches
     * have the same epoch and validator; txid(tx_a) < txid(tx_b). Owned. */
    tc_vote_batch batch_a;
    tc_vote_batch batch_b;
    tc_tx tx_a;
    tc_tx tx_b;
    /* HANDOFF_EQUIVOCATION: one epoch and validator; sign hash of a < sign hash of b. Owned. */
    tc_handoff handoff_a;
    tc_handoff handoff_b;
} tc_evidence;

typedef struct {
    uint32_t validator;
    uint64_t seq;
} tc_batch_ref;

typedef struct {
    uint32_t epoch;
    uint32_t bitmap_len; /* bytes */
    uint8_t *bitmap;     /* bit i (LSB first) set: validator i voted */
    uint32_t ref_count;
    tc_batch_ref *refs;
} tc_fincert;

typedef struct {
    uint16_t version;
    uint64_t height;
    uint32_t round;
    tc_hash parent;
    uint64_t time_ms;
    tc_hash tx_root;
    tc_hash utxo_root;
    tc_hash vset_hash;
    uint32_t proposer;
    tc_commit last_commit;
    uint32_t evidence_count;
    tc_evidence *evidence;
} tc_block_header;

typedef struct {
    tc_tx tx;
    tc_fincert cert;
} tc_block_tx;

typedef struct {
    tc_block_header header;
    uint32_t tx_count;
    tc_block_tx *txs;
    uint32_t reward_count;
    tc_txout *rewards;
    uint32_t handoff_count;
    tc_handoff *handoffs;
} tc_block;

/* Votes. tc_vote_sign fills v->sig with kp's signature over tc_vote_sign_hash(v); the caller
 * checks it with tc_verify against the validator's key (mnreg.h does this for certificates).
 * tc_vote_sign asserts tc_vote_pol_ok: a vote the decoder would refuse is never signed.
 * Decoding codes: TC_ESHORT, TC_ERANGE (type, pol_round), TC_ETRAILING (decode only). */
bool tc_vote_pol_ok(const tc_vote *v);
void tc_vote_sign_hash(const tc_vote *v, tc_hash *out);
void tc_vote_sign(tc_vote *v, tc_sig_scheme scheme, const tc_keypair *kp);
/* 0 or TC_EBADSIG. */
int tc_vote_verify(const tc_vote *v, const tc_verifier *verifier, const tc_pubkey *pub);
void tc_vote_encode(tc_writer *w, const tc_vote *v);
int tc_vote_read(tc_reader *r, tc_vote *v);
int tc_vote_decode(tc_vote *v, const uint8_t *bytes, size_t n);
bool tc_vote_is_nil(const tc_vote *v);

/* Vote batches. Decoding rejects a count over TC_VOTE_BATCH_TXIDS_HARD_MAX (TC_ETOOLONG), zero or
 * unordered txids (TC_ERANGE); the profile's vote_batch_txids_max is finality's to check.
 * Codes: TC_ESHORT, TC_ETOOLONG, TC_ERANGE, TC_ENOMEM; TC_ETRAILING (decode only). b empty on
 * error. tc_vote_batch_copy: TC_ENOMEM (dst left empty). */
void tc_vote_batch_deinit(tc_vote_batch *b);
int tc_vote_batch_copy(tc_vote_batch *dst, const tc_vote_batch *src);
void tc_vote_batch_sign_hash(const tc_vote_batch *b, tc_hash *out);
void tc_vote_batch_encode(tc_writer *w, const tc_vote_batch *b);
int tc_vote_batch_read(tc_reader *r, tc_vote_batch *b);
int tc_vote_batch_decode(tc_vote_batch *b, const uint8_t *bytes, size_t n);
bool tc_vote_batch_has(const tc_vote_batch *b, const tc_hash *txid);

/* Commit certificates. Checking one against a validator set is tc_commit_verify (mnreg.h).
 * An empty commit (zero entries, all fields zero) is the last_commit of height 1.
 * Decoding codes: TC_ESHORT, TC_ETOOLONG (over TC_COMMIT_SIGS_MAX), TC_ERANGE (entries not
 * strictly increasing by validator), TC_ENOMEM, TC_ETRAILING (decode only). */
void tc_commit_deinit(tc_commit *c);
/* Deep copy; dst is overwritten (not freed first). TC_ENOMEM (dst left empty). */
int tc_commit_copy(tc_commit *dst, const tc_commit *src);
void tc_commit_encode(tc_writer *w, const tc_commit *c);
int tc_commit_read(tc_reader *r, tc_commit *c);
int tc_commit_decode(tc_commit *c, const uint8_t *bytes, size_t n);
/* The precommit vote that entry i of c stands for (for signature checks). */
void tc_commit_vote(const tc_commit *c, uint32_t i, tc_vote *out);

/* Evidence. tc_evidence_check_shape verifies the shape but not the signatures, which need the
 * validator set (tc_evidence_verify in mnreg.h). Kind 0: same signer, type, height, round; a
 * valid vote type; different blocks in canonical order, a.block < b.block. Kind 2: a is a
 * precommit, b a prevote, tc_votes_amnesia(a, b). Kind 1: one epoch
 * and validator in both batches; txid(tx_a) < txid(tx_b); batch_a names txid(tx_a), batch_b
 * names txid(tx_b); the transactions share an input outpoint. Kind 3: one epoch, validator and
 * seq in both batches, whose txids are 1..TC_VOTE_BATCH_TXIDS_HARD_MAX strictly increasing, and
 * sign hash of batch_a < sign hash of batch_b. Kind 4: one epoch and validator in both
 * handoffs, at most TC_HANDOFF_TXIDS_HARD_MAX txids each, sign hash of handoff_a < sign hash of
 * handoff_b. Returns 0 or TC_EBLK_EVIDENCE.
 * Decoding codes: TC_ESHORT, TC_ETOOLONG (batch txids; a transaction over
 * TC_EVIDENCE_TX_SIZE_MAX), TC_ERANGE (kind, vote type, order), TC_ENOMEM, the codes of
 * tc_tx_read, TC_ETRAILING (decode only); kinds 3 and 4 also TC_ERANGE for sign hashes not
 * strictly ordered, kind 3 for two seqs, kind 4 for two epochs or validators; e is left empty
 * on error. A nil vote (zero hash)
 * sorts first, so "nil and B in one round" is evidence like "A and B". */
void tc_evidence_deinit(tc_evidence *e);
/* Deep copy; dst is overwritten (not freed first). TC_ENOMEM (dst left empty). */
int tc_evidence_copy(tc_evidence *dst, const tc_evidence *src);
void tc_evidence_encode(tc_writer *w, const tc_evidence *e);
int tc_evidence_read(tc_reader *r, tc_evidence *e);
int tc_evidence_decode(tc_evidence *e, const uint8_t *bytes, size_t n);
int tc_evidence_check_shape(const tc_evidence *e);
/* Hashes the encoding in stack chunks: never allocates, cannot fail. */
void tc_evidence_hash(const tc_evidence *e, tc_hash *out);
/* Whether e is about votes of one height (kinds 0 and 2; the others name an epoch). */
bool tc_evidence_has_height(const tc_evidence *e);
/* The culprit's index in its epoch's validator set (tc_evidence_epoch in mnreg.h). */
uint32_t tc_evidence_validator(const tc_evidence *e);
/* Builds the canonical evidence from two conflicting votes given in either order. */
void tc_evidence_from_votes(tc_evidence *e, const tc_vote *x, const tc_vote *y);
/* True when precommit pc and prevote pv prove amnesia (the rule of kind 2 above, signatures
 * aside): one validator and height, both non-nil, different blocks, pv.round > pc.round and
 * pv.pol_round none or below pc.round. */
bool tc_votes_amnesia(const tc_vote *pc, const tc_vote *pv);
/* Builds amnesia evidence from a precommit and a later prevote (tc_votes_amnesia holds). */
void tc_evidence_from_amnesia(tc_evidence *e, const tc_vote *pc, const tc_vote *pv);
/* Builds double-lock evidence from two batches of one validator and epoch and the transactions
 * they name, given in either pairing order (x names tx_x, y names tx_y). Copies everything.
 * 0, TC_EBLK_EVIDENCE (not a double lock: tc_evidence_check_shape fails), TC_ETOOLONG (a
 * transaction over TC_EVIDENCE_TX_SIZE_MAX), TC_ENOMEM; e empty on error. */
int tc_evidence_from_locks(tc_evidence *e, const tc_vote_batch *x, const tc_tx *tx_x,
                           const tc_vote_batch *y, const tc_tx *tx_y);

/* Builds batch-equivocation evidence (kind 3) from two batches of one (epoch, validator, seq)
 * given in either order. Copies both. 0, TC_EBLK_EVIDENCE (not an equivocation:
 * tc_evidence_check_shape fails, e.g. the same content twice), TC_ENOMEM; e empty on error.
 * Signatures are not checked here (tc_evidence_verify in mnreg.h). */
int tc_evidence_from_batches(tc_evidence *e, const tc_vote_batch *x, const tc_vote_batch *y);
/* The same for two handoffs of one (epoch, validator): kind 4. */
int tc_evidence_from_handoffs(tc_evidence *e, const tc_handoff *x, const tc_handoff *y);

/* Finality certificates and handoffs. Only the hard length limits are checked when decoding;
 * the meaning of a certificate (bitmap weight, batch references) is the consensus module's.
 * Decoding codes: TC_ESHORT, TC_ETOOLONG, TC_ENOMEM, TC_ETRAILING (decode only). */
void tc_fincert_deinit(tc_fincert *c);
void tc_fincert_encode(tc_writer *w, const tc_fincert *c);
int tc_fincert_read(tc_reader *r, tc_fincert *c);
void tc_handoff_deinit(tc_handoff *h);
/* Deep copy; dst is overwritten (not freed first). TC_ENOMEM (dst left empty). */
int tc_handoff_copy(tc_handoff *dst, const tc_handoff *src);
void tc_handoff_sign_hash(const tc_handoff *h, tc_hash *out);
void tc_handoff_sign(tc_handoff *h, tc_sig_scheme scheme, const tc_keypair *kp);
void tc_handoff_encode(tc_writer *w, const tc_handoff *h);
int tc_handoff_read(tc_reader *r, tc_handoff *h);
int tc_handoff_decode(tc_handoff *h, const uint8_t *bytes, size_t n);

/* Blocks. */
void tc_block_deinit(tc_block *b);
void tc_block_header_encode(tc_writer *w, const tc_block_header *h);
void tc_block_body_encode(tc_writer *w, const tc_block *b);
void tc_block_encode(tc_writer *w, const tc_block *b);
/* Encodes into a fresh heap buffer the caller frees. TC_ENOMEM (*out NULL, *len_out 0). */
int tc_block_encode_alloc(const tc_block *b, uint8_t **out, size_t *len_out);
/* Errors: TC_ESHORT, TC_ETOOLONG, TC_ERANGE, TC_ETRAILING, TC_ENOMEM, and the codes of
 * tc_tx_read for a malformed transaction. */
int tc_block_decode(tc_block *b, const uint8_t *bytes, size_t n);
/* Decodes only the header at the front of a block's encoding (what tc_block_encode wrote): the
 * body after it is not read, so b's body stays empty (counts 0). For an observer that needs the
 * header alone. Codes as tc_block_decode, but a malformed body goes unnoticed. */
int tc_block_decode_header(tc_block *b, const uint8_t *bytes, size_t n);
/* Reads one block from r (inside a larger message, e.g. msg.h's PROPOSAL and BLOCKS) and leaves
 * the bytes after it alone. Codes as tc_block_decode but TC_ETRAILING; also fails at once if r
 * already failed. On error *b is left zeroed and r failed with the code. */
int tc_block_read(tc_reader *r, tc_block *b);
/* Hashes the header's encoding in small pieces: never allocates, cannot fail. */
void tc_block_hash(const tc_block_header *h, tc_hash *out);
/* Hashes the body's encoding. A transaction larger than a stack buffer is encoded on the heap,
 * so this returns 0 or TC_ENOMEM (*out zeroed); callers that ignore the code see a zero root,
 * which matches no real body. */
int tc_block_tx_root(const tc_block *b, tc_hash *out);
/* tc_block_tx_root that also gives the body's encoded length (len_out may be NULL; 0 on
 * failure): one pass where a root and a size check would take two. */
int tc_block_body_digest(const tc_block *b, tc_hash *out, size_t *len_out);
/* tc_block_body_digest that also copies the body's encoding into copy when the whole of it fits
 * copy_cap bytes (*len_out <= copy_cap after a success; otherwise copy holds no whole body):
 * the chain keeps a vetted body's bytes to compare instead of hashing it again. */
int tc_block_body_digest_copy(const tc_block *b, tc_hash *out, size_t *len_out, uint8_t *copy,
                              size_t copy_cap);
/* Outpoint txid of height's reward outputs: H(tc/reward, u64 height). */
void tc_block_reward_txid(uint64_t height, tc_hash *out);

#endif
