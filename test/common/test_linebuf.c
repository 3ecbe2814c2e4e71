/* test_linebuf.c — linebuf: lines split across feeds, CR and NUL dropped, the length bound
 * (truncate once, discard the rest of the line), flush of an unterminated tail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "linebuf.h"

struct got {
    char lines[16][64];
    bool trunc[16];
    int n;
};

static void collect(void *ctx, const char *line, size_t len, bool truncated)
{
    struct got *g = ctx;
    assert_true(g->n < 16);
    assert_int_equal(strlen(line), len);
    snprintf(g->lines[g->n], sizeof(g->lines[0]), "%s", line);
    g->trunc[g->n] = truncated;
    g->n++;
}

static void test_split_across_feeds(void **state)
{
    (void)state;
    struct linebuf lb;
    struct got g = {0};
    assert_int_equal(linebuf_init(&lb, 32), 0);
    linebuf_feed(&lb, "hel", 3, collect, &g);
    assert_int_equal(g.n, 0);
    linebuf_feed(&lb, "lo\r\nwor", 7, collect, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.lines[0], "hello");
    linebuf_feed(&lb, "ld\n\n", 4, collect, &g);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.lines[1], "world");
    assert_string_equal(g.lines[2], "");
    assert_false(g.trunc[1]);
    linebuf_free(&lb);
}

static void test_cr_and_nul_dropped(void **state)
{
    (void)state;
    struct linebuf lb;
    struct got g = {0};
    assert_int_equal(linebuf_init(&lb, 32), 0);
    const char in[] = "a\rb\0c\r\r\n";
    linebuf_feed(&lb, in, sizeof(in) - 1, collect, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.lines[0], "abc");
    linebuf_free(&lb);
}

static void test_long_line_truncated_once(void **state)
{
    (void)state;
    struct linebuf lb;
    struct got g = {0};
    assert_int_equal(linebuf_init(&lb, 4), 0);
    linebuf_feed(&lb, "abcdefgh", 8, collect, &g);
    linebuf_feed(&lb, "ijk\nxy\n", 7, collect, &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.lines[0], "abcd");
    assert_true(g.trunc[0]);
    assert_string_equal(g.lines[1], "xy");
    assert_false(g.trunc[1]);
    /* exactly the bound is not truncated */
    linebuf_feed(&lb, "wxyz\n", 5, collect, &g);
    assert_string_equal(g.lines[2], "wxyz");
    assert_false(g.trunc[2]);
    linebuf_free(&lb);
}

static void test_flush(void **state)
{
    (void)state;
    struct linebuf lb;
    struct got g = {0};
    assert_int_equal(linebuf_init(&lb, 16), 0);
    linebuf_flush(&lb, collect, &g);
    assert_int_equal(g.n, 0); /* nothing pending: no empty line */
    linebuf_feed(&lb, "tail", 4, collect, &g);
    linebuf_flush(&lb, collect, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.lines[0], "tail");
    linebuf_flush(&lb, collect, &g);
    assert_int_equal(g.n, 1);
    linebuf_free(&lb);
}

static void test_zero_bound_rejected(void **state)
{
    (void)state;
    struct linebuf lb;
    assert_int_not_equal(linebuf_init(&lb, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_across_feeds),       cmocka_unit_test(test_cr_and_nul_dropped),
        cmocka_unit_test(test_long_line_truncated_once), cmocka_unit_test(test_flush),
        cmocka_unit_test(test_zero_bound_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
