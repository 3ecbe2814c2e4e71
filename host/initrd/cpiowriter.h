/* cpiowriter.h — one newc cpio member written with libarchive into one or two atomic
 * files, with the project's deterministic settings: uid/gid 0, nlink 1, caller-chosen
 * inode numbers, a fixed mtime, zstd level 1 or gzip level 6 without a header timestamp,
 * 64 KiB blocks with a short last block (no padding past the trailer); and the newc header's
 * 32-bit mtime limit, which both builders check up front. Shared by the boot initrd builder
 * (bootinitrd.c) and the base initrd builder (baseinitrd.c). */
#ifndef EVM_CPIOWRITER_H
#define EVM_CPIOWRITER_H

#include <stddef.h>
#include <stdint.h>

#include "atomicfile.h"
#include "initrd/bootinitrd.h" /* enum compress */
#include "err.h"

/* The newc header's mtime field: 8 hex digits. */
#define CPIO_MTIME_MAX 0xffffffffu

/* 0 when mtime fits the newc header, else -EINVAL saying so. */
int cpio_check_mtime(uint64_t mtime, struct evm_err *err);

struct archive;
struct archive_entry;

/* Where the member's bytes go: every file in files[0..nfiles), or, when fn is set, to
 * fn(ctx, ...) instead (e.g. a buffer in memory); set by the caller after cpio_member_open
 * and before the first entry. */
struct cpio_sink {
    struct atomicfile *files[2];
    size_t nfiles;
    int (*fn)(void *ctx, const void *buf, size_t len, struct evm_err *err);
    void *ctx;
    uint64_t bytes;     /* member bytes written so far */
    struct evm_err err; /* first failure, reported after libarchive gives up */
    int failed;
};

struct cpio_member {
    struct archive *a;
    struct archive_entry *e;
    struct cpio_sink sink;
    uint64_t mtime;
};

int cpio_member_open(struct cpio_member *m, enum compress c, uint64_t mtime, struct evm_err *err);
/* One entry header; type is AE_IFREG / AE_IFDIR (from archive_entry.h), size its data. */
int cpio_member_header(struct cpio_member *m, const char *name, unsigned type, unsigned perm,
                       int64_t ino, uint64_t size, struct evm_err *err);
int cpio_member_data(struct cpio_member *m, const char *name, const void *buf, size_t len,
                     struct evm_err *err);
/* A regular file whose bytes are in memory. */
int cpio_member_file_mem(struct cpio_member *m, const char *name, unsigned perm, int64_t ino,
                         const void *buf, size_t len, struct evm_err *err);
/* A regular file streamed from fd (from its current position) in bounded chunks: exactly
 * size bytes; a file that shrinks or grows meanwhile is an error naming `name`. */
int cpio_member_file_fd(struct cpio_member *m, const char *name, unsigned perm, int64_t ino, int fd,
                        uint64_t size, struct evm_err *err);
/* A symbolic link (mode 0777) to target. */
int cpio_member_symlink(struct cpio_member *m, const char *name, const char *target, int64_t ino,
                        struct evm_err *err);
/* Writes the trailer and flushes the compressor; frees everything (also after a failure,
 * when err may be NULL). */
int cpio_member_close(struct cpio_member *m, struct evm_err *err);

#endif
