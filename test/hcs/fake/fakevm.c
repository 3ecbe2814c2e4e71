/* fakevm.c — the fake computecore's VM worker, one thread per started compute system: the
 * checks HCS makes at start (files granted with HcsGrantVmAccess, endpoints present, the
 * injected failures), COM1 connected as a pipe client only when the host's server exists,
 * the VM itself run by the Linux-side helper (EVM_FAKE_HCS_HELPER) or the simulated guest
 * (fakeguest.c) over the JSON-lines protocol, the console relayed between the pipe and the
 * helper, and the end: the exit, crash or service-disconnect events and the pending
 * operations completed. TEST ONLY. */
#include "fakecc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conparse.h"
#include "fakeguest.h"
#include "hcsvalidate.h"

#define HELPER_START_TIMEOUT_MS 120000
#define TERMINATE_WAIT_MS 10000
#define PIPE_WRITE_TIMEOUT_MS 5000

struct vm {
    struct fsys *s;
    const struct fake_config *cfg;
    HANDLE pipe;
    OVERLAPPED rov;
    HANDLE rev, wev;
    char rbuf[4096];
    struct fake_lines agent_in; /* the host's console input, line by line (IGNORE_STOP) */
    char hostport[64];          /* the helper's, or the simulated guest's */
    SOCKET ctl, con;
    HANDLE ctl_ev, con_ev;
    struct fake_lines ctl_in;
    DWORD started_at;
    bool crash, disconnect, terminating, shutdown_sent, done;
    DWORD terminate_deadline;
    char exit_type[24];
    HRESULT status;
    HMODULE self;
};

static const char module_anchor = 0;

static void note(struct vm *v, const char *what, const char *detail)
{
    fake_log(v->cfg, "note %s: %s%s", v->s->id, what, detail ? detail : "");
}

/* ---- start checks ---------------------------------------------------------------------------- */

static const cJSON *find_grant(const cJSON *grants, const char *vm, const char *key)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, grants)
    {
        const char *gv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "VmId"));
        const char *gk = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "PathKey"));
        if (gv && gk && !_stricmp(gv, vm) && !strcmp(gk, key))
            return g;
    }
    return NULL;
}

/* Whether the VM worker could open path: it exists and was granted to this VM since it was
 * last replaced. */
static HRESULT check_file(struct vm *v, const cJSON *grants, const char *field, const char *path,
                          char *msg, size_t n)
{
    wchar_t *w = fake_w(path);
    char key[MAX_PATH * 3], ident[64];
    struct evm_err err = {0};
    HRESULT hr = S_OK;
    if (!w || fake_full_path_key(w, key, sizeof(key), &err) < 0 ||
        fake_file_identity(w, ident, sizeof(ident), &err) < 0) {
        hr = HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
        snprintf(msg, n, "%s: the virtual machine worker cannot open %s: %s", field, path, err.msg);
    } else {
        const cJSON *g = find_grant(grants, v->s->id, key);
        const char *file = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "File"));
        if (!g) {
            hr = FAKE_E_NOT_GRANTED;
            snprintf(msg, n,
                     "%s: %s was not granted to VM %s with HcsGrantVmAccess: its "
                     "worker process cannot open it (access denied)",
                     field, path, v->s->id);
        } else if (!file || strcmp(file, ident) != 0) {
            hr = FAKE_E_NOT_GRANTED;
            snprintf(msg, n,
                     "%s: %s was replaced after HcsGrantVmAccess (a new file does not "
                     "carry the grant): grant it again after every rewrite",
                     field, path);
        }
    }
    free(w);
    return hr;
}

static HRESULT check_files(struct vm *v, const cJSON *grants, char *msg, size_t n)
{
    static const char kd[] = "VirtualMachine.Chipset.LinuxKernelDirect.";
    const cJSON *doc = v->s->doc;
    const char *kernel =
        hcsv_string(doc, "VirtualMachine.Chipset.LinuxKernelDirect.KernelFilePath");
    const char *initrd = hcsv_string(doc, "VirtualMachine.Chipset.LinuxKernelDirect.InitRdPath");
    char field[160];
    snprintf(field, sizeof(field), "%sKernelFilePath", kd);
    HRESULT hr = check_file(v, grants, field, kernel, msg, n);
    snprintf(field, sizeof(field), "%sInitRdPath", kd);
    if (hr == S_OK && initrd && initrd[0])
        hr = check_file(v, grants, field, initrd, msg, n);
    const cJSON *scsi = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "VirtualMachine"),
                                         "Devices"),
        "Scsi");
    for (const cJSON *c = scsi ? scsi->child : NULL; c && hr == S_OK; c = c->next) {
        const cJSON *att = cJSON_GetObjectItemCaseSensitive(c, "Attachments");
        for (const cJSON *a = att ? att->child : NULL; a && hr == S_OK; a = a->next) {
            snprintf(field, sizeof(field), "Devices.Scsi.%s.Attachments.%s.Path", c->string,
                     a->string);
            hr = check_file(v, grants, field,
                            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "Path")), msg,
                            n);
        }
    }
    return hr;
}

static HRESULT check_endpoints(struct vm *v, const cJSON *endpoints, char *msg, size_t n)
{
    const cJSON *nics = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(v->s->doc, "VirtualMachine"), "Devices"),
        "NetworkAdapters");
    for (const cJSON *nic = nics ? nics->child : NULL; nic; nic = nic->next) {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(nic, "EndpointId"));
        bool found = false;
        const cJSON *e;
        cJSON_ArrayForEach(e, endpoints)
        {
            const char *eid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "ID"));
            found = found || (eid && id && !_stricmp(eid, id));
        }
        if (!found) {
            snprintf(msg, n, "Devices.NetworkAdapters.%s: the HCN endpoint %s does not exist",
                     nic->string, id ? id : "?");
            return HCN_E_ENDPOINT_NOT_FOUND;
        }
    }
    return S_OK;
}

static HRESULT start_checks(struct vm *v, char *msg, size_t n)
{
    if (v->cfg->inject.start_access_denied) {
        snprintf(msg, n, "injected by EVM_FAKE_HCS_INJECT start=ACCESS_DENIED");
        return HCS_E_ACCESS_DENIED;
    }
    struct fake_state st;
    struct evm_err err = {0};
    if (fake_state_begin(v->cfg, &st, &err) < 0) {
        snprintf(msg, n, "%s", err.msg);
        return E_FAIL;
    }
    HRESULT hr = check_files(v, fake_state_array(&st, "grants"), msg, n);
    if (hr == S_OK)
        hr = check_endpoints(v, fake_state_array(&st, "endpoints"), msg, n);
    fake_state_end(v->cfg, &st, false, NULL);
    return hr;
}

/* ---- COM1 ------------------------------------------------------------------------------------ */

static void connect_com1(struct vm *v)
{
    const char *name = hcsv_string(v->s->doc, "VirtualMachine.Devices.ComPorts.0.NamedPipe");
    if (hcsv_string(v->s->doc, "VirtualMachine.Devices.ComPorts.1.NamedPipe"))
        note(v, "COM2 is in the document; the fake relays COM1 only", NULL);
    if (!name || !name[0]) {
        note(v, "no COM1 pipe in the document: the guest's console goes nowhere", NULL);
        return;
    }
    wchar_t *w = fake_w(name);
    if (!w)
        return;
    HANDLE h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                           FILE_FLAG_OVERLAPPED, NULL);
    if (h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_PIPE_BUSY && WaitNamedPipeW(w, 2000))
        h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                        FILE_FLAG_OVERLAPPED, NULL);
    DWORD e = GetLastError();
    free(w);
    if (h == INVALID_HANDLE_VALUE) {
        char detail[600];
        snprintf(detail, sizeof(detail),
                 "%s (error %lu) when the VM started: like Hyper-V, the fake creates nothing and "
                 "the guest's console output is lost",
                 name, e);
        note(v, "COM1: console lost: no pipe server at ", detail);
        return;
    }
    v->pipe = h;
    note(v, "COM1: connected as a client to the host's pipe server ", name);
}

static void pipe_lost(struct vm *v, const char *why)
{
    if (v->pipe == INVALID_HANDLE_VALUE)
        return;
    CancelIoEx(v->pipe, NULL);
    CloseHandle(v->pipe);
    v->pipe = INVALID_HANDLE_VALUE;
    note(v, "COM1: ", why);
}

static void start_read(struct vm *v)
{
    if (v->pipe == INVALID_HANDLE_VALUE)
        return;
    memset(&v->rov, 0, sizeof(v->rov));
    v->rov.hEvent = v->rev;
    ResetEvent(v->rev);
    if (!ReadFile(v->pipe, v->rbuf, sizeof(v->rbuf), NULL, &v->rov) &&
        GetLastError() != ERROR_IO_PENDING)
        pipe_lost(v, "the host closed the pipe (Hyper-V never reconnects)");
}

static void pipe_write(struct vm *v, const char *buf, size_t len)
{
    if (v->pipe == INVALID_HANDLE_VALUE)
        return;
    OVERLAPPED wov = {.hEvent = v->wev};
    ResetEvent(v->wev);
    DWORD wrote = 0;
    if (!WriteFile(v->pipe, buf, (DWORD)len, NULL, &wov) && GetLastError() != ERROR_IO_PENDING) {
        pipe_lost(v, "the host closed the pipe (Hyper-V never reconnects)");
        return;
    }
    if (WaitForSingleObject(v->wev, PIPE_WRITE_TIMEOUT_MS) != WAIT_OBJECT_0) {
        CancelIoEx(v->pipe, &wov);
        note(v, "COM1: the host did not read its pipe for 5 s; console output dropped", NULL);
    }
    if (!GetOverlappedResult(v->pipe, &wov, &wrote, TRUE) &&
        GetLastError() != ERROR_OPERATION_ABORTED)
        pipe_lost(v, "the host closed the pipe (Hyper-V never reconnects)");
}

/* ---- the helper connection --------------------------------------------------------------------
 */

/* Reads what the socket has; 1 data or nothing more now, -1 at EOF or error. */
static int pump(SOCKET s, struct fake_lines *lb)
{
    for (;;) {
        size_t room = fake_lines_room(lb);
        if (room == 0)
            return 1;
        int n = recv(s, lb->buf + lb->len, (int)room, 0);
        if (n > 0) {
            lb->len += (size_t)n;
            continue;
        }
        if (n < 0 && WSAGetLastError() == WSAEWOULDBLOCK)
            return 1;
        return -1;
    }
}

static int send_op(struct vm *v, const char *op)
{
    cJSON *o = cJSON_CreateObject();
    struct evm_err err = {0};
    int r = o && cJSON_AddStringToObject(o, "op", op) ? fake_send_json(v->ctl, o, &err) : -ENOMEM;
    cJSON_Delete(o);
    if (r < 0)
        note(v, "the helper connection failed: ", err.msg);
    return r;
}

static int send_start(struct vm *v, struct evm_err *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *doc = cJSON_Duplicate(v->s->doc, 1);
    int r = -ENOMEM;
    if (o && doc && cJSON_AddStringToObject(o, "op", "start") &&
        cJSON_AddStringToObject(o, "id", v->s->id)) {
        cJSON_AddItemToObject(o, "document", doc);
        doc = NULL;
        r = fake_send_json(v->ctl, o, err);
    }
    cJSON_Delete(doc);
    cJSON_Delete(o);
    return r;
}

enum started { STARTED_OK, STARTED_FAILED, STARTED_TERMINATED };

/* One line from the helper before "started". */
static enum started start_reply(const char *line, char *msg, size_t n, bool *known)
{
    cJSON *m = cJSON_Parse(line);
    const char *ev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "event"));
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "message"));
    enum started r = STARTED_FAILED;
    *known = ev && (!strcmp(ev, "started") || !strcmp(ev, "failed"));
    if (ev && !strcmp(ev, "started"))
        r = STARTED_OK;
    else
        snprintf(msg, n, "the VM could not start: %s", text ? text : line);
    cJSON_Delete(m);
    return r;
}

static bool terminate_requested(struct fsys *s)
{
    EnterCriticalSection(&s->lock);
    bool t = s->req_terminate;
    LeaveCriticalSection(&s->lock);
    return t;
}

static enum started await_started(struct vm *v, char *msg, size_t n)
{
    HANDLE hs[2] = {v->s->wake, v->ctl_ev};
    DWORD start = GetTickCount();
    char line[4096];
    for (;;) {
        DWORD left = HELPER_START_TIMEOUT_MS - (GetTickCount() - start);
        if ((LONG)left <= 0) {
            snprintf(msg, n, "the helper did not answer the start in %d s",
                     HELPER_START_TIMEOUT_MS / 1000);
            return STARTED_FAILED;
        }
        DWORD w = WaitForMultipleObjects(2, hs, FALSE, left);
        if (w == WAIT_OBJECT_0 && terminate_requested(v->s))
            return STARTED_TERMINATED;
        if (w != WAIT_OBJECT_0 + 1)
            continue;
        WSANETWORKEVENTS ne;
        WSAEnumNetworkEvents(v->ctl, v->ctl_ev, &ne);
        int r = pump(v->ctl, &v->ctl_in);
        bool known = false;
        while (fake_lines_next(&v->ctl_in, line, sizeof(line))) {
            enum started s = start_reply(line, msg, n, &known);
            if (known)
                return s;
        }
        if (r < 0) {
            snprintf(msg, n, "the helper closed the connection before the VM started");
            return STARTED_FAILED;
        }
    }
}

static enum started connect_helper(struct vm *v, char *msg, size_t n)
{
    struct evm_err err = {0};
    int r = fake_wsa_init(&err);
    if (r == 0 && v->cfg->helper[0])
        snprintf(v->hostport, sizeof(v->hostport), "%s", v->cfg->helper);
    else if (r == 0)
        r = fakeguest_spawn(v->cfg, v->hostport, &err);
    if (r == 0)
        r = fake_tcp_connect(v->hostport, &v->ctl, &err);
    if (r == 0)
        r = send_start(v, &err);
    if (r == 0 && WSAEventSelect(v->ctl, v->ctl_ev, FD_READ | FD_CLOSE) != 0)
        r = evm_errf(&err, EIO, "WSAEventSelect: error %d", WSAGetLastError());
    if (r < 0) {
        snprintf(msg, n, "the VM helper at %s: %s",
                 v->cfg->helper[0] ? v->cfg->helper : "(simulated guest)", err.msg);
        return STARTED_FAILED;
    }
    return await_started(v, msg, n);
}

/* The second connection: the console's bytes, both ways. */
static void connect_console(struct vm *v)
{
    struct evm_err err = {0};
    cJSON *o = cJSON_CreateObject();
    int r = o && cJSON_AddStringToObject(o, "op", "console") &&
                    cJSON_AddStringToObject(o, "id", v->s->id)
                ? fake_tcp_connect(v->hostport, &v->con, &err)
                : -ENOMEM;
    if (r == 0)
        r = fake_send_json(v->con, o, &err);
    if (r == 0 && WSAEventSelect(v->con, v->con_ev, FD_READ | FD_CLOSE) != 0)
        r = evm_errf(&err, EIO, "WSAEventSelect: error %d", WSAGetLastError());
    cJSON_Delete(o);
    if (r < 0) {
        note(v, "the console connection to the helper failed: ", err.msg);
        if (v->con != INVALID_SOCKET)
            closesocket(v->con);
        v->con = INVALID_SOCKET;
    }
}

/* ---- the relay ----------------------------------------------------------------------------------
 */

static void to_guest(struct vm *v, const char *buf, size_t len)
{
    if (v->con == INVALID_SOCKET)
        return;
    if (!v->cfg->inject.guest_ignore_stop) {
        (void)fake_send_all(v->con, buf, len, NULL);
        return;
    }
    /* guest=IGNORE_STOP: the guest never sees a stop request. */
    char line[4096], id[BOOT_ID_HEX_LEN + 1];
    for (size_t off = 0; off < len;) {
        size_t take =
            len - off < fake_lines_room(&v->agent_in) ? len - off : fake_lines_room(&v->agent_in);
        memcpy(v->agent_in.buf + v->agent_in.len, buf + off, take);
        v->agent_in.len += take;
        off += take;
        while (fake_lines_next(&v->agent_in, line, sizeof(line) - 1)) {
            if (conparse_stop_request(line, id)) {
                note(v, "guest=IGNORE_STOP: the guest ignores the console stop request: ", line);
                continue;
            }
            size_t n = strlen(line);
            line[n++] = '\n';
            (void)fake_send_all(v->con, line, n, NULL);
        }
    }
}

static void on_pipe_read(struct vm *v)
{
    DWORD got = 0;
    if (!GetOverlappedResult(v->pipe, &v->rov, &got, FALSE)) {
        DWORD e = GetLastError();
        if (e == ERROR_IO_INCOMPLETE)
            return;
        pipe_lost(v, e == ERROR_BROKEN_PIPE ? "the host closed the pipe (Hyper-V never reconnects)"
                                            : "reading the pipe failed");
        return;
    }
    to_guest(v, v->rbuf, got);
    start_read(v);
}

static void on_console(struct vm *v)
{
    WSANETWORKEVENTS ne;
    WSAEnumNetworkEvents(v->con, v->con_ev, &ne);
    char buf[4096];
    for (;;) {
        int n = recv(v->con, buf, sizeof(buf), 0);
        if (n > 0) {
            pipe_write(v, buf, (size_t)n);
            continue;
        }
        if (n < 0 && WSAGetLastError() == WSAEWOULDBLOCK)
            return;
        closesocket(v->con); /* the helper ended the console: the VM's port went quiet */
        v->con = INVALID_SOCKET;
        return;
    }
}

static void exited(struct vm *v, const char *type, HRESULT status)
{
    static const char *const types[] = {"GracefulExit", "ForcedExit", "UnexpectedExit",
                                        "None",         "Unknown",    NULL};
    const char *t = "Unknown";
    for (const char *const *p = types; *p; p++)
        if (type && !strcmp(*p, type))
            t = *p;
    snprintf(v->exit_type, sizeof(v->exit_type), "%s", t);
    v->status = status;
    v->done = true;
}

static void on_control(struct vm *v)
{
    WSANETWORKEVENTS ne;
    WSAEnumNetworkEvents(v->ctl, v->ctl_ev, &ne);
    int r = pump(v->ctl, &v->ctl_in);
    char line[4096];
    while (!v->done && fake_lines_next(&v->ctl_in, line, sizeof(line))) {
        cJSON *m = cJSON_Parse(line);
        const char *ev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "event"));
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(m, "status");
        if (ev && !strcmp(ev, "exited"))
            exited(v, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "exit_type")),
                   (HRESULT)(int32_t)(cJSON_IsNumber(st) ? (int64_t)st->valuedouble : 0));
        else
            note(v, "the helper said: ", line);
        cJSON_Delete(m);
    }
    if (r < 0 && !v->done) {
        note(v, "the helper closed the control connection without reporting an exit", NULL);
        exited(v, v->terminating ? "ForcedExit" : "UnexpectedExit",
               v->terminating ? S_OK : E_UNEXPECTED);
    }
}

static void begin_terminate(struct vm *v)
{
    if (v->terminating)
        return;
    v->terminating = true;
    v->terminate_deadline = GetTickCount() + TERMINATE_WAIT_MS;
    if (send_op(v, "terminate") < 0)
        exited(v, "ForcedExit", S_OK);
}

static void on_requests(struct vm *v)
{
    EnterCriticalSection(&v->s->lock);
    bool term = v->s->req_terminate;
    bool shut = v->s->req_shutdown;
    v->s->req_shutdown = false;
    LeaveCriticalSection(&v->s->lock);
    if (term)
        begin_terminate(v);
    if (shut && !v->shutdown_sent && !v->terminating) {
        v->shutdown_sent = true;
        (void)send_op(v, "shutdown");
    }
}

/* Milliseconds until the next timed thing (an injection, the terminate deadline). */
static DWORD next_timeout(struct vm *v)
{
    DWORD now = GetTickCount(), best = INFINITE;
    long inj[2] = {v->crash || v->disconnect ? -1 : v->cfg->inject.crash_ms,
                   v->crash || v->disconnect ? -1 : v->cfg->inject.disconnect_ms};
    for (int i = 0; i < 2; i++)
        if (inj[i] >= 0) {
            DWORD due = v->started_at + (DWORD)inj[i];
            DWORD left = (LONG)(due - now) > 0 ? due - now : 0;
            best = left < best ? left : best;
        }
    if (v->terminating) {
        DWORD left = (LONG)(v->terminate_deadline - now) > 0 ? v->terminate_deadline - now : 0;
        best = left < best ? left : best;
    }
    return best;
}

static void on_timers(struct vm *v)
{
    DWORD now = GetTickCount();
    const struct fake_inject *in = &v->cfg->inject;
    bool due_crash = in->crash_ms >= 0 && (LONG)(now - v->started_at - (DWORD)in->crash_ms) >= 0;
    bool due_disc =
        in->disconnect_ms >= 0 && (LONG)(now - v->started_at - (DWORD)in->disconnect_ms) >= 0;
    if (!v->crash && !v->disconnect && due_crash) {
        note(v, "injected guest crash (EVM_FAKE_HCS_INJECT event=CRASH)", NULL);
        v->crash = true;
        begin_terminate(v);
    } else if (!v->crash && !v->disconnect && due_disc) {
        note(v, "injected service disconnect (EVM_FAKE_HCS_INJECT event=SERVICE_DISCONNECT)", NULL);
        v->disconnect = true;
        begin_terminate(v);
    }
    if (v->terminating && (LONG)(now - v->terminate_deadline) >= 0 && !v->done) {
        note(v, "the helper did not report the exit within 10 s of terminate", NULL);
        exited(v, "ForcedExit", S_OK);
    }
}

static void relay(struct vm *v)
{
    start_read(v);
    while (!v->done) {
        HANDLE hs[4];
        int kinds[4];
        DWORD n = 0;
        hs[n] = v->s->wake, kinds[n++] = 0;
        hs[n] = v->ctl_ev, kinds[n++] = 1;
        if (v->con != INVALID_SOCKET)
            hs[n] = v->con_ev, kinds[n++] = 2;
        if (v->pipe != INVALID_HANDLE_VALUE)
            hs[n] = v->rev, kinds[n++] = 3;
        DWORD w = WaitForMultipleObjects(n, hs, FALSE, next_timeout(v));
        if (w < WAIT_OBJECT_0 + n) {
            switch (kinds[w - WAIT_OBJECT_0]) {
            case 0:
                on_requests(v);
                break;
            case 1:
                on_control(v);
                break;
            case 2:
                on_console(v);
                break;
            case 3:
                on_pipe_read(v);
                break;
            }
        }
        on_timers(v);
    }
}

/* ---- the end
 * -------------------------------------------------------------------------------------- */

static char *exit_doc(HRESULT status, const char *type)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "{\"Status\":%ld,\"ExitType\":\"%s\"}", (long)(int32_t)status, type);
    return strdup(buf);
}

static char *crash_doc(const char *id)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *params = cJSON_CreateArray();
    char *text = NULL;
    if (o && params) {
        cJSON_AddStringToObject(o, "SystemId", id);
        cJSON_AddStringToObject(o, "ActivityId", "00000000-0000-0000-0000-000000000000");
        for (int i = 0; i < 5; i++)
            cJSON_AddItemToArray(params, cJSON_CreateNumber(0));
        cJSON_AddItemToObject(o, "CrashParameters", params);
        params = NULL;
        cJSON_AddStringToObject(o, "CrashLog",
                                "Kernel panic - not syncing: simulated by the fake HCS "
                                "(EVM_FAKE_HCS_INJECT event=CRASH)");
        cJSON_AddNumberToObject(o, "Status", 0);
        text = cJSON_PrintUnformatted(o);
    }
    cJSON_Delete(params);
    cJSON_Delete(o);
    return text;
}

static void close_all(struct vm *v)
{
    if (v->con != INVALID_SOCKET)
        closesocket(v->con);
    if (v->ctl != INVALID_SOCKET)
        closesocket(v->ctl); /* the control connection closing also kills the VM */
    v->con = v->ctl = INVALID_SOCKET;
    if (v->pipe != INVALID_HANDLE_VALUE) {
        CancelIoEx(v->pipe, NULL);
        CloseHandle(v->pipe); /* the host's reader sees ERROR_BROKEN_PIPE */
        v->pipe = INVALID_HANDLE_VALUE;
    }
}

static void deliver_end(struct vm *v)
{
    char *doc = NULL;
    if (v->disconnect) {
        cc_deliver(v->s, HcsEventServiceDisconnect, NULL);
        return;
    }
    if (v->crash) {
        doc = crash_doc(v->s->id);
        cc_deliver(v->s, HcsEventSystemCrashInitiated, doc);
        cc_deliver(v->s, HcsEventSystemCrashReport, doc);
        free(doc);
        doc = exit_doc(HCS_E_GUEST_CRITICAL_ERROR, "UnexpectedExit");
    } else {
        doc = exit_doc(v->status, v->exit_type);
    }
    cc_deliver(v->s, HcsEventSystemExited, doc);
    free(doc);
}

/* Marks the system stopped, delivers its events and completes the operations waiting on it.
 * start_hr: the start operation's result when it was still pending. */
static void finish(struct vm *v, bool ran, HRESULT start_hr, const char *start_msg)
{
    struct fsys *s = v->s;
    close_all(v);
    EnterCriticalSection(&s->lock);
    s->state = SYS_STOPPED;
    s->disconnected = v->disconnect;
    struct fop *start = s->start_op, *shut = s->shutdown_op, *term = s->terminate_op;
    s->start_op = s->shutdown_op = s->terminate_op = NULL;
    s->req_shutdown = s->req_terminate = false;
    LeaveCriticalSection(&s->lock);
    if (v->disconnect)
        cc_state_remove(s->id); /* the service lost everything */
    else
        cc_state_put(s);
    if (ran)
        deliver_end(v);
    if (start)
        cc_op_fail(start, start_hr, start_msg);
    bool graceful = !strcmp(v->exit_type, "GracefulExit");
    if (term)
        v->disconnect ? cc_op_fail(term, HCS_E_SERVICE_DISCONNECT, "the service disconnected")
                      : cc_op_complete(term, S_OK, NULL);
    if (shut && v->disconnect)
        cc_op_fail(shut, HCS_E_SERVICE_DISCONNECT, "the service disconnected");
    else if (shut && graceful)
        cc_op_complete(shut, S_OK, NULL);
    else if (shut)
        cc_op_fail(shut, HCS_E_SYSTEM_ALREADY_STOPPED,
                   "the compute system stopped another way before the shutdown completed");
    EnterCriticalSection(&s->lock);
    bool orphaned = s->nhandles == 0;
    LeaveCriticalSection(&s->lock);
    if (orphaned)
        cc_sys_forget(s, true);
}

static void wait_hang(struct vm *v)
{
    note(v, "start=HANG: the start never completes (EVM_FAKE_HCS_INJECT)", NULL);
    while (!terminate_requested(v->s))
        WaitForSingleObject(v->s->wake, INFINITE);
}

static void run(struct vm *v)
{
    char msg[640];
    HRESULT hr = start_checks(v, msg, sizeof(msg));
    if (hr != S_OK) {
        note(v, "start refused: ", msg);
        finish(v, false, hr, msg);
        return;
    }
    if (v->cfg->inject.start_hang) {
        wait_hang(v);
        exited(v, "ForcedExit", S_OK);
        finish(v, true, HCS_E_TERMINATED_DURING_START, "terminated while starting");
        return;
    }
    connect_com1(v);
    enum started st = connect_helper(v, msg, sizeof(msg));
    if (st != STARTED_OK) {
        exited(v, "ForcedExit", S_OK);
        finish(v, st == STARTED_TERMINATED, HCS_E_TERMINATED_DURING_START,
               st == STARTED_TERMINATED ? "terminated while starting" : msg);
        return;
    }
    connect_console(v);
    EnterCriticalSection(&v->s->lock);
    v->s->state = SYS_RUNNING;
    struct fop *start = v->s->start_op;
    v->s->start_op = NULL;
    LeaveCriticalSection(&v->s->lock);
    cc_state_put(v->s);
    v->started_at = GetTickCount();
    cc_op_complete(start, S_OK, NULL);
    on_requests(v); /* a stop asked for while starting */
    relay(v);
    finish(v, true, S_OK, NULL);
}

/* Releases what vm_new made (the events, the memory; not the system). */
static void vm_free(struct vm *v)
{
    if (v->rev)
        CloseHandle(v->rev);
    if (v->wev)
        CloseHandle(v->wev);
    if (v->ctl_ev != WSA_INVALID_EVENT)
        WSACloseEvent(v->ctl_ev);
    if (v->con_ev != WSA_INVALID_EVENT)
        WSACloseEvent(v->con_ev);
    free(v);
}

static struct vm *vm_new(struct fsys *s, struct evm_err *err)
{
    struct vm *v = calloc(1, sizeof(*v));
    if (!v) {
        evm_errf(err, ENOMEM, "no memory for the VM");
        return NULL;
    }
    v->s = s;
    v->cfg = &g_cc.cfg;
    v->pipe = INVALID_HANDLE_VALUE;
    v->ctl = v->con = INVALID_SOCKET;
    v->rev = CreateEventW(NULL, TRUE, FALSE, NULL);
    v->wev = CreateEventW(NULL, TRUE, FALSE, NULL);
    v->ctl_ev = WSACreateEvent();
    v->con_ev = WSACreateEvent();
    snprintf(v->exit_type, sizeof(v->exit_type), "Unknown");
    if (!v->rev || !v->wev || v->ctl_ev == WSA_INVALID_EVENT || v->con_ev == WSA_INVALID_EVENT) {
        evm_errf(err, EIO, "creating the VM worker's events: error %lu", GetLastError());
        vm_free(v);
        return NULL;
    }
    return v;
}

static DWORD WINAPI worker(void *arg)
{
    struct vm *v = arg;
    HMODULE self = v->self;
    struct fsys *s = v->s;
    run(v);
    vm_free(v);
    cc_sys_put(s);
    FreeLibraryAndExitThread(self, 0);
    return 0;
}

int fakevm_start(struct fsys *s, struct evm_err *err)
{
    int r = fake_wsa_init(err);
    struct vm *v = r == 0 ? vm_new(s, err) : NULL;
    if (!v)
        return r < 0 ? r : -EIO;
    /* The worker holds the DLL (FreeLibraryAndExitThread) and the system. */
    if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, (LPCWSTR)&module_anchor,
                            &v->self)) {
        r = evm_errf(err, EIO, "GetModuleHandleExW: error %lu", GetLastError());
        vm_free(v);
        return r;
    }
    InterlockedIncrement(&s->refs);
    DWORD tid = 0;
    EnterCriticalSection(&s->lock);
    HANDLE t = CreateThread(NULL, 0, worker, v, 0, &tid);
    if (t) {
        s->worker = t;
        s->worker_tid = tid;
    }
    LeaveCriticalSection(&s->lock);
    if (t)
        return 0;
    r = evm_errf(err, EIO, "starting the VM worker: error %lu", GetLastError());
    FreeLibrary(v->self);
    vm_free(v);
    cc_sys_put(s);
    return r;
}
