/* junit.h — JUnit XML reports (the de-facto format CI systems read: Jenkins, GitLab, GitHub
 * test reporters): one <testsuite> with one <testcase> per seed of a sweep or per scenario of a
 * run, a <failure> element for each failed case.
 *
 * The module owns nothing: it writes what the caller's table holds. Every string it writes goes
 * through tc_junit_escape, so a failure message may hold anything a child printed: markup
 * characters are escaped, characters XML 1.0 forbids (control characters other than tab,
 * newline and carriage return) and bytes that are not UTF-8 become '?', so the file always
 * parses.
 *
 * Output shape (attributes in this order; times in seconds with millisecond precision, printed
 * from integer milliseconds):
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <testsuites tests="T" failures="F" errors="0" time="S">
 *     <testsuite name="..." tests="T" failures="F" errors="0" skipped="0" time="S">
 *       <testcase name="..." classname="..." time="S"/>
 *       <testcase name="..." classname="..." time="S">
 *         <failure message="..." type="...">text</failure>
 *       </testcase>
 *     </testsuite>
 *   </testsuites>
 */
#ifndef TC_JUNIT_H
#define TC_JUNIT_H

#include <stdio.h>

#include "base.h"

#define TC_JUNIT_CASES_MAX 100000000u /* testcases in one file */

typedef struct {
    const char *name;      /* "seed 17", a scenario path; required */
    const char *classname; /* grouping shown by CI (the scenario); NULL: the suite name */
    uint64_t time_ms;
    const char *failure_message; /* NULL: the case passed */
    const char *failure_type;    /* "expectation", "violation", "timeout", ...; NULL: "failure" */
    const char *failure_text;    /* element body (e.g. the replay command); may be NULL */
} tc_junit_case;

/* Length (1..4) of the well-formed UTF-8 sequence that starts at s, or 0 when the bytes there
 * are not one (overlong forms, surrogates, U+FFFE/U+FFFF and code points past U+10FFFF
 * included) or s points at the terminating NUL. JSON writers use it too. */
size_t tc_junit_utf8_len(const unsigned char *s);

/* Writes s to f, escaped for both text and attribute values (quotes included). */
void tc_junit_escape(FILE *f, const char *s);

/* Streaming, for reports too large to hold as one table (a sweep of millions of seeds): the
 * header with the totals the caller counted, then each case, then the footer. tc_junit_end
 * returns TC_EINVAL when the stream reports an error, else 0. A case without a name asserts. */
void tc_junit_begin(FILE *f, const char *suite_name, uint64_t tests, uint64_t failures,
                    uint64_t time_ms);
void tc_junit_case_put(FILE *f, const char *suite_name, const tc_junit_case *c);
int tc_junit_end(FILE *f);

/* Writes the whole document for `count` cases of one suite named suite_name.
 * Codes: TC_EINVAL (count over TC_JUNIT_CASES_MAX, a case without a name, or the stream
 * reports an error). */
int tc_junit_write(FILE *f, const char *suite_name, const tc_junit_case *cases, uint64_t count);

/* A report file appears whole or not at all: tc_junit_tmp_open opens "PATH.tmp" for writing
 * (NULL when it cannot); tc_junit_tmp_commit closes it and, when rc is 0 and the close
 * succeeds, renames it to PATH, else removes it. Returns rc, or TC_EINVAL (close failed),
 * TC_ENOTFOUND (rename failed), TC_ENOMEM. */
FILE *tc_junit_tmp_open(const char *path);
int tc_junit_tmp_commit(const char *path, FILE *f, int rc);

/* tc_junit_write into path through the two calls above. Codes: those of tc_junit_write and
 * tc_junit_tmp_commit; TC_ENOTFOUND (cannot create the file). */
int tc_junit_write_file(const char *path, const char *suite_name, const tc_junit_case *cases,
                        uint64_t count);

#endif
