/* test_console.c — the console markers: exact line formats, boot id suffix once known, and
 * a fatal reason that cannot break its quoted field or the line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "console.h"

static char *capture(void (*emit)(struct console *), const char *boot_id)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct console c;
    console_init(&c, p[1]);
    if (boot_id)
        console_set_boot_id(&c, boot_id);
    emit(&c);
    close(p[1]);
    static char buf[2048];
    ssize_t n = read(p[0], buf, sizeof(buf) - 1);
    close(p[0]);
    assert_true(n > 0);
    buf[n] = '\0';
    return buf;
}

static void emit_ip(struct console *c)
{
    console_ip(c, "10.0.2.15");
}
static void emit_exit(struct console *c)
{
    console_exit(c, 3);
}
static void emit_stage(struct console *c)
{
    console_stage(c, "network");
}
static void emit_fatal(struct console *c)
{
    console_fatal(c, "verify", "assets/config.toml: \"bad\"\nline2\\x");
}

static void test_ip_and_exit(void **state)
{
    (void)state;
    assert_string_equal(capture(emit_ip, NULL), "EPHEMERD_IP=10.0.2.15\n");
    assert_string_equal(capture(emit_ip, "0123456789abcdef0123456789abcdef"),
                        "EPHEMERD_IP=10.0.2.15 boot_id=0123456789abcdef0123456789abcdef\n");
    assert_string_equal(capture(emit_exit, "00000000000000000000000000000001"),
                        "EPHEMERD_EXIT status=3 boot_id=00000000000000000000000000000001\n");
}

static void test_stage_has_boottime(void **state)
{
    (void)state;
    char *line = capture(emit_stage, NULL);
    unsigned long long ms = 0;
    char tail[8] = "";
    assert_int_equal(sscanf(line, "EPHEMERD_STAGE stage=network ms=%llu%7s", &ms, tail), 1);
    assert_true(ms > 0);
    assert_true(ms <= console_boottime_ms());
}

static void test_fatal_reason_escaped(void **state)
{
    (void)state;
    char *line = capture(emit_fatal, "0123456789abcdef0123456789abcdef");
    assert_string_equal(line,
                        "EPHEMERD_FATAL stage=verify reason=\"assets/config.toml: "
                        "\\\"bad\\\" line2\\\\x\" boot_id=0123456789abcdef0123456789abcdef\n");
    /* Exactly one line. */
    assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_and_exit),
        cmocka_unit_test(test_stage_has_boottime),
        cmocka_unit_test(test_fatal_reason_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
