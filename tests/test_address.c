/* test_address.c — text addresses: golden encodings, round trips, leading zeros, error codes, and
 * exhaustive rejection of single-character typos and adjacent transpositions. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "address.h"
#include "crypto.h"
#include "support.h"
#include "tx.h"

static void setup(void)
{
    cr_assert_eq(tc_crypto_init(), 0);
}

TestSuite(address, .init = setup);

static tc_addr_hash filled(uint8_t byte)
{
    tc_addr_hash h;
    memset(h.b, byte, sizeof(h.b));
    return h;
}

/* Encodings computed by an independent Python implementation of PROTOCOL 2 and address.h:
 * "TIME" + digit + base58(hash || blake2b(b"tc/addrsum" + net + hash, 32)[:4]). */
Test(address, golden_encodings)
{
    static const struct {
        tc_network net;
        uint8_t fill;
        const char *text;
    } cases[] = {
        {TC_NET_TESTNET, 0x01, "TIME06Jswqk47s9PUcyCc88MMVwzgvHPPtikt"},
        {TC_NET_MAINNET, 0x01, "TIME16Jswqk47s9PUcyCc88MMVwzgvHScWr9o"},
        {TC_NET_TESTNET, 0x00, "TIME0111111111111111111114j9Ewd"},
        {TC_NET_TESTNET, 0xff, "TIME0QLbz7JHiBTspS962RLKV8GndWFwdmjzBQ"},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        char text[TC_ADDRESS_TEXT_MAX];
        tc_addr_hash h = filled(cases[i].fill);
        tc_addr_hash back;
        tc_address_encode(cases[i].net, &h, text);
        cr_assert_str_eq(text, cases[i].text, "case %zu", i);
        cr_assert_eq(tc_address_decode(text, cases[i].net, &back), 0);
        cr_assert_eq(memcmp(back.b, h.b, TC_ADDR_HASH_SIZE), 0);
    }
}

Test(address, all_zero_hash_round_trips_through_leading_ones)
{
    char text[TC_ADDRESS_TEXT_MAX];
    tc_addr_hash zero = filled(0);
    tc_addr_hash back = filled(0xaa);
    tc_address_encode(TC_NET_TESTNET, &zero, text);
    cr_assert_eq(strncmp(text + TC_ADDRESS_PREFIX_LEN, "11111111111111111111", 20), 0,
                 "twenty zero bytes are twenty leading '1's: %s", text);
    cr_assert_eq(tc_address_decode(text, TC_NET_TESTNET, &back), 0);
    cr_assert_eq(memcmp(back.b, zero.b, TC_ADDR_HASH_SIZE), 0);
    /* One '1' less or more changes the byte count. */
    char shorter[TC_ADDRESS_TEXT_MAX + 1];
    char longer[TC_ADDRESS_TEXT_MAX + 1];
    snprintf(shorter, sizeof(shorter), "TIME0%s", text + TC_ADDRESS_PREFIX_LEN + 1);
    snprintf(longer, sizeof(longer), "TIME01%s", text + TC_ADDRESS_PREFIX_LEN);
    cr_assert_eq(tc_address_decode(shorter, TC_NET_TESTNET, &back), TC_EADDR_LENGTH);
    cr_assert_eq(tc_address_decode(longer, TC_NET_TESTNET, &back), TC_EADDR_LENGTH);
}

Test(address, random_hashes_round_trip_on_both_networks)
{
    tc_rng rng;
    tc_rng_init_u64(&rng, 5);
    for (int i = 0; i < 2000; i++) {
        tc_addr_hash h;
        tc_addr_hash back;
        tc_network net_back;
        char text[TC_ADDRESS_TEXT_MAX];
        tc_rng_bytes(&rng, h.b, sizeof(h.b));
        /* Leading zero bytes are the interesting case for base58: make them common. */
        size_t zeros = (size_t)tc_rng_below(&rng, 4);
        memset(h.b, 0, zeros);
        tc_network net = (tc_network)(i & 1);
        tc_address_encode(net, &h, text);
        cr_assert_lt(strlen(text), TC_ADDRESS_TEXT_MAX);
        cr_assert_eq(tc_address_decode_any(text, &net_back, &back), 0, "%s", text);
        cr_assert_eq(net_back, net);
        cr_assert_eq(memcmp(back.b, h.b, TC_ADDR_HASH_SIZE), 0, "%s", text);
    }
}

Test(address, key_address_round_trips)
{
    tc_keypair kp;
    tc_addr_hash h;
    tc_addr_hash back;
    char text[TC_ADDRESS_TEXT_MAX];
    ts_keypair(&kp, 1);
    tc_addr_from_pubkey(&kp.pub, &h);
    tc_address_encode(TC_NET_MAINNET, &h, text);
    cr_assert_eq(strncmp(text, "TIME1", 5), 0, "%s", text);
    cr_assert_eq(tc_address_decode(text, TC_NET_MAINNET, &back), 0);
    cr_assert_eq(memcmp(back.b, h.b, TC_ADDR_HASH_SIZE), 0);
}

Test(address, error_codes_name_the_problem_and_clear_the_output)
{
    char good[TC_ADDRESS_TEXT_MAX];
    char buf[128];
    tc_addr_hash h = filled(0x42);
    tc_addr_hash out;
    tc_address_encode(TC_NET_TESTNET, &h, good);
    static const struct {
        const char *text;
        int rc;
    } fixed[] = {
        {"", TC_EADDR_PREFIX},
        {"TIME", TC_EADDR_PREFIX},
        {"TIME2abc", TC_EADDR_PREFIX},
        {"time0abc", TC_EADDR_PREFIX},
        {"XTIME0abc", TC_EADDR_PREFIX},
        {"TIME0", TC_EADDR_LENGTH},
        {"TIME0abc0", TC_EADDR_CHAR},
        {"TIME0abcO", TC_EADDR_CHAR},
        {"TIME0abcI", TC_EADDR_CHAR},
        {"TIME0abcl", TC_EADDR_CHAR},
        {"TIME0abc ", TC_EADDR_CHAR},
        {"TIME0abc\xc3\xa9", TC_EADDR_CHAR},
        {"TIME0abc", TC_EADDR_LENGTH},
        {"TIME0zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", TC_EADDR_LENGTH}, /* 34 characters */
        {"TIME0zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", TC_EADDR_LENGTH},  /* 33, value too big */
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(fixed); i++) {
        out = filled(0x77);
        cr_assert_eq(tc_address_decode(fixed[i].text, TC_NET_TESTNET, &out), fixed[i].rc,
                     "\"%s\": want %d", fixed[i].text, fixed[i].rc);
        cr_assert_eq(memcmp(out.b, filled(0).b, TC_ADDR_HASH_SIZE), 0, "output cleared");
    }
    out = filled(0x77);
    cr_assert_eq(tc_address_decode(good, TC_NET_MAINNET, &out), TC_EADDR_NETWORK);
    cr_assert_eq(memcmp(out.b, filled(0).b, TC_ADDR_HASH_SIZE), 0, "output cleared");
    /* The same body under the other prefix: the checksum covers the network, so it is a typo. */
    snprintf(buf, sizeof(buf), "TIME1%s", good + TC_ADDRESS_PREFIX_LEN);
    cr_assert_eq(tc_address_decode(buf, TC_NET_MAINNET, &out), TC_EADDR_CHECKSUM);
    snprintf(buf, sizeof(buf), "%s ", good);
    cr_assert_eq(tc_address_decode(buf, TC_NET_TESTNET, &out), TC_EADDR_CHAR, "trailing space");
}

/* Every variant of text that is not text itself must be rejected. */
static void assert_rejected(const char *variant, const char *orig, tc_network net)
{
    tc_addr_hash out;
    int rc = tc_address_decode(variant, net, &out);
    cr_assert_neq(rc, 0, "typo \"%s\" of \"%s\" was accepted", variant, orig);
}

static void exhaust_typos(const char *text, tc_network net)
{
    char v[TC_ADDRESS_TEXT_MAX + 2];
    size_t n = strlen(text);
    for (size_t pos = 0; pos < n; pos++) {
        /* Substitutions by every printable ASCII character. */
        for (int ch = 0x21; ch < 0x7f; ch++) {
            if (ch == text[pos])
                continue;
            memcpy(v, text, n + 1);
            v[pos] = (char)ch;
            assert_rejected(v, text, net);
        }
        /* Adjacent transpositions. */
        if (pos + 1 < n && text[pos] != text[pos + 1]) {
            memcpy(v, text, n + 1);
            v[pos] = text[pos + 1];
            v[pos + 1] = text[pos];
            assert_rejected(v, text, net);
        }
        /* Deletions and insertions (a dropped or doubled keystroke). */
        memcpy(v, text, pos);
        memcpy(v + pos, text + pos + 1, n - pos);
        assert_rejected(v, text, net);
        memcpy(v, text, pos);
        v[pos] = text[pos];
        memcpy(v + pos + 1, text + pos, n - pos + 1);
        assert_rejected(v, text, net);
    }
}

Test(address, every_single_character_typo_and_transposition_is_rejected)
{
    tc_rng rng;
    tc_rng_init_u64(&rng, 11);
    for (int i = 0; i < 8; i++) {
        char text[TC_ADDRESS_TEXT_MAX];
        tc_addr_hash h;
        tc_rng_bytes(&rng, h.b, sizeof(h.b));
        if (i == 0)
            h = filled(0);
        if (i == 1)
            h = filled(0xff);
        if (i == 2)
            memset(h.b, 0, 3);
        tc_network net = (tc_network)(i & 1);
        tc_address_encode(net, &h, text);
        exhaust_typos(text, net);
    }
}
