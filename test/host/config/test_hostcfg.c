/* test_hostcfg.c — the host config (host/config/hostcfg.h), portable cases (native and wine):
 * missing, empty, CRLF, BOM, 64 KiB lines, TOML the agent does not read interleaved with
 * its keys, malformed and out-of-range values (file:line:key) and the checks' exact
 * messages, a NUL byte named as such, the 1 MiB limit, a directory; embedded bytes equal the
 * file's bytes for every accepted file; vm.linux.swap_mb and the settings checks
 * (hostcfg_check_settings: swap the guest will cap or not make); the key table: the memory
 * minimum shared with the backends, each key's line, the defaults, [log] applied to logging. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmdline.h"
#include "config/hostcfg.h"
#include "tail.h"
#include "testutil.h"

struct fx {
    char *dir;
    char *path;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->dir = tu_tmpdir();
    f->path = tu_path(f->dir, "config.toml");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_rmrf(f->dir);
    free(f->dir);
    free(f->path);
    free(f);
    return 0;
}

/* Writes bytes, loads them, asserts state OK and embedded bytes == file bytes. */
static void load_ok(struct fx *f, const char *bytes, size_t len, struct hostcfg *cfg)
{
    tu_write(f->path, bytes, len);
    struct evm_err err = {0};
    int r = hostcfg_load(f->path, cfg, &err);
    if (r != 0)
        fail_msg("load failed: %s", err.msg);
    assert_int_equal(cfg->state, HOSTCFG_OK);
    assert_non_null(cfg->bytes);
    assert_int_equal(cfg->len, len);
    if (len)
        assert_memory_equal(cfg->bytes, bytes, len);
    size_t flen;
    char *file = tu_read(f->path, &flen);
    assert_non_null(file);
    assert_int_equal(flen, cfg->len);
    if (flen)
        assert_memory_equal(file, cfg->bytes, flen);
    free(file);
}

static void load_str_ok(struct fx *f, const char *s, struct hostcfg *cfg)
{
    load_ok(f, s, strlen(s), cfg);
}

/* Loads s and expects -code with a message containing both a and b. */
static void load_fails(struct fx *f, const char *s, size_t len, int code, const char *a,
                       const char *b)
{
    tu_write(f->path, s, len);
    struct hostcfg cfg;
    struct evm_err err = {0};
    int r = hostcfg_load(f->path, &cfg, &err);
    if (r != -code)
        fail_msg("expected %d, got %d (%s)", -code, r, err.msg);
    assert_null(cfg.bytes);
    if (a && !strstr(err.msg, a))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, a);
    if (b && !strstr(err.msg, b))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, b);
    hostcfg_free(&cfg);
}

static void expect_all_keys(const struct hostcfg *cfg)
{
    assert_int_equal(cfg->settings.cpus, 4);
    assert_int_equal(cfg->settings.memory_mb, 8192);
    assert_int_equal(cfg->settings.disk_size_gb, 100);
    assert_true(cfg->settings.dind_enabled);
    assert_true(cfg->settings.dind_allow_privileged);
    assert_string_equal(cfg->settings.log_level, "debug");
    assert_string_equal(cfg->settings.log_format, "json");
}

static const char all_keys[] = "# ephemerd host config\n"
                               "[vm.linux]\n"
                               "cpus = 4\n"
                               "memory_mb = 8_192 # 8 GiB\n"
                               "disk_size_gb = 100\n"
                               "\n"
                               "[dind]\n"
                               "enabled = true\n"
                               "allow_privileged = true\n"
                               "\n"
                               "[log]\n"
                               "level = \"debug\"\n"
                               "format = 'json'\n";

static void test_missing(void **state)
{
    struct fx *f = *state;
    struct hostcfg cfg;
    struct evm_err err = {0};
    assert_int_equal(hostcfg_load(f->path, &cfg, &err), 0);
    assert_int_equal(cfg.state, HOSTCFG_MISSING);
    assert_null(cfg.bytes);
    assert_int_equal(cfg.len, 0);
    assert_true(strlen(cfg.reason) > 0);
    assert_int_equal(cfg.settings.cpus, 0);
    hostcfg_free(&cfg);
}

static void test_empty(void **state)
{
    struct fx *f = *state;
    struct hostcfg cfg;
    load_ok(f, "", 0, &cfg);
    assert_int_equal(cfg.settings.cpus, 0);
    assert_int_equal(cfg.settings.memory_mb, 0);
    assert_int_equal(cfg.settings.disk_size_gb, 0);
    assert_false(cfg.settings.dind_enabled);
    assert_false(cfg.settings.dind_allow_privileged);
    assert_string_equal(cfg.settings.log_level, "");
    assert_string_equal(cfg.settings.log_format, "");
    hostcfg_free(&cfg);
}

static void test_all_keys(void **state)
{
    struct fx *f = *state;
    struct hostcfg cfg;
    load_str_ok(f, all_keys, &cfg);
    expect_all_keys(&cfg);
    hostcfg_free(&cfg);
}

/* s with every "\n" replaced by "\r\n", malloc'd */
static char *to_crlf(const char *s, size_t *len)
{
    char *o = malloc(strlen(s) * 2 + 1);
    assert_non_null(o);
    size_t n = 0;
    for (; *s; s++) {
        if (*s == '\n')
            o[n++] = '\r';
        o[n++] = *s;
    }
    o[n] = '\0';
    *len = n;
    return o;
}

static void test_crlf(void **state)
{
    struct fx *f = *state;
    size_t len;
    char *s = to_crlf(all_keys, &len);
    struct hostcfg cfg;
    load_ok(f, s, len, &cfg);
    expect_all_keys(&cfg);
    hostcfg_free(&cfg);
    free(s);

    /* and a malformed value is still reported on its own line */
    s = to_crlf("[log]\nlevel = \"debug\"\n[vm.linux]\ncpus = 2x\n", &len);
    load_fails(f, s, len, EINVAL, ":4: vm.linux.cpus", NULL);
    free(s);
}

static void test_bom(void **state)
{
    struct fx *f = *state;
    char buf[sizeof(all_keys) + 3];
    memcpy(buf, "\xEF\xBB\xBF", 3);
    memcpy(buf + 3, all_keys, sizeof(all_keys));
    struct hostcfg cfg;
    load_ok(f, buf, strlen(buf), &cfg);
    expect_all_keys(&cfg);
    assert_memory_equal(cfg.bytes, "\xEF\xBB\xBF", 3); /* kept in the embedded bytes */
    hostcfg_free(&cfg);

    /* a BOM directly before a key on line 1, CRLF too */
    static const char b2[] = "\xEF\xBB\xBFvm.linux.cpus = 3\r\n";
    load_ok(f, b2, sizeof(b2) - 1, &cfg);
    assert_int_equal(cfg.settings.cpus, 3);
    hostcfg_free(&cfg);
}

static void test_long_lines(void **state)
{
    struct fx *f = *state;
    size_t big = 64 * 1024;
    char *s = malloc(4 * big + 1024);
    assert_non_null(s);
    size_t o = 0;
    o += (size_t)sprintf(s + o, "[vm.linux]\ncpus = 4\n[other]\nbare = [");
    for (size_t i = 0; i < big / 2; i++, o += 2)
        memcpy(s + o, "7,", 2);
    s[o++] = ']';
    o += (size_t)sprintf(s + o, "\nstr = \"");
    memset(s + o, 'a', big);
    o += big;
    o += (size_t)sprintf(s + o, "\"\n# ");
    memset(s + o, '#', big);
    o += big;
    o += (size_t)sprintf(s + o, "\n[log]\nlevel = \"info\"\nlong = '");
    memset(s + o, 'b', big);
    o += big;
    o += (size_t)sprintf(s + o, "' # trailing\nformat = \"text\"\n");
    struct hostcfg cfg;
    load_ok(f, s, o, &cfg);
    assert_int_equal(cfg.settings.cpus, 4);
    assert_string_equal(cfg.settings.log_level, "info");
    assert_string_equal(cfg.settings.log_format, "text");
    hostcfg_free(&cfg);

    /* a 64 KiB string in a key the agent reads: rejected with a bounded message */
    o = (size_t)sprintf(s, "[log]\nlevel = \"");
    memset(s + o, 'c', big);
    o += big;
    o += (size_t)sprintf(s + o, "\"\n");
    load_fails(f, s, o, EINVAL, ":2: log.level", "is not one of");
    free(s);
}

static const char unread_tables[] = "[vm.linux]\n" /* a table is defined once: its keys together */
                                    "cpus = 4\n"
                                    "memory_mb = 8192\n"
                                    "disk_size_gb = 100\n"
                                    "[[runners]]\n"
                                    "name = \"a\"\n"
                                    "labels = [\"x\", \"y\"]\n"
                                    "[[runners]]\n"
                                    "name = \"b\"\n"
                                    "env = { A = \"1\", B = \"[not]\" }\n"
                                    "[vm.linux.extra]\n"
                                    "memory_mb = 1\n"
                                    "[ephemerd]\n"
                                    "ports = [\n"
                                    "  10000, # containerd\n"
                                    "  10001, # dispatch ]\n"
                                    "  [1, 2],\n"
                                    "]\n"
                                    "script = \"\"\"\n"
                                    "[vm.linux]\n"
                                    "cpus = 99\n"
                                    "\"\"\"\n"
                                    "raw = '''\n"
                                    "disk_size_gb = 99 ]]]\n"
                                    "'''\n"
                                    "nested = { a = {\n" /* TOML 1.1: an inline table over lines */
                                    "  b = 1 },\n"
                                    "  c = [ '}' ] }\n"
                                    "[dind]\n"
                                    "enabled = true\n"
                                    "allow_privileged = true\n"
                                    "[[dind.rules]]\n"
                                    "enabled = false\n"
                                    "allow_privileged = false\n"
                                    "[log]\n"
                                    "level = \"debug\"\n"
                                    "format = \"json\"\n";

static void test_unread_tables(void **state)
{
    struct fx *f = *state;
    struct hostcfg cfg;
    load_str_ok(f, unread_tables, &cfg);
    expect_all_keys(&cfg);
    hostcfg_free(&cfg);

    size_t len;
    char *s = to_crlf(unread_tables, &len);
    load_ok(f, s, len, &cfg);
    expect_all_keys(&cfg);
    hostcfg_free(&cfg);
    free(s);
}

static void test_malformed_values(void **state)
{
    struct fx *f = *state;
    char where[1024];
    snprintf(where, sizeof(where), "%s:3: vm.linux.cpus", f->path);
    const char *bad = "[vm.linux]\n# cpus\ncpus = \"four\"\n";
    load_fails(f, bad, strlen(bad), EINVAL, where, "integer");

    snprintf(where, sizeof(where), "%s:2: vm.linux.cpus", f->path);
    bad = "[vm.linux]\ncpus = 4x\n";
    load_fails(f, bad, strlen(bad), EINVAL, where, "invalid");
    bad = "[vm.linux]\ncpus = 0\n";
    load_fails(f, bad, strlen(bad), EINVAL, where, "out of range");
    bad = "[vm.linux]\ncpus = 1025\n";
    load_fails(f, bad, strlen(bad), EINVAL, where, "out of range");
    bad = "[vm.linux]\ncpus = [\n 2 ]\n";
    load_fails(f, bad, strlen(bad), EINVAL, where, "got an array");

    bad = "[vm.linux]\nmemory_mb = 127\n"; /* below every backend's minimum */
    load_fails(f, bad, strlen(bad), EINVAL, ":2: vm.linux.memory_mb", "out of range");
    bad = "[vm.linux]\nmemory_mb = 16777217\n";
    load_fails(f, bad, strlen(bad), EINVAL, ":2: vm.linux.memory_mb", "out of range");
    bad = "[vm.linux]\ndisk_size_gb = 65537\n";
    load_fails(f, bad, strlen(bad), EINVAL, ":2: vm.linux.disk_size_gb", "out of range");
    bad = "[dind]\nenabled = 1\n";
    load_fails(f, bad, strlen(bad), EINVAL, ":2: dind.enabled", "true or false");
    bad = "[dind]\nallow_privileged = \"yes\"\n";
    load_fails(f, bad, strlen(bad), EINVAL, ":2: dind.allow_privileged", "true or false");
    bad = "[log]\nlevel = \"loud\"\n";
    load_fails(f, bad, strlen(bad), EINVAL, ":2: log.level", "\"loud\" is not one of");
    bad = "[log]\nformat = \"xml\"\n";
    load_fails(f, bad, strlen(bad), EINVAL, ":2: log.format", "is not one of");
    bad = "[log]\nformat = text\n";
    load_fails(f, bad, strlen(bad), EINVAL, ":2: log.format", "invalid value");
    /* the first error in file order is the one reported */
    bad = "[vm.linux]\ncpus = \"four\"\nmemory_mb = 1e3\n";
    load_fails(f, bad, strlen(bad), EINVAL, ":2: vm.linux.cpus", "got a string");
    bad = "[vm.linux]\nmemory_mb = 1e3\ncpus = 0\n";
    load_fails(f, bad, strlen(bad), EINVAL, ":2: vm.linux.memory_mb", "got a float");
    bad = "[log]\nlevel = \"info\"\n\nlevel = \"warn\"\n";
    load_fails(f, bad, strlen(bad), EINVAL, ":4: log.level", "line 2");
    bad = "[log]\nlevel = \"info\"\n\n[log]\nformat = \"text\"\n"; /* a table twice */
    load_fails(f, bad, strlen(bad), EINVAL, ":4: log", "table defined twice");

    /* limits are inclusive */
    struct hostcfg cfg;
    char doc[128];
    snprintf(doc, sizeof(doc), "[vm.linux]\ncpus=1024\nmemory_mb=%u\ndisk_size_gb=65536\n",
             HOSTCFG_MIN_MEMORY_MB);
    load_str_ok(f, doc, &cfg);
    assert_int_equal(cfg.settings.cpus, 1024);
    assert_int_equal(cfg.settings.memory_mb, HOSTCFG_MIN_MEMORY_MB);
    assert_int_equal(cfg.settings.disk_size_gb, 65536);
    hostcfg_free(&cfg);
    load_str_ok(f, "[vm.linux]\ncpus=1\nmemory_mb=16777216\ndisk_size_gb=1\n", &cfg);
    assert_int_equal(cfg.settings.cpus, 1);
    assert_int_equal(cfg.settings.memory_mb, 16777216);
    hostcfg_free(&cfg);
}

/* hostcfg_parse rejects doc with exactly msg (-EINVAL). */
static void parse_fails_exact(const char *doc, const char *msg)
{
    struct hostcfg_settings st;
    struct evm_err err = {0};
    assert_int_equal(hostcfg_parse("c.toml", doc, strlen(doc), &st, &err), -EINVAL);
    assert_int_equal(err.code, EINVAL);
    assert_string_equal(err.msg, msg);
}

static void test_check_messages(void **state)
{
    (void)state;
    parse_fails_exact("[vm.linux]\ncpus = 0\n",
                      "c.toml:2: vm.linux.cpus: 0 is out of range (1 to 1024)");
    char want[160];
    snprintf(want, sizeof(want),
             "c.toml:2: vm.linux.memory_mb: expected an integer from %u to 16777216, got a string",
             HOSTCFG_MIN_MEMORY_MB);
    parse_fails_exact("[vm.linux]\nmemory_mb = 'x'\n", want);
    parse_fails_exact("dind.enabled = 1\n",
                      "c.toml:1: dind.enabled: expected true or false, got an integer");
    parse_fails_exact("[log]\nformat = [1]\n",
                      "c.toml:2: log.format: expected a string (one of text, json), got an array");
    parse_fails_exact(
        "[log]\nlevel = \"loud\"\n",
        "c.toml:2: log.level: \"loud\" is not one of error, warn, info, debug, trace");
    /* a rejected choice is quoted: at most 32 bytes, then "...", non-printable bytes as '?' */
    parse_fails_exact("[log]\nlevel = \"cccccccccccccccccccccccccccccccc\"\n",
                      "c.toml:2: log.level: \"cccccccccccccccccccccccccccccccc\" is not one of "
                      "error, warn, info, debug, trace");
    parse_fails_exact("[log]\nlevel = \"ccccccccccccccccccccccccccccccccc\"\n",
                      "c.toml:2: log.level: \"cccccccccccccccccccccccccccccccc...\" is not one of "
                      "error, warn, info, debug, trace");
    parse_fails_exact("[log]\nformat = \"caf\\u00e9\\t\"\n",
                      "c.toml:2: log.format: \"caf???\" is not one of text, json");
}

static void test_swap_mb(void **state)
{
    struct fx *f = *state;
    struct hostcfg cfg;
    load_str_ok(f, "[vm.linux]\ndisk_size_gb = 8\n", &cfg);
    assert_int_equal(cfg.settings.line[HOSTCFG_SWAP_MB], 0);
    assert_int_equal(cfg.settings.swap_mb, 0);
    hostcfg_free(&cfg);
    load_str_ok(f, "[vm.linux]\nswap_mb = 0\n", &cfg);
    assert_int_not_equal(cfg.settings.line[HOSTCFG_SWAP_MB], 0);
    assert_int_equal(cfg.settings.swap_mb, 0);
    hostcfg_free(&cfg);
    load_str_ok(f, "vm.linux.swap_mb = 1_048_576\n", &cfg); /* the cmdline key's maximum */
    assert_int_not_equal(cfg.settings.line[HOSTCFG_SWAP_MB], 0);
    assert_int_equal(cfg.settings.swap_mb, 1048576);
    hostcfg_free(&cfg);
    load_str_ok(f, "[vm]\nlinux = { swap_mb = 2048 }\n", &cfg);
    assert_int_equal(cfg.settings.swap_mb, 2048);
    hostcfg_free(&cfg);
    parse_fails_exact("[vm.linux]\nswap_mb = 1048577\n",
                      "c.toml:2: vm.linux.swap_mb: 1048577 is out of range (0 to 1048576)");
    parse_fails_exact("[vm.linux]\nswap_mb = -1\n",
                      "c.toml:2: vm.linux.swap_mb: -1 is out of range (0 to 1048576)");
    parse_fails_exact("[vm.linux]\nswap_mb = \"4G\"\n",
                      "c.toml:2: vm.linux.swap_mb: expected an integer from 0 to 1048576, got a "
                      "string");
}

/* The notes of hostcfg_check_settings, joined as "<level>|<msg>;". */
struct notes {
    char text[1024];
    unsigned n;
};

static void collect(void *ctx, enum log_level level, const char *msg)
{
    struct notes *ns = ctx;
    size_t used = strlen(ns->text);
    snprintf(ns->text + used, sizeof(ns->text) - used, "%s|%s;",
             level == LOG_WARN   ? "warn"
             : level == LOG_INFO ? "info"
                                 : "other",
             msg);
    ns->n++;
}

static void expect_notes(const char *doc, const char *want)
{
    struct hostcfg_settings st;
    struct evm_err err = {0};
    if (hostcfg_parse("c.toml", doc, strlen(doc), &st, &err) < 0)
        fail_msg("parse: %s", err.msg);
    struct notes ns;
    memset(&ns, 0, sizeof(ns));
    unsigned n = hostcfg_check_settings(&st, collect, &ns);
    assert_int_equal(n, ns.n);
    assert_string_equal(ns.text, want);
}

static void test_settings_checks(void **state)
{
    (void)state;
    /* Nothing to say: defaults, swap within a quarter of the disk, no swap. */
    expect_notes("", "");
    expect_notes("[vm.linux]\ndisk_size_gb = 16\n", ""); /* 4096 = a quarter */
    expect_notes("[vm.linux]\nswap_mb = 16384\n", "");   /* a quarter of 64 GiB */
    expect_notes("[vm.linux]\ndisk_size_gb = 2\nswap_mb = 512\n", "");
    expect_notes("[vm.linux]\ndisk_size_gb = 1\nswap_mb = 0\n", "");
    expect_notes("[vm.linux]\nswap_mb = 64\n", "");
    /* The default swap on a small disk (issue 9 finding 11): the guest caps it. */
    expect_notes("[vm.linux]\ndisk_size_gb = 2\n",
                 "info|the default swap of 4096 MiB (vm.linux.swap_mb unset) is more than 1/4 of "
                 "the 2 GiB root disk: the guest will cap the swapfile to at most 512 MiB;");
    /* What the operator wrote and will not get: a warning. */
    expect_notes("[vm.linux]\ndisk_size_gb = 2\nswap_mb = 513\n",
                 "warn|vm.linux.swap_mb = 513 is more than 1/4 of the 2 GiB root disk: the guest "
                 "will cap the swapfile to at most 512 MiB;");
    expect_notes("[vm.linux]\nswap_mb = 16385\n",
                 "warn|vm.linux.swap_mb = 16385 is more than 1/4 of the 64 GiB root disk "
                 "(vm.linux.disk_size_gb unset): the guest will cap the swapfile to at most "
                 "16384 MiB;");
    expect_notes("[vm.linux]\nswap_mb = 63\n",
                 "warn|vm.linux.swap_mb = 63 is below the 64 MiB minimum swapfile: the VM gets no "
                 "swap (write 0 to say so, or at least 64);");
    expect_notes("[vm.linux]\nswap_mb = 1\ndisk_size_gb = 1\n",
                 "warn|vm.linux.swap_mb = 1 is below the 64 MiB minimum swapfile: the VM gets no "
                 "swap (write 0 to say so, or at least 64);");
}

/* Issue 9: a NUL in a key the agent reads was reported as "control character 0x7f". */
static void test_nul_named(void **state)
{
    struct fx *f = *state;
    static const char bad[] = "[vm.linux]\ncpus = 2\n[log]\nlevel = \"in\0fo\"\n";
    char want[1024];
    snprintf(want, sizeof(want),
             "%s:4: log.level: a NUL byte (0x00) at column 12: not allowed in TOML", f->path);
    load_fails(f, bad, sizeof(bad) - 1, EINVAL, want, NULL);
}

/* A file of exactly n bytes: the agent's keys, then comment padding. */
static char *padded(size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    static const char head[] = "[vm.linux]\ncpus = 2\n# ";
    assert_true(n > sizeof(head) + 1);
    memcpy(s, head, sizeof(head) - 1);
    memset(s + sizeof(head) - 1, 'p', n - (sizeof(head) - 1) - 1);
    s[n - 1] = '\n';
    s[n] = '\0';
    return s;
}

static void test_size_limit(void **state)
{
    struct fx *f = *state;
    char *s = padded(HOSTCFG_MAX_BYTES);
    struct hostcfg cfg;
    load_ok(f, s, HOSTCFG_MAX_BYTES, &cfg);
    assert_int_equal(cfg.settings.cpus, 2);
    hostcfg_free(&cfg);
    free(s);

    s = padded(HOSTCFG_MAX_BYTES + 1);
    load_fails(f, s, HOSTCFG_MAX_BYTES + 1, EFBIG, f->path, "1 MiB");
    free(s);

    /* one 1 MiB line without a newline, holding the only key */
    s = malloc(HOSTCFG_MAX_BYTES);
    assert_non_null(s);
    static const char key[] = "vm.linux.cpus = 5 #";
    memcpy(s, key, sizeof(key) - 1);
    memset(s + sizeof(key) - 1, 'z', HOSTCFG_MAX_BYTES - (sizeof(key) - 1));
    load_ok(f, s, HOSTCFG_MAX_BYTES, &cfg);
    assert_int_equal(cfg.settings.cpus, 5);
    hostcfg_free(&cfg);

    /* hostcfg_parse refuses more than the limit on its own */
    struct hostcfg_settings st;
    struct evm_err err = {0};
    assert_int_equal(hostcfg_parse("x", s, HOSTCFG_MAX_BYTES + 0, &st, &err), 0);
    free(s);
    s = padded(HOSTCFG_MAX_BYTES + 10);
    assert_int_equal(hostcfg_parse("x", s, HOSTCFG_MAX_BYTES + 10, &st, &err), -EFBIG);
    free(s);
}

static void test_directory(void **state)
{
    (void)state;
    struct hostcfg cfg;
    struct evm_err err = {0};
    char *d = tu_tmpdir(); /* a directory in place of the file */
    assert_int_equal(hostcfg_load(d, &cfg, &err), 0);
    assert_int_equal(cfg.state, HOSTCFG_UNUSABLE);
    assert_null(cfg.bytes);
    assert_true(strlen(cfg.reason) > 0);
    hostcfg_free(&cfg);
    tu_rmrf(d);
    free(d);
}

/* Issue 10: memory_mb from 64 to 127 passed the check, and QEMU then refused to start the VM:
 * the check's minimum is now the backend's, and both come from the one key table. */
static void test_memory_below_backend_minimum(void **state)
{
    (void)state;
    char want[160];
    snprintf(want, sizeof(want),
             "c.toml:2: vm.linux.memory_mb: 100 is out of range (%u to 16777216)",
             HOSTCFG_MIN_MEMORY_MB);
    parse_fails_exact("[vm.linux]\nmemory_mb = 100\n", want);
    snprintf(want, sizeof(want),
             "c.toml:1: vm.linux.memory_mb: %u is out of range (%u to 16777216)",
             HOSTCFG_MIN_MEMORY_MB - 1, HOSTCFG_MIN_MEMORY_MB);
    char doc[64];
    snprintf(doc, sizeof(doc), "vm.linux.memory_mb = %u\n", HOSTCFG_MIN_MEMORY_MB - 1);
    parse_fails_exact(doc, want);
    assert_int_equal(hostcfg_keydef(HOSTCFG_MEMORY_MB)->min, HOSTCFG_MIN_MEMORY_MB);
    assert_true(HOSTCFG_MIN_MEMORY_MB >= 128); /* QEMU's floor, the smallest of any backend */

    /* the backends' check (hostcfg_check_vm_size) takes the same rows */
    struct evm_err err = {0};
    assert_int_equal(hostcfg_check_vm_size(2, 100, &err), -EINVAL);
    snprintf(want, sizeof(want),
             "vm: 100 MiB of memory is out of range (%u to 16777216, "
             "vm.linux.memory_mb)",
             HOSTCFG_MIN_MEMORY_MB);
    assert_string_equal(err.msg, want);
    assert_int_equal(hostcfg_check_vm_size(0, 4096, &err), -EINVAL);
    assert_string_equal(err.msg, "vm: 0 CPUs is out of range (1 to 1024, vm.linux.cpus)");
    assert_int_equal(hostcfg_check_vm_size(1025, 4096, &err), -EINVAL);
    assert_int_equal(hostcfg_check_vm_size(2, 16777217, &err), -EINVAL);
    assert_int_equal(hostcfg_check_vm_size(1, HOSTCFG_MIN_MEMORY_MB, &err), 0);
    assert_int_equal(hostcfg_check_vm_size(1024, 16777216, &err), 0);
}

/* Each key remembers the line that set it; an unset key reads as the table's default. */
static void test_lines_and_defaults(void **state)
{
    (void)state;
    struct hostcfg_settings st;
    struct evm_err err = {0};
    /* defaults: one place, the key table */
    assert_int_equal(hostcfg_parse("c.toml", "", 0, &st, &err), 0);
    for (int k = 0; k < HOSTCFG_NKEYS; k++)
        assert_int_equal(st.line[k], 0);
    assert_int_equal(hostcfg_uint(&st, HOSTCFG_CPUS), HOSTCFG_DEFAULT_CPUS);
    assert_int_equal(hostcfg_uint(&st, HOSTCFG_CPUS), 2);
    assert_int_equal(hostcfg_uint(&st, HOSTCFG_MEMORY_MB), 2048);
    assert_int_equal(hostcfg_uint(&st, HOSTCFG_DISK_SIZE_GB), HOSTCFG_DEFAULT_DISK_GB);
    assert_int_equal(hostcfg_uint(&st, HOSTCFG_SWAP_MB), CMDLINE_DEFAULT_SWAP_MB);
    assert_false(hostcfg_bool(&st, HOSTCFG_DIND_ENABLED));
    assert_false(hostcfg_bool(&st, HOSTCFG_DIND_ALLOW_PRIVILEGED));
    assert_string_equal(hostcfg_str(&st, HOSTCFG_LOG_LEVEL), "info");
    assert_string_equal(hostcfg_str(&st, HOSTCFG_LOG_FORMAT), "text");

    static const char doc[] = "# lines count from 1\n"      /* 1 */
                              "vm.linux.cpus = 3\n"         /* 2 */
                              "# memory\n"                  /* 3 */
                              "vm.linux.memory_mb = 4096\n" /* 4 */
                              "\n"                          /* 5 */
                              "vm.linux.swap_mb = 0\n"      /* 6 */
                              "[dind]\n"                    /* 7 */
                              "enabled = false\n"           /* 8 */
                              "[log]\n"                     /* 9 */
                              "\n"                          /* 10 */
                              "format = \"json\"\n";        /* 11 */
    assert_int_equal(hostcfg_parse("c.toml", doc, strlen(doc), &st, &err), 0);
    assert_int_equal(st.line[HOSTCFG_CPUS], 2);
    assert_int_equal(st.line[HOSTCFG_MEMORY_MB], 4);
    assert_int_equal(st.line[HOSTCFG_DISK_SIZE_GB], 0);
    assert_int_equal(st.line[HOSTCFG_SWAP_MB], 6);
    assert_int_equal(st.line[HOSTCFG_DIND_ENABLED], 8);
    assert_int_equal(st.line[HOSTCFG_DIND_ALLOW_PRIVILEGED], 0);
    assert_int_equal(st.line[HOSTCFG_LOG_LEVEL], 0);
    assert_int_equal(st.line[HOSTCFG_LOG_FORMAT], 11);
    assert_int_equal(hostcfg_uint(&st, HOSTCFG_CPUS), 3);
    assert_int_equal(hostcfg_uint(&st, HOSTCFG_MEMORY_MB), 4096);
    assert_int_equal(hostcfg_uint(&st, HOSTCFG_DISK_SIZE_GB), 64);
    assert_int_equal(hostcfg_uint(&st, HOSTCFG_SWAP_MB), 0); /* set to 0: not the default */
    assert_false(hostcfg_bool(&st, HOSTCFG_DIND_ENABLED));
    assert_string_equal(hostcfg_str(&st, HOSTCFG_LOG_LEVEL), "info");
    assert_string_equal(hostcfg_str(&st, HOSTCFG_LOG_FORMAT), "json");
}

/* [log] reaches the agent's logging; -v (the command line) keeps its level. */
static void test_apply_log(void **state)
{
    (void)state;
    struct hostcfg_settings st;
    struct evm_err err = {0};
    static const char doc[] = "[log]\nlevel = \"error\"\nformat = \"json\"\n";
    log_init(NULL, LOG_INFO);
    assert_int_equal(hostcfg_parse("c.toml", doc, strlen(doc), &st, &err), 0);
    hostcfg_apply_log(&st);
    assert_int_equal(log_get_level(), LOG_ERROR);
    assert_int_equal(log_get_format(), LOG_FORMAT_JSON);
    static const char trace[] = "log.level = \"trace\"\n";
    assert_int_equal(hostcfg_parse("c.toml", trace, strlen(trace), &st, &err), 0);
    hostcfg_apply_log(&st);
    assert_int_equal(log_get_level(), LOG_DEBUG); /* trace is debug: nothing logs below it */
    assert_int_equal(log_get_format(), LOG_FORMAT_TEXT);
    /* the file edited back to nothing: the defaults again */
    assert_int_equal(hostcfg_parse("c.toml", "", 0, &st, &err), 0);
    hostcfg_apply_log(&st);
    assert_int_equal(log_get_level(), LOG_INFO);

    log_set_cli_level(LOG_DEBUG); /* run -v */
    assert_int_equal(hostcfg_parse("c.toml", doc, strlen(doc), &st, &err), 0);
    hostcfg_apply_log(&st);
    assert_int_equal(log_get_level(), LOG_DEBUG);
    assert_int_equal(log_get_format(), LOG_FORMAT_JSON);
    log_init(NULL, LOG_INFO);
    assert_int_equal(log_get_format(), LOG_FORMAT_TEXT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crlf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unread_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_values, setup, teardown),
        cmocka_unit_test(test_check_messages),
        cmocka_unit_test_setup_teardown(test_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swap_mb, setup, teardown),
        cmocka_unit_test(test_settings_checks),
        cmocka_unit_test_setup_teardown(test_nul_named, setup, teardown),
        cmocka_unit_test(test_memory_below_backend_minimum),
        cmocka_unit_test(test_lines_and_defaults),
        cmocka_unit_test(test_apply_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
