/* hostfs_posix.c — hostfs.h on POSIX: the mode bits, statvfs. */
#include "agent/hostfs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

int hostfs_private(const char *path, bool *private, char *who, size_t who_size, struct evm_err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return evm_errf(err, errno, "%s: %s", path, strerror(errno));
    unsigned others = (unsigned)st.st_mode & 077u;
    *private = others == 0;
    if (others)
        snprintf(who, who_size, "mode %04o: %s have access", (unsigned)st.st_mode & 07777u,
                 (others & 070u) && (others & 07u) ? "its group and all other users"
                 : (others & 070u)                 ? "its group"
                                                   : "all other users");
    else
        snprintf(who, who_size, "mode %04o", (unsigned)st.st_mode & 07777u);
    return 0;
}

int hostfs_free_bytes(const char *path, uint64_t *bytes, struct evm_err *err)
{
    struct statvfs vfs;
    if (statvfs(path, &vfs) != 0)
        return evm_errf(err, errno, "%s: %s", path, strerror(errno));
    *bytes = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
    return 0;
}

const char *hostfs_private_fix(void)
{
    return "chmod go= it (only the agent's user may read the host config's secrets)";
}
