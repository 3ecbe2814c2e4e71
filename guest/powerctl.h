/* powerctl.h — /sbin/poweroff, /sbin/reboot and /sbin/halt as names of the init binary
 * (multi-call by argv[0]): they ask PID 1 to stop the VM with the signals busybox's tools
 * send to busybox init — halt SIGUSR1, poweroff SIGUSR2, reboot SIGTERM. The kernel runs
 * /sbin/poweroff for a Hyper-V shutdown request (orderly_poweroff). ephemerd-init answers
 * all three with the same orderly stop and a power-off (supervise.h): restarting the VM is
 * the host agent's decision. */
#ifndef EVM_GUEST_POWERCTL_H
#define EVM_GUEST_POWERCTL_H

#include <sys/types.h>

/* The signal for a program name ("poweroff", or a path ending in it), 0 for any other. */
int powerctl_signal_for(const char *name);

/* Sends that signal (chosen by argv[0]) to pid (1 in production) and returns the process
 * exit code: 0 sent; 1 the signal could not be sent (message on stderr naming the pid and
 * errno) or a usage error (message and usage on stderr); 0 for -h/--help (usage on stdout).
 * Options, for compatibility with scripts that call busybox's or util-linux's tools:
 *   -f, --force     accepted: the request still goes to PID 1, whose stop is already
 *                   bounded (grace period, then SIGKILL) and always syncs first
 *   -n, --no-sync   accepted and ignored: PID 1 always syncs
 * Anything else (including -d DELAY and operands) is a usage error: nothing is sent. */
int powerctl_main(int argc, char **argv, pid_t pid);

#endif
