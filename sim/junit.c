/* junit.c — JUnit XML writer (see junit.h). */
#include "junit.h"

#include "jsonw.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A valid UTF-8 sequence (jsonw.h) that is also an XML character: U+FFFE and U+FFFF are not. */
size_t tc_junit_utf8_len(const unsigned char *s)
{
    size_t n = tc_jsonw_utf8_len(s);
    if (n == 3 && s[0] == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF))
        return 0;
    return n;
}

void tc_junit_escape(FILE *f, const char *s)
{
    TC_ASSERT(f != NULL);
    if (s == NULL)
        return;
    const unsigned char *p = (const unsigned char *)s;
    while (*p != 0) {
        size_t n = tc_junit_utf8_len(p);
        if (n > 1) {
            fwrite(p, 1, n, f);
            p += n;
            continue;
        }
        unsigned c = *p++;
        if (n == 0 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F)
            fputc('?', f);
        else if (c == '&')
            fputs("&amp;", f);
        else if (c == '<')
            fputs("&lt;", f);
        else if (c == '>')
            fputs("&gt;", f);
        else if (c == '"')
            fputs("&quot;", f);
        else if (c == '\'')
            fputs("&apos;", f);
        else if (c == '\n' || c == '\r' || c == '\t')
            fprintf(f, "&#%u;", c); /* kept as written even inside attribute values */
        else
            fputc((int)c, f);
    }
}

static void put_seconds(FILE *f, uint64_t ms)
{
    fprintf(f, "%" PRIu64 ".%03" PRIu64, ms / 1000, ms % 1000);
}

void tc_junit_case_put(FILE *f, const char *suite_name, const tc_junit_case *c)
{
    TC_ASSERT(f != NULL && suite_name != NULL && c != NULL && c->name != NULL);
    fputs("    <testcase name=\"", f);
    tc_junit_escape(f, c->name);
    fputs("\" classname=\"", f);
    tc_junit_escape(f, c->classname != NULL ? c->classname : suite_name);
    fputs("\" time=\"", f);
    put_seconds(f, c->time_ms);
    if (c->failure_message == NULL) {
        fputs("\"/>\n", f);
        return;
    }
    fputs("\">\n      <failure message=\"", f);
    tc_junit_escape(f, c->failure_message);
    fputs("\" type=\"", f);
    tc_junit_escape(f, c->failure_type != NULL ? c->failure_type : "failure");
    fputs("\">", f);
    tc_junit_escape(f, c->failure_text);
    fputs("</failure>\n    </testcase>\n", f);
}

void tc_junit_begin(FILE *f, const char *suite_name, uint64_t tests, uint64_t failures,
                    uint64_t time_ms)
{
    TC_ASSERT(f != NULL && suite_name != NULL);
    TC_ASSERT(failures <= tests);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f, "<testsuites tests=\"%" PRIu64 "\" failures=\"%" PRIu64 "\" errors=\"0\" time=\"",
            tests, failures);
    put_seconds(f, time_ms);
    fputs("\">\n  <testsuite name=\"", f);
    tc_junit_escape(f, suite_name);
    fprintf(f,
            "\" tests=\"%" PRIu64 "\" failures=\"%" PRIu64 "\" errors=\"0\" skipped=\"0\" time=\"",
            tests, failures);
    put_seconds(f, time_ms);
    fputs("\">\n", f);
}

int tc_junit_end(FILE *f)
{
    TC_ASSERT(f != NULL);
    fputs("  </testsuite>\n</testsuites>\n", f);
    return ferror(f) ? TC_EINVAL : 0;
}

int tc_junit_write(FILE *f, const char *suite_name, const tc_junit_case *cases, uint64_t count)
{
    TC_ASSERT(f != NULL && suite_name != NULL);
    TC_ASSERT(cases != NULL || count == 0);
    if (count > TC_JUNIT_CASES_MAX)
        return TC_EINVAL;
    uint64_t failures = 0, time_ms = 0;
    for (uint64_t k = 0; k < count; k++) {
        if (cases[k].name == NULL)
            return TC_EINVAL;
        failures += cases[k].failure_message != NULL ? 1 : 0;
        time_ms += cases[k].time_ms;
    }
    tc_junit_begin(f, suite_name, count, failures, time_ms);
    for (uint64_t k = 0; k < count; k++)
        tc_junit_case_put(f, suite_name, &cases[k]);
    return tc_junit_end(f);
}

static char *tmp_name(const char *path)
{
    size_t len = strlen(path);
    char *tmp = malloc(len + 5);
    if (tmp != NULL) {
        memcpy(tmp, path, len);
        memcpy(tmp + len, ".tmp", 5);
    }
    return tmp;
}

FILE *tc_junit_tmp_open(const char *path)
{
    TC_ASSERT(path != NULL);
    char *tmp = tmp_name(path);
    FILE *f = tmp != NULL ? fopen(tmp, "w") : NULL;
    free(tmp);
    return f;
}

int tc_junit_tmp_commit(const char *path, FILE *f, int rc)
{
    TC_ASSERT(path != NULL && f != NULL);
    if (fclose(f) != 0 && rc == 0)
        rc = TC_EINVAL;
    char *tmp = tmp_name(path);
    if (tmp == NULL)
        return TC_ENOMEM; /* the temporary file stays: its name cannot even be built */
    if (rc == 0 && rename(tmp, path) != 0)
        rc = TC_ENOTFOUND;
    if (rc != 0)
        remove(tmp);
    free(tmp);
    return rc;
}

int tc_junit_write_file(const char *path, const char *suite_name, const tc_junit_case *cases,
                        uint64_t count)
{
    FILE *f = tc_junit_tmp_open(path);
    if (f == NULL)
        return TC_ENOTFOUND;
    return tc_junit_tmp_commit(path, f, tc_junit_write(f, suite_name, cases, count));
}
