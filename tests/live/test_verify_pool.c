/* test_verify_pool.c — which signatures the verify pool finds in a frame, and their checks
 * (net-real/verify_pool.h). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "support.h"
#include "verify_pool.h"

static void setup(void)
{
    cr_assert_eq(tc_crypto_init(), 0);
}

static uint8_t *encode(const tc_msg *m, size_t *len)
{
    uint8_t *frame = NULL;
    cr_assert_eq(tc_msg_encode_alloc(m, &frame, len), 0);
    return frame;
}

/* A 2-input transfer: two triples (input key, sighash of input i, its signature), both valid;
 * a flipped signature byte makes exactly that one invalid. */
Test(verify_pool, tx_inputs_are_listed_and_checked, .init = setup)
{
    tc_keypair kp;
    ts_keypair(&kp, 1);
    tc_msg m = {.type = TC_MSG_TX};
    cr_assert_eq(tc_tx_init_alloc(&m.tx, TC_TX_TRANSFER, 2, 1), 0);
    for (uint32_t i = 0; i < 2; i++) {
        m.tx.inputs[i].prev.index = i;
        m.tx.inputs[i].pub = kp.pub;
    }
    m.tx.outputs[0].amount = 5;
    tc_hash txid, h1;
    tc_tx_id(&m.tx, &txid);
    for (uint32_t i = 0; i < 2; i++)
        tc_tx_sign_input(&m.tx, &txid, i, TC_SIG_ED25519, &kp);
    m.tx.inputs[1].sig.b[7] ^= 1;
    size_t len = 0, count = 0;
    uint8_t *frame = encode(&m, &len);
    td_sig_check *checks = NULL;
    cr_assert(td_sig_checks_wanted(TC_MSG_TX));
    cr_assert_eq(td_sig_checks_of(frame, len, NULL, 0, &checks, &count), 0);
    cr_assert_eq(count, 2, "one triple per input, got %zu", count);
    tc_tx_sighash(&txid, 1, &h1);
    cr_assert_eq(memcmp(checks[1].msg.b, h1.b, TC_HASH_SIZE), 0, "input 1's sighash");
    cr_assert_eq(memcmp(checks[0].pub.b, kp.pub.b, TC_PUBKEY_SIZE), 0, "the input's key");
    td_sig_checks_run(checks, count);
    cr_assert(checks[0].valid, "input 0 signed correctly");
    cr_assert_not(checks[1].valid, "input 1's flipped byte");
    free(checks);
    free(frame);
    tc_tx_deinit(&m.tx);
}

/* A vote names a validator index: the key comes from the hint table; an index past it gives
 * no triple (the core checks it itself). */
Test(verify_pool, votes_take_their_key_from_the_hints, .init = setup)
{
    tc_keypair k0, k1;
    ts_keypair(&k0, 2);
    ts_keypair(&k1, 3);
    tc_pubkey keys[2] = {k0.pub, k1.pub};
    tc_msg m = {.type = TC_MSG_PREVOTE};
    m.vote = (tc_vote){.type = TC_VOTE_PREVOTE, .height = 4, .round = 1, .validator = 1};
    tc_vote_sign(&m.vote, TC_SIG_ED25519, &k1);
    size_t len = 0, count = 0;
    uint8_t *frame = encode(&m, &len);
    td_sig_check *checks = NULL;
    cr_assert_eq(td_sig_checks_of(frame, len, keys, 2, &checks, &count), 0);
    cr_assert_eq(count, 1);
    td_sig_checks_run(checks, count);
    cr_assert(checks[0].valid, "validator 1's key from the table verifies its vote");
    free(checks);
    cr_assert_eq(td_sig_checks_of(frame, len, keys, 1, &checks, &count), 0);
    cr_assert_eq(count, 0, "index 1 is past a 1-key table: nothing listed, got %zu", count);
    free(checks);
    free(frame);
}

/* Frames without signatures are not wanted; a frame that does not decode lists nothing and
 * returns the codec's code. */
Test(verify_pool, unsigned_and_broken_frames, .init = setup)
{
    cr_assert_not(td_sig_checks_wanted(TC_MSG_PING));
    cr_assert_not(td_sig_checks_wanted(TC_MSG_HELLO));
    cr_assert(td_sig_checks_wanted(TC_MSG_BLOCKS));
    static const uint8_t broken[] = {0, 0, 0, 3, TC_MSG_TX, 1, 2};
    td_sig_check *checks = (td_sig_check *)1;
    size_t count = 9;
    int rc = td_sig_checks_of(broken, sizeof(broken), NULL, 0, &checks, &count);
    cr_assert_lt(rc, 0, "a truncated TX does not decode, got %d", rc);
    cr_assert_null(checks);
    cr_assert_eq(count, 0);
}
