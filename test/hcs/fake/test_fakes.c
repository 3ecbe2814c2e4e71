/* test_fakes.c — tests of the simulated HCS (computecore.dll, computenetwork.dll,
 * virtdisk.dll in this folder), run under wine. The DLLs read their configuration when they
 * load, so each scenario runs in a child process (this program with --child <name>) with
 * its own state directory and EVM_FAKE_HCS_INJECT; the parent's cmocka test of that name
 * passes when the child's does (the child's output is shown when it fails). The DLLs are
 * loaded with LoadLibraryExW from EVM_HCS_DLL_DIR, by default this program's directory. */
#include <winsock2.h>
#include <windows.h>
#include <objbase.h>
#include <ws2tcpip.h>

#include <computecore.h>
#include <computenetwork.h>
#include <virtdisk.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "testutil.h"

#define HR(x) ((HRESULT)(x))
#define HCS_E_TERMINATED_DURING_START HR(0x80370100L)
#define HCS_E_INVALID_STATE HR(0x80370105L)
#define HCS_E_INVALID_JSON HR(0x8037010DL)
#define HCS_E_SYSTEM_NOT_FOUND HR(0x8037010EL)
#define HCS_E_SYSTEM_ALREADY_EXISTS HR(0x8037010FL)
#define HCS_E_SYSTEM_ALREADY_STOPPED HR(0x80370110L)
#define HCS_E_OPERATION_NOT_STARTED HR(0x80370115L)
#define HCS_E_OPERATION_ALREADY_STARTED HR(0x80370116L)
#define HCS_E_OPERATION_PENDING HR(0x80370117L)
#define HCS_E_OPERATION_TIMEOUT HR(0x80370118L)
#define HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET HR(0x80370119L)
#define HCS_E_ACCESS_DENIED HR(0x8037011BL)
#define HCS_E_SERVICE_DISCONNECT HR(0x8037011EL)
#define HCN_E_NETWORK_NOT_FOUND HR(0x803B0001L)
#define HCN_E_ENDPOINT_NOT_FOUND HR(0x803B0002L)
#define ERROR_VIRTDISK_NOT_VIRTUAL_DISK_ 0xC03A0015UL
#define DEFAULT_SWITCH "C08CB7B8-9B3C-408E-8E30-5E16A3AEB444"
#define OP_WAIT_MS 10000

/* ---- the DLLs ---------------------------------------------------------------------------- */

#define API(name) __typeof__(name) *name
struct api {
    API(HcsCreateOperation);
    API(HcsCloseOperation);
    API(HcsWaitForOperationResult);
    API(HcsGetOperationResult);
    API(HcsCancelOperation);
    API(HcsCreateComputeSystem);
    API(HcsOpenComputeSystem);
    API(HcsCloseComputeSystem);
    API(HcsStartComputeSystem);
    API(HcsShutDownComputeSystem);
    API(HcsTerminateComputeSystem);
    API(HcsEnumerateComputeSystems);
    API(HcsGetComputeSystemProperties);
    API(HcsSetComputeSystemCallback);
    API(HcsGetServiceProperties);
    API(HcsGrantVmAccess);
    API(HcsRevokeVmAccess);
    API(HcnOpenNetwork);
    API(HcnCloseNetwork);
    API(HcnEnumerateNetworks);
    API(HcnQueryNetworkProperties);
    API(HcnCreateEndpoint);
    API(HcnOpenEndpoint);
    API(HcnQueryEndpointProperties);
    API(HcnDeleteEndpoint);
    API(HcnEnumerateEndpoints);
    API(HcnCloseEndpoint);
    API(CreateVirtualDisk);
    API(OpenVirtualDisk);
    API(GetVirtualDiskInformation);
    API(ResizeVirtualDisk);
};

/* One child's context: the DLLs and its state directory (Windows path, backslashes). */
struct tctx {
    struct api api;
    char state[MAX_PATH];
    unsigned seq;
};

static void exe_dir(char *out, size_t n)
{
    char self[MAX_PATH];
    DWORD len = GetModuleFileNameA(NULL, self, sizeof(self));
    assert_true(len > 0 && len < sizeof(self));
    char *slash = strrchr(self, '\\');
    if (slash)
        *slash = '\0';
    snprintf(out, n, "%s", self);
}

static HMODULE load_dll(const char *name)
{
    char dir[MAX_PATH], path[MAX_PATH * 2];
    DWORD n = GetEnvironmentVariableA("EVM_HCS_DLL_DIR", dir, sizeof(dir));
    if (n == 0 || n >= sizeof(dir))
        exe_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s\\%s", dir, name);
    HMODULE m = LoadLibraryExA(path, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
    if (!m)
        fail_msg("cannot load %s: error %lu", path, GetLastError());
    return m;
}

#define RESOLVE(mod, name)                                                                         \
    do {                                                                                           \
        FARPROC p_ = GetProcAddress(mod, #name);                                                   \
        if (!p_)                                                                                   \
            fail_msg("the fake does not export %s", #name);                                        \
        memcpy(&a->name, &p_, sizeof(p_));                                                         \
    } while (0)

static void load_api(struct api *a)
{
    HMODULE cc = load_dll("computecore.dll");
    HMODULE cn = load_dll("computenetwork.dll");
    HMODULE vd = load_dll("virtdisk.dll");
    RESOLVE(cc, HcsCreateOperation);
    RESOLVE(cc, HcsCloseOperation);
    RESOLVE(cc, HcsWaitForOperationResult);
    RESOLVE(cc, HcsGetOperationResult);
    RESOLVE(cc, HcsCancelOperation);
    RESOLVE(cc, HcsCreateComputeSystem);
    RESOLVE(cc, HcsOpenComputeSystem);
    RESOLVE(cc, HcsCloseComputeSystem);
    RESOLVE(cc, HcsStartComputeSystem);
    RESOLVE(cc, HcsShutDownComputeSystem);
    RESOLVE(cc, HcsTerminateComputeSystem);
    RESOLVE(cc, HcsEnumerateComputeSystems);
    RESOLVE(cc, HcsGetComputeSystemProperties);
    RESOLVE(cc, HcsSetComputeSystemCallback);
    RESOLVE(cc, HcsGetServiceProperties);
    RESOLVE(cc, HcsGrantVmAccess);
    RESOLVE(cc, HcsRevokeVmAccess);
    RESOLVE(cn, HcnOpenNetwork);
    RESOLVE(cn, HcnCloseNetwork);
    RESOLVE(cn, HcnEnumerateNetworks);
    RESOLVE(cn, HcnQueryNetworkProperties);
    RESOLVE(cn, HcnCreateEndpoint);
    RESOLVE(cn, HcnOpenEndpoint);
    RESOLVE(cn, HcnQueryEndpointProperties);
    RESOLVE(cn, HcnDeleteEndpoint);
    RESOLVE(cn, HcnEnumerateEndpoints);
    RESOLVE(cn, HcnCloseEndpoint);
    RESOLVE(vd, CreateVirtualDisk);
    RESOLVE(vd, OpenVirtualDisk);
    RESOLVE(vd, GetVirtualDiskInformation);
    RESOLVE(vd, ResizeVirtualDisk);
}

/* ---- strings and files ---------------------------------------------------------------------- */

static void to_w(wchar_t *out, size_t n, const char *s)
{
    if (MultiByteToWideChar(CP_UTF8, 0, s, -1, out, (int)n) <= 0)
        fail_msg("cannot widen %s", s);
}
#define W(buf, s) (to_w((buf), sizeof(buf) / sizeof((buf)[0]), (s)), (buf))

/* A result string as UTF-8 into out; frees it with free_fn. */
static void take(PWSTR w, char *out, size_t n, bool cotask)
{
    out[0] = '\0';
    if (!w)
        return;
    WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)n, NULL, NULL);
    if (cotask)
        CoTaskMemFree(w);
    else
        LocalFree(w);
}

static void path_in(const struct tctx *t, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s\\%s", t->state, name);
}

static void write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
    assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t got = fread(buf + len, 1, 4096, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static bool log_has(const struct tctx *t, const char *needle)
{
    char path[MAX_PATH];
    path_in(t, "calls.log", path, sizeof(path));
    char *text = read_text(path);
    bool found = text && strstr(text, needle);
    free(text);
    return found;
}

static void new_guid(char out[37])
{
    GUID g;
    assert_true(SUCCEEDED(CoCreateGuid(&g)));
    snprintf(out, 37, "%08lX-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", (unsigned long)g.Data1,
             g.Data2, g.Data3, g.Data4[0], g.Data4[1], g.Data4[2], g.Data4[3], g.Data4[4],
             g.Data4[5], g.Data4[6], g.Data4[7]);
}

static void make_boot_files(const struct tctx *t, char *kernel, char *initrd, size_t n)
{
    path_in(t, "vmlinuz", kernel, n);
    path_in(t, "initrd.img", initrd, n);
    write_file(kernel, "not a kernel: the fake boots nothing");
    write_file(initrd, "not an initrd");
}

static HRESULT grant(struct tctx *t, const char *id, const char *path)
{
    wchar_t wid[64], wpath[MAX_PATH];
    return t->api.HcsGrantVmAccess(W(wid, id), W(wpath, path));
}

/* ---- operations ---------------------------------------------------------------------------------
 */

static HRESULT wait_op(struct tctx *t, HCS_OPERATION op, DWORD ms, char *doc, size_t n)
{
    PWSTR result = NULL;
    HRESULT hr = t->api.HcsWaitForOperationResult(op, ms, &result);
    char scratch[64];
    take(result, doc ? doc : scratch, doc ? n : sizeof(scratch), false);
    return hr;
}

enum sysop { OP_START, OP_SHUTDOWN, OP_TERMINATE };

/* Runs one operation to its end: create, call (S_OK expected), wait, close. */
static HRESULT sys_op(struct tctx *t, HCS_SYSTEM cs, enum sysop which, char *doc, size_t n)
{
    HCS_OPERATION op = t->api.HcsCreateOperation(NULL, NULL);
    assert_non_null(op);
    HRESULT call = which == OP_START      ? t->api.HcsStartComputeSystem(cs, op, NULL)
                   : which == OP_SHUTDOWN ? t->api.HcsShutDownComputeSystem(cs, op, NULL)
                                          : t->api.HcsTerminateComputeSystem(cs, op, NULL);
    HRESULT hr = call == S_OK ? wait_op(t, op, OP_WAIT_MS, doc, n) : call;
    t->api.HcsCloseOperation(op);
    return hr;
}

static HCS_SYSTEM create(struct tctx *t, const char *id, const char *json, HRESULT *hr, char *doc,
                         size_t n)
{
    wchar_t wid[64];
    size_t len = strlen(json) + 1;
    wchar_t *wjson = malloc(len * sizeof(wchar_t));
    assert_non_null(wjson);
    to_w(wjson, len, json);
    HCS_OPERATION op = t->api.HcsCreateOperation(NULL, NULL);
    HCS_SYSTEM cs = NULL;
    assert_int_equal(t->api.HcsCreateComputeSystem(W(wid, id), wjson, op, NULL, &cs), S_OK);
    assert_non_null(cs);
    *hr = wait_op(t, op, OP_WAIT_MS, doc, n);
    t->api.HcsCloseOperation(op);
    free(wjson);
    return cs;
}

static char *enumerate(struct tctx *t, const char *query)
{
    wchar_t wq[256];
    char *out = malloc(1 << 16);
    assert_non_null(out);
    HCS_OPERATION op = t->api.HcsCreateOperation(NULL, NULL);
    assert_int_equal(t->api.HcsEnumerateComputeSystems(query ? W(wq, query) : NULL, op), S_OK);
    assert_int_equal(wait_op(t, op, OP_WAIT_MS, out, 1 << 16), S_OK);
    t->api.HcsCloseOperation(op);
    return out;
}

static bool enum_has(struct tctx *t, const char *id, const char *state)
{
    char *text = enumerate(t, "{\"Owners\":[\"ephemerd\"]}");
    char want[128];
    snprintf(want, sizeof(want), "\"Id\":\"%s\"", id);
    char *at = strstr(text, want);
    bool ok = at && (!state || (strstr(at, state) && strstr(at, state) < strstr(at, "}")));
    free(text);
    return ok;
}

/* ---- events -------------------------------------------------------------------------------------
 */

struct events {
    CRITICAL_SECTION lock;
    HANDLE signal;  /* set on every event */
    HANDLE entered; /* set when a callback starts */
    DWORD sleep_ms; /* each callback sleeps this long (drain test) */
    volatile LONG returned;
    unsigned n;
    HCS_EVENT_TYPE type[16];
    char data[16][1024];
};

static void CALLBACK on_event(HCS_EVENT *e, void *ctx)
{
    struct events *ev = ctx;
    SetEvent(ev->entered);
    if (ev->sleep_ms)
        Sleep(ev->sleep_ms);
    EnterCriticalSection(&ev->lock);
    if (ev->n < 16) {
        ev->type[ev->n] = e->Type;
        ev->data[ev->n][0] = '\0';
        if (e->EventData)
            WideCharToMultiByte(CP_UTF8, 0, e->EventData, -1, ev->data[ev->n], 1024, NULL, NULL);
        ev->n++;
    }
    LeaveCriticalSection(&ev->lock);
    InterlockedIncrement(&ev->returned);
    SetEvent(ev->signal);
}

static void events_init(struct events *ev)
{
    memset(ev, 0, sizeof(*ev));
    InitializeCriticalSection(&ev->lock);
    ev->signal = CreateEventW(NULL, FALSE, FALSE, NULL);
    ev->entered = CreateEventW(NULL, FALSE, FALSE, NULL);
}

/* Waits until an event of that type arrived; returns its index, -1 after ms. */
static int wait_event(struct events *ev, HCS_EVENT_TYPE type, DWORD ms)
{
    DWORD start = GetTickCount();
    for (;;) {
        EnterCriticalSection(&ev->lock);
        int found = -1;
        for (unsigned i = 0; i < ev->n && found < 0; i++)
            if (ev->type[i] == type)
                found = (int)i;
        LeaveCriticalSection(&ev->lock);
        if (found >= 0)
            return found;
        DWORD spent = GetTickCount() - start;
        if (spent >= ms)
            return -1;
        WaitForSingleObject(ev->signal, ms - spent);
    }
}

static void set_callback(struct tctx *t, HCS_SYSTEM cs, struct events *ev)
{
    assert_int_equal(t->api.HcsSetComputeSystemCallback(cs, HcsEventOptionNone, ev, on_event),
                     S_OK);
}

/* ---- the document -------------------------------------------------------------------------------
 */

struct docp {
    const char *kernel, *initrd, *pipe, *disk, *endpoint;
    bool stolhc;
    unsigned port;
    unsigned minor;
    char boot_id[33];
};

static cJSON *obj(cJSON *parent, const char *name)
{
    cJSON *o = cJSON_AddObjectToObject(parent, name);
    assert_non_null(o);
    return o;
}

static cJSON *make_doc(const struct docp *p)
{
    char cmdline[512];
    snprintf(cmdline, sizeof(cmdline),
             "rdinit=/init ephemerd.containerd_port=%u ephemerd.root_disk=/dev/sda "
             "ephemerd.boot_id=%s panic=-1 console=ttyS0,115200 8250_core.nr_uarts=1 pci=off",
             p->port ? p->port : 10000, p->boot_id);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "Owner", "ephemerd");
    cJSON *sv = obj(d, "SchemaVersion");
    cJSON_AddNumberToObject(sv, "Major", 2);
    cJSON_AddNumberToObject(sv, "Minor", p->minor ? p->minor : 3);
    cJSON_AddBoolToObject(d, "ShouldTerminateOnLastHandleClosed", p->stolhc);
    cJSON *vm = obj(d, "VirtualMachine");
    cJSON_AddBoolToObject(vm, "StopOnReset", true);
    cJSON *chipset = obj(vm, "Chipset");
    cJSON_AddBoolToObject(chipset, "UseUtc", true);
    cJSON *kd = obj(chipset, "LinuxKernelDirect");
    cJSON_AddStringToObject(kd, "KernelFilePath", p->kernel);
    cJSON_AddStringToObject(kd, "InitRdPath", p->initrd);
    cJSON_AddStringToObject(kd, "KernelCmdLine", cmdline);
    cJSON *topo = obj(vm, "ComputeTopology");
    cJSON *mem = obj(topo, "Memory");
    cJSON_AddNumberToObject(mem, "SizeInMB", 1024);
    cJSON_AddBoolToObject(mem, "AllowOvercommit", true);
    cJSON_AddBoolToObject(mem, "EnableDeferredCommit", true);
    cJSON_AddNumberToObject(obj(topo, "Processor"), "Count", 1);
    cJSON *dev = obj(vm, "Devices");
    if (p->disk) {
        cJSON *att = obj(
            obj(obj(obj(dev, "Scsi"), "df6d0690-79e5-55b6-a5ec-c1e2f77f580a"), "Attachments"), "0");
        cJSON_AddStringToObject(att, "Type", "VirtualDisk");
        cJSON_AddStringToObject(att, "Path", p->disk);
        cJSON_AddBoolToObject(att, "ReadOnly", false);
    }
    if (p->endpoint) {
        cJSON *nic = obj(obj(dev, "NetworkAdapters"), p->endpoint);
        cJSON_AddStringToObject(nic, "EndpointId", p->endpoint);
        cJSON_AddStringToObject(nic, "MacAddress", "00-15-5D-12-34-56");
    }
    if (p->pipe)
        cJSON_AddStringToObject(obj(obj(dev, "ComPorts"), "0"), "NamedPipe", p->pipe);
    return d;
}

static char *print_doc(cJSON *d)
{
    char *s = cJSON_Print(d);
    assert_non_null(s);
    cJSON_Delete(d);
    return s;
}

/* A document whose files exist and are granted to id (when grant_all). */
static void basic_params(struct tctx *t, const char *id, struct docp *p, char *kernel, char *initrd,
                         size_t n, bool grant_all)
{
    memset(p, 0, sizeof(*p));
    make_boot_files(t, kernel, initrd, n);
    p->kernel = kernel;
    p->initrd = initrd;
    snprintf(p->boot_id, sizeof(p->boot_id), "0123456789abcdef0123456789abcdef");
    if (grant_all) {
        assert_int_equal(grant(t, id, kernel), S_OK);
        assert_int_equal(grant(t, id, initrd), S_OK);
    }
}

/* ---- the COM1 pipe server and guest ports -------------------------------------------------- */

struct pipe_server {
    HANDLE h;
    OVERLAPPED ov;
    char name[128];
    char buf[8192];
    size_t len;
};

static void pipe_listen(struct tctx *t, struct pipe_server *ps)
{
    wchar_t w[128];
    snprintf(ps->name, sizeof(ps->name), "\\\\.\\pipe\\evm-fake-test-%lu-%u", GetCurrentProcessId(),
             t->seq++);
    ps->h =
        CreateNamedPipeW(W(w, ps->name), PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                         PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1, 4096, 4096, 0, NULL);
    assert_true(ps->h != INVALID_HANDLE_VALUE);
    memset(&ps->ov, 0, sizeof(ps->ov));
    ps->ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    BOOL ok = ConnectNamedPipe(ps->h, &ps->ov);
    DWORD e = GetLastError();
    assert_true(!ok && (e == ERROR_IO_PENDING || e == ERROR_PIPE_CONNECTED));
    if (e == ERROR_PIPE_CONNECTED)
        SetEvent(ps->ov.hEvent);
}

static bool pipe_connected(struct pipe_server *ps, DWORD ms)
{
    return WaitForSingleObject(ps->ov.hEvent, ms) == WAIT_OBJECT_0;
}

/* Reads until a line containing needle arrives (true), EOF or ms pass (false). */
static bool pipe_read_until(struct pipe_server *ps, const char *needle, DWORD ms, bool *eof)
{
    DWORD start = GetTickCount();
    *eof = false;
    for (;;) {
        ps->buf[ps->len] = '\0';
        if (needle && strstr(ps->buf, needle))
            return true;
        DWORD spent = GetTickCount() - start;
        if (spent >= ms || ps->len + 1 >= sizeof(ps->buf))
            return false;
        OVERLAPPED ov = {.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL)};
        DWORD got = 0;
        BOOL ok =
            ReadFile(ps->h, ps->buf + ps->len, (DWORD)(sizeof(ps->buf) - 1 - ps->len), NULL, &ov);
        DWORD e = ok ? 0 : GetLastError();
        if (!ok && e == ERROR_IO_PENDING &&
            WaitForSingleObject(ov.hEvent, ms - spent) != WAIT_OBJECT_0) {
            CancelIoEx(ps->h, &ov);
            GetOverlappedResult(ps->h, &ov, &got, TRUE);
            CloseHandle(ov.hEvent);
            return false;
        }
        ok = (ok || e == ERROR_IO_PENDING) && GetOverlappedResult(ps->h, &ov, &got, TRUE);
        e = ok ? 0 : GetLastError();
        CloseHandle(ov.hEvent);
        if (!ok) {
            *eof = e == ERROR_BROKEN_PIPE;
            return false;
        }
        ps->len += got;
    }
}

static void pipe_write(struct pipe_server *ps, const char *text)
{
    OVERLAPPED ov = {.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL)};
    DWORD wrote = 0;
    if (!WriteFile(ps->h, text, (DWORD)strlen(text), NULL, &ov))
        assert_int_equal(GetLastError(), ERROR_IO_PENDING);
    assert_true(GetOverlappedResult(ps->h, &ov, &wrote, TRUE));
    assert_int_equal(wrote, strlen(text));
    CloseHandle(ov.hEvent);
}

static void pipe_close(struct pipe_server *ps)
{
    CloseHandle(ps->h);
    CloseHandle(ps->ov.hEvent);
}

/* Two free consecutive loopback ports (containerd, dispatch). */
static unsigned free_ports(void)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        SOCKET a = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        SOCKET b = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        struct sockaddr_in sa = {.sin_family = AF_INET};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int len = sizeof(sa);
        bool ok = bind(a, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
                  getsockname(a, (struct sockaddr *)&sa, &len) == 0;
        unsigned port = ntohs(sa.sin_port);
        sa.sin_port = htons((u_short)(port + 1));
        ok = ok && port < 65535 && bind(b, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        closesocket(a);
        closesocket(b);
        if (ok)
            return port;
    }
    fail_msg("no two free consecutive ports");
    return 0;
}

static bool port_open(unsigned port)
{
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((u_short)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    closesocket(s);
    return ok;
}

/* Whether nothing listens on the port any more within ms (the guest's end is asynchronous). */
static bool port_closes(unsigned port, DWORD ms)
{
    DWORD start = GetTickCount();
    while (port_open(port)) {
        if (GetTickCount() - start > ms)
            return false;
        Sleep(50);
    }
    return true;
}

/* Creates, registers the callback and starts a VM from p; asserts each step succeeds. */
static HCS_SYSTEM start_vm(struct tctx *t, const char *id, const struct docp *p, struct events *ev)
{
    char doc[2048];
    HRESULT hr;
    char *json = print_doc(make_doc(p));
    HCS_SYSTEM cs = create(t, id, json, &hr, doc, sizeof(doc));
    free(json);
    assert_int_equal(hr, S_OK);
    if (ev)
        set_callback(t, cs, ev);
    hr = sys_op(t, cs, OP_START, doc, sizeof(doc));
    if (hr != S_OK)
        fail_msg("start: 0x%08lX %s", (unsigned long)hr, doc);
    return cs;
}

/* ==== scenarios: computecore ====================================================================
 */

/* A valid document: created, started, the console connected to the host's pipe server; the
 * simulated guest reports its address, listens on its ports, honours the stop request, and
 * the exit event carries a GracefulExit SystemExitStatus. */
static void lifecycle_graceful(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH], line[128], doc[4096];
    struct docp p;
    struct events ev;
    struct pipe_server ps;
    bool eof;
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), true);
    p.stolhc = true;
    p.port = free_ports();
    pipe_listen(t, &ps);
    p.pipe = ps.name;
    events_init(&ev);
    HCS_SYSTEM cs = start_vm(t, id, &p, &ev);
    assert_true(pipe_connected(&ps, 5000));
    assert_true(log_has(t, "COM1: connected as a client"));
    snprintf(line, sizeof(line), "EPHEMERD_IP=127.0.0.1 boot_id=%s", p.boot_id);
    assert_true(pipe_read_until(&ps, line, 10000, &eof));
    assert_non_null(strstr(ps.buf, "\r\n")); /* a serial console's line ends */
    assert_true(port_open(p.port));
    assert_true(port_open(p.port + 1));
    assert_true(enum_has(t, id, "Running"));
    snprintf(line, sizeof(line), "EPHEMERD_STOP boot_id=%s\n", p.boot_id);
    pipe_write(&ps, line);
    assert_false(pipe_read_until(&ps, NULL, 10000, &eof));
    assert_true(eof); /* the VM's end closes the pipe */
    assert_non_null(strstr(ps.buf, "EPHEMERD_EXIT status=0"));
    int i = wait_event(&ev, HcsEventSystemExited, 10000);
    assert_true(i >= 0);
    assert_string_equal(ev.data[i], "{\"Status\":0,\"ExitType\":\"GracefulExit\"}");
    assert_int_equal(sys_op(t, cs, OP_TERMINATE, doc, sizeof(doc)), HCS_E_SYSTEM_ALREADY_STOPPED);
    t->api.HcsCloseComputeSystem(cs);
    assert_false(enum_has(t, id, NULL));
    pipe_close(&ps);
}

/* HcsGetServiceProperties claims schema 2.1 .. 2.5 by default, in the real document shape. */
static void service_properties(void **state)
{
    struct tctx *t = *state;
    PWSTR result = NULL;
    char text[1024];
    wchar_t q[128];
    assert_int_equal(
        t->api.HcsGetServiceProperties(W(q, "{\"PropertyTypes\":[\"Basic\"]}"), &result), S_OK);
    take(result, text, sizeof(text), false);
    assert_string_equal(text, "{\"Properties\":[{\"SupportedSchemaVersions\":["
                              "{\"Major\":2,\"Minor\":1},{\"Major\":2,\"Minor\":2},"
                              "{\"Major\":2,\"Minor\":3},{\"Major\":2,\"Minor\":4},"
                              "{\"Major\":2,\"Minor\":5}]}]}");
    assert_int_equal(
        t->api.HcsGetServiceProperties(W(q, "{\"PropertyTypes\":[\"Basic\"],\"X\":1}"), &result),
        HCS_E_INVALID_JSON);
    take(result, text, sizeof(text), false);
    assert_non_null(strstr(text, "\"ErrorMessage\""));
}

/* EVM_FAKE_HCS_MAX_SCHEMA=2.1: only 2.1 is claimed, and LinuxKernelDirect (2.2) is unknown. */
static void max_schema_2_1(void **state)
{
    struct tctx *t = *state;
    PWSTR result = NULL;
    char text[1024], id[37], kernel[MAX_PATH], initrd[MAX_PATH];
    struct docp p;
    HRESULT hr;
    assert_int_equal(t->api.HcsGetServiceProperties(NULL, &result), S_OK);
    take(result, text, sizeof(text), false);
    assert_string_equal(
        text, "{\"Properties\":[{\"SupportedSchemaVersions\":[{\"Major\":2,\"Minor\":1}]}]}");
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), false);
    p.minor = 1;
    char *json = print_doc(make_doc(&p));
    HCS_SYSTEM cs = create(t, id, json, &hr, text, sizeof(text));
    free(json);
    assert_int_equal(hr, HCS_E_INVALID_JSON);
    assert_non_null(strstr(text, "LinuxKernelDirect: it appeared in schema 2.2"));
    t->api.HcsCloseComputeSystem(cs);
}

/* Not JSON: HCS_E_INVALID_JSON with a ResultError document; the handle refers to nothing. */
static void invalid_json(void **state)
{
    struct tctx *t = *state;
    char id[37], doc[2048];
    HRESULT hr;
    new_guid(id);
    HCS_SYSTEM cs = create(t, id, "{\"SchemaVersion\": {", &hr, doc, sizeof(doc));
    assert_int_equal(hr, HCS_E_INVALID_JSON);
    cJSON *r = cJSON_Parse(doc);
    assert_non_null(r);
    assert_int_equal((int32_t)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "Error")),
                     (int32_t)HCS_E_INVALID_JSON);
    assert_non_null(
        strstr(cJSON_GetStringValue(cJSON_GetObjectItem(r, "ErrorMessage")), "not valid JSON"));
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(r, "ErrorEvents")));
    cJSON_Delete(r);
    assert_int_equal(sys_op(t, cs, OP_START, doc, sizeof(doc)), HCS_E_SYSTEM_NOT_FOUND);
    t->api.HcsCloseComputeSystem(cs);
}

/* Each bad document is refused at create with HCS_E_INVALID_JSON and names what is wrong. */
static void expect_refused(struct tctx *t, cJSON *d, const char *why)
{
    char id[37], doc[2048];
    HRESULT hr;
    new_guid(id);
    char *json = print_doc(d);
    HCS_SYSTEM cs = create(t, id, json, &hr, doc, sizeof(doc));
    free(json);
    if (hr != HCS_E_INVALID_JSON || !strstr(doc, why))
        fail_msg("expected HCS_E_INVALID_JSON naming '%s', got 0x%08lX %s", why, (unsigned long)hr,
                 doc);
    t->api.HcsCloseComputeSystem(cs);
}

static cJSON *at(cJSON *d, const char *a, const char *b, const char *c)
{
    cJSON *o = cJSON_GetObjectItem(d, a);
    if (b)
        o = cJSON_GetObjectItem(o, b);
    if (c)
        o = cJSON_GetObjectItem(o, c);
    assert_non_null(o);
    return o;
}

static void unknown_and_missing_fields(void **state)
{
    struct tctx *t = *state;
    char kernel[MAX_PATH], initrd[MAX_PATH];
    struct docp p;
    basic_params(t, "x", &p, kernel, initrd, sizeof(kernel), false);
    cJSON *d = make_doc(&p);
    cJSON *kd = at(d, "VirtualMachine", "Chipset", "LinuxKernelDirect");
    cJSON_AddStringToObject(kd, "KernelFilepath", "C:\\x");
    expect_refused(t, d, "misspelled: the schema's name is KernelFilePath");
    d = make_doc(&p);
    cJSON_AddBoolToObject(d, "Foo", true);
    expect_refused(t, d, "unknown field (document).Foo");
    d = make_doc(&p);
    cJSON_AddBoolToObject(at(d, "VirtualMachine", NULL, NULL), "StopOnReset", true);
    expect_refused(t, d, "StopOnReset twice");
    d = make_doc(&p);
    cJSON_DeleteItemFromObject(d, "SchemaVersion");
    expect_refused(t, d, "missing required field SchemaVersion");
    d = make_doc(&p);
    cJSON_DeleteItemFromObject(d, "VirtualMachine");
    expect_refused(t, d, "missing required field VirtualMachine");
    d = make_doc(&p);
    cJSON_DeleteItemFromObject(at(d, "VirtualMachine", "Chipset", "LinuxKernelDirect"),
                               "KernelFilePath");
    expect_refused(
        t, d, "missing required field VirtualMachine.Chipset.LinuxKernelDirect.KernelFilePath");
    d = make_doc(&p);
    cJSON_DeleteItemFromObject(at(d, "VirtualMachine", "ComputeTopology", "Memory"), "SizeInMB");
    expect_refused(t, d, "missing required field VirtualMachine.ComputeTopology.Memory.SizeInMB");
    d = make_doc(&p);
    cJSON_DeleteItemFromObject(at(d, "VirtualMachine", "ComputeTopology", "Processor"), "Count");
    expect_refused(t, d, "missing required field VirtualMachine.ComputeTopology.Processor.Count");
    d = make_doc(&p);
    cJSON_ReplaceItemInObject(at(d, "VirtualMachine", "ComputeTopology", "Memory"), "SizeInMB",
                              cJSON_CreateNumber(1025));
    expect_refused(t, d, "SizeInMB=1025 is odd");
    d = make_doc(&p);
    cJSON_ReplaceItemInObject(at(d, "VirtualMachine", "ComputeTopology", "Memory"), "SizeInMB",
                              cJSON_CreateString("1024"));
    expect_refused(t, d, "SizeInMB must be a non-negative integer");
    p.minor = 6;
    expect_refused(t, make_doc(&p), "SchemaVersion 2.6 is above what this host supports");
}

/* Plan9 is valid HCS but the fake refuses it as not simulated (E_NOTIMPL). */
static void not_simulated_field(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH], doc[2048];
    struct docp p;
    HRESULT hr;
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), false);
    cJSON *d = make_doc(&p);
    cJSON_AddObjectToObject(at(d, "VirtualMachine", "Devices", NULL), "Plan9");
    char *json = print_doc(d);
    HCS_SYSTEM cs = create(t, id, json, &hr, doc, sizeof(doc));
    free(json);
    assert_int_equal(hr, E_NOTIMPL);
    assert_non_null(strstr(doc, "Plan9"));
    t->api.HcsCloseComputeSystem(cs);
}

/* Files not granted to the VM (or replaced since) make the start fail with 0x80370110. */
static void grants_checked_at_start(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH], doc[2048], tmp[MAX_PATH];
    struct docp p;
    HRESULT hr;
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), false);
    p.stolhc = true;
    char *json = print_doc(make_doc(&p));
    HCS_SYSTEM cs = create(t, id, json, &hr, doc, sizeof(doc));
    assert_int_equal(hr, S_OK);
    assert_int_equal(sys_op(t, cs, OP_START, doc, sizeof(doc)), HCS_E_SYSTEM_ALREADY_STOPPED);
    assert_non_null(strstr(doc, "KernelFilePath"));
    assert_non_null(strstr(doc, "was not granted"));
    t->api.HcsCloseComputeSystem(cs);
    /* Granted, then the initrd rebuilt and renamed over: the grant is gone with the old file. */
    new_guid(id);
    assert_int_equal(grant(t, id, kernel), S_OK);
    assert_int_equal(grant(t, id, initrd), S_OK);
    path_in(t, "initrd.new", tmp, sizeof(tmp));
    write_file(tmp, "a rebuilt initrd");
    assert_true(MoveFileExA(tmp, initrd, MOVEFILE_REPLACE_EXISTING));
    cs = create(t, id, json, &hr, doc, sizeof(doc));
    assert_int_equal(hr, S_OK);
    assert_int_equal(sys_op(t, cs, OP_START, doc, sizeof(doc)), HCS_E_SYSTEM_ALREADY_STOPPED);
    assert_non_null(strstr(doc, "InitRdPath"));
    assert_non_null(strstr(doc, "was replaced after HcsGrantVmAccess"));
    t->api.HcsCloseComputeSystem(cs);
    /* Granted again: the start works. A path that does not exist cannot be granted. */
    new_guid(id);
    assert_int_equal(grant(t, id, kernel), S_OK);
    assert_int_equal(grant(t, id, initrd), S_OK);
    path_in(t, "missing", tmp, sizeof(tmp));
    assert_int_equal(grant(t, id, tmp), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    cs = create(t, id, json, &hr, doc, sizeof(doc));
    assert_int_equal(sys_op(t, cs, OP_START, doc, sizeof(doc)), S_OK);
    t->api.HcsCloseComputeSystem(cs);
    free(json);
}

static void callback_already_set(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH], doc[2048];
    struct docp p;
    struct events ev;
    HRESULT hr;
    wchar_t wid[64];
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), false);
    events_init(&ev);
    char *json = print_doc(make_doc(&p));
    HCS_SYSTEM cs = create(t, id, json, &hr, doc, sizeof(doc));
    free(json);
    set_callback(t, cs, &ev);
    assert_int_equal(t->api.HcsSetComputeSystemCallback(cs, HcsEventOptionNone, &ev, on_event),
                     HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET);
    HCS_SYSTEM other = NULL;
    assert_int_equal(t->api.HcsOpenComputeSystem(W(wid, id), GENERIC_ALL, &other), S_OK);
    assert_int_equal(t->api.HcsSetComputeSystemCallback(other, HcsEventOptionNone, &ev, on_event),
                     S_OK);
    t->api.HcsCloseComputeSystem(other);
    t->api.HcsCloseComputeSystem(cs);
}

/* Operations: not started, reused, cancelled, their completion callback, a closed handle. */
static void CALLBACK on_op_done(HCS_OPERATION op, void *ctx)
{
    (void)op;
    SetEvent(ctx);
}

static void operation_semantics(void **state)
{
    struct tctx *t = *state;
    HANDLE done = CreateEventW(NULL, TRUE, FALSE, NULL);
    HCS_OPERATION op = t->api.HcsCreateOperation(done, on_op_done);
    assert_int_equal(wait_op(t, op, 0, NULL, 0), HCS_E_OPERATION_NOT_STARTED);
    assert_int_equal(t->api.HcsCancelOperation(op), E_NOTIMPL);
    assert_int_equal(t->api.HcsEnumerateComputeSystems(NULL, op), S_OK);
    assert_int_equal(t->api.HcsEnumerateComputeSystems(NULL, op), HCS_E_OPERATION_ALREADY_STARTED);
    assert_int_equal(WaitForSingleObject(done, 5000), WAIT_OBJECT_0);
    char doc[256];
    assert_int_equal(wait_op(t, op, 0, doc, sizeof(doc)), S_OK);
    assert_string_equal(doc, "[]");
    t->api.HcsCloseOperation(op);
    assert_int_equal(wait_op(t, op, 0, NULL, 0), E_HANDLE);
    /* A bad SystemQuery fails in the operation. */
    wchar_t q[64];
    op = t->api.HcsCreateOperation(NULL, NULL);
    assert_int_equal(t->api.HcsEnumerateComputeSystems(W(q, "{\"Owner\":[\"x\"]}"), op), S_OK);
    assert_int_equal(wait_op(t, op, OP_WAIT_MS, doc, sizeof(doc)), HCS_E_INVALID_JSON);
    t->api.HcsCloseOperation(op);
    CloseHandle(done);
}

/* A stopped VM refuses a second stop; a VM never started can be terminated once. */
static void duplicate_stop(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH], doc[2048];
    struct docp p;
    struct events ev;
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), true);
    p.port = free_ports();
    p.stolhc = true;
    events_init(&ev);
    HCS_SYSTEM cs = start_vm(t, id, &p, &ev);
    assert_int_equal(sys_op(t, cs, OP_TERMINATE, doc, sizeof(doc)), S_OK);
    int i = wait_event(&ev, HcsEventSystemExited, 5000);
    assert_true(i >= 0);
    assert_string_equal(ev.data[i], "{\"Status\":0,\"ExitType\":\"ForcedExit\"}");
    assert_int_equal(sys_op(t, cs, OP_TERMINATE, doc, sizeof(doc)), HCS_E_SYSTEM_ALREADY_STOPPED);
    assert_int_equal(sys_op(t, cs, OP_SHUTDOWN, doc, sizeof(doc)), HCS_E_SYSTEM_ALREADY_STOPPED);
    assert_int_equal(sys_op(t, cs, OP_START, doc, sizeof(doc)), HCS_E_INVALID_STATE);
    t->api.HcsCloseComputeSystem(cs);
}

/* No pipe server when the VM starts: nothing is created, the console is lost, and said so. */
static void console_lost_without_server(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH], doc[2048];
    struct docp p;
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), true);
    p.port = free_ports();
    p.stolhc = true;
    p.pipe = "\\\\.\\pipe\\evm-fake-test-nobody-listens";
    HCS_SYSTEM cs = start_vm(t, id, &p, NULL);
    assert_true(log_has(
        t, "COM1: console lost: no pipe server at \\\\.\\pipe\\evm-fake-test-nobody-listens"));
    wchar_t w[64];
    HANDLE h = CreateFileW(W(w, p.pipe), GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
    assert_true(h == INVALID_HANDLE_VALUE);                /* the fake did not create the pipe */
    assert_true(log_has(t, "note HcsStartComputeSystem")); /* no callback: warned */
    assert_int_equal(sys_op(t, cs, OP_TERMINATE, doc, sizeof(doc)), S_OK);
    t->api.HcsCloseComputeSystem(cs);
}

/* HcsCloseComputeSystem waits for a callback in flight and delivers nothing after. */
static void close_drains_callbacks(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH];
    struct docp p;
    struct events ev;
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), true);
    p.port = free_ports();
    events_init(&ev);
    ev.sleep_ms = 2000;
    HCS_SYSTEM cs = start_vm(t, id, &p, &ev);
    HCS_OPERATION op = t->api.HcsCreateOperation(NULL, NULL);
    assert_int_equal(t->api.HcsTerminateComputeSystem(cs, op, NULL), S_OK);
    assert_int_equal(WaitForSingleObject(ev.entered, 5000), WAIT_OBJECT_0);
    assert_int_equal(ev.returned, 0); /* the exit callback is sleeping */
    t->api.HcsCloseComputeSystem(cs);
    assert_int_equal(ev.returned, 1); /* close returned only after it */
    assert_int_equal(wait_op(t, op, OP_WAIT_MS, NULL, 0), S_OK);
    t->api.HcsCloseOperation(op);
    Sleep(200);
    assert_int_equal(ev.n, 1);
    assert_true(log_has(t, "(waited for callbacks in flight)"));
}

/* ShouldTerminateOnLastHandleClosed: the last handle's close ends the VM; without it, the
 * VM keeps running and can be opened again by id. */
static void last_handle(void **state)
{
    struct tctx *t = *state;
    char id[37], id2[37], kernel[MAX_PATH], initrd[MAX_PATH], doc[2048];
    struct docp p;
    wchar_t wid[64];
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), true);
    p.port = free_ports();
    p.stolhc = true;
    HCS_SYSTEM cs = start_vm(t, id, &p, NULL);
    HCS_SYSTEM second = NULL;
    assert_int_equal(t->api.HcsOpenComputeSystem(W(wid, id), GENERIC_ALL, &second), S_OK);
    t->api.HcsCloseComputeSystem(cs);
    assert_true(enum_has(t, id, "Running"));
    assert_true(port_open(p.port));
    t->api.HcsCloseComputeSystem(second);
    assert_false(enum_has(t, id, NULL));
    assert_true(port_closes(p.port, 3000)); /* the simulated guest is gone */

    new_guid(id2);
    assert_int_equal(grant(t, id2, kernel), S_OK);
    assert_int_equal(grant(t, id2, initrd), S_OK);
    p.stolhc = false;
    p.port = free_ports();
    cs = start_vm(t, id2, &p, NULL);
    t->api.HcsCloseComputeSystem(cs);
    assert_true(enum_has(t, id2, "Running"));
    assert_int_equal(t->api.HcsOpenComputeSystem(W(wid, id2), GENERIC_ALL, &cs), S_OK);
    assert_int_equal(sys_op(t, cs, OP_TERMINATE, doc, sizeof(doc)), S_OK);
    t->api.HcsCloseComputeSystem(cs);
    assert_false(enum_has(t, id2, NULL));
    assert_int_equal(t->api.HcsOpenComputeSystem(W(wid, id2), GENERIC_ALL, &cs),
                     HCS_E_SYSTEM_NOT_FOUND);
}

static void duplicate_id(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH], doc[2048];
    struct docp p;
    HRESULT hr;
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), false);
    char *json = print_doc(make_doc(&p));
    HCS_SYSTEM a = create(t, id, json, &hr, doc, sizeof(doc));
    assert_int_equal(hr, S_OK);
    HCS_SYSTEM b = create(t, id, json, &hr, doc, sizeof(doc));
    assert_int_equal(hr, HCS_E_SYSTEM_ALREADY_EXISTS);
    t->api.HcsCloseComputeSystem(b);
    t->api.HcsCloseComputeSystem(a);
    free(json);
}

/* A NIC whose endpoint does not exist fails the start; with the endpoint it starts. */
static void endpoint_checked_at_start(void **state)
{
    struct tctx *t = *state;
    char id[37], ep[37], kernel[MAX_PATH], initrd[MAX_PATH], doc[2048], settings[256];
    struct docp p;
    HRESULT hr;
    new_guid(id);
    new_guid(ep);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), true);
    p.endpoint = ep;
    p.stolhc = true;
    p.port = free_ports();
    char *json = print_doc(make_doc(&p));
    HCS_SYSTEM cs = create(t, id, json, &hr, doc, sizeof(doc));
    assert_int_equal(hr, S_OK);
    assert_int_equal(sys_op(t, cs, OP_START, doc, sizeof(doc)), HCN_E_ENDPOINT_NOT_FOUND);
    t->api.HcsCloseComputeSystem(cs);
    GUID net, epg;
    wchar_t w[256];
    HCN_NETWORK n = NULL;
    HCN_ENDPOINT e = NULL;
    PWSTR err = NULL;
    assert_int_equal(CLSIDFromString(W(w, "{" DEFAULT_SWITCH "}"), &net), S_OK);
    char braced[40];
    snprintf(braced, sizeof(braced), "{%s}", ep);
    assert_int_equal(CLSIDFromString(W(w, braced), &epg), S_OK);
    assert_int_equal(t->api.HcnOpenNetwork(&net, &n, &err), S_OK);
    snprintf(settings, sizeof(settings),
             "{\"Name\":\"ephemerd-vm-%s\",\"HostComputeNetwork\":\"%s\",\"SchemaVersion\":"
             "{\"Major\":2,\"Minor\":0}}",
             id, DEFAULT_SWITCH);
    assert_int_equal(t->api.HcnCreateEndpoint(n, &epg, W(w, settings), &e, &err), S_OK);
    new_guid(id);
    assert_int_equal(grant(t, id, kernel), S_OK);
    assert_int_equal(grant(t, id, initrd), S_OK);
    cs = create(t, id, json, &hr, doc, sizeof(doc));
    assert_int_equal(sys_op(t, cs, OP_START, doc, sizeof(doc)), S_OK);
    t->api.HcsCloseComputeSystem(cs);
    t->api.HcnCloseEndpoint(e);
    t->api.HcnCloseNetwork(n);
    free(json);
}

/* ==== scenarios: injected failures ===============================================================
 */

static void inject_create_invalid_json(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH], doc[2048];
    struct docp p;
    HRESULT hr;
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), true);
    char *json = print_doc(make_doc(&p));
    HCS_SYSTEM cs = create(t, id, json, &hr, doc, sizeof(doc));
    free(json);
    assert_int_equal(hr, HCS_E_INVALID_JSON);
    assert_non_null(strstr(doc, "create=INVALID_JSON"));
    t->api.HcsCloseComputeSystem(cs);
}

static void inject_start_access_denied(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH], doc[2048];
    struct docp p;
    HRESULT hr;
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), true);
    char *json = print_doc(make_doc(&p));
    HCS_SYSTEM cs = create(t, id, json, &hr, doc, sizeof(doc));
    free(json);
    assert_int_equal(sys_op(t, cs, OP_START, doc, sizeof(doc)), HCS_E_ACCESS_DENIED);
    t->api.HcsCloseComputeSystem(cs);
}

/* start=HANG: waiting times out, the result is pending, terminate ends it (the start then
 * completes with HCS_E_TERMINATED_DURING_START, the exit event says ForcedExit). */
static void inject_start_hang(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH], doc[2048];
    struct docp p;
    struct events ev;
    HRESULT hr;
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), true);
    events_init(&ev);
    char *json = print_doc(make_doc(&p));
    HCS_SYSTEM cs = create(t, id, json, &hr, doc, sizeof(doc));
    free(json);
    set_callback(t, cs, &ev);
    HCS_OPERATION op = t->api.HcsCreateOperation(NULL, NULL);
    assert_int_equal(t->api.HcsStartComputeSystem(cs, op, NULL), S_OK);
    DWORD t0 = GetTickCount();
    assert_int_equal(wait_op(t, op, 300, NULL, 0), HCS_E_OPERATION_TIMEOUT);
    assert_true(GetTickCount() - t0 >= 250);
    PWSTR result = NULL;
    assert_int_equal(t->api.HcsGetOperationResult(op, &result), HCS_E_OPERATION_PENDING);
    assert_int_equal(sys_op(t, cs, OP_SHUTDOWN, doc, sizeof(doc)), HCS_E_INVALID_STATE);
    assert_int_equal(sys_op(t, cs, OP_TERMINATE, doc, sizeof(doc)), S_OK);
    assert_int_equal(wait_op(t, op, OP_WAIT_MS, NULL, 0), HCS_E_TERMINATED_DURING_START);
    t->api.HcsCloseOperation(op);
    int i = wait_event(&ev, HcsEventSystemExited, 5000);
    assert_true(i >= 0);
    assert_non_null(strstr(ev.data[i], "ForcedExit"));
    t->api.HcsCloseComputeSystem(cs);
}

/* guest=IGNORE_STOP: neither the console request nor HcsShutDown stops the guest; terminate
 * does, and the pending shutdown then completes with HCS_E_SYSTEM_ALREADY_STOPPED. */
static void inject_ignore_stop(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH], line[128], doc[2048];
    struct docp p;
    struct events ev;
    struct pipe_server ps;
    bool eof;
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), true);
    p.port = free_ports();
    p.stolhc = true;
    pipe_listen(t, &ps);
    p.pipe = ps.name;
    events_init(&ev);
    HCS_SYSTEM cs = start_vm(t, id, &p, &ev);
    assert_true(pipe_read_until(&ps, "EPHEMERD_IP=", 10000, &eof));
    snprintf(line, sizeof(line), "EPHEMERD_STOP boot_id=%s\n", p.boot_id);
    pipe_write(&ps, line);
    assert_int_equal(wait_event(&ev, HcsEventSystemExited, 1500), -1);
    HCS_OPERATION shut = t->api.HcsCreateOperation(NULL, NULL);
    assert_int_equal(t->api.HcsShutDownComputeSystem(cs, shut, NULL), S_OK);
    assert_int_equal(wait_op(t, shut, 500, NULL, 0), HCS_E_OPERATION_TIMEOUT);
    assert_int_equal(sys_op(t, cs, OP_TERMINATE, doc, sizeof(doc)), S_OK);
    assert_int_equal(wait_op(t, shut, OP_WAIT_MS, NULL, 0), HCS_E_SYSTEM_ALREADY_STOPPED);
    t->api.HcsCloseOperation(shut);
    int i = wait_event(&ev, HcsEventSystemExited, 5000);
    assert_true(i >= 0);
    assert_non_null(strstr(ev.data[i], "ForcedExit"));
    assert_true(log_has(t, "guest=IGNORE_STOP: the guest ignores the console stop request"));
    t->api.HcsCloseComputeSystem(cs);
    pipe_close(&ps);
}

/* Without the injection, HcsShutDown powers the simulated guest off: GracefulExit. */
static void shutdown_graceful(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH], doc[2048];
    struct docp p;
    struct events ev;
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), true);
    p.port = free_ports();
    events_init(&ev);
    HCS_SYSTEM cs = start_vm(t, id, &p, &ev);
    assert_int_equal(sys_op(t, cs, OP_SHUTDOWN, doc, sizeof(doc)), S_OK);
    int i = wait_event(&ev, HcsEventSystemExited, 5000);
    assert_true(i >= 0);
    assert_string_equal(ev.data[i], "{\"Status\":0,\"ExitType\":\"GracefulExit\"}");
    t->api.HcsCloseComputeSystem(cs);
}

static void inject_shutdown_no_ic(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH], doc[2048];
    struct docp p;
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), true);
    p.port = free_ports();
    p.stolhc = true;
    HCS_SYSTEM cs = start_vm(t, id, &p, NULL);
    assert_int_equal(sys_op(t, cs, OP_SHUTDOWN, doc, sizeof(doc)),
                     HRESULT_FROM_WIN32(ERROR_DEVICE_NOT_AVAILABLE));
    assert_true(enum_has(t, id, "Running"));
    assert_int_equal(sys_op(t, cs, OP_TERMINATE, doc, sizeof(doc)), S_OK);
    t->api.HcsCloseComputeSystem(cs);
}

/* event=CRASH@300: crash initiated, crash report (with its CrashLog), then an unexpected exit. */
static void inject_crash(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH];
    struct docp p;
    struct events ev;
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), true);
    p.port = free_ports();
    p.stolhc = true;
    events_init(&ev);
    HCS_SYSTEM cs = start_vm(t, id, &p, &ev);
    int i = wait_event(&ev, HcsEventSystemExited, 5000);
    assert_true(i >= 0);
    int c = wait_event(&ev, HcsEventSystemCrashInitiated, 0);
    int r = wait_event(&ev, HcsEventSystemCrashReport, 0);
    assert_true(c >= 0 && r > c && i > r);
    assert_non_null(strstr(ev.data[c], "\"CrashLog\":\"Kernel panic"));
    cJSON *x = cJSON_Parse(ev.data[i]);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(x, "ExitType")), "UnexpectedExit");
    assert_int_equal((int32_t)cJSON_GetNumberValue(cJSON_GetObjectItem(x, "Status")),
                     (int32_t)0x8037011C);
    cJSON_Delete(x);
    t->api.HcsCloseComputeSystem(cs);
}

/* event=SERVICE_DISCONNECT@300: the event, no exit event, and calls fail with
 * HCS_E_SERVICE_DISCONNECT. */
static void inject_service_disconnect(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH];
    struct docp p;
    struct events ev;
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), true);
    p.port = free_ports();
    events_init(&ev);
    HCS_SYSTEM cs = start_vm(t, id, &p, &ev);
    int i = wait_event(&ev, HcsEventServiceDisconnect, 5000);
    assert_true(i >= 0);
    assert_string_equal(ev.data[i], "");
    assert_int_equal(wait_event(&ev, HcsEventSystemExited, 300), -1);
    HCS_OPERATION op = t->api.HcsCreateOperation(NULL, NULL);
    assert_int_equal(t->api.HcsTerminateComputeSystem(cs, op, NULL), HCS_E_SERVICE_DISCONNECT);
    t->api.HcsCloseOperation(op);
    t->api.HcsCloseComputeSystem(cs);
    assert_true(port_closes(p.port, 3000)); /* nothing left running */
}

/* stale=1: a VM of Owner ephemerd and an endpoint ephemerd-vm-stale exist; the sweep finds,
 * terminates and deletes them. */
static void inject_stale(void **state)
{
    struct tctx *t = *state;
    char doc[2048], text[2048];
    wchar_t wid[64], q[128];
    struct events ev;
    assert_true(enum_has(t, "5E1F5E1F-0000-4000-8000-0000000057A1", "Running"));
    HCS_SYSTEM cs = NULL;
    assert_int_equal(t->api.HcsOpenComputeSystem(W(wid, "5E1F5E1F-0000-4000-8000-0000000057A1"),
                                                 GENERIC_ALL, &cs),
                     S_OK);
    events_init(&ev);
    set_callback(t, cs, &ev);
    assert_int_equal(sys_op(t, cs, OP_TERMINATE, doc, sizeof(doc)), S_OK);
    assert_true(wait_event(&ev, HcsEventSystemExited, 5000) >= 0);
    t->api.HcsCloseComputeSystem(cs);
    assert_false(enum_has(t, "5E1F5E1F-0000-4000-8000-0000000057A1", NULL));
    PWSTR out = NULL, err = NULL;
    assert_int_equal(
        t->api.HcnEnumerateEndpoints(
            W(q, "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Flags\":0}"), &out, &err),
        S_OK);
    take(out, text, sizeof(text), true);
    assert_string_equal(text, "[\"5E1F5E1F-0000-4000-8000-00000000E9D1\"]");
    GUID g;
    assert_int_equal(CLSIDFromString(W(wid, "{5E1F5E1F-0000-4000-8000-00000000E9D1}"), &g), S_OK);
    HCN_ENDPOINT e = NULL;
    assert_int_equal(t->api.HcnOpenEndpoint(&g, &e, &err), S_OK);
    assert_int_equal(t->api.HcnQueryEndpointProperties(e, NULL, &out, &err), S_OK);
    take(out, text, sizeof(text), true);
    assert_non_null(strstr(text, "\"Name\":\"ephemerd-vm-stale\""));
    t->api.HcnCloseEndpoint(e);
    assert_int_equal(t->api.HcnDeleteEndpoint(&g, &err), S_OK);
    assert_int_equal(t->api.HcnEnumerateEndpoints(NULL, &out, &err), S_OK);
    take(out, text, sizeof(text), true);
    assert_string_equal(text, "[]"); /* seeded once: not again */
}

static DWORD vhd_create(struct tctx *t, const char *path, ULONGLONG size, int version,
                        VIRTUAL_DISK_ACCESS_MASK mask, HANDLE *h);
static DWORD vhd_open(struct tctx *t, const char *path, HANDLE *h);

/* ---- two processes: what the first leaves, the second finds --------------------------------- */

#define STALE_KEEP "11111111-2222-4333-8444-555555555555"
#define STALE_GONE "66666666-7777-4888-8999-AAAAAAAAAAAA"
#define STALE_EP "{77777777-1111-4111-8111-111111111111}"

/* First process: a VM without ShouldTerminateOnLastHandleClosed (the service keeps it), one
 * with it (it dies with the process), an endpoint; then the process exits without cleaning. */
static void stale_first_process(void **state)
{
    struct tctx *t = *state;
    char kernel[MAX_PATH], initrd[MAX_PATH];
    struct docp p;
    basic_params(t, STALE_KEEP, &p, kernel, initrd, sizeof(kernel), true);
    assert_int_equal(grant(t, STALE_GONE, kernel), S_OK);
    assert_int_equal(grant(t, STALE_GONE, initrd), S_OK);
    p.port = free_ports();
    (void)start_vm(t, STALE_KEEP, &p, NULL);
    char disk[MAX_PATH];
    HANDLE h = NULL;
    path_in(t, "root.vhdx", disk, sizeof(disk));
    assert_int_equal(vhd_create(t, disk, 16 << 20, 2, VIRTUAL_DISK_ACCESS_NONE, &h), ERROR_SUCCESS);
    CloseHandle(h);
    assert_int_equal(grant(t, STALE_GONE, disk), S_OK);
    p.disk = disk;
    p.port = free_ports();
    p.stolhc = true;
    (void)start_vm(t, STALE_GONE, &p, NULL);
    assert_int_equal(vhd_open(t, disk, &h), ERROR_SHARING_VIOLATION);
    GUID net, epg;
    wchar_t w[256];
    HCN_NETWORK n = NULL;
    HCN_ENDPOINT e = NULL;
    PWSTR err = NULL;
    assert_int_equal(CLSIDFromString(W(w, "{" DEFAULT_SWITCH "}"), &net), S_OK);
    assert_int_equal(CLSIDFromString(W(w, STALE_EP), &epg), S_OK);
    assert_int_equal(t->api.HcnOpenNetwork(&net, &n, &err), S_OK);
    assert_int_equal(
        t->api.HcnCreateEndpoint(n, &epg,
                                 W(w, "{\"Name\":\"ephemerd-vm-" STALE_KEEP
                                      "\",\"HostComputeNetwork\":\"" DEFAULT_SWITCH
                                      "\",\"SchemaVersion\":{\"Major\":2,\"Minor\":0}}"),
                                 &e, &err),
        S_OK);
    assert_true(enum_has(t, STALE_KEEP, "Running"));
    assert_true(enum_has(t, STALE_GONE, "Running"));
}

static void stale_second_process(void **state)
{
    struct tctx *t = *state;
    char doc[2048], text[2048], disk[MAX_PATH];
    wchar_t wid[64];
    HANDLE h = NULL;
    /* The VM that died with the first process no longer holds its disk. */
    path_in(t, "root.vhdx", disk, sizeof(disk));
    assert_int_equal(vhd_open(t, disk, &h), ERROR_SUCCESS);
    CloseHandle(h);
    char *list = enumerate(t, "{\"Owners\":[\"ephemerd\"]}");
    assert_non_null(strstr(list, STALE_KEEP));
    assert_null(strstr(list, STALE_GONE)); /* ended with its process's last handle */
    free(list);
    HCS_SYSTEM cs = NULL;
    assert_int_equal(t->api.HcsOpenComputeSystem(W(wid, STALE_KEEP), GENERIC_ALL, &cs), S_OK);
    assert_int_equal(sys_op(t, cs, OP_TERMINATE, doc, sizeof(doc)), S_OK);
    t->api.HcsCloseComputeSystem(cs);
    assert_false(enum_has(t, STALE_KEEP, NULL));
    assert_true(log_has(t, "(a system whose process is gone)"));
    PWSTR out = NULL, err = NULL;
    wchar_t q[256];
    assert_int_equal(t->api.HcnEnumerateEndpoints(
                         W(q, "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Flags\":0,"
                              "\"Filter\":\"{\\\"Name\\\":\\\"ephemerd-vm-" STALE_KEEP "\\\"}\"}"),
                         &out, &err),
                     S_OK);
    take(out, text, sizeof(text), true);
    assert_string_equal(text, "[\"77777777-1111-4111-8111-111111111111\"]");
    GUID g;
    assert_int_equal(CLSIDFromString(W(wid, STALE_EP), &g), S_OK);
    assert_int_equal(t->api.HcnDeleteEndpoint(&g, &err), S_OK);
}

/* ==== scenarios: computenetwork ================================================================
 */

static void hcn_endpoint_lifecycle(void **state)
{
    struct tctx *t = *state;
    GUID net, epg, other;
    wchar_t w[512];
    char text[2048];
    HCN_NETWORK n = NULL;
    HCN_ENDPOINT e = NULL;
    PWSTR out = NULL, err = NULL;
    assert_int_equal(CLSIDFromString(W(w, "{" DEFAULT_SWITCH "}"), &net), S_OK);
    assert_int_equal(t->api.HcnOpenNetwork(&net, &n, &err), S_OK);
    assert_null(err);
    assert_int_equal(t->api.HcnQueryNetworkProperties(n, NULL, &out, &err), S_OK);
    take(out, text, sizeof(text), true);
    assert_non_null(strstr(text, "\"Name\":\"Default Switch\""));
    assert_non_null(strstr(text, "\"Type\":\"ICS\""));
    assert_int_equal(
        t->api.HcnEnumerateNetworks(W(w, "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Flags\":0,"
                                         "\"Filter\":\"{\\\"Name\\\":\\\"Default Switch\\\"}\"}"),
                                    &out, &err),
        S_OK);
    take(out, text, sizeof(text), true);
    assert_string_equal(text, "[\"" DEFAULT_SWITCH "\"]");
    assert_int_equal(t->api.HcnEnumerateNetworks(
                         W(w, "{\"Filter\":\"{\\\"Name\\\":\\\"Other\\\"}\"}"), &out, &err),
                     S_OK);
    take(out, text, sizeof(text), true);
    assert_string_equal(text, "[]");
    /* Refused settings, each with an error record. */
    static const char *const bad[] = {
        "{\"HostComputeNetwork\":\"" DEFAULT_SWITCH
        "\",\"SchemaVersion\":{\"Major\":2,\"Minor\":0}}",
        "{\"Name\":\"x\",\"SchemaVersion\":{\"Major\":2,\"Minor\":0}}",
        "{\"Name\":\"x\",\"HostComputeNetwork\":\"" DEFAULT_SWITCH "\"}",
        "{\"Name\":\"x\",\"HostComputeNetwork\":\"00000000-0000-0000-0000-000000000001\","
        "\"SchemaVersion\":{\"Major\":2,\"Minor\":0}}",
        "{\"Name\":\"x\",\"HostComputeNetwork\":\"" DEFAULT_SWITCH "\",\"SchemaVersion\":"
        "{\"Major\":2,\"Minor\":0},\"Nmae\":\"y\"}",
        "not json",
    };
    assert_true(SUCCEEDED(CoCreateGuid(&epg)));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(t->api.HcnCreateEndpoint(n, &epg, W(w, bad[i]), &e, &err), E_INVALIDARG);
        take(err, text, sizeof(text), true);
        assert_non_null(strstr(text, "\"ErrorMessage\""));
    }
    assert_int_equal(
        t->api.HcnCreateEndpoint(
            n, &epg,
            W(w, "{\"Name\":\"ephemerd-vm-test\",\"HostComputeNetwork\":\"" DEFAULT_SWITCH
                 "\",\"SchemaVersion\":{\"Major\":2,\"Minor\":0}}"),
            &e, &err),
        S_OK);
    assert_int_equal(
        t->api.HcnQueryEndpointProperties(
            e, W(w, "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Flags\":0}"), &out, &err),
        S_OK);
    take(out, text, sizeof(text), true);
    cJSON *props = cJSON_Parse(text);
    const char *mac = cJSON_GetStringValue(cJSON_GetObjectItem(props, "MacAddress"));
    assert_non_null(mac);
    assert_int_equal(strncmp(mac, "00-15-5D-", 9), 0);
    assert_int_equal(strlen(mac), 17);
    cJSON *ipc = cJSON_GetArrayItem(cJSON_GetObjectItem(props, "IpConfigurations"), 0);
    assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(ipc, "IpAddress")));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(props, "Name")),
                        "ephemerd-vm-test");
    cJSON_Delete(props);
    t->api.HcnCloseEndpoint(e);
    assert_int_equal(t->api.HcnDeleteEndpoint(&epg, &err), S_OK);
    assert_int_equal(t->api.HcnOpenEndpoint(&epg, &e, &err), HCN_E_ENDPOINT_NOT_FOUND);
    take(err, text, sizeof(text), true);
    assert_int_equal(t->api.HcnDeleteEndpoint(&epg, &err), HCN_E_ENDPOINT_NOT_FOUND);
    take(err, text, sizeof(text), true);
    t->api.HcnCloseNetwork(n);
    assert_true(SUCCEEDED(CoCreateGuid(&other)));
    assert_int_equal(t->api.HcnOpenNetwork(&other, &n, &err), HCN_E_NETWORK_NOT_FOUND);
    take(err, text, sizeof(text), true);
}

/* network=BYNAME: the Default Switch has another id; it is found by name only. */
static void hcn_default_switch_by_name(void **state)
{
    struct tctx *t = *state;
    GUID net;
    wchar_t w[256];
    char text[512], braced[64];
    HCN_NETWORK n = NULL;
    PWSTR out = NULL, err = NULL;
    assert_int_equal(CLSIDFromString(W(w, "{" DEFAULT_SWITCH "}"), &net), S_OK);
    assert_int_equal(t->api.HcnOpenNetwork(&net, &n, &err), HCN_E_NETWORK_NOT_FOUND);
    take(err, text, sizeof(text), true);
    assert_int_equal(
        t->api.HcnEnumerateNetworks(W(w, "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Flags\":0,"
                                         "\"Filter\":\"{\\\"Name\\\":\\\"Default Switch\\\"}\"}"),
                                    &out, &err),
        S_OK);
    take(out, text, sizeof(text), true);
    cJSON *ids = cJSON_Parse(text);
    assert_int_equal(cJSON_GetArraySize(ids), 1);
    snprintf(braced, sizeof(braced), "{%s}", cJSON_GetStringValue(cJSON_GetArrayItem(ids, 0)));
    cJSON_Delete(ids);
    assert_int_equal(CLSIDFromString(W(w, braced), &net), S_OK);
    assert_int_equal(t->api.HcnOpenNetwork(&net, &n, &err), S_OK);
    t->api.HcnCloseNetwork(n);
}

/* ==== scenarios: virtdisk
 * ========================================================================= */

/* The SDK's CREATE_VIRTUAL_DISK_PARAMETERS version 2 layout (mingw's is 8 bytes short). */
struct create_v2 {
    CREATE_VIRTUAL_DISK_VERSION Version;
    GUID UniqueId;
    ULONGLONG MaximumSize;
    ULONG BlockSizeInBytes, SectorSizeInBytes, PhysicalSectorSizeInBytes;
    PCWSTR ParentPath, SourcePath;
    OPEN_VIRTUAL_DISK_FLAG OpenFlags;
    VIRTUAL_STORAGE_TYPE ParentVirtualStorageType, SourceVirtualStorageType;
    GUID ResiliencyGuid;
};
_Static_assert(sizeof(struct create_v2) == 128, "SDK layout");
_Static_assert(offsetof(struct create_v2, ParentPath) == 48, "SDK layout");

static const VIRTUAL_STORAGE_TYPE vhdx_type = {
    VIRTUAL_STORAGE_TYPE_DEVICE_VHDX,
    {0xEC984AEC, 0xA0F9, 0x47E9, {0x90, 0x1F, 0x71, 0x41, 0x5A, 0x66, 0x34, 0x5B}}};

static DWORD vhd_create(struct tctx *t, const char *path, ULONGLONG size, int version,
                        VIRTUAL_DISK_ACCESS_MASK mask, HANDLE *h)
{
    struct create_v2 p = {.Version = (CREATE_VIRTUAL_DISK_VERSION)version, .MaximumSize = size};
    VIRTUAL_STORAGE_TYPE type = vhdx_type;
    wchar_t w[MAX_PATH];
    return t->api.CreateVirtualDisk(&type, W(w, path), mask, NULL, CREATE_VIRTUAL_DISK_FLAG_NONE, 0,
                                    (PCREATE_VIRTUAL_DISK_PARAMETERS)(void *)&p, NULL, h);
}

static DWORD vhd_open(struct tctx *t, const char *path, HANDLE *h)
{
    OPEN_VIRTUAL_DISK_PARAMETERS p = {.Version = OPEN_VIRTUAL_DISK_VERSION_2};
    VIRTUAL_STORAGE_TYPE type = vhdx_type;
    wchar_t w[MAX_PATH];
    return t->api.OpenVirtualDisk(&type, W(w, path), VIRTUAL_DISK_ACCESS_NONE,
                                  OPEN_VIRTUAL_DISK_FLAG_NONE, &p, h);
}

static ULONGLONG vhd_size(struct tctx *t, HANDLE h)
{
    GET_VIRTUAL_DISK_INFO info = {.Version = GET_VIRTUAL_DISK_INFO_SIZE};
    ULONG size = sizeof(info), used = 0;
    assert_int_equal(t->api.GetVirtualDiskInformation(h, &size, &info, &used), ERROR_SUCCESS);
    return info.Size.VirtualSize;
}

static uint64_t file_index(const char *path)
{
    HANDLE h = CreateFileA(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, 0, NULL);
    BY_HANDLE_FILE_INFORMATION fi;
    assert_true(h != INVALID_HANDLE_VALUE && GetFileInformationByHandle(h, &fi));
    CloseHandle(h);
    return (uint64_t)fi.nFileIndexHigh << 32 | fi.nFileIndexLow;
}

/* A dynamic VHDX made with qemu-img, its size read back, grown in place, never shrunk. */
static void virtdisk_create_resize(void **state)
{
    struct tctx *t = *state;
    char path[MAX_PATH], other[MAX_PATH], head[9] = "";
    HANDLE h = NULL;
    path_in(t, "root.vhdx", path, sizeof(path));
    path_in(t, "other.vhdx", other, sizeof(other));
    assert_int_equal(vhd_create(t, path, 100 * 512 + 1, 2, VIRTUAL_DISK_ACCESS_NONE, &h),
                     ERROR_INVALID_PARAMETER);
    assert_int_equal(vhd_create(t, path, 64 << 20, 1, VIRTUAL_DISK_ACCESS_NONE, &h),
                     ERROR_INVALID_PARAMETER);
    assert_int_equal(vhd_create(t, path, 64 << 20, 2, VIRTUAL_DISK_ACCESS_ALL, &h),
                     ERROR_INVALID_PARAMETER);
    DWORD rc = vhd_create(t, path, 64 << 20, 2, VIRTUAL_DISK_ACCESS_NONE, &h);
    if (rc != ERROR_SUCCESS) {
        char log[MAX_PATH];
        path_in(t, "calls.log", log, sizeof(log));
        char *text = read_text(log);
        fail_msg("CreateVirtualDisk: %lu; calls.log:\n%s", rc, text ? text : "");
    }
    assert_int_equal(vhd_size(t, h), 64 << 20);
    assert_true(CloseHandle(h));
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(head, 1, 8, f), 8);
    fclose(f);
    assert_string_equal(head, "vhdxfile");
    assert_int_equal(vhd_create(t, path, 64 << 20, 2, VIRTUAL_DISK_ACCESS_NONE, &h),
                     ERROR_FILE_EXISTS);
    uint64_t before = file_index(path);
    assert_int_equal(vhd_open(t, path, &h), ERROR_SUCCESS);
    RESIZE_VIRTUAL_DISK_PARAMETERS rp = {.Version = RESIZE_VIRTUAL_DISK_VERSION_1};
    rp.Version1.NewSize = 128 << 20;
    assert_int_equal(t->api.ResizeVirtualDisk(h, RESIZE_VIRTUAL_DISK_FLAG_NONE, &rp, NULL),
                     ERROR_SUCCESS);
    assert_int_equal(vhd_size(t, h), 128 << 20);
    rp.Version1.NewSize = 32 << 20;
    assert_int_equal(t->api.ResizeVirtualDisk(h, RESIZE_VIRTUAL_DISK_FLAG_NONE, &rp, NULL),
                     ERROR_INVALID_PARAMETER);
    assert_true(CloseHandle(h));
    assert_true(file_index(path) == before); /* the same file: its grants stay */
    write_file(other, "not a disk image");
    assert_int_equal(vhd_open(t, other, &h), ERROR_VIRTDISK_NOT_VIRTUAL_DISK_);
    path_in(t, "missing.vhdx", other, sizeof(other));
    assert_int_equal(vhd_open(t, other, &h), ERROR_FILE_NOT_FOUND);
}

/* A running VM holds its VHDX: opening it fails until the VM stops. */
static void virtdisk_in_use_by_vm(void **state)
{
    struct tctx *t = *state;
    char id[37], kernel[MAX_PATH], initrd[MAX_PATH], disk[MAX_PATH], doc[2048];
    struct docp p;
    HANDLE h = NULL;
    new_guid(id);
    basic_params(t, id, &p, kernel, initrd, sizeof(kernel), true);
    path_in(t, "root.vhdx", disk, sizeof(disk));
    assert_int_equal(vhd_create(t, disk, 16 << 20, 2, VIRTUAL_DISK_ACCESS_NONE, &h), ERROR_SUCCESS);
    CloseHandle(h);
    assert_int_equal(grant(t, id, disk), S_OK);
    p.disk = disk;
    p.port = free_ports();
    p.stolhc = true;
    HCS_SYSTEM cs = start_vm(t, id, &p, NULL);
    assert_int_equal(vhd_open(t, disk, &h), ERROR_SHARING_VIOLATION);
    assert_int_equal(sys_op(t, cs, OP_TERMINATE, doc, sizeof(doc)), S_OK);
    assert_int_equal(vhd_open(t, disk, &h), ERROR_SUCCESS);
    CloseHandle(h);
    t->api.HcsCloseComputeSystem(cs);
}

/* ==== the scenario table and the two roles ======================================================
 */

struct scenario {
    const char *name;
    const char *inject;
    const char *max_schema;
    CMUnitTestFunction first;
    CMUnitTestFunction second; /* run in a second process on the same state, or NULL */
};

#define S(fn, inject)                                                                              \
    {                                                                                              \
#fn, inject, NULL, fn, NULL                                                                \
    }
static const struct scenario scenarios[] = {
    S(lifecycle_graceful, NULL),
    S(service_properties, NULL),
    {"max_schema_2_1", NULL, "2.1", max_schema_2_1, NULL},
    S(invalid_json, NULL),
    S(unknown_and_missing_fields, NULL),
    S(not_simulated_field, NULL),
    S(grants_checked_at_start, NULL),
    S(callback_already_set, NULL),
    S(operation_semantics, NULL),
    S(duplicate_stop, NULL),
    S(console_lost_without_server, NULL),
    S(close_drains_callbacks, NULL),
    S(last_handle, NULL),
    S(duplicate_id, NULL),
    S(endpoint_checked_at_start, NULL),
    S(shutdown_graceful, NULL),
    S(inject_create_invalid_json, "create=INVALID_JSON"),
    S(inject_start_access_denied, "start=ACCESS_DENIED"),
    S(inject_start_hang, "start=HANG"),
    S(inject_ignore_stop, "guest=IGNORE_STOP"),
    S(inject_shutdown_no_ic, "shutdown=NO_IC"),
    S(inject_crash, "event=CRASH@300"),
    S(inject_service_disconnect, "event=SERVICE_DISCONNECT@300"),
    S(inject_stale, "stale=1"),
    {"stale_across_processes", NULL, NULL, stale_first_process, stale_second_process},
    S(hcn_endpoint_lifecycle, NULL),
    {"hcn_default_switch_by_name", "network=BYNAME", NULL, hcn_default_switch_by_name, NULL},
    S(virtdisk_create_resize, NULL),
    S(virtdisk_in_use_by_vm, NULL),
};
#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

/* Child: load the DLLs, run one scenario function as a cmocka test, exit with its result. */
static int run_child(const char *name, int part)
{
    struct tctx ctx = {0};
    WSADATA wd;
    if (WSAStartup(MAKEWORD(2, 2), &wd) != 0 || FAILED(CoInitializeEx(NULL, COINIT_MULTITHREADED)))
        return 2;
    DWORD n = GetEnvironmentVariableA("EVM_FAKE_HCS_STATE", ctx.state, sizeof(ctx.state));
    if (n == 0 || n >= sizeof(ctx.state))
        return 2;
    for (size_t i = 0; i < NSCENARIOS; i++) {
        if (strcmp(scenarios[i].name, name) != 0)
            continue;
        struct CMUnitTest test[1] = {
            {name, part == 2 ? scenarios[i].second : scenarios[i].first, NULL, NULL, &ctx}};
        load_api(&ctx.api);
        int failed = _cmocka_run_group_tests(name, test, 1, NULL, NULL);
        fflush(stdout);
        /* Leave without unloading or cleaning: what is left is the next process's to find. */
        ExitProcess(failed ? 1 : 0);
    }
    return 2;
}

static void to_backslashes(char *s)
{
    for (; *s; s++)
        if (*s == '/')
            *s = '\\';
}

static void set_child_env(const struct scenario *sc, const char *state)
{
    char overrides[512] = "";
    GetEnvironmentVariableA("WINEDLLOVERRIDES", overrides, sizeof(overrides));
    if (!strstr(overrides, "virtdisk=n")) {
        size_t len = strlen(overrides);
        snprintf(overrides + len, sizeof(overrides) - len, "%svirtdisk=n", len ? ";" : "");
    }
    assert_true(SetEnvironmentVariableA("WINEDLLOVERRIDES", overrides));
    assert_true(SetEnvironmentVariableA("EVM_FAKE_HCS_STATE", state));
    assert_true(SetEnvironmentVariableA("EVM_FAKE_HCS_INJECT", sc->inject));
    assert_true(SetEnvironmentVariableA("EVM_FAKE_HCS_MAX_SCHEMA", sc->max_schema));
    assert_true(SetEnvironmentVariableA("EVM_FAKE_HCS_HELPER", NULL));
}

/* Runs this program as the scenario's child; returns its exit code, its output in log. */
static DWORD spawn_child(const struct scenario *sc, int part, const char *log)
{
    char self[MAX_PATH], cmd[MAX_PATH * 2];
    assert_true(GetModuleFileNameA(NULL, self, sizeof(self)) > 0);
    snprintf(cmd, sizeof(cmd), "\"%s\" --child %s %d", self, sc->name, part);
    SECURITY_ATTRIBUTES sa = {.nLength = sizeof(sa), .bInheritHandle = TRUE};
    HANDLE out = CreateFileA(log, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                             OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    assert_true(out != INVALID_HANDLE_VALUE);
    STARTUPINFOA si = {.cb = sizeof(si), .dwFlags = STARTF_USESTDHANDLES};
    si.hStdOutput = si.hStdError = out;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    PROCESS_INFORMATION pi;
    assert_true(CreateProcessA(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi));
    CloseHandle(out);
    DWORD code = 99;
    if (WaitForSingleObject(pi.hProcess, 180000) != WAIT_OBJECT_0)
        TerminateProcess(pi.hProcess, 98);
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return code;
}

static void run_scenario(void **state)
{
    const struct scenario *sc = *state;
    char *dir = tu_tmpdir();
    char log[MAX_PATH], calls[MAX_PATH];
    to_backslashes(dir);
    snprintf(log, sizeof(log), "%s\\child-output.txt", dir);
    snprintf(calls, sizeof(calls), "%s\\calls.log", dir);
    set_child_env(sc, dir);
    DWORD code = spawn_child(sc, 1, log);
    if (code == 0 && sc->second)
        code = spawn_child(sc, 2, log);
    if (code != 0) {
        char *out = read_text(log), *cl = read_text(calls);
        print_message("---- child output ----\n%s---- calls.log ----\n%s", out ? out : "",
                      cl ? cl : "");
        free(out);
        free(cl);
    }
    tu_rmrf(dir);
    free(dir);
    if (code != 0)
        fail_msg("scenario %s: the child process exited with %lu", sc->name, code);
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "--child"))
        return run_child(argv[2], atoi(argv[3]));
    struct CMUnitTest tests[NSCENARIOS];
    for (size_t i = 0; i < NSCENARIOS; i++)
        tests[i] =
            (struct CMUnitTest){scenarios[i].name, run_scenario, NULL, NULL, (void *)&scenarios[i]};
    return _cmocka_run_group_tests("test_fakes", tests, NSCENARIOS, NULL, NULL);
}
