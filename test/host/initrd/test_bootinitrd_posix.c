/* test_bootinitrd_posix.c — POSIX-only properties of the builder: the boot initrd and the
 * cached member are 0600 whatever the umask, and a FIFO given as an input is refused
 * without blocking. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "initrd/bootinitrd.h"
#include "testutil.h"

#define BOOT_ID "0123456789abcdef0123456789abcdef"

static void test_modes_with_umask_zero(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *base = tu_path(dir, "base"), *bin = tu_path(dir, "bin"), *out = tu_path(dir, "boot");
    char *cache = tu_path(dir, "cache");
    char buf[1000];
    tu_fill(buf, sizeof(buf), 1);
    tu_write(base, buf, sizeof(buf));
    tu_write(bin, buf, sizeof(buf));
    mode_t old = umask(0);
    struct bootinitrd_opts o = {
        .base = base, .binary = bin, .boot_id = BOOT_ID, .out = out, .cache_dir = cache};
    struct bootinitrd_result res;
    struct evm_err err = {0};
    int r = bootinitrd_build(&o, &res, &err);
    umask(old);
    assert_int_equal(r, 0);
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(stat(cache, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    DIR *d = opendir(cache);
    assert_non_null(d);
    struct dirent *de;
    int members = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char *p = tu_path(cache, de->d_name);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        free(p);
        members++;
    }
    closedir(d);
    assert_int_equal(members, 1);
    tu_rmrf(dir);
    free(dir);
    free(base);
    free(bin);
    free(out);
    free(cache);
}

static void test_fifo_input_refused(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *base = tu_path(dir, "base"), *bin = tu_path(dir, "bin"), *out = tu_path(dir, "boot");
    assert_int_equal(mkfifo(base, 0600), 0);
    tu_write(bin, "x", 1);
    struct bootinitrd_opts o = {.base = base, .binary = bin, .boot_id = BOOT_ID, .out = out};
    struct bootinitrd_result res;
    struct evm_err err = {0};
    assert_int_equal(bootinitrd_build(&o, &res, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "FIFO"));
    assert_int_equal(access(out, F_OK), -1);
    tu_rmrf(dir);
    free(dir);
    free(base);
    free(bin);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes_with_umask_zero),
        cmocka_unit_test(test_fifo_input_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
