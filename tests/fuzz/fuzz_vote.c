/* fuzz_vote.c — libFuzzer target for the small consensus objects. The first byte selects the
 * decoder (mod 5): vote, commit certificate, evidence, handoff, finality certificate; the rest
 * is its input. A decode either fails with the output left empty, or re-encodes to exactly the
 * input. */
#include <stdlib.h>
#include <string.h>

#include "block.h"

static void same_or_die(const uint8_t *enc, size_t n, const uint8_t *data, size_t size)
{
    if (n != size || memcmp(enc, data, size) != 0)
        abort();
}

static void require_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            abort();
}

/* Encodes obj with fn into a fresh buffer and compares it with the input. */
#define ROUND_TRIP(fn, obj, data, size)                                                            \
    do {                                                                                           \
        tc_writer w_;                                                                              \
        size_t n_ = 0;                                                                             \
        tc_writer_init(&w_, NULL, 0);                                                              \
        fn(&w_, obj);                                                                              \
        (void)tc_writer_finish(&w_, &n_);                                                          \
        uint8_t *buf_ = malloc(n_ + 1);                                                            \
        if (buf_ == NULL)                                                                          \
            abort();                                                                               \
        tc_writer_init(&w_, buf_, n_);                                                             \
        fn(&w_, obj);                                                                              \
        if (tc_writer_finish(&w_, &n_) != 0)                                                       \
            abort();                                                                               \
        same_or_die(buf_, n_, data, size);                                                         \
        free(buf_);                                                                                \
    } while (0)

static void vote(const uint8_t *data, size_t size)
{
    tc_vote v;
    if (tc_vote_decode(&v, data, size) != 0) {
        require_zero(&v, sizeof(v));
        return;
    }
    ROUND_TRIP(tc_vote_encode, &v, data, size);
    tc_hash h;
    tc_vote_sign_hash(&v, &h);
}

static void commit(const uint8_t *data, size_t size)
{
    tc_commit c;
    if (tc_commit_decode(&c, data, size) != 0) {
        require_zero(&c, sizeof(c));
        return;
    }
    ROUND_TRIP(tc_commit_encode, &c, data, size);
    for (uint32_t i = 0; i < c.sig_count; i++) {
        tc_vote v;
        tc_commit_vote(&c, i, &v);
        if (v.type != TC_VOTE_PRECOMMIT || (i > 0 && v.validator <= c.sigs[i - 1].validator))
            abort();
    }
    tc_commit_deinit(&c);
}

static void evidence(const uint8_t *data, size_t size)
{
    tc_evidence e;
    if (tc_evidence_decode(&e, data, size) != 0) {
        require_zero(&e, sizeof(e));
        return;
    }
    ROUND_TRIP(tc_evidence_encode, &e, data, size);
    (void)tc_evidence_check_shape(&e);
    tc_hash h, hc;
    tc_evidence_hash(&e, &h);
    /* A deep copy must hash the same and survive its source (kind 1 owns memory). */
    tc_evidence c;
    if (tc_evidence_copy(&c, &e) == 0) {
        tc_evidence_deinit(&e);
        tc_evidence_hash(&c, &hc);
        if (memcmp(h.b, hc.b, TC_HASH_SIZE) != 0)
            abort();
        tc_evidence_deinit(&c);
    }
    tc_evidence_deinit(&e);
}

static void handoff(const uint8_t *data, size_t size)
{
    tc_handoff h;
    if (tc_handoff_decode(&h, data, size) != 0) {
        require_zero(&h, sizeof(h));
        return;
    }
    ROUND_TRIP(tc_handoff_encode, &h, data, size);
    tc_hash m;
    tc_handoff_sign_hash(&h, &m);
    tc_handoff_deinit(&h);
}

static void fincert(const uint8_t *data, size_t size)
{
    tc_fincert c;
    tc_reader r;
    tc_reader_init(&r, data, size);
    int rc = tc_fincert_read(&r, &c);
    if (rc == 0 && tc_reader_finish(&r) != 0) {
        tc_fincert_deinit(&c);
        return;
    }
    if (rc != 0) {
        require_zero(&c, sizeof(c));
        return;
    }
    ROUND_TRIP(tc_fincert_encode, &c, data, size);
    tc_fincert_deinit(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *rest = data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0:
        vote(rest, n);
        break;
    case 1:
        commit(rest, n);
        break;
    case 2:
        evidence(rest, n);
        break;
    case 3:
        handoff(rest, n);
        break;
    default:
        fincert(rest, n);
        break;
    }
    return 0;
}
