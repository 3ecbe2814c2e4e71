/* scmstate.h — what the Windows service reports to the Service Control Manager, as a pure
 * function of the agent's phases (agenthooks.h) and the SCM's controls: the state, the
 * controls accepted, the checkpoint and wait hint of a pending state, and the exit codes.
 * No Windows header here: the values are the SCM's (winsvc.h), checked against it in
 * scm_win.c, so that the mapping is tested natively and under wine alike. */
#ifndef EVM_SCMSTATE_H
#define EVM_SCMSTATE_H

#include <stdbool.h>

#include "agent/agenthooks.h"

/* SERVICE_STOPPED ... SERVICE_RUNNING */
enum scm_state {
    SCM_STOPPED = 1,
    SCM_START_PENDING = 2,
    SCM_STOP_PENDING = 3,
    SCM_RUNNING = 4,
};

/* SERVICE_ACCEPT_* */
enum {
    SCM_ACCEPT_STOP = 0x1,
    SCM_ACCEPT_SHUTDOWN = 0x4,
    SCM_ACCEPT_PARAMCHANGE = 0x8,
    SCM_ACCEPT_PRESHUTDOWN = 0x100,
};

/* dwWin32ExitCode values */
enum { SCM_NO_ERROR = 0, SCM_ERROR_SERVICE_SPECIFIC = 1066 };

/* The service-specific exit codes (dwServiceSpecificExitCode), docs/windows.md: the likely
 * cause by the failure's errno; the log has the exact reason. */
enum scm_exit {
    SCM_EXIT_OK = 0,
    SCM_EXIT_VM_FAILED = 1, /* the VM failed to boot or kept failing (gave up): the default */
    SCM_EXIT_SETUP = 2,     /* ENOENT, ENOTDIR, EINVAL, EFBIG: data dir, config, VM files */
    SCM_EXIT_BUSY = 3,      /* EBUSY: another agent holds the data dir */
    SCM_EXIT_INTERNAL = 4,  /* the service could not report to the SCM */
    SCM_EXIT_ACCESS = 5,    /* EACCES, EPERM: a right is missing (Hyper-V, the data dir) */
};

/* Margins added to the agent's own limits in the wait hints. */
#define SCM_BOOT_MARGIN_MS 30000u
/* agent.c restarts a failed boot after a backoff capped at 60 s. */
#define SCM_RETRY_HINT_MS (60000u + SCM_BOOT_MARGIN_MS)
#define SCM_STOP_MARGIN_MS 15000u

/* SERVICE_STATUS's changing fields. */
struct scm_status {
    unsigned state;      /* enum scm_state */
    unsigned accepts;    /* SCM_ACCEPT_* */
    unsigned checkpoint; /* bumped at each report of a pending state, 0 otherwise */
    unsigned wait_hint_ms;
    unsigned win32_exit;    /* SCM_NO_ERROR or SCM_ERROR_SERVICE_SPECIFIC */
    unsigned specific_exit; /* enum scm_exit when win32_exit is SCM_ERROR_SERVICE_SPECIFIC */
};

struct scm_tracker {
    struct scm_status cur;
    bool was_ready; /* reached RUNNING once: later boots (restart, reload) stay RUNNING */
    bool stopping;  /* STOP_PENDING from here on */
    unsigned boot_hint_ms, stop_hint_ms;
};

/* START_PENDING, checkpoint 1: before the agent has begun. ready_timeout_s and stop_grace_ms
 * are the agent's (run_opts): a boot reports at least once within the ready timeout, a stop
 * ends within the grace (plus the backend's fallback). */
void scm_tracker_init(struct scm_tracker *t, unsigned ready_timeout_s, unsigned stop_grace_ms);

/* An agent phase. Returns true when the SCM must be told (t->cur changed). */
bool scm_on_phase(struct scm_tracker *t, enum agent_phase phase);

/* STOP, SHUTDOWN or PRESHUTDOWN from the SCM: STOP_PENDING with the stop's wait hint, no
 * more controls. Returns true when the SCM must be told (not already stopping). */
bool scm_on_stop_control(struct scm_tracker *t);

/* The agent returned rc (0 or a negative errno): STOPPED with the exit codes. */
void scm_on_exit(struct scm_tracker *t, int rc);

/* The service-specific exit code for an agent's result (0 for 0). */
enum scm_exit scm_exit_code(int rc);

/* What a service-specific exit code means, for messages ("unknown" for others). */
const char *scm_exit_text(unsigned code);

/* "START_PENDING" ... "RUNNING"; "UNKNOWN" otherwise. */
const char *scm_state_name(unsigned state);

#endif
