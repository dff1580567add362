/* test_log.c — the log's two forms and its file (net-real/log.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char path[] = "/tmp/tc-test-log-XXXXXX";

static char *read_all(void)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void setup(void)
{
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(td_log_open(path), 0);
}

static void teardown(void)
{
    td_log_open(NULL);
    unlink(path);
}

TestSuite(log, .init = setup, .fini = teardown);

Test(log, text_lines_quote_what_needs_it_and_filter_by_level)
{
    td_log_setup(TD_LOG_INFO, TD_LOG_TEXT);
    td_log(TD_LOG_INFO, "ev", "plain", "abc", "spaced", "a b", "quoted", "say \"hi\"", NULL);
    td_logf(TD_LOG_WARN, "num", "height=%d round=%u", 7, 2u);
    td_log(TD_LOG_DEBUG, "hidden", "k", "v", NULL);
    char *text = read_all();
    cr_assert_not_null(strstr(text, " level=info event=ev plain=abc spaced=\"a b\" "
                                    "quoted=\"say \\\"hi\\\"\"\n"),
                       "%s", text);
    cr_assert_not_null(strstr(text, " level=warn event=num height=7 round=2\n"), "%s", text);
    cr_assert_null(strstr(text, "hidden"), "debug is below info");
    cr_assert_eq(strncmp(text, "ts=20", 5), 0, "every line starts with its UTC time: %s", text);
}

Test(log, json_lines_hold_the_same_keys)
{
    td_log_setup(TD_LOG_DEBUG, TD_LOG_JSON);
    td_log(TD_LOG_ERROR, "ev", "k", "a \"b\"", NULL);
    char *text = read_all();
    cr_assert_not_null(
        strstr(text, "\"level\":\"error\",\"event\":\"ev\",\"k\":\"a \\\"b\\\"\"}\n"), "%s", text);
    cr_assert_eq(strncmp(text, "{\"ts\":\"20", 9), 0, "%s", text);
}

/* A rotation: the file is renamed, td_log_open opens the path again, new lines go there. */
Test(log, reopening_follows_the_path)
{
    td_log_setup(TD_LOG_INFO, TD_LOG_TEXT);
    td_log(TD_LOG_INFO, "before", NULL);
    char old[64];
    snprintf(old, sizeof(old), "%s.1", path);
    cr_assert_eq(rename(path, old), 0);
    cr_assert_eq(td_log_open(path), 0);
    td_log(TD_LOG_INFO, "after", NULL);
    char *text = read_all();
    cr_assert_not_null(strstr(text, "event=after"), "%s", text);
    cr_assert_null(strstr(text, "event=before"), "the old lines stay in the renamed file");
    unlink(old);
    cr_assert_eq(td_log_open("/nonexistent/dir/x.log"), -1, "an unopenable path fails");
}
