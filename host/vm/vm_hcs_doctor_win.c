/* vm_hcs_doctor_win.c — the HCS backend's checks of a Windows host (vm.h's vm_host_checks,
 * for `doctor`): the Windows release and edition, the Hyper-V platform (its DLLs load and
 * the compute service answers with a schema we can write), the rights HCS asks for
 * (administrator or Hyper-V Administrators), and the Default Switch. Each check looks the
 * way vm_start would and changes nothing. */
#include <windows.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/hcn_win.h"
#include "vm/hcsapi_win.h"
#include "vm/hcsdoc.h"
#include "vm/hcsop_win.h"
#include "vm/vm.h"

#define MIN_BUILD 18362 /* Windows 10 1903: LinuxKernelDirect (schema 2.2) */

typedef void (*report_fn)(void *ctx, const struct vm_check *c);

/* The real version (GetVersionEx answers what the manifest allows). */
static bool windows_version(RTL_OSVERSIONINFOW *v)
{
    typedef LONG(WINAPI * rtl_get_version_fn)(RTL_OSVERSIONINFOW *);
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    rtl_get_version_fn get =
        ntdll ? (rtl_get_version_fn)(void (*)(void))GetProcAddress(ntdll, "RtlGetVersion") : NULL;
    memset(v, 0, sizeof(*v));
    v->dwOSVersionInfoSize = sizeof(*v);
    return get && get(v) == 0;
}

static bool home_edition(const RTL_OSVERSIONINFOW *v)
{
    DWORD type = 0;
    if (!GetProductInfo(v->dwMajorVersion, v->dwMinorVersion, 0, 0, &type))
        return false;
    return type == PRODUCT_CORE || type == PRODUCT_CORE_N || type == PRODUCT_CORE_SINGLELANGUAGE ||
           type == PRODUCT_CORE_COUNTRYSPECIFIC;
}

static void check_windows(report_fn report, void *ctx)
{
    struct vm_check c = {.what = "Windows", .required = true};
    RTL_OSVERSIONINFOW v;
    if (!windows_version(&v)) {
        snprintf(c.detail, sizeof(c.detail), "the version cannot be read");
        snprintf(c.fix, sizeof(c.fix), "run on Windows 10 1903, Windows Server 2022 or later");
        report(ctx, &c);
        return;
    }
    bool home = home_edition(&v);
    c.ok = v.dwBuildNumber >= MIN_BUILD && !home;
    snprintf(c.detail, sizeof(c.detail), "%lu.%lu build %lu%s", (unsigned long)v.dwMajorVersion,
             (unsigned long)v.dwMinorVersion, (unsigned long)v.dwBuildNumber,
             home ? ", Home edition (no Hyper-V)" : "");
    if (home)
        snprintf(c.fix, sizeof(c.fix),
                 "Hyper-V needs Windows Pro, Enterprise, Education or Server");
    else if (!c.ok)
        snprintf(c.fix, sizeof(c.fix),
                 "update to Windows 10 1903 (build %d) or Windows Server 2022 or later", MIN_BUILD);
    report(ctx, &c);
}

/* Loads the platform for the checks after it; false when it is missing (reported). */
static bool check_platform(report_fn report, void *ctx, struct hcsapi *api)
{
    struct vm_check c = {.what = "Hyper-V platform", .required = true};
    struct evm_err err = {0};
    c.ok = hcsapi_load(api, HCSAPI_ALL, &err) == 0;
    if (c.ok) {
        snprintf(c.detail, sizeof(c.detail),
                 "computecore.dll, computenetwork.dll and virtdisk.dll load");
    } else {
        snprintf(c.detail, sizeof(c.detail), "%.250s", err.msg);
        snprintf(c.fix, sizeof(c.fix),
                 "enable Hyper-V (elevated PowerShell: Enable-WindowsOptionalFeature -Online "
                 "-FeatureName Microsoft-Hyper-V -All), then reboot");
    }
    report(ctx, &c);
    return c.ok;
}

static void check_service(report_fn report, void *ctx, const struct hcsapi *api)
{
    struct vm_check c = {.what = "compute service (vmcompute)", .required = true};
    struct evm_err err = {0};
    struct hcs_schema s = {0};
    PWSTR w = NULL;
    HRESULT hr = api->HcsGetServiceProperties(L"{\"PropertyTypes\":[\"Basic\"]}", &w);
    char *props = hcs_utf8(w);
    hcs_free_hcs_string(w);
    if (FAILED(hr))
        hcsop_errf(&err, "HcsGetServiceProperties", (uint32_t)hr, props);
    else
        hcsdoc_choose_schema(props, &s, &err);
    free(props);
    c.ok = err.code == 0;
    if (c.ok) {
        snprintf(c.detail, sizeof(c.detail), "answers; the VM document is written in schema %u.%u",
                 s.major, s.minor);
    } else {
        snprintf(c.detail, sizeof(c.detail), "%.250s", err.msg);
        snprintf(c.fix, sizeof(c.fix), "%s",
                 err.code == ENOTSUP ? "update Windows: 10 1903 / Server 2022 or later"
                 : err.code == EACCES
                     ? "run elevated, or as a member of Hyper-V Administrators"
                     : "start the service (elevated: Start-Service vmcompute) and check Hyper-V");
    }
    report(ctx, &c);
}

static bool in_group(WELL_KNOWN_SID_TYPE type)
{
    BYTE sid[SECURITY_MAX_SID_SIZE];
    DWORD size = sizeof(sid);
    BOOL member = FALSE;
    return CreateWellKnownSid(type, NULL, sid, &size) && CheckTokenMembership(NULL, sid, &member) &&
           member;
}

static void check_rights(report_fn report, void *ctx)
{
    struct vm_check c = {.what = "rights", .required = true};
    bool admin = in_group(WinBuiltinAdministratorsSid); /* true only when elevated */
    bool hv = in_group(WinBuiltinHyperVAdminsSid);
    c.ok = admin || hv;
    snprintf(c.detail, sizeof(c.detail), "%s",
             admin ? "administrator (elevated)"
             : hv  ? "member of Hyper-V Administrators"
                   : "neither an elevated administrator nor in Hyper-V Administrators");
    if (!c.ok)
        snprintf(c.fix, sizeof(c.fix),
                 "run elevated, or add the account to Hyper-V Administrators (Add-LocalGroupMember "
                 "-Group 'Hyper-V Administrators' -Member <user>) and sign in again");
    report(ctx, &c);
}

static void check_switch(report_fn report, void *ctx, const struct hcsapi *api)
{
    struct vm_check c = {.what = "Default Switch", .required = true};
    struct evm_err err = {0};
    char id[HCS_GUID_TEXT_LEN + 1];
    c.ok = hcn_default_switch(api, id, &err) == 0;
    if (c.ok) {
        snprintf(c.detail, sizeof(c.detail), "found (%s)", id);
    } else {
        snprintf(c.detail, sizeof(c.detail), "%.250s", err.msg);
        snprintf(c.fix, sizeof(c.fix),
                 "the Default Switch comes with Hyper-V on Windows 10/11; restart the Host Network "
                 "Service (Restart-Service hns) or re-enable Hyper-V");
    }
    report(ctx, &c);
}

void vm_host_checks(void (*report)(void *ctx, const struct vm_check *c), void *ctx)
{
    check_windows(report, ctx);
    check_rights(report, ctx);
    struct hcsapi api;
    if (!check_platform(report, ctx, &api))
        return; /* nothing else can be asked */
    check_service(report, ctx, &api);
    check_switch(report, ctx, &api);
    hcsapi_unload(&api);
}
