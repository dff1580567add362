/* chaos.h — chaos mode (`chaos faults N heal-by T`): turns a fault budget and a seed into an
 * explicit fault schedule, appended to the scenario's timeline as ordinary events, so a chaos
 * run replays, prints (tc_scn_write: plain `at` lines) and shrinks like a hand-written one.
 *
 * What a schedule holds (drawn from tc_rng seeded by H("chaos", seed), integer math only), by
 * kind (`chaos ... kinds K...` limits the draw to some; relative weights in chaos.c):
 *   - crash:       crash nX ... restart nX, 100 ms .. 10 s later (half of them within 1 s)
 *   - lose-writes: crash nX lose-writes ... restart nX, the same
 *   - pause:       pause nX D, D 100 ms .. 10 s (half of them within 1 s)
 *   - partition:   partition M | rest ... heal
 *   - one-way:     partition M -> rest ... heal (M's messages to the rest are lost)
 *   - link:        link nX nY OPTIONS ... link nX nY RESTORED (both ways, or one way `->`):
 *                  a flap, loss with duplication, and/or a slow reordering line; the second
 *                  event puts the setup's values of the changed fields back
 *   - clock:       clock nX jump +J ... clock nX jump -J    (the second jump undoes the first)
 *   - byzantine:   byzantine nX BEHAVIOUR (permanent): a validator any behaviour but twin, a
 *                  full node one that needs no vote (silent, invalid-sig, replay, garbage,
 *                  flood); floods at TC_CHAOS_FLOOD_MIN_PER_S .. TC_CHAOS_FLOOD_MAX_PER_S
 * Partitions, clock jumps and link faults last 500 ms .. a quarter of the fault window.
 *
 * The budget, kept at every instant of the run (W: weight of the genesis validators; W+: that
 * plus every validator the timeline registers; Q = floor(2 W+ / 3) + 1; honest: validators
 * never Byzantine, neither in the setup (twins' originals included) nor by a timeline turn):
 *   1. Byzantine weight, declared and drawn, stays below a third: 3 * byzantine < W.
 *   2. Unavailable honest weight (crashed, paused, clock-jumped, on the minority side of a
 *      partition, or the drawn end of a link fault, each counted until TC_CHAOS_RECOVER_MS
 *      after it ends) never exceeds
 *      honest - Q: the honest validators that are up and connected always hold a quorum. The
 *      timeline's own crashes (until their restart, or for good), pauses and clock jumps
 *      (for good when the jump reaches block_time_future_max_ms) are counted too; its own
 *      partitions are its author's to size. Registered validators count as unavailable
 *      throughout, which only makes the budget stricter.
 *   3. A node has at most one fault at a time (chaos or explicit; both ends of a link fault
 *      count); chaos crashes, pauses, clock jumps and link faults avoid nodes the timeline
 *      already crashes, restarts, pauses, jumps or re-links, so
 *      crash and restart still alternate; chaos draws no partition when the timeline has one
 *      (a chaos `heal` would end it), and at most one chaos partition is in force at a time.
 *   4. Every drawn fault starts at or after heal_by / 10 (the cluster forms first) and ends at
 *      or before heal_by (restart, heal, resume, jump back, link restored). Byzantine turns
 *      never end.
 * A draw that would break the budget is drawn again, at most TC_CHAOS_TRIES times, then
 * skipped: a tight budget yields fewer faults than asked (tc_chaos_stats says how many).
 *
 * heal_by is the scenario's `heal-by`, or the end of the run when it has none (scenario.h).
 * The liveness phase: when the scenario states no `expect liveness`, one is added,
 * `expect liveness within R after heal`, R = run end - max(heal_by, end of the last fault),
 * if R is at least TC_CHAOS_LIVENESS_MIN_MS (otherwise there is no room and none is added).
 * R does not depend on the seed: every seed of a scenario states the same expectation. The
 * window starts where the world starts it, at the end of the last fault, so it always closes
 * within the run.
 *
 * After expansion the scenario's chaos statement is cleared (chaos_faults = chaos_heal_by_ms =
 * chaos_kinds = 0): the schedule is now explicit, and expanding again, or running the written text,
 * draws nothing more. Same scenario + same seed = same schedule, on any platform.
 */
#ifndef TC_CHAOS_H
#define TC_CHAOS_H

#include "scenario.h"

#define TC_CHAOS_TRIES            16   /* draws per fault before it is skipped */
#define TC_CHAOS_RECOVER_MS       5000 /* a fault's node counts as unavailable this long after */
#define TC_CHAOS_LIVENESS_MIN_MS  5000 /* shortest liveness phase worth expecting */
#define TC_CHAOS_FAULT_MIN_MS     500  /* shortest partition, clock jump or link fault */
#define TC_CHAOS_DOWN_MIN_MS      100  /* a crash's restart: this long after it at the soonest */
#define TC_CHAOS_DOWN_MAX_MS      10000
#define TC_CHAOS_PAUSE_MIN_MS     100
#define TC_CHAOS_PAUSE_MAX_MS     10000
#define TC_CHAOS_FLOOD_MIN_PER_S  100
#define TC_CHAOS_FLOOD_MAX_PER_S  500
#define TC_CHAOS_EVENTS_PER_FAULT 2 /* a fault is one or two timeline events */

_Static_assert((uint64_t)TC_SCN_FAULTS_MAX *TC_CHAOS_EVENTS_PER_FAULT <= TC_SCN_EVENTS_MAX,
               "a full chaos budget fits the timeline");

typedef struct {
    uint32_t asked; /* chaos_faults of the scenario */
    uint32_t drawn; /* faults that fitted the budget */
    uint32_t crashes, partitions, pauses, clock_jumps, byzantine, links;
    uint32_t lose_writes; /* of crashes */
    uint32_t one_way;     /* of partitions */
    uint32_t events;      /* timeline events added */
    bool liveness_added;
    uint64_t heal_by_ms;
    uint64_t weight_total;     /* W */
    uint64_t quorum;           /* Q (of W+) */
    uint64_t weight_byzantine; /* declared + drawn */
} tc_chaos_stats;

/* Expands s's chaos statement with the run's seed, as described above; no-op (0) when s has
 * none. Call it on the parsed scenario before building the world. On failure s is unchanged and
 * err (err_len > 0) says why. Codes: TC_EFULL (the timeline or the node lists would exceed
 * TC_SCN_EVENTS_MAX / TC_SCN_MEMBERS_MAX), TC_ENOMEM. */
int tc_chaos_expand(tc_scn *s, uint64_t seed, char *err, size_t err_len);
/* The same; *stats (may be NULL) describes what was drawn. */
int tc_chaos_expand_stats(tc_scn *s, uint64_t seed, tc_chaos_stats *stats, char *err,
                          size_t err_len);

#endif
