/* fileid.h — the identity of an open file, the same on every platform: which file it is
 * (device or volume, inode or file index) and its state (size, modification time and
 * change time, in nanoseconds since the Unix epoch). Two identities taken from the same
 * file are equal until its data or metadata changes: a write or truncate changes the size
 * or the times, a rename or replacement changes the device or inode, and the change time
 * moves on every change (on POSIX nothing can set it back: utime sets only the modification
 * time; on Windows only an explicit SetFileInformationByHandle can). Used by the
 * boot initrd's in-place update to recognise its inputs and its previous output without
 * reading them. Platform parts: fileid_posix.c (fstat), fileid_win.c (the file's handle:
 * GetFileInformationByHandleEx FileIdInfo / FileBasicInfo / FileStandardInfo). */
#ifndef EVM_FILEID_H
#define EVM_FILEID_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct file_id {
    uint64_t dev;     /* st_dev; the volume serial number on Windows */
    uint64_t ino_hi;  /* upper half of a 128-bit file id (ReFS); 0 on POSIX */
    uint64_t ino;     /* st_ino; the (lower half of the) file id on Windows */
    uint64_t size;    /* bytes */
    int64_t mtime_ns; /* last data modification */
    int64_t ctime_ns; /* last change of data or metadata (inode change time, ChangeTime) */
};

/* The identity of the file open as fd. */
int file_id_of_fd(int fd, struct file_id *id, struct evm_err *err);

/* True when every field is equal: the same file in the same state. */
bool file_id_equal(const struct file_id *a, const struct file_id *b);

/* True when a and b name the same file (device and inode), whatever its state. */
bool file_id_same_file(const struct file_id *a, const struct file_id *b);

/* The wall-clock time now, on the scale of the file times above (ns since the Unix
 * epoch). */
int64_t file_time_now_ns(void);

#endif
