/* supervise.h — design §4 steps 13 and 14: start the daemon as a child and stay PID 1:
 * reap every zombie, turn the stop signals into an orderly stop (SIGTERM to the daemon, a
 * grace period, SIGKILL to what is left), report the daemon's status and power off.
 * Testable without being PID 1: the power-off and the console marker are hooks, and killing
 * "everything" is limited to the daemon's process group unless kill_all is set (and we
 * really are PID 1).
 *
 * Signals: SIGTERM, SIGINT, SIGPWR, SIGUSR1, SIGUSR2 (and SIGCHLD) are blocked before the
 * fork and read through a signalfd. For PID 1 the kernel discards signals whose
 * disposition is SIG_DFL — but never blocked ones, so they reach the signalfd. SIGINT is
 * what the kernel sends PID 1 on ctrl-alt-del once main has called reboot(RB_DISABLE_CAD);
 * SIGPWR comes from power-failure events; SIGUSR1/SIGUSR2/SIGTERM from halt/poweroff/reboot
 * (powerctl.h). All of them end in a power-off: the host agent decides about restarts.
 *
 * The console: the host asks for the same orderly stop by writing "EPHEMERD_STOP
 * boot_id=<id>" on the serial console (guest/stopreq.h). While the daemon is supervised the
 * console's input is read; a request carrying this boot's id starts the stop exactly as
 * SIGTERM does, any other is logged and ignored. The daemon never shares that input: its
 * stdin is /dev/null (stdout and stderr stay the console).
 * The loop waits with poll() and a deadline, never with a fixed sleep. */
#ifndef EVM_GUEST_SUPERVISE_H
#define EVM_GUEST_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Grace period after SIGTERM to the daemon before SIGKILL to everything (production):
 * Docker's default stop timeout. The host agent's stop timeout must be longer. */
#define SUPERVISE_GRACE_MS_DEFAULT 10000u
/* After the daemon is gone: time the leftovers get after SIGTERM, then after SIGKILL. */
#define SUPERVISE_LEFTOVER_TERM_MS 2000u
#define SUPERVISE_LEFTOVER_KILL_MS 5000u

struct supervise_hooks {
    /* Ends the VM once the daemon is gone (production: supervise_poweroff_now; tests record
     * and return). daemon_status as returned by supervise. NULL: nothing. */
    void (*poweroff)(void *ctx, int daemon_status);
    /* Writes the console marker (production: "EPHEMERD_EXIT status=<n> boot_id=<id>", see
     * console_exit of guest/console.h). Called before poweroff. NULL: nothing. */
    void (*exit_marker)(void *ctx, int status);
    /* Called once the daemon has started (its pid), before the loop: the init's work after
     * the launch (modlater.h) starts here, after the fork, so no thread of it is copied into
     * the daemon. NULL: nothing. */
    void (*started)(void *ctx, long pid);
    void *ctx;
};

/* Where stop requests come from (production: fd 0, the console, and the boot id of the
 * kernel command line). */
struct supervise_console {
    int fd;              /* read, never closed; EOF or an error ends the listening only */
    const char *boot_id; /* this boot's; NULL or "": no request matches */
};

struct supervise_opts {
    /* The daemon: argv[0] is the path executed (execve: no PATH search), argv and envp are
     * passed exactly as given. It runs in a new session (setsid), so it is its own process
     * group leader without a controlling terminal, with an empty signal mask. */
    const char *const *argv;
    const char *const *envp;
    unsigned grace_ms; /* SIGTERM → SIGKILL; production SUPERVISE_GRACE_MS_DEFAULT */
    /* true (production, PID 1): "everything left" is kill(-1, sig) — every process but us.
     * false (tests): the daemon's process group, kill(-daemon_pid, sig). kill_all is only
     * honoured when getpid() == 1; otherwise it falls back to the process group with a
     * warning, so a mistaken run can never signal a developer's whole session. */
    bool kill_all;
    /* NULL: no stop requests are read (signals only). */
    const struct supervise_console *console;
    struct supervise_hooks hooks;
};

/* Starts the daemon (stdin /dev/null) and supervises it as described above. Returns the daemon's
 * status: its exit code when it exited, 128 + the signal number when a signal killed it (SIGKILL →
 * 137), 255 if it could not be reaped even after SIGKILL (stuck in the kernel). Before
 * returning it calls hooks.exit_marker(status) then hooks.poweroff(status) (production's
 * poweroff never returns). Every child is reaped, including orphans reparented to us (as
 * PID 1, or as a child subreaper in tests); after the daemon is gone, the leftovers get
 * SIGTERM, then SIGKILL, and are reaped (each step bounded).
 * Errors (negative errno, no hooks called): the signalfd, /dev/null or fork failed, or the
 * daemon could not be executed (the message names argv[0] and the errno; the child is
 * reaped).
 * The caller's signal mask is restored before returning. */
int supervise(const struct supervise_opts *o, struct evm_err *err);

/* The production power-off: sync(); swapoff every swap in /proc/swaps; unmount every mount
 * in /proc/self/mountinfo, deepest (latest) first, except "/"; remount "/" read-only; sync();
 * reboot(RB_POWER_OFF). Each step is best effort and logged when it fails. Never returns:
 * if reboot fails it pauses forever (PID 1 must never exit). */
void supervise_poweroff_now(void);

/* The status convention above, from a waitpid() status. */
int supervise_status_code(int wstatus);

#endif
