/* test_hostcfg_posix.c — host config cases only POSIX can stage: a FIFO (never blocks),
 * symlinks to a FIFO, a directory and a regular file, a dangling symlink, an unreadable
 * file (checked as an unprivileged child when the tests run as root); the settings checks
 * logged by hostcfg_load (stderr captured); [log] applied quietly from a file for `run`. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/hostcfg.h"
#include "testutil.h"

static const char cfg_text[] = "[vm.linux]\ncpus = 3\n[log]\nlevel = \"warn\"\n";

struct fx {
    char *dir;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->dir = tu_tmpdir();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void expect_state(const char *path, enum hostcfg_state want)
{
    struct hostcfg cfg;
    struct evm_err err = {0};
    /* A watchdog, not a timing check: if a load ever blocked (a FIFO opened without
     * O_NONBLOCK), SIGALRM kills the binary and the suite fails instead of hanging. */
    alarm(60);
    int r = hostcfg_load(path, &cfg, &err);
    alarm(0);
    if (r != 0)
        fail_msg("%s: load returned %d: %s", path, r, err.msg);
    if (cfg.state != want)
        fail_msg("%s: state %d, want %d (%s)", path, cfg.state, want, cfg.reason);
    assert_null(cfg.bytes);
    assert_int_equal(cfg.len, 0);
    assert_true(strlen(cfg.reason) > 0);
    hostcfg_free(&cfg);
}

static char *make_fifo(struct fx *f)
{
    char *p = tu_path(f->dir, "fifo");
    if (mkfifo(p, 0600) != 0)
        fail_msg("mkfifo: %s", strerror(errno));
    return p;
}

static char *make_link(struct fx *f, const char *target, const char *name)
{
    char *p = tu_path(f->dir, name);
    if (symlink(target, p) != 0)
        fail_msg("symlink: %s", strerror(errno));
    return p;
}

/* The FIFO has no writer: a blocking open would hang the test forever. */
static void test_fifo(void **state)
{
    struct fx *f = *state;
    char *p = make_fifo(f);
    expect_state(p, HOSTCFG_UNUSABLE);
    free(p);
}

static void test_fifo_with_writer(void **state)
{
    /* Even with a writer holding it open (so open(2) itself would not block), the
     * regular-file check must refuse it rather than read from it. */
    struct fx *f = *state;
    char *p = make_fifo(f);
    int rfd = open(p, O_RDONLY | O_NONBLOCK);
    assert_true(rfd >= 0);
    int wfd = open(p, O_WRONLY | O_NONBLOCK);
    assert_true(wfd >= 0);
    expect_state(p, HOSTCFG_UNUSABLE);
    close(wfd);
    close(rfd);
    free(p);
}

static void test_symlink_to_fifo(void **state)
{
    struct fx *f = *state;
    char *fifo = make_fifo(f);
    char *l = make_link(f, fifo, "config.toml");
    expect_state(l, HOSTCFG_UNUSABLE);
    free(l);
    free(fifo);
}

static void test_symlink_to_directory(void **state)
{
    struct fx *f = *state;
    char *d = tu_path(f->dir, "adir");
    assert_int_equal(mkdir(d, 0700), 0);
    char *l = make_link(f, d, "config.toml");
    expect_state(l, HOSTCFG_UNUSABLE);
    free(l);
    free(d);
}

static void test_symlink_to_regular_file(void **state)
{
    struct fx *f = *state;
    char *real = tu_path(f->dir, "real.toml");
    tu_write(real, cfg_text, sizeof(cfg_text) - 1);
    char *l = make_link(f, real, "config.toml");
    struct hostcfg cfg;
    struct evm_err err = {0};
    assert_int_equal(hostcfg_load(l, &cfg, &err), 0);
    assert_int_equal(cfg.state, HOSTCFG_OK);
    assert_int_equal(cfg.len, sizeof(cfg_text) - 1);
    assert_memory_equal(cfg.bytes, cfg_text, cfg.len);
    assert_int_equal(cfg.settings.cpus, 3);
    assert_string_equal(cfg.settings.log_level, "warn");
    hostcfg_free(&cfg);
    free(l);
    free(real);
}

static void test_dangling_symlink(void **state)
{
    struct fx *f = *state;
    char *target = tu_path(f->dir, "nowhere.toml");
    char *l = make_link(f, target, "config.toml");
    expect_state(l, HOSTCFG_MISSING);
    free(l);
    free(target);
}

static void test_device(void **state)
{
    (void)state;
    expect_state("/dev/null", HOSTCFG_UNUSABLE);
}

/* Loads path as uid/gid 65534 in a child; exit code: 10 + state, or 1 on a load error,
 * 2 when privileges could not be dropped. */
static int load_as_nobody(const char *path)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(2);
        struct hostcfg cfg;
        struct evm_err err = {0};
        int r = hostcfg_load(path, &cfg, &err);
        int code = r == 0 ? 10 + (int)cfg.state : 1;
        if (r == 0 && cfg.state == HOSTCFG_UNUSABLE && strlen(cfg.reason) == 0)
            code = 3;
        hostcfg_free(&cfg);
        _exit(code);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        assert_int_equal(errno, EINTR);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_unreadable(void **state)
{
    struct fx *f = *state;
    char *p = tu_path(f->dir, "config.toml");
    tu_write(p, cfg_text, sizeof(cfg_text) - 1);
    assert_int_equal(chmod(p, 0000), 0);
    if (geteuid() == 0) {
        /* root reads anything: check as an unprivileged user (the dir must be traversable) */
        assert_int_equal(chmod(f->dir, 0755), 0);
        int code = load_as_nobody(p);
        if (code == 2)
            fail_msg("could not drop privileges to 65534");
        assert_int_equal(code, 10 + HOSTCFG_UNUSABLE);
        /* control: the same child reads the file once it is readable */
        assert_int_equal(chmod(p, 0644), 0);
        assert_int_equal(load_as_nobody(p), 10 + HOSTCFG_OK);
    } else {
        int fd = open(p, O_RDONLY);
        if (fd >= 0) {
            close(fd);
            free(p);
            skip(); /* chmod does not stop us (e.g. CAP_DAC_OVERRIDE) */
        }
        expect_state(p, HOSTCFG_UNUSABLE);
    }
    free(p);
}

/* hostcfg_load of text at dir/config.toml with stderr captured: what it logged (malloc'd). */
static char *load_logged(struct fx *f, const char *text)
{
    char *path = tu_path(f->dir, "config.toml");
    char *logf = tu_path(f->dir, "stderr");
    tu_write(path, text, strlen(text));
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
    struct hostcfg cfg;
    struct evm_err err = {0};
    int r = hostcfg_load(path, &cfg, &err);
    fflush(stderr);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    if (r != 0)
        fail_msg("load: %s", err.msg);
    assert_int_equal(cfg.state, HOSTCFG_OK);
    hostcfg_free(&cfg);
    char *log = tu_read(logf, NULL);
    char *want = tu_path(f->dir, "config.toml: "); /* every note names the file */
    if (log[0] && !strstr(log, want))
        fail_msg("log does not name the file: %s", log);
    free(want);
    free(logf);
    free(path);
    return log;
}

/* Issue 9 finding 11: the agent says at config time what the guest will do to the swap. */
static void test_load_logs_settings_notes(void **state)
{
    struct fx *f = *state;
    char *log = load_logged(f, "[vm.linux]\ndisk_size_gb = 2\nswap_mb = 8192\n");
    assert_non_null(strstr(log, "warning: "));
    assert_non_null(strstr(log, "vm.linux.swap_mb = 8192 is more than 1/4 of the 2 GiB root "
                                "disk: the guest will cap the swapfile to at most 512 MiB"));
    free(log);
    log = load_logged(f, "[vm.linux]\ndisk_size_gb = 2\n");
    assert_null(strstr(log, "warning: "));
    assert_non_null(strstr(log, "the default swap of 4096 MiB"));
    free(log);
    log = load_logged(f, cfg_text);
    assert_string_equal(log, "");
    free(log);
}

/* `run`'s first lines: [log] read quietly from the file (no notes, no warnings), and a file
 * that is missing or refused gives the defaults. */
static void test_apply_log_file_quiet(void **state)
{
    struct fx *f = *state;
    char *path = tu_path(f->dir, "config.toml");
    char *logf = tu_path(f->dir, "stderr");
    static const char text[] = "[vm.linux]\ndisk_size_gb = 2\nswap_mb = 8192\n" /* a note */
                               "[log]\nlevel = \"warn\"\nformat = \"json\"\n";
    tu_write(path, text, strlen(text));
    log_init(NULL, LOG_INFO);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
    hostcfg_apply_log_file(path);
    enum log_level level = log_get_level();
    enum log_format format = log_get_format();
    char *empty = tu_path(f->dir, "empty.toml");
    tu_write(empty, "", 0);
    log_init(NULL, LOG_DEBUG);
    hostcfg_apply_log_file(empty); /* sets nothing: the defaults */
    enum log_level level_empty = log_get_level();
    char *missing = tu_path(f->dir, "missing.toml");
    hostcfg_apply_log_file(missing);
    enum log_format format_missing = log_get_format();
    static const char bad[] = "[log]\nformat = \"json\"\nlevel = \"loud\"\n";
    tu_write(path, bad, strlen(bad));
    log_configure(LOG_ERROR, LOG_FORMAT_JSON);
    hostcfg_apply_log_file(path); /* refused: the defaults */
    enum log_format format_refused = log_get_format();
    enum log_level level_refused = log_get_level();
    fflush(stderr);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    log_init(NULL, LOG_INFO);
    assert_int_equal(level, LOG_WARN);
    assert_int_equal(format, LOG_FORMAT_JSON);
    assert_int_equal(level_empty, LOG_INFO);
    assert_int_equal(format_missing, LOG_FORMAT_TEXT);
    assert_int_equal(format_refused, LOG_FORMAT_TEXT);
    assert_int_equal(level_refused, LOG_INFO);
    char *log = tu_read(logf, NULL);
    assert_string_equal(log, "");
    free(log);
    free(missing);
    free(empty);
    free(logf);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_with_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_to_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_to_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_to_regular_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dangling_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_logs_settings_notes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_log_file_quiet, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
