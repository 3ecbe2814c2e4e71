/* lock.h — one agent per data directory: an exclusive lock on <data-dir>/vmhost.lock, held
 * for the agent's lifetime (released by the OS if the agent dies). */
#ifndef EVM_LOCK_H
#define EVM_LOCK_H

#include "err.h"

struct dirlock {
    int fd;
};

/* -EBUSY with a message naming the directory when another agent holds it. */
int dirlock_acquire(const char *data_dir, struct dirlock *l, struct evm_err *err);
void dirlock_release(struct dirlock *l);

#endif
