/* lock.h — one agent per data directory: an exclusive lock on <data-dir>/vmhost.lock, held
 * for the agent's lifetime (released by the OS if the agent dies). */
#ifndef EVM_LOCK_H
#define EVM_LOCK_H

#include <stdbool.h>

#include "err.h"

struct dirlock {
    int fd;
};

/* -EBUSY with a message naming the directory when another agent holds it. A holder that only
 * probes (dirlock_held, for `status`) is waited out briefly. */
int dirlock_acquire(const char *data_dir, struct dirlock *l, struct evm_err *err);
void dirlock_release(struct dirlock *l);

/* Whether an agent holds the data dir's lock right now, i.e. is running on it; *held is false
 * when the lock file does not exist. Never creates the file; holds the lock only for an
 * instant. */
int dirlock_held(const char *data_dir, bool *held, struct evm_err *err);

#endif
