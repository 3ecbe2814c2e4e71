/* vm_hcs_win.c — the HCS backend of vm.h (Windows): boots the Linux guest as a Hyper-V
 * compute system through the Host Compute Service (computecore.dll, loaded at run time by
 * hcsapi_win.c), with its root disk a VHDX (vhdx_win.c), its NIC an endpoint on the Default
 * Switch (hcn_win.c) and COM1 a named pipe the agent serves (compipe_win.c).
 *
 * One boot:
 *   the service's schema versions → the highest we write (hcsdoc.h); the stale sweep
 *   (hcssweep_win.h) of what a crashed agent left; a fresh GUID as
 *   the system's id; the COM1 pipe server; the endpoint and its MAC; HcsGrantVmAccess on the
 *   kernel, the boot initrd and the disk; the document; create; the event callback; start.
 *   Every HCS call is one operation with a bounded wait (hcsop_win.h).
 * Events: HCS calls on_hcs_event on its own threads; it only copies the event into a queue
 *   and wakes the loop (uv_async_send). The loop decodes it; the system handle is closed on
 *   the loop (closing it drains the callbacks, so never from inside one).
 * Stop (vm_stop): the caller's console stop request; then HcsShutDownComputeSystem as the
 *   fallback at half the grace period (at once when the request could not be written);
 *   then HcsTerminateComputeSystem at the grace period. Shutdown and terminate are submitted
 *   without waiting (as hcsshim does): their end is the exit event. A system already
 *   stopped or not found counts as stopped.
 * After the exit: the console is drained (its last lines may say why the guest stopped),
 *   the handle closed, the grants revoked, the endpoint deleted, then on_exit.
 *
 * The guest's ports are reached at its own address on the Default Switch
 * (VM_REACH_GUEST_ADDRESS): nothing forwards, so an accepted connection is proof enough.
 * vm_plan (run --dry-run) builds the same document with placeholder ids and starts nothing;
 * vm_host_checks (doctor) is in vm_hcs_doctor_win.c. */
#include "vm/vm.h"

#include <windows.h>

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "fileutil.h"
#include "log.h"
#include "config/hostcfg.h"
#include "strutil.h"
#include "vm/compipe_win.h"
#include "vm/hcn_win.h"
#include "vm/hcsapi_win.h"
#include "vm/hcsdoc.h"
#include "vm/hcsjson.h"
#include "vm/hcsop_win.h"
#include "vm/hcssweep_win.h"
#include "vm/hresult.h"
#include "winutil.h"

#define SCHEMA_QUERY L"{\"PropertyTypes\":[\"Basic\"]}"
#define DRAIN_MS 2000           /* after the exit, wait this long at most for the console's end */
#define TERMINATE_WAIT_MS 30000 /* for the exit event after a terminate (WSL's figure) */
#define GONE_WAIT_MS 2000       /* for it after HCS said the system is already stopped */

enum stop_phase { PH_RUNNING, PH_GUEST, PH_SHUTDOWN, PH_TERMINATE };
enum { PATH_KERNEL, PATH_INITRD, PATH_DISK, NPATHS };

/* One event from HCS, copied on its thread. */
struct hcs_msg {
    struct hcs_msg *next;
    HCS_EVENT_TYPE type;
    char data[]; /* EventData in UTF-8, "" when there was none */
};

struct vm {
    uv_loop_t *loop;
    struct vm_events ev;
    struct hcsapi api;
    char id[HCS_GUID_TEXT_LEN + 1];
    wchar_t *wid;
    HCS_SYSTEM system;
    struct compipe *console;
    struct hcn_endpoint ep;
    wchar_t *paths[NPATHS]; /* absolute; NULL: not used */
    bool granted[NPATHS];
    /* filled by on_hcs_event on HCS's threads, emptied on the loop */
    uv_mutex_t lock;
    struct hcs_msg *head, *tail;
    bool lost_event;
    uv_async_t wake;
    uv_timer_t grace_timer, fallback_timer, gone_timer, drain_timer;
    enum stop_phase phase;
    bool stop_requested;
    const char *gone_after; /* what HCS said before the exit was expected (gone_timer) */
    bool exited, crashed, reported, closing;
    enum vm_exit_kind kind;
    int exit_code;
    char reason[640];
    char crash[240]; /* what the crash report said, for the reason */
    int handles;     /* initialised libuv handles whose close callback has not run */
};

/* What vm_start prepares for the document; released by launch_free. */
struct launch {
    struct hcs_schema schema;
    char *kernel, *initrd, *disk; /* absolute Windows paths, UTF-8 */
    char pipe[COMPIPE_NAME_MAX];
    char *cmdline, *doc;
};

const struct vm_backend *vm_backend(void)
{
    static const struct vm_backend hcs = {
        .name = "hcs",
        .root_disk = "/dev/sda", /* Hyper-V synthetic SCSI */
        .disk_file = "root.vhdx",
        .min_memory_mb = HOSTCFG_HCS_MIN_MEMORY_MB,
    };
    return &hcs;
}
/* The config check's memory minimum is this backend's (hostcfg.h). */
_Static_assert(HOSTCFG_HCS_MIN_MEMORY_MB == HOSTCFG_MIN_MEMORY_MB,
               "the build's backend and hostcfg.h disagree");

/* ---- HCS calls tracked by an operation (hcsop_win.h) --------------------------------------- */

struct create_args {
    const wchar_t *id, *doc;
    HCS_SYSTEM *system;
};

static HRESULT call_create(const struct hcsapi *api, HCS_OPERATION op, void *arg)
{
    struct create_args *a = arg;
    return api->HcsCreateComputeSystem(a->id, a->doc, op, NULL, a->system);
}

static HRESULT call_start(const struct hcsapi *api, HCS_OPERATION op, void *arg)
{
    return api->HcsStartComputeSystem((HCS_SYSTEM)arg, op, NULL);
}

static HRESULT call_shutdown(const struct hcsapi *api, HCS_OPERATION op, void *arg)
{
    return api->HcsShutDownComputeSystem((HCS_SYSTEM)arg, op, NULL);
}

static HRESULT call_terminate(const struct hcsapi *api, HCS_OPERATION op, void *arg)
{
    return api->HcsTerminateComputeSystem((HCS_SYSTEM)arg, op, NULL);
}

/* Terminates a system and waits for it; one already gone is fine. */
static void terminate_and_wait(const struct hcsapi *api, HCS_SYSTEM s, const char *what)
{
    uint32_t hr = 0;
    struct evm_err err = {0};
    if (hcsop_run(api, what, call_terminate, s, TERMINATE_WAIT_MS, &hr, NULL, &err) < 0 &&
        !hcsop_already_stopped(hr))
        log_warn("vm: %s", err.msg);
}

/* ---- lifetime ------------------------------------------------------------------------------ */

static void maybe_free(struct vm *vm)
{
    if (!vm->closing || vm->handles > 0)
        return;
    while (vm->head) {
        struct hcs_msg *m = vm->head;
        vm->head = m->next;
        free(m);
    }
    uv_mutex_destroy(&vm->lock);
    for (int i = 0; i < NPATHS; i++)
        free(vm->paths[i]);
    free(vm->wid);
    hcsapi_unload(&vm->api);
    free(vm);
}

static void on_closed(uv_handle_t *h)
{
    struct vm *vm = h->data;
    vm->handles--;
    maybe_free(vm);
}

static void close_handles(struct vm *vm)
{
    uv_handle_t *hs[] = {(uv_handle_t *)&vm->wake, (uv_handle_t *)&vm->grace_timer,
                         (uv_handle_t *)&vm->fallback_timer, (uv_handle_t *)&vm->gone_timer,
                         (uv_handle_t *)&vm->drain_timer};
    for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], on_closed);
}

static void stop_timers(struct vm *vm)
{
    uv_timer_stop(&vm->grace_timer);
    uv_timer_stop(&vm->fallback_timer);
    uv_timer_stop(&vm->gone_timer);
}

/* Closes the system handle (after terminating the VM when it may still run). Closing drains
 * HCS's callbacks, which only queue and wake, so this never waits on the loop. */
static void release_system(struct vm *vm, bool terminate)
{
    if (!vm->system)
        return;
    if (terminate)
        terminate_and_wait(&vm->api, vm->system, "HcsTerminateComputeSystem");
    vm->api.HcsCloseComputeSystem(vm->system);
    vm->system = NULL;
}

/* What the VM held on the host: file grants and the endpoint. */
static void release_resources(struct vm *vm)
{
    for (int i = 0; i < NPATHS; i++) {
        if (!vm->granted[i])
            continue;
        HRESULT hr = vm->api.HcsRevokeVmAccess(vm->wid, vm->paths[i]);
        if (FAILED(hr)) {
            char *p = hcs_utf8(vm->paths[i]), what[600];
            snprintf(what, sizeof(what), "revoking the VM's access to %s", p ? p : "a file");
            struct evm_err err = {0};
            hcsop_errf(&err, what, (uint32_t)hr, NULL);
            log_warn("vm: %s", err.msg);
            free(p);
        }
        vm->granted[i] = false;
    }
    struct evm_err err = {0};
    if (vm->api.HcnDeleteEndpoint && hcn_endpoint_delete(&vm->api, &vm->ep, &err) < 0)
        log_warn("vm: %s", err.msg);
}

/* Ends everything: the VM (if it may still run), its host resources, the console, the
 * handles; vm is freed by the last close callback. */
static void teardown(struct vm *vm)
{
    vm->closing = true;
    release_system(vm, !vm->exited);
    release_resources(vm);
    compipe_close(vm->console);
    vm->console = NULL;
    close_handles(vm);
    maybe_free(vm);
}

/* ---- exit ---------------------------------------------------------------------------------- */

static void report_exit(struct vm *vm)
{
    if (vm->reported || !vm->exited)
        return;
    vm->reported = true;
    uv_timer_stop(&vm->drain_timer);
    release_resources(vm);
    log_info("vm: %s", vm->reason);
    if (!vm->closing && vm->ev.on_exit)
        vm->ev.on_exit(vm->ev.ctx, vm->kind, vm->exit_code, vm->reason);
}

static void on_drain_timeout(uv_timer_t *t)
{
    struct vm *vm = t->data;
    log_debug("vm: the console did not close within %d ms of the exit", DRAIN_MS);
    report_exit(vm);
}

/* The VM is gone: remember how, close its handle, and report once the console is drained. */
static void mark_exited(struct vm *vm, enum vm_exit_kind kind, int code, const char *reason)
{
    if (vm->exited)
        return;
    vm->exited = true;
    vm->kind = kind;
    vm->exit_code = code;
    snprintf(vm->reason, sizeof(vm->reason), "%s", reason);
    stop_timers(vm);
    release_system(vm, false);
    if (compipe_drained(vm->console))
        report_exit(vm);
    else
        uv_timer_start(&vm->drain_timer, on_drain_timeout, DRAIN_MS, 0);
}

static const char *exit_words(enum vm_exit_kind kind)
{
    switch (kind) {
    case VM_EXIT_POWEROFF:
        return "the guest powered off";
    case VM_EXIT_FORCED:
        return "the VM was ended by the host";
    case VM_EXIT_CRASH:
        return "the guest crashed";
    case VM_EXIT_UNEXPECTED:
        break;
    }
    return "the VM stopped unexpectedly";
}

/* A SystemExited event: its SystemExitStatus says how. */
static void on_system_exited(struct vm *vm, const char *json)
{
    struct hcs_exit e;
    struct evm_err err = {0};
    char reason[sizeof(vm->reason)];
    if (hcsjson_parse_exit(json, &e, &err) < 0) {
        snprintf(reason, sizeof(reason), "the VM exited with an unreadable exit status (%s)",
                 err.msg);
        mark_exited(vm, vm->crashed ? VM_EXIT_CRASH : VM_EXIT_UNEXPECTED, 1, reason);
        return;
    }
    enum vm_exit_kind kind = vm->crashed ? VM_EXIT_CRASH : hcsjson_exit_kind(&e);
    char status[64] = "";
    if (e.status != 0) {
        char name[48];
        hresult_format(e.status, name, sizeof(name));
        snprintf(status, sizeof(status), ", status %s", name);
    }
    snprintf(reason, sizeof(reason), "%s (%s%s%s%s)", exit_words(kind),
             e.exit_type[0] ? e.exit_type : "no exit type", status,
             vm->crash[0] ? "; crash report: " : "", vm->crash);
    /* exit_code: 0 for a clean Status, else 1; the HRESULT itself is named in the reason (as
     * a number it would read as a large negative "exit code"). */
    mark_exited(vm, kind, e.status == 0 ? 0 : 1, reason);
}

/* SystemCrashInitiated / SystemCrashReport: the exit follows; remember what it said. */
static void on_crash(struct vm *vm, const char *json)
{
    bool first = !vm->crashed;
    vm->crashed = true;
    cJSON *j = cJSON_Parse(json);
    const cJSON *log = cJSON_GetObjectItemCaseSensitive(j, "CrashLog");
    if (cJSON_IsString(log) && log->valuestring && *log->valuestring) {
        const char *s = log->valuestring;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
            n--;
        const char *last = s + n;
        while (last > s && last[-1] != '\n')
            last--; /* the log's last line: the panic message, usually */
        str_excerpt(vm->crash, sizeof(vm->crash), last, (size_t)(s + n - last), 200);
    }
    cJSON_Delete(j);
    log_msg(first ? LOG_WARN : LOG_DEBUG, "vm: HCS reports a guest crash%s%s",
            vm->crash[0] ? ": " : "", vm->crash);
}

static void handle_event(struct vm *vm, HCS_EVENT_TYPE type, const char *data)
{
    char ex[200];
    switch (type) {
    case HcsEventSystemExited:
        on_system_exited(vm, data);
        break;
    case HcsEventSystemCrashInitiated:
    case HcsEventSystemCrashReport:
        on_crash(vm, data);
        break;
    case HcsEventServiceDisconnect: {
        /* The event carries no HRESULT; name the one every later call on the system gets. */
        char hr[48], why[160];
        hresult_format(HCS_E_SERVICE_DISCONNECT, hr, sizeof(hr));
        snprintf(why, sizeof(why),
                 "the Hyper-V compute service (vmcompute) disconnected (%s); the VM is lost", hr);
        mark_exited(vm, VM_EXIT_UNEXPECTED, 1, why);
        break;
    }
    default:
        str_excerpt(ex, sizeof(ex), data, strlen(data), 160);
        log_debug("vm: HCS event 0x%x: %s", (unsigned)type, ex);
        break;
    }
}

/* On the loop: takes the queued events and handles them in order. */
static void on_wake(uv_async_t *a)
{
    struct vm *vm = a->data;
    uv_mutex_lock(&vm->lock);
    struct hcs_msg *m = vm->head;
    bool lost = vm->lost_event;
    vm->head = vm->tail = NULL;
    vm->lost_event = false;
    uv_mutex_unlock(&vm->lock);
    if (lost)
        log_error("vm: an HCS event was lost (out of memory)");
    while (m) {
        struct hcs_msg *next = m->next;
        if (!vm->closing)
            handle_event(vm, m->type, m->data);
        free(m);
        m = next;
    }
}

/* On an HCS thread: copy the event, queue it, wake the loop. Nothing else here — closing the
 * system waits for this to return. */
static void CALLBACK on_hcs_event(HCS_EVENT *event, void *context)
{
    struct vm *vm = context;
    char *data = hcs_utf8(event->EventData);
    size_t len = data ? strlen(data) : 0;
    struct hcs_msg *m = malloc(sizeof(*m) + len + 1);
    if (m) {
        m->next = NULL;
        m->type = event->Type;
        memcpy(m->data, data ? data : "", len + 1);
    }
    free(data);
    uv_mutex_lock(&vm->lock);
    if (m) {
        *(vm->tail ? &vm->tail->next : &vm->head) = m;
        vm->tail = m;
    } else {
        vm->lost_event = true;
    }
    uv_mutex_unlock(&vm->lock);
    uv_async_send(&vm->wake);
}

/* The console reached its end: if the VM is gone, that was the last thing to wait for. */
static void on_console_eof(void *ctx)
{
    struct vm *vm = ctx;
    if (vm->exited)
        report_exit(vm);
    else
        log_debug("vm: the console closed while the VM runs");
}

static void on_console_line(void *ctx, const char *line)
{
    struct vm *vm = ctx;
    if (!vm->closing && vm->ev.on_console_line)
        vm->ev.on_console_line(vm->ev.ctx, line);
}

/* ---- stop ---------------------------------------------------------------------------------- */

static void on_gone_timeout(uv_timer_t *t)
{
    struct vm *vm = t->data;
    char reason[240];
    snprintf(reason, sizeof(reason),
             "no exit event came after HCS %s; the VM's handle is closed, which ends it",
             vm->gone_after);
    mark_exited(vm, VM_EXIT_FORCED, 1, reason);
}

/* The exit event should come within ms: HCS took a terminate request, or said the system
 * has already stopped. */
static void expect_exit(struct vm *vm, unsigned ms, const char *after)
{
    vm->gone_after = after;
    uv_timer_start(&vm->gone_timer, on_gone_timeout, ms, 0);
}

static void terminate_now(struct vm *vm)
{
    if (vm->exited || vm->phase == PH_TERMINATE)
        return;
    vm->phase = PH_TERMINATE;
    uv_timer_stop(&vm->grace_timer);
    uv_timer_stop(&vm->fallback_timer);
    uint32_t hr = 0;
    struct evm_err err = {0};
    int r =
        hcsop_submit(&vm->api, "HcsTerminateComputeSystem", call_terminate, vm->system, &hr, &err);
    bool stopped = r < 0 && hcsop_already_stopped(hr);
    if (r < 0 && !stopped)
        log_warn("vm: %s", err.msg);
    if (stopped)
        expect_exit(vm, GONE_WAIT_MS, "said the VM had already stopped");
    else
        expect_exit(vm, TERMINATE_WAIT_MS, "was asked to terminate the VM");
}

/* HCS's own shutdown request: only a guest with the Hyper-V shutdown integration service
 * (hv_utils) acts on it; a refusal matters only when nothing else asked the guest. */
static void request_shutdown(struct vm *vm)
{
    if (vm->exited || vm->phase >= PH_SHUTDOWN)
        return;
    vm->phase = PH_SHUTDOWN;
    uint32_t hr = 0;
    struct evm_err err = {0};
    if (hcsop_submit(&vm->api, "HcsShutDownComputeSystem", call_shutdown, vm->system, &hr, &err) ==
        0) {
        log_info("vm: asked HCS to shut the VM down");
        return;
    }
    if (hcsop_already_stopped(hr)) {
        expect_exit(vm, GONE_WAIT_MS, "said the VM had already stopped");
        return;
    }
    log_warn("vm: %s", err.msg);
    if (!vm->stop_requested)
        terminate_now(vm); /* nothing else asked the guest to stop: do not wait for it */
}

static void on_grace_timer(uv_timer_t *t)
{
    struct vm *vm = t->data;
    log_info("vm: the guest did not power off within its grace period; terminating the VM");
    terminate_now(vm);
}

static void on_fallback_timer(uv_timer_t *t)
{
    struct vm *vm = t->data;
    log_warn("vm: the guest has not stopped after the console stop request; asking HCS to shut "
             "it down");
    request_shutdown(vm);
}

void vm_stop(struct vm *vm, unsigned grace_ms, bool requested)
{
    if (!vm || vm->exited || vm->closing || vm->phase != PH_RUNNING)
        return;
    vm->phase = PH_GUEST;
    vm->stop_requested = requested;
    uv_timer_start(&vm->grace_timer, on_grace_timer, grace_ms, 0);
    if (!requested) {
        request_shutdown(vm);
        return;
    }
    uv_timer_start(&vm->fallback_timer, on_fallback_timer, grace_ms / 2, 0);
}

void vm_kill(struct vm *vm)
{
    if (!vm || vm->closing)
        return;
    terminate_now(vm);
}

void vm_close(struct vm *vm)
{
    if (!vm || vm->closing)
        return;
    teardown(vm);
}

int vm_console_write(struct vm *vm, const char *data, size_t len, struct evm_err *err)
{
    if (!vm || vm->exited || vm->closing)
        return evm_errf(err, EPIPE, "vm: the guest console is closed");
    return compipe_write(vm->console, data, len, err);
}

/* ---- start: the steps ------------------------------------------------------------------------ */

/* The struct and its handles; from here on, every failure ends in teardown(). */
static int vm_new(uv_loop_t *loop, const struct vm_events *ev, struct vm **out, struct evm_err *err)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return evm_errf(err, ENOMEM, "vm: out of memory");
    if (uv_mutex_init(&vm->lock) != 0) {
        free(vm);
        return evm_errf(err, ENOMEM, "vm: cannot create a lock");
    }
    vm->loop = loop;
    vm->ev = *ev;
    uv_async_init(loop, &vm->wake, on_wake); /* cannot fail on Windows */
    uv_timer_init(loop, &vm->grace_timer);
    uv_timer_init(loop, &vm->fallback_timer);
    uv_timer_init(loop, &vm->gone_timer);
    uv_timer_init(loop, &vm->drain_timer);
    vm->handles = 5;
    vm->wake.data = vm->grace_timer.data = vm->fallback_timer.data = vm;
    vm->gone_timer.data = vm->drain_timer.data = vm;
    *out = vm;
    return 0;
}

/* The newest document schema the compute service takes. */
static int query_schema(const struct hcsapi *api, struct hcs_schema *out, struct evm_err *err)
{
    PWSTR w = NULL;
    HRESULT hr = api->HcsGetServiceProperties(SCHEMA_QUERY, &w);
    char *props = hcs_utf8(w);
    hcs_free_hcs_string(w);
    int r;
    if (FAILED(hr))
        r = hcsop_errf(err, "asking the compute service for its schema versions", (uint32_t)hr,
                       props);
    else
        r = hcsdoc_choose_schema(props, out, err);
    free(props);
    return r;
}

static int load_platform(struct vm *vm, struct launch *l, struct evm_err *err)
{
    int r = hcsapi_load(&vm->api, HCSAPI_COMPUTE | HCSAPI_NETWORK, err);
    return r < 0 ? r : query_schema(&vm->api, &l->schema, err);
}

/* The absolute Windows paths HCS is given (wide copies into wide[] when it is not NULL)
 * and the COM1 pipe's name for VM id. */
static int launch_paths(const struct vm_spec *spec, const char *id, struct launch *l,
                        wchar_t *wide[NPATHS], struct evm_err *err)
{
    int r = hcs_full_path(spec->kernel, wide ? &wide[PATH_KERNEL] : NULL, &l->kernel, err);
    if (r == 0)
        r = hcs_full_path(spec->initrd, wide ? &wide[PATH_INITRD] : NULL, &l->initrd, err);
    if (r == 0 && spec->disk)
        r = hcs_full_path(spec->disk, wide ? &wide[PATH_DISK] : NULL, &l->disk, err);
    if (r == 0)
        r = compipe_name(id, l->pipe, sizeof(l->pipe), err);
    return r;
}

/* A fresh id: the system's, and the name of everything that belongs to it. */
static int new_id(struct vm *vm, struct evm_err *err)
{
    int e = 0;
    int r = hcs_guid_new(vm->id, err);
    if (r == 0 && !(vm->wid = win_wide(vm->id, &e)))
        r = evm_errf(err, e, "vm: out of memory");
    return r;
}

/* COM1's server exists before the VM, so that Hyper-V connects to it at start. */
static int open_console(struct vm *vm, const struct vm_spec *spec, struct launch *l,
                        struct evm_err *err)
{
    struct compipe_events cev = {on_console_line, on_console_eof, vm};
    return compipe_open(vm->loop, l->pipe, spec->console_log, &cev, &vm->console, err);
}

static int create_endpoint(struct vm *vm, struct evm_err *err)
{
    char name[sizeof(HCN_ENDPOINT_PREFIX) + HCS_GUID_TEXT_LEN];
    snprintf(name, sizeof(name), "%s%s", HCN_ENDPOINT_PREFIX, vm->id);
    return hcn_endpoint_create(&vm->api, name, &vm->ep, err);
}

/* Access for the VM's account to the files it opens; a rewritten file loses its grant, and
 * the id is new each boot, so this runs every boot after the files were written. */
static int grant_files(struct vm *vm, const struct launch *l, struct evm_err *err)
{
    const char *names[NPATHS] = {l->kernel, l->initrd, l->disk};
    for (int i = 0; i < NPATHS; i++) {
        if (!vm->paths[i])
            continue;
        HRESULT hr = vm->api.HcsGrantVmAccess(vm->wid, vm->paths[i]);
        if (FAILED(hr)) {
            char what[600];
            snprintf(what, sizeof(what), "granting the VM access to %s", names[i]);
            return hcsop_errf(err, what, (uint32_t)hr, NULL);
        }
        vm->granted[i] = true;
    }
    return 0;
}

/* The contract's command line plus what HCS's COM1 needs, and the document (no NIC when
 * endpoint_id is NULL). */
static int build_document(const struct vm_spec *spec, struct launch *l, const char *endpoint_id,
                          const char *mac, struct evm_err *err)
{
    unsigned host = (unsigned)GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    int r = hcsdoc_cmdline(spec->cmdline, hcsdoc_cpu_count(spec->cpus, host), &l->cmdline, err);
    if (r < 0)
        return r;
    if (strlen(l->cmdline) + 1 > CMDLINE_MAX)
        return evm_errf(err, E2BIG,
                        "vm: the kernel command line with HCS's console arguments is %zu bytes, "
                        "over the kernel's %d",
                        strlen(l->cmdline), CMDLINE_MAX - 1);
    struct hcs_doc_params p = {
        .schema = l->schema,
        .owner = HCS_OWNER,
        .kernel = l->kernel,
        .initrd = l->initrd,
        .cmdline = l->cmdline,
        .memory_mb = spec->memory_mb,
        .cpus = spec->cpus,
        .host_processors = host,
        .disk = l->disk,
        .com1_pipe = l->pipe,
        .endpoint_id = endpoint_id,
        .mac = mac,
    };
    return hcsdoc_build(&p, &l->doc, err);
}

/* Create, then the event callback (before start, so that no exit can be missed). */
static int create_system(struct vm *vm, const struct launch *l, struct evm_err *err)
{
    int e = 0;
    wchar_t *doc = win_wide(l->doc, &e);
    if (!doc)
        return evm_errf(err, e, "vm: the document cannot be converted");
    struct create_args a = {vm->wid, doc, &vm->system};
    int r = hcsop_run(&vm->api, "HcsCreateComputeSystem", call_create, &a, hcsop_timeout_ms(), NULL,
                      NULL, err);
    free(doc);
    if (r < 0)
        return r;
    HRESULT hr =
        vm->api.HcsSetComputeSystemCallback(vm->system, HcsEventOptionNone, vm, on_hcs_event);
    if (FAILED(hr))
        return hcsop_errf(err, "registering for the VM's events", (uint32_t)hr, NULL);
    return 0;
}

static int start_system(struct vm *vm, const struct vm_spec *spec, const struct launch *l,
                        struct evm_err *err)
{
    int r = hcsop_run(&vm->api, "HcsStartComputeSystem", call_start, vm->system, hcsop_timeout_ms(),
                      NULL, NULL, err);
    if (r == 0)
        log_info("vm: VM %s started through HCS (schema %u.%u, %u cpus, %u MiB, endpoint %s)",
                 vm->id, l->schema.major, l->schema.minor, spec->cpus, spec->memory_mb, vm->ep.id);
    return r;
}

static void launch_free(struct launch *l)
{
    free(l->kernel);
    free(l->initrd);
    free(l->disk);
    free(l->cmdline);
    free(l->doc);
}

int vm_start(uv_loop_t *loop, const struct vm_spec *spec, const struct vm_events *ev,
             struct vm **out, struct vm_info *info, struct evm_err *err)
{
    *out = NULL;
    memset(info, 0, sizeof(*info));
    struct launch l = {0};
    struct vm *vm = NULL;
    int r = vm_spec_check(spec, err);
    if (r == 0)
        r = mkdir_p(spec->state_dir, err);
    if (r == 0)
        r = vm_new(loop, ev, &vm, err);
    if (r == 0)
        r = load_platform(vm, &l, err);
    if (r == 0) {
        hcs_sweep_stale(&vm->api);
        r = new_id(vm, err);
    }
    if (r == 0)
        r = launch_paths(spec, vm->id, &l, vm->paths, err);
    if (r == 0)
        r = open_console(vm, spec, &l, err);
    if (r == 0)
        r = create_endpoint(vm, err);
    if (r == 0)
        r = grant_files(vm, &l, err);
    if (r == 0)
        r = build_document(spec, &l, vm->ep.id, vm->ep.mac, err);
    if (r == 0) {
        log_debug("vm: HCS document for %s: %s", vm->id, l.doc);
        r = create_system(vm, &l, err);
    }
    if (r == 0)
        r = start_system(vm, spec, &l, err);
    launch_free(&l);
    if (r < 0) {
        if (vm)
            teardown(vm); /* terminates what was created; released by its close callbacks */
        return r;
    }
    info->reach.kind = VM_REACH_GUEST_ADDRESS;
    info->reach.accept_hold_ms = 0;
    info->accelerated = true;
    info->pid = 0;
    *out = vm;
    return 0;
}

/* ---- the plan (run --dry-run) ---------------------------------------------------------------- */

/* What the plan shows for the values chosen at start. */
#define PLAN_ID "00000000-0000-0000-0000-000000000000"
#define PLAN_MAC "00-15-5D-00-00-00"

/* The schema the compute service would be written for; without the platform, the newest we
 * write, and why in *note. */
static void plan_schema(struct launch *l, char *note, size_t n)
{
    struct hcsapi api;
    struct evm_err err = {0};
    if (hcsapi_load(&api, HCSAPI_COMPUTE, &err) == 0 && query_schema(&api, &l->schema, &err) == 0)
        snprintf(note, n, "schema %u.%u, chosen by the compute service's versions", l->schema.major,
                 l->schema.minor);
    else
        snprintf(note, n, "schema %u.%u assumed: %s", HCSDOC_SCHEMA_MAX_MAJOR,
                 HCSDOC_SCHEMA_MAX_MINOR, err.msg);
    if (err.code) {
        l->schema.major = HCSDOC_SCHEMA_MAX_MAJOR;
        l->schema.minor = HCSDOC_SCHEMA_MAX_MINOR;
    }
    hcsapi_unload(&api);
}

static bool add_json(cJSON *o, const char *name, const char *text)
{
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    if (!j)
        return false;
    cJSON_AddItemToObject(o, name, j);
    return true;
}

static int plan_json(const struct launch *l, const char *note, char **json, struct evm_err *err)
{
    char *settings = hcn_endpoint_settings(HCN_ENDPOINT_PREFIX PLAN_ID, HCN_DEFAULT_SWITCH_ID);
    cJSON *o = cJSON_CreateObject();
    bool ok =
        o && cJSON_AddStringToObject(o, "backend", "hcs") && add_json(o, "document", l->doc) &&
        add_json(o, "endpoint", settings) && cJSON_AddStringToObject(o, "schema", note) &&
        cJSON_AddStringToObject(o, "chosen_at_start",
                                "the VM id (" PLAN_ID "), its endpoint's id and MAC (" PLAN_MAC
                                "), and the Default Switch's id when it is found by name");
    *json = ok ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    free(settings);
    return *json ? 0 : evm_errf(err, ENOMEM, "vm: out of memory printing the plan");
}

int vm_plan(const struct vm_spec *spec, char **json, struct evm_err *err)
{
    *json = NULL;
    struct launch l = {0};
    char note[600];
    int r = vm_spec_check(spec, err);
    if (r == 0) {
        plan_schema(&l, note, sizeof(note));
        r = launch_paths(spec, PLAN_ID, &l, NULL, err);
    }
    if (r == 0)
        r = build_document(spec, &l, PLAN_ID, PLAN_MAC, err);
    if (r == 0)
        r = plan_json(&l, note, json, err);
    launch_free(&l);
    return r;
}
