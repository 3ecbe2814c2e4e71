/* fileid_win.c — fileid.h on Windows, from the file's handle (_get_osfhandle):
 * GetFileInformationByHandleEx FileIdInfo (the 64-bit volume serial number and the 128-bit
 * file id, unique on ReFS too; GetFileInformationByHandle's 64-bit index where FileIdInfo
 * is not supported), FileStandardInfo (size) and FileBasicInfo (LastWriteTime,
 * ChangeTime). Times are converted from 100 ns ticks since 1601 to ns since 1970. */
#include "fileid.h"

#include <windows.h>

#include <errno.h>
#include <io.h>
#include <string.h>

#include "winutil.h"

/* 100 ns ticks between 1601-01-01 and 1970-01-01. */
#define EPOCH_DIFF_TICKS 116444736000000000LL

static int64_t ticks_ns(int64_t ticks)
{
    return (ticks - EPOCH_DIFF_TICKS) * 100;
}

static int fail(struct evm_err *err, const char *what)
{
    DWORD code = GetLastError();
    char msg[256];
    return evm_errf(err, win_errno(code), "%s: %s", what, win_strerror(code, msg, sizeof(msg)));
}

static int read_ids(HANDLE h, struct file_id *id, struct evm_err *err)
{
    FILE_ID_INFO fi;
    if (GetFileInformationByHandleEx(h, FileIdInfo, &fi, sizeof(fi))) {
        uint64_t lo, hi;
        memcpy(&lo, fi.FileId.Identifier, sizeof(lo));
        memcpy(&hi, fi.FileId.Identifier + sizeof(lo), sizeof(hi));
        id->dev = fi.VolumeSerialNumber;
        id->ino = lo;
        id->ino_hi = hi;
        return 0;
    }
    BY_HANDLE_FILE_INFORMATION info;
    if (!GetFileInformationByHandle(h, &info))
        return fail(err, "stat");
    id->dev = info.dwVolumeSerialNumber;
    id->ino = ((uint64_t)info.nFileIndexHigh << 32) | info.nFileIndexLow;
    id->ino_hi = 0;
    return 0;
}

int file_id_of_fd(int fd, struct file_id *id, struct evm_err *err)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    if (h == INVALID_HANDLE_VALUE)
        return evm_errf(err, EBADF, "stat: not an open file");
    int r = read_ids(h, id, err);
    if (r < 0)
        return r;
    FILE_STANDARD_INFO si;
    if (!GetFileInformationByHandleEx(h, FileStandardInfo, &si, sizeof(si)))
        return fail(err, "stat");
    FILE_BASIC_INFO bi;
    if (!GetFileInformationByHandleEx(h, FileBasicInfo, &bi, sizeof(bi)))
        return fail(err, "stat");
    id->size = (uint64_t)si.EndOfFile.QuadPart;
    id->mtime_ns = ticks_ns(bi.LastWriteTime.QuadPart);
    id->ctime_ns = ticks_ns(bi.ChangeTime.QuadPart);
    return 0;
}

int64_t file_time_now_ns(void)
{
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    return ticks_ns((int64_t)(((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime));
}
