/* test_manifest.c — the tail manifest writer and parser (common/manifest.c): exact output,
 * round trip, and every rejection (asserted by error code and message fragment). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootid.h"
#include "manifest.h"

#define BID "0123456789abcdef0123456789abcdef"
#define D64A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define D64B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEAD MANIFEST_MAGIC "\nboot-id " BID "\n"

static void fill_digest(uint8_t d[32], uint8_t seed)
{
    for (int i = 0; i < 32; i++)
        d[i] = (uint8_t)(seed + i * 7);
}

static void assert_manifest_equal(const struct manifest *a, const struct manifest *b)
{
    assert_string_equal(a->boot_id, b->boot_id);
    assert_int_equal(a->nfiles, b->nfiles);
    for (size_t i = 0; i < a->nfiles; i++) {
        assert_string_equal(a->files[i].path, b->files[i].path);
        assert_int_equal(a->files[i].mode, b->files[i].mode);
        assert_true(a->files[i].size == b->files[i].size);
        assert_memory_equal(a->files[i].sha256, b->files[i].sha256, 32);
    }
}

/* Parses text (strlen), expects failure with code and a message containing fragment. */
static void expect_reject(const char *text, int code, const char *fragment)
{
    struct manifest m;
    struct evm_err err = {0};
    int r = manifest_parse(text, strlen(text), &m, &err);
    if (r != -code || !strstr(err.msg, fragment))
        fail_msg("input:\n%s\nexpected -%d with \"%s\", got %d: \"%s\"", text, code, fragment, r,
                 err.msg);
}

static void expect_accept(const char *text, struct manifest *m)
{
    struct evm_err err = {0};
    int r = manifest_parse(text, strlen(text), m, &err);
    if (r != 0)
        fail_msg("input:\n%s\nrejected: %s", text, err.msg);
}

static void test_format_exact_and_round_trip(void **state)
{
    (void)state;
    struct manifest m;
    memset(&m, 0, sizeof(m));
    memcpy(m.boot_id, BID, sizeof(BID));
    uint8_t d1[32];
    memset(d1, 0xaa, sizeof(d1));
    /* the bytes D64B spells */
    static const uint8_t d2[32] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45,
                                   0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
                                   0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    struct evm_err err = {0};
    assert_int_equal(manifest_add(&m, TAIL_BINARY, TAIL_BINARY_MODE, 104857600, d1, &err), 0);
    assert_int_equal(manifest_add(&m, TAIL_CONFIG, TAIL_CONFIG_MODE, 0, d2, &err), 0);

    char buf[1024];
    size_t len = 0;
    assert_int_equal(manifest_format(&m, buf, sizeof(buf), &len, &err), 0);
    const char *expect = HEAD "file assets/ephemerd-linux 0755 104857600 " D64A "\n"
                              "file assets/config.toml 0600 0 " D64B "\n";
    assert_int_equal(len, strlen(expect));
    assert_string_equal(buf, expect); /* NUL-terminated when room allows */

    struct manifest back;
    assert_int_equal(manifest_parse(buf, len, &back, &err), 0);
    assert_manifest_equal(&m, &back);
}

static void test_round_trip_extremes(void **state)
{
    (void)state;
    struct manifest m;
    memset(&m, 0, sizeof(m));
    memcpy(m.boot_id, "ffffffffffffffffffffffffffffffff", BOOT_ID_HEX_LEN + 1);
    struct evm_err err = {0};
    char longpath[MANIFEST_PATH_MAX];
    memset(longpath, 'p', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    longpath[10] = '/';
    uint8_t d[32];
    for (int i = 0; i < MANIFEST_MAX_FILES; i++) {
        char path[32];
        snprintf(path, sizeof(path), "a/b%d/c~!#$%%&*()[]{}", i);
        fill_digest(d, (uint8_t)i);
        const char *pp = i == 0 ? longpath : path;
        uint64_t size = i == 1 ? UINT64_MAX : (uint64_t)i;
        unsigned mode = i == 2 ? 07777u : (i == 3 ? 0u : 0644u);
        assert_int_equal(manifest_add(&m, pp, mode, size, d, &err), 0);
    }
    char buf[4096];
    size_t len;
    assert_int_equal(manifest_format(&m, buf, sizeof(buf), &len, &err), 0);
    assert_non_null(strstr(buf, " 18446744073709551615 "));
    assert_non_null(strstr(buf, " 7777 "));
    assert_non_null(strstr(buf, " 0000 "));
    struct manifest back;
    assert_int_equal(manifest_parse(buf, len, &back, &err), 0);
    assert_manifest_equal(&m, &back);
}

static void test_format_buffer_limits(void **state)
{
    (void)state;
    struct manifest m;
    memset(&m, 0, sizeof(m));
    memcpy(m.boot_id, BID, sizeof(BID));
    struct evm_err err = {0};
    const size_t need = strlen(HEAD);
    char buf[256];
    size_t len = 0;
    memset(buf, 'x', sizeof(buf));
    /* exactly the text, no room for the NUL: succeeds, no NUL written */
    assert_int_equal(manifest_format(&m, buf, need, &len, &err), 0);
    assert_int_equal(len, need);
    assert_memory_equal(buf, HEAD, need);
    assert_int_equal(buf[need], 'x');
    /* one byte short */
    assert_int_equal(manifest_format(&m, buf, need - 1, &len, &err), -ENOSPC);
    assert_int_equal(err.code, ENOSPC);
    assert_non_null(strstr(err.msg, "does not fit"));
}

static void test_format_rejects_invalid_fields(void **state)
{
    (void)state;
    struct evm_err err = {0};
    char buf[2048];
    size_t len;
    struct manifest good;
    memset(&good, 0, sizeof(good));
    memcpy(good.boot_id, BID, sizeof(BID));
    uint8_t d[32];
    fill_digest(d, 1);
    assert_int_equal(manifest_add(&good, "assets/x", 0600, 1, d, &err), 0);
    assert_int_equal(manifest_add(&good, "assets/y", 0600, 1, d, &err), 0);
    assert_int_equal(manifest_format(&good, buf, sizeof(buf), &len, &err), 0);

    struct manifest m = good;
    memcpy(m.boot_id, "0123456789ABCDEF0123456789abcdef", BOOT_ID_HEX_LEN + 1);
    assert_int_equal(manifest_format(&m, buf, sizeof(buf), &len, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "boot-id"));

    m = good;
    m.boot_id[0] = '\0';
    assert_int_equal(manifest_format(&m, buf, sizeof(buf), &len, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "boot-id"));

    static const struct {
        const char *path, *frag;
    } bad[] = {
        {"/etc/passwd", "absolute"},
        {"a/../b", "'..'"},
        {"..", "'..'"},
        {"a//b", "empty component"},
        {"a/", "empty component"},
        {"./a", "'.'"},
        {"a b", "space"},
        {"a\tb", "non-printable"},
        {"a\x7f", "non-printable"},
        {"", "empty path"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m = good;
        snprintf(m.files[1].path, sizeof(m.files[1].path), "%s", bad[i].path);
        evm_err_clear(&err);
        assert_int_equal(manifest_format(&m, buf, sizeof(buf), &len, &err), -EINVAL);
        if (!strstr(err.msg, bad[i].frag) || !strstr(err.msg, "file 2"))
            fail_msg("path \"%s\": message \"%s\"", bad[i].path, err.msg);
        /* manifest_add refuses the same paths */
        struct manifest e;
        memset(&e, 0, sizeof(e));
        assert_int_equal(manifest_add(&e, bad[i].path, 0600, 1, d, &err), -EINVAL);
        assert_non_null(strstr(err.msg, bad[i].frag));
        assert_int_equal(e.nfiles, 0);
    }

    m = good;
    memset(m.files[0].path, 'a', sizeof(m.files[0].path)); /* not terminated */
    assert_int_equal(manifest_format(&m, buf, sizeof(buf), &len, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "not terminated"));

    m = good;
    m.files[0].mode = 010000;
    assert_int_equal(manifest_format(&m, buf, sizeof(buf), &len, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "mode 10000"));

    m = good;
    strcpy(m.files[1].path, "assets/x");
    assert_int_equal(manifest_format(&m, buf, sizeof(buf), &len, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "assets/x twice"));

    m = good;
    m.nfiles = MANIFEST_MAX_FILES + 1;
    assert_int_equal(manifest_format(&m, buf, sizeof(buf), &len, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "more than"));
}

static void test_add_and_find(void **state)
{
    (void)state;
    struct manifest m;
    memset(&m, 0, sizeof(m));
    struct evm_err err = {0};
    uint8_t d[32];
    fill_digest(d, 9);
    char path[32];
    for (int i = 0; i < MANIFEST_MAX_FILES; i++) {
        snprintf(path, sizeof(path), "f%d", i);
        assert_int_equal(manifest_add(&m, path, 0644, (uint64_t)i, d, &err), 0);
    }
    assert_int_equal(manifest_add(&m, "one-too-many", 0644, 1, d, &err), -ENOSPC);
    assert_non_null(strstr(err.msg, "one-too-many"));
    assert_int_equal(m.nfiles, MANIFEST_MAX_FILES);

    const struct manifest_file *f = manifest_find(&m, "f3");
    assert_non_null(f);
    assert_true(f->size == 3);
    assert_int_equal(f->mode, 0644);
    assert_memory_equal(f->sha256, d, 32);
    assert_null(manifest_find(&m, "f"));
    assert_null(manifest_find(&m, "f33"));
    assert_null(manifest_find(&m, "assets/config.toml"));

    memset(&m, 0, sizeof(m));
    assert_int_equal(manifest_add(&m, "a", 0644, 1, d, &err), 0);
    assert_int_equal(manifest_add(&m, "a", 0600, 2, d, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "already listed"));
    assert_int_equal(manifest_add(&m, "b", 010000, 2, d, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "mode"));
    char longp[MANIFEST_PATH_MAX + 1];
    memset(longp, 'l', MANIFEST_PATH_MAX);
    longp[MANIFEST_PATH_MAX] = '\0';
    assert_int_equal(manifest_add(&m, longp, 0644, 1, d, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "too long"));
    longp[MANIFEST_PATH_MAX - 1] = '\0'; /* 127 characters: the longest that fits */
    assert_int_equal(manifest_add(&m, longp, 0644, 1, d, &err), 0);
    assert_non_null(manifest_find(&m, longp));
}

static void test_boot_id_valid(void **state)
{
    (void)state;
    assert_true(boot_id_valid(BID));
    assert_true(boot_id_valid("ffffffffffffffffffffffffffffffff"));
    assert_false(boot_id_valid("0123456789ABCDEF0123456789abcdef"));
    assert_false(boot_id_valid("0123456789abcdef0123456789abcde"));
    assert_false(boot_id_valid("0123456789abcdef0123456789abcdef0"));
    assert_false(boot_id_valid("0123456789abcdeg0123456789abcdef"));
    assert_false(boot_id_valid(" 123456789abcdef0123456789abcdef"));
    assert_false(boot_id_valid(""));
    assert_false(boot_id_valid(NULL));
}

static void test_parse_ignores_unknown_kinds_and_empty_lines(void **state)
{
    (void)state;
    struct manifest m;
    expect_accept(MANIFEST_MAGIC "\n"
                                 "\n"
                                 "future-kind with several words\n"
                                 "boot-id " BID "\n"
                                 "\n"
                                 "# a comment-like line\n"
                                 "file assets/x 0600 12 " D64A "\n"
                                 "files are not file lines\n"
                                 "boot-idx whatever\n",
                  &m);
    assert_string_equal(m.boot_id, BID);
    assert_int_equal(m.nfiles, 1);
    assert_string_equal(m.files[0].path, "assets/x");
    assert_int_equal(m.files[0].mode, 0600);
    assert_true(m.files[0].size == 12);

    /* boot-id need not come first; no files is fine */
    expect_accept(MANIFEST_MAGIC "\nfile a 0644 1 " D64A "\nboot-id " BID "\n", &m);
    assert_int_equal(m.nfiles, 1);
    expect_accept(HEAD, &m);
    assert_int_equal(m.nfiles, 0);
}

static void test_parse_rejects_first_line(void **state)
{
    (void)state;
    expect_reject("ephemerd-tail 2\nboot-id " BID "\n", EINVAL, "line 1: expected");
    expect_reject("ephemerd-tail 1 \nboot-id " BID "\n", EINVAL, "line 1: expected");
    expect_reject("boot-id " BID "\n", EINVAL, "line 1: expected");
    expect_reject("\n" HEAD, EINVAL, "line 1: expected");
    expect_reject("EPHEMERD-TAIL 1\nboot-id " BID "\n", EINVAL, "line 1: expected");
    expect_reject("", EINVAL, "line 1: empty manifest");
}

static void test_parse_rejects_boot_id(void **state)
{
    (void)state;
    expect_reject(MANIFEST_MAGIC "\n", EINVAL, "missing boot-id");
    expect_reject(MANIFEST_MAGIC "\nfile a 0644 1 " D64A "\n", EINVAL, "missing boot-id");
    expect_reject(HEAD "boot-id " BID "\n", EINVAL, "line 3: duplicate boot-id (first on line 2)");
    expect_reject(MANIFEST_MAGIC "\nboot-id 0123456789ABCDEF0123456789abcdef\n", EINVAL,
                  "line 2: boot-id is not 32 lowercase hex");
    expect_reject(MANIFEST_MAGIC "\nboot-id 0123456789abcdeg0123456789abcdef\n", EINVAL,
                  "line 2: boot-id is not 32 lowercase hex");
    expect_reject(MANIFEST_MAGIC "\nboot-id 0123456789abcdef0123456789abcde\n", EINVAL,
                  "line 2: malformed boot-id");
    expect_reject(MANIFEST_MAGIC "\nboot-id 0123456789abcdef0123456789abcdef0\n", EINVAL,
                  "line 2: malformed boot-id");
    expect_reject(MANIFEST_MAGIC "\nboot-id\n", EINVAL, "line 2: malformed boot-id");
    expect_reject(MANIFEST_MAGIC "\nboot-id " BID " extra\n", EINVAL, "line 2: malformed boot-id");
    expect_reject(MANIFEST_MAGIC "\nboot-id  " BID "\n", EINVAL, "line 2: malformed boot-id");
    expect_reject(MANIFEST_MAGIC "\nboot-id " BID " \n", EINVAL, "line 2: malformed boot-id");
}

static void test_parse_rejects_paths(void **state)
{
    (void)state;
    static const struct {
        const char *path, *frag;
    } bad[] = {
        {"/assets/x", "line 3: absolute path"},
        {"assets/../x", "line 3: path has a '..' component"},
        {"..", "line 3: path has a '..' component"},
        {"assets/..", "line 3: path has a '..' component"},
        {"assets//x", "line 3: path has an empty component"},
        {"assets/", "line 3: path has an empty component"},
        {"./x", "line 3: path has a '.' component"},
        {"a\x01"
         "b",
         "line 3: path contains a space or a non-printable"},
        {"a\x7f", "line 3: path contains a space or a non-printable"},
        {"caf\xc3\xa9", "line 3: path contains a space or a non-printable"},
        {"a\tb", "line 3: path contains a space or a non-printable"},
    };
    char text[1024];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), HEAD "file %s 0600 1 " D64A "\n", bad[i].path);
        expect_reject(text, EINVAL, bad[i].frag);
    }
    /* a space in the path splits it into too many fields */
    expect_reject(HEAD "file a b 0600 1 " D64A "\n", EINVAL, "line 3: malformed file line");

    char longp[MANIFEST_PATH_MAX + 1];
    memset(longp, 'l', MANIFEST_PATH_MAX);
    longp[MANIFEST_PATH_MAX] = '\0';
    snprintf(text, sizeof(text), HEAD "file %s 0600 1 " D64A "\n", longp);
    expect_reject(text, EINVAL, "line 3: path too long");
    longp[MANIFEST_PATH_MAX - 1] = '\0';
    snprintf(text, sizeof(text), HEAD "file %s 0600 1 " D64A "\n", longp);
    struct manifest m;
    expect_accept(text, &m);
    assert_string_equal(m.files[0].path, longp);
}

static void test_parse_rejects_fields(void **state)
{
    (void)state;
    static const struct {
        const char *line, *frag;
    } bad[] = {
        {"file a 600 1 " D64A, "line 3: a: mode is not 4 octal digits"},
        {"file a 00600 1 " D64A, "line 3: a: mode is not 4 octal digits"},
        {"file a 0800 1 " D64A, "line 3: a: mode is not 4 octal digits"},
        {"file a 10000 1 " D64A, "line 3: a: mode is not 4 octal digits"},
        {"file a -600 1 " D64A, "line 3: a: mode is not 4 octal digits"},
        {"file a 0x1f 1 " D64A, "line 3: a: mode is not 4 octal digits"},
        {"file a 0600 +1 " D64A, "line 3: a: size is not a decimal"},
        {"file a 0600 -1 " D64A, "line 3: a: size is not a decimal"},
        {"file a 0600 1e3 " D64A, "line 3: a: size is not a decimal"},
        {"file a 0600 0x10 " D64A, "line 3: a: size is not a decimal"},
        {"file a 0600 012 " D64A, "line 3: a: size has leading zeros"},
        {"file a 0600 18446744073709551616 " D64A, "line 3: a: size does not fit in 64 bits"},
        {"file a 0600 99999999999999999999999 " D64A, "line 3: a: size does not fit"},
        {"file a 0600 1 " D64A "a", "line 3: a: sha256 is not 64 hex"},
        {"file a 0600 1 aaaa", "line 3: a: sha256 is not 64 hex"},
        {"file a 0600 1 "
         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
         "line 3: a: sha256 is not 64 lowercase hex"},
        {"file a 0600 1 "
         "gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "line 3: a: sha256 is not 64 lowercase hex"},
        {"file a 0600 1", "line 3: malformed file line"},
        {"file a 0600 1 " D64A " extra", "line 3: malformed file line"},
        {"file a  0600 1 " D64A, "line 3: malformed file line"},
        {"file a 0600 1 " D64A " ", "line 3: malformed file line"},
        {"file", "line 3: malformed file line"},
        {" file a 0600 1 " D64A, "line 3: starts with whitespace"},
        {"\tanything", "line 3: starts with whitespace"},
    };
    char text[1024];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), HEAD "%s\n", bad[i].line);
        expect_reject(text, EINVAL, bad[i].frag);
    }
    struct manifest m;
    expect_accept(HEAD "file a 7777 18446744073709551615 " D64A "\n", &m);
    assert_int_equal(m.files[0].mode, 07777);
    assert_true(m.files[0].size == UINT64_MAX);
    expect_accept(HEAD "file a 0000 0 " D64B "\n", &m);
    assert_int_equal(m.files[0].mode, 0);
    assert_true(m.files[0].size == 0);
    assert_int_equal(m.files[0].sha256[0], 0x01);
    assert_int_equal(m.files[0].sha256[31], 0xef);
}

static void test_parse_rejects_duplicates_and_too_many(void **state)
{
    (void)state;
    expect_reject(HEAD "file a 0600 1 " D64A "\nfile b 0600 1 " D64A "\nfile a 0644 2 " D64B "\n",
                  EINVAL, "line 5: duplicate path a (first listed on line 3)");
    char text[4096];
    size_t off = (size_t)snprintf(text, sizeof(text), "%s", HEAD);
    for (int i = 0; i <= MANIFEST_MAX_FILES; i++)
        off += (size_t)snprintf(text + off, sizeof(text) - off, "file f%d 0600 1 " D64A "\n", i);
    expect_reject(text, EINVAL, "line 11: too many files");
    /* exactly MANIFEST_MAX_FILES is fine */
    char *last = strstr(text, "file f8 ");
    assert_non_null(last);
    *last = '\0';
    struct manifest m;
    expect_accept(text, &m);
    assert_int_equal(m.nfiles, MANIFEST_MAX_FILES);
}

static void test_parse_rejects_bytes(void **state)
{
    (void)state;
    expect_reject(MANIFEST_MAGIC "\r\nboot-id " BID "\r\n", EINVAL,
                  "line 1: contains a carriage return");
    expect_reject(HEAD "file a 0600 1 " D64A "\r\n", EINVAL, "line 3: contains a carriage return");
    expect_reject(HEAD "unknown\rkind\n", EINVAL, "line 3: contains a carriage return");

    static const char with_nul[] = HEAD "fi\0le a 0600 1 " D64A "\n";
    struct manifest m;
    struct evm_err err = {0};
    assert_int_equal(manifest_parse(with_nul, sizeof(with_nul) - 1, &m, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "line 3: contains a NUL byte"));
    /* a NUL in an unknown or empty line is refused too */
    static const char nul_line[] = HEAD "\0\n";
    assert_int_equal(manifest_parse(nul_line, sizeof(nul_line) - 1, &m, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "line 3: contains a NUL byte"));

    /* over MANIFEST_MAX_BYTES: refused before looking at it */
    size_t big = MANIFEST_MAX_BYTES + 1;
    char *buf = malloc(big);
    assert_non_null(buf);
    memset(buf, '\n', big);
    memcpy(buf, HEAD, strlen(HEAD));
    assert_int_equal(manifest_parse(buf, big, &m, &err), -EFBIG);
    assert_non_null(strstr(err.msg, "over the 16384-byte limit"));
    /* exactly the limit is accepted (empty lines are ignored) */
    assert_int_equal(manifest_parse(buf, big - 1, &m, &err), 0);
    free(buf);
}

static void test_parse_truncated(void **state)
{
    (void)state;
    const char *full = HEAD "file assets/ephemerd-linux 0755 123 " D64A "\n"
                            "file assets/config.toml 0600 45 " D64B "\n";
    size_t n = strlen(full);
    struct manifest m;
    struct evm_err err;
    /* every cut that is not at a line end fails; cuts at a line end yield a shorter but
     * well-formed manifest (the guest then finds a listed file missing, or not listed). */
    for (size_t cut = 0; cut < n; cut++) {
        evm_err_clear(&err);
        int r = manifest_parse(full, cut, &m, &err);
        if (cut > 0 && full[cut - 1] == '\n') {
            if (cut < strlen(HEAD)) { /* only the first line */
                assert_int_equal(r, -EINVAL);
                assert_non_null(strstr(err.msg, "missing boot-id"));
            } else {
                assert_int_equal(r, 0);
            }
            continue;
        }
        if (r != -EINVAL)
            fail_msg("cut at %u accepted", (unsigned)cut);
        if (cut > 0 && !strstr(err.msg, "truncated"))
            fail_msg("cut at %u: \"%s\"", (unsigned)cut, err.msg);
    }
    expect_reject(HEAD "file assets/x 0600 1 " D64A, EINVAL, "line 3: truncated");
    expect_reject(HEAD "file assets/x 0600 1 aaaa", EINVAL, "line 3: truncated");
}

static void test_parse_failure_leaves_output_untouched(void **state)
{
    (void)state;
    struct manifest m;
    memset(&m, 0x5a, sizeof(m));
    struct manifest copy = m;
    struct evm_err err = {0};
    const char *text = HEAD "file a 0600 1 " D64A "\nfile /b 0600 1 " D64A "\n";
    assert_int_equal(manifest_parse(text, strlen(text), &m, &err), -EINVAL);
    assert_memory_equal(&m, &copy, sizeof(m));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_exact_and_round_trip),
        cmocka_unit_test(test_round_trip_extremes),
        cmocka_unit_test(test_format_buffer_limits),
        cmocka_unit_test(test_format_rejects_invalid_fields),
        cmocka_unit_test(test_add_and_find),
        cmocka_unit_test(test_boot_id_valid),
        cmocka_unit_test(test_parse_ignores_unknown_kinds_and_empty_lines),
        cmocka_unit_test(test_parse_rejects_first_line),
        cmocka_unit_test(test_parse_rejects_boot_id),
        cmocka_unit_test(test_parse_rejects_paths),
        cmocka_unit_test(test_parse_rejects_fields),
        cmocka_unit_test(test_parse_rejects_duplicates_and_too_many),
        cmocka_unit_test(test_parse_rejects_bytes),
        cmocka_unit_test(test_parse_truncated),
        cmocka_unit_test(test_parse_failure_leaves_output_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
