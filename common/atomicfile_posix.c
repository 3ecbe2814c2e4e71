/* atomicfile_posix.c — POSIX platform part of atomicfile: O_EXCL temp file (0600) in the
 * destination's directory, locked (flock) by its writer until it is renamed or removed,
 * copy_file_range for copies, fsync, rename, directory fsync; the sweep of dead writers'
 * temporary files and opening our own files without following links. */
#include "atomicfile_plat.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/file.h>
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

/* The writer's lock, held from creation until the file is renamed or removed: a sweeper
 * removes only temporary files it can lock. A sweeper may have removed the file in the
 * instant between its creation and the lock; then it has no name any more and false is
 * returned (f closed). A filesystem without locks is used as is: sweepers cannot lock
 * there either. */
static bool lock_new_temp(int f)
{
    while (flock(f, LOCK_EX) < 0 && errno == EINTR)
        ;
    struct stat st;
    if (fstat(f, &st) == 0 && st.st_nlink == 0) {
        close(f);
        return false;
    }
    return true;
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
            if (!lock_new_temp(f))
                continue; /* a sweeper removed it before it was locked: take another name */
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

int afplat_commit(int fd, const char *tmp, const char *dst, struct evm_err *err)
{
    int r = 0;
    if (fsync(fd) < 0) {
        int e = errno;
        r = evm_errf(err, e, "flushing %s: %s", tmp, strerror(e));
    }
    if (r == 0)
        r = afplat_replace(tmp, dst, err);
    if (close(fd) < 0 && r == 0) {
        int e = errno;
        r = evm_errf(err, e, "closing %s: %s", dst, strerror(e));
    }
    return r;
}

void afplat_discard(int fd, const char *tmp)
{
    if (tmp)
        unlink(tmp);
    if (fd >= 0)
        close(fd);
}

int afplat_list(const char *dir, afplat_name_fn fn, void *ctx, struct evm_err *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        return evm_errf(err, e == ENOTDIR ? ENOENT : e, "listing %s: %s", dir, strerror(e));
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fn(de->d_name, ctx) != 0)
            break;
    }
    closedir(d);
    return 0;
}

static int skip(const char **why, const char *reason)
{
    *why = reason;
    return 0;
}

/* Checks, locks and removes: see atomicfile_sweep. f is the file opened at path, pre what
 * lstat saw there before. */
static int sweep_locked(const char *path, int f, const struct stat *pre, uint64_t *size,
                        const char **why)
{
    struct stat st, now;
    if (fstat(f, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_dev != pre->st_dev ||
        st.st_ino != pre->st_ino)
        return skip(why, "changed while it was checked");
    if (flock(f, LOCK_EX | LOCK_NB) < 0)
        return skip(why, errno == EWOULDBLOCK ? "a running writer holds it" : "cannot be locked");
    if (lstat(path, &now) < 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino)
        return skip(why, "replaced meanwhile");
    if (unlink(path) < 0)
        return errno == ENOENT ? skip(why, "gone") : -errno;
    *size = (uint64_t)st.st_size;
    return 1;
}

int afplat_sweep_one(const char *path, uint64_t *size, const char **why)
{
    /* Look before opening: opening a device can have side effects. */
    struct stat pre;
    if (lstat(path, &pre) < 0)
        return errno == ENOENT ? skip(why, "gone") : -errno;
    if (S_ISLNK(pre.st_mode))
        return skip(why, "a symbolic link");
    if (!S_ISREG(pre.st_mode))
        return skip(why, "not a regular file");
    if (pre.st_uid != geteuid())
        return skip(why, "owned by another user");
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (f < 0)
        return errno == ENOENT  ? skip(why, "gone")
               : errno == ELOOP ? skip(why, "a symbolic link")
                                : -errno;
    int r = sweep_locked(path, f, &pre, size, why);
    close(f);
    return r;
}

int afplat_path_kind(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
    return S_ISDIR(st.st_mode) ? 2 : 1;
}

int afplat_open_owned(const char *path, bool touch, int *fd, uint64_t *size, struct evm_err *err)
{
    /* lstat first: a device is refused without being opened. */
    struct stat st;
    if (lstat(path, &st) < 0) {
        int e = errno;
        return evm_errf(err, e == ENOTDIR ? ENOENT : e, "%s: %s", path, strerror(e));
    }
    if (S_ISLNK(st.st_mode))
        return evm_errf(err, ELOOP, "%s: a symbolic link", path);
    if (!S_ISREG(st.st_mode))
        return evm_errf(err, EINVAL, "%s: not a regular file", path);
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (f < 0) {
        int e = errno;
        return e == ELOOP ? evm_errf(err, ELOOP, "%s: a symbolic link", path)
                          : evm_errf(err, e, "%s: %s", path, strerror(e));
    }
    int r = 0;
    if (fstat(f, &st) < 0)
        r = evm_errf(err, errno, "%s: stat: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        r = evm_errf(err, EINVAL, "%s: not a regular file", path);
    else if (st.st_uid != geteuid())
        r = evm_errf(err, EPERM, "%s: owned by uid %u, not by this user (uid %u)", path,
                     (unsigned)st.st_uid, (unsigned)geteuid());
    int flags = r == 0 ? fcntl(f, F_GETFL) : -1;
    if (r == 0 && (flags < 0 || fcntl(f, F_SETFL, flags & ~O_NONBLOCK) < 0))
        r = evm_errf(err, errno, "%s: fcntl: %s", path, strerror(errno));
    if (r < 0) {
        close(f);
        return r;
    }
    if (touch)
        (void)futimens(f, NULL); /* a read-only cache still serves */
    *fd = f;
    *size = (uint64_t)st.st_size;
    return 0;
}
