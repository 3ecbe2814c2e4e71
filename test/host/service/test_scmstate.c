/* test_scmstate.c — the Windows service's status as the SCM sees it (service/scmstate.h),
 * from the agent's phases and the SCM's controls: START_PENDING with a checkpoint bumped at
 * each boot tick and a wait hint covering the ready timeout (the retry backoff after a failed
 * first boot), RUNNING at ready accepting reload, later boots (restart, reload) staying
 * RUNNING, STOP_PENDING with the stop grace's hint and no controls (from the SCM's stop or the
 * agent's own), reported once, STOPPED with the exit codes, nothing after it. Runs natively
 * and under wine. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "service/scmstate.h"

#define STOPS (SCM_ACCEPT_STOP | SCM_ACCEPT_SHUTDOWN | SCM_ACCEPT_PRESHUTDOWN)

static void test_start_pending(void **state)
{
    (void)state;
    struct scm_tracker t;
    scm_tracker_init(&t, 300, 30000);
    assert_int_equal(t.cur.state, SCM_START_PENDING);
    assert_int_equal(t.cur.checkpoint, 1);
    assert_int_equal(t.cur.wait_hint_ms, 300000 + SCM_BOOT_MARGIN_MS);
    assert_int_equal(t.cur.accepts, STOPS); /* no reload before ready */
    /* Each boot tick: the next checkpoint, the same hint. */
    assert_true(scm_on_phase(&t, AGENT_BOOTING));
    assert_int_equal(t.cur.checkpoint, 2);
    assert_true(scm_on_phase(&t, AGENT_BOOTING));
    assert_int_equal(t.cur.checkpoint, 3);
    assert_int_equal(t.cur.state, SCM_START_PENDING);
    assert_int_equal(t.cur.wait_hint_ms, 300000 + SCM_BOOT_MARGIN_MS);
}

static void test_failed_first_boot_retries(void **state)
{
    (void)state;
    struct scm_tracker t;
    scm_tracker_init(&t, 60, 30000);
    scm_on_phase(&t, AGENT_BOOTING);
    /* The agent retries after its backoff: still starting, hint covering the backoff. */
    assert_true(scm_on_phase(&t, AGENT_FAILED));
    assert_int_equal(t.cur.state, SCM_START_PENDING);
    assert_int_equal(t.cur.checkpoint, 3);
    assert_int_equal(t.cur.wait_hint_ms, SCM_RETRY_HINT_MS);
    assert_true(scm_on_phase(&t, AGENT_BOOTING));
    assert_int_equal(t.cur.wait_hint_ms, 60000 + SCM_BOOT_MARGIN_MS);
    assert_int_equal(t.cur.checkpoint, 4);
}

static void test_running(void **state)
{
    (void)state;
    struct scm_tracker t;
    scm_tracker_init(&t, 300, 30000);
    scm_on_phase(&t, AGENT_BOOTING);
    assert_true(scm_on_phase(&t, AGENT_READY));
    assert_int_equal(t.cur.state, SCM_RUNNING);
    assert_int_equal(t.cur.checkpoint, 0);
    assert_int_equal(t.cur.wait_hint_ms, 0);
    assert_int_equal(t.cur.accepts, STOPS | SCM_ACCEPT_PARAMCHANGE);
    /* A reload or a restart after ready: the service stays RUNNING, nothing to report. */
    assert_false(scm_on_phase(&t, AGENT_RELOADING));
    assert_false(scm_on_phase(&t, AGENT_BOOTING));
    assert_false(scm_on_phase(&t, AGENT_FAILED));
    assert_false(scm_on_phase(&t, AGENT_BOOTING));
    assert_int_equal(t.cur.state, SCM_RUNNING);
    assert_false(scm_on_phase(&t, AGENT_READY)); /* ready again: no change */
    assert_int_equal(t.cur.accepts, STOPS | SCM_ACCEPT_PARAMCHANGE);
}

static void test_stop_control(void **state)
{
    (void)state;
    struct scm_tracker t;
    scm_tracker_init(&t, 300, 30000);
    scm_on_phase(&t, AGENT_READY);
    assert_true(scm_on_stop_control(&t));
    assert_int_equal(t.cur.state, SCM_STOP_PENDING);
    assert_int_equal(t.cur.accepts, 0);
    assert_int_equal(t.cur.checkpoint, 1);
    assert_int_equal(t.cur.wait_hint_ms, 30000 + SCM_STOP_MARGIN_MS);
    /* A second stop (SHUTDOWN after STOP) is not reported again. */
    assert_false(scm_on_stop_control(&t));
    /* The agent's STOPPING bumps the checkpoint; a late boot tick stays STOP_PENDING. */
    assert_true(scm_on_phase(&t, AGENT_STOPPING));
    assert_int_equal(t.cur.checkpoint, 2);
    assert_true(scm_on_phase(&t, AGENT_BOOTING));
    assert_int_equal(t.cur.state, SCM_STOP_PENDING);
    assert_int_equal(t.cur.accepts, 0);
}

static void test_stop_while_starting(void **state)
{
    (void)state;
    struct scm_tracker t;
    scm_tracker_init(&t, 300, 5000);
    scm_on_phase(&t, AGENT_BOOTING);
    assert_true(scm_on_stop_control(&t));
    assert_int_equal(t.cur.state, SCM_STOP_PENDING);
    assert_int_equal(t.cur.wait_hint_ms, 5000 + SCM_STOP_MARGIN_MS);
    /* A ready that races with the stop does not make it RUNNING again. */
    assert_true(scm_on_phase(&t, AGENT_READY));
    assert_int_equal(t.cur.state, SCM_STOP_PENDING);
}

static void test_agent_stops_itself(void **state)
{
    (void)state;
    struct scm_tracker t;
    scm_tracker_init(&t, 300, 30000);
    scm_on_phase(&t, AGENT_READY);
    assert_true(scm_on_phase(&t, AGENT_STOPPING));
    assert_int_equal(t.cur.state, SCM_STOP_PENDING);
    assert_int_equal(t.cur.accepts, 0);
    assert_false(scm_on_stop_control(&t)); /* already stopping */
}

static void test_exit(void **state)
{
    (void)state;
    struct scm_tracker t;
    scm_tracker_init(&t, 300, 30000);
    scm_on_phase(&t, AGENT_READY);
    scm_on_exit(&t, 0);
    assert_int_equal(t.cur.state, SCM_STOPPED);
    assert_int_equal(t.cur.win32_exit, SCM_NO_ERROR);
    assert_int_equal(t.cur.specific_exit, 0);
    assert_int_equal(t.cur.accepts, 0);
    assert_int_equal(t.cur.checkpoint, 0);
    assert_int_equal(t.cur.wait_hint_ms, 0);
    /* Nothing after STOPPED. */
    assert_false(scm_on_phase(&t, AGENT_BOOTING));
    assert_false(scm_on_stop_control(&t));
    assert_int_equal(t.cur.state, SCM_STOPPED);

    scm_tracker_init(&t, 300, 30000);
    scm_on_phase(&t, AGENT_FAILED);
    scm_on_exit(&t, -EIO);
    assert_int_equal(t.cur.state, SCM_STOPPED);
    assert_int_equal(t.cur.win32_exit, 1066); /* ERROR_SERVICE_SPECIFIC_ERROR */
    assert_int_equal(t.cur.specific_exit, SCM_EXIT_VM_FAILED);
}

static void test_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(scm_exit_code(0), SCM_EXIT_OK);
    assert_int_equal(scm_exit_code(-EIO), SCM_EXIT_VM_FAILED);
    assert_int_equal(scm_exit_code(-ETIMEDOUT), SCM_EXIT_VM_FAILED);
    assert_int_equal(scm_exit_code(-EPROTO), SCM_EXIT_VM_FAILED);
    assert_int_equal(scm_exit_code(-ENOENT), SCM_EXIT_SETUP);
    assert_int_equal(scm_exit_code(-EINVAL), SCM_EXIT_SETUP);
    assert_int_equal(scm_exit_code(-ENOTDIR), SCM_EXIT_SETUP);
    assert_int_equal(scm_exit_code(-EACCES), SCM_EXIT_ACCESS);
    assert_int_equal(scm_exit_code(-EPERM), SCM_EXIT_ACCESS);
    assert_int_equal(scm_exit_code(-EBUSY), SCM_EXIT_BUSY);
    assert_string_equal(scm_exit_text(SCM_EXIT_BUSY), "another agent holds the data directory");
    assert_string_equal(scm_exit_text(99), "unknown");
    assert_string_equal(scm_state_name(SCM_START_PENDING), "START_PENDING");
    assert_string_equal(scm_state_name(SCM_RUNNING), "RUNNING");
    assert_string_equal(scm_state_name(0), "UNKNOWN");
    assert_string_equal(scm_state_name(8), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_pending),
        cmocka_unit_test(test_failed_first_boot_retries),
        cmocka_unit_test(test_running),
        cmocka_unit_test(test_stop_control),
        cmocka_unit_test(test_stop_while_starting),
        cmocka_unit_test(test_agent_stops_itself),
        cmocka_unit_test(test_exit),
        cmocka_unit_test(test_exit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
