/* switchroot.h — design §4 step 12: empty the initramfs and make the new root "/", the
 * way util-linux's switch_root does, with the refusals that keep it from ever wiping a
 * real disk when run by mistake. */
#ifndef EVM_GUEST_SWITCHROOT_H
#define EVM_GUEST_SWITCHROOT_H

#include <sys/types.h>

#include "err.h"

#define SWITCH_ROOT_MAX_KEEP 8

/* Refuses with -EINVAL, before touching anything, unless newroot is absolute, "/" is a
 * ramfs or tmpfs (statfs magic) and newroot is a directory on another device (a mount
 * point), and every name in keep (NULL-terminated, at most SWITCH_ROOT_MAX_KEEP; NULL for
 * none) is one non-empty path component. Then deletes the initramfs contents
 * (remove_tree_same_dev on "/" with the root's st_dev, skipping newroot's first path
 * component and the top-level entries named in keep — /modules, whose module tree stays
 * bind-mounted in the new root; mount points are never entered because their st_dev
 * differs), then
 * chdir(newroot), mount(newroot, "/", MS_MOVE), chroot("."), chdir("/").
 * A deletion failure is logged as a warning (it only costs memory); a failure of the move
 * or chroot is an error. The caller must have moved /dev, /proc, /sys out first
 * (mounts_move_into). */
int switch_root(const char *newroot, const char *const keep[], struct evm_err *err);

/* Removes everything under dirfd whose st_dev is dev: files, symlinks (never followed) and
 * directories (entered with openat O_NOFOLLOW and checked to be the same inode and device,
 * then rmdir'ed). Entries on another device (mount points) are left alone, and so are the
 * directories that still contain them; entries of dirfd itself named in skip
 * (NULL-terminated; NULL for none) are not touched. dirfd itself is not removed. Keeps
 * going after a failure and returns the first one, naming the entry. */
int remove_tree_same_dev(int dirfd, dev_t dev, const char *const skip[], struct evm_err *err);

#endif
