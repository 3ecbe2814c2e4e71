/* atomicfile_win.c — Windows platform part of atomicfile: an exclusive (CREATE_NEW)
 * temporary file beside the destination whose protected DACL grants full access to the
 * owner and SYSTEM and read access to the Hyper-V VM group, writes through a C fd,
 * _commit (FlushFileBuffers) before close, and MoveFileExW with REPLACE_EXISTING and
 * WRITE_THROUGH (the rename is durable when it returns). The temporary file is open without
 * any sharing while it is written, so a sweep can neither open nor delete a live writer's;
 * the sweep deletes a dead writer's through its own handle. Our own files are opened without
 * following reparse points and checked to be owned by the process user. */
#include "atomicfile_plat.h"

#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "random.h"
#include "winutil.h"

/* The temporary file's protected DACL ("D:P": nothing inherited from the directory):
 *   the current user (the token's user SID): full access — explicit, because the default
 *     owner of an elevated admin's files is the Administrators group, and because wine
 *     derives the Unix mode from the ACEs for the user (without it the file gets mode 0
 *     there and cannot be deleted);
 *   OW (OWNER RIGHTS): full access for whoever owns the file;
 *   SY (LocalSystem): full access;
 *   S-1-5-83-0 (NT VIRTUAL MACHINE\Virtual Machines): read, for the VM worker process. */
#define SDDL_TAIL L"(A;;FA;;;OW)(A;;FA;;;SY)(A;;FR;;;S-1-5-83-0)"

static int win_fail(struct evm_err *err, DWORD code, const char *what, const char *path)
{
    char msg[256];
    return evm_errf(err, win_errno(code), "%s %s: %s", what, path,
                    win_strerror(code, msg, sizeof(msg)));
}

static int build_sd(const char *dst, PSECURITY_DESCRIPTOR *sd, struct evm_err *err)
{
    HANDLE tok;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
        return win_fail(err, GetLastError(), "opening the process token for", dst);
    DWORD need = 0;
    GetTokenInformation(tok, TokenUser, NULL, 0, &need);
    TOKEN_USER *user = need ? malloc(need) : NULL;
    if (!user || !GetTokenInformation(tok, TokenUser, user, need, &need)) {
        DWORD code = user ? GetLastError() : ERROR_NOT_ENOUGH_MEMORY;
        free(user);
        CloseHandle(tok);
        return win_fail(err, code, "reading the process user for", dst);
    }
    CloseHandle(tok);
    wchar_t *sid = NULL;
    if (!ConvertSidToStringSidW(user->User.Sid, &sid)) {
        DWORD code = GetLastError();
        free(user);
        return win_fail(err, code, "formatting the process user SID for", dst);
    }
    free(user);
    size_t n = wcslen(sid) + 32 + sizeof(SDDL_TAIL) / sizeof(wchar_t);
    wchar_t *sddl = malloc(n * sizeof(*sddl));
    if (!sddl) {
        LocalFree(sid);
        return evm_errf(err, ENOMEM, "out of memory");
    }
    swprintf(sddl, n, L"D:P(A;;FA;;;%ls)" SDDL_TAIL, sid);
    LocalFree(sid);
    BOOL ok = ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, sd, NULL);
    DWORD code = ok ? 0 : GetLastError();
    free(sddl);
    if (!ok)
        return win_fail(err, code, "building the security descriptor for", dst);
    return 0;
}

int afplat_create_temp(const char *dst, int *fd, char **tmp, struct evm_err *err)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    int r = build_sd(dst, &sd, err);
    if (r < 0)
        return r;
    SECURITY_ATTRIBUTES sa = {sizeof(sa), sd, FALSE};
    size_t n = strlen(dst) + 32;
    char *path = malloc(n);
    if (!path)
        r = evm_errf(err, ENOMEM, "out of memory");
    for (int attempt = 0; r == 0 && attempt < 16; attempt++) {
        unsigned char rnd[6];
        r = random_bytes(rnd, sizeof(rnd), err);
        if (r < 0)
            break;
        snprintf(path, n, "%s.tmp-%02x%02x%02x%02x%02x%02x", dst, rnd[0], rnd[1], rnd[2], rnd[3],
                 rnd[4], rnd[5]);
        int e = 0;
        wchar_t *w = win_wide(path, &e);
        if (!w) {
            r = e == ENOMEM ? evm_errf(err, ENOMEM, "out of memory")
                            : evm_errf(err, EINVAL, "%s: path is not valid UTF-8", dst);
            break;
        }
        HANDLE h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, 0, &sa, CREATE_NEW,
                               FILE_ATTRIBUTE_NORMAL, NULL);
        DWORD code = h == INVALID_HANDLE_VALUE ? GetLastError() : 0;
        if (h == INVALID_HANDLE_VALUE) {
            free(w);
            if (code == ERROR_FILE_EXISTS || code == ERROR_ALREADY_EXISTS)
                continue;
            r = win_fail(err, code, "creating temporary file beside", dst);
            break;
        }
        int f = _open_osfhandle((intptr_t)h, _O_WRONLY | _O_BINARY);
        if (f < 0) {
            CloseHandle(h);
            DeleteFileW(w);
            free(w);
            r = evm_errf(err, EMFILE, "creating temporary file beside %s: no free descriptor", dst);
            break;
        }
        free(w);
        LocalFree(sd);
        *fd = f;
        *tmp = path;
        return 0;
    }
    LocalFree(sd);
    free(path);
    if (r == 0)
        r = evm_errf(err, EEXIST, "creating temporary file beside %s: too many collisions", dst);
    return r;
}

int afplat_write(int fd, const void *buf, size_t len, struct evm_err *err)
{
    const char *p = buf;
    while (len > 0) {
        unsigned chunk = len > (size_t)INT_MAX ? (unsigned)INT_MAX : (unsigned)len;
        int w = _write(fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            return evm_errf(err, e, "%s", strerror(e));
        }
        if (w == 0)
            return evm_errf(err, ENOSPC, "%s", strerror(ENOSPC));
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int afplat_copy(int fd, int src_fd, uint64_t len, struct evm_err *err)
{
    static const size_t chunk = 256 * 1024;
    char *buf = malloc(chunk);
    if (!buf)
        return evm_errf(err, ENOMEM, "out of memory");
    int r = 0;
    while (len > 0) {
        unsigned want = len < chunk ? (unsigned)len : (unsigned)chunk;
        int got = _read(src_fd, buf, want);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            r = evm_errf(err, e, "reading: %s", strerror(e));
            break;
        }
        if (got == 0) {
            r = evm_errf(err, ENODATA, "source ended early (file changed while copying?)");
            break;
        }
        r = afplat_write(fd, buf, (size_t)got, err);
        if (r < 0)
            break;
        len -= (uint64_t)got;
    }
    free(buf);
    return r;
}

/* Windows: the head copy runs before returning (no background thread); the result is kept
 * for afplat_head_wait so callers see one behaviour. */
struct head_job {
    int result;
    struct evm_err err;
};

int afplat_head_start(int fd, int src_fd, uint64_t len, void **job, struct evm_err *err)
{
    struct head_job *j = calloc(1, sizeof(*j));
    if (!j)
        return evm_errf(err, ENOMEM, "out of memory");
    if (_lseeki64(src_fd, 0, SEEK_SET) < 0 || _lseeki64(fd, 0, SEEK_SET) < 0) {
        free(j);
        return evm_errf(err, errno, "seek: %s", strerror(errno));
    }
    j->result = afplat_copy(fd, src_fd, len, &j->err);
    *job = j;
    return 0;
}

int afplat_head_wait(void *job, struct evm_err *err)
{
    struct head_job *j = job;
    int r = j->result;
    if (r < 0 && err)
        *err = j->err;
    free(j);
    return r;
}

int afplat_sync_close(int fd, struct evm_err *err)
{
    int r = 0;
    if (_commit(fd) < 0) {
        int e = errno;
        r = evm_errf(err, e, "flushing: %s", strerror(e));
    }
    if (_close(fd) < 0 && r == 0) {
        int e = errno;
        r = evm_errf(err, e, "close: %s", strerror(e));
    }
    return r;
}

int afplat_replace(const char *tmp, const char *dst, struct evm_err *err)
{
    int e = 0;
    wchar_t *wtmp = win_wide(tmp, &e);
    wchar_t *wdst = wtmp ? win_wide(dst, &e) : NULL;
    if (!wtmp || !wdst) {
        free(wtmp);
        return e == ENOMEM ? evm_errf(err, ENOMEM, "out of memory")
                           : evm_errf(err, EINVAL, "%s: path is not valid UTF-8", dst);
    }
    /* MoveFileExW keeps the temporary file's own security descriptor (ReplaceFileW would
     * carry over the old file's, which may be looser). A virus scanner or indexer holding
     * the old file open briefly shows up as a sharing violation or access denied: retry a
     * few times before giving up. */
    BOOL ok = FALSE;
    DWORD code = 0;
    for (int attempt = 0; attempt < 10; attempt++) {
        ok = MoveFileExW(wtmp, wdst, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
        if (ok)
            break;
        code = GetLastError();
        if (code != ERROR_SHARING_VIOLATION && code != ERROR_ACCESS_DENIED &&
            code != ERROR_LOCK_VIOLATION)
            break;
        Sleep(20u << (attempt < 4 ? attempt : 4));
    }
    free(wtmp);
    free(wdst);
    if (!ok) {
        char msg[256];
        return evm_errf(err, win_errno(code), "renaming %s to %s: %s", tmp, dst,
                        win_strerror(code, msg, sizeof(msg)));
    }
    return 0;
}

int afplat_commit(int fd, const char *tmp, const char *dst, struct evm_err *err)
{
    int r = afplat_sync_close(fd, err);
    if (r < 0)
        return evm_err_wrap(err, "%s", tmp);
    return afplat_replace(tmp, dst, err);
}

void afplat_discard(int fd, const char *tmp)
{
    if (fd >= 0)
        _close(fd);
    if (!tmp)
        return;
    int e = 0;
    wchar_t *w = win_wide(tmp, &e);
    if (w) {
        /* A read-only attribute (set by someone else, or derived by wine from the ACL)
         * would make the delete fail: clear it and retry once. */
        if (!DeleteFileW(w) && GetLastError() == ERROR_ACCESS_DENIED &&
            SetFileAttributesW(w, FILE_ATTRIBUTE_NORMAL))
            DeleteFileW(w);
        free(w);
    }
}

/* A malloc'd UTF-8 copy of a wide string, or NULL. */
static char *narrow(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, NULL, 0, NULL, NULL);
    char *s = n > 0 ? malloc((size_t)n) : NULL;
    if (s && WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, s, n, NULL, NULL) != n) {
        free(s);
        s = NULL;
    }
    return s;
}

int afplat_list(const char *dir, afplat_name_fn fn, void *ctx, struct evm_err *err)
{
    size_t n = strlen(dir);
    char *pattern = malloc(n + 3);
    if (!pattern)
        return evm_errf(err, ENOMEM, "out of memory");
    memcpy(pattern, dir, n);
    memcpy(pattern + n, "\\*", 3);
    int e = 0;
    wchar_t *w = win_wide(pattern, &e);
    free(pattern);
    if (!w)
        return e == ENOMEM ? evm_errf(err, ENOMEM, "out of memory")
                           : evm_errf(err, EINVAL, "%s: path is not valid UTF-8", dir);
    WIN32_FIND_DATAW fd;
    HANDLE h = FindFirstFileExW(w, FindExInfoBasic, &fd, FindExSearchNameMatch, NULL, 0);
    free(w);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD code = GetLastError();
        if (code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND || code == ERROR_DIRECTORY)
            return evm_errf(err, ENOENT, "listing %s: no such directory", dir);
        return win_fail(err, code, "listing", dir);
    }
    do {
        if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
            continue;
        char *name = narrow(fd.cFileName);
        int stop = name ? fn(name, ctx) : 0;
        free(name);
        if (stop)
            break;
    } while (FindNextFileW(h, &fd));
    FindClose(h);
    return 0;
}

/* The process's user and default owner (the owner of the files it creates: for an elevated
 * administrator, the Administrators group). */
struct whoami {
    TOKEN_USER *user;
    TOKEN_OWNER *owner;
};

static void *token_info(HANDLE tok, TOKEN_INFORMATION_CLASS cls)
{
    DWORD need = 0;
    GetTokenInformation(tok, cls, NULL, 0, &need);
    void *p = need ? malloc(need) : NULL;
    if (p && !GetTokenInformation(tok, cls, p, need, &need)) {
        free(p);
        p = NULL;
    }
    return p;
}

/* 1 when h's owner is the process user or its default owner, 0 when not, -1 when it cannot
 * be told. */
static int owned_by_us(HANDLE h)
{
    HANDLE tok;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
        return -1;
    struct whoami me = {token_info(tok, TokenUser), token_info(tok, TokenOwner)};
    CloseHandle(tok);
    PSID owner = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    int r = -1;
    if (me.user && me.owner &&
        GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL, NULL,
                        &sd) == ERROR_SUCCESS)
        r = owner && (EqualSid(owner, me.user->User.Sid) || EqualSid(owner, me.owner->Owner));
    if (sd)
        LocalFree(sd);
    free(me.user);
    free(me.owner);
    return r;
}

/* Opens path itself (never what a reparse point names) with the given access and sharing. */
static HANDLE open_nofollow(const char *path, DWORD access, DWORD share, DWORD *code)
{
    int e = 0;
    wchar_t *w = win_wide(path, &e);
    if (!w) {
        *code = e == ENOMEM ? ERROR_NOT_ENOUGH_MEMORY : ERROR_INVALID_NAME;
        return INVALID_HANDLE_VALUE;
    }
    HANDLE h = CreateFileW(w, access, share, NULL, OPEN_EXISTING,
                           FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
    *code = h == INVALID_HANDLE_VALUE ? GetLastError() : 0;
    free(w);
    return h;
}

/* What is wrong with the open file h for a file of ours: NULL when nothing. */
static const char *not_ours(HANDLE h, uint64_t *size, int *code)
{
    BY_HANDLE_FILE_INFORMATION fi;
    if (!GetFileInformationByHandle(h, &fi)) {
        *code = EIO;
        return "cannot be examined";
    }
    if (fi.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
        *code = ELOOP;
        return "a symbolic link or other reparse point";
    }
    if ((fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) || GetFileType(h) != FILE_TYPE_DISK) {
        *code = EINVAL;
        return "not a regular file";
    }
    if (owned_by_us(h) != 1) {
        *code = EPERM;
        return "not owned by this user";
    }
    *size = ((uint64_t)fi.nFileSizeHigh << 32) | fi.nFileSizeLow;
    return NULL;
}

int afplat_sweep_one(const char *path, uint64_t *size, const char **why)
{
    /* No sharing: a live writer has the file open (without sharing), so this fails. */
    DWORD code;
    HANDLE h = open_nofollow(path, DELETE | FILE_READ_ATTRIBUTES | READ_CONTROL, 0, &code);
    if (h == INVALID_HANDLE_VALUE) {
        *why = code == ERROR_SHARING_VIOLATION ? "a running writer holds it"
               : code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND ? "gone"
                                                                              : "cannot be opened";
        return 0;
    }
    int e = 0;
    const char *wrong = not_ours(h, size, &e);
    if (wrong) {
        CloseHandle(h);
        *why = wrong;
        return 0;
    }
    /* Deleted through this handle: exactly the file that was checked. */
    FILE_DISPOSITION_INFO del = {TRUE};
    BOOL ok = SetFileInformationByHandle(h, FileDispositionInfo, &del, sizeof(del));
    code = ok ? 0 : GetLastError();
    CloseHandle(h);
    return ok ? 1 : -win_errno(code);
}

int afplat_path_kind(const char *path)
{
    DWORD attrs, code;
    int r = win_path_attributes(path, &attrs, &code);
    if (r < 0)
        return r;
    if (attrs == INVALID_FILE_ATTRIBUTES)
        return code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND ? 0 : -win_errno(code);
    return (attrs & FILE_ATTRIBUTE_DIRECTORY) ? 2 : 1;
}

int afplat_open_owned(const char *path, bool touch, int *fd, uint64_t *size, struct evm_err *err)
{
    DWORD code;
    DWORD access = GENERIC_READ | READ_CONTROL | (touch ? FILE_WRITE_ATTRIBUTES : 0);
    HANDLE h = open_nofollow(path, access, FILE_SHARE_READ, &code);
    if (h == INVALID_HANDLE_VALUE && touch && code == ERROR_ACCESS_DENIED) {
        touch = false; /* a read-only cache still serves */
        h = open_nofollow(path, GENERIC_READ | READ_CONTROL, FILE_SHARE_READ, &code);
    }
    if (h == INVALID_HANDLE_VALUE) {
        if (code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND)
            return evm_errf(err, ENOENT, "%s: no such file", path);
        return win_fail(err, code, "opening", path);
    }
    int e = 0;
    const char *wrong = not_ours(h, size, &e);
    if (wrong) {
        CloseHandle(h);
        return evm_errf(err, e, "%s: %s", path, wrong);
    }
    if (touch) {
        FILETIME now;
        GetSystemTimeAsFileTime(&now);
        (void)SetFileTime(h, NULL, NULL, &now);
    }
    int f = _open_osfhandle((intptr_t)h, _O_RDONLY | _O_BINARY);
    if (f < 0) {
        CloseHandle(h);
        return evm_errf(err, EMFILE, "%s: no free descriptor", path);
    }
    *fd = f;
    return 0;
}
