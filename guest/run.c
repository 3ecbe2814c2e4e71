/* run.c — fork/exec/wait for the helper programs the init runs (mkfs.ext4, resize2fs).
 * An exec failure is reported by the child through a close-on-exec pipe, so a missing
 * program is told apart from one that ran and failed. */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

static const char *const run_default_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};

/* In the child, between fork and exec: only async-signal-safe calls. */
static void run_child(int report_fd, const char *const argv[], const char *const envp[])
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Handlers are reset by execve, ignored signals are not: reset everything. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        (void)sigaction(sig, &dfl, NULL); /* EINVAL for SIGKILL, SIGSTOP, unused numbers */
    execve(argv[0], (char *const *)argv, (char *const *)envp);
    int e = errno;
    ssize_t w;
    do {
        w = write(report_fd, &e, sizeof(e));
    } while (w < 0 && errno == EINTR);
    _exit(127);
}

int run_program(const char *const argv[], const char *const envp[], struct evm_err *err)
{
    if (!argv || !argv[0] || argv[0][0] != '/')
        return evm_errf(err, EINVAL, "run: program path must be absolute (got \"%s\")",
                        argv && argv[0] ? argv[0] : "");
    const char *prog = argv[0];
    if (!envp)
        envp = run_default_env;
    log_debug("running %s", prog);

    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        int e = errno;
        return evm_errf(err, e, "run %s: pipe: %s", prog, strerror(e));
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        return evm_errf(err, e, "run %s: fork: %s", prog, strerror(e));
    }
    if (pid == 0) {
        close(pfd[0]);
        run_child(pfd[1], argv, envp);
    }
    close(pfd[1]);

    /* EOF (0 bytes) means execve succeeded and closed the pipe; 4 bytes are its errno. */
    int exec_errno = 0;
    ssize_t n;
    do {
        n = read(pfd[0], &exec_errno, sizeof(exec_errno));
    } while (n < 0 && errno == EINTR);
    close(pfd[0]);
    if (n != (ssize_t)sizeof(exec_errno))
        exec_errno = 0;

    int status;
    pid_t r;
    do {
        r = waitpid(pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        int e = errno;
        return evm_errf(err, e, "run %s: waitpid: %s", prog, strerror(e));
    }
    if (exec_errno != 0)
        return evm_errf(err, exec_errno, "run %s: cannot execute: %s", prog, strerror(exec_errno));
    if (WIFEXITED(status)) {
        if (WEXITSTATUS(status) == 0)
            return 0;
        return evm_errf(err, EIO, "%s exited with status %d", prog, WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status))
        return evm_errf(err, EIO, "%s killed by signal %d (%s)", prog, WTERMSIG(status),
                        strsignal(WTERMSIG(status)));
    return evm_errf(err, EIO, "%s ended with wait status 0x%x", prog, (unsigned)status);
}
