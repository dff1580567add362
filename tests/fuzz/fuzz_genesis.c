/* fuzz_genesis.c — libFuzzer target for the genesis parser: any bytes are either rejected with a
 * terminated message or parsed into a genesis whose canonical JSON parses back to the same
 * genesis (same hash, same text), with no leak either way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "genesis.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    TC_ASSERT(tc_crypto_init() == 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_genesis g;
    char err[256];
    int rc = tc_genesis_parse((const char *)data, size, &g, err, sizeof(err));
    if (rc != 0) {
        TC_ASSERT(rc == TC_EGENESIS || rc == TC_ENOMEM);
        TC_ASSERT(strlen(err) < sizeof(err));
        TC_ASSERT(g.outputs == NULL && g.mns == NULL && g.output_count == 0 && g.mn_count == 0);
        return 0;
    }
    char *text = NULL;
    TC_ASSERT(tc_genesis_to_json(&g, &text) == 0);
    tc_genesis back;
    TC_ASSERT(tc_genesis_parse(text, strlen(text), &back, err, sizeof(err)) == 0);
    tc_hash h1;
    tc_hash h2;
    tc_genesis_hash(&g, &h1);
    tc_genesis_hash(&back, &h2);
    TC_ASSERT(memcmp(h1.b, h2.b, TC_HASH_SIZE) == 0);
    char *again = NULL;
    TC_ASSERT(tc_genesis_to_json(&back, &again) == 0);
    TC_ASSERT(strcmp(text, again) == 0);
    uint64_t supply;
    TC_ASSERT(tc_genesis_supply(&g, &supply) == 0);
    free(again);
    free(text);
    tc_genesis_deinit(&back);
    tc_genesis_deinit(&g);
    return 0;
}
