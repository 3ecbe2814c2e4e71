/* supervise.c — the daemon as a child of PID 1, zombie reaping, the orderly stop (on a stop
 * signal or the console's stop request, read through guest/stopreq.c) and the power-off
 * (design §4 steps 13–14). See supervise.h. */
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "mounts.h"
#include "stopreq.h"

#define POLL_MAX_MS 60000u

static const int stop_signals[] = {SIGTERM, SIGINT, SIGPWR, SIGUSR1, SIGUSR2};

static const char *signame(int sig)
{
    switch (sig) {
    case SIGTERM:
        return "SIGTERM";
    case SIGINT:
        return "SIGINT (ctrl-alt-del)";
    case SIGPWR:
        return "SIGPWR";
    case SIGUSR1:
        return "SIGUSR1 (halt)";
    case SIGUSR2:
        return "SIGUSR2 (poweroff)";
    case SIGKILL:
        return "SIGKILL";
    default:
        return "a signal";
    }
}

int supervise_status_code(int wstatus)
{
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus);
    return 255;
}

enum phase { RUNNING, STOPPING, LEFTOVER_TERM, LEFTOVER_KILL, DONE };

struct sv {
    const struct supervise_opts *o;
    const char *name; /* basename of argv[0], for the log */
    pid_t daemon;
    bool alive;
    int wstatus;
    bool kill_all; /* effective: only when we are PID 1 */
    enum phase ph;
    uint64_t deadline; /* of the current phase but RUNNING, monotonic ms */
    int sfd;           /* signalfd, -1 when not open */
    bool masked;       /* the stop signals are blocked: old is to be restored */
    sigset_t old;
    struct stopreq req; /* the console's stop requests */
};

/* ---- the daemon ------------------------------------------------------------------------ */

static void log_daemon_status(const struct sv *s)
{
    if (WIFEXITED(s->wstatus))
        log_info("%s exited with status %d", s->name, WEXITSTATUS(s->wstatus));
    else if (WIFSIGNALED(s->wstatus))
        log_info("%s was killed by signal %d (%s)", s->name, WTERMSIG(s->wstatus),
                 strsignal(WTERMSIG(s->wstatus)));
    else
        log_info("%s ended with wait status 0x%x", s->name, (unsigned)s->wstatus);
}

/* Reaps every child that has exited. Returns true when no child is left at all. */
static bool reap(struct sv *s)
{
    for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p > 0) {
            if (p == s->daemon && s->alive) {
                s->alive = false;
                s->wstatus = st;
                log_daemon_status(s);
            } else {
                log_debug("reaped process %ld (status %d)", (long)p, supervise_status_code(st));
            }
            continue;
        }
        if (p == 0)
            return false;
        if (errno == EINTR)
            continue;
        if (errno != ECHILD)
            log_warn("waitpid: %s", strerror(errno));
        return true;
    }
}

/* sig to "everything left": every process but us as PID 1, else the daemon's group. */
static void signal_rest(const struct sv *s, int sig)
{
    if (s->kill_all) {
        if (kill(-1, sig) != 0 && errno != ESRCH)
            log_warn("kill(-1, %s): %s", signame(sig), strerror(errno));
        return;
    }
    if (kill(-s->daemon, sig) != 0 && errno != ESRCH)
        log_warn("kill(-%ld, %s): %s", (long)s->daemon, signame(sig), strerror(errno));
    if (s->alive && kill(s->daemon, sig) != 0 && errno != ESRCH) /* it may have left its group */
        log_warn("kill(%ld, %s): %s", (long)s->daemon, signame(sig), strerror(errno));
}

/* The daemon's stdin: /dev/null, inherited without close-on-exec. */
static int child_stdin(int nullfd)
{
    if (nullfd == STDIN_FILENO)
        return fcntl(nullfd, F_SETFD, 0);
    return dup2(nullfd, STDIN_FILENO) < 0 ? -1 : 0;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child_exec(const struct supervise_opts *o, int errfd, int nullfd)
{
    sigset_t none;
    sigemptyset(&none);
    for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
        signal(stop_signals[i], SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    int e = 0;
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0 || setsid() < 0 || child_stdin(nullfd) != 0)
        e = errno;
    else {
        execve(o->argv[0], (char *const *)o->argv, (char *const *)o->envp);
        e = errno;
    }
    ssize_t w = write(errfd, &e, sizeof(e));
    (void)w;
    _exit(127);
}

/* The exec result the child reports on the close-on-exec pipe: 0 when it exec'd (EOF),
 * else its errno. */
static int exec_result(int fd)
{
    int e = 0;
    ssize_t n;
    do
        n = read(fd, &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(e))
        return 0;
    return e ? e : EIO;
}

/* Forks and execs the daemon with nullfd as its stdin. */
static int fork_daemon(const struct supervise_opts *o, int nullfd, pid_t *pid, struct evm_err *err)
{
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) != 0)
        return evm_errf(err, errno, "pipe: %s", strerror(errno));
    pid_t p = fork();
    if (p < 0) {
        int e = errno;
        close(ep[0]);
        close(ep[1]);
        return evm_errf(err, e, "fork for %s: %s", o->argv[0], strerror(e));
    }
    if (p == 0) {
        close(ep[0]);
        child_exec(o, ep[1], nullfd);
    }
    close(ep[1]);
    int e = exec_result(ep[0]);
    close(ep[0]);
    if (e) {
        while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
            ;
        return evm_errf(err, e, "executing %s: %s", o->argv[0], strerror(e));
    }
    *pid = p;
    return 0;
}

static int start_daemon(struct sv *s, struct evm_err *err)
{
    int nullfd = open("/dev/null", O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (nullfd < 0) {
        int e = errno;
        return evm_errf(err, e, "opening /dev/null for the stdin of %s: %s", s->o->argv[0],
                        strerror(e));
    }
    int rc = fork_daemon(s->o, nullfd, &s->daemon, err);
    close(nullfd);
    if (rc == 0)
        log_info("started %s (pid %ld)", s->name, (long)s->daemon);
    return rc;
}

/* ---- the stop ---------------------------------------------------------------------------- */

/* SIGTERM to the daemon, then the grace period. */
static void begin_stop(struct sv *s)
{
    if (s->alive && kill(s->daemon, SIGTERM) != 0 && errno != ESRCH)
        log_warn("kill(%ld, SIGTERM): %s", (long)s->daemon, strerror(errno));
    s->ph = STOPPING;
    s->deadline = clock_monotonic_ms() + s->o->grace_ms;
}

static void kill_leftovers(struct sv *s, uint64_t now)
{
    signal_rest(s, SIGKILL);
    s->ph = LEFTOVER_KILL;
    s->deadline = now + SUPERVISE_LEFTOVER_KILL_MS;
}

/* RUNNING or STOPPING, and the daemon has been reaped. */
static void daemon_gone(struct sv *s, bool none_left, uint64_t now)
{
    if (none_left) {
        s->ph = DONE;
        return;
    }
    log_info("stopping the processes %s left behind", s->name);
    signal_rest(s, SIGTERM);
    s->ph = LEFTOVER_TERM;
    s->deadline = now + SUPERVISE_LEFTOVER_TERM_MS;
}

/* The phase machine, run after every wake-up: moves on when the daemon is gone, when no
 * child is left, or when the current phase's deadline has passed. */
static void advance(struct sv *s, bool none_left, uint64_t now)
{
    switch (s->ph) {
    case RUNNING:
    case STOPPING:
        if (!s->alive) {
            daemon_gone(s, none_left, now);
        } else if (s->ph == STOPPING && now >= s->deadline) {
            log_warn("%s did not stop within %u ms: killing everything left", s->name,
                     s->o->grace_ms);
            kill_leftovers(s, now);
        }
        return;
    case LEFTOVER_TERM:
        if (none_left) {
            s->ph = DONE;
        } else if (now >= s->deadline) {
            log_warn("processes left %u ms after SIGTERM: killing them",
                     SUPERVISE_LEFTOVER_TERM_MS);
            kill_leftovers(s, now);
        }
        return;
    case LEFTOVER_KILL:
        if (none_left) {
            s->ph = DONE;
        } else if (now >= s->deadline) {
            log_warn("processes still left %u ms after SIGKILL: not waiting for them",
                     SUPERVISE_LEFTOVER_KILL_MS);
            s->ph = DONE;
        }
        return;
    case DONE:
        return;
    }
}

/* ---- events ------------------------------------------------------------------------------ */

static void on_signal(struct sv *s, const struct signalfd_siginfo *si)
{
    int sig = (int)si->ssi_signo;
    if (sig == SIGCHLD)
        return; /* the reap at the top of the loop handles it */
    if (s->ph != RUNNING) {
        log_info("received %s: already stopping", signame(sig));
        return;
    }
    log_info("received %s from pid %ld: stopping %s (grace %u ms)", signame(sig), (long)si->ssi_pid,
             s->name, s->o->grace_ms);
    begin_stop(s);
}

static void read_signals(struct sv *s)
{
    struct signalfd_siginfo si;
    ssize_t n;
    while ((n = read(s->sfd, &si, sizeof(si))) == (ssize_t)sizeof(si))
        on_signal(s, &si);
    if (n < 0 && errno != EAGAIN && errno != EINTR)
        log_warn("reading signalfd: %s", strerror(errno));
}

static void on_console_request(struct sv *s)
{
    if (s->ph != RUNNING) {
        log_info("stop requested on the console (boot id %s): already stopping", s->req.boot_id);
        return;
    }
    log_info("stop requested on the console (boot id %s): stopping %s (grace %u ms)",
             s->req.boot_id, s->name, s->o->grace_ms);
    begin_stop(s);
}

static void read_console(struct sv *s)
{
    for (unsigned n = stopreq_read(&s->req); n > 0; n--)
        on_console_request(s);
}

/* Waits for a signal or console input until the phase's deadline, then handles them. */
static void wait_events(struct sv *s, uint64_t now)
{
    int timeout = -1;
    if (s->ph != RUNNING) {
        uint64_t left = s->deadline > now ? s->deadline - now : 0;
        timeout = left > POLL_MAX_MS ? (int)POLL_MAX_MS : (int)left;
    }
    struct pollfd pfd[2] = {{.fd = s->sfd, .events = POLLIN},
                            {.fd = stopreq_fd(&s->req), .events = POLLIN}};
    nfds_t npfd = pfd[1].fd >= 0 ? 2 : 1;
    if (poll(pfd, npfd, timeout) < 0 && errno != EINTR)
        log_warn("poll: %s", strerror(errno));
    read_signals(s);
    if (npfd == 2 && pfd[1].revents)
        read_console(s);
}

/* ---- setup and the loop ------------------------------------------------------------------ */

/* Blocks the stop signals and SIGCHLD and opens the signalfd that reads them. */
static int open_signals(struct sv *s, struct evm_err *err)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
        sigaddset(&set, stop_signals[i]);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, &s->old) != 0)
        return evm_errf(err, errno, "blocking signals: %s", strerror(errno));
    s->masked = true;
    s->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->sfd < 0)
        return evm_errf(err, errno, "signalfd: %s", strerror(errno));
    return 0;
}

static int sv_open(struct sv *s, const struct supervise_opts *o, struct evm_err *err)
{
    memset(s, 0, sizeof(*s));
    s->o = o;
    s->sfd = -1;
    s->req.fd = -1;
    s->alive = true;
    const char *slash = strrchr(o->argv[0], '/');
    s->name = slash ? slash + 1 : o->argv[0];
    s->kill_all = o->kill_all;
    if (s->kill_all && getpid() != 1) {
        log_warn("not PID 1: stopping only %s's process group, not every process", s->name);
        s->kill_all = false;
    }
    int rc = open_signals(s, err);
    if (rc < 0)
        return rc;
    const struct supervise_console *c = o->console;
    return stopreq_init(&s->req, c ? c->fd : -1, c ? c->boot_id : NULL, err);
}

static void sv_close(struct sv *s)
{
    stopreq_free(&s->req);
    if (s->sfd >= 0)
        close(s->sfd);
    if (s->masked)
        sigprocmask(SIG_SETMASK, &s->old, NULL);
}

static void run_loop(struct sv *s)
{
    for (;;) {
        bool none_left = reap(s);
        uint64_t now = clock_monotonic_ms();
        advance(s, none_left, now);
        if (s->ph == DONE)
            return;
        wait_events(s, now);
    }
}

/* The daemon's status, the exit marker, then the power-off hook. */
static int report(const struct sv *s)
{
    int status = s->alive ? 255 : supervise_status_code(s->wstatus);
    if (s->alive)
        log_error("%s (pid %ld) could not be reaped; reporting status 255", s->name,
                  (long)s->daemon);
    if (s->o->hooks.exit_marker)
        s->o->hooks.exit_marker(s->o->hooks.ctx, status);
    if (s->o->hooks.poweroff)
        s->o->hooks.poweroff(s->o->hooks.ctx, status);
    return status;
}

int supervise(const struct supervise_opts *o, struct evm_err *err)
{
    if (!o || !o->argv || !o->argv[0] || !o->envp)
        return evm_errf(err, EINVAL, "supervise: no daemon to run");
    struct sv s;
    int rc = sv_open(&s, o, err);
    if (rc == 0)
        rc = start_daemon(&s, err);
    if (rc == 0 && o->hooks.started)
        o->hooks.started(o->hooks.ctx, (long)s.daemon);
    if (rc == 0) {
        run_loop(&s);
        rc = report(&s);
    }
    sv_close(&s);
    return rc;
}

/* ---- the power-off ----------------------------------------------------------------------- */

/* Reads a /proc file line by line; calls fn for each. */
static void for_each_line(const char *path, void (*fn)(const char *line, void *ctx), void *ctx)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        log_warn("opening %s: %s", path, strerror(errno));
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0)
        fn(line, ctx);
    free(line);
    fclose(f);
}

static void swapoff_line(const char *line, void *ctx)
{
    (void)ctx;
    char path[4096];
    if (line[0] != '/' || mount_field_unescape(line, path, sizeof(path)) < 0)
        return; /* the header, or not a path */
    if (swapoff(path) != 0)
        log_warn("swapoff %s: %s", path, strerror(errno));
}

struct mount_list {
    char **v;
    size_t n, cap;
};

static void collect_mount(const char *line, void *ctx)
{
    struct mount_list *l = ctx;
    char mp[4096];
    if (mountinfo_mountpoint(line, mp, sizeof(mp)) < 0 || strcmp(mp, "/") == 0)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return;
        l->v = v;
        l->cap = cap;
    }
    char *copy = strdup(mp);
    if (copy)
        l->v[l->n++] = copy;
}

void supervise_poweroff_now(void)
{
    log_info("syncing, unmounting and powering off");
    sync();
    for_each_line("/proc/swaps", swapoff_line, NULL);

    /* mountinfo lists parents before their children: unmount in reverse order. */
    struct mount_list l = {0};
    for_each_line("/proc/self/mountinfo", collect_mount, &l);
    for (size_t i = l.n; i-- > 0;) {
        if (umount2(l.v[i], 0) != 0 && errno != EINVAL && errno != ENOENT &&
            umount2(l.v[i], MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
            log_warn("unmounting %s: %s", l.v[i], strerror(errno));
        free(l.v[i]);
    }
    free(l.v);
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) != 0)
        log_warn("remounting / read-only: %s", strerror(errno));
    sync();
    reboot(RB_POWER_OFF);
    log_error("reboot(RB_POWER_OFF): %s; waiting forever", strerror(errno));
    for (;;)
        pause();
}
