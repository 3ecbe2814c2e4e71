/* test_fileid.c — file identities (common/fileid.h), portable: runs natively and under
 * wine (fileid_win.c). The same file gives the same identity through any descriptor; a
 * different file, a write, a truncation or a new modification time gives another; a rename
 * keeps the file (device and inode); times are on the wall clock's scale. POSIX-only
 * properties (the change time moves on chmod and cannot be set back) are in
 * test_fileid_posix.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utime.h>

#include "fileid.h"
#include "fileutil.h"
#include "testutil.h"

static void nap_ms(unsigned ms)
{
    while (ms > 0) {
        unsigned step = ms > 500 ? 500 : ms;
        usleep(step * 1000u);
        ms -= step;
    }
}

static void test_same_file_same_id(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *a = tu_path(dir, "a"), *b = tu_path(dir, "b");
    tu_write(a, "hello", 5);
    tu_write(b, "hello", 5);
    struct file_id a1 = tu_file_id(a), a2 = tu_file_id(a), b1 = tu_file_id(b);
    assert_true(file_id_equal(&a1, &a2));
    assert_true(file_id_same_file(&a1, &a2));
    assert_int_equal(a1.size, 5);
    assert_false(file_id_same_file(&a1, &b1));
    assert_false(file_id_equal(&a1, &b1));
    tu_rmrf(dir);
    free(dir);
    free(a);
    free(b);
}

/* Times are nanoseconds since the Unix epoch: a new file's are close to now. */
static void test_times_on_wall_clock_scale(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *a = tu_path(dir, "a");
    int64_t before = file_time_now_ns();
    tu_write(a, "x", 1);
    struct file_id id = tu_file_id(a);
    int64_t after = file_time_now_ns();
    int64_t slack = 2000000000LL; /* coarse file-system clocks */
    assert_true(id.mtime_ns >= before - slack && id.mtime_ns <= after + slack);
    assert_true(id.ctime_ns >= before - slack && id.ctime_ns <= after + slack);
    assert_true(before > 1500000000LL * 1000000000LL); /* after 2017 */
    tu_rmrf(dir);
    free(dir);
    free(a);
}

/* Any write changes the identity but not the file: size, or times for the same size. */
static void test_writes_change_state(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *a = tu_path(dir, "a");
    tu_write(a, "abcdef", 6);
    struct file_id v1 = tu_file_id(a);
    nap_ms(30);
    tu_write(a, "abcdeF", 6); /* same size */
    struct file_id v2 = tu_file_id(a);
    assert_true(file_id_same_file(&v1, &v2));
    assert_false(file_id_equal(&v1, &v2));
    assert_true(v2.mtime_ns > v1.mtime_ns);
    tu_write(a, "abc", 3); /* truncated */
    struct file_id v3 = tu_file_id(a);
    assert_true(file_id_same_file(&v1, &v3));
    assert_int_equal(v3.size, 3);
    assert_false(file_id_equal(&v2, &v3));
    tu_rmrf(dir);
    free(dir);
    free(a);
}

/* Setting the modification time back to its old value still leaves a different identity
 * where the platform has a change time; the same mtime alone never makes it equal again
 * after a content change with a new mtime. */
static void test_touch_changes_identity(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *a = tu_path(dir, "a");
    tu_write(a, "abcdef", 6);
    struct file_id v1 = tu_file_id(a);
    struct utimbuf ut = {.actime = 1000000000, .modtime = 1000000000};
    assert_int_equal(utime(a, &ut), 0);
    struct file_id v2 = tu_file_id(a);
    assert_true(file_id_same_file(&v1, &v2));
    assert_false(file_id_equal(&v1, &v2));
    assert_true(v2.mtime_ns == 1000000000LL * 1000000000LL);
    tu_rmrf(dir);
    free(dir);
    free(a);
}

/* A rename keeps the file; a file put in its place is another file. */
static void test_rename_keeps_file(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *a = tu_path(dir, "a"), *b = tu_path(dir, "b");
    tu_write(a, "abc", 3);
    struct file_id v1 = tu_file_id(a);
    assert_int_equal(rename(a, b), 0);
    struct file_id v2 = tu_file_id(b);
    assert_true(file_id_same_file(&v1, &v2));
    tu_write(a, "abc", 3);
    struct file_id v3 = tu_file_id(a);
    assert_false(file_id_same_file(&v1, &v3));
    tu_rmrf(dir);
    free(dir);
    free(a);
    free(b);
}

static void test_bad_fd(void **state)
{
    (void)state;
    struct file_id id;
    struct evm_err err = {0};
    assert_true(file_id_of_fd(-1, &id, &err) < 0);
    assert_true(err.msg[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_file_same_id),
        cmocka_unit_test(test_times_on_wall_clock_scale),
        cmocka_unit_test(test_writes_change_state),
        cmocka_unit_test(test_touch_changes_identity),
        cmocka_unit_test(test_rename_keeps_file),
        cmocka_unit_test(test_bad_fd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
