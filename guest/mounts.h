/* mounts.h — the init's own mounts (design §4 steps 1 and 11): the early pseudo
 * filesystems of the initramfs, the console on fds 0-2, and moving those mounts into the
 * new root before switch_root. Table-driven; every function takes its root as a parameter
 * so the tests run it on a temporary directory inside a private mount namespace. */
#ifndef EVM_GUEST_MOUNTS_H
#define EVM_GUEST_MOUNTS_H

#include <stddef.h>

#include "err.h"

/* Filesystem magic numbers (statfs f_type), from the kernel's uapi linux/magic.h — kept here
 * so the guest does not depend on kernel headers under musl. */
#define EVM_RAMFS_MAGIC 0x858458f6UL
#define EVM_TMPFS_MAGIC 0x01021994UL
#define EVM_PROC_MAGIC 0x9fa0UL
#define EVM_SYSFS_MAGIC 0x62656572UL
#define EVM_DEVPTS_MAGIC 0x1cd1UL
#define EVM_CGROUP2_MAGIC 0x63677270UL
#define EVM_SECURITYFS_MAGIC 0x73636673UL
#define EVM_MQUEUE_MAGIC 0x19800202UL
#define EVM_BPF_MAGIC 0xcafe4a11UL

/* One kernel interface mounted for the daemon (containerd, runc, Docker): where, what, and
 * who needs it (for the warning when it is missing). */
struct mount_need {
    const char *target; /* relative to the root */
    const char *fstype;
    unsigned long magic;
    const char *why;
};

/* Every mount the daemon expects after switch_root, in mount order (mounts_check). */
extern const struct mount_need mounts_needed[];

/* Step 1. Under root (normally "/"), in this order, creating mount points as needed:
 *   proc     <root>/proc      nosuid,nodev,noexec                     required
 *   sysfs    <root>/sys       nosuid,nodev,noexec                     required
 *   devtmpfs <root>/dev       nosuid, mode=0755                       required
 *   devpts   <root>/dev/pts   nosuid,noexec, gid=5,mode=0620,ptmxmode=0666  optional (warn)
 *   tmpfs    <root>/dev/shm   nosuid,nodev, mode=1777                 optional (warn)
 *   mqueue   <root>/dev/mqueue nosuid,nodev,noexec                    optional (warn)
 *   tmpfs    <root>/run       nosuid,nodev, mode=0755                 required
 *   tmpfs    <root>/tmp       nosuid,nodev, mode=1777                 required
 * A target that already holds a filesystem of the expected type (its own device and the
 * expected statfs magic, e.g. a devtmpfs the kernel automounted) or where mount() says
 * EBUSY is left as it is. Any other failure of a required mount is an error naming the
 * target; optional ones are logged as warnings. */
int mounts_early(const char *root, struct evm_err *err);

/* Reopens fds 0, 1 and 2 on <root>/dev/console (O_RDWR|O_NOCTTY, so the init never gets
 * a controlling terminal). If the console cannot be opened, fd 0 is reopened on
 * <root>/dev/null and fds 1 and 2 are pointed there too when they were not open, so that no
 * later open() can land on 0-2; the error is still returned (the caller warns: the console
 * markers will be lost). */
int console_reopen(const char *root, struct evm_err *err);

/* Step 11: mounts_move_into_from("/", newroot, err). */
int mounts_move_into(const char *newroot, struct evm_err *err);

/* Moves <oldroot>/dev, /proc, /sys (required: an error names the one that failed) and
 * <oldroot>/run (when it is a mount point) to the same names under newroot with MS_MOVE,
 * creating the mount points there; submounts (dev/pts, dev/shm, dev/mqueue) travel along.
 * <oldroot>/tmp, the initramfs scratch tmpfs, is detached (MNT_DETACH; its contents are
 * discarded) so that nothing stays mounted on the initramfs that switch_root empties. Then
 * mounts cgroup2 at <newroot>/sys/fs/cgroup (nsdelegate; retried without if refused),
 * securityfs at <newroot>/sys/kernel/security and bpf at <newroot>/sys/fs/bpf (mode=0700); a
 * failure of any of these is a warning (log_warn) naming it, not an error. The source
 * mounts must not be MS_SHARED (they are not in an initramfs). */
int mounts_move_into_from(const char *oldroot, const char *newroot, struct evm_err *err);

/* Checks every mount of mounts_needed under root (its own mount with the expected statfs
 * magic) and logs a warning for each one missing, naming it and what needs it. Returns how
 * many are missing. */
unsigned mounts_check(const char *root);

/* Decodes one space-separated field of /proc/self/mountinfo or /proc/swaps starting at p,
 * with the kernel's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash),
 * into out. Returns the number of input bytes consumed (> 0), -EINVAL for an empty field,
 * -ENAMETOOLONG if it does not fit in out. */
int mount_field_unescape(const char *p, char *out, size_t outsz);

/* Mount point (field 5) of one /proc/self/mountinfo line, with the kernel's octal escapes
 * (\040 space, \011 tab, \012 newline, \134 backslash) decoded. -EINVAL on a malformed
 * line, -ENAMETOOLONG if it does not fit in out. */
int mountinfo_mountpoint(const char *line, char *out, size_t outsz);

#endif
