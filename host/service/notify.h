/* notify.h — systemd's notify protocol (sd_notify(3)), spoken directly on $NOTIFY_SOCKET: the
 * agent's phases (agenthooks.h) as READY=1, STATUS=..., RELOADING=1, STOPPING=1 and ERRNO=
 * datagrams, so that a Type=notify unit (ephemerd-vm.service) follows the VM. notify.c
 * formats the messages and maps the phases; notify_posix.c owns the socket; on Windows
 * (notify_win.c) there is no NOTIFY_SOCKET and every call does nothing. */
#ifndef EVM_NOTIFY_H
#define EVM_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "agent/agenthooks.h"
#include "err.h"

#define NOTIFY_ENV "NOTIFY_SOCKET"
#define NOTIFY_MSG_MAX 1024

struct notify;

/* Opens the socket $NOTIFY_SOCKET names (a path, or '@' for an abstract socket) and removes
 * the variable from the environment, so that the VM's processes do not inherit it. *out is
 * NULL when the variable is unset or empty (no service manager listens: nothing to do), or
 * on platforms without the protocol. -EINVAL for an address that is not a path or '@' name,
 * or too long; other errors from socket(2). */
int notify_open(struct notify **out, struct evm_err *err);

/* Sends one datagram, msg as given ("READY=1\nSTATUS=..."). A NULL n does nothing. */
int notify_send(struct notify *n, const char *msg, struct evm_err *err);

void notify_close(struct notify *n);

/* The message for an agent phase, in out (NOTIFY_MSG_MAX is enough). text is cut to one
 * line: control characters become spaces. monotonic_usec is CLOCK_MONOTONIC in µs (used by
 * RELOADING=1, which systemd wants with MONOTONIC_USEC=). Returns the length. */
size_t notify_format_phase(char *out, size_t size, enum agent_phase phase, const char *text,
                           uint64_t monotonic_usec);

/* The message for the agent's end with a failure: ERRNO= (a positive errno) and a STATUS= line. */
size_t notify_format_exit(char *out, size_t size, int errno_value, const char *text);

/* CLOCK_MONOTONIC in µs (0 where there is none). */
uint64_t notify_monotonic_usec(void);

/* Hooks that send each phase on n (n may be NULL: hooks that do nothing). n must outlive
 * the agent's run. */
void notify_agent_hooks(struct notify *n, struct agent_hooks *hooks);

#endif
