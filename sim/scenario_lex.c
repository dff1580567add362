/* scenario_lex.c — the `.scn` language below the statements (scenario_internal.h): errors with
 * file:line:column, the lexer that splits a line into words, strings and `|`, token access, and
 * the values a token can hold (whole numbers, durations, percentages, rates, node names), each
 * with the message that says what was expected.
 */
#include "scenario_internal.h"

#include <stdarg.h>

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                      */

/* Records "name:line:col: expected <expected>, got <got>" unless an earlier error is recorded
 * already: the first stage stops at its first error, the second keeps the one first in file. */
int scn_report(parser *p, uint32_t line, uint32_t col, const char *got, const char *fmt, ...)
{
    TC_ASSERT(line > 0 && col > 0);
    if (p->failed && (p->err_line < line || (p->err_line == line && p->err_col <= col)))
        return TC_EINVAL;
    p->failed = true;
    p->err_line = line;
    p->err_col = col;
    char expected[560]; /* a choice lists every name (scn_get_choice) */
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
int scn_fail_tok(parser *p, const tok *t, const char *fmt, ...)
{
    char expected[560]; /* a choice lists every name (scn_get_choice) */
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
    return scn_report(p, p->line, col, describe(t, got, sizeof(got)), "%s", expected);
}

int scn_out_of_memory(parser *p)
{
    if (p->err_len > 0)
        snprintf(p->err, p->err_len, "%s: out of memory", p->name);
    p->failed = true;
    return TC_ENOMEM;
}

/* Makes room for one more element of an array of the model, bounded by max. */
int scn_reserve(parser *p, void **arr, uint32_t *cap, uint32_t count, size_t elem, uint32_t max,
                const char *what)
{
    TC_ASSERT(count <= *cap && *cap <= max);
    if (count < *cap)
        return 0;
    if (count == max)
        return scn_fail_tok(p, p->tok_count > 0 ? &p->toks[0] : NULL, "at most %" PRIu32 " %s", max,
                            what);
    uint32_t grown = *cap < 8 ? 8 : *cap * 2;
    if (grown > max || grown < *cap)
        grown = max;
    void *bigger = realloc(*arr, (size_t)grown * elem);
    if (bigger == NULL)
        return scn_out_of_memory(p);
    *arr = bigger;
    *cap = grown;
    return 0;
}

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
        return scn_report(p, p->line, col, got, "at most %d words on a line", TC_SCN_TOKENS_MAX);
    }
    if (p->tok_count == p->tok_cap) {
        uint32_t grown = p->tok_cap == 0 ? 32 : p->tok_cap * 2;
        tok *bigger = realloc(p->toks, (size_t)grown * sizeof(*bigger));
        if (bigger == NULL)
            return scn_out_of_memory(p);
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
            return scn_report(p, p->line, (uint32_t)i + 1, got, "text in the string");
        }
        if (c == '\\') {
            if (i + 1 >= len || (line[i + 1] != '"' && line[i + 1] != '\\'))
                return scn_report(p, p->line, (uint32_t)i + 1,
                                  i + 1 >= len ? "end of line" : "`\\`",
                                  "\\\" or \\\\ (the only escapes)");
            i++;
        }
        i++;
    }
    if (i >= len)
        return scn_report(p, p->line, (uint32_t)len + 1, "end of line", "`\"` closing the string");
    *at = i + 1;
    return push_tok(p, line + start, (uint32_t)(i - start), (uint32_t)start, true);
}

/* Splits one line (without its newline) into tokens: words, strings and `|`; `#` to the end
 * of the line is a comment. Outside strings and comments only printable ASCII is allowed. */
int scn_lex_line(parser *p, const char *line, size_t len)
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
            rc = scn_report(p, p->line, (uint32_t)i + 1, got, "printable text");
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Token access                                                                                */

const tok *scn_peek(const parser *p)
{
    return p->i < p->tok_count ? &p->toks[p->i] : NULL;
}

const tok *scn_next(parser *p)
{
    const tok *t = scn_peek(p);
    if (t != NULL)
        p->i++;
    return t;
}

bool scn_tok_is(const tok *t, const char *word)
{
    return t != NULL && !t->str && strlen(word) == t->len && memcmp(t->s, word, t->len) == 0;
}

int scn_want_end(parser *p)
{
    const tok *t = scn_peek(p);
    return t == NULL ? 0 : scn_fail_tok(p, t, "end of line");
}

/* Index of the token's word in names[0..n), or -1. NULL entries never match. */
int scn_choice(const tok *t, const char *const *names, int n)
{
    for (int k = 0; k < n; k++) {
        if (names[k] != NULL && scn_tok_is(t, names[k]))
            return k;
    }
    return -1;
}

/* ------------------------------------------------------------------------------------------ */
/* Values. The *_value functions read one token's text; the get_* ones consume the next token
 * and report what was expected when it does not fit.                                         */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Decimal digits into *out (tc_parse_u64n). V_SYNTAX unless all len (>= 1) chars are digits;
 * V_RANGE past 2^64 - 1. */
vres scn_digits_value(const char *s, uint32_t len, uint64_t *out)
{
    int rc = tc_parse_u64n(s, len, 0, UINT64_MAX, out);
    TC_ASSERT(rc == 0 || rc == TC_EINVAL || rc == TC_ERANGE);
    return rc == 0 ? V_OK : rc == TC_EINVAL ? V_SYNTAX : V_RANGE;
}

uint64_t scn_pow10_u64(uint32_t n)
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
    vres r = scn_digits_value(s, int_len, whole);
    TC_ASSERT(r == V_OK);
    *frac = 0;
    if (frac_len > 0) {
        r = scn_digits_value(s + int_len + 1, frac_len, frac);
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
    uint64_t scale = scn_pow10_u64(frac_digits);
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
    uint64_t v = whole * 10000 + frac * scn_pow10_u64(4 - frac_digits);
    if (v > TC_SCN_PPM)
        return V_RANGE;
    *ppm = (uint32_t)v;
    return V_OK;
}

/* <digits><suffix> with value <= max. */
vres scn_suffixed_value(const char *s, uint32_t len, const char *suffix, uint64_t max,
                        uint64_t *out)
{
    uint32_t slen = (uint32_t)strlen(suffix);
    if (len <= slen || memcmp(s + len - slen, suffix, slen) != 0)
        return V_SYNTAX;
    vres r = scn_digits_value(s, len - slen, out);
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
    if (scn_digits_value(s + 1, digits, &index) != V_OK || index >= TC_SCN_NODES_MAX)
        return false;
    out->kind = s[0] == 'f' ? TC_SCN_FULLNODE : twin ? TC_SCN_TWIN : TC_SCN_VALIDATOR;
    out->index = (uint32_t)index;
    return true;
}

/* Canonical text of values, shared by messages and the writer. */
void scn_fmt_duration(char *buf, size_t size, int64_t ms, bool sign)
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

void scn_fmt_percent(char *buf, size_t size, uint32_t ppm)
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

int scn_bad_value(parser *p, const tok *t, vres r, const char *what, const char *form,
                  const char *limit)
{
    TC_ASSERT(r != V_OK);
    if (t == NULL || t->str || r == V_SYNTAX)
        return scn_fail_tok(p, t, "%s (%s)", what, form);
    if (r == V_INEXACT)
        return scn_fail_tok(p, t, "%s in %s", what,
                            strchr(form, '%') != NULL ? "at most 4 decimals"
                                                      : "whole milliseconds");
    return scn_fail_tok(p, t, "%s of %s", what, limit);
}

int scn_get_uint(parser *p, const char *what, uint64_t min, uint64_t max, uint64_t *out)
{
    const tok *t = scn_next(p);
    uint64_t v = 0;
    vres r = t == NULL || t->str ? V_SYNTAX : scn_digits_value(t->s, t->len, &v);
    if (r == V_OK && (v < min || v > max))
        r = V_RANGE;
    if (r == V_OK) {
        *out = v;
        return 0;
    }
    char limit[64];
    snprintf(limit, sizeof(limit), "%" PRIu64 "..%" PRIu64, min, max);
    return scn_bad_value(p, t, r, what, "a whole number", limit);
}

int scn_get_duration(parser *p, const char *what, bool sign_ok, int64_t min, int64_t max,
                     int64_t *out)
{
    const tok *t = scn_next(p);
    int64_t v = 0;
    vres r = t == NULL || t->str ? V_SYNTAX : duration_value(t->s, t->len, sign_ok, &v);
    if (r == V_OK && (v < min || v > max))
        r = V_RANGE;
    if (r == V_OK) {
        *out = v;
        return 0;
    }
    char lo[32], hi[32], limit[80];
    scn_fmt_duration(lo, sizeof(lo), min, sign_ok);
    scn_fmt_duration(hi, sizeof(hi), max, sign_ok);
    snprintf(limit, sizeof(limit), "%s..%s", lo, hi);
    return scn_bad_value(p, t, r, what, sign_ok ? "e.g. +3s, -500ms" : "e.g. 500ms, 2s, 1m", limit);
}

int scn_get_duration_u(parser *p, const char *what, uint64_t min, uint64_t max, uint64_t *out)
{
    int64_t v = 0;
    int rc = scn_get_duration(p, what, false, (int64_t)min, (int64_t)max, &v);
    if (rc == 0)
        *out = (uint64_t)v;
    return rc;
}

int scn_get_duration_u32(parser *p, const char *what, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    int rc = scn_get_duration_u(p, what, min, max, &v);
    if (rc == 0)
        *out = (uint32_t)v;
    return rc;
}

int scn_get_percent(parser *p, const char *what, uint32_t *out)
{
    const tok *t = scn_next(p);
    vres r = t == NULL || t->str ? V_SYNTAX : percent_value(t->s, t->len, out);
    return r == V_OK ? 0 : scn_bad_value(p, t, r, what, "e.g. 1%, 0.5%", "0%..100%");
}

int scn_get_rate(parser *p, const char *what, uint32_t min, uint32_t *out)
{
    const tok *t = scn_next(p);
    uint64_t v = 0;
    vres r = t == NULL || t->str ? V_SYNTAX
                                 : scn_suffixed_value(t->s, t->len, "/s", TC_SCN_RATE_MAX, &v);
    if (r == V_OK && v < min)
        r = V_RANGE;
    if (r == V_OK) {
        *out = (uint32_t)v;
        return 0;
    }
    char limit[64];
    snprintf(limit, sizeof(limit), "%" PRIu32 "/s..%u/s", min, TC_SCN_RATE_MAX);
    return scn_bad_value(p, t, r, what, "e.g. 200/s", limit);
}

/* A node name; *col (may be NULL) gets its column. what says what was expected. */
int scn_get_node(parser *p, const char *what, tc_scn_node *out, uint32_t *col)
{
    const tok *t = scn_next(p);
    if (t == NULL || t->str || !node_value(t->s, t->len, out))
        return scn_fail_tok(p, t, "%s", what);
    if (col != NULL)
        *col = t->col;
    return 0;
}

int scn_get_choice(parser *p, const char *what, const char *const *names, int n, int *out)
{
    const tok *t = scn_next(p);
    int k = scn_choice(t, names, n);
    if (k >= 0) {
        *out = k;
        return 0;
    }
    char list[480] = ""; /* every name of the longest list (Byzantine behaviours) */
    for (int j = 0; j < n; j++) {
        if (names[j] == NULL)
            continue;
        size_t used = strlen(list);
        snprintf(list + used, sizeof(list) - used, "%s%s", used > 0 ? ", " : "", names[j]);
    }
    return scn_fail_tok(p, t, "%s (%s)", what, list);
}

/* Error at the token just consumed. */
int scn_fail_prev(parser *p, const char *fmt, ...)
{
    TC_ASSERT(p->i > 0);
    char expected[560]; /* a choice lists every name (scn_get_choice) */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(expected, sizeof(expected), fmt, ap);
    va_end(ap);
    return scn_fail_tok(p, &p->toks[p->i - 1], "%s", expected);
}

int scn_want_word(parser *p, const char *word)
{
    const tok *t = scn_next(p);
    return scn_tok_is(t, word) ? 0 : scn_fail_tok(p, t, "`%s`", word);
}
