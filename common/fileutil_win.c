/* fileutil_win.c — Windows part of fileutil.h: regular-file-only opens (CreateFileW, file
 * type and attribute checks, never blocking on pipes or devices), bounded whole-file
 * reads, _read/_write loops, mkdir -p with '/' or '\' separators, existence checks. Paths
 * are UTF-8 and converted to wide strings. */
#include "fileutil.h"

#include <windows.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "winutil.h"

static int open_error(struct evm_err *err, const char *path, DWORD code)
{
    char msg[256];
    switch (code) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
    case ERROR_BAD_NET_NAME:
    case ERROR_INVALID_NAME:
    case ERROR_BAD_PATHNAME:
    case ERROR_DIRECTORY:
        return evm_errf(err, ENOENT, "%s: no such file", path);
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD:
        return evm_errf(err, EACCES, "%s: permission denied", path);
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
        return evm_errf(err, EACCES, "%s: permission denied (in use by another process)", path);
    case ERROR_PIPE_BUSY:
        return evm_errf(err, EINVAL, "%s: not a regular file (a pipe)", path);
    default:
        return evm_errf(err, win_errno(code), "%s: %s", path, win_strerror(code, msg, sizeof(msg)));
    }
}

/* Refuses, without opening it, what is certainly not a regular file: opening a device can
 * have side effects (a serial port raises its control lines). Device-namespace paths
 * ("\\.\pipe\x", "\\.\COM1", and DOS device names such as "NUL" or "COM1", which
 * GetFullPathNameW maps there) other than a drive ("\\.\C:\...") are refused, and so is a
 * directory. The checks after opening close the race. */
static int refuse_before_open(const wchar_t *w, const char *path, struct evm_err *err)
{
    DWORD n = GetFullPathNameW(w, 0, NULL, NULL);
    wchar_t *full = n ? malloc((size_t)n * sizeof(*full)) : NULL;
    if (full && GetFullPathNameW(w, n, full, NULL) > 0 && wcsncmp(full, L"\\\\.\\", 4) == 0 &&
        !(iswalpha(full[4]) && full[5] == L':' && (full[6] == L'\\' || full[6] == L'/'))) {
        int is_pipe = _wcsnicmp(full + 4, L"pipe\\", 5) == 0;
        free(full);
        return evm_errf(err, EINVAL, "%s: not a regular file (%s)", path,
                        is_pipe ? "a pipe" : "a device");
    }
    free(full);
    DWORD attrs = GetFileAttributesW(w);
    if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY))
        return evm_errf(err, EINVAL, "%s: not a regular file (a directory)", path);
    if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DEVICE))
        return evm_errf(err, EINVAL, "%s: not a regular file (a device)", path);
    return 0;
}

int open_regular_file(const char *path, int *fd, uint64_t *size, struct evm_err *err)
{
    int e = 0;
    wchar_t *w = win_wide(path, &e);
    if (!w)
        return e == ENOMEM ? evm_errf(err, ENOMEM, "out of memory")
                           : evm_errf(err, EINVAL, "%s: path is not valid UTF-8", path);
    /* FILE_FLAG_BACKUP_SEMANTICS lets a directory open, so it is reported as "not a
     * regular file" rather than as a permission error. Opening a pipe or device does not
     * block; the type checks below refuse them before any read. The handle is not
     * inheritable (no security attributes). */
    int r = refuse_before_open(w, path, err);
    if (r < 0) {
        free(w);
        return r;
    }
    HANDLE h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    free(w);
    if (h == INVALID_HANDLE_VALUE)
        return open_error(err, path, GetLastError());
    DWORD type = GetFileType(h);
    if (type != FILE_TYPE_DISK) {
        CloseHandle(h);
        return evm_errf(err, EINVAL, "%s: not a regular file (%s)", path,
                        type == FILE_TYPE_PIPE   ? "a pipe"
                        : type == FILE_TYPE_CHAR ? "a character device"
                                                 : "not a file");
    }
    BY_HANDLE_FILE_INFORMATION info;
    if (!GetFileInformationByHandle(h, &info)) {
        DWORD code = GetLastError();
        char msg[256];
        CloseHandle(h);
        return evm_errf(err, win_errno(code), "%s: stat: %s", path,
                        win_strerror(code, msg, sizeof(msg)));
    }
    if (info.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_DEVICE)) {
        CloseHandle(h);
        return evm_errf(err, EINVAL, "%s: not a regular file (%s)", path,
                        (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ? "a directory"
                                                                           : "a device");
    }
    int f = _open_osfhandle((intptr_t)h, _O_RDONLY | _O_BINARY);
    if (f < 0) {
        CloseHandle(h);
        return evm_errf(err, EMFILE, "%s: no free file descriptor", path);
    }
    *fd = f;
    if (size)
        *size = ((uint64_t)info.nFileSizeHigh << 32) | info.nFileSizeLow;
    return 0;
}

int write_all(int fd, const void *buf, size_t len, struct evm_err *err, const char *what)
{
    const char *p = buf;
    while (len > 0) {
        unsigned chunk = len > (size_t)INT_MAX ? (unsigned)INT_MAX : (unsigned)len;
        int w = _write(fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            return evm_errf(err, e, "writing %s: %s", what, strerror(e));
        }
        if (w == 0)
            return evm_errf(err, ENOSPC, "writing %s: %s", what, strerror(ENOSPC));
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int read_full(int fd, void *buf, size_t len, size_t *got, struct evm_err *err, const char *what)
{
    char *p = buf;
    size_t n = 0;
    while (n < len) {
        size_t want = len - n;
        unsigned chunk = want > (size_t)INT_MAX ? (unsigned)INT_MAX : (unsigned)want;
        int r = _read(fd, p + n, chunk);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            return evm_errf(err, e, "reading %s: %s", what, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *got = n;
    return 0;
}

static int is_sep(wchar_t c)
{
    return c == L'/' || c == L'\\';
}

int mkdir_p(const char *path, struct evm_err *err)
{
    int e = 0;
    wchar_t *w = win_wide(path, &e);
    if (!w)
        return e == ENOMEM ? evm_errf(err, ENOMEM, "out of memory")
                           : evm_errf(err, EINVAL, "%s: path is not valid UTF-8", path);
    /* Create every prefix that ends at a separator, then the whole path. Prefixes that are
     * roots ("C:", "\\server\share", "\\?\") cannot be created and need not be: errors on
     * them are remembered, and only reported if the path does not end up a directory. */
    DWORD last_err = 0;
    size_t n = wcslen(w);
    for (size_t i = 1; i <= n; i++) {
        if (i < n && !is_sep(w[i]))
            continue;
        if (i < n && is_sep(w[i - 1]))
            continue; /* "a//b" or a leading "\\" */
        wchar_t saved = w[i];
        w[i] = L'\0';
        if (!CreateDirectoryW(w, NULL)) {
            DWORD code = GetLastError();
            if (code != ERROR_ALREADY_EXISTS)
                last_err = code;
        } else {
            last_err = 0;
        }
        w[i] = saved;
    }
    DWORD attrs = GetFileAttributesW(w);
    free(w);
    if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY))
        return 0;
    if (attrs != INVALID_FILE_ATTRIBUTES)
        return evm_errf(err, ENOTDIR, "%s: not a directory", path);
    if (last_err) {
        char msg[256];
        return evm_errf(err, win_errno(last_err), "creating directory %s: %s", path,
                        win_strerror(last_err, msg, sizeof(msg)));
    }
    return evm_errf(err, ENOTDIR, "%s: not a directory", path);
}

/* The attributes a directory listing shows for path (left as they are when it shows none). */
static int listed_attributes(const char *path, DWORD *attrs)
{
    int e = 0;
    wchar_t *w = win_wide(path, &e);
    if (!w)
        return -e;
    WIN32_FIND_DATAW fd;
    HANDLE h = FindFirstFileExW(w, FindExInfoBasic, &fd, FindExSearchNameMatch, NULL, 0);
    free(w);
    if (h != INVALID_HANDLE_VALUE) {
        FindClose(h);
        *attrs = fd.dwFileAttributes;
    }
    return 0;
}

int path_exists(const char *path)
{
    /* GetFileAttributesW does not follow a final symlink (reparse point). Some entries
     * have no attributes to report (under wine: a dangling symlink, a FIFO, a device node);
     * a directory listing still shows them, so ask for that before saying "missing". */
    DWORD attrs, code;
    int r = win_path_attributes(path, &attrs, &code);
    if (r == 0 && attrs == INVALID_FILE_ATTRIBUTES && !strpbrk(path, "*?"))
        r = listed_attributes(path, &attrs);
    if (r < 0)
        return r;
    if (attrs != INVALID_FILE_ATTRIBUTES)
        return 1;
    r = win_errno(code);
    return r == ENOENT ? 0 : -r;
}

static bool file_id(const char *path, BY_HANDLE_FILE_INFORMATION *info)
{
    int e = 0;
    wchar_t *w = win_wide(path, &e);
    if (!w)
        return false;
    HANDLE h = CreateFileW(w, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    free(w);
    if (h == INVALID_HANDLE_VALUE)
        return false;
    BOOL ok = GetFileInformationByHandle(h, info);
    CloseHandle(h);
    return ok != 0;
}

bool paths_same_file(const char *a, const char *b)
{
    BY_HANDLE_FILE_INFORMATION ia, ib;
    return file_id(a, &ia) && file_id(b, &ib) &&
           ia.dwVolumeSerialNumber == ib.dwVolumeSerialNumber &&
           ia.nFileIndexHigh == ib.nFileIndexHigh && ia.nFileIndexLow == ib.nFileIndexLow;
}
