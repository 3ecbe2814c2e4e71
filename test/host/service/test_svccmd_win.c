/* test_svccmd_win.c — the service's command line (service/svccmd.h) split back by Windows
 * itself (CommandLineToArgvW, as the C runtime of the service process does): every awkward
 * executable and data dir path comes back whole, as five arguments. Under wine. */
#include <windows.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <shellapi.h>

#include "service/svccmd.h"

static void expect_round_trip(const char *exe, const char *dir)
{
    char line[1024];
    wchar_t wline[1024];
    struct evm_err err = {0};
    assert_int_equal(svc_command_line(exe, dir, line, sizeof(line), &err), 0);
    assert_true(MultiByteToWideChar(CP_UTF8, 0, line, -1, wline, 1024) > 0);
    int argc = 0;
    wchar_t **argv = CommandLineToArgvW(wline, &argc);
    assert_non_null(argv);
    assert_int_equal(argc, 5);
    char got[4][512];
    for (int i = 0; i < 4; i++)
        assert_true(WideCharToMultiByte(CP_UTF8, 0, argv[i + (i ? 1 : 0)], -1, got[i], 512, NULL,
                                        NULL) > 0);
    assert_string_equal(got[0], exe);
    assert_string_equal(got[1], "run");
    assert_string_equal(got[2], "--data-dir");
    assert_string_equal(got[3], dir);
    LocalFree(argv);
}

static void test_round_trip(void **state)
{
    (void)state;
    expect_round_trip("C:\\Program Files\\ephemerd\\ephemerd-vmhost.exe",
                      "C:\\ProgramData\\ephemerd");
    expect_round_trip("C:\\e.exe", "C:\\");
    expect_round_trip("C:\\e.exe", "D:\\with space\\trailing\\");
    expect_round_trip("C:\\e.exe", "D:\\odd\"quote\\\"x");
    expect_round_trip("C:\\e.exe", "\\\\server\\share\\ephemerd");
    expect_round_trip("C:\\caf\xc3\xa9\\e.exe", "Z:\\tmp\\d\xc3\xa9j\xc3\xa0 vu");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
