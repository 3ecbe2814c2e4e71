/* test_supervise.c — the PID 1 loop without being PID 1: the test process is a child
 * subreaper, power-off and the exit marker are recording hooks, and the daemon is this test
 * binary re-executed in a helper mode (EVM_SV_HELPER). One test runs supervise as PID 1 of
 * a new PID namespace, so that the production kill(-1, SIGKILL) path is exercised safely.
 * The console's stop requests use a pipe as the console, written by the daemon itself (so
 * it can tell whether it was asked to stop too early), and check the log. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "supervise.h"
#include "testutil.h"

extern char **environ;

/* ---- helper modes (the "daemon") ------------------------------------------------------ */

static void put_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        _exit(90);
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len)
        _exit(91);
    close(fd);
}

/* Waits up to secs for sig (which must be blocked); 1 if it came. */
static int wait_signal(int sig, int secs)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    struct timespec ts = {.tv_sec = secs};
    for (;;) {
        int r = sigtimedwait(&s, NULL, &ts);
        if (r == sig)
            return 1;
        if (r < 0 && errno == EINTR)
            continue;
        return 0;
    }
}

/* Double-forks an orphan that exits once its parent is gone, waits until the orphan has
 * closed its end of a pipe (it is exiting), records its pid, exits 3. */
static int helper_orphan(const char *file)
{
    int a[2], b[2];
    if (pipe(a) != 0 || pipe(b) != 0)
        return 80;
    pid_t c1 = fork();
    if (c1 < 0)
        return 81;
    if (c1 == 0) {
        pid_t c2 = fork();
        if (c2 < 0)
            _exit(82);
        if (c2 == 0) {
            close(a[1]);
            close(b[0]);
            char ch;
            while (read(a[0], &ch, 1) < 0 && errno == EINTR) /* EOF: c1 is gone */
                ;
            char buf[32];
            snprintf(buf, sizeof(buf), "%ld", (long)getpid());
            put_file(file, buf);
            _exit(0);
        }
        _exit(0);
    }
    close(a[0]);
    close(a[1]);
    close(b[1]);
    while (waitpid(c1, NULL, 0) < 0 && errno == EINTR)
        ;
    char ch;
    while (read(b[0], &ch, 1) < 0 && errno == EINTR) /* EOF: the orphan is exiting */
        ;
    return 3;
}

/* Installs a SIGTERM handler (here: blocks it and waits), then asks the supervisor to stop
 * by sending it sig; on SIGTERM takes ~200 ms to "shut down" and exits 0. */
static int helper_trap(int sig)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigprocmask(SIG_BLOCK, &s, NULL);
    if (kill(getppid(), sig) != 0)
        return 70;
    if (!wait_signal(SIGTERM, 30))
        return 71;
    struct timespec d = {.tv_nsec = 200 * 1000000L};
    nanosleep(&d, NULL);
    return 0;
}

/* Ignores SIGTERM, asks the supervisor to stop, then stays (bounded) until killed. A child
 * in a session of its own does the same (it is not in the daemon's process group). */
static int helper_ignore(int with_stray)
{
    signal(SIGTERM, SIG_IGN);
    if (with_stray) {
        pid_t c = fork();
        if (c == 0) {
            setsid();
            sigset_t s;
            sigemptyset(&s);
            sigaddset(&s, SIGUSR1);
            sigprocmask(SIG_BLOCK, &s, NULL);
            wait_signal(SIGUSR1, 30);
            _exit(60);
        }
    }
    if (kill(getppid(), SIGTERM) != 0)
        return 72;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, NULL);
    wait_signal(SIGUSR1, 30); /* never comes: SIGKILL ends us first */
    return 73;
}

/* Records argv, the environment, whether it leads its session, and its blocked mask. */
static int helper_args(int argc, char **argv, const char *file)
{
    char out[4096] = "";
    size_t len = 0;
    for (int i = 1; i < argc; i++)
        len += (size_t)snprintf(out + len, sizeof(out) - len, "arg=%s\n", argv[i]);
    for (char **e = environ; *e; e++)
        len += (size_t)snprintf(out + len, sizeof(out) - len, "env=%s\n", *e);
    len += (size_t)snprintf(out + len, sizeof(out) - len, "session_leader=%d\n",
                            getsid(0) == getpid());
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    int blocked = 0;
    for (int sig = 1; sig < 32; sig++)
        if (sigismember(&cur, sig) == 1)
            blocked++;
    snprintf(out + len, sizeof(out) - len, "blocked=%d\n", blocked);
    put_file(file, out);
    return 0;
}

static int write_text(int fd, const char *text)
{
    size_t len = text ? strlen(text) : 0;
    return len == 0 || write(fd, text, len) == (ssize_t)len ? 0 : -1;
}

/* The console tests' daemon: writes $EVM_SV_FIRST on the console (fd $EVM_SV_CONSOLE_FD),
 * checks 300 ms later that it has not been asked to stop (75 if it has), writes
 * $EVM_SV_SECOND, sends $EVM_SV_SIG to the supervisor when set, then waits for SIGTERM
 * (0 when it came). */
static int helper_console(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigprocmask(SIG_BLOCK, &s, NULL);
    const char *fdtxt = getenv("EVM_SV_CONSOLE_FD");
    int fd = fdtxt ? atoi(fdtxt) : -1;
    if (write_text(fd, getenv("EVM_SV_FIRST")) != 0)
        return 76;
    struct timespec d = {.tv_nsec = 300 * 1000000L};
    nanosleep(&d, NULL);
    sigset_t pending;
    if (sigpending(&pending) != 0 || sigismember(&pending, SIGTERM))
        return 75;
    if (write_text(fd, getenv("EVM_SV_SECOND")) != 0)
        return 76;
    const char *sig = getenv("EVM_SV_SIG");
    if (sig && kill(getppid(), atoi(sig)) != 0)
        return 70;
    return wait_signal(SIGTERM, 30) ? 0 : 71;
}

/* Records whether stdin is /dev/null. */
static int helper_stdin(const char *file)
{
    struct stat in, null;
    int is_null = fstat(STDIN_FILENO, &in) == 0 && stat("/dev/null", &null) == 0 &&
                  S_ISCHR(in.st_mode) && in.st_rdev == null.st_rdev;
    put_file(file, is_null ? "stdin=/dev/null" : "stdin=other");
    return 0;
}

static int run_helper(const char *mode, int argc, char **argv)
{
    const char *file = getenv("EVM_SV_FILE");
    if (strcmp(mode, "orphan") == 0)
        return helper_orphan(file);
    if (strcmp(mode, "trap") == 0)
        return helper_trap(atoi(getenv("EVM_SV_SIG")));
    if (strcmp(mode, "ignore") == 0)
        return helper_ignore(0);
    if (strcmp(mode, "ignore-stray") == 0)
        return helper_ignore(1);
    if (strcmp(mode, "args") == 0)
        return helper_args(argc, argv, file);
    if (strcmp(mode, "console") == 0)
        return helper_console();
    if (strcmp(mode, "stdin") == 0)
        return helper_stdin(file);
    if (strcmp(mode, "selfkill") == 0) {
        raise(SIGKILL);
        return 74;
    }
    return 100;
}

/* ---- the supervisor side -------------------------------------------------------------- */

struct rec {
    int markers, poweroffs;
    int marker_status, poweroff_status;
    int order_ok; /* marker came before poweroff */
};

static void rec_marker(void *ctx, int status)
{
    struct rec *r = ctx;
    r->markers++;
    r->marker_status = status;
}

static void rec_poweroff(void *ctx, int status)
{
    struct rec *r = ctx;
    r->poweroffs++;
    r->poweroff_status = status;
    r->order_ok = r->markers == 1;
}

static char self_exe[PATH_MAX];

static int run_daemon(const char *mode, const char *extra_env, unsigned grace_ms, const char *file,
                      struct rec *r, struct evm_err *err)
{
    char helper[64], fileenv[PATH_MAX + 16];
    snprintf(helper, sizeof(helper), "EVM_SV_HELPER=%s", mode);
    snprintf(fileenv, sizeof(fileenv), "EVM_SV_FILE=%s", file ? file : "");
    const char *argv[] = {self_exe, NULL};
    const char *envp[] = {helper, fileenv, extra_env, NULL};
    struct supervise_opts o = {
        .argv = argv,
        .envp = envp,
        .grace_ms = grace_ms,
        .kill_all = false,
        .hooks = {.poweroff = rec_poweroff, .exit_marker = rec_marker, .ctx = r},
    };
    return supervise(&o, err);
}

static void assert_no_children(void)
{
    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static void assert_reported(const struct rec *r, int status)
{
    assert_int_equal(r->markers, 1);
    assert_int_equal(r->poweroffs, 1);
    assert_int_equal(r->marker_status, status);
    assert_int_equal(r->poweroff_status, status);
    assert_true(r->order_ok);
}

static void test_orphan_reaped_and_status(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *file = tu_path(dir, "orphan.pid");
    struct rec r = {0};
    struct evm_err err = {0};
    int st = run_daemon("orphan", NULL, 5000, file, &r, &err);
    assert_int_equal(st, 3);
    assert_reported(&r, 3);
    /* The orphan ran, was reparented to us, and supervise reaped it: no zombie is left. */
    char *pidtxt = tu_read(file, NULL);
    assert_non_null(pidtxt);
    long orphan = strtol(pidtxt, NULL, 10);
    assert_true(orphan > 1);
    assert_no_children();
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/%ld/stat", orphan);
    assert_int_not_equal(access(proc, F_OK), 0);
    free(pidtxt);
    free(file);
    tu_rmrf(dir);
    free(dir);
}

static void stop_signal_case(int sig)
{
    char env[32];
    snprintf(env, sizeof(env), "EVM_SV_SIG=%d", sig);
    struct rec r = {0};
    struct evm_err err = {0};
    /* A long grace: the daemon must end by itself (status 0), not by SIGKILL (137). */
    int st = run_daemon("trap", env, 20000, NULL, &r, &err);
    assert_int_equal(st, 0);
    assert_reported(&r, 0);
    assert_no_children();
}

static void test_sigterm_forwarded(void **state)
{
    (void)state;
    stop_signal_case(SIGTERM);
}

static void test_sigpwr_stops(void **state)
{
    (void)state;
    stop_signal_case(SIGPWR);
}

static void test_sigusr2_stops(void **state)
{
    (void)state;
    stop_signal_case(SIGUSR2);
}

static void test_sigusr1_stops(void **state)
{
    (void)state;
    stop_signal_case(SIGUSR1);
}

static void test_sigint_stops(void **state)
{
    (void)state;
    stop_signal_case(SIGINT);
}

static void test_ignoring_daemon_killed_after_grace(void **state)
{
    (void)state;
    struct rec r = {0};
    struct evm_err err = {0};
    int st = run_daemon("ignore", NULL, 300, NULL, &r, &err);
    assert_int_equal(st, 128 + SIGKILL);
    assert_reported(&r, 128 + SIGKILL);
    assert_no_children();
}

static void test_daemon_killed_by_signal(void **state)
{
    (void)state;
    struct rec r = {0};
    struct evm_err err = {0};
    int st = run_daemon("selfkill", NULL, 5000, NULL, &r, &err);
    assert_int_equal(st, 128 + SIGKILL);
    assert_reported(&r, 128 + SIGKILL);
}

static void test_exact_argv_env_session_mask(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *file = tu_path(dir, "args");
    char fileenv[PATH_MAX + 16];
    snprintf(fileenv, sizeof(fileenv), "EVM_SV_FILE=%s", file);
    const char *argv[] = {self_exe, "serve", "--data-dir", "/var/lib/ephemerd", NULL};
    const char *envp[] = {"EVM_SV_HELPER=args", fileenv, "PATH=/usr/bin:/usr/sbin:/bin:/sbin",
                          "HOME=/root", NULL};
    struct rec r = {0};
    struct evm_err err = {0};
    struct supervise_opts o = {
        .argv = argv,
        .envp = envp,
        .grace_ms = 5000,
        .hooks = {.poweroff = rec_poweroff, .exit_marker = rec_marker, .ctx = &r},
    };
    assert_int_equal(supervise(&o, &err), 0);
    char *got = tu_read(file, NULL);
    assert_non_null(got);
    char want[2 * PATH_MAX];
    snprintf(want, sizeof(want),
             "arg=serve\narg=--data-dir\narg=/var/lib/ephemerd\n"
             "env=EVM_SV_HELPER=args\nenv=%s\nenv=PATH=/usr/bin:/usr/sbin:/bin:/sbin\n"
             "env=HOME=/root\nsession_leader=1\nblocked=0\n",
             fileenv);
    assert_string_equal(got, want);
    free(got);
    free(file);
    tu_rmrf(dir);
    free(dir);
}

static void test_exec_failure_is_error(void **state)
{
    (void)state;
    const char *argv[] = {"/nonexistent/ephemerd-linux", "serve", NULL};
    const char *envp[] = {NULL};
    struct rec r = {0};
    struct evm_err err = {0};
    struct supervise_opts o = {
        .argv = argv,
        .envp = envp,
        .grace_ms = 1000,
        .hooks = {.poweroff = rec_poweroff, .exit_marker = rec_marker, .ctx = &r},
    };
    assert_int_equal(supervise(&o, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/ephemerd-linux"));
    assert_int_equal(r.markers, 0);
    assert_int_equal(r.poweroffs, 0);
    assert_no_children();
}

static void test_signal_mask_restored(void **state)
{
    (void)state;
    sigset_t before, after;
    sigprocmask(SIG_BLOCK, NULL, &before);
    struct rec r = {0};
    struct evm_err err = {0};
    assert_int_equal(run_daemon("selfkill", NULL, 1000, NULL, &r, &err), 128 + SIGKILL);
    sigprocmask(SIG_BLOCK, NULL, &after);
    for (int sig = 1; sig < 32; sig++)
        assert_int_equal(sigismember(&before, sig), sigismember(&after, sig));
}

/* As PID 1 of a new PID namespace with kill_all: a daemon that ignores SIGTERM and a stray
 * in another session are both killed by kill(-1, SIGKILL) after the grace period. The
 * namespace contains only our processes, so kill(-1) cannot reach anything else. */
static void test_pid1_kill_all_in_pid_namespace(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        skip();
        return;
    }
    /* The unshare happens in a child, so only its children join the new namespace. */
    pid_t outer = fork();
    assert_true(outer >= 0);
    if (outer == 0) {
        if (unshare(CLONE_NEWPID) != 0)
            _exit(77);
        pid_t c = fork();
        if (c < 0)
            _exit(78);
        if (c == 0) {
            if (getpid() != 1)
                _exit(40);
            const char *argv[] = {self_exe, NULL};
            const char *envp[] = {"EVM_SV_HELPER=ignore-stray", NULL};
            struct rec r = {0};
            struct evm_err err = {0};
            struct supervise_opts o = {
                .argv = argv,
                .envp = envp,
                .grace_ms = 300,
                .kill_all = true,
                .hooks = {.poweroff = rec_poweroff, .exit_marker = rec_marker, .ctx = &r},
            };
            int st = supervise(&o, &err);
            if (st != 128 + SIGKILL)
                _exit(41);
            if (r.poweroffs != 1 || r.poweroff_status != 128 + SIGKILL)
                _exit(42);
            errno = 0;
            if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
                _exit(43); /* the stray was not killed or not reaped */
            _exit(0);
        }
        int ws;
        if (waitpid(c, &ws, 0) != c || !WIFEXITED(ws))
            _exit(79);
        _exit(WEXITSTATUS(ws));
    }
    int ws;
    assert_int_equal(waitpid(outer, &ws, 0), outer);
    assert_true(WIFEXITED(ws));
    if (WEXITSTATUS(ws) == 77) {
        fprintf(stderr, "unshare(CLONE_NEWPID) refused: skipped\n");
        skip();
        return;
    }
    assert_int_equal(WEXITSTATUS(ws), 0);
}

/* ---- stop requests on the console ------------------------------------------------------ */

#define BOOT_ID "0123456789abcdef0123456789abcdef"
#define OTHER_ID "fedcba9876543210fedcba9876543210"
#define REQUEST "EPHEMERD_STOP boot_id=" BOOT_ID "\n"

/* Our stderr, where the log goes, redirected to a file while a test runs supervise. */
struct capture {
    char *dir, *path;
    int saved;
};

static void capture_start(struct capture *c)
{
    c->dir = tu_tmpdir();
    c->path = tu_path(c->dir, "log");
    fflush(stderr);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->saved >= 0);
    int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
}

/* Restores stderr; returns the captured log (also shown on stderr), malloc'd. */
static char *capture_end(struct capture *c)
{
    fflush(stderr);
    assert_int_equal(dup2(c->saved, STDERR_FILENO), STDERR_FILENO);
    close(c->saved);
    char *text = tu_read(c->path, NULL);
    assert_non_null(text);
    fputs(text, stderr);
    tu_rmrf(c->dir);
    free(c->path);
    free(c->dir);
    return text;
}

static unsigned count(const char *text, const char *needle)
{
    unsigned n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

struct console_case {
    const char *first, *second; /* what the daemon writes on the console, before/after */
    int sig;                    /* then sends this to the supervisor; 0: none */
    const char *boot_id;        /* this boot's */
    bool eof;                   /* the console is at EOF from the start (the daemon writes none) */
};

/* Runs the "console" daemon with a pipe as the console; returns its status, *log the log. */
static int run_console_case(const struct console_case *cc, struct rec *r, char **log)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    char fdenv[48] = "EVM_SV_NOTHING=1", sigenv[32] = "EVM_SV_NOSIG=1";
    char first[2048] = "EVM_SV_FIRST=", second[2048] = "EVM_SV_SECOND=";
    if (cc->eof) {
        close(p[1]);
        p[1] = -1;
    } else {
        assert_int_equal(fcntl(p[1], F_SETFD, 0), 0); /* the daemon inherits the write end */
        snprintf(fdenv, sizeof(fdenv), "EVM_SV_CONSOLE_FD=%d", p[1]);
    }
    if (cc->sig)
        snprintf(sigenv, sizeof(sigenv), "EVM_SV_SIG=%d", cc->sig);
    strncat(first, cc->first ? cc->first : "", sizeof(first) - strlen(first) - 1);
    strncat(second, cc->second ? cc->second : "", sizeof(second) - strlen(second) - 1);
    const char *argv[] = {self_exe, NULL};
    const char *envp[] = {"EVM_SV_HELPER=console", fdenv, sigenv, first, second, NULL};
    struct supervise_console con = {.fd = p[0], .boot_id = cc->boot_id};
    struct supervise_opts o = {
        .argv = argv,
        .envp = envp,
        .grace_ms = 20000,
        .console = &con,
        .hooks = {.poweroff = rec_poweroff, .exit_marker = rec_marker, .ctx = r},
    };
    struct evm_err err = {0};
    struct capture cap;
    capture_start(&cap);
    int st = supervise(&o, &err);
    *log = capture_end(&cap);
    close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    return st;
}

/* A request carrying this boot's id is the orderly stop: the daemon gets SIGTERM, ends by
 * itself within the grace period, and its status is reported. */
static void test_console_stop_request(void **state)
{
    (void)state;
    struct console_case cc = {.second = REQUEST, .boot_id = BOOT_ID};
    struct rec r = {0};
    char *log;
    assert_int_equal(run_console_case(&cc, &r, &log), 0);
    assert_reported(&r, 0);
    assert_no_children();
    assert_non_null(strstr(log, "stop requested on the console (boot id " BOOT_ID
                                "): stopping test_supervise (grace 20000 ms)"));
    free(log);
}

/* Requests for another boot, or without an id, are ignored with a warning naming both ids;
 * the daemon keeps running until a request for this boot comes. */
static void test_console_other_boot_ignored(void **state)
{
    (void)state;
    struct console_case cc = {
        .first = "EPHEMERD_STOP boot_id=" OTHER_ID "\nEPHEMERD_STOP\nEPHEMERD_STOP boot_id=xyz\n",
        .second = REQUEST,
        .boot_id = BOOT_ID,
    };
    struct rec r = {0};
    char *log;
    assert_int_equal(run_console_case(&cc, &r, &log), 0); /* 75: stopped by a wrong one */
    assert_reported(&r, 0);
    assert_non_null(strstr(log, "warning: ignoring a console stop request for another boot: "
                                "the request carries boot id " OTHER_ID
                                ", this boot has boot id " BOOT_ID));
    assert_int_equal(count(log, "ignoring a console stop request for another boot: the "
                                "request carries no boot id, this boot has boot id " BOOT_ID),
                     2);
    assert_int_equal(count(log, "stop requested on the console"), 1);
    free(log);
}

/* A boot without an id on its command line matches no request; a signal still stops it. */
static void test_console_request_without_own_boot_id(void **state)
{
    (void)state;
    struct console_case cc = {.first = REQUEST, .sig = SIGTERM, .boot_id = NULL};
    struct rec r = {0};
    char *log;
    assert_int_equal(run_console_case(&cc, &r, &log), 0);
    assert_reported(&r, 0);
    assert_non_null(
        strstr(log, "the request carries boot id " BOOT_ID ", this boot has no boot id"));
    assert_null(strstr(log, "stop requested on the console"));
    assert_non_null(strstr(log, "received SIGTERM"));
    free(log);
}

/* A request arriving in two pieces counts once the line is complete, not before. */
static void test_console_request_split(void **state)
{
    (void)state;
    struct console_case cc = {
        .first = "EPHEMERD_STOP boot_i", .second = "d=" BOOT_ID "\n", .boot_id = BOOT_ID};
    struct rec r = {0};
    char *log;
    assert_int_equal(run_console_case(&cc, &r, &log), 0);
    assert_reported(&r, 0);
    assert_non_null(strstr(log, "stop requested on the console (boot id " BOOT_ID ")"));
    free(log);
}

/* An overlong line is discarded whole, even when its first bytes (all the bound keeps) are
 * a valid request; the request on the next line counts. */
static void test_console_overlong_line_discarded(void **state)
{
    (void)state;
    char first[1200] = "EPHEMERD_STOP boot_id=" BOOT_ID;
    size_t len = strlen(first);
    memset(first + len, ' ', 1000);
    memcpy(first + len + 1000, "x\n", 3);
    struct console_case cc = {.first = first, .second = REQUEST, .boot_id = BOOT_ID};
    struct rec r = {0};
    char *log;
    assert_int_equal(run_console_case(&cc, &r, &log), 0); /* 75: the long line counted */
    assert_reported(&r, 0);
    assert_non_null(strstr(log, "warning: console: discarding an input line longer than 256 "
                                "bytes"));
    assert_int_equal(count(log, "stop requested on the console"), 1);
    free(log);
}

/* A second request while stopping is logged and changes nothing. */
static void test_console_request_while_stopping(void **state)
{
    (void)state;
    struct console_case cc = {.second = REQUEST REQUEST, .boot_id = BOOT_ID};
    struct rec r = {0};
    char *log;
    assert_int_equal(run_console_case(&cc, &r, &log), 0);
    assert_reported(&r, 0);
    assert_int_equal(count(log, "stop requested on the console"), 2);
    assert_non_null(
        strstr(log, "stop requested on the console (boot id " BOOT_ID "): already stopping"));
    free(log);
}

/* EOF on the console ends the listening (logged once), not the daemon; a signal still
 * stops it. */
static void test_console_eof_keeps_daemon(void **state)
{
    (void)state;
    struct console_case cc = {.sig = SIGTERM, .boot_id = BOOT_ID, .eof = true};
    struct rec r = {0};
    char *log;
    assert_int_equal(run_console_case(&cc, &r, &log), 0); /* 75: EOF stopped it */
    assert_reported(&r, 0);
    assert_no_children();
    assert_int_equal(count(log, "console: end of input: no longer listening for stop requests"), 1);
    assert_non_null(strstr(log, "received SIGTERM"));
    free(log);
}

/* The daemon never reads the console: its stdin is /dev/null even when ours is not. */
static void test_daemon_stdin_is_dev_null(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *file = tu_path(dir, "stdin");
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    int saved = dup(STDIN_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
    struct rec r = {0};
    struct evm_err err = {0};
    int st = run_daemon("stdin", NULL, 5000, file, &r, &err);
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);
    close(p[0]);
    close(p[1]);
    assert_int_equal(st, 0);
    char *got = tu_read(file, NULL);
    assert_non_null(got);
    assert_string_equal(got, "stdin=/dev/null");
    free(got);
    free(file);
    tu_rmrf(dir);
    free(dir);
}

static void test_status_code(void **state)
{
    (void)state;
    assert_int_equal(supervise_status_code(3 << 8), 3);
    assert_int_equal(supervise_status_code(SIGKILL), 137);
    assert_int_equal(supervise_status_code(SIGTERM), 143);
}

int main(int argc, char **argv)
{
    const char *mode = getenv("EVM_SV_HELPER");
    if (mode)
        _exit(run_helper(mode, argc, argv));
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
    if (n <= 0) {
        perror("readlink /proc/self/exe");
        return 1;
    }
    self_exe[n] = '\0';
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
        perror("prctl(PR_SET_CHILD_SUBREAPER)");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_code),
        cmocka_unit_test(test_orphan_reaped_and_status),
        cmocka_unit_test(test_sigterm_forwarded),
        cmocka_unit_test(test_sigpwr_stops),
        cmocka_unit_test(test_sigusr2_stops),
        cmocka_unit_test(test_sigusr1_stops),
        cmocka_unit_test(test_sigint_stops),
        cmocka_unit_test(test_ignoring_daemon_killed_after_grace),
        cmocka_unit_test(test_daemon_killed_by_signal),
        cmocka_unit_test(test_exact_argv_env_session_mask),
        cmocka_unit_test(test_exec_failure_is_error),
        cmocka_unit_test(test_signal_mask_restored),
        cmocka_unit_test(test_pid1_kill_all_in_pid_namespace),
        cmocka_unit_test(test_console_stop_request),
        cmocka_unit_test(test_console_other_boot_ignored),
        cmocka_unit_test(test_console_request_without_own_boot_id),
        cmocka_unit_test(test_console_request_split),
        cmocka_unit_test(test_console_overlong_line_discarded),
        cmocka_unit_test(test_console_request_while_stopping),
        cmocka_unit_test(test_console_eof_keeps_daemon),
        cmocka_unit_test(test_daemon_stdin_is_dev_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
