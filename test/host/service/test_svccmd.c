/* test_svccmd.c — the command line the SCM runs for the service (service/svccmd.h): every
 * argument in quotes, '"' escaped, backslashes doubled only before a quote (and before the
 * closing quote: a data dir "C:\" or ending in '\'), spaces kept, the whole line, and the
 * refusals (empty argument, control character, too long). Runs natively and under wine
 * (test_svccmd_win.c checks the same lines against CommandLineToArgvW). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "service/svccmd.h"

static void expect_quoted(const char *arg, const char *want)
{
    char out[256] = "";
    struct evm_err err = {0};
    assert_int_equal(svc_quote_arg(arg, out, sizeof(out), &err), 0);
    assert_string_equal(out, want);
}

static void test_quote(void **state)
{
    (void)state;
    expect_quoted("plain", "\"plain\"");
    expect_quoted("C:\\Program Files\\ephemerd\\x.exe", "\"C:\\Program Files\\ephemerd\\x.exe\"");
    expect_quoted("C:\\", "\"C:\\\\\""); /* the closing quote stays a quote */
    expect_quoted("D:\\data\\\\", "\"D:\\data\\\\\\\\\"");
    expect_quoted("a\"b", "\"a\\\"b\"");
    expect_quoted("a\\\"b", "\"a\\\\\\\"b\""); /* a\"b: 2n+1 backslashes, then " */
    expect_quoted("\\\\server\\share", "\"\\\\server\\share\""); /* leading ones kept */
}

static void test_refused(void **state)
{
    (void)state;
    char out[16] = "";
    struct evm_err err = {0};
    assert_int_equal(svc_quote_arg("", out, sizeof(out), &err), -EINVAL);
    assert_int_equal(svc_quote_arg("a\nb", out, sizeof(out), &err), -EINVAL);
    out[0] = '\0';
    assert_int_equal(svc_quote_arg("0123456789abcdef", out, sizeof(out), &err), -ENAMETOOLONG);
    out[0] = '\0';
    assert_int_equal(svc_quote_arg("0123456789abc", out, sizeof(out), &err), 0); /* 15 + NUL */
    assert_string_equal(out, "\"0123456789abc\"");
}

static void test_command_line(void **state)
{
    (void)state;
    char out[256];
    struct evm_err err = {0};
    assert_int_equal(svc_command_line("C:\\Program Files\\ephemerd\\ephemerd-vmhost.exe",
                                      "C:\\ProgramData\\ephemerd", out, sizeof(out), &err),
                     0);
    assert_string_equal(out, "\"C:\\Program Files\\ephemerd\\ephemerd-vmhost.exe\" service run "
                             "--data-dir \"C:\\ProgramData\\ephemerd\"");
    assert_int_equal(svc_command_line("C:\\x.exe", "C:\\d", out, 20, &err), -ENAMETOOLONG);
    assert_int_equal(svc_command_line("C:\\x.exe", "", out, sizeof(out), &err), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_command_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
