/* fileutil_posix.c — POSIX part of fileutil.h: non-blocking opens, regular-file checks,
 * bounded whole-file reads, write/read loops, mkdir -p. */
#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int refuse_type(const char *path, mode_t mode, struct evm_err *err)
{
    return evm_errf(err, EINVAL, "%s: not a regular file (%s)", path,
                    S_ISDIR(mode)    ? "a directory"
                    : S_ISFIFO(mode) ? "a FIFO"
                    : S_ISSOCK(mode) ? "a socket"
                    : S_ISCHR(mode)  ? "a character device"
                    : S_ISBLK(mode)  ? "a block device"
                                     : "not a file");
}

int open_regular_file(const char *path, int *fd, uint64_t *size, struct evm_err *err)
{
    /* Refuse what is not a regular file before opening it: opening some devices has side
     * effects (a watchdog arms itself). The fstat after open closes the race. */
    struct stat pre;
    if (stat(path, &pre) == 0 && !S_ISREG(pre.st_mode))
        return refuse_type(path, pre.st_mode, err);
    /* O_NONBLOCK: opening a FIFO with no writer must not block; the regular-file check
     * below then refuses it. The flag is cleared again for regular files. */
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (f < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return evm_errf(err, ENOENT, "%s: no such file", path);
        if (e == EACCES || e == EPERM)
            return evm_errf(err, EACCES, "%s: permission denied", path);
        if (e == ENXIO || e == EWOULDBLOCK)
            return evm_errf(err, EINVAL, "%s: not a regular file", path);
        return evm_errf(err, e, "%s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(f, &st) < 0) {
        int e = errno;
        close(f);
        return evm_errf(err, e, "%s: stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(f);
        return refuse_type(path, st.st_mode, err);
    }
    int flags = fcntl(f, F_GETFL);
    if (flags < 0 || fcntl(f, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        int e = errno;
        close(f);
        return evm_errf(err, e, "%s: fcntl: %s", path, strerror(e));
    }
    *fd = f;
    if (size)
        *size = (uint64_t)st.st_size;
    return 0;
}

int write_all(int fd, const void *buf, size_t len, struct evm_err *err, const char *what)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            return evm_errf(err, e, "writing %s: %s", what, strerror(e));
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int read_full(int fd, void *buf, size_t len, size_t *got, struct evm_err *err, const char *what)
{
    char *p = buf;
    size_t n = 0;
    while (n < len) {
        ssize_t r = read(fd, p + n, len - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            return evm_errf(err, e, "reading %s: %s", what, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *got = n;
    return 0;
}

int mkdir_p(const char *path, struct evm_err *err)
{
    char *p = strdup(path);
    if (!p)
        return evm_errf(err, ENOMEM, "out of memory");
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char saved = *s;
            *s = '\0';
            if (mkdir(p, 0700) < 0 && errno != EEXIST) {
                int e = errno;
                evm_errf(err, e, "creating directory %s: %s", p, strerror(e));
                free(p);
                return -e;
            }
            *s = saved;
            if (saved == '\0')
                break;
        }
    }
    free(p);
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return evm_errf(err, ENOTDIR, "%s: not a directory", path);
    return 0;
}

int path_exists(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0)
        return 1;
    return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
}

bool paths_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}
