/* workers.c — the worker-process pool (see workers.h): fork/exec, poll on the children's pipes,
 * wall-time limits, reaping. POSIX only; no threads, no signal handlers.
 */
#include "workers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REAP_POLL_MS 10   /* pipes closed, child not yet reaped: look again this soon */
#define WAIT_MAX_MS  1000 /* longest single poll: timeouts are checked at least this often */
#define READ_CHUNK   65536

typedef struct {
    bool busy;
    bool killed;
    pid_t pid;
    int out_fd, err_fd; /* read ends, -1 once closed */
    uint64_t index;
    uint64_t start_ms;
    char *out; /* out_max + 1 bytes */
    size_t out_len;
    bool out_truncated;
    char err[TC_WORKERS_ERR_MAX + 1];
    size_t err_len;
} slot;

typedef struct {
    const tc_workers_opts *o;
    slot *slots;
    uint32_t active;
    uint64_t next_tick_ms;
} pool;

uint64_t tc_workers_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint32_t tc_workers_nproc(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > TC_WORKERS_JOBS_MAX ? TC_WORKERS_JOBS_MAX : (uint32_t)n;
}

int tc_workers_self_exe(char *out, size_t out_size)
{
    TC_ASSERT(out != NULL);
    if (out_size < 2)
        return TC_EINVAL;
    ssize_t n = readlink("/proc/self/exe", out, out_size - 1);
    if (n <= 0)
        return TC_ENOTFOUND;
    if ((size_t)n >= out_size - 1)
        return TC_EINVAL; /* possibly truncated: readlink does not say */
    out[n] = 0;
    return 0;
}

/* Appends n bytes to a buffer of capacity cap, keeping only its last cap bytes. */
static bool keep_tail(char *buf, size_t cap, size_t *len, const char *data, size_t n)
{
    TC_ASSERT(*len <= cap);
    bool dropped = false;
    if (n >= cap) {
        dropped = *len > 0 || n > cap;
        memcpy(buf, data + (n - cap), cap);
        *len = cap;
    } else {
        if (*len + n > cap) {
            size_t drop = *len + n - cap;
            memmove(buf, buf + drop, *len - drop);
            *len -= drop;
            dropped = true;
        }
        memcpy(buf + *len, data, n);
        *len += n;
    }
    buf[*len] = 0;
    TC_ASSERT(*len <= cap);
    return dropped;
}

static void set_fd_flags(int fd, bool nonblock)
{
    int rc = fcntl(fd, F_SETFD, FD_CLOEXEC);
    TC_ASSERT(rc == 0); /* fd was just returned by pipe() */
    if (nonblock) {
        int fl = fcntl(fd, F_GETFL);
        TC_ASSERT(fl >= 0);
        rc = fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        TC_ASSERT(rc == 0);
    }
}

/* In the child between fork and exec: only async-signal-safe calls. Every descriptor of the
 * parent is close-on-exec, so the child holds no other child's pipe open (a sibling's EOF
 * would otherwise never come). */
static _Noreturn void child_exec(const char *exe, char **argv, int out_w, int err_w)
{
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0)
        dup2(null_fd, 0);
    dup2(out_w, 1);
    dup2(err_w, 2);
    execv(exe, argv);
    static const char msg[] = "workers: exec failed\n";
    ssize_t ignored = write(2, msg, sizeof(msg) - 1);
    (void)ignored;
    _exit(127);
}

static int start(pool *p, slot *s, uint64_t index)
{
    const tc_workers_opts *o = p->o;
    char *argv[TC_WORKERS_ARGV_MAX];
    memset(argv, 0, sizeof(argv));
    int rc = o->argv_of(o->ctx, index, argv, TC_WORKERS_ARGV_MAX);
    if (rc != 0)
        return rc;
    TC_ASSERT(argv[0] != NULL && argv[TC_WORKERS_ARGV_MAX - 1] == NULL);
    int out_p[2], err_p[2];
    if (pipe(out_p) != 0)
        return TC_EFAILED;
    if (pipe(err_p) != 0) {
        close(out_p[0]);
        close(out_p[1]);
        return TC_EFAILED;
    }
    set_fd_flags(out_p[0], true);
    set_fd_flags(err_p[0], true);
    set_fd_flags(out_p[1], false);
    set_fd_flags(err_p[1], false);
    fflush(NULL); /* nothing buffered may be written twice by a child that fails to exec */
    pid_t pid = fork();
    if (pid == 0)
        child_exec(o->exe, argv, out_p[1], err_p[1]);
    close(out_p[1]);
    close(err_p[1]);
    if (pid < 0) {
        close(out_p[0]);
        close(err_p[0]);
        return TC_EFAILED;
    }
    *s = (slot){.busy = true,
                .pid = pid,
                .out_fd = out_p[0],
                .err_fd = err_p[0],
                .index = index,
                .start_ms = tc_workers_wall_ms(),
                .out = s->out};
    s->out[0] = 0;
    p->active++;
    return 0;
}

/* Reads what is available on *fd; closes it at end of file or on an error. */
static void drain(pool *p, slot *s, int *fd, bool is_out)
{
    char chunk[READ_CHUNK];
    for (;;) {
        ssize_t n = read(*fd, chunk, sizeof(chunk));
        if (n > 0) {
            if (is_out)
                s->out_truncated |= keep_tail(s->out, p->o->out_max, &s->out_len, chunk, (size_t)n);
            else
                keep_tail(s->err, TC_WORKERS_ERR_MAX, &s->err_len, chunk, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        close(*fd); /* end of file, or an error we cannot do better with */
        *fd = -1;
        return;
    }
}

static void finish(pool *p, slot *s, int status)
{
    tc_workers_result r = {
        .index = s->index,
        .exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1,
        .signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
        .timed_out = s->killed,
        .wall_ms = tc_workers_wall_ms() - s->start_ms,
        .out = s->out,
        .out_len = s->out_len,
        .out_truncated = s->out_truncated,
        .err = s->err,
        .err_len = s->err_len,
    };
    if (s->out_fd >= 0)
        close(s->out_fd);
    if (s->err_fd >= 0)
        close(s->err_fd);
    s->out_fd = s->err_fd = -1;
    s->busy = false;
    TC_ASSERT(p->active > 0);
    p->active--;
    p->o->done(p->o->ctx, &r);
}

/* Kills a child past its limit and reaps it at once: SIGKILL cannot be caught, and a killed
 * child's pipes might stay open in a grandchild, so its EOF is not waited for. */
static void kill_late(pool *p, slot *s, uint64_t now_ms)
{
    if (s->killed || now_ms - s->start_ms < p->o->timeout_ms)
        return;
    s->killed = true;
    kill(s->pid, SIGKILL);
    int status = 0;
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (s->out_fd >= 0)
        drain(p, s, &s->out_fd, true);
    if (s->err_fd >= 0)
        drain(p, s, &s->err_fd, false);
    finish(p, s, status);
}

/* Milliseconds the next poll may sleep: until the earliest timeout or tick, shorter while a
 * child with closed pipes waits to be reaped. */
static int wait_budget(const pool *p, uint64_t now_ms)
{
    uint64_t wait = WAIT_MAX_MS;
    for (uint32_t k = 0; k < p->o->jobs; k++) {
        const slot *s = &p->slots[k];
        if (!s->busy)
            continue;
        uint64_t end = s->start_ms + p->o->timeout_ms;
        uint64_t left = end > now_ms ? end - now_ms : 0;
        if (left < wait)
            wait = left;
        if (s->out_fd < 0 && s->err_fd < 0 && wait > REAP_POLL_MS)
            wait = REAP_POLL_MS;
    }
    if (p->o->tick_ms > 0) {
        uint64_t left = p->next_tick_ms > now_ms ? p->next_tick_ms - now_ms : 0;
        if (left < wait)
            wait = left;
    }
    return (int)wait;
}

static void poll_once(pool *p)
{
    struct pollfd fds[2 * TC_WORKERS_JOBS_MAX];
    uint32_t owner[2 * TC_WORKERS_JOBS_MAX];
    nfds_t n = 0;
    for (uint32_t k = 0; k < p->o->jobs; k++) {
        const slot *s = &p->slots[k];
        if (s->busy && s->out_fd >= 0) {
            fds[n] = (struct pollfd){.fd = s->out_fd, .events = POLLIN};
            owner[n++] = k;
        }
        if (s->busy && s->err_fd >= 0) {
            fds[n] = (struct pollfd){.fd = s->err_fd, .events = POLLIN};
            owner[n++] = k;
        }
    }
    int ready = poll(n > 0 ? fds : NULL, n, wait_budget(p, tc_workers_wall_ms()));
    if (ready <= 0)
        return; /* timeout, or EINTR: the caller's loop looks again */
    for (nfds_t i = 0; i < n; i++) {
        if (fds[i].revents == 0)
            continue;
        slot *s = &p->slots[owner[i]];
        bool is_out = fds[i].fd == s->out_fd;
        drain(p, s, is_out ? &s->out_fd : &s->err_fd, is_out);
    }
}

/* One pass: read, reap the children whose pipes closed, enforce limits, tick. */
static void step(pool *p)
{
    poll_once(p);
    uint64_t now_ms = tc_workers_wall_ms();
    for (uint32_t k = 0; k < p->o->jobs; k++) {
        slot *s = &p->slots[k];
        if (!s->busy)
            continue;
        if (s->out_fd < 0 && s->err_fd < 0) {
            int status = 0;
            pid_t r = waitpid(s->pid, &status, WNOHANG);
            if (r == s->pid) {
                finish(p, s, status);
                continue;
            }
        }
        kill_late(p, s, now_ms);
    }
    if (p->o->tick != NULL && p->o->tick_ms > 0 && now_ms >= p->next_tick_ms) {
        p->o->tick(p->o->ctx);
        p->next_tick_ms = now_ms + p->o->tick_ms;
    }
}

static bool opts_ok(const tc_workers_opts *o)
{
    return o->exe != NULL && o->argv_of != NULL && o->done != NULL && o->jobs >= 1 &&
           o->jobs <= TC_WORKERS_JOBS_MAX && o->timeout_ms >= 1 &&
           o->timeout_ms <= TC_WORKERS_TIMEOUT_MAX && o->out_max >= 64 &&
           o->out_max <= TC_WORKERS_OUT_MAX;
}

static slot *free_slot(pool *p)
{
    for (uint32_t k = 0; k < p->o->jobs; k++)
        if (!p->slots[k].busy)
            return &p->slots[k];
    TC_ASSERT(false && "no free slot although active < jobs");
    return NULL;
}

int tc_workers_run(const tc_workers_opts *opts, uint64_t count)
{
    TC_ASSERT(opts != NULL);
    if (!opts_ok(opts))
        return TC_EINVAL;
    pool p = {.o = opts, .next_tick_ms = tc_workers_wall_ms() + opts->tick_ms};
    p.slots = calloc(opts->jobs, sizeof(slot));
    if (p.slots == NULL)
        return TC_ENOMEM;
    int rc = 0;
    for (uint32_t k = 0; k < opts->jobs && rc == 0; k++) {
        p.slots[k].out_fd = p.slots[k].err_fd = -1;
        p.slots[k].out = malloc(opts->out_max + 1);
        rc = p.slots[k].out == NULL ? TC_ENOMEM : 0;
    }
    uint64_t next = 0;
    while (rc == 0 || p.active > 0) {
        while (rc == 0 && next < count && p.active < opts->jobs) {
            rc = start(&p, free_slot(&p), next);
            next += rc == 0 ? 1 : 0;
        }
        if (p.active == 0 && (rc != 0 || next == count))
            break;
        step(&p);
    }
    TC_ASSERT(p.active == 0);
    for (uint32_t k = 0; k < opts->jobs; k++)
        free(p.slots[k].out);
    free(p.slots);
    return rc;
}
