/* test_sysctl_resolv.c — sysctls (guest/sysctl.c) on a fake /proc/sys tree, and
 * resolv.conf (guest/resolv.c) in a temporary new root: DNS servers, router fallback,
 * nothing to write, and a symlinked resolv.conf replaced without touching its target. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "resolv.h"
#include "sysctl.h"
#include "testutil.h"

#define HEADER "# written by ephemerd-init from DHCP\n"

static uint32_t ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    uint8_t bytes[4] = {a, b, c, d};
    uint32_t v;
    memcpy(&v, bytes, sizeof(v));
    return v; /* network byte order, as DHCP hands it over */
}

static void mkpath(const char *top, const char *rel)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s/%s", top, rel);
    for (char *p = buf + strlen(top) + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            fail_msg("mkdir %s", buf);
        *p = '/';
    }
}

/* A fake procsys file holding "0\n". */
static void fake_sysctl(const char *procsys, const char *rel)
{
    mkpath(procsys, rel);
    char *p = tu_path(procsys, rel);
    tu_write(p, "0\n", 2);
    free(p);
}

static void assert_content(const char *top, const char *rel, const char *want)
{
    char *p = tu_path(top, rel);
    char *got = tu_read(p, NULL);
    if (!got)
        fail_msg("%s: missing", p);
    assert_string_equal(got, want);
    free(got);
    free(p);
}

/* ---- sysctl -------------------------------------------------------------------------- */

static void test_sysctl_set(void **state)
{
    (void)state;
    char *ps = tu_tmpdir();
    fake_sysctl(ps, "net/ipv4/ip_forward");
    struct evm_err err = {0};
    int r = sysctl_set(ps, "net.ipv4.ip_forward", "1", &err);
    if (r != 0)
        fail_msg("%s", err.msg);
    assert_content(ps, "net/ipv4/ip_forward", "1\n");

    /* Missing: reported, never created. */
    r = sysctl_set(ps, "net.ipv4.no_such_thing", "1", &err);
    assert_int_equal(r, -ENOENT);
    assert_non_null(strstr(err.msg, "net.ipv4.no_such_thing: no such sysctl"));
    char *p = tu_path(ps, "net/ipv4/no_such_thing");
    assert_int_equal(access(p, F_OK), -1);
    free(p);

    /* Keys that could leave procsys, and values with control characters. */
    const char *bad[] = {"", "..", "net..ipv4", ".net", "net.", "net/ipv4", "../../etc/passwd"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = sysctl_set(ps, bad[i], "1", &err);
        if (r != -EINVAL || !strstr(err.msg, "not a valid key"))
            fail_msg("key \"%s\": got %d: %s", bad[i], r, err.msg);
    }
    r = sysctl_set(ps, "net.ipv4.ip_forward", "1\n0", &err);
    assert_int_equal(r, -EINVAL);
    assert_non_null(strstr(err.msg, "control character"));
    assert_content(ps, "net/ipv4/ip_forward", "1\n");
    tu_rmrf(ps);
    free(ps);
}

static void test_sysctl_defaults_with_bridge(void **state)
{
    (void)state;
    char *ps = tu_tmpdir();
    fake_sysctl(ps, "net/ipv4/ip_forward");
    fake_sysctl(ps, "net/bridge/bridge-nf-call-iptables");
    fake_sysctl(ps, "net/bridge/bridge-nf-call-ip6tables");
    struct evm_err err = {0};
    int r = sysctl_apply_defaults(ps, &err);
    if (r != 0)
        fail_msg("%s", err.msg);
    assert_content(ps, "net/ipv4/ip_forward", "1\n");
    /* The bridge ones wait for br_netfilter (loaded after the launch). */
    assert_content(ps, "net/bridge/bridge-nf-call-iptables", "0\n");
    assert_int_equal(sysctl_bridge_nf(ps), 2);
    assert_content(ps, "net/bridge/bridge-nf-call-iptables", "1\n");
    assert_content(ps, "net/bridge/bridge-nf-call-ip6tables", "1\n");
    tu_rmrf(ps);
    free(ps);
}

static void test_sysctl_defaults_without_bridge(void **state)
{
    (void)state;
    char *ps = tu_tmpdir();
    fake_sysctl(ps, "net/ipv4/ip_forward");
    struct evm_err err = {0};
    int r = sysctl_apply_defaults(ps, &err); /* br_netfilter absent: a warning only */
    if (r != 0)
        fail_msg("%s", err.msg);
    assert_content(ps, "net/ipv4/ip_forward", "1\n");
    assert_int_equal(sysctl_bridge_nf(ps), 0); /* warnings, nothing created */
    char *b = tu_path(ps, "net/bridge");
    assert_int_equal(access(b, F_OK), -1);
    free(b);

    /* ip_forward itself missing: an error naming it. */
    char *f = tu_path(ps, "net/ipv4/ip_forward");
    assert_int_equal(unlink(f), 0);
    free(f);
    r = sysctl_apply_defaults(ps, &err);
    assert_int_equal(r, -ENOENT);
    assert_non_null(strstr(err.msg, "net.ipv4.ip_forward"));
    tu_rmrf(ps);
    free(ps);
}

/* ---- resolv.conf --------------------------------------------------------------------- */

static void assert_resolv(const char *root, const char *want)
{
    char *p = tu_path(root, "etc/resolv.conf");
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(st.st_uid, 0);
    assert_int_equal(st.st_gid, 0);
    free(p);
    assert_content(root, "etc/resolv.conf", want);
}

static void test_resolv_two_dns(void **state)
{
    (void)state;
    char *root = tu_tmpdir();
    uint32_t dns[] = {ip(10, 0, 0, 53), ip(192, 168, 1, 1)};
    struct evm_err err = {0};
    mode_t old = umask(077);
    int r = resolv_write(root, dns, 2, ip(10, 0, 0, 1), &err);
    umask(old);
    if (r != 0)
        fail_msg("%s", err.msg);
    assert_resolv(root, HEADER "nameserver 10.0.0.53\nnameserver 192.168.1.1\n");
    /* etc was missing and made 0755 whatever the umask. */
    char *etc = tu_path(root, "etc");
    struct stat st;
    assert_int_equal(lstat(etc, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    free(etc);
    /* The same servers again: the file is kept (same inode); other servers: replaced. */
    char *rc = tu_path(root, "etc/resolv.conf");
    struct stat before, after;
    assert_int_equal(stat(rc, &before), 0);
    assert_int_equal(resolv_write(root, dns, 2, ip(10, 0, 0, 1), &err), 0);
    assert_int_equal(stat(rc, &after), 0);
    assert_true(before.st_ino == after.st_ino);
    assert_int_equal(resolv_write(root, dns, 1, ip(10, 0, 0, 1), &err), 0);
    assert_int_equal(stat(rc, &after), 0);
    assert_true(before.st_ino != after.st_ino);
    assert_resolv(root, HEADER "nameserver 10.0.0.53\n");
    free(rc);
    tu_rmrf(root);
    free(root);
}

static void test_resolv_router_only(void **state)
{
    (void)state;
    char *root = tu_tmpdir();
    mkpath(root, "etc/x");
    struct evm_err err = {0};
    int r = resolv_write(root, NULL, 0, ip(172, 16, 0, 1), &err);
    if (r != 0)
        fail_msg("%s", err.msg);
    assert_resolv(root, HEADER "nameserver 172.16.0.1\n");
    /* Zero DNS entries count as none: the router again. */
    uint32_t zero[] = {0};
    r = resolv_write(root, zero, 1, ip(172, 16, 0, 2), &err);
    assert_int_equal(r, 0);
    assert_resolv(root, HEADER "nameserver 172.16.0.2\n");
    tu_rmrf(root);
    free(root);
}

static void test_resolv_neither_leaves_file(void **state)
{
    (void)state;
    char *root = tu_tmpdir();
    struct evm_err err = {0};
    /* No file, nothing to write: none is created. */
    assert_int_equal(resolv_write(root, NULL, 0, 0, &err), 0);
    char *etc = tu_path(root, "etc");
    assert_int_equal(access(etc, F_OK), -1);
    /* An existing file stays as it is. */
    mkpath(root, "etc/x");
    char *p = tu_path(root, "etc/resolv.conf");
    tu_write(p, "nameserver 9.9.9.9\n", 19);
    struct stat before, after;
    assert_int_equal(stat(p, &before), 0);
    assert_int_equal(resolv_write(root, NULL, 0, 0, &err), 0);
    assert_int_equal(stat(p, &after), 0);
    assert_true(before.st_ino == after.st_ino);
    assert_content(root, "etc/resolv.conf", "nameserver 9.9.9.9\n");
    free(p);
    free(etc);
    tu_rmrf(root);
    free(root);
}

static void test_resolv_over_symlink(void **state)
{
    (void)state;
    char *root = tu_tmpdir();
    mkpath(root, "etc/x");
    mkpath(root, "run/systemd/resolve/x");
    const char *stub = "nameserver 127.0.0.53\n";
    char *target = tu_path(root, "run/systemd/resolve/stub-resolv.conf");
    tu_write(target, stub, strlen(stub));
    char *link = tu_path(root, "etc/resolv.conf");
    assert_int_equal(symlink("../run/systemd/resolve/stub-resolv.conf", link), 0);
    uint32_t dns[] = {ip(1, 1, 1, 1)};
    struct evm_err err = {0};
    int r = resolv_write(root, dns, 1, 0, &err);
    if (r != 0)
        fail_msg("%s", err.msg);
    assert_resolv(root, HEADER "nameserver 1.1.1.1\n"); /* lstat: a regular file now */
    assert_content(root, "run/systemd/resolve/stub-resolv.conf", stub);
    free(link);
    free(target);
    tu_rmrf(root);
    free(root);
}

static void test_resolv_symlinked_etc_refused(void **state)
{
    (void)state;
    char *top = tu_tmpdir();
    char *root = tu_path(top, "root"), *outside = tu_path(top, "outside");
    assert_int_equal(mkdir(root, 0755), 0);
    assert_int_equal(mkdir(outside, 0755), 0);
    char *etc = tu_path(root, "etc");
    assert_int_equal(symlink(outside, etc), 0);
    uint32_t dns[] = {ip(1, 1, 1, 1)};
    struct evm_err err = {0};
    int r = resolv_write(root, dns, 1, 0, &err);
    if (r != -ELOOP || !strstr(err.msg, "/etc: is a symlink"))
        fail_msg("got %d: %s", r, err.msg);
    char *inside = tu_path(outside, "resolv.conf");
    assert_int_equal(access(inside, F_OK), -1);
    free(inside);
    free(etc);
    free(root);
    free(outside);
    tu_rmrf(top);
    free(top);
}

static void test_resolv_format_dedup_and_limit(void **state)
{
    (void)state;
    uint32_t dns[] = {ip(1, 1, 1, 1), 0, ip(1, 1, 1, 1), ip(8, 8, 8, 8), ip(9, 9, 9, 9),
                      ip(4, 4, 4, 4)};
    char buf[256];
    int n = resolv_format(dns, 6, ip(10, 0, 0, 1), buf, sizeof(buf));
    assert_int_equal(n, RESOLV_MAX_NS);
    assert_string_equal(buf, HEADER "nameserver 1.1.1.1\nnameserver 8.8.8.8\n"
                                    "nameserver 9.9.9.9\n");
    assert_int_equal(resolv_format(NULL, 0, 0, buf, sizeof(buf)), 0);
    assert_int_equal(resolv_format(dns, 1, 0, buf, 10), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sysctl_set),
        cmocka_unit_test(test_sysctl_defaults_with_bridge),
        cmocka_unit_test(test_sysctl_defaults_without_bridge),
        cmocka_unit_test(test_resolv_two_dns),
        cmocka_unit_test(test_resolv_router_only),
        cmocka_unit_test(test_resolv_neither_leaves_file),
        cmocka_unit_test(test_resolv_over_symlink),
        cmocka_unit_test(test_resolv_symlinked_etc_refused),
        cmocka_unit_test(test_resolv_format_dedup_and_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
