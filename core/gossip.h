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
 * copy), the queue of ids to announce (announce_max; beyond, an id is not announced and counted),
 * and the table of fetches in flight (fetch_max; an IHAVE finding it full asks for nothing and is
 * counted). Lookups are exact through hash indexes keyed by (type, id) with a salt from the
 * node's generator.
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
} tc_gossip_config;

typedef struct {
    uint64_t kept;          /* frames entered in the cache */
    uint64_t evicted;       /* frames that left it for room */
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

#endif
