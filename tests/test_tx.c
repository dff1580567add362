/* test_tx.c — transactions: encoding round trips, every decode error, txid rules, every
 * stateless rule with its own code, min-fee arithmetic, address/outpoint/tier helpers. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "tx.h"

static tc_profile prof;

static void setup(void)
{
    cr_assert_eq(tc_crypto_init(), 0);
    tc_profile_get(&prof, TC_NET_TESTNET);
}

TestSuite(tx, .init = setup);

/* A transaction of the given kind with nin inputs and nout outputs, each input owned by test key
 * 1 and pointing at a distinct outpoint; outputs of 10,000 units (registration: outputs[0] is the
 * bronze collateral). Signed with Ed25519. */
static void build(tc_tx *tx, tc_tx_kind kind, uint32_t nin, uint32_t nout)
{
    tc_keypair kp, mn;
    ts_keypair(&kp, 1);
    ts_keypair(&mn, 2);
    cr_assert_eq(tc_tx_init_alloc(tx, kind, nin, nout), 0);
    for (uint32_t i = 0; i < nin; i++) {
        memset(tx->inputs[i].prev.txid.b, 0xa0, TC_HASH_SIZE);
        tx->inputs[i].prev.txid.b[0] = (uint8_t)i;
        tx->inputs[i].prev.txid.b[1] = (uint8_t)(i >> 8);
        tx->inputs[i].prev.index = i % 3;
        tx->inputs[i].pub = kp.pub;
    }
    for (uint32_t i = 0; i < nout; i++) {
        tx->outputs[i].amount = 10000 + i;
        memset(tx->outputs[i].addr.b, (int)(0x10 + i), TC_ADDR_HASH_SIZE);
    }
    if (kind == TC_TX_MN_REGISTER) {
        tx->mn_key = mn.pub;
        tx->mn_tier = TC_TIER_BRONZE;
        tx->outputs[0].amount = prof.collateral_bronze;
        memcpy(tx->net_addr, "10.0.0.1:24100", 14);
        tx->net_addr_len = 14;
    } else if (kind == TC_TX_MN_RETIRE) {
        tx->mn_key = mn.pub;
    }
    tc_hash txid;
    tc_tx_id(tx, &txid);
    for (uint32_t i = 0; i < nin; i++)
        tc_tx_sign_input(tx, &txid, i, TC_SIG_ED25519, &kp);
    if (kind == TC_TX_MN_REGISTER)
        tc_tx_sign_mn(tx, &txid, TC_SIG_ED25519, &mn);
}

static void encode(const tc_tx *tx, uint8_t **buf, size_t *len)
{
    cr_assert_eq(tc_tx_encode_alloc(tx, buf, len), 0);
    cr_assert_eq(*len, tc_tx_encoded_size(tx), "size %zu vs %zu", *len, tc_tx_encoded_size(tx));
}

static void assert_same(const tc_tx *a, const tc_tx *b)
{
    cr_assert_eq(a->version, b->version);
    cr_assert_eq(a->kind, b->kind);
    cr_assert_eq(a->input_count, b->input_count);
    cr_assert_eq(a->output_count, b->output_count);
    if (a->input_count > 0)
        cr_assert_eq(memcmp(a->inputs, b->inputs, a->input_count * sizeof(tc_txin)), 0);
    if (a->output_count > 0)
        cr_assert_eq(memcmp(a->outputs, b->outputs, a->output_count * sizeof(tc_txout)), 0);
    cr_assert_eq(memcmp(a->mn_key.b, b->mn_key.b, TC_PUBKEY_SIZE), 0);
    cr_assert_eq(a->mn_tier, b->mn_tier);
    cr_assert_eq(a->net_addr_len, b->net_addr_len);
    cr_assert_eq(memcmp(a->net_addr, b->net_addr, a->net_addr_len), 0);
    cr_assert_eq(memcmp(a->mn_sig.b, b->mn_sig.b, TC_SIG_SIZE), 0);
}

static const tc_tx_kind all_kinds[] = {TC_TX_TRANSFER, TC_TX_MN_REGISTER, TC_TX_MN_RETIRE};

/* ---- encoding ---- */

Test(tx, round_trip_every_kind)
{
    for (size_t k = 0; k < TC_ARRAY_LEN(all_kinds); k++) {
        tc_tx tx, back;
        uint8_t *buf, *again;
        size_t len, len2;
        build(&tx, all_kinds[k], 3, 2);
        encode(&tx, &buf, &len);
        cr_assert_eq(tc_tx_decode(&back, buf, len), 0, "kind %d", all_kinds[k]);
        assert_same(&tx, &back);
        encode(&back, &again, &len2);
        cr_assert_eq(len2, len);
        cr_assert_eq(memcmp(buf, again, len), 0, "re-encoding is byte-identical");
        free(buf);
        free(again);
        tc_tx_deinit(&tx);
        tc_tx_deinit(&back);
    }
}

Test(tx, encoding_layout_is_the_documented_one)
{
    tc_tx tx;
    uint8_t *buf;
    size_t len;
    build(&tx, TC_TX_TRANSFER, 1, 1);
    encode(&tx, &buf, &len);
    cr_assert_eq(len, 2 + 1 + 4 + TC_TX_INPUT_SIZE + 4 + TC_TX_OUTPUT_SIZE);
    cr_assert_eq(buf[0], 1, "u16 version LE");
    cr_assert_eq(buf[1], 0);
    cr_assert_eq(buf[2], TC_TX_TRANSFER);
    cr_assert_eq(buf[3], 1, "u32 input count LE");
    cr_assert_eq(buf[4] | buf[5] | buf[6], 0);
    cr_assert_eq(memcmp(buf + 7, tx.inputs[0].prev.txid.b, TC_HASH_SIZE), 0);
    size_t out_at = 7 + TC_TX_INPUT_SIZE;
    cr_assert_eq(buf[out_at], 1, "u32 output count LE");
    cr_assert_eq(buf[out_at + 4], 10000 & 0xff, "u64 amount LE");
    cr_assert_eq(buf[out_at + 5], 10000 >> 8);
    free(buf);
    tc_tx_deinit(&tx);
}

Test(tx, every_short_prefix_is_rejected)
{
    for (size_t k = 0; k < TC_ARRAY_LEN(all_kinds); k++) {
        tc_tx tx, back;
        uint8_t *buf;
        size_t len;
        build(&tx, all_kinds[k], 2, 2);
        encode(&tx, &buf, &len);
        for (size_t n = 0; n < len; n++) {
            /* A heap copy of exactly n bytes, so ASan catches any read past the prefix. */
            uint8_t *pre = malloc(n > 0 ? n : 1);
            memcpy(pre, buf, n);
            int rc = tc_tx_decode(&back, pre, n);
            cr_assert_eq(rc, TC_ESHORT, "kind %d prefix %zu: %d", all_kinds[k], n, rc);
            cr_assert_null(back.inputs, "left empty on error");
            cr_assert_null(back.outputs);
            cr_assert_eq(back.input_count, 0);
            free(pre);
        }
        free(buf);
        tc_tx_deinit(&tx);
    }
}

Test(tx, trailing_byte_is_rejected)
{
    for (size_t k = 0; k < TC_ARRAY_LEN(all_kinds); k++) {
        tc_tx tx, back;
        uint8_t *buf;
        size_t len;
        build(&tx, all_kinds[k], 1, 1);
        encode(&tx, &buf, &len);
        uint8_t *longer = malloc(len + 1);
        memcpy(longer, buf, len);
        longer[len] = 0;
        cr_assert_eq(tc_tx_decode(&back, longer, len + 1), TC_ETRAILING);
        cr_assert_null(back.inputs);
        free(longer);
        free(buf);
        tc_tx_deinit(&tx);
    }
}

static void put_u32_at(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

Test(tx, input_count_over_hard_limit_is_toolong_before_allocating)
{
    tc_tx tx, back;
    uint8_t *buf;
    size_t len;
    build(&tx, TC_TX_TRANSFER, 1, 1);
    encode(&tx, &buf, &len);
    put_u32_at(buf + 3, TC_TX_INPUTS_HARD_MAX + 1);
    cr_assert_eq(tc_tx_decode(&back, buf, len), TC_ETOOLONG);
    put_u32_at(buf + 3, UINT32_MAX);
    cr_assert_eq(tc_tx_decode(&back, buf, len), TC_ETOOLONG);
    /* Within the hard limit but more than the bytes can hold: short, still before allocating. */
    put_u32_at(buf + 3, TC_TX_INPUTS_HARD_MAX);
    cr_assert_eq(tc_tx_decode(&back, buf, len), TC_ESHORT);
    free(buf);
    tc_tx_deinit(&tx);
}

Test(tx, output_count_over_hard_limit_is_toolong)
{
    tc_tx tx, back;
    uint8_t *buf;
    size_t len;
    build(&tx, TC_TX_TRANSFER, 1, 1);
    encode(&tx, &buf, &len);
    size_t at = 7 + TC_TX_INPUT_SIZE;
    put_u32_at(buf + at, TC_TX_OUTPUTS_HARD_MAX + 1);
    cr_assert_eq(tc_tx_decode(&back, buf, len), TC_ETOOLONG);
    put_u32_at(buf + at, 2);
    cr_assert_eq(tc_tx_decode(&back, buf, len), TC_ESHORT);
    free(buf);
    tc_tx_deinit(&tx);
}

Test(tx, net_addr_over_max_is_toolong)
{
    tc_tx tx, back;
    uint8_t *buf;
    size_t len;
    build(&tx, TC_TX_MN_REGISTER, 1, 1);
    encode(&tx, &buf, &len);
    /* net_addr length sits after outputs, mn_key and tier. */
    size_t at = 7 + TC_TX_INPUT_SIZE + 4 + TC_TX_OUTPUT_SIZE + TC_PUBKEY_SIZE + 1;
    cr_assert_eq(buf[at], tx.net_addr_len);
    put_u32_at(buf + at, TC_TX_NETADDR_MAX + 1);
    cr_assert_eq(tc_tx_decode(&back, buf, len), TC_ETOOLONG);
    free(buf);
    tc_tx_deinit(&tx);
}

Test(tx, bad_enums_are_range_errors)
{
    tc_tx tx, back;
    uint8_t *buf;
    size_t len;
    build(&tx, TC_TX_MN_REGISTER, 1, 1);
    encode(&tx, &buf, &len);
    size_t tier_at = 7 + TC_TX_INPUT_SIZE + 4 + TC_TX_OUTPUT_SIZE + TC_PUBKEY_SIZE;
    const struct {
        size_t at;
        uint8_t value;
    } cases[] = {
        {0, 0},                   /* version 0 */
        {0, 2},                   /* version 2 */
        {1, 1},                   /* version 257 */
        {2, TC_TX_KIND_COUNT},    /* unknown kind */
        {2, 0xff},                /* unknown kind */
        {tier_at, TC_TIER_COUNT}, /* unknown tier */
        {tier_at, 0xff},          /* unknown tier */
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        uint8_t saved = buf[cases[i].at];
        buf[cases[i].at] = cases[i].value;
        cr_assert_eq(tc_tx_decode(&back, buf, len), TC_ERANGE, "case %zu", i);
        buf[cases[i].at] = saved;
    }
    cr_assert_eq(tc_tx_decode(&back, buf, len), 0, "restored bytes decode");
    tc_tx_deinit(&back);
    free(buf);
    tc_tx_deinit(&tx);
}

Test(tx, read_leaves_trailing_bytes_for_the_caller)
{
    tc_tx tx, back;
    uint8_t *buf;
    size_t len;
    build(&tx, TC_TX_MN_RETIRE, 1, 1);
    encode(&tx, &buf, &len);
    uint8_t *two = malloc(2 * len);
    memcpy(two, buf, len);
    memcpy(two + len, buf, len);
    tc_reader r;
    tc_reader_init(&r, two, 2 * len);
    cr_assert_eq(tc_tx_read(&r, &back), 0);
    cr_assert_eq(r.left, len);
    tc_tx_deinit(&back);
    cr_assert_eq(tc_tx_read(&r, &back), 0);
    cr_assert_eq(tc_reader_finish(&r), 0);
    assert_same(&tx, &back);
    tc_tx_deinit(&back);
    free(two);
    free(buf);
    tc_tx_deinit(&tx);
}

Test(tx, copy_is_deep_and_equal)
{
    tc_tx tx, cp;
    build(&tx, TC_TX_MN_REGISTER, 2, 3);
    cr_assert_eq(tc_tx_copy(&cp, &tx), 0);
    assert_same(&tx, &cp);
    cr_assert_neq(cp.inputs, tx.inputs);
    cr_assert_neq(cp.outputs, tx.outputs);
    tc_tx_deinit(&tx);
    cr_assert_eq(cp.outputs[0].amount, prof.collateral_bronze, "the copy outlives the source");
    tc_tx_deinit(&cp);
}

Test(tx, init_alloc_rejects_counts_over_hard_limits)
{
    tc_tx tx;
    cr_assert_eq(tc_tx_init_alloc(&tx, TC_TX_TRANSFER, TC_TX_INPUTS_HARD_MAX + 1, 1), TC_ETOOLONG);
    cr_assert_null(tx.inputs);
    cr_assert_eq(tc_tx_init_alloc(&tx, TC_TX_TRANSFER, 1, TC_TX_OUTPUTS_HARD_MAX + 1), TC_ETOOLONG);
    cr_assert_null(tx.outputs);
}

/* ---- txid and signatures ---- */

Test(tx, txid_ignores_signatures_only)
{
    for (size_t k = 0; k < TC_ARRAY_LEN(all_kinds); k++) {
        tc_tx tx;
        tc_hash a, b;
        build(&tx, all_kinds[k], 2, 2);
        tc_tx_id(&tx, &a);
        memset(tx.inputs[0].sig.b, 0x77, TC_SIG_SIZE);
        memset(tx.inputs[1].sig.b, 0x00, TC_SIG_SIZE);
        if (all_kinds[k] == TC_TX_MN_REGISTER)
            memset(tx.mn_sig.b, 0x55, TC_SIG_SIZE);
        tc_tx_id(&tx, &b);
        cr_assert_eq(memcmp(a.b, b.b, TC_HASH_SIZE), 0, "kind %d: sigs changed the txid",
                     all_kinds[k]);
        tx.outputs[1].amount++;
        tc_tx_id(&tx, &b);
        cr_assert_neq(memcmp(a.b, b.b, TC_HASH_SIZE), 0, "an amount is covered");
        tx.outputs[1].amount--;
        tx.inputs[1].pub.b[5] ^= 1;
        tc_tx_id(&tx, &b);
        cr_assert_neq(memcmp(a.b, b.b, TC_HASH_SIZE), 0, "an input key is covered");
        tc_tx_deinit(&tx);
    }
}

Test(tx, txid_covers_the_registration_payload)
{
    tc_tx tx;
    tc_hash a, b;
    build(&tx, TC_TX_MN_REGISTER, 1, 1);
    tc_tx_id(&tx, &a);
    tx.net_addr[0] ^= 1;
    tc_tx_id(&tx, &b);
    cr_assert_neq(memcmp(a.b, b.b, TC_HASH_SIZE), 0);
    tx.net_addr[0] ^= 1;
    tx.mn_tier = TC_TIER_SILVER;
    tc_tx_id(&tx, &b);
    cr_assert_neq(memcmp(a.b, b.b, TC_HASH_SIZE), 0);
    tc_tx_deinit(&tx);
}

/* The txid computed independently of tc_tx_id's streaming: H(tc/tx, the full encoding minus the
 * signature fields), cut out of tc_tx_encode's output by hand. */
static void flat_txid(const tc_tx *tx, tc_hash *out)
{
    uint8_t *buf;
    size_t len;
    encode(tx, &buf, &len);
    uint8_t *flat = malloc(len);
    size_t n = 0, at = 0;
    memcpy(flat, buf, 7);
    n = at = 7;
    for (uint32_t i = 0; i < tx->input_count; i++) {
        memcpy(flat + n, buf + at, TC_HASH_SIZE + 4 + TC_PUBKEY_SIZE);
        n += TC_HASH_SIZE + 4 + TC_PUBKEY_SIZE;
        at += TC_TX_INPUT_SIZE;
    }
    /* Everything after the inputs, up to a registration's trailing mn_sig. */
    size_t rest = len - at - (tx->kind == TC_TX_MN_REGISTER ? TC_SIG_SIZE : 0);
    memcpy(flat + n, buf + at, rest);
    n += rest;
    tc_hash_tagged(out, TC_TAG_TX, flat, n);
    free(flat);
    free(buf);
}

Test(tx, txid_of_large_tx_streams_correctly)
{
    tc_tx tx;
    build(&tx, TC_TX_MN_REGISTER, 40, 30);
    tc_hash want, got;
    flat_txid(&tx, &want);
    tc_tx_id(&tx, &got);
    cr_assert_eq(memcmp(want.b, got.b, TC_HASH_SIZE), 0);
    tc_tx_deinit(&tx);
}

Test(tx, txid_is_the_same_across_every_chunk_boundary)
{
    /* tc_tx_id hashes a 2 KiB chunk at a time, emptied before a piece may not fit: sizes from
     * one piece to several chunks, of every kind, put every piece on either side of a flush. */
    for (size_t k = 0; k < TC_ARRAY_LEN(all_kinds); k++) {
        for (uint32_t nin = 1; nin <= 70; nin += 3) {
            for (uint32_t nout = 1; nout <= 7; nout += 3) {
                tc_tx tx;
                build(&tx, all_kinds[k], nin, nout);
                tc_hash want, got;
                flat_txid(&tx, &want);
                tc_tx_id(&tx, &got);
                cr_assert_eq(memcmp(want.b, got.b, TC_HASH_SIZE), 0, "kind %d, %u in, %u out",
                             all_kinds[k], nin, nout);
                tc_tx_deinit(&tx);
            }
        }
    }
}

Test(tx, encode_into_a_short_writer_fails_and_measures)
{
    tc_tx tx;
    build(&tx, TC_TX_MN_REGISTER, 3, 2);
    size_t size = tc_tx_encoded_size(&tx);
    uint8_t *buf = malloc(size);
    for (size_t cap = 0; cap < size; cap++) {
        tc_writer w;
        size_t len = 0;
        tc_writer_init(&w, cap > 0 ? buf : NULL, cap);
        tc_tx_encode(&w, &tx);
        cr_assert_eq(tc_writer_finish(&w, &len), TC_EENCODE, "cap %zu", cap);
        cr_assert_eq(len, size, "cap %zu: the writer counts the full size", cap);
    }
    free(buf);
    tc_tx_deinit(&tx);
}

Test(tx, input_signatures_verify_over_the_sighash)
{
    tc_tx tx;
    tc_hash txid, msg;
    build(&tx, TC_TX_MN_REGISTER, 2, 1);
    tc_tx_id(&tx, &txid);
    for (uint32_t i = 0; i < 2; i++) {
        tc_tx_sighash(&txid, i, &msg);
        cr_assert_eq(tc_verify_raw(TC_SIG_ED25519, &tx.inputs[i].pub, &msg, &tx.inputs[i].sig), 0);
    }
    tc_tx_sighash(&txid, 1, &msg);
    cr_assert_eq(tc_verify_raw(TC_SIG_ED25519, &tx.inputs[0].pub, &msg, &tx.inputs[0].sig),
                 TC_EBADSIG, "input 0's signature is bound to index 0");
    tc_tx_sighash(&txid, TC_TX_SIGHASH_MN, &msg);
    cr_assert_eq(tc_verify_raw(TC_SIG_ED25519, &tx.mn_key, &msg, &tx.mn_sig), 0);
    /* sighash = H(tc/sighash, txid || u32 LE index) */
    uint8_t raw[TC_HASH_SIZE + 4];
    memcpy(raw, txid.b, TC_HASH_SIZE);
    put_u32_at(raw + TC_HASH_SIZE, 1);
    tc_hash want;
    tc_hash_tagged(&want, TC_TAG_SIGHASH, raw, sizeof(raw));
    tc_tx_sighash(&txid, 1, &msg);
    cr_assert_eq(memcmp(want.b, msg.b, TC_HASH_SIZE), 0);
    tc_tx_deinit(&tx);
}

/* ---- stateless rules: one test per rule, each breaking only that rule ---- */

static int form_of(tc_tx_kind kind, uint32_t nin, uint32_t nout, void (*mutate)(tc_tx *))
{
    tc_tx tx;
    build(&tx, kind, nin, nout);
    if (mutate != NULL)
        mutate(&tx);
    int rc = tc_tx_check_form(&tx, &prof);
    tc_tx_deinit(&tx);
    return rc;
}

Test(tx, form_valid_of_every_kind)
{
    for (size_t k = 0; k < TC_ARRAY_LEN(all_kinds); k++)
        cr_assert_eq(form_of(all_kinds[k], 2, 2, NULL), 0, "kind %d", all_kinds[k]);
}

static void set_version_2(tc_tx *tx)
{
    tx->version = 2;
}
Test(tx, form_version)
{
    cr_assert_eq(form_of(TC_TX_TRANSFER, 1, 1, set_version_2), TC_ETX_VERSION);
}

static void drop_inputs(tc_tx *tx)
{
    tx->input_count = 0;
}
Test(tx, form_no_inputs)
{
    cr_assert_eq(form_of(TC_TX_TRANSFER, 1, 1, drop_inputs), TC_ETX_NO_INPUTS);
}

static void drop_outputs(tc_tx *tx)
{
    tx->output_count = 0;
}
Test(tx, form_no_outputs)
{
    cr_assert_eq(form_of(TC_TX_TRANSFER, 1, 1, drop_outputs), TC_ETX_NO_OUTPUTS);
}

Test(tx, form_too_many_inputs)
{
    cr_assert_eq(form_of(TC_TX_TRANSFER, prof.tx_inputs_max, 1, NULL), 0, "at the limit");
    cr_assert_eq(form_of(TC_TX_TRANSFER, prof.tx_inputs_max + 1, 1, NULL), TC_ETX_TOO_MANY_INPUTS);
}

Test(tx, form_too_many_outputs)
{
    cr_assert_eq(form_of(TC_TX_TRANSFER, 1, prof.tx_outputs_max, NULL), 0, "at the limit");
    cr_assert_eq(form_of(TC_TX_TRANSFER, 1, prof.tx_outputs_max + 1, NULL),
                 TC_ETX_TOO_MANY_OUTPUTS);
}

Test(tx, form_size)
{
    tc_tx tx;
    build(&tx, TC_TX_TRANSFER, 3, 3);
    uint32_t size = (uint32_t)tc_tx_encoded_size(&tx);
    prof.tx_size_max = size;
    cr_assert_eq(tc_tx_check_form(&tx, &prof), 0, "exactly at the limit");
    prof.tx_size_max = size - 1;
    cr_assert_eq(tc_tx_check_form(&tx, &prof), TC_ETX_SIZE);
    tc_tx_deinit(&tx);
}

static void dup_last_input(tc_tx *tx)
{
    tx->inputs[tx->input_count - 1].prev = tx->inputs[0].prev;
}
static void same_txid_other_index(tc_tx *tx)
{
    tx->inputs[1].prev.txid = tx->inputs[0].prev.txid;
    tx->inputs[1].prev.index = tx->inputs[0].prev.index + 1;
}
Test(tx, form_dup_input)
{
    cr_assert_eq(form_of(TC_TX_TRANSFER, 5, 1, dup_last_input), TC_ETX_DUP_INPUT);
    cr_assert_eq(form_of(TC_TX_TRANSFER, 2, 1, same_txid_other_index), 0,
                 "same txid, other index is a different outpoint");
}

static void zero_second_amount(tc_tx *tx)
{
    tx->outputs[1].amount = 0;
}
Test(tx, form_zero_amount)
{
    cr_assert_eq(form_of(TC_TX_TRANSFER, 1, 2, zero_second_amount), TC_ETX_ZERO_AMOUNT);
}

static void amount_545(tc_tx *tx)
{
    tx->outputs[0].amount = 545;
}
static void amount_546(tc_tx *tx)
{
    tx->outputs[0].amount = 546;
}
Test(tx, form_dust_at_boundary)
{
    cr_assert_eq(prof.dust_limit, 546);
    cr_assert_eq(form_of(TC_TX_TRANSFER, 1, 1, amount_545), TC_ETX_DUST);
    cr_assert_eq(form_of(TC_TX_TRANSFER, 1, 1, amount_546), 0);
}

static void overflow_outputs(tc_tx *tx)
{
    tx->outputs[0].amount = UINT64_MAX;
    tx->outputs[1].amount = 1000;
}
static void max_total_outputs(tc_tx *tx)
{
    tx->outputs[0].amount = UINT64_MAX - 1000;
    tx->outputs[1].amount = 1000;
}
Test(tx, form_output_sum_overflow)
{
    cr_assert_eq(form_of(TC_TX_TRANSFER, 1, 2, overflow_outputs), TC_EOVERFLOW);
    cr_assert_eq(form_of(TC_TX_TRANSFER, 1, 2, max_total_outputs), 0, "UINT64_MAX exactly fits");
}

static void transfer_with_key(tc_tx *tx)
{
    tx->mn_key.b[3] = 1;
}
static void transfer_with_addr(tc_tx *tx)
{
    tx->net_addr_len = 1;
}
Test(tx, form_kind_transfer_payload_must_be_zero)
{
    cr_assert_eq(form_of(TC_TX_TRANSFER, 1, 1, transfer_with_key), TC_ETX_KIND);
    cr_assert_eq(form_of(TC_TX_TRANSFER, 1, 1, transfer_with_addr), TC_ETX_KIND);
}

static void wrong_collateral(tc_tx *tx)
{
    tx->outputs[0].amount = prof.collateral_bronze + 1;
}
static void silver_with_bronze_collateral(tc_tx *tx)
{
    tx->mn_tier = TC_TIER_SILVER;
}
static void silver_with_silver_collateral(tc_tx *tx)
{
    tx->mn_tier = TC_TIER_SILVER;
    tx->outputs[0].amount = prof.collateral_silver;
}
static void bad_tier(tc_tx *tx)
{
    tx->mn_tier = TC_TIER_COUNT;
}
static void long_net_addr(tc_tx *tx)
{
    tx->net_addr_len = TC_TX_NETADDR_MAX + 1;
}
static void max_net_addr(tc_tx *tx)
{
    memset(tx->net_addr, 'a', TC_TX_NETADDR_MAX);
    tx->net_addr_len = TC_TX_NETADDR_MAX;
}
static void zero_mn_key(tc_tx *tx)
{
    memset(tx->mn_key.b, 0, TC_PUBKEY_SIZE);
}
Test(tx, form_kind_registration_rules)
{
    cr_assert_eq(form_of(TC_TX_MN_REGISTER, 1, 1, wrong_collateral), TC_ETX_KIND);
    cr_assert_eq(form_of(TC_TX_MN_REGISTER, 1, 1, silver_with_bronze_collateral), TC_ETX_KIND);
    cr_assert_eq(form_of(TC_TX_MN_REGISTER, 1, 1, silver_with_silver_collateral), 0);
    cr_assert_eq(form_of(TC_TX_MN_REGISTER, 1, 1, bad_tier), TC_ETX_KIND);
    cr_assert_eq(form_of(TC_TX_MN_REGISTER, 1, 1, max_net_addr), 0);
    cr_assert_eq(form_of(TC_TX_MN_REGISTER, 1, 1, zero_mn_key), TC_ETX_KIND);
}

Test(tx, form_kind_registration_net_addr_over_max)
{
    /* The check must not encode first (the encoder asserts the bound). */
    tc_tx tx;
    build(&tx, TC_TX_MN_REGISTER, 1, 1);
    long_net_addr(&tx);
    cr_assert_eq(tc_tx_check_form(&tx, &prof), TC_ETX_KIND);
    tc_tx_deinit(&tx);
}

static void retire_with_tier(tc_tx *tx)
{
    tx->mn_tier = TC_TIER_GOLD;
}
static void retire_with_sig(tc_tx *tx)
{
    tx->mn_sig.b[0] = 1;
}
Test(tx, form_kind_retirement_rules)
{
    cr_assert_eq(form_of(TC_TX_MN_RETIRE, 1, 1, retire_with_tier), TC_ETX_KIND);
    cr_assert_eq(form_of(TC_TX_MN_RETIRE, 1, 1, retire_with_sig), TC_ETX_KIND);
    cr_assert_eq(form_of(TC_TX_MN_RETIRE, 1, 1, zero_mn_key), TC_ETX_KIND);
}

static void unknown_kind(tc_tx *tx)
{
    tx->kind = TC_TX_KIND_COUNT;
}
Test(tx, form_kind_unknown)
{
    cr_assert_eq(form_of(TC_TX_TRANSFER, 1, 1, unknown_kind), TC_ETX_KIND);
}

static void dust_and_dup(tc_tx *tx)
{
    tx->outputs[0].amount = 1;
    tx->inputs[1].prev = tx->inputs[0].prev;
}
static void zero_and_dust(tc_tx *tx)
{
    tx->outputs[0].amount = 1;
    tx->outputs[1].amount = 0;
}
Test(tx, form_reports_the_first_rule_in_order)
{
    cr_assert_eq(form_of(TC_TX_TRANSFER, 2, 2, dust_and_dup), TC_ETX_DUP_INPUT);
    cr_assert_eq(form_of(TC_TX_TRANSFER, 2, 2, zero_and_dust), TC_ETX_ZERO_AMOUNT);
}

/* ---- fees ---- */

Test(tx, min_fee_arithmetic_at_boundaries)
{
    const struct {
        uint64_t total, fee;
    } cases[] = {
        {0, 1000},
        {999, 1000},
        {1000, 1001},
        {1999, 1001},
        {2000, 1002},
        {1000000, 2000},
        {UINT64_MAX, UINT64_MAX / 1000 + 1000},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        uint64_t fee = 7;
        cr_assert_eq(tc_tx_min_fee(&prof, cases[i].total, &fee), 0);
        cr_assert_eq(fee, cases[i].fee, "total %lu: fee %lu, want %lu",
                     (unsigned long)cases[i].total, (unsigned long)fee,
                     (unsigned long)cases[i].fee);
    }
}

Test(tx, min_fee_overflow_is_detected)
{
    uint64_t fee = 7;
    prof.min_fee_per_mille = 1000; /* 100% */
    prof.min_fee_base = 0;
    cr_assert_eq(tc_tx_min_fee(&prof, UINT64_MAX, &fee), 0);
    cr_assert_eq(fee, UINT64_MAX, "the largest representable fee is fine");
    prof.min_fee_base = 1;
    cr_assert_eq(tc_tx_min_fee(&prof, UINT64_MAX, &fee), TC_EOVERFLOW, "the base overflows");
    cr_assert_eq(fee, 0, "cleared on failure");
    prof.min_fee_per_mille = 1001;
    prof.min_fee_base = 0;
    cr_assert_eq(tc_tx_min_fee(&prof, UINT64_MAX, &fee), TC_EOVERFLOW, "the product overflows");
    prof.min_fee_per_mille = UINT32_MAX;
    cr_assert_eq(tc_tx_min_fee(&prof, 999, &fee), 0, "r * pm stays in range");
    cr_assert_eq(fee, (uint64_t)999 * UINT32_MAX / 1000);
}

Test(tx, output_total)
{
    tc_tx tx;
    uint64_t total = 1;
    build(&tx, TC_TX_TRANSFER, 1, 3);
    cr_assert_eq(tc_tx_output_total(&tx, &total), 0);
    cr_assert_eq(total, 10000 + 10001 + 10002);
    tx.outputs[2].amount = UINT64_MAX;
    cr_assert_eq(tc_tx_output_total(&tx, &total), TC_EOVERFLOW);
    cr_assert_eq(total, 0);
    tc_tx_deinit(&tx);
}

/* ---- helpers ---- */

Test(tx, address_is_truncated_tagged_hash)
{
    tc_keypair kp;
    tc_addr_hash a;
    tc_hash h;
    ts_keypair(&kp, 9);
    tc_addr_from_pubkey(&kp.pub, &a);
    tc_hash_tagged(&h, TC_TAG_ADDR, kp.pub.b, TC_PUBKEY_SIZE);
    cr_assert_eq(memcmp(a.b, h.b, TC_ADDR_HASH_SIZE), 0);
}

Test(tx, outpoint_key_is_big_endian_and_orders_like_cmp)
{
    tc_outpoint a = {.index = 0x01020304}, b = {.index = 0x01020305}, c = {.index = 0};
    memset(a.txid.b, 7, TC_HASH_SIZE);
    b.txid = a.txid;
    memset(c.txid.b, 8, TC_HASH_SIZE);
    uint8_t ka[TC_OUTPOINT_SIZE], kb[TC_OUTPOINT_SIZE], kc[TC_OUTPOINT_SIZE];
    tc_outpoint_key(&a, ka);
    tc_outpoint_key(&b, kb);
    tc_outpoint_key(&c, kc);
    cr_assert_eq(memcmp(ka, a.txid.b, TC_HASH_SIZE), 0);
    cr_assert_eq(ka[32], 1);
    cr_assert_eq(ka[35], 4);
    cr_assert_lt(tc_outpoint_cmp(&a, &b), 0);
    cr_assert_lt(memcmp(ka, kb, TC_OUTPOINT_SIZE), 0);
    cr_assert_gt(tc_outpoint_cmp(&c, &b), 0, "txid decides before the index");
    cr_assert_gt(memcmp(kc, kb, TC_OUTPOINT_SIZE), 0);
    cr_assert_eq(tc_outpoint_cmp(&a, &a), 0);
}

Test(tx, tier_helpers)
{
    cr_assert_str_eq(tc_tier_name(TC_TIER_BRONZE), "bronze");
    cr_assert_str_eq(tc_tier_name(TC_TIER_SILVER), "silver");
    cr_assert_str_eq(tc_tier_name(TC_TIER_GOLD), "gold");
    for (unsigned t = 0; t < TC_TIER_COUNT; t++) {
        tc_tier back;
        cr_assert_eq(tc_tier_parse(tc_tier_name((tc_tier)t), &back), 0);
        cr_assert_eq(back, t);
    }
    tc_tier out;
    cr_assert_eq(tc_tier_parse("platinum", &out), TC_EINVAL);
    cr_assert_eq(tc_tier_parse("Gold", &out), TC_EINVAL, "names are exact");
    cr_assert_eq(tc_tier_collateral(&prof, TC_TIER_BRONZE), 1000 * TC_UNITS_PER_TIME);
    cr_assert_eq(tc_tier_collateral(&prof, TC_TIER_SILVER), 10000 * TC_UNITS_PER_TIME);
    cr_assert_eq(tc_tier_collateral(&prof, TC_TIER_GOLD), 100000 * TC_UNITS_PER_TIME);
    cr_assert_eq(tc_tier_weight(&prof, TC_TIER_BRONZE), 1);
    cr_assert_eq(tc_tier_weight(&prof, TC_TIER_SILVER), 10);
    cr_assert_eq(tc_tier_weight(&prof, TC_TIER_GOLD), 100);
}

/* tc_tx_equal sees every field, the signatures the txid leaves out among them. */
static void flip_sig(tc_tx *tx)
{
    tx->inputs[1].sig.b[5] ^= 1;
}
static void flip_pub(tc_tx *tx)
{
    tx->inputs[0].pub.b[0] ^= 1;
}
static void flip_prev(tc_tx *tx)
{
    tx->inputs[1].prev.index ^= 1;
}
static void flip_amount(tc_tx *tx)
{
    tx->outputs[1].amount++;
}
static void flip_addr(tc_tx *tx)
{
    tx->outputs[0].addr.b[19] ^= 1;
}
static void flip_mn_sig(tc_tx *tx)
{
    tx->mn_sig.b[0] ^= 1;
}
static void flip_net_addr(tc_tx *tx)
{
    tx->net_addr[3] ^= 1;
}
static void flip_tier(tc_tx *tx)
{
    tx->mn_tier = TC_TIER_SILVER;
}

Test(tx, equal_sees_every_field)
{
    void (*const flips[])(tc_tx *) = {flip_sig,  flip_pub,    flip_prev,     flip_amount,
                                      flip_addr, flip_mn_sig, flip_net_addr, flip_tier};
    for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
        tc_tx a, b;
        build(&a, TC_TX_MN_REGISTER, 2, 2);
        cr_assert_eq(tc_tx_copy(&b, &a), 0);
        cr_assert(tc_tx_equal(&a, &b), "a copy is equal");
        flips[i](&b);
        cr_assert_not(tc_tx_equal(&a, &b), "change %zu is seen", i);
        cr_assert_not(tc_tx_equal(&b, &a), "change %zu is seen both ways", i);
        tc_tx_deinit(&a);
        tc_tx_deinit(&b);
    }
    tc_tx a, b;
    build(&a, TC_TX_TRANSFER, 2, 2);
    build(&b, TC_TX_TRANSFER, 2, 1);
    cr_assert_not(tc_tx_equal(&a, &b), "output counts differ");
    tc_tx_deinit(&a);
    tc_tx_deinit(&b);
}

/* ---- the input memo ---- */

static void memo_input(uint32_t n, tc_hash *txid, tc_pubkey *pub, tc_sig *sig, tc_addr_hash *owner)
{
    memset(txid, 0, sizeof(*txid));
    memset(pub, 0, sizeof(*pub));
    memset(sig, 0, sizeof(*sig));
    memset(owner, 0, sizeof(*owner));
    memcpy(txid->b, &n, sizeof(n));
    txid->b[31] = 0x77;
    pub->b[0] = (uint8_t)n;
    sig->b[63] = (uint8_t)(n >> 8);
    owner->b[0] = (uint8_t)(n * 3);
}

/* A put input is found whole and nothing else is: each field of the key matters, and the owner
 * comes back as put. */
Test(tx, input_memo_matches_every_field_of_its_key)
{
    tc_input_memo *m = tc_input_memo_new(16);
    cr_assert_not_null(m);
    tc_hash txid;
    tc_pubkey pub;
    tc_sig sig;
    tc_addr_hash owner, got;
    memo_input(5, &txid, &pub, &sig, &owner);
    cr_assert_not(tc_input_memo_get(m, TC_SIG_FAST, &txid, 0, &pub, &sig, &got), "empty");
    tc_input_memo_put(m, TC_SIG_FAST, &txid, 0, &pub, &sig, &owner);
    cr_assert(tc_input_memo_get(m, TC_SIG_FAST, &txid, 0, &pub, &sig, &got), "put, then found");
    cr_assert_eq(memcmp(got.b, owner.b, TC_ADDR_HASH_SIZE), 0, "the owner put");
    cr_assert_not(tc_input_memo_get(m, TC_SIG_ED25519, &txid, 0, &pub, &sig, &got), "scheme");
    cr_assert_not(tc_input_memo_get(m, TC_SIG_FAST, &txid, 1, &pub, &sig, &got), "index");
    tc_hash t2 = txid;
    t2.b[17] ^= 1;
    cr_assert_not(tc_input_memo_get(m, TC_SIG_FAST, &t2, 0, &pub, &sig, &got), "txid");
    tc_pubkey p2 = pub;
    p2.b[31] ^= 1;
    cr_assert_not(tc_input_memo_get(m, TC_SIG_FAST, &txid, 0, &p2, &sig, &got), "key");
    tc_sig s2 = sig;
    s2.b[40] ^= 1;
    cr_assert_not(tc_input_memo_get(m, TC_SIG_FAST, &txid, 0, &pub, &s2, &got), "signature");
    tc_input_memo_put(m, TC_SIG_FAST, &txid, 0, &pub, &sig, &owner); /* again: no new entry */
    tc_verify_cache_stats st;
    tc_input_memo_stats_get(m, &st);
    cr_assert_eq(st.hits, 1, "one hit (%llu)", (unsigned long long)st.hits);
    cr_assert_eq(st.misses, 6, "six misses (%llu)", (unsigned long long)st.misses);
    cr_assert_eq(st.evictions, 0, "nothing evicted");
    tc_input_memo_free(m);
}

/* The memo holds at most its capacity rounded up to whole 4-way sets (16 here: 4 sets): of 200
 * inputs put, at most 16 are found, the most recent ones of their sets, and 184 were evicted. */
Test(tx, input_memo_is_bounded)
{
    tc_input_memo *m = tc_input_memo_new(16);
    cr_assert_not_null(m);
    tc_hash txid;
    tc_pubkey pub;
    tc_sig sig;
    tc_addr_hash owner, got;
    for (uint32_t n = 0; n < 200; n++) {
        memo_input(n, &txid, &pub, &sig, &owner);
        tc_input_memo_put(m, TC_SIG_FAST, &txid, n % 3, &pub, &sig, &owner);
    }
    uint32_t found = 0;
    for (uint32_t n = 0; n < 200; n++) {
        memo_input(n, &txid, &pub, &sig, &owner);
        if (tc_input_memo_get(m, TC_SIG_FAST, &txid, n % 3, &pub, &sig, &got)) {
            found++;
            cr_assert_eq(memcmp(got.b, owner.b, TC_ADDR_HASH_SIZE), 0, "input %u's owner", n);
        }
    }
    cr_assert_leq(found, 16, "at most the capacity is held (%u)", found);
    cr_assert_geq(found, 8, "the last inputs of each set are held (%u)", found);
    tc_verify_cache_stats st;
    tc_input_memo_stats_get(m, &st);
    cr_assert_eq(st.evictions, 200 - found, "every put beyond the sets' room evicted one (%llu)",
                 (unsigned long long)st.evictions);
    tc_input_memo_free(m);
}
