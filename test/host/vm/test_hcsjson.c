/* test_hcsjson.c — decoding HCS/HCN documents: a ResultError as one bounded line (message,
 * several events, line breaks folded, repeats dropped, only the HRESULT, missing fields,
 * NULL, garbage, a cut that never splits a UTF-8 character); SystemExitStatus for each
 * ExitType and its exit kind, Status as uint32 or negative int32, malformed documents; the
 * enumeration filtered by owner (limits, odd entries, empty and malformed results); the
 * endpoint's MAC address normalised. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vm/hcsjson.h"
#include "vm/hresult.h"

/* ---- ResultError ---------------------------------------------------------------------- */

static void assert_described(const char *json, const char *want)
{
    char buf[512];
    memset(buf, 'x', sizeof(buf));
    hcsjson_describe_result(json, buf, sizeof(buf));
    assert_string_equal(buf, want);
}

static void test_describe_message_and_events(void **state)
{
    (void)state;
    assert_described(
        "{\"Error\":-2143878899,\"ErrorMessage\":\"The virtual machine or container JSON "
        "document is invalid.\\r\\n\",\"ErrorEvents\":[{\"Message\":\"Invalid JSON document "
        "string.\",\"StackTrace\":\"at x\",\"Provider\":\"17103e3f-3c6e-4677-bb17-3b267eb5be57\","
        "\"EventId\":11,\"Flags\":0,\"Source\":\"vmcompute\"},{\"Message\":\"  The parameter\\n"
        "\\t'SizeInMB'  must be even.  \"},{\"EventId\":12},{\"Message\":\"The virtual machine "
        "or container JSON document is invalid.\"},{\"Message\":\"\"}],\"Attribution\":[]}",
        "The virtual machine or container JSON document is invalid.; Invalid JSON document "
        "string.; The parameter 'SizeInMB' must be even.");
}

static void test_describe_error_only(void **state)
{
    (void)state;
    assert_described("{\"Error\":-2143878899}", "HCS_E_INVALID_JSON (0x8037010D)");
    assert_described("{\"Error\":2151088414,\"ErrorEvents\":[]}",
                     "HCS_E_SERVICE_DISCONNECT (0x8037011E)");
    assert_described("{\"Error\":2151088414,\"ErrorMessage\":\"gone\"}", "gone");
}

static void test_describe_missing_fields(void **state)
{
    (void)state;
    assert_described("{}", "");
    assert_described("{\"ErrorMessage\":7,\"ErrorEvents\":\"none\"}", "");
    assert_described("{\"ErrorEvents\":[{\"Message\":null},3,\"text\"]}", "");
    assert_described("{\"Error\":\"0x8037010D\"}", "");
    assert_described("{\"ErrorMessage\":\" \\r\\n \"}", "");
}

static void test_describe_null_and_garbage(void **state)
{
    (void)state;
    assert_described(NULL, "");
    assert_described("", "");
    assert_described("<html>\x01 oops", "unreadable result: <html>? oops");
    assert_described("[1,2]", "unreadable result: [1,2]");
    assert_described("{\"ErrorMessage\":\"cut", "unreadable result: {\"ErrorMessage\":\"cut");
    char buf[8] = "xxxxxxx";
    hcsjson_describe_result("{}", buf, 0); /* nothing written */
    assert_int_equal(buf[0], 'x');
    hcsjson_describe_result("{\"ErrorMessage\":\"abc\"}", buf, 1);
    assert_string_equal(buf, "");
}

static bool valid_utf8(const char *s)
{
    for (const unsigned char *u = (const unsigned char *)s; *u;) {
        size_t len = *u < 0x80 ? 1 : *u >= 0xF0 ? 4 : *u >= 0xE0 ? 3 : *u >= 0xC2 ? 2 : 0;
        if (len == 0)
            return false;
        for (size_t i = 1; i < len; i++)
            if ((u[i] & 0xC0) != 0x80)
                return false;
        u += len;
    }
    return true;
}

static void test_describe_bounded(void **state)
{
    (void)state;
    char buf[32];
    hcsjson_describe_result("{\"ErrorMessage\":\"first message here\",\"ErrorEvents\":[{"
                            "\"Message\":\"second message that does not fit\"}]}",
                            buf, sizeof(buf));
    assert_string_equal(buf, "first message here; second m...");
    assert_true(strlen(buf) < sizeof(buf));
    /* "é" is two bytes: a cut never leaves half of one */
    for (size_t n = 4; n <= 12; n++) {
        char small[12];
        hcsjson_describe_result("{\"ErrorMessage\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                "\xc3\xa9\xc3\xa9\"}",
                                small, n);
        assert_true(strlen(small) < n);
        if (!valid_utf8(small))
            fail_msg("n=%u: \"%s\" is not valid UTF-8", (unsigned)n, small);
        assert_non_null(strstr(small, "..."));
    }
    /* a message longer than one part is cut too, and says so */
    char longmsg[3000];
    memcpy(longmsg, "{\"ErrorMessage\":\"", 17);
    memset(longmsg + 17, 'a', 2000);
    memcpy(longmsg + 2017, "\"}", 3);
    char big[4096];
    hcsjson_describe_result(longmsg, big, sizeof(big));
    assert_true(strlen(big) < 1100);
    assert_string_equal(big + strlen(big) - 3, "...");
}

/* ---- SystemExitStatus ----------------------------------------------------------------- */

static void assert_exit(const char *json, uint32_t status, const char *type, enum vm_exit_kind kind)
{
    struct hcs_exit e;
    struct evm_err err = {0};
    int r = hcsjson_parse_exit(json, &e, &err);
    if (r != 0)
        fail_msg("%s: %s", json, err.msg);
    assert_int_equal(e.status, status);
    assert_string_equal(e.exit_type, type);
    assert_int_equal(hcsjson_exit_kind(&e), kind);
}

static void test_exit_types(void **state)
{
    (void)state;
    assert_exit("{\"Status\":0,\"ExitType\":\"GracefulExit\"}", 0, "GracefulExit",
                VM_EXIT_POWEROFF);
    assert_exit("{\"Status\":0,\"ExitType\":\"ForcedExit\",\"Attribution\":[]}", 0, "ForcedExit",
                VM_EXIT_FORCED);
    assert_exit("{\"Status\":-2143878905,\"ExitType\":\"UnexpectedExit\"}", HCS_E_TERMINATED,
                "UnexpectedExit", VM_EXIT_UNEXPECTED);
    assert_exit("{\"Status\":0,\"ExitType\":\"None\"}", 0, "None", VM_EXIT_UNEXPECTED);
    assert_exit("{\"Status\":0,\"ExitType\":\"Unknown\"}", 0, "Unknown", VM_EXIT_UNEXPECTED);
    assert_exit("{\"Status\":0,\"ExitType\":\"Reboot\"}", 0, "Reboot", VM_EXIT_UNEXPECTED);
}

static void test_exit_fields(void **state)
{
    (void)state;
    /* Status as the unsigned HRESULT, or missing/null (0); ExitType missing (older builds) */
    assert_exit("{\"Status\":2151088414}", HCS_E_SERVICE_DISCONNECT, "", VM_EXIT_UNEXPECTED);
    assert_exit("{\"ExitType\":\"GracefulExit\"}", 0, "GracefulExit", VM_EXIT_POWEROFF);
    assert_exit("{\"Status\":null,\"ExitType\":7}", 0, "", VM_EXIT_UNEXPECTED);
    /* a long ExitType is cut, still terminated, and matches nothing */
    assert_exit("{\"ExitType\":\"GracefulExitButMuchLongerThanThat\"}", 0,
                "GracefulExitButMuchLong", VM_EXIT_UNEXPECTED);
    /* a case difference is not GracefulExit */
    assert_exit("{\"ExitType\":\"gracefulexit\"}", 0, "gracefulexit", VM_EXIT_UNEXPECTED);
}

static void assert_exit_error(const char *json, const char *needle)
{
    struct hcs_exit e;
    struct evm_err err = {0};
    assert_int_equal(hcsjson_parse_exit(json, &e, &err), -EPROTO);
    if (!strstr(err.msg, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err.msg, needle);
    assert_string_equal(e.exit_type, "");
}

static void test_exit_malformed(void **state)
{
    (void)state;
    assert_exit_error(NULL, "empty");
    assert_exit_error("", "empty");
    assert_exit_error("GracefulExit", "not a JSON object");
    assert_exit_error("[{\"Status\":0}]", "not a JSON object");
    assert_exit_error("{\"Status\":\"0\"}", "Status");
    assert_exit_error("{\"Status\":1.5}", "Status");
    assert_exit_error("{\"Status\":4294967296}", "Status");
    assert_exit_error("{\"Status\":-2147483649}", "Status");
}

/* ---- enumeration ------------------------------------------------------------------------ */

#define SYSTEMS                                                                                    \
    "[{\"Id\":\"A1\",\"SystemType\":\"VirtualMachine\",\"Owner\":\"ephemerd\","                    \
    "\"State\":\"Running\"},"                                                                      \
    "{\"Id\":\"B2\",\"Owner\":\"docker\",\"State\":\"Running\"},"                                  \
    "{\"Id\":\"C3\",\"Owner\":\"ephemerd\",\"State\":\"Stopped\"},"                                \
    "{\"Id\":\"D4\",\"Owner\":\"EPHEMERD\"},"                                                      \
    "{\"Id\":\"E5\",\"Owner\":\"ephemerd-x\"},"                                                    \
    "{\"Owner\":\"ephemerd\"},{\"Id\":\"\",\"Owner\":\"ephemerd\"},{\"Id\":7,\"Owner\":"           \
    "\"ephemerd\"},{\"Id\":\"F6\"},\"text\",null,"                                                 \
    "{\"Id\":\"0123456789012345678901234567890123456789\",\"Owner\":\"ephemerd\"},"                \
    "{\"Id\":\"c0ffee00-1111-2222-3333-444455556666\",\"Owner\":\"ephemerd\"}]"

static void test_systems_of_owner(void **state)
{
    (void)state;
    char ids[8][HCSJSON_ID_MAX];
    unsigned n = 99;
    struct evm_err err = {0};
    assert_int_equal(hcsjson_systems_of_owner(SYSTEMS, "ephemerd", ids, 8, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(ids[0], "A1");
    assert_string_equal(ids[1], "C3");
    assert_string_equal(ids[2], "c0ffee00-1111-2222-3333-444455556666");
    assert_int_equal(hcsjson_systems_of_owner(SYSTEMS, "docker", ids, 8, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "B2");
    assert_int_equal(hcsjson_systems_of_owner(SYSTEMS, "nobody", ids, 8, &n, &err), 0);
    assert_int_equal(n, 0);
}

static void test_systems_limit(void **state)
{
    (void)state;
    char ids[2][HCSJSON_ID_MAX];
    unsigned n = 0;
    struct evm_err err = {0};
    assert_int_equal(hcsjson_systems_of_owner(SYSTEMS, "ephemerd", ids, 2, &n, &err), 0);
    assert_int_equal(n, 2); /* the first two; the rest logged */
    assert_string_equal(ids[0], "A1");
    assert_string_equal(ids[1], "C3");
    assert_int_equal(hcsjson_systems_of_owner(SYSTEMS, "ephemerd", ids, 0, &n, &err), 0);
    assert_int_equal(n, 0);
}

static void test_systems_empty_and_malformed(void **state)
{
    (void)state;
    char ids[2][HCSJSON_ID_MAX];
    unsigned n = 5;
    struct evm_err err = {0};
    assert_int_equal(hcsjson_systems_of_owner(NULL, "ephemerd", ids, 2, &n, &err), 0);
    assert_int_equal(n, 0);
    n = 5;
    assert_int_equal(hcsjson_systems_of_owner("", "ephemerd", ids, 2, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(hcsjson_systems_of_owner("[]", "ephemerd", ids, 2, &n, &err), 0);
    assert_int_equal(hcsjson_systems_of_owner("null", "ephemerd", ids, 2, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(hcsjson_systems_of_owner("{\"Id\":\"A1\",\"Owner\":\"ephemerd\"}", "ephemerd",
                                              ids, 2, &n, &err),
                     -EPROTO);
    assert_non_null(strstr(err.msg, "not a JSON array"));
    assert_int_equal(n, 0);
    assert_int_equal(hcsjson_systems_of_owner("[{\"Id\":", "ephemerd", ids, 2, &n, &err), -EPROTO);
    assert_int_equal(hcsjson_systems_of_owner("[]", NULL, ids, 2, &n, &err), -EINVAL);
}

/* ---- endpoint MAC ------------------------------------------------------------------------ */

static void assert_mac(const char *json, const char *want)
{
    char mac[18];
    struct evm_err err = {0};
    int r = hcsjson_endpoint_mac(json, mac, sizeof(mac), &err);
    if (r != 0)
        fail_msg("%s: %s", json, err.msg);
    assert_string_equal(mac, want);
}

static void assert_mac_error(const char *json, const char *needle)
{
    char mac[32] = "untouched";
    struct evm_err err = {0};
    assert_int_equal(hcsjson_endpoint_mac(json, mac, sizeof(mac), &err), -EPROTO);
    assert_string_equal(mac, "");
    if (!strstr(err.msg, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err.msg, needle);
}

static void test_endpoint_mac(void **state)
{
    (void)state;
    assert_mac("{\"ID\":\"8e1c2f4a-5b6d-4e7f-8091-a2b3c4d5e6f7\",\"Name\":\"ephemerd-vm-x\","
               "\"HostComputeNetwork\":\"c08cb7b8-9b3c-408e-8e30-5e16a3aeb444\","
               "\"MacAddress\":\"00-15-5D-12-34-56\",\"IpConfigurations\":[{\"IpAddress\":"
               "\"172.20.1.5\",\"PrefixLength\":20}],\"SchemaVersion\":{\"Major\":2,\"Minor\":0}}",
               "00-15-5D-12-34-56");
    assert_mac("{\"MacAddress\":\"00-15-5d-ab-cd-ef\"}", "00-15-5D-AB-CD-EF");
    assert_mac("{\"MacAddress\":\"00:15:5d:ab:cd:ef\"}", "00-15-5D-AB-CD-EF");
}

static void test_endpoint_mac_errors(void **state)
{
    (void)state;
    assert_mac_error("{\"ID\":\"x\"}", "no MacAddress");
    assert_mac_error("{\"MacAddress\":null}", "no MacAddress");
    assert_mac_error("{\"MacAddress\":\"00-15-5D-12-34\"}", "malformed");
    assert_mac_error("{\"MacAddress\":\"00-15-5D-12-34-567\"}", "malformed");
    assert_mac_error("{\"MacAddress\":\"00-15-5D-12-34-5G\"}", "malformed");
    assert_mac_error("{\"MacAddress\":\"00.15.5D.12.34.56\"}", "malformed");
    assert_mac_error("{\"MacAddress\":\"\"}", "malformed");
    assert_mac_error("not json", "not a JSON object");
    assert_mac_error(NULL, "empty");
    char mac[17];
    struct evm_err err = {0};
    assert_int_equal(
        hcsjson_endpoint_mac("{\"MacAddress\":\"00-15-5D-12-34-56\"}", mac, sizeof(mac), &err),
        -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe_message_and_events),
        cmocka_unit_test(test_describe_error_only),
        cmocka_unit_test(test_describe_missing_fields),
        cmocka_unit_test(test_describe_null_and_garbage),
        cmocka_unit_test(test_describe_bounded),
        cmocka_unit_test(test_exit_types),
        cmocka_unit_test(test_exit_fields),
        cmocka_unit_test(test_exit_malformed),
        cmocka_unit_test(test_systems_of_owner),
        cmocka_unit_test(test_systems_limit),
        cmocka_unit_test(test_systems_empty_and_malformed),
        cmocka_unit_test(test_endpoint_mac),
        cmocka_unit_test(test_endpoint_mac_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
