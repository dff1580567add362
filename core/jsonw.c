/* jsonw.c — the JSON writer (see jsonw.h): UTF-8 repair, exact u64, one compact line. */
#include "jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The marker of a u64 past INT64_MAX is a string: a NUL byte, "u64:", the decimal digits. The
 * dump writes the NUL as the escape \u0000, right after the string's opening quote. */
#define U64_TAG      "u64:"
#define U64_DUMPED   "\"\\u0000u64:"
#define U64_TEXT_MAX 32

size_t tc_jsonw_utf8_len(const unsigned char *s)
{
    TC_ASSERT(s != NULL);
    unsigned c = s[0];
    if (c < 0x80)
        return c != 0 ? 1 : 0;
    size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0)
        return 0;
    uint32_t cp = c & (0x7Fu >> n);
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0; /* also stops at the terminating NUL */
        cp = (cp << 6) | (s[k] & 0x3Fu);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* s as valid UTF-8 in a new string (each bad byte becomes U+FFFD, EF BF BD), or NULL when
 * allocation fails. */
static char *utf8_dup(const char *s)
{
    const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
    size_t len = strlen((const char *)p);
    char *out = tc_malloc(3 * len + 1); /* a bad byte grows to three */
    if (out == NULL)
        return NULL;
    size_t o = 0;
    while (*p != 0) {
        size_t n = tc_jsonw_utf8_len(p);
        if (n == 0)
            memcpy(out + o, "\xEF\xBF\xBD", 3);
        else
            memcpy(out + o, p, n);
        o += n == 0 ? 3 : n;
        p += n == 0 ? 1 : n;
    }
    TC_ASSERT(o <= 3 * len);
    out[o] = 0;
    return out;
}

json_t *tc_jsonw_str(const char *s)
{
    char *text = utf8_dup(s);
    if (text == NULL)
        return NULL;
    json_t *j = json_string(text); /* valid UTF-8 now: NULL means allocation failed */
    free(text);
    return j;
}

json_t *tc_jsonw_u64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    char text[U64_TEXT_MAX];
    text[0] = 0;
    int n = snprintf(text + 1, sizeof(text) - 1, U64_TAG "%" PRIu64, v);
    TC_ASSERT(n > 0 && (size_t)n < sizeof(text) - 1);
    return json_stringn(text, (size_t)n + 1);
}

int tc_jsonw_set(json_t *obj, const char *key, json_t *value)
{
    char *k = utf8_dup(key);
    int rc = k != NULL && json_object_set_new(obj, k, value) == 0 ? 0 : TC_ENOMEM;
    if (k == NULL)
        json_decref(value);
    free(k);
    return rc;
}

/* Turns every u64 marker string of text back into its bare digits, in place. */
static void unmark_u64(char *text)
{
    const size_t dumped = strlen(U64_DUMPED);
    char *at = text;
    while ((at = strstr(at, U64_DUMPED)) != NULL) {
        size_t digits = strspn(at + dumped, "0123456789");
        TC_ASSERT(digits > 0 && at[dumped + digits] == '"');
        memmove(at, at + dumped, digits);
        memmove(at + digits, at + dumped + digits + 1, strlen(at + dumped + digits + 1) + 1);
        at += digits;
    }
}

char *tc_jsonw_line(const json_t *v)
{
    if (v == NULL)
        return NULL;
    char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (text == NULL)
        return NULL;
    unmark_u64(text);
    size_t len = strlen(text);
    char *line = tc_realloc(text, len + 2);
    if (line == NULL) {
        free(text);
        return NULL;
    }
    memcpy(line + len, "\n", 2);
    return line;
}
