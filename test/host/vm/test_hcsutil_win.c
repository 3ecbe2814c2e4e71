/* test_hcsutil_win.c — the HCS backend's pure helpers, under wine: the VHDX
 * parameters block against the SDK layout, GUID text (random, parse, format),
 * UTF-16 to UTF-8, absolute Windows paths, the COM1 pipe and endpoint names and
 * settings, and the operation wrapper (hcsop_win.h) driven through a table of
 * stand-in entry points: one readable line per failure, the operation always
 * closed, result documents converted and freed. Also what the backend says when
 * the Hyper-V platform is missing. */
#include <windows.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "vm/compipe_win.h"
#include "vm/hcn_win.h"
#include "vm/hcsapi_win.h"
#include "vm/hcsop_win.h"
#include "vm/hresult.h"
#include "vm/vhdx_win.h"
#include "vm/vm.h"

/* ---- VHDX
 * --------------------------------------------------------------------------------
 */

static void test_vhdx_layout_is_the_sdks(void **state)
{
    (void)state;
    assert_int_equal(sizeof(struct vhdx_create_params), 128);
    assert_int_equal(offsetof(struct vhdx_create_params, Version2.UniqueId), 8);
    assert_int_equal(offsetof(struct vhdx_create_params, Version2.MaximumSize), 24);
    assert_int_equal(offsetof(struct vhdx_create_params, Version2.PhysicalSectorSizeInBytes), 40);
    assert_int_equal(offsetof(struct vhdx_create_params, Version2.ParentPath), 48);
    assert_int_equal(offsetof(struct vhdx_create_params, Version2.OpenFlags), 64);
    assert_int_equal(offsetof(struct vhdx_create_params, Version2.ResiliencyGuid), 108);
    /* mingw's own struct is the short one this file exists to avoid */
    assert_true(sizeof(CREATE_VIRTUAL_DISK_PARAMETERS) < sizeof(struct vhdx_create_params));
}

static void test_vhdx_params_dynamic_v2(void **state)
{
    (void)state;
    struct vhdx_create_params p;
    memset(&p, 0xAB, sizeof(p));
    vhdx_create_params_init(&p, 64ull << 30);
    assert_int_equal(p.Version, CREATE_VIRTUAL_DISK_VERSION_2);
    assert_true(p.Version2.MaximumSize == 64ull << 30);
    assert_int_equal(p.Version2.BlockSizeInBytes, 0);
    assert_int_equal(p.Version2.SectorSizeInBytes, 0);
    assert_null(p.Version2.ParentPath);
    assert_null(p.Version2.SourcePath);
}

static void test_vhdx_size_rounds_up_to_mib(void **state)
{
    (void)state;
    assert_true(vhdx_virtual_size(1ull << 30) == 1ull << 30);
    assert_true(vhdx_virtual_size(1) == 1ull << 20);
    assert_true(vhdx_virtual_size((1ull << 20) + 512) == 2ull << 20);
    assert_true(vhdx_virtual_size(UINT64_MAX) % (1ull << 20) == 0);
}

/* ---- GUIDs and strings
 * ------------------------------------------------------------------- */

static void test_guid_from_random_is_v4(void **state)
{
    (void)state;
    uint8_t b[16];
    memset(b, 0xff, sizeof(b));
    char s[HCS_GUID_TEXT_LEN + 1];
    hcs_guid_from_random(b, s);
    assert_string_equal(s, "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF");
    memset(b, 0, sizeof(b));
    hcs_guid_from_random(b, s);
    assert_string_equal(s, "00000000-0000-4000-8000-000000000000");
}

static void test_guid_new_differs(void **state)
{
    (void)state;
    char a[HCS_GUID_TEXT_LEN + 1], b[HCS_GUID_TEXT_LEN + 1];
    struct evm_err err = {0};
    assert_int_equal(hcs_guid_new(a, &err), 0);
    assert_int_equal(hcs_guid_new(b, &err), 0);
    assert_int_equal(strlen(a), HCS_GUID_TEXT_LEN);
    assert_string_not_equal(a, b);
    GUID g;
    assert_int_equal(hcs_guid_parse(a, &g), 0);
}

static void test_guid_parse_format_round_trip(void **state)
{
    (void)state;
    GUID g;
    char s[HCS_GUID_TEXT_LEN + 1];
    assert_int_equal(hcs_guid_parse("c08cb7b8-9b3c-408e-8e30-5e16a3aeb444", &g), 0);
    assert_true(g.Data1 == 0xC08CB7B8u && g.Data2 == 0x9B3C && g.Data3 == 0x408E);
    assert_int_equal(g.Data4[0], 0x8E);
    assert_int_equal(g.Data4[7], 0x44);
    hcs_guid_format(&g, s);
    assert_string_equal(s, "C08CB7B8-9B3C-408E-8E30-5E16A3AEB444");
    assert_int_equal(hcs_guid_parse("{C08CB7B8-9B3C-408E-8E30-5E16A3AEB444}", &g), 0);
    hcs_guid_format(&g, s);
    assert_string_equal(s, "C08CB7B8-9B3C-408E-8E30-5E16A3AEB444");
}

static void test_guid_parse_rejects(void **state)
{
    (void)state;
    GUID g;
    const char *bad[] = {
        "",
        "C08CB7B8-9B3C-408E-8E30-5E16A3AEB44",   /* short */
        "C08CB7B8-9B3C-408E-8E30-5E16A3AEB4444", /* long */
        "C08CB7B8x9B3C-408E-8E30-5E16A3AEB444",  /* no dash */
        "C08CB7B8-9B3C-408E-8E30-5E16A3AEB44G",  /* not hex */
        "{C08CB7B8-9B3C-408E-8E30-5E16A3AEB444", /* one brace */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hcs_guid_parse(bad[i], &g), -EINVAL);
}

static void test_utf8_conversion(void **state)
{
    (void)state;
    char *s = hcs_utf8(L"plain");
    assert_string_equal(s, "plain");
    free(s);
    s = hcs_utf8(L"caf\u00e9 \U0001F600");
    assert_string_equal(s, "caf\xc3\xa9 \xf0\x9f\x98\x80");
    free(s);
    assert_null(hcs_utf8(NULL));
    const wchar_t lone[] = {L'a', 0xD800, L'b', 0};
    assert_null(hcs_utf8(lone)); /* not UTF-16: refused, not mangled */
}

static void test_full_path_is_absolute_windows(void **state)
{
    (void)state;
    char *u = NULL;
    wchar_t *w = NULL;
    struct evm_err err = {0};
    assert_int_equal(hcs_full_path("C:/data/vm/linux/kernel", &w, &u, &err), 0);
    assert_string_equal(u, "C:\\data\\vm\\linux\\kernel");
    assert_true(wcscmp(w, L"C:\\data\\vm\\linux\\kernel") == 0);
    free(u);
    free(w);
    u = NULL;
    assert_int_equal(hcs_full_path("relative/file", NULL, &u, &err), 0);
    assert_true(strlen(u) > 3 && u[1] == ':' && u[2] == '\\');
    assert_non_null(strstr(u, "\\relative\\file"));
    free(u);
}

static void test_names(void **state)
{
    (void)state;
    char buf[COMPIPE_NAME_MAX];
    struct evm_err err = {0};
    assert_int_equal(compipe_name("C08CB7B8-9B3C-408E-8E30-5E16A3AEB444", buf, sizeof(buf), &err),
                     0);
    assert_string_equal(buf, "\\\\.\\pipe\\ephemerd-vm-C08CB7B8-9B3C-408E-8E30-5E16A3AEB444-com1");
    assert_int_equal(compipe_name("x", buf, 10, &err), -ENAMETOOLONG);

    char *s = hcn_endpoint_settings(HCN_ENDPOINT_PREFIX "ID", HCN_DEFAULT_SWITCH_ID);
    assert_string_equal(s, "{\"Name\":\"ephemerd-vm-ID\",\"HostComputeNetwork\":"
                           "\"C08CB7B8-9B3C-408E-8E30-5E16A3AEB444\","
                           "\"SchemaVersion\":{\"Major\":2,\"Minor\":0}}");
    free(s);
}

/* ---- the operation wrapper, through stand-in entry points
 * -------------------------------- */

/* What the stand-ins do, and what they saw. */
static struct {
    HRESULT call_hr, wait_hr;
    const wchar_t *call_doc, *wait_doc; /* handed out as LocalAlloc'd copies */
    DWORD waited_ms;
    int created, closed, waits, gets;
} op;

static PWSTR local_copy(const wchar_t *s)
{
    if (!s)
        return NULL;
    size_t n = (wcslen(s) + 1) * sizeof(wchar_t);
    PWSTR p = LocalAlloc(LMEM_FIXED, n);
    memcpy(p, s, n);
    return p;
}

static HCS_OPERATION WINAPI fake_create_op(const void *ctx, HCS_OPERATION_COMPLETION cb)
{
    (void)ctx;
    (void)cb;
    op.created++;
    return (HCS_OPERATION)(intptr_t)0x1234;
}

static void WINAPI fake_close_op(HCS_OPERATION o)
{
    assert_true(o == (HCS_OPERATION)(intptr_t)0x1234);
    op.closed++;
}

static HRESULT WINAPI fake_wait(HCS_OPERATION o, DWORD ms, PWSTR *doc)
{
    (void)o;
    op.waits++;
    op.waited_ms = ms;
    *doc = local_copy(op.wait_doc);
    return op.wait_hr;
}

static HRESULT WINAPI fake_get(HCS_OPERATION o, PWSTR *doc)
{
    (void)o;
    op.gets++;
    *doc = local_copy(op.call_doc);
    return op.call_hr;
}

static HRESULT fake_call(const struct hcsapi *api, HCS_OPERATION o, void *arg)
{
    (void)api;
    (void)arg;
    assert_true(o == (HCS_OPERATION)(intptr_t)0x1234);
    return op.call_hr;
}

static struct hcsapi fake_api(void)
{
    struct hcsapi api = {0};
    api.HcsCreateOperation = fake_create_op;
    api.HcsCloseOperation = fake_close_op;
    api.HcsWaitForOperationResult = fake_wait;
    api.HcsGetOperationResult = fake_get;
    memset(&op, 0, sizeof(op));
    return api;
}

static void test_op_success_returns_the_document(void **state)
{
    (void)state;
    struct hcsapi api = fake_api();
    op.wait_doc = L"[{\"Id\":\"x\",\"Owner\":\"ephemerd\"}]";
    char *doc = NULL;
    uint32_t hr = 1;
    struct evm_err err = {0};
    assert_int_equal(hcsop_run(&api, "listing", fake_call, NULL, 1234, &hr, &doc, &err), 0);
    assert_int_equal(hr, 0);
    assert_string_equal(doc, "[{\"Id\":\"x\",\"Owner\":\"ephemerd\"}]");
    assert_int_equal(op.waited_ms, 1234);
    assert_int_equal(op.created, 1);
    assert_int_equal(op.closed, 1);
    free(doc);
}

static void test_op_wait_failure_is_one_readable_line(void **state)
{
    (void)state;
    struct hcsapi api = fake_api();
    op.wait_hr = (HRESULT)HCS_E_INVALID_JSON;
    op.wait_doc = L"{\"Error\":-2143878899,\"ErrorMessage\":\"The JSON document "
                  L"is invalid.\","
                  L"\"ErrorEvents\":[{\"Message\":\"unknown field 'Plan9'\"}]}";
    uint32_t hr = 0;
    struct evm_err err = {0};
    assert_int_equal(hcsop_run(&api, "creating the VM", fake_call, NULL, 10, &hr, NULL, &err),
                     -EINVAL);
    assert_int_equal(hr, HCS_E_INVALID_JSON);
    assert_string_equal(err.msg, "creating the VM: HCS_E_INVALID_JSON (0x8037010D): The JSON "
                                 "document is invalid.; unknown field 'Plan9'");
    assert_null(strchr(err.msg, '\n'));
    assert_int_equal(op.closed, 1);
}

static void test_op_call_failure_reads_the_operation(void **state)
{
    (void)state;
    struct hcsapi api = fake_api();
    op.call_hr = (HRESULT)HCS_E_ACCESS_DENIED;
    op.call_doc = L"{\"ErrorMessage\":\"Access is denied.\"}";
    uint32_t hr = 0;
    struct evm_err err = {0};
    assert_int_equal(hcsop_run(&api, "starting the VM", fake_call, NULL, 10, &hr, NULL, &err),
                     -EACCES);
    assert_int_equal(op.waits, 0); /* nothing to wait for: the call never started */
    assert_int_equal(op.gets, 1);
    assert_int_equal(op.closed, 1);
    assert_string_equal(err.msg,
                        "starting the VM: HCS_E_ACCESS_DENIED (0x8037011B): Access is denied.");
}

static void test_op_timeout_is_named(void **state)
{
    (void)state;
    struct hcsapi api = fake_api();
    op.wait_hr = (HRESULT)HCS_E_OPERATION_TIMEOUT;
    struct evm_err err = {0};
    assert_int_equal(hcsop_run(&api, "starting the VM", fake_call, NULL, 5, NULL, NULL, &err),
                     -ETIMEDOUT);
    assert_string_equal(err.msg,
                        "starting the VM: no result within 5 ms (HCS_E_OPERATION_TIMEOUT)");
    assert_int_equal(op.closed, 1);
}

static void test_op_submit_does_not_wait(void **state)
{
    (void)state;
    struct hcsapi api = fake_api();
    uint32_t hr = 1;
    struct evm_err err = {0};
    assert_int_equal(hcsop_submit(&api, "terminating", fake_call, NULL, &hr, &err), 0);
    assert_int_equal(hr, 0);
    assert_int_equal(op.waits, 0);
    assert_int_equal(op.closed, 1);

    op.call_hr = (HRESULT)HCS_E_SYSTEM_ALREADY_STOPPED;
    assert_int_equal(hcsop_submit(&api, "terminating", fake_call, NULL, &hr, &err), -EIO);
    assert_true(hcsop_already_stopped(hr));
    assert_int_equal(op.closed, 2);
}

static void test_already_stopped_codes(void **state)
{
    (void)state;
    assert_true(hcsop_already_stopped(HCS_E_SYSTEM_ALREADY_STOPPED));
    assert_true(hcsop_already_stopped(HCS_E_SYSTEM_ALREADY_STOPPED_LEGACY));
    assert_true(hcsop_already_stopped(HCS_E_SYSTEM_NOT_FOUND));
    assert_false(hcsop_already_stopped(HCS_E_ACCESS_DENIED));
    assert_false(hcsop_already_stopped(0));
}

static void test_op_timeout_env(void **state)
{
    (void)state;
    assert_int_equal(tu_setenv("EVM_HCS_OP_TIMEOUT_MS", "1500"), 0);
    assert_int_equal(hcsop_timeout_ms(), 1500);
    assert_int_equal(tu_setenv("EVM_HCS_OP_TIMEOUT_MS", "nonsense"), 0);
    assert_int_equal(hcsop_timeout_ms(), HCSOP_DEFAULT_TIMEOUT_MS);
    assert_int_equal(tu_setenv("EVM_HCS_OP_TIMEOUT_MS", NULL), 0);
    assert_int_equal(hcsop_timeout_ms(), HCSOP_DEFAULT_TIMEOUT_MS);
}

/* ---- a host without the platform
 * --------------------------------------------------------- */

static void test_missing_platform_is_named(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(); /* an empty directory: no computecore.dll in it */
    for (char *c = dir; *c; c++)
        if (*c == '/')
            *c = '\\';
    assert_int_equal(tu_setenv("EVM_HCS_DLL_DIR", dir), 0);
    struct hcsapi api;
    struct evm_err err = {0};
    assert_int_equal(hcsapi_load(&api, HCSAPI_ALL, &err), -ENOSYS);
    assert_non_null(strstr(err.msg, "Hyper-V platform not available: computecore.dll: "));
    assert_null(api.computecore);

    bool grown = true;
    char *disk = tu_path(dir, "root.vhdx");
    evm_err_clear(&err);
    assert_int_equal(vm_disk_ensure(disk, 1ull << 30, &grown, &err), -ENOSYS);
    assert_false(grown);
    assert_non_null(strstr(err.msg, "Hyper-V platform not available: computecore.dll"));
    assert_int_equal(tu_setenv("EVM_HCS_DLL_DIR", NULL), 0);
    free(disk);
    tu_rmrf(dir);
    free(dir);
}

static void test_backend_answers(void **state)
{
    (void)state;
    const struct vm_backend *b = vm_backend();
    assert_string_equal(b->name, "hcs");
    assert_string_equal(b->root_disk, "/dev/sda");
    assert_string_equal(b->disk_file, "root.vhdx");
    assert_int_equal(b->min_memory_mb, 256);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vhdx_layout_is_the_sdks),
        cmocka_unit_test(test_vhdx_params_dynamic_v2),
        cmocka_unit_test(test_vhdx_size_rounds_up_to_mib),
        cmocka_unit_test(test_guid_from_random_is_v4),
        cmocka_unit_test(test_guid_new_differs),
        cmocka_unit_test(test_guid_parse_format_round_trip),
        cmocka_unit_test(test_guid_parse_rejects),
        cmocka_unit_test(test_utf8_conversion),
        cmocka_unit_test(test_full_path_is_absolute_windows),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_op_success_returns_the_document),
        cmocka_unit_test(test_op_wait_failure_is_one_readable_line),
        cmocka_unit_test(test_op_call_failure_reads_the_operation),
        cmocka_unit_test(test_op_timeout_is_named),
        cmocka_unit_test(test_op_submit_does_not_wait),
        cmocka_unit_test(test_already_stopped_codes),
        cmocka_unit_test(test_op_timeout_env),
        cmocka_unit_test(test_missing_platform_is_named),
        cmocka_unit_test(test_backend_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
