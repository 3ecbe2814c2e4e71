/* atomicfile_plat.h — what atomicfile.c needs from each platform (atomicfile_posix.c,
 * atomicfile_win.c). Internal to atomicfile. */
#ifndef EVM_ATOMICFILE_PLAT_H
#define EVM_ATOMICFILE_PLAT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Creates a new, exclusive temporary file beside dst (same directory), readable and
 * writable only by the owner (POSIX 0600; Windows: owner, SYSTEM and the Hyper-V VM group).
 * On success *fd is open for writing (binary) and *tmp is a malloc'd path. */
int afplat_create_temp(const char *dst, int *fd, char **tmp, struct evm_err *err);

/* Writes len bytes; EINTR and short writes handled. */
int afplat_write(int fd, const void *buf, size_t len, struct evm_err *err);

/* Copies len bytes from src_fd's current position to fd's (kernel copy where possible).
 * Returns -ENODATA if src_fd ends early. */
int afplat_copy(int fd, int src_fd, uint64_t len, struct evm_err *err);

/* Starts copying len bytes from src_fd offset 0 to fd offset 0 without using or moving
 * either file offset, and leaves fd's offset at len for the caller's appends. POSIX runs the
 * copy on a thread; Windows copies before returning. *job is waited for by afplat_head_wait. */
int afplat_head_start(int fd, int src_fd, uint64_t len, void **job, struct evm_err *err);
/* Waits for the copy; returns its result. Frees job. */
int afplat_head_wait(void *job, struct evm_err *err);

/* Flushes fd's data to stable storage and closes it. */
int afplat_sync_close(int fd, struct evm_err *err);

/* Atomically replaces dst with tmp, then makes the rename durable (directory flush). */
int afplat_replace(const char *tmp, const char *dst, struct evm_err *err);

/* Closes fd (if >= 0) and removes tmp, ignoring errors. */
void afplat_discard(int fd, const char *tmp);

#endif
