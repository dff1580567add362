/* jsonw.h — the JSON text the programs write (timesim's summaries, sweep lines and tallies,
 * time-cli's reports), built with jansson and written by one function.
 *
 * Why not jansson alone: jansson refuses a string that is not UTF-8 (json_string returns NULL)
 * or writes its bytes as they are (json_string_nocheck, invalid JSON), and its integers are
 * signed 64-bit. A scenario name or a path can be any bytes, and a seed is any u64. So:
 *   - tc_jsonw_str makes any C string valid UTF-8 first: every byte that does not start a
 *     well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing past
 *     U+10FFFF) becomes U+FFFD. Control characters stay; jansson escapes them.
 *   - tc_jsonw_u64 holds a value past INT64_MAX as a marker string (a NUL byte, "u64:", the
 *     digits) that tc_jsonw_line turns back into the bare number. No other string can hold the
 *     marker: every other string comes from a C string and so holds no NUL.
 *   - tc_jsonw_line writes compact JSON, members in insertion order (JSON_PRESERVE_ORDER), with
 *     no spaces: {"a":1,"b":"x"}.
 *
 * Errors: the constructors return NULL only when allocation fails (the writer allocates through
 * the core's seam, tc_malloc; jansson through its own allocator); jansson's json_pack and
 * json_object_set_new take a NULL value as a failure, so a caller checks once, at the end.
 */
#ifndef TC_JSONW_H
#define TC_JSONW_H

#include <jansson.h>

#include "base.h"

/* Bytes at s that form one well-formed UTF-8 character (1..4), or 0 when s[0] is NUL or does
 * not start one (a lone continuation byte, an overlong form, a surrogate, past U+10FFFF, or a
 * sequence cut short by the terminator). */
size_t tc_jsonw_utf8_len(const unsigned char *s);

/* A new JSON string holding s with each byte that does not start a UTF-8 character replaced by
 * U+FFFD (s NULL is the empty string). NULL on allocation failure. */
json_t *tc_jsonw_str(const char *s);

/* A new JSON number that tc_jsonw_line writes as v exactly, also past INT64_MAX. NULL on
 * allocation failure. */
json_t *tc_jsonw_u64(uint64_t v);

/* obj[key] = value, stealing value (as json_object_set_new); the key is made valid UTF-8 like
 * tc_jsonw_str's strings. Returns 0, or TC_ENOMEM (obj or value NULL, or allocation failed;
 * value is released either way). */
int tc_jsonw_set(json_t *obj, const char *key, json_t *value);

/* The compact text of v followed by a newline, in a string the caller frees with free().
 * NULL when v is NULL or allocation failed. */
char *tc_jsonw_line(const json_t *v);

#endif
