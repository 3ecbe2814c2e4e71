/* probe.c — see probe.h. One connection at a time: connect, then either hold it open for
 * hold_ms or take the first bytes as the answer; a refused or closed connection is retried
 * after retry_ms. */
#include "agent/probe.h"

#include <string.h>

static void probe_next(struct probe *p);

void probe_init(struct probe *p, uv_loop_t *loop, unsigned retry_ms)
{
    memset(p, 0, sizeof(*p));
    p->loop = loop;
    p->retry_ms = retry_ms;
    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
}

static void on_retry(uv_timer_t *t)
{
    probe_next(t->data);
}

static void on_tcp_closed(uv_handle_t *h)
{
    struct probe *p = h->data;
    p->tcp_open = false;
    if (!p->running)
        return;
    if (p->answered) {
        p->next++;
        probe_next(p);
    } else {
        uv_timer_start(&p->timer, on_retry, p->retry_ms, 0);
    }
}

static void finish(struct probe *p, bool answered)
{
    p->answered = answered;
    uv_timer_stop(&p->timer);
    if (p->tcp_open && !uv_is_closing((uv_handle_t *)&p->tcp))
        uv_close((uv_handle_t *)&p->tcp, on_tcp_closed);
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    struct probe *p = h->data;
    (void)size;
    *buf = uv_buf_init(p->sink, sizeof(p->sink));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    if (n != 0)
        finish(s->data, n > 0);
}

static void on_held(uv_timer_t *t)
{
    finish(t->data, true);
}

static void on_connected(uv_connect_t *req, int status)
{
    struct probe *p = req->data;
    if (status < 0 || !p->running) {
        finish(p, false);
        return;
    }
    if (p->hold_ms == 0) {
        finish(p, true);
        return;
    }
    uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
    uv_timer_start(&p->timer, on_held, p->hold_ms, 0);
}

static void probe_next(struct probe *p)
{
    if (!p->running || p->tcp_open)
        return;
    if (p->next >= p->n) {
        p->running = false;
        p->on_ready(p->ctx);
        return;
    }
    uv_tcp_init(p->loop, &p->tcp);
    p->tcp.data = p;
    p->req.data = p;
    p->tcp_open = true;
    p->answered = false;
    if (uv_tcp_connect(&p->req, &p->tcp, (const struct sockaddr *)&p->targets[p->next],
                       on_connected) < 0)
        finish(p, false);
}

int probe_start(struct probe *p, const struct sockaddr_in *targets, unsigned n, unsigned hold_ms,
                void (*on_ready)(void *ctx), void *ctx)
{
    if (n > PROBE_MAX || p->closed)
        return UV_EINVAL;
    probe_stop(p);
    memcpy(p->targets, targets, n * sizeof(*targets));
    p->n = n;
    p->next = 0;
    p->hold_ms = hold_ms;
    p->on_ready = on_ready;
    p->ctx = ctx;
    p->answered = false;
    p->running = true;
    if (!p->tcp_open) /* else the pending close callback continues */
        probe_next(p);
    return 0;
}

void probe_stop(struct probe *p)
{
    p->running = false;
    uv_timer_stop(&p->timer);
    if (p->tcp_open && !uv_is_closing((uv_handle_t *)&p->tcp))
        uv_close((uv_handle_t *)&p->tcp, on_tcp_closed);
}

void probe_close(struct probe *p)
{
    if (p->closed)
        return;
    probe_stop(p);
    p->closed = true;
    if (!uv_is_closing((uv_handle_t *)&p->timer))
        uv_close((uv_handle_t *)&p->timer, NULL);
}
