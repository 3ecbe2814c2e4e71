/* test_datadir_win.c — the data directory on Windows: %ProgramData%\ephemerd by default, and
 * every path in it joined with '\' (a data dir given as Z:\d\w2 gives Z:\d\w2\config.toml,
 * not Z:\d\w2/config.toml). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/datadir.h"

static void test_default_under_program_data(void **state)
{
    (void)state;
    char out[DATADIR_PATH_MAX];
    struct evm_err err = {0};
    assert_int_equal(datadir_default(out, sizeof(out), &err), 0);
    const char *pd = getenv("ProgramData");
    if (pd) {
        size_t n = strlen(pd);
        assert_int_equal(strncasecmp(out, pd, n), 0);
        assert_string_equal(out + n, "\\ephemerd");
    } else {
        size_t n = strlen(out);
        assert_true(n > 9);
        assert_string_equal(out + n - 9, "\\ephemerd");
    }
}

static void test_layout_with_backslashes(void **state)
{
    (void)state;
    assert_int_equal(datadir_separator(), '\\');
    struct datadir p;
    struct evm_err err = {0};
    assert_int_equal(datadir_paths("Z:\\d\\w2", NULL, NULL, NULL, "disk.vhdx", &p, &err), 0);
    assert_string_equal(p.config, "Z:\\d\\w2\\config.toml");
    assert_string_equal(p.status, "Z:\\d\\w2\\status.json");
    assert_string_equal(p.kernel, "Z:\\d\\w2\\vm\\linux\\kernel");
    assert_string_equal(p.disk, "Z:\\d\\w2\\vm\\linux\\disk.vhdx");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_under_program_data),
        cmocka_unit_test(test_layout_with_backslashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
