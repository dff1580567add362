/* bench_util.h — what every tc-bench subcommand shares: the clock, statistics over rounds,
 * option parsing and the machine description that goes into each result line.
 *
 * The benchmarks are drivers, not core code, so they may read the clock and /proc; the core
 * they measure still gets no clock from them.
 */
#ifndef TC_BENCH_UTIL_H
#define TC_BENCH_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "profile.h"
#include "tx.h"

/* Seconds on CLOCK_MONOTONIC: immune to wall-clock steps during a run. */
double bench_now_s(void);

/* Median of n > 0 values (sorts a copy; v is left alone). */
double bench_median(const double *v, size_t n);
/* Largest of n > 0 values. */
double bench_max(const double *v, size_t n);

/* A 32-byte master seed for a benchmark: H(tc/seed, label || u64 seed LE), so each part of a
 * run draws its keys from its own stream and the same --seed replays the same inputs. */
void bench_master_seed(uint8_t out[TC_SEED_SIZE], const char *label, uint64_t seed);

/* Builds and signs with kp a transfer that spends op (worth amount units, owned by kp) into two
 * outputs: amount / 4 to `to` and the change back to kp's address, paying exactly the minimum
 * fee of p, i.e. the shape of an ordinary payment. *txid_out gets its id. tx must be deinit'ed
 * by the caller. 0 or TC_ENOMEM. */
int bench_make_transfer(tc_tx *tx, const tc_profile *p, const tc_outpoint *op, uint64_t amount,
                        const tc_keypair *kp, const tc_addr_hash *to, tc_hash *txid_out);

/* Adds "machine": {"nproc", "cpu"} and "libsodium" to obj. The CPU model is the first
 * "model name" of /proc/cpuinfo, "unknown" when it cannot be read. */
void bench_add_machine(json_t *obj);

/* Prints obj as one JSON line on stdout (reals with 6 significant digits) and frees it.
 * Returns 0, or 1 when it could not be written. */
int bench_print_line(json_t *obj);

/* The verification caches' key in benchmarks: any fixed 16 bytes (nothing attacks them). */
#define BENCH_CACHE_KEY ((const uint8_t *)"bench cache key!")

#endif
