/* fuzz_block.c — libFuzzer target for tc_block_decode: any input either fails cleanly with the
 * output left empty, or decodes to a block whose encoding is exactly the input (canonical
 * encoding, PROTOCOL 1); the hashes of a decoded block never fail on allocation. ASan and UBSan
 * catch the rest: out-of-bounds reads, leaks on error paths, overflow. */
#include <stdlib.h>
#include <string.h>

#include "block.h"

static void check_empty(const tc_block *b)
{
    static const tc_block zero;
    if (memcmp(b, &zero, sizeof(zero)) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_block b;
    if (tc_block_decode(&b, data, size) != 0) {
        check_empty(&b);
        return 0;
    }
    uint8_t *enc = NULL;
    size_t n = 0;
    if (tc_block_encode_alloc(&b, &enc, &n) != 0)
        abort();
    if (n != size || memcmp(enc, data, size) != 0)
        abort(); /* a decoded block must re-encode to the very bytes it came from */
    free(enc);

    tc_hash h, root;
    tc_block_hash(&b.header, &h);
    if (tc_block_tx_root(&b, &root) != 0)
        abort();
    for (uint32_t i = 0; i < b.header.evidence_count; i++)
        (void)tc_evidence_check_shape(&b.header.evidence[i]);
    tc_block_deinit(&b);
    check_empty(&b);
    return 0;
}
