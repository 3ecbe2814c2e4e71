/* manifest.h — the tail manifest (design §2): writer and parser, written once for both
 * sides. Format, line-oriented ASCII:
 *
 *   ephemerd-tail 1
 *   boot-id <32 lowercase hex>
 *   file <path> <octal mode> <size> <sha256 hex>
 *
 * Unknown line kinds are ignored by the parser; a different first line is an error. */
#ifndef EVM_MANIFEST_H
#define EVM_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "tail.h"

#define MANIFEST_MAGIC "ephemerd-tail 1"
#define MANIFEST_MAX_FILES 8
#define MANIFEST_PATH_MAX 128

struct manifest_file {
    char path[MANIFEST_PATH_MAX]; /* relative, no leading '/', e.g. "assets/config.toml" */
    unsigned mode;                /* permission bits only, e.g. 0600 */
    uint64_t size;
    uint8_t sha256[32];
};

struct manifest {
    char boot_id[BOOT_ID_HEX_LEN + 1];
    size_t nfiles;
    struct manifest_file files[MANIFEST_MAX_FILES];
};

/* Writes the manifest text into buf (not NUL-terminated beyond *len; a NUL is added when
 * room allows). Fails with -ENOSPC when cap is too small, -EINVAL on an invalid field. */
int manifest_format(const struct manifest *m, char *buf, size_t cap, size_t *len,
                    struct evm_err *err);

/* Parses manifest text. Rejects: wrong first line, missing/duplicate/invalid boot-id,
 * malformed file lines, duplicate paths, more than MANIFEST_MAX_FILES files, input over
 * MANIFEST_MAX_BYTES or containing NUL. Messages name the line. */
int manifest_parse(const char *buf, size_t len, struct manifest *m, struct evm_err *err);

/* NULL when the path is not listed. */
const struct manifest_file *manifest_find(const struct manifest *m, const char *path);

/* Adds a file entry (manifest_format validates it). -ENOSPC when full. */
int manifest_add(struct manifest *m, const char *path, unsigned mode, uint64_t size,
                 const uint8_t sha256[32], struct evm_err *err);

#endif
