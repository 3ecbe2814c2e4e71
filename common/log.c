/* log.c — leveled logging to stderr (see log.h): the process-wide threshold and format, the
 * text and JSON line formats, JSON string escaping, and the size-rotated file sink. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "strutil.h"

#define LOG_MSG_MAX 2048 /* a message is cut to this many bytes (NUL included) */

static const char *log_program = "ephemerd";
static enum log_level log_threshold = LOG_INFO;
static enum log_format log_fmt = LOG_FORMAT_TEXT;
static bool log_level_from_cli; /* -v chose the threshold: [log] level does not change it */

#define LOG_PATH_MAX 4096

/* The file sink: its state is changed under the lock (lines may come from several threads). */
struct log_file_sink {
    FILE *f;
    char path[LOG_PATH_MAX];
    unsigned long long size, max;
    unsigned keep;
};
static struct log_file_sink log_sink;
static atomic_flag log_sink_busy = ATOMIC_FLAG_INIT;

void log_init(const char *program, enum log_level level)
{
    if (program)
        log_program = program;
    log_threshold = level;
    log_fmt = LOG_FORMAT_TEXT;
    log_level_from_cli = false;
}

void log_set_cli_level(enum log_level level)
{
    log_threshold = level;
    log_level_from_cli = true;
}

void log_configure(enum log_level level, enum log_format format)
{
    log_fmt = format;
    if (!log_level_from_cli)
        log_threshold = level;
}

enum log_level log_get_level(void)
{
    return log_threshold;
}

enum log_format log_get_format(void)
{
    return log_fmt;
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

int log_format_parse(const char *s, enum log_format *out)
{
    if (strcmp(s, "text") == 0)
        *out = LOG_FORMAT_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = LOG_FORMAT_JSON;
    else
        return -EINVAL;
    return 0;
}

const char *log_level_name(enum log_level level)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    return (unsigned)level < sizeof(names) / sizeof(names[0]) ? names[level] : "debug";
}

/* ---- JSON strings ---------------------------------------------------------------------- */

/* How the character at p is written inside a JSON string: *piece (n bytes), consuming *adv
 * input bytes. esc is scratch room for an escape. */
static const char *json_piece(const unsigned char *p, char esc[8], size_t *n, size_t *adv)
{
    static const char shorts[] = "btnvfr"; /* \b \t \n _ \f \r for 0x08..0x0d */
    unsigned char c = p[0];
    *adv = 1;
    if (c == '"' || c == '\\') {
        esc[0] = '\\', esc[1] = (char)c, *n = 2;
        return esc;
    }
    if (c >= 0x08 && c <= 0x0d && c != 0x0b) {
        esc[0] = '\\', esc[1] = shorts[c - 0x08], *n = 2;
        return esc;
    }
    if (c < 0x20 || c == 0x7f) {
        *n = (size_t)snprintf(esc, 8, "\\u%04x", c);
        return esc;
    }
    if (c < 0x80) {
        *n = 1;
        return (const char *)p;
    }
    size_t u = str_utf8_seq((const char *)p, SIZE_MAX); /* s is NUL-terminated */
    if (u == 0) {
        *n = 6;
        return "\\ufffd";
    }
    *n = *adv = u;
    return (const char *)p;
}

size_t log_json_escape(char *out, size_t cap, const char *s)
{
    if (cap == 0)
        return 0;
    size_t len = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        char esc[8];
        size_t n, adv;
        const char *piece = json_piece(p, esc, &n, &adv);
        if (len + n >= cap)
            break;
        memcpy(out + len, piece, n);
        len += n;
        p += adv;
    }
    out[len] = '\0';
    return len;
}

/* ---- lines ----------------------------------------------------------------------------- */

/* ts as "YYYY-MM-DDTHH:MM:SSZ" (UTC, proleptic Gregorian; days to civil date as in
 * H. Hinnant's chrono algorithms): no gmtime, whose buffer threads would share. */
static void utc_stamp(long long ts, char *out, size_t cap)
{
    long long days = ts / 86400, secs = ts % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    long long z = days + 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;                                      /* [0, 146096] */
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    long long mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    long long day = doy - (153 * mp + 2) / 5 + 1;
    long long month = mp < 10 ? mp + 3 : mp - 9;
    long long year = yoe + era * 400 + (month <= 2);
    snprintf(out, cap, "%04lld-%02d-%02dT%02d:%02d:%02dZ", year, (int)month, (int)day,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

static size_t text_line(char *out, size_t cap, const char *program, enum log_level level,
                        const char *msg)
{
    static const char *const tags[] = {"error: ", "warning: ", "", "debug: "};
    if (cap < 2) {
        out[0] = '\0';
        return 0;
    }
    int n = snprintf(out, cap - 1, "%s: %s%s", program, tags[level], msg);
    size_t len = n < 0 ? 0 : (size_t)n < cap - 1 ? (size_t)n : cap - 2;
    out[len++] = '\n';
    out[len] = '\0';
    return len;
}

static size_t json_line(char *out, size_t cap, const char *program, enum log_level level,
                        long long ts, const char *msg)
{
    static const char tail[] = "\"}\n";
    char stamp[64], prog[128], head[320];
    utc_stamp(ts, stamp, sizeof(stamp));
    log_json_escape(prog, sizeof(prog), program);
    int h = snprintf(head, sizeof(head),
                     "{\"ts\":\"%s\",\"level\":\"%s\",\"program\":\"%s\",\"msg\":\"", stamp,
                     log_level_name(level), prog);
    if (h < 0 || (size_t)h >= sizeof(head) || (size_t)h + sizeof(tail) > cap) {
        out[0] = '\0';
        return 0;
    }
    memcpy(out, head, (size_t)h);
    size_t len = (size_t)h;
    len += log_json_escape(out + len, cap - len - (sizeof(tail) - 1), msg);
    memcpy(out + len, tail, sizeof(tail));
    return len + sizeof(tail) - 1;
}

size_t log_format_line(char *out, size_t cap, enum log_format format, const char *program,
                       enum log_level level, long long ts, const char *msg)
{
    if (cap == 0)
        return 0;
    if ((unsigned)level > LOG_DEBUG)
        level = LOG_DEBUG;
    if (format == LOG_FORMAT_JSON)
        return json_line(out, cap, program, level, ts, msg);
    return text_line(out, cap, program, level, msg);
}

/* ---- the file sink --------------------------------------------------------------------- */

static void sink_lock(void)
{
    while (atomic_flag_test_and_set_explicit(&log_sink_busy, memory_order_acquire))
        ;
}

static void sink_unlock(void)
{
    atomic_flag_clear_explicit(&log_sink_busy, memory_order_release);
}

/* from replaces to (Windows' rename does not replace: to is removed first). */
static int rotate_one(const char *from, const char *to, struct evm_err *err)
{
    FILE *probe = fopen(from, "rb");
    if (!probe)
        return 0; /* nothing to move */
    fclose(probe);
    if (remove(to) != 0 && errno != ENOENT)
        return evm_errf(err, errno, "log rotation: removing %s: %s", to, strerror(errno));
    if (rename(from, to) != 0)
        return evm_errf(err, errno, "log rotation: %s -> %s: %s", from, to, strerror(errno));
    return 0;
}

int log_rotate_files(const char *path, unsigned keep, struct evm_err *err)
{
    char from[LOG_PATH_MAX + 16], to[LOG_PATH_MAX + 16];
    if (strlen(path) >= LOG_PATH_MAX)
        return evm_errf(err, ENAMETOOLONG, "log file path too long: %.64s...", path);
    if (keep == 0) {
        if (remove(path) != 0 && errno != ENOENT)
            return evm_errf(err, errno, "log rotation: removing %s: %s", path, strerror(errno));
        return 0;
    }
    for (unsigned i = keep - 1; i >= 1; i--) {
        snprintf(from, sizeof(from), "%s.%u", path, i);
        snprintf(to, sizeof(to), "%s.%u", path, i + 1);
        int r = rotate_one(from, to, err);
        if (r < 0)
            return r;
    }
    snprintf(to, sizeof(to), "%s.1", path);
    return rotate_one(path, to, err);
}

/* Opens path for appending; *size is what it already holds. */
static int sink_open_file(const char *path, FILE **f, unsigned long long *size, struct evm_err *err)
{
    *f = fopen(path, "ab");
    if (!*f)
        return evm_errf(err, errno, "log file %s: %s", path, strerror(errno));
    long end = fseek(*f, 0, SEEK_END) == 0 ? ftell(*f) : -1;
    *size = end > 0 ? (unsigned long long)end : 0;
    return 0;
}

int log_file_open(const char *path, unsigned long long max_bytes, unsigned keep,
                  struct evm_err *err)
{
    if (strlen(path) >= LOG_PATH_MAX)
        return evm_errf(err, ENAMETOOLONG, "log file path too long: %.64s...", path);
    if (max_bytes == 0)
        return evm_errf(err, EINVAL, "log file %s: the rotation size must not be 0", path);
    FILE *f;
    unsigned long long size;
    int r = sink_open_file(path, &f, &size, err);
    if (r < 0)
        return r;
    log_file_close();
    sink_lock();
    log_sink.f = f;
    snprintf(log_sink.path, sizeof(log_sink.path), "%s", path);
    log_sink.size = size;
    log_sink.max = max_bytes;
    log_sink.keep = keep;
    sink_unlock();
    return 0;
}

void log_file_close(void)
{
    sink_lock();
    if (log_sink.f)
        fclose(log_sink.f);
    log_sink.f = NULL;
    sink_unlock();
}

/* Under the lock: rotates and starts a new file. When the rotation fails, the lines go on
 * into the same file (none is lost) and the next attempt comes after another max bytes; a
 * file that cannot be opened again ends the sink. Both are said on stderr. */
static void sink_rotate(void)
{
    struct evm_err err = {0};
    fclose(log_sink.f);
    log_sink.f = NULL;
    int r = log_rotate_files(log_sink.path, log_sink.keep, &err);
    if (r < 0)
        fprintf(stderr, "%s: warning: %s\n", log_program, err.msg);
    if (sink_open_file(log_sink.path, &log_sink.f, &log_sink.size, &err) < 0) {
        fprintf(stderr, "%s: warning: %s; no more lines go to it\n", log_program, err.msg);
        log_sink.f = NULL;
    } else if (r < 0) {
        log_sink.size = 0;
    }
}

/* Appends one line (text lines with the time first) to the file sink, if any. */
static void sink_write(long long ts, const char *line, size_t len)
{
    sink_lock();
    if (!log_sink.f) {
        sink_unlock();
        return;
    }
    char stamp[64] = "";
    if (log_fmt == LOG_FORMAT_TEXT) {
        utc_stamp(ts, stamp, sizeof(stamp) - 1);
        strcat(stamp, " ");
    }
    size_t n = strlen(stamp) + len;
    if (log_sink.size > 0 && log_sink.size + n > log_sink.max)
        sink_rotate();
    if (log_sink.f) {
        fputs(stamp, log_sink.f);
        fputs(line, log_sink.f);
        fflush(log_sink.f);
        log_sink.size += n;
    }
    sink_unlock();
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level > log_threshold)
        return;
    char msg[LOG_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Room for the worst case: every byte of the message escaped as \u00XX. */
    char out[LOG_MSG_MAX * 6 + 256];
    long long now = (long long)time(NULL);
    size_t len = log_format_line(out, sizeof(out), log_fmt, log_program, level, now, msg);
    /* One fputs per line keeps lines whole when several processes share the stream. */
    fputs(out, stderr);
    fflush(stderr);
    sink_write(now, out, len);
}
