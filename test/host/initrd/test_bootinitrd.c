/* test_bootinitrd.c — the boot-initrd builder, read back member by member with
 * libarchive: order, names, modes, owners, sizes, manifest digests, alignment, determinism,
 * the binary-member cache (verified before use, bypassed when it cannot be written, pruned
 * by last use), atomic replacement under injected failures and how a full disk is reported,
 * killed builds' temporary files swept, bad bases and output names refused up front. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include <cmocka.h>

#include "initrd/baseinitrd.h"
#include "initrd/bootinitrd.h"
#include "initrd/cpiowriter.h"
#include "digest.h"
#include "config/hostcfg.h"
#include "fileutil.h"
#include "manifest.h"
#include "testutil.h"

#define BOOT_ID "0123456789abcdef0123456789abcdef"
#define MAX_ENTRIES 8

struct entry {
    char name[128];
    unsigned type, perm;
    int64_t uid, gid, ino, size, mtime;
    unsigned nlink;
    uint8_t sha[32];
    char *data; /* small entries only (manifest, config) */
};

struct member_view {
    size_t n;
    struct entry e[MAX_ENTRIES];
};

static void read_member(const char *buf, size_t len, struct member_view *v)
{
    memset(v, 0, sizeof(*v));
    struct archive *a = archive_read_new();
    assert_non_null(a);
    assert_int_equal(archive_read_support_filter_all(a), ARCHIVE_OK);
    assert_int_equal(archive_read_support_format_cpio(a), ARCHIVE_OK);
    assert_int_equal(archive_read_open_memory(a, buf, len), ARCHIVE_OK);
    struct archive_entry *ae;
    int r;
    while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
        assert_true(v->n < MAX_ENTRIES);
        struct entry *e = &v->e[v->n++];
        snprintf(e->name, sizeof(e->name), "%s", archive_entry_pathname(ae));
        e->type = (unsigned)archive_entry_filetype(ae);
        e->perm = (unsigned)archive_entry_perm(ae);
        e->uid = archive_entry_uid(ae);
        e->gid = archive_entry_gid(ae);
        e->ino = archive_entry_ino64(ae);
        e->nlink = archive_entry_nlink(ae);
        e->size = archive_entry_size(ae);
        e->mtime = (int64_t)archive_entry_mtime(ae);
        struct digest d;
        digest_init(&d);
        size_t cap = (size_t)e->size + 1, got = 0;
        e->data = e->size < (1 << 20) ? calloc(1, cap) : NULL;
        char chunk[65536];
        la_ssize_t n;
        while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
            digest_update(&d, chunk, (size_t)n);
            if (e->data) {
                memcpy(e->data + got, chunk, (size_t)n);
                got += (size_t)n;
            }
        }
        assert_true(n == 0);
        digest_final(&d, e->sha);
    }
    assert_int_equal(r, ARCHIVE_EOF);
    archive_read_free(a);
}

static void free_member(struct member_view *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->e[i].data);
}

struct fixture {
    char *dir, *base, *binary, *config, *out, *cache;
    char *base_bytes, *bin_bytes;
    size_t base_len, bin_len;
};

static void fx_init(struct fixture *f, size_t base_len, size_t bin_len, const char *config)
{
    memset(f, 0, sizeof(*f));
    f->dir = tu_tmpdir();
    f->base = tu_path(f->dir, "base.img");
    f->binary = tu_path(f->dir, "ephemerd-linux");
    f->config = tu_path(f->dir, "config.toml");
    f->out = tu_path(f->dir, "boot.img");
    f->cache = tu_path(f->dir, "cache");
    f->base_len = base_len;
    f->bin_len = bin_len;
    f->base_bytes = malloc(base_len + 1);
    f->bin_bytes = malloc(bin_len + 1);
    tu_fill(f->base_bytes, base_len, 7);
    /* A base starts like an initrd (the builder checks); the rest need not be valid. */
    memcpy(f->base_bytes, "070701", base_len < 6 ? base_len : 6);
    tu_fill(f->bin_bytes, bin_len, 11);
    /* Make the binary compressible in places, like real code. */
    if (bin_len > 4096)
        memset(f->bin_bytes + 1024, 0x90, bin_len / 4);
    tu_write(f->base, f->base_bytes, base_len);
    tu_write(f->binary, f->bin_bytes, bin_len);
    if (config)
        tu_write(f->config, config, strlen(config));
}

static void fx_free(struct fixture *f)
{
    tu_rmrf(f->dir);
    free(f->dir);
    free(f->base);
    free(f->binary);
    free(f->config);
    free(f->out);
    free(f->cache);
    free(f->base_bytes);
    free(f->bin_bytes);
}

static int fx_build(struct fixture *f, enum compress c, bool with_config, const char *out,
                    uint64_t fail_after, struct bootinitrd_result *res, struct evm_err *err)
{
    struct hostcfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    if (with_config)
        assert_int_equal(hostcfg_load(f->config, &cfg, err), 0);
    struct bootinitrd_opts o = {
        .base = f->base,
        .binary = f->binary,
        .config = with_config ? &cfg : NULL,
        .boot_id = BOOT_ID,
        .compress = c,
        .cache_dir = f->cache,
        .out = out ? out : f->out,
        .mtime = 0,
        .fail_after = fail_after,
    };
    int r = bootinitrd_build(&o, res, err);
    hostcfg_free(&cfg);
    return r;
}

static const char *const sample_config = "# ephemerd host config\n"
                                         "[vm.linux]\ncpus = 2\nmemory_mb = 4096\n"
                                         "[dind]\nenabled = true\nallow_privileged = false\n"
                                         "[registry]\ntoken = \"s3cret\"\n";

static void check_layout(enum compress c, bool with_config)
{
    struct fixture f;
    fx_init(&f, 10001, 300000, sample_config);
    struct bootinitrd_result res;
    struct evm_err err = {0};
    assert_int_equal(fx_build(&f, c, with_config, NULL, 0, &res, &err), 0);

    size_t len;
    char *out = tu_read(f.out, &len);
    assert_non_null(out);
    assert_int_equal(len, res.out_size);
    /* The base is copied unchanged, then zero padding to the 4-byte boundary. */
    assert_memory_equal(out, f.base_bytes, f.base_len);
    assert_int_equal(res.base_size, f.base_len);
    assert_int_equal(res.binary_member.offset, (f.base_len + 3) / 4 * 4);
    for (uint64_t i = f.base_len; i < res.binary_member.offset; i++)
        assert_int_equal(out[i], 0);
    assert_int_equal(res.boot_member.offset % 4, 0);
    assert_true(res.boot_member.offset >= res.binary_member.offset + res.binary_member.length);
    for (uint64_t i = res.binary_member.offset + res.binary_member.length;
         i < res.boot_member.offset; i++)
        assert_int_equal(out[i], 0);
    assert_int_equal(res.boot_member.offset + res.boot_member.length, len);

    /* Compression of each member, by magic. */
    const unsigned char *m1 = (const unsigned char *)out + res.binary_member.offset;
    const unsigned char *m2 = (const unsigned char *)out + res.boot_member.offset;
    if (c == COMPRESS_ZSTD) {
        assert_true(m1[0] == 0x28 && m1[1] == 0xb5 && m1[2] == 0x2f && m1[3] == 0xfd);
        assert_true(m2[0] == 0x28 && m2[1] == 0xb5);
    } else if (c == COMPRESS_GZIP) {
        assert_true(m1[0] == 0x1f && m1[1] == 0x8b);
        /* No timestamp in the gzip header (bytes 4..7). */
        assert_true(m1[4] == 0 && m1[5] == 0 && m1[6] == 0 && m1[7] == 0);
        assert_true(m2[4] == 0 && m2[5] == 0 && m2[6] == 0 && m2[7] == 0);
    } else {
        assert_memory_equal(m1, "070701", 6);
        assert_memory_equal(m2, "070701", 6);
    }

    /* Member 1: assets/ (dir 0755), assets/ephemerd-linux (0755, the binary's bytes). */
    struct member_view v1;
    read_member(out + res.binary_member.offset, (size_t)res.binary_member.length, &v1);
    assert_int_equal(v1.n, 2);
    assert_string_equal(v1.e[0].name, "assets");
    assert_int_equal(v1.e[0].type, AE_IFDIR);
    assert_int_equal(v1.e[0].perm, 0755);
    assert_string_equal(v1.e[1].name, "assets/ephemerd-linux");
    assert_int_equal(v1.e[1].type, AE_IFREG);
    assert_int_equal(v1.e[1].perm, 0755);
    assert_int_equal(v1.e[1].size, f.bin_len);
    uint8_t bin_sha[32];
    digest_buf(f.bin_bytes, f.bin_len, bin_sha);
    assert_memory_equal(v1.e[1].sha, bin_sha, 32);
    assert_memory_equal(res.binary_sha256, bin_sha, 32);

    /* Member 2: assets/config.toml (0600, exact bytes) when embedded, assets/manifest. */
    struct member_view v2;
    read_member(out + res.boot_member.offset, (size_t)res.boot_member.length, &v2);
    assert_int_equal(v2.n, with_config ? 2 : 1);
    assert_int_equal(res.config_embedded, with_config);
    const struct entry *man_e = &v2.e[v2.n - 1];
    if (with_config) {
        assert_string_equal(v2.e[0].name, "assets/config.toml");
        assert_int_equal(v2.e[0].type, AE_IFREG);
        assert_int_equal(v2.e[0].perm, 0600);
        assert_int_equal(v2.e[0].size, strlen(sample_config));
        assert_memory_equal(v2.e[0].data, sample_config, strlen(sample_config));
    }
    assert_string_equal(man_e->name, "assets/manifest");
    assert_int_equal(man_e->perm, 0600);

    /* Every entry: uid/gid 0, nlink 1, mtime 0, unique small inode numbers. */
    int64_t inos[MAX_ENTRIES * 2];
    size_t ninos = 0;
    struct member_view *views[] = {&v1, &v2};
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < views[k]->n; i++) {
            const struct entry *e = &views[k]->e[i];
            assert_int_equal(e->uid, 0);
            assert_int_equal(e->gid, 0);
            assert_int_equal(e->nlink, 1);
            assert_int_equal(e->mtime, 0);
            assert_true(e->ino > 0 && e->ino < 100);
            for (size_t j = 0; j < ninos; j++)
                assert_true(inos[j] != e->ino);
            inos[ninos++] = e->ino;
        }
    }

    /* The manifest lists exactly what the tail holds. */
    struct manifest m;
    assert_int_equal(manifest_parse(man_e->data, (size_t)man_e->size, &m, &err), 0);
    assert_string_equal(m.boot_id, BOOT_ID);
    assert_int_equal(m.nfiles, with_config ? 2 : 1);
    const struct manifest_file *mb = manifest_find(&m, "assets/ephemerd-linux");
    assert_non_null(mb);
    assert_int_equal(mb->mode, 0755);
    assert_int_equal(mb->size, f.bin_len);
    assert_memory_equal(mb->sha256, bin_sha, 32);
    const struct manifest_file *mc = manifest_find(&m, "assets/config.toml");
    if (with_config) {
        assert_non_null(mc);
        assert_int_equal(mc->mode, 0600);
        assert_int_equal(mc->size, strlen(sample_config));
        assert_memory_equal(mc->sha256, v2.e[0].sha, 32);
    } else {
        assert_null(mc);
    }
    free_member(&v1);
    free_member(&v2);
    free(out);
    fx_free(&f);
}

static void test_layout_zstd(void **state)
{
    (void)state;
    check_layout(COMPRESS_ZSTD, true);
}
static void test_layout_gzip(void **state)
{
    (void)state;
    check_layout(COMPRESS_GZIP, true);
}
static void test_layout_none(void **state)
{
    (void)state;
    check_layout(COMPRESS_NONE, true);
}
static void test_layout_without_config(void **state)
{
    (void)state;
    check_layout(COMPRESS_ZSTD, false);
    check_layout(COMPRESS_NONE, false);
}

/* Every remainder of the base size mod 4 gets padded to a 4-byte boundary with zeros. */
static void test_alignment_every_remainder(void **state)
{
    (void)state;
    for (size_t base = 4096; base < 4096 + 8; base++) {
        struct fixture f;
        fx_init(&f, base, 5000, sample_config);
        struct bootinitrd_result res;
        struct evm_err err = {0};
        assert_int_equal(fx_build(&f, COMPRESS_GZIP, true, NULL, 0, &res, &err), 0);
        assert_int_equal(res.binary_member.offset, (base + 3) & ~(size_t)3);
        assert_int_equal(res.boot_member.offset % 4, 0);
        size_t len;
        char *out = tu_read(f.out, &len);
        for (size_t i = base; i < res.binary_member.offset; i++)
            assert_int_equal(out[i], 0);
        struct member_view v;
        read_member(out + res.boot_member.offset, (size_t)res.boot_member.length, &v);
        assert_int_equal(v.n, 2);
        free_member(&v);
        free(out);
        fx_free(&f);
    }
}

/* Same inputs and boot id → identical bytes, whether the binary member came from the cache
 * or was built; the cache is used the second time. */
static void test_deterministic_and_cached(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, 8192, 200000, sample_config);
    struct evm_err err = {0};
    struct bootinitrd_result r1, r2;
    char *out2 = tu_path(f.dir, "boot2.img");
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &r1, &err), 0);
    assert_false(r1.cache_hit);
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, out2, 0, &r2, &err), 0);
    assert_true(r2.cache_hit);
    size_t l1, l2;
    char *a = tu_read(f.out, &l1), *b = tu_read(out2, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(a, b, l1);
    free(a);
    free(b);

    /* A fresh cache (different directory) produces the same bytes again. */
    free(f.cache);
    f.cache = tu_path(f.dir, "cache-other");
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, out2, 0, &r2, &err), 0);
    assert_false(r2.cache_hit);
    a = tu_read(f.out, &l1);
    b = tu_read(out2, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(a, b, l1);
    free(a);
    free(b);
    free(out2);
    fx_free(&f);
}

/* A changed binary with the same size and mtime never boots from the stale cache. */
static void test_cache_keyed_by_content(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, 4096, 100000, sample_config);
    struct evm_err err = {0};
    struct bootinitrd_result res;
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
    struct stat st;
    assert_int_equal(stat(f.binary, &st), 0);

    f.bin_bytes[50000] ^= 0x5a; /* same size */
    tu_write(f.binary, f.bin_bytes, f.bin_len);
    struct utimbuf ut = {.actime = st.st_atime, .modtime = st.st_mtime};
    assert_int_equal(utime(f.binary, &ut), 0);

    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
    assert_false(res.cache_hit);
    size_t len;
    char *out = tu_read(f.out, &len);
    struct member_view v;
    read_member(out + res.binary_member.offset, (size_t)res.binary_member.length, &v);
    uint8_t sha[32];
    digest_buf(f.bin_bytes, f.bin_len, sha);
    assert_memory_equal(v.e[1].sha, sha, 32);
    assert_memory_equal(res.binary_sha256, sha, 32);
    free_member(&v);
    free(out);

    /* Only the current binary's member stays in the cache. */
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
    assert_true(res.cache_hit);
    fx_free(&f);
}

/* Temporary files (atomicfile's "<name>.tmp-XXXXXXXXXXXX") left in dir. */
static size_t count_temps(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, ".tmp-"))
            n++;
    closedir(d);
    return n;
}

/* An injected write failure at any point leaves the previous boot initrd intact. */
static void test_failure_keeps_previous(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, 20000, 150000, sample_config);
    struct evm_err err = {0};
    struct bootinitrd_result res;
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
    size_t good_len;
    char *good = tu_read(f.out, &good_len);

    /* Change the config so a successful build would differ, then fail mid-base, mid-binary
     * member (cache miss: a new binary) and mid-boot member. */
    tu_write(f.config, "[dind]\nenabled = false\n", 23);
    f.bin_bytes[10] ^= 1;
    tu_write(f.binary, f.bin_bytes, f.bin_len);
    uint64_t points[] = {1, 10000, res.binary_member.offset + 100, res.boot_member.offset + 8};
    for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
        evm_err_clear(&err);
        int r = fx_build(&f, COMPRESS_ZSTD, true, NULL, points[i], &res, &err);
        assert_int_equal(r, -ENOSPC);
        assert_non_null(strstr(err.msg, "No space left"));
        size_t len;
        char *now = tu_read(f.out, &len);
        assert_int_equal(len, good_len);
        assert_memory_equal(now, good, good_len);
        free(now);
        assert_int_equal(count_temps(f.dir), 0);
        assert_int_equal(count_temps(f.cache), 0);
    }
    free(good);
    fx_free(&f);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, 100, 100, sample_config);
    struct evm_err err = {0};
    struct bootinitrd_result res;
    char *missing = tu_path(f.dir, "nope");

    free(f.base);
    f.base = strdup(missing);
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "base initrd"));
    assert_non_null(strstr(err.msg, "nope"));
    free(f.base);
    f.base = tu_path(f.dir, "base.img");

    free(f.binary);
    f.binary = strdup(missing);
    evm_err_clear(&err);
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "daemon binary"));
    free(f.binary);
    f.binary = tu_path(f.dir, "ephemerd-linux");

    /* A directory as the base is refused, not read. */
    free(f.base);
    f.base = strdup(f.dir);
    evm_err_clear(&err);
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "not a regular file"));
    free(f.base);
    f.base = tu_path(f.dir, "base.img");

    struct bootinitrd_opts o = {.base = f.base, .binary = f.binary, .boot_id = "XYZ", .out = f.out};
    evm_err_clear(&err);
    assert_int_equal(bootinitrd_build(&o, &res, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "boot id"));
    assert_null(tu_read(f.out, NULL));
    free(missing);
    fx_free(&f);
}

static void test_source_date_epoch(void **state)
{
    (void)state;
    struct evm_err err = {0};
    uint64_t m = 99;
    assert_int_equal(tu_setenv("SOURCE_DATE_EPOCH", "1700000000"), 0);
    assert_int_equal(bootinitrd_mtime_from_env(&m, &err), 0);
    assert_int_equal(m, 1700000000u);
    assert_int_equal(tu_setenv("SOURCE_DATE_EPOCH", "17x"), 0);
    assert_int_equal(bootinitrd_mtime_from_env(&m, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "SOURCE_DATE_EPOCH"));
    assert_int_equal(tu_setenv("SOURCE_DATE_EPOCH", "99999999999"), 0);
    assert_int_equal(bootinitrd_mtime_from_env(&m, &err), -EINVAL);
    assert_int_equal(tu_setenv("SOURCE_DATE_EPOCH", NULL), 0);
    assert_int_equal(bootinitrd_mtime_from_env(&m, &err), 0);
    assert_int_equal(m, 0);
}

/* The newc header holds a 32-bit mtime: both builders refuse a larger one up front, through
 * the one check in cpiowriter.c, and write nothing. */
static void test_mtime_limit(void **state)
{
    (void)state;
    struct evm_err err = {0};
    assert_int_equal(cpio_check_mtime(0, &err), 0);
    assert_int_equal(cpio_check_mtime(CPIO_MTIME_MAX, &err), 0);
    assert_int_equal(cpio_check_mtime((uint64_t)CPIO_MTIME_MAX + 1, &err), -EINVAL);
    assert_string_equal(err.msg, "mtime 4294967296 does not fit the cpio header");

    struct fixture f;
    fx_init(&f, 100, 100, NULL);
    struct bootinitrd_opts bo = {.base = f.base,
                                 .binary = f.binary,
                                 .boot_id = BOOT_ID,
                                 .cache_dir = f.cache,
                                 .out = f.out,
                                 .mtime = (uint64_t)CPIO_MTIME_MAX + 1};
    struct bootinitrd_result bres;
    evm_err_clear(&err);
    assert_int_equal(bootinitrd_build(&bo, &bres, &err), -EINVAL);
    assert_string_equal(err.msg, "mtime 4294967296 does not fit the cpio header");
    assert_null(tu_read(f.out, NULL));

    char *list = tu_path(f.dir, "base.list");
    tu_write(list, "dir /proc 0555\n", 15);
    struct baseinitrd_opts ao = {.list = list, .out = f.out, .mtime = 1ull << 40};
    struct baseinitrd_result ares;
    evm_err_clear(&err);
    assert_int_equal(baseinitrd_build(&ao, &ares, &err), -EINVAL);
    assert_string_equal(err.msg, "mtime 1099511627776 does not fit the cpio header");
    assert_null(tu_read(f.out, NULL));
    ao.mtime = CPIO_MTIME_MAX;
    assert_int_equal(baseinitrd_build(&ao, &ares, &err), 0);
    assert_int_equal(ares.entries, 1);
    free(list);
    fx_free(&f);
}

/* Refused before anything is written: an empty daemon binary, and an output that is the base
 * itself (it would be replaced by the build). */
static void test_empty_binary_and_output_onto_base(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, 100, 0, NULL);
    struct bootinitrd_opts bo = {
        .base = f.base, .binary = f.binary, .boot_id = BOOT_ID, .cache_dir = f.cache, .out = f.out};
    struct bootinitrd_result res;
    struct evm_err err = {0};
    assert_int_equal(bootinitrd_build(&bo, &res, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "empty file"));
    assert_null(tu_read(f.out, NULL));
    fx_free(&f);

    fx_init(&f, 100, 100, NULL);
    size_t before_len;
    char *before = tu_read(f.base, &before_len);
    bo = (struct bootinitrd_opts){.base = f.base,
                                  .binary = f.binary,
                                  .boot_id = BOOT_ID,
                                  .cache_dir = f.cache,
                                  .out = f.base};
    evm_err_clear(&err);
    assert_int_equal(bootinitrd_build(&bo, &res, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "it would be replaced"));
    size_t after_len;
    char *after = tu_read(f.base, &after_len);
    assert_int_equal(after_len, before_len);
    assert_memory_equal(after, before, before_len);
    free(before);
    free(after);
    fx_free(&f);
}

/* ---- leftovers, the cache's verification and failures, refusals ----------------------- */

/* The paths in dir whose names end in suffix (at most max), malloc'd; returns the count. */
static size_t find_suffix(const char *dir, const char *suffix, char **out, size_t max)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    size_t sl = strlen(suffix);
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > sl && strcmp(de->d_name + l - sl, suffix) == 0) {
            if (n < max)
                out[n] = tu_path(dir, de->d_name);
            n++;
        }
    }
    closedir(d);
    return n;
}

/* The one cached member in dir. */
static char *the_member(const char *dir)
{
    char *m[4] = {0};
    size_t n = find_suffix(dir, ".member", m, 4);
    for (size_t i = 1; i < n && i < 4; i++)
        free(m[i]);
    assert_int_equal(n, 1);
    return m[0];
}

static char *with_suffix(const char *path, const char *suffix)
{
    size_t a = strlen(path), b = strlen(suffix);
    char *p = malloc(a + b + 1);
    assert_non_null(p);
    memcpy(p, path, a);
    memcpy(p + a, suffix, b + 1);
    return p;
}

static void assert_same_file(const char *path, const char *want, size_t want_len)
{
    size_t len;
    char *got = tu_read(path, &len);
    assert_non_null(got);
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, want_len);
    free(got);
}

/* Temporary files of killed builds (of the output and its record, and in the cache) are
 * removed at the start of the next build, matched by their exact naming pattern: look-alikes
 * stay. */
static void test_sweeps_temps_of_killed_builds(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, 20000, 150000, sample_config);
    struct evm_err err = {0};
    struct bootinitrd_result res;
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
    char *member = the_member(f.cache);
    char *dead[] = {
        with_suffix(f.out, ".tmp-0123456789ab"),
        with_suffix(f.out, ".tmp-aaaaaaaaaaaa"),
        with_suffix(f.out, ".record.tmp-dddddddddddd"), /* the output's record */
        with_suffix(member, ".tmp-bbbbbbbbbbbb"),
        with_suffix(member, ".sum.tmp-cccccccccccc"),
    };
    char *alive[] = {
        with_suffix(f.out, ".tmp-zz"),
        with_suffix(f.out, ".tmpx"),
        with_suffix(f.out, ".tmp-ABCDEF012345"), /* uppercase */
        tu_path(f.dir, "notes.txt.tmp-0123456789ab"),
        tu_path(f.cache, "other.tmp-0123456789ab"),
        with_suffix(member, "x.tmp-0123456789ab"),
        with_suffix(f.out, ".recordx.tmp-0123456789ab"),
    };
    char junk[5000];
    tu_fill(junk, sizeof(junk), 1);
    for (size_t i = 0; i < sizeof(dead) / sizeof(dead[0]); i++)
        tu_write(dead[i], junk, sizeof(junk));
    for (size_t i = 0; i < sizeof(alive) / sizeof(alive[0]); i++)
        tu_write(alive[i], junk, 10);

    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
    for (size_t i = 0; i < sizeof(dead) / sizeof(dead[0]); i++) {
        assert_null(tu_read(dead[i], NULL));
        free(dead[i]);
    }
    for (size_t i = 0; i < sizeof(alive) / sizeof(alive[0]); i++) {
        char *b = tu_read(alive[i], NULL);
        assert_non_null(b);
        free(b);
        free(alive[i]);
    }
    size_t len;
    char *out = tu_read(f.out, &len);
    assert_int_equal(len, res.out_size);
    struct member_view v;
    read_member(out + res.boot_member.offset, (size_t)res.boot_member.length, &v);
    assert_int_equal(v.n, 2);
    free_member(&v);
    free(out);
    free(member);
    fx_free(&f);
}

/* A damaged cached member (truncated, a byte changed, its record missing or garbled) is not
 * used: it is discarded and built again, giving the same output as before, and the next
 * build uses the rebuilt member. */
static void test_damaged_member_rebuilt(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, 4096, 200000, sample_config);
    struct evm_err err = {0};
    struct bootinitrd_result res;
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
    size_t good_len, mlen, rlen;
    char *good = tu_read(f.out, &good_len);
    char *member = the_member(f.cache);
    char *record = with_suffix(member, ".sum");
    char *mbytes = tu_read(member, &mlen);
    char *rbytes = tu_read(record, &rlen);
    assert_non_null(rbytes);
    assert_non_null(strstr(rbytes, "ephemerd-member-sum 1\nlength "));
    assert_int_equal(mlen, res.binary_member.length);

    for (int damage = 0; damage < 5; damage++) {
        switch (damage) {
        case 0: /* truncated, as a full disk or a crash of another tool would leave it */
            tu_write(member, mbytes, mlen / 2);
            break;
        case 1: /* same length, one byte changed */
            mbytes[mlen / 3] ^= 0x20;
            tu_write(member, mbytes, mlen);
            mbytes[mlen / 3] ^= 0x20;
            break;
        case 2: /* no record */
            assert_int_equal(remove(record), 0);
            break;
        case 3: /* a garbled record */
            tu_write(record, "ephemerd-member-sum 1\nlength 12\n", 32);
            break;
        case 4: /* an empty member */
            tu_write(member, "", 0);
            break;
        }
        evm_err_clear(&err);
        assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
        assert_false(res.cache_hit);
        assert_same_file(f.out, good, good_len);
        assert_same_file(member, mbytes, mlen);
        assert_same_file(record, rbytes, rlen);
        assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
        assert_true(res.cache_hit);
        assert_same_file(f.out, good, good_len);
    }
    free(good);
    free(mbytes);
    free(rbytes);
    free(member);
    free(record);
    fx_free(&f);
}

static void assert_output_valid(const struct fixture *f, const struct bootinitrd_result *res)
{
    size_t len;
    char *out = tu_read(f->out, &len);
    assert_non_null(out);
    assert_int_equal(len, res->out_size);
    struct member_view v;
    read_member(out + res->binary_member.offset, (size_t)res->binary_member.length, &v);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.e[1].size, f->bin_len);
    free_member(&v);
    free(out);
}

/* A cache that cannot be created (its parent is a file) or written (the member's name is
 * taken by a directory) is bypassed: the build succeeds, the member goes into the output
 * only. */
static void test_unwritable_cache_bypassed(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, 4096, 100000, sample_config);
    struct evm_err err = {0};
    struct bootinitrd_result res;
    char *file = tu_path(f.dir, "a-file");
    tu_write(file, "x", 1);
    free(f.cache);
    f.cache = tu_path(file, "cache");
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
    assert_false(res.cache_hit);
    assert_output_valid(&f, &res);
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
    assert_false(res.cache_hit);
    assert_output_valid(&f, &res);

    /* The member's name is a non-empty directory: not used, not removable, not writable. */
    free(f.cache);
    f.cache = tu_path(f.dir, "cache");
    uint8_t sha[32];
    char hex[65], name[200];
    digest_buf(f.bin_bytes, f.bin_len, sha);
    hex_encode(sha, 32, hex);
    snprintf(name, sizeof(name), "ephemerd-linux-%s-zstd-m0-v1.member", hex);
    char *mdir = tu_path(f.cache, name);
    char *inside = tu_path(mdir, "f");
    assert_int_equal(mkdir_p(mdir, &err), 0);
    tu_write(inside, "x", 1);
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
    assert_false(res.cache_hit);
    assert_output_valid(&f, &res);
    assert_int_equal(path_exists(inside), 1);
    assert_int_equal(count_temps(f.cache), 0);
    free(inside);
    free(mdir);
    free(file);
    fx_free(&f);
}

/* Pruning keeps members used recently (a concurrent build with another binary keeps its
 * member) and removes, with their records, those unused for longer than the keep time; a
 * hit marks its member used. */
static void test_prune_by_last_use(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, 4096, 100000, sample_config);
    struct evm_err err = {0};
    struct bootinitrd_result res;
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
    char *a = the_member(f.cache);
    char *a_rec = with_suffix(a, ".sum");

    f.bin_bytes[100] ^= 1; /* another binary, as a concurrent build would have */
    tu_write(f.binary, f.bin_bytes, f.bin_len);
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
    assert_false(res.cache_hit);
    char *m[4] = {0};
    assert_int_equal(find_suffix(f.cache, ".member", m, 4), 2);
    char *b = strcmp(m[0], a) == 0 ? m[1] : m[0];
    assert_int_equal(path_exists(a), 1);
    assert_int_equal(path_exists(a_rec), 1);

    /* a last used long ago; b too, until its hit marks it used now. */
    time_t now = time(NULL);
    struct utimbuf old = {.actime = now - 3600, .modtime = now - 3600};
    assert_int_equal(utime(a, &old), 0);
    assert_int_equal(utime(b, &old), 0);
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
    assert_true(res.cache_hit);
    assert_int_equal(path_exists(a), 0);
    assert_int_equal(path_exists(a_rec), 0);
    assert_int_equal(path_exists(b), 1);
    struct stat st;
    assert_int_equal(stat(b, &st), 0);
    assert_true(st.st_mtime > now - 600);
    free(m[0]);
    free(m[1]);
    free(a);
    free(a_rec);
    fx_free(&f);
}

/* A base that is not an initrd (empty, garbage, an old-format cpio archive, only zeros) is
 * refused before anything is written; compressed bases and leading zero padding are
 * accepted, as the kernel accepts them. */
static void test_bad_base_refused(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
        const char *says;
    } bad[] = {
        {"", 0, "empty file"},
        {"this is not an initrd at all, just some text\n", 45, "not an initrd"},
        {"070707000000000000000000000000", 30, "odc"},
        {"\0\0\0\0\0\0\0\0\0\0\0\0", 12, "zero bytes"},
        {"\0\0"
         "070701",
         8, "not an initrd"}, /* cpio off a 4-byte boundary */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct fixture f;
        fx_init(&f, 100, 1000, sample_config);
        tu_write(f.base, bad[i].bytes, bad[i].len);
        struct evm_err err = {0};
        struct bootinitrd_result res;
        assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "base initrd"));
        assert_non_null(strstr(err.msg, f.base));
        assert_non_null(strstr(err.msg, bad[i].says));
        assert_null(tu_read(f.out, NULL));
        assert_int_equal(path_exists(f.cache), 0);
        assert_int_equal(count_temps(f.dir), 0);
        fx_free(&f);
    }
    static const struct {
        const char *bytes;
        size_t len;
    } good[] = {
        {"\x1f\x8b\x08\0\0\0\0\0", 8},
        {"\x28\xb5\x2f\xfd\0\0", 6},
        {"\xfd"
         "7zXZ\0\0",
         7},
        {"\x02\x21\x4c\x18\0", 5},
        {"\0\0\0\0"
         "070701",
         10},
        {"070702", 6},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct fixture f;
        fx_init(&f, 100, 1000, sample_config);
        tu_write(f.base, good[i].bytes, good[i].len);
        struct evm_err err = {0};
        struct bootinitrd_result res;
        assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
        assert_int_equal(res.base_size, good[i].len);
        fx_free(&f);
    }
}

/* An output name that cannot be a file (empty, a directory, ending in a separator, in a
 * missing directory) is refused before anything is written, and no cache member appears
 * (with the default cache, the directory of the output: the working directory for ""). */
static void test_bad_output_refused(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, 100, 1000, sample_config);
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(f.dir), 0);
    char *sub = tu_path(f.dir, "sub");
    struct evm_err err = {0};
    assert_int_equal(mkdir_p(sub, &err), 0);
    char *slash = with_suffix(sub, "/");
    char *missing = tu_path(f.dir, "missing/boot.img");
    static const int codes[] = {-EINVAL, -EISDIR, -EISDIR, -ENOENT};
    const char *outs[] = {"", sub, slash, missing};
    for (size_t i = 0; i < 4; i++) {
        struct bootinitrd_opts o = {
            .base = f.base, .binary = f.binary, .boot_id = BOOT_ID, .out = outs[i]};
        struct bootinitrd_result res;
        evm_err_clear(&err);
        assert_int_equal(bootinitrd_build(&o, &res, &err), codes[i]);
        assert_non_null(strstr(err.msg, "output"));
        char *m[2] = {0};
        assert_int_equal(find_suffix(f.dir, ".member", m, 2), 0);
        assert_int_equal(find_suffix(sub, ".member", m, 2), 0);
        assert_int_equal(count_temps(f.dir), 0);
        assert_int_equal(count_temps(sub), 0);
    }
    assert_int_equal(chdir(cwd), 0);
    free(sub);
    free(slash);
    free(missing);
    fx_free(&f);
}

/* A full disk is reported as a failure writing the boot initrd, naming its temporary file —
 * the background base copy's failure first — never as the member being written then
 * ("assets/ephemerd-linux: writing …"). */
static void test_full_disk_reported_as_output(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, 20000, 150000, sample_config);
    struct evm_err err = {0};
    struct bootinitrd_result res;
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 0, &res, &err), 0);
    uint64_t in_binary = res.binary_member.offset + 100;

    /* Inside the base: the background copy fails, and the appends after it. */
    evm_err_clear(&err);
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, 10000, &res, &err), -ENOSPC);
    assert_non_null(strstr(err.msg, "copying the base initrd into the boot initrd"));
    assert_non_null(strstr(err.msg, "boot.img.tmp-"));
    assert_non_null(strstr(err.msg, "No space left on device"));
    assert_null(strstr(err.msg, "assets/"));

    /* Inside the binary member (a new binary: built, not copied). */
    f.bin_bytes[7] ^= 1;
    tu_write(f.binary, f.bin_bytes, f.bin_len);
    evm_err_clear(&err);
    assert_int_equal(fx_build(&f, COMPRESS_ZSTD, true, NULL, in_binary, &res, &err), -ENOSPC);
    assert_non_null(strstr(err.msg, "writing the boot initrd"));
    assert_non_null(strstr(err.msg, "boot.img.tmp-"));
    assert_non_null(strstr(err.msg, "No space left on device"));
    assert_null(strstr(err.msg, "assets/"));
    assert_int_equal(count_temps(f.dir), 0);
    assert_int_equal(count_temps(f.cache), 0);
    fx_free(&f);
}

static void test_compress_names(void **state)
{
    (void)state;
    enum compress c;
    assert_int_equal(compress_parse("zstd", &c), 0);
    assert_int_equal(c, COMPRESS_ZSTD);
    assert_int_equal(compress_parse("gzip", &c), 0);
    assert_int_equal(c, COMPRESS_GZIP);
    assert_int_equal(compress_parse("none", &c), 0);
    assert_int_equal(c, COMPRESS_NONE);
    assert_int_equal(compress_parse("xz", &c), -EINVAL);
    assert_string_equal(compress_name(COMPRESS_DEFAULT), "zstd");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_zstd),
        cmocka_unit_test(test_layout_gzip),
        cmocka_unit_test(test_layout_none),
        cmocka_unit_test(test_layout_without_config),
        cmocka_unit_test(test_alignment_every_remainder),
        cmocka_unit_test(test_deterministic_and_cached),
        cmocka_unit_test(test_cache_keyed_by_content),
        cmocka_unit_test(test_failure_keeps_previous),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_source_date_epoch),
        cmocka_unit_test(test_mtime_limit),
        cmocka_unit_test(test_empty_binary_and_output_onto_base),
        cmocka_unit_test(test_compress_names),
        cmocka_unit_test(test_sweeps_temps_of_killed_builds),
        cmocka_unit_test(test_damaged_member_rebuilt),
        cmocka_unit_test(test_unwritable_cache_bypassed),
        cmocka_unit_test(test_prune_by_last_use),
        cmocka_unit_test(test_bad_base_refused),
        cmocka_unit_test(test_bad_output_refused),
        cmocka_unit_test(test_full_disk_reported_as_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
