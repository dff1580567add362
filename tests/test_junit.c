/* test_junit.c — JUnit XML: escaping (markup, quotes, forbidden control characters, bytes
 * that are not UTF-8), the document's structure and totals, streaming, and the file written
 * whole through a temporary name. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "junit.h"

static char *escaped(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    tc_junit_escape(f, s);
    cr_assert_eq(fclose(f), 0);
    return buf;
}

static char *document(const tc_junit_case *cases, uint64_t count)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cr_assert_eq(tc_junit_write(f, "sweep <x.scn>", cases, count), 0);
    cr_assert_eq(fclose(f), 0);
    return buf;
}

static uint32_t occurrences(const char *text, const char *what)
{
    uint32_t n = 0;
    for (const char *p = strstr(text, what); p != NULL; p = strstr(p + 1, what))
        n++;
    return n;
}

Test(junit, escapes_markup_quotes_and_forbidden_bytes)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain text 123", "plain text 123"},
        {"<a href=\"x\">&'</a>", "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"},
        {"a\tb\nc\rd", "a&#9;b&#10;c&#13;d"},
        {"bell\a esc\x1b del\x7f", "bell? esc? del?"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"bad \xff\xfe end", "bad ?? end"},
        {"overlong \xc0\xaf", "overlong ??"},
        {"surrogate \xed\xa0\x80", "surrogate ???"},
        {"cut \xe2\x82", "cut ??"},
        {"", ""},
    };
    for (size_t k = 0; k < TC_ARRAY_LEN(cases); k++) {
        char *got = escaped(cases[k].in);
        cr_assert_str_eq(got, cases[k].out, "case %zu", k);
        free(got);
    }
    char *got = escaped(NULL);
    cr_assert_str_eq(got, "");
    free(got);
}

Test(junit, utf8_lengths)
{
    cr_assert_eq(tc_junit_utf8_len((const unsigned char *)"a"), 1);
    cr_assert_eq(tc_junit_utf8_len((const unsigned char *)"\xc3\xa9"), 2);
    cr_assert_eq(tc_junit_utf8_len((const unsigned char *)"\xe2\x82\xac"), 3);
    cr_assert_eq(tc_junit_utf8_len((const unsigned char *)"\xf0\x9f\x98\x80"), 4);
    cr_assert_eq(tc_junit_utf8_len((const unsigned char *)"\xf4\x90\x80\x80"), 0, "> U+10FFFF");
    cr_assert_eq(tc_junit_utf8_len((const unsigned char *)"\xef\xbf\xbf"), 0, "U+FFFF");
    cr_assert_eq(tc_junit_utf8_len((const unsigned char *)"\x80"), 0, "a lone continuation");
    cr_assert_eq(tc_junit_utf8_len((const unsigned char *)""), 0, "the terminator");
}

Test(junit, one_testcase_per_case_with_totals)
{
    tc_junit_case cases[] = {
        {.name = "seed 1", .classname = "x.scn", .time_ms = 1500},
        {.name = "seed 2",
         .classname = "x.scn",
         .time_ms = 250,
         .failure_message = "expect:height >= 100 \"n0\" <at 3>",
         .failure_type = "fail",
         .failure_text = "replay: timesim run x.scn --seed 2"},
        {.name = "seed 3", .time_ms = 7},
    };
    char *doc = document(cases, 3);
    cr_assert(strncmp(doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 39) == 0);
    cr_assert_not_null(strstr(doc, "<testsuites tests=\"3\" failures=\"1\" errors=\"0\" "
                                   "time=\"1.757\">"),
                       "%s", doc);
    cr_assert_not_null(strstr(doc, "<testsuite name=\"sweep &lt;x.scn&gt;\" tests=\"3\" "
                                   "failures=\"1\" errors=\"0\" skipped=\"0\" time=\"1.757\">"),
                       "%s", doc);
    cr_assert_eq(occurrences(doc, "<testcase "), 3, "%s", doc);
    cr_assert_eq(occurrences(doc, "<failure "), 1, "%s", doc);
    cr_assert_not_null(
        strstr(doc, "<testcase name=\"seed 1\" classname=\"x.scn\" time=\"1.500\"/>"), "%s", doc);
    cr_assert_not_null(strstr(doc, "<failure message=\"expect:height &gt;= 100 &quot;n0&quot; "
                                   "&lt;at 3&gt;\" type=\"fail\">replay: timesim run x.scn "
                                   "--seed 2</failure>\n    </testcase>"),
                       "%s", doc);
    /* a case without a classname takes the suite's */
    cr_assert_not_null(strstr(doc, "<testcase name=\"seed 3\" classname=\"sweep &lt;x.scn&gt;\" "
                                   "time=\"0.007\"/>"),
                       "%s", doc);
    const char *tail = "  </testsuite>\n</testsuites>\n";
    cr_assert_str_eq(doc + strlen(doc) - strlen(tail), tail, "the document ends closed");
    free(doc);
}

Test(junit, empty_suite_and_bad_tables)
{
    char *doc = document(NULL, 0);
    cr_assert_not_null(strstr(doc, "tests=\"0\" failures=\"0\""));
    cr_assert_eq(occurrences(doc, "<testcase"), 0);
    free(doc);
    tc_junit_case nameless = {.name = NULL};
    FILE *f = fopen("/dev/null", "w");
    cr_assert_not_null(f);
    cr_assert_eq(tc_junit_write(f, "s", &nameless, 1), TC_EINVAL);
    cr_assert_eq(tc_junit_write(f, "s", &nameless, (uint64_t)TC_JUNIT_CASES_MAX + 1), TC_EINVAL);
    fclose(f);
}

Test(junit, streaming_matches_the_table_writer)
{
    tc_junit_case cases[] = {{.name = "a", .time_ms = 1},
                             {.name = "b", .time_ms = 2, .failure_message = "m"}};
    char *table = document(cases, 2);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tc_junit_begin(f, "sweep <x.scn>", 2, 1, 3);
    tc_junit_case_put(f, "sweep <x.scn>", &cases[0]);
    tc_junit_case_put(f, "sweep <x.scn>", &cases[1]);
    cr_assert_eq(tc_junit_end(f), 0);
    fclose(f);
    cr_assert_str_eq(buf, table);
    cr_assert_not_null(strstr(buf, "type=\"failure\">"), "the default failure type");
    free(buf);
    free(table);
}

Test(junit, file_appears_whole_and_no_temporary_stays)
{
    char dir[] = "/tmp/test_junit_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[64], tmp[80];
    snprintf(path, sizeof(path), "%s/report.xml", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    tc_junit_case c = {.name = "seed 9", .failure_message = "x"};
    cr_assert_eq(tc_junit_write_file(path, "suite", &c, 1), 0);
    cr_assert_eq(access(tmp, F_OK), -1, "the temporary file stayed");
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char text[1024];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = 0;
    fclose(f);
    cr_assert_not_null(strstr(text, "<testcase name=\"seed 9\""));
    /* a failed write leaves no temporary file and the earlier report in place */
    cr_assert_eq(tc_junit_write_file(path, "suite", &(tc_junit_case){.name = NULL}, 1), TC_EINVAL);
    cr_assert_eq(access(tmp, F_OK), -1);
    cr_assert_eq(access(path, F_OK), 0);
    char missing[96];
    snprintf(missing, sizeof(missing), "%s/no/such/folder.xml", dir);
    cr_assert_eq(tc_junit_write_file(missing, "suite", &c, 1), TC_ENOTFOUND);
    remove(path);
    rmdir(dir);
}
