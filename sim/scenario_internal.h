/* scenario_internal.h — the `.scn` parser's state and the helpers its files share, and nothing
 * else includes it (the model and its API are scenario.h):
 *   scenario_lex.c    errors with file:line:column, the lexer (a line into tokens), token access,
 *                     and values (a token into a number, a duration, a percentage, a node);
 *   scenario_parse.c  stage one: the statements, one line at a time, into the model, and the
 *                     public tc_scn_parse_text / tc_scn_parse_file;
 *   scenario_check.c  stage two: the checks that need the whole scenario (scn_finish);
 *   scenario_write.c  the canonical writer, tc_scn_write;
 *   scenario.c        the model: the language's words (names shared by the parser and the
 *                     writer), profile fields by name, free, copy, nodes and endpoints, equality.
 *
 * Invariants of a parse: the first stage stops at its first error; the second keeps the error
 * that comes first in the file (scn_report); once p->failed, err holds exactly one message and
 * every function returns nonzero; the model's arrays grow only through RESERVE, bounded by the
 * TC_SCN_*_MAX limits.
 */
#ifndef TC_SCENARIO_INTERNAL_H
#define TC_SCENARIO_INTERNAL_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
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

/* ---- scenario_lex.c: errors ---- */

int scn_reserve(parser *p, void **arr, uint32_t *cap, uint32_t count, size_t elem, uint32_t max,
                const char *what);
/* Makes room for one more element of an array of the model (scn_reserve), bounded by max. */
#define RESERVE(p, arr, cap, count, max, what)                                                     \
    scn_reserve((p), (void **)&(arr), &(cap), (count), sizeof(*(arr)), (max), (what))

/* ---- scenario_lex.c: lexer, tokens, values (each function's contract is the comment at its
 * definition) ---- */

/* What reading a value from a token's text found. */
typedef enum { V_OK, V_SYNTAX, V_RANGE, V_INEXACT } vres;

#define NODE_NAME      "a node name (n0, f0, n0b, ...)"
#define VALIDATOR_NAME "a validator name (n0, n1, ...)"

int scn_report(parser *p, uint32_t line, uint32_t col, const char *got, const char *fmt, ...);
int scn_fail_tok(parser *p, const tok *t, const char *fmt, ...);
int scn_out_of_memory(parser *p);
int scn_lex_line(parser *p, const char *line, size_t len);
const tok *scn_peek(const parser *p);
const tok *scn_next(parser *p);
bool scn_tok_is(const tok *t, const char *word);
int scn_want_end(parser *p);
int scn_choice(const tok *t, const char *const *names, int n);
vres scn_digits_value(const char *s, uint32_t len, uint64_t *out);
uint64_t scn_pow10_u64(uint32_t n);
vres scn_suffixed_value(const char *s, uint32_t len, const char *suffix, uint64_t max,
                        uint64_t *out);
void scn_fmt_duration(char *buf, size_t size, int64_t ms, bool sign);
void scn_fmt_percent(char *buf, size_t size, uint32_t ppm);
int scn_bad_value(parser *p, const tok *t, vres r, const char *what, const char *form,
                  const char *limit);
int scn_get_uint(parser *p, const char *what, uint64_t min, uint64_t max, uint64_t *out);
int scn_get_duration(parser *p, const char *what, bool sign_ok, int64_t min, int64_t max,
                     int64_t *out);
int scn_get_duration_u(parser *p, const char *what, uint64_t min, uint64_t max, uint64_t *out);
int scn_get_duration_u32(parser *p, const char *what, uint32_t min, uint32_t max, uint32_t *out);
int scn_get_percent(parser *p, const char *what, uint32_t *out);
int scn_get_rate(parser *p, const char *what, uint32_t min, uint32_t *out);
int scn_get_node(parser *p, const char *what, tc_scn_node *out, uint32_t *col);
int scn_get_choice(parser *p, const char *what, const char *const *names, int n, int *out);
int scn_fail_prev(parser *p, const char *fmt, ...);
int scn_want_word(parser *p, const char *word);

/* ---- scenario.c: the language's words and the profile's fields ---- */

/* The words of each choice, indexed by the model's enum; a NULL entry is no word (a kind that
 * has none). Their lengths are checked where they are defined. */
#define SCN_BYZ_NAMES    (TC_SCN_BYZ_BREAKER_LAST + 1)
#define SCN_EVENT_NAMES  (TC_SCN_EV_LINK + 1)
#define SCN_EXPECT_NAMES (TC_SCN_EXP_CARRIED_RESERVED + 1)
extern const char *const scn_tier_names[];       /* 3: bronze, silver, gold */
extern const char *const scn_byz_names[];        /* SCN_BYZ_NAMES */
extern const char *const scn_storage_names[];    /* 2 */
extern const char *const scn_crypto_names[];     /* 2 */
extern const char *const scn_network_names[];    /* 2 */
extern const char *const scn_opt_names[];        /* 7: the TC_SCN_LINK_* bits in order */
extern const char *const scn_cmp_names[];        /* 4 */
extern const char *const scn_chaos_kind_names[]; /* 8: the TC_SCN_CHAOS_* bits in order */
extern const char *const scn_event_names[];      /* SCN_EVENT_NAMES */
extern const char *const scn_expect_names[];     /* SCN_EXPECT_NAMES */
/* Profile fields by index (tc_profile_each order): the name of one, whether it is a _ms field,
 * and the index of a name, alias or _ms field named without _ms (-1: none). */
const char *scn_field_name(uint32_t index);
bool scn_field_is_ms(uint32_t index);
int scn_field_find(const char *s, uint32_t len);

/* ---- scenario_check.c ---- */

/* Stage two over the whole model (sorts the events first). Returns 0 or the first error's code. */
int scn_finish(parser *p);

#endif
