/* rpc.c — the HTTP side of timed's RPC (rpc.h): libmicrohttpd's thread, the credentials, the
 * limits, and the hand-off of each request to the loop thread and back. */
#include "rpc.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "rpc_methods.h"

#define WAIT_SWEEP_MS     100
#define STOP_DELAY_MS     200 /* lets the answer to `stop` leave before the servers stop */
#define COOKIE_USER       "__cookie__"
#define CONN_EXTRA        256 /* connections beyond requests_max that still get a 503 */
#define CONN_TIMEOUT_S    30
#define JSON_CONTENT_TYPE "application/json"
#define METRICS_CONTENT   "text/plain; version=0.0.4; charset=utf-8"

typedef enum { JOB_RPC = 0, JOB_METRICS = 1 } job_kind;

typedef struct job job;
struct job {
    struct MHD_Connection *conn;
    job_kind kind;
    char *body;
    size_t body_len, body_cap;
    bool too_big;
    bool queued; /* handed to the loop thread (the connection is suspended) */
    /* The answer, written by the loop thread before it resumes the connection. */
    bool done;
    unsigned http_status;
    char *resp;
    size_t resp_len;
    /* waittxfinality: */
    json_t *id;
    td_rpc_wait wait;
    job *next;
};

/* One listener: rpc.listen (credentials, every path) or metrics.listen (no credentials, only
 * /metrics). */
typedef struct {
    td_rpc *rpc;
    struct MHD_Daemon *daemon;
    bool metrics_only;
} listener;

struct td_rpc {
    uv_loop_t *loop;
    td_rpc_opts opts;
    td_rpc_env env;
    listener rpc_l, metrics_l;
    char expected[2 * TD_CRED_MAX + 2]; /* "user:password" */
    size_t expected_len;
    char cookie_path[TD_PATH_MAX + 16];
    bool cookie_written;
    uint64_t body_max, requests_max;
    /* Shared with libmicrohttpd's thread, under mu: */
    pthread_mutex_t mu;
    bool closing;
    uint32_t inflight;
    uint64_t requests, refused;
    job *queue_head, *queue_tail;
    /* Loop thread only: */
    job *waiting;
    uint32_t waiting_count;
    uv_async_t async;
    uv_timer_t sweep, stop_timer;
    bool stopped;
    uint32_t handles_open;
};

/* ---- answers ---- */

static char *error_body(json_t *id, int code, const char *message, size_t *len_out)
{
    json_t *o = json_pack("{s:s, s:{s:i, s:s}, s:O?}", "jsonrpc", "2.0", "error", "code", code,
                          "message", message, "id", id);
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    *len_out = s != NULL ? strlen(s) : 0;
    return s;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, char *text,
                                 size_t len, const char *type)
{
    static const char fallback[] = "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32603,"
                                   "\"message\":\"out of memory\"},\"id\":null}";
    struct MHD_Response *resp =
        text != NULL ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE)
                     : MHD_create_response_from_buffer(sizeof(fallback) - 1, (void *)fallback,
                                                       MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, int code,
                                  const char *message)
{
    size_t len = 0;
    char *s = error_body(NULL, code, message, &len);
    return send_text(conn, status, s, len, JSON_CONTENT_TYPE);
}

/* ---- credentials ---- */

/* Whether the Authorization header holds the expected "user:password", compared in constant
 * time over the expected length (a wrong length is refused after the same comparison). */
static bool authorized(const td_rpc *r, struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (h == NULL || strncmp(h, "Basic ", 6) != 0)
        return false;
    char got[sizeof(r->expected)];
    size_t got_len = 0;
    memset(got, 0, sizeof(got));
    const char *b64 = h + 6;
    if (sodium_base642bin((unsigned char *)got, sizeof(got) - 1, b64, strlen(b64), NULL, &got_len,
                          NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    bool same = sodium_memcmp(got, r->expected, r->expected_len) == 0;
    sodium_memzero(got, sizeof(got));
    return same && got_len == r->expected_len;
}

static int write_cookie(td_rpc *r, char *err, size_t err_len)
{
    uint8_t secret[32];
    char hex[65];
    randombytes_buf(secret, sizeof(secret));
    sodium_bin2hex(hex, sizeof(hex), secret, sizeof(secret));
    snprintf(r->cookie_path, sizeof(r->cookie_path), "%s/.cookie", r->opts.config->data_dir);
    r->expected_len = (size_t)snprintf(r->expected, sizeof(r->expected), "%s:%s", COOKIE_USER, hex);
    (void)unlink(r->cookie_path); /* a stale one from a kill -9: this start's replaces it */
    int fd = open(r->cookie_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, r->expected, r->expected_len) == (ssize_t)r->expected_len;
    if (fd >= 0)
        close(fd);
    if (!ok) {
        snprintf(err, err_len, "%s: cannot write the RPC cookie", r->cookie_path);
        return -1;
    }
    r->cookie_written = true;
    return 0;
}

/* ---- libmicrohttpd's thread ---- */

static enum MHD_Result first_call(listener *li, struct MHD_Connection *conn, const char *url,
                                  const char *method, void **con_cls)
{
    td_rpc *r = li->rpc;
    bool metrics = strcmp(url, "/metrics") == 0;
    if (li->metrics_only && !metrics)
        return send_error(conn, MHD_HTTP_NOT_FOUND, TD_RPC_INVALID_REQUEST, "only /metrics here");
    if (metrics ? strcmp(method, "GET") != 0 : strcmp(method, "POST") != 0)
        return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, TD_RPC_INVALID_REQUEST,
                          metrics ? "GET /metrics" : "JSON-RPC takes POST");
    if (!li->metrics_only && !authorized(r, conn)) {
        size_t len = 0;
        char *s = error_body(NULL, TD_RPC_INVALID_REQUEST, "missing or bad credentials", &len);
        struct MHD_Response *resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
        if (resp == NULL)
            return MHD_NO;
        enum MHD_Result rc = MHD_queue_basic_auth_fail_response(conn, "timed", resp);
        MHD_destroy_response(resp);
        return rc;
    }
    /* A declared length over the limit is refused before a byte of the body is read. */
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t declared = 0;
    if (cl != NULL && tc_parse_u64(cl, 0, UINT64_MAX, &declared) == 0 && declared > r->body_max)
        return send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, TD_RPC_INVALID_REQUEST,
                          "request body over rpc.body_max_bytes");
    pthread_mutex_lock(&r->mu);
    bool full = r->closing || r->inflight >= r->requests_max;
    bool closing = r->closing;
    if (full)
        r->refused++;
    else
        r->inflight++;
    pthread_mutex_unlock(&r->mu);
    if (full)
        return send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                          closing ? TD_RPC_IN_WARMUP : TD_RPC_OVERLOADED,
                          closing ? "shutting down" : "too many requests in flight; retry");
    job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        pthread_mutex_lock(&r->mu);
        r->inflight--;
        pthread_mutex_unlock(&r->mu);
        return MHD_NO;
    }
    j->conn = conn;
    j->kind = metrics ? JOB_METRICS : JOB_RPC;
    *con_cls = j;
    return MHD_YES;
}

static void take_body(td_rpc *r, job *j, const char *data, size_t size)
{
    TC_ASSERT(r != NULL && j != NULL && data != NULL && size > 0);
    TC_ASSERT(!j->queued && j->body_len <= r->body_max);
    if (j->too_big || j->body_len + size > r->body_max) {
        j->too_big = true;
        return;
    }
    if (j->body_len + size + 1 > j->body_cap) {
        size_t cap = j->body_cap ? j->body_cap : 4096;
        while (cap < j->body_len + size + 1)
            cap *= 2;
        char *b = realloc(j->body, cap);
        if (b == NULL) {
            j->too_big = true;
            return;
        }
        j->body = b;
        j->body_cap = cap;
    }
    memcpy(j->body + j->body_len, data, size);
    j->body_len += size;
    j->body[j->body_len] = 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    listener *li = cls;
    td_rpc *r = li->rpc;
    if (*con_cls == NULL)
        return first_call(li, conn, url, method, con_cls);
    job *j = *con_cls;
    if (*upload_data_size > 0) {
        take_body(r, j, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&r->mu);
    bool done = j->done;
    pthread_mutex_unlock(&r->mu);
    if (done) {
        char *resp = j->resp;
        j->resp = NULL;
        return send_text(conn, j->http_status, resp, j->resp_len,
                         j->kind == JOB_METRICS ? METRICS_CONTENT : JSON_CONTENT_TYPE);
    }
    if (j->too_big)
        return send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, TD_RPC_INVALID_REQUEST,
                          "request body over rpc.body_max_bytes");
    if (j->queued)
        return MHD_YES; /* NEVER: a suspended connection is not called */
    pthread_mutex_lock(&r->mu);
    if (r->closing) {
        pthread_mutex_unlock(&r->mu);
        return send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, TD_RPC_IN_WARMUP, "shutting down");
    }
    /* Suspended before the loop thread can see it, so its resume always follows. */
    MHD_suspend_connection(conn);
    j->queued = true;
    if (r->queue_tail != NULL)
        r->queue_tail->next = j;
    else
        r->queue_head = j;
    r->queue_tail = j;
    r->requests++;
    uv_async_send(&r->async);
    pthread_mutex_unlock(&r->mu);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    listener *li = cls;
    job *j = *con_cls;
    if (j == NULL)
        return;
    TC_ASSERT(!j->queued || j->done); /* a queued job completes only once answered */
    pthread_mutex_lock(&li->rpc->mu);
    TC_ASSERT(li->rpc->inflight > 0);
    li->rpc->inflight--;
    pthread_mutex_unlock(&li->rpc->mu);
    free(j->body);
    free(j->resp);
    free(j);
    *con_cls = NULL;
}

/* ---- the loop thread ---- */

/* Sets j's answer and gives the connection back to libmicrohttpd; j is not touched after. */
static void finish(td_rpc *r, job *j, unsigned status, char *text, size_t len)
{
    TC_ASSERT(j->queued && !j->done && j->conn != NULL);
    TC_ASSERT(j->resp == NULL);
    json_decref(j->id);
    j->id = NULL;
    pthread_mutex_lock(&r->mu);
    j->http_status = status;
    j->resp = text;
    j->resp_len = len;
    j->done = true;
    pthread_mutex_unlock(&r->mu);
    MHD_resume_connection(j->conn);
}

static void finish_result(td_rpc *r, job *j, json_t *result)
{
    json_t *o = json_pack("{s:s, s:o, s:O?}", "jsonrpc", "2.0", "result", result, "id", j->id);
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    finish(r, j, MHD_HTTP_OK, s, s != NULL ? strlen(s) : 0);
}

static void finish_error(td_rpc *r, job *j, int code, const char *message)
{
    size_t len = 0;
    char *s = error_body(j->id, code, message, &len);
    finish(r, j, MHD_HTTP_OK, s, len);
}

/* Named parameters become the positional array the methods take. */
static json_t *positional(const char *method, json_t *params, td_rpc_error *err)
{
    if (params == NULL || json_is_null(params))
        return json_array();
    if (json_is_array(params))
        return json_incref(params);
    const char *const *names = td_rpc_param_names(method);
    if (!json_is_object(params) || names == NULL) {
        err->code = TD_RPC_INVALID_REQUEST;
        snprintf(err->message, sizeof(err->message), "params must be an array or an object");
        return NULL;
    }
    json_t *a = json_array();
    size_t used = 0, last = 0;
    for (size_t k = 0; names[k] != NULL; k++) {
        json_t *v = json_object_get(params, names[k]);
        used += v != NULL;
        last = v != NULL ? k + 1 : last;
    }
    for (size_t k = 0; k < last; k++) {
        json_t *v = json_object_get(params, names[k]);
        json_array_append(a, v != NULL ? v : json_null());
    }
    if (used != json_object_size(params)) {
        json_decref(a);
        err->code = TD_RPC_INVALID_PARAMS;
        snprintf(err->message, sizeof(err->message), "unknown named parameter");
        return NULL;
    }
    return a;
}

static void on_stop_timer(uv_timer_t *t);

static void run_rpc(td_rpc *r, job *j)
{
    TC_ASSERT(j->kind == JOB_RPC && j->queued && !j->done);
    TC_ASSERT(j->id == NULL && !j->too_big);
    json_error_t jerr;
    json_t *req = json_loadb(j->body ? j->body : "", j->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (req == NULL) {
        finish_error(r, j, TD_RPC_PARSE_ERROR, "parse error: the body is not JSON");
        return;
    }
    json_t *id = json_object_get(req, "id");
    j->id = json_incref(id);
    const char *method = json_string_value(json_object_get(req, "method"));
    td_rpc_error err = {0};
    json_t *params = json_is_object(req) && method != NULL
                         ? positional(method, json_object_get(req, "params"), &err)
                         : NULL;
    if (!json_is_object(req) || method == NULL) {
        err.code = TD_RPC_INVALID_REQUEST;
        snprintf(err.message, sizeof(err.message),
                 json_is_array(req) ? "batch requests are not supported"
                                    : "a request is an object with a string \"method\"");
    }
    json_t *result = params != NULL ? td_rpc_call(&r->env, method, params, &err, &j->wait) : NULL;
    json_decref(params);
    json_decref(req);
    if (result != NULL) {
        finish_result(r, j, result);
    } else if (err.code == TD_RPC_WAIT) {
        j->next = r->waiting;
        r->waiting = j;
        r->waiting_count++;
    } else {
        finish_error(r, j, err.code, err.message);
    }
    if (r->env.stop_requested && !uv_is_active((uv_handle_t *)&r->stop_timer))
        uv_timer_start(&r->stop_timer, on_stop_timer, STOP_DELAY_MS, 0);
}

static void run_job(td_rpc *r, job *j)
{
    if (j->kind == JOB_METRICS) {
        pthread_mutex_lock(&r->mu);
        uint32_t inflight = r->inflight;
        uint64_t requests = r->requests, refused = r->refused;
        pthread_mutex_unlock(&r->mu);
        char *page = td_metrics_render(&r->env, inflight, requests, refused);
        finish(r, j, page != NULL ? MHD_HTTP_OK : MHD_HTTP_INTERNAL_SERVER_ERROR, page,
               page != NULL ? strlen(page) : 0);
        return;
    }
    run_rpc(r, j);
}

static void on_async(uv_async_t *a)
{
    td_rpc *r = a->data;
    TC_ASSERT(r != NULL && !r->stopped);
    pthread_mutex_lock(&r->mu);
    job *list = r->queue_head;
    r->queue_head = r->queue_tail = NULL;
    pthread_mutex_unlock(&r->mu);
    while (list != NULL) {
        job *j = list;
        list = j->next;
        j->next = NULL;
        run_job(r, j);
    }
}

/* Answers the waiters whose transaction is final, or all of them past their deadline (or all
 * when force, at shutdown). */
static void sweep_waiters(td_rpc *r, bool force)
{
    TC_ASSERT(r != NULL && !r->stopped);
    uint64_t now = td_now_ms();
    job **pp = &r->waiting;
    while (*pp != NULL) {
        job *j = *pp;
        bool final = false;
        json_t *state = td_rpc_tx_state(&r->env, &j->wait.txid, &final);
        bool timed_out = !final && now >= j->wait.deadline_ms;
        if (!final && !timed_out && !force) {
            json_decref(state);
            pp = &j->next;
            continue;
        }
        *pp = j->next;
        r->waiting_count--;
        if (state != NULL)
            json_object_set_new(state, "timed_out", json_boolean(!final));
        if (force && !final) {
            json_decref(state);
            finish_error(r, j, TD_RPC_IN_WARMUP, "shutting down");
        } else if (state != NULL) {
            finish_result(r, j, state);
        } else {
            finish_error(r, j, TD_RPC_INTERNAL_ERROR, "out of memory");
        }
    }
}

static void on_sweep(uv_timer_t *t)
{
    sweep_waiters(t->data, false);
}

void td_rpc_on_notify(void *rpc, const tc_notify *note)
{
    td_rpc *r = rpc;
    td_rpc_env_note(&r->env, note);
    if (r->waiting != NULL && !r->stopped &&
        (note->kind == TC_NOTIFY_TX_FINALIZED || note->kind == TC_NOTIFY_BLOCK_COMMITTED))
        sweep_waiters(r, false);
}

static void on_stop_timer(uv_timer_t *t)
{
    td_rpc *r = t->data;
    if (r->opts.on_stop != NULL)
        r->opts.on_stop(r->opts.ctx);
}

/* ---- lifecycle ---- */

static int listen_on(td_rpc *r, listener *li, const char *addr, bool metrics_only, char *err,
                     size_t err_len)
{
    char host[16];
    uint16_t port = 0;
    TC_ASSERT(td_addr_split(addr, host, &port) == 0); /* the config checked it */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    li->rpc = r;
    li->metrics_only = metrics_only;
    unsigned conn_max = (unsigned)r->requests_max + CONN_EXTRA;
    li->daemon = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, port, NULL,
        NULL, on_request, li, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_LIMIT, conn_max, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)CONN_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, on_completed, li,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (li->daemon == NULL) {
        snprintf(err, err_len, "%s: cannot listen (%s)", addr,
                 metrics_only ? "metrics.listen" : "rpc.listen");
        return -1;
    }
    td_log(TD_LOG_INFO, metrics_only ? "metrics_listening" : "rpc_listening", "addr", addr, NULL);
    return 0;
}

static void init_handles(td_rpc *r)
{
    uv_async_init(r->loop, &r->async, on_async);
    uv_timer_init(r->loop, &r->sweep);
    uv_timer_init(r->loop, &r->stop_timer);
    r->async.data = r->sweep.data = r->stop_timer.data = r;
    uv_timer_start(&r->sweep, on_sweep, WAIT_SWEEP_MS, WAIT_SWEEP_MS);
    r->handles_open = 3;
}

int td_rpc_start(uv_loop_t *loop, const td_rpc_opts *opts, td_rpc **out, char *err, size_t err_len)
{
    TC_ASSERT(loop != NULL && opts != NULL && opts->config != NULL && out != NULL);
    td_rpc *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    r->loop = loop;
    r->opts = *opts;
    r->env = (td_rpc_env){.node = opts->node,
                          .store = opts->store,
                          .live = opts->live,
                          .genesis = opts->genesis,
                          .start_ms = td_now_ms(),
                          .data_dir = opts->config->data_dir,
                          .map_size_mib = opts->config->map_size_mib};
    r->body_max = opts->config->rpc_body_max_bytes;
    r->requests_max = opts->config->rpc_requests_max;
    pthread_mutex_init(&r->mu, NULL);
    init_handles(r);
    *out = r;
    const td_config *c = opts->config;
    if (c->rpc_user[0] != 0)
        r->expected_len = (size_t)snprintf(r->expected, sizeof(r->expected), "%s:%s", c->rpc_user,
                                           c->rpc_password);
    int rc = c->rpc_listen[0] != 0 && c->rpc_user[0] == 0 ? write_cookie(r, err, err_len) : 0;
    if (rc == 0 && c->rpc_listen[0] != 0)
        rc = listen_on(r, &r->rpc_l, c->rpc_listen, false, err, err_len);
    if (rc == 0 && c->metrics_listen[0] != 0)
        rc = listen_on(r, &r->metrics_l, c->metrics_listen, true, err, err_len);
    if (rc != 0)
        td_rpc_stop(r);
    return rc;
}

static void on_closed(uv_handle_t *h)
{
    td_rpc *r = h->data;
    TC_ASSERT(r->handles_open > 0);
    r->handles_open--;
}

void td_rpc_stop(td_rpc *r)
{
    if (r == NULL || r->stopped)
        return;
    pthread_mutex_lock(&r->mu);
    r->closing = true;
    pthread_mutex_unlock(&r->mu);
    on_async(&r->async); /* what was queued before is answered (a request may be quick) */
    sweep_waiters(r, true);
    r->stopped = true;
    TC_ASSERT(r->waiting == NULL && r->waiting_count == 0);
    listener *ls[] = {&r->rpc_l, &r->metrics_l};
    for (int k = 0; k < 2; k++) {
        if (ls[k]->daemon != NULL)
            MHD_stop_daemon(ls[k]->daemon);
        ls[k]->daemon = NULL;
    }
    if (r->cookie_written)
        (void)unlink(r->cookie_path);
    r->cookie_written = false;
    uv_close((uv_handle_t *)&r->async, on_closed);
    uv_close((uv_handle_t *)&r->sweep, on_closed);
    uv_close((uv_handle_t *)&r->stop_timer, on_closed);
}

void td_rpc_free(td_rpc *r)
{
    if (r == NULL)
        return;
    TC_ASSERT(r->stopped && r->handles_open == 0);
    pthread_mutex_destroy(&r->mu);
    sodium_memzero(r->expected, sizeof(r->expected));
    free(r);
}
