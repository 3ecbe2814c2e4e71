/* test_agentctl.c — the agent's control: a stop and a reload asked from another thread
 * reach the loop's callback as their bits; requests after the close (and on a NULL control)
 * are refused with -EINVAL. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/agentctl.h"

struct seen {
    unsigned requests;
    unsigned calls;
    struct agent_ctl *ctl;
};

static void on_request(void *ctx, unsigned requests)
{
    struct seen *s = ctx;
    s->requests |= requests;
    s->calls++;
    if ((s->requests & (AGENTCTL_STOP | AGENTCTL_RELOAD)) == (AGENTCTL_STOP | AGENTCTL_RELOAD))
        agentctl_close(s->ctl); /* lets the loop end */
}

static void from_thread(void *arg)
{
    struct agent_ctl *ctl = arg;
    assert_int_equal(agent_ctl_reload(ctl), 0);
    assert_int_equal(agent_ctl_stop(ctl), 0);
}

static void test_requests_from_another_thread(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct agent_ctl ctl;
    struct seen s = {.ctl = &ctl};
    struct evm_err err = {0};
    assert_int_equal(agentctl_init(&ctl, &loop, on_request, &s, &err), 0);
    uv_thread_t t;
    assert_int_equal(uv_thread_create(&t, from_thread, &ctl), 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_thread_join(&t), 0);
    assert_int_equal(s.requests, AGENTCTL_STOP | AGENTCTL_RELOAD);
    assert_true(s.calls >= 1 && s.calls <= 2);
    assert_int_equal(agent_ctl_stop(&ctl), -EINVAL);
    assert_int_equal(agent_ctl_reload(&ctl), -EINVAL);
    agentctl_destroy(&ctl);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_null_control_refused(void **state)
{
    (void)state;
    assert_int_equal(agent_ctl_stop(NULL), -EINVAL);
    assert_int_equal(agent_ctl_reload(NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_from_another_thread),
        cmocka_unit_test(test_null_control_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
