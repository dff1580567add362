/* The simulator's memo of tagged hashes (crypto.h, tc_hash_memo), shared by all nodes of a world.
 *
 * Every node of a simulation receives every validator's vote batch and hashes the same signed
 * bytes (BLAKE2b over every txid) to key its seen filter and check the signature: 64 nodes, 64
 * hashes of one string; and every node checks the same `fast` signatures, each one hash of the
 * key and the message (crypto.c). The memo keeps the hash of recent strings with a copy of their
 * bytes; a lookup finds its slot by a cheap digest and answers only when tag, length and every byte
 * equal the stored ones, so a forged or altered frame (an adversary's, a corrupted copy) never
 * gets another string's hash, and a node computes the same answer with or without the memo
 * (DESIGN.md: the core stays a pure state machine; the memo changes speed only).
 *
 * Memory is bounded twice: at most `capacity` entries (direct-mapped: a new string replaces the
 * one in its slot, deterministically), and at most `bytes_max` bytes of copies held in all; a
 * string that would exceed the budget is not kept. Not thread safe (one per world). */
#ifndef TC_SIM_HASHMEMO_H
#define TC_SIM_HASHMEMO_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

typedef struct tc_sim_memo tc_sim_memo;

typedef struct {
    uint64_t hits;
    uint64_t misses;
    uint64_t stores;    /* strings kept */
    uint64_t evictions; /* kept strings replaced by another in their slot */
    uint64_t refused;   /* strings not kept: over the byte budget */
    uint32_t entries;   /* held now, <= capacity */
    size_t bytes;       /* bytes of copies held now, <= bytes_max */
} tc_sim_memo_stats;

/* capacity is rounded up to a power of two (>= 16). NULL on allocation failure. */
tc_sim_memo *tc_sim_memo_new(uint32_t capacity, size_t bytes_max);
/* The digest that picks a string's slot and is compared before its bytes. */
typedef uint64_t (*tc_sim_memo_digest_fn)(const char *tag, const uint8_t *bytes, size_t len);
/* tc_sim_memo_new with another digest (NULL: the default): a test makes every string collide to
 * show that only equal bytes find an entry. */
tc_sim_memo *tc_sim_memo_new_digest(uint32_t capacity, size_t bytes_max,
                                    tc_sim_memo_digest_fn digest);
void tc_sim_memo_free(tc_sim_memo *m);
/* The interface the core takes (tc_node_config.hashes); valid while m lives. */
const tc_hash_memo *tc_sim_memo_iface(tc_sim_memo *m);
void tc_sim_memo_stats_get(const tc_sim_memo *m, tc_sim_memo_stats *out);

#endif
