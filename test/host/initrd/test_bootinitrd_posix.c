/* test_bootinitrd_posix.c — POSIX-only properties of the builder: the boot initrd, the
 * cached member and its record are 0600 whatever the umask; a FIFO given as an input is
 * refused without blocking; a cached member that is a symbolic link or another user's file
 * is never read; a real failure of the background base copy is reported as writing the boot
 * initrd; on a small full filesystem (tmpfs, when the test may mount one) a full cache is
 * bypassed and a full output reported as such. */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileutil.h"
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
    tu_write(bin, buf, sizeof(buf));
    memcpy(buf, "070701", 6); /* a base starts like an initrd */
    tu_write(base, buf, sizeof(buf));
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
    assert_int_equal(members, 2); /* the member and its record */
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

struct fx {
    char *dir, *base, *bin, *out, *cache;
    char *bin_bytes;
    size_t bin_len;
};

static void fx_init(struct fx *f, size_t base_len, size_t bin_len)
{
    f->dir = tu_tmpdir();
    f->base = tu_path(f->dir, "base");
    f->bin = tu_path(f->dir, "bin");
    f->out = tu_path(f->dir, "boot.img");
    f->cache = tu_path(f->dir, "cache");
    char *b = malloc(base_len);
    assert_non_null(b);
    tu_fill(b, base_len, 3);
    memcpy(b, "070701", 6);
    tu_write(f->base, b, base_len);
    free(b);
    f->bin_len = bin_len;
    f->bin_bytes = malloc(bin_len);
    assert_non_null(f->bin_bytes);
    tu_fill(f->bin_bytes, bin_len, 4);
    tu_write(f->bin, f->bin_bytes, bin_len);
}

static void fx_free(struct fx *f)
{
    tu_rmrf(f->dir);
    free(f->dir);
    free(f->base);
    free(f->bin);
    free(f->out);
    free(f->cache);
    free(f->bin_bytes);
}

static int fx_build(struct fx *f, struct bootinitrd_result *res, struct evm_err *err)
{
    struct bootinitrd_opts o = {.base = f->base,
                                .binary = f->bin,
                                .boot_id = BOOT_ID,
                                .out = f->out,
                                .cache_dir = f->cache,
                                .compress = COMPRESS_NONE};
    return bootinitrd_build(&o, res, err);
}

/* The path of the one cached member. */
static char *member_of(const struct fx *f)
{
    DIR *d = opendir(f->cache);
    assert_non_null(d);
    struct dirent *de;
    char *m = NULL;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 7 && strcmp(de->d_name + n - 7, ".member") == 0) {
            assert_null(m);
            m = tu_path(f->cache, de->d_name);
        }
    }
    closedir(d);
    assert_non_null(m);
    return m;
}

static bool contains(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return true;
    return false;
}

/* A cached member replaced by a symbolic link (to a secret, say) is not followed: the build
 * discards the link, rebuilds the member, and the secret appears nowhere. The same for a
 * member another user owns (when the test runs as root). */
static void test_member_link_or_foreign_not_used(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 4000, 30000);
    struct evm_err err = {0};
    struct bootinitrd_result res;
    assert_int_equal(fx_build(&f, &res, &err), 0);
    size_t good_len;
    char *good = tu_read(f.out, &good_len);
    char *member = member_of(&f);
    size_t mlen;
    char *mbytes = tu_read(member, &mlen);

    char *secret = tu_path(f.dir, "secret");
    static const char secret_text[] = "TOP-SECRET-BYTES-0123456789";
    tu_write(secret, secret_text, sizeof(secret_text) - 1);
    assert_int_equal(unlink(member), 0);
    assert_int_equal(symlink(secret, member), 0);
    assert_int_equal(fx_build(&f, &res, &err), 0);
    assert_false(res.cache_hit);
    size_t len;
    char *out = tu_read(f.out, &len);
    assert_int_equal(len, good_len);
    assert_memory_equal(out, good, good_len);
    assert_false(contains(out, len, secret_text));
    free(out);
    struct stat st;
    assert_int_equal(lstat(member, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    char *sb = tu_read(secret, &len);
    assert_int_equal(len, sizeof(secret_text) - 1);
    free(sb);

    if (geteuid() == 0) {
        assert_int_equal(chown(member, 65534, 65534), 0);
        assert_int_equal(fx_build(&f, &res, &err), 0);
        assert_false(res.cache_hit);
        assert_int_equal(lstat(member, &st), 0);
        assert_int_equal(st.st_uid, 0);
        char *again = tu_read(member, &len);
        assert_int_equal(len, mlen);
        assert_memory_equal(again, mbytes, mlen);
        free(again);
    }
    free(secret);
    free(mbytes);
    free(member);
    free(good);
    fx_free(&f);
}

/* A real failure of the background base copy (the file-size limit, as a full disk would
 * fail it) is reported as copying the base into the boot initrd, naming its temporary file,
 * not as the member being written meanwhile. */
static void test_base_copy_failure_reported(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 512 * 1024, 64 * 1024);
    struct rlimit saved, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = saved;
    lim.rlim_cur = 256 * 1024;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    struct evm_err err = {0};
    struct bootinitrd_result res;
    int r = fx_build(&f, &res, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(r, -EFBIG);
    assert_non_null(strstr(err.msg, "copying the base initrd into the boot initrd"));
    assert_non_null(strstr(err.msg, "boot.img.tmp-"));
    assert_non_null(strstr(err.msg, "File too large"));
    assert_null(strstr(err.msg, "assets/"));
    assert_int_equal(access(f.out, F_OK), -1);
    fx_free(&f);
}

/* Entries of dir other than "." and ".."; -1 when it cannot be listed. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* A tmpfs of size bytes at dir; false when this test may not mount one (then it is skipped). */
static bool mount_small_fs(const char *dir, size_t size)
{
    char opts[64];
    snprintf(opts, sizeof(opts), "size=%zu,mode=0700", size);
    struct evm_err err = {0};
    assert_int_equal(mkdir_p(dir, &err), 0);
    if (mount("evm-test", dir, "tmpfs", 0, opts) == 0)
        return true;
    print_message("cannot mount a tmpfs at %s (%s): skipped\n", dir, strerror(errno));
    return false;
}

/* A cache on a full filesystem: the member does not fit; the build goes on, the output is
 * whole, and no temporary file or partial member is left in the cache. An output on a full
 * filesystem: the failure says it was writing the boot initrd and "No space left on
 * device". */
static void test_small_full_filesystem(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 64 * 1024, 1024 * 1024);
    free(f.cache);
    f.cache = tu_path(f.dir, "small");
    if (!mount_small_fs(f.cache, 256 * 1024)) {
        fx_free(&f);
        skip();
    }
    struct evm_err err = {0};
    struct bootinitrd_result res;
    int r = fx_build(&f, &res, &err);
    int entries = count_entries(f.cache);
    assert_int_equal(umount(f.cache), 0); /* before anything can end the test */
    assert_int_equal(r, 0);
    assert_false(res.cache_hit);
    assert_int_equal(entries, 0);
    size_t len;
    char *out = tu_read(f.out, &len);
    assert_int_equal(len, res.out_size);
    assert_true(contains(out, len, "assets/ephemerd-linux"));
    free(out);

    /* The output on the small filesystem: the base alone does not fit. */
    char *small = tu_path(f.dir, "small-out");
    assert_true(mount_small_fs(small, 32 * 1024));
    free(f.out);
    f.out = tu_path(small, "boot.img");
    free(f.cache);
    f.cache = tu_path(f.dir, "cache");
    evm_err_clear(&err);
    r = fx_build(&f, &res, &err);
    entries = count_entries(small);
    assert_int_equal(umount(small), 0);
    assert_int_equal(r, -ENOSPC);
    assert_non_null(strstr(err.msg, "boot initrd"));
    assert_non_null(strstr(err.msg, "boot.img.tmp-"));
    assert_non_null(strstr(err.msg, "No space left on device"));
    assert_null(strstr(err.msg, "assets/"));
    assert_int_equal(entries, 0);
    free(small);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes_with_umask_zero),
        cmocka_unit_test(test_fifo_input_refused),
        cmocka_unit_test(test_member_link_or_foreign_not_used),
        cmocka_unit_test(test_base_copy_failure_reported),
        cmocka_unit_test(test_small_full_filesystem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
