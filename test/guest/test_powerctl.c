/* test_powerctl.c — the poweroff/reboot/halt names: the name → signal map (busybox's), and
 * powerctl_main signalling a child that reports what it received through its exit code. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "powerctl.h"

static void test_signal_map(void **state)
{
    (void)state;
    assert_int_equal(powerctl_signal_for("halt"), SIGUSR1);
    assert_int_equal(powerctl_signal_for("poweroff"), SIGUSR2);
    assert_int_equal(powerctl_signal_for("reboot"), SIGTERM);
    assert_int_equal(powerctl_signal_for("/sbin/poweroff"), SIGUSR2);
    assert_int_equal(powerctl_signal_for("/bin/halt"), SIGUSR1);
    assert_int_equal(powerctl_signal_for("ephemerd-init"), 0);
    assert_int_equal(powerctl_signal_for("/init"), 0);
    assert_int_equal(powerctl_signal_for("poweroff2"), 0);
    assert_int_equal(powerctl_signal_for("Poweroff"), 0);
    assert_int_equal(powerctl_signal_for(""), 0);
    assert_int_equal(powerctl_signal_for("/sbin/"), 0);
    assert_int_equal(powerctl_signal_for(NULL), 0);
}

/* A child that waits (bounded) for SIGUSR1, SIGUSR2 or SIGTERM and exits with its number
 * (99 if none came). The signals are blocked before the fork, so none can be lost. */
static pid_t start_listener(void)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGTERM);
    assert_int_equal(sigprocmask(SIG_BLOCK, &set, &old), 0);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        struct timespec ts = {.tv_sec = 30};
        int sig;
        do
            sig = sigtimedwait(&set, NULL, &ts);
        while (sig < 0 && errno == EINTR);
        _exit(sig > 0 ? sig : 99);
    }
    assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
    return c;
}

static int listener_result(pid_t c)
{
    int ws;
    assert_int_equal(waitpid(c, &ws, 0), c);
    assert_true(WIFEXITED(ws));
    return WEXITSTATUS(ws);
}

static void expect_sent(const char *argv0, const char *opt, int sig)
{
    pid_t c = start_listener();
    char *argv[] = {(char *)argv0, (char *)opt, NULL};
    assert_int_equal(powerctl_main(opt ? 2 : 1, argv, c), 0);
    assert_int_equal(listener_result(c), sig);
}

static void test_sends_busybox_signals(void **state)
{
    (void)state;
    expect_sent("/sbin/poweroff", NULL, SIGUSR2);
    expect_sent("/sbin/halt", NULL, SIGUSR1);
    expect_sent("reboot", NULL, SIGTERM);
}

static void test_force_and_nosync_accepted(void **state)
{
    (void)state;
    expect_sent("/sbin/poweroff", "-f", SIGUSR2);
    expect_sent("/sbin/reboot", "--force", SIGTERM);
    expect_sent("/sbin/halt", "-n", SIGUSR1);
}

/* --help and bad usage send nothing: the listener then gets our SIGTERM, not SIGUSR2. */
static void expect_nothing_sent(const char *opt, int rc)
{
    pid_t c = start_listener();
    char *argv[] = {"/sbin/poweroff", (char *)opt, NULL};
    assert_int_equal(powerctl_main(2, argv, c), rc);
    assert_int_equal(kill(c, SIGTERM), 0);
    assert_int_equal(listener_result(c), SIGTERM);
}

static void test_help_and_bad_usage_send_nothing(void **state)
{
    (void)state;
    expect_nothing_sent("--help", 0);
    expect_nothing_sent("-h", 0);
    expect_nothing_sent("-d", 1);
    expect_nothing_sent("now", 1);
}

static void test_unknown_pid_fails(void **state)
{
    (void)state;
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0)
        _exit(0);
    int ws;
    assert_int_equal(waitpid(c, &ws, 0), c); /* reaped: the pid no longer exists */
    char *argv[] = {"/sbin/poweroff", NULL};
    assert_int_equal(powerctl_main(1, argv, c), 1);
}

static void test_other_name_refused(void **state)
{
    (void)state;
    char *argv[] = {"/sbin/ephemerd-init", NULL};
    assert_int_equal(powerctl_main(1, argv, getpid()), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signal_map),
        cmocka_unit_test(test_sends_busybox_signals),
        cmocka_unit_test(test_force_and_nosync_accepted),
        cmocka_unit_test(test_help_and_bad_usage_send_nothing),
        cmocka_unit_test(test_unknown_pid_fails),
        cmocka_unit_test(test_other_name_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
