/* rpc.h — timed's operator interface: JSON-RPC 2.0 over HTTP and GET /metrics (docs/OPERATING.md,
 * "RPC" and "Metrics"), served by libmicrohttpd.
 *
 * Threads. libmicrohttpd runs its own thread (epoll). That thread only parses HTTP, checks the
 * credentials and the limits, and collects the body; it never touches the node. A request that
 * passes is handed to the loop thread (a mutex-guarded queue and a uv_async_t), and its
 * connection is suspended; the loop thread answers it (rpc_methods.c, metrics.c) and resumes
 * the connection, after which libmicrohttpd sends the answer. So the tc_node is read and called
 * only from the loop thread, as live.h requires, and a waiting request (waittxfinality) costs a
 * suspended connection, not a thread.
 *
 * Credentials. HTTP Basic, compared in constant time (sodium_memcmp) with rpc.user:rpc.password
 * from the config or, without rpc.user, with "__cookie__:" and 64 random hex digits written to
 * DATA_DIR/.cookie (mode 0600) at start and removed at stop, as bitcoind does: whoever can read
 * the data folder may call the node. /metrics on rpc.listen takes the same credentials; on
 * metrics.listen (if set) it takes none, and nothing else is served there.
 *
 * Limits (config keys): a body over rpc.body_max_bytes is answered 413 with a JSON-RPC error
 * without being read into memory; at most rpc.requests_max requests are in flight (waiting ones
 * included), and one more is answered 503 with a JSON-RPC error at once.
 *
 * Lifetimes: node, store, live, genesis and config are borrowed and outlive the server.
 */
#ifndef TD_RPC_H
#define TD_RPC_H

#include <uv.h>

#include "config.h"
#include "live.h"
#include "node.h"

typedef struct td_rpc td_rpc;

typedef struct {
    const td_config *config;
    tc_node *node;
    tc_store *store;
    td_live *live;
    const tc_genesis *genesis;
    void (*on_stop)(void *ctx); /* the `stop` method, after its answer went out */
    void *ctx;
} td_rpc_opts;

/* Starts the servers (rpc.listen, and metrics.listen when set; "" leaves a server out) and
 * writes the cookie. 0, or -1 with the reason in err (an address in use, an unwritable cookie). */
int td_rpc_start(uv_loop_t *loop, const td_rpc_opts *opts, td_rpc **out, char *err, size_t err_len);
/* The live driver's notify hook: counts for /metrics and wakes waiting requests. */
void td_rpc_on_notify(void *rpc, const tc_notify *note);
/* Answers every queued and waiting request with an error, stops the HTTP threads, closes the
 * loop handles and removes the cookie. Idempotent. Loop thread only. */
void td_rpc_stop(td_rpc *r);
/* Releases the server once the loop has run the closes td_rpc_stop started. NULL is a no-op. */
void td_rpc_free(td_rpc *r);

#endif
