/* bench_live.h — `tc-bench live`: the live benchmark, 4 `timed` validators on loopback under
 * open-loop load over JSON-RPC (tools/bench/live_bench.py does the work: it needs processes,
 * sockets and HTTP, which this C program leaves to the standard library of Python). tc-bench
 * runs it with this build's programs (--bin, --tc-bench) unless the caller names others, and
 * passes every other option through; its one JSON line is the benchmark's result.
 */
#ifndef TC_BENCH_LIVE_H
#define TC_BENCH_LIVE_H

/* Option lines for the usage text. */
extern const char bench_live_options[];

/* argv[0] is "live". Runs python3 live_bench.py; returns its exit code (0 success, 1 a
 * measurement failed, 2 bad usage), or 1 when python3 cannot be started. */
int bench_live_main(int argc, char **argv);

#endif
