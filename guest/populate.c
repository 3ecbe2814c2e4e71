/* populate.c — design §4 step 7, first populate: the rootfs tarball extracted into the root
 * disk with libarchive's disk writer, relative to root (the cwd is moved there for the
 * duration), with libarchive's secure-extraction flags and our own checks of every entry's
 * path and hard-link target on top. */
#include "populate.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define POPULATE_MAX_WARNINGS 20
#define POPULATE_FLAGS                                                                             \
    (ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |                    \
     ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER |              \
     ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR)

struct populate {
    const char *tarball;
    const char *root;
    int rootfd;
    struct archive *in;
    struct archive *out;
    unsigned warnings;
    struct evm_err *err;
};

/* NULL when rel is a relative path without ".." components; else why it is not. */
static const char *populate_bad_path(const char *rel)
{
    if (rel[0] == '/')
        return "absolute path";
    const char *p = rel;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return "path has a \"..\" component";
        if (!end)
            break;
        p = end + 1;
    }
    return NULL;
}

/* NULL when no directory on the way to rel (below rootfd) is a symlink. The last component
 * may be one: link(2) links the symlink itself. */
static const char *populate_symlink_on_path(int rootfd, const char *rel)
{
    char buf[4096];
    size_t len = strlen(rel);
    if (len >= sizeof(buf))
        return "path too long";
    memcpy(buf, rel, len + 1);
    for (char *slash = strchr(buf, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        struct stat st;
        bool is_link =
            buf[0] && fstatat(rootfd, buf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
        *slash = '/';
        if (is_link)
            return "hard link target passes through a symlink";
    }
    return NULL;
}

static void populate_warn(struct populate *p, const char *entry, const char *what)
{
    p->warnings++;
    if (p->warnings <= POPULATE_MAX_WARNINGS)
        log_warn("populate: %s: %s", entry, what);
    else if (p->warnings == POPULATE_MAX_WARNINGS + 1)
        log_warn("populate: further warnings not shown");
}

static int populate_archive_errno(struct archive *a, int fallback)
{
    int e = archive_errno(a);
    return e > 0 ? e : fallback;
}

static int populate_entry(struct populate *p, struct archive_entry *entry)
{
    const char *path = archive_entry_pathname(entry);
    if (!path || !*path)
        return evm_errf(p->err, EPERM,
                        "populate: refusing an archive entry without a usable name in %s",
                        p->tarball);
    const char *why = populate_bad_path(path);
    if (why)
        return evm_errf(p->err, EPERM, "populate: refusing archive entry \"%s\": %s", path, why);
    const char *hard = archive_entry_hardlink(entry);
    if (hard) {
        why = populate_bad_path(hard);
        if (!why)
            why = populate_symlink_on_path(p->rootfd, hard);
        if (why)
            return evm_errf(p->err, EPERM,
                            "populate: refusing archive entry \"%s\" (hard link to \"%s\"): %s",
                            path, hard, why);
    }

    int r = archive_write_header(p->out, entry);
    if (r == ARCHIVE_WARN)
        populate_warn(p, path, archive_error_string(p->out));
    else if (r != ARCHIVE_OK)
        return evm_errf(p->err, populate_archive_errno(p->out, EPERM),
                        "populate: refusing archive entry \"%s\": %s", path,
                        archive_error_string(p->out));

    if (archive_entry_size(entry) > 0 && r >= ARCHIVE_WARN) {
        for (;;) {
            const void *buf;
            size_t size;
            la_int64_t offset;
            r = archive_read_data_block(p->in, &buf, &size, &offset);
            if (r == ARCHIVE_EOF)
                break;
            if (r < ARCHIVE_WARN)
                return evm_errf(p->err, populate_archive_errno(p->in, EIO),
                                "populate: reading \"%s\" from %s: %s", path, p->tarball,
                                archive_error_string(p->in));
            la_ssize_t w = archive_write_data_block(p->out, buf, size, offset);
            if (w < ARCHIVE_WARN)
                return evm_errf(p->err, populate_archive_errno(p->out, EIO),
                                "populate: writing \"%s\": %s", path, archive_error_string(p->out));
        }
    }
    r = archive_write_finish_entry(p->out);
    if (r == ARCHIVE_WARN)
        populate_warn(p, path, archive_error_string(p->out));
    else if (r != ARCHIVE_OK)
        return evm_errf(p->err, populate_archive_errno(p->out, EIO),
                        "populate: finishing \"%s\": %s", path, archive_error_string(p->out));
    return 0;
}

/* The extraction proper; the cwd is root while this runs. */
static int populate_run(struct populate *p, unsigned long *count)
{
    for (;;) {
        struct archive_entry *entry;
        int r = archive_read_next_header(p->in, &entry);
        if (r == ARCHIVE_EOF)
            break;
        if (r == ARCHIVE_WARN) {
            populate_warn(p, p->tarball, archive_error_string(p->in));
        } else if (r != ARCHIVE_OK) {
            return evm_errf(p->err, populate_archive_errno(p->in, EIO),
                            "populate: reading %s after %lu entries: %s", p->tarball, *count,
                            archive_error_string(p->in));
        }
        int rc = populate_entry(p, entry);
        if (rc < 0)
            return rc;
        (*count)++;
    }
    /* Closing applies the deferred directory modes and times (relative to the cwd). */
    if (archive_write_close(p->out) != ARCHIVE_OK)
        return evm_errf(p->err, populate_archive_errno(p->out, EIO),
                        "populate: finishing directories under %s: %s", p->root,
                        archive_error_string(p->out));
    return 0;
}

/* The tarball's reader (gzip'd tar) and the disk writer with the secure flags. */
static int populate_open_archives(struct populate *p, int tfd)
{
    p->in = archive_read_new();
    p->out = archive_write_disk_new();
    if (!p->in || !p->out)
        return evm_errf(p->err, ENOMEM, "populate: out of memory");
    if (archive_read_support_filter_gzip(p->in) != ARCHIVE_OK ||
        archive_read_support_format_tar(p->in) != ARCHIVE_OK ||
        archive_write_disk_set_options(p->out, POPULATE_FLAGS) != ARCHIVE_OK)
        return evm_errf(p->err, EIO, "populate: setting up libarchive: %s",
                        archive_error_string(p->in) ? archive_error_string(p->in)
                                                    : archive_error_string(p->out));
    /* No archive_write_disk_set_standard_lookup: owners stay the archive's numeric ids. */
    if (archive_read_open_fd(p->in, tfd, 64 * 1024) != ARCHIVE_OK)
        return evm_errf(p->err, populate_archive_errno(p->in, EIO), "populate: opening %s: %s",
                        p->tarball, archive_error_string(p->in));
    return 0;
}

/* populate_run with root as the cwd and a UTF-8 LC_CTYPE for this thread, both restored
 * after. */
static int populate_in_root(struct populate *p, int oldcwd, unsigned long *count)
{
    if (fchdir(p->rootfd) < 0) {
        int e = errno;
        return evm_errf(p->err, e, "populate: cannot enter %s: %s", p->root, strerror(e));
    }
    log_info("populate: extracting %s into %s", p->tarball, p->root);
    /* Names in pax headers are UTF-8: under a UTF-8 LC_CTYPE (this thread only, so nothing
     * global changes) libarchive takes them as they are instead of warning per entry. */
    locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    locale_t prev = utf8 ? uselocale(utf8) : (locale_t)0;
    int rc = populate_run(p, count);
    /* Freeing the writer runs its pending fixups, which are relative to the cwd. */
    archive_write_free(p->out);
    p->out = NULL;
    if (utf8) {
        uselocale(prev);
        freelocale(utf8);
    }
    if (fchdir(oldcwd) < 0) {
        int e = errno;
        log_error("populate: cannot return to the previous working directory: %s", strerror(e));
        if (rc == 0)
            rc = evm_errf(p->err, e, "populate: cannot return to the previous directory: %s",
                          strerror(e));
    }
    return rc;
}

int populate_rootfs(const char *tarball, const char *root, struct evm_err *err)
{
    struct populate p = {.tarball = tarball, .root = root, .rootfd = -1, .err = err};
    int oldcwd = -1, rc;
    int tfd = open(tarball, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (tfd < 0) {
        int e = errno;
        return evm_errf(err, e, "populate: cannot open %s: %s", tarball, strerror(e));
    }
    p.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (p.rootfd < 0) {
        int e = errno;
        rc = evm_errf(err, e, "populate: cannot open the root %s: %s", root,
                      e == ELOOP ? "it is a symlink" : strerror(e));
        goto out;
    }
    oldcwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (oldcwd < 0) {
        int e = errno;
        rc = evm_errf(err, e, "populate: cannot open the current directory: %s", strerror(e));
        goto out;
    }
    rc = populate_open_archives(&p, tfd);
    if (rc < 0)
        goto out;
    unsigned long count = 0;
    rc = populate_in_root(&p, oldcwd, &count);
    if (rc == 0 && syncfs(p.rootfd) < 0) {
        int e = errno;
        rc = evm_errf(err, e, "populate: syncing %s: %s", root, strerror(e));
    }
    if (rc == 0)
        log_info("populate: %lu entries extracted into %s%s", count, root,
                 p.warnings ? " (with warnings)" : "");

out:
    if (p.out)
        archive_write_free(p.out);
    if (p.in)
        archive_read_free(p.in);
    if (oldcwd >= 0)
        close(oldcwd);
    if (p.rootfd >= 0)
        close(p.rootfd);
    close(tfd);
    return rc;
}
