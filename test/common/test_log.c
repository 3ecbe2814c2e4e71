/* test_log.c — the log line formats (common/log.h): JSON string escaping (quotes, backslashes,
 * control characters, DEL, invalid UTF-8 as \ufffd, valid UTF-8 kept, never a cut escape or
 * character), the JSON line (fields, UTC timestamp, a long message cut into a still-valid
 * object), the text line as before, the level and format names, and the threshold's
 * precedence: the command line's level over a config's. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),     cmocka_unit_test(test_escape_never_cut),
        cmocka_unit_test(test_json_line),  cmocka_unit_test(test_json_line_cut),
        cmocka_unit_test(test_text_line),  cmocka_unit_test(test_names),
        cmocka_unit_test(test_precedence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
