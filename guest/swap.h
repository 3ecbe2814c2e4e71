/* swap.h — design §4 step 7, swap: the swapfile sized to what the root filesystem can hold
 * (swap_size_mb), made when missing (allocated, with a swap v1 header written here, no mkswap
 * needed) and enabled every boot; never fatal to the boot. */
#ifndef EVM_GUEST_SWAP_H
#define EVM_GUEST_SWAP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define SWAP_LABEL "ephemerd-swap"

/* The swapfile size for a request of requested_mb MiB on a filesystem of fs_total_bytes with
 * fs_avail_bytes free (statvfs: f_blocks and f_bavail, times f_frsize), in whole MiB: the
 * least of requested_mb, 1/SWAP_FS_DIVISOR of the filesystem, and what is free less
 * SWAP_RESERVE_MB; 0 (no swap) when requested_mb is 0 or that least is below SWAP_MIN_MB
 * (cmdline.h). *capped (may be NULL) says whether the result is less than requested_mb. */
unsigned swap_size_mb(unsigned requested_mb, uint64_t fs_total_bytes, uint64_t fs_avail_bytes,
                      bool *capped);

/* What swap_setup did. */
struct swap_outcome {
    unsigned granted_mb; /* size of a swapfile created now, 0 when none was */
    bool created;        /* a new swapfile was made */
    bool enabled;        /* path is active swap */
};

/* Step 7's swap; never fails the boot. requested_mb == 0: nothing (an existing swapfile is
 * left alone, not enabled). Otherwise, when path does not exist: a leftover "<path>.new" is
 * removed, the filesystem holding path is measured (statvfs of its directory) and a swapfile
 * of swap_size_mb is created, with a warning naming the requested and granted MiB when that
 * is capped or none; an existing path is left as it is, whatever its size. Then path, when
 * it exists, is enabled. Every failure (statvfs, no room, swapon) is a warning and the boot
 * goes on without swap. out may be NULL. */
void swap_setup(const char *path, unsigned requested_mb, struct swap_outcome *out);

/* swap_setup on a thread of its own at nice SWAP_NICE (every signal blocked in it): the init
 * runs it after the daemon's launch, since nothing before the launch needs swap and swapon
 * (and a first boot's allocation) is among the slowest steps of the boot. */
#define SWAP_NICE 10
struct swap_job {
    const char *path;
    unsigned requested_mb;
    struct swap_outcome out; /* valid after swap_job_wait */
    pthread_t th;
};
int swap_job_start(struct swap_job *job, struct evm_err *err);

/* Waits for the thread (tests; PID 1 never does). */
void swap_job_wait(struct swap_job *job);

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
