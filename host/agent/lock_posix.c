/* lock_posix.c — the data-directory lock with flock(2). */
#include "agent/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int dirlock_acquire(const char *data_dir, struct dirlock *l, struct evm_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/vmhost.lock", data_dir);
    l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (l->fd < 0)
        return evm_errf(err, errno, "%s: %s", path, strerror(errno));
    if (flock(l->fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(l->fd);
        l->fd = -1;
        if (e == EWOULDBLOCK)
            return evm_errf(err, EBUSY, "another ephemerd-vmhost is running on %s", data_dir);
        return evm_errf(err, e, "locking %s: %s", path, strerror(e));
    }
    return 0;
}

void dirlock_release(struct dirlock *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}
