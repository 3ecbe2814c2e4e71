/* test_datadir_posix.c — the data directory on Linux: /var/lib/ephemerd-vm by default (what
 * the unit's StateDirectory= makes), a given one kept as given, paths joined with '/'. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/datadir.h"

static void test_default_and_choice(void **state)
{
    (void)state;
    char out[DATADIR_PATH_MAX];
    struct evm_err err = {0};
    assert_int_equal(datadir_default(out, sizeof(out), &err), 0);
    assert_string_equal(out, "/var/lib/ephemerd-vm");
    assert_int_equal(datadir_choose(NULL, out, sizeof(out), &err), 0);
    assert_string_equal(out, "/var/lib/ephemerd-vm");
    assert_int_equal(datadir_choose("/srv/d", out, sizeof(out), &err), 0);
    assert_string_equal(out, "/srv/d");
    char small[8];
    assert_int_equal(datadir_default(small, sizeof(small), &err), -ENAMETOOLONG);
    assert_int_equal(datadir_choose("/srv/longer", small, sizeof(small), &err), -ENAMETOOLONG);
}

static void test_layout_with_slashes(void **state)
{
    (void)state;
    assert_int_equal(datadir_separator(), '/');
    struct datadir p;
    struct evm_err err = {0};
    assert_int_equal(datadir_paths("/d", NULL, NULL, NULL, "disk.qcow2", &p, &err), 0);
    assert_string_equal(p.config, "/d/config.toml");
    assert_string_equal(p.kernel, "/d/vm/linux/kernel");
    assert_string_equal(p.disk, "/d/vm/linux/disk.qcow2");
    char out[8];
    assert_int_equal(datadir_join(out, sizeof(out), "/d", "config.toml"), -ENAMETOOLONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_and_choice),
        cmocka_unit_test(test_layout_with_slashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
