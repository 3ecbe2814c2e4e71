/* computecore.c — the simulated computecore.dll (TEST ONLY, never shipped; README.md): the
 * HCS API with the real names and prototypes (mingw's computecore.h), strict where real HCS
 * refuses and asynchronous where it is. Operations complete on another thread; compute
 * systems live in this process (their VM in a worker, fakevm.c) and in the state file
 * shared with later processes (stale systems); events reach every handle's callback, and
 * closing a handle drains the callbacks in flight. Every call appends a line to calls.log. */
#include "fakecc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcsvalidate.h"

#define ASYNC_DELAY_MS 2 /* operations complete on another thread, a little later */
#define CLOSE_TERMINATE_WAIT_MS 30000

struct fake_cc g_cc;

static INIT_ONCE first_once = INIT_ONCE_STATIC_INIT;

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved);

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH) {
        DisableThreadLibraryCalls(inst);
        g_cc.self = inst;
        InitializeCriticalSection(&g_cc.lock);
        fake_config_load(&g_cc.cfg);
    }
    return TRUE;
}

static BOOL CALLBACK first_call_once(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    (void)once;
    (void)param;
    (void)ctx;
    const struct fake_config *c = &g_cc.cfg;
    fake_log(c,
             "note computecore (fake HCS, a simulation) loaded: state=%s helper=%s inject=%s "
             "max_schema=2.%u%s%s",
             c->state_dir_u8, c->helper[0] ? c->helper : "(none: simulated guest)",
             c->inject_raw[0] ? c->inject_raw : "(none)", c->max_schema_minor,
             c->config_errors[0] ? " CONFIG ERRORS: " : "", c->config_errors);
    return TRUE;
}

static void first_call(void)
{
    InitOnceExecuteOnce(&first_once, first_call_once, NULL, NULL);
}

/* ---- the handle registry: a handle is valid only while registered ---------------------- */

static bool reg_add(struct fobj *o)
{
    bool ok = true;
    EnterCriticalSection(&g_cc.lock);
    if (g_cc.nreg == g_cc.capreg) {
        size_t cap = g_cc.capreg ? g_cc.capreg * 2 : 64;
        struct fobj **n = realloc(g_cc.reg, cap * sizeof(*n));
        if (n) {
            g_cc.reg = n;
            g_cc.capreg = cap;
        } else {
            ok = false;
        }
    }
    if (ok)
        g_cc.reg[g_cc.nreg++] = o;
    LeaveCriticalSection(&g_cc.lock);
    return ok;
}

static bool reg_remove(struct fobj *o)
{
    bool found = false;
    EnterCriticalSection(&g_cc.lock);
    for (size_t i = 0; i < g_cc.nreg && !found; i++)
        if (g_cc.reg[i] == o) {
            g_cc.reg[i] = g_cc.reg[--g_cc.nreg];
            found = true;
        }
    LeaveCriticalSection(&g_cc.lock);
    return found;
}

/* The object behind a caller's handle, with a reference; NULL when it is not a live handle
 * of that kind (never dereferenced before it is found in the registry). */
static struct fobj *reg_get(const void *h, enum fobj_kind kind)
{
    struct fobj *found = NULL;
    EnterCriticalSection(&g_cc.lock);
    for (size_t i = 0; i < g_cc.nreg && !found; i++)
        if ((const void *)g_cc.reg[i] == h && g_cc.reg[i]->kind == kind) {
            found = g_cc.reg[i];
            InterlockedIncrement(&found->refs);
        }
    LeaveCriticalSection(&g_cc.lock);
    return found;
}

void cc_sys_put(struct fsys *s)
{
    if (!s || InterlockedDecrement(&s->refs) != 0)
        return;
    cJSON_Delete(s->doc);
    DeleteCriticalSection(&s->lock);
    if (s->wake)
        CloseHandle(s->wake);
    if (s->worker)
        CloseHandle(s->worker);
    free(s);
}

static void obj_put(struct fobj *o)
{
    if (!o || InterlockedDecrement(&o->refs) != 0)
        return;
    if (o->kind == FOBJ_OP) {
        struct fop *op = (struct fop *)o;
        DeleteCriticalSection(&op->lock);
        CloseHandle(op->done);
        free(op->result);
        free(op);
    } else {
        struct fhandle *h = (struct fhandle *)o;
        cc_sys_put(h->sys);
        free(h);
    }
}

static struct fop *get_op(HCS_OPERATION h)
{
    return (struct fop *)reg_get(h, FOBJ_OP);
}

static struct fhandle *get_handle(HCS_SYSTEM h)
{
    return (struct fhandle *)reg_get(h, FOBJ_SYSTEM_HANDLE);
}

static const char *hrs(HRESULT hr, char *buf, size_t n)
{
    return fake_hr_text(hr, buf, n);
}

/* ---- operations ------------------------------------------------------------------------------ */

static HRESULT op_begin(struct fop *op, const char *api, HCS_OPERATION_TYPE type)
{
    HRESULT hr = S_OK;
    EnterCriticalSection(&op->lock);
    if (op->st != OP_IDLE) {
        hr = HCS_E_OPERATION_ALREADY_STARTED;
    } else {
        op->st = OP_PENDING;
        op->api = api;
        op->type = type;
        InterlockedIncrement(&op->o.refs); /* held by the pending action */
    }
    LeaveCriticalSection(&op->lock);
    return hr;
}

void cc_op_complete(struct fop *op, HRESULT hr, const char *result)
{
    char b[80];
    EnterCriticalSection(&op->lock);
    if (op->st != OP_PENDING) {
        LeaveCriticalSection(&op->lock);
        return;
    }
    op->st = OP_DONE;
    op->hr = hr;
    op->result = result ? strdup(result) : NULL;
    bool closed = op->closed;
    HCS_OPERATION_COMPLETION cb = op->cb;
    const void *ctx = op->context;
    fake_log(&g_cc.cfg, "complete op=%llu %s -> %s%s%s", (unsigned long long)op->id, op->api,
             hrs(hr, b, sizeof(b)), result ? " result=" : "", result ? result : "");
    SetEvent(op->done);
    LeaveCriticalSection(&op->lock);
    if (cb && !closed)
        cb((HCS_OPERATION)op, (void *)ctx);
    obj_put(&op->o);
}

void cc_op_fail(struct fop *op, HRESULT hr, const char *message)
{
    char *doc = fake_result_error(hr, message);
    cc_op_complete(op, hr, doc);
    free(doc);
}

struct later {
    struct fop *op;
    HRESULT hr;
    char *result;
    HMODULE self;
};

static DWORD WINAPI later_thread(void *arg)
{
    struct later *l = arg;
    HMODULE self = l->self;
    Sleep(ASYNC_DELAY_MS);
    cc_op_complete(l->op, l->hr, l->result);
    free(l->result);
    free(l);
    FreeLibraryAndExitThread(self, 0);
    return 0;
}

/* Completes op from another thread, as HCS does; result (owned) may be NULL. */
static void complete_later(struct fop *op, HRESULT hr, char *result)
{
    struct later *l = malloc(sizeof(*l));
    HANDLE t = NULL;
    if (l && GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, (LPCWSTR)&g_cc, &l->self)) {
        l->op = op;
        l->hr = hr;
        l->result = result;
        t = CreateThread(NULL, 0, later_thread, l, 0, NULL);
        if (!t)
            FreeLibrary(l->self);
    }
    if (t) {
        CloseHandle(t);
        return;
    }
    free(l);
    cc_op_complete(op, hr, result); /* no thread: complete now rather than never */
    free(result);
}

static void fail_later(struct fop *op, HRESULT hr, const char *message)
{
    complete_later(op, hr, fake_result_error(hr, message));
}

HCS_OPERATION WINAPI HcsCreateOperation(const void *context, HCS_OPERATION_COMPLETION callback)
{
    first_call();
    struct fop *op = calloc(1, sizeof(*op));
    if (!op)
        return NULL;
    op->o.kind = FOBJ_OP;
    op->o.refs = 1;
    op->id = (uint64_t)InterlockedIncrement64(&g_cc.op_seq);
    op->context = context;
    op->cb = callback;
    op->type = HcsOperationTypeNone;
    op->api = "(not started)";
    InitializeCriticalSection(&op->lock);
    op->done = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!op->done || !reg_add(&op->o)) {
        if (op->done)
            CloseHandle(op->done);
        DeleteCriticalSection(&op->lock);
        free(op);
        return NULL;
    }
    fake_log(&g_cc.cfg, "HcsCreateOperation callback=%s -> op=%llu", callback ? "yes" : "no",
             (unsigned long long)op->id);
    return (HCS_OPERATION)op;
}

void WINAPI HcsCloseOperation(HCS_OPERATION operation)
{
    first_call();
    struct fop *op = get_op(operation);
    if (!op || !reg_remove(&op->o)) {
        fake_log(&g_cc.cfg,
                 "HcsCloseOperation op=%p -> invalid or closed handle (a bug in the "
                 "caller; real HCS may crash)",
                 (void *)operation);
        obj_put(op ? &op->o : NULL);
        return;
    }
    EnterCriticalSection(&op->lock);
    op->closed = true;
    bool pending = op->st == OP_PENDING;
    LeaveCriticalSection(&op->lock);
    fake_log(&g_cc.cfg, "HcsCloseOperation op=%llu%s", (unsigned long long)op->id,
             pending ? " (still pending: closed in flight)" : "");
    obj_put(&op->o); /* get_op's reference */
    obj_put(&op->o); /* the caller's */
}

void *WINAPI HcsGetOperationContext(HCS_OPERATION operation)
{
    first_call();
    struct fop *op = get_op(operation);
    void *ctx = op ? (void *)op->context : NULL;
    fake_log(&g_cc.cfg, "HcsGetOperationContext op=%llu%s", op ? (unsigned long long)op->id : 0ull,
             op ? "" : " -> invalid or closed handle");
    obj_put(op ? &op->o : NULL);
    return ctx;
}

HRESULT WINAPI HcsSetOperationContext(HCS_OPERATION operation, const void *context)
{
    first_call();
    struct fop *op = get_op(operation);
    fake_log(&g_cc.cfg, "HcsSetOperationContext op=%llu -> %s",
             op ? (unsigned long long)op->id : 0ull, op ? "S_OK" : "E_HANDLE");
    if (!op)
        return E_HANDLE;
    EnterCriticalSection(&op->lock);
    op->context = context;
    LeaveCriticalSection(&op->lock);
    obj_put(&op->o);
    return S_OK;
}

HRESULT WINAPI HcsSetOperationCallback(HCS_OPERATION operation, const void *context,
                                       HCS_OPERATION_COMPLETION callback)
{
    first_call();
    char b[80];
    struct fop *op = get_op(operation);
    HRESULT hr = op ? S_OK : E_HANDLE;
    if (op) {
        EnterCriticalSection(&op->lock);
        if (op->st != OP_IDLE) {
            hr = HCS_E_OPERATION_ALREADY_STARTED;
        } else {
            op->context = context;
            op->cb = callback;
        }
        LeaveCriticalSection(&op->lock);
    }
    fake_log(&g_cc.cfg, "HcsSetOperationCallback op=%llu -> %s",
             op ? (unsigned long long)op->id : 0ull, hrs(hr, b, sizeof(b)));
    obj_put(op ? &op->o : NULL);
    return hr;
}

HCS_OPERATION_TYPE WINAPI HcsGetOperationType(HCS_OPERATION operation)
{
    first_call();
    struct fop *op = get_op(operation);
    HCS_OPERATION_TYPE t = op ? op->type : HcsOperationTypeNone;
    fake_log(&g_cc.cfg, "HcsGetOperationType op=%llu -> %d", op ? (unsigned long long)op->id : 0ull,
             (int)t);
    obj_put(op ? &op->o : NULL);
    return t;
}

UINT64 WINAPI HcsGetOperationId(HCS_OPERATION operation)
{
    first_call();
    struct fop *op = get_op(operation);
    UINT64 id = op ? op->id : HCS_INVALID_OPERATION_ID;
    fake_log(&g_cc.cfg, "HcsGetOperationId -> %llu", (unsigned long long)id);
    obj_put(op ? &op->o : NULL);
    return id;
}

/* The result of a finished operation: its HRESULT and a LocalAlloc'd copy of its document. */
static HRESULT op_result(struct fop *op, PWSTR *doc)
{
    EnterCriticalSection(&op->lock);
    HRESULT hr = op->hr;
    const char *result = op->result;
    if (doc)
        *doc = result ? fake_local_wstr(result) : NULL;
    LeaveCriticalSection(&op->lock);
    return hr;
}

HRESULT WINAPI HcsWaitForOperationResult(HCS_OPERATION operation, DWORD timeoutMs,
                                         PWSTR *resultDocument)
{
    first_call();
    char b[80];
    if (resultDocument)
        *resultDocument = NULL;
    struct fop *op = get_op(operation);
    if (!op) {
        fake_log(&g_cc.cfg, "HcsWaitForOperationResult op=%p -> E_HANDLE (invalid or closed)",
                 (void *)operation);
        return E_HANDLE;
    }
    EnterCriticalSection(&op->lock);
    enum op_state st = op->st;
    LeaveCriticalSection(&op->lock);
    HRESULT hr;
    if (st == OP_IDLE)
        hr = HCS_E_OPERATION_NOT_STARTED;
    else if (WaitForSingleObject(op->done, timeoutMs) != WAIT_OBJECT_0)
        hr = HCS_E_OPERATION_TIMEOUT;
    else
        hr = op_result(op, resultDocument);
    fake_log(&g_cc.cfg, "HcsWaitForOperationResult op=%llu (%s) timeout=%lu -> %s",
             (unsigned long long)op->id, op->api, timeoutMs, hrs(hr, b, sizeof(b)));
    obj_put(&op->o);
    return hr;
}

HRESULT WINAPI HcsGetOperationResult(HCS_OPERATION operation, PWSTR *resultDocument)
{
    first_call();
    char b[80];
    if (resultDocument)
        *resultDocument = NULL;
    struct fop *op = get_op(operation);
    if (!op)
        return E_HANDLE;
    EnterCriticalSection(&op->lock);
    enum op_state st = op->st;
    LeaveCriticalSection(&op->lock);
    HRESULT hr = st == OP_IDLE      ? HCS_E_OPERATION_NOT_STARTED
                 : st == OP_PENDING ? HCS_E_OPERATION_PENDING
                                    : op_result(op, resultDocument);
    fake_log(&g_cc.cfg, "HcsGetOperationResult op=%llu (%s) -> %s", (unsigned long long)op->id,
             op->api, hrs(hr, b, sizeof(b)));
    obj_put(&op->o);
    return hr;
}

HRESULT WINAPI HcsCancelOperation(HCS_OPERATION operation)
{
    first_call();
    (void)operation;
    fake_log(&g_cc.cfg, "HcsCancelOperation -> 0x80004001 E_NOTIMPL (as documented: enforce "
                        "timeouts with terminate)");
    return E_NOTIMPL;
}

/* ---- compute systems in the state file --------------------------------------------------- */

static const char *state_name(enum sys_state st)
{
    switch (st) {
    case SYS_CREATED:
        return "Created";
    case SYS_STARTING:
        return "Created"; /* HCS says Created until the start completes */
    case SYS_RUNNING:
        return "Running";
    case SYS_STOPPED:
        return "Stopped";
    }
    return "Unknown";
}

static cJSON *find_by_id(cJSON *arr, const char *key, const char *id)
{
    cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
        if (cJSON_IsString(v) && !_stricmp(v->valuestring, id))
            return e;
    }
    return NULL;
}

static void state_remove_in(cJSON *arr, const char *id)
{
    int i = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "Id");
        if (cJSON_IsString(v) && !_stricmp(v->valuestring, id)) {
            cJSON_DeleteItemFromArray(arr, i);
            return;
        }
        i++;
    }
}

static void warn_state(const struct evm_err *err)
{
    fake_log(&g_cc.cfg, "note the state file could not be used: %s", err->msg);
}

/* The full-path keys of the document's SCSI disks: a running VM holds them open, which the
 * fake virtdisk honours (ERROR_SHARING_VIOLATION). */
static cJSON *disk_keys(const cJSON *doc)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *scsi = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "VirtualMachine"),
                                         "Devices"),
        "Scsi");
    for (const cJSON *c = scsi ? scsi->child : NULL; c && out; c = c->next) {
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(c, "Attachments"))
        {
            const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "Path"));
            wchar_t *w = fake_w(path);
            char key[MAX_PATH * 3];
            if (w && fake_full_path_key(w, key, sizeof(key), NULL) == 0)
                cJSON_AddItemToArray(out, cJSON_CreateString(key));
            free(w);
        }
    }
    return out;
}

void cc_state_put(struct fsys *s)
{
    struct fake_state st;
    struct evm_err err = {0};
    if (fake_state_begin(&g_cc.cfg, &st, &err) < 0) {
        warn_state(&err);
        return;
    }
    cJSON *arr = fake_state_array(&st, "systems");
    cJSON *old = find_by_id(arr, "Id", s->id);
    cJSON *disks = s->doc ? disk_keys(s->doc)
                          : cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(old, "Disks"), 1);
    state_remove_in(arr, s->id);
    cJSON *o = cJSON_CreateObject();
    DWORD pid;
    uint64_t created;
    fake_process_stamp(&pid, &created);
    EnterCriticalSection(&s->lock);
    enum sys_state state = s->state;
    LeaveCriticalSection(&s->lock);
    if (o) {
        cJSON_AddStringToObject(o, "Id", s->id);
        cJSON_AddStringToObject(o, "Owner", s->owner);
        cJSON_AddStringToObject(o, "State", state_name(state));
        bool service = s->seeded && state != SYS_STOPPED; /* the seed is the service's own */
        fake_stamp_put(o, service ? 0 : pid, service ? 0 : created);
        cJSON_AddBoolToObject(o, "TerminateOnLastHandleClosed", s->stolhc);
        if (disks)
            cJSON_AddItemToObject(o, "Disks", disks);
        disks = NULL;
        cJSON_AddItemToArray(arr, o);
    }
    cJSON_Delete(disks);
    if (fake_state_end(&g_cc.cfg, &st, true, &err) < 0)
        warn_state(&err);
}

void cc_state_remove(const char *id)
{
    struct fake_state st;
    struct evm_err err = {0};
    if (fake_state_begin(&g_cc.cfg, &st, &err) < 0) {
        warn_state(&err);
        return;
    }
    state_remove_in(fake_state_array(&st, "systems"), id);
    if (fake_state_end(&g_cc.cfg, &st, true, &err) < 0)
        warn_state(&err);
}

/* Drops systems whose host process is gone: a stopped one, or one that ended with its last
 * handle (ShouldTerminateOnLastHandleClosed). Others stay: a VM the service keeps running. */
static bool prune_systems(struct fake_state *st)
{
    cJSON *arr = fake_state_array(st, "systems");
    bool changed = false;
    for (int i = cJSON_GetArraySize(arr) - 1; i >= 0; i--) {
        cJSON *e = cJSON_GetArrayItem(arr, i);
        if (fake_system_exists(e))
            continue;
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "Id"));
        fake_log(&g_cc.cfg,
                 "note the process of compute system %s is gone: the system ended "
                 "with its last handle",
                 id ? id : "?");
        cJSON_DeleteItemFromArray(arr, i);
        changed = true;
    }
    return changed;
}

/* Opens the state, seeded and pruned; end it with fake_state_end(save = *dirty). */
static int state_open(struct fake_state *st, bool *dirty)
{
    struct evm_err err = {0};
    if (fake_state_begin(&g_cc.cfg, st, &err) < 0) {
        warn_state(&err);
        return -1;
    }
    bool seeded = g_cc.cfg.inject.stale &&
                  !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st->root, "stale_seeded"));
    fake_state_seed_stale(&g_cc.cfg, st);
    *dirty = prune_systems(st) || seeded;
    return 0;
}

static void state_close(struct fake_state *st, bool save)
{
    struct evm_err err = {0};
    if (fake_state_end(&g_cc.cfg, st, save, &err) < 0)
        warn_state(&err);
}

/* ---- compute systems in this process --------------------------------------------------------- */

static struct fsys *sys_new(const char *id, enum sys_kind kind)
{
    struct fsys *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->refs = 1;
    s->kind = kind;
    snprintf(s->id, sizeof(s->id), "%s", id);
    InitializeCriticalSection(&s->lock);
    InitializeConditionVariable(&s->cv);
    s->wake = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (!s->wake) {
        DeleteCriticalSection(&s->lock);
        free(s);
        return NULL;
    }
    return s;
}

/* Finds a listed system by id, with a reference. */
static struct fsys *sys_find(const char *id)
{
    EnterCriticalSection(&g_cc.lock);
    struct fsys *s = g_cc.systems;
    while (s && _stricmp(s->id, id) != 0)
        s = s->next;
    if (s)
        InterlockedIncrement(&s->refs);
    LeaveCriticalSection(&g_cc.lock);
    return s;
}

static void sys_list(struct fsys *s)
{
    EnterCriticalSection(&g_cc.lock);
    InterlockedIncrement(&s->refs); /* the list's */
    s->listed = true;
    s->next = g_cc.systems;
    g_cc.systems = s;
    LeaveCriticalSection(&g_cc.lock);
}

void cc_sys_forget(struct fsys *s, bool from_state)
{
    bool was = false;
    EnterCriticalSection(&g_cc.lock);
    for (struct fsys **p = &g_cc.systems; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            was = true;
            break;
        }
    s->listed = false;
    LeaveCriticalSection(&g_cc.lock);
    if (from_state)
        cc_state_remove(s->id);
    if (was)
        cc_sys_put(s);
}

static struct fhandle *handle_new(struct fsys *s)
{
    struct fhandle *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->o.kind = FOBJ_SYSTEM_HANDLE;
    h->o.refs = 1;
    h->sys = s;
    InterlockedIncrement(&s->refs);
    if (!reg_add(&h->o)) {
        cc_sys_put(s);
        free(h);
        return NULL;
    }
    EnterCriticalSection(&s->lock);
    h->next = s->handles;
    s->handles = h;
    s->nhandles++;
    LeaveCriticalSection(&s->lock);
    return h;
}

static char *exit_status_doc(HRESULT status, const char *exit_type)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddNumberToObject(o, "Status", (double)(int32_t)status) &&
        cJSON_AddStringToObject(o, "ExitType", exit_type))
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static const char *event_name(HCS_EVENT_TYPE t)
{
    switch (t) {
    case HcsEventSystemExited:
        return "HcsEventSystemExited";
    case HcsEventSystemCrashInitiated:
        return "HcsEventSystemCrashInitiated";
    case HcsEventSystemCrashReport:
        return "HcsEventSystemCrashReport";
    case HcsEventServiceDisconnect:
        return "HcsEventServiceDisconnect";
    default:
        return "HcsEvent?";
    }
}

void cc_deliver(struct fsys *s, HCS_EVENT_TYPE type, const char *data)
{
    wchar_t *w = data ? fake_w(data) : NULL;
    HCS_EVENT ev = {.Type = type, .EventData = w, .Operation = NULL};
    struct fhandle *targets[16];
    size_t n = 0;
    EnterCriticalSection(&s->lock);
    for (struct fhandle *h = s->handles; h && n < 16; h = h->next)
        if (h->cb && !h->closing) {
            h->inflight++;
            targets[n++] = h;
        }
    s->delivering_tid = GetCurrentThreadId();
    LeaveCriticalSection(&s->lock);
    fake_log(&g_cc.cfg, "event %s system=%s to %zu callback(s) data=%s", event_name(type), s->id, n,
             data ? data : "(null)");
    for (size_t i = 0; i < n; i++)
        targets[i]->cb(&ev, targets[i]->cb_ctx);
    EnterCriticalSection(&s->lock);
    for (size_t i = 0; i < n; i++)
        targets[i]->inflight--;
    s->delivering_tid = 0;
    WakeAllConditionVariable(&s->cv);
    LeaveCriticalSection(&s->lock);
    free(w);
}

/* Stops a system no worker runs (an orphan, or one created and never started). */
static void stop_without_worker(struct fsys *s, const char *exit_type)
{
    EnterCriticalSection(&s->lock);
    s->state = SYS_STOPPED;
    LeaveCriticalSection(&s->lock);
    cc_state_put(s);
    char *doc = exit_status_doc(S_OK, exit_type);
    cc_deliver(s, HcsEventSystemExited, doc);
    free(doc);
}

static cJSON *sys_properties(const char *id, const char *owner, const char *state)
{
    cJSON *o = cJSON_CreateObject();
    GUID g;
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "Id", id);
    cJSON_AddStringToObject(o, "SystemType", "VirtualMachine");
    cJSON_AddStringToObject(o, "Owner", owner);
    if (fake_guid_parse(id, &g))
        cJSON_AddStringToObject(o, "RuntimeId", id);
    cJSON_AddStringToObject(o, "State", state);
    cJSON_AddBoolToObject(o, "Stopped", !strcmp(state, "Stopped"));
    return o;
}

/* ---- create, open, start, stop -----------------------------------------------------------------
 */

static void keep_document(const char *id, const char *json)
{
    wchar_t path[MAX_PATH + 160];
    char safe[128];
    size_t i = 0;
    for (; id[i] && i < sizeof(safe) - 1; i++)
        safe[i] = (isalnum((unsigned char)id[i]) || id[i] == '-') ? id[i] : '_';
    safe[i] = '\0';
    wchar_t *wsafe = fake_w(safe);
    if (!wsafe)
        return;
    _snwprintf(path, sizeof(path) / sizeof(path[0]), L"%ls\\%ls.document.json", g_cc.cfg.state_dir,
               wsafe);
    path[sizeof(path) / sizeof(path[0]) - 1] = L'\0';
    free(wsafe);
    HANDLE h = CreateFileW(path, GENERIC_WRITE, FILE_SHARE_READ, NULL, CREATE_ALWAYS, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return;
    DWORD wrote;
    (void)WriteFile(h, json, (DWORD)strlen(json), &wrote, NULL);
    CloseHandle(h);
}

static bool id_exists(const char *id)
{
    struct fsys *s = sys_find(id);
    if (s) {
        cc_sys_put(s);
        return true;
    }
    struct fake_state st;
    bool dirty = false;
    if (state_open(&st, &dirty) < 0)
        return false;
    bool found = find_by_id(fake_state_array(&st, "systems"), "Id", id) != NULL;
    state_close(&st, dirty);
    return found;
}

/* Validates the document; on success fills s (listed, Created, recorded in the state). */
static HRESULT create_system(struct fsys *s, const wchar_t *configuration, char *msg, size_t n)
{
    bool invalid = false;
    char *json = fake_u8(configuration, &invalid);
    struct hcsv_host host = {.max_minor = g_cc.cfg.max_schema_minor};
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    host.cpus = si.dwNumberOfProcessors ? si.dwNumberOfProcessors : 1;
    HRESULT hr = S_OK;
    cJSON *doc = NULL;
    if (g_cc.cfg.inject.create_invalid_json) {
        hr = HCS_E_INVALID_JSON;
        snprintf(msg, n, "injected by EVM_FAKE_HCS_INJECT create=INVALID_JSON");
    } else if (!json) {
        hr = HCS_E_INVALID_JSON;
        snprintf(msg, n, "the document is not valid UTF-16");
    } else {
        hr = hcsv_document(json, &host, &doc, msg, n);
    }
    if (hr == S_OK && id_exists(s->id)) {
        hr = HCS_E_SYSTEM_ALREADY_EXISTS;
        snprintf(msg, n, "a compute system with the id %s already exists", s->id);
    }
    if (hr == S_OK) {
        const char *owner = hcsv_string(doc, "Owner");
        snprintf(s->owner, sizeof(s->owner), "%s", owner ? owner : "");
        s->stolhc = cJSON_IsTrue(
            cJSON_GetObjectItemCaseSensitive(doc, "ShouldTerminateOnLastHandleClosed"));
        s->doc = doc;
        s->state = SYS_CREATED;
        sys_list(s);
        cc_state_put(s);
        keep_document(s->id, json);
    } else {
        cJSON_Delete(doc);
    }
    free(json);
    return hr;
}

HRESULT WINAPI HcsCreateComputeSystem(PCWSTR id, PCWSTR configuration, HCS_OPERATION operation,
                                      const SECURITY_DESCRIPTOR *securityDescriptor,
                                      HCS_SYSTEM *computeSystem)
{
    first_call();
    char b[80], msg[640];
    char *id8 = fake_u8(id, NULL);
    struct fop *op = get_op(operation);
    HRESULT hr = S_OK;
    if (computeSystem)
        *computeSystem = NULL;
    if (!id8 || !id8[0] || strlen(id8) >= 128 || !configuration)
        hr = E_INVALIDARG;
    else if (!computeSystem)
        hr = E_POINTER;
    else if (!op)
        hr = E_HANDLE;
    else
        hr = op_begin(op, "HcsCreateComputeSystem", HcsOperationTypeCreate);
    struct fsys *s = NULL;
    struct fhandle *h = NULL;
    if (hr == S_OK && (!(s = sys_new(id8, SYS_LOCAL)) || !(h = handle_new(s)))) {
        hr = E_OUTOFMEMORY;
        cc_op_complete(op, hr, NULL);
    }
    if (hr == S_OK) {
        HRESULT result = create_system(s, configuration, msg, sizeof(msg));
        *computeSystem = (HCS_SYSTEM)h;
        fake_log(&g_cc.cfg,
                 "HcsCreateComputeSystem id=%s op=%llu sd=%s -> S_OK (the operation "
                 "completes %s%s%s)",
                 id8, (unsigned long long)op->id, securityDescriptor ? "given" : "NULL",
                 hrs(result, b, sizeof(b)), result == S_OK ? "" : ": ", result == S_OK ? "" : msg);
        if (result == S_OK)
            complete_later(op, S_OK, NULL);
        else
            fail_later(op, result, msg);
    } else {
        fake_log(&g_cc.cfg, "HcsCreateComputeSystem id=%s -> %s", id8 ? id8 : "(null)",
                 hrs(hr, b, sizeof(b)));
    }
    cc_sys_put(s);
    obj_put(op ? &op->o : NULL);
    free(id8);
    return hr;
}

static enum sys_state state_from_name(const char *n)
{
    if (n && !strcmp(n, "Running"))
        return SYS_RUNNING;
    if (n && !strcmp(n, "Stopped"))
        return SYS_STOPPED;
    return SYS_CREATED;
}

/* A system only the state file knows: an orphan (its process is gone) or another live
 * process's. Listed in this process from now on. */
static struct fsys *adopt(const char *id, HRESULT *hr)
{
    struct fake_state st;
    bool dirty = false;
    *hr = HCS_E_SYSTEM_NOT_FOUND;
    if (state_open(&st, &dirty) < 0)
        return NULL;
    const cJSON *e = find_by_id(fake_state_array(&st, "systems"), "Id", id);
    struct fsys *s = NULL;
    if (e) {
        DWORD pid;
        uint64_t created;
        fake_stamp_get(e, &pid, &created);
        bool alive = pid != 0 && pid != GetCurrentProcessId() && fake_process_alive(pid, created);
        const char *owner = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "Owner"));
        s = sys_new(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "Id")),
                    alive ? SYS_REMOTE : SYS_ORPHAN);
        if (s) {
            snprintf(s->owner, sizeof(s->owner), "%s", owner ? owner : "");
            s->state =
                state_from_name(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "State")));
            s->stolhc =
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "TerminateOnLastHandleClosed"));
            s->seeded = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "Seeded"));
            sys_list(s);
            *hr = S_OK;
        } else {
            *hr = E_OUTOFMEMORY;
        }
    }
    state_close(&st, dirty);
    return s;
}

HRESULT WINAPI HcsOpenComputeSystem(PCWSTR id, DWORD requestedAccess, HCS_SYSTEM *computeSystem)
{
    first_call();
    char b[80];
    char *id8 = fake_u8(id, NULL);
    HRESULT hr = S_OK;
    struct fsys *s = NULL;
    struct fhandle *h = NULL;
    if (computeSystem)
        *computeSystem = NULL;
    if (!id8 || !id8[0])
        hr = E_INVALIDARG;
    else if (!computeSystem)
        hr = E_POINTER;
    else if (!(s = sys_find(id8)))
        s = adopt(id8, &hr);
    if (hr == S_OK && !(h = handle_new(s)))
        hr = E_OUTOFMEMORY;
    if (hr == S_OK)
        *computeSystem = (HCS_SYSTEM)h;
    fake_log(&g_cc.cfg, "HcsOpenComputeSystem id=%s access=0x%lx -> %s%s", id8 ? id8 : "(null)",
             requestedAccess, hrs(hr, b, sizeof(b)),
             !s                      ? ""
             : s->kind == SYS_ORPHAN ? " (a system whose process is gone)"
             : s->kind == SYS_REMOTE ? " (hosted by another live process)"
                                     : "");
    cc_sys_put(s);
    free(id8);
    return hr;
}

static bool any_callback(struct fsys *s)
{
    bool any = false;
    EnterCriticalSection(&s->lock);
    for (struct fhandle *h = s->handles; h && !any; h = h->next)
        any = h->cb != NULL;
    LeaveCriticalSection(&s->lock);
    return any;
}

/* Why a start cannot begin now, or S_OK with the system marked starting. */
static HRESULT start_admissible(struct fsys *s, char *msg, size_t n)
{
    HRESULT hr = S_OK;
    EnterCriticalSection(&s->lock);
    if (!s->listed) {
        hr = HCS_E_SYSTEM_NOT_FOUND;
        snprintf(msg, n, "the compute system %s does not exist (its creation failed)", s->id);
    } else if (s->kind == SYS_REMOTE) {
        hr = E_NOTIMPL;
        snprintf(msg, n, "the fake does not control a VM hosted by another live process");
    } else if (s->kind == SYS_ORPHAN || s->state != SYS_CREATED) {
        hr = HCS_E_INVALID_STATE;
        snprintf(msg, n, "the compute system %s is %s", s->id, state_name(s->state));
    } else {
        s->state = SYS_STARTING;
    }
    LeaveCriticalSection(&s->lock);
    return hr;
}

HRESULT WINAPI HcsStartComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                                     PCWSTR options)
{
    first_call();
    char b[80], msg[256];
    struct fhandle *h = get_handle(computeSystem);
    struct fop *op = get_op(operation);
    HRESULT hr = (!h || !op) ? E_HANDLE : S_OK;
    if (hr == S_OK && h->sys->disconnected)
        hr = HCS_E_SERVICE_DISCONNECT;
    if (hr == S_OK)
        hr = op_begin(op, "HcsStartComputeSystem", HcsOperationTypeStart);
    if (hr == S_OK) {
        struct fsys *s = h->sys;
        HRESULT why = start_admissible(s, msg, sizeof(msg));
        if (why != S_OK) {
            fail_later(op, why, msg);
        } else {
            if (!any_callback(s))
                fake_log(&g_cc.cfg,
                         "note HcsStartComputeSystem %s: no handle has a callback "
                         "(HcsSetComputeSystemCallback must come before start, or the "
                         "exit goes unnoticed)",
                         s->id);
            EnterCriticalSection(&s->lock);
            s->start_op = op;
            LeaveCriticalSection(&s->lock);
            struct evm_err err = {0};
            if (fakevm_start(s, &err) < 0) {
                EnterCriticalSection(&s->lock);
                s->start_op = NULL;
                s->state = SYS_STOPPED;
                LeaveCriticalSection(&s->lock);
                fail_later(op, E_FAIL, err.msg);
            }
        }
    }
    fake_log(&g_cc.cfg, "HcsStartComputeSystem system=%s op=%llu options=%s -> %s",
             h ? h->sys->id : "(invalid handle)", op ? (unsigned long long)op->id : 0ull,
             options ? "given" : "NULL", hrs(hr, b, sizeof(b)));
    obj_put(h ? &h->o : NULL);
    obj_put(op ? &op->o : NULL);
    return hr;
}

enum stop_kind { STOP_SHUTDOWN, STOP_TERMINATE };

/* The answer to a stop that needs no worker, or S_FALSE when the worker takes it. */
static HRESULT stop_now(struct fsys *s, enum stop_kind kind, char *msg, size_t n)
{
    const char *what = kind == STOP_SHUTDOWN ? "shutdown" : "terminate";
    if (!s->listed) {
        snprintf(msg, n, "the compute system %s does not exist", s->id);
        return HCS_E_SYSTEM_NOT_FOUND;
    }
    if (s->kind == SYS_REMOTE) {
        snprintf(msg, n, "the fake does not control a VM hosted by another live process");
        return E_NOTIMPL;
    }
    if (s->state == SYS_STOPPED || s->terminate_op || s->req_terminate ||
        (kind == STOP_SHUTDOWN && s->shutdown_op)) {
        snprintf(msg, n, "%s: the compute system %s is already stopped or stopping", what, s->id);
        return HCS_E_SYSTEM_ALREADY_STOPPED;
    }
    if (kind == STOP_SHUTDOWN && s->state != SYS_RUNNING) {
        snprintf(msg, n, "shutdown: the compute system %s is %s, not running", s->id,
                 s->state == SYS_STARTING ? "starting" : state_name(s->state));
        return HCS_E_INVALID_STATE;
    }
    if (kind == STOP_SHUTDOWN && g_cc.cfg.inject.shutdown_no_ic) {
        snprintf(msg, n,
                 "the guest has no shutdown integration component (EVM_FAKE_HCS_INJECT "
                 "shutdown=NO_IC)");
        return FAKE_HR(0x800710DFL);
    }
    return S_FALSE;
}

/* Hands the stop to the worker (LOCAL) or performs it (no worker). */
static void stop_system(struct fsys *s, struct fop *op, enum stop_kind kind)
{
    char msg[256];
    EnterCriticalSection(&s->lock);
    HRESULT hr = stop_now(s, kind, msg, sizeof(msg));
    bool local_running = s->kind == SYS_LOCAL && s->state != SYS_CREATED;
    if (hr == S_FALSE && local_running) {
        if (kind == STOP_TERMINATE) {
            s->terminate_op = op;
            s->req_terminate = true;
        } else {
            s->shutdown_op = op;
            s->req_shutdown = !g_cc.cfg.inject.guest_ignore_stop;
        }
        SetEvent(s->wake);
    }
    LeaveCriticalSection(&s->lock);
    if (hr == S_FALSE && local_running) {
        if (kind == STOP_SHUTDOWN && g_cc.cfg.inject.guest_ignore_stop)
            fake_log(&g_cc.cfg,
                     "note guest=IGNORE_STOP: the guest ignores the shutdown request "
                     "of %s; the operation stays pending until the VM stops",
                     s->id);
        return;
    }
    if (hr == S_FALSE) {
        stop_without_worker(s, kind == STOP_SHUTDOWN ? "GracefulExit" : "ForcedExit");
        complete_later(op, S_OK, NULL);
        return;
    }
    fail_later(op, hr, msg);
}

static HRESULT stop_api(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options,
                        enum stop_kind kind)
{
    const char *api =
        kind == STOP_SHUTDOWN ? "HcsShutDownComputeSystem" : "HcsTerminateComputeSystem";
    char b[80];
    struct fhandle *h = get_handle(computeSystem);
    struct fop *op = get_op(operation);
    HRESULT hr = (!h || !op) ? E_HANDLE : S_OK;
    if (hr == S_OK && options)
        hr = E_INVALIDARG; /* "Reserved for future use. Must be NULL." */
    if (hr == S_OK && h->sys->disconnected)
        hr = HCS_E_SERVICE_DISCONNECT;
    if (hr == S_OK)
        hr = op_begin(op, api,
                      kind == STOP_SHUTDOWN ? HcsOperationTypeShutdown : HcsOperationTypeTerminate);
    if (hr == S_OK)
        stop_system(h->sys, op, kind);
    fake_log(&g_cc.cfg, "%s system=%s op=%llu -> %s", api, h ? h->sys->id : "(invalid handle)",
             op ? (unsigned long long)op->id : 0ull, hrs(hr, b, sizeof(b)));
    obj_put(h ? &h->o : NULL);
    obj_put(op ? &op->o : NULL);
    return hr;
}

HRESULT WINAPI HcsShutDownComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                                        PCWSTR options)
{
    first_call();
    return stop_api(computeSystem, operation, options, STOP_SHUTDOWN);
}

HRESULT WINAPI HcsTerminateComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                                         PCWSTR options)
{
    first_call();
    return stop_api(computeSystem, operation, options, STOP_TERMINATE);
}

HRESULT WINAPI HcsSetComputeSystemCallback(HCS_SYSTEM computeSystem,
                                           HCS_EVENT_OPTIONS callbackOptions, const void *context,
                                           HCS_EVENT_CALLBACK callback)
{
    first_call();
    char b[80];
    struct fhandle *h = get_handle(computeSystem);
    HRESULT hr = !h ? E_HANDLE : !callback ? E_INVALIDARG : S_OK;
    if (hr == S_OK && callbackOptions != HcsEventOptionNone)
        hr = E_NOTIMPL; /* operation callbacks through the system callback: not simulated */
    if (hr == S_OK) {
        EnterCriticalSection(&h->sys->lock);
        if (h->cb) {
            hr = HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET;
        } else {
            h->cb = callback;
            h->cb_ctx = (void *)context;
        }
        LeaveCriticalSection(&h->sys->lock);
    }
    fake_log(&g_cc.cfg, "HcsSetComputeSystemCallback system=%s options=%d -> %s",
             h ? h->sys->id : "(invalid handle)", (int)callbackOptions, hrs(hr, b, sizeof(b)));
    obj_put(h ? &h->o : NULL);
    return hr;
}

/* The last handle of s was closed. */
static void last_handle_closed(struct fsys *s)
{
    EnterCriticalSection(&s->lock);
    enum sys_state st = s->state;
    bool worker_runs = s->kind == SYS_LOCAL && (st == SYS_STARTING || st == SYS_RUNNING);
    HANDLE worker = s->worker;
    bool on_worker = s->worker_tid == GetCurrentThreadId();
    if (worker_runs && s->stolhc) {
        s->req_terminate = true;
        SetEvent(s->wake);
    }
    LeaveCriticalSection(&s->lock);
    if (worker_runs && !s->stolhc) {
        fake_log(&g_cc.cfg,
                 "note last handle of %s closed: the VM keeps running "
                 "(ShouldTerminateOnLastHandleClosed is not set)",
                 s->id);
        return;
    }
    if (worker_runs) {
        fake_log(&g_cc.cfg,
                 "note last handle of %s closed: ShouldTerminateOnLastHandleClosed "
                 "terminates the VM",
                 s->id);
        if (worker && !on_worker)
            WaitForSingleObject(worker, CLOSE_TERMINATE_WAIT_MS);
        cc_sys_forget(s, true);
        return;
    }
    if (st == SYS_STOPPED || (st == SYS_CREATED && s->stolhc && s->kind == SYS_LOCAL)) {
        cc_sys_forget(s, true);
        return;
    }
    /* Created and kept, or an orphan/remote system left as the service holds it. */
    cc_sys_forget(s, false);
}

void WINAPI HcsCloseComputeSystem(HCS_SYSTEM computeSystem)
{
    first_call();
    struct fhandle *h = get_handle(computeSystem);
    if (!h || !reg_remove(&h->o)) {
        fake_log(&g_cc.cfg,
                 "HcsCloseComputeSystem system=%p -> invalid or closed handle (a bug in "
                 "the caller; real HCS may crash)",
                 (void *)computeSystem);
        obj_put(h ? &h->o : NULL);
        return;
    }
    struct fsys *s = h->sys;
    EnterCriticalSection(&s->lock);
    h->closing = true;
    if (h->inflight && s->delivering_tid == GetCurrentThreadId()) {
        LeaveCriticalSection(&s->lock);
        fake_log(&g_cc.cfg, "ERROR HcsCloseComputeSystem called inside its own event callback: "
                            "real HCS waits for the callbacks in flight and would deadlock");
        abort();
    }
    unsigned drained = h->inflight;
    while (h->inflight)
        SleepConditionVariableCS(&s->cv, &s->lock, INFINITE);
    struct fhandle **p = &s->handles;
    while (*p && *p != h)
        p = &(*p)->next;
    if (*p)
        *p = h->next;
    bool last = --s->nhandles == 0;
    LeaveCriticalSection(&s->lock);
    fake_log(&g_cc.cfg, "HcsCloseComputeSystem system=%s%s%s", s->id,
             drained ? " (waited for callbacks in flight)" : "", last ? " (last handle)" : "");
    if (last)
        last_handle_closed(s);
    obj_put(&h->o); /* get_handle's */
    obj_put(&h->o); /* the caller's */
}

HRESULT WINAPI HcsGetComputeSystemProperties(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                                             PCWSTR propertyQuery)
{
    first_call();
    static const char *const allowed[] = {"PropertyTypes", "PropertyQueries", NULL};
    char b[80], msg[256];
    struct fhandle *h = get_handle(computeSystem);
    struct fop *op = get_op(operation);
    HRESULT hr = (!h || !op) ? E_HANDLE : S_OK;
    if (hr == S_OK)
        hr = op_begin(op, "HcsGetComputeSystemProperties", HcsOperationTypeGetProperties);
    if (hr == S_OK) {
        char *q = fake_u8(propertyQuery, NULL);
        cJSON *qj = q ? cJSON_Parse(q) : NULL;
        HRESULT qhr = q ? hcsv_keys(qj, "the property query", allowed, msg, sizeof(msg)) : S_OK;
        struct fsys *s = h->sys;
        if (qhr != S_OK) {
            fail_later(op, qhr, msg);
        } else if (!s->listed) {
            fail_later(op, HCS_E_SYSTEM_NOT_FOUND, "the compute system does not exist");
        } else {
            EnterCriticalSection(&s->lock);
            const char *st = state_name(s->state);
            LeaveCriticalSection(&s->lock);
            cJSON *o = sys_properties(s->id, s->owner, st);
            complete_later(op, S_OK, o ? cJSON_PrintUnformatted(o) : NULL);
            cJSON_Delete(o);
        }
        cJSON_Delete(qj);
        free(q);
    }
    fake_log(&g_cc.cfg, "HcsGetComputeSystemProperties system=%s -> %s",
             h ? h->sys->id : "(invalid handle)", hrs(hr, b, sizeof(b)));
    obj_put(h ? &h->o : NULL);
    obj_put(op ? &op->o : NULL);
    return hr;
}

HRESULT WINAPI HcsModifyComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                                      PCWSTR configuration, HANDLE identity)
{
    first_call();
    (void)configuration;
    (void)identity;
    char b[80];
    struct fhandle *h = get_handle(computeSystem);
    struct fop *op = get_op(operation);
    HRESULT hr = (!h || !op) ? E_HANDLE : S_OK;
    if (hr == S_OK)
        hr = op_begin(op, "HcsModifyComputeSystem", HcsOperationTypeModify);
    if (hr == S_OK)
        fail_later(op, E_NOTIMPL,
                   "HcsModifyComputeSystem is not simulated by the fake (the "
                   "backend puts the NIC in the document)");
    fake_log(&g_cc.cfg, "HcsModifyComputeSystem -> %s", hrs(hr, b, sizeof(b)));
    obj_put(h ? &h->o : NULL);
    obj_put(op ? &op->o : NULL);
    return hr;
}

/* ---- enumerate ----------------------------------------------------------------------------- */

static bool in_list(const cJSON *list, const char *value)
{
    if (!list)
        return true;
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        if (cJSON_IsString(e) && value && !_stricmp(e->valuestring, value))
            return true;
    }
    return false;
}

static HRESULT parse_system_query(const char *q, cJSON **out, char *msg, size_t n)
{
    static const char *const allowed[] = {"Ids", "Names", "Types", "Owners", NULL};
    *out = NULL;
    if (!q || !q[0])
        return S_OK;
    cJSON *j = cJSON_Parse(q);
    HRESULT hr = hcsv_keys(j, "the SystemQuery", allowed, msg, n);
    for (const cJSON *e = j ? j->child : NULL; e && hr == S_OK; e = e->next) {
        const cJSON *v;
        bool ok = cJSON_IsArray(e);
        cJSON_ArrayForEach(v, e) ok = ok && cJSON_IsString(v);
        if (!ok) {
            snprintf(msg, n, "SystemQuery.%s must be an array of strings", e->string);
            hr = HCS_E_INVALID_JSON;
        }
    }
    if (hr == S_OK)
        *out = j;
    else
        cJSON_Delete(j);
    return hr;
}

static char *enumerate(const cJSON *query)
{
    struct fake_state st;
    bool dirty = false;
    cJSON *out = cJSON_CreateArray();
    if (!out || state_open(&st, &dirty) < 0)
        return out ? cJSON_PrintUnformatted(out) : NULL;
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(query, "Ids");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(query, "Names");
    const cJSON *types = cJSON_GetObjectItemCaseSensitive(query, "Types");
    const cJSON *owners = cJSON_GetObjectItemCaseSensitive(query, "Owners");
    const cJSON *e;
    cJSON_ArrayForEach(e, fake_state_array(&st, "systems"))
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "Id"));
        const char *owner = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "Owner"));
        const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "State"));
        if (!id || !in_list(ids, id) || !in_list(names, id) || !in_list(types, "VirtualMachine") ||
            !in_list(owners, owner ? owner : ""))
            continue;
        cJSON *p = sys_properties(id, owner ? owner : "", state ? state : "Unknown");
        if (p)
            cJSON_AddItemToArray(out, p);
    }
    state_close(&st, dirty);
    char *text = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return text;
}

HRESULT WINAPI HcsEnumerateComputeSystems(PCWSTR query, HCS_OPERATION operation)
{
    first_call();
    char b[80], msg[256];
    struct fop *op = get_op(operation);
    HRESULT hr =
        op ? op_begin(op, "HcsEnumerateComputeSystems", HcsOperationTypeEnumerate) : E_HANDLE;
    char *q = fake_u8(query, NULL);
    if (hr == S_OK) {
        cJSON *qj = NULL;
        HRESULT qhr = parse_system_query(q, &qj, msg, sizeof(msg));
        if (qhr != S_OK)
            fail_later(op, qhr, msg);
        else
            complete_later(op, S_OK, enumerate(qj));
        cJSON_Delete(qj);
    }
    fake_log(&g_cc.cfg, "HcsEnumerateComputeSystems query=%s -> %s", q ? q : "(null)",
             hrs(hr, b, sizeof(b)));
    free(q);
    obj_put(op ? &op->o : NULL);
    return hr;
}

/* ---- the service ------------------------------------------------------------------------------
 */

static cJSON *basic_information(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "SupportedSchemaVersions");
    for (unsigned minor = 1; arr && minor <= g_cc.cfg.max_schema_minor; minor++) {
        cJSON *v = cJSON_CreateObject();
        if (!v)
            break;
        cJSON_AddNumberToObject(v, "Major", 2);
        cJSON_AddNumberToObject(v, "Minor", minor);
        cJSON_AddItemToArray(arr, v);
    }
    return o;
}

/* The answer for one GetPropertyType. */
static HRESULT service_property(const cJSON *type, cJSON *props, char *msg, size_t n)
{
    static const char *const known[] = {"CpuGroup", "ProcessorTopology", "ContainerCredentialGuard",
                                        "QoSCapabilities", NULL};
    if (!cJSON_IsString(type)) {
        snprintf(msg, n, "PropertyTypes must hold strings");
        return HCS_E_INVALID_JSON;
    }
    if (!strcmp(type->valuestring, "Basic")) {
        cJSON_AddItemToArray(props, basic_information());
        return S_OK;
    }
    for (const char *const *k = known; *k; k++)
        if (!strcmp(*k, type->valuestring)) {
            snprintf(msg, n, "the service property %s is not simulated by the fake", *k);
            return E_NOTIMPL;
        }
    snprintf(msg, n, "unknown service property type '%s'", type->valuestring);
    return HCS_E_INVALID_JSON;
}

static HRESULT service_properties(const char *q, char **out, char *msg, size_t n)
{
    static const char *const allowed[] = {"PropertyTypes", NULL};
    cJSON *root = cJSON_CreateObject();
    cJSON *props = cJSON_AddArrayToObject(root, "Properties");
    cJSON *qj = q ? cJSON_Parse(q) : NULL;
    HRESULT hr = props ? S_OK : E_OUTOFMEMORY;
    if (hr == S_OK && !q) {
        cJSON_AddItemToArray(props, basic_information());
    } else if (hr == S_OK) {
        hr = hcsv_keys(qj, "the Service_PropertyQuery", allowed, msg, n);
        const cJSON *types = cJSON_GetObjectItemCaseSensitive(qj, "PropertyTypes");
        if (hr == S_OK && !cJSON_IsArray(types)) {
            snprintf(msg, n, "PropertyTypes must be an array");
            hr = HCS_E_INVALID_JSON;
        }
        const cJSON *t;
        cJSON_ArrayForEach(t, types)
        {
            if (hr == S_OK)
                hr = service_property(t, props, msg, n);
        }
    }
    *out = hr == S_OK ? cJSON_PrintUnformatted(root) : fake_result_error(hr, msg);
    cJSON_Delete(qj);
    cJSON_Delete(root);
    return hr;
}

HRESULT WINAPI HcsGetServiceProperties(PCWSTR propertyQuery, PWSTR *result)
{
    first_call();
    char b[80], msg[256] = "";
    if (!result)
        return E_POINTER;
    *result = NULL;
    char *q = fake_u8(propertyQuery, NULL);
    char *out = NULL;
    HRESULT hr = service_properties(q, &out, msg, sizeof(msg));
    *result = out ? fake_local_wstr(out) : NULL;
    fake_log(&g_cc.cfg, "HcsGetServiceProperties query=%s -> %s result=%s", q ? q : "(null)",
             hrs(hr, b, sizeof(b)), out ? out : "(null)");
    free(out);
    free(q);
    return hr;
}

/* ---- grants ---------------------------------------------------------------------------------- */

static HRESULT file_hr(int r)
{
    return r == -ENOENT   ? HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)
           : r == -EACCES ? E_ACCESSDENIED
                          : E_FAIL;
}

static void drop_grants(cJSON *grants, const char *vm, const char *key)
{
    for (int i = cJSON_GetArraySize(grants) - 1; i >= 0; i--) {
        const cJSON *g = cJSON_GetArrayItem(grants, i);
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "VmId"));
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "PathKey"));
        if (v && k && !_stricmp(v, vm) && !strcmp(k, key))
            cJSON_DeleteItemFromArray(grants, i);
    }
}

static HRESULT grant(const wchar_t *vm_w, const wchar_t *path_w, bool add, char *msg, size_t n)
{
    char *vm = fake_u8(vm_w, NULL), *path = fake_u8(path_w, NULL);
    char key[MAX_PATH * 3], ident[64];
    struct evm_err err = {0};
    HRESULT hr = (!vm || !vm[0] || !path || !path[0]) ? E_INVALIDARG : S_OK;
    int r = 0;
    if (hr == S_OK && ((r = fake_full_path_key(path_w, key, sizeof(key), &err)) < 0 ||
                       (r = fake_file_identity(path_w, ident, sizeof(ident), &err)) < 0)) {
        hr = file_hr(r);
        snprintf(msg, n, "%s", err.msg);
    }
    struct fake_state st;
    if (hr == S_OK && fake_state_begin(&g_cc.cfg, &st, &err) < 0) {
        hr = E_FAIL;
        snprintf(msg, n, "%s", err.msg);
    } else if (hr == S_OK) {
        cJSON *grants = fake_state_array(&st, "grants");
        drop_grants(grants, vm, key);
        cJSON *g = add ? cJSON_CreateObject() : NULL;
        if (g) {
            cJSON_AddStringToObject(g, "VmId", vm);
            cJSON_AddStringToObject(g, "Path", path);
            cJSON_AddStringToObject(g, "PathKey", key);
            cJSON_AddStringToObject(g, "File", ident);
            cJSON_AddItemToArray(grants, g);
        }
        if (fake_state_end(&g_cc.cfg, &st, true, &err) < 0) {
            hr = E_FAIL;
            snprintf(msg, n, "%s", err.msg);
        }
    }
    free(vm);
    free(path);
    return hr;
}

static void log_grant(const char *api, PCWSTR vm_w, PCWSTR path_w, HRESULT hr, const char *msg)
{
    char b[80];
    char *vm = fake_u8(vm_w, NULL), *path = fake_u8(path_w, NULL);
    fake_log(&g_cc.cfg, "%s vm=%s path=%s -> %s%s%s", api, vm ? vm : "(null)",
             path ? path : "(null)", hrs(hr, b, sizeof(b)), msg[0] ? ": " : "", msg);
    free(vm);
    free(path);
}

HRESULT WINAPI HcsGrantVmAccess(PCWSTR vmId, PCWSTR filePath)
{
    first_call();
    char msg[600] = "";
    HRESULT hr = grant(vmId, filePath, true, msg, sizeof(msg));
    log_grant("HcsGrantVmAccess", vmId, filePath, hr, msg);
    return hr;
}

HRESULT WINAPI HcsRevokeVmAccess(PCWSTR vmId, PCWSTR filePath)
{
    first_call();
    char msg[600] = "";
    HRESULT hr = grant(vmId, filePath, false, msg, sizeof(msg));
    log_grant("HcsRevokeVmAccess", vmId, filePath, hr, msg);
    return hr;
}
