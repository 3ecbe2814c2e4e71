/* test_default_datadir_posix.c — --data-dir is optional (issue 12): `status`, `cmdline`,
 * `config show`, `doctor` and `run --dry-run` without it work on /var/lib/ephemerd-vm and
 * name it; `config show` refuses both --data-dir and --config; `run --help` names the
 * default. Runs the built binary (EVM_VMHOST); the tests that read the default directory
 * skip on a host that has one (its contents would change the answers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "cli/commands.h"
#include "testutil.h"

#define DEFAULT_DIR "/var/lib/ephemerd-vm"

/* Runs `EVM_VMHOST args` (a shell fragment); its stdout and stderr in *out; the exit code. */
static int vmhost(const char *args, char **out)
{
    const char *bin = getenv("EVM_VMHOST");
    assert_non_null(bin);
    char *dir = tu_tmpdir();
    char *file = tu_path(dir, "out");
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "'%s' %s > '%s' 2>&1 < /dev/null", bin, args, file);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    *out = tu_read(file, NULL);
    assert_non_null(*out);
    free(file);
    tu_rmrf(dir);
    free(dir);
    return WEXITSTATUS(st);
}

/* The tests that read the default directory need a host without one. */
static void need_no_default_dir(void)
{
    struct stat st;
    if (!getenv("EVM_VMHOST") || stat(DEFAULT_DIR, &st) == 0)
        skip();
}

static void test_status_defaults(void **state)
{
    (void)state;
    need_no_default_dir();
    char *out;
    assert_int_equal(vmhost("status", &out), EXIT_FAIL);
    assert_non_null(strstr(out, DEFAULT_DIR "/status.json"));
    free(out);
    assert_int_equal(vmhost("status --data-dir", &out), EXIT_USAGE);
    assert_non_null(strstr(out, "status [--data-dir DIR]"));
    free(out);
}

static void test_cmdline_and_config_show_default(void **state)
{
    (void)state;
    need_no_default_dir();
    char *out;
    assert_int_equal(vmhost("cmdline", &out), EXIT_OK);
    assert_non_null(strstr(out, "console="));
    free(out);
    assert_int_equal(vmhost("config show --json", &out), EXIT_OK);
    assert_non_null(strstr(out, DEFAULT_DIR "/config.toml"));
    free(out);
    assert_int_equal(vmhost("config show --data-dir /x --config /y", &out), EXIT_USAGE);
    assert_non_null(strstr(out, "one of --data-dir and --config"));
    free(out);
}

static void test_run_and_doctor_default(void **state)
{
    (void)state;
    need_no_default_dir();
    char *out;
    assert_int_equal(vmhost("run --dry-run", &out), EXIT_OK);
    assert_non_null(strstr(out, DEFAULT_DIR "/vm/linux/kernel"));
    free(out);
    assert_int_equal(vmhost("doctor", &out), EXIT_FAIL);
    assert_non_null(strstr(out, DEFAULT_DIR ": not a directory"));
    free(out);
}

static void test_run_help_names_default(void **state)
{
    (void)state;
    if (!getenv("EVM_VMHOST"))
        skip();
    char *out;
    assert_int_equal(vmhost("run --help", &out), EXIT_OK);
    assert_non_null(strstr(out, "run [--data-dir DIR]"));
    assert_non_null(strstr(out, DEFAULT_DIR));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_defaults),
        cmocka_unit_test(test_cmdline_and_config_show_default),
        cmocka_unit_test(test_run_and_doctor_default),
        cmocka_unit_test(test_run_help_names_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
