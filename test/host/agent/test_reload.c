/* test_reload.c — what a reload of config.toml counts as a change for the VM: nothing for the
 * same file; the embedded text for any byte (a [log] edit too) or for a file that appeared
 * or went away; the kernel command line; cpus, memory_mb and disk_size_gb with their old and
 * new values; a short buffer still holds a cut list and the right count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/reload.h"
#include "config/hostcfg.h"

static struct hostcfg cfg_of(const char *text)
{
    struct hostcfg c;
    memset(&c, 0, sizeof(c));
    c.state = HOSTCFG_MISSING;
    if (!text)
        return c;
    struct evm_err err = {0};
    c.state = HOSTCFG_OK;
    c.bytes = strdup(text);
    c.len = strlen(text);
    assert_int_equal(hostcfg_parse("config.toml", c.bytes, c.len, &c.settings, &err), 0);
    return c;
}

static void test_same_file_no_change(void **state)
{
    (void)state;
    struct hostcfg a = cfg_of("[vm.linux]\ncpus = 2\n"), b = cfg_of("[vm.linux]\ncpus = 2\n");
    char what[128] = "x";
    assert_int_equal(reload_changes(&a, "console=ttyS0", &b, "console=ttyS0", what, sizeof(what)),
                     0);
    assert_string_equal(what, "");
    struct hostcfg m1 = cfg_of(NULL), m2 = cfg_of(NULL);
    assert_int_equal(reload_changes(&m1, "l", &m2, "l", what, sizeof(what)), 0);
    hostcfg_free(&a);
    hostcfg_free(&b);
}

static void test_embedded_text(void **state)
{
    (void)state;
    struct hostcfg a = cfg_of("[log]\nlevel = \"info\"\n"),
                   b = cfg_of("[log]\nlevel = \"debug\"\n");
    struct hostcfg none = cfg_of(NULL);
    char what[128];
    assert_int_equal(reload_changes(&a, "l", &b, "l", what, sizeof(what)), 1);
    assert_string_equal(what, "embedded config.toml");
    assert_int_equal(reload_changes(&none, "l", &a, "l", what, sizeof(what)), 1);
    assert_int_equal(reload_changes(&a, "l", &none, "l", what, sizeof(what)), 1);
    assert_string_equal(what, "embedded config.toml");
    hostcfg_free(&a);
    hostcfg_free(&b);
}

static void test_vm_size_and_cmdline(void **state)
{
    (void)state;
    struct hostcfg a = cfg_of("[vm.linux]\ncpus = 2\nmemory_mb = 1024\ndisk_size_gb = 8\n");
    struct hostcfg b = cfg_of("[vm.linux]\ncpus = 4\nmemory_mb = 2048\ndisk_size_gb = 16\n");
    char what[256];
    assert_int_equal(reload_changes(&a, "old", &b, "new", what, sizeof(what)), 5);
    assert_string_equal(what, "embedded config.toml, kernel command line, cpus 2 -> 4, "
                              "memory_mb 1024 -> 2048, disk_size_gb 8 -> 16");
    /* A default written out is the same VM size, though the text differs. */
    struct hostcfg d = cfg_of("[vm.linux]\ncpus = 2\n"), e = cfg_of("");
    assert_int_equal(reload_changes(&e, "l", &d, "l", what, sizeof(what)), 1);
    assert_string_equal(what, "embedded config.toml");
    hostcfg_free(&a);
    hostcfg_free(&b);
    hostcfg_free(&d);
    hostcfg_free(&e);
}

static void test_short_buffer(void **state)
{
    (void)state;
    struct hostcfg a = cfg_of("[vm.linux]\ncpus = 2\n"), b = cfg_of("[vm.linux]\ncpus = 3\n");
    char what[12];
    assert_int_equal(reload_changes(&a, "x", &b, "y", what, sizeof(what)), 3);
    assert_int_equal(strlen(what), sizeof(what) - 1);
    assert_int_equal(reload_changes(&a, "x", &b, "y", NULL, 0), 0);
    hostcfg_free(&a);
    hostcfg_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_file_no_change),
        cmocka_unit_test(test_embedded_text),
        cmocka_unit_test(test_vm_size_and_cmdline),
        cmocka_unit_test(test_short_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
