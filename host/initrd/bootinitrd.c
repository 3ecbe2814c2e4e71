/* bootinitrd.c — builds the boot initrd of design §2:
 *
 *   base ‖ zeros to 4 ‖ binary member ‖ zeros to 4 ‖ boot member
 *
 * The binary member (assets/, assets/ephemerd-linux) depends only on the daemon binary,
 * so it is cached under the SHA-256 of the binary's bytes and copied (kernel copy) on
 * later boots. The boot member (assets/config.toml when usable, assets/manifest) is
 * written every boot. Everything streams in bounded memory; entries are deterministic
 * (uid/gid 0, nlink 1, fixed small inode numbers, fixed mtime, no gzip timestamp), and the
 * output replaces the previous file atomically. */
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
#include "initrd/cachedir.h"
#include "initrd/cpiowriter.h"
#include "digest.h"
#include "config/hostcfg.h"
#include "log.h"
#include "manifest.h"
#include "fileutil.h"

/* Bumped whenever the binary member's bytes would change for the same inputs. */
#define MEMBER_FORMAT_VERSION 1
#define IO_CHUNK (256u * 1024u)

/* Inode numbers: small, unique per entry across the tail (design §2). */
enum { INO_ASSETS = 1, INO_BINARY = 2, INO_CONFIG = 3, INO_MANIFEST = 4 };

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
    char *cache_path;
};

/* The base goes first; it is copied in the background (kernel copy on a second thread
 * where the platform has one) while this thread hashes the binary and writes the tail. */
static int start_base_copy(struct build *b, struct evm_err *err)
{
    uint64_t size;
    int r = open_regular_file(b->o->base, &b->base_fd, &size, err);
    if (r < 0)
        return evm_err_wrap(err, "base initrd");
    r = atomicfile_copy_head(&b->out, b->base_fd, size, err);
    if (r < 0)
        return r;
    b->r->base_size = size;
    return atomicfile_pad(&b->out, TAIL_ALIGN, err);
}

/* Cache hit: copy the cached member. Miss: build it once, teeing into the output and a
 * new cache file, and verify the binary did not change under us. */
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
    if (open_regular_file(b->cache_path, &cfd, &csize, NULL) == 0) {
        r = atomicfile_copy_from(&b->out, cfd, csize, err);
        close(cfd);
        if (r < 0)
            return r;
        b->r->cache_hit = true;
        b->r->binary_member.length = csize;
        log_debug("binary member: cache hit %s", b->cache_path);
        return 0;
    }

    log_debug("binary member: cache miss, building %s", b->cache_path);
    r = cachedir_prepare(b->cache_path, err);
    if (r < 0)
        return r;
    struct atomicfile cache;
    r = atomicfile_open(&cache, b->cache_path, err);
    if (r < 0)
        return r;
    struct cpio_member m;
    uint8_t seen[DIGEST_LEN];
    r = cpio_member_open(&m, b->o->compress, b->o->mtime, err);
    if (r == 0) {
        m.sink.files[0] = &b->out;
        m.sink.files[1] = &cache;
        m.sink.nfiles = 2;
        r = write_binary_member(&m, b->bin_fd, b->bin_size, seen, err);
    }
    int rc = cpio_member_close(&m, r < 0 ? NULL : err);
    if (r == 0)
        r = rc;
    if (r == 0 && memcmp(seen, b->r->binary_sha256, DIGEST_LEN) != 0)
        r = evm_errf(err, EAGAIN, "%s changed while the boot initrd was being built", b->o->binary);
    if (r == 0)
        r = atomicfile_commit(&cache, err);
    else
        atomicfile_abort(&cache);
    if (r < 0)
        return r;
    b->r->binary_member.length = m.sink.bytes;
    cachedir_prune(b->cache_path);
    return 0;
}

static int add_boot_member(struct build *b, struct evm_err *err)
{
    const struct hostcfg *cfg = b->o->config;
    bool embed = cfg && cfg->state == HOSTCFG_OK;
    struct manifest man;
    memset(&man, 0, sizeof(man));
    memcpy(man.boot_id, b->o->boot_id, BOOT_ID_HEX_LEN);
    int r =
        manifest_add(&man, TAIL_BINARY, TAIL_BINARY_MODE, b->bin_size, b->r->binary_sha256, err);
    if (r == 0 && embed) {
        uint8_t d[DIGEST_LEN];
        digest_buf(cfg->bytes, cfg->len, d);
        r = manifest_add(&man, TAIL_CONFIG, TAIL_CONFIG_MODE, cfg->len, d, err);
    }
    char text[MANIFEST_MAX_BYTES];
    size_t tlen = 0;
    if (r == 0)
        r = manifest_format(&man, text, sizeof(text), &tlen, err);
    if (r < 0)
        return r;

    r = atomicfile_pad(&b->out, TAIL_ALIGN, err);
    if (r < 0)
        return r;
    b->r->boot_member.offset = b->out.written;
    struct cpio_member m;
    r = cpio_member_open(&m, b->o->compress, b->o->mtime, err);
    if (r == 0) {
        m.sink.files[0] = &b->out;
        m.sink.nfiles = 1;
        if (embed)
            r = cpio_member_file_mem(&m, TAIL_CONFIG, TAIL_CONFIG_MODE, INO_CONFIG, cfg->bytes,
                                     cfg->len, err);
    }
    if (r == 0)
        r = cpio_member_file_mem(&m, TAIL_MANIFEST, TAIL_MANIFEST_MODE, INO_MANIFEST, text, tlen,
                                 err);
    int rc = cpio_member_close(&m, r < 0 ? NULL : err);
    if (r == 0)
        r = rc;
    if (r < 0)
        return r;
    b->r->boot_member.length = m.sink.bytes;
    b->r->config_embedded = embed;
    return 0;
}

/* Inputs that would give a boot initrd that cannot boot, or destroy an input, are refused
 * before anything is written: an empty daemon binary, and an output that is the base itself
 * (the same file by any name). */
static int check_inputs(const struct build *b, struct evm_err *err)
{
    if (b->bin_size == 0)
        return evm_errf(err, EINVAL, "daemon binary %s: empty file", b->o->binary);
    if (paths_same_file(b->o->base, b->o->out))
        return evm_errf(err, EINVAL, "output %s is the base initrd %s: it would be replaced",
                        b->o->out, b->o->base);
    return 0;
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

    r = open_regular_file(o->binary, &b.bin_fd, &b.bin_size, err);
    if (r < 0)
        return evm_err_wrap(err, "daemon binary");
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
    if (b.out_open)
        atomicfile_abort(&b.out);
    if (b.bin_fd >= 0)
        close(b.bin_fd);
    if (b.base_fd >= 0)
        close(b.base_fd); /* after commit/abort: the background copy reads it */
    free(b.cache_path);
    return r;
}
