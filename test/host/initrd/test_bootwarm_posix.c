/* test_bootwarm_posix.c — POSIX-only properties of the boot initrd's in-place update: the
 * same inode and mode after an update; an output or record that is a symbolic link, has a
 * second link, belongs to another user or is a FIFO is never used (each case with a record
 * that would otherwise match, so following it would update the wrong file); a modified
 * output whose mtime was set back is still recognised by its change time; an output another
 * build holds is left alone. Runs as root
 * (chown). Inputs must have settled (BOOTWARM_SETTLE_NS): the group setup waits once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/hostcfg.h"
#include "fileid.h"
#include "fileutil.h"
#include "initrd/bootinitrd.h"
#include "initrd/bootrecord.h"
#include "initrd/bootwarm.h"
#include "testutil.h"

#define ID_A "0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210"

enum { NSETS = 8 };

struct tc {
    char *base, *bin, *cfg, *out, *record, *other, *cache;
};

struct world {
    char *dir;
    struct tc sets[NSETS];
};

static char *name_in(const char *dir, const char *stem, int i)
{
    char name[64];
    snprintf(name, sizeof(name), "%s-%d", stem, i);
    return tu_path(dir, name);
}

static int group_setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    w->dir = tu_tmpdir();
    char buf[20000];
    for (int i = 0; i < NSETS; i++) {
        struct tc *t = &w->sets[i];
        t->base = name_in(w->dir, "base", i);
        t->bin = name_in(w->dir, "bin", i);
        t->cfg = name_in(w->dir, "cfg", i);
        t->out = name_in(w->dir, "boot.img", i);
        t->other = name_in(w->dir, "other", i);
        t->cache = name_in(w->dir, "cache", i);
        size_t n = strlen(t->out) + sizeof(BOOTRECORD_SUFFIX);
        t->record = malloc(n);
        snprintf(t->record, n, "%s%s", t->out, BOOTRECORD_SUFFIX);
        tu_fill(buf, sizeof(buf), 10 + (uint32_t)i);
        memcpy(buf, "070701", 6); /* a base starts like an initrd (the builder checks) */
        tu_write(t->base, buf, 7001);
        tu_write(t->bin, buf + 7001, 12000);
        tu_write(t->cfg, "[vm.linux]\ncpus = 2\n", 20);
    }
    usleep((useconds_t)(BOOTWARM_SETTLE_NS / 1000) + 200000);
    *state = w;
    return 0;
}

static int group_teardown(void **state)
{
    struct world *w = *state;
    for (int i = 0; i < NSETS; i++) {
        struct tc *t = &w->sets[i];
        free(t->base);
        free(t->bin);
        free(t->cfg);
        free(t->out);
        free(t->record);
        free(t->other);
        free(t->cache);
    }
    tu_rmrf(w->dir);
    free(w->dir);
    free(w);
    return 0;
}

static struct bootinitrd_result build_ok(struct tc *t, const char *boot_id)
{
    struct hostcfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    struct evm_err err = {0};
    assert_int_equal(hostcfg_load(t->cfg, &cfg, &err), 0);
    struct bootinitrd_opts o = {.base = t->base,
                                .binary = t->bin,
                                .config = &cfg,
                                .boot_id = boot_id,
                                .cache_dir = t->cache,
                                .out = t->out};
    struct bootinitrd_result res;
    int r = bootinitrd_build(&o, &res, &err);
    hostcfg_free(&cfg);
    if (r != 0)
        fail_msg("build failed: %s", err.msg);
    return res;
}

/* Rewrites the record so that it describes `as` (following links) as the output: what an
 * implementation that follows links or ignores owners would then accept. */
static void reseal_record(const struct tc *t, const char *as)
{
    size_t len;
    char *text = tu_read(t->record, &len);
    assert_non_null(text);
    struct bootrecord rec;
    struct evm_err err = {0};
    assert_int_equal(bootrecord_parse(text, len, &rec, &err), 0);
    free(text);
    rec.out = tu_file_id(as);
    char buf[BOOTRECORD_MAX_BYTES];
    assert_int_equal(bootrecord_format(&rec, buf, sizeof(buf), &len, &err), 0);
    assert_int_equal(remove(t->record), 0);
    tu_write(t->record, buf, len);
}

static void assert_same_bytes(const char *path, const char *want, size_t want_len)
{
    size_t len;
    char *now = tu_read(path, &len);
    assert_non_null(now);
    assert_int_equal(len, want_len);
    assert_memory_equal(now, want, len);
    free(now);
}

static bool is_regular_nolink(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The update keeps the inode (and so the mode and any access grant on it). */
static void test_same_inode_and_mode(void **state)
{
    struct tc *t = &((struct world *)*state)->sets[0];
    build_ok(t, ID_A);
    struct stat a, b;
    assert_int_equal(stat(t->out, &a), 0);
    assert_true(build_ok(t, ID_B).in_place);
    assert_int_equal(stat(t->out, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_dev, b.st_dev);
    assert_int_equal(b.st_mode & 07777, 0600);
    assert_int_equal(b.st_nlink, 1);
    struct stat r;
    assert_int_equal(lstat(t->record, &r), 0);
    assert_true(S_ISREG(r.st_mode));
    assert_int_equal(r.st_mode & 0077, 0);
}

/* The output is a link to a file the record matches: the file is not touched, the link is
 * replaced by a new boot initrd. */
static void test_output_symlink_not_followed(void **state)
{
    struct tc *t = &((struct world *)*state)->sets[1];
    build_ok(t, ID_A);
    assert_int_equal(rename(t->out, t->other), 0);
    assert_int_equal(symlink(t->other, t->out), 0);
    reseal_record(t, t->other);
    size_t len;
    char *victim = tu_read(t->other, &len);

    struct bootinitrd_result r = build_ok(t, ID_B);
    assert_false(r.in_place);
    assert_same_bytes(t->other, victim, len);
    assert_true(is_regular_nolink(t->out));
    free(victim);
    assert_true(build_ok(t, ID_A).in_place);
}

/* The record is a link to a valid record: not read, and replaced by a regular file; its
 * target is untouched. */
static void test_record_symlink_not_followed(void **state)
{
    struct tc *t = &((struct world *)*state)->sets[2];
    build_ok(t, ID_A);
    assert_int_equal(rename(t->record, t->other), 0);
    assert_int_equal(symlink(t->other, t->record), 0);
    size_t len;
    char *target = tu_read(t->other, &len);

    assert_false(build_ok(t, ID_B).in_place);
    assert_same_bytes(t->other, target, len);
    assert_true(is_regular_nolink(t->record));
    free(target);
    assert_true(build_ok(t, ID_A).in_place);
}

/* The output has a second name: updating it in place would change that file too. */
static void test_output_with_second_link(void **state)
{
    struct tc *t = &((struct world *)*state)->sets[3];
    build_ok(t, ID_A);
    assert_int_equal(link(t->out, t->other), 0);
    reseal_record(t, t->out);
    size_t len;
    char *before = tu_read(t->other, &len);

    assert_false(build_ok(t, ID_B).in_place);
    assert_same_bytes(t->other, before, len);
    free(before);
    struct stat st;
    assert_int_equal(stat(t->out, &st), 0);
    assert_int_equal(st.st_nlink, 1);
}

/* An output or a record that another user owns is not used. */
static void test_foreign_owner_not_used(void **state)
{
    struct tc *t = &((struct world *)*state)->sets[4];
    build_ok(t, ID_A);
    assert_int_equal(chown(t->out, 4242, 4242), 0);
    reseal_record(t, t->out);
    assert_false(build_ok(t, ID_B).in_place);
    struct stat st;
    assert_int_equal(stat(t->out, &st), 0);
    assert_int_equal(st.st_uid, geteuid());

    assert_true(build_ok(t, ID_A).in_place);
    assert_int_equal(chown(t->record, 4242, 4242), 0);
    assert_false(build_ok(t, ID_B).in_place);
    assert_int_equal(lstat(t->record, &st), 0);
    assert_int_equal(st.st_uid, geteuid());
}

/* A FIFO in the record's place is refused without blocking, and replaced. */
static void test_record_fifo_refused(void **state)
{
    struct tc *t = &((struct world *)*state)->sets[5];
    build_ok(t, ID_A);
    assert_int_equal(remove(t->record), 0);
    assert_int_equal(mkfifo(t->record, 0600), 0);
    assert_false(build_ok(t, ID_B).in_place);
    assert_true(is_regular_nolink(t->record));
}

/* Bytes changed and the mtime set back to the recorded value: the change time tells. */
static void test_restored_mtime_detected(void **state)
{
    struct tc *t = &((struct world *)*state)->sets[6];
    build_ok(t, ID_A);
    assert_true(build_ok(t, ID_B).in_place);
    struct file_id rec = tu_file_id(t->out);
    usleep(20000);
    int fd = open(t->out, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "X", 1, 50), 1);
    struct timespec ts[2] = {
        {.tv_nsec = UTIME_OMIT},
        {.tv_sec = rec.mtime_ns / 1000000000, .tv_nsec = rec.mtime_ns % 1000000000}};
    assert_int_equal(futimens(fd, ts), 0);
    close(fd);
    struct file_id now = tu_file_id(t->out);
    assert_true(now.mtime_ns == rec.mtime_ns && now.size == rec.size);
    struct bootinitrd_result r = build_ok(t, ID_A);
    assert_false(r.in_place);
    size_t len;
    char *out = tu_read(t->out, &len);
    char want[7001];
    tu_fill(want, sizeof(want), 10 + 6);
    memcpy(want, "070701", 6);
    assert_memory_equal(out, want, sizeof(want)); /* the base part is whole again */
    free(out);
}

/* Another build holds the output (flock): this one builds in full instead of writing into
 * it at the same time. */
static void test_output_held_by_another_build(void **state)
{
    struct tc *t = &((struct world *)*state)->sets[7];
    build_ok(t, ID_A);
    int fd = open(t->out, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    size_t len;
    char *held = tu_read(t->out, &len);
    assert_false(build_ok(t, ID_B).in_place);
    char *now = malloc(len);
    assert_int_equal(pread(fd, now, len, 0), (ssize_t)len); /* the held file: untouched */
    assert_memory_equal(now, held, len);
    free(now);
    free(held);
    close(fd);
    assert_true(build_ok(t, ID_A).in_place);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_inode_and_mode),
        cmocka_unit_test(test_output_symlink_not_followed),
        cmocka_unit_test(test_record_symlink_not_followed),
        cmocka_unit_test(test_output_with_second_link),
        cmocka_unit_test(test_foreign_owner_not_used),
        cmocka_unit_test(test_record_fifo_refused),
        cmocka_unit_test(test_restored_mtime_detected),
        cmocka_unit_test(test_output_held_by_another_build),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
