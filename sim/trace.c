/* trace.c — the run's trace and fingerprint, and the readable --timeline account.
 *
 * Trace format (docs/SIMULATOR.md, "Trace"): one input a line,
 *   <global ms> <node> <what> [details...]\n
 * with node "*" for faults of the network. The fingerprint is BLAKE2b-256 (tag "tc/sim/trace")
 * over every line, newline included, in order; it is computed whether or not the trace is
 * written, so a run's identity never depends on its output options. Lines are numbered from 1;
 * violations point at the line of the input that exposed them.
 *
 * Cost: a line is written for every event of the run, so this file is on the simulator's hottest
 * path. The two lines that make nearly all of a trace, `recv` and `tick`, are formatted by hand
 * (printf's machinery was about 12% of a 4-validator run), a frame is named by an in-house 64-bit
 * digest instead of BLAKE2b, and lines are built in place in one buffer that goes to the
 * fingerprint (and the trace file) in large chunks rather than line by line.
 */
#include "world_internal.h"

#include "codec.h"
#include "msg.h"

#include <stdarg.h>
#include <string.h>

#define LINE_MAX_BYTES 512 /* a line, newline included; a longer generic line is cut */

_Static_assert(W_TRACE_BUF_BYTES >= 8 * LINE_MAX_BYTES, "a chunk holds many lines");

/* ---- the frame digest ----
 *
 * A recv line names its frame by a 64-bit digest: two deliveries of one frame can be matched by
 * eye and two frames told apart (an equivocating proposer's two PROPOSALs: same size, different
 * digests), and the fingerprint depends on every byte every node received. It is no security
 * boundary (the world makes every frame itself), so it need not be cryptographic; it replaced
 * BLAKE2b-256, about 2,400 instructions a frame. Definition (docs/SIMULATOR.md, "Trace"), all
 * arithmetic mod 2^64:
 *     h = K xor len
 *     for each 8-byte little-endian word w of the frame, the last one padded with zero bytes:
 *         h = (h xor w) * K;  h = h xor (h >> 32)
 *     h = (h xor (h >> 29)) * M;  digest = h xor (h >> 32)
 * Every step is a bijection of h, and a round also of w, so two frames of one length that differ
 * within a single word (in one byte, say) always get different digests; other differences
 * collide with a chance of about 2^-64. */

/* Multipliers of the frame digest: odd, so that multiplying by them is a bijection mod 2^64.
 * K is 2^64 divided by the golden ratio; M is the fractional part of sqrt(2) times 2^64, made
 * odd. */
#define DIGEST_K 0x9e3779b97f4a7c15ull
#define DIGEST_M 0x6a09e667f3bcc909ull

/* One round: a bijection of h for a fixed word and of the word for a fixed h. The multiply
 * carries low bits up; the shift folds the high half back down so that the next word's low bits
 * meet every earlier bit. */
static uint64_t digest_round(uint64_t h, uint64_t word)
{
    h = (h ^ word) * DIGEST_K;
    return h ^ (h >> 32);
}

uint64_t w_frame_digest(const uint8_t *frame, size_t len)
{
    TC_ASSERT(frame != NULL || len == 0);
    uint64_t h = DIGEST_K ^ (uint64_t)len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8)
        h = digest_round(h, tc_load_u64(frame + i)); /* little-endian words (codec.h) */
    if (i < len) { /* the last word, padded with zero bytes (the length above tells them apart) */
        uint8_t last[8] = {0};
        memcpy(last, frame + i, len - i);
        h = digest_round(h, tc_load_u64(last));
    }
    /* Finish: a bijection that spreads every bit over the whole word, so that the digest's
     * leading hex digits depend on all of the frame. */
    h = (h ^ (h >> 29)) * DIGEST_M;
    return h ^ (h >> 32);
}

/* ---- building lines ---- */

/* The longest recv or tick line: "<ms> <node> recv <node> <TYPE> <bytes> <digest>\n" with 20
 * digits of time, names of TC_SCN_NODE_NAME_MAX - 1 characters, the longest type name
 * (GET_VOTE_BATCHES) and 10 digits of length; a tick line is shorter. */
#define HAND_LINE_MAX (20 + 1 + 2 * TC_SCN_NODE_NAME_MAX + 5 + 16 + 1 + 10 + 1 + 16 + 1)
_Static_assert(HAND_LINE_MAX < LINE_MAX_BYTES, "a hand-made line fits in any line's room");

/* A line under construction, in place at the end of the world's chunk buffer, which has room
 * for LINE_MAX_BYTES after it (line_begin). The hand-made lines are bounded by HAND_LINE_MAX,
 * so the writers below do not check every character; line_end checks the length once. */
typedef struct {
    char *b;
    size_t n;
} line_t;

static void put_char(line_t *l, char c)
{
    l->b[l->n++] = c;
}

static void put_str(line_t *l, const char *s)
{
    while (*s != 0)
        l->b[l->n++] = *s++;
}

/* v in decimal, as printf's %llu writes it. */
static void put_u64(line_t *l, uint64_t v)
{
    char digits[20];
    size_t k = sizeof(digits);
    do {
        digits[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    memcpy(l->b + l->n, digits + k, sizeof(digits) - k);
    l->n += sizeof(digits) - k;
}

/* v as 16 lowercase hex digits, most significant first: a byte, two digits, per step. */
static void put_hex64(line_t *l, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
    char *out = l->b + l->n;
    for (int k = 7; k >= 0; k--, v >>= 8) {
        out[2 * k] = hex[(v >> 4) & 0xf];
        out[2 * k + 1] = hex[v & 0xf];
    }
    l->n += 16;
}

/* Hands the buffered lines to the fingerprint and to the trace file: when the buffer cannot
 * hold another line, and at the end of the run (tc_world_run). BLAKE2b over chunks gives the
 * hash it gives over the same bytes line by line. */
void w_trace_flush(tc_world *w)
{
    TC_ASSERT(w->trace_len <= W_TRACE_BUF_BYTES);
    if (w->trace_len == 0)
        return;
    tc_hasher_update(&w->fp, w->trace_buf, w->trace_len);
    if (w->opts.trace != NULL)
        fwrite(w->trace_buf, 1, w->trace_len, w->opts.trace);
    w->trace_len = 0;
}

/* Starts a line with "<global ms> <node> " at the end of the buffer, with room for a whole
 * line after it. Consecutive lines mostly share their millisecond (several events a simulated
 * ms), so its text is kept from one line to the next. */
static line_t line_begin(tc_world *w, uint32_t e)
{
    TC_ASSERT(e == UINT32_MAX || e < w->count);
    if (W_TRACE_BUF_BYTES - w->trace_len < LINE_MAX_BYTES)
        w_trace_flush(w);
    if (w->trace_ms_len == 0 || w->trace_ms_at != w->now_ms) {
        line_t ms = {.b = w->trace_ms_text, .n = 0};
        put_u64(&ms, w->now_ms);
        put_char(&ms, ' ');
        w->trace_ms_len = ms.n;
        w->trace_ms_at = w->now_ms;
    }
    line_t l = {.b = w->trace_buf + w->trace_len, .n = w->trace_ms_len};
    memcpy(l.b, w->trace_ms_text, sizeof(w->trace_ms_text)); /* all of it: a fixed-size copy */
    put_str(&l, e == UINT32_MAX ? "*" : w->nodes[e].name);
    put_char(&l, ' ');
    return l;
}

/* Ends the line with its newline and keeps it; returns its number. */
static uint64_t line_end(tc_world *w, line_t *l)
{
    put_char(l, '\n');
    TC_ASSERT(l->n <= LINE_MAX_BYTES && w->trace_len + l->n <= W_TRACE_BUF_BYTES);
    w->trace_len += l->n;
    return ++w->trace_lines;
}

/* ---- the lines ---- */

uint64_t w_trace(tc_world *w, uint32_t e, const char *fmt, ...)
{
    line_t l = line_begin(w, e);
    va_list ap;
    va_start(ap, fmt);
    /* Room for the body and the newline; vsnprintf's NUL lands where the newline goes. */
    size_t room = LINE_MAX_BYTES - l.n - 1;
    int body = vsnprintf(l.b + l.n, room, fmt, ap);
    va_end(ap);
    TC_ASSERT(body >= 0);
    l.n += (size_t)body < room ? (size_t)body : room - 1; /* cut the same way every run */
    return line_end(w, &l);
}

/* Message type names for the trace (msg.h numbering); "?" for anything else (garbage). */
static const char *frame_type_name(uint8_t type)
{
    static const char *const names[] = {"?",
                                        "HELLO",
                                        "AUTH",
                                        "PING",
                                        "PONG",
                                        "GET_PEERS",
                                        "PEERS",
                                        "STATUS",
                                        "TX",
                                        "VOTE_BATCH",
                                        "GET_VOTE_BATCHES",
                                        "PROPOSAL",
                                        "PREVOTE",
                                        "PRECOMMIT",
                                        "GET_BLOCKS",
                                        "BLOCKS",
                                        "HEARTBEAT",
                                        "HANDOFF",
                                        "EVIDENCE",
                                        "REJECT",
                                        "GET_VOTES",
                                        "VOTES",
                                        "GET_TXS",
                                        "TXS",
                                        "GET_SNAPSHOT",
                                        "SNAPSHOT",
                                        "IHAVE",
                                        "IWANT",
                                        "VOTE_BITS",
                                        "VOTE_WANT",
                                        "BUNDLE"};
    _Static_assert(TC_ARRAY_LEN(names) == TC_MSG_TYPE_COUNT, "one name per message type");
    return type < TC_ARRAY_LEN(names) ? names[type] : "?";
}

/* "recv <sender> <TYPE> <bytes> <digest>": the frame's type is its fifth byte (after the
 * length prefix), "?" when the frame is too short to have one. */
uint64_t w_trace_recv(tc_world *w, uint32_t e, uint32_t from, const uint8_t *frame, uint32_t len,
                      uint64_t digest)
{
    TC_ASSERT(from < w->count && frame != NULL);
    line_t l = line_begin(w, e);
    put_str(&l, "recv ");
    put_str(&l, w->nodes[from].name);
    put_char(&l, ' ');
    put_str(&l, frame_type_name(len >= TC_MSG_HEADER_SIZE ? frame[4] : 0));
    put_char(&l, ' ');
    put_u64(&l, len);
    put_char(&l, ' ');
    put_hex64(&l, digest);
    return line_end(w, &l);
}

/* "tick <local ms>". */
uint64_t w_trace_tick(tc_world *w, uint32_t e, uint64_t local_ms)
{
    line_t l = line_begin(w, e);
    put_str(&l, "tick ");
    put_u64(&l, local_ms);
    return line_end(w, &l);
}

void w_timeline(tc_world *w, uint32_t e, const char *fmt, ...)
{
    FILE *f = w->opts.timeline;
    if (f == NULL)
        return;
    fprintf(f, "[%6llu.%03llus] %-5s ", (unsigned long long)(w->now_ms / 1000),
            (unsigned long long)(w->now_ms % 1000), e == UINT32_MAX ? "*" : w->nodes[e].name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
}
