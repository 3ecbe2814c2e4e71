/* test_log.c — the log line formats (common/log.h): JSON string escaping (quotes, backslashes,
 * control characters, DEL, invalid UTF-8 as \ufffd, valid UTF-8 kept, never a cut escape or
 * character), the JSON line (fields, UTC timestamp, a long message cut into a still-valid
 * object), the text line as before, the level and format names, the threshold's
 * precedence: the command line's level over a config's, and the file sink: lines appended
 * with the time first (text) or as JSON, rotation by size keeping K old files, the rotation
 * step on its own (replacing existing files, as Windows' rename does not), a rotation that
 * fails losing no line, a bad size. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fileutil.h"
#include "log.h"
#include "testutil.h"

static void expect_escape(const char *in, const char *want)
{
    char out[256];
    size_t n = log_json_escape(out, sizeof(out), in);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_escape(void **state)
{
    (void)state;
    expect_escape("plain text", "plain text");
    expect_escape("", "");
    expect_escape("say \"hi\" \\ bye", "say \\\"hi\\\" \\\\ bye");
    expect_escape("a\nb\tc\rd\be\ff", "a\\nb\\tc\\rd\\be\\ff");
    expect_escape("\x01\x0b\x1f\x7f", "\\u0001\\u000b\\u001f\\u007f");
    expect_escape("/ is fine", "/ is fine");
    /* valid UTF-8 is kept as it is: 2, 3 and 4 bytes */
    expect_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    /* each byte that is not valid UTF-8 is U+FFFD */
    expect_escape("a\xffz", "a\\ufffdz");
    expect_escape("\x80", "\\ufffd");
    expect_escape("\xc3", "\\ufffd");                                  /* cut at the end */
    expect_escape("\xc3(", "\\ufffd(");                                /* a bad continuation */
    expect_escape("\xc0\xaf", "\\ufffd\\ufffd");                       /* overlong '/' */
    expect_escape("\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd");            /* a surrogate */
    expect_escape("\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"); /* above U+10FFFF */
}

static void test_escape_never_cut(void **state)
{
    (void)state;
    char out[8];
    /* "abc" fits; the escape of '"' (2 bytes) would leave no room for the NUL: stop there. */
    assert_int_equal(log_json_escape(out, 5, "abc\"d"), 3);
    assert_string_equal(out, "abc");
    assert_int_equal(log_json_escape(out, 7, "a\x01"), 1); /* \u0001 needs 6 + NUL */
    assert_string_equal(out, "a");
    assert_int_equal(log_json_escape(out, 4, "\xe2\x82\xac"), 3); /* the euro sign, whole */
    assert_int_equal(log_json_escape(out, 3, "\xe2\x82\xac"), 0);
    assert_string_equal(out, "");
    assert_int_equal(log_json_escape(out, 1, "x"), 0);
    assert_string_equal(out, "");
    assert_int_equal(log_json_escape(out, 0, "x"), 0);
}

static void test_json_line(void **state)
{
    (void)state;
    char out[512];
    size_t n = log_format_line(out, sizeof(out), LOG_FORMAT_JSON, "ephemerd-vmhost", LOG_INFO, 0,
                               "vm ready in 3289 ms");
    assert_string_equal(out, "{\"ts\":\"1970-01-01T00:00:00Z\",\"level\":\"info\","
                             "\"program\":\"ephemerd-vmhost\",\"msg\":\"vm ready in 3289 ms\"}\n");
    assert_int_equal(n, strlen(out));
    /* levels by their config names, timestamps in UTC (a leap day; a recent date) */
    log_format_line(out, sizeof(out), LOG_FORMAT_JSON, "p", LOG_WARN, 951782400, "x");
    assert_string_equal(
        out,
        "{\"ts\":\"2000-02-29T00:00:00Z\",\"level\":\"warn\",\"program\":\"p\",\"msg\":\"x\"}\n");
    log_format_line(out, sizeof(out), LOG_FORMAT_JSON, "p", LOG_ERROR, 1700000000, "x");
    assert_non_null(strstr(out, "\"ts\":\"2023-11-14T22:13:20Z\",\"level\":\"error\""));
    log_format_line(out, sizeof(out), LOG_FORMAT_JSON, "p", LOG_DEBUG, 4102444799, "x");
    assert_non_null(strstr(out, "\"ts\":\"2099-12-31T23:59:59Z\",\"level\":\"debug\""));
    /* the message escaped */
    log_format_line(out, sizeof(out), LOG_FORMAT_JSON, "p", LOG_INFO, 0, "a \"q\"\n\xff");
    assert_non_null(strstr(out, "\"msg\":\"a \\\"q\\\"\\n\\ufffd\"}\n"));
}

static void test_json_line_cut(void **state)
{
    (void)state;
    char msg[300];
    memset(msg, '"', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    char out[120];
    size_t n = log_format_line(out, sizeof(out), LOG_FORMAT_JSON, "p", LOG_INFO, 0, msg);
    assert_true(n < sizeof(out));
    assert_int_equal(n, strlen(out));
    /* still one object on one line: ends with "}, a newline, and only whole escapes */
    assert_string_equal(out + n - 3, "\"}\n");
    const char *m = strstr(out, "\"msg\":\"") + 7;
    size_t body = (size_t)(out + n - 3 - m);
    assert_int_equal(body % 2, 0);
    for (size_t i = 0; i < body; i += 2)
        assert_memory_equal(m + i, "\\\"", 2);
    /* no room for the fixed fields: nothing rather than half an object */
    assert_int_equal(log_format_line(out, 20, LOG_FORMAT_JSON, "p", LOG_INFO, 0, "x"), 0);
    assert_string_equal(out, "");
}

static void test_text_line(void **state)
{
    (void)state;
    char out[128];
    log_format_line(out, sizeof(out), LOG_FORMAT_TEXT, "prog", LOG_WARN, 0, "careful");
    assert_string_equal(out, "prog: warning: careful\n");
    log_format_line(out, sizeof(out), LOG_FORMAT_TEXT, "prog", LOG_INFO, 0, "fine");
    assert_string_equal(out, "prog: fine\n");
    log_format_line(out, sizeof(out), LOG_FORMAT_TEXT, "prog", LOG_ERROR, 0, "bad");
    assert_string_equal(out, "prog: error: bad\n");
    log_format_line(out, sizeof(out), LOG_FORMAT_TEXT, "prog", LOG_DEBUG, 0, "x");
    assert_string_equal(out, "prog: debug: x\n");
    /* cut, still one line */
    assert_int_equal(log_format_line(out, 10, LOG_FORMAT_TEXT, "prog", LOG_INFO, 0, "long text"),
                     9);
    assert_string_equal(out, "prog: lo\n");
}

static void test_names(void **state)
{
    (void)state;
    enum log_level l;
    enum log_format f;
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(log_level_parse(levels[i], &l), 0);
        assert_int_equal(l, i);
        assert_string_equal(log_level_name(l), levels[i]);
    }
    assert_int_equal(log_level_parse("trace", &l), 0);
    assert_int_equal(l, LOG_DEBUG);
    assert_int_equal(log_level_parse("warning", &l), 0);
    assert_int_equal(l, LOG_WARN);
    assert_int_equal(log_level_parse("loud", &l), -EINVAL);
    assert_int_equal(log_format_parse("text", &f), 0);
    assert_int_equal(f, LOG_FORMAT_TEXT);
    assert_int_equal(log_format_parse("json", &f), 0);
    assert_int_equal(f, LOG_FORMAT_JSON);
    assert_int_equal(log_format_parse("xml", &f), -EINVAL);
}

/* The command line's level (-v) wins over a config's; the format always follows the config. */
static void test_precedence(void **state)
{
    (void)state;
    log_init("t", LOG_INFO);
    log_configure(LOG_ERROR, LOG_FORMAT_JSON);
    assert_int_equal(log_get_level(), LOG_ERROR);
    assert_int_equal(log_get_format(), LOG_FORMAT_JSON);
    log_set_cli_level(LOG_DEBUG);
    assert_int_equal(log_get_level(), LOG_DEBUG);
    log_configure(LOG_WARN, LOG_FORMAT_TEXT);
    assert_int_equal(log_get_level(), LOG_DEBUG);
    assert_int_equal(log_get_format(), LOG_FORMAT_TEXT);
    log_init(NULL, LOG_INFO); /* a reset forgets the command line's level */
    log_configure(LOG_WARN, LOG_FORMAT_TEXT);
    assert_int_equal(log_get_level(), LOG_WARN);
    log_init(NULL, LOG_INFO);
}

/* ---- the file sink ---------------------------------------------------------------------- */

static char *slurp(const char *dir, const char *name)
{
    char *p = tu_path(dir, name);
    char *s = tu_read(p, NULL);
    free(p);
    return s;
}

static void put(const char *dir, const char *name, const char *text)
{
    char *p = tu_path(dir, name);
    tu_write(p, text, strlen(text));
    free(p);
}

static unsigned count_lines(const char *s)
{
    unsigned n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* Each rotation shifts the chain by one; the oldest beyond keep is dropped; a gap is skipped. */
static void test_rotate_files(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *log = tu_path(dir, "v.log");
    put(dir, "v.log", "now");
    put(dir, "v.log.1", "one");
    put(dir, "v.log.2", "two");
    struct evm_err err = {0};
    assert_int_equal(log_rotate_files(log, 2, &err), 0);
    char *s = slurp(dir, "v.log");
    assert_null(s);
    s = slurp(dir, "v.log.1");
    assert_string_equal(s, "now");
    free(s);
    s = slurp(dir, "v.log.2");
    assert_string_equal(s, "one"); /* "two" was the oldest: gone */
    free(s);
    assert_null(slurp(dir, "v.log.3"));
    /* A gap: v.log is missing, v.log.1 moves on. */
    assert_int_equal(log_rotate_files(log, 3, &err), 0);
    assert_null(slurp(dir, "v.log.1"));
    s = slurp(dir, "v.log.2");
    assert_string_equal(s, "now");
    free(s);
    /* keep 0: the file is removed. */
    put(dir, "v.log", "x");
    assert_int_equal(log_rotate_files(log, 0, &err), 0);
    assert_null(slurp(dir, "v.log"));
    free(log);
    tu_rmrf(dir);
    free(dir);
}

/* Text lines carry the UTC time first; the sink appends to what the file held. */
static void test_file_sink_text(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *log = tu_path(dir, "v.log");
    put(dir, "v.log", "earlier line\n");
    struct evm_err err = {0};
    log_init("prog", LOG_INFO);
    assert_int_equal(log_file_open(log, 1 << 20, 2, &err), 0);
    log_info("hello %d", 42);
    log_debug("not at this level");
    log_warn("careful");
    log_file_close();
    log_info("after the close: stderr only");
    char *s = slurp(dir, "v.log");
    assert_non_null(s);
    assert_true(strncmp(s, "earlier line\n", 13) == 0);
    const char *l1 = s + 13, *l2 = strchr(l1, '\n') + 1;
    /* "YYYY-MM-DDTHH:MM:SSZ prog: hello 42" */
    assert_int_equal(l1[4], '-');
    assert_int_equal(l1[10], 'T');
    assert_int_equal(l1[19], 'Z');
    assert_true(strncmp(l1 + 20, " prog: hello 42\n", 16) == 0);
    assert_true(strncmp(l2 + 20, " prog: warning: careful\n", 24) == 0);
    assert_int_equal(count_lines(s), 3);
    free(s);
    free(log);
    tu_rmrf(dir);
    free(dir);
    log_init(NULL, LOG_INFO);
}

/* JSON lines go to the file as they are (the time is inside). */
static void test_file_sink_json(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *log = tu_path(dir, "v.log");
    struct evm_err err = {0};
    log_init("prog", LOG_INFO);
    log_configure(LOG_INFO, LOG_FORMAT_JSON);
    assert_int_equal(log_file_open(log, 1 << 20, 1, &err), 0);
    log_error("bad \"thing\"");
    log_file_close();
    char *s = slurp(dir, "v.log");
    assert_non_null(s);
    assert_true(strncmp(s, "{\"ts\":\"", 7) == 0);
    assert_non_null(strstr(s, "\"level\":\"error\",\"program\":\"prog\",\"msg\":\"bad "
                              "\\\"thing\\\"\"}\n"));
    free(s);
    free(log);
    tu_rmrf(dir);
    free(dir);
    log_init(NULL, LOG_INFO);
}

/* Past max bytes the file is rotated: at most keep old files, none over the limit, the newest
 * lines in the current file, no line lost among those kept. */
static void test_file_sink_rotation(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *log = tu_path(dir, "v.log");
    struct evm_err err = {0};
    log_init("p", LOG_INFO);
    enum { MAX = 200, LINES = 40 };
    assert_int_equal(log_file_open(log, MAX, 2, &err), 0);
    for (int i = 0; i < LINES; i++)
        log_info("line %02d", i); /* 20 + 1 + 12 = 33 bytes each: 6 per file */
    log_file_close();
    char *cur = slurp(dir, "v.log"), *o1 = slurp(dir, "v.log.1"), *o2 = slurp(dir, "v.log.2");
    assert_non_null(cur);
    assert_non_null(o1);
    assert_non_null(o2);
    assert_null(slurp(dir, "v.log.3"));
    assert_true(strlen(cur) <= MAX && strlen(o1) <= MAX && strlen(o2) <= MAX);
    assert_int_equal(count_lines(o1), 6);
    assert_int_equal(count_lines(o2), 6);
    assert_non_null(strstr(cur, "p: line 39\n"));
    /* The three files hold the last lines in order, with nothing missing between them. */
    unsigned first = LINES - count_lines(cur) - 12;
    char want[32];
    snprintf(want, sizeof(want), "p: line %02u\n", first);
    assert_non_null(strstr(o2, want));
    snprintf(want, sizeof(want), "p: line %02u\n", first + 6);
    assert_non_null(strstr(o1, want));
    free(cur);
    free(o1);
    free(o2);
    assert_int_equal(log_file_open(log, 0, 1, &err), -EINVAL);
    free(log);
    tu_rmrf(dir);
    free(dir);
    log_init(NULL, LOG_INFO);
}

/* A rotation that cannot happen (v.log.1 is a directory that is not empty) loses no line: they
 * go on into v.log. */
static void test_file_sink_rotation_fails(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *log = tu_path(dir, "v.log"), *blocker = tu_path(dir, "v.log.1");
    struct evm_err err = {0};
    assert_int_equal(mkdir_p(blocker, &err), 0);
    put(blocker, "inside", "x");
    log_init("p", LOG_INFO);
    assert_int_equal(log_file_open(log, 100, 1, &err), 0);
    for (int i = 0; i < 10; i++)
        log_info("line %02d", i);
    log_file_close();
    char *cur = slurp(dir, "v.log");
    assert_non_null(cur);
    assert_int_equal(count_lines(cur), 10);
    assert_non_null(strstr(cur, "p: line 00\n"));
    assert_non_null(strstr(cur, "p: line 09\n"));
    free(cur);
    free(log);
    free(blocker);
    tu_rmrf(dir);
    free(dir);
    log_init(NULL, LOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_escape_never_cut),
        cmocka_unit_test(test_json_line),
        cmocka_unit_test(test_json_line_cut),
        cmocka_unit_test(test_text_line),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_rotate_files),
        cmocka_unit_test(test_file_sink_text),
        cmocka_unit_test(test_file_sink_json),
        cmocka_unit_test(test_file_sink_rotation),
        cmocka_unit_test(test_file_sink_rotation_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
