/* log.h — timed's log: one line per event on stderr, with a level and a stable key=value form
 *   ts=2026-12-06T15:51:18.123Z level=info event=block_committed height=5 round=0 hash=ab12...
 * or, with log.format = "json", one JSON object per line with the same keys in the same order.
 * Values holding a space, a quote, '=' or a control byte are quoted in the text form. Lines go to
 * stderr, or to log.file (td_log_open).
 *
 * Use: td_log(level, event, "key", "value", ..., NULL) for text values, and td_logf with a format
 * string of space-separated key=value pairs for numbers: the pairs are split on spaces, so a
 * value given through %s must hold no space (use td_log for those).
 */
#ifndef TD_LOG_H
#define TD_LOG_H

#include "config.h"

void td_log_setup(td_log_level level, td_log_format format);
/* Sends the lines to the file at path (appended, created 0640) instead of stderr; called again
 * (SIGHUP) it reopens the path, so that a rotated log is let go. path NULL or "": stderr.
 * 0, or -1 with errno (the lines then keep going where they went). */
int td_log_open(const char *path);
bool td_log_enabled(td_log_level level);
/* key, value pairs, NULL-terminated. */
void td_log(td_log_level level, const char *event, ...);
/* fmt: "key=%llu key2=%s ..." (no spaces inside values). */
void td_logf(td_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
