/* test_toml.c — the TOML value layer (host/config/toml.h): value decoding of every
 * type, escapes, comments after values, rejected values and their exact messages; and
 * toml_read's key matching (dotted keys, quoted keys, inline tables, arrays of tables,
 * duplicates), its "file:line: key: what" messages, caller checks, the size limit and the
 * bytes TOML never allows. Whole-document rules (issue 10) are in test_toml_doc.c. */
#include <errno.h>
#include <math.h>
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
    struct evm_err err = {0};
    int r = toml_decode_value(text, strlen(text), &v, &err);
    if (r != 0)
        fail_msg("decoding <%s> failed: %s", text, err.msg);
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

/* The value must be rejected with -EINVAL, and the reason must contain `reason`. */
static void check_bad(const char *text, size_t len, const char *reason)
{
    struct toml_value v;
    struct evm_err err = {0};
    int r = toml_decode_value(text, len, &v, &err);
    if (r != -EINVAL)
        fail_msg("<%.*s> was accepted (r=%d)", (int)len, text, r);
    assert_int_equal(err.code, EINVAL);
    assert_int_equal(v.type, TOML_NONE);
    if (!strstr(err.msg, reason))
        fail_msg("<%.*s>: reason \"%s\" lacks \"%s\"", (int)len, text, err.msg, reason);
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
    check_int("5\r\n", 5); /* a CRLF line end */
    check_bad("5\r", 2, "carriage return (0x0d) not followed by a line feed");
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
    check_bad("0x8000000000000000", 18, "out of range");
    check_bad("+0x1", 4, "a sign before 0x");
    check_bad("0X1", 3, "invalid integer");
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
    check_bad("[1, 2", 5, "never closed");
    check_bad("[1, # c", 7, "never closed");
    check_bad("{a = 1", 6, "never closed");
    check_bad("{a 1}", 5, "expected '='");
    check_bad("[1, 2.]", 7, "invalid float \"2.\"");
    check_bad("[,]", 3, "missing value before ','");
    check_bad("[1,,]", 5, "missing value before ','");
    check_bad("{,}", 3, "missing key before ','");
    check_bad("{a = 1,,}", 9, "missing key before ','");
    check_bad("{a = 1, a = 2}", 14, "duplicate key");

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
    check_bad("\"a\0z\"", 5, "a NUL byte (0x00) at column 3");
    check_bad("\"a\nz\"", 5, "unterminated string");
    check_bad("'a\x1bz'", 5, "control character");
    check_bad("\"\xff\"", 3, "invalid UTF-8");
    check_bad("\"\xc0\xaf\"", 4, "invalid UTF-8");     /* overlong */
    check_bad("\"\xed\xa0\x80\"", 5, "invalid UTF-8"); /* surrogate */
    check_bad("\"\xe2\x82\"", 4, "invalid UTF-8");     /* truncated */
    check_bad("\"\"\"abc", 6, "multi-line string is never closed");
    check_bad("\"\\ \"", 4, "invalid escape sequence \"\\ \"");
    check_bad("\"\\x4\"", 5, "invalid escape sequence \"\\x\"");
    check_bad("\"x\" y", 5, "unexpected");
}

static void check_float(const char *text, double want)
{
    struct toml_value v = decode_ok(text);
    assert_int_equal(v.type, TOML_FLOAT);
    if (v.u.floating != want)
        fail_msg("<%s> decoded to %g, want %g", text, v.u.floating, want);
    toml_value_free(&v);
}

static void check_datetime(const char *text, const char *want)
{
    struct toml_value v = decode_ok(text);
    assert_int_equal(v.type, TOML_DATETIME);
    assert_string_equal(v.u.str.ptr, want);
    assert_int_equal(v.u.str.len, strlen(want));
    toml_value_free(&v);
}

static void test_floats(void **state)
{
    (void)state;
    check_float("1.5", 1.5);
    check_float("-0.25", -0.25);
    check_float("+1e3", 1000.0);
    check_float("1E-2", 0.01);
    check_float("6.626e-34", 6.626e-34);
    check_float("1_000.000_1", 1000.0001);
    check_float("0e0", 0.0);
    check_float("1e-400", 0.0); /* underflow is fine, as for the daemon */
    struct toml_value v = decode_ok("-inf");
    assert_int_equal(v.type, TOML_FLOAT);
    assert_true(isinf(v.u.floating) && v.u.floating < 0);
    v = decode_ok("nan");
    assert_true(isnan(v.u.floating));
    v = decode_ok("+nan");
    assert_true(isnan(v.u.floating));
    check_bad("1.", 2, "invalid float");
    check_bad("1.e3", 4, "invalid float");
    check_bad(".5", 2, "invalid value");
    check_bad("1e", 2, "invalid float");
    check_bad("1e_3", 4, "invalid float");
    check_bad("1_.5", 4, "invalid float");
    check_bad("00.5", 4, "leading zero");
    check_bad("-01.5", 5, "leading zero");
    check_bad("1.5.5", 5, "invalid float");
    check_bad("1e400", 5, "out of range");
    check_bad("-1e400", 6, "out of range");
    check_bad("infinity", 8, "invalid value");
    check_bad("NaN", 3, "invalid value");
}

static void test_datetimes(void **state)
{
    (void)state;
    check_datetime("1979-05-27T07:32:00Z", "1979-05-27T07:32:00Z");
    check_datetime("1979-05-27t07:32:00.999999z", "1979-05-27t07:32:00.999999z");
    check_datetime("1979-05-27 07:32:00-07:00", "1979-05-27 07:32:00-07:00");
    /* the daemon's Go takes any number of fraction digits and offsets up to 24:60 */
    check_datetime("1979-05-27T07:32:00.1234567891234+24:00",
                   "1979-05-27T07:32:00.1234567891234+24:00");
    check_datetime("1979-05-27T07:32:00", "1979-05-27T07:32:00");
    check_datetime("1979-05-27", "1979-05-27");
    check_datetime("07:32:00", "07:32:00");
    check_datetime("00:00:00.5", "00:00:00.5");
    /* TOML 1.1: seconds are optional */
    check_datetime("07:32", "07:32");
    check_datetime("1979-05-27 07:32", "1979-05-27 07:32");
    check_datetime("1979-05-27T07:32Z", "1979-05-27T07:32Z");
    check_datetime("2000-02-29", "2000-02-29");
    check_datetime("0000-02-29", "0000-02-29");
    check_datetime("1979-05-27 # a date, then a comment", "1979-05-27");
    check_bad("1900-02-29", 10, "invalid date/time");
    check_bad("2024-13-01", 10, "invalid date/time");
    check_bad("2024-00-10", 10, "invalid date/time");
    check_bad("2024-04-31", 10, "invalid date/time");
    check_bad("2024-1-01", 9, "invalid date/time");
    check_bad("7:32:00", 7, "invalid date/time");
    check_bad("07:60", 5, "invalid date/time");
    check_bad("07:32:60", 8, "invalid date/time");
    check_bad("07:32:00Z", 9, "invalid date/time");
    check_bad("07:32.5", 7, "invalid date/time");
    check_bad("07:32:00.", 9, "invalid date/time");
    check_bad("1979-05-27T", 11, "invalid date/time");
    check_bad("1979-05-27T07:32:00+25:00", 25, "invalid date/time");
    check_bad("1979-05-27T07:32:00+07", 22, "invalid date/time");
    check_bad("1979-05-27  07:32:00", 20, "invalid date/time");
    check_bad("1979-05-27x", 11, "invalid date/time \"1979-05-27x\"");
}

/* Values over several lines, TOML 1.1 escapes and inline tables. */
static void test_multiline_values(void **state)
{
    (void)state;
    check_str("\"\"\"\ndebug\"\"\"", "debug", 5);
    check_str("\"\"\"\r\ndebug\"\"\"", "debug", 5);
    check_str("'''\ndebug'''", "debug", 5);
    check_str("'''\n\ndebug\n'''", "\ndebug\n", 7);
    check_str("\"\"\"de\\\n   \n  bug\"\"\"", "debug", 5);
    check_str("\"\"\"de\\  \t\r\n  bug\"\"\"", "debug", 5);
    check_str("\"\"\"a\r\nb\"\"\"", "a\r\nb", 4); /* kept as written, like the daemon */
    check_str("\"\\e[1m\\x41\\x7f\"", "\x1b[1mA\x7f", 6);
    check_str("\"\\xe9\"", "\xc3\xa9", 2);
    struct toml_value v = decode_ok("[\n  1, # one\n  2,\n]\n");
    assert_int_equal(v.type, TOML_ARRAY);
    assert_int_equal(v.u.array.len, 2);
    assert_int_equal(v.u.array.items[1].u.integer, 2);
    toml_value_free(&v);
    v = decode_ok("{\n  a = 1, # c\n  b = { c = 'x', },\n}");
    assert_int_equal(v.type, TOML_TABLE);
    assert_int_equal(v.u.table.len, 2);
    assert_string_equal(v.u.table.items[1].key, "b");
    assert_string_equal(v.u.table.items[1].value.u.table.items[0].value.u.str.ptr, "x");
    toml_value_free(&v);
    v = decode_ok("[1, 2.5, 1979-05-27, 'x', [true], {}]");
    assert_int_equal(v.u.array.items[1].type, TOML_FLOAT);
    assert_int_equal(v.u.array.items[2].type, TOML_DATETIME);
    toml_value_free(&v);
    check_bad("\"\\x00\"", 6, "a NUL character in a string is not supported");
}

/* The value must be rejected with exactly this message. */
static void check_bad_exact(const char *text, size_t len, const char *msg)
{
    struct toml_value v;
    struct evm_err err = {0};
    int r = toml_decode_value(text, len, &v, &err);
    if (r != -EINVAL)
        fail_msg("<%.*s> was accepted (r=%d)", (int)len, text, r);
    assert_int_equal(v.type, TOML_NONE);
    assert_string_equal(err.msg, msg);
}

static void test_bad_keys_and_tables(void **state)
{
    (void)state;
    check_bad("\"\"\"a\"\"\"\"\"\"", 10, "too many quotes closing a multi-line string");
    check_bad("{'''a''' = 1}", 13, "a multi-line string cannot be a key");
    check_bad("{ = 1 }", 7, "missing key");
    check_bad("{ ! = 1 }", 9, "invalid key");
    check_bad("{a = 1,", 7, "never closed");
    check_bad("{a = 1 b = 2}", 13, "expected ',' or '}' in an inline table");
    check_bad("{\"a = 1}", 8, "unterminated string");
    check_bad("[1, {a = [2}]", 13, "expected ',' or ']' in an array");
}

static void test_decode_error_messages_exact(void **state)
{
    (void)state;
    /* the token is quoted: at most 36 bytes, then "...", each non-printable byte a '?' */
    check_bad_exact("abc", 3, "invalid value \"abc\"");
    check_bad_exact("a\x01"
                    "b",
                    3, "control character 0x01 at column 2: not allowed in TOML");
    check_bad_exact("bad\xff", 4, "invalid UTF-8 (byte 0xff) at column 4");
    check_bad_exact("+", 1, "invalid value \"+\"");
    check_bad_exact("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 36,
                    "invalid value \"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\"");
    check_bad_exact("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 37,
                    "invalid value \"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz...\"");
    check_bad_exact("0xgggggggggggggggggggggggggggggggggggggggg", 42,
                    "invalid integer \"0xgggggggggggggggggggggggggggggggggg...\"");
    check_bad_exact("012", 3, "invalid integer \"012\" (leading zero)");
    check_bad_exact("01.5", 4, "invalid float \"01.5\" (leading zero)");
    check_bad_exact("1e400", 5, "float \"1e400\" out of range");
    check_bad_exact("24:00:00", 8, "invalid date/time \"24:00:00\"");
    check_bad_exact("2024-02-30", 10, "invalid date/time \"2024-02-30\"");
    check_bad_exact("4x", 2, "invalid integer \"4x\"");
    check_bad_exact("9223372036854775808", 19, "integer \"9223372036854775808\" out of range");
    check_bad_exact("1 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 52,
                    "unexpected \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" after the value");
    check_bad_exact("\"a\x01z\"", 5, "control character 0x01 at column 3: not allowed in TOML");
    check_bad_exact("\"\\ud800\"", 8, "\\u escape is not a Unicode scalar value");
    check_bad_exact("\"\\U00110000\"", 12, "\\U escape is not a Unicode scalar value");
    check_bad_exact("[", 1, "multi-line value is never closed (it runs to the end of the file)");
    check_bad_exact("{a = 1 # }", 10,
                    "multi-line value is never closed (it runs to the end of the file)");
    check_bad_exact("[1 2]", 5, "expected ',' or ']' in an array, got \"2\"");
    check_bad_exact("", 0, "missing value");
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
    /* keys in an array of tables, or in an inline table in an array, are not ours */
    expect_cpus("[vm.linux]\ncpus = 19\n[[x]]\nvm.linux.cpus = 98\n"
                "[y]\nvm = [{ linux = { cpus = 97 } }]\n",
                19, 2);
}

static void test_read_errors(void **state)
{
    (void)state;
    expect_error("[vm.linux]\ncpus = 1\n\ncpus = 2\n", "t.toml:4: vm.linux.cpus", "line 2");
    expect_error("vm.linux.cpus = 1\n[vm]\nlinux = { cpus = 2 }\n", "t.toml:3: vm.linux.cpus",
                 "duplicate");
    expect_error("[vm.linux]\ncpus = abc\n", "t.toml:2: vm.linux.cpus", "invalid value");
    expect_error("[vm]\nlinux = 3\n", "t.toml:2: vm.linux", "expected a table");
    expect_error("[vm.linux]\ncpus 4\n", "t.toml:2: vm.linux.cpus", "expected '='");
    expect_error("[vm.linux]\ncpus: 4\n", "t.toml:2: vm.linux.cpus", "expected '='");
    /* junk lines and bad headers are invalid TOML: refused wherever they are */
    expect_error("[vm.linux]\ncpus = 18\njunk line here\n", "t.toml:3: vm.linux.junk",
                 "expected '=' after the key, got \"line\"");
    expect_error("[other]\nweird: thing\n", "t.toml:2: other.weird", "expected '='");
    expect_error("[other]\n= 3\n", "t.toml:2:", "missing key");
    expect_error("[bad header\ncpus = 99\n", "t.toml:1: bad",
                 "expected ']' after the table name, got \"header\"");
    expect_error("[a]\nb = [ 1,\n[vm.linux]\ncpus = 1\n", "t.toml:3: a.b",
                 "invalid value \"vm.linux\" (in the value that starts on line 2)");
    expect_error("[a]\nb = \"\"\"\ncpus = 1\n", "t.toml:2: a.b", "never closed");
    expect_error("[log]\nlevel = \"in\\qfo\"\n", "t.toml:2: log.level", "escape");
    expect_error("[vm.linux\ncpus = 1\n", "t.toml:1: vm.linux", "expected ']'");
    expect_error("[a]\n[ vm ] x\nlinux.cpus = 1\n", "t.toml:2: vm", "after the table header");
    expect_error("[[log]] ]\n", "t.toml:1: log", "unexpected \"]\"");
    expect_error("[[log] ]\n", "t.toml:1: log", "expected ']]'");
    expect_error("[ [log]]\n", "t.toml:1:", "invalid key");
    /* [[vm]] after [vm.linux] made vm a table */
    expect_error("[vm.linux]\ncpus = 19\n[[vm]]\nlinux.cpus = 98\n", "t.toml:3: vm",
                 "vm is a table (line 1), not an array of tables");

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

static void expect_message(const char *doc, const char *msg)
{
    struct toml_want w[W_COUNT];
    struct evm_err err;
    int r = read_doc(doc, w, &err);
    toml_wants_free(w, W_COUNT);
    if (r != -EINVAL)
        fail_msg("<%s> accepted (r=%d)", doc, r);
    assert_int_equal(err.code, EINVAL);
    assert_string_equal(err.msg, msg);
}

static void test_read_error_messages_exact(void **state)
{
    (void)state;
    expect_message("[vm.linux]\ncpus = 1\n\ncpus = 2\n",
                   "t.toml:4: vm.linux.cpus: duplicate key (first set on line 2, again on line 4)");
    expect_message("[vm.linux]\ncpus = abc # c\n",
                   "t.toml:2: vm.linux.cpus: invalid value \"abc\"");
    expect_message("[vm]\nlinux = 3\n", "t.toml:2: vm.linux: expected a table, got an integer");
    expect_message("[vm]\nlinux = { cpus = 1 x }\n",
                   "t.toml:2: vm.linux: expected ',' or '}' in an inline table, got \"x\"");
    expect_message("[vm.linux]\ncpus 4\n",
                   "t.toml:2: vm.linux.cpus: expected '=' after the key, got \"4\"");
    expect_message("[vm.linux\n",
                   "t.toml:1: vm.linux: expected ']' after the table name, got the end of the "
                   "line");
    /* the key of a value that never closes: its full path, each part at most 36 bytes */
    expect_message("[a]\nkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk = [\n",
                   "t.toml:2: a.kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...: multi-line value is never "
                   "closed (it runs to the end of the file)");
    expect_message("[a]\n\"b\xc3\xa9\" = '''\n",
                   "t.toml:2: a.\"b??\": multi-line string is never closed (it runs to the end of "
                   "the file)");
}

/* check_arg selects what the check does with a value that is not an even integer. */
enum check_mode { CM_MESSAGE, CM_RANGE, CM_SILENT };

static int check_even(const struct toml_value *v, const void *arg, struct evm_err *err)
{
    enum check_mode mode = *(const enum check_mode *)arg;
    if (v->type == TOML_INTEGER && v->u.integer % 2 == 0)
        return 0;
    if (mode == CM_SILENT)
        return -EINVAL;
    return evm_errf(err, mode == CM_RANGE ? ERANGE : EINVAL, "must be even, got %s",
                    toml_type_name(v->type));
}

static int read_checked(const char *doc, enum check_mode mode, struct evm_err *err, int *line)
{
    struct toml_want w = {.path = "vm.linux.cpus", .check = check_even, .check_arg = &mode};
    memset(err, 0, sizeof(*err));
    int r = toml_read("t.toml", doc, strlen(doc), &w, 1, err);
    *line = w.line;
    toml_wants_free(&w, 1);
    return r;
}

static void test_read_checks(void **state)
{
    (void)state;
    struct evm_err err;
    int line;
    assert_int_equal(read_checked("[vm.linux]\ncpus = 4\n", CM_MESSAGE, &err, &line), 0);
    assert_int_equal(line, 2);

    assert_int_equal(read_checked("[vm.linux]\ncpus = 3\n", CM_MESSAGE, &err, &line), -EINVAL);
    assert_string_equal(err.msg, "t.toml:2: vm.linux.cpus: must be even, got an integer");

    /* a value inside an inline table is checked the same way */
    assert_int_equal(read_checked("\n\nvm = { linux = { cpus = 'x' } }\n", CM_MESSAGE, &err, &line),
                     -EINVAL);
    assert_string_equal(err.msg, "t.toml:3: vm.linux.cpus: must be even, got a string");

    /* the check's own code is kept */
    assert_int_equal(read_checked("[vm.linux]\ncpus = 3\n", CM_RANGE, &err, &line), -ERANGE);
    assert_int_equal(err.code, ERANGE);
    assert_string_equal(err.msg, "t.toml:2: vm.linux.cpus: must be even, got an integer");

    /* a check that gives no reason */
    assert_int_equal(read_checked("[vm.linux]\ncpus = 3\n", CM_SILENT, &err, &line), -EINVAL);
    assert_string_equal(err.msg, "t.toml:2: vm.linux.cpus: invalid value");
}

static void test_read_size_limit(void **state)
{
    (void)state;
    char *doc = malloc(TOML_MAX_BYTES + 1);
    assert_non_null(doc);
    static const char head[] = "vm.linux.cpus = 2\n#";
    memcpy(doc, head, sizeof(head) - 1);
    memset(doc + sizeof(head) - 1, 'p', TOML_MAX_BYTES + 1 - (sizeof(head) - 1));
    struct toml_want w[W_COUNT];
    memset(w, 0, sizeof(w));
    w[W_CPUS].path = "vm.linux.cpus";
    w[W_MEM].path = "vm.linux.memory_mb";
    w[W_LEVEL].path = "log.level";
    struct evm_err err = {0};
    assert_int_equal(toml_read("t.toml", doc, TOML_MAX_BYTES, w, W_COUNT, &err), 0);
    assert_int_equal(w[W_CPUS].line, 1);
    toml_wants_free(w, W_COUNT);

    assert_int_equal(toml_read("t.toml", doc, TOML_MAX_BYTES + 1, w, W_COUNT, &err), -EFBIG);
    assert_int_equal(err.code, EFBIG);
    assert_string_equal(err.msg, "t.toml: 1048577 bytes, larger than the 1048576-byte limit");
    assert_int_equal(w[W_CPUS].line, 0);
    assert_int_equal(w[W_CPUS].value.type, TOML_NONE);
    toml_wants_free(w, W_COUNT);
    free(doc);
}

/* A NUL byte is invalid TOML wherever it is: the error names its line and column, after a
 * long line too (issue 9: inih was handed 0x7f in its place; now no line with one reaches
 * inih at all). */
static void test_read_nul_in_unused_line_refused(void **state)
{
    (void)state;
    size_t n = 5000;
    char *doc = malloc(n + 64);
    assert_non_null(doc);
    size_t o = (size_t)sprintf(doc, "[vm.linux]\ncpus = 20\njunk = \"");
    memset(doc + o, 'x', n);
    doc[o + 10] = '\0';
    o += n;
    o += (size_t)sprintf(doc + o, "\"\n");
    struct toml_want w[W_COUNT];
    memset(w, 0, sizeof(w));
    w[W_CPUS].path = "vm.linux.cpus";
    w[W_MEM].path = "vm.linux.memory_mb";
    w[W_LEVEL].path = "log.level";
    struct evm_err err = {0};
    assert_int_equal(toml_read("t.toml", doc, o, w, W_COUNT, &err), -EINVAL);
    assert_string_equal(
        err.msg, "t.toml:3: vm.linux.junk: a NUL byte (0x00) at column 19: not allowed in TOML");
    assert_int_equal(w[W_CPUS].line, 0);
    toml_wants_free(w, W_COUNT);
    free(doc);
}

/* A NUL byte is named as what it is, with its column (issue 9: it was reported as "control
 * character 0x7f", the byte inih was handed in its place). */
static void expect_nul_message(const char *doc, size_t len, const char *msg)
{
    struct toml_want w[W_COUNT];
    memset(w, 0, sizeof(w));
    w[W_CPUS].path = "vm.linux.cpus";
    w[W_MEM].path = "vm.linux.memory_mb";
    w[W_LEVEL].path = "log.level";
    struct evm_err err = {0};
    int r = toml_read("t.toml", doc, len, w, W_COUNT, &err);
    toml_wants_free(w, W_COUNT);
    assert_int_equal(r, -EINVAL);
    assert_string_equal(err.msg, msg);
}

#define NUL_DOC(lit) lit, sizeof(lit) - 1

static void test_read_nul_named(void **state)
{
    (void)state;
    expect_nul_message(NUL_DOC("[log]\nlevel = \"in\0fo\"\n"),
                       "t.toml:2: log.level: a NUL byte (0x00) at column 12: not allowed in TOML");
    expect_nul_message(NUL_DOC("[log]\nlevel = 'in\0fo'\r\n"),
                       "t.toml:2: log.level: a NUL byte (0x00) at column 12: not allowed in TOML");
    expect_nul_message(
        NUL_DOC("# c\n[vm.linux]\ncpus = 2\0\n"),
        "t.toml:3: vm.linux.cpus: a NUL byte (0x00) at column 9: not allowed in TOML");
    expect_nul_message(
        NUL_DOC("[vm.linux]\ncpus = \0"
                "2\n"),
        "t.toml:2: vm.linux.cpus: a NUL byte (0x00) at column 8: not allowed in TOML");
    expect_nul_message(NUL_DOC("[log]\nlevel = \"info\" # a\0b\n"),
                       "t.toml:2: log.level: a NUL byte (0x00) at column 19: not allowed in TOML");
    /* in the key, the table header, an inline table */
    expect_nul_message(
        NUL_DOC("[vm.linux]\ncpus\0 = 2\n"),
        "t.toml:2: vm.linux.cpus: a NUL byte (0x00) at column 5: not allowed in TOML");
    expect_nul_message(NUL_DOC("[vm.linux\0]\ncpus = 2\n"),
                       "t.toml:1: vm.linux: a NUL byte (0x00) at column 10: not allowed in TOML");
    expect_nul_message(NUL_DOC("[vm]\nlinux = { cpus = 2, x = \"\0\" }\n"),
                       "t.toml:2: vm.linux.x: a NUL byte (0x00) at column 26: not allowed in TOML");
    expect_nul_message(NUL_DOC("a = 1\n\0"),
                       "t.toml:2: a NUL byte (0x00) at column 1: not allowed in TOML");
    /* A real DEL is still named as itself. */
    expect_nul_message(NUL_DOC("[log]\nlevel = \"in\x7f"
                               "fo\"\n"),
                       "t.toml:2: log.level: control character 0x7f at column 12: not allowed in "
                       "TOML");
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
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_datetimes),
        cmocka_unit_test(test_multiline_values),
        cmocka_unit_test(test_bad_strings),
        cmocka_unit_test(test_bad_keys_and_tables),
        cmocka_unit_test(test_decode_error_messages_exact),
        cmocka_unit_test(test_read_key_forms),
        cmocka_unit_test(test_read_skips_unread_constructs),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_read_error_messages_exact),
        cmocka_unit_test(test_read_checks),
        cmocka_unit_test(test_read_size_limit),
        cmocka_unit_test(test_read_nul_in_unused_line_refused),
        cmocka_unit_test(test_read_nul_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
