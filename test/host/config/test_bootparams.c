/* test_bootparams.c — host config → boot parameters (host/config/bootparams.h): [vm.linux]
 * swap_mb reaches the kernel command line as ephemerd.swap_mb (0 included), the default when
 * unset or without a usable config, and the line parses back to the same value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmdline.h"
#include "config/bootparams.h"

/* The ephemerd.swap_mb the agent would boot with for config doc (NULL: no config). */
static unsigned swap_for(const char *doc)
{
    struct hostcfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    struct evm_err err = {0};
    if (doc) {
        if (hostcfg_parse("c.toml", doc, strlen(doc), &cfg.settings, &err) < 0)
            fail_msg("parse: %s", err.msg);
        cfg.state = HOSTCFG_OK;
    }
    struct boot_params p, back;
    char line[CMDLINE_MAX], key[64];
    assert_int_equal(bootparams_from_config(doc ? &cfg : NULL, "/dev/vda", NULL, &p, &err), 0);
    assert_int_equal(cmdline_build(&p, NULL, 0, line, sizeof(line), &err), 0);
    snprintf(key, sizeof(key), " ephemerd.swap_mb=%u ", p.swap_mb);
    assert_non_null(strstr(line, key));
    assert_int_equal(cmdline_parse(line, &back, NULL, NULL, &err), 0);
    assert_int_equal(back.swap_mb, p.swap_mb);
    return p.swap_mb;
}

static void test_swap_mb_on_the_cmdline(void **state)
{
    (void)state;
    assert_int_equal(swap_for(NULL), CMDLINE_DEFAULT_SWAP_MB);
    assert_int_equal(swap_for(""), CMDLINE_DEFAULT_SWAP_MB);
    assert_int_equal(swap_for("[vm.linux]\ndisk_size_gb = 2\n"), CMDLINE_DEFAULT_SWAP_MB);
    assert_int_equal(swap_for("[vm.linux]\nswap_mb = 512\n"), 512);
    assert_int_equal(swap_for("[vm.linux]\nswap_mb = 0\n"), 0);
    assert_int_equal(swap_for("[vm.linux]\nswap_mb = 1048576\n"), CMDLINE_SWAP_MB_MAX);
}

/* A config that is not usable leaves the default. */
static void test_swap_mb_unusable_config(void **state)
{
    (void)state;
    struct hostcfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.state = HOSTCFG_UNUSABLE;
    cfg.settings.swap_mb = 1;
    cfg.settings.line[HOSTCFG_SWAP_MB] = 1;
    struct boot_params p;
    struct evm_err err = {0};
    assert_int_equal(bootparams_from_config(&cfg, "/dev/vda", NULL, &p, &err), 0);
    assert_int_equal(p.swap_mb, CMDLINE_DEFAULT_SWAP_MB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swap_mb_on_the_cmdline),
        cmocka_unit_test(test_swap_mb_unusable_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
