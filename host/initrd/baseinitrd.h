/* baseinitrd.h — builds the base initrd (design §2, issue 4) from a declarative list
 * (initrd/virtio.list, initrd/hyperv.list; format in initrd/README.md): directories, the init and
 * its poweroff/reboot/halt names, kernel modules resolved with their dependencies from the kernel's
 * modules.dep into /modules/VERSION in the kernel's own layout, with the load lists
 * /modules/load-order (eager), load-later and load-demand and the module index depmod makes for
 * exactly those modules (modindex.h), host binaries with the shared libraries their ELF
 * DT_NEEDED entries name (recursively, plus the ELF interpreter), plain files and the rootfs
 * tarball. Output: one newc cpio member (zstd, gzip or none), deterministic, streamed, written
 * atomically. */
#ifndef EVM_BASEINITRD_H
#define EVM_BASEINITRD_H

#include <stddef.h>
#include <stdint.h>

#include "initrd/bootinitrd.h" /* enum compress */
#include "err.h"

/* Where modules go in the initrd (/modules/VERSION/<path as modules.dep gives it>), and the
 * files the init reads their order from: eager modules, the ones it loads in the background
 * after the launch, and the ones left to on-demand loading (loaded in the background only
 * when the new root cannot load them on demand). Paths in them are relative to /modules. */
#define BASEINITRD_MODULES "modules"
#define BASEINITRD_LOAD_ORDER "modules/load-order"
#define BASEINITRD_LOAD_LATER "modules/load-later"
#define BASEINITRD_LOAD_DEMAND "modules/load-demand"
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
    /* depmod for the module index (modindex.h); NULL: found in PATH, /usr/sbin, /sbin */
    const char *depmod;
};

struct baseinitrd_result {
    size_t entries;   /* cpio entries written */
    size_t modules;   /* .ko files in /modules */
    size_t later;     /* of which loaded in the background after the launch */
    size_t demand;    /* of which left to on-demand loading */
    size_t builtin;   /* requested modules skipped because they are built into the kernel */
    size_t absent;    /* optional modules skipped because the kernel has none by that name */
    size_t index;     /* module index files in /modules/VERSION (0: none made) */
    size_t libraries; /* shared libraries and ELF interpreters pulled in by `bin` */
    uint64_t out_size;
};

int baseinitrd_build(const struct baseinitrd_opts *o, struct baseinitrd_result *r,
                     struct evm_err *err);

#endif
