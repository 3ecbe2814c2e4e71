/* test_modules.c — module loading order and error classes, with a recording loader in place
 * of finit_module. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "modlater.h"
#include "modules.h"
#include "testutil.h"

struct rec {
    char seen[16][64];
    int n;
};

static const char *base_name(const char *rel)
{
    const char *s = strrchr(rel, '/');
    return s ? s + 1 : rel;
}

static int fake_load(void *ctx, int dirfd, const char *path, struct evm_err *err)
{
    struct rec *r = ctx;
    (void)dirfd;
    const char *name = base_name(path);
    snprintf(r->seen[r->n++], sizeof(r->seen[0]), "%s", name);
    if (strcmp(name, "crc32c-intel.ko") == 0)
        return evm_errf(err, ENODEV, "fake: no such device");
    if (strcmp(name, "bridge.ko") == 0)
        return evm_errf(err, EEXIST, "fake: exists");
    if (strcmp(name, "missing.ko") == 0)
        return evm_errf(err, ENOENT, "fake: missing");
    if (strcmp(name, "broken.ko") == 0)
        return evm_errf(err, ENOEXEC, "fake: exec format error");
    return 0;
}

static void test_order_and_warnings(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *lo = tu_path(dir, "load-order");
    const char *text = "# virtio\nvirtio_ring.ko\n\n  virtio.ko  \r\ncrc32c-intel.ko\nbridge.ko\n"
                       "missing.ko\next4.ko\n";
    tu_write(lo, text, strlen(text));
    struct rec r = {0};
    struct modules_result res;
    struct evm_err err = {0};
    assert_int_equal(modules_load(dir, fake_load, &r, &res, &err), 0);
    assert_int_equal(r.n, 6);
    assert_string_equal(r.seen[0], "virtio_ring.ko");
    assert_string_equal(r.seen[1], "virtio.ko");
    assert_string_equal(r.seen[2], "crc32c-intel.ko");
    assert_string_equal(r.seen[5], "ext4.ko");
    assert_int_equal(res.loaded, 3);
    assert_int_equal(res.skipped, 3);

    /* Any other failure stops the step and names the module. */
    text = "virtio.ko\nbroken.ko\next4.ko\n";
    tu_write(lo, text, strlen(text));
    memset(&r, 0, sizeof(r));
    assert_int_equal(modules_load(dir, fake_load, &r, &res, &err), -ENOEXEC);
    assert_non_null(strstr(err.msg, "loading module broken.ko: fake: exec format error"));
    assert_int_equal(r.n, 2);

    /* A path in the list is refused. */
    text = "../../evil.ko\n";
    tu_write(lo, text, strlen(text));
    assert_int_equal(modules_load(dir, fake_load, &r, &res, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "load-order:1"));

    /* No load-order: nothing to do. */
    remove(lo);
    memset(&r, 0, sizeof(r));
    assert_int_equal(modules_load(dir, fake_load, &r, &res, &err), 0);
    assert_int_equal(r.n, 0);
    tu_rmrf(dir);
    free(dir);
    free(lo);
}

/* The real loader reports a missing file as -ENOENT (a warning above). */
static void test_finit_missing_file(void **state)
{
    (void)state;
    struct evm_err err = {0};
    assert_int_equal(modules_finit(NULL, AT_FDCWD, "/nonexistent/module.ko", &err), -ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/module.ko"));
}

struct par {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char order[16][64];
    int n;
    bool b_started;
};

static int par_load(void *ctx, int dirfd, const char *path, struct evm_err *err)
{
    struct par *p = ctx;
    (void)dirfd;
    const char *name = base_name(path);
    pthread_mutex_lock(&p->lock);
    snprintf(p->order[p->n++], sizeof(p->order[0]), "%s", name);
    if (strcmp(name, "b.ko") == 0) {
        p->b_started = true;
        pthread_cond_broadcast(&p->cond);
    }
    int r = 0;
    if (strcmp(name, "a.ko") == 0) {
        /* a.ko and b.ko have no dependencies: with two workers b.ko starts while a.ko is
         * still loading. Sequential loading would leave this wait to time out. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 10;
        while (!p->b_started && r == 0)
            r = pthread_cond_timedwait(&p->cond, &p->lock, &until) == ETIMEDOUT ? -ETIMEDOUT : 0;
    }
    pthread_mutex_unlock(&p->lock);
    if (r < 0)
        return evm_errf(err, -r, "%s: b.ko never started", name);
    return 0;
}

static int index_of(const struct par *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->order[i], name) == 0)
            return i;
    return -1;
}

/* "<file>: <deps>" lines load in parallel, each after its dependencies. */
static void test_parallel_with_deps(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *lo = tu_path(dir, "load-order");
    const char *text = "a.ko:\nb.ko:\nc.ko: a.ko\nd.ko: c.ko b.ko builtin.ko\ne.ko:\n";
    tu_write(lo, text, strlen(text));
    struct par p = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    struct modules_result res;
    struct evm_err err = {0};
    assert_int_equal(modules_load_workers(dir, par_load, &p, 2, &res, &err), 0);
    assert_int_equal(p.n, 5);
    assert_int_equal(res.loaded, 5);
    assert_true(index_of(&p, "c.ko") > index_of(&p, "a.ko"));
    assert_true(index_of(&p, "d.ko") > index_of(&p, "c.ko"));
    assert_true(index_of(&p, "d.ko") > index_of(&p, "b.ko"));
    assert_true(p.b_started);
    tu_rmrf(dir);
    free(dir);
    free(lo);
}

/* Paths below the modules directory, as the builder writes them
 * ("<release>/kernel/.../x.ko"), reach the loader relative to the directory's fd; absolute
 * paths, ".." and empty components are refused with the list's line. */
static int path_load(void *ctx, int dirfd, const char *rel, struct evm_err *err)
{
    struct rec *r = ctx;
    snprintf(r->seen[r->n++], sizeof(r->seen[0]), "%s", rel);
    int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return evm_errf(err, errno, "open %s: %s", rel, strerror(errno));
    close(fd);
    return 0;
}

static void test_paths_under_dir(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *sub = tu_path(dir, "6.1.0-test");
    assert_int_equal(mkdir(sub, 0755), 0);
    char *kdir = tu_path(sub, "kernel");
    assert_int_equal(mkdir(kdir, 0755), 0);
    char *ko = tu_path(kdir, "a.ko");
    tu_write(ko, "x", 1);
    char *lo = tu_path(dir, "load-later");
    const char *text = "6.1.0-test/kernel/a.ko: 6.1.0-test/kernel/loaded-earlier.ko\n";
    tu_write(lo, text, strlen(text));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    struct rec r = {0};
    struct modules_result res;
    struct evm_err err = {0};
    assert_int_equal(modules_load_at(dfd, "load-later", path_load, &r, 2, &res, &err), 0);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.seen[0], "6.1.0-test/kernel/a.ko");
    assert_int_equal(res.loaded, 1);
    assert_false(res.no_list);

    const char *bad[] = {"/abs/a.ko\n", "6.1/../a.ko\n", "6.1//a.ko\n", "a.ko: ./b.ko\nx/./c.ko\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tu_write(lo, bad[i], strlen(bad[i]));
        evm_err_clear(&err);
        if (modules_load_at(dfd, "load-later", path_load, &r, 1, &res, &err) != -EINVAL ||
            !strstr(err.msg, "load-later:") || !strstr(err.msg, "not a module path"))
            fail_msg("'%s': %s", bad[i], err.msg);
    }

    /* A missing list: nothing loaded, no error, no_list set. */
    assert_int_equal(modules_load_at(dfd, "load-demand", path_load, &r, 1, &res, &err), 0);
    assert_true(res.no_list);
    assert_int_equal(res.loaded + res.skipped, 0);
    close(dfd);
    tu_rmrf(dir);
    free(dir);
    free(sub);
    free(kdir);
    free(ko);
    free(lo);
}

/* With one thread, the ready module with the heaviest chain behind it goes first: a small
 * module that a big one waits for comes before a medium one listed earlier; ties keep the
 * list's order. */
static void test_heaviest_chain_first(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    static const struct {
        const char *name;
        size_t size;
    } files[] = {{"small.ko", 10}, {"medium.ko", 1000}, {"dep.ko", 10},
                 {"big.ko", 5000}, {"tie1.ko", 10},     {"tie2.ko", 10}};
    char buf[5000];
    memset(buf, 'x', sizeof(buf));
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char *p = tu_path(dir, files[i].name);
        tu_write(p, buf, files[i].size);
        free(p);
    }
    char *lo = tu_path(dir, "load-order");
    const char *text = "small.ko:\nmedium.ko:\ndep.ko:\nbig.ko: dep.ko\ntie1.ko:\ntie2.ko:\n";
    tu_write(lo, text, strlen(text));
    struct rec r = {0};
    struct modules_result res;
    struct evm_err err = {0};
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    assert_int_equal(modules_load_at(dfd, "load-order", fake_load, &r, 1, &res, &err), 0);
    close(dfd);
    assert_int_equal(r.n, 6);
    assert_string_equal(r.seen[0], "dep.ko");
    assert_string_equal(r.seen[1], "big.ko");
    assert_string_equal(r.seen[2], "medium.ko");
    assert_string_equal(r.seen[3], "small.ko");
    assert_string_equal(r.seen[4], "tie1.ko");
    assert_string_equal(r.seen[5], "tie2.ko");
    tu_rmrf(dir);
    free(dir);
    free(lo);
}

/* A load on its own thread gives the same result as one in the foreground. */
static void test_job(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *lo = tu_path(dir, "load-order");
    const char *text = "virtio.ko\nbridge.ko\next4.ko\n";
    tu_write(lo, text, strlen(text));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    struct rec r = {0};
    struct modules_job *job = NULL;
    struct evm_err err = {0};
    assert_int_equal(modules_job_start(dfd, "load-order", fake_load, &r, 2, &job, &err), 0);
    struct modules_result res;
    assert_int_equal(modules_job_wait(job, &res, &err), 0);
    assert_int_equal(r.n, 3);
    assert_int_equal(res.loaded, 2);
    assert_int_equal(res.skipped, 1); /* bridge.ko: EEXIST */

    text = "broken.ko\n";
    tu_write(lo, text, strlen(text));
    assert_int_equal(modules_job_start(dfd, "load-order", fake_load, &r, 1, &job, &err), 0);
    assert_int_equal(modules_job_wait(job, &res, &err), -ENOEXEC);
    assert_non_null(strstr(err.msg, "broken.ko"));
    close(dfd);
    tu_rmrf(dir);
    free(dir);
    free(lo);
}

/* After the launch: load-later, load-demand only when asked, then the bridge sysctls (which
 * exist once br_netfilter is loaded: the fake loader makes them). */
struct later_rec {
    struct rec r;
    char *procsys;
};

static int later_load(void *ctx, int dirfd, const char *rel, struct evm_err *err)
{
    struct later_rec *l = ctx;
    if (strcmp(base_name(rel), "br_netfilter.ko") == 0) {
        char *p = tu_path(l->procsys, "net/bridge/bridge-nf-call-iptables");
        tu_write(p, "0\n", 2);
        free(p);
        p = tu_path(l->procsys, "net/bridge/bridge-nf-call-ip6tables");
        tu_write(p, "0\n", 2);
        free(p);
    }
    return fake_load(&l->r, dirfd, rel, err);
}

static void test_modlater(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *ps = tu_tmpdir();
    char *bridge = tu_path(ps, "net");
    assert_int_equal(mkdir(bridge, 0755), 0);
    free(bridge);
    bridge = tu_path(ps, "net/bridge");
    assert_int_equal(mkdir(bridge, 0755), 0);
    char *later = tu_path(dir, "load-later"), *demand = tu_path(dir, "load-demand");
    tu_write(later, "virtio-rng.ko\nbr_netfilter.ko\n", 30);
    tu_write(demand, "tun.ko\n", 7);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);

    for (int demand_too = 0; demand_too <= 1; demand_too++) {
        struct later_rec l = {.procsys = ps};
        struct modlater ml = {.dirfd = dfd,
                              .demand = demand_too,
                              .procsys = ps,
                              .load = later_load,
                              .ctx = &l,
                              .workers = 1};
        struct evm_err err = {0};
        assert_int_equal(modlater_start(&ml, &err), 0);
        assert_int_equal(modlater_wait(&ml), 0);
        assert_int_equal(ml.later.loaded, 2);
        assert_int_equal(l.r.n, demand_too ? 3 : 2);
        assert_int_equal(ml.demanded.loaded, demand_too ? 1 : 0);
        if (demand_too)
            assert_string_equal(l.r.seen[2], "tun.ko");
        char *p = tu_path(ps, "net/bridge/bridge-nf-call-iptables");
        size_t len;
        char *v = tu_read(p, &len);
        assert_string_equal(v, "1\n");
        free(v);
        free(p);
    }
    close(dfd);
    tu_rmrf(dir);
    tu_rmrf(ps);
    free(dir);
    free(ps);
    free(bridge);
    free(later);
    free(demand);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_warnings),
        cmocka_unit_test(test_finit_missing_file),
        cmocka_unit_test(test_parallel_with_deps),
        cmocka_unit_test(test_paths_under_dir),
        cmocka_unit_test(test_heaviest_chain_first),
        cmocka_unit_test(test_job),
        cmocka_unit_test(test_modlater),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
