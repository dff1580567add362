/* address.c — base58check text addresses: encoding, decoding and the typo-catching checksum. */
#include "address.h"

#include <string.h>

#include "crypto.h"

/* The checksum's own domain tag: it hashes (network || hash20), a value nothing else hashes, and
 * keeping the tag local to this file means no other module can produce one by accident. */
#define ADDRSUM_TAG "tc/addrsum"

#define CHECKSUM_SIZE 4
#define PAYLOAD_SIZE  (TC_ADDR_HASH_SIZE + CHECKSUM_SIZE)

static const char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char prefix_stem[] = "TIME";

_Static_assert(sizeof(alphabet) == 58 + 1, "base58 alphabet");
_Static_assert(sizeof(prefix_stem) == TC_ADDRESS_PREFIX_LEN, "prefix is stem + network digit");
/* Every payload fits the body bound: 24 bytes of value below 58^33. */
_Static_assert(PAYLOAD_SIZE == 24 && TC_ADDRESS_BODY_MAX == 33, "recheck the body bound");

static void checksum(tc_network net, const tc_addr_hash *hash, uint8_t out[CHECKSUM_SIZE])
{
    uint8_t buf[1 + TC_ADDR_HASH_SIZE];
    tc_hash digest;
    buf[0] = (uint8_t)net;
    memcpy(buf + 1, hash->b, TC_ADDR_HASH_SIZE);
    tc_hash_tagged(&digest, ADDRSUM_TAG, buf, sizeof(buf));
    memcpy(out, digest.b, CHECKSUM_SIZE);
}

/* Base58 of the payload into out (NUL-terminated). Returns the number of characters. */
static size_t b58_encode(const uint8_t in[PAYLOAD_SIZE], char out[TC_ADDRESS_BODY_MAX + 1])
{
    uint8_t digits[TC_ADDRESS_BODY_MAX]; /* base58 digits, least significant first */
    size_t zeros = 0;
    size_t len = 0;
    while (zeros < PAYLOAD_SIZE && in[zeros] == 0)
        zeros++;
    for (size_t i = zeros; i < PAYLOAD_SIZE; i++) {
        unsigned carry = in[i];
        for (size_t j = 0; j < len; j++) {
            carry += (unsigned)digits[j] << 8;
            digits[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry > 0) {
            TC_ASSERT(len < sizeof(digits));
            digits[len++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    TC_ASSERT(zeros + len <= TC_ADDRESS_BODY_MAX);
    /* Each leading zero byte is one leading '1' (digit zero): that is what makes it reversible. */
    memset(out, alphabet[0], zeros);
    for (size_t j = 0; j < len; j++)
        out[zeros + j] = alphabet[digits[len - 1 - j]];
    out[zeros + len] = '\0';
    return zeros + len;
}

/* Decodes a body of valid base58 characters. TC_EADDR_LENGTH unless it is exactly 24 bytes. */
static int b58_decode(const char *s, size_t n, uint8_t out[PAYLOAD_SIZE])
{
    uint8_t bytes[PAYLOAD_SIZE]; /* base-256 value, least significant first */
    size_t ones = 0;
    size_t len = 0;
    TC_ASSERT(n <= TC_ADDRESS_BODY_MAX);
    while (ones < n && s[ones] == alphabet[0])
        ones++;
    for (size_t i = ones; i < n; i++) {
        const char *at = strchr(alphabet, s[i]);
        TC_ASSERT(at != NULL && s[i] != '\0');
        unsigned carry = (unsigned)(at - alphabet);
        for (size_t j = 0; j < len; j++) {
            carry += (unsigned)bytes[j] * 58u;
            bytes[j] = (uint8_t)(carry & 0xffu);
            carry >>= 8;
        }
        while (carry > 0) {
            if (len == PAYLOAD_SIZE)
                return TC_EADDR_LENGTH;
            bytes[len++] = (uint8_t)(carry & 0xffu);
            carry >>= 8;
        }
    }
    if (ones + len != PAYLOAD_SIZE)
        return TC_EADDR_LENGTH;
    memset(out, 0, ones);
    for (size_t j = 0; j < len; j++)
        out[PAYLOAD_SIZE - 1 - j] = bytes[j];
    return 0;
}

void tc_address_encode(tc_network net, const tc_addr_hash *hash, char out[TC_ADDRESS_TEXT_MAX])
{
    TC_ASSERT(net == TC_NET_TESTNET || net == TC_NET_MAINNET);
    TC_ASSERT(hash != NULL && out != NULL);
    uint8_t payload[PAYLOAD_SIZE];
    memcpy(payload, hash->b, TC_ADDR_HASH_SIZE);
    checksum(net, hash, payload + TC_ADDR_HASH_SIZE);
    memcpy(out, prefix_stem, TC_ADDRESS_PREFIX_LEN - 1);
    out[TC_ADDRESS_PREFIX_LEN - 1] = (char)('0' + (int)net);
    size_t n = b58_encode(payload, out + TC_ADDRESS_PREFIX_LEN);
    TC_ASSERT(n > 0 && TC_ADDRESS_PREFIX_LEN + n < TC_ADDRESS_TEXT_MAX);
}

/* Checks the text's shape and decodes it; the network comes from the prefix digit. */
static int decode_text(const char *text, tc_network *net_out, tc_addr_hash *out)
{
    uint8_t payload[PAYLOAD_SIZE];
    uint8_t want[CHECKSUM_SIZE];
    if (strncmp(text, prefix_stem, TC_ADDRESS_PREFIX_LEN - 1) != 0)
        return TC_EADDR_PREFIX;
    char digit = text[TC_ADDRESS_PREFIX_LEN - 1];
    if (digit != '0' && digit != '1')
        return TC_EADDR_PREFIX;
    tc_network net = digit == '0' ? TC_NET_TESTNET : TC_NET_MAINNET;
    const char *body = text + TC_ADDRESS_PREFIX_LEN;
    size_t n = strlen(body);
    if (strspn(body, alphabet) != n)
        return TC_EADDR_CHAR;
    if (n == 0 || n > TC_ADDRESS_BODY_MAX)
        return TC_EADDR_LENGTH;
    int rc = b58_decode(body, n, payload);
    if (rc != 0)
        return rc;
    memcpy(out->b, payload, TC_ADDR_HASH_SIZE);
    checksum(net, out, want);
    if (memcmp(want, payload + TC_ADDR_HASH_SIZE, CHECKSUM_SIZE) != 0)
        return TC_EADDR_CHECKSUM;
    *net_out = net;
    return 0;
}

int tc_address_decode_any(const char *text, tc_network *net_out, tc_addr_hash *out)
{
    TC_ASSERT(text != NULL && net_out != NULL && out != NULL);
    int rc = decode_text(text, net_out, out);
    if (rc != 0) {
        memset(out, 0, sizeof(*out));
        *net_out = TC_NET_TESTNET;
    }
    return rc;
}

int tc_address_decode(const char *text, tc_network expected, tc_addr_hash *out)
{
    TC_ASSERT(expected == TC_NET_TESTNET || expected == TC_NET_MAINNET);
    tc_network net;
    int rc = tc_address_decode_any(text, &net, out);
    if (rc == 0 && net != expected) {
        memset(out, 0, sizeof(*out));
        rc = TC_EADDR_NETWORK;
    }
    return rc;
}
