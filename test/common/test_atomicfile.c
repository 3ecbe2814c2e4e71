/* test_atomicfile.c — atomic file replacement (common/atomicfile.c and the platform part),
 * portable: runs natively and under wine. Commit replaces the destination with exactly the
 * new bytes; abort and injected write failures leave the previous file byte-identical and
 * no temporary file behind; padding; copies from an fd; hashing what is written; a
 * best-effort file that fails without failing its caller; the sweep of dead writers'
 * temporary files by their exact name pattern, never a live writer's; opening our own files.
 * POSIX-only checks (mode 0600, a real RLIMIT_FSIZE failure, links, owners, other
 * processes) are in test_atomicfile_posix.c. */
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
#include "digest.h"
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

    /* Injected failure inside the head: it happens in the background, as a real one would;
     * appends after the head fail too (the disk is full), and commit reports the head's
     * failure naming the temporary file. The previous file is intact. */
    assert_int_equal(atomicfile_open(&af, dst, &err), 0);
    af.fail_after = 1000;
    assert_int_equal(atomicfile_copy_head(&af, fd, size, &err), 0);
    assert_int_equal(atomicfile_write(&af, "TAIL", 4, &err), -ENOSPC);
    char tmp_name[600];
    snprintf(tmp_name, sizeof(tmp_name), "%s", af.tmp);
    assert_int_equal(atomicfile_commit(&af, &err), -ENOSPC);
    assert_non_null(strstr(err.msg, tmp_name));
    assert_non_null(strstr(err.msg, "No space left on device"));
    got = tu_read(dst, &len);
    assert_int_equal(len, (n + 3) / 4 * 4 + 4);
    assert_memory_equal(got, data, n);
    free(got);

    /* atomicfile_wait_head gives the head's failure to a caller whose own write failed. */
    assert_int_equal(atomicfile_open(&af, dst, &err), 0);
    af.fail_after = 1000;
    assert_int_equal(atomicfile_copy_head(&af, fd, size, &err), 0);
    assert_int_equal(atomicfile_write(&af, "TAIL", 4, &err), -ENOSPC);
    assert_int_equal(af.write_error, -ENOSPC);
    evm_err_clear(&err);
    assert_int_equal(atomicfile_wait_head(&af, &err), -ENOSPC);
    assert_non_null(strstr(err.msg, "No space left on device"));
    assert_int_equal(atomicfile_wait_head(&af, &err), 0); /* once */
    atomicfile_abort(&af);

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

/* Every byte atomicfile_write writes is hashed when a digest is set; copies are refused
 * then, since their bytes are not seen. */
static void test_digest_of_written_bytes(void **state)
{
    struct fixture *f = *state;
    enum { N = 70001 };
    unsigned char *data = malloc(N);
    assert_non_null(data);
    tu_fill(data, N, 5);
    struct atomicfile af;
    struct evm_err err = {0};
    struct digest d;
    digest_init(&d);
    assert_int_equal(atomicfile_open(&af, f->dst, &err), 0);
    af.digest = &d;
    assert_int_equal(atomicfile_write(&af, data, 1000, &err), 0);
    assert_int_equal(atomicfile_write(&af, data + 1000, N - 1000, &err), 0);
    assert_int_equal(atomicfile_copy_from(&af, 0, 1, &err), -EINVAL);
    assert_int_equal(atomicfile_commit(&af, &err), 0);
    uint8_t got[DIGEST_LEN], want[DIGEST_LEN];
    digest_final(&d, got);
    digest_buf(data, N, want);
    assert_memory_equal(got, want, DIGEST_LEN);
    assert_file_bytes(f->dst, data, N);
    free(data);
}

/* A best-effort file (a cache) that fails does not fail its caller: the failure is kept, the
 * temporary file goes at once, later writes do nothing, and commit returns the failure
 * without touching the destination. */
static void test_best_effort_failure(void **state)
{
    struct fixture *f = *state;
    tu_write(f->dst, old_bytes, OLD_LEN);
    char data[300];
    tu_fill(data, sizeof(data), 3);
    struct atomicfile af;
    struct evm_err err = {0}, kept = {0};
    assert_int_equal(atomicfile_open(&af, f->dst, &err), 0);
    af.best_effort = &kept;
    af.fail_after = 200;
    assert_int_equal(atomicfile_write(&af, data, 150, &err), 0);
    assert_int_equal(kept.code, 0);
    assert_int_equal(atomicfile_write(&af, data + 150, 150, &err), 0);
    assert_int_equal(err.code, 0); /* the caller's error is left alone */
    assert_int_equal(kept.code, ENOSPC);
    assert_non_null(strstr(kept.msg, "No space left"));
    assert_int_equal(af.write_error, -ENOSPC);
    assert_int_equal(count_entries(f->dir), 1); /* the temporary file is gone already */
    assert_int_equal(atomicfile_write(&af, data, 10, &err), 0);
    assert_int_equal(atomicfile_pad(&af, 4, &err), 0);
    assert_int_equal(atomicfile_commit(&af, &err), -ENOSPC);
    assert_non_null(strstr(err.msg, "No space left"));
    assert_file_bytes(f->dst, old_bytes, OLD_LEN);
    atomicfile_abort(&af); /* harmless after that */
    assert_int_equal(count_entries(f->dir), 1);

    /* Without a failure a best-effort file commits like any other. */
    evm_err_clear(&kept);
    assert_int_equal(atomicfile_open(&af, f->dst, &err), 0);
    af.best_effort = &kept;
    assert_int_equal(atomicfile_write(&af, data, sizeof(data), &err), 0);
    assert_int_equal(atomicfile_commit(&af, &err), 0);
    assert_file_bytes(f->dst, data, sizeof(data));
}

static void test_temp_name_pattern(void **state)
{
    (void)state;
    size_t n = 0;
    assert_true(atomicfile_is_temp_name("boot.img.tmp-0123456789ab", &n));
    assert_int_equal(n, 8);
    assert_true(atomicfile_is_temp_name("x.tmp-ffffffffffff", &n));
    assert_int_equal(n, 1);
    assert_false(atomicfile_is_temp_name(".tmp-0123456789ab", &n));          /* no stem */
    assert_false(atomicfile_is_temp_name("boot.img.tmp-ABCDEF012345", &n));  /* uppercase */
    assert_false(atomicfile_is_temp_name("boot.img.tmp-0123456789a", &n));   /* 11 digits */
    assert_false(atomicfile_is_temp_name("boot.img.tmp-0123456789abc", &n)); /* 13 digits */
    assert_false(atomicfile_is_temp_name("boot.img.tmp-zz", &n));
    assert_false(atomicfile_is_temp_name("boot.img.tmpx", &n));
    assert_false(atomicfile_is_temp_name("boot.img.tmp_0123456789ab", &n));
    assert_false(atomicfile_is_temp_name("boot.img", &n));
    assert_false(atomicfile_is_temp_name("", &n));
}

/* The sweep removes a dead writer's temporary file of the destination and nothing else:
 * names that only look alike, other destinations' temporary files, a directory with a
 * temporary file's name, and a live writer's temporary file all survive. */
static void test_sweep_by_pattern_only(void **state)
{
    struct fixture *f = *state;
    static const char *const survivors[] = {
        "boot.img",
        "boot.img.tmp-zz",
        "boot.img.tmpx",
        "boot.img.tmp-ABCDEF012345", /* uppercase (names differ also without case) */
        "boot.img.tmp-0123456789a",
        "boot.img.tmp-0123456789abc",
        "xboot.img.tmp-0123456789ab",
        "other.img.tmp-0123456789ab",
        "boot.img.tmp-0123456789ab.keep",
        "status.json",
    };
    for (size_t i = 0; i < sizeof(survivors) / sizeof(survivors[0]); i++) {
        char *p = tu_path(f->dir, survivors[i]);
        tu_write(p, "keep", 4);
        free(p);
    }
    char *dead = tu_path(f->dir, "boot.img.tmp-0123456789ab");
    char *dead2 = tu_path(f->dir, "boot.img.tmp-fedcba987654");
    char *adir = tu_path(f->dir, "boot.img.tmp-aaaaaaaaaaaa");
    tu_write(dead, "dead writer", 11);
    tu_write(dead2, "", 0);
    struct evm_err err = {0};
    assert_int_equal(mkdir_p(adir, &err), 0);
    struct atomicfile live;
    assert_int_equal(atomicfile_open(&live, f->dst, &err), 0);
    assert_int_equal(atomicfile_write(&live, "live", 4, &err), 0);
    int before = count_entries(f->dir);

    assert_int_equal(atomicfile_sweep_dst(f->dst, &err), 2);
    assert_int_equal(count_entries(f->dir), before - 2);
    assert_int_equal(path_exists(dead), 0);
    assert_int_equal(path_exists(dead2), 0);
    assert_int_equal(path_exists(adir), 1);
    assert_int_equal(path_exists(live.tmp), 1);
    for (size_t i = 0; i < sizeof(survivors) / sizeof(survivors[0]); i++) {
        char *p = tu_path(f->dir, survivors[i]);
        assert_int_equal(path_exists(p), 1);
        free(p);
    }
    /* The live writer is unharmed and commits. */
    assert_int_equal(atomicfile_commit(&live, &err), 0);
    assert_file_bytes(f->dst, "live", 4);
    /* Nothing more to do; a missing directory is nothing to do either. */
    assert_int_equal(atomicfile_sweep_dst(f->dst, &err), 0);
    char *missing = tu_path(f->dir, "no-such-dir/boot.img");
    assert_int_equal(atomicfile_sweep_dst(missing, &err), 0);
    free(missing);
    free(dead);
    free(dead2);
    free(adir);
}

/* Our own file opens; a missing one is -ENOENT; a directory is refused. */
static void test_open_owned(void **state)
{
    struct fixture *f = *state;
    tu_write(f->dst, old_bytes, OLD_LEN);
    struct evm_err err = {0};
    int fd = -1;
    uint64_t size = 0;
    assert_int_equal(atomicfile_open_owned(f->dst, true, &fd, &size, &err), 0);
    assert_int_equal(size, OLD_LEN);
    char buf[OLD_LEN];
    size_t got;
    assert_int_equal(read_full(fd, buf, sizeof(buf), &got, &err, "dst"), 0);
    assert_int_equal(got, OLD_LEN);
    assert_memory_equal(buf, old_bytes, OLD_LEN);
    close(fd);
    char *missing = tu_path(f->dir, "missing");
    assert_int_equal(atomicfile_open_owned(missing, false, &fd, &size, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "missing"));
    assert_int_equal(atomicfile_open_owned(f->dir, false, &fd, &size, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "not a regular file"));
    free(missing);
}

/* A destination must be a file name in an existing directory, and not a directory. */
static void test_check_dst(void **state)
{
    struct fixture *f = *state;
    struct evm_err err = {0};
    assert_int_equal(atomicfile_check_dst(f->dst, &err), 0); /* missing file: fine */
    tu_write(f->dst, "x", 1);
    assert_int_equal(atomicfile_check_dst(f->dst, &err), 0);
    assert_int_equal(atomicfile_check_dst("boot.img", &err), 0); /* the working directory */
    assert_int_equal(atomicfile_check_dst("", &err), -EINVAL);
    assert_int_equal(atomicfile_check_dst(NULL, &err), -EINVAL);
    assert_int_equal(atomicfile_check_dst(f->dir, &err), -EISDIR);
    assert_non_null(strstr(err.msg, "a directory"));
    char *slash = tu_path(f->dir, "sub/");
    assert_int_equal(atomicfile_check_dst(slash, &err), -EISDIR);
    char *missing = tu_path(f->dir, "missing/boot.img");
    assert_int_equal(atomicfile_check_dst(missing, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "no directory"));
    char *under_file = tu_path(f->dst, "boot.img"); /* the "directory" is a file */
    assert_int_equal(atomicfile_check_dst(under_file, &err), -ENOENT);
    free(slash);
    free(missing);
    free(under_file);
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
        cmocka_unit_test_setup_teardown(test_digest_of_written_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_best_effort_failure, setup, teardown),
        cmocka_unit_test(test_temp_name_pattern),
        cmocka_unit_test_setup_teardown(test_sweep_by_pattern_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_owned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_dst, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
