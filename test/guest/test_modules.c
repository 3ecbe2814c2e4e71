/* test_modules.c — module loading order and error classes, with a recording loader in place
 * of finit_module. */
#include <errno.h>
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

#include <cmocka.h>

#include "modules.h"
#include "testutil.h"

struct rec {
    char seen[16][64];
    int n;
};

static int fake_load(void *ctx, const char *path, struct evm_err *err)
{
    struct rec *r = ctx;
    const char *name = strrchr(path, '/') + 1;
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
    assert_int_equal(modules_finit(NULL, "/nonexistent/module.ko", &err), -ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/module.ko"));
}

struct par {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char order[16][64];
    int n;
    bool b_started;
};

static int par_load(void *ctx, const char *path, struct evm_err *err)
{
    struct par *p = ctx;
    const char *name = strrchr(path, '/') + 1;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_warnings),
        cmocka_unit_test(test_finit_missing_file),
        cmocka_unit_test(test_parallel_with_deps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
