/* adversary.h — Byzantine behaviours for the simulator (DESIGN.md "Adversaries"). Each wraps an
 * honest core that keeps its keys and its own logic: the world (sim/world.c) passes every frame
 * the honest core wants to send through tc_adv_on_send, and the adversary decides what really
 * leaves — the frame unchanged, nothing, a rewritten frame, or extra frames (conflicting votes,
 * a second proposal, garbage, floods, replays). Twins are not an adversary here: the world runs
 * two honest cores with one key.
 *
 * Everything an adversary does is drawn from its own tc_rng, seeded by the world from the run
 * seed, so a Byzantine run replays byte for byte like any other.
 *
 * Pointer lifetimes: the config is copied (keypair included). Frames given to tc_adv_on_send
 * are borrowed for the call. Frames passed to the emit callback are borrowed for that callback
 * only: the world copies what it queues.
 */
#ifndef TC_ADVERSARY_H
#define TC_ADVERSARY_H

#include "base.h"
#include "crypto.h"
#include "profile.h"

typedef enum {
    TC_ADV_NONE = 0,
    TC_ADV_EQUIVOCATE = 1,  /* as proposer: a second, conflicting block to half of the peers;
                               as voter: prevotes and precommits for both */
    TC_ADV_DOUBLE_VOTE = 2, /* every prevote and precommit also for another block */
    TC_ADV_SILENT = 3,      /* sends no proposals, votes or vote batches (stays connected) */
    TC_ADV_INVALID_SIG = 4, /* corrupts the signature of what it signs */
    TC_ADV_REPLAY = 5,      /* re-sends frames it sent earlier, later */
    TC_ADV_GARBAGE = 6,     /* sends frames that do not decode */
    TC_ADV_FLOOD = 7,       /* sends rate_per_s extra transaction frames per second */
    /* Rule breakers (docs/RULES.md): each breaks one validation rule on purpose, so that a core
     * that stops enforcing it is caught by a catalog scenario (scenarios/adv-*.scn). "Extra"
     * kinds send the forgery just before the frame it was made from (so that it is news to the
     * receiver, not a late copy of what it holds); "replacing" kinds send it instead. A forged
     * signature is the adversary's own key signing another signer's message (a foreign signature)
     * or, on its own messages, its signature with one bit flipped. */
    TC_ADV_OUT_OF_TURN = 8,         /* extra: per proposal relayed, its own proposal for that
                                       (height, round), naming and signed by itself */
    TC_ADV_FORGE_PROPOSAL = 9,      /* extra: a proposal of that (height, round), block time + 1,
                                       with a forged proposer signature */
    TC_ADV_FORGE_PREVOTE = 10,      /* extra: the prevote's signer "votes" for another block */
    TC_ADV_FORGE_PRECOMMIT = 11,    /* extra: the same for precommits */
    TC_ADV_FORGE_BATCH = 12,        /* extra: a vote batch with one txid less (or another one) */
    TC_ADV_FORGE_HEARTBEAT = 13,    /* extra: a heartbeat three hours ahead */
    TC_ADV_FORGE_HANDOFF = 14,      /* extra: a handoff with one txid less, or re-signed */
    TC_ADV_FORGE_EVIDENCE = 15,     /* extra: per vote relayed, double-vote evidence against its
                                       signer whose second vote is forged */
    TC_ADV_FORGE_TX = 16,           /* timed: TC_ADV_FORGE_TX_DELAY_MS after relaying a transfer,
                                       to every peer, a theft of its change output (by then
                                       confirmed, often not yet spent) in its owner's name, the
                                       transfer's own input signature reused */
    TC_ADV_SYNC_BAD_HASH = 17,      /* replacing: BLOCKS whose blocks do not match their
                                       certificates (block time + 1) */
    TC_ADV_SYNC_LOW_WEIGHT = 18,    /* replacing: BLOCKS whose certificates keep one signature */
    TC_ADV_SYNC_NON_MEMBER = 19,    /* replacing: BLOCKS whose certificates' last signer index is
                                       outside the set */
    TC_ADV_SYNC_BAD_SIG = 20,       /* replacing: BLOCKS whose certificates' first signature is
                                       forged */
    TC_ADV_TIME_AHEAD = 21,         /* replacing: its fresh proposals' blocks one hour ahead */
    TC_ADV_TIME_BEHIND = 22,        /* replacing: its fresh proposals' blocks one hour behind */
    TC_ADV_STALE_HEIGHT = 23,       /* extra: per own precommit of a new height, a validly signed
                                       precommit for another block at its previous precommit's
                                       (height, round) */
    TC_ADV_FUTURE_HEIGHT = 24,      /* extra: its proposals and votes again, 1000 heights ahead,
                                       validly signed */
    TC_ADV_WRONG_PROPOSER = 25,     /* instead of its fresh proposals: TC_ADV_HEADER_COPIES copies
                                       whose header names another validator, validly signed */
    TC_ADV_WRONG_ROUND = 26,        /* the same with the header's round one above the proposal's */
    TC_ADV_STALE_HEARTBEAT = 27,    /* timed: keeps the first heartbeat of each signer it sends or
                                       relays and, every TC_ADV_STALE_HEARTBEAT_MEAN_MS, sends each
                                       one again to every peer (a replay of the past, validly
                                       signed, that any seen filter has long forgotten) */
    TC_ADV_EQUIVOCATE_BATCH = 28,   /* extra: per own vote batch, another batch of the same
                                       (epoch, validator, seq) with one txid less (or another
                                       one), validly signed: batch-seq equivocation (PROTOCOL
                                       11.9), provable on chain */
    TC_ADV_EQUIVOCATE_HANDOFF = 29, /* extra: per own handoff, another of the same epoch with
                                       one txid less (one made up when it has none), validly
                                       signed: handoff equivocation (PROTOCOL 11.8) */
    TC_ADV_SNAPSHOT_CORRUPT = 30,   /* replacing: SNAPSHOT chunks (not manifests) with one byte
                                       of their data flipped, so no chunk matches its manifest */
    TC_ADV_KIND_COUNT = 31,
} tc_adv_kind;

/* Bounds and rhythms of the behaviours (STYLE rule 4: nothing grows without a limit).
 * EQUIVOCATE splits by the order of `peers`: the first (peer_count + 1) / 2 ids get the original,
 * the rest the conflicting copy; a `to` missing from `peers` gets the original. EQUIVOCATE and
 * DOUBLE_VOTE only rewrite what the configured key signed (relayed messages pass unchanged) and
 * never a nil vote. REPLAY remembers the newest consensus frames (PROPOSAL, PREVOTE, PRECOMMIT,
 * VOTE_BATCH) within both limits below; a frame equal to the newest one kept is not kept twice.
 * The timers of REPLAY, GARBAGE and FLOOD start at the first tc_adv_tick: until then
 * tc_adv_next_deadline returns 0 ("tick me now"). Intervals are drawn uniformly in
 * [mean / 2, 3 * mean / 2]. FLOOD never sends more than TC_ADV_FLOOD_TICK_MAX frames in one tick:
 * a backlog beyond that (a late tick, no peers) is skipped, not sent as a burst. */
#define TC_ADV_REPLAY_SLOTS            256
#define TC_ADV_REPLAY_BYTES_MAX        (16u << 20)
#define TC_ADV_REPLAY_MEAN_MS          500
#define TC_ADV_GARBAGE_MEAN_MS         200
#define TC_ADV_GARBAGE_PAYLOAD_MAX     256
#define TC_ADV_FLOOD_TICK_MAX          1000
#define TC_ADV_TIME_SHIFT_MS           (3600u * 1000u)      /* TIME_AHEAD, TIME_BEHIND */
#define TC_ADV_HEARTBEAT_SHIFT_MS      (3u * 3600u * 1000u) /* FORGE_HEARTBEAT */
#define TC_ADV_FUTURE_HEIGHTS          1000                 /* FUTURE_HEIGHT */
#define TC_ADV_NON_MEMBER_OFFSET       1000                 /* SYNC_NON_MEMBER: index + this */
#define TC_ADV_FORGE_TX_DELAY_MS       1500 /* FORGE_TX: a block interval and more */
#define TC_ADV_HEADER_COPIES           4 /* WRONG_*: block times t .. t + 3, so each is an offence */
#define TC_ADV_STALE_SIGNERS_MAX       64   /* STALE_HEARTBEAT: signers kept */
#define TC_ADV_STALE_HEARTBEAT_MEAN_MS 1000 /* STALE_HEARTBEAT: replay rhythm */

typedef struct {
    tc_adv_kind kind;
    tc_keypair key; /* the honest core's key: signs the conflicting messages */
    tc_sig_scheme scheme;
    const tc_profile *profile; /* copied */
    uint8_t rng_seed[32];
    uint32_t rate_per_s; /* FLOOD */
} tc_adv_config;

typedef struct tc_adv tc_adv;

/* Called once per frame that should really leave: to is the world's peer id. */
typedef void (*tc_adv_emit_fn)(void *ctx, uint32_t to, const uint8_t *frame, size_t len);

/* TC_EINVAL (kind), TC_ENOMEM. */
int tc_adv_new(const tc_adv_config *config, tc_adv **out);
void tc_adv_free(tc_adv *a);
tc_adv_kind tc_adv_kind_of(const tc_adv *a);
const char *tc_adv_kind_name(tc_adv_kind kind);

/* The honest core wants to send frame to peer `to`; peers lists every connected peer id (so an
 * equivocator can split them). Calls emit for each frame that leaves, in order. */
void tc_adv_on_send(tc_adv *a, uint64_t now_ms, uint32_t to, const uint32_t *peers,
                    uint32_t peer_count, const uint8_t *frame, size_t len, tc_adv_emit_fn emit,
                    void *ctx);
/* Time passed: floods, replays and garbage that are due go out through emit. */
void tc_adv_tick(tc_adv *a, uint64_t now_ms, const uint32_t *peers, uint32_t peer_count,
                 tc_adv_emit_fn emit, void *ctx);
/* When tc_adv_tick has work next (UINT64_MAX: never; 0 before the first tick of a timed kind). */
uint64_t tc_adv_next_deadline(const tc_adv *a);

typedef struct {
    uint64_t frames_seen;
    uint64_t frames_dropped;
    uint64_t frames_rewritten;
    uint64_t frames_extra; /* conflicting copies, floods, replays, garbage */
} tc_adv_stats;
void tc_adv_stats_get(const tc_adv *a, tc_adv_stats *out);

#endif
