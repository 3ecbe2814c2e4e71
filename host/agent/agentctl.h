/* agentctl.h — the agent's control (agenthooks.h's struct agent_ctl): requests from any thread
 * (the SCM's handler, a test) carried to the agent's loop by a uv_async_t. The agent owns one;
 * agent_ctl_stop and agent_ctl_reload (agenthooks.h) set a request bit under a mutex and wake
 * the loop, where on_request receives the bits that were set since its last call. */
#ifndef EVM_AGENTCTL_H
#define EVM_AGENTCTL_H

#include <stdbool.h>
#include <uv.h>

#include "agent/agenthooks.h"
#include "err.h"

enum { AGENTCTL_STOP = 1u << 0, AGENTCTL_RELOAD = 1u << 1 };

typedef void (*agentctl_fn)(void *ctx, unsigned requests);

struct agent_ctl {
    uv_async_t async;
    uv_mutex_t lock;
    bool open;         /* under lock: requests are accepted */
    unsigned requests; /* under lock: AGENTCTL_* bits not yet delivered */
    agentctl_fn on_request;
    void *ctx;
};

/* Opens the control on loop (the loop's thread only). */
int agentctl_init(struct agent_ctl *c, uv_loop_t *loop, agentctl_fn on_request, void *ctx,
                  struct evm_err *err);

/* Refuses further requests (they return -EINVAL) and closes the async handle; the loop must
 * run for the close to finish. Loop thread only. */
void agentctl_close(struct agent_ctl *c);

/* Releases the mutex once the loop has finished closing the handle. */
void agentctl_destroy(struct agent_ctl *c);

#endif
