/* test_bootwarm.c — the boot initrd's in-place update (host/initrd/bootwarm.c), portable:
 * runs natively and under wine. With the same base, binary and options, a build after a
 * full one rewrites only the boot member of the same file, and the bytes equal those of a
 * full build for the same inputs; any change of an input, an option, the output or the
 * record, or a request, gives a full build; a failure after the output was cut is an error and the
 * next build is a full, valid one; inputs changed just before a build are not trusted. The record's
 * strict parser. POSIX-only cases (links, owners, FIFOs) are in test_bootwarm_posix.c.
 *
 * Inputs younger than BOOTWARM_SETTLE_NS are never recorded, so the group setup writes
 * every test's inputs first and waits once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utime.h>

#include "config/hostcfg.h"
#include "fileid.h"
#include "fileutil.h"
#include "initrd/bootinitrd.h"
#include "initrd/bootrecord.h"
#include "initrd/bootwarm.h"
#include "testutil.h"

#define ID_A "0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210"
#define ID_C "00000000000000000000000000000c0c"

enum { NSETS = 11 };
#define BASE_LEN 10001
#define BIN_LEN 150000

static const char cfg1[] = "[vm.linux]\ncpus = 2\nmemory_mb = 4096\n";
static const char cfg2[] = "[vm.linux]\ncpus = 4\nmemory_mb = 2048\n[dind]\nenabled = true\n";

/* One test's files: inputs written by the group setup, outputs of its own. */
struct tc {
    char *dir, *base, *bin, *cfg1, *cfg2, *out, *record, *ref, *ref_record, *cache;
    char *alt_base; /* another settled base of the same size */
};

struct world {
    char *dir;
    struct tc sets[NSETS];
};

static void nap_ms(unsigned ms)
{
    while (ms > 0) {
        unsigned step = ms > 500 ? 500 : ms;
        usleep(step * 1000u);
        ms -= step;
    }
}

static char *name_in(const char *dir, const char *stem, int i)
{
    char name[64];
    snprintf(name, sizeof(name), "%s-%d", stem, i);
    return tu_path(dir, name);
}

/* A daemon binary: compressible in places, like real code. */
static void write_binary(const char *path, uint32_t seed)
{
    char *b = malloc(BIN_LEN);
    assert_non_null(b);
    tu_fill(b, BIN_LEN, seed);
    memset(b + 1024, 0x90, BIN_LEN / 4);
    tu_write(path, b, BIN_LEN);
    free(b);
}

/* A base starts like an initrd (the builder checks); the rest need not be valid. */
static void write_base(const char *path, uint32_t seed)
{
    char *b = malloc(BASE_LEN);
    assert_non_null(b);
    tu_fill(b, BASE_LEN, seed);
    memcpy(b, "070701", 6);
    tu_write(path, b, BASE_LEN);
    free(b);
}

static int group_setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    w->dir = tu_tmpdir();
    for (int i = 0; i < NSETS; i++) {
        struct tc *t = &w->sets[i];
        t->dir = w->dir;
        t->base = name_in(w->dir, "base", i);
        t->alt_base = name_in(w->dir, "base-alt", i);
        t->bin = name_in(w->dir, "bin", i);
        t->cfg1 = name_in(w->dir, "cfg1", i);
        t->cfg2 = name_in(w->dir, "cfg2", i);
        t->out = name_in(w->dir, "boot.img", i);
        t->ref = name_in(w->dir, "ref.img", i);
        t->cache = name_in(w->dir, "cache", i);
        size_t n = strlen(t->out) + sizeof(BOOTRECORD_SUFFIX);
        t->record = malloc(n);
        snprintf(t->record, n, "%s%s", t->out, BOOTRECORD_SUFFIX);
        n = strlen(t->ref) + sizeof(BOOTRECORD_SUFFIX);
        t->ref_record = malloc(n);
        snprintf(t->ref_record, n, "%s%s", t->ref, BOOTRECORD_SUFFIX);
        write_base(t->base, 100 + (uint32_t)i);
        write_base(t->alt_base, 200 + (uint32_t)i);
        write_binary(t->bin, 300 + (uint32_t)i);
        tu_write(t->cfg1, cfg1, strlen(cfg1));
        tu_write(t->cfg2, cfg2, strlen(cfg2));
    }
    nap_ms((unsigned)(BOOTWARM_SETTLE_NS / 1000000) + 200);
    *state = w;
    return 0;
}

static int group_teardown(void **state)
{
    struct world *w = *state;
    for (int i = 0; i < NSETS; i++) {
        struct tc *t = &w->sets[i];
        char **p[] = {&t->base, &t->alt_base, &t->bin, &t->cfg1,       &t->cfg2,
                      &t->out,  &t->record,   &t->ref, &t->ref_record, &t->cache};
        for (size_t k = 0; k < sizeof(p) / sizeof(p[0]); k++)
            free(*p[k]);
    }
    tu_rmrf(w->dir);
    free(w->dir);
    free(w);
    return 0;
}

static struct tc *set(void **state, int i)
{
    return &((struct world *)*state)->sets[i];
}

struct bopts {
    const char *out; /* NULL: t->out */
    const char *id;  /* NULL: ID_A */
    const char *cfg; /* config path or NULL (none embedded) */
    enum compress compress;
    uint64_t mtime;
    uint64_t fail_after;
    bool full;
};

static int build(struct tc *t, const struct bopts *b, struct bootinitrd_result *res,
                 struct evm_err *err)
{
    struct hostcfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    if (b->cfg)
        assert_int_equal(hostcfg_load(b->cfg, &cfg, err), 0);
    struct bootinitrd_opts o = {
        .base = t->base,
        .binary = t->bin,
        .config = b->cfg ? &cfg : NULL,
        .boot_id = b->id ? b->id : ID_A,
        .compress = b->compress,
        .cache_dir = t->cache,
        .out = b->out ? b->out : t->out,
        .mtime = b->mtime,
        .fail_after = b->fail_after,
        .full = b->full,
    };
    int r = bootinitrd_build(&o, res, err);
    hostcfg_free(&cfg);
    return r;
}

static struct bootinitrd_result build_ok(struct tc *t, const struct bopts *b)
{
    struct bootinitrd_result res;
    struct evm_err err = {0};
    int r = build(t, b, &res, &err);
    if (r != 0)
        fail_msg("build failed: %s", err.msg);
    return res;
}

static bool exists(const char *path)
{
    return path_exists(path) == 1;
}

/* t->out holds exactly what a full build writes for b (into t->ref, with no record there,
 * so it cannot be an in-place update itself), and res reports the same layout. */
static void assert_equals_full_build(struct tc *t, struct bopts b,
                                     const struct bootinitrd_result *res)
{
    remove(t->ref);
    remove(t->ref_record);
    b.out = t->ref;
    b.fail_after = 0;
    struct bootinitrd_result full = build_ok(t, &b);
    assert_false(full.in_place);
    size_t la, lb;
    char *a = tu_read(t->out, &la), *c = tu_read(t->ref, &lb);
    assert_non_null(a);
    assert_non_null(c);
    assert_int_equal(la, lb);
    assert_memory_equal(a, c, la);
    free(a);
    free(c);
    assert_int_equal(res->out_size, full.out_size);
    assert_int_equal(res->base_size, full.base_size);
    assert_int_equal(res->binary_member.offset, full.binary_member.offset);
    assert_int_equal(res->binary_member.length, full.binary_member.length);
    assert_int_equal(res->boot_member.offset, full.boot_member.offset);
    assert_int_equal(res->boot_member.length, full.boot_member.length);
    assert_int_equal(res->config_embedded, full.config_embedded);
    assert_memory_equal(res->binary_sha256, full.binary_sha256, 32);
}

/* Nothing changed but the boot id and the config: the same file, only its tail rewritten,
 * the bytes of a full build — for every compression. */
static void test_in_place_when_inputs_unchanged(void **state)
{
    struct tc *t = set(state, 0);
    enum compress cs[] = {COMPRESS_ZSTD, COMPRESS_GZIP, COMPRESS_NONE};
    for (size_t i = 0; i < 3; i++) {
        struct bopts b = {.id = ID_A, .cfg = t->cfg1, .compress = cs[i]};
        struct bootinitrd_result r1 = build_ok(t, &b);
        assert_false(r1.in_place); /* another compression than the previous build */
        assert_true(exists(t->record));
        struct file_id before = tu_file_id(t->out);

        b.id = ID_B;
        b.cfg = t->cfg2;
        struct bootinitrd_result r2 = build_ok(t, &b);
        assert_true(r2.in_place);
        assert_true(r2.cache_hit);
        assert_true(r2.config_embedded);
        struct file_id after = tu_file_id(t->out);
        assert_true(file_id_same_file(&before, &after));
        assert_int_equal(r2.boot_member.offset, r1.boot_member.offset);
        assert_true(exists(t->record));
        assert_equals_full_build(t, b, &r2);

        /* And again, without a config: still in place. */
        b.id = ID_C;
        b.cfg = NULL;
        struct bootinitrd_result r3 = build_ok(t, &b);
        assert_true(r3.in_place);
        assert_false(r3.config_embedded);
        assert_equals_full_build(t, b, &r3);
    }
}

/* A change of compression or entry mtime is a full build; then in place again. */
static void test_full_when_options_change(void **state)
{
    struct tc *t = set(state, 1);
    struct bopts b = {.id = ID_A, .cfg = t->cfg1};
    assert_false(build_ok(t, &b).in_place);
    assert_true(build_ok(t, &b).in_place);

    b.compress = COMPRESS_GZIP;
    struct bootinitrd_result r = build_ok(t, &b);
    assert_false(r.in_place);
    assert_equals_full_build(t, b, &r);
    assert_true(build_ok(t, &b).in_place);

    b.mtime = 1700000000;
    r = build_ok(t, &b);
    assert_false(r.in_place);
    assert_equals_full_build(t, b, &r);
    r = build_ok(t, &b);
    assert_true(r.in_place);
    assert_equals_full_build(t, b, &r);
}

/* A full build on request (after a failed boot): the record is ignored, then written again. */
static void test_full_on_request(void **state)
{
    struct tc *t = set(state, 10);
    struct bopts b = {.id = ID_A, .cfg = t->cfg1};
    build_ok(t, &b);
    struct file_id before = tu_file_id(t->out);
    b.full = true;
    b.id = ID_B;
    struct bootinitrd_result r = build_ok(t, &b);
    assert_false(r.in_place);
    struct file_id after = tu_file_id(t->out);
    assert_false(file_id_same_file(&before, &after)); /* a new file */
    assert_equals_full_build(t, b, &r);
    b.full = false;
    assert_true(build_ok(t, &b).in_place);
}

/* The base's bytes changed (same size), its mtime alone changed, or another file took its
 * name: each time a full build, from the new base. */
static void test_full_when_base_changes(void **state)
{
    struct tc *t = set(state, 2);
    struct bopts b = {.id = ID_A, .cfg = t->cfg1};
    build_ok(t, &b);
    assert_true(build_ok(t, &b).in_place);

    write_base(t->base, 999); /* same size, other bytes */
    struct bootinitrd_result r = build_ok(t, &b);
    assert_false(r.in_place);
    assert_equals_full_build(t, b, &r);

    /* Just changed: not recorded, so the next build is a full one too. */
    assert_false(exists(t->record));
    assert_false(build_ok(t, &b).in_place);

    /* Another settled file takes the base's name. */
    assert_int_equal(remove(t->base), 0);
    assert_int_equal(rename(t->alt_base, t->base), 0);
    r = build_ok(t, &b);
    assert_false(r.in_place);
    assert_equals_full_build(t, b, &r);
}

static void test_full_when_base_touched(void **state)
{
    struct tc *t = set(state, 3);
    struct bopts b = {.id = ID_A, .cfg = t->cfg1};
    build_ok(t, &b);
    assert_true(build_ok(t, &b).in_place);
    struct utimbuf ut = {.actime = 1600000000, .modtime = 1600000000};
    assert_int_equal(utime(t->base, &ut), 0);
    struct bootinitrd_result r = build_ok(t, &b);
    assert_false(r.in_place);
    assert_equals_full_build(t, b, &r);
}

/* The daemon binary changed (same size) or was touched: a full build with its new digest. */
static void test_full_when_binary_changes(void **state)
{
    struct tc *t = set(state, 4);
    struct bopts b = {.id = ID_A, .cfg = t->cfg1};
    struct bootinitrd_result r1 = build_ok(t, &b);
    assert_true(build_ok(t, &b).in_place);

    write_binary(t->bin, 4242);
    struct bootinitrd_result r = build_ok(t, &b);
    assert_false(r.in_place);
    assert_memory_not_equal(r.binary_sha256, r1.binary_sha256, 32);
    assert_equals_full_build(t, b, &r);

    struct tc *t2 = set(state, 5);
    build_ok(t2, &b);
    assert_true(build_ok(t2, &b).in_place);
    struct utimbuf ut = {.actime = 1600000000, .modtime = 1600000000};
    assert_int_equal(utime(t2->bin, &ut), 0);
    r = build_ok(t2, &b);
    assert_false(r.in_place);
    assert_equals_full_build(t2, b, &r);
}

/* The output was modified (a byte in the base part, same size), truncated, extended or
 * replaced by an identical copy: never trusted, a full build. */
static void test_full_when_output_changed(void **state)
{
    struct tc *t = set(state, 6);
    struct bopts b = {.id = ID_A, .cfg = t->cfg1};
    build_ok(t, &b);
    size_t len;
    char *good = tu_read(t->out, &len);

    for (int kind = 0; kind < 4; kind++) {
        assert_true(build_ok(t, &b).in_place);
        nap_ms(20); /* a later time stamp even on a coarse clock */
        char *now = tu_read(t->out, &len);
        if (kind == 0) {
            now[100] ^= 0x01;
            tu_write(t->out, now, len);
        } else if (kind == 1) {
            tu_write(t->out, now, len - 10);
        } else if (kind == 2) {
            char *more = malloc(len + 4);
            memcpy(more, now, len);
            memset(more + len, 0, 4);
            tu_write(t->out, more, len + 4);
            free(more);
        } else {
            assert_int_equal(remove(t->out), 0);
            tu_write(t->out, now, len);
        }
        free(now);
        struct bootinitrd_result r = build_ok(t, &b);
        assert_false(r.in_place);
        assert_equals_full_build(t, b, &r);
    }
    free(good);
}

/* A missing, damaged, truncated or padded record: a full build. */
static void test_full_when_record_bad(void **state)
{
    struct tc *t = set(state, 7);
    struct bopts b = {.id = ID_A, .cfg = t->cfg1};
    build_ok(t, &b);
    assert_true(build_ok(t, &b).in_place);
    size_t len;
    char *rec = tu_read(t->record, &len);
    assert_non_null(rec);

    for (int kind = 0; kind < 5; kind++) {
        if (kind == 0) {
            assert_int_equal(remove(t->record), 0);
        } else if (kind == 1) {
            char *bad = malloc(len);
            memcpy(bad, rec, len);
            bad[len / 2] ^= 0x01;
            tu_write(t->record, bad, len);
            free(bad);
        } else if (kind == 2) {
            tu_write(t->record, rec, len - 1);
        } else if (kind == 3) {
            char *more = malloc(len + 1);
            memcpy(more, rec, len);
            more[len] = '\n';
            tu_write(t->record, more, len + 1);
            free(more);
        } else {
            tu_write(t->record, "", 0);
        }
        struct bootinitrd_result r = build_ok(t, &b);
        assert_false(r.in_place);
        assert_equals_full_build(t, b, &r);
        assert_true(build_ok(t, &b).in_place);
        free(rec);
        rec = tu_read(t->record, &len);
    }
    free(rec);
}

/* A crash between cutting the output and writing the new record leaves no record and a
 * short output: the next build is a full one and valid. An injected failure after the cut
 * is an error naming the output, with the same outcome. */
static void test_crash_mid_update(void **state)
{
    struct tc *t = set(state, 8);
    struct bopts b = {.id = ID_A, .cfg = t->cfg1};
    struct bootinitrd_result r1 = build_ok(t, &b);

    /* By hand: the record removed, the output cut at its boot member. */
    assert_int_equal(remove(t->record), 0);
    size_t len;
    char *now = tu_read(t->out, &len);
    tu_write(t->out, now, (size_t)r1.boot_member.offset);
    free(now);
    b.id = ID_B;
    struct bootinitrd_result r = build_ok(t, &b);
    assert_false(r.in_place);
    assert_equals_full_build(t, b, &r);

    /* Injected: the write of the new member fails after the cut. */
    assert_true(build_ok(t, &b).in_place);
    struct evm_err err = {0};
    b.id = ID_C;
    b.fail_after = r.boot_member.offset + 8;
    assert_int_equal(build(t, &b, &r, &err), -ENOSPC);
    assert_non_null(strstr(err.msg, "in place"));
    assert_non_null(strstr(err.msg, "No space left"));
    assert_false(exists(t->record));
    now = tu_read(t->out, &len);
    assert_int_equal(len, r1.boot_member.offset + 8);
    free(now);
    b.fail_after = 0;
    r = build_ok(t, &b);
    assert_false(r.in_place);
    assert_equals_full_build(t, b, &r);
    assert_true(build_ok(t, &b).in_place);
}

/* Inputs written just before the build are not recorded (their identity could still repeat
 * within the file system's clock tick): two full builds in a row. */
static void test_fresh_inputs_not_recorded(void **state)
{
    struct tc *t = set(state, 9);
    write_binary(t->bin, 77);
    struct bopts b = {.id = ID_A, .cfg = t->cfg1};
    assert_false(build_ok(t, &b).in_place);
    assert_false(exists(t->record));
    b.id = ID_B;
    struct bootinitrd_result r = build_ok(t, &b);
    assert_false(r.in_place);
    assert_equals_full_build(t, b, &r);
}

/* ---- the record's parser ------------------------------------------------------------- */

static struct bootrecord sample_record(void)
{
    struct bootrecord r;
    memset(&r, 0, sizeof(r));
    r.base = (struct file_id){.dev = 2049, .ino = 77, .size = 10001, .mtime_ns = 5, .ctime_ns = -7};
    r.binary = (struct file_id){
        .dev = 1, .ino_hi = 9, .ino = UINT64_MAX, .size = 3, .mtime_ns = INT64_MIN, .ctime_ns = 0};
    r.out = (struct file_id){.dev = 2049, .ino = 78, .size = 20000, .mtime_ns = INT64_MAX};
    r.compress = COMPRESS_GZIP;
    r.mtime = 1700000000;
    r.member_format = 1;
    memset(r.binary_sha256, 0xab, sizeof(r.binary_sha256));
    r.binary_member.offset = 10004;
    r.binary_member.length = 5001;
    r.boot_offset = 15008;
    return r;
}

static void test_record_round_trip(void **state)
{
    (void)state;
    struct bootrecord r = sample_record(), back;
    char buf[BOOTRECORD_MAX_BYTES];
    size_t len;
    struct evm_err err = {0};
    assert_int_equal(bootrecord_format(&r, buf, sizeof(buf), &len, &err), 0);
    assert_int_equal(bootrecord_parse(buf, len, &back, &err), 0);
    assert_memory_equal(&r.base, &back.base, sizeof(r.base));
    assert_memory_equal(&r.binary, &back.binary, sizeof(r.binary));
    assert_memory_equal(&r.out, &back.out, sizeof(r.out));
    assert_int_equal(back.compress, COMPRESS_GZIP);
    assert_int_equal(back.mtime, 1700000000);
    assert_int_equal(back.member_format, 1);
    assert_memory_equal(back.binary_sha256, r.binary_sha256, 32);
    assert_int_equal(back.binary_member.offset, 10004);
    assert_int_equal(back.binary_member.length, 5001);
    assert_int_equal(back.boot_offset, 15008);
    assert_int_equal(bootrecord_format(&r, buf, 100, &len, &err), -ENOSPC);
}

/* Replaces the first occurrence of from in text with to, then fixes the check line so only
 * the edit itself is judged. */
static size_t edit(const char *text, size_t len, const char *from, const char *to, char *out,
                   bool fix_check)
{
    const char *p = strstr(text, from);
    assert_non_null(p);
    size_t pre = (size_t)(p - text), fl = strlen(from), tl = strlen(to);
    memcpy(out, text, pre);
    memcpy(out + pre, to, tl);
    memcpy(out + pre + tl, p + fl, len - pre - fl);
    size_t n = len - fl + tl;
    out[n] = '\0';
    if (fix_check) {
        char *c = strstr(out, "check ");
        assert_non_null(c);
        uint8_t d[32];
        digest_buf(out, (size_t)(c - out), d);
        hex_encode(d, 32, c + 6);
        c[6 + 64] = '\n';
    }
    return n;
}

static void test_record_parse_is_strict(void **state)
{
    (void)state;
    struct bootrecord r = sample_record(), back;
    char buf[BOOTRECORD_MAX_BYTES], bad[BOOTRECORD_MAX_BYTES + 64];
    size_t len;
    struct evm_err err = {0};
    assert_int_equal(bootrecord_format(&r, buf, sizeof(buf), &len, &err), 0);
    buf[len] = '\0';
    static const struct {
        const char *from, *to;
    } edits[] = {
        {"ephemerd-boot-record 1\n", "ephemerd-boot-record 2\n"},
        {"base 2049", "base  2049"},
        {"base 2049", "base 02049"},
        {"base 2049", "base +2049"},
        {" -7\n", " -0\n"},
        {"base ", "bass "},
        {"compress gzip", "compress xz"},
        {"compress gzip", "compress gzipp"},
        {"mtime 1700000000", "mtime 1700000000 1"},
        {"member-format 1", "member-format 99999999999"},
        {"abababab", "ABABABAB"},
        {"abababab", "abababa"},
        {"binary-member 10004", "binary-member 10008"},       /* not after the base */
        {"boot-member 15008", "boot-member 15012"},           /* not after the binary */
        {"output 2049 0 78 20000", "output 2049 0 78 15008"}, /* ends at the boot member */
        {"binary 1 9 18446744073709551615 3", "binary 1 9 18446744073709551615 0"},
        {"18446744073709551615", "18446744073709551616"},
        {"\nmtime", "\n\nmtime"},
    };
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        size_t n = edit(buf, len, edits[i].from, edits[i].to, bad, true);
        evm_err_clear(&err);
        if (bootrecord_parse(bad, n, &back, &err) != -EINVAL)
            fail_msg("edit %u (%s -> %s) accepted", (unsigned)i, edits[i].from, edits[i].to);
    }
    /* The check line itself. */
    size_t n = edit(buf, len, "mtime 1700000000", "mtime 1700000001", bad, false);
    assert_int_equal(bootrecord_parse(bad, n, &back, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "checksum"));
    memcpy(bad, buf, len);
    bad[len] = 'x';
    assert_int_equal(bootrecord_parse(bad, len + 1, &back, &err), -EINVAL);
    assert_int_equal(bootrecord_parse(buf, len - 1, &back, &err), -EINVAL);
    assert_int_equal(bootrecord_parse(buf, 0, &back, &err), -EINVAL);
    /* A NUL inside a number. */
    memcpy(bad, buf, len);
    bad[strstr(buf, "mtime 17") - buf + 7] = '\0';
    assert_int_equal(bootrecord_parse(bad, len, &back, &err), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_place_when_inputs_unchanged),
        cmocka_unit_test(test_full_when_options_change),
        cmocka_unit_test(test_full_on_request),
        cmocka_unit_test(test_full_when_base_changes),
        cmocka_unit_test(test_full_when_base_touched),
        cmocka_unit_test(test_full_when_binary_changes),
        cmocka_unit_test(test_full_when_output_changed),
        cmocka_unit_test(test_full_when_record_bad),
        cmocka_unit_test(test_crash_mid_update),
        cmocka_unit_test(test_fresh_inputs_not_recorded),
        cmocka_unit_test(test_record_round_trip),
        cmocka_unit_test(test_record_parse_is_strict),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
