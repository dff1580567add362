/* verify_pool.h — signature checks of incoming frames, done by libuv's worker threads before
 * the core sees the frames (issue 10: the core stays single-threaded and deterministic).
 *
 * For a frame, td_sig_checks_of lists the (key, signed hash, signature) triples the core will
 * verify for it: every input of a TX (the key is in the input); a HEARTBEAT (its key); a
 * PREVOTE, PRECOMMIT or VOTE_BATCH and a PROPOSAL (the key of the validator index it names,
 * looked up in a hint table: the genesis validators sorted by key, which is the validator set's
 * order in epoch 0); and every transaction input inside a PROPOSAL's or BLOCKS' blocks. A worker
 * verifies them with tc_verify_raw; the loop's thread records each result in the verification
 * cache (tc_verify_cache_put) and only then hands the frame to the node, whose own tc_verify
 * then hits. A wrong hint (a later epoch's set) only costs a cache entry nobody asks for: the
 * cache is keyed by the whole triple, so it can never answer for another key or message.
 *
 * Thread safety: td_sig_checks_of and td_sig_checks_run touch only their arguments (the codec
 * and libsodium are thread safe; the allocation seam's fault state is per thread).
 */
#ifndef TD_VERIFY_POOL_H
#define TD_VERIFY_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto.h"

#define TD_SIG_CHECKS_MAX 8192 /* per frame; a frame with more has the rest checked by the core */

typedef struct {
    tc_pubkey pub;
    tc_hash msg;
    tc_sig sig;
    bool valid;
} td_sig_check;

/* Whether frames of this type carry signatures the pool can check. */
bool td_sig_checks_wanted(uint8_t type);
/* Decodes frame and appends its triples to *out (heap, grown; free() it), setting *count. keys:
 * the hint table (key_count entries). 0, or a negative code (the frame does not decode: the
 * core will say so; nothing to check). */
int td_sig_checks_of(const uint8_t *frame, size_t len, const tc_pubkey *keys, uint32_t key_count,
                     td_sig_check **out, size_t *count);
/* Verifies each triple (Ed25519), setting valid. */
void td_sig_checks_run(td_sig_check *checks, size_t count);

#endif
