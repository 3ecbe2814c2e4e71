/* linebuf.c — byte stream to lines (see linebuf.h). */
#include "linebuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int linebuf_init(struct linebuf *lb, size_t max_line)
{
    memset(lb, 0, sizeof(*lb));
    if (max_line == 0)
        return -EINVAL;
    lb->buf = malloc(max_line + 1);
    if (!lb->buf)
        return -ENOMEM;
    lb->max_line = max_line;
    return 0;
}

static void emit(struct linebuf *lb, linebuf_line_fn fn, void *ctx)
{
    lb->buf[lb->len] = '\0';
    fn(ctx, lb->buf, lb->len, lb->overflow);
    lb->len = 0;
    lb->overflow = false;
}

void linebuf_feed(struct linebuf *lb, const char *data, size_t n, linebuf_line_fn fn, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        char c = data[i];
        if (c == '\n') {
            emit(lb, fn, ctx);
            continue;
        }
        if (c == '\r' || c == '\0')
            continue;
        if (lb->len < lb->max_line)
            lb->buf[lb->len++] = c;
        else
            lb->overflow = true;
    }
}

void linebuf_flush(struct linebuf *lb, linebuf_line_fn fn, void *ctx)
{
    if (lb->len > 0 || lb->overflow)
        emit(lb, fn, ctx);
}

void linebuf_free(struct linebuf *lb)
{
    free(lb->buf);
    memset(lb, 0, sizeof(*lb));
}
