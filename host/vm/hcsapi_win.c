/* hcsapi_win.c — run-time loading of the Hyper-V platform's DLLs (hcsapi_win.h) and the
 * string and GUID helpers the HCS backend shares.
 *
 * Loading: LoadLibraryExW(name, NULL, LOAD_LIBRARY_SEARCH_SYSTEM32), so neither the
 * current directory, the executable's directory nor PATH can plant a computecore.dll.
 * One exception, for tests: the simulated HCS (test/hcs/fake/, never shipped) has to be
 * loaded by the unmodified agent under wine, where no computecore.dll exists and wine's own
 * virtdisk.dll aborts on CreateVirtualDisk. When EVM_HCS_DLL_DIR names a directory, the
 * DLLs are loaded from there by full path (their own dependencies from that directory and
 * system32) and a warning says so. Whoever sets an agent's environment can run code as the
 * agent anyway, so the hook opens nothing new; production never sets it. */
#include "vm/hcsapi_win.h"

#include <errno.h>
#include <objbase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "random.h"
#include "strutil.h"
#include "winutil.h"

#define DLL_DIR_ENV L"EVM_HCS_DLL_DIR"

static int unavailable(struct evm_err *err, const char *dll, const char *what)
{
    return evm_errf(err, ENOSYS, "Hyper-V platform not available: %s: %s", dll, what);
}

/* The test hook's directory (wide, malloc'd), or NULL when unset. */
static wchar_t *test_dll_dir(void)
{
    DWORD n = GetEnvironmentVariableW(DLL_DIR_ENV, NULL, 0);
    if (n == 0)
        return NULL;
    wchar_t *dir = malloc((size_t)n * sizeof(*dir));
    if (dir && GetEnvironmentVariableW(DLL_DIR_ENV, dir, n) + 1 != n) {
        free(dir);
        dir = NULL;
    }
    return dir;
}

/* dir\name made absolute (LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR wants a full path), malloc'd. */
static wchar_t *dll_in(const wchar_t *dir, const wchar_t *name)
{
    size_t dl = wcslen(dir), nl = wcslen(name);
    wchar_t *joined = malloc((dl + 1 + nl + 1) * sizeof(*joined)), *full = NULL;
    if (!joined)
        return NULL;
    memcpy(joined, dir, dl * sizeof(*joined));
    joined[dl] = L'\\';
    memcpy(joined + dl + 1, name, (nl + 1) * sizeof(*joined));
    DWORD n = GetFullPathNameW(joined, 0, NULL, NULL);
    if (n > 0 && (full = malloc((size_t)n * sizeof(*full))) &&
        GetFullPathNameW(joined, n, full, NULL) >= n) {
        free(full);
        full = NULL;
    }
    free(joined);
    return full;
}

static HMODULE load_dll(const wchar_t *dir, const wchar_t *name, const char *uname,
                        struct evm_err *err)
{
    char msg[256];
    if (!dir) {
        HMODULE m = LoadLibraryExW(name, NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
        if (!m)
            unavailable(err, uname, win_strerror(GetLastError(), msg, sizeof(msg)));
        return m;
    }
    wchar_t *full = dll_in(dir, name);
    HMODULE m =
        full ? LoadLibraryExW(full, NULL,
                              LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_SYSTEM32)
             : NULL;
    DWORD code = full ? GetLastError() : ERROR_NOT_ENOUGH_MEMORY;
    char *path = hcs_utf8(full);
    if (!m)
        evm_errf(err, ENOSYS, "Hyper-V platform not available: %s: %s (from EVM_HCS_DLL_DIR: %s)",
                 uname, win_strerror(code, msg, sizeof(msg)), path ? path : "?");
    free(path);
    free(full);
    return m;
}

/* Resolves one entry point into its typed member; a cast through void (*)(void) is how C
 * converts between function pointer types without a warning. */
#define RESOLVE(mod, dll, fn)                                                                      \
    ((api->fn = (__typeof__(api->fn))(void (*)(void))GetProcAddress(mod, #fn)) != NULL             \
         ? 0                                                                                       \
         : unavailable(err, dll, "no function " #fn " (Windows too old?)"))

static int load_compute(struct hcsapi *api, const wchar_t *dir, struct evm_err *err)
{
    const char *d = "computecore.dll";
    HMODULE m = api->computecore = load_dll(dir, L"computecore.dll", d, err);
    if (!m)
        return -ENOSYS;
    if (RESOLVE(m, d, HcsCreateOperation) || RESOLVE(m, d, HcsCloseOperation) ||
        RESOLVE(m, d, HcsWaitForOperationResult) || RESOLVE(m, d, HcsGetOperationResult) ||
        RESOLVE(m, d, HcsCreateComputeSystem) || RESOLVE(m, d, HcsOpenComputeSystem) ||
        RESOLVE(m, d, HcsCloseComputeSystem) || RESOLVE(m, d, HcsStartComputeSystem) ||
        RESOLVE(m, d, HcsShutDownComputeSystem) || RESOLVE(m, d, HcsTerminateComputeSystem) ||
        RESOLVE(m, d, HcsEnumerateComputeSystems) || RESOLVE(m, d, HcsSetComputeSystemCallback) ||
        RESOLVE(m, d, HcsGetServiceProperties) || RESOLVE(m, d, HcsGrantVmAccess) ||
        RESOLVE(m, d, HcsRevokeVmAccess))
        return -ENOSYS;
    return 0;
}

static int load_network(struct hcsapi *api, const wchar_t *dir, struct evm_err *err)
{
    const char *d = "computenetwork.dll";
    HMODULE m = api->computenetwork = load_dll(dir, L"computenetwork.dll", d, err);
    if (!m)
        return -ENOSYS;
    if (RESOLVE(m, d, HcnEnumerateNetworks) || RESOLVE(m, d, HcnOpenNetwork) ||
        RESOLVE(m, d, HcnCloseNetwork) || RESOLVE(m, d, HcnEnumerateEndpoints) ||
        RESOLVE(m, d, HcnCreateEndpoint) || RESOLVE(m, d, HcnOpenEndpoint) ||
        RESOLVE(m, d, HcnQueryEndpointProperties) || RESOLVE(m, d, HcnCloseEndpoint) ||
        RESOLVE(m, d, HcnDeleteEndpoint))
        return -ENOSYS;
    return 0;
}

static int load_virtdisk(struct hcsapi *api, const wchar_t *dir, struct evm_err *err)
{
    const char *d = "virtdisk.dll";
    HMODULE m = api->virtdisk = load_dll(dir, L"virtdisk.dll", d, err);
    if (!m)
        return -ENOSYS;
    if (RESOLVE(m, d, CreateVirtualDisk) || RESOLVE(m, d, OpenVirtualDisk) ||
        RESOLVE(m, d, GetVirtualDiskInformation) || RESOLVE(m, d, ResizeVirtualDisk))
        return -ENOSYS;
    return 0;
}

int hcsapi_load(struct hcsapi *api, unsigned which, struct evm_err *err)
{
    memset(api, 0, sizeof(*api));
    wchar_t *dir = test_dll_dir();
    if (dir) {
        char *u = hcs_utf8(dir);
        log_warn("vm: EVM_HCS_DLL_DIR is set: loading the Hyper-V DLLs from %s (a test hook for "
                 "the simulated HCS)",
                 u ? u : "?");
        free(u);
    }
    int r = 0;
    /* computecore first: without it nothing else matters, and its absence is the message an
     * operator on a machine without Hyper-V should see. */
    if (which & HCSAPI_COMPUTE)
        r = load_compute(api, dir, err);
    if (r == 0 && (which & HCSAPI_NETWORK))
        r = load_network(api, dir, err);
    if (r == 0 && (which & HCSAPI_VIRTDISK))
        r = load_virtdisk(api, dir, err);
    free(dir);
    if (r < 0)
        hcsapi_unload(api);
    return r;
}

void hcsapi_unload(struct hcsapi *api)
{
    HMODULE mods[] = {api->computecore, api->computenetwork, api->virtdisk};
    for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++)
        if (mods[i])
            FreeLibrary(mods[i]);
    memset(api, 0, sizeof(*api));
}

/* ---- strings ----------------------------------------------------------------------------- */

char *hcs_utf8(const wchar_t *w)
{
    if (!w)
        return NULL;
    int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, NULL, 0, NULL, NULL);
    if (n <= 0)
        return NULL;
    char *s = malloc((size_t)n);
    if (s && WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, s, n, NULL, NULL) != n) {
        free(s);
        s = NULL;
    }
    return s;
}

void hcs_free_hcs_string(PWSTR s)
{
    /* The HCS reference says LocalFree; WSL and hcsshim use CoTaskMemFree. Both free from
     * the process heap on every Windows release HCS exists on. */
    if (s)
        LocalFree(s);
}

void hcs_free_hcn_string(PWSTR s)
{
    if (s)
        CoTaskMemFree(s);
}

int hcs_full_path(const char *path, wchar_t **wide, char **utf8, struct evm_err *err)
{
    int e = 0;
    wchar_t *w = win_wide(path, &e), *full = NULL;
    char *u = NULL;
    if (!w)
        return evm_errf(err, e, "%s: cannot convert the path", path);
    DWORD n = GetFullPathNameW(w, 0, NULL, NULL);
    if (n == 0) {
        char msg[256];
        e = evm_errf(err, win_errno(GetLastError()), "%s: %s", path,
                     win_strerror(GetLastError(), msg, sizeof(msg)));
        goto out;
    }
    full = malloc((size_t)n * sizeof(*full));
    if (!full || GetFullPathNameW(w, n, full, NULL) >= n || (utf8 && !(u = hcs_utf8(full)))) {
        e = evm_errf(err, ENOMEM, "%s: cannot make the path absolute", path);
        goto out;
    }
    if (wide) {
        *wide = full;
        full = NULL;
    }
    if (utf8) {
        *utf8 = u;
        u = NULL;
    }
    e = 0;
out:
    free(w);
    free(full);
    free(u);
    return e;
}

/* ---- GUIDs -------------------------------------------------------------------------------- */

void hcs_guid_from_random(uint8_t b[16], char out[HCS_GUID_TEXT_LEN + 1])
{
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4: random */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 1 (RFC 4122) */
    snprintf(out, HCS_GUID_TEXT_LEN + 1,
             "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

int hcs_guid_new(char out[HCS_GUID_TEXT_LEN + 1], struct evm_err *err)
{
    uint8_t b[16];
    int r = random_bytes(b, sizeof(b), err);
    if (r < 0)
        return r;
    hcs_guid_from_random(b, out);
    return 0;
}

/* n hex digits at s into *v; false when one is not a hex digit. */
static bool hex_field(const char *s, unsigned n, uint32_t *v)
{
    *v = 0;
    for (unsigned i = 0; i < n; i++) {
        int d = hex_digit_value(s[i]);
        if (d < 0)
            return false;
        *v = (*v << 4) | (uint32_t)d;
    }
    return true;
}

int hcs_guid_parse(const char *text, GUID *out)
{
    size_t len = strlen(text);
    if (len == HCS_GUID_TEXT_LEN + 2 && text[0] == '{' && text[len - 1] == '}')
        text++;
    else if (len != HCS_GUID_TEXT_LEN)
        return -EINVAL;
    if (text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-')
        return -EINVAL;
    uint32_t d1, d2, d3, v;
    if (!hex_field(text, 8, &d1) || !hex_field(text + 9, 4, &d2) || !hex_field(text + 14, 4, &d3))
        return -EINVAL;
    static const unsigned at[8] = {19, 21, 24, 26, 28, 30, 32, 34};
    for (unsigned i = 0; i < 8; i++) {
        if (!hex_field(text + at[i], 2, &v))
            return -EINVAL;
        out->Data4[i] = (unsigned char)v;
    }
    out->Data1 = d1;
    out->Data2 = (unsigned short)d2;
    out->Data3 = (unsigned short)d3;
    return 0;
}

void hcs_guid_format(const GUID *g, char out[HCS_GUID_TEXT_LEN + 1])
{
    snprintf(out, HCS_GUID_TEXT_LEN + 1, "%08lX-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
             (unsigned long)g->Data1, g->Data2, g->Data3, g->Data4[0], g->Data4[1], g->Data4[2],
             g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
}
