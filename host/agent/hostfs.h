/* hostfs.h — what `doctor` asks of the host's file system about the data directory:
 * whether other users can reach a path, and how much room is left. hostfs_posix.c (modes),
 * hostfs_win.c (the DACL). */
#ifndef EVM_HOSTFS_H
#define EVM_HOSTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* *private is false when users other than the owner (and, on Windows, SYSTEM and the
 * Administrators) are granted any access to path; who says which (e.g. "mode 0755: group
 * and others can read", "Everyone: read"). */
int hostfs_private(const char *path, bool *private, char *who, size_t who_size,
                   struct evm_err *err);

/* One line: how to make a path private on this platform. */
const char *hostfs_private_fix(void);

/* Bytes available to this user on the file system holding path. */
int hostfs_free_bytes(const char *path, uint64_t *bytes, struct evm_err *err);

#endif
