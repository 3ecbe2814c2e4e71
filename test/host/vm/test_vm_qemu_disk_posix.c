/* test_vm_qemu_disk_posix.c — the QEMU backend's root disk: a sparse raw file created 0600,
 * grown to the configured size and never shrunk; a symlink or a non-regular file in its
 * place is refused, never followed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"
#include "vm/vm.h"

#define MiB (1024ull * 1024ull)

static void test_create_grow_never_shrink(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *disk = tu_path(dir, vm_backend()->disk_file);
    struct evm_err err = {0};
    bool grown = false;
    assert_int_equal(vm_disk_ensure(disk, 64 * MiB, &grown, &err), 0);
    assert_true(grown);
    struct stat st;
    assert_int_equal(stat(disk, &st), 0);
    assert_int_equal(st.st_size, 64 * MiB);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true((uint64_t)st.st_blocks * 512 < 64 * MiB); /* sparse */

    assert_int_equal(vm_disk_ensure(disk, 128 * MiB, &grown, &err), 0);
    assert_true(grown);
    assert_int_equal(stat(disk, &st), 0);
    assert_int_equal(st.st_size, 128 * MiB);

    assert_int_equal(vm_disk_ensure(disk, 32 * MiB, &grown, &err), 0);
    assert_false(grown);
    assert_int_equal(stat(disk, &st), 0);
    assert_int_equal(st.st_size, 128 * MiB);
    tu_rmrf(dir);
    free(disk);
    free(dir);
}

static void test_refuses_symlink_and_directory(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *target = tu_path(dir, "target");
    char *link = tu_path(dir, "root.img");
    tu_write(target, "x", 1);
    assert_int_equal(symlink(target, link), 0);
    struct evm_err err = {0};
    bool grown = true;
    assert_int_equal(vm_disk_ensure(link, 64 * MiB, &grown, &err), -ELOOP);
    assert_false(grown);
    assert_non_null(strstr(err.msg, link));
    struct stat st;
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_size, 1); /* the target was not grown */

    char *sub = tu_path(dir, "sub");
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_true(vm_disk_ensure(sub, 64 * MiB, &grown, &err) < 0);
    tu_rmrf(dir);
    free(sub);
    free(target);
    free(link);
    free(dir);
}

/* A disk someone else owns is refused, not grown and handed to a guest that formats it. */
static void test_refuses_a_disk_owned_by_another_user(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* only root can give a file away */
    char *dir = tu_tmpdir();
    char *disk = tu_path(dir, "root.img");
    tu_write(disk, "x", 1);
    assert_int_equal(chown(disk, 65534, 65534), 0);
    struct evm_err err = {0};
    bool grown = true;
    assert_int_equal(vm_disk_ensure(disk, 64 * MiB, &grown, &err), -EPERM);
    assert_false(grown);
    assert_non_null(strstr(err.msg, "owned by uid 65534"));
    struct stat st;
    assert_int_equal(stat(disk, &st), 0);
    assert_int_equal(st.st_size, 1);
    tu_rmrf(dir);
    free(disk);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_grow_never_shrink),
        cmocka_unit_test(test_refuses_symlink_and_directory),
        cmocka_unit_test(test_refuses_a_disk_owned_by_another_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
