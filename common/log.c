/* log.c — leveled logging to stderr. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *log_program = "ephemerd";
static enum log_level log_threshold = LOG_INFO;

void log_init(const char *program, enum log_level level)
{
    if (program)
        log_program = program;
    log_threshold = level;
}

enum log_level log_get_level(void)
{
    return log_threshold;
}

int log_level_parse(const char *s, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {{"error", LOG_ERROR}, {"warn", LOG_WARN},   {"warning", LOG_WARN},
                 {"info", LOG_INFO},   {"debug", LOG_DEBUG}, {"trace", LOG_DEBUG}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *const tags[] = {"error: ", "warning: ", "", "debug: "};
    if (level > log_threshold)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One fputs per line keeps lines whole when several processes share the stream. */
    char out[2200];
    snprintf(out, sizeof(out), "%s: %s%s\n", log_program, tags[level], line);
    fputs(out, stderr);
    fflush(stderr);
}
