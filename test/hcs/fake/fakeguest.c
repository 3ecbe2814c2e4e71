/* fakeguest.c — the simulated guest (fakeguest.h): a loopback helper thread that answers
 * the fake's start/shutdown/terminate and console connections as the Linux-side helper
 * does, with a scripted guest instead of QEMU. It reads the boot id and the containerd port
 * from the document's KernelCmdLine with the contract's own parser (common/cmdline.c) and
 * recognises the stop request with common/conparse.c. TEST ONLY. */
#include "fakeguest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "hcsvalidate.h"
#include "conparse.h"
#include "markers.h"

#define MAX_CONNS 32
#define ACCEPT_TIMEOUT_MS 30000

struct guest {
    struct fake_config cfg;
    SOCKET lsn, ctl, con;
    SOCKET ports[2];
    SOCKET conns[MAX_CONNS];
    size_t nconns;
    struct fake_lines ctl_in, con_in;
    struct boot_params bp;
    bool have_params;
    char vm_id[80];
    HMODULE self;
};

static const char module_anchor = 0;

static void close_sock(SOCKET *s)
{
    if (*s != INVALID_SOCKET)
        closesocket(*s);
    *s = INVALID_SOCKET;
}

static void guest_free(struct guest *g)
{
    close_sock(&g->lsn);
    close_sock(&g->ctl);
    close_sock(&g->con);
    close_sock(&g->ports[0]);
    close_sock(&g->ports[1]);
    for (size_t i = 0; i < g->nconns; i++)
        close_sock(&g->conns[i]);
    free(g);
}

/* ---- socket helpers ------------------------------------------------------------------------ */

static bool readable(SOCKET s, DWORD ms)
{
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(s, &rd);
    struct timeval tv = {(long)(ms / 1000), (long)(ms % 1000) * 1000};
    return select(0, &rd, NULL, NULL, &tv) == 1;
}

static SOCKET accept_within(SOCKET lsn, DWORD ms)
{
    return readable(lsn, ms) ? accept(lsn, NULL, NULL) : INVALID_SOCKET;
}

/* Receives into lb; 0 on EOF or error. */
static int recv_into(SOCKET s, struct fake_lines *lb)
{
    size_t room = fake_lines_room(lb);
    if (room == 0)
        return 1; /* the caller drains first */
    int n = recv(s, lb->buf + lb->len, (int)room, 0);
    if (n > 0)
        lb->len += (size_t)n;
    return n > 0 ? n : 0;
}

static bool first_line(SOCKET s, struct fake_lines *lb, char *line, size_t n)
{
    DWORD start = GetTickCount();
    while (!fake_lines_next(lb, line, n)) {
        if (GetTickCount() - start > ACCEPT_TIMEOUT_MS)
            return false;
        if (!readable(s, 1000))
            continue;
        if (recv_into(s, lb) == 0)
            return false;
    }
    return true;
}

static SOCKET listen_loopback(unsigned port)
{
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((u_short)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s != INVALID_SOCKET &&
        (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s, 16) != 0))
        close_sock(&s);
    return s;
}

/* ---- the console ------------------------------------------------------------------------------
 */

/* One console line, CR LF terminated as a Linux serial console writes it. */
static void emit(struct guest *g, const char *text)
{
    char line[768];
    int n = snprintf(line, sizeof(line), "%s\r\n", text);
    if (n > 0 && g->con != INVALID_SOCKET)
        (void)fake_send_all(g->con, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1,
                            NULL);
}

/* A marker, with the boot id the way the guest's init adds it. */
static void emit_marker(struct guest *g, const char *body)
{
    char line[640];
    if (g->bp.boot_id[0])
        snprintf(line, sizeof(line), "%s boot_id=%s", body, g->bp.boot_id);
    else
        snprintf(line, sizeof(line), "%s", body);
    emit(g, line);
}

static void listen_ports(struct guest *g)
{
    for (unsigned i = 0; i < 2; i++) {
        unsigned port = g->bp.containerd_port + i;
        g->ports[i] = listen_loopback(port);
        if (g->ports[i] == INVALID_SOCKET) {
            char body[256];
            snprintf(body, sizeof(body),
                     MARKER_FATAL " stage=simulated reason=\"the fake HCS's simulated guest cannot "
                                  "listen on 127.0.0.1:%u (error %d)\"",
                     port, WSAGetLastError());
            emit_marker(g, body);
        }
    }
}

static void boot(struct guest *g)
{
    char body[256];
    emit(g, "Linux version 6.1.0-fake-hcs (no kernel runs: the fake HCS simulates this guest)");
    emit(g, INIT_LOG_PREFIX "simulated guest of the fake HCS (EVM_FAKE_HCS_HELPER is unset)");
    if (!g->have_params) {
        emit_marker(g, MARKER_FATAL " stage=cmdline reason=\"the simulated guest cannot parse "
                                    "KernelCmdLine\"");
        return;
    }
    emit_marker(g, MARKER_STAGE " stage=modules ms=4");
    emit_marker(g, MARKER_STAGE " stage=network ms=9");
    listen_ports(g);
    emit_marker(g, MARKER_IP "127.0.0.1");
    emit_marker(g, MARKER_STAGE " stage=launch ms=15");
    snprintf(body, sizeof(body),
             INIT_LOG_PREFIX "launching ephemerd-linux (dind=%d allow_privileged=%d host_config=)",
             g->bp.dind ? 1 : 0, g->bp.dind_allow_privileged ? 1 : 0);
    emit(g, body);
}

/* ---- the VM's life ------------------------------------------------------------------------------
 */

static bool parse_start(struct guest *g, const char *line, char *why, size_t n)
{
    cJSON *m = cJSON_Parse(line);
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(m, "op");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
    const cJSON *doc = cJSON_GetObjectItemCaseSensitive(m, "document");
    bool ok = cJSON_IsString(op) && !strcmp(op->valuestring, "start") && cJSON_IsString(id) &&
              cJSON_IsObject(doc);
    if (!ok) {
        snprintf(why, n, "the first line is not a start request");
    } else {
        snprintf(g->vm_id, sizeof(g->vm_id), "%s", id->valuestring);
        const char *cmd =
            hcsv_string(doc, "VirtualMachine.Chipset.LinuxKernelDirect.KernelCmdLine");
        struct evm_err err = {0};
        boot_params_defaults(&g->bp);
        g->have_params = cmd && cmdline_parse(cmd, &g->bp, NULL, NULL, &err) == 0;
    }
    cJSON_Delete(m);
    return ok;
}

static void send_event(struct guest *g, const char *event, const char *exit_type, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddStringToObject(o, "event", event);
    if (exit_type) {
        cJSON_AddStringToObject(o, "exit_type", exit_type);
        cJSON_AddNumberToObject(o, "status", 0);
    }
    if (msg)
        cJSON_AddStringToObject(o, "message", msg);
    (void)fake_send_json(g->ctl, o, NULL);
    cJSON_Delete(o);
}

static void accept_probe(struct guest *g, SOCKET lsn)
{
    SOCKET s = accept(lsn, NULL, NULL);
    if (s == INVALID_SOCKET)
        return;
    if (g->nconns < MAX_CONNS)
        g->conns[g->nconns++] = s; /* kept open, as a listening daemon would */
    else
        closesocket(s);
}

/* A console line from the host: the stop request for this boot powers the guest off. */
static const char *on_console_line(struct guest *g, const char *line)
{
    char id[BOOT_ID_HEX_LEN + 1];
    char body[256];
    if (!conparse_stop_request(line, id))
        return NULL;
    if (!g->bp.boot_id[0] || strcmp(id, g->bp.boot_id) != 0) {
        snprintf(body, sizeof(body),
                 INIT_LOG_PREFIX "warning: ignoring a console stop request for another boot: the "
                                 "request carries %s, this boot is %s",
                 id[0] ? id : "no boot id", g->bp.boot_id);
        emit(g, body);
        return NULL;
    }
    snprintf(body, sizeof(body),
             INIT_LOG_PREFIX "stop requested on the console (boot id %s): stopping ephemerd-linux",
             id);
    emit(g, body);
    emit_marker(g, MARKER_EXIT " status=0");
    emit(g, "reboot: Power down");
    return "GracefulExit";
}

/* A control line from the fake: shutdown (the Hyper-V shutdown integration service's
 * orderly power-off) or terminate. */
static const char *on_control_line(struct guest *g, const char *line)
{
    cJSON *m = cJSON_Parse(line);
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(m, "op");
    const char *result = NULL;
    if (cJSON_IsString(op) && !strcmp(op->valuestring, "shutdown")) {
        emit(g, INIT_LOG_PREFIX "power-off requested by the host (shutdown integration service)");
        emit(g, "reboot: Power down");
        result = "GracefulExit";
    } else if (cJSON_IsString(op) && !strcmp(op->valuestring, "terminate")) {
        result = "ForcedExit";
    }
    cJSON_Delete(m);
    return result;
}

static const char *drain(struct guest *g, struct fake_lines *lb, bool control)
{
    char line[4096];
    const char *end = NULL;
    while (!end && fake_lines_next(lb, line, sizeof(line)))
        end = control ? on_control_line(g, line) : on_console_line(g, line);
    return end;
}

static void add_fd(fd_set *rd, SOCKET s)
{
    if (s != INVALID_SOCKET)
        FD_SET(s, rd);
}

/* Runs until the guest powers off or is terminated; returns the exit type. */
static const char *run(struct guest *g)
{
    for (;;) {
        fd_set rd;
        FD_ZERO(&rd);
        add_fd(&rd, g->ctl);
        add_fd(&rd, g->con);
        add_fd(&rd, g->ports[0]);
        add_fd(&rd, g->ports[1]);
        if (select(0, &rd, NULL, NULL, NULL) <= 0)
            return "UnexpectedExit";
        for (unsigned i = 0; i < 2; i++)
            if (g->ports[i] != INVALID_SOCKET && FD_ISSET(g->ports[i], &rd))
                accept_probe(g, g->ports[i]);
        if (g->con != INVALID_SOCKET && FD_ISSET(g->con, &rd)) {
            if (recv_into(g->con, &g->con_in) == 0)
                close_sock(&g->con); /* the fake stopped relaying; the guest runs on */
            const char *end = drain(g, &g->con_in, false);
            if (end)
                return end;
        }
        if (FD_ISSET(g->ctl, &rd)) {
            if (recv_into(g->ctl, &g->ctl_in) == 0)
                return "ForcedExit"; /* the control connection closing kills the VM */
            const char *end = drain(g, &g->ctl_in, true);
            if (end)
                return end;
        }
    }
}

static void serve(struct guest *g)
{
    char line[1 << 16];
    char why[128];
    g->ctl = accept_within(g->lsn, ACCEPT_TIMEOUT_MS);
    if (g->ctl == INVALID_SOCKET || !first_line(g->ctl, &g->ctl_in, line, sizeof(line)))
        return;
    if (!parse_start(g, line, why, sizeof(why))) {
        send_event(g, "failed", NULL, why);
        return;
    }
    send_event(g, "started", NULL, NULL);
    g->con = accept_within(g->lsn, ACCEPT_TIMEOUT_MS);
    if (g->con != INVALID_SOCKET && !first_line(g->con, &g->con_in, line, sizeof(line)))
        close_sock(&g->con);
    boot(g);
    const char *exit_type = run(g);
    close_sock(&g->con); /* the console ends before the exit is reported, as with QEMU */
    send_event(g, "exited", exit_type, NULL);
    (void)readable(g->ctl, 5000); /* let the fake read the event before the close */
}

static DWORD WINAPI guest_thread(void *arg)
{
    struct guest *g = arg;
    HMODULE self = g->self;
    serve(g);
    guest_free(g);
    FreeLibraryAndExitThread(self, 0);
    return 0;
}

int fakeguest_spawn(const struct fake_config *c, char hostport[32], struct evm_err *err)
{
    struct guest *g = calloc(1, sizeof(*g));
    if (!g)
        return evm_errf(err, ENOMEM, "no memory for the simulated guest");
    g->cfg = *c;
    g->lsn = g->ctl = g->con = g->ports[0] = g->ports[1] = INVALID_SOCKET;
    int r = fake_wsa_init(err);
    if (r < 0) {
        free(g);
        return r;
    }
    g->lsn = listen_loopback(0);
    struct sockaddr_in sa;
    int len = sizeof(sa);
    if (g->lsn == INVALID_SOCKET || getsockname(g->lsn, (struct sockaddr *)&sa, &len) != 0) {
        guest_free(g);
        return evm_errf(err, EIO, "the simulated guest cannot listen: error %d", WSAGetLastError());
    }
    snprintf(hostport, 32, "127.0.0.1:%u", ntohs(sa.sin_port));
    if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, (LPCWSTR)&module_anchor,
                            &g->self)) {
        guest_free(g);
        return evm_errf(err, EIO, "GetModuleHandleExW: error %lu", GetLastError());
    }
    HANDLE t = CreateThread(NULL, 0, guest_thread, g, 0, NULL);
    if (!t) {
        DWORD e = GetLastError();
        FreeLibrary(g->self);
        guest_free(g);
        return evm_errf(err, EIO, "starting the simulated guest: error %lu", e);
    }
    CloseHandle(t);
    return 0;
}
