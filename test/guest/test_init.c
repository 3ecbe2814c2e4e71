/* test_init.c — the ephemerd-init binary as someone might run it by mistake: not PID 1 it
 * says what it is and exits 2 having done nothing; --help and --version work anywhere.
 * The binary comes from $EVM_INIT (set by the Makefile). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static int run(const char *const argv[], char *out, size_t len)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while (n < len - 1 && (r = read(p[0], out + n, len - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(p[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_not_pid1(void **state)
{
    (void)state;
    const char *bin = getenv("EVM_INIT");
    if (!bin || access(bin, X_OK) != 0)
        skip();
    char out[4096];
    const char *argv[] = {bin, NULL};
    assert_int_equal(run(argv, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "must run as PID 1"));
    assert_non_null(strstr(out, "has done nothing"));
    const char *help[] = {bin, "--help", NULL};
    assert_int_equal(run(help, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "Usage: ephemerd-init"));
    const char *ver[] = {bin, "--version", NULL};
    assert_int_equal(run(ver, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "ephemerd-init "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_pid1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
