/* random.h — cryptographic random bytes from the OS (random_posix.c, random_win.c). */
#ifndef EVM_RANDOM_H
#define EVM_RANDOM_H

#include <stddef.h>

#include "err.h"
#include "tail.h"

int random_bytes(void *buf, size_t len, struct evm_err *err);

/* A fresh boot id: BOOT_ID_HEX_LEN lowercase hex digits. */
int boot_id_generate(char out[BOOT_ID_HEX_LEN + 1], struct evm_err *err);

#endif
