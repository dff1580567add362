/* test_profile.c — the protocol number table: defaults per network (PROTOCOL preamble), setting
 * fields by name, range and invariant checks that leave the profile unchanged, and the field
 * listing. */
#include <criterion/criterion.h>
#include <string.h>

#include "profile.h"

/* Every settable field, in declaration order. A field added to tc_profile must be added here
 * and to profile.c's table; the listing test below then checks both agree. */
static const char *const all_fields[] = {
    "tx_size_max",
    "tx_inputs_max",
    "tx_outputs_max",
    "min_fee_base",
    "min_fee_per_mille",
    "dust_limit",
    "mempool_count_max",
    "mempool_bytes_max",
    "mempool_peer_share_pct",
    "collateral_bronze",
    "collateral_silver",
    "collateral_gold",
    "weight_bronze",
    "weight_silver",
    "weight_gold",
    "epoch_blocks",
    "validators_max",
    "block_reward",
    "heartbeat_interval_ms",
    "vote_batch_interval_ms",
    "vote_batch_txids_max",
    "regossip_interval_ms",
    "timeout_propose_ms",
    "timeout_propose_delta_ms",
    "timeout_prevote_ms",
    "timeout_prevote_delta_ms",
    "timeout_precommit_ms",
    "timeout_precommit_delta_ms",
    "block_interval_ms",
    "block_time_future_max_ms",
    "clock_warn_ms",
    "clock_stop_ms",
    "block_txs_max",
    "block_size_max",
    "evidence_per_block_max",
    "p2p_port",
    "rpc_port",
    "frame_size_max",
    "handshake_timeout_ms",
    "idle_timeout_ms",
    "ping_interval_ms",
    "inbound_max",
    "outbound_max",
    "ban_base_ms",
    "ban_max_ms",
    "rate_tx_per_s",
    "burst_tx",
    "rate_consensus_per_s",
    "rate_consensus_per_validator_per_s",
    "burst_consensus",
    "burst_consensus_per_validator",
    "rate_finality_per_s",
    "rate_finality_per_validator_per_s",
    "burst_finality",
    "burst_finality_per_validator",
    "rate_sync_per_s",
    "burst_sync",
    "rate_discovery_per_s",
    "burst_discovery",
    "rate_ping_per_s",
    "burst_ping",
    "misbehaviour_threshold",
    "misbehaviour_decay_ms",
    "connect_retry_ms",
    "snapshot_interval_blocks",
    "snapshot_sync_blocks",
};

#define MAX_FIELDS 128

typedef struct {
    const char *names[MAX_FIELDS];
    uint64_t values[MAX_FIELDS];
    size_t count;
} listing;

static void collect(void *ctx, const char *name, uint64_t value)
{
    listing *l = ctx;
    cr_assert_lt(l->count, MAX_FIELDS);
    l->names[l->count] = name;
    l->values[l->count] = value;
    l->count++;
}

static void list(const tc_profile *p, listing *l)
{
    memset(l, 0, sizeof(*l));
    tc_profile_each(p, collect, l);
}

static void assert_same(const tc_profile *a, const tc_profile *b)
{
    listing la;
    listing lb;
    list(a, &la);
    list(b, &lb);
    cr_assert_eq(la.count, lb.count);
    for (size_t i = 0; i < la.count; i++)
        cr_assert_eq(la.values[i], lb.values[i], "%s: %llu vs %llu", la.names[i],
                     (unsigned long long)la.values[i], (unsigned long long)lb.values[i]);
    cr_assert_eq(a->network, b->network);
    cr_assert_eq(a->magic, b->magic);
}

#define TIME(n) ((uint64_t)(n)*TC_UNITS_PER_TIME)

Test(profile, testnet_defaults_match_the_spec)
{
    tc_profile p;
    tc_profile_get(&p, TC_NET_TESTNET);
    cr_assert_eq(p.network, TC_NET_TESTNET);
    cr_assert_eq(p.tx_size_max, 100 * 1024);
    cr_assert_eq(p.tx_inputs_max, 256);
    cr_assert_eq(p.tx_outputs_max, 256);
    cr_assert_eq(p.min_fee_base, 1000);
    cr_assert_eq(p.min_fee_per_mille, 1, "0.1%% of the output total");
    cr_assert_eq(p.dust_limit, 546);
    cr_assert_eq(p.mempool_count_max, 10000);
    cr_assert_eq(p.mempool_bytes_max, 32u << 20);
    cr_assert_eq(p.collateral_bronze, TIME(1000));
    cr_assert_eq(p.collateral_silver, TIME(10000));
    cr_assert_eq(p.collateral_gold, TIME(100000));
    cr_assert_eq(p.weight_bronze, 1);
    cr_assert_eq(p.weight_silver, 10);
    cr_assert_eq(p.weight_gold, 100);
    cr_assert_eq(p.epoch_blocks, 100);
    cr_assert_eq(p.block_reward, TIME(100));
    cr_assert_eq(p.heartbeat_interval_ms, 5000);
    cr_assert_eq(p.vote_batch_interval_ms, 10);
    cr_assert_eq(p.vote_batch_txids_max, 512);
    cr_assert_eq(p.timeout_propose_ms, 1000);
    cr_assert_eq(p.timeout_propose_delta_ms, 500);
    cr_assert_eq(p.timeout_prevote_ms, 500);
    cr_assert_eq(p.timeout_prevote_delta_ms, 250);
    cr_assert_eq(p.timeout_precommit_ms, 500);
    cr_assert_eq(p.timeout_precommit_delta_ms, 250);
    cr_assert_eq(p.block_interval_ms, 1000);
    cr_assert_eq(p.block_time_future_max_ms, 10000);
    cr_assert_eq(p.clock_warn_ms, 60000);
    cr_assert_eq(p.clock_stop_ms, 120000);
    cr_assert_eq(p.p2p_port, 24100);
    cr_assert_eq(p.rpc_port, 24101);
    cr_assert_eq(p.frame_size_max, 4u << 20);
    cr_assert_eq(p.handshake_timeout_ms, 10000);
    cr_assert_eq(p.idle_timeout_ms, 300000);
    cr_assert_eq(p.ping_interval_ms, 30000);
    cr_assert_eq(p.inbound_max, 64);
    cr_assert_eq(p.outbound_max, 16);
    cr_assert_eq(p.ban_base_ms, 60000);
    cr_assert_eq(p.ban_max_ms, 24u * 3600u * 1000u);
    cr_assert_eq(tc_profile_check(&p), 0);
}

Test(profile, mainnet_differs_where_the_spec_says)
{
    tc_profile t;
    tc_profile m;
    tc_profile_get(&t, TC_NET_TESTNET);
    tc_profile_get(&m, TC_NET_MAINNET);
    cr_assert_eq(m.network, TC_NET_MAINNET);
    cr_assert_eq(m.block_interval_ms, 600000);
    cr_assert_eq(m.p2p_port, 24000);
    cr_assert_eq(m.rpc_port, 24001);
    cr_assert_neq(m.magic, t.magic, "a node never handshakes across networks");
    cr_assert_eq(tc_profile_check(&m), 0);
    /* Everything else is shared. */
    listing lt;
    listing lm;
    list(&t, &lt);
    list(&m, &lm);
    for (size_t i = 0; i < lt.count; i++) {
        const char *n = lt.names[i];
        bool differs = strcmp(n, "block_interval_ms") == 0 || strcmp(n, "p2p_port") == 0 ||
                       strcmp(n, "rpc_port") == 0 || strcmp(n, "regossip_interval_ms") == 0;
        cr_assert_eq(lt.values[i] != lm.values[i], differs, "%s", n);
    }
}

Test(profile, network_names_parse)
{
    tc_network n = TC_NET_MAINNET;
    cr_assert_eq(tc_profile_network_parse("testnet", &n), 0);
    cr_assert_eq(n, TC_NET_TESTNET);
    cr_assert_eq(tc_profile_network_parse("mainnet", &n), 0);
    cr_assert_eq(n, TC_NET_MAINNET);
    cr_assert_eq(tc_profile_network_parse("Mainnet", &n), TC_EINVAL);
    cr_assert_eq(tc_profile_network_parse("", &n), TC_EINVAL);
}

Test(profile, set_by_name)
{
    tc_profile p;
    tc_profile_get(&p, TC_NET_TESTNET);
    cr_assert_eq(tc_profile_set(&p, "epoch_blocks", 20), 0);
    cr_assert_eq(p.epoch_blocks, 20);
    cr_assert_eq(tc_profile_set(&p, "p2p_port", 65535), 0);
    cr_assert_eq(p.p2p_port, 65535);
    cr_assert_eq(tc_profile_set(&p, "mempool_bytes_max", UINT64_C(1) << 40), 0);
    cr_assert_eq(p.mempool_bytes_max, UINT64_C(1) << 40);
    cr_assert_eq(tc_profile_set(&p, "collateral_gold", TIME(200000)), 0);
    cr_assert_eq(p.collateral_gold, TIME(200000));
}

Test(profile, unknown_name_is_not_found_and_changes_nothing)
{
    tc_profile p;
    tc_profile before;
    tc_profile_get(&p, TC_NET_TESTNET);
    before = p;
    cr_assert_eq(tc_profile_set(&p, "epoch_block", 20), TC_ENOTFOUND);
    cr_assert_eq(tc_profile_set(&p, "", 20), TC_ENOTFOUND);
    cr_assert_eq(tc_profile_set(&p, "network", 1), TC_ENOTFOUND, "the network is not a field");
    cr_assert_eq(tc_profile_set(&p, "magic", 1), TC_ENOTFOUND);
    assert_same(&p, &before);
}

Test(profile, out_of_range_and_invariant_breaks_leave_the_profile_unchanged)
{
    static const struct {
        const char *name;
        uint64_t value;
        const char *why;
    } cases[] = {
        {"p2p_port", 65536, "wider than u16"},
        {"epoch_blocks", UINT64_C(1) << 32, "wider than u32"},
        {"epoch_blocks", 1, "an epoch needs two blocks"},
        {"validators_max", 0, "non-zero"},
        {"collateral_bronze", 0, "non-zero"},
        {"collateral_bronze", TIME(10000), "bronze < silver"},
        {"collateral_gold", TIME(10000), "silver < gold"},
        {"weight_silver", 101, "silver <= gold"},
        {"weight_bronze", 0, "weight non-zero"},
        {"mempool_peer_share_pct", 101, "a percentage"},
        {"block_size_max", (4u << 20) + 1, "a block fits a frame"},
        {"frame_size_max", 1023, "frames of at least 1 KiB"},
        {"mempool_bytes_max", 100 * 1024 - 1, "the pool holds one largest transaction"},
        {"ban_base_ms", 24u * 3600u * 1000u + 1, "base <= max"},
        {"clock_warn_ms", 120001, "warn <= stop"},
        {"tx_size_max", 0, "non-zero"},
        {"block_size_max", 100 * 1024 - 1, "a block holds one largest transaction"},
        {"rate_tx_per_s", 0, "a bucket that never refills shuts its category"},
        {"rate_finality_per_s", 0, "the finality bucket must refill"},
        {"burst_finality", 0, "the finality bucket must hold a message"},
        {"misbehaviour_threshold", 0, "a zero threshold bans on the first offence"},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        tc_profile p;
        tc_profile before;
        tc_profile_get(&p, TC_NET_TESTNET);
        before = p;
        cr_assert_eq(tc_profile_set(&p, cases[i].name, cases[i].value), TC_ERANGE, "%s = %llu (%s)",
                     cases[i].name, (unsigned long long)cases[i].value, cases[i].why);
        assert_same(&p, &before);
    }
}

Test(profile, each_lists_every_field_once_in_order_with_its_value)
{
    tc_profile p;
    listing l;
    tc_profile_get(&p, TC_NET_MAINNET);
    list(&p, &l);
    cr_assert_eq(l.count, TC_ARRAY_LEN(all_fields), "%zu fields listed, %zu expected", l.count,
                 TC_ARRAY_LEN(all_fields));
    for (size_t i = 0; i < l.count; i++) {
        cr_assert_str_eq(l.names[i], all_fields[i]);
        /* Each listed name is settable, and setting its own value is a no-op that succeeds. */
        tc_profile q = p;
        cr_assert_eq(tc_profile_set(&q, l.names[i], l.values[i]), 0, "%s", l.names[i]);
        assert_same(&q, &p);
    }
    /* Values come from the struct: spot-check a few widths. */
    cr_assert_eq(l.values[15], p.epoch_blocks);
    cr_assert_eq(l.values[35], p.p2p_port);
    cr_assert_eq(l.values[9], p.collateral_bronze);
    /* And a set is visible through the listing. */
    cr_assert_eq(tc_profile_set(&p, "rpc_port", 30001), 0);
    list(&p, &l);
    cr_assert_eq(l.values[36], 30001);
}
