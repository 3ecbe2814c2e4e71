/* switchroot.c — empties the initramfs and moves the new root onto "/" (design §4 step 12).
 * See switchroot.h. */
#include "switchroot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "log.h"
#include "mounts.h"

struct rm_ctx {
    dev_t dev;
    struct evm_err *err;
    int first;       /* first error, negative errno, 0 if none */
    char path[4096]; /* relative path of the directory being emptied, for messages */
};

static void rm_fail(struct rm_ctx *c, int code, const char *what, const char *name)
{
    if (c->first == 0)
        c->first = evm_errf(c->err, code, "%s %s%s%s: %s", what, c->path, c->path[0] ? "/" : "",
                            name, strerror(code));
}

static bool in_skip(const char *const skip[], const char *name)
{
    for (size_t i = 0; skip && skip[i]; i++)
        if (strcmp(skip[i], name) == 0)
            return true;
    return false;
}

static void rm_dir_contents(struct rm_ctx *c, int dirfd, const char *const skip[]);

static void rm_entry(struct rm_ctx *c, int dirfd, const char *name)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT)
            rm_fail(c, errno, "examining", name);
        return;
    }
    if (st.st_dev != c->dev)
        return; /* a mount point: another filesystem, never entered */
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
            rm_fail(c, errno, "removing", name);
        return;
    }
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        rm_fail(c, errno, "opening", name);
        return;
    }
    struct stat fst;
    if (fstat(fd, &fst) != 0 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
        close(fd); /* replaced under us (or mounted on): leave it */
        return;
    }
    size_t len = strlen(c->path);
    int w = snprintf(c->path + len, sizeof(c->path) - len, "%s%s", len ? "/" : "", name);
    if (w < 0 || (size_t)w >= sizeof(c->path) - len) {
        c->path[len] = '\0';
        close(fd);
        rm_fail(c, ENAMETOOLONG, "descending into", name);
        return;
    }
    rm_dir_contents(c, fd, NULL);
    c->path[len] = '\0';
    close(fd);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT && errno != ENOTEMPTY &&
        errno != EEXIST && errno != EBUSY)
        rm_fail(c, errno, "removing directory", name);
    /* ENOTEMPTY/EBUSY: it holds (or is) a mount point; it stays. */
}

static void rm_dir_contents(struct rm_ctx *c, int dirfd, const char *const skip[])
{
    int dfd = dup(dirfd);
    if (dfd < 0) {
        rm_fail(c, errno, "duplicating fd of", ".");
        return;
    }
    DIR *d = fdopendir(dfd);
    if (!d) {
        rm_fail(c, errno, "reading directory", ".");
        close(dfd);
        return;
    }
    rewinddir(d);
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno != 0)
                rm_fail(c, errno, "reading directory", ".");
            break;
        }
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || in_skip(skip, name))
            continue;
        rm_entry(c, dirfd, name);
    }
    closedir(d);
}

int remove_tree_same_dev(int dirfd, dev_t dev, const char *const skip[], struct evm_err *err)
{
    struct rm_ctx c = {.dev = dev, .err = err, .first = 0, .path = ""};
    rm_dir_contents(&c, dirfd, skip);
    return c.first;
}

int switch_root(const char *newroot, const char *const keep[], struct evm_err *err)
{
    if (!newroot || newroot[0] != '/')
        return evm_errf(err, EINVAL, "refusing to switch root: %s is not an absolute path",
                        newroot ? newroot : "(null)");
    struct statfs sf;
    if (statfs("/", &sf) != 0)
        return evm_errf(err, errno, "statfs /: %s", strerror(errno));
    if ((unsigned long)sf.f_type != EVM_RAMFS_MAGIC && (unsigned long)sf.f_type != EVM_TMPFS_MAGIC)
        return evm_errf(err, EINVAL,
                        "refusing to switch root: / is not an initramfs (ramfs/tmpfs), its "
                        "filesystem magic is 0x%lx",
                        (unsigned long)sf.f_type);
    struct stat rootst, newst;
    if (stat("/", &rootst) != 0)
        return evm_errf(err, errno, "stat /: %s", strerror(errno));
    if (stat(newroot, &newst) != 0)
        return evm_errf(err, errno, "stat %s: %s", newroot, strerror(errno));
    if (!S_ISDIR(newst.st_mode))
        return evm_errf(err, EINVAL, "refusing to switch root: %s is not a directory", newroot);
    if (newst.st_dev == rootst.st_dev)
        return evm_errf(err, EINVAL,
                        "refusing to switch root: %s is not a mount point (same device as /)",
                        newroot);

    /* The first component of newroot ("newroot" for "/newroot") is skipped by name as well
     * as by device, and so are the entries the caller keeps. */
    char first[256] = "";
    const char *p = newroot;
    while (*p == '/')
        p++;
    size_t n = strcspn(p, "/");
    if (n > 0 && n < sizeof(first)) {
        memcpy(first, p, n);
        first[n] = '\0';
    }
    const char *skip[SWITCH_ROOT_MAX_KEEP + 2] = {first[0] ? first : NULL};
    size_t nskip = first[0] ? 1 : 0;
    for (size_t i = 0; keep && keep[i]; i++) {
        if (i == SWITCH_ROOT_MAX_KEEP || strchr(keep[i], '/') || !keep[i][0])
            return evm_errf(err, EINVAL, "refusing to switch root: cannot keep '%s'", keep[i]);
        skip[nskip++] = keep[i];
    }
    skip[nskip] = NULL;

    int rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return evm_errf(err, errno, "opening /: %s", strerror(errno));
    struct evm_err rmerr = {0};
    if (remove_tree_same_dev(rootfd, rootst.st_dev, skip, &rmerr) < 0)
        log_warn("emptying the initramfs: %s (continuing)", rmerr.msg);
    close(rootfd);

    if (chdir(newroot) != 0)
        return evm_errf(err, errno, "chdir %s: %s", newroot, strerror(errno));
    if (mount(newroot, "/", NULL, MS_MOVE, NULL) != 0)
        return evm_errf(err, errno, "moving mount %s to /: %s", newroot, strerror(errno));
    if (chroot(".") != 0)
        return evm_errf(err, errno, "chroot into %s: %s", newroot, strerror(errno));
    if (chdir("/") != 0)
        return evm_errf(err, errno, "chdir / after chroot: %s", strerror(errno));
    return 0;
}
