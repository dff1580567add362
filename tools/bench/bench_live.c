/* bench_live.c — `tc-bench live` (bench_live.h). */
#include "bench_live.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TC_BENCH_SOURCE_DIR
#error "CMakeLists.txt defines TC_BENCH_SOURCE_DIR and TC_BENCH_BINARY_DIR"
#endif

#define ARGS_MAX 64

const char bench_live_options[] =
    "           [--rates 50,100,200,400] [--seconds 3] [--dir /dev/shm]\n"
    "           [--bin DIR] [--tc-bench PATH]   (default: this build's programs)\n"
    "           4 timed validators on loopback: finalized tx/s, finality p50/p99 at half the\n"
    "           saturating load, CPU per node, and the Ed25519 bound measured in the same run\n";

static bool has_option(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], name, strlen(name)) == 0)
            return true;
    return false;
}

int bench_live_main(int argc, char **argv)
{
    char *args[ARGS_MAX];
    int n = 0;
    if (argc > ARGS_MAX - 8) {
        fprintf(stderr, "tc-bench live: too many options\n");
        return 2;
    }
    args[n++] = "python3";
    args[n++] = TC_BENCH_SOURCE_DIR "/tools/bench/live_bench.py";
    if (!has_option(argc, argv, "--bin")) {
        args[n++] = "--bin";
        args[n++] = TC_BENCH_BINARY_DIR "/net-real";
    }
    if (!has_option(argc, argv, "--tc-bench")) {
        args[n++] = "--tc-bench";
        args[n++] = TC_BENCH_BINARY_DIR "/tc-bench";
    }
    for (int i = 1; i < argc; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "tc-bench live: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        execvp(args[0], args);
        fprintf(stderr, "tc-bench live: cannot run python3: %s\n", strerror(errno));
        _exit(1);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "tc-bench live: waitpid: %s\n", strerror(errno));
            return 1;
        }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
