/* toml_shim.h — config.toml read by a real TOML 1.0 parser (toml++, C++17) behind a C interface.
 *
 * The shim flattens a document into items in document order, one per table, value and array
 * element, each with its dotted path ("p2p.listen", "p2p.peers[1]"), its kind, its value and the
 * line and column where its key and its value stand. The
 * daemon's own C code then checks the items against its schema (config.c), so every rule and
 * message about keys lives in C and this file stays a translation of the parser's tree.
 *
 * Errors: tc_toml_parse returns 0, or -1 with "LINE:COLUMN: message" in err (a syntax error,
 * a duplicate key, an unreadable file: line 0 then), always NUL-terminated when err_len > 0.
 */
#ifndef TC_TOML_SHIM_H
#define TC_TOML_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TC_TOML_TABLE = 1,
    TC_TOML_ARRAY = 2,
    TC_TOML_STRING = 3,
    TC_TOML_INTEGER = 4,
    TC_TOML_FLOAT = 5,
    TC_TOML_BOOL = 6,
    TC_TOML_DATETIME = 7, /* date, time or date-time: no key of ours takes one */
} tc_toml_kind;

typedef struct {
    char *path; /* "p2p.peers[1]"; owned by the document */
    tc_toml_kind kind;
    char *str;     /* STRING: the value (NUL-terminated; an embedded NUL ends it early) */
    int64_t i;     /* INTEGER */
    bool b;        /* BOOL */
    uint32_t len;  /* ARRAY: element count; STRING: byte length */
    uint32_t line; /* 1-based: where the value stands (a table's or array's key) */
    uint32_t column;
    uint32_t key_line; /* where its key stands (an array element: the element) */
    uint32_t key_column;
} tc_toml_item;

typedef struct {
    uint32_t count;
    tc_toml_item *items;
} tc_toml_doc;

/* Parses the file at path into *out (freed with tc_toml_free, also after a failure). */
int tc_toml_parse(const char *path, tc_toml_doc *out, char *err, size_t err_len);
void tc_toml_free(tc_toml_doc *doc);
/* "table", "array", "string", "integer", "float", "boolean", "date-time". */
const char *tc_toml_kind_name(tc_toml_kind kind);

#ifdef __cplusplus
}
#endif

#endif
