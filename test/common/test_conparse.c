/* test_conparse.c — the host reads back exactly what the guest's console.c writes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "conparse.h"

#define BID "0123456789abcdef0123456789abcdef"

static void test_markers(void **state)
{
    (void)state;
    struct con_msg m;
    assert_int_equal(conparse_line("EPHEMERD_IP=10.0.2.15 boot_id=" BID, &m), CON_IP);
    assert_string_equal(m.ip, "10.0.2.15");
    assert_string_equal(m.boot_id, BID);
    assert_int_equal(conparse_line("EPHEMERD_IP=10.0.2.15", &m), CON_IP);
    assert_string_equal(m.boot_id, "");
    assert_int_equal(conparse_line("EPHEMERD_STAGE stage=network ms=1234 boot_id=" BID, &m),
                     CON_STAGE);
    assert_string_equal(m.stage, "network");
    assert_int_equal(m.ms, 1234);
    assert_int_equal(conparse_line("EPHEMERD_FATAL stage=verify reason=\"assets/config.toml: "
                                   "\\\"x\\\" a\\\\b\" boot_id=" BID,
                                   &m),
                     CON_FATAL);
    assert_string_equal(m.stage, "verify");
    assert_string_equal(m.reason, "assets/config.toml: \"x\" a\\b");
    assert_string_equal(m.boot_id, BID);
    assert_int_equal(conparse_line("[    1.234] EPHEMERD_EXIT status=3 boot_id=" BID, &m),
                     CON_EXIT);
    assert_int_equal(m.status, 3);
}

static void test_not_markers(void **state)
{
    (void)state;
    struct con_msg m;
    assert_int_equal(conparse_line("ephemerd-init: starting", &m), CON_NONE);
    assert_int_equal(conparse_line("EPHEMERD_IP=999.1.1.1", &m), CON_NONE);
    assert_int_equal(conparse_line("EPHEMERD_IP=", &m), CON_NONE);
    assert_int_equal(conparse_line("EPHEMERD_STAGE stage=x ms=12z", &m), CON_NONE);
    assert_int_equal(conparse_line("EPHEMERD_FATAL stage=x reason=\"unterminated", &m), CON_NONE);
    assert_int_equal(conparse_line("EPHEMERD_EXIT status=abc", &m), CON_NONE);
}

static void test_stop_request_round_trip(void **state)
{
    (void)state;
    char line[128], id[BOOT_ID_HEX_LEN + 1];
    assert_int_equal(conparse_format_stop(line, sizeof(line), BID, NULL), 0);
    assert_string_equal(line, "EPHEMERD_STOP boot_id=" BID "\n");
    assert_true(conparse_stop_request(line, id));
    assert_string_equal(id, BID);
    /* CRLF from a terminal, blanks around it */
    assert_true(conparse_stop_request("  EPHEMERD_STOP boot_id=" BID " \r\n", id));
    assert_string_equal(id, BID);
}

static void test_stop_request_without_valid_id(void **state)
{
    (void)state;
    char id[BOOT_ID_HEX_LEN + 1];
    /* Requests, but without an id the guest can accept: it ignores and logs them. */
    assert_true(conparse_stop_request("EPHEMERD_STOP", id));
    assert_string_equal(id, "");
    assert_true(conparse_stop_request("EPHEMERD_STOP boot_id=0123", id));
    assert_string_equal(id, "");
    assert_true(conparse_stop_request("EPHEMERD_STOP boot_id=" BID "0", id));
    assert_string_equal(id, "");
    assert_true(
        conparse_stop_request("EPHEMERD_STOP boot_id=0123456789ABCDEF0123456789abcdef", id));
    assert_string_equal(id, "");
    /* Not requests at all. */
    assert_false(conparse_stop_request("EPHEMERD_STOPPED boot_id=" BID, id));
    assert_false(conparse_stop_request("echo EPHEMERD_STOP boot_id=" BID, id));
    assert_false(conparse_stop_request("", id));
    assert_false(conparse_stop_request("EPHEMERD_EXIT status=0", id));
}

static void test_stop_request_format_refuses(void **state)
{
    (void)state;
    char line[128];
    struct evm_err err = {0};
    assert_int_equal(conparse_format_stop(line, sizeof(line), "xyz", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "boot id"));
    assert_int_equal(conparse_format_stop(line, 20, BID, &err), -ENOSPC);
    /* An echoed request is not a marker the host acts on. */
    struct con_msg m;
    assert_int_equal(conparse_line("EPHEMERD_STOP boot_id=" BID, &m), CON_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_markers),
        cmocka_unit_test(test_not_markers),
        cmocka_unit_test(test_stop_request_round_trip),
        cmocka_unit_test(test_stop_request_without_valid_id),
        cmocka_unit_test(test_stop_request_format_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
