/* disk.h — design §4 step 6, the persistent root disk: wait for its device node (uevents and
 * inotify, no fixed sleeps), recognise what it holds by its superblock area, create ext4 only
 * when it holds nothing (never over another filesystem or a partition table), mount it
 * noatime, grow it to fill the disk. Every path, program and the mount call are parameters,
 * so the tests run it on image files in a temporary directory. */
#ifndef EVM_GUEST_DISK_H
#define EVM_GUEST_DISK_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Waits until dev exists and can be opened read-only, for at most timeout_s seconds
 * (0: one check). Event-driven: an inotify watch on dev's directory (devtmpfs creates the
 * node there) and a NETLINK_KOBJECT_UEVENT socket (a node that exists but cannot be opened
 * yet is re-tried on the next uevent); both are set up before the first check so an
 * appearance between the check and the wait is not missed. Without either (the directory
 * is missing, no netlink) it re-checks every 100 ms; with them, at least once a second as a
 * safety net. Any path works (tests watch a temporary directory). Errors:
 *   -ETIMEDOUT  the message names dev, the timeout, and the last open error if the node
 *               existed but could not be opened. */
int disk_wait(const char *dev, unsigned timeout_s, struct evm_err *err);

enum fs_kind { FS_NONE = 0, FS_EXT, FS_OTHER };

/* Bytes of the device disk_probe reads (the deepest signature checked is reiserfs at
 * 64 KiB + 52; btrfs is at 64 KiB + 64). */
#define DISK_PROBE_BYTES (68u * 1024u)

/* Recognises what the first len bytes of a device hold (missing bytes count as zero):
 *   FS_EXT    ext2/3/4 superblock magic 0xEF53 at 1080; *name "ext2", "ext3" or "ext4"
 *             from its feature flags. An ext superblock together with a signature in the
 *             first KiB (a boot sector, partition table, xfs, LUKS...; mke2fs zeroes that
 *             area) is ambiguous and reported as FS_OTHER "ext4 + <other>"; an external
 *             ext journal device is FS_OTHER "jbd".
 *   FS_OTHER  xfs, btrfs, swap, swsuspend, vfat, ntfs, exfat, squashfs, crypto_LUKS, f2fs,
 *             reiserfs, iso9660, LVM2_member, linux_raid_member (md 1.1/1.2), a GPT
 *             ("gpt partition table", "EFI PART" at 512 or 4096) or DOS/MBR ("dos partition
 *             table", 0x55AA at 510) partition table; *name says which.
 *   FS_NONE   none of these (all zero, or bytes no known signature explains); *name "".
 * Swap and swsuspend signatures are looked for at page_size - 10 for page sizes 4, 8, 16
 * and 64 KiB. name may be NULL. Pure: no I/O (the fuzz-friendly half of disk_probe). */
enum fs_kind disk_probe_buf(const unsigned char *buf, size_t len, char *name, size_t namelen);

/* Reads the first DISK_PROBE_BYTES of dev (a block device or an image file; a shorter one
 * is read whole) and classifies them with disk_probe_buf. Errors name dev: -errno from
 * open or read. */
int disk_probe(const char *dev, enum fs_kind *kind, char *name, size_t namelen,
               struct evm_err *err);

/* mount(2)'s signature plus a context pointer; tests replace the real mount with it. */
typedef int (*disk_mount_fn)(const char *source, const char *target, const char *fstype,
                             unsigned long flags, const char *data, void *ctx);

struct disk_tools {
    const char *mkfs_ext4; /* absolute path; in the initrd /sbin/mkfs.ext4 */
    const char *resize2fs; /* absolute path; in the initrd /sbin/resize2fs; NULL: no resize */
    disk_mount_fn mount;   /* NULL: mount(2). Must return 0 or -1 with errno set. */
    void *mount_ctx;
};

/* The whole of step 6 after the wait:
 *   1. disk_probe(dev).
 *   2. FS_OTHER: -EEXIST, "<dev> holds <name>, not an ext filesystem: refusing to format
 *      or mount it ..." — nothing is written to the device.
 *      FS_NONE: `mkfs.ext4 -q -L ephemerd-root -F <dev>`, then the probe must say FS_EXT
 *      (else -EIO); *formatted = true.
 *   3. mount(dev, mnt, "ext4", MS_NOATIME, NULL) through tools->mount (mnt must exist).
 *   4. When the filesystem was not just made (mkfs sizes it to the device already):
 *      `resize2fs <dev>` — an online grow of the mounted filesystem to fill the device.
 *      Its failure is logged as a warning and is not an error (the disk is mounted and
 *      usable, only not grown).
 * Errors name the device and the step: the probe's, -EEXIST, run_program's for mkfs
 * (-EIO: mkfs failed; -ENOENT: no mkfs), -errno of mount. */
int disk_prepare(const char *dev, const char *mnt, const struct disk_tools *tools, bool *formatted,
                 struct evm_err *err);

#endif
