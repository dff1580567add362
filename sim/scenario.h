/* scenario.h — the scenario language v1 (`.scn`): parser, data model, canonical writer.
 *
 * docs/SCENARIOS.md is the reference of the language; this header is the reference of the data
 * model. A parsed scenario (tc_scn) is plain data the simulator reads: the setup, the timeline
 * (events sorted by time; events at one time keep their file order), the run length and the
 * expectations. The parser owns nothing after it returns: the tc_scn owns its arrays, released
 * by tc_scn_free.
 *
 * Invariants of a tc_scn that tc_scn_parse_* returned 0 for:
 *   - node_count >= 1, run_ms >= 1, and every node it names exists where it is named:
 *     validators n0..n{node_count-1}, validators registered by the timeline (n{node_count},
 *     n{node_count+1}, ... in time order; usable in events after their registration and in
 *     expectations), fullnodes f0..f{fullnode_count-1}, and twins nKb for each `byzantine nK
 *     twin` of the setup;
 *   - events[] is sorted by at_ms, ties in file order, and every at_ms <= run_ms;
 *   - crash and restart alternate per node, starting from "running";
 *   - every member span lies inside members[];
 *   - profile == defaults of `network` with `overrides` applied (sorted by field, one per field).
 * No floating point anywhere: durations are integer milliseconds, percentages integer parts per
 * million (1% = 10000 ppm), drift integer ppm (determinism rule 3).
 *
 * Equality (tc_scn_equal) is semantic: source positions (the line/column fields) are ignored;
 * everything else, including the order of the setup lists, counts. tc_scn_write prints the
 * canonical text of a scenario, and parse(write(s)) equals s — the shrinker relies on it.
 */
#ifndef TC_SCENARIO_H
#define TC_SCENARIO_H

#include <stdio.h>

#include "base.h"
#include "netmodel.h"
#include "profile.h"

/* Bounds: a scenario beyond them is an error, never a silent truncation. */
#define TC_SCN_NAME_MAX        200         /* bytes of the `scenario` name */
#define TC_SCN_NODES_MAX       1024        /* validators + registered + fullnodes + twins */
#define TC_SCN_EVENTS_MAX      100000      /* timeline events */
#define TC_SCN_EXPECTS_MAX     1000        /* expectations */
#define TC_SCN_LINKS_MAX       100000      /* `link` statements */
#define TC_SCN_MEMBERS_MAX     1000000     /* node mentions in all node lists together */
#define TC_SCN_TOKENS_MAX      4096        /* words on one line */
#define TC_SCN_TEXT_MAX        (16u << 20) /* bytes of a scenario text */
#define TC_SCN_DURATION_MAX_MS 2592000000u /* 30 days: times, durations, offsets, jumps */
#define TC_SCN_RATE_MAX        1000000u    /* per second: load and flood rates */
#define TC_SCN_CLIENTS_MAX     65536u
#define TC_SCN_FAULTS_MAX      10000u   /* chaos fault budget */
#define TC_SCN_DRIFT_MAX_PPM   100000   /* |drift| at most 10% */
#define TC_SCN_PPM             1000000u /* 100% */

_Static_assert(TC_SCN_NODES_MAX <= TC_NET_ENDPOINTS_MAX, "every node is a network endpoint");

/* A node name. Validators (initial and registered) are nK, fullnodes fK, twins nKb (the second
 * core of validator nK). The struct has no padding: equal nodes are equal bytes. */
typedef enum {
    TC_SCN_VALIDATOR = 0,
    TC_SCN_FULLNODE = 1,
    TC_SCN_TWIN = 2,
} tc_scn_node_kind;

typedef struct {
    uint32_t kind; /* tc_scn_node_kind */
    uint32_t index;
} tc_scn_node;

#define TC_SCN_NODE_NAME_MAX 16 /* "n1023b" and its NUL fit */

/* A mention of a node in a list. group: the partition group (0, 1, ...; a one-way partition's
 * senders are group 0 and receivers group 1), 0 in every other list. */
typedef struct {
    tc_scn_node node;
    uint32_t group;
    uint32_t line, column; /* source position, 0 when built by code */
} tc_scn_member;

/* A range of tc_scn.members. */
typedef struct {
    uint32_t first;
    uint32_t count;
} tc_scn_span;

typedef enum {
    TC_SCN_BYZ_EQUIVOCATE = 1,  /* as proposer, proposes two different blocks */
    TC_SCN_BYZ_DOUBLE_VOTE = 2, /* votes for two different values in one round */
    TC_SCN_BYZ_SILENT = 3,      /* withholds its votes and proposals */
    TC_SCN_BYZ_INVALID_SIG = 4, /* its votes carry invalid signatures */
    TC_SCN_BYZ_REPLAY = 5,      /* replays old messages */
    TC_SCN_BYZ_GARBAGE = 6,     /* sends malformed frames */
    TC_SCN_BYZ_FLOOD = 7,       /* floods its peers at flood_per_s messages per second */
    TC_SCN_BYZ_TWIN = 8,        /* a second honest core shares its key (setup only) */
    /* Rule breakers, 9 ..: tc_adv_kind TC_ADV_OUT_OF_TURN .. in the same order (sim/faults.c;
     * docs/SCENARIOS.md has their names). */
    TC_SCN_BYZ_BREAKER_FIRST = 9,
    TC_SCN_BYZ_EQUIVOCATE_BATCH = 29,   /* a breaker that signs batches: a validator only */
    TC_SCN_BYZ_EQUIVOCATE_HANDOFF = 30, /* a breaker that signs handoffs: a validator only */
    TC_SCN_BYZ_BREAKER_LAST = 31,       /* 31: snapshot-corrupt */
} tc_scn_byz_kind;

/* Setup statements that name one node. */
typedef struct {
    tc_scn_node node;
    uint32_t tier; /* tc_tier */
    uint32_t line, column;
} tc_scn_tier_set;

typedef struct {
    tc_scn_node node;
    int64_t offset_ms; /* local = global + offset_ms + global * drift_ppm / 10^6 */
    int32_t drift_ppm;
    uint32_t line, column;
} tc_scn_clock;

typedef struct {
    tc_scn_node node;
    uint32_t kind;        /* tc_scn_byz_kind */
    uint32_t flood_per_s; /* TC_SCN_BYZ_FLOOD only, else 0 */
    uint32_t line, column;
} tc_scn_byz;

/* Which tc_net_link fields a `link` statement overrides. */
enum {
    TC_SCN_LINK_LATENCY = 1u << 0,
    TC_SCN_LINK_JITTER = 1u << 1,
    TC_SCN_LINK_LOSS = 1u << 2,
    TC_SCN_LINK_DUP = 1u << 3,
    TC_SCN_LINK_REORDER = 1u << 4,
    TC_SCN_LINK_BANDWIDTH = 1u << 5,
    TC_SCN_LINK_FLAP = 1u << 6,
};

/* `link a b ...` (both directions) or `link a -> b ...` (oneway). Statements apply in file
 * order over the `network` defaults; each overrides only the fields in mask. */
typedef struct {
    tc_scn_node a, b;
    bool oneway;
    uint32_t mask;
    tc_net_link params;              /* fields outside mask are zero */
    uint32_t line, column, column_b; /* columns of a and b */
} tc_scn_link;

typedef struct {
    uint32_t field; /* index in tc_profile_each order */
    uint64_t value;
    uint32_t line, column;
} tc_scn_override;

typedef enum {
    TC_SCN_EV_CRASH = 1,      /* node; lose_writes */
    TC_SCN_EV_RESTART = 2,    /* node */
    TC_SCN_EV_PARTITION = 3,  /* members (groups), oneway */
    TC_SCN_EV_HEAL = 4,       /* - */
    TC_SCN_EV_PAUSE = 5,      /* node, duration_ms */
    TC_SCN_EV_CLOCK_JUMP = 6, /* node, jump_ms */
    TC_SCN_EV_BYZANTINE = 7,  /* node, byz, flood_per_s */
    TC_SCN_EV_REGISTER = 8,   /* node (a new validator), tier */
    TC_SCN_EV_LOAD = 9,       /* rate_per_s */
    TC_SCN_EV_LINK = 10,      /* node, peer, oneway, link_mask, link: a link's parameters change */
} tc_scn_event_kind;

typedef struct {
    uint64_t at_ms;
    uint32_t kind; /* tc_scn_event_kind; fields the kind does not use are zero */
    tc_scn_node node;
    bool lose_writes;
    bool oneway;
    uint64_t duration_ms;
    int64_t jump_ms;
    uint32_t byz; /* tc_scn_byz_kind, never TWIN */
    uint32_t flood_per_s;
    uint32_t tier;
    uint32_t rate_per_s;
    tc_scn_span members;
    tc_scn_node peer;      /* LINK: the other end (node -> peer, and back unless oneway) */
    uint32_t link_mask;    /* LINK: TC_SCN_LINK_* of the fields that change */
    tc_net_link link;      /* LINK: the new values (fields outside link_mask are zero) */
    uint32_t line, column; /* of the `at` statement and its time */
    uint32_t node_column;  /* of the node name */
    uint32_t peer_column;  /* LINK: of the peer's name */
} tc_scn_event;

typedef enum {
    TC_SCN_EXP_SAFETY = 1,           /* every invariant of SIMULATOR.md, Checkers, held */
    TC_SCN_EXP_FORK = 2,             /* a fork happened, was detected, forensics ran */
    TC_SCN_EXP_CULPRITS = 3,         /* members: exactly the validators forensics names */
    TC_SCN_EXP_HEIGHT = 4,           /* cmp value, members (empty: every honest node) */
    TC_SCN_EXP_VIEW_CHANGES = 5,     /* cmp value: view changes summed over honest nodes */
    TC_SCN_EXP_FINALITY = 6,         /* quantile_ppm, value (ms): latency <= value */
    TC_SCN_EXP_LIVENESS = 7,         /* within_ms after after_ms (or after the last heal) */
    TC_SCN_EXP_BANNED = 8,           /* node banned by every one of members */
    TC_SCN_EXP_CLOCK_STOPS = 9,      /* cmp value: clock stops summed over honest nodes */
    TC_SCN_EXP_ONLINE = 10,          /* node online, at the end, for every one of members */
    TC_SCN_EXP_OFFLINE = 11,         /* node not online, at the end, for every one of members */
    TC_SCN_EXP_BURNED = 12,          /* members: validators burned by evidence on every honest
                                        running node's chain */
    TC_SCN_EXP_STATE_SYNC = 13,      /* members: each caught up by a state snapshot at least once */
    TC_SCN_EXP_FINAL_CONFIRMED = 14, /* within_ms: every transaction final at an honest node
                                        more than within_ms before the end is in a block */
    TC_SCN_EXP_CARRIED_RESERVED = 15, /* no honest validator votes, in an epoch, for a load
                                         transaction spending an outpoint of another one the
                                         previous epoch carried into it */
} tc_scn_expect_kind;

typedef enum { TC_SCN_GE = 1, TC_SCN_LE = 2, TC_SCN_EQ = 3 } tc_scn_cmp;

typedef struct {
    uint32_t kind; /* tc_scn_expect_kind; fields the kind does not use are zero */
    uint32_t cmp;  /* tc_scn_cmp: HEIGHT, VIEW_CHANGES, CLOCK_STOPS; LE for FINALITY */
    uint64_t value;
    uint32_t quantile_ppm; /* FINALITY: p50 = 500000, p99 = 990000, max = 1000000 */
    bool after_heal;       /* LIVENESS: measured from the end of the last fault */
    uint64_t within_ms;    /* LIVENESS */
    uint64_t after_ms;     /* LIVENESS when !after_heal */
    tc_scn_node node;      /* BANNED: the banned node; ONLINE, OFFLINE: the masternode */
    tc_scn_span members;
    uint32_t line, column; /* of the `expect` statement and its kind */
    uint32_t node_column;  /* BANNED, ONLINE, OFFLINE: of that node */
} tc_scn_expect;

/* Fault kinds chaos may draw (`chaos ... kinds K...`; chaos.h says what each one is). */
enum {
    TC_SCN_CHAOS_CRASH = 1u << 0,       /* crash, restart 100 ms .. 10 s later */
    TC_SCN_CHAOS_LOSE_WRITES = 1u << 1, /* the same with `lose-writes` */
    TC_SCN_CHAOS_PAUSE = 1u << 2,       /* stop-the-world 100 ms .. 10 s */
    TC_SCN_CHAOS_PARTITION = 1u << 3,   /* symmetric split, then heal */
    TC_SCN_CHAOS_ONE_WAY = 1u << 4,     /* one-way cut, then heal */
    TC_SCN_CHAOS_LINK = 1u << 5,        /* a link flaps or degrades, then is restored */
    TC_SCN_CHAOS_CLOCK = 1u << 6,       /* clock jump, then the jump back */
    TC_SCN_CHAOS_BYZANTINE = 1u << 7,   /* a permanent Byzantine turn */
    TC_SCN_CHAOS_ALL = (1u << 8) - 1,
};

typedef enum { TC_SCN_STORAGE_MEM = 0, TC_SCN_STORAGE_LMDB = 1 } tc_scn_storage;
typedef enum { TC_SCN_CRYPTO_ED25519 = 0, TC_SCN_CRYPTO_FAST = 1 } tc_scn_crypto;

typedef struct {
    char name[TC_SCN_NAME_MAX + 1]; /* "" when the scenario has none */
    uint64_t seed;                  /* default 1 */
    uint32_t network;               /* tc_network */
    tc_scn_override *overrides;
    uint32_t override_count;
    tc_profile profile; /* derived; see invariants */

    uint32_t node_count;     /* initial validators */
    uint32_t fullnode_count; /* default 0 */
    tc_net_link net;         /* `network`; default tc_net_link_defaults */
    uint32_t storage;        /* tc_scn_storage */
    uint32_t crypto;         /* tc_scn_crypto */
    uint32_t load_per_s;     /* default 0: no workload */
    uint32_t load_clients;   /* default 16 */
    uint32_t double_spend_ppm;
    uint32_t chaos_faults;     /* 0: no chaos */
    uint64_t chaos_heal_by_ms; /* 0: the run's end */
    uint32_t chaos_kinds;      /* TC_SCN_CHAOS_* chaos may draw; 0 (the default): all of them */

    tc_scn_tier_set *tiers; /* validators not listed are bronze */
    uint32_t tier_count;
    tc_scn_link *links;
    uint32_t link_count;
    tc_scn_clock *clocks; /* nodes not listed: offset 0, drift 0 */
    uint32_t clock_count;
    tc_scn_byz *byz; /* Byzantine from the start (twins included) */
    uint32_t byz_count;

    tc_scn_event *events;
    uint32_t event_count;
    uint64_t run_ms;
    tc_scn_expect *expects;
    uint32_t expect_count;

    tc_scn_member *members;
    uint32_t member_count;
} tc_scn;

/* Parses scenario text (len bytes, need not be NUL-terminated); name prefixes error messages.
 * On success *out owns its arrays (tc_scn_free). On failure *out is zeroed and owns nothing, and
 * err (err_len > 0) holds "name:line:column: expected ..., got ..." (truncated to fit).
 * Codes: TC_EINVAL (the text is not a valid scenario), TC_ENOMEM. */
int tc_scn_parse_text(const char *name, const char *text, size_t len, tc_scn *out, char *err,
                      size_t err_len);
/* tc_scn_parse_text on a file's contents, named by path. Adds TC_ENOTFOUND (cannot open or
 * read the file: err says why) and TC_ETOOLONG (over TC_SCN_TEXT_MAX bytes). */
int tc_scn_parse_file(const char *path, tc_scn *out, char *err, size_t err_len);
/* Releases what s owns and zeroes it. NULL and a zeroed s are fine. */
void tc_scn_free(tc_scn *s);
/* Deep copy into *dst (which owns nothing yet). Codes: TC_ENOMEM (dst zeroed). */
int tc_scn_copy(tc_scn *dst, const tc_scn *src);

/* Writes the canonical text of s (setup, timeline, run, expectations; defaults left out).
 * Codes: TC_EINVAL when the stream reports an error (ferror). */
int tc_scn_write(FILE *f, const tc_scn *s);
/* Semantic equality (source positions ignored). */
bool tc_scn_equal(const tc_scn *a, const tc_scn *b);

/* "n3", "f0", "n2b". */
void tc_scn_node_name(tc_scn_node node, char out[TC_SCN_NODE_NAME_MAX]);
bool tc_scn_node_equal(tc_scn_node a, tc_scn_node b);

/* Every node of the run as one dense range of network endpoints: validators n0.. (initial,
 * then registered, in registration order), then fullnodes f0.., then twins by base index. */
uint32_t tc_scn_endpoint_count(const tc_scn *s);
/* Endpoint of a node; TC_ENOTFOUND if the scenario has no such node. */
int tc_scn_endpoint(const tc_scn *s, tc_scn_node node, uint32_t *out);
/* Node of an endpoint (< tc_scn_endpoint_count). */
tc_scn_node tc_scn_endpoint_node(const tc_scn *s, uint32_t endpoint);
/* The parameters of the directed link from -> to: `network`, then every `link` statement that
 * covers it, in file order. */
void tc_scn_link_params(const tc_scn *s, tc_scn_node from, tc_scn_node to, tc_net_link *out);
/* Tier of validator node (bronze unless a `tier` or `register` says otherwise). */
uint32_t tc_scn_tier(const tc_scn *s, tc_scn_node node);

#endif
