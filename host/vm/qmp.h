/* qmp.h — a small QMP (QEMU Machine Protocol) client. Three layers, all portable C:
 *   messages: parse one received JSON line, format one command;
 *   protocol: greeting -> qmp_capabilities -> ready, commands matched to replies by id,
 *             asynchronous events; no I/O (unit-tested on strings);
 *   client:   the protocol over a libuv pipe connected to QEMU's unix socket, connecting
 *             with bounded retries while QEMU creates the socket. */
#ifndef EVM_QMP_H
#define EVM_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "err.h"

/* ---- messages ---------------------------------------------------------------------- */

enum qmp_kind { QMP_GREETING, QMP_RETURN, QMP_ERROR, QMP_EVENT };

struct qmp_msg {
    enum qmp_kind kind;
    bool has_id;
    uint64_t id;           /* our ids are unsigned integers; other ids count as absent */
    const char *event;     /* QMP_EVENT: its name */
    const char *err_class; /* QMP_ERROR: "GenericError", ... ("" when absent) */
    const char *err_desc;  /* QMP_ERROR: QEMU's sentence ("" when absent) */
    const cJSON *body;     /* RETURN: the value; EVENT: "data" (may be NULL); GREETING: "QMP" */
    cJSON *root;           /* owns everything above */
};

/* Parses one line QEMU sent. -EPROTO (err says why) when it is not a QMP message. */
int qmp_msg_parse(const char *line, size_t len, struct qmp_msg *m, struct evm_err *err);
void qmp_msg_free(struct qmp_msg *m);

/* {"execute": execute, "arguments": args, "id": id} followed by "\n"; args may be NULL.
 * malloc'd; NULL when out of memory. */
char *qmp_format_command(const char *execute, const cJSON *args, uint64_t id);

/* ---- protocol ---------------------------------------------------------------------- */

/* A command's outcome. status 0: reply->kind == QMP_RETURN; -EIO: QEMU answered with
 * an error (reply->err_class/err_desc); -ECONNRESET: the connection ended first (reply NULL). */
typedef void (*qmp_reply_fn)(void *ctx, int status, const struct qmp_msg *reply);

struct qmp_proto_ops {
    /* Sends bytes; takes ownership of data (malloc'd). Returns 0 or a negative errno. */
    int (*send)(void *ctx, char *data, size_t len);
    void (*on_ready)(void *ctx);                           /* capabilities negotiated */
    void (*on_event)(void *ctx, const struct qmp_msg *ev); /* an asynchronous event */
    void *ctx;
};

struct qmp_pending;

enum qmp_state { QMP_WAIT_GREETING, QMP_WAIT_CAPS, QMP_READY, QMP_FAILED };

struct qmp_proto {
    struct qmp_proto_ops ops;
    enum qmp_state state;
    uint64_t next_id;
    struct qmp_pending *pending; /* oldest first */
    char failure[256];           /* why the protocol failed (state QMP_FAILED) */
};

void qmp_proto_init(struct qmp_proto *p, const struct qmp_proto_ops *ops);
/* Handles one received line. 0, or -EPROTO when the peer broke the protocol (state becomes
 * QMP_FAILED and p->failure says how). Lines that are not JSON are ignored before the
 * greeting only. */
int qmp_proto_line(struct qmp_proto *p, const char *line, size_t len);
/* Sends a command once ready. -ENOTCONN before ready or after failure. */
int qmp_proto_command(struct qmp_proto *p, const char *execute, const cJSON *args, qmp_reply_fn fn,
                      void *ctx, struct evm_err *err);
/* Completes every pending command with status and no reply; state becomes QMP_FAILED. */
void qmp_proto_fail_all(struct qmp_proto *p, int status);
/* Drops pending commands without calling them. */
void qmp_proto_free(struct qmp_proto *p);

/* ---- client over a unix socket (libuv) --------------------------------------------- */

struct qmp_events {
    void (*on_ready)(void *ctx);
    void (*on_event)(void *ctx, const struct qmp_msg *ev);
    /* The connection could not be made within the deadline, broke, or QEMU closed it.
     * Pending commands have been completed with -ECONNRESET before this. Called at most
     * once, never after qmp_close. */
    void (*on_closed)(void *ctx, const char *reason);
    void *ctx;
};

struct qmp_client;

/* Starts connecting to path (retrying every few ms until timeout_ms while the socket does
 * not exist or refuses). Events arrive on the loop. */
int qmp_connect(uv_loop_t *loop, const char *path, unsigned timeout_ms, const struct qmp_events *ev,
                struct qmp_client **out, struct evm_err *err);
bool qmp_is_ready(const struct qmp_client *c);
int qmp_command(struct qmp_client *c, const char *execute, const cJSON *args, qmp_reply_fn fn,
                void *ctx, struct evm_err *err);
/* No callback of any kind runs after this (pending commands are dropped); memory is freed
 * once the loop has run the close callbacks. Safe to call from any of the callbacks. */
void qmp_close(struct qmp_client *c);

#endif
