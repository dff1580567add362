/* load.c — simulated wallets and the transactions they submit.
 *
 * Each client (wallet) owns a key and a list of coins: funded genesis outputs at first, then
 * the outputs of transfers once a block confirmed them. At the scenario's rate (`load R/s`,
 * shared evenly by the clients, each acting every clients * 10^6 / R microseconds from a random
 * phase) a client spends one ready coin in a valid 1-input, 2-output transfer — a payment to a
 * random client and the change back — and submits it to a random honest running node. With
 * `double-spend P%`, a transfer is, with that probability, paired with a conflicting one (same
 * coin, another payment) submitted to another honest node; both are "contested" and excluded
 * from finality and liveness figures (SIMULATOR.md, Expectations: `liveness` asks it of uncontested
 * transfers only).
 *
 * A coin becomes ready when a block confirmed it: the client looks it up in the UTXO set of
 * the most advanced honest running node, as a wallet asks its node (a read transaction between
 * calls, so it never meets the node's own). Pending coins older than COIN_EXPIRE_MS (the loser
 * of a double spend) are dropped.
 *
 * The transaction table is open addressing by txid with a fixed capacity (W_TXS_MAX at most);
 * once three quarters full, clients stop submitting (counted as `starved`), never grow it.
 */
#include "world_internal.h"

#include <stdlib.h>
#include <string.h>

#include "utxo.h"

#define COIN_UNITS       (1000 * TC_UNITS_PER_TIME)
#define COIN_EXPIRE_MS   120000
#define PENDING_CHECKS   32 /* pending coins looked up per client action */
#define COINS_PER_CLIENT 1024
#define REG_COINS        8  /* registrations one run can make */
#define UNUSABLE_TRIES   16 /* coins too small to split that one action may drop */

/* ---- set-up ---- */

/* Transactions the timeline's load would submit: rate integrated over the run. */
static uint64_t expected_txs(const tc_world *w)
{
    const tc_scn *s = &w->scn;
    uint64_t total = 0, rate = s->load_per_s, from = 0;
    for (uint32_t k = 0; k <= s->event_count; k++) {
        bool last = k == s->event_count;
        if (!last && s->events[k].kind != TC_SCN_EV_LOAD)
            continue;
        uint64_t to = last ? w->end_ms : s->events[k].at_ms;
        if (to > w->end_ms)
            to = w->end_ms;
        if (to > from)
            total += rate * (to - from) / 1000;
        if (last)
            break;
        from = to > from ? to : from;
        rate = s->events[k].rate_per_s;
    }
    return total;
}

int w_load_init(tc_world *w, uint32_t *genesis_coins_out)
{
    w_load *l = &w->load;
    const tc_scn *s = &w->scn;
    uint64_t expected = expected_txs(w);
    l->client_count = expected > 0 ? s->load_clients : 0;
    uint64_t per_client = l->client_count ? expected / l->client_count + 4 : 0;
    if (per_client > COINS_PER_CLIENT)
        per_client = COINS_PER_CLIENT; /* change outputs carry the rest of the run */
    if (per_client * l->client_count > W_GENESIS_COINS_MAX)
        per_client = W_GENESIS_COINS_MAX / l->client_count;
    l->key_count = l->client_count + 1; /* the registrar last */
    l->reg_coin_count = REG_COINS;
    l->clients = calloc(l->client_count + 1, sizeof(*l->clients));
    l->keys = calloc(l->key_count, sizeof(*l->keys));
    l->addrs = calloc(l->key_count, sizeof(*l->addrs));
    l->reg_coins = calloc(REG_COINS, sizeof(*l->reg_coins));
    uint64_t cap = 1024;
    while (cap < 2 * (expected + expected / 8 + 64) && cap < W_TXS_MAX)
        cap *= 2;
    l->tx_cap = (uint32_t)cap;
    l->txs = calloc(l->tx_cap, sizeof(*l->txs));
    if (!l->clients || !l->keys || !l->addrs || !l->reg_coins || !l->txs)
        return TC_ENOMEM;
    for (uint32_t c = 0; c < l->client_count; c++) {
        l->clients[c].index = c;
        l->clients[c].coins = calloc(W_CLIENT_COINS_MAX, sizeof(w_coin));
        if (l->clients[c].coins == NULL)
            return TC_ENOMEM;
        l->clients[c].coin_count = (uint32_t)per_client;
    }
    for (uint32_t k = 0; k < l->key_count; k++) {
        tc_genesis_key(w->master, "wallet", k, &l->keys[k]);
        tc_addr_from_pubkey(&l->keys[k].pub, &l->addrs[k]);
    }
    uint8_t seed[TC_SEED_SIZE];
    tc_seed_derive(seed, w->master, "load", 0);
    tc_rng_init(&l->rng, seed);
    l->rate_per_s = s->load_per_s;
    *genesis_coins_out = (uint32_t)(per_client * l->client_count) + REG_COINS;
    return 0;
}

/* Genesis output j < coins pays client j % clients COIN_UNITS; the last REG_COINS outputs pay
 * the registrar enough for a gold collateral and its fee. */
void w_load_genesis(tc_world *w, tc_genesis *g)
{
    w_load *l = &w->load;
    uint32_t client_coins = g->output_count - REG_COINS;
    uint64_t reg_amount = 2 * tc_tier_collateral(&g->profile, TC_TIER_GOLD);
    for (uint32_t j = 0; j < g->output_count; j++) {
        bool reg = j >= client_coins;
        g->outputs[j].amount = reg ? reg_amount : COIN_UNITS;
        g->outputs[j].addr = l->addrs[reg ? l->client_count : j % l->client_count];
    }
}

void w_load_start(tc_world *w)
{
    w_load *l = &w->load;
    uint32_t client_coins = w->genesis.output_count - REG_COINS;
    for (uint32_t c = 0; c < l->client_count; c++)
        l->clients[c].coin_count = 0;
    for (uint32_t j = 0; j < client_coins; j++) {
        w_client *c = &l->clients[j % l->client_count];
        c->coins[c->coin_count++] = (w_coin){.op = {.txid = w->genesis_hash, .index = j},
                                             .amount = COIN_UNITS,
                                             .key = c->index,
                                             .ready = true};
    }
    for (uint32_t r = 0; r < REG_COINS; r++)
        l->reg_coins[r] = (w_coin){.op = {.txid = w->genesis_hash, .index = client_coins + r},
                                   .amount = w->genesis.outputs[client_coins + r].amount,
                                   .key = l->client_count,
                                   .ready = true};
    w_load_set_rate(w, l->rate_per_s);
}

void w_load_free(tc_world *w)
{
    w_load *l = &w->load;
    for (uint32_t c = 0; l->clients != NULL && c < l->client_count; c++)
        free(l->clients[c].coins);
    free(l->clients);
    free(l->keys);
    free(l->addrs);
    free(l->reg_coins);
    free(l->txs);
    memset(l, 0, sizeof(*l));
}

/* ---- scheduling ---- */

static uint64_t interval_us(const w_load *l)
{
    return (uint64_t)l->client_count * 1000000 / l->rate_per_s;
}

static void schedule(tc_world *w, w_client *c)
{
    uint64_t ms = (c->next_us + 999) / 1000;
    if (ms < w->now_ms)
        ms = w->now_ms;
    if (ms > w->end_ms)
        return;
    c->scheduled = true;
    tc_evq_event ev = {.time_ms = ms, .kind = TC_EVQ_CLIENT, .arg = c->index};
    w_push(w, &ev);
}

void w_load_set_rate(tc_world *w, uint32_t rate_per_s)
{
    w_load *l = &w->load;
    l->rate_per_s = rate_per_s;
    if (rate_per_s == 0 || l->client_count == 0)
        return; /* clients see the rate at their next action and stop */
    uint64_t iv = interval_us(l);
    for (uint32_t c = 0; c < l->client_count; c++) {
        w_client *cl = &l->clients[c];
        if (cl->scheduled)
            continue;
        cl->next_us = w->now_ms * 1000 + tc_rng_below(&l->rng, iv ? iv : 1);
        schedule(w, cl);
    }
}

/* ---- the transaction table ---- */

static w_tx *slot_of(w_load *l, const tc_hash *txid)
{
    uint32_t h;
    memcpy(&h, txid->b, sizeof(h)); /* a hash's bytes are uniform already */
    for (uint32_t i = 0; i < l->tx_cap; i++) {
        w_tx *t = &l->txs[(h + i) & (l->tx_cap - 1)];
        if (!t->used || memcmp(t->txid.b, txid->b, TC_HASH_SIZE) == 0)
            return t;
    }
    return NULL;
}

w_tx *w_load_find(tc_world *w, const tc_hash *txid)
{
    if (w->load.tx_cap == 0)
        return NULL;
    w_tx *t = slot_of(&w->load, txid);
    return t != NULL && t->used ? t : NULL;
}

static bool table_full(const w_load *l)
{
    return (uint64_t)l->tx_count * 4 >= (uint64_t)l->tx_cap * 3;
}

static w_tx *record(tc_world *w, const tc_hash *txid, const tc_outpoint *in, uint32_t node)
{
    w_load *l = &w->load;
    w_tx *t = slot_of(l, txid);
    TC_ASSERT(t != NULL); /* table_full was checked before building */
    TC_ASSERT(node < w->count);
    if (!t->used)
        l->tx_count++;
    *t = (w_tx){.txid = *txid,
                .input = *in,
                .submit_ms = w->now_ms,
                .final_ms = UINT64_MAX,
                .node = node,
                .used = true};
    return t;
}

void w_load_orphan(tc_world *w, uint32_t e)
{
    w_load *l = &w->load;
    for (uint32_t i = 0; i < l->tx_cap; i++)
        if (l->txs[i].used && l->txs[i].node == e && l->txs[i].final_ms == UINT64_MAX)
            l->txs[i].orphaned = true;
}

/* ---- picking nodes and coins ---- */

uint32_t w_load_pick_node(tc_world *w, uint32_t avoid)
{
    uint32_t count = 0;
    for (uint32_t e = 0; e < w->count; e++) {
        const w_node *n = &w->nodes[e];
        if (e != avoid && n->client_target && n->node != NULL && !n->paused && !n->dying)
            w->peer_scratch[count++] = e;
    }
    if (count == 0)
        return UINT32_MAX;
    return w->peer_scratch[tc_rng_below(&w->load.rng, count)];
}

/* The store of the most advanced honest running node (ties: the lowest endpoint). */
static tc_store *reference_store(tc_world *w)
{
    const w_node *best = NULL;
    for (uint32_t e = 0; e < w->count; e++) {
        const w_node *n = &w->nodes[e];
        if (n->client_target && n->node != NULL && (best == NULL || n->height > best->height))
            best = n;
    }
    return best != NULL ? best->store : NULL;
}

/* Looks pending coins up in the reference UTXO set; confirmed ones become ready. */
static void refresh(tc_world *w, w_client *c)
{
    tc_store *s = reference_store(w);
    tc_store_txn *t = NULL;
    if (s == NULL || tc_store_begin(s, false, &t) != 0)
        return;
    uint32_t checks = 0;
    for (uint32_t i = 0; i < c->coin_count && checks < PENDING_CHECKS; i++) {
        w_coin *coin = &c->coins[i];
        if (coin->ready)
            continue;
        checks++;
        tc_utxo_entry entry;
        if (tc_utxo_get(t, &coin->op, &entry) == 0 && entry.state == TC_UTXO_UNSPENT)
            coin->ready = true;
        else if (w->now_ms > coin->created_ms + COIN_EXPIRE_MS)
            coin->amount = 0; /* its transaction lost a double spend: dropped below */
    }
    tc_store_abort(t);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < c->coin_count; i++)
        if (c->coins[i].amount != 0)
            c->coins[kept++] = c->coins[i];
    c->coin_count = kept;
}

static bool take_coin(tc_world *w, w_client *c, w_coin *out)
{
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < c->coin_count; i++) {
            if (!c->coins[i].ready)
                continue;
            *out = c->coins[i];
            c->coins[i] = c->coins[--c->coin_count]; /* order changes deterministically */
            return true;
        }
        if (pass == 0)
            refresh(w, c);
    }
    return false;
}

static void add_pending(tc_world *w, uint32_t client, const tc_hash *txid, uint32_t index,
                        uint64_t amount)
{
    w_client *c = &w->load.clients[client];
    if (c->coin_count == W_CLIENT_COINS_MAX)
        return; /* the wallet tracks no more; the coin stays in the chain */
    c->coins[c->coin_count++] = (w_coin){.op = {.txid = *txid, .index = index},
                                         .amount = amount,
                                         .key = client,
                                         .created_ms = w->now_ms};
}

/* ---- transactions ---- */

/* A 1-input, 2-output transfer of coin: pay to `to`, the change back to the coin's key. The
 * fee is the minimum for the coin's value (an upper bound of the outputs) plus a little. The
 * payment is 3/8 to 1/2 of what the fee leaves and the change the rest, so a coin's value
 * about halves per generation: a payment drawn anywhere between dust and half the coin made
 * payments a quarter of their coin on average, and after about 100 s at 200 tx/s a wallet's
 * coins were mostly too small to split (the load fell from 200 to about 150 tx/s by 150 s,
 * to about 100 by 600 s). Halving leaves 24 generations before a genesis coin's descendants
 * reach the dust floor. */
static int build_transfer(tc_world *w, const w_coin *coin, uint32_t to, uint64_t extra, tc_tx *tx,
                          tc_hash *txid)
{
    TC_ASSERT(coin->key < w->load.key_count && to < w->load.client_count);
    w_load *l = &w->load;
    const tc_profile *p = &w->genesis.profile;
    uint64_t fee = 0;
    if (tc_tx_min_fee(p, coin->amount, &fee) != 0)
        return TC_EOVERFLOW;
    fee += tc_rng_below(&l->rng, 1000) + extra;
    if (coin->amount < fee + 4 * p->dust_limit)
        return TC_EINVAL; /* too small to split: the wallet drops it */
    uint64_t rest = coin->amount - fee;
    uint64_t pay = rest / 8 * 3 + tc_rng_below(&l->rng, rest / 8 + 1);
    TC_ASSERT(pay >= p->dust_limit && rest - pay >= p->dust_limit);
    int rc = tc_tx_init_alloc(tx, TC_TX_TRANSFER, 1, 2);
    if (rc != 0)
        return rc;
    tx->inputs[0].prev = coin->op;
    tx->inputs[0].pub = l->keys[coin->key].pub;
    tx->outputs[0] = (tc_txout){.amount = pay, .addr = l->addrs[to]};
    tx->outputs[1] = (tc_txout){.amount = coin->amount - fee - pay, .addr = l->addrs[coin->key]};
    tc_tx_id(tx, txid);
    tc_tx_sign_input(tx, txid, 0, w->scheme, &l->keys[coin->key]);
    TC_ASSERT(tx->outputs[0].amount + tx->outputs[1].amount + fee == coin->amount);
    return 0;
}

/* Submits an encoded transaction to node e; the node's admission code. */
static int submit(tc_world *w, uint32_t e, const tc_tx *tx, const tc_hash *txid)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (tc_tx_encode_alloc(tx, &bytes, &len) != 0) {
        w_harness_fail(w, "out of memory encoding a transaction");
        return TC_ENOMEM;
    }
    char hex[17];
    tc_hex(hex, txid->b, 8);
    w_trace(w, e, "submit %s %zu", hex, len);
    w->load.submitted++;
    int rc = tc_node_submit_tx(w->nodes[e].node, w_local(w, e), bytes, len);
    free(bytes);
    w_after_call(w, e);
    if (rc == 0)
        w->load.accepted++;
    else
        w->load.rejected++;
    return rc;
}

typedef enum {
    SPEND_DONE = 0,     /* some node accepted a transfer: the coin is spent */
    SPEND_REFUSED = 1,  /* no node to send to, or every node refused: the coin is still ours */
    SPEND_UNUSABLE = 2, /* too small to split: the wallet drops it */
} spend_result;

/* Builds, submits and records one transfer (and, for a double spend, a conflicting one to
 * another node). */
static spend_result spend(tc_world *w, const w_coin *coin)
{
    w_load *l = &w->load;
    bool ds =
        w->scn.double_spend_ppm > 0 && tc_rng_below(&l->rng, TC_SCN_PPM) < w->scn.double_spend_ppm;
    uint32_t nodes[2];
    nodes[0] = w_load_pick_node(w, UINT32_MAX);
    nodes[1] = ds ? w_load_pick_node(w, nodes[0]) : UINT32_MAX;
    if (nodes[0] == UINT32_MAX || (ds && nodes[1] == UINT32_MAX)) {
        l->starved++;
        return SPEND_REFUSED;
    }
    l->double_spends += ds;
    bool spent = false;
    for (int k = 0; k < (ds ? 2 : 1); k++) {
        tc_tx tx;
        tc_hash txid;
        uint32_t to = (uint32_t)tc_rng_below(&l->rng, l->client_count);
        if (build_transfer(w, coin, to, (uint64_t)k, &tx, &txid) != 0)
            return k == 0 ? SPEND_UNUSABLE : SPEND_DONE; /* the first transfer went out */
        w_tx *t = record(w, &txid, &coin->op, nodes[k]);
        t->contested = ds;
        int rc = w->nodes[nodes[k]].node != NULL ? submit(w, nodes[k], &tx, &txid) : TC_EFAILED;
        t = w_load_find(w, &txid); /* the call may have finalized it already: same slot */
        t->code = rc;
        if (rc == 0) {
            spent = true;
            add_pending(w, to, &txid, 0, tx.outputs[0].amount);
            add_pending(w, coin->key, &txid, 1, tx.outputs[1].amount);
        }
        tc_tx_deinit(&tx);
    }
    return spent ? SPEND_DONE : SPEND_REFUSED;
}

void w_load_client(tc_world *w, uint32_t client)
{
    w_load *l = &w->load;
    TC_ASSERT(client < l->client_count);
    w_client *c = &l->clients[client];
    c->scheduled = false;
    if (l->rate_per_s == 0)
        return;
    /* A coin too small to split is dropped and the next one tried, so the action still
     * submits a transfer while the wallet holds a usable coin (the load holds its rate). */
    spend_result r = SPEND_UNUSABLE;
    for (int tries = 0; r == SPEND_UNUSABLE && tries < UNUSABLE_TRIES; tries++) {
        w_coin coin;
        if (table_full(l) || !take_coin(w, c, &coin)) {
            l->starved++;
            break;
        }
        r = spend(w, &coin);
        if (r == SPEND_REFUSED && c->coin_count < W_CLIENT_COINS_MAX)
            c->coins[c->coin_count++] = coin; /* refused everywhere: the coin is still ours */
    }
    c->next_us += interval_us(l);
    if (c->next_us < w->now_ms * 1000)
        c->next_us = w->now_ms * 1000;
    schedule(w, c);
}

/* ---- registrations ---- */

static int build_registration(tc_world *w, uint32_t e, uint32_t tier, const w_coin *coin, tc_tx *tx,
                              tc_hash *txid)
{
    w_load *l = &w->load;
    const tc_profile *p = &w->genesis.profile;
    const w_node *n = &w->nodes[e];
    uint64_t collateral = tc_tier_collateral(p, (tc_tier)tier), fee = 0;
    if (tc_tx_min_fee(p, coin->amount, &fee) != 0 ||
        coin->amount < collateral + fee + p->dust_limit)
        return TC_EINVAL;
    int rc = tc_tx_init_alloc(tx, TC_TX_MN_REGISTER, 1, 2);
    if (rc != 0)
        return rc;
    tc_keypair owner, mn;
    tc_genesis_key(w->master, "owner", n->id.index, &owner);
    tc_keypair_from_seed(&mn, n->identity_seed);
    tx->inputs[0].prev = coin->op;
    tx->inputs[0].pub = l->keys[coin->key].pub;
    tc_addr_from_pubkey(&owner.pub, &tx->outputs[0].addr);
    tx->outputs[0].amount = collateral;
    tx->outputs[1] =
        (tc_txout){.amount = coin->amount - collateral - fee, .addr = l->addrs[coin->key]};
    tx->mn_key = mn.pub;
    tx->mn_tier = (uint8_t)tier;
    size_t alen = strlen(n->addr);
    tx->net_addr_len = (uint8_t)alen;
    memcpy(tx->net_addr, n->addr, alen);
    tc_tx_id(tx, txid);
    tc_tx_sign_input(tx, txid, 0, w->scheme, &l->keys[coin->key]);
    tc_tx_sign_mn(tx, txid, w->scheme, &mn);
    return 0;
}

/* The operator of node e registers its key with a collateral of `tier` from the registrar's
 * reserved coins; the transaction goes to an honest node (another one if the first refuses). */
void w_load_register(tc_world *w, uint32_t e, uint32_t tier)
{
    w_load *l = &w->load;
    w_trace(w, UINT32_MAX, "register %s %s", w->nodes[e].name, tc_tier_name((tc_tier)tier));
    w_timeline(w, e, "REGISTER as %s masternode (joins at the next epoch)",
               tc_tier_name((tc_tier)tier));
    if (l->reg_coin_next == l->reg_coin_count) {
        w_harness_fail(w, "more than %u registrations", l->reg_coin_count);
        return;
    }
    const w_coin *coin = &l->reg_coins[l->reg_coin_next++];
    tc_tx tx;
    tc_hash txid;
    if (build_registration(w, e, tier, coin, &tx, &txid) != 0) {
        w_harness_fail(w, "cannot build the registration of %s", w->nodes[e].name);
        return;
    }
    uint32_t avoid = UINT32_MAX;
    for (int attempt = 0; attempt < 3; attempt++) {
        uint32_t node = w_load_pick_node(w, avoid);
        if (node == UINT32_MAX)
            break;
        w_tx *t = record(w, &txid, &coin->op, node);
        t->registration = true;
        int rc = submit(w, node, &tx, &txid);
        w_load_find(w, &txid)->code = rc;
        if (rc == 0)
            break;
        w_timeline(w, node, "refuses the registration of %s: %s", w->nodes[e].name,
                   tc_strerror(rc));
        avoid = node;
    }
    l->registrations++;
    tc_tx_deinit(&tx);
}
