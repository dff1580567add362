/* test_config.c — config.toml's schema and checks (net-real/config.h): defaults, any TOML
 * spelling, paths from the config's folder, and FILE:LINE:COLUMN errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char dir[] = "/tmp/tc-test-config-XXXXXX";
static char path[256];

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/c.toml", dir);
}

static void teardown(void)
{
    unlink(path);
    rmdir(dir);
}

/* Loads text as the config; returns td_config_load's result, err filled. */
static int load(const char *text, td_config *c, char *err, size_t err_len)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return td_config_load(path, c, err, err_len);
}

TestSuite(config, .init = setup, .fini = teardown);

Test(config, defaults_and_paths_from_the_config_folder)
{
    td_config c;
    char err[512] = "";
    cr_assert_eq(load("data_dir = \"d\"\ngenesis = \"/abs/g.json\"\n", &c, err, sizeof(err)), 0,
                 "%s", err);
    char want[300];
    snprintf(want, sizeof(want), "%s/d", dir);
    cr_assert_str_eq(c.data_dir, want, "relative: from the config's folder");
    cr_assert_str_eq(c.genesis, "/abs/g.json", "absolute: as written");
    cr_assert_str_eq(c.network, "testnet");
    cr_assert_eq(c.max_inbound, 64);
    cr_assert_eq(c.max_outbound, 16);
    cr_assert_eq(c.frame_size_max, 4u << 20);
    cr_assert_eq(c.output_buffer_max, 16u << 20);
    cr_assert_eq(c.handshake_timeout_ms, 10000);
    cr_assert_eq(c.map_size_mib, 1024);
    cr_assert_eq(c.log_level, TD_LOG_INFO);
    cr_assert_eq(c.log_format, TD_LOG_TEXT);
    cr_assert(c.verify_pool, "the verify pool is on by default");
    cr_assert_str_eq(c.p2p_listen, "", "no listener unless asked");
    cr_assert_eq(c.peer_count, 0);
}

/* Dotted keys, inline tables, literal strings, a multi-line array with a trailing comma and a
 * comment, hexadecimal and underscored integers: all one config. */
Test(config, any_toml_spelling)
{
    td_config c;
    char err[512] = "";
    const char *text = "data_dir = 'd'\ngenesis = \"\"\"g\"\"\"\np2p.listen = \"127.0.0.1:7\"\n"
                       "p2p.peers = [\n  \"127.0.0.1:8\", # one\n  'localhost:9',\n]\n"
                       "log = { format = \"json\" }\n[limits]\nframe_size_max = 0x10_000\n"
                       "output_buffer_max = 1_048_576\n[verify]\npool = false\n";
    cr_assert_eq(load(text, &c, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(c.p2p_listen, "127.0.0.1:7");
    cr_assert_eq(c.peer_count, 2);
    cr_assert_str_eq(c.peers[1], "localhost:9");
    cr_assert_eq(c.log_format, TD_LOG_JSON);
    cr_assert_eq(c.frame_size_max, 65536);
    cr_assert_eq(c.output_buffer_max, 1048576);
    cr_assert_not(c.verify_pool);
}

typedef struct {
    const char *text;
    const char *where; /* ":LINE:COLUMN: " after the path */
    const char *what;
} bad_case;

Test(config, errors_name_line_and_column)
{
    static const bad_case cases[] = {
        {"data_dir = \"d\"\ngenesis = \"g\"\nbogus = 1\n", ":3:1: ", "unknown key bogus"},
        {"data_dir = \"d\"\ngenesis = \"g\"\n[p2p]\nmax_inbound = 'x'\n",
         ":4:15: ", "must be an integer, not a string"},
        {"data_dir = \"d\"\ngenesis = \"g\"\n[p2p]\nmax_outbound = 257\n",
         ":4:16: ", "must be in 0..256, got 257"},
        {"data_dir = \"d\"\ngenesis = \"g\"\np2p.peers = ['127.0.0.1:0']\n",
         ":3:14: ", "expected \"IPV4:PORT\""},
        {"data_dir = \"d\"\ngenesis = \"g\"\nlog.level = 'loud'\n", ":3:13: ", "must be one of"},
        {"data_dir = \"d\"\n", ":1:1: ", "missing required key genesis"},
        {"data_dir = \"d\"\ngenesis = \"g\"\n[limits]\nreconnect_min_ms = 9000\n"
         "reconnect_max_ms = 1000\n",
         ":1:1: ", "reconnect_min_ms exceeds"},
        {"data_dir = \"d\"\ngenesis = [\n", ":2:13: ", "end-of-file"}, /* the parser's own */
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        td_config c;
        char err[512] = "", want[400];
        cr_assert_eq(load(cases[k].text, &c, err, sizeof(err)), -1, "case %zu is refused", k);
        snprintf(want, sizeof(want), "%s%s", path, cases[k].where);
        cr_assert_eq(strncmp(err, want, strlen(want)), 0, "case %zu: want %s..., got %s", k, want,
                     err);
        cr_assert_not_null(strstr(err, cases[k].what), "case %zu: %s", k, err);
    }
}

Test(config, a_missing_file_is_named)
{
    td_config c;
    char err[512] = "";
    cr_assert_eq(td_config_load("/nonexistent/x.toml", &c, err, sizeof(err)), -1);
    cr_assert_eq(strncmp(err, "/nonexistent/x.toml: ", 21), 0, "%s", err);
}

Test(config, addresses_split)
{
    char host[16];
    uint16_t port = 0;
    cr_assert_eq(td_addr_split("10.1.2.3:24100", host, &port), 0);
    cr_assert_str_eq(host, "10.1.2.3");
    cr_assert_eq(port, 24100);
    cr_assert_eq(td_addr_split("localhost:5", host, &port), 0);
    cr_assert_str_eq(host, "127.0.0.1", "localhost is the loopback address");
    cr_assert_eq(td_addr_split("1.2.3.4:65536", host, &port), -1, "port past 65535");
    cr_assert_eq(td_addr_split("1.2.3:5", host, &port), -1, "not a dotted quad");
    cr_assert_eq(td_addr_split("example.org:5", host, &port), -1, "names are not resolved");
    cr_assert_eq(td_addr_split(":5", host, &port), -1, "no host");
}
