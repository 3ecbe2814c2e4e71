/* fakeproto.c — the simulated HCS DLLs' shared parts (fakeproto.h): configuration from the
 * environment, calls.log, result strings, the state file under a named mutex, files and
 * Linux programs seen from wine, and the JSON-lines TCP protocol with the helper. TEST ONLY. */
#include "fakeproto.h"

#include <objbase.h>
#include <ws2tcpip.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "winutil.h"

/* ---- configuration ---------------------------------------------------------------------- */

static void env_u8(const wchar_t *name, char *out, size_t n)
{
    wchar_t w[1024];
    out[0] = '\0';
    DWORD got = GetEnvironmentVariableW(name, w, (DWORD)(sizeof(w) / sizeof(w[0])));
    if (got == 0 || got >= sizeof(w) / sizeof(w[0]))
        return;
    if (WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)n, NULL, NULL) <= 0)
        out[0] = '\0';
}

/* Keeps "<what> '<value>'; " for the first call's log line. */
static void note_error(struct fake_config *c, const char *what, const char *value)
{
    size_t used = strlen(c->config_errors);
    if (used + 2 < sizeof(c->config_errors))
        snprintf(c->config_errors + used, sizeof(c->config_errors) - used, "%s '%s'; ", what,
                 value);
}

/* "event=CRASH@1500" style: the milliseconds after '@', -1 when malformed. */
static long at_ms(const char *v, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(v, name, n) != 0 || v[n] != '@')
        return -1;
    char *end = NULL;
    long ms = strtol(v + n + 1, &end, 10);
    return (end && *end == '\0' && ms >= 0) ? ms : -1;
}

static void parse_injection(struct fake_config *c, const char *item)
{
    struct fake_inject *in = &c->inject;
    const char *eq = strchr(item, '=');
    const char *v = eq ? eq + 1 : "";
    size_t klen = eq ? (size_t)(eq - item) : strlen(item);
    char key[32];
    snprintf(key, sizeof(key), "%.*s", (int)(klen < sizeof(key) - 1 ? klen : sizeof(key) - 1),
             item);
    long ms;
    if (!strcmp(key, "create") && !strcmp(v, "INVALID_JSON"))
        in->create_invalid_json = true;
    else if (!strcmp(key, "start") && !strcmp(v, "ACCESS_DENIED"))
        in->start_access_denied = true;
    else if (!strcmp(key, "start") && !strcmp(v, "HANG"))
        in->start_hang = true;
    else if (!strcmp(key, "guest") && !strcmp(v, "IGNORE_STOP"))
        in->guest_ignore_stop = true;
    else if (!strcmp(key, "shutdown") && !strcmp(v, "NO_IC"))
        in->shutdown_no_ic = true;
    else if (!strcmp(key, "stale") && !strcmp(v, "1"))
        in->stale = true;
    else if (!strcmp(key, "event") && (ms = at_ms(v, "SERVICE_DISCONNECT")) >= 0)
        in->disconnect_ms = ms;
    else if (!strcmp(key, "event") && (ms = at_ms(v, "CRASH")) >= 0)
        in->crash_ms = ms;
    else if (!strcmp(key, "network") && !strcmp(v, "NONE"))
        in->network = FAKE_NET_NONE;
    else if (!strcmp(key, "network") && !strcmp(v, "BYNAME"))
        in->network = FAKE_NET_BYNAME;
    else
        note_error(c, "unknown injection", item);
}

static void parse_injections(struct fake_config *c)
{
    char copy[sizeof(c->inject_raw)];
    snprintf(copy, sizeof(copy), "%s", c->inject_raw);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (*tok)
            parse_injection(c, tok);
    }
}

static void parse_max_schema(struct fake_config *c)
{
    char v[32];
    env_u8(L"EVM_FAKE_HCS_MAX_SCHEMA", v, sizeof(v));
    c->max_schema_minor = 5;
    if (!v[0])
        return;
    if (v[0] == '2' && v[1] == '.' && v[2] >= '1' && v[2] <= '9' && v[3] == '\0')
        c->max_schema_minor = (unsigned)(v[2] - '0');
    else
        note_error(c, "EVM_FAKE_HCS_MAX_SCHEMA is not 2.1..2.9 (using 2.5)", v);
}

static void default_state_dir(struct fake_config *c)
{
    wchar_t tmp[MAX_PATH];
    DWORD n = GetTempPathW(MAX_PATH, tmp);
    if (n == 0 || n >= MAX_PATH)
        wcscpy(tmp, L"C:\\");
    _snwprintf(c->state_dir, MAX_PATH, L"%lsevm-fake-hcs", tmp);
    c->state_dir[MAX_PATH - 1] = L'\0';
}

void fake_config_load(struct fake_config *c)
{
    memset(c, 0, sizeof(*c));
    c->inject.disconnect_ms = -1;
    c->inject.crash_ms = -1;
    DWORD n = GetEnvironmentVariableW(L"EVM_FAKE_HCS_STATE", c->state_dir, MAX_PATH);
    if (n == 0 || n >= MAX_PATH)
        default_state_dir(c);
    size_t len = wcslen(c->state_dir);
    while (len > 3 && (c->state_dir[len - 1] == L'\\' || c->state_dir[len - 1] == L'/'))
        c->state_dir[--len] = L'\0';
    if (WideCharToMultiByte(CP_UTF8, 0, c->state_dir, -1, c->state_dir_u8,
                            (int)sizeof(c->state_dir_u8), NULL, NULL) <= 0)
        c->state_dir_u8[0] = '\0';
    env_u8(L"EVM_FAKE_HCS_HELPER", c->helper, sizeof(c->helper));
    env_u8(L"EVM_FAKE_HCS_INJECT", c->inject_raw, sizeof(c->inject_raw));
    parse_injections(c);
    parse_max_schema(c);
}

/* ---- calls.log ------------------------------------------------------------------------- */

static void state_path(const struct fake_config *c, const wchar_t *name, wchar_t *out, size_t n)
{
    _snwprintf(out, n, L"%ls\\%ls", c->state_dir, name);
    out[n - 1] = L'\0';
}

/* Makes the state directory and its parents. A failure shows as the writes that follow
 * failing: the log is best effort. */
static void ensure_state_dir(const struct fake_config *c)
{
    wchar_t path[MAX_PATH];
    wcsncpy(path, c->state_dir, MAX_PATH - 1);
    path[MAX_PATH - 1] = L'\0';
    if (CreateDirectoryW(path, NULL) || GetLastError() == ERROR_ALREADY_EXISTS)
        return;
    for (wchar_t *p = path + 3; *p; p++) { /* after "X:\" */
        if (*p != L'\\' && *p != L'/')
            continue;
        wchar_t keep = *p;
        *p = L'\0';
        (void)CreateDirectoryW(path, NULL);
        *p = keep;
    }
    (void)CreateDirectoryW(path, NULL);
}

void fake_log(const struct fake_config *c, const char *fmt, ...)
{
    char line[4096];
    int head = snprintf(line, sizeof(line), "pid=%lu tid=%lu ", GetCurrentProcessId(),
                        GetCurrentThreadId());
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + head, sizeof(line) - (size_t)head - 1, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    wchar_t path[MAX_PATH + 32];
    state_path(c, L"calls.log", path, sizeof(path) / sizeof(path[0]));
    ensure_state_dir(c);
    HANDLE h =
        CreateFileW(path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return;
    DWORD wrote = 0;
    (void)WriteFile(h, line, (DWORD)len, &wrote, NULL);
    CloseHandle(h);
}

/* ---- HRESULT names ------------------------------------------------------------------------ */

static const struct {
    uint32_t hr;
    const char *name;
} hr_names[] = {
    {0x00000000u, "S_OK"},
    {0x80004001u, "E_NOTIMPL"},
    {0x80004003u, "E_POINTER"},
    {0x80004005u, "E_FAIL"},
    {0x8000FFFFu, "E_UNEXPECTED"},
    {0x80070002u, "HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)"},
    {0x80070003u, "HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND)"},
    {0x80070005u, "E_ACCESSDENIED"},
    {0x80070006u, "E_HANDLE"},
    {0x8007000Eu, "E_OUTOFMEMORY"},
    {0x80070057u, "E_INVALIDARG"},
    {0x800700B7u, "HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS)"},
    {0x800710DFu, "HRESULT_FROM_WIN32(ERROR_DEVICE_NOT_AVAILABLE)"},
    {0x80370100u, "HCS_E_TERMINATED_DURING_START"},
    {0x80370105u, "HCS_E_INVALID_STATE"},
    {0x80370107u, "HCS_E_TERMINATED"},
    {0x8037010Du, "HCS_E_INVALID_JSON"},
    {0x8037010Eu, "HCS_E_SYSTEM_NOT_FOUND"},
    {0x8037010Fu, "HCS_E_SYSTEM_ALREADY_EXISTS"},
    {0x80370110u, "HCS_E_SYSTEM_ALREADY_STOPPED"},
    {0x80370115u, "HCS_E_OPERATION_NOT_STARTED"},
    {0x80370116u, "HCS_E_OPERATION_ALREADY_STARTED"},
    {0x80370117u, "HCS_E_OPERATION_PENDING"},
    {0x80370118u, "HCS_E_OPERATION_TIMEOUT"},
    {0x80370119u, "HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET"},
    {0x8037011Bu, "HCS_E_ACCESS_DENIED"},
    {0x8037011Cu, "HCS_E_GUEST_CRITICAL_ERROR"},
    {0x8037011Eu, "HCS_E_SERVICE_DISCONNECT"},
    {0x803B0001u, "HCN_E_NETWORK_NOT_FOUND"},
    {0x803B0002u, "HCN_E_ENDPOINT_NOT_FOUND"},
    {0x803B000Cu, "HCN_E_INVALID_ENDPOINT"},
};

const char *fake_hr_name(HRESULT hr)
{
    for (size_t i = 0; i < sizeof(hr_names) / sizeof(hr_names[0]); i++)
        if (hr_names[i].hr == (uint32_t)hr)
            return hr_names[i].name;
    return NULL;
}

const char *fake_hr_text(HRESULT hr, char *buf, size_t n)
{
    const char *name = fake_hr_name(hr);
    snprintf(buf, n, "0x%08lX%s%s", (unsigned long)(uint32_t)hr, name ? " " : "", name ? name : "");
    return buf;
}

/* ---- strings ------------------------------------------------------------------------------ */

char *fake_u8(const wchar_t *w, bool *invalid)
{
    if (invalid)
        *invalid = false;
    if (!w)
        return NULL;
    int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, NULL, 0, NULL, NULL);
    if (n <= 0) {
        if (invalid)
            *invalid = true;
        return NULL;
    }
    char *s = malloc((size_t)n);
    if (s && WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, s, n, NULL, NULL) != n) {
        free(s);
        s = NULL;
        if (invalid)
            *invalid = true;
    }
    return s;
}

wchar_t *fake_w(const char *s)
{
    int e = 0;
    return s ? win_wide(s, &e) : NULL;
}

static PWSTR wide_into(const char *u8, void *(*alloc)(size_t))
{
    int n = MultiByteToWideChar(CP_UTF8, 0, u8 ? u8 : "", -1, NULL, 0);
    if (n <= 0)
        return NULL;
    PWSTR w = alloc((size_t)n * sizeof(WCHAR));
    if (w && MultiByteToWideChar(CP_UTF8, 0, u8 ? u8 : "", -1, w, n) != n)
        w[0] = L'\0';
    return w;
}

static void *local_alloc(size_t n)
{
    return LocalAlloc(LMEM_FIXED, n);
}

static void *cotask_alloc(size_t n)
{
    return CoTaskMemAlloc(n);
}

PWSTR fake_local_wstr(const char *u8)
{
    return wide_into(u8, local_alloc);
}

PWSTR fake_cotask_wstr(const char *u8)
{
    return wide_into(u8, cotask_alloc);
}

char *fake_result_error(HRESULT hr, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *events = cJSON_CreateArray();
    cJSON *ev = cJSON_CreateObject();
    char *out = NULL;
    if (o && events && ev && cJSON_AddNumberToObject(o, "Error", (double)(int32_t)hr) &&
        cJSON_AddStringToObject(o, "ErrorMessage", message ? message : "") &&
        cJSON_AddStringToObject(ev, "Message", message ? message : "") &&
        cJSON_AddStringToObject(ev, "Source", "fake HCS (test/hcs/fake): a simulation") &&
        cJSON_AddNumberToObject(ev, "EventId", 0)) {
        cJSON_AddItemToArray(events, ev);
        ev = NULL;
        cJSON_AddItemToObject(o, "ErrorEvents", events);
        events = NULL;
        out = cJSON_PrintUnformatted(o);
    }
    cJSON_Delete(ev);
    cJSON_Delete(events);
    cJSON_Delete(o);
    return out;
}

/* ---- GUIDs ---------------------------------------------------------------------------------- */

void fake_guid_format(const GUID *g, char out[37])
{
    snprintf(out, 37, "%08lX-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", (unsigned long)g->Data1,
             g->Data2, g->Data3, g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4],
             g->Data4[5], g->Data4[6], g->Data4[7]);
}

static int hexv(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

bool fake_guid_parse(const char *s, GUID *g)
{
    if (!s)
        return false;
    size_t len = strlen(s);
    if (len == 38 && s[0] == '{' && s[37] == '}') {
        s++;
        len = 36;
    }
    if (len != 36)
        return false;
    uint8_t b[16];
    size_t bi = 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
            continue;
        }
        int hi = hexv(s[i]), lo = hexv(s[i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        b[bi++] = (uint8_t)(hi << 4 | lo);
        i++;
    }
    g->Data1 =
        (unsigned long)b[0] << 24 | (unsigned long)b[1] << 16 | (unsigned long)b[2] << 8 | b[3];
    g->Data2 = (unsigned short)(b[4] << 8 | b[5]);
    g->Data3 = (unsigned short)(b[6] << 8 | b[7]);
    memcpy(g->Data4, b + 8, 8);
    return true;
}

bool fake_guid_new(GUID *g)
{
    return SUCCEEDED(CoCreateGuid(g));
}

/* ---- the state file ---------------------------------------------------------------------- */

static void mutex_name(const struct fake_config *c, wchar_t *out, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a of the uppercased state dir */
    for (const wchar_t *p = c->state_dir; *p; p++) {
        h ^= (uint32_t)towupper(*p);
        h *= 16777619u;
    }
    _snwprintf(out, n, L"Local\\evm-fake-hcs-%08lx", (unsigned long)h);
    out[n - 1] = L'\0';
}

static int read_file_u8(const wchar_t *path, char **out, struct evm_err *err)
{
    *out = NULL;
    HANDLE h =
        CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        return evm_errf(err, win_errno(e), "opening the state file: error %lu", e);
    }
    LARGE_INTEGER size;
    int r = 0;
    char *buf = NULL;
    DWORD got = 0;
    if (!GetFileSizeEx(h, &size) || size.QuadPart > (64 << 20))
        r = evm_errf(err, EFBIG, "the state file is unreadable or too large");
    else if (!(buf = malloc((size_t)size.QuadPart + 1)))
        r = evm_errf(err, ENOMEM, "no memory for the state file");
    else if (!ReadFile(h, buf, (DWORD)size.QuadPart, &got, NULL) || got != (DWORD)size.QuadPart)
        r = evm_errf(err, EIO, "reading the state file: error %lu", GetLastError());
    CloseHandle(h);
    if (r < 0) {
        free(buf);
        return r;
    }
    buf[got] = '\0';
    *out = buf;
    return 0;
}

static int write_file_atomic(const wchar_t *path, const char *text, struct evm_err *err)
{
    wchar_t tmp[MAX_PATH + 40];
    _snwprintf(tmp, sizeof(tmp) / sizeof(tmp[0]), L"%ls.%lu.tmp", path, GetCurrentProcessId());
    tmp[sizeof(tmp) / sizeof(tmp[0]) - 1] = L'\0';
    HANDLE h = CreateFileW(tmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return evm_errf(err, win_errno(GetLastError()), "creating the state file: error %lu",
                        GetLastError());
    DWORD len = (DWORD)strlen(text), wrote = 0;
    BOOL ok = WriteFile(h, text, len, &wrote, NULL) && wrote == len;
    CloseHandle(h);
    if (!ok || !MoveFileExW(tmp, path, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
        DWORD e = GetLastError();
        DeleteFileW(tmp);
        return evm_errf(err, win_errno(e), "writing the state file: error %lu", e);
    }
    return 0;
}

int fake_state_begin(const struct fake_config *c, struct fake_state *st, struct evm_err *err)
{
    wchar_t name[64];
    mutex_name(c, name, sizeof(name) / sizeof(name[0]));
    ensure_state_dir(c);
    st->root = NULL;
    st->mutex = CreateMutexW(NULL, FALSE, name);
    if (!st->mutex)
        return evm_errf(err, EIO, "creating the state mutex: error %lu", GetLastError());
    DWORD w = WaitForSingleObject(st->mutex, 30000);
    if (w != WAIT_OBJECT_0 && w != WAIT_ABANDONED) {
        CloseHandle(st->mutex);
        st->mutex = NULL;
        return evm_errf(err, ETIMEDOUT, "the state mutex was not released in 30 s");
    }
    wchar_t path[MAX_PATH + 32];
    state_path(c, L"state.json", path, sizeof(path) / sizeof(path[0]));
    char *text = NULL;
    struct evm_err rerr = {0};
    if (read_file_u8(path, &text, &rerr) == 0) {
        st->root = cJSON_Parse(text);
        if (!st->root || !cJSON_IsObject(st->root))
            fake_log(c, "note state.json was not a JSON object: starting from an empty state");
        free(text);
    }
    if (!st->root || !cJSON_IsObject(st->root)) {
        cJSON_Delete(st->root);
        st->root = cJSON_CreateObject();
    }
    if (!st->root) {
        ReleaseMutex(st->mutex);
        CloseHandle(st->mutex);
        st->mutex = NULL;
        return evm_errf(err, ENOMEM, "no memory for the state");
    }
    return 0;
}

int fake_state_end(const struct fake_config *c, struct fake_state *st, bool save,
                   struct evm_err *err)
{
    int r = 0;
    if (save && st->root) {
        char *text = cJSON_Print(st->root);
        wchar_t path[MAX_PATH + 32];
        state_path(c, L"state.json", path, sizeof(path) / sizeof(path[0]));
        r = text ? write_file_atomic(path, text, err) : evm_errf(err, ENOMEM, "printing the state");
        free(text);
    }
    cJSON_Delete(st->root);
    st->root = NULL;
    if (st->mutex) {
        ReleaseMutex(st->mutex);
        CloseHandle(st->mutex);
        st->mutex = NULL;
    }
    return r;
}

cJSON *fake_state_array(struct fake_state *st, const char *name)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(st->root, name);
    if (cJSON_IsArray(a))
        return a;
    cJSON_DeleteItemFromObjectCaseSensitive(st->root, name);
    return cJSON_AddArrayToObject(st->root, name);
}

void fake_state_seed_stale(const struct fake_config *c, struct fake_state *st)
{
    if (!c->inject.stale ||
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st->root, "stale_seeded")))
        return;
    cJSON *sys = cJSON_CreateObject();
    cJSON *ep = cJSON_CreateObject();
    cJSON *ips = cJSON_CreateArray();
    cJSON *ip = cJSON_CreateObject();
    if (!sys || !ep || !ips || !ip) {
        cJSON_Delete(sys);
        cJSON_Delete(ep);
        cJSON_Delete(ips);
        cJSON_Delete(ip);
        return;
    }
    cJSON_AddStringToObject(sys, "Id", FAKE_STALE_SYSTEM_ID);
    cJSON_AddStringToObject(sys, "Owner", "ephemerd");
    cJSON_AddStringToObject(sys, "State", "Running");
    cJSON_AddNumberToObject(sys, "HostPid", 0);
    cJSON_AddNumberToObject(sys, "HostCreated", 0);
    cJSON_AddBoolToObject(sys, "TerminateOnLastHandleClosed", false);
    cJSON_AddBoolToObject(sys, "Seeded", true);
    cJSON_AddItemToArray(fake_state_array(st, "systems"), sys);
    cJSON_AddStringToObject(ip, "IpAddress", "172.29.16.250");
    cJSON_AddNumberToObject(ip, "PrefixLength", 20);
    cJSON_AddItemToArray(ips, ip);
    cJSON_AddStringToObject(ep, "ID", FAKE_STALE_ENDPOINT_ID);
    cJSON_AddStringToObject(ep, "Name", FAKE_STALE_ENDPOINT_NAME);
    cJSON_AddStringToObject(ep, "HostComputeNetwork", FAKE_DEFAULT_SWITCH_ID);
    cJSON_AddStringToObject(ep, "MacAddress", "00-15-5D-00-57-A1");
    cJSON_AddItemToObject(ep, "IpConfigurations", ips);
    cJSON_AddItemToArray(fake_state_array(st, "endpoints"), ep);
    cJSON_DeleteItemFromObjectCaseSensitive(st->root, "stale_seeded");
    cJSON_AddBoolToObject(st->root, "stale_seeded", true);
    fake_log(c, "note stale=1: seeded compute system %s (Owner ephemerd, Running) and endpoint %s",
             FAKE_STALE_SYSTEM_ID, FAKE_STALE_ENDPOINT_NAME);
}

static uint64_t filetime_u64(FILETIME f)
{
    return (uint64_t)f.dwHighDateTime << 32 | f.dwLowDateTime;
}

void fake_process_stamp(DWORD *pid, uint64_t *created)
{
    FILETIME c, x, k, u;
    *pid = GetCurrentProcessId();
    *created = GetProcessTimes(GetCurrentProcess(), &c, &x, &k, &u) ? filetime_u64(c) : 0;
}

bool fake_process_alive(DWORD pid, uint64_t created)
{
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (!h)
        return false;
    FILETIME c, x, k, u;
    DWORD code = 0;
    bool alive = GetProcessTimes(h, &c, &x, &k, &u) && filetime_u64(c) == created &&
                 GetExitCodeProcess(h, &code) && code == STILL_ACTIVE;
    CloseHandle(h);
    return alive;
}

void fake_stamp_put(cJSON *entry, DWORD pid, uint64_t created)
{
    char t[24];
    snprintf(t, sizeof(t), "%llx", (unsigned long long)created);
    cJSON_AddNumberToObject(entry, "HostPid", pid);
    cJSON_AddStringToObject(entry, "HostCreated", t);
}

void fake_stamp_get(const cJSON *entry, DWORD *pid, uint64_t *created)
{
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "HostCreated"));
    *pid = (DWORD)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(entry, "HostPid"));
    *created = t ? strtoull(t, NULL, 16) : 0;
}

bool fake_system_exists(const cJSON *entry)
{
    DWORD pid;
    uint64_t created;
    fake_stamp_get(entry, &pid, &created);
    if (pid == 0 || fake_process_alive(pid, created))
        return true;
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "State"));
    bool stolhc =
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(entry, "TerminateOnLastHandleClosed"));
    return !stolhc && !(state && !strcmp(state, "Stopped"));
}

/* ---- files ------------------------------------------------------------------------------ */

int fake_file_identity(const wchar_t *path, char *id, size_t idn, struct evm_err *err)
{
    HANDLE h = CreateFileW(path, FILE_READ_ATTRIBUTES,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        return evm_errf(err, win_errno(e), "cannot open %ls: error %lu", path, e);
    }
    BY_HANDLE_FILE_INFORMATION fi;
    BOOL ok = GetFileInformationByHandle(h, &fi);
    DWORD e = GetLastError();
    CloseHandle(h);
    if (!ok)
        return evm_errf(err, win_errno(e), "cannot identify %ls: error %lu", path, e);
    snprintf(id, idn, "%08lX:%08lX%08lX", fi.dwVolumeSerialNumber, fi.nFileIndexHigh,
             fi.nFileIndexLow);
    return 0;
}

int fake_full_path_key(const wchar_t *path, char *key, size_t n, struct evm_err *err)
{
    wchar_t full[MAX_PATH * 2];
    DWORD got = GetFullPathNameW(path, MAX_PATH * 2, full, NULL);
    if (got == 0 || got >= MAX_PATH * 2)
        return evm_errf(err, EINVAL, "cannot resolve the path %ls", path);
    for (wchar_t *p = full; *p; p++)
        *p = (*p == L'/') ? L'\\' : (wchar_t)towupper(*p);
    if (WideCharToMultiByte(CP_UTF8, 0, full, -1, key, (int)n, NULL, NULL) <= 0)
        return evm_errf(err, ENAMETOOLONG, "the path %ls is too long", path);
    return 0;
}

typedef char *(CDECL *unix_name_fn)(LPCWSTR);

char *fake_unix_path(const wchar_t *path, struct evm_err *err)
{
    HMODULE k32 = GetModuleHandleW(L"kernel32.dll");
    FARPROC p = k32 ? GetProcAddress(k32, "wine_get_unix_file_name") : NULL;
    if (!p) {
        evm_errf(err, ENOTSUP, "wine_get_unix_file_name is missing: the fake runs under wine only");
        return NULL;
    }
    unix_name_fn fn;
    memcpy(&fn, &p, sizeof(fn));
    char *u = fn(path);
    if (!u) {
        evm_errf(err, ENOENT, "wine has no Unix path for %ls", path);
        return NULL;
    }
    char *copy = strdup(u);
    HeapFree(GetProcessHeap(), 0, u);
    if (!copy)
        evm_errf(err, ENOMEM, "no memory");
    return copy;
}

/* ---- Linux programs from wine -------------------------------------------------------------- */

/* Appends arg to the command line quoted by the Microsoft C runtime rules, which wine also
 * uses to split the line into the Linux program's argv. */
static int quote_arg(char *cmd, size_t n, const char *arg)
{
    size_t o = strlen(cmd);
    if (o + 3 >= n)
        return -1;
    if (o)
        cmd[o++] = ' ';
    cmd[o++] = '"';
    for (const char *p = arg;; p++) {
        size_t slashes = 0;
        while (*p == '\\') {
            slashes++;
            p++;
        }
        size_t need = !*p ? slashes * 2 : (*p == '"' ? slashes * 2 + 2 : slashes + 1);
        if (o + need + 2 >= n)
            return -1;
        if (!*p) {
            for (size_t i = 0; i < slashes * 2; i++)
                cmd[o++] = '\\';
            break;
        }
        for (size_t i = 0; i < (*p == '"' ? slashes * 2 + 1 : slashes); i++)
            cmd[o++] = '\\';
        cmd[o++] = *p;
    }
    cmd[o++] = '"';
    cmd[o] = '\0';
    return 0;
}

static int read_small(const wchar_t *path, char *out, size_t n)
{
    out[0] = '\0';
    HANDLE h =
        CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return -1;
    DWORD got = 0;
    BOOL ok = ReadFile(h, out, (DWORD)(n - 1), &got, NULL);
    CloseHandle(h);
    out[ok ? got : 0] = '\0';
    return ok ? 0 : -1;
}

static int build_sh_command(const char *rc_unix, const char *const *argv, char *cmd, size_t n)
{
    static const char script[] =
        "\"$@\" >\"$0.log\" 2>&1; echo $? >\"$0.tmp\" && mv -f \"$0.tmp\" \"$0\"";
    cmd[0] = '\0';
    if (quote_arg(cmd, n, "/bin/sh") < 0 || quote_arg(cmd, n, "-c") < 0 ||
        quote_arg(cmd, n, script) < 0 || quote_arg(cmd, n, rc_unix) < 0)
        return -1;
    for (size_t i = 0; argv[i]; i++)
        if (quote_arg(cmd, n, argv[i]) < 0)
            return -1;
    return 0;
}

static int wait_status_file(const wchar_t *rc, DWORD timeout_ms, int *status)
{
    DWORD start = GetTickCount();
    char text[32];
    while (GetFileAttributesW(rc) == INVALID_FILE_ATTRIBUTES) {
        if (GetTickCount() - start > timeout_ms)
            return -ETIMEDOUT;
        Sleep(10);
    }
    if (read_small(rc, text, sizeof(text)) < 0)
        return -EIO;
    *status = atoi(text);
    return 0;
}

int fake_run_unix(const struct fake_config *c, const char *const *argv, DWORD timeout_ms,
                  int *status, char *out, size_t outn, struct evm_err *err)
{
    static volatile LONG counter;
    wchar_t rc[MAX_PATH + 64], logp[MAX_PATH + 72];
    _snwprintf(rc, sizeof(rc) / sizeof(rc[0]), L"%ls\\run-%lu-%ld.rc", c->state_dir,
               GetCurrentProcessId(), InterlockedIncrement(&counter));
    rc[sizeof(rc) / sizeof(rc[0]) - 1] = L'\0';
    _snwprintf(logp, sizeof(logp) / sizeof(logp[0]), L"%ls.log", rc);
    logp[sizeof(logp) / sizeof(logp[0]) - 1] = L'\0';
    ensure_state_dir(c);
    char *rc_unix = fake_unix_path(rc, err);
    if (!rc_unix)
        return -ENOTSUP;
    char cmd[8192];
    int r = build_sh_command(rc_unix, argv, cmd, sizeof(cmd));
    free(rc_unix);
    if (r < 0)
        return evm_errf(err, E2BIG, "the command line for %s is too long", argv[0]);
    wchar_t *wcmd = fake_w(cmd);
    if (!wcmd)
        return evm_errf(err, ENOMEM, "no memory");
    STARTUPINFOW si = {.cb = sizeof(si)};
    PROCESS_INFORMATION pi = {0};
    BOOL ok = CreateProcessW(NULL, wcmd, NULL, NULL, FALSE, CREATE_NO_WINDOW, NULL, NULL, &si, &pi);
    DWORD e = GetLastError();
    free(wcmd);
    if (!ok)
        return evm_errf(err, win_errno(e), "starting /bin/sh for %s: error %lu", argv[0], e);
    if (pi.hProcess) /* wine returns no handle for a Linux program; close one if it does */
        CloseHandle(pi.hProcess);
    if (pi.hThread)
        CloseHandle(pi.hThread);
    r = wait_status_file(rc, timeout_ms, status);
    if (out && outn)
        read_small(logp, out, outn);
    DeleteFileW(rc);
    DeleteFileW(logp);
    if (r == -ETIMEDOUT)
        return evm_errf(err, ETIMEDOUT, "%s did not finish in %lu ms", argv[0], timeout_ms);
    if (r < 0)
        return evm_errf(err, EIO, "reading the exit status of %s", argv[0]);
    return 0;
}

/* ---- the TCP protocol ---------------------------------------------------------------------- */

int fake_wsa_init(struct evm_err *err)
{
    WSADATA wd;
    int r = WSAStartup(MAKEWORD(2, 2), &wd);
    return r == 0 ? 0 : evm_errf(err, EIO, "WSAStartup: error %d", r);
}

int fake_tcp_connect(const char *hostport, SOCKET *out, struct evm_err *err)
{
    char host[64];
    const char *colon = strrchr(hostport, ':');
    if (!colon || (size_t)(colon - hostport) >= sizeof(host))
        return evm_errf(err, EINVAL, "'%s' is not host:port", hostport);
    snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
    long port = strtol(colon + 1, NULL, 10);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((u_short)port)};
    if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return evm_errf(err, EINVAL, "'%s' is not an IPv4 host:port", hostport);
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET)
        return evm_errf(err, EIO, "socket: error %d", WSAGetLastError());
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = WSAGetLastError();
        closesocket(s);
        return evm_errf(err, ECONNREFUSED, "connecting to %s: error %d", hostport, e);
    }
    BOOL one = TRUE;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof(one));
    *out = s;
    return 0;
}

int fake_send_all(SOCKET s, const void *buf, size_t len, struct evm_err *err)
{
    const char *p = buf;
    while (len) {
        int n = send(s, p, len > 65536 ? 65536 : (int)len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        int e = WSAGetLastError();
        if (n < 0 && e == WSAEWOULDBLOCK) {
            fd_set wr;
            FD_ZERO(&wr);
            FD_SET(s, &wr);
            struct timeval tv = {10, 0};
            if (select(0, NULL, &wr, NULL, &tv) == 1)
                continue;
            return evm_errf(err, ETIMEDOUT, "the peer did not read for 10 s");
        }
        return evm_errf(err, EPIPE, "send: error %d", e);
    }
    return 0;
}

int fake_send_json(SOCKET s, const cJSON *obj, struct evm_err *err)
{
    char *text = cJSON_PrintUnformatted(obj);
    if (!text)
        return evm_errf(err, ENOMEM, "printing a protocol line");
    size_t n = strlen(text);
    char *line = malloc(n + 2);
    int r;
    if (!line) {
        r = evm_errf(err, ENOMEM, "no memory");
    } else {
        memcpy(line, text, n);
        line[n] = '\n';
        r = fake_send_all(s, line, n + 1, err);
    }
    free(line);
    free(text);
    return r;
}

bool fake_lines_next(struct fake_lines *lb, char *line, size_t n)
{
    char *nl = memchr(lb->buf, '\n', lb->len);
    size_t take;
    if (nl)
        take = (size_t)(nl - lb->buf) + 1;
    else if (lb->len == sizeof(lb->buf))
        take = lb->len;
    else
        return false;
    size_t keep = take;
    while (keep && (lb->buf[keep - 1] == '\n' || lb->buf[keep - 1] == '\r'))
        keep--;
    size_t copy = keep < n - 1 ? keep : n - 1;
    memcpy(line, lb->buf, copy);
    line[copy] = '\0';
    memmove(lb->buf, lb->buf + take, lb->len - take);
    lb->len -= take;
    return true;
}

size_t fake_lines_room(const struct fake_lines *lb)
{
    return sizeof(lb->buf) - lb->len;
}
