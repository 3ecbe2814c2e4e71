/* test_log_posix.c — logging as it reaches stderr (captured): the threshold filters by level
 * (error, warn, info, debug; trace is debug), text lines as before, JSON lines that each parse
 * as one object with the message intact, and -v (the command line) winning over a config's
 * level. */
#include <cJSON.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "testutil.h"

struct capture {
    char *dir, *path;
    int saved;
};

static void capture_begin(struct capture *c)
{
    c->dir = tu_tmpdir();
    c->path = tu_path(c->dir, "stderr");
    fflush(stderr);
    c->saved = dup(STDERR_FILENO);
    int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(c->saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
}

/* What was written to stderr since capture_begin (malloc'd). */
static char *capture_end(struct capture *c)
{
    fflush(stderr);
    assert_int_equal(dup2(c->saved, STDERR_FILENO), STDERR_FILENO);
    close(c->saved);
    char *text = tu_read(c->path, NULL);
    assert_non_null(text);
    tu_rmrf(c->dir);
    free(c->dir);
    free(c->path);
    return text;
}

static void log_each_level(void)
{
    log_error("e");
    log_warn("w");
    log_info("i");
    log_debug("d");
}

/* What each threshold lets through, as text. */
static void test_filter(void **state)
{
    (void)state;
    static const struct {
        const char *config_level;
        const char *want;
    } cases[] = {
        {"error", "t: error: e\n"},
        {"warn", "t: error: e\nt: warning: w\n"},
        {"info", "t: error: e\nt: warning: w\nt: i\n"},
        {"debug", "t: error: e\nt: warning: w\nt: i\nt: debug: d\n"},
        {"trace", "t: error: e\nt: warning: w\nt: i\nt: debug: d\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum log_level level;
        assert_int_equal(log_level_parse(cases[i].config_level, &level), 0);
        log_init("t", LOG_INFO);
        log_configure(level, LOG_FORMAT_TEXT);
        struct capture c;
        capture_begin(&c);
        log_each_level();
        char *got = capture_end(&c);
        assert_string_equal(got, cases[i].want);
        free(got);
    }
    log_init("t", LOG_INFO);
}

/* JSON lines: one object per line, each field as said, the message back byte for byte. */
static void test_json_lines(void **state)
{
    (void)state;
    log_init("ephemerd-vmhost", LOG_INFO);
    log_configure(LOG_WARN, LOG_FORMAT_JSON);
    struct capture c;
    capture_begin(&c);
    log_info("filtered out");
    log_warn("quote \" backslash \\ tab \t newline \n end");
    log_error("caf\xc3\xa9 %d", 7);
    char *got = capture_end(&c);
    log_init("t", LOG_INFO);

    static const struct {
        const char *level, *msg;
    } want[] = {{"warn", "quote \" backslash \\ tab \t newline \n end"},
                {"error", "caf\xc3\xa9 7"}};
    char *save = NULL;
    size_t n = 0;
    for (char *line = strtok_r(got, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
        assert_true(n < 2);
        cJSON *o = cJSON_Parse(line);
        if (!o)
            fail_msg("not JSON: %s", line);
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "ts");
        const cJSON *lv = cJSON_GetObjectItemCaseSensitive(o, "level");
        const cJSON *pg = cJSON_GetObjectItemCaseSensitive(o, "program");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(o, "msg");
        assert_true(cJSON_IsString(ts) && strlen(ts->valuestring) == 20);
        assert_int_equal(ts->valuestring[19], 'Z');
        assert_string_equal(lv->valuestring, want[n].level);
        assert_string_equal(pg->valuestring, "ephemerd-vmhost");
        assert_string_equal(msg->valuestring, want[n].msg);
        assert_int_equal(cJSON_GetArraySize(o), 4);
        cJSON_Delete(o);
    }
    assert_int_equal(n, 2);
    free(got);
}

/* -v before the config is loaded: the config's level does not lower it, its format applies. */
static void test_cli_level_wins(void **state)
{
    (void)state;
    log_init("t", LOG_INFO);
    log_set_cli_level(LOG_DEBUG);
    log_configure(LOG_ERROR, LOG_FORMAT_TEXT);
    struct capture c;
    capture_begin(&c);
    log_each_level();
    char *got = capture_end(&c);
    assert_string_equal(got, "t: error: e\nt: warning: w\nt: i\nt: debug: d\n");
    free(got);
    log_init("t", LOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_json_lines),
        cmocka_unit_test(test_cli_level_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
