/* atomicfile.h — replace a file atomically: write to a temporary file in the same
 * directory (0600 on POSIX; owner, SYSTEM and the VM group on Windows), flush, rename over
 * the destination, flush the directory. Until commit, the previous file is untouched;
 * abort (or a crash) leaves it intact. Platform parts in atomicfile_posix.c/_win.c. */
#ifndef EVM_ATOMICFILE_H
#define EVM_ATOMICFILE_H

#include <stdint.h>
#include <stddef.h>

#include "err.h"

struct atomicfile {
    int fd; /* -1 when closed */
    char *dst;
    char *tmp;
    uint64_t written;
    /* Test hook: when non-zero, writes past this many bytes fail with -ENOSPC, as a full
     * disk would. Zero in production. */
    uint64_t fail_after;
    void *head; /* background copy started by atomicfile_copy_head, or NULL */
};

int atomicfile_open(struct atomicfile *af, const char *dst, struct evm_err *err);
int atomicfile_write(struct atomicfile *af, const void *buf, size_t len, struct evm_err *err);
/* Appends len bytes read from src_fd at its current position (kernel copy where possible). */
int atomicfile_copy_from(struct atomicfile *af, int src_fd, uint64_t len, struct evm_err *err);
/* Copies len bytes of src_fd (from offset 0) to the start of the still-empty file, in the
 * background where the platform can (a thread doing kernel copies), while the caller goes on
 * appending after them. src_fd must stay open until commit or abort, which wait for the
 * copy and report its failure. */
int atomicfile_copy_head(struct atomicfile *af, int src_fd, uint64_t len, struct evm_err *err);
/* Appends zero bytes up to the next multiple of align. */
int atomicfile_pad(struct atomicfile *af, unsigned align, struct evm_err *err);
int atomicfile_commit(struct atomicfile *af, struct evm_err *err);
/* Closes and removes the temporary file; a no-op after commit or a previous abort. */
void atomicfile_abort(struct atomicfile *af);

#endif
