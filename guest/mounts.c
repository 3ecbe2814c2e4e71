/* mounts.c — the init's own mounts: the early pseudo filesystems (design §4 step 1), the
 * console on fds 0-2, and moving the mounts into the new root (step 11). See mounts.h. */
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "fsat.h"
#include "log.h"

struct mount_spec {
    const char *source;
    const char *target; /* relative to the root */
    const char *fstype;
    unsigned long flags;
    const char *data;
    mode_t mode; /* of the mount point when it has to be created */
    unsigned long magic;
    bool required;
};

static const struct mount_spec early_mounts[] = {
    {"proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555, EVM_PROC_MAGIC, true},
    {"sysfs", "sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555, EVM_SYSFS_MAGIC, true},
    {"devtmpfs", "dev", "devtmpfs", MS_NOSUID, "mode=0755", 0755, EVM_TMPFS_MAGIC, true},
    {"devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666", 0755,
     EVM_DEVPTS_MAGIC, false},
    {"tmpfs", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777, EVM_TMPFS_MAGIC, false},
    {"mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0755,
     EVM_MQUEUE_MAGIC, false},
    {"tmpfs", "run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0755, EVM_TMPFS_MAGIC, true},
    {"tmpfs", "tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777, EVM_TMPFS_MAGIC, true},
};

/* root + "/" + rel without doubling the slash (fsat_join, with a message). */
static int join(char *out, size_t n, const char *root, const char *rel, struct evm_err *err)
{
    if (fsat_join(out, n, root, rel) < 0)
        return evm_errf(err, ENAMETOOLONG, "path too long: %s/%s", root, rel);
    return 0;
}

/* 1 if path is the root of a mount (its device differs from its parent's), 0 if not,
 * negative errno if it cannot be examined. */
static int is_mount_point(const char *path)
{
    struct stat st, parent;
    char up[4096];
    if (snprintf(up, sizeof(up), "%s/..", path) >= (int)sizeof(up))
        return -ENAMETOOLONG;
    if (stat(path, &st) != 0 || stat(up, &parent) != 0)
        return -errno;
    return st.st_dev != parent.st_dev || st.st_ino == parent.st_ino;
}

/* 1 when path is already a mount point holding a filesystem with this magic. */
static int mounted_as(const char *path, unsigned long magic)
{
    int mp = is_mount_point(path);
    if (mp <= 0)
        return mp;
    struct statfs sf;
    if (statfs(path, &sf) != 0)
        return -errno;
    return (unsigned long)sf.f_type == magic;
}

/* A directory to mount on: created when missing; a symlink or non-directory is refused
 * (mount(2) would follow a symlink and mount somewhere else). */
static int ensure_dir(const char *path, mode_t mode, struct evm_err *err)
{
    if (mkdir(path, mode) == 0)
        return 0;
    if (errno != EEXIST)
        return evm_errf(err, errno, "creating mount point %s: %s", path, strerror(errno));
    struct stat st;
    if (lstat(path, &st) != 0)
        return evm_errf(err, errno, "examining mount point %s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return evm_errf(err, ENOTDIR, "mount point %s is not a directory%s", path,
                        S_ISLNK(st.st_mode) ? " (a symlink)" : "");
    return 0;
}

static int mount_one(const char *root, const struct mount_spec *m, struct evm_err *err)
{
    char target[4096];
    int rc = join(target, sizeof(target), root, m->target, err);
    if (rc < 0)
        return rc;
    rc = ensure_dir(target, m->mode, err);
    if (rc < 0)
        return rc;
    if (mounted_as(target, m->magic) == 1) {
        log_info("%s already mounted at %s", m->fstype, target);
        return 0;
    }
    if (mount(m->source, target, m->fstype, m->flags, m->data) != 0) {
        if (errno == EBUSY) {
            log_info("%s: already mounted (%s)", target, m->fstype);
            return 0;
        }
        return evm_errf(err, errno, "mounting %s on %s: %s", m->fstype, target, strerror(errno));
    }
    log_debug("mounted %s on %s", m->fstype, target);
    return 0;
}

int mounts_early(const char *root, struct evm_err *err)
{
    for (size_t i = 0; i < sizeof(early_mounts) / sizeof(early_mounts[0]); i++) {
        const struct mount_spec *m = &early_mounts[i];
        struct evm_err e = {0};
        int rc = mount_one(root, m, &e);
        if (rc == 0)
            continue;
        if (m->required) {
            if (err)
                *err = e;
            return rc;
        }
        log_warn("%s (continuing without it)", e.msg);
    }
    return 0;
}

int console_reopen(const char *root, struct evm_err *err)
{
    char path[4096];
    int rc = join(path, sizeof(path), root, "dev/console", err);
    if (rc < 0)
        return rc;
    /* Not O_CLOEXEC: when it lands on one of fds 0-2 itself it must survive exec. */
    int fd = open(path, O_RDWR | O_NOCTTY);
    if (fd >= 0) {
        for (int i = 0; i <= 2; i++) {
            if (dup2(fd, i) < 0) {
                int e = errno;
                if (fd > 2)
                    close(fd);
                return evm_errf(err, e, "dup2 of %s onto fd %d: %s", path, i, strerror(e));
            }
        }
        if (fd > 2)
            close(fd);
        return 0;
    }
    int cerr = errno;
    char nul[4096];
    rc = join(nul, sizeof(nul), root, "dev/null", err);
    if (rc < 0)
        return rc;
    int nfd = open(nul, O_RDWR | O_NOCTTY);
    if (nfd < 0) {
        int e = errno;
        return evm_errf(err, cerr, "opening %s: %s; and %s: %s", path, strerror(cerr), nul,
                        strerror(e));
    }
    if (nfd != 0 && dup2(nfd, 0) < 0) {
        int e = errno;
        close(nfd);
        return evm_errf(err, e, "dup2 of %s onto fd 0: %s", nul, strerror(e));
    }
    for (int i = 1; i <= 2; i++) {
        if (i != nfd && fcntl(i, F_GETFD) < 0 && errno == EBADF && dup2(nfd, i) < 0) {
            int e = errno;
            if (nfd > 2)
                close(nfd);
            return evm_errf(err, e, "dup2 of %s onto fd %d: %s", nul, i, strerror(e));
        }
    }
    if (nfd > 2)
        close(nfd);
    return evm_errf(err, cerr, "opening %s: %s (stdin is %s)", path, strerror(cerr), nul);
}

const struct mount_need mounts_needed[] = {
    {"proc", "proc", EVM_PROC_MAGIC, "everything"},
    {"sys", "sysfs", EVM_SYSFS_MAGIC, "everything"},
    {"dev", "devtmpfs", EVM_TMPFS_MAGIC, "device nodes"},
    {"dev/pts", "devpts", EVM_DEVPTS_MAGIC, "containers' terminals (runc, docker run -t)"},
    {"dev/shm", "tmpfs", EVM_TMPFS_MAGIC, "POSIX shared memory"},
    {"dev/mqueue", "mqueue", EVM_MQUEUE_MAGIC, "POSIX message queues (runc's IPC namespace)"},
    {"run", "tmpfs", EVM_TMPFS_MAGIC, "containerd's and runc's state under /run"},
    {"sys/fs/cgroup", "cgroup2", EVM_CGROUP2_MAGIC, "containerd's cgroups (limits, accounting)"},
    {"sys/kernel/security", "securityfs", EVM_SECURITYFS_MAGIC, "AppArmor/LSM profiles"},
    {"sys/fs/bpf", "bpf", EVM_BPF_MAGIC, "pinned BPF programs (cgroup device filters, CNI)"},
    {NULL, NULL, 0, NULL},
};

unsigned mounts_check(const char *root)
{
    unsigned missing = 0;
    for (const struct mount_need *m = mounts_needed; m->target; m++) {
        char p[4096];
        if (fsat_join(p, sizeof(p), root, m->target) < 0 || mounted_as(p, m->magic) != 1) {
            log_warn("/%s is not a %s mount: missing for %s", m->target, m->fstype, m->why);
            missing++;
        }
    }
    return missing;
}

/* The mounts that move with the root, in order; submounts travel along. */
static const struct {
    const char *name;
    mode_t mode;
    bool required;
} moved_mounts[] = {
    {"dev", 0755, true},
    {"proc", 0555, true},
    {"sys", 0555, true},
    {"run", 0755, false},
};

static void mount_warn(const char *source, const char *target, const char *fstype,
                       unsigned long flags, const char *data, const char *fallback_data)
{
    if (mount(source, target, fstype, flags, data) == 0)
        return;
    if (errno == EINVAL && fallback_data != data &&
        mount(source, target, fstype, flags, fallback_data) == 0)
        return;
    if (errno == EBUSY)
        return;
    log_warn("cannot mount %s on %s: %s", fstype, target, strerror(errno));
}

int mounts_move_into_from(const char *oldroot, const char *newroot, struct evm_err *err)
{
    char src[4096], dst[4096];
    int rc;
    for (size_t i = 0; i < sizeof(moved_mounts) / sizeof(moved_mounts[0]); i++) {
        if ((rc = join(src, sizeof(src), oldroot, moved_mounts[i].name, err)) < 0 ||
            (rc = join(dst, sizeof(dst), newroot, moved_mounts[i].name, err)) < 0)
            return rc;
        if (!moved_mounts[i].required && is_mount_point(src) != 1) {
            log_debug("%s is not a mount point: not moved", src);
            continue;
        }
        rc = ensure_dir(dst, moved_mounts[i].mode, err);
        if (rc < 0)
            return rc;
        if (mount(src, dst, NULL, MS_MOVE, NULL) != 0)
            return evm_errf(err, errno, "moving mount %s to %s: %s", src, dst, strerror(errno));
        log_debug("moved %s to %s", src, dst);
    }

    if ((rc = join(src, sizeof(src), oldroot, "tmp", err)) < 0)
        return rc;
    if (is_mount_point(src) == 1 && umount2(src, MNT_DETACH) != 0)
        log_warn("cannot detach %s: %s", src, strerror(errno));

    if ((rc = join(dst, sizeof(dst), newroot, "sys/fs/cgroup", err)) < 0)
        return rc;
    if (mounted_as(dst, EVM_CGROUP2_MAGIC) != 1)
        mount_warn("cgroup2", dst, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, "nsdelegate", NULL);
    if ((rc = join(dst, sizeof(dst), newroot, "sys/kernel/security", err)) < 0)
        return rc;
    if (mounted_as(dst, EVM_SECURITYFS_MAGIC) != 1)
        mount_warn("securityfs", dst, "securityfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, NULL);
    if ((rc = join(dst, sizeof(dst), newroot, "sys/fs/bpf", err)) < 0)
        return rc;
    if (mounted_as(dst, EVM_BPF_MAGIC) != 1)
        mount_warn("bpf", dst, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700", NULL);
    return 0;
}

int mounts_move_into(const char *newroot, struct evm_err *err)
{
    return mounts_move_into_from("/", newroot, err);
}

int mount_field_unescape(const char *p, char *out, size_t outsz)
{
    const char *start = p;
    size_t n = 0;
    while (*p && *p != ' ' && *p != '\n') {
        char c = *p;
        if (c == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
            p[3] <= '7') {
            c = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
            p += 4;
        } else {
            p++;
        }
        if (n + 1 >= outsz)
            return -ENAMETOOLONG;
        out[n++] = c;
    }
    if (n == 0)
        return -EINVAL;
    out[n] = '\0';
    return (int)(p - start);
}

int mountinfo_mountpoint(const char *line, char *out, size_t outsz)
{
    /* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue" */
    const char *p = line;
    for (int field = 0; field < 4; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -EINVAL;
        p++;
    }
    int used = mount_field_unescape(p, out, outsz);
    if (used < 0)
        return used;
    if (p[used] != ' ')
        return -EINVAL; /* the line must go on with the mount options */
    return 0;
}
