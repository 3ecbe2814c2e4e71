/* test_atomicfile.c — atomic file replacement (common/atomicfile.c and the platform part),
 * portable: runs natively and under wine. Commit replaces the destination with exactly the
 * new bytes; abort and injected write failures leave the previous file byte-identical and
 * no temporary file behind; padding; copies from an fd. POSIX-only checks (mode 0600, a
 * real RLIMIT_FSIZE failure) are in test_atomicfile_posix.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"
#include "fileutil.h"
#include "testutil.h"

static const char old_bytes[] = "previous contents\r\n\0with a NUL and CRLF\n";
#define OLD_LEN (sizeof(old_bytes) - 1)

struct fixture {
    char *dir;
    char *dst;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->dir = tu_tmpdir();
    f->dst = tu_path(f->dir, "boot.img");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tu_rmrf(f->dir);
    free(f->dst);
    free(f->dir);
    free(f);
    return 0;
}

/* Number of directory entries other than "." and "..". */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    }
    closedir(d);
    return n;
}

static void assert_file_bytes(const char *path, const void *want, size_t want_len)
{
    size_t len = 0;
    char *got = tu_read(path, &len);
    assert_non_null(got);
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, want_len);
    free(got);
}

static void test_commit_replaces_with_exact_bytes(void **state)
{
    struct fixture *f = *state;
    tu_write(f->dst, old_bytes, OLD_LEN);
    enum { N = 300000 };
    unsigned char *data = malloc(N);
    assert_non_null(data);
    tu_fill(data, N, 42);

    struct atomicfile af;
    struct evm_err err = {0};
    assert_int_equal(atomicfile_open(&af, f->dst, &err), 0);
    /* Uneven pieces, including an empty one. */
    size_t off = 0, step = 1;
    while (off < N) {
        size_t n = step < N - off ? step : N - off;
        assert_int_equal(atomicfile_write(&af, data + off, n, &err), 0);
        off += n;
        step = step * 3 + 1;
    }
    assert_int_equal(atomicfile_write(&af, data, 0, &err), 0);
    assert_true(af.written == N);
    /* Until commit the destination is untouched and the new bytes sit in a second file. */
    assert_file_bytes(f->dst, old_bytes, OLD_LEN);
    assert_int_equal(count_entries(f->dir), 2);

    assert_int_equal(atomicfile_commit(&af, &err), 0);
    assert_file_bytes(f->dst, data, N);
    assert_int_equal(count_entries(f->dir), 1);
    /* Abort after commit is a no-op; writing after commit is refused. */
    atomicfile_abort(&af);
    assert_int_equal(atomicfile_write(&af, "x", 1, &err), -EBADF);
    assert_file_bytes(f->dst, data, N);
    free(data);
}

static void test_commit_creates_missing_destination(void **state)
{
    struct fixture *f = *state;
    struct atomicfile af;
    struct evm_err err = {0};
    assert_int_equal(path_exists(f->dst), 0);
    assert_int_equal(atomicfile_open(&af, f->dst, &err), 0);
    assert_int_equal(atomicfile_write(&af, "new\n", 4, &err), 0);
    assert_int_equal(atomicfile_commit(&af, &err), 0);
    assert_file_bytes(f->dst, "new\n", 4);
    assert_int_equal(count_entries(f->dir), 1);

    /* An empty file commits too, replacing the previous one. */
    assert_int_equal(atomicfile_open(&af, f->dst, &err), 0);
    assert_int_equal(atomicfile_commit(&af, &err), 0);
    assert_file_bytes(f->dst, "", 0);
    assert_int_equal(count_entries(f->dir), 1);
}

static void test_abort_keeps_previous_file(void **state)
{
    struct fixture *f = *state;
    tu_write(f->dst, old_bytes, OLD_LEN);
    char junk[5000];
    tu_fill(junk, sizeof(junk), 7);

    struct atomicfile af;
    struct evm_err err = {0};
    assert_int_equal(atomicfile_open(&af, f->dst, &err), 0);
    assert_int_equal(atomicfile_write(&af, junk, sizeof(junk), &err), 0);
    assert_int_equal(count_entries(f->dir), 2);
    atomicfile_abort(&af);
    assert_file_bytes(f->dst, old_bytes, OLD_LEN);
    assert_int_equal(count_entries(f->dir), 1);
    /* A second abort is harmless; commit after abort is refused and changes nothing. */
    atomicfile_abort(&af);
    assert_true(atomicfile_commit(&af, &err) < 0);
    assert_file_bytes(f->dst, old_bytes, OLD_LEN);
    assert_int_equal(count_entries(f->dir), 1);
}

static void test_injected_failure_keeps_previous_file(void **state)
{
    struct fixture *f = *state;
    tu_write(f->dst, old_bytes, OLD_LEN);
    char data[1200];
    tu_fill(data, sizeof(data), 9);

    struct atomicfile af;
    struct evm_err err = {0};
    assert_int_equal(atomicfile_open(&af, f->dst, &err), 0);
    af.fail_after = 1000;
    assert_int_equal(atomicfile_write(&af, data, 600, &err), 0);
    assert_int_equal(atomicfile_write(&af, data + 600, 600, &err), -ENOSPC);
    assert_int_equal(err.code, ENOSPC);
    assert_non_null(strstr(err.msg, "No space left"));
    atomicfile_abort(&af);
    assert_file_bytes(f->dst, old_bytes, OLD_LEN);
    assert_int_equal(count_entries(f->dir), 1);
}

static void test_injected_failure_in_copy(void **state)
{
    struct fixture *f = *state;
    tu_write(f->dst, old_bytes, OLD_LEN);
    char *src = tu_path(f->dir, "src.bin");
    char data[4096];
    tu_fill(data, sizeof(data), 11);
    tu_write(src, data, sizeof(data));

    int fd;
    uint64_t size;
    struct evm_err err = {0};
    assert_int_equal(open_regular_file(src, &fd, &size, &err), 0);
    struct atomicfile af;
    assert_int_equal(atomicfile_open(&af, f->dst, &err), 0);
    af.fail_after = 100;
    assert_int_equal(atomicfile_copy_from(&af, fd, size, &err), -ENOSPC);
    assert_int_equal(err.code, ENOSPC);
    atomicfile_abort(&af);
    close(fd);
    assert_file_bytes(f->dst, old_bytes, OLD_LEN);
    assert_int_equal(count_entries(f->dir), 2); /* dst and src, no temp */
    free(src);
}

static void test_pad_to_four(void **state)
{
    struct fixture *f = *state;
    struct atomicfile af;
    struct evm_err err = {0};
    assert_int_equal(atomicfile_open(&af, f->dst, &err), 0);
    /* Already aligned at 0: nothing. */
    assert_int_equal(atomicfile_pad(&af, 4, &err), 0);
    assert_true(af.written == 0);
    assert_int_equal(atomicfile_write(&af, "abcde", 5, &err), 0);
    assert_int_equal(atomicfile_pad(&af, 4, &err), 0);
    assert_true(af.written == 8);
    assert_int_equal(atomicfile_pad(&af, 4, &err), 0); /* aligned: no-op */
    assert_true(af.written == 8);
    assert_int_equal(atomicfile_write(&af, "xyz", 3, &err), 0);
    assert_int_equal(atomicfile_pad(&af, 4, &err), 0);
    assert_true(af.written == 12);
    assert_int_equal(atomicfile_write(&af, "q", 1, &err), 0);
    assert_int_equal(atomicfile_pad(&af, 1, &err), 0);
    assert_true(af.written == 13);
    assert_int_equal(atomicfile_pad(&af, 0, &err), -EINVAL);
    assert_int_equal(atomicfile_commit(&af, &err), 0);
    static const char want[13] = {'a', 'b', 'c', 'd', 'e', 0, 0, 0, 'x', 'y', 'z', 0, 'q'};
    assert_file_bytes(f->dst, want, sizeof(want));
}

static void test_copy_from_fd(void **state)
{
    struct fixture *f = *state;
    char *src = tu_path(f->dir, "src.bin");
    enum { N = 600001 }; /* more than one internal chunk, odd size */
    unsigned char *data = malloc(N);
    assert_non_null(data);
    tu_fill(data, N, 3);
    tu_write(src, data, N);

    int fd;
    uint64_t size;
    struct evm_err err = {0};
    assert_int_equal(open_regular_file(src, &fd, &size, &err), 0);
    assert_true(size == N);
    /* Copy from the fd's current position: skip 7 bytes first, leave 5 behind. */
    char skip[7];
    size_t got;
    assert_int_equal(read_full(fd, skip, sizeof(skip), &got, &err, "src"), 0);
    assert_int_equal(got, 7);

    struct atomicfile af;
    assert_int_equal(atomicfile_open(&af, f->dst, &err), 0);
    assert_int_equal(atomicfile_write(&af, "hdr", 3, &err), 0);
    assert_int_equal(atomicfile_copy_from(&af, fd, N - 12, &err), 0);
    assert_true(af.written == 3 + (uint64_t)N - 12);
    /* The fd is now 5 bytes from its end: asking for more reports the short source. */
    assert_int_equal(atomicfile_copy_from(&af, fd, 6, &err), -ENODATA);
    close(fd);
    atomicfile_abort(&af);

    /* And a clean run commits exactly header + the copied range. */
    assert_int_equal(open_regular_file(src, &fd, &size, &err), 0);
    assert_int_equal(read_full(fd, skip, sizeof(skip), &got, &err, "src"), 0);
    assert_int_equal(atomicfile_open(&af, f->dst, &err), 0);
    assert_int_equal(atomicfile_write(&af, "hdr", 3, &err), 0);
    assert_int_equal(atomicfile_copy_from(&af, fd, N - 12, &err), 0);
    assert_int_equal(atomicfile_commit(&af, &err), 0);
    close(fd);
    size_t len = 0;
    char *out = tu_read(f->dst, &len);
    assert_non_null(out);
    assert_int_equal(len, 3 + N - 12);
    assert_memory_equal(out, "hdr", 3);
    assert_memory_equal(out + 3, data + 7, N - 12);
    free(out);
    assert_int_equal(count_entries(f->dir), 2);
    free(data);
    free(src);
}

static void test_open_in_missing_directory_fails(void **state)
{
    struct fixture *f = *state;
    char *dst = tu_path(f->dir, "no-such-dir/boot.img");
    struct atomicfile af;
    struct evm_err err = {0};
    assert_int_equal(atomicfile_open(&af, dst, &err), -ENOENT);
    assert_int_equal(err.code, ENOENT);
    assert_non_null(strstr(err.msg, "boot.img"));
    assert_int_equal(af.fd, -1);
    atomicfile_abort(&af); /* safe after a failed open */
    assert_int_equal(count_entries(f->dir), 0);
    free(dst);
}

/* copy_head puts the source at offset 0 while appends land after it; an injected
 * failure inside the head leaves the previous file intact and no temp behind. */
static void test_copy_head(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *src = tu_path(dir, "src"), *dst = tu_path(dir, "dst");
    size_t n = 700001;
    char *data = malloc(n);
    assert_non_null(data);
    tu_fill(data, n, 42);
    tu_write(src, data, n);
    tu_write(dst, "old", 3);

    struct atomicfile af;
    struct evm_err err = {0};
    int fd;
    uint64_t size;
    assert_int_equal(open_regular_file(src, &fd, &size, &err), 0);
    assert_int_equal(atomicfile_open(&af, dst, &err), 0);
    assert_int_equal(atomicfile_copy_head(&af, fd, size, &err), 0);
    assert_int_equal(af.written, n);
    assert_int_equal(atomicfile_pad(&af, 4, &err), 0);
    assert_int_equal(atomicfile_write(&af, "TAIL", 4, &err), 0);
    assert_int_equal(atomicfile_commit(&af, &err), 0);
    size_t len;
    char *got = tu_read(dst, &len);
    assert_int_equal(len, (n + 3) / 4 * 4 + 4);
    assert_memory_equal(got, data, n);
    for (size_t i = n; i < (n + 3) / 4 * 4; i++)
        assert_int_equal(got[i], 0);
    assert_memory_equal(got + len - 4, "TAIL", 4);
    free(got);

    /* Injected failure inside the head. */
    assert_int_equal(atomicfile_open(&af, dst, &err), 0);
    af.fail_after = 1000;
    assert_int_equal(atomicfile_copy_head(&af, fd, size, &err), -ENOSPC);
    atomicfile_abort(&af);
    got = tu_read(dst, &len);
    assert_int_equal(len, (n + 3) / 4 * 4 + 4);
    assert_memory_equal(got, data, n);
    free(got);

    /* A head copy that is not first is a programming error reported as -EINVAL. */
    assert_int_equal(atomicfile_open(&af, dst, &err), 0);
    assert_int_equal(atomicfile_write(&af, "x", 1, &err), 0);
    assert_int_equal(atomicfile_copy_head(&af, fd, size, &err), -EINVAL);
    atomicfile_abort(&af);
    close(fd);
    tu_rmrf(dir);
    free(dir);
    free(src);
    free(dst);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_head),
        cmocka_unit_test_setup_teardown(test_commit_replaces_with_exact_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_creates_missing_destination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_keeps_previous_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_injected_failure_keeps_previous_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_injected_failure_in_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pad_to_four, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_from_fd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_in_missing_directory_fails, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
