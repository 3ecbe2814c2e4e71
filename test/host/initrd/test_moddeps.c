/* test_moddeps.c — kernel-module dependency resolution (initrd/moddeps.c) on a small fake
 * modules.dep and modules.builtin in a temp dir: dependencies emitted first, visited
 * last-first, each module once across requests; the load-order text; '-' and '_' as the
 * same; built-in modules skipped; unknown names, cycles and dependencies without their own
 * line as errors naming the module; malformed modules.dep lines named by file:line; a
 * missing modules.builtin tolerated; an emitter failure stopping the walk. */
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

#include "initrd/moddeps.h"
#include "testutil.h"

/* a needs b and c (listed transitively, as depmod does), b needs c; d stands alone;
 * x needs y and z, listed in an order that shows the last-first visit. */
static const char DEP[] = "kernel/a/mod_a.ko: kernel/b/mod-b.ko kernel/c/mod_c.ko.xz\n"
                          "kernel/b/mod-b.ko: kernel/c/mod_c.ko.xz\n"
                          "kernel/c/mod_c.ko.xz:\n"
                          "kernel/d/mod_d.ko:\n"
                          "kernel/x/x.ko: kernel/y/y.ko kernel/z/z.ko\n"
                          "kernel/y/y.ko:\n"
                          "kernel/z/z.ko:\n"
                          "kernel/cy/cy1.ko: kernel/cy/cy2.ko\n"
                          "kernel/cy/cy2.ko: kernel/cy/cy1.ko\n"
                          "kernel/g/orphan.ko: kernel/g/ghost.ko\n";

struct fixture {
    char *dir;
    struct moddeps db;
    char emitted[1024]; /* "name=file@src;" per emitted module */
    int fail_on_emit;   /* fail when emitting this (1-based) module */
    int nemitted;
};

static void fx_init(struct fixture *f, const char *dep, const char *builtin)
{
    memset(f, 0, sizeof(*f));
    f->dir = tu_tmpdir();
    char *p = tu_path(f->dir, "modules.dep");
    tu_write(p, dep, strlen(dep));
    free(p);
    if (builtin) {
        p = tu_path(f->dir, "modules.builtin");
        tu_write(p, builtin, strlen(builtin));
        free(p);
    }
    moddeps_init(&f->db, f->dir);
}

static void fx_free(struct fixture *f)
{
    moddeps_free(&f->db);
    tu_rmrf(f->dir);
    free(f->dir);
}

static int record(void *ctx, const char *name, const char *file, const char *src, const char *where,
                  struct evm_err *err)
{
    struct fixture *f = ctx;
    if (++f->nemitted == f->fail_on_emit)
        return evm_errf(err, EEXIST, "%s: refusing %s", where, name);
    /* src is the module's path under the modules directory */
    const char *rel = src + strlen(f->dir);
    size_t n = strlen(f->emitted);
    snprintf(f->emitted + n, sizeof(f->emitted) - n, "%s=%s@%s;", name, file, rel);
    return 0;
}

static int add(struct fixture *f, const char *name, bool *builtin, struct evm_err *err)
{
    int r = moddeps_load(&f->db, err);
    return r < 0 ? r : moddeps_add(&f->db, name, "test.list:7", record, f, builtin, err);
}

static void expect_add(struct fixture *f, const char *name, bool want_builtin)
{
    bool builtin = !want_builtin;
    struct evm_err err = {0};
    if (add(f, name, &builtin, &err) < 0)
        fail_msg("module %s: %s", name, err.msg);
    assert_int_equal(builtin, want_builtin);
}

static void expect_add_error(struct fixture *f, const char *name, int code, const char *needle)
{
    bool builtin;
    struct evm_err err = {0};
    int r = add(f, name, &builtin, &err);
    if (r != -code || !strstr(err.msg, needle))
        fail_msg("module %s: got %d '%s', expected %d with '%s'", name, r, err.msg, -code, needle);
}

static const char *load_order(const struct fixture *f)
{
    size_t len;
    const char *s = moddeps_load_order(&f->db, &len);
    assert_int_equal(len, strlen(s));
    return s;
}

static void test_dependencies_first_each_once(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, DEP, "kernel/bi/builtin_mod.ko\n");
    assert_string_equal(load_order(&f), "");
    expect_add(&f, "mod_a", false);
    expect_add(&f, "mod_d", false);
    expect_add(&f, "mod-c", false); /* already in: nothing new */
    expect_add(&f, "mod_b", false); /* '_' finds mod-b.ko; already in */
    assert_string_equal(f.emitted, "mod_c=kernel/c/mod_c.ko.xz@/kernel/c/mod_c.ko.xz;"
                                   "mod_b=kernel/b/mod-b.ko@/kernel/b/mod-b.ko;"
                                   "mod_a=kernel/a/mod_a.ko@/kernel/a/mod_a.ko;"
                                   "mod_d=kernel/d/mod_d.ko@/kernel/d/mod_d.ko;");
    assert_string_equal(load_order(&f),
                        "kernel/c/mod_c.ko.xz:\n"
                        "kernel/b/mod-b.ko: kernel/c/mod_c.ko.xz\n"
                        "kernel/a/mod_a.ko: kernel/b/mod-b.ko kernel/c/mod_c.ko.xz\n"
                        "kernel/d/mod_d.ko:\n");
    fx_free(&f);
}

static void test_last_first(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, DEP, "");
    expect_add(&f, "x", false);
    /* modules.dep lists y then z; they are visited last-first, as modprobe loads them. */
    assert_string_equal(load_order(&f), "kernel/z/z.ko:\nkernel/y/y.ko:\n"
                                        "kernel/x/x.ko: kernel/y/y.ko kernel/z/z.ko\n");
    fx_free(&f);
}

static void test_builtin(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, DEP, "# comment\n\nkernel/bi/builtin-mod.ko\n  kernel/bi/other.ko  \n");
    expect_add(&f, "builtin_mod", true);
    expect_add(&f, "other", true);
    assert_string_equal(f.emitted, "");
    assert_string_equal(load_order(&f), "");
    fx_free(&f);

    /* Without modules.builtin nothing is built in: the name is unknown. */
    fx_init(&f, DEP, NULL);
    expect_add_error(&f, "builtin_mod", ENOENT, "neither in");
    expect_add(&f, "mod_d", false);
    fx_free(&f);
}

static void test_errors(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, DEP, "");
    expect_add_error(&f, "no_such", ENOENT, "test.list:7: module no_such: neither in");
    expect_add_error(&f, "cy1", ELOOP, "test.list:7: module cy1: dependency cycle");
    expect_add_error(&f, "orphan", ENOENT,
                     "module orphan depends on kernel/g/ghost.ko, which has no line");
    fx_free(&f);

    /* The emitter's failure stops the walk: the module and its dependents are not in the
     * load order. */
    fx_init(&f, DEP, "");
    f.fail_on_emit = 2;
    expect_add_error(&f, "mod_a", EEXIST, "test.list:7: refusing mod_b");
    assert_string_equal(load_order(&f), "kernel/c/mod_c.ko.xz:\n");
    fx_free(&f);
}

static void test_modules_dep_errors(void **state)
{
    (void)state;
    struct fixture f;
    /* A comment and a blank line count as lines. */
    fx_init(&f, "# depmod output\nkernel/a/a.ko:\n\nkernel/b/b.ko kernel/c/c.ko\n", "");
    bool builtin;
    struct evm_err err = {0};
    assert_int_equal(add(&f, "a", &builtin, &err), -EINVAL);
    char *want = tu_path(f.dir, "modules.dep:4: expected 'module.ko: deps...'");
    assert_string_equal(err.msg, want);
    free(want);
    fx_free(&f);

    /* No modules.dep at all. */
    f.dir = tu_tmpdir();
    moddeps_init(&f.db, f.dir);
    evm_err_clear(&err);
    assert_int_equal(moddeps_load(&f.db, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "run depmod first?"));
    assert_non_null(strstr(err.msg, "modules.dep"));
    fx_free(&f);
}

/* Load lists per class: paths under a prefix (the kernel version), a new list after each
 * take, modules emitted for an earlier list never repeated; lookups by name. */
static void test_prefix_take_lookup(void **state)
{
    (void)state;
    struct fixture f;
    fx_init(&f, DEP, "kernel/bi/builtin-mod.ko\n");
    moddeps_set_prefix(&f.db, "6.1.0-test/");
    expect_add(&f, "mod_b", false);
    size_t len;
    char *first = moddeps_take_load_order(&f.db, &len);
    assert_string_equal(first, "6.1.0-test/kernel/c/mod_c.ko.xz:\n"
                               "6.1.0-test/kernel/b/mod-b.ko: 6.1.0-test/kernel/c/mod_c.ko.xz\n");
    assert_int_equal(len, strlen(first));
    free(first);
    assert_null(moddeps_take_load_order(&f.db, &len));
    assert_int_equal(len, 0);
    expect_add(&f, "mod_a", false); /* mod-b and mod_c came with the first list */
    char *second = moddeps_take_load_order(&f.db, &len);
    assert_string_equal(second, "6.1.0-test/kernel/a/mod_a.ko: 6.1.0-test/kernel/b/mod-b.ko "
                                "6.1.0-test/kernel/c/mod_c.ko.xz\n");
    free(second);
    assert_int_equal(moddeps_lookup(&f.db, "mod-a"), MODDEPS_MODULE);
    assert_int_equal(moddeps_lookup(&f.db, "builtin_mod"), MODDEPS_BUILTIN);
    assert_int_equal(moddeps_lookup(&f.db, "no_such"), MODDEPS_UNKNOWN);
    fx_free(&f);
}

static void test_name(void **state)
{
    (void)state;
    struct evm_err err = {0};
    const char *cases[][2] = {
        {"kernel/drivers/hid/hyperv-keyboard.ko.xz", "hyperv_keyboard"},
        {"virtio_blk.ko", "virtio_blk"},
        {"hyperv-keyboard", "hyperv_keyboard"},
        {"kernel/fs/ext4/ext4.ko.zst", "ext4"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *name = NULL;
        assert_int_equal(moddeps_name(cases[i][0], &name, &err), 0);
        assert_string_equal(name, cases[i][1]);
        free(name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dependencies_first_each_once),
        cmocka_unit_test(test_last_first),
        cmocka_unit_test(test_builtin),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_modules_dep_errors),
        cmocka_unit_test(test_prefix_take_lookup),
        cmocka_unit_test(test_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
