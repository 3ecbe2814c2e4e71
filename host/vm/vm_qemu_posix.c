/* vm_qemu_posix.c — the QEMU backend of vm.h (Linux): spawns qemu-system-x86_64 with libuv,
 * reads the serial console from QEMU's stdout (appended to console.log, split into lines)
 * and writes to it through QEMU's stdin (the contract's stop request), keeps QEMU's stderr
 * for the exit reason, talks QMP over <state_dir>/qmp.sock for the fallback stop
 * (ctrl-alt-delete, then quit), and reports QEMU's exit as a readable sentence. The root
 * disk is a raw file (vm_qemu_disk_posix.c); the argv is built by qemu_argv.c.
 *
 * Choices:
 * - Console on QEMU's stdin/stdout (-chardev stdio): no socket to connect after QEMU creates
 *   it, so no race and no byte is lost before a connection; the stdin pipe makes it duplex.
 * - Ports: QEMU user networking forwards 127.0.0.1:<free port> to each guest port. Such a
 *   forward accepts on the host before the guest does, so the reachability this backend
 *   reports asks the prober to hold a connection open before trusting it.
 * - Root disk cache=writeback (QEMU's default): the guest's flushes reach the host disk, so
 *   the persistent ext4 disk survives a host crash through its journal; cache=unsafe would
 *   only speed up mkfs/populate, at the risk of a corrupt disk after a host crash.
 * - QEMU runs in its own session (UV_PROCESS_DETACHED) so a ctrl-c at the agent's terminal
 *   reaches the agent, which stops the guest in order, rather than QEMU directly.
 * - No stray QEMU: QEMU is started through util-linux's `setpriv --pdeathsig KILL` (uv_spawn
 *   has no pre-exec hook for prctl(PR_SET_PDEATHSIG)) and a one-line sh that checks its
 *   parent is still this agent before exec'ing QEMU (same pid throughout), so QEMU dies
 *   with the agent however early the agent dies. The death signal follows the thread that
 *   spawned: the loop's thread. Without setpriv it warns and spawns QEMU directly; vm_close
 *   always kills a QEMU that is still running. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fileutil.h"
#include "linebuf.h"
#include "log.h"
#include "config/hostcfg.h"
#include "vm/qemu_argv.h"
#include "vm/qemu_host.h"
#include "vm/qmp.h"
#include "vm/vm.h"

#define CONSOLE_MAX_LINE 8192
#define STDERR_MAX_LINE 1024
#define QMP_CONNECT_MS 10000
#define QUIT_TO_KILL_MS 2000
#define DRAIN_MS 2000       /* after QEMU exited, wait this long at most for its pipes' EOF */
#define FORWARD_HOLD_MS 300 /* a forward that stays open this long reached a listener */

enum stop_phase { PH_RUNNING, PH_GUEST, PH_QUIT, PH_KILL };

struct vm {
    uv_loop_t *loop;
    struct vm_events ev;
    uv_process_t proc;
    uv_pipe_t in_pipe, out_pipe, err_pipe;
    uv_timer_t stop_timer, cad_timer, drain_timer;
    struct qmp_client *qmp;
    struct linebuf con_lines, err_lines;
    int console_fd;
    bool console_write_failed;
    char err_last[STDERR_MAX_LINE + 1]; /* QEMU's last non-empty stderr line */
    char shutdown_reason[64];           /* from QMP's SHUTDOWN event */
    enum stop_phase phase;
    bool stop_requested;   /* the caller wrote the contract's stop request */
    unsigned cad_after_ms; /* ctrl-alt-delete fallback this long after it */
    bool spawned, exited, out_eof, err_eof, drain_expired, reported, closing, in_closed;
    int64_t exit_status;
    int term_signal;
    int handles; /* initialised handles whose close callback has not run */
    char readbuf[65536];
};

const struct vm_backend *vm_backend(void)
{
    static const struct vm_backend qemu = {
        .name = "qemu",
        .root_disk = "/dev/vda", /* virtio-blk */
        .disk_file = "root.img",
        .min_memory_mb = HOSTCFG_QEMU_MIN_MEMORY_MB,
    };
    return &qemu;
}
/* The config check's memory minimum is this backend's (hostcfg.h). */
_Static_assert(HOSTCFG_QEMU_MIN_MEMORY_MB == HOSTCFG_MIN_MEMORY_MB,
               "the build's backend and hostcfg.h disagree");

/* ---- helpers ----------------------------------------------------------------------- */

/* Binds 127.0.0.1:0 and returns the socket (kept open so that several picks differ). */
static int pick_port(uint16_t *port, struct evm_err *err)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return evm_errf(err, errno, "picking a free port: socket: %s", strerror(errno));
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        int e = errno;
        close(fd);
        return evm_errf(err, e, "picking a free port on 127.0.0.1: %s", strerror(e));
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

/* ---- lifetime ---------------------------------------------------------------------- */

static void maybe_free(struct vm *vm)
{
    if (!vm->closing || vm->handles > 0)
        return;
    linebuf_free(&vm->con_lines);
    linebuf_free(&vm->err_lines);
    if (vm->console_fd >= 0)
        close(vm->console_fd);
    free(vm);
}

static void on_closed(uv_handle_t *h)
{
    struct vm *vm = h->data;
    vm->handles--;
    maybe_free(vm);
}

static void close_handle(struct vm *vm, uv_handle_t *h)
{
    (void)vm;
    if (!uv_is_closing(h))
        uv_close(h, on_closed);
}

static void close_all(struct vm *vm)
{
    close_handle(vm, (uv_handle_t *)&vm->in_pipe);
    close_handle(vm, (uv_handle_t *)&vm->out_pipe);
    close_handle(vm, (uv_handle_t *)&vm->err_pipe);
    close_handle(vm, (uv_handle_t *)&vm->stop_timer);
    close_handle(vm, (uv_handle_t *)&vm->cad_timer);
    close_handle(vm, (uv_handle_t *)&vm->drain_timer);
    /* The process handle is closed only once QEMU has been reaped (else a zombie stays). */
    if (vm->spawned && vm->exited)
        close_handle(vm, (uv_handle_t *)&vm->proc);
    if (vm->qmp) {
        qmp_close(vm->qmp);
        vm->qmp = NULL;
    }
}

/* ---- exit -------------------------------------------------------------------------- */

static const char *shutdown_words(const char *reason)
{
    if (!*reason || strcmp(reason, "guest-shutdown") == 0)
        return "guest powered off";
    if (strcmp(reason, "guest-reset") == 0)
        return "guest rebooted or its kernel panicked";
    if (strcmp(reason, "guest-panic") == 0)
        return "guest panicked";
    if (strcmp(reason, "host-qmp-quit") == 0)
        return "quit by the host over QMP";
    if (strcmp(reason, "host-signal") == 0)
        return "qemu terminated by a signal";
    return reason;
}

static enum vm_exit_kind exit_kind(const struct vm *vm)
{
    if (vm->phase >= PH_QUIT)
        return VM_EXIT_FORCED;
    if (vm->term_signal || vm->exit_status != 0)
        return VM_EXIT_UNEXPECTED;
    const char *r = vm->shutdown_reason;
    if (!*r || strcmp(r, "guest-shutdown") == 0)
        return VM_EXIT_POWEROFF;
    if (strcmp(r, "guest-panic") == 0)
        return VM_EXIT_CRASH;
    if (strncmp(r, "host-", 5) == 0)
        return VM_EXIT_FORCED;
    return VM_EXIT_UNEXPECTED; /* guest-reset and anything new */
}

static void report_exit(struct vm *vm)
{
    if (vm->reported || !vm->exited)
        return;
    if (!(vm->out_eof && vm->err_eof && !vm->qmp) && !vm->drain_expired)
        return; /* console, stderr and QMP (the SHUTDOWN reason) still have data to give */
    vm->reported = true;
    uv_timer_stop(&vm->stop_timer);
    uv_timer_stop(&vm->cad_timer);
    uv_timer_stop(&vm->drain_timer);
    if (vm->qmp) {
        qmp_close(vm->qmp);
        vm->qmp = NULL;
    }
    char reason[1400];
    int code;
    enum vm_exit_kind kind = exit_kind(vm);
    if (vm->term_signal) {
        code = 128 + vm->term_signal;
        snprintf(reason, sizeof(reason), "qemu killed by signal %d (%s)%s%s", vm->term_signal,
                 strsignal(vm->term_signal), vm->err_last[0] ? ": " : "", vm->err_last);
    } else if (vm->exit_status == 0) {
        code = 0;
        snprintf(reason, sizeof(reason), "qemu exited with status 0 (%s)",
                 shutdown_words(vm->shutdown_reason));
    } else {
        code = (int)vm->exit_status;
        snprintf(reason, sizeof(reason), "qemu exited with status %d%s%s", code,
                 vm->err_last[0] ? ": " : "", vm->err_last);
    }
    log_debug("vm: %s", reason);
    if (!vm->closing && vm->ev.on_exit)
        vm->ev.on_exit(vm->ev.ctx, kind, code, reason);
}

static void on_drain_timeout(uv_timer_t *t)
{
    struct vm *vm = t->data;
    /* QEMU is gone but something still holds its pipes: stop waiting for their EOF. */
    uv_read_stop((uv_stream_t *)&vm->out_pipe);
    uv_read_stop((uv_stream_t *)&vm->err_pipe);
    vm->drain_expired = true;
    report_exit(vm);
}

static void on_proc_exit(uv_process_t *p, int64_t status, int sig)
{
    struct vm *vm = p->data;
    vm->exited = true;
    vm->exit_status = status;
    vm->term_signal = sig;
    uv_timer_stop(&vm->stop_timer);
    uv_timer_stop(&vm->cad_timer);
    if (vm->closing) {
        close_handle(vm, (uv_handle_t *)&vm->proc);
        return;
    }
    if (vm->qmp && !qmp_is_ready(vm->qmp)) {
        qmp_close(vm->qmp); /* never connected: nothing to read from it */
        vm->qmp = NULL;
    }
    uv_timer_start(&vm->drain_timer, on_drain_timeout, DRAIN_MS, 0);
    report_exit(vm);
}

/* ---- console and stderr ------------------------------------------------------------ */

static void console_line(void *ctx, const char *line, size_t len, bool truncated)
{
    struct vm *vm = ctx;
    (void)len;
    (void)truncated;
    if (!vm->closing && vm->ev.on_console_line)
        vm->ev.on_console_line(vm->ev.ctx, line);
}

static void stderr_line(void *ctx, const char *line, size_t len, bool truncated)
{
    struct vm *vm = ctx;
    (void)truncated;
    if (len == 0)
        return;
    log_warn("qemu: %s", line);
    memcpy(vm->err_last, line, len + 1);
}

static void console_append(struct vm *vm, const char *data, size_t n)
{
    while (n > 0 && !vm->console_write_failed) {
        ssize_t w = write(vm->console_fd, data, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            log_warn("vm: writing the console log: %s; console lines are still parsed",
                     w < 0 ? strerror(errno) : "short write");
            vm->console_write_failed = true;
            return;
        }
        data += w;
        n -= (size_t)w;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct vm *vm = h->data;
    (void)suggested;
    *buf = uv_buf_init(vm->readbuf, sizeof(vm->readbuf));
}

static void on_out_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct vm *vm = s->data;
    if (nread > 0) {
        console_append(vm, buf->base, (size_t)nread);
        linebuf_feed(&vm->con_lines, buf->base, (size_t)nread, console_line, vm);
        return;
    }
    if (nread == 0)
        return;
    if (nread != UV_EOF)
        log_warn("vm: reading the console: %s", uv_strerror((int)nread));
    uv_read_stop(s);
    linebuf_flush(&vm->con_lines, console_line, vm);
    vm->out_eof = true;
    report_exit(vm);
}

static void on_err_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct vm *vm = s->data;
    if (nread > 0) {
        linebuf_feed(&vm->err_lines, buf->base, (size_t)nread, stderr_line, vm);
        return;
    }
    if (nread == 0)
        return;
    uv_read_stop(s);
    linebuf_flush(&vm->err_lines, stderr_line, vm);
    vm->err_eof = true;
    report_exit(vm);
}

/* ---- QMP --------------------------------------------------------------------------- */

static void qmp_ready_cb(void *ctx)
{
    (void)ctx;
    log_debug("vm: qmp connected");
}

static void qmp_event_cb(void *ctx, const struct qmp_msg *ev)
{
    struct vm *vm = ctx;
    log_debug("vm: qmp event %s", ev->event);
    if (strcmp(ev->event, "SHUTDOWN") == 0) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(ev->body, "reason");
        if (cJSON_IsString(r) && r->valuestring)
            snprintf(vm->shutdown_reason, sizeof(vm->shutdown_reason), "%s", r->valuestring);
    }
}

static void qmp_closed_cb(void *ctx, const char *reason)
{
    struct vm *vm = ctx;
    /* Normal when QEMU exits; otherwise the stop path falls back to signals. */
    if (!vm->exited)
        log_debug("vm: %s", reason);
    qmp_close(vm->qmp);
    vm->qmp = NULL;
    report_exit(vm);
}

/* ---- stop -------------------------------------------------------------------------- */

static void kill_now(struct vm *vm)
{
    if (vm->exited)
        return;
    vm->phase = PH_KILL;
    uv_timer_stop(&vm->stop_timer);
    uv_timer_stop(&vm->cad_timer);
    int r = uv_process_kill(&vm->proc, SIGKILL);
    if (r < 0 && r != UV_ESRCH)
        log_warn("vm: killing qemu (pid %d): %s", vm->proc.pid, uv_strerror(r));
}

static void on_kill_timer(uv_timer_t *t)
{
    struct vm *vm = t->data;
    log_warn("vm: qemu did not quit within %d ms; killing it", QUIT_TO_KILL_MS);
    kill_now(vm);
}

static void quit_reply(void *ctx, int status, const struct qmp_msg *reply)
{
    (void)ctx;
    if (status != 0)
        log_debug("vm: qmp quit: %s", reply ? reply->err_desc : "no reply");
}

static void stop_quit(struct vm *vm)
{
    if (vm->exited || vm->phase >= PH_QUIT)
        return;
    vm->phase = PH_QUIT;
    uv_timer_stop(&vm->stop_timer);
    uv_timer_stop(&vm->cad_timer);
    struct evm_err err = {0};
    if (!vm->qmp || !qmp_is_ready(vm->qmp) ||
        qmp_command(vm->qmp, "quit", NULL, quit_reply, vm, &err) != 0) {
        /* Without QMP, SIGTERM makes QEMU quit in order too. */
        int r = uv_process_kill(&vm->proc, SIGTERM);
        if (r < 0 && r != UV_ESRCH)
            log_warn("vm: stopping qemu (pid %d): %s", vm->proc.pid, uv_strerror(r));
    }
    uv_timer_start(&vm->stop_timer, on_kill_timer, QUIT_TO_KILL_MS, 0);
}

static void on_grace_timer(uv_timer_t *t)
{
    struct vm *vm = t->data;
    log_info("vm: the guest did not power off within its grace period; quitting qemu");
    stop_quit(vm);
}

static void sendkey_reply(void *ctx, int status, const struct qmp_msg *reply)
{
    struct vm *vm = ctx;
    if (status == 0 || vm->exited || vm->phase != PH_GUEST)
        return;
    log_warn("vm: ctrl-alt-delete was not delivered (%s)",
             reply ? reply->err_desc : "qmp connection lost");
    if (!vm->stop_requested)
        stop_quit(vm); /* nothing else asked the guest to stop: do not wait for it */
}

/* The fallback request: ctrl-alt-delete, which a guest init that set RB_DISABLE_CAD gets as
 * SIGINT. */
static void send_ctrl_alt_delete(struct vm *vm)
{
    cJSON *args = cJSON_Parse("{\"keys\":[{\"type\":\"qcode\",\"data\":\"ctrl\"},"
                              "{\"type\":\"qcode\",\"data\":\"alt\"},"
                              "{\"type\":\"qcode\",\"data\":\"delete\"}]}");
    struct evm_err err = {0};
    int r = -ENOTCONN;
    if (args && vm->qmp && qmp_is_ready(vm->qmp))
        r = qmp_command(vm->qmp, "send-key", args, sendkey_reply, vm, &err);
    cJSON_Delete(args);
    if (r == 0)
        return;
    log_warn("vm: cannot send ctrl-alt-delete (%s)", err.msg[0] ? err.msg : "qmp not connected");
    if (!vm->stop_requested)
        stop_quit(vm);
}

static void on_cad_timer(uv_timer_t *t)
{
    struct vm *vm = t->data;
    log_warn("vm: the guest has not stopped %u ms after the console stop request; sending "
             "ctrl-alt-delete",
             vm->cad_after_ms);
    send_ctrl_alt_delete(vm);
}

void vm_stop(struct vm *vm, unsigned grace_ms, bool requested)
{
    if (!vm || vm->exited || vm->closing || vm->phase != PH_RUNNING)
        return;
    vm->phase = PH_GUEST;
    vm->stop_requested = requested;
    uv_timer_start(&vm->stop_timer, on_grace_timer, grace_ms, 0);
    if (!requested) {
        send_ctrl_alt_delete(vm);
        return;
    }
    vm->cad_after_ms = grace_ms / 2;
    uv_timer_start(&vm->cad_timer, on_cad_timer, vm->cad_after_ms, 0);
}

/* ---- console input ----------------------------------------------------------------- */

struct console_write {
    uv_write_t req;
    char data[];
};

static void on_console_written(uv_write_t *req, int status)
{
    struct console_write *w = (struct console_write *)req;
    struct vm *vm = req->data;
    if (status < 0 && status != UV_ECANCELED && !vm->exited)
        log_warn("vm: writing to the guest console: %s", uv_strerror(status));
    free(w);
}

int vm_console_write(struct vm *vm, const char *data, size_t len, struct evm_err *err)
{
    if (!vm || vm->exited || vm->closing || vm->in_closed)
        return evm_errf(err, EPIPE, "vm: the guest console is closed");
    struct console_write *w = malloc(sizeof(*w) + len);
    if (!w)
        return evm_errf(err, ENOMEM, "vm: out of memory");
    memcpy(w->data, data, len);
    w->req.data = vm;
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)len);
    int r = uv_write(&w->req, (uv_stream_t *)&vm->in_pipe, &buf, 1, on_console_written);
    if (r < 0) {
        free(w);
        return evm_errf(err, -r, "vm: writing to the guest console: %s", uv_strerror(r));
    }
    return 0;
}

void vm_kill(struct vm *vm)
{
    if (!vm || vm->closing)
        return;
    kill_now(vm);
}

void vm_close(struct vm *vm)
{
    if (!vm || vm->closing)
        return;
    vm->closing = true;
    if (vm->spawned && !vm->exited)
        kill_now(vm); /* reaped by on_proc_exit, which then closes the process handle */
    close_all(vm);
    maybe_free(vm);
}

/* ---- start ------------------------------------------------------------------------- */

/* What vm_start prepares before anything runs; released by launch_free. */
struct launch {
    bool kvm;
    char *qemu, *setpriv, *qmp_path;
    int port_fds[VM_MAX_PORTS]; /* held until the spawn so that several picks differ */
    uint16_t ports[VM_MAX_PORTS];
    struct qemu_argv argv;
};

static void launch_free(struct launch *l)
{
    for (unsigned i = 0; i < VM_MAX_PORTS; i++)
        if (l->port_fds[i] >= 0)
            close(l->port_fds[i]);
    qemu_argv_free(&l->argv);
    free(l->qemu);
    free(l->setpriv);
    free(l->qmp_path);
}

static void release_ports(struct launch *l)
{
    for (unsigned i = 0; i < VM_MAX_PORTS; i++) {
        if (l->port_fds[i] >= 0)
            close(l->port_fds[i]);
        l->port_fds[i] = -1;
    }
}

/* KVM when usable; else TCG if allowed. Finds qemu and setpriv on PATH. */
static int find_tools(struct launch *l, const struct vm_spec *spec, struct evm_err *err)
{
    struct evm_err why = {0};
    l->kvm = qemu_kvm_usable(&why) == 0;
    if (!l->kvm && !spec->allow_tcg)
        return evm_errf(err, ENODEV, "vm: %s and TCG not allowed", why.msg);
    if (!l->kvm)
        log_warn("vm: KVM unusable (%s); emulating with TCG (slow)", why.msg);
    l->qemu = qemu_find_on_path(QEMU_BIN);
    if (!l->qemu)
        return evm_errf(err, ENOENT, "vm: %s not found on PATH (install qemu-system-x86)",
                        QEMU_BIN);
    l->setpriv = qemu_find_on_path("setpriv");
    if (!l->setpriv)
        log_warn("vm: setpriv not found: qemu will not be killed if this agent dies");
    return 0;
}

/* The state directory (private) and the QMP socket (a stale one removed). */
/* The state dir holds the QMP socket: ours only, whatever mode it was left with. */
static int private_dir(const char *path, struct evm_err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return evm_errf(err, errno, "vm: %s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return evm_errf(err, ENOTDIR, "vm: %s: not a directory (a symlink is refused)", path);
    if (st.st_uid != geteuid())
        return evm_errf(err, EPERM, "vm: %s: owned by uid %u, not this agent's", path,
                        (unsigned)st.st_uid);
    if ((st.st_mode & 077) && chmod(path, 0700) != 0)
        return evm_errf(err, errno, "vm: %s: making it private: %s", path, strerror(errno));
    return 0;
}

static int prepare_state_dir(struct launch *l, const struct vm_spec *spec, struct evm_err *err)
{
    int r = mkdir_p(spec->state_dir, err);
    if (r == 0)
        r = private_dir(spec->state_dir, err);
    if (r < 0)
        return r;
    l->qmp_path = qemu_asprintf("%s/qmp.sock", spec->state_dir);
    if (!l->qmp_path)
        return evm_errf(err, ENOMEM, "vm: out of memory");
    if (strlen(l->qmp_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return evm_errf(err, ENAMETOOLONG, "vm: %s: longer than a unix socket path may be",
                        l->qmp_path);
    if (unlink(l->qmp_path) != 0 && errno != ENOENT)
        return evm_errf(err, errno, "vm: removing stale %s: %s", l->qmp_path, strerror(errno));
    return 0;
}

/* One free loopback port per guest port. The sockets are held until just before the spawn;
 * another process may take a port in between, and QEMU then fails to start with "Could not
 * set up host forwarding rule", which on_exit reports (the agent's restart picks new
 * ports). */
static int pick_ports(struct launch *l, const struct vm_spec *spec, struct evm_err *err)
{
    for (unsigned i = 0; i < spec->nports; i++) {
        int fd = pick_port(&l->ports[i], err);
        if (fd < 0)
            return fd;
        l->port_fds[i] = fd;
    }
    return 0;
}

/* console.log: appended to, never through a symlink, never a file with another name (a hard
 * link), and 0600 whatever mode an existing one had: the console can carry what the guest
 * prints. */
static int open_console_log(const char *path, int *fd, struct evm_err *err)
{
    *fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    if (*fd < 0)
        return evm_errf(err, errno, "vm: opening console log %s: %s", path, strerror(errno));
    struct stat st;
    int r = 0;
    if (fstat(*fd, &st) != 0)
        r = evm_errf(err, errno, "vm: console log %s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        r = evm_errf(err, EINVAL, "vm: console log %s: not a regular file", path);
    else if (st.st_nlink != 1)
        r = evm_errf(err, EMLINK, "vm: console log %s: has %lu links (a hard link is refused)",
                     path, (unsigned long)st.st_nlink);
    else if ((st.st_mode & 07777) != 0600 && fchmod(*fd, 0600) != 0)
        r = evm_errf(err, errno, "vm: console log %s: making it 0600: %s", path, strerror(errno));
    if (r < 0) {
        close(*fd);
        *fd = -1;
    }
    return r;
}

static int vm_new(uv_loop_t *loop, const struct vm_spec *spec, const struct vm_events *ev,
                  struct vm **out, struct evm_err *err)
{
    int r;
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return evm_errf(err, ENOMEM, "vm: out of memory");
    vm->console_fd = -1;
    vm->loop = loop;
    vm->ev = *ev;
    if (linebuf_init(&vm->con_lines, CONSOLE_MAX_LINE) != 0 ||
        linebuf_init(&vm->err_lines, STDERR_MAX_LINE) != 0) {
        r = evm_errf(err, ENOMEM, "vm: out of memory");
        goto fail;
    }
    if ((r = open_console_log(spec->console_log, &vm->console_fd, err)) < 0)
        goto fail;
    *out = vm;
    return 0;
fail:
    linebuf_free(&vm->con_lines);
    linebuf_free(&vm->err_lines);
    free(vm);
    return r;
}

/* Spawns QEMU with the console on its stdin/stdout and its stderr kept for the exit reason.
 * From here on the handles exist and are released through close callbacks (on failure too:
 * the caller must not free vm). On Unix these initialisations cannot fail. */
static int spawn_qemu(struct vm *vm, struct launch *l, const struct vm_spec *spec,
                      struct evm_err *err)
{
    uv_pipe_init(vm->loop, &vm->in_pipe, 0);
    uv_pipe_init(vm->loop, &vm->out_pipe, 0);
    uv_pipe_init(vm->loop, &vm->err_pipe, 0);
    uv_timer_init(vm->loop, &vm->stop_timer);
    uv_timer_init(vm->loop, &vm->cad_timer);
    uv_timer_init(vm->loop, &vm->drain_timer);
    vm->handles = 6;
    vm->in_pipe.data = vm->out_pipe.data = vm->err_pipe.data = vm;
    vm->stop_timer.data = vm->cad_timer.data = vm->drain_timer.data = vm;
    vm->proc.data = vm;

    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *)&vm->in_pipe;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&vm->out_pipe;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&vm->err_pipe;
    uv_process_options_t opts = {0};
    opts.exit_cb = on_proc_exit;
    opts.file = l->argv.v[0];
    opts.args = l->argv.v;
    opts.flags = UV_PROCESS_DETACHED;
    opts.stdio_count = 3;
    opts.stdio = stdio;

    release_ports(l);
    int r = uv_spawn(vm->loop, &vm->proc, &opts);
    vm->handles++; /* uv_spawn initialises the handle even when it fails */
    vm->spawned = true;
    if (r < 0) {
        vm->exited = true; /* nothing to reap */
        vm->closing = true;
        close_all(vm);
        return evm_errf(err, -r, "vm: starting %s: %s", l->argv.v[0], uv_strerror(r));
    }
    log_info("vm: qemu started (pid %d, %s, %u cpus, %u MiB)", vm->proc.pid, l->kvm ? "KVM" : "TCG",
             spec->cpus, spec->memory_mb);
    if ((r = uv_read_start((uv_stream_t *)&vm->out_pipe, on_alloc, on_out_read)) < 0 ||
        (r = uv_read_start((uv_stream_t *)&vm->err_pipe, on_alloc, on_err_read)) < 0) {
        /* cannot happen with fresh pipes; never leave QEMU running unread */
        vm_close(vm);
        return evm_errf(err, -r, "vm: reading qemu's output: %s", uv_strerror(r));
    }
    return 0;
}

int vm_start(uv_loop_t *loop, const struct vm_spec *spec, const struct vm_events *ev,
             struct vm **out, struct vm_info *info, struct evm_err *err)
{
    *out = NULL;
    memset(info, 0, sizeof(*info));
    struct launch l = {.port_fds = {-1, -1, -1, -1}};
    struct vm *vm = NULL;
    int r = vm_spec_check(spec, err);
    if (r == 0)
        r = find_tools(&l, spec, err);
    if (r == 0)
        r = prepare_state_dir(&l, spec, err);
    if (r == 0)
        r = pick_ports(&l, spec, err);
    if (r == 0) {
        struct qemu_launch ql = {
            .spec = spec,
            .kvm = l.kvm,
            .qemu = l.qemu,
            .setpriv = l.setpriv,
            .agent_pid = (long)getpid(),
            .qmp_path = l.qmp_path,
            .host_ports = l.ports,
        };
        r = qemu_argv_build(&l.argv, &ql, err);
    }
    if (r == 0)
        r = vm_new(loop, spec, ev, &vm, err);
    if (r == 0)
        r = spawn_qemu(vm, &l, spec, err); /* on failure vm is released by its close callbacks */
    if (r < 0) {
        launch_free(&l);
        return r;
    }

    struct qmp_events qev = {qmp_ready_cb, qmp_event_cb, qmp_closed_cb, vm};
    struct evm_err qerr = {0};
    if (qmp_connect(loop, l.qmp_path, QMP_CONNECT_MS, &qev, &vm->qmp, &qerr) != 0)
        log_warn("vm: %s; the fallback stop will use signals", qerr.msg); /* not fatal */

    info->reach.kind = VM_REACH_LOOPBACK_FORWARD;
    info->reach.accept_hold_ms = FORWARD_HOLD_MS;
    for (unsigned i = 0; i < spec->nports; i++)
        info->reach.host_ports[i] = l.ports[i];
    info->accelerated = l.kvm;
    info->pid = vm->proc.pid;
    *out = vm;
    launch_free(&l);
    return 0;
}
