/* test_toml.c — the TOML value layer (host/toml.h): value decoding of every supported
 * type, escapes, comments after values, rejected values; and toml_read's key matching
 * (dotted keys, quoted keys, inline tables, arrays of tables, duplicates, masking). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/toml.h"

static struct toml_value decode_ok(const char *text)
{
    struct toml_value v;
    char what[200];
    int r = toml_decode_value(text, strlen(text), &v, what, sizeof(what));
    if (r != 0)
        fail_msg("decoding <%s> failed: %s", text, what);
    return v;
}

static void check_str(const char *text, const char *want, size_t want_len)
{
    struct toml_value v = decode_ok(text);
    assert_int_equal(v.type, TOML_STRING);
    assert_int_equal(v.u.str.len, want_len);
    assert_memory_equal(v.u.str.ptr, want, want_len);
    assert_int_equal(strlen(v.u.str.ptr), want_len);
    toml_value_free(&v);
}

static void check_int(const char *text, int64_t want)
{
    struct toml_value v = decode_ok(text);
    assert_int_equal(v.type, TOML_INTEGER);
    if (v.u.integer != want)
        fail_msg("<%s> decoded to %lld, want %lld", text, (long long)v.u.integer, (long long)want);
    toml_value_free(&v);
}

/* The value must be rejected, and the reason must contain `reason`. */
static void check_bad(const char *text, size_t len, const char *reason)
{
    struct toml_value v;
    char what[200] = "";
    int r = toml_decode_value(text, len, &v, what, sizeof(what));
    if (r != -EINVAL)
        fail_msg("<%.*s> was accepted (r=%d)", (int)len, text, r);
    assert_int_equal(v.type, TOML_NONE);
    if (!strstr(what, reason))
        fail_msg("<%.*s>: reason \"%s\" lacks \"%s\"", (int)len, text, what, reason);
}

static void test_basic_strings(void **state)
{
    (void)state;
    check_str("\"hello\"", "hello", 5);
    check_str("\"\"", "", 0);
    check_str("\"q\\\"b\\\\s\"", "q\"b\\s", 5);
    check_str("\"a\\nb\\tc\\rd\"", "a\nb\tc\rd", 7);
    check_str("\"\\b\\f\"", "\b\f", 2);
    check_str("\"caf\\u00e9\"", "caf\xc3\xa9", 5);
    check_str("\"\\U0001F600\"", "\xf0\x9f\x98\x80", 4);
    check_str("\"\\u20AC\"", "\xe2\x82\xac", 3);
    check_str("\"caf\xc3\xa9 raw\"", "caf\xc3\xa9 raw", 9);
    check_str("\"tab\there\"", "tab\there", 8);
}

static void test_literal_and_multiline_strings(void **state)
{
    (void)state;
    check_str("'C:\\path\\n'", "C:\\path\\n", 9);
    check_str("''", "", 0);
    check_str("\"\"\"a\"b\"\"\"", "a\"b", 3);
    check_str("\"\"\"x\\ty\"\"\"", "x\ty", 3);
    check_str("'''it's'''", "it's", 4);
    check_str("\"\"\"ends in quotes\"\"\"\"\"", "ends in quotes\"\"", 16);
}

static void test_comments_after_values(void **state)
{
    (void)state;
    check_str("\"a#b\" # comment", "a#b", 3);
    check_str("'#' #x", "#", 1);
    check_str("\"x\"#no space", "x", 1);
    check_int("42 # the answer", 42);
    check_int("7\t#", 7);
    struct toml_value v = decode_ok("true # yes \"quoted\" [");
    assert_int_equal(v.type, TOML_BOOLEAN);
    assert_true(v.u.boolean);
    v = decode_ok("[1, \"#\"] # c");
    assert_int_equal(v.type, TOML_ARRAY);
    assert_int_equal(v.u.array.len, 2);
    assert_string_equal(v.u.array.items[1].u.str.ptr, "#");
    toml_value_free(&v);
    check_int("5\r", 5); /* a CR left at the end of a line */
}

static void test_integers(void **state)
{
    (void)state;
    check_int("0", 0);
    check_int("+17", 17);
    check_int("-42", -42);
    check_int("-0", 0);
    check_int("1_000_000", 1000000);
    check_int("0xff", 255);
    check_int("0xDEAD_beef", 0xdeadbeefLL);
    check_int("0o17", 15);
    check_int("0b1011", 11);
    check_int("9223372036854775807", INT64_MAX);
    check_int("-9223372036854775808", INT64_MIN);
    check_int("0x7fffffffffffffff", INT64_MAX);
}

static void test_bad_integers(void **state)
{
    (void)state;
    check_bad("1__0", 4, "invalid integer");
    check_bad("_1", 2, "invalid value");
    check_bad("1_", 2, "invalid integer");
    check_bad("01", 2, "invalid integer");
    check_bad("0x", 2, "invalid integer");
    check_bad("0xg1", 4, "invalid integer");
    check_bad("0b102", 5, "invalid integer");
    check_bad("9223372036854775808", 19, "out of range");
    check_bad("-9223372036854775809", 20, "out of range");
    check_bad("0x8000000000000000", 18, "invalid integer");
    check_bad("1.5", 3, "floats are not supported");
    check_bad("1e3", 3, "floats are not supported");
    check_bad("inf", 3, "floats are not supported");
    check_bad("-nan", 4, "floats are not supported");
    check_bad("2024-01-02", 10, "dates and times");
    check_bad("1 2", 3, "unexpected");
    check_bad("abc", 3, "invalid value");
    check_bad("", 0, "missing value");
    check_bad("   ", 3, "missing value");
}

static void test_booleans(void **state)
{
    (void)state;
    struct toml_value v = decode_ok("true");
    assert_int_equal(v.type, TOML_BOOLEAN);
    assert_true(v.u.boolean);
    v = decode_ok("false");
    assert_int_equal(v.type, TOML_BOOLEAN);
    assert_false(v.u.boolean);
    check_bad("True", 4, "invalid value");
    check_bad("tru", 3, "invalid value");
    check_bad("truex", 5, "invalid value");
    check_bad("yes", 3, "invalid value");
}

static void test_arrays_and_inline_tables(void **state)
{
    (void)state;
    struct toml_value v = decode_ok("[ 1, 2 ,3, ]");
    assert_int_equal(v.type, TOML_ARRAY);
    assert_int_equal(v.u.array.len, 3);
    assert_int_equal(v.u.array.items[2].u.integer, 3);
    toml_value_free(&v);

    v = decode_ok("[[1], ['a', \"b\"], [], [true]]");
    assert_int_equal(v.u.array.len, 4);
    assert_int_equal(v.u.array.items[1].type, TOML_ARRAY);
    assert_string_equal(v.u.array.items[1].u.array.items[1].u.str.ptr, "b");
    assert_int_equal(v.u.array.items[2].u.array.len, 0);
    toml_value_free(&v);

    v = decode_ok("{ a = 1, b.c = \"x\", \"q.d\" = {e = false} }");
    assert_int_equal(v.type, TOML_TABLE);
    assert_int_equal(v.u.table.len, 3);
    assert_string_equal(v.u.table.items[0].key, "a");
    assert_string_equal(v.u.table.items[1].key, "b.c");
    assert_false(v.u.table.items[1].opaque);
    assert_true(v.u.table.items[2].opaque); /* "q.d" is one key holding a dot */
    assert_int_equal(v.u.table.items[2].value.type, TOML_TABLE);
    toml_value_free(&v);

    v = decode_ok("{}");
    assert_int_equal(v.type, TOML_TABLE);
    assert_int_equal(v.u.table.len, 0);
    toml_value_free(&v);

    check_bad("[1 2]", 5, "expected ','");
    check_bad("[1, 2", 5, "not closed on this line");
    check_bad("[1, # c", 7, "not closed on this line");
    check_bad("{a = 1", 6, "not closed on this line");
    check_bad("{a 1}", 5, "expected '='");
    check_bad("[1, 2.5]", 8, "floats");

    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    check_bad(deep, sizeof(deep), "nested more than");
}

static void test_bad_strings(void **state)
{
    (void)state;
    check_bad("\"abc", 4, "unterminated string");
    check_bad("'abc", 4, "unterminated string");
    check_bad("\"a\\qb\"", 6, "invalid escape");
    check_bad("\"a\\", 3, "unterminated");
    check_bad("\"\\u12\"", 6, "invalid escape");
    check_bad("\"\\uD800\"", 8, "Unicode scalar");
    check_bad("\"\\U00110000\"", 12, "Unicode scalar");
    check_bad("\"\\u0000\"", 8, "NUL");
    check_bad("\"a\x01z\"", 5, "control character");
    check_bad("\"a\x7fz\"", 5, "control character");
    check_bad("\"a\0z\"", 5, "control character");
    check_bad("'a\x1bz'", 5, "control character");
    check_bad("\"\xff\"", 3, "invalid UTF-8");
    check_bad("\"\xc0\xaf\"", 4, "invalid UTF-8");     /* overlong */
    check_bad("\"\xed\xa0\x80\"", 5, "invalid UTF-8"); /* surrogate */
    check_bad("\"\xe2\x82\"", 4, "invalid UTF-8");     /* truncated */
    check_bad("\"\"\"abc", 6, "multi-line string not closed");
    check_bad("\"x\" y", 5, "unexpected");
}

/* ---- toml_read ---------------------------------------------------------------------- */

enum { W_CPUS, W_MEM, W_LEVEL, W_COUNT };

static int read_doc(const char *doc, struct toml_want *w, struct evm_err *err)
{
    memset(w, 0, sizeof(*w) * W_COUNT);
    w[W_CPUS].path = "vm.linux.cpus";
    w[W_MEM].path = "vm.linux.memory_mb";
    w[W_LEVEL].path = "log.level";
    memset(err, 0, sizeof(*err));
    return toml_read("t.toml", doc, strlen(doc), w, W_COUNT, err);
}

static void expect_cpus(const char *doc, int64_t cpus, int line)
{
    struct toml_want w[W_COUNT];
    struct evm_err err;
    int r = read_doc(doc, w, &err);
    if (r != 0)
        fail_msg("<%s>: %s", doc, err.msg);
    if (w[W_CPUS].line != line || w[W_CPUS].value.type != TOML_INTEGER ||
        w[W_CPUS].value.u.integer != cpus)
        fail_msg("<%s>: cpus line %d type %d, want %lld at line %d", doc, w[W_CPUS].line,
                 w[W_CPUS].value.type, (long long)cpus, line);
    toml_wants_free(w, W_COUNT);
}

static void expect_error(const char *doc, const char *a, const char *b)
{
    struct toml_want w[W_COUNT];
    struct evm_err err;
    int r = read_doc(doc, w, &err);
    toml_wants_free(w, W_COUNT);
    if (r != -EINVAL)
        fail_msg("<%s> accepted (r=%d)", doc, r);
    if (!strstr(err.msg, a) || (b && !strstr(err.msg, b)))
        fail_msg("<%s>: message \"%s\" lacks \"%s\" / \"%s\"", doc, err.msg, a, b ? b : "");
}

static void test_read_key_forms(void **state)
{
    (void)state;
    expect_cpus("[vm.linux]\ncpus = 2\n", 2, 2);
    expect_cpus("vm.linux.cpus = 3\n", 3, 1);
    expect_cpus("[vm]\nlinux.cpus = 4\n", 4, 2);
    expect_cpus("[vm]\nlinux . cpus=5 # five\n", 5, 2);
    expect_cpus("[ vm . \"linux\" ]\n'cpus' = 6\n", 6, 2);
    expect_cpus("[vm.linux]\n\"cpus\" = 7\n", 7, 2);
    expect_cpus("[vm]\nlinux = { cpus = 8, memory_mb = 1024 }\n", 8, 2);
    expect_cpus("vm = { linux = { cpus = 9 } }\n", 9, 1);
    expect_cpus("[vm.linux]\n\"a:b\" = 1\ncpus = 10\n", 10, 3);
    expect_cpus("[vm.linux]   # the VM\n  cpus\t=\t11  \n", 11, 2);
    /* keys that only look like ours */
    expect_cpus("[vm.linux]\ncpus = 1\n[\"vm.linux\"]\ncpus = 99\n[vm.linux.x]\ncpus = 98\n", 1, 2);
    expect_cpus("[vm.linux]\ncpus = 1\n[other]\nvm.linux.cpus = 97\n", 1, 2);
    /* a section name longer than inih keeps (49 bytes) */
    expect_cpus("[vm.linux.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n"
                "cpus = 96\n[vm.linux]\ncpus = 12\n",
                12, 4);
}

static void test_read_skips_unread_constructs(void **state)
{
    (void)state;
    expect_cpus("[[runner]]\nname = \"a\"\ncpus = 50\n[[runner]]\nname = 'b'\n"
                "[vm.linux]\ncpus = 13\n[[runner]]\ncpus = 51\n",
                13, 7);
    expect_cpus("[other]\nlist = [\n  1, # one ]\n  \"]\", '[',\n  [2, 3],\n]\n"
                "[vm.linux]\ncpus = 14\n",
                14, 8);
    expect_cpus("[other]\ns = \"\"\"\n[vm.linux]\ncpus = 99\n\\\"\"\" still in\n\"\"\"\n"
                "[vm.linux]\ncpus = 15\n",
                15, 8);
    expect_cpus("[other]\ns = '''\n[vm.linux]\ncpus = 99\n'''\n[vm.linux]\ncpus = 16\n", 16, 7);
    expect_cpus("[other]\nt = { a = 1,\n  b = [\n 2 ],\n}\n[vm.linux]\ncpus = 17\n", 17, 7);
    expect_cpus("[vm.linux]\ncpus = 18\njunk line here\nweird: thing\n= 3\n[bad header\n"
                "cpus = 99\n",
                18, 2);
    /* keys under an array of tables at (or above) our table are not ours */
    expect_cpus("[vm.linux]\ncpus = 19\n[[vm]]\nlinux.cpus = 98\n[vm.linux]\ncpus = 97\n", 19, 2);
}

static void test_read_errors(void **state)
{
    (void)state;
    expect_error("[vm.linux]\ncpus = 1\n\ncpus = 2\n", "t.toml:4: vm.linux.cpus", "line 2");
    expect_error("vm.linux.cpus = 1\n[vm]\nlinux = { cpus = 2 }\n", "t.toml:3: vm.linux.cpus",
                 "duplicate");
    expect_error("[vm.linux]\ncpus = abc\n", "t.toml:2: vm.linux.cpus", "invalid value");
    expect_error("[vm.linux]\ncpus = [\n 1 ]\n", "t.toml:2: vm.linux.cpus", "next lines");
    expect_error("[vm]\nlinux = 3\n", "t.toml:2: vm.linux", "expected a table");
    expect_error("[vm]\nlinux = {\n cpus = 1 }\n", "t.toml:2: vm.linux", "next lines");
    expect_error("[vm.linux]\ncpus 4\n", "t.toml:2: vm.linux.cpus", "key = value");
    expect_error("[vm.linux]\ncpus: 4\n", "t.toml:2: vm.linux.cpus", "key = value");
    expect_error("[a]\nb = [ 1,\n[vm.linux]\ncpus = 1\n", "t.toml:2: b", "never closed");
    expect_error("[a]\nb = \"\"\"\ncpus = 1\n", "t.toml:2: b", "never closed");
    expect_error("[log]\nlevel = \"in\\qfo\"\n", "t.toml:2: log.level", "escape");
    expect_error("[vm.linux\ncpus = 1\n", "t.toml:1: vm.linux", "table header");
    expect_error("[a]\n[ vm ] x\nlinux.cpus = 1\n", "t.toml:2: vm", "table header");
    expect_error("[[log]] ]\n", "t.toml:1: log", "table header");

    /* a NUL byte in a wanted value */
    static const char doc[] = "[vm.linux]\ncpus = 1\0\n[log]\nlevel = 'x'\n";
    struct toml_want w[W_COUNT];
    memset(w, 0, sizeof(w));
    w[W_CPUS].path = "vm.linux.cpus";
    w[W_MEM].path = "vm.linux.memory_mb";
    w[W_LEVEL].path = "log.level";
    struct evm_err err = {0};
    assert_int_equal(toml_read("t.toml", doc, sizeof(doc) - 1, w, W_COUNT, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "t.toml:2: vm.linux.cpus"));
    toml_wants_free(w, W_COUNT);
}

static void test_read_nul_in_unused_line_keeps_line_numbers(void **state)
{
    (void)state;
    /* A NUL in a long unused line must not shift later line numbers. */
    size_t n = 5000;
    char *doc = malloc(n + 64);
    assert_non_null(doc);
    size_t o = (size_t)sprintf(doc, "junk = \"");
    memset(doc + o, 'x', n);
    doc[o + 10] = '\0';
    o += n;
    o += (size_t)sprintf(doc + o, "\"\n[vm.linux]\ncpus = 20\n");
    struct toml_want w[W_COUNT];
    memset(w, 0, sizeof(w));
    w[W_CPUS].path = "vm.linux.cpus";
    w[W_MEM].path = "vm.linux.memory_mb";
    w[W_LEVEL].path = "log.level";
    struct evm_err err = {0};
    assert_int_equal(toml_read("t.toml", doc, o, w, W_COUNT, &err), 0);
    assert_int_equal(w[W_CPUS].line, 3);
    assert_int_equal(w[W_CPUS].value.u.integer, 20);
    toml_wants_free(w, W_COUNT);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_strings),
        cmocka_unit_test(test_literal_and_multiline_strings),
        cmocka_unit_test(test_comments_after_values),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_bad_integers),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_arrays_and_inline_tables),
        cmocka_unit_test(test_bad_strings),
        cmocka_unit_test(test_read_key_forms),
        cmocka_unit_test(test_read_skips_unread_constructs),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_read_nul_in_unused_line_keeps_line_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
