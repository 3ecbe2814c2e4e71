/* fileid_posix.c — fileid.h on POSIX: fstat(2) with nanosecond times, and
 * CLOCK_REALTIME. */
#include "fileid.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int64_t ts_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000000 + (int64_t)ts->tv_nsec;
}

int file_id_of_fd(int fd, struct file_id *id, struct evm_err *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        return evm_errf(err, e, "stat: %s", strerror(e));
    }
    id->dev = (uint64_t)st.st_dev;
    id->ino_hi = 0;
    id->ino = (uint64_t)st.st_ino;
    id->size = (uint64_t)st.st_size;
    id->mtime_ns = ts_ns(&st.st_mtim);
    id->ctime_ns = ts_ns(&st.st_ctim);
    return 0;
}

int64_t file_time_now_ns(void)
{
    struct timespec ts;
    /* Cannot fail with a valid clock id and pointer. */
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts_ns(&ts);
}
