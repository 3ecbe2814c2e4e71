/* err.c — filling and wrapping struct evm_err. */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int evm_errf(struct evm_err *e, int code, const char *fmt, ...)
{
    if (code <= 0)
        code = EIO; /* a caller error must never turn a failure into success */
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return -code;
}

int evm_err_wrap(struct evm_err *e, const char *fmt, ...)
{
    if (!e)
        return -EIO; /* the code lived in the dropped error: still a failure */
    char prefix[256];
    char old[sizeof(e->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof(old));
    /* Truncation is acceptable: the message stays NUL-terminated and starts with context. */
    size_t n = strlen(prefix);
    if (n > sizeof(e->msg) - 3)
        n = sizeof(e->msg) - 3;
    memcpy(e->msg, prefix, n);
    memcpy(e->msg + n, ": ", 2);
    size_t room = sizeof(e->msg) - n - 3;
    size_t oldlen = strnlen(old, sizeof(old) - 1);
    if (oldlen > room)
        oldlen = room;
    memcpy(e->msg + n + 2, old, oldlen);
    e->msg[n + 2 + oldlen] = '\0';
    if (e->code <= 0)
        e->code = EIO;
    return -e->code;
}

void evm_err_clear(struct evm_err *e)
{
    if (e) {
        e->code = 0;
        e->msg[0] = '\0';
    }
}
