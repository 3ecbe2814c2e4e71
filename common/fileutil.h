/* fileutil.h — file utilities every layer shares: opening and reading files that must never
 * block or surprise (regular files only: a directory, FIFO or device is refused without
 * blocking; bounded size), write/read loops, mkdir -p, existence checks. Platform parts live
 * in fileutil_posix.c and fileutil_win.c. */
#ifndef EVM_FILEUTIL_H
#define EVM_FILEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Reads a whole regular file of at most max bytes into a malloc'd buffer (NUL-terminated
 * for convenience; *len excludes the NUL). Follows symlinks. Errors:
 *   -ENOENT  missing (also a dangling symlink)
 *   -EACCES  unreadable (permission)
 *   -EINVAL  not a regular file (directory, FIFO, device, socket) — never blocks
 *   -EFBIG   larger than max
 *   other    I/O errors
 * The message names the path and what was wrong. */
int read_regular_file(const char *path, size_t max, char **buf, size_t *len, struct evm_err *err);

/* Opens a regular file for reading (O_RDONLY|O_CLOEXEC, binary); same refusals as above,
 * without a size limit. *size receives its size. */
int open_regular_file(const char *path, int *fd, uint64_t *size, struct evm_err *err);

/* write(2) until done; EINTR retried. */
int write_all(int fd, const void *buf, size_t len, struct evm_err *err, const char *what);

/* read(2) until len bytes or EOF; *got receives the count. */
int read_full(int fd, void *buf, size_t len, size_t *got, struct evm_err *err, const char *what);

/* Makes a directory and its parents (mode 0700 for new ones). */
int mkdir_p(const char *path, struct evm_err *err);

/* True when both paths exist and name the same file (the same device and inode, or on
 * Windows the same volume and file index), whatever the names. */
bool paths_same_file(const char *a, const char *b);

/* 1 when path exists (without following a final symlink), 0 when not, negative on error. */
int path_exists(const char *path);

#endif
