/* test_stage.c — config staging and the daemon install (guest/stage.c, guest/fsat.c)
 * against a temporary new root: fresh staging (mode 0600, owner 0:0, bytes, no temp files),
 * atomic replacement (new inode), stale-copy removal, and refusal to write through a
 * symlinked etc, etc/ephemerd or usr/local (a symlinked config.toml is replaced as a link;
 * its target is never written). Run as root (fchown 0:0). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stage.h"
#include "testutil.h"

#define CFG "[log]\nlevel = \"info\"\ntoken = \"new-secret\"\n"
#define OLD "[log]\ntoken = \"old-secret\"\n"
#define OUTSIDE "outside file: must never change\n"

struct env {
    char *top;     /* temp dir */
    char *root;    /* top/root: the new root */
    char *src;     /* top/src.toml: the verified tail config */
    char *outside; /* top/outside: a directory outside the root */
};

static char *rel(const struct env *e, const char *r)
{
    return tu_path(e->root, r);
}

static void env_make(struct env *e)
{
    e->top = tu_tmpdir();
    e->root = tu_path(e->top, "root");
    e->src = tu_path(e->top, "src.toml");
    e->outside = tu_path(e->top, "outside");
    assert_int_equal(mkdir(e->root, 0755), 0);
    assert_int_equal(mkdir(e->outside, 0755), 0);
    tu_write(e->src, CFG, strlen(CFG));
    assert_int_equal(chmod(e->src, 0600), 0);
}

static void env_drop(struct env *e)
{
    tu_rmrf(e->top);
    free(e->top);
    free(e->root);
    free(e->src);
    free(e->outside);
}

static void mkdirs(const struct env *e, const char *r)
{
    char *p = rel(e, r);
    assert_int_equal(mkdir(p, 0755), 0);
    free(p);
}

static void put(const struct env *e, const char *r, const char *bytes)
{
    char *p = rel(e, r);
    tu_write(p, bytes, strlen(bytes));
    free(p);
}

static void assert_file(const char *path, const char *bytes, mode_t mode)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        fail_msg("%s: missing", path);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, mode);
    assert_int_equal(st.st_uid, 0);
    assert_int_equal(st.st_gid, 0);
    size_t len;
    char *got = tu_read(path, &len);
    assert_non_null(got);
    assert_int_equal(len, strlen(bytes));
    assert_memory_equal(got, bytes, len);
    free(got);
}

/* Number of entries in dir other than . and .., and whether any looks temporary. */
static int count_entries(const char *dir, bool *temp_seen)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    *temp_seen = false;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        n++;
        if (strstr(de->d_name, ".tmp"))
            *temp_seen = true;
    }
    closedir(d);
    return n;
}

static void stage_ok(const struct env *e, const char *src, bool want_staged)
{
    bool staged = !want_staged;
    struct evm_err err = {0};
    int r = stage_config(e->root, src, &staged, &err);
    if (r != 0)
        fail_msg("stage_config failed: %s", err.msg);
    assert_int_equal(staged, want_staged);
}

static void stage_fails(const struct env *e, const char *src, int code, const char *frag)
{
    bool staged = true;
    struct evm_err err = {0};
    int r = stage_config(e->root, src, &staged, &err);
    if (r != -code || !strstr(err.msg, frag))
        fail_msg("expected -%d with \"%s\", got %d: \"%s\"", code, frag, r, err.msg);
    assert_false(staged);
}

static void test_fresh_root(void **state)
{
    (void)state;
    struct env e;
    env_make(&e);
    mode_t old = umask(077); /* created directories must be 0755 whatever the umask */
    stage_ok(&e, e.src, true);
    umask(old);
    char *cfg = rel(&e, "etc/ephemerd/config.toml");
    assert_file(cfg, CFG, 0600);
    struct stat st;
    char *etc = rel(&e, "etc"), *dir = rel(&e, "etc/ephemerd");
    assert_int_equal(lstat(etc, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(lstat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0755);
    bool temp;
    assert_int_equal(count_entries(dir, &temp), 1);
    assert_false(temp);
    free(cfg);
    free(etc);
    free(dir);
    env_drop(&e);
}

static void test_stale_copy_replaced_atomically(void **state)
{
    (void)state;
    struct env e;
    env_make(&e);
    mkdirs(&e, "etc");
    mkdirs(&e, "etc/ephemerd");
    put(&e, "etc/ephemerd/config.toml", OLD);
    char *cfg = rel(&e, "etc/ephemerd/config.toml");
    assert_int_equal(chmod(cfg, 0644), 0);
    /* A set-group-ID directory owned by group 1000: a new file would inherit gid 1000
     * unless staging sets the owner 0:0 itself. */
    char *edir = rel(&e, "etc/ephemerd");
    assert_int_equal(chown(edir, 0, 1000), 0);
    assert_int_equal(chmod(edir, 02755), 0);
    free(edir);
    struct stat before, after;
    assert_int_equal(stat(cfg, &before), 0);
    /* A reader holding the old file open keeps seeing the old bytes: a rename, not an
     * in-place write. */
    FILE *reader = fopen(cfg, "rb");
    assert_non_null(reader);
    stage_ok(&e, e.src, true);
    assert_int_equal(stat(cfg, &after), 0);
    assert_true(before.st_ino != after.st_ino);
    assert_file(cfg, CFG, 0600);
    char buf[64] = {0};
    assert_int_equal(fread(buf, 1, strlen(OLD), reader), strlen(OLD));
    assert_memory_equal(buf, OLD, strlen(OLD));
    fclose(reader);
    char *dir = rel(&e, "etc/ephemerd");
    bool temp;
    assert_int_equal(count_entries(dir, &temp), 1);
    assert_false(temp);
    free(dir);

    /* The same config again (the usual warm boot): kept, nothing written (same inode). */
    assert_int_equal(stat(cfg, &before), 0);
    stage_ok(&e, e.src, true);
    assert_int_equal(stat(cfg, &after), 0);
    assert_true(before.st_ino == after.st_ino);
    /* The same bytes with another mode, or a second link to it: replaced (0600, one link). */
    assert_int_equal(chmod(cfg, 0640), 0);
    stage_ok(&e, e.src, true);
    assert_int_equal(stat(cfg, &after), 0);
    assert_true(before.st_ino != after.st_ino);
    assert_file(cfg, CFG, 0600);
    char *other = rel(&e, "etc/other-link");
    assert_int_equal(link(cfg, other), 0);
    assert_int_equal(stat(cfg, &before), 0);
    stage_ok(&e, e.src, true);
    assert_int_equal(stat(cfg, &after), 0);
    assert_true(before.st_ino != after.st_ino);
    free(other);
    free(cfg);
    env_drop(&e);
}

static void test_leftover_temp_removed(void **state)
{
    (void)state;
    struct env e;
    env_make(&e);
    mkdirs(&e, "etc");
    mkdirs(&e, "etc/ephemerd");
    put(&e, "etc/ephemerd/.config.toml.tmp-99-0", OLD); /* an interrupted earlier boot */
    put(&e, "etc/ephemerd/unrelated", "keep");
    stage_ok(&e, NULL, false);
    char *dir = rel(&e, "etc/ephemerd");
    bool temp;
    assert_int_equal(count_entries(dir, &temp), 1); /* only "unrelated" */
    assert_false(temp);
    free(dir);
    env_drop(&e);
}

static void test_no_config_removes_stale_copy(void **state)
{
    (void)state;
    struct env e;
    env_make(&e);
    mkdirs(&e, "etc");
    mkdirs(&e, "etc/ephemerd");
    put(&e, "etc/ephemerd/config.toml", OLD);
    stage_ok(&e, NULL, false);
    char *cfg = rel(&e, "etc/ephemerd/config.toml");
    struct stat st;
    assert_int_equal(lstat(cfg, &st), -1);
    assert_int_equal(errno, ENOENT);
    free(cfg);
    env_drop(&e);
}

static void test_no_config_removes_symlink_not_target(void **state)
{
    (void)state;
    struct env e;
    env_make(&e);
    mkdirs(&e, "etc");
    mkdirs(&e, "etc/ephemerd");
    char *target = tu_path(e.outside, "secret.toml");
    tu_write(target, OUTSIDE, strlen(OUTSIDE));
    char *cfg = rel(&e, "etc/ephemerd/config.toml");
    assert_int_equal(symlink(target, cfg), 0);
    stage_ok(&e, NULL, false);
    struct stat st;
    assert_int_equal(lstat(cfg, &st), -1);
    assert_int_equal(errno, ENOENT);
    size_t len;
    char *got = tu_read(target, &len);
    assert_non_null(got);
    assert_string_equal(got, OUTSIDE);
    free(got);
    free(cfg);
    free(target);
    env_drop(&e);
}

static void test_no_config_nothing_there(void **state)
{
    (void)state;
    struct env e;
    env_make(&e);
    stage_ok(&e, NULL, false); /* no etc at all */
    mkdirs(&e, "etc");
    stage_ok(&e, NULL, false); /* no etc/ephemerd */
    mkdirs(&e, "etc/ephemerd");
    stage_ok(&e, NULL, false); /* empty etc/ephemerd */
    char *etc = rel(&e, "etc"), *dir = rel(&e, "etc/ephemerd");
    bool temp;
    assert_int_equal(count_entries(dir, &temp), 0);
    assert_int_equal(count_entries(etc, &temp), 1);
    free(etc);
    free(dir);
    env_drop(&e);
}

static void test_symlinked_config_dir_refused(void **state)
{
    (void)state;
    struct env e;
    env_make(&e);
    mkdirs(&e, "etc");
    char *dir = rel(&e, "etc/ephemerd");
    assert_int_equal(symlink(e.outside, dir), 0);
    stage_fails(&e, e.src, ELOOP, "etc/ephemerd: is a symlink");
    bool temp;
    assert_int_equal(count_entries(e.outside, &temp), 0); /* nothing written outside */
    /* Without a config, a stale copy behind the link is not "removed" through it either. */
    char *behind = tu_path(e.outside, "config.toml");
    tu_write(behind, OUTSIDE, strlen(OUTSIDE));
    stage_fails(&e, NULL, ELOOP, "etc/ephemerd: is a symlink");
    char *got = tu_read(behind, NULL);
    assert_non_null(got);
    assert_string_equal(got, OUTSIDE);
    free(got);
    free(behind);
    free(dir);
    env_drop(&e);
}

static void test_symlinked_etc_refused(void **state)
{
    (void)state;
    struct env e;
    env_make(&e);
    char *etc = rel(&e, "etc");
    assert_int_equal(symlink(e.outside, etc), 0);
    stage_fails(&e, e.src, ELOOP, "/etc: is a symlink");
    bool temp;
    assert_int_equal(count_entries(e.outside, &temp), 0);
    free(etc);
    env_drop(&e);
}

static void test_config_dir_not_a_directory(void **state)
{
    (void)state;
    struct env e;
    env_make(&e);
    mkdirs(&e, "etc");
    put(&e, "etc/ephemerd", "a file");
    stage_fails(&e, e.src, ENOTDIR, "etc/ephemerd: exists but is not a directory");
    env_drop(&e);
}

/* Documented choice: a symlink named config.toml is replaced by the staged regular file
 * (rename replaces the link itself); its target is never opened for writing. */
static void test_symlinked_config_file_replaced_not_followed(void **state)
{
    (void)state;
    struct env e;
    env_make(&e);
    mkdirs(&e, "etc");
    mkdirs(&e, "etc/ephemerd");
    char *target = tu_path(e.outside, "victim");
    tu_write(target, OUTSIDE, strlen(OUTSIDE));
    assert_int_equal(chmod(target, 0644), 0);
    char *cfg = rel(&e, "etc/ephemerd/config.toml");
    assert_int_equal(symlink(target, cfg), 0);
    stage_ok(&e, e.src, true);
    assert_file(cfg, CFG, 0600); /* lstat: a regular file now, not the link */
    struct stat st;
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    char *got = tu_read(target, NULL);
    assert_non_null(got);
    assert_string_equal(got, OUTSIDE);
    free(got);
    free(cfg);
    free(target);
    env_drop(&e);
}

static void test_config_is_a_directory_refused(void **state)
{
    (void)state;
    struct env e;
    env_make(&e);
    mkdirs(&e, "etc");
    mkdirs(&e, "etc/ephemerd");
    mkdirs(&e, "etc/ephemerd/config.toml");
    stage_fails(&e, e.src, EISDIR, "config.toml: is a directory");
    stage_fails(&e, NULL, EISDIR, "config.toml: is a directory");
    char *dir = rel(&e, "etc/ephemerd");
    bool temp;
    assert_int_equal(count_entries(dir, &temp), 1);
    assert_false(temp); /* the temporary file did not survive the refusal */
    free(dir);
    env_drop(&e);
}

static void test_missing_source_refused(void **state)
{
    (void)state;
    struct env e;
    env_make(&e);
    char *missing = tu_path(e.top, "nope.toml");
    stage_fails(&e, missing, ENOENT, "nope.toml");
    char *etc = rel(&e, "etc");
    struct stat st;
    assert_int_equal(lstat(etc, &st), -1); /* nothing made before the source opened */
    free(etc);
    free(missing);
    env_drop(&e);
}

/* ---- install_daemon ------------------------------------------------------------------ */

static void test_install_daemon_fresh_and_replace(void **state)
{
    (void)state;
    struct env e;
    env_make(&e);
    char bin[4096];
    tu_fill(bin, sizeof(bin) - 1, 7);
    for (size_t i = 0; i < sizeof(bin) - 1; i++)
        bin[i] = (char)(bin[i] ? bin[i] : 'z'); /* no NUL inside: assert_file uses strlen */
    bin[sizeof(bin) - 1] = '\0';
    char *src = tu_path(e.top, "ephemerd-linux");
    tu_write(src, bin, strlen(bin));
    mode_t old = umask(077);
    struct evm_err err = {0};
    int r = install_daemon(e.root, src, &err);
    umask(old);
    if (r != 0)
        fail_msg("install_daemon: %s", err.msg);
    char *dst = rel(&e, "usr/local/bin/ephemerd-linux");
    assert_file(dst, bin, 0755);
    const char *dirs[] = {"usr", "usr/local", "usr/local/bin"};
    for (size_t i = 0; i < 3; i++) {
        char *d = rel(&e, dirs[i]);
        struct stat st;
        assert_int_equal(lstat(d, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0755);
        free(d);
    }

    /* The same bytes again: kept as it is (same inode, nothing written). */
    struct stat before, after;
    assert_int_equal(stat(dst, &before), 0);
    r = install_daemon(e.root, src, &err);
    if (r != 0)
        fail_msg("install_daemon: %s", err.msg);
    assert_int_equal(stat(dst, &after), 0);
    assert_true(before.st_ino == after.st_ino);
    /* The same bytes but another mode, or one byte different at the end: replaced. */
    assert_int_equal(chmod(dst, 0775), 0);
    r = install_daemon(e.root, src, &err);
    assert_int_equal(r, 0);
    assert_int_equal(stat(dst, &after), 0);
    assert_true(before.st_ino != after.st_ino);
    assert_file(dst, bin, 0755);
    assert_int_equal(stat(dst, &before), 0);
    bin[sizeof(bin) - 2] = bin[sizeof(bin) - 2] == 'a' ? 'b' : 'a';
    tu_write(src, bin, strlen(bin));
    r = install_daemon(e.root, src, &err);
    assert_int_equal(r, 0);
    assert_int_equal(stat(dst, &after), 0);
    assert_true(before.st_ino != after.st_ino);
    assert_file(dst, bin, 0755);

    /* Replace: a new inode with the new bytes, no temporary file left. */
    assert_int_equal(stat(dst, &before), 0);
    tu_write(src, "new daemon", 10);
    r = install_daemon(e.root, src, &err);
    if (r != 0)
        fail_msg("install_daemon: %s", err.msg);
    assert_int_equal(stat(dst, &after), 0);
    assert_true(before.st_ino != after.st_ino);
    assert_file(dst, "new daemon", 0755);
    char *bindir = rel(&e, "usr/local/bin");
    bool temp;
    assert_int_equal(count_entries(bindir, &temp), 1);
    assert_false(temp);
    free(bindir);
    free(dst);
    free(src);
    env_drop(&e);
}

static void test_install_daemon_symlinked_dir_refused(void **state)
{
    (void)state;
    struct env e;
    env_make(&e);
    char *src = tu_path(e.top, "ephemerd-linux");
    tu_write(src, "daemon", 6);
    mkdirs(&e, "usr");
    char *local = rel(&e, "usr/local");
    assert_int_equal(symlink(e.outside, local), 0);
    struct evm_err err = {0};
    int r = install_daemon(e.root, src, &err);
    if (r != -ELOOP || !strstr(err.msg, "usr/local: is a symlink"))
        fail_msg("got %d: %s", r, err.msg);
    bool temp;
    assert_int_equal(count_entries(e.outside, &temp), 0);
    free(local);
    free(src);
    env_drop(&e);
}

/* A source that fails mid-copy (/proc/self/mem is a regular file whose offset 0 is never
 * mapped: read gives EIO): the error is reported and no temporary file survives. */
static void test_failed_copy_leaves_nothing(void **state)
{
    (void)state;
    if (access("/proc/self/mem", R_OK) != 0)
        skip();
    struct env e;
    env_make(&e);
    struct evm_err err = {0};
    int r = install_daemon(e.root, "/proc/self/mem", &err);
    if (r >= 0 || !strstr(err.msg, "ephemerd-linux"))
        fail_msg("got %d: %s", r, err.msg);
    char *bindir = rel(&e, "usr/local/bin");
    bool temp;
    assert_int_equal(count_entries(bindir, &temp), 0);
    free(bindir);
    env_drop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_root),
        cmocka_unit_test(test_stale_copy_replaced_atomically),
        cmocka_unit_test(test_leftover_temp_removed),
        cmocka_unit_test(test_no_config_removes_stale_copy),
        cmocka_unit_test(test_no_config_removes_symlink_not_target),
        cmocka_unit_test(test_no_config_nothing_there),
        cmocka_unit_test(test_symlinked_config_dir_refused),
        cmocka_unit_test(test_symlinked_etc_refused),
        cmocka_unit_test(test_config_dir_not_a_directory),
        cmocka_unit_test(test_symlinked_config_file_replaced_not_followed),
        cmocka_unit_test(test_config_is_a_directory_refused),
        cmocka_unit_test(test_missing_source_refused),
        cmocka_unit_test(test_install_daemon_fresh_and_replace),
        cmocka_unit_test(test_install_daemon_symlinked_dir_refused),
        cmocka_unit_test(test_failed_copy_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
