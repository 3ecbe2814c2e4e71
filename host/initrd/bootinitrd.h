/* bootinitrd.h — builds the boot initrd (design §2):
 *   base ‖ zero padding to 4 ‖ binary member ‖ padding ‖ boot member
 * streaming, deterministic, written atomically; the binary member is cached by the
 * SHA-256 of the daemon binary. When the previous output was built from the same base and
 * binary (file identities recorded in <out>.record) with the same options, only its boot
 * member is rewritten, in place (bootwarm.h); the bytes are those a full build writes.
 * What is flushed: a full build's output and the cached member are fsync'ed before they are
 * renamed into place; an in-place update and the record are not (docs/boot-initrd.md,
 * "What is flushed"). */
#ifndef EVM_BOOTINITRD_H
#define EVM_BOOTINITRD_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "tail.h"

struct hostcfg;

enum compress { COMPRESS_ZSTD = 0, COMPRESS_GZIP, COMPRESS_NONE };

#define COMPRESS_DEFAULT COMPRESS_ZSTD

const char *compress_name(enum compress c);
int compress_parse(const char *s, enum compress *out);

struct bootinitrd_opts {
    const char *base;             /* base initrd path */
    const char *binary;           /* daemon binary path */
    const struct hostcfg *config; /* NULL or state != HOSTCFG_OK: no config embedded */
    const char *boot_id;          /* BOOT_ID_HEX_LEN hex */
    enum compress compress;
    const char *cache_dir; /* binary-member cache; NULL: directory of out */
    const char *out;
    uint64_t mtime; /* entry mtime (SOURCE_DATE_EPOCH or 0) */
    /* Never update the previous output in place: a full build (which records itself for
     * the next one). For a boot after a failed one: whatever the guest refused, the next
     * boot initrd is built from the inputs again. */
    bool full;
    uint64_t fail_after; /* test hook, see atomicfile.h (an in-place update too); 0 in
                          * production */
};

struct bootinitrd_member {
    uint64_t offset;
    uint64_t length; /* bytes of the member itself, without trailing padding */
};

struct bootinitrd_result {
    /* The previous output was updated in place: only its boot member was rewritten. */
    bool in_place;
    /* The binary member was not built: copied from the cache, or kept (in_place). */
    bool cache_hit;
    bool config_embedded;
    uint64_t base_size;
    uint64_t out_size;
    struct bootinitrd_member binary_member;
    struct bootinitrd_member boot_member;
    uint8_t binary_sha256[32];
};

int bootinitrd_build(const struct bootinitrd_opts *o, struct bootinitrd_result *r,
                     struct evm_err *err);

/* Mtime for entries: SOURCE_DATE_EPOCH when set and valid, else 0. */
int bootinitrd_mtime_from_env(uint64_t *mtime, struct evm_err *err);

#endif
