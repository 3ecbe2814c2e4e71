/* compipe_win.h — the VM's COM1 as a named pipe whose server end the agent owns: created
 * before the VM exists, so that Hyper-V connects to it as a client when the VM starts and
 * no early output is lost; one reader for the VM's lifetime (Hyper-V never reconnects once
 * the connection drops). Every byte read is appended to the console log, and split into
 * lines exactly as the QEMU backend does (linebuf.h); writes go to the guest's ttyS0.
 * Driven by the caller's libuv loop; callbacks run on it. Windows only. */
#ifndef EVM_COMPIPE_WIN_H
#define EVM_COMPIPE_WIN_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "err.h"

#define COMPIPE_NAME_MAX 128

/* "\\.\pipe\ephemerd-vm-<vm id>-com1" into buf; -ENAMETOOLONG when it does not fit. */
int compipe_name(const char *vm_id, char *buf, size_t n, struct evm_err *err);

struct compipe_events {
    /* One console line, without its newline (CR and NUL dropped). */
    void (*on_line)(void *ctx, const char *line);
    /* The other end has gone (the VM worker closed COM1, or reading failed): every line has
     * been delivered. Called at most once. */
    void (*on_eof)(void *ctx);
    void *ctx;
};

struct compipe;

/* Creates the pipe's server end (one instance, local clients only, no access for other
 * users) and waits on the loop for the VM worker to connect. console_log is opened for
 * appending (created if missing). */
int compipe_open(uv_loop_t *loop, const char *name, const char *console_log,
                 const struct compipe_events *ev, struct compipe **out, struct evm_err *err);

/* Whether the console has nothing more to give: never connected, or at its end. */
bool compipe_drained(const struct compipe *cp);

/* Queues bytes for the guest's console input. -EPIPE while no client is connected and once
 * the pipe is closed. */
int compipe_write(struct compipe *cp, const char *data, size_t len, struct evm_err *err);

/* Stops everything and releases cp through its close callbacks (the loop must run for
 * them); no callback is called after this. NULL is fine. */
void compipe_close(struct compipe *cp);

#endif
