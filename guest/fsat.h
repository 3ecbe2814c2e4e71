/* fsat.h — file-descriptor-relative file operations under a root that never follow a
 * symlink: walking a chain of directories below a root (optionally creating them), and
 * replacing a file atomically in such a directory (temporary file opened O_EXCL|O_NOFOLLOW,
 * exact mode, owner 0:0, fsync, renameat, directory fsync). Used by tail verification,
 * config staging, the daemon install and resolv.conf (guest/verify.c, stage.c, resolv.c). */
#ifndef EVM_GUEST_FSAT_H
#define EVM_GUEST_FSAT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* Opens root itself (it may be reached through symlinks: it is the caller's trusted path)
 * as an O_DIRECTORY fd. */
int fsat_open_root(const char *root, int *fd, struct evm_err *err);

/* Walks rel ("etc/ephemerd": relative, '/'-separated, no "." or ".." components) from
 * dirfd one component at a time with O_NOFOLLOW|O_DIRECTORY, so no component can be a
 * symlink. When create is true, missing components are made with exactly `mode` (not
 * masked by the umask). Errors name "<root>/<path so far>" (root is only used in
 * messages):
 *   -ENOENT  a component is missing (create false)
 *   -ELOOP   a component is a symlink
 *   -ENOTDIR a component is not a directory
 * rel "" or "." returns a new fd for dirfd itself. */
int fsat_open_dirs(int dirfd, const char *root, const char *rel, bool create, mode_t mode, int *out,
                   struct evm_err *err);

/* Replaces <dirfd>/name atomically with bytes from either buf/len (src_fd < 0) or
 * everything src_fd holds from its current position (streamed, bounded memory): a
 * temporary ".<name>.tmp-<pid>-<n>" is created O_EXCL|O_NOFOLLOW with mode 0600, filled,
 * fchmod'ed to `mode`, fchown'ed to 0:0, fsync'ed, renamed over name (a symlink named
 * `name` is replaced itself, never written through), and the directory is fsync'ed.
 * A directory named `name` is refused (-EISDIR). The temporary file never survives a
 * failure. `where` names the directory in messages. */
int fsat_replace(int dirfd, const char *where, const char *name, const void *buf, size_t len,
                 int src_fd, mode_t mode, struct evm_err *err);

/* fsat_replace without its two fsyncs, for the files the init rewrites on every boot before
 * they are used (the daemon binary, the host config, resolv.conf): they are made durable
 * together by one syncfs before switch_root (guest/main.c), one journal commit instead of
 * two per file. A crash before that leaves at worst an old or empty file that the next boot
 * replaces before anything reads it. */
int fsat_replace_nosync(int dirfd, const char *where, const char *name, const void *buf, size_t len,
                        int src_fd, mode_t mode, struct evm_err *err);

/* 1 when <dirfd>/name already is what fsat_replace would make of buf/len (src_fd < 0) or of
 * src_fd's whole contents (read from its start; rewound after): a regular file (not a
 * symlink) of one link, exactly `mode`, owner 0:0, the same bytes compared in full. 0
 * otherwise (also when anything cannot be read). The init keeps such a file instead of
 * rewriting it on every boot. */
int fsat_same_file(int dirfd, const char *name, const void *buf, size_t len, int src_fd,
                   mode_t mode);

/* Removes leftovers ".<name>.tmp-*" of an interrupted fsat_replace in dirfd (best effort;
 * returns how many were removed). */
int fsat_remove_temps(int dirfd, const char *name);

/* Joins root and rel for messages and syscalls: "/" + "etc" → "/etc", "/r" + "etc" →
 * "/r/etc". Writes at most cap bytes (always NUL-terminated); -ENAMETOOLONG when cut. */
int fsat_join(char *out, size_t cap, const char *root, const char *rel);

#endif
