/* atomicfile_plat.h — what atomicfile.c needs from each platform (atomicfile_posix.c,
 * atomicfile_win.c). Internal to atomicfile. */
#ifndef EVM_ATOMICFILE_PLAT_H
#define EVM_ATOMICFILE_PLAT_H

#include <stdbool.h>
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

/* Flushes fd, closes it and replaces dst with tmp, in the order the platform needs: POSIX
 * renames before closing (the writer's lock keeps a sweeper off the file until it has its
 * final name); Windows closes first (an open file without delete sharing cannot be
 * renamed). fd is closed whatever happens. */
int afplat_commit(int fd, const char *tmp, const char *dst, struct evm_err *err);

/* Removes tmp and closes fd (if >= 0), ignoring errors; POSIX removes before closing, so
 * the writer's lock is held until the name is gone. */
void afplat_discard(int fd, const char *tmp);

/* Calls fn for the name of every entry of dir (UTF-8; "." and ".." left out) until fn
 * returns non-zero. A missing dir is -ENOENT. */
typedef int (*afplat_name_fn)(const char *name, void *ctx);
int afplat_list(const char *dir, afplat_name_fn fn, void *ctx, struct evm_err *err);

/* Removes the temporary file at path when it is safe (see atomicfile_sweep): 1 when removed
 * (*size: its size), 0 when left alone (*why says why), negative on an unexpected error. */
int afplat_sweep_one(const char *path, uint64_t *size, const char **why);

/* 2 when path is a directory (following links), 1 when it is something else, 0 when there
 * is nothing there, a negative errno when that cannot be told. */
int afplat_path_kind(const char *path);

/* atomicfile_open_owned. */
int afplat_open_owned(const char *path, bool touch, int *fd, uint64_t *size, struct evm_err *err);

#endif
