/* atomicfile_posix.c — POSIX platform part of atomicfile: O_EXCL temp file (0600) in the
 * destination's directory, copy_file_range for copies, fsync, rename, directory fsync. */
#include "atomicfile_plat.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "random.h"

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int afplat_create_temp(const char *dst, int *fd, char **tmp, struct evm_err *err)
{
    size_t n = strlen(dst) + 32;
    char *path = malloc(n);
    if (!path)
        return evm_errf(err, ENOMEM, "out of memory");
    for (int attempt = 0; attempt < 16; attempt++) {
        unsigned char rnd[6];
        int r = random_bytes(rnd, sizeof(rnd), err);
        if (r < 0) {
            free(path);
            return r;
        }
        snprintf(path, n, "%s.tmp-%02x%02x%02x%02x%02x%02x", dst, rnd[0], rnd[1], rnd[2], rnd[3],
                 rnd[4], rnd[5]);
        int f = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (f >= 0) {
            /* The mode above is subject to umask, which can only remove bits; make it exact. */
            if (fchmod(f, 0600) < 0) {
                int e = errno;
                evm_errf(err, e, "chmod %s: %s", path, strerror(e));
                close(f);
                unlink(path);
                free(path);
                return -e;
            }
            *fd = f;
            *tmp = path;
            return 0;
        }
        if (errno != EEXIST) {
            int e = errno;
            evm_errf(err, e, "creating temporary file beside %s: %s", dst, strerror(e));
            free(path);
            return -e;
        }
    }
    free(path);
    return evm_errf(err, EEXIST, "creating temporary file beside %s: too many collisions", dst);
}

int afplat_write(int fd, const void *buf, size_t len, struct evm_err *err)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            return evm_errf(err, e, "%s", strerror(e));
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Copies len bytes from src_fd to fd. With in/out NULL the files' own offsets are used and
 * advanced; otherwise *in and *out are positions, and the file offsets are left alone (so a
 * background copy can run beside appends to the same file). A kernel copy where the
 * filesystems allow one, else reads and writes through a bounded buffer. */
static int copy_range(int fd, int src_fd, uint64_t len, loff_t *in, loff_t *out,
                      struct evm_err *err)
{
    while (len > 0) {
        size_t want = len < (1u << 30) ? (size_t)len : (1u << 30);
        ssize_t n = copy_file_range(src_fd, in, fd, out, want, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
                      errno == EBADF))
            break; /* no kernel copy between these files */
        if (n < 0) {
            int e = errno;
            return evm_errf(err, e, "%s", strerror(e));
        }
        if (n == 0)
            return evm_errf(err, ENODATA, "source ended early (file changed while copying?)");
        len -= (uint64_t)n;
    }
    if (len == 0)
        return 0;

    static const size_t chunk = 256 * 1024;
    char *buf = malloc(chunk);
    if (!buf)
        return evm_errf(err, ENOMEM, "out of memory");
    int r = 0;
    while (r == 0 && len > 0) {
        size_t w = len < chunk ? (size_t)len : chunk;
        ssize_t got = in ? pread(src_fd, buf, w, *in) : read(src_fd, buf, w);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            int e = got < 0 ? errno : ENODATA;
            r = evm_errf(err, e, "reading: %s",
                         got < 0 ? strerror(e)
                                 : "source ended early (file changed while copying?)");
            break;
        }
        for (ssize_t done = 0; r == 0 && done < got;) {
            ssize_t put = out ? pwrite(fd, buf + done, (size_t)(got - done), *out + done)
                              : write(fd, buf + done, (size_t)(got - done));
            if (put < 0 && errno == EINTR)
                continue;
            if (put < 0) {
                int e = errno;
                r = evm_errf(err, e, "%s", strerror(e));
            } else {
                done += put;
            }
        }
        if (in)
            *in += got;
        if (out)
            *out += got;
        len -= (uint64_t)got;
    }
    free(buf);
    return r;
}

int afplat_copy(int fd, int src_fd, uint64_t len, struct evm_err *err)
{
    return copy_range(fd, src_fd, len, NULL, NULL, err);
}

struct head_job {
    pthread_t thread;
    int fd, src_fd;
    uint64_t len;
    int result;
    struct evm_err err;
};

static int copy_at(int fd, int src_fd, uint64_t len, struct evm_err *err)
{
    loff_t in = 0, out = 0;
    return copy_range(fd, src_fd, len, &in, &out, err);
}

static void *head_main(void *arg)
{
    struct head_job *j = arg;
    j->result = copy_at(j->fd, j->src_fd, j->len, &j->err);
    return NULL;
}

int afplat_head_start(int fd, int src_fd, uint64_t len, void **job, struct evm_err *err)
{
    struct head_job *j = calloc(1, sizeof(*j));
    if (!j)
        return evm_errf(err, ENOMEM, "out of memory");
    j->fd = fd;
    j->src_fd = src_fd;
    j->len = len;
    if (lseek(fd, (off_t)len, SEEK_SET) < 0) {
        int e = errno;
        free(j);
        return evm_errf(err, e, "seek: %s", strerror(e));
    }
    int e = pthread_create(&j->thread, NULL, head_main, j);
    if (e != 0) {
        /* No thread to be had: copy here and now. */
        j->result = copy_at(fd, src_fd, len, &j->err);
        j->thread = pthread_self();
    }
    *job = j;
    return 0;
}

int afplat_head_wait(void *job, struct evm_err *err)
{
    struct head_job *j = job;
    if (!pthread_equal(j->thread, pthread_self()))
        pthread_join(j->thread, NULL);
    int r = j->result;
    if (r < 0 && err)
        *err = j->err;
    free(j);
    return r;
}

int afplat_sync_close(int fd, struct evm_err *err)
{
    int r = 0;
    if (fsync(fd) < 0) {
        int e = errno;
        r = evm_errf(err, e, "fsync: %s", strerror(e));
    }
    if (close(fd) < 0 && r == 0) {
        int e = errno;
        r = evm_errf(err, e, "close: %s", strerror(e));
    }
    return r;
}

int afplat_replace(const char *tmp, const char *dst, struct evm_err *err)
{
    if (rename(tmp, dst) < 0) {
        int e = errno;
        return evm_errf(err, e, "renaming %s to %s: %s", tmp, dst, strerror(e));
    }
    char *dir = dir_of(dst);
    if (!dir)
        return evm_errf(err, ENOMEM, "out of memory");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = 0;
    if (dfd < 0 || fsync(dfd) < 0) {
        int e = errno;
        r = evm_errf(err, e, "flushing directory %s: %s", dir, strerror(e));
    }
    if (dfd >= 0)
        close(dfd);
    free(dir);
    return r;
}

void afplat_discard(int fd, const char *tmp)
{
    if (fd >= 0)
        close(fd);
    if (tmp)
        unlink(tmp);
}
