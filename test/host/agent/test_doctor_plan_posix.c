/* test_doctor_plan_posix.c — `run --dry-run` and `doctor` on the QEMU backend, against a
 * real temporary data dir: the plan carries the config's CPUs and memory, the backend's root
 * disk on the command line and the data dir's files, and creates nothing; doctor fails on
 * each missing input, a refused config and access for other users, names the fix, and
 * passes on a complete private data dir. */
#include <cJSON.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "agent/doctor.h"
#include "testutil.h"

static const char config[] = "[vm.linux]\ncpus = 3\nmemory_mb = 3000\n[registry]\ntoken = \"s\"\n";

static char *make_data_dir(void)
{
    char *dir = tu_tmpdir();
    assert_int_equal(chmod(dir, 0700), 0);
    char *cfg = tu_path(dir, "config.toml");
    tu_write(cfg, config, strlen(config));
    assert_int_equal(chmod(cfg, 0600), 0);
    free(cfg);
    return dir;
}

static const char *argv_after(const cJSON *argv, const char *flag)
{
    const cJSON *it;
    bool next = false;
    cJSON_ArrayForEach(it, argv)
    {
        if (next)
            return it->valuestring;
        next = cJSON_IsString(it) && strcmp(it->valuestring, flag) == 0;
    }
    return NULL;
}

static void test_dry_run_plan(void **state)
{
    (void)state;
    char *dir = make_data_dir();
    struct run_opts o;
    run_opts_defaults(&o);
    o.data_dir = dir;
    char *json = NULL;
    struct evm_err err = {0};
    assert_int_equal(run_plan(&o, &json, &err), 0);
    cJSON *plan = cJSON_Parse(json);
    assert_non_null(plan);
    assert_string_equal(cJSON_GetObjectItem(plan, "backend")->valuestring, "qemu");
    const cJSON *argv = cJSON_GetObjectItem(plan, "argv");
    assert_true(cJSON_IsArray(argv));
    assert_string_equal(argv_after(argv, "-smp"), "3");
    assert_string_equal(argv_after(argv, "-m"), "3000");
    const char *append = argv_after(argv, "-append");
    assert_non_null(strstr(append, "ephemerd.root_disk=/dev/vda"));
    assert_non_null(strstr(append, "ephemerd.boot_id="));
    char *initrd = tu_path(dir, "vm/linux/boot-initrd.img");
    assert_string_equal(argv_after(argv, "-initrd"), initrd);
    /* Nothing was built or created: the data dir still holds only config.toml. */
    char *vm = tu_path(dir, "vm");
    struct stat st;
    assert_int_equal(stat(vm, &st), -1);
    assert_int_equal(errno, ENOENT);
    cJSON_Delete(plan);
    free(json);
    free(initrd);
    free(vm);
    tu_rmrf(dir);
    free(dir);
}

static void test_dry_run_refuses_bad_config(void **state)
{
    (void)state;
    char *dir = make_data_dir();
    char *cfg = tu_path(dir, "config.toml");
    tu_write(cfg, "[vm.linux]\ncpus = \"many\"\n", 25);
    struct run_opts o;
    run_opts_defaults(&o);
    o.data_dir = dir;
    char *json = NULL;
    struct evm_err err = {0};
    assert_true(run_plan(&o, &json, &err) < 0);
    assert_null(json);
    assert_non_null(strstr(err.msg, "config.toml:2: vm.linux.cpus"));
    free(cfg);
    tu_rmrf(dir);
    free(dir);
}

/* doctor's output for dir, in a malloc'd string; *failed the count it returned. */
static char *doctor(const char *dir, unsigned *failed)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    *failed = doctor_run(dir, f);
    long n = ftell(f);
    char *text = calloc(1, (size_t)n + 1);
    rewind(f);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return text;
}

static void put(const char *dir, const char *name)
{
    char *p = tu_path(dir, name);
    tu_write(p, "x", 1);
    free(p);
}

static void test_doctor_data_dir(void **state)
{
    (void)state;
    char *dir = make_data_dir();
    unsigned failed;
    char *out = doctor(dir, &failed);
    /* the three inputs are missing */
    assert_int_equal(failed, 3);
    assert_non_null(strstr(out, "FAIL  kernel: "));
    assert_non_null(strstr(out, "FAIL  base initrd: "));
    assert_non_null(strstr(out, "FAIL  daemon binary: "));
    assert_non_null(strstr(out, "fix: install the release's kernel"));
    assert_non_null(strstr(out, "ok    config.toml: accepted"));
    assert_non_null(strstr(out, "ok    config.toml access: mode 0600"));
    assert_non_null(strstr(out, "doctor: 3 problem(s)"));
    free(out);

    char *vm = tu_path(dir, "vm");
    char *vml = tu_path(dir, "vm/linux");
    assert_int_equal(mkdir(vm, 0700), 0);
    assert_int_equal(mkdir(vml, 0700), 0);
    put(dir, "vm/linux/kernel");
    put(dir, "vm/linux/base-initrd.img");
    put(dir, "vm/linux/ephemerd-linux");
    out = doctor(dir, &failed);
    assert_int_equal(failed, 0);
    assert_non_null(strstr(out, "doctor: a boot can work here"));
    free(out);

    /* secrets readable by others: a failure with its fix */
    char *cfg = tu_path(dir, "config.toml");
    assert_int_equal(chmod(cfg, 0644), 0);
    out = doctor(dir, &failed);
    assert_int_equal(failed, 1);
    assert_non_null(strstr(out, "FAIL  config.toml access: mode 0644: its group and all other "
                                "users have access"));
    assert_non_null(strstr(out, "fix: chmod go="));
    free(out);

    /* a value the agent refuses */
    assert_int_equal(chmod(cfg, 0600), 0);
    tu_write(cfg, "[vm.linux]\nmemory_mb = -1\n", 26);
    out = doctor(dir, &failed);
    assert_int_equal(failed, 1);
    assert_non_null(strstr(out, "FAIL  config.toml: "));
    assert_non_null(strstr(out, "memory_mb"));
    free(out);
    free(cfg);
    free(vm);
    free(vml);
    tu_rmrf(dir);
    free(dir);
}

static void test_doctor_missing_dir(void **state)
{
    (void)state;
    unsigned failed;
    char *out = doctor("/nonexistent/ephemerd-data", &failed);
    assert_int_equal(failed, 1);
    assert_non_null(
        strstr(out, "FAIL  data directory: /nonexistent/ephemerd-data: not a directory"));
    free(out);
}

/* `run` on a data dir that does not exist creates nothing and says why. */
static void test_run_refuses_missing_data_dir(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *missing = tu_path(dir, "nope");
    struct run_opts o;
    run_opts_defaults(&o);
    o.data_dir = missing;
    o.once = true;
    struct evm_err err = {0};
    assert_true(run_agent(&o, &err) < 0);
    assert_non_null(strstr(err.msg, "not a directory"));
    struct stat st;
    assert_int_equal(stat(missing, &st), -1);
    assert_int_equal(errno, ENOENT);
    free(missing);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dry_run_plan),
        cmocka_unit_test(test_dry_run_refuses_bad_config),
        cmocka_unit_test(test_doctor_data_dir),
        cmocka_unit_test(test_doctor_missing_dir),
        cmocka_unit_test(test_run_refuses_missing_data_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
