/* agentctl.c — the agent's thread-safe control (see agentctl.h and agenthooks.h). */
#include "agent/agentctl.h"

#include <errno.h>
#include <string.h>

static void on_async(uv_async_t *h)
{
    struct agent_ctl *c = h->data;
    uv_mutex_lock(&c->lock);
    unsigned requests = c->requests;
    c->requests = 0;
    uv_mutex_unlock(&c->lock);
    if (requests)
        c->on_request(c->ctx, requests);
}

int agentctl_init(struct agent_ctl *c, uv_loop_t *loop, agentctl_fn on_request, void *ctx,
                  struct evm_err *err)
{
    memset(c, 0, sizeof(*c));
    c->on_request = on_request;
    c->ctx = ctx;
    int r = uv_mutex_init(&c->lock);
    if (r < 0)
        return evm_errf(err, -r, "agent control: %s", uv_strerror(r));
    r = uv_async_init(loop, &c->async, on_async);
    if (r < 0) {
        uv_mutex_destroy(&c->lock);
        return evm_errf(err, -r, "agent control: %s", uv_strerror(r));
    }
    c->async.data = c;
    c->open = true;
    return 0;
}

static int request(struct agent_ctl *c, unsigned what)
{
    if (!c)
        return -EINVAL;
    int r = -EINVAL;
    uv_mutex_lock(&c->lock);
    if (c->open) {
        c->requests |= what;
        r = uv_async_send(&c->async) < 0 ? -EIO : 0;
    }
    uv_mutex_unlock(&c->lock);
    return r;
}

int agent_ctl_stop(struct agent_ctl *ctl)
{
    return request(ctl, AGENTCTL_STOP);
}

int agent_ctl_reload(struct agent_ctl *ctl)
{
    return request(ctl, AGENTCTL_RELOAD);
}

void agentctl_close(struct agent_ctl *c)
{
    uv_mutex_lock(&c->lock);
    bool was_open = c->open;
    c->open = false;
    uv_mutex_unlock(&c->lock);
    if (was_open && !uv_is_closing((uv_handle_t *)&c->async))
        uv_close((uv_handle_t *)&c->async, NULL);
}

void agentctl_destroy(struct agent_ctl *c)
{
    uv_mutex_destroy(&c->lock);
}
