/* modroot.h — kernel modules after switch_root (docs/guest-init.md, "Modules"): the base
 * initrd's module tree for this kernel, /modules/<release> (the shipped modules in the
 * kernel's layout and the index depmod made for them: modules.dep.bin, modules.alias.bin,
 * …), bind-mounted read-only at <newroot>/lib/modules/<release>, so that the kernel's
 * request_module (which runs the modprobe kernel.modprobe names, in the new root) and the
 * daemon's own modprobe find them; and the check that kernel.modprobe names a modprobe that
 * exists there. */
#ifndef EVM_GUEST_MODROOT_H
#define EVM_GUEST_MODROOT_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Where modprobe is looked for in the new root when kernel.modprobe names none there. */
extern const char *const modroot_modprobe_paths[];

/* Before switch_root (the initramfs's /proc still mounted at /proc): bind-mounts
 * <modules>/<release> at <newroot>/lib/modules/<release> and remounts the bind read-only,
 * nosuid, nodev, noexec. The target is resolved inside newroot as if it were "/" (openat2
 * RESOLVE_IN_ROOT: a /lib → usr/lib symlink of a merged-/usr rootfs is followed, never out
 * of it) and its missing directories are made (0755). Errors: -ENOENT when the initrd has
 * no tree for this kernel (the message names the release and the trees there are), or the
 * failing step with its path. */
int modroot_bind(const char *modules, const char *newroot, const char *release,
                 struct evm_err *err);

/* After switch_root: when the file kernel.modprobe names (<procsys>/kernel/modprobe) is not
 * an executable under root, the first of modroot_modprobe_paths that is gets written there
 * (logged). *on_demand tells whether the kernel can now load modules on demand: a modprobe
 * and <root>/lib/modules/<release>/modules.dep.bin are there. Each missing piece is a
 * warning naming it. root is "/" in production. */
int modroot_modprobe(const char *root, const char *procsys, const char *release, bool *on_demand,
                     struct evm_err *err);

#endif
