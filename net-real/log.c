/* log.c — key=value and JSON log lines (log.h). */
#include "log.h"

#include <fcntl.h>
#include <jansson.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonw.h"

#define LOG_PAIRS_MAX 24

static td_log_level min_level = TD_LOG_INFO;
static FILE *log_file; /* NULL: stderr */
static td_log_format format = TD_LOG_TEXT;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void td_log_setup(td_log_level level, td_log_format fmt)
{
    min_level = level;
    format = fmt;
}

int td_log_open(const char *path)
{
    if (path == NULL || path[0] == 0) {
        if (log_file != NULL)
            fclose(log_file);
        log_file = NULL;
        return 0;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (f == NULL) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setvbuf(f, NULL, _IOLBF, 0); /* whole lines, at once: a tail -f sees each event */
    if (log_file != NULL)
        fclose(log_file);
    log_file = f;
    return 0;
}

static FILE *out(void)
{
    return log_file != NULL ? log_file : stderr;
}

bool td_log_enabled(td_log_level level)
{
    return level >= min_level;
}

static void timestamp(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static bool needs_quotes(const char *v)
{
    if (*v == 0)
        return true;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
            return true;
    return false;
}

static void put_text_value(FILE *f, const char *v)
{
    if (!needs_quotes(v)) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < ' ' || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* Writes one line from n key/value pairs; one fputs-sized write keeps lines whole. */
static void emit(td_log_level level, const char *event, const char **keys, const char **vals,
                 size_t n)
{
    char ts[32];
    timestamp(ts);
    if (format == TD_LOG_JSON) {
        json_t *o = json_object();
        int bad = o == NULL;
        bad |= tc_jsonw_set(o, "ts", tc_jsonw_str(ts));
        bad |= tc_jsonw_set(o, "level", tc_jsonw_str(level_names[level]));
        bad |= tc_jsonw_set(o, "event", tc_jsonw_str(event));
        for (size_t k = 0; k < n; k++)
            bad |= tc_jsonw_set(o, keys[k], tc_jsonw_str(vals[k]));
        char *line = bad ? NULL : tc_jsonw_line(o);
        json_decref(o);
        if (line != NULL)
            fputs(line, out());
        free(line);
        return;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m == NULL)
        return;
    fprintf(m, "ts=%s level=%s event=%s", ts, level_names[level], event);
    for (size_t k = 0; k < n; k++) {
        fprintf(m, " %s=", keys[k]);
        put_text_value(m, vals[k]);
    }
    fputc('\n', m);
    fclose(m);
    fwrite(buf, 1, len, out());
    fflush(out());
    free(buf);
}

void td_log(td_log_level level, const char *event, ...)
{
    if (!td_log_enabled(level))
        return;
    const char *keys[LOG_PAIRS_MAX], *vals[LOG_PAIRS_MAX];
    size_t n = 0;
    va_list ap;
    va_start(ap, event);
    for (const char *k; n < LOG_PAIRS_MAX && (k = va_arg(ap, const char *)) != NULL; n++) {
        keys[n] = k;
        vals[n] = va_arg(ap, const char *);
    }
    va_end(ap);
    emit(level, event, keys, vals, n);
}

void td_logf(td_log_level level, const char *event, const char *fmt, ...)
{
    if (!td_log_enabled(level))
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    const char *keys[LOG_PAIRS_MAX], *vals[LOG_PAIRS_MAX];
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok && n < LOG_PAIRS_MAX;
         tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (eq == NULL)
            continue;
        *eq = 0;
        keys[n] = tok;
        vals[n++] = eq + 1;
    }
    emit(level, event, keys, vals, n);
}
