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

static void print_rejections(FILE *f, const tc_ledger_job_result *r)
{
    bool first = true;
    fputc('{', f);
    for (int i = 1; i < TC_JOB_CODES; i++) {
        if (r->rejected[i] == 0)
            continue;
        fprintf(f, "%s\"%s\":%llu", first ? "" : ",", tc_strerror(-i),
                (unsigned long long)r->rejected[i]);
        first = false;
    }
    fputc('}', f);
}

static void print_summary(FILE *f, const cli *c, const tc_ledger_job_result *r, long wall_ms)
{
    char fp[65], root[65];
    hex(fp, &r->fingerprint);
    hex(root, &r->utxo_root);
    fprintf(f,
            "{\"job\":\"ledger\",\"seed\":%llu,\"fingerprint\":\"%s\",\"height\":%llu,"
            "\"validators\":%u,\"wallets\":%u,\"storage\":\"%s\",\"crypto\":\"%s\","
            "\"txs_submitted\":%llu,\"txs_confirmed\":%llu,\"rejected\":",
            (unsigned long long)c->job.seed, fp, (unsigned long long)r->height, c->job.validators,
            c->job.wallets, c->job.lmdb ? "lmdb" : "mem",
            c->job.scheme == TC_SIG_FAST ? "fast" : "ed25519", (unsigned long long)r->txs_submitted,
            (unsigned long long)r->txs_confirmed);
    print_rejections(f, r);
    fprintf(f,
            ",\"registrations\":%u,\"retirements\":%u,\"evidence\":%u,\"restarts\":%u,"
            "\"supply\":{\"genesis\":%llu,\"rewards\":%llu,\"burned\":%llu,\"fees\":%llu,"
            "\"utxo_total\":%llu},\"utxo_count\":%llu,\"utxo_root\":\"%s\",\"wall_ms\":%ld,"
            "\"failures\":%u,\"verdict\":\"%s\"",
            r->registrations, r->retirements, r->evidence, r->restarts,
            (unsigned long long)r->genesis_supply, (unsigned long long)r->rewards_total,
            (unsigned long long)r->burned_total, (unsigned long long)r->fees_total,
            (unsigned long long)r->utxo_total, (unsigned long long)r->utxo_count, root, wall_ms,
            r->failures, r->failures ? "fail" : "pass");
    if (r->failures)
        fprintf(f, ",\"first_failure\":\"%s\"", r->failure);
    fputs("}\n", f);
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
    if (c.out_dir != NULL) {
        FILE *f = open_out(c.out_dir, "summary.json");
        if (f != NULL) {
            print_summary(f, &c, &r, wall_ms);
            fclose(f);
        }
    }
    if (r.failures) {
        fprintf(stderr, "timesim: FAILED: %u expectation(s); first: %s\n", r.failures, r.failure);
        print_replay(&c);
    }
    print_summary(stdout, &c, &r, wall_ms);
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
