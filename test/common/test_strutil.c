/* test_strutil.c — str_utf8_seq, the strict UTF-8 check log.c (JSON escaping) and the TOML
 * lexer share: sequence lengths, what strict rejects, and the byte bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "strutil.h"

static void test_utf8_valid_lengths(void **state)
{
    (void)state;
    assert_int_equal(str_utf8_seq("\xc2\x80", SIZE_MAX), 2);         /* U+0080 */
    assert_int_equal(str_utf8_seq("\xe2\x82\xac!", SIZE_MAX), 3);    /* U+20AC */
    assert_int_equal(str_utf8_seq("\xf0\x9f\x98\x80", SIZE_MAX), 4); /* U+1F600 */
    assert_int_equal(str_utf8_seq("\xf4\x8f\xbf\xbf", 4), 4);        /* U+10FFFF */
}

static void test_utf8_strict_rejects(void **state)
{
    (void)state;
    assert_int_equal(str_utf8_seq("a", SIZE_MAX), 0);                /* ASCII */
    assert_int_equal(str_utf8_seq("\x80", SIZE_MAX), 0);             /* lone continuation */
    assert_int_equal(str_utf8_seq("\xc0\x80", SIZE_MAX), 0);         /* overlong NUL */
    assert_int_equal(str_utf8_seq("\xe0\x80\x80", SIZE_MAX), 0);     /* overlong */
    assert_int_equal(str_utf8_seq("\xed\xa0\x80", SIZE_MAX), 0);     /* surrogate U+D800 */
    assert_int_equal(str_utf8_seq("\xf4\x90\x80\x80", SIZE_MAX), 0); /* above U+10FFFF */
    assert_int_equal(str_utf8_seq("\xe2\x82", SIZE_MAX), 0);         /* cut by the NUL */
    assert_int_equal(str_utf8_seq("\xe2(\xac", SIZE_MAX), 0);        /* not a continuation */
}

static void test_utf8_bounded_by_avail(void **state)
{
    (void)state;
    assert_int_equal(str_utf8_seq("\xe2\x82\xac", 2), 0);
    assert_int_equal(str_utf8_seq("\xe2\x82\xac", 3), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid_lengths),
        cmocka_unit_test(test_utf8_strict_rejects),
        cmocka_unit_test(test_utf8_bounded_by_avail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
