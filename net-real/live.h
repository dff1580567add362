/* live.h — the live driver: one libuv loop carrying one tc_node over real TCP (what sim/world.c
 * does over the simulated network). Used by timed and by the test client (tests/live/).
 *
 * The driver owns the sockets, the wall clock and one timer. It feeds the node its events
 * (peer up and down, whole frames, ticks at tc_node_next_deadline) with now_ms from the wall
 * clock, never going back, and after every call drains the node's actions:
 *   - SEND: appended to the peer's output batch, written once per loop pass (a uv_check
 *     handle); a peer whose unwritten bytes pass limits.output_buffer_max is dropped;
 *   - CONNECT: dialled unless connected already, in reconnect backoff (exponential from
 *     reconnect_min_ms to reconnect_max_ms, jittered by +-50%), banned, or over max_outbound;
 *   - DISCONNECT: the peer is closed; a ban until ban_until_ms refuses its host's inbound
 *     connections at accept, before the node sees them;
 *   - NOTIFY: logged (commits, finality, view changes, forks, bans, clock, failure at info or
 *     above), and passed to the owner's hook.
 * Frames are read as a 4-byte big-endian length first; a length of 0 or one whose frame passes
 * limits.frame_size_max closes the connection before anything is allocated for it. A peer that
 * is not READY (handshake done) within limits.handshake_timeout_ms is closed, and a host with
 * limits.pending_per_host inbound connections not READY yet gets no more. A whole frame that
 * carries signatures goes to the verify pool first (verify_pool.h: libuv's worker threads check
 * them and the loop's thread records the results in the node's verification cache); each
 * peer's frames reach the node in arrival order, and a peer with JOB_QUEUE_MAX frames waiting
 * is not read until the queue halves.
 *
 * Lifetimes: the node and the loop are borrowed and outlive the driver.
 *
 * Room for the RPC (issue 11): every call into the node happens on the loop's thread. An RPC
 * server either runs on that loop (libmicrohttpd's fd polled by a uv_poll_t) or on its own
 * thread handing each request over through a uv_async_t; on the loop it reads the node with
 * tc_node_status_get (and the store with read transactions between calls), submits with
 * td_live_submit_tx, and watches commits and finality through on_notify.
 */
#ifndef TD_LIVE_H
#define TD_LIVE_H

#include <uv.h>

#include "config.h"
#include "node.h"

typedef struct td_live td_live;

typedef struct {
    const td_config *config; /* limits, listen address, max_inbound/outbound; copied */
    void (*on_notify)(void *ctx, const tc_notify *notify); /* may be NULL */
    void *ctx;
    /* The verify pool (verify_pool.h): the node's verification cache, which the loop's thread
     * fills with the workers' results before a frame reaches the node; NULL: no pool, every
     * check is the core's. genesis: the validator key hints (may be NULL). Both borrowed. */
    tc_verify_cache *verify_cache;
    const tc_genesis *genesis;
} td_live_opts;

/* The wall clock in ms, never less than a value it returned before. */
uint64_t td_now_ms(void);

/* Starts the driver on node: binds the listener (config p2p.listen; "" none), arms the timer
 * and drains the node's first actions. 0, or a negative libuv code (the listen address in use:
 * UV_EADDRINUSE) with the driver freed. */
int td_live_start(uv_loop_t *loop, tc_node *node, const td_live_opts *opts, td_live **out);
/* Submits an encoded transaction as a client; the node's admission code. */
int td_live_submit_tx(td_live *l, const uint8_t *tx, size_t len);
/* Stops accepting, closes every peer (the node learns each as down) and every handle; the loop
 * then ends once the closes complete, and td_live_free releases the rest. */
void td_live_stop(td_live *l);
void td_live_free(td_live *l);
/* Whether the node reported its sticky failure (node.h); the owner exits 1. */
bool td_live_failed(const td_live *l);

typedef struct {
    uint64_t frames_in, frames_out, bytes_in, bytes_out;
    uint64_t accepted, refused_inbound, dials, dial_failures;
    uint64_t oversize_closes, output_drops, handshake_timeouts, ban_refusals;
    uint64_t pool_jobs, pool_sigs; /* frames sent to the verify pool, signatures it checked */
    uint32_t peers;
} td_live_stats;
void td_live_stats_get(const td_live *l, td_live_stats *out);

#endif
