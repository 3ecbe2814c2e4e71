/* test_modroot.c — what the new root gets for containers (modroot.c, cgroup.c, mounts_check):
 * the module tree bind-mounted read-only at lib/modules/<release>, through a merged-/usr
 * symlink (relative or absolute: resolved inside the new root, never on the host), and the
 * error naming the trees when this kernel's is missing; kernel.modprobe pointed at a
 * modprobe that exists in the new root, and on-demand loading only with an index; the cgroup
 * controllers written one by one to subtree_control, a missing one skipped; every expected
 * mount reported missing on a bare directory. Mounting tests run in a child in a private
 * mount namespace and are skipped when not root. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup.h"
#include "modroot.h"
#include "mounts.h"
#include "testutil.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s (errno %s)\n", __FILE__, __LINE__, #cond,     \
                    strerror(errno));                                                              \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static void mkpath(const char *base, const char *rel)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    for (char *s = p + strlen(base) + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                fail_msg("mkdir %s: %s", p, strerror(errno));
            *s = c;
            if (!c)
                break;
        }
    }
}

static void put(const char *base, const char *rel, const char *text, mode_t mode)
{
    char *p = tu_path(base, rel);
    tu_write(p, text, strlen(text));
    assert_int_equal(chmod(p, mode), 0);
    free(p);
}

static char *content(const char *base, const char *rel)
{
    char *p = tu_path(base, rel);
    size_t len;
    char *t = tu_read(p, &len);
    free(p);
    return t;
}

/* ---- the bind mount --------------------------------------------------------------------- */

static int in_ns_child(int (*fn)(const char *), const char *arg)
{
    fflush(NULL);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
            _exit(77);
        _exit(fn(arg));
    }
    int ws;
    assert_int_equal(waitpid(c, &ws, 0), c);
    assert_true(WIFEXITED(ws));
    return WEXITSTATUS(ws);
}

/* base/modules/9.9-test (the initrd's tree), base/new (the new root) whose lib is a
 * symlink to usr/lib given by arg[0] ('r' relative, 'a' absolute). */
static int child_bind(const char *base)
{
    char mods[4096], newroot[4096], p[4200];
    snprintf(mods, sizeof(mods), "%s/modules", base);
    snprintf(newroot, sizeof(newroot), "%s/new", base);
    struct evm_err err = {0};
    CHECK(modroot_bind(mods, newroot, "9.9-test", &err) == 0);
    snprintf(p, sizeof(p), "%s/usr/lib/modules/9.9-test/modules.dep.bin", newroot);
    CHECK(access(p, R_OK) == 0);
    snprintf(p, sizeof(p), "%s/usr/lib/modules/9.9-test/kernel/x.ko", newroot);
    CHECK(access(p, R_OK) == 0);
    /* Read-only. */
    snprintf(p, sizeof(p), "%s/usr/lib/modules/9.9-test/new-file", newroot);
    CHECK(open(p, O_WRONLY | O_CREAT, 0644) < 0 && errno == EROFS);
    /* Other kernels' trees in the new root stay visible. */
    snprintf(p, sizeof(p), "%s/usr/lib/modules/other/kept", newroot);
    CHECK(access(p, F_OK) == 0);
    /* A kernel the initrd has no tree for: an error naming it and what is there. */
    int r = modroot_bind(mods, newroot, "1.0-none", &err);
    CHECK(r == -ENOENT);
    CHECK(strstr(err.msg, "1.0-none") != NULL && strstr(err.msg, "9.9-test") != NULL);
    CHECK(modroot_bind(mods, newroot, "../x", &err) == -EINVAL);
    return 0;
}

static void test_bind(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        skip();
        return;
    }
    for (int absolute = 0; absolute <= 1; absolute++) {
        char *base = tu_tmpdir();
        mkpath(base, "modules/9.9-test/kernel");
        put(base, "modules/9.9-test/kernel/x.ko", "ko", 0644);
        put(base, "modules/9.9-test/modules.dep.bin", "idx", 0644);
        put(base, "modules/load-order", "", 0644);
        mkpath(base, "new/usr/lib/modules/other");
        put(base, "new/usr/lib/modules/other/kept", "", 0644);
        char *lib = tu_path(base, "new/lib");
        assert_int_equal(symlink(absolute ? "/usr/lib" : "usr/lib", lib), 0);
        free(lib);
        assert_int_equal(in_ns_child(child_bind, base), 0);
        /* The namespace is gone; the directory made for the mount point stays. */
        char *mp = tu_path(base, "new/usr/lib/modules/9.9-test");
        struct stat st;
        assert_int_equal(stat(mp, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        free(mp);
        tu_rmrf(base);
        free(base);
    }
}

/* ---- kernel.modprobe ------------------------------------------------------------------ */

static void test_modprobe(void **state)
{
    (void)state;
    char *root = tu_tmpdir(), *ps = tu_tmpdir();
    mkpath(ps, "kernel");
    put(ps, "kernel/modprobe", "/sbin/modprobe\n", 0644);
    struct evm_err err = {0};
    bool on_demand = true;

    /* No modprobe anywhere: a warning, no on-demand loading, kernel.modprobe untouched. */
    assert_int_equal(modroot_modprobe(root, ps, "9.9-test", &on_demand, &err), 0);
    assert_false(on_demand);
    char *t = content(ps, "kernel/modprobe");
    assert_string_equal(t, "/sbin/modprobe\n");
    free(t);

    /* Only in /usr/sbin (a rootfs without the /sbin symlink): kernel.modprobe follows. */
    mkpath(root, "usr/sbin");
    put(root, "usr/sbin/modprobe", "#!/bin/sh\n", 0755);
    assert_int_equal(modroot_modprobe(root, ps, "9.9-test", &on_demand, &err), 0);
    t = content(ps, "kernel/modprobe");
    assert_string_equal(t, "/usr/sbin/modprobe\n");
    free(t);
    assert_false(on_demand); /* no index yet */

    /* With the index: on demand. A non-executable candidate is not taken. */
    mkpath(root, "lib/modules/9.9-test");
    put(root, "lib/modules/9.9-test/modules.dep.bin", "idx", 0644);
    mkpath(root, "sbin");
    put(root, "sbin/modprobe", "not executable", 0644);
    put(ps, "kernel/modprobe", "/sbin/modprobe\n", 0644);
    assert_int_equal(modroot_modprobe(root, ps, "9.9-test", &on_demand, &err), 0);
    assert_true(on_demand);
    t = content(ps, "kernel/modprobe");
    assert_string_equal(t, "/usr/sbin/modprobe\n");
    free(t);

    /* kernel.modprobe's own, when it exists, is kept (not replaced by the first candidate). */
    put(root, "sbin/modprobe", "#!/bin/sh\n", 0755);
    mkpath(root, "opt/kmod");
    put(root, "opt/kmod/modprobe", "#!/bin/sh\n", 0755);
    put(ps, "kernel/modprobe", "/opt/kmod/modprobe\n", 0644);
    assert_int_equal(modroot_modprobe(root, ps, "9.9-test", &on_demand, &err), 0);
    assert_true(on_demand);
    t = content(ps, "kernel/modprobe");
    assert_string_equal(t, "/opt/kmod/modprobe\n");
    free(t);
    tu_rmrf(root);
    tu_rmrf(ps);
    free(root);
    free(ps);
}

/* ---- cgroup controllers ---------------------------------------------------------------- */

static void test_cgroup_controllers(void **state)
{
    (void)state;
    char *cg = tu_tmpdir();
    /* No io controller offered: it is skipped (a warning), the others written one each. */
    put(cg, "cgroup.controllers", "cpuset cpu memory hugetlb pids rdma misc\n", 0644);
    put(cg, "cgroup.subtree_control", "", 0644);
    unsigned enabled = 0;
    struct evm_err err = {0};
    assert_int_equal(cgroup_enable_controllers(cg, &enabled, &err), 0);
    assert_int_equal(enabled, 4);
    char *t = content(cg, "cgroup.subtree_control");
    assert_string_equal(t, "+cpuset+cpu+memory+pids");
    free(t);

    /* "cpu" is not taken from "cpuset" alone. */
    put(cg, "cgroup.controllers", "cpuset io\n", 0644);
    put(cg, "cgroup.subtree_control", "", 0644);
    assert_int_equal(cgroup_enable_controllers(cg, &enabled, &err), 0);
    assert_int_equal(enabled, 2);
    t = content(cg, "cgroup.subtree_control");
    assert_string_equal(t, "+cpuset+io");
    free(t);

    /* A write the kernel refuses (here: no such file) is a warning; the rest go on. */
    char *sc = tu_path(cg, "cgroup.subtree_control");
    assert_int_equal(unlink(sc), 0);
    assert_int_equal(cgroup_enable_controllers(cg, &enabled, &err), 0);
    assert_int_equal(enabled, 0);
    free(sc);

    /* No cgroup2 there at all: an error. */
    char *c = tu_path(cg, "cgroup.controllers");
    assert_int_equal(unlink(c), 0);
    free(c);
    assert_int_equal(cgroup_enable_controllers(cg, &enabled, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "cgroup.controllers"));
    tu_rmrf(cg);
    free(cg);
}

/* ---- the mount check ------------------------------------------------------------------- */

static void test_mounts_check_bare(void **state)
{
    (void)state;
    char *root = tu_tmpdir();
    mkpath(root, "dev/pts");
    mkpath(root, "sys/fs/cgroup");
    unsigned n = 0;
    for (const struct mount_need *m = mounts_needed; m->target; m++)
        n++;
    assert_int_equal(n, 10);
    assert_int_equal(mounts_check(root), n);
    tu_rmrf(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bind),
        cmocka_unit_test(test_modprobe),
        cmocka_unit_test(test_cgroup_controllers),
        cmocka_unit_test(test_mounts_check_bare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
