/* profile.c — the testnet and mainnet tables, and field access by name. */
#include "profile.h"

#include <string.h>

void tc_profile_get(tc_profile *p, tc_network n)
{
    TC_ASSERT(p != NULL);
    TC_ASSERT(n == TC_NET_TESTNET || n == TC_NET_MAINNET);
    memset(p, 0, sizeof(*p));
    p->network = n;
    p->magic = n == TC_NET_TESTNET ? 0x54434e54u /* "TNCT" */ : 0x54434d4eu /* "NMCT" */;
    p->protocol_version = 1;

    p->tx_size_max = 100 * 1024;
    p->tx_inputs_max = 256;
    p->tx_outputs_max = 256;
    p->min_fee_base = 1000;
    p->min_fee_per_mille = 1;
    p->dust_limit = 546;
    p->mempool_count_max = 10000;
    p->mempool_bytes_max = 32u << 20;
    p->mempool_peer_share_pct = 10;

    p->collateral_bronze = 1000 * TC_UNITS_PER_TIME;
    p->collateral_silver = 10000 * TC_UNITS_PER_TIME;
    p->collateral_gold = 100000 * TC_UNITS_PER_TIME;
    p->weight_bronze = 1;
    p->weight_silver = 10;
    p->weight_gold = 100;
    p->epoch_blocks = 100;
    p->validators_max = 1024;
    p->block_reward = 100 * TC_UNITS_PER_TIME;
    p->heartbeat_interval_ms = 5000;

    p->vote_batch_interval_ms = 10;
    p->vote_batch_txids_max = 512;
    p->regossip_interval_ms = n == TC_NET_TESTNET ? 2000 : 30000;

    p->timeout_propose_ms = 1000;
    p->timeout_propose_delta_ms = 500;
    p->timeout_prevote_ms = 500;
    p->timeout_prevote_delta_ms = 250;
    p->timeout_precommit_ms = 500;
    p->timeout_precommit_delta_ms = 250;
    p->block_interval_ms = n == TC_NET_TESTNET ? 1000 : 600000;
    p->block_time_future_max_ms = 10000;
    p->clock_warn_ms = 60000;
    p->clock_stop_ms = 120000;
    p->block_txs_max = 10000;
    p->block_size_max = 3u << 20; /* fits a 4 MiB frame with room for the envelope */
    p->evidence_per_block_max = 64;

    p->p2p_port = n == TC_NET_TESTNET ? 24100 : 24000;
    p->rpc_port = n == TC_NET_TESTNET ? 24101 : 24001;
    p->frame_size_max = 4u << 20;
    /* A snapshot every 100 blocks; a node more than 2000 blocks (a little over half an hour on
     * testnet) behind fetches one: below that, blocks are cheap enough, and a node that
     * restarted after a short outage keeps its own history. */
    p->snapshot_interval_blocks = 100;
    p->snapshot_sync_blocks = 2000;
    p->handshake_timeout_ms = 10000;
    p->idle_timeout_ms = 300000;
    p->ping_interval_ms = 30000;
    p->inbound_max = 64;
    p->outbound_max = 16;
    p->ban_base_ms = 60000;
    p->ban_max_ms = 24u * 3600u * 1000u;

    /* Budgets sized for honest traffic with headroom: a validator emits up to 100 vote batches
     * a second (one per 10 ms) plus a few consensus votes per round, and a peer relays every
     * validator's; transactions arrive in bursts from wallets; sync answers are large but few. */
    p->rate_tx_per_s = 2000;
    p->burst_tx = 4000;
    p->rate_consensus_per_s = 100;
    p->rate_consensus_per_validator_per_s = 200;
    p->burst_consensus = 200;
    p->burst_consensus_per_validator = 100;
    p->rate_finality_per_s = 100;
    p->rate_finality_per_validator_per_s = 200;
    p->burst_finality = 200;
    p->burst_finality_per_validator = 100;
    p->rate_sync_per_s = 100;
    p->burst_sync = 200;
    p->rate_discovery_per_s = 1;
    p->burst_discovery = 5;
    p->rate_ping_per_s = 2;
    p->burst_ping = 10;
    p->misbehaviour_threshold = 100;
    p->misbehaviour_decay_ms = 60000;
    p->connect_retry_ms = 30000;
}

int tc_profile_network_parse(const char *name, tc_network *out)
{
    TC_ASSERT(name != NULL && out != NULL);
    if (strcmp(name, "testnet") == 0)
        *out = TC_NET_TESTNET;
    else if (strcmp(name, "mainnet") == 0)
        *out = TC_NET_MAINNET;
    else
        return TC_EINVAL;
    return 0;
}

/* One row per settable field: its name, where it lives, and how wide it is. */
typedef struct {
    const char *name;
    size_t offset;
    size_t size;
} field;

#define F(name)                                                                                    \
    {                                                                                              \
#name, offsetof(tc_profile, name), sizeof(((tc_profile *)0)->name)                         \
    }
static const field fields[] = {
    F(tx_size_max),
    F(tx_inputs_max),
    F(tx_outputs_max),
    F(min_fee_base),
    F(min_fee_per_mille),
    F(dust_limit),
    F(mempool_count_max),
    F(mempool_bytes_max),
    F(mempool_peer_share_pct),
    F(collateral_bronze),
    F(collateral_silver),
    F(collateral_gold),
    F(weight_bronze),
    F(weight_silver),
    F(weight_gold),
    F(epoch_blocks),
    F(validators_max),
    F(block_reward),
    F(heartbeat_interval_ms),
    F(vote_batch_interval_ms),
    F(vote_batch_txids_max),
    F(regossip_interval_ms),
    F(timeout_propose_ms),
    F(timeout_propose_delta_ms),
    F(timeout_prevote_ms),
    F(timeout_prevote_delta_ms),
    F(timeout_precommit_ms),
    F(timeout_precommit_delta_ms),
    F(block_interval_ms),
    F(block_time_future_max_ms),
    F(clock_warn_ms),
    F(clock_stop_ms),
    F(block_txs_max),
    F(block_size_max),
    F(evidence_per_block_max),
    F(p2p_port),
    F(rpc_port),
    F(frame_size_max),
    F(handshake_timeout_ms),
    F(idle_timeout_ms),
    F(ping_interval_ms),
    F(inbound_max),
    F(outbound_max),
    F(ban_base_ms),
    F(ban_max_ms),
    F(rate_tx_per_s),
    F(burst_tx),
    F(rate_consensus_per_s),
    F(rate_consensus_per_validator_per_s),
    F(burst_consensus),
    F(burst_consensus_per_validator),
    F(rate_finality_per_s),
    F(rate_finality_per_validator_per_s),
    F(burst_finality),
    F(burst_finality_per_validator),
    F(rate_sync_per_s),
    F(burst_sync),
    F(rate_discovery_per_s),
    F(burst_discovery),
    F(rate_ping_per_s),
    F(burst_ping),
    F(misbehaviour_threshold),
    F(misbehaviour_decay_ms),
    F(connect_retry_ms),
    F(snapshot_interval_blocks),
    F(snapshot_sync_blocks),
};
/* The fields from here on are late (tc_profile_field_late). */
#define FIELDS_EARLY (TC_ARRAY_LEN(fields) - 2)
#undef F

static uint64_t field_read(const tc_profile *p, const field *f)
{
    const uint8_t *at = (const uint8_t *)p + f->offset;
    uint64_t v64;
    uint32_t v32;
    uint16_t v16;
    switch (f->size) {
    case 8:
        memcpy(&v64, at, 8);
        return v64;
    case 4:
        memcpy(&v32, at, 4);
        return v32;
    case 2:
        memcpy(&v16, at, 2);
        return v16;
    default:
        TC_ASSERT(false && "profile field of unexpected width");
    }
}

static int field_write(tc_profile *p, const field *f, uint64_t value)
{
    uint8_t *at = (uint8_t *)p + f->offset;
    uint32_t v32 = (uint32_t)value;
    uint16_t v16 = (uint16_t)value;
    if (f->size < 8 && value >> (8 * f->size) != 0)
        return TC_ERANGE;
    if (f->size == 8)
        memcpy(at, &value, 8);
    else if (f->size == 4)
        memcpy(at, &v32, 4);
    else
        memcpy(at, &v16, 2);
    return 0;
}

int tc_profile_set(tc_profile *p, const char *name, uint64_t value)
{
    TC_ASSERT(p != NULL && name != NULL);
    for (size_t i = 0; i < TC_ARRAY_LEN(fields); i++) {
        if (strcmp(fields[i].name, name) != 0)
            continue;
        tc_profile copy = *p;
        int rc = field_write(&copy, &fields[i], value);
        if (rc == 0)
            rc = tc_profile_check(&copy);
        if (rc == 0)
            *p = copy;
        return rc;
    }
    return TC_ENOTFOUND;
}

int tc_profile_check(const tc_profile *p)
{
    TC_ASSERT(p != NULL);
    bool ok = p->tx_size_max > 0 && p->tx_inputs_max > 0 && p->tx_outputs_max > 0 &&
              p->mempool_count_max > 0 && p->mempool_bytes_max >= p->tx_size_max &&
              p->mempool_peer_share_pct > 0 && p->mempool_peer_share_pct <= 100 &&
              p->collateral_bronze > 0 && p->collateral_bronze < p->collateral_silver &&
              p->collateral_silver < p->collateral_gold && p->weight_bronze > 0 &&
              p->weight_bronze <= p->weight_silver && p->weight_silver <= p->weight_gold &&
              p->epoch_blocks >= 2 && p->validators_max > 0 && p->vote_batch_txids_max > 0 &&
              p->vote_batch_interval_ms > 0 && p->block_interval_ms > 0 && p->block_txs_max > 0 &&
              p->block_size_max <= p->frame_size_max && p->block_size_max >= p->tx_size_max &&
              p->frame_size_max >= 1024 && p->ban_base_ms <= p->ban_max_ms &&
              p->clock_warn_ms <= p->clock_stop_ms;
    /* Peer policy: every bucket must refill and hold at least one message, or a category
     * would be shut for good; a zero threshold would ban every peer on its first offence. */
    ok = ok && p->rate_tx_per_s > 0 && p->burst_tx > 0 && p->rate_consensus_per_s > 0 &&
         p->burst_consensus > 0 && p->rate_finality_per_s > 0 && p->burst_finality > 0 &&
         p->rate_sync_per_s > 0 && p->burst_sync > 0 && p->rate_discovery_per_s > 0 &&
         p->burst_discovery > 0 && p->rate_ping_per_s > 0 && p->burst_ping > 0 &&
         p->misbehaviour_threshold > 0 && p->misbehaviour_decay_ms > 0 && p->connect_retry_ms > 0 &&
         p->ban_base_ms > 0;
    /* Re-gossip re-sends every pending transaction and batch: faster than batches are made
     * would be a flood, and zero would never stop. */
    ok = ok && p->regossip_interval_ms >= p->vote_batch_interval_ms;
    return ok ? 0 : TC_ERANGE;
}

bool tc_profile_field_late(const char *name)
{
    TC_ASSERT(name != NULL);
    for (size_t i = FIELDS_EARLY; i < TC_ARRAY_LEN(fields); i++)
        if (strcmp(fields[i].name, name) == 0)
            return true;
    return false;
}

void tc_profile_each(const tc_profile *p, void (*fn)(void *ctx, const char *name, uint64_t value),
                     void *ctx)
{
    TC_ASSERT(p != NULL && fn != NULL);
    for (size_t i = 0; i < TC_ARRAY_LEN(fields); i++)
        fn(ctx, fields[i].name, field_read(p, &fields[i]));
}
