/* vm_qemu_disk_posix.c — the QEMU backend's root disk (vm.h's vm_disk_ensure): a sparse raw
 * file, created 0600 and grown with ftruncate (never shrunk). The file is opened without
 * following a symlink and must be a regular file. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "vm/vm.h"

int vm_disk_ensure(const char *path, uint64_t size_bytes, bool *grown, struct evm_err *err)
{
    *grown = false;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    if (fd < 0)
        return evm_errf(err, errno, "root disk %s: %s", path, strerror(errno));
    int r = 0;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        r = evm_errf(err, errno, "root disk %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        r = evm_errf(err, EINVAL, "root disk %s: not a regular file", path);
        goto out;
    }
    if (st.st_uid != geteuid()) {
        r = evm_errf(err, EPERM, "root disk %s: owned by uid %u, not this agent's", path,
                     (unsigned)st.st_uid);
        goto out;
    }
    if ((uint64_t)st.st_size >= size_bytes)
        goto out;
    if (ftruncate(fd, (off_t)size_bytes) != 0) {
        r = evm_errf(err, errno, "root disk %s: growing to %llu bytes: %s", path,
                     (unsigned long long)size_bytes, strerror(errno));
        goto out;
    }
    *grown = true;
    log_info("root disk %s: %s to %llu MiB (raw, sparse)", path, st.st_size ? "grown" : "created",
             (unsigned long long)(size_bytes >> 20));
out:
    close(fd);
    return r;
}
