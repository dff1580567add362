/* workers.h — a bounded pool of worker processes: runs a list of command lines (argv's) on at
 * most `jobs` child processes at once, captures the tail of each child's stdout and stderr,
 * kills a child that outlives its wall-time limit, and hands every outcome to a callback.
 *
 * Why processes and not threads: a child is one `timesim run`, the very program a user replays a
 * failure with, so a sweep's verdict is the replay's verdict; a child that aborts on an
 * assertion or loops forever takes down only itself; and the core stays free of threads
 * (DESIGN.md, determinism rule 1). The pool reads the wall clock, but only for its timeouts and
 * its progress: nothing it measures reaches a run.
 *
 * What the pool owns during tc_workers_run: one slot per concurrent child (its pid, its two pipe
 * read ends, its output buffers). Everything is released before tc_workers_run returns, and no
 * child outlives it: on return every child it started has been reaped.
 *
 * Invariants: at most opts.jobs children exist at once; jobs start in index order 0..count-1;
 * every started job is reported to `done` exactly once (order: completion order, not index
 * order); a reported job's stdout is its last out_max bytes at most (the summary line a child
 * prints last is what callers parse, so the tail is what is worth keeping).
 */
#ifndef TC_WORKERS_H
#define TC_WORKERS_H

#include <stdio.h>

#include "base.h"

#define TC_WORKERS_JOBS_MAX    1024       /* concurrent children */
#define TC_WORKERS_ARGV_MAX    64         /* words of one command line, NULL included */
#define TC_WORKERS_OUT_MAX     (1u << 20) /* bytes of stdout kept per child, at most */
#define TC_WORKERS_ERR_MAX     4096       /* bytes of stderr kept per child (its last words) */
#define TC_WORKERS_TIMEOUT_MAX (7u * 24 * 3600 * 1000) /* a week, in ms */

/* The outcome of one job. Pointers are valid only during the `done` call. */
typedef struct {
    uint64_t index;   /* of the job, 0..count-1 */
    int exit_code;    /* 0..255 when the child exited; -1 otherwise */
    int signal;       /* the signal that ended it (timeouts: SIGKILL), 0 when it exited */
    bool timed_out;   /* killed by the pool after timeout_ms */
    uint64_t wall_ms; /* from fork to reaping */
    const char *out;  /* stdout tail, NUL-terminated */
    size_t out_len;
    bool out_truncated; /* the head of stdout was dropped to respect out_max */
    const char *err;    /* stderr tail, NUL-terminated */
    size_t err_len;
} tc_workers_result;

/* Fills argv (at most argv_max entries, the last one NULL) with job `index`'s command line,
 * argv[0] included. The strings must stay valid until the next call of argv_of (the pool forks
 * right after each call). Returns 0, or a negative code to stop the pool (no more jobs start,
 * running ones finish and are reported; tc_workers_run returns that code). */
typedef int (*tc_workers_argv_fn)(void *ctx, uint64_t index, char **argv, uint32_t argv_max);
/* Receives each finished job. */
typedef void (*tc_workers_done_fn)(void *ctx, const tc_workers_result *r);
/* Called about every tick_ms while jobs run (may be NULL): progress lines. */
typedef void (*tc_workers_tick_fn)(void *ctx);

typedef struct {
    const char *exe;     /* the program every job runs (execv path) */
    uint32_t jobs;       /* concurrent children, 1..TC_WORKERS_JOBS_MAX */
    uint64_t timeout_ms; /* per child wall-time limit, 1..TC_WORKERS_TIMEOUT_MAX */
    size_t out_max;      /* stdout bytes kept per child, 64..TC_WORKERS_OUT_MAX */
    uint32_t tick_ms;    /* period of `tick`, 0: never */
    tc_workers_argv_fn argv_of;
    tc_workers_done_fn done;
    tc_workers_tick_fn tick;
    void *ctx;
} tc_workers_opts;

/* Runs jobs 0..count-1 as described above and returns when all are reported.
 * Codes: TC_EINVAL (opts out of range), TC_ENOMEM, TC_EFAILED (a pipe or fork failed: the jobs
 * not started are not reported), or the code argv_of returned. */
int tc_workers_run(const tc_workers_opts *opts, uint64_t count);

/* Path of the running executable (/proc/self/exe resolved), so children run the same binary
 * as their parent even when it was started through a relative path or $PATH. Codes: TC_EINVAL
 * (out too small), TC_ENOTFOUND (cannot be resolved). */
int tc_workers_self_exe(char *out, size_t out_size);

/* Online processors (at least 1): the default `jobs`. */
uint32_t tc_workers_nproc(void);

/* Monotonic wall time in ms: for timeouts and progress only, never for anything a run sees. */
uint64_t tc_workers_wall_ms(void);

#endif
