/* linebuf.h — splits a byte stream into lines for the console and QMP readers: '\n' ends a
 * line, every '\r' and NUL byte is dropped, and a line longer than the bound is delivered
 * once, truncated to the bound, with the rest of it (up to its '\n') discarded. Portable C. */
#ifndef EVM_LINEBUF_H
#define EVM_LINEBUF_H

#include <stdbool.h>
#include <stddef.h>

/* One complete line, NUL-terminated, without its newline. truncated: the line was longer
 * than the bound and only its first max_line bytes are given. */
typedef void (*linebuf_line_fn)(void *ctx, const char *line, size_t len, bool truncated);

struct linebuf {
    char *buf;  /* max_line + 1 bytes */
    size_t len; /* bytes of the current line held */
    size_t max_line;
    bool overflow; /* the current line went past max_line: drop until '\n' */
};

/* max_line >= 1. Returns 0 or -ENOMEM. */
int linebuf_init(struct linebuf *lb, size_t max_line);
/* Feeds bytes; calls fn for every line they complete. fn may not call linebuf_feed on the
 * same linebuf. */
void linebuf_feed(struct linebuf *lb, const char *data, size_t n, linebuf_line_fn fn, void *ctx);
/* Delivers a pending unterminated line (at end of stream), if any; resets. */
void linebuf_flush(struct linebuf *lb, linebuf_line_fn fn, void *ctx);
void linebuf_free(struct linebuf *lb);

#endif
