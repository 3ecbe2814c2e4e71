/* scmstate.c — the agent's phases to the SCM's service status (see scmstate.h). */
#include "service/scmstate.h"

#include <errno.h>
#include <string.h>

#define ACCEPT_STOPS (SCM_ACCEPT_STOP | SCM_ACCEPT_SHUTDOWN | SCM_ACCEPT_PRESHUTDOWN)

void scm_tracker_init(struct scm_tracker *t, unsigned ready_timeout_s, unsigned stop_grace_ms)
{
    memset(t, 0, sizeof(*t));
    t->boot_hint_ms = ready_timeout_s * 1000u + SCM_BOOT_MARGIN_MS;
    t->stop_hint_ms = stop_grace_ms + SCM_STOP_MARGIN_MS;
    t->cur.state = SCM_START_PENDING;
    t->cur.accepts = ACCEPT_STOPS;
    t->cur.checkpoint = 1;
    t->cur.wait_hint_ms = t->boot_hint_ms;
}

/* A pending state again: the next checkpoint, and how long until the one after. */
static bool pending(struct scm_tracker *t, unsigned state, unsigned accepts, unsigned hint)
{
    t->cur.state = state;
    t->cur.accepts = accepts;
    t->cur.checkpoint++;
    t->cur.wait_hint_ms = hint;
    return true;
}

static bool running(struct scm_tracker *t)
{
    bool changed = t->cur.state != SCM_RUNNING;
    t->was_ready = true;
    t->cur.state = SCM_RUNNING;
    t->cur.accepts = ACCEPT_STOPS | SCM_ACCEPT_PARAMCHANGE;
    t->cur.checkpoint = 0;
    t->cur.wait_hint_ms = 0;
    return changed;
}

bool scm_on_phase(struct scm_tracker *t, enum agent_phase phase)
{
    if (t->cur.state == SCM_STOPPED)
        return false;
    if (phase == AGENT_STOPPING || t->stopping) {
        t->stopping = true;
        return pending(t, SCM_STOP_PENDING, 0, t->stop_hint_ms);
    }
    switch (phase) {
    case AGENT_READY:
        return running(t);
    case AGENT_BOOTING:
        /* A boot after the first ready (restart, reload) is the running service's business. */
        return t->was_ready ? false : pending(t, SCM_START_PENDING, ACCEPT_STOPS, t->boot_hint_ms);
    case AGENT_FAILED:
        /* Until the first ready, the agent's retry after its backoff is still the start. */
        return t->was_ready ? false
                            : pending(t, SCM_START_PENDING, ACCEPT_STOPS, SCM_RETRY_HINT_MS);
    case AGENT_RELOADING:
    case AGENT_STOPPING:
        break;
    }
    return false;
}

bool scm_on_stop_control(struct scm_tracker *t)
{
    if (t->stopping || t->cur.state == SCM_STOPPED)
        return false;
    t->stopping = true;
    return pending(t, SCM_STOP_PENDING, 0, t->stop_hint_ms);
}

enum scm_exit scm_exit_code(int rc)
{
    switch (rc) {
    case 0:
        return SCM_EXIT_OK;
    case -ENOENT:
    case -ENOTDIR:
    case -EINVAL:
    case -EFBIG:
        return SCM_EXIT_SETUP;
    case -EACCES:
    case -EPERM:
        return SCM_EXIT_ACCESS;
    case -EBUSY:
        return SCM_EXIT_BUSY;
    default:
        return SCM_EXIT_VM_FAILED;
    }
}

void scm_on_exit(struct scm_tracker *t, int rc)
{
    t->cur.state = SCM_STOPPED;
    t->cur.accepts = 0;
    t->cur.checkpoint = 0;
    t->cur.wait_hint_ms = 0;
    t->cur.specific_exit = scm_exit_code(rc);
    t->cur.win32_exit = rc == 0 ? SCM_NO_ERROR : SCM_ERROR_SERVICE_SPECIFIC;
}

const char *scm_exit_text(unsigned code)
{
    static const char *const texts[] = {
        "stopped in order",
        "the VM failed to boot or kept failing",
        "config.toml, the data directory or the VM's files are missing or not valid",
        "another agent holds the data directory",
        "the service could not report to the Service Control Manager",
        "access denied: the service's account lacks a right (Hyper-V, the data directory)",
    };
    return code < sizeof(texts) / sizeof(texts[0]) ? texts[code] : "unknown";
}

const char *scm_state_name(unsigned state)
{
    static const char *const names[] = {"STOPPED", "START_PENDING",    "STOP_PENDING",
                                        "RUNNING", "CONTINUE_PENDING", "PAUSE_PENDING",
                                        "PAUSED"};
    return state >= 1 && state <= 7 ? names[state - 1] : "UNKNOWN";
}
