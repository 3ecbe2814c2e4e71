/* elf.h — reads the few ELF64 little-endian fields the base initrd's `bin` closure needs:
 * the PT_INTERP path, the DT_NEEDED names (through DT_STRTAB/DT_STRSZ, mapped to a file
 * offset by the PT_LOAD segment that holds them) and whether DT_RUNPATH/DT_RPATH is set;
 * and finds a DT_NEEDED name in a list of library directories. Portable C, no <elf.h>, so
 * it compiles on Windows too. Every size read from the file is bounded. */
#ifndef EVM_INITRD_ELF_H
#define EVM_INITRD_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define ELF_MAX_NEEDED 256

struct elf_deps {
    char *interp; /* PT_INTERP, or NULL (a static binary) */
    char *strtab; /* the dynamic string table (NUL-terminated), or NULL when nneeded is 0 */
    uint64_t strsz;
    uint64_t needed[ELF_MAX_NEEDED]; /* DT_NEEDED: offsets into strtab, each < strsz */
    size_t nneeded;
    bool runpath; /* DT_RUNPATH or DT_RPATH present */
};

/* Reads path (symlinks followed). Errors name the path: -ENOEXEC for a file that is not a
 * 64-bit little-endian ELF file or whose headers are malformed, -EINVAL for data past the
 * end of the file, -E2BIG for more than ELF_MAX_NEEDED DT_NEEDED entries, and the errors
 * of open_regular_file. On failure *ed holds nothing to free. */
int elf_read_deps(const char *path, struct elf_deps *ed, struct evm_err *err);

/* The i-th DT_NEEDED name (i < nneeded). */
const char *elf_needed(const struct elf_deps *ed, size_t i);

void elf_deps_free(struct elf_deps *ed);

/* The first dirs[i]/soname that is a regular file (dirs is NULL-terminated), as a malloc'd
 * *found; -ENOENT naming soname when no directory has it. */
int elf_find_library(const char *const *dirs, const char *soname, char **found,
                     struct evm_err *err);

#endif
