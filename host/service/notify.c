/* notify.c — the notify protocol's messages for the agent's phases (see notify.h); the
 * socket is notify_posix.c's. */
#include "service/notify.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

/* text on one line: every control character becomes a space; at most room bytes. */
static void one_line(char *out, size_t room, const char *text)
{
    size_t i = 0;
    for (; text && text[i] && i + 1 < room; i++)
        out[i] = ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) ? ' ' : text[i];
    if (room)
        out[i] = '\0';
}

static const char *phase_word(enum agent_phase phase)
{
    switch (phase) {
    case AGENT_BOOTING:
        return "booting";
    case AGENT_READY:
        return "ready";
    case AGENT_RELOADING:
        return "reloading";
    case AGENT_STOPPING:
        return "stopping";
    case AGENT_FAILED:
        break;
    }
    return "failed";
}

size_t notify_format_phase(char *out, size_t size, enum agent_phase phase, const char *text,
                           uint64_t monotonic_usec)
{
    char line[NOTIFY_MSG_MAX / 2];
    char head[64] = "";
    one_line(line, sizeof(line), text);
    if (phase == AGENT_READY)
        snprintf(head, sizeof(head), "READY=1\n");
    else if (phase == AGENT_RELOADING)
        snprintf(head, sizeof(head), "RELOADING=1\nMONOTONIC_USEC=%llu\n",
                 (unsigned long long)monotonic_usec);
    else if (phase == AGENT_STOPPING)
        snprintf(head, sizeof(head), "STOPPING=1\n");
    int n =
        snprintf(out, size, "%sSTATUS=%s%s%s", head, phase_word(phase), line[0] ? ": " : "", line);
    if (n < 0)
        return 0;
    return (size_t)n < size ? (size_t)n : (size ? size - 1 : 0);
}

size_t notify_format_exit(char *out, size_t size, int errno_value, const char *text)
{
    char line[NOTIFY_MSG_MAX / 2];
    one_line(line, sizeof(line), text);
    int n = snprintf(out, size, "ERRNO=%d\nSTATUS=failed: %s", errno_value, line);
    if (n < 0)
        return 0;
    return (size_t)n < size ? (size_t)n : (size ? size - 1 : 0);
}

static void send_phase(void *ctx, enum agent_phase phase, const char *text)
{
    struct notify *n = ctx;
    char msg[NOTIFY_MSG_MAX];
    notify_format_phase(msg, sizeof(msg), phase, text, notify_monotonic_usec());
    struct evm_err err = {0};
    if (notify_send(n, msg, &err) < 0)
        log_warn("notify: %s", err.msg);
}

void notify_agent_hooks(struct notify *n, struct agent_hooks *hooks)
{
    memset(hooks, 0, sizeof(*hooks));
    if (!n)
        return;
    hooks->ctx = n;
    hooks->on_phase = send_phase;
}
