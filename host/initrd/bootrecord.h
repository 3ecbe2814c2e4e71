/* bootrecord.h — the record written beside a boot initrd (<out>.record): what the output
 * was built from (the identities of the base and daemon binary, the options that shape the
 * bytes), where its members are, and the output's own identity right after the write. A
 * later build that finds the same inputs and the same output rewrites only the boot member
 * (bootwarm.c). Small text, versioned, ending in a SHA-256 of the rest; parsed strictly:
 * anything else is "no record". */
#ifndef EVM_BOOTRECORD_H
#define EVM_BOOTRECORD_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"
#include "fileid.h"
#include "initrd/bootinitrd.h"

#define BOOTRECORD_SUFFIX ".record"
#define BOOTRECORD_VERSION 1
/* A record never exceeds this (readers refuse larger). */
#define BOOTRECORD_MAX_BYTES 2048u

struct bootrecord {
    struct file_id base, binary, out;
    enum compress compress;
    uint64_t mtime;         /* entry mtime */
    unsigned member_format; /* the binary member's format version */
    uint8_t binary_sha256[DIGEST_LEN];
    struct bootinitrd_member binary_member;
    uint64_t boot_offset; /* where the boot member starts: everything before stays */
};

/* The canonical text; -ENOSPC when cap is too small. */
int bootrecord_format(const struct bootrecord *r, char *buf, size_t cap, size_t *len,
                      struct evm_err *err);

/* Accepts exactly what bootrecord_format writes, for a layout that can be right: the binary
 * member right after the base padded to 4, the boot member right after the binary member
 * padded to 4, and the output longer than that. -EINVAL otherwise, saying why. */
int bootrecord_parse(const char *buf, size_t len, struct bootrecord *r, struct evm_err *err);

#endif
