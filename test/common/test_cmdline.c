/* test_cmdline.c — the kernel command-line builder and parser (common/cmdline.c): every
 * key's default, valid, boundary and bad values, warnings, quoting, builder token checks,
 * the length limit, the exact output for a known input, and the round trip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"

#define BID "0123456789abcdef0123456789abcdef"

struct warnings {
    int n;
    char last[256];
    char all[2048];
};

static void collect(void *ctx, const char *msg)
{
    struct warnings *w = ctx;
    w->n++;
    snprintf(w->last, sizeof(w->last), "%s", msg);
    size_t used = strlen(w->all);
    snprintf(w->all + used, sizeof(w->all) - used, "%s|", msg);
}

static void assert_params_equal(const struct boot_params *a, const struct boot_params *b)
{
    assert_int_equal(a->containerd_port, b->containerd_port);
    assert_string_equal(a->root_disk, b->root_disk);
    assert_int_equal(a->dind, b->dind);
    assert_int_equal(a->dind_allow_privileged, b->dind_allow_privileged);
    assert_string_equal(a->boot_id, b->boot_id);
    assert_int_equal(a->swap_mb, b->swap_mb);
    assert_int_equal(a->disk_timeout, b->disk_timeout);
    assert_int_equal(a->on_fatal, b->on_fatal);
}

static struct boot_params parse_ok(const char *line, struct warnings *w)
{
    struct boot_params p;
    struct evm_err err = {0};
    int r = cmdline_parse(line, &p, w ? collect : NULL, w, &err);
    if (r != 0)
        fail_msg("\"%s\" rejected: %s", line, err.msg);
    return p;
}

static void parse_bad(const char *line, const char *fragment)
{
    struct boot_params p;
    struct evm_err err = {0};
    int r = cmdline_parse(line, &p, NULL, NULL, &err);
    if (r != -EINVAL || err.code != EINVAL || !strstr(err.msg, fragment))
        fail_msg("\"%s\": expected -EINVAL with \"%s\", got %d \"%s\"", line, fragment, r, err.msg);
}

static int build(const struct boot_params *p, const char *const *x, size_t nx, char *buf,
                 size_t cap, struct evm_err *err)
{
    evm_err_clear(err);
    return cmdline_build(p, x, nx, buf, cap, err);
}

static void test_defaults(void **state)
{
    (void)state;
    struct boot_params p;
    memset(&p, 0x77, sizeof(p));
    boot_params_defaults(&p);
    assert_int_equal(p.containerd_port, 10000);
    assert_string_equal(p.root_disk, "");
    assert_false(p.dind);
    assert_false(p.dind_allow_privileged);
    assert_string_equal(p.boot_id, "");
    assert_int_equal(p.swap_mb, 4096);
    assert_int_equal(p.disk_timeout, 60);
    assert_int_equal(p.on_fatal, ON_FATAL_POWEROFF);

    /* parsing a line without ephemerd keys gives the defaults, no warnings */
    struct warnings w = {0};
    struct boot_params q = parse_ok("", &w);
    assert_params_equal(&p, &q);
    q = parse_ok("BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet ro init=/sbin/init foo.bar=1\n", &w);
    assert_params_equal(&p, &q);
    assert_int_equal(w.n, 0);
}

static void test_build_exact(void **state)
{
    (void)state;
    struct boot_params p;
    boot_params_defaults(&p);
    char buf[CMDLINE_MAX];
    struct evm_err err;
    assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), 0);
    assert_string_equal(buf, "rdinit=/init ephemerd.containerd_port=10000 ephemerd.swap_mb=4096 "
                             "ephemerd.disk_timeout=60 ephemerd.on_fatal=poweroff panic=-1 "
                             "console=ttyS0,115200");

    p.containerd_port = 12345;
    strcpy(p.root_disk, "/dev/sda");
    p.dind = true;
    p.dind_allow_privileged = true;
    strcpy(p.boot_id, BID);
    p.swap_mb = 0;
    p.disk_timeout = 5;
    p.on_fatal = ON_FATAL_SHELL;
    const char *extras[] = {"pci=off", "console=tty0"};
    assert_int_equal(build(&p, extras, 2, buf, sizeof(buf), &err), 0);
    assert_string_equal(buf, "rdinit=/init ephemerd.containerd_port=12345 "
                             "ephemerd.root_disk=/dev/sda ephemerd.dind=1 "
                             "ephemerd.dind_allow_privileged=1 ephemerd.boot_id=" BID " "
                             "ephemerd.swap_mb=0 ephemerd.disk_timeout=5 ephemerd.on_fatal=shell "
                             "panic=-1 console=ttyS0,115200 pci=off console=tty0");

    /* only allow_privileged set: dind is omitted */
    p.dind = false;
    assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), 0);
    assert_null(strstr(buf, "ephemerd.dind=1"));
    assert_non_null(strstr(buf, "ephemerd.dind_allow_privileged=1"));
}

static void test_port(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("ephemerd.containerd_port=1", NULL).containerd_port, 1);
    assert_int_equal(parse_ok("ephemerd.containerd_port=65535", NULL).containerd_port, 65535);
    assert_int_equal(parse_ok("ephemerd.containerd_port=2375", NULL).containerd_port, 2375);
    parse_bad("ephemerd.containerd_port=0", "ephemerd.containerd_port: invalid value \"0\"");
    parse_bad("ephemerd.containerd_port=65536",
              "ephemerd.containerd_port: invalid value \"65536\"");
    parse_bad("ephemerd.containerd_port=4294977296", "invalid value \"4294977296\"");
    parse_bad("ephemerd.containerd_port=-1", "invalid value \"-1\"");
    parse_bad("ephemerd.containerd_port=+80", "invalid value \"+80\"");
    parse_bad("ephemerd.containerd_port=80x", "invalid value \"80x\"");
    parse_bad("ephemerd.containerd_port=", "ephemerd.containerd_port: invalid value \"\"");
    parse_bad("ephemerd.containerd_port", "ephemerd.containerd_port has no value");

    struct boot_params p;
    boot_params_defaults(&p);
    char buf[CMDLINE_MAX];
    struct evm_err err;
    unsigned good[] = {1, 65535};
    for (size_t i = 0; i < 2; i++) {
        p.containerd_port = good[i];
        assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), 0);
    }
    unsigned bad[] = {0, 65536};
    for (size_t i = 0; i < 2; i++) {
        p.containerd_port = bad[i];
        assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), -EINVAL);
        assert_non_null(strstr(err.msg, "ephemerd.containerd_port"));
    }
}

static void test_swap_and_timeout(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("ephemerd.swap_mb=0", NULL).swap_mb, 0);
    assert_int_equal(parse_ok("ephemerd.swap_mb=1", NULL).swap_mb, 1);
    assert_int_equal(parse_ok("ephemerd.swap_mb=1048576", NULL).swap_mb, 1048576);
    parse_bad("ephemerd.swap_mb=1048577", "ephemerd.swap_mb: invalid value \"1048577\"");
    parse_bad("ephemerd.swap_mb=4294967296", "ephemerd.swap_mb: invalid value");
    parse_bad("ephemerd.swap_mb=99999999999999999999", "ephemerd.swap_mb: invalid value");
    parse_bad("ephemerd.swap_mb=4G", "ephemerd.swap_mb: invalid value \"4G\"");
    parse_bad("ephemerd.swap_mb", "ephemerd.swap_mb has no value");

    assert_int_equal(parse_ok("ephemerd.disk_timeout=1", NULL).disk_timeout, 1);
    assert_int_equal(parse_ok("ephemerd.disk_timeout=3600", NULL).disk_timeout, 3600);
    parse_bad("ephemerd.disk_timeout=0", "ephemerd.disk_timeout: invalid value \"0\"");
    parse_bad("ephemerd.disk_timeout=3601", "ephemerd.disk_timeout: invalid value \"3601\"");
    parse_bad("ephemerd.disk_timeout=1.5", "ephemerd.disk_timeout: invalid value \"1.5\"");

    struct boot_params p;
    boot_params_defaults(&p);
    char buf[CMDLINE_MAX];
    struct evm_err err;
    p.swap_mb = 1048577;
    assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), -EINVAL);
    assert_non_null(strstr(err.msg, "ephemerd.swap_mb"));
    p.swap_mb = 0;
    assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), 0);
    assert_non_null(strstr(buf, " ephemerd.swap_mb=0 "));
    p.disk_timeout = 0;
    assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), -EINVAL);
    assert_non_null(strstr(err.msg, "ephemerd.disk_timeout"));
    p.disk_timeout = 3601;
    assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), -EINVAL);
}

/* The swap key's limits, shared with the host config (vm.linux.swap_mb) through
 * CMDLINE_SWAP_MB_MAX, and the guest's swap rule as the host knows it: the smallest disk the
 * host config accepts (1 GiB) can still hold a swapfile. */
static void test_swap_limits_shared(void **state)
{
    (void)state;
    char line[64];
    snprintf(line, sizeof(line), "ephemerd.swap_mb=%u", CMDLINE_SWAP_MB_MAX);
    assert_int_equal(parse_ok(line, NULL).swap_mb, CMDLINE_SWAP_MB_MAX);
    snprintf(line, sizeof(line), "ephemerd.swap_mb=%u", CMDLINE_SWAP_MB_MAX + 1);
    parse_bad(line, "ephemerd.swap_mb: invalid value");
    struct boot_params p;
    boot_params_defaults(&p);
    char buf[CMDLINE_MAX];
    struct evm_err err;
    p.swap_mb = CMDLINE_SWAP_MB_MAX;
    assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), 0);
    assert_non_null(strstr(buf, " ephemerd.swap_mb=1048576 "));
    assert_true(CMDLINE_DEFAULT_SWAP_MB >= SWAP_MIN_MB);
    assert_true(CMDLINE_DEFAULT_SWAP_MB <= CMDLINE_SWAP_MB_MAX);
    assert_true(SWAP_MIN_MB * SWAP_FS_DIVISOR <= 1024u);
}

static void test_on_fatal(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("ephemerd.on_fatal=poweroff", NULL).on_fatal, ON_FATAL_POWEROFF);
    assert_int_equal(parse_ok("ephemerd.on_fatal=shell", NULL).on_fatal, ON_FATAL_SHELL);
    assert_int_equal(parse_ok("ephemerd.on_fatal=hang", NULL).on_fatal, ON_FATAL_HANG);
    parse_bad("ephemerd.on_fatal=reboot", "ephemerd.on_fatal: invalid value \"reboot\"");
    parse_bad("ephemerd.on_fatal=Shell", "invalid value \"Shell\"");
    parse_bad("ephemerd.on_fatal=shellx", "invalid value \"shellx\"");
    parse_bad("ephemerd.on_fatal=", "invalid value \"\"");
    assert_string_equal(on_fatal_name(ON_FATAL_POWEROFF), "poweroff");
    assert_string_equal(on_fatal_name(ON_FATAL_SHELL), "shell");
    assert_string_equal(on_fatal_name(ON_FATAL_HANG), "hang");
    assert_string_equal(on_fatal_name((enum on_fatal)7), "invalid");

    struct boot_params p;
    boot_params_defaults(&p);
    p.on_fatal = (enum on_fatal)3;
    char buf[CMDLINE_MAX];
    struct evm_err err;
    assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), -EINVAL);
    assert_non_null(strstr(err.msg, "ephemerd.on_fatal"));
    p.on_fatal = ON_FATAL_HANG;
    assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), 0);
    assert_non_null(strstr(buf, " ephemerd.on_fatal=hang "));
}

static void test_root_disk(void **state)
{
    (void)state;
    static const char *good[] = {"/dev/sda",  "/dev/vda", "/dev/nvme0n1",  "/dev/xvda1",
                                 "/dev/dm-0", "/dev/sdb", "/dev/mmcblk0p1"};
    char line[256];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(line, sizeof(line), "ephemerd.root_disk=%s", good[i]);
        assert_string_equal(parse_ok(line, NULL).root_disk, good[i]);
    }
    static const char *bad[] = {"/dev/",     "/dev/..",  "/dev/../sda", "/dev/sda/x",
                                "sda",       "/dev/SDA", "/dev/.x",     "/dev/-x",
                                "/dev//sda", "/sys/sda", "dev/sda",     "/dev/sd\"a"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(line, sizeof(line), "ephemerd.root_disk=%s", bad[i]);
        parse_bad(line, "ephemerd.root_disk: invalid value");
    }
    /* the field holds 63 characters: "/dev/" + 58 */
    char name[80];
    memset(name, 'a', sizeof(name));
    name[58] = '\0';
    snprintf(line, sizeof(line), "ephemerd.root_disk=/dev/%s", name);
    assert_int_equal(strlen(parse_ok(line, NULL).root_disk), 63);
    name[58] = 'a';
    name[59] = '\0';
    snprintf(line, sizeof(line), "ephemerd.root_disk=/dev/%s", name);
    parse_bad(line, "ephemerd.root_disk: invalid value");

    /* the builder refuses the same, and whitespace, quotes and control characters */
    static const char *bad_build[] = {"/dev/s a",
                                      "/dev/s\"a",
                                      "/dev/s'a",
                                      "/dev/s\ta",
                                      "/dev/s\na",
                                      "/dev/s\x01"
                                      "a",
                                      "/dev/../x",
                                      "/dev/sda/1",
                                      "sda",
                                      "/dev/s\x7f",
                                      "/dev/\xc3\xa9"};
    struct boot_params p;
    char buf[CMDLINE_MAX];
    struct evm_err err;
    for (size_t i = 0; i < sizeof(bad_build) / sizeof(bad_build[0]); i++) {
        boot_params_defaults(&p);
        strcpy(p.root_disk, bad_build[i]);
        assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), -EINVAL);
        assert_non_null(strstr(err.msg, "ephemerd.root_disk: invalid value"));
    }
    /* the message never carries raw control characters */
    boot_params_defaults(&p);
    strcpy(p.root_disk, "/dev/s\x1b[2J");
    assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), -EINVAL);
    assert_null(strchr(err.msg, '\x1b'));
    /* not NUL-terminated */
    memset(p.root_disk, 'a', sizeof(p.root_disk));
    assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), -EINVAL);
    assert_non_null(strstr(err.msg, "not terminated"));
    /* empty: not emitted */
    boot_params_defaults(&p);
    assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), 0);
    assert_null(strstr(buf, "root_disk"));
}

static void test_boot_id(void **state)
{
    (void)state;
    assert_string_equal(parse_ok("ephemerd.boot_id=" BID, NULL).boot_id, BID);
    parse_bad("ephemerd.boot_id=0123456789ABCDEF0123456789abcdef", "ephemerd.boot_id: invalid");
    parse_bad("ephemerd.boot_id=0123456789abcdef0123456789abcde", "ephemerd.boot_id: invalid");
    parse_bad("ephemerd.boot_id=0123456789abcdef0123456789abcdef0", "ephemerd.boot_id: invalid");
    parse_bad("ephemerd.boot_id=", "ephemerd.boot_id: invalid");
    parse_bad("ephemerd.boot_id", "ephemerd.boot_id has no value");

    struct boot_params p;
    boot_params_defaults(&p);
    strcpy(p.boot_id, "0123456789abcdef0123456789abcdeX");
    char buf[CMDLINE_MAX];
    struct evm_err err;
    assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), -EINVAL);
    assert_non_null(strstr(err.msg, "ephemerd.boot_id"));
}

static void test_dind_flags(void **state)
{
    (void)state;
    struct warnings w = {0};
    struct boot_params p = parse_ok("ephemerd.dind=1 ephemerd.dind_allow_privileged=1", &w);
    assert_true(p.dind);
    assert_true(p.dind_allow_privileged);
    assert_int_equal(w.n, 0);

    static const char *off[] = {"ephemerd.dind=0", "ephemerd.dind=yes", "ephemerd.dind=true",
                                "ephemerd.dind=",  "ephemerd.dind",     "ephemerd.dind=11"};
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
        memset(&w, 0, sizeof(w));
        p = parse_ok(off[i], &w);
        assert_false(p.dind);
        assert_int_equal(w.n, 1);
        assert_non_null(strstr(w.last, "ephemerd.dind"));
        assert_non_null(strstr(w.last, "treated as disabled"));
    }
    memset(&w, 0, sizeof(w));
    p = parse_ok("ephemerd.dind_allow_privileged=on", &w);
    assert_false(p.dind_allow_privileged);
    assert_non_null(strstr(w.last, "ephemerd.dind_allow_privileged=\"on\" is not 1"));

    /* last one wins, both ways */
    assert_true(parse_ok("ephemerd.dind=0 ephemerd.dind=1", NULL).dind);
    assert_false(parse_ok("ephemerd.dind=1 ephemerd.dind=0", NULL).dind);
}

static void test_repeated_keys_last_wins(void **state)
{
    (void)state;
    struct boot_params p = parse_ok("ephemerd.swap_mb=1 ephemerd.containerd_port=5 "
                                    "ephemerd.swap_mb=2 ephemerd.on_fatal=hang "
                                    "ephemerd.on_fatal=shell ephemerd.root_disk=/dev/vda "
                                    "ephemerd.root_disk=/dev/sda",
                                    NULL);
    assert_int_equal(p.swap_mb, 2);
    assert_int_equal(p.containerd_port, 5);
    assert_int_equal(p.on_fatal, ON_FATAL_SHELL);
    assert_string_equal(p.root_disk, "/dev/sda");
}

static void test_unknown_keys_warn(void **state)
{
    (void)state;
    struct warnings w = {0};
    struct boot_params p = parse_ok("quiet ephemerd.foo=1 ephemerd.swap_mb=7 ephemerd.bar "
                                    "ephemerd.containerd-port=1 Ephemerd.x=1 ephemerdx=1\n",
                                    &w);
    assert_int_equal(p.swap_mb, 7);
    assert_int_equal(w.n, 3);
    assert_string_equal(w.all, "unknown key ephemerd.foo ignored|unknown key ephemerd.bar "
                               "ignored|unknown key ephemerd.containerd-port ignored|");
    /* a NULL callback is fine */
    p = parse_ok("ephemerd.foo=1 ephemerd.dind=2", NULL);
    assert_false(p.dind);
    /* a long or hostile unknown name is shortened and sanitized in the warning */
    char line[512];
    memset(&w, 0, sizeof(w));
    snprintf(line, sizeof(line), "ephemerd.%0300d=1", 0);
    parse_ok(line, &w);
    assert_int_equal(w.n, 1);
    assert_true(strlen(w.last) < 120);
    assert_non_null(strstr(w.last, "..."));
    parse_ok("ephemerd.a\x1b"
             "b=1",
             &w);
    assert_int_equal(w.n, 2);
    assert_string_equal(w.last, "unknown key ephemerd.a?b ignored");
}

static void test_whitespace_and_quotes(void **state)
{
    (void)state;
    struct warnings w = {0};
    struct boot_params p =
        parse_ok("  rdinit=/init\tephemerd.swap_mb=9\n\n ephemerd.disk_timeout=7  \n", &w);
    assert_int_equal(p.swap_mb, 9);
    assert_int_equal(p.disk_timeout, 7);

    p = parse_ok("ephemerd.on_fatal=\"shell\" ephemerd.root_disk=\"/dev/vda\"", NULL);
    assert_int_equal(p.on_fatal, ON_FATAL_SHELL);
    assert_string_equal(p.root_disk, "/dev/vda");
    p = parse_ok("\"ephemerd.swap_mb=5\" \"ephemerd.dind=1\"", NULL);
    assert_int_equal(p.swap_mb, 5);
    assert_true(p.dind);
    /* someone else's quoted value with spaces does not split into tokens */
    p = parse_ok("foo=\"a b ephemerd.swap_mb=1 c\" ephemerd.swap_mb=3", &w);
    assert_int_equal(p.swap_mb, 3);
    assert_int_equal(w.n, 0);
    /* a quoted ephemerd value with whitespace is parsed, then found invalid */
    parse_bad("ephemerd.root_disk=\"/dev/sda x\"",
              "ephemerd.root_disk: invalid value \"/dev/sda x\"");
    parse_bad("ephemerd.on_fatal=\"shell \"", "ephemerd.on_fatal: invalid value \"shell \"");
    parse_bad("ephemerd.containerd_port=\"1 2\"", "invalid value \"1 2\"");
    /* a quote left inside the value stays and makes it invalid */
    parse_bad("ephemerd.on_fatal=sh\"ell\"", "invalid value \"sh\"ell\"\"");
    /* an unterminated quote runs to the end of the line */
    parse_bad("ephemerd.on_fatal=\"shell ephemerd.swap_mb=1", "ephemerd.on_fatal: invalid");
    /* "--" ends the kernel's parameters: what follows is init's */
    p = parse_ok("ephemerd.swap_mb=1 -- ephemerd.swap_mb=2 ephemerd.on_fatal=bogus", NULL);
    assert_int_equal(p.swap_mb, 1);
}

static void test_parse_failure_leaves_output_untouched(void **state)
{
    (void)state;
    struct boot_params p;
    memset(&p, 0x5a, sizeof(p));
    struct boot_params copy = p;
    struct evm_err err = {0};
    assert_int_equal(
        cmdline_parse("ephemerd.swap_mb=1 ephemerd.containerd_port=0", &p, NULL, NULL, &err),
        -EINVAL);
    assert_memory_equal(&p, &copy, sizeof(p));
    assert_int_equal(cmdline_parse(NULL, &p, NULL, NULL, &err), -EINVAL);
}

static void test_build_extras(void **state)
{
    (void)state;
    struct boot_params p;
    boot_params_defaults(&p);
    char buf[CMDLINE_MAX];
    struct evm_err err;
    static const char *bad[] = {"a b",   "a\tb",  "a\nb", "a\"b",    "'a'",
                                "a\x01", "a\x7f", "",     "\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *x[] = {"pci=off", bad[i]};
        assert_int_equal(build(&p, x, 2, buf, sizeof(buf), &err), -EINVAL);
        assert_non_null(strstr(err.msg, "kernel command-line extra"));
        assert_non_null(strstr(err.msg, "whitespace, quotes or control"));
    }
    const char *nul[] = {NULL};
    assert_int_equal(build(&p, nul, 1, buf, sizeof(buf), &err), -EINVAL);
    assert_non_null(strstr(err.msg, "NULL"));
    assert_int_equal(build(&p, NULL, 1, buf, sizeof(buf), &err), -EINVAL);
    const char *ours[] = {"ephemerd.swap_mb=1"};
    assert_int_equal(build(&p, ours, 1, buf, sizeof(buf), &err), -EINVAL);
    assert_non_null(strstr(err.msg, "override an ephemerd key"));
}

static void test_build_length_limit(void **state)
{
    (void)state;
    struct boot_params p;
    boot_params_defaults(&p);
    strcpy(p.root_disk, "/dev/sda");
    strcpy(p.boot_id, BID);
    char buf[CMDLINE_MAX];
    struct evm_err err;
    assert_int_equal(build(&p, NULL, 0, buf, sizeof(buf), &err), 0);
    size_t base = strlen(buf);

    /* one extra filling the line to exactly CMDLINE_MAX - 1 characters fits ... */
    size_t xlen = CMDLINE_MAX - 1 - base - 1;
    char *x = malloc(xlen + 2);
    assert_non_null(x);
    memset(x, 'x', xlen + 1);
    x[xlen] = '\0';
    const char *extras[] = {x};
    assert_int_equal(build(&p, extras, 1, buf, sizeof(buf), &err), 0);
    assert_int_equal(strlen(buf), CMDLINE_MAX - 1);
    /* ... with a smaller buffer it is -ENOSPC, not -E2BIG */
    assert_int_equal(build(&p, extras, 1, buf, CMDLINE_MAX - 1, &err), -ENOSPC);
    /* ... one more character does not */
    x[xlen] = 'x';
    x[xlen + 1] = '\0';
    assert_int_equal(build(&p, extras, 1, buf, sizeof(buf), &err), -E2BIG);
    assert_int_equal(err.code, E2BIG);
    assert_non_null(strstr(err.msg, "2048"));
    free(x);

    /* many small extras overflow too */
    const char *many[400];
    for (size_t i = 0; i < 400; i++)
        many[i] = "nokaslr";
    assert_int_equal(build(&p, many, 400, buf, sizeof(buf), &err), -E2BIG);
}

static void check_round_trip(const struct boot_params *p, const char *const *x, size_t nx)
{
    char buf[CMDLINE_MAX];
    struct evm_err err = {0};
    if (cmdline_build(p, x, nx, buf, sizeof(buf), &err) != 0)
        fail_msg("build failed: %s", err.msg);
    struct warnings w = {0};
    struct boot_params q = parse_ok(buf, &w);
    assert_params_equal(p, &q);
    assert_int_equal(w.n, 0);
    /* /proc/cmdline form: trailing newline */
    strcat(buf, "\n");
    q = parse_ok(buf, &w);
    assert_params_equal(p, &q);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct boot_params p;
    boot_params_defaults(&p);
    check_round_trip(&p, NULL, 0);

    static const unsigned ports[] = {1, 2, 10000, 65534, 65535};
    static const unsigned swaps[] = {0, 1, 4096, 1048576};
    static const unsigned timeouts[] = {1, 60, 3600};
    static const char *disks[] = {"", "/dev/sda", "/dev/nvme0n1p2"};
    static const char *ids[] = {"", BID, "ffffffffffffffffffffffffffffffff"};
    const char *extras[] = {"pci=off", "quiet", "nomodeset"};
    unsigned n = 0;
    for (size_t a = 0; a < 5; a++)
        for (size_t b = 0; b < 4; b++)
            for (size_t c = 0; c < 3; c++)
                for (unsigned bits = 0; bits < 4; bits++) {
                    boot_params_defaults(&p);
                    p.containerd_port = ports[a];
                    p.swap_mb = swaps[b];
                    p.disk_timeout = timeouts[c];
                    strcpy(p.root_disk, disks[(a + b) % 3]);
                    strcpy(p.boot_id, ids[(b + c) % 3]);
                    p.dind = bits & 1;
                    p.dind_allow_privileged = (bits >> 1) & 1;
                    p.on_fatal = (enum on_fatal)((a + c + bits) % 3);
                    check_round_trip(&p, extras, (a + b + c) % 4);
                    n++;
                }
    assert_int_equal(n, 5 * 4 * 3 * 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_build_exact),
        cmocka_unit_test(test_port),
        cmocka_unit_test(test_swap_and_timeout),
        cmocka_unit_test(test_swap_limits_shared),
        cmocka_unit_test(test_on_fatal),
        cmocka_unit_test(test_root_disk),
        cmocka_unit_test(test_boot_id),
        cmocka_unit_test(test_dind_flags),
        cmocka_unit_test(test_repeated_keys_last_wins),
        cmocka_unit_test(test_unknown_keys_warn),
        cmocka_unit_test(test_whitespace_and_quotes),
        cmocka_unit_test(test_parse_failure_leaves_output_untouched),
        cmocka_unit_test(test_build_extras),
        cmocka_unit_test(test_build_length_limit),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
