/* fileutil.c — the portable part of fileutil.h: a bounded whole-file read on top of the
 * platform's open_regular_file and read_full. */
#include "fileutil.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int read_regular_file(const char *path, size_t max, char **buf, size_t *len, struct evm_err *err)
{
    int fd;
    uint64_t size;
    int r = open_regular_file(path, &fd, &size, err);
    if (r < 0)
        return r;
    if (size > max) {
        close(fd);
        return evm_errf(err, EFBIG, "%s: %llu bytes, larger than the %llu-byte limit", path,
                        (unsigned long long)size, (unsigned long long)max);
    }
    /* Read up to max+1 bytes whatever the size said: the file may grow while we read. */
    char *b = malloc(max + 2);
    if (!b) {
        close(fd);
        return evm_errf(err, ENOMEM, "out of memory");
    }
    size_t got;
    r = read_full(fd, b, max + 1, &got, err, path);
    close(fd);
    if (r < 0) {
        free(b);
        return r;
    }
    if (got > max) {
        free(b);
        return evm_errf(err, EFBIG, "%s: larger than the %llu-byte limit", path,
                        (unsigned long long)max);
    }
    b[got] = '\0';
    *buf = b;
    *len = got;
    return 0;
}
