/* random.h — cryptographic random bytes from the OS (random_posix.c, random_win.c). */
#ifndef EVM_RANDOM_H
#define EVM_RANDOM_H

#include <stddef.h>

#include "err.h"

int random_bytes(void *buf, size_t len, struct evm_err *err);

#endif
