/* lock_win.c — the data-directory lock: the lock file opened with no sharing, so a second
 * agent cannot open it while the first runs (released by Windows if the agent dies). */
#include "agent/lock.h"

#include <windows.h>

#include <errno.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>

#include "winutil.h"

#define LOCK_TRIES 10
#define LOCK_RETRY_MS 20

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
    HANDLE h;
    for (int tries = 0;; tries++) {
        h = CreateFileW(wpath, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_ALWAYS,
                        FILE_ATTRIBUTE_NORMAL, NULL);
        if (h != INVALID_HANDLE_VALUE || GetLastError() != ERROR_SHARING_VIOLATION ||
            tries >= LOCK_TRIES)
            break;
        Sleep(LOCK_RETRY_MS); /* `status` probing holds it for an instant */
    }
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

int dirlock_held(const char *data_dir, bool *held, struct evm_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/vmhost.lock", data_dir);
    *held = false;
    int e = 0;
    wchar_t *wpath = win_wide(path, &e);
    if (!wpath)
        return evm_errf(err, e, "%s: cannot convert the path", path);
    HANDLE h =
        CreateFileW(wpath, GENERIC_READ, 0, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD code = h == INVALID_HANDLE_VALUE ? GetLastError() : 0;
    free(wpath);
    if (h != INVALID_HANDLE_VALUE) {
        CloseHandle(h);
        return 0;
    }
    if (code == ERROR_SHARING_VIOLATION) {
        *held = true;
        return 0;
    }
    if (code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND)
        return 0;
    char msg[256];
    return evm_errf(err, win_errno(code), "%s: %s", path, win_strerror(code, msg, sizeof(msg)));
}
