/* random_win.c — random bytes from the system RNG (BCryptGenRandom). */
#include "random.h"

#include <windows.h>
#include <bcrypt.h>

#include <errno.h>

#ifndef STATUS_SUCCESS
#define STATUS_SUCCESS ((NTSTATUS)0x00000000L)
#endif

int random_bytes(void *buf, size_t len, struct evm_err *err)
{
    unsigned char *p = buf;
    while (len > 0) {
        ULONG chunk = len > 0x40000000u ? 0x40000000u : (ULONG)len;
        NTSTATUS st = BCryptGenRandom(NULL, p, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
        if (st != STATUS_SUCCESS)
            return evm_errf(err, EIO, "BCryptGenRandom failed (NTSTATUS 0x%08lx)",
                            (unsigned long)st);
        p += chunk;
        len -= chunk;
    }
    return 0;
}
