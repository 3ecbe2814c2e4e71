/* test_verify.c — tail verification (guest/verify.c) against tails built in a temporary
 * root: a good tail passes, and every mismatch is refused with an error code and a message
 * naming the file and what differed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "manifest.h"
#include "tail.h"
#include "testutil.h"
#include "verify.h"

#define BID "0123456789abcdef0123456789abcdef"
#define BID2 "fedcba9876543210fedcba9876543210"
#define BIN_BYTES                                                                                  \
    "\x7f"                                                                                         \
    "ELF fake daemon binary\n"
#define CFG_BYTES "[log]\nlevel = \"debug\"\ntoken = \"s3cret\"\n"

struct tail {
    char *root;
    struct manifest m;
};

static char *rp(const struct tail *t, const char *rel)
{
    return tu_path(t->root, rel);
}

static void put(const struct tail *t, const char *rel, const char *bytes, mode_t mode)
{
    char *p = rp(t, rel);
    tu_write(p, bytes, strlen(bytes));
    assert_int_equal(chmod(p, mode), 0);
    free(p);
}

/* Lists rel in the manifest with the given bytes and mode (the file itself is not made). */
static void list(struct tail *t, const char *rel, const char *bytes, unsigned mode)
{
    uint8_t sum[32];
    digest_buf(bytes, strlen(bytes), sum);
    struct evm_err err = {0};
    assert_int_equal(manifest_add(&t->m, rel, mode, strlen(bytes), sum, &err), 0);
}

static void write_manifest(const struct tail *t)
{
    char text[MANIFEST_MAX_BYTES];
    size_t len = 0;
    struct evm_err err = {0};
    assert_int_equal(manifest_format(&t->m, text, sizeof(text), &len, &err), 0);
    char *p = rp(t, TAIL_MANIFEST);
    tu_write(p, text, len);
    assert_int_equal(chmod(p, 0600), 0);
    free(p);
}

/* A good tail: binary, optionally config, and the manifest listing them. */
static void make_tail(struct tail *t, int with_config)
{
    memset(t, 0, sizeof(*t));
    t->root = tu_tmpdir();
    char *a = rp(t, TAIL_DIR);
    assert_int_equal(mkdir(a, 0755), 0);
    free(a);
    memcpy(t->m.boot_id, BID, sizeof(BID));
    put(t, TAIL_BINARY, BIN_BYTES, 0755);
    list(t, TAIL_BINARY, BIN_BYTES, 0755);
    if (with_config) {
        put(t, TAIL_CONFIG, CFG_BYTES, 0600);
        list(t, TAIL_CONFIG, CFG_BYTES, 0600);
    }
    write_manifest(t);
}

static void drop_tail(struct tail *t)
{
    tu_rmrf(t->root);
    free(t->root);
}

static void expect_fail(const struct tail *t, const char *boot_id, int code, const char *frag1,
                        const char *frag2)
{
    struct manifest m;
    struct evm_err err = {0};
    int r = verify_tail(t->root, boot_id, &m, &err);
    if (r != -code || !strstr(err.msg, frag1) || (frag2 && !strstr(err.msg, frag2)))
        fail_msg("expected -%d with \"%s\" and \"%s\", got %d: \"%s\"", code, frag1,
                 frag2 ? frag2 : "", r, err.msg);
}

static void test_good_tail_with_config(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 1);
    struct manifest m;
    struct evm_err err = {0};
    int r = verify_tail(t.root, BID, &m, &err);
    if (r != 0)
        fail_msg("good tail refused: %s", err.msg);
    assert_string_equal(m.boot_id, BID);
    assert_int_equal(m.nfiles, 2);
    assert_non_null(manifest_find(&m, TAIL_CONFIG));
    assert_non_null(manifest_find(&m, TAIL_BINARY));
    drop_tail(&t);
}

static void test_good_tail_without_config(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 0);
    struct manifest m;
    struct evm_err err = {0};
    int r = verify_tail(t.root, BID, &m, &err);
    if (r != 0)
        fail_msg("good tail refused: %s", err.msg);
    assert_int_equal(m.nfiles, 1);
    assert_null(manifest_find(&m, TAIL_CONFIG));
    drop_tail(&t);
}

static void test_truncated_manifest(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 1);
    char *p = rp(&t, TAIL_MANIFEST);
    size_t len;
    char *text = tu_read(p, &len);
    assert_non_null(text);
    tu_write(p, text, len - 10); /* cut in the middle of the last digest */
    free(text);
    free(p);
    expect_fail(&t, BID, EINVAL, "assets/manifest", "truncated");
    drop_tail(&t);
}

static void test_wrong_digest(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 1);
    /* Same size and mode, one byte different. */
    char other[] = CFG_BYTES;
    other[3] ^= 1;
    put(&t, TAIL_CONFIG, other, 0600);
    char want[DIGEST_HEX_LEN + 1];
    hex_encode(manifest_find(&t.m, TAIL_CONFIG)->sha256, 32, want);
    char frag[128];
    snprintf(frag, sizeof(frag), "(manifest %s, file ", want);
    expect_fail(&t, BID, EBADMSG, "assets/config.toml: sha256 mismatch", frag);
    drop_tail(&t);
}

static void test_wrong_size(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 1);
    put(&t, TAIL_BINARY, BIN_BYTES "x", 0755);
    char frag[128];
    snprintf(frag, sizeof(frag), "assets/ephemerd-linux: size %zu, manifest says %zu",
             strlen(BIN_BYTES) + 1, strlen(BIN_BYTES));
    expect_fail(&t, BID, EBADMSG, frag, NULL);
    drop_tail(&t);
}

static void test_wrong_mode(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 1);
    char *p = rp(&t, TAIL_CONFIG);
    assert_int_equal(chmod(p, 0644), 0);
    free(p);
    expect_fail(&t, BID, EBADMSG, "assets/config.toml: mode 0644, manifest says 0600", NULL);
    drop_tail(&t);
}

static void test_wrong_boot_id(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 1);
    expect_fail(&t, BID2, EBADMSG, "boot-id mismatch: manifest " BID ", kernel command line " BID2,
                NULL);
    /* The manifest always carries a boot-id: no boot id on the command line is a mismatch. */
    expect_fail(&t, NULL, EBADMSG, "boot-id mismatch: manifest " BID, "no ephemerd.boot_id");
    expect_fail(&t, "", EBADMSG, "boot-id mismatch", "no ephemerd.boot_id");
    drop_tail(&t);
}

static void test_listed_file_missing(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 1);
    char *p = rp(&t, TAIL_CONFIG);
    assert_int_equal(unlink(p), 0);
    free(p);
    expect_fail(&t, BID, ENOENT, "assets/config.toml: listed in the manifest but missing", NULL);
    drop_tail(&t);
}

static void test_listed_file_in_missing_dir(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 0);
    list(&t, "assets/extra/x", "x", 0644);
    write_manifest(&t);
    expect_fail(&t, BID, ENOENT, "assets/extra/x: listed in the manifest but missing", NULL);
    drop_tail(&t);
}

static void test_unlisted_config_present(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 0);
    put(&t, TAIL_CONFIG, CFG_BYTES, 0600);
    expect_fail(&t, BID, EBADMSG, "assets/config.toml: present in the tail but not listed", NULL);
    drop_tail(&t);
}

static void test_unlisted_config_symlink_present(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 0);
    char *p = rp(&t, TAIL_CONFIG);
    assert_int_equal(symlink("/nonexistent/config.toml", p), 0);
    free(p);
    expect_fail(&t, BID, EBADMSG, "assets/config.toml: present in the tail but not listed", NULL);
    drop_tail(&t);
}

static void test_listed_file_is_symlink(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 1);
    /* The link points at a file with exactly the listed bytes and mode: still refused. */
    char *real = rp(&t, "real-config");
    tu_write(real, CFG_BYTES, strlen(CFG_BYTES));
    assert_int_equal(chmod(real, 0600), 0);
    char *p = rp(&t, TAIL_CONFIG);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(symlink(real, p), 0);
    free(p);
    free(real);
    expect_fail(&t, BID, ELOOP, "assets/config.toml: is a symlink", NULL);
    drop_tail(&t);
}

static void test_assets_dir_is_symlink(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 1);
    /* Move the whole good tail elsewhere and point assets at it. */
    char *a = rp(&t, TAIL_DIR), *elsewhere = rp(&t, "elsewhere");
    assert_int_equal(rename(a, elsewhere), 0);
    assert_int_equal(symlink("elsewhere", a), 0);
    free(a);
    free(elsewhere);
    struct manifest m;
    struct evm_err err = {0};
    char text[MANIFEST_MAX_BYTES];
    size_t len;
    assert_int_equal(manifest_format(&t.m, text, sizeof(text), &len, &err), 0);
    int r = verify_tail_text(t.root, BID, text, len, &m, &err);
    if (r != -ELOOP || !strstr(err.msg, "assets/ephemerd-linux") ||
        !strstr(err.msg, "is a symlink"))
        fail_msg("got %d: %s", r, err.msg);
    drop_tail(&t);
}

static void test_listed_file_not_regular(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 1);
    char *p = rp(&t, TAIL_CONFIG);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(mkfifo(p, 0600), 0); /* must be refused without blocking */
    free(p);
    expect_fail(&t, BID, EINVAL, "assets/config.toml: not a regular file (a FIFO)", NULL);
    drop_tail(&t);
}

static void test_binary_not_listed(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 0);
    memset(&t.m, 0, sizeof(t.m));
    memcpy(t.m.boot_id, BID, sizeof(BID));
    write_manifest(&t);
    expect_fail(&t, BID, EBADMSG, "assets/ephemerd-linux: not listed in the manifest", NULL);
    drop_tail(&t);
}

static void test_manifest_missing(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 1);
    char *p = rp(&t, TAIL_MANIFEST);
    assert_int_equal(unlink(p), 0);
    free(p);
    expect_fail(&t, BID, ENOENT, "assets/manifest", "missing");
    /* No tail at all (no assets directory). */
    char *bare = tu_tmpdir();
    struct manifest m;
    struct evm_err err = {0};
    int r = verify_tail(bare, BID, &m, &err);
    if (r != -ENOENT || !strstr(err.msg, "assets/manifest"))
        fail_msg("got %d: %s", r, err.msg);
    tu_rmrf(bare);
    free(bare);
    drop_tail(&t);
}

static void test_manifest_symlink_or_too_big(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 1);
    char *p = rp(&t, TAIL_MANIFEST), *moved = rp(&t, "manifest.real");
    assert_int_equal(rename(p, moved), 0);
    assert_int_equal(symlink(moved, p), 0);
    expect_fail(&t, BID, ELOOP, "assets/manifest: is a symlink", NULL);
    assert_int_equal(unlink(p), 0);
    char *big = malloc(MANIFEST_MAX_BYTES + 10);
    assert_non_null(big);
    memset(big, '\n', MANIFEST_MAX_BYTES + 10);
    tu_write(p, big, MANIFEST_MAX_BYTES + 10);
    free(big);
    expect_fail(&t, BID, EFBIG, "assets/manifest", "limit");
    free(p);
    free(moved);
    drop_tail(&t);
}

static void test_text_garbage_rejected(void **state)
{
    (void)state;
    struct tail t;
    make_tail(&t, 1);
    struct manifest m;
    memset(&m, 0x5a, sizeof(m));
    struct manifest before = m;
    struct evm_err err = {0};
    const char *bad = "ephemerd-tail 2\n";
    int r = verify_tail_text(t.root, BID, bad, strlen(bad), &m, &err);
    assert_int_equal(r, -EINVAL);
    assert_non_null(strstr(err.msg, "assets/manifest"));
    assert_non_null(strstr(err.msg, "line 1"));
    assert_memory_equal(&m, &before, sizeof(m)); /* *m untouched on failure */
    drop_tail(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_tail_with_config),
        cmocka_unit_test(test_good_tail_without_config),
        cmocka_unit_test(test_truncated_manifest),
        cmocka_unit_test(test_wrong_digest),
        cmocka_unit_test(test_wrong_size),
        cmocka_unit_test(test_wrong_mode),
        cmocka_unit_test(test_wrong_boot_id),
        cmocka_unit_test(test_listed_file_missing),
        cmocka_unit_test(test_listed_file_in_missing_dir),
        cmocka_unit_test(test_unlisted_config_present),
        cmocka_unit_test(test_unlisted_config_symlink_present),
        cmocka_unit_test(test_listed_file_is_symlink),
        cmocka_unit_test(test_assets_dir_is_symlink),
        cmocka_unit_test(test_listed_file_not_regular),
        cmocka_unit_test(test_binary_not_listed),
        cmocka_unit_test(test_manifest_missing),
        cmocka_unit_test(test_manifest_symlink_or_too_big),
        cmocka_unit_test(test_text_garbage_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
