/* fuzz_tx.c — libFuzzer target for the transaction decoder. Any input either fails to decode
 * with the transaction left empty, or decodes to a value that re-encodes to exactly the input
 * (the encoding is canonical), whose txid is stable across re-decoding, copying and erasing
 * every signature, and whose stateless check runs without crashing. */
#include <stdlib.h>
#include <string.h>

#include "tx.h"

static void require(bool cond)
{
    if (!cond)
        abort();
}

static bool tx_is_empty(const tc_tx *tx)
{
    static const tc_tx zero;
    return tx->inputs == NULL && tx->outputs == NULL && memcmp(tx, &zero, sizeof(zero)) == 0;
}

static void check_txid_stable(const tc_tx *tx, const uint8_t *enc, size_t n)
{
    tc_hash id, again;
    tc_tx_id(tx, &id);
    tc_tx_id(tx, &again);
    require(memcmp(id.b, again.b, TC_HASH_SIZE) == 0);

    tc_tx back;
    require(tc_tx_decode(&back, enc, n) == 0);
    tc_tx_id(&back, &again);
    require(memcmp(id.b, again.b, TC_HASH_SIZE) == 0);

    /* Signatures are outside the txid (PROTOCOL 3). */
    for (uint32_t i = 0; i < back.input_count; i++)
        memset(back.inputs[i].sig.b, 0, TC_SIG_SIZE);
    memset(back.mn_sig.b, 0, TC_SIG_SIZE);
    tc_tx_id(&back, &again);
    require(memcmp(id.b, again.b, TC_HASH_SIZE) == 0);
    tc_tx_deinit(&back);

    tc_tx copy;
    if (tc_tx_copy(&copy, tx) == 0) {
        tc_tx_id(&copy, &again);
        require(memcmp(id.b, again.b, TC_HASH_SIZE) == 0);
        tc_tx_deinit(&copy);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tc_profile prof;
    static bool ready;
    if (!ready) {
        require(tc_crypto_init() == 0);
        tc_profile_get(&prof, TC_NET_TESTNET);
        ready = true;
    }
    tc_tx tx;
    int rc = tc_tx_decode(&tx, data, size);
    if (rc != 0) {
        require(rc < 0 && tx_is_empty(&tx));
        return 0;
    }
    uint8_t *enc;
    size_t n;
    require(tc_tx_encode_alloc(&tx, &enc, &n) == 0);
    require(n == size && memcmp(enc, data, size) == 0);
    require(tc_tx_encoded_size(&tx) == size);
    check_txid_stable(&tx, enc, n);
    (void)tc_tx_check_form(&tx, &prof);
    free(enc);
    tc_tx_deinit(&tx);
    return 0;
}
