/* test_service_cli_posix.c — `ephemerd-vmhost service ...` on Linux, as an operator meets it
 * (stdout and stderr captured): every service command says that the systemd unit is the
 * service here and exits 2, with or without --data-dir; --help prints the usage (exit 0,
 * naming every command and option); an unknown command, a bad --timeout, a stray argument or
 * no command at all are usage errors (2). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/commands.h"
#include "log.h"
#include "testutil.h"

/* cmd_service with argv (argv[0] "service"), stdout and stderr captured. */
static struct tu_out run(int argc, const char **argv)
{
    struct tu_out o = tu_capture(cmd_service, argc, argv);
    assert_true(o.out && o.err);
    return o;
}

#define RUN(...)                                                                                   \
    run((int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),                       \
        (const char *[]){__VA_ARGS__})

static void expect_systemd(struct tu_out o)
{
    assert_int_equal(o.rc, 2);
    assert_non_null(strstr(o.err, "on Linux the service is the systemd unit ephemerd-vm.service"));
    assert_string_equal(o.out, "");
    tu_out_free(&o);
}

static void test_every_command_names_systemd(void **state)
{
    (void)state;
    expect_systemd(RUN("service", "install"));
    expect_systemd(RUN("service", "install", "--data-dir", "/tmp/d"));
    expect_systemd(RUN("service", "uninstall"));
    expect_systemd(RUN("service", "start", "--timeout", "5"));
    expect_systemd(RUN("service", "stop"));
    expect_systemd(RUN("service", "status"));
    expect_systemd(RUN("service", "reload"));
    expect_systemd(RUN("service", "run", "--data-dir", "/tmp/d"));
}

static void test_help(void **state)
{
    (void)state;
    struct tu_out o = RUN("service", "--help");
    assert_int_equal(o.rc, 0);
    static const char *const words[] = {"install",   "uninstall", "start",     "stop",
                                        "status",    "reload",    "run",       "--data-dir",
                                        "--timeout", "--help",    "vmhost.log"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        assert_non_null(strstr(o.out, words[i]));
    assert_string_equal(o.err, "");
    tu_out_free(&o);
    o = RUN("service", "status", "--help");
    assert_int_equal(o.rc, 0);
    assert_non_null(strstr(o.out, "Usage: ephemerd-vmhost service COMMAND"));
    tu_out_free(&o);
}

static void test_usage_errors(void **state)
{
    (void)state;
    struct tu_out o = RUN("service");
    assert_int_equal(o.rc, 2);
    assert_non_null(strstr(o.err, "Usage: ephemerd-vmhost service"));
    tu_out_free(&o);
    o = RUN("service", "restart");
    assert_int_equal(o.rc, 2);
    assert_non_null(strstr(o.err, "service restart: unknown command"));
    tu_out_free(&o);
    o = RUN("service", "start", "--timeout", "soon");
    assert_int_equal(o.rc, 2);
    assert_non_null(strstr(o.err, "--timeout soon: expected a whole number"));
    tu_out_free(&o);
    o = RUN("service", "start", "--timeout", "0");
    assert_int_equal(o.rc, 2);
    tu_out_free(&o);
    o = RUN("service", "stop", "extra");
    assert_int_equal(o.rc, 2);
    tu_out_free(&o);
    o = RUN("service", "status", "--bogus");
    assert_int_equal(o.rc, 2);
    tu_out_free(&o);
}

int main(void)
{
    log_init("ephemerd-vmhost", LOG_INFO);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_command_names_systemd),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
