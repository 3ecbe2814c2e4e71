/* modindex.h — the module index of the base initrd (initrd/README.md, "The module index"):
 * the files kmod's modprobe and the kernel's autoloading need in /lib/modules/VERSION for the
 * modules the initrd ships, and nothing else. They are made by Debian's own depmod run over
 * a staging tree holding only those modules (symlinks to the kernel's files), the kernel's
 * modules.builtin and modules.builtin.modinfo, and a modules.order cut down to them — so
 * modules.dep.bin, modules.alias.bin (net-pf-*, nft-chain-*, fs-overlay, …), the
 * symbols and built-in indexes name exactly what is there. libkmod reads the binary
 * indexes only (kmod_search_moddep opens modules.dep.bin; aliases and symbols are looked up
 * in their .bin files), so the text files are shipped for people, the .bin files for kmod.
 *
 * Running depmod is POSIX only (modindex_posix.c). On Windows (modindex_win.c) it returns
 * -ENOSYS and the builder ships no index, with a warning. */
#ifndef EVM_MODINDEX_H
#define EVM_MODINDEX_H

#include <stddef.h>

#include "err.h"

struct modindex_file {
    char *name; /* e.g. "modules.dep.bin" */
    char *data;
    size_t len;
};

struct modindex {
    struct modindex_file *v;
    size_t n;
};

struct modindex_in {
    const char *modules_dir; /* the kernel's lib/modules/VERSION, with modules.dep */
    const char *version;     /* VERSION: the directory's name, the kernel's `uname -r` */
    const char *const *rels; /* the shipped modules, as modules.dep names them */
    size_t nrels;
    const char *depmod; /* the program; NULL: "depmod" in PATH, then /sbin, /usr/sbin */
};

/* The files depmod writes that are shipped, in this order (NULL-terminated). The first two
 * must be there after a run. */
extern const char *const modindex_outputs[];

/* Builds the index into out (every output depmod wrote, then modules.order,
 * modules.builtin and modules.builtin.modinfo as given to it). Errors: depmod not found
 * (-ENOENT, naming where it was looked for), failing (its exit status and the end of what
 * it printed), or writing no modules.dep.bin or modules.alias.bin; -ENOSYS where depmod
 * cannot run (Windows). The staging tree is removed in every case. */
int modindex_build(const struct modindex_in *in, struct modindex *out, struct evm_err *err);

void modindex_free(struct modindex *ix);

/* modules.order for the shipped modules: the lines of <modules_dir>/modules.order naming
 * one of rels, in that file's order, then the rels it does not name, in the order given
 * (all of them when the file is missing). Lines and rels match by module name (moddeps_name:
 * modules.order says "x.ko" where modules.dep may say "x.ko.xz"). */
int modindex_order(const char *modules_dir, const char *const *rels, size_t nrels, char **text,
                   size_t *len, struct evm_err *err);

/* Adds a file to ix (name copied, data taken over: freed by modindex_free). */
int modindex_add(struct modindex *ix, const char *name, char *data, size_t len,
                 struct evm_err *err);

#endif
