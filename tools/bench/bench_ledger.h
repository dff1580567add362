/* bench_ledger.h — `tc-bench ledger`: transaction validation through the full ledger path
 * against raw Ed25519 verification (bench_verify.h), and block application on LMDB
 * (bench_blocks.h), reported as one JSON line on stdout.
 */
#ifndef TC_BENCH_LEDGER_H
#define TC_BENCH_LEDGER_H

/* Option lines for the usage text. */
extern const char bench_ledger_options[];

/* argv[0] is "ledger". Returns the exit code: 0 success, 1 a measurement failed, 2 bad usage. */
int bench_ledger_main(int argc, char **argv);

#endif
