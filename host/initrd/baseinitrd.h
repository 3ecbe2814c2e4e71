/* baseinitrd.h — builds the base initrd (design §2, issue 4) from a declarative list
 * (initrd/virtio.list, initrd/hyperv.list; format in initrd/README.md): directories, the init and
 * its poweroff/reboot/halt names, kernel modules resolved with their dependencies from the kernel's
 * modules.dep into /modules with /modules/load-order, host binaries with the shared libraries their
 * ELF DT_NEEDED entries name (recursively, plus the ELF interpreter), plain files and the rootfs
 * tarball. Output: one newc cpio member (zstd, gzip or none), deterministic, streamed, written
 * atomically. */
#ifndef EVM_BASEINITRD_H
#define EVM_BASEINITRD_H

#include <stddef.h>
#include <stdint.h>

#include "initrd/bootinitrd.h" /* enum compress */
#include "err.h"

/* Where modules go in the initrd, and the file the init reads their order from. */
#define BASEINITRD_MODULES "modules"
#define BASEINITRD_LOAD_ORDER "modules/load-order"
/* Inode numbers of the base's entries start here, in sorted-path order (the tail uses
 * small numbers; every entry has nlink 1, so numbers never link entries anyway). */
#define BASEINITRD_INO_FIRST 1000

/* Host library directories searched for DT_NEEDED names, in order. */
extern const char *const baseinitrd_default_lib_dirs[];

struct baseinitrd_opts {
    const char *list;            /* the list file */
    const char *modules_dir;     /* .../lib/modules/VERSION; needed when the list has modules */
    const char *init;            /* ephemerd-init; needed when the list has `init` */
    const char *rootfs;          /* rootfs tarball; needed when the list has `rootfs` */
    const char *const *lib_dirs; /* NULL-terminated; NULL: baseinitrd_default_lib_dirs */
    enum compress compress;
    const char *out;
    uint64_t mtime; /* entry mtime (SOURCE_DATE_EPOCH or 0) */
};

struct baseinitrd_result {
    size_t entries;   /* cpio entries written */
    size_t modules;   /* .ko files in /modules */
    size_t builtin;   /* requested modules skipped because they are built into the kernel */
    size_t libraries; /* shared libraries and ELF interpreters pulled in by `bin` */
    uint64_t out_size;
};

int baseinitrd_build(const struct baseinitrd_opts *o, struct baseinitrd_result *r,
                     struct evm_err *err);

#endif
