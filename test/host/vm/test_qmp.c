/* test_qmp.c — QMP message parsing and formatting, and the protocol state machine driven by
 * strings: greeting -> qmp_capabilities -> ready, replies matched by id (out of order),
 * errors, events, protocol violations and the connection ending with commands pending. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vm/qmp.h"

#define GREETING                                                                                   \
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, "             \
    "\"capabilities\": [\"oob\"]}}"

struct fx {
    struct qmp_proto p;
    char sent[8][256];
    int nsent;
    int ready;
    char events[4][32];
    int nevents;
    int send_fails; /* the next send fails with this errno */
};

struct reply {
    int calls;
    int status;
    char text[128];
};

static int fx_send(void *ctx, char *data, size_t len)
{
    struct fx *f = ctx;
    if (f->send_fails) {
        free(data);
        return -f->send_fails;
    }
    assert_true(f->nsent < 8);
    assert_true(len < sizeof(f->sent[0]));
    memcpy(f->sent[f->nsent++], data, len + 1);
    free(data);
    return 0;
}

static void fx_ready(void *ctx)
{
    ((struct fx *)ctx)->ready++;
}

static void fx_event(void *ctx, const struct qmp_msg *ev)
{
    struct fx *f = ctx;
    assert_true(f->nevents < 4);
    snprintf(f->events[f->nevents++], sizeof(f->events[0]), "%s", ev->event);
}

static void on_reply(void *ctx, int status, const struct qmp_msg *m)
{
    struct reply *r = ctx;
    r->calls++;
    r->status = status;
    if (m && m->kind == QMP_ERROR)
        snprintf(r->text, sizeof(r->text), "%s: %s", m->err_class, m->err_desc);
    else if (m && m->body) {
        char *t = cJSON_PrintUnformatted(m->body);
        snprintf(r->text, sizeof(r->text), "%s", t);
        cJSON_free(t);
    }
}

static int line(struct fx *f, const char *s)
{
    return qmp_proto_line(&f->p, s, strlen(s));
}

static struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    struct qmp_proto_ops ops = {fx_send, fx_ready, fx_event, f};
    qmp_proto_init(&f->p, &ops);
    return f;
}

/* A protocol that has gone through the greeting and capabilities. */
static struct fx *fx_ready_new(void)
{
    struct fx *f = fx_new();
    assert_int_equal(line(f, GREETING), 0);
    assert_int_equal(line(f, "{\"return\": {}, \"id\": 0}"), 0);
    assert_int_equal(f->ready, 1);
    return f;
}

static void fx_free(struct fx *f)
{
    qmp_proto_free(&f->p);
    free(f);
}

static void test_parse_kinds(void **state)
{
    (void)state;
    struct qmp_msg m;
    struct evm_err err = {0};
    assert_int_equal(qmp_msg_parse(GREETING, strlen(GREETING), &m, &err), 0);
    assert_int_equal(m.kind, QMP_GREETING);
    assert_false(m.has_id);
    qmp_msg_free(&m);

    const char *ret = "{\"return\": {\"status\": \"running\"}, \"id\": 7}";
    assert_int_equal(qmp_msg_parse(ret, strlen(ret), &m, &err), 0);
    assert_int_equal(m.kind, QMP_RETURN);
    assert_true(m.has_id);
    assert_int_equal(m.id, 7);
    qmp_msg_free(&m);

    const char *e = "{\"id\": 3, \"error\": {\"class\": \"GenericError\", \"desc\": \"nope\"}}";
    assert_int_equal(qmp_msg_parse(e, strlen(e), &m, &err), 0);
    assert_int_equal(m.kind, QMP_ERROR);
    assert_string_equal(m.err_class, "GenericError");
    assert_string_equal(m.err_desc, "nope");
    qmp_msg_free(&m);

    const char *ev = "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
                     "\"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}";
    assert_int_equal(qmp_msg_parse(ev, strlen(ev), &m, &err), 0);
    assert_int_equal(m.kind, QMP_EVENT);
    assert_string_equal(m.event, "SHUTDOWN");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(m.body, "reason");
    assert_string_equal(reason->valuestring, "guest-shutdown");
    qmp_msg_free(&m);

    /* A string id is not one of ours. */
    const char *sid = "{\"return\": {}, \"id\": \"x\"}";
    assert_int_equal(qmp_msg_parse(sid, strlen(sid), &m, &err), 0);
    assert_false(m.has_id);
    qmp_msg_free(&m);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    struct qmp_msg m;
    struct evm_err err = {0};
    const char *bad[] = {"not json", "[1,2]", "{\"what\": 1}", "{\"return\": ", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(qmp_msg_parse(bad[i], strlen(bad[i]), &m, &err), -EPROTO);
        assert_null(m.root);
        assert_true(strlen(err.msg) > 0);
    }
}

static void test_format_command(void **state)
{
    (void)state;
    char *s = qmp_format_command("quit", NULL, 5);
    assert_non_null(s);
    assert_string_equal(s, "{\"execute\":\"quit\",\"id\":5}\n");
    free(s);
    cJSON *args = cJSON_Parse("{\"keys\":[{\"type\":\"qcode\",\"data\":\"ctrl\"}]}");
    s = qmp_format_command("send-key", args, 9);
    assert_string_equal(s, "{\"execute\":\"send-key\",\"arguments\":{\"keys\":[{\"type\":\"qcode\","
                           "\"data\":\"ctrl\"}]},"
                           "\"id\":9}\n");
    free(s);
    cJSON_Delete(args);
}

static void test_handshake(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct evm_err err = {0};
    struct reply r = {0};
    /* not ready yet: commands refused */
    assert_int_equal(qmp_proto_command(&f->p, "quit", NULL, on_reply, &r, &err), -ENOTCONN);
    assert_int_equal(line(f, "garbage before the greeting"), 0);
    assert_int_equal(line(f, GREETING), 0);
    assert_int_equal(f->nsent, 1);
    assert_string_equal(f->sent[0], "{\"execute\":\"qmp_capabilities\",\"id\":0}\n");
    assert_int_equal(f->ready, 0);
    assert_int_equal(line(f, "{\"return\": {}, \"id\": 0}"), 0);
    assert_int_equal(f->ready, 1);
    assert_int_equal(f->p.state, QMP_READY);
    fx_free(f);
}

static void test_replies_by_id(void **state)
{
    (void)state;
    struct fx *f = fx_ready_new();
    struct evm_err err = {0};
    struct reply a = {0}, b = {0};
    assert_int_equal(qmp_proto_command(&f->p, "query-status", NULL, on_reply, &a, &err), 0);
    assert_int_equal(qmp_proto_command(&f->p, "send-key", NULL, on_reply, &b, &err), 0);
    assert_string_equal(f->sent[1], "{\"execute\":\"query-status\",\"id\":1}\n");
    assert_string_equal(f->sent[2], "{\"execute\":\"send-key\",\"id\":2}\n");
    /* answered out of order, with an event and an unknown id in between */
    assert_int_equal(line(f, "{\"id\": 2, \"error\": {\"class\": \"GenericError\", "
                             "\"desc\": \"bad key\"}}"),
                     0);
    assert_int_equal(line(f, "{\"event\": \"STOP\", \"timestamp\": {}}"), 0);
    assert_int_equal(line(f, "{\"return\": {}, \"id\": 99}"), 0);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.status, -EIO);
    assert_string_equal(b.text, "GenericError: bad key");
    assert_int_equal(a.calls, 0);
    assert_int_equal(line(f, "{\"return\": {\"status\": \"running\"}, \"id\": 1}"), 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status, 0);
    assert_string_equal(a.text, "{\"status\":\"running\"}");
    assert_int_equal(f->nevents, 1);
    assert_string_equal(f->events[0], "STOP");
    /* a second reply with the same id is ignored */
    assert_int_equal(line(f, "{\"return\": {}, \"id\": 1}"), 0);
    assert_int_equal(a.calls, 1);
    fx_free(f);
}

static void test_fail_all_on_disconnect(void **state)
{
    (void)state;
    struct fx *f = fx_ready_new();
    struct evm_err err = {0};
    struct reply a = {0};
    assert_int_equal(qmp_proto_command(&f->p, "quit", NULL, on_reply, &a, &err), 0);
    qmp_proto_fail_all(&f->p, -ECONNRESET);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status, -ECONNRESET);
    assert_int_equal(qmp_proto_command(&f->p, "quit", NULL, on_reply, &a, &err), -ENOTCONN);
    fx_free(f);
}

static void test_protocol_violations(void **state)
{
    (void)state;
    /* a reply instead of the greeting */
    struct fx *f = fx_new();
    assert_int_equal(line(f, "{\"return\": {}}"), -EPROTO);
    assert_int_equal(f->p.state, QMP_FAILED);
    assert_non_null(strstr(f->p.failure, "greeting"));
    fx_free(f);

    /* capabilities refused */
    f = fx_new();
    assert_int_equal(line(f, GREETING), 0);
    assert_int_equal(line(f, "{\"id\": 0, \"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                             "\"no caps\"}}"),
                     -EPROTO);
    assert_non_null(strstr(f->p.failure, "no caps"));
    assert_int_equal(f->ready, 0);
    fx_free(f);

    /* garbage once ready fails pending commands */
    f = fx_ready_new();
    struct evm_err err = {0};
    struct reply a = {0};
    assert_int_equal(qmp_proto_command(&f->p, "quit", NULL, on_reply, &a, &err), 0);
    assert_int_equal(line(f, "}{"), -EPROTO);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status, -ECONNRESET);
    fx_free(f);

    /* the capabilities command cannot be sent */
    f = fx_new();
    f->send_fails = EPIPE;
    assert_int_equal(line(f, GREETING), -EPROTO);
    assert_non_null(strstr(f->p.failure, "qmp_capabilities"));
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_kinds),         cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_format_command),      cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_replies_by_id),       cmocka_unit_test(test_fail_all_on_disconnect),
        cmocka_unit_test(test_protocol_violations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
