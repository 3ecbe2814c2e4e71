/* test_toml_doc.c — toml_read over whole documents (issue 10): values under keys that are
 * not ours are only checked for syntax (A); values of ours spanning lines are decoded (B);
 * TOML 1.1 escapes in values, quoted keys and table headers (C); invalid TOML anywhere in
 * the document is refused with "file:line: key: what"; the key rules, including the
 * documents the daemon's parser (BurntSushi/toml v1.6.0) tolerates and how it then places
 * our keys; prefixes of our keys that are not tables; keys inih cannot split. Each expected
 * outcome was checked against BurntSushi/toml v1.6.0. */
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

/* Our keys, as hostcfg.c wants them. */
static const char *const paths[] = {
    "vm.linux.cpus",    "vm.linux.memory_mb", "vm.linux.disk_size_gb",
    "vm.linux.swap_mb", "dind.enabled",       "dind.allow_privileged",
    "log.level",        "log.format",
};
#define NPATHS (sizeof(paths) / sizeof(paths[0]))

struct doc {
    struct toml_want w[NPATHS];
    struct evm_err err;
    int rc;
};

static void read_len(struct doc *d, const char *text, size_t len)
{
    memset(d, 0, sizeof(*d));
    for (size_t i = 0; i < NPATHS; i++)
        d->w[i].path = paths[i];
    d->rc = toml_read("t.toml", text, len, d->w, NPATHS, &d->err);
}

static const struct toml_want *want(const struct doc *d, const char *path)
{
    for (size_t i = 0; i < NPATHS; i++)
        if (strcmp(paths[i], path) == 0)
            return &d->w[i];
    fail_msg("no wanted key %s", path);
    return NULL;
}

/* The document is accepted; its wanted key path holds type `type` set on line `line`. */
static const struct toml_value *accepted(struct doc *d, const char *text, const char *path,
                                         enum toml_type type, int line)
{
    read_len(d, text, strlen(text));
    if (d->rc != 0)
        fail_msg("<%s> refused: %s", text, d->err.msg);
    const struct toml_want *w = want(d, path);
    if (w->value.type != type || w->line != line)
        fail_msg("<%s>: %s is %s on line %d, want %s on line %d", text, path,
                 toml_type_name(w->value.type), w->line, toml_type_name(type), line);
    return &w->value;
}

static void expect_int(const char *text, const char *path, int64_t v, int line)
{
    struct doc d;
    const struct toml_value *tv = accepted(&d, text, path, TOML_INTEGER, line);
    if (tv->u.integer != v)
        fail_msg("<%s>: %s = %lld, want %lld", text, path, (long long)tv->u.integer, (long long)v);
    toml_wants_free(d.w, NPATHS);
}

static void expect_bool(const char *text, const char *path, bool v, int line)
{
    struct doc d;
    const struct toml_value *tv = accepted(&d, text, path, TOML_BOOLEAN, line);
    assert_int_equal(tv->u.boolean, v);
    toml_wants_free(d.w, NPATHS);
}

static void expect_str(const char *text, const char *path, const char *v, int line)
{
    struct doc d;
    const struct toml_value *tv = accepted(&d, text, path, TOML_STRING, line);
    assert_string_equal(tv->u.str.ptr, v);
    assert_int_equal(tv->u.str.len, strlen(v));
    toml_wants_free(d.w, NPATHS);
}

/* Accepted, and none of our keys is set. */
static void expect_none(const char *text)
{
    struct doc d;
    read_len(&d, text, strlen(text));
    if (d.rc != 0)
        fail_msg("<%s> refused: %s", text, d.err.msg);
    for (size_t i = 0; i < NPATHS; i++)
        if (d.w[i].line)
            fail_msg("<%s>: %s set on line %d", text, paths[i], d.w[i].line);
    toml_wants_free(d.w, NPATHS);
}

static void expect_refused_len(const char *text, size_t len, const char *msg)
{
    struct doc d;
    read_len(&d, text, len);
    toml_wants_free(d.w, NPATHS);
    if (d.rc != -EINVAL)
        fail_msg("<%.*s> not refused (r=%d)", (int)len, text, d.rc);
    assert_int_equal(d.err.code, EINVAL);
    assert_string_equal(d.err.msg, msg);
    for (size_t i = 0; i < NPATHS; i++)
        assert_int_equal(d.w[i].line, 0);
}

static void expect_refused(const char *text, const char *msg)
{
    expect_refused_len(text, strlen(text), msg);
}

/* ---- A: values under keys that are not ours are only checked -------------------------- */

static void test_a_unrelated_values_in_our_tables(void **state)
{
    (void)state;
    expect_str("log = { level = \"info\", sample_rate = 0.5 }\n", "log.level", "info", 1);
    expect_none("vm = { windows = { memory = 1.5 } }\n");
    expect_int("[vm]\nlinux = {cpus=3, ratio=0.5}\n", "vm.linux.cpus", 3, 2);
    expect_none("log = { since = 2024-01-01 }\n");
    expect_none("dind = { x = \"\\u0000\" }\n");
    expect_bool("dind = { x = \"\\u0000\", enabled = true }\n", "dind.enabled", true, 1);
    expect_bool("dind = { x = \"\\x00\", y = 1979-05-27T07:32:00Z, z = inf, enabled = false }\n",
                "dind.enabled", false, 1);
}

static void test_a_deep_nesting_not_ours(void **state)
{
    (void)state;
    /* far deeper than TOML_MAX_DEPTH, which only bounds decoded values */
    enum { DEEP = 200 };
    char doc[4096];
    int n = snprintf(doc, sizeof(doc), "[vm]\nlinux = { cpus = 2, deep = ");
    for (int i = 0; i < DEEP; i++)
        doc[n++] = '[';
    for (int i = 0; i < DEEP; i++)
        doc[n++] = ']';
    n += snprintf(doc + n, sizeof(doc) - (size_t)n, ", t = ");
    for (int i = 0; i < DEEP; i++)
        n += snprintf(doc + n, sizeof(doc) - (size_t)n, "{a=");
    doc[n++] = '1';
    for (int i = 0; i < DEEP; i++)
        doc[n++] = '}';
    snprintf(doc + n, sizeof(doc) - (size_t)n, " }\n");
    expect_int(doc, "vm.linux.cpus", 2, 2);

    /* the same depth in a value of ours is an invalid value of ours */
    n = snprintf(doc, sizeof(doc), "[vm.linux]\ncpus = ");
    for (int i = 0; i < 40; i++)
        doc[n++] = '[';
    for (int i = 0; i < 40; i++)
        doc[n++] = ']';
    doc[n] = '\0';
    expect_refused(doc, "t.toml:2: vm.linux.cpus: nested more than 32 levels deep");
}

/* ---- B: values of ours spanning lines ------------------------------------------------- */

static void test_b_multiline_strings(void **state)
{
    (void)state;
    expect_str("[log]\nlevel = \"\"\"\ndebug\"\"\"\n", "log.level", "debug", 2);
    expect_str("[log]\nlevel = '''\ndebug'''\n", "log.level", "debug", 2);
    expect_str("[log]\nlevel = \"\"\"\\\n    debug\\\n    \"\"\"\n", "log.level", "debug", 2);
    expect_str("[log]\nlevel = \"\"\"de\\\n\n   bug\"\"\"\nformat = 'text'\n", "log.format", "text",
               5);
    expect_str("[log]\r\nlevel = \"\"\"\r\ndebug\"\"\"\r\n", "log.level", "debug", 2);
    /* a newline that is not the first stays: not a level */
    struct doc d;
    read_len(&d, "[log]\nlevel = \"\"\"\n\ndebug\"\"\"\n", 28);
    assert_int_equal(d.rc, 0);
    assert_string_equal(want(&d, "log.level")->value.u.str.ptr, "\ndebug");
    toml_wants_free(d.w, NPATHS);
}

static void test_b_multiline_arrays_and_tables(void **state)
{
    (void)state;
    expect_int("[vm]\nlinux = { cpus = 3, tags = [\n\"a\",\n] }\n", "vm.linux.cpus", 3, 2);
    expect_none("vm = { windows = [\n1,\n2,\n] }\n");
    /* TOML 1.1: newlines, comments and a trailing comma in inline tables */
    expect_bool("dind = {\n enabled = true\n}\n", "dind.enabled", true, 2);
    const char *doc = "[vm]\nlinux = {\n cpus = 3, # three\n # a comment line\n"
                      " memory_mb = 3000,\n}\n";
    expect_int(doc, "vm.linux.cpus", 3, 3);
    expect_int(doc, "vm.linux.memory_mb", 3000, 5);
    /* a value of ours that is an array over lines is decoded: its check sees an array */
    struct doc d;
    const struct toml_value *v =
        accepted(&d, "[vm.linux]\ncpus = [\n 1, # one\n 2 ]\n", "vm.linux.cpus", TOML_ARRAY, 2);
    assert_int_equal(v->u.array.len, 2);
    assert_int_equal(v->u.array.items[1].u.integer, 2);
    toml_wants_free(d.w, NPATHS);
}

/* ---- C: TOML 1.1 escapes ------------------------------------------------------------- */

static void test_c_escapes(void **state)
{
    (void)state;
    expect_bool("[\"d\\x69nd\"]\nenabled = true\n", "dind.enabled", true, 2);
    expect_bool("[\"\\x64ind\"]\n\"en\\u0061bled\" = true\n", "dind.enabled", true, 2);
    expect_str("[log]\nlevel = \"\\x69nfo\"\n", "log.level", "info", 2);
    expect_str("[log]\nx = \"\\e[1m\"\n\"\\e\" = 1\nformat = \"t\\u0065xt\"\n", "log.format",
               "text", 4);
    expect_str("\"log\".'level' = \"\\x74race\"\n", "log.level", "trace", 1);
}

/* ---- invalid TOML anywhere is refused ------------------------------------------------ */

static void test_refused_anywhere(void **state)
{
    (void)state;
    expect_refused("x = 1.\n", "t.toml:1: x: invalid float \"1.\"");
    expect_refused("x = 2024-13-01\n", "t.toml:1: x: invalid date/time \"2024-13-01\"");
    expect_refused("[other]\ns = \"abc\n[vm.linux]\ncpus = 2\n",
                   "t.toml:2: other.s: unterminated string");
    expect_refused("[vm.linux]\ncpus = 2\n[other]\na = 1\na = 2\n",
                   "t.toml:5: other.a: duplicate key (first set on line 4, again on line 5)");
    expect_refused("[other]\n[other]\n",
                   "t.toml:2: other: table defined twice (first on line 1, again on line 2)");
    expect_refused("[vm.linux]\ncpus = 2\n[other]\nx = [1 2]\n",
                   "t.toml:4: other.x: expected ',' or ']' in an array, got \"2\"");
    expect_refused("x = { a = 1 b = 2 }\n",
                   "t.toml:1: x: expected ',' or '}' in an inline table, got \"b\"");
    expect_refused("x = \"\\q\"\n", "t.toml:1: x: invalid escape sequence \"\\q\" in a string");
    expect_refused("x = 07:32:60\n", "t.toml:1: x: invalid date/time \"07:32:60\"");
    expect_refused("x = 1e400\n", "t.toml:1: x: float \"1e400\" out of range");
    expect_refused("x =\n1\n", "t.toml:1: x: missing value");
    expect_refused("x = 1 y = 2\n", "t.toml:1: x: unexpected \"y = 2\" after the value");
    expect_refused("x = 1 # fine\ny = 2 # \x01\n",
                   "t.toml:2: y: control character 0x01 at column 9: not allowed in TOML");
    expect_refused("# \xff\n", "t.toml:1: invalid UTF-8 (byte 0xff) at column 3");
    expect_refused("a = 1\r\nb = 2\rc = 3\n",
                   "t.toml:2: b: a carriage return (0x0d) not followed by a line feed at column 6: "
                   "not allowed in TOML");
    expect_refused("x = [\n 1,\n 2 3,\n]\n",
                   "t.toml:3: x: expected ',' or ']' in an array, got \"3\" (in the value that "
                   "starts on line 1)");
    expect_refused("x = {\n a = 1\n", "t.toml:1: x: multi-line value is never closed (it runs to "
                                      "the end of the file)");
    expect_refused("x = '''\nabc\n", "t.toml:1: x: multi-line string is never closed (it runs to "
                                     "the end of the file)");
}

/* ---- the key rules ------------------------------------------------------------------- */

static void test_key_rules(void **state)
{
    (void)state;
    expect_refused("a = {b = 1}\n[a]\n",
                   "t.toml:2: a: table defined twice (first on line 1, again on line 2)");
    expect_refused("a = 1\na.b = 2\n",
                   "t.toml:2: a.b: a is an integer (line 1), not a table: it cannot hold keys");
    expect_refused("[[a]]\n[a]\n", "t.toml:2: a: already defined as an array of tables on line 1");
    expect_refused("[a]\n[[a]]\n", "t.toml:2: a: a is a table (line 1), not an array of tables");
    expect_refused("a = [1]\n[[a]]\n",
                   "t.toml:2: a: a is an array (line 1), not an array of tables");
    expect_refused("x.y = 1\n[x.y]\n", "t.toml:2: x.y: already defined as an integer on line 1");
    expect_refused("x = { a.b = 1, a = {} }\n",
                   "t.toml:1: x.a: duplicate key (first set on line 1, again on line 1)");
    expect_refused("x = { a = { b = [{}], b.c = 1 } }\n",
                   "t.toml:1: x.a.b.c: x.a.b is not a table in this inline table");
    expect_refused("[vm.linux]\ncpus = 2\n[vm]\nlinux = { memory_mb = 3000 }\n",
                   "t.toml:4: vm.linux: duplicate key (first set on line 1, again on line 4)");
    /* arrays of tables: each [[x]] is a new element */
    expect_int("[[x]]\na = 1\n[[x]]\na = 2\n[x.sub]\na = 3\n[vm.linux]\ncpus = 4\n",
               "vm.linux.cpus", 4, 8);
}

/* Documents TOML 1.1 forbids but the daemon accepts: accepted, our keys where it puts them. */
static void test_daemon_tolerates(void **state)
{
    (void)state;
    expect_none("a = {b = 1}\na.c = 2\n");
    expect_none("[fruit]\napple.color = \"red\"\n[fruit.apple]\n");
    expect_none("a.b = 1\n[a]\n");
    expect_bool("dind.enabled = true\ndind = 5\n", "dind.enabled", true, 1);
    expect_bool("dind = []\ndind.enabled = true\n", "dind.enabled", true, 2);
    expect_int("vm = { linux = { cpus = 2 } }\nvm.linux.memory_mb = 3000\n", "vm.linux.memory_mb",
               3000, 2);
    expect_int("vm = { linux = { cpus = 2 } }\nvm.linux.memory_mb = 3000\n", "vm.linux.cpus", 2, 1);
    /* ... but not everything */
    expect_refused("a.b = 1\na.c = 2\n[a]\n",
                   "t.toml:3: a: table defined twice (first on line 1, again on line 3)");
}

/* ---- prefixes of our keys ------------------------------------------------------------ */

static void test_prefix_not_a_table(void **state)
{
    (void)state;
    expect_refused("vm = 3\n", "t.toml:1: vm: expected a table, got an integer");
    expect_refused("\n[[vm]]\n", "t.toml:2: vm: expected a table, got an array of tables");
    expect_refused("vm = [{linux = {cpus = 1}}]\n", "t.toml:1: vm: expected a table, got an array");
    expect_refused("[[vm.linux]]\ncpus = 2\n",
                   "t.toml:1: vm.linux: expected a table, got an array of tables");
    expect_refused("log = \"info\"\n", "t.toml:1: log: expected a table, got a string");
    /* a key of ours holding a table is set, and its check decides */
    struct doc d;
    accepted(&d, "[vm.linux.cpus]\n", "vm.linux.cpus", TOML_TABLE, 1);
    toml_wants_free(d.w, NPATHS);
    accepted(&d, "vm.linux.cpus = 1.5\n", "vm.linux.cpus", TOML_FLOAT, 1);
    toml_wants_free(d.w, NPATHS);
    accepted(&d, "[log]\nlevel = 07:32\n", "log.level", TOML_DATETIME, 2);
    toml_wants_free(d.w, NPATHS);
}

/* ---- what inih splits, and what it cannot ------------------------------------------- */

static void test_key_spellings(void **state)
{
    (void)state;
    /* quoted keys with '=' or ':' (inih splits at the first of them: read without it) */
    expect_int("[vm.linux]\n\"a=b\" = 1\n\"c:d\" = 2\ncpus = 4\n'e = f' = 3\n", "vm.linux.cpus", 4,
               4);
    expect_int("vm.linux.cpus = 7 # c = d : e\n", "vm.linux.cpus", 7, 1);
    expect_int("\"vm\".\"linux\".'cpus' = 8\n", "vm.linux.cpus", 8, 1);
    expect_int("[ vm . linux ]\n  cpus\t=\t9  \n", "vm.linux.cpus", 9, 2);
    expect_int("\xef\xbb\xbf[vm.linux]\r\ncpus = 5\r\n", "vm.linux.cpus", 5, 2);
    expect_int("\xff\xfe[vm.linux]\ncpus = 6\n", "vm.linux.cpus", 6, 2); /* as the daemon */
    expect_int("\"\" = 1\n[vm.linux]\n\"\" = 2\ncpus = 10\n", "vm.linux.cpus", 10, 4);
    expect_refused("[vm.linux]\n\"cpus\" = 1\ncpus = 2\n",
                   "t.toml:3: vm.linux.cpus: duplicate key (first set on line 2, again on line 3)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_unrelated_values_in_our_tables),
        cmocka_unit_test(test_a_deep_nesting_not_ours),
        cmocka_unit_test(test_b_multiline_strings),
        cmocka_unit_test(test_b_multiline_arrays_and_tables),
        cmocka_unit_test(test_c_escapes),
        cmocka_unit_test(test_refused_anywhere),
        cmocka_unit_test(test_key_rules),
        cmocka_unit_test(test_daemon_tolerates),
        cmocka_unit_test(test_prefix_not_a_table),
        cmocka_unit_test(test_key_spellings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
