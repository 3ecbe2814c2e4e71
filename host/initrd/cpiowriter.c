/* cpiowriter.c — the libarchive newc cpio member writer shared by the boot initrd and the
 * base initrd builders: deterministic headers, compression settings, bounded streaming. */
#include "initrd/cpiowriter.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileutil.h"

#define ZSTD_LEVEL 1
#define GZIP_LEVEL 6
#define IO_CHUNK (256u * 1024u)

int cpio_check_mtime(uint64_t mtime, struct evm_err *err)
{
    if (mtime > CPIO_MTIME_MAX)
        return evm_errf(err, EINVAL, "mtime %llu does not fit the cpio header",
                        (unsigned long long)mtime);
    return 0;
}

static la_ssize_t sink_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
    struct cpio_sink *s = ctx;
    int r = s->fn ? s->fn(s->ctx, buf, len, &s->err) : 0;
    for (size_t i = 0; r == 0 && !s->fn && i < s->nfiles; i++)
        r = atomicfile_write(s->files[i], buf, len, &s->err);
    if (r < 0) {
        s->failed = 1;
        archive_set_error(a, s->err.code, "%s", s->err.msg);
        return -1;
    }
    s->bytes += len;
    return (la_ssize_t)len;
}

static int member_fail(struct cpio_member *m, struct evm_err *err, const char *what)
{
    if (m->sink.failed)
        return evm_errf(err, m->sink.err.code, "%s: %s", what, m->sink.err.msg);
    int code = archive_errno(m->a);
    const char *msg = archive_error_string(m->a);
    return evm_errf(err, code > 0 ? code : EIO, "%s: %s", what, msg ? msg : "libarchive error");
}

int cpio_member_open(struct cpio_member *m, enum compress c, uint64_t mtime, struct evm_err *err)
{
    memset(m, 0, sizeof(*m));
    m->mtime = mtime;
    m->a = archive_write_new();
    m->e = archive_entry_new();
    if (!m->a || !m->e)
        return evm_errf(err, ENOMEM, "out of memory");
    int r = archive_write_set_format_cpio_newc(m->a);
    char level[16];
    if (r == ARCHIVE_OK && c == COMPRESS_ZSTD) {
        snprintf(level, sizeof(level), "%d", ZSTD_LEVEL);
        r = archive_write_add_filter_zstd(m->a);
        if (r == ARCHIVE_OK)
            r = archive_write_set_filter_option(m->a, "zstd", "compression-level", level);
    } else if (r == ARCHIVE_OK && c == COMPRESS_GZIP) {
        snprintf(level, sizeof(level), "%d", GZIP_LEVEL);
        r = archive_write_add_filter_gzip(m->a);
        if (r == ARCHIVE_OK)
            r = archive_write_set_filter_option(m->a, "gzip", "compression-level", level);
        /* A NULL value turns the option off: no timestamp in the gzip header. */
        if (r == ARCHIVE_OK)
            r = archive_write_set_filter_option(m->a, "gzip", "timestamp", NULL);
    }
    /* 64 KiB blocks, but the last block is written short: no padding beyond the trailer. */
    if (r == ARCHIVE_OK)
        r = archive_write_set_bytes_per_block(m->a, 64 * 1024);
    if (r == ARCHIVE_OK)
        r = archive_write_set_bytes_in_last_block(m->a, 1);
    if (r == ARCHIVE_OK)
        r = archive_write_open2(m->a, &m->sink, NULL, sink_write, NULL, NULL);
    if (r != ARCHIVE_OK)
        return member_fail(m, err, "starting cpio member");
    return 0;
}

static void entry_common(struct cpio_member *m, const char *name, unsigned type, unsigned perm,
                         int64_t ino)
{
    archive_entry_clear(m->e);
    archive_entry_set_pathname(m->e, name);
    archive_entry_set_filetype(m->e, type);
    archive_entry_set_perm(m->e, (mode_t)perm);
    archive_entry_set_uid(m->e, 0);
    archive_entry_set_gid(m->e, 0);
    archive_entry_set_nlink(m->e, 1);
    archive_entry_set_ino64(m->e, ino);
    archive_entry_set_mtime(m->e, (time_t)m->mtime, 0);
}

int cpio_member_header(struct cpio_member *m, const char *name, unsigned type, unsigned perm,
                       int64_t ino, uint64_t size, struct evm_err *err)
{
    entry_common(m, name, type, perm, ino);
    archive_entry_set_size(m->e, (la_int64_t)size);
    if (archive_write_header(m->a, m->e) != ARCHIVE_OK)
        return member_fail(m, err, name);
    return 0;
}

int cpio_member_symlink(struct cpio_member *m, const char *name, const char *target, int64_t ino,
                        struct evm_err *err)
{
    entry_common(m, name, AE_IFLNK, 0777, ino);
    archive_entry_set_symlink(m->e, target);
    /* The newc writer stores the target as the entry's data. */
    archive_entry_set_size(m->e, 0);
    if (archive_write_header(m->a, m->e) != ARCHIVE_OK)
        return member_fail(m, err, name);
    return 0;
}

int cpio_member_data(struct cpio_member *m, const char *name, const void *buf, size_t len,
                     struct evm_err *err)
{
    const char *p = buf;
    while (len > 0) {
        la_ssize_t w = archive_write_data(m->a, p, len);
        if (w <= 0)
            return member_fail(m, err, name);
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int cpio_member_file_mem(struct cpio_member *m, const char *name, unsigned perm, int64_t ino,
                         const void *buf, size_t len, struct evm_err *err)
{
    int r = cpio_member_header(m, name, AE_IFREG, perm, ino, len, err);
    return r < 0 ? r : cpio_member_data(m, name, buf, len, err);
}

int cpio_member_file_fd(struct cpio_member *m, const char *name, unsigned perm, int64_t ino, int fd,
                        uint64_t size, struct evm_err *err)
{
    int r = cpio_member_header(m, name, AE_IFREG, perm, ino, size, err);
    if (r < 0)
        return r;
    unsigned char *buf = malloc(IO_CHUNK);
    if (!buf)
        return evm_errf(err, ENOMEM, "out of memory");
    uint64_t left = size;
    while (r == 0 && left > 0) {
        size_t want = left < IO_CHUNK ? (size_t)left : IO_CHUNK, got;
        r = read_full(fd, buf, want, &got, err, name);
        if (r == 0 && got != want)
            r = evm_errf(err, ENODATA, "%s: the source shrank while it was being read", name);
        if (r == 0) {
            r = cpio_member_data(m, name, buf, got, err);
            left -= got;
        }
    }
    if (r == 0) {
        size_t extra = 0;
        r = read_full(fd, buf, 1, &extra, err, name);
        if (r == 0 && extra != 0)
            r = evm_errf(err, EAGAIN, "%s: the source grew while it was being read", name);
    }
    free(buf);
    return r;
}

int cpio_member_close(struct cpio_member *m, struct evm_err *err)
{
    int r = 0;
    if (m->a && archive_write_close(m->a) != ARCHIVE_OK)
        r = member_fail(m, err, "finishing cpio member");
    if (m->a)
        archive_write_free(m->a);
    if (m->e)
        archive_entry_free(m->e);
    m->a = NULL;
    m->e = NULL;
    return r;
}
