/* measure.c — the bench's runner: runs one command (fork/exec), waits for it with wait4
 * and prints one line of figures: wall time (CLOCK_MONOTONIC around fork..wait4), CPU time
 * (user+sys of the child and the descendants it reaped) and its peak RSS (ru_maxrss).
 *
 *   measure [-l LOGFILE] -- CMD [ARG...]
 *
 * stdout: "<wall_ms> <cpu_ms> <user_ms> <sys_ms> <maxrss_kib> <exit>" (one line, printed
 * whatever the command's fate). The command's stdout and stderr go to LOGFILE (appended;
 * /dev/null without -l). Exit status: 0 when the command exited 0, else 1 (with a reason on
 * stderr), 2 on a usage or system error. Standalone on purpose: the bench must build
 * whatever state the project's own sources are in. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct figures {
    double wall_ms;
    double user_ms;
    double sys_ms;
    long maxrss_kib;
    int status; /* raw wait status */
};

static double tv_ms(const struct timeval *tv)
{
    return (double)tv->tv_sec * 1e3 + (double)tv->tv_usec / 1e3;
}

static double ts_diff_ms(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static void usage(FILE *f)
{
    fputs("usage: measure [-l LOGFILE] -- CMD [ARG...]\n"
          "Runs CMD, prints \"<wall_ms> <cpu_ms> <user_ms> <sys_ms> <maxrss_kib> <exit>\".\n"
          "CMD's stdout/stderr are appended to LOGFILE (default /dev/null).\n",
          f);
}

/* Runs argv with stdout/stderr on log_fd; fills fig. Returns 0 or a negative errno
 * (with a message on stderr) when the command could not be run or waited for. */
static int run_measured(char *const argv[], int log_fd, struct figures *fig)
{
    struct timespec t0, t1;
    if (clock_gettime(CLOCK_MONOTONIC, &t0) != 0) {
        int e = errno;
        fprintf(stderr, "measure: clock_gettime: %s\n", strerror(e));
        return -e;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        fprintf(stderr, "measure: fork: %s\n", strerror(e));
        return -e;
    }
    if (pid == 0) {
        if (dup2(log_fd, STDOUT_FILENO) < 0 || dup2(log_fd, STDERR_FILENO) < 0)
            _exit(126);
        execvp(argv[0], argv);
        dprintf(STDERR_FILENO, "measure: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    struct rusage ru;
    int status = 0;
    pid_t got;
    do {
        got = wait4(pid, &status, 0, &ru);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        int e = errno;
        fprintf(stderr, "measure: wait4: %s\n", strerror(e));
        return -e;
    }
    if (clock_gettime(CLOCK_MONOTONIC, &t1) != 0) {
        int e = errno;
        fprintf(stderr, "measure: clock_gettime: %s\n", strerror(e));
        return -e;
    }
    fig->wall_ms = ts_diff_ms(&t0, &t1);
    fig->user_ms = tv_ms(&ru.ru_utime);
    fig->sys_ms = tv_ms(&ru.ru_stime);
    fig->maxrss_kib = ru.ru_maxrss; /* KiB on Linux */
    fig->status = status;
    return 0;
}

int main(int argc, char **argv)
{
    const char *log_path = "/dev/null";
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "-l") == 0 && i + 1 < argc) {
            log_path = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        fprintf(stderr, "measure: opening log %s: %s\n", log_path, strerror(errno));
        return 2;
    }
    /* O_CLOEXEC: the child sees the log only through its dup2 copies on fds 1 and 2. */
    struct figures fig = {0};
    int rc = run_measured(&argv[i], log_fd, &fig);
    if (close(log_fd) != 0) {
        fprintf(stderr, "measure: closing log %s: %s\n", log_path, strerror(errno));
        return 2;
    }
    if (rc < 0)
        return 2;

    int exit_code = WIFEXITED(fig.status) ? WEXITSTATUS(fig.status) : 128 + WTERMSIG(fig.status);
    if (printf("%.1f %.1f %.1f %.1f %ld %d\n", fig.wall_ms, fig.user_ms + fig.sys_ms, fig.user_ms,
               fig.sys_ms, fig.maxrss_kib, exit_code) < 0 ||
        fflush(stdout) != 0) {
        fprintf(stderr, "measure: writing figures: %s\n", strerror(errno));
        return 2;
    }
    if (WIFSIGNALED(fig.status)) {
        fprintf(stderr, "measure: %s killed by signal %d (log: %s)\n", argv[i],
                WTERMSIG(fig.status), log_path);
        return 1;
    }
    if (exit_code != 0) {
        fprintf(stderr, "measure: %s exited with status %d (log: %s)\n", argv[i], exit_code,
                log_path);
        return 1;
    }
    return 0;
}
