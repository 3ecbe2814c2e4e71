/* test_swap.c — the swapfile (design §4 step 7): size, mode, header fields, no holes,
 * recognised by util-linux when present, atomic replacement of a leftover, refusals, and a
 * real swapon/swapoff where the temp filesystem allows swap files. */
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
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/swap.h>
#include <unistd.h>

#include <cmocka.h>

#include "swap.h"
#include "testutil.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_16mib),
        cmocka_unit_test(test_create_edge_cases),
        cmocka_unit_test(test_enable_refusals),
        cmocka_unit_test(test_swapon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
