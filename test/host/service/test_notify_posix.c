/* test_notify_posix.c — the notify protocol against datagram sockets the test owns: nothing
 * happens without NOTIFY_SOCKET; a path socket and an abstract '@' socket each receive the
 * datagrams as sent, and NOTIFY_SOCKET is gone from the environment once opened; the agent's
 * phases arrive as READY=1, STATUS=, RELOADING=1 with MONOTONIC_USEC, STOPPING=1; an address
 * that is not a path or '@' name is refused; a listener that went away is an error. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "service/notify.h"
#include "testutil.h"

/* A datagram socket bound at name ("/path" or "@abstract"). */
static int listener(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    assert_true(len < sizeof(a.sun_path));
    memcpy(a.sun_path, name, len);
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    if (name[0] == '@')
        a.sun_path[0] = '\0';
    else
        alen++;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, alen), 0);
    return fd;
}

/* The next datagram on fd, as a string (at most 2 s away). */
static char *receive(int fd)
{
    struct timeval tv = {.tv_sec = 2};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    char *buf = calloc(1, NOTIFY_MSG_MAX + 1);
    assert_non_null(buf);
    ssize_t n = recv(fd, buf, NOTIFY_MSG_MAX, 0);
    assert_true(n >= 0);
    return buf;
}

static void expect_datagram(int fd, const char *want)
{
    char *got = receive(fd);
    assert_string_equal(got, want);
    free(got);
}

static struct notify *open_on(const char *name)
{
    assert_int_equal(setenv(NOTIFY_ENV, name, 1), 0);
    struct notify *n = NULL;
    struct evm_err err = {0};
    assert_int_equal(notify_open(&n, &err), 0);
    assert_non_null(n);
    assert_null(getenv(NOTIFY_ENV)); /* the VM's processes do not inherit it */
    return n;
}

static void test_no_socket_does_nothing(void **state)
{
    (void)state;
    unsetenv(NOTIFY_ENV);
    struct notify *n = (struct notify *)1;
    struct evm_err err = {0};
    assert_int_equal(notify_open(&n, &err), 0);
    assert_null(n);
    assert_int_equal(notify_send(n, "READY=1", &err), 0);
    struct agent_hooks h;
    notify_agent_hooks(n, &h);
    assert_null(h.on_phase);
    assert_null(h.on_control);
    assert_int_equal(setenv(NOTIFY_ENV, "", 1), 0);
    assert_int_equal(notify_open(&n, &err), 0);
    assert_null(n);
    notify_close(n);
}

static void test_path_socket(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "notify.sock");
    int fd = listener(path);
    struct notify *n = open_on(path);
    struct evm_err err = {0};
    assert_int_equal(notify_send(n, "READY=1\nSTATUS=ready: here", &err), 0);
    expect_datagram(fd, "READY=1\nSTATUS=ready: here");
    notify_close(n);
    close(fd);
    free(path);
    tu_rmrf(dir);
    free(dir);
}

static void test_abstract_socket(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof(name), "@evm-test-notify-%ld", (long)getpid());
    int fd = listener(name);
    struct notify *n = open_on(name);
    struct evm_err err = {0};
    assert_int_equal(notify_send(n, "STOPPING=1", &err), 0);
    expect_datagram(fd, "STOPPING=1");
    notify_close(n);
    close(fd);
}

static void test_phases_through_hooks(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof(name), "@evm-test-phases-%ld", (long)getpid());
    int fd = listener(name);
    struct notify *n = open_on(name);
    struct agent_hooks h;
    notify_agent_hooks(n, &h);
    assert_non_null(h.on_phase);
    h.on_phase(h.ctx, AGENT_BOOTING, "guest stage mount_root");
    expect_datagram(fd, "STATUS=booting: guest stage mount_root");
    h.on_phase(h.ctx, AGENT_READY, "containerd 127.0.0.1:41000");
    expect_datagram(fd, "READY=1\nSTATUS=ready: containerd 127.0.0.1:41000");
    uint64_t before = notify_monotonic_usec();
    h.on_phase(h.ctx, AGENT_RELOADING, "config.toml changed (cpus 2 -> 4)");
    char *got = receive(fd);
    unsigned long long usec = 0;
    int used = 0;
    assert_int_equal(sscanf(got, "RELOADING=1\nMONOTONIC_USEC=%llu\n%n", &usec, &used), 1);
    assert_true(usec >= before && usec <= notify_monotonic_usec());
    assert_string_equal(got + used, "STATUS=reloading: config.toml changed (cpus 2 -> 4)");
    free(got);
    h.on_phase(h.ctx, AGENT_FAILED, "VM not ready\nafter 300 s");
    expect_datagram(fd, "STATUS=failed: VM not ready after 300 s");
    h.on_phase(h.ctx, AGENT_STOPPING, "signal 15");
    expect_datagram(fd, "STOPPING=1\nSTATUS=stopping: signal 15");
    char msg[NOTIFY_MSG_MAX];
    struct evm_err err = {0};
    notify_format_exit(msg, sizeof(msg), ETIMEDOUT, "VM not ready");
    assert_int_equal(notify_send(n, msg, &err), 0);
    char want[64];
    snprintf(want, sizeof(want), "ERRNO=%d\nSTATUS=failed: VM not ready", ETIMEDOUT);
    expect_datagram(fd, want);
    notify_close(n);
    close(fd);
}

static void test_bad_address_refused(void **state)
{
    (void)state;
    const char *bad[] = {"vsock:2:1234", "relative/notify", "@", "/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(setenv(NOTIFY_ENV, bad[i], 1), 0);
        struct notify *n = (struct notify *)1;
        struct evm_err err = {0};
        assert_int_equal(notify_open(&n, &err), -EINVAL);
        assert_null(n);
        assert_non_null(strstr(err.msg, NOTIFY_ENV));
    }
    char longname[200];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[0] = '/';
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(setenv(NOTIFY_ENV, longname, 1), 0);
    struct notify *n = NULL;
    struct evm_err err = {0};
    assert_int_equal(notify_open(&n, &err), -EINVAL);
    unsetenv(NOTIFY_ENV);
}

static void test_listener_gone_is_an_error(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "gone.sock");
    int fd = listener(path);
    struct notify *n = open_on(path);
    close(fd);
    assert_int_equal(unlink(path), 0);
    struct evm_err err = {0};
    assert_true(notify_send(n, "READY=1", &err) < 0);
    assert_non_null(strstr(err.msg, "service manager"));
    notify_close(n);
    free(path);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_socket_does_nothing),
        cmocka_unit_test(test_path_socket),
        cmocka_unit_test(test_abstract_socket),
        cmocka_unit_test(test_phases_through_hooks),
        cmocka_unit_test(test_bad_address_refused),
        cmocka_unit_test(test_listener_gone_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
