/* qmp.c — QMP messages, the protocol state machine and the libuv client (see qmp.h). */
#include "vm/qmp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linebuf.h"
#include "log.h"

/* ---- messages ---------------------------------------------------------------------- */

static const char *str_member(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

int qmp_msg_parse(const char *line, size_t len, struct qmp_msg *m, struct evm_err *err)
{
    memset(m, 0, sizeof(*m));
    cJSON *root = cJSON_ParseWithLength(line, len);
    if (!root)
        return evm_errf(err, EPROTO, "qmp: not JSON: %.80s", line);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return evm_errf(err, EPROTO, "qmp: not a JSON object: %.80s", line);
    }
    m->root = root;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble <= 9007199254740992.0 &&
        (double)(uint64_t)id->valuedouble == id->valuedouble) {
        m->has_id = true;
        m->id = (uint64_t)id->valuedouble;
    }
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "QMP")) != NULL) {
        m->kind = QMP_GREETING;
        m->body = v;
    } else if ((v = cJSON_GetObjectItemCaseSensitive(root, "return")) != NULL) {
        m->kind = QMP_RETURN;
        m->body = v;
    } else if ((v = cJSON_GetObjectItemCaseSensitive(root, "error")) != NULL) {
        m->kind = QMP_ERROR;
        m->err_class = str_member(v, "class");
        m->err_desc = str_member(v, "desc");
        m->body = v;
    } else if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(root, "event")) &&
               v->valuestring) {
        m->kind = QMP_EVENT;
        m->event = v->valuestring;
        m->body = cJSON_GetObjectItemCaseSensitive(root, "data");
    } else {
        qmp_msg_free(m);
        return evm_errf(err, EPROTO, "qmp: unknown message: %.80s", line);
    }
    return 0;
}

void qmp_msg_free(struct qmp_msg *m)
{
    cJSON_Delete(m->root);
    memset(m, 0, sizeof(*m));
}

char *qmp_format_command(const char *execute, const cJSON *args, uint64_t id)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL, *out = NULL;
    if (!o || !cJSON_AddStringToObject(o, "execute", execute))
        goto done;
    if (args) {
        cJSON *dup = cJSON_Duplicate(args, 1);
        if (!dup || !cJSON_AddItemToObject(o, "arguments", dup)) {
            cJSON_Delete(dup);
            goto done;
        }
    }
    if (!cJSON_AddNumberToObject(o, "id", (double)id))
        goto done;
    text = cJSON_PrintUnformatted(o);
    if (!text)
        goto done;
    size_t n = strlen(text);
    out = malloc(n + 2);
    if (out) {
        memcpy(out, text, n);
        out[n] = '\n';
        out[n + 1] = '\0';
    }
done:
    cJSON_free(text);
    cJSON_Delete(o);
    return out;
}

/* ---- protocol ---------------------------------------------------------------------- */

struct qmp_pending {
    uint64_t id;
    qmp_reply_fn fn;
    void *ctx;
    struct qmp_pending *next;
};

#define QMP_CAPS_ID 0

void qmp_proto_init(struct qmp_proto *p, const struct qmp_proto_ops *ops)
{
    memset(p, 0, sizeof(*p));
    p->ops = *ops;
    p->state = QMP_WAIT_GREETING;
    p->next_id = QMP_CAPS_ID + 1;
}

static int proto_fail(struct qmp_proto *p, const char *why)
{
    snprintf(p->failure, sizeof(p->failure), "%s", why);
    qmp_proto_fail_all(p, -ECONNRESET);
    return -EPROTO;
}

static int proto_send(struct qmp_proto *p, const char *execute, const cJSON *args, uint64_t id)
{
    char *text = qmp_format_command(execute, args, id);
    if (!text)
        return -ENOMEM;
    return p->ops.send(p->ops.ctx, text, strlen(text));
}

/* Removes and returns the pending command with this id, or NULL. */
static struct qmp_pending *take_pending(struct qmp_proto *p, uint64_t id)
{
    for (struct qmp_pending **pp = &p->pending; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            struct qmp_pending *found = *pp;
            *pp = found->next;
            return found;
        }
    }
    return NULL;
}

int qmp_proto_line(struct qmp_proto *p, const char *line, size_t len)
{
    if (p->state == QMP_FAILED)
        return -EPROTO;
    struct qmp_msg m;
    struct evm_err err = {0};
    if (qmp_msg_parse(line, len, &m, &err) != 0) {
        if (p->state == QMP_WAIT_GREETING)
            return 0; /* noise before the greeting */
        return proto_fail(p, err.msg);
    }
    int r = 0;
    switch (p->state) {
    case QMP_WAIT_GREETING:
        if (m.kind != QMP_GREETING) {
            r = proto_fail(p, "qmp: expected the greeting first");
            break;
        }
        r = proto_send(p, "qmp_capabilities", NULL, QMP_CAPS_ID);
        if (r != 0) {
            char why[128];
            snprintf(why, sizeof(why), "qmp: sending qmp_capabilities: %s", strerror(-r));
            r = proto_fail(p, why);
            break;
        }
        p->state = QMP_WAIT_CAPS;
        break;
    case QMP_WAIT_CAPS:
        if (m.kind == QMP_EVENT)
            break; /* cannot happen before capabilities, harmless if it does */
        if (!m.has_id || m.id != QMP_CAPS_ID) {
            r = proto_fail(p, "qmp: unexpected reply before capabilities were accepted");
            break;
        }
        if (m.kind != QMP_RETURN) {
            char why[256];
            snprintf(why, sizeof(why), "qmp: qmp_capabilities refused: %s", m.err_desc);
            r = proto_fail(p, why);
            break;
        }
        p->state = QMP_READY;
        if (p->ops.on_ready)
            p->ops.on_ready(p->ops.ctx);
        break;
    case QMP_READY:
        if (m.kind == QMP_EVENT) {
            if (p->ops.on_event)
                p->ops.on_event(p->ops.ctx, &m);
        } else if (m.kind == QMP_RETURN || m.kind == QMP_ERROR) {
            struct qmp_pending *pend = m.has_id ? take_pending(p, m.id) : NULL;
            if (!pend) {
                log_debug("qmp: reply without a matching command ignored");
                break;
            }
            pend->fn(pend->ctx, m.kind == QMP_RETURN ? 0 : -EIO, &m);
            free(pend);
        }
        break;
    case QMP_FAILED:
        r = -EPROTO;
        break;
    }
    qmp_msg_free(&m);
    return r;
}

int qmp_proto_command(struct qmp_proto *p, const char *execute, const cJSON *args, qmp_reply_fn fn,
                      void *ctx, struct evm_err *err)
{
    if (p->state != QMP_READY)
        return evm_errf(err, ENOTCONN, "qmp: %s: not connected", execute);
    struct qmp_pending *pend = calloc(1, sizeof(*pend));
    if (!pend)
        return evm_errf(err, ENOMEM, "qmp: %s: out of memory", execute);
    pend->id = p->next_id++;
    pend->fn = fn;
    pend->ctx = ctx;
    int r = proto_send(p, execute, args, pend->id);
    if (r != 0) {
        free(pend);
        return evm_errf(err, -r, "qmp: sending %s: %s", execute, strerror(-r));
    }
    struct qmp_pending **tail = &p->pending;
    while (*tail)
        tail = &(*tail)->next;
    *tail = pend;
    return 0;
}

void qmp_proto_fail_all(struct qmp_proto *p, int status)
{
    p->state = QMP_FAILED;
    while (p->pending) {
        struct qmp_pending *pend = p->pending;
        p->pending = pend->next;
        pend->fn(pend->ctx, status, NULL);
        free(pend);
    }
}

void qmp_proto_free(struct qmp_proto *p)
{
    while (p->pending) {
        struct qmp_pending *pend = p->pending;
        p->pending = pend->next;
        free(pend);
    }
    p->state = QMP_FAILED;
}

/* ---- client ------------------------------------------------------------------------ */

#define QMP_MAX_LINE (1024 * 1024)
#define QMP_RETRY_MS 20

struct qmp_client {
    uv_loop_t *loop;
    char *path;
    struct qmp_events ev;
    struct qmp_proto proto;
    struct linebuf lines;
    uv_pipe_t pipe;
    uv_timer_t timer;
    uv_connect_t connect_req;
    uint64_t deadline; /* uv_now() ms */
    bool pipe_open;    /* pipe initialised and not yet closed */
    bool connected;
    bool closing;  /* qmp_close was called */
    bool finished; /* on_closed was called (or is not to be) */
    int handles;   /* initialised handles not yet through their close callback */
    char last_error[128];
    char readbuf[65536];
};

struct qmp_write {
    uv_write_t req;
    char *data;
};

static void maybe_free(struct qmp_client *c)
{
    if (!c->closing || c->handles > 0)
        return;
    qmp_proto_free(&c->proto);
    linebuf_free(&c->lines);
    free(c->path);
    free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct qmp_client *c = h->data;
    c->handles--;
    maybe_free(c);
}

static void close_pipe(struct qmp_client *c, uv_close_cb cb)
{
    if (c->pipe_open && !uv_is_closing((uv_handle_t *)&c->pipe)) {
        c->pipe_open = false;
        c->connected = false;
        uv_close((uv_handle_t *)&c->pipe, cb);
    }
}

/* Ends the connection for good and tells the owner once. */
static void client_fail(struct qmp_client *c, const char *reason)
{
    if (c->closing || c->finished)
        return;
    c->finished = true;
    uv_timer_stop(&c->timer);
    close_pipe(c, on_handle_closed);
    qmp_proto_fail_all(&c->proto, -ECONNRESET);
    if (!c->closing && c->ev.on_closed)
        c->ev.on_closed(c->ev.ctx, reason);
}

static void on_write(uv_write_t *req, int status)
{
    struct qmp_write *w = (struct qmp_write *)req;
    struct qmp_client *c = req->data;
    free(w->data);
    free(w);
    if (status < 0 && status != UV_ECANCELED && !c->closing) {
        char why[160];
        snprintf(why, sizeof(why), "qmp: write failed: %s", uv_strerror(status));
        client_fail(c, why);
    }
}

static int client_send(void *ctx, char *data, size_t len)
{
    struct qmp_client *c = ctx;
    if (!c->connected || c->closing) {
        free(data);
        return -ENOTCONN;
    }
    struct qmp_write *w = calloc(1, sizeof(*w));
    if (!w) {
        free(data);
        return -ENOMEM;
    }
    w->data = data;
    w->req.data = c;
    uv_buf_t buf = uv_buf_init(data, (unsigned)len);
    int r = uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, on_write);
    if (r < 0) {
        free(data);
        free(w);
        return -EIO;
    }
    return 0;
}

static void client_on_ready(void *ctx)
{
    struct qmp_client *c = ctx;
    if (!c->closing && c->ev.on_ready)
        c->ev.on_ready(c->ev.ctx);
}

static void client_on_event(void *ctx, const struct qmp_msg *m)
{
    struct qmp_client *c = ctx;
    if (!c->closing && c->ev.on_event)
        c->ev.on_event(c->ev.ctx, m);
}

static void on_line(void *ctx, const char *line, size_t len, bool truncated)
{
    struct qmp_client *c = ctx;
    if (c->closing || c->finished)
        return;
    if (truncated) {
        client_fail(c, "qmp: message longer than the 1 MiB limit");
        return;
    }
    if (qmp_proto_line(&c->proto, line, len) != 0)
        client_fail(c, c->proto.failure);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct qmp_client *c = h->data;
    (void)suggested;
    *buf = uv_buf_init(c->readbuf, sizeof(c->readbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct qmp_client *c = s->data;
    if (nread > 0) {
        linebuf_feed(&c->lines, buf->base, (size_t)nread, on_line, c);
    } else if (nread < 0) {
        char why[160];
        if (nread == UV_EOF)
            snprintf(why, sizeof(why), "qmp: QEMU closed the connection");
        else
            snprintf(why, sizeof(why), "qmp: read failed: %s", uv_strerror((int)nread));
        client_fail(c, why);
    }
}

static void start_attempt(struct qmp_client *c);

static void on_retry_timer(uv_timer_t *t)
{
    start_attempt(t->data);
}

static void on_attempt_closed(uv_handle_t *h)
{
    struct qmp_client *c = h->data;
    c->handles--;
    if (c->closing) {
        maybe_free(c);
        return;
    }
    if (uv_now(c->loop) >= c->deadline) {
        char why[400];
        snprintf(why, sizeof(why), "qmp: cannot connect to %s: %s", c->path, c->last_error);
        client_fail(c, why);
        return;
    }
    uv_timer_start(&c->timer, on_retry_timer, QMP_RETRY_MS, 0);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct qmp_client *c = req->data;
    if (c->closing || c->finished)
        return;
    if (status < 0) {
        snprintf(c->last_error, sizeof(c->last_error), "%s", uv_strerror(status));
        close_pipe(c, on_attempt_closed);
        return;
    }
    c->connected = true;
    int r = uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
    if (r < 0) {
        char why[160];
        snprintf(why, sizeof(why), "qmp: reading: %s", uv_strerror(r));
        client_fail(c, why);
    }
}

static void start_attempt(struct qmp_client *c)
{
    if (c->closing || c->finished)
        return;
    int r = uv_pipe_init(c->loop, &c->pipe, 0);
    if (r < 0) {
        char why[160];
        snprintf(why, sizeof(why), "qmp: pipe: %s", uv_strerror(r));
        client_fail(c, why);
        return;
    }
    c->pipe.data = c;
    c->pipe_open = true;
    c->handles++;
    c->connect_req.data = c;
    uv_pipe_connect(&c->connect_req, &c->pipe, c->path, on_connect);
}

int qmp_connect(uv_loop_t *loop, const char *path, unsigned timeout_ms, const struct qmp_events *ev,
                struct qmp_client **out, struct evm_err *err)
{
    *out = NULL;
    struct qmp_client *c = calloc(1, sizeof(*c));
    if (!c)
        return evm_errf(err, ENOMEM, "qmp: out of memory");
    c->loop = loop;
    c->ev = *ev;
    c->path = strdup(path);
    if (!c->path || linebuf_init(&c->lines, QMP_MAX_LINE) != 0) {
        free(c->path);
        free(c);
        return evm_errf(err, ENOMEM, "qmp: out of memory");
    }
    struct qmp_proto_ops ops = {client_send, client_on_ready, client_on_event, c};
    qmp_proto_init(&c->proto, &ops);
    snprintf(c->last_error, sizeof(c->last_error), "timed out");
    int r = uv_timer_init(loop, &c->timer);
    if (r < 0) {
        linebuf_free(&c->lines);
        free(c->path);
        free(c);
        return evm_errf(err, EIO, "qmp: timer: %s", uv_strerror(r));
    }
    c->timer.data = c;
    c->handles++;
    c->deadline = uv_now(loop) + timeout_ms;
    start_attempt(c);
    *out = c;
    return 0;
}

bool qmp_is_ready(const struct qmp_client *c)
{
    return c && !c->closing && !c->finished && c->proto.state == QMP_READY;
}

int qmp_command(struct qmp_client *c, const char *execute, const cJSON *args, qmp_reply_fn fn,
                void *ctx, struct evm_err *err)
{
    if (c->closing || c->finished)
        return evm_errf(err, ENOTCONN, "qmp: %s: not connected", execute);
    return qmp_proto_command(&c->proto, execute, args, fn, ctx, err);
}

void qmp_close(struct qmp_client *c)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    qmp_proto_free(&c->proto);
    close_pipe(c, on_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&c->timer))
        uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    maybe_free(c);
}
