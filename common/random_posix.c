/* random_posix.c — random bytes from getrandom(2). */
#include "random.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

int random_bytes(void *buf, size_t len, struct evm_err *err)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            return evm_errf(err, e, "getrandom: %s", strerror(e));
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
