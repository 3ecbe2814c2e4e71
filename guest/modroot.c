/* modroot.c — the module tree in the new root and the modprobe the kernel runs (see
 * modroot.h): resolving a path inside the new root with openat2(RESOLVE_IN_ROOT), making its
 * missing directories, the read-only bind mount through /proc/self/fd, and kernel.modprobe. */
#include "modroot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fileutil.h"
#include "fsat.h"
#include "log.h"
#include "strutil.h"
#include "sysctl.h"

/* openat2(2), which musl's headers do not have yet (linux/openat2.h). */
#define EVM_SYS_OPENAT2 437
#define EVM_RESOLVE_NO_MAGICLINKS 0x02ULL
#define EVM_RESOLVE_IN_ROOT 0x10ULL

struct evm_open_how {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};

const char *const modroot_modprobe_paths[] = {
    "/sbin/modprobe", "/usr/sbin/modprobe", "/bin/modprobe", "/usr/bin/modprobe", NULL,
};

/* rel (no leading '/') as a directory inside rootfd, symlinks resolved as if rootfd were
 * "/". */
static int open_in_root(int rootfd, const char *rel)
{
    struct evm_open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                               .resolve = EVM_RESOLVE_IN_ROOT | EVM_RESOLVE_NO_MAGICLINKS};
    long fd = syscall(EVM_SYS_OPENAT2, rootfd, rel, &how, sizeof(how));
    return fd < 0 ? -errno : (int)fd;
}

/* Makes the last component of prefix (a path inside rootfd whose parent exists). */
static int make_last(int rootfd, const char *root, char *prefix, struct evm_err *err)
{
    char *slash = strrchr(prefix, '/');
    int pfd;
    if (slash) {
        *slash = '\0';
        pfd = open_in_root(rootfd, prefix);
        *slash = '/';
    } else {
        pfd = open_in_root(rootfd, ".");
    }
    if (pfd < 0)
        return evm_errf(err, -pfd, "opening the parent of %s/%s: %s", root, prefix, strerror(-pfd));
    int r = 0;
    if (mkdirat(pfd, slash ? slash + 1 : prefix, 0755) != 0 && errno != EEXIST)
        r = evm_errf(err, errno, "creating %s/%s: %s", root, prefix, strerror(errno));
    close(pfd);
    return r;
}

/* Opens rel inside rootfd, making each missing component (0755) as it goes. */
static int open_dirs_in_root(int rootfd, const char *root, const char *rel, int *out,
                             struct evm_err *err)
{
    char prefix[4096];
    size_t len = strlen(rel);
    if (len == 0 || len >= sizeof(prefix))
        return evm_errf(err, ENAMETOOLONG, "%s/%s: bad path", root, rel);
    for (size_t end = 0;; end++) {
        end += strcspn(rel + end, "/");
        memcpy(prefix, rel, end);
        prefix[end] = '\0';
        int fd = open_in_root(rootfd, prefix);
        if (fd == -ENOENT) {
            int r = make_last(rootfd, root, prefix, err);
            if (r < 0)
                return r;
            fd = open_in_root(rootfd, prefix);
        }
        if (fd < 0)
            return evm_errf(err, -fd, "opening %s/%s: %s", root, prefix, strerror(-fd));
        if (end == len) {
            *out = fd;
            return 0;
        }
        close(fd);
    }
}

/* The trees the initrd has, for the message when this kernel's is missing. */
static void list_trees(const char *modules, char *out, size_t cap)
{
    out[0] = '\0';
    DIR *d = opendir(modules);
    if (!d)
        return;
    size_t n = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (de->d_name[0] == '.' || de->d_type != DT_DIR)
            continue;
        int w = snprintf(out + n, cap - n, "%s%s", n ? ", " : "", de->d_name);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
    closedir(d);
}

static int check_tree(const char *src, const char *modules, const char *release,
                      struct evm_err *err)
{
    struct stat st;
    if (stat(src, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    char trees[256];
    list_trees(modules, trees, sizeof(trees));
    return evm_errf(err, ENOENT,
                    "the initrd has no module tree for this kernel (%s): %s holds %s; build the "
                    "base initrd with this kernel's modules",
                    release, modules, trees[0] ? trees : "none");
}

int modroot_bind(const char *modules, const char *newroot, const char *release, struct evm_err *err)
{
    char src[4096], rel[4200], fdpath[64];
    if (fsat_join(src, sizeof(src), modules, release) < 0 ||
        snprintf(rel, sizeof(rel), "lib/modules/%s", release) >= (int)sizeof(rel))
        return evm_errf(err, ENAMETOOLONG, "module tree path too long");
    if (!release[0] || strchr(release, '/') || strcmp(release, "..") == 0 ||
        strcmp(release, ".") == 0)
        return evm_errf(err, EINVAL, "kernel release '%s': not a directory name", release);
    int r = check_tree(src, modules, release, err);
    if (r < 0)
        return r;
    int rootfd, fd = -1;
    if ((r = fsat_open_root(newroot, &rootfd, err)) < 0)
        return r;
    r = open_dirs_in_root(rootfd, newroot, rel, &fd, err);
    if (r < 0) {
        close(rootfd);
        return r;
    }
    snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
    if (mount(src, fdpath, NULL, MS_BIND, NULL) != 0)
        r = evm_errf(err, errno, "bind-mounting %s at %s/%s: %s", src, newroot, rel,
                     strerror(errno));
    close(fd);
    /* The fd named the directory under the mount: open it again to reach the bind. */
    if (r == 0 && (fd = open_in_root(rootfd, rel)) < 0)
        r = evm_errf(err, -fd, "opening %s/%s: %s", newroot, rel, strerror(-fd));
    if (r == 0) {
        snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
        if (mount(NULL, fdpath, NULL,
                  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
            r = evm_errf(err, errno, "remounting %s/%s read-only: %s", newroot, rel,
                         strerror(errno));
        close(fd);
    }
    close(rootfd);
    return r;
}

/* ---- kernel.modprobe ---------------------------------------------------------------------- */

static bool executable_in(const char *root, const char *path)
{
    char p[4096];
    struct stat st;
    return fsat_join(p, sizeof(p), root, path[0] == '/' ? path + 1 : path) == 0 &&
           stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* The modprobe the kernel will run: kernel.modprobe's when it exists, else the first
 * candidate that does (written to kernel.modprobe). "" when there is none. */
static int pick_modprobe(const char *root, const char *procsys, char *out, size_t cap,
                         struct evm_err *err)
{
    char path[4096], *cur = NULL;
    size_t len;
    struct evm_err rerr = {0};
    if (fsat_join(path, sizeof(path), procsys, "kernel/modprobe") < 0)
        return evm_errf(err, ENAMETOOLONG, "%s/kernel/modprobe: path too long", procsys);
    if (read_regular_file(path, 4096, &cur, &len, &rerr) < 0)
        log_warn("kernel.modprobe: %s", rerr.msg);
    if (cur)
        cur[strcspn(cur, "\n")] = '\0';
    char *now = cur ? str_trim(cur) : (char *)"";
    if (now[0] == '/' && executable_in(root, now)) {
        snprintf(out, cap, "%s", now);
        free(cur);
        return 0;
    }
    out[0] = '\0';
    for (size_t i = 0; modroot_modprobe_paths[i]; i++) {
        if (!executable_in(root, modroot_modprobe_paths[i]))
            continue;
        int r = sysctl_set(procsys, "kernel.modprobe", modroot_modprobe_paths[i], err);
        if (r == 0) {
            log_info("kernel.modprobe: %s is not in the new root; set to %s",
                     now[0] ? now : "(empty)", modroot_modprobe_paths[i]);
            snprintf(out, cap, "%s", modroot_modprobe_paths[i]);
        }
        free(cur);
        return r;
    }
    log_warn("no modprobe in the new root (kernel.modprobe %s; none in /sbin, /usr/sbin, /bin, "
             "/usr/bin): no modules on demand; the rootfs should ship kmod",
             now[0] ? now : "empty");
    free(cur);
    return 0;
}

int modroot_modprobe(const char *root, const char *procsys, const char *release, bool *on_demand,
                     struct evm_err *err)
{
    *on_demand = false;
    char modprobe[4096];
    int r = pick_modprobe(root, procsys, modprobe, sizeof(modprobe), err);
    if (r < 0 || !modprobe[0])
        return r;
    char idx[4200];
    snprintf(idx, sizeof(idx), "lib/modules/%s/modules.dep.bin", release);
    char p[4400];
    struct stat st;
    if (fsat_join(p, sizeof(p), root, idx) < 0 || stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
        log_warn("no /%s: the base initrd has no module index for this kernel; modules load "
                 "only from the init's lists",
                 idx);
        return 0;
    }
    *on_demand = true;
    log_info("modules on demand: %s with /lib/modules/%s", modprobe, release);
    return 0;
}
