/* stage.c — owns design §4 step 10 (host config staged at /etc/ephemerd/config.toml on
 * the root disk, or a stale copy removed) and the every-boot daemon binary replacement of
 * step 7. All writes go through guest/fsat.c: fd-relative, no symlink followed below the
 * new root, temporary file + rename. */
#include "stage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsat.h"
#include "log.h"
#include "markers.h"
#include "tail.h"

#define CONFIG_NAME "config.toml"
#define BIN_DIR "usr/local/bin"
#define BIN_NAME "ephemerd-linux"

/* Opens the source file (a verified tail file) for reading: regular, not a symlink. */
static int open_src(const char *src, int *fd, struct evm_err *err)
{
    int f = open(src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (f < 0) {
        int e = errno;
        if (e == ELOOP)
            return evm_errf(err, ELOOP, "%s: is a symlink, refusing to follow it", src);
        return evm_errf(err, e, "%s: cannot open: %s", src, strerror(e));
    }
    struct stat st;
    if (fstat(f, &st) < 0) {
        int e = errno;
        close(f);
        return evm_errf(err, e, "%s: stat: %s", src, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(f);
        return evm_errf(err, EINVAL, "%s: not a regular file", src);
    }
    *fd = f;
    return 0;
}

/* Opens <newroot>/<rel> as a directory fd (creating it 0755 when create), no symlinks. */
static int open_dir_under(const char *newroot, const char *rel, bool create, int *dfd, char *where,
                          size_t wcap, struct evm_err *err)
{
    if (fsat_join(where, wcap, newroot, rel) < 0)
        return evm_errf(err, ENAMETOOLONG, "%s/%s: path too long", newroot, rel);
    int rootfd;
    int r = fsat_open_root(newroot, &rootfd, err);
    if (r < 0)
        return r;
    r = fsat_open_dirs(rootfd, newroot, rel, create, 0755, dfd, err);
    close(rootfd);
    return r;
}

static int remove_stale(const char *newroot, struct evm_err *err)
{
    char where[PATH_MAX];
    int dfd;
    int r = open_dir_under(newroot, &GUEST_CONFIG_DIR[1], false, &dfd, where, sizeof(where), err);
    if (r == -ENOENT)
        return 0; /* no etc/ephemerd: nothing stale */
    if (r < 0)
        return evm_err_wrap(err, "removing a stale host config");
    int temps = fsat_remove_temps(dfd, CONFIG_NAME);
    struct stat st;
    if (fstatat(dfd, CONFIG_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        int e = errno;
        if (e == ENOENT && temps > 0 && fsync(dfd) < 0)
            e = errno;
        close(dfd);
        if (e == ENOENT)
            return 0;
        return evm_errf(err, e, "%s/%s: stat: %s", where, CONFIG_NAME, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(dfd);
        return evm_errf(err, EISDIR, "%s/%s: is a directory, refusing to remove it", where,
                        CONFIG_NAME);
    }
    /* unlinkat never follows: a symlink named config.toml is removed as a link. */
    if (unlinkat(dfd, CONFIG_NAME, 0) < 0) {
        int e = errno;
        close(dfd);
        return evm_errf(err, e, "%s/%s: cannot remove the stale copy: %s", where, CONFIG_NAME,
                        strerror(e));
    }
    if (fsync(dfd) < 0) {
        int e = errno;
        close(dfd);
        return evm_errf(err, e, "%s: fsync: %s", where, strerror(e));
    }
    close(dfd);
    log_info("removed a stale %s left by an earlier boot (this boot has no host config)",
             GUEST_CONFIG_PATH);
    return 0;
}

int stage_config(const char *newroot, const char *src, bool *staged, struct evm_err *err)
{
    if (!newroot || !staged)
        return evm_errf(err, EINVAL, "stage_config: invalid arguments");
    *staged = false;
    if (!src)
        return remove_stale(newroot, err);

    int sfd;
    int r = open_src(src, &sfd, err);
    if (r < 0)
        return evm_err_wrap(err, "staging the host config");
    char where[PATH_MAX];
    int dfd;
    r = open_dir_under(newroot, &GUEST_CONFIG_DIR[1], true, &dfd, where, sizeof(where), err);
    if (r < 0) {
        close(sfd);
        return evm_err_wrap(err, "staging the host config");
    }
    fsat_remove_temps(dfd, CONFIG_NAME);
    if (fsat_same_file(dfd, CONFIG_NAME, NULL, 0, sfd, TAIL_CONFIG_MODE))
        log_debug("%s: already the tail's bytes: kept", GUEST_CONFIG_PATH);
    else
        r = fsat_replace_nosync(dfd, where, CONFIG_NAME, NULL, 0, sfd, TAIL_CONFIG_MODE, err);
    close(sfd);
    close(dfd);
    if (r < 0)
        return evm_err_wrap(err, "staging the host config");
    *staged = true;
    log_info("%s", INIT_LOG_CONFIG_STAGED);
    return 0;
}

int install_daemon(const char *newroot, const char *src, struct evm_err *err)
{
    if (!newroot || !src)
        return evm_errf(err, EINVAL, "install_daemon: invalid arguments");
    int sfd;
    int r = open_src(src, &sfd, err);
    if (r < 0)
        return evm_err_wrap(err, "installing the daemon binary");
    char where[PATH_MAX];
    int dfd;
    r = open_dir_under(newroot, BIN_DIR, true, &dfd, where, sizeof(where), err);
    if (r < 0) {
        close(sfd);
        return evm_err_wrap(err, "installing the daemon binary");
    }
    fsat_remove_temps(dfd, BIN_NAME);
    if (fsat_same_file(dfd, BIN_NAME, NULL, 0, sfd, TAIL_BINARY_MODE)) {
        close(sfd);
        close(dfd);
        log_info("%s is already the tail's (same bytes, 0755, root): kept", GUEST_DAEMON_PATH);
        return 0;
    }
    r = fsat_replace_nosync(dfd, where, BIN_NAME, NULL, 0, sfd, TAIL_BINARY_MODE, err);
    close(sfd);
    close(dfd);
    if (r < 0)
        return evm_err_wrap(err, "installing the daemon binary");
    log_info("installed %s from %s", GUEST_DAEMON_PATH, src);
    return 0;
}
