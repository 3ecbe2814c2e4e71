/* verify.c — owns design §4 step 5, tail verification: the manifest is read and parsed
 * with common/manifest.c, tied to this boot by the boot id, and every listed file is
 * checked (type without following symlinks, size, permission bits, streamed SHA-256).
 * Error codes: -EBADMSG when the tail and the manifest (or the command line) disagree,
 * -ENOENT for a listed file that is missing, -ELOOP for a symlink, -EINVAL for a file that
 * is not regular or a manifest that does not parse. */
#include "verify.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "fsat.h"
#include "log.h"
#include "fileutil.h"
#include "tail.h"

static const char *type_name(mode_t mode)
{
    return S_ISDIR(mode)    ? "a directory"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISSOCK(mode) ? "a socket"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISLNK(mode)  ? "a symlink"
                            : "not a file";
}

/* Opens the directory holding path (relative to rootfd) without following symlinks;
 * *base receives the last component. */
static int open_parent(int rootfd, const char *root, const char *path, int *dfd, const char **base,
                       struct evm_err *err)
{
    char dir[MANIFEST_PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) : 0;
    if (dlen >= sizeof(dir))
        return evm_errf(err, ENAMETOOLONG, "%s: path too long", path);
    memcpy(dir, path, dlen);
    dir[dlen] = '\0';
    *base = slash ? slash + 1 : path;
    int r = fsat_open_dirs(rootfd, root, dir, false, 0, dfd, err);
    if (r == -ENOENT || r == -ENOTDIR)
        return evm_errf(err, ENOENT, "%s: listed in the manifest but missing from the tail", path);
    if (r < 0)
        return evm_err_wrap(err, "%s", path);
    return 0;
}

static int check_file(int rootfd, const char *root, const struct manifest_file *f,
                      struct evm_err *err)
{
    int dfd = -1;
    const char *base = NULL;
    int r = open_parent(rootfd, root, f->path, &dfd, &base, err);
    if (r < 0)
        return r;

    struct stat st;
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        int e = errno;
        close(dfd);
        if (e == ENOENT)
            return evm_errf(err, ENOENT, "%s: listed in the manifest but missing from the tail",
                            f->path);
        return evm_errf(err, e, "%s: stat: %s", f->path, strerror(e));
    }
    if (S_ISLNK(st.st_mode)) {
        close(dfd);
        return evm_errf(err, ELOOP, "%s: is a symlink, not a regular file (refusing to follow it)",
                        f->path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(dfd);
        return evm_errf(err, EINVAL, "%s: not a regular file (%s)", f->path, type_name(st.st_mode));
    }
    if ((uint64_t)st.st_size != f->size) {
        close(dfd);
        return evm_errf(err, EBADMSG, "%s: size %llu, manifest says %llu", f->path,
                        (unsigned long long)st.st_size, (unsigned long long)f->size);
    }
    if ((st.st_mode & 07777) != f->mode) {
        close(dfd);
        return evm_errf(err, EBADMSG, "%s: mode %04o, manifest says %04o", f->path,
                        (unsigned)(st.st_mode & 07777), f->mode);
    }

    /* O_NONBLOCK and O_NOFOLLOW: whatever replaced the file since the fstatat can neither
     * block the open nor redirect it; the fstat below must show the same inode. */
    int fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    int e = errno;
    close(dfd);
    if (fd < 0)
        return evm_errf(err, e, "%s: cannot open: %s", f->path, strerror(e));
    struct stat st2;
    if (fstat(fd, &st2) < 0 || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev ||
        !S_ISREG(st2.st_mode)) {
        close(fd);
        return evm_errf(err, EBADMSG, "%s: changed while being verified", f->path);
    }
    uint8_t sum[DIGEST_LEN];
    uint64_t got = 0;
    r = digest_fd(fd, sum, &got, err);
    close(fd);
    if (r < 0)
        return evm_err_wrap(err, "%s", f->path);
    if (got != f->size)
        return evm_errf(err, EBADMSG, "%s: read %llu bytes, manifest says %llu", f->path,
                        (unsigned long long)got, (unsigned long long)f->size);
    if (memcmp(sum, f->sha256, DIGEST_LEN) != 0) {
        char want[DIGEST_HEX_LEN + 1], have[DIGEST_HEX_LEN + 1];
        hex_encode(f->sha256, DIGEST_LEN, want);
        hex_encode(sum, DIGEST_LEN, have);
        return evm_errf(err, EBADMSG, "%s: sha256 mismatch (manifest %s, file %s)", f->path, want,
                        have);
    }
    log_debug("tail: %s verified (%04o, %llu bytes)", f->path, f->mode,
              (unsigned long long)f->size);
    return 0;
}

/* A tail config the host did not list must never be used: its presence is an error. */
static int check_unlisted_config(int rootfd, const char *root, const struct manifest *m,
                                 struct evm_err *err)
{
    if (manifest_find(m, TAIL_CONFIG))
        return 0;
    int dfd;
    int r = fsat_open_dirs(rootfd, root, TAIL_DIR, false, 0, &dfd, err);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return evm_err_wrap(err, "checking for an unlisted %s", TAIL_CONFIG);
    struct stat st;
    const char *base = &TAIL_CONFIG[sizeof(TAIL_DIR)];
    int sr = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW);
    int e = errno;
    close(dfd);
    if (sr == 0)
        return evm_errf(err, EBADMSG,
                        "%s: present in the tail but not listed in the manifest (refusing to "
                        "use an unverified config)",
                        TAIL_CONFIG);
    if (e != ENOENT)
        return evm_errf(err, e, "%s: stat: %s", TAIL_CONFIG, strerror(e));
    return 0;
}

int verify_tail_text(const char *root, const char *boot_id, const char *text, size_t len,
                     struct manifest *m, struct evm_err *err)
{
    if (!root || !m || (!text && len > 0))
        return evm_errf(err, EINVAL, "verify_tail_text: invalid arguments");
    struct manifest man;
    int r = manifest_parse(text, len, &man, err);
    if (r < 0)
        return evm_err_wrap(err, "%s", TAIL_MANIFEST);
    if (!boot_id || !boot_id[0])
        return evm_errf(err, EBADMSG,
                        "boot-id mismatch: manifest %s, kernel command line has no "
                        "ephemerd.boot_id",
                        man.boot_id);
    if (strcmp(boot_id, man.boot_id) != 0)
        return evm_errf(err, EBADMSG, "boot-id mismatch: manifest %s, kernel command line %.64s",
                        man.boot_id, boot_id);
    if (!manifest_find(&man, TAIL_BINARY))
        return evm_errf(err, EBADMSG,
                        "%s: not listed in the manifest (the daemon binary must be verified)",
                        TAIL_BINARY);

    int rootfd;
    r = fsat_open_root(root, &rootfd, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < man.nfiles && r == 0; i++)
        r = check_file(rootfd, root, &man.files[i], err);
    if (r == 0)
        r = check_unlisted_config(rootfd, root, &man, err);
    close(rootfd);
    if (r < 0)
        return r;
    *m = man;
    return 0;
}

int verify_tail(const char *root, const char *boot_id, struct manifest *m, struct evm_err *err)
{
    if (!root || !m)
        return evm_errf(err, EINVAL, "verify_tail: invalid arguments");
    char path[PATH_MAX];
    if (fsat_join(path, sizeof(path), root, TAIL_MANIFEST) < 0)
        return evm_errf(err, ENAMETOOLONG, "%s: root path too long", TAIL_MANIFEST);
    struct stat st;
    if (lstat(path, &st) < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return evm_errf(err, ENOENT,
                            "%s: missing (%s): the boot initrd carries no verifiable tail",
                            TAIL_MANIFEST, path);
        return evm_errf(err, e, "%s: stat %s: %s", TAIL_MANIFEST, path, strerror(e));
    }
    if (S_ISLNK(st.st_mode))
        return evm_errf(err, ELOOP, "%s: is a symlink, not a regular file (refusing to follow it)",
                        TAIL_MANIFEST);
    char *text = NULL;
    size_t len = 0;
    int r = read_regular_file(path, MANIFEST_MAX_BYTES, &text, &len, err);
    if (r < 0)
        return evm_err_wrap(err, "%s", TAIL_MANIFEST);
    r = verify_tail_text(root, boot_id, text, len, m, err);
    free(text);
    if (r == 0)
        log_info("tail verified: boot-id %s, %zu file%s", m->boot_id, m->nfiles,
                 m->nfiles == 1 ? "" : "s");
    return r;
}
