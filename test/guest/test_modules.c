/* test_modules.c — module loading order and error classes, with a recording loader in place
 * of finit_module. */
#include <errno.h>
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

static int fake_load(void *ctx, const char *path)
{
    struct rec *r = ctx;
    const char *name = strrchr(path, '/') + 1;
    snprintf(r->seen[r->n++], sizeof(r->seen[0]), "%s", name);
    if (strcmp(name, "crc32c-intel.ko") == 0)
        return -ENODEV;
    if (strcmp(name, "bridge.ko") == 0)
        return -EEXIST;
    if (strcmp(name, "missing.ko") == 0)
        return -ENOENT;
    if (strcmp(name, "broken.ko") == 0)
        return -ENOEXEC;
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
    assert_non_null(strstr(err.msg, "broken.ko"));
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
    assert_int_equal(modules_finit(NULL, "/nonexistent/module.ko"), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_warnings),
        cmocka_unit_test(test_finit_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
