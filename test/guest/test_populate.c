/* test_populate.c — first populate (design §4 step 7) against archives built here with
 * libarchive's writer: a good rootfs (modes, owners, setuid, symlinks, hard links, times,
 * xattrs) and hostile ones (../x, /abs, writing through a symlink to outside or to "..",
 * hard links to outside or through a symlink), each refused with nothing written outside the
 * root; a truncated archive; the working directory restored. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "populate.h"
#include "testutil.h"

enum kind { F, D, L, H }; /* file, directory, symlink, hard link */

struct ent {
    enum kind kind;
    const char *path;
    unsigned mode;
    unsigned uid, gid;
    const char *data;   /* F: contents */
    const char *target; /* L: symlink target; H: hard link target */
};

/* Written under a UTF-8 LC_CTYPE (this thread only), so non-ASCII names go into pax "path="
 * records as UTF-8, as a real rootfs export has them. */
static void write_tgz(const char *tarball, const struct ent *ents, size_t n)
{
    locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    assert_non_null(utf8);
    locale_t prev = uselocale(utf8);
    struct archive *a = archive_write_new();
    assert_non_null(a);
    assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, tarball), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, ents[i].path);
        archive_entry_set_uid(e, ents[i].uid);
        archive_entry_set_gid(e, ents[i].gid);
        archive_entry_set_mtime(e, 1234567890, 0);
        size_t size = 0;
        switch (ents[i].kind) {
        case F:
            size = ents[i].data ? strlen(ents[i].data) : 0;
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_size(e, (la_int64_t)size);
            break;
        case D:
            archive_entry_set_filetype(e, AE_IFDIR);
            break;
        case L:
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, ents[i].target);
            break;
        case H:
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, ents[i].target);
            break;
        }
        archive_entry_set_perm(e, ents[i].mode ? ents[i].mode : 0644);
        if (strcmp(ents[i].path, "etc/xattr") == 0)
            archive_entry_xattr_add_entry(e, "user.evm", "yes", 3);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (size)
            assert_int_equal(archive_write_data(a, ents[i].data, size), (la_ssize_t)size);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    uselocale(prev);
    freelocale(utf8);
}

struct fixture {
    char *dir;     /* the test's scratch directory */
    char *root;    /* dir/root: where the archive goes */
    char *outside; /* dir/outside: a directory next to root */
    char *tgz;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = tu_tmpdir();
    f->root = tu_path(f->dir, "root");
    f->outside = tu_path(f->dir, "outside");
    f->tgz = tu_path(f->dir, "rootfs.tar.gz");
    if (mkdir(f->root, 0755) || mkdir(f->outside, 0755))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tu_rmrf(f->dir);
    free(f->dir);
    free(f->root);
    free(f->outside);
    free(f->tgz);
    free(f);
    return 0;
}

static bool exists(const char *dir, const char *name)
{
    char *p = tu_path(dir, name);
    struct stat st;
    bool r = lstat(p, &st) == 0;
    free(p);
    return r;
}

static void lst(const char *dir, const char *name, struct stat *st)
{
    char *p = tu_path(dir, name);
    if (lstat(p, st) != 0)
        fail_msg("lstat %s: %s", p, strerror(errno));
    free(p);
}

/* Runs populate_rootfs, expects failure naming `entry`, and checks the cwd is restored. */
static void expect_refused(struct fixture *f, const char *entry)
{
    char before[4096], after[4096];
    assert_non_null(getcwd(before, sizeof(before)));
    struct evm_err err = {0};
    int rc = populate_rootfs(f->tgz, f->root, &err);
    if (rc >= 0)
        fail_msg("populate accepted an archive with entry %s", entry);
    if (!strstr(err.msg, entry))
        fail_msg("message does not name \"%s\": %s", entry, err.msg);
    assert_non_null(getcwd(after, sizeof(after)));
    assert_string_equal(before, after);
}

static void test_good_archive(void **state)
{
    struct fixture *f = *state;
    const struct ent ents[] = {
        {D, "etc", 0755, 0, 0, NULL, NULL},
        {F, "etc/secret", 0600, 0, 0, "s3cret\n", NULL},
        {F, "etc/xattr", 0644, 0, 0, "x", NULL},
        {D, "usr", 0755, 0, 0, NULL, NULL},
        {D, "usr/bin", 0755, 0, 0, NULL, NULL},
        {F, "usr/bin/tool", 0755, 1000, 1000, "#!/bin/sh\necho hi\n", NULL},
        {F, "usr/bin/su", 04755, 0, 0, "suid", NULL},
        {H, "usr/bin/tool2", 0755, 1000, 1000, NULL, "usr/bin/tool"},
        {L, "bin", 0777, 0, 0, NULL, "usr/bin"},
        {L, "etc/alt", 0777, 0, 0, NULL, "/usr/bin/tool"}, /* absolute targets are fine */
        {D, "home", 0755, 0, 0, NULL, NULL},
        {D, "home/user", 0700, 1000, 1000, NULL, NULL},
        {D, "tmp", 01777, 0, 0, NULL, NULL},
        {F, "./usr/local-file", 0640, 0, 0, "dot-slash", NULL},
        {F, "etc/caf\xc3\xa9", 0644, 0, 0, "utf8", NULL},
    };
    write_tgz(f->tgz, ents, sizeof(ents) / sizeof(ents[0]));
    char cwd_before[4096], cwd_after[4096];
    assert_non_null(getcwd(cwd_before, sizeof(cwd_before)));
    mode_t old_umask = umask(077); /* modes come from the archive, not the umask */
    struct evm_err err = {0};
    int rc = populate_rootfs(f->tgz, f->root, &err);
    umask(old_umask);
    if (rc != 0)
        fail_msg("populate_rootfs: %d %s", rc, err.msg);
    assert_non_null(getcwd(cwd_after, sizeof(cwd_after)));
    assert_string_equal(cwd_before, cwd_after);

    struct stat st;
    lst(f->root, "etc", &st);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0755);
    lst(f->root, "etc/secret", &st);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_mtime, 1234567890);
    char *p = tu_path(f->root, "etc/secret");
    size_t len;
    char *data = tu_read(p, &len);
    assert_string_equal(data, "s3cret\n");
    free(data);
    free(p);
    lst(f->root, "usr/bin/tool", &st);
    assert_int_equal(st.st_mode & 07777, 0755);
    ino_t tool_ino = st.st_ino;
    lst(f->root, "usr/bin/tool2", &st);
    assert_int_equal(st.st_ino, tool_ino);
    assert_int_equal(st.st_nlink, 2);
    lst(f->root, "bin", &st);
    assert_true(S_ISLNK(st.st_mode));
    char target[256];
    p = tu_path(f->root, "etc/alt");
    ssize_t n = readlink(p, target, sizeof(target) - 1);
    free(p);
    assert_true(n > 0);
    target[n] = '\0';
    assert_string_equal(target, "/usr/bin/tool");
    lst(f->root, "tmp", &st);
    assert_int_equal(st.st_mode & 07777, 01777);
    lst(f->root, "home/user", &st);
    assert_int_equal(st.st_mode & 07777, 0700);
    lst(f->root, "usr/local-file", &st);
    assert_int_equal(st.st_mode & 07777, 0640);
    lst(f->root, "etc/caf\xc3\xa9", &st); /* UTF-8 names arrive byte for byte */
    assert_true(S_ISREG(st.st_mode));

    if (geteuid() == 0) {
        lst(f->root, "usr/bin/tool", &st);
        assert_int_equal(st.st_uid, 1000);
        assert_int_equal(st.st_gid, 1000);
        lst(f->root, "home/user", &st);
        assert_int_equal(st.st_uid, 1000);
        lst(f->root, "etc/secret", &st);
        assert_int_equal(st.st_uid, 0);
        lst(f->root, "usr/bin/su", &st);
        assert_int_equal(st.st_mode & 07777, 04755); /* setuid kept: owner was restored */
        char val[8] = {0};
        p = tu_path(f->root, "etc/xattr");
        ssize_t xn = getxattr(p, "user.evm", val, sizeof(val) - 1);
        free(p);
        if (xn < 0 && errno != ENOTSUP)
            fail_msg("xattr user.evm not restored: %s", strerror(errno));
        if (xn >= 0)
            assert_string_equal(val, "yes");
    }

    /* A second populate over the first (an interrupted populate redone) succeeds. */
    rc = populate_rootfs(f->tgz, f->root, &err);
    if (rc != 0)
        fail_msg("second populate_rootfs: %d %s", rc, err.msg);
}

static void test_dotdot(void **state)
{
    struct fixture *f = *state;
    const struct ent ents[] = {{F, "ok", 0644, 0, 0, "fine", NULL},
                               {F, "../x", 0644, 0, 0, "escaped", NULL}};
    write_tgz(f->tgz, ents, 2);
    expect_refused(f, "../x");
    assert_false(exists(f->dir, "x"));
    const struct ent ents2[] = {{D, "a", 0755, 0, 0, NULL, NULL},
                                {F, "a/../../y", 0644, 0, 0, "escaped", NULL}};
    write_tgz(f->tgz, ents2, 2);
    expect_refused(f, "a/../../y");
    assert_false(exists(f->dir, "y"));
}

static void test_absolute(void **state)
{
    struct fixture *f = *state;
    char *abs = tu_path(f->outside, "abs");
    const struct ent ents[] = {{F, abs, 0644, 0, 0, "escaped", NULL}};
    write_tgz(f->tgz, ents, 1);
    expect_refused(f, abs);
    assert_false(exists(f->outside, "abs"));
    free(abs);
}

static void test_write_through_symlink(void **state)
{
    struct fixture *f = *state;
    /* link -> <outside>, then link/pwned */
    const struct ent ents[] = {{L, "link", 0777, 0, 0, NULL, f->outside},
                               {F, "link/pwned", 0644, 0, 0, "pwned", NULL}};
    write_tgz(f->tgz, ents, 2);
    expect_refused(f, "link/pwned");
    assert_false(exists(f->outside, "pwned"));

    /* up -> .., then up/pwned2 */
    const struct ent ents2[] = {{L, "up", 0777, 0, 0, NULL, ".."},
                                {F, "up/pwned2", 0644, 0, 0, "pwned", NULL}};
    write_tgz(f->tgz, ents2, 2);
    expect_refused(f, "up/pwned2");
    assert_false(exists(f->dir, "pwned2"));

    /* A directory entry through a symlink is refused as well. */
    const struct ent ents3[] = {{L, "d", 0777, 0, 0, NULL, f->outside},
                                {D, "d/newdir", 0755, 0, 0, NULL, NULL}};
    write_tgz(f->tgz, ents3, 2);
    expect_refused(f, "d/newdir");
    assert_false(exists(f->outside, "newdir"));
}

/* A file entry named like an existing symlink replaces the link; the target is untouched. */
static void test_file_replaces_symlink(void **state)
{
    struct fixture *f = *state;
    char *victim = tu_path(f->outside, "victim");
    tu_write(victim, "original", 8);
    const struct ent ents[] = {{L, "x", 0777, 0, 0, NULL, victim},
                               {F, "x", 0644, 0, 0, "replaced", NULL}};
    write_tgz(f->tgz, ents, 2);
    struct evm_err err = {0};
    int rc = populate_rootfs(f->tgz, f->root, &err);
    if (rc != 0)
        fail_msg("populate_rootfs: %d %s", rc, err.msg);
    size_t len;
    char *got = tu_read(victim, &len);
    assert_string_equal(got, "original");
    free(got);
    struct stat st;
    lst(f->root, "x", &st);
    assert_true(S_ISREG(st.st_mode));
    free(victim);
}

static void test_hardlink_outside(void **state)
{
    struct fixture *f = *state;
    char *secret = tu_path(f->outside, "secret");
    tu_write(secret, "host data", 9);
    /* ../outside/secret relative to root */
    const struct ent ents[] = {{H, "hl", 0644, 0, 0, NULL, "../outside/secret"}};
    write_tgz(f->tgz, ents, 1);
    expect_refused(f, "hl");
    assert_false(exists(f->root, "hl"));
    const struct ent ents2[] = {{H, "hl", 0644, 0, 0, NULL, "../../etc/passwd"}};
    write_tgz(f->tgz, ents2, 1);
    expect_refused(f, "../../etc/passwd");
    const struct ent ents3[] = {{H, "hl", 0644, 0, 0, NULL, secret}};
    write_tgz(f->tgz, ents3, 1);
    expect_refused(f, "hl");
    /* Through a symlink inside root that leads outside. */
    const struct ent ents4[] = {{L, "out", 0777, 0, 0, NULL, f->outside},
                                {H, "hl2", 0644, 0, 0, NULL, "out/secret"}};
    write_tgz(f->tgz, ents4, 2);
    expect_refused(f, "hl2");
    assert_false(exists(f->root, "hl2"));
    struct stat st;
    assert_int_equal(stat(secret, &st), 0);
    assert_int_equal(st.st_nlink, 1);
    size_t len;
    char *got = tu_read(secret, &len);
    assert_string_equal(got, "host data");
    free(got);
    free(secret);
}

static void test_bad_inputs(void **state)
{
    struct fixture *f = *state;
    struct evm_err err = {0};
    char cwd_before[4096], cwd_after[4096];
    assert_non_null(getcwd(cwd_before, sizeof(cwd_before)));
    /* Missing tarball. */
    char *missing = tu_path(f->dir, "missing.tar.gz");
    assert_int_equal(populate_rootfs(missing, f->root, &err), -ENOENT);
    assert_non_null(strstr(err.msg, missing));
    free(missing);
    /* Root that is a symlink. */
    char *lroot = tu_path(f->dir, "lroot");
    assert_int_equal(symlink(f->root, lroot), 0);
    const struct ent ents[] = {{F, "a", 0644, 0, 0, "a", NULL}};
    write_tgz(f->tgz, ents, 1);
    assert_true(populate_rootfs(f->tgz, lroot, &err) < 0);
    assert_non_null(strstr(err.msg, lroot));
    free(lroot);
    /* Truncated archive: a big entry cut short. */
    char *big = malloc(256 * 1024);
    tu_fill(big, 256 * 1024 - 1, 3);
    big[256 * 1024 - 1] = '\0';
    for (size_t i = 0; i < 256 * 1024 - 1; i++)
        if (!big[i])
            big[i] = 'z';
    const struct ent ents2[] = {{F, "big", 0644, 0, 0, big, NULL}};
    write_tgz(f->tgz, ents2, 1);
    free(big);
    struct stat st;
    assert_int_equal(stat(f->tgz, &st), 0);
    assert_int_equal(truncate(f->tgz, st.st_size / 2), 0);
    int rc = populate_rootfs(f->tgz, f->root, &err);
    assert_true(rc < 0);
    assert_non_null(strstr(err.msg, "big"));
    /* Not an archive at all. */
    tu_write(f->tgz, "this is not a tarball\n", 22);
    assert_true(populate_rootfs(f->tgz, f->root, &err) < 0);
    assert_non_null(strstr(err.msg, f->tgz));
    assert_non_null(getcwd(cwd_after, sizeof(cwd_after)));
    assert_string_equal(cwd_before, cwd_after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_archive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dotdot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absolute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_through_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_replaces_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hardlink_outside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_inputs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
