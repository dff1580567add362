/* scenario.c — the `.scn` parser, the semantic checks, and the canonical writer.
 *
 * Parsing runs in two stages. The first reads the text line by line, splits each line into
 * tokens, and builds the data model statement by statement; a syntax error (a bad word, number,
 * unit, a statement in the wrong place) stops it at once. The second stage runs on the whole
 * model, because some facts are only known at the end: how many nodes there are, which nodes
 * are twins, when a registered validator appears (events are sorted first), whether a restart
 * follows a crash, whether the profile overrides are consistent. It reports the error that
 * comes first in the file among the ones it finds.
 */
#include "scenario.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tx.h"

/* ------------------------------------------------------------------------------------------ */
/* Parser state                                                                                */

typedef struct {
    const char *s; /* word text, or a string's raw contents (escapes not yet undone) */
    uint32_t len;
    uint32_t col;
    bool str; /* a "quoted string" */
} tok;

typedef enum { PH_SETUP = 0, PH_TIMELINE = 1, PH_EXPECT = 2 } phase;

/* Statements that may appear once; seen[] remembers the line of the first. */
enum {
    ONCE_SCENARIO,
    ONCE_SEED,
    ONCE_NODES,
    ONCE_FULLNODES,
    ONCE_NETWORK,
    ONCE_STORAGE,
    ONCE_CRYPTO,
    ONCE_LOAD,
    ONCE_CHAOS,
    ONCE_RUN,
    ONCE_COUNT,
    ONCE_NO = -1
};

typedef struct {
    const char *name; /* prefixes messages */
    tc_scn *s;
    char *err;
    size_t err_len;
    bool failed; /* a message is in err; err_line/err_col say where */
    uint32_t err_line, err_col;

    uint32_t line;
    tok *toks;
    uint32_t tok_count, tok_cap;
    uint32_t i; /* cursor into toks */

    phase ph;
    uint32_t seen[ONCE_COUNT];
    uint32_t network_line;                     /* a `profile` named the network here; 0: not yet */
    uint32_t nodes_col, chaos_line, chaos_col; /* positions the final checks point at */
    uint32_t eof_line, eof_col;

    /* Stage two: registered validators (reg_event[r]: sorted index of the event registering
     * n{node_count + r}), twins (twin_of[K]: nK has a twin), crashed nodes (line of the crash,
     * 0 while running), by node kind and index. */
    uint32_t reg_count;
    uint32_t reg_event[TC_SCN_NODES_MAX];
    bool twin_of[TC_SCN_NODES_MAX];
    uint32_t crashed[3][TC_SCN_NODES_MAX];

    /* Capacities of the model's arrays (the model keeps counts only). */
    uint32_t override_cap, tier_cap, link_cap, clock_cap, byz_cap, event_cap, expect_cap,
        member_cap;
} parser;

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                      */

/* Records "name:line:col: expected <expected>, got <got>" unless an earlier error is recorded
 * already: the first stage stops at its first error, the second keeps the one first in file. */
static int report(parser *p, uint32_t line, uint32_t col, const char *got, const char *fmt, ...)
{
    TC_ASSERT(line > 0 && col > 0);
    if (p->failed && (p->err_line < line || (p->err_line == line && p->err_col <= col)))
        return TC_EINVAL;
    p->failed = true;
    p->err_line = line;
    p->err_col = col;
    char expected[480]; /* as fail_tok */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(expected, sizeof(expected), fmt, ap);
    va_end(ap);
    if (p->err_len > 0)
        snprintf(p->err, p->err_len, "%s:%" PRIu32 ":%" PRIu32 ": expected %s, got %s", p->name,
                 line, col, expected, got);
    return TC_EINVAL;
}

/* How a token reads in a message: `word`, "string", or end of line (t == NULL). */
static const char *describe(const tok *t, char *buf, size_t size)
{
    if (t == NULL)
        return "end of line";
    const char *quote = t->str ? "\"" : "`";
    int shown = t->len > 40 ? 40 : (int)t->len;
    snprintf(buf, size, "%s%.*s%s%s", quote, shown, t->s, t->len > 40 ? "..." : "", quote);
    return buf;
}

/* Error at token t (NULL: at the end of the current line). */
static int fail_tok(parser *p, const tok *t, const char *fmt, ...)
{
    char expected[480]; /* a choice lists every name (get_choice) */
    char got[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(expected, sizeof(expected), fmt, ap);
    va_end(ap);
    uint32_t col = 1;
    if (t != NULL)
        col = t->col;
    else if (p->tok_count > 0)
        col = p->toks[p->tok_count - 1].col + p->toks[p->tok_count - 1].len +
              (p->toks[p->tok_count - 1].str ? 2 : 0);
    return report(p, p->line, col, describe(t, got, sizeof(got)), "%s", expected);
}

static int out_of_memory(parser *p)
{
    if (p->err_len > 0)
        snprintf(p->err, p->err_len, "%s: out of memory", p->name);
    p->failed = true;
    return TC_ENOMEM;
}

/* Makes room for one more element of an array of the model, bounded by max. */
static int reserve(parser *p, void **arr, uint32_t *cap, uint32_t count, size_t elem, uint32_t max,
                   const char *what)
{
    TC_ASSERT(count <= *cap && *cap <= max);
    if (count < *cap)
        return 0;
    if (count == max)
        return fail_tok(p, p->tok_count > 0 ? &p->toks[0] : NULL, "at most %" PRIu32 " %s", max,
                        what);
    uint32_t grown = *cap < 8 ? 8 : *cap * 2;
    if (grown > max || grown < *cap)
        grown = max;
    void *bigger = realloc(*arr, (size_t)grown * elem);
    if (bigger == NULL)
        return out_of_memory(p);
    *arr = bigger;
    *cap = grown;
    return 0;
}

#define RESERVE(p, arr, cap, count, max, what)                                                     \
    reserve((p), (void **)&(arr), &(cap), (count), sizeof(*(arr)), (max), (what))

/* ------------------------------------------------------------------------------------------ */
/* Lexer                                                                                       */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static bool is_word_char(unsigned char c)
{
    return c > ' ' && c < 0x7f && c != '#' && c != '"' && c != '|';
}

static int push_tok(parser *p, const char *s, uint32_t len, uint32_t col, bool str)
{
    TC_ASSERT(col > 0 && (len > 0 || str));
    if (p->tok_count == TC_SCN_TOKENS_MAX) {
        char got[64];
        snprintf(got, sizeof(got), "more");
        return report(p, p->line, col, got, "at most %d words on a line", TC_SCN_TOKENS_MAX);
    }
    if (p->tok_count == p->tok_cap) {
        uint32_t grown = p->tok_cap == 0 ? 32 : p->tok_cap * 2;
        tok *bigger = realloc(p->toks, (size_t)grown * sizeof(*bigger));
        if (bigger == NULL)
            return out_of_memory(p);
        p->toks = bigger;
        p->tok_cap = grown;
    }
    p->toks[p->tok_count++] = (tok){.s = s, .len = len, .col = col, .str = str};
    return 0;
}

/* A "string" starting at line[*at] (the opening quote). Only \" and \\ are escapes. */
static int lex_string(parser *p, const char *line, size_t len, size_t *at)
{
    size_t start = *at + 1;
    size_t i = start;
    char got[16];
    while (i < len && line[i] != '"') {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(got, sizeof(got), "byte 0x%02x", c);
            return report(p, p->line, (uint32_t)i + 1, got, "text in the string");
        }
        if (c == '\\') {
            if (i + 1 >= len || (line[i + 1] != '"' && line[i + 1] != '\\'))
                return report(p, p->line, (uint32_t)i + 1, i + 1 >= len ? "end of line" : "`\\`",
                              "\\\" or \\\\ (the only escapes)");
            i++;
        }
        i++;
    }
    if (i >= len)
        return report(p, p->line, (uint32_t)len + 1, "end of line", "`\"` closing the string");
    *at = i + 1;
    return push_tok(p, line + start, (uint32_t)(i - start), (uint32_t)start, true);
}

/* Splits one line (without its newline) into tokens: words, strings and `|`; `#` to the end
 * of the line is a comment. Outside strings and comments only printable ASCII is allowed. */
static int lex_line(parser *p, const char *line, size_t len)
{
    p->tok_count = 0;
    p->i = 0;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)line[i];
        int rc = 0;
        if (is_space((char)c)) {
            i++;
        } else if (c == '#') {
            break;
        } else if (c == '"') {
            rc = lex_string(p, line, len, &i);
        } else if (c == '|') {
            rc = push_tok(p, line + i, 1, (uint32_t)i + 1, false);
            i++;
        } else if (is_word_char(c)) {
            size_t start = i;
            while (i < len && is_word_char((unsigned char)line[i]))
                i++;
            rc = push_tok(p, line + start, (uint32_t)(i - start), (uint32_t)start + 1, false);
        } else {
            char got[16];
            snprintf(got, sizeof(got), "byte 0x%02x", c);
            rc = report(p, p->line, (uint32_t)i + 1, got, "printable text");
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Token access                                                                                */

static const tok *peek(const parser *p)
{
    return p->i < p->tok_count ? &p->toks[p->i] : NULL;
}

static const tok *next(parser *p)
{
    const tok *t = peek(p);
    if (t != NULL)
        p->i++;
    return t;
}

static bool tok_is(const tok *t, const char *word)
{
    return t != NULL && !t->str && strlen(word) == t->len && memcmp(t->s, word, t->len) == 0;
}

static int want_end(parser *p)
{
    const tok *t = peek(p);
    return t == NULL ? 0 : fail_tok(p, t, "end of line");
}

/* Index of the token's word in names[0..n), or -1. NULL entries never match. */
static int choice(const tok *t, const char *const *names, int n)
{
    for (int k = 0; k < n; k++) {
        if (names[k] != NULL && tok_is(t, names[k]))
            return k;
    }
    return -1;
}

/* ------------------------------------------------------------------------------------------ */
/* Values. The *_value functions read one token's text; the get_* ones consume the next token
 * and report what was expected when it does not fit.                                         */

typedef enum { V_OK, V_SYNTAX, V_RANGE, V_INEXACT } vres;

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Decimal digits into *out. V_SYNTAX unless all len (>= 1) chars are digits; V_RANGE on
 * overflow. */
static vres digits_value(const char *s, uint32_t len, uint64_t *out)
{
    if (len == 0)
        return V_SYNTAX;
    uint64_t v = 0;
    for (uint32_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return V_SYNTAX;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return V_RANGE;
        v = v * 10 + d;
    }
    *out = v;
    return V_OK;
}

static uint64_t pow10_u64(uint32_t n)
{
    TC_ASSERT(n <= 19);
    uint64_t v = 1;
    while (n-- > 0)
        v *= 10;
    return v;
}

/* "<digits>[.<digits>]" followed by a suffix: the integer part, the fraction as digits and
 * their count. At most 12 integer and 6 fraction digits (more is V_RANGE / V_INEXACT). */
static vres decimal_value(const char *s, uint32_t len, uint64_t *whole, uint64_t *frac,
                          uint32_t *frac_digits, uint32_t *used)
{
    uint32_t i = 0;
    while (i < len && is_digit(s[i]))
        i++;
    uint32_t int_len = i;
    uint32_t frac_len = 0;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && is_digit(s[i]))
            i++;
        frac_len = i - int_len - 1;
        if (frac_len == 0)
            return V_SYNTAX;
    }
    if (int_len == 0)
        return V_SYNTAX;
    if (int_len > 12)
        return V_RANGE;
    if (frac_len > 6)
        return V_INEXACT;
    /* At most 12 digits cannot overflow; the digits were checked above. */
    vres r = digits_value(s, int_len, whole);
    TC_ASSERT(r == V_OK);
    *frac = 0;
    if (frac_len > 0) {
        r = digits_value(s + int_len + 1, frac_len, frac);
        TC_ASSERT(r == V_OK);
    }
    *frac_digits = frac_len;
    *used = i;
    return V_OK;
}

/* [+|-]<decimal>(ms|s|m) in whole milliseconds, |value| <= TC_SCN_DURATION_MAX_MS. */
static vres duration_value(const char *s, uint32_t len, bool sign_ok, int64_t *out)
{
    bool neg = false;
    uint32_t skip = 0;
    if (sign_ok && len > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        skip = 1;
    }
    uint64_t whole = 0, frac = 0;
    uint32_t frac_digits = 0, used = 0;
    vres r = decimal_value(s + skip, len - skip, &whole, &frac, &frac_digits, &used);
    if (r != V_OK)
        return r;
    const char *unit = s + skip + used;
    uint32_t unit_len = len - skip - used;
    uint64_t mult;
    if (unit_len == 2 && memcmp(unit, "ms", 2) == 0)
        mult = 1;
    else if (unit_len == 1 && unit[0] == 's')
        mult = 1000;
    else if (unit_len == 1 && unit[0] == 'm')
        mult = 60000;
    else
        return V_SYNTAX;
    uint64_t scale = pow10_u64(frac_digits);
    if (frac * mult % scale != 0)
        return V_INEXACT;
    uint64_t ms = whole * mult + frac * mult / scale; /* < 10^12 * 6 * 10^4: no overflow */
    if (ms > TC_SCN_DURATION_MAX_MS)
        return V_RANGE;
    *out = neg ? -(int64_t)ms : (int64_t)ms;
    return V_OK;
}

/* <decimal>% into parts per million, at most 100%. */
static vres percent_value(const char *s, uint32_t len, uint32_t *ppm)
{
    uint64_t whole = 0, frac = 0;
    uint32_t frac_digits = 0, used = 0;
    vres r = decimal_value(s, len, &whole, &frac, &frac_digits, &used);
    if (r == V_INEXACT)
        return V_INEXACT;
    if (r != V_OK || used + 1 != len || s[used] != '%')
        return r == V_RANGE ? V_RANGE : V_SYNTAX;
    if (frac_digits > 4)
        return V_INEXACT;
    uint64_t v = whole * 10000 + frac * pow10_u64(4 - frac_digits);
    if (v > TC_SCN_PPM)
        return V_RANGE;
    *ppm = (uint32_t)v;
    return V_OK;
}

/* <digits><suffix> with value <= max. */
static vres suffixed_value(const char *s, uint32_t len, const char *suffix, uint64_t max,
                           uint64_t *out)
{
    uint32_t slen = (uint32_t)strlen(suffix);
    if (len <= slen || memcmp(s + len - slen, suffix, slen) != 0)
        return V_SYNTAX;
    vres r = digits_value(s, len - slen, out);
    if (r == V_OK && *out > max)
        return V_RANGE;
    return r;
}

/* nK, fK or nKb; K without leading zeros, below TC_SCN_NODES_MAX. */
static bool node_value(const char *s, uint32_t len, tc_scn_node *out)
{
    if (len < 2 || (s[0] != 'n' && s[0] != 'f'))
        return false;
    bool twin = s[0] == 'n' && s[len - 1] == 'b';
    uint32_t digits = len - 1 - (twin ? 1 : 0);
    uint64_t index = 0;
    if (digits == 0 || digits > 4 || (digits > 1 && s[1] == '0'))
        return false;
    if (digits_value(s + 1, digits, &index) != V_OK || index >= TC_SCN_NODES_MAX)
        return false;
    out->kind = s[0] == 'f' ? TC_SCN_FULLNODE : twin ? TC_SCN_TWIN : TC_SCN_VALIDATOR;
    out->index = (uint32_t)index;
    return true;
}

/* Canonical text of values, shared by messages and the writer. */
static void fmt_duration(char *buf, size_t size, int64_t ms, bool sign)
{
    uint64_t mag = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    const char *prefix = ms < 0 ? "-" : sign ? "+" : "";
    if (mag != 0 && mag % 60000 == 0)
        snprintf(buf, size, "%s%" PRIu64 "m", prefix, mag / 60000);
    else if (mag != 0 && mag % 1000 == 0)
        snprintf(buf, size, "%s%" PRIu64 "s", prefix, mag / 1000);
    else
        snprintf(buf, size, "%s%" PRIu64 "ms", prefix, mag);
}

static void fmt_percent(char *buf, size_t size, uint32_t ppm)
{
    uint32_t whole = ppm / 10000;
    uint32_t frac = ppm % 10000;
    if (frac == 0) {
        snprintf(buf, size, "%" PRIu32 "%%", whole);
        return;
    }
    int digits = 4;
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    snprintf(buf, size, "%" PRIu32 ".%0*" PRIu32 "%%", whole, digits, frac);
}

static int bad_value(parser *p, const tok *t, vres r, const char *what, const char *form,
                     const char *limit)
{
    TC_ASSERT(r != V_OK);
    if (t == NULL || t->str || r == V_SYNTAX)
        return fail_tok(p, t, "%s (%s)", what, form);
    if (r == V_INEXACT)
        return fail_tok(p, t, "%s in %s", what,
                        strchr(form, '%') != NULL ? "at most 4 decimals" : "whole milliseconds");
    return fail_tok(p, t, "%s of %s", what, limit);
}

static int get_uint(parser *p, const char *what, uint64_t min, uint64_t max, uint64_t *out)
{
    const tok *t = next(p);
    uint64_t v = 0;
    vres r = t == NULL || t->str ? V_SYNTAX : digits_value(t->s, t->len, &v);
    if (r == V_OK && (v < min || v > max))
        r = V_RANGE;
    if (r == V_OK) {
        *out = v;
        return 0;
    }
    char limit[64];
    snprintf(limit, sizeof(limit), "%" PRIu64 "..%" PRIu64, min, max);
    return bad_value(p, t, r, what, "a whole number", limit);
}

static int get_duration(parser *p, const char *what, bool sign_ok, int64_t min, int64_t max,
                        int64_t *out)
{
    const tok *t = next(p);
    int64_t v = 0;
    vres r = t == NULL || t->str ? V_SYNTAX : duration_value(t->s, t->len, sign_ok, &v);
    if (r == V_OK && (v < min || v > max))
        r = V_RANGE;
    if (r == V_OK) {
        *out = v;
        return 0;
    }
    char lo[32], hi[32], limit[80];
    fmt_duration(lo, sizeof(lo), min, sign_ok);
    fmt_duration(hi, sizeof(hi), max, sign_ok);
    snprintf(limit, sizeof(limit), "%s..%s", lo, hi);
    return bad_value(p, t, r, what, sign_ok ? "e.g. +3s, -500ms" : "e.g. 500ms, 2s, 1m", limit);
}

static int get_duration_u(parser *p, const char *what, uint64_t min, uint64_t max, uint64_t *out)
{
    int64_t v = 0;
    int rc = get_duration(p, what, false, (int64_t)min, (int64_t)max, &v);
    if (rc == 0)
        *out = (uint64_t)v;
    return rc;
}

static int get_duration_u32(parser *p, const char *what, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    int rc = get_duration_u(p, what, min, max, &v);
    if (rc == 0)
        *out = (uint32_t)v;
    return rc;
}

static int get_percent(parser *p, const char *what, uint32_t *out)
{
    const tok *t = next(p);
    vres r = t == NULL || t->str ? V_SYNTAX : percent_value(t->s, t->len, out);
    return r == V_OK ? 0 : bad_value(p, t, r, what, "e.g. 1%, 0.5%", "0%..100%");
}

static int get_rate(parser *p, const char *what, uint32_t min, uint32_t *out)
{
    const tok *t = next(p);
    uint64_t v = 0;
    vres r =
        t == NULL || t->str ? V_SYNTAX : suffixed_value(t->s, t->len, "/s", TC_SCN_RATE_MAX, &v);
    if (r == V_OK && v < min)
        r = V_RANGE;
    if (r == V_OK) {
        *out = (uint32_t)v;
        return 0;
    }
    char limit[64];
    snprintf(limit, sizeof(limit), "%" PRIu32 "/s..%u/s", min, TC_SCN_RATE_MAX);
    return bad_value(p, t, r, what, "e.g. 200/s", limit);
}

#define NODE_NAME      "a node name (n0, f0, n0b, ...)"
#define VALIDATOR_NAME "a validator name (n0, n1, ...)"

/* A node name; *col (may be NULL) gets its column. what says what was expected. */
static int get_node(parser *p, const char *what, tc_scn_node *out, uint32_t *col)
{
    const tok *t = next(p);
    if (t == NULL || t->str || !node_value(t->s, t->len, out))
        return fail_tok(p, t, "%s", what);
    if (col != NULL)
        *col = t->col;
    return 0;
}

static int get_choice(parser *p, const char *what, const char *const *names, int n, int *out)
{
    const tok *t = next(p);
    int k = choice(t, names, n);
    if (k >= 0) {
        *out = k;
        return 0;
    }
    char list[400] = "";
    for (int j = 0; j < n; j++) {
        if (names[j] == NULL)
            continue;
        size_t used = strlen(list);
        snprintf(list + used, sizeof(list) - used, "%s%s", used > 0 ? ", " : "", names[j]);
    }
    return fail_tok(p, t, "%s (%s)", what, list);
}

/* Error at the token just consumed. */
static int fail_prev(parser *p, const char *fmt, ...)
{
    TC_ASSERT(p->i > 0);
    char expected[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(expected, sizeof(expected), fmt, ap);
    va_end(ap);
    return fail_tok(p, &p->toks[p->i - 1], "%s", expected);
}

static int want_word(parser *p, const char *word)
{
    const tok *t = next(p);
    return tok_is(t, word) ? 0 : fail_tok(p, t, "`%s`", word);
}

/* ------------------------------------------------------------------------------------------ */
/* Names                                                                                       */

static const char *const tier_names[] = {"bronze", "silver", "gold"};
static const char *const byz_names[] = {
    NULL, "equivocate", "double-vote", "silent", "invalid-sig", "replay", "garbage", "flood",
    "twin",
    /* rule breakers, in tc_adv_kind order */
    "out-of-turn", "forge-proposal", "forge-prevote", "forge-precommit", "forge-batch",
    "forge-heartbeat", "forge-handoff", "forge-evidence", "forge-tx", "sync-bad-hash",
    "sync-low-weight", "sync-non-member", "sync-bad-sig", "time-ahead", "time-behind",
    "stale-height", "future-height", "wrong-proposer", "wrong-round"};
static const char *const storage_names[] = {"mem", "lmdb"};
static const char *const crypto_names[] = {"ed25519", "fast"};
static const char *const network_names[] = {"testnet", "mainnet"};
static const char *const opt_names[] = {"latency", "jitter",    "loss", "dup",
                                        "reorder", "bandwidth", "flap"};
static const char *const cmp_names[] = {NULL, ">=", "<=", "=="};

_Static_assert(TC_TIER_BRONZE == 0 && TC_TIER_SILVER == 1 && TC_TIER_GOLD == 2, "tier_names");
_Static_assert(TC_NET_TESTNET == 0 && TC_NET_MAINNET == 1, "network_names");
_Static_assert(TC_SCN_BYZ_TWIN == 8 && TC_SCN_BYZ_FLOOD == 7, "byz_names");
_Static_assert(TC_ARRAY_LEN(byz_names) == TC_SCN_BYZ_BREAKER_LAST + 1, "byz_names: breakers");
_Static_assert(TC_SCN_LINK_FLAP == 1u << 6, "opt_names follow the TC_SCN_LINK_* bits");

/* Profile fields by index, in tc_profile_each order. */
typedef struct {
    const char *find; /* name looked up, or NULL */
    size_t find_len;
    uint32_t want;    /* index whose name is wanted */
    uint32_t at;      /* running index */
    int found;        /* index of find, -1 */
    const char *name; /* name of want */
} field_walk;

static void field_visit(void *ctx, const char *name, uint64_t value)
{
    field_walk *w = ctx;
    (void)value;
    if (w->find != NULL && strlen(name) == w->find_len && memcmp(name, w->find, w->find_len) == 0)
        w->found = (int)w->at;
    if (w->at == w->want)
        w->name = name;
    w->at++;
}

static field_walk field_walk_run(const char *find, size_t find_len, uint32_t want)
{
    tc_profile defaults;
    tc_profile_get(&defaults, TC_NET_TESTNET);
    field_walk w = {.find = find, .find_len = find_len, .want = want, .found = -1};
    tc_profile_each(&defaults, field_visit, &w);
    return w;
}

static const char *field_name(uint32_t index)
{
    field_walk w = field_walk_run(NULL, 0, index);
    TC_ASSERT(w.name != NULL);
    return w.name;
}

static bool field_is_ms(uint32_t index)
{
    const char *name = field_name(index);
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, "_ms") == 0;
}

/* A field by its name, an alias (epoch, interval), or the name of an _ms field without _ms. */
static int field_find(const char *s, uint32_t len)
{
    static const char *const aliases[][2] = {{"epoch", "epoch_blocks"},
                                             {"interval", "block_interval_ms"}};
    for (size_t k = 0; k < TC_ARRAY_LEN(aliases); k++) {
        if (strlen(aliases[k][0]) == len && memcmp(s, aliases[k][0], len) == 0)
            return field_walk_run(aliases[k][1], strlen(aliases[k][1]), UINT32_MAX).found;
    }
    int found = field_walk_run(s, len, UINT32_MAX).found;
    if (found >= 0 || len > 60)
        return found;
    char with_ms[64];
    snprintf(with_ms, sizeof(with_ms), "%.*s_ms", (int)len, s);
    return field_walk_run(with_ms, strlen(with_ms), UINT32_MAX).found;
}

/* ------------------------------------------------------------------------------------------ */
/* Setup statements                                                                            */

static int st_scenario(parser *p, const tok *kw)
{
    (void)kw;
    const tok *t = next(p);
    if (t == NULL || !t->str)
        return fail_tok(p, t, "a quoted name");
    char *name = p->s->name;
    uint32_t n = 0;
    for (uint32_t k = 0; k < t->len; k++) {
        if (n == TC_SCN_NAME_MAX)
            return fail_tok(p, t, "a name of at most %d bytes", TC_SCN_NAME_MAX);
        if (t->s[k] == '\\')
            k++; /* the lexer let only \" and \\ through */
        name[n++] = t->s[k];
    }
    name[n] = 0;
    return want_end(p);
}

static int st_seed(parser *p, const tok *kw)
{
    (void)kw;
    int rc = get_uint(p, "a seed", 0, UINT64_MAX, &p->s->seed);
    return rc != 0 ? rc : want_end(p);
}

static int add_override(parser *p, uint32_t field, uint64_t value, uint32_t col)
{
    tc_scn *s = p->s;
    for (uint32_t k = 0; k < s->override_count; k++) {
        if (s->overrides[k].field == field) { /* a later override of a field wins */
            s->overrides[k] = (tc_scn_override){field, value, p->line, col};
            return 0;
        }
    }
    int rc = RESERVE(p, s->overrides, p->override_cap, s->override_count, 256, "overrides");
    if (rc != 0)
        return rc;
    s->overrides[s->override_count++] = (tc_scn_override){field, value, p->line, col};
    return 0;
}

static int profile_override(parser *p, bool network_allowed)
{
    const tok *t = next(p);
    int field = t == NULL || t->str ? -1 : field_find(t->s, t->len);
    if (field < 0)
        return fail_tok(p, t, "%sa profile field (e.g. epoch_blocks, block_interval_ms)",
                        network_allowed ? "a network (testnet, mainnet) or " : "");
    const tok *v = peek(p);
    uint32_t col = v != NULL ? v->col : 0;
    uint64_t value = 0;
    char what[96];
    snprintf(what, sizeof(what), "a value for %s", field_name((uint32_t)field));
    int rc = field_is_ms((uint32_t)field)
                 ? get_duration_u(p, what, 0, TC_SCN_DURATION_MAX_MS, &value)
                 : get_uint(p, what, 0, UINT64_MAX, &value);
    return rc != 0 ? rc : add_override(p, (uint32_t)field, value, col);
}

static int st_profile(parser *p, const tok *kw)
{
    (void)kw;
    const tok *t = peek(p);
    int net = choice(t, network_names, 2);
    if (net >= 0) {
        next(p);
        if (p->network_line != 0 && (uint32_t)net != p->s->network)
            return fail_prev(p, "%s (as the `profile` at line %" PRIu32 ")",
                             network_names[p->s->network], p->network_line);
        p->s->network = (uint32_t)net;
        p->network_line = p->line;
    }
    bool first = net < 0;
    while (first || peek(p) != NULL) {
        int rc = profile_override(p, first);
        if (rc != 0)
            return rc;
        first = false;
    }
    return 0;
}

static int st_nodes(parser *p, const tok *kw)
{
    (void)kw;
    const tok *t = peek(p);
    p->nodes_col = t != NULL ? t->col : 1;
    uint64_t v = 0;
    int rc = get_uint(p, "a validator count", 1, TC_SCN_NODES_MAX, &v);
    p->s->node_count = (uint32_t)v;
    return rc != 0 ? rc : want_end(p);
}

static int st_fullnodes(parser *p, const tok *kw)
{
    (void)kw;
    uint64_t v = 0;
    int rc = get_uint(p, "a fullnode count", 0, TC_SCN_NODES_MAX, &v);
    p->s->fullnode_count = (uint32_t)v;
    return rc != 0 ? rc : want_end(p);
}

static int st_tier(parser *p, const tok *kw)
{
    (void)kw;
    tc_scn *s = p->s;
    uint32_t start = s->tier_count;
    while (choice(peek(p), tier_names, 3) < 0) {
        tc_scn_node node;
        uint32_t col = 0;
        int rc =
            get_node(p,
                     start == s->tier_count ? VALIDATOR_NAME
                                            : "a validator name or a tier (bronze, silver, gold)",
                     &node, &col);
        for (uint32_t k = 0; rc == 0 && k < s->tier_count; k++) {
            if (tc_scn_node_equal(s->tiers[k].node, node))
                rc = fail_prev(p, "one tier per node (set at line %" PRIu32 ")", s->tiers[k].line);
        }
        if (rc == 0)
            rc = RESERVE(p, s->tiers, p->tier_cap, s->tier_count, TC_SCN_NODES_MAX, "tiers");
        if (rc != 0)
            return rc;
        s->tiers[s->tier_count++] = (tc_scn_tier_set){node, 0, p->line, col};
    }
    if (start == s->tier_count)
        return fail_tok(p, peek(p), VALIDATOR_NAME);
    int tier = 0;
    int rc = get_choice(p, "a tier", tier_names, 3, &tier);
    for (uint32_t k = start; k < s->tier_count; k++)
        s->tiers[k].tier = (uint32_t)tier;
    return rc != 0 ? rc : want_end(p);
}

static int get_bandwidth(parser *p, uint64_t *out)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {{"GB/s", 1000000000}, {"MB/s", 1000000}, {"kB/s", 1000}, {"B/s", 1}};
    const tok *t = next(p);
    if (tok_is(t, "unlimited")) {
        *out = 0;
        return 0;
    }
    vres r = V_SYNTAX;
    for (size_t k = 0; t != NULL && !t->str && r == V_SYNTAX && k < TC_ARRAY_LEN(units); k++) {
        uint64_t v = 0;
        r = suffixed_value(t->s, t->len, units[k].suffix, TC_NET_BANDWIDTH_MAX / units[k].mult, &v);
        if (r == V_OK && v == 0)
            r = V_RANGE;
        if (r == V_OK)
            *out = v * units[k].mult;
    }
    if (r == V_OK)
        return 0;
    return bad_value(p, t, r, "a bandwidth", "e.g. 10MB/s, 500kB/s, 1000B/s, unlimited",
                     "1B/s..1099GB/s");
}

static int get_flap(parser *p, tc_net_link *l)
{
    if (tok_is(peek(p), "off")) {
        next(p);
        l->flap_up_ms = 0;
        l->flap_down_ms = 0;
        return 0;
    }
    int rc = get_duration_u32(p, "a flap up time (or off)", 1, TC_NET_DELAY_MAX_MS, &l->flap_up_ms);
    if (rc == 0)
        rc = get_duration_u32(p, "a flap down time", 1, TC_NET_DELAY_MAX_MS, &l->flap_down_ms);
    return rc;
}

/* Link options in any order, each at most once; *mask gets TC_SCN_LINK_* of those given. */
static int link_options(parser *p, tc_net_link *l, uint32_t *mask)
{
    *mask = 0;
    do {
        int k = 0;
        int rc = get_choice(p, "a link option", opt_names, 7, &k);
        if (rc == 0 && (*mask & (1u << k)) != 0)
            rc = fail_prev(p, "each option once");
        *mask |= 1u << k;
        if (rc != 0)
            return rc;
        const uint32_t max = TC_NET_DELAY_MAX_MS;
        if (k == 0)
            rc = get_duration_u32(p, "a latency", 0, max, &l->latency_ms);
        else if (k == 1)
            rc = get_duration_u32(p, "a jitter", 0, max, &l->jitter_ms);
        else if (k == 2)
            rc = get_percent(p, "a loss percentage", &l->loss_ppm);
        else if (k == 3)
            rc = get_percent(p, "a duplication percentage", &l->dup_ppm);
        else if (k == 4)
            rc = get_percent(p, "a reordering percentage", &l->reorder_ppm);
        else if (k == 5)
            rc = get_bandwidth(p, &l->bandwidth_Bps);
        else
            rc = get_flap(p, l);
        if (rc != 0)
            return rc;
    } while (peek(p) != NULL);
    TC_ASSERT(tc_net_link_check(l) == 0);
    return 0;
}

static int st_network(parser *p, const tok *kw)
{
    (void)kw;
    uint32_t mask = 0;
    return link_options(p, &p->s->net, &mask);
}

static int st_link(parser *p, const tok *kw)
{
    (void)kw;
    tc_scn_link l;
    memset(&l, 0, sizeof(l));
    l.line = p->line;
    int rc = get_node(p, NODE_NAME, &l.a, &l.column);
    if (rc == 0 && tok_is(peek(p), "->")) {
        next(p);
        l.oneway = true;
    }
    if (rc == 0)
        rc = get_node(p, l.oneway ? NODE_NAME : "a node name (n0, f0, n0b, ...) or `->`", &l.b,
                      &l.column_b);
    if (rc == 0 && tc_scn_node_equal(l.a, l.b))
        rc = fail_prev(p, "a node other than the first");
    if (rc == 0)
        rc = link_options(p, &l.params, &l.mask);
    if (rc == 0)
        rc = RESERVE(p, p->s->links, p->link_cap, p->s->link_count, TC_SCN_LINKS_MAX, "links");
    if (rc == 0)
        p->s->links[p->s->link_count++] = l;
    return rc;
}

static int get_drift(parser *p, int32_t *out)
{
    const tok *t = next(p);
    vres r = V_SYNTAX;
    uint64_t v = 0;
    if (t != NULL && !t->str) {
        uint32_t skip = t->len > 0 && (t->s[0] == '+' || t->s[0] == '-') ? 1 : 0;
        r = suffixed_value(t->s + skip, t->len - skip, "ppm", TC_SCN_DRIFT_MAX_PPM, &v);
        if (r == V_OK)
            *out = skip == 1 && t->s[0] == '-' ? -(int32_t)v : (int32_t)v;
    }
    return r == V_OK ? 0
                     : bad_value(p, t, r, "a drift", "e.g. +100ppm, -50ppm", "-100000..+100000ppm");
}

static int st_clock(parser *p, const tok *kw)
{
    (void)kw;
    tc_scn *s = p->s;
    tc_scn_clock c = {.line = p->line};
    int rc = get_node(p, NODE_NAME, &c.node, &c.column);
    for (uint32_t k = 0; rc == 0 && k < s->clock_count; k++) {
        if (tc_scn_node_equal(s->clocks[k].node, c.node))
            rc = fail_prev(p, "one `clock` per node (set at line %" PRIu32 ")", s->clocks[k].line);
    }
    static const char *const names[] = {"offset", "drift"};
    uint32_t seen = 0;
    while (rc == 0 && (seen == 0 || peek(p) != NULL)) {
        int k = 0;
        rc = get_choice(p, "a clock option", names, 2, &k);
        if (rc == 0 && (seen & (1u << k)) != 0)
            rc = fail_prev(p, "each option once");
        seen |= 1u << k;
        const int64_t max = TC_SCN_DURATION_MAX_MS;
        if (rc == 0)
            rc = k == 0 ? get_duration(p, "an offset", true, -max, max, &c.offset_ms)
                        : get_drift(p, &c.drift_ppm);
    }
    if (rc == 0)
        rc = RESERVE(p, s->clocks, p->clock_cap, s->clock_count, TC_SCN_NODES_MAX, "clocks");
    if (rc == 0)
        s->clocks[s->clock_count++] = c;
    return rc;
}

static int st_storage(parser *p, const tok *kw)
{
    (void)kw;
    int k = 0;
    int rc = get_choice(p, "a storage", storage_names, 2, &k);
    p->s->storage = (uint32_t)k;
    return rc != 0 ? rc : want_end(p);
}

static int st_crypto(parser *p, const tok *kw)
{
    (void)kw;
    int k = 0;
    int rc = get_choice(p, "a signature scheme", crypto_names, 2, &k);
    p->s->crypto = (uint32_t)k;
    return rc != 0 ? rc : want_end(p);
}

static int st_load(parser *p, const tok *kw)
{
    (void)kw;
    tc_scn *s = p->s;
    static const char *const names[] = {"clients", "double-spend"};
    uint32_t seen = 0;
    int rc = get_rate(p, "a transaction rate", 0, &s->load_per_s);
    while (rc == 0 && peek(p) != NULL) {
        int k = 0;
        rc = get_choice(p, "a load option", names, 2, &k);
        if (rc == 0 && (seen & (1u << k)) != 0)
            rc = fail_prev(p, "each option once");
        seen |= 1u << k;
        uint64_t v = 0;
        if (rc == 0 && k == 0)
            rc = get_uint(p, "a client count", 1, TC_SCN_CLIENTS_MAX, &v);
        if (rc == 0 && k == 0)
            s->load_clients = (uint32_t)v;
        if (rc == 0 && k == 1)
            rc = get_percent(p, "a double-spend percentage", &s->double_spend_ppm);
    }
    return rc;
}

/* A Byzantine behaviour and, for flood, its rate. */
static int get_byz(parser *p, uint32_t *kind, uint32_t *flood_per_s)
{
    int k = 0;
    int rc = get_choice(p, "a Byzantine behaviour", byz_names, (int)TC_ARRAY_LEN(byz_names), &k);
    *kind = (uint32_t)k;
    *flood_per_s = 0;
    if (rc == 0 && k == TC_SCN_BYZ_FLOOD)
        rc = get_rate(p, "a flood rate", 1, flood_per_s);
    return rc != 0 ? rc : want_end(p);
}

static int st_byzantine(parser *p, const tok *kw)
{
    (void)kw;
    tc_scn *s = p->s;
    tc_scn_byz b = {.line = p->line};
    int rc = get_node(p, NODE_NAME, &b.node, &b.column);
    for (uint32_t k = 0; rc == 0 && k < s->byz_count; k++) {
        if (tc_scn_node_equal(s->byz[k].node, b.node))
            rc = fail_prev(p, "one `byzantine` per node in the setup (set at line %" PRIu32 ")",
                           s->byz[k].line);
    }
    if (rc == 0)
        rc = get_byz(p, &b.kind, &b.flood_per_s);
    if (rc == 0)
        rc = RESERVE(p, s->byz, p->byz_cap, s->byz_count, TC_SCN_NODES_MAX, "Byzantine nodes");
    if (rc == 0)
        s->byz[s->byz_count++] = b;
    return rc;
}

static int st_chaos(parser *p, const tok *kw)
{
    (void)kw;
    tc_scn *s = p->s;
    static const char *const names[] = {"faults", "heal-by"};
    uint32_t seen = 0;
    int rc = 0;
    while (rc == 0 && (seen == 0 || peek(p) != NULL)) {
        int k = 0;
        rc = get_choice(p, "a chaos option", names, 2, &k);
        if (rc == 0 && (seen & (1u << k)) != 0)
            rc = fail_prev(p, "each option once");
        seen |= 1u << k;
        uint64_t v = 0;
        if (rc == 0 && k == 0)
            rc = get_uint(p, "a fault count", 0, TC_SCN_FAULTS_MAX, &v);
        if (rc == 0 && k == 0)
            s->chaos_faults = (uint32_t)v;
        if (rc == 0 && k == 1) {
            p->chaos_line = p->line;
            p->chaos_col = peek(p) != NULL ? peek(p)->col : 1;
            rc = get_duration_u(p, "a heal-by time", 1, TC_SCN_DURATION_MAX_MS,
                                &s->chaos_heal_by_ms);
        }
    }
    if (rc == 0 && (seen & 1u) == 0)
        rc = fail_tok(p, NULL, "`faults N`");
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Timeline                                                                                    */

static int add_member(parser *p, tc_scn_node node, uint32_t group, uint32_t col)
{
    tc_scn *s = p->s;
    TC_ASSERT(node.kind <= TC_SCN_TWIN && node.index < TC_SCN_NODES_MAX);
    TC_ASSERT(col > 0);
    int rc = RESERVE(p, s->members, p->member_cap, s->member_count, TC_SCN_MEMBERS_MAX,
                     "node mentions in lists");
    if (rc == 0)
        s->members[s->member_count++] = (tc_scn_member){node, group, p->line, col};
    return rc;
}

/* Node names up to the end of the line or a `|` / `->`, at least one, none repeated since
 * members[first]. */
static int node_list(parser *p, uint32_t group, uint32_t first, const char *what)
{
    tc_scn *s = p->s;
    uint32_t before = s->member_count;
    for (;;) {
        const tok *t = peek(p);
        if (t == NULL || tok_is(t, "|") || tok_is(t, "->"))
            break;
        tc_scn_node node;
        uint32_t col = 0;
        int rc = get_node(p, what, &node, &col);
        for (uint32_t k = first; rc == 0 && k < s->member_count; k++) {
            if (tc_scn_node_equal(s->members[k].node, node))
                rc = fail_prev(p, "each node once");
        }
        if (rc == 0)
            rc = add_member(p, node, group, col);
        if (rc != 0)
            return rc;
    }
    return s->member_count > before ? 0 : fail_tok(p, peek(p), "%s", what);
}

/* Groups separated by `|` (two or more), or two sides of `->`. */
static int ev_partition(parser *p, tc_scn_event *ev)
{
    uint32_t first = p->s->member_count;
    uint32_t group = 0;
    for (;;) {
        int rc = node_list(p, group, first, NODE_NAME);
        if (rc != 0)
            return rc;
        const tok *t = next(p);
        if (t == NULL)
            break;
        if (tok_is(t, "|") && !ev->oneway) {
            group++;
        } else if (tok_is(t, "->") && group == 0) {
            ev->oneway = true;
            group = 1;
        } else {
            return fail_prev(p, ev->oneway ? "end of line (a one-way partition has two sides)"
                                           : "a node name, `|` or end of line");
        }
    }
    if (group == 0)
        return fail_tok(p, NULL, "`|` or `->` after the first group");
    ev->members = (tc_scn_span){first, p->s->member_count - first};
    return 0;
}

static int ev_node(parser *p, tc_scn_event *ev)
{
    return get_node(p, NODE_NAME, &ev->node, &ev->node_column);
}

static int ev_crash(parser *p, tc_scn_event *ev)
{
    int rc = ev_node(p, ev);
    if (rc == 0 && tok_is(peek(p), "lose-writes")) {
        next(p);
        ev->lose_writes = true;
    }
    return rc;
}

static int ev_pause(parser *p, tc_scn_event *ev)
{
    int rc = ev_node(p, ev);
    return rc != 0
               ? rc
               : get_duration_u(p, "a pause duration", 1, TC_SCN_DURATION_MAX_MS, &ev->duration_ms);
}

static int ev_clock(parser *p, tc_scn_event *ev)
{
    const int64_t max = TC_SCN_DURATION_MAX_MS;
    int rc = ev_node(p, ev);
    if (rc == 0)
        rc = want_word(p, "jump");
    return rc != 0 ? rc : get_duration(p, "a clock jump", true, -max, max, &ev->jump_ms);
}

static int ev_byzantine(parser *p, tc_scn_event *ev)
{
    int rc = ev_node(p, ev);
    if (rc == 0 && tok_is(peek(p), "twin")) {
        next(p);
        return fail_prev(p, "a Byzantine behaviour other than twin (twins are set up before "
                            "the first `at`)");
    }
    return rc != 0 ? rc : get_byz(p, &ev->byz, &ev->flood_per_s);
}

static int ev_register(parser *p, tc_scn_event *ev)
{
    int rc = ev_node(p, ev);
    if (rc == 0 && ev->node.kind != TC_SCN_VALIDATOR)
        rc = fail_prev(p, "a new validator name (nK)");
    int tier = 0;
    if (rc == 0)
        rc = get_choice(p, "a tier", tier_names, 3, &tier);
    ev->tier = (uint32_t)tier;
    return rc;
}

static int ev_load(parser *p, tc_scn_event *ev)
{
    return get_rate(p, "a transaction rate", 0, &ev->rate_per_s);
}

static int ev_restart(parser *p, tc_scn_event *ev)
{
    return ev_node(p, ev);
}

static int ev_heal(parser *p, tc_scn_event *ev)
{
    (void)p;
    (void)ev;
    return 0;
}

static const char *const event_names[] = {NULL,    "crash", "restart",   "partition", "heal",
                                          "pause", "clock", "byzantine", "register",  "load"};
static int (*const event_parsers[])(parser *, tc_scn_event *) = {
    NULL,     ev_crash, ev_restart,   ev_partition, ev_heal,
    ev_pause, ev_clock, ev_byzantine, ev_register,  ev_load};
_Static_assert(TC_ARRAY_LEN(event_names) == TC_SCN_EV_LOAD + 1, "event_names");
_Static_assert(TC_ARRAY_LEN(event_parsers) == TC_SCN_EV_LOAD + 1, "event_parsers");

static int st_at(parser *p, const tok *kw)
{
    (void)kw;
    tc_scn *s = p->s;
    p->ph = PH_TIMELINE;
    tc_scn_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.line = p->line;
    ev.column = peek(p) != NULL ? peek(p)->col : 1;
    int rc = get_duration_u(p, "a time", 0, TC_SCN_DURATION_MAX_MS, &ev.at_ms);
    int k = 0;
    if (rc == 0)
        rc = get_choice(p, "an event", event_names, (int)TC_ARRAY_LEN(event_names), &k);
    ev.kind = (uint32_t)k;
    TC_ASSERT(rc != 0 || (k >= TC_SCN_EV_CRASH && k <= TC_SCN_EV_LOAD));
    if (rc == 0)
        rc = event_parsers[k](p, &ev);
    if (rc == 0)
        rc = want_end(p);
    if (rc == 0)
        rc = RESERVE(p, s->events, p->event_cap, s->event_count, TC_SCN_EVENTS_MAX, "events");
    if (rc == 0)
        s->events[s->event_count++] = ev;
    return rc;
}

static int st_run(parser *p, const tok *kw)
{
    (void)kw;
    p->ph = PH_EXPECT;
    int rc = get_duration_u(p, "a run time", 1, TC_SCN_DURATION_MAX_MS, &p->s->run_ms);
    return rc != 0 ? rc : want_end(p);
}

/* ------------------------------------------------------------------------------------------ */
/* Expectations                                                                                */

/* p50 = 500000 ppm, p99 = 990000, p999 = 999000, max = 10^6: the digits after `p` are the
 * quantile's decimals. Two digits at least, and no trailing zero after the second (p100 would
 * read as 10%). */
static int get_quantile(parser *p, uint32_t *ppm)
{
    const tok *t = next(p);
    if (tok_is(t, "max")) {
        *ppm = TC_SCN_PPM;
        return 0;
    }
    uint64_t v = 0;
    bool ok = t != NULL && !t->str && t->len >= 3 && t->len <= 7 && t->s[0] == 'p' &&
              digits_value(t->s + 1, t->len - 1, &v) == V_OK &&
              (t->len == 3 || t->s[t->len - 1] != '0');
    if (ok) {
        v *= pow10_u64(6 - (t->len - 1));
        ok = v > 0;
    }
    if (!ok)
        return fail_tok(p, t, "a quantile (p50, p90, p99, p999, ... or max)");
    *ppm = (uint32_t)v;
    return 0;
}

static int get_cmp(parser *p, uint32_t *cmp)
{
    int k = 0;
    int rc = get_choice(p, "a comparison", cmp_names, 4, &k);
    *cmp = (uint32_t)k;
    return rc;
}

static int ex_nodes(parser *p, tc_scn_expect *e, const char *what)
{
    uint32_t first = p->s->member_count;
    int rc = node_list(p, 0, first, what);
    e->members = (tc_scn_span){first, p->s->member_count - first};
    return rc;
}

static int ex_height(parser *p, tc_scn_expect *e)
{
    int rc = get_cmp(p, &e->cmp);
    if (rc == 0)
        rc = get_uint(p, "a height", 0, UINT64_MAX, &e->value);
    if (rc == 0 && peek(p) != NULL) {
        rc = want_word(p, "on");
        if (rc == 0)
            rc = ex_nodes(p, e, NODE_NAME);
    }
    return rc;
}

static int ex_view_changes(parser *p, tc_scn_expect *e)
{
    int rc = get_cmp(p, &e->cmp);
    return rc != 0 ? rc : get_uint(p, "a view-change count", 0, UINT64_MAX, &e->value);
}

static int ex_finality(parser *p, tc_scn_expect *e)
{
    int rc = get_quantile(p, &e->quantile_ppm);
    e->cmp = TC_SCN_LE;
    if (rc == 0)
        rc = want_word(p, "<=");
    return rc != 0 ? rc
                   : get_duration_u(p, "a finality latency", 0, TC_SCN_DURATION_MAX_MS, &e->value);
}

static int ex_liveness(parser *p, tc_scn_expect *e)
{
    int rc = want_word(p, "within");
    if (rc == 0)
        rc = get_duration_u(p, "a liveness bound", 1, TC_SCN_DURATION_MAX_MS, &e->within_ms);
    if (rc == 0)
        rc = want_word(p, "after");
    if (rc == 0 && tok_is(peek(p), "heal")) {
        next(p);
        e->after_heal = true;
        return 0;
    }
    return rc != 0 ? rc
                   : get_duration_u(p, "`heal` or a time", 0, TC_SCN_DURATION_MAX_MS, &e->after_ms);
}

static int ex_banned(parser *p, tc_scn_expect *e)
{
    int rc = get_node(p, NODE_NAME, &e->node, &e->node_column);
    if (rc == 0)
        rc = want_word(p, "by");
    return rc != 0 ? rc : ex_nodes(p, e, NODE_NAME);
}

static int ex_culprits(parser *p, tc_scn_expect *e)
{
    return ex_nodes(p, e, VALIDATOR_NAME);
}

static int ex_flag(parser *p, tc_scn_expect *e)
{
    (void)p;
    (void)e;
    return 0;
}

static const char *const expect_names[] = {
    NULL, "safety", "fork", "culprits", "height", "view-changes", "finality", "liveness", "banned"};
static int (*const expect_parsers[])(parser *, tc_scn_expect *) = {
    NULL,        ex_flag,     ex_flag,  ex_culprits, ex_height, ex_view_changes,
    ex_finality, ex_liveness, ex_banned};
_Static_assert(TC_ARRAY_LEN(expect_names) == TC_SCN_EXP_BANNED + 1, "expect_names");
_Static_assert(TC_ARRAY_LEN(expect_parsers) == TC_SCN_EXP_BANNED + 1, "expect_parsers");

static int st_expect(parser *p, const tok *kw)
{
    (void)kw;
    tc_scn *s = p->s;
    tc_scn_expect e;
    memset(&e, 0, sizeof(e));
    e.line = p->line;
    e.column = peek(p) != NULL ? peek(p)->col : 1;
    int k = 0;
    int rc = get_choice(p, "an expectation", expect_names, (int)TC_ARRAY_LEN(expect_names), &k);
    e.kind = (uint32_t)k;
    TC_ASSERT(rc != 0 || (k >= TC_SCN_EXP_SAFETY && k <= TC_SCN_EXP_BANNED));
    if (rc == 0)
        rc = expect_parsers[k](p, &e);
    if (rc == 0)
        rc = want_end(p);
    if (rc == 0)
        rc = RESERVE(p, s->expects, p->expect_cap, s->expect_count, TC_SCN_EXPECTS_MAX,
                     "expectations");
    if (rc == 0)
        s->expects[s->expect_count++] = e;
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Statements                                                                                  */

typedef struct {
    const char *word;
    phase ph; /* PH_SETUP: setup only; PH_TIMELINE: `at`; PH_EXPECT: `expect` */
    int once; /* ONCE_*, or ONCE_NO */
    int (*fn)(parser *, const tok *);
} statement;

static const statement statements[] = {
    {"scenario", PH_SETUP, ONCE_SCENARIO, st_scenario},
    {"seed", PH_SETUP, ONCE_SEED, st_seed},
    {"profile", PH_SETUP, ONCE_NO, st_profile},
    {"nodes", PH_SETUP, ONCE_NODES, st_nodes},
    {"tier", PH_SETUP, ONCE_NO, st_tier},
    {"fullnodes", PH_SETUP, ONCE_FULLNODES, st_fullnodes},
    {"network", PH_SETUP, ONCE_NETWORK, st_network},
    {"link", PH_SETUP, ONCE_NO, st_link},
    {"clock", PH_SETUP, ONCE_NO, st_clock},
    {"storage", PH_SETUP, ONCE_STORAGE, st_storage},
    {"crypto", PH_SETUP, ONCE_CRYPTO, st_crypto},
    {"load", PH_SETUP, ONCE_LOAD, st_load},
    {"byzantine", PH_SETUP, ONCE_NO, st_byzantine},
    {"chaos", PH_SETUP, ONCE_CHAOS, st_chaos},
    {"at", PH_TIMELINE, ONCE_NO, st_at},
    {"run", PH_TIMELINE, ONCE_RUN, st_run},
    {"expect", PH_EXPECT, ONCE_NO, st_expect},
};

/* Whether statement st may come now; reports why not. */
static int check_place(parser *p, const statement *st, const tok *kw)
{
    if (st->ph == PH_SETUP && p->ph == PH_TIMELINE)
        return fail_tok(p, kw, "`at` or `run` (setup statements come before the first `at`)");
    if (st->ph != PH_EXPECT && p->ph == PH_EXPECT)
        return fail_tok(p, kw, "`expect` (only expectations follow `run`)");
    if (st->ph == PH_EXPECT && p->ph != PH_EXPECT)
        return fail_tok(p, kw, "`run` before the expectations");
    if (st->once != ONCE_NO && p->seen[st->once] != 0)
        return fail_tok(p, kw, "one `%s` statement (the first is at line %" PRIu32 ")", st->word,
                        p->seen[st->once]);
    if (st->once != ONCE_NO)
        p->seen[st->once] = p->line;
    return 0;
}

static int statement_line(parser *p)
{
    if (p->tok_count == 0)
        return 0;
    const tok *kw = next(p);
    TC_ASSERT(kw != NULL && p->ph <= PH_EXPECT);
    for (size_t k = 0; k < TC_ARRAY_LEN(statements); k++) {
        if (!tok_is(kw, statements[k].word))
            continue;
        int rc = check_place(p, &statements[k], kw);
        return rc != 0 ? rc : statements[k].fn(p, kw);
    }
    return fail_tok(p, kw,
                    "a statement (scenario, seed, profile, nodes, tier, fullnodes, "
                    "network, link, clock, storage, crypto, load, byzantine, chaos, at, "
                    "run, expect)");
}

/* Stage one: every line. Leaves eof_line/eof_col at the position just past the text. */
static int parse_lines(parser *p, const char *text, size_t len)
{
    size_t start = 0;
    p->line = 0;
    while (start <= len) {
        const char *nl = start < len ? memchr(text + start, '\n', len - start) : NULL;
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        p->line++;
        p->eof_line = p->line;
        p->eof_col = (uint32_t)(end - start) + 1;
        int rc = lex_line(p, text + start, end - start);
        if (rc == 0)
            rc = statement_line(p);
        if (rc != 0)
            return rc;
        if (nl == NULL)
            break;
        start = end + 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Stage two: checks over the whole scenario                                                   */

/* Stable merge sort of the events by time: events at one time keep their file order. */
static int sort_events(parser *p)
{
    tc_scn *s = p->s;
    uint32_t n = s->event_count;
    if (n < 2)
        return 0;
    tc_scn_event *tmp = malloc((size_t)n * sizeof(*tmp));
    if (tmp == NULL)
        return out_of_memory(p);
    for (uint32_t width = 1; width < n; width *= 2) {
        for (uint32_t lo = 0; lo < n; lo += 2 * width) {
            uint32_t mid = lo + width < n ? lo + width : n;
            uint32_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            uint32_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi) /* <= takes the left (earlier in file) on ties */
                tmp[o++] =
                    s->events[a].at_ms <= s->events[b].at_ms ? s->events[a++] : s->events[b++];
            while (a < mid)
                tmp[o++] = s->events[a++];
            while (b < hi)
                tmp[o++] = s->events[b++];
        }
        memcpy(s->events, tmp, (size_t)n * sizeof(*tmp));
    }
    free(tmp);
    for (uint32_t k = 1; k < n; k++)
        TC_ASSERT(s->events[k - 1].at_ms <= s->events[k].at_ms);
    return 0;
}

/* Scope of a node mention: the setup, event k (sorted index), or the expectations. */
#define AT_SETUP  (UINT32_MAX - 1)
#define AT_EXPECT UINT32_MAX

typedef enum { NEED_ANY, NEED_VALIDATOR, NEED_NOT_TWIN } need;

/* "n0..n3, n4 (registered), f0..f1, n2b" */
static void nodes_text(const parser *p, char *buf, size_t size)
{
    const tc_scn *s = p->s;
    size_t used = 0;
    used +=
        (size_t)snprintf(buf, size, s->node_count == 1 ? "n0" : "n0..n%" PRIu32, s->node_count - 1);
    if (p->reg_count > 0 && used < size)
        used +=
            (size_t)snprintf(buf + used, size - used, ", n%" PRIu32 "..n%" PRIu32 " (registered)",
                             s->node_count, s->node_count + p->reg_count - 1);
    if (s->fullnode_count > 0 && used < size)
        used += (size_t)snprintf(buf + used, size - used, ", f0..f%" PRIu32, s->fullnode_count - 1);
    uint32_t twins = 0;
    for (uint32_t k = 0; k < s->node_count && used < size; k++) {
        if (p->twin_of[k] && twins++ < 4)
            used += (size_t)snprintf(buf + used, size - used, ", n%" PRIu32 "b", k);
    }
    if (twins > 4 && used < size)
        snprintf(buf + used, size - used, ", ...");
}

static bool node_exists(parser *p, tc_scn_node node, uint32_t line, uint32_t col, uint32_t scope,
                        const char *got)
{
    const tc_scn *s = p->s;
    bool exists = node.kind == TC_SCN_FULLNODE ? node.index < s->fullnode_count
                  : node.kind == TC_SCN_TWIN ? node.index < s->node_count && p->twin_of[node.index]
                                             : node.index < s->node_count;
    if (!exists && node.kind == TC_SCN_VALIDATOR && node.index - s->node_count < p->reg_count) {
        const tc_scn_event *reg = &s->events[p->reg_event[node.index - s->node_count]];
        char when[32];
        fmt_duration(when, sizeof(when), (int64_t)reg->at_ms, false);
        if (scope == AT_SETUP)
            report(p, line, col, got, "a validator of the setup (%s registers at %s)", got, when);
        else if (scope != AT_EXPECT && p->reg_event[node.index - s->node_count] >= scope)
            report(p, line, col, got, "a node that exists at this time (%s registers at %s)", got,
                   when);
        else
            exists = true;
        return exists;
    }
    if (!exists) {
        char list[200];
        nodes_text(p, list, sizeof(list));
        report(p, line, col, got, "a node of this scenario (%s)", list);
    }
    return exists;
}

/* Whether a mentioned node exists in its scope and is of the kind needed; reports if not. */
static bool check_node(parser *p, tc_scn_node node, uint32_t line, uint32_t col, need nd,
                       uint32_t scope)
{
    char name[TC_SCN_NODE_NAME_MAX];
    char got[TC_SCN_NODE_NAME_MAX + 2];
    tc_scn_node_name(node, name);
    snprintf(got, sizeof(got), "`%s`", name);
    if (!node_exists(p, node, line, col, scope, got))
        return false;
    if (nd == NEED_VALIDATOR && node.kind != TC_SCN_VALIDATOR) {
        report(p, line, col, got, "a validator (nK)");
        return false;
    }
    if (nd == NEED_NOT_TWIN && node.kind == TC_SCN_TWIN) {
        report(p, line, col, got, "a validator or a fullnode (not a twin)");
        return false;
    }
    return true;
}

static void check_span(parser *p, tc_scn_span span, need nd, uint32_t scope)
{
    for (uint32_t k = span.first; k < span.first + span.count; k++) {
        const tc_scn_member *m = &p->s->members[k];
        check_node(p, m->node, m->line, m->column, nd, scope);
    }
}

static need byz_need(uint32_t kind)
{
    bool voting =
        kind == TC_SCN_BYZ_EQUIVOCATE || kind == TC_SCN_BYZ_DOUBLE_VOTE || kind == TC_SCN_BYZ_TWIN;
    return voting ? NEED_VALIDATOR : NEED_NOT_TWIN;
}

/* Registrations name n{node_count}, n{node_count+1}, ... in time order; twins come from the
 * setup. Both must be known before any mention is checked. */
static void collect_new_nodes(parser *p)
{
    const tc_scn *s = p->s;
    for (uint32_t k = 0; k < s->event_count; k++) {
        const tc_scn_event *ev = &s->events[k];
        if (ev->kind != TC_SCN_EV_REGISTER)
            continue;
        uint32_t want = s->node_count + p->reg_count;
        char name[TC_SCN_NODE_NAME_MAX], got[TC_SCN_NODE_NAME_MAX + 2];
        tc_scn_node_name(ev->node, name);
        snprintf(got, sizeof(got), "`%s`", name);
        if (ev->node.index != want)
            report(p, ev->line, ev->node_column, got, "n%" PRIu32 " (the next new validator)",
                   want);
        else
            p->reg_event[p->reg_count++] = k;
    }
    for (uint32_t k = 0; k < s->byz_count; k++) {
        const tc_scn_byz *b = &s->byz[k];
        if (b->kind == TC_SCN_BYZ_TWIN && b->node.kind == TC_SCN_VALIDATOR &&
            b->node.index < s->node_count)
            p->twin_of[b->node.index] = true;
    }
}

static void check_setup_nodes(parser *p)
{
    const tc_scn *s = p->s;
    for (uint32_t k = 0; k < s->tier_count; k++)
        check_node(p, s->tiers[k].node, s->tiers[k].line, s->tiers[k].column, NEED_VALIDATOR,
                   AT_SETUP);
    for (uint32_t k = 0; k < s->link_count; k++) {
        const tc_scn_link *l = &s->links[k];
        check_node(p, l->a, l->line, l->column, NEED_ANY, AT_SETUP);
        check_node(p, l->b, l->line, l->column_b, NEED_ANY, AT_SETUP);
    }
    for (uint32_t k = 0; k < s->clock_count; k++)
        check_node(p, s->clocks[k].node, s->clocks[k].line, s->clocks[k].column, NEED_ANY,
                   AT_SETUP);
    for (uint32_t k = 0; k < s->byz_count; k++)
        check_node(p, s->byz[k].node, s->byz[k].line, s->byz[k].column, byz_need(s->byz[k].kind),
                   AT_SETUP);
}

/* `500ms` for messages. */
static void quoted_duration(char *buf, size_t size, uint64_t ms)
{
    char text[32];
    fmt_duration(text, sizeof(text), (int64_t)ms, false);
    snprintf(buf, size, "`%s`", text);
}

/* Crash and restart alternate per node, starting from running. */
static void check_crash_state(parser *p, const tc_scn_event *ev)
{
    TC_ASSERT(ev->kind == TC_SCN_EV_CRASH || ev->kind == TC_SCN_EV_RESTART);
    TC_ASSERT(ev->node.kind <= TC_SCN_TWIN && ev->node.index < TC_SCN_NODES_MAX);
    uint32_t *crashed = &p->crashed[ev->node.kind][ev->node.index];
    char name[TC_SCN_NODE_NAME_MAX], got[64];
    tc_scn_node_name(ev->node, name);
    if (ev->kind == TC_SCN_EV_CRASH && *crashed != 0) {
        snprintf(got, sizeof(got), "`%s` (crashed at line %" PRIu32 ")", name, *crashed);
        report(p, ev->line, ev->node_column, got, "a running node");
    } else if (ev->kind == TC_SCN_EV_RESTART && *crashed == 0) {
        snprintf(got, sizeof(got), "`%s` (running)", name);
        report(p, ev->line, ev->node_column, got, "a crashed node");
    }
    *crashed = ev->kind == TC_SCN_EV_CRASH ? ev->line : 0;
}

static void check_events(parser *p)
{
    const tc_scn *s = p->s;
    for (uint32_t k = 0; k < s->event_count; k++) {
        const tc_scn_event *ev = &s->events[k];
        if (ev->at_ms > s->run_ms) {
            char got[40], run[32];
            quoted_duration(got, sizeof(got), ev->at_ms);
            fmt_duration(run, sizeof(run), (int64_t)s->run_ms, false);
            report(p, ev->line, ev->column, got, "a time within `run %s`", run);
        }
        switch (ev->kind) {
        case TC_SCN_EV_PARTITION:
            check_span(p, ev->members, NEED_ANY, k);
            break;
        case TC_SCN_EV_BYZANTINE:
            check_node(p, ev->node, ev->line, ev->node_column, byz_need(ev->byz), k);
            break;
        case TC_SCN_EV_CRASH:
        case TC_SCN_EV_RESTART:
            if (check_node(p, ev->node, ev->line, ev->node_column, NEED_ANY, k))
                check_crash_state(p, ev);
            break;
        case TC_SCN_EV_PAUSE:
        case TC_SCN_EV_CLOCK_JUMP:
            check_node(p, ev->node, ev->line, ev->node_column, NEED_ANY, k);
            break;
        default: /* heal, load: no node; register: collect_new_nodes */
            break;
        }
    }
}

static void check_expects(parser *p)
{
    const tc_scn *s = p->s;
    for (uint32_t k = 0; k < s->expect_count; k++) {
        const tc_scn_expect *e = &s->expects[k];
        if (e->kind == TC_SCN_EXP_BANNED)
            check_node(p, e->node, e->line, e->node_column, NEED_ANY, AT_EXPECT);
        check_span(p, e->members, e->kind == TC_SCN_EXP_CULPRITS ? NEED_VALIDATOR : NEED_ANY,
                   AT_EXPECT);
    }
}

static void check_bounds(parser *p)
{
    const tc_scn *s = p->s;
    uint32_t twins = 0;
    for (uint32_t k = 0; k < s->node_count; k++)
        twins += p->twin_of[k] ? 1 : 0;
    uint32_t total = s->node_count + p->reg_count + s->fullnode_count + twins;
    if (total > TC_SCN_NODES_MAX) {
        char got[48];
        snprintf(got, sizeof(got), "%" PRIu32, total);
        report(p, p->seen[ONCE_NODES], p->nodes_col, got,
               "at most %d nodes in all (validators, registered, fullnodes, twins)",
               TC_SCN_NODES_MAX);
    }
    if (s->chaos_heal_by_ms > s->run_ms) {
        char got[40], run[32];
        quoted_duration(got, sizeof(got), s->chaos_heal_by_ms);
        fmt_duration(run, sizeof(run), (int64_t)s->run_ms, false);
        report(p, p->chaos_line, p->chaos_col, got, "a heal-by time within `run %s`", run);
    }
}

/* Applies the overrides to the network's defaults. tc_profile_set checks the profile's
 * invariants after each field, so a valid set of overrides can fail in one order and pass in
 * another (raise a maximum before its minimum): apply in passes until no more succeed. The
 * overrides are sorted by field first, so the outcome never depends on file order. */
static void derive_profile(parser *p)
{
    tc_scn *s = p->s;
    for (uint32_t a = 1; a < s->override_count; a++) {
        for (uint32_t b = a; b > 0 && s->overrides[b - 1].field > s->overrides[b].field; b--) {
            tc_scn_override t = s->overrides[b];
            s->overrides[b] = s->overrides[b - 1];
            s->overrides[b - 1] = t;
        }
    }
    tc_profile_get(&s->profile, (tc_network)s->network);
    bool done[256] = {false};
    TC_ASSERT(s->override_count <= TC_ARRAY_LEN(done)); /* one per field at most */
    bool progress = true;
    while (progress) {
        progress = false;
        for (uint32_t k = 0; k < s->override_count; k++) {
            const tc_scn_override *o = &s->overrides[k];
            if (!done[k] && tc_profile_set(&s->profile, field_name(o->field), o->value) == 0)
                done[k] = progress = true;
        }
    }
    for (uint32_t k = 0; k < s->override_count; k++) {
        const tc_scn_override *o = &s->overrides[k];
        if (done[k])
            continue;
        char value[40], got[44];
        if (field_is_ms(o->field))
            fmt_duration(value, sizeof(value), (int64_t)o->value, false);
        else
            snprintf(value, sizeof(value), "%" PRIu64, o->value);
        snprintf(got, sizeof(got), "`%s`", value);
        report(p, o->line, o->column, got, "a value %s can take (in range, profile consistent)",
               field_name(o->field));
    }
}

static int finish(parser *p)
{
    if (p->seen[ONCE_NODES] == 0)
        return report(p, p->eof_line, p->eof_col, "end of file", "a `nodes` statement");
    if (p->seen[ONCE_RUN] == 0)
        return report(p, p->eof_line, p->eof_col, "end of file", "a `run` statement");
    int rc = sort_events(p);
    if (rc != 0)
        return rc;
    collect_new_nodes(p);
    check_setup_nodes(p);
    check_events(p);
    check_expects(p);
    check_bounds(p);
    derive_profile(p);
    return p->failed ? TC_EINVAL : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Public: parse, free, copy                                                                   */

static void scn_defaults(tc_scn *s)
{
    memset(s, 0, sizeof(*s));
    s->seed = 1;
    s->network = TC_NET_TESTNET;
    tc_net_link_defaults(&s->net);
    s->load_clients = 16;
    tc_profile_get(&s->profile, TC_NET_TESTNET);
}

int tc_scn_parse_text(const char *name, const char *text, size_t len, tc_scn *out, char *err,
                      size_t err_len)
{
    TC_ASSERT(name != NULL && out != NULL);
    TC_ASSERT(text != NULL || len == 0);
    TC_ASSERT(err != NULL || err_len == 0);
    if (err_len > 0)
        err[0] = 0;
    scn_defaults(out);
    parser *p = calloc(1, sizeof(*p)); /* ~20 KiB of tables: off the stack */
    if (p == NULL) {
        memset(out, 0, sizeof(*out));
        if (err_len > 0)
            snprintf(err, err_len, "%s: out of memory", name);
        return TC_ENOMEM;
    }
    p->name = name;
    p->s = out;
    p->err = err;
    p->err_len = err_len;
    int rc = 0;
    if (len > TC_SCN_TEXT_MAX) {
        char got[48];
        snprintf(got, sizeof(got), "%zu bytes", len);
        rc = report(p, 1, 1, got, "at most %u bytes of text", TC_SCN_TEXT_MAX);
    }
    if (rc == 0)
        rc = parse_lines(p, text == NULL ? "" : text, len);
    if (rc == 0)
        rc = finish(p);
    TC_ASSERT((rc == 0) == !p->failed);
    free(p->toks);
    free(p);
    if (rc != 0)
        tc_scn_free(out);
    return rc;
}

int tc_scn_parse_file(const char *path, tc_scn *out, char *err, size_t err_len)
{
    TC_ASSERT(path != NULL && out != NULL);
    TC_ASSERT(err != NULL || err_len == 0);
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (err_len > 0)
            snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return TC_ENOTFOUND;
    }
    char *text = malloc(TC_SCN_TEXT_MAX + 1);
    if (text == NULL) {
        fclose(f);
        if (err_len > 0)
            snprintf(err, err_len, "%s: out of memory", path);
        return TC_ENOMEM;
    }
    size_t len = fread(text, 1, TC_SCN_TEXT_MAX + 1, f);
    int rc = ferror(f) ? TC_ENOTFOUND : len > TC_SCN_TEXT_MAX ? TC_ETOOLONG : 0;
    fclose(f);
    if (rc != 0 && err_len > 0)
        snprintf(err, err_len, "%s: %s", path,
                 rc == TC_ETOOLONG ? "larger than 16 MiB" : "cannot read");
    if (rc == 0)
        rc = tc_scn_parse_text(path, text, len, out, err, err_len);
    free(text);
    return rc;
}

void tc_scn_free(tc_scn *s)
{
    if (s == NULL)
        return;
    free(s->overrides);
    free(s->tiers);
    free(s->links);
    free(s->clocks);
    free(s->byz);
    free(s->events);
    free(s->expects);
    free(s->members);
    memset(s, 0, sizeof(*s));
}

/* A copy of n elements of size elem (NULL for none). */
static bool dup_array(void **dst, const void *src, uint32_t n, size_t elem)
{
    *dst = NULL;
    if (n == 0)
        return true;
    *dst = malloc((size_t)n * elem);
    if (*dst != NULL)
        memcpy(*dst, src, (size_t)n * elem);
    return *dst != NULL;
}

#define DUP(field, count)                                                                          \
    dup_array((void **)&dst->field, src->field, src->count, sizeof(*src->field))

int tc_scn_copy(tc_scn *dst, const tc_scn *src)
{
    TC_ASSERT(dst != NULL && src != NULL && dst != src);
    *dst = *src;
    bool ok = DUP(overrides, override_count);
    ok = DUP(tiers, tier_count) && ok;
    ok = DUP(links, link_count) && ok;
    ok = DUP(clocks, clock_count) && ok;
    ok = DUP(byz, byz_count) && ok;
    ok = DUP(events, event_count) && ok;
    ok = DUP(expects, expect_count) && ok;
    ok = DUP(members, member_count) && ok;
    if (!ok) {
        tc_scn_free(dst);
        return TC_ENOMEM;
    }
    return 0;
}
#undef DUP

/* ------------------------------------------------------------------------------------------ */
/* Nodes and endpoints                                                                         */

void tc_scn_node_name(tc_scn_node node, char out[TC_SCN_NODE_NAME_MAX])
{
    TC_ASSERT(node.kind <= TC_SCN_TWIN);
    snprintf(out, TC_SCN_NODE_NAME_MAX, "%c%" PRIu32 "%s", node.kind == TC_SCN_FULLNODE ? 'f' : 'n',
             node.index, node.kind == TC_SCN_TWIN ? "b" : "");
}

bool tc_scn_node_equal(tc_scn_node a, tc_scn_node b)
{
    return a.kind == b.kind && a.index == b.index;
}

static uint32_t registered_count(const tc_scn *s)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < s->event_count; k++)
        n += s->events[k].kind == TC_SCN_EV_REGISTER ? 1 : 0;
    return n;
}

static bool has_twin(const tc_scn *s, uint32_t index)
{
    for (uint32_t k = 0; k < s->byz_count; k++) {
        if (s->byz[k].kind == TC_SCN_BYZ_TWIN && s->byz[k].node.index == index)
            return true;
    }
    return false;
}

uint32_t tc_scn_endpoint_count(const tc_scn *s)
{
    TC_ASSERT(s != NULL);
    uint32_t twins = 0;
    for (uint32_t k = 0; k < s->byz_count; k++)
        twins += s->byz[k].kind == TC_SCN_BYZ_TWIN ? 1 : 0;
    return s->node_count + registered_count(s) + s->fullnode_count + twins;
}

int tc_scn_endpoint(const tc_scn *s, tc_scn_node node, uint32_t *out)
{
    TC_ASSERT(s != NULL && out != NULL);
    uint32_t validators = s->node_count + registered_count(s);
    if (node.kind == TC_SCN_VALIDATOR && node.index < validators) {
        *out = node.index;
        return 0;
    }
    if (node.kind == TC_SCN_FULLNODE && node.index < s->fullnode_count) {
        *out = validators + node.index;
        return 0;
    }
    if (node.kind != TC_SCN_TWIN || node.index >= s->node_count || !has_twin(s, node.index))
        return TC_ENOTFOUND;
    uint32_t rank = 0; /* twins before this one, by base index */
    for (uint32_t k = 0; k < node.index; k++)
        rank += has_twin(s, k) ? 1 : 0;
    *out = validators + s->fullnode_count + rank;
    return 0;
}

tc_scn_node tc_scn_endpoint_node(const tc_scn *s, uint32_t endpoint)
{
    TC_ASSERT(s != NULL);
    TC_ASSERT(endpoint < tc_scn_endpoint_count(s));
    uint32_t validators = s->node_count + registered_count(s);
    if (endpoint < validators)
        return (tc_scn_node){TC_SCN_VALIDATOR, endpoint};
    if (endpoint < validators + s->fullnode_count)
        return (tc_scn_node){TC_SCN_FULLNODE, endpoint - validators};
    uint32_t rank = endpoint - validators - s->fullnode_count;
    for (uint32_t k = 0; k < s->node_count; k++) {
        if (has_twin(s, k) && rank-- == 0)
            return (tc_scn_node){TC_SCN_TWIN, k};
    }
    TC_ASSERT(false && "endpoint beyond the twins");
}

void tc_scn_link_params(const tc_scn *s, tc_scn_node from, tc_scn_node to, tc_net_link *out)
{
    TC_ASSERT(s != NULL && out != NULL);
    *out = s->net;
    for (uint32_t k = 0; k < s->link_count; k++) {
        const tc_scn_link *l = &s->links[k];
        bool forward = tc_scn_node_equal(l->a, from) && tc_scn_node_equal(l->b, to);
        bool backward = !l->oneway && tc_scn_node_equal(l->a, to) && tc_scn_node_equal(l->b, from);
        if (!forward && !backward)
            continue;
        const tc_net_link *p = &l->params;
        if (l->mask & TC_SCN_LINK_LATENCY)
            out->latency_ms = p->latency_ms;
        if (l->mask & TC_SCN_LINK_JITTER)
            out->jitter_ms = p->jitter_ms;
        if (l->mask & TC_SCN_LINK_LOSS)
            out->loss_ppm = p->loss_ppm;
        if (l->mask & TC_SCN_LINK_DUP)
            out->dup_ppm = p->dup_ppm;
        if (l->mask & TC_SCN_LINK_REORDER)
            out->reorder_ppm = p->reorder_ppm;
        if (l->mask & TC_SCN_LINK_BANDWIDTH)
            out->bandwidth_Bps = p->bandwidth_Bps;
        if (l->mask & TC_SCN_LINK_FLAP) {
            out->flap_up_ms = p->flap_up_ms;
            out->flap_down_ms = p->flap_down_ms;
        }
    }
    TC_ASSERT(tc_net_link_check(out) == 0);
}

uint32_t tc_scn_tier(const tc_scn *s, tc_scn_node node)
{
    TC_ASSERT(s != NULL);
    TC_ASSERT(node.kind != TC_SCN_FULLNODE);
    node.kind = TC_SCN_VALIDATOR; /* a twin is its base's masternode */
    for (uint32_t k = 0; k < s->tier_count; k++) {
        if (tc_scn_node_equal(s->tiers[k].node, node))
            return s->tiers[k].tier;
    }
    for (uint32_t k = 0; k < s->event_count; k++) {
        const tc_scn_event *ev = &s->events[k];
        if (ev->kind == TC_SCN_EV_REGISTER && tc_scn_node_equal(ev->node, node))
            return ev->tier;
    }
    return TC_TIER_BRONZE;
}

/* ------------------------------------------------------------------------------------------ */
/* Canonical writer                                                                            */

static void put_duration(FILE *f, const char *before, int64_t ms, bool sign)
{
    char buf[40];
    fmt_duration(buf, sizeof(buf), ms, sign);
    fprintf(f, "%s%s", before, buf);
}

static void put_percent(FILE *f, const char *before, uint32_t ppm)
{
    char buf[24];
    fmt_percent(buf, sizeof(buf), ppm);
    fprintf(f, "%s%s", before, buf);
}

static void put_node(FILE *f, tc_scn_node node)
{
    char name[TC_SCN_NODE_NAME_MAX];
    tc_scn_node_name(node, name);
    fprintf(f, " %s", name);
}

/* The members of span; a change of group is written as `|` (or `->` when oneway). */
static void put_members(FILE *f, const tc_scn *s, tc_scn_span span, bool oneway)
{
    TC_ASSERT(span.first <= s->member_count && span.count <= s->member_count - span.first);
    for (uint32_t k = span.first; k < span.first + span.count; k++) {
        if (k > span.first && s->members[k].group != s->members[k - 1].group)
            fprintf(f, oneway ? " ->" : " |");
        put_node(f, s->members[k].node);
    }
}

static void put_bandwidth(FILE *f, uint64_t bps)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {{"GB/s", 1000000000}, {"MB/s", 1000000}, {"kB/s", 1000}, {"B/s", 1}};
    if (bps == 0) {
        fprintf(f, " bandwidth unlimited");
        return;
    }
    for (size_t k = 0; k < TC_ARRAY_LEN(units); k++) {
        if (bps % units[k].mult == 0) {
            fprintf(f, " bandwidth %" PRIu64 "%s", bps / units[k].mult, units[k].suffix);
            return;
        }
    }
}

static void put_link_options(FILE *f, const tc_net_link *l, uint32_t mask)
{
    if (mask & TC_SCN_LINK_LATENCY)
        put_duration(f, " latency ", l->latency_ms, false);
    if (mask & TC_SCN_LINK_JITTER)
        put_duration(f, " jitter ", l->jitter_ms, false);
    if (mask & TC_SCN_LINK_LOSS)
        put_percent(f, " loss ", l->loss_ppm);
    if (mask & TC_SCN_LINK_DUP)
        put_percent(f, " dup ", l->dup_ppm);
    if (mask & TC_SCN_LINK_REORDER)
        put_percent(f, " reorder ", l->reorder_ppm);
    if (mask & TC_SCN_LINK_BANDWIDTH)
        put_bandwidth(f, l->bandwidth_Bps);
    if ((mask & TC_SCN_LINK_FLAP) && l->flap_down_ms == 0)
        fprintf(f, " flap off");
    if ((mask & TC_SCN_LINK_FLAP) && l->flap_down_ms != 0) {
        put_duration(f, " flap ", l->flap_up_ms, false);
        put_duration(f, " ", l->flap_down_ms, false);
    }
    fprintf(f, "\n");
}

/* TC_SCN_LINK_* bits of the fields where l differs from the defaults. */
static uint32_t link_diff(const tc_net_link *l)
{
    tc_net_link d;
    tc_net_link_defaults(&d);
    return (l->latency_ms != d.latency_ms ? TC_SCN_LINK_LATENCY : 0) |
           (l->jitter_ms != d.jitter_ms ? TC_SCN_LINK_JITTER : 0) |
           (l->loss_ppm != d.loss_ppm ? TC_SCN_LINK_LOSS : 0) |
           (l->dup_ppm != d.dup_ppm ? TC_SCN_LINK_DUP : 0) |
           (l->reorder_ppm != d.reorder_ppm ? TC_SCN_LINK_REORDER : 0) |
           (l->bandwidth_Bps != d.bandwidth_Bps ? TC_SCN_LINK_BANDWIDTH : 0) |
           (l->flap_up_ms != d.flap_up_ms || l->flap_down_ms != d.flap_down_ms ? TC_SCN_LINK_FLAP
                                                                               : 0);
}

static void put_header(FILE *f, const tc_scn *s)
{
    if (s->name[0] != 0) {
        fprintf(f, "scenario \"");
        for (const char *c = s->name; *c != 0; c++)
            fprintf(f, "%s%c", *c == '"' || *c == '\\' ? "\\" : "", *c);
        fprintf(f, "\"\n");
    }
    fprintf(f, "seed %" PRIu64 "\n", s->seed);
    fprintf(f, "profile %s", network_names[s->network]);
    for (uint32_t k = 0; k < s->override_count; k++) {
        const tc_scn_override *o = &s->overrides[k];
        fprintf(f, " %s ", field_name(o->field));
        if (field_is_ms(o->field))
            put_duration(f, "", (int64_t)o->value, false);
        else
            fprintf(f, "%" PRIu64, o->value);
    }
    fprintf(f, "\nnodes %" PRIu32 "\n", s->node_count);
    if (s->fullnode_count != 0)
        fprintf(f, "fullnodes %" PRIu32 "\n", s->fullnode_count);
    for (uint32_t k = 0; k < s->tier_count; k++) {
        fprintf(f, "tier");
        put_node(f, s->tiers[k].node);
        fprintf(f, " %s\n", tier_names[s->tiers[k].tier]);
    }
}

static void put_setup(FILE *f, const tc_scn *s)
{
    put_header(f, s);
    if (link_diff(&s->net) != 0) {
        fprintf(f, "network");
        put_link_options(f, &s->net, link_diff(&s->net));
    }
    for (uint32_t k = 0; k < s->link_count; k++) {
        const tc_scn_link *l = &s->links[k];
        fprintf(f, "link");
        put_node(f, l->a);
        fprintf(f, "%s", l->oneway ? " ->" : "");
        put_node(f, l->b);
        put_link_options(f, &l->params, l->mask);
    }
    for (uint32_t k = 0; k < s->clock_count; k++) {
        fprintf(f, "clock");
        put_node(f, s->clocks[k].node);
        put_duration(f, " offset ", s->clocks[k].offset_ms, true);
        fprintf(f, " drift %s%" PRId32 "ppm\n", s->clocks[k].drift_ppm >= 0 ? "+" : "",
                s->clocks[k].drift_ppm);
    }
    if (s->storage != TC_SCN_STORAGE_MEM)
        fprintf(f, "storage %s\n", storage_names[s->storage]);
    if (s->crypto != TC_SCN_CRYPTO_ED25519)
        fprintf(f, "crypto %s\n", crypto_names[s->crypto]);
    if (s->load_per_s != 0 || s->load_clients != 16 || s->double_spend_ppm != 0) {
        fprintf(f, "load %" PRIu32 "/s clients %" PRIu32, s->load_per_s, s->load_clients);
        put_percent(f, " double-spend ", s->double_spend_ppm);
        fprintf(f, "\n");
    }
    for (uint32_t k = 0; k < s->byz_count; k++) {
        fprintf(f, "byzantine");
        put_node(f, s->byz[k].node);
        fprintf(f, " %s", byz_names[s->byz[k].kind]);
        if (s->byz[k].kind == TC_SCN_BYZ_FLOOD)
            fprintf(f, " %" PRIu32 "/s", s->byz[k].flood_per_s);
        fprintf(f, "\n");
    }
    if (s->chaos_faults != 0 || s->chaos_heal_by_ms != 0) {
        fprintf(f, "chaos faults %" PRIu32, s->chaos_faults);
        if (s->chaos_heal_by_ms != 0)
            put_duration(f, " heal-by ", (int64_t)s->chaos_heal_by_ms, false);
        fprintf(f, "\n");
    }
}

static void put_event(FILE *f, const tc_scn *s, const tc_scn_event *ev)
{
    put_duration(f, "at ", (int64_t)ev->at_ms, false);
    fprintf(f, " %s", event_names[ev->kind]);
    switch (ev->kind) {
    case TC_SCN_EV_PARTITION:
        put_members(f, s, ev->members, ev->oneway);
        break;
    case TC_SCN_EV_HEAL:
        break;
    case TC_SCN_EV_LOAD:
        fprintf(f, " %" PRIu32 "/s", ev->rate_per_s);
        break;
    default:
        put_node(f, ev->node);
        break;
    }
    if (ev->kind == TC_SCN_EV_CRASH && ev->lose_writes)
        fprintf(f, " lose-writes");
    if (ev->kind == TC_SCN_EV_PAUSE)
        put_duration(f, " ", (int64_t)ev->duration_ms, false);
    if (ev->kind == TC_SCN_EV_CLOCK_JUMP)
        put_duration(f, " jump ", ev->jump_ms, true);
    if (ev->kind == TC_SCN_EV_BYZANTINE)
        fprintf(f, " %s", byz_names[ev->byz]);
    if (ev->kind == TC_SCN_EV_BYZANTINE && ev->byz == TC_SCN_BYZ_FLOOD)
        fprintf(f, " %" PRIu32 "/s", ev->flood_per_s);
    if (ev->kind == TC_SCN_EV_REGISTER)
        fprintf(f, " %s", tier_names[ev->tier]);
    fprintf(f, "\n");
}

static void put_quantile(FILE *f, uint32_t ppm)
{
    if (ppm == TC_SCN_PPM) {
        fprintf(f, " max");
        return;
    }
    char digits[8];
    snprintf(digits, sizeof(digits), "%06" PRIu32, ppm);
    size_t n = 6;
    while (n > 2 && digits[n - 1] == '0')
        n--;
    fprintf(f, " p%.*s", (int)n, digits);
}

static void put_expect(FILE *f, const tc_scn *s, const tc_scn_expect *e)
{
    fprintf(f, "expect %s", expect_names[e->kind]);
    switch (e->kind) {
    case TC_SCN_EXP_HEIGHT:
    case TC_SCN_EXP_VIEW_CHANGES:
        fprintf(f, " %s %" PRIu64, cmp_names[e->cmp], e->value);
        if (e->members.count > 0)
            fprintf(f, " on");
        break;
    case TC_SCN_EXP_FINALITY:
        put_quantile(f, e->quantile_ppm);
        put_duration(f, " <= ", (int64_t)e->value, false);
        break;
    case TC_SCN_EXP_LIVENESS:
        put_duration(f, " within ", (int64_t)e->within_ms, false);
        if (e->after_heal)
            fprintf(f, " after heal");
        else
            put_duration(f, " after ", (int64_t)e->after_ms, false);
        break;
    case TC_SCN_EXP_BANNED:
        put_node(f, e->node);
        fprintf(f, " by");
        break;
    default: /* safety, fork, culprits */
        break;
    }
    put_members(f, s, e->members, false);
    fprintf(f, "\n");
}

int tc_scn_write(FILE *f, const tc_scn *s)
{
    TC_ASSERT(f != NULL && s != NULL);
    TC_ASSERT(s->node_count > 0 && s->run_ms > 0);
    for (uint32_t k = 1; k < s->event_count; k++)
        TC_ASSERT(s->events[k - 1].at_ms <= s->events[k].at_ms);
    fprintf(f, "# scenario v1, canonical form\n");
    put_setup(f, s);
    if (s->event_count > 0)
        fprintf(f, "\n");
    for (uint32_t k = 0; k < s->event_count; k++)
        put_event(f, s, &s->events[k]);
    put_duration(f, "run ", (int64_t)s->run_ms, false);
    fprintf(f, "\n");
    if (s->expect_count > 0)
        fprintf(f, "\n");
    for (uint32_t k = 0; k < s->expect_count; k++)
        put_expect(f, s, &s->expects[k]);
    return ferror(f) ? TC_EINVAL : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Equality                                                                                    */

static bool link_params_equal(const tc_net_link *a, const tc_net_link *b)
{
    return a->latency_ms == b->latency_ms && a->jitter_ms == b->jitter_ms &&
           a->loss_ppm == b->loss_ppm && a->dup_ppm == b->dup_ppm &&
           a->reorder_ppm == b->reorder_ppm && a->flap_up_ms == b->flap_up_ms &&
           a->flap_down_ms == b->flap_down_ms && a->bandwidth_Bps == b->bandwidth_Bps;
}

static bool span_equal(const tc_scn *a, tc_scn_span sa, const tc_scn *b, tc_scn_span sb)
{
    if (sa.count != sb.count)
        return false;
    for (uint32_t k = 0; k < sa.count; k++) {
        const tc_scn_member *ma = &a->members[sa.first + k];
        const tc_scn_member *mb = &b->members[sb.first + k];
        if (!tc_scn_node_equal(ma->node, mb->node) || ma->group != mb->group)
            return false;
    }
    return true;
}

static bool event_equal(const tc_scn *a, const tc_scn_event *x, const tc_scn *b,
                        const tc_scn_event *y)
{
    return x->at_ms == y->at_ms && x->kind == y->kind && tc_scn_node_equal(x->node, y->node) &&
           x->lose_writes == y->lose_writes && x->oneway == y->oneway &&
           x->duration_ms == y->duration_ms && x->jump_ms == y->jump_ms && x->byz == y->byz &&
           x->flood_per_s == y->flood_per_s && x->tier == y->tier &&
           x->rate_per_s == y->rate_per_s && span_equal(a, x->members, b, y->members);
}

static bool expect_equal(const tc_scn *a, const tc_scn_expect *x, const tc_scn *b,
                         const tc_scn_expect *y)
{
    return x->kind == y->kind && x->cmp == y->cmp && x->value == y->value &&
           x->quantile_ppm == y->quantile_ppm && x->after_heal == y->after_heal &&
           x->within_ms == y->within_ms && x->after_ms == y->after_ms &&
           tc_scn_node_equal(x->node, y->node) && span_equal(a, x->members, b, y->members);
}

static bool setup_lists_equal(const tc_scn *a, const tc_scn *b)
{
    bool eq = a->override_count == b->override_count && a->tier_count == b->tier_count &&
              a->link_count == b->link_count && a->clock_count == b->clock_count &&
              a->byz_count == b->byz_count;
    for (uint32_t k = 0; eq && k < a->override_count; k++)
        eq = a->overrides[k].field == b->overrides[k].field &&
             a->overrides[k].value == b->overrides[k].value;
    for (uint32_t k = 0; eq && k < a->tier_count; k++)
        eq = tc_scn_node_equal(a->tiers[k].node, b->tiers[k].node) &&
             a->tiers[k].tier == b->tiers[k].tier;
    for (uint32_t k = 0; eq && k < a->link_count; k++) {
        const tc_scn_link *x = &a->links[k], *y = &b->links[k];
        eq = tc_scn_node_equal(x->a, y->a) && tc_scn_node_equal(x->b, y->b) &&
             x->oneway == y->oneway && x->mask == y->mask &&
             link_params_equal(&x->params, &y->params);
    }
    for (uint32_t k = 0; eq && k < a->clock_count; k++)
        eq = tc_scn_node_equal(a->clocks[k].node, b->clocks[k].node) &&
             a->clocks[k].offset_ms == b->clocks[k].offset_ms &&
             a->clocks[k].drift_ppm == b->clocks[k].drift_ppm;
    for (uint32_t k = 0; eq && k < a->byz_count; k++)
        eq = tc_scn_node_equal(a->byz[k].node, b->byz[k].node) &&
             a->byz[k].kind == b->byz[k].kind && a->byz[k].flood_per_s == b->byz[k].flood_per_s;
    return eq;
}

bool tc_scn_equal(const tc_scn *a, const tc_scn *b)
{
    TC_ASSERT(a != NULL && b != NULL);
    bool eq = strcmp(a->name, b->name) == 0 && a->seed == b->seed && a->network == b->network &&
              a->node_count == b->node_count && a->fullnode_count == b->fullnode_count &&
              link_params_equal(&a->net, &b->net) && a->storage == b->storage &&
              a->crypto == b->crypto && a->load_per_s == b->load_per_s &&
              a->load_clients == b->load_clients && a->double_spend_ppm == b->double_spend_ppm &&
              a->chaos_faults == b->chaos_faults && a->chaos_heal_by_ms == b->chaos_heal_by_ms &&
              a->run_ms == b->run_ms && a->event_count == b->event_count &&
              a->expect_count == b->expect_count && setup_lists_equal(a, b);
    for (uint32_t k = 0; eq && k < a->event_count; k++)
        eq = event_equal(a, &a->events[k], b, &b->events[k]);
    for (uint32_t k = 0; eq && k < a->expect_count; k++)
        eq = expect_equal(a, &a->expects[k], b, &b->expects[k]);
    return eq;
}
