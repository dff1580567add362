/* codec.h — the canonical binary encoding of SPEC 1, as two cursors.
 *
 * Integers are little-endian and fixed width; byte strings and arrays carry a u32 length or
 * count prefix; nothing is optional and nothing is padded. So every value has exactly one
 * encoding, and hashing the encoding identifies the value.
 *
 * tc_writer appends to a caller-owned buffer of fixed capacity. Once a write does not fit, the
 * writer is sticky-failed (err = TC_EENCODE) and later writes do nothing: a caller checks once,
 * at the end, with tc_writer_finish().
 *
 * tc_reader consumes a caller-owned byte string. The first error (TC_ESHORT, TC_ETOOLONG,
 * TC_ERANGE) sticks, and every later read returns zeroes, so decoders read field after field and
 * check once. A length or count is checked against the caller's limit and against the bytes
 * left before anything is allocated or copied (SPEC 1: never trust a length). tc_reader_finish()
 * reports TC_ETRAILING if bytes are left over.
 */
#ifndef TC_CODEC_H
#define TC_CODEC_H

#include "base.h"

typedef struct {
    uint8_t *buf; /* caller's memory; may be NULL with cap 0 to measure a size */
    size_t cap;
    size_t len; /* bytes the value takes, counted even past cap */
    int err;
} tc_writer;

typedef struct {
    const uint8_t *p; /* caller's memory; must outlive the reader */
    size_t left;
    int err;
} tc_reader;

void tc_writer_init(tc_writer *w, uint8_t *buf, size_t cap);
void tc_put_u8(tc_writer *w, uint8_t v);
void tc_put_u16(tc_writer *w, uint16_t v);
void tc_put_u32(tc_writer *w, uint32_t v);
void tc_put_u64(tc_writer *w, uint64_t v);
void tc_put_raw(tc_writer *w, const void *bytes, size_t n);     /* no length prefix */
void tc_put_bytes(tc_writer *w, const void *bytes, uint32_t n); /* u32 length, then bytes */
/* Returns 0 and the length, or TC_EENCODE if the value did not fit (len still says how much
 * room it needs). */
int tc_writer_finish(const tc_writer *w, size_t *len_out);

void tc_reader_init(tc_reader *r, const uint8_t *p, size_t n);
uint8_t tc_get_u8(tc_reader *r);
uint16_t tc_get_u16(tc_reader *r);
uint32_t tc_get_u32(tc_reader *r);
uint64_t tc_get_u64(tc_reader *r);
void tc_get_raw(tc_reader *r, void *out, size_t n);
/* Reads a u32 count and checks it against max (TC_ETOOLONG) and against the bytes left,
 * assuming each element takes at least min_elem_size bytes (TC_ESHORT). Returns 0 on error. */
uint32_t tc_get_count(tc_reader *r, uint32_t max, size_t min_elem_size);
/* Reads a u32 length-prefixed byte string of at most max bytes; *out points into the input. */
const uint8_t *tc_get_bytes(tc_reader *r, uint32_t max, uint32_t *len_out);
/* A u8 that must be < limit (TC_ERANGE otherwise). */
uint8_t tc_get_enum(tc_reader *r, uint8_t limit);
/* A u8 that must be 0 or 1. */
bool tc_get_bool(tc_reader *r);
/* Marks the reader failed with code (used by decoders for semantic range checks). */
void tc_reader_fail(tc_reader *r, int code);
/* Returns the first error, else TC_ETRAILING if bytes remain, else 0. */
int tc_reader_finish(const tc_reader *r);

#define TC_GET_HASH(r, h) tc_get_raw((r), (h)->b, TC_HASH_SIZE)
#define TC_PUT_HASH(w, h) tc_put_raw((w), (h)->b, TC_HASH_SIZE)

#endif
