/* lock_win.c — the data-directory lock: the lock file opened with no sharing, so a second
 * agent cannot open it while the first runs (released by Windows if the agent dies). */
#include "agent/lock.h"

#include <windows.h>

#include <errno.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>

#include "winutil.h"

int dirlock_acquire(const char *data_dir, struct dirlock *l, struct evm_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/vmhost.lock", data_dir);
    int e = 0;
    wchar_t *wpath = win_wide(path, &e);
    if (!wpath) {
        l->fd = -1;
        return evm_errf(err, e, "%s: cannot convert the path", path);
    }
    HANDLE h = CreateFileW(wpath, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    free(wpath);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD code = GetLastError();
        l->fd = -1;
        if (code == ERROR_SHARING_VIOLATION)
            return evm_errf(err, EBUSY, "another ephemerd-vmhost is running on %s", data_dir);
        char msg[256];
        return evm_errf(err, win_errno(code), "%s: %s", path, win_strerror(code, msg, sizeof(msg)));
    }
    l->fd = _open_osfhandle((intptr_t)h, 0);
    if (l->fd < 0) {
        CloseHandle(h);
        return evm_errf(err, EMFILE, "%s: no file descriptor", path);
    }
    return 0;
}

void dirlock_release(struct dirlock *l)
{
    if (l->fd >= 0)
        _close(l->fd);
    l->fd = -1;
}
