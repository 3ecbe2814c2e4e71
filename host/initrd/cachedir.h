/* cachedir.h — where cached binary members live and how old ones are dropped. A member is
 * named by everything its bytes depend on: the binary's SHA-256, the compression, the
 * entry mtime and the member format version. */
#ifndef EVM_CACHEDIR_H
#define EVM_CACHEDIR_H

#include <stdint.h>

#include "err.h"

/* dir may be NULL: the directory of out is used. *path is malloc'd. */
int cachedir_member_path(const char *dir, const char *out, const char *sha256_hex,
                         const char *compress, uint64_t mtime, int version, char **path,
                         struct evm_err *err);

/* Creates the directory that will hold path (0700 for new directories). */
int cachedir_prepare(const char *path, struct evm_err *err);

/* Removes every other cached member beside keep (a binary that changed leaves its old
 * member behind once); failures are logged, never fatal. */
void cachedir_prune(const char *keep);

#endif
