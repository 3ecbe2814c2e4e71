/* bootinitrd.c — builds the boot initrd of design §2:
 *
 *   base ‖ zeros to 4 ‖ binary member ‖ zeros to 4 ‖ boot member
 *
 * The binary member (assets/, assets/ephemerd-linux) depends only on the daemon binary,
 * so it is cached under the SHA-256 of the binary's bytes and copied (kernel copy) on
 * later boots. The boot member (assets/config.toml when usable, assets/manifest) is
 * written every boot. Everything streams in bounded memory; entries are deterministic
 * (uid/gid 0, nlink 1, fixed small inode numbers, fixed mtime, no gzip timestamp), and the
 * output replaces the previous file atomically. When the previous output was built from the
 * same inputs, only its boot member is rewritten, in place (bootwarm.c). */
#include "initrd/bootinitrd.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "bootid.h"
#include "initrd/bootmember.h"
#include "initrd/bootrecord.h"
#include "initrd/bootwarm.h"
#include "initrd/cachedir.h"
#include "initrd/cpiowriter.h"
#include "initrd/initrdmagic.h"
#include "digest.h"
#include "config/hostcfg.h"
#include "log.h"
#include "manifest.h"
#include "fileutil.h"

/* Bumped whenever the binary member's bytes would change for the same inputs. */
#define MEMBER_FORMAT_VERSION 1
#define IO_CHUNK (256u * 1024u)

const char *compress_name(enum compress c)
{
    switch (c) {
    case COMPRESS_ZSTD:
        return "zstd";
    case COMPRESS_GZIP:
        return "gzip";
    case COMPRESS_NONE:
        return "none";
    }
    return "?";
}

int compress_parse(const char *s, enum compress *out)
{
    for (int c = COMPRESS_ZSTD; c <= COMPRESS_NONE; c++) {
        if (strcmp(s, compress_name((enum compress)c)) == 0) {
            *out = (enum compress)c;
            return 0;
        }
    }
    return -EINVAL;
}

int bootinitrd_mtime_from_env(uint64_t *mtime, struct evm_err *err)
{
    const char *s = getenv("SOURCE_DATE_EPOCH");
    *mtime = 0;
    if (!s || !*s)
        return 0;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > CPIO_MTIME_MAX)
            return evm_errf(err, EINVAL,
                            "SOURCE_DATE_EPOCH=%s: not a Unix time (decimal, fits "
                            "32 bits)",
                            s);
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > CPIO_MTIME_MAX)
        return evm_errf(err, EINVAL, "SOURCE_DATE_EPOCH=%s: does not fit the cpio mtime field", s);
    *mtime = v;
    return 0;
}

/* Writes the binary member for `bin_fd` (positioned at 0, `size` bytes) into the sink's
 * files, hashing the bytes as they go; *digest receives what was really written. */
static int write_binary_member(struct cpio_member *m, int bin_fd, uint64_t size,
                               uint8_t digest[DIGEST_LEN], struct evm_err *err)
{
    int r = cpio_member_header(m, TAIL_DIR, AE_IFDIR, TAIL_DIR_MODE, INO_ASSETS, 0, err);
    if (r == 0)
        r = cpio_member_header(m, TAIL_BINARY, AE_IFREG, TAIL_BINARY_MODE, INO_BINARY, size, err);
    if (r < 0)
        return r;
    unsigned char *buf = malloc(IO_CHUNK);
    if (!buf)
        return evm_errf(err, ENOMEM, "out of memory");
    struct digest d;
    digest_init(&d);
    uint64_t left = size;
    while (r == 0 && left > 0) {
        size_t want = left < IO_CHUNK ? (size_t)left : IO_CHUNK, got;
        r = read_full(bin_fd, buf, want, &got, err, TAIL_BINARY);
        if (r == 0 && got != want)
            r = evm_errf(err, ENODATA, "daemon binary shrank while it was being read");
        if (r == 0) {
            digest_update(&d, buf, got);
            r = cpio_member_data(m, TAIL_BINARY, buf, got, err);
            left -= got;
        }
    }
    free(buf);
    if (r == 0)
        digest_final(&d, digest);
    return r;
}

/* ---- the build ---------------------------------------------------------------------- */

struct build {
    const struct bootinitrd_opts *o;
    struct bootinitrd_result *r;
    struct atomicfile out;
    int out_open;
    int bin_fd;
    int base_fd;
    uint64_t bin_size;
    uint64_t base_size;
    char *cache_path;
};

/* The base (opened and checked by check_inputs) goes first; it is copied in the background
 * (kernel copy on a second thread where the platform has one) while this thread hashes the
 * binary and writes the tail. */
static int start_base_copy(struct build *b, struct evm_err *err)
{
    int r = atomicfile_copy_head(&b->out, b->base_fd, b->base_size, err);
    if (r < 0)
        return r;
    b->r->base_size = b->base_size;
    return atomicfile_pad(&b->out, TAIL_ALIGN, err);
}

/* A cached member that verifies (cachedir.h), opened: true with *fd and *len. A member that
 * is there but fails verification is discarded with a warning and the build goes on as on
 * a miss. */
static bool cache_lookup(struct build *b, int *fd, uint64_t *len)
{
    struct evm_err e = {0};
    int r = cachedir_open_member(b->cache_path, fd, len, &e);
    if (r == 0)
        return true;
    if (r != -ENOENT) {
        log_warn("binary-member cache: %s; discarding it and building the member again", e.msg);
        cachedir_discard(b->cache_path);
    }
    return false;
}

/* The cache file a miss tees the member into, hashed as it is written and best-effort: a
 * cache that cannot be created or written is bypassed with a warning (false, or a failure
 * kept in *failed), and the member goes into the output only. */
static bool cache_start(struct build *b, struct atomicfile *cache, struct digest *d,
                        struct evm_err *failed)
{
    struct evm_err e = {0};
    int r = cachedir_prepare(b->cache_path, &e);
    if (r == 0 && atomicfile_open(cache, b->cache_path, &e) < 0)
        r = evm_err_wrap(&e, "binary-member cache");
    if (r < 0) {
        log_warn("%s; building the boot initrd without it", e.msg);
        return false;
    }
    digest_init(d);
    cache->digest = d;
    cache->best_effort = failed;
    return true;
}

/* Once the member is in the output: the cache file is committed, then its record. A failure
 * is only a warning (the member and a half-written record are dropped). */
static void cache_finish(struct build *b, struct atomicfile *cache, struct digest *d)
{
    uint64_t len = cache->written;
    uint8_t sum[DIGEST_LEN];
    digest_final(d, sum);
    struct evm_err e = {0};
    int r = atomicfile_commit(cache, &e);
    if (r == 0 && (r = cachedir_record(b->cache_path, len, sum, &e)) < 0)
        cachedir_discard(b->cache_path);
    if (r < 0) {
        log_warn("binary-member cache: %s; the member is not cached", e.msg);
        return;
    }
    cachedir_prune(b->cache_path);
}

/* Cache miss: the member is built once, teeing into the output and (best-effort) a new
 * cache file, and the binary must not have changed under us. */
static int build_binary_member(struct build *b, struct evm_err *err)
{
    struct atomicfile cache;
    struct digest d;
    struct evm_err cache_failed = {0};
    bool caching = cache_start(b, &cache, &d, &cache_failed);
    struct cpio_member m;
    uint8_t seen[DIGEST_LEN];
    int r = cpio_member_open(&m, b->o->compress, b->o->mtime, err);
    if (r == 0) {
        m.sink.files[0] = &b->out;
        m.sink.files[1] = &cache;
        m.sink.nfiles = caching ? 2 : 1;
        r = write_binary_member(&m, b->bin_fd, b->bin_size, seen, err);
    }
    int rc = cpio_member_close(&m, r < 0 ? NULL : err);
    if (r == 0)
        r = rc;
    if (r == 0 && memcmp(seen, b->r->binary_sha256, DIGEST_LEN) != 0)
        r = evm_errf(err, EAGAIN, "%s changed while the boot initrd was being built", b->o->binary);
    if (r == 0)
        b->r->binary_member.length = m.sink.bytes;
    if (caching && r == 0)
        cache_finish(b, &cache, &d);
    else if (caching)
        atomicfile_abort(&cache);
    return r;
}

/* Cache hit (a member that verifies): copy it. Miss: build it (build_binary_member). */
static int add_binary_member(struct build *b, struct evm_err *err)
{
    char hex[DIGEST_HEX_LEN + 1];
    hex_encode(b->r->binary_sha256, DIGEST_LEN, hex);
    const char *dir = b->o->cache_dir;
    int r = cachedir_member_path(dir, b->o->out, hex, compress_name(b->o->compress), b->o->mtime,
                                 MEMBER_FORMAT_VERSION, &b->cache_path, err);
    if (r < 0)
        return r;

    b->r->binary_member.offset = b->out.written;
    int cfd;
    uint64_t csize;
    if (!cache_lookup(b, &cfd, &csize)) {
        log_debug("binary member: cache miss, building %s", b->cache_path);
        return build_binary_member(b, err);
    }
    r = atomicfile_copy_from(&b->out, cfd, csize, err);
    close(cfd);
    if (r < 0)
        return r;
    b->r->cache_hit = true;
    b->r->binary_member.length = csize;
    log_debug("binary member: cache hit %s", b->cache_path);
    cachedir_prune(b->cache_path);
    return 0;
}

/* The boot member goes after the binary member; the same bytes as an in-place update
 * writes (bootmember.c). */
static int add_boot_member(struct build *b, struct evm_err *err)
{
    struct bootmember m;
    int r = bootmember_build(&m, b->o, b->bin_size, b->r->binary_sha256, err);
    if (r < 0)
        return r;
    r = atomicfile_pad(&b->out, TAIL_ALIGN, err);
    if (r == 0) {
        b->r->boot_member.offset = b->out.written;
        r = atomicfile_write(&b->out, m.bytes, m.len, err);
    }
    if (r == 0) {
        b->r->boot_member.length = m.len;
        b->r->config_embedded = m.config_embedded;
    }
    bootmember_free(&m);
    return r;
}

/* The output must name a file in an existing directory: not empty, not ending in a
 * separator, not a directory (each used to fail only after a whole build, leaving a cache
 * member wherever the name pointed). */
static int check_output_path(const char *out, struct evm_err *err)
{
    int r = atomicfile_check_dst(out, err);
    return r < 0 ? evm_err_wrap(err, "output") : 0;
}

/* The base must be what the kernel unpacks (initrdmagic.h): opened and its first bytes
 * checked here, before anything is written; start_base_copy copies it. */
static int open_base(struct build *b, struct evm_err *err)
{
    int r = open_regular_file(b->o->base, &b->base_fd, &b->base_size, err);
    if (r < 0)
        return evm_err_wrap(err, "base initrd");
    uint8_t *head = malloc(INITRD_MAGIC_PEEK);
    if (!head)
        return evm_errf(err, ENOMEM, "out of memory");
    size_t got = 0;
    const char *kind = NULL;
    r = read_full(b->base_fd, head, INITRD_MAGIC_PEEK, &got, err, b->o->base);
    if (r == 0 && initrd_magic_check(head, got, &kind, err) < 0)
        r = evm_err_wrap(err, "base initrd %s", b->o->base);
    free(head);
    if (r == 0 && lseek(b->base_fd, 0, SEEK_SET) != 0)
        r = evm_errf(err, errno, "%s: seek: %s", b->o->base, strerror(errno));
    if (r == 0)
        log_debug("base initrd %s: %s", b->o->base, kind);
    return r;
}

/* Inputs that would give a boot initrd that cannot boot, or destroy an input, are refused
 * before anything is written: an empty daemon binary, an output name that cannot be a file,
 * an output that is the base itself (the same file by any name), and a base that is not
 * an initrd (empty, or garbage). */
static int check_inputs(struct build *b, struct evm_err *err)
{
    if (b->bin_size == 0)
        return evm_errf(err, EINVAL, "daemon binary %s: empty file", b->o->binary);
    int r = check_output_path(b->o->out, err);
    if (r < 0)
        return r;
    if (paths_same_file(b->o->base, b->o->out))
        return evm_errf(err, EINVAL, "output %s is the base initrd %s: it would be replaced",
                        b->o->out, b->o->base);
    return open_base(b, err);
}

/* Leftovers of killed builds, removed before anything else is written: the temporary files
 * of the output, of its record (bootrecord.h) and of the cache, matched by their own naming
 * pattern only (atomicfile_sweep). Never fatal; nothing is done for an output name that
 * cannot be a file. */
static void sweep_leftovers(const struct bootinitrd_opts *o)
{
    struct evm_err e = {0};
    if (check_output_path(o->out, NULL) < 0)
        return;
    size_t n = strlen(o->out);
    char *record = malloc(n + sizeof(BOOTRECORD_SUFFIX));
    if (record) {
        memcpy(record, o->out, n);
        memcpy(record + n, BOOTRECORD_SUFFIX, sizeof(BOOTRECORD_SUFFIX));
    }
    if (atomicfile_sweep_dst(o->out, &e) < 0 || (record && atomicfile_sweep_dst(record, &e) < 0))
        log_debug("not sweeping beside %s: %s", o->out, e.msg);
    free(record);
    if (cachedir_sweep(o->cache_dir, o->out, &e) < 0)
        log_debug("not sweeping the binary-member cache: %s", e.msg);
}

/* A failure while the output was being written. When writing the output itself failed (a
 * full disk), that is what is reported, not the member being written at the time; and the
 * background base copy's failure first, as it usually is the first cause. */
static int blame_output(struct build *b, int r, struct evm_err *err)
{
    struct evm_err head = {0};
    if (atomicfile_wait_head(&b->out, &head) < 0) {
        *err = head;
        return evm_err_wrap(err, "copying the base initrd into the boot initrd");
    }
    int w = b->out.write_error;
    if (w < 0 && b->out.tmp)
        return evm_errf(err, -w, "writing the boot initrd %s: %s", b->out.tmp, strerror(-w));
    return r;
}

int bootinitrd_build(const struct bootinitrd_opts *o, struct bootinitrd_result *res,
                     struct evm_err *err)
{
    struct build b = {.o = o, .r = res, .bin_fd = -1, .base_fd = -1};
    memset(res, 0, sizeof(*res));
    if (!o->boot_id || !boot_id_valid(o->boot_id))
        return evm_errf(err, EINVAL, "boot id must be %d lowercase hex digits", BOOT_ID_HEX_LEN);
    int r = cpio_check_mtime(o->mtime, err);
    if (r < 0)
        return r;
    sweep_leftovers(o);

    /* Warm boot: the previous output, from the same inputs, keeps all but its boot member. */
    struct bootwarm warm = {.member_format = MEMBER_FORMAT_VERSION};
    r = bootwarm_try(&warm, o, res, err);
    if (r != 0) {
        bootwarm_free(&warm);
        return r < 0 ? r : 0;
    }

    r = open_regular_file(o->binary, &b.bin_fd, &b.bin_size, err);
    if (r < 0)
        r = evm_err_wrap(err, "daemon binary");
    if (r == 0)
        r = check_inputs(&b, err);
    if (r == 0)
        r = atomicfile_open(&b.out, o->out, err);
    if (r == 0) {
        b.out_open = 1;
        b.out.fail_after = o->fail_after;
        r = start_base_copy(&b, err);
    }
    /* The binary's digest names the cache entry and goes in the manifest. */
    uint64_t hashed;
    if (r == 0)
        r = digest_fd(b.bin_fd, res->binary_sha256, &hashed, err);
    if (r == 0 && hashed != b.bin_size)
        r = evm_errf(err, EAGAIN, "%s changed size while it was being read", o->binary);
    if (r == 0 && lseek(b.bin_fd, 0, SEEK_SET) != 0)
        r = evm_errf(err, errno, "%s: seek: %s", o->binary, strerror(errno));
    if (r == 0)
        r = add_binary_member(&b, err);
    if (r == 0)
        r = add_boot_member(&b, err);
    if (r == 0) {
        res->out_size = b.out.written;
        r = atomicfile_commit(&b.out, err);
        b.out_open = 0;
    }
    if (r == 0)
        bootwarm_record_full(&warm, o, res, b.base_fd, b.bin_fd);
    bootwarm_free(&warm);
    if (r < 0 && b.out_open)
        r = blame_output(&b, r, err);
    if (b.out_open)
        atomicfile_abort(&b.out);
    if (b.bin_fd >= 0)
        close(b.bin_fd);
    if (b.base_fd >= 0)
        close(b.base_fd); /* after commit/abort: the background copy reads it */
    free(b.cache_path);
    return r;
}
