/* atomicfile.h — replace a file atomically: write to a temporary file in the same
 * directory (0600 on POSIX; owner, SYSTEM and the VM group on Windows), flush, rename over
 * the destination, flush the directory. Until commit, the previous file is untouched;
 * abort (or a crash) leaves it intact. A crash leaves the temporary file behind, named
 * "<destination>.tmp-" and 12 lowercase hex digits: atomicfile_sweep removes those of dead
 * writers, never a live writer's (POSIX: a writer holds flock(LOCK_EX) on its temporary file
 * from creation until it is renamed or removed; Windows: it is open without delete sharing).
 * Also: reading back a file this user wrote (no link, regular, ours). Platform parts in
 * atomicfile_posix.c/_win.c. */
#ifndef EVM_ATOMICFILE_H
#define EVM_ATOMICFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "err.h"

struct digest;

/* What follows the destination's name in a temporary file's name: ".tmp-" and this many
 * lowercase hex digits. */
#define ATOMICFILE_TMP_MARK ".tmp-"
#define ATOMICFILE_TMP_HEX 12

struct atomicfile {
    int fd; /* -1 when closed */
    char *dst;
    char *tmp;
    uint64_t written;
    /* Test hook: when non-zero, writes past this many bytes fail with -ENOSPC, as a full
     * disk would (a head copy crossing it fails in the background, reported by
     * atomicfile_wait_head, commit or abort). Zero in production. */
    uint64_t fail_after;
    void *head; /* background copy started by atomicfile_copy_head, or NULL */
    /* Optional, set after atomicfile_open: every byte atomicfile_write writes is also
     * hashed into *digest (copies are refused while it is set: their bytes are not seen). */
    struct digest *digest;
    /* Optional, set after atomicfile_open: the file is a best-effort copy (a cache). A
     * failing write then does not fail the caller: the first failure is kept in
     * *best_effort (its code becomes non-zero), the temporary file is removed at once (a
     * full disk needs the space elsewhere), later writes do nothing and commit returns
     * that failure. */
    struct evm_err *best_effort;
    /* The first write or copy that failed (negative errno), 0 when none has. */
    int write_error;
};

/* Whether dst can be a destination, checked before any work: a file name (not empty, not
 * ending in a separator) in an existing directory, and not itself a directory. -EINVAL,
 * -EISDIR or -ENOENT with a message starting with dst otherwise. */
int atomicfile_check_dst(const char *dst, struct evm_err *err);
int atomicfile_open(struct atomicfile *af, const char *dst, struct evm_err *err);
int atomicfile_write(struct atomicfile *af, const void *buf, size_t len, struct evm_err *err);
/* Appends len bytes read from src_fd at its current position (kernel copy where possible). */
int atomicfile_copy_from(struct atomicfile *af, int src_fd, uint64_t len, struct evm_err *err);
/* Copies len bytes of src_fd (from offset 0) to the start of the still-empty file, in the
 * background where the platform can (a thread doing kernel copies), while the caller goes on
 * appending after them. src_fd must stay open until commit or abort, which wait for the
 * copy and report its failure. */
int atomicfile_copy_head(struct atomicfile *af, int src_fd, uint64_t len, struct evm_err *err);
/* Waits for the head copy (if one runs) and returns its result, its message naming the
 * temporary file; 0 when there is none or it was already waited for. For a caller whose own
 * writes failed meanwhile: the head copy's failure is usually the first cause. */
int atomicfile_wait_head(struct atomicfile *af, struct evm_err *err);
/* Appends zero bytes up to the next multiple of align. */
int atomicfile_pad(struct atomicfile *af, unsigned align, struct evm_err *err);
int atomicfile_commit(struct atomicfile *af, struct evm_err *err);
/* Closes and removes the temporary file; a no-op after commit or a previous abort. */
void atomicfile_abort(struct atomicfile *af);

/* Removes the temporary files that dead writers left in dir: names "<stem>.tmp-" + 12
 * lowercase hex digits for which match(stem, ctx) is true, nothing else. Each is opened
 * without following a link and removed only when it is a regular file owned by this user
 * that no live writer holds, and (POSIX) still the same file at that name; each removal is
 * logged (info, with its size). Returns how many were removed; a missing dir is 0, one that
 * cannot be listed a negative errno. */
typedef bool (*atomicfile_stem_fn)(const char *stem, void *ctx);
int atomicfile_sweep(const char *dir, atomicfile_stem_fn match, void *ctx, struct evm_err *err);
/* The same for one destination: the temporary files of dst's dead writers. */
int atomicfile_sweep_dst(const char *dst, struct evm_err *err);
/* True when name is "<stem>.tmp-" + 12 lowercase hex digits with a non-empty stem;
 * *stem_len receives the stem's length. */
bool atomicfile_is_temp_name(const char *name, size_t *stem_len);

/* Opens for reading a file this user wrote earlier: refused when it is a symbolic link
 * (-ELOOP; Windows: any reparse point), not a regular file (-EINVAL), or owned by another
 * user (-EPERM; Windows: neither the process user nor its default owner); missing is
 * -ENOENT. Never blocks. touch: also set its modification time to now (a "last used" mark;
 * failing to is not an error). *size receives its size. */
int atomicfile_open_owned(const char *path, bool touch, int *fd, uint64_t *size,
                          struct evm_err *err);

#endif
