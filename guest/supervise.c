/* supervise.c — the daemon as a child of PID 1, zombie reaping, the orderly stop and the
 * power-off (design §4 steps 13–14). See supervise.h. */
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
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mounts.h"

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

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct sv {
    pid_t daemon;
    const char *name; /* basename of argv[0], for the log */
    int alive;
    int wstatus;
    int kill_all; /* effective: only when we are PID 1 */
};

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

/* Reaps every child that has exited. Returns 1 when no child is left at all. */
static int reap(struct sv *s)
{
    for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p > 0) {
            if (p == s->daemon && s->alive) {
                s->alive = 0;
                s->wstatus = st;
                log_daemon_status(s);
            } else {
                log_debug("reaped process %ld (status %d)", (long)p, supervise_status_code(st));
            }
            continue;
        }
        if (p == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != ECHILD)
            log_warn("waitpid: %s", strerror(errno));
        return 1;
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

static void child_exec(const struct supervise_opts *o, int errfd)
{
    sigset_t none;
    sigemptyset(&none);
    for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
        signal(stop_signals[i], SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    int e = 0;
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0 || setsid() < 0)
        e = errno;
    else {
        execve(o->argv[0], (char *const *)o->argv, (char *const *)o->envp);
        e = errno;
    }
    ssize_t w = write(errfd, &e, sizeof(e));
    (void)w;
    _exit(127);
}

/* Forks and execs the daemon; the close-on-exec pipe reports an exec failure. */
static int start_daemon(const struct supervise_opts *o, pid_t *pid, struct evm_err *err)
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
        child_exec(o, ep[1]);
    }
    close(ep[1]);
    int e = 0;
    ssize_t n;
    do
        n = read(ep[0], &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    close(ep[0]);
    if (n == (ssize_t)sizeof(e)) {
        while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
            ;
        return evm_errf(err, e ? e : EIO, "executing %s: %s", o->argv[0], strerror(e));
    }
    *pid = p;
    return 0;
}

enum phase { RUNNING, STOPPING, LEFTOVER_TERM, LEFTOVER_KILL, DONE };

int supervise(const struct supervise_opts *o, struct evm_err *err)
{
    if (!o || !o->argv || !o->argv[0] || !o->envp)
        return evm_errf(err, EINVAL, "supervise: no daemon to run");
    sigset_t set, old;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
        sigaddset(&set, stop_signals[i]);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, &old) != 0)
        return evm_errf(err, errno, "blocking signals: %s", strerror(errno));
    int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) {
        int e = errno;
        sigprocmask(SIG_SETMASK, &old, NULL);
        return evm_errf(err, e, "signalfd: %s", strerror(e));
    }

    struct sv s = {.alive = 1};
    const char *slash = strrchr(o->argv[0], '/');
    s.name = slash ? slash + 1 : o->argv[0];
    s.kill_all = o->kill_all;
    if (s.kill_all && getpid() != 1) {
        log_warn("not PID 1: stopping only %s's process group, not every process", s.name);
        s.kill_all = 0;
    }
    int rc = start_daemon(o, &s.daemon, err);
    if (rc < 0) {
        close(sfd);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return rc;
    }
    log_info("started %s (pid %ld)", s.name, (long)s.daemon);

    enum phase ph = RUNNING;
    int64_t deadline = 0;
    for (;;) {
        int none_left = reap(&s);
        int64_t now = now_ms();
        switch (ph) {
        case RUNNING:
        case STOPPING:
            if (!s.alive) {
                if (none_left) {
                    ph = DONE;
                } else {
                    log_info("stopping the processes %s left behind", s.name);
                    signal_rest(&s, SIGTERM);
                    ph = LEFTOVER_TERM;
                    deadline = now + SUPERVISE_LEFTOVER_TERM_MS;
                }
            } else if (ph == STOPPING && now >= deadline) {
                log_warn("%s did not stop within %u ms: killing everything left", s.name,
                         o->grace_ms);
                signal_rest(&s, SIGKILL);
                ph = LEFTOVER_KILL;
                deadline = now + SUPERVISE_LEFTOVER_KILL_MS;
            }
            break;
        case LEFTOVER_TERM:
            if (none_left) {
                ph = DONE;
            } else if (now >= deadline) {
                log_warn("processes left %u ms after SIGTERM: killing them",
                         SUPERVISE_LEFTOVER_TERM_MS);
                signal_rest(&s, SIGKILL);
                ph = LEFTOVER_KILL;
                deadline = now + SUPERVISE_LEFTOVER_KILL_MS;
            }
            break;
        case LEFTOVER_KILL:
            if (none_left) {
                ph = DONE;
            } else if (now >= deadline) {
                log_warn("processes still left %u ms after SIGKILL: not waiting for them",
                         SUPERVISE_LEFTOVER_KILL_MS);
                ph = DONE;
            }
            break;
        case DONE:
            break;
        }
        if (ph == DONE)
            break;

        int timeout = -1;
        if (ph != RUNNING) {
            int64_t left = deadline - now;
            timeout = left < 0 ? 0 : (left > 60000 ? 60000 : (int)left);
        }
        struct pollfd pfd = {.fd = sfd, .events = POLLIN};
        if (poll(&pfd, 1, timeout) < 0 && errno != EINTR)
            log_warn("poll: %s", strerror(errno));
        struct signalfd_siginfo si;
        ssize_t n;
        while ((n = read(sfd, &si, sizeof(si))) == (ssize_t)sizeof(si)) {
            int sig = (int)si.ssi_signo;
            if (sig == SIGCHLD)
                continue;
            if (ph != RUNNING) {
                log_info("received %s: already stopping", signame(sig));
                continue;
            }
            log_info("received %s from pid %ld: stopping %s (grace %u ms)", signame(sig),
                     (long)si.ssi_pid, s.name, o->grace_ms);
            if (s.alive && kill(s.daemon, SIGTERM) != 0 && errno != ESRCH)
                log_warn("kill(%ld, SIGTERM): %s", (long)s.daemon, strerror(errno));
            ph = STOPPING;
            deadline = now_ms() + o->grace_ms;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            log_warn("reading signalfd: %s", strerror(errno));
    }

    int status = s.alive ? 255 : supervise_status_code(s.wstatus);
    if (s.alive)
        log_error("%s (pid %ld) could not be reaped; reporting status 255", s.name, (long)s.daemon);
    if (o->hooks.exit_marker)
        o->hooks.exit_marker(o->hooks.ctx, status);
    if (o->hooks.poweroff)
        o->hooks.poweroff(o->hooks.ctx, status);
    close(sfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return status;
}

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
