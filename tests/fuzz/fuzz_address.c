/* fuzz_address.c — libFuzzer target for address text: decoding any bytes never crashes, and
 * every text that decodes re-encodes to exactly itself (the text <-> bytes map is a bijection),
 * while every hash encodes to a text that decodes back to it. */
#include <stdint.h>
#include <string.h>

#include "address.h"
#include "crypto.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    TC_ASSERT(tc_crypto_init() == 0);
    return 0;
}

/* Input as text: a decodable text must re-encode to itself, under its own network only. */
static void check_text(const uint8_t *data, size_t size)
{
    char text[256];
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    tc_network net;
    tc_addr_hash h;
    int rc = tc_address_decode_any(text, &net, &h);
    if (rc != 0) {
        TC_ASSERT(rc == TC_EADDR_PREFIX || rc == TC_EADDR_CHAR || rc == TC_EADDR_LENGTH ||
                  rc == TC_EADDR_CHECKSUM);
        return;
    }
    char again[TC_ADDRESS_TEXT_MAX];
    tc_address_encode(net, &h, again);
    TC_ASSERT(strcmp(again, text) == 0);
    tc_addr_hash h2;
    tc_network other = net == TC_NET_TESTNET ? TC_NET_MAINNET : TC_NET_TESTNET;
    TC_ASSERT(tc_address_decode(text, net, &h2) == 0);
    TC_ASSERT(memcmp(h.b, h2.b, TC_ADDR_HASH_SIZE) == 0);
    TC_ASSERT(tc_address_decode(text, other, &h2) == TC_EADDR_NETWORK);
}

/* Input as a hash: encode then decode must give it back. */
static void check_hash(const uint8_t *data, size_t size)
{
    if (size < TC_ADDR_HASH_SIZE + 1)
        return;
    tc_addr_hash h;
    tc_addr_hash back;
    char text[TC_ADDRESS_TEXT_MAX];
    memcpy(h.b, data, TC_ADDR_HASH_SIZE);
    tc_network net = (data[TC_ADDR_HASH_SIZE] & 1) ? TC_NET_MAINNET : TC_NET_TESTNET;
    tc_address_encode(net, &h, text);
    TC_ASSERT(tc_address_decode(text, net, &back) == 0);
    TC_ASSERT(memcmp(h.b, back.b, TC_ADDR_HASH_SIZE) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_text(data, size);
    check_hash(data, size);
    return 0;
}
