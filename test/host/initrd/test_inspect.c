/* test_inspect.c — host/inspect.c: the member walk (offsets, compression, lengths, zero
 * padding, exact raw-member ends, malformed data) and the manifest check (OK, digest /
 * mode / size mismatches, missing and unlisted files, later entries replacing earlier
 * ones); a file without a member is malformed. Archives are built here with libarchive's writer and
 * concatenated. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "digest.h"
#include "initrd/inspect.h"
#include "manifest.h"
#include "tail.h"
#include "testutil.h"

#define U(x) ((unsigned long long)(x))
#define BID "0123456789abcdef0123456789abcdef"
#define CONFIG_A "[vm.linux]\ncpus = 4\n"
#define CONFIG_B "[vm.linux]\ncpus = 8\nmemory_mb = 4096\n"

struct ent {
    const char *path;
    unsigned mode; /* full mode, type included */
    const void *data;
    size_t size;
};

/* One newc cpio member; comp is "none", "gzip" or "zstd". pad_block keeps libarchive's
 * default 10240-byte blocking (zero padding after TRAILER!!!). */
static uint8_t *build_member(const char *comp, const struct ent *e, size_t n, bool pad_block,
                             size_t *len)
{
    size_t cap = 64 * 1024;
    for (size_t i = 0; i < n; i++)
        cap += e[i].size + e[i].size / 8 + 512;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    struct archive *a = archive_write_new();
    assert_non_null(a);
    assert_int_equal(archive_write_set_format_cpio_newc(a), ARCHIVE_OK);
    if (strcmp(comp, "gzip") == 0)
        assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    else if (strcmp(comp, "zstd") == 0)
        assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
    else
        assert_int_equal(archive_write_add_filter_none(a), ARCHIVE_OK);
    assert_int_equal(archive_write_set_bytes_per_block(a, 10240), ARCHIVE_OK);
    assert_int_equal(archive_write_set_bytes_in_last_block(a, pad_block ? 10240 : 1), ARCHIVE_OK);
    size_t used = 0;
    assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, e[i].path);
        archive_entry_set_mode(ae, e[i].mode);
        archive_entry_set_uid(ae, 0);
        archive_entry_set_gid(ae, 0);
        archive_entry_set_nlink(ae, 1);
        archive_entry_set_ino(ae, (la_int64_t)i + 1);
        archive_entry_set_mtime(ae, 0, 0);
        archive_entry_set_size(ae, (la_int64_t)e[i].size);
        assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
        if (e[i].size)
            assert_int_equal(archive_write_data(a, e[i].data, e[i].size), (la_ssize_t)e[i].size);
        archive_entry_free(ae);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    *len = used;
    return buf;
}

/* The initrd being assembled. */
struct img {
    uint8_t *buf;
    size_t len, cap;
};

static void img_put(struct img *im, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (im->len + n > im->cap) {
        im->cap = (im->len + n) * 2;
        im->buf = realloc(im->buf, im->cap);
        assert_non_null(im->buf);
    }
    memcpy(im->buf + im->len, p, n);
    im->len += n;
}

/* Zero padding to 4 bytes, then the member; returns the member's offset. */
static size_t img_add(struct img *im, const uint8_t *m, size_t n)
{
    static const uint8_t zeros[4] = {0};
    img_put(im, zeros, (4 - im->len % 4) % 4);
    size_t off = im->len;
    img_put(im, m, n);
    return off;
}

/* Builds and appends a member in one go; returns its offset, *mlen its length. */
static size_t img_member(struct img *im, const char *comp, const struct ent *e, size_t n,
                         size_t *mlen)
{
    size_t len;
    uint8_t *m = build_member(comp, e, n, false, &len);
    size_t off = img_add(im, m, len);
    free(m);
    if (mlen)
        *mlen = len;
    return off;
}

/* Manifest text for up to two files (path NULL = absent), digests of the given bodies. */
static char *make_manifest(const char *p1, unsigned m1, const void *d1, size_t n1, const char *p2,
                           unsigned m2, const void *d2, size_t n2, size_t *len)
{
    struct manifest m;
    memset(&m, 0, sizeof(m));
    memcpy(m.boot_id, BID, sizeof(BID));
    uint8_t sha[32];
    if (p1) {
        digest_buf(d1, n1, sha);
        assert_int_equal(manifest_add(&m, p1, m1, n1, sha, NULL), 0);
    }
    if (p2) {
        digest_buf(d2, n2, sha);
        assert_int_equal(manifest_add(&m, p2, m2, n2, sha, NULL), 0);
    }
    char *buf = malloc(MANIFEST_MAX_BYTES);
    assert_non_null(buf);
    assert_int_equal(manifest_format(&m, buf, MANIFEST_MAX_BYTES, len, NULL), 0);
    return buf;
}

struct run {
    int r;
    bool ok;
    struct evm_err err;
    char *report;
};

static void run_inspect(const struct img *im, struct run *out)
{
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "initrd.img");
    char *rpath = tu_path(dir, "report.txt");
    tu_write(path, im->buf, im->len);
    FILE *f = fopen(rpath, "w+b");
    assert_non_null(f);
    memset(out, 0, sizeof(*out));
    out->ok = true; /* must be reset by inspect_initrd */
    out->r = inspect_initrd(path, f, &out->ok, &out->err);
    assert_int_equal(fclose(f), 0);
    size_t n;
    out->report = tu_read(rpath, &n);
    assert_non_null(out->report);
    print_message("%s", out->report);
    if (out->r < 0)
        print_message("-> %d: %s\n", out->r, out->err.msg);
    tu_rmrf(dir);
    free(rpath);
    free(path);
    free(dir);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("did not expect \"%s\" in:\n%s", needle, hay);
}

static void assert_containsf(const char *hay, const char *fmt, ...) EVM_PRINTF(2, 3);
static void assert_containsf(const char *hay, const char *fmt, ...)
{
    char needle[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(needle, sizeof(needle), fmt, ap);
    va_end(ap);
    assert_contains(hay, needle);
}

/* A typical base member: a few entries, raw. */
static size_t add_base(struct img *im, size_t *len)
{
    static const char init[] = "#!/bin/sh\necho base init\n";
    const struct ent base[] = {
        {"init", 0100755, init, sizeof(init) - 1},
        {"etc", 040755, NULL, 0},
        {"etc/hostname", 0100644, "vm\n", 3},
    };
    return img_member(im, "none", base, 3, len);
}

/* A boot member with config.toml (CONFIG body) and a manifest listing the binary and the
 * config with the given modes; appended zstd-compressed. */
static size_t add_boot(struct img *im, const char *comp, const void *bin, size_t binlen,
                       unsigned binmode, const char *config, unsigned cfgmode, size_t *len)
{
    size_t mlen;
    char *man = make_manifest(TAIL_BINARY, binmode, bin, binlen, config ? TAIL_CONFIG : NULL,
                              cfgmode, config, config ? strlen(config) : 0, &mlen);
    struct ent boot[2];
    size_t n = 0;
    if (config)
        boot[n++] = (struct ent){TAIL_CONFIG, 0100600, config, strlen(config)};
    boot[n++] = (struct ent){TAIL_MANIFEST, 0100600, man, mlen};
    size_t off = img_member(im, comp, boot, n, len);
    free(man);
    return off;
}

static size_t add_binary(struct img *im, const char *comp, const void *bin, size_t binlen,
                         size_t *len)
{
    const struct ent e[] = {
        {TAIL_DIR, 040755, NULL, 0},
        {TAIL_BINARY, 0100755, bin, binlen},
    };
    return img_member(im, comp, e, 2, len);
}

static void test_members_offsets_entries_and_ok(void **state)
{
    (void)state;
    struct img im = {0};
    size_t binlen = 600 * 1024 + 13; /* several 256 KiB chunks, odd size */
    uint8_t *bin = malloc(binlen);
    assert_non_null(bin);
    tu_fill(bin, binlen, 7);

    size_t l0, l1, l2;
    size_t o0 = add_base(&im, &l0);
    size_t o1 = add_binary(&im, "gzip", bin, binlen, &l1);
    size_t o2 = add_boot(&im, "zstd", bin, binlen, 0755, CONFIG_A, 0600, &l2);
    assert_int_equal(o0, 0);
    assert_true(o2 % 4 == 0);

    struct run r;
    run_inspect(&im, &r);
    assert_int_equal(r.r, 0);
    assert_true(r.ok);
    assert_containsf(r.report, "member 0: offset %llu, none\n", U(o0));
    assert_containsf(r.report, "member 1: offset %llu, gzip\n", U(o1));
    assert_containsf(r.report, "member 2: offset %llu, zstd\n", U(o2));
    assert_containsf(r.report, "member 0: length %llu bytes (offset %llu ", U(l0), U(o0));
    assert_containsf(r.report, "member 1: length %llu bytes (offset %llu ", U(l1), U(o1));
    assert_containsf(r.report, "member 2: length %llu bytes (offset %llu ", U(l2), U(o2));
    assert_contains(r.report, "3 members,");
    /* entries: mode with type, uid, gid, size, name */
    assert_contains(r.report, "  0100755 file     uid 0     gid 0     size 25         init\n");
    assert_contains(r.report, "  0040755 dir      uid 0     gid 0     size 0          etc\n");
    assert_contains(r.report, "  0040755 dir      uid 0     gid 0     size 0          assets\n");
    assert_containsf(r.report,
                     "  0100755 file     uid 0     gid 0     size %-10llu assets/ephemerd-linux\n",
                     U(binlen));
    assert_contains(r.report, "  0100600 file     uid 0     gid 0     size 20         "
                              "assets/config.toml\n");
    assert_contains(r.report, "assets/manifest\n");
    assert_contains(r.report, "  assets/ephemerd-linux: OK (0755, ");
    assert_contains(r.report, "  assets/config.toml: OK (0600, 20 bytes, sha256 ");
    assert_contains(r.report, "manifest: OK (boot-id " BID ", 2 files)\n");
    assert_lacks(r.report, "MISMATCH");
    free(r.report);
    free(bin);
    free(im.buf);
}

/* A raw member's end is where its TRAILER!!! ends, even when libarchive read ahead: raw
 * members back to back with no padding, a large entry spanning read chunks, a gzip member
 * right after, and a raw member with libarchive's default 10240-byte zero blocking. */
static void test_raw_member_end_exact(void **state)
{
    (void)state;
    struct img im = {0};
    size_t biglen = 700 * 1024 + 2;
    uint8_t *big = malloc(biglen);
    assert_non_null(big);
    tu_fill(big, biglen, 3);
    const struct ent e1[] = {{"big", 0100644, big, biglen}};
    const struct ent e2[] = {{"small", 0100644, "x", 1}};
    size_t l0, l1, l2, l3;
    size_t o0 = img_member(&im, "none", e1, 1, &l0);
    size_t o1 = img_member(&im, "none", e2, 1, &l1);
    assert_int_equal(o1, l0); /* newc members end aligned: no padding was needed */
    size_t o2 = img_member(&im, "gzip", e2, 1, &l2);
    assert_int_equal(o2, o1 + l1);
    uint8_t *padded = build_member("none", e2, 1, true, &l3);
    size_t o3 = img_add(&im, padded, l3);
    free(padded);
    size_t o4 = add_boot(&im, "zstd", big, biglen, 0644, NULL, 0, NULL);

    struct run r;
    run_inspect(&im, &r);
    assert_containsf(r.report, "member 0: offset %llu, none\n", U(o0));
    assert_containsf(r.report, "member 1: offset %llu, none\n", U(o1));
    assert_containsf(r.report, "member 2: offset %llu, gzip\n", U(o2));
    assert_containsf(r.report, "member 3: offset %llu, none\n", U(o3));
    assert_containsf(r.report, "member 4: offset %llu, zstd\n", U(o4));
    assert_containsf(r.report, "member 0: length %llu bytes (offset %llu ", U(l0), U(o0));
    /* The blocked member ends at its TRAILER!!!, before the zero padding. */
    assert_true(l3 == 10240);
    assert_containsf(r.report, "member 3: length %llu bytes (offset %llu ", U(l1), U(o3));
    assert_true(o4 == o3 + 10240);
    assert_contains(r.report, "5 members,");
    /* Listed as assets/ephemerd-linux but never stored: missing. */
    assert_int_equal(r.r, -EBADMSG);
    assert_contains(r.report, "  assets/ephemerd-linux: MISMATCH: missing\n");
    free(r.report);
    free(big);
    free(im.buf);
}

static void test_wrong_digest_size_and_mode(void **state)
{
    (void)state;
    struct img im = {0};
    add_base(&im, NULL);
    add_binary(&im, "gzip", "ELF-binary", 10, NULL);
    /* The manifest describes CONFIG_A, the archive holds CONFIG_B; the binary is listed with
     * mode 0700 but stored 0755. */
    size_t mlen;
    char *man = make_manifest(TAIL_BINARY, 0700, "ELF-binary", 10, TAIL_CONFIG, 0600, CONFIG_A,
                              strlen(CONFIG_A), &mlen);
    const struct ent boot[] = {
        {TAIL_CONFIG, 0100600, CONFIG_B, strlen(CONFIG_B)},
        {TAIL_MANIFEST, 0100600, man, mlen},
    };
    img_member(&im, "zstd", boot, 2, NULL);
    free(man);

    struct run r;
    run_inspect(&im, &r);
    assert_int_equal(r.r, -EBADMSG);
    assert_false(r.ok);
    assert_contains(r.report, "  assets/config.toml: MISMATCH: size 37 (manifest 20), sha256 ");
    assert_contains(r.report, "  assets/ephemerd-linux: MISMATCH: mode 0755 (manifest 0700)\n");
    assert_contains(r.report, "manifest: MISMATCH: ");
    assert_contains(r.err.msg, "assets/config.toml (size/sha256)");
    assert_contains(r.err.msg, "assets/ephemerd-linux (mode)");
    assert_lacks(r.report, "manifest: OK");
    free(r.report);
    free(im.buf);
}

static void test_digest_only_mismatch(void **state)
{
    (void)state;
    struct img im = {0};
    add_binary(&im, "none", "ELF-binary", 10, NULL);
    /* Same size, different bytes. */
    size_t mlen;
    char *man = make_manifest(TAIL_BINARY, 0755, "ELF-bInary", 10, NULL, 0, NULL, 0, &mlen);
    const struct ent boot[] = {{TAIL_MANIFEST, 0100600, man, mlen}};
    img_member(&im, "gzip", boot, 1, NULL);
    free(man);

    struct run r;
    run_inspect(&im, &r);
    assert_int_equal(r.r, -EBADMSG);
    assert_false(r.ok);
    assert_contains(r.report, "  assets/ephemerd-linux: MISMATCH: sha256 ");
    assert_contains(r.err.msg, "assets/ephemerd-linux (sha256)");
    free(r.report);
    free(im.buf);
}

static void test_listed_file_missing(void **state)
{
    (void)state;
    struct img im = {0};
    add_binary(&im, "zstd", "ELF", 3, NULL);
    size_t mlen;
    char *man = make_manifest(TAIL_BINARY, 0755, "ELF", 3, TAIL_CONFIG, 0600, CONFIG_A,
                              strlen(CONFIG_A), &mlen);
    const struct ent boot[] = {{TAIL_MANIFEST, 0100600, man, mlen}};
    img_member(&im, "zstd", boot, 1, NULL);
    free(man);

    struct run r;
    run_inspect(&im, &r);
    assert_int_equal(r.r, -EBADMSG);
    assert_false(r.ok);
    assert_contains(r.report, "  assets/ephemerd-linux: OK (0755, 3 bytes");
    assert_contains(r.report, "  assets/config.toml: MISMATCH: missing\n");
    assert_contains(r.err.msg, "assets/config.toml (missing)");
    free(r.report);
    free(im.buf);
}

static void test_unlisted_config_is_mismatch(void **state)
{
    (void)state;
    struct img im = {0};
    add_binary(&im, "gzip", "ELF", 3, NULL);
    size_t mlen;
    char *man = make_manifest(TAIL_BINARY, 0755, "ELF", 3, NULL, 0, NULL, 0, &mlen);
    const struct ent boot[] = {
        {TAIL_CONFIG, 0100600, CONFIG_A, strlen(CONFIG_A)},
        {TAIL_MANIFEST, 0100600, man, mlen},
    };
    img_member(&im, "gzip", boot, 2, NULL);
    free(man);

    struct run r;
    run_inspect(&im, &r);
    assert_int_equal(r.r, -EBADMSG);
    assert_false(r.ok);
    assert_contains(r.report, "  assets/ephemerd-linux: OK");
    assert_contains(r.report, "  assets/config.toml: MISMATCH: present but not listed");
    assert_contains(r.err.msg, "assets/config.toml (not listed)");
    free(r.report);
    free(im.buf);
}

/* A later member's entry replaces an earlier one with the same path (as the kernel does),
 * also when the earlier one is spelled "./assets/...". */
static void test_later_entry_replaces_earlier(void **state)
{
    (void)state;
    for (int which = 0; which < 2; which++) {
        struct img im = {0};
        const struct ent first[] = {
            {"./assets", 040755, NULL, 0},
            {"./assets/config.toml", 0100644, CONFIG_A, strlen(CONFIG_A)},
            {"./assets/ephemerd-linux", 0100755, "ELF", 3},
        };
        img_member(&im, "none", first, 3, NULL);
        /* which 0: the manifest describes the final content (B): OK.
         * which 1: it describes the replaced content (A): mismatch. */
        const char *listed = which == 0 ? CONFIG_B : CONFIG_A;
        add_boot(&im, "gzip", "ELF", 3, 0755, NULL, 0, NULL); /* manifest (replaced below) */
        size_t mlen;
        char *man = make_manifest(TAIL_BINARY, 0755, "ELF", 3, TAIL_CONFIG, 0600, listed,
                                  strlen(listed), &mlen);
        const struct ent last[] = {
            {TAIL_CONFIG, 0100600, CONFIG_B, strlen(CONFIG_B)},
            {TAIL_MANIFEST, 0100600, man, mlen},
        };
        img_member(&im, "zstd", last, 2, NULL);
        free(man);

        struct run r;
        run_inspect(&im, &r);
        if (which == 0) {
            assert_int_equal(r.r, 0);
            assert_true(r.ok);
            assert_contains(r.report, "  assets/config.toml: OK (0600, 37 bytes");
            assert_contains(r.report, "manifest: OK (boot-id " BID ", 2 files)\n");
        } else {
            assert_int_equal(r.r, -EBADMSG);
            assert_false(r.ok);
            assert_contains(r.report, "  assets/config.toml: MISMATCH: size 37 (manifest 20)");
        }
        free(r.report);
        free(im.buf);
    }
}

static void test_garbage_at_end_names_offset(void **state)
{
    (void)state;
    struct img im = {0};
    add_base(&im, NULL);
    add_binary(&im, "gzip", "ELF", 3, NULL);
    add_boot(&im, "zstd", "ELF", 3, 0755, CONFIG_A, 0600, NULL);
    size_t off = img_add(&im, (const uint8_t *)"GARBAGE!", 8);

    struct run r;
    run_inspect(&im, &r);
    assert_int_equal(r.r, -EINVAL);
    char needle[64];
    snprintf(needle, sizeof(needle), "unknown data at offset %zu", off);
    assert_contains(r.report, needle);
    assert_contains(r.err.msg, needle);
    /* What came before was still listed and checked, as the kernel keeps it. */
    assert_contains(r.report, "member 2: offset ");
    assert_contains(r.report, "manifest: OK (boot-id ");
    free(r.report);
    free(im.buf);
}

static void test_no_manifest(void **state)
{
    (void)state;
    struct img im = {0};
    add_base(&im, NULL);
    add_binary(&im, "zstd", "ELF", 3, NULL);
    struct run r;
    run_inspect(&im, &r);
    assert_int_equal(r.r, 0);
    assert_false(r.ok);
    assert_contains(r.report, "manifest: none\n");
    assert_contains(r.report, "2 members,");
    free(r.report);
    free(im.buf);
}

/* Zero bytes are skipped, but a raw cpio must still start 4-byte aligned. */
static void test_unaligned_raw_member(void **state)
{
    (void)state;
    struct img im = {0};
    img_put(&im, "\0\0", 2);
    size_t len;
    const struct ent e[] = {{"a", 0100644, "x", 1}};
    uint8_t *m = build_member("none", e, 1, false, &len);
    img_put(&im, m, len);
    free(m);
    struct run r;
    run_inspect(&im, &r);
    assert_int_equal(r.r, -EINVAL);
    assert_contains(r.report, "unknown data at offset 2 (a cpio header at an offset that is not "
                              "4-byte aligned)");
    assert_contains(r.err.msg, "unknown data at offset 2");
    free(r.report);
    free(im.buf);
}

/* Leading zero padding is skipped and compressed members may start anywhere. */
static void test_leading_zeros_and_unaligned_compressed(void **state)
{
    (void)state;
    struct img im = {0};
    img_put(&im, "\0\0\0\0\0\0\0\0\0", 9);
    size_t len;
    const struct ent e[] = {{"a", 0100644, "x", 1}};
    uint8_t *m = build_member("gzip", e, 1, false, &len);
    img_put(&im, m, len);
    free(m);
    struct run r;
    run_inspect(&im, &r);
    assert_int_equal(r.r, 0);
    assert_contains(r.report, "member 0: offset 9, gzip\n");
    assert_contains(r.report, "manifest: none\n");
    free(r.report);
    free(im.buf);
}

static void test_truncated_and_corrupt_compressed(void **state)
{
    (void)state;
    uint8_t data[4096];
    tu_fill(data, sizeof(data), 11);
    const struct ent e[] = {{"a", 0100644, data, sizeof(data)}};
    static const char *const comps[] = {"gzip", "zstd"};
    for (int c = 0; c < 2; c++) {
        size_t len;
        uint8_t *m = build_member(comps[c], e, 1, false, &len);

        struct img im = {0};
        img_put(&im, m, len - 6);
        struct run r;
        run_inspect(&im, &r);
        assert_int_equal(r.r, -EINVAL);
        assert_contains(r.err.msg, "member 0 at offset 0");
        assert_contains(r.err.msg, "truncated");
        free(r.report);
        free(im.buf);

        /* Corrupt the compressed data. */
        memset(&im, 0, sizeof(im));
        img_put(&im, m, len);
        if (c == 0)
            im.buf[len / 2] ^= 0x55; /* caught by the gzip CRC */
        else
            im.buf[4] |= 0x08; /* the zstd frame header's reserved bit */
        run_inspect(&im, &r);
        assert_true(r.r < 0);
        assert_contains(r.err.msg, "member 0 at offset 0");
        free(r.report);
        free(im.buf);
        free(m);
    }
}

/* gzip of data as one stream (the tests' own compressor, independent of libarchive). */
static uint8_t *gzip_buf(const uint8_t *data, size_t n, size_t *len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)n);
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* Inside a compressed stream, zero padding after TRAILER!!! belongs to the member; other
 * data there (a second archive) is refused by name. Zero padding after the stream is
 * skipped like any padding between members. */
static void test_data_after_trailer_in_stream(void **state)
{
    (void)state;
    const struct ent e[] = {{"a", 0100644, "x", 1}};
    size_t rawlen;
    uint8_t *raw = build_member("none", e, 1, false, &rawlen);
    for (int junk = 0; junk < 2; junk++) {
        size_t n = rawlen + 300000; /* padding spans more than one decompressed block */
        uint8_t *plain = calloc(1, n);
        assert_non_null(plain);
        memcpy(plain, raw, rawlen);
        if (junk)
            memcpy(plain + n - 1000, raw, rawlen);
        size_t glen;
        uint8_t *gz = gzip_buf(plain, n, &glen);
        struct img im = {0};
        img_add(&im, gz, glen);
        size_t plen;
        uint8_t *padded = build_member("gzip", e, 1, true, &plen);
        size_t o1 = img_add(&im, padded, plen);
        free(padded);
        size_t o2 = img_member(&im, "none", e, 1, NULL);
        assert_true(o2 >= o1 + 10240);

        struct run r;
        run_inspect(&im, &r);
        if (!junk) {
            assert_int_equal(r.r, 0);
            assert_containsf(r.report,
                             "member 0: length %llu bytes (offset 0 to %llu), 1 entries, "
                             "%llu bytes of cpio\n",
                             U(glen), U(glen), U(rawlen + 300000));
            assert_containsf(r.report, "member 1: offset %llu, gzip\n", U(o1));
            assert_containsf(r.report, "member 2: offset %llu, none\n", U(o2));
        } else {
            assert_int_equal(r.r, -ENOTSUP);
            assert_contains(r.err.msg, "member 0 at offset 0: gzip stream holds data after "
                                       "TRAILER!!!");
        }
        free(r.report);
        free(im.buf);
        free(gz);
        free(plain);
    }
    free(raw);
}

static void test_invalid_manifest(void **state)
{
    (void)state;
    struct img im = {0};
    const char bad[] = "not-a-manifest\n";
    const struct ent e[] = {{TAIL_MANIFEST, 0100600, bad, sizeof(bad) - 1}};
    img_member(&im, "none", e, 1, NULL);
    struct run r;
    run_inspect(&im, &r);
    assert_int_equal(r.r, -EBADMSG);
    assert_false(r.ok);
    assert_contains(r.report, "manifest: MISMATCH: assets/manifest is invalid");
    free(r.report);
    free(im.buf);
}

static void test_missing_file(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "nope.img");
    struct evm_err err = {0};
    bool ok = true;
    FILE *f = tmpfile();
    FILE *out = f ? f : stdout;
    assert_int_equal(inspect_initrd(path, out, &ok, &err), -ENOENT);
    assert_false(ok);
    assert_contains(err.msg, "nope.img");
    if (f)
        fclose(f);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* A file without a single member is no initrd: empty, or only zero bytes, is malformed
 * (-EINVAL, exit 1 from the command), never "0 members" and success. */
static void test_empty_file_is_malformed(void **state)
{
    (void)state;
    static uint8_t zeros[1000];
    struct img im = {0};
    struct run r;
    run_inspect(&im, &r);
    assert_int_equal(r.r, -EINVAL);
    assert_false(r.ok);
    assert_contains(r.err.msg, "empty file");
    assert_contains(r.err.msg, "initrd.img");
    free(r.report);
    im.buf = zeros;
    im.len = sizeof(zeros);
    run_inspect(&im, &r);
    assert_int_equal(r.r, -EINVAL);
    assert_contains(r.err.msg, "no member");
    free(r.report);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members_offsets_entries_and_ok),
        cmocka_unit_test(test_raw_member_end_exact),
        cmocka_unit_test(test_wrong_digest_size_and_mode),
        cmocka_unit_test(test_digest_only_mismatch),
        cmocka_unit_test(test_listed_file_missing),
        cmocka_unit_test(test_unlisted_config_is_mismatch),
        cmocka_unit_test(test_later_entry_replaces_earlier),
        cmocka_unit_test(test_garbage_at_end_names_offset),
        cmocka_unit_test(test_no_manifest),
        cmocka_unit_test(test_unaligned_raw_member),
        cmocka_unit_test(test_leading_zeros_and_unaligned_compressed),
        cmocka_unit_test(test_truncated_and_corrupt_compressed),
        cmocka_unit_test(test_data_after_trailer_in_stream),
        cmocka_unit_test(test_invalid_manifest),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_empty_file_is_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
