/* gossip.h — announce-then-fetch of bulk gossip (PROTOCOL 10.9): the state a node keeps so that
 * transactions and vote batches reach every node about once, as a pure data structure.
 *
 * The protocol. A node that accepts a transaction or vote batch from a peer does not push the
 * frame on: it keeps a copy (tc_gossip_offer) and, a short interval later, announces the ids of
 * everything it accepted since in one IHAVE per peer. A peer that has not seen an id asks for it
 * with IWANT, from the first peer that announced it, once; the frame comes back and is handled
 * like any gossip. If it does not come within fetch_timeout_ms, the id is asked of the next peer
 * that announced it (up to TC_GOSSIP_ALTS_MAX are remembered), and after the last one it is given
 * up (re-gossip and the fetch of a proposal's missing batches repair what is still missing).
 * What a node originates it still pushes to all its peers: one hop costs nothing twice, and the
 * announcements take it further. This is gossipsub's lazy push (IHAVE / IWANT) without its
 * eager mesh: a copy of a frame a node already holds is now rare instead of the rule.
 *
 * What it owns. Three bounded containers, allocated by tc_gossip_new: the cache of frames kept
 * for IWANT (cache_max frames, cache_bytes_max bytes, oldest evicted first; each frame is a heap
 * copy; a frame older than cache_age_ms is evicted when the next one is kept), the queue of ids to
 * announce (announce_max; beyond, an id is not announced and counted), and the table of fetches in
 * flight (fetch_max; an IHAVE finding it full asks for nothing and is counted). Lookups are exact
 * through hash indexes keyed by (type, id) with a salt from the node's generator.
 *
 * Nothing here knows peers beyond their ids, reads a clock or sends: the node passes now_ms and
 * turns what comes out (ids to announce, fetches to retry) into frames.
 *
 * Invariants (asserted): every container's count within its bound; the cache's bytes within
 * cache_bytes_max; every used entry indexed exactly once.
 *
 * Lifetimes: a frame returned by tc_gossip_frame stays valid until the next tc_gossip_offer or
 * tc_gossip_free.
 */
#ifndef TC_GOSSIP_H
#define TC_GOSSIP_H

#include "base.h"
#include "msg.h"

#define TC_GOSSIP_ALTS_MAX 4 /* further announcers remembered per fetch */

/* Default bounds (a config field of 0 selects them). */
#define TC_GOSSIP_CACHE_MAX_DEFAULT       4096u
#define TC_GOSSIP_CACHE_BYTES_MAX_DEFAULT (8u << 20)
#define TC_GOSSIP_FETCH_MAX_DEFAULT       4096u
#define TC_GOSSIP_ANNOUNCE_MAX_DEFAULT    4096u
#define TC_GOSSIP_FETCH_TIMEOUT_MS        400u
#define TC_GOSSIP_CONTAINER_MAX           (1u << 20)

typedef struct {
    uint32_t cache_max;
    uint64_t cache_bytes_max;
    uint32_t fetch_max;
    uint32_t announce_max;
    uint32_t fetch_timeout_ms;
    /* How long a kept frame is served: an IWANT comes from a peer that heard the id announced
     * and asks its announcers in turn, each fetch_timeout_ms apart, so after (TC_GOSSIP_ALTS_MAX +
     * 1) * fetch_timeout_ms (the default, for 0) nobody asks any more. Without it the cache held
     * its 8 MiB a node (8 GiB at 1,024 simulated validators) of frames nobody could ask for. */
    uint32_t cache_age_ms;
} tc_gossip_config;

typedef struct {
    uint64_t kept;          /* frames entered in the cache */
    uint64_t evicted;       /* frames that left it for room */
    uint64_t expired;       /* frames that left it older than cache_age_ms */
    uint64_t announced;     /* ids queued for announcement */
    uint64_t announce_full; /* ids not announced: the queue was full */
    uint64_t fetches;       /* ids asked for (first asks) */
    uint64_t retries;       /* ids asked again of another announcer */
    uint64_t given_up;      /* fetches whose every announcer timed out */
    uint64_t fetch_full;    /* announced ids not asked for: the table was full */
    uint32_t cache_count;
    uint64_t cache_bytes;
    uint32_t fetch_count;
    uint32_t announce_count;
} tc_gossip_stats;

typedef struct tc_gossip tc_gossip;

/* Creates the state; salt seeds the index hash (take it from the node's generator). Codes:
 * TC_EINVAL (a bound over TC_GOSSIP_CONTAINER_MAX), TC_ENOMEM. */
int tc_gossip_new(const tc_gossip_config *config, uint64_t salt, tc_gossip **out);
void tc_gossip_free(tc_gossip *g);

/* An object this node accepted (type TX, VOTE_BATCH or PROPOSAL, its protocol id, its frame): a
 * copy is kept for IWANT, and the id is queued for the next announcement, to every peer but `from`
 * when has_from. 0; TC_EEXIST (kept already: nothing changes); TC_ENOMEM or TC_ETOOLONG (a frame
 * larger than the cache: not kept, not announced). A pending fetch of the id is forgotten. */
int tc_gossip_offer(tc_gossip *g, uint64_t now_ms, const tc_msg_inv *inv, const uint8_t *frame,
                    size_t len, bool has_from, uint32_t from);
/* tc_gossip_offer without the announcement (the caller announces at once). */
int tc_gossip_keep(tc_gossip *g, const tc_msg_inv *inv, const uint8_t *frame, size_t len);
/* The kept frame of inv, or NULL. */
const uint8_t *tc_gossip_frame(const tc_gossip *g, const tc_msg_inv *inv, size_t *len_out);

/* The announcement queue: when its oldest id was queued (UINT64_MAX: empty), its length, entry
 * i, and clearing it once announced. */
uint64_t tc_gossip_announce_since(const tc_gossip *g);
uint32_t tc_gossip_announce_count(const tc_gossip *g);
void tc_gossip_announce_get(const tc_gossip *g, uint32_t i, tc_msg_inv *inv, bool *has_from,
                            uint32_t *from);
void tc_gossip_announce_clear(tc_gossip *g);

/* peer announced inv, which the caller has not seen. Returns 1 when it is to be asked of peer
 * now (a new fetch, due back by now_ms + fetch_timeout_ms); 0 when a fetch is already in flight
 * (peer is remembered as a further announcer if there is room and it is not one already);
 * TC_EFULL when the fetch table is full (nothing asked, counted). */
int tc_gossip_want(tc_gossip *g, uint64_t now_ms, uint32_t peer, const tc_msg_inv *inv);
/* inv arrived (or was judged) by any path: its fetch, if any, is over. */
void tc_gossip_arrived(tc_gossip *g, const tc_msg_inv *inv);

/* Fetches past their deadline: each is asked of its next announcer through ask (and due again
 * fetch_timeout_ms later), or given up when none is left. */
typedef void (*tc_gossip_ask_fn)(void *ctx, uint32_t peer, const tc_msg_inv *inv);
void tc_gossip_tick(tc_gossip *g, uint64_t now_ms, tc_gossip_ask_fn ask, void *ctx);
/* The earliest fetch deadline (UINT64_MAX: none). */
uint64_t tc_gossip_next_deadline(const tc_gossip *g);

void tc_gossip_stats_get(const tc_gossip *g, tc_gossip_stats *out);

/* ---- consensus votes (PROTOCOL 10.9) ----
 *
 * Votes do not go through IHAVE / IWANT: a 33-byte announcement per vote per peer would cost a
 * third of the vote itself, and a round waits for them. Instead a node relays a vote it accepted
 * to a bounded number of peers at once (the eager mesh, node_outbox.c), keeps its frame here, and
 * announces what it holds of each (height, round, type) as one bitmap (VOTE_BITS, a bit per
 * validator, as CometBFT's VoteSetBits). A peer whose bitmap shows a vote this node still lacks
 * one grace interval after it learned of it (the vote was not merely in flight) is asked for it
 * (VOTE_WANT), and asked again of the latest announcer after retry_ms while it does not come.
 *
 * What it owns: the frames of the votes of one height (the current one) in at most
 * TC_VOTEG_ENTRIES_MAX (round, type) tables, each with a slot per validator of the height's set.
 * A vote of a new (round, type) with the tables full replaces the table holding the fewest votes
 * (the lowest round among equals): the rounds that matter are the ones with many votes, and a
 * Byzantine validator's votes for far rounds hold one vote each. Nothing here verifies a vote:
 * the node adds only votes consensus accepted. */
#define TC_VOTEG_ENTRIES_MAX 8

typedef struct tc_voteg tc_voteg;

/* TC_ENOMEM. */
int tc_voteg_new(tc_voteg **out);
void tc_voteg_free(tc_voteg *g);
/* The height whose votes are kept, with its validator count (1..TC_MSG_VOTE_BITS_MAX; more are
 * clamped: votes of higher indexes are then neither kept nor announced). Another height (or
 * count) drops every table. */
void tc_voteg_height(tc_voteg *g, uint64_t height, uint32_t count);
/* Keeps a copy of the frame of vote v. 0; TC_EEXIST (held already); TC_ERANGE (another height,
 * a validator beyond the count, no height set); TC_ENOMEM. */
int tc_voteg_add(tc_voteg *g, const tc_vote *v, const uint8_t *frame, size_t len);
/* The held frame of (round, type, validator) at the kept height, or NULL. */
const uint8_t *tc_voteg_frame(const tc_voteg *g, uint32_t round, uint8_t type, uint32_t validator,
                              size_t *len_out);
/* Writes into out (at most max) the bitmaps of the tables that gained a vote since they were
 * last taken (all tables holding a vote when all), and marks them taken; returns the count. */
uint32_t tc_voteg_take_bits(tc_voteg *g, bool all, tc_msg_vote_bits *out, uint32_t max);
/* peer announced m: each vote of the kept height it holds and this node lacks gets peer as its
 * latest holder, and the time it was first announced (a table is made for a new (round, type)
 * only when a vote of it arrives). */
void tc_voteg_on_bits(tc_voteg *g, uint64_t now_ms, uint32_t peer, const tc_msg_vote_bits *m);
/* The wants now due: votes lacking, announced at least grace_ms ago, not asked within retry_ms;
 * one want call per (table, holder), with the bits asked. */
typedef void (*tc_voteg_want_fn)(void *ctx, uint32_t peer, const tc_msg_vote_bits *want);
void tc_voteg_tick(tc_voteg *g, uint64_t now_ms, uint32_t grace_ms, uint32_t retry_ms,
                   tc_voteg_want_fn want, void *ctx);
/* Whether a table gained a vote not yet taken, or a vote is lacking that a peer announced:
 * the node then ticks at its announcement interval. */
bool tc_voteg_busy(const tc_voteg *g);

typedef struct {
    uint64_t height;
    uint32_t count;
    uint32_t tables;
    uint64_t kept;     /* votes kept */
    uint64_t replaced; /* tables replaced for room */
    uint64_t wanted;   /* votes asked for (each ask counted) */
} tc_voteg_stats;
void tc_voteg_stats_get(const tc_voteg *g, tc_voteg_stats *out);

#endif
