/* run.h — running a helper program (mkfs.ext4, resize2fs) as a child of the init: fork,
 * exec with a clean signal state, wait for exactly that child. Nothing is captured: the
 * child shares the init's stdin/stdout/stderr (the console), so its own messages reach the
 * host's log. */
#ifndef EVM_GUEST_RUN_H
#define EVM_GUEST_RUN_H

#include "err.h"

/* Runs argv[0] (an absolute path; no PATH search) with argv and envp (NULL: the minimal
 * environment "PATH=/usr/sbin:/usr/bin:/sbin:/bin") as a child and waits for it. The child
 * starts with an empty signal mask and default signal dispositions, whatever the init has
 * blocked or ignored. Returns:
 *   0        it exited with status 0
 *   -EIO     it exited non-zero or was killed by a signal; the message names the program
 *            and the status ("/sbin/mkfs.ext4 exited with status 1", "... killed by signal
 *            9 (Killed)")
 *   -errno   it could not be started (fork failed, or execve failed: the child reports the
 *            errno through a close-on-exec pipe, e.g. -ENOENT for a missing program, -EACCES)
 *   -EINVAL  argv empty or argv[0] not absolute
 * Waits with waitpid(pid) for that child only; a SIGCHLD handler that reaps every child
 * (waitpid(-1)) must not be active while this runs, or the status is lost (-ECHILD). */
int run_program(const char *const argv[], const char *const envp[], struct evm_err *err);

#endif
