/* test_base.c — base.h's shared helpers. The allocation seam: the Nth counted allocation fails
 * (and every later one when sticky), only while counting is active, and the counts say what
 * happened. The decimal parser every program uses for its command-line numbers (tc_parse_u64,
 * tc_parse_u64n, tc_parse_u32): its accepted forms, every error path, and the promise that *out
 * is untouched on error. tc_hex.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

/* Allocates k times through the three wrappers in turn; returns the bitmask of failures. */
static uint32_t allocate(uint32_t k)
{
    uint32_t failed = 0;
    for (uint32_t i = 0; i < k; i++) {
        void *p = i % 3 == 0 ? tc_malloc(8) : i % 3 == 1 ? tc_calloc(2, 4) : tc_realloc(NULL, 8);
        if (p == NULL)
            failed |= 1u << i;
        free(p);
    }
    return failed;
}

Test(base, the_nth_counted_allocation_fails)
{
    static const struct {
        uint64_t nth;
        bool sticky;
        uint32_t failed; /* of 6 allocations */
    } cases[] = {
        {0, false, 0x00}, {1, false, 0x01}, {3, false, 0x04}, {6, false, 0x20},
        {7, false, 0x00}, {4, true, 0x38},  {1, true, 0x3f},
    };
    for (size_t c = 0; c < TC_ARRAY_LEN(cases); c++) {
        tc_alloc_faults f = {
            .fail_nth = cases[c].nth, .fail_sticky = cases[c].sticky, .active = true};
        tc_alloc_faults_set(&f);
        uint32_t failed = allocate(6);
        cr_assert_eq(failed, cases[c].failed, "case %zu: failures 0x%x, want 0x%x", c, failed,
                     cases[c].failed);
        cr_assert_eq(tc_alloc_count(), 6, "case %zu: six counted", c);
        cr_assert_eq(tc_alloc_failed_count(), (uint64_t)__builtin_popcount(cases[c].failed),
                     "case %zu: failures counted", c);
    }
    tc_alloc_faults_set(NULL);
}

Test(base, allocations_count_only_while_active)
{
    tc_alloc_faults f = {.fail_nth = 2};
    tc_alloc_faults_set(&f);
    cr_assert_eq(allocate(4), 0, "inactive: nothing fails");
    cr_assert_eq(tc_alloc_count(), 0, "inactive: nothing counted");
    cr_assert_not(tc_alloc_faults_active(true), "it was off");
    cr_assert_eq(allocate(1), 0, "the first counted one passes");
    cr_assert(tc_alloc_faults_active(false), "it was on");
    cr_assert_eq(allocate(3), 0, "paused: the count stays");
    cr_assert_eq(tc_alloc_count(), 1);
    (void)tc_alloc_faults_active(true);
    cr_assert_eq(allocate(1), 0x1, "the second counted one fails");
    cr_assert_eq(tc_alloc_failed_count(), 1);
    tc_alloc_faults_set(NULL);
    cr_assert_eq(allocate(3), 0, "off again");
    cr_assert_eq(tc_alloc_count(), 0, "and the count restarted");
}

#define UNTOUCHED UINT64_C(0xabababababababab)

typedef struct {
    const char *text; /* NULL: the NULL pointer */
    uint64_t min, max;
    int rc;
    uint64_t value; /* when rc == 0 */
} parse_case;

static const parse_case cases[] = {
    {"0", 0, UINT64_MAX, 0, 0},
    {"7", 0, UINT64_MAX, 0, 7},
    {"007", 0, UINT64_MAX, 0, 7},
    {"18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX},
    {"18446744073709551616", 0, UINT64_MAX, TC_ERANGE, 0},
    {"99999999999999999999999", 0, UINT64_MAX, TC_ERANGE, 0},
    {"5", 5, 9, 0, 5},
    {"9", 5, 9, 0, 9},
    {"4", 5, 9, TC_ERANGE, 0},
    {"10", 5, 9, TC_ERANGE, 0},
    {NULL, 0, UINT64_MAX, TC_EINVAL, 0},
    {"", 0, UINT64_MAX, TC_EINVAL, 0},
    {"+7", 0, UINT64_MAX, TC_EINVAL, 0},
    {"-7", 0, UINT64_MAX, TC_EINVAL, 0},
    {"-0", 0, UINT64_MAX, TC_EINVAL, 0},
    {" 7", 0, UINT64_MAX, TC_EINVAL, 0},
    {"7 ", 0, UINT64_MAX, TC_EINVAL, 0},
    {"\t7", 0, UINT64_MAX, TC_EINVAL, 0},
    {"7\n", 0, UINT64_MAX, TC_EINVAL, 0},
    {"7s", 0, UINT64_MAX, TC_EINVAL, 0},
    {"0x10", 0, UINT64_MAX, TC_EINVAL, 0},
    {"1e3", 0, UINT64_MAX, TC_EINVAL, 0},
    {"1.0", 0, UINT64_MAX, TC_EINVAL, 0},
    {"1_000", 0, UINT64_MAX, TC_EINVAL, 0},
    /* A syntax error wins over a range error: the text is judged before its value. */
    {"99999999999999999999999x", 0, UINT64_MAX, TC_EINVAL, 0},
    {"x", 5, 9, TC_EINVAL, 0},
};

Test(base, parse_u64_accepts_decimal_digits_only_within_the_range)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        const parse_case *c = &cases[i];
        uint64_t v = UNTOUCHED;
        int rc = tc_parse_u64(c->text, c->min, c->max, &v);
        cr_assert_eq(rc, c->rc, "\"%s\" in [%llu, %llu]: rc %d, want %d",
                     c->text ? c->text : "(null)", (unsigned long long)c->min,
                     (unsigned long long)c->max, rc, c->rc);
        uint64_t want = c->rc == 0 ? c->value : UNTOUCHED;
        cr_assert_eq(v, want, "\"%s\": value %llu, want %llu", c->text ? c->text : "(null)",
                     (unsigned long long)v, (unsigned long long)want);
    }
}

Test(base, parse_u64n_reads_exactly_len_bytes)
{
    uint64_t v = UNTOUCHED;
    cr_assert_eq(tc_parse_u64n("123abc", 3, 0, UINT64_MAX, &v), 0);
    cr_assert_eq(v, 123, "the first three bytes are 123, got %llu", (unsigned long long)v);
    cr_assert_eq(tc_parse_u64n("123abc", 4, 0, UINT64_MAX, &v), TC_EINVAL, "4 bytes take the a");
    cr_assert_eq(tc_parse_u64n("123", 0, 0, UINT64_MAX, &v), TC_EINVAL, "no digit at all");
    cr_assert_eq(tc_parse_u64n(NULL, 0, 0, UINT64_MAX, &v), TC_EINVAL);
    /* No terminator is read: the digits are followed by more digits outside len. */
    cr_assert_eq(tc_parse_u64n("184467440737095516159", 20, 0, UINT64_MAX, &v), 0);
    cr_assert_eq(v, UINT64_MAX);
    v = UNTOUCHED;
    cr_assert_eq(tc_parse_u64n("184467440737095516159", 21, 0, UINT64_MAX, &v), TC_ERANGE);
    cr_assert_eq(v, UNTOUCHED, "untouched on error");
}

Test(base, parse_u32_bounds_and_errors)
{
    uint32_t v = 0xabababab;
    cr_assert_eq(tc_parse_u32("4294967295", 0, UINT32_MAX, &v), 0);
    cr_assert_eq(v, UINT32_MAX);
    v = 0xabababab;
    cr_assert_eq(tc_parse_u32("4294967296", 0, UINT32_MAX, &v), TC_ERANGE, "past u32");
    cr_assert_eq(tc_parse_u32("0", 1, 10, &v), TC_ERANGE, "below min");
    cr_assert_eq(tc_parse_u32("+1", 1, 10, &v), TC_EINVAL, "a sign");
    cr_assert_eq(tc_parse_u32(NULL, 1, 10, &v), TC_EINVAL);
    cr_assert_eq(v, 0xabababab, "untouched after every error, got %x", v);
    cr_assert_eq(tc_parse_u32("10", 1, 10, &v), 0);
    cr_assert_eq(v, 10);
}

Test(base, hex_writes_lowercase_pairs_and_a_terminator)
{
    const uint8_t bytes[] = {0x00, 0x9f, 0xa0, 0xff};
    char out[9];
    memset(out, 'x', sizeof(out));
    tc_hex(out, bytes, sizeof(bytes));
    cr_assert_str_eq(out, "009fa0ff");
}
