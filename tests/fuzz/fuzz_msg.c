/* fuzz_msg.c — libFuzzer target for the wire protocol. The input is one whole frame. A decode
 * either fails with the message left zeroed, or the message passes tc_msg_check and re-encodes
 * to exactly the input bytes (the encoding is canonical). The frame-size pre-check and the
 * message id run on every input too. No crash, no leak. */
#include <stdlib.h>
#include <string.h>

#include "msg.h"

static void require(bool ok)
{
    if (!ok)
        abort();
}

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tc_msg m; /* about 4 KiB: kept off the fuzzer's stack */
    if (size >= TC_MSG_LEN_SIZE) {
        tc_profile p;
        size_t frame_len = 0;
        tc_profile_get(&p, TC_NET_TESTNET);
        int rc = tc_msg_frame_check(data, &p, &frame_len);
        require(rc == 0 ? frame_len >= TC_MSG_HEADER_SIZE && frame_len <= p.frame_size_max
                        : frame_len == 0);
    }
    if (tc_msg_decode(data, size, &m) != 0) {
        require(all_zero(&m, sizeof(m)));
        return 0;
    }
    require(tc_msg_check(&m) == 0);
    require(tc_msg_encoded_size(&m) == size);
    uint8_t *out = NULL;
    size_t n = 0;
    require(tc_msg_encode_alloc(&m, &out, &n) == 0);
    require(n == size && memcmp(out, data, size) == 0);
    free(out);
    tc_msg_deinit(&m);
    require(all_zero(&m, sizeof(m)));
    return 0;
}
