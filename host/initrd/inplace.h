/* inplace.h — the platform file operations of the boot initrd's in-place update
 * (bootwarm.c): opening the previous output to rewrite its end, and reading, removing and
 * creating the small record beside it. Nothing here follows a final symbolic link (or
 * reparse point), and only a regular file owned by us (the effective uid on POSIX; the
 * token's user or default owner on Windows) is opened. Nothing here flushes: see
 * docs/boot-initrd.md, "What is flushed". Platform parts: inplace_posix.c, inplace_win.c. */
#ifndef EVM_INPLACE_H
#define EVM_INPLACE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Opens an existing file read-write, positioned at 0, if it is a regular file owned by us
 * with a single link (a second name would see the update), for this caller alone until it
 * closes fd (POSIX: flock; Windows: no write sharing). Errors, the message naming path:
 *   -ENOENT missing   -ELOOP a symbolic link   -EINVAL not a regular file
 *   -EPERM  owned by someone else   -EMLINK more than one link   -EBUSY another holds it
 *   other: I/O errors */
int inplace_open(const char *path, int *fd, struct evm_err *err);

/* Cuts the file open as fd at len bytes (in place: the same file, the bytes before len
 * untouched). */
int inplace_truncate(int fd, uint64_t len, struct evm_err *err);

/* Writes buf at offset off of the file open as fd. */
int inplace_write_at(int fd, uint64_t off, const void *buf, size_t n, struct evm_err *err);

/* Reads a whole file of at most max bytes, with inplace_open's checks except the link
 * count; -EFBIG when it is larger. */
int inplace_read_small(const char *path, char *buf, size_t max, size_t *len, struct evm_err *err);

/* Removes path itself (a file or a link, never what a link points to); 0 when missing. */
int inplace_remove(const char *path, struct evm_err *err);

/* Creates path, which must not exist (exclusive: a link planted there is refused, never
 * followed), holding buf; mode 0600 on POSIX. A partly written file is removed. */
int inplace_create_small(const char *path, const void *buf, size_t len, struct evm_err *err);

#endif
