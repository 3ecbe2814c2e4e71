/* inplace_posix.c — inplace.h on POSIX: lstat before open (a device or FIFO is refused
 * without being opened), O_NOFOLLOW|O_NONBLOCK opens, fstat checks (regular, owner = euid,
 * link count), ftruncate and pwrite, unlink, O_CREAT|O_EXCL|O_NOFOLLOW creation. */
#include "initrd/inplace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileutil.h"

static int refuse(const char *path, const struct stat *st, bool single_link, struct evm_err *err)
{
    if (S_ISLNK(st->st_mode))
        return evm_errf(err, ELOOP, "%s: a symbolic link", path);
    if (!S_ISREG(st->st_mode))
        return evm_errf(err, EINVAL, "%s: not a regular file", path);
    if (st->st_uid != geteuid())
        return evm_errf(err, EPERM, "%s: owned by uid %lu, not by us", path,
                        (unsigned long)st->st_uid);
    if (single_link && st->st_nlink != 1)
        return evm_errf(err, EMLINK, "%s: %lu links", path, (unsigned long)st->st_nlink);
    return 0;
}

/* Opens path with flags (plus O_NOFOLLOW, O_NONBLOCK so a FIFO swapped in after the lstat
 * cannot block, O_NOCTTY, O_CLOEXEC) and checks what was opened. */
static int open_checked(const char *path, int flags, bool single_link, int *fd, struct evm_err *err)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return evm_errf(err, ENOENT, "%s: no such file", path);
        return evm_errf(err, e, "%s: %s", path, strerror(e));
    }
    int r = refuse(path, &st, single_link, err);
    if (r < 0)
        return r;
    int f = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (f < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return evm_errf(err, ENOENT, "%s: no such file", path);
        if (e == ELOOP)
            return evm_errf(err, ELOOP, "%s: a symbolic link", path);
        return evm_errf(err, e, "%s: %s", path, strerror(e));
    }
    if (fstat(f, &st) < 0) {
        int e = errno;
        close(f);
        return evm_errf(err, e, "%s: stat: %s", path, strerror(e));
    }
    r = refuse(path, &st, single_link, err);
    if (r < 0) {
        close(f);
        return r;
    }
    *fd = f;
    return 0;
}

int inplace_open(const char *path, int *fd, struct evm_err *err)
{
    int r = open_checked(path, O_RDWR, true, fd, err);
    if (r < 0)
        return r;
    /* One update at a time (a second build gets -EBUSY and builds in full); released when
     * the caller closes fd. */
    if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(*fd);
        if (e == EWOULDBLOCK)
            return evm_errf(err, EBUSY, "%s: being updated by another build", path);
        return evm_errf(err, e, "%s: lock: %s", path, strerror(e));
    }
    return 0;
}

int inplace_truncate(int fd, uint64_t len, struct evm_err *err)
{
    int r;
    do
        r = ftruncate(fd, (off_t)len);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        int e = errno;
        return evm_errf(err, e, "truncate: %s", strerror(e));
    }
    return 0;
}

int inplace_write_at(int fd, uint64_t off, const void *buf, size_t n, struct evm_err *err)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;
            return evm_errf(err, e, "write: %s", strerror(e));
        }
        if (w == 0)
            return evm_errf(err, ENOSPC, "write: %s", strerror(ENOSPC));
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

int inplace_read_small(const char *path, char *buf, size_t max, size_t *len, struct evm_err *err)
{
    int fd;
    int r = open_checked(path, O_RDONLY, false, &fd, err);
    if (r < 0)
        return r;
    size_t got = 0;
    char extra;
    r = read_full(fd, buf, max, &got, err, path);
    if (r == 0 && got == max) {
        size_t more = 0;
        r = read_full(fd, &extra, 1, &more, err, path);
        if (r == 0 && more)
            r = evm_errf(err, EFBIG, "%s: larger than %zu bytes", path, max);
    }
    close(fd);
    if (r == 0)
        *len = got;
    return r;
}

int inplace_remove(const char *path, struct evm_err *err)
{
    if (unlink(path) == 0 || errno == ENOENT)
        return 0;
    int e = errno;
    return evm_errf(err, e, "removing %s: %s", path, strerror(e));
}

int inplace_create_small(const char *path, const void *buf, size_t len, struct evm_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        return evm_errf(err, e, "creating %s: %s", path, strerror(e));
    }
    int r = write_all(fd, buf, len, err, path);
    if (close(fd) < 0 && r == 0) {
        int e = errno;
        r = evm_errf(err, e, "closing %s: %s", path, strerror(e));
    }
    if (r < 0)
        unlink(path);
    return r;
}
