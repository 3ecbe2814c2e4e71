/* test_mounts.c — mounts.c and switchroot.c without touching the host: deletion on
 * temporary trees, switch_root's refusals, and the mounting steps run in children inside a
 * private mount namespace (unshare(CLONE_NEWNS), "/" made MS_PRIVATE recursively) that
 * disappears with the child. The tests that mount are skipped (with a message) when not root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"
#include "mounts.h"
#include "switchroot.h"

/* In children: report the failing check on stderr and fail the child. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s (errno %s)\n", __FILE__, __LINE__, #cond,     \
                    strerror(errno));                                                              \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* Runs fn(arg) in a child; with newns in a private mount namespace. Returns its result. */
static int in_child(int (*fn)(const char *), const char *arg, int newns)
{
    fflush(NULL);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        if (newns) {
            if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
                _exit(77);
        }
        int rc = fn(arg);
        fflush(NULL);
        _exit(rc);
    }
    int ws;
    assert_int_equal(waitpid(c, &ws, 0), c);
    assert_true(WIFEXITED(ws));
    return WEXITSTATUS(ws);
}

static int need_root(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "not root: test needs mount namespaces, skipped\n");
        return 0;
    }
    return 1;
}

static void mkdir_at(const char *dir, const char *name)
{
    char *p = tu_path(dir, name);
    assert_int_equal(mkdir(p, 0755), 0);
    free(p);
}

static void write_at(const char *dir, const char *name, const char *text)
{
    char *p = tu_path(dir, name);
    tu_write(p, text, strlen(text));
    free(p);
}

static int exists_at(const char *dir, const char *name)
{
    char *p = tu_path(dir, name);
    struct stat st;
    int r = lstat(p, &st) == 0;
    free(p);
    return r;
}

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* ---- remove_tree_same_dev ------------------------------------------------------------- */

static void test_remove_tree_skip_nested_symlink(void **state)
{
    (void)state;
    char *base = tu_tmpdir();
    char *tree = tu_path(base, "tree");
    char *outside = tu_path(base, "outside");
    assert_int_equal(mkdir(tree, 0755), 0);
    assert_int_equal(mkdir(outside, 0755), 0);
    write_at(outside, "precious", "keep me");
    mkdir_at(outside, "sub");
    write_at(outside, "sub/file", "keep me too");

    mkdir_at(tree, "keep");
    write_at(tree, "keep/inside", "survives");
    write_at(tree, "init", "binary");
    mkdir_at(tree, "a");
    mkdir_at(tree, "a/b");
    mkdir_at(tree, "a/b/c");
    write_at(tree, "a/b/c/deep", "x");
    char *lnk = tu_path(tree, "to-outside");
    assert_int_equal(symlink(outside, lnk), 0);
    char *lnk2 = tu_path(tree, "a/to-file");
    char *precious = tu_path(outside, "precious");
    assert_int_equal(symlink(precious, lnk2), 0);
    char *fifo = tu_path(tree, "a/fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);

    int fd = open(tree, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    const char *const skip[] = {"keep", NULL};
    struct evm_err err = {0};
    assert_int_equal(remove_tree_same_dev(fd, st.st_dev, skip, &err), 0);
    close(fd);

    /* Only the skipped entry is left, with its contents. */
    assert_int_equal(count_entries(tree), 1);
    assert_true(exists_at(tree, "keep/inside"));
    /* The symlinks were removed, never followed: the outside is untouched. */
    assert_int_equal(count_entries(outside), 2);
    char *got = tu_read(precious, NULL);
    assert_string_equal(got, "keep me");
    free(got);
    assert_true(exists_at(outside, "sub/file"));

    free(fifo);
    free(precious);
    free(lnk2);
    free(lnk);
    free(outside);
    free(tree);
    tu_rmrf(base);
    free(base);
}

static void test_remove_tree_other_dev_untouched(void **state)
{
    (void)state;
    char *base = tu_tmpdir();
    mkdir_at(base, "d");
    write_at(base, "d/f", "x");
    int fd = open(base, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    struct evm_err err = {0};
    /* A device number that is not the tree's: nothing may be removed. */
    assert_int_equal(remove_tree_same_dev(fd, st.st_dev + 1, NULL, &err), 0);
    close(fd);
    assert_true(exists_at(base, "d/f"));
    tu_rmrf(base);
    free(base);
}

/* A tmpfs mounted inside the tree (directly, and below a directory) keeps its contents; the
 * directories holding it stay; everything else goes. */
static int child_mount_boundary(const char *tree)
{
    char mnt[4096], mnt2[4096];
    snprintf(mnt, sizeof(mnt), "%s/mnt", tree);
    snprintf(mnt2, sizeof(mnt2), "%s/x/y/mnt2", tree);
    CHECK(mount("tmpfs", mnt, "tmpfs", 0, "size=1m") == 0);
    CHECK(mount("tmpfs", mnt2, "tmpfs", 0, "size=1m") == 0);
    char f[4200];
    snprintf(f, sizeof(f), "%s/file", mnt);
    int fd = open(f, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    close(fd);
    snprintf(f, sizeof(f), "%s/file2", mnt2);
    fd = open(f, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    close(fd);

    int dfd = open(tree, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    struct stat st;
    CHECK(fstat(dfd, &st) == 0);
    struct evm_err err = {0};
    int rc = remove_tree_same_dev(dfd, st.st_dev, NULL, &err);
    if (rc != 0)
        fprintf(stderr, "remove_tree_same_dev: %s\n", err.msg);
    CHECK(rc == 0);
    close(dfd);

    snprintf(f, sizeof(f), "%s/file", mnt);
    CHECK(access(f, F_OK) == 0);
    snprintf(f, sizeof(f), "%s/file2", mnt2);
    CHECK(access(f, F_OK) == 0);
    snprintf(f, sizeof(f), "%s/x/gone", tree);
    CHECK(access(f, F_OK) != 0);
    snprintf(f, sizeof(f), "%s/plain", tree);
    CHECK(access(f, F_OK) != 0);
    CHECK(umount2(mnt2, 0) == 0);
    CHECK(umount2(mnt, 0) == 0);
    return 0;
}

static void test_remove_tree_keeps_mounts(void **state)
{
    (void)state;
    if (!need_root()) {
        skip();
        return;
    }
    char *tree = tu_tmpdir();
    mkdir_at(tree, "mnt");
    mkdir_at(tree, "x");
    mkdir_at(tree, "x/y");
    mkdir_at(tree, "x/y/mnt2");
    write_at(tree, "x/gone", "x");
    write_at(tree, "plain", "x");
    assert_int_equal(in_child(child_mount_boundary, tree, 1), 0);
    tu_rmrf(tree);
    free(tree);
}

/* ---- switch_root ---------------------------------------------------------------------- */

static int is_initramfs_root(void)
{
    struct statfs sf;
    assert_int_equal(statfs("/", &sf), 0);
    return (unsigned long)sf.f_type == EVM_RAMFS_MAGIC ||
           (unsigned long)sf.f_type == EVM_TMPFS_MAGIC;
}

static int child_switch_root_refuses(const char *newroot)
{
    struct evm_err err = {0};
    int rc = switch_root(newroot, NULL, &err);
    CHECK(rc == -EINVAL);
    CHECK(strstr(err.msg, "not an initramfs") != NULL);
    struct evm_err err2 = {0};
    CHECK(switch_root("relative/newroot", NULL, &err2) == -EINVAL);
    CHECK(strstr(err2.msg, "absolute") != NULL);
    return 0;
}

static void test_switch_root_refuses_on_real_disk(void **state)
{
    (void)state;
    if (is_initramfs_root()) {
        fprintf(stderr, "/ is a ramfs/tmpfs here: refusal test skipped (it would not refuse)\n");
        skip();
        return;
    }
    char *base = tu_tmpdir();
    mkdir_at(base, "newroot");
    write_at(base, "newroot/marker", "x");
    write_at(base, "sibling", "x");
    char *newroot = tu_path(base, "newroot");
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(in_child(child_switch_root_refuses, newroot, 0), 0);
    assert_true(exists_at(base, "newroot/marker"));
    assert_true(exists_at(base, "sibling"));
    free(newroot);
    tu_rmrf(base);
    free(base);
}

/* The whole switch in a fake initramfs: a tmpfs made "/" by chroot, with a new root tmpfs
 * mounted at /newroot and another mount (/keepmnt) that must survive the deletion. */
static int child_switch_root_full(const char *fake)
{
    CHECK(mount("tmpfs", fake, "tmpfs", 0, "size=4m") == 0);
    char p[4200];
    snprintf(p, sizeof(p), "%s/newroot", fake);
    CHECK(mkdir(p, 0755) == 0);
    CHECK(mount("tmpfs", p, "tmpfs", 0, "size=4m") == 0);
    snprintf(p, sizeof(p), "%s/newroot/marker", fake);
    int fd = open(p, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    close(fd);
    snprintf(p, sizeof(p), "%s/keepmnt", fake);
    CHECK(mkdir(p, 0755) == 0);
    CHECK(mount("tmpfs", p, "tmpfs", 0, "size=1m") == 0);
    snprintf(p, sizeof(p), "%s/keepmnt/kept", fake);
    fd = open(p, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    close(fd);
    snprintf(p, sizeof(p), "%s/init", fake);
    fd = open(p, O_WRONLY | O_CREAT, 0755);
    CHECK(fd >= 0);
    close(fd);
    snprintf(p, sizeof(p), "%s/lib", fake);
    CHECK(mkdir(p, 0755) == 0);
    snprintf(p, sizeof(p), "%s/lib/modules", fake);
    CHECK(mkdir(p, 0755) == 0);
    /* /modules is kept (the init bind-mounts its tree into the new root). */
    snprintf(p, sizeof(p), "%s/modules", fake);
    CHECK(mkdir(p, 0755) == 0);
    snprintf(p, sizeof(p), "%s/modules/load-later", fake);
    fd = open(p, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    close(fd);

    int oldfd = open(fake, O_RDONLY | O_DIRECTORY);
    CHECK(oldfd >= 0);
    CHECK(chroot(fake) == 0);
    CHECK(chdir("/") == 0);
    struct evm_err err = {0};
    const char *const bad[] = {"a/b", NULL};
    CHECK(switch_root("/newroot", bad, &err) == -EINVAL);
    CHECK(access("/init", F_OK) == 0); /* refused before touching anything */
    const char *const keep[] = {"modules", NULL};
    int rc = switch_root("/newroot", keep, &err);
    if (rc != 0)
        fprintf(stderr, "switch_root: %s\n", err.msg);
    CHECK(rc == 0);
    /* "/" is now the new root. */
    CHECK(access("/marker", F_OK) == 0);
    CHECK(access("/newroot", F_OK) != 0);
    /* The old root was emptied, except the new root's mount point and the other mount. */
    struct stat st;
    CHECK(fstatat(oldfd, "init", &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT);
    CHECK(fstatat(oldfd, "lib", &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT);
    CHECK(fstatat(oldfd, "newroot", &st, AT_SYMLINK_NOFOLLOW) == 0);
    CHECK(fstatat(oldfd, "keepmnt/kept", &st, AT_SYMLINK_NOFOLLOW) == 0);
    CHECK(fstatat(oldfd, "modules/load-later", &st, AT_SYMLINK_NOFOLLOW) == 0);
    close(oldfd);
    return 0;
}

static void test_switch_root_in_fake_initramfs(void **state)
{
    (void)state;
    if (!need_root()) {
        skip();
        return;
    }
    char *base = tu_tmpdir();
    mkdir_at(base, "fake");
    char *fake = tu_path(base, "fake");
    assert_int_equal(in_child(child_switch_root_full, fake, 1), 0);
    /* The namespace is gone: the host's directory is empty again. */
    assert_int_equal(count_entries(fake), 0);
    free(fake);
    tu_rmrf(base);
    free(base);
}

/* ---- mounts_early / mounts_move_into_from --------------------------------------------- */

static int is_fs(const char *path, unsigned long magic)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == magic;
}

/* The kernel lists the filesystem type in /proc/filesystems. */
static int kernel_has_fs(const char *type)
{
    FILE *f = fopen("/proc/filesystems", "r");
    char line[256];
    int found = 0;
    while (f && fgets(line, sizeof(line), f)) {
        char *t = strrchr(line, '\t');
        t = t ? t + 1 : line;
        t[strcspn(t, "\n")] = '\0';
        if (strcmp(t, type) == 0)
            found = 1;
    }
    if (f)
        fclose(f);
    return found;
}

static int count_mounts_under(const char *prefix)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (!f)
        return -1;
    char line[8192], mp[4096];
    int n = 0;
    size_t pl = strlen(prefix);
    while (fgets(line, sizeof(line), f))
        if (mountinfo_mountpoint(line, mp, sizeof(mp)) == 0 && strncmp(mp, prefix, pl) == 0 &&
            (mp[pl] == '/' || mp[pl] == '\0'))
            n++;
    fclose(f);
    return n;
}

static int child_early_and_move(const char *base)
{
    char oldr[4096], newr[4096], p[4200];
    snprintf(oldr, sizeof(oldr), "%s/old", base);
    snprintf(newr, sizeof(newr), "%s/new", base);
    struct evm_err err = {0};
    int rc = mounts_early(oldr, &err);
    if (rc != 0)
        fprintf(stderr, "mounts_early: %s\n", err.msg);
    CHECK(rc == 0);
    snprintf(p, sizeof(p), "%s/proc/self/stat", oldr);
    CHECK(access(p, F_OK) == 0);
    snprintf(p, sizeof(p), "%s/sys/kernel", oldr);
    CHECK(access(p, F_OK) == 0);
    snprintf(p, sizeof(p), "%s/dev/null", oldr);
    CHECK(access(p, F_OK) == 0);
    snprintf(p, sizeof(p), "%s/run", oldr);
    CHECK(is_fs(p, EVM_TMPFS_MAGIC));
    snprintf(p, sizeof(p), "%s/tmp", oldr);
    struct stat st;
    CHECK(is_fs(p, EVM_TMPFS_MAGIC) && stat(p, &st) == 0 && (st.st_mode & 07777) == 01777);
    snprintf(p, sizeof(p), "%s/proc", oldr);
    CHECK(is_fs(p, EVM_PROC_MAGIC));

    /* Again: everything is already mounted; nothing is stacked. */
    int before = count_mounts_under(oldr);
    CHECK(before >= 6);
    rc = mounts_early(oldr, &err);
    CHECK(rc == 0);
    CHECK(count_mounts_under(oldr) == before);

    rc = mounts_move_into_from(oldr, newr, &err);
    if (rc != 0)
        fprintf(stderr, "mounts_move_into_from: %s\n", err.msg);
    CHECK(rc == 0);
    snprintf(p, sizeof(p), "%s/proc/self/stat", newr);
    CHECK(access(p, F_OK) == 0);
    snprintf(p, sizeof(p), "%s/proc/self/stat", oldr);
    CHECK(access(p, F_OK) != 0);
    snprintf(p, sizeof(p), "%s/dev/null", newr);
    CHECK(access(p, F_OK) == 0);
    snprintf(p, sizeof(p), "%s/sys/kernel", newr);
    CHECK(access(p, F_OK) == 0);
    snprintf(p, sizeof(p), "%s/run", newr);
    CHECK(is_fs(p, EVM_TMPFS_MAGIC));
    /* Nothing is left mounted on the old root (its /tmp was detached). */
    CHECK(count_mounts_under(oldr) == 0);
    /* cgroup2 and securityfs are best effort; where the host has them, they are mounted. */
    snprintf(p, sizeof(p), "%s/sys/fs/cgroup", newr);
    if (is_fs("/sys/fs/cgroup", EVM_CGROUP2_MAGIC))
        CHECK(is_fs(p, EVM_CGROUP2_MAGIC));
    /* mqueue (mounted early, moved with /dev) and bpf: where the kernel has them. */
    snprintf(p, sizeof(p), "%s/dev/mqueue", newr);
    if (kernel_has_fs("mqueue"))
        CHECK(is_fs(p, EVM_MQUEUE_MAGIC));
    snprintf(p, sizeof(p), "%s/sys/fs/bpf", newr);
    if (kernel_has_fs("bpf") && access("/sys/fs/bpf", F_OK) == 0)
        CHECK(is_fs(p, EVM_BPF_MAGIC));
    return 0;
}

static void test_mounts_early_and_move(void **state)
{
    (void)state;
    if (!need_root()) {
        skip();
        return;
    }
    char *base = tu_tmpdir();
    mkdir_at(base, "old");
    mkdir_at(base, "new");
    int rc = in_child(child_early_and_move, base, 1);
    assert_int_equal(rc, 0);
    tu_rmrf(base);
    free(base);
}

static void test_mounts_early_refuses_symlink(void **state)
{
    (void)state;
    char *base = tu_tmpdir();
    mkdir_at(base, "root");
    mkdir_at(base, "elsewhere");
    char *root = tu_path(base, "root");
    char *proc = tu_path(root, "proc");
    char *elsewhere = tu_path(base, "elsewhere");
    assert_int_equal(symlink(elsewhere, proc), 0);
    struct evm_err err = {0};
    assert_int_equal(mounts_early(root, &err), -ENOTDIR);
    assert_non_null(strstr(err.msg, proc));
    assert_int_equal(count_entries(elsewhere), 0);
    free(elsewhere);
    free(proc);
    free(root);
    tu_rmrf(base);
    free(base);
}

/* ---- console_reopen ------------------------------------------------------------------- */

static int same_file(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

static int child_console(const char *root)
{
    char con[4096];
    snprintf(con, sizeof(con), "%s/dev/console", root);
    struct evm_err err = {0};
    CHECK(console_reopen(root, &err) == 0);
    CHECK(same_file(0, con) && same_file(1, con) && same_file(2, con));
    CHECK((fcntl(0, F_GETFL) & O_ACCMODE) == O_RDWR);
    return 0;
}

static int child_console_fallback(const char *root)
{
    char nul[4096];
    snprintf(nul, sizeof(nul), "%s/dev/null", root);
    int saved2 = dup(2);
    CHECK(saved2 > 2);
    close(1); /* fd 1 closed: it must be filled, fd 2 (open) must be kept */
    struct evm_err err = {0};
    int rc = console_reopen(root, &err);
    CHECK(rc == -ENOENT);
    CHECK(strstr(err.msg, "dev/console") != NULL);
    CHECK(same_file(0, nul) && same_file(1, nul));
    CHECK(!same_file(2, nul));
    return 0;
}

static void test_console_reopen(void **state)
{
    (void)state;
    char *root = tu_tmpdir();
    mkdir_at(root, "dev");
    write_at(root, "dev/console", "");
    assert_int_equal(in_child(child_console, root, 0), 0);
    tu_rmrf(root);
    free(root);

    root = tu_tmpdir();
    mkdir_at(root, "dev");
    write_at(root, "dev/null", "");
    assert_int_equal(in_child(child_console_fallback, root, 0), 0);
    tu_rmrf(root);
    free(root);
}

/* ---- mountinfo parsing ---------------------------------------------------------------- */

static void test_mountinfo_mountpoint(void **state)
{
    (void)state;
    char mp[64];
    assert_int_equal(mountinfo_mountpoint("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 "
                                          "/dev/root rw,errors=continue\n",
                                          mp, sizeof(mp)),
                     0);
    assert_string_equal(mp, "/mnt2");
    assert_int_equal(
        mountinfo_mountpoint("40 1 0:5 / /a\\040b\\134c rw - tmpfs tmpfs rw\n", mp, sizeof(mp)), 0);
    assert_string_equal(mp, "/a b\\c");
    assert_int_equal(mountinfo_mountpoint("40 1 0:5 /\n", mp, sizeof(mp)), -EINVAL);
    assert_int_equal(mountinfo_mountpoint("40 1 0:5 / /x\n", mp, sizeof(mp)), -EINVAL);
    assert_int_equal(mountinfo_mountpoint("", mp, sizeof(mp)), -EINVAL);
    assert_int_equal(mountinfo_mountpoint("1 2 3:4 / /0123456789 rw\n", mp, 8), -ENAMETOOLONG);
    char out[16];
    assert_int_equal(mount_field_unescape("/swap\\040file 0 0", out, sizeof(out)), 13);
    assert_string_equal(out, "/swap file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remove_tree_skip_nested_symlink),
        cmocka_unit_test(test_remove_tree_other_dev_untouched),
        cmocka_unit_test(test_remove_tree_keeps_mounts),
        cmocka_unit_test(test_switch_root_refuses_on_real_disk),
        cmocka_unit_test(test_switch_root_in_fake_initramfs),
        cmocka_unit_test(test_mounts_early_and_move),
        cmocka_unit_test(test_mounts_early_refuses_symlink),
        cmocka_unit_test(test_console_reopen),
        cmocka_unit_test(test_mountinfo_mountpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
