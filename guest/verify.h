/* verify.h — design §4 step 5: verify the per-boot initrd tail against its manifest
 * (boot id, and each listed file's type, size, permission bits and SHA-256) before any of
 * it is used. */
#ifndef EVM_GUEST_VERIFY_H
#define EVM_GUEST_VERIFY_H

#include <stddef.h>

#include "err.h"
#include "manifest.h"

/* Reads <root>/assets/manifest (a regular file, not a symlink, at most MANIFEST_MAX_BYTES)
 * and verifies the tail under root with verify_tail_text. */
int verify_tail(const char *root, const char *boot_id, struct manifest *m, struct evm_err *err);

/* Verifies the tail under root given the manifest text:
 *  - the text parses (common/manifest.h);
 *  - boot_id (the kernel command line's ephemerd.boot_id) equals the manifest's boot-id.
 *    The manifest always carries one (the parser requires it), so a NULL or empty boot_id
 *    is always a mismatch: the host sets both from the same value, and a tail that cannot
 *    be tied to this boot is never used;
 *  - assets/ephemerd-linux is listed (the daemon binary is installed every boot and must
 *    be verified);
 *  - every listed <root>/<path> exists, is a regular file (never followed through a symlink,
 *    in any path component), and has the listed size, permission bits (st_mode & 07777)
 *    and SHA-256 (streamed);
 *  - assets/config.toml is not present unless listed (an unlisted config is never used).
 * Files are checked in manifest order; the first problem is returned, with a message
 * naming the file and what differed. On success *m holds the manifest. */
int verify_tail_text(const char *root, const char *boot_id, const char *text, size_t len,
                     struct manifest *m, struct evm_err *err);

#endif
