/* bench_ledger.c — see bench_ledger.h. */
#include "bench_ledger.h"

#include <stdio.h>
#include <string.h>

#include "bench_blocks.h"
#include "bench_util.h"
#include "bench_verify.h"

const char bench_ledger_options[] =
    "    --txs N      transactions validated per round                  (2000)\n"
    "    --rounds R   interleaved rounds of ledger path vs raw verify    (5)\n"
    "    --seed S     seed of every key and transaction                 (1)\n"
    "    --blocks B   LMDB blocks of 1000 transfers applied, <= 99       (5)\n";

typedef struct {
    uint32_t txs, rounds, blocks;
    uint64_t seed;
} ledger_opts;

/* 0 parsed, 1 bad usage, 2 help asked. */
static int parse(int argc, char **argv, ledger_opts *o)
{
    *o = (ledger_opts){.txs = 2000, .rounds = 5, .blocks = 5, .seed = 1};
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 2;
        else if (strcmp(a, "--txs") == 0)
            ok = tc_parse_u32(v, 1, BENCH_TXS_MAX, &o->txs) == 0;
        else if (strcmp(a, "--rounds") == 0)
            ok = tc_parse_u32(v, 1, BENCH_ROUNDS_MAX, &o->rounds) == 0;
        else if (strcmp(a, "--blocks") == 0)
            ok = tc_parse_u32(v, 1, BENCH_BLOCKS_MAX, &o->blocks) == 0;
        else if (strcmp(a, "--seed") == 0)
            ok = tc_parse_u64(v, 0, UINT64_MAX, &o->seed) == 0;
        else
            ok = false;
        if (!ok) {
            fprintf(stderr, "tc-bench ledger: bad option or value: %s%s%s\n", a, v ? " " : "",
                    v ? v : "");
            return 1;
        }
    }
    if ((uint64_t)o->txs * o->rounds > BENCH_TXS_MAX) {
        fprintf(stderr, "tc-bench ledger: txs x rounds exceeds %u\n", BENCH_TXS_MAX);
        return 1;
    }
    return 0;
}

static json_t *rounds_array(const double *v, uint32_t n)
{
    json_t *a = json_array();
    TC_ASSERT(a != NULL);
    for (uint32_t i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

static void add_verify(json_t *o, const bench_verify_result *v)
{
    uint32_t n = v->rounds;
    double ratios[BENCH_ROUNDS_MAX];
    for (uint32_t r = 0; r < n; r++)
        ratios[r] = v->ledger_tx_per_s[r] / v->ed25519_verify_per_s[r];
    double ledger = bench_max(v->ledger_tx_per_s, n), raw = bench_max(v->ed25519_verify_per_s, n);
    json_object_set_new(o, "ledger_tx_per_s", json_real(ledger));
    json_object_set_new(o, "ed25519_verify_per_s", json_real(raw));
    json_object_set_new(o, "verify_ratio", json_real(ledger / raw));
    json_object_set_new(o, "verify_ratio_median", json_real(bench_median(ratios, n)));
    json_object_set_new(o, "ledger_tx_per_s_rounds", rounds_array(v->ledger_tx_per_s, n));
    json_object_set_new(o, "ed25519_verify_per_s_rounds", rounds_array(v->ed25519_verify_per_s, n));
    json_object_set_new(o, "cache_hits", json_integer((json_int_t)v->cache_hits));
    json_object_set_new(o, "cache_misses", json_integer((json_int_t)v->cache_misses));
    json_object_set_new(o, "cache_evictions", json_integer((json_int_t)v->cache_evictions));
}

static void add_blocks(json_t *o, const bench_blocks_result *b)
{
    TC_ASSERT(b->blocks > 0 && b->apply_s_total > 0);
    double mean_s = b->apply_s_total / b->blocks;
    json_object_set_new(o, "lmdb_blocks", json_integer(b->blocks));
    json_object_set_new(o, "lmdb_block_txs", json_integer(b->block_txs));
    json_object_set_new(o, "lmdb_blocks_per_s", json_real(1.0 / mean_s));
    json_object_set_new(o, "lmdb_block_ms", json_real(mean_s * 1e3));
    json_object_set_new(o, "lmdb_block_ms_best", json_real(b->apply_s_best * 1e3));
    json_object_set_new(o, "tx_per_s_in_blocks", json_real(b->block_txs / mean_s));
    json_object_set_new(o, "lmdb_cache_hits", json_integer((json_int_t)b->cache_hits));
    json_object_set_new(o, "lmdb_cache_misses", json_integer((json_int_t)b->cache_misses));
}

int bench_ledger_main(int argc, char **argv)
{
    ledger_opts o;
    int p = parse(argc, argv, &o);
    if (p != 0) {
        fprintf(p == 2 ? stdout : stderr, "usage: tc-bench ledger [options]\n%s",
                bench_ledger_options);
        return p == 2 ? 0 : 2;
    }
    static bench_verify_result v; /* static: per-round arrays are too large for a tidy stack */
    bench_blocks_result b;
    int rc = bench_verify_run(o.seed, o.txs, o.rounds, &v);
    if (rc == 0)
        rc = bench_blocks_run(o.seed, o.blocks, &b);
    if (rc != 0) {
        fprintf(stderr, "tc-bench ledger: failed: %s\n", tc_strerror(rc));
        return 1;
    }
    json_t *out = json_object();
    TC_ASSERT(out != NULL);
    json_object_set_new(out, "bench", json_string("ledger"));
    json_object_set_new(out, "txs", json_integer(o.txs));
    json_object_set_new(out, "rounds", json_integer(o.rounds));
    json_object_set_new(out, "seed", json_integer((json_int_t)o.seed));
    add_verify(out, &v);
    add_blocks(out, &b);
    bench_add_machine(out);
    return bench_print_line(out);
}
