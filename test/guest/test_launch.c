/* test_launch.c — the daemon's exact argv and environment (design §4 step 13) and the launch
 * banner, for every combination of host config and dind flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "launch.h"

static void join(const char *const *argv, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; argv[i]; i++) {
        if (i)
            strncat(out, " ", len - strlen(out) - 1);
        strncat(out, argv[i], len - strlen(out) - 1);
    }
}

static void test_argv(void **state)
{
    (void)state;
    struct boot_params p;
    struct launch l;
    char s[1024];
    boot_params_defaults(&p);
    launch_prepare(&l, &p, false);
    join(l.argv, s, sizeof(s));
    assert_string_equal(s, "/usr/local/bin/ephemerd-linux serve --data-dir /var/lib/ephemerd "
                           "--containerd-tcp-port 10000 --containerd-tcp-addr 0.0.0.0 "
                           "--containerd-only");
    p.containerd_port = 12345;
    p.dind = true;
    launch_prepare(&l, &p, true);
    join(l.argv, s, sizeof(s));
    assert_string_equal(s, "/usr/local/bin/ephemerd-linux serve --config "
                           "/etc/ephemerd/config.toml --data-dir /var/lib/ephemerd "
                           "--containerd-tcp-port 12345 --containerd-tcp-addr 0.0.0.0 "
                           "--containerd-only --dind");
    p.dind_allow_privileged = true;
    launch_prepare(&l, &p, true);
    join(l.argv, s, sizeof(s));
    assert_non_null(strstr(s, "--containerd-only --dind --dind-allow-privileged"));
    /* allow_privileged without dind adds nothing. */
    p.dind = false;
    launch_prepare(&l, &p, true);
    join(l.argv, s, sizeof(s));
    assert_null(strstr(s, "--dind"));
    assert_string_equal(l.envp[0], "PATH=/usr/bin:/usr/sbin:/bin:/sbin");
    assert_string_equal(l.envp[1], "HOME=/root");
    assert_null(l.envp[2]);
}

static void test_banner(void **state)
{
    (void)state;
    struct boot_params p;
    char b[160];
    boot_params_defaults(&p);
    launch_banner(&p, false, b, sizeof(b));
    assert_string_equal(b, "launching ephemerd-linux (dind=0 allow_privileged=0 host_config=)");
    p.dind = p.dind_allow_privileged = true;
    launch_banner(&p, true, b, sizeof(b));
    assert_string_equal(b, "launching ephemerd-linux (dind=1 allow_privileged=1 host_config=yes)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argv),
        cmocka_unit_test(test_banner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
