/* test_cli.c — the ephemerd-vmhost subcommands as an operator uses them: exit codes for
 * good and bad command lines, a build → inspect round trip, a corrupted tail caught by
 * inspect, refusal of an oversized config, bad files and names refused up front, and the
 * command line derived from config. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/bootparams.h"
#include "cmdline.h"
#include "cli/commands.h"
#include "config/hostcfg.h"
#include "testutil.h"

#define BOOT_ID "00112233445566778899aabbccddeeff"

static int run(int argc, const char **argv)
{
    /* getopt permutes argv; hand it a private copy. */
    char **copy = calloc((size_t)argc + 1, sizeof(char *));
    assert_non_null(copy);
    for (int i = 0; i < argc; i++)
        copy[i] = strdup(argv[i]);
    int rc;
    if (strcmp(argv[0], "initrd") == 0)
        rc = cmd_initrd(argc, copy);
    else
        rc = cmd_cmdline(argc, copy);
    for (int i = 0; i < argc; i++)
        free(copy[i]);
    free(copy);
    return rc;
}

#define RUN(...)                                                                                   \
    run((int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),                       \
        (const char *[]){__VA_ARGS__})

struct env {
    char *dir, *base, *bin, *cfg, *out;
};

static void env_init(struct env *e, const char *config)
{
    e->dir = tu_tmpdir();
    e->base = tu_path(e->dir, "base.img");
    e->bin = tu_path(e->dir, "ephemerd-linux");
    e->cfg = tu_path(e->dir, "config.toml");
    e->out = tu_path(e->dir, "boot.img");
    char buf[5000];
    tu_fill(buf, sizeof(buf), 3);
    tu_write_base_initrd(e->base, 4001);
    tu_write(e->bin, buf, sizeof(buf));
    if (config)
        tu_write(e->cfg, config, strlen(config));
}

static void env_free(struct env *e)
{
    tu_rmrf(e->dir);
    free(e->dir);
    free(e->base);
    free(e->bin);
    free(e->cfg);
    free(e->out);
}

static void test_usage_errors(void **state)
{
    (void)state;
    assert_int_equal(RUN("initrd"), EXIT_USAGE);
    assert_int_equal(RUN("initrd", "frobnicate"), EXIT_USAGE);
    assert_int_equal(RUN("initrd", "build"), EXIT_USAGE);
    assert_int_equal(RUN("initrd", "build", "--base", "a", "--binary", "b"), EXIT_USAGE);
    assert_int_equal(
        RUN("initrd", "build", "--base", "a", "--binary", "b", "-o", "c", "--compress", "xz"),
        EXIT_USAGE);
    assert_int_equal(
        RUN("initrd", "build", "--base", "a", "--binary", "b", "-o", "c", "--boot-id", "NOTHEX"),
        EXIT_USAGE);
    assert_int_equal(RUN("initrd", "build", "--base", "a", "--binary", "b", "-o", "c", "extra"),
                     EXIT_USAGE);
    assert_int_equal(RUN("initrd", "inspect"), EXIT_USAGE);
    /* --data-dir is optional (the platform's default); a stray argument is not */
    assert_int_equal(RUN("cmdline", "extra"), EXIT_USAGE);
    assert_int_equal(RUN("cmdline", "--data-dir"), EXIT_USAGE);
    assert_int_equal(RUN("initrd", "build", "--help"), EXIT_OK);
    assert_int_equal(RUN("initrd", "inspect", "--help"), EXIT_OK);
    assert_int_equal(RUN("cmdline", "--help"), EXIT_OK);
    /* a malformed boot id is a usage error for cmdline as for initrd build */
    assert_int_equal(RUN("cmdline", "--data-dir", ".", "--boot-id", "XYZ"), EXIT_USAGE);
}

static void test_build_then_inspect(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "[dind]\nenabled = true\n");
    assert_int_equal(RUN("initrd", "build", "--base", e.base, "--binary", e.bin, "--config", e.cfg,
                         "--boot-id", BOOT_ID, "-o", e.out),
                     EXIT_OK);
    assert_int_equal(RUN("initrd", "inspect", e.out), EXIT_OK);
    /* A missing input is a failure (1), not a usage error, and writes nothing. */
    char *missing = tu_path(e.dir, "missing");
    char *out2 = tu_path(e.dir, "boot2.img");
    assert_int_equal(RUN("initrd", "build", "--base", missing, "--binary", e.bin, "-o", out2),
                     EXIT_FAIL);
    assert_null(tu_read(out2, NULL));
    assert_int_equal(RUN("initrd", "inspect", missing), EXIT_FAIL);
    free(missing);
    free(out2);
    env_free(&e);
}

/* A tail whose config bytes no longer match the manifest is reported as a mismatch (3). */
static void test_inspect_detects_corruption(void **state)
{
    (void)state;
    struct env e;
    const char *config = "[dind]\nenabled = true\nallow_privileged = false\n";
    env_init(&e, config);
    assert_int_equal(RUN("initrd", "build", "--base", e.base, "--binary", e.bin, "--config", e.cfg,
                         "--boot-id", BOOT_ID, "--compress", "none", "-o", e.out),
                     EXIT_OK);
    size_t len;
    char *img = tu_read(e.out, &len);
    assert_non_null(img);
    /* Flip "false" to "fals3" inside the uncompressed config entry. */
    char *hit = NULL;
    for (size_t i = 0; i + 5 <= len; i++) {
        if (memcmp(img + i, "false", 5) == 0) {
            hit = img + i;
            break;
        }
    }
    assert_non_null(hit);
    hit[4] = '3';
    tu_write(e.out, img, len);
    assert_int_equal(RUN("initrd", "inspect", e.out), EXIT_MISMATCH);
    free(img);
    env_free(&e);
}

static void test_oversized_config_refused(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, NULL);
    size_t n = 1024 * 1024 + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, '#', n);
    big[n - 1] = '\n';
    tu_write(e.cfg, big, n);
    free(big);
    assert_int_equal(
        RUN("initrd", "build", "--base", e.base, "--binary", e.bin, "--config", e.cfg, "-o", e.out),
        EXIT_FAIL);
    assert_null(tu_read(e.out, NULL));
    /* A missing config is fine: the VM boots without it. */
    char *none = tu_path(e.dir, "absent.toml");
    assert_int_equal(
        RUN("initrd", "build", "--base", e.base, "--binary", e.bin, "--config", none, "-o", e.out),
        EXIT_OK);
    free(none);
    env_free(&e);
}

/* The dind fallback flags on the kernel command line follow the host's [dind]. */
static void test_cmdline_follows_config(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "[dind]\nenabled = true\nallow_privileged = true\n");
    struct hostcfg cfg;
    struct evm_err err = {0};
    struct boot_params p;
    char line[CMDLINE_MAX];

    assert_int_equal(hostcfg_load(e.cfg, &cfg, &err), 0);
    assert_int_equal(bootparams_from_config(&cfg, "/dev/sda", BOOT_ID, &p, &err), 0);
    assert_int_equal(cmdline_build(&p, NULL, 0, line, sizeof(line), &err), 0);
    assert_non_null(strstr(line, " ephemerd.dind=1"));
    assert_non_null(strstr(line, " ephemerd.dind_allow_privileged=1"));
    assert_non_null(strstr(line, " ephemerd.root_disk=/dev/sda"));
    assert_non_null(strstr(line, " ephemerd.boot_id=" BOOT_ID));
    hostcfg_free(&cfg);

    tu_write(e.cfg, "[dind]\nenabled = false\n", 23);
    assert_int_equal(hostcfg_load(e.cfg, &cfg, &err), 0);
    assert_int_equal(bootparams_from_config(&cfg, "/dev/sda", NULL, &p, &err), 0);
    assert_int_equal(cmdline_build(&p, NULL, 0, line, sizeof(line), &err), 0);
    assert_null(strstr(line, "ephemerd.dind"));
    assert_null(strstr(line, "ephemerd.boot_id"));
    hostcfg_free(&cfg);

    /* No config at all: flags off, still a valid line. */
    assert_int_equal(bootparams_from_config(NULL, "/dev/vda", NULL, &p, &err), 0);
    assert_int_equal(cmdline_build(&p, NULL, 0, line, sizeof(line), &err), 0);
    assert_null(strstr(line, "ephemerd.dind"));
    assert_non_null(strstr(line, "ephemerd.root_disk=/dev/vda"));

    assert_int_equal(bootparams_from_config(NULL, "/dev/vda", "BAD", &p, &err), -EINVAL);
    assert_int_equal(RUN("cmdline", "--data-dir", e.dir), EXIT_OK);
    tu_write(e.cfg, "[dind]\nenabled = maybe\n", 23);
    assert_int_equal(RUN("cmdline", "--data-dir", e.dir), EXIT_FAIL);
    env_free(&e);
}

/* Bad files and names, refused with the exit codes of the rest: an empty -o, --base or
 * --binary is a usage error (2); an output that is a directory, an empty or garbage base
 * fail (1) before anything is written (no output, no cache member beside it); inspecting an
 * empty file fails (1). */
static void test_bad_files_refused(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, NULL);
    assert_int_equal(RUN("initrd", "build", "--base", e.base, "--binary", e.bin, "-o", ""),
                     EXIT_USAGE);
    assert_int_equal(RUN("initrd", "build", "--base", "", "--binary", e.bin, "-o", e.out),
                     EXIT_USAGE);
    assert_int_equal(RUN("initrd", "build", "--base", e.base, "--binary", "", "-o", e.out),
                     EXIT_USAGE);
    assert_int_equal(RUN("initrd", "build", "--base", e.base, "--binary", e.bin, "-o", e.dir),
                     EXIT_FAIL);
    char *empty = tu_path(e.dir, "empty.img");
    char *garbage = tu_path(e.dir, "garbage.img");
    tu_write(empty, "", 0);
    tu_write(garbage, "garbage, not an initrd\n", 23);
    assert_int_equal(RUN("initrd", "build", "--base", empty, "--binary", e.bin, "-o", e.out),
                     EXIT_FAIL);
    assert_int_equal(RUN("initrd", "build", "--base", garbage, "--binary", e.bin, "-o", e.out),
                     EXIT_FAIL);
    assert_null(tu_read(e.out, NULL));
    /* Nothing but the inputs in the directory: no output, no cache member, no temporary. */
    DIR *d = opendir(e.dir);
    assert_non_null(d);
    struct dirent *de;
    int entries = 0;
    while ((de = readdir(d)) != NULL)
        entries += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    assert_int_equal(entries, 4); /* base.img, ephemerd-linux, empty.img, garbage.img */
    assert_int_equal(RUN("initrd", "inspect", empty), EXIT_FAIL);
    assert_int_equal(RUN("initrd", "build", "--base", e.base, "--binary", e.bin, "-o", e.out),
                     EXIT_OK);
    assert_int_equal(RUN("initrd", "inspect", e.out), EXIT_OK);
    free(empty);
    free(garbage);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_build_then_inspect),
        cmocka_unit_test(test_inspect_detects_corruption),
        cmocka_unit_test(test_oversized_config_refused),
        cmocka_unit_test(test_cmdline_follows_config),
        cmocka_unit_test(test_bad_files_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
