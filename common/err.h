/* err.h — the small error value every fallible function fills: a negative errno plus a
 * message that names what was wrong. Functions return 0 or the same negative errno. */
#ifndef EVM_ERR_H
#define EVM_ERR_H

#include <stddef.h>

#if defined(__MINGW32__)
/* mingw's printf family is the ANSI one (__USE_MINGW_ANSI_STDIO): GNU format rules. */
#define EVM_PRINTF(a, b) __attribute__((format(gnu_printf, a, b)))
#elif defined(__GNUC__)
#define EVM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define EVM_PRINTF(a, b)
#endif

struct evm_err {
    int code;      /* positive errno, 0 when unset */
    char msg[512]; /* human-readable, never contains secrets */
};

/* Record an error and return -code. `e` may be NULL (the message is then dropped). */
int evm_errf(struct evm_err *e, int code, const char *fmt, ...) EVM_PRINTF(3, 4);

/* Prefix the existing message with more context ("building x: <old message>"). */
int evm_err_wrap(struct evm_err *e, const char *fmt, ...) EVM_PRINTF(2, 3);

void evm_err_clear(struct evm_err *e);

#endif
