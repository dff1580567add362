/* test_jsonw.c — the JSON writer: which bytes are UTF-8 characters, the repair of the rest into
 * U+FFFD, exact u64 numbers past INT64_MAX (and that no string can forge their marker), compact
 * lines in insertion order, and the NULL paths a caller's allocation failure takes. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

typedef struct {
    const char *bytes;
    size_t len; /* what tc_jsonw_utf8_len returns */
    const char *why;
} utf8_case;

static const utf8_case utf8_cases[] = {
    {"a", 1, "ASCII"},
    {"\x7f", 1, "DEL is ASCII"},
    {"\x01", 1, "a control character is a character"},
    {"\xc3\xa9", 2, "U+00E9"},
    {"\xe2\x82\xac", 3, "U+20AC"},
    {"\xef\xbf\xbf", 3, "U+FFFF is valid in JSON"},
    {"\xf0\x9f\x98\x80", 4, "U+1F600"},
    {"\xf4\x8f\xbf\xbf", 4, "U+10FFFF, the last"},
    {"", 0, "the terminator"},
    {"\x80", 0, "a lone continuation byte"},
    {"\xff", 0, "0xff never appears in UTF-8"},
    {"\xf8\x88\x80\x80\x80", 0, "a five-byte form"},
    {"\xc0\x80", 0, "overlong NUL"},
    {"\xc1\xbf", 0, "overlong 0x7f"},
    {"\xe0\x80\xaf", 0, "overlong three-byte"},
    {"\xf0\x80\x80\xaf", 0, "overlong four-byte"},
    {"\xed\xa0\x80", 0, "a surrogate, U+D800"},
    {"\xed\xbf\xbf", 0, "a surrogate, U+DFFF"},
    {"\xf4\x90\x80\x80", 0, "past U+10FFFF"},
    {"\xe2\x82", 0, "cut short by the terminator"},
    {"\xc3(", 0, "a continuation that is not one"},
};

Test(jsonw, utf8_len_accepts_exactly_the_well_formed_characters)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(utf8_cases); i++) {
        const utf8_case *c = &utf8_cases[i];
        size_t n = tc_jsonw_utf8_len((const unsigned char *)c->bytes);
        cr_assert_eq(n, c->len, "%s: %zu, want %zu", c->why, n, c->len);
    }
}

/* The line of one value, checked and freed. */
static void expect_line(json_t *v, const char *want)
{
    char *line = tc_jsonw_line(v);
    cr_assert_not_null(line);
    cr_assert_str_eq(line, want);
    free(line);
    json_decref(v);
}

Test(jsonw, strings_are_repaired_and_escaped)
{
    expect_line(tc_jsonw_str("plain"), "\"plain\"\n");
    expect_line(tc_jsonw_str("caf\xc3\xa9"), "\"caf\xc3\xa9\"\n");
    expect_line(tc_jsonw_str("a\xff"
                             "b"),
                "\"a\xef\xbf\xbd"
                "b\"\n");
    expect_line(tc_jsonw_str("\xe2\x82"), "\"\xef\xbf\xbd\xef\xbf\xbd\"\n");
    expect_line(tc_jsonw_str("q\"b\\t\tc\x01"), "\"q\\\"b\\\\t\\tc\\u0001\"\n");
    expect_line(tc_jsonw_str(NULL), "\"\"\n");
    /* Every byte of a long invalid run becomes three: the buffer's worst case. */
    char bad[65];
    memset(bad, 0xfe, 64);
    bad[64] = 0;
    json_t *s = tc_jsonw_str(bad);
    cr_assert_eq(json_string_length(s), 3 * 64, "each 0xfe is U+FFFD, %zu bytes",
                 json_string_length(s));
    json_decref(s);
}

Test(jsonw, u64_is_exact_past_int64_max)
{
    json_t *o = json_object();
    cr_assert_eq(tc_jsonw_set(o, "zero", tc_jsonw_u64(0)), 0);
    cr_assert_eq(tc_jsonw_set(o, "i64", tc_jsonw_u64(INT64_MAX)), 0);
    cr_assert_eq(tc_jsonw_set(o, "past", tc_jsonw_u64((uint64_t)INT64_MAX + 1)), 0);
    cr_assert_eq(tc_jsonw_set(o, "max", tc_jsonw_u64(UINT64_MAX)), 0);
    cr_assert_eq(tc_jsonw_set(o, "after", tc_jsonw_str("x")), 0);
    expect_line(o, "{\"zero\":0,\"i64\":9223372036854775807,\"past\":9223372036854775808,"
                   "\"max\":18446744073709551615,\"after\":\"x\"}\n");
    json_t *a = json_array();
    cr_assert_eq(json_array_append_new(a, tc_jsonw_u64(UINT64_MAX)), 0);
    cr_assert_eq(json_array_append_new(a, tc_jsonw_u64(UINT64_MAX - 1)), 0);
    expect_line(a, "[18446744073709551615,18446744073709551614]\n");
}

Test(jsonw, a_string_cannot_forge_the_u64_marker)
{
    /* The marker's text, typed into a string, stays a string: a C string holds no NUL. */
    expect_line(tc_jsonw_str("\\u0000u64:5"), "\"\\\\u0000u64:5\"\n");
    expect_line(tc_jsonw_str("u64:5"), "\"u64:5\"\n");
    json_t *o = json_object();
    cr_assert_eq(tc_jsonw_set(o, "\"\\u0000u64:7\"", tc_jsonw_str("\"\\u0000u64:8\"")), 0);
    expect_line(o, "{\"\\\"\\\\u0000u64:7\\\"\":\"\\\"\\\\u0000u64:8\\\"\"}\n");
}

Test(jsonw, objects_keep_insertion_order_and_repair_keys)
{
    json_t *o = json_object();
    cr_assert_eq(tc_jsonw_set(o, "z", json_integer(1)), 0);
    cr_assert_eq(tc_jsonw_set(o, "a", json_true()), 0);
    cr_assert_eq(tc_jsonw_set(o, "k\xff", json_null()), 0);
    cr_assert_eq(tc_jsonw_set(o, "m", json_array()), 0);
    expect_line(o, "{\"z\":1,\"a\":true,\"k\xef\xbf\xbd\":null,\"m\":[]}\n");
}

Test(jsonw, null_values_fail_and_are_not_leaked)
{
    json_t *o = json_object();
    cr_assert_eq(tc_jsonw_set(o, "k", NULL), TC_ENOMEM, "a value that could not be made");
    cr_assert_eq(json_object_size(o), 0, "nothing was set");
    cr_assert_eq(tc_jsonw_set(NULL, "k", json_integer(1)), TC_ENOMEM, "an object that could not");
    cr_assert_null(tc_jsonw_line(NULL));
    json_decref(o);
}

/* The writer's own allocations go through the core's seam: failing them fails the call cleanly. */
Test(jsonw, a_failed_allocation_is_reported_not_hidden)
{
    tc_alloc_faults f = {.fail_nth = 1, .fail_sticky = true, .active = true};
    tc_alloc_faults_set(&f);
    json_t *s = tc_jsonw_str("x");
    json_t *o = json_object(); /* jansson's own allocator: not counted */
    int rc = tc_jsonw_set(o, "k", json_integer(1));
    uint64_t failed = tc_alloc_failed_count();
    tc_alloc_faults_set(NULL);
    cr_assert_null(s, "the repaired copy could not be made");
    cr_assert_eq(rc, TC_ENOMEM, "the key's copy could not be made, rc %d", rc);
    cr_assert_eq(json_object_size(o), 0, "nothing was set");
    cr_assert_eq(failed, 2, "two allocations failed on purpose, got %llu",
                 (unsigned long long)failed);
    json_decref(o);
}
