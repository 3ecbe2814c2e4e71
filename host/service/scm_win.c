/* scm_win.c — the service process (`service run`, svc.h's svc_run): what the Service Control
 * Manager starts. It connects to the SCM (StartServiceCtrlDispatcher), registers the control
 * handler, runs the agent with hooks that turn its phases into service status reports
 * (scmstate.c: START_PENDING with wait hints and a checkpoint per boot tick, RUNNING at
 * ready, STOP_PENDING covering the stop grace, STOPPED with the exit codes), and turns the
 * SCM's STOP, SHUTDOWN and PRESHUTDOWN into the agent's orderly stop and PARAMCHANGE into a
 * reload. The agent runs on the service's thread; the handler runs on the dispatcher's
 * thread: both report under one lock. Logs go to DATA\logs\vmhost.log (rotated). */
#include <windows.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/agent.h"
#include "agent/agenthooks.h"
#include "agent/datadir.h"
#include "config/hostcfg.h"
#include "fileutil.h"
#include "log.h"
#include "service/scmstate.h"
#include "service/svc.h"
#include "winutil.h"

_Static_assert(SCM_STOPPED == SERVICE_STOPPED && SCM_START_PENDING == SERVICE_START_PENDING &&
                   SCM_STOP_PENDING == SERVICE_STOP_PENDING && SCM_RUNNING == SERVICE_RUNNING,
               "scmstate.h's states are the SCM's");
_Static_assert(SCM_ACCEPT_STOP == SERVICE_ACCEPT_STOP &&
                   SCM_ACCEPT_SHUTDOWN == SERVICE_ACCEPT_SHUTDOWN &&
                   SCM_ACCEPT_PARAMCHANGE == SERVICE_ACCEPT_PARAMCHANGE &&
                   SCM_ACCEPT_PRESHUTDOWN == SERVICE_ACCEPT_PRESHUTDOWN,
               "scmstate.h's controls are the SCM's");
_Static_assert(SCM_ERROR_SERVICE_SPECIFIC == ERROR_SERVICE_SPECIFIC_ERROR,
               "scmstate.h's exit code is the SCM's");

struct scm_service {
    const char *data_dir;
    SERVICE_STATUS_HANDLE handle;
    CRITICAL_SECTION lock; /* guards t, ctl and stop_asked: the handler's thread and the agent's */
    struct scm_tracker t;
    struct agent_ctl *ctl; /* the running agent's, or NULL */
    bool stop_asked;       /* a stop came before the agent's control */
    int result;
};

/* ServiceMain receives no context: this is the one pointer the SCM's API makes us keep. Set
 * before the dispatcher starts, read by service_main only. */
static struct scm_service *scm_the_service;

/* Tells the SCM t's status (under lock). */
static void report(struct scm_service *s)
{
    const struct scm_status *c = &s->t.cur;
    SERVICE_STATUS st = {
        .dwServiceType = SERVICE_WIN32_OWN_PROCESS,
        .dwCurrentState = c->state,
        .dwControlsAccepted = c->accepts,
        .dwWin32ExitCode = c->win32_exit,
        .dwServiceSpecificExitCode = c->specific_exit,
        .dwCheckPoint = c->checkpoint,
        .dwWaitHint = c->wait_hint_ms,
    };
    /* One debug line per report: the sequence the SCM saw (test/e2e/service-wine.sh). */
    log_debug("scm: %s checkpoint %u wait hint %u ms accepts 0x%x exit %u/%u",
              scm_state_name(c->state), c->checkpoint, c->wait_hint_ms, c->accepts, c->win32_exit,
              c->specific_exit);
    if (!SetServiceStatus(s->handle, &st)) {
        char msg[256];
        log_warn("SetServiceStatus(%s): %s", scm_state_name(c->state),
                 win_strerror(GetLastError(), msg, sizeof(msg)));
    }
}

static DWORD WINAPI on_scm_control(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
    (void)type;
    (void)data;
    struct scm_service *s = ctx;
    DWORD rc = NO_ERROR;
    EnterCriticalSection(&s->lock);
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
    case SERVICE_CONTROL_PRESHUTDOWN:
        if (scm_on_stop_control(&s->t))
            report(s);
        if (!s->ctl || agent_ctl_stop(s->ctl) < 0)
            s->stop_asked = true;
        break;
    case SERVICE_CONTROL_PARAMCHANGE:
        if (s->ctl && s->t.cur.state == SCM_RUNNING)
            agent_ctl_reload(s->ctl);
        else
            rc = ERROR_SERVICE_CANNOT_ACCEPT_CTRL;
        break;
    case SERVICE_CONTROL_INTERROGATE:
        break;
    default:
        rc = ERROR_CALL_NOT_IMPLEMENTED;
    }
    LeaveCriticalSection(&s->lock);
    return rc;
}

static void on_agent_control(void *ctx, struct agent_ctl *ctl)
{
    struct scm_service *s = ctx;
    EnterCriticalSection(&s->lock);
    s->ctl = ctl;
    if (ctl && s->stop_asked)
        agent_ctl_stop(ctl);
    LeaveCriticalSection(&s->lock);
}

static void on_agent_phase(void *ctx, enum agent_phase phase, const char *text)
{
    struct scm_service *s = ctx;
    (void)text; /* the agent logs it */
    EnterCriticalSection(&s->lock);
    if (scm_on_phase(&s->t, phase))
        report(s);
    LeaveCriticalSection(&s->lock);
}

/* DATA\logs\vmhost.log from now on, at config.toml's [log] level and format from the first
 * line on. A missing data dir is not created (the agent reports it): the lines then go to
 * stderr only, which a service does not have, but the SCM gets the exit code. */
static void open_log(const char *data_dir)
{
    char dir[DATADIR_PATH_MAX], path[DATADIR_PATH_MAX], config[DATADIR_PATH_MAX];
    struct evm_err err = {0};
    unsigned long attrs, code;
    if (datadir_join(dir, sizeof(dir), data_dir, SVC_LOG_DIR) < 0 ||
        datadir_join(path, sizeof(path), dir, SVC_LOG_FILE) < 0 ||
        datadir_join(config, sizeof(config), data_dir, "config.toml") < 0) {
        log_warn("no log file: %s: path too long", data_dir);
        return;
    }
    if (win_path_attributes(data_dir, &attrs, &code) == 0 && attrs != INVALID_FILE_ATTRIBUTES &&
        (attrs & FILE_ATTRIBUTE_DIRECTORY)) {
        if (mkdir_p(dir, &err) < 0 ||
            log_file_open(path, SVC_LOG_MAX_BYTES, SVC_LOG_KEEP, &err) < 0)
            log_warn("no log file: %s", err.msg);
    }
    hostcfg_apply_log_file(config);
}

/* The agent on the service's data dir, as `run` does it without --once. */
static int run_service_agent(struct scm_service *s, const struct agent_hooks *hooks,
                             struct evm_err *err)
{
    struct run_opts o;
    run_opts_defaults(&o);
    o.data_dir = s->data_dir;
    o.max_restarts = SVC_MAX_RESTARTS;
    o.hooks = hooks;
    return run_agent(&o, err);
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv)
{
    (void)argc;
    (void)argv;
    struct scm_service *s = scm_the_service;
    struct run_opts defaults;
    run_opts_defaults(&defaults);
    scm_tracker_init(&s->t, defaults.ready_timeout_s, defaults.stop_grace_ms);
    s->handle = RegisterServiceCtrlHandlerExW(L"" SVC_NAME, on_scm_control, s);
    if (!s->handle) {
        char msg[256];
        log_error("RegisterServiceCtrlHandlerEx: %s",
                  win_strerror(GetLastError(), msg, sizeof(msg)));
        s->result = -EIO;
        return;
    }
    EnterCriticalSection(&s->lock);
    report(s);
    LeaveCriticalSection(&s->lock);
    log_info("service %s starting on %s (pid %lu)", SVC_NAME, s->data_dir,
             (unsigned long)GetCurrentProcessId());

    struct agent_hooks hooks = {
        .ctx = s, .on_control = on_agent_control, .on_phase = on_agent_phase};
    struct evm_err err = {0};
    int r = run_service_agent(s, &hooks, &err);
    if (r < 0)
        log_error("%s", err.msg);
    EnterCriticalSection(&s->lock);
    scm_on_exit(&s->t, r);
    log_info("service %s stopped%s (exit code %u)", SVC_NAME, r < 0 ? " after a failure" : "",
             s->t.cur.specific_exit);
    report(s); /* after SERVICE_STOPPED the process may be ended at any time */
    LeaveCriticalSection(&s->lock);
}

int svc_run(const char *data_dir, struct evm_err *err)
{
    struct scm_service s = {.data_dir = data_dir};
    open_log(data_dir);
    InitializeCriticalSection(&s.lock);
    scm_the_service = &s;
    SERVICE_TABLE_ENTRYW table[] = {{(LPWSTR)L"" SVC_NAME, service_main}, {NULL, NULL}};
    int r = 0;
    if (!StartServiceCtrlDispatcherW(table)) {
        DWORD e = GetLastError();
        char msg[256];
        r = e == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT
                ? evm_errf(err, EINVAL,
                           "service run is what the Service Control Manager starts, not a "
                           "command for a terminal: use 'service start', or 'run'")
                : evm_errf(err, win_errno(e), "StartServiceCtrlDispatcher: %s",
                           win_strerror(e, msg, sizeof(msg)));
    } else if (s.result < 0) {
        r = evm_errf(err, -s.result, "the service could not report to the SCM");
    }
    scm_the_service = NULL;
    DeleteCriticalSection(&s.lock);
    log_file_close();
    return r;
}
