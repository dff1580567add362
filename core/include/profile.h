/* profile.h — every protocol number in one table (PROTOCOL preamble: no literals in logic).
 *
 * A profile is a plain struct of named fields. tc_profile_get() fills it with the defaults of
 * `testnet` or `mainnet`; genesis documents and scenarios override single fields by name through
 * tc_profile_set(), which is the only place that maps a name to a field.
 */
#ifndef TC_PROFILE_H
#define TC_PROFILE_H

#include "base.h"

typedef enum { TC_NET_TESTNET = 0, TC_NET_MAINNET = 1 } tc_network;

typedef struct {
    tc_network network;
    uint32_t magic; /* first word of HELLO */
    uint16_t protocol_version;

    /* Transactions and mempool (PROTOCOL 3, 5). */
    uint32_t tx_size_max; /* bytes */
    uint32_t tx_inputs_max;
    uint32_t tx_outputs_max;
    uint64_t min_fee_base;      /* units */
    uint32_t min_fee_per_mille; /* of the output total: 1 = 0.1% */
    uint64_t dust_limit;        /* units */
    uint32_t mempool_count_max;
    uint64_t mempool_bytes_max;
    uint32_t mempool_peer_share_pct; /* percent of the pool one peer's transactions may fill */

    /* Masternodes and epochs (PROTOCOL 6; block_reward: 8; heartbeats: 15). */
    uint64_t collateral_bronze; /* units */
    uint64_t collateral_silver;
    uint64_t collateral_gold;
    uint32_t weight_bronze;
    uint32_t weight_silver;
    uint32_t weight_gold;
    uint32_t epoch_blocks;
    uint32_t validators_max;
    uint64_t block_reward; /* units */
    uint32_t heartbeat_interval_ms;

    /* Instant finality (PROTOCOL 11). */
    uint32_t vote_batch_interval_ms;
    uint32_t vote_batch_txids_max;
    /* Pending transactions and the vote batches naming them are announced again this often
     * until a block confirms them (PROTOCOL 11.7), so a transaction survives lost messages and
     * partitions; a pass re-sends everything pending, hence seconds, not milliseconds. */
    uint32_t regossip_interval_ms;

    /* Block consensus (PROTOCOL 12; block limits: 8; clock: 15). */
    uint32_t timeout_propose_ms;
    uint32_t timeout_propose_delta_ms;
    uint32_t timeout_prevote_ms;
    uint32_t timeout_prevote_delta_ms;
    uint32_t timeout_precommit_ms;
    uint32_t timeout_precommit_delta_ms;
    uint32_t block_interval_ms;
    uint32_t block_time_future_max_ms;
    uint32_t clock_warn_ms;
    uint32_t clock_stop_ms;
    uint32_t block_txs_max;
    uint32_t block_size_max; /* bytes of an encoded block */
    uint32_t evidence_per_block_max;

    /* Network (PROTOCOL 10). */
    uint16_t p2p_port;
    uint16_t rpc_port;
    uint32_t frame_size_max;
    uint32_t handshake_timeout_ms;
    uint32_t idle_timeout_ms;
    uint32_t ping_interval_ms;
    uint32_t inbound_max;
    uint32_t outbound_max;
    uint32_t ban_base_ms;
    uint32_t ban_max_ms;

    /* Peer policy (PROTOCOL 10.6-10.10, peer.h). Per peer and per message category, a token bucket
     * refills at rate_*_per_s messages per second up to burst_* messages; a message over the budget
     * is dropped and counted. The consensus budget (proposals and votes) is rate_consensus_per_s +
     * rate_consensus_per_validator_per_s * validator count (burst likewise), because vote
     * traffic grows with the validator set; the finality budget (vote batches, heartbeats,
     * handoffs, evidence) is its own, scaled the same way, so finality traffic can never take
     * the tokens of block consensus (a consensus message may take finality's spare tokens). */
    uint32_t rate_tx_per_s;
    uint32_t burst_tx;
    uint32_t rate_consensus_per_s;
    uint32_t rate_consensus_per_validator_per_s;
    uint32_t burst_consensus;
    uint32_t burst_consensus_per_validator;
    uint32_t rate_finality_per_s;
    uint32_t rate_finality_per_validator_per_s;
    uint32_t burst_finality;
    uint32_t burst_finality_per_validator;
    uint32_t rate_sync_per_s;
    uint32_t burst_sync;
    uint32_t rate_discovery_per_s;
    uint32_t burst_discovery;
    uint32_t rate_ping_per_s;
    uint32_t burst_ping;
    uint32_t misbehaviour_threshold; /* points at which a peer is disconnected and banned */
    uint32_t misbehaviour_decay_ms;  /* one point forgiven per this much time */
    uint32_t connect_retry_ms;       /* before dialling a book address again */

    /* State sync (PROTOCOL 13.2). Nodes capture a snapshot of their chain state at every height
     * that is a multiple of snapshot_interval_blocks (0: none, and no state sync), and serve
     * the latest two; a node whose tip is more than snapshot_sync_blocks below a peer's height
     * fetches one instead of the blocks. Fields added after the first networks were made: the
     * genesis hash covers them only when they differ from the network's default (genesis.c),
     * so those networks keep their hash. */
    uint32_t snapshot_interval_blocks;
    uint32_t snapshot_sync_blocks;
} tc_profile;

/* Fills p with the defaults of network n. */
void tc_profile_get(tc_profile *p, tc_network n);
/* Looks a network up by name ("testnet", "mainnet"). TC_EINVAL if unknown. */
int tc_profile_network_parse(const char *name, tc_network *out);
/* Sets the field called name to value. TC_ENOTFOUND for an unknown name, TC_ERANGE for a value
 * the field cannot hold or that breaks a profile invariant (checked by tc_profile_check). */
int tc_profile_set(tc_profile *p, const char *name, uint64_t value);
/* Checks the invariants between fields (e.g. tiers ordered, limits non-zero). 0 or TC_ERANGE. */
int tc_profile_check(const tc_profile *p);
/* Whether the field called name is one added after the first networks (see the state sync
 * fields above): hashed into a genesis only when it differs from the network default. */
bool tc_profile_field_late(const char *name);
/* Calls fn for every field name in declaration order (help text, docs, JSON dumps). */
void tc_profile_each(const tc_profile *p, void (*fn)(void *ctx, const char *name, uint64_t value),
                     void *ctx);

#endif
