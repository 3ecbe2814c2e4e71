/* inplace_win.c — inplace.h on Windows: CreateFileW with FILE_FLAG_OPEN_REPARSE_POINT (a
 * symbolic link or junction is opened as itself, then refused), device-namespace paths
 * refused before opening, checks on the handle (a disk file, not a directory, device or
 * reparse point; the link count; the owner SID against the process token's user and default
 * owner), SetFileInformationByHandle(FileEndOfFileInfo) to truncate in place, writes
 * through a C fd, DeleteFileW, CREATE_NEW creation. Paths are UTF-8. */
#include "initrd/inplace.h"

#include <windows.h>
#include <aclapi.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "fileutil.h"
#include "winutil.h"

static int win_fail(struct evm_err *err, DWORD code, const char *what, const char *path)
{
    char msg[256];
    return evm_errf(err, win_errno(code), "%s%s: %s", what, path,
                    win_strerror(code, msg, sizeof(msg)));
}

static wchar_t *wide_path(const char *path, struct evm_err *err, int *r)
{
    int e = 0;
    wchar_t *w = win_wide(path, &e);
    if (!w)
        *r = e == ENOMEM ? evm_errf(err, ENOMEM, "out of memory")
                         : evm_errf(err, EINVAL, "%s: path is not valid UTF-8", path);
    return w;
}

/* "\\.\COM1", "\\.\pipe\x" and DOS device names (which GetFullPathNameW maps there) are
 * never opened: opening a device can have side effects. A drive ("\\.\C:\...") is fine. */
static bool device_path(const wchar_t *w)
{
    DWORD n = GetFullPathNameW(w, 0, NULL, NULL);
    wchar_t *full = n ? malloc((size_t)n * sizeof(*full)) : NULL;
    bool dev = full && GetFullPathNameW(w, n, full, NULL) > 0 &&
               wcsncmp(full, L"\\\\.\\", 4) == 0 &&
               !(iswalpha(full[4]) && full[5] == L':' && (full[6] == L'\\' || full[6] == L'/'));
    free(full);
    return dev;
}

/* True when sid is the process token's user or its default owner (an elevated admin's new
 * files are owned by the Administrators group). */
static bool token_has_sid(PSID sid)
{
    HANDLE tok;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
        return false;
    bool found = false;
    TOKEN_INFORMATION_CLASS classes[] = {TokenUser, TokenOwner};
    for (size_t i = 0; i < 2 && !found; i++) {
        DWORD need = 0;
        GetTokenInformation(tok, classes[i], NULL, 0, &need);
        void *info = need ? malloc(need) : NULL;
        if (info && GetTokenInformation(tok, classes[i], info, need, &need)) {
            PSID s = classes[i] == TokenUser ? ((TOKEN_USER *)info)->User.Sid
                                             : ((TOKEN_OWNER *)info)->Owner;
            found = EqualSid(sid, s) != 0;
        }
        free(info);
    }
    CloseHandle(tok);
    return found;
}

static int check_handle(HANDLE h, const char *path, bool single_link, struct evm_err *err)
{
    if (GetFileType(h) != FILE_TYPE_DISK)
        return evm_errf(err, EINVAL, "%s: not a regular file", path);
    BY_HANDLE_FILE_INFORMATION info;
    if (!GetFileInformationByHandle(h, &info))
        return win_fail(err, GetLastError(), "stat ", path);
    if (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)
        return evm_errf(err, ELOOP, "%s: a symbolic link or reparse point", path);
    if (info.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_DEVICE))
        return evm_errf(err, EINVAL, "%s: not a regular file", path);
    if (single_link && info.nNumberOfLinks != 1)
        return evm_errf(err, EMLINK, "%s: %lu links", path, (unsigned long)info.nNumberOfLinks);
    PSID owner = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD code = GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL,
                                 NULL, &sd);
    if (code != ERROR_SUCCESS)
        return win_fail(err, code, "reading the owner of ", path);
    bool ours = owner && token_has_sid(owner);
    LocalFree(sd);
    if (!ours)
        return evm_errf(err, EPERM, "%s: owned by someone else", path);
    return 0;
}

static int open_checked(const char *path, DWORD access, DWORD share, bool single_link, int *fd,
                        struct evm_err *err)
{
    int r = 0;
    wchar_t *w = wide_path(path, err, &r);
    if (!w)
        return r;
    if (device_path(w)) {
        free(w);
        return evm_errf(err, EINVAL, "%s: not a regular file (a device)", path);
    }
    HANDLE h = CreateFileW(w, access, share, NULL, OPEN_EXISTING,
                           FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
    free(w);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD code = GetLastError();
        if (code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND)
            return evm_errf(err, ENOENT, "%s: no such file", path);
        if (code == ERROR_SHARING_VIOLATION || code == ERROR_LOCK_VIOLATION)
            return evm_errf(err, EBUSY, "%s: in use by another process", path);
        return win_fail(err, code, "", path);
    }
    r = check_handle(h, path, single_link, err);
    int f = -1;
    if (r == 0) {
        f = _open_osfhandle((intptr_t)h,
                            (access & GENERIC_WRITE ? _O_RDWR : _O_RDONLY) | _O_BINARY);
        if (f < 0)
            r = evm_errf(err, EMFILE, "%s: no free file descriptor", path);
    }
    if (r < 0) {
        CloseHandle(h);
        return r;
    }
    *fd = f;
    return 0;
}

int inplace_open(const char *path, int *fd, struct evm_err *err)
{
    /* Others may read meanwhile, but not write, rename or delete it. */
    return open_checked(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ, true, fd, err);
}

int inplace_truncate(int fd, uint64_t len, struct evm_err *err)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    if (h == INVALID_HANDLE_VALUE)
        return evm_errf(err, EBADF, "truncate: not an open file");
    FILE_END_OF_FILE_INFO eof;
    eof.EndOfFile.QuadPart = (LONGLONG)len;
    if (!SetFileInformationByHandle(h, FileEndOfFileInfo, &eof, sizeof(eof)))
        return win_fail(err, GetLastError(), "truncate", "");
    return 0;
}

int inplace_write_at(int fd, uint64_t off, const void *buf, size_t n, struct evm_err *err)
{
    if (_lseeki64(fd, (__int64)off, SEEK_SET) < 0) {
        int e = errno;
        return evm_errf(err, e, "seek: %s", strerror(e));
    }
    return write_all(fd, buf, n, err, "the file");
}

int inplace_read_small(const char *path, char *buf, size_t max, size_t *len, struct evm_err *err)
{
    int fd;
    int r = open_checked(path, GENERIC_READ, FILE_SHARE_READ, false, &fd, err);
    if (r < 0)
        return r;
    size_t got = 0;
    r = read_full(fd, buf, max, &got, err, path);
    if (r == 0 && got == max) {
        char extra;
        size_t more = 0;
        r = read_full(fd, &extra, 1, &more, err, path);
        if (r == 0 && more)
            r = evm_errf(err, EFBIG, "%s: larger than %zu bytes", path, max);
    }
    _close(fd);
    if (r == 0)
        *len = got;
    return r;
}

int inplace_remove(const char *path, struct evm_err *err)
{
    int r = 0;
    wchar_t *w = wide_path(path, err, &r);
    if (!w)
        return r;
    BOOL ok = DeleteFileW(w);
    DWORD code = ok ? 0 : GetLastError();
    free(w);
    if (ok || code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND)
        return 0;
    return win_fail(err, code, "removing ", path);
}

int inplace_create_small(const char *path, const void *buf, size_t len, struct evm_err *err)
{
    int r = 0;
    wchar_t *w = wide_path(path, err, &r);
    if (!w)
        return r;
    HANDLE h = CreateFileW(w, GENERIC_WRITE, 0, NULL, CREATE_NEW,
                           FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD code = GetLastError();
        free(w);
        return win_fail(err, code, "creating ", path);
    }
    const char *p = buf;
    while (r == 0 && len > 0) {
        DWORD chunk = len > 0x10000000u ? 0x10000000u : (DWORD)len, done = 0;
        if (!WriteFile(h, p, chunk, &done, NULL) || done == 0)
            r = win_fail(err, GetLastError(), "writing ", path);
        p += done;
        len -= done;
    }
    if (!CloseHandle(h) && r == 0)
        r = win_fail(err, GetLastError(), "closing ", path);
    if (r < 0)
        DeleteFileW(w);
    free(w);
    return r;
}
