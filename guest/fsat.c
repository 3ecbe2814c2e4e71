/* fsat.c — owns symlink-proof, fd-relative file operations under a root (see fsat.h):
 * the directory walk and the atomic replace used for everything init writes onto the
 * root disk. */
#include "fsat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileutil.h"

#define COPY_CHUNK (256u * 1024u)
#define TEMP_TRIES 100u

int fsat_join(char *out, size_t cap, const char *root, const char *rel)
{
    size_t rl = strlen(root);
    const char *sep = (rl > 0 && root[rl - 1] == '/') || rel[0] == '\0' ? "" : "/";
    int n = snprintf(out, cap, "%s%s%s", root, sep, rel);
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    return 0;
}

int fsat_open_root(const char *root, int *fd, struct evm_err *err)
{
    int f = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f < 0) {
        int e = errno;
        return evm_errf(err, e, "%s: cannot open directory: %s", root, strerror(e));
    }
    *fd = f;
    return 0;
}

/* Explains why component `comp` of dirfd could not be opened as a directory. */
static int walk_error(int cur, const char *comp, const char *shown, int e, struct evm_err *err)
{
    struct stat st;
    if (e == ELOOP || e == ENOTDIR || e == EEXIST) {
        if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISLNK(st.st_mode))
                return evm_errf(err, ELOOP, "%s: is a symlink, refusing to follow it", shown);
            if (!S_ISDIR(st.st_mode))
                return evm_errf(err, ENOTDIR, "%s: exists but is not a directory", shown);
        }
    }
    if (e == ENOENT)
        return evm_errf(err, ENOENT, "%s: no such directory", shown);
    return evm_errf(err, e, "%s: cannot open directory: %s", shown, strerror(e));
}

int fsat_open_dirs(int dirfd, const char *root, const char *rel, bool create, mode_t mode, int *out,
                   struct evm_err *err)
{
    char path[PATH_MAX];
    char shown[PATH_MAX];
    if (strlen(rel) >= sizeof(path))
        return evm_errf(err, ENAMETOOLONG, "%s/%s: path too long", root, rel);
    memcpy(path, rel, strlen(rel) + 1);

    int cur = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cur < 0) {
        int e = errno;
        return evm_errf(err, e, "%s: cannot reopen directory: %s", root, strerror(e));
    }
    size_t done = 0; /* bytes of path already walked, for messages */
    char *save = NULL;
    for (char *comp = strtok_r(path, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
        size_t clen = strlen(comp);
        char sofar[PATH_MAX];
        snprintf(sofar, sizeof(sofar), "%.*s%s%s", (int)done, rel, done ? "/" : "", comp);
        done = strlen(sofar);
        if (fsat_join(shown, sizeof(shown), root, sofar) < 0)
            snprintf(shown, sizeof(shown), "%s", sofar);
        if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0 || clen > NAME_MAX) {
            close(cur);
            return evm_errf(err, EINVAL, "%s: invalid path component \"%s\"", shown, comp);
        }
        bool created = false;
        int next = -1;
        for (int attempt = 0; attempt < 2; attempt++) {
            next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next >= 0)
                break;
            int e = errno;
            if (e == ENOENT && create && attempt == 0) {
                if (mkdirat(cur, comp, mode) == 0) {
                    created = true;
                    /* The new entry must survive a crash along with what goes in it. */
                    if (fsync(cur) < 0) {
                        e = errno;
                        close(cur);
                        return evm_errf(err, e, "%s: fsync of the parent directory: %s", shown,
                                        strerror(e));
                    }
                    continue;
                }
                e = errno;
                if (e == EEXIST)
                    continue; /* raced with someone else: open what is there now */
            }
            int r = walk_error(cur, comp, shown, e, err);
            close(cur);
            return r;
        }
        close(cur);
        cur = next;
        /* mkdirat's mode is masked by the umask: set the exact mode on what we made. */
        if (created && fchmod(cur, mode) < 0) {
            int e = errno;
            close(cur);
            return evm_errf(err, e, "%s: chmod %04o: %s", shown, (unsigned)mode, strerror(e));
        }
    }
    *out = cur;
    return 0;
}

static int copy_fd(int src, int dst, const char *what, struct evm_err *err)
{
    char *buf = malloc(COPY_CHUNK);
    if (!buf)
        return evm_errf(err, ENOMEM, "out of memory copying %s", what);
    int r = 0;
    for (;;) {
        ssize_t got = read(src, buf, COPY_CHUNK);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            r = evm_errf(err, e, "reading the source of %s: %s", what, strerror(e));
            break;
        }
        if (got == 0)
            break;
        r = write_all(dst, buf, (size_t)got, err, what);
        if (r < 0)
            break;
    }
    free(buf);
    return r;
}

static int replace(int dirfd, const char *where, const char *name, const void *buf, size_t len,
                   int src_fd, mode_t mode, bool durable, struct evm_err *err)
{
    char shown[PATH_MAX];
    if (fsat_join(shown, sizeof(shown), where, name) < 0)
        return evm_errf(err, ENAMETOOLONG, "%s/%s: path too long", where, name);

    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
        return evm_errf(err, EISDIR, "%s: is a directory, refusing to replace it", shown);

    char tmp[NAME_MAX + 1];
    int fd = -1;
    for (unsigned i = 0; i < TEMP_TRIES && fd < 0; i++) {
        int n = snprintf(tmp, sizeof(tmp), ".%s.tmp-%ld-%u", name, (long)getpid(), i);
        if (n < 0 || (size_t)n >= sizeof(tmp))
            return evm_errf(err, ENAMETOOLONG, "%s: name too long for a temporary file", shown);
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) {
            int e = errno;
            return evm_errf(err, e, "%s/%s: cannot create temporary file: %s", where, tmp,
                            strerror(e));
        }
    }
    if (fd < 0)
        return evm_errf(err, EEXIST, "%s: no free temporary file name after %u tries", shown,
                        TEMP_TRIES);

    int r = src_fd >= 0 ? copy_fd(src_fd, fd, shown, err) : write_all(fd, buf, len, err, shown);
    const char *step = NULL;
    int e = 0;
    if (r == 0) {
        /* chown first: it may clear set-id bits that chmod then sets exactly. */
        if (fchown(fd, 0, 0) < 0)
            step = "chown 0:0", e = errno;
        else if (fchmod(fd, mode) < 0)
            step = "chmod", e = errno;
        else if (durable && fsync(fd) < 0)
            step = "fsync", e = errno;
    }
    if (close(fd) < 0 && r == 0 && !step)
        step = "close", e = errno;
    if (r == 0 && !step && renameat(dirfd, tmp, dirfd, name) < 0)
        step = "rename into place", e = errno;
    if (r < 0 || step) {
        unlinkat(dirfd, tmp, 0);
        if (r < 0)
            return r;
        return evm_errf(err, e, "%s: %s: %s", shown, step, strerror(e));
    }
    if (durable && fsync(dirfd) < 0) {
        e = errno;
        return evm_errf(err, e, "%s: fsync of the directory: %s", where, strerror(e));
    }
    return 0;
}

int fsat_replace(int dirfd, const char *where, const char *name, const void *buf, size_t len,
                 int src_fd, mode_t mode, struct evm_err *err)
{
    return replace(dirfd, where, name, buf, len, src_fd, mode, true, err);
}

int fsat_replace_nosync(int dirfd, const char *where, const char *name, const void *buf, size_t len,
                        int src_fd, mode_t mode, struct evm_err *err)
{
    return replace(dirfd, where, name, buf, len, src_fd, mode, false, err);
}

#define COMPARE_CHUNK (64u * 1024u)

/* Compares what fd holds from its position with buf/len (src < 0) or with what src holds
 * from its position: 1 the same bytes to the end of both, 0 not (or unreadable). */
static int same_bytes(int fd, const void *buf, size_t len, int src)
{
    char *ba = malloc(2 * COMPARE_CHUNK), *bb = ba + COMPARE_CHUNK;
    const char *p = buf;
    int same = 0;
    while (ba) {
        size_t ga, gb;
        struct evm_err e = {0};
        if (read_full(fd, ba, COMPARE_CHUNK, &ga, &e, "existing file") < 0)
            break;
        if (src >= 0) {
            if (read_full(src, bb, COMPARE_CHUNK, &gb, &e, "source") < 0)
                break;
        } else {
            gb = len < COMPARE_CHUNK ? len : COMPARE_CHUNK;
            memcpy(bb, p, gb);
            p += gb;
            len -= gb;
        }
        if (ga != gb || memcmp(ba, bb, ga) != 0)
            break;
        if (ga < COMPARE_CHUNK) {
            same = 1;
            break;
        }
    }
    free(ba);
    return same;
}

int fsat_same_file(int dirfd, const char *name, const void *buf, size_t len, int src_fd,
                   mode_t mode)
{
    struct stat ds, ss;
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    off_t want = (off_t)len;
    if (src_fd >= 0)
        want = fstat(src_fd, &ss) == 0 ? ss.st_size : -1;
    int same = fstat(fd, &ds) == 0 && S_ISREG(ds.st_mode) && ds.st_nlink == 1 &&
               (ds.st_mode & 07777) == mode && ds.st_uid == 0 && ds.st_gid == 0 &&
               ds.st_size == want && same_bytes(fd, buf, len, src_fd);
    close(fd);
    if (src_fd >= 0 && lseek(src_fd, 0, SEEK_SET) != 0)
        return 0;
    return same;
}

int fsat_remove_temps(int dirfd, const char *name)
{
    char prefix[NAME_MAX + 1];
    int n = snprintf(prefix, sizeof(prefix), ".%s.tmp-", name);
    if (n < 0 || (size_t)n >= sizeof(prefix))
        return 0;
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return 0;
    }
    int removed = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, (size_t)n) == 0 && unlinkat(dirfd, de->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}
