/* test_swap.c — the swapfile (design §4 step 7): size, mode, header fields, no holes,
 * recognised by util-linux when present, atomic replacement of a leftover, refusals, a
 * real swapon/swapoff where the temp filesystem allows swap files; the sizing rule
 * (swap_size_mb) at its boundaries, and swap_setup on small filesystems (a private tmpfs,
 * root only): capped with a warning, none below the floor, never a failure. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/swap.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmdline.h"
#include "swap.h"
#include "testutil.h"

#define MIB (1024ull * 1024ull)
#define GIB (1024ull * MIB)

static char *run_out(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char *buf = calloc(1, 4096);
    size_t len = fread(buf, 1, 4095, f);
    buf[len] = '\0';
    pclose(f);
    return buf;
}

static void uuid_str(const unsigned char u[16], char out[37])
{
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
             u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
}

static void test_create_16mib(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "swapfile");
    mode_t old = umask(0); /* the mode must be 0600 whatever the umask */
    struct evm_err err = {0};
    int rc = swap_create(path, 16, &err);
    umask(old);
    if (rc != 0)
        fail_msg("swap_create: %d %s", rc, err.msg);

    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, 16 << 20);
    assert_true((uint64_t)st.st_blocks * 512u >= (uint64_t)st.st_size); /* no holes */
    char *tmp = tu_path(dir, "swapfile.new");
    assert_int_equal(access(tmp, F_OK), -1); /* no temporary left */
    free(tmp);

    long ps = sysconf(_SC_PAGESIZE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    char magic[10];
    assert_int_equal(pread(fd, magic, 10, ps - 10), 10);
    assert_memory_equal(magic, "SWAPSPACE2", 10);
    unsigned char boot[1024], zero[1024] = {0};
    assert_int_equal(pread(fd, boot, sizeof(boot), 0), (ssize_t)sizeof(boot));
    assert_memory_equal(boot, zero, sizeof(boot));
    uint32_t fields[3];
    assert_int_equal(pread(fd, fields, sizeof(fields), 1024), (ssize_t)sizeof(fields));
    assert_int_equal(fields[0], 1);                               /* version */
    assert_int_equal(fields[1], (uint32_t)((16 << 20) / ps - 1)); /* last_page */
    assert_int_equal(fields[2], 0);                               /* nr_badpages */
    struct swap_header_info h;
    assert_int_equal(swap_read_header(fd, &h, &err), 0);
    close(fd);
    assert_int_equal(h.version, 1);
    assert_string_equal(h.label, SWAP_LABEL);
    assert_int_equal(h.uuid[6] >> 4, 4);
    assert_int_equal(h.uuid[8] & 0xc0, 0x80);
    char uuid[37];
    uuid_str(h.uuid, uuid);

    if (access("/sbin/blkid", X_OK) == 0) {
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "/sbin/blkid -p -o value -s TYPE %s", path);
        char *out = run_out(cmd);
        assert_string_equal(out, "swap\n");
        free(out);
        snprintf(cmd, sizeof(cmd), "/sbin/blkid -p -o value -s UUID %s", path);
        out = run_out(cmd);
        out[strcspn(out, "\n")] = '\0';
        assert_string_equal(out, uuid);
        free(out);
    }
    if (access("/sbin/swaplabel", X_OK) == 0) {
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "/sbin/swaplabel %s", path);
        char *out = run_out(cmd);
        assert_non_null(strstr(out, "LABEL: " SWAP_LABEL));
        assert_non_null(strstr(out, uuid));
        free(out);
    }

    /* A second create replaces the file (new UUID), also over a leftover temporary. */
    char *leftover = tu_path(dir, "swapfile.new");
    tu_write(leftover, "junk", 4);
    assert_int_equal(swap_create(path, 1, &err), 0);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_size, 1 << 20);
    assert_int_equal(access(leftover, F_OK), -1);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    struct swap_header_info h2;
    assert_int_equal(swap_read_header(fd, &h2, &err), 0);
    close(fd);
    assert_int_equal(h2.last_page, (uint32_t)((1 << 20) / ps - 1));
    assert_memory_not_equal(h.uuid, h2.uuid, 16);
    free(leftover);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

static void test_create_edge_cases(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "swapfile");
    struct evm_err err = {0};
    /* mb == 0: nothing at all. */
    assert_int_equal(swap_create(path, 0, &err), 0);
    assert_int_equal(access(path, F_OK), -1);
    /* A symlink named like the swapfile is replaced, its target untouched. */
    char *victim = tu_path(dir, "victim");
    tu_write(victim, "keep", 4);
    assert_int_equal(symlink(victim, path), 0);
    assert_int_equal(swap_create(path, 1, &err), 0);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    size_t len;
    char *got = tu_read(victim, &len);
    assert_int_equal(len, 4);
    free(got);
    /* A missing directory: an error naming the path, no file. */
    char *bad = tu_path(dir, "no/such/swapfile");
    assert_int_equal(swap_create(bad, 1, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "no/such/swapfile"));
    free(bad);
    /* swap_read_header on something that is not swap. */
    int fd = open(victim, O_RDONLY | O_CLOEXEC);
    struct swap_header_info h;
    assert_int_equal(swap_read_header(fd, &h, &err), -EINVAL);
    close(fd);
    free(victim);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

static void test_enable_refusals(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct evm_err err = {0};
    char *missing = tu_path(dir, "missing");
    assert_int_equal(swap_enable(missing, &err), -ENOENT);
    assert_non_null(strstr(err.msg, missing));
    /* A symlink to a (valid) swapfile is refused: never swapon through a link. */
    char *real = tu_path(dir, "real");
    char *link = tu_path(dir, "link");
    assert_int_equal(swap_create(real, 1, &err), 0);
    assert_int_equal(symlink(real, link), 0);
    int rc = swap_enable(link, &err);
    if (rc == 0)
        swapoff(real); /* never leave a test file active as swap */
    assert_int_equal(rc, -EINVAL);
    assert_non_null(strstr(err.msg, "symlink"));
    /* A directory. */
    assert_int_equal(swap_enable(dir, &err), -EINVAL);
    free(link);
    free(real);
    free(missing);
    tu_rmrf(dir);
    free(dir);
}

static void test_swapon(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    char *dir = tu_tmpdir();
    struct statfs sf;
    assert_int_equal(statfs(dir, &sf), 0);
    if ((unsigned long)sf.f_type == 0x01021994ul || (unsigned long)sf.f_type == 0x794c7630ul) {
        print_message("temp dir is on tmpfs/overlay (no swap files): skipping swapon\n");
        tu_rmrf(dir);
        free(dir);
        skip();
    }
    char *path = tu_path(dir, "swapfile");
    struct evm_err err = {0};
    assert_int_equal(swap_create(path, 16, &err), 0);
    assert_int_equal(chmod(path, 0644), 0); /* swap_enable corrects the mode */
    int rc = swap_enable(path, &err);
    if (rc == -EINVAL || rc == -EPERM || rc == -ENOSYS || rc == -EOPNOTSUPP) {
        print_message("swapon not possible here (%s): skipping that part\n", err.msg);
        tu_rmrf(dir);
        free(path);
        free(dir);
        skip();
    }
    if (rc != 0)
        fail_msg("swap_enable: %d %s", rc, err.msg);
    char *swaps = tu_read("/proc/swaps", NULL);
    bool listed = swaps && strstr(swaps, path);
    free(swaps);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    /* Enabling it again is fine (already active). */
    int again = swap_enable(path, &err);
    assert_int_equal(swapoff(path), 0);
    assert_true(listed);
    assert_int_equal(again, 0);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

static void expect_size(unsigned req, uint64_t total, uint64_t avail, unsigned want,
                        bool want_capped)
{
    bool capped = !want_capped;
    unsigned got = swap_size_mb(req, total, avail, &capped);
    if (got != want || capped != want_capped)
        fail_msg("swap_size_mb(%u, %llu, %llu) = %u capped=%d, expected %u capped=%d", req,
                 (unsigned long long)total, (unsigned long long)avail, got, capped, want,
                 want_capped);
}

static void test_size_rule(void **state)
{
    (void)state;
    /* The documented constants (docs/guest-init.md). */
    assert_int_equal(SWAP_FS_DIVISOR, 4);
    assert_int_equal(SWAP_MIN_MB, 64);
    assert_int_equal(SWAP_RESERVE_MB, 256);
    /* Requested 0: no swap, nothing capped. */
    expect_size(0, 64 * GIB, 60 * GIB, 0, false);
    expect_size(0, 0, 0, 0, false);
    /* A large filesystem: the request as is. */
    expect_size(4096, 64 * GIB, 60 * GIB, 4096, false);
    expect_size(CMDLINE_SWAP_MB_MAX, 16384 * GIB, 16000 * GIB, CMDLINE_SWAP_MB_MAX, false);
    expect_size(4096, 16 * GIB, 16 * GIB, 4096, false); /* exactly a quarter */
    /* Capped at a quarter of the filesystem (issue 9 finding 11: 2 GiB, 4096 requested). */
    expect_size(4096, 2 * GIB, 1800 * MIB, 512, true);
    expect_size(4096, 16 * GIB - 1, 16 * GIB - 1, 4095, true); /* whole MiB, rounded down */
    /* Limited by what is free less the reserve. */
    expect_size(4096, 64 * GIB, 1024 * MIB, 768, true);
    expect_size(4096, 64 * GIB, (256 + 4096) * MIB, 4096, false);
    expect_size(4096, 64 * GIB, (256 + 4095) * MIB, 4095, true);
    /* The floor: 64 MiB or nothing. */
    expect_size(4096, 256 * MIB, 256 * MIB + 64 * MIB, 64, true);
    expect_size(4096, 256 * MIB - 1, 1 * GIB, 0, true);
    expect_size(4096, 64 * GIB, (256 + 64) * MIB, 64, true);
    expect_size(4096, 64 * GIB, (256 + 64) * MIB - 1, 0, true);
    expect_size(4096, 64 * GIB, 100 * MIB, 0, true); /* less free than the reserve */
    expect_size(4096, 64 * GIB, 0, 0, true);
    expect_size(64, 64 * GIB, 60 * GIB, 64, false);
    expect_size(63, 64 * GIB, 60 * GIB, 0, true); /* a request below the floor */
    expect_size(1, 64 * GIB, 60 * GIB, 0, true);
    /* capped may be NULL. */
    assert_int_equal(swap_size_mb(4096, 2 * GIB, 2 * GIB, NULL), 512);
}

/* Runs swap_setup with stderr captured into *log (freed by the caller). */
static void setup_logged(const char *path, unsigned mb, struct swap_outcome *o, char **log)
{
    char *dir = tu_tmpdir();
    char *file = tu_path(dir, "stderr");
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
    swap_setup(path, mb, o);
    fflush(stderr);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    *log = tu_read(file, NULL);
    fputs(*log, stderr); /* still shown in the test's output */
    tu_rmrf(dir);
    free(file);
    free(dir);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? st.st_size : -1;
}

static void fallocate_file(const char *path, uint64_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(fallocate(fd, 0, 0, (off_t)size), 0);
    close(fd);
}

/* An existing swapfile is kept whatever its size; requested 0 touches nothing. */
static void test_setup_keeps_existing(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "swapfile");
    struct evm_err err = {0};
    assert_int_equal(swap_create(path, 1, &err), 0);
    struct swap_outcome o;
    char *log;
    setup_logged(path, 0, &o, &log);
    assert_false(o.created);
    assert_false(o.enabled);
    assert_non_null(strstr(log, "swap: none (ephemerd.swap_mb=0)"));
    free(log);
    setup_logged(path, 4096, &o, &log);
    if (o.enabled)
        assert_int_equal(swapoff(path), 0); /* never leave a test file active as swap */
    assert_false(o.created);
    assert_int_equal(o.granted_mb, 0);
    assert_int_equal(file_size(path), 1 << 20);
    assert_null(strstr(log, "requested"));
    if (!o.enabled)
        assert_non_null(strstr(log, "booting without swap"));
    free(log);
    /* requested 0 and no swapfile: none made. */
    char *none = tu_path(dir, "none");
    setup_logged(none, 0, &o, &log);
    assert_int_equal(file_size(none), -1);
    free(log);
    free(none);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* A private mount namespace with a tmpfs of size_mb at dir; false (skipped) when this process
 * may not. */
static bool small_fs(const char *dir, unsigned size_mb)
{
    if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return false;
    char opts[64];
    snprintf(opts, sizeof(opts), "size=%um,mode=0700", size_mb);
    return mount("evm-test-swap", dir, "tmpfs", 0, opts) == 0;
}

/* Finding 11: 4096 MiB asked on a filesystem with room for far less boots with the swapfile
 * capped (a warning naming both sizes), or none below the floor; never an error. */
static void test_setup_small_fs(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    if (!small_fs(dir, 400)) {
        print_message("no private tmpfs here (needs root): skipping\n");
        tu_rmrf(dir);
        free(dir);
        skip();
    }
    char *path = tu_path(dir, "swapfile");
    char *leftover = tu_path(dir, "swapfile.new");
    /* A leftover of an interrupted create is removed before the filesystem is measured: its
     * 200 MiB would otherwise leave no room. */
    fallocate_file(leftover, 200 * MIB);
    struct swap_outcome o;
    char *log;
    setup_logged(path, 4096, &o, &log);
    if (o.enabled)
        assert_int_equal(swapoff(path), 0); /* a kernel with swap on tmpfs */
    else                                    /* tmpfs holds no swap: a warning, not a failure */
        assert_non_null(strstr(log, "booting without swap"));
    assert_true(o.created);
    assert_int_equal(o.granted_mb, 100); /* a quarter of 400 MiB */
    assert_int_equal(file_size(path), 100 * MIB);
    assert_int_equal(file_size(leftover), -1);
    assert_non_null(strstr(log, "warning: swap: 4096 MiB requested, 100 MiB granted"));
    free(log);
    /* The next boot keeps it: no new sizing. */
    setup_logged(path, 4096, &o, &log);
    if (o.enabled)
        assert_int_equal(swapoff(path), 0);
    assert_false(o.created);
    assert_int_equal(file_size(path), 100 * MIB);
    assert_null(strstr(log, "requested"));
    free(log);
    assert_int_equal(unlink(path), 0);
    /* Room for less than the floor: no swapfile, a warning, no error. */
    char *filler = tu_path(dir, "filler");
    fallocate_file(filler, 100 * MIB); /* 300 MiB free: 44 MiB after the reserve */
    setup_logged(path, 4096, &o, &log);
    assert_false(o.created);
    assert_false(o.enabled);
    assert_int_equal(file_size(path), -1);
    assert_non_null(strstr(log, "warning: swap: 4096 MiB requested, none granted"));
    assert_non_null(strstr(log, "booting without swap"));
    free(log);
    assert_int_equal(umount(dir), 0);
    free(filler);
    free(leftover);
    free(path);
    tu_rmrf(dir);
    free(dir);
}

/* The job after the launch: swap_setup on a thread of its own, at nice SWAP_NICE (the
 * thread's own priority: the caller's is untouched), its outcome handed back. */
static void test_job_runs_setup_on_its_own_thread(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "swapfile");
    int before = getpriority(PRIO_PROCESS, 0);
    struct swap_job job = {.path = path, .requested_mb = 0};
    struct evm_err err = {0};
    assert_int_equal(swap_job_start(&job, &err), 0);
    swap_job_wait(&job);
    assert_false(job.out.created);
    assert_false(job.out.enabled);
    assert_int_equal(file_size(path), -1); /* requested 0: nothing made */
    assert_int_equal(getpriority(PRIO_PROCESS, 0), before);
    /* No swapfile yet: the job makes one, sized by the rule (64 MiB fits any test disk),
     * and hands back what it did. */
    job = (struct swap_job){.path = path, .requested_mb = 64};
    assert_int_equal(swap_job_start(&job, &err), 0);
    swap_job_wait(&job);
    if (job.out.enabled)
        assert_int_equal(swapoff(path), 0); /* never leave a test file active as swap */
    assert_true(job.out.created);
    assert_int_equal(job.out.granted_mb, 64);
    assert_int_equal(file_size(path), 64 * MIB);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_16mib),
        cmocka_unit_test(test_create_edge_cases),
        cmocka_unit_test(test_enable_refusals),
        cmocka_unit_test(test_swapon),
        cmocka_unit_test(test_size_rule),
        cmocka_unit_test(test_setup_keeps_existing),
        cmocka_unit_test(test_setup_small_fs),
        cmocka_unit_test(test_job_runs_setup_on_its_own_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
