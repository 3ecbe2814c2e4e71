/* svc_win.c — `service install|uninstall|start|stop|status|reload` on Windows: the service
 * SVC_NAME in the Service Control Manager (see svc.h). Install registers this executable's
 * `service run --data-dir D` (svccmd.c) to start automatically as LocalSystem (HCS, the
 * Hyper-V compute service, admits only Administrators and SYSTEM — docs/windows.md), after
 * vmcompute when Hyper-V is there, with restart-on-failure recovery (also for a failure the
 * service reports itself, not only a crash) and a preshutdown timeout that covers the VM's
 * orderly stop. The other commands drive it through ControlService and wait on
 * QueryServiceStatusEx. */
#include <windows.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "log.h"
#include "service/scmstate.h"
#include "service/svc.h"
#include "service/svccmd.h"
#include "winutil.h"

#define SVC_CMDLINE_MAX 8192
#define POLL_MS 250u
#define RECOVERY_RESET_S 86400u /* the failure count starts again after a day without one */

static const SC_ACTION recovery[] = {
    {SC_ACTION_RESTART, 10000},
    {SC_ACTION_RESTART, 30000},
    {SC_ACTION_RESTART, 60000},
};

static int win_fail(struct evm_err *err, const char *what)
{
    DWORD e = GetLastError();
    char msg[256];
    return evm_errf(err, win_errno(e), "%s: %s (error %lu)", what,
                    win_strerror(e, msg, sizeof(msg)), (unsigned long)e);
}

/* A malloc'd UTF-8 copy of w, or NULL. */
static char *utf8_of(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    char *s = n > 0 ? malloc((size_t)n) : NULL;
    if (s && WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) != n) {
        free(s);
        s = NULL;
    }
    return s;
}

static int open_manager(DWORD access, SC_HANDLE *m, struct evm_err *err)
{
    *m = OpenSCManagerW(NULL, NULL, access);
    if (!*m)
        return win_fail(err, "opening the Service Control Manager (run as Administrator)");
    return 0;
}

/* The service, opened with access; -ENOENT when it is not installed. */
static int open_service(DWORD access, SC_HANDLE *m, SC_HANDLE *s, struct evm_err *err)
{
    *s = NULL;
    int r = open_manager(SC_MANAGER_CONNECT, m, err);
    if (r < 0)
        return r;
    *s = OpenServiceW(*m, L"" SVC_NAME, access);
    if (*s)
        return 0;
    r = GetLastError() == ERROR_SERVICE_DOES_NOT_EXIST
            ? evm_errf(err, ENOENT, "service %s is not installed (ephemerd-vmhost service install)",
                       SVC_NAME)
            : win_fail(err, "opening service " SVC_NAME);
    CloseServiceHandle(*m);
    *m = NULL;
    return r;
}

static void close_both(SC_HANDLE m, SC_HANDLE s)
{
    if (s)
        CloseServiceHandle(s);
    if (m)
        CloseServiceHandle(m);
}

static int query(SC_HANDLE s, SERVICE_STATUS_PROCESS *st, struct evm_err *err)
{
    DWORD need;
    if (!QueryServiceStatusEx(s, SC_STATUS_PROCESS_INFO, (BYTE *)st, sizeof(*st), &need))
        return win_fail(err, "QueryServiceStatusEx");
    return 0;
}

/* Polls until the service leaves the pending state `pending`, up to timeout_s. */
static int wait_while(SC_HANDLE s, DWORD pending, unsigned timeout_s, SERVICE_STATUS_PROCESS *st,
                      struct evm_err *err)
{
    ULONGLONG end = GetTickCount64() + (ULONGLONG)timeout_s * 1000u;
    for (;;) {
        int r = query(s, st, err);
        if (r < 0 || st->dwCurrentState != pending)
            return r;
        if (GetTickCount64() >= end)
            return evm_errf(err, ETIMEDOUT, "service %s still %s after %u s (checkpoint %lu)",
                            SVC_NAME, scm_state_name(pending), timeout_s,
                            (unsigned long)st->dwCheckPoint);
        Sleep(POLL_MS);
    }
}

/* "exit code 1066, service-specific 1 (the VM failed ...)", or "exit code N". */
static void exit_text(const SERVICE_STATUS_PROCESS *st, char *out, size_t n)
{
    if (st->dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR)
        snprintf(out, n, "exit code %lu, service-specific %lu (%s)",
                 (unsigned long)st->dwWin32ExitCode, (unsigned long)st->dwServiceSpecificExitCode,
                 scm_exit_text(st->dwServiceSpecificExitCode));
    else
        snprintf(out, n, "exit code %lu", (unsigned long)st->dwWin32ExitCode);
}

/* ---- install ------------------------------------------------------------------------------ */

/* This executable's full path and data_dir made absolute, as UTF-8. */
static int install_paths(const char *data_dir, char **exe, char **dir, struct evm_err *err)
{
    wchar_t wexe[MAX_PATH * 4], wfull[MAX_PATH * 4];
    DWORD n = GetModuleFileNameW(NULL, wexe, sizeof(wexe) / sizeof(wexe[0]));
    if (n == 0 || n >= sizeof(wexe) / sizeof(wexe[0]))
        return win_fail(err, "GetModuleFileName");
    int e = 0;
    wchar_t *wdir = win_wide(data_dir, &e);
    if (!wdir)
        return evm_errf(err, e, "%s: cannot convert the path", data_dir);
    n = GetFullPathNameW(wdir, sizeof(wfull) / sizeof(wfull[0]), wfull, NULL);
    free(wdir);
    if (n == 0 || n >= sizeof(wfull) / sizeof(wfull[0]))
        return win_fail(err, "GetFullPathName");
    *exe = utf8_of(wexe);
    *dir = utf8_of(wfull);
    if (!*exe || !*dir) {
        free(*exe);
        free(*dir);
        return evm_errf(err, ENOMEM, "out of memory");
    }
    return 0;
}

/* "vmcompute\0\0" when the Hyper-V compute service exists (start after it), else none. */
static const wchar_t *dependencies(SC_HANDLE m)
{
    SC_HANDLE h = OpenServiceW(m, L"vmcompute", SERVICE_QUERY_STATUS);
    if (!h) {
        log_warn("the Hyper-V compute service (vmcompute) is not installed: the service will "
                 "fail to boot the VM until Hyper-V is enabled (ephemerd-vmhost doctor)");
        return NULL;
    }
    CloseServiceHandle(h);
    return L"vmcompute\0";
}

/* ChangeServiceConfig2W at level; a level this SCM does not know (wine's, for some) is a
 * warning: the service works without it. */
static int config2_set(SC_HANDLE s, DWORD level, void *info, const char *what, struct evm_err *err)
{
    if (ChangeServiceConfig2W(s, level, info))
        return 0;
    if (GetLastError() == ERROR_INVALID_LEVEL || GetLastError() == ERROR_CALL_NOT_IMPLEMENTED) {
        log_warn("this Service Control Manager does not support %s (Windows does): not set", what);
        return 0;
    }
    char w[160];
    snprintf(w, sizeof(w), "setting the service's %s", what);
    return win_fail(err, w);
}

static void *config2(SC_HANDLE s, DWORD level);

/* Whether the SCM kept the recovery actions (wine accepts and drops them). */
static void check_recovery_kept(SC_HANDLE s)
{
    SERVICE_FAILURE_ACTIONSW *fa = config2(s, SERVICE_CONFIG_FAILURE_ACTIONS);
    if (!fa || fa->cActions != sizeof(recovery) / sizeof(recovery[0]))
        log_warn("this Service Control Manager did not keep the recovery actions (Windows "
                 "does): the service will not be restarted after a failure");
    free(fa);
}

/* Description, recovery actions, and the preshutdown time for the orderly stop. */
static int configure(SC_HANDLE s, struct evm_err *err)
{
    SERVICE_DESCRIPTIONW desc = {(LPWSTR)L"" SVC_DESCRIPTION};
    SERVICE_FAILURE_ACTIONSW fa = {
        .dwResetPeriod = RECOVERY_RESET_S,
        .cActions = sizeof(recovery) / sizeof(recovery[0]),
        .lpsaActions = (SC_ACTION *)recovery,
    };
    /* Recovery also when the service stops itself with an error (a boot that kept failing),
     * not only when the process dies. */
    SERVICE_FAILURE_ACTIONS_FLAG flag = {TRUE};
    struct run_opts o;
    run_opts_defaults(&o);
    SERVICE_PRESHUTDOWN_INFO pre = {o.stop_grace_ms + SCM_STOP_MARGIN_MS};
    int r = config2_set(s, SERVICE_CONFIG_DESCRIPTION, &desc, "description", err);
    if (r == 0)
        r = config2_set(s, SERVICE_CONFIG_FAILURE_ACTIONS, &fa, "recovery actions", err);
    if (r == 0)
        r = config2_set(s, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &flag,
                        "recovery on a reported failure", err);
    if (r == 0)
        r = config2_set(s, SERVICE_CONFIG_PRESHUTDOWN_INFO, &pre, "preshutdown timeout", err);
    if (r == 0)
        check_recovery_kept(s);
    return r;
}

/* Creates the service, or points an existing one at cmdline (reinstall, upgrade). */
static int create_or_update(SC_HANDLE m, const wchar_t *cmdline, SC_HANDLE *s, bool *updated,
                            struct evm_err *err)
{
    const wchar_t *deps = dependencies(m);
    *updated = false;
    *s = CreateServiceW(m, L"" SVC_NAME, L"" SVC_DISPLAY_NAME, SERVICE_ALL_ACCESS,
                        SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START, SERVICE_ERROR_NORMAL,
                        cmdline, NULL, NULL, deps, NULL /* LocalSystem */, NULL);
    if (*s)
        return 0;
    if (GetLastError() != ERROR_SERVICE_EXISTS)
        return win_fail(err, "creating service " SVC_NAME);
    *s = OpenServiceW(m, L"" SVC_NAME, SERVICE_ALL_ACCESS);
    if (!*s)
        return win_fail(err, "opening service " SVC_NAME);
    *updated = true;
    if (!ChangeServiceConfigW(*s, SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                              SERVICE_ERROR_NORMAL, cmdline, NULL, NULL, deps ? deps : L"\0",
                              L"LocalSystem", L"", L"" SVC_DISPLAY_NAME))
        return win_fail(err, "updating service " SVC_NAME);
    return 0;
}

static void warn_missing_dir(const char *dir)
{
    unsigned long attrs, code;
    if (win_path_attributes(dir, &attrs, &code) == 0 && attrs != INVALID_FILE_ATTRIBUTES &&
        (attrs & FILE_ATTRIBUTE_DIRECTORY))
        return;
    log_warn("data directory %s does not exist: create it (readable by Administrators and SYSTEM "
             "only), put config.toml and vm\\linux\\ in it, then 'service start' (docs/windows.md)",
             dir);
}

int svc_install(const char *data_dir, struct evm_err *err)
{
    char *exe = NULL, *dir = NULL, cmd[SVC_CMDLINE_MAX];
    wchar_t *wcmd = NULL;
    SC_HANDLE m = NULL, s = NULL;
    bool updated = false;
    int e = 0;
    int r = install_paths(data_dir, &exe, &dir, err);
    if (r == 0)
        r = svc_command_line(exe, dir, cmd, sizeof(cmd), err);
    if (r == 0 && !(wcmd = win_wide(cmd, &e)))
        r = evm_errf(err, e, "the service's command line cannot be converted");
    if (r == 0)
        r = open_manager(SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE, &m, err);
    if (r == 0)
        r = create_or_update(m, wcmd, &s, &updated, err);
    if (r == 0)
        r = configure(s, err);
    if (r == 0) {
        printf("%s service %s: %s\n", updated ? "updated" : "installed", SVC_NAME, cmd);
        printf("start: automatic; account: LocalSystem; recovery: restart after 10 s, 30 s, "
               "60 s; log: %s\\%s\\%s\n",
               dir, SVC_LOG_DIR, SVC_LOG_FILE);
        warn_missing_dir(dir);
    }
    close_both(m, s);
    free(wcmd);
    free(exe);
    free(dir);
    return r;
}

/* ---- uninstall, start, stop, reload ------------------------------------------------------- */

/* ControlService(STOP); false with the error when it was not sent. */
static bool send_stop(SC_HANDLE s, DWORD *e)
{
    SERVICE_STATUS plain;
    *e = ControlService(s, SERVICE_CONTROL_STOP, &plain) ? 0 : GetLastError();
    return *e == 0;
}

/* Asks a running service to stop and waits until it has; 0 when it was not running. The SCM
 * refuses controls to a service that is still starting: then the start is waited for first
 * (the service accepts the stop once it runs, or has stopped by itself). */
static int stop_and_wait(SC_HANDLE s, unsigned timeout_s, bool *was_running, struct evm_err *err)
{
    SERVICE_STATUS_PROCESS st;
    DWORD e;
    *was_running = false;
    if (!send_stop(s, &e) && e == ERROR_SERVICE_CANNOT_ACCEPT_CTRL) {
        int r = wait_while(s, SERVICE_START_PENDING, timeout_s, &st, err);
        if (r < 0)
            return r;
        if (st.dwCurrentState == SERVICE_RUNNING)
            send_stop(s, &e);
    }
    if (e == ERROR_SERVICE_NOT_ACTIVE)
        return 0;
    if (e != 0 && e != ERROR_SERVICE_CANNOT_ACCEPT_CTRL) { /* that one: already stopping */
        SetLastError(e);
        return win_fail(err, "stopping service " SVC_NAME);
    }
    *was_running = true;
    int r = wait_while(s, SERVICE_STOP_PENDING, timeout_s, &st, err);
    if (r == 0 && st.dwCurrentState != SERVICE_STOPPED)
        r = evm_errf(err, EAGAIN, "service %s is %s, not stopped", SVC_NAME,
                     scm_state_name(st.dwCurrentState));
    return r;
}

int svc_uninstall(unsigned timeout_s, struct evm_err *err)
{
    SC_HANDLE m, s;
    bool was_running;
    int r = open_service(DELETE | SERVICE_STOP | SERVICE_QUERY_STATUS, &m, &s, err);
    if (r == -ENOENT) {
        printf("service %s is not installed\n", SVC_NAME);
        return 0;
    }
    if (r == 0)
        r = stop_and_wait(s, timeout_s, &was_running, err);
    if (r == 0 && !DeleteService(s))
        r = win_fail(err, "deleting service " SVC_NAME);
    if (r == 0)
        printf("%sremoved service %s (the data directory is kept)\n",
               was_running ? "stopped and " : "", SVC_NAME);
    close_both(m, s);
    return r;
}

int svc_start(unsigned timeout_s, struct evm_err *err)
{
    SC_HANDLE m, s;
    SERVICE_STATUS_PROCESS st;
    int r = open_service(SERVICE_START | SERVICE_QUERY_STATUS, &m, &s, err);
    if (r < 0)
        return r;
    if (!StartServiceW(s, 0, NULL) && GetLastError() != ERROR_SERVICE_ALREADY_RUNNING)
        r = win_fail(err, "starting service " SVC_NAME);
    if (r == 0)
        r = wait_while(s, SERVICE_START_PENDING, timeout_s, &st, err);
    if (r == 0 && st.dwCurrentState == SERVICE_RUNNING) {
        printf("service %s is running (pid %lu): the VM is ready\n", SVC_NAME,
               (unsigned long)st.dwProcessId);
    } else if (r == 0) {
        char why[160];
        exit_text(&st, why, sizeof(why));
        r = evm_errf(err, EIO,
                     "service %s did not start: %s %s; see the log in the data "
                     "directory (logs\\%s)",
                     SVC_NAME, scm_state_name(st.dwCurrentState), why, SVC_LOG_FILE);
    }
    close_both(m, s);
    return r;
}

int svc_stop(unsigned timeout_s, struct evm_err *err)
{
    SC_HANDLE m, s;
    SERVICE_STATUS_PROCESS st;
    bool was_running;
    int r = open_service(SERVICE_STOP | SERVICE_QUERY_STATUS, &m, &s, err);
    if (r == 0)
        r = stop_and_wait(s, timeout_s, &was_running, err);
    if (r == 0)
        r = query(s, &st, err);
    if (r == 0) {
        char why[160];
        exit_text(&st, why, sizeof(why));
        printf("service %s %s (%s)\n", SVC_NAME, was_running ? "stopped" : "was not running", why);
    }
    close_both(m, s);
    return r;
}

int svc_reload(struct evm_err *err)
{
    SC_HANDLE m, s;
    SERVICE_STATUS plain;
    int r = open_service(SERVICE_PAUSE_CONTINUE | SERVICE_QUERY_STATUS, &m, &s, err);
    if (r < 0)
        return r;
    if (!ControlService(s, SERVICE_CONTROL_PARAMCHANGE, &plain))
        r = GetLastError() == ERROR_SERVICE_NOT_ACTIVE ||
                    GetLastError() == ERROR_SERVICE_CANNOT_ACCEPT_CTRL
                ? evm_errf(err, EAGAIN,
                           "service %s is not running (or not ready yet): nothing "
                           "to reload",
                           SVC_NAME)
                : win_fail(err, "asking service " SVC_NAME " to reload");
    if (r == 0)
        printf("asked service %s to reload config.toml (the VM restarts in order if it "
               "changed; see the log)\n",
               SVC_NAME);
    close_both(m, s);
    return r;
}

/* ---- status ------------------------------------------------------------------------------- */

static const char *start_type_name(DWORD t)
{
    switch (t) {
    case SERVICE_AUTO_START:
        return "automatic";
    case SERVICE_DEMAND_START:
        return "manual";
    case SERVICE_DISABLED:
        return "disabled";
    default:
        return "other";
    }
}

/* QueryServiceConfig2W into a malloc'd buffer, or NULL. */
static void *config2(SC_HANDLE s, DWORD level)
{
    DWORD need = 0;
    QueryServiceConfig2W(s, level, NULL, 0, &need);
    void *buf = need ? malloc(need) : NULL;
    if (buf && !QueryServiceConfig2W(s, level, buf, need, &need)) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

static void print_recovery(FILE *out, SC_HANDLE s)
{
    SERVICE_FAILURE_ACTIONSW *fa = config2(s, SERVICE_CONFIG_FAILURE_ACTIONS);
    SERVICE_FAILURE_ACTIONS_FLAG *flag = config2(s, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG);
    fputs("recovery:   ", out);
    if (!fa || fa->cActions == 0)
        fputs("none", out);
    for (DWORD i = 0; fa && i < fa->cActions; i++)
        fprintf(out, "%s%s after %lu s", i ? ", " : "",
                fa->lpsaActions[i].Type == SC_ACTION_RESTART ? "restart" : "other",
                (unsigned long)(fa->lpsaActions[i].Delay / 1000));
    if (fa && fa->cActions)
        fprintf(out, " (reset after %lu s)", (unsigned long)fa->dwResetPeriod);
    if (flag)
        fprintf(out, "; on a reported failure too: %s",
                flag->fFailureActionsOnNonCrashFailures ? "yes" : "no");
    fputc('\n', out);
    free(fa);
    free(flag);
}

static void print_config(FILE *out, SC_HANDLE s)
{
    DWORD need = 0;
    QueryServiceConfigW(s, NULL, 0, &need);
    QUERY_SERVICE_CONFIGW *c = need ? malloc(need) : NULL;
    if (c && QueryServiceConfigW(s, c, need, &need)) {
        char *cmd = utf8_of(c->lpBinaryPathName);
        char *acct = utf8_of(c->lpServiceStartName ? c->lpServiceStartName : L"LocalSystem");
        fprintf(out, "start:      %s\naccount:    %s\ncommand:    %s\n",
                start_type_name(c->dwStartType), acct ? acct : "?", cmd ? cmd : "?");
        free(cmd);
        free(acct);
    }
    free(c);
    print_recovery(out, s);
    SERVICE_PRESHUTDOWN_INFO *pre = config2(s, SERVICE_CONFIG_PRESHUTDOWN_INFO);
    if (pre)
        fprintf(out, "preshutdown: %lu ms\n", (unsigned long)pre->dwPreshutdownTimeout);
    free(pre);
}

int svc_status(FILE *out, bool *running, struct evm_err *err)
{
    SC_HANDLE m, s;
    SERVICE_STATUS_PROCESS st;
    *running = false;
    int r = open_service(SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG, &m, &s, err);
    if (r == 0)
        r = query(s, &st, err);
    if (r == 0) {
        char why[160];
        exit_text(&st, why, sizeof(why));
        *running = st.dwCurrentState == SERVICE_RUNNING;
        fprintf(out, "service:    %s\nstate:      %s", SVC_NAME, scm_state_name(st.dwCurrentState));
        if (st.dwProcessId)
            fprintf(out, " (pid %lu)", (unsigned long)st.dwProcessId);
        fprintf(out, "\nlast exit:  %s\n", why);
        print_config(out, s);
    }
    close_both(m, s);
    return r;
}
