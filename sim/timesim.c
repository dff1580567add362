/* timesim.c — the simulator's command line: `run` (scenarios on the simulated cluster, see
 * run.h), `sweep` (sweep.h), `shrink` (shrink.h) and `ledger` (the ledger core end to end, see
 * ledger_job.h); `replay` comes later.
 *
 * Output contract (DESIGN.md): progress on stderr, the summary as one JSON line, last on stdout.
 * Exit codes: 0 every expectation held, 1 an expectation failed, 2 bad input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "jsonw.h"
#include "ledger_job.h"
#include "run.h"
#include "shrink.h"
#include "sweep.h"

static const char usage[] =
    "usage: timesim run FILE.scn|DIR... [--seed N] [--trace PATH] [--until T] [--timeline]\n"
    "                   [--junit PATH] [--jobs J] [--quiet]      (timesim run --help)\n"
    "       timesim sweep FILE.scn --seeds A..B [--jobs J] [--shard K/N] [--junit PATH]\n"
    "                   [--self-check N] [--timeout-s S]    (timesim sweep --help)\n"
    "       timesim shrink FILE.scn [--seed N] [--out PATH] [--max-runs R]  (--help)\n"
    "       timesim ledger [options]\n"
    "\n"
    "`ledger` runs the ledger core end to end on one seed: transfers (and deliberately bad\n"
    "ones, which must be rejected), masternode registration and retirement, equivocation\n"
    "evidence, blocks with certified commits and rewards, a restart from the store halfway, and\n"
    "integrity and supply checks. Same options, same fingerprint.\n"
    "\n"
    "options:\n"
    "  --seed N           seed of every random choice and key            (42)\n"
    "  --blocks N         blocks to commit                               (300)\n"
    "  --validators N     genesis masternodes, bronze                    (4)\n"
    "  --wallets N        funded wallets                                 (16)\n"
    "  --txs N            transfers submitted per block                  (20)\n"
    "  --epoch N          blocks per epoch                               (20)\n"
    "  --storage mem|lmdb in-memory store, or LMDB in a temporary folder (mem)\n"
    "  --crypto ed25519|fast  signature scheme (fast: simulator only)    (ed25519)\n"
    "  --no-restart       do not restart the node halfway\n"
    "  --out DIR          also write DIR/summary.json and DIR/blocks.csv\n"
    "  --quiet            no progress lines\n";

static int bad_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "timesim: %s%s%s\n\n%s", msg, arg ? ": " : "", arg ? arg : "", usage);
    return 2;
}

typedef struct {
    tc_ledger_job_opts job;
    const char *out_dir;
    bool quiet;
} cli;

static int parse_option(cli *c, const char *a, const char *v)
{
    tc_ledger_job_opts *o = &c->job;
    if (strcmp(a, "--seed") == 0)
        return tc_parse_u64(v, 0, UINT64_MAX, &o->seed) == 0 ? 0 : 1;
    if (strcmp(a, "--blocks") == 0)
        return tc_parse_u32(v, 1, 1000000, &o->blocks) == 0 ? 0 : 1;
    if (strcmp(a, "--validators") == 0)
        return tc_parse_u32(v, 1, 1000, &o->validators) == 0 ? 0 : 1;
    if (strcmp(a, "--wallets") == 0)
        return tc_parse_u32(v, 2, 100000, &o->wallets) == 0 ? 0 : 1;
    if (strcmp(a, "--txs") == 0)
        return tc_parse_u32(v, 0, 5000, &o->txs_per_block) == 0 ? 0 : 1;
    if (strcmp(a, "--epoch") == 0)
        return tc_parse_u32(v, 8, 1000000, &o->epoch_blocks) == 0 ? 0 : 1;
    if (strcmp(a, "--storage") == 0 && v != NULL && strcmp(v, "mem") == 0)
        o->lmdb = false;
    else if (strcmp(a, "--storage") == 0 && v != NULL && strcmp(v, "lmdb") == 0)
        o->lmdb = true;
    else if (strcmp(a, "--crypto") == 0 && v != NULL && strcmp(v, "ed25519") == 0)
        o->scheme = TC_SIG_ED25519;
    else if (strcmp(a, "--crypto") == 0 && v != NULL && strcmp(v, "fast") == 0)
        o->scheme = TC_SIG_FAST;
    else if (strcmp(a, "--out") == 0 && v != NULL)
        c->out_dir = v;
    else
        return 1;
    return 0;
}

static int parse_args(int argc, char **argv, cli *c)
{
    tc_ledger_job_defaults(&c->job);
    int i = 2;
    while (i < argc) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quiet") == 0) {
            c->quiet = true;
        } else if (strcmp(a, "--no-restart") == 0) {
            c->job.restart = false;
        } else if (strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            exit(0);
        } else if (strncmp(a, "--", 2) != 0 || parse_option(c, a, v) != 0) {
            return bad_usage("bad option or value", a);
        } else {
            i++; /* the option's value */
        }
        i++;
    }
    return 0;
}

static void hex(char *out, const tc_hash *h)
{
    tc_hex(out, h->b, TC_HASH_SIZE);
}

/* "rejected" {code name: count} for the codes that rejected something. */
static int put_rejections(json_t *o, const tc_ledger_job_result *r)
{
    json_t *rejected = json_object();
    int bad = 0;
    for (int i = 1; i < TC_JOB_CODES; i++) {
        if (r->rejected[i] == 0)
            continue;
        /* Codes without a name share "unknown error": their counts add up. */
        json_int_t had = json_integer_value(json_object_get(rejected, tc_strerror(-i)));
        bad |=
            tc_jsonw_set(rejected, tc_strerror(-i), tc_jsonw_u64((uint64_t)had + r->rejected[i]));
    }
    return bad | tc_jsonw_set(o, "rejected", rejected);
}

/* "supply" {genesis, rewards, burned, fees, utxo_total}. */
static int put_supply(json_t *o, const tc_ledger_job_result *r)
{
    json_t *supply = json_object();
    int bad = tc_jsonw_set(supply, "genesis", tc_jsonw_u64(r->genesis_supply));
    bad |= tc_jsonw_set(supply, "rewards", tc_jsonw_u64(r->rewards_total));
    bad |= tc_jsonw_set(supply, "burned", tc_jsonw_u64(r->burned_total));
    bad |= tc_jsonw_set(supply, "fees", tc_jsonw_u64(r->fees_total));
    bad |= tc_jsonw_set(supply, "utxo_total", tc_jsonw_u64(r->utxo_total));
    return bad | tc_jsonw_set(o, "supply", supply);
}

/* The summary line (keys and order are read by tests/programs/timesim_ledger.sh and users), or
 * NULL when memory ran out. */
static char *summary_line(const cli *c, const tc_ledger_job_result *r, long wall_ms)
{
    char fp[65], root[65];
    hex(fp, &r->fingerprint);
    hex(root, &r->utxo_root);
    json_t *o = json_object();
    int bad = tc_jsonw_set(o, "job", tc_jsonw_str("ledger"));
    bad |= tc_jsonw_set(o, "seed", tc_jsonw_u64(c->job.seed));
    bad |= tc_jsonw_set(o, "fingerprint", tc_jsonw_str(fp));
    bad |= tc_jsonw_set(o, "height", tc_jsonw_u64(r->height));
    bad |= tc_jsonw_set(o, "validators", json_integer(c->job.validators));
    bad |= tc_jsonw_set(o, "wallets", json_integer(c->job.wallets));
    bad |= tc_jsonw_set(o, "storage", tc_jsonw_str(c->job.lmdb ? "lmdb" : "mem"));
    bad |=
        tc_jsonw_set(o, "crypto", tc_jsonw_str(c->job.scheme == TC_SIG_FAST ? "fast" : "ed25519"));
    bad |= tc_jsonw_set(o, "txs_submitted", tc_jsonw_u64(r->txs_submitted));
    bad |= tc_jsonw_set(o, "txs_confirmed", tc_jsonw_u64(r->txs_confirmed));
    bad |= put_rejections(o, r);
    bad |= tc_jsonw_set(o, "registrations", json_integer(r->registrations));
    bad |= tc_jsonw_set(o, "retirements", json_integer(r->retirements));
    bad |= tc_jsonw_set(o, "evidence", json_integer(r->evidence));
    bad |= tc_jsonw_set(o, "restarts", json_integer(r->restarts));
    bad |= put_supply(o, r);
    bad |= tc_jsonw_set(o, "utxo_count", tc_jsonw_u64(r->utxo_count));
    bad |= tc_jsonw_set(o, "utxo_root", tc_jsonw_str(root));
    bad |= tc_jsonw_set(o, "wall_ms", json_integer(wall_ms));
    bad |= tc_jsonw_set(o, "failures", json_integer(r->failures));
    bad |= tc_jsonw_set(o, "verdict", tc_jsonw_str(r->failures ? "fail" : "pass"));
    if (r->failures)
        bad |= tc_jsonw_set(o, "first_failure", tc_jsonw_str(r->failure));
    char *line = bad == 0 ? tc_jsonw_line(o) : NULL;
    json_decref(o);
    return line;
}

static FILE *open_out(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        fprintf(stderr, "timesim: %s: %s\n", path, strerror(errno));
    return f;
}

/* mkdir -p for the output folder. */
static bool make_dirs(const char *dir)
{
    char path[4096];
    if (strlen(dir) >= sizeof(path))
        return false;
    strcpy(path, dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return false;
        *p = '/';
    }
    return mkdir(path, 0755) == 0 || errno == EEXIST;
}

static void print_replay(const cli *c)
{
    fprintf(stderr,
            "timesim: replay with: timesim ledger --seed %llu --blocks %u --validators %u "
            "--wallets %u --txs %u --epoch %u --storage %s --crypto %s%s\n",
            (unsigned long long)c->job.seed, c->job.blocks, c->job.validators, c->job.wallets,
            c->job.txs_per_block, c->job.epoch_blocks, c->job.lmdb ? "lmdb" : "mem",
            c->job.scheme == TC_SIG_FAST ? "fast" : "ed25519",
            c->job.restart ? "" : " --no-restart");
}

static int cmd_ledger(int argc, char **argv)
{
    cli c = {0};
    int rc = parse_args(argc, argv, &c);
    if (rc != 0)
        return rc;
    FILE *csv = NULL;
    if (c.out_dir != NULL) {
        if (!make_dirs(c.out_dir)) {
            fprintf(stderr, "timesim: %s: %s\n", c.out_dir, strerror(errno));
            return 2;
        }
        if ((csv = open_out(c.out_dir, "blocks.csv")) == NULL)
            return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0); /* wall time for the summary only, never the run */
    tc_ledger_job_result r;
    rc = tc_ledger_job_run(&c.job, c.quiet ? NULL : stderr, csv, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long wall_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    if (csv != NULL)
        fclose(csv);
    if (rc != 0) {
        fprintf(stderr, "timesim: %s\n", r.failure);
        return 2;
    }
    char *line = summary_line(&c, &r, wall_ms);
    if (line == NULL) {
        fprintf(stderr, "timesim: out of memory writing the summary\n");
        return 2;
    }
    if (c.out_dir != NULL) {
        FILE *f = open_out(c.out_dir, "summary.json");
        if (f != NULL) {
            fputs(line, f);
            fclose(f);
        }
    }
    if (r.failures) {
        fprintf(stderr, "timesim: FAILED: %u expectation(s); first: %s\n", r.failures, r.failure);
        print_replay(&c);
    }
    fputs(line, stdout);
    free(line);
    return r.failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (tc_crypto_init() != 0) {
        fprintf(stderr, "timesim: libsodium failed to initialise\n");
        return 2;
    }
    if (argc >= 2 && strcmp(argv[1], "ledger") == 0)
        return cmd_ledger(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return tc_sim_run_main(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "sweep") == 0)
        return tc_sweep_main(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "shrink") == 0)
        return tc_shrink_main(argc, argv);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    return bad_usage(argc < 2 ? "missing subcommand" : "unknown subcommand",
                     argc < 2 ? NULL : argv[1]);
}
