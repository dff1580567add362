/* codec.h — the canonical binary encoding of PROTOCOL 1, as two cursors.
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
 * left before anything is allocated or copied (PROTOCOL 1: never trust a length).
 * tc_reader_finish() reports TC_ETRAILING if bytes are left over.
 */
#ifndef TC_CODEC_H
#define TC_CODEC_H

#include "base.h"

#include <string.h>

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
/* Returns 0 and the length, or TC_EENCODE if the value did not fit (len still says how much
 * room it needs). */
int tc_writer_finish(const tc_writer *w, size_t *len_out);

/* Little-endian stores at p, for records taken with tc_put_reserve. On a little-endian host
 * (GCC and Clang say so) a memcpy of the value, which compiles to one store; elsewhere byte by
 * byte. (Byte stores alone are not enough: the compiler did not merge them, because a byte
 * store may alias the record being read.) */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TC_HOST_LE 1
#else
#define TC_HOST_LE 0
#endif

static inline void tc_store_u16(uint8_t *p, uint16_t v)
{
    if (TC_HOST_LE) {
        memcpy(p, &v, sizeof(v));
        return;
    }
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void tc_store_u32(uint8_t *p, uint32_t v)
{
    if (TC_HOST_LE) {
        memcpy(p, &v, sizeof(v));
        return;
    }
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void tc_store_u64(uint8_t *p, uint64_t v)
{
    if (TC_HOST_LE) {
        memcpy(p, &v, sizeof(v));
        return;
    }
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* True when n more bytes fit: the writer has not failed and has the room. len <= cap holds
 * while err is 0, but the check stays: it costs one compare and guards the subtraction. */
static inline bool tc_writer_fits(const tc_writer *w, size_t n)
{
    return w->err == 0 && w->len <= w->cap && n <= w->cap - w->len;
}

/* The writes are inline because encoders make one per field, in loops over every transaction
 * of a block that is hashed on each check and apply: a call per field cost more than the
 * bytes it wrote. Each keeps the sticky overflow check of the header comment. */

/* Takes the next n bytes of the encoding as one piece: returns where the caller writes all n of
 * them, or NULL (writing nothing) when they do not fit, with the same sticky failure and count
 * as tc_put_raw. For fixed-size records: one room check instead of one per field. */
static inline uint8_t *tc_put_reserve(tc_writer *w, size_t n)
{
    TC_ASSERT(n > 0); /* so a measuring writer (NULL, cap 0) never hands out NULL + 0 */
    uint8_t *p = NULL;
    if (tc_writer_fits(w, n))
        p = w->buf + w->len;
    else
        w->err = TC_EENCODE;
    w->len += n;
    return p;
}

/* No length prefix. */
static inline void tc_put_raw(tc_writer *w, const void *bytes, size_t n)
{
    TC_ASSERT(bytes != NULL || n == 0);
    if (tc_writer_fits(w, n)) {
        if (n > 0)
            memcpy(w->buf + w->len, bytes, n);
    } else {
        w->err = TC_EENCODE;
    }
    w->len += n;
}

static inline void tc_put_u8(tc_writer *w, uint8_t v)
{
    uint8_t *p = tc_put_reserve(w, 1);
    if (p != NULL)
        p[0] = v;
}

static inline void tc_put_u16(tc_writer *w, uint16_t v)
{
    uint8_t *p = tc_put_reserve(w, 2);
    if (p != NULL)
        tc_store_u16(p, v);
}

static inline void tc_put_u32(tc_writer *w, uint32_t v)
{
    uint8_t *p = tc_put_reserve(w, 4);
    if (p != NULL)
        tc_store_u32(p, v);
}

static inline void tc_put_u64(tc_writer *w, uint64_t v)
{
    uint8_t *p = tc_put_reserve(w, 8);
    if (p != NULL)
        tc_store_u64(p, v);
}

/* A u32 length, then the bytes. */
static inline void tc_put_bytes(tc_writer *w, const void *bytes, uint32_t n)
{
    tc_put_u32(w, n);
    tc_put_raw(w, bytes, n);
}

void tc_reader_init(tc_reader *r, const uint8_t *p, size_t n);
/* Marks the reader failed with code (used by decoders for semantic range checks). */
void tc_reader_fail(tc_reader *r, int code);

/* Little-endian loads, the stores' counterparts. */
static inline uint16_t tc_load_u16(const uint8_t *p)
{
    uint16_t v;
    if (TC_HOST_LE) {
        memcpy(&v, p, sizeof(v));
        return v;
    }
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t tc_load_u32(const uint8_t *p)
{
    uint32_t v = 0;
    if (TC_HOST_LE) {
        memcpy(&v, p, sizeof(v));
        return v;
    }
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static inline uint64_t tc_load_u64(const uint8_t *p)
{
    uint64_t v = 0;
    if (TC_HOST_LE) {
        memcpy(&v, p, sizeof(v));
        return v;
    }
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* The reads are inline for the same reason as the writes: decoders make one per field.
 * tc_get_take consumes the next n bytes and returns where they start, or NULL when the reader
 * has failed or fewer are left (then it fails with TC_ESHORT and is emptied). */
static inline const uint8_t *tc_get_take(tc_reader *r, size_t n)
{
    if (r->err != 0 || n > r->left) {
        tc_reader_fail(r, TC_ESHORT);
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

/* Copies n bytes to out, or zeroes them on error. */
static inline void tc_get_raw(tc_reader *r, void *out, size_t n)
{
    const uint8_t *p = tc_get_take(r, n);
    if (n == 0)
        return;
    if (p != NULL)
        memcpy(out, p, n);
    else
        memset(out, 0, n);
}

static inline uint8_t tc_get_u8(tc_reader *r)
{
    const uint8_t *p = tc_get_take(r, 1);
    return p != NULL ? p[0] : 0;
}

static inline uint16_t tc_get_u16(tc_reader *r)
{
    const uint8_t *p = tc_get_take(r, 2);
    return p != NULL ? tc_load_u16(p) : 0;
}

static inline uint32_t tc_get_u32(tc_reader *r)
{
    const uint8_t *p = tc_get_take(r, 4);
    return p != NULL ? tc_load_u32(p) : 0;
}

static inline uint64_t tc_get_u64(tc_reader *r)
{
    const uint8_t *p = tc_get_take(r, 8);
    return p != NULL ? tc_load_u64(p) : 0;
}

/* Reads a u32 count and checks it against max (TC_ETOOLONG) and against the bytes left,
 * assuming each element takes at least min_elem_size bytes (TC_ESHORT). Returns 0 on error. */
uint32_t tc_get_count(tc_reader *r, uint32_t max, size_t min_elem_size);
/* Reads a u32 length-prefixed byte string of at most max bytes; *out points into the input. */
const uint8_t *tc_get_bytes(tc_reader *r, uint32_t max, uint32_t *len_out);
/* A u8 that must be < limit (TC_ERANGE otherwise). */
uint8_t tc_get_enum(tc_reader *r, uint8_t limit);
/* A u8 that must be 0 or 1. */
bool tc_get_bool(tc_reader *r);
/* Returns the first error, else TC_ETRAILING if bytes remain, else 0. */
int tc_reader_finish(const tc_reader *r);

#define TC_GET_HASH(r, h) tc_get_raw((r), (h)->b, TC_HASH_SIZE)
#define TC_PUT_HASH(w, h) tc_put_raw((w), (h)->b, TC_HASH_SIZE)

#endif
