/* tc_bench.c — the `tc-bench` command line: a table of benchmark subcommands, each printing one
 * JSON line on stdout (progress on stderr). Exit codes: 0 success, 1 a measurement failed,
 * 2 bad usage.
 *
 * Adding a benchmark is one row in `commands` plus its own bench_<name>.c/.h pair.
 */
#include <stdio.h>
#include <string.h>

#include "bench_ledger.h"
#include "bench_live.h"
#include "bench_sim.h"
#include "crypto.h"

typedef struct {
    const char *name;
    const char *summary;
    const char *options;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
} command;

static const command commands[] = {
    {"ledger",
     "transaction validations/s through the ledger path vs raw Ed25519 verify; LMDB blocks/s",
     bench_ledger_options, bench_ledger_main},
    {"sim", "simulator speed: simulated vs wall and CPU time, 4-256 validators, cost exponent",
     bench_sim_options, bench_sim_main},
    {"live", "the live node: 4 timed on loopback, finalized tx/s, finality p50/p99, CPU, bound",
     bench_live_options, bench_live_main},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tc-bench <command> [options]\n"
               "       tc-bench --help\n\n"
               "Prints one JSON line per run on stdout; progress goes to stderr.\n\n"
               "commands:\n");
    for (size_t i = 0; i < TC_ARRAY_LEN(commands); i++)
        fprintf(f, "  %-8s %s\n%s\n", commands[i].name, commands[i].summary, commands[i].options);
}

int main(int argc, char **argv)
{
    if (tc_crypto_init() != 0) {
        fprintf(stderr, "tc-bench: libsodium failed to initialise\n");
        return 1;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < TC_ARRAY_LEN(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "tc-bench: unknown command: %s\n\n", argv[1]);
    usage(stderr);
    return 2;
}
