/* compipe_win.c — COM1's named pipe server (compipe_win.h).
 *
 * The pipe is made with CreateNamedPipeW rather than uv_pipe_bind because its security
 * descriptor matters and libuv's cannot be set: one instance (FILE_FLAG_FIRST_PIPE_INSTANCE,
 * so a pipe someone else made under our name is refused), local clients only, and a DACL of
 * SYSTEM, Administrators, the owner, and the "Virtual Machines" group (S-1-5-83-0, the VM
 * worker's virtual accounts) — no Everyone. The connect is an overlapped ConnectNamedPipe
 * whose event a thread-pool wait turns into a uv_async_send; once connected, the handle is
 * given to libuv (uv_pipe_open) for reading and writing on the loop. */
#include "vm/compipe_win.h"

#include <windows.h>

#include <errno.h>
#include <io.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linebuf.h"
#include "log.h"
#include "winutil.h"

#define CONSOLE_MAX_LINE 8192
#define PIPE_BUFFER 4096
#define PIPE_SDDL L"D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;OW)(A;;GRGW;;;S-1-5-83-0)"

struct compipe {
    uv_loop_t *loop;
    struct compipe_events ev;
    char name[COMPIPE_NAME_MAX];
    HANDLE server;   /* the server end until libuv owns it */
    HANDLE event;    /* set when the overlapped ConnectNamedPipe completes */
    OVERLAPPED ov;   /* the connect's; lives as long as the connect may */
    HANDLE wait;     /* the thread-pool wait on event */
    bool connecting; /* ConnectNamedPipe in flight */
    uv_async_t connected;
    uv_pipe_t stream;
    bool open, eof, closing;
    HANDLE log;
    bool log_failed;
    struct linebuf lines;
    int handles; /* initialised libuv handles whose close callback has not run */
    char readbuf[65536];
};

int compipe_name(const char *vm_id, char *buf, size_t n, struct evm_err *err)
{
    int len = snprintf(buf, n, "\\\\.\\pipe\\ephemerd-vm-%s-com1", vm_id);
    if (len < 0 || (size_t)len >= n)
        return evm_errf(err, ENAMETOOLONG, "pipe name for VM %s: too long", vm_id);
    return 0;
}

bool compipe_drained(const struct compipe *cp)
{
    return !cp || !cp->open || cp->eof;
}

/* ---- lifetime ------------------------------------------------------------------------- */

static void maybe_free(struct compipe *cp)
{
    if (!cp->closing || cp->handles > 0)
        return;
    linebuf_free(&cp->lines);
    if (cp->log != INVALID_HANDLE_VALUE)
        CloseHandle(cp->log);
    free(cp);
}

static void on_closed(uv_handle_t *h)
{
    struct compipe *cp = h->data;
    cp->handles--;
    maybe_free(cp);
}

/* Ends the wait for a client: the thread-pool wait first (blocking until its callback, if
 * running, has returned), then the connect itself, waited for so that ov can be freed. */
static void stop_connecting(struct compipe *cp)
{
    if (cp->wait) {
        UnregisterWaitEx(cp->wait, INVALID_HANDLE_VALUE);
        cp->wait = NULL;
    }
    if (cp->connecting) {
        DWORD n;
        CancelIoEx(cp->server, &cp->ov);
        GetOverlappedResult(cp->server, &cp->ov, &n, TRUE);
        cp->connecting = false;
    }
}

void compipe_close(struct compipe *cp)
{
    if (!cp || cp->closing)
        return;
    cp->closing = true;
    stop_connecting(cp);
    if (cp->server != INVALID_HANDLE_VALUE)
        CloseHandle(cp->server);
    cp->server = INVALID_HANDLE_VALUE;
    if (cp->event)
        CloseHandle(cp->event);
    cp->event = NULL;
    uv_handle_t *hs[] = {(uv_handle_t *)&cp->connected, (uv_handle_t *)&cp->stream};
    for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], on_closed);
    maybe_free(cp);
}

/* ---- reading -------------------------------------------------------------------------- */

static void log_append(struct compipe *cp, const char *data, size_t n)
{
    while (n > 0 && !cp->log_failed) {
        DWORD w = 0, chunk = n > 0x10000000u ? 0x10000000u : (DWORD)n;
        if (!WriteFile(cp->log, data, chunk, &w, NULL) || w == 0) {
            char msg[256];
            log_warn("vm: writing the console log: %s; console lines are still parsed",
                     win_strerror(GetLastError(), msg, sizeof(msg)));
            cp->log_failed = true;
            return;
        }
        data += w;
        n -= w;
    }
}

static void deliver_line(void *ctx, const char *line, size_t len, bool truncated)
{
    struct compipe *cp = ctx;
    (void)len;
    (void)truncated;
    if (!cp->closing && cp->ev.on_line)
        cp->ev.on_line(cp->ev.ctx, line);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct compipe *cp = h->data;
    (void)suggested;
    *buf = uv_buf_init(cp->readbuf, sizeof(cp->readbuf));
}

static void reached_end(struct compipe *cp)
{
    uv_read_stop((uv_stream_t *)&cp->stream);
    linebuf_flush(&cp->lines, deliver_line, cp);
    cp->eof = true;
    if (!cp->closing && cp->ev.on_eof)
        cp->ev.on_eof(cp->ev.ctx);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct compipe *cp = s->data;
    if (nread > 0) {
        log_append(cp, buf->base, (size_t)nread);
        linebuf_feed(&cp->lines, buf->base, (size_t)nread, deliver_line, cp);
        return;
    }
    if (nread == 0)
        return;
    if (nread != UV_EOF)
        log_warn("vm: reading the console pipe: %s", uv_strerror((int)nread));
    reached_end(cp);
}

/* ---- connecting ------------------------------------------------------------------------- */

/* The client is connected: libuv takes the handle over and reading starts. */
static int adopt(struct compipe *cp, struct evm_err *err)
{
    int fd = uv_open_osfhandle(cp->server);
    if (fd < 0)
        return evm_errf(err, EMFILE, "vm: %s: no file descriptor for the pipe", cp->name);
    cp->server = INVALID_HANDLE_VALUE; /* the descriptor owns it now */
    int r = uv_pipe_open(&cp->stream, fd);
    if (r < 0) {
        _close(fd);
        return evm_errf(err, -r, "vm: %s: %s", cp->name, uv_strerror(r));
    }
    cp->open = true;
    r = uv_read_start((uv_stream_t *)&cp->stream, on_alloc, on_read);
    if (r < 0)
        return evm_errf(err, -r, "vm: reading %s: %s", cp->name, uv_strerror(r));
    log_debug("vm: the VM connected to %s", cp->name);
    return 0;
}

/* Runs on a thread-pool thread: only wakes the loop. */
static void CALLBACK on_connect_signalled(void *ctx, BOOLEAN timed_out)
{
    struct compipe *cp = ctx;
    (void)timed_out;
    uv_async_send(&cp->connected);
}

static void on_connected(uv_async_t *a)
{
    struct compipe *cp = a->data;
    if (cp->closing || !cp->connecting)
        return;
    DWORD n;
    struct evm_err err = {0};
    BOOL ok = GetOverlappedResult(cp->server, &cp->ov, &n, FALSE);
    DWORD code = ok ? ERROR_SUCCESS : GetLastError();
    if (!ok && code == ERROR_IO_INCOMPLETE)
        return; /* not yet (a spurious wake) */
    cp->connecting = false;
    if (cp->wait) {
        UnregisterWaitEx(cp->wait, INVALID_HANDLE_VALUE);
        cp->wait = NULL;
    }
    if (ok && adopt(cp, &err) == 0)
        return;
    if (!ok) {
        char msg[256];
        evm_errf(&err, win_errno(code), "vm: waiting for the VM on %s: %s", cp->name,
                 win_strerror(code, msg, sizeof(msg)));
    }
    log_warn("%s; the console is lost for this boot", err.msg);
    cp->eof = true;
    if (cp->ev.on_eof)
        cp->ev.on_eof(cp->ev.ctx);
}

static int start_connect(struct compipe *cp, struct evm_err *err)
{
    char msg[256];
    cp->ov.hEvent = cp->event;
    if (ConnectNamedPipe(cp->server, &cp->ov))
        return adopt(cp, err);
    DWORD code = GetLastError();
    if (code == ERROR_PIPE_CONNECTED)
        return adopt(cp, err);
    if (code != ERROR_IO_PENDING)
        return evm_errf(err, win_errno(code), "vm: %s: waiting for a client: %s", cp->name,
                        win_strerror(code, msg, sizeof(msg)));
    cp->connecting = true;
    if (!RegisterWaitForSingleObject(&cp->wait, cp->event, on_connect_signalled, cp, INFINITE,
                                     WT_EXECUTEONLYONCE)) {
        code = GetLastError();
        cp->wait = NULL;
        return evm_errf(err, win_errno(code), "vm: %s: %s", cp->name,
                        win_strerror(code, msg, sizeof(msg)));
    }
    return 0;
}

/* ---- opening ---------------------------------------------------------------------------- */

static int open_log(struct compipe *cp, const char *path, struct evm_err *err)
{
    int e = 0;
    wchar_t *w = win_wide(path, &e);
    if (!w)
        return evm_errf(err, e, "vm: console log %s: cannot convert the path", path);
    cp->log =
        CreateFileW(w, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    free(w);
    if (cp->log == INVALID_HANDLE_VALUE) {
        char msg[256];
        DWORD code = GetLastError();
        return evm_errf(err, win_errno(code), "vm: opening console log %s: %s", path,
                        win_strerror(code, msg, sizeof(msg)));
    }
    return 0;
}

static int create_server(struct compipe *cp, struct evm_err *err)
{
    char msg[256];
    SECURITY_ATTRIBUTES sa = {.nLength = sizeof(sa)};
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(PIPE_SDDL, SDDL_REVISION_1,
                                                              &sa.lpSecurityDescriptor, NULL))
        return evm_errf(err, EIO, "vm: the console pipe's security descriptor: %s",
                        win_strerror(GetLastError(), msg, sizeof(msg)));
    int e = 0;
    wchar_t *w = win_wide(cp->name, &e);
    if (w)
        cp->server = CreateNamedPipeW(
            w, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1,
            PIPE_BUFFER, PIPE_BUFFER, 0, &sa);
    DWORD code = GetLastError();
    free(w);
    LocalFree(sa.lpSecurityDescriptor);
    if (!w)
        return evm_errf(err, e, "vm: %s: cannot convert the name", cp->name);
    if (cp->server == INVALID_HANDLE_VALUE)
        return evm_errf(err, win_errno(code), "vm: creating the console pipe %s: %s", cp->name,
                        win_strerror(code, msg, sizeof(msg)));
    cp->event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!cp->event)
        return evm_errf(err, win_errno(GetLastError()), "vm: %s: CreateEvent: %s", cp->name,
                        win_strerror(GetLastError(), msg, sizeof(msg)));
    return 0;
}

/* The two libuv handles, set up first so that every later failure is released the same
 * way (compipe_close). */
static int init_handles(struct compipe *cp, struct evm_err *err)
{
    int r = uv_async_init(cp->loop, &cp->connected, on_connected);
    if (r < 0)
        return evm_errf(err, -r, "vm: console pipe: %s", uv_strerror(r));
    cp->handles++;
    r = uv_pipe_init(cp->loop, &cp->stream, 0);
    if (r < 0)
        return evm_errf(err, -r, "vm: console pipe: %s", uv_strerror(r));
    cp->handles++;
    cp->connected.data = cp->stream.data = cp;
    return 0;
}

int compipe_open(uv_loop_t *loop, const char *name, const char *console_log,
                 const struct compipe_events *ev, struct compipe **out, struct evm_err *err)
{
    *out = NULL;
    if (strlen(name) >= COMPIPE_NAME_MAX)
        return evm_errf(err, ENAMETOOLONG, "vm: pipe name %s: too long", name);
    struct compipe *cp = calloc(1, sizeof(*cp));
    if (!cp)
        return evm_errf(err, ENOMEM, "vm: out of memory");
    cp->loop = loop;
    cp->ev = *ev;
    cp->server = cp->log = INVALID_HANDLE_VALUE;
    snprintf(cp->name, sizeof(cp->name), "%s", name);
    int r = init_handles(cp, err);
    if (r == 0 && linebuf_init(&cp->lines, CONSOLE_MAX_LINE) != 0)
        r = evm_errf(err, ENOMEM, "vm: out of memory");
    if (r == 0)
        r = open_log(cp, console_log, err);
    if (r == 0)
        r = create_server(cp, err);
    if (r == 0)
        r = start_connect(cp, err);
    if (r < 0) {
        compipe_close(cp); /* released by its close callbacks */
        return r;
    }
    *out = cp;
    return 0;
}

/* ---- writing ---------------------------------------------------------------------------- */

struct pipe_write {
    uv_write_t req;
    char data[];
};

static void on_written(uv_write_t *req, int status)
{
    struct compipe *cp = req->data;
    if (status < 0 && status != UV_ECANCELED && !cp->eof)
        log_warn("vm: writing to the guest console: %s", uv_strerror(status));
    free(req);
}

int compipe_write(struct compipe *cp, const char *data, size_t len, struct evm_err *err)
{
    if (!cp || cp->closing || cp->eof)
        return evm_errf(err, EPIPE, "vm: the guest console is closed");
    if (!cp->open)
        return evm_errf(err, EPIPE, "vm: the VM has not connected to its console yet");
    struct pipe_write *w = malloc(sizeof(*w) + len);
    if (!w)
        return evm_errf(err, ENOMEM, "vm: out of memory");
    memcpy(w->data, data, len);
    w->req.data = cp;
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)len);
    int r = uv_write(&w->req, (uv_stream_t *)&cp->stream, &buf, 1, on_written);
    if (r < 0) {
        free(w);
        return evm_errf(err, -r, "vm: writing to the guest console: %s", uv_strerror(r));
    }
    return 0;
}
