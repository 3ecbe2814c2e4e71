/* test_atomicfile_posix.c — POSIX-only atomicfile checks: the committed file is mode 0600
 * whatever the umask, and a real write failure (RLIMIT_FSIZE, as a full disk would fail)
 * leaves the previous file intact with no temporary file behind; the sweep leaves links,
 * special files, other users' files and other processes' live temporary files alone, also
 * while racing a writer; opening our own files refuses links, other owners and FIFOs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "atomicfile.h"
#include "fileutil.h"
#include "testutil.h"

static const char old_bytes[] = "the previous boot initrd\n";
#define OLD_LEN (sizeof(old_bytes) - 1)

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

static void test_mode_0600_with_umask_zero(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *dst = tu_path(dir, "out.img");
    /* The previous file is world-readable: the replacement must not inherit that. */
    tu_write(dst, old_bytes, OLD_LEN);
    assert_int_equal(chmod(dst, 0644), 0);

    mode_t saved = umask(0);
    struct atomicfile af;
    struct evm_err err = {0};
    int r = atomicfile_open(&af, dst, &err);
    struct stat st;
    if (r == 0) {
        /* The temporary file is already 0600 while being written. */
        assert_int_equal(fstat(af.fd, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        r = atomicfile_write(&af, "secret\n", 7, &err);
    }
    if (r == 0)
        r = atomicfile_commit(&af, &err);
    umask(saved);
    assert_int_equal(r, 0);
    assert_int_equal(stat(dst, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_file_bytes(dst, "secret\n", 7);
    assert_int_equal(count_entries(dir), 1);
    tu_rmrf(dir);
    free(dst);
    free(dir);
}

/* Runs one write or copy under a 4 KiB file-size limit and checks the failure. */
static void fsize_failure(int use_copy)
{
    char *dir = tu_tmpdir();
    char *dst = tu_path(dir, "out.img");
    char *src = tu_path(dir, "src.bin");
    enum { N = 64 * 1024 };
    char *data = malloc(N);
    assert_non_null(data);
    tu_fill(data, N, 5);
    tu_write(dst, old_bytes, OLD_LEN);
    tu_write(src, data, N);
    int sfd = -1;
    uint64_t size;
    struct evm_err err = {0};
    assert_int_equal(open_regular_file(src, &sfd, &size, &err), 0);

    struct rlimit saved, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_true(old_handler != SIG_ERR);
    lim = saved;
    lim.rlim_cur = 4096;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

    struct atomicfile af;
    int r = atomicfile_open(&af, dst, &err);
    int open_r = r;
    if (r == 0)
        r = use_copy ? atomicfile_copy_from(&af, sfd, N, &err)
                     : atomicfile_write(&af, data, N, &err);
    /* Restore before any assertion can end the test. */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, old_handler);

    assert_int_equal(open_r, 0);
    assert_int_equal(r, -EFBIG);
    assert_int_equal(err.code, EFBIG);
    assert_non_null(strstr(err.msg, "out.img"));
    atomicfile_abort(&af);
    close(sfd);
    assert_file_bytes(dst, old_bytes, OLD_LEN);
    assert_int_equal(count_entries(dir), 2); /* out.img and src.bin, no temporary */
    tu_rmrf(dir);
    free(data);
    free(src);
    free(dst);
    free(dir);
}

static void test_real_write_failure_keeps_previous_file(void **state)
{
    (void)state;
    fsize_failure(0);
}

static void test_real_copy_failure_keeps_previous_file(void **state)
{
    (void)state;
    fsize_failure(1);
}

/* A source the kernel cannot copy from (a pipe) takes the read/write path, sequentially
 * and positionally (the background head copy), with the same bytes. */
static void test_copy_without_kernel_copy(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *dst = tu_path(dir, "out");
    char data[40000];
    tu_fill(data, sizeof(data), 9);
    for (int positional = 0; positional < 2; positional++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        assert_int_equal(write(p[1], data, sizeof(data)), (ssize_t)sizeof(data));
        close(p[1]);
        struct atomicfile af;
        struct evm_err err = {0};
        assert_int_equal(atomicfile_open(&af, dst, &err), 0);
        if (positional)
            assert_int_equal(atomicfile_copy_head(&af, p[0], sizeof(data), &err), 0);
        else
            assert_int_equal(atomicfile_copy_from(&af, p[0], sizeof(data), &err), 0);
        assert_int_equal(atomicfile_write(&af, "END", 3, &err), 0);
        int r = atomicfile_commit(&af, &err);
        close(p[0]);
        if (positional && r == -ESPIPE) /* a pipe has no positions: reported, not hidden */
            continue;
        assert_int_equal(r, 0);
        size_t len;
        char *got = tu_read(dst, &len);
        assert_int_equal(len, sizeof(data) + 3);
        assert_memory_equal(got, data, sizeof(data));
        assert_memory_equal(got + sizeof(data), "END", 3);
        free(got);
    }
    tu_rmrf(dir);
    free(dir);
    free(dst);
}

/* Temporary-file names that are not a dead writer's regular file of ours survive the sweep:
 * a symbolic link (and its target), a dangling one, a FIFO (without blocking), and, when
 * the test runs as root, a file another user owns. */
static void test_sweep_leaves_links_and_foreign_files(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *dst = tu_path(dir, "boot.img");
    char *victim = tu_path(dir, "victim");
    char *link = tu_path(dir, "boot.img.tmp-bbbbbbbbbbbb");
    char *dangling = tu_path(dir, "boot.img.tmp-cccccccccccc");
    char *fifo = tu_path(dir, "boot.img.tmp-dddddddddddd");
    char *foreign = tu_path(dir, "boot.img.tmp-eeeeeeeeeeee");
    tu_write(victim, "precious", 8);
    assert_int_equal(symlink(victim, link), 0);
    assert_int_equal(symlink("/nonexistent/evm", dangling), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    tu_write(foreign, "theirs", 6);
    bool root = geteuid() == 0;
    if (root)
        assert_int_equal(chown(foreign, 65534, 65534), 0);
    struct evm_err err = {0};
    assert_int_equal(atomicfile_sweep_dst(dst, &err), root ? 0 : 1);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(lstat(dangling, &st), 0);
    assert_int_equal(lstat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(lstat(foreign, &st), root ? 0 : -1);
    assert_file_bytes(victim, "precious", 8);
    tu_rmrf(dir);
    free(dir);
    free(dst);
    free(victim);
    free(link);
    free(dangling);
    free(fifo);
    free(foreign);
}

/* A writer in another process keeps its temporary file while it lives; once it is killed,
 * the next sweep removes it. */
static void test_sweep_spares_live_writer_until_killed(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *dst = tu_path(dir, "boot.img");
    int up[2], hold[2];
    assert_int_equal(pipe(up), 0);
    assert_int_equal(pipe(hold), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(up[0]);
        close(hold[1]); /* so that the read below ends when the test does */
        struct atomicfile af;
        struct evm_err e = {0};
        if (atomicfile_open(&af, dst, &e) < 0 || atomicfile_write(&af, "live", 4, &e) < 0)
            _exit(1);
        char name[512] = {0};
        snprintf(name, sizeof(name), "%s", af.tmp);
        if (write(up[1], name, sizeof(name)) != (ssize_t)sizeof(name))
            _exit(1);
        char c;
        (void)read(hold[0], &c, 1); /* until killed (or the test ends) */
        _exit(0);
    }
    close(up[1]);
    close(hold[0]);
    char tmp[512];
    assert_int_equal(read(up[0], tmp, sizeof(tmp)), (ssize_t)sizeof(tmp));
    struct evm_err err = {0};
    assert_int_equal(atomicfile_sweep_dst(dst, &err), 0);
    assert_int_equal(path_exists(tmp), 1);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(atomicfile_sweep_dst(dst, &err), 1);
    assert_int_equal(path_exists(tmp), 0);
    close(up[0]);
    close(hold[1]);
    tu_rmrf(dir);
    free(dir);
    free(dst);
}

/* A sweeper running flat out beside a writer never takes a live temporary file: every one
 * of the writer's commits succeeds (a removed temporary file would fail its rename). */
static void test_sweep_races_writer(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *dst = tu_path(dir, "boot.img");
    enum { ROUNDS = 300 };
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char buf[4096];
        memset(buf, 'w', sizeof(buf));
        for (int i = 0; i < ROUNDS; i++) {
            struct atomicfile af;
            struct evm_err e = {0};
            if (atomicfile_open(&af, dst, &e) < 0 ||
                atomicfile_write(&af, buf, sizeof(buf), &e) < 0 || atomicfile_commit(&af, &e) < 0) {
                fprintf(stderr, "writer round %d: %s\n", i, e.msg);
                _exit(1);
            }
        }
        _exit(0);
    }
    int status = 0, sweeps = 0;
    struct evm_err err = {0};
    while (waitpid(pid, &status, WNOHANG) == 0) {
        assert_true(atomicfile_sweep_dst(dst, &err) >= 0);
        sweeps++;
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(sweeps > 0);
    assert_int_equal(count_entries(dir), 1);
    tu_rmrf(dir);
    free(dir);
    free(dst);
}

/* Our own files only: a symbolic link (even to our file), a FIFO and (as root) another
 * user's file are refused; touch marks the file used now. */
static void test_open_owned_refusals_and_touch(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *mine = tu_path(dir, "mine"), *link = tu_path(dir, "link");
    char *fifo = tu_path(dir, "fifo"), *theirs = tu_path(dir, "theirs");
    tu_write(mine, "ours", 4);
    assert_int_equal(symlink(mine, link), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    tu_write(theirs, "theirs", 6);
    int fd = -1;
    uint64_t size;
    struct evm_err err = {0};
    assert_int_equal(atomicfile_open_owned(link, false, &fd, &size, &err), -ELOOP);
    assert_non_null(strstr(err.msg, "symbolic link"));
    assert_int_equal(atomicfile_open_owned(fifo, false, &fd, &size, &err), -EINVAL);
    if (geteuid() == 0) {
        assert_int_equal(chown(theirs, 65534, 65534), 0);
        assert_int_equal(atomicfile_open_owned(theirs, false, &fd, &size, &err), -EPERM);
        assert_non_null(strstr(err.msg, "owned by uid 65534"));
    }
    struct utimbuf old = {.actime = 1000, .modtime = 1000};
    assert_int_equal(utime(mine, &old), 0);
    assert_int_equal(atomicfile_open_owned(mine, false, &fd, &size, &err), 0);
    close(fd);
    struct stat st;
    assert_int_equal(stat(mine, &st), 0);
    assert_int_equal(st.st_mtime, 1000);
    assert_int_equal(atomicfile_open_owned(mine, true, &fd, &size, &err), 0);
    assert_int_equal(size, 4);
    close(fd);
    assert_int_equal(stat(mine, &st), 0);
    assert_true(st.st_mtime > time(NULL) - 600);
    tu_rmrf(dir);
    free(dir);
    free(mine);
    free(link);
    free(fifo);
    free(theirs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode_0600_with_umask_zero),
        cmocka_unit_test(test_copy_without_kernel_copy),
        cmocka_unit_test(test_real_write_failure_keeps_previous_file),
        cmocka_unit_test(test_real_copy_failure_keeps_previous_file),
        cmocka_unit_test(test_sweep_leaves_links_and_foreign_files),
        cmocka_unit_test(test_sweep_spares_live_writer_until_killed),
        cmocka_unit_test(test_sweep_races_writer),
        cmocka_unit_test(test_open_owned_refusals_and_touch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
