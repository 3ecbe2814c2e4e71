/* cachedir.h — the binary-member cache: where members live, how each is verified before it
 * is used, and how old ones and killed writers' leftovers are removed.
 *
 * A member is named by everything its bytes depend on: the binary's SHA-256, the
 * compression, the entry mtime and the member format version,
 *     ephemerd-linux-<sha256>-<compression>-m<mtime>-v<version>.member
 * and beside it "<member>.sum" records its length and SHA-256:
 *     ephemerd-member-sum 1\nlength <decimal>\nsha256 <64 lowercase hex>\n
 * written atomically after the member. A member is used only when it is a regular file owned
 * by this user, opened without following a link, whose length and digest match its record;
 * anything else is discarded (member and record) with a warning and built again. A hit sets
 * the member's mtime: the member's "last used" time.
 *
 * Pruning: once a build has used or written its member, the other members (with their
 * records) that were last used more than CACHEDIR_KEEP_SECONDS ago are removed. A build
 * running beside it with another binary has used or written its own member within that
 * window, so concurrent builds never remove each other's member; the member of a binary that
 * was replaced goes at the first build after it has been unused that long.
 *
 * The cache is only an optimisation: the builder goes on without it (with a warning) when
 * the directory cannot be created or written. */
#ifndef EVM_CACHEDIR_H
#define EVM_CACHEDIR_H

#include <stdint.h>

#include "err.h"

#define CACHEDIR_KEEP_SECONDS (10 * 60)
#define CACHEDIR_RECORD_SUFFIX ".sum"

/* dir may be NULL: the directory of out is used. *path is malloc'd. */
int cachedir_member_path(const char *dir, const char *out, const char *sha256_hex,
                         const char *compress, uint64_t mtime, int version, char **path,
                         struct evm_err *err);

/* Creates the directory that will hold path (0700 for new directories). */
int cachedir_prepare(const char *path, struct evm_err *err);

/* Opens the member at path for reading, at offset 0, when it verifies against its record:
 * 0 with *fd and *len. -ENOENT when there is no member (a plain miss). Any other negative
 * errno when a member is there but must not be used; err then names the cache file and
 * what was wrong, and the caller discards it. */
int cachedir_open_member(const char *path, int *fd, uint64_t *len, struct evm_err *err);

/* Writes the record of the member at path (len bytes, SHA-256 digest), atomically. */
int cachedir_record(const char *path, uint64_t len, const uint8_t digest[32], struct evm_err *err);

/* Removes the member at path and its record (the names themselves, never what a link
 * names); failures are logged. */
void cachedir_discard(const char *path);

/* Removes the other members beside keep (and their records) last used more than
 * CACHEDIR_KEEP_SECONDS ago, and records without a member as old; failures are logged,
 * never fatal. */
void cachedir_prune(const char *keep);

/* Removes the temporary files that killed builds left in the cache (dir, or the directory of
 * out when dir is NULL): "<member or record>.tmp-XXXXXXXXXXXX" only (atomicfile_sweep).
 * Returns how many; a missing directory is 0. */
int cachedir_sweep(const char *dir, const char *out, struct evm_err *err);

#endif
