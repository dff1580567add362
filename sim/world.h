/* world.h — one deterministic run of a scenario: a cluster of TimeCoin nodes (the real core,
 * sans-IO) wired through the simulated network, driven by one event queue on one virtual clock,
 * with the scenario's faults, Byzantine wrappers and wallet load, and the SIMULATOR.md checkers
 * after every event.
 *
 * What a world owns: a copy of the scenario; the genesis; every node, its store (memory, or
 * LMDB in a temporary folder removed by tc_world_free), its clock, its adversary; the network
 * model; the event queue and the frames in flight; the wallets and the table of submitted
 * transactions; the observations and violations; the trace fingerprint.
 *
 * Determinism (DESIGN.md): everything a run does is a function of the scenario and the seed.
 * No wall clock, no ambient randomness, no floating point, no address-ordered iteration reaches
 * the run; events at one millisecond keep their push order. Every input a node receives is one
 * line of the trace (docs/SIMULATOR.md, "Trace"); the fingerprint is BLAKE2b-256 over those
 * lines, so two runs with one scenario and seed have one fingerprint.
 *
 * Lifetimes: the scenario is copied by tc_world_new. Streams in the options are borrowed and
 * must outlive the world. Pointers in a tc_world_result point into the world and stay valid
 * until tc_world_free.
 */
#ifndef TC_WORLD_H
#define TC_WORLD_H

#include <stdio.h>

#include "base.h"
#include "crypto.h"
#include "node.h"
#include "scenario.h"

typedef struct tc_world tc_world;

typedef struct {
    uint64_t seed;     /* the run's seed */
    uint64_t until_ms; /* 0: the scenario's `run` */
    FILE *trace;       /* NULL: the trace is only hashed */
    FILE *timeline;    /* NULL: no readable account */
    FILE *progress;    /* NULL: quiet; else a line per simulated 10 s */
} tc_world_opts;

typedef struct {
    uint64_t time_ms;     /* simulated time since the start */
    uint32_t node, node2; /* endpoints, UINT32_MAX when none */
    uint64_t trace_line;  /* the trace line of the event that exposed it */
    char what[32];        /* the invariant: agreement, double-spend, ... */
    char detail[200];
} tc_world_violation;

typedef struct {
    bool pass;
    uint32_t line;   /* of the `expect` statement */
    char text[120];  /* the expectation as written, canonically */
    char value[400]; /* the value it checked */
} tc_world_expect;

typedef struct {
    char name[TC_SCN_NODE_NAME_MAX];
    bool up;
    bool honest;
    uint64_t height;
    uint64_t view_changes;
    uint64_t state_syncs;      /* caught up by a state snapshot (PROTOCOL 13.2) */
    uint64_t snapshot_refused; /* snapshot manifests or chunks it refused from peers */
    uint32_t validator;        /* index in the current set, UINT32_MAX if none or down */
    uint64_t bans;             /* bans imposed since the last (re)start; 0 when down */
    uint64_t quorum_lost;      /* TC_NOTIFY_QUORUM_LOST since the last (re)start */
    /* Its first sticky failure of the run (TC_NODE_FAIL_NONE: none), with the code, the cause
     * (static text) and the simulated time it was seen. */
    tc_node_failure_kind failure;
    int failure_code;
    const char *failure_cause;
    uint64_t failure_sim_ms;
} tc_world_node_info;

typedef struct {
    tc_hash fingerprint;
    uint64_t sim_ms;
    uint64_t events;
    uint64_t trace_lines;
    /* Frames delivered to nodes and their bytes; of those, refused as already seen. */
    uint64_t frames_delivered, frames_bytes;
    uint64_t frames_duplicate, frames_duplicate_bytes;
    uint32_t node_count;
    uint64_t view_changes; /* summed over honest nodes */
    uint64_t txs_submitted, txs_accepted, txs_finalized, txs_rejected;
    uint64_t finality_count; /* finalized uncontested transactions the quantiles cover */
    uint64_t finality_p50_ms, finality_p99_ms, finality_max_ms;
    uint64_t violation_count;
    const tc_world_violation *violations; /* the first ones */
    uint32_t violation_kept;
    const tc_world_expect *expects;
    uint32_t expect_count;
    bool fork, culprits_named;
    bool harness_failed; /* the harness itself broke a bound: message in harness_error */
    const char *harness_error;
    bool pass; /* no violation, every expectation held, the harness intact */
} tc_world_result;

/* Builds the world for scenario s: genesis, stores, nodes, connections, the timeline queued.
 * Codes: TC_ENOMEM; TC_EINVAL with err set when the scenario asks for something this world
 * cannot build (e.g. more genesis outputs than its bounds); store codes (LMDB folder). */
int tc_world_new(const tc_scn *s, const tc_world_opts *opts, tc_world **out, char *err,
                 size_t err_len);
/* Runs to the end time. 0, or a harness failure code (also in the result). */
int tc_world_run(tc_world *w);
/* Evaluates the expectations and fills *out (see lifetimes). Call once, after tc_world_run. */
void tc_world_result_get(tc_world *w, tc_world_result *out);
uint32_t tc_world_node_count(const tc_world *w);
void tc_world_node_info_get(const tc_world *w, uint32_t endpoint, tc_world_node_info *out);
/* Frees everything; an LMDB folder is removed. NULL is fine. */
void tc_world_free(tc_world *w);

#endif
