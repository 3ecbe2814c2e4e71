/* test_fileid_posix.c — POSIX-only properties of file identities: the change time moves on
 * a metadata change (chmod, a new link) and cannot be set back with utimensat, so an input
 * whose bytes were changed and whose mtime was restored is still recognised as changed; a
 * hard link is the same file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileid.h"
#include "fileutil.h"
#include "testutil.h"

static void test_fields_are_fstat(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *a = tu_path(dir, "a");
    tu_write(a, "abcdef", 6);
    struct stat st;
    assert_int_equal(stat(a, &st), 0);
    struct file_id id = tu_file_id(a);
    assert_int_equal(id.dev, (uint64_t)st.st_dev);
    assert_int_equal(id.ino, (uint64_t)st.st_ino);
    assert_int_equal(id.ino_hi, 0);
    assert_int_equal(id.size, 6);
    assert_true(id.mtime_ns == (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
    assert_true(id.ctime_ns == (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec);
    tu_rmrf(dir);
    free(dir);
    free(a);
}

/* Same size, bytes changed, mtime restored to the old value: still another identity. */
static void test_restored_mtime_still_differs(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *a = tu_path(dir, "a");
    tu_write(a, "abcdef", 6);
    struct file_id v1 = tu_file_id(a);
    usleep(20000);
    tu_write(a, "abcdeF", 6);
    struct timespec ts[2] = {
        {.tv_sec = 0, .tv_nsec = UTIME_OMIT},
        {.tv_sec = v1.mtime_ns / 1000000000, .tv_nsec = v1.mtime_ns % 1000000000}};
    assert_int_equal(utimensat(AT_FDCWD, a, ts, 0), 0);
    struct file_id v2 = tu_file_id(a);
    assert_true(v2.mtime_ns == v1.mtime_ns);
    assert_int_equal(v2.size, v1.size);
    assert_true(v2.ctime_ns != v1.ctime_ns);
    assert_false(file_id_equal(&v1, &v2));
    tu_rmrf(dir);
    free(dir);
    free(a);
}

static void test_metadata_change_moves_ctime(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *a = tu_path(dir, "a"), *b = tu_path(dir, "b");
    tu_write(a, "abc", 3);
    struct file_id v1 = tu_file_id(a);
    usleep(20000);
    assert_int_equal(chmod(a, 0640), 0);
    struct file_id v2 = tu_file_id(a);
    assert_true(v2.ctime_ns > v1.ctime_ns);
    assert_false(file_id_equal(&v1, &v2));
    usleep(20000);
    assert_int_equal(link(a, b), 0);
    struct file_id v3 = tu_file_id(b);
    assert_true(file_id_same_file(&v1, &v3));
    assert_true(v3.ctime_ns > v2.ctime_ns);
    tu_rmrf(dir);
    free(dir);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_are_fstat),
        cmocka_unit_test(test_restored_mtime_still_differs),
        cmocka_unit_test(test_metadata_change_moves_ctime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
