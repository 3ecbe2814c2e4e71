/* test_status_stale_posix.c — `status` tells a live agent from a dead one by the data dir's
 * lock: a "ready" document without an agent is stale (exit 1, the last known state named);
 * with the lock held by an agent it is current (exit 0); a final state ("stopped") stays as it
 * is, with a note that no agent runs; "reloading" is a live state like "ready", not ready.
 * dirlock_held never creates the lock file. Runs the real binary (EVM_VMHOST). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "agent/lock.h"
#include "agent/status.h"
#include "testutil.h"

/* Runs `EVM_VMHOST status --data-dir dir`; its output in *out (malloc'd); returns its exit
 * code. */
static int run_status(const char *dir, char **out)
{
    const char *bin = getenv("EVM_VMHOST");
    assert_non_null(bin);
    char *file = tu_path(dir, "status.out");
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "'%s' status --data-dir '%s' > '%s' 2>&1", bin, dir, file);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    *out = tu_read(file, NULL);
    assert_non_null(*out);
    free(file);
    return WEXITSTATUS(st);
}

static void write_state(const char *dir, const char *state)
{
    struct vm_status s;
    memset(&s, 0, sizeof(s));
    snprintf(s.state, sizeof(s.state), "%s", state);
    snprintf(s.boot_id, sizeof(s.boot_id), "%s", "00112233445566778899aabbccddeeff");
    s.ready_ms = 1234;
    char *path = tu_path(dir, "status.json");
    struct evm_err err = {0};
    assert_int_equal(status_write(path, &s, &err), 0);
    free(path);
}

static void test_probe_never_creates_the_lock(void **state)
{
    (void)state;
    if (!getenv("EVM_VMHOST"))
        skip();
    char *dir = tu_tmpdir();
    bool held = true;
    struct evm_err err = {0};
    assert_int_equal(dirlock_held(dir, &held, &err), 0);
    assert_false(held);
    char *lock = tu_path(dir, "vmhost.lock");
    struct stat st;
    assert_int_equal(stat(lock, &st), -1);
    assert_int_equal(errno, ENOENT);

    struct dirlock l = {.fd = -1};
    assert_int_equal(dirlock_acquire(dir, &l, &err), 0);
    assert_int_equal(dirlock_held(dir, &held, &err), 0);
    assert_true(held);
    dirlock_release(&l);
    assert_int_equal(dirlock_held(dir, &held, &err), 0);
    assert_false(held);
    free(lock);
    tu_rmrf(dir);
    free(dir);
}

static void test_ready_without_agent_is_stale(void **state)
{
    (void)state;
    if (!getenv("EVM_VMHOST"))
        skip();
    char *dir = tu_tmpdir();
    write_state(dir, "ready");
    char *out;
    assert_int_equal(run_status(dir, &out), 1);
    assert_non_null(
        strstr(out, "state:      stale (no agent is running; last known state: ready)"));
    free(out);

    /* the same document while an agent holds the lock is current */
    struct dirlock l = {.fd = -1};
    struct evm_err err = {0};
    assert_int_equal(dirlock_acquire(dir, &l, &err), 0);
    assert_int_equal(run_status(dir, &out), 0);
    assert_non_null(strstr(out, "state:      ready\n"));
    free(out);
    dirlock_release(&l);
    tu_rmrf(dir);
    free(dir);
}

/* A reload's restart (issue 12) is a running agent's state too: stale without one, and not
 * ready (exit 1) with one. */
static void test_reloading_state(void **state)
{
    (void)state;
    if (!getenv("EVM_VMHOST"))
        skip();
    char *dir = tu_tmpdir();
    write_state(dir, "reloading");
    char *out;
    assert_int_equal(run_status(dir, &out), 1);
    assert_non_null(
        strstr(out, "state:      stale (no agent is running; last known state: reloading)"));
    free(out);
    struct dirlock l = {.fd = -1};
    struct evm_err err = {0};
    assert_int_equal(dirlock_acquire(dir, &l, &err), 0);
    assert_int_equal(run_status(dir, &out), 1);
    assert_non_null(strstr(out, "state:      reloading\n"));
    free(out);
    dirlock_release(&l);
    tu_rmrf(dir);
    free(dir);
}

static void test_final_state_without_agent(void **state)
{
    (void)state;
    if (!getenv("EVM_VMHOST"))
        skip();
    char *dir = tu_tmpdir();
    write_state(dir, "stopped");
    char *out;
    assert_int_equal(run_status(dir, &out), 1);
    assert_non_null(strstr(out, "state:      stopped (no agent is running)\n"));
    free(out);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_never_creates_the_lock),
        cmocka_unit_test(test_ready_without_agent_is_stale),
        cmocka_unit_test(test_reloading_state),
        cmocka_unit_test(test_final_state_without_agent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
