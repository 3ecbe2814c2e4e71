/* lock_posix.c — the data-directory lock with flock(2). */
#include "agent/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define LOCK_TRIES 10
#define LOCK_RETRY_NS (20 * 1000 * 1000)

int dirlock_acquire(const char *data_dir, struct dirlock *l, struct evm_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/vmhost.lock", data_dir);
    l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (l->fd < 0)
        return evm_errf(err, errno, "%s: %s", path, strerror(errno));
    int r;
    for (int tries = 0;
         (r = flock(l->fd, LOCK_EX | LOCK_NB)) < 0 && errno == EWOULDBLOCK && tries < LOCK_TRIES;
         tries++) {
        struct timespec ts = {0, LOCK_RETRY_NS};
        nanosleep(&ts, NULL); /* `status` probing holds it for an instant */
    }
    if (r < 0) {
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

int dirlock_held(const char *data_dir, bool *held, struct evm_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/vmhost.lock", data_dir);
    *held = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT ? 0 : evm_errf(err, errno, "%s: %s", path, strerror(errno));
    int r = 0;
    if (flock(fd, LOCK_SH | LOCK_NB) == 0)
        flock(fd, LOCK_UN);
    else if (errno == EWOULDBLOCK)
        *held = true;
    else
        r = evm_errf(err, errno, "locking %s: %s", path, strerror(errno));
    close(fd);
    return r;
}
