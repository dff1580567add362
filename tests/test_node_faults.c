/* test_node_faults.c — SQLite's fault loops over a running node (STYLE rules 18, 23): a world of
 * four validators with 4-block epochs under a small load of transfers (double spends included),
 * where one node's store fails its Nth write, or its Nth allocation fails, for every N the run
 * reaches (densely, then with a stride). Whatever N, the node either goes on (its height keeps
 * up with the others) or stops in its sticky, typed failure (node.h): store for the store loop,
 * memory or store for the allocation loop (the in-memory store allocates too). It never aborts,
 * never raises a fork alarm, and nothing crashes or leaks under ASan; the healthy nodes keep
 * agreeing. A failed node is then freed (a crash), its store passes the chain's integrity check,
 * and a node created again on it recovers and catches up with the others. A third loop fails
 * the Nth allocation of a restart (tc_node_new, handshakes, sync); a record that fails its
 * checksum is corruption, never a fork. TC_FAULT_FROM=N starts the loops at N, to replay one.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain.h"
#include "genesis.h"
#include "node.h"
#include "support.h"
#include "tx.h"
#include "utxo.h"

#define NODES        4
#define VICTIM       1
#define WALLETS      6
#define LATENCY_MS   5
#define HEIGHTS_MAX  64
#define EVENTS_MAX   20000
#define EPOCH_BLOCKS 4     /* epoch 0 closes at height 3: runs cross a handoff and an epoch */
#define RUN_HEIGHT   5     /* the healthy nodes' height a faulted run ends at */
#define CATCH_UP     2     /* heights past the others' a recovered node must reach */
#define SPAN_MS      60000 /* simulated time one phase may take */
#define START_MS     (1767225600000ull + 1000)

typedef struct {
    uint64_t time_ms, seq;
    uint32_t from, to;
    uint8_t *frame; /* owned */
    size_t len;
} event;

typedef struct {
    tc_genesis genesis; /* shared by every run: made once */
    uint8_t master[TC_SEED_SIZE];
    tc_verify_cache *cache;
    tc_store *stores[NODES];
    tc_node *nodes[NODES];
    uint32_t starts[NODES];
    uint64_t now_ms, seq;
    event *heap; /* a min-heap on (time_ms, seq) */
    uint32_t event_count;
    bool alloc_faults; /* count (and fail) allocations inside the victim's calls only */
    /* Observations. */
    tc_hash committed[NODES][HEIGHTS_MAX];
    uint64_t heights[NODES];
    uint32_t forks[NODES];
    uint32_t failed_notes[NODES];
    tc_notify failed_note[NODES];
} world;

static world W; /* one world at a time; the genesis and the cache live across runs */

/* ---- the event heap ---- */

static bool before(const event *a, const event *b)
{
    return a->time_ms < b->time_ms || (a->time_ms == b->time_ms && a->seq < b->seq);
}

static void heap_push(world *w, const event *e)
{
    cr_assert_lt(w->event_count, EVENTS_MAX, "the queue is bounded");
    uint32_t i = w->event_count++;
    while (i > 0 && before(e, &w->heap[(i - 1) / 2])) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = *e;
}

static event heap_pop(world *w)
{
    event top = w->heap[0], last = w->heap[--w->event_count];
    uint32_t i = 0;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= w->event_count)
            break;
        if (c + 1 < w->event_count && before(&w->heap[c + 1], &w->heap[c]))
            c++;
        if (!before(&w->heap[c], &last))
            break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (w->event_count > 0)
        w->heap[i] = last;
    return top;
}

/* ---- calls into nodes: the victim's allocations are the ones counted ---- */

static void observe(world *w, uint32_t i, const tc_notify *n)
{
    if (n->kind == TC_NOTIFY_BLOCK_COMMITTED && n->height < HEIGHTS_MAX) {
        w->committed[i][n->height] = n->hash;
        if (n->height > w->heights[i])
            w->heights[i] = n->height;
    } else if (n->kind == TC_NOTIFY_FORK) {
        w->forks[i]++;
    } else if (n->kind == TC_NOTIFY_FAILED) {
        w->failed_notes[i]++;
        w->failed_note[i] = *n;
    }
}

static void drain(world *w, uint32_t i)
{
    tc_action a;
    tc_peer_id closed[NODES];
    uint32_t closed_count = 0;
    while (tc_node_next_action(w->nodes[i], &a)) {
        if (a.kind == TC_ACTION_SEND && a.peer < NODES && w->nodes[a.peer] != NULL) {
            event e = {.time_ms = w->now_ms + LATENCY_MS,
                       .seq = w->seq++,
                       .from = i,
                       .to = a.peer,
                       .len = a.frame_len};
            e.frame = malloc(a.frame_len);
            cr_assert_not_null(e.frame);
            memcpy(e.frame, a.frame, a.frame_len);
            heap_push(w, &e);
        } else if (a.kind == TC_ACTION_DISCONNECT && closed_count < NODES) {
            closed[closed_count++] = a.peer;
        } else if (a.kind == TC_ACTION_NOTIFY) {
            observe(w, i, &a.notify);
        }
    }
    for (uint32_t k = 0; k < closed_count; k++) {
        tc_node_peer_down(w->nodes[i], w->now_ms, closed[k]);
        drain(w, i);
    }
}

/* Brackets a call into node i: only the victim's calls count allocations. */
static void enter(const world *w, uint32_t i)
{
    if (w->alloc_faults && i == VICTIM)
        (void)tc_alloc_faults_active(true);
}

static void leave(world *w, uint32_t i)
{
    (void)tc_alloc_faults_active(false);
    drain(w, i);
}

/* Creates node i on its store (inside the victim's counted calls when it is the victim). */
static int node_try_start(world *w, uint32_t i)
{
    tc_node_config c = {.genesis = &w->genesis, .scheme = TC_SIG_FAST, .listen_port = 24100};
    uint8_t rs[32];
    tc_seed_derive(c.identity_seed, w->master, "validator", i);
    tc_seed_derive(rs, w->master, "node-rng", i + 1000u * w->starts[i]++);
    memcpy(c.rng_seed, rs, sizeof(rs));
    enter(w, i);
    int rc = tc_node_new(&c, w->stores[i], w->cache, w->now_ms, &w->nodes[i]);
    (void)tc_alloc_faults_active(false);
    cr_assert_eq(rc != 0, w->nodes[i] == NULL, "a node exactly when tc_node_new succeeds");
    if (rc == 0)
        drain(w, i);
    return rc;
}

static void node_start(world *w, uint32_t i)
{
    int rc = node_try_start(w, i);
    cr_assert_eq(rc, 0, "node %u starts on its store: %s", i, tc_strerror(rc));
}

static void link_up(world *w, uint32_t i, uint32_t j)
{
    char addr[32];
    snprintf(addr, sizeof(addr), "10.0.0.%u:24100", j + 1);
    enter(w, i);
    tc_node_peer_up(w->nodes[i], w->now_ms, j, addr, false);
    leave(w, i);
    snprintf(addr, sizeof(addr), "10.0.0.%u:24100", i + 1);
    enter(w, j);
    tc_node_peer_up(w->nodes[j], w->now_ms, i, addr, true);
    leave(w, j);
}

static void world_open(world *w)
{
    w->now_ms = START_MS;
    w->heap = calloc(EVENTS_MAX, sizeof(*w->heap));
    cr_assert_not_null(w->heap);
    for (uint32_t i = 0; i < NODES; i++) {
        w->stores[i] = tc_store_mem_new();
        cr_assert_not_null(w->stores[i]);
        node_start(w, i);
    }
    for (uint32_t i = 0; i < NODES; i++)
        for (uint32_t j = i + 1; j < NODES; j++)
            link_up(w, i, j);
}

static void world_close(world *w)
{
    tc_alloc_faults_set(NULL);
    while (w->event_count > 0)
        free(heap_pop(w).frame);
    free(w->heap);
    for (uint32_t i = 0; i < NODES; i++) {
        tc_node_free(w->nodes[i]);
        tc_store_close(w->stores[i]);
    }
    tc_genesis g = w->genesis;
    tc_verify_cache *cache = w->cache;
    uint8_t master[TC_SEED_SIZE];
    memcpy(master, w->master, sizeof(master));
    memset(w, 0, sizeof(*w));
    w->genesis = g;
    w->cache = cache;
    memcpy(w->master, master, sizeof(master));
}

/* ---- load ---- */

/* Wallet j pays itself from its genesis coin; rival != 0 makes a double spend of the same coin
 * (another amount). Submitted to node `to`. */
static void submit_transfer(world *w, uint32_t j, uint64_t rival, uint32_t to)
{
    tc_keypair kp;
    tc_hash gh;
    tc_tx tx;
    tc_addr_hash self;
    uint64_t amount = w->genesis.outputs[j].amount, fee = 0;
    cr_assert_eq(tc_genesis_key(w->master, "wallet", j, &kp), 0);
    tc_genesis_hash(&w->genesis, &gh);
    tc_addr_from_pubkey(&kp.pub, &self);
    cr_assert_eq(tc_tx_min_fee(&w->genesis.profile, amount, &fee), 0);
    tc_outpoint prev = {.txid = gh, .index = j};
    uint64_t pay = (10 + rival) * TC_UNITS_PER_TIME;
    cr_assert_eq(ts_tx_transfer(&tx, TC_SIG_FAST, &kp, &prev, amount, &self, pay, fee), 0);
    uint8_t *bytes = NULL;
    size_t len = 0;
    cr_assert_eq(tc_tx_encode_alloc(&tx, &bytes, &len), 0);
    enter(w, to);
    (void)tc_node_submit_tx(w->nodes[to], w->now_ms, bytes, len); /* any admission code */
    leave(w, to);
    free(bytes);
    tc_tx_deinit(&tx);
}

/* The load of one run: at heights 1, 2 and 3 two wallets pay, one of them also through a rival
 * spend to another node (a double spend: one of the two is final, the other refused). */
static void load_at(world *w, uint64_t height, bool *done)
{
    if (height < 1 || height > 3 || done[height])
        return;
    done[height] = true;
    uint32_t a = (uint32_t)(height - 1) * 2, b = a + 1;
    submit_transfer(w, a, 0, VICTIM);
    submit_transfer(w, b, 0, (b + 1) % NODES);
    submit_transfer(w, b, 1, VICTIM);
}

/* ---- running ---- */

static uint64_t healthy_min_height(const world *w, bool include_victim)
{
    uint64_t m = UINT64_MAX;
    for (uint32_t i = 0; i < NODES; i++)
        if ((i != VICTIM || include_victim) && w->heights[i] < m)
            m = w->heights[i];
    return m;
}

/* Runs until every node but the victim (and the victim too when `all`) reached height, or
 * the clock passed until_ms. */
static void run_until(world *w, uint64_t height, bool all, uint64_t until_ms, bool *load)
{
    while (healthy_min_height(w, all) < height && w->now_ms <= until_ms) {
        if (load != NULL)
            load_at(w, w->heights[0] + 1, load);
        uint64_t next = UINT64_MAX;
        uint32_t who = NODES;
        for (uint32_t i = 0; i < NODES; i++) {
            if (w->nodes[i] == NULL)
                continue; /* dead */
            uint64_t d = tc_node_next_deadline(w->nodes[i]);
            if (d < next) {
                next = d;
                who = i;
            }
        }
        if (w->event_count > 0 && w->heap[0].time_ms <= next) {
            event e = heap_pop(w);
            if (e.time_ms > w->now_ms)
                w->now_ms = e.time_ms;
            if (w->nodes[e.to] == NULL) {
                free(e.frame);
                continue;
            }
            enter(w, e.to);
            tc_node_recv(w->nodes[e.to], w->now_ms, e.from, e.frame, e.len);
            leave(w, e.to);
            free(e.frame);
        } else {
            cr_assert_lt(who, NODES, "a node always has a deadline");
            if (next > w->now_ms)
                w->now_ms = next;
            enter(w, who);
            tc_node_tick(w->nodes[who], w->now_ms);
            leave(w, who);
        }
    }
}

/* Blocks committed at one height are one block. A height a node never announced (its hash all
 * zero: it failed after applying the block, before the notification, and recovered past it)
 * is not compared; its successors name it as their parent. */
static void assert_agreement(const world *w, uint64_t nth)
{
    static const tc_hash zero;
    for (uint64_t h = 1; h < HEIGHTS_MAX; h++) {
        for (uint32_t i = 1; i < NODES; i++) {
            if (w->heights[0] < h || w->heights[i] < h ||
                memcmp(w->committed[i][h].b, zero.b, TC_HASH_SIZE) == 0)
                continue;
            cr_assert_arr_eq(w->committed[0][h].b, w->committed[i][h].b, TC_HASH_SIZE,
                             "N=%llu: node %u committed another block than node 0 at height %llu",
                             (unsigned long long)nth, i, (unsigned long long)h);
        }
    }
}

/* The victim's store after it died: the chain opens on it and passes the full integrity check
 * (UTXO root and total recomputed, supply balanced). */
static void assert_store_integrity(world *w, uint32_t i)
{
    tc_chain *chain = NULL;
    tc_verifier v = {.scheme = TC_SIG_FAST, .cache = w->cache};
    int rc = tc_chain_open(w->stores[i], &w->genesis, &v, &chain);
    cr_assert_eq(rc, 0, "the chain opens on node %u's store: %s", i, tc_strerror(rc));
    rc = tc_chain_verify_integrity(chain);
    cr_assert_eq(rc, 0, "node %u's store passes the integrity check: %s", i, tc_strerror(rc));
    tc_chain_free(chain);
}

/* Frames in flight to or from a dead victim are lost with its connections. */
static void drop_victim_frames(world *w)
{
    event *kept = calloc(w->event_count + 1, sizeof(*kept));
    cr_assert_not_null(kept);
    uint32_t count = 0;
    while (w->event_count > 0) {
        event e = heap_pop(w);
        if (e.from == VICTIM || e.to == VICTIM)
            free(e.frame);
        else
            kept[count++] = e;
    }
    for (uint32_t k = 0; k < count; k++)
        heap_push(w, &kept[k]);
    free(kept);
}

/* The victim dies (freed without warning): its connections close and its store passes the
 * integrity check. */
static void kill_victim(world *w)
{
    tc_node_free(w->nodes[VICTIM]);
    w->nodes[VICTIM] = NULL;
    tc_store_mem_crash(w->stores[VICTIM]); /* a transaction left open is lost */
    drop_victim_frames(w);
    for (uint32_t j = 0; j < NODES; j++) {
        if (j == VICTIM)
            continue;
        tc_node_peer_down(w->nodes[j], w->now_ms, VICTIM); /* its connections closed */
        drain(w, j);
    }
    assert_store_integrity(w, VICTIM);
    memset(w->committed[VICTIM], 0, sizeof(w->committed[VICTIM]));
}

/* The victim, created again on its store, dials the others and runs until it is CATCH_UP heights
 * past where they stood (or the span ends); 0, or tc_node_new's code. */
static int rejoin_victim(world *w)
{
    int rc = node_try_start(w, VICTIM);
    if (rc != 0)
        return rc;
    tc_node_status st;
    tc_node_status_get(w->nodes[VICTIM], &st);
    w->heights[VICTIM] = st.height; /* recovered from its store */
    for (uint32_t j = 0; j < NODES; j++)
        if (j != VICTIM)
            link_up(w, VICTIM, j);
    uint64_t target = healthy_min_height(w, false) + CATCH_UP;
    run_until(w, target, true, w->now_ms + SPAN_MS, NULL);
    return 0;
}

/* The victim died: its store is checked, a node is created again on it, rejoins, and catches up
 * CATCH_UP heights past where the others stood. */
static void restart_victim(world *w)
{
    kill_victim(w);
    uint64_t target = healthy_min_height(w, false) + CATCH_UP;
    cr_assert_eq(rejoin_victim(w), 0);
    tc_node_status st;
    tc_node_status_get(w->nodes[VICTIM], &st);
    cr_assert_not(st.failed, "the restarted node is healthy: %s", st.failure_cause);
    cr_assert_geq(st.height, target, "the restarted node caught up to %llu: %llu",
                  (unsigned long long)target, (unsigned long long)st.height);
}

#define CAUSES_MAX 32

typedef struct {
    uint32_t failed, progressed;
    uint32_t by_kind[TC_NODE_FAIL_FORK + 1];
    const char *causes[CAUSES_MAX]; /* the distinct failure causes seen */
    uint32_t cause_count;
} loop_stats;

static void cause_add(loop_stats *st, const char *cause)
{
    for (uint32_t k = 0; k < st->cause_count; k++)
        if (strcmp(st->causes[k], cause) == 0)
            return;
    cr_assert_lt(st->cause_count, CAUSES_MAX);
    st->causes[st->cause_count++] = cause;
}

static bool cause_seen(const loop_stats *st, const char *cause)
{
    for (uint32_t k = 0; k < st->cause_count; k++)
        if (strcmp(st->causes[k], cause) == 0)
            return true;
    return false;
}

/* One run: the fault is armed on the victim once the world is up, the load runs to RUN_HEIGHT,
 * then the victim is judged (and restarted if it failed). Returns the faults that fired. */
static uint64_t one_run(uint64_t nth, bool alloc, loop_stats *stats)
{
    world *w = &W;
    bool load[4] = {false};
    world_open(w);
    uint64_t writes_before = tc_store_mem_write_count(w->stores[VICTIM]);
    if (alloc) {
        tc_alloc_faults f = {.fail_nth = nth};
        tc_alloc_faults_set(&f);
        w->alloc_faults = true;
    } else {
        tc_store_mem_faults f = {.fail_nth_write = nth};
        tc_store_mem_set_faults(w->stores[VICTIM], &f);
    }
    run_until(w, RUN_HEIGHT, false, w->now_ms + SPAN_MS, load);
    uint64_t fired = alloc ? tc_alloc_failed_count()
                           : nth <= tc_store_mem_write_count(w->stores[VICTIM]) - writes_before;
    w->alloc_faults = false;
    tc_alloc_faults_set(NULL);
    tc_store_mem_faults none = {0};
    tc_store_mem_set_faults(w->stores[VICTIM], &none);

    for (uint32_t i = 0; i < NODES && healthy_min_height(w, false) < RUN_HEIGHT; i++) {
        tc_node_status x;
        tc_node_status_get(w->nodes[i], &x);
        fprintf(stderr, "node %u: height %llu round %u failed %s %s (%s)\n", i,
                (unsigned long long)x.height, x.round, tc_node_failure_name(x.failure),
                x.failure_cause, tc_strerror(x.failure_code));
    }
    cr_assert_geq(healthy_min_height(w, false), RUN_HEIGHT,
                  "N=%llu: the others went on (heights %llu %llu %llu %llu)",
                  (unsigned long long)nth, (unsigned long long)w->heights[0],
                  (unsigned long long)w->heights[1], (unsigned long long)w->heights[2],
                  (unsigned long long)w->heights[3]);
    for (uint32_t i = 0; i < NODES; i++)
        cr_assert_eq(w->forks[i], 0, "N=%llu: node %u raised no fork alarm",
                     (unsigned long long)nth, i);
    tc_node_status st;
    tc_node_status_get(w->nodes[VICTIM], &st);
    if (st.failed) {
        cr_assert(st.failure == TC_NODE_FAIL_STORE || (alloc && st.failure == TC_NODE_FAIL_MEMORY),
                  "N=%llu: the victim failed as %s (%s: %s)", (unsigned long long)nth,
                  tc_node_failure_name(st.failure), st.failure_cause, tc_strerror(st.failure_code));
        cr_assert_eq(w->failed_notes[VICTIM], 1, "N=%llu: one FAILED notification, not %u",
                     (unsigned long long)nth, w->failed_notes[VICTIM]);
        cr_assert_eq(w->failed_note[VICTIM].cause, (uint32_t)st.failure);
        cr_assert_eq(w->failed_note[VICTIM].code, st.failure_code);
        cr_assert_str_eq(w->failed_note[VICTIM].text, st.failure_cause);
        cr_assert_eq(tc_node_tick(w->nodes[VICTIM], w->now_ms), TC_EFAILED,
                     "a failed node refuses work");
        drain(w, VICTIM);
        stats->failed++;
        stats->by_kind[st.failure]++;
        cause_add(stats, st.failure_cause);
        restart_victim(w);
    } else {
        cr_assert_eq(w->failed_notes[VICTIM], 0);
        cr_assert_geq(st.height, RUN_HEIGHT - 1, "N=%llu: the healthy victim kept up: %llu",
                      (unsigned long long)nth, (unsigned long long)st.height);
        stats->progressed++;
    }
    assert_agreement(w, nth);
    world_close(w);
    return fired;
}

static void world_setup(void)
{
    cr_assert_eq(tc_crypto_init(), 0);
    tc_seed_from_u64(W.master, 77);
    cr_assert_eq(tc_genesis_create(&W.genesis, TC_NET_TESTNET, W.master, NODES, NULL, WALLETS,
                                   1000000 * TC_UNITS_PER_TIME, START_MS - 1000),
                 0);
    cr_assert_eq(tc_profile_set(&W.genesis.profile, "epoch_blocks", EPOCH_BLOCKS), 0);
    cr_assert_eq(tc_genesis_check(&W.genesis, NULL, 0), 0, "the overridden genesis checks");
    W.cache = tc_verify_cache_new(1 << 14, TS_CACHE_KEY);
    cr_assert_not_null(W.cache);
}

static void world_teardown(void)
{
    world_close(&W);
    tc_verify_cache_free(W.cache);
    tc_genesis_deinit(&W.genesis);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Every N in 1..dense, then every stride-th up to the first N that no longer fires (the run
 * did fewer writes or allocations than N); that one must exist below limit. */
static void fault_loop(bool alloc, uint64_t dense, uint64_t stride, uint64_t limit)
{
    loop_stats stats = {0};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* TC_FAULT_FROM=N starts at N: the way to replay the run a failure names. */
    const char *from = getenv("TC_FAULT_FROM");
    uint64_t nth = from != NULL ? strtoull(from, NULL, 10) : 1, runs = 0;
    for (; nth < limit; nth += nth < dense ? 1 : stride) {
        runs++;
        if (one_run(nth, alloc, &stats) == 0)
            break;
    }
    cr_assert_lt(nth, limit, "a run ends with fewer than %llu %s", (unsigned long long)limit,
                 alloc ? "allocations" : "writes");
    fprintf(stderr,
            "%s loop: %llu runs, N = 1..%llu (stride %llu past %llu): %u failed (store %u, memory "
            "%u), %u went on; %.1f s\n",
            alloc ? "allocation" : "store write", (unsigned long long)runs, (unsigned long long)nth,
            (unsigned long long)stride, (unsigned long long)dense, stats.failed,
            stats.by_kind[TC_NODE_FAIL_STORE], stats.by_kind[TC_NODE_FAIL_MEMORY], stats.progressed,
            seconds_since(&t0));
    cr_assert_gt(stats.failed, 0, "some N stopped the node");
    /* The load reaches the node's main durable steps: a loop that stopped reaching them would
     * test less than it says. */
    static const char *const steps[] = {"apply a committed block", "persist the last-signed vote",
                                        "admit a transaction", "take a vote batch"};
    for (size_t k = 0; k < TC_ARRAY_LEN(steps) && !alloc; k++)
        cr_assert(cause_seen(&stats, steps[k]), "some N failed the node in \"%s\"", steps[k]);
    for (uint32_t k = 0; k < stats.cause_count; k++)
        fprintf(stderr, "  cause: %s\n", stats.causes[k]);
}

TestSuite(node_faults, .init = world_setup, .fini = world_teardown, .timeout = 600);

Test(node_faults, the_nth_store_write_fails)
{
    fault_loop(false, 300, 37, 100000);
}

Test(node_faults, the_nth_allocation_fails)
{
    fault_loop(true, 300, 23, 10000000);
}

/* A record of its own state that fails its checksum stops the node as corruption (never as a fork
 * alarm): the UTXO set's META, which the next block's check or application reads first. The
 * others go on without it. */
Test(node_faults, a_corrupt_record_is_a_corruption_failure_not_a_fork)
{
    world *w = &W;
    world_open(w);
    run_until(w, 2, true, w->now_ms + SPAN_MS, NULL);
    int rc = tc_store_mem_corrupt(w->stores[VICTIM], TC_TABLE_META, TC_UTXO_META_KEY,
                                  strlen(TC_UTXO_META_KEY));
    cr_assert_eq(rc, 0, "the record exists");
    run_until(w, 5, false, w->now_ms + SPAN_MS, NULL);
    cr_assert_geq(healthy_min_height(w, false), 5, "the others went on");
    tc_node_status st;
    tc_node_status_get(w->nodes[VICTIM], &st);
    cr_assert(st.failed, "the victim stopped");
    cr_assert_eq(st.failure, TC_NODE_FAIL_CORRUPTION, "as corruption, not %s",
                 tc_node_failure_name(st.failure));
    cr_assert_eq(st.failure_code, TC_ESTORE_CORRUPT, "code %s", tc_strerror(st.failure_code));
    cr_assert_not(st.fork, "no fork alarm");
    cr_assert_eq(st.failure_height, 2, "at its height 2: %llu",
                 (unsigned long long)st.failure_height);
    cr_assert_eq(w->failed_notes[VICTIM], 1, "one FAILED notification");
    for (uint32_t i = 0; i < NODES; i++)
        cr_assert_eq(w->forks[i], 0, "node %u raised no fork alarm", i);
    cr_assert_eq(tc_node_submit_tx(w->nodes[VICTIM], w->now_ms, (const uint8_t *)"x", 1),
                 TC_EFAILED, "a failed node refuses transactions");
    cr_assert_eq(tc_node_tick(w->nodes[VICTIM], w->now_ms), TC_EFAILED);
    drain(w, VICTIM);
    cr_assert_eq(w->failed_notes[VICTIM], 1, "still one FAILED notification");
    assert_agreement(w, 0);
    world_close(w);
}

/* The Nth allocation of a restart fails: in tc_node_new (which then returns TC_ENOMEM, having
 * freed what it took: LeakSanitizer checks under ASan), in the handshakes or in the sync that
 * catches the node up. Then the node either caught up or reports its memory failure, and a
 * clean restart on the same store recovers. */
static uint64_t one_restart(uint64_t nth, loop_stats *stats)
{
    world *w = &W;
    world_open(w);
    run_until(w, 2, true, w->now_ms + SPAN_MS, NULL);
    kill_victim(w);
    run_until(w, 4, false, w->now_ms + SPAN_MS, NULL); /* the others move on: sync has work */
    uint64_t target = healthy_min_height(w, false) + CATCH_UP;
    tc_alloc_faults f = {.fail_nth = nth};
    tc_alloc_faults_set(&f);
    w->alloc_faults = true;
    int rc = rejoin_victim(w);
    uint64_t fired = tc_alloc_failed_count();
    w->alloc_faults = false;
    tc_alloc_faults_set(NULL);
    for (uint32_t i = 0; i < NODES; i++)
        cr_assert_eq(w->forks[i], 0, "N=%llu: node %u raised no fork alarm",
                     (unsigned long long)nth, i);
    if (rc != 0) {
        cr_assert_eq(rc, TC_ENOMEM, "N=%llu: tc_node_new: %s", (unsigned long long)nth,
                     tc_strerror(rc));
        stats->failed++;
        stats->by_kind[TC_NODE_FAIL_MEMORY]++;
        cause_add(stats, "tc_node_new");
        cr_assert_eq(rejoin_victim(w), 0, "a clean start recovers");
    } else {
        tc_node_status st;
        tc_node_status_get(w->nodes[VICTIM], &st);
        if (st.failed) {
            cr_assert(st.failure == TC_NODE_FAIL_MEMORY || st.failure == TC_NODE_FAIL_STORE,
                      "N=%llu: the victim failed as %s (%s)", (unsigned long long)nth,
                      tc_node_failure_name(st.failure), st.failure_cause);
            stats->failed++;
            stats->by_kind[st.failure]++;
            cause_add(stats, st.failure_cause);
            restart_victim(w);
        } else {
            cr_assert_geq(st.height, target, "N=%llu: the victim caught up to %llu: %llu",
                          (unsigned long long)nth, (unsigned long long)target,
                          (unsigned long long)st.height);
            stats->progressed++;
        }
    }
    tc_node_status st;
    tc_node_status_get(w->nodes[VICTIM], &st);
    cr_assert_not(st.failed);
    cr_assert_geq(st.height, target);
    assert_agreement(w, nth);
    world_close(w);
    return fired;
}

Test(node_faults, the_nth_allocation_of_a_restart_and_sync_fails)
{
    loop_stats stats = {0};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t nth = 1, runs = 0;
    for (; nth < 10000000; nth += nth < 100 ? 1 : 7) {
        runs++;
        if (one_restart(nth, &stats) == 0)
            break;
    }
    fprintf(stderr,
            "restart allocation loop: %llu runs, N = 1..%llu (stride 7 past 100): %u failed "
            "(memory %u, store %u), %u went on; %.1f s\n",
            (unsigned long long)runs, (unsigned long long)nth, stats.failed,
            stats.by_kind[TC_NODE_FAIL_MEMORY], stats.by_kind[TC_NODE_FAIL_STORE], stats.progressed,
            seconds_since(&t0));
    for (uint32_t k = 0; k < stats.cause_count; k++)
        fprintf(stderr, "  cause: %s\n", stats.causes[k]);
    cr_assert(cause_seen(&stats, "tc_node_new"), "some N failed tc_node_new");
    cr_assert_gt(stats.progressed, 0, "some N the node absorbed");
}
