/* test_baselist.c — the base initrd list parser (initrd/baselist.c): each directive with
 * its fields, in order; blank, comment and indented lines; sources relative to the list's
 * directory; and every syntax error starting with the list's file:line (unknown directive,
 * wrong field count, too many fields, bad destination, bad mode, a module given as a
 * path), plus a callback's error stopping the parse. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "initrd/baselist.h"
#include "testutil.h"

struct seen {
    char text[2048]; /* "where kind dest mode arg\n" per directive */
    int stop_at;     /* fail on this (1-based) directive */
    int n;
};

static const char *kind_name(enum baselist_kind k)
{
    static const char *const names[] = {"dir", "init", "rootfs", "link", "module", "file", "bin"};
    return names[k];
}

static int record(void *ctx, const struct baselist_directive *d, const char *where,
                  struct evm_err *err)
{
    struct seen *s = ctx;
    if (++s->n == s->stop_at)
        return evm_errf(err, EEXIST, "%s: stopped", where);
    const char *w = strrchr(where, '/'); /* the list's name, without the temp dir */
    size_t n = strlen(s->text);
    static const char *const when[] = {"", " later", " demand"};
    snprintf(s->text + n, sizeof(s->text) - n, "%s %s %s %04o %s%s%s\n", w ? w + 1 : where,
             kind_name(d->kind), d->dest ? d->dest : "-", d->mode, d->arg ? d->arg : "-",
             d->kind == BASELIST_MODULE ? when[d->when] : "",
             d->kind == BASELIST_MODULE && d->optional ? " optional" : "");
    return 0;
}

/* Writes text as dir/t.list and parses it; returns the parse's result. */
static int parse(const char *dir, const char *text, struct seen *s, struct evm_err *err)
{
    char *list = tu_path(dir, "t.list");
    tu_write(list, text, strlen(text));
    int r = baselist_parse(list, record, s, err);
    free(list);
    return r;
}

static void test_directives(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct seen s = {.n = 0};
    struct evm_err err = {0};
    const char *text = "# a comment\n"
                       "\n"
                       "dir /proc 0555\n"
                       "  dir\t/tmp   1777  \r\n"
                       "   # an indented comment\n"
                       "init /init\n"
                       "link /sbin/poweroff /init\n"
                       "module hyperv-keyboard\n"
                       "file /etc/hello hello.txt 600\n"
                       "bin /sbin/mkfs.ext4 /sbin/mkfs.ext4\n"
                       "rootfs /assets/rootfs.tar.gz\n"
                       "module veth later\n"
                       "module tun demand\n"
                       "module nft_reject_inet later optional\n"
                       "module af_packet optional"; /* no final newline */
    if (parse(dir, text, &s, &err) < 0)
        fail_msg("%s", err.msg);
    char *hello = tu_path(dir, "hello.txt");
    char want[2048];
    snprintf(want, sizeof(want),
             "t.list:3 dir proc 0555 -\n"
             "t.list:4 dir tmp 1777 -\n"
             "t.list:6 init init 0000 -\n"
             "t.list:7 link sbin/poweroff 0000 /init\n"
             "t.list:8 module - 0000 hyperv-keyboard\n"
             "t.list:9 file etc/hello 0600 %s\n"
             "t.list:10 bin sbin/mkfs.ext4 0000 /sbin/mkfs.ext4\n"
             "t.list:11 rootfs assets/rootfs.tar.gz 0000 -\n"
             "t.list:12 module - 0000 veth later\n"
             "t.list:13 module - 0000 tun demand\n"
             "t.list:14 module - 0000 nft_reject_inet later optional\n"
             "t.list:15 module - 0000 af_packet optional\n",
             hello);
    assert_string_equal(s.text, want);
    free(hello);
    tu_rmrf(dir);
    free(dir);
}

/* The error for one bad line after a good one names the list and line 3. */
static void expect_error(const char *dir, const char *line, int code, const char *needle)
{
    char text[256];
    snprintf(text, sizeof(text), "dir /proc 0555\n\n%s\n", line);
    struct seen s = {.n = 0};
    struct evm_err err = {0};
    int r = parse(dir, text, &s, &err);
    char *where = tu_path(dir, "t.list:3: ");
    if (r != -code || strncmp(err.msg, where, strlen(where)) != 0 || !strstr(err.msg, needle))
        fail_msg("'%s': got %d '%s', expected %d with '%s%s'", line, r, err.msg, -code, where,
                 needle);
    free(where);
    assert_int_equal(s.n, 1); /* the line before was handed over, nothing after */
}

static void test_errors_name_file_and_line(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    expect_error(dir, "frobnicate /x", EINVAL, "unknown directive 'frobnicate'");
    expect_error(dir, "dir /x", EINVAL, "expected 'dir PATH MODE'");
    expect_error(dir, "init", EINVAL, "expected 'init PATH'");
    expect_error(dir, "rootfs /a /b", EINVAL, "expected 'rootfs PATH'");
    expect_error(dir, "link /x", EINVAL, "expected 'link PATH TARGET'");
    expect_error(dir, "module", EINVAL, "expected 'module NAME [later|demand] [optional]'");
    expect_error(dir, "module a b", EINVAL, "module option 'b'");
    expect_error(dir, "module a later demand", EINVAL, "module option 'demand'");
    expect_error(dir, "module a optional optional", EINVAL, "module option 'optional'");
    expect_error(dir, "module a later optional x", EINVAL,
                 "expected 'module NAME [later|demand] [optional]'");
    expect_error(dir, "file /x y", EINVAL, "expected 'file PATH SOURCE MODE'");
    expect_error(dir, "bin /x", EINVAL, "expected 'bin PATH SOURCE'");
    expect_error(dir, "file /a b c d e f", EINVAL, "too many fields");
    expect_error(dir, "file etc/x y 0644", EINVAL, "'etc/x': destination must be an absolute");
    expect_error(dir, "link / /x", EINVAL, "'/': destination must be an absolute");
    expect_error(dir, "file /etc//x y 0644", EINVAL, "empty, '.' or '..' component");
    expect_error(dir, "file /etc/./x y 0644", EINVAL, "empty, '.' or '..' component");
    expect_error(dir, "file /etc/.. y 0644", EINVAL, "empty, '.' or '..' component");
    expect_error(dir, "dir /etc/ 0755", EINVAL, "empty, '.' or '..' component");
    expect_error(dir, "dir /etc 0789", EINVAL, "mode '0789': expected octal digits");
    expect_error(dir, "file /etc/x y 07777", EINVAL, "mode '07777': expected 1 to 4 octal");
    expect_error(dir, "module kernel/virtio.ko", EINVAL, "a module name, not a path");
    tu_rmrf(dir);
    free(dir);
}

static void test_callback_error_stops(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct seen s = {.stop_at = 2};
    struct evm_err err = {0};
    assert_int_equal(parse(dir, "dir /a 0755\ndir /b 0755\ndir /c 0755\n", &s, &err), -EEXIST);
    assert_non_null(strstr(err.msg, "t.list:2: stopped"));
    assert_int_equal(s.n, 2);
    tu_rmrf(dir);
    free(dir);
}

static void test_missing_list(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *list = tu_path(dir, "none.list");
    struct seen s = {.n = 0};
    struct evm_err err = {0};
    assert_int_equal(baselist_parse(list, record, &s, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "base initrd list"));
    assert_non_null(strstr(err.msg, "none.list"));
    assert_int_equal(s.n, 0);
    free(list);
    tu_rmrf(dir);
    free(dir);
}

static void test_sources(void **state)
{
    (void)state;
    /* Relative sources come from the list's directory, absolute ones are kept; a list
     * named without a directory takes them from ".". */
    char *dir = tu_tmpdir();
    char *list = tu_path(dir, "t.list");
    const char *text = "file /x src.txt 0644\nbin /y sub/tool\nfile /z /abs/z 0644\n";
    tu_write(list, text, strlen(text));
    struct seen s = {.n = 0};
    struct evm_err err = {0};
    assert_int_equal(baselist_parse(list, record, &s, &err), 0);
    char want[1024];
    snprintf(want, sizeof(want),
             "t.list:1 file x 0644 %s/src.txt\n"
             "t.list:2 bin y 0000 %s/sub/tool\n"
             "t.list:3 file z 0644 /abs/z\n",
             dir, dir);
    assert_string_equal(s.text, want);

    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    memset(&s, 0, sizeof(s));
    int r = baselist_parse("t.list", record, &s, &err);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(r, 0);
    assert_string_equal(s.text, "t.list:1 file x 0644 ./src.txt\n"
                                "t.list:2 bin y 0000 ./sub/tool\n"
                                "t.list:3 file z 0644 /abs/z\n");
    free(list);
    tu_rmrf(dir);
    free(dir);
}

static void test_dest(void **state)
{
    (void)state;
    const char *out = NULL;
    struct evm_err err = {0};
    assert_int_equal(baselist_dest("/lib64/ld-linux-x86-64.so.2", &out, "w", &err), 0);
    assert_string_equal(out, "lib64/ld-linux-x86-64.so.2");
    assert_int_equal(baselist_dest("relative", &out, "w", &err), -EINVAL);
    assert_string_equal(err.msg, "w: 'relative': destination must be an absolute path below /");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directives),
        cmocka_unit_test(test_errors_name_file_and_line),
        cmocka_unit_test(test_callback_error_stops),
        cmocka_unit_test(test_missing_list),
        cmocka_unit_test(test_sources),
        cmocka_unit_test(test_dest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
