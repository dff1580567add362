/* codec.c — canonical encoding cursors (see codec.h). */
#include "codec.h"

#include <string.h>

void tc_writer_init(tc_writer *w, uint8_t *buf, size_t cap)
{
    TC_ASSERT(w != NULL);
    TC_ASSERT(buf != NULL || cap == 0);
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->err = 0;
}

int tc_writer_finish(const tc_writer *w, size_t *len_out)
{
    TC_ASSERT(w != NULL);
    if (len_out != NULL)
        *len_out = w->len;
    return w->err;
}

void tc_reader_init(tc_reader *r, const uint8_t *p, size_t n)
{
    TC_ASSERT(r != NULL);
    TC_ASSERT(p != NULL || n == 0);
    r->p = p;
    r->left = n;
    r->err = 0;
}

void tc_reader_fail(tc_reader *r, int code)
{
    TC_ASSERT(code < 0);
    if (r->err == 0)
        r->err = code;
    r->left = 0;
}

uint32_t tc_get_count(tc_reader *r, uint32_t max, size_t min_elem_size)
{
    uint32_t n = tc_get_u32(r);
    if (r->err != 0)
        return 0;
    if (n > max) {
        tc_reader_fail(r, TC_ETOOLONG);
        return 0;
    }
    if (min_elem_size > 0 && n > r->left / min_elem_size) {
        tc_reader_fail(r, TC_ESHORT);
        return 0;
    }
    return n;
}

const uint8_t *tc_get_bytes(tc_reader *r, uint32_t max, uint32_t *len_out)
{
    uint32_t n = tc_get_count(r, max, 1);
    const uint8_t *p = r->p;
    *len_out = 0;
    if (r->err != 0)
        return NULL;
    r->p += n;
    r->left -= n;
    *len_out = n;
    return p;
}

uint8_t tc_get_enum(tc_reader *r, uint8_t limit)
{
    uint8_t v = tc_get_u8(r);
    if (r->err == 0 && v >= limit) {
        tc_reader_fail(r, TC_ERANGE);
        return 0;
    }
    return v;
}

bool tc_get_bool(tc_reader *r)
{
    return tc_get_enum(r, 2) == 1;
}

int tc_reader_finish(const tc_reader *r)
{
    TC_ASSERT(r != NULL);
    if (r->err != 0)
        return r->err;
    return r->left != 0 ? TC_ETRAILING : 0;
}
