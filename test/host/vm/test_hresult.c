/* test_hresult.c — the names and readable text of HRESULTs: every constant the HCS backend
 * relies on (research §d) by name and value, the rest of the documented HCS table, the
 * vmcompute forms, the generic ones, and unknown values by facility (HCS, HCN, Win32, other);
 * the text always fits the caller's buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vm/hresult.h"

struct named {
    uint32_t hr;
    const char *name;
};

static void assert_named(const struct named *t, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const char *name = hresult_name(t[i].hr);
        if (!name || strcmp(name, t[i].name) != 0)
            fail_msg("0x%08X: expected name %s, got %s", (unsigned)t[i].hr, t[i].name,
                     name ? name : "(null)");
        char want[96], got[96];
        snprintf(want, sizeof(want), "%s (0x%08X)", t[i].name, (unsigned)t[i].hr);
        hresult_format(t[i].hr, got, sizeof(got));
        assert_string_equal(got, want);
    }
}

/* The values the backend acts on, spelled out here rather than through the macros, so a
 * wrong value in the header fails. */
static void test_backend_constants(void **state)
{
    (void)state;
    static const struct named t[] = {
        {0x80370100u, "HCS_E_TERMINATED_DURING_START"},
        {0x80370102u, "HCS_E_HYPERV_NOT_INSTALLED"},
        {0x80370105u, "HCS_E_INVALID_STATE"},
        {0x80370107u, "HCS_E_TERMINATED"},
        {0x8037010Du, "HCS_E_INVALID_JSON"},
        {0x8037010Eu, "HCS_E_SYSTEM_NOT_FOUND"},
        {0x8037010Fu, "HCS_E_SYSTEM_ALREADY_EXISTS"},
        {0x80370110u, "HCS_E_SYSTEM_ALREADY_STOPPED"},
        {0x80370115u, "HCS_E_OPERATION_NOT_STARTED"},
        {0x80370117u, "HCS_E_OPERATION_PENDING"},
        {0x80370118u, "HCS_E_OPERATION_TIMEOUT"},
        {0x80370119u, "HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET"},
        {0x8037011Bu, "HCS_E_ACCESS_DENIED"},
        {0x8037011Eu, "HCS_E_SERVICE_DISCONNECT"},
        {0x803B0001u, "HCN_E_NETWORK_NOT_FOUND"},
        {0x803B0002u, "HCN_E_ENDPOINT_NOT_FOUND"},
        {0x803B0010u, "HCN_E_NETWORK_ALREADY_EXISTS"},
        {0x803B0014u, "HCN_E_ENDPOINT_ALREADY_ATTACHED"},
        {0x80041001u, "VM_E_INVALID_STATE"},
        {0x80004001u, "E_NOTIMPL"},
        {0xC0370110u, "HCS_E_SYSTEM_ALREADY_STOPPED_LEGACY"},
        {0xC0370103u, "HCS_E_OPERATION_PENDING_LEGACY"},
    };
    assert_named(t, sizeof(t) / sizeof(t[0]));
}

/* The header's macros carry the same values. */
static void test_macros_match(void **state)
{
    (void)state;
    static const struct named t[] = {
        {HCS_E_TERMINATED_DURING_START, "HCS_E_TERMINATED_DURING_START"},
        {HCS_E_HYPERV_NOT_INSTALLED, "HCS_E_HYPERV_NOT_INSTALLED"},
        {HCS_E_INVALID_STATE, "HCS_E_INVALID_STATE"},
        {HCS_E_TERMINATED, "HCS_E_TERMINATED"},
        {HCS_E_INVALID_JSON, "HCS_E_INVALID_JSON"},
        {HCS_E_SYSTEM_NOT_FOUND, "HCS_E_SYSTEM_NOT_FOUND"},
        {HCS_E_SYSTEM_ALREADY_EXISTS, "HCS_E_SYSTEM_ALREADY_EXISTS"},
        {HCS_E_SYSTEM_ALREADY_STOPPED, "HCS_E_SYSTEM_ALREADY_STOPPED"},
        {HCS_E_OPERATION_NOT_STARTED, "HCS_E_OPERATION_NOT_STARTED"},
        {HCS_E_OPERATION_PENDING, "HCS_E_OPERATION_PENDING"},
        {HCS_E_OPERATION_TIMEOUT, "HCS_E_OPERATION_TIMEOUT"},
        {HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET,
         "HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET"},
        {HCS_E_ACCESS_DENIED, "HCS_E_ACCESS_DENIED"},
        {HCS_E_SERVICE_DISCONNECT, "HCS_E_SERVICE_DISCONNECT"},
        {HCN_E_NETWORK_NOT_FOUND, "HCN_E_NETWORK_NOT_FOUND"},
        {HCN_E_ENDPOINT_NOT_FOUND, "HCN_E_ENDPOINT_NOT_FOUND"},
        {HCN_E_NETWORK_ALREADY_EXISTS, "HCN_E_NETWORK_ALREADY_EXISTS"},
        {HCN_E_ENDPOINT_ALREADY_ATTACHED, "HCN_E_ENDPOINT_ALREADY_ATTACHED"},
        {VM_E_INVALID_STATE, "VM_E_INVALID_STATE"},
        {HCS_E_SYSTEM_ALREADY_STOPPED_LEGACY, "HCS_E_SYSTEM_ALREADY_STOPPED_LEGACY"},
        {HCS_E_OPERATION_PENDING_LEGACY, "HCS_E_OPERATION_PENDING_LEGACY"},
    };
    assert_named(t, sizeof(t) / sizeof(t[0]));
}

/* Every value of the documented HCS table 0x80370100..0x8037011F has an HCS_E_ name,
 * except the two the table skips. */
static void test_hcs_table_complete(void **state)
{
    (void)state;
    for (uint32_t hr = 0x80370100u; hr <= 0x8037011Fu; hr++) {
        const char *name = hresult_name(hr);
        if (hr == 0x80370103u || hr == 0x80370104u) {
            assert_null(name);
            continue;
        }
        if (!name || strncmp(name, "HCS_E_", 6) != 0)
            fail_msg("0x%08X has no HCS_E_ name", (unsigned)hr);
    }
}

static void test_generic(void **state)
{
    (void)state;
    static const struct named t[] = {
        {0x00000000u, "S_OK"},           {0x80004005u, "E_FAIL"},
        {0x80070005u, "E_ACCESSDENIED"}, {0x80070057u, "E_INVALIDARG"},
        {0x8007000Eu, "E_OUTOFMEMORY"},  {0x8000FFFFu, "E_UNEXPECTED"},
    };
    assert_named(t, sizeof(t) / sizeof(t[0]));
}

static void assert_format(uint32_t hr, const char *want)
{
    char got[96];
    hresult_format(hr, got, sizeof(got));
    assert_string_equal(got, want);
}

static void test_unknown_values(void **state)
{
    (void)state;
    assert_null(hresult_name(0x8037FFFFu));
    assert_format(0x8037FFFFu, "HCS error 0x8037FFFF");
    assert_format(0xC037FFFFu, "HCS error 0xC037FFFF"); /* the vmcompute form: same facility */
    assert_null(hresult_name(0x803B00FFu));
    assert_format(0x803B00FFu, "HCN error 0x803B00FF");
    assert_format(0x800704D2u, "Win32 error 1234 (0x800704D2)");
    assert_format(0x80070002u, "Win32 error 2 (0x80070002)");
    assert_null(hresult_name(0x12345678u));
    assert_format(0x12345678u, "0x12345678");
    assert_format(0xFFFFFFFFu, "0xFFFFFFFF");
}

static void test_format_fits_buffer(void **state)
{
    (void)state;
    char buf[16];
    memset(buf, 'x', sizeof(buf));
    hresult_format(HCS_E_INVALID_JSON, buf, 0); /* nothing written */
    assert_int_equal(buf[0], 'x');
    hresult_format(HCS_E_INVALID_JSON, buf, 1);
    assert_string_equal(buf, "");
    hresult_format(HCS_E_INVALID_JSON, buf, 10);
    assert_string_equal(buf, "HCS_E_INV");
    assert_int_equal(buf[10], 'x');
    hresult_format(HCS_E_INVALID_JSON, NULL, 10); /* tolerated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend_constants),  cmocka_unit_test(test_macros_match),
        cmocka_unit_test(test_hcs_table_complete), cmocka_unit_test(test_generic),
        cmocka_unit_test(test_unknown_values),     cmocka_unit_test(test_format_fits_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
