/* atomicfile_win.c — Windows platform part of atomicfile: an exclusive (CREATE_NEW)
 * temporary file beside the destination whose protected DACL grants full access to the
 * owner and SYSTEM and read access to the Hyper-V VM group, writes through a C fd,
 * _commit (FlushFileBuffers) before close, and MoveFileExW with REPLACE_EXISTING and
 * WRITE_THROUGH (the rename is durable when it returns). */
#include "atomicfile_plat.h"

#include <windows.h>
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
