/* test_codec.c — the canonical encoding cursors: widths, byte order, limits, sticky errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "codec.h"

Test(codec, integers_are_little_endian_fixed_width)
{
    uint8_t buf[15];
    tc_writer w;
    size_t len;
    tc_writer_init(&w, buf, sizeof(buf));
    tc_put_u8(&w, 0x01);
    tc_put_u16(&w, 0x0302);
    tc_put_u32(&w, 0x07060504);
    tc_put_u64(&w, UINT64_C(0x0f0e0d0c0b0a0908));
    cr_assert_eq(tc_writer_finish(&w, &len), 0);
    cr_assert_eq(len, 15);
    for (uint8_t i = 0; i < 15; i++)
        cr_assert_eq(buf[i], i + 1, "byte %u is %u", i, buf[i]);

    tc_reader r;
    tc_reader_init(&r, buf, len);
    cr_assert_eq(tc_get_u8(&r), 0x01);
    cr_assert_eq(tc_get_u16(&r), 0x0302);
    cr_assert_eq(tc_get_u32(&r), 0x07060504u);
    cr_assert_eq(tc_get_u64(&r), UINT64_C(0x0f0e0d0c0b0a0908));
    cr_assert_eq(tc_reader_finish(&r), 0);
}

Test(codec, writer_overflow_is_sticky_and_measures)
{
    uint8_t buf[4];
    tc_writer w;
    size_t len;
    tc_writer_init(&w, buf, sizeof(buf));
    tc_put_u32(&w, 1);
    tc_put_u8(&w, 2);
    tc_put_u8(&w, 3);
    cr_assert_eq(tc_writer_finish(&w, &len), TC_EENCODE);
    cr_assert_eq(len, 6, "the writer still counts the size needed");

    tc_writer_init(&w, NULL, 0);
    tc_put_bytes(&w, "abc", 3);
    cr_assert_eq(tc_writer_finish(&w, &len), TC_EENCODE);
    cr_assert_eq(len, 7);
}

Test(codec, short_input_is_reported_and_reads_return_zero)
{
    uint8_t buf[3] = {1, 2, 3};
    tc_reader r;
    tc_reader_init(&r, buf, sizeof(buf));
    cr_assert_eq(tc_get_u32(&r), 0);
    cr_assert_eq(tc_get_u8(&r), 0, "reads after an error return zero");
    cr_assert_eq(tc_reader_finish(&r), TC_ESHORT);
}

Test(codec, trailing_bytes_are_rejected)
{
    uint8_t buf[3] = {1, 2, 3};
    tc_reader r;
    tc_reader_init(&r, buf, sizeof(buf));
    (void)tc_get_u16(&r);
    cr_assert_eq(tc_reader_finish(&r), TC_ETRAILING);
}

Test(codec, counts_are_checked_against_limit_then_bytes_left)
{
    uint8_t buf[8];
    tc_writer w;
    tc_reader r;
    tc_writer_init(&w, buf, sizeof(buf));
    tc_put_u32(&w, 5);
    tc_put_u32(&w, 0);

    tc_reader_init(&r, buf, sizeof(buf));
    cr_assert_eq(tc_get_count(&r, 4, 1), 0);
    cr_assert_eq(r.err, TC_ETOOLONG, "count 5 over limit 4");

    tc_reader_init(&r, buf, sizeof(buf));
    cr_assert_eq(tc_get_count(&r, 100, 1), 0);
    cr_assert_eq(r.err, TC_ESHORT, "5 one-byte elements do not fit in the 4 bytes left");

    tc_reader_init(&r, buf, sizeof(buf));
    cr_assert_eq(tc_get_count(&r, 100, 0), 5, "zero-size elements are not checked against input");
    cr_assert_eq(r.err, 0);
}

Test(codec, counts_larger_than_input_fail_before_allocation)
{
    uint8_t buf[8];
    tc_writer w;
    tc_reader r;
    tc_writer_init(&w, buf, sizeof(buf));
    tc_put_u32(&w, 3);
    tc_put_u32(&w, 0);
    tc_reader_init(&r, buf, sizeof(buf));
    cr_assert_eq(tc_get_count(&r, 100, 2), 0, "3 elements of 2 bytes need 6, 4 left");
    cr_assert_eq(r.err, TC_ESHORT);
}

Test(codec, byte_strings_point_into_input)
{
    uint8_t buf[16];
    tc_writer w;
    tc_reader r;
    size_t len;
    uint32_t n;
    tc_writer_init(&w, buf, sizeof(buf));
    tc_put_bytes(&w, "hello", 5);
    cr_assert_eq(tc_writer_finish(&w, &len), 0);
    tc_reader_init(&r, buf, len);
    const uint8_t *p = tc_get_bytes(&r, 5, &n);
    cr_assert_eq(n, 5);
    cr_assert(memcmp(p, "hello", 5) == 0);
    cr_assert_eq(tc_reader_finish(&r), 0);

    tc_reader_init(&r, buf, len);
    cr_assert_null(tc_get_bytes(&r, 4, &n));
    cr_assert_eq(r.err, TC_ETOOLONG);
}

Test(codec, enums_and_bools_reject_out_of_range)
{
    uint8_t two = 2;
    tc_reader r;
    tc_reader_init(&r, &two, 1);
    (void)tc_get_bool(&r);
    cr_assert_eq(tc_reader_finish(&r), TC_ERANGE);
    tc_reader_init(&r, &two, 1);
    cr_assert_eq(tc_get_enum(&r, 3), 2);
    cr_assert_eq(tc_reader_finish(&r), 0);
}

Test(codec, first_error_sticks)
{
    uint8_t three = 3;
    tc_reader r;
    tc_reader_init(&r, &three, 1);
    (void)tc_get_enum(&r, 2);
    (void)tc_get_u64(&r);
    cr_assert_eq(tc_reader_finish(&r), TC_ERANGE, "the range error comes first, not ESHORT");
}

Test(codec, stores_and_loads_are_little_endian)
{
    uint8_t b[8];
    tc_store_u16(b, 0x0201);
    cr_assert(b[0] == 0x01 && b[1] == 0x02, "u16 is %02x %02x", b[0], b[1]);
    cr_assert_eq(tc_load_u16(b), 0x0201);
    tc_store_u32(b, 0x04030201u);
    for (uint8_t i = 0; i < 4; i++)
        cr_assert_eq(b[i], i + 1, "u32 byte %u is %u", i, b[i]);
    cr_assert_eq(tc_load_u32(b), 0x04030201u);
    tc_store_u64(b, UINT64_C(0x0807060504030201));
    for (uint8_t i = 0; i < 8; i++)
        cr_assert_eq(b[i], i + 1, "u64 byte %u is %u", i, b[i]);
    cr_assert_eq(tc_load_u64(b), UINT64_C(0x0807060504030201));
}

Test(codec, reserve_hands_out_room_then_fails_sticky_and_measures)
{
    uint8_t buf[8];
    tc_writer w;
    size_t len;
    tc_writer_init(&w, buf, sizeof(buf));
    uint8_t *p = tc_put_reserve(&w, 4);
    cr_assert_eq(p, buf, "the first piece starts the buffer");
    tc_store_u32(p, 0x04030201u);
    cr_assert_eq(tc_put_reserve(&w, 4), buf + 4, "exactly filling the buffer fits");
    cr_assert_eq(w.len, 8);
    cr_assert_eq(tc_writer_finish(&w, &len), 0);

    tc_writer_init(&w, buf, sizeof(buf));
    cr_assert_not_null(tc_put_reserve(&w, 5));
    cr_assert_null(tc_put_reserve(&w, 4), "4 bytes do not fit in the 3 left");
    cr_assert_null(tc_put_reserve(&w, 1), "sticky: 1 byte would fit but the writer failed");
    tc_put_u8(&w, 9);
    cr_assert_eq(tc_writer_finish(&w, &len), TC_EENCODE);
    cr_assert_eq(len, 11, "the writer still counts the size needed");

    tc_writer_init(&w, NULL, 0);
    cr_assert_null(tc_put_reserve(&w, 12), "a measuring writer hands out nothing");
    tc_put_u64(&w, 1);
    cr_assert_eq(tc_writer_finish(&w, &len), TC_EENCODE);
    cr_assert_eq(len, 20);
}

Test(codec, raw_reads_copy_or_zero)
{
    uint8_t in[5] = {1, 2, 3, 4, 5}, out[4];
    tc_reader r;
    tc_reader_init(&r, in, sizeof(in));
    tc_get_raw(&r, out, 0);
    cr_assert_eq(tc_reader_finish(&r), TC_ETRAILING, "an empty read consumes nothing");
    tc_get_raw(&r, out, 4);
    cr_assert_eq(memcmp(out, in, 4), 0, "the first 4 bytes are copied");
    memset(out, 0xff, sizeof(out));
    tc_get_raw(&r, out, 2);
    cr_assert_eq(out[0] | out[1], 0, "a short read zeroes its output");
    cr_assert_eq(out[2], 0xff, "and only its output");
    cr_assert_eq(tc_reader_finish(&r), TC_ESHORT);
}
