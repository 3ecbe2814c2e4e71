/* swap.h — design §4 step 7, swap: the swapfile made on first populate (allocated, with a
 * swap v1 header written here, no mkswap needed) and enabled every boot. */
#ifndef EVM_GUEST_SWAP_H
#define EVM_GUEST_SWAP_H

#include <stdint.h>

#include "err.h"

#define SWAP_LABEL "ephemerd-swap"

/* Creates path as a swapfile of mb MiB (mb == 0: nothing, returns 0):
 * a temporary "<path>.new" (a leftover of an interrupted run is removed first) is created
 * O_EXCL|O_NOFOLLOW, mode 0600, fully allocated with fallocate (falling back to writing
 * zeros where the filesystem has no fallocate: swapon refuses files with holes), given a
 * swap v1 header (bootbits zero, version 1, last_page = pages - 1, no bad pages, a random
 * v4 UUID, label SWAP_LABEL, "SWAPSPACE2" at page_size - 10, in the running kernel's page
 * size and byte order), fsync'ed, renamed over path (a file or symlink already named path is
 * replaced, never written through) and the directory fsync'ed. The temporary file never
 * survives a failure. Errors name path: -ENOSPC when the disk has no room, -EINVAL when mb is
 * too small for a swap area (fewer than 10 pages) or too large. */
int swap_create(const char *path, unsigned mb, struct evm_err *err);

/* swapon(2) on path. path must be a regular file (a symlink, device or directory is refused
 * with -EINVAL: a planted link must not turn a disk into swap); a mode other than 0600 is
 * corrected first. A file that is already active swap (EBUSY) counts as success. Errors:
 * -errno with a message naming path; -EINVAL from the kernel typically means the
 * filesystem cannot hold swap (tmpfs, overlay) or the file has holes or no valid header. */
int swap_enable(const char *path, struct evm_err *err);

/* The header fields swap_create writes, read back from the first page of fd (tests and
 * diagnostics). -EINVAL when the magic is not "SWAPSPACE2" at page_size - 10. */
struct swap_header_info {
    uint32_t version;
    uint32_t last_page;
    uint32_t nr_badpages;
    unsigned char uuid[16];
    char label[17];
};
int swap_read_header(int fd, struct swap_header_info *out, struct evm_err *err);

#endif
