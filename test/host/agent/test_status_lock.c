/* test_status_lock.c — the health document round-trips through status.json (written
 * atomically, no temp left), and a second agent on the same data directory is refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/lock.h"
#include "agent/status.h"
#include "testutil.h"

static void test_status_round_trip(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "status.json");
    struct vm_status s;
    memset(&s, 0, sizeof(s));
    snprintf(s.state, sizeof(s.state), "ready");
    snprintf(s.boot_id, sizeof(s.boot_id), "0123456789abcdef0123456789abcdef");
    snprintf(s.last_fatal, sizeof(s.last_fatal), "verify: assets/config.toml: \"quoted\"");
    snprintf(s.ip, sizeof(s.ip), "10.0.2.15");
    s.since = 1700000000;
    s.restarts = 3;
    s.containerd_port = 41000;
    snprintf(s.ports_host, sizeof(s.ports_host), "%s", "127.0.0.1");
    s.dispatch_port = 41001;
    s.ready_ms = 3289;
    struct evm_err err = {0};
    assert_int_equal(status_write(path, &s, &err), 0);
    size_t len;
    char *text = tu_read(path, &len);
    assert_non_null(strstr(text, "\"since\":\t\"2023-11-14T22:13:20Z\""));
    free(text);
    struct vm_status r;
    assert_int_equal(status_read(path, &r, &err), 0);
    assert_string_equal(r.state, "ready");
    assert_string_equal(r.boot_id, s.boot_id);
    assert_string_equal(r.last_fatal, s.last_fatal);
    assert_string_equal(r.ip, "10.0.2.15");
    assert_int_equal(r.restarts, 3);
    assert_int_equal(r.containerd_port, 41000);
    assert_string_equal(r.ports_host, "127.0.0.1");
    assert_int_equal(r.dispatch_port, 41001);
    assert_int_equal(r.ready_ms, 3289);

    tu_write(path, "not json", 8);
    assert_int_equal(status_read(path, &r, &err), -EBADMSG);
    assert_non_null(strstr(err.msg, "status.json"));
    tu_rmrf(dir);
    free(dir);
    free(path);
}

static void test_second_agent_refused(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct dirlock a = {.fd = -1}, b = {.fd = -1};
    struct evm_err err = {0};
    assert_int_equal(dirlock_acquire(dir, &a, &err), 0);
    assert_int_equal(dirlock_acquire(dir, &b, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "another ephemerd-vmhost is running"));
    assert_non_null(strstr(err.msg, dir));
    dirlock_release(&a);
    assert_int_equal(dirlock_acquire(dir, &b, &err), 0);
    dirlock_release(&b);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_round_trip),
        cmocka_unit_test(test_second_agent_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
