/* trace.c — the run's trace and fingerprint, and the readable --timeline account.
 *
 * Trace format (docs/SIMULATOR.md, "Trace"): one input a line,
 *   <global ms> <node> <what> [details...]\n
 * with node "*" for faults of the network. The fingerprint is BLAKE2b-256 (tag "tc/sim/trace")
 * over every line, newline included, in order; it is computed whether or not the trace is
 * written, so a run's identity never depends on its output options. Lines are numbered from 1;
 * violations point at the line of the input that exposed them.
 */
#include "world_internal.h"

#include <stdarg.h>
#include <string.h>

#define LINE_MAX_BYTES 512

uint64_t w_trace(tc_world *w, uint32_t e, const char *fmt, ...)
{
    char line[LINE_MAX_BYTES];
    int head = snprintf(line, sizeof(line), "%llu %s ", (unsigned long long)w->now_ms,
                        e == UINT32_MAX ? "*" : w->nodes[e].name);
    TC_ASSERT(head > 0 && (size_t)head < sizeof(line));
    va_list ap;
    va_start(ap, fmt);
    int body = vsnprintf(line + head, sizeof(line) - (size_t)head - 1, fmt, ap);
    va_end(ap);
    TC_ASSERT(body >= 0);
    size_t len = strlen(line); /* a body too long is cut, the same way every run */
    line[len++] = '\n';
    tc_hasher_update(&w->fp, line, len);
    if (w->opts.trace != NULL)
        fwrite(line, 1, len, w->opts.trace);
    return ++w->trace_lines;
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
